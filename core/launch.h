#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "devices.h"
#include "secprof.h"

/* A volume, bind or tmpfs mount, in the order to mount (parents before children). */
struct launch_mount {
        const char *source;  /* host path (bind, volume data); NULL for tmpfs */
        const char *target;  /* absolute path inside the container */
        const char *data;    /* tmpfs mount data ("size=65536k,mode=1777") */
        unsigned long flags; /* tmpfs mount flags (MS_NOSUID, ...); a bind's MS_NOSUID,
                              * MS_NODEV and MS_NOEXEC, applied by its remount */
        const char *fstype;  /* another filesystem (an OCI config's proc, sysfs, mqueue...):
                              * mount(source, target, fstype, flags, data); NULL: none */
        bool readonly, tmpfs;
        /* The container's own cgroups at target (/sys/fs/cgroup), read-only with readonly:
         * cgroup_views' pairs "name", "host dir", each bound at target/name on a tmpfs, or
         * the one pair "", dir bound at target itself (cgroup v2); NULL: an empty tmpfs. */
        bool cgroup_own;
        char *const *cgroup_views;
        unsigned long propagation; /* MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE, with
                                    * MS_REC for the r- forms; 0: the default (private) */
};

/* Whether one of the n mounts of v is at target. */
bool launch_mount_at(const struct launch_mount *v, size_t n, const char *target);

