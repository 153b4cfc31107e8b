#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/json.h"

/* Per-container cgroup "hawser/<id>": the freezer hierarchy on cgroup v1, the unified
 * hierarchy on v2. It is made lazily, by the first pause: moving a task into a cgroup costs
 * an RCU grace period (milliseconds), which a start that never pauses should not pay. */

/* Creates the cgroup and moves every process of the container's PID namespace (the one
 * init_pid is in) into it, until a pass finds none outside. */
int cgroup_collect(const char *id, pid_t init_pid, struct err *err);
/* Moves pid into the container's cgroup if it exists (exec); no cgroup is fine. */
int cgroup_join(const char *id, pid_t pid, struct err *err);
/* Pids (as we see them) of every process in init_pid's PID namespace; malloc'd. */
int cgroup_ns_pids(pid_t init_pid, pid_t **ret, size_t *ret_n, struct err *err);
/* Freezes (true) or thaws (false) every process of the container and waits until done. */
int cgroup_freeze(const char *id, bool freeze, struct err *err);
/* Whether the container's cgroup is frozen or freezing (no cgroup: false). */
bool cgroup_is_frozen(const char *id);
/* Removes the cgroup (thawing it first); missing is fine. */
void cgroup_remove(const char *id);

/* Resource limits of a container (HostConfig's Memory, NanoCpus, ...); 0 means none. */
struct cgroup_limits {
        long long memory, memory_swap, memory_reservation; /* bytes; swap -1: unlimited */
        long long nano_cpus, cpu_shares, cpu_period, cpu_quota;
        long long pids_limit; /* <= 0: unlimited */
        const char *cpuset_cpus, *cpuset_mems;
        bool oom_kill_disable; /* cgroup v1 only (v2 has no such switch) */
};
bool cgroup_limits_any(const struct cgroup_limits *l);
/* The limits a container's HostConfig asks for (strings borrowed from hc). */
void cgroup_limits_of(const struct jv *hc, struct cgroup_limits *l);
/* Creates the container's cgroups that carry the limits (cgroup v1: the memory, cpu, pids
 * and cpuset hierarchies; v2: the unified one, its controllers enabled), writes the limits
 * and moves pid (the waiting init: everything it starts inherits them) into them. */
int cgroup_apply(const char *id, const struct cgroup_limits *l, pid_t pid, struct err *err);
/* The memory the container's memory cgroup charges, as Docker's CLI counts it (usage less
 * the inactive page cache: total_inactive_file on v1, inactive_file on v2). false when the
 * container has no memory cgroup (no limits). */
bool cgroup_memory_usage(const char *id, long long *ret);
/* Whether the container's memory cgroup saw an OOM kill. */
bool cgroup_oom_killed(const char *id);
