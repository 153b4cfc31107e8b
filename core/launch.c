#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <grp.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "caps.h"
#include "launch.h"
#include "secprof.h"
#include "net/loopback.h"
#include "user.h"

/* On the wire from child to monitor: one message per failure. */
struct launch_msg {
        int32_t exit_code;
        int32_t code;
        char msg[ERR_MSG_MAX];
};

int launch_send_error(int fd, int exit_code, const struct err *err)
{
        struct launch_msg m = {.exit_code = exit_code, .code = err->code};

        memcpy(m.msg, err->msg, sizeof(m.msg));
        return send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int launch_send_fd(int sock, int fd)
{
        char c = 'F';
        struct iovec iov = {.iov_base = &c, .iov_len = 1};
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {0};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int launch_recv_result(int fd, int *ret_exit_code, int *ret_fd, struct err *err)
{
        struct launch_msg m;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf)};
        ssize_t n;

        for (;;) {
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                break;
        }
        if (n < 0)
                return err_errno(err, "waiting for the container to start");
        if (n == 0)
                return 0;
        if (n == 1 && ret_fd) {
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                if (!cm || cm->cmsg_type != SCM_RIGHTS)
                        return err_set(err, -EPROTO, "container init sent no terminal");
                memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
                return 1;
        }
        if ((size_t)n != sizeof(m))
                return err_set(err, -EPROTO, "short message from container init");
        m.msg[sizeof(m.msg) - 1] = '\0';
        *ret_exit_code = m.exit_code;
        return err_set(err, m.code ? -m.code : -EIO, "%s", m.msg);
}

/* ---- paths inside the new root: never follow a symlink out of it ---- */

static int open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        return fs_open_in_root(rootfd, path, flags, mode);
}

/* mkdir -p of path within the root; returns an O_PATH fd of the final directory. */
static int mkdir_in_root(int rootfd, const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1;; p++) {
                bool end = *p == '\0';
                if (*p != '/' && !end)
                        continue;
                *p = '\0';
                {
                        _cleanup_close_ int parent = -1;
                        char *slash = strrchr(buf, '/');
                        const char *leaf = slash ? slash + 1 : buf;
                        int r;
                        if (*leaf) {
                                if (slash)
                                        *slash = '\0';
                                parent = open_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
                                if (slash)
                                        *slash = '/';
                                if (parent < 0)
                                        return parent;
                                r = mkdirat(parent, leaf, mode);
                                if (r < 0 && errno != EEXIST)
                                        return -errno;
                        }
                }
                if (end)
                        break;
                *p = '/';
        }
        return open_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
}

/* Creates (if needed) a regular file to bind onto; returns an O_PATH fd to it. */
static int mkfile_in_root(int rootfd, const char *path)
{
        char dir[PATH_MAX];
        _cleanup_close_ int dfd = -1;
        const char *slash = strrchr(path, '/');
        int fd;

        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        dfd = mkdir_in_root(rootfd, dir, 0755);
        if (dfd < 0)
                return dfd;
        fd = open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
        if (fd >= 0)
                return fd;
        fd = open_in_root(rootfd, path, O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
        if (fd < 0)
                return fd;
        close(fd);
        return open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
}

static int fd_path(int fd, char out[64])
{
        snprintf(out, 64, "/proc/self/fd/%d", fd);
        return 0;
}

/* ---- the mount table ---- */

/* The container's /proc/sys, writable, for --sysctl (the child's only; -1: none). */
static int sysctl_dir = -1;
/* The state JSON of an OCI container's hooks (the init's copy; launch_send_state), and
 * whether the init had its handshake with the caller (create_container_hooks). */
static char *hook_state;
static bool hooks_shaken;
/* The init entered its user namespace (and the namespaces joined by path) in an
 * intermediate process, before its own clone (userns_joined_child). */
static bool userns_early;

struct mount_step {
        const char *source, *target, *fstype;
        unsigned long flags;
        const char *data;
        bool skip_host_net; /* sysfs of the host netns cannot be mounted fresh */
};

static const struct mount_step mount_table[] = {
        {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
        {"tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", false},
        {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
         "newinstance,ptmxmode=0666,mode=0620,gid=5", false},
        {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
         false},
        {"mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
        {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, false},
};

struct dev_node {
        const char *name;
        unsigned maj, min;
};

static const struct dev_node dev_nodes[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const char *const dev_links[][2] = {
        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"},
};

static const char *const masked_paths[] = {
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int mount_at(int rootfd, const struct mount_step *m, struct err *err)
{
        _cleanup_close_ int fd = mkdir_in_root(rootfd, m->target, 0755);
        char p[64];

        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "creating mount point %s", m->target);
        }
        fd_path(fd, p);
        if (mount(m->source, p, m->fstype, m->flags, m->data) < 0)
                return err_errno(err, "mounting %s on %s", m->fstype, m->target);
        return 0;
}

/* Attaches the detached mount tree (open_tree) at target, created in the root. */
static int attach_at(int rootfd, int tree, const char *target, struct err *err)
{
        _cleanup_close_ int fd = mkdir_in_root(rootfd, target, 0755);

        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "creating mount point %s", target);
        }
        /* On the descriptor itself: move_mount does not follow /proc/self/fd links. */
        if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return err_errno(err, "mounting %s", target);
        return 0;
}

/* Creates the node at path (a /dev/... path, made in place) and binds it onto itself; a
 * node meant for another place is made under /dev as a temporary name, bound there and
 * unlinked. The bind keeps the device usable once /dev itself is remounted nodev. */
static int bind_file(int rootfd, const char *src, const char *target, bool readonly,
                     struct err *err);

static int make_node(int rootfd, int dev, const char *path, mode_t type_mode, dev_t rdev, uid_t uid,
                     gid_t gid, bool bind, struct err *err)
{
        _cleanup_close_ int dir = -1, node = -1;
        bool in_dev = !strncmp(path, "/dev/", 5) && path[5];
        char rel[PATH_MAX], p[64];
        const char *leaf;

        if (in_dev) {
                const char *slash = strrchr(path, '/');
                snprintf(rel, sizeof(rel), "%.*s", (int)(slash - path), path);
                dir = mkdir_in_root(rootfd, rel, 0755);
                leaf = slash + 1;
        } else {
                dir = fcntl(dev, F_DUPFD_CLOEXEC, 3);
                snprintf(rel, sizeof(rel), ".hawser-dev-%d", (int)getpid());
                leaf = rel;
        }
        if (dir < 0) {
                errno = dir == -1 ? errno : -dir;
                return err_errno(err, "creating the directory of %s", path);
        }
        unlinkat(dir, leaf, 0); /* a --device onto a default node replaces it */
        if (mknodat(dir, leaf, type_mode, rdev) < 0 || fchownat(dir, leaf, uid, gid, 0) < 0 ||
            fchmodat(dir, leaf, type_mode & 07777, 0) < 0)
                return err_errno(err, "creating device %s", path);
        if (!bind)
                return 0;
        node = openat(dir, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (node < 0)
                return err_errno(err, "opening device %s", path);
        fd_path(node, p);
        if (in_dev) {
                if (mount(p, p, NULL, MS_BIND, NULL) < 0)
                        return err_errno(err, "binding device %s", path);
                return 0;
        }
        if (bind_file(rootfd, p, path, false, err) < 0)
                return -err->code;
        unlinkat(dir, leaf, 0);
        return 0;
}

/* Whether the init runs in a user namespace of its own (it cannot mknod there). */
static bool own_userns(const struct launch_spec *s)
{
        return s->oci && s->oci->uid_map;
}

static int setup_dev(int rootfd, const struct launch_spec *s, struct err *err)
{
        _cleanup_close_ int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
        char path[32], p[64];
        int r = 0;

        if (dev < 0) {
                errno = -dev;
                return err_errno(err, "opening /dev");
        }
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(dev_nodes); i++) {
                const struct dev_node *d = &dev_nodes[i];
                bool listed = false;
                snprintf(path, sizeof(path), "/dev/%s", d->name);
                /* A device the spec lists itself (an OCI --privileged config lists every
                 * host device) is made from its entry below, as runc's list replaces its
                 * defaults. */
                for (size_t k = 0; k < s->n_devices && !listed; k++)
                        listed = !strcmp(s->devices[k].path, path);
                if (listed)
                        continue;
                /* In a user namespace no node can be made: the host's is bound in, as runc
                 * does. */
                r = own_userns(s) ? bind_file(rootfd, path, path, false, err)
                                  : make_node(rootfd, dev, path, S_IFCHR | 0666,
                                              makedev(d->maj, d->min), 0, 0, !s->privileged, err);
        }
        for (size_t i = 0; r >= 0 && i < s->n_devices; i++) {
                const struct device_node *d = &s->devices[i];
                r = own_userns(s) ? bind_file(rootfd, d->path, d->path, false, err)
                                  : make_node(rootfd, dev, d->path, d->type | d->mode,
                                              makedev(d->major, d->minor), d->uid, d->gid,
                                              !s->privileged, err);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
                /* /dev/core only where the kernel has /proc/kcore, as runc makes it. */
                if ((strcmp(dev_links[i][1], "core") || access("/proc/kcore", F_OK) == 0) &&
                    symlinkat(dev_links[i][0], dev, dev_links[i][1]) < 0 && errno != EEXIST)
                        return err_errno(err, "creating /dev/%s", dev_links[i][1]);
        if (s->privileged || s->device_cgroup)
                return 0;
        /* From here a node made in /dev opens nothing; the ones above are bound in. */
        fd_path(dev, p);
        if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) < 0)
                return err_errno(err, "making /dev nodev");
        return 0;
}

