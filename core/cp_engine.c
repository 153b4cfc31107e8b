/* The engine of `hawser cp`: a container's files reached from the host through a
 * descriptor of its "/" (cp_engine.h). */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commit.h"
#include "cp_engine.h"
#include "launch.h"
#include "mountspec.h"
#include "volume.h"

/* ---- Go's path rules ---- */

static bool ends_in_slash(const char *p)
{
        size_t n = strlen(p);

        return n && p[n - 1] == '/';
}

/* Go's filepath.Clean: the shortest equivalent path, lexically. */
char *cp_path_clean(const char *p)
{
        size_t n = strlen(p), w = 0, r = 0, dotdot = 0;
        bool rooted = p[0] == '/';
        char *out = malloc(n + 2);

        if (!out)
                return NULL;
        if (rooted)
                out[w++] = '/', r = dotdot = 1;
        while (r < n) {
                if (p[r] == '/') {
                        r++;
                } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
                        r++;
                } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                for (w--; w > dotdot && out[w] != '/'; w--)
                                        ;
                        } else if (!rooted) {
                                if (w)
                                        out[w++] = '/';
                                out[w++] = '.', out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if (w != (rooted ? 1 : 0))
                                out[w++] = '/';
                        while (r < n && p[r] != '/')
                                out[w++] = p[r++];
                }
        }
        if (!w)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

char *cp_path_base(const char *p)
{
        size_t end = strlen(p), start;

        if (!end)
                return strdup(".");
        while (end && p[end - 1] == '/')
                end--;
        if (!end)
                return strdup("/");
        for (start = end; start && p[start - 1] != '/'; start--)
                ;
        return strndup(p + start, end - start);
}

static bool names_dot(const char *p)
{
        _cleanup_free_ char *b = cp_path_base(p);

        return b && !strcmp(b, ".");
}

bool cp_path_asserts_dir(const char *p)
{
        return ends_in_slash(p) || names_dot(p);
}

char *cp_path_keep_tail(const char *cleaned, const char *orig)
{
        size_t n = strlen(cleaned);
        char *out = malloc(n + 4);

        if (!out)
                return NULL;
        memcpy(out, cleaned, n + 1);
        if (!names_dot(cleaned) && names_dot(orig)) {
                if (!ends_in_slash(out))
                        strcat(out, "/");
                strcat(out, ".");
        }
        if (!ends_in_slash(out) && ends_in_slash(orig))
                strcat(out, "/");
        return out;
}

int cp_path_split(const char *p, char **ret_dir, char **ret_base)
{
        _cleanup_free_ char *c = cp_path_clean(p), *full = NULL, *dir = NULL;
        size_t cut;

        full = c ? util_printf("%s%s", c, names_dot(p) && strcmp(c, ".") ? "/." : "") : NULL;
        if (!full)
                return -ENOMEM;
        /* filepath.Dir: all before the last '/', cleaned. */
        cut = strlen(full);
        while (cut && full[cut - 1] != '/')
                cut--;
        dir = strndup(full, cut);
        *ret_dir = dir ? cp_path_clean(dir) : NULL;
        *ret_base = cp_path_base(full);
        if (*ret_dir && *ret_base)
                return 0;
        free(*ret_dir), free(*ret_base);
        return -ENOMEM;
}

/* ---- symlinks followed inside a root ---- */

/* Takes the next component off *rest (a '/'-separated list) into comp: 1, or 0 at the end,
 * -ENAMETOOLONG. */
static int next_component(const char **rest, char comp[NAME_MAX + 1])
{
        const char *p = *rest + strspn(*rest, "/");
        size_t n = strcspn(p, "/");

        if (!*p)
                return 0;
        if (n > NAME_MAX)
                return -ENAMETOOLONG;
        memcpy(comp, p, n);
        comp[n] = '\0';
        *rest = p + n;
        return 1;
}

/* done (the resolved part, "" or "a/b") gets comp appended, or loses its last one. */
static int step(char done[PATH_MAX], const char *comp)
{
        size_t n = strlen(done);

        if (!strcmp(comp, "..")) {
                char *slash = strrchr(done, '/');
                *(slash ? slash : done) = '\0';
                return 0;
        }
        if (n + strlen(comp) + 2 > PATH_MAX)
                return -ENAMETOOLONG;
        snprintf(done + n, PATH_MAX - n, "%s%s", n ? "/" : "", comp);
        return 0;
}

