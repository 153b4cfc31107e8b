#pragma once
#include <stdbool.h>

#include "base/err.h"

/* Global options, parsed before the command name. */
struct cli {
        const char *root;    /* --root, $HAWSER_ROOT, default /var/lib/hawser */
        const char *runroot; /* --runroot, $HAWSER_RUNROOT, default /run/hawser */
        const char *self;    /* absolute path of the hawser binary (/proc/self/exe) */
        int fail_code;       /* exit code main uses when a command returns < 0 (default 1) */
        bool usage;          /* the error is a usage error: printed as "hawser: <msg>" */
        bool printed;        /* the command already printed its errors (one per object) */
        char *argv_area;     /* our argv strings, contiguous: --init retitles itself there */
        size_t argv_len;
        char **argv; /* main's argv, for re-executing (core/selfexe.h) */
        bool sealed; /* running from a sealed copy of the binary (core/selfexe.h) */
};

/* A command: argv[0] is the command name. Returns the process exit code (>= 0) or a
 * negative errno with err set; main then prints "Error: <msg>" (or "hawser: <msg>" for usage
 * errors) and exits with cli->fail_code. Commands print their normal output themselves. */
typedef int (*cli_cmd_fn)(struct cli *cli, int argc, char **argv, struct err *err);

/* Records a usage error (wrong argument count, bad flag) in Docker's shape:
 * "\"hawser rm\" requires at least 1 argument.\nSee 'hawser rm --help'."; returns -EINVAL. */
int cli_usage_error(struct cli *cli, const char *cmd, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* One subcommand of a group (`network create`, `volume ls`, ...). */
struct cli_sub {
        const char *name;
        cli_cmd_fn fn;
};

/* Runs argv[1] from subs (n entries; argv[0] is the group). Usage errors name the group and
 * list the subcommands (usage_list, e.g. "create, ls, rm"). */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_sub *subs, size_t n,
                 const char *usage_list, int argc, char **argv, struct err *err);
/* Path under --root / --runroot; malloc'd. */
char *cli_root_path(const struct cli *cli, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
char *cli_runroot_path(const struct cli *cli, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Runs fn on refs[0..n) as Docker's removal commands do: each success prints the ref, each
 * failure "Error: ..." on stderr and the loop goes on; the last failure is returned (with
 * cli->printed set, so main prints nothing more). */
int cli_each_ref(struct cli *cli, char *const *refs, int n,
                 int (*fn)(const struct cli *cli, const char *ref, void *ud, struct err *err),
                 void *ud, struct err *err);
