#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "commit.h"
#include "container.h"
#include "image.h"
#include "lifecycle.h"
#include "imgconfig.h"
#include "layer.h"
#include "opt.h"
#include "table.h"
#include "tarwrite.h"
#include "template.h"
#include "teardown.h"

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
        if (!sc->f || !sc->f->runtime)
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
        if (S_ISDIR(n.st.st_mode)) {
                r = scan_subdir(sc, ufd, lower, (size_t)len, &n, n.in_lower ? &lst : NULL, err);
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
        struct link_seen *links; /* files with more than one link, by first path */
        size_t n_links, cap_links;
        char path[PATH_MAX];
};

static void emit_done(struct emit *e)
{
        for (size_t i = 0; i < e->n_links; i++)
                free(e->links[i].path);
        free(e->links);
        tarwrite_free(e->w);
}

static const char *link_find(const struct emit *e, const struct stat *st)
{
        for (size_t i = 0; i < e->n_links; i++)
                if (e->links[i].dev == st->st_dev && e->links[i].ino == st->st_ino)
                        return e->links[i].path;
        return NULL;
}

static int link_add(struct emit *e, const struct stat *st)
{
        if (e->n_links == e->cap_links) {
                size_t cap = e->cap_links ? e->cap_links * 2 : 16;
                struct link_seen *v = realloc(e->links, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                e->links = v;
                e->cap_links = cap;
        }
        e->links[e->n_links].path = strdup(e->path);
        if (!e->links[e->n_links].path)
                return -ENOMEM;
        e->links[e->n_links].dev = st->st_dev;
        e->links[e->n_links++].ino = st->st_ino;
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
        _cleanup_close_ int fd =
                openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct tarwrite_entry te = {.fd = -1};
        struct stat st;
        const char *first;

        if (fd < 0)
                return errno == ENOENT || errno == ELOOP ? 0
                                                         : err_errno(err, "opening /%s", e->path);
        if (fstat(fd, &st) < 0)
                return err_errno(err, "inspecting /%s", e->path);
        if (!S_ISREG(st.st_mode))
                return 0;
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
        return r < 0 ? r : emit_flat_dir(e, f, &below, len, err);
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

/* ---- the container ---- */

struct target {
        struct container *c;
        char *upper;
        char **lowers; /* topmost first */
        char **mounts; /* Mounts[].Destination */
};

static void target_done(struct target *t)
{
        container_free(t->c);
        free(t->upper);
        util_strv_free(t->lowers);
        util_strv_free(t->mounts);
}

/* Docker's refusals for a container that is going away. */
static int check_alive(const struct container *c, const char *verb, struct err *err)
{
        const char *s = container_status(c);

        if (!strcmp(s, "dead") || jv_get_bool(jv_get(c->doc, "State"), "Dead"))
                return err_set(err, -EBUSY, "You cannot %s container %s which is Dead", verb,
                               c->id);
        if (!strcmp(s, "removing") || jv_get_bool(jv_get(c->doc, "State"), "RemovalInProgress"))
                return err_set(err, -EBUSY, "You cannot %s container %s which is being removed",
                               verb, c->id);
        return 0;
}

/* Paths of the container's layers, read from its state document. */
static int target_paths(struct target *t, const char *verb, struct err *err)
{
        const struct jv *data = jv_path(t->c->doc, "GraphDriver.Data");
        const char *up = jv_get_str(data, "UpperDir"), *low = jv_get_str(data, "LowerDir");
        const struct jv *mounts = jv_get(t->c->doc, "Mounts");
        _cleanup_free_ char *copy = strdup(low ? low : "");
        char *save = NULL;
        struct stat st;

        t->upper = up ? strdup(up) : util_printf("%s/upper", t->c->dir);
        t->lowers = calloc(1, sizeof(char *));
        t->mounts = calloc(1, sizeof(char *));
        if (!t->upper || !t->lowers || !t->mounts || !copy)
                return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (util_strv_push(&t->lowers, d) < 0)
                        return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        for (size_t i = 0; i < jv_len(mounts); i++) {
                const char *dst = jv_get_str(jv_at(mounts, i), "Destination");
                if (dst && util_strv_push(&t->mounts, dst) < 0)
                        return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        }
        /* Said without hawser's internal paths. */
        if (lstat(t->upper, &st) < 0 || !S_ISDIR(st.st_mode))
                return err_set(err, -ENOENT,
                               "cannot %s container %.12s: its writable layer is gone", verb,
                               t->c->id);
        for (char **l = t->lowers; *l; l++) {
                const char *id = strstr(*l, "/layers/");
                if (access(*l, F_OK) < 0)
                        return err_set(
                                err, -ENOENT,
                                "cannot %s container %.12s: image layer sha256:%.12s is gone", verb,
                                t->c->id, id ? id + 8 : "");
        }
        return 0;
}

static int target_open(const struct cli *cli, const char *ref, const char *verb, bool check,
                       struct target *t, struct err *err)
{
        int r = teardown_find(cli, ref, &t->c, err);

        if (r >= 0 && check)
                r = check_alive(t->c, verb, err);
        return r < 0 ? r : target_paths(t, verb, err);
}

static struct commit_filter target_filter(const struct target *t)
{
        return (struct commit_filter){.mounts = t->mounts, .runtime = true};
}

/* ---- the committed config (Docker's daemon/commit.go merge) ---- */

/* Fields of a container's Config that describe that one container, not an image. */
static const char *const container_only[] = {
        "Hostname",  "Domainname", "AttachStdin",     "AttachStdout", "AttachStderr", "Tty",
        "OpenStdin", "StdinOnce",  "NetworkDisabled", "MacAddress",   "Image",
};

static bool str_empty(const char *s)
{
        return !s || !*s;
}

static void take_if_empty(struct jv *user, const struct jv *image, const char *key)
{
        const struct jv *v = jv_get(image, key);

        if (str_empty(jv_get_str(user, key)) && v)
                jv_set(user, key, jv_copy(v));
}

static bool has_keys(const struct jv *obj)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        return keys && keys[0];
}

/* ExposedPorts, Volumes, Labels: the image's keys are added where the user has none. */
static void union_keys(struct jv *user, const struct jv *image, const char *key, bool always)
{
        const struct jv *from = jv_get(image, key);
        struct jv *to = jv_get(user, key);
        _cleanup_strv_ char **keys = jv_keys(from);

        if (!to || jv_type(to) != JV_OBJECT) {
                if (!from && !always)
                        return;
                to = jv_new_object();
                jv_set(user, key, to);
        }
        for (char **k = keys; k && *k; k++)
                if (!jv_get(to, *k))
                        jv_set(to, *k, jv_copy(jv_get(from, *k)));
        /* An empty set is nil in Go and not written. */
        if (!always && !has_keys(to))
                jv_del(user, key);
}

static bool env_has_key(const struct jv *env, const char *kv)
{
        size_t n = strcspn(kv, "=");

        for (size_t i = 0; i < jv_len(env); i++) {
                const char *e = jv_str(jv_at(env, i));
                if (e && strcspn(e, "=") == n && !strncmp(e, kv, n))
                        return true;
        }
        return false;
}

static void merge_env(struct jv *user, const struct jv *image)
{
        const struct jv *from = jv_get(image, "Env");
        struct jv *to = jv_get(user, "Env");

        if (jv_len(to) == 0) {
                if (from)
                        jv_set(user, "Env", jv_copy(from));
                return;
        }
        for (size_t i = 0; i < jv_len(from); i++)
                if (jv_str(jv_at(from, i)) && !env_has_key(to, jv_str(jv_at(from, i))))
                        jv_append(to, jv_copy(jv_at(from, i)));
}

static void merge_command(struct jv *user, const struct jv *image)
{
        if (jv_len(jv_get(user, "Entrypoint")) > 0)
                return;
        if (jv_len(jv_get(user, "Cmd")) == 0) {
                jv_set(user, "Cmd", jv_copy(jv_get(image, "Cmd")));
                if (jv_get(image, "Shell"))
                        jv_set(user, "Shell", jv_copy(jv_get(image, "Shell")));
        }
        if (!jv_get(user, "Entrypoint"))
                jv_set(user, "Entrypoint", jv_copy(jv_get(image, "Entrypoint")));
}

static void merge_health(struct jv *user, const struct jv *image)
{
        static const char *const durations[] = {"Interval", "Timeout", "StartPeriod",
                                                "StartInterval", "Retries"};
        const struct jv *from = jv_get(image, "Healthcheck");
        struct jv *to = jv_get(user, "Healthcheck");

        if (!from)
                return;
        if (!to || jv_type(to) != JV_OBJECT) {
                jv_set(user, "Healthcheck", jv_copy(from));
                return;
        }
        if (jv_len(jv_get(to, "Test")) == 0 && jv_get(from, "Test"))
                jv_set(to, "Test", jv_copy(jv_get(from, "Test")));
        for (size_t i = 0; i < ARRAY_SIZE(durations); i++)
                if (jv_get_int(to, durations[i], 0) == 0 && jv_get(from, durations[i]))
                        jv_set(to, durations[i], jv_copy(jv_get(from, durations[i])));
}

/* Drops JSON nulls, which Go's encoder would not write for an image either. */
static struct jv *without_nulls(const struct jv *cfg)
{
        struct jv *out = jv_new_object();
        _cleanup_strv_ char **keys = jv_keys(cfg);

        for (char **k = keys; out && k && *k; k++)
                if (jv_get(cfg, *k))
                        jv_set(out, *k, jv_copy(jv_get(cfg, *k)));
        return out;
}

/* The new image's config: the container's, its image's merged in as Docker does, then the
 * --change lines. */
static int commit_config(const struct jv *container_cfg, const struct jv *image_cfg,
                         char *const *changes, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = without_nulls(container_cfg);
        int r;

        if (!cfg)
                return err_set(err, -ENOMEM, "building the image config");
        for (size_t i = 0; i < ARRAY_SIZE(container_only); i++)
                jv_del(cfg, container_only[i]);
        take_if_empty(cfg, image_cfg, "User");
        union_keys(cfg, image_cfg, "ExposedPorts", false);
        merge_env(cfg, image_cfg);
        union_keys(cfg, image_cfg, "Labels", true);
        merge_command(cfg, image_cfg);
        merge_health(cfg, image_cfg);
        take_if_empty(cfg, image_cfg, "WorkingDir");
        union_keys(cfg, image_cfg, "Volumes", false);
        take_if_empty(cfg, image_cfg, "StopSignal");
        r = imgconfig_apply_changes(cfg, changes, err);
        if (r < 0)
                return r;
        *ret = without_nulls(cfg);
        return *ret ? 0 : err_set(err, -ENOMEM, "building the image config");
}

/* Docker records the container's Cmd, joined by blanks, as the step that made the layer. */
static char *created_by(const struct jv *container_cfg)
{
        const struct jv *cmd = jv_get(container_cfg, "Cmd");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < jv_len(cmd); i++)
                fprintf(f, "%s%s", i ? " " : "", jv_str(jv_at(cmd, i)) ?: "");
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

struct child {
        const struct jv *parent; /* the parent image's config document */
        const char *parent_id;   /* "" when the parent is unknown */
        const char *diff_id;     /* NULL: nothing changed, the history entry is an empty layer */
        const char *created_by, *author, *comment;
};

static struct jv *child_history(const struct child *c, const char *now)
{
        const struct jv *old = jv_get(c->parent, "history");
        struct jv *hist = jv_type(old) == JV_ARRAY ? jv_copy(old) : jv_new_array();
        struct jv *h = jv_new_object();

        jv_set_str(h, "created", now);
        if (!str_empty(c->created_by))
                jv_set_str(h, "created_by", c->created_by);
        if (!str_empty(c->author))
                jv_set_str(h, "author", c->author);
        if (!str_empty(c->comment))
                jv_set_str(h, "comment", c->comment);
        if (!c->diff_id)
                jv_set_bool(h, "empty_layer", true);
        jv_append(hist, h);
        return hist;
}

/* Docker's NewChildImage: platform and layers from the parent, the new config, the parent's
 * history plus one entry. The parent id is kept ("parent") so history can name it. */
static struct jv *child_doc(const struct child *c, struct jv *config)
{
        static const char *const inherited[] = {"architecture", "variant", "os", "os.version",
                                                "os.features"};
        struct jv *doc = jv_new_object(), *rootfs = jv_new_object();
        const struct jv *ids = jv_path(c->parent, "rootfs.diff_ids");
        struct jv *new_ids = jv_type(ids) == JV_ARRAY ? jv_copy(ids) : jv_new_array();
        char now[40], buf[80]; /* "sha256:" + 64 hex */

        util_format_time(util_now_ns(), now);
        for (size_t i = 0; i < ARRAY_SIZE(inherited); i++)
                if (jv_get(c->parent, inherited[i]))
                        jv_set(doc, inherited[i], jv_copy(jv_get(c->parent, inherited[i])));
        if (!str_empty(c->author))
                jv_set_str(doc, "author", c->author);
        jv_set(doc, "config", config);
        jv_set_str(doc, "created", now);
        jv_set(doc, "history", child_history(c, now));
        if (*c->parent_id) {
                snprintf(buf, sizeof(buf), "sha256:%s", c->parent_id);
                jv_set_str(doc, "parent", buf);
        }
        if (c->diff_id) {
                snprintf(buf, sizeof(buf), "sha256:%s", c->diff_id);
                jv_append(new_ids, jv_new_string(buf));
        }
        jv_set_str(rootfs, "type", "layers");
        jv_set(rootfs, "diff_ids", new_ids);
        jv_set(doc, "rootfs", rootfs);
        return doc;
}

/* ---- commit ---- */

struct commit_opts {
        char *author, *message;
        char **changes;
        bool pause, no_pause;
};

static const struct opt_def commit_defs[] = {
        {"author", 'a', OPT_STR, offsetof(struct commit_opts, author)},
        {"change", 'c', OPT_LIST, offsetof(struct commit_opts, changes)},
        {"message", 'm', OPT_STR, offsetof(struct commit_opts, message)},
        {"pause", 'p', OPT_BOOL, offsetof(struct commit_opts, pause)},
        {"no-pause", 0, OPT_BOOL, offsetof(struct commit_opts, no_pause)},
        OPT_END,
};

static void commit_opts_free(struct commit_opts *o)
{
        opt_free_lists(commit_defs, o);
}

struct freeze {
        const char *id;
        bool frozen;
};

static void freeze_undo(struct freeze *f)
{
        struct err e = {0};

        if (f->frozen && cgroup_freeze(f->id, false, &e) < 0)
                fprintf(stderr, "warning: unpausing container %.12s: %s, ignoring\n", f->id, e.msg);
        f->frozen = false;
}

/* A running container is frozen while its layer is read, so the layer shows one moment of
 * it; a paused one is left as it is, and so is its state document. */
static int freeze(const struct container *c, struct freeze *f, struct err *err)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        int r;

        if (strcmp(container_status(c), "running"))
                return 0;
        f->id = c->id;
        r = cgroup_collect(c->id, pid, err);
        if (r >= 0) {
                /* Set first: a freeze that fails half-way is thawed again. */
                f->frozen = true;
                r = cgroup_freeze(c->id, true, err);
        }
        return r < 0 ? err_wrap(err, "pausing container %.12s", c->id) : 0;
}

