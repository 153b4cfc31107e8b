#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/util.h"
#include "layer.h"
#include "tarsplit.h"

/* libarchive is loaded on first use: it pulls in libxml2, ICU and libstdc++, whose loading
 * would otherwise cost every command (a container start included) about two milliseconds. */
#define LAYER_ARCHIVE_FUNCS(X)                                                                     \
        X(archive_entry_atime)                                                                     \
        X(archive_entry_atime_is_set)                                                              \
        X(archive_entry_atime_nsec)                                                                \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_gid)                                                                       \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_hardlink_utf8)                                                             \
        X(archive_entry_mtime)                                                                     \
        X(archive_entry_mtime_nsec)                                                                \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_pathname_utf8)                                                             \
        X(archive_entry_perm)                                                                      \
        X(archive_entry_rdevmajor)                                                                 \
        X(archive_entry_rdevminor)                                                                 \
        X(archive_entry_size)                                                                      \
        X(archive_entry_symlink)                                                                   \
        X(archive_entry_symlink_utf8)                                                              \
        X(archive_entry_uid)                                                                       \
        X(archive_entry_xattr_next)                                                                \
        X(archive_entry_xattr_reset)                                                               \
        X(archive_error_string)                                                                    \
        X(archive_filter_bytes)                                                                    \
        X(archive_filter_count)                                                                    \
        X(archive_read_data_block)                                                                 \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open)                                                                       \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_all)                                                         \
        X(archive_read_support_filter_bzip2)                                                       \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_filter_lzma)                                                        \
        X(archive_read_support_filter_xz)                                                          \
        X(archive_read_support_filter_zstd)                                                        \
        X(archive_read_support_format_raw)                                                         \
        X(archive_read_support_format_tar)                                                         \
        X(archive_set_error)

#define LAYER_DECL(f) __typeof__(f) *f;
static struct {
        LAYER_ARCHIVE_FUNCS(LAYER_DECL)
} la;

#define LAYER_NAME(f) #f,
#define LAYER_SLOT(f) (void **)&la.f,
static int layer_load_archive(struct err *err)
{
        static const char *const names[] = {LAYER_ARCHIVE_FUNCS(LAYER_NAME)};
        static void **const slots[] = {LAYER_ARCHIVE_FUNCS(LAYER_SLOT)};
        static bool loaded;

        return util_dl_table("libarchive.so.13", names, slots, ARRAY_SIZE(names), &loaded, err);
}
#undef LAYER_NAME
#undef LAYER_SLOT

#define archive_entry_atime             (*la.archive_entry_atime)
#define archive_entry_atime_is_set      (*la.archive_entry_atime_is_set)
#define archive_entry_atime_nsec        (*la.archive_entry_atime_nsec)
#define archive_entry_filetype          (*la.archive_entry_filetype)
#define archive_entry_gid               (*la.archive_entry_gid)
#define archive_entry_hardlink          (*la.archive_entry_hardlink)
#define archive_entry_hardlink_utf8     (*la.archive_entry_hardlink_utf8)
#define archive_entry_mtime             (*la.archive_entry_mtime)
#define archive_entry_mtime_nsec        (*la.archive_entry_mtime_nsec)
#define archive_entry_pathname          (*la.archive_entry_pathname)
#define archive_entry_pathname_utf8     (*la.archive_entry_pathname_utf8)
#define archive_entry_perm              (*la.archive_entry_perm)
#define archive_entry_rdevmajor         (*la.archive_entry_rdevmajor)
#define archive_entry_rdevminor         (*la.archive_entry_rdevminor)
#define archive_entry_size              (*la.archive_entry_size)
#define archive_entry_symlink           (*la.archive_entry_symlink)
#define archive_entry_symlink_utf8      (*la.archive_entry_symlink_utf8)
#define archive_entry_uid               (*la.archive_entry_uid)
#define archive_entry_xattr_next        (*la.archive_entry_xattr_next)
#define archive_entry_xattr_reset       (*la.archive_entry_xattr_reset)
#define archive_error_string            (*la.archive_error_string)
#define archive_filter_bytes            (*la.archive_filter_bytes)
#define archive_filter_count            (*la.archive_filter_count)
#define archive_read_data_block         (*la.archive_read_data_block)
#define archive_read_free               (*la.archive_read_free)
#define archive_read_new                (*la.archive_read_new)
#define archive_read_next_header        (*la.archive_read_next_header)
#define archive_read_open               (*la.archive_read_open)
#define archive_read_open_fd            (*la.archive_read_open_fd)
#define archive_read_support_format_raw (*la.archive_read_support_format_raw)
#define archive_read_support_format_tar (*la.archive_read_support_format_tar)
#define archive_set_error               (*la.archive_set_error)

/* Big reads keep the syscall count low on large layers; libarchive's decompressors work in
 * their own windows, so this only sizes the read(2) calls on the input. */
#define LAYER_READ_BLOCK (1024 * 1024)

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WH_PREFIX    ".wh."
#define WH_META      ".wh..wh."
#define WH_OPAQUE    ".wh..wh..opq"

/* The decompressing reader: its output feeds the tar reader and the digest, so the diff id
 * covers exactly the bytes the tar reader saw plus whatever trails the end-of-archive. */
struct stream {
        struct archive *raw;
        struct sha256_bg *sha;  /* NULL: the stream is not hashed */
        struct tarsplit *split; /* NULL: no tar-split record is kept */
        long long size;
        bool failed;
        /* The input when the stream is an entry of an outer archive (load): its first block,
         * already read, and the digest of its bytes as stored (compressed). */
        struct archive *outer;
        const void *head, *rest;
        size_t head_len, rest_len;
        struct sha256_bg *blob;
        long long blob_size;
        bool outer_failed;
};

struct dir_time {
        char *path;
        struct timespec ts[2];
};

struct extract {
        int root; /* the layer directory (borrowed) */
        struct archive *tar;
        struct stream stream;
        char *cache_path; /* the last parent directory opened, relative to root */
        int cache_fd;
        struct dir_time *dirs; /* directory times, applied once their children exist */
        size_t ndirs, dirs_cap;
        long long content;
        bool privileged;
        const char *entry; /* the entry being extracted, for messages */
        const struct layer_divert *divert;
        const struct layer_untar *untar; /* cp's rules instead of a layer's (NULL: a layer) */
        struct layer_undo *undo;         /* layer_untar: what it created */
};

struct layer_undo {
        char **paths; /* relative to the extraction root, in the order they were made */
        size_t n, cap;
};

/* libarchive's messages, in the lower-case style of the rest of the CLI's errors; xz reports
 * a cut-off stream as "No progress is possible". */
static int layer_archive_err(struct err *err, const char *msg)
{
        if (!msg)
                msg = "unreadable archive";
        if (strstr(msg, "No progress is possible"))
                msg = "truncated xz input";
        if (msg[0] >= 'A' && msg[0] <= 'Z' && msg[1] >= 'a' && msg[1] <= 'z')
                return err_set(err, -EINVAL, "%c%s", msg[0] - 'A' + 'a', msg + 1);
        return err_set(err, -EINVAL, "%s", msg);
}

