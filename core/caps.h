#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/* Capability sets as bit masks (bit n = capability n). */

/* Docker's default set (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
 * SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE). */
uint64_t caps_default(void);
/* Every capability the running kernel knows. */
uint64_t caps_all(void);
/* Applies --cap-add/--cap-drop ("NET_ADMIN", "CAP_NET_ADMIN", "ALL", case-insensitive) to
 * base. -EINVAL with Docker's "invalid capability" message for unknown names. */
int caps_resolve(uint64_t base, char **add, char **drop, uint64_t *ret, struct err *err);
/* Parses one capability name; returns its number or -EINVAL. */
int caps_from_name(const char *name);
/* Limits the bounding set to keep and, for root, sets effective/permitted/inheritable to it.
 * Runs in the container's init after the user switch has been prepared. */
int caps_drop_bounding(uint64_t keep, struct err *err);
int caps_apply(uint64_t keep, bool root, struct err *err);
/* Sets the effective (within permitted), permitted and inheritable sets and raises the
 * ambient capabilities that are permitted and inheritable (an OCI process's sets). Runs in
 * the container's process after the user switch. */
int caps_apply_sets(uint64_t effective, uint64_t permitted, uint64_t inheritable, uint64_t ambient,
                    struct err *err);