/* An anonymous file under --root/tmp, on the store's filesystem, for the layer tar. */
static int layer_tmpfile(const struct cli *cli, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "tmp");
        _cleanup_free_ char *path = NULL;
        int fd, r;

        if (!dir)
                return err_set(err, -ENOMEM, "creating a temporary file");
        r = fs_mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
                return fd >= 0 ? fd : err_errno(err, "creating a temporary file in %s", dir);
        path = util_printf("%s/commit-XXXXXX", dir);
        if (!path)
                return err_set(err, -ENOMEM, "creating a temporary file");
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "creating a temporary file in %s", dir);
        (void)unlink(path);
        return fd;
}

static void stage_freep(char **stage)
{
        if (*stage)
                layer_discard(*stage);
        free(*stage);
}

/* The layer tar of a commit: a temporary file, its entry count and digest. */
struct snap {
        int fd;
        size_t n;
        char diff_id[65];
};

static void snap_done(struct snap *s)
{
        closep(&s->fd);
}

/* Writes the container's changes as a layer tar to s->fd. The container is frozen only
 * while its upper dir is read. */
static int snapshot(const struct target *t, bool pause, struct snap *s, struct err *err)
{
        _cleanup_(freeze_undo) struct freeze f = {0};
        _cleanup_free_ char *state = util_printf("%s/state.json", t->c->dir);
        struct commit_filter flt = target_filter(t);
        int r = state ? 0 : err_set(err, -ENOMEM, "committing container %.12s", t->c->id);

        if (r >= 0 && pause)
                r = freeze(t->c, &f, err);
        util_test_kill_point("commit-frozen");
        if (r >= 0)
                r = commit_write_layer(t->upper, t->lowers, &flt, s->fd, &s->n, s->diff_id, err);
        freeze_undo(&f);
        /* `rm -f` does not wait for our lock: a container that went meanwhile left a torn
         * layer behind (or none, when it went while being frozen). */
        if (access(state, F_OK) < 0)
                return err_set(err, -ENOENT, "container %.12s was removed during the commit",
                               t->c->id);
        return r;
}

