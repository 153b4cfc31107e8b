#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/util.h"
#include "tarwrite.h"

/* Loaded on first use for the reason layer.c gives: libarchive's dependencies would cost
 * every command their loading time. */
#define TARWRITE_FUNCS(X)                                                                          \
        X(archive_entry_clear)                                                                     \
        X(archive_entry_free)                                                                      \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_gid)                                                                   \
        X(archive_entry_set_hardlink)                                                              \
        X(archive_entry_set_mtime)                                                                 \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_rdevmajor)                                                             \
        X(archive_entry_set_rdevminor)                                                             \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_set_symlink)                                                               \
        X(archive_entry_set_uid)                                                                   \
        X(archive_entry_xattr_add_entry)                                                           \
        X(archive_error_string)                                                                    \
        X(archive_set_error)                                                                       \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_finish_entry)                                                              \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open)                                                                      \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_bytes_per_block)                                                       \
        X(archive_write_set_format_pax_restricted)

#define TW_DECL(f) __typeof__(f) *f;
static struct {
        TARWRITE_FUNCS(TW_DECL)
} tw;
#undef TW_DECL

#define TW_NAME(f) #f,
#define TW_SLOT(f) (void **)&tw.f,
static int tarwrite_load(struct err *err)
{
        static const char *const names[] = {TARWRITE_FUNCS(TW_NAME)};
        static void **const slots[] = {TARWRITE_FUNCS(TW_SLOT)};
        static bool loaded;

        return util_dl_table("libarchive.so.13", names, slots, ARRAY_SIZE(names), &loaded, err);
}
#undef TW_NAME
#undef TW_SLOT

/* Big blocks keep the write(2) count low; the last one is written short. */
#define TARWRITE_BLOCK (64 * 1024)
#define TARWRITE_READ  (256 * 1024)

struct tarwrite {
        struct archive *a;
        struct archive_entry *e;
        int fd;
        bool abandoned; /* after a failure nothing more reaches fd, not even the trailer */
        int write_errno;
        size_t count;
        char *buf;
        struct sha256 *sha; /* of every byte written, when asked for */
        long long written;
        long long stream_left; /* data still owed by a tarwrite_begin entry */
};

static la_ssize_t tw_write(struct archive *a, void *ud, const void *buf, size_t n)
{
        struct tarwrite *w = ud;
        int r;

        if (w->abandoned)
                return (la_ssize_t)n;
        r = fs_write_all(w->fd, buf, n);
        if (r < 0) {
                w->write_errno = -r;
                tw.archive_set_error(a, -r, "writing the archive: %s", strerror(-r));
                return -1;
        }
        if (w->sha)
                sha256_update(w->sha, buf, n);
        w->written += (long long)n;
        return (la_ssize_t)n;
}

int tarwrite_open(int fd, struct tarwrite **ret, struct err *err)
{
        _cleanup_tarwrite_ struct tarwrite *w = NULL;
        int r = tarwrite_load(err);

        if (r < 0)
                return r;
        w = calloc(1, sizeof(*w));
        if (!w)
                return err_set(err, -ENOMEM, "starting the tar writer");
        w->fd = fd;
        w->buf = malloc(TARWRITE_READ);
        w->a = tw.archive_write_new();
        w->e = tw.archive_entry_new();
        if (!w->buf || !w->a || !w->e)
                return err_set(err, -ENOMEM, "starting the tar writer");
        if (tw.archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
            tw.archive_write_set_bytes_per_block(w->a, TARWRITE_BLOCK) != ARCHIVE_OK ||
            tw.archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
            tw.archive_write_open(w->a, w, NULL, tw_write, NULL) != ARCHIVE_OK)
                return err_set(err, -ENOTSUP, "starting the tar writer: %s",
                               tw.archive_error_string(w->a));
        *ret = TAKE_PTR(w);
        return 0;
}

static int tw_fail(struct tarwrite *w, const char *path, struct err *err)
{
        int code = w->write_errno ? w->write_errno : EIO;

        w->abandoned = true;
        return err_set(err, -code, "writing %s to the archive: %s", path,
                       tw.archive_error_string(w->a) ?: "unknown error");
}

static int tw_type(mode_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return AE_IFREG;
        case S_IFDIR:
                return AE_IFDIR;
        case S_IFLNK:
                return AE_IFLNK;
        case S_IFCHR:
                return AE_IFCHR;
        case S_IFBLK:
                return AE_IFBLK;
        case S_IFIFO:
                return AE_IFIFO;
        default:
                return 0;
        }
}

static void tw_fill(struct tarwrite *w, const struct tarwrite_entry *e, int type)
{
        const struct stat *st = e->st;
        struct archive_entry *ae = w->e;

        tw.archive_entry_clear(ae);
        tw.archive_entry_set_pathname(ae, e->path);
        tw.archive_entry_set_filetype(ae, (unsigned)type);
        tw.archive_entry_set_perm(ae, st->st_mode & 07777);
        tw.archive_entry_set_uid(ae, st->st_uid);
        tw.archive_entry_set_gid(ae, st->st_gid);
        tw.archive_entry_set_mtime(ae, st->st_mtim.tv_sec, 0);
        if (e->hardlink) {
                tw.archive_entry_set_hardlink(ae, e->link);
                tw.archive_entry_set_size(ae, 0);
        } else if (type == AE_IFLNK) {
                tw.archive_entry_set_symlink(ae, e->link);
        } else if (type == AE_IFREG) {
                tw.archive_entry_set_size(ae, st->st_size);
        } else if (type == AE_IFCHR || type == AE_IFBLK) {
                tw.archive_entry_set_rdevmajor(ae, major(st->st_rdev));
                tw.archive_entry_set_rdevminor(ae, minor(st->st_rdev));
        }
        for (size_t i = 0; i < e->n_xattrs; i++)
                tw.archive_entry_xattr_add_entry(ae, e->xattrs[i].name, e->xattrs[i].value,
                                                 e->xattrs[i].size);
}

