#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "container.h"
#include "image.h"
#include "network.h"
#include "opt.h"
#include "prune.h"
#include "table.h"
#include "volume.h"
#include "teardown.h"

/* `hawser system prune`: stopped containers, unused networks, dangling (-a: unused) images,
 * with --volumes anonymous unused volumes, each through its own prune and --filter; then
 * whatever a killed hawser or monitor left in the kernel: veths, published-port elements
 * and leases without an owner. */
static int prune(struct cli *cli, bool all_images, bool volumes, const struct prune_filter *f,
                 struct err *err)
{
        struct container **all = NULL;
        struct err sweep = {0};
        long long total = 0;
        char size[32];
        int r = container_prune(cli, f, &total, err);

        if (r >= 0 && network_prune(cli, f, err) > 0)
                printf("\n");
        if (r >= 0 && volumes)
                r = volume_prune(cli, false, f->labels, f->not_labels, &total, err);
        if (r >= 0)
                r = image_prune(cli, all_images, f, &total, err);
        if (r < 0)
                return r;
        r = teardown_list(cli, &all, err);
        if (r < 0)
                return r;
        network_reclaim_orphans(cli, all);
        network_forget_names(cli, all);
        container_list_free(all);
        if (image_sweep(cli, &sweep) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", sweep.msg);
        util_human_size(total, size, sizeof(size));
        printf("Total reclaimed space: %s\n", size);
        return 0;
}

/* ---- system df ---- */

struct df_row {
        long long total, active, size, reclaim;
};

static void df_containers(const struct cli *cli, struct df_row *r)
{
        struct container **all = NULL;
        struct err e = {0};

        if (teardown_list(cli, &all, &e) < 0)
                return;
        for (struct container **p = all; *p; p++) {
                _cleanup_free_ char *upper = util_printf("%s/upper", (*p)->dir);
                long long sz = upper ? fs_tree_size(upper) : 0;
                bool running = container_is_running(*p);
                r->total++;
                r->active += running;
                r->size += sz;
                if (!running)
                        r->reclaim += sz;
        }
        container_list_free(all);
}

static void df_volumes(const struct cli *cli, struct df_row *r)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "volumes");
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *data = NULL;
                _cleanup_strv_ char **users = NULL;
                struct err e = {0};
                long long sz;
                if (de->d_name[0] == '.')
                        continue;
                data = util_printf("%s/%s/_data", dir, de->d_name);
                sz = data ? fs_tree_size(data) : 0;
                r->total++;
                r->size += sz;
                if (volume_users(cli, de->d_name, &users, &e) == 0 && users && users[0])
                        r->active++;
                else
                        r->reclaim += sz;
        }
}

static void df_images(const struct cli *cli, struct df_row *r)
{
        struct image_usage u;
        struct err e = {0};

        if (image_disk_usage(cli, &u, &e) < 0) {
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                return;
        }
        *r = (struct df_row){
                .total = u.count, .active = u.active, .size = u.size, .reclaim = u.reclaimable};
}

static void df_line(struct table *t, const char *type, const struct df_row *r, bool pct)
{
        char size[32], rec[32], line[200];

        util_human_size(r->size, size, sizeof(size));
        util_human_size(r->reclaim, rec, sizeof(rec));
        /* Docker shows the share only of a size that is not zero. */
        if (pct && r->size > 0)
                snprintf(line, sizeof(line), "%s\t%lld\t%lld\t%s\t%s (%lld%%)", type, r->total,
                         r->active, size, rec, r->size ? r->reclaim * 100 / r->size : 0);
        else
                snprintf(line, sizeof(line), "%s\t%lld\t%lld\t%s\t%s", type, r->total, r->active,
                         size, rec);
        table_add_row(t, line);
}

static int df(struct cli *cli)
{
        struct df_row img = {0}, ctr = {0}, vol = {0}, cache = {0};
        struct table *t = table_new();

        df_images(cli, &img);
        df_containers(cli, &ctr);
        df_volumes(cli, &vol);
        table_add_row(t, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE");
        df_line(t, "Images", &img, true);
        df_line(t, "Containers", &ctr, true);
        df_line(t, "Local Volumes", &vol, true);
        df_line(t, "Build Cache", &cache, false);
        table_print(t, stdout);
        table_free(t);
        return 0;
}

int cmd_system(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force, all, volumes;
                char **filters;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"all", 'a', OPT_BOOL, offsetof(__typeof__(o), all)},
                {"volumes", 0, OPT_BOOL, offsetof(__typeof__(o), volumes)},
                {"filter", 0, OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        struct prune_filter f = {0};
        int k, r;

        if (argc >= 2 && !strcmp(argv[1], "df"))
                return df(cli);
        if (argc < 2 || strcmp(argv[1], "prune"))
                return cli_usage_error(cli, "system", err,
                                       "\"hawser system\" requires a subcommand: prune, df");
        k = opt_parse(defs, argc - 2, argv + 2, false, &o, err);
        if (k != 0) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "system prune", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser system prune\" accepts no arguments.");
        }
        r = prune_filter_parse(o.filters, " until label label! ", &f, err);
        opt_free_lists(defs, &o);
        if (r >= 0 && o.volumes && f.until)
                r = err_set(err, -EINVAL,
                            "The \"until\" filter is not supported with \"--volumes\"");
        if (r >= 0 && !o.force) {
                _cleanup_free_ char *w = util_printf(
                        "WARNING! This will remove:\n  - all stopped containers\n"
                        "  - all networks not used by at least one container\n%s"
                        "  - %s\n"
                        "  - what killed hawser processes left behind (interfaces, published "
                        "ports, leases)\n",
                        o.volumes ? "  - all anonymous volumes not used by at least one "
                                    "container\n"
                                  : "",
                        o.all ? "all images without at least one container associated to them"
                              : "all dangling images");
                if (!w || !prune_confirm(w)) {
                        prune_filter_free(&f);
                        return w ? 0 : err_set(err, -ENOMEM, "system prune");
                }
        }
        if (r >= 0)
                r = prune(cli, o.all, o.volumes, &f, err);
        prune_filter_free(&f);
        return r;
}
