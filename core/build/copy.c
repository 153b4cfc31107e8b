/* COPY and ADD: the sources they select (from the context, minus .dockerignore, or from
 * another stage or image with --from), Docker's destination rules, a cache key over exactly
 * those files' content and metadata (not mtime), and on a miss one layer tar written from
 * them, with the destination resolved inside the parent image (its symlinks followed) and
 * existing parent directories kept as they are. ADD also extracts local archives and
 * downloads URLs. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/sha256.h"
#include "../base/util.h"
#include "../image.h"
#include "../layer.h"
#include "../registry.h"
#include "../tarwrite.h"
#include "../user.h"
#include "engine.h"

/* One thing to write into the layer. */
struct item {
        char *dest;     /* path in the image, no leading '/' (before resolving symlinks) */
        char *src;      /* host path to read (regular files, symlinks) */
        struct stat st; /* type, mode, size, mtime; uid/gid as they will be written */
        char *link;     /* symlink target */
        char sum[65];   /* content sha256 (regular files) */
};

struct plan {
        struct item *v;
        size_t n, cap;
        char **cleanup; /* temporary directories and files to remove */
};

static void plan_free(struct plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].dest);
                free(p->v[i].src);
                free(p->v[i].link);
        }
        free(p->v);
        for (char **c = p->cleanup; c && *c; c++) {
                struct err ignored = {0};
                (void)fs_rm_rf(*c, &ignored);
        }
        util_strv_free(p->cleanup);
}

static int plan_add(struct plan *p, const char *dest, const char *src, const struct stat *st,
                    struct err *err)
{
        struct item *it;

        if (p->n == p->cap) {
                size_t cap = p->cap ? 2 * p->cap : 32;
                struct item *v = realloc(p->v, cap * sizeof(*v));
                if (!v)
                        return err_set(err, -ENOMEM, "copying");
                p->v = v;
                p->cap = cap;
        }
        it = &p->v[p->n];
        *it = (struct item){.st = *st};
        it->dest = path_clean(dest);
        it->src = src ? strdup(src) : NULL;
        if (!it->dest || (src && !it->src))
                return err_set(err, -ENOMEM, "copying");
        /* path_clean keeps a leading '/': the layer's paths have none. */
        if (it->dest[0] == '/')
                memmove(it->dest, it->dest + 1, strlen(it->dest));
        if (S_ISLNK(st->st_mode)) {
                char t[PATH_MAX];
                ssize_t k = readlink(src, t, sizeof(t) - 1);
                if (k < 0)
                        return err_errno(err, "reading link %s", dest);
                t[k] = '\0';
                it->link = strdup(t);
                if (!it->link)
                        return err_set(err, -ENOMEM, "copying");
        }
        p->n++;
        return 0;
}

/* What a source tree looks like to the walker: the context (with .dockerignore) or another
 * image's merged view. */
struct source {
        struct build *b;
        const char *root; /* the context directory, or NULL for a view */
        struct view *view;
};

/* The host path and lstat of source path rel (no leading '/'); -ENOENT when it is not
 * there or the .dockerignore excludes it. */
static int src_stat(const struct source *s, const char *rel, char **ret_host, struct stat *st,
                    struct err *err)
{
        if (s->root) {
                /* The host path comes first: a walker may descend into an excluded
                 * directory for what a '!' pattern brings back. */
                *ret_host = *rel ? util_printf("%s/%s", s->root, rel) : strdup(s->root);
                if (!*ret_host)
                        return err_set(err, -ENOMEM, "copying");
                if (*rel && s->b->ignore && df_ignore_match(s->b->ignore, rel))
                        return -ENOENT;
                return lstat(*ret_host, st) == 0 ? 0 : -ENOENT;
        }
        {
                _cleanup_free_ char *abs = util_printf("/%s", rel), *real = NULL;
                int r = abs ? view_resolve(s->view, abs, false, &real, ret_host, st, err)
                            : err_set(err, -ENOMEM, "copying");
                if (r < 0)
                        return r;
                return *ret_host ? 0 : -ENOENT;
        }
}

