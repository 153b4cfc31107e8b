#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "commit.h"
#include "tarwrite.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WH_PREFIX    ".wh."
#define WH_OPAQUE    ".wh..wh..opq"

/* ---- layer stacks ---- */

/* One directory as overlayfs sees it: the layers that contribute to it, topmost first. */
struct stack {
        int *fds;
        size_t *layer; /* index of each fd's layer in the whole stack (0: the topmost) */
        size_t n;
};

static void stack_done(struct stack *s)
{
        for (size_t i = 0; i < s->n; i++)
                close(s->fds[i]);
        free(s->fds);
        free(s->layer);
        *s = (struct stack){0};
}

static int stack_push(struct stack *s, int fd, size_t layer)
{
        int *fds = realloc(s->fds, (s->n + 1) * sizeof(*fds));
        size_t *ids;

        if (!fds) {
                close(fd);
                return -ENOMEM;
        }
        s->fds = fds;
        ids = realloc(s->layer, (s->n + 1) * sizeof(*ids));
        if (!ids) {
                close(fd);
                return -ENOMEM;
        }
        s->layer = ids;
        s->fds[s->n] = fd;
        s->layer[s->n++] = layer;
        return 0;
}

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Only the trusted namespace: that is what the overlay mounts hawser makes read. */
static bool is_opaque(int dirfd)
{
        char v[2];
        ssize_t n = fgetxattr(dirfd, OPAQUE_XATTR, v, sizeof(v));

        return n == 1 && v[0] == 'y';
}