static int bind_readonly(int rootfd, const char *path, struct err *err);

/* /etc/hosts, /etc/hostname, /etc/resolv.conf: bound from the state dir; read-only inside a
 * --read-only container (as Docker mounts them), still rewritten from outside. */
static int bind_file(int rootfd, const char *src, const char *target, bool readonly,
                     struct err *err)
{
        _cleanup_close_ int fd = -1;
        char p[64];

        if (!src)
                return 0;
        fd = mkfile_in_root(rootfd, target);
        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "creating %s", target);
        }
        fd_path(fd, p);
        if (mount(src, p, NULL, MS_BIND, NULL) < 0)
                return err_errno(err, "binding %s", target);
        return readonly ? bind_readonly(rootfd, target, err) : 0;
}

static int mask_paths(int rootfd, const struct launch_spec *s, struct err *err)
{
        size_t n_masked =
                s->masked_paths ? util_strv_len(s->masked_paths) : ARRAY_SIZE(masked_paths);
        size_t n_ro =
                s->readonly_paths ? util_strv_len(s->readonly_paths) : ARRAY_SIZE(readonly_paths);

        for (size_t i = 0; i < n_masked; i++) {
                const char *path = s->masked_paths ? s->masked_paths[i] : masked_paths[i];
                _cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH, 0);
                struct stat st;
                char p[64];
                if (fd < 0 || fstat(fd, &st) < 0)
                        continue;
                fd_path(fd, p);
                if (S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0
                                        : mount("/dev/null", p, NULL, MS_BIND, NULL) < 0)
                        return err_errno(err, "masking %s", path);
        }
        for (size_t i = 0; i < n_ro; i++) {
                int r = bind_readonly(
                        rootfd, s->readonly_paths ? s->readonly_paths[i] : readonly_paths[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The remount must name the new bind mount, so the path is opened again after binding. */
static int bind_readonly(int rootfd, const char *path, struct err *err)
{
        _cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH, 0), top = -1;
        char p[64];

        if (fd < 0)
                return 0;
        fd_path(fd, p);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_errno(err, "binding %s", path);
        top = open_in_root(rootfd, path, O_PATH, 0);
        if (top < 0) {
                errno = -top;
                return err_errno(err, "reopening %s", path);
        }
        fd_path(top, p);
        if (mount(NULL, p, NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return err_errno(err, "making %s read-only", path);
        return 0;
}

static int mount_rootfs(const struct launch_spec *s, struct err *err)
{
        _cleanup_free_ char *opts = NULL;

        /* An OCI container's mounts are slaves of the host's, as runc makes them (so its
         * rslave and rshared binds see the host's new mounts); rootfsPropagation's shared
         * forms come after pivot_root, which a shared root would refuse. */
        unsigned long prop = MS_PRIVATE;
        if (s->oci)
                prop = s->oci->rootfs_propagation & (MS_PRIVATE | MS_UNBINDABLE) ? MS_PRIVATE
                                                                                 : MS_SLAVE;
        if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0)
                return err_errno(err, "making mounts private");
        /* pivot_root needs a mount point: the bundle's directory becomes one. */
        if (!s->lowerdir && mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_errno(err, "binding the root filesystem %s", s->rootfs);
        if (!s->lowerdir)
                return 0;
        opts = util_printf("lowerdir=%s,upperdir=%s,workdir=%s", s->lowerdir, s->upperdir,
                           s->workdir);
        if (!opts)
                return err_set(err, -ENOMEM, "mounting rootfs");
        if (mount("overlay", s->rootfs, "overlay", s->privileged ? 0 : MS_NODEV, opts) < 0)
                return err_errno(err, "mounting the container's root filesystem (overlay)");
        return 0;
}

/* Mount flags a bind remount must keep: those of the mount it came from (a bind remount
 * sets all of them, and dropping the source's nosuid or noexec would open it up). */
static unsigned long kept_flags(const char *p)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {{ST_NOSUID, MS_NOSUID},    {ST_NODEV, MS_NODEV},
                   {ST_NOEXEC, MS_NOEXEC},    {ST_RDONLY, MS_RDONLY},
                   {ST_NOATIME, MS_NOATIME},  {ST_NODIRATIME, MS_NODIRATIME},
                   {ST_RELATIME, MS_RELATIME}};
        struct statvfs sv;
        unsigned long f = 0;

        if (statvfs(p, &sv) < 0)
                return 0;
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (sv.f_flag & map[i].st)
                        f |= map[i].ms;
        return f;
}

/* An OCI config's kernel filesystem (proc, sysfs, mqueue, devpts, cgroup...) at its target. */
static int fs_mount(int rootfd, const struct launch_mount *m, struct err *err)
{
        struct mount_step step = {m->source, m->target, m->fstype, m->flags, m->data, false};

        if (m->readonly)
                step.flags |= MS_RDONLY;
        return mount_at(rootfd, &step, err);
}

/* nosuid, nodev, noexec and read-only when asked on the mount at target. */
static int remount_flags(int rootfd, const char *target, bool readonly, struct err *err)
{
        _cleanup_close_ int fd = open_in_root(rootfd, target, O_PATH, 0);
        char p[64];

        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "reopening %s", target);
        }
        fd_path(fd, p);
        if (mount(NULL, p, NULL,
                  MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                          (readonly ? MS_RDONLY : 0),
                  NULL) < 0)
                return err_errno(err, "making %s read-only", target);
        return 0;
}

/* A cgroup directory bound at target. */
static int bind_cgroup(int rootfd, const char *dir, const char *target, struct err *err)
{
        _cleanup_close_ int fd = mkdir_in_root(rootfd, target, 0755);
        char p[64];

        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "creating mount point %s", target);
        }
        fd_path(fd, p);
        if (mount(dir, p, NULL, MS_BIND, NULL) < 0)
                return err_errno(err, "binding cgroup %s on %s", dir, target);
        return 0;
}

