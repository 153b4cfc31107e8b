#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "cli.h"
#include "container.h"

/* The engine of `hawser cp` (core/cp.c is the command): a container's files as its processes
 * see them (image layers, writable layer, volumes, binds, tmpfs mounts), reached from the
 * host through one directory descriptor of the container's "/". Every path is resolved
 * below it with openat2(RESOLVE_IN_ROOT) or one O_NOFOLLOW component at a time, so no
 * symlink or ".." in the container ever leads out of it; nothing runs inside the container
 * and no library is ever loaded from its files. What Docker's daemon does for `docker cp`
 * (ContainerStatPath, ContainerArchivePath, ContainerExtractToDir) is here, with its
 * messages; Docker's path helpers (Go's filepath rules) are shared with the command. */

struct cp_view {
        int root;        /* the container's "/", O_PATH */
        int ns;          /* the mount namespace root lies in, held so its mounts stay */
        int lock;        /* the container's lock while its layers are mounted for us; -1 */
        const char *ref; /* the container as the user named it, for messages */
};

/* Opens container c's files. A running (or paused) container is reached through its init's
 * mount namespace, the init checked to be c's (a helper joins it just long enough to open
 * "/"). Any other container's layers, volumes, binds, tmpfs mounts and hosts files are
 * mounted by a helper in a private mount namespace made for the copy, under the container's
 * lock (a start waits until cp_view_close): nothing is mounted where the host or another
 * process sees it, and when the view is closed (or this process dies) the namespace and
 * all its mounts go. ref names c in messages and must outlive the view. */
int cp_view_open(const struct cli *cli, struct container *c, const char *ref, struct cp_view *ret,
                 struct err *err);
void cp_view_close(struct cp_view *v);

/* What Docker's ContainerStatPath tells of a path. */
struct cp_stat {
        mode_t mode; /* lstat's: a symlink is a symlink (unless the path ends in '/') */
        char *link;  /* for a symlink, where it leads: every link followed inside the root,
                        components that do not exist kept (malloc'd; NULL otherwise) */
};
/* Docker's ContainerStatPath: path (relative paths start at "/") as lstat sees it. -ENOENT
 * "Could not find the file PATH in container REF"; other errors "lstat PATH: REASON". */
int cp_view_stat(const struct cp_view *v, const char *path, struct cp_stat *ret, struct err *err);
void cp_stat_done(struct cp_stat *st);

/* The resource a copy reads: an entry name of a directory, or (name "") the directory. */
struct cp_source {
        int pfd;    /* owned */
        char *name; /* malloc'd; "" when pfd is the resource itself */
        char *base; /* the name Docker gives it in its archive (filepath.Base of the path) */
        bool dir;
};
/* Docker's ContainerArchivePath up to the archive: the path made absolute (a trailing "/"
 * or "/." kept) and looked at as lstat does. Errors as cp_view_stat, the not-found one
 * naming path as given. */
int cp_view_source(const struct cp_view *v, const char *path, struct cp_source *ret,
                   struct err *err);
/* The same for a host path (absolute): its parent's symlinks are the host's to follow. */
int cp_host_source(const char *path, struct cp_source *ret, struct err *err);
void cp_source_done(struct cp_source *s);
/* Writes src as a tar to fd, its top entry named as (NULL: src->base; "/" as "."), what
 * lies below a directory after it; the contents of kernel filesystems left out. *ret_size
 * (may be NULL) gets the bytes written. */
int cp_archive(const struct cp_source *src, const char *as, int fd, long long *ret_size,
               struct err *err);

/* Docker's ContainerExtractToDir up to the extraction: dir (relative paths start at "/")
 * with every symlink followed inside the root must be a directory on a writable mount.
 * *ret_fd is it (O_RDONLY), *ret_shown its path as messages name it (malloc'd). -ENOENT
 * "Could not find the file DIR in container REF", -ENOTDIR "extraction point is not a
 * directory", -EROFS "container rootfs is marked read-only" or "mounted volume is marked
 * read-only". */
int cp_view_dest(const struct cp_view *v, const char *dir, int *ret_fd, char **ret_shown,
                 struct err *err);

/* Go's filepath.EvalSymlinks inside root (an O_PATH directory, "/" of what path names):
 * path (absolute) with every symlink followed, never above root, at most 255 steps.
 * must_exist: a missing component is -ENOENT "lstat P: no such file or directory" (Go's
 * EvalSymlinks); else it is kept as it is (Docker's FollowSymlinkInScope). *ret is
 * malloc'd. */
int cp_eval_links(int root, const char *path, bool must_exist, char **ret, struct err *err);

/* Go's path rules as Docker's archive package uses them; results are malloc'd (NULL when
 * out of memory). */
char *cp_path_clean(const char *p);          /* filepath.Clean */
char *cp_path_base(const char *p);           /* filepath.Base */
bool cp_path_asserts_dir(const char *p);     /* ends in '/' or names "." */
char *cp_path_keep_tail(const char *cleaned, /* PreserveTrailingDotOrSeparator */
                        const char *orig);
/* archive.SplitPathDirEntry: the directory and the entry, a trailing "." kept as the entry. */
int cp_path_split(const char *p, char **ret_dir, char **ret_base);
