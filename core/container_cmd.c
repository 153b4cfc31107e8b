/* The `container` command group (Docker's: every container verb under one name) and
 * `container prune`; `image inspect` and `container inspect` narrow inspect to one kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "commit.h"
#include "container.h"
#include "network.h"
#include "opt.h"
#include "prune.h"
#include "teardown.h"

int container_prune(struct cli *cli, const struct prune_filter *f, long long *reclaimed,
                    struct err *err)
{
        struct container **all = NULL;
        bool header = false;
        int r = teardown_list(cli, &all, err);

        if (r < 0)
                return r;
        for (struct container **p = all; *p; p++) {
                _cleanup_free_ char *upper = util_printf("%s/upper", (*p)->dir);
                struct err e = {0};
                int64_t created = 0;
                long long size;
                /* Running, or unreadable with its monitor alive: rm -f is for those. */
                if (container_is_running(*p) || container_is_restarting(*p) ||
                    ((*p)->unreadable && container_monitor_by_socket(cli, (*p)->id) > 0))
                        continue;
                if (jv_get_str((*p)->doc, "Created"))
                        util_parse_time(jv_get_str((*p)->doc, "Created"), &created);
                if (f && !prune_filter_match(f, jv_path((*p)->doc, "Config.Labels"), created))
                        continue;
                size = upper ? fs_tree_size(upper) : 0;
                if (teardown_remove(cli, *p, &e) < 0) {
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                        continue;
                }
                if (!header)
                        printf("Deleted Containers:\n");
                header = true;
                printf("%s\n", (*p)->id);
                *reclaimed += size > 0 ? size : 0;
        }
        container_list_free(all);
        if (header)
                printf("\n");
        return 0;
}

static int cmd_container_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct prune_filter f = {0};
        long long total = 0;
        int r = prune_begin(cli, "container prune", argc, argv, " until label label! ",
                            "WARNING! This will remove all stopped containers.", NULL, NULL, &f,
                            err);

        if (r <= 0)
                return r;
        r = container_prune(cli, &f, &total, err);
        prune_filter_free(&f);
        if (r >= 0)
                prune_print_total(total);
        return r < 0 ? r : 0;
}

/* inspect narrowed to one kind: `container inspect`, `image inspect`. */
static int inspect_as(struct cli *cli, const char *type, int argc, char **argv, struct err *err)
{
        _cleanup_free_ char **v = calloc((size_t)argc + 3, sizeof(char *));

        if (!v)
                return err_set(err, -ENOMEM, "inspecting");
        v[0] = argv[0];
        v[1] = "--type";
        v[2] = (char *)type;
        memcpy(v + 3, argv + 1, (size_t)(argc - 1) * sizeof(char *));
        return cmd_inspect(cli, argc + 2, v, err);
}

int container_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        return inspect_as(cli, "container", argc, argv, err);
}

int image_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        return inspect_as(cli, "image", argc, argv, err);
}

int container_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"attach", cmd_attach},
                {"commit", commit_cmd_commit},
                {"cp", cmd_cp},
                {"create", cmd_create},
                {"diff", commit_cmd_diff},
                {"exec", cmd_exec},
                {"export", commit_cmd_export},
                {"inspect", container_cmd_inspect},
                {"kill", cmd_kill},
                {"logs", cmd_logs},
                {"ls", cmd_ps},
                {"list", cmd_ps},
                {"ps", cmd_ps},
                {"pause", cmd_pause},
                {"port", network_cmd_port},
                {"prune", cmd_container_prune},
                {"rename", cmd_rename},
                {"restart", cmd_restart},
                {"rm", cmd_rm},
                {"remove", cmd_rm},
                {"run", cmd_run},
                {"start", cmd_start},
                {"stats", cmd_stats},
                {"stop", cmd_stop},
                {"top", cmd_top},
                {"unpause", cmd_unpause},
                {"update", cmd_update},
                {"wait", cmd_wait},
        };

        return cli_dispatch(cli, "container", sub, ARRAY_SIZE(sub),
                            "attach, commit, cp, create, diff, exec, export, inspect, kill, logs, "
                            "ls, pause, port, prune, rename, restart, rm, run, start, stats, "
                            "stop, top, unpause, update, wait",
                            argc, argv, err);
}
