/* Container changes: diff classification, whiteouts and opaque dirs in layer tars, the merged
 * export tree, and what is left out (hawser's mount points, volume contents). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/commit.h"
#include "core/layer.h"

/* base/ holds upper/, l1/ (the top image layer), l2/ (the bottom one), out/ and the tars. */
struct box {
        char base[PATH_MAX / 4];
        char upper[PATH_MAX / 2], l1[PATH_MAX / 2], l2[PATH_MAX / 2], out[PATH_MAX / 2];
        char tar[PATH_MAX / 2];
        char *lowers[3];
};

static int box_setup(void **state)
{
        struct box *b = calloc(1, sizeof(*b));
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

        assert_non_null(b);
        snprintf(b->base, sizeof(b->base), "%s/core_commit.XXXXXX", tmp);
        assert_non_null(mkdtemp(b->base));
        snprintf(b->upper, sizeof(b->upper), "%s/upper", b->base);
        snprintf(b->l1, sizeof(b->l1), "%s/l1", b->base);
        snprintf(b->l2, sizeof(b->l2), "%s/l2", b->base);
        snprintf(b->out, sizeof(b->out), "%s/out", b->base);
        snprintf(b->tar, sizeof(b->tar), "%s/layer.tar", b->base);
        assert_int_equal(mkdir(b->upper, 0755), 0);
        assert_int_equal(mkdir(b->l1, 0755), 0);
        assert_int_equal(mkdir(b->l2, 0755), 0);
        assert_int_equal(mkdir(b->out, 0755), 0);
        b->lowers[0] = b->l1;
        b->lowers[1] = b->l2;
        *state = b;
        return 0;
}

static int box_teardown(void **state)
{
        struct box *b = *state;
        struct err err = {0};

        fs_rm_rf(b->base, &err);
        free(b);
        return 0;
}

static char *at(const char *root, const char *rel)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
        return p;
}

static void mkd(const char *root, const char *rel)
{
        _cleanup_free_ char *p = at(root, rel);

        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(chmod(p, 0755), 0);
}

static void mkf(const char *root, const char *rel, const char *data)
{
        _cleanup_free_ char *p = at(root, rel);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(fs_write_all(fd, data, strlen(data)), 0);
        assert_int_equal(fchmod(fd, 0644), 0);
}

/* An overlay whiteout; false when this kernel does not let us make one. */
static bool mkwh(const char *root, const char *rel)
{
        _cleanup_free_ char *p = at(root, rel);

        return mknod(p, S_IFCHR, makedev(0, 0)) == 0;
}

static bool mkopq(const char *root, const char *rel)
{
        _cleanup_free_ char *p = at(root, rel);

        return setxattr(p, "trusted.overlay.opaque", "y", 1, 0) == 0;
}

/* The image: l2 has etc/{passwd,group}, bin/{sh,vi}, home/app/.profile, usr/x; l1 deletes
 * usr/x and adds opt/keep. */
static void make_image(struct box *b)
{
        mkd(b->l2, "etc");
        mkf(b->l2, "etc/passwd", "root:x:0:0\n");
        mkf(b->l2, "etc/group", "root:x:0:\n");
        mkd(b->l2, "bin");
        mkf(b->l2, "bin/sh", "sh");
        mkf(b->l2, "bin/vi", "vi");
        mkd(b->l2, "home");
        mkd(b->l2, "home/app");
        mkf(b->l2, "home/app/.profile", "");
        mkd(b->l2, "usr");
        mkf(b->l2, "usr/x", "x");
        mkd(b->l1, "usr");
        if (!mkwh(b->l1, "usr/x"))
                skip();
        mkd(b->l1, "opt");
        mkf(b->l1, "opt/keep", "keep");
}

/* What a container did: changed /etc/passwd, removed /bin/vi, replaced /home by a new
 * directory with one file, added /new/file and /usr/x again; hawser made /etc/hosts and
 * /proc as mount points. */
