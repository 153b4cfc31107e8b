#include <dirent.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"

int fs_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t fs_read_all(int fd, void *buf, size_t len)
{
        size_t got = 0;

        while (got < len) {
                ssize_t n = read(fd, (char *)buf + got, len - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

int fs_read_file(const char *path, char **ret, size_t *ret_len, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t cap = 4096, len = 0;

        if (fd < 0)
                return err_errno(err, "opening %s", path);
        buf = malloc(cap);
        if (!buf)
                return err_set(err, -ENOMEM, "reading %s", path);
        for (;;) {
                ssize_t n;
                if (len + 1 >= cap) {
                        char *nb = realloc(buf, cap * 2);
                        if (!nb)
                                return err_set(err, -ENOMEM, "reading %s", path);
                        buf = nb;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_errno(err, "reading %s", path);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
        char tmp[PATH_MAX];
        _cleanup_close_ int fd = -1;
        int r;

        r = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
        if (r < 0 || (size_t)r >= sizeof(tmp))
                return err_set(err, -ENAMETOOLONG, "path too long: %s", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return err_errno(err, "creating %s", tmp);
        r = fs_write_all(fd, data, len);
        if (r < 0) {
                unlink(tmp);
                errno = -r;
                return err_errno(err, "writing %s", tmp);
        }
        if (rename(tmp, path) < 0) {
                r = err_errno(err, "renaming %s", tmp);
                unlink(tmp);
                return r;
        }
        return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *err)
{
        char buf[PATH_MAX];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return err_set(err, -ENAMETOOLONG, "path too long: %s", path);
        /* Mostly the parents exist: one system call instead of one per component. */
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return err_errno(err, "creating directory %s", path);
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return err_errno(err, "creating directory %s", buf);
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return err_errno(err, "creating directory %s", buf);
        return 0;
}

static int rm_rf_children(int dfd, dev_t dev, struct err *err)
{
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                close(dfd);
                return err_errno(err, "reading directory");
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int cfd;
                        if (st.st_dev != dev)
                                return err_set(err, -EBUSY, "%s is a mount point", de->d_name);
                        cfd = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0)
                                return err_errno(err, "opening %s", de->d_name);
                        r = rm_rf_children(cfd, dev, err);
                        if (r < 0)
                                return r;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                return err_errno(err, "removing %s", de->d_name);
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        return err_errno(err, "removing %s", de->d_name);
                }
        }
        return 0;
}

int fs_rm_rf_at(int dirfd, const char *name, struct err *err)
{
        struct stat st;
        int fd, r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_errno(err, "inspecting %s", name);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return err_errno(err, "removing %s", name);
                return 0;
        }
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening %s", name);
        r = rm_rf_children(fd, st.st_dev, err);
        if (r < 0)
                return err_wrap(err, "removing %s", name);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return err_errno(err, "removing %s", name);
        return 0;
}

int fs_rm_rf(const char *path, struct err *err)
{
        return fs_rm_rf_at(AT_FDCWD, path, err);
}

static long long tree_size_at(int dfd)
{
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        struct dirent *de;
        long long sum = 0;

        if (!d) {
                close(dfd);
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        int cfd = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0)
                                sum += tree_size_at(cfd);
                } else if (S_ISREG(st.st_mode) && st.st_nlink <= 1) {
                        sum += st.st_size;
                } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
                        sum += S_ISLNK(st.st_mode) ? st.st_size : st.st_size / (off_t)st.st_nlink;
                }
        }
        return sum;
}

long long fs_tree_size(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? 0 : tree_size_at(fd);
}

int fs_write_string(const char *path, const char *s, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return err_errno(err, "opening %s", path);
        r = fs_write_all(fd, s, strlen(s));
        if (r < 0) {
                errno = -r;
                return err_errno(err, "writing '%s' to %s", s, path);
        }
        return 0;
}

static int copy_meta(int dfd, const char *name, const struct stat *st, int flags)
{
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (fchownat(dfd, name, st->st_uid, st->st_gid, flags) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        return utimensat(dfd, name, ts, flags) < 0 ? -errno : 0;
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st)
{
        _cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;

        if (in < 0)
                return -errno;
        out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (fs_write_all(out, buf, (size_t)n) < 0)
                        return -EIO;
        if (n < 0)
                return -errno;
        return copy_meta(ddir, name, st, AT_SYMLINK_NOFOLLOW);
}

static int copy_entry(int sdir, int ddir, const char *name, struct err *err)
{
        struct stat st;
        char target[PATH_MAX];
        ssize_t n;
        int r = 0;

        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return err_errno(err, "copying %s", name);
        if (S_ISDIR(st.st_mode)) {
                int s2, d2;
                if (mkdirat(ddir, name, 0700) < 0 && errno != EEXIST)
                        return err_errno(err, "copying %s", name);
                s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s2 >= 0 && d2 >= 0)
                        r = fs_copy_tree(s2, d2, err);
                else
                        r = err_errno(err, "copying %s", name);
                if (s2 >= 0)
                        close(s2);
                if (d2 >= 0)
                        close(d2);
                return r;
        }
        if (S_ISREG(st.st_mode))
                r = copy_file(sdir, ddir, name, &st);
        else if (S_ISLNK(st.st_mode)) {
                n = readlinkat(sdir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return err_errno(err, "copying %s", name);
                target[n] = '\0';
                r = symlinkat(target, ddir, name) < 0
                            ? -errno
                            : copy_meta(ddir, name, &st, AT_SYMLINK_NOFOLLOW);
        }
        if (r < 0) {
                errno = -r;
                return err_errno(err, "copying %s", name);
        }
        return 0;
}

int fs_copy_tree(int src_dir, int dst_dir, struct err *err)
{
        int fd = dup(src_dir);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        struct stat st;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return err_errno(err, "reading a directory to copy");
        }
        while ((de = readdir(d))) {
                int r;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                r = copy_entry(src_dir, dst_dir, de->d_name, err);
                if (r < 0)
                        return r;
        }
        if (fstat(src_dir, &st) == 0 &&
            (fchown(dst_dir, st.st_uid, st.st_gid) < 0 || fchmod(dst_dir, st.st_mode & 07777) < 0))
                return err_errno(err, "copying the directory's owner and mode");
        return 0;
}

int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .mode = (flags & O_CREAT) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        while (*path == '/')
                path++;
        /* EAGAIN: a rename somewhere raced a ".." step (anyone may rename in a container);
         * a few tries, then the caller hears it. */
        for (int tries = 0;; tries++) {
                fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
                if (fd >= 0 || (errno != EINTR && (errno != EAGAIN || tries >= 16)))
                        break;
        }
        return fd < 0 ? -errno : (int)fd;
}

bool fs_is_mount_point(const char *path)
{
        _cleanup_free_ char *parent = malloc(strlen(path) + 4);
        struct statx a, b;

        if (!parent)
                return false;
        sprintf(parent, "%s/..", path);
        return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &a) == 0 &&
               statx(AT_FDCWD, parent, 0, STATX_MNT_ID, &b) == 0 && (a.stx_mask & STATX_MNT_ID) &&
               a.stx_mnt_id != b.stx_mnt_id;
}