static int src_list(const struct source *s, const char *rel, char ***ret, struct err *err)
{
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        struct dirent *e;

        if (!s->root)
                return view_list(s->view, rel, ret, err);
        dir = *rel ? util_printf("%s/%s", s->root, rel) : strdup(s->root);
        if (!out || !dir)
                return err_set(err, -ENOMEM, "copying");
        d = opendir(dir);
        if (!d)
                return err_errno(err, "reading %s", *rel ? rel : ".");
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                    util_strv_push(&out, e->d_name) < 0) {
                        closedir(d);
                        return err_set(err, -ENOMEM, "copying");
                }
        closedir(d);
        *ret = TAKE_PTR(out);
        return 0;
}

/* Adds the tree at rel to the plan under dest (the directory's contents, not itself). */
static int add_tree(const struct source *s, struct plan *p, const char *rel, const char *dest,
                    struct err *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = src_list(s, rel, &names, err);

        for (char **n = names; r >= 0 && n && *n; n++) {
                _cleanup_free_ char *child = *rel ? util_printf("%s/%s", rel, *n) : strdup(*n);
                _cleanup_free_ char *to = util_printf("%s/%s", dest, *n), *host = NULL;
                struct stat st;
                if (!child || !to)
                        return err_set(err, -ENOMEM, "copying");
                r = src_stat(s, child, &host, &st, err);
                if (r == -ENOENT) {
                        /* Excluded: a later '!' pattern may still want something below; the
                         * directory comes along when something does. */
                        size_t before = p->n;
                        r = 0;
                        if (s->root && s->b->ignore && host && !lstat(host, &st) &&
                            S_ISDIR(st.st_mode) && df_ignore_may_include_below(s->b->ignore, child))
                                r = add_tree(s, p, child, to, err);
                        if (r >= 0 && p->n > before)
                                r = plan_add(p, to, host, &st, err);
                        continue;
                }
                if (r < 0)
                        return r;
                if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
                        continue;
                r = plan_add(p, to, host, &st, err);
                if (r >= 0 && S_ISDIR(st.st_mode))
                        r = add_tree(s, p, child, to, err);
        }
        return r;
}

/* Every path of the source tree (for wildcards), "a", "a/b", ... */
static int all_paths(const struct source *s, const char *rel, char ***out, struct err *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = src_list(s, rel, &names, err);

        for (char **n = names; r >= 0 && n && *n; n++) {
                _cleanup_free_ char *child = *rel ? util_printf("%s/%s", rel, *n) : strdup(*n);
                _cleanup_free_ char *host = NULL;
                struct stat st;
                if (!child)
                        return err_set(err, -ENOMEM, "copying");
                if (src_stat(s, child, &host, &st, err) < 0)
                        continue;
                r = util_strv_push(out, child) < 0 ? err_set(err, -ENOMEM, "copying") : 0;
                if (r >= 0 && S_ISDIR(st.st_mode))
                        r = all_paths(s, child, out, err);
        }
        return r;
}

static bool is_url(const char *s)
{
        return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* Whether the file at path is an archive ADD extracts (tar, plain or compressed). */
static bool is_archive(const char *path)
{
        unsigned char h[512];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, h, sizeof(h)) : -1;

        if (n >= 3 && h[0] == 0x1f && h[1] == 0x8b)
                return true; /* gzip */
        if (n >= 3 && !memcmp(h, "BZh", 3))
                return true;
        if (n >= 6 && !memcmp(h,
                              "\xfd"
                              "7zXZ",
                              5))
                return true;
        if (n >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4))
                return true; /* zstd */
        return n >= 262 && !memcmp(h + 257, "ustar", 5);
}

