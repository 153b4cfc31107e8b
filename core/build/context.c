/* The build context: a directory used in place, or a tar (a file, or "-" on stdin)
 * extracted into a temporary directory; "-" that is not a tar is the Dockerfile itself
 * with an empty context (Docker's rule). The Dockerfile (CONTEXT/Dockerfile, -f PATH or
 * -f -) and the context's .dockerignore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../layer.h"
#include "engine.h"

/* All of fd into a malloc'd, NUL-terminated buffer. */
static int slurp(int fd, char **ret, size_t *ret_len, struct err *err)
{
        char *buf = NULL;
        size_t len = 0, cap = 0;
        ssize_t k;

        for (;;) {
                if (cap - len < 65536) {
                        char *nb = realloc(buf, cap = cap ? 2 * cap : 65536 * 2);
                        if (!nb) {
                                free(buf);
                                return err_set(err, -ENOMEM, "reading the build context");
                        }
                        buf = nb;
                }
                k = read(fd, buf + len, cap - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        free(buf);
                        return err_errno(err, "reading the build context");
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

static bool looks_like_archive(const unsigned char *h, size_t n)
{
        return (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) || (n >= 3 && !memcmp(h, "BZh", 3)) ||
               (n >= 5 && !memcmp(h,
                                  "\xfd"
                                  "7zXZ",
                                  5)) ||
               (n >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4)) ||
               (n >= 262 && !memcmp(h + 257, "ustar", 5));
}

/* A temporary context directory under --root/tmp. */
static int temp_context(struct build *b, struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp");
        char *dir;

        if (!tmp || fs_mkdir_p(tmp, 0700, err) < 0)
                return tmp ? -err->code : err_set(err, -ENOMEM, "preparing the context");
        dir = util_printf("%s/build-ctx-XXXXXX", tmp);
        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return err_errno(err, "preparing the context");
        }
        b->tmp_ctx = dir;
        b->context = strdup(dir);
        return b->context ? 0 : err_set(err, -ENOMEM, "preparing the context");
}

/* Extracts the tar read from fd into a temporary context. */
static int extract_context(struct build *b, int fd, struct err *err)
{
        _cleanup_close_ int dfd = -1;
        struct layer_stats st;
        int r = temp_context(b, err);

        if (r < 0)
                return r;
        dfd = open(b->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_errno(err, "preparing the context");
        r = layer_extract(fd, dfd, &st, err);
        return r < 0 ? err_wrap(err, "unpacking the build context") : 0;
}

int context_open(struct build *b, const char *context, char **ret_dockerfile, struct err *err)
{
        const char *file = b->o->file;
        _cleanup_free_ char *stdin_text = NULL, *path = NULL, *ignore = NULL;
        struct stat st;
        int r;

        if (!strcmp(context, "-")) {
                size_t len = 0;
                r = slurp(STDIN_FILENO, &stdin_text, &len, err);
                if (r < 0)
                        return r;
                if (looks_like_archive((const unsigned char *)stdin_text, len)) {
                        /* A tar on stdin: write it aside, extract it. */
                        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp");
                        _cleanup_close_ int fd = -1;
                        if (!tmp || fs_mkdir_p(tmp, 0700, err) < 0)
                                return tmp ? -err->code : err_set(err, -ENOMEM, "building");
                        fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                        if (fd < 0 || fs_write_all(fd, stdin_text, len) < 0 ||
                            lseek(fd, 0, SEEK_SET) < 0)
                                return err_errno(err, "reading the build context");
                        r = extract_context(b, fd, err);
                        if (r < 0)
                                return r;
                } else {
                        /* A Dockerfile on stdin, no context. */
                        r = temp_context(b, err);
                        if (r < 0)
                                return r;
                        *ret_dockerfile = TAKE_PTR(stdin_text);
                        return 0;
                }
        } else if (stat(context, &st) < 0) {
                return err_set(err, -ENOENT, "unable to prepare context: path \"%s\" not found",
                               context);
        } else if (S_ISDIR(st.st_mode)) {
                b->context = realpath(context, NULL);
                if (!b->context)
                        return err_errno(err, "unable to prepare context: %s", context);
        } else {
                _cleanup_close_ int fd = open(context, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return err_errno(err, "unable to prepare context: %s", context);
                r = extract_context(b, fd, err);
                if (r < 0)
                        return r;
        }
        /* .dockerignore at the root of the context. */
        path = util_printf("%s/.dockerignore", b->context);
        if (path && fs_read_file(path, &ignore, NULL, err) >= 0) {
                r = df_ignore_parse(ignore, &b->ignore, err);
                if (r < 0)
                        return err_wrap(err, "reading .dockerignore");
        }
        err_clear(err);
        free(path);
        path = NULL;
        if (file && !strcmp(file, "-")) {
                size_t len;
                if (stdin_text)
                        return err_set(err, -EINVAL,
                                       "invalid argument: can't use stdin for both "
                                       "build context and dockerfile");
                return slurp(STDIN_FILENO, ret_dockerfile, &len, err);
        }
        path = !file ? util_printf("%s/Dockerfile", b->context)
               : file[0] == '/' || b->tmp_ctx
                       ? (b->tmp_ctx && file[0] != '/' ? util_printf("%s/%s", b->context, file)
                                                       : strdup(file))
                       : strdup(file);
        if (!path)
                return err_set(err, -ENOMEM, "building");
        r = fs_read_file(path, ret_dockerfile, NULL, err);
        if (r == -ENOENT)
                return err_set(err, -ENOENT,
                               "unable to prepare context: unable to evaluate symlinks in "
                               "Dockerfile path: lstat %s: no such file or directory",
                               path);
        return r;
}

void context_close(struct build *b)
{
        struct err ignored = {0};

        if (b->tmp_ctx)
                (void)fs_rm_rf(b->tmp_ctx, &ignored);
        free(b->tmp_ctx);
        free(b->context);
        b->tmp_ctx = b->context = NULL;
}
