#pragma once
#include <errno.h>
#include <stdbool.h>

/* A message plus a few wrapped contexts; fixed so it can cross the sync socket. */
#define ERR_MSG_MAX 512

/* Error context owned by the caller; code is a positive errno once set. */
struct err {
        int code;
        bool client; /* found by what is Docker's CLI, not its daemon (err_client) */
        char msg[ERR_MSG_MAX];
};

/* Stores -code and a message; returns code (always negative). */
int err_set(struct err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set, for an error Docker's CLI reports itself (a flag's value it parses, a
 * reference it checks) rather than relaying its daemon's: printed without the daemon's
 * words. Wrapping keeps the mark; err_set clears it. */
int err_client(struct err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Like err_set with the current errno; returns -errno. */
int err_errno(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the message with "ctx: "; returns the stored negative code. */
int err_wrap(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the error. */
void err_clear(struct err *err);
