#pragma once
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"
#include "container.h"

/* The event journal behind `hawser events`. With no daemon to keep events in memory, every
 * command and monitor appends each event to --root/events/events.log as one line of Docker's
 * API message ({"Type","Action","Actor":{"ID","Attributes"},"scope","time","timeNano"}), in
 * one write() with O_APPEND, so lines of concurrent writers never interleave. A line that
 * would take the file past EVENTS_MAX_BYTES first moves it to events.log.1 (replacing the one
 * before): the journal keeps at most about twice that. Under --root, not --runroot: what it
 * tells of (containers, images, networks, volumes) outlives a reboot, and so does its history.
 * No fsync: an event is worth less than the start it would slow down. */

#define EVENTS_MAX_BYTES (1024 * 1024)
/* Longer lines (labels of that size) are dropped rather than cut. */
#define EVENTS_LINE_MAX (64 * 1024)

/* Appends one event: type "container", "image", "network" or "volume", action and actor id as
 * Docker names them, attrs an object of string values (borrowed; NULL: none). Never fails: an
 * event that cannot be written is dropped, said on stderr only when $HAWSER_DEBUG is set. */
void events_log(const struct cli *cli, const char *type, const char *action, const char *id,
                const struct jv *attrs);
/* The same with the attributes as key, value, ... pairs ended by NULL; a NULL value leaves
 * its key out. */
void events_logv(const struct cli *cli, const char *type, const char *action, const char *id, ...)
        __attribute__((sentinel));
/* A container's event, with Docker's attributes: its labels, "image" (Config.Image) and
 * "name", then the key, value pairs (NULL-ended; they win over labels of the same key). */
void events_container(const struct cli *cli, const struct container *c, const char *action, ...)
        __attribute__((sentinel));
/* What a start (re)records: a volume "mount" event for each of its volume mounts (container,
 * destination, driver, propagation, read/write), then "start". */
void events_started(const struct cli *cli, const struct container *c);
/* What follows an exit (the state saying so): "die" (exitCode, execDuration: the seconds since
 * State.StartedAt), then a volume "unmount" for each of its volume mounts. */
void events_died(const struct cli *cli, const struct container *c, int code);
/* An image's event. Docker's attributes: the image's labels (id, 64 hex or "sha256:...",
 * while it exists) and "name". The actor is "sha256:<id>", or actor when given (pull and push
 * name the reference); name NULL is the id too (untag, delete, import, load, save). */
void events_image(const struct cli *cli, const char *id, const char *actor, const char *name,
                  const char *action);

/* Reading. The journal's files, oldest first (malloc'd; NULL without memory). */
char *events_dir(const struct cli *cli);
char *events_path(const struct cli *cli, int generation); /* 0: current, 1: previous */
/* One line of the journal (without its newline): *ret an object as written (caller puts),
 * *ret_ns its timeNano. -EINVAL when it is not an event (a line cut by a full disk). */
int events_parse_line(const char *line, struct jv **ret, int64_t *ret_ns);
