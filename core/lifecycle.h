#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "cli.h"
#include "container.h"

/* Sends signal (0: the container's StopSignal, else SIGTERM), waits up to timeout seconds (-1: the container's StopTimeout or
 * 10), then SIGKILL; returns once the monitor has recorded the exit. */
int lifecycle_stop(const struct cli *cli, struct container *c, long long timeout, int signal,
                   struct err *err);
/* Undoes a freeze nobody holds: a container recorded as running whose cgroup is frozen,
 * while no process holds its lock (whoever freezes on its own behalf, a commit, holds it
 * meanwhile; one killed midway leaves the freeze behind). */
void lifecycle_heal_freeze(struct container *c);
/* Waits until the container's monitor has exited (the exit is recorded), at most
 * timeout_ms (-1: forever). -ETIMEDOUT otherwise. */
int lifecycle_wait_monitor(const struct container *c, int timeout_ms, struct err *err);
/* What `rm [-f] [-v]`, `kill -s` and `pause`/`unpause` do to one container, with their
 * messages. */
int lifecycle_remove(struct cli *cli, struct container *c, bool force, bool volumes,
                     struct err *err);
int lifecycle_kill(struct cli *cli, struct container *c, int signal, struct err *err);
int lifecycle_pause(struct cli *cli, struct container *c, bool pause, struct err *err);
