#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "opt.h"

int opt_parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (!strcmp(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (!strcmp(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static const struct opt_def *find_long(const struct opt_def *defs, const char *name, size_t n)
{
        for (; defs->name; defs++)
                if (strlen(defs->name) == n && !strncmp(defs->name, name, n))
                        return defs;
        return NULL;
}

static const struct opt_def *find_short(const struct opt_def *defs, char c)
{
        for (; defs->name; defs++)
                if (defs->short_name == c)
                        return defs;
        return NULL;
}

static int store(const struct opt_def *d, char *val, const char *typed, void *target,
                 struct err *err)
{
        char *field = (char *)target + d->offset;
        char flag[160];
        long long n;

        /* pflag names a flag with a shorthand as "-i, --interactive" whatever was typed. */
        if (d->short_name)
                snprintf(flag, sizeof(flag), "-%c, --%s", d->short_name, d->name);
        else
                snprintf(flag, sizeof(flag), "--%s", d->name);
        (void)typed;

        switch (d->type) {
        case OPT_BOOL:
                if (opt_parse_bool(val ? val : "true", (bool *)field) < 0)
                        return err_set(err, -EINVAL,
                                       "invalid argument \"%s\" for \"%s\" flag: "
                                       "strconv.ParseBool: parsing \"%s\": invalid syntax",
                                       val, flag, val);
                return 0;
        case OPT_STR:
                *(char **)field = val;
                return 0;
        case OPT_LIST:
                if (util_strv_push((char ***)field, val) < 0)
                        return err_set(err, -ENOMEM, "parsing %s", flag);
                return 0;
        case OPT_INT:
                if (util_parse_ll(val, -(1LL << 62), 1LL << 62, &n) < 0)
                        return err_set(err, -EINVAL,
                                       "invalid argument \"%s\" for \"%s\" flag: "
                                       "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                       val, flag, val);
                *(long long *)field = n;
                return 0;
        }
        return -EINVAL;
}

static int parse_long(const struct opt_def *defs, int argc, char **argv, int *i, void *target,
                      struct err *err)
{
        char *name = argv[*i] + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt_def *d = find_long(defs, name, n);
        char flag[128];

        snprintf(flag, sizeof(flag), "--%.*s", (int)n, name);
        if (!d)
                return err_set(err, -EINVAL, "unknown flag: %s", flag);
        if (eq || d->type == OPT_BOOL)
                return store(d, eq ? eq + 1 : NULL, flag, target, err);
        if (*i + 1 >= argc)
                return err_set(err, -EINVAL, "flag needs an argument: %s", flag);
        (*i)++;
        return store(d, argv[*i], flag, target, err);
}

static int parse_short(const struct opt_def *defs, int argc, char **argv, int *i, void *target,
                       struct err *err)
{
        char *p = argv[*i] + 1;

        for (; *p; p++) {
                const struct opt_def *d = find_short(defs, *p);
                char flag[8];
                int r;

                snprintf(flag, sizeof(flag), "-%c", *p);
                if (!d)
                        return err_set(err, -EINVAL, "unknown shorthand flag: '%c' in -%s", *p, p);
                if (d->type == OPT_BOOL) {
                        r = store(d, p[1] == '=' ? p + 2 : NULL, flag, target, err);
                        if (r < 0 || p[1] == '=')
                                return r;
                        continue;
                }
                if (p[1])
                        return store(d, p[1] == '=' ? p + 2 : p + 1, flag, target, err);
                if (*i + 1 >= argc)
                        return err_set(err, -EINVAL, "flag needs an argument: '%c' in -%c", *p, *p);
                (*i)++;
                return store(d, argv[*i], flag, target, err);
        }
        return 0;
}

/* The table of the last --help: read by the CLI's top level, which prints the usage. */
static const struct opt_def *help_defs;

const struct opt_def *opt_help_defs(void)
{
        return help_defs;
}

void opt_format_help(const struct opt_def *defs, FILE *f)
{
        static const char *const kinds[] = {
                [OPT_BOOL] = "", [OPT_STR] = " string", [OPT_LIST] = " list", [OPT_INT] = " int"};

        fputs("\nOptions:\n", f);
        for (; defs->name; defs++) {
                if (defs->short_name)
                        fprintf(f, "  -%c, --%s%s\n", defs->short_name, defs->name,
                                kinds[defs->type]);
                else
                        fprintf(f, "      --%s%s\n", defs->name, kinds[defs->type]);
        }
}

int opt_parse(const struct opt_def *defs, int argc, char **argv, bool stop_at_positional,
              void *target, struct err *err)
{
        int i, r, npos = 0;

        /* Positionals are moved to the front as they are met, so the caller sees them in
         * order starting at the returned index, like pflag's interspersed parsing. */
        for (i = 0; i < argc; i++) {
                char *a = argv[i];

                if (!strcmp(a, "--")) {
                        for (i++; i < argc; i++)
                                argv[npos++] = argv[i];
                        break;
                }
                if (a[0] != '-' || a[1] == '\0') {
                        if (stop_at_positional) {
                                for (; i < argc; i++)
                                        argv[npos++] = argv[i];
                                break;
                        }
                        argv[npos++] = a;
                        continue;
                }
                /* Every command knows --help, as Docker's do, and nothing runs then. */
                if (!strcmp(a, "--help")) {
                        help_defs = defs;
                        return err_set(err, -ECANCELED, "help requested");
                }
                r = a[1] == '-' ? parse_long(defs, argc, argv, &i, target, err)
                                : parse_short(defs, argc, argv, &i, target, err);
                if (r < 0)
                        return r;
        }
        if (npos < argc)
                argv[npos] = NULL;
        return npos;
}

void opt_free_lists(const struct opt_def *defs, void *target)
{
        for (; defs->name; defs++) {
                char ***v;
                if (defs->type != OPT_LIST)
                        continue;
                v = (char ***)((char *)target + defs->offset);
                util_strv_free(*v);
                *v = NULL;
        }
}
