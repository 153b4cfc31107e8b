#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

/* Device nodes a container may open. Everything a container can write to is mounted nodev
 * (its root, /dev, volumes, binds, tmpfs), so a node it makes with mknod, finds in an image
 * layer or in a volume opens nothing; the nodes below are each bound into place from a
 * device-enabled mount. --privileged gets every host device and no nodev, as in Docker. */

/* One node: where it goes in the container and what it is. */
struct device_node {
        char *path;  /* absolute, inside the container */
        mode_t type; /* S_IFCHR or S_IFBLK */
        unsigned major, minor;
        mode_t mode; /* permission bits */
        uid_t uid;
        gid_t gid;
};

struct device_list {
        struct device_node *v;
        size_t n;
};

/* --device HOST[:CONTAINER][:MODE] as Docker's CLI takes it (CONTAINER defaults to HOST,
 * MODE to rwm); -EINVAL with Docker's message for a bad mode or a relative path. A mode
 * without both r and w is refused: hawser uses no devices cgroup, so it could not hold a
 * node to reading or writing only. Results are malloc'd. */
int devices_parse(const char *spec, char **ret_host, char **ret_ctr, char **ret_mode,
                  struct err *err);
/* Appends the node at host (symlinks followed), or every node below it if it is a
 * directory, mapped under ctr. -ENOENT/-ENOTDIR/-EINVAL (not a device) with Docker's
 * "error gathering device information" message. */
int devices_gather(const char *host, const char *ctr, struct device_list *l, struct err *err);
/* Appends every device node under the host's /dev (--privileged), as Docker does: not
 * /dev/pts, /dev/shm, /dev/mqueue or /dev/fd. */
int devices_gather_host(struct device_list *l, struct err *err);
void devices_free(struct device_list *l);
