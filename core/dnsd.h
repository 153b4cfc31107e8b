#pragma once
#include "base/err.h"
#include "cli.h"
#include "container.h"
#include "network.h"

/* The embedded DNS server of each bridge network: one process per network with containers
 * (`hawser _dns NETWORK`), listening on the network's gateway, port 53. Its data is a
 * records file, --runroot/dns/<network>.json, rewritten (atomically) by whoever changes a
 * container's presence on the network; the server sees the change at the next query. */

/* Rewrites the records of every network c is on, and starts a network's server when it is
 * not running. Tolerates failures (warnings): DNS must not stop a container. */
void dnsd_refresh(const struct cli *cli, const struct container *c);
/* Like dnsd_refresh for a container whose network is wired but whose process has not
 * started yet: its names (and its membership, which scopes answers) must be in place before
 * its first query. links is c's resolved links (NULL: resolved here). */
void dnsd_publish(const struct cli *cli, const struct container *c,
                  const struct network_links *links);
/* After a start's state says running: refreshes c's records only where they are missing (a
 * rebuild of a network's records between dnsd_publish and that save counted only containers
 * whose state said running). A read per network, no write, in the common case. */
void dnsd_confirm(const struct cli *cli, const struct container *c);
/* Rewrites the records of one network (by name). */
void dnsd_refresh_network(const struct cli *cli, const char *network);
/* Supervision, for a running container's monitor: adds an inotify watch (IN_CLOSE_WRITE)
 * on the lock of each bridge network's server c is on; a server that dies closes it. */
void dnsd_watch(const struct cli *cli, const struct container *c, int inotify_fd);
/* Starts the server of each bridge network c is on that has none running (a killed server
 * comes back without any user command). */
void dnsd_revive(const struct cli *cli, const struct container *c);
/* Stops a network's server (network rm) and removes its files. */
void dnsd_stop(const struct cli *cli, const char *network);
/* The hidden command that runs a network's server in the foreground. */
int dnsd_cmd(struct cli *cli, int argc, char **argv, struct err *err);
/* The search domain containers get ("hawser.internal"). */
#define DNSD_DOMAIN "hawser.internal"
