#pragma once
#include <stddef.h>

#include "base/err.h"

/* Tar-split records (the idea of vbatts/tar-split): while a layer's uncompressed tar stream is
 * extracted, every byte of it that is not regular-file content is recorded, together with the
 * layer paths that now hold that content, so that the exact original stream (and so its
 * sha256, the diff id) can be produced again from the record and the extracted files.
 *
 * The stream is classified as libarchive (the extractor) reads it, in 512-byte blocks:
 *   - every header block, extension data ('x', 'X', 'g', 'A', 'K', 'L', 'V'), the data of 'D'
 *     entries and of hard links in pax archives, all padding, the end-of-archive block and
 *     everything after it are recorded verbatim;
 *   - the content of regular files ('0', '\0', '7', 'N' and unknown types; size from a pax
 *     "size=" record when there is one) becomes a reference to the next named path;
 *   - symlinks, devices, directories and fifos carry no data whatever their size field says.
 * Streams the record cannot reproduce are refused: GNU sparse entries ('S', pax GNU.sparse.*),
 * 'M' entries, hard links with a size in a plain ustar archive (libarchive guesses there),
 * bad header checksums, malformed size fields or pax records, a stream that ends inside a
 * block, and content sizes that do not match the names given.
 *
 * Record format, integers little-endian:
 *   header   "HWTSPLIT", u32 version (1), u32 0                                 16 bytes
 *   body     ops in stream order:
 *              'M' u32 n, n bytes    n >= 1 stream bytes, verbatim (runs of metadata are
 *                                    coalesced; a run is split only at 64 KiB)
 *              'F' u64 n             n >= 1 bytes of content of the next path
 *   paths    one per 'F' op, in order: u32 len, len bytes (relative, no leading '/', no
 *            empty, "." or ".." component, no NUL, len < PATH_MAX)
 *   footer   u64 offset of paths, u64 number of paths, u64 stream size, "HWTSPLIT"  32 bytes
 * The body is written while the stream is fed; the paths are kept in memory and written by
 * tarsplit_finish. */
struct tarsplit;

/* Starts recording into out_fd (borrowed: a fresh, empty regular file opened for writing;
 * the recorder writes at its own offsets, ignoring the fd's position). -ENOMEM. */
int tarsplit_new(int out_fd, struct tarsplit **ret, struct err *err);
/* The stream's bytes, in order, in chunks of any size. Never fails: a stream the record
 * cannot reproduce, a write error or ENOMEM is latched and reported by tarsplit_finish. */
void tarsplit_feed(struct tarsplit *t, const void *buf, size_t n);
/* Names the next regular (non-hard-link) file with size > 0 whose content the extractor
 * wrote: its path relative to the layer root (clean: no leading '/', no empty, "." or ".."
 * component) and its size. In archive order, before or after its bytes were fed. -EINVAL
 * for a path that is not clean or a size <= 0 (the record is then refused), -ENOMEM (latched
 * too). A path of PATH_MAX bytes or more is accepted but makes finish refuse the record. */
int tarsplit_name(struct tarsplit *t, const char *path, long long size);
/* The extractor saw something the record cannot reproduce (a later entry replaced or removed
 * an earlier file): tarsplit_finish will refuse the record. */
void tarsplit_spoil(struct tarsplit *t);
/* Ends the stream; call once, after all bytes were fed. 0 when out_fd now holds a complete
 * record; 1 when the stream cannot be reproduced from the files (see above; the caller
 * deletes the file and keeps no record); -errno (with err) when writing the record failed or
 * memory ran out. Not fsync'ed. */
int tarsplit_finish(struct tarsplit *t, struct err *err);
/* Frees t (not out_fd); NULL is fine. */
void tarsplit_free(struct tarsplit *t);
void tarsplit_freep(struct tarsplit **t);
#define _cleanup_tarsplit_ __attribute__((cleanup(tarsplit_freep)))

/* Writes the recorded stream again to sink, in chunks of up to 1 MiB: recorded bytes
 * verbatim, each file's content read from its path below layer_dirfd. Paths are opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (a walk with O_NOFOLLOW on every component
 * where openat2 is missing) and must be regular files of exactly the recorded size. sink
 * returns 0 or -errno and, like any function here, sets err itself; replay returns its
 * failure unchanged. -EINVAL when the record is corrupt or does not match the layer (a file
 * missing, reached through a symlink, not regular, of another size, or shrinking while it is
 * read), naming the path; other -errno from reading. On failure sink may have received part of
 * the stream. Content that changed without changing size is not detected. */
int tarsplit_replay(int split_fd, int layer_dirfd,
                    int (*sink)(void *ud, const void *buf, size_t n, struct err *err), void *ud,
                    struct err *err);
/* The size of the stream the record reproduces (recorded plus content bytes), from the
 * footer, so an outer archive's header can be written before replaying. -EINVAL when the
 * record's header or footer is corrupt. */
int tarsplit_size(int split_fd, long long *ret, struct err *err);