/* The entry comp of the resolved directory done: its lstat and, for a symlink, its target
 * (malloc'd). -errno as lstat would fail. */
static int look(int root, const char *done, const char *comp, struct stat *st, char **ret_link)
{
        _cleanup_close_ int pfd =
                fs_open_in_root(root, *done ? done : "/", O_PATH | O_DIRECTORY, 0);
        char target[PATH_MAX];
        ssize_t n;

        *ret_link = NULL;
        if (pfd < 0)
                return pfd;
        if (fstatat(pfd, comp, st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode))
                return 0;
        n = readlinkat(pfd, comp, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        *ret_link = strdup(target);
        return *ret_link ? 0 : -ENOMEM;
}

int cp_eval_links(int root, const char *path, bool must_exist, char **ret, struct err *err)
{
        _cleanup_free_ char *rest_buf = cp_path_clean(path);
        const char *rest = rest_buf;
        char done[PATH_MAX] = "", comp[NAME_MAX + 1], eb[64];
        int more;

        if (!rest_buf)
                return err_set(err, -ENOMEM, "resolving %s", path);
        /* moby's evalSymlinksInScope counts every step, links and components alike. */
        for (int steps = 0; (more = next_component(&rest, comp)) > 0; steps++) {
                _cleanup_free_ char *link = NULL, *joined = NULL;
                struct stat st;
                int r;

                if (steps > 255)
                        return err_set(err, -ELOOP, "too many links in %s", path);
                if (!strcmp(comp, "."))
                        continue;
                r = strcmp(comp, "..") ? look(root, done, comp, &st, &link) : 0;
                if (r < 0 && (must_exist || r != -ENOENT))
                        return err_set(err, r, "lstat /%s%s%s: %s", done, *done ? "/" : "", comp,
                                       util_go_strerror(-r, eb));
                if (!link) {
                        r = step(done, comp);
                        if (r < 0)
                                return err_set(err, r, "resolving %s: path too long", path);
                        continue;
                }
                if (link[0] == '/')
                        done[0] = '\0';
                joined = util_printf("%s/%s", link, rest);
                if (!joined)
                        return err_set(err, -ENOMEM, "resolving %s", path);
                free(rest_buf);
                rest = rest_buf = TAKE_PTR(joined);
        }
        if (more < 0)
                return err_set(err, more, "resolving %s: a name is too long", path);
        *ret = util_printf("/%s", done);
        return *ret ? 0 : err_set(err, -ENOMEM, "resolving %s", path);
}

/* ---- the view ---- */

/* A helper joins the mount namespace ns and opens its "/": the container's root as its
 * processes see it, even if its init has changed its own root since. */
static void __attribute__((noreturn)) join_child(int ns, int sock)
{
        struct err e = {0};
        int root;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (setns(ns, CLONE_NEWNS) < 0) {
                err_errno(&e, "joining the container's mount namespace");
                launch_send_error(sock, 1, &e);
                _exit(1);
        }
        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0 || (errno = -launch_send_fd(sock, root)) > 0) {
                err_errno(&e, "opening the container's root");
                launch_send_error(sock, 1, &e);
                _exit(1);
        }
        _exit(0);
}

/* The mounts of the container's view, parents before children (Docker sorts by depth). */
struct view_spec {
        struct launch_spec s;
        struct launch_mount *mounts;
        char **data; /* tmpfs mount data, owned here */
        char *upper, *work, *rootfs;
        char **volumes;
};

static void view_spec_done(struct view_spec *v)
{
        free(v->mounts);
        util_strv_free(v->data);
        util_strv_free(v->volumes);
        free(v->upper), free(v->work), free(v->rootfs);
}

static int depth(const char *p)
{
        int n = 0;

        while (*p)
                n += *p++ == '/';
        return n;
}

static int shallower(const void *a, const void *b)
{
        return depth(((const struct launch_mount *)a)->target) -
               depth(((const struct launch_mount *)b)->target);
}

static int view_mount(const struct jv *m, struct launch_mount *l, struct view_spec *v,
                      struct err *err)
{
        const char *type = jv_get_str(m, "Type") ?: "";
        _cleanup_free_ char *data = NULL;