/* ADD of an archive: extracted into a temporary directory, added from there. */
static int add_archive(struct build *b, struct plan *p, const char *host, const char *dest,
                       struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp"), *dir = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        struct layer_stats stats;
        struct source s = {.b = b};
        int r;

        dir = tmp ? util_printf("%s/build-add-XXXXXX", tmp) : NULL;
        if (!dir || fs_mkdir_p(tmp, 0700, err) < 0)
                return dir ? -err->code : err_set(err, -ENOMEM, "adding");
        if (!mkdtemp(dir))
                return err_errno(err, "adding %s", host);
        if (util_strv_push(&p->cleanup, dir) < 0)
                return err_set(err, -ENOMEM, "adding");
        fd = open(host, O_RDONLY | O_CLOEXEC);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || dfd < 0)
                return err_errno(err, "adding %s", host);
        r = layer_extract(fd, dfd, &stats, err);
        if (r < 0)
                return r;
        s.root = dir;
        return add_tree(&s, p, "", dest, err);
}

/* ADD of a URL: downloaded into a temporary file (mode 0600, as Docker). */
static int add_url(struct build *b, struct plan *p, const char *url, const char *dest,
                   bool dest_dir, struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp"), *file = NULL, *base = NULL;
        _cleanup_close_ int fd = -1;
        const char *path = strstr(url, "://") + 3, *slash;
        struct stat st;
        int r;

        path = strchr(path, '/') ? strchr(path, '/') : "";
        base = strndup(path, strcspn(path, "?#"));
        slash = base ? strrchr(base, '/') : NULL;
        if (!tmp || !base)
                return err_set(err, -ENOMEM, "adding %s", url);
        if (dest_dir && (!slash || !slash[1]))
                return err_set(err, -EINVAL, "cannot determine filename from url: %s", url);
        file = util_printf("%s/build-url-XXXXXX", tmp);
        if (!file || fs_mkdir_p(tmp, 0700, err) < 0)
                return file ? -err->code : err_set(err, -ENOMEM, "adding");
        fd = mkostemp(file, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "adding %s", url);
        if (util_strv_push(&p->cleanup, file) < 0)
                return err_set(err, -ENOMEM, "adding");
        r = registry_fetch_url(url, fd, err);
        if (r < 0 || fstat(fd, &st) < 0)
                return r < 0 ? r : err_errno(err, "adding %s", url);
        st.st_mode = S_IFREG | 0600;
        {
                _cleanup_free_ char *to =
                        dest_dir ? util_printf("%s/%s", dest, slash + 1) : strdup(dest);
                return to ? plan_add(p, to, file, &st, err) : err_set(err, -ENOMEM, "adding");
        }
}

/* The selected sources of one COPY/ADD argument. */
static int add_source(const struct source *s, struct plan *p, const char *arg, const char *dest,
                      bool dest_dir, bool add, const char *cmd, struct err *err)
{
        _cleanup_free_ char *clean = NULL, *host = NULL;
        _cleanup_strv_ char **matches = calloc(1, sizeof(char *));
        const char *rel;
        int r = 0;

        if (add && is_url(arg))
                return add_url(s->b, p, arg, dest, dest_dir, err);
        clean = path_clean(arg[0] == '/' ? arg + 1 : arg);
        if (!clean || !matches)
                return err_set(err, -ENOMEM, "copying");
        rel = strcmp(clean, ".") ? clean : "";
        if (s->root && (!strcmp(rel, "..") || !strncmp(rel, "../", 3)))
                return err_set(err, -EINVAL,
                               "%s failed: forbidden path outside the build "
                               "context: %s ()",
                               cmd, arg);
        if (strpbrk(rel, "*?[")) {
                _cleanup_strv_ char **all = calloc(1, sizeof(char *));
                r = all ? all_paths(s, "", &all, err) : err_set(err, -ENOMEM, "copying");
                for (char **a = all; r >= 0 && a && *a; a++)
                        if (!fnmatch(rel, *a, FNM_PATHNAME) && util_strv_push(&matches, *a) < 0)
                                r = err_set(err, -ENOMEM, "copying");
                if (r >= 0 && !matches[0])
                        return err_set(err, -ENOENT,
                                       "%s failed: no source files were "
                                       "specified",
                                       cmd);
        } else if (util_strv_push(&matches, rel) < 0) {
                return err_set(err, -ENOMEM, "copying");
        }
        for (char **m = matches; r >= 0 && *m; m++) {
                struct stat st;
                const char *base = strrchr(*m, '/') ? strrchr(*m, '/') + 1 : *m;
                _cleanup_free_ char *to = NULL;
                free(host);
                host = NULL;
                r = src_stat(s, *m, &host, &st, err);
                if (r == -ENOENT)
                        return err_set(err, -ENOENT,
                                       "%s failed: file not found in build context or excluded "
                                       "by .dockerignore: stat %s: file does not exist",
                                       cmd, arg);
                if (r < 0)
                        return r;
                if (S_ISDIR(st.st_mode)) {
                        r = add_tree(s, p, *m, dest, err);
                        continue;
                }
                if (add && S_ISREG(st.st_mode) && is_archive(host)) {
                        r = add_archive(s->b, p, host, dest, err);
                        continue;
                }
                to = dest_dir ? util_printf("%s/%s", dest, *base ? base : ".") : strdup(dest);
                r = to ? plan_add(p, to, host, &st, err) : err_set(err, -ENOMEM, "copying");
        }
        return r;
}