/* Copies exactly the size the header announced: a file that grew is cut, one that shrank
 * is padded by libarchive when the entry is finished. */
static int tw_data(struct tarwrite *w, const struct tarwrite_entry *e, struct err *err)
{
        long long left = e->st->st_size;

        while (left > 0) {
                size_t want = left < TARWRITE_READ ? (size_t)left : TARWRITE_READ;
                ssize_t n = read(e->fd, w->buf, want);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        w->abandoned = true;
                        return err_errno(err, "reading %s", e->path);
                }
                if (n == 0)
                        break;
                if (tw.archive_write_data(w->a, w->buf, (size_t)n) < 0)
                        return tw_fail(w, e->path, err);
                left -= n;
        }
        return 0;
}

int tarwrite_add(struct tarwrite *w, const struct tarwrite_entry *e, struct err *err)
{
        int type = tw_type(e->st->st_mode), r;

        if (w->abandoned)
                return err_set(err, -EIO, "writing %s: the archive already failed", e->path);
        if (!type)
                return err_set(err, -EINVAL, "%s: cannot be archived (socket)", e->path);
        tw_fill(w, e, type);
        r = tw.archive_write_header(w->a, w->e);
        if (r < ARCHIVE_WARN)
                return tw_fail(w, e->path, err);
        if (type == AE_IFREG && !e->hardlink && e->fd >= 0) {
                r = tw_data(w, e, err);
                if (r < 0)
                        return r;
        }
        if (tw.archive_write_finish_entry(w->a) < ARCHIVE_WARN)
                return tw_fail(w, e->path, err);
        w->count++;
        return 0;
}

int tarwrite_begin(struct tarwrite *w, const struct tarwrite_entry *e, struct err *err)
{
        int type = tw_type(e->st->st_mode);

        if (w->abandoned)
                return err_set(err, -EIO, "writing %s: the archive already failed", e->path);
        if (type != AE_IFREG || e->hardlink)
                return err_set(err, -EINVAL, "%s: only regular files are streamed", e->path);
        tw_fill(w, e, type);
        if (tw.archive_write_header(w->a, w->e) < ARCHIVE_WARN)
                return tw_fail(w, e->path, err);
        w->stream_left = e->st->st_size;
        return 0;
}

int tarwrite_write(struct tarwrite *w, const void *buf, size_t n, struct err *err)
{
        if (w->abandoned)
                return err_set(err, -EIO, "writing to the archive: it already failed");
        if ((long long)n > w->stream_left)
                return err_set(err, -EINVAL, "writing to the archive: more data than announced");
        if (tw.archive_write_data(w->a, buf, n) < 0)
                return tw_fail(w, tw.archive_entry_pathname(w->e), err);
        w->stream_left -= (long long)n;
        return 0;
}

int tarwrite_end(struct tarwrite *w, struct err *err)
{
        if (w->abandoned)
                return err_set(err, -EIO, "writing to the archive: it already failed");
        if (w->stream_left != 0) {
                w->abandoned = true;
                return err_set(err, -EIO, "writing %s to the archive: %lld bytes missing",
                               tw.archive_entry_pathname(w->e), w->stream_left);
        }
        if (tw.archive_write_finish_entry(w->a) < ARCHIVE_WARN)
                return tw_fail(w, tw.archive_entry_pathname(w->e), err);
        w->count++;
        return 0;
}

int tarwrite_digest_start(struct tarwrite *w, struct err *err)
{
        if (w->written || w->sha)
                return err_set(err, -EINVAL, "the archive digest starts with the first byte");
        w->sha = sha256_new();
        return w->sha ? 0 : err_set(err, -ENOSYS, "hashing the archive: cannot load libcrypto");
}

int tarwrite_digest(struct tarwrite *w, char out[65], long long *ret_size)
{
        if (!w->sha)
                return -EINVAL;
        sha256_finish(w->sha, out);
        w->sha = NULL;
        if (ret_size)
                *ret_size = w->written;
        return 0;
}

int tarwrite_finish(struct tarwrite *w, struct err *err)
{
        if (w->abandoned)
                return err_set(err, -EIO, "finishing the archive: it already failed");
        if (tw.archive_write_close(w->a) != ARCHIVE_OK)
                return tw_fail(w, "the end marker", err);
        return 0;
}

size_t tarwrite_count(const struct tarwrite *w)
{
        return w->count;
}

long long tarwrite_size(const struct tarwrite *w)
{
        return w->written;
}

void tarwrite_free(struct tarwrite *w)
{
        if (!w)
                return;
        /* archive_write_free closes an open stream, which writes the trailer: after a
         * failure the callback swallows it. */
        w->abandoned = true;
        if (w->a)
                tw.archive_write_free(w->a);
        if (w->e)
                tw.archive_entry_free(w->e);
        if (w->sha) {
                char discard[SHA256_HEX_LEN];

                sha256_finish(w->sha, discard);
        }
        free(w->buf);
        free(w);
}

void tarwrite_freep(struct tarwrite **w)
{
        tarwrite_free(*w);
}