/* An OCI process's five capability sets (bit n = capability n). */
struct launch_caps {
        uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* What only an OCI runtime's container asks of the init (core/oci/). */
struct launch_oci {
        int utsns_fd, cgroupns_fd;        /* joined by path (launch_spec's host_uts and
                                           * host_cgroupns are then true), or -1 */
        unsigned long rootfs_propagation; /* applied to / after pivot_root; 0: none */
        bool personality_32;              /* linux.personality LINUX32 */
        const char *session_keyring;      /* a new session keyring of this name; NULL: the
                                           * caller's (--no-new-keyring) */
        int preserve_fds;                 /* fds 3 .. 3+n-1 go to the process */
        bool no_pivot;                    /* MS_MOVE + chroot instead of pivot_root */
        /* Hooks (any of prestart, createRuntime, createContainer, startContainer): after its
         * mounts the init says so and waits (launch_wait_mounted), the caller runs its own
         * hooks, then sends the state JSON (launch_send_state) that the init's get:
         * createContainer before pivot_root, startContainer once `start` opened the fifo,
         * before the exec. NULL: none. */
        int (*run_hooks)(const void *ctx, const char *kind, const char *state, struct err *err);
        const void *hooks_ctx;
        /* A user namespace of its own: the uid_map and gid_map texts ("0 100000 65536\n"),
         * written by the caller after the clone; NULL: the caller's user namespace. */
        const char *uid_map, *gid_map;
        const char *apparmor_profile; /* the process's AppArmor profile; NULL: none */
        bool has_ioprio;              /* process.ioPriority: ioprio_set's value */
        int ioprio;
        bool has_sched; /* process.scheduler: sched_setattr's struct sched_attr */
        struct {
                uint32_t size, policy;
                uint64_t flags;
                int32_t nice;
                uint32_t priority;
                uint64_t runtime, deadline, period;
        } sched;
};

/* What the container's init needs; all strings are borrowed from the caller. */
/* One --ulimit: setrlimit(resource) in the init before it execs. */
struct launch_rlimit {
        int resource;
        unsigned long long soft, hard;
};

struct launch_spec {
        const char *id;
        const char *lowerdir, *upperdir, *workdir; /* overlay layers */
        const char *rootfs; /* mount point of the overlay (host path); lowerdir NULL: a
                             * directory of its own (an OCI bundle's), bound onto itself */
        const char *hostname;
        const char *domainname; /* kernel.domainname of the UTS namespace; NULL or "": none */
        char **argv;
        char **env;
        const char *cwd;  /* "" or NULL: "/" */
        const char *user; /* "" or NULL: root; else user[:group] by name or number */
        bool tty, read_only, privileged, init, new_netns;
        long long shm_size; /* bytes of /dev/shm; 0: Docker's 64 MiB */
        const struct launch_rlimit *rlimits;
        size_t n_rlimits;
        bool seccomp, no_new_privs;  /* from --security-opt (core/secprof.h) */
        const char *seccomp_profile; /* the profile's JSON; NULL: hawser's default filter */
        const struct secprof_bpf *seccomp_bpf; /* the default filter compiled; NULL: build it */
        char **cap_add, **cap_drop, **group_add;
        const char *hosts_path, *hostname_path, *resolv_path; /* bound onto /etc/... */
        int stdio[3]; /* non-tty: child's stdin/out/err; -1 = /dev/null */
        int netns_fd; /* --network container:X: X's network namespace to join, or -1 */
        int pidns_fd; /* --pid container:X: X's PID namespace to join, or -1 */
        int ipcns_fd; /* --ipc container:X: X's IPC namespace to join, or -1 */
        bool host_pid, host_ipc, host_uts, host_cgroupns; /* --pid/--ipc/--uts/--cgroupns host */
        const char *shm_source; /* a /dev/shm to bind (--ipc host); "": none (--ipc none);
                                 * NULL: shm_fd's, or a tmpfs of its own */
        int shm_fd;             /* --ipc container:X: X's /dev/shm (open_tree), or -1 */
        char **sysctls;         /* --sysctl "key=value", written before the command runs */
        bool device_cgroup;     /* a device cgroup guards it (--device-cgroup-rule): /dev is
                                 * not nodev, nodes made there open what the rules allow */
        const struct launch_mount *mounts;
        size_t n_mounts;
        const struct device_node *devices; /* beyond the default set (devices.h) */
        size_t n_devices;
        /* An OCI runtime's container (core/oci/): */
        bool own_mounts;                /* mounts are all of them: no default proc, /dev, /sys... */
        char **masked_paths;            /* masked (NULL: Docker's list) */
        char **readonly_paths;          /* made read-only (NULL: Docker's list) */
        const struct launch_caps *caps; /* these sets, not cap_add/cap_drop; NULL: Docker's */
        bool detach;    /* the caller exits before the container: no parent-death signal */
        int start_fifo; /* > 0: an O_PATH fd of a fifo the init opens for writing once set up
                         * (it closes the sync socket first: launch_go returns), so it execs
                         * when `start` opens it for reading; 0: none */
        bool set_umask;
        mode_t umask;
        char *title; /* --init: the process's argv area, rewritten to "hawser-init -- CMD" */
        size_t title_len;
        const struct launch_oci *oci; /* NULL: hawser's own container */
};

/* The RLIMIT_ of a Docker --ulimit name ("nofile", "nproc", ...); -1 when unknown. */
int launch_rlimit_resource(const char *name);

/* A cloned container init waiting for launch_go(). */
struct launch {
        pid_t pid;
        int sync_fd;
        int pty_master; /* -1 unless tty; set by launch_go */
};

/* Clones the init into new mount, UTS, IPC, PID, cgroup (and, with new_netns, network)
 * namespaces, or the host's or another container's as the spec says. The child sets up everything but its network (root, mounts, hostname, stdio)
 * while the caller wires the network from outside, then waits for launch_go().
 * Runs in the monitor. */
int launch_clone(const struct launch_spec *spec, struct launch *ret, struct err *err);
/* The container's files as its processes see them, without the kernel filesystems: the
 * overlay at s->rootfs, then s->mounts (volumes, binds, tmpfs) and the hosts, hostname and
 * resolv.conf files whose paths are set, read-only where the container has them so. For
 * `cp` on a container that does not run: the caller is alone in a mount namespace of its
 * own, made private, and everything mounted here goes with it. */
int launch_mount_files(const struct launch_spec *s, struct err *err);
/* With launch_oci's run_hooks: waits until the init has made its mounts (or failed to), so
 * the runtime's own hooks see them. -EPIPE when the init is gone. */
int launch_wait_mounted(struct launch *l);
/* Sends the state JSON the init's hooks get (launch_oci's run_hooks); before launch_go. */
int launch_send_state(struct launch *l, const char *state, struct err *err);
/* Releases the child and waits until it has exec'd. On failure the child's own message is
 * in err and *ret_exit_code is Docker's code (125 setup, 126 cannot invoke, 127 not found);
 * the caller still reaps the child. */
int launch_go(struct launch *l, int *ret_exit_code, struct err *err);
/* The process a container runs or `exec` starts; everything borrowed. */
struct launch_proc {
        char **argv, **env;
        const char *cwd, *user;
        bool privileged;
        char **cap_add, **cap_drop;
        char **group_add;            /* --group-add: more supplementary groups (names or ids) */
        bool seccomp;                /* a syscall filter (never with privileged) */
        const char *seccomp_profile; /* its profile JSON (core/secprof.h); NULL: the default */
        const struct secprof_bpf *seccomp_bpf; /* the default filter, compiled; NULL: build */
        bool no_new_privs;                     /* never with privileged */
        const struct launch_caps *caps;        /* OCI: these sets, not cap_add/cap_drop; NULL */
        bool detach;                           /* no parent-death signal (OCI) */
        /* OCI create: after the user switch and the executable's lookup, ready_fd is closed
         * and the process waits on start_fifo (launch_spec's); 0: none. */
        int start_fifo, ready_fd;
        const struct launch_oci *oci; /* its startContainer hooks run after that wait */
};

/* Exec step shared with `exec`: switches to user, drops capabilities, sets no_new_privs,
 * loads the syscall filter, execs argv with env in the current root. Only returns on
 * failure, with *ret_exit_code set. */
int launch_exec_process(const struct launch_proc *p, int *ret_exit_code, struct err *err);
/* The AppArmor profile the coming exec enters (AppArmor must be enabled on the host). */
int launch_apparmor_exec(const char *profile, struct err *err);
/* An OCI runtime's --preserve-fds N: descriptors 3 .. 3+N-1 pass the coming exec, every
 * descriptor above them closes on it. */
int launch_pass_fds(int n, struct err *err);
/* Before the runtime opens anything of its own: each of 3 .. 3+N-1 the caller left closed
 * gets /dev/null, so no descriptor of the runtime's takes that number and reaches the
 * container through --preserve-fds. */
void launch_fill_fds(long long n);
/* Sends an error {code, message} over the sync socket (child side); -errno when it cannot
 * (callers that have nowhere else to report it ignore that). */
int launch_send_error(int fd, int exit_code, const struct err *err);
/* Sends fd over the unix socket sock (SCM_RIGHTS, with one byte 'F'); -errno. */
int launch_send_fd(int sock, int fd);
/* Receives a child's error or EOF; 0 on EOF (success), < 0 with err/exit code set. */
int launch_recv_result(int fd, int *ret_exit_code, int *ret_fd, struct err *err);
