#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "container.h"
#include "image.h"
#include "network.h"
#include "imgconfig.h"
#include "opt.h"
#include "template.h"
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

/* A command whose one flag is -f/--format (version, info; df has no -f, as Docker's):
 * *ret_format is the template or NULL. */
static int format_flag(struct cli *cli, const char *cmd, bool short_f, int argc, char **argv,
                       char **ret_format, struct err *err)
{
        struct {
                char *format;
        } o = {0};
        const struct opt_def defs[] = {
                {"format", short_f ? 'f' : 0, OPT_STR, offsetof(__typeof__(o), format)},
                OPT_END,
        };
        int k = argc > 0 ? opt_parse(defs, argc - 1, argv + 1, false, &o, err) : 0;

        if (k != 0)
                return k < 0 ? cli_usage_error(cli, cmd, err, "%s", err->msg)
                             : cli_usage_error(cli, cmd, err, "\"hawser %s\" accepts no arguments.",
                                               cmd);
        *ret_format = o.format;
        return 0;
}

/* One row of df's table as --format sees it (Docker's fields). */
static struct jv *df_row_doc(const char *type, const struct df_row *r, bool pct)
{
        struct jv *o = jv_new_object();
        char size[32], rec[32], buf[64];

        util_human_size(r->size, size, sizeof(size));
        util_human_size(r->reclaim, rec, sizeof(rec));
        jv_set_str(o, "Type", type);
        snprintf(buf, sizeof(buf), "%lld", r->total);
        jv_set_str(o, "TotalCount", buf);
        snprintf(buf, sizeof(buf), "%lld", r->active);
        jv_set_str(o, "Active", buf);
        jv_set_str(o, "Size", size);
        /* Docker shows the share only of a size that is not zero. */
        if (pct && r->size > 0)
                snprintf(buf, sizeof(buf), "%s (%lld%%)", rec, r->reclaim * 100 / r->size);
        else
                snprintf(buf, sizeof(buf), "%s", rec);
        jv_set_str(o, "Reclaimable", buf);
        return o;
}

