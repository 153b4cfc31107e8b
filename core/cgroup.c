#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "devfilter.h"

#define CG_ROOT "/sys/fs/cgroup"

/* Where container cgroups go, probed once per process: the unified hierarchy when
 * /sys/fs/cgroup is one (cgroup v2 hosts); else the v1 freezer; else, on a hybrid host
 * whose freezer controller is not mounted, the unified hierarchy beside the v1 ones. */
struct cg_base {
        const char *dir;
        bool v2;
};

static bool fs_is(const char *path, long magic)
{
        struct statfs sf;

        return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

static const struct cg_base *cgroup_base(void)
{
        static const struct cg_base v2 = {CG_ROOT, true}, v1 = {CG_ROOT "/freezer", false},
                                    hybrid = {CG_ROOT "/unified", true}, none = {NULL, false};
        static const struct cg_base *base;

        if (base)
                return base;
        if (fs_is(CG_ROOT, CGROUP2_SUPER_MAGIC))
                base = &v2;
        else if (fs_is(CG_ROOT "/freezer", CGROUP_SUPER_MAGIC))
                base = &v1;
        else if (fs_is(CG_ROOT "/unified", CGROUP2_SUPER_MAGIC))
                base = &hybrid;
        else
                base = &none;
        return base;
}

static int cgroup_path(const char *id, const char *file, char out[PATH_MAX], struct err *err)
{
        const struct cg_base *b = cgroup_base();

        if (!b->dir)
                return err_set(err, -EOPNOTSUPP,
                               "no freezer: neither a cgroup v2 hierarchy nor the v1 freezer is "
                               "mounted under " CG_ROOT);
        snprintf(out, PATH_MAX, "%s/%s%s%s", b->dir, id, file ? "/" : "", file ? file : "");
        return 0;
}

static int move(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX], buf[32];

        if (cgroup_path(id, "cgroup.procs", path, err) < 0)
                return -err->code;
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return fs_write_string(path, buf, err);
}

static int join_limits(const char *id, pid_t pid, struct err *err);

int cgroup_join(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX];
        struct err e = {0};
        int r = join_limits(id, pid, err);

        if (r < 0 || cgroup_path(id, NULL, path, &e) < 0 || access(path, F_OK) < 0)
                return r;
        return move(id, pid, err);
}

static int ns_of(pid_t pid, char out[64])
{
        char p[64];
        ssize_t n;

        snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
        n = readlink(p, out, 63);
        if (n < 0)
                return -errno;
        out[n] = '\0';
        return 0;
}

static int push_pid(pid_t **v, size_t *n, pid_t p, struct err *err)
{
        pid_t *nv = realloc(*v, (*n + 1) * sizeof(**v));

        if (!nv) {
                free(*v);
                *v = NULL;
                return err_set(err, -ENOMEM, "listing processes");
        }
        *v = nv;
        (*v)[(*n)++] = p;
        return 0;
}