static la_ssize_t stream_read(struct archive *tar, void *userdata, const void **buf)
{
        struct stream *s = userdata;

        for (;;) {
                size_t n = 0;
                la_int64_t off;
                int r;

                /* The next read reuses the buffer the digest thread may still be reading. */
                if (s->sha)
                        sha256_bg_wait(s->sha);
                r = archive_read_data_block(s->raw, buf, &n, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        s->failed = true;
                        archive_set_error(tar, EINVAL, "%s", archive_error_string(s->raw));
                        return -1;
                }
                /* A zero-length read would mean end of input to the tar reader. */
                if (n == 0)
                        continue;
                if (s->sha)
                        sha256_bg_update(s->sha, *buf, n);
                if (s->split)
                        tarsplit_feed(s->split, *buf, n);
                s->size += (long long)n;
                return (la_ssize_t)n;
        }
}

static int stream_drain(struct stream *s, struct err *err)
{
        for (;;) {
                const void *buf;
                size_t n = 0;
                la_int64_t off;
                int r;

                if (s->sha)
                        sha256_bg_wait(s->sha);
                r = archive_read_data_block(s->raw, &buf, &n, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return layer_archive_err(err, archive_error_string(s->raw));
                if (s->sha)
                        sha256_bg_update(s->sha, buf, n);
                if (s->split)
                        tarsplit_feed(s->split, buf, n);
                s->size += (long long)n;
        }
}

/* Only the compressions images use; archive_read_support_filter_all would also accept
 * uuencode and rpm wrappers and fall back to external programs. */
static int (**const stream_filters[])(struct archive *) = {
        &la.archive_read_support_filter_gzip, &la.archive_read_support_filter_bzip2,
        &la.archive_read_support_filter_xz,   &la.archive_read_support_filter_lzma,
        &la.archive_read_support_filter_zstd,
};

/* The raw reader's input when the layer is an entry of an outer archive. */
static la_ssize_t outer_read(struct archive *a, void *userdata, const void **buf)
{
        struct stream *s = userdata;
        size_t n = 0;

        if (s->head) {
                *buf = s->head;
                n = s->head_len;
                s->head = NULL;
        } else if (s->rest) {
                *buf = s->rest;
                n = s->rest_len;
                s->rest = NULL;
        } else {
                la_int64_t off;
                int r;

                if (s->blob)
                        sha256_bg_wait(s->blob);
                r = archive_read_data_block(s->outer, buf, &n, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if ((r != ARCHIVE_OK && r != ARCHIVE_WARN) || off != s->blob_size) {
                        s->outer_failed = true;
                        archive_set_error(a, EINVAL, "%s",
                                          r == ARCHIVE_OK || r == ARCHIVE_WARN
                                                  ? "sparse archive entries cannot be layers"
                                                  : archive_error_string(s->outer));
                        return -1;
                }
        }
        if (s->blob)
                sha256_bg_update(s->blob, *buf, n);
        s->blob_size += (la_int64_t)n;
        return (la_ssize_t)n;
}

/* Where a stream's bytes come from: fd, or the current entry of outer (head and rest are
 * its first bytes, already read; hash_stored asks for the digest of the stored bytes too). */
struct stream_src {
        int fd;
        struct archive *outer;
        const void *head, *rest;
        size_t head_len, rest_len;
        bool hash_stored;
};

static int stream_open(struct stream *s, const struct stream_src *src, bool hash, struct err *err)
{
        struct archive_entry *e;
        int r = hash ? sha256_bg_new(&s->sha) : 0;

        if (r >= 0 && src->hash_stored)
                r = sha256_bg_new(&s->blob);
        if (r < 0)
                return err_set(err, r, "starting the layer digest");
        s->raw = archive_read_new();
        if (!s->raw)
                return err_set(err, -ENOMEM, "starting the archive reader");
        for (size_t i = 0; i < ARRAY_SIZE(stream_filters); i++)
                if ((*stream_filters[i])(s->raw) < ARCHIVE_WARN)
                        return err_set(err, -ENOTSUP, "%s", archive_error_string(s->raw));
        archive_read_support_format_raw(s->raw);
        if (src->outer) {
                s->outer = src->outer;
                s->head = src->head;
                s->head_len = src->head_len;
                s->rest = src->rest;
                s->rest_len = src->rest_len;
                r = archive_read_open(s->raw, s, NULL, outer_read, NULL);
        } else {
                r = archive_read_open_fd(s->raw, src->fd, LAYER_READ_BLOCK);
        }
        if (r != ARCHIVE_OK || archive_read_next_header(s->raw, &e) != ARCHIVE_OK) {
                if (archive_filter_bytes(s->raw, -1) == 0)
                        return err_set(err, -EINVAL, "empty archive");
                return layer_archive_err(err, archive_error_string(s->raw));
        }
        return 0;
}

static void cache_drop(struct extract *x)
{
        free(x->cache_path);
        x->cache_path = NULL;
        closep(&x->cache_fd);
        x->cache_fd = -1;
}

static void extract_done(struct extract *x)
{
        cache_drop(x);
        for (size_t i = 0; i < x->ndirs; i++)
                free(x->dirs[i].path);
        free(x->dirs);
        /* Before the readers: the digest threads may still read their buffers. */
        sha256_bg_free(x->stream.sha);
        sha256_bg_free(x->stream.blob);
        if (x->tar)
                archive_read_free(x->tar);
        if (x->stream.raw)
                archive_read_free(x->stream.raw);
}

/* Strips leading '/', "." components and repeated slashes; refuses "..", so the result
 * always names something below the layer root ("" is the root itself). */
static int clean_path(const char *in, char out[PATH_MAX])
{
        size_t n = 0;

        while (*in) {
                const char *c = in;
                size_t len;

                while (*in && *in != '/')
                        in++;
                len = (size_t)(in - c);
                while (*in == '/')
                        in++;
                if (len == 0 || (len == 1 && c[0] == '.'))
                        continue;
                if (len == 2 && c[0] == '.' && c[1] == '.')
                        return -EINVAL;
                if (n + len + 2 > PATH_MAX)
                        return -ENAMETOOLONG;
                if (n)
                        out[n++] = '/';
                memcpy(out + n, c, len);
                n += len;
        }
        out[n] = '\0';
        return 0;
}

/* Splits a cleaned, non-empty path in place into its directory ("" for the root) and name. */
static void split_path(char *path, const char **ret_dir, const char **ret_name)
{
        char *slash = strrchr(path, '/');

        if (!slash) {
                *ret_dir = "";
                *ret_name = path;
                return;
        }
        *slash = '\0';
        *ret_dir = path;
        *ret_name = slash + 1;
}

static int open_child_dir(int dfd, const char *name, bool create)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd >= 0)
                return fd;
        if (errno != ENOENT || !create)
                return -errno;
        /* Parents the archive does not list get 0755 whatever the umask, as in Docker. */
        if (mkdirat(dfd, name, 0755) < 0) {
                if (errno != EEXIST)
                        return -errno;
        } else if (fchmodat(dfd, name, 0755, 0) < 0) {
                return -errno;
        }
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Opens rest below start one component at a time; a symlink or non-directory on the way
 * fails (ELOOP/ENOTDIR) instead of being followed. Returns an owned fd. */
static int walk_from(int start, const char *rest, bool create)
{
        _cleanup_close_ int cur = -1;

        while (*rest) {
                char name[NAME_MAX + 1];
                size_t n = strcspn(rest, "/");
                int fd;

                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, rest, n);
                name[n] = '\0';
                rest += n;
                rest += strspn(rest, "/");
                fd = open_child_dir(cur >= 0 ? cur : start, name, create);
                if (fd < 0)
                        return fd;
                closep(&cur);
                cur = fd;
        }
        if (cur < 0) {
                cur = fcntl(start, F_DUPFD_CLOEXEC, 3);
                if (cur < 0)
                        return -errno;
        }
        return TAKE_FD(cur);
}

