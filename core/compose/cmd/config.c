/* `compose config`: the model as Compose v2 prints it (YAML or JSON, '$' escaped, the services
 * named and what they need), or lists of its services, volumes, networks, images, profiles
 * and config hashes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/cleanup.h"
#include "../../base/fs.h"
#include "../../base/util.h"
#include "../compose.h"
#include "ops.h"

struct config_flags {
        char *format, *output, *hash;
        bool quiet, services, volumes, networks, images, profiles;
};

/* Removes the members of model's section (networks, volumes, ...) that used does not name,
 * and the section when none is left (v2 omits an empty one). */
static void keep_only(struct jv *model, const char *section, char *const *used)
{
        struct jv *sec = jv_get(model, section);
        _cleanup_strv_ char **keys = jv_keys(sec);
        size_t left = 0;

        for (char **k = keys; k && *k; k++) {
                if (util_strv_contains(used, *k))
                        left++;
                else
                        jv_del(sec, *k);
        }
        if (sec && !left)
                jv_del(model, section);
}

/* The sources of a service's long-form list (volumes, secrets, configs) of a type. */
static void sources_of(const struct jv *list, const char *type, char ***used)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                const struct jv *e = jv_at(list, i);
                const char *src = jv_get_str(e, "source");
                if (src && (!type || !strcmp(jv_get_str(e, "type") ?: "volume", type)))
                        util_strv_push(used, src);
        }
}

/* The model v2's config prints for the selected services: the others and what only they use
 * left out (WithSelectedServices, WithoutUnnecessaryResources), and hawser's own keys. */
static struct jv *config_model(const struct project *p, char *const *selected)
{
        struct jv *model = jv_copy(p->model);
        _cleanup_strv_ char **keys = jv_keys(model), **svcs = jv_keys(jv_get(model, "services"));
        _cleanup_strv_ char **nets = NULL, **vols = NULL, **secrets = NULL, **configs = NULL;

        for (char **k = keys; k && *k; k++)
                if (!strncmp(*k, "x-hawser-", 9))
                        jv_del(model, *k);
        for (char **s = svcs; s && *s; s++) {
                const struct jv *svc = jv_get(jv_get(model, "services"), *s);
                _cleanup_strv_ char **n = NULL;
                if (!util_strv_contains(selected, *s)) {
                        jv_del(jv_get(model, "services"), *s);
                        continue;
                }
                n = jv_keys(jv_get(svc, "networks"));
                for (char **x = n; x && *x; x++)
                        util_strv_push(&nets, *x);
                sources_of(jv_get(svc, "volumes"), "volume", &vols);
                sources_of(jv_get(svc, "secrets"), NULL, &secrets);
                sources_of(jv_get(svc, "configs"), NULL, &configs);
        }
        keep_only(model, "networks", nets);
        keep_only(model, "volumes", vols);
        keep_only(model, "secrets", secrets);
        keep_only(model, "configs", configs);
        return model;
}

/* v2 escapes every '$' of the printed model, so that it reads back the same. */
static char *escape_dollars(const char *s)
{
        struct util_buf b = {0};
        char *out;

        for (; *s; s++)
                util_buf_add(&b, *s == '$' ? "$$" : s, *s == '$' ? 2 : 1);
        out = strdup(util_buf_str(&b));
        util_buf_free(&b);
        return out;
}

static int config_print(const struct project *p, const struct config_flags *o,
                        char *const *selected, struct err *err)
{
        _cleanup_jv_ struct jv *model = config_model(p, selected);
        _cleanup_free_ char *text = NULL, *escaped = NULL;

        if (!strcmp(o->format, "json")) {
                /* v2 marshals a map there: the top-level keys sorted. */
                _cleanup_jv_ struct jv *sorted = jv_new_object();
                _cleanup_strv_ char **keys = jv_keys(model);
                for (char **k = keys; k && *k; k++)
                        jv_set(sorted, *k, jv_ref(jv_get(model, *k)));
                text = strdup(jv_to_string(sorted, false));
        }
        if (strcmp(o->format, "json"))
                text = compose_emit_yaml(model);
        escaped = text ? escape_dollars(text) : NULL;
        if (!escaped)
                return err_set(err, -ENOMEM, "config");
        if (o->quiet)
                return 0;
        if (o->output && *escaped)
                return fs_write_atomic(o->output, escaped, strlen(escaped), 0644, err);
        fputs(escaped, stdout);
        return 0;
}

