#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "cgroup.h"

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
        snprintf(out, PATH_MAX, "%s/hawser/%s%s%s", b->dir, id, file ? "/" : "", file ? file : "");
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

int cgroup_join(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX];
        struct err e = {0};

        if (cgroup_path(id, NULL, path, &e) < 0 || access(path, F_OK) < 0)
                return 0;
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
                pid_t p = (pid_t)atoi(de->d_name), *nv;
                if (p <= 0 || ns_of(p, have) < 0 || strcmp(want, have))
                        continue;
                nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        free(v);
                        return err_set(err, -ENOMEM, "listing processes");
                }
                v = nv;
                v[n++] = p;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool in_cgroup(const char *id, pid_t pid)
{
        _cleanup_free_ char *s = NULL;
        char path[64];
        struct err e = {0};

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        if (fs_read_file(path, &s, NULL, &e) < 0)
                return true;
        return strstr(s, id) != NULL;
}

int cgroup_collect(const char *id, pid_t init_pid, struct err *err)
{
        char path[PATH_MAX];
        int r;

        r = cgroup_path(id, NULL, path, err);
        if (r < 0)
                return r;
        /* Another container's removal may take the empty parent away in between: retry. */
        for (int i = 0; i < 3; i++) {
                r = fs_mkdir_p(path, 0755, err);
                if (r != -ENOENT)
                        break;
        }
        if (r < 0)
                return err_wrap(err, "creating cgroup for container %.12s", id);
        /* Processes may fork while we move them: repeat until a pass moves nothing. */
        for (int pass = 0; pass < 100; pass++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0, moved = 0;
                r = cgroup_ns_pids(init_pid, &pids, &n, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        if (in_cgroup(id, pids[i]))
                                continue;
                        if (move(id, pids[i], err) < 0 && errno != ESRCH)
                                return -err->code;
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

void cgroup_remove(const char *id)
{
        char path[PATH_MAX];
        struct err e = {0};

        if (cgroup_path(id, NULL, path, &e) < 0 || access(path, F_OK) < 0)
                return;
        cgroup_freeze(id, false, &e);
        /* rmdir fails with EBUSY while the last task is still exiting; retry briefly. */
        for (int i = 0; i < 1000 && rmdir(path) < 0 && errno == EBUSY; i++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        /* The shared parent goes with its last child (EBUSY while others are paused). */
        *strrchr(path, '/') = '\0';
        rmdir(path);
}