/* Opens the directory up levels above start (each ".." of a directory this extraction
 * opened on its way down from the root, so never above the root). Returns an owned fd. */
static int walk_up(int start, size_t up)
{
        _cleanup_close_ int cur = -1;

        for (size_t i = 0; i < up; i++) {
                int fd = openat(cur >= 0 ? cur : start, "..",
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                closep(&cur);
                cur = fd;
        }
        return TAKE_FD(cur);
}

/* Returns a borrowed fd for dir ("" is the root), valid until the next walk or cache_drop.
 * The last directory is kept open: tar entries come grouped by directory, parents before
 * children, and directory times are set children first, so each step is one level down or
 * up from it and a whole walk is linear in the depth, not quadratic. */
static int walk(struct extract *x, const char *dir, bool create)
{
        size_t cl = x->cache_path ? strlen(x->cache_path) : 0, dl = strlen(dir), up = 0;
        int fd;

        if (!*dir)
                return x->root;
        if (x->cache_path && !strcmp(x->cache_path, dir))
                return x->cache_fd;
        if (x->cache_path && dl > cl && !strncmp(x->cache_path, dir, cl) && dir[cl] == '/') {
                fd = walk_from(x->cache_fd, dir + cl + 1, create);
        } else if (x->cache_path && dl < cl && !strncmp(x->cache_path, dir, dl) &&
                   x->cache_path[dl] == '/' && !x->untar) {
                /* Only in a layer's own staging tree: a cp destination may be shared with a
                 * container that moves the cached directory elsewhere, and ".." from there
                 * would leave the destination. cp walks down from the root again. */
                for (const char *p = x->cache_path + dl; *p; p++)
                        up += *p == '/';
                fd = walk_up(x->cache_fd, up);
        } else {
                fd = walk_from(x->root, dir, create);
        }
        cache_drop(x);
        if (fd < 0)
                return fd;
        x->cache_path = strdup(dir);
        if (!x->cache_path) {
                close(fd);
                return -ENOMEM;
        }
        x->cache_fd = fd;
        return fd;
}

static int walk_err(struct extract *x, const char *dir, int r, struct err *err)
{
        if (r == -ELOOP || r == -ENOTDIR)
                return err_set(err, -EINVAL,
                               "entry %s: %s is not a directory%s (symlinks in entry paths are "
                               "not followed)",
                               x->entry, dir, x->untar ? "" : " in the layer");
        errno = -r;
        return err_errno(err, "entry %s: opening directory %s", x->entry, dir);
}

/* Removes what an earlier entry left at name so a later entry can replace it. */
static int clear_existing(struct extract *x, int pfd, const char *name, struct err *err)
{
        struct stat st;

        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_errno(err, "entry %s: inspecting", x->entry);
        /* What goes may have been the content of an earlier entry of this stream. */
        if (x->stream.split)
                tarsplit_spoil(x->stream.split);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT)
                        return err_errno(err, "entry %s: replacing", x->entry);
                return 0;
        }
        /* Handlers get pfd from walk(), so a cached pfd is the entry's parent and outlives
         * the removal; otherwise pfd is the root and the cache may lie inside the tree. */
        if (pfd != x->cache_fd)
                cache_drop(x);
        return fs_rm_rf_at(pfd, name, err);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
                ts[0].tv_sec = archive_entry_atime(e);
                ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
                ts[0] = ts[1];
        }
}

/* Without CAP_CHOWN ownership cannot be kept; that is expected, not an error. */
static int chown_result(struct extract *x, int r)
{
        return r < 0 && errno == EPERM && !x->privileged ? 0 : r;
}

static int apply_xattrs(struct extract *x, int fd, struct archive_entry *e, struct err *err)
{
        const char *name;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                /* Overlay's own attributes (redirect, metacopy, opaque) would let a tarball
                 * steer lookups into other layers; only whiteout markers may set them. */
                if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13))
                        continue;
                /* Copied out to the host, nothing that grants more than the owner's rights:
                 * no file capabilities, ACLs or trusted attributes a container chose. */
                if (x->untar && x->untar->owner == LAYER_OWNER_SELF &&
                    (!strcmp(name, "security.capability") || !strncmp(name, "trusted.", 8) ||
                     !strncmp(name, "system.posix_acl_", 17)))
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP && errno != EPERM)
                        return err_errno(err, "entry %s: setting xattr %s", x->entry, name);
        }
        return 0;
}

/* The owner an entry gets (cp may give everything to root or keep the caller's): false when
 * nothing is to be chowned. */
static bool entry_owner(const struct extract *x, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
        enum layer_owner o = x->untar ? x->untar->owner : LAYER_OWNER_TAR;

        *uid = o == LAYER_OWNER_TAR   ? (uid_t)archive_entry_uid(e)
               : o == LAYER_OWNER_IDS ? x->untar->uid
                                      : 0;
        *gid = o == LAYER_OWNER_TAR   ? (gid_t)archive_entry_gid(e)
               : o == LAYER_OWNER_IDS ? x->untar->gid
                                      : 0;
        return o != LAYER_OWNER_SELF;
}

/* The entry's permissions; copied out to the host (LAYER_OWNER_SELF) without the set-id
 * bits: a container's setuid file must not become a root-owned setuid file there. */
static mode_t entry_perm(const struct extract *x, struct archive_entry *e)
{
        mode_t m = archive_entry_perm(e);

        return x->untar && x->untar->owner == LAYER_OWNER_SELF ? m & ~(mode_t)(S_ISUID | S_ISGID)
                                                               : m;
}

