#pragma once
#include <linux/bpf.h>
#include <stddef.h>

#include "base/err.h"

/* Device rules on cgroup v2 (the v1 devices controller's rules as an eBPF program). */

/* Builds the program for rules (cgroup.h's device_allow strings: "c 1:3 rwm",
 * "deny b 8:* m", "a *:* rwm", "a"): all denied, then the rules in turn. *ret is malloc'd.
 * -EINVAL for a rule that does not parse, -ENOMEM. Pure: no kernel. */
int devfilter_build(char *const *rules, struct bpf_insn **ret, size_t *ret_n);
/* Loads the program for rules and attaches it to the cgroup v2 directory cgroup_fd
 * (BPF_F_ALLOW_MULTI: filters above it still apply). */
int devfilter_attach(int cgroup_fd, char *const *rules, struct err *err);
