/* The sequencer: attach and detach at start and exit, connect and disconnect of a running container. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/events.h"
#include "net/ipam.h"
#include "net/link.h"
#include "internal.h"

int network_attach(const struct cli *cli, struct container *c, const struct network_links *links,
                   int netns_fd, struct network_hold *hold, struct err *err)
{
        const struct network_endpoint *primary;
        struct network_view v;
        int r = links_check_running(links, err);

        network_view_read(c, &v);
        for (size_t i = 0; r >= 0 && i < v.n; i++)
                r = endpoint_attach(cli, c, &v.ep[i], (int)i, netns_fd, err);
        /* Ports are published to the first address on a bridge (a macvlan or ipvlan
         * interface is not reachable from the host, as in Docker). */
        primary = NULL;
        for (size_t i = 0; r >= 0 && !primary && i < v.n; i++)
                if (v.ep[i].bridged && v.ep[i].ip.s_addr)
                        primary = &v.ep[i];
        if (primary)
                r = hold->held ? 0 : publish_all(cli, c, primary, hold, err);
        if (r >= 0)
                r = hosts_render(cli, c, &v, links, err);
        if (r >= 0)
                view_write(c, &v);
        if (r < 0) {
                network_hold_close(hold);
                network_detach(cli, c->id, NETWORK_VETHS_DELETE);
        }
        return r;
}

void attach_event(const struct cli *cli, const struct network *n, const char *action,
                  const char *container_id)
{
        events_logv(cli, "network", action, n->id, "container", container_id, "name", n->name,
                    "type", jv_get_str(n->doc, "Driver") ?: "bridge", NULL);
}

void network_log_endpoints(const struct cli *cli, const struct container *c, const char *action)
{
        enum network_mode mode = network_mode_of(c->doc, NULL);
        struct network_view v;

        /* Docker's pseudo networks, with the ids `network ls` gives them. */
        if (mode == NETWORK_MODE_NONE)
                events_logv(cli, "network", action, NETWORK_ID_NONE, "container", c->id, "name",
                            "none", "type", "null", NULL);
        if (mode == NETWORK_MODE_HOST)
                events_logv(cli, "network", action, NETWORK_ID_HOST, "container", c->id, "name",
                            "host", "type", "host", NULL);
        if (mode != NETWORK_MODE_BRIDGE)
                return;
        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++) {
                struct network n = {0};
                struct err e = {0};
                if (network_load(cli, v.ep[i].net, &n, &e) == 0)
                        attach_event(cli, &n, action, c->id);
                network_release(&n);
        }
}

void network_hold_close(struct network_hold *hold)
{
        for (size_t i = 0; i < hold->n; i++)
                close(hold->fds[i]);
        free(hold->fds);
        free(hold->proxies);
        *hold = (struct network_hold){0};
}

/* Everything is found from deterministic names and lease owners, not from the state
 * document, so a monitor killed halfway is cleaned up too. */
struct owned_ports {
        const char *id;
        struct net_nft_port *v;
        size_t n, k;
};

/* Moves the ports whose container address is leased to q->id in dir to the front. */
/* The ports of one network's leases that the container owns, unpublished under the lease
 * directory's lock: an address freed and leased to another container meanwhile (an rm -f
 * racing the monitor's own teardown, then a start) is never taken for this one's. */
