#pragma once
#include "container.h"

/* Above the stores and networking: what turns a stale state into the truth, and what removes a
 * container. Commands call it explicitly (ps, inspect, rm, start, exec, ...); the container
 * store (container.h) never does. */

/* Brings a loaded state up to date: finishes a network connect or disconnect that was killed
 * halfway; a running state whose monitor is gone (killed, machine crash) becomes "exited",
 * its network is detached, its cgroup removed, and an init that outlived the monitor is
 * killed (nothing would reap it or record its exit). */
void teardown_reconcile(const struct cli *cli, struct container *c);
/* What follows a container's exit (its monitor reaped the init with code): published ports
 * and leases go (the veths go with the network namespace), the state says exited (then the
 * exit's events, unless told: a restart policy's wait told them), the cgroup goes, an --rm
 * container is removed with its anonymous volumes, and the DNS records drop it. */
void teardown_stopped(const struct cli *cli, struct container *c, int code, bool told);
/* The events of an exit recorded in c's state: die, its volumes' unmount, its networks'
 * disconnect (core/events.h), in Docker's order. */
void teardown_exit_events(const struct cli *cli, const struct container *c, int code);
/* container_find, container_find_any and container_list, each result reconciled. */
int teardown_find(const struct cli *cli, const char *ref, struct container **ret, struct err *err);
int teardown_find_any(const struct cli *cli, const char *ref, struct container **ret,
                      struct err *err);
int teardown_list(const struct cli *cli, struct container ***ret, struct err *err);
/* Removes the container's name, link index entries, published ports and leases, cgroup,
 * runtime and state directories, and the layers of a force-removed image it was the last
 * user of. The container must not be running. */
int teardown_remove(const struct cli *cli, struct container *c, struct err *err);
