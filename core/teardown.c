#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "dnsd.h"
#include "events.h"
#include "image.h"
#include "network.h"
#include "teardown.h"
#include "volume.h"

/* A running state whose monitor is gone (killed, machine crash) is turned into "exited" so
 * that ps, rm and the next run see the truth; the init, if it outlived the monitor, is
 * killed because nothing would reap it or record its exit. */
void teardown_reconcile(const struct cli *cli, struct container *c)
{
        struct jv *h;
        pid_t mon, init;
        _cleanup_close_ int lock = -1;
        struct err e = {0};
        char net[NETWORK_NAME_MAX + 1];

        /* First, as it may reload the document. */
        if (jv_path(c->doc, "Hawser.Pending") && network_settle(cli, c, net) > 0) {
                dnsd_refresh_network(cli, net);
                dnsd_refresh(cli, c);
        }
        h = jv_get(c->doc, "Hawser");
        mon = (pid_t)jv_get_int(h, "MonitorPid", 0);
        init = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        if ((!container_is_running(c) && !container_is_restarting(c)) ||
            util_pid_alive(mon, jv_get_int(h, "MonitorStart", 0)))
                return;
        lock = container_lock(c, &e);
        if (lock < 0 || container_reload(c, &e) < 0 ||
            (!container_is_running(c) && !container_is_restarting(c)))
                return;
        h = jv_get(c->doc, "Hawser");
        mon = (pid_t)jv_get_int(h, "MonitorPid", 0);
        if (util_pid_alive(mon, jv_get_int(h, "MonitorStart", 0)))
                return;
        if (util_pid_alive(init, jv_get_int(h, "InitStart", 0)))
                kill(init, SIGKILL);
        network_detach(cli, c->id, NETWORK_VETHS_DELETE);
        cgroup_remove(c->cgroup);
        if (container_mark_exited(c, 137, "container monitor exited unexpectedly", &e) >= 0)
                teardown_exit_events(cli, c, 137);
        /* Its names go from the DNS servers, as after any exit. */
        dnsd_refresh(cli, c);
}

void teardown_exit_events(const struct cli *cli, const struct container *c, int code)
{
        events_died(cli, c, code);
        network_log_endpoints(cli, c, "disconnect");
}

void teardown_stopped(const struct cli *cli, struct container *c, int code, bool told)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};

        network_detach(cli, c->id, NETWORK_VETHS_DOWN);
        lock = container_lock(c, &e);
        /* Gone already (rm -f won the race) or unreadable: nothing to record, the rest still
         * goes, and the copy in memory says exited for it (the DNS records drop it). */
        if (container_reload(c, &e) == 0) {
                /* Killed by the OOM killer in its memory cgroup: Docker's State.OOMKilled. */
                jv_set_bool(jv_get(c->doc, "State"), "OOMKilled", cgroup_oom_killed(c->cgroup));
                if (container_mark_exited(c, code, NULL, &e) >= 0 && !told) {
                        /* Docker's "oom" comes before the die it caused. */
                        if (jv_get_bool(jv_get(c->doc, "State"), "OOMKilled"))
                                events_container(cli, c, "oom", NULL);
                        teardown_exit_events(cli, c, code);
                }
        } else
                jv_set_str(jv_get(c->doc, "State"), "Status", "exited");
        cgroup_remove(c->cgroup);
        if (jv_get_bool(jv_get(c->doc, "HostConfig"), "AutoRemove") &&
            teardown_remove(cli, c, &e) >= 0)
                volume_release_anonymous(cli, c->doc);
        dnsd_refresh(cli, c);
}

int teardown_find(const struct cli *cli, const char *ref, struct container **ret, struct err *err)
{
        int r = container_find(cli, ref, ret, err);

        if (r >= 0)
                teardown_reconcile(cli, *ret);
        return r;
}

int teardown_find_any(const struct cli *cli, const char *ref, struct container **ret,
                      struct err *err)
{
        int r = container_find_any(cli, ref, ret, err);

        if (r >= 0)
                teardown_reconcile(cli, *ret);
        return r;
}

int teardown_list(const struct cli *cli, struct container ***ret, struct err *err)
{
        int r = container_list(cli, ret, err);

        for (struct container **p = r >= 0 ? *ret : NULL; p && *p; p++)
                teardown_reconcile(cli, *p);
        return r;
}

int teardown_remove(const struct cli *cli, struct container *c, struct err *err)
{
        _cleanup_free_ char *run = cli_runroot_path(cli, "containers/%.12s", c->id);
        int r;

        _cleanup_free_ char *lower =
                strdup(jv_str(jv_path(c->doc, "GraphDriver.Data.LowerDir")) ?: "");
        struct err ignore = {0};

        container_release_name(cli, container_name(c), c->id);
        network_link_index_del(cli, c);
        network_detach(cli, c->id, NETWORK_VETHS_KEEP);
        cgroup_remove(c->cgroup);
        if (run)
                fs_rm_rf(run, err);
        /* When the init dies the kernel kills the rest of the container's processes and tears
         * its mount namespace (and the overlay on the upper dir) down asynchronously; entries
         * can still appear for a moment, so a non-empty directory is retried briefly. */
        for (int i = 0;; i++) {
                err_clear(err);
                r = fs_rm_rf(c->dir, err);
                if (r != -ENOTEMPTY || i >= 100)
                        break;
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        if (r < 0)
                return err_wrap(err, "removing container %.12s", c->id);
        events_container(cli, c, "destroy", NULL);
        /* Layers of a force-removed image go with their last container. */
        if (lower && image_release_layers(cli, lower, &ignore) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", ignore.msg);
        return 0;
}
