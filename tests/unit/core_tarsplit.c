/* Tar-split records: streams from GNU tar in every format and hand-made ones are recorded in
 * awkward chunks, replayed from the files and compared byte for byte; streams that cannot be
 * reproduced are refused, and so are records that do not match the layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/tarsplit.h"
#include "tests/unit/testkit.h"

/* The sandbox: base/ holds src/ (the trees tar archives, which double as the extracted
 * layer), files/ (contents of hand-made archives) and scratch files. */
struct box {
        char base[PATH_MAX / 2];
        char src[PATH_MAX];
        int base_fd, src_fd, files_fd;
};

struct buf {
        unsigned char *p;
        size_t len, cap;
};

struct names {
        char *path[4096];
        long long size[4096];
        size_t n;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
        if (b->cap - b->len < n) {
                size_t cap = b->cap ? b->cap : 4096;

                while (cap - b->len < n)
                        cap *= 2;
                b->p = realloc(b->p, cap);
                assert_non_null(b->p);
                b->cap = cap;
        }
        if (n)
                memcpy(b->p + b->len, p, n);
        b->len += n;
}

static void buf_free(struct buf *b)
{
        free(b->p);
        *b = (struct buf){0};
}

static void names_free(struct names *n)
{
        for (size_t i = 0; i < n->n; i++)
                free(n->path[i]);
        n->n = 0;
}