/* A heredoc source (COPY <<EOF /dest): its content as a file. */
static int add_heredoc(struct build *b, struct plan *p, const struct df_heredoc *h,
                       const char *dest, bool dest_dir, struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp"), *file = NULL, *to = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        file = tmp ? util_printf("%s/build-here-XXXXXX", tmp) : NULL;
        if (!file || fs_mkdir_p(tmp, 0700, err) < 0)
                return file ? -err->code : err_set(err, -ENOMEM, "copying");
        fd = mkostemp(file, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "copying a heredoc");
        if (util_strv_push(&p->cleanup, file) < 0)
                return err_set(err, -ENOMEM, "copying");
        if (fs_write_all(fd, h->content, strlen(h->content)) < 0 || fstat(fd, &st) < 0)
                return err_errno(err, "copying a heredoc");
        st.st_mode = S_IFREG | 0644;
        to = dest_dir ? util_printf("%s/%s", dest, h->name) : strdup(dest);
        return to ? plan_add(p, to, file, &st, err) : err_set(err, -ENOMEM, "copying");
}

/* --chown: names resolved with the destination image's /etc/passwd and /etc/group. */
static int chown_ids(const struct view *v, const char *spec, uid_t *uid, gid_t *gid,
                     struct err *err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        struct user_ids ids;
        int r = view_read_file(v, "/etc/passwd", &passwd, err);

        if (r >= 0)
                r = view_read_file(v, "/etc/group", &group, err);
        err_clear(err);
        r = user_resolve(spec, passwd, group, &ids, err);
        if (r < 0)
                return err_wrap(err, "unable to convert uid/gid chown string to host mapping");
        *uid = ids.uid;
        *gid = ids.gid;
        return 0;
}

static int item_cmp(const void *x, const void *y)
{
        const struct item *a = x, *b = y;

        return strcmp(a->dest, b->dest);
}

/* The key material: each item's path, type, mode, owner, size, link and content digest. */
static int plan_digest(struct plan *p, const char *flags, char out[65], struct err *err)
{
        struct sha256 *h = sha256_new();

        if (!h)
                return err_set(err, -ENOMEM, "hashing the copied files");
        sha256_update(h, flags, strlen(flags));
        for (size_t i = 0; i < p->n; i++) {
                struct item *it = &p->v[i];
                char line[PATH_MAX + 256];
                if (S_ISREG(it->st.st_mode)) {
                        _cleanup_close_ int fd = open(it->src, O_RDONLY | O_CLOEXEC);
                        struct sha256 *c = sha256_new();
                        char buf[65536];
                        ssize_t k;
                        if (fd < 0 || !c) {
                                sha256_free(c);
                                sha256_free(h);
                                return err_errno(err, "reading %s", it->dest);
                        }
                        while ((k = read(fd, buf, sizeof(buf))) > 0)
                                sha256_update(c, buf, (size_t)k);
                        sha256_finish(c, it->sum);
                }
                snprintf(line, sizeof(line), "%s\n%o\n%u:%u\n%lld\n%s\n%s\n", it->dest,
                         (unsigned)it->st.st_mode, (unsigned)it->st.st_uid, (unsigned)it->st.st_gid,
                         (long long)it->st.st_size, it->link ? it->link : "", it->sum);
                sha256_update(h, line, strlen(line));
        }
        sha256_finish(h, out);
        return 0;
}