/* Column titles of a df -v table: pairs of field and title. */
static struct jv *titles(const char *const (*h)[2], size_t n)
{
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < n; i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

/* `system df -v`'s local volume rows (Docker's volume context, Links and Size known). */
static int df_volume_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "volumes");
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        struct jv **rows;
        size_t n;

        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.' && util_strv_push(&names, de->d_name) < 0)
                        return err_set(err, -ENOMEM, "listing volumes");
        util_strv_sort(names);
        n = util_strv_len(names);
        rows = calloc(n + 1, sizeof(*rows));
        if (!rows)
                return err_set(err, -ENOMEM, "listing volumes");
        for (size_t i = 0; i < n; i++) {
                _cleanup_jv_ struct jv *doc = NULL;
                _cleanup_strv_ char **users = NULL;
                struct err e = {0};
                char buf[32];
                rows[i] = jv_new_object();
                volume_inspect(cli, names[i], &doc, &e);
                volume_users(cli, names[i], &users, &e);
                jv_set_str(rows[i], "Driver", "local");
                jv_set_str(rows[i], "Labels", "");
                snprintf(buf, sizeof(buf), "%zu", util_strv_len(users));
                jv_set_str(rows[i], "Links", buf);
                jv_set_str(rows[i], "Mountpoint", jv_get_str(doc, "Mountpoint") ?: "");
                jv_set_str(rows[i], "Name", names[i]);
                jv_set_str(rows[i], "Scope", "local");
                util_human_size_prec(fs_tree_size(jv_get_str(doc, "Mountpoint") ?: ""), 3, buf,
                                     sizeof(buf));
                jv_set_str(rows[i], "Size", buf);
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static void rows_free(struct jv **rows, size_t n)
{
        for (size_t i = 0; rows && i < n; i++)
                jv_put(rows[i]);
        free(rows);
}

static struct jv *rows_array(struct jv **rows, size_t n)
{
        struct jv *a = jv_new_array();

        for (size_t i = 0; i < n; i++)
                jv_append(a, jv_copy(rows[i]));
        return a;
}

/* `system df -v`: Docker's three tables and the build cache's, or with --format the
 * template over {Images, Containers, Volumes, BuildCache}. */
static int df_verbose(const struct cli *cli, const char *format, struct err *err)
{
        static const char *const ih[][2] = {{"Repository", "REPOSITORY"},
                                            {"Tag", "TAG"},
                                            {"ID", "IMAGE ID"},
                                            {"CreatedSince", "CREATED"},
                                            {"Size", "SIZE"},
                                            {"SharedSize", "SHARED SIZE"},
                                            {"UniqueSize", "UNIQUE SIZE"},
                                            {"Containers", "CONTAINERS"}};
        static const char *const ch[][2] = {
                {"ID", "CONTAINER ID"}, {"Image", "IMAGE"},
                {"Command", "COMMAND"}, {"LocalVolumes", "LOCAL VOLUMES"},
                {"Size", "SIZE"},       {"RunningFor", "CREATED"},
                {"Status", "STATUS"},   {"Names", "NAMES"}};
        static const char *const vh[][2] = {
                {"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}};
        _cleanup_jv_ struct jv *ihd = titles(ih, ARRAY_SIZE(ih)), *chd = titles(ch, ARRAY_SIZE(ch)),
                               *vhd = titles(vh, ARRAY_SIZE(vh));
        struct jv **img = NULL, **ctr = NULL, **vol = NULL;
        size_t ni = 0, nc = 0, nv = 0;
        int r = image_df_rows(cli, &img, &ni, err);

        if (r >= 0)
                r = ps_df_rows(cli, &ctr, &nc, err);
        if (r >= 0)
                r = df_volume_rows(cli, &vol, &nv, err);
        if (r >= 0 && format) {
                _cleanup_jv_ struct jv *doc = jv_new_object();
                _cleanup_template_ struct template *t = NULL;
                _cleanup_free_ char *line = NULL;
                jv_set(doc, "Images", rows_array(img, ni));
                jv_set(doc, "Containers", rows_array(ctr, nc));
                jv_set(doc, "Volumes", rows_array(vol, nv));
                jv_set(doc, "BuildCache", jv_new_array());
                r = template_parse(format, &t, err);
                if (r >= 0)
                        r = template_render(t, doc, &line, err);
                if (r >= 0)
                        printf("%s\n", line);
        } else if (r >= 0) {
                printf("Images space usage:\n\n");
                r = template_print_rows("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t"
                                        "{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t"
                                        "{{.UniqueSize}}\t{{.Containers}}",
                                        ihd, img, ni, err);
                if (r >= 0) {
                        printf("\nContainers space usage:\n\n");
                        r = template_print_rows("table {{.ID}}\t{{.Image}}\t{{.Command}}\t"
                                                "{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t"
                                                "{{.Status}}\t{{.Names}}",
                                                chd, ctr, nc, err);
                }
                if (r >= 0) {
                        printf("\nLocal Volumes space usage:\n\n");
                        r = template_print_rows("table {{.Name}}\t{{.Links}}\t{{.Size}}", vhd, vol,
                                                nv, err);
                }
                /* hawser's build cache is its images (counted above): nothing more here. */
                if (r >= 0)
                        printf("\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      "
                               "CREATED   LAST USED   USAGE     SHARED\n");
        }
        rows_free(img, ni);
        rows_free(ctr, nc);
        rows_free(vol, nv);
        return r;
}

static int df(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const char *const h[][2] = {{"Type", "TYPE"},
                                           {"TotalCount", "TOTAL"},
                                           {"Active", "ACTIVE"},
                                           {"Size", "SIZE"},
                                           {"Reclaimable", "RECLAIMABLE"}};
        struct {
                char *format;
                bool verbose;
        } o = {0};
        static const struct opt_def defs[] = {
                {"format", 0, OPT_STR, offsetof(__typeof__(o), format)},
                {"verbose", 'v', OPT_BOOL, offsetof(__typeof__(o), verbose)},
                OPT_END,
        };
        struct df_row img = {0}, ctr = {0}, vol = {0}, cache = {0};
        _cleanup_jv_ struct jv *headers = titles(h, ARRAY_SIZE(h));
        struct jv *rows[4];
        int k = argc > 0 ? opt_parse(defs, argc - 1, argv + 1, false, &o, err) : 0, r;

        if (k != 0)
                return k < 0 ? cli_usage_error(cli, "system df", err, "%s", err->msg)
                             : cli_usage_error(cli, "system df", err,
                                               "\"hawser system df\" accepts no arguments.");
        if (o.verbose)
                return df_verbose(cli, o.format, err);
        df_images(cli, &img);
        df_containers(cli, &ctr);
        df_volumes(cli, &vol);
        rows[0] = df_row_doc("Images", &img, true);
        rows[1] = df_row_doc("Containers", &ctr, true);
        rows[2] = df_row_doc("Local Volumes", &vol, true);
        rows[3] = df_row_doc("Build Cache", &cache, false);
        r = template_print_rows(o.format ? o.format
                                         : "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t"
                                           "{{.Size}}\t{{.Reclaimable}}",
                                headers, rows, 4, err);
        for (size_t i = 0; i < 4; i++)
                jv_put(rows[i]);
        return r;
}

static int system_prune(struct cli *cli, int argc, char **argv, struct err *err)
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

        k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);
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

/* ---- version, info ---- */

#define HAWSER_VERSION "0.1.0"
/* The Docker Engine API level whose behaviour hawser follows (Docker 20.10's). */
#define HAWSER_API_VERSION "1.41"

static struct jv *version_doc(void)
{
        struct jv *d = jv_new_object(), *cl = jv_new_object(), *sv = jv_new_object(),
                  *comps = jv_new_array(), *eng = jv_new_object();
        struct utsname u = {0};

        uname(&u);
        jv_set_str(cl, "Version", HAWSER_VERSION);
        jv_set_str(cl, "APIVersion", HAWSER_API_VERSION);
        jv_set_str(cl, "Os", "linux");
        jv_set_str(cl, "Arch", imgconfig_host_arch());
        jv_set_str(cl, "Context", "default");
        jv_set_str(eng, "Name", "Engine");
        jv_set_str(eng, "Version", HAWSER_VERSION);
        jv_append(comps, eng);
        jv_set(sv, "Components", comps);
        jv_set_str(sv, "Version", HAWSER_VERSION);
        jv_set_str(sv, "APIVersion", HAWSER_API_VERSION);
        jv_set_str(sv, "MinAPIVersion", "1.12");
        jv_set_str(sv, "Os", "linux");
        jv_set_str(sv, "Arch", imgconfig_host_arch());
        jv_set_str(sv, "KernelVersion", u.release);
        jv_set(d, "Client", cl);
        jv_set(d, "Server", sv);
        return d;
}

/* `version [-f]`: Docker's Client and Server sections (the server is this binary: hawser has
 * no daemon); -f renders a Go template over them ({{.Server.Version}}, {{json .}}, ...). */
int cmd_version(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_jv_ struct jv *d = version_doc();
        const struct jv *cl = jv_get(d, "Client"), *sv = jv_get(d, "Server");
        char *format = NULL;

        if (format_flag(cli, "version", true, argc, argv, &format, err) < 0)
                return -err->code;
        if (format)
                return template_print_rows(format, NULL, &d, 1, err);
        printf("Client:\n Version:           %s\n API version:       %s\n"
               " OS/Arch:           %s/%s\n Context:           %s\n\n",
               jv_get_str(cl, "Version"), jv_get_str(cl, "APIVersion"), jv_get_str(cl, "Os"),
               jv_get_str(cl, "Arch"), jv_get_str(cl, "Context"));
        printf("Server:\n Engine:\n  Version:          %s\n  API version:      %s (minimum "
               "version %s)\n  OS/Arch:          %s/%s\n  Kernel:           %s\n",
               jv_get_str(sv, "Version"), jv_get_str(sv, "APIVersion"),
               jv_get_str(sv, "MinAPIVersion"), jv_get_str(sv, "Os"), jv_get_str(sv, "Arch"),
               jv_get_str(sv, "KernelVersion"));
        return 0;
}

/* /etc/os-release's PRETTY_NAME, as Docker's OperatingSystem. */
static char *os_name(void)
{
        _cleanup_free_ char *text = NULL;
        struct err ignored = {0};
        const char *p;

        if (fs_read_file("/etc/os-release", &text, NULL, &ignored) < 0 ||
            !(p = strstr(text, "PRETTY_NAME=")))
                return strdup("Linux");
        p += 12;
        if (*p == '"')
                p++;
        return strndup(p, strcspn(p, "\"\n"));
}

static struct jv *info_doc(const struct cli *cli)
{
        struct jv *d = jv_new_object();
        struct container **all = NULL;
        _cleanup_strv_ char **images = NULL;
        _cleanup_free_ char *os = os_name();
        struct err e = {0};
        struct utsname u = {0};
        long long running = 0, paused = 0, stopped = 0, total = 0;
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
        char host[256] = "";

        uname(&u);
        gethostname(host, sizeof(host) - 1);
        if (teardown_list(cli, &all, &e) == 0) {
                for (struct container **p = all; *p; p++) {
                        total++;
                        if (!strcmp(container_status(*p), "paused"))
                                paused++;
                        else if (container_is_running(*p) || container_is_restarting(*p))
                                running++;
                        else
                                stopped++;
                }
                container_list_free(all);
        }
        image_list_refs(cli, &images, &e);
        jv_set_int(d, "Containers", total);
        jv_set_int(d, "ContainersRunning", running);
        jv_set_int(d, "ContainersPaused", paused);
        jv_set_int(d, "ContainersStopped", stopped);
        jv_set_int(d, "Images", (long long)util_strv_len(images));
        jv_set_str(d, "Driver", "overlay");
        jv_set_str(d, "LoggingDriver", "json-file");
        jv_set_str(d, "CgroupDriver", "cgroupfs");
        jv_set_str(d, "CgroupVersion", v2 ? "2" : "1");
        jv_set_str(d, "KernelVersion", u.release);
        jv_set_str(d, "OperatingSystem", os ? os : "Linux");
        jv_set_str(d, "OSType", "linux");
        jv_set_str(d, "Architecture", u.machine);
        jv_set_int(d, "NCPU", sysconf(_SC_NPROCESSORS_ONLN));
        jv_set_int(d, "MemTotal", pages > 0 && psize > 0 ? (long long)pages * psize : 0);
        jv_set_str(d, "DockerRootDir", cli->root);
        jv_set_str(d, "Name", host);
        jv_set_str(d, "ServerVersion", HAWSER_VERSION);
        jv_set_str(d, "DefaultRuntime", "hawser");
        return d;
}

/* `info [-f]` / `system info`: Docker's fields for what hawser has (counts, storage and
 * logging drivers, cgroups, kernel, OS, CPUs, memory, root directory). */
int cmd_info(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_jv_ struct jv *d = NULL;
        char *format = NULL, mem[32];

        if (format_flag(cli, "info", true, argc, argv, &format, err) < 0)
                return -err->code;
        d = info_doc(cli);
        if (format)
                return template_print_rows(format, NULL, &d, 1, err);
        util_bytes_size(jv_get_int(d, "MemTotal", 0), mem, sizeof(mem));
        printf("Client:\n Context:    default\n Debug Mode: false\n\nServer:\n"
               " Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n"
               " Images: %lld\n Server Version: %s\n Storage Driver: %s\n"
               " Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n"
               " Default Runtime: %s\n Kernel Version: %s\n Operating System: %s\n"
               " OSType: %s\n Architecture: %s\n CPUs: %lld\n Total Memory: %s\n Name: %s\n"
               " Docker Root Dir: %s\n",
               jv_get_int(d, "Containers", 0), jv_get_int(d, "ContainersRunning", 0),
               jv_get_int(d, "ContainersPaused", 0), jv_get_int(d, "ContainersStopped", 0),
               jv_get_int(d, "Images", 0), jv_get_str(d, "ServerVersion"), jv_get_str(d, "Driver"),
               jv_get_str(d, "LoggingDriver"), jv_get_str(d, "CgroupDriver"),
               jv_get_str(d, "CgroupVersion"), jv_get_str(d, "DefaultRuntime"),
               jv_get_str(d, "KernelVersion"), jv_get_str(d, "OperatingSystem"),
               jv_get_str(d, "OSType"), jv_get_str(d, "Architecture"), jv_get_int(d, "NCPU", 0),
               mem, jv_get_str(d, "Name"), jv_get_str(d, "DockerRootDir"));
        return 0;
}

int cmd_system(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"prune", system_prune},
                {"df", df},
                {"info", cmd_info},
                {"events", cmd_system_events},
        };

        return cli_dispatch(cli, "system", sub, ARRAY_SIZE(sub), "df, events, info, prune", argc,
                            argv, err);
}
