#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "container.h"
#include "statedoc.h"

void container_free(struct container *c)
{
        if (!c)
                return;
        free(c->dir);
        jv_put(c->doc);
        free(c);
}

void container_list_free(struct container **v)
{
        for (struct container **p = v; p && *p; p++)
                container_free(*p);
        free(v);
}

/* The name a by-name link gives id, for a container whose state cannot say (NULL: none). */
static const char *name_of(const struct cli *cli, const char *id, char *out, size_t len)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "containers/by-name");
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char target[80];
                ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n == 64 && !memcmp(target, id, 64)) {
                        snprintf(out, len, "%s", de->d_name);
                        return out;
                }
        }
        return NULL;
}

/* Reads a state document and checks its shape: -EIO with why filled when either fails. */
static int read_doc(const char *path, const char *id, struct jv **ret, char *why, size_t len,
                    struct err *err)
{
        struct jv *doc = NULL;
        int r = jv_load(path, &doc, err);

        /* Gone (removed meanwhile): said without the internal path. */
        if (r == -ENOENT)
                return err_set(err, -ENOENT, "No such container: %.12s", id);
        if (r == -ENOMEM)
                return r;
        if (r == -EINVAL)
                snprintf(why, len, "state.json is not JSON");
        else if (r < 0)
                snprintf(why, len, "state.json: %s", strerror(-r));
        else if (statedoc_check(doc, id, why, len) < 0)
                r = -EIO;
        if (r < 0) {
                jv_put(doc);
                return err_set(err, -EIO, "the state of container %.12s cannot be read: %s", id,
                               why);
        }
        *ret = doc;
        return 0;
}

int container_load(const struct cli *cli, const char *id, struct container **ret, struct err *err)
{
        struct container *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *path = NULL;
        char why[ERR_MSG_MAX / 2], name[256];
        int r;

        if (!c)
                return err_set(err, -ENOMEM, "loading container %s", id);
        snprintf(c->id, sizeof(c->id), "%s", id);
        c->dir = cli_root_path(cli, "containers/%s", id);
        path = util_printf("%s/state.json", c->dir);
        if (!c->dir || !path) {
                container_free(c);
                return err_set(err, -ENOMEM, "loading container %s", id);
        }
        /* No state.json: not a container (yet: create writes it last, atomically). */
        r = read_doc(path, id, &c->doc, why, sizeof(why), err);
        if (r == -ENOENT || r == -ENOMEM) {
                container_free(c);
                return r;
        }
        if (r < 0) {
                /* Listed, removable, never torn down by a read: a stand-in says why. */
                err_clear(err);
                struct stat st;
                char created[40];
                bool dated = stat(c->dir, &st) == 0;
                if (dated)
                        util_format_time(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                                         created);
                c->doc = statedoc_unreadable(id, name_of(cli, id, name, sizeof(name)),
                                             dated ? created : NULL, why);
                c->unreadable = true;
                if (!c->doc) {
                        container_free(c);
                        return err_set(err, -ENOMEM, "loading container %s", id);
                }
        }
        container_set_cgroup(c);
        *ret = c;
        return 0;
}

int container_reload(struct container *c, struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/state.json", c->dir);
        struct jv *doc = NULL;
        char why[ERR_MSG_MAX / 2];
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "loading container %.12s", c->id);
        /* A document that went bad meanwhile: the caller keeps the one it has and fails. */
        r = read_doc(path, c->id, &doc, why, sizeof(why), err);
        if (r < 0)
                return r;
        jv_put(c->doc);
        c->doc = doc;
        return 0;
}

int container_save(const struct container *c, struct err *err)
{
        if (c->unreadable)
                return err_set(err, -EIO,
                               "the state of container %.12s cannot be read; remove it "
                               "with rm -f",
                               c->id);
        _cleanup_free_ char *path = util_printf("%s/state.json", c->dir);

        if (!path)
                return err_set(err, -ENOMEM, "saving container %s", c->id);
        return jv_save(path, c->doc, err);
}

static int lock_container(const struct container *c, int how, struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/lock", c->dir);
        int fd;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "locking container %.12s", c->id);
        while (flock(fd, how) < 0) {
                if (errno == EWOULDBLOCK) {
                        close(fd);
                        return -EWOULDBLOCK;
                }
                if (errno != EINTR) {
                        close(fd);
                        return err_errno(err, "locking container %.12s", c->id);
                }
        }
        return fd;
}

int container_lock(const struct container *c, struct err *err)
{
        return lock_container(c, LOCK_EX, err);
}