static void make_upper(struct box *b)
{
        mkd(b->upper, "etc");
        mkf(b->upper, "etc/passwd", "root:x:0:0\nchanged\n");
        mkf(b->upper, "etc/hosts", "");
        mkd(b->upper, "bin");
        assert_true(mkwh(b->upper, "bin/vi"));
        mkd(b->upper, "home");
        if (!mkopq(b->upper, "home"))
                skip();
        mkf(b->upper, "home/only", "only");
        mkd(b->upper, "new");
        mkf(b->upper, "new/file", "new");
        mkd(b->upper, "usr");
        mkf(b->upper, "usr/x", "again");
        mkd(b->upper, "proc");
}

static char *changes_text(struct box *b, const struct commit_filter *f)
{
        struct commit_change *v = NULL;
        struct err err = {0};
        char *buf = NULL;
        size_t n = 0, len = 0;
        FILE *out = open_memstream(&buf, &len);

        assert_non_null(out);
        assert_int_equal(commit_changes(b->upper, b->lowers, f, &v, &n, &err), 0);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%c %s\n", v[i].kind, v[i].path);
        commit_changes_free(v, n);
        fclose(out);
        return buf;
}

/* One line per entry: type, path, permission bits, size, link target, and "+x" when the
 * entry carries xattrs. */
static char *tar_text(const char *path, const char *want_data_of, char **ret_data)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);

        assert_non_null(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
                char t = hl ? 'h' : "?pc?d?b?f?l?s"[(archive_entry_filetype(e) >> 12) & 0xf];

                fprintf(out, "%c %s %04o %lld%s%s%s\n", t, archive_entry_pathname(e),
                        archive_entry_perm(e), (long long)archive_entry_size(e),
                        hl || sl ? " -> " : "",
                        hl   ? hl
                        : sl ? sl
                             : "",
                        archive_entry_xattr_count(e) ? " +x" : "");
                if (want_data_of && !strcmp(archive_entry_pathname(e), want_data_of)) {
                        *ret_data = calloc(1, (size_t)archive_entry_size(e) + 1);
                        assert_non_null(*ret_data);
                        archive_read_data(a, *ret_data, (size_t)archive_entry_size(e));
                }
        }
        archive_read_free(a);
        fclose(out);
        return buf;
}

