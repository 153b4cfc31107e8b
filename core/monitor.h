#pragma once
#include "base/err.h"
#include "cli.h"
#include "container.h"

/* Frames on the attach socket (SOCK_SEQPACKET); the first byte is the type. */
enum monitor_frame {
        MONITOR_STDOUT = '1', /* monitor -> client: output bytes */
        MONITOR_STDERR = '2',
        MONITOR_EXIT = 'x',   /* monitor -> client: int32 exit code, last frame */
        MONITOR_STDIN = 'i',  /* client -> monitor: input bytes */
        MONITOR_CLOSE = 'c',  /* client -> monitor: end of input */
        MONITOR_RESIZE = 'r', /* client -> monitor: uint16 rows, uint16 cols */
};

/* Largest frame payload. */
#define MONITOR_CHUNK 32768

/* Forks the container's monitor, which clones the init, records the state and then serves
 * logs, attach clients and the exit. attach_fd (or -1) becomes the first attached client;
 * it is closed in the caller. Returns once the init has exec'd; on failure err holds the
 * container's own message and *ret_exit_code Docker's code (125/126/127). Runs in the CLI. */
int monitor_start(const struct cli *cli, struct container *c, int attach_fd, int *ret_exit_code,
                  struct err *err);
/* Path of the attach socket (malloc'd). */
char *monitor_socket_path(const struct cli *cli, const char *id);
/* Path of the json-file log (malloc'd). */
char *monitor_log_path(const struct container *c);
/* `hawser _monitor ID ATTACH_FD READY_FD`: the monitor of a container that needs it, run
 * from a sealed copy of hawser (monitor_start execs it; never by hand). */
int monitor_cmd(struct cli *cli, int argc, char **argv, struct err *err);