/* Stages the layer tar; *ret_stage stays NULL when nothing changed or when the store holds
 * that layer already (committing the same changes twice). */
static int stage_layer(const struct cli *cli, const struct snap *s, char **ret_stage,
                       struct err *err)
{
        *ret_stage = NULL;
        if (s->n == 0 || image_has_layer(cli, s->diff_id))
                return 0;
        if (lseek(s->fd, 0, SEEK_SET) < 0)
                return err_errno(err, "rewinding the layer");
        return image_stage_layer(cli, s->fd, ret_stage, NULL, err);
}

/* A stand-in for the config of an image that was force-removed while the container kept
 * its layers: those layers (named by diff id in LowerDir), the host platform, no parent. */
static int image_standin(const struct target *t, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *doc = jv_new_object();
        struct jv *rootfs = jv_new_object(), *ids = jv_new_array(), *hist = jv_new_array();
        size_t n = util_strv_len(t->lowers);

        if (!doc || !rootfs || !ids || !hist) {
                jv_put(rootfs);
                jv_put(ids);
                jv_put(hist);
                return err_set(err, -ENOMEM, "committing container %.12s", t->c->id);
        }
        jv_set(doc, "history", hist);
        jv_set(rootfs, "diff_ids", ids);
        jv_set_str(rootfs, "type", "layers");
        jv_set(doc, "rootfs", rootfs);
        jv_set_str(doc, "architecture", imgconfig_host_arch());
        jv_set_str(doc, "os", "linux");
        for (size_t i = n; i-- > 0;) {
                /* .../layers/<diff-id>/diff */
                const char *end = t->lowers[i] + strlen(t->lowers[i]) - strlen("/diff");
                const char *start = end - 64;
                struct jv *h;
                char id[80];

                if (end < t->lowers[i] + 65 || strcmp(end, "/diff") || start[-1] != '/' ||
                    strspn(start, "0123456789abcdef") != 64)
                        return err_set(err, -ENOENT,
                                       "cannot commit container %.12s: its image is gone and "
                                       "layer %s is not from the image store",
                                       t->c->id, t->lowers[i]);
                snprintf(id, sizeof(id), "sha256:%.64s", start);
                jv_append(ids, jv_new_string(id));
                /* One entry per layer keeps history's sizes on the right lines. */
                h = jv_new_object();
                jv_set_str(h, "created", "0001-01-01T00:00:00Z");
                jv_append(hist, h);
        }
        *ret = TAKE_PTR(doc);
        return 0;
}

