#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Reads a whole file into a NUL-terminated malloc'd buffer. -ENOENT if missing. */
int fs_read_file(const char *path, char **ret, size_t *ret_len, struct err *err);
/* Writes data to path through a temp file and rename(), so readers see old or new. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err);
/* mkdir -p; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *err);
/* Removes a tree without following symlinks or crossing into other mounts; missing is fine. */
int fs_rm_rf(const char *path, struct err *err);
/* Removes a tree below dirfd/name (same rules as fs_rm_rf). */
int fs_rm_rf_at(int dirfd, const char *name, struct err *err);
/* Writes all bytes, retrying EINTR and short writes. Returns 0 or -errno. */
int fs_write_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or EOF; returns bytes read or -errno. */
ssize_t fs_read_all(int fd, void *buf, size_t len);
/* Disk usage in bytes of a tree (st_blocks not used: apparent sizes like docker). */
long long fs_tree_size(const char *path);
/* Opens path below rootfd as if rootfd were "/": symlinks (absolute ones too) and ".." never
 * leave it (openat2 RESOLVE_IN_ROOT, no magic links). Returns the fd or -errno. */
int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode);
/* Copies the tree below src_dir into dst_dir (both directory fds), keeping modes, owners and
 * times; symlinks are copied as links, never followed; devices and sockets are skipped. The
 * root's own mode and owner are applied to dst_dir too (Docker's volume copy-up). */
int fs_copy_tree(int src_dir, int dst_dir, struct err *err);
/* Writes a short string to a file that must exist (sysfs, cgroupfs, procfs). */
int fs_write_string(const char *path, const char *s, struct err *err);
/* Whether path (not followed if a symlink) is the root of a mount: its mount id differs from
 * its parent directory's (a bind from the same filesystem counts). */
bool fs_is_mount_point(const char *path);
