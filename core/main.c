#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "build.h"
#include "cni.h"
#include "cli.h"
#include "commands.h"
#include "commit.h"
#include "dnsd.h"
#include "image.h"
#include "monitor.h"
#include "oci.h"
#include "saveload.h"
#include "network.h"
#include "registry.h"
#include "volume.h"
#include "opt.h"

struct command {
        const char *name;
        cli_cmd_fn fn;
        int fail_code; /* Docker exits 125 when run/create/start/exec fail before the command */
};

static const struct command commands[] = {
        {"_dns", dnsd_cmd, 1},
        {"_monitor", monitor_cmd, 125},
        {"attach", cmd_attach, 1},
        {"build", build_cmd_build, 1},
        {"builder", build_cmd_builder, 1},
        {"commit", commit_cmd_commit, 1},
        {"completion", cmd_completion, 1},
        {"compose", compose_cmd, 1},
        {"container", container_cmd, 1},
        {"cp", cmd_cp, 1},
        {"create", cmd_create, 125},
        {"diff", commit_cmd_diff, 1},
        {"events", cmd_events, 1},
        {"exec", cmd_exec, 126},
        {"export", commit_cmd_export, 1},
        {"history", commit_cmd_history, 1},
        {"image", image_cmd, 1},
        {"images", image_cmd_images, 1},
        {"import", image_cmd_import, 1},
        {"info", cmd_info, 1},
        {"inspect", cmd_inspect, 1},
        {"kill", cmd_kill, 1},
        {"load", saveload_cmd_load, 1},
        {"login", registry_cmd_login, 1},
        {"logout", registry_cmd_logout, 1},
        {"logs", cmd_logs, 1},
        {"network", network_cmd, 1},
        {"pause", cmd_pause, 1},
        {"port", network_cmd_port, 1},
        {"ps", cmd_ps, 1},
        {"pull", registry_cmd_pull, 1},
        {"push", registry_cmd_push, 1},
        {"rename", cmd_rename, 1},
        {"restart", cmd_restart, 1},
        {"rm", cmd_rm, 1},
        {"rmi", image_cmd_rmi, 1},
        {"run", cmd_run, 125},
        {"save", saveload_cmd_save, 1},
        {"start", cmd_start, 1},
        {"stats", cmd_stats, 1},
        {"stop", cmd_stop, 1},
        {"system", cmd_system, 1},
        {"tag", image_cmd_tag, 1},
        {"top", cmd_top, 1},
        {"unpause", cmd_unpause, 1},
        {"update", cmd_update, 1},
        {"version", cmd_version, 1},
        {"volume", volume_cmd, 1},
        {"wait", cmd_wait, 1},
};

struct global_opts {
        char *root;
        char *runroot;
        bool version;
        bool help;
};

static const struct opt_def global_defs[] = {
        {"root", 0, OPT_STR, offsetof(struct global_opts, root)},
        {"runroot", 0, OPT_STR, offsetof(struct global_opts, runroot)},
        {"version", 'v', OPT_BOOL, offsetof(struct global_opts, version)},
        {"help", 'h', OPT_BOOL, offsetof(struct global_opts, help)},
        OPT_END,
};

static void usage(FILE *out)
{
        fprintf(out, "Usage:  hawser [OPTIONS] COMMAND\n\nA daemonless container runtime "
                     "with Docker's command line.\n\nOptions:\n"
                     "      --root string      state directory (default /var/lib/hawser)\n"
                     "      --runroot string   runtime directory (default /run/hawser)\n"
                     "  -v, --version          print version information and quit\n\n"
                     "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (commands[i].name[0] != '_')
                        fprintf(out, "  %s\n", commands[i].name);
}

static const char *env_or(const char *opt, const char *env, const char *dflt)
{
        const char *e = getenv(env);

        if (opt)
                return opt;
        return e && *e ? e : dflt;
}

static int dispatch(struct cli *cli, int argc, char **argv, struct err *err)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(commands[i].name, argv[0]))
                        continue;
                return commands[i].fn(cli, argc, argv, err);
        }
        cli->failure = CLI_FAIL_USAGE;
        return err_set(err, -EINVAL, "'%s' is not a hawser command.\nSee 'hawser --help'", argv[0]);
}