/* Owner before mode: chown clears the set-id bits. */
static int apply_meta_fd(struct extract *x, int fd, struct archive_entry *e, struct err *err)
{
        uid_t uid;
        gid_t gid;

        if (entry_owner(x, e, &uid, &gid) && chown_result(x, fchown(fd, uid, gid)) < 0)
                return err_errno(err, "entry %s: setting owner", x->entry);
        if (fchmod(fd, entry_perm(x, e)) < 0)
                return err_errno(err, "entry %s: setting mode", x->entry);
        return apply_xattrs(x, fd, e, err);
}

static int apply_meta_at(struct extract *x, int pfd, const char *name, struct archive_entry *e,
                         bool chmod, struct err *err)
{
        struct timespec ts[2];
        uid_t uid;
        gid_t gid;

        if (entry_owner(x, e, &uid, &gid) &&
            chown_result(x, fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0)
                return err_errno(err, "entry %s: setting owner", x->entry);
        /* Never through a link: whoever shares the directory could have put one where
         * mknodat made the node (glibc does this through an O_PATH descriptor). */
        if (chmod && fchmodat(pfd, name, entry_perm(x, e), AT_SYMLINK_NOFOLLOW) < 0)
                return err_errno(err, "entry %s: setting mode", x->entry);
        entry_times(e, ts);
        if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return err_errno(err, "entry %s: setting times", x->entry);
        return 0;
}

static int layer_archive_fail(struct extract *x, struct err *err)
{
        return layer_archive_err(err, x->stream.failed ? archive_error_string(x->stream.raw)
                                                       : archive_error_string(x->tar));
}

static int write_data(struct extract *x, int fd, struct archive_entry *e, la_int64_t end,
                      struct err *err)
{
        for (;;) {
                const void *buf;
                size_t n = 0;
                la_int64_t off;
                int r = archive_read_data_block(x->tar, &buf, &n, &off);

                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return layer_archive_fail(x, err);
                if (n == 0)
                        continue;
                /* Sparse entries skip holes. */
                if (off != end && lseek(fd, off, SEEK_SET) < 0)
                        return err_errno(err, "entry %s: seeking", x->entry);
                r = fs_write_all(fd, buf, n);
                if (r < 0) {
                        errno = -r;
                        return err_errno(err, "entry %s: writing", x->entry);
                }
                end = off + (la_int64_t)n;
        }
        if (end < archive_entry_size(e) && ftruncate(fd, archive_entry_size(e)) < 0)
                return err_errno(err, "entry %s: writing", x->entry);
        return 0;
}

/* The first bytes of a regular file of an image archive, read to tell a layer from other
 * content: up to a tar header's worth copied (a read block may end anywhere), and the rest
 * of the block they came from. */
struct head {
        unsigned char buf[512];
        size_t len;
        const void *rest;
        size_t rest_len;
};

static int read_head(struct extract *x, struct head *h, struct err *err)
{
        while (h->len < sizeof(h->buf)) {
                const void *b;
                size_t n = 0, take;
                la_int64_t off;
                int r = archive_read_data_block(x->tar, &b, &n, &off);

                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return layer_archive_fail(x, err);
                if (off != (la_int64_t)h->len)
                        return err_set(err, -EINVAL,
                                       "entry %s: sparse entries are not supported in image "
                                       "archives",
                                       x->entry);
                take = n < sizeof(h->buf) - h->len ? n : sizeof(h->buf) - h->len;
                memcpy(h->buf + h->len, b, take);
                h->len += take;
                if (take < n) {
                        h->rest = (const char *)b + take;
                        h->rest_len = n - take;
                }
        }
        return 0;
}

static bool tar_checksum_ok(const unsigned char *b)
{
        unsigned long want = 0, sum = 0;
        size_t i;

        for (i = 148; i < 156 && (b[i] == ' ' || b[i] == '\0'); i++)
                ;
        for (; i < 156 && b[i] >= '0' && b[i] <= '7'; i++)
                want = want * 8 + (unsigned long)(b[i] - '0');
        for (i = 0; i < 512; i++)
                sum += i >= 148 && i < 156 ? ' ' : b[i];
        return sum == want;
}

static bool is_plain_tar(const struct head *h)
{
        static const unsigned char zero[512];

        if (h->len < 512)
                return false;
        return !memcmp(h->buf + 257, "ustar", 5) || !memcmp(h->buf, zero, 512) ||
               tar_checksum_ok(h->buf);
}

/* Layers are tars, plain or compressed; anything else (JSON, text) is archive metadata. */
static bool looks_like_layer(const struct head *h)
{
        /* Whole stream headers, not just their first bytes: a file diverted by mistake would
         * lose its content (gzip with deflate; bzip2's level digit and block magic). */
        static const struct {
                const char *magic;
                size_t len;
        } z[] = {{"\x1f\x8b\x08", 3},
                 {"\xfd"
                  "7zXZ",
                  6},
                 {"\x28\xb5\x2f\xfd", 4}};
        const unsigned char *b = h->buf;

        for (size_t i = 0; i < ARRAY_SIZE(z); i++)
                if (h->len >= z[i].len && !memcmp(b, z[i].magic, z[i].len))
                        return true;
        if (h->len >= 10 && !memcmp(b, "BZh", 3) && b[3] >= '1' && b[3] <= '9' &&
            (!memcmp(b + 4, "1AY&SY", 6) || !memcmp(b + 4, "\x17\x72\x45\x38\x50\x90", 6)))
                return true;
        return is_plain_tar(h);
}

static int stage_src(const struct stream_src *src, const char *tmp_dir, char **ret_stage,
                     struct layer_stats *ret, struct err *err);

/* Stages the entry's content as a layer, straight from the archive, and leaves an empty
 * file at its path whose inode names it to the caller. A layer that fails to stage is
 * reported, not fatal: the archive's manifest may not even use it. */
static int divert_entry(struct extract *x, int pfd, const char *name, const struct head *h,
                        struct err *err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        const struct stream_src src = {.outer = x->tar,
                                       .head = h->buf,
                                       .head_len = h->len,
                                       .rest = h->rest,
                                       .rest_len = h->rest_len,
                                       .hash_stored = !is_plain_tar(h)};
        struct layer_diverted d = {.path = x->entry};
        struct err serr = {0};
        _cleanup_close_ int fd = openat(pfd, name, flags, 0600);
        struct stat st;
        int r;

        if (fd < 0 && errno == EEXIST) {
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                fd = openat(pfd, name, flags, 0600);
        }
        if (fd < 0 || fstat(fd, &st) < 0)
                return err_errno(err, "entry %s: creating file", x->entry);
        d.dev = st.st_dev;
        d.ino = st.st_ino;
        if (stage_src(&src, x->divert->tmp_dir, &d.stage, &d.stats, &serr) < 0)
                d.error = serr.msg;
        return x->divert->taken(x->divert->ud, &d, err);
}

static int write_head(struct extract *x, int fd, const struct head *h, struct err *err)
{
        int r = fs_write_all(fd, h->buf, h->len);

        if (r >= 0 && h->rest_len)
                r = fs_write_all(fd, h->rest, h->rest_len);
        if (r < 0) {
                errno = -r;
                return err_errno(err, "entry %s: writing", x->entry);
        }
        return 0;
}

/* Tells the tar-split record where the entry's content now lives. */
static int name_content(struct extract *x, const char *dir, const char *name,
                        struct archive_entry *e, struct err *err)
{
        char path[PATH_MAX];
        long long size = archive_entry_size(e);

        if (!x->stream.split || size <= 0)
                return 0;
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name) >=
            sizeof(path))
                return err_set(err, -ENAMETOOLONG, "entry %s: path too long", x->entry);
        if (tarsplit_name(x->stream.split, path, size) == -ENOMEM)
                return err_set(err, -ENOMEM, "entry %s", x->entry);
        return 0;
}

