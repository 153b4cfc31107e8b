/* compose_load: from the command line's options to the model, as docker compose v2 loads a
 * project (compose-go's cli/options.go and loader/): the environment and the .env files, the
 * compose files (named, from COMPOSE_FILE, or found from the working directory up), the
 * project name, then each file read, interpolated, checked, its includes and extends applied
 * and merged onto the files before it, and the result normalised. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "internal.h"

static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                            "docker-compose.yaml"};
static const char *const override_files[] = {"compose.override.yml", "compose.override.yaml",
                                             "docker-compose.override.yml",
                                             "docker-compose.override.yaml"};

/* A compose file read into memory. */
struct cfile {
        char *path; /* absolute, or "-" for stdin */
        char *text;
        size_t len;
};

struct proj {
        const struct compose_load_opts *o;
        char *cwd;
        const char *home;
        struct jv *env; /* the project's variables */
        char **warnings;
        char **versioned; /* files already warned about `version` */
};

/* One loading: the project's files, an include's, or a file an extends names. */
struct lctx {
        struct proj *p;
        const char *workdir;   /* relative paths resolve against it */
        const struct jv *env;  /* variables for interpolation */
        char *const *included; /* the files that include this load's, outermost first */
        bool for_extends;      /* a file read for extends: no include, no extends */
};

/* An extends chain, for cycles. */
struct tracker {
        const char *file, *service;
        const struct tracker *prev;
};

static void cfiles_free(struct cfile *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(f[i].path);
                free(f[i].text);
        }
        free(f);
}

static void add_warning(struct proj *p, const char *w)
{
        if (!util_strv_contains(p->warnings, w))
                util_strv_push(&p->warnings, w);
}

static void add_warnings(struct proj *p, char **ws)
{
        for (size_t i = 0; ws && ws[i]; i++)
                add_warning(p, ws[i]);
}

static const char *env_lookup(const char *name, void *ud)
{
        return jv_get_str(ud, name);
}

static char *xstrdup(const char *s)
{
        char *d = strdup(s);

        if (!d)
                util_oom();
        return d;
}

static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return strndup(path, (size_t)(slash - path)) ?: (util_oom(), NULL);
}

static bool is_regular(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int read_stdin(char **ret, size_t *ret_len, struct err *err)
{
        struct util_buf b = {0};
        char chunk[4096];

        for (;;) {
                ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        util_buf_free(&b);
                        return err_errno(err, "reading the compose file from stdin");
                }
                if (n == 0)
                        break;
                util_buf_add(&b, chunk, (size_t)n);
        }
        util_buf_add(&b, "", 0);
        *ret_len = b.len;
        *ret = b.s;
        return 0;
}

static int read_text(const char *path, char **ret, size_t *ret_len, struct err *err)
{
        char buf[64];
        int r;

        if (!strcmp(path, "-"))
                return read_stdin(ret, ret_len, err);
        r = fs_read_file(path, ret, ret_len, err);
        if (r < 0)
                return err_set(err, r, "open %s: %s", path, util_go_strerror(-r, buf));
        return 0;
}

/* ---- environment and .env ---- */

/* dotenv.GetEnvFromFile: the files in order, each seeing env and the files before it; then
 * what env lacks is added to it. */
static int load_env_files(struct proj *p, char *const *files, struct jv *env, struct err *err)
{
        _cleanup_jv_ struct jv *acc = jv_new_object();
        _cleanup_strv_ char **keys = NULL;

        for (size_t i = 0; files && files[i]; i++) {
                _cleanup_free_ char *path = compose_path_abs(p->cwd, files[i]), *text = NULL;
                _cleanup_strv_ char **warnings = NULL;
                struct stat st;
                size_t len;
                int r;
                if (stat(path, &st) < 0)
                        return err_set(err, -ENOENT, "couldn't find env file: %s", path);
                if (S_ISDIR(st.st_mode))
                        return err_set(err, -EISDIR, "%s is a directory", path);
                r = read_text(path, &text, &len, err);
                if (r < 0)
                        return r;
                r = compose_dotenv_add(path, text, env, acc, acc, &warnings, err);
                if (r < 0)
                        return err_wrap(err, "failed to read %s", path);
                add_warnings(p, warnings);
        }
        keys = jv_keys_ordered(acc);
        for (size_t i = 0; keys[i]; i++)
                if (!jv_get(env, keys[i]))
                        jv_set(env, keys[i], jv_copy(jv_get(acc, keys[i])));
        return 0;
}