static int box_setup(void **state)
{
        struct box *b = calloc(1, sizeof(*b));
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", *base;

        assert_non_null(b);
        snprintf(b->base, sizeof(b->base), "%s/core_tarsplit.XXXXXX", tmp);
        base = mkdtemp(b->base);
        assert_non_null(base);
        snprintf(b->src, sizeof(b->src), "%s/src", base);
        b->base_fd = open(b->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(b->base_fd >= 0);
        assert_int_equal(mkdirat(b->base_fd, "src", 0755), 0);
        assert_int_equal(mkdirat(b->base_fd, "files", 0755), 0);
        b->src_fd = openat(b->base_fd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        b->files_fd = openat(b->base_fd, "files", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(b->src_fd >= 0 && b->files_fd >= 0);
        *state = b;
        return 0;
}

static int box_teardown(void **state)
{
        struct box *b = *state;
        struct err err = {0};

        close(b->files_fd);
        close(b->src_fd);
        close(b->base_fd);
        fs_rm_rf(b->base, &err);
        free(b);
        return 0;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
        char cmd[8192];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

/* size bytes of a pattern that differs per seed, so misplaced content shows. */
static void put_file(int dirfd, const char *path, size_t size, unsigned seed)
{
        _cleanup_close_ int fd =
                openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        _cleanup_free_ unsigned char *data = malloc(size + 1);

        assert_true(fd >= 0);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (unsigned char)(seed * 31 + i * 7 + i / 251);
        assert_int_equal(fs_write_all(fd, data, size), 0);
}

static void read_path(const char *path, struct buf *ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned char chunk[65536];
        ssize_t n;

        assert_true(fd >= 0);
        while ((n = read(fd, chunk, sizeof(chunk))) > 0)
                buf_add(ret, chunk, (size_t)n);
        assert_int_equal(n, 0);
}

/* What the extractor names: regular, non-hard-link entries with content, in archive order,
 * with libarchive's idea of the size. */
static void names_from_tar(const struct buf *tar, struct names *ret)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int r;

        assert_non_null(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_memory(a, tar->p, tar->len), ARCHIVE_OK);
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *p = archive_entry_pathname(e);

                if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
                    archive_entry_size(e) <= 0)
                        continue;
                while (*p == '/' || !strncmp(p, "./", 2))
                        p += *p == '/' ? 1 : 2;
                assert_true(ret->n < ARRAY_SIZE(ret->path));
                ret->path[ret->n] = strdup(p);
                ret->size[ret->n++] = archive_entry_size(e);
        }
        archive_read_free(a);
}

enum order {
        NAMES_FIRST,
        NAMES_LAST,
        NAMES_INTERLEAVED,
};

/* Records tar into base/rec, fed in chunks of `chunk` bytes; returns finish's result and
 * the record's fd (read-write) in *ret_fd. */
static int record(struct box *b, const struct buf *tar, size_t chunk, enum order order,
                  const struct names *n, int *ret_fd)
{
        _cleanup_tarsplit_ struct tarsplit *t = NULL;
        struct err err = {0};
        size_t named = 0;
        int fd, r;

        fd = openat(b->base_fd, "rec", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(tarsplit_new(fd, &t, &err), 0);
        if (order == NAMES_FIRST)
                for (; named < n->n; named++)
                        assert_int_equal(tarsplit_name(t, n->path[named], n->size[named]), 0);
        for (size_t off = 0; off < tar->len; off += chunk) {
                size_t k = tar->len - off < chunk ? tar->len - off : chunk;

                tarsplit_feed(t, tar->p + off, k);
                if (order == NAMES_INTERLEAVED && named < n->n) {
                        assert_int_equal(tarsplit_name(t, n->path[named], n->size[named]), 0);
                        named++;
                }
        }
        for (; named < n->n; named++)
                tarsplit_name(t, n->path[named], n->size[named]);
        r = tarsplit_finish(t, &err);
        assert_true(r >= 0);
        *ret_fd = fd;
        return r;
}

static int sink_buf(void *ud, const void *p, size_t n, struct err *err)
{
        (void)err;
        assert_true(n > 0 && n <= 1024 * 1024);
        buf_add(ud, p, n);
        return 0;
}

static int replay(int rec_fd, int dirfd, struct buf *out, struct err *err)
{
        return tarsplit_replay(rec_fd, dirfd, sink_buf, out, err);
}

/* The record's overhead over the metadata: one 'M' and one 'F' op plus a path per file,
 * and runs split at 64 KiB, nothing per block. */
static void assert_compact(int rec_fd, const struct buf *tar, const struct names *n)
{
        long long payload = 0, paths = 0, meta;
        struct stat st;

        for (size_t i = 0; i < n->n; i++) {
                payload += n->size[i];
                paths += 4 + (long long)strlen(n->path[i]);
        }
        meta = (long long)tar->len - payload;
        assert_int_equal(fstat(rec_fd, &st), 0);
        assert_true(st.st_size <=
                    meta + 14 * ((long long)n->n + 1) + 5 * (meta / 65000 + 1) + paths + 48);
}

static const size_t chunks[] = {1, 7, 511, 512, 513, 4096, SIZE_MAX};

/* Every chunk size and name order gives a record that replays to the same bytes. */
static void assert_roundtrip(struct box *b, const struct buf *tar, int dirfd)
{
        struct names n = {0};

        names_from_tar(tar, &n);
        for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
                struct buf out = {0};
                struct err err = {0};
                long long size = -1;
                int fd;

                assert_int_equal(record(b, tar, chunks[i], (enum order)(i % 3), &n, &fd), 0);
                assert_int_equal(tarsplit_size(fd, &size, &err), 0);
                assert_int_equal(size, (long long)tar->len);
                if (replay(fd, dirfd, &out, &err) < 0)
                        fail_msg("replay (chunk %zu): %s", chunks[i], err.msg);
                assert_int_equal(out.len, tar->len);
                assert_memory_equal(out.p, tar->p, tar->len);
                if (chunks[i] == SIZE_MAX)
                        assert_compact(fd, tar, &n);
                close(fd);
                buf_free(&out);
        }
        names_free(&n);
}

static void make_tree(struct box *b)
{
        char mid[256], lng[512], target[256];
        char *dirs[] = {"short",         "short/a", "short/a/b", "short/a/b/c",
                        "short/empties", "mid",     "long"};

        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                assert_int_equal(mkdirat(b->src_fd, dirs[i], 0755), 0);
        put_file(b->src_fd, "short/empty", 0, 0);
        put_file(b->src_fd, "short/small", 6, 1);
        put_file(b->src_fd, "short/f512", 512, 2);
        put_file(b->src_fd, "short/f513", 513, 3);
        put_file(b->src_fd, "short/a/b/c/deep", 3000, 4);
        put_file(b->src_fd, "short/big", 200 * 1024 + 17, 5);
        assert_int_equal(symlinkat("small", b->src_fd, "short/link"), 0);
        assert_int_equal(linkat(b->src_fd, "short/small", b->src_fd, "short/hard", 0), 0);
        /* 300 headers in a row: a metadata run longer than the 64 KiB write buffer. */
        for (int i = 0; i < 300; i++) {
                char p[64];

                snprintf(p, sizeof(p), "short/empties/e%03d", i);
                put_file(b->src_fd, p, 0, 0);
        }
        /* 125 characters: ustar's prefix field, GNU's long name. */
        snprintf(mid, sizeof(mid), "mid/%s", "");
        memset(mid + 4, 'm', 60);
        mid[64] = '\0';
        assert_int_equal(mkdirat(b->src_fd, mid, 0755), 0);
        mid[64] = '/';
        memset(mid + 65, 'n', 60);
        mid[125] = '\0';
        put_file(b->src_fd, mid, 700, 6);
        /* Over 255 characters, and a symlink target over 100. */
        snprintf(lng, sizeof(lng), "long/");
        memset(lng + 5, 'd', 150);
        lng[155] = '\0';
        assert_int_equal(mkdirat(b->src_fd, lng, 0755), 0);
        lng[155] = '/';
        memset(lng + 156, 'f', 120);
        lng[276] = '\0';
        put_file(b->src_fd, lng, 1234, 7);
        assert_int_equal(linkat(b->src_fd, lng, b->src_fd, "long/hardlink-to-long", 0), 0);
        memset(target, 't', 150);
        target[150] = '\0';
        assert_int_equal(symlinkat(target, b->src_fd, "long/symlink-long"), 0);
        assert_int_equal(linkat(b->src_fd, "long/symlink-long", b->src_fd, "long/hl", 0), 0);
}

static void make_tar(struct box *b, const char *format, const char *members, struct buf *ret)
{
        char tar[PATH_MAX + 16];

        snprintf(tar, sizeof(tar), "%s/t.tar", b->base);
        sh("tar --format=%s -C '%s' -cf '%s' %s", format, b->src, tar, members);
        read_path(tar, ret);
}

static void test_gnu_tar_formats(void **state)
{
        struct box *b = *state;
        static const struct {
                const char *format, *members;
        } cases[] = {
                {"gnu", "short mid long"}, {"oldgnu", "short mid long"},
                {"pax", "short mid long"}, {"ustar", "short mid"},
                {"v7", "short"},
        };

        make_tree(b);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct buf tar = {0};

                make_tar(b, cases[i].format, cases[i].members, &tar);
                assert_roundtrip(b, &tar, b->src_fd);
                buf_free(&tar);
        }
}

