#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

/* Per-container cgroup "hawser/<id>": the freezer hierarchy on cgroup v1, the unified
 * hierarchy on v2. Used for pause/unpause, top and exec placement. */

/* Creates the cgroup and moves pid into it. */
int cgroup_enter(const char *id, pid_t pid, struct err *err);
/* Moves pid into an existing container cgroup (exec). */
int cgroup_join(const char *id, pid_t pid, struct err *err);
/* Freezes (true) or thaws (false) every process of the container and waits until done. */
int cgroup_freeze(const char *id, bool freeze, struct err *err);
/* Pids in the cgroup (malloc'd, count in *ret_n). */
int cgroup_pids(const char *id, pid_t **ret, size_t *ret_n, struct err *err);
/* Removes the cgroup (thawing it first); missing is fine. */
void cgroup_remove(const char *id);
