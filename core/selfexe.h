#pragma once

#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* A sealed in-memory copy of the running hawser binary (a memfd, close-on-exec; the caller
 * owns it). A process that enters a container executes from such a copy where a container
 * process could otherwise reach the host's binary through /proc/PID/exe: the copy cannot be
 * written through (CVE-2019-5736's way in). Costs a copy of the binary (~2 MiB). */
int selfexe_sealed(struct err *err);
/* Whether a container (its HostConfig) needs hawser's processes in it to run from a sealed
 * copy: only a holder of CAP_SYS_PTRACE (or --privileged) gets past the not-dumpable guard
 * that keeps the others from /proc/PID/exe. */
bool selfexe_needed(const struct jv *host_config);
/* Re-executes this process from a sealed copy with argv (descriptors without FD_CLOEXEC are
 * kept); the new process learns the binary's path from $HAWSER_BINARY. Returns only if that
 * failed: the caller goes on from the binary. */
void selfexe_reexec(const struct cli *cli, char *const argv[]);