        *l = (struct launch_mount){.source = jv_get_str(m, "Source"),
                                   .target = jv_get_str(m, "Destination"),
                                   .readonly = !jv_get_bool(m, "RW")};
        if (!l->target)
                return err_set(err, -EINVAL, "a mount without a destination");
        if (!strcmp(type, "volume") && jv_get_str(m, "Name"))
                util_strv_push(&v->volumes, jv_get_str(m, "Name"));
        if (strcmp(type, "tmpfs"))
                return 0;
        l->tmpfs = true;
        l->source = NULL;
        if (mountspec_tmpfs_options(jv_get_str(m, "TmpfsOptions"), &l->flags, &data, err) < 0)
                return -err->code;
        util_strv_push(&v->data, data);
        l->data = v->data[util_strv_len(v->data) - 1];
        return 0;
}

/* The hosts, hostname or resolv.conf file bound into the container, if there is one. */
static const char *net_file(const struct container *c, const char *key)
{
        const char *p = jv_get_str(c->doc, key);

        return p && *p && access(p, F_OK) == 0 ? p : NULL;
}

static int view_spec(const struct container *c, struct view_spec *v, struct err *err)
{
        const struct jv *hc = jv_get(c->doc, "HostConfig"), *ms = jv_get(c->doc, "Mounts");
        const char *lower = jv_str(jv_path(c->doc, "GraphDriver.Data.LowerDir"));
        size_t n = jv_len(ms);

        if (!lower)
                return err_set(err, -ENOENT, "container %.12s has no image layers", c->id);
        v->upper = util_printf("%s/upper", c->dir);
        v->work = util_printf("%s/work", c->dir);
        v->rootfs = util_printf("%s/merged", c->dir);
        v->mounts = calloc(n + 1, sizeof(*v->mounts));
        if (!v->upper || !v->work || !v->rootfs || !v->mounts)
                return err_set(err, -ENOMEM, "preparing the view of %.12s", c->id);
        for (size_t i = 0; i < n; i++)
                if (view_mount(jv_at(ms, i), &v->mounts[i], v, err) < 0)
                        return -err->code;
        qsort(v->mounts, n, sizeof(*v->mounts), shallower);
        v->s = (struct launch_spec){
                .lowerdir = lower,
                .upperdir = v->upper,
                .workdir = v->work,
                .rootfs = v->rootfs,
                .privileged = jv_get_bool(hc, "Privileged"),
                .read_only = jv_get_bool(hc, "ReadonlyRootfs"),
                .hosts_path = net_file(c, "HostsPath"),
                .hostname_path = net_file(c, "HostnamePath"),
                .resolv_path = net_file(c, "ResolvConfPath"),
                .mounts = v->mounts,
                .n_mounts = n,
        };
        return 0;
}

/* A helper mounts the container's files in a mount namespace of its own (private: nothing
 * propagates to the host) and hands over the root and the namespace; the namespace lives
 * on as long as that descriptor is open, and goes with every mount when it is closed. */
static void __attribute__((noreturn))
private_child(const struct cli *cli, const struct view_spec *v, int sock)
{
        struct err e = {0};
        int r = 0, root, ns;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                r = err_errno(&e, "making a mount namespace");
        /* A volume with driver options is mounted where the container's binds take it from,
         * in this namespace only. */
        for (char **n = v->volumes; r >= 0 && n && *n; n++) {
                int lock = volume_lock(cli, *n, &e);
                r = lock < 0 ? lock : volume_mount(cli, *n, &e);
                if (lock >= 0)
                        close(lock);
        }
        if (r >= 0)
                r = launch_mount_files(&v->s, &e);
        root = r >= 0 ? open(v->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        ns = root >= 0 ? open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC) : -1;
        if (r >= 0 && (ns < 0 || (errno = -launch_send_fd(sock, root)) > 0 ||
                       (errno = -launch_send_fd(sock, ns)) > 0))
                r = err_errno(&e, "opening the container's files");
        if (r < 0) {
                launch_send_error(sock, 1, &e);
                _exit(1);
        }
        _exit(0);
}

/* Runs a helper (join_child or private_child) and takes the descriptors it sends, in
 * order, into fds[0..n). */
static int run_helper(const struct cli *cli, const struct view_spec *v, int ns, int *fds, size_t n,
                      struct err *err)
{
        int sv[2], code = 0, r = 0;
        size_t got = 0;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return err_errno(err, "creating a socket");
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(sv[0]), close(sv[1]);
                return err_errno(err, "forking");
        }
        if (pid == 0) {
                close(sv[0]);
                if (v)
                        private_child(cli, v, sv[1]);
                join_child(ns, sv[1]);
        }
        close(sv[1]);
        while (got < n && (r = launch_recv_result(sv[0], &code, &fds[got], err)) == 1)
                got++;
        close(sv[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r >= 0 && got < n)
                r = err_set(err, -EIO, "the container's files could not be opened");
        if (r < 0)
                for (size_t i = 0; i < got; i++)
                        close(fds[i]);
        return r < 0 ? r : 0;
}