static void test_trailing_bytes(void **state)
{
        struct box *b = *state;
        static const unsigned char zeros[3 * 512];
        struct buf tar = {0}, cut = {0};

        make_tree(b);
        make_tar(b, "gnu", "short", &tar);
        buf_add(&tar, zeros, sizeof(zeros));
        buf_add(&tar, "garbage after the end\n", 22);
        assert_roundtrip(b, &tar, b->src_fd);

        /* A single end block, then something that looks like a header. */
        buf_add(&cut, tar.p, 512 * 3);
        buf_add(&cut, zeros, 512);
        buf_add(&cut, tar.p, 700);
        assert_roundtrip(b, &cut, b->src_fd);
        buf_free(&cut);

        /* No end marker at all: libarchive reads that as the end too. */
        buf_add(&cut, tar.p, 512 * 3);
        assert_roundtrip(b, &cut, b->src_fd);
        buf_free(&cut);
        buf_free(&tar);
}

/* A header block; the size field is octal, or base-256 when b256. */
static void add_link_header(struct buf *t, const char *name, char type, long long size, bool b256,
                            bool ustar, const char *link)
{
        unsigned char h[512] = {0};
        unsigned sum = 0;

        memcpy(h, name, strlen(name));
        if (link)
                memcpy(h + 157, link, strlen(link));
        memcpy(h + 100, "0000644", 8);
        memcpy(h + 108, "0000000", 8);
        memcpy(h + 116, "0000000", 8);
        if (b256) {
                h[124] = 0x80;
                for (int i = 0; i < 8; i++)
                        h[135 - i] = (unsigned char)(size >> (8 * i));
        } else {
                snprintf((char *)h + 124, 12, "%011llo", size);
        }
        memcpy(h + 136, "14000000000", 12);
        h[156] = (unsigned char)type;
        if (ustar)
                memcpy(h + 257, "ustar\00000", 8);
        memset(h + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *)h + 148, 8, "%06o", sum);
        buf_add(t, h, 512);
}

