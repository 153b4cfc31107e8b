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
        bool seccomp;        /* apply a filter (off: seccomp=unconfined) */
        bool no_new_privs;   /* on unless no-new-privileges=false */
        const char *profile; /* a profile's JSON, borrowed from security_opt; NULL: default */
};

/* Parses HostConfig.SecurityOpt (an array of strings, or null): "seccomp=unconfined",
 * "seccomp=<profile JSON>" (as create stores a profile file; checked when loaded),
 * "no-new-privileges[=true|false]" (also with ':'), "apparmor=..." and "label=..." (accepted;
 * hawser applies no LSM profile). -EINVAL with Docker's message for anything else, naming
 * the entry. */
int secprof_parse(const struct jv *security_opt, struct secprof *ret, struct err *err);

/* Checks the form of one --security-opt value as create gets it (Docker's wording on
 * error); "seccomp=PATH" names a profile file, which this does not read. */
int secprof_check_opt(const char *opt, struct err *err);

/* A compiled filter (classic BPF), ready for seccomp(2). */
struct secprof_bpf {
        void *insns; /* struct sock_filter[len] */
        unsigned short len;
};

/* Compiles the default filter for caps into *ret, through a cache of compiled programs in
 * cache_dir (created when missing; a file per hawser binary and capability set), so only
 * the first container with a given capability set pays for libseccomp (about a
 * millisecond); later starts read a few kilobytes. Runs in the monitor and in exec's
 * parent, before the namespaces are entered. The caller frees with secprof_bpf_free. */
int secprof_default_bpf(uint64_t caps, const char *cache_dir, struct secprof_bpf *ret,
                        struct err *err);
/* Installs a compiled filter into the calling thread (no_new_privs or CAP_SYS_ADMIN
 * needed, as for secprof_load). */
int secprof_install(const struct secprof_bpf *b, struct err *err);
void secprof_bpf_free(struct secprof_bpf *b);
/* The compiled default filter for a process with these settings (none for a profile,
 * unconfined or privileged: ret stays empty). Not fatal when it fails: the process then
 * builds the filter itself. */
void secprof_prepare(const struct secprof *sp, bool privileged, char **cap_add, char **cap_drop,
                     const char *cache_dir, struct secprof_bpf *ret);

/* Loads the default filter into the calling thread, adjusted to the capabilities caps
 * (a bit mask of CAP_* numbers). Does not set no_new_privs itself: without it the caller
 * must still hold CAP_SYS_ADMIN. Runs in the container's process just before exec. */
int secprof_load(uint64_t caps, struct err *err);

/* Docker's seccomp profile format (the JSON of moby's profiles/seccomp): defaultAction and
 * defaultErrnoRet, architectures or archMap (the native architecture is always in the
 * filter; archMap entries count for the native one only), flags, and syscalls rules with
 * names (or name), action, errnoRet, args and includes/excludes filters on caps (held as
 * "CAP_X" in caps), arches (Go's names: "amd64") and minKernel ("<kernel>.<major>", against
 * uname's release). Syscall names this libseccomp does not know are skipped, as are rules
 * whose action is the default one; a profile with neither defaultAction nor syscalls means
 * no filter, as in Docker. Implemented in secprof_json.c. */

/* Parses profile and builds its filter for caps without loading it. -EINVAL with a message
 * in Docker's (runc's) wording for anything Docker refuses, and for what it would only find
 * out at start (unknown actions, operators, architectures, argument indexes). */
int secprof_check_profile(const char *profile, uint64_t caps, struct err *err);

/* Parses profile, builds its filter for caps and loads it into the calling thread (nothing
 * for an empty profile). Like secprof_load, does not set no_new_privs. Runs in the
 * container's process just before exec. */
int secprof_load_profile(const char *profile, uint64_t caps, struct err *err);

/* What HostConfig.SecurityOpt stores for one --security-opt value (malloc'd in *ret): the
 * value itself, or for "seccomp=PATH" (or "seccomp:PATH") "seccomp=" and the file's JSON
 * without insignificant whitespace, as Docker's CLI sends it. The profile is checked as
 * secprof_check_profile does, for the container's capabilities caps, so a bad profile fails
 * create, not start. Docker's messages: "opening seccomp profile (PATH) failed: ...",
 * "compacting json for seccomp profile (PATH) failed: ...". */
int secprof_create_opt(const char *opt, uint64_t caps, char **ret, struct err *err);
