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

int cgroup_join(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX], buf[32];

        cgroup_path(id, "cgroup.procs", path);
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return fs_write_string(path, buf, err);
}

int cgroup_enter(const char *id, pid_t pid, struct err *err)
{
        char path[PATH_MAX];
        int r;

        cgroup_path(id, NULL, path);
        r = fs_mkdir_p(path, 0755, err);
        if (r < 0)
                return err_wrap(err, "creating cgroup for container %.12s", id);
        return cgroup_join(id, pid, err);
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

int cgroup_pids(const char *id, pid_t **ret, size_t *ret_n, struct err *err)
{
        _cleanup_free_ char *s = NULL;
        char path[PATH_MAX];
        pid_t *v = NULL;
        size_t n = 0;
        int r;

        cgroup_path(id, "cgroup.procs", path);
        r = fs_read_file(path, &s, NULL, err);
        if (r < 0)
                return r;
        for (char *p = s, *tok; (tok = strsep(&p, "\n"));) {
                pid_t *nv;
                if (!*tok)
                        continue;
                nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        free(v);
                        return err_set(err, -ENOMEM, "listing processes");
                }
                v = nv;
                v[n++] = (pid_t)atoi(tok);
        }
        *ret = v;
        *ret_n = n;
        return 0;
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
        for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
}
