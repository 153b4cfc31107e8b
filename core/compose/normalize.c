/* From the merged tree to the model: compose-go's default values, path resolution and
 * Normalize (the implicit default network, resource names, dependencies that network_mode,
 * links and volumes_from imply), then the typed forms its Go structs give each key (command
 * split into words, sizes in bytes, durations as Go prints them, environment and labels as
 * maps), profiles, the consistency checks and each service's env_file. */
#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "internal.h"

#define INVALID ": invalid compose project"

static void warn_once(char ***warnings, const char *w)
{
        if (warnings && !util_strv_contains(*warnings, w))
                util_strv_push(warnings, w);
}

static struct jv *object_at(struct jv *parent, const char *key)
{
        struct jv *v = jv_get(parent, key);

        return jv_type(v) == JV_OBJECT ? v : NULL;
}

/* A copy of obj with its keys sorted, as Go prints a map. */
static struct jv *sorted_copy(const struct jv *obj)
{
        _cleanup_strv_ char **keys = jv_keys(obj);
        struct jv *out = jv_new_object();

        for (size_t i = 0; keys && keys[i]; i++)
                jv_set(out, keys[i], jv_copy(jv_get(obj, keys[i])));
        return out;
}

/* ---- default values and validation.Validate ---- */

static void default_device_requests(struct jv *list)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                struct jv *d = jv_at(list, i);
                if (jv_type(d) == JV_OBJECT && !compose_has(d, "count") &&
                    !compose_has(d, "device_ids"))
                        jv_set_str(d, "count", "all");
        }
}

static void service_defaults(struct jv *svc)
{
        struct jv *build = object_at(svc, "build"), *list;

        if (build && !compose_has(build, "context"))
                jv_set_str(build, "context", ".");
        list = jv_get(svc, "secrets");
        for (size_t i = 0; i < jv_len(list); i++) {
                struct jv *s = jv_at(list, i);
                if (jv_type(s) == JV_OBJECT && !compose_has(s, "target")) {
                        _cleanup_free_ char *t = compose_sprint(jv_get(s, "source"));
                        _cleanup_free_ char *target = util_printf("/run/secrets/%s", t);
                        if (!target)
                                util_oom();
                        jv_set_str(s, "target", target);
                }
        }
        list = jv_get(svc, "ports");
        for (size_t i = 0; i < jv_len(list); i++) {
                struct jv *p = jv_at(list, i);
                if (jv_type(p) != JV_OBJECT)
                        continue;
                if (!compose_has(p, "protocol"))
                        jv_set_str(p, "protocol", "tcp");
                if (!compose_has(p, "mode"))
                        jv_set_str(p, "mode", "ingress");
        }
        default_device_requests(jv_path(svc, "deploy.resources.reservations.devices"));
        default_device_requests(jv_get(svc, "gpus"));
        list = jv_get(svc, "volumes");
        for (size_t i = 0; i < jv_len(list); i++) {
                struct jv *bind = object_at(jv_at(list, i), "bind");
                if (bind && !compose_has(bind, "create_host_path"))
                        jv_set_bool(bind, "create_host_path", true);
        }
}

static int check_external(const struct jv *v, const char *kind, const char *name, struct err *err)
{
        _cleanup_strv_ char **keys = NULL;

        if (!jv_get_bool(v, "external") || jv_type(jv_get(v, "external")) != JV_BOOL)
                return 0;
        keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++)
                if (strcmp(keys[i], "name") && strcmp(keys[i], "external") &&
                    strncmp(keys[i], "x-", 2))
                        return err_set(err, -EINVAL,
                                       "%s.%s: conflicting parameters \"external\" and \"%s\" "
                                       "specified",
                                       kind, name, keys[i]);
        return 0;
}

/* checkFileObject: one of keys, or a driver, or external. */
static int check_file_object(const struct jv *v, const char *kind, const char *name,
                             const char *const *keys, size_t n, struct err *err)
{
        size_t count = 0;

        for (size_t i = 0; i < n; i++)
                count += compose_has(v, keys[i]);
        if (count > 1)
                return err_set(err, -EINVAL, "%s.%s: %s attributes are mutually exclusive", kind,
                               name, n == 3 ? "file|environment|content" : "file|environment");
        if (count == 0 && !compose_has(v, "driver") && !compose_has(v, "external"))
                return err_set(err, -EINVAL, "%s.%s: one of %s must be set", kind, name,
                               n == 3 ? "file|environment|content" : "file|environment");
        return 0;
}

