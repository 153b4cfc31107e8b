#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"

/* --security-opt: the syscall filter and no_new_privs of a container's processes.
 *
 * hawser's default filter allows every syscall except those that reach what a container
 * does not own (the host's keyrings, clocks, kernel modules, swap, reboot), that change
 * mounts or namespaces, or that are a known kernel attack surface (io_uring, bpf,
 * perf_event_open, userfaultfd). Most are allowed again when the container holds the
 * capability the kernel would check (CAP_SYS_ADMIN for mount and namespaces, CAP_SYS_TIME
 * for the clocks, ...). Blocked calls fail with EPERM; clone3 fails with ENOSYS, so C
 * libraries fall back to clone, whose namespace flags the filter can see. The filter
 * covers the 32-bit x86 and x32 syscall entry points too. */

struct secprof {
        bool seccomp;      /* apply the default filter (off: seccomp=unconfined) */
        bool no_new_privs; /* on unless no-new-privileges=false */
};

/* Parses HostConfig.SecurityOpt (an array of strings, or null): "seccomp=unconfined",
 * "no-new-privileges[=true|false]" (also with ':'), "apparmor=..." and "label=..." (accepted;
 * hawser applies no LSM profile). -EINVAL with Docker's message for anything else, naming
 * the entry; a seccomp profile file is refused (-ENOTSUP) as not supported yet. */
int secprof_parse(const struct jv *security_opt, struct secprof *ret, struct err *err);

/* Checks one --security-opt value as create gets it (Docker's wording on error). */
int secprof_check_opt(const char *opt, struct err *err);

/* Loads the default filter into the calling thread, adjusted to the capabilities caps
 * (a bit mask of CAP_* numbers). Does not set no_new_privs itself: without it the caller
 * must still hold CAP_SYS_ADMIN. Runs in the container's process just before exec. */
int secprof_load(uint64_t caps, struct err *err);