static void add_header(struct buf *t, const char *name, char type, long long size, bool b256,
                       bool ustar)
{
        add_link_header(t, name, type, size, b256, ustar, NULL);
}

/* n bytes of data, then padding to the block made of pad_byte. */
static void add_data(struct buf *t, const void *p, size_t n, unsigned char pad_byte)
{
        unsigned char pad[512];

        memset(pad, pad_byte, sizeof(pad));
        buf_add(t, p, n);
        buf_add(t, pad, (512 - n % 512) % 512);
}

/* One "LEN key=value\n" record. */
static void pax_record(char *out, size_t cap, const char *kv)
{
        size_t len = strlen(kv) + 2;

        while ((size_t)snprintf(NULL, 0, "%zu", len) + strlen(kv) + 2 != len)
                len++;
        snprintf(out, cap, "%zu %s\n", len, kv);
}

static void add_pax(struct buf *t, char type, const char *records)
{
        add_header(t, "PaxHeader/x", type, (long long)strlen(records), false, true);
        add_data(t, records, strlen(records), 0);
}

static void add_file(struct box *b, struct buf *t, const char *name, size_t size, bool b256,
                     unsigned char pad)
{
        _cleanup_free_ unsigned char *data = NULL;
        struct buf content = {0};
        char path[PATH_MAX + 16];

        put_file(b->files_fd, name, size, (unsigned)size);
        snprintf(path, sizeof(path), "%s/files/%s", b->base, name);
        read_path(path, &content);
        add_header(t, name, '0', (long long)size, b256, true);
        add_data(t, content.p, content.len, pad);
        buf_free(&content);
}

static void test_handmade(void **state)
{
        struct box *b = *state;
        struct buf t = {0}, over = {0};
        struct names n = {0};
        char rec[128], path[PATH_MAX + 16];
        static const unsigned char zeros[1024];

        pax_record(rec, sizeof(rec), "size=999");
        add_pax(&t, 'g', rec);
        /* The header says 0 bytes, the pax record 600. */
        pax_record(rec, sizeof(rec), "size=600");
        add_pax(&t, 'x', rec);
        put_file(b->files_fd, "over", 600, 9);
        snprintf(path, sizeof(path), "%s/files/over", b->base);
        read_path(path, &over);
        add_header(&t, "over", '0', 0, false, true);
        add_data(&t, over.p, over.len, 0xa5);
        add_file(b, &t, "plain", 5, false, 'p');
        add_file(b, &t, "b256", 1000, true, 0);
        /* A symlink whose size field is not 0 has no data all the same. */
        add_link_header(&t, "sym", '2', 100, false, true, "plain");
        /* A hard link in a pax archive carries data; the extractor does not name it. */
        add_link_header(&t, "hl", '1', 10, false, true, "plain");
        add_data(&t, "0123456789", 10, 'z');
        add_file(b, &t, "after", 1, false, 0);
        buf_add(&t, zeros, sizeof(zeros));

        /* libarchive agrees with the layout above. */
        names_from_tar(&t, &n);
        assert_int_equal(n.n, 4);
        assert_string_equal(n.path[0], "over");
        assert_int_equal(n.size[0], 600);
        assert_string_equal(n.path[1], "plain");
        assert_string_equal(n.path[2], "b256");
        assert_int_equal(n.size[2], 1000);
        assert_string_equal(n.path[3], "after");
        names_free(&n);
        assert_roundtrip(b, &t, b->files_fd);
        buf_free(&over);
        buf_free(&t);
}

/* Streams from libarchive's writers, as tarwrite and other tools produce them: pax records for
 * xattrs and long names, GNU long names. */