/* The running init's mount namespace, opened from /proc and checked to belong to the init
 * the state names (a reused pid is not the container). -ESRCH when it does not run. */
static int init_ns(const struct container *c)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        long long start = jv_get_int(jv_get(c->doc, "Hawser"), "InitStart", 0);
        char p[64];
        int fd;

        if (pid <= 0 || !container_is_live(c) || !util_pid_alive(pid, start))
                return -ESRCH;
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        /* Still the same init after the open: the namespace is the container's. */
        if (!util_pid_alive(pid, start)) {
                close(fd);
                return -ESRCH;
        }
        return fd;
}

int cp_view_open(const struct cli *cli, struct container *c, const char *ref, struct cp_view *ret,
                 struct err *err)
{
        struct cp_view v = {.root = -1, .ns = -1, .lock = -1, .ref = ref};
        _cleanup_(view_spec_done) struct view_spec spec = {0};
        int fds[2], r;

        /* Under the lock the state cannot turn running (a start takes it first). */
        r = v.lock = container_lock(c, err);
        if (r >= 0)
                r = container_reload(c, err);
        if (r >= 0)
                v.ns = init_ns(c);
        if (r >= 0 && v.ns >= 0) {
                closep(&v.lock);
                v.lock = -1;
                r = run_helper(cli, NULL, v.ns, &v.root, 1, err);
        } else if (r >= 0) {
                r = view_spec(c, &spec, err);
                if (r >= 0)
                        r = run_helper(cli, &spec, -1, fds, 2, err);
                if (r >= 0)
                        v.root = fds[0], v.ns = fds[1];
        }
        if (r < 0) {
                cp_view_close(&v);
                return r;
        }
        *ret = v;
        return 0;
}

void cp_view_close(struct cp_view *v)
{
        /* The root first: the namespace's mounts go with the last reference to it. */
        closep(&v->root);
        closep(&v->ns);
        closep(&v->lock);
        v->root = v->ns = v->lock = -1;
}

/* ---- what Docker's daemon does for docker cp ---- */

static int not_found(const struct cp_view *v, const char *path, struct err *err)
{
        return err_set(err, -ENOENT, "Could not find the file %s in container %s", path, v->ref);
}

static int lstat_failed(int r, const char *path, struct err *err)
{
        char eb[64];

        return err_set(err, r, "lstat %s: %s", path, util_go_strerror(-r, eb));
}

/* lstat of path below the root ("" fails as Go's lstat of "" does). */
static int view_lstat(const struct cp_view *v, const char *path, struct stat *st)
{
        _cleanup_close_ int fd =
                *path ? fs_open_in_root(v->root, path, O_PATH | O_NOFOLLOW, 0) : -ENOENT;

        if (fd < 0)
                return fd;
        return fstat(fd, st) < 0 ? -errno : 0;
}

int cp_view_stat(const struct cp_view *v, const char *path, struct cp_stat *ret, struct err *err)
{
        _cleanup_free_ char *abs = util_printf("/%s", path);
        struct stat st;
        int r = view_lstat(v, path, &st);

        if (r == -ENOENT)
                return not_found(v, path, err);
        if (r < 0)
                return lstat_failed(r, path, err);
        *ret = (struct cp_stat){.mode = st.st_mode};
        if (!abs)
                return err_set(err, -ENOMEM, "looking at %s", path);
        return S_ISLNK(st.st_mode) ? cp_eval_links(v->root, abs, false, &ret->link, err) : 0;
}

void cp_stat_done(struct cp_stat *st)
{
        free(st->link);
        st->link = NULL;
}

void cp_source_done(struct cp_source *s)
{
        closep(&s->pfd);
        s->pfd = -1;
        free(s->name), free(s->base);
        s->name = s->base = NULL;
}

/* The resource at abs (absolute, below root: opened with RESOLVE_IN_ROOT) as an entry of its
 * parent, or the directory itself. */
