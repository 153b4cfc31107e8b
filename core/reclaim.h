#pragma once
#include "container.h"

/* What a killed hawser or monitor leaves in the kernel and in the run root: host veth ends,
 * address leases and published-port elements whose container is gone. */

/* Removes those of every owner that is not in all (system prune). */
void reclaim_orphans(const struct cli *cli, struct container **all);
/* Removes those of the container id only (rm of a container whose state could not say
 * what it held). */
void reclaim_container(const struct cli *cli, const char *id);
