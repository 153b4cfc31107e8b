#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/json.h"

/* Per-container cgroup: the freezer hierarchy on cgroup v1, the unified hierarchy on v2.
 * It is made lazily, by the first pause: moving a task into a cgroup costs an RCU grace
 * period (milliseconds), which a start that never pauses should not pay. Every id below is
 * the container's cgroup name, relative to each hierarchy's root (container_cgroup():
 * "hawser/<id>", or "<--cgroup-parent>/<id>"). */

/* Creates the cgroup and moves every process of the container's PID namespace (the one
 * init_pid is in; not those another container's cgroup holds) into it, until a pass finds
 * none outside. A container without a PID namespace of its own (own_pidns false: --pid host
 * or container:X) was adopted at its start: its cgroup holds its processes already. */
int cgroup_collect(const char *id, pid_t init_pid, bool own_pidns, struct err *err);
/* The cgroup of a container without a PID namespace of its own, made at its start with the
 * waiting init in it: its processes are told from the others by their cgroup. */
int cgroup_adopt(const char *id, pid_t init_pid, struct err *err);
/* The container's processes: its PID namespace's (own_pidns), else its cgroup's. */
int cgroup_container_pids(const char *id, pid_t init_pid, bool own_pidns, pid_t **ret,
                          size_t *ret_n, struct err *err);
/* Moves pid into the container's cgroup if it exists (exec); no cgroup is fine. */
int cgroup_join(const char *id, pid_t pid, struct err *err);
/* Pids (as we see them) of every process in init_pid's PID namespace; malloc'd. */
int cgroup_ns_pids(pid_t init_pid, pid_t **ret, size_t *ret_n, struct err *err);
/* Freezes (true) or thaws (false) every process of the container and waits until done. */
int cgroup_freeze(const char *id, bool freeze, struct err *err);
/* Whether the container's cgroup is frozen or freezing (no cgroup: false). */
bool cgroup_is_frozen(const char *id);
/* Kills every process in the container's cgroup (those of a container without a PID
 * namespace of its own outlive its init; Docker kills them too). No cgroup is fine. */
void cgroup_kill_all(const char *id);
/* Removes the cgroup (its processes killed, thawed first); missing is fine. */
void cgroup_remove(const char *id);
/* The container's own cgroups, made now if missing, for its /sys/fs/cgroup (Docker's and
 * runc's view: no other cgroup of the host in sight): a strv of pairs "name", "host dir",
 * one per v1 hierarchy it is placed in with limits l (those of its limits and its
 * freezer's; all with l->place), or on a cgroup v2 host the one pair "", its cgroup. NULL
 * with err set on failure; NULL and no error: no limit, nothing made, nothing to show. */
struct cgroup_limits;
char **cgroup_views(const char *id, const struct cgroup_limits *l, struct err *err);
/* Removes the cgroup directories of views that are empty (a start that failed before
 * anything ran in them), killing nothing. */
void cgroup_views_remove(char *const *views);

/* Resource limits of a container (HostConfig's Memory, NanoCpus, ...); 0 means none. */
struct cgroup_limits {
        long long memory, memory_swap, memory_reservation; /* bytes; swap -1: unlimited */
        long long nano_cpus, cpu_shares, cpu_period, cpu_quota;
        long long pids_limit; /* <= 0: unlimited */
        const char *cpuset_cpus, *cpuset_mems;
        bool oom_kill_disable;  /* cgroup v1 only (v2 has no such switch) */
        long long blkio_weight; /* 10..1000; 0: none */
        char **device_allow;    /* a device cgroup allowing these ("c 1:3 rwm"), all else
                                 * denied (cgroup v1 devices controller); NULL: none. An
                                 * entry "deny c 1:3 m" denies, in its turn (OCI rules) */
        char **hugetlb;         /* "<page size>=<bytes>" ("2MB=1073741824"); NULL: none */
        bool has_swappiness;    /* memory.swappiness (cgroup v1) */
        long long swappiness;
        char **blkio_dev;      /* per device: "weight M:m W", "read_bps M:m N", "write_bps",
                                 * "read_iops", "write_iops" (v1 blkio, v2 io); NULL: none */
        long long net_classid; /* net_cls.classid (cgroup v1); 0: none */
        char **net_prio;       /* "<ifname> <priority>" lines of net_prio.ifpriomap; NULL */
        bool place;            /* in its cgroups even without limits (--cgroup-parent) */
};
/* Whether this host has the cgroup v1 devices controller (device cgroup rules). */
bool cgroup_devices_supported(void);
/* Whether this host can weigh block I/O (v1 blkio.weight or blkio.bfq.weight; v2's io
 * controller): Docker discards --blkio-weight otherwise, with a warning. */
bool cgroup_blkio_weight_supported(void);
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
/* The text of a file of the container's cgroup: ctl's v1 hierarchy ("memory", "cpuacct",
 * "pids"...), or the unified one on v2 (ctl ignored). NULL when there is none. */
char *cgroup_read(const char *id, const char *ctl, const char *file);
/* Whether the container's memory cgroup saw an OOM kill. */
bool cgroup_oom_killed(const char *id);