static int validate_resources(struct jv *dict, struct err *err)
{
        static const char *const file_keys[] = {"file", "environment", "content"};
        static const char *const kinds[] = {"volumes", "networks", "secrets", "configs"};

        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
                struct jv *all = jv_get(dict, kinds[k]);
                _cleanup_strv_ char **names = jv_keys_ordered(all);
                for (size_t i = 0; names[i]; i++) {
                        struct jv *v = jv_get(all, names[i]);
                        int r = 0;
                        if (!v || !strncmp(names[i], "x-", 2))
                                continue;
                        if (k == 0)
                                r = check_external(v, kinds[k], names[i], err);
                        else if (k >= 2)
                                r = check_file_object(v, kinds[k], names[i], file_keys,
                                                      k == 3 ? 3 : 2, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool ip_ok(const char *s)
{
        unsigned char buf[16];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int compose_defaults(struct jv *dict, struct err *err)
{
        struct jv *services = object_at(dict, "services");
        _cleanup_strv_ char **names = jv_keys_ordered(services);

        for (size_t i = 0; names[i]; i++) {
                struct jv *svc = object_at(services, names[i]), *ports;
                if (!svc)
                        continue;
                service_defaults(svc);
                ports = jv_get(svc, "ports");
                for (size_t k = 0; k < jv_len(ports); k++) {
                        const char *ip = jv_get_str(jv_at(ports, k), "host_ip");
                        if (ip && !ip_ok(ip))
                                return err_set(err, -EINVAL,
                                               "services.%s.ports.%zu: invalid ip address: %s",
                                               names[i], k, ip);
                }
        }
        return validate_resources(dict, err);
}

/* ---- relative paths ---- */

struct paths {
        const char *dir, *home;
        char ***warnings;
};

static char *expand_user(struct paths *p, const char *s)
{
        if (s[0] != '~')
                return strdup(s);
        if (!p->home) {
                warn_once(p->warnings, "cannot expand '~', because the environment lacks HOME");
                return strdup(s);
        }
        return compose_path_abs(p->home, s[1] == '/' ? s + 2 : s + 1);
}

static bool windows_abs(const char *s)
{
        return (((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z' && s[1] == ':' &&
                 (s[2] == '\\' || s[2] == '/')) ||
                ((s[0] == '\\' || s[0] == '/') && (s[1] == '\\' || s[1] == '/')));
}

/* absPath and maybeUnixPath: '~' expanded; an absolute path kept as written; "" kept. */
static void abs_path(struct paths *p, struct jv *parent, const char *key)
{
        const char *s = jv_get_str(parent, key);
        _cleanup_free_ char *e = NULL, *a = NULL;

        if (!s)
                return;
        e = expand_user(p, s);
        if (!e)
                util_oom();
        if (!*e || e[0] == '/' || windows_abs(e)) {
                jv_set_str(parent, key, e);
                return;
        }
        a = compose_path_abs(p->dir, e);
        jv_set_str(parent, key, a);
}

static void abs_context(struct paths *p, struct jv *parent, const char *key)
{
        static const char *const remote[] = {"https://", "http://",     "git://",
                                             "ssh://",   "github.com/", "git@"};
        const char *s = jv_get_str(parent, key);

        if (!s || strstr(s, "://") || !strncmp(s, "service:", 8))
                return;
        for (size_t i = 0; i < ARRAY_SIZE(remote); i++)
                if (!strncmp(s, remote[i], strlen(remote[i])))
                        return;
        abs_path(p, parent, key);
}

static void abs_each_value(struct paths *p, struct jv *obj, bool context)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(obj);

        for (size_t i = 0; keys[i]; i++)
                if (context)
                        abs_context(p, obj, keys[i]);
                else
                        abs_path(p, obj, keys[i]);
}

static int service_paths(struct paths *p, struct jv *svc, struct err *err)
{
        struct jv *build = object_at(svc, "build"), *list;

        if (build) {
                abs_context(p, build, "context");
                abs_each_value(p, object_at(build, "additional_contexts"), true);
                abs_each_value(p, object_at(build, "ssh"), false);
        }
        list = jv_get(svc, "env_file");
        for (size_t i = 0; i < jv_len(list); i++)
                if (jv_type(jv_at(list, i)) == JV_OBJECT)
                        abs_path(p, jv_at(list, i), "path");
        list = jv_get(svc, "label_file");
        if (jv_type(list) == JV_ARRAY) {
                _cleanup_jv_ struct jv *wrap = jv_new_object();
                struct jv *out = jv_new_array();
                for (size_t i = 0; i < jv_len(list); i++) {
                        jv_set(wrap, "p", jv_copy(jv_at(list, i)));
                        abs_path(p, wrap, "p");
                        jv_append(out, jv_copy(jv_get(wrap, "p")));
                }
                jv_set(svc, "label_file", out);
        }
        if (object_at(svc, "extends"))
                abs_path(p, object_at(svc, "extends"), "file");
        list = jv_path(svc, "develop.watch");
        for (size_t i = 0; i < jv_len(list); i++)
                if (jv_type(jv_at(list, i)) == JV_OBJECT)
                        abs_path(p, jv_at(list, i), "path");
        list = jv_get(svc, "volumes");
        for (size_t i = 0; i < jv_len(list); i++) {
                struct jv *v = jv_at(list, i);
                if (jv_type(v) != JV_OBJECT || !jv_get_str(v, "type") ||
                    strcmp(jv_get_str(v, "type"), "bind") != 0)
                        continue;
                if (!compose_has(v, "source"))
                        return err_set(err, -EINVAL,
                                       "invalid mount config for type \"bind\": field Source must "
                                       "not be empty");
                abs_path(p, v, "source");
        }
        return 0;
}

int compose_resolve_paths(struct jv *dict, const char *dir, const char *home, char ***warnings,
                          struct err *err)
{
        static const char *const files[] = {"configs", "secrets"};
        struct paths p = {.dir = dir, .home = home, .warnings = warnings};
        struct jv *services = object_at(dict, "services"), *vols = object_at(dict, "volumes");
        _cleanup_strv_ char **names = jv_keys_ordered(services);
        _cleanup_strv_ char **vnames = jv_keys_ordered(vols);

        for (size_t i = 0; names[i]; i++) {
                struct jv *svc = object_at(services, names[i]);
                int r = svc ? service_paths(&p, svc, err) : 0;
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
                struct jv *all = object_at(dict, files[k]);
                _cleanup_strv_ char **keys = jv_keys_ordered(all);
                for (size_t i = 0; keys[i]; i++)
                        if (object_at(all, keys[i]))
                                abs_path(&p, object_at(all, keys[i]), "file");
        }
        /* A local volume with o=bind is a bind mount of its device. */
        for (size_t i = 0; vnames[i]; i++) {
                struct jv *v = object_at(vols, vnames[i]);
                struct jv *opts = object_at(v, "driver_opts");
                const char *o = jv_get_str(opts, "o");
                if (v && jv_get_str(v, "driver") && !strcmp(jv_get_str(v, "driver"), "local") &&
                    o && !strcmp(o, "bind"))
                        abs_path(&p, opts, "device");
        }
        return 0;
}

/* ---- ResolveEnvironment ---- */

void compose_resolve_env(struct jv *dict, const struct jv *env)
{
        struct jv *services = object_at(dict, "services"), *configs = object_at(dict, "configs");
        _cleanup_strv_ char **names = jv_keys_ordered(services);
        _cleanup_strv_ char **cnames = jv_keys_ordered(configs);

        for (size_t i = 0; names[i]; i++) {
                struct jv *list = jv_get(object_at(services, names[i]), "environment");
                _cleanup_jv_ struct jv *out = NULL;
                if (jv_type(list) != JV_ARRAY)
                        continue;
                out = jv_new_array();
                for (size_t k = 0; k < jv_len(list); k++) {
                        const char *s = jv_str(jv_at(list, k));
                        const char *v = s ? jv_get_str(env, s) : NULL;
                        _cleanup_free_ char *kv = v ? util_printf("%s=%s", s, v) : NULL;
                        if (v && !kv)
                                util_oom();
                        if (s)
                                jv_append(out, jv_new_string(kv ? kv : s));
                }
                jv_set(object_at(services, names[i]), "environment", TAKE_PTR(out));
        }
        for (size_t i = 0; cnames[i]; i++) {
                struct jv *c = object_at(configs, cnames[i]);
                const char *var = jv_get_str(c, "environment");
                if (var && jv_get_str(env, var))
                        jv_set_str(c, "content", jv_get_str(env, var));
        }
}

/* ---- Normalize ---- */

/* compose-go's resolve(): a key without a value takes the project's, or is dropped (build
 * args) or kept without one (environment). */
static void resolve_mapping(struct jv *svc, const char *key, const struct jv *env, bool keep_empty)
{
        struct jv *v = jv_get(svc, key);
        struct jv *out;

        if (jv_type(v) == JV_OBJECT) {
                _cleanup_strv_ char **keys = jv_keys_ordered(v);
                out = jv_new_object();
                for (size_t i = 0; keys[i]; i++) {
                        struct jv *val = jv_get(v, keys[i]);
                        const char *e = val ? NULL : jv_get_str(env, keys[i]);
                        if (val)
                                jv_set(out, keys[i], jv_copy(val));
                        else if (e)
                                jv_set_str(out, keys[i], e);
                        else if (keep_empty)
                                jv_set(out, keys[i], NULL);
                }
        } else if (jv_type(v) == JV_ARRAY) {
                out = jv_new_array();
                for (size_t i = 0; i < jv_len(v); i++) {
                        const char *s = jv_str(jv_at(v, i)), *e;
                        _cleanup_free_ char *kv = NULL;
                        if (!s)
                                continue;
                        e = strchr(s, '=') ? NULL : jv_get_str(env, s);
                        kv = e ? util_printf("%s=%s", s, e) : NULL;
                        if (e && !kv)
                                util_oom();
                        if (kv || strchr(s, '=') || keep_empty)
                                jv_append(out, jv_new_string(kv ? kv : s));
                }
        } else {
                return;
        }
        jv_set(svc, key, out);
}

static void imply_dependency(struct jv *deps, const char *service, bool restart)
{
        struct jv *d;

        if (compose_has(deps, service))
                return;
        d = jv_new_object();
        jv_set_str(d, "condition", "service_started");
        jv_set_bool(d, "restart", restart);
        jv_set_bool(d, "required", true);
        jv_set(deps, service, d);
}

static void implied_dependencies(struct jv *svc)
{
        static const char *const namespaces[] = {"network_mode", "ipc", "pid", "uts", "cgroup"};
        struct jv *deps = object_at(svc, "depends_on"), *list;
        _cleanup_jv_ struct jv *fresh = deps ? NULL : jv_new_object();

        if (!deps)
                deps = fresh;
        list = jv_get(svc, "links");
        for (size_t i = 0; i < jv_len(list); i++) {
                const char *l = jv_str(jv_at(list, i));
                _cleanup_free_ char *name = NULL;
                if (!l)
                        continue;
                /* "service:alias"; a link of three parts names itself whole, as in Go. */
                name = strchr(l, ':') && !strchr(strchr(l, ':') + 1, ':')
                               ? strndup(l, (size_t)(strchr(l, ':') - l))
                               : strdup(l);
                if (!name)
                        util_oom();
                imply_dependency(deps, name, true);
        }
        for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
                const char *ref = jv_get_str(svc, namespaces[i]);
                if (ref && !strncmp(ref, "service:", 8))
                        imply_dependency(deps, ref + 8, true);
        }
        list = jv_get(svc, "volumes_from");
        for (size_t i = 0; i < jv_len(list); i++) {
                const char *v = jv_str(jv_at(list, i));
                _cleanup_free_ char *name = NULL;
                if (!v || !strncmp(v, "container:", 10))
                        continue;
                name = strndup(v, strcspn(v, ":"));
                if (!name)
                        util_oom();
                imply_dependency(deps, name, false);
        }
        if (fresh) {
                _cleanup_strv_ char **keys = jv_keys(fresh);
                if (keys && keys[0])
                        jv_set(svc, "depends_on", TAKE_PTR(fresh));
        }
}

static void normalize_networks(struct jv *dict)
{
        struct jv *services = object_at(dict, "services"), *nets = object_at(dict, "networks");
        _cleanup_strv_ char **names = jv_keys_ordered(services);
        bool uses_default = false;

        for (size_t i = 0; names[i]; i++) {
                struct jv *svc = object_at(services, names[i]), *n;
                _cleanup_strv_ char **keys = NULL;
                if (!svc || compose_has(svc, "provider") || compose_has(svc, "network_mode"))
                        continue;
                n = jv_get(svc, "networks");
                keys = jv_keys(n);
                if (!keys || !keys[0]) {
                        struct jv *d = jv_new_object();
                        jv_set(d, "default", NULL);
                        jv_set(svc, "networks", d);
                        uses_default = true;
                } else if (compose_has(n, "default")) {
                        uses_default = true;
                }
        }
        if (uses_default && !compose_has(nets, "default")) {
                if (!nets) {
                        nets = jv_new_object();
                        jv_set(dict, "networks", nets);
                }
                jv_set(nets, "default", NULL);
        }
}

static void normalize_service(struct jv *svc, const struct jv *env)
{
        struct jv *build = object_at(svc, "build"), *vols = jv_get(svc, "volumes");
        const char *pull = jv_get_str(svc, "pull_policy");

        if (pull && !strcmp(pull, "if_not_present"))
                jv_set_str(svc, "pull_policy", "missing");
        if (build) {
                if (!jv_get(build, "context"))
                        jv_set_str(build, "context", ".");
                if (!jv_get(build, "dockerfile") && !jv_get(build, "dockerfile_inline"))
                        jv_set_str(build, "dockerfile", "Dockerfile");
                resolve_mapping(build, "args", env, false);
        }
        resolve_mapping(svc, "environment", env, true);
        implied_dependencies(svc);
        for (size_t i = 0; i < jv_len(vols); i++) {
                struct jv *v = jv_at(vols, i);
                const char *t = jv_get_str(v, "target");
                if (t) {
                        _cleanup_free_ char *clean = compose_path_clean(t);
                        jv_set_str(v, "target", clean);
                }
        }
}

/* setNameFromKey: NAME becomes PROJECT_NAME, an external one keeps its own. */
static void name_resources(struct jv *dict, const char *project)
{
        static const char *const kinds[] = {"networks", "volumes", "configs", "secrets"};

        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
                struct jv *all = object_at(dict, kinds[k]);
                _cleanup_strv_ char **keys = jv_keys_ordered(all);
                for (size_t i = 0; keys[i]; i++) {
                        struct jv *r = jv_get(all, keys[i]);
                        _cleanup_free_ char *name = NULL;
                        if (!strncmp(keys[i], "x-", 2) && r && jv_type(r) != JV_OBJECT)
                                continue;
                        if (!r) {
                                r = jv_new_object();
                                jv_set(all, keys[i], r);
                        }
                        if (jv_type(r) != JV_OBJECT || jv_get(r, "name"))
                                continue;
                        if (jv_get_bool(r, "external") && jv_type(jv_get(r, "external")) == JV_BOOL)
                                name = strdup(keys[i]);
                        else
                                name = util_printf("%s_%s", project, keys[i]);
                        if (!name)
                                util_oom();
                        jv_set_str(r, "name", name);
                }
        }
}

static void normalize_tree(const struct compose_norm *n, struct jv *dict)
{
        struct jv *services = object_at(dict, "services");
        _cleanup_strv_ char **names = jv_keys_ordered(services);

        normalize_networks(dict);
        for (size_t i = 0; names[i]; i++)
                if (object_at(services, names[i]))
                        normalize_service(object_at(services, names[i]), n->env);
        name_resources(dict, n->name);
}

/* ---- typed values ---- */

struct conv {
        const struct compose_norm *n;
        const char *path; /* "services.web.mem_limit", for messages */
};

typedef int (*conv_fn)(struct conv *c, const struct jv *in, struct jv **out, struct err *err);

/* How a value converts: by a function of its own; or as a list (list_of) or a mapping of
 * names (map_of) of values of another type; or as a mapping of members, in the table's order,
 * then the others (x-*) as they are. */
struct conv_type {
        conv_fn fn;
        const struct conv_type *list_of, *map_of;
        const struct member *members;
        size_t n;
};

struct member {
        const char *key;
        const struct conv_type *type;
};

#define MEMBERS(table) .members = table, .n = ARRAY_SIZE(table)

static int convert(struct conv *c, const struct conv_type *t, const struct jv *in, struct jv **out,
                   struct err *err);

static int bad(struct conv *c, const char *what, const struct jv *v, struct err *err)
{
        _cleanup_free_ char *s = compose_sprint(v);

        return err_set(err, -EINVAL, "%s: %s: %s", c->path, what, s);
}

static int conv_copy(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        (void)c, (void)err;
        *out = jv_copy(in);
        return 0;
}

static int conv_strings(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        struct jv *a = jv_new_array();

        (void)c, (void)err;
        if (jv_type(in) == JV_ARRAY) {
                for (size_t i = 0; i < jv_len(in); i++) {
                        _cleanup_free_ char *s = compose_sprint(jv_at(in, i));
                        jv_append(a, jv_new_string(s));
                }
        } else if (in) {
                _cleanup_free_ char *s = compose_sprint(in);
                jv_append(a, jv_new_string(s));
        }
        *out = a;
        return 0;
}

static int conv_command(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        int r;

        if (!jv_str(in))
                return conv_strings(c, in, out, err);
        r = compose_shell_split(jv_str(in), out, err);
        return r < 0 ? err_wrap(err, "%s", c->path) : 0;
}

/* A mapping or a list of "KEY=VALUE" as a mapping of strings, keys sorted. With env
 * (MappingWithEquals), "KEY" alone and a null value are a key without a value (null), and a
 * key must not end in a blank; else (Labels and Mapping) they are "". */
static int conv_key_values(struct conv *c, const struct jv *in, bool env, struct jv **out,
                           struct err *err)
{
        _cleanup_jv_ struct jv *m = jv_new_object();

        if (jv_type(in) == JV_OBJECT) {
                _cleanup_strv_ char **keys = jv_keys_ordered(in);
                for (size_t i = 0; keys[i]; i++) {
                        struct jv *v = jv_get(in, keys[i]);
                        _cleanup_free_ char *s = compose_sprint(v);
                        jv_set(m, keys[i], v || !env ? jv_new_string(s) : NULL);
                }
        } else {
                for (size_t i = 0; i < jv_len(in); i++) {
                        _cleanup_free_ char *s = compose_sprint(jv_at(in, i)), *k = NULL;
                        char *eq = strchr(s, '=');
                        k = strndup(s, eq ? (size_t)(eq - s) : strlen(s));
                        if (!k)
                                util_oom();
                        if (env && *k && strchr(" \t\n\v\f\r", k[strlen(k) - 1]))
                                return err_set(err, -EINVAL,
                                               "%s: environment variable %s is declared with a "
                                               "trailing space",
                                               c->path, k);
                        jv_set(m, k, eq || !env ? jv_new_string(eq ? eq + 1 : "") : NULL);
                }
        }
        *out = sorted_copy(m);
        return 0;
}

static int conv_labels(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        return conv_key_values(c, in, false, out, err);
}

static int conv_env(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        return conv_key_values(c, in, true, out, err);
}

/* An integer, or with bytes a size ("512m") too. */
static int conv_integer(struct conv *c, const struct jv *in, bool bytes, struct jv **out,
                        struct err *err)
{
        long long v;

        if (jv_type(in) == JV_INT || jv_type(in) == JV_DOUBLE) {
                *out = jv_new_int((long long)compose_number(in));
                return 0;
        }
        if (!jv_str(in) || (util_parse_ll(jv_str(in), LLONG_MIN, LLONG_MAX, &v) < 0 &&
                            (!bytes || util_parse_ram_bytes(jv_str(in), &v) < 0)))
                return bad(c, bytes ? "invalid size" : "invalid integer", in, err);
        *out = jv_new_int(v);
        return 0;
}

static int conv_bytes(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        return conv_integer(c, in, true, out, err);
}

static int conv_int(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        return conv_integer(c, in, false, out, err);
}

static int conv_duration(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        _cleanup_free_ char *s = compose_sprint(in);
        char text[64];
        int64_t ns;

        if (compose_parse_duration(s, &ns) < 0)
                return bad(c, "invalid duration", in, err);
        util_format_go_duration(ns, text, sizeof(text));
        *out = jv_new_string(text);
        return 0;
}

static int number_of(struct conv *c, const struct jv *in, double *ret, struct err *err)
{
        char *end;

        if (jv_type(in) == JV_INT || jv_type(in) == JV_DOUBLE) {
                *ret = compose_number(in);
                return 0;
        }
        if (jv_str(in) && *jv_str(in)) {
                *ret = strtod(jv_str(in), &end);
                if (!*end)
                        return 0;
        }
        return bad(c, "invalid number", in, err);
}

/* The number in (or in a string) as Go prints a float32: the shortest digits that read back
 * as the same float32. */
static int float32_text(struct conv *c, const struct jv *in, char *buf, size_t len, struct err *err)
{
        double d = 0;
        float f;
        int r = number_of(c, in, &d, err);

        if (r < 0)
                return r;
        f = (float)d;
        for (int prec = 1; prec <= 9; prec++) {
                snprintf(buf, len, "%.*g", prec, (double)f);
                if ((float)strtod(buf, NULL) == f)
                        break;
        }
        return 0;
}

static int conv_cpus(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        char text[48];
        double d;
        int r = float32_text(c, in, text, sizeof(text), err);

        if (r < 0)
                return r;
        d = strtod(text, NULL);
        *out = d == floor(d) && fabs(d) < 1e15 ? jv_new_int((long long)d) : compose_new_double(d);
        return 0;
}

/* deploy's cpus: the string Go's float32 prints. */
static int conv_cpus_text(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        char text[48];
        int r = float32_text(c, in, text, sizeof(text), err);

        if (r >= 0)
                *out = jv_new_string(text);
        return r;
}

static const struct conv_type as_copy = {.fn = conv_copy};
static const struct conv_type as_strings = {.fn = conv_strings};
static const struct conv_type as_command = {.fn = conv_command};
static const struct conv_type as_labels = {.fn = conv_labels};
static const struct conv_type as_env = {.fn = conv_env};
static const struct conv_type as_bytes = {.fn = conv_bytes};
static const struct conv_type as_int = {.fn = conv_int};
static const struct conv_type as_duration = {.fn = conv_duration};
static const struct conv_type as_cpus = {.fn = conv_cpus};
static const struct conv_type as_cpus_text = {.fn = conv_cpus_text};

/* Converts the members of in named in the table into out, in the table's order, then the
 * others (x-*) as they are (sorted with sort_rest). */
static int conv_members(struct conv *c, const struct jv *in, const struct member *m, size_t n,
                        bool sort_rest, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *out = jv_new_object();
        _cleanup_strv_ char **keys = sort_rest ? jv_keys(in) : jv_keys_ordered(in);
        const char *saved = c->path;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *p = util_printf("%s.%s", saved, m[i].key);
                struct jv *v = NULL;
                if (!compose_has(in, m[i].key))
                        continue;
                if (!p)
                        util_oom();
                c->path = p;
                r = convert(c, m[i].type, jv_get(in, m[i].key), &v, err);
                c->path = saved;
                if (r >= 0)
                        jv_set(out, m[i].key, v);
        }
        for (size_t i = 0; r >= 0 && keys && keys[i]; i++) {
                size_t k;
                for (k = 0; k < n && strcmp(m[k].key, keys[i]) != 0; k++)
                        ;
                if (k == n)
                        jv_set(out, keys[i], jv_copy(jv_get(in, keys[i])));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

#define CONV_MEMBERS(c, in, table, sort, ret, err)                                                 \
        conv_members(c, in, table, ARRAY_SIZE(table), sort, ret, err)

/* Each item of the list in. */
static int conv_list(struct conv *c, const struct jv *in, const struct conv_type *t,
                     struct jv **out, struct err *err)
{
        _cleanup_jv_ struct jv *a = jv_new_array();

        for (size_t i = 0; i < jv_len(in); i++) {
                struct jv *v = NULL;
                int r = convert(c, t, jv_at(in, i), &v, err);
                if (r < 0)
                        return r;
                jv_append(a, v);
        }
        *out = TAKE_PTR(a);
        return 0;
}

/* Each value of the mapping in, names sorted. */
static int conv_map_of(struct conv *c, const struct jv *in, const struct conv_type *t,
                       struct jv **out, struct err *err)
{
        _cleanup_jv_ struct jv *m = jv_new_object();
        _cleanup_strv_ char **keys = jv_keys(in);

        for (size_t i = 0; keys && keys[i]; i++) {
                struct jv *v = NULL;
                int r = convert(c, t, jv_get(in, keys[i]), &v, err);
                if (r < 0)
                        return r;
                jv_set(m, keys[i], v);
        }
        *out = TAKE_PTR(m);
        return 0;
}

static int convert(struct conv *c, const struct conv_type *t, const struct jv *in, struct jv **out,
                   struct err *err)
{
        if (t->fn)
                return t->fn(c, in, out, err);
        if (t->list_of)
                return conv_list(c, in, t->list_of, out, err);
        if (t->map_of)
                return conv_map_of(c, in, t->map_of, out, err);
        return conv_members(c, in, t->members, t->n, false, out, err);
}

static const struct member port_members[] = {
        {"name", &as_copy},         {"mode", &as_copy},      {"host_ip", &as_copy},
        {"target", &as_int},        {"published", &as_copy}, {"protocol", &as_copy},
        {"app_protocol", &as_copy},
};

static int conv_port(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        int r = CONV_MEMBERS(c, in, port_members, false, out, err);
        struct jv *pub = jv_get(*out, "published");

        if (r >= 0 && pub && !jv_str(pub)) {
                _cleanup_free_ char *s = compose_sprint(pub);
                jv_set_str(*out, "published", s);
        }
        return r;
}

static const struct conv_type as_port = {.fn = conv_port};
static const struct conv_type as_ports = {.list_of = &as_port};

static const struct member tmpfs_members[] = {{"size", &as_bytes}, {"mode", &as_copy}};
static const struct conv_type as_tmpfs = {MEMBERS(tmpfs_members)};
static const struct member mount_members[] = {
        {"type", &as_copy},      {"source", &as_copy},      {"target", &as_copy},
        {"read_only", &as_copy}, {"consistency", &as_copy}, {"bind", &as_copy},
        {"volume", &as_copy},    {"tmpfs", &as_tmpfs},      {"image", &as_copy},
};
static const struct conv_type as_mount = {MEMBERS(mount_members)};
static const struct conv_type as_mounts = {.list_of = &as_mount};

static const struct member service_network_members[] = {
        {"aliases", &as_strings},        {"ipv4_address", &as_copy}, {"ipv6_address", &as_copy},
        {"link_local_ips", &as_strings}, {"mac_address", &as_copy},  {"driver_opts", &as_labels},
        {"priority", &as_int},           {"gw_priority", &as_int},   {"interface_name", &as_copy},
};

static int conv_service_network(struct conv *c, const struct jv *in, struct jv **out,
                                struct err *err)
{
        if (!in) {
                *out = NULL;
                return 0;
        }
        return CONV_MEMBERS(c, in, service_network_members, false, out, err);
}

static const struct conv_type as_service_network = {.fn = conv_service_network};
static const struct conv_type as_service_networks = {.map_of = &as_service_network};

static const struct member dependency_members[] = {
        {"condition", &as_copy},
        {"required", &as_copy},
        {"restart", &as_copy},
};
static const struct conv_type as_dependency = {MEMBERS(dependency_members)};
static const struct conv_type as_depends_on = {.map_of = &as_dependency};

static int conv_ulimit(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        struct jv *soft = NULL, *hard = NULL;
        int r;

        if (jv_type(in) != JV_OBJECT) {
                r = conv_int(c, in, &soft, err);
                if (r < 0)
                        return r;
                hard = jv_new_int(jv_int(soft));
        } else {
                r = conv_int(c, jv_get(in, "soft"), &soft, err);
                if (r >= 0)
                        r = conv_int(c, jv_get(in, "hard"), &hard, err);
                if (r < 0) {
                        jv_put(soft);
                        return r;
                }
        }
        *out = jv_new_object();
        jv_set(*out, "soft", soft);
        jv_set(*out, "hard", hard);
        return 0;
}

static const struct conv_type as_ulimit = {.fn = conv_ulimit};
static const struct conv_type as_ulimits = {.map_of = &as_ulimit};

static void add_host(struct jv *hosts, const char *host, const char *ip)
{
        size_t l = strlen(ip);
        _cleanup_free_ char *s = NULL;

        if (l > 2 && ip[0] == '[' && ip[l - 1] == ']')
                s = util_printf("%s=%.*s", host, (int)(l - 2), ip + 1);
        else
                s = util_printf("%s=%s", host, ip);
        if (!s)
                util_oom();
        jv_set(hosts, s, NULL);
}

/* HostsList: "host=ip", "host:ip" or a mapping; printed as sorted "host=ip". */
static int conv_extra_hosts(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        _cleanup_jv_ struct jv *hosts = jv_new_object();
        _cleanup_strv_ char **keys = NULL, **sorted = NULL;

        if (jv_type(in) == JV_OBJECT) {
                keys = jv_keys_ordered(in);
                for (size_t i = 0; keys[i]; i++) {
                        struct jv *v = jv_get(in, keys[i]);
                        for (size_t k = 0; k < (jv_type(v) == JV_ARRAY ? jv_len(v) : 1); k++) {
                                _cleanup_free_ char *ip =
                                        compose_sprint(jv_type(v) == JV_ARRAY ? jv_at(v, k) : v);
                                add_host(hosts, keys[i], ip);
                        }
                }
        } else {
                for (size_t i = 0; i < jv_len(in); i++) {
                        _cleanup_free_ char *s = compose_sprint(jv_at(in, i)), *host = NULL;
                        char *sep = strchr(s, '=') ? strchr(s, '=') : strchr(s, ':');
                        if (!sep)
                                return err_set(err, -EINVAL,
                                               "%s: invalid additional host, missing IP: %s",
                                               c->path, s);
                        host = strndup(s, (size_t)(sep - s));
                        if (!host)
                                util_oom();
                        if (!*host || strpbrk(host, ":="))
                                return err_set(err, -EINVAL, "%s: bad host name '%s'", c->path,
                                               host);
                        for (char *ip = sep + 1;;) {
                                size_t l = strcspn(ip, ",");
                                char save = ip[l];
                                ip[l] = '\0';
                                add_host(hosts, host, ip);
                                if (!save)
                                        break;
                                ip += l + 1;
                        }
                }
        }
        sorted = jv_keys(hosts);
        *out = jv_from_strv(sorted);
        return 0;
}

static const struct conv_type as_extra_hosts = {.fn = conv_extra_hosts};

static const struct member file_ref_members[] = {
        {"source", &as_copy}, {"target", &as_copy}, {"uid", &as_copy},
        {"gid", &as_copy},    {"mode", &as_copy},
};
static const struct conv_type as_file_ref = {MEMBERS(file_ref_members)};
static const struct conv_type as_file_refs = {.list_of = &as_file_ref};

/* Devices as docker run's --device strings. */
static int conv_devices(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        struct jv *a = jv_new_array();

        (void)c, (void)err;
        for (size_t i = 0; i < jv_len(in); i++) {
                const struct jv *d = jv_at(in, i);
                const char *src = jv_get_str(d, "source"), *dst = jv_get_str(d, "target");
                const char *perm = jv_get_str(d, "permissions");
                _cleanup_free_ char *s = NULL;
                if (jv_str(d)) {
                        jv_append(a, jv_copy(d));
                        continue;
                }
                s = util_printf("%s:%s%s%s", src ? src : "",
                                dst && *dst ? dst
                                : src       ? src
                                            : "",
                                perm ? ":" : "", perm ? perm : "");
                if (!s)
                        util_oom();
                jv_append(a, jv_new_string(s));
        }
        *out = a;
        return 0;
}

static const struct conv_type as_devices = {.fn = conv_devices};

static const struct member healthcheck_members[] = {
        {"test", &as_copy},    {"timeout", &as_duration},      {"interval", &as_duration},
        {"retries", &as_int},  {"start_period", &as_duration}, {"start_interval", &as_duration},
        {"disable", &as_copy},
};

static int conv_healthcheck(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        _cleanup_jv_ struct jv *with = jv_type(in) == JV_OBJECT ? jv_copy(in) : jv_new_object();
        const char *test = jv_get_str(with, "test");
        struct jv *t = NULL;

        /* HealthCheckTest: a string is a shell command; disable: true is ["NONE"]. */
        if (jv_get_bool(with, "disable")) {
                t = jv_new_array();
                jv_append(t, jv_new_string("NONE"));
        } else if (test) {
                t = jv_new_array();
                jv_append(t, jv_new_string("CMD-SHELL"));
                jv_append(t, jv_new_string(test));
        }
        if (t)
                jv_set(with, "test", t);
        return CONV_MEMBERS(c, with, healthcheck_members, false, out, err);
}

static const struct conv_type as_healthcheck = {.fn = conv_healthcheck};

static const struct member limits_members[] = {
        {"cpus", &as_cpus_text},         {"memory", &as_bytes}, {"pids", &as_int},
        {"generic_resources", &as_copy}, {"devices", &as_copy},
};
static const struct conv_type as_limits = {MEMBERS(limits_members)};
static const struct member resources_members[] = {
        {"limits", &as_limits},
        {"reservations", &as_limits},
};
static const struct conv_type as_resources = {MEMBERS(resources_members)};
static const struct member restart_policy_members[] = {
        {"condition", &as_copy},
        {"delay", &as_duration},
        {"max_attempts", &as_int},
        {"window", &as_duration},
};
static const struct conv_type as_restart_policy = {MEMBERS(restart_policy_members)};
static const struct member update_members[] = {
        {"parallelism", &as_int},  {"delay", &as_duration},         {"failure_action", &as_copy},
        {"monitor", &as_duration}, {"max_failure_ratio", &as_copy}, {"order", &as_copy},
};
static const struct conv_type as_update = {MEMBERS(update_members)};
static const struct member deploy_members[] = {
        {"mode", &as_copy},
        {"replicas", &as_int},
        {"labels", &as_labels},
        {"update_config", &as_update},
        {"rollback_config", &as_update},
        {"resources", &as_resources},
        {"restart_policy", &as_restart_policy},
        {"placement", &as_copy},
        {"endpoint_mode", &as_copy},
};

static int conv_deploy(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        int r;

        if (!in) {
                *out = NULL;
                return 0;
        }
        r = CONV_MEMBERS(c, in, deploy_members, false, out, err);
        /* DeployConfig.Resources is a struct: always printed. */
        if (r >= 0 && !jv_get(*out, "resources"))
                jv_set(*out, "resources", jv_new_object());
        return r;
}

static const struct conv_type as_deploy = {.fn = conv_deploy};

static const struct member logging_members[] = {
        {"driver", &as_copy},
        {"options", &as_labels},
};
static const struct conv_type as_logging = {MEMBERS(logging_members)};

static const struct member build_members[] = {
        {"context", &as_copy},
        {"dockerfile", &as_copy},
        {"args", &as_env},
        {"labels", &as_labels},
        {"additional_contexts", &as_labels},
        {"extra_hosts", &as_extra_hosts},
        {"shm_size", &as_bytes},
        {"secrets", &as_file_refs},
        {"ulimits", &as_ulimits},
        {"cache_from", &as_strings},
        {"cache_to", &as_strings},
        {"tags", &as_strings},
        {"platforms", &as_strings},
        {"no_cache_filter", &as_strings},
};

static int conv_build(struct conv *c, const struct jv *in, struct jv **out, struct err *err)
{
        _cleanup_jv_ struct jv *unsorted = NULL;
        int r = CONV_MEMBERS(c, in, build_members, false, &unsorted, err);

        if (r >= 0)
                *out = sorted_copy(unsorted);
        return r;
}

static const struct conv_type as_build = {.fn = conv_build};

/* Every service key with a typed form; the others are kept as they are. */
static const struct member service_members[] = {
        {"annotations", &as_labels},
        {"build", &as_build},
        {"cap_add", &as_strings},
        {"cap_drop", &as_strings},
        {"command", &as_command},
        {"configs", &as_file_refs},
        {"cpu_count", &as_int},
        {"cpu_period", &as_int},
        {"cpu_quota", &as_int},
        {"cpu_rt_period", &as_int},
        {"cpu_rt_runtime", &as_int},
        {"cpu_shares", &as_int},
        {"cpus", &as_cpus},
        {"depends_on", &as_depends_on},
        {"deploy", &as_deploy},
        {"device_cgroup_rules", &as_strings},
        {"devices", &as_devices},
        {"dns", &as_strings},
        {"dns_opt", &as_strings},
        {"dns_search", &as_strings},
        {"entrypoint", &as_command},
        {"environment", &as_env},
        {"expose", &as_strings},
        {"external_links", &as_strings},
        {"extra_hosts", &as_extra_hosts},
        {"group_add", &as_strings},
        {"healthcheck", &as_healthcheck},
        {"labels", &as_labels},
        {"links", &as_strings},
        {"logging", &as_logging},
        {"mem_limit", &as_bytes},
        {"mem_reservation", &as_bytes},
        {"mem_swappiness", &as_int},
        {"memswap_limit", &as_bytes},
        {"networks", &as_service_networks},
        {"oom_score_adj", &as_int},
        {"pids_limit", &as_int},
        {"ports", &as_ports},
        {"profiles", &as_strings},
        {"scale", &as_int},
        {"secrets", &as_file_refs},
        {"security_opt", &as_strings},
        {"shm_size", &as_bytes},
        {"stop_grace_period", &as_duration},
        {"storage_opt", &as_labels},
        {"sysctls", &as_labels},
        {"tmpfs", &as_strings},
        {"ulimits", &as_ulimits},
        {"volumes", &as_mounts},
        {"volumes_from", &as_strings},
};

static int convert_service(const struct compose_norm *n, const char *name, const struct jv *in,
                           struct jv **ret, struct err *err)
{
        _cleanup_free_ char *path = util_printf("services.%s", name);
        _cleanup_jv_ struct jv *typed = NULL;
        struct conv c = {.n = n, .path = path};
        int r;

        if (!path)
                util_oom();
        r = CONV_MEMBERS(&c, in, service_members, true, &typed, err);
        if (r < 0)
                return r;
        jv_del(typed, "env_file");
        jv_del(typed, "label_file");
        jv_del(typed, "extends");
        *ret = sorted_copy(typed);
        return 0;
}

/* ---- profiles ---- */

static bool has_profile(const struct jv *svc, char *const *active)
{
        struct jv *profiles = jv_get(svc, "profiles");

        if (jv_len(profiles) == 0)
                return true;
        for (size_t i = 0; active && active[i]; i++) {
                if (!strcmp(active[i], "*"))
                        return true;
                for (size_t k = 0; k < jv_len(profiles); k++)
                        if (jv_str(jv_at(profiles, k)) &&
                            !strcmp(active[i], jv_str(jv_at(profiles, k))))
                                return true;
        }
        return false;
}

/* WithServicesEnabled: a service named on the command line brings its profiles along. */
static char **active_profiles(const struct compose_norm *n, const struct jv *services)
{
        char **active = util_strv_dup(n->profiles);

        if (!active && !(active = calloc(1, sizeof(*active))))
                util_oom();
        for (size_t i = 0; n->services && n->services[i]; i++) {
                const struct jv *svc = jv_get(services, n->services[i]);
                struct jv *profiles = jv_get(svc, "profiles");
                if (!svc || has_profile(svc, active))
                        continue;
                for (size_t k = 0; k < jv_len(profiles); k++)
                        if (jv_str(jv_at(profiles, k)))
                                util_strv_push(&active, jv_str(jv_at(profiles, k)));
        }
        return active;
}

/* ---- checkConsistency ---- */

struct project {
        const struct compose_norm *n;
        struct jv *services; /* typed, enabled only */
        struct jv *disabled; /* name -> true */
        struct jv *top;      /* the normalised tree: networks, volumes, ... */
};

static int check_refs(const char *svc, const struct jv *list, const struct jv *top,
                      const char *kind, const char *word, struct err *err)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                const char *src = jv_get_str(jv_at(list, i), "source");
                if (src && !compose_has(jv_get(top, kind), src))
                        return err_set(err, -EINVAL,
                                       "service \"%s\" refers to undefined %s %s" INVALID, svc,
                                       word, src);
        }
        return 0;
}

static int check_dependencies(struct project *p, const char *name, struct jv *svc, struct err *err)
{
        struct jv *deps = object_at(svc, "depends_on");
        _cleanup_strv_ char **keys = jv_keys_ordered(deps);

        for (size_t i = 0; keys[i]; i++) {
                struct jv *d = jv_get(deps, keys[i]);
                if (jv_get(p->services, keys[i]))
                        continue;
                if (compose_has(d, "required") && !jv_get_bool(d, "required")) {
                        jv_del(deps, keys[i]);
                        continue;
                }
                return err_set(err, -EINVAL,
                               "service \"%s\" depends on undefined service \"%s\"" INVALID, name,
                               keys[i]);
        }
        if (deps) {
                _cleanup_strv_ char **left = jv_keys(deps);
                if (!left || !left[0])
                        jv_del(svc, "depends_on");
        }
        return 0;
}

static int check_same(const char *name, const struct jv *a, const struct jv *b, const char *what,
                      struct err *err)
{
        if (a && b && compose_number(a) != compose_number(b) &&
            !(jv_str(b) && strtod(jv_str(b), NULL) == compose_number(a)))
                return err_set(err, -EINVAL, "services.%s: can't set distinct values on %s" INVALID,
                               name, what);
        return 0;
}

static int check_limits_agree(const char *name, struct jv *svc, struct err *err)
{
        struct jv *limits = jv_path(svc, "deploy.resources.limits");
        struct jv *res = jv_path(svc, "deploy.resources.reservations");
        int r;

        r = check_same(name, jv_get(svc, "cpus"), jv_get(limits, "cpus"),
                       "'cpus' and 'deploy.resources.limits.cpus'", err);
        if (r >= 0)
                r = check_same(name, jv_get(svc, "mem_limit"), jv_get(limits, "memory"),
                               "'mem_limit' and 'deploy.resources.limits.memory'", err);
        if (r >= 0)
                r = check_same(name, jv_get(svc, "mem_reservation"), jv_get(res, "memory"),
                               "'mem_reservation' and 'deploy.resources.reservations.memory'", err);
        if (r >= 0)
                r = check_same(name, jv_get(svc, "pids_limit"), jv_get(limits, "pids"),
                               "'pids_limit' and 'deploy.resources.limits.pids'", err);
        return r;
}

static int check_scale(const char *name, struct jv *svc, struct err *err)
{
        struct jv *scale = jv_get(svc, "scale"), *deploy = object_at(svc, "deploy");
        struct jv *replicas = jv_get(deploy, "replicas");
        long long n;

        if (scale && deploy) {
                if (replicas && jv_int(replicas) != jv_int(scale))
                        return err_set(err, -EINVAL,
                                       "services.%s: can't set distinct values on 'scale' and "
                                       "'deploy.replicas'" INVALID,
                                       name);
                jv_set_int(deploy, "replicas", jv_int(scale));
        }
        if (scale && jv_int(scale) < 0)
                return err_set(err, -EINVAL,
                               "services.%s.scale: must be greater than or equal to 0", name);
        replicas = jv_get(deploy, "replicas");
        if (replicas && jv_int(replicas) < 0)
                return err_set(err, -EINVAL,
                               "services.%s.deploy.replicas: must be greater than or equal to 0",
                               name);
        n = scale ? jv_int(scale) : replicas ? jv_int(replicas) : 1;
        if (n > 1 && jv_get_str(svc, "container_name"))
                return err_set(err, -EINVAL,
                               "services.%s: can't set container_name and %s as container name "
                               "must be unique" INVALID,
                               name, scale ? "scale" : "deploy.replicas");
        return 0;
}

static int check_mount_targets(const char *name, const struct jv *svc, struct err *err)
{
        _cleanup_jv_ struct jv *mounts = jv_new_object();
        struct jv *tmpfs = jv_get(svc, "tmpfs"), *vols = jv_get(svc, "volumes");

        for (size_t i = 0; i < jv_len(tmpfs); i++) {
                const char *t = jv_str(jv_at(tmpfs, i));
                _cleanup_free_ char *path = t ? strndup(t, strcspn(t, ":")) : NULL;
                _cleanup_free_ char *loc = util_printf("services.%s.tmpfs[%zu]", name, i);
                if (!path || !loc)
                        util_oom();
                if (jv_get_str(mounts, path))
                        return err_set(err, -EINVAL, "%s: target %s already mounted as %s", loc,
                                       path, jv_get_str(mounts, path));
                jv_set_str(mounts, path, loc);
        }
        for (size_t i = 0; i < jv_len(vols); i++) {
                const char *t = jv_get_str(jv_at(vols, i), "target");
                _cleanup_free_ char *loc = util_printf("services.%s.volumes[%zu]", name, i);
                if (!loc)
                        util_oom();
                if (!t)
                        continue;
                if (jv_get_str(mounts, t))
                        return err_set(err, -EINVAL, "%s: target %s already mounted as %s", loc, t,
                                       jv_get_str(mounts, t));
                jv_set_str(mounts, t, loc);
        }
        return 0;
}

static int check_service(struct project *p, const char *name, struct jv *svc, struct err *err)
{
        struct jv *build = object_at(svc, "build"), *nets = object_at(svc, "networks");
        const char *mode = jv_get_str(svc, "network_mode");
        _cleanup_strv_ char **netnames = jv_keys_ordered(nets);
        struct jv *vols = jv_get(svc, "volumes");
        int r;

        if (!build && !jv_get_str(svc, "image") && !compose_has(svc, "provider"))
                return err_set(err, -EINVAL,
                               "service \"%s\" has neither an image nor a build context "
                               "specified" INVALID,
                               name);
        if (build && jv_get(build, "dockerfile_inline") && jv_get(build, "dockerfile"))
                return err_set(err, -EINVAL,
                               "service \"%s\" declares mutualy exclusive dockerfile and "
                               "dockerfile_inline" INVALID,
                               name);
        if (mode && netnames[0])
                return err_set(err, -EINVAL,
                               "service %s declares mutually exclusive `network_mode` and "
                               "`networks`" INVALID,
                               name);
        for (size_t i = 0; netnames[i]; i++)
                if (!compose_has(jv_get(p->top, "networks"), netnames[i]))
                        return err_set(err, -EINVAL,
                                       "service \"%s\" refers to undefined network %s" INVALID,
                                       name, netnames[i]);
        r = check_dependencies(p, name, svc, err);
        if (r < 0)
                return r;
        if (mode && !strncmp(mode, "service:", 8) && !jv_get(p->services, mode + 8))
                return err_set(err, -EINVAL,
                               "service \"%s\" not found for network_mode 'service:%s'", mode + 8,
                               mode + 8);
        for (size_t i = 0; i < jv_len(vols); i++) {
                struct jv *v = jv_at(vols, i);
                const char *src = jv_get_str(v, "source"), *type = jv_get_str(v, "type");
                if (type && !strcmp(type, "volume") && src && *src &&
                    !compose_has(jv_get(p->top, "volumes"), src))
                        return err_set(err, -EINVAL,
                                       "service \"%s\" refers to undefined volume %s" INVALID, name,
                                       src);
        }
        r = check_refs(name, jv_get(build, "secrets"), p->top, "secrets", "build secret", err);
        if (r >= 0)
                r = check_refs(name, jv_get(svc, "configs"), p->top, "configs", "config", err);
        if (r >= 0)
                r = check_refs(name, jv_get(svc, "secrets"), p->top, "secrets", "secret", err);
        if (r >= 0)
                r = check_scale(name, svc, err);
        if (r >= 0)
                r = check_limits_agree(name, svc, err);
        if (r >= 0)
                r = check_mount_targets(name, svc, err);
        return r;
}

static int check_secrets(const struct jv *top, struct err *err)
{
        struct jv *secrets = object_at((struct jv *)top, "secrets");
        _cleanup_strv_ char **names = jv_keys_ordered(secrets);

        for (size_t i = 0; names[i]; i++) {
                struct jv *s = jv_get(secrets, names[i]);
                if (jv_get_bool(s, "external") || !strncmp(names[i], "x-", 2))
                        continue;
                if (!jv_get(s, "file") && !jv_get(s, "environment"))
                        return err_set(err, -EINVAL,
                                       "secret \"%s\" must declare either `file` or "
                                       "`environment`" INVALID,
                                       names[i]);
        }
        return 0;
}

/* graph.CheckCycle: services in name order, each one's dependencies in name order; the first
 * cycle found is told. A service explored without finding one is not explored again: no cycle
 * can pass through it. */
struct cycle_walk {
        const struct jv *services;
        const char **path;
        size_t n, cap;
        struct jv *done;
};

static int search_cycle(struct cycle_walk *w, const char *name, struct err *err)
{
        struct jv *deps = jv_get(jv_get(w->services, name), "depends_on");
        _cleanup_strv_ char **keys = jv_keys(deps);

        for (size_t i = 0; keys && keys[i]; i++) {
                size_t at;
                int r;
                for (at = 0; at < w->n && strcmp(w->path[at], keys[i]) != 0; at++)
                        ;
                if (at < w->n) {
                        struct util_buf b = {0};
                        for (size_t k = at; k < w->n; k++) {
                                util_buf_add(&b, w->path[k], strlen(w->path[k]));
                                util_buf_add(&b, " -> ", 4);
                        }
                        r = err_set(err, -EINVAL, "dependency cycle detected: %s%s",
                                    util_buf_str(&b), keys[i]);
                        util_buf_free(&b);
                        return r;
                }
                if (!jv_get(w->services, keys[i]) || jv_get(w->done, keys[i]))
                        continue;
                if (w->n == w->cap) {
                        w->cap = w->cap ? w->cap * 2 : 16;
                        w->path = reallocarray(w->path, w->cap, sizeof(*w->path));
                        if (!w->path)
                                util_oom();
                }
                w->path[w->n++] = keys[i];
                r = search_cycle(w, keys[i], err);
                w->n--;
                if (r < 0)
                        return r;
        }
        jv_set_bool(w->done, name, true);
        return 0;
}

static int check_cycles(const struct jv *services, struct err *err)
{
        _cleanup_strv_ char **names = jv_keys(services);
        _cleanup_jv_ struct jv *done = jv_new_object();
        struct cycle_walk w = {.services = services, .done = done};
        int r = 0;

        for (size_t i = 0; r >= 0 && names && names[i]; i++) {
                if (jv_get(done, names[i]))
                        continue;
                w.n = 0;
                if (w.cap == 0) {
                        w.cap = 16;
                        w.path = calloc(w.cap, sizeof(*w.path));
                        if (!w.path)
                                util_oom();
                }
                w.path[w.n++] = names[i];
                r = search_cycle(&w, names[i], err);
        }
        free(w.path);
        return r;
}

/* ---- env_file and label_file ---- */

/* Reads one env_file (or label_file) into vars. */
static int read_env_file(const struct compose_norm *n, const char *path, bool required,
                         const struct jv *svc_env, const char *what, struct jv *vars,
                         struct err *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_ char **warnings = NULL;
        struct stat st;
        char buf[64];
        int r;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT && !required)
                        return 0;
                return err_set(err, -errno, "%s %s not found: stat %s: %s", what, path, path,
                               util_go_strerror(errno, buf));
        }
        r = fs_read_file(path, &text, NULL, err);
        if (r < 0)
                return err_set(err, r, "open %s: %s", path, util_go_strerror(-r, buf));
        r = compose_dotenv_add(path, text, n->env, svc_env, vars, &warnings, err);
        if (r < 0)
                return r;
        for (size_t i = 0; warnings[i]; i++)
                warn_once(n->warnings, warnings[i]);
        return 0;
}