/* The container's image: its id and config document; when the image is gone, ret_id is
 * "" and the document a stand-in. */
static int image_of(const struct cli *cli, const struct target *t, char ret_id[65], struct jv **ret,
                    struct err *err)
{
        const char *img = jv_get_str(t->c->doc, "Image");
        const char *hex = img && !strncmp(img, "sha256:", 7) ? img + 7 : img;
        int r;

        if (!hex || strlen(hex) != 64)
                return err_set(err, -EINVAL, "container %.12s names no image", t->c->id);
        r = image_load_config(cli, hex, ret, err);
        if (r == -ENOENT) {
                err_clear(err);
                ret_id[0] = '\0';
                return image_standin(t, ret, err);
        }
        if (r < 0)
                return err_wrap(err, "committing container %.12s", t->c->id);
        memcpy(ret_id, hex, 65);
        return 0;
}

/* Reads the layer under the container's lock: a second commit, pause or start waits. */
static int commit_layer(const struct cli *cli, const struct commit_opts *o, struct target *t,
                        char ret_parent[65], struct jv **ret_parent_doc, struct snap *snap,
                        struct err *err)
{
        _cleanup_close_ int lock = -1;
        int r;

        lifecycle_heal_freeze(t->c);
        r = lock = container_lock(t->c, err);
        if (r >= 0)
                r = container_reload(t->c, err);
        if (r >= 0)
                r = check_alive(t->c, "commit", err);
        if (r >= 0)
                r = image_of(cli, t, ret_parent, ret_parent_doc, err);
        if (r >= 0)
                r = snapshot(t, o->pause && !o->no_pause, snap, err);
        return r;
}