int cgroup_ns_pids(pid_t init_pid, pid_t **ret, size_t *ret_n, struct err *err)
{
        _cleanup_closedir_ DIR *d = opendir("/proc");
        char want[64], have[64];
        struct dirent *de;
        pid_t *v = NULL;
        size_t n = 0;

        if (ns_of(init_pid, want) < 0)
                return err_set(err, -ESRCH, "process %d is gone", (int)init_pid);
        while (d && (de = readdir(d))) {
                pid_t p = (pid_t)atoi(de->d_name);
                if (p <= 0 || ns_of(p, have) < 0 || strcmp(want, have))
                        continue;
                if (push_pid(&v, &n, p, err) < 0)
                        return -err->code;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Whether pid is in a container's cgroup of the freezer's hierarchy already: this one's, or
 * another's (a container that joined this one's PID namespace). Only that hierarchy's line
 * counts: on cgroup v1 a process may be in the container's memory cgroup and not yet in its
 * freezer one. */
/* The 64-hex id of the container whose freezer-hierarchy cgroup holds pid into owner (""
 * when none); false when pid's cgroups cannot be read. */
static bool cgroup_owner(pid_t pid, char owner[65])
{
        const struct cg_base *b = cgroup_base();
        _cleanup_free_ char *s = NULL;
        char path[64];
        struct err e = {0};

        owner[0] = '\0';
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        if (fs_read_file(path, &s, NULL, &e) < 0)
                return false;
        for (char *l = s; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                size_t nl = strcspn(l, "\n");
                bool mine;
                if (!c2 || c2 > l + nl)
                        continue;
                /* v2: "0::/path"; v1: "N:freezer:/path" (controllers may be joined by ','). */
                mine = b->v2 ? c2 == c1 + 1
                             : (memmem(c1 + 1, (size_t)(c2 - c1 - 1), "freezer", 7) != NULL);
                if (mine) {
                        /* A container's cgroup ends in its 64-hex id. */
                        const char *end = l + nl, *last = end;
                        while (last > c2 + 1 && last[-1] != '/')
                                last--;
                        if (end - last == 64 && strspn(last, "0123456789abcdef") >= 64)
                                snprintf(owner, 65, "%.64s", last);
                        return true;
                }
        }
        return true;
}

/* Whether pid is in a container's cgroup already (this one's or another's), or unreadable. */
static bool in_cgroup(pid_t pid)
{
        char owner[65];

        return !cgroup_owner(pid, owner) || owner[0];
}

/* Whether pid is in another container's cgroup: a container that joined this one's PID
 * namespace (--pid container:X) keeps its own processes. */
static bool in_other_cgroup(const char *name, pid_t pid)
{
        const char *slash = strrchr(name, '/');
        char owner[65];

        return cgroup_owner(pid, owner) && owner[0] && strcmp(owner, slash ? slash + 1 : name);
}

static int make_cgroup(const char *id, char path[PATH_MAX], struct err *err)
{
        int r = cgroup_path(id, NULL, path, err);

        if (r < 0)
                return r;
        /* Another container's removal may take the empty parent away in between: retry. */
        for (int i = 0; i < 3; i++) {
                r = fs_mkdir_p(path, 0755, err);
                if (r != -ENOENT)
                        break;
        }
        return r < 0 ? err_wrap(err, "creating cgroup for container %.12s", id) : 0;
}

int cgroup_adopt(const char *id, pid_t init_pid, struct err *err)
{
        char path[PATH_MAX];
        int r = make_cgroup(id, path, err);

        return r < 0 ? r : move(id, init_pid, err);
}

int cgroup_container_pids(const char *id, pid_t init_pid, bool own_pidns, pid_t **ret,
                          size_t *ret_n, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        char path[PATH_MAX];
        pid_t *v = NULL;
        size_t n = 0;

        if (own_pidns) {
                /* Its PID namespace's processes, but those of a container joined to it. */
                size_t k = 0;
                if (cgroup_ns_pids(init_pid, ret, ret_n, err) < 0)
                        return -err->code;
                for (size_t i = 0; i < *ret_n; i++)
                        if (!in_other_cgroup(id, (*ret)[i]))
                                (*ret)[k++] = (*ret)[i];
                *ret_n = k;
                return 0;
        }
        if (cgroup_path(id, "cgroup.procs", path, err) < 0 ||
            fs_read_file(path, &text, NULL, err) < 0)
                return -err->code;
        for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (atoi(p) > 0 && push_pid(&v, &n, (pid_t)atoi(p), err) < 0)
                        return -err->code;
        *ret = v;
        *ret_n = n;
        return 0;
}

int cgroup_collect(const char *id, pid_t init_pid, bool own_pidns, struct err *err)
{
        char path[PATH_MAX];
        int r;

        r = make_cgroup(id, path, err);
        if (r < 0 || !own_pidns)
                return r;
        /* Processes may fork while we move them: repeat until a pass moves nothing. */
        for (int pass = 0; pass < 100; pass++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0, moved = 0;
                r = cgroup_ns_pids(init_pid, &pids, &n, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        if (in_cgroup(pids[i]))
                                continue;
                        /* Gone, or a zombie of a container being killed (it cannot be
                         * moved and needs no freezing): not a move, or the loop would see
                         * it on every pass and report a fork storm. */
                        r = move(id, pids[i], err);
                        if (r == -ESRCH) {
                                err_clear(err);
                                continue;
                        }
                        if (r < 0)
                                return r;
                        moved++;
                }
                if (moved == 0)
                        return 0;
        }
        return err_set(err, -EAGAIN, "container %.12s keeps forking", id);
}

/* Whether the cgroup's file holds want: v1's freezer.state ("FROZEN"), or v2's
 * cgroup.events line ("frozen 1"). */
static bool state_is(const char *path, const char *want)
{
        _cleanup_free_ char *s = NULL;
        struct err e = {0};
        size_t n = strlen(want);

        if (fs_read_file(path, &s, NULL, &e) < 0)
                return false;
        for (const char *l = s; l;) {
                if (!strncmp(l, want, n) && (l[n] == '\n' || l[n] == '\0'))
                        return true;
                l = strchr(l, '\n');
                if (l)
                        l++;
        }
        return false;
}

int cgroup_freeze(const char *id, bool freeze, struct err *err)
{
        bool v2 = cgroup_base()->v2;
        char path[PATH_MAX];
        const char *want;
        int r;

        r = cgroup_path(id, v2 ? "cgroup.freeze" : "freezer.state", path, err);
        if (r < 0)
                return r;
        r = fs_write_string(path, v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED"), err);
        if (r < 0)
                return err_wrap(err, "%s container %.12s", freeze ? "freezing" : "thawing", id);
        /* Both pass through a transition (v1 FREEZING, v2 "frozen 0" until every task
         * stopped); wait, bounded (5 s: tasks in uninterruptible sleep freeze only when
         * they wake), so pause returns frozen. */
        if (v2)
                cgroup_path(id, "cgroup.events", path, err);
        want = v2 ? (freeze ? "frozen 1" : "frozen 0") : (freeze ? "FROZEN" : "THAWED");
        for (int i = 0; i < 5000; i++) {
                if (state_is(path, want))
                        return 0;
                /* Removed meanwhile, or thawed by another command (rm -f, stop): waiting on
                 * is waiting for nothing. */
                if (access(path, F_OK) < 0 || (freeze && !cgroup_is_frozen(id)))
                        return err_set(err, -ESRCH,
                                       "container %.12s stopped while it was "
                                       "being frozen",
                                       id);
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        return err_set(err, -ETIMEDOUT, "container %.12s did not %s", id,
                       freeze ? "freeze" : "thaw");
}

bool cgroup_is_frozen(const char *id)
{
        bool v2 = cgroup_base()->v2;
        char path[PATH_MAX];
        struct err e = {0};

        if (cgroup_path(id, v2 ? "cgroup.freeze" : "freezer.state", path, &e) < 0 ||
            access(path, F_OK) < 0)
                return false;
        return v2 ? state_is(path, "1") : !state_is(path, "THAWED");
}

static void remove_limits(const char *id);

void cgroup_kill_all(const char *id)
{
        struct err e = {0};

        /* Frozen first, so none forks while the others are killed (runc's way); each dies
         * once thawed. Then until none is left, for a freezer that could not freeze. */
        if (cgroup_freeze(id, true, &e) == 0) {
                _cleanup_free_ pid_t *all = NULL;
                size_t n = 0;
                if (cgroup_container_pids(id, 0, false, &all, &n, &e) == 0)
                        for (size_t i = 0; i < n; i++)
                                kill(all[i], SIGKILL);
                cgroup_freeze(id, false, &e);
        }
        for (int pass = 0; pass < 100; pass++) {
                _cleanup_free_ pid_t *left = NULL;
                size_t n = 0;
                if (cgroup_container_pids(id, 0, false, &left, &n, &e) < 0 || !n)
                        return;
                for (size_t i = 0; i < n; i++)
                        kill(left[i], SIGKILL);
                /* A frozen process dies once thawed. */
                cgroup_freeze(id, false, &e);
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
}

void cgroup_remove(const char *id)
{
        char path[PATH_MAX];
        struct err e = {0};

        cgroup_kill_all(id);
        remove_limits(id);
        if (cgroup_path(id, NULL, path, &e) < 0 || access(path, F_OK) < 0)
                return;
        cgroup_freeze(id, false, &e);
        /* rmdir fails with EBUSY while the last task is still exiting; retry briefly. */
        for (int i = 0; i < 1000 && rmdir(path) < 0 && errno == EBUSY; i++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        /* hawser's shared parent goes with its last child (EBUSY while others are paused); a
         * --cgroup-parent is the user's. */
        if (!strncmp(id, "hawser/", 7)) {
                *strrchr(path, '/') = '\0';
                rmdir(path);
        }
}

/* ---- resource limits ---- */

/* "cpu" is the cpu controller's mount, or the link systemd makes to "cpu,cpuacct". */
/* The v1 hierarchies a container's cgroup lives in: those that carry limits, then those it
 * is only placed in (accounting: cpuacct; the rest as runc places it). The freezer's is
 * cgroup_adopt's. */
static const char *const v1_controllers[] = {"memory",  "cpu",      "pids",      "cpuset",
                                             "blkio",   "devices",  "cpuacct",   "hugetlb",
                                             "net_cls", "net_prio", "perf_event"};

bool cgroup_limits_any(const struct cgroup_limits *l)
{
        return l->place || l->device_allow || l->hugetlb || l->blkio_dev || l->has_swappiness ||
               l->net_classid || l->net_prio || l->blkio_weight > 0 || l->memory ||
               l->memory_swap || l->memory_reservation || l->oom_kill_disable || l->nano_cpus ||
               l->cpu_shares || l->cpu_period || l->cpu_quota || l->pids_limit > 0 ||
               (l->cpuset_cpus && *l->cpuset_cpus) || (l->cpuset_mems && *l->cpuset_mems);
}

static bool unified(void)
{
        return fs_is(CG_ROOT, CGROUP2_SUPER_MAGIC);
}

static int write_file(const char *dir, const char *file, const char *value, struct err *err)
{
        char path[PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        return fs_write_string(path, value, err) < 0 ? err_wrap(err, "setting %s", file) : 0;
}

static int write_ll(const char *dir, const char *file, long long v, struct err *err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%lld", v);
        return write_file(dir, file, buf, err);
}

/* Each per-device entry of list ("read_bps 8:0 1048576"): v1's blkio.throttle.<kind>_device
 * and blkio.weight_device, v2's io.max (rbps, wbps, riops, wiops) and io.weight. */
static int write_blkio_dev(const char *dir, char **list, bool v2, struct err *err)
{
        static const struct {
                const char *kind, *v1, *v2;
        } map[] = {
                {"weight", "blkio.weight_device", NULL},
                {"read_bps", "blkio.throttle.read_bps_device", "rbps"},
                {"write_bps", "blkio.throttle.write_bps_device", "wbps"},
                {"read_iops", "blkio.throttle.read_iops_device", "riops"},
                {"write_iops", "blkio.throttle.write_iops_device", "wiops"},
        };

        for (char **e = list; e && *e; e++) {
                char kind[16], dev[32], line[64];
                long long v;
                size_t k;
                if (sscanf(*e, "%15s %31s %lld", kind, dev, &v) != 3)
                        return err_set(err, -EINVAL, "block I/O setting %s", *e);
                for (k = 0; k < ARRAY_SIZE(map) && strcmp(kind, map[k].kind); k++)
                        ;
                if (k == ARRAY_SIZE(map))
                        return err_set(err, -EINVAL, "block I/O setting %s", *e);
                if (!v2)
                        snprintf(line, sizeof(line), "%s %lld", dev, v);
                else if (map[k].v2)
                        snprintf(line, sizeof(line), "%s %s=%lld", dev, map[k].v2, v);
                else
                        snprintf(line, sizeof(line), "%s %lld", dev, v);
                if (write_file(dir, v2 ? (map[k].v2 ? "io.max" : "io.weight") : map[k].v1, line,
                               err) < 0)
                        return -err->code;
        }
        return 0;
}

/* Each "<size>=<bytes>" of list as hugetlb.<size>.<file> (v1 limit_in_bytes, v2 max). */
static int write_hugetlb(const char *dir, char **list, const char *file, struct err *err)
{
        for (char **h = list; h && *h; h++) {
                const char *eq = strchr(*h, '=');
                char name[64];
                if (!eq || (size_t)(eq - *h) > 16)
                        return err_set(err, -EINVAL, "hugepage limit %s", *h);
                snprintf(name, sizeof(name), "hugetlb.%.*s.%s", (int)(eq - *h), *h, file);
                if (write_file(dir, name, eq + 1, err) < 0)
                        return -err->code;
        }
        return 0;
}

/* A cpuset child needs cpus and mems before it can hold tasks: the parent's, unless set. */
static int cpuset_inherit(const char *parent, const char *dir, struct err *err)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *v = NULL;
                char p[PATH_MAX + 32];
                snprintf(p, sizeof(p), "%s/%s", parent, files[i]);
                if (fs_read_file(p, &v, NULL, err) < 0)
                        return -err->code;
                v[strcspn(v, "\n")] = '\0';
                if (write_file(dir, files[i], v, err) < 0)
                        return -err->code;
        }
        return 0;
}

/* Creates root/name level by level (hawser/<id>, or a --cgroup-parent's levels and <id>): a
 * new cpuset level gets its parent's cpus and mems; on v2 each level above the container's
 * hands the controllers down. */
static int make_levels(const char *root, const char *name, bool cpuset, bool v2, struct err *err)
{
        char parent[PATH_MAX], dir[PATH_MAX];
        const char *p = name;
        struct err ignored = {0};

        snprintf(parent, sizeof(parent), "%s", root);
        if (v2) {
                (void)write_file(root, "cgroup.subtree_control", "+memory +cpu +pids +cpuset",
                                 &ignored);
                (void)write_file(root, "cgroup.subtree_control", "+io", &ignored);
                (void)write_file(root, "cgroup.subtree_control", "+hugetlb", &ignored);
        }
        while (*p) {
                size_t n = strcspn(p, "/");
                bool last = !p[n];
                if (snprintf(dir, sizeof(dir), "%s/%.*s", parent, (int)n, p) >= (int)sizeof(dir))
                        return err_set(err, -ENAMETOOLONG, "cgroup path too long: %s", name);
                if (mkdir(dir, 0755) == 0) {
                        if (cpuset && cpuset_inherit(parent, dir, err) < 0)
                                return -err->code;
                } else if (errno != EEXIST) {
                        return err_errno(err, "creating cgroup %s", dir);
                }
                if (v2 && !last &&
                    write_file(dir, "cgroup.subtree_control", "+memory +cpu +pids +cpuset", err) <
                            0)
                        return -err->code;
                /* The io controller only where the host has it (--blkio-weight). */
                if (v2 && !last) {
                        (void)write_file(dir, "cgroup.subtree_control", "+io", &ignored);
                        (void)write_file(dir, "cgroup.subtree_control", "+hugetlb", &ignored);
                }
                snprintf(parent, sizeof(parent), "%s", dir);
                p += n + !last;
        }
        return 0;
}

/* make_levels in a v1 hierarchy: another container's removal may take the empty shared
 * parent away in between (ENOENT), so it is retried, as make_cgroup does. */
static int make_levels_v1(const char *root, const char *name, bool cpuset, struct err *err)
{
        int r = 0;

        for (int i = 0; i < 3; i++) {
                err_clear(err);
                r = make_levels(root, name, cpuset, false, err);
                if (r != -ENOENT)
                        break;
        }
        return r;
}

static int attach_devfilter(const char *dir, char **rules, struct err *err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return err_errno(err, "opening cgroup %s", dir);
        return devfilter_attach(fd, rules, err) < 0 ? err_wrap(err, "cgroup %s", dir) : 0;
}

/* HAWSER_TEST_CGROUP_DEVICES=bpf, for the tests on a hybrid host: device rules go to an
 * eBPF filter on a cgroup of the unified hierarchy beside the v1 ones, as on a cgroup v2
 * host, and not to the v1 devices controller. */
static bool devices_by_bpf_test(void)
{
        const char *v = getenv("HAWSER_TEST_CGROUP_DEVICES");

        return v && !strcmp(v, "bpf") && fs_is(CG_ROOT "/unified", CGROUP2_SUPER_MAGIC);
}

static int devices_bpf_hybrid(const char *id, char **rules, pid_t pid, struct err *err)
{
        char dir[PATH_MAX], pidbuf[32];
        int r = make_levels(CG_ROOT "/unified", id, false, false, err);

        snprintf(dir, sizeof(dir), CG_ROOT "/unified/%s", id);
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
        if (r >= 0)
                r = attach_devfilter(dir, rules, err);
        return r < 0 ? r : write_file(dir, "cgroup.procs", pidbuf, err);
}

/* Whether the container's cgroup goes in ctl's v1 hierarchy: a limit of that kind, or
 * placed in all of them. */
static bool v1_wanted(const char *ctl, const struct cgroup_limits *l)
{
        return (!strcmp(ctl, "memory") &&
                (l->memory || l->memory_swap || l->memory_reservation || l->oom_kill_disable)) ||
               (!strcmp(ctl, "cpu") &&
                (l->nano_cpus || l->cpu_shares || l->cpu_period || l->cpu_quota)) ||
               (!strcmp(ctl, "pids") && l->pids_limit > 0) ||
               (!strcmp(ctl, "cpuset") &&
                ((l->cpuset_cpus && *l->cpuset_cpus) || (l->cpuset_mems && *l->cpuset_mems))) ||
               (!strcmp(ctl, "blkio") && (l->blkio_weight > 0 || l->blkio_dev)) ||
               (!strcmp(ctl, "devices") && l->device_allow && !devices_by_bpf_test()) ||
               (!strcmp(ctl, "memory") && l->has_swappiness) ||
               (!strcmp(ctl, "hugetlb") && l->hugetlb) ||
               (!strcmp(ctl, "net_cls") && l->net_classid) ||
               (!strcmp(ctl, "net_prio") && l->net_prio) || l->place;
}

static int apply_v1(const char *id, const struct cgroup_limits *l, pid_t pid, struct err *err)
{
        char pidbuf[32];

        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
        for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
                const char *ctl = v1_controllers[i];
                char root[64], dir[PATH_MAX];
                bool want = v1_wanted(ctl, l);
                int r;

                if (!want)
                        continue;
                snprintf(root, sizeof(root), CG_ROOT "/%s", ctl);
                /* Placed only (no limit of this kind): a hierarchy not mounted is no error. */
                if (!fs_is(root, CGROUP_SUPER_MAGIC) && l->place &&
                    !(!strcmp(ctl, "blkio") && (l->blkio_weight > 0 || l->blkio_dev)) &&
                    !(!strcmp(ctl, "devices") && l->device_allow && !devices_by_bpf_test()) &&
                    !(!strcmp(ctl, "hugetlb") && l->hugetlb) &&
                    !(!strcmp(ctl, "net_cls") && l->net_classid) &&
                    !(!strcmp(ctl, "net_prio") && l->net_prio))
                        continue;
                if (!fs_is(root, CGROUP_SUPER_MAGIC))
                        return err_set(err, -EOPNOTSUPP,
                                       "the cgroup v1 %s controller is not mounted under " CG_ROOT,
                                       ctl);
                snprintf(dir, sizeof(dir), "%s/%s", root, id);
                r = make_levels_v1(root, id, !strcmp(ctl, "cpuset"), err);
                if (r < 0)
                        return r;
                if (!strcmp(ctl, "memory")) {
                        if (l->memory)
                                r = write_ll(dir, "memory.limit_in_bytes", l->memory, err);
                        if (r >= 0 && l->memory_reservation)
                                r = write_ll(dir, "memory.soft_limit_in_bytes",
                                             l->memory_reservation, err);
                        if (r >= 0 && l->oom_kill_disable)
                                r = write_file(dir, "memory.oom_control", "1", err);
                        if (r >= 0 && l->has_swappiness)
                                r = write_ll(dir, "memory.swappiness", l->swappiness, err);
                        /* Swap accounting may be off (no memsw files): then swap is unlimited. */
                        if (r >= 0 && l->memory_swap) {
                                char p[PATH_MAX + 32];
                                snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", dir);
                                if (access(p, F_OK) == 0)
                                        r = write_ll(dir, "memory.memsw.limit_in_bytes",
                                                     l->memory_swap, err);
                        }
                } else if (!strcmp(ctl, "cpu")) {
                        long long period = l->cpu_period ? l->cpu_period : 100000;
                        long long quota =
                                l->nano_cpus ? l->nano_cpus * period / 1000000000LL : l->cpu_quota;
                        if (l->cpu_shares)
                                r = write_ll(dir, "cpu.shares", l->cpu_shares, err);
                        if (r >= 0 && (quota || l->cpu_period))
                                r = write_ll(dir, "cpu.cfs_period_us", period, err);
                        if (r >= 0 && quota)
                                r = write_ll(dir, "cpu.cfs_quota_us", quota, err);
                } else if (!strcmp(ctl, "pids")) {
                        if (l->pids_limit > 0)
                                r = write_ll(dir, "pids.max", l->pids_limit, err);
                } else if (!strcmp(ctl, "devices")) {
                        /* Everything denied, then the container's list allowed. */
                        bool v1_rules = l->device_allow && !devices_by_bpf_test();
                        if (v1_rules)
                                r = write_file(dir, "devices.deny", "a", err);
                        for (char **a = l->device_allow; v1_rules && r >= 0 && *a; a++)
                                r = !strncmp(*a, "deny ", 5)
                                            ? write_file(dir, "devices.deny", *a + 5, err)
                                            : write_file(dir, "devices.allow", *a, err);
                } else if (!strcmp(ctl, "hugetlb")) {
                        r = write_hugetlb(dir, l->hugetlb, "limit_in_bytes", err);
                } else if (!strcmp(ctl, "net_cls")) {
                        if (l->net_classid)
                                r = write_ll(dir, "net_cls.classid", l->net_classid, err);
                } else if (!strcmp(ctl, "net_prio")) {
                        for (char **p = l->net_prio; r >= 0 && p && *p; p++)
                                r = write_file(dir, "net_prio.ifpriomap", *p, err);
                } else if (!strcmp(ctl, "blkio")) {
                        char p[PATH_MAX + 32];
                        snprintf(p, sizeof(p), "%s/blkio.weight", dir);
                        if (l->blkio_weight > 0)
                                r = write_ll(dir,
                                             access(p, F_OK) == 0 ? "blkio.weight"
                                                                  : "blkio.bfq.weight",
                                             l->blkio_weight, err);
                        if (r >= 0)
                                r = write_blkio_dev(dir, l->blkio_dev, false, err);
                } else if (!strcmp(ctl, "cpuset")) {
                        if (l->cpuset_cpus && *l->cpuset_cpus)
                                r = write_file(dir, "cpuset.cpus", l->cpuset_cpus, err);
                        if (r >= 0 && l->cpuset_mems && *l->cpuset_mems)
                                r = write_file(dir, "cpuset.mems", l->cpuset_mems, err);
                }
                if (r >= 0)
                        r = write_file(dir, "cgroup.procs", pidbuf, err);
                if (r < 0)
                        return r;
        }
        return l->device_allow && devices_by_bpf_test()
                       ? devices_bpf_hybrid(id, l->device_allow, pid, err)
                       : 0;
}

static int apply_v2(const char *id, const struct cgroup_limits *l, pid_t pid, struct err *err)
{
        char dir[PATH_MAX], pidbuf[32];
        int r = make_levels(CG_ROOT, id, false, true, err);

        if (r < 0)
                return r;
        snprintf(dir, sizeof(dir), CG_ROOT "/%s", id);
        if (l->memory)
                r = write_ll(dir, "memory.max", l->memory, err);
        if (r >= 0 && l->memory_reservation)
                r = write_ll(dir, "memory.low", l->memory_reservation, err);
        if (r >= 0 && l->memory_swap) {
                char p[PATH_MAX + 32];
                snprintf(p, sizeof(p), "%s/memory.swap.max", dir);
                if (access(p, F_OK) == 0)
                        r = l->memory_swap < 0 ? write_file(dir, "memory.swap.max", "max", err)
                                               : write_ll(dir, "memory.swap.max",
                                                          l->memory_swap - l->memory, err);
        }
        if (r >= 0 && (l->nano_cpus || l->cpu_quota || l->cpu_period)) {
                long long period = l->cpu_period ? l->cpu_period : 100000;
                long long quota =
                        l->nano_cpus ? l->nano_cpus * period / 1000000000LL : l->cpu_quota;
                char v[64];
                snprintf(v, sizeof(v), quota > 0 ? "%lld %lld" : "max %lld%.0lld",
                         quota > 0 ? quota : period, quota > 0 ? period : 0);
                r = write_file(dir, "cpu.max", v, err);
        }
        /* Docker's conversion of shares (2..262144) to weight (1..10000). */
        if (r >= 0 && l->cpu_shares)
                r = write_ll(dir, "cpu.weight", 1 + ((l->cpu_shares - 2) * 9999) / 262142, err);
        if (r >= 0 && l->pids_limit > 0)
                r = write_ll(dir, "pids.max", l->pids_limit, err);
        if (r >= 0 && l->cpuset_cpus && *l->cpuset_cpus)
                r = write_file(dir, "cpuset.cpus", l->cpuset_cpus, err);
        if (r >= 0 && l->cpuset_mems && *l->cpuset_mems)
                r = write_file(dir, "cpuset.mems", l->cpuset_mems, err);
        if (r >= 0 && l->blkio_weight > 0) {
                char p[PATH_MAX + 32], v[32];
                snprintf(p, sizeof(p), "%s/io.bfq.weight", dir);
                /* runc's conversion of blkio's 10..1000 to io.weight's 1..10000. */
                snprintf(v, sizeof(v), "default %lld", 1 + (l->blkio_weight - 10) * 9999 / 990);
                r = access(p, F_OK) == 0 ? write_ll(dir, "io.bfq.weight", l->blkio_weight, err)
                                         : write_file(dir, "io.weight", v, err);
        }
        if (r >= 0 && l->hugetlb)
                r = write_hugetlb(dir, l->hugetlb, "max", err);
        if (r >= 0 && l->blkio_dev)
                r = write_blkio_dev(dir, l->blkio_dev, true, err);
        if (r >= 0 && l->device_allow)
                r = attach_devfilter(dir, l->device_allow, err);
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
        if (r >= 0)
                r = write_file(dir, "cgroup.procs", pidbuf, err);
        return r;
}

int cgroup_apply(const char *id, const struct cgroup_limits *l, pid_t pid, struct err *err)
{
        if (!cgroup_limits_any(l))
                return 0;
        if ((l->net_classid || l->net_prio || l->has_swappiness) && unified())
                return err_set(err, -EOPNOTSUPP,
                               "network class and priorities and memory swappiness need cgroup "
                               "v1 (net_cls, net_prio, memory)");
        return unified() ? apply_v2(id, l, pid, err) : apply_v1(id, l, pid, err);
}

/* The number after "key " in a flat keyed file such as memory.stat (0 when absent). */
static long long stat_value(const char *text, const char *key)
{
        size_t n = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (!strncmp(p, key, n) && p[n] == ' ')
                        return atoll(p + n + 1);
        return 0;
}

bool cgroup_memory_usage(const char *id, long long *ret)
{
        _cleanup_free_ char *usage = NULL, *stat = NULL;
        struct err ignored = {0};
        char dir[PATH_MAX], path[PATH_MAX + 32];
        bool v2 = unified();
        long long u;

        if (v2)
                snprintf(dir, sizeof(dir), CG_ROOT "/%s", id);
        else
                snprintf(dir, sizeof(dir), CG_ROOT "/memory/%s", id);
        snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
        if (fs_read_file(path, &usage, NULL, &ignored) < 0)
                return false;
        snprintf(path, sizeof(path), "%s/memory.stat", dir);
        if (fs_read_file(path, &stat, NULL, &ignored) < 0)
                return false;
        u = atoll(usage) - stat_value(stat, v2 ? "inactive_file" : "total_inactive_file");
        *ret = u > 0 ? u : 0;
        return true;
}

char *cgroup_read(const char *id, const char *ctl, const char *file)
{
        char path[PATH_MAX];
        char *text = NULL;

        if (unified())
                snprintf(path, sizeof(path), CG_ROOT "/%s/%s", id, file);
        else
                snprintf(path, sizeof(path), CG_ROOT "/%s/%s/%s", ctl, id, file);
        return fs_read_file(path, &text, NULL, &(struct err){0}) < 0 ? NULL : text;
}

bool cgroup_oom_killed(const char *id)
{
        _cleanup_free_ char *text = NULL;
        struct err ignored = {0};
        char path[PATH_MAX];
        const char *k;

        if (unified())
                snprintf(path, sizeof(path), CG_ROOT "/%s/memory.events", id);
        else
                snprintf(path, sizeof(path), CG_ROOT "/memory/%s/memory.oom_control", id);
        if (fs_read_file(path, &text, NULL, &ignored) < 0)
                return false;
        k = strstr(text, "oom_kill ");
        return k && atoll(k + 9) > 0;
}

/* The v1 limit cgroups of a container (the freezer one is cgroup_remove's). */
static void remove_limits(const char *id)
{
        char test_dir[PATH_MAX];

        if (unified())
                return;
        snprintf(test_dir, sizeof(test_dir), CG_ROOT "/unified/%s", id);
        (void)rmdir(test_dir); /* devices_bpf_hybrid's, when a test made one */
        for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", v1_controllers[i], id);
                for (int k = 0; k < 1000 && rmdir(dir) < 0 && errno == EBUSY; k++)
                        nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
}

void cgroup_views_remove(char *const *views)
{
        /* One try each: a directory that holds processes was not ours to remove. */
        for (char *const *p = views; p && p[0] && p[1]; p += 2)
                (void)rmdir(p[1]);
}

char **cgroup_views(const char *id, const struct cgroup_limits *l, struct err *err)
{
        const struct cg_base *b = cgroup_base();
        char **v = NULL;
        int r = 0;

        /* The one hierarchy: the container's cgroup itself (made as cgroup_adopt makes it),
         * where it has limits, as on v1. */
        if (b->v2 && !strcmp(b->dir, CG_ROOT) && cgroup_limits_any(l)) {
                char dir[PATH_MAX];
                if (make_cgroup(id, dir, err) < 0)
                        return NULL;
                if (util_strv_push(&v, "") < 0 || util_strv_push(&v, dir) < 0)
                        r = -ENOMEM;
        }
        for (size_t i = 0; !b->v2 && r >= 0 && i <= ARRAY_SIZE(v1_controllers); i++) {
                /* Those its limits put it in, then its freezer's (cgroup_adopt's) beside
                 * them: without any, nothing is made (a container without limits is not
                 * placed: nothing to show, no cgroup to make and remove on its start). */
                bool freezer = i == ARRAY_SIZE(v1_controllers);
                const char *name = freezer ? "freezer" : v1_controllers[i];
                char root[64], dir[PATH_MAX];
                snprintf(root, sizeof(root), CG_ROOT "/%s", name);
                snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", name, id);
                if ((freezer ? !v && !l->place : !v1_wanted(name, l)) ||
                    !fs_is(root, CGROUP_SUPER_MAGIC))
                        continue;
                /* As cgroup_apply makes them. */
                r = make_levels_v1(root, id, !strcmp(name, "cpuset"), err);
                if (r < 0)
                        break;
                if (util_strv_push(&v, name) < 0 || util_strv_push(&v, dir) < 0) {
                        rmdir(dir);
                        r = err_set(err, -ENOMEM, "listing the cgroups of %s", id);
                }
        }
        if (r < 0) {
                /* The ones made so far go (empty: nothing runs in them yet). */
                for (char **p = v; p && p[0] && p[1]; p += 2)
                        rmdir(p[1]);
                util_strv_free(v);
                return NULL;
        }
        return v;
}

/* An exec'd process joins the container's v1 limit cgroups (on v2 the one cgroup is the
 * freezer's, which cgroup_join moves it into). */
static int join_limits(const char *id, pid_t pid, struct err *err)
{
        char buf[32];

        if (unified())
                return 0;
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", v1_controllers[i], id);
                if (access(dir, F_OK) == 0 && write_file(dir, "cgroup.procs", buf, err) < 0)
                        return -err->code;
        }
        /* The test hook's cgroup in the unified hierarchy, where the device filter is. */
        if (devices_by_bpf_test()) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), CG_ROOT "/unified/%s", id);
                if (access(dir, F_OK) == 0 && write_file(dir, "cgroup.procs", buf, err) < 0)
                        return -err->code;
        }
        return 0;
}