/* Bare keys of the service's environment take the project's values. */
static void resolve_bare_env(const struct compose_norm *n, struct jv *svc)
{
        struct jv *env = object_at(svc, "environment");
        _cleanup_strv_ char **keys = jv_keys_ordered(env);

        for (size_t i = 0; keys[i]; i++)
                if (!jv_get(env, keys[i]) && jv_get_str(n->env, keys[i]))
                        jv_set_str(env, keys[i], jv_get_str(n->env, keys[i]));
}

/* The service's environment (or labels): the variables of its env_file (label_file) files,
 * then its own over them, keys sorted. An env file looks variables up in the project's, then
 * in the service's environment; a label file in the project's, then in the label files read
 * before it. */
static int resolve_from_files(const struct compose_norm *n, const struct jv *files, bool labels,
                              struct jv *svc, struct err *err)
{
        const char *key = labels ? "labels" : "environment";
        struct jv *own = object_at(svc, key);
        _cleanup_jv_ struct jv *vars = jv_new_object();
        _cleanup_strv_ char **keys = jv_keys_ordered(own);

        if (jv_len(files) == 0)
                return 0;
        for (size_t i = 0; i < jv_len(files); i++) {
                /* label_file holds paths, env_file {path, required}. */
                struct jv *f = jv_at(files, i);
                const char *path = labels ? jv_str(f) : jv_get_str(f, "path");
                bool required = labels || !compose_has(f, "required") || jv_get_bool(f, "required");
                int r;
                if (!path)
                        continue;
                r = read_env_file(n, path, required, labels ? vars : own,
                                  labels ? "label file" : "env file", vars, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; keys[i]; i++)
                jv_set(vars, keys[i], jv_copy(jv_get(own, keys[i])));
        jv_set(svc, key, sorted_copy(vars));
        return 0;
}

/* ---- top-level resources ---- */

static const struct member pool_members[] = {
        {"subnet", &as_copy},
        {"gateway", &as_copy},
        {"ip_range", &as_copy},
        {"aux_addresses", &as_labels},
};
static const struct conv_type as_pool = {MEMBERS(pool_members)};
static const struct conv_type as_pools = {.list_of = &as_pool};
static const struct member ipam_members[] = {
        {"driver", &as_copy},
        {"config", &as_pools},
        {"options", &as_labels},
};
static const struct conv_type as_ipam = {MEMBERS(ipam_members)};

static const struct member network_members[] = {
        {"name", &as_copy},        {"driver", &as_copy},   {"driver_opts", &as_labels},
        {"ipam", &as_ipam},        {"external", &as_copy}, {"internal", &as_copy},
        {"attachable", &as_copy},  {"labels", &as_labels}, {"enable_ipv4", &as_copy},
        {"enable_ipv6", &as_copy},
};
static const struct member volume_members[] = {
        {"name", &as_copy},     {"driver", &as_copy},   {"driver_opts", &as_labels},
        {"external", &as_copy}, {"labels", &as_labels},
};
static const struct member file_object_members[] = {
        {"name", &as_copy},    {"file", &as_copy},          {"environment", &as_copy},
        {"content", &as_copy}, {"external", &as_copy},      {"labels", &as_labels},
        {"driver", &as_copy},  {"driver_opts", &as_labels}, {"template_driver", &as_copy},
};

static const struct conv_type as_network = {MEMBERS(network_members)};
static const struct conv_type as_volume = {MEMBERS(volume_members)};
static const struct conv_type as_file_object = {MEMBERS(file_object_members)};

static int convert_resources(const struct compose_norm *n, struct jv *dict, const char *kind,
                             const struct conv_type *t, struct jv *model, struct err *err)
{
        struct jv *all = object_at(dict, kind);
        _cleanup_strv_ char **names = jv_keys(all);
        _cleanup_jv_ struct jv *out = jv_new_object();

        if (!names || !names[0])
                return 0;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *path = util_printf("%s.%s", kind, names[i]);
                struct conv c = {.n = n, .path = path};
                struct jv *r = jv_get(all, names[i]), *v = NULL;
                int k;
                if (!path)
                        util_oom();
                if (!strncmp(names[i], "x-", 2)) {
                        jv_set(out, names[i], jv_copy(r));
                        continue;
                }
                /* IPAMConfig is a struct: every network prints one. */
                if (!strcmp(kind, "networks") && !jv_get(r, "ipam")) {
                        struct jv *with = r ? jv_copy(r) : jv_new_object();
                        jv_set(with, "ipam", jv_new_object());
                        k = convert(&c, t, with, &v, err);
                        jv_put(with);
                } else {
                        k = convert(&c, t, r, &v, err);
                }
                if (k < 0)
                        return k;
                jv_set(out, names[i], v);
        }
        jv_set(model, kind, TAKE_PTR(out));
        return 0;
}

