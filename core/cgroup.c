#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "cgroup.h"

#define CG_ROOT "/sys/fs/cgroup"

static bool cgroup_v2(void)
{
        return access(CG_ROOT "/cgroup.controllers", F_OK) == 0;
}

static void cgroup_path(const char *id, const char *file, char out[PATH_MAX])
{
        snprintf(out, PATH_MAX, "%s/hawser/%s%s%s", cgroup_v2() ? CG_ROOT : CG_ROOT "/freezer", id,
                 file ? "/" : "", file ? file : "");
}

static int move(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX], buf[32];

        cgroup_path(id, "cgroup.procs", path);
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return fs_write_string(path, buf, err);
}

int cgroup_join(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX];

        cgroup_path(id, NULL, path);
        if (access(path, F_OK) < 0)
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

        cgroup_path(id, NULL, path);
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

static bool state_is(const char *path, const char *want)
{
        _cleanup_free_ char *s = NULL;
        struct err e = {0};

        if (fs_read_file(path, &s, NULL, &e) < 0)
                return false;
        return strncmp(s, want, strlen(want)) == 0;
}

int cgroup_freeze(const char *id, bool freeze, struct err *err)
{
        bool v2 = cgroup_v2();
        char path[PATH_MAX];
        const char *want;
        int r;

        cgroup_path(id, v2 ? "cgroup.freeze" : "freezer.state", path);
        want = v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
        r = fs_write_string(path, want, err);
        if (r < 0)
                return err_wrap(err, "%s container %.12s", freeze ? "freezing" : "thawing", id);
        if (v2)
                cgroup_path(id, "cgroup.events", path);
        /* The v1 freezer passes through FREEZING; wait (bounded) so pause returns frozen. */
        for (int i = 0; i < 1000; i++) {
                if (v2 ? true : state_is(path, want))
                        return 0;
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        return err_set(err, -ETIMEDOUT, "container %.12s did not %s", id,
                       freeze ? "freeze" : "thaw");
}

void cgroup_remove(const char *id)
{
        char path[PATH_MAX];
        struct err e = {0};

        cgroup_path(id, NULL, path);
        if (access(path, F_OK) < 0)
                return;
        cgroup_freeze(id, false, &e);
        /* rmdir fails with EBUSY while the last task is still exiting; retry briefly. */
        for (int i = 0; i < 1000 && rmdir(path) < 0 && errno == EBUSY; i++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        /* The shared parent goes with its last child (EBUSY while others are paused). */
        *strrchr(path, '/') = '\0';
        rmdir(path);
}