/* The content, owner, mode and times of a regular file just created as fd. */
static int fill_file(struct extract *x, int fd, const char *dir, const char *name,
                     struct archive_entry *e, const struct head *h, struct err *err)
{
        struct timespec ts[2];
        int r = write_head(x, fd, h, err);

        if (r >= 0)
                r = write_data(x, fd, e, (la_int64_t)(h->len + h->rest_len), err);
        if (r >= 0)
                r = apply_meta_fd(x, fd, e, err);
        if (r >= 0)
                r = name_content(x, dir, name, e, err);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return err_errno(err, "entry %s: setting times", x->entry);
        x->content += archive_entry_size(e);
        return 0;
}

/* cp's regular file: written under a temporary name beside its place and renamed over it
 * once complete, so a failure never leaves a half-written file behind. */
static int untar_file(struct extract *x, int pfd, const char *dir, const char *name,
                      struct archive_entry *e, struct err *err)
{
        const struct head none = {.len = 0};
        _cleanup_close_ int fd = -1;
        char tmp[32], rnd[65];
        int r = util_random_hex(rnd, err);

        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), ".hawser-cp-%.16s", rnd);
        fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "entry %s: creating file", x->entry);
        r = fill_file(x, fd, dir, name, e, &none, err);
        if (r >= 0 && renameat(pfd, tmp, pfd, name) < 0)
                r = err_errno(err, "entry %s: moving into place", x->entry);
        if (r < 0)
                (void)unlinkat(pfd, tmp, 0);
        return r;
}

static int make_file(struct extract *x, int pfd, const char *dir, const char *name,
                     struct archive_entry *e, struct err *err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        _cleanup_close_ int fd = -1;
        struct head h = {.len = 0};
        int r;

        if (x->untar)
                return untar_file(x, pfd, dir, name, e, err);
        if (x->divert) {
                r = read_head(x, &h, err);
                if (r < 0)
                        return r;
                if (looks_like_layer(&h))
                        return divert_entry(x, pfd, name, &h, err);
        }
        fd = openat(pfd, name, flags, 0600);
        if (fd < 0 && errno == EEXIST) {
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                fd = openat(pfd, name, flags, 0600);
        }
        if (fd < 0)
                return err_errno(err, "entry %s: creating file", x->entry);
        return fill_file(x, fd, dir, name, e, &h, err);
}

static int remember_dir_time(struct extract *x, const char *dir, const char *name,
                             struct archive_entry *e)
{
        if (x->ndirs == x->dirs_cap) {
                size_t cap = x->dirs_cap ? x->dirs_cap * 2 : 64;
                struct dir_time *n = realloc(x->dirs, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                x->dirs = n;
                x->dirs_cap = cap;
        }
        x->dirs[x->ndirs].path = *dir ? util_printf("%s/%s", dir, name) : strdup(name);
        if (!x->dirs[x->ndirs].path)
                return -ENOMEM;
        entry_times(e, x->dirs[x->ndirs].ts);
        x->ndirs++;
        return 0;
}

static int make_dir(struct extract *x, int pfd, const char *dir, const char *name,
                    struct archive_entry *e, struct err *err)
{
        _cleanup_close_ int fd = -1;
        bool existed = false;
        struct stat st;
        int r;

        if (mkdirat(pfd, name, 0700) < 0) {
                if (errno != EEXIST)
                        return err_errno(err, "entry %s: creating directory", x->entry);
                if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_errno(err, "entry %s: inspecting", x->entry);
                existed = S_ISDIR(st.st_mode);
                if (!S_ISDIR(st.st_mode)) {
                        r = clear_existing(x, pfd, name, err);
                        if (r < 0)
                                return r;
                        if (mkdirat(pfd, name, 0700) < 0)
                                return err_errno(err, "entry %s: creating directory", x->entry);
                }
        }
        fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "entry %s: opening directory", x->entry);
        /* A host directory that was there keeps its mode: copying out a container's /tmp/.
         * into /tmp must not make the host's /tmp whatever the container chose. */
        if (existed && x->untar && x->untar->owner == LAYER_OWNER_SELF)
                return 0;
        r = apply_meta_fd(x, fd, e, err);
        if (r < 0)
                return r;
        if (remember_dir_time(x, dir, name, e) < 0)
                return err_set(err, -ENOMEM, "entry %s", x->entry);
        return 0;
}

static const char *entry_symlink(struct archive_entry *e)
{
        const char *t = archive_entry_symlink(e);

        return t ? t : archive_entry_symlink_utf8(e);
}

/* The target is stored verbatim: it is only ever resolved inside the container. */
static int make_symlink(struct extract *x, int pfd, const char *name, struct archive_entry *e,
                        struct err *err)
{
        const char *target = entry_symlink(e);
        int r;

        if (!target)
                return err_set(err, -EINVAL, "entry %s: symlink without a target", x->entry);
        if (symlinkat(target, pfd, name) < 0) {
                if (errno != EEXIST)
                        return err_errno(err, "entry %s: creating symlink", x->entry);
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                if (symlinkat(target, pfd, name) < 0)
                        return err_errno(err, "entry %s: creating symlink", x->entry);
        }
        x->content += (long long)strlen(target);
        return apply_meta_at(x, pfd, name, e, false, err);
}

static int make_node(struct extract *x, int pfd, const char *name, struct archive_entry *e,
                     struct err *err)
{
        mode_t mode = archive_entry_filetype(e) | 0600;
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        int r;

        /* A device node a container made is not recreated on the host (anyone it gives
         * access to would reach the device); a FIFO is. */
        if (x->untar && x->untar->owner == LAYER_OWNER_SELF && !S_ISFIFO(mode)) {
                fprintf(stderr, "hawser: %s: a device node, not copied to the host\n", x->entry);
                return 0;
        }
        if (mknodat(pfd, name, mode, dev) < 0) {
                if (errno != EEXIST)
                        return err_errno(err, "entry %s: creating device node", x->entry);
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                if (mknodat(pfd, name, mode, dev) < 0)
                        return err_errno(err, "entry %s: creating device node", x->entry);
        }
        return apply_meta_at(x, pfd, name, e, true, err);
}