int container_trylock(const struct container *c, struct err *err)
{
        return lock_container(c, LOCK_EX | LOCK_NB, err);
}

const char *container_name(const struct container *c)
{
        const char *n = jv_get_str(c->doc, "Name");

        if (!n)
                return "";
        return n[0] == '/' ? n + 1 : n;
}

const char *container_status(const struct container *c)
{
        const char *s = jv_str(jv_path(c->doc, "State.Status"));

        return s ? s : "created";
}

bool container_is_running(const struct container *c)
{
        const char *s = container_status(c);

        return !strcmp(s, "running") || !strcmp(s, "paused");
}

bool container_is_live(const struct container *c)
{
        const struct jv *h = jv_get(c->doc, "Hawser");

        return container_is_running(c) && util_pid_alive((pid_t)jv_get_int(h, "MonitorPid", 0),
                                                         jv_get_int(h, "MonitorStart", 0));
}

int container_mark_exited(struct container *c, int exit_code, const char *error, struct err *err)
{
        struct jv *st = jv_get(c->doc, "State");
        char ts[40];

        util_format_time(util_now_ns(), ts);
        jv_set_str(st, "Status", "exited");
        jv_set_bool(st, "Running", false);
        jv_set_bool(st, "Paused", false);
        jv_set_int(st, "Pid", 0);
        jv_set_int(st, "ExitCode", exit_code);
        jv_set_str(st, "Error", error ? error : "");
        jv_set_str(st, "FinishedAt", ts);
        jv_set_int(jv_get(c->doc, "Hawser"), "MonitorPid", 0);
        return container_save(c, err);
}

pid_t container_monitor_by_socket(const struct cli *cli, const char *id)
{
        _cleanup_free_ char *sock = cli_runroot_path(cli, "containers/%.12s/attach.sock", id);
        _cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
        _cleanup_closedir_ DIR *proc = NULL;
        unsigned long inode = 0;
        char line[PATH_MAX + 128], want[48];
        struct dirent *de;

        while (sock && f && !inode && fgets(line, sizeof(line), f)) {
                char *path = strrchr(line, ' ');
                size_t n;
                if (!path)
                        continue;
                n = strcspn(++path, "\n");
                path[n] = '\0';
                if (!strcmp(path, sock))
                        sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &inode);
        }
        if (!inode)
                return 0;
        snprintf(want, sizeof(want), "socket:[%lu]", inode);
        proc = opendir("/proc");
        while (proc && (de = readdir(proc))) {
                char fdpath[64];
                _cleanup_closedir_ DIR *fds = NULL;
                struct dirent *fe;
                pid_t pid = (pid_t)atoi(de->d_name);
                if (pid <= 0)
                        continue;
                snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd", (int)pid);
                fds = opendir(fdpath);
                while (fds && (fe = readdir(fds))) {
                        char target[64];
                        ssize_t n = readlinkat(dirfd(fds), fe->d_name, target, sizeof(target) - 1);
                        if (n > 0 && (target[n] = '\0', !strcmp(target, want)))
                                return pid;
                }
        }
        return 0;
}

static bool is_hex_prefix(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (; *s; s++)
                if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
                        return false;
        return true;
}

static int find_by_name(const struct cli *cli, const char *name, char ret_id[65])
{
        _cleanup_free_ char *link = cli_root_path(cli, "containers/by-name/%s", name);
        char buf[80];
        ssize_t n;

        if (!link)
                return -ENOMEM;
        n = readlink(link, buf, sizeof(buf) - 1);
        if (n != 64)
                return -ENOENT;
        buf[n] = '\0';
        memcpy(ret_id, buf, 65);
        return 0;
}

static int find_by_prefix(const struct cli *cli, const char *prefix, char ret_id[65],
                          struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "containers");
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int found = 0;

        if (!d)
                return -ENOENT;
        while ((de = readdir(d))) {
                if (strlen(de->d_name) != 64 || strncmp(de->d_name, prefix, strlen(prefix)))
                        continue;
                if (found++)
                        return err_set(err, -EINVAL, "multiple IDs found with provided prefix: %s",
                                       prefix);
                memcpy(ret_id, de->d_name, 65);
        }
        return found ? 0 : -ENOENT;
}

int container_find_any(const struct cli *cli, const char *ref, struct container **ret,
                       struct err *err)
{
        char id[65];
        const char *name = ref[0] == '/' ? ref + 1 : ref;
        int r;