static void write_libarchive_tar(struct box *b, int format, struct buf *ret)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        char lng[300], path[PATH_MAX + 16];
        static const size_t sizes[] = {0, 1, 511, 512, 513, 70000};
        size_t used = 0;
        _cleanup_free_ char *mem = malloc(1 << 20);

        assert_non_null(a);
        assert_non_null(e);
        assert_non_null(mem);
        memset(lng, 'l', 200);
        lng[200] = '\0';
        archive_write_set_format(a, format);
        archive_write_set_bytes_per_block(a, 0);
        assert_int_equal(archive_write_open_memory(a, mem, 1 << 20, &used), ARCHIVE_OK);
        for (size_t i = 0; i < ARRAY_SIZE(sizes) + 3; i++) {
                struct buf content = {0};
                char name[sizeof(lng)];

                archive_entry_clear(e);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_mtime(e, 1000000000, 0);
                if (i < ARRAY_SIZE(sizes)) {
                        if (i == 1)
                                memcpy(name, lng, sizeof(lng));
                        else
                                snprintf(name, sizeof(name), "file%zu", i);
                        put_file(b->files_fd, name, sizes[i], (unsigned)i);
                        snprintf(path, sizeof(path), "%s/files/%s", b->base, name);
                        read_path(path, &content);
                        archive_entry_set_pathname(e, name);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, (la_int64_t)content.len);
                        if (i == 2)
                                archive_entry_xattr_add_entry(e, "user.k", "value", 5);
                } else if (i == ARRAY_SIZE(sizes)) {
                        archive_entry_set_pathname(e, "dir/");
                        archive_entry_set_filetype(e, AE_IFDIR);
                } else if (i == ARRAY_SIZE(sizes) + 1) {
                        archive_entry_set_pathname(e, "hard");
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, "file2");
                } else {
                        archive_entry_set_pathname(e, "sym");
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, lng);
                }
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (content.len)
                        assert_int_equal(archive_write_data(a, content.p, content.len),
                                         (la_ssize_t)content.len);
                buf_free(&content);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        buf_add(ret, mem, used);
}

static void test_libarchive_writers(void **state)
{
        struct box *b = *state;
        static const int formats[] = {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
                                      ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE,
                                      ARCHIVE_FORMAT_TAR_GNUTAR};

        for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
                struct buf tar = {0};

                write_libarchive_tar(b, formats[i], &tar);
                if (formats[i] == ARCHIVE_FORMAT_TAR_GNUTAR)
                        assert_non_null(memmem(tar.p, tar.len, "././@LongLink", 13));
                else
                        assert_non_null(memmem(tar.p, tar.len, "xattr.user.k=value", 18));
                assert_roundtrip(b, &tar, b->files_fd);
                buf_free(&tar);
        }
}

static int record_whole(struct box *b, const struct buf *tar, const struct names *n)
{
        int fd, r = record(b, tar, 4096, NAMES_LAST, n, &fd);

        close(fd);
        return r;
}

static void assert_refused(struct box *b, const struct buf *tar)
{
        struct names n = {0};

        names_from_tar(tar, &n);
        for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
                int fd;

                assert_int_equal(record(b, tar, chunks[i], (enum order)(i % 3), &n, &fd), 1);
                close(fd);
        }
        names_free(&n);
}

static void test_sparse_refused(void **state)
{
        struct box *b = *state;
        _cleanup_close_ int fd = -1;
        struct buf tar = {0};
        char p[PATH_MAX + 16];

        assert_int_equal(mkdirat(b->src_fd, "sparse", 0755), 0);
        fd = openat(b->src_fd, "sparse/holes", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "start", 5, 0), 5);
        assert_int_equal(pwrite(fd, "end", 3, 8 << 20), 3);
        assert_int_equal(fsync(fd), 0);
        snprintf(p, sizeof(p), "%s/t.tar", b->base);

        sh("tar --sparse --format=gnu -C '%s' -cf '%s' sparse", b->src, p);
        read_path(p, &tar);
        assert_true(tar.len < (4 << 20)); /* the holes were found */
        assert_int_equal(tar.p[512 + 156], 'S');
        assert_refused(b, &tar);
        buf_free(&tar);

        sh("tar --sparse --format=pax -C '%s' -cf '%s' sparse", b->src, p);
        read_path(p, &tar);
        assert_true(tar.len < (4 << 20));
        assert_non_null(memmem(tar.p, tar.len, "GNU.sparse.", 11));
        assert_refused(b, &tar);
        buf_free(&tar);
}

