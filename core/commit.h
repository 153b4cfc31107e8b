#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* A container's filesystem changes: its overlay upper dir read against the image layers,
 * for `commit`, `diff` and `export`. Layer trees are never followed: every entry is opened
 * with O_NOFOLLOW from its parent's descriptor, so a container that swaps a directory for
 * a symlink while it runs cannot send us outside its layers. Whiteouts are 0/0 character
 * devices and opaque directories carry trusted.overlay.opaque=y, as overlayfs and layer.c
 * make them. Lower layers are given topmost first (NULL-terminated, may be empty). */

/* One line of `diff`. */
struct commit_change {
        char kind;  /* 'A' added, 'C' changed, 'D' deleted */
        char *path; /* absolute inside the container: "/etc/passwd" */
};

/* What of the upper dir is not the container's own work. */
struct commit_filter {
        char *const *mounts; /* mount destinations ("/data"): what lies below them in the
                                upper dir is left out (the mount points themselves stay) */
        bool mount_points;   /* leave out mount destinations the image lacks (empty files
                                and directories) and directories made only to hold them */
        bool runtime;        /* leave out hawser's own mount points: /etc/hosts,
                                /etc/hostname and /etc/resolv.conf as empty files, /proc,
                                /sys and /dev as empty directories the image lacks, and
                                directories copied up only to hold them */
        bool kernel_fs;      /* leave out what lies in a kernel filesystem (proc, sysfs,
                                devpts, cgroup, ...) mounted in the tree: a running
                                container's own; its mount point stays */
};

/* The changes in Docker's order (depth first, names sorted bytewise): a whiteout is 'D',
 * an entry the lower layers have is 'C', others 'A'; a directory is listed only when it or
 * something below it changed. An opaque directory that hides lower content also lists the
 * hidden names directly below it as 'D'. *ret (array of *ret_n) is malloc'd; free it
 * with commit_changes_free. */
int commit_changes(const char *upper, char *const *lowers, const struct commit_filter *f,
                   struct commit_change **ret, size_t *ret_n, struct err *err);
void commit_changes_free(struct commit_change *v, size_t n);

/* Writes the changes as a layer tar to fd (borrowed): the upper dir's entries, whiteouts as
 * empty ".wh.NAME" files (mode 0600, the whiteout's owner), an opaque directory followed
 * by "DIR/.wh..wh..opq" (its permission bits and owner), overlay xattrs dropped, hard
 * links kept. *ret_entries receives the number of tar entries (0: nothing changed);
 * ret_diff_id (may be NULL) the sha256 hex of the bytes written. */
int commit_write_layer(const char *upper, char *const *lowers, const struct commit_filter *f,
                       int fd, size_t *ret_entries, char ret_diff_id[65], struct err *err);

/* Writes the container's whole filesystem to fd as a plain tar: upper and lower layers
 * merged as overlayfs shows them (whiteouts and opaque directories applied, nothing of
 * them written). The filter applies to entries that come from the upper dir. */
int commit_write_flat(const char *upper, char *const *lowers, const struct commit_filter *f, int fd,
                      struct err *err);

/* Writes the tree at pfd/name as a plain tar to fd (borrowed), the way `docker cp` archives
 * a path: the top entry is named as, what lies below a directory "as/..." ("." gives
 * "./..."); name "" is pfd itself, a directory. Symlinks are archived, never followed; every
 * entry is opened from its parent with O_NOFOLLOW; hard links within the tree are kept;
 * sockets are left out, as is what f leaves out (may be NULL). *ret_size (may be NULL) gets
 * the bytes written. */
int commit_write_tree(int pfd, const char *name, const char *as, const struct commit_filter *f,
                      int fd, long long *ret_size, struct err *err);

/* Docker's "…" truncation: s itself (strdup'd) when it has at most width runes, else its
 * first width-1 runes and "…". NULL on allocation failure. */
char *commit_ellipsis(const char *s, size_t width);

/* A child image of parent (Docker's NewChildImage): platform and layers from the parent,
 * config, the parent's history plus one entry. */
struct commit_child {
        const struct jv *parent; /* the parent image's config document */
        const char *parent_id;   /* "" when the parent is unknown */
        const char *diff_id;     /* NULL: nothing changed, the history entry is an empty layer */
        const char *created_by, *author, *comment;
};
/* The child's config document (config is taken). */
struct jv *commit_child_doc(const struct commit_child *c, struct jv *config);
/* Commits container cref's changes (a stopped container of the builder's RUN step) as a
 * child of its image with config (taken) and created_by as history; ret_id the new id.
 * always_layer: a layer even when nothing changed (the empty tar), as Docker's builder. */
int commit_container_as(struct cli *cli, const char *cref, struct jv *config,
                        const char *created_by, bool always_layer, char ret_id[65],
                        struct err *err);

/* Commands (see cli.h for the contract). */
int commit_cmd_commit(struct cli *cli, int argc, char **argv, struct err *err);
int commit_cmd_history(struct cli *cli, int argc, char **argv, struct err *err);
int commit_cmd_diff(struct cli *cli, int argc, char **argv, struct err *err);
int commit_cmd_export(struct cli *cli, int argc, char **argv, struct err *err);