/* The project's .env: --env-file, or DIR/.env when it is a file (and
 * COMPOSE_DISABLE_ENV_FILE is not true). */
static int dot_env(struct proj *p, const char *dir, char ***ret)
{
        const char *disable = NULL;
        char *path;

        if (p->o->env_files) {
                *ret = util_strv_dup(p->o->env_files);
                return 0;
        }
        for (char **e = p->o->environ; e && *e; e++)
                if (!strncmp(*e, "COMPOSE_DISABLE_ENV_FILE=", 25))
                        disable = *e + 25;
        if (disable && util_parse_go_bool(disable) == 1)
                return 0;
        path = compose_path_abs(dir, ".env");
        if (is_regular(path))
                util_strv_push(ret, path);
        free(path);
        return 0;
}

static void env_init(struct proj *p)
{
        p->env = jv_new_object();
        for (char **e = p->o->environ; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *k = eq ? strndup(*e, (size_t)(eq - *e)) : NULL;
                if (!eq)
                        continue;
                if (!k)
                        util_oom();
                jv_set_str(p->env, k, eq + 1);
        }
        p->home = jv_get_str(p->env, "HOME");
        /* docker compose sets PWD itself, whatever the environment says. */
        jv_set_str(p->env, "PWD", p->cwd);
}

/* ---- which files ---- */

/* The files of names that exist in dir, in the names' order. */
static char **find_files(const char *dir, const char *const *names, size_t n)
{
        char **found = NULL;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *f = compose_path_abs(dir, names[i]);
                struct stat st;
                if (stat(f, &st) == 0)
                        util_strv_push(&found, f);
        }
        return found;
}

/* The first of found, with docker compose's warnings when there are more. */
static void pick_first(struct proj *p, char *const *found, const char *what, char ***ret)
{
        if (found[1]) {
                _cleanup_free_ char *all = util_strv_join(found, ", ");
                _cleanup_free_ char *w1 =
                        util_printf("Found multiple %s files with supported names: %s", what, all);
                _cleanup_free_ char *w2 = util_printf("Using %s", found[0]);
                if (!all || !w1 || !w2)
                        util_oom();
                add_warning(p, w1);
                add_warning(p, w2);
        }
        util_strv_push(ret, found[0]);
}

/* From start up to /, the first directory with a compose file: it, and its override file. */
static int discover(struct proj *p, const char *start, char ***ret, struct err *err)
{
        _cleanup_free_ char *dir = xstrdup(start);

        for (;;) {
                _cleanup_strv_ char **found = NULL, **overrides = NULL;
                char *parent;
                found = find_files(dir, default_files, ARRAY_SIZE(default_files));
                if (found) {
                        overrides = find_files(dir, override_files, ARRAY_SIZE(override_files));
                        pick_first(p, found, "config", ret);
                        if (overrides)
                                pick_first(p, overrides, "override", ret);
                        return 0;
                }
                parent = dir_of(dir);
                if (!strcmp(parent, dir)) {
                        free(parent);
                        return err_set(err, -ENOENT, "no configuration file provided: not found");
                }
                free(dir);
                dir = parent;
        }
}

/* -f, else COMPOSE_FILE, else what discovery finds: absolute paths, "-" for stdin. */
static int config_paths(struct proj *p, const char *start, char ***ret, struct err *err)
{
        const char *cf = jv_get_str(p->env, "COMPOSE_FILE");

        if (p->o->files && p->o->files[0]) {
                for (char **f = p->o->files; *f; f++) {
                        _cleanup_free_ char *abs =
                                strcmp(*f, "-") ? compose_path_abs(p->cwd, *f) : xstrdup("-");
                        util_strv_push(ret, abs);
                }
                return 0;
        }
        if (cf && *cf) {
                const char *sep = jv_get_str(p->env, "COMPOSE_PATH_SEPARATOR");
                char sepc = sep && *sep ? sep[0] : ':';
                for (const char *s = cf;;) {
                        size_t l = strcspn(s, (char[]){sepc, 0});
                        _cleanup_free_ char *one = strndup(s, l), *abs = NULL;
                        struct stat st;
                        char buf[64];
                        if (!one)
                                util_oom();
                        abs = strcmp(one, "-") ? compose_path_abs(p->cwd, one) : xstrdup("-");
                        if (strcmp(abs, "-") && stat(abs, &st) < 0)
                                return err_set(err, -errno, "stat %s: %s", abs,
                                               util_go_strerror(errno, buf));
                        util_strv_push(ret, abs);
                        if (!s[l])
                                break;
                        s += l + 1;
                }
                return 0;
        }
        return discover(p, start, ret, err);
}