static void test_mismatch_refused(void **state)
{
        struct box *b = *state;
        struct buf tar = {0};
        struct names n = {0};
        char *last;
        int fd;

        make_tree(b);
        make_tar(b, "gnu", "short", &tar);
        names_from_tar(&tar, &n);
        assert_true(n.n >= 4);
        assert_int_equal(record_whole(b, &tar, &n), 0);

        n.size[1]++;
        assert_int_equal(record_whole(b, &tar, &n), 1);
        n.size[1]--;
        last = n.path[--n.n];
        assert_int_equal(record_whole(b, &tar, &n), 1);
        n.path[n.n++] = last;
        n.path[n.n] = strdup("short/one-too-many");
        n.size[n.n++] = 1;
        assert_int_equal(record_whole(b, &tar, &n), 1);
        free(n.path[--n.n]);

        /* Spoiled by the extractor. */
        {
                _cleanup_tarsplit_ struct tarsplit *t = NULL;
                struct err err = {0};

                fd = openat(b->base_fd, "rec", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                assert_int_equal(tarsplit_new(fd, &t, &err), 0);
                tarsplit_feed(t, tar.p, tar.len);
                for (size_t i = 0; i < n.n; i++)
                        assert_int_equal(tarsplit_name(t, n.path[i], n.size[i]), 0);
                tarsplit_spoil(t);
                assert_int_equal(tarsplit_finish(t, &err), 1);
                close(fd);
        }
        /* Paths the record could not use. */
        {
                _cleanup_tarsplit_ struct tarsplit *t = NULL;
                struct err err = {0};
                static const char *bad[] = {"", "/abs", "a/../b", "./a", "a//b", "a/", ".."};

                fd = openat(b->base_fd, "rec", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                assert_int_equal(tarsplit_new(fd, &t, &err), 0);
                for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                        assert_int_equal(tarsplit_name(t, bad[i], 1), -EINVAL);
                assert_int_equal(tarsplit_name(t, "ok", 0), -EINVAL);
                assert_int_equal(tarsplit_finish(t, &err), 1);
                close(fd);
        }
        names_free(&n);
        buf_free(&tar);
}

static void test_broken_streams_refused(void **state)
{
        struct box *b = *state;
        struct buf tar = {0}, cut = {0};
        unsigned char *big;

        make_tree(b);
        make_tar(b, "pax", "short", &tar);
        /* Cut inside the big file's content, inside a header, inside padding. */
        big = memmem(tar.p, tar.len, "short/big", 9);
        assert_non_null(big);
        buf_add(&cut, tar.p, (size_t)(big - tar.p) + 512 * 100);
        assert_refused(b, &cut);
        cut.len = 512 * 2 + 100;
        assert_refused(b, &cut);
        buf_free(&cut);

        /* A flipped bit in a header's mtime. */
        buf_add(&cut, tar.p, tar.len);
        cut.p[512 * 2 + 136 + 3] ^= 1;
        assert_refused(b, &cut);
        buf_free(&cut);
        buf_free(&tar);

        /* Hand-made: a malformed pax record; a hard link with a size in plain ustar; an 'M'. */
        add_pax(&tar, 'x', "5 x\n");
        add_file(b, &tar, "f", 10, false, 0);
        assert_refused(b, &tar);
        buf_free(&tar);
        add_file(b, &tar, "f", 10, false, 0);
        add_link_header(&tar, "hl", '1', 10, false, true, "f");
        add_file(b, &tar, "g", 10, false, 0);
        assert_refused(b, &tar);
        buf_free(&tar);
        add_header(&tar, "m", 'M', 10, false, true);
        add_data(&tar, "0123456789", 10, 0);
        assert_refused(b, &tar);
        buf_free(&tar);
}

/* A layer copy the replay refusals can damage; rec holds a valid record of its tar. */
static int damage_setup(struct box *b, struct buf *tar)
{
        struct names n = {0};
        int fd;

        make_tree(b);
        make_tar(b, "gnu", "short", tar);
        sh("cp -a '%s/short' '%s/files/short'", b->src, b->base);
        names_from_tar(tar, &n);
        assert_int_equal(record(b, tar, SIZE_MAX, NAMES_LAST, &n, &fd), 0);
        names_free(&n);
        return fd;
}

static void assert_replay_fails(int fd, int dirfd, int code, const char *needle)
{
        struct buf out = {0};
        struct err err = {0};

        assert_int_equal(replay(fd, dirfd, &out, &err), code);
        if (!strstr(err.msg, needle))
                fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
        buf_free(&out);
}

static void test_replay_layer_mismatch(void **state)
{
        struct box *b = *state;
        struct buf tar = {0}, out = {0};
        struct err err = {0};
        int fd = damage_setup(b, &tar), d = b->files_fd;

        assert_int_equal(replay(fd, d, &out, &err), 0);
        assert_int_equal(out.len, tar.len);
        buf_free(&out);

        assert_int_equal(renameat(d, "short/small", d, "short/small.x"), 0);
        assert_replay_fails(fd, d, -EINVAL, "short/small is missing");
        /* A symlink in its place, to a file of the right size. */
        assert_int_equal(symlinkat("small.x", d, "short/small"), 0);
        assert_replay_fails(fd, d, -EINVAL, "short/small");
        assert_int_equal(unlinkat(d, "short/small", 0), 0);
        /* A fifo must not hang the replay. */
        assert_int_equal(mkfifoat(d, "short/small", 0644), 0);
        assert_replay_fails(fd, d, -EINVAL, "short/small is not a regular file");
        assert_int_equal(unlinkat(d, "short/small", 0), 0);
        assert_int_equal(renameat(d, "short/small.x", d, "short/small"), 0);

        sh("echo >> '%s/files/short/f512'", b->base);
        assert_replay_fails(fd, d, -EINVAL, "short/f512 has 513 bytes");
        sh("truncate -s 512 '%s/files/short/f512'", b->base);

        /* A directory on the way replaced by a symlink to a copy of it. */
        assert_int_equal(renameat(d, "short/a", d, "short/a.real"), 0);
        assert_int_equal(symlinkat("a.real", d, "short/a"), 0);
        assert_replay_fails(fd, d, -EINVAL, "short/a/b/c/deep is reached through a symlink");
        assert_int_equal(unlinkat(d, "short/a", 0), 0);
        /* A file where a directory was. */
        put_file(d, "short/a", 1, 0);
        assert_replay_fails(fd, d, -EINVAL, "a parent of layer file short/a/b/c/deep");
        assert_int_equal(unlinkat(d, "short/a", 0), 0);
        assert_int_equal(renameat(d, "short/a.real", d, "short/a"), 0);

        assert_int_equal(replay(fd, d, &out, &err), 0);
        assert_memory_equal(out.p, tar.p, tar.len);
        buf_free(&out);
        close(fd);
        buf_free(&tar);
}

static int fail_sink(void *ud, const void *p, size_t n, struct err *err)
{
        (void)ud;
        (void)p;
        (void)n;
        return err_set(err, -ENOSPC, "writing the image: no space");
}

static void test_replay_corrupt_record(void **state)
{
        struct box *b = *state;
        struct buf tar = {0}, rec = {0}, out = {0};
        struct err err = {0};
        int fd = damage_setup(b, &tar), d = b->files_fd;
        long long size;
        char p[PATH_MAX + 16];
        /* Each damage: the byte at off (negative: from the end) xor'ed with byte, or with byte < 0
         * the record cut at off (at -byte when off is 0). sized: tarsplit_size sees it too. */
        static const struct {
                long off;
                int byte;
                bool sized;
                const char *needle;
        } damages[] = {
                {0, 'X', true, "no magic"},
                {-1, 'X', true, "no magic"},
                {8, 3, true, "version 2"},
                {16, 1, false, "unknown op"},
                {20, 0x7f, false, "bad run length"},       /* the first run's length, high byte */
                {-9, 0x80, true, "bad footer"},            /* stream size, high byte */
                {-25, 0x7f, true, "bad footer"},           /* paths offset, high byte */
                {-17, 0x7f, true, "bad footer"},           /* number of paths, high byte */
                {-16, 0x01, false, "sizes do not add up"}, /* stream size, low byte */
                {-32, 0x01, false, "corrupt tar-split record"}, /* paths offset, low byte */
                {-1, -1, true, "no magic"},
                {0, -40, true, "too short"},
        };

        snprintf(p, sizeof(p), "%s/rec", b->base);
        read_path(p, &rec);
        close(fd);
        assert_int_equal(replay(fd = open(p, O_RDONLY | O_CLOEXEC), d, &out, &err), 0);
        close(fd);
        buf_free(&out);

        assert_int_equal(
                tarsplit_replay(fd = open(p, O_RDONLY | O_CLOEXEC), d, fail_sink, NULL, &err),
                -ENOSPC);
        assert_string_equal(err.msg, "writing the image: no space");
        close(fd);

        for (size_t i = 0; i < ARRAY_SIZE(damages); i++) {
                struct buf bad = {0};
                size_t at = damages[i].off < 0 ? rec.len + (size_t)damages[i].off
                                               : (size_t)damages[i].off;

                buf_add(&bad, rec.p, rec.len);
                if (damages[i].byte >= 0)
                        bad.p[at] ^= (unsigned char)damages[i].byte;
                else if (damages[i].off)
                        bad.len = at;
                else
                        bad.len = (size_t)(-damages[i].byte);
                fd = openat(b->base_fd, "bad", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                assert_int_equal(fs_write_all(fd, bad.p, bad.len), 0);
                assert_replay_fails(fd, d, -EINVAL, damages[i].needle);
                if (damages[i].sized)
                        assert_int_equal(tarsplit_size(fd, &size, &err), -EINVAL);
                close(fd);
                buf_free(&bad);
        }

        /* A path changed to climb out of the layer. */
        {
                struct buf bad = {0};
                uint64_t paths_off;
                unsigned char *path;

                memcpy(&paths_off, rec.p + rec.len - 32, 8);
                path = memmem(rec.p + paths_off, rec.len - paths_off, "short/", 6);

                assert_non_null(path);
                buf_add(&bad, rec.p, rec.len);
                memcpy(bad.p + (path - rec.p), "../../", 6);
                fd = openat(b->base_fd, "bad", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                assert_int_equal(fs_write_all(fd, bad.p, bad.len), 0);
                assert_replay_fails(fd, d, -EINVAL, "unclean path");
                close(fd);
                buf_free(&bad);
        }
        buf_free(&rec);
        buf_free(&tar);
}

/* Where openat2 is missing (seccomp makes it ENOSYS in a child), the walk gives the same
 * bytes and the same refusals. */
static void test_replay_without_openat2(void **state)
{
        struct box *b = *state;
        struct buf tar = {0};
        int fd = damage_setup(b, &tar), status;
        pid_t pid = test_fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
                struct open_how how = {.flags = O_RDONLY};
                struct buf out = {0};
                struct err err = {0};
                int d = b->files_fd;

                if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) ||
                    seccomp_load(ctx))
                        _exit(10);
                if (syscall(SYS_openat2, d, "short", &how, sizeof(how)) >= 0 || errno != ENOSYS)
                        _exit(11);
                if (tarsplit_replay(fd, d, sink_buf, &out, &err) != 0 || out.len != tar.len ||
                    memcmp(out.p, tar.p, tar.len))
                        _exit(12);
                if (renameat(d, "short/a", d, "short/a.real") || symlinkat("a.real", d, "short/a"))
                        _exit(13);
                if (tarsplit_replay(fd, d, sink_buf, &out, &err) != -EINVAL ||
                    !strstr(err.msg, "short/a/b/c/deep is reached through a symlink"))
                        _exit(14);
                if (unlinkat(d, "short/a", 0) || renameat(d, "short/a.real", d, "short/a") ||
                    unlinkat(d, "short/small", 0))
                        _exit(15);
                if (tarsplit_replay(fd, d, sink_buf, &out, &err) != -EINVAL ||
                    !strstr(err.msg, "short/small is missing"))
                        _exit(16);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        close(fd);
        buf_free(&tar);
}

static void test_write_error(void **state)
{
        struct box *b = *state;
        _cleanup_tarsplit_ struct tarsplit *t = NULL;
        _cleanup_close_ int fd = -1;
        struct buf tar = {0};
        struct err err = {0};

        make_tree(b);
        make_tar(b, "gnu", "short", &tar);
        close(openat(b->base_fd, "rec", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        fd = openat(b->base_fd, "rec", O_RDONLY | O_CLOEXEC);
        assert_int_equal(tarsplit_new(fd, &t, &err), 0);
        tarsplit_feed(t, tar.p, tar.len);
        assert_int_equal(tarsplit_finish(t, &err), -EBADF);
        assert_non_null(strstr(err.msg, "writing the tar-split record"));
        buf_free(&tar);
        tarsplit_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, box_setup, box_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_gnu_tar_formats),
                T(test_trailing_bytes),
                T(test_handmade),
                T(test_libarchive_writers),
                T(test_sparse_refused),
                T(test_mismatch_refused),
                T(test_broken_streams_refused),
                T(test_replay_layer_mismatch),
                T(test_replay_corrupt_record),
                T(test_replay_without_openat2),
                T(test_write_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
