#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "base/err.h"

/* Writing tar streams (pax, extensions only where needed; the end is not padded to a
 * record, as Go's archive/tar writes it). libarchive is loaded on first use, as in layer.c. */
struct tarwrite;

struct tarwrite_xattr {
        const char *name;
        const void *value;
        size_t size;
};

/* One entry. Times are written in whole seconds, without atime and ctime, so the same tree
 * gives the same bytes. */
struct tarwrite_entry {
        const char *path;      /* relative, no leading '/' */
        const struct stat *st; /* type, permission bits, owner, mtime, size, rdev */
        const char *link;      /* symlink target, or the hard link's target path */
        bool hardlink;         /* link names an earlier entry: written as a hard link */
        int fd;                /* regular files: content, st->st_size bytes are written (short
                                  files are padded with zeros); -1 otherwise */
        const struct tarwrite_xattr *xattrs;
        size_t n_xattrs;
};

/* Starts a stream written to fd (borrowed). -ENOTSUP when libarchive cannot be loaded. */
int tarwrite_open(int fd, struct tarwrite **ret, struct err *err);
/* Appends an entry. Sockets are refused with -EINVAL (callers skip them); -EIO when
 * writing fails, with libarchive's message; other -errno from reading e->fd. */
int tarwrite_add(struct tarwrite *w, const struct tarwrite_entry *e, struct err *err);
/* A regular file whose content the caller writes: the header announces e->st->st_size
 * (e->fd is ignored), tarwrite_write hands over the data in pieces, tarwrite_end checks
 * that exactly that much came and closes the entry. -EIO as tarwrite_add. */
int tarwrite_begin(struct tarwrite *w, const struct tarwrite_entry *e, struct err *err);
int tarwrite_write(struct tarwrite *w, const void *buf, size_t n, struct err *err);
int tarwrite_end(struct tarwrite *w, struct err *err);
/* Hashes every byte written from here on; must come before the first entry. -ENOSYS when
 * libcrypto cannot be loaded. */
int tarwrite_digest_start(struct tarwrite *w, struct err *err);
/* After tarwrite_finish: the sha256 hex of the stream and its size (ret_size may be NULL).
 * -EINVAL when tarwrite_digest_start was not called. */
int tarwrite_digest(struct tarwrite *w, char out[65], long long *ret_size);
/* Writes the end-of-archive marker and flushes; the stream must still be freed. */
int tarwrite_finish(struct tarwrite *w, struct err *err);
/* Entries added so far. */
size_t tarwrite_count(const struct tarwrite *w);
/* Bytes written to the fd so far. */
long long tarwrite_size(const struct tarwrite *w);
/* Frees w; NULL is fine. A stream that was not finished is abandoned mid-way. */
void tarwrite_free(struct tarwrite *w);
void tarwrite_freep(struct tarwrite **w);
#define _cleanup_tarwrite_ __attribute__((cleanup(tarwrite_freep)))
