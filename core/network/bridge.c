/* The kernel side of a network: its bridge, forwarding and nftables rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "net/link.h"
#include "internal.h"

struct net_nft_network bridge_nft(const struct network *n)
{
        return (struct net_nft_network){.bridge = n->bridge,
                                        .subnet = n->subnet,
                                        .prefix = n->prefix,
                                        .icc = n->icc,
                                        .internal = n->internal,
                                        .subnet6 = n->subnet6,
                                        .prefix6 = n->ipv6 ? n->prefix6 : 0};
}

/* Someone flushed the ruleset (a firewall reload does): hawser's table, every network's
 * rules and every running container's published ports are put back before the next
 * container (except, which publishes its own) joins. */
static int table_check(const struct cli *cli, const char *except, struct err *err)
{
        _cleanup_close_ int lock = -1;
        int r = net_nft_table_present(err);

        if (r != 0)
                return r < 0 ? r : 0;
        lock = store_lock(cli, "bridges.lock", err);
        if (lock < 0)
                return lock;
        publish_restore_all(cli, except);
        return 0;
}

int bridge_ensure(const struct cli *cli, const struct network *n, const char *except,
                  struct err *err)
{
        struct net_nft_network nn = bridge_nft(n);
        _cleanup_close_ int lock = -1;
        char path[128];
        int r;

        /* The bridge is made last, so its presence means the rest was done, unless the
         * ruleset was flushed since. */
        if (net_link_exists(n->bridge) == 1)
                return table_check(cli, except, err);
        lock = store_lock(cli, "bridges.lock", err);
        if (lock < 0)
                return lock;
        if (net_link_exists(n->bridge) == 1) {
                closep(&lock);
                return table_check(cli, except, err);
        }
        r = net_nft_ensure(err);
        if (r >= 0)
                r = net_nft_network_add(&nn, err);
        if (r >= 0)
                r = net_sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", err);
        if (r >= 0)
                r = net_link_bridge_ensure(n->bridge, n->gateway, n->prefix, n->mtu, err);
        /* Dual-stack: the IPv6 gateway on the bridge too; the ip6 table (bridge_sync6
         * below) keeps networks isolated and --internal internal for IPv6 as well. */
        if (r >= 0 && n->ipv6)
                r = net_link_bridge_ipv6(n->bridge, &n->gateway6, n->prefix6, err);
        if (r < 0)
                return err_wrap(err, "setting up network %s", n->name);
        /* DNAT of 127.0.0.1 to a container needs loopback sources routable on the bridge. */
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
        r = net_sysctl_write(path, "1", err);
        if (r >= 0 && n->ipv6)
                r = bridge_sync6(cli, NULL, err);
        return r < 0 ? err_wrap(err, "setting up network %s", n->name) : 0;
}

struct v6_list {
        struct net_nft_network *v;
        char (*names)[16];
        size_t n, cap;
        const char *skip; /* a bridge being removed */
        bool oom;
};

static int v6_cb(struct jv *doc, void *ud)
{
        struct v6_list *l = ud;
        struct network n = {0};
        struct err e = {0};

        /* store_each frees the document after this call: n is used here only. */
        if (store_from_doc(doc, &n, &e) < 0 || !n.ipv6 || n.driver != NETWORK_DRIVER_BRIDGE ||
            !*n.bridge || (l->skip && !strcmp(l->skip, n.bridge)) || net_link_exists(n.bridge) != 1)
                return 0;
        if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 8;
                struct net_nft_network *v = realloc(l->v, cap * sizeof(*v));
                char(*names)[16] = v ? realloc(l->names, cap * sizeof(*names)) : NULL;
                if (v)
                        l->v = v;
                if (!v || !names) {
                        l->oom = true;
                        return 1;
                }
                l->names = names;
                l->cap = cap;
        }
        snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", n.bridge);
        l->v[l->n++] = bridge_nft(&n);
        return 0;
}

int bridge_sync6(const struct cli *cli, const char *removing, struct err *err)
{
        struct v6_list l = {.skip = removing};
        int r;

        store_each(cli, v6_cb, &l);
        /* The names were copied aside while the array grew: point at them now. */
        for (size_t i = 0; i < l.n; i++)
                l.v[i].bridge = l.names[i];
        r = l.oom ? err_set(err, -ENOMEM, "listing dual-stack networks")
                  : net_nft_ip6_sync(l.v, l.n, err);
        /* Forwarding once a dual-stack bridge exists (the filter is in place first). */
        if (r >= 0 && l.n)
                r = net_sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1", err);
        free(l.v);
        free(l.names);
        return r;
}

void bridge_remove(const struct cli *cli, const struct network *n)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};

        lock = store_lock(cli, "bridges.lock", &e);
        if (net_nft_network_del(n->bridge, &e) < 0 || net_link_bridge_delete(n->bridge, &e) < 0)
                fprintf(stderr, "warning: removing network %s: %s, ignoring\n", n->name, e.msg);
        if (n->ipv6 && bridge_sync6(cli, n->bridge, &e) < 0)
                fprintf(stderr, "warning: removing network %s: %s, ignoring\n", n->name, e.msg);
}