        r = find_by_name(cli, name, id);
        if (r == -ENOENT && is_hex_prefix(ref)) {
                r = find_by_prefix(cli, ref, id, err);
                if (r == -EINVAL)
                        return r;
        }
        if (r < 0 || container_load(cli, id, ret, err) < 0)
                return err_set(err, -ENOENT, "No such container: %s", ref);
        return 0;
}

int container_find(const struct cli *cli, const char *ref, struct container **ret, struct err *err)
{
        int r = container_find_any(cli, ref, ret, err);

        if (r < 0 || !(*ret)->unreadable)
                return r;
        r = err_set(err, -EIO, "container %.12s: %s; remove it with rm -f", (*ret)->id,
                    jv_str(jv_path((*ret)->doc, "State.Error")));
        container_free(*ret);
        *ret = NULL;
        return r;
}

static int cmp_created(const void *a, const void *b)
{
        const struct container *x = *(struct container *const *)a;
        const struct container *y = *(struct container *const *)b;
        const char *cx = jv_get_str(x->doc, "Created"), *cy = jv_get_str(y->doc, "Created");

        return strcmp(cy ? cy : "", cx ? cx : "");
}

int container_list(const struct cli *cli, struct container ***ret, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "containers");
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct container **v = calloc(1, sizeof(*v));
        struct dirent *de;
        size_t n = 0;

        if (!v)
                return err_set(err, -ENOMEM, "listing containers");
        while (d && (de = readdir(d))) {
                struct container *c, **nv;
                struct err e = {0};
                if (strlen(de->d_name) != 64 || container_load(cli, de->d_name, &c, &e) < 0)
                        continue;
                nv = realloc(v, (n + 2) * sizeof(*v));
                if (!nv) {
                        container_free(c);
                        container_list_free(v);
                        return err_set(err, -ENOMEM, "listing containers");
                }
                v = nv;
                v[n++] = c;
                v[n] = NULL;
        }
        qsort(v, n, sizeof(*v), cmp_created);
        *ret = v;
        return 0;
}

int container_image_users(const struct cli *cli, const char *image_id, char ***ret, struct err *err)
{
        struct container **all = NULL;
        char **names = calloc(1, sizeof(char *));
        char want[80];
        int r;

        if (!names)
                return err_set(err, -ENOMEM, "listing containers");
        r = container_list(cli, &all, err);
        if (r < 0) {
                free(names);
                return r;
        }
        snprintf(want, sizeof(want), "sha256:%s", image_id);
        for (struct container **p = all; *p; p++) {
                const char *img = jv_get_str((*p)->doc, "Image");
                char shortid[13];
                snprintf(shortid, sizeof(shortid), "%.12s", (*p)->id);
                if (img && !strcmp(img, want) && util_strv_push(&names, shortid) < 0) {
                        container_list_free(all);
                        util_strv_free(names);
                        return err_set(err, -ENOMEM, "listing containers");
                }
        }
        container_list_free(all);
        *ret = names;
        return 0;
}

bool container_uses_layer(const struct cli *cli, const char *diff_id)
{
        struct container **all = NULL;
        struct err e = {0};
        char needle[80];
        bool used = false;

        snprintf(needle, sizeof(needle), "/%s/diff", diff_id);
        if (container_list(cli, &all, &e) < 0)
                return true;
        for (struct container **p = all; !used && *p; p++) {
                const char *lower = jv_str(jv_path((*p)->doc, "GraphDriver.Data.LowerDir"));
                used = lower && strstr(lower, needle);
        }
        container_list_free(all);
        return used;
}

int container_check_name(const char *name, struct err *err)
{
        const char *p = name[0] == '/' ? name + 1 : name;
        size_t n = strlen(p);

        if (n > 128)
                return err_set(err, -EINVAL,
                               "Invalid container name (%.40s...): longer than 128 characters",
                               name);
        if (n < 2 || !util_name_ok(p))
                return err_set(err, -EINVAL,
                               "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                               "allowed",
                               name);
        return 0;
}

/* A by-name link whose container directory is gone was left by a killed hawser. */
static bool name_is_stale(const struct cli *cli, const char *id)
{
        _cleanup_free_ char *p = cli_root_path(cli, "containers/%s/state.json", id);
        struct stat st;

        return p && stat(p, &st) < 0 && errno == ENOENT;
}