static int do_commit(struct cli *cli, const struct commit_opts *o, const char *cref,
                     const char *ref, struct err *err)
{
        _cleanup_(target_done) struct target t = {0};
        _cleanup_jv_ struct jv *check = jv_new_object(), *parent = NULL, *cfg = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_free_ char *norm = NULL, *by = NULL;
        _cleanup_(stage_freep) char *stage = NULL;
        _cleanup_(snap_done) struct snap snap = {.fd = -1};
        char parent_id[65], id[65];
        char *stages[2] = {NULL, NULL};
        int r;

        /* Bad references and changes are refused before any work is done. */
        r = ref ? imgconfig_normalize_reference(ref, &norm, err) : 0;
        if (r >= 0)
                r = check ? imgconfig_apply_changes(check, o->changes, err)
                          : err_set(err, -ENOMEM, "committing");
        if (r >= 0)
                r = target_open(cli, cref, "commit", true, &t, err);
        if (r >= 0)
                r = snap.fd = layer_tmpfile(cli, err);
        if (r >= 0)
                r = commit_layer(cli, o, &t, parent_id, &parent, &snap, err);
        if (r >= 0)
                r = stage_layer(cli, &snap, &stage, err);
        if (r >= 0)
                r = commit_config(jv_get(t.c->doc, "Config"), jv_get(parent, "config"), o->changes,
                                  &cfg, err);
        if (r < 0)
                return r;
        by = created_by(jv_get(t.c->doc, "Config"));
        doc = child_doc(&(struct child){.parent = parent,
                                        .parent_id = parent_id,
                                        .diff_id = snap.n ? snap.diff_id : NULL,
                                        .created_by = by,
                                        .author = o->author,
                                        .comment = o->message},
                        TAKE_PTR(cfg));
        if (!by || !doc)
                return err_set(err, -ENOMEM, "building the image config");
        /* image_create consumes the stage, also when it fails. */
        stages[0] = TAKE_PTR(stage);
        r = image_create(cli, doc, stages[0] ? stages : NULL, norm, id, err);
        free(stages[0]);
        if (r < 0)
                return r;
        printf("sha256:%s\n", id);
        return 0;
}

