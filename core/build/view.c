/* An image's filesystem as overlayfs would show it, read straight from its layer directories
 * (no mount): lookups resolve each path component top layer first, honour whiteouts (0/0
 * character devices) and opaque directories (trusted.overlay.opaque=y), and follow symlinks
 * inside the image root, as a path resolved in a container would be. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../image.h"
#include "internal.h"

#define MAX_LINKS 40

int view_open(const struct cli *cli, const char *image_id, struct view *ret, struct err *err)
{
        _cleanup_free_ char *lower = NULL;
        char *save = NULL;
        int r;

        *ret = (struct view){0};
        ret->layers = calloc(1, sizeof(char *));
        if (!ret->layers)
                return err_set(err, -ENOMEM, "reading an image");
        if (!image_id || !*image_id)
                return 0; /* scratch */
        r = image_lowerdir(cli, image_id, &lower, err);
        if (r < 0)
                return r;
        for (char *d = strtok_r(lower, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (util_strv_push(&ret->layers, d) < 0)
                        return err_set(err, -ENOMEM, "reading an image");
        return 0;
}

void view_close(struct view *v)
{
        util_strv_free(v->layers);
        v->layers = NULL;
}

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool is_opaque(const char *dir)
{
        char v[2];

        return getxattr(dir, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* The entry at the exact (symlink-free) path rel in the merged view: the host path of the
 * layer copy that wins in *ret (malloc'd) and its lstat. -ENOENT when absent. */
static int find(const struct view *v, const char *rel, char **ret, struct stat *st)
{
        size_t n = util_strv_len(v->layers);

        if (!*rel) {
                /* The root: the top layer's (every layer has one). */
                if (!n)
                        return -ENOENT;
                *ret = strdup(v->layers[0]);
                return *ret && lstat(*ret, st) == 0 ? 0 : -ENOENT;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = util_printf("%s/%s", v->layers[i], rel);
                _cleanup_free_ char *parent = NULL;
                char *slash;
                if (!p)
                        return -ENOMEM;
                if (lstat(p, st) == 0) {
                        if (is_whiteout(st))
                                return -ENOENT;
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                /* An opaque parent in this layer hides the layers below. */
                parent = strdup(p);
                if (!parent)
                        return -ENOMEM;
                slash = strrchr(parent, '/');
                *slash = '\0';
                if (access(parent, F_OK) == 0 && is_opaque(parent))
                        return -ENOENT;
        }
        return -ENOENT;
}

int view_resolve(const struct view *v, const char *path, bool follow_last, char **ret_rel,
                 char **ret_host, struct stat *ret_st, struct err *err)
{
        _cleanup_free_ char *todo = strdup(path), *done = strdup("");
        int links = 0;

        if (!todo || !done)
                return err_set(err, -ENOMEM, "resolving %s", path);
        for (;;) {
                _cleanup_free_ char *host = NULL, *next = NULL;
                char *p = todo, *comp, *rest;
                struct stat st;
                int r;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                comp = p;
                rest = strchr(p, '/');
                if (rest)
                        *rest++ = '\0';
                if (!strcmp(comp, ".")) {
                        next = strdup(rest ? rest : "");
                } else if (!strcmp(comp, "..")) {
                        char *s = strrchr(done, '/');
                        if (s)
                                *s = '\0';
                        else
                                done[0] = '\0';
                        next = strdup(rest ? rest : "");
                } else {
                        _cleanup_free_ char *cand =
                                *done ? util_printf("%s/%s", done, comp) : strdup(comp);
                        if (!cand)
                                return err_set(err, -ENOMEM, "resolving %s", path);
                        r = find(v, cand, &host, &st);
                        if (r == 0 && S_ISLNK(st.st_mode) && (rest || follow_last)) {
                                char target[PATH_MAX];
                                ssize_t k = readlink(host, target, sizeof(target) - 1);
                                if (k < 0 || ++links > MAX_LINKS)
                                        return err_set(err, -ELOOP,
                                                       "resolving %s: too many "
                                                       "levels of symbolic links",
                                                       path);
                                target[k] = '\0';
                                if (target[0] == '/')
                                        done[0] = '\0';
                                next = util_printf("%s/%s", target, rest ? rest : "");
                        } else {
                                free(done);
                                done = TAKE_PTR(cand);
                                next = strdup(rest ? rest : "");
                        }
                }
                if (!next)
                        return err_set(err, -ENOMEM, "resolving %s", path);
                free(todo);
                todo = TAKE_PTR(next);
        }
        if (ret_host || ret_st) {
                _cleanup_free_ char *host = NULL;
                struct stat st;
                int r = find(v, done, &host, &st);
                if (r < 0 && ret_st)
                        ret_st->st_mode = 0;
                if (r == 0 && ret_st)
                        *ret_st = st;
                if (ret_host)
                        *ret_host = r == 0 ? TAKE_PTR(host) : NULL;
        }
        if (ret_rel)
                *ret_rel = TAKE_PTR(done);
        return 0;
}

int view_read_file(const struct view *v, const char *path, char **ret, struct err *err)
{
        _cleanup_free_ char *host = NULL;
        struct stat st;
        int r = view_resolve(v, path, true, NULL, &host, &st, err);

        *ret = NULL;
        if (r < 0 || !host || !S_ISREG(st.st_mode))
                return r < 0 ? r : 0;
        return fs_read_file(host, ret, NULL, err) < 0 ? 0 : 0;
}

/* Adds the names of layer directory dir (one layer's copy of a directory) to *names,
 * unless already there or hidden (*hidden: whiteouts seen in upper layers). */
static int list_layer_dir(const char *dir, char ***names, char ***hidden)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;

        while (d && (e = readdir(d))) {
                struct stat st;
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                if (util_strv_contains(*names, e->d_name) || util_strv_contains(*hidden, e->d_name))
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    is_whiteout(&st)) {
                        if (util_strv_push(hidden, e->d_name) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (util_strv_push(names, e->d_name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int view_list(const struct view *v, const char *rel, char ***ret, struct err *err)
{
        _cleanup_strv_ char **names = calloc(1, sizeof(char *)),
                            **hidden = calloc(1, sizeof(char *));

        if (!names || !hidden)
                return err_set(err, -ENOMEM, "listing %s", rel);
        for (char **l = v->layers; l && *l; l++) {
                _cleanup_free_ char *dir = *rel ? util_printf("%s/%s", *l, rel) : strdup(*l);
                struct stat st;
                if (!dir)
                        return err_set(err, -ENOMEM, "listing %s", rel);
                if (lstat(dir, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return err_errno(err, "listing %s", rel);
                }
                /* A non-directory (or whiteout) here hides the layers below. */
                if (!S_ISDIR(st.st_mode))
                        break;
                if (list_layer_dir(dir, &names, &hidden) < 0)
                        return err_set(err, -ENOMEM, "listing %s", rel);
                if (is_opaque(dir))
                        break;
        }
        *ret = TAKE_PTR(names);
        return 0;
}
