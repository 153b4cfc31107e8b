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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/sha256.h"
#include "core/layer.h"

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
        assert_int_equal(getxattr(d, "user.note", val, sizeof(val)), 2);
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
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
