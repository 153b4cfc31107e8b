#pragma once
/* `hawser compose`: the commands (core/compose/cmd/), on the model core/compose/ loads and on
 * the container, network and volume code every other command uses. */
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include "../../base/err.h"
#include "../../base/json.h"
#include "../../cli.h"
#include "../../container.h"
#include "../../create.h"

/* The labels Compose v2 puts on what it creates. */
#define LABEL_PROJECT   "com.docker.compose.project"
#define LABEL_SERVICE   "com.docker.compose.service"
#define LABEL_NUMBER    "com.docker.compose.container-number"
#define LABEL_ONEOFF    "com.docker.compose.oneoff"
#define LABEL_HASH      "com.docker.compose.config-hash"
#define LABEL_IMAGE     "com.docker.compose.image"
#define LABEL_WORKDIR   "com.docker.compose.project.working_dir"
#define LABEL_FILES     "com.docker.compose.project.config_files"
#define LABEL_VERSION   "com.docker.compose.version"
#define LABEL_DEPENDS   "com.docker.compose.depends_on"
#define LABEL_NETWORK   "com.docker.compose.network"
#define LABEL_VOLUME    "com.docker.compose.volume"
#define LABEL_REPLACE   "com.docker.compose.replace"
#define COMPOSE_VERSION "2.24.0-hawser"

/* The project a command works on: its model (NULL for commands that need only the name,
 * when no file is found) and where it came from. */
struct project {
        struct cli *cli;
        struct jv *model;
        char *name;
        char *workdir;      /* the project directory */
        char *config_files; /* the files, ','-joined (a label) */
        char **services;    /* the model's services, in dependency order */
        bool plain;         /* progress lines without a terminal's redraw */
        bool quiet;         /* --progress quiet */
        bool color;         /* logs coloured (--ansi, a terminal) */
};

/* A container of the project with what its labels say. */
struct member {
        struct container *c;
        char *service; /* a copy: reloading c replaces its document */
        int number;
        bool oneoff;
};

struct members {
        struct member *v;
        size_t n;
};

/* cmd.c */
/* The containers of the project (every one, running or not; oneoff ones only with
 * with_oneoff), sorted by service order, then number. services (NULL: all) narrows. */
int project_members(const struct project *p, char *const *services, bool with_oneoff,
                    struct members *ret, struct err *err);
void members_free(struct members *m);
const char *member_label(const struct container *c, const char *key);
/* One progress line on stderr, as Compose v2 prints them without a terminal:
 * " Container p-web-1  Started". */
void progress(const struct project *p, const char *kind, const char *name, const char *state);
/* The model's service (NULL when none) and the services (each named one must exist:
 * -ENOENT "no such service: X") plus, with deps, what they depend on, in start order. */
const struct jv *project_service(const struct project *p, const char *name);
int project_select(const struct project *p, char *const *names, bool deps, char ***ret,
                   struct err *err);
/* The container name of a service's replica n (container_name, or P-S-N). */
char *project_container_name(const struct project *p, const char *service, int n);
/* Whether the project has a model (a file was found); -ENOENT with compose's words if not. */
int project_need_model(const struct project *p, struct err *err);

/* service.c */
/* What `create` needs for replica number of service: the run options, the image reference
 * and the command. Strings it makes are owned by the struct. */
struct service_run {
        struct run_opts o;
        char *image;
        char **cmd;
        char **pool; /* strings o's scalar fields point into */
        struct run_endpoint *endpoints;
        char *hash;
};
int service_run_build(const struct project *p, const char *service, int number, bool oneoff,
                      struct service_run *ret, struct err *err);
void service_run_free(struct service_run *s);
/* The config hash of a service (sha256 of its model, replicas left out). Malloc'd. */
char *service_hash(const struct jv *svc);
/* The image a service runs: image:, else "<project>-<service>" (built). Malloc'd. */
char *service_image(const struct project *p, const char *service);
/* The replicas up wants: --scale over scale/deploy.replicas, else 1. */
int service_replicas(const struct jv *svc);