static const char *entry_hardlink(struct archive_entry *e)
{
        const char *t = archive_entry_hardlink(e);

        return t ? t : archive_entry_hardlink_utf8(e);
}

/* The target is looked up in the layer (never on the host) without following symlinks,
 * and linkat gets no AT_SYMLINK_FOLLOW, so a link to a symlink links the symlink. */
static int make_hardlink(struct extract *x, int pfd, const char *name, struct archive_entry *e,
                         struct err *err)
{
        char target[PATH_MAX];
        const char *tdir, *tname;
        _cleanup_close_ int tfd = -1;
        int r;

        if (clean_path(entry_hardlink(e), target) < 0 || !*target)
                return err_set(err, -EINVAL, "entry %s: hard link target %s is outside the layer",
                               x->entry, entry_hardlink(e));
        split_path(target, &tdir, &tname);
        tfd = walk_from(x->root, tdir, false);
        if (tfd < 0)
                return err_set(err, -EINVAL, "entry %s: hard link target %s is not in the layer",
                               x->entry, entry_hardlink(e));
        if (linkat(tfd, tname, pfd, name, 0) == 0)
                return 0;
        if (errno == EEXIST) {
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                if (linkat(tfd, tname, pfd, name, 0) == 0)
                        return 0;
        }
        if (errno == ENOENT || errno == EPERM)
                return err_set(err, -EINVAL,
                               "entry %s: hard link target %s is not a file in the layer", x->entry,
                               entry_hardlink(e));
        return err_errno(err, "entry %s: creating hard link", x->entry);
}

static int make_opaque(struct extract *x, const char *dir, struct err *err)
{
        int pfd = walk(x, dir, true);

        if (pfd < 0)
                return walk_err(x, dir, pfd, err);
        if (fsetxattr(pfd, OPAQUE_XATTR, "y", 1, 0) < 0)
                return err_errno(err, "entry %s: marking %s opaque", x->entry, *dir ? dir : "/");
        return 0;
}

/* ".wh.NAME" becomes the overlay whiteout for NAME: a 0/0 character device. */
static int make_whiteout(struct extract *x, const char *dir, const char *base,
                         struct archive_entry *e, struct err *err)
{
        const char *name = base + strlen(WH_PREFIX);
        uid_t uid = (uid_t)archive_entry_uid(e);
        gid_t gid = (gid_t)archive_entry_gid(e);
        int pfd, r;

        if (!strcmp(base, WH_OPAQUE))
                return make_opaque(x, dir, err);
        /* AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs) has no meaning on overlay. */
        if (!strncmp(base, WH_META, strlen(WH_META)))
                return 0;
        if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
                return err_set(err, -EINVAL, "entry %s: invalid whiteout name", x->entry);
        pfd = walk(x, dir, true);
        if (pfd < 0)
                return walk_err(x, dir, pfd, err);
        if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0) {
                if (errno != EEXIST)
                        return err_errno(err, "entry %s: creating whiteout", x->entry);
                r = clear_existing(x, pfd, name, err);
                if (r < 0)
                        return r;
                if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0)
                        return err_errno(err, "entry %s: creating whiteout", x->entry);
        }
        if ((uid || gid) && chown_result(x, fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0)
                return err_errno(err, "entry %s: setting owner", x->entry);
        return 0;
}

static const char *entry_path(struct archive_entry *e)
{
        const char *p = archive_entry_pathname(e);

        return p ? p : archive_entry_pathname_utf8(e);
}

/* ---- cp's extraction: what it makes is noted, so that a failed copy takes it back ---- */

static int undo_note(struct extract *x, const char *dir, const char *name)
{
        struct layer_undo *u = x->undo;

        if (u->n == u->cap) {
                size_t cap = u->cap ? u->cap * 2 : 32;
                char **v = realloc(u->paths, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                u->paths = v;
                u->cap = cap;
        }
        u->paths[u->n] = *dir ? util_printf("%s/%s", dir, name) : strdup(name);
        return u->paths[u->n] ? (int)u->n++ : -ENOMEM;
}

void layer_undo_free(struct layer_undo *u)
{
        for (size_t i = 0; u && i < u->n; i++)
                free(u->paths[i]);
        if (u)
                free(u->paths);
        free(u);
}

void layer_undo(int dirfd, struct layer_undo *u)
{
        for (size_t i = u ? u->n : 0; i-- > 0;) {
                const char *dir, *name;
                struct err ignored = {0};
                _cleanup_close_ int pfd = -1;

                split_path(u->paths[i], &dir, &name);
                pfd = walk_from(dirfd, dir, false);
                if (pfd >= 0)
                        (void)fs_rm_rf_at(pfd, name, &ignored);
        }
        layer_undo_free(u);
}

/* Opens dir for an entry, making what is missing of it (0755, as Docker's MkdirAll), each
 * directory made noted. Returns a borrowed fd, as walk(). */
static int untar_parent(struct extract *x, const char *dir, struct err *err)
{
        char prefix[PATH_MAX];
        int fd = walk(x, dir, false);

        if (fd != -ENOENT)
                return fd < 0 ? walk_err(x, dir, fd, err) : fd;
        for (size_t n = 0;; n++) {
                const char *pdir, *pname;
                char note[PATH_MAX];

                n += strcspn(dir + n, "/");
                memcpy(prefix, dir, n);
                prefix[n] = '\0';
                fd = walk(x, prefix, false);
                if (fd == -ENOENT) {
                        memcpy(note, prefix, n + 1);
                        split_path(note, &pdir, &pname);
                        if (undo_note(x, pdir, pname) < 0)
                                return err_set(err, -ENOMEM, "entry %s", x->entry);
                        fd = walk(x, prefix, true);
                }
                if (fd < 0)
                        return walk_err(x, prefix, fd, err);
                if (!dir[n])
                        return fd;
        }
}

/* Docker's NoOverwriteDirNonDir: an entry never turns a directory into something else or
 * the reverse. What is not there yet is noted as made by this extraction. */
static int untar_check(struct extract *x, int pfd, const char *dir, const char *name,
                       struct archive_entry *e, struct err *err)
{
        bool to_dir = archive_entry_filetype(e) == AE_IFDIR && !entry_hardlink(e);
        const char *dest = x->untar->dest;
        size_t dl = strlen(dest);
        struct stat st;

        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return err_errno(err, "entry %s: inspecting", x->entry);
                return undo_note(x, dir, name) < 0 ? err_set(err, -ENOMEM, "entry %s", x->entry)
                                                   : 0;
        }
        if (!S_ISDIR(st.st_mode) == !to_dir)
                return 0;
        /* Go's filepath.Join(dest, name): the root does not double its slash. */
        if (dl && dest[dl - 1] == '/')
                dl--;
        return err_set(err, -EEXIST, "cannot overwrite %s \"%.*s/%s%s%s\" with %s \"%s\"",
                       to_dir ? "non-directory" : "directory", (int)dl, dest, dir, *dir ? "/" : "",
                       name, to_dir ? "directory" : "non-directory", dest);
}