/* The container's own cgroups at /sys/fs/cgroup, as runc makes the v1 view: a tmpfs and in
 * it each hierarchy's cgroup of this container only (never the host's whole tree); on
 * cgroup v2 its cgroup itself. Then nosuid, nodev, noexec and read-only when asked, all of
 * it at once (mount_setattr, recursive). */
static int cgroup_own_mount(int rootfd, const struct launch_mount *m, struct err *err)
{
        char *const *v = m->cgroup_views;
        _cleanup_close_ int fd = -1, top = -1;
        char p[64];
        int r = 0;

        if (v && v[0] && !v[0][0]) {
                r = bind_cgroup(rootfd, v[1], m->target, err);
        } else {
                fd = mkdir_in_root(rootfd, m->target, 0755);
                if (fd < 0) {
                        errno = -fd;
                        return err_errno(err, "creating mount point %s", m->target);
                }
                fd_path(fd, p);
                if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
                        return err_errno(err, "mounting tmpfs on %s", m->target);
                for (; r >= 0 && v && v[0] && v[1]; v += 2) {
                        _cleanup_free_ char *target = util_printf("%s/%s", m->target, v[0]);
                        r = target ? bind_cgroup(rootfd, v[1], target, err)
                                   : err_set(err, -ENOMEM, "mounting %s", m->target);
                }
        }
        if (r < 0)
                return r;
        top = open_in_root(rootfd, m->target, O_PATH, 0);
        if (top < 0) {
                errno = -top;
                return err_errno(err, "reopening %s", m->target);
        }
        if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE,
                          &(struct mount_attr){.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                           MOUNT_ATTR_NOEXEC |
                                                           (m->readonly ? MOUNT_ATTR_RDONLY : 0)},
                          sizeof(struct mount_attr)) == 0)
                return 0;
        if (errno != ENOSYS)
                return err_errno(err, "making %s read-only", m->target);
        /* A kernel before 5.12: each mount remounted, the binds first (none has mounts below
         * it). */
        for (v = m->cgroup_views; r >= 0 && v && v[0] && v[0][0] && v[1]; v += 2) {
                _cleanup_free_ char *target = util_printf("%s/%s", m->target, v[0]);
                r = target ? remount_flags(rootfd, target, m->readonly, err)
                           : err_set(err, -ENOMEM, "mounting %s", m->target);
        }
        return r < 0 ? r : remount_flags(rootfd, m->target, m->readonly, err);
}

/* Volumes, binds and tmpfs mounts are nodev unless the container is privileged: a device
 * node in a volume or a host directory opens nothing. */
static int user_mount(int rootfd, const struct launch_mount *m, bool privileged, struct err *err)
{
        _cleanup_close_ int fd = -1, top = -1;
        unsigned long nodev = privileged ? 0 : MS_NODEV, top_only = 0;
        struct stat st;
        char p[64];

        if (m->cgroup_own)
                return cgroup_own_mount(rootfd, m, err);
        if (m->fstype)
                return fs_mount(rootfd, m, err);
        if (!m->tmpfs && stat(m->source, &st) < 0)
                return err_errno(err, "mount source %s", m->source);
        /* The target is resolved inside the root: a symlink planted in the image or an
         * earlier volume cannot send the mount onto the host. */
        fd = !m->tmpfs && !S_ISDIR(st.st_mode) ? mkfile_in_root(rootfd, m->target)
                                               : mkdir_in_root(rootfd, m->target, 0755);
        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "creating mount point %s", m->target);
        }
        fd_path(fd, p);
        if (m->tmpfs ? mount("tmpfs", p, "tmpfs", m->flags | nodev, m->data) < 0
                     : mount(m->source, p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return err_errno(err, "mounting %s on %s", m->tmpfs ? "tmpfs" : m->source,
                                 m->target);
        if (!m->readonly && (m->tmpfs || (!nodev && !m->flags)))
                return 0;
        top = open_in_root(rootfd, m->target, O_PATH, 0);
        if (top < 0) {
                errno = -top;
                return err_errno(err, "reopening %s", m->target);
        }
        /* Every mount below a recursive bind too: -v /:/host brings the host's /dev along,
         * and a read-only one every mount under the source (Docker 20.10 made only the top
         * read-only: -v /sys/fs/cgroup:/c:ro left each hierarchy writable). */
        if (!m->tmpfs && (nodev || m->readonly) &&
            mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE,
                          &(struct mount_attr){.attr_set = (nodev ? MOUNT_ATTR_NODEV : 0) |
                                                           (m->readonly ? MOUNT_ATTR_RDONLY : 0)},
                          sizeof(struct mount_attr)) < 0) {
                if (errno != ENOSYS)
                        return err_errno(err, "making %s %s", m->target,
                                         m->readonly ? "read-only" : "nodev");
                /* A kernel before 5.12: the top mount only, as Docker 20.10 does. */
                top_only = nodev;
        }
        fd_path(top, p);
        if ((m->readonly || (!m->tmpfs && m->flags) || top_only) &&
            mount(NULL, p, NULL,
                  MS_BIND | MS_REMOUNT | kept_flags(p) | (m->readonly ? MS_RDONLY : 0) |
                          (m->tmpfs ? 0 : m->flags) | top_only,
                  NULL) < 0)
                return err_errno(err, "making %s read-only", m->target);
        return 0;
}

/* An OCI mount's propagation option (shared, rslave...) on the mount just made. */
static int set_propagation(int rootfd, const struct launch_mount *m, struct err *err)
{
        _cleanup_close_ int fd = open_in_root(rootfd, m->target, O_PATH, 0);
        char p[64];

        if (fd < 0) {
                errno = -fd;
                return err_errno(err, "reopening %s", m->target);
        }
        fd_path(fd, p);
        if (mount(NULL, p, NULL, m->propagation, NULL) < 0)
                return err_errno(err, "setting the propagation of %s", m->target);
        return 0;
}

bool launch_mount_at(const struct launch_mount *v, size_t n, const char *target)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].target && !strcmp(v[i].target, target))
                        return true;
        return false;
}

static bool user_mounted(const struct launch_spec *s, const char *target)
{
        return launch_mount_at(s->mounts, s->n_mounts, target);
}