/* ---- the model ---- */

static int build_services(struct project *p, struct jv *dict, struct err *err)
{
        struct jv *services = object_at(dict, "services");
        _cleanup_strv_ char **names = jv_keys_ordered(services);
        _cleanup_strv_ char **active = active_profiles(p->n, services);

        for (size_t i = 0; names[i]; i++) {
                struct jv *in = jv_get(services, names[i]), *typed = NULL;
                int r;
                if (jv_type(in) != JV_OBJECT)
                        return err_set(err, -EINVAL, "services.%s must be a mapping", names[i]);
                if (!has_profile(in, active)) {
                        jv_set_bool(p->disabled, names[i], true);
                        continue;
                }
                r = convert_service(p->n, names[i], in, &typed, err);
                if (r < 0)
                        return r;
                jv_set(p->services, names[i], typed);
        }
        return 0;
}

static int finish_services(struct project *p, struct jv *dict, struct err *err)
{
        struct jv *services = object_at(dict, "services");
        _cleanup_strv_ char **names = jv_keys_ordered(p->services);
        int r;

        for (size_t i = 0; names[i]; i++) {
                r = check_service(p, names[i], jv_get(p->services, names[i]), err);
                if (r < 0)
                        return r;
        }
        r = check_secrets(p->top, err);
        if (r >= 0)
                r = check_cycles(p->services, err);
        for (size_t i = 0; r >= 0 && names[i]; i++) {
                struct jv *in = jv_get(services, names[i]), *svc = jv_get(p->services, names[i]);
                resolve_bare_env(p->n, svc);
                r = resolve_from_files(p->n, jv_get(in, "env_file"), false, svc, err);
                if (r >= 0)
                        r = resolve_from_files(p->n, jv_get(in, "label_file"), true, svc, err);
                /* What the files added keeps the service's keys sorted. */
                if (r >= 0)
                        jv_set(p->services, names[i], sorted_copy(svc));
        }
        return r;
}

