#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

struct attach_opts {
        bool tty;        /* the container has a terminal: raw mode, resize, no stderr */
        bool send_stdin; /* forward our stdin (-i) */
        bool detachable; /* ctrl-p ctrl-q detaches */
        pid_t proxy_pid; /* forward SIGINT/SIGTERM/... to this pid (non-tty sig-proxy), or 0 */
};

/* Relays between our stdio and a monitor attach socket until the container exits (returns
 * its exit code), the user detaches (returns 0) or the monitor goes away (-EPIPE). */
int attach_relay(int sock, const struct attach_opts *o, struct err *err);
/* Connects to a running container's attach socket. */
int attach_connect(const char *path, struct err *err);
