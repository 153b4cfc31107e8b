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
#include "net/ipam.h"
#include "net/link.h"
#include "internal.h"

int network_attach(const struct cli *cli, struct container *c, const struct network_links *links,
                   int netns_fd, struct network_hold *hold, struct err *err)
{
        struct jv *ns = jv_get(c->doc, "NetworkSettings");
        _cleanup_strv_ char **names = jv_keys(jv_get(ns, "Networks"));
        struct in_addr ctr = {0};
        int r = links_check_running(links, err), idx = 0;

        for (char **k = names; r >= 0 && k && *k; k++, idx++)
                r = endpoint_attach(cli, c, *k, idx, netns_fd, err);
        if (r >= 0 && endpoint_primary_ip(c)) {
                store_parse_addr(endpoint_primary_ip(c), &ctr);
                r = publish_all(cli, c, ctr, hold, err);
        }
        if (r >= 0 && names && names[0]) {
                const struct jv *ep = jv_get(jv_get(ns, "Networks"), names[0]);
                jv_set_str(ns, "IPAddress", jv_get_str(ep, "IPAddress"));
                jv_set_str(ns, "Gateway", jv_get_str(ep, "Gateway"));
                jv_set_str(ns, "MacAddress", jv_get_str(ep, "MacAddress"));
                jv_set_int(ns, "IPPrefixLen", jv_get_int(ep, "IPPrefixLen", 0));
        }
        if (r >= 0)
                r = hosts_render(cli, c, links, err);
        if (r < 0) {
                network_hold_close(hold);
                network_detach(cli, c->id, true);
        }
        return r;
}

void network_hold_close(struct network_hold *hold)
{
        for (size_t i = 0; i < hold->n; i++)
                close(hold->fds[i]);
        free(hold->fds);
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
static void ports_owned(const char *dir, void *ud)
{
        struct owned_ports *q = ud;
        char owner[80];

        for (size_t i = q->k; i < q->n; i++)
                if (net_ipam_owner(dir, q->v[i].ctr_ip, owner, sizeof(owner)) == 0 &&
                    !strcmp(owner, q->id)) {
                        struct net_nft_port t = q->v[q->k];
                        q->v[q->k++] = q->v[i];
                        q->v[i] = t;
                }
}

static void release_leases(const char *dir, void *ud)
{
        struct err e = {0};

        if (net_ipam_release_owner(dir, ud, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
}

void network_detach(const struct cli *cli, const char *id, bool delete_links)
{
        struct owned_ports q = {.id = id};
        struct err e = {0};
        char veth[16];

        /* Published ports point at the container's addresses: the leases it owns. */
        if (net_nft_list_ports(&q.v, &q.n, &e) == 0 && q.n) {
                network_each_run_dir(cli, "leases", ports_owned, &q);
                if (q.k && net_nft_unpublish(q.v, q.k, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        free(q.v);
        for (int i = 0; delete_links && i < MAX_ENDPOINTS; i++) {
                endpoint_veth_name(id, i, veth);
                if (net_link_delete(veth, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        network_each_run_dir(cli, "leases", release_leases, (void *)id);
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
        struct jv *ep;
        struct err e = {0};
        char veth[16];

        gone[0] = '\0';
        if (!net)
                return 0;
        /* Copied: the record (and net with it) is dropped below. */
        snprintf(gone, NETWORK_NAME_MAX + 1, "%s", net);
        net = gone;
        ep = jv_get(jv_path(c->doc, "NetworkSettings.Networks"), net);
        leases = store_lease_dir(cli, net);
        if (idx >= 0 && idx < MAX_ENDPOINTS)
                endpoint_veth_name(c->id, idx, veth);
        else
                snprintf(veth, sizeof(veth), "%s", jv_get_str(ep, "EndpointID") ?: "");
        if (*veth && net_link_delete(veth, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (leases && net_ipam_release_owner(leases, c->id, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        jv_del(jv_path(c->doc, "NetworkSettings.Networks"), net);
        jv_del(jv_get(c->doc, "Hawser"), "Pending");
        if (container_save(c, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (container_is_running(c))
                hosts_render(cli, c, NULL, &e);
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
        char p[64];
        _cleanup_close_ int fd = -1;
        int idx = endpoint_free_index(c), r;

        if (idx < 0)
                return err_set(err, -ENOSPC, "container %s is on too many networks",
                               container_name(c));
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening the network namespace of %s", container_name(c));
        r = attach_set_pending(c, "Connect", net, idx, err);
        if (r >= 0)
                r = endpoint_attach(cli, c, net, idx, fd, err);
        if (r >= 0)
                util_test_kill_point("connect-attached");
        if (r >= 0)
                r = hosts_render(cli, c, NULL, err);
        if (r >= 0)
                jv_del(jv_get(c->doc, "Hawser"), "Pending");
        return r;
}