int compose_normalize(const struct compose_norm *n, struct jv *dict, struct jv **ret,
                      struct err *err)
{
        static const struct {
                const char *kind;
                const struct conv_type *type;
        } resources[] = {
                {"networks", &as_network},
                {"volumes", &as_volume},
                {"secrets", &as_file_object},
                {"configs", &as_file_object},
        };
        _cleanup_jv_ struct jv *model = jv_new_object(), *services = jv_new_object();
        _cleanup_jv_ struct jv *disabled = jv_new_object();
        struct project p = {.n = n, .services = services, .disabled = disabled, .top = dict};
        _cleanup_strv_ char **keys = NULL;
        int r;

        normalize_tree(n, dict);
        r = build_services(&p, dict, err);
        if (r >= 0)
                r = finish_services(&p, dict, err);
        if (r < 0)
                return r;
        jv_set_str(model, "name", n->name);
        jv_set(model, "services", jv_ref(services));
        for (size_t i = 0; i < ARRAY_SIZE(resources); i++) {
                r = convert_resources(n, dict, resources[i].kind, resources[i].type, model, err);
                if (r < 0)
                        return r;
        }
        keys = jv_keys_ordered(dict);
        for (size_t i = 0; keys[i]; i++)
                if (!strncmp(keys[i], "x-", 2))
                        jv_set(model, keys[i], jv_copy(jv_get(dict, keys[i])));
        *ret = TAKE_PTR(model);
        return 0;
}