static int make_entry(struct extract *x, int pfd, const char *dir, const char *name,
                      struct archive_entry *e, struct err *err)
{
        if (entry_hardlink(e))
                return make_hardlink(x, pfd, name, e, err);
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
                return make_file(x, pfd, dir, name, e, err);
        case AE_IFDIR:
                return make_dir(x, pfd, dir, name, e, err);
        case AE_IFLNK:
                return make_symlink(x, pfd, name, e, err);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return make_node(x, pfd, name, e, err);
        default:
                /* Sockets and unknown types have nothing to restore. */
                return 0;
        }
}

static int extract_entry(struct extract *x, struct archive_entry *e, struct err *err)
{
        char path[PATH_MAX];
        const char *dir, *name;
        int pfd, r;

        x->entry = entry_path(e);
        if (!x->entry)
                return err_set(err, -EINVAL, "archive entry without a name");
        r = clean_path(x->entry, path);
        if (r == -EINVAL)
                return err_set(err, -EINVAL, "entry %s: path contains \"..\"", x->entry);
        if (r < 0)
                return err_set(err, r, "entry %s: path too long", x->entry);
        /* The root keeps its own mode, as Docker skips "." entries. AUFS metadata trees
         * (.wh..wh.plnk/...) have no meaning on overlay; cp takes such names as they are. */
        if (!*path ||
            (!x->untar && !strncmp(path, WH_META, strlen(WH_META)) && strcmp(path, WH_OPAQUE)))
                return 0;
        split_path(path, &dir, &name);
        if (x->untar) {
                pfd = untar_parent(x, dir, err);
                r = pfd < 0 ? pfd : untar_check(x, pfd, dir, name, e, err);
                return r < 0 ? r : make_entry(x, pfd, dir, name, e, err);
        }
        if (!strncmp(name, WH_PREFIX, strlen(WH_PREFIX)))
                return make_whiteout(x, dir, name, e, err);
        pfd = walk(x, dir, true);
        if (pfd < 0)
                return walk_err(x, dir, pfd, err);
        return make_entry(x, pfd, dir, name, e, err);
}

/* Directory times are set last: creating the children changed them. Failures only lose a
 * timestamp, so they are not errors. */
static void apply_dir_times(struct extract *x)
{
        for (size_t i = x->ndirs; i-- > 0;) {
                char *path = x->dirs[i].path;
                const char *dir, *name;
                int pfd;

                split_path(path, &dir, &name);
                pfd = walk(x, dir, false);
                if (pfd >= 0)
                        (void)utimensat(pfd, name, x->dirs[i].ts, AT_SYMLINK_NOFOLLOW);
        }
}

static int extract_all(struct extract *x, struct err *err)
{
        struct archive_entry *e;
        int r;

        for (;;) {
                r = archive_read_next_header(x->tar, &e);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return layer_archive_fail(x, err);
                r = extract_entry(x, e, err);
                if (r < 0)
                        return r;
        }
}

static int extract_run(struct extract *x, const struct stream_src *src, bool hash,
                       struct layer_stats *ret, struct err *err)
{
        int r;

        if (layer_load_archive(err) < 0)
                return -err->code;
        r = stream_open(&x->stream, src, hash, err);
        if (r < 0)
                return r;
        /* An image archive is compressed once at most (Docker decompresses once, then reads
         * a tar): xz over gzip is refused with Docker's words. */
        if (x->divert && archive_filter_count(x->stream.raw) > 2)
                return err_set(err, -EINVAL,
                               "Error processing tar file(exit status 1): archive/tar: invalid "
                               "tar header");
        x->tar = archive_read_new();
        if (!x->tar)
                return err_set(err, -ENOMEM, "starting the tar reader");
        archive_read_support_format_tar(x->tar);
        if (archive_read_open(x->tar, &x->stream, NULL, stream_read, NULL) != ARCHIVE_OK)
                return layer_archive_fail(x, err);
        r = extract_all(x, err);
        if (r < 0)
                return r;
        r = stream_drain(&x->stream, err);
        if (r < 0)
                return r;
        apply_dir_times(x);
        memset(ret, 0, sizeof(*ret));
        ret->tar_size = x->stream.size;
        ret->content_size = x->content;
        if (x->stream.sha) {
                sha256_bg_finish(x->stream.sha, ret->diff_id);
                x->stream.sha = NULL;
        }
        if (x->stream.blob) {
                sha256_bg_finish(x->stream.blob, ret->blob);
                x->stream.blob = NULL;
                ret->blob_size = x->stream.blob_size;
        } else {
                memcpy(ret->blob, ret->diff_id, sizeof(ret->blob));
                ret->blob_size = ret->tar_size;
        }
        return 0;
}

static int extract_src(const struct stream_src *src, int dirfd, struct tarsplit *split,
                       struct layer_stats *ret, struct err *err)
{
        _cleanup_(extract_done) struct extract x = {
                .root = dirfd,
                .cache_fd = -1,
                .privileged = geteuid() == 0,
                .stream = {.split = split},
        };

        return extract_run(&x, src, true, ret, err);
}

int layer_extract(int fd, int dirfd, struct layer_stats *ret, struct err *err)
{
        return extract_src(&(struct stream_src){.fd = fd}, dirfd, NULL, ret, err);
}

int layer_untar(int fd, int dirfd, const struct layer_untar *o, struct layer_undo **ret_undo,
                long long *ret_size, struct err *err)
{
        _cleanup_(extract_done) struct extract x = {
                .root = dirfd,
                .cache_fd = -1,
                .privileged = geteuid() == 0,
                .untar = o,
                .undo = calloc(1, sizeof(struct layer_undo)),
        };
        struct layer_stats ignored;
        int r = x.undo ? extract_run(&x, &(struct stream_src){.fd = fd}, false, &ignored, err)
                       : err_set(err, -ENOMEM, "extracting");

        if (ret_size)
                *ret_size = x.stream.size;
        /* The cached directory may be one the undo removes. */
        cache_drop(&x);
        if (r < 0) {
                layer_undo(dirfd, TAKE_PTR(x.undo));
                return r;
        }
        if (ret_undo)
                *ret_undo = TAKE_PTR(x.undo);
        layer_undo_free(x.undo);
        return 0;
}

int layer_extract_divert(int fd, int dirfd, const struct layer_divert *d, struct err *err)
{
        _cleanup_(extract_done) struct extract x = {
                .root = dirfd,
                .cache_fd = -1,
                .privileged = geteuid() == 0,
                .divert = d,
        };
        struct layer_stats ignored;

        /* The outer archive itself is not hashed: only its layers are. */
        return extract_run(&x, &(struct stream_src){.fd = fd}, false, &ignored, err);
}