int container_reserve_name(const struct cli *cli, const char *name, const char *id, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "containers/by-name");
        _cleanup_free_ char *link = cli_root_path(cli, "containers/by-name/%s", name);
        char other[65];
        int r;

        if (!dir || !link)
                return err_set(err, -ENOMEM, "reserving name %s", name);
        r = fs_mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        for (int tries = 0; tries < 2; tries++) {
                if (symlink(id, link) == 0)
                        return 0;
                if (errno != EEXIST)
                        return err_errno(err, "reserving name %s", name);
                if (find_by_name(cli, name, other) == 0 && name_is_stale(cli, other)) {
                        container_release_name(cli, name, other);
                        continue;
                }
                break;
        }
        if (find_by_name(cli, name, other) < 0)
                snprintf(other, sizeof(other), "unknown");
        return err_set(err, -EEXIST,
                       "Conflict. The container name \"/%s\" is already in use by container "
                       "\"%s\". You have to remove (or rename) that container to be able to "
                       "reuse that name.",
                       name, other);
}

void container_release_name(const struct cli *cli, const char *name, const char *id)
{
        _cleanup_free_ char *link = cli_root_path(cli, "containers/by-name/%s", name);
        char cur[65];

        if (link && find_by_name(cli, name, cur) == 0 && !strcmp(cur, id))
                unlink(link);
}

void container_random_name(char *out, size_t len)
{
        static const char *const left[] = {
                "admiring", "bold",  "brave", "clever", "eager",   "elegant", "focused",
                "gallant",  "happy", "jolly", "keen",   "lucid",   "modest",  "nifty",
                "quirky",   "sharp", "stoic", "trusty", "vibrant", "zealous",
        };
        static const char *const right[] = {
                "babbage", "curie",    "darwin",   "euler",   "fermi",   "galileo",   "hopper",
                "kepler",  "lovelace", "mccarthy", "newton",  "noether", "pascal",    "ritchie",
                "shannon", "thompson", "turing",   "wozniak", "yalow",   "zhukovsky",
        };
        char hex[65];
        struct err e = {0};
        unsigned a = 0, b = 0;

        if (util_random_hex(hex, &e) == 0) {
                a = (unsigned)strtoul((char[]){hex[0], hex[1], hex[2], 0}, NULL, 16);
                b = (unsigned)strtoul((char[]){hex[3], hex[4], hex[5], 0}, NULL, 16);
        }
        snprintf(out, len, "%s_%s", left[a % ARRAY_SIZE(left)], right[b % ARRAY_SIZE(right)]);
}

void container_set_cgroup(struct container *c)
{
        const char *p = jv_str(jv_path(c->doc, "HostConfig.CgroupParent"));
        size_t n;

        while (p && *p == '/')
                p++;
        n = p ? strlen(p) : 0;
        while (n && p[n - 1] == '/')
                n--;
        if (n)
                snprintf(c->cgroup, sizeof(c->cgroup), "%.*s/%s", (int)n, p, c->id);
        else
                snprintf(c->cgroup, sizeof(c->cgroup), "hawser/%s", c->id);
}

bool container_own_pidns(const struct container *c)
{
        const char *m = jv_str(jv_path(c->doc, "HostConfig.PidMode"));

        return !m || !*m || !strcmp(m, "private");
}

bool container_is_restarting(const struct container *c)
{
        return !strcmp(container_status(c), "restarting");
}

void container_set_user_stop(const struct container *c, bool stopped)
{
        _cleanup_free_ char *p = util_printf("%s/user-stopped", c->dir);
        int fd;

        if (!p)
                return;
        if (!stopped) {
                (void)unlink(p);
                return;
        }
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
}

bool container_user_stopped(const struct container *c)
{
        _cleanup_free_ char *p = util_printf("%s/user-stopped", c->dir);

        return p && access(p, F_OK) == 0;
}

bool container_restart_due(const struct container *c, int code, bool at_boot)
{
        const struct jv *rp = jv_path(c->doc, "HostConfig.RestartPolicy");
        const char *name = jv_get_str(rp, "Name"), *started;
        long long max = jv_get_int(rp, "MaximumRetryCount", 0);
        bool stopped = container_user_stopped(c);

        if (!name || (stopped && !at_boot))
                return false;
        started = jv_get_str(jv_get(c->doc, "State"), "StartedAt");
        if (at_boot && (!started || !strncmp(started, "0001-", 5)))
                return false;
        if (!strcmp(name, "always"))
                return true;
        if (!strcmp(name, "unless-stopped"))
                return !stopped;
        return !strcmp(name, "on-failure") && code != 0 &&
               (max <= 0 || jv_get_int(c->doc, "RestartCount", 0) < max);
}