static void ports_owned(const char *dir, void *ud)
{
        struct owned_ports *q = ud;
        _cleanup_close_ int lock = net_ipam_lock(dir, &(struct err){0});
        size_t start = q->k;
        struct err e = {0};
        char owner[80];

        if (lock < 0)
                return;
        for (size_t i = q->k; i < q->n; i++)
                if ((q->v[i].v6 ? net_ipam_owner6(dir, &q->v[i].ctr_ip6, owner, sizeof(owner))
                                : net_ipam_owner(dir, q->v[i].ctr_ip, owner, sizeof(owner))) == 0 &&
                    !strcmp(owner, q->id)) {
                        struct net_nft_port t = q->v[q->k];
                        q->v[q->k++] = q->v[i];
                        q->v[i] = t;
                }
        if (q->k > start && net_nft_unpublish(q->v + start, q->k - start, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
}

static void release_leases(const char *dir, void *ud)
{
        struct err e = {0};

        if (net_ipam_release_owner(dir, ud, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
}

void network_detach(const struct cli *cli, const char *id, enum network_veths veths)
{
        struct owned_ports q = {.id = id};
        struct err e = {0};
        char veth[NETWORK_MAX_ENDPOINTS][16];
        const char *names[NETWORK_MAX_ENDPOINTS];

        /* Published ports point at the container's addresses: the leases it owns. */
        if (net_nft_list_ports(&q.v, &q.n, &e) == 0 && q.n)
                network_each_run_dir(cli, "leases", ports_owned, &q);
        free(q.v);
        /* A veth whose container has exited goes with its namespace, which the kernel
         * frees in the background (deleting it here would cost a grace period, ~20 ms).
         * Until then its peer still has the address and MAC (derived from the address) the
         * next container may lease: taken down, the bridge port forgets that MAC and carries
         * nothing, so the bridge cannot deliver the new container's traffic to the old one
         * (a reset instead of the connection). Before the leases go, for that reason. */
        for (int i = 0; veths != NETWORK_VETHS_KEEP && i < NETWORK_MAX_ENDPOINTS; i++) {
                endpoint_veth_name(id, i, veth[i]);
                names[i] = veth[i];
                if (veths == NETWORK_VETHS_DELETE && net_link_delete(veth[i], &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        if (veths == NETWORK_VETHS_DOWN && net_link_set_down(names, NETWORK_MAX_ENDPOINTS, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        network_each_run_dir(cli, "leases", release_leases, (void *)id);
}

/* A running container's macvlan or ipvlan interface lives only in its namespace: it is
 * deleted there (eth<N>, N from the endpoint's deterministic name). */
static void delete_sublink(const struct cli *cli, const struct container *c, const char *net,
                           const char *veth)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        _cleanup_close_ int fd = -1;
        struct network n = {0};
        struct err e = {0};
        char p[64], name[16];
        int idx = -1;

        if (!container_is_running(c) || pid <= 0 || network_load(cli, net, &n, &e) < 0)
                return;
        for (int i = 0; i < NETWORK_MAX_ENDPOINTS && idx < 0; i++) {
                char v[16];
                endpoint_veth_name(c->id, i, v);
                if (!strcmp(v, veth))
                        idx = i;
        }
        if (n.driver != NETWORK_DRIVER_BRIDGE && idx >= 0) {
                snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
                snprintf(name, sizeof(name), "eth%d", idx);
                fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && net_link_delete_in(fd, name, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        network_release(&n);
}

/* A connect or disconnect of a running container records what it is doing in the state
 * (Hawser.Pending: {"Connect" or "Disconnect": NETWORK, "Index": N}) before it touches the
 * kernel, and clears it when done. One killed halfway leaves the record; whoever next holds
 * the container's lock finishes the job: a disconnect is completed, a connect rolled back
 * (its veth, its lease and its endpoint go). */
int attach_finish_pending(const struct cli *cli, struct container *c,
                          char gone[NETWORK_NAME_MAX + 1])
{
        struct jv *pending = jv_path(c->doc, "Hawser.Pending");
        const char *connect = jv_get_str(pending, "Connect");
        const char *net = connect ? connect : jv_get_str(pending, "Disconnect");
        int idx = (int)jv_get_int(pending, "Index", -1);
        _cleanup_free_ char *leases = NULL;
        const struct network_endpoint *ep;
        struct network_view v;
        struct err e = {0};
        char veth[16];

        gone[0] = '\0';
        if (!net)
                return 0;
        /* Copied: the record (and net with it) is dropped below. */
        snprintf(gone, NETWORK_NAME_MAX + 1, "%s", net);
        net = gone;
        network_view_read(c, &v);
        ep = network_view_find(&v, net);
        leases = store_lease_dir(cli, net);
        if (idx >= 0 && idx < NETWORK_MAX_ENDPOINTS)
                endpoint_veth_name(c->id, idx, veth);
        else
                snprintf(veth, sizeof(veth), "%s", ep ? ep->veth : "");
        if (*veth && net_link_delete(veth, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        delete_sublink(cli, c, net, veth);
        if (leases && net_ipam_release_owner(leases, c->id, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        view_drop(c, net);
        jv_del(jv_get(c->doc, "Hawser"), "Pending");
        if (container_save(c, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (container_is_running(c))
                hosts_render(cli, c, NULL, NULL, &e);
        return 1;
}

int attach_set_pending(struct container *c, const char *op, const char *net, int idx,
                       struct err *err)
{
        struct jv *p = jv_new_object();

        if (!jv_get(c->doc, "Hawser"))
                jv_set(c->doc, "Hawser", jv_new_object());
        jv_set_str(p, op, net);
        if (idx >= 0)
                jv_set_int(p, "Index", idx);
        jv_set(jv_get(c->doc, "Hawser"), "Pending", p);
        return container_save(c, err);
}

int network_settle(const struct cli *cli, struct container *c, char net[NETWORK_NAME_MAX + 1])
{
        struct err e = {0};
        _cleanup_close_ int lock = container_trylock(c, &e);

        net[0] = '\0';
        /* Held: the connect or disconnect is still running; it finishes by itself. */
        if (lock < 0 || container_reload(c, &e) < 0)
                return 0;
        return attach_finish_pending(cli, c, net);
}

int attach_connect_running(const struct cli *cli, struct container *c, const char *net,
                           struct err *err)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        struct network_endpoint *ep = NULL;
        struct network_view v;
        char p[64];
        _cleanup_close_ int fd = -1;
        int idx, r;

        network_view_read(c, &v);
        idx = endpoint_free_index(&v, c->id);
        if (idx < 0)
                return err_set(err, -ENOSPC, "container %s is on too many networks",
                               container_name(c));
        for (size_t i = 0; i < v.n && !ep; i++)
                if (!strcmp(v.ep[i].net, net))
                        ep = &v.ep[i];
        if (!ep)
                return err_set(err, -ENOENT, "container %s has no endpoint on network %s",
                               container_name(c), net);
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening the network namespace of %s", container_name(c));
        r = attach_set_pending(c, "Connect", net, idx, err);
        if (r >= 0)
                r = endpoint_attach(cli, c, ep, idx, fd, err);
        if (r >= 0) {
                view_write_endpoint(c, ep);
                util_test_kill_point("connect-attached");
                r = hosts_render(cli, c, &v, NULL, err);
        }
        if (r >= 0)
                jv_del(jv_get(c->doc, "Hawser"), "Pending");
        return r;
}