static size_t write_layer(struct box *b, const struct commit_filter *f)
{
        _cleanup_close_ int fd = open(b->tar, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        struct err err = {0};
        size_t n = 99;

        assert_true(fd >= 0);
        assert_int_equal(commit_write_layer(b->upper, b->lowers, f, fd, &n, NULL, &err), 0);
        return n;
}

static void test_changes(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_free_ char *text = NULL;

        make_image(b);
        make_upper(b);
        text = changes_text(b, &f);
        /* /usr/x is an addition: the top image layer had deleted it. /proc was only a mount
         * point, /etc/hosts too. */
        assert_string_equal(text, "C /bin\n"
                                  "D /bin/vi\n"
                                  "C /etc\n"
                                  "C /etc/passwd\n"
                                  "C /home\n"
                                  "D /home/app\n"
                                  "A /home/only\n"
                                  "A /new\n"
                                  "A /new/file\n"
                                  "C /usr\n"
                                  "A /usr/x\n");
}

static void test_changes_unfiltered(void **state)
{
        struct box *b = *state;
        _cleanup_free_ char *text = NULL;

        make_image(b);
        make_upper(b);
        text = changes_text(b, NULL);
        assert_non_null(strstr(text, "C /etc\nA /etc/hosts\nC /etc/passwd\n"));
        assert_non_null(strstr(text, "A /proc\n"));
}

static void test_layer_tar(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_free_ char *text = NULL, *data = NULL;

        make_image(b);
        make_upper(b);
        assert_int_equal(write_layer(b, &f), 11);
        /* Whiteouts become .wh. files and the opaque dir a marker; overlay's xattr is not
         * carried (no "+x"). */
        text = tar_text(b->tar, "usr/x", &data);
        assert_string_equal(text, "d bin/ 0755 0\n"
                                  "f bin/.wh.vi 0600 0\n"
                                  "d etc/ 0755 0\n"
                                  "f etc/passwd 0644 19\n"
                                  "d home/ 0755 0\n"
                                  "f home/.wh..wh..opq 0755 0\n"
                                  "f home/only 0644 4\n"
                                  "d new/ 0755 0\n"
                                  "f new/file 0644 3\n"
                                  "d usr/ 0755 0\n"
                                  "f usr/x 0644 5\n");
        assert_string_equal(data, "again");
}

/* The tar goes back through layer extraction: whiteouts and opaque dirs come back as
 * overlay makes them. */
static void test_layer_round_trip(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_close_ int in = -1, dfd = -1;
        struct layer_stats st;
        struct err err = {0};
        struct stat s;
        char v[4];

        make_image(b);
        make_upper(b);
        write_layer(b, &f);
        in = open(b->tar, O_RDONLY | O_CLOEXEC);
        dfd = open(b->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(in >= 0 && dfd >= 0);
        assert_int_equal(layer_extract(in, dfd, &st, &err), 0);
        assert_int_equal(fstatat(dfd, "bin/vi", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(s.st_mode) && s.st_rdev == makedev(0, 0));
        assert_int_equal(lgetxattr(b->out, "trusted.overlay.opaque", v, sizeof(v)), -1);
        {
                _cleanup_free_ char *home = at(b->out, "home");
                assert_int_equal(lgetxattr(home, "trusted.overlay.opaque", v, sizeof(v)), 1);
                assert_int_equal(v[0], 'y');
        }
        assert_int_equal(fstatat(dfd, "home/.wh..wh..opq", &s, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(dfd, "etc/hosts", &s, AT_SYMLINK_NOFOLLOW), -1);
}

/* A container that only ran: the upper dir holds /etc copied up for the mount points. */
static void test_runtime_only_is_empty(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_free_ char *text = NULL;

        make_image(b);
        mkd(b->upper, "etc");
        mkf(b->upper, "etc/hosts", "");
        mkf(b->upper, "etc/hostname", "");
        mkf(b->upper, "etc/resolv.conf", "");
        mkd(b->upper, "dev");
        text = changes_text(b, &f);
        assert_string_equal(text, "");
        assert_int_equal(write_layer(b, &f), 0);
}

/* A non-empty /etc/hosts is the container's own file, not a mount point. */
static void test_runtime_file_with_content_kept(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_free_ char *text = NULL;

        make_image(b);
        mkd(b->upper, "etc");
        mkf(b->upper, "etc/hosts", "127.0.0.1 x\n");
        text = changes_text(b, &f);
        assert_string_equal(text, "C /etc\nA /etc/hosts\n");
}

static void test_mount_contents_left_out(void **state)
{
        struct box *b = *state;
        char *mounts[] = {"/data/", "/v/w", NULL};
        struct commit_filter f = {.mounts = mounts, .runtime = true};
        _cleanup_free_ char *text = NULL;

        mkd(b->upper, "data");
        mkf(b->upper, "data/f", "volume data");
        mkd(b->upper, "data/sub");
        mkf(b->upper, "data/sub/g", "g");
        mkd(b->upper, "data2");
        mkf(b->upper, "data2/h", "h");
        mkd(b->upper, "v");
        mkd(b->upper, "v/w");
        mkf(b->upper, "v/w/x", "x");
        text = changes_text(b, &f);
        assert_string_equal(text, "A /data\nA /data2\nA /data2/h\nA /v\nA /v/w\n");
        assert_int_equal(write_layer(b, &f), 5);
}

static void test_flat(void **state)
{
        struct box *b = *state;
        struct commit_filter f = {.runtime = true};
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL, *data = NULL;
        struct err err = {0};

        make_image(b);
        make_upper(b);
        fd = open(b->tar, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(commit_write_flat(b->upper, b->lowers, &f, fd, &err), 0);
        text = tar_text(b->tar, "etc/passwd", &data);
        assert_string_equal(text, "d bin/ 0755 0\n"
                                  "f bin/sh 0644 2\n"
                                  "d etc/ 0755 0\n"
                                  "f etc/group 0644 10\n"
                                  "f etc/passwd 0644 19\n"
                                  "d home/ 0755 0\n"
                                  "f home/only 0644 4\n"
                                  "d new/ 0755 0\n"
                                  "f new/file 0644 3\n"
                                  "d opt/ 0755 0\n"
                                  "f opt/keep 0644 4\n"
                                  "d usr/ 0755 0\n"
                                  "f usr/x 0644 5\n");
        assert_string_equal(data, "root:x:0:0\nchanged\n");
}

static void test_hardlinks(void **state)
{
        struct box *b = *state;
        _cleanup_free_ char *a = at(b->upper, "a"), *c = at(b->upper, "c");
        _cleanup_free_ char *text = NULL;

        mkf(b->upper, "a", "same");
        assert_int_equal(link(a, c), 0);
        assert_int_equal(write_layer(b, NULL), 2);
        text = tar_text(b->tar, NULL, NULL);
        assert_string_equal(text, "f a 0644 4\nh c 0644 0 -> a\n");
}

/* A symlink in the upper dir where the image has a directory is an entry of its own; the
 * walk never goes through it (here it points at the host's /etc). */
static void test_symlinks_not_followed(void **state)
{
        struct box *b = *state;
        _cleanup_free_ char *x = at(b->upper, "x"), *text = NULL, *flat = NULL;
        struct err err = {0};
        _cleanup_close_ int fd = -1;

        mkd(b->l2, "x");
        mkf(b->l2, "x/secret", "s");
        assert_int_equal(symlink("/etc", x), 0);
        assert_int_equal(write_layer(b, NULL), 1);
        text = tar_text(b->tar, NULL, NULL);
        assert_string_equal(text, "l x 0777 0 -> /etc\n");
        fd = open(b->tar, O_RDWR | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(commit_write_flat(b->upper, b->lowers, NULL, fd, &err), 0);
        flat = tar_text(b->tar, NULL, NULL);
        assert_string_equal(flat, "l x 0777 0 -> /etc\n");
}

static void test_missing_upper(void **state)
{
        struct box *b = *state;
        struct commit_change *v = NULL;
        struct err err = {0};
        size_t n = 0;

        assert_int_equal(rmdir(b->upper), 0);
        assert_int_equal(commit_changes(b->upper, b->lowers, NULL, &v, &n, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "upper"));
}

static void test_ellipsis(void **state)
{
        _cleanup_free_ char *a = commit_ellipsis("short", 45);
        _cleanup_free_ char *c = commit_ellipsis("abcdef", 4);
        _cleanup_free_ char *d = commit_ellipsis("äöüßx", 4);
        _cleanup_free_ char *e = commit_ellipsis("abcd", 4);

        (void)state;
        assert_string_equal(a, "short");
        assert_string_equal(c, "abc…");
        assert_string_equal(d, "äöü…");
        assert_string_equal(e, "abcd");
}

#define T(f) cmocka_unit_test_setup_teardown(f, box_setup, box_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_changes),
                T(test_changes_unfiltered),
                T(test_layer_tar),
                T(test_layer_round_trip),
                T(test_runtime_only_is_empty),
                T(test_runtime_file_with_content_kept),
                T(test_mount_contents_left_out),
                T(test_flat),
                T(test_hardlinks),
                T(test_symlinks_not_followed),
                T(test_missing_upper),
                cmocka_unit_test(test_ellipsis),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