int commit_cmd_commit(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_(commit_opts_free) struct commit_opts o = {.pause = true};
        int n = opt_parse(commit_defs, argc - 1, argv + 1, false, &o, err);

        if (n < 0)
                return cli_usage_error(cli, "commit", err, "%s", err->msg);
        if (n < 1 || n > 2)
                return cli_usage_error(cli, "commit", err,
                                       "\"hawser commit\" requires at least 1 and at most 2 "
                                       "arguments.");
        return do_commit(cli, &o, argv[1], n == 2 ? argv[2] : NULL, err);
}

/* ---- diff ---- */

int commit_cmd_diff(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        _cleanup_(target_done) struct target t = {0};
        struct commit_change *v = NULL;
        struct commit_filter f;
        size_t n = 0;
        int k = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r;

        if (k < 0)
                return cli_usage_error(cli, "diff", err, "%s", err->msg);
        if (k != 1)
                return cli_usage_error(cli, "diff", err,
                                       "\"hawser diff\" requires exactly 1 argument.");
        r = target_open(cli, argv[1], "diff", false, &t, err);
        if (r < 0)
                return r;
        f = target_filter(&t);
        r = commit_changes(t.upper, t.lowers, &f, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                printf("%c %s\n", v[i].kind, v[i].path);
        commit_changes_free(v, n);
        return fflush(stdout) == 0 ? 0 : err_errno(err, "writing the changes");
}

/* ---- export ---- */

/* As the Docker CLI does: a temporary file next to the target, renamed over it at the end,
 * so a failed export leaves no half-written archive. */
static int export_to_file(const struct target *t, const char *out, struct err *err)
{
        _cleanup_free_ char *copy = strdup(out), *tmp = NULL;
        struct commit_filter f = target_filter(t);
        const char *slash;
        int fd, r;

        if (!copy)
                return err_set(err, -ENOMEM, "exporting");
        slash = strrchr(copy, '/');
        tmp = slash ? util_printf("%.*s/.hawser_temp_XXXXXX", (int)(slash - copy), copy)
                    : strdup(".hawser_temp_XXXXXX");
        if (!tmp)
                return err_set(err, -ENOMEM, "exporting");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "failed to export container: creating a file next to %s",
                                 out);
        r = commit_write_flat(t->upper, t->lowers, &f, fd, err);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = err_errno(err, "setting the mode of %s", tmp);
        if (close(fd) < 0 && r >= 0)
                r = err_errno(err, "writing %s", tmp);
        if (r >= 0 && rename(tmp, out) < 0)
                r = err_errno(err, "failed to export container: renaming to %s", out);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int commit_cmd_export(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *output;
        } o = {0};
        static const struct opt_def defs[] = {
                {"output", 'o', OPT_STR, 0},
                OPT_END,
        };
        _cleanup_(target_done) struct target t = {0};
        struct commit_filter f;
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (n < 0)
                return cli_usage_error(cli, "export", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "export", err,
                                       "\"hawser export\" requires exactly 1 argument.");
        if (!o.output && isatty(STDOUT_FILENO))
                return err_set(err, -EINVAL,
                               "cowardly refusing to save to a terminal. Use the "
                               "-o flag or redirect");
        r = target_open(cli, argv[1], "export", true, &t, err);
        if (r < 0)
                return r;
        if (o.output)
                return export_to_file(&t, o.output, err);
        f = target_filter(&t);
        return commit_write_flat(t.upper, t.lowers, &f, STDOUT_FILENO, err);
}