/* The generated /etc files; a user's mount on one of them is used instead. */
static int bind_files(int rootfd, const struct launch_spec *s, struct err *err)
{
        int r = 0;

        if (!user_mounted(s, "/etc/hosts"))
                r = bind_file(rootfd, s->hosts_path, "/etc/hosts", s->read_only, err);
        if (r >= 0 && !user_mounted(s, "/etc/hostname"))
                r = bind_file(rootfd, s->hostname_path, "/etc/hostname", s->read_only, err);
        if (r >= 0 && !user_mounted(s, "/etc/resolv.conf"))
                r = bind_file(rootfd, s->resolv_path, "/etc/resolv.conf", s->read_only, err);
        return r;
}

int launch_mount_files(const struct launch_spec *s, struct err *err)
{
        _cleanup_close_ int rootfd = -1;
        int r = mount_rootfs(s, err);

        if (r < 0)
                return r;
        rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return err_errno(err, "opening rootfs");
        for (size_t i = 0; r >= 0 && i < s->n_mounts; i++)
                r = user_mount(rootfd, &s->mounts[i], s->privileged, err);
        if (r >= 0)
                r = bind_files(rootfd, s, err);
        if (r >= 0 && s->read_only &&
            mount(NULL, s->rootfs, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                r = err_errno(err, "making the rootfs read-only");
        return r;
}

static int setup_mounts(const struct launch_spec *s, struct err *err)
{
        _cleanup_close_ int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (rootfd < 0)
                return err_errno(err, "opening rootfs");
        for (size_t i = 0; !s->own_mounts && i < ARRAY_SIZE(mount_table); i++) {
                struct mount_step step = mount_table[i];
                char shm[64];
                bool is_shm = !strcmp(step.target, "/dev/shm");
                /* --ipc none: no /dev/shm; host or container:X: that one. */
                if (is_shm && s->shm_source && !*s->shm_source)
                        continue;
                if (is_shm && s->shm_fd >= 0) {
                        r = attach_at(rootfd, s->shm_fd, "/dev/shm", err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (is_shm && s->shm_source) {
                        step = (struct mount_step){s->shm_source,    "/dev/shm", NULL,
                                                   MS_BIND | MS_REC, NULL,       false};
                } else if (is_shm && s->shm_size > 0) {
                        /* --shm-size: /dev/shm's size, in KiB as tmpfs takes it. */
                        snprintf(shm, sizeof(shm), "mode=1777,size=%lldk",
                                 (s->shm_size + 1023) / 1024);
                        step.data = shm;
                }
                r = mount_at(rootfd, &step, err);
                if (r < 0)
                        return r;
        }
        /* An OCI config's /dev is among its mounts: the nodes go in once it is there. */
        r = s->own_mounts ? 0 : setup_dev(rootfd, s, err);
        for (size_t i = 0; r >= 0 && i < s->n_mounts; i++) {
                r = user_mount(rootfd, &s->mounts[i], s->privileged, err);
                /* A sysfs belongs to a network namespace: in a user namespace that does not
                 * own the one joined, the host's /sys is bound in read-only, as runc does. */
                if (r == -EPERM && own_userns(s) && s->mounts[i].fstype &&
                    !strcmp(s->mounts[i].fstype, "sysfs")) {
                        struct launch_mount sys = {
                                .source = "/sys", .target = s->mounts[i].target, .readonly = true};
                        r = user_mount(rootfd, &sys, s->privileged, err);
                }
                if (r >= 0 && s->mounts[i].propagation)
                        r = set_propagation(rootfd, &s->mounts[i], err);
        }
        if (r >= 0 && s->own_mounts)
                r = setup_dev(rootfd, s, err);
        if (r >= 0)
                r = bind_files(rootfd, s, err);
        /* --sysctl is written after the network is wired (an interface's settings need
         * it), through the /proc/sys opened before it becomes read-only. */
        if (r >= 0 && s->sysctls && s->sysctls[0]) {
                sysctl_dir = open_in_root(rootfd, "/proc/sys", O_DIRECTORY | O_RDONLY, 0);
                if (sysctl_dir < 0) {
                        errno = -sysctl_dir;
                        r = err_errno(err, "opening /proc/sys");
                }
        }
        if (r >= 0 && (!s->privileged || s->masked_paths || s->readonly_paths))
                r = mask_paths(rootfd, s, err);
        return r;
}

/* Writes each --sysctl "a.b.c=v" to /proc/sys/a/b/c (the container's namespaces). */
static int write_sysctls(const struct launch_spec *s, struct err *err)
{
        for (char **kv = s->sysctls; kv && *kv; kv++) {
                const char *eq = strchr(*kv, '=');
                char path[256];
                _cleanup_close_ int fd = -1;
                size_t n;
                if (!eq || (size_t)(eq - *kv) >= sizeof(path))
                        continue;
                n = (size_t)(eq - *kv);
                memcpy(path, *kv, n);
                path[n] = '\0';
                for (char *p = path; *p; p++)
                        if (*p == '.')
                                *p = '/';
                fd = openat(sysctl_dir, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0)
                        return err_errno(err, "setting sysctl %.*s", (int)n, *kv);
        }
        return 0;
}

static int pivot(const struct launch_spec *s, struct err *err)
{
        if (chdir(s->rootfs) < 0)
                return err_errno(err, "entering rootfs");
        if (s->oci && s->oci->no_pivot) {
                /* --no-pivot (a root on ramfs, where pivot_root fails): the root is moved
                 * over / and entered with chroot; the old root stays below it. */
                if (mount(s->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                        return err_errno(err, "moving the root filesystem onto /");
                if (chroot(".") < 0)
                        return err_errno(err, "chroot");
        } else {
                /* pivot_root(".", ".") stacks the old root under the new one; detaching it
                 * leaves only the new root, without needing a directory for the old one. */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return err_errno(err, "pivot_root");
                if (umount2(".", MNT_DETACH) < 0)
                        return err_errno(err, "detaching the old root");
        }
        if (chdir("/") < 0)
                return err_errno(err, "chdir /");
        if (s->oci && s->oci->rootfs_propagation &&
            mount(NULL, "/", NULL, s->oci->rootfs_propagation, NULL) < 0)
                return err_errno(err, "setting the propagation of the root filesystem");
        /* A missing working directory is made, as runc does, while the root is writable. */
        if (s->cwd && *s->cwd) {
                _cleanup_close_ int d = mkdir_in_root(AT_FDCWD, s->cwd, 0755);
                (void)d;
        }
        /* The flags the root already has stay (in a user namespace they are locked). */
        if (s->read_only &&
            mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags("/"), NULL) < 0)
                return err_errno(err, "making the rootfs read-only");
        return 0;
}

/* The pty lives in the container's own devpts instance so `tty` shows /dev/pts/0 inside. */
static int setup_tty(int sync_fd, struct err *err)
{
        _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        char name[64];
        int slave, r;

        if (master < 0)
                return err_errno(err, "opening /dev/ptmx");
        if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return err_errno(err, "setting up the terminal");
        r = launch_send_fd(sync_fd, master);
        if (r < 0) {
                errno = -r;
                return err_errno(err, "sending the terminal");
        }
        slave = open(name, O_RDWR | O_NOCTTY);
        if (slave < 0)
                return err_errno(err, "opening %s", name);
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                return err_errno(err, "making %s the controlling terminal", name);
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return err_errno(err, "dup2");
        if (slave > 2)
                close(slave);
        return 0;
}

static int setup_stdio(const struct launch_spec *s, struct err *err)
{
        int null = open("/dev/null", O_RDWR);

        if (null < 0)
                return err_errno(err, "opening /dev/null");
        for (int i = 0; i < 3; i++)
                if (dup2(s->stdio[i] >= 0 ? s->stdio[i] : null, i) < 0)
                        return err_errno(err, "dup2");
        if (null > 2)
                close(null);
        if (setsid() < 0)
                return err_errno(err, "setsid");
        return 0;
}

/* ---- user, capabilities, exec ---- */

static char *read_small(const char *path)
{
        char *s = NULL;
        struct err e = {0};

        fs_read_file(path, &s, NULL, &e);
        return s;
}

/* A --group-add entry: a number, or a group name of the container's /etc/group. */
static int group_id(const char *name, const char *group, gid_t *ret, struct err *err)
{
        long long n;

        if (util_parse_ll(name, 0, UINT32_MAX - 1, &n) == 0) {
                *ret = (gid_t)n;
                return 0;
        }
        for (const char *l = group; l && *l;) {
                size_t len = strcspn(l, "\n"), k = strcspn(l, ":");
                if (k < len && k == strlen(name) && !strncmp(l, name, k)) {
                        const char *gid = strchr(l + k + 1, ':');
                        if (gid && gid < l + len) {
                                *ret = (gid_t)strtoul(gid + 1, NULL, 10);
                                return 0;
                        }
                }
                l += len + (l[len] == '\n');
        }
        return err_set(err, -ENOENT, "Unable to find group %s: no matching entries in group file",
                       name);
}

static int switch_user(const char *spec, char **group_add, char ***env, bool *ret_root,
                       struct err *err)
{
        _cleanup_free_ char *pw = read_small("/etc/passwd");
        _cleanup_free_ char *gr = read_small("/etc/group");
        struct user_ids ids;
        bool has_home = false;
        int r;

        r = user_resolve(spec, pw, gr, &ids, err);
        if (r < 0)
                return r;
        for (char **e = *env; e && *e; e++)
                has_home |= strncmp(*e, "HOME=", 5) == 0;
        if (!has_home) {
                _cleanup_free_ char *h = util_printf("HOME=%s", ids.home);
                if (!h || util_strv_push(env, h) < 0)
                        return err_set(err, -ENOMEM, "setting HOME");
        }
        /* Each group once: an OCI spec's additionalGids (Docker's list for --user with
         * --group-add) repeat the user's own groups, which runc and Docker list once. */
        for (char **g = group_add; g && *g; g++) {
                bool dup = false;
                gid_t id = 0;
                r = group_id(*g, gr, &id, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ids.ngroups && !dup; i++)
                        dup = ids.groups[i] == id;
                if (dup)
                        continue;
                if (ids.ngroups >= USER_MAX_GROUPS)
                        return err_set(err, -E2BIG, "too many groups");
                ids.groups[ids.ngroups++] = id;
        }
        if (setgroups(ids.ngroups, ids.groups) < 0)
                return err_errno(err, "setgroups");
        if (setgid(ids.gid) < 0)
                return err_errno(err, "setgid %u", (unsigned)ids.gid);
        if (setuid(ids.uid) < 0)
                return err_errno(err, "setuid %u", (unsigned)ids.uid);
        *ret_root = ids.uid == 0;
        return 0;
}

static const char *env_path(char **env)
{
        for (; env && *env; env++)
                if (!strncmp(*env, "PATH=", 5))
                        return *env + 5;
        return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* Looks argv0 up in PATH as Docker (runc) does, to report Docker's messages and codes. */
static int find_executable(const char *argv0, char **env, char out[PATH_MAX], int *ret_exit_code,
                           struct err *err)
{
        _cleanup_free_ char *path = NULL;
        char *save = NULL;
        struct stat st;

        *ret_exit_code = 127;
        if (strchr(argv0, '/')) {
                char eb[64];
                if (stat(argv0, &st) < 0)
                        return err_set(err, -ENOENT, "exec: \"%s\": stat %s: %s", argv0, argv0,
                                       util_go_strerror(errno, eb));
                snprintf(out, PATH_MAX, "%s", argv0);
                return 0;
        }
        path = strdup(env_path(env));
        if (!path)
                return err_set(err, -ENOMEM, "exec %s", argv0);
        for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                snprintf(out, PATH_MAX, "%s/%s", *dir ? dir : ".", argv0);
                if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                        return 0;
        }
        return err_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH", argv0);
}

static int load_filter(const struct launch_proc *p, uint64_t keep, struct err *err)
{
        if (p->seccomp_profile)
                return secprof_load_profile(p->seccomp_profile, keep, err);
        return p->seccomp_bpf ? secprof_install(p->seccomp_bpf, err) : secprof_load(keep, err);
}

/* Without no_new_privs the filter must be loaded while CAP_SYS_ADMIN is still held; with
 * it, as late as possible, so the filter never sees hawser's own setup. */
static int filter_early(const struct launch_proc *p, uint64_t keep, struct err *err)
{
        return p->seccomp && !p->no_new_privs ? load_filter(p, keep, err) : 0;
}

static int filter_late(const struct launch_proc *p, uint64_t keep, struct err *err)
{
        return p->seccomp && p->no_new_privs ? load_filter(p, keep, err) : 0;
}

/* OCI create's end and start's beginning: like runc's exec.fifo, the fifo is reopened
 * through /proc/self/fd (its host path is outside the new root), which a process may do
 * with its own descriptors whatever its user. */
static int wait_start(const struct launch_proc *p, int *ret_exit_code, struct err *err)
{
        char path[64];
        int fd;

        *ret_exit_code = 125;
        close(p->ready_fd);
        fd_path(p->start_fifo, path);
        do
                fd = open(path, O_WRONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
                return err_errno(err, "opening the start fifo");
        if (write(fd, "0", 1) != 1) {
                close(fd);
                return err_errno(err, "writing the start fifo");
        }
        close(fd);
        close(p->start_fifo);
        if (p->oci && p->oci->run_hooks &&
            p->oci->run_hooks(p->oci->hooks_ctx, "startContainer", hook_state ?: "{}", err) < 0)
                return -err->code;
        return 0;
}

int launch_exec_process(const struct launch_proc *p, int *ret_exit_code, struct err *err)
{
        char exe[PATH_MAX];
        char **env = p->env;
        uint64_t keep = 0;
        bool root = true;
        int r = 0;

        *ret_exit_code = 125;
        if (p->caps)
                keep = p->caps->bounding;
        else
                r = caps_resolve(p->privileged ? caps_all() : caps_default(), p->cap_add,
                                 p->cap_drop, &keep, err);
        /* An OCI process's user keeps the sets its config gives it across setuid. */
        if (r >= 0 && p->caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                r = err_errno(err, "keeping capabilities");
        if (r >= 0 && p->cwd && *p->cwd && chdir(p->cwd) < 0)
                r = err_errno(err, "chdir to cwd (\"%s\") set in config.json failed", p->cwd);
        if (r >= 0)
                r = caps_drop_bounding(keep, err);
        if (r >= 0)
                r = filter_early(p, keep, err);
        if (r < 0)
                return r;
        *ret_exit_code = 126;
        r = switch_user(p->user, p->group_add, &env, &root, err);
        if (r >= 0 && p->caps)
                r = caps_apply_sets(p->caps->effective, p->caps->permitted, p->caps->inheritable,
                                    p->caps->ambient, err);
        else if (r >= 0)
                r = caps_apply(keep, root, err);
        if (r >= 0 && p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = err_errno(err, "setting no_new_privs");
        if (r < 0)
                return r;
        /* The parent-death signal is cleared by setuid(), so it is set again last. */
        if (!p->detach)
                prctl(PR_SET_PDEATHSIG, SIGKILL);
        r = find_executable(p->argv[0], env, exe, ret_exit_code, err);
        if (r >= 0 && p->start_fifo > 0)
                r = wait_start(p, ret_exit_code, err);
        if (r >= 0)
                r = filter_late(p, keep, err);
        if (r < 0)
                return r;
        execve(exe, p->argv, env);
        {
                int e = errno;
                char eb[64];
                *ret_exit_code = e == ENOENT ? 127 : 126;
                return err_set(err, -e, "exec: \"%s\": %s", p->argv[0], util_go_strerror(e, eb));
        }
}

/* ---- --init: PID 1 that reaps zombies and forwards signals ---- */

static volatile pid_t init_child;

static void init_forward(int sig)
{
        if (init_child > 0)
                kill(init_child, sig);
}

/* The init shares the monitor's memory image, so without this ps would show the hawser
 * command line (and the host path of the binary) as the container's PID 1. */
static void init_retitle(const struct launch_spec *s)
{
        size_t used = 0;

        prctl(PR_SET_NAME, "hawser-init");
        if (!s->title || s->title_len < 2)
                return;
        memset(s->title, 0, s->title_len);
        used = (size_t)snprintf(s->title, s->title_len, "hawser-init --");
        for (char **a = s->argv; a && *a && used + 2 < s->title_len; a++)
                used += (size_t)snprintf(s->title + used, s->title_len - used, " %s", *a);
        /* /proc/PID/cmdline splits at NUL: separate the words as a real argv would. */
        for (size_t i = 0; i < s->title_len && i < used; i++)
                if (s->title[i] == ' ')
                        s->title[i] = '\0';
}

static void __attribute__((noreturn)) init_loop(pid_t child)
{
        struct sigaction sa = {.sa_handler = init_forward};
        int status = 0;

        init_child = child;
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
                        sigaction(sig, &sa, NULL);
        for (;;) {
                pid_t p = waitpid(-1, &status, 0);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        _exit(1);
                if (p == child)
                        break;
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* ---- the child ---- */

static void __attribute__((noreturn)) child_fail(int fd, int exit_code, struct err *err)
{
        /* After an OCI create has returned nobody reads the socket: the process's stderr is
         * where its caller looks. */
        if (launch_send_error(fd, exit_code, err) < 0)
                dprintf(STDERR_FILENO, "hawser-runtime: %s\n", err->msg);
        _exit(exit_code);
}

int launch_send_state(struct launch *l, const char *state, struct err *err)
{
        size_t n = strlen(state) + 1;
        int buf = (int)(n + 4096);

        /* One message, however big the annotations make it: the buffer is made to fit
         * (SO_SNDBUFFORCE, the runtime is root; the plain option is capped by wmem_max). */
        if (n > 64 * 1024 &&
            setsockopt(l->sync_fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
                (void)setsockopt(l->sync_fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
        if (send(l->sync_fd, state, n, MSG_NOSIGNAL) < 0)
                return err_errno(err, "sending the hooks' state to the container");
        return 0;
}

/* The hooks' handshake, after the mounts (made or failed): "m" tells the caller the tree is
 * in place for its prestart and createRuntime hooks; the state it sends back then goes to
 * the createContainer hooks, run here before pivot_root (only when the mounts were made). */
static int create_container_hooks(const struct launch_oci *o, int fd, bool mounted, struct err *err)
{
        ssize_t n;
        size_t len;

        hooks_shaken = true;
        if (send(fd, "m", 1, MSG_NOSIGNAL) != 1)
                return err_errno(err, "telling the runtime the mounts are made");
        /* The message's whole length first (MSG_TRUNC reports it), then the message. */
        do
                n = recv(fd, &(char){0}, 1, MSG_PEEK | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return err_set(err, -EPIPE, "no state for the container's hooks");
        len = (size_t)n;
        hook_state = calloc(1, len + 1);
        if (!hook_state)
                return err_set(err, -ENOMEM, "hooks' state");
        do
                n = recv(fd, hook_state, len, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return err_set(err, -EPIPE, "no state for the container's hooks");
        return mounted ? o->run_hooks(o->hooks_ctx, "createContainer", hook_state, err) : 0;
}

int launch_wait_mounted(struct launch *l)
{
        char m = 0;
        ssize_t n;

        do
                n = recv(l->sync_fd, &m, 1, 0);
        while (n < 0 && errno == EINTR);
        /* EOF: the init died; launch_go reports it. */
        return n == 1 && m == 'm' ? 0 : -EPIPE;
}

/* The namespaces the spec joins by path. */
static int join_by_path(const struct launch_spec *s, struct err *err)
{
        if (s->netns_fd >= 0 && setns(s->netns_fd, CLONE_NEWNET) < 0)
                return err_errno(err, "joining the network namespace");
        if (s->ipcns_fd >= 0 && setns(s->ipcns_fd, CLONE_NEWIPC) < 0)
                return err_errno(err, "joining the IPC namespace");
        if (s->oci && s->oci->utsns_fd >= 0 && setns(s->oci->utsns_fd, CLONE_NEWUTS) < 0)
                return err_errno(err, "joining the UTS namespace");
        if (s->oci && s->oci->cgroupns_fd >= 0 && setns(s->oci->cgroupns_fd, CLONE_NEWCGROUP) < 0)
                return err_errno(err, "joining the cgroup namespace");
        return 0;
}

/* Everything the init does that does not need its network: the monitor wires the network
 * from outside at the same time, so both halves of a start run in parallel. */
static int prepare(const struct launch_spec *s, int fd, struct err *err)
{
        int r;

        if (!userns_early && join_by_path(s, err) < 0)
                return -err->code;
        if (s->new_netns && net_loopback_up(err) < 0)
                return -err->code;
        /* After the setns: /sys shows the network namespace it was mounted in. */
        r = mount_rootfs(s, err) < 0 || setup_mounts(s, err) < 0 ? -err->code : 0;
        if (s->oci && s->oci->run_hooks) {
                struct err herr = {0};
                int h = create_container_hooks(s->oci, fd, r >= 0, &herr);
                if (r >= 0 && h < 0) {
                        *err = herr;
                        r = h;
                }
        }
        if (r < 0)
                return r;
        if (pivot(s, err) < 0)
                return -err->code;
        /* --uts host: the host's names are not the container's to change. */
        if (!s->host_uts && s->domainname && *s->domainname &&
            setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return err_errno(err, "setdomainname");
        if (!s->host_uts && s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return err_errno(err, "sethostname");
        if ((s->tty ? setup_tty(fd, err) : setup_stdio(s, err)) < 0)
                return -err->code;
        return 0;
}

/* An OCI container's process settings that hawser's own containers do not have. */
static int oci_process_setup(const struct launch_oci *o, struct err *err)
{
        if (o->personality_32 && personality(PER_LINUX32) < 0)
                return err_errno(err, "setting the personality LINUX32");
        /* A session keyring of its own, as runc gives each container: keys another
         * container or the host added to theirs are not its to read. */
        if (o->session_keyring &&
            syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, o->session_keyring) < 0 &&
            errno != ENOSYS)
                return err_errno(err, "joining a session keyring of its own");
        if (o->apparmor_profile && launch_apparmor_exec(o->apparmor_profile, err) < 0)
                return -err->code;
        /* IOPRIO_WHO_PROCESS, this process: its exec keeps the class and level. */
        if (o->has_ioprio && syscall(SYS_ioprio_set, 1, 0, o->ioprio) < 0)
                return err_errno(err, "setting the I/O priority");
        if (o->has_sched && syscall(SYS_sched_setattr, 0, &o->sched, 0) < 0)
                return err_errno(err, "setting the scheduler");
        return launch_pass_fds(o->preserve_fds, err);
}

int launch_apparmor_exec(const char *profile, struct err *err)
{
        _cleanup_free_ char *cmd = util_printf("exec %s", profile);
        int fd = open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                fd = open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || !cmd) {
                if (fd >= 0)
                        close(fd);
                return err_errno(err, "setting the AppArmor profile %s", profile);
        }
        n = write(fd, cmd, strlen(cmd));
        close(fd);
        return n < 0 ? err_errno(err, "setting the AppArmor profile %s", profile) : 0;
}

void launch_fill_fds(long long n)
{
        for (int fd = 3; fd < 3 + n && fd < 3 + (1 << 20); fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
                        /* The lowest free number: this one, the holes below being filled. */
                        int null = open("/dev/null", O_RDWR);
                        if (null >= 0 && null != fd) {
                                dup2(null, fd);
                                close(null);
                        }
                }
}

int launch_pass_fds(int n, struct err *err)
{
        /* Every other descriptor the caller left open (bats' fd 3, a shell's) closes. */
        for (int i = 0; i < n; i++)
                if (fcntl(3 + i, F_SETFD, 0) < 0 && errno != EBADF)
                        return err_errno(err, "keeping fd %d", 3 + i);
        if (close_range(3 + (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return err_errno(err, "closing inherited descriptors on exec");
        return 0;
}

/* Waits until the caller has written the maps, then becomes the namespace's root. */
static int enter_userns(int fd, struct err *err)
{
        char m;

        if (recv(fd, &m, 1, 0) != 1 || m != 'u')
                return err_set(err, -EPIPE, "the user namespace was not mapped");
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return err_errno(err, "becoming root in the user namespace (is 0 mapped?)");
        if (setgroups(0, NULL) < 0)
                return err_errno(err, "dropping supplementary groups in the user namespace");
        return 0;
}

static void __attribute__((noreturn)) child_main(const struct launch_spec *s, int fd)
{
        struct err err = {0};
        char go;
        int code = 125;
        char **env;
        bool prepared;

        if (!s->detach)
                prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (own_userns(s) && !userns_early && enter_userns(fd, &err) < 0) {
                (void)!read(fd, &go, 1);
                child_fail(fd, 125, &err);
        }
        if (s->set_umask)
                umask(s->umask);
        /* Until it execs, this process is the host's hawser binary inside the container:
         * not dumpable, its /proc/PID/exe needs CAP_SYS_PTRACE. */
        prctl(PR_SET_DUMPABLE, 0);
        prepared = prepare(s, fd, &err) >= 0;
        /* A failure before the mounts: the caller still waits for the handshake. */
        if (s->oci && s->oci->run_hooks && !hooks_shaken)
                (void)create_container_hooks(s->oci, fd, false, &(struct err){0});
        /* A failure is reported after the go: until then the monitor is attaching the
         * network to this process, and its error would hide the cause. */
        if (read(fd, &go, 1) != 1)
                _exit(125);
        if (!prepared)
                child_fail(fd, 125, &err);
        if (sysctl_dir >= 0) {
                if (write_sysctls(s, &err) < 0)
                        child_fail(fd, 125, &err);
                close(sysctl_dir);
        }
        /* --ulimit, while still root with every capability (a hard limit may go up). In a
         * user namespace the caller set them (launch_clone), with the host's privilege. */
        for (size_t i = 0; !own_userns(s) && i < s->n_rlimits; i++) {
                struct rlimit rl = {(rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard};
                if (setrlimit(s->rlimits[i].resource, &rl) < 0) {
                        err_errno(&err, "setting ulimit %d", s->rlimits[i].resource);
                        child_fail(fd, 125, &err);
                }
        }
        if (s->init) {
                pid_t p = fork();
                if (p < 0) {
                        err_errno(&err, "forking init");
                        child_fail(fd, 125, &err);
                }
                if (p > 0) {
                        /* The init never execs, so the monitor's descriptors (the CLI's start
                         * socket, the log, the attach socket) must not stay open in it. */
                        close_range(3, ~0U, 0);
                        init_retitle(s);
                        init_loop(p);
                }
        }
        if (s->oci && oci_process_setup(s->oci, &err) < 0)
                child_fail(fd, 125, &err);
        env = util_strv_dup(s->env);
        launch_exec_process(&(struct launch_proc){.argv = s->argv,
                                                  .env = env,
                                                  .cwd = s->cwd,
                                                  .user = s->user,
                                                  .privileged = s->privileged,
                                                  .cap_add = s->cap_add,
                                                  .cap_drop = s->cap_drop,
                                                  .group_add = s->group_add,
                                                  .seccomp = s->seccomp && !s->privileged,
                                                  .seccomp_profile = s->seccomp_profile,
                                                  .seccomp_bpf = s->seccomp_bpf,
                                                  .no_new_privs = s->no_new_privs && !s->privileged,
                                                  .caps = s->caps,
                                                  .detach = s->detach,
                                                  .start_fifo = s->start_fifo,
                                                  .ready_fd = fd,
                                                  .oci = s->oci},
                            &code, &err);
        child_fail(fd, code, &err);
}

static int write_map(pid_t pid, const char *file, const char *map, struct err *err)
{
        char path[64];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        /* The kernel takes the whole map in one write. */
        if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
                return err_errno(err, "writing %s", file);
        return 0;
}

/* The caller's half of a user namespace: the maps, the rlimits (raising a hard limit needs
 * the host's privilege), then the word that the init may go on. */
static int map_userns(const struct launch_spec *s, pid_t pid, int fd, struct err *err)
{
        if (write_map(pid, "uid_map", s->oci->uid_map, err) < 0 ||
            write_map(pid, "gid_map", s->oci->gid_map, err) < 0)
                return -err->code;
        for (size_t i = 0; i < s->n_rlimits; i++) {
                struct rlimit rl = {(rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard};
                if (prlimit(pid, s->rlimits[i].resource, &rl, NULL) < 0)
                        return err_errno(err, "setting rlimit %d", s->rlimits[i].resource);
        }
        if (send(fd, "u", 1, MSG_NOSIGNAL) != 1)
                return err_errno(err, "releasing the init in its user namespace");
        return 0;
}

/* Whether the spec joins a namespace by path (other than the PID namespace, which the
 * caller joins before the clone). */
static bool joins_by_path(const struct launch_spec *s)
{
        return s->netns_fd >= 0 || s->ipcns_fd >= 0 ||
               (s->oci && (s->oci->utsns_fd >= 0 || s->oci->cgroupns_fd >= 0));
}

/* A user namespace of its own with namespaces joined by path (a Kubernetes pod's network
 * namespace): joining those needs the host's privilege, so, in runc's order, this
 * intermediate process joins them first, then makes the user namespace (the caller writes
 * its maps), then the other new namespaces, then clones the init as the caller's child
 * (CLONE_PARENT), tells the caller its pid and exits. */
static void __attribute__((noreturn)) userns_joined_child(const struct launch_spec *s, int fd)
{
        unsigned long flags = CLONE_NEWNS;
        struct err err = {0};
        int gate[2];
        long pid;

        if (join_by_path(s, &err) < 0)
                goto fail;
        if (unshare(CLONE_NEWUSER) < 0) {
                err_errno(&err, "creating the user namespace");
                goto fail;
        }
        if (send(fd, "U", 1, MSG_NOSIGNAL) != 1 || enter_userns(fd, &err) < 0)
                goto fail;
        if (!s->host_uts && !(s->oci && s->oci->utsns_fd >= 0))
                flags |= CLONE_NEWUTS;
        if (!s->host_ipc && s->ipcns_fd < 0)
                flags |= CLONE_NEWIPC;
        if (!s->host_pid && s->pidns_fd < 0)
                flags |= CLONE_NEWPID;
        if (!s->host_cgroupns && !(s->oci && s->oci->cgroupns_fd >= 0))
                flags |= CLONE_NEWCGROUP;
        if (s->new_netns)
                flags |= CLONE_NEWNET;
        if (unshare(flags) < 0) {
                err_errno(&err, "creating the container's namespaces");
                goto fail;
        }
        if (pipe2(gate, O_CLOEXEC) < 0) {
                err_errno(&err, "pipe");
                goto fail;
        }
        userns_early = true;
        pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid == 0) {
                char c;
                /* Until the caller knows this pid, nothing else goes over the socket. */
                close(gate[1]);
                while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                        ;
                close(gate[0]);
                child_main(s, fd);
        }
        if (pid < 0) {
                err_errno(&err, "clone");
                goto fail;
        }
        (void)!send(fd, &(int32_t){(int32_t)pid}, sizeof(int32_t), MSG_NOSIGNAL);
        _exit(0);
fail:
        launch_send_error(fd, 125, &err);
        _exit(125);
}

/* The caller's half of userns_joined_child: the maps once the user namespace exists, then
 * the init's pid. */
static int userns_joined_parent(const struct launch_spec *s, pid_t mid, struct launch *l,
                                struct err *err)
{
        char buf[sizeof(int32_t)];
        int code = 125;
        ssize_t n;

        /* MSG_TRUNC: the message's whole length, so an error message is not taken for a
         * pid. */
        do
                n = recv(l->sync_fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n == 1 && buf[0] == 'U') {
                (void)!recv(l->sync_fd, buf, 1, 0);
                if (map_userns(s, mid, l->sync_fd, err) < 0)
                        return -err->code;
                do
                        n = recv(l->sync_fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC);
                while (n < 0 && errno == EINTR);
        }
        if (n == (ssize_t)sizeof(int32_t)) {
                int32_t pid;
                (void)!recv(l->sync_fd, &pid, sizeof(pid), 0);
                l->pid = (pid_t)pid;
                return 0;
        }
        /* An error message, or EOF. */
        return launch_recv_result(l->sync_fd, &code, NULL, err) < 0
                       ? -err->code
                       : err_set(err, -EPIPE, "the container's init was not started");
}

int launch_clone(const struct launch_spec *spec, struct launch *ret, struct err *err)
{
        unsigned long flags = CLONE_NEWNS | SIGCHLD;
        _cleanup_close_ int own_pidns = -1;
        int sv[2];
        long pid;

        if (spec->new_netns)
                flags |= CLONE_NEWNET;
        if (!spec->host_uts)
                flags |= CLONE_NEWUTS;
        if (!spec->host_ipc && spec->ipcns_fd < 0)
                flags |= CLONE_NEWIPC;
        if (!spec->host_pid && spec->pidns_fd < 0)
                flags |= CLONE_NEWPID;
        if (!spec->host_cgroupns)
                flags |= CLONE_NEWCGROUP;
        if (own_userns(spec))
                flags |= CLONE_NEWUSER;
        /* The intermediate makes every namespace itself (userns_joined_child). */
        if (own_userns(spec) && joins_by_path(spec))
                flags = SIGCHLD;
        /* --pid container:X: the init is born in X's PID namespace (a process cannot move
         * into one); this process goes back to its own right after. */
        if (spec->pidns_fd >= 0) {
                own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (own_pidns < 0 || setns(spec->pidns_fd, CLONE_NEWPID) < 0)
                        return err_errno(err, "joining the PID namespace");
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                if (own_pidns >= 0)
                        setns(own_pidns, CLONE_NEWPID);
                return err_errno(err, "creating the sync socket");
        }
        /* A raw clone without a stack behaves like fork() with namespace flags. */
        pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
        if (pid != 0 && own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0 && pid > 0) {
                int r = err_errno(err, "returning to the monitor's PID namespace");
                kill((pid_t)pid, SIGKILL);
                waitpid((pid_t)pid, NULL, 0);
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid < 0) {
                int r = err_errno(err, "clone");
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                if (own_userns(spec) && joins_by_path(spec))
                        userns_joined_child(spec, sv[1]);
                child_main(spec, sv[1]);
        }
        close(sv[1]);
        *ret = (struct launch){.pid = (pid_t)pid, .sync_fd = sv[0], .pty_master = -1};
        if (own_userns(spec) && joins_by_path(spec)) {
                int r = userns_joined_parent(spec, (pid_t)pid, ret, err);
                waitpid((pid_t)pid, NULL, 0); /* the intermediate */
                if (r < 0) {
                        if (ret->pid != (pid_t)pid) {
                                kill(ret->pid, SIGKILL);
                                waitpid(ret->pid, NULL, 0);
                        }
                        close(sv[0]);
                }
                return r;
        }
        if (own_userns(spec) && map_userns(spec, (pid_t)pid, sv[0], err) < 0) {
                int r = -err->code;
                kill((pid_t)pid, SIGKILL);
                waitpid((pid_t)pid, NULL, 0);
                close(sv[0]);
                return r;
        }
        return 0;
}

int launch_go(struct launch *l, int *ret_exit_code, struct err *err)
{
        int r, fd = -1;

        *ret_exit_code = 125;
        if (write(l->sync_fd, "g", 1) != 1)
                return err_errno(err, "starting the container");
        for (;;) {
                r = launch_recv_result(l->sync_fd, ret_exit_code, &fd, err);
                if (r != 1)
                        break;
                if (l->pty_master >= 0)
                        close(l->pty_master);
                l->pty_master = fd;
        }
        close(l->sync_fd);
        l->sync_fd = -1;
        return r;
}

int launch_rlimit_resource(const char *name)
{
        static const struct {
                const char *name;
                int res;
        } t[] = {
                {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
                {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
                {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
                {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
                {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
                {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
                {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
                {"stack", RLIMIT_STACK},
        };

        for (size_t i = 0; name && i < sizeof(t) / sizeof(t[0]); i++)
                if (!strcmp(t[i].name, name))
                        return t[i].res;
        return -1;
}