/* Directories above the items that the layer must hold: as the image has them (its
 * metadata kept), or new (0755, root). */
static int add_parents(struct plan *p, const struct view *v, struct err *err)
{
        size_t n = p->n;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = strdup(p->v[i].dest);
                char *slash;
                if (!path)
                        return err_set(err, -ENOMEM, "copying");
                while ((slash = strrchr(path, '/'))) {
                        bool have = false;
                        *slash = '\0';
                        for (size_t j = 0; j < p->n && !have; j++)
                                have = !strcmp(p->v[j].dest, path);
                        if (have)
                                continue;
                        {
                                _cleanup_free_ char *abs = util_printf("/%s", path);
                                _cleanup_free_ char *host = NULL;
                                struct stat st = {.st_mode = S_IFDIR | 0755,
                                                  .st_mtime = time(NULL)};
                                int r = abs ? view_resolve(v, abs, false, NULL, &host, &st, err)
                                            : -ENOMEM;
                                if (r < 0)
                                        return r == -ENOMEM ? err_set(err, r, "copying") : r;
                                if (!host || !S_ISDIR(st.st_mode))
                                        st = (struct stat){.st_mode = S_IFDIR | 0755,
                                                           .st_mtime = time(NULL)};
                                r = plan_add(p, path, NULL, &st, err);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

/* Writes the plan as a layer tar to fd. */
static int write_tar(struct plan *p, int fd, struct err *err)
{
        _cleanup_tarwrite_ struct tarwrite *w = NULL;
        int r = tarwrite_open(fd, &w, err);

        for (size_t i = 0; r >= 0 && i < p->n; i++) {
                struct item *it = &p->v[i];
                _cleanup_close_ int src = -1;
                if (S_ISREG(it->st.st_mode)) {
                        src = open(it->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (src < 0)
                                return err_errno(err, "reading %s", it->dest);
                }
                r = tarwrite_add(
                        w,
                        &(struct tarwrite_entry){
                                .path = it->dest, .st = &it->st, .link = it->link, .fd = src},
                        err);
        }
        if (r >= 0)
                r = tarwrite_finish(w, err);
        return r;
}

/* The destination's real path inside the image (its symlinks followed), and whether it is
 * a directory there. */
static int resolve_dest(const struct view *v, const char *dest, char **ret, bool *ret_dir,
                        struct err *err)
{
        _cleanup_free_ char *real = NULL, *host = NULL;
        struct stat st = {0};
        int r = view_resolve(v, dest, true, &real, &host, &st, err);

        if (r < 0)
                return r;
        *ret_dir = host && S_ISDIR(st.st_mode);
        *ret = util_printf("/%s", real);
        return *ret ? 0 : err_set(err, -ENOMEM, "copying");
}

/* The plan (its parent directories added) as a staged layer: a tar in a temporary file of
 * the store's filesystem, then staged (*ret_stage NULL when the store has that layer). */
static int stage_plan(struct build *b, struct plan *p, const struct view *v, char **ret_stage,
                      char ret_diff[65], struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(b->cli, "tmp");
        _cleanup_close_ int fd = -1;
        int r = add_parents(p, v, err);

        if (r >= 0)
                qsort(p->v, p->n, sizeof(*p->v), item_cmp);
        if (r >= 0 && (!tmp || fs_mkdir_p(tmp, 0700, err) < 0))
                r = tmp ? -err->code : err_set(err, -ENOMEM, "building");
        if (r >= 0 && (fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
                r = err_errno(err, "creating a temporary file");
        if (r >= 0)
                r = write_tar(p, fd, err);
        if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = err_errno(err, "rewinding the layer");
        if (r >= 0)
                r = image_stage_layer(b->cli, fd, ret_stage, ret_diff, err);
        return r;
}

int build_copy(struct build *b, struct stage *st, const struct df_instr *in, bool add,
               struct err *err)
{
        const char *cmd = add ? "ADD" : "COPY";
        _cleanup_strv_ char **args = NULL;
        _cleanup_free_ char *dest = NULL, *real = NULL, *flags = NULL, *by = NULL;
        const char *from = NULL, *chown = NULL, *chmod_s = NULL, *wd;
        struct view dv = {0}, sv = {0};
        struct source src = {.b = b, .root = b->context};
        struct plan p = {0};
        char sum[65], key[65], id[65];
        bool dest_dir, exists_dir = false;
        size_t n;
        int r = 0;

        for (char **f = in->flags; f && *f; f++) {
                if (!strncmp(*f, "--from=", 7))
                        from = *f + 7;
                else if (!strncmp(*f, "--chown=", 8))
                        chown = *f + 8;
                else if (!strncmp(*f, "--chmod=", 8))
                        chmod_s = *f + 8;
                else if (strcmp(*f, "--link") && strncmp(*f, "--link=", 7))
                        return err_set(err, -EINVAL, "Unknown flag: %s", *f + 2);
        }
        if (add && from)
                return err_set(err, -EINVAL, "Unknown flag: from");
        r = in->json ? ((args = util_strv_dup(in->args)) ? 0 : -ENOMEM)
                     : build_expand_words(b, st, in->rest, &args, err);
        if (r < 0)
                return r == -ENOMEM ? err_set(err, r, "copying") : r;
        n = util_strv_len(args);
        if (n < 2)
                return err_set(err, -EINVAL, "%s requires at least two arguments", cmd);
        wd = jv_get_str(jv_path(st->doc, "config"), "WorkingDir");
        {
                const char *d = args[n - 1];
                _cleanup_free_ char *joined =
                        d[0] == '/' ? strdup(d) : util_printf("%s/%s", wd && *wd ? wd : "", d);
                dest = joined ? path_clean(joined) : NULL;
                dest_dir = d[strlen(d) - 1] == '/' || n > 2;
                if (!dest)
                        return err_set(err, -ENOMEM, "copying");
                if (!strcmp(d, ".") || !strcmp(d, "./"))
                        dest_dir = true;
        }
        r = view_open(b->cli, st->image, &dv, err);
        if (r >= 0)
                r = resolve_dest(&dv, dest, &real, &exists_dir, err);
        if (r >= 0 && from) {
                struct stage *fs = build_find_stage(b, from, st->index);
                char fid[65];
                _cleanup_free_ char *exp = NULL;
                r = build_expand(b, st, from, &exp, err);
                if (r >= 0 && fs && !fs->built)
                        r = err_set(err, -EINVAL, "stage %s was not built", from);
                if (r >= 0 && !fs) {
                        r = image_resolve(b->cli, exp, fid, err);
                        if (r == -ENOENT) {
                                struct registry_pull_opts po = {.quiet = b->o->quiet,
                                                                .out = stdout};
                                err_clear(err);
                                r = registry_pull(b->cli, exp, &po, fid, err);
                        }
                }
                if (r >= 0)
                        r = view_open(b->cli, fs ? fs->image : fid, &sv, err);
                src.root = NULL;
                src.view = &sv;
        }
        for (size_t i = 0; r >= 0 && i + 1 < n; i++) {
                const char *a = args[i];
                bool many = n > 2 || strpbrk(a, "*?[");
                /* A heredoc source: its content as a file named like the delimiter. */
                bool here = false;
                for (size_t h = 0; h < in->n_heredocs && !here; h++)
                        if (!strncmp(a, "<<", 2) &&
                            !strcmp(a + 2 + (a[2] == '-') + strspn(a + 2 + (a[2] == '-'), "\"'"),
                                    in->heredocs[h].name)) {
                                here = true;
                                r = add_heredoc(b, &p, &in->heredocs[h], real,
                                                dest_dir || exists_dir, err);
                        }
                if (!here)
                        r = add_source(&src, &p, a, real, dest_dir || exists_dir || many, add, cmd,
                                       err);
        }
        if (r >= 0 && (chown || chmod_s)) {
                uid_t uid = 0;
                gid_t gid = 0;
                long mode = 0;
                char *end = NULL;
                if (chmod_s) {
                        mode = strtol(chmod_s, &end, 8);
                        if (!*chmod_s || *end || mode < 0 || mode > 07777)
                                r = err_set(err, -EINVAL, "invalid chmod parameter: %s", chmod_s);
                }
                if (r >= 0 && chown)
                        r = chown_ids(&dv, chown, &uid, &gid, err);
                for (size_t i = 0; r >= 0 && i < p.n; i++) {
                        if (chown) {
                                p.v[i].st.st_uid = uid;
                                p.v[i].st.st_gid = gid;
                        }
                        if (chmod_s && !S_ISLNK(p.v[i].st.st_mode))
                                p.v[i].st.st_mode = (p.v[i].st.st_mode & S_IFMT) | (mode_t)mode;
                }
        } else if (r >= 0 && !from) {
                /* Files from the context belong to root in the image. */
                for (size_t i = 0; i < p.n; i++)
                        if (p.v[i].src && !strstr(p.v[i].src, "/build-add-"))
                                p.v[i].st.st_uid = p.v[i].st.st_gid = 0;
        }
        if (r >= 0) {
                qsort(p.v, p.n, sizeof(*p.v), item_cmp);
                flags = util_printf("%s|from=%s|chown=%s|chmod=%s|dest=%s", cmd, from ? from : "",
                                    chown ? chown : "", chmod_s ? chmod_s : "", real);
                r = flags ? plan_digest(&p, flags, sum, err) : err_set(err, -ENOMEM, "copying");
        }
        if (r >= 0) {
                by = util_printf("/bin/sh -c #(nop) %s %s:%s in %s ", cmd,
                                 p.n == 1 && S_ISREG(p.v[0].st.st_mode) ? "file" : "dir", sum,
                                 args[n - 1]);
                if (!by)
                        r = err_set(err, -ENOMEM, "copying");
        }
        if (r >= 0) {
                build_key(st, by, NULL, key);
                r = build_cache_get(b, st, key, err);
                if (r == 1) {
                        r = 0;
                        goto out;
                }
        }
        if (r >= 0) {
                char *stage = NULL, diff[65];
                b->missed = true;
                r = stage_plan(b, &p, &dv, &stage, diff, err);
                if (r >= 0) {
                        r = stage_commit(b, st, jv_copy(jv_get(st->doc, "config")), diff, stage, by,
                                         err);
                        free(stage);
                }
                if (r >= 0)
                        build_cache_put(b, key, st->image);
        }
out:
        (void)id;
        plan_free(&p);
        view_close(&dv);
        view_close(&sv);
        return r;
}

int build_dir_layer(struct build *b, struct stage *st, const char *path, char **ret_stage,
                    char ret_diff[65], struct err *err)
{
        _cleanup_free_ char *host = NULL, *rel = NULL;
        struct view v = {0};
        struct plan p = {0};
        struct stat st_img = {0};
        int r = view_open(b->cli, st->image, &v, err);

        *ret_stage = NULL;
        if (r >= 0)
                r = view_resolve(&v, path, true, &rel, &host, &st_img, err);
        if (r >= 0 && !host && *rel) {
                struct stat dir = {.st_mode = S_IFDIR | 0755, .st_mtime = time(NULL)};
                r = plan_add(&p, rel, NULL, &dir, err);
        }
        if (r >= 0)
                r = stage_plan(b, &p, &v, ret_stage, ret_diff, err);
        plan_free(&p);
        view_close(&v);
        return r;
}