static int write_text_at(int dfd, const char *name, const char *text, struct err *err)
{
        _cleanup_close_ int fd =
                openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        int r;

        if (fd < 0)
                return err_errno(err, "creating %s", name);
        r = fs_write_all(fd, text, strlen(text));
        if (r < 0) {
                errno = -r;
                return err_errno(err, "writing %s", name);
        }
        return 0;
}

static int write_size_at(int dfd, const char *name, long long v, struct err *err)
{
        char buf[32]; /* a long long in decimal plus newline */

        snprintf(buf, sizeof(buf), "%lld\n", v);
        return write_text_at(dfd, name, buf, err);
}

static int stage_fill(const struct stream_src *src, const char *stage, struct layer_stats *st,
                      struct err *err)
{
        _cleanup_close_ int sfd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int dfd = -1, split_fd = -1;
        _cleanup_tarsplit_ struct tarsplit *split = NULL;
        char line[SHA256_HEX_LEN + 1];
        int r;

        if (sfd < 0)
                return err_errno(err, "opening %s", stage);
        /* mkdirat's mode is filtered by the umask; the layer root must be 0755 exactly. */
        if (mkdirat(sfd, "diff", 0755) < 0 || fchmodat(sfd, "diff", 0755, 0) < 0)
                return err_errno(err, "creating %s/diff", stage);
        dfd = openat(sfd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return err_errno(err, "opening %s/diff", stage);
        r = split_fd = openat(sfd, LAYER_SPLIT_FILE,
                              O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (r < 0)
                return err_errno(err, "creating %s/%s", stage, LAYER_SPLIT_FILE);
        r = tarsplit_new(split_fd, &split, err);
        if (r >= 0)
                r = extract_src(src, dfd, split, st, err);
        if (r >= 0)
                r = tarsplit_finish(split, err);
        if (r < 0)
                return r;
        /* A stream the record cannot reproduce: save writes the layer anew instead. */
        if (r == 1 && unlinkat(sfd, LAYER_SPLIT_FILE, 0) < 0)
                return err_errno(err, "removing %s/%s", stage, LAYER_SPLIT_FILE);
        snprintf(line, sizeof(line), "%s\n", st->diff_id);
        r = write_text_at(sfd, "diff-id", line, err);
        if (r >= 0)
                r = write_size_at(sfd, "size", st->tar_size, err);
        if (r >= 0)
                r = write_size_at(sfd, "content-size", st->content_size, err);
        return r;
}

static int stage_src(const struct stream_src *src, const char *tmp_dir, char **ret_stage,
                     struct layer_stats *ret, struct err *err)
{
        _cleanup_free_ char *stage = NULL;
        char tag[UTIL_OWNER_TAG_MAX];
        struct layer_stats st;
        int r;

        /* Owner-tagged: a killed stager's directory is swept by the next command (image.c). */
        util_owner_tag(tag);
        stage = util_printf("%s/layer-%s-XXXXXX", tmp_dir, tag);
        if (!stage)
                return err_set(err, -ENOMEM, "staging a layer");
        r = fs_mkdir_p(tmp_dir, 0700, err);
        if (r < 0)
                return r;
        if (!mkdtemp(stage))
                return err_errno(err, "creating a staging directory in %s", tmp_dir);
        r = stage_fill(src, stage, &st, err);
        if (r < 0) {
                layer_discard(stage);
                return r;
        }
        util_test_kill_point("layer-staged");
        *ret_stage = TAKE_PTR(stage);
        *ret = st;
        return 0;
}

int layer_stage(int fd, const char *tmp_dir, char **ret_stage, struct layer_stats *ret,
                struct err *err)
{
        return stage_src(&(struct stream_src){.fd = fd}, tmp_dir, ret_stage, ret, err);
}

static bool is_hex64(const char *s)
{
        size_t n = strspn(s, "0123456789abcdef");

        return n == 64 && s[64] == '\0';
}

static int read_diff_id(const char *stage, char out[65], struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/diff-id", stage);
        _cleanup_free_ char *text = NULL;
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "reading a staged layer");
        r = fs_read_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (!is_hex64(text))
                return err_set(err, -EINVAL, "%s: not a diff id", path);
        memcpy(out, text, 65);
        return 0;
}

int layer_commit(const char *stage, const char *layers_dir, bool *ret_created, char ret_diff_id[65],
                 struct err *err)
{
        _cleanup_free_ char *dst = NULL;
        char id[65];
        bool created = true;
        int r;

        r = read_diff_id(stage, id, err);
        if (r < 0)
                return r;
        r = fs_mkdir_p(layers_dir, 0700, err);
        if (r < 0)
                return r;
        dst = util_printf("%s/%s", layers_dir, id);
        if (!dst)
                return err_set(err, -ENOMEM, "storing layer %s", id);
        /* rename(2) refuses a non-empty target: the layer is stored already. */
        if (rename(stage, dst) < 0) {
                if (errno != EEXIST && errno != ENOTEMPTY)
                        return err_errno(err, "storing layer %s", id);
                layer_discard(stage);
                created = false;
        }
        if (ret_created)
                *ret_created = created;
        if (ret_diff_id)
                memcpy(ret_diff_id, id, 65);
        return 0;
}

void layer_discard(const char *stage)
{
        struct err ignored = {0};

        (void)fs_rm_rf(stage, &ignored);
}

int layer_remove(const char *layers_dir, const char *tmp_dir, const char *diff_id, struct err *err)
{
        _cleanup_free_ char *src = util_printf("%s/%s", layers_dir, diff_id);
        _cleanup_free_ char *dst = NULL;
        char rnd[65];
        int r;

        if (!src)
                return err_set(err, -ENOMEM, "removing layer %s", diff_id);
        r = util_random_hex(rnd, err);
        if (r < 0)
                return r;
        rnd[16] = '\0';
        dst = util_printf("%s/rm-%s-%s", tmp_dir, diff_id, rnd);
        if (!dst)
                return err_set(err, -ENOMEM, "removing layer %s", diff_id);
        r = fs_mkdir_p(tmp_dir, 0700, err);
        if (r < 0)
                return r;
        if (rename(src, dst) < 0)
                return errno == ENOENT ? 0 : err_errno(err, "removing layer %s", diff_id);
        r = fs_rm_rf(dst, err);
        return r < 0 ? err_wrap(err, "removing layer %s", diff_id) : 0;
}

int layer_read_size(const char *layer_dir, const char *name, long long *ret, struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/%s", layer_dir, name);
        _cleanup_free_ char *text = NULL;
        long long v;
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "reading %s/%s", layer_dir, name);
        r = fs_read_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (util_parse_ll(text, 0, LLONG_MAX, &v) < 0)
                return err_set(err, -EINVAL, "%s: not a size", path);
        *ret = v;
        return 0;
}
