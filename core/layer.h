#pragma once
#include <stdbool.h>

#include "base/err.h"

/* Layer tarballs: content-addressed extraction (libarchive lives only in layer.c).
 *
 * A staged or stored layer directory holds:
 *   diff/          the extracted tree, overlay-ready (whiteouts are 0/0 char devices, opaque
 *                  dirs carry trusted.overlay.opaque=y)
 *   diff-id        the 64-hex sha256 of the uncompressed tar stream
 *   size           the uncompressed tar size in bytes (decimal)
 *   content-size   the apparent size of the extracted files (Docker's layer Size) */

/* What one extraction saw. */
struct layer_stats {
        char diff_id[65];       /* sha256 hex of the whole uncompressed stream */
        long long tar_size;     /* bytes of the uncompressed stream */
        long long content_size; /* regular file sizes (hard links once) plus symlink lengths */
};

/* Reads a tar stream from fd (plain, gzip, bzip2, xz, lzma or zstd, detected by content) and
 * extracts it below the directory dirfd, hashing the uncompressed bytes on the way. Paths
 * are resolved component by component from dirfd without following symlinks; absolute
 * paths lose their leading '/', entries with ".." and hard links leaving the tree are
 * refused. Whiteouts become overlay whiteouts. dirfd must be opened for reading (the opaque
 * xattr of the root is set through it). Messages name the entry, not the input. -EINVAL on a corrupt, truncated or hostile archive; other -errno from the
 * filesystem. On failure dirfd may hold a partial tree: the caller removes it. */
int layer_extract(int fd, int dirfd, struct layer_stats *ret, struct err *err);

/* Extracts fd into a new staging directory tmp_dir/layer-XXXXXX (tmp_dir is created when
 * missing) and writes its diff-id and size files. *ret_stage is malloc'd; the caller
 * passes it to layer_commit or layer_discard. Nothing is left behind on failure. */
int layer_stage(int fd, const char *tmp_dir, char **ret_stage, struct layer_stats *ret,
                struct err *err);
/* Moves a staged layer to layers_dir/<diff-id> (layers_dir is created when missing). When
 * that layer is already stored the staged copy is removed instead. *ret_created (may be
 * NULL) tells which; ret_diff_id (may be NULL) receives the diff id. */
int layer_commit(const char *stage, const char *layers_dir, bool *ret_created, char ret_diff_id[65],
                 struct err *err);
/* Removes a staged layer that will not be committed; errors are ignored. */
void layer_discard(const char *stage);
/* Removes layers_dir/<diff_id>: it is first renamed into tmp_dir so a half-removed layer
 * is never visible under its name. A missing layer is success. */
int layer_remove(const char *layers_dir, const char *tmp_dir, const char *diff_id, struct err *err);
/* Reads a decimal size file of a stored layer ("size" or "content-size"). -ENOENT when
 * the layer or the file is missing. */
int layer_read_size(const char *layer_dir, const char *name, long long *ret, struct err *err);