/* The one place a failed command becomes an exit status and a message (cli.h). */
static int failed(const struct cli *cli, const char *name, const struct err *err)
{
        int dflt = 1;

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(commands[i].name, name))
                        dflt = commands[i].fail_code;
        fflush(stdout);
        switch (cli->failure) {
        case CLI_FAIL_HELP:
                return 0;
        case CLI_FAIL_PRINTED:
                return cli->status ? cli->status : dflt;
        case CLI_FAIL_USAGE:
        case CLI_FAIL_FLAG:
                fprintf(stderr, "hawser: %s\n", err->msg);
                return cli->failure == CLI_FAIL_FLAG ? 125 : 1;
        case CLI_FAIL_STATUS:
        case CLI_FAIL_DEFAULT:
                break;
        }
        /* Docker's CLI relays what its daemon refused with the daemon's words; run and create
         * also name the command and point at its help. */
        if (!strcmp(name, "run") || !strcmp(name, "create")) {
                cli_print_safe(stderr,
                               cli->client_error || err->client
                                       ? "hawser: "
                                       : "hawser: Error response from daemon: ",
                               err->msg);
                fprintf(stderr, "\nRun 'hawser %s --help' for more information\n", name);
        } else if (cli->client_error || err->client) {
                cli_print_safe(stderr, "Error: ", err->msg);
        } else {
                cli_print_daemon_error(err->msg);
        }
        return cli->failure == CLI_FAIL_STATUS ? cli->status : dflt;
}

int main(int argc, char **argv)
{
        struct global_opts g = {0};
        struct cli cli = {0};
        struct err err = {0};
        char self[PATH_MAX];
        ssize_t n;
        int i, r;

        /* Installed under another name, hawser is another program (make install links them):
         * hawser-runtime, the OCI runtime (core/oci/); hawser-cni, the CNI plugin (core/cni/).
         * A runtime runs a CNI plugin without arguments and with CNI_COMMAND set, so a
         * conflist's "type": "hawser" (CNI_PATH/hawser) is the plugin too. */
        if (!strcmp(basename(argv[0]), "hawser-runtime"))
                return oci_main(argc, argv);
        if (!strcmp(basename(argv[0]), "hawser-cni") || (argc == 1 && getenv("CNI_COMMAND")))
                return cni_main(argc, argv);

        /* Global flags stop at the command name; opt_parse would reorder, so find it first. */
        for (i = 1; i < argc && argv[i][0] == '-'; i++)
                if (!strcmp(argv[i], "--root") || !strcmp(argv[i], "--runroot"))
                        i++;
        r = opt_parse(global_defs, (i < argc ? i : argc) - 1, argv + 1, false, &g, &err);
        /* hawser --help: the usage, exit 0 (opt_parse reports it as -ECANCELED). */
        if (r == -ECANCELED) {
                usage(stdout);
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "hawser: %s\nSee 'hawser --help'.\n", err.msg);
                return 125;
        }
        if (g.version) {
                printf("hawser version 0.1.0\n");
                return 0;
        }
        /* Alone, hawser prints its usage (on stderr) and exits 0, as Docker does. */
        if (g.help || i >= argc) {
                usage(g.help ? stdout : stderr);
                return 0;
        }
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        self[n > 0 ? n : 0] = '\0';
        cli.self = self;
        /* A monitor running from a sealed copy (core/monitor.c) is told where the binary is. */
        cli.sealed = !strncmp(self, "/memfd:", 7);
        if (cli.sealed && getenv("HAWSER_BINARY"))
                cli.self = getenv("HAWSER_BINARY");
        cli.argv = argv;
        cli.argv_area = argv[0];
        cli.argv_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
        cli.root = env_or(g.root, "HAWSER_ROOT", "/var/lib/hawser");
        cli.runroot = env_or(g.runroot, "HAWSER_RUNROOT", "/run/hawser");
        r = dispatch(&cli, argc - i, argv + i, &err);
        /* A group's verb fails with the verb's code (container run: 125). */
        return r >= 0 ? r
                      : failed(&cli,
                               i + 1 < argc && (!strcmp(argv[i], "container") ||
                                                !strcmp(argv[i], "image"))
                                       ? argv[i + 1]
                                       : argv[i],
                               &err);
}