void cgroup_limits_of(const struct jv *hc, struct cgroup_limits *l)
{
        *l = (struct cgroup_limits){
                .memory = jv_get_int(hc, "Memory", 0),
                .memory_swap = jv_get_int(hc, "MemorySwap", 0),
                .memory_reservation = jv_get_int(hc, "MemoryReservation", 0),
                .nano_cpus = jv_get_int(hc, "NanoCpus", 0),
                .cpu_shares = jv_get_int(hc, "CpuShares", 0),
                .cpu_period = jv_get_int(hc, "CpuPeriod", 0),
                .cpu_quota = jv_get_int(hc, "CpuQuota", 0),
                .pids_limit = jv_get_int(hc, "PidsLimit", 0),
                .cpuset_cpus = jv_get_str(hc, "CpusetCpus"),
                .cpuset_mems = jv_get_str(hc, "CpusetMems"),
                .oom_kill_disable = jv_get_bool(hc, "OomKillDisable"),
                .blkio_weight = jv_get_int(hc, "BlkioWeight", 0),
                .place = jv_get_str(hc, "CgroupParent") && *jv_get_str(hc, "CgroupParent"),
        };
}

bool cgroup_devices_supported(void)
{
        return !unified() && fs_is(CG_ROOT "/devices", CGROUP_SUPER_MAGIC);
}

bool cgroup_blkio_weight_supported(void)
{
        _cleanup_free_ char *ctl = NULL;
        struct err ignored = {0};

        if (!unified())
                return access(CG_ROOT "/blkio/blkio.weight", F_OK) == 0 ||
                       access(CG_ROOT "/blkio/blkio.bfq.weight", F_OK) == 0;
        if (fs_read_file(CG_ROOT "/cgroup.controllers", &ctl, NULL, &ignored) < 0)
                return false;
        for (char *w = strtok(ctl, " \n"); w; w = strtok(NULL, " \n"))
                if (!strcmp(w, "io"))
                        return true;
        return false;
}
