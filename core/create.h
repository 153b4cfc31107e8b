#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"
#include "container.h"

/* Flags shared by `create` and `run`. */
struct run_opts {
        bool detach, interactive, tty, rm, init, read_only, privileged, help, quiet;
        char *name, *workdir, *user, *hostname, *entrypoint, *network, *stop_signal;
        char *stop_timeout, *domainname, *detach_keys, *pull;
        char **env, **env_file, **labels, **cap_add, **cap_drop, **security_opt;
        bool publish_all;
        char *ip, *ip6, *mac_address;
        char **publish, **expose, **links, **add_hosts, **dns, **dns_search, **dns_options,
                **aliases;
        char **volumes, **mounts, **tmpfs, **volumes_from;
        char **devices;
        char *memory, *memory_swap, *memory_reservation, *cpus, *cpu_shares, *cpu_period,
                *cpu_quota, *cpuset_cpus, *cpuset_mems, *pids_limit;
        char *oom_score_adj, *shm_size, *cidfile, *runtime;
        bool oom_kill_disable;
        char **label_files;
        char *log_driver;
        char **log_opts;
        char **ulimits, **group_add;
        char *restart;
        char *health_cmd, *health_interval, *health_timeout, *health_retries, *health_start_period,
                *health_start_interval;
        bool no_healthcheck;
        char *pid, *ipc, *uts, *cgroupns, *blkio_weight, *cgroup_parent;
        char **sysctls, **device_cgroup_rules;
        /* No flag sets these; compose does (core/compose/cmd/): the whole Entrypoint (with
         * entrypoint_set, NULL or empty resets it), the healthcheck's whole Test, and the
         * networks joined besides --network's, each with its aliases and addresses. */
        char **entrypoint_argv, **health_test;
        bool entrypoint_set;
        const struct run_endpoint *more_networks;
        size_t n_more_networks;
        /* "TARGET=NAME": the anonymous volume a recreated container had at TARGET, which the
         * new one takes over (still anonymous) instead of a new empty one. */
        char **anonymous_reuse;
};

/* A network a new container joins besides its --network (compose's services.S.networks). */
struct run_endpoint {
        const char *network;
        char **aliases;
        const char *ip, *ip6;
};

/* Frees what opt_parse put in o (its OPT_LIST vectors). */
void run_opts_free(struct run_opts *o);

/* Builds the container's Config/HostConfig from the image config and the flags. Pure
 * apart from reading --env-file files and the host environment for bare "-e NAME". */
int create_build_doc(const struct run_opts *o, const char *image_ref, const char *image_id,
                     const struct jv *image_cfg, char **cmd, const char *id, struct jv **ret,
                     struct err *err);
/* Network parts of the document (mode, endpoints, ports, extra hosts, DNS); create_net.c. */
int create_network_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                       struct err *err);
/* HostConfig.Links ("/child:/parent/alias"); needs the container's Name. */
int create_links_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                     struct err *err);
/* Mounts of the document (-v, --mount, --tmpfs, --volumes-from, image VOLUMEs); creates
 * missing bind sources and the volumes it names; create_vol.c. */
int create_mounts_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                      struct err *err);
/* Docker's copy-up at create: new volumes get the image's content at their path (run in a
 * child with a private mount namespace; dir is the container's directory). */
int create_copy_up(const struct cli *cli, const char *dir, const struct jv *doc, struct err *err);
/* Resource limits of the document (HostConfig Memory, NanoCpus, PidsLimit, ...), validated
 * with Docker's messages; create_res.c. */
int create_resources_doc(const struct run_opts *o, struct jv *hc, struct err *err);
/* Config.Healthcheck from the --health-* flags over the image's HEALTHCHECK (Docker's
 * merge), validated with Docker's messages; create_res.c. */
int create_health_doc(const struct run_opts *o, const struct jv *image_cfg, struct jv *cfg,
                      struct err *err);
/* --pid, --ipc, --uts, --cgroupns, --sysctl into HostConfig (PidMode, IpcMode, UTSMode,
 * CgroupnsMode, Sysctls), Docker's checks; a container:X mode names X's id. create_ns.c. */
int create_namespaces_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                          struct err *err);
/* Creates the container (state, layers dirs, rendered files, name). */
int create_container(struct cli *cli, const struct run_opts *o, const char *image_ref, char **cmd,
                     struct container **ret, struct err *err);
/* Starts c as `run` does: with attach, relays the terminal (stdin too with with_stdin and
 * the container's OpenStdin) until it exits and returns its exit code (-ECONNABORTED for a
 * detach); a start that fails sets cli's status (125/126/127). For `compose run`. */
int create_start(struct cli *cli, struct container *c, bool attach, bool with_stdin,
                 struct err *err);
