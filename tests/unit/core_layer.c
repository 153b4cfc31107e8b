/* Layer extraction: formats, whiteouts, and archives built to escape the layer directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/sha256.h"
#include "core/layer.h"
#include "core/tarsplit.h"

/* One tar entry to write. type is an AE_IF* constant; link is the symlink or hard link
 * target. */
struct tent {
        const char *path;
        unsigned type;
        const char *data;
        const char *link;
        unsigned mode;
        int uid, gid;
};

#define FILE_(p, d)                                                                                \
        {                                                                                          \
                p, AE_IFREG, d, NULL, 0644, 0, 0                                                   \
        }
#define DIR_(p)                                                                                    \
        {                                                                                          \
                p, AE_IFDIR, NULL, NULL, 0755, 0, 0                                                \
        }
#define SYMLINK_(p, t)                                                                             \
        {                                                                                          \
                p, AE_IFLNK, NULL, t, 0777, 0, 0                                                   \
        }
#define HARDLINK_(p, t)                                                                            \
        {                                                                                          \
                p, AE_IFREG, NULL, t, 0644, 0, 0                                                   \
        }
#define TEND                                                                                       \
        {                                                                                          \
                NULL, 0, NULL, NULL, 0, 0, 0                                                       \
        }

/* The sandbox: base/ holds layer/ (the extraction root), outside/ (must stay empty) and
 * the archives. */
struct box {
        char base[PATH_MAX / 2];
        char layer[PATH_MAX];
        char outside[PATH_MAX];
        char tar[PATH_MAX];
        int layer_fd;
};

