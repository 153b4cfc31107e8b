#pragma once
#include "cli.h"

struct jv;
struct container;

/* Container commands (contract in cli.h). */
int cmd_create(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_run(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_start(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_attach(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_exec(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_ps(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_stop(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_kill(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_restart(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_rm(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_logs(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_wait(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_rename(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_pause(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_update(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_stats(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_unpause(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_system(struct cli *cli, int argc, char **argv, struct err *err);
/* system.c: `version [-f]` and `info [-f]` in Docker's shape. */
int cmd_version(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_info(struct cli *cli, int argc, char **argv, struct err *err);
/* completion.c: `completion bash|zsh|fish`. */
int cmd_completion(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_top(struct cli *cli, int argc, char **argv, struct err *err);
/* compose/cmd/: `compose` (Docker Compose v2's command line on the compose file's model). */
int compose_cmd(struct cli *cli, int argc, char **argv, struct err *err);
/* cp.c: `cp` (also `container cp`): files between a container and the host. */
int cmd_cp(struct cli *cli, int argc, char **argv, struct err *err);
/* events_cmd.c: `events` and `system events`, read from the journal (core/events.h). */
int cmd_events(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_system_events(struct cli *cli, int argc, char **argv, struct err *err);
/* ps.c: `system df -v`'s container rows, ps's fields with Docker's df additions (Size: the
 * writable layer; LocalVolumes; Mounts: the volume names); *ret a malloc'd array of *ret_n
 * owned documents. */
int ps_df_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err);
/* ps.c: the object `ps --format` sees for one container (ID, Image, Command, CreatedAt,
 * RunningFor, Ports, State, Status, Size, Names, Labels, LabelMap, Mounts, Networks), ID and
 * Command cut as ps cuts them unless !trunc; owned by the caller. For `compose ps`. */
struct jv *ps_container_row(const struct cli *cli, const struct container *c, bool trunc);
/* ps.c: `top`'s process lines of a running container, tab-separated (UID PID PPID C STIME TTY
 * TIME CMD, no title line); *ret a malloc'd strv. For `compose top`. */
int ps_top_lines(const struct container *c, char ***ret, struct err *err);
/* events_cmd.c: follows the journal from now on, as `events` without --since, handing each
 * new event (the journal's object, borrowed) to fn; ends at SIGINT or SIGTERM, returning
 * 128+signo (Docker's CLI's status). For `compose events`. */
int events_follow(const struct cli *cli, void (*fn)(const struct jv *ev, void *ud), void *ud,
                  struct err *err);
/* container_cmd.c: the container group; inspect narrowed to containers or images. */
int container_cmd(struct cli *cli, int argc, char **argv, struct err *err);
int container_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err);
struct prune_filter;
/* Removes the stopped containers passing f (may be NULL), printing Docker's "Deleted
 * Containers:" section; adds their layers' bytes to *reclaimed. */
int container_prune(struct cli *cli, const struct prune_filter *f, long long *reclaimed,
                    struct err *err);
