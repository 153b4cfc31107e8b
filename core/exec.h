#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "cli.h"
#include "container.h"

/* An exec's options (hawser exec's flags). */
struct exec_opts {
        bool detach, interactive, tty, privileged;
        char *workdir, *user, *detach_keys;
        char **env, **env_file;
};

/* Starts argv in the running container c as `hawser exec` does: the container's user,
 * working directory, environment (HOSTNAME, link variables, -e), capabilities, syscall
 * filter, namespaces and cgroup, each overridden by o. Returns once the command has exec'd,
 * with the pid to reap (exec_wait: the command's exit code); with o->tty, *ret_master is
 * its terminal's master. out_fd >= 0: its stdout and stderr, and it leads its own process
 * group; else it has the caller's. On failure, err and *ret_code (Docker's 126/127) say why
 * and no process is left. */
int exec_start(const struct cli *cli, const struct container *c, const struct exec_opts *o,
               char **argv, int out_fd, pid_t *ret_pid, int *ret_master, int *ret_code,
               struct err *err);
/* Waits for an exec started above: its exit code (128+signal when killed). */
int exec_wait(pid_t pid);

/* `hawser exec`'s process without its terminal: argv run in the running container c as the
 * container's own processes are (its user, working directory, environment with the link
 * variables, capabilities, syscall filter, namespaces and cgroup). Its stdout and stderr
 * are out_fd, its stdin /dev/null; it is the leader of its own process group (kill the group
 * to stop it and its children). Returns once the command has exec'd, with the pid to reap:
 * its exit status is the command's. On failure err holds the reason (no process is left). */
int exec_spawn(const struct cli *cli, const struct container *c, char **argv, int out_fd,
               pid_t *ret_pid, struct err *err);

/* The pieces of an exec that `hawser-runtime exec` (core/oci/) shares. */
#define EXEC_NS_N 6
/* Opens pid's ipc, uts, net, cgroup, pid and mnt namespaces (O_CLOEXEC) into ns, in the
 * order exec_join_namespaces enters them; on failure the caller closes those >= 0. */
int exec_open_namespaces(pid_t pid, int ns[EXEC_NS_N], struct err *err);
/* Enters the namespaces (the pid one for children only). Runs in a helper process. */
int exec_join_namespaces(const int ns[EXEC_NS_N], struct err *err);
/* In the process about to exec, inside the container's mount namespace: a new pty from its
 * devpts, the master sent over the unix socket sock (SCM_RIGHTS), the slave made the
 * controlling terminal and stdin, stdout and stderr. */
int exec_tty_child(int sock, struct err *err);
