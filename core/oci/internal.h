#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../base/err.h"
#include "../base/json.h"
#include "../cgroup.h"
#include "../devices.h"
#include "../launch.h"

/* The OCI runtime's pieces (core/oci/): config.c reads a bundle into a launch plan, state.c
 * keeps --root/ID/state.json, cmd.c has the lifecycle commands, main.c the rest. */

#define OCI_VERSION "1.0.2-dev"

/* Global flags, as runc takes them before the command. */
struct oci_global {
        const char *root, *log, *log_format, *rootless, *criu;
        bool debug, systemd_cgroup, help;
};

/* A bundle's config.json turned into what the launcher takes; owns every string. */
struct oci_plan {
        struct jv *config;
        char *rootfs;
        struct launch_spec s;
        struct launch_caps caps;
        struct launch_mount *mounts;
        struct device_list devices;
        struct launch_rlimit *rlimits;
        char **env, **group_add, **sysctls, **masked, **readonly;
        char *user, *seccomp, *cgroup;
        struct cgroup_limits limits;
        bool own_pidns, has_oom_score_adj;
        long long oom_score_adj;
        int ns_fds[3];         /* network, pid, ipc joined by path, or -1 */
        struct launch_oci oci; /* its uts/cgroup fds are closed with the plan */
        char *uid_map, *gid_map;
};

/* Reads bundle/config.json into *p for container id; -EINVAL naming the field for what
 * hawser cannot honour (user namespaces, an unknown personality). Free with oci_plan_free
 * even on failure. */
int oci_plan_load(const char *bundle, const char *id, struct oci_plan *p, struct err *err);
void oci_plan_free(struct oci_plan *p);
/* The limits of an OCI LinuxResources object (memory, cpu, pids, blockIO weight, hugepage
 * limits, device rules); strings borrowed from res, except l->device_allow and l->hugetlb,
 * which oci_resources_free frees. */
int oci_plan_resources(const struct jv *res, struct cgroup_limits *l, struct err *err);
void oci_resources_free(struct cgroup_limits *l);
/* Replaces the plan's process with process (taken over): `exec`'s. */
int oci_plan_set_process(struct oci_plan *p, struct jv *process, struct err *err);

enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };

/* A container as --root/ID/state.json keeps it. */
struct oci_state {
        struct jv *doc; /* id, pid, pid_start, bundle, rootfs, created, owner, annotations,
                         * cgroup, own_pidns, hooks */
        char *dir;      /* --root/ID */
        pid_t pid;
        const char *cgroup;
        bool own_pidns;
};

/* Loads ID's state; -ENOENT with runc's "container does not exist". */
int oci_state_load(const char *root, const char *id, struct oci_state *ret, struct err *err);
int oci_state_save(const struct oci_state *st, struct err *err);
void oci_state_free(struct oci_state *st);
enum oci_status oci_state_status(const struct oci_state *st);
const char *oci_status_name(enum oci_status s);
/* The state JSON of the OCI spec (hooks get it on stdin; `state` prints it); caller puts. */
struct jv *oci_state_json(const struct oci_state *st);

/* Parses a command's flags (defs into o) and checks that 1..want arguments (the container
 * id first) remain, with runc's messages. */
struct opt_def;
int oci_parse_id(const struct opt_def *defs, int argc, char **argv, void *o, int want,
                 struct err *err);
/* The commands; argv[0] is the command name. Each returns the exit code and leaves its
 * error in err. */
int oci_cmd_create(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_start(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_run(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_kill(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_delete(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_pause(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_ps(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_state(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_exec(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_update(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_events(const struct oci_global *g, int argc, char **argv, struct err *err);
int oci_cmd_list(const struct oci_global *g, int argc, char **argv, struct err *err);
