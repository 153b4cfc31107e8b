#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* One -v, --mount or --tmpfs request, parsed and validated with Docker's rules but not acted
 * on: nothing here touches the disk (see mountspec_check_bind_source for the one check that
 * does). Every string is malloc'd and owned by the struct; mountspec_free releases them. */
struct mount_spec {
        enum mount_type { MOUNT_BIND, MOUNT_VOLUME, MOUNT_TMPFS } type;
        char *source; /* host path (bind, cleaned), volume name (volume; NULL = anonymous), NULL
                         for tmpfs */
        char *target; /* absolute path inside the container, cleaned as Go's path.Clean; never
                         "/" */
        bool readonly;
        bool nocopy;          /* volume: no copy-up from the image (-v :nocopy, volume-nocopy) */
        bool create_source;   /* bind: a missing source is created (-v; --mount bind-create-src) */
        char *tmpfs_opts;     /* tmpfs: Docker's option string ("size=64m,mode=1777", may hold
                               flags such as ro or exec); NULL: none given */
        char *propagation;    /* bind: "rprivate" unless given, as Docker; NULL otherwise */
        char *mode;           /* -v's mode field as typed ("ro,z"), "" when none or not -v:
                                inspect's Mounts[].Mode */
        char **volume_labels; /* volume: --mount volume-label=K=V entries ("K=V"), for the
                                 volume this mount creates; NULL when none */
        char **driver_opts;   /* volume: --mount volume-opt=K=V entries, the local driver's
                                 options (type, device, o) for the volume it creates */
};

/* Parses a -v value: "/ctr" (anonymous volume), "NAME:/ctr[:MODE]" (named volume) or
 * "/host:/ctr[:MODE]" (bind). MODE is a comma list of ro|rw, z|Z, nocopy, a propagation
 * ([r]private, [r]shared, [r]slave) and a consistency (consistent, cached, delegated), each
 * kind at most once. -EINVAL with the daemon's text: "invalid volume specification: 'S'",
 * "invalid mode: M", "invalid volume specification: 'S': invalid mount config for type
 * \"bind\": invalid mount path: 'x' mount path must be absolute", and for a source that is
 * neither absolute nor a valid name (./x, x/y) "create x/y: \"x/y\" includes invalid
 * characters for a local volume name, ...". *ret is written only on success. */
int mountspec_parse_volume(const char *spec, struct mount_spec *ret, struct err *err);

/* Parses a --mount value (CSV of type=bind|volume|tmpfs, source|src, target|destination|dst,
 * readonly|ro[=BOOL], volume-nocopy[=BOOL], volume-driver=local, volume-label=K=V,
 * bind-propagation=P, bind-create-src[=BOOL], tmpfs-size=SIZE, tmpfs-mode=OCTAL,
 * consistency=X). -EINVAL; what the Docker CLI rejects while parsing the flag comes back as
 * "invalid argument \"SPEC\" for \"--mount\" flag: MSG" (a usage error for the caller), what
 * the daemon rejects comes back bare ("invalid mount config for type \"bind\": ...").
 * -ENOTSUP for the Docker keys hawser does not implement (volume-opt, volume-subpath,
 * bind-nonrecursive, bind-recursive); -ENOENT with Docker's "create NAME: error looking up
 * volume plugin X: plugin \"X\" not found" for a volume-driver other than local. Whether a
 * bind source exists is left to mountspec_check_bind_source. *ret is written only on
 * success. */
int mountspec_parse_mount(const char *spec, struct mount_spec *ret, struct err *err);

/* Parses a --tmpfs value "/ctr[:OPTS]" (OPTS as mount(8): size=, mode=, uid=, gid=,
 * nr_inodes=, nr_blocks=, mpol= and flags like ro, noexec). -EINVAL with Docker's texts
 * ("invalid mount path: 'x' mount path must be absolute", "invalid specification:
 * destination can't be '/'", "Invalid tmpfs option [\"foo\"]"). */
int mountspec_parse_tmpfs(const char *spec, struct mount_spec *ret, struct err *err);

/* Parses a --volumes-from value "CONTAINER[:MODE]" (MODE: ro|rw and z|Z; no propagation or
 * nocopy). *ret_container is malloc'd; *ret_readonly is true when MODE has "ro". -EINVAL
 * with "volumes-from specification cannot be an empty string" or "invalid mode: M". */
int mountspec_parse_volumes_from(const char *spec, char **ret_container, bool *ret_readonly,
                                 struct err *err);

/* For a bind that must not be created (--mount without bind-create-src): -ENOENT with
 * "invalid mount config for type \"bind\": bind source path does not exist: /x" when the
 * host path is missing. 0 for anything else. Follows symlinks on the host, as Docker. */
int mountspec_check_bind_source(const struct mount_spec *m, struct err *err);

/* -EINVAL with Docker's "Duplicate mount point: /x" when two of the n specs share a
 * target. */
int mountspec_check_duplicates(const struct mount_spec *v, size_t n, struct err *err);

/* Turns a tmpfs option string (NULL: none) into mount(2) flags and data, starting from
 * Docker's defaults noexec,nosuid,nodev; later words win ("exec" clears MS_NOEXEC).
 * *ret_data is malloc'd ("" when none). -EINVAL "Invalid tmpfs option [\"x\"]". */
int mountspec_tmpfs_options(const char *opts, unsigned long *ret_flags, char **ret_data,
                            struct err *err);

/* The local volume driver's "o" option as moby/sys/mount reads it: flag words (ro, nosuid,
 * noexec, bind, rbind, ...) into *ret_flags, a propagation word ([r]private, [r]shared,
 * [r]slave, [r]unbindable) into *ret_propagation (0: none), every other word (but
 * "defaults") kept, joined by ',', as the filesystem's data in *ret_data (malloc'd). */
int mountspec_mount_options(const char *opts, unsigned long *ret_flags,
                            unsigned long *ret_propagation, char **ret_data, struct err *err);

/* Frees the strings and zeroes the struct; safe on a zeroed struct. */
void mountspec_free(struct mount_spec *m);
