/* `update`: a container's resource limits, changed on a running container (its cgroups
 * rewritten at once) or a stopped one (the next start uses them). Only the flags given
 * change; the result is validated as a whole, as Docker does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cgroup.h"
#include "commands.h"
#include "create.h"
#include "events.h"
#include "opt.h"
#include "teardown.h"

#define UO(f) offsetof(struct run_opts, f)
static const struct opt_def update_defs[] = {
        {"memory", 'm', OPT_STR, UO(memory)},
        {"memory-swap", 0, OPT_STR, UO(memory_swap)},
        {"memory-reservation", 0, OPT_STR, UO(memory_reservation)},
        {"cpus", 0, OPT_STR, UO(cpus)},
        {"cpu-shares", 'c', OPT_STR, UO(cpu_shares)},
        {"cpu-period", 0, OPT_STR, UO(cpu_period)},
        {"cpu-quota", 0, OPT_STR, UO(cpu_quota)},
        {"cpuset-cpus", 0, OPT_STR, UO(cpuset_cpus)},
        {"cpuset-mems", 0, OPT_STR, UO(cpuset_mems)},
        {"pids-limit", 0, OPT_STR, UO(pids_limit)},
        {"restart", 0, OPT_STR, UO(restart)},
        {"blkio-weight", 0, OPT_STR, UO(blkio_weight)},
        OPT_END,
};

/* The HostConfig keys update may change. */
static const char *const keys[] = {"Memory",     "MemorySwap", "MemoryReservation", "NanoCpus",
                                   "CpuShares",  "CpuPeriod",  "CpuQuota",          "CpusetCpus",
                                   "CpusetMems", "PidsLimit",  "BlkioWeight"};

/* A flag not given keeps the container's value (as text, for the shared validation). */
static char *keep(char *given, const struct jv *hc, const char *key, char **owned)
{
        const struct jv *v = jv_get(hc, key);

        if (given || !v)
                return given;
        if (jv_type(v) == JV_STRING)
                *owned = *jv_str(v) ? strdup(jv_str(v)) : NULL;
        else
                *owned = jv_int(v) ? util_printf("%lld", jv_int(v)) : NULL;
        return *owned;
}

static int update_one(struct cli *cli, const struct run_opts *given, const char *ref,
                      struct err *err)
{
        _cleanup_jv_ struct jv *hc = jv_new_object();
        struct run_opts o = *given;
        struct container *c = NULL;
        char *owned[11] = {0};
        struct jv *chc;
        int r = teardown_find(cli, ref, &c, err), lock = -1;

        if (r >= 0)
                r = lock = container_lock(c, err);
        if (r >= 0)
                r = container_reload(c, err);
        if (r < 0)
                goto out;
        chc = jv_get(c->doc, "HostConfig");
        o.memory = keep(o.memory, chc, "Memory", &owned[0]);
        o.memory_swap = keep(o.memory_swap, chc, "MemorySwap", &owned[1]);
        o.memory_reservation = keep(o.memory_reservation, chc, "MemoryReservation", &owned[2]);
        o.cpu_shares = keep(o.cpu_shares, chc, "CpuShares", &owned[3]);
        o.cpu_period = keep(o.cpu_period, chc, "CpuPeriod", &owned[4]);
        o.cpu_quota = keep(o.cpu_quota, chc, "CpuQuota", &owned[5]);
        o.cpuset_cpus = keep(o.cpuset_cpus, chc, "CpusetCpus", &owned[6]);
        o.cpuset_mems = keep(o.cpuset_mems, chc, "CpusetMems", &owned[7]);
        o.pids_limit = keep(o.pids_limit, chc, "PidsLimit", &owned[8]);
        o.blkio_weight = keep(o.blkio_weight, chc, "BlkioWeight", &owned[10]);
        if (!o.cpus && jv_get_int(chc, "NanoCpus", 0))
                o.cpus = owned[9] =
                        util_printf("%.9f", (double)jv_get_int(chc, "NanoCpus", 0) / 1e9);
        /* --cpus replaces a period/quota pair and the other way round. */
        if (given->cpus)
                o.cpu_period = o.cpu_quota = NULL;
        if (given->cpu_period || given->cpu_quota)
                o.cpus = NULL;
        /* The monitor reads the policy when the container next exits. */
        if (given->restart && jv_get_bool(chc, "AutoRemove") && strcmp(given->restart, "no") &&
            *given->restart) {
                r = err_set(err, -EINVAL,
                            "Restart policy cannot be updated because AutoRemove is enabled for "
                            "the container");
                goto out;
        }
        o.rm = false;
        r = create_resources_doc(&o, hc, err);
        for (size_t i = 0; r >= 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
                jv_set(chc, keys[i], jv_get(hc, keys[i]) ? jv_copy(jv_get(hc, keys[i])) : NULL);
        if (r >= 0 && given->restart)
                jv_set(chc, "RestartPolicy", jv_copy(jv_get(hc, "RestartPolicy")));
        if (r >= 0 && container_is_running(c)) {
                pid_t init = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
                _cleanup_free_ pid_t *pids = NULL;
                size_t np = 0;
                struct cgroup_limits l;
                cgroup_limits_of(chc, &l);
                r = cgroup_apply(c->cgroup, &l, init, err);
                /* Every process already running goes in too, not only the init. */
                if (r >= 0)
                        r = cgroup_container_pids(c->cgroup, init, container_own_pidns(c), &pids,
                                                  &np, err);
                for (size_t i = 0; r >= 0 && i < np; i++)
                        if (pids[i] != init)
                                r = cgroup_join(c->cgroup, pids[i], err);
        }
        if (r >= 0)
                r = container_save(c, err);
        if (r >= 0)
                events_container(cli, c, "update", NULL);
out:
        for (size_t i = 0; i < 11; i++)
                free(owned[i]);
        if (lock >= 0)
                close(lock);
        if (r < 0 && c)
                err_wrap(err, "Cannot update container %s", c->id);
        container_free(c);
        return r;
}

int cmd_update(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct run_opts o = {0};
        int n = opt_parse(update_defs, argc - 1, argv + 1, false, &o, err), r = 0;

        if (n < 0)
                return cli_usage_error(cli, "update", err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, "update", err,
                                       "\"hawser update\" requires at least 1 argument.");
        if (n == argc - 1)
                return err_set(err, -EINVAL,
                               "you must provide one or more flags when using this command");
        for (int i = 1; i <= n; i++) {
                struct err e = {0};
                if (update_one(cli, &o, argv[i], &e) >= 0) {
                        printf("%s\n", argv[i]);
                        continue;
                }
                if (r < 0)
                        cli_print_daemon_error(err->msg);
                *err = e;
                r = -e.code;
        }
        return r;
}
