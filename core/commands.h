#pragma once
#include "cli.h"

struct jv;

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
/* cp.c: `cp` (also `container cp`): files between a container and the host. */
int cmd_cp(struct cli *cli, int argc, char **argv, struct err *err);
/* events_cmd.c: `events` and `system events`, read from the journal (core/events.h). */
int cmd_events(struct cli *cli, int argc, char **argv, struct err *err);
int cmd_system_events(struct cli *cli, int argc, char **argv, struct err *err);
/* ps.c: `system df -v`'s container rows, ps's fields with Docker's df additions (Size: the
 * writable layer; LocalVolumes; Mounts: the volume names); *ret a malloc'd array of *ret_n
 * owned documents. */
int ps_df_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err);
/* container_cmd.c: the container group; inspect narrowed to containers or images. */
int container_cmd(struct cli *cli, int argc, char **argv, struct err *err);
int container_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err);
struct prune_filter;
/* Removes the stopped containers passing f (may be NULL), printing Docker's "Deleted
 * Containers:" section; adds their layers' bytes to *reclaimed. */
int container_prune(struct cli *cli, const struct prune_filter *f, long long *reclaimed,
                    struct err *err);