/* ---- the project name ---- */

/* loader.NormalizeProjectName: lowercased, only [a-z0-9_-], no leading '_' or '-'. */
static char *normalize_name(const char *s)
{
        char *out = malloc(strlen(s) + 1), *o = out;

        if (!out)
                util_oom();
        for (; *s; s++) {
                char c = (char)tolower((unsigned char)*s);
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
                        if (o != out || (c != '_' && c != '-'))
                                *o++ = c;
        }
        *o = '\0';
        return out;
}

static int check_name(const char *name, struct err *err)
{
        _cleanup_free_ char *norm = normalize_name(name);

        if (strcmp(norm, name))
                return err_set(err, -EINVAL,
                               "\"%s\" is not a valid project name: it must contain only "
                               "characters from [a-z0-9_-] and start with [a-z0-9]",
                               name);
        return 0;
}

/* The `name:` the files set (the last one set wins), interpolated and normalised. */
static int name_from_files(struct proj *p, const struct cfile *files, size_t n, bool *named,
                           char **ret, struct err *err)
{
        _cleanup_free_ char *raw = NULL;
        _cleanup_jv_ struct jv *wrap = NULL;
        _cleanup_strv_ char **warnings = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_jv_ struct jv *tree = NULL;
                struct err ignored = {0};
                const char *s;
                /* Errors are the loader's to report, with their positions. */
                if (compose_yaml_load(files[i].path, files[i].text, files[i].len, &tree, NULL,
                                      &ignored) < 0)
                        continue;
                s = jv_get_str(tree, "name");
                if (s && *s) {
                        free(raw);
                        raw = xstrdup(s);
                }
        }
        *named = raw != NULL;
        wrap = jv_new_object();
        jv_set_str(wrap, "name", raw ? raw : "");
        r = compose_interpolate(wrap, NULL, env_lookup, p->env, &warnings, err);
        if (r < 0)
                return r;
        add_warnings(p, warnings);
        *ret = normalize_name(jv_get_str(wrap, "name"));
        return 0;
}

static int project_name(struct proj *p, const struct cfile *files, size_t n, const char *dir,
                        char **ret, struct err *err)
{
        const char *env = jv_get_str(p->env, "COMPOSE_PROJECT_NAME");
        _cleanup_free_ char *name = NULL;
        bool named = false;
        int r;

        if (p->o->project_name && *p->o->project_name) {
                r = check_name(p->o->project_name, err);
                name = xstrdup(p->o->project_name);
        } else if (env && *env) {
                r = check_name(env, err);
                name = xstrdup(env);
        } else {
                r = name_from_files(p, files, n, &named, &name, err);
                if (r >= 0 && !*name && !named) {
                        const char *base = strrchr(dir, '/');
                        free(name);
                        name = normalize_name(base ? base + 1 : dir);
                }
        }
        if (r < 0)
                return r;
        if (!*name)
                return err_set(err, -EINVAL, "project name must not be empty");
        jv_set_str(p->env, "COMPOSE_PROJECT_NAME", name);
        *ret = TAKE_PTR(name);
        return 0;
}

/* ---- loading files ---- */

static int load_model(struct lctx *l, const struct cfile *files, size_t n, struct jv **ret,
                      struct err *err);

/* The strings of a string-or-list value. */
static char **string_or_list(const struct jv *v)
{
        char **out = NULL;

        if (jv_str(v))
                util_strv_push(&out, jv_str(v));
        for (size_t i = 0; i < jv_len(v); i++)
                if (jv_str(jv_at(v, i)))
                        util_strv_push(&out, jv_str(jv_at(v, i)));
        return out;
}

static int include_cycle(char *const *included, const char *path, struct err *err)
{
        _cleanup_free_ char *rest = NULL;
        _cleanup_strv_ char **all = util_strv_dup(included);

        if (!util_strv_contains(included, path))
                return 0;
        util_strv_push(&all, path);
        rest = util_strv_join(all + 1, "\n include ");
        if (!rest)
                util_oom();
        return err_set(err, -EINVAL, "include cycle detected:\n%s\n include %s", all[0], rest);
}