static int box_setup(void **state)
{
        struct box *b = calloc(1, sizeof(*b));
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

        assert_non_null(b);
        snprintf(b->base, sizeof(b->base), "%s/core_layer.XXXXXX", tmp);
        assert_non_null(mkdtemp(b->base));
        snprintf(b->layer, sizeof(b->layer), "%s/layer", b->base);
        snprintf(b->outside, sizeof(b->outside), "%s/outside", b->base);
        snprintf(b->tar, sizeof(b->tar), "%s/in.tar", b->base);
        assert_int_equal(mkdir(b->layer, 0755), 0);
        assert_int_equal(mkdir(b->outside, 0755), 0);
        b->layer_fd = open(b->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(b->layer_fd >= 0);
        *state = b;
        return 0;
}

static int box_teardown(void **state)
{
        struct box *b = *state;
        struct err err = {0};

        close(b->layer_fd);
        fs_rm_rf(b->base, &err);
        free(b);
        return 0;
}

static size_t dir_count(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        return n;
}

/* Nothing was created next to the layer or in outside/. */
static void assert_contained(struct box *b)
{
        char p[PATH_MAX + 16];

        assert_int_equal(dir_count(b->outside), 0);
        /* base holds layer/, outside/, in.tar */
        assert_int_equal(dir_count(b->base), 3);
        snprintf(p, sizeof(p), "%s/escaped", b->base);
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(access("/escaped-by-core-layer-test", F_OK), -1);
}

static void write_tar(const char *path, const char *filter, const struct tent *ents)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        assert_non_null(a);
        archive_write_set_format_pax_restricted(a);
        if (filter)
                assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (const struct tent *t = ents; t->path; t++) {
                size_t len = t->data ? strlen(t->data) : 0;

                archive_entry_clear(e);
                archive_entry_set_pathname(e, t->path);
                archive_entry_set_filetype(e, t->type);
                archive_entry_set_perm(e, t->mode);
                archive_entry_set_uid(e, t->uid);
                archive_entry_set_gid(e, t->gid);
                archive_entry_set_mtime(e, 1000000000, 0);
                if (t->type == AE_IFLNK)
                        archive_entry_set_symlink(e, t->link);
                else if (t->link)
                        archive_entry_set_hardlink(e, t->link);
                if (t->type == AE_IFCHR || t->type == AE_IFBLK)
                        archive_entry_set_rdev(e, makedev(1, 3));
                archive_entry_set_size(e, t->type == AE_IFREG && !t->link ? (la_int64_t)len : 0);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (len && !t->link)
                        assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
        }
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static int extract(struct box *b, struct layer_stats *st, struct err *err)
{
        _cleanup_close_ int fd = open(b->tar, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        return layer_extract(fd, b->layer_fd, st, err);
}

static int extract_ents(struct box *b, const struct tent *ents, struct err *err)
{
        struct layer_stats st;

        write_tar(b->tar, NULL, ents);
        return extract(b, &st, err);
}

static void lstat_at(struct box *b, const char *rel, struct stat *st)
{
        assert_int_equal(fstatat(b->layer_fd, rel, st, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_basic_tree(void **state)
{
        struct box *b = *state;
        static const struct tent ents[] = {
                DIR_("./"),
                DIR_("./etc/"),
                {"./etc/shadow", AE_IFREG, "secret\n", NULL, 0640, 0, 42},
                FILE_("./bin/busybox", "#!busybox"),
                HARDLINK_("./bin/sh", "./bin/busybox"),
                SYMLINK_("./bin/ls", "busybox"),
                SYMLINK_("./abs", "/etc/passwd"),
                {"./dev/null", AE_IFCHR, NULL, NULL, 0666, 0, 0},
                {"./run/fifo", AE_IFIFO, NULL, NULL, 0600, 7, 8},
                {"./tmp/", AE_IFDIR, NULL, NULL, 01777, 0, 0},
                {"./usr/bin/su", AE_IFREG, "x", NULL, 04755, 0, 0},
                TEND,
        };
        struct layer_stats st;
        struct err err = {0};
        struct stat s1, s2;
        char link[64], hex[SHA256_HEX_LEN];
        _cleanup_free_ char *bytes = NULL;
        size_t len;

        write_tar(b->tar, NULL, ents);
        assert_int_equal(extract(b, &st, &err), 0);
        assert_int_equal(fs_read_file(b->tar, &bytes, &len, &err), 0);
        sha256_hex(bytes, len, hex);
        assert_string_equal(st.diff_id, hex);
        assert_int_equal(st.tar_size, (long long)len);
        /* 7 + 9 (busybox, its hard link once) + 1 (su) + 7 + 11 (symlink targets) */
        assert_int_equal(st.content_size, 7 + 9 + 1 + 7 + 11);

        lstat_at(b, "etc/shadow", &s1);
        assert_int_equal(s1.st_mode & 07777, 0640);
        assert_int_equal(s1.st_gid, 42);
        assert_int_equal(s1.st_mtime, 1000000000);
        lstat_at(b, "bin/busybox", &s1);
        lstat_at(b, "bin/sh", &s2);
        assert_int_equal(s1.st_ino, s2.st_ino);
        assert_int_equal(readlinkat(b->layer_fd, "abs", link, sizeof(link)), 11);
        lstat_at(b, "dev/null", &s1);
        assert_true(S_ISCHR(s1.st_mode));
        assert_int_equal(s1.st_rdev, makedev(1, 3));
        lstat_at(b, "run/fifo", &s1);
        assert_true(S_ISFIFO(s1.st_mode));
        assert_int_equal(s1.st_uid, 7);
        lstat_at(b, "tmp", &s1);
        assert_int_equal(s1.st_mode & 07777, 01777);
        assert_int_equal(s1.st_mtime, 1000000000);
        lstat_at(b, "usr/bin/su", &s1);
        assert_int_equal(s1.st_mode & 07777, 04755);
        assert_contained(b);
}

static void check_filter(struct box *b, const char *filter)
{
        static const struct tent ents[] = {FILE_("a/b", "hello"), SYMLINK_("c", "a/b"), TEND};
        struct layer_stats plain, packed;
        struct err err = {0};
        struct box other = *b;

        write_tar(b->tar, NULL, ents);
        assert_int_equal(extract(b, &plain, &err), 0);
        write_tar(b->tar, filter, ents);
        other.layer_fd = b->layer_fd;
        assert_int_equal(extract(&other, &packed, &err), 0);
        assert_string_equal(plain.diff_id, packed.diff_id);
        assert_int_equal(plain.tar_size, packed.tar_size);
}

static void test_compressions(void **state)
{
        static const char *const filters[] = {"gzip", "bzip2", "xz", "zstd"};

        for (size_t i = 0; i < ARRAY_SIZE(filters); i++)
                check_filter(*state, filters[i]);
        assert_contained(*state);
}

static void test_dotdot_refused(void **state)
{
        struct box *b = *state;
        static const struct tent a[] = {FILE_("../escaped", "x"), TEND};
        static const struct tent c[] = {FILE_("ok/../../escaped", "x"), TEND};
        static const struct tent d[] = {DIR_("x/"), FILE_("x/../../outside/f", "x"), TEND};
        struct err err = {0};

        assert_int_equal(extract_ents(b, a, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "\"..\""));
        assert_int_equal(extract_ents(b, c, &err), -EINVAL);
        assert_int_equal(extract_ents(b, d, &err), -EINVAL);
        assert_contained(b);
}

static void test_absolute_paths_stay_inside(void **state)
{
        struct box *b = *state;
        struct tent ents[] = {FILE_("/escaped-by-core-layer-test", "x"), TEND, TEND};
        char abs[PATH_MAX + 16];
        struct stat st;
        struct err err = {0};

        snprintf(abs, sizeof(abs), "%s/f", b->outside);
        ents[1] = (struct tent)FILE_(abs, "y");
        assert_int_equal(extract_ents(b, ents, &err), 0);
        lstat_at(b, "escaped-by-core-layer-test", &st);
        assert_true(S_ISREG(st.st_mode));
        lstat_at(b, abs + 1, &st);
        assert_contained(b);
}

static void test_symlink_parent_not_followed(void **state)
{
        struct box *b = *state;
        struct tent ents[] = {SYMLINK_("evil", b->outside), FILE_("evil/x", "pwned"), TEND};
        static const struct tent rel[] = {SYMLINK_("up", "../outside"), FILE_("up/x", "p"), TEND};
        static const struct tent deep[] = {DIR_("d/"), SYMLINK_("d/l", "../../outside"),
                                           DIR_("d/l/sub/"), TEND};
        struct err err = {0};

        assert_int_equal(extract_ents(b, ents, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a directory"));
        assert_int_equal(extract_ents(b, rel, &err), -EINVAL);
        assert_int_equal(extract_ents(b, deep, &err), -EINVAL);
        assert_contained(b);
}

static void test_symlink_replaced_not_followed(void **state)
{
        struct box *b = *state;
        char target[PATH_MAX + 16];
        struct tent ents[] = {SYMLINK_("f", target), FILE_("f", "new"), TEND};
        struct err err = {0};
        struct stat st;

        /* A later file entry replaces the symlink; it must not write through it. */
        snprintf(target, sizeof(target), "%s/victim", b->outside);
        assert_int_equal(extract_ents(b, ents, &err), 0);
        lstat_at(b, "f", &st);
        assert_true(S_ISREG(st.st_mode));
        assert_contained(b);
}

static void test_hardlink_stays_in_layer(void **state)
{
        struct box *b = *state;
        static const struct tent host[] = {HARDLINK_("passwd", "/etc/passwd"), TEND};
        static const struct tent up[] = {HARDLINK_("passwd", "../../../../etc/passwd"), TEND};
        static const struct tent via[] = {SYMLINK_("etc", "/etc"), HARDLINK_("pw", "etc/passwd"),
                                          TEND};
        static const struct tent own[] = {FILE_("etc/passwd", "root:x:0:0"),
                                          HARDLINK_("passwd", "/etc/passwd"), TEND};
        struct stat before, after, in_layer, link;
        struct err err = {0};

        assert_int_equal(stat("/etc/passwd", &before), 0);
        assert_int_equal(extract_ents(b, host, &err), -EINVAL);
        assert_int_equal(extract_ents(b, up, &err), -EINVAL);
        assert_int_equal(extract_ents(b, via, &err), -EINVAL);
        assert_int_equal(stat("/etc/passwd", &after), 0);
        assert_int_equal(before.st_nlink, after.st_nlink);
        assert_int_equal(faccessat(b->layer_fd, "passwd", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(faccessat(b->layer_fd, "pw", F_OK, AT_SYMLINK_NOFOLLOW), -1);

        /* Resolved in the layer: "/etc/passwd" means the layer's own etc/passwd. */
        assert_int_equal(unlinkat(b->layer_fd, "etc", 0), 0);
        assert_int_equal(extract_ents(b, own, &err), 0);
        lstat_at(b, "etc/passwd", &in_layer);
        lstat_at(b, "passwd", &link);
        assert_int_equal(in_layer.st_ino, link.st_ino);
        assert_int_not_equal(link.st_ino, before.st_ino);
        assert_contained(b);
}

static void test_whiteouts(void **state)
{
        struct box *b = *state;
        static const struct tent ents[] = {
                DIR_("d/"),
                {"d/.wh.gone", AE_IFREG, NULL, NULL, 0600, 5, 6},
                DIR_("o/"),
                FILE_("o/.wh..wh..opq", NULL),
                FILE_("o/kept", "k"),
                FILE_(".wh..wh.plnk", NULL),
                FILE_(".wh..wh.plnk/123.456", NULL),
                FILE_("new/.wh.old", NULL),
                TEND,
        };
        struct stat st;
        char val[8];
        struct err err = {0};

        assert_int_equal(extract_ents(b, ents, &err), 0);
        lstat_at(b, "d/gone", &st);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        assert_int_equal(st.st_uid, 5);
        assert_int_equal(faccessat(b->layer_fd, "d/.wh.gone", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(getxattr(b->layer, "trusted.overlay.opaque", val, sizeof(val)), -1);
        {
                char o[PATH_MAX + 8];
                snprintf(o, sizeof(o), "%s/o", b->layer);
                assert_int_equal(getxattr(o, "trusted.overlay.opaque", val, sizeof(val)), 1);
                assert_int_equal(val[0], 'y');
        }
        assert_int_equal(faccessat(b->layer_fd, "o/.wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        lstat_at(b, "o/kept", &st);
        assert_int_equal(faccessat(b->layer_fd, ".wh..wh.plnk", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        lstat_at(b, "new/old", &st);
        assert_true(S_ISCHR(st.st_mode));
        assert_contained(b);
}

static void test_invalid_whiteouts(void **state)
{
        static const char *const bad[] = {"d/.wh.", "d/.wh..", "d/.wh...", ".wh.."};

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct tent ents[] = {FILE_(bad[i], NULL), TEND};
                struct err err = {0};

                assert_int_equal(extract_ents(*state, ents, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "invalid whiteout"));
        }
        assert_contained(*state);
}

static void test_opaque_xattr_from_tar_ignored(void **state)
{
        struct box *b = *state;
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        struct layer_stats st;
        struct err err = {0};
        char val[8], d[PATH_MAX + 8];

        archive_write_set_format_pax(a);
        assert_int_equal(archive_write_open_filename(a, b->tar), ARCHIVE_OK);
        archive_entry_set_pathname(e, "d");
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
        archive_entry_xattr_add_entry(e, "user.note", "hi", 2);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        assert_int_equal(extract(b, &st, &err), 0);
        snprintf(d, sizeof(d), "%s/d", b->layer);
        assert_int_equal(getxattr(d, "trusted.overlay.redirect", val, sizeof(val)), -1);
        /* tmpfs before Linux 6.6 holds no user.* attributes (ENOTSUP, which extraction
         * passes over): probe the directory itself. */
        if (setxattr(b->base, "user.probe", "1", 1, 0) == 0 || errno != ENOTSUP)
                assert_int_equal(getxattr(d, "user.note", val, sizeof(val)), 2);
        else
                print_message("the test directory's filesystem holds no user.* attributes: "
                              "user.note not checked\n");
}

static void test_replacements(void **state)
{
        struct box *b = *state;
        static const struct tent ents[] = {
                FILE_("a", "file"), DIR_("a/"),         FILE_("a/in", "x"),
                DIR_("b/"),         FILE_("b/in", "x"), FILE_("b", "now a file"),
                FILE_("c", "one"),  FILE_("c", "two"),  TEND,
        };
        struct err err = {0};
        struct stat st;
        _cleanup_free_ char *c = NULL;
        char path[PATH_MAX + 8];

        assert_int_equal(extract_ents(b, ents, &err), 0);
        lstat_at(b, "a/in", &st);
        lstat_at(b, "b", &st);
        assert_true(S_ISREG(st.st_mode));
        snprintf(path, sizeof(path), "%s/c", b->layer);
        assert_int_equal(fs_read_file(path, &c, NULL, &err), 0);
        assert_string_equal(c, "two");
}

static void make_big_tar(struct box *b, const char *filter)
{
        static char big[20000];
        struct tent ents[] = {FILE_("small", "s"), FILE_("big", big), FILE_("after", "a"), TEND};

        memset(big, 'z', sizeof(big) - 1);
        write_tar(b->tar, filter, ents);
}

static void test_truncated(void **state)
{
        struct box *b = *state;
        static const char *const filters[] = {NULL, "gzip", "xz", "zstd"};
        struct layer_stats st;

        for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
                struct err err = {0};
                struct stat s;

                make_big_tar(b, filters[i]);
                assert_int_equal(stat(b->tar, &s), 0);
                assert_int_equal(truncate(b->tar, s.st_size / 2), 0);
                assert_int_equal(extract(b, &st, &err), -EINVAL);
                assert_true(strlen(err.msg) > 0);
        }
        assert_contained(b);
}

static void test_garbage_and_empty(void **state)
{
        struct box *b = *state;
        struct layer_stats st;
        struct err err = {0};

        assert_int_equal(fs_write_atomic(b->tar, "this is not a tarball\n", 22, 0644, &err), 0);
        assert_int_equal(extract(b, &st, &err), -EINVAL);
        assert_int_equal(fs_write_atomic(b->tar, "", 0, 0644, &err), 0);
        assert_int_equal(extract(b, &st, &err), -EINVAL);
}

static void test_stage_commit_remove(void **state)
{
        struct box *b = *state;
        static const struct tent ents[] = {FILE_("etc/os-release", "hawser"), TEND};
        char tmp[PATH_MAX + 8], layers[PATH_MAX + 8], id1[65], id2[65], p[PATH_MAX * 2];
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL;
        struct layer_stats st;
        struct err err = {0};
        bool created;
        long long size;
        int fd;

        snprintf(tmp, sizeof(tmp), "%s/tmp", b->outside);
        snprintf(layers, sizeof(layers), "%s/layers", b->outside);
        write_tar(b->tar, "gzip", ents);
        for (int i = 0; i < 2; i++) {
                fd = open(b->tar, O_RDONLY | O_CLOEXEC);
                assert_int_equal(layer_stage(fd, tmp, i ? &s2 : &s1, &st, &err), 0);
                close(fd);
        }
        assert_int_equal(layer_commit(s1, layers, &created, id1, &err), 0);
        assert_true(created);
        assert_string_equal(id1, st.diff_id);
        assert_int_equal(layer_commit(s2, layers, &created, id2, &err), 0);
        assert_false(created);
        assert_string_equal(id1, id2);
        assert_int_equal(access(s2, F_OK), -1);
        assert_int_equal(dir_count(tmp), 0);
        snprintf(p, sizeof(p), "%s/%s", layers, id1);
        assert_int_equal(layer_read_size(p, "size", &size, &err), 0);
        assert_int_equal(size, st.tar_size);
        assert_int_equal(layer_read_size(p, "content-size", &size, &err), 0);
        assert_int_equal(size, 6);
        snprintf(p, sizeof(p), "%s/%s/diff/etc/os-release", layers, id1);
        assert_int_equal(access(p, F_OK), 0);
        assert_int_equal(layer_remove(layers, tmp, id1, &err), 0);
        assert_int_equal(dir_count(layers), 0);
        assert_int_equal(dir_count(tmp), 0);
        assert_int_equal(layer_remove(layers, tmp, id1, &err), 0);

        /* A failed stage leaves nothing in tmp. */
        make_big_tar(b, NULL);
        assert_int_equal(truncate(b->tar, 5000), 0);
        fd = open(b->tar, O_RDONLY | O_CLOEXEC);
        assert_int_equal(layer_stage(fd, tmp, &s3, &st, &err), -EINVAL);
        assert_null(s3);
        close(fd);
        assert_int_equal(dir_count(tmp), 0);
}

/* ---- Tar-split records kept by layer_stage, and layers diverted out of image archives. */

struct buf {
        unsigned char *p;
        size_t len, cap;
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

/* One entry of a generated archive. type 0 ends a list. A regular file's content is data
 * when given, else size bytes of a pattern that depends on path, size and seed. */
struct lent {
        const char *path;
        unsigned type;
        size_t size;
        const char *link; /* symlink target, or hard link target for AE_IFREG */
        const void *data;
        unsigned seed;
        int uid;
};

#define LFILE(p, n)                                                                                \
        {                                                                                          \
                .path = p, .type = AE_IFREG, .size = n                                             \
        }
#define LDIR(p)                                                                                    \
        {                                                                                          \
                .path = p, .type = AE_IFDIR                                                        \
        }
#define LSYM(p, t)                                                                                 \
        {                                                                                          \
                .path = p, .type = AE_IFLNK, .link = t                                             \
        }
#define LHARD(p, t)                                                                                \
        {                                                                                          \
                .path = p, .type = AE_IFREG, .link = t                                             \
        }
#define LBLOB(name, blob)                                                                          \
        {                                                                                          \
                .path = name, .type = AE_IFREG, .size = (blob)->len, .data = (blob)->p             \
        }
#define LEND                                                                                       \
        {                                                                                          \
                .path = NULL                                                                       \
        }

static unsigned pat_seed(const struct lent *l)
{
        unsigned h = 5381;

        for (const char *c = l->path; *c; c++)
                h = h * 33 + (unsigned char)*c;
        return h * 31 + (unsigned)l->size + l->seed * 7919;
}

static void pat_fill(unsigned char *p, size_t n, unsigned seed)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char)(seed + i * 13 + i / 509 + (seed >> 8) * (i >> 12));
}

/* The content an entry carries, malloc'd. */
static unsigned char *lent_content(const struct lent *l)
{
        unsigned char *p = malloc(l->size ? l->size : 1);

        assert_non_null(p);
        if (l->data)
                memcpy(p, l->data, l->size);
        else
                pat_fill(p, l->size, pat_seed(l));
        return p;
}

static la_ssize_t buf_write_cb(struct archive *a, void *ud, const void *p, size_t n)
{
        (void)a;
        buf_add(ud, p, n);
        return (la_ssize_t)n;
}

static void lent_header(struct archive_entry *e, const struct lent *l)
{
        archive_entry_clear(e);
        archive_entry_set_pathname(e, l->path);
        archive_entry_set_filetype(e, l->type);
        archive_entry_set_perm(e, l->type == AE_IFDIR ? 0755 : l->type == AE_IFLNK ? 0777 : 0644);
        archive_entry_set_uid(e, l->uid);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, 1000000000, 0);
        if (l->type == AE_IFLNK)
                archive_entry_set_symlink(e, l->link);
        else if (l->link)
                archive_entry_set_hardlink(e, l->link);
        archive_entry_set_size(e, l->type == AE_IFREG && !l->link ? (la_int64_t)l->size : 0);
}

/* libarchive has no format code for it: no magic, only the header checksum says "tar". */
#define FORMAT_V7 (-1)

/* A tar of ents in format (ARCHIVE_FORMAT_TAR_* or FORMAT_V7), through filter when not
 * NULL. */
static void tar_build(int format, const char *filter, const struct lent *ents, struct buf *out)
{
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        assert_non_null(a);
        assert_non_null(e);
        out->len = 0;
        if (format == FORMAT_V7)
                assert_int_equal(archive_write_set_format_v7tar(a), ARCHIVE_OK);
        else
                assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
        /* Compressed output ends with the compressed stream (as from gzip(1)), plain output is
         * padded to libarchive's 10 KiB blocks: zeros after the end-of-archive blocks. */
        if (filter) {
                assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
                assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
        }
        assert_int_equal(archive_write_open(a, out, NULL, buf_write_cb, NULL), ARCHIVE_OK);
        for (const struct lent *l = ents; l->path; l++) {
                lent_header(e, l);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (l->type == AE_IFREG && !l->link && l->size) {
                        _cleanup_free_ unsigned char *c = lent_content(l);

                        assert_int_equal(archive_write_data(a, c, l->size), (la_ssize_t)l->size);
                }
        }
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

/* The uncompressed stream of packed. */
static void tar_unpack(const struct buf *packed, struct buf *out)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        const void *p;
        size_t n;
        la_int64_t off;
        int r;

        assert_non_null(a);
        out->len = 0;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        assert_int_equal(archive_read_open_memory(a, packed->p, packed->len), ARCHIVE_OK);
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        while ((r = archive_read_data_block(a, &p, &n, &off)) == ARCHIVE_OK) {
                assert_int_equal(off, (la_int64_t)out->len);
                buf_add(out, p, n);
        }
        assert_int_equal(r, ARCHIVE_EOF);
        archive_read_free(a);
}

static void write_buf(const char *path, const struct buf *b)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(fs_write_all(fd, b->p, b->len), 0);
}

static void buf_sha(const struct buf *b, char out[SHA256_HEX_LEN])
{
        assert_int_equal(sha256_hex(b->p, b->len, out), 0);
}

static void assert_same(const char *what, const char *got, const char *want)
{
        if (strcmp(got, want))
                fail_msg("%s: got %s, want %s", what, got, want);
}

static void assert_bytes(const char *what, const void *got, size_t got_len, const void *want,
                         size_t want_len)
{
        if (got_len != want_len)
                fail_msg("%s: %zu bytes, want %zu", what, got_len, want_len);
        if (!want_len || !memcmp(got, want, want_len))
                return;
        for (size_t i = 0; i < want_len; i++)
                if (((const unsigned char *)got)[i] != ((const unsigned char *)want)[i])
                        fail_msg("%s: first difference at byte %zu of %zu", what, i, want_len);
}

/* Whiteouts name what they remove; everything else names itself without a trailing '/'. */
static void lent_key(const struct lent *l, char key[PATH_MAX])
{
        const char *p = l->path, *base;
        size_t n;

        if (!strncmp(p, "./", 2))
                p += 2;
        if (!strcmp(p, "."))
                p = "";
        n = strlen(p);
        if (n && p[n - 1] == '/')
                n--;
        base = memrchr(p, '/', n);
        base = base ? base + 1 : p;
        if (!strncmp(base, ".wh.", 4) && strncmp(base, ".wh..wh.", 8))
                snprintf(key, PATH_MAX, "%.*s%.*s", (int)(base - p), p,
                         (int)(n - (size_t)(base - p) - 4), base + 4);
        else
                snprintf(key, PATH_MAX, "%.*s", (int)n, p);
}

static bool lent_is_whiteout(const struct lent *l)
{
        const char *slash = strrchr(l->path, '/');
        const char *base = slash ? slash + 1 : l->path;

        return !strncmp(base, ".wh.", 4) && strcmp(base, ".wh..wh..opq");
}

static bool lent_is_opaque(const struct lent *l)
{
        const char *slash = strrchr(l->path, '/');

        return !strcmp(slash ? slash + 1 : l->path, ".wh..wh..opq");
}

static bool replaced_later(const struct lent *l, const char *key)
{
        char other[PATH_MAX];

        for (const struct lent *m = l + 1; m->path; m++) {
                size_t n;

                lent_key(m, other);
                n = strlen(other);
                if (lent_is_opaque(m) || !n)
                        continue;
                /* The same name, or a parent replaced by a non-directory. */
                if (!strcmp(other, key) ||
                    (m->type != AE_IFDIR && !strncmp(key, other, n) && key[n] == '/'))
                        return true;
        }
        return false;
}

static void assert_file_at(int dfd, const char *path, const void *want, size_t len)
{
        _cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ unsigned char *got = malloc(len + 1);
        struct stat st;

        if (fd < 0)
                fail_msg("%s: %s", path, strerror(errno));
        assert_non_null(got);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        if ((size_t)st.st_size != len)
                fail_msg("%s: %lld bytes, want %zu", path, (long long)st.st_size, len);
        assert_int_equal(fs_read_all(fd, got, len), (ssize_t)len);
        assert_bytes(path, got, len, want, len);
}

/* The tree below dfd is what ents describe (a later entry of the same name wins). */
static void assert_tree(int dfd, const struct lent *ents)
{
        for (const struct lent *l = ents; l->path; l++) {
                char key[PATH_MAX], target[PATH_MAX];
                struct stat st, tst;

                lent_key(l, key);
                if (!*key || replaced_later(l, key))
                        continue;
                if (lent_is_opaque(l)) {
                        char val[4] = "";
                        _cleanup_close_ int d = -1;

                        *strrchr(key, '/') = '\0';
                        d = openat(dfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        assert_true(d >= 0);
                        assert_int_equal(fgetxattr(d, "trusted.overlay.opaque", val, 4), 1);
                        assert_int_equal(val[0], 'y');
                        continue;
                }
                if (fstatat(dfd, key, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        fail_msg("%s: %s", key, strerror(errno));
                if (lent_is_whiteout(l)) {
                        assert_true(S_ISCHR(st.st_mode));
                        assert_int_equal(st.st_rdev, makedev(0, 0));
                } else if (l->type == AE_IFDIR) {
                        assert_true(S_ISDIR(st.st_mode));
                } else if (l->type == AE_IFLNK) {
                        ssize_t n = readlinkat(dfd, key, target, sizeof(target));

                        assert_true(S_ISLNK(st.st_mode));
                        assert_int_equal(n, (ssize_t)strlen(l->link));
                        assert_memory_equal(target, l->link, (size_t)n);
                } else if (l->link) {
                        assert_int_equal(fstatat(dfd, l->link, &tst, AT_SYMLINK_NOFOLLOW), 0);
                        assert_int_equal(st.st_ino, tst.st_ino);
                } else {
                        _cleanup_free_ unsigned char *c = lent_content(l);

                        assert_file_at(dfd, key, c, l->size);
                        assert_int_equal(st.st_uid, (uid_t)l->uid);
                }
        }
}

static int sink_buf(void *ud, const void *p, size_t n, struct err *err)
{
        (void)err;
        buf_add(ud, p, n);
        return 0;
}

static int open_at_stage(const char *stage, const char *name, int flags)
{
        char p[PATH_MAX * 2];

        snprintf(p, sizeof(p), "%s/%s", stage, name);
        return open(p, flags | O_CLOEXEC);
}

/* The stage's tar-split reproduces tar byte for byte from its diff/, and the stats and the
 * diff-id and size files describe tar. */
static void assert_replays(const char *what, const char *stage, const struct layer_stats *st,
                           const struct buf *tar)
{
        _cleanup_close_ int sfd = open_at_stage(stage, LAYER_SPLIT_FILE, O_RDONLY);
        _cleanup_close_ int dfd = open_at_stage(stage, "diff", O_RDONLY | O_DIRECTORY);
        _cleanup_free_ char *diff_id = NULL;
        char sha[SHA256_HEX_LEN], p[PATH_MAX * 2];
        struct buf out = {0};
        struct err err = {0};
        long long size = -1;

        if (sfd < 0)
                fail_msg("%s: no %s in the stage: %s", what, LAYER_SPLIT_FILE, strerror(errno));
        assert_true(dfd >= 0);
        assert_int_equal(tarsplit_size(sfd, &size, &err), 0);
        assert_int_equal(size, (long long)tar->len);
        if (tarsplit_replay(sfd, dfd, sink_buf, &out, &err) < 0)
                fail_msg("%s: replay: %s", what, err.msg);
        assert_bytes(what, out.p, out.len, tar->p, tar->len);
        buf_sha(&out, sha);
        buf_free(&out);
        assert_same(what, st->diff_id, sha);
        assert_int_equal(st->tar_size, (long long)tar->len);
        snprintf(p, sizeof(p), "%s/diff-id", stage);
        assert_int_equal(fs_read_file(p, &diff_id, NULL, &err), 0);
        assert_int_equal(strlen(diff_id), 65);
        assert_memory_equal(diff_id, sha, 64);
        assert_int_equal(layer_read_size(stage, "size", &size, &err), 0);
        assert_int_equal(size, (long long)tar->len);
}

static void stages_dir(struct box *b, char out[PATH_MAX])
{
        snprintf(out, PATH_MAX, "%s/stages", b->base);
}

static char *stage_buf(struct box *b, const struct buf *in, struct layer_stats *st)
{
        char tmp[PATH_MAX];
        char *stage = NULL;
        struct err err = {0};
        _cleanup_close_ int fd = -1;

        stages_dir(b, tmp);
        write_buf(b->tar, in);
        fd = open(b->tar, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (layer_stage(fd, tmp, &stage, st, &err) < 0)
                fail_msg("layer_stage: %s", err.msg);
        assert_non_null(stage);
        return stage;
}

static void discard(char **stage)
{
        layer_discard(*stage);
        free(*stage);
        *stage = NULL;
}

static void assert_no_stages(struct box *b)
{
        char tmp[PATH_MAX];

        stages_dir(b, tmp);
        assert_int_equal(dir_count(tmp), 0);
}

static void assert_stage_tree(const char *stage, const struct lent *ents)
{
        _cleanup_close_ int dfd = open_at_stage(stage, "diff", O_RDONLY | O_DIRECTORY);

        assert_true(dfd >= 0);
        assert_tree(dfd, ents);
}

static const char long_name[] =
        "long/"
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";
static const char long_target[] =
        "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
        "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt";

/* Every kind of entry a layer holds, content sizes around block boundaries and one large
 * enough to span several reads; with_ext adds what ustar cannot express (extension headers
 * in pax and GNU archives). */
static void layer_ents(struct lent *out, size_t cap, bool with_ext)
{
        const struct lent common[] = {
                LDIR("./"),
                LDIR("etc/"),
                LFILE("etc/empty", 0),
                LFILE("etc/block", 512),
                LFILE("etc/block1", 513),
                LFILE("etc/one", 1),
                LFILE("usr/lib/big.so", 3 * 1000 * 1000 + 17),
                LFILE("usr/lib/after-big", 700),
                LSYM("usr/lib/link", "big.so"),
                LHARD("usr/lib/hard", "usr/lib/big.so"),
                LHARD("etc/hard-empty", "etc/empty"),
                LDIR("gone/"),
                LFILE("gone/.wh.x", 0),
                LFILE(".wh.top", 0),
                LDIR("opq/"),
                LFILE("opq/.wh..wh..opq", 0),
                LFILE("opq/kept", 100),
                LFILE("no-parent-entry/deep/file", 1024),
        };
        const struct lent ext[] = {
                LFILE(long_name, 2000),
                LSYM("long-link", long_target),
                {.path = "etc/owned", .type = AE_IFREG, .size = 10, .uid = 3000000},
        };
        size_t n = 0;

        assert_true(ARRAY_SIZE(common) + ARRAY_SIZE(ext) + 2 <= cap);
        for (size_t i = 0; i < ARRAY_SIZE(common); i++)
                out[n++] = common[i];
        for (size_t i = 0; with_ext && i < ARRAY_SIZE(ext); i++)
                out[n++] = ext[i];
        out[n++] = (struct lent)LFILE("tail", 10000);
        out[n] = (struct lent)LEND;
}

static void test_stage_keeps_tar_split(void **state)
{
        struct box *b = *state;
        /* trailer: the diff id covers whatever follows the end-of-archive blocks, so must the
         * record; here more than a read's worth of it. */
        static const struct {
                const char *name;
                int format;
                bool ext, trailer;
        } formats[] = {
                {"pax_restricted", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, true, false},
                {"gnutar", ARCHIVE_FORMAT_TAR_GNUTAR, true, false},
                {"ustar", ARCHIVE_FORMAT_TAR_USTAR, false, false},
                {"v7", FORMAT_V7, false, false},
                {"pax_restricted, trailing bytes", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, true, true},
        };
        struct lent trailer = {.path = "trailer", .type = AE_IFREG, .size = 2500 * 1000};
        _cleanup_free_ unsigned char *t = lent_content(&trailer);
        struct lent ents[32];
        struct buf tar = {0};

        for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
                struct layer_stats st;
                char *stage;

                layer_ents(ents, ARRAY_SIZE(ents), formats[i].ext);
                tar_build(formats[i].format, NULL, ents, &tar);
                if (formats[i].trailer)
                        buf_add(&tar, t, trailer.size);
                stage = stage_buf(b, &tar, &st);
                assert_replays(formats[i].name, stage, &st, &tar);
                assert_same(formats[i].name, st.blob, st.diff_id);
                assert_int_equal(st.blob_size, st.tar_size);
                assert_stage_tree(stage, ents);
                discard(&stage);
        }
        buf_free(&tar);
        assert_no_stages(b);
}

static void test_stage_compressed_replays_tar(void **state)
{
        struct box *b = *state;
        static const char *const filters[] = {"gzip", "zstd"};
        struct lent ents[32];
        struct buf plain = {0}, packed = {0};

        layer_ents(ents, ARRAY_SIZE(ents), true);
        for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
                struct layer_stats st;
                char *stage;

                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, filters[i], ents, &packed);
                tar_unpack(&packed, &plain);
                assert_true(packed.len < plain.len);
                stage = stage_buf(b, &packed, &st);
                assert_replays(filters[i], stage, &st, &plain);
                assert_stage_tree(stage, ents);
                discard(&stage);
        }
        buf_free(&plain);
        buf_free(&packed);
        assert_no_stages(b);
}

/* Streams the record cannot describe: the stage succeeds, with the right tree and diff id,
 * and simply has no tar-split. */
static void test_stage_without_tar_split(void **state)
{
        struct box *b = *state;
        static const struct lent replaced[] = {
                LFILE("a", 100), LFILE("b", 600), LFILE("a", 2000), LFILE("c", 10), LEND,
        };
        static const struct lent same_size[] = {
                LFILE("a", 700),
                {.path = "a", .type = AE_IFREG, .size = 700, .seed = 1},
                LEND,
        };
        static const struct lent whited[] = {
                LFILE("d/a", 100),
                LFILE("d/.wh.a", 0),
                LFILE("d/b", 5),
                LEND,
        };
        static const struct lent dir_replaced[] = {
                LFILE("d/in", 100),
                LFILE("d", 30),
                LFILE("e", 3),
                LEND,
        };
        static const struct lent by_hardlink[] = {
                LFILE("a", 100),
                LFILE("b", 200),
                LHARD("b", "a"),
                LEND,
        };
        /* A whiteout's content is never written to a file. */
        static const struct lent wh_content[] = {
                LDIR("d/"),
                LFILE("d/.wh.x", 10),
                LFILE("d/y", 300),
                LEND,
        };
        static const struct lent wh_content_same[] = {
                LFILE("d/.wh.x", 300),
                LFILE("d/y", 300),
                LFILE("z", 1),
                LEND,
        };
        static const struct lent wh_content_last[] = {
                LFILE("d/y", 300),
                LFILE("d/.wh.x", 513),
                LEND,
        };
        static const struct lent opq_content[] = {
                LFILE("o/.wh..wh..opq", 20),
                LFILE("o/k", 20),
                LEND,
        };
        static const struct lent *const cases[] = {
                replaced,   same_size,       whited,          dir_replaced, by_hardlink,
                wh_content, wh_content_same, wh_content_last, opq_content,
        };
        struct buf tar = {0};

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct layer_stats st;
                char *stage, sha[SHA256_HEX_LEN], what[32];
                _cleanup_close_ int sfd = -1;

                snprintf(what, sizeof(what), "case %zu", i);
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, cases[i], &tar);
                stage = stage_buf(b, &tar, &st);
                sfd = open_at_stage(stage, LAYER_SPLIT_FILE, O_RDONLY);
                if (sfd >= 0)
                        fail_msg("%s: the stage has a %s", what, LAYER_SPLIT_FILE);
                assert_int_equal(errno, ENOENT);
                buf_sha(&tar, sha);
                assert_same(what, st.diff_id, sha);
                assert_int_equal(st.tar_size, (long long)tar.len);
                assert_stage_tree(stage, cases[i]);
                discard(&stage);
        }
        buf_free(&tar);
        assert_no_stages(b);
}

/* What the divert callback was handed. */
struct took {
        char *path;
        dev_t dev;
        ino_t ino;
        char *stage;
        struct layer_stats stats;
        char *error;
};

struct taken_log {
        struct took v[16];
        size_t n;
        size_t fail_at; /* the call (1-based) that returns an error; 0: none */
};

static int taken_cb(void *ud, struct layer_diverted *d, struct err *err)
{
        struct taken_log *log = ud;
        struct took *t;

        assert_true(log->n < ARRAY_SIZE(log->v));
        t = &log->v[log->n++];
        *t = (struct took){
                .path = strdup(d->path),
                .dev = d->dev,
                .ino = d->ino,
                .stage = d->stage,
                .stats = d->stats,
                .error = d->error ? strdup(d->error) : NULL,
        };
        if (log->fail_at == log->n)
                return err_set(err, -ECANCELED, "refusing %s", d->path);
        return 0;
}

static void taken_clear(struct taken_log *log)
{
        for (size_t i = 0; i < log->n; i++) {
                if (log->v[i].stage)
                        layer_discard(log->v[i].stage);
                free(log->v[i].stage);
                free(log->v[i].path);
                free(log->v[i].error);
        }
        log->n = 0;
}

static const struct took *taken_find(const struct taken_log *log, const char *path)
{
        for (size_t i = 0; i < log->n; i++)
                if (!strcmp(log->v[i].path, path))
                        return &log->v[i];
        return NULL;
}

/* A layer as it appears in an image archive: its uncompressed tar and the bytes stored. */
struct layer_fix {
        const char *filter;
        int format; /* 0: pax_restricted */
        struct lent ents[8];
        struct buf tar, stored;
};

static void layer_fix_build(struct layer_fix *f)
{
        tar_build(f->format ? f->format : ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, f->filter, f->ents,
                  &f->stored);
        if (f->filter)
                tar_unpack(&f->stored, &f->tar);
        else
                buf_add(&f->tar, f->stored.p, f->stored.len);
}

static void layer_fix_free(struct layer_fix *f)
{
        buf_free(&f->tar);
        buf_free(&f->stored);
}

/* d is the callback's record of the layer stored at path in the outer archive: an empty
 * placeholder of that inode is left at path, and the stage and digests describe f. */
static void assert_diverted(int root, const struct took *d, const char *path,
                            const struct layer_fix *f)
{
        char diff_id[SHA256_HEX_LEN], blob[SHA256_HEX_LEN];
        struct stat st;

        if (!d)
                fail_msg("%s was not diverted", path);
        if (!d->stage)
                fail_msg("%s: staging failed: %s", path, d->error ? d->error : "(no error)");
        assert_int_equal(fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 0);
        assert_int_equal(st.st_dev, d->dev);
        assert_int_equal(st.st_ino, d->ino);
        buf_sha(&f->tar, diff_id);
        buf_sha(&f->stored, blob);
        assert_same(path, d->stats.diff_id, diff_id);
        assert_same(path, d->stats.blob, blob);
        assert_int_equal(d->stats.blob_size, (long long)f->stored.len);
        assert_int_equal(d->stats.tar_size, (long long)f->tar.len);
        if (!f->filter)
                assert_same(path, d->stats.blob, d->stats.diff_id);
        assert_stage_tree(d->stage, f->ents);
        assert_replays(path, d->stage, &d->stats, &f->tar);
}

static void fresh_root(struct box *b, char path[PATH_MAX], int *ret_fd)
{
        snprintf(path, PATH_MAX, "%s/root.XXXXXX", b->base);
        assert_non_null(mkdtemp(path));
        *ret_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(*ret_fd >= 0);
}

static int divert_fd(struct box *b, int fd, int root, struct taken_log *log, struct err *err)
{
        char tmp[PATH_MAX];
        const struct layer_divert d = {.tmp_dir = tmp, .taken = taken_cb, .ud = log};

        stages_dir(b, tmp);
        return layer_extract_divert(fd, root, &d, err);
}

static int divert_buf(struct box *b, const struct buf *outer, int root, struct taken_log *log,
                      struct err *err)
{
        _cleanup_close_ int fd = -1;

        write_buf(b->tar, outer);
        fd = open(b->tar, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        return divert_fd(b, fd, root, log, err);
}

/* The content of a regular file entry of the outer archive was extracted byte for byte. */
static void assert_plain_entry(int root, const struct lent *l)
{
        _cleanup_free_ unsigned char *c = lent_content(l);

        assert_file_at(root, l->path, c, l->size);
}

static const char manifest_json[] =
        "[{\"Config\":\"blobs/sha256/config\",\"RepoTags\":[\"hawser/test:latest\"],"
        "\"Layers\":[\"blobs/sha256/plain\",\"blobs/sha256/gzip\"]}]\n";

#define NFIX 8

/* One layer per kind of input: plain (with bytes after its end-of-archive blocks, more than
 * a read's worth), gzip, zstd, bzip2, xz; an empty one (only end-of-archive blocks, which
 * look like a tar by their zero block alone); a gzip'ed one whose stored bytes are shorter
 * than a tar header block; a v7 one (no magic, only a valid header checksum). */
static void layer_fixes(struct layer_fix f[NFIX])
{
        static const char *const filters[NFIX] = {NULL, "gzip", "zstd", "bzip2",
                                                  "xz", NULL,   "gzip", NULL};

        for (size_t i = 0; i < NFIX; i++) {
                f[i] = (struct layer_fix){.filter = filters[i], .format = i == 7 ? FORMAT_V7 : 0};
                if (i == 5) {
                        f[i].ents[0] = (struct lent)LEND;
                } else if (i == 6) {
                        f[i].ents[0] = (struct lent)LFILE("tiny", 3);
                        f[i].ents[1] = (struct lent)LEND;
                } else {
                        f[i].ents[0] = (struct lent)LDIR("etc/");
                        f[i].ents[1] = (struct lent){.path = "etc/layer",
                                                     .type = AE_IFREG,
                                                     .size = 100 + i,
                                                     .seed = (unsigned)i};
                        f[i].ents[2] = (struct lent){.path = "usr/big",
                                                     .type = AE_IFREG,
                                                     .size = i ? 200 * 1000 + i : 1536 * 1024 + 3,
                                                     .seed = (unsigned)i};
                        f[i].ents[3] = (struct lent)LSYM("usr/link", "big");
                        f[i].ents[4] = (struct lent)LFILE(".wh.removed", 0);
                        f[i].ents[5] = (struct lent)LEND;
                }
                layer_fix_build(&f[i]);
        }
        {
                struct lent trailer = {.path = "trailer", .type = AE_IFREG, .size = 1200 * 1000};
                _cleanup_free_ unsigned char *t = lent_content(&trailer);

                buf_add(&f[0].stored, t, trailer.size);
                buf_add(&f[0].tar, t, trailer.size);
        }
        assert_true(f[6].stored.len < 512);
        assert_true(f[5].tar.len >= 1024);
        assert_memory_not_equal(f[7].stored.p + 257, "ustar", 5);
}

static struct layer_fix fix_cache[NFIX];
static bool fix_built;

/* Built once: compressing them is the slow part of the tests that use them. */
static const struct layer_fix *fixes(void)
{
        if (!fix_built)
                layer_fixes(fix_cache);
        fix_built = true;
        return fix_cache;
}

static int fixes_free(void **state)
{
        (void)state;
        for (size_t i = 0; fix_built && i < NFIX; i++)
                layer_fix_free(&fix_cache[i]);
        fix_built = false;
        return 0;
}

static void test_divert_image_archive(void **state)
{
        struct box *b = *state;
        static const char garbage_gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
                                         "this is not deflate data at all, not even close";
        static const char *const outer_filters[] = {NULL, "gzip"};
        static const char *const layer_paths[NFIX] = {
                "blobs/sha256/plain", "blobs/sha256/gzip", "blobs/sha256/zstd",
                "blobs/sha256/bzip2", "blobs/sha256/xz",   "blobs/sha256/empty",
                "blobs/sha256/tiny",  "blobs/sha256/v7",
        };
        const struct layer_fix *f = fixes();
        struct buf config = {0}, history = {0}, garbage = {0}, corrupt = {0}, outer = {0};
        struct taken_log log = {0};
        unsigned char block[1024];

        buf_add(&config, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{}}", 49);
        /* JSON longer than a tar header block. */
        buf_add(&history, "{\"history\":[", 12);
        for (int i = 0; i < 60; i++)
                buf_add(&history, "{\"created_by\":\"RUN true\"},", 26);
        buf_add(&history, "{}]}\n", 5);
        buf_add(&garbage, garbage_gz, sizeof(garbage_gz) - 1);
        for (int i = 0; i < 100; i++)
                buf_add(&garbage, "garbage!", 8);
        /* The ustar magic alone makes a tar (whose header checksum is wrong here). */
        memset(block, 'x', sizeof(block));
        memcpy(block + 257,
               "ustar\0"
               "00",
               8);
        buf_add(&corrupt, block, sizeof(block));

        for (size_t o = 0; o < ARRAY_SIZE(outer_filters); o++) {
                const struct lent plain_files[] = {
                        {.path = "manifest.json",
                         .type = AE_IFREG,
                         .size = sizeof(manifest_json) - 1,
                         .data = manifest_json},
                        LBLOB("blobs/sha256/config", &config),
                        LBLOB("blobs/sha256/history", &history),
                        {.path = "small.txt",
                         .type = AE_IFREG,
                         .size = 24,
                         .data = "a note, not a layer.\n\n\n"},
                        LFILE("empty", 0),
                        LFILE("after-all", 5000),
                };
                const struct lent ents[] = {
                        LDIR("blobs/"),
                        LDIR("blobs/sha256/"),
                        plain_files[0],
                        plain_files[1],
                        plain_files[2],
                        LBLOB(layer_paths[0], &f[0].stored),
                        LBLOB(layer_paths[1], &f[1].stored),
                        LBLOB(layer_paths[2], &f[2].stored),
                        plain_files[3],
                        plain_files[4],
                        LSYM("link.tar", "blobs/sha256/plain"),
                        LBLOB("bad.gz", &garbage),
                        LBLOB("corrupt.tar", &corrupt),
                        LBLOB(layer_paths[3], &f[3].stored),
                        LBLOB(layer_paths[4], &f[4].stored),
                        LBLOB(layer_paths[5], &f[5].stored),
                        LBLOB(layer_paths[6], &f[6].stored),
                        LBLOB(layer_paths[7], &f[7].stored),
                        plain_files[5],
                        LEND,
                };
                char root_path[PATH_MAX], link[64];
                _cleanup_close_ int root = -1;
                struct err err = {0};
                const struct took *bad;
                struct stat st;

                fresh_root(b, root_path, &root);
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, outer_filters[o], ents, &outer);
                if (divert_buf(b, &outer, root, &log, &err) < 0)
                        fail_msg("layer_extract_divert: %s", err.msg);

                /* The layers and the two broken ones; nothing else looks like a tar. */
                assert_int_equal(log.n, NFIX + 2);
                for (size_t i = 0; i < NFIX; i++)
                        assert_diverted(root, taken_find(&log, layer_paths[i]), layer_paths[i],
                                        &f[i]);
                for (size_t i = 0; i < 2; i++) {
                        const char *name = i ? "corrupt.tar" : "bad.gz";

                        bad = taken_find(&log, name);
                        assert_non_null(bad);
                        assert_null(bad->stage);
                        assert_non_null(bad->error);
                        assert_true(strlen(bad->error) > 0);
                        assert_int_equal(fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW), 0);
                        assert_int_equal(st.st_size, 0);
                        assert_int_equal(st.st_ino, bad->ino);
                }
                for (size_t i = 0; i < ARRAY_SIZE(plain_files); i++)
                        assert_plain_entry(root, &plain_files[i]);
                assert_int_equal(readlinkat(root, "link.tar", link, sizeof(link)), 18);
                assert_memory_equal(link, "blobs/sha256/plain", 18);

                taken_clear(&log);
                assert_no_stages(b);
        }
        buf_free(&config);
        buf_free(&history);
        buf_free(&garbage);
        buf_free(&corrupt);
        buf_free(&outer);
}

#define KIB 1024
#define MIB (1024 * 1024)

/* Layers whose content starts anywhere relative to the outer reader's 1 MiB reads: at the
 * start of a read, in its last block, right after it. */
static void test_divert_layer_offsets(void **state)
{
        struct box *b = *state;
        static const size_t pads[] = {
                0,          1,          511,        512,       513,     1023 * KIB + 7,
                MIB - 1543, MIB - 1124, MIB - 1024, MIB - 512, MIB - 1, 2 * MIB - 1324,
        };
        const struct layer_fix *f = fixes();
        struct buf outer = {0};
        struct taken_log log = {0};
        bool ends_block = false, starts_block = false;

        for (size_t i = 0; i < ARRAY_SIZE(pads); i++) {
                const struct lent ents[] = {
                        LFILE("pad", pads[i]),
                        LBLOB("layer.tar", &f[0].stored),
                        {.path = "pad2", .type = AE_IFREG, .size = pads[i], .seed = 2},
                        LBLOB("layer.tar.gz", &f[1].stored),
                        LFILE("after", 700),
                        LEND,
                };
                char root_path[PATH_MAX];
                _cleanup_close_ int root = -1;
                struct err err = {0};
                const unsigned char *at;
                size_t off;

                fresh_root(b, root_path, &root);
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, ents, &outer);
                at = memmem(outer.p, outer.len, f[0].stored.p, 512);
                assert_non_null(at);
                off = (size_t)(at - outer.p);
                ends_block |= off % MIB == MIB - 512;
                starts_block |= off % MIB == 0 && off > 0;
                if (divert_buf(b, &outer, root, &log, &err) < 0)
                        fail_msg("pad %zu: %s", pads[i], err.msg);
                assert_int_equal(log.n, 2);
                assert_diverted(root, taken_find(&log, "layer.tar"), "layer.tar", &f[0]);
                assert_diverted(root, taken_find(&log, "layer.tar.gz"), "layer.tar.gz", &f[1]);
                assert_plain_entry(root, &ents[0]);
                assert_plain_entry(root, &ents[2]);
                assert_plain_entry(root, &ents[4]);
                taken_clear(&log);
        }
        /* The pads above do place a layer at both edges of a read. */
        assert_true(ends_block);
        assert_true(starts_block);
        assert_no_stages(b);
        buf_free(&outer);
}

/* Writes an archive into a pipe, pausing at the given offsets so that the reader's reads end
 * exactly there. */
struct feeder {
        int fd;
        const struct buf *data;
        const size_t *pauses; /* ascending */
        size_t n;
};

static void *feed_main(void *arg)
{
        struct feeder *f = arg;
        size_t at = 0;

        for (size_t i = 0; i <= f->n; i++) {
                size_t end = i < f->n ? f->pauses[i] : f->data->len;

                if (end > at && fs_write_all(f->fd, f->data->p + at, end - at) < 0)
                        break;
                if (end > at)
                        at = end;
                if (i < f->n)
                        nanosleep(&(struct timespec){.tv_nsec = 30 * 1000 * 1000}, NULL);
        }
        close(f->fd);
        return NULL;
}

static int cmp_size(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return x < y ? -1 : x > y;
}

static size_t offset_of(const struct buf *outer, const struct buf *part, size_t len)
{
        const unsigned char *at = memmem(outer->p, outer->len, part->p, len);

        assert_non_null(at);
        return (size_t)(at - outer->p);
}

/* A pipe hands the reader blocks that end anywhere: a layer's first bytes (its compression
 * magic even) then arrive in several pieces. */
static void test_divert_from_pipe(void **state)
{
        struct box *b = *state;
        const struct layer_fix *f = fixes();
        struct buf outer = {0}, history = {0};
        struct taken_log log = {0};
        char root_path[PATH_MAX];
        _cleanup_close_ int root = -1;
        struct err err = {0};
        size_t pauses[16], n = 0, p0, p1, p2, h;
        int fds[2], r;
        pthread_t th;
        struct feeder fd_feed;

        for (int i = 0; i < 40; i++)
                buf_add(&history, "{\"created_by\":\"RUN true\"},", 26);
        {
                const struct lent ents[] = {
                        LBLOB("history.json", &history),
                        LBLOB("plain.tar", &f[0].stored),
                        LBLOB("layer.gz", &f[1].stored),
                        LBLOB("layer.zst", &f[2].stored),
                        LBLOB("tiny.gz", &f[6].stored),
                        LFILE("after", 3000),
                        LEND,
                };

                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, ents, &outer);
                h = offset_of(&outer, &history, 64);
                p0 = offset_of(&outer, &f[0].stored, 512);
                p1 = offset_of(&outer, &f[1].stored, 64);
                p2 = offset_of(&outer, &f[2].stored, 64);
                pauses[n++] = h + 100;
                pauses[n++] = h + 600;
                pauses[n++] = p0 - 300; /* inside the layer's header */
                pauses[n++] = p0 + 1;
                pauses[n++] = p0 + 100;
                pauses[n++] = p0 + 511;
                pauses[n++] = p0 + 4000;
                pauses[n++] = p1 + 1; /* between the two gzip magic bytes */
                pauses[n++] = p1 + 2;
                pauses[n++] = p1 + 600;
                pauses[n++] = p2 + 3;
                pauses[n++] = offset_of(&outer, &f[6].stored, f[6].stored.len) + 5;
                qsort(pauses, n, sizeof(pauses[0]), cmp_size);

                fresh_root(b, root_path, &root);
                assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
                fd_feed = (struct feeder){.fd = fds[1], .data = &outer, .pauses = pauses, .n = n};
                assert_int_equal(pthread_create(&th, NULL, feed_main, &fd_feed), 0);
                r = divert_fd(b, fds[0], root, &log, &err);
                close(fds[0]);
                pthread_join(th, NULL);
                if (r < 0)
                        fail_msg("layer_extract_divert: %s", err.msg);

                assert_int_equal(log.n, 4);
                assert_diverted(root, taken_find(&log, "plain.tar"), "plain.tar", &f[0]);
                assert_diverted(root, taken_find(&log, "layer.gz"), "layer.gz", &f[1]);
                assert_diverted(root, taken_find(&log, "layer.zst"), "layer.zst", &f[2]);
                assert_diverted(root, taken_find(&log, "tiny.gz"), "tiny.gz", &f[6]);
                assert_plain_entry(root, &ents[0]);
                assert_plain_entry(root, &ents[5]);
        }
        taken_clear(&log);
        assert_no_stages(b);
        buf_free(&outer);
        buf_free(&history);
}

/* Text that merely starts like a compressed stream ("BZh", 1f 8b) stays a file. */
static void test_divert_magic_lookalikes(void **state)
{
        struct box *b = *state;
        static const char note[] = "BZh is how this note starts\n";
        static const char gz_like[] = "\x1f\x8b not deflate at all";
        struct buf outer = {0}, n1 = {0}, n2 = {0};
        struct taken_log log = {0};
        char root_path[PATH_MAX], got[64];
        _cleanup_close_ int root = -1;
        struct err err = {0};
        ssize_t len;
        int fd;

        buf_add(&n1, note, sizeof(note) - 1);
        buf_add(&n2, gz_like, sizeof(gz_like) - 1);
        {
                const struct lent ents[] = {LBLOB("note.txt", &n1), LBLOB("gz.txt", &n2), LEND};
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, ents, &outer);
        }
        fresh_root(b, root_path, &root);
        assert_int_equal(divert_buf(b, &outer, root, &log, &err), 0);
        assert_int_equal(log.n, 0);
        fd = openat(root, "note.txt", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        len = read(fd, got, sizeof(got));
        close(fd);
        assert_int_equal(len, (ssize_t)sizeof(note) - 1);
        assert_memory_equal(got, note, sizeof(note) - 1);
        taken_clear(&log);
        buf_free(&outer);
        buf_free(&n1);
        buf_free(&n2);
}

/* The callback's error ends the extraction with that error, staged or not. */
static void test_divert_callback_error(void **state)
{
        struct box *b = *state;
        static const char garbage_gz[] = "\x1f\x8b\x08 garbage";
        const struct layer_fix *f = fixes();
        struct buf outer = {0}, garbage = {0};
        struct taken_log log = {0};

        buf_add(&garbage, garbage_gz, sizeof(garbage_gz) - 1);
        for (size_t fail_at = 1; fail_at <= 3; fail_at++) {
                const struct lent ents[] = {
                        LFILE("first", 10),        LBLOB("one.tar", &f[0].stored),
                        LBLOB("bad.gz", &garbage), LBLOB("two.tar.gz", &f[1].stored),
                        LFILE("after", 100),       LEND,
                };
                static const char *const names[] = {"one.tar", "bad.gz", "two.tar.gz"};
                char root_path[PATH_MAX], want[64];
                _cleanup_close_ int root = -1;
                struct err err = {0};

                fresh_root(b, root_path, &root);
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, ents, &outer);
                log.fail_at = fail_at;
                assert_int_equal(divert_buf(b, &outer, root, &log, &err), -ECANCELED);
                snprintf(want, sizeof(want), "refusing %s", names[fail_at - 1]);
                assert_non_null(strstr(err.msg, want));
                assert_int_equal(log.n, fail_at);
                assert_string_equal(log.v[fail_at - 1].path, names[fail_at - 1]);
                assert_plain_entry(root, &ents[0]);
                for (size_t i = fail_at; i < ARRAY_SIZE(names); i++)
                        assert_int_equal(faccessat(root, names[i], F_OK, AT_SYMLINK_NOFOLLOW), -1);
                assert_int_equal(faccessat(root, "after", F_OK, AT_SYMLINK_NOFOLLOW), -1);
                taken_clear(&log);
                assert_no_stages(b);
        }
        buf_free(&outer);
        buf_free(&garbage);
}

/* An archive cut off inside a layer: the layer is reported unstaged, the extraction fails,
 * and no stage is left behind. */
static void test_divert_truncated_outer(void **state)
{
        struct box *b = *state;
        const struct layer_fix *f = fixes();
        struct buf outer = {0};
        struct taken_log log = {0};

        for (size_t i = 0; i < 2; i++) {
                const struct lent ents[] = {
                        LBLOB("layer", &f[i].stored),
                        LFILE("after", 100),
                        LEND,
                };
                char root_path[PATH_MAX];
                _cleanup_close_ int root = -1;
                struct err err = {0};

                fresh_root(b, root_path, &root);
                tar_build(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, NULL, ents, &outer);
                outer.len = offset_of(&outer, &f[i].stored, 64) + f[i].stored.len / 2;
                assert_int_equal(divert_buf(b, &outer, root, &log, &err), -EINVAL);
                assert_true(strlen(err.msg) > 0);
                assert_int_equal(log.n, 1);
                assert_null(log.v[0].stage);
                assert_non_null(log.v[0].error);
                taken_clear(&log);
                assert_no_stages(b);
        }
        buf_free(&outer);
}

#define T(f) cmocka_unit_test_setup_teardown(f, box_setup, box_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_basic_tree),
                T(test_compressions),
                T(test_dotdot_refused),
                T(test_absolute_paths_stay_inside),
                T(test_symlink_parent_not_followed),
                T(test_symlink_replaced_not_followed),
                T(test_hardlink_stays_in_layer),
                T(test_whiteouts),
                T(test_invalid_whiteouts),
                T(test_opaque_xattr_from_tar_ignored),
                T(test_replacements),
                T(test_truncated),
                T(test_garbage_and_empty),
                T(test_stage_commit_remove),
                T(test_stage_keeps_tar_split),
                T(test_stage_compressed_replays_tar),
                T(test_stage_without_tar_split),
                T(test_divert_image_archive),
                T(test_divert_layer_offsets),
                T(test_divert_from_pipe),
                T(test_divert_magic_lookalikes),
                T(test_divert_callback_error),
                T(test_divert_truncated_outer),
        };

        /* A pipe's reader may stop early; its writer must see EPIPE, not die. */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, fixes_free);
}
