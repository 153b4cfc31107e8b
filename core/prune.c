#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cli.h"
#include "opt.h"
#include "prune.h"

int prune_filter_parse(char *const *args, const char *accepted, struct prune_filter *f,
                       struct err *err)
{
        *f = (struct prune_filter){.dangling = -1};
        for (char *const *a = args; a && *a; a++) {
                const char *eq = strchr(*a, '='), *val = eq ? eq + 1 : NULL;
                char key[64], pad[80];
                int b;
                if (!eq)
                        return err_set(err, -EINVAL, "bad format of filter (expected name=value)");
                snprintf(key, sizeof(key), "%.*s", (int)(eq - *a), *a);
                snprintf(pad, sizeof(pad), " %s ", key);
                if (!*key || !strstr(accepted, pad))
                        return err_set(err, -EINVAL, "invalid filter '%s'", key);
                if (!strcmp(key, "until")) {
                        if (util_parse_docker_time(val, &f->until) < 0)
                                return err_set(err, -EINVAL,
                                               "failed to parse value as time or duration: \"%s\"",
                                               val);
                } else if (!strcmp(key, "dangling")) {
                        b = util_parse_go_bool(val);
                        if (b < 0)
                                return err_set(err, -EINVAL,
                                               "invalid filter 'dangling=%s': strconv.ParseBool: "
                                               "parsing \"%s\": invalid syntax",
                                               val, val);
                        f->dangling = b;
                } else if (util_strv_push(!strcmp(key, "label") ? &f->labels : &f->not_labels,
                                          val) < 0) {
                        return err_set(err, -ENOMEM, "parsing filters");
                }
        }
        return 0;
}

bool prune_label_matches(const struct jv *labels, const char *want)
{
        const char *eq = strchr(want, '=');
        _cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
        const struct jv *v = key ? jv_get(labels, key) : NULL;

        if (!v)
                return false;
        return !eq || (jv_str(v) && !strcmp(jv_str(v), eq + 1));
}

bool prune_filter_match(const struct prune_filter *f, const struct jv *labels, int64_t created_ns)
{
        if (f->until && (!created_ns || created_ns >= f->until))
                return false;
        for (char **l = f->labels; l && *l; l++)
                if (!prune_label_matches(labels, *l))
                        return false;
        for (char **l = f->not_labels; l && *l; l++)
                if (prune_label_matches(labels, *l))
                        return false;
        return true;
}

void prune_filter_free(struct prune_filter *f)
{
        util_strv_free(f->labels);
        util_strv_free(f->not_labels);
        f->labels = f->not_labels = NULL;
}

bool prune_confirm(const char *warning)
{
        char answer[16] = "";

        fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning);
        return fgets(answer, sizeof(answer), stdin) && (answer[0] == 'y' || answer[0] == 'Y');
}

int prune_begin(struct cli *cli, const char *cmd, int argc, char **argv, const char *accepted,
                const char *warning, const char *warning_all, bool *all, struct prune_filter *f,
                struct err *err)
{
        struct {
                bool force, all;
                char **filters;
        } o = {0};
        static const struct opt_def with_all[] = {
                {"all", 'a', OPT_BOOL, offsetof(__typeof__(o), all)},
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"filter", 0, OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        const struct opt_def *defs = warning_all ? with_all : with_all + 1;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return k < 0 ? cli_usage_error(cli, cmd, err, "%s", err->msg)
                             : cli_usage_error(cli, cmd, err, "\"hawser %s\" accepts no arguments.",
                                               cmd);
        }
        r = prune_filter_parse(o.filters, accepted, f, err);
        opt_free_lists(defs, &o);
        if (r < 0)
                return r;
        if (f->dangling == 0)
                o.all = true;
        if (all)
                *all = o.all;
        if (!o.force && !prune_confirm(o.all && warning_all ? warning_all : warning)) {
                prune_filter_free(f);
                return 0;
        }
        return 1;
}

void prune_print_total(long long bytes)
{
        char size[32];

        util_human_size(bytes, size, sizeof(size));
        printf("Total reclaimed space: %s\n", size);
}