/* importResources: what an include defines joins this file's; where both define a name, this
 * file's definition is merged over the included one. */
static int import_resources(const struct jv *imported, struct jv *cfg, const struct jv *tags,
                            struct err *err)
{
        static const char *const kinds[] = {"services", "volumes", "networks",
                                            "secrets",  "configs", "models"};

        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
                struct jv *from = jv_get(imported, kinds[k]), *to = jv_get(cfg, kinds[k]);
                _cleanup_strv_ char **names = jv_keys_ordered(from);
                if (jv_type(from) != JV_OBJECT)
                        continue;
                if (jv_type(to) != JV_OBJECT) {
                        to = jv_new_object();
                        jv_set(cfg, kinds[k], to);
                }
                for (size_t i = 0; names[i]; i++) {
                        struct compose_cpath p = {.seg = {kinds[k], names[i]}, .n = 2};
                        _cleanup_jv_ struct jv *wrap = NULL;
                        struct jv *merged;
                        int r;
                        if (!compose_has(to, names[i])) {
                                jv_set(to, names[i], jv_copy(jv_get(from, names[i])));
                                continue;
                        }
                        wrap = jv_new_object();
                        jv_set(wrap, kinds[k], jv_new_object());
                        jv_set(jv_get(wrap, kinds[k]), names[i], jv_copy(jv_get(from, names[i])));
                        compose_reset_apply(wrap, tags);
                        merged = jv_ref(jv_get(jv_get(wrap, kinds[k]), names[i]));
                        r = compose_merge(&merged, jv_get(to, names[i]), &p, err);
                        jv_set(to, names[i], merged);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* An include's env_file list (default: its project directory's .env), relative files
 * against the including project's directory and required to exist there; /dev/null skipped. */
static int include_env_files(struct lctx *l, const struct jv *entry, const char *pd, char ***ret,
                             struct err *err)
{
        _cleanup_strv_ char **given = string_or_list(jv_get(entry, "env_file")), **out = NULL;