/* ---- history ---- */

struct history_opts {
        bool human, quiet, no_trunc;
        char *format;
};

static const struct opt_def history_defs[] = {
        {"human", 'H', OPT_BOOL, offsetof(struct history_opts, human)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct history_opts, quiet)},
        {"no-trunc", 0, OPT_BOOL, offsetof(struct history_opts, no_trunc)},
        {"format", 0, OPT_STR, offsetof(struct history_opts, format)},
        OPT_END,
};

/* One history entry as the daemon reports it. */
struct hist_row {
        char id[72];                      /* "sha256:<hex>" or "<missing>" */
        int64_t created;                  /* seconds */
        const char *created_by, *comment; /* borrowed from the config */
        long long size;
};

char *commit_ellipsis(const char *s, size_t width)
{
        size_t runes = 0, cut = 0;

        for (const char *p = s; *p; p++) {
                if (((unsigned char)*p & 0xc0) == 0x80)
                        continue;
                if (runes == width - 1)
                        cut = (size_t)(p - s);
                runes++;
        }
        if (width == 0 || runes <= width)
                return strdup(width ? s : "");
        return util_printf("%.*s…", (int)cut, s);
}

/* Go's time.Unix(sec, 0).Format(time.RFC3339), in the local zone. */
static void rfc3339_local(int64_t sec, char out[40])
{
        time_t t = (time_t)sec;
        struct tm tm;
        size_t n;
        long off;

        if (!localtime_r(&t, &tm)) {
                snprintf(out, 40, "0001-01-01T00:00:00Z");
                return;
        }
        n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff;
        if (off == 0)
                snprintf(out + n, 40 - n, "Z");
        else
                snprintf(out + n, 40 - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                         labs(off) % 3600 / 60);
}

static long long layer_size(const struct cli *cli, const char *diff_id)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "layers/%s", diff_id);
        struct err ignored = {0};
        long long v = 0;

        if (dir && layer_read_size(dir, "content-size", &v, &ignored) < 0)
                (void)layer_read_size(dir, "size", &v, &ignored);
        return v;
}

