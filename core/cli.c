#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"
#include "opt.h"

static char *vpath(const char *base, const char *fmt, va_list ap)
{
        char rel[PATH_MAX];

        vsnprintf(rel, sizeof(rel), fmt, ap);
        return util_printf("%s/%s", base, rel);
}

char *cli_root_path(const struct cli *cli, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = vpath(cli->root, fmt, ap);
        va_end(ap);
        return p;
}

char *cli_runroot_path(const struct cli *cli, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = vpath(cli->runroot, fmt, ap);
        va_end(ap);
        return p;
}

static bool is_flag_error(const char *msg)
{
        static const char *const starts[] = {"unknown flag", "unknown shorthand flag",
                                             "flag needs an argument", "invalid argument"};

        for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
                if (!strncmp(msg, starts[i], strlen(starts[i])))
                        return true;
        return false;
}

void cli_fail_status(struct cli *cli, int status)
{
        cli->failure = CLI_FAIL_STATUS;
        cli->status = status;
}

void cli_fail_client(struct cli *cli)
{
        cli->client_error = true;
}

void cli_print_safe(FILE *f, const char *prefix, const char *msg)
{
        fputs(prefix, f);
        for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
                if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
        fputc('\n', f);
}

void cli_print_daemon_error(const char *msg)
{
        cli_print_safe(stderr, "Error response from daemon: ", msg);
}

void cli_fail_printed(struct cli *cli, int status)
{
        cli->failure = CLI_FAIL_PRINTED;
        cli->status = status;
}

int cli_usage_error(struct cli *cli, const char *cmd, struct err *err, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        if (err->code == ECANCELED && opt_help_defs()) {
                printf("\nUsage:  hawser %s [OPTIONS]\n", cmd);
                opt_format_help(opt_help_defs(), stdout);
                cli->failure = CLI_FAIL_HELP;
                return -ECANCELED;
        }
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Docker's CLI: a flag it cannot parse is status 125, a wrong number of arguments 1. */
        cli->failure = is_flag_error(msg) ? CLI_FAIL_FLAG : CLI_FAIL_USAGE;
        return err_set(err, -EINVAL, "%s\nSee 'hawser %s --help'.", msg, cmd);
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_sub *subs, size_t n,
                 const char *usage_list, int argc, char **argv, struct err *err)
{
        if (argc >= 2 && !strcmp(argv[1], "--help")) {
                printf("\nUsage:  hawser %s COMMAND\n\nCommands: %s\n", group, usage_list);
                return 0;
        }
        if (argc < 2)
                return cli_usage_error(cli, group, err, "\"hawser %s\" requires a subcommand: %s",
                                       group, usage_list);
        for (size_t i = 0; i < n; i++)
                if (!strcmp(argv[1], subs[i].name))
                        return subs[i].fn(cli, argc - 1, argv + 1, err);
        return cli_usage_error(cli, group, err, "unknown command \"%s\" for \"hawser %s\"", argv[1],
                               group);
}

int cli_each_ref(struct cli *cli, char *const *refs, int n,
                 int (*fn)(const struct cli *cli, const char *ref, void *ud, struct err *err),
                 void *ud, struct err *err)
{
        int r = 0;

        for (int i = 0; i < n; i++) {
                struct err e = {0};
                int rr = fn(cli, refs[i], ud, &e);
                if (rr < 0) {
                        cli_print_daemon_error(e.msg);
                        cli_fail_printed(cli, 0);
                        r = err_set(err, -e.code, "%s", e.msg);
                        continue;
                }
                if (rr != CLI_EACH_SILENT)
                        printf("%s\n", refs[i]);
        }
        return r;
}