/* up.c */
/* Makes the images of the services ready, as up does before creating: builds those with a
 * build section (always with force_build; never with no_build), pulls the others when
 * missing, or always with pull "always" (pull: NULL, "always", "missing", "never";
 * a service's pull_policy counts when pull is NULL). */
int images_prepare(struct project *p, char *const *services, bool force_build, bool no_build,
                   const char *pull, struct err *err);
/* `compose run`'s dependencies: creates the project's networks and volumes and brings up
 * what service depends on (recursively), waiting for their conditions, as up would. */
int up_dependencies(struct project *p, const char *service, struct err *err);
/* Waits for what service's depends_on (deps: {S: {condition, required}}; NULL: the model's)
 * asks of each dependency (started: nothing; healthy; completed successfully), printing v2's
 * Waiting/Healthy/Exited lines; v2's errors ("dependency failed to start: ...", "service
 * \"db\" didn't complete successfully: exit 1", "web is missing dependency db"). */
int up_wait_dependencies(struct project *p, const char *service, const struct jv *deps,
                         struct err *err);
/* Creates the project's networks and volumes that the services use (all when NULL). */
int resources_prepare(struct project *p, char *const *services, struct err *err);
int compose_up(struct project *p, int argc, char **argv, struct err *err);
int compose_create(struct project *p, int argc, char **argv, struct err *err);
int compose_down(struct project *p, int argc, char **argv, struct err *err);
/* Removes one container of the project (stopping it first with its service's grace). */
int member_remove(const struct project *p, struct container *c, long long timeout, struct err *err);
/* Stops one container (its stop signal, timeout -1: the service's grace period). */
int member_stop(const struct project *p, struct container *c, long long timeout, struct err *err);

/* logs.c */
struct logs_opts {
        bool follow, timestamps, no_color, no_prefix;
        long long tail; /* -1: all */
        const char *since, *until;
        bool stop_on_exit;                        /* follow until the first exits */
        volatile const sig_atomic_t *interrupted; /* follow until it is set (may be NULL) */
};
/* Prints the members' logs, each line prefixed "service-N  | " (coloured per service),
 * following them with o->follow until every one has exited (or stop_on_exit: the first). */
int logs_print(const struct project *p, const struct members *m, const struct logs_opts *o,
               struct err *err);
int compose_logs(struct project *p, int argc, char **argv, struct err *err);

/* ops.c: the commands that act on existing containers. */
int compose_ps(struct project *p, int argc, char **argv, struct err *err);
int compose_start(struct project *p, int argc, char **argv, struct err *err);
int compose_stop(struct project *p, int argc, char **argv, struct err *err);
int compose_restart(struct project *p, int argc, char **argv, struct err *err);
int compose_rm(struct project *p, int argc, char **argv, struct err *err);
int compose_kill(struct project *p, int argc, char **argv, struct err *err);
int compose_pause(struct project *p, int argc, char **argv, struct err *err);
int compose_unpause(struct project *p, int argc, char **argv, struct err *err);
int compose_top(struct project *p, int argc, char **argv, struct err *err);
int compose_port(struct project *p, int argc, char **argv, struct err *err);
int compose_images(struct project *p, int argc, char **argv, struct err *err);
int compose_exec(struct project *p, int argc, char **argv, struct err *err);
int compose_run(struct project *p, int argc, char **argv, struct err *err);
int compose_wait(struct project *p, int argc, char **argv, struct err *err);
int compose_cp(struct project *p, int argc, char **argv, struct err *err);
int compose_events(struct project *p, int argc, char **argv, struct err *err);
int compose_config(struct project *p, int argc, char **argv, struct err *err);
int compose_build(struct project *p, int argc, char **argv, struct err *err);
int compose_pull(struct project *p, int argc, char **argv, struct err *err);
int compose_push(struct project *p, int argc, char **argv, struct err *err);
int compose_ls(struct project *p, int argc, char **argv, struct err *err);