/* The entries, newest first, with layer sizes; ids are filled in by history_ids. */
static int history_rows(const struct cli *cli, const struct jv *cfg, struct hist_row **ret,
                        size_t *ret_n, struct err *err)
{
        const struct jv *hist = jv_get(cfg, "history");
        _cleanup_strv_ char **ids = NULL;
        size_t n = jv_len(hist), layer = 0;
        struct hist_row *rows = calloc(n ? n : 1, sizeof(*rows));
        int r = imgconfig_diff_ids(cfg, &ids, err);

        if (r < 0 || !rows) {
                free(rows);
                return r < 0 ? r : err_set(err, -ENOMEM, "reading the history");
        }
        for (size_t i = 0; i < n; i++) {
                const struct jv *h = jv_at(hist, i);
                struct hist_row *row = &rows[n - 1 - i];
                const char *created = jv_get_str(h, "created");
                int64_t ns = 0;

                snprintf(row->id, sizeof(row->id), "<missing>");
                if (created && util_parse_time(created, &ns) >= 0)
                        row->created = ns / 1000000000;
                row->created_by = jv_get_str(h, "created_by") ?: "";
                row->comment = jv_get_str(h, "comment") ?: "";
                if (!jv_get_bool(h, "empty_layer") && ids[layer])
                        row->size = layer_size(cli, ids[layer++]);
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

/* Docker's walk: the newest entry is the image, the next its parent, and so on while the
 * parents are known; the rest stay "<missing>". */
static void history_ids(const struct cli *cli, const char *id, const struct jv *cfg,
                        struct hist_row *rows, size_t n)
{
        _cleanup_jv_ struct jv *cur = NULL;
        char hex[65];

        memcpy(hex, id, 65);
        for (size_t i = 0; i < n; i++) {
                const char *parent = jv_get_str(i ? cur : cfg, "parent");
                struct jv *next = NULL;
                struct err ignored = {0};

                snprintf(rows[i].id, sizeof(rows[i].id), "sha256:%s", hex);
                if (!parent || strncmp(parent, "sha256:", 7) || strlen(parent + 7) != 64)
                        break;
                memcpy(hex, parent + 7, 65);
                if (image_load_config(cli, hex, &next, &ignored) < 0)
                        break;
                jv_put(cur);
                cur = next;
        }
}

static struct jv *row_ctx(const struct hist_row *row, const struct history_opts *o, int64_t now)
{
        struct jv *ctx = jv_new_object();
        _cleanup_free_ char *by = NULL, *tabless = strdup(row->created_by);
        char at[40], since[64], size[32];

        if (!ctx || !tabless) {
                jv_put(ctx);
                return NULL;
        }
        for (char *p = tabless; *p; p++)
                if (*p == '\t')
                        *p = ' ';
        by = o->no_trunc ? strdup(tabless) : commit_ellipsis(tabless, 45);
        rfc3339_local(row->created, at);
        util_human_duration(now - row->created * 1000000000, since, sizeof(since) - 4);
        strcat(since, " ago");
        if (o->human)
                util_human_size_prec(row->size, 3, size, sizeof(size));
        else
                snprintf(size, sizeof(size), "%lld", row->size);
        /* stringid.TruncateID: the hex without "sha256:", 12 digits. */
        if (o->no_trunc || row->id[0] == '<')
                jv_set_str(ctx, "ID", row->id);
        else
                jv_set(ctx, "ID", jv_new_stringn(row->id + 7, 12));
        jv_set_str(ctx, "CreatedSince", o->human ? since : at);
        jv_set_str(ctx, "CreatedAt", at);
        jv_set_str(ctx, "CreatedBy", by ? by : "");
        jv_set_str(ctx, "Size", size);
        jv_set_str(ctx, "Comment", row->comment);
        return ctx;
}

static struct jv *history_header(void)
{
        struct jv *h = jv_new_object();

        jv_set_str(h, "ID", "IMAGE");
        jv_set_str(h, "CreatedSince", "CREATED");
        jv_set_str(h, "CreatedAt", "CREATED AT");
        jv_set_str(h, "CreatedBy", "CREATED BY");
        jv_set_str(h, "Size", "SIZE");
        jv_set_str(h, "Comment", "COMMENT");
        return h;
}

/* docker/cli's NewHistoryFormat. */
static const char *history_format(const struct history_opts *o)
{
        if (o->format && *o->format && strcmp(o->format, "table"))
                return o->format;
        if (o->quiet)
                return "{{.ID}}";
        if (!o->human)
                return "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
        return "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
}

static int emit_row(const struct template *t, const struct jv *ctx, struct table *tw,
                    struct err *err)
{
        _cleanup_free_ char *line = NULL;
        int r;

        if (!t) {
                printf("%s\n", jv_to_string(ctx, false));
                return 0;
        }
        r = template_render(t, ctx, &line, err);
        if (r < 0)
                return r;
        if (tw)
                return table_add_row(tw, line) < 0 ? err_set(err, -ENOMEM, "printing") : 0;
        printf("%s\n", line);
        return 0;
}

static int print_history(const struct hist_row *rows, size_t n, const struct history_opts *o,
                         struct err *err)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_table_ struct table *tw = NULL;
        _cleanup_jv_ struct jv *header = NULL;
        const char *fmt = history_format(o), *body = fmt;
        int64_t now = util_now_ns();
        int r = 0;

        if (template_is_table(fmt, &body)) {
                tw = table_new();
                header = history_header();
                if (!tw || !header)
                        return err_set(err, -ENOMEM, "printing the history");
        }
        if (strcmp(fmt, "json"))
                r = template_parse(body, &t, err);
        if (r >= 0 && tw)
                r = emit_row(t, header, tw, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_jv_ struct jv *ctx = row_ctx(&rows[i], o, now);
                r = ctx ? emit_row(t, ctx, tw, err) : err_set(err, -ENOMEM, "printing");
        }
        if (r >= 0 && tw && table_print(tw, stdout) < 0)
                return err_set(err, -EIO, "printing the history");
        return r;
}

int commit_cmd_history(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct history_opts o = {.human = true};
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_free_ struct hist_row *rows = NULL;
        size_t n = 0;
        char id[65];
        int k = opt_parse(history_defs, argc - 1, argv + 1, false, &o, err), r;

        if (k < 0)
                return cli_usage_error(cli, "history", err, "%s", err->msg);
        if (k != 1)
                return cli_usage_error(cli, "history", err,
                                       "\"hawser history\" requires exactly 1 argument.");
        r = image_resolve(cli, argv[1], id, err);
        if (r >= 0)
                r = image_load_config(cli, id, &cfg, err);
        if (r >= 0)
                r = history_rows(cli, cfg, &rows, &n, err);
        if (r < 0)
                return r;
        history_ids(cli, id, cfg, rows, n);
        return print_history(rows, n, &o, err);
}
