#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "gzip.h"

#define GZIP_FUNCS(X)                                                                              \
        X(archive_entry_free)                                                                      \
        X(archive_entry_new)                                                                       \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_pathname)                                                              \
        X(archive_error_string)                                                                    \
        X(archive_read_data)                                                                       \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_format_raw)                                                         \
        X(archive_write_add_filter_gzip)                                                           \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_set_format_raw)

#define GZ_DECL(f) __typeof__(f) *f;
static struct {
        GZIP_FUNCS(GZ_DECL)
} gz;
#undef GZ_DECL

#define GZ_NAME(f) #f,
#define GZ_SLOT(f) (void **)&gz.f,
static int gzip_load(struct err *err)
{
        static const char *const names[] = {GZIP_FUNCS(GZ_NAME)};
        static void **const slots[] = {GZIP_FUNCS(GZ_SLOT)};
        static bool loaded;

        return util_dl_table("libarchive.so.13", names, slots, ARRAY_SIZE(names), &loaded, err);
}
#undef GZ_NAME
#undef GZ_SLOT

int gzip_file(int in_fd, int out_fd, struct err *err)
{
        struct archive *a = NULL;
        struct archive_entry *e = NULL;
        char buf[65536];
        ssize_t n;
        int r = gzip_load(err);

        if (r < 0)
                return r;
        a = gz.archive_write_new();
        e = gz.archive_entry_new();
        if (!a || !e) {
                r = err_set(err, -ENOMEM, "compressing");
                goto out;
        }
        /* The raw format writes one entry's data alone: the file, gzip'd. */
        gz.archive_entry_set_pathname(e, "data");
        gz.archive_entry_set_filetype(e, AE_IFREG);
        if (gz.archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
            gz.archive_write_set_format_raw(a) != ARCHIVE_OK ||
            gz.archive_write_open_fd(a, out_fd) != ARCHIVE_OK ||
            gz.archive_write_header(a, e) != ARCHIVE_OK) {
                r = err_set(err, -EIO, "compressing: %s", gz.archive_error_string(a));
                goto out;
        }
        while ((n = read(in_fd, buf, sizeof(buf))) > 0)
                if (gz.archive_write_data(a, buf, (size_t)n) != n) {
                        r = err_set(err, -EIO, "compressing: %s", gz.archive_error_string(a));
                        goto out;
                }
        if (n < 0)
                r = err_errno(err, "reading the file to compress");
        else if (gz.archive_write_close(a) != ARCHIVE_OK)
                r = err_set(err, -EIO, "compressing: %s", gz.archive_error_string(a));
out:
        if (e)
                gz.archive_entry_free(e);
        if (a)
                gz.archive_write_free(a);
        return r;
}

int gzip_read_all(int fd, char **ret, size_t *ret_len, struct err *err)
{
        struct archive *a = NULL;
        struct archive_entry *e;
        _cleanup_free_ char *out = NULL;
        size_t len = 0, cap = 0;
        la_ssize_t n;
        int r = gzip_load(err);

        if (r < 0)
                return r;
        a = gz.archive_read_new();
        if (!a)
                return err_set(err, -ENOMEM, "decompressing");
        if (gz.archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            gz.archive_read_support_format_raw(a) != ARCHIVE_OK ||
            gz.archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK ||
            gz.archive_read_next_header(a, &e) != ARCHIVE_OK) {
                r = err_set(err, -EIO, "decompressing: %s", gz.archive_error_string(a));
                goto out;
        }
        for (;;) {
                if (cap - len < 65536) {
                        char *nb = realloc(out, cap = cap * 2 + 65536 + 1);
                        if (!nb) {
                                r = err_set(err, -ENOMEM, "decompressing");
                                goto out;
                        }
                        out = nb;
                }
                n = gz.archive_read_data(a, out + len, cap - len - 1);
                if (n < 0) {
                        r = err_set(err, -EIO, "decompressing: %s", gz.archive_error_string(a));
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        out[len] = '\0';
        *ret = TAKE_PTR(out);
        *ret_len = len;
out:
        gz.archive_read_free(a);
        return r;
}