static int open_dir_at(int pfd, const char *name)
{
        return openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The topmost visible entry called name, from layer `from` down: 1 with *ret_st and
 * *ret_i set, 0 when absent or whited out, -errno. */
static int stack_lookup(const struct stack *s, size_t from, const char *name, struct stat *ret_st,
                        size_t *ret_i)
{
        for (size_t i = from; i < s->n; i++) {
                struct stat st;

                if (fstatat(s->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                if (is_whiteout(&st))
                        return 0;
                *ret_st = st;
                if (ret_i)
                        *ret_i = i;
                return 1;
        }
        return 0;
}

/* The stack of directory name, from layer `from` down: each layer where it is a directory,
 * ending at an opaque one or at anything that is not a directory (a whiteout, a file). */
static int stack_descend(const struct stack *s, size_t from, const char *name, struct stack *ret)
{
        struct stack out = {0};

        for (size_t i = from; i < s->n; i++) {
                struct stat st;
                int fd, r;

                if (fstatat(s->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                        stack_done(&out);
                        return r;
                }
                if (!S_ISDIR(st.st_mode))
                        break;
                fd = open_dir_at(s->fds[i], name);
                if (fd < 0 && errno == ENOENT)
                        continue;
                r = fd < 0 ? -errno : stack_push(&out, fd, s->layer[i]);
                if (r < 0) {
                        stack_done(&out);
                        return r;
                }
                if (is_opaque(fd))
                        break;
        }
        *ret = out;
        return 0;
}

/* The stack of the layer roots; an opaque root hides what is below it, as in overlayfs. */
static int stack_roots(char *const *dirs, struct stack *ret, struct err *err)
{
        struct stack s = {0};

        for (size_t i = 0; dirs && dirs[i]; i++) {
                int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

                if (fd < 0) {
                        r = err_errno(err, "opening layer %s", dirs[i]);
                        stack_done(&s);
                        return r;
                }
                if (stack_push(&s, fd, i) < 0) {
                        stack_done(&s);
                        return err_set(err, -ENOMEM, "opening layers");
                }
                if (is_opaque(fd))
                        break;
        }
        *ret = s;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the names in directory dfd (not "." and "..") to *v. */
static int add_names(int dfd, char ***v, size_t *n, size_t *cap)
{
        int fd = dup(dfd);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        /* The duplicate shares its offset with dfd, which may have been read before. */
        rewinddir(d);
        while ((errno = 0, de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (*n + 2 > *cap) {
                        size_t nc = *cap ? *cap * 2 : 32;
                        char **nv = realloc(*v, nc * sizeof(*nv));
                        if (!nv)
                                return -ENOMEM;
                        *v = nv;
                        *cap = nc;
                }
                (*v)[*n] = strdup(de->d_name);
                if (!(*v)[*n])
                        return -ENOMEM;
                (*v)[++*n] = NULL;
        }
        return errno ? -errno : 0;
}

/* The sorted, distinct names in the directories fds[0..n). */
static int read_names(const int *fds, size_t n, char ***ret)
{
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        size_t len = 0, cap = 1, out = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = add_names(fds[i], &v, &len, &cap);
                if (r < 0)
                        return r;
        }
        qsort(v, len, sizeof(*v), cmp_str);
        for (size_t i = 0; i < len; i++) {
                if (out && !strcmp(v[out - 1], v[i])) {
                        free(v[i]);
                        continue;
                }
                v[out++] = v[i];
        }
        v[out] = NULL;
        *ret = TAKE_PTR(v);
        return 0;
}

/* Appends "/name" (or "name" at the root) to the relative path of length plen; returns the
 * new length. */
static int path_push(char path[PATH_MAX], size_t plen, const char *name)
{
        size_t n = strlen(name);

        if (plen + n + 2 > PATH_MAX)
                return -ENAMETOOLONG;
        if (plen)
                path[plen++] = '/';
        memcpy(path + plen, name, n + 1);
        return (int)(plen + n);
}

/* ---- what the upper dir holds that is not the container's ---- */

static const char *const runtime_files[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf"};
static const char *const runtime_dirs[] = {"proc", "sys", "dev"};

static bool in_table(const char *const *t, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(t[i], s))
                        return true;
        return false;
}

/* path (relative) lies strictly below a mount destination. */
static bool below_mount(const struct commit_filter *f, const char *path)
{
        for (char *const *m = f ? f->mounts : NULL; m && *m; m++) {
                const char *d = *m;
                size_t n;

                while (*d == '/')
                        d++;
                n = strlen(d);
                while (n && d[n - 1] == '/')
                        n--;
                if (n && !strncmp(path, d, n) && path[n] == '/')
                        return true;
        }
        return false;
}

/* The bind-mount targets hawser creates empty in the upper dir when the image lacks them. */
static bool runtime_file(const struct commit_filter *f, const char *path, const struct stat *st)
{
        return f && f->runtime && S_ISREG(st->st_mode) && st->st_size == 0 &&
               in_table(runtime_files, ARRAY_SIZE(runtime_files), path);
}

/* A mount destination the image lacks, left as an empty file or directory (the builder's
 * RUN --mount targets). */
static bool mount_point(const struct commit_filter *f, const char *path, const struct stat *st)
{
        if (!f || !f->mount_points ||
            !(S_ISREG(st->st_mode) ? st->st_size == 0 : S_ISDIR(st->st_mode)))
                return false;
        for (char *const *m = f->mounts; m && *m; m++) {
                const char *d = *m;
                while (*d == '/')
                        d++;
                if (!strcmp(d, path))
                        return true;
        }
        return false;
}

static bool runtime_dir_name(const struct commit_filter *f, const char *path)
{
        return f && f->runtime && in_table(runtime_dirs, ARRAY_SIZE(runtime_dirs), path);
}

static bool same_meta(const struct stat *a, const struct stat *b)
{
        return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid;
}

/* ---- scanning the upper dir ---- */

/* An upper-dir entry that belongs to the changes. Children are sorted by name. */
struct node {
        char *name;
        struct stat st;
        bool whiteout, opaque, in_lower;
        struct node *kids;
        size_t n_kids, cap;
        char **hidden;    /* opaque directories: lower names they hide (sorted) */
        size_t n_names;   /* entries the directory holds in the upper dir */
        size_t n_runtime; /* of which hawser's own mount points */
};

static void node_done(struct node *n)
{
        for (size_t i = 0; i < n->n_kids; i++)
                node_done(&n->kids[i]);
        free(n->kids);
        free(n->name);
        util_strv_free(n->hidden);
        *n = (struct node){0};
}

static int node_push(struct node *dir, struct node *kid)
{
        if (dir->n_kids == dir->cap) {
                size_t cap = dir->cap ? dir->cap * 2 : 8;
                struct node *k = realloc(dir->kids, cap * sizeof(*k));
                if (!k)
                        return -ENOMEM;
                dir->kids = k;
                dir->cap = cap;
        }
        dir->kids[dir->n_kids++] = *kid;
        *kid = (struct node){0};
        return 0;
}

struct scan {
        const struct commit_filter *f;
        char path[PATH_MAX]; /* relative path of the entry being looked at */
};

static int scan_dir(struct scan *sc, int ufd, const struct stack *lower, size_t plen,
                    struct node *dir, struct err *err);

/* Lower names directly below an opaque directory that the upper dir does not have. */
static int hidden_names(int ufd, const struct stack *lower, const char *name, char ***ret)
{
        _cleanup_(stack_done) struct stack below = {0};
        _cleanup_strv_ char **names = NULL;
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        int r = stack_descend(lower, 0, name, &below);

        if (r >= 0)
                r = out ? read_names(below.fds, below.n, &names) : -ENOMEM;
        for (char **p = names; r >= 0 && *p; p++) {
                struct stat st;
                if (stack_lookup(&below, 0, *p, &st, NULL) <= 0 ||
                    fstatat(ufd, *p, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        continue;
                r = util_strv_push(&out, *p);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

/* A directory that carries no change of its own: copied up for something below it that is
 * not part of the layer, or made by hawser to hold its mount points. */
static bool dir_unchanged(const struct scan *sc, const struct node *n, const struct stat *lst)
{
        if (n->opaque || n->n_kids || (n->hidden && n->hidden[0]))
                return false;
        if (lst)
                return S_ISDIR(lst->st_mode) && same_meta(&n->st, lst);
        if (!sc->f || (!sc->f->runtime && !sc->f->mount_points))
                return false;
        return n->n_names == n->n_runtime &&
               (n->n_runtime > 0 || runtime_dir_name(sc->f, sc->path));
}

/* Fills n (a directory of the upper dir at sc->path); 0 when it carries no change. */
static int scan_subdir(struct scan *sc, int ufd, const struct stack *lower, size_t len,
                       struct node *n, const struct stat *lst, struct err *err)
{
        _cleanup_close_ int cfd = open_dir_at(ufd, n->name);
        _cleanup_(stack_done) struct stack below = {0};
        int r;

        if (cfd < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                        return 0; /* replaced while we looked */
                return err_errno(err, "opening /%s", sc->path);
        }
        n->opaque = is_opaque(cfd);
        if (!n->opaque && (r = stack_descend(lower, 0, n->name, &below)) < 0) {
                errno = -r;
                return err_errno(err, "opening /%s in the image layers", sc->path);
        }
        if (n->opaque && lst && S_ISDIR(lst->st_mode) &&
            (r = hidden_names(cfd, lower, n->name, &n->hidden)) < 0) {
                errno = -r;
                return err_errno(err, "reading /%s in the image layers", sc->path);
        }
        r = scan_dir(sc, cfd, &below, (size_t)len, n, err);
        sc->path[len] = '\0';
        if (r < 0)
                return r;
        return dir_unchanged(sc, n, lst) ? 0 : 1;
}

static int scan_entry(struct scan *sc, int ufd, const struct stack *lower, size_t plen,
                      const char *name, struct node *dir, struct err *err)
{
        _cleanup_(node_done) struct node n = {0};
        struct stat lst;
        int len, r;

        len = path_push(sc->path, plen, name);
        if (len < 0)
                return err_set(err, -ENAMETOOLONG, "/%s/%s: path too long", sc->path, name);
        if (fstatat(ufd, name, &n.st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : err_errno(err, "inspecting /%s", sc->path);
        if (below_mount(sc->f, sc->path))
                return 0;
        if (runtime_file(sc->f, sc->path, &n.st)) {
                dir->n_runtime++;
                return 0;
        }
        r = stack_lookup(lower, 0, name, &lst, NULL);
        if (r < 0) {
                errno = -r;
                return err_errno(err, "looking up /%s in the image layers", sc->path);
        }
        n.in_lower = r > 0;
        n.whiteout = is_whiteout(&n.st);
        n.name = strdup(name);
        if (!n.name)
                return err_set(err, -ENOMEM, "scanning /%s", sc->path);
        if (!n.in_lower && mount_point(sc->f, sc->path, &n.st)) {
                /* An empty directory mount point is not the container's either. */
                if (!S_ISDIR(n.st.st_mode) ||
                    scan_subdir(sc, ufd, lower, (size_t)len, &n, NULL, err) == 0) {
                        dir->n_runtime++;
                        return 0;
                }
        }
        if (S_ISDIR(n.st.st_mode)) {
                r = scan_subdir(sc, ufd, lower, (size_t)len, &n, n.in_lower ? &lst : NULL, err);
                /* A directory made only to hold mount points goes with them. */
                if (r == 0 && !n.in_lower && sc->f && sc->f->mount_points)
                        dir->n_runtime++;
                if (r <= 0)
                        return r;
        }
        return node_push(dir, &n) < 0 ? err_set(err, -ENOMEM, "scanning /%s", sc->path) : 0;
}

static int scan_dir(struct scan *sc, int ufd, const struct stack *lower, size_t plen,
                    struct node *dir, struct err *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = read_names(&ufd, 1, &names);

        if (r < 0) {
                errno = -r;
                return err_errno(err, "reading /%s", sc->path);
        }
        for (char **p = names; *p; p++, dir->n_names++) {
                r = scan_entry(sc, ufd, lower, plen, *p, dir, err);
                sc->path[plen] = '\0';
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The tree of changes below upper; *ret_ufd (may be NULL) keeps the upper dir open. */
static int scan_upper(const char *upper, char *const *lowers, const struct commit_filter *f,
                      struct node *root, int *ret_ufd, struct err *err)
{
        _cleanup_(stack_done) struct stack lower = {0};
        _cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ struct scan *sc = calloc(1, sizeof(*sc));
        int r;

        if (ufd < 0)
                return err_errno(err, "opening %s", upper);
        if (!sc)
                return err_set(err, -ENOMEM, "scanning %s", upper);
        sc->f = f;
        r = stack_roots(lowers, &lower, err);
        if (r >= 0)
                r = scan_dir(sc, ufd, &lower, 0, root, err);
        if (r < 0)
                return r;
        if (ret_ufd)
                *ret_ufd = TAKE_FD(ufd);
        return 0;
}

/* ---- diff ---- */

struct change_list {
        struct commit_change *v;
        size_t n, cap;
        char path[PATH_MAX];
};

static int change_add(struct change_list *l, char kind, const char *path)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 32;
                struct commit_change *v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n].path = util_printf("/%s", path);
        if (!l->v[l->n].path)
                return -ENOMEM;
        l->v[l->n++].kind = kind;
        return 0;
}

static int changes_of(struct change_list *l, const struct node *dir, size_t plen);

static int change_node(struct change_list *l, const struct node *k, size_t plen)
{
        int len = path_push(l->path, plen, k->name), r;

        if (len < 0)
                return len;
        r = change_add(l, k->whiteout ? 'D' : k->in_lower ? 'C' : 'A', l->path);
        if (r >= 0 && S_ISDIR(k->st.st_mode))
                r = changes_of(l, k, (size_t)len);
        l->path[plen] = '\0';
        return r;
}

/* Children and hidden names are both sorted and never share a name: merge them. */
static int changes_of(struct change_list *l, const struct node *dir, size_t plen)
{
        char **h = dir->hidden;
        size_t i = 0;
        int r = 0;

        while (r >= 0 && (i < dir->n_kids || (h && *h))) {
                if (h && *h && (i == dir->n_kids || strcmp(*h, dir->kids[i].name) < 0)) {
                        int len = path_push(l->path, plen, *h++);
                        r = len < 0 ? len : change_add(l, 'D', l->path);
                        l->path[plen] = '\0';
                        continue;
                }
                r = change_node(l, &dir->kids[i++], plen);
        }
        return r;
}

void commit_changes_free(struct commit_change *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i].path);
        free(v);
}

int commit_changes(const char *upper, char *const *lowers, const struct commit_filter *f,
                   struct commit_change **ret, size_t *ret_n, struct err *err)
{
        _cleanup_(node_done) struct node root = {0};
        _cleanup_free_ struct change_list *l = calloc(1, sizeof(*l));
        int r = l ? scan_upper(upper, lowers, f, &root, NULL, err)
                  : err_set(err, -ENOMEM, "listing changes");

        if (r < 0)
                return r;
        l->path[0] = '\0';
        r = changes_of(l, &root, 0);
        if (r < 0) {
                commit_changes_free(l->v, l->n);
                return err_set(err, r, "listing changes: %s", strerror(-r));
        }
        *ret = l->v;
        *ret_n = l->n;
        return 0;
}

/* ---- writing tars ---- */

struct link_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct emit {
        struct tarwrite *w;
        /* Files with more than one link, by first path, in an open-addressing table keyed
         * by device and inode (a tree of millions of links stays linear to archive). */
        struct link_seen *links;
        size_t n_links, cap_links; /* cap_links: a power of two, at most half full */
        char path[PATH_MAX];
};

static void emit_done(struct emit *e)
{
        for (size_t i = 0; i < e->cap_links; i++)
                free(e->links[i].path);
        free(e->links);
        tarwrite_free(e->w);
}

static size_t link_slot(const struct link_seen *v, size_t cap, dev_t dev, ino_t ino)
{
        size_t i = (size_t)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) & (cap - 1);

        while (v[i].path && !(v[i].dev == dev && v[i].ino == ino))
                i = (i + 1) & (cap - 1);
        return i;
}

static const char *link_find(const struct emit *e, const struct stat *st)
{
        return e->cap_links
                       ? e->links[link_slot(e->links, e->cap_links, st->st_dev, st->st_ino)].path
                       : NULL;
}

static int link_add(struct emit *e, const struct stat *st)
{
        struct link_seen *slot;

        if (2 * (e->n_links + 1) > e->cap_links) {
                size_t cap = e->cap_links ? e->cap_links * 2 : 64;
                struct link_seen *v = calloc(cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < e->cap_links; i++)
                        if (e->links[i].path)
                                v[link_slot(v, cap, e->links[i].dev, e->links[i].ino)] =
                                        e->links[i];
                free(e->links);
                e->links = v;
                e->cap_links = cap;
        }
        slot = &e->links[link_slot(e->links, e->cap_links, st->st_dev, st->st_ino)];
        slot->path = strdup(e->path);
        if (!slot->path)
                return -ENOMEM;
        slot->dev = st->st_dev;
        slot->ino = st->st_ino;
        e->n_links++;
        return 0;
}

struct xattr_set {
        char *list;
        struct tarwrite_xattr *v;
        size_t n;
};

static void xattr_set_done(struct xattr_set *x)
{
        for (size_t i = 0; i < x->n; i++)
                free((void *)x->v[i].value);
        free(x->v);
        free(x->list);
}

/* Overlay's own attributes describe the layer stack, not the file; an SELinux label
 * belongs to the host's policy. */
static bool xattr_kept(const char *name)
{
        return strncmp(name, "trusted.overlay.", 16) && strncmp(name, "user.overlay.", 13) &&
               strcmp(name, "security.selinux");
}

static int xattr_read(int fd, struct xattr_set *x)
{
        ssize_t len = flistxattr(fd, NULL, 0);

        if (len <= 0)
                return len < 0 && errno != ENOTSUP ? -errno : 0;
        x->list = malloc((size_t)len);
        if (!x->list)
                return -ENOMEM;
        len = flistxattr(fd, x->list, (size_t)len);
        if (len < 0)
                return errno == ERANGE ? 0 : -errno; /* changed under us: keep none */
        for (char *p = x->list; p < x->list + len; p += strlen(p) + 1) {
                ssize_t vlen = xattr_kept(p) ? fgetxattr(fd, p, NULL, 0) : -1;
                struct tarwrite_xattr *nv;
                void *val;

                if (vlen < 0)
                        continue;
                val = malloc((size_t)vlen + 1);
                nv = realloc(x->v, (x->n + 1) * sizeof(*nv));
                if (nv)
                        x->v = nv;
                if (!val || !nv) {
                        free(val);
                        return -ENOMEM;
                }
                vlen = fgetxattr(fd, p, val, (size_t)vlen);
                if (vlen < 0) {
                        free(val);
                        continue;
                }
                x->v[x->n++] =
                        (struct tarwrite_xattr){.name = p, .value = val, .size = (size_t)vlen};
        }
        return 0;
}

static int emit_add(struct emit *e, struct tarwrite_entry *te, int xfd, struct err *err)
{
        _cleanup_(xattr_set_done) struct xattr_set x = {0};
        int r = xfd >= 0 ? xattr_read(xfd, &x) : 0;

        if (r < 0) {
                errno = -r;
                return err_errno(err, "reading the attributes of /%s", e->path);
        }
        te->path = e->path;
        te->xattrs = x.v;
        te->n_xattrs = x.n;
        return tarwrite_add(e->w, te, err);
}

/* A regular file; one that vanished or changed type since it was listed is left out. */
static int emit_file(struct emit *e, int pfd, const char *name, struct err *err)
{
        /* Looked at before it is opened: a node swapped in since it was listed (a device on
         * a mount that allows them) is never opened, whatever opening it would do. */
        _cleanup_close_ int pathfd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd = -1;
        struct tarwrite_entry te = {.fd = -1};
        struct stat st;
        const char *first;
        char self[64];

        if (pathfd < 0)
                return errno == ENOENT || errno == ELOOP ? 0
                                                         : err_errno(err, "opening /%s", e->path);
        if (fstat(pathfd, &st) < 0)
                return err_errno(err, "inspecting /%s", e->path);
        if (!S_ISREG(st.st_mode))
                return 0;
        snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
        fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : err_errno(err, "opening /%s", e->path);
        te.st = &st;
        if (st.st_nlink > 1 && (first = link_find(e, &st))) {
                te.link = first;
                te.hardlink = true;
                return emit_add(e, &te, -1, err);
        }
        if (st.st_nlink > 1 && link_add(e, &st) < 0)
                return err_set(err, -ENOMEM, "archiving /%s", e->path);
        te.fd = fd;
        return emit_add(e, &te, fd, err);
}

/* Anything but a directory, found in pfd under name (st as listed). Sockets are skipped,
 * as Docker does. */
static int emit_leaf(struct emit *e, int pfd, const char *name, const struct stat *st,
                     struct err *err)
{
        struct tarwrite_entry te = {.st = st, .fd = -1};
        char target[PATH_MAX];
        ssize_t n;

        switch (st->st_mode & S_IFMT) {
        case S_IFREG:
                return emit_file(e, pfd, name, err);
        case S_IFLNK:
                n = readlinkat(pfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return errno == ENOENT || errno == EINVAL
                                       ? 0
                                       : err_errno(err, "reading link /%s", e->path);
                target[n] = '\0';
                te.link = target;
                return emit_add(e, &te, -1, err);
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                return emit_add(e, &te, -1, err);
        default:
                return 0;
        }
}

/* An empty regular file standing for a marker: a whiteout or an opaque directory. */
static int emit_marker(struct emit *e, size_t plen, const char *name, const struct stat *like,
                       mode_t perm, struct err *err)
{
        struct stat st = *like;
        struct tarwrite_entry te = {.st = &st, .fd = -1};
        int len = path_push(e->path, plen, name), r;

        if (len < 0)
                return err_set(err, -ENAMETOOLONG, "/%s/%s: path too long", e->path, name);
        st.st_mode = S_IFREG | perm;
        st.st_size = 0;
        r = emit_add(e, &te, -1, err);
        e->path[plen] = '\0';
        return r;
}

static int emit_whiteout(struct emit *e, size_t plen, const struct node *k, struct err *err)
{
        char name[NAME_MAX + sizeof(WH_PREFIX)];

        snprintf(name, sizeof(name), WH_PREFIX "%s", k->name);
        return emit_marker(e, plen, name, &k->st, 0600, err);
}

static int emit_layer_dir(struct emit *e, int ufd, size_t plen, const struct node *dir,
                          struct err *err);

static int emit_layer_subdir(struct emit *e, int ufd, size_t len, const struct node *k,
                             struct err *err)
{
        _cleanup_close_ int cfd = open_dir_at(ufd, k->name);
        struct tarwrite_entry te = {.fd = -1};
        struct stat st;
        int r;

        if (cfd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                               ? 0
                               : err_errno(err, "opening /%s", e->path);
        if (fstat(cfd, &st) < 0)
                return err_errno(err, "inspecting /%s", e->path);
        te.st = &st;
        r = emit_add(e, &te, cfd, err);
        if (r >= 0 && k->opaque)
                r = emit_marker(e, len, WH_OPAQUE, &st, st.st_mode & 07777, err);
        if (r >= 0)
                r = emit_layer_dir(e, cfd, len, k, err);
        return r;
}

static int emit_layer_dir(struct emit *e, int ufd, size_t plen, const struct node *dir,
                          struct err *err)
{
        for (size_t i = 0; i < dir->n_kids; i++) {
                const struct node *k = &dir->kids[i];
                int len, r;

                if (k->whiteout) {
                        r = emit_whiteout(e, plen, k, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                len = path_push(e->path, plen, k->name);
                if (len < 0)
                        return err_set(err, -ENAMETOOLONG, "/%s/%s: path too long", e->path,
                                       k->name);
                if (S_ISDIR(k->st.st_mode)) {
                        r = emit_layer_subdir(e, ufd, (size_t)len, k, err);
                } else {
                        r = emit_leaf(e, ufd, k->name, &k->st, err);
                }
                e->path[plen] = '\0';
                if (r < 0)
                        return r;
        }
        return 0;
}

int commit_write_layer(const char *upper, char *const *lowers, const struct commit_filter *f,
                       int fd, size_t *ret_entries, char ret_diff_id[65], struct err *err)
{
        _cleanup_(node_done) struct node root = {0};
        _cleanup_(emit_done) struct emit e = {0};
        _cleanup_close_ int ufd = -1;
        int r;

        r = scan_upper(upper, lowers, f, &root, &ufd, err);
        if (r >= 0)
                r = tarwrite_open(fd, &e.w, err);
        if (r >= 0 && ret_diff_id)
                r = tarwrite_digest_start(e.w, err);
        if (r >= 0)
                r = emit_layer_dir(&e, ufd, 0, &root, err);
        if (r >= 0)
                r = tarwrite_finish(e.w, err);
        if (r < 0)
                return r;
        *ret_entries = tarwrite_count(e.w);
        if (ret_diff_id)
                (void)tarwrite_digest(e.w, ret_diff_id, NULL);
        return 0;
}

/* ---- the merged tree (export) ---- */

/* Entries of the upper dir that are not the container's own: hawser's mount points and
 * what lies below mount destinations. Entries of the image layers are always kept. */
static bool flat_skip(const struct commit_filter *f, const struct stack *s, size_t i,
                      const char *name, const char *path, const struct stat *st)
{
        struct stat lst;
        _cleanup_close_ int fd = -1;
        _cleanup_strv_ char **names = NULL;

        if (s->layer[i] != 0)
                return false;
        if (below_mount(f, path) || runtime_file(f, path, st))
                return true;
        if (!S_ISDIR(st->st_mode) || !runtime_dir_name(f, path) ||
            stack_lookup(s, i + 1, name, &lst, NULL) != 0)
                return false;
        fd = open_dir_at(s->fds[i], name);
        return fd >= 0 && read_names(&fd, 1, &names) >= 0 && !names[0];
}

static int emit_flat_dir(struct emit *e, const struct commit_filter *f, const struct stack *s,
                         size_t plen, struct err *err);

/* mqueue's magic is not in linux/magic.h (ipc/mqueue.c). */
#define COMMIT_MQUEUE_MAGIC 0x19800202

/* A kernel filesystem: what it shows is the kernel's view of the moment, not files. */
static bool kernel_fs(const struct commit_filter *f, int dirfd)
{
        static const unsigned long magic[] = {
                PROC_SUPER_MAGIC,   SYSFS_MAGIC,         DEVPTS_SUPER_MAGIC, COMMIT_MQUEUE_MAGIC,
                CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, SECURITYFS_MAGIC,   DEBUGFS_MAGIC,
                TRACEFS_MAGIC,      BPF_FS_MAGIC,        PSTOREFS_MAGIC,     EFIVARFS_MAGIC,
        };
        struct statfs sf;

        if (!f || !f->kernel_fs || fstatfs(dirfd, &sf) < 0)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(magic); i++)
                if ((unsigned long)sf.f_type == magic[i])
                        return true;
        return false;
}

static int emit_flat_subdir(struct emit *e, const struct commit_filter *f, const struct stack *s,
                            size_t i, const char *name, size_t len, struct err *err)
{
        _cleanup_(stack_done) struct stack below = {0};
        struct tarwrite_entry te = {.fd = -1};
        struct stat st;
        int r = stack_descend(s, i, name, &below);

        if (r < 0) {
                errno = -r;
                return err_errno(err, "opening /%s", e->path);
        }
        if (below.n == 0)
                return 0; /* replaced while we looked */
        if (fstat(below.fds[0], &st) < 0)
                return err_errno(err, "inspecting /%s", e->path);
        te.st = &st;
        r = emit_add(e, &te, below.fds[0], err);
        if (r < 0 || kernel_fs(f, below.fds[0]))
                return r;
        return emit_flat_dir(e, f, &below, len, err);
}

static int emit_flat_dir(struct emit *e, const struct commit_filter *f, const struct stack *s,
                         size_t plen, struct err *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = read_names(s->fds, s->n, &names);

        if (r < 0) {
                errno = -r;
                return err_errno(err, "reading /%s", e->path);
        }
        for (char **p = names; *p; p++) {
                struct stat st;
                size_t i;
                int len = path_push(e->path, plen, *p);

                if (len < 0)
                        return err_set(err, -ENAMETOOLONG, "/%s/%s: path too long", e->path, *p);
                r = stack_lookup(s, 0, *p, &st, &i);
                if (r > 0 && !flat_skip(f, s, i, *p, e->path, &st))
                        r = S_ISDIR(st.st_mode) ? emit_flat_subdir(e, f, s, i, *p, (size_t)len, err)
                                                : emit_leaf(e, s->fds[i], *p, &st, err);
                else if (r < 0)
                        r = err_set(err, r, "looking up /%s: %s", e->path, strerror(-r));
                e->path[plen] = '\0';
                if (r < 0)
                        return r;
        }
        return 0;
}

int commit_write_tree(int pfd, const char *name, const char *as, const struct commit_filter *f,
                      int fd, long long *ret_size, struct err *err)
{
        _cleanup_(stack_done) struct stack s = {0};
        _cleanup_(emit_done) struct emit e = {0};
        struct tarwrite_entry te = {.fd = -1};
        struct stat st;
        int r;

        if (strlen(as) >= sizeof(e.path))
                return err_set(err, -ENAMETOOLONG, "%s: path too long", as);
        strcpy(e.path, as);
        if (fstatat(pfd, name, &st, *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
                return err_errno(err, "inspecting %s", as);
        r = tarwrite_open(fd, &e.w, err);
        if (r >= 0 && !S_ISDIR(st.st_mode))
                r = emit_leaf(&e, pfd, name, &st, err);
        if (r >= 0 && S_ISDIR(st.st_mode)) {
                int dfd = openat(pfd, *name ? name : ".",
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                r = dfd < 0 ? err_errno(err, "opening %s", as) : stack_push(&s, dfd, 0);
                if (r == -ENOMEM)
                        err_set(err, r, "archiving %s", as);
                te.st = &st;
                if (r >= 0 && fstat(dfd, &st) < 0)
                        r = err_errno(err, "inspecting %s", as);
                if (r >= 0)
                        r = emit_add(&e, &te, dfd, err);
                if (r >= 0 && !kernel_fs(f, dfd))
                        r = emit_flat_dir(&e, f, &s, strlen(as), err);
        }
        if (r >= 0)
                r = tarwrite_finish(e.w, err);
        if (ret_size && e.w)
                *ret_size = tarwrite_size(e.w);
        return r;
}

int commit_write_flat(const char *upper, char *const *lowers, const struct commit_filter *f, int fd,
                      struct err *err)
{
        _cleanup_(stack_done) struct stack s = {0};
        _cleanup_(emit_done) struct emit e = {0};
        _cleanup_strv_ char **dirs = NULL;
        int r;

        if (util_strv_push(&dirs, upper) < 0)
                return err_set(err, -ENOMEM, "exporting");
        for (char *const *l = lowers; l && *l; l++)
                if (util_strv_push(&dirs, *l) < 0)
                        return err_set(err, -ENOMEM, "exporting");
        r = stack_roots(dirs, &s, err);
        if (r >= 0)
                r = tarwrite_open(fd, &e.w, err);
        if (r >= 0)
                r = emit_flat_dir(&e, f, &s, 0, err);
        if (r >= 0)
                r = tarwrite_finish(e.w, err);
        return r;
}