static int source_at(int root, const char *abs, bool dir, struct cp_source *ret)
{
        _cleanup_free_ char *pdir = NULL, *name = NULL;
        size_t cut = strlen(abs);

        *ret = (struct cp_source){.pfd = -1, .dir = dir, .base = cp_path_base(abs)};
        if (dir) {
                ret->pfd = fs_open_in_root(root, abs, O_PATH | O_DIRECTORY, 0);
                ret->name = strdup("");
        } else {
                /* filepath.Split: the directory keeps its '/', the name is what follows. */
                while (cut && abs[cut - 1] != '/')
                        cut--;
                pdir = strndup(abs, cut);
                ret->name = strdup(abs + cut);
                ret->pfd = pdir ? fs_open_in_root(root, pdir, O_PATH | O_DIRECTORY, 0) : -ENOMEM;
        }
        if (ret->pfd >= 0 && ret->name && ret->base)
                return 0;
        {
                int r = ret->pfd < 0 ? ret->pfd : -ENOMEM;
                cp_source_done(ret);
                return r;
        }
}

int cp_view_source(const struct cp_view *v, const char *path, struct cp_source *ret,
                   struct err *err)
{
        _cleanup_free_ char *joined = util_printf("/%s", path), *clean = NULL, *abs = NULL;
        struct stat st;
        int r;

        clean = joined ? cp_path_clean(joined) : NULL;
        abs = clean ? cp_path_keep_tail(clean, path) : NULL;
        if (!abs)
                return err_set(err, -ENOMEM, "looking at %s", path);
        r = view_lstat(v, abs, &st);
        if (r == -ENOENT)
                return not_found(v, path, err);
        if (r < 0)
                return lstat_failed(r, abs, err);
        r = source_at(v->root, abs, S_ISDIR(st.st_mode), ret);
        if (r == -ENOENT)
                return not_found(v, path, err);
        return r < 0 ? lstat_failed(r, abs, err) : 0;
}

int cp_host_source(const char *path, struct cp_source *ret, struct err *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        int r;

        if (root < 0)
                return err_errno(err, "opening /");
        if (lstat(path, &st) < 0)
                return lstat_failed(-errno, path, err);
        r = source_at(root, path, S_ISDIR(st.st_mode), ret);
        return r < 0 ? lstat_failed(r, path, err) : 0;
}

int cp_archive(const struct cp_source *src, const char *as, int fd, long long *ret_size,
               struct err *err)
{
        static const struct commit_filter f = {.kernel_fs = true};
        const char *name = as ? as : src->base;

        /* Docker names the entries of "/" "/", "/bin", ...: tar takes them as "./...". */
        return commit_write_tree(src->pfd, src->name, strcmp(name, "/") ? name : ".", &f, fd,
                                 ret_size, err);
}

/* Docker's checkWritablePath, read from the mounts themselves: the directory's mount is
 * read-only, and it is the root's or another's (a volume, a bind, a tmpfs). */
static int writable(const struct cp_view *v, int dirfd, struct err *err)
{
        struct statx a, b;
        struct statvfs sv;

        if (fstatvfs(dirfd, &sv) < 0)
                return err_errno(err, "looking at the destination");
        if (!(sv.f_flag & ST_RDONLY))
                return 0;
        if (statx(dirfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &a) == 0 &&
            statx(v->root, "", AT_EMPTY_PATH, STATX_MNT_ID, &b) == 0 &&
            a.stx_mnt_id == b.stx_mnt_id)
                return err_set(err, -EROFS, "container rootfs is marked read-only");
        return err_set(err, -EROFS, "mounted volume is marked read-only");
}

int cp_view_dest(const struct cp_view *v, const char *dir, int *ret_fd, char **ret_shown,
                 struct err *err)
{
        _cleanup_free_ char *joined = util_printf("/%s", dir), *resolved = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!joined)
                return err_set(err, -ENOMEM, "looking at %s", dir);
        r = cp_eval_links(v->root, joined, true, &resolved, err);
        if (r == -ENOENT)
                return not_found(v, dir, err);
        if (r < 0)
                return r;
        fd = fs_open_in_root(v->root, resolved, O_RDONLY | O_DIRECTORY, 0);
        if (fd == -ENOTDIR)
                return err_set(err, -ENOTDIR, "extraction point is not a directory");
        if (fd == -ENOENT)
                return not_found(v, dir, err);
        if (fd < 0)
                return lstat_failed(fd, resolved, err);
        r = writable(v, fd, err);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        *ret_shown = TAKE_PTR(resolved);
        return 0;
}
