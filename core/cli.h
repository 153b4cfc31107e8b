#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"

/* How a command that returns < 0 failed. main maps each to the exit status and the shape of
 * the message in one table; a command never exits by itself. */
enum cli_failure {
        CLI_FAIL_DEFAULT, /* "Error response from daemon: <msg>" (what Docker's daemon would
                           * have refused; run and create: "hawser: Error response from
                           * daemon: <msg>" and a hint, as Docker's CLI); the command's failure
                           * status (1; 125 for run and create, which fail before the
                           * container's command; 126 exec) */
        CLI_FAIL_USAGE,   /* "hawser: <msg>"; 1 (wrong arguments, unknown command) */
        CLI_FAIL_FLAG,    /* "hawser: <msg>"; 125 (a flag Docker's CLI cannot parse) */
        CLI_FAIL_PRINTED, /* the command printed its errors (one per object); cli->status if
                           * set, else the command's failure status */
        CLI_FAIL_HELP,    /* --help: the help is printed; 0. Not an error. */
        CLI_FAIL_STATUS,  /* as DEFAULT; cli->status (a start's 125/126/127, start's 1) */
};

/* Global options, parsed before the command name. */
struct cli {
        const char *root;         /* --root, $HAWSER_ROOT, default /var/lib/hawser */
        const char *runroot;      /* --runroot, $HAWSER_RUNROOT, default /run/hawser */
        const char *self;         /* absolute path of the hawser binary (/proc/self/exe) */
        enum cli_failure failure; /* how a command that returns < 0 failed (main.c's table) */
        int status;               /* the exit status, for CLI_FAIL_STATUS (and PRINTED if set) */
        bool client_error;        /* the message is Docker's CLI's own: "Error: <msg>" */
        char *argv_area;          /* our argv strings, contiguous: --init retitles itself there */
        size_t argv_len;
        char **argv; /* main's argv, for re-executing (core/selfexe.h) */
        bool sealed; /* running from a sealed copy of the binary (core/selfexe.h) */
};

/* A command: argv[0] is the command name. Returns the process exit code (>= 0) or a
 * negative errno with err set and cli->failure saying how it failed (enum cli_failure);
 * main prints the message and picks the status. Commands print their normal output
 * themselves. */
typedef int (*cli_cmd_fn)(struct cli *cli, int argc, char **argv, struct err *err);

/* The failure is "Error: <msg>" with this exit status. */
void cli_fail_status(struct cli *cli, int status);
/* The command printed its errors itself; status 0 keeps the command's failure status. */
void cli_fail_printed(struct cli *cli, int status);
/* The failure is one Docker's CLI finds itself (inspect's "No such object", a summary after
 * per-object errors): "Error: <msg>", without the daemon's words. */
void cli_fail_client(struct cli *cli);
/* Prints one object's failure in a loop over many, as Docker's CLI relays the daemon's:
 * "Error response from daemon: <msg>". */
void cli_print_daemon_error(const char *msg);
/* Writes prefix, then msg with its control characters (but newline and tab) shown as \xNN, so
 * a name a container chose (a file, a link's target) cannot drive the terminal, then a
 * newline. */
void cli_print_safe(FILE *f, const char *prefix, const char *msg);

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
 * failure "Error response from daemon: ..." on stderr and the loop goes on; the last failure is returned
 * (CLI_FAIL_PRINTED: main prints nothing more). */
/* fn's return for a ref done without a word (nothing to print). */
#define CLI_EACH_SILENT 1
int cli_each_ref(struct cli *cli, char *const *refs, int n,
                 int (*fn)(const struct cli *cli, const char *ref, void *ud, struct err *err),
                 void *ud, struct err *err);