        if (!given) {
                _cleanup_free_ char *f = compose_path_abs(pd, ".env");
                if (is_regular(f))
                        util_strv_push(&out, f);
        }
        for (size_t i = 0; given && given[i]; i++) {
                _cleanup_free_ char *f = compose_path_abs(l->workdir, given[i]);
                struct stat st;
                char buf[64];
                if (!strcmp(given[i], "/dev/null"))
                        continue;
                if (given[i][0] != '/' && stat(f, &st) < 0)
                        return err_set(err, -errno, "stat %s: %s", f, util_go_strerror(errno, buf));
                if (given[i][0] != '/' && S_ISDIR(st.st_mode))
                        return err_set(err, -EISDIR, "%s is not a file", f);
                util_strv_push(&out, f);
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int read_files(char *const *paths, struct cfile **ret, size_t *ret_n, struct err *err)
{
        size_t n = util_strv_len(paths);
        struct cfile *files = calloc(n + 1, sizeof(*files));
        int r = 0;

        if (!files)
                util_oom();
        for (size_t i = 0; i < n && r >= 0; i++) {
                files[i].path = xstrdup(paths[i]);
                r = read_text(paths[i], &files[i].text, &files[i].len, err);
        }
        if (r < 0) {
                cfiles_free(files, n);
                return r;
        }
        *ret = files;
        *ret_n = n;
        return 0;
}

/* One include entry: its files loaded as a project of their own (their directory, their
 * .env), then imported. */
static int include_one(struct lctx *l, const struct jv *entry, struct jv *cfg,
                       const struct jv *tags, char *const *chain, struct err *err)
{
        _cleanup_strv_ char **paths = string_or_list(jv_str(entry) ? entry : jv_get(entry, "path"));
        _cleanup_strv_ char **resolved = NULL, **env_files = NULL;
        _cleanup_free_ char *pd = NULL;
        _cleanup_jv_ struct jv *env = NULL, *imported = NULL;
        const char *dir = jv_get_str(entry, "project_directory");
        struct cfile *files = NULL;
        struct lctx sub;
        size_t n = 0;
        int r;

        if (!paths)
                return err_set(err, -EINVAL, "include: a path is required");
        for (size_t i = 0; paths[i]; i++) {
                _cleanup_free_ char *abs = compose_path_abs(l->workdir, paths[i]);
                util_strv_push(&resolved, abs);
        }
        pd = !dir || !*dir ? dir_of(resolved[0]) : compose_path_abs(l->workdir, dir);
        r = include_cycle(chain, resolved[0], err);
        if (r >= 0)
                r = include_env_files(l, entry, pd, &env_files, err);
        if (r < 0)
                return r;
        /* The including project's variables win over the include's env files. */
        env = jv_copy(l->env);
        r = load_env_files(l->p, env_files, env, err);
        if (r >= 0)
                r = read_files(resolved, &files, &n, err);
        if (r < 0)
                return r;
        sub = (struct lctx){.p = l->p, .workdir = pd, .env = env, .included = chain};
        r = load_model(&sub, files, n, &imported, err);
        cfiles_free(files, n);
        if (r < 0)
                return r;
        return import_resources(imported, cfg, tags, err);
}

static int apply_include(struct lctx *l, const char *file, struct jv *cfg, const struct jv *tags,
                         struct err *err)
{
        struct jv *inc = jv_get(cfg, "include");
        _cleanup_strv_ char **chain = util_strv_dup(l->included);

        if (!compose_has(cfg, "include"))
                return 0;
        if (inc && jv_type(inc) != JV_ARRAY)
                return err_set(err, -EINVAL, "%s: `include` must be a list", file);
        util_strv_push(&chain, file);
        for (size_t i = 0; i < jv_len(inc); i++) {
                int r = include_one(l, jv_at(inc, i), cfg, tags, chain, err);
                if (r < 0)
                        return r;
        }
        jv_del(cfg, "include");
        return 0;
}

/* cycleTracker.Add: "Circular reference:" and the chain, when (file, service) is in it. */
static int tracker_add(const struct tracker *t, const char *file, const char *service,
                       struct err *err)
{
        _cleanup_free_ const struct tracker **chain = NULL;
        struct util_buf b = {0};
        size_t n = 0, i;
        bool found = false;
        int r;

        for (const struct tracker *c = t; c; c = c->prev, n++)
                found = found || (!strcmp(c->file, file) && !strcmp(c->service, service));
        if (!found)
                return 0;
        chain = calloc(n, sizeof(*chain));
        if (!chain)
                util_oom();
        i = n;
        for (const struct tracker *c = t; c; c = c->prev)
                chain[--i] = c;
        util_buf_add(&b, "Circular reference:", 19);
        for (i = 0; i <= n; i++) {
                const char *s = i < n ? chain[i]->service : service;
                const char *f = i < n ? chain[i]->file : file;
                _cleanup_free_ char *line =
                        util_printf("\n  %s%s in %s", i ? "extends " : "", s, f);
                if (!line)
                        util_oom();
                util_buf_add(&b, line, strlen(line));
        }
        r = err_set(err, -EINVAL, "%s", util_buf_str(&b));
        util_buf_free(&b);
        return r;
}

static int extend_service(struct lctx *l, const char *file, const char *name, struct jv *services,
                          const struct jv *tags, const struct tracker *t, struct err *err);

/* The services of the file an extends names: loaded alone, its relative paths made absolute
 * against its own directory. */
static int extends_file(struct lctx *l, const char *ref_path, struct jv **ret_dict,
                        struct jv **ret_tags, struct err *err);

static int extend_from(struct lctx *l, const char *file, const char *name, struct jv *services,
                       const struct jv *tags, const struct tracker *t, const char *ref,
                       const char *ext_file, struct jv **ret_base, struct err *err)
{
        _cleanup_jv_ struct jv *dict = NULL, *ext_tags = NULL;
        _cleanup_free_ char *ref_path = NULL, *dir = NULL;
        struct tracker here;
        struct lctx sub;
        struct jv *base_services = services;
        int r;

        if (ext_file) {
                ref_path = compose_path_abs(l->workdir, ext_file);
                r = extends_file(l, ref_path, &dict, &ext_tags, err);
                if (r < 0)
                        return r;
                base_services = jv_get(dict, "services");
                if (!compose_has(dict, "services"))
                        return err_set(err, -EINVAL,
                                       "cannot extend service \"%s\" in %s: no services section",
                                       name, ref_path);
                if (jv_type(base_services) != JV_OBJECT)
                        return err_set(err, -EINVAL,
                                       "cannot extend service \"%s\" in %s: services must be a "
                                       "mapping",
                                       name, ref_path);
                if (!compose_has(base_services, ref))
                        return err_set(err, -EINVAL,
                                       "cannot extend service \"%s\" in %s: service \"%s\" not "
                                       "found in %s",
                                       name, file, ref, ext_file);
                file = ref_path;
                tags = ext_tags;
        } else if (!compose_has(services, ref)) {
                return err_set(err, -EINVAL,
                               "cannot extend service \"%s\" in %s: service \"%s\" not found", name,
                               file, ref);
        }
        r = tracker_add(t, file, name, err);
        if (r < 0)
                return r;
        here = (struct tracker){.file = file, .service = name, .prev = t};
        dir = ref_path ? dir_of(ref_path) : NULL;
        sub = *l;
        if (dir)
                sub.workdir = dir;
        r = extend_service(&sub, file, ref, base_services, tags, &here, err);
        if (r < 0)
                return r;
        *ret_base = jv_copy(jv_get(base_services, ref));
        return 0;
}

/* applyServiceExtends: the service named extends, merged over a copy of what it extends (that
 * one's own extends applied first), this file's !reset tags removing from the copy. */
static int extend_service(struct lctx *l, const char *file, const char *name, struct jv *services,
                          const struct jv *tags, const struct tracker *t, struct err *err)
{
        struct jv *svc = jv_get(services, name), *ext;
        struct compose_cpath path = {.seg = {"services", "x"}, .n = 2};
        _cleanup_jv_ struct jv *base = NULL, *wrap = NULL;
        const char *ref, *ext_file;
        int r;

        if (!svc)
                return 0;
        if (jv_type(svc) != JV_OBJECT)
                return err_set(err, -EINVAL, "services.%s must be a mapping", name);
        if (!compose_has(svc, "extends"))
                return 0;
        ext = jv_get(svc, "extends");
        ref = jv_str(ext) ? jv_str(ext) : jv_get_str(ext, "service");
        ext_file = jv_str(ext) ? NULL : jv_get_str(ext, "file");
        if (!ref)
                return err_set(err, -EINVAL, "extends.%s.service is required", name);
        r = extend_from(l, file, name, services, tags, t, ref, ext_file, &base, err);
        if (r < 0)
                return r;
        if (!base)
                return 0;
        wrap = jv_new_object();
        jv_set(wrap, "services", jv_new_object());
        jv_set(jv_get(wrap, "services"), name, TAKE_PTR(base));
        compose_reset_apply(wrap, tags);
        base = jv_ref(jv_get(jv_get(wrap, "services"), name));
        r = compose_merge(&base, jv_get(services, name), &path, err);
        if (r < 0)
                return r;
        jv_del(base, "extends");
        jv_set(services, name, TAKE_PTR(base));
        return 0;
}

static int apply_extends(struct lctx *l, const char *file, struct jv *cfg, const struct jv *tags,
                         struct err *err)
{
        struct jv *services = jv_get(cfg, "services");
        _cleanup_strv_ char **names = NULL;

        if (!compose_has(cfg, "services"))
                return 0;
        if (jv_type(services) != JV_OBJECT)
                return err_set(err, -EINVAL, "services must be a mapping");
        names = jv_keys_ordered(services);
        for (size_t i = 0; names[i]; i++) {
                int r = extend_service(l, file, names[i], services, tags, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A file's tree: parsed, interpolated, checked, `version` dropped. */
static int file_tree(struct lctx *l, const struct cfile *f, struct jv **ret_tree,
                     struct jv **ret_tags, struct err *err)
{
        _cleanup_jv_ struct jv *tree = NULL, *pos = NULL, *tags = NULL;
        _cleanup_strv_ char **warnings = NULL;
        int r = compose_yaml_load_tags(f->path, f->text, f->len, &tree, &pos, &tags, err);

        if (r == -ENODATA) {
                /* A file without a document adds nothing; alone it is an empty project. */
                err_clear(err);
                tree = jv_new_object();
                pos = jv_new_object();
                tags = jv_new_object();
                r = 0;
        }
        if (r >= 0)
                r = compose_interpolate(tree, pos, env_lookup, (void *)l->env, &warnings, err);
        if (r >= 0) {
                add_warnings(l->p, warnings);
                r = compose_check_file(f->path, tree, pos, &l->p->warnings, err);
        }
        if (r < 0)
                return r;
        if (compose_has(tree, "version")) {
                if (!l->for_extends && !util_strv_contains(l->p->versioned, f->path)) {
                        _cleanup_free_ char *w = util_printf(
                                "%s: the attribute `version` is obsolete, it will be ignored, "
                                "please remove it to avoid potential confusion",
                                f->path);
                        if (!w)
                                util_oom();
                        add_warning(l->p, w);
                        util_strv_push(&l->p->versioned, f->path);
                }
                jv_del(tree, "version");
        }
        *ret_tree = TAKE_PTR(tree);
        *ret_tags = TAKE_PTR(tags);
        return 0;
}

/* processRawYaml: one file onto *dict. */
static int load_file(struct lctx *l, const struct cfile *f, struct jv **dict, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL, *tags = NULL;
        struct compose_cpath root = {.n = 0};
        int r = file_tree(l, f, &cfg, &tags, err);

        if (r >= 0 && !l->for_extends)
                r = apply_include(l, f->path, cfg, tags, err);
        if (r < 0)
                return r;
        compose_reset_apply(*dict, tags);
        if (!l->for_extends) {
                r = apply_extends(l, f->path, cfg, tags, err);
                if (r < 0)
                        return r;
        }
        r = compose_merge(dict, cfg, &root, err);
        if (r >= 0)
                r = compose_unicity(*dict, err);
        if (r >= 0)
                r = compose_canonical(*dict, &l->p->warnings, err);
        if (r >= 0)
                r = compose_unicity(*dict, err);
        return r;
}

static int extends_file(struct lctx *l, const char *ref_path, struct jv **ret_dict,
                        struct jv **ret_tags, struct err *err)
{
        _cleanup_free_ char *dir = dir_of(ref_path);
        struct cfile f = {.path = xstrdup(ref_path)};
        struct lctx sub = {.p = l->p, .workdir = dir, .env = l->env, .for_extends = true};
        _cleanup_jv_ struct jv *dict = jv_new_object(), *cfg = NULL, *tags = NULL;
        struct compose_cpath root = {.n = 0};
        int r = read_text(ref_path, &f.text, &f.len, err);

        if (r >= 0)
                r = file_tree(&sub, &f, &cfg, &tags, err);
        free(f.path);
        free(f.text);
        if (r >= 0)
                r = compose_merge(&dict, cfg, &root, err);
        if (r >= 0)
                r = compose_unicity(dict, err);
        if (r >= 0)
                r = compose_canonical(dict, &l->p->warnings, err);
        if (r >= 0)
                r = compose_unicity(dict, err);
        if (r >= 0)
                r = compose_resolve_paths(dict, dir, l->p->home, &l->p->warnings, err);
        if (r < 0)
                return r;
        *ret_dict = TAKE_PTR(dict);
        *ret_tags = TAKE_PTR(tags);
        return 0;
}

/* loadYamlModel: the files merged in order, then defaults, paths and bare environment keys. */
static int load_model(struct lctx *l, const struct cfile *files, size_t n, struct jv **ret,
                      struct err *err)
{
        _cleanup_jv_ struct jv *dict = jv_new_object();
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++)
                r = load_file(l, &files[i], &dict, err);
        if (r >= 0)
                r = compose_defaults(dict, err);
        if (r >= 0)
                r = compose_resolve_paths(dict, l->workdir, l->p->home, &l->p->warnings, err);
        if (r < 0)
                return r;
        compose_resolve_env(dict, l->env);
        *ret = TAKE_PTR(dict);
        return 0;
}

/* ---- compose_load ---- */

static int setup(struct proj *p, char ***ret_paths, char **ret_dir, struct err *err)
{
        _cleanup_strv_ char **first = NULL, **second = NULL, **paths = NULL;
        _cleanup_free_ char *wd = NULL, *dir = NULL;
        const char *f0 = p->o->files && p->o->files[0] && strcmp(p->o->files[0], "-")
                                 ? p->o->files[0]
                                 : NULL;
        int r;

        env_init(p);
        /* The first .env comes from where the files are not known yet, as in docker compose:
         * the project directory, the first -f file's, or the working directory. */
        if (p->o->project_dir) {
                wd = compose_path_abs(p->cwd, p->o->project_dir);
        } else if (f0) {
                _cleanup_free_ char *abs = compose_path_abs(p->cwd, f0);
                wd = dir_of(abs);
        } else {
                wd = xstrdup(p->cwd);
        }
        r = dot_env(p, wd, &first);
        if (r >= 0)
                r = load_env_files(p, first, p->env, err);
        if (r >= 0)
                r = config_paths(p, wd, &paths, err);
        if (r < 0)
                return r;
        if (p->o->project_dir)
                dir = xstrdup(wd);
        for (size_t i = 0; !dir && paths[i]; i++)
                if (strcmp(paths[i], "-"))
                        dir = dir_of(paths[i]);
        if (!dir)
                dir = xstrdup(p->cwd);
        /* ... and again from the project directory once it is known. */
        if (!p->o->env_files) {
                r = dot_env(p, dir, &second);
                if (r >= 0 && second && !(first && !strcmp(first[0], second[0])))
                        r = load_env_files(p, second, p->env, err);
                if (r < 0)
                        return r;
        }
        *ret_paths = TAKE_PTR(paths);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static char **profiles_of(struct proj *p)
{
        const char *env = jv_get_str(p->env, "COMPOSE_PROFILES");
        char **out = NULL;

        if (p->o->profiles)
                return util_strv_dup(p->o->profiles);
        for (const char *s = env ? env : "";;) {
                size_t l = strcspn(s, ",");
                _cleanup_free_ char *one = strndup(s, l);
                char *b, *e;
                if (!one)
                        util_oom();
                for (b = one; isspace((unsigned char)*b); b++)
                        ;
                for (e = b + strlen(b); e > b && isspace((unsigned char)e[-1]); e--)
                        ;
                *e = '\0';
                util_strv_push(&out, b);
                if (!s[l])
                        break;
                s += l + 1;
        }
        return out;
}

static int load(struct proj *p, struct jv **ret_model, struct err *err)
{
        _cleanup_strv_ char **paths = NULL, **profiles = NULL;
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_jv_ struct jv *dict = NULL;
        _cleanup_strv_ char **keys = NULL;
        struct cfile *files = NULL;
        struct lctx top;
        struct compose_norm norm;
        size_t n = 0;
        int r = setup(p, &paths, &dir, err);

        if (r >= 0)
                r = read_files(paths, &files, &n, err);
        if (r < 0)
                return r;
        r = project_name(p, files, n, dir, &name, err);
        top = (struct lctx){.p = p, .workdir = dir, .env = p->env};
        if (r >= 0)
                r = load_model(&top, files, n, &dict, err);
        cfiles_free(files, n);
        if (r < 0)
                return r;
        keys = jv_keys_ordered(dict);
        if (!keys[0])
                return err_set(err, -EINVAL, "empty compose file");
        profiles = profiles_of(p);
        norm = (struct compose_norm){
                .name = name,
                .workdir = dir,
                .env = p->env,
                .profiles = profiles,
                .services = p->o->services,
                .warnings = &p->warnings,
        };
        r = compose_normalize(&norm, dict, ret_model, err);
        if (r >= 0 && p->o->ret_project_dir && !(*p->o->ret_project_dir = strdup(dir)))
                util_oom();
        if (r >= 0 && p->o->ret_files && !(*p->o->ret_files = util_strv_dup(paths)))
                util_oom();
        return r;
}

int compose_load(const struct compose_load_opts *o, struct jv **ret_model, char ***ret_warnings,
                 struct err *err)
{
        struct proj p = {.o = o};
        struct jv *model = NULL;
        int r;

        p.cwd = o->cwd ? compose_path_abs("/", o->cwd) : getcwd(NULL, 0);
        if (!p.cwd)
                return err_errno(err, "getting the working directory");
        r = load(&p, &model, err);
        if (r >= 0) {
                *ret_model = model;
                if (ret_warnings) {
                        if (!p.warnings && !(p.warnings = calloc(1, sizeof(char *))))
                                util_oom();
                        *ret_warnings = TAKE_PTR(p.warnings);
                }
                r = 0;
        }
        jv_put(p.env);
        util_strv_free(p.warnings);
        util_strv_free(p.versioned);
        free(p.cwd);
        return r;
}
