#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

#define ATTACH_KEYS_MAX 16

struct attach_opts {
        bool tty;                   /* the container has a terminal: raw mode, resize, no stderr */
        bool send_stdin;            /* forward our stdin (-i) */
        bool detachable;            /* the detach keys detach */
        char keys[ATTACH_KEYS_MAX]; /* the detach sequence (attach_detach_keys) */
        size_t n_keys;
        pid_t proxy_pid; /* forward SIGINT/SIGTERM/... to this pid (non-tty sig-proxy), or 0 */
};

/* --detach-keys as Docker reads them: comma-separated single characters or ctrl-a..ctrl-z,
 * ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_ ; NULL or "": Docker's ctrl-p,ctrl-q.
 * "Invalid detach keys (SPEC) provided" otherwise. */
int attach_detach_keys(const char *spec, char keys[ATTACH_KEYS_MAX], size_t *ret_n,
                       struct err *err);
/* Scans n bytes of input for the detach sequence; *state is the matched length so far
 * (start at 0). True when the sequence completes. */
bool attach_detach_seen(const char *keys, size_t n_keys, const char *buf, size_t n, size_t *state);
/* Relays between our stdio and a monitor attach socket until the container exits (returns
 * its exit code), the user detaches (returns 0) or the monitor goes away (-EPIPE). */
int attach_relay(int sock, const struct attach_opts *o, struct err *err);
/* Connects to a running container's attach socket. */
int attach_connect(const char *path, struct err *err);