static void print_sorted_keys(const struct jv *obj, bool quiet)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        for (char **k = keys; !quiet && k && *k; k++)
                printf("%s\n", *k);
}

static int config_hash(const struct project *p, const char *which, bool quiet, struct err *err)
{
        _cleanup_strv_ char **names = NULL;

        if (strcmp(which, "*")) {
                _cleanup_free_ char *copy = strdup(which);
                char *save = NULL;
                for (char *s = copy ? strtok_r(copy, ",", &save) : NULL; s;
                     s = strtok_r(NULL, ",", &save))
                        util_strv_push(&names, s);
        } else {
                names = jv_keys(jv_get(p->model, "services"));
        }
        util_strv_sort(names);
        for (char **s = names; s && *s; s++) {
                _cleanup_free_ char *hash = NULL;
                if (!project_service(p, *s))
                        return err_set(err, -ENOENT, "no such service: %s", *s);
                hash = service_hash(project_service(p, *s));
                if (!hash)
                        return err_set(err, -ENOMEM, "config --hash");
                if (!quiet)
                        printf("%s %s\n", *s, hash);
        }
        return 0;
}

static void config_profiles(const struct project *p, char *const *selected, bool quiet)
{
        const struct jv *all = jv_get(p->model, "x-hawser-profiles");
        _cleanup_strv_ char **set = NULL;

        /* Every service's profiles, the disabled ones' too, when the loader kept them. */
        for (size_t i = 0; i < jv_len(all); i++)
                if (!util_strv_contains(set, jv_str(jv_at(all, i)) ?: ""))
                        util_strv_push(&set, jv_str(jv_at(all, i)) ?: "");
        for (char *const *s = selected; !all && s && *s; s++) {
                const struct jv *pr = jv_get(project_service(p, *s), "profiles");
                for (size_t i = 0; i < jv_len(pr); i++)
                        if (!util_strv_contains(set, jv_str(jv_at(pr, i)) ?: ""))
                                util_strv_push(&set, jv_str(jv_at(pr, i)) ?: "");
        }
        util_strv_sort(set);
        for (char **s = set; !quiet && s && *s; s++)
                printf("%s\n", *s);
}

static int config_run(const struct project *p, const struct config_flags *o, char *const *names,
                      struct err *err)
{
        _cleanup_strv_ char **selected = NULL;
        int r;

        if (o->services) {
                for (char **s = p->services; !o->quiet && s && *s; s++)
                        printf("%s\n", *s);
                return 0;
        }
        if (o->volumes || o->networks) {
                _cleanup_jv_ struct jv *model = config_model(p, p->services);
                print_sorted_keys(jv_get(model, o->volumes ? "volumes" : "networks"), o->quiet);
                return 0;
        }
        if (o->hash)
                return config_hash(p, o->hash, o->quiet, err);
        r = project_select(p, names, true, &selected, err);
        if (r < 0)
                return r;
        if (o->profiles) {
                config_profiles(p, selected, o->quiet);
                return 0;
        }
        if (o->images) {
                for (char **s = selected; !o->quiet && *s; s++) {
                        _cleanup_free_ char *img = service_image(p, *s);
                        printf("%s\n", img ?: "");
                }
                return 0;
        }
        return config_print(p, o, selected, err);
}

int compose_config(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"format", 0, OPT_STR, offsetof(struct config_flags, format)},
                {"output", 'o', OPT_STR, offsetof(struct config_flags, output)},
                {"hash", 0, OPT_STR, offsetof(struct config_flags, hash)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct config_flags, quiet)},
                {"services", 0, OPT_BOOL, offsetof(struct config_flags, services)},
                {"volumes", 0, OPT_BOOL, offsetof(struct config_flags, volumes)},
                {"networks", 0, OPT_BOOL, offsetof(struct config_flags, networks)},
                {"images", 0, OPT_BOOL, offsetof(struct config_flags, images)},
                {"profiles", 0, OPT_BOOL, offsetof(struct config_flags, profiles)},
                OPT_END,
        };
        struct config_flags o = {.format = "yaml"};
        int n = ops_parse(p, "config", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (project_need_model(p, err) < 0)
                return -err->code;
        if (strcmp(o.format, "yaml") && strcmp(o.format, "json"))
                return err_set(err, -EINVAL, "unsupported format \"%s\"", o.format);
        fflush(stdout);
        return config_run(p, &o, argv + 1, err);
}
