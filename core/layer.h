#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

/* Layer tarballs: content-addressed extraction (libarchive lives only in layer.c).
 *
 * A staged or stored layer directory holds:
 *   diff/          the extracted tree, overlay-ready (whiteouts are 0/0 char devices, opaque
 *                  dirs carry trusted.overlay.opaque=y)
 *   diff-id        the 64-hex sha256 of the uncompressed tar stream
 *   size           the uncompressed tar size in bytes (decimal)
 *   content-size   the apparent size of the extracted files (Docker's layer Size)
 *   tar-split      what reproduces the original tar from diff/ (core/tarsplit.h); absent
 *                  for layers stored before it was kept and for streams it cannot describe */

#define LAYER_SPLIT_FILE "tar-split"

/* What one extraction saw. */
struct layer_stats {
        char diff_id[65];       /* sha256 hex of the whole uncompressed stream */
        long long tar_size;     /* bytes of the uncompressed stream */
        long long content_size; /* regular file sizes (hard links once) plus symlink lengths */
        /* layer_extract_divert only: sha256 hex and size of the entry's bytes as stored
         * (compressed or not); elsewhere the diff id and tar size. */
        char blob[65];
        long long blob_size;
};

/* Reads a tar stream from fd (plain, gzip, bzip2, xz, lzma or zstd, detected by content) and
 * extracts it below the directory dirfd, hashing the uncompressed bytes on the way. Paths
 * are resolved component by component from dirfd without following symlinks; absolute
 * paths lose their leading '/', entries with ".." and hard links leaving the tree are
 * refused. Whiteouts become overlay whiteouts. dirfd must be opened for reading (the opaque
 * xattr of the root is set through it). Messages name the entry, not the input. -EINVAL on a corrupt, truncated or hostile archive; other -errno from the
 * filesystem. On failure dirfd may hold a partial tree: the caller removes it. */
int layer_extract(int fd, int dirfd, struct layer_stats *ret, struct err *err);

/* A layer found inside an image archive by layer_extract_divert. */
struct layer_diverted {
        const char *path; /* the entry's name in the archive */
        dev_t dev;        /* of the empty file left at that path */
        ino_t ino;
        char *stage; /* the staged layer (malloc'd; the callback takes it), or NULL */
        struct layer_stats stats;
        const char *error; /* why the entry could not be staged, when stage is NULL */
};

struct layer_divert {
        const char *tmp_dir; /* where layers are staged, as for layer_stage */
        /* Called for each layer; a negative return stops the extraction with that error. */
        int (*taken)(void *ud, struct layer_diverted *d, struct err *err);
        void *ud;
};

/* Extracts an image archive (docker save / OCI layout tar) read from fd below dirfd as
 * layer_extract does, except that each regular file whose content is a tar, plain or
 * compressed (gzip, bzip2, xz, zstd), is staged as a layer straight from the stream (read
 * once: stored-bytes digest, diff id and extraction in one pass) and an empty file is left
 * in its place. Sparse entries are refused. The archive itself is not hashed. */
int layer_extract_divert(int fd, int dirfd, const struct layer_divert *d, struct err *err);

/* Who owns what layer_untar writes. */
enum layer_owner {
        LAYER_OWNER_TAR,  /* the archive's uid and gid */
        LAYER_OWNER_ROOT, /* uid 0 and gid 0 */
        LAYER_OWNER_SELF, /* the caller's: nothing is chowned */
        LAYER_OWNER_IDS,  /* struct layer_untar's uid and gid */
};

/* How layer_untar writes (Docker's archive.Untar for `cp`, with NoOverwriteDirNonDir). */
struct layer_untar {
        const char *dest; /* the destination as messages name it ("/data") */
        enum layer_owner owner;
        uid_t uid; /* LAYER_OWNER_IDS */
        gid_t gid;
};

/* What one layer_untar created, so that it can be taken back (layer_undo). */
struct layer_undo;

/* Extracts a tar stream read from fd (plain or compressed, as layer_extract) below dirfd
 * the way `docker cp` does, not as a layer: ".wh." names are plain files, nothing is
 * hashed, missing parents are made 0755, an existing directory is never replaced by a
 * non-directory nor the reverse (-EEXIST with Docker's "cannot overwrite directory \"P\" with
 * non-directory \"D\"" or "cannot overwrite non-directory ..."). Paths are resolved as
 * layer_extract does (no symlink followed, nothing outside dirfd). Each regular file is
 * written under a temporary name and renamed into place, so a file that fails is never
 * left half-written. On failure what this call created is removed again; on success
 * *ret_undo (may be NULL: dropped) lists it for layer_undo. *ret_size (may be NULL) gets the
 * bytes of the uncompressed stream read, also on failure. */
int layer_untar(int fd, int dirfd, const struct layer_untar *o, struct layer_undo **ret_undo,
                long long *ret_size, struct err *err);
/* Removes what the extraction created below dirfd (the same directory), newest first, and
 * frees u; errors are ignored. NULL is fine. */
void layer_undo(int dirfd, struct layer_undo *u);
/* Frees u, keeping what it lists. */
void layer_undo_free(struct layer_undo *u);

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
