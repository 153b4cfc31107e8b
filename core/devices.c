#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cgroup.h"
#include "devices.h"

/* Docker's validDeviceMode: r, w and m, each at most once, at least one. */
static bool valid_mode(const char *m)
{
        bool seen[3] = {false};

        if (!*m || strlen(m) > 3)
                return false;
        for (; *m; m++) {
                const char *p = strchr("rwm", *m);
                if (!p || seen[p - "rwm"])
                        return false;
                seen[p - "rwm"] = true;
        }
        return true;
}

int devices_parse(const char *spec, char **ret_host, char **ret_ctr, char **ret_mode,
                  struct err *err)
{
        _cleanup_free_ char *host = NULL, *ctr = NULL, *mode = NULL;
        const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

        /* Docker's validateLinuxPath, then parseDevice. */
        if (spec[0] == ':' || !spec[0] || (c2 && strchr(c2 + 1, ':')))
                return err_set(err, -EINVAL, "bad format for path: %s", spec);
        host = strndup(spec, c1 ? (size_t)(c1 - spec) : strlen(spec));
        if (c2) {
                ctr = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
                mode = strdup(c2 + 1);
        } else if (c1 && valid_mode(c1 + 1)) {
                mode = strdup(c1 + 1);
        } else if (c1) {
                ctr = strdup(c1 + 1);
        }
        if (!host || (c1 && !ctr && !mode) || (c2 && (!ctr || !mode)))
                return err_set(err, -ENOMEM, "parsing --device %s", spec);
        if (mode && !valid_mode(mode))
                return err_client(err, -EINVAL, "bad mode specified: %s", mode);
        if (!ctr || !*ctr) {
                free(ctr);
                ctr = strdup(host);
        }
        if (!mode)
                mode = strdup("rwm");
        if (!ctr || !mode)
                return err_set(err, -ENOMEM, "parsing --device %s", spec);
        if (ctr[0] != '/')
                return err_client(err, -EINVAL, "%s is not an absolute path", ctr);
        /* Less than read and write is the device cgroup's to enforce (the container gets
         * one then): only where the host has the v1 devices controller. */
        if ((!strchr(mode, 'r') || !strchr(mode, 'w')) && !cgroup_devices_supported())
                return err_set(err, -EINVAL,
                               "--device %s: mode %s needs a device cgroup (the cgroup v1 "
                               "devices controller), which this host does not have; give rw or "
                               "rwm",
                               spec, mode);
        *ret_host = TAKE_PTR(host);
        *ret_ctr = TAKE_PTR(ctr);
        *ret_mode = TAKE_PTR(mode);
        return 0;
}

static int push(struct device_list *l, const char *path, const struct stat *st)
{
        struct device_node *v = realloc(l->v, (l->n + 1) * sizeof(*v));
        char *p = strdup(path);

        if (!v || !p) {
                free(p);
                if (v)
                        l->v = v;
                return -ENOMEM;
        }
        l->v = v;
        v[l->n++] = (struct device_node){
                .path = p,
                .type = st->st_mode & S_IFMT,
                .major = major(st->st_rdev),
                .minor = minor(st->st_rdev),
                .mode = st->st_mode & 07777,
                .uid = st->st_uid,
                .gid = st->st_gid,
        };
        return 0;
}

static bool skipped_in_dev(const char *name)
{
        static const char *const skip[] = {"pts", "shm", "mqueue", "fd", ".lxc", ".udev"};

        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
                if (!strcmp(name, skip[i]))
                        return true;
        return false;
}

/* Appends the device nodes below dir (host) as ctr/...; depth bounds a symlink loop. */
static int walk(const char *dir, const char *ctr, bool top_of_dev, int depth, struct device_list *l)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return depth == 0 ? -errno : 0;
        while (r >= 0 && (de = readdir(d))) {
                char hp[PATH_MAX], cp[PATH_MAX];
                struct stat st;

                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
                    (top_of_dev && skipped_in_dev(de->d_name)))
                        continue;
                if ((size_t)snprintf(hp, sizeof(hp), "%s/%s", dir, de->d_name) >= sizeof(hp) ||
                    (size_t)snprintf(cp, sizeof(cp), "%s/%s", ctr, de->d_name) >= sizeof(cp))
                        continue;
                /* Inside a directory, symlinks are left alone (Docker takes the nodes). */
                if (lstat(hp, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode) && depth < 8)
                        r = walk(hp, cp, false, depth + 1, l);
                else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                        r = push(l, cp, &st);
        }
        return r;
}

int devices_gather(const char *host, const char *ctr, struct device_list *l, struct err *err)
{
        struct stat st;
        int r;

        if (stat(host, &st) < 0) {
                char eb[64];
                int e = errno;

                return err_set(err, -e,
                               "error gathering device information while adding custom device "
                               "\"%s\": %s",
                               host, util_go_strerror(e, eb));
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                r = push(l, ctr, &st);
        else if (S_ISDIR(st.st_mode))
                r = walk(host, ctr, false, 0, l);
        else
                return err_set(err, -EINVAL,
                               "error gathering device information while adding custom device "
                               "\"%s\": not a device node",
                               host);
        if (r < 0)
                return err_set(err, r, "gathering the devices of %s", host);
        return 0;
}

int devices_gather_host(struct device_list *l, struct err *err)
{
        int r = walk("/dev", "/dev", true, 0, l);

        if (r < 0)
                return err_set(err, r, "listing the host's devices");
        return 0;
}

void devices_free(struct device_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].path);
        free(l->v);
        *l = (struct device_list){0};
}
