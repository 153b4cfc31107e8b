#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/if_link.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/link.h"
#include "net/nl.h"

static void link_putp(struct rtnl_link **l)
{
        if (*l)
                rtnl_link_put(*l);
}

static void addr_putp(struct rtnl_addr **a)
{
        if (*a)
                rtnl_addr_put(*a);
}

static void route_putp(struct rtnl_route **r)
{
        if (*r)
                rtnl_route_put(*r);
}

static void nladdr_putp(struct nl_addr **a)
{
        if (*a)
                nl_addr_put(*a);
}

static void cache_freep(struct nl_cache **c)
{
        if (*c)
                nl_cache_free(*c);
}

#define _cleanup_link_   _cleanup_(link_putp)
#define _cleanup_addr_   _cleanup_(addr_putp)
#define _cleanup_route_  _cleanup_(route_putp)
#define _cleanup_nladdr_ _cleanup_(nladdr_putp)
#define _cleanup_cache_  _cleanup_(cache_freep)

static int check_name(const char *what, const char *name, struct err *err)
{
        /* The kernel's own rule (dev_valid_name); names also end up in sysctl paths. */
        if (!name || !*name || strlen(name) >= IFNAMSIZ || strpbrk(name, "/: \t\n") ||
            !strcmp(name, ".") || !strcmp(name, ".."))
                return err_set(err, -EINVAL,
                               "%s name '%s' must be 1..%d characters without '/', ':' or spaces",
                               what, name ? name : "", IFNAMSIZ - 1);
        return 0;
}

static int check_prefix(int prefix, int min, struct err *err)
{
        if (prefix < min || prefix > 32)
                return err_set(err, -EINVAL, "IPv4 prefix length %d is outside %d..32", prefix,
                               min);
        return 0;
}

static struct nl_addr *inet_nladdr(struct in_addr a, int prefix)
{
        struct nl_addr *addr = nl_addr_build(AF_INET, &a, sizeof(a));

        if (addr)
                nl_addr_set_prefixlen(addr, prefix);
        return addr;
}

static uint32_t prefix_mask(int prefix)
{
        return prefix <= 0 ? 0 : htonl(UINT32_MAX << (32 - prefix));
}

/* Fetches a link by name. -ENODEV: no such link. */
static int link_get(struct net_nl *nl, const char *name, struct rtnl_link **ret, struct err *err)
{
        struct rtnl_link *link = NULL;
        int r = rtnl_link_get_kernel(nl->sk, 0, name, &link);

        if (r < 0)
                return net_nl_fail(nl, r, err, "looking up %s", name);
        *ret = link;
        return 0;
}

static int link_ifindex(struct net_nl *nl, const char *name, struct err *err)
{
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r = link_get(nl, name, &link, err);

        return r < 0 ? r : rtnl_link_get_ifindex(link);
}

/* RTM_NEWLINK without NLM_F_CREATE on an ifindex modifies that link; ifi_change carries only
 * IFF_UP so no other flag is touched. */
static int link_set(struct net_nl *nl, int ifindex, const char *name, int mtu, bool up,
                    struct err *err)
{
        _cleanup_link_ struct rtnl_link *req = rtnl_link_alloc();
        int r;

        if (!req)
                return err_set(err, -ENOMEM, "configuring %s", name);
        rtnl_link_set_ifindex(req, ifindex);
        if (mtu > 0)
                rtnl_link_set_mtu(req, (unsigned int)mtu);
        if (up)
                rtnl_link_set_flags(req, IFF_UP);
        r = rtnl_link_add(nl->sk, req, 0);
        if (r < 0)
                return net_nl_fail(nl, r, err, "setting %s%s%s", name, mtu > 0 ? " mtu" : "",
                                   up ? " up" : "");
        return 0;
}

/* No IPv6 link-local address means no DAD and no router solicitations when the link comes
 * up, and nothing for the start path to wait for. Must happen while the link is down. */
static int link_no_ipv6_addrgen(struct net_nl *nl, int ifindex, const char *name, struct err *err)
{
        _cleanup_link_ struct rtnl_link *req = rtnl_link_alloc();
        int r;

        if (!req || rtnl_link_inet6_set_addr_gen_mode(req, IN6_ADDR_GEN_MODE_NONE) < 0)
                return err_set(err, -ENOMEM, "disabling IPv6 address generation on %s", name);
        rtnl_link_set_ifindex(req, ifindex);
        r = rtnl_link_add(nl->sk, req, 0);
        if (r < 0) {
                /* A kernel without IPv6 has no link-local addresses to avoid. */
                if (net_nl_code(nl, r) == -EAFNOSUPPORT) {
                        net_nl_forget(nl);
                        return 0;
                }
                return net_nl_fail(nl, r, err, "disabling IPv6 address generation on %s", name);
        }
        return 0;
}

/* Deletes a link by name, or only takes it down (RTM_NEWLINK by IFLA_IFNAME clearing IFF_UP).
 * Already gone is success. */
static int link_by_name(struct net_nl *nl, const char *name, bool del, struct err *err)
{
        _cleanup_link_ struct rtnl_link *req = rtnl_link_alloc();
        const char *what = del ? "deleting" : "taking down";
        int r;

        if (!req)
                return err_set(err, -ENOMEM, "%s %s", what, name);
        rtnl_link_set_name(req, name);
        if (!del)
                rtnl_link_unset_flags(req, IFF_UP);
        r = del ? rtnl_link_delete(nl->sk, req) : rtnl_link_add(nl->sk, req, 0);
        if (r < 0) {
                int code = net_nl_code(nl, r);
                if (code == -ENODEV || code == -ENOENT) {
                        net_nl_forget(nl);
                        return 0;
                }
                return net_nl_fail(nl, r, err, "%s %s", what, name);
        }
        return 0;
}

static int link_del(struct net_nl *nl, const char *name, struct err *err)
{
        return link_by_name(nl, name, true, err);
}

/* Adds addr/prefix with CREATE|EXCL; returns the kernel's -EEXIST for the caller to judge. */
static int addr_add(struct net_nl *nl, int ifindex, const char *name, struct in_addr a, int prefix,
                    struct err *err)
{
        _cleanup_addr_ struct rtnl_addr *req = rtnl_addr_alloc();
        _cleanup_nladdr_ struct nl_addr *local = inet_nladdr(a, prefix);
        _cleanup_nladdr_ struct nl_addr *brd = NULL;
        char text[INET_ADDRSTRLEN];
        int r;

        inet_ntop(AF_INET, &a, text, sizeof(text));
        if (!req || !local)
                return err_set(err, -ENOMEM, "adding %s/%d to %s", text, prefix, name);
        rtnl_addr_set_ifindex(req, ifindex);
        rtnl_addr_set_family(req, AF_INET);
        rtnl_addr_set_local(req, local);
        rtnl_addr_set_prefixlen(req, prefix);
        /* What `ip addr add ... brd +` and Docker set; /31 and /32 have no broadcast. */
        if (prefix < 31) {
                struct in_addr b = {.s_addr = a.s_addr | ~prefix_mask(prefix)};
                brd = inet_nladdr(b, 32);
                if (!brd)
                        return err_set(err, -ENOMEM, "adding %s/%d to %s", text, prefix, name);
                rtnl_addr_set_broadcast(req, brd);
        }
        r = rtnl_addr_add(nl->sk, req, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_nl_fail(nl, r, err, "adding %s/%d to %s", text, prefix, name);
        return 0;
}

/* IPv6: no DAD (the address is the container's own, and a tentative address could not be
 * used for the first second or two). */
static int addr6_add(struct net_nl *nl, int ifindex, const char *name, const struct in6_addr *a,
                     int prefix, struct err *err)
{
        _cleanup_addr_ struct rtnl_addr *req = rtnl_addr_alloc();
        _cleanup_nladdr_ struct nl_addr *local = nl_addr_build(AF_INET6, a, sizeof(*a));
        char text[INET6_ADDRSTRLEN];
        int r;

        inet_ntop(AF_INET6, a, text, sizeof(text));
        if (!req || !local)
                return err_set(err, -ENOMEM, "adding %s/%d to %s", text, prefix, name);
        nl_addr_set_prefixlen(local, prefix);
        rtnl_addr_set_ifindex(req, ifindex);
        rtnl_addr_set_family(req, AF_INET6);
        rtnl_addr_set_local(req, local);
        rtnl_addr_set_prefixlen(req, prefix);
        rtnl_addr_set_flags(req, IFA_F_NODAD);
        r = rtnl_addr_add(nl->sk, req, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_nl_fail(nl, r, err, "adding %s/%d to %s", text, prefix, name);
        return 0;
}

int net_link_addr6_add(const char *name, const struct in6_addr *a, int prefix, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        int r = net_nl_open(&nl, err), ifindex;

        if (r < 0)
                return r;
        ifindex = link_ifindex(&nl, name, err);
        if (ifindex < 0)
                return ifindex;
        r = addr6_add(&nl, ifindex, name, a, prefix, err);
        return r == -EEXIST ? 0 : r;
}

/* A route to to/prefix (0.0.0.0/0: the default route) via gw through ifindex. */
/* A route to to/prefix (family AF_INET or AF_INET6; prefix 0: the default route) via gw on
 * the link ifindex. */
static int route_add_family(struct net_nl *nl, int family, int ifindex, const char *name,
                            const void *to, int prefix, const void *gw, struct err *err)
{
        size_t len = family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
        _cleanup_route_ struct rtnl_route *req = rtnl_route_alloc();
        _cleanup_nladdr_ struct nl_addr *dst = nl_addr_build(family, to, len);
        _cleanup_nladdr_ struct nl_addr *via = nl_addr_build(family, gw, len);
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        char text[INET6_ADDRSTRLEN], what[INET6_ADDRSTRLEN + 24];
        int r;

        inet_ntop(family, gw, text, sizeof(text));
        snprintf(what, sizeof(what), "the %sdefault route", family == AF_INET6 ? "IPv6 " : "");
        if (prefix) {
                char d[INET6_ADDRSTRLEN];
                snprintf(what, sizeof(what), "a route to %s/%d",
                         inet_ntop(family, to, d, sizeof(d)), prefix);
        }
        if (!req || !dst || !via || !nh) {
                if (nh)
                        rtnl_route_nh_free(nh);
                return err_set(err, -ENOMEM, "adding %s via %s", what, text);
        }
        nl_addr_set_prefixlen(dst, prefix);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, via);
        rtnl_route_add_nexthop(req, nh); /* the route owns nh from here */
        rtnl_route_set_family(req, (uint8_t)family);
        rtnl_route_set_table(req, RT_TABLE_MAIN);
        rtnl_route_set_protocol(req, RTPROT_BOOT);
        rtnl_route_set_scope(req, RT_SCOPE_UNIVERSE);
        rtnl_route_set_type(req, RTN_UNICAST);
        r = rtnl_route_set_dst(req, dst);
        if (r < 0)
                return net_nl_fail(nl, r, err, "adding %s via %s", what, text);
        r = rtnl_route_add(nl->sk, req, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_nl_fail(nl, r, err, "adding %s via %s dev %s", what, text, name);
        return 0;
}

static int route_add(struct net_nl *nl, int ifindex, const char *name, struct in_addr to,
                     int prefix, struct in_addr gw, struct err *err)
{
        return route_add_family(nl, AF_INET, ifindex, name, &to, prefix, &gw, err);
}

static int route6_add_default(struct net_nl *nl, int ifindex, const char *name,
                              const struct in6_addr *gw, struct err *err)
{
        return route_add_family(nl, AF_INET6, ifindex, name, &in6addr_any, 0, gw, err);
}

static int route_add_default(struct net_nl *nl, int ifindex, const char *name, struct in_addr gw,
                             struct err *err)
{
        return route_add(nl, ifindex, name, (struct in_addr){0}, 0, gw, err);
}

static int route_add_in(int netns_fd, int family, const char *name, const void *to, int prefix,
                        const void *gw, struct err *err)
{
        _cleanup_net_nl_ struct net_nl ns = NET_NL_INIT;
        int r = net_nl_open_netns(&ns, netns_fd, err), ifindex;

        if (r < 0)
                return r;
        ifindex = link_ifindex(&ns, name, err);
        return ifindex < 0 ? ifindex
                           : route_add_family(&ns, family, ifindex, name, to, prefix, gw, err);
}

int net_link_route_add_in(int netns_fd, const char *name, struct in_addr to, int prefix,
                          struct in_addr gw, struct err *err)
{
        return route_add_in(netns_fd, AF_INET, name, &to, prefix, &gw, err);
}

int net_link_route6_add_in(int netns_fd, const char *name, const struct in6_addr *to, int prefix,
                           const struct in6_addr *gw, struct err *err)
{
        return route_add_in(netns_fd, AF_INET6, name, to, prefix, gw, err);
}

/* A bridge without an address of its own takes the lowest MAC of its ports, so its MAC would
 * change as containers come and go and their neighbour caches would point at a stale gateway
 * (the nameserver). A fixed MAC derived from the gateway, 02:42:<address>, avoids that;
 * containers never get the gateway's address, so it cannot collide with theirs. */
static int bridge_add(struct net_nl *nl, const char *name, struct in_addr gw, int mtu,
                      struct err *err)
{
        _cleanup_link_ struct rtnl_link *req = rtnl_link_alloc();
        uint8_t mac[6] = {0x02, 0x42};
        _cleanup_nladdr_ struct nl_addr *lladdr = NULL;
        int r;

        memcpy(mac + 2, &gw.s_addr, 4);
        lladdr = nl_addr_build(AF_LLC, mac, sizeof(mac));
        if (!req || !lladdr || rtnl_link_set_type(req, "bridge") < 0)
                return err_set(err, -ENOMEM, "creating bridge %s", name);
        rtnl_link_set_name(req, name);
        rtnl_link_set_addr(req, lladdr);
        if (mtu > 0)
                rtnl_link_set_mtu(req, (unsigned int)mtu);
        r = rtnl_link_add(nl->sk, req, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0) {
                /* Ours from an earlier run, or a concurrent creator's. */
                if (net_nl_code(nl, r) == -EEXIST) {
                        net_nl_forget(nl);
                        return 0;
                }
                return net_nl_fail(nl, r, err, "creating bridge %s", name);
        }
        return 0;
}

/* ifindex of an existing bridge; -EEXIST if the name is taken by another kind of link. */
static int bridge_ifindex(struct net_nl *nl, const char *name, struct err *err)
{
        _cleanup_link_ struct rtnl_link *link = NULL;
        const char *kind;
        int r = link_get(nl, name, &link, err);

        if (r < 0)
                return r;
        kind = rtnl_link_get_type(link);
        if (!kind || strcmp(kind, "bridge") != 0)
                return err_set(err, -EEXIST, "%s exists and is a %s link, not a bridge", name,
                               kind ? kind : "plain");
        return rtnl_link_get_ifindex(link);
}

int net_link_bridge_ensure(const char *name, struct in_addr gw, int prefix, int mtu,
                           struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        int r, ifindex;

        r = check_name("bridge", name, err);
        if (r >= 0)
                r = check_prefix(prefix, 1, err);
        if (r >= 0)
                r = net_nl_open(&nl, err);
        if (r >= 0)
                r = bridge_add(&nl, name, gw, mtu, err);
        if (r < 0)
                return r;
        ifindex = bridge_ifindex(&nl, name, err);
        if (ifindex < 0)
                return ifindex;
        r = link_set(&nl, ifindex, name, mtu, true, err);
        if (r < 0)
                return r;
        r = addr_add(&nl, ifindex, name, gw, prefix, err);
        if (r == -EEXIST)
                r = 0;
        return r < 0 ? r : ifindex;
}

int net_link_bridge_delete(const char *name, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        int r;

        r = check_name("bridge", name, err);
        if (r >= 0)
                r = net_nl_open(&nl, err);
        if (r < 0)
                return r;
        r = bridge_ifindex(&nl, name, err);
        if (r == -ENODEV)
                return 0;
        if (r == -EEXIST)
                return err_set(err, -EINVAL, "not deleting %s: it is not a bridge", name);
        if (r < 0)
                return r;
        return link_del(&nl, name, err);
}

static int veth_check(const struct net_veth *v, struct err *err)
{
        int r = check_name("veth", v->host_name, err);

        if (r >= 0)
                r = check_name("veth peer", v->peer_name, err);
        if (r >= 0)
                r = check_name("bridge", v->bridge, err);
        if (r >= 0)
                r = check_prefix(v->prefix, 1, err);
        /* The kernel's is_valid_ether_addr(): not multicast, not all zeros. */
        if (r >= 0 && ((v->mac[0] & 1) || !memcmp(v->mac, (uint8_t[6]){0}, sizeof(v->mac))))
                r = err_set(err, -EINVAL,
                            "veth %s: %02x:%02x:%02x:%02x:%02x:%02x is not a unicast MAC",
                            v->host_name, v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4],
                            v->mac[5]);
        if (r >= 0 && v->netns_fd < 0)
                r = err_set(err, -EBADF, "veth %s: network namespace fd %d", v->host_name,
                            v->netns_fd);
        return r;
}

/* One RTM_NEWLINK creates both ends: the peer directly in the container's namespace with its
 * name, MAC and MTU, the host end enslaved and up. The kernel undoes all of it if any part
 * fails, so a failure here leaves nothing to clean up. */
static int veth_add(struct net_nl *nl, const struct net_veth *v, int bridge, struct err *err)
{
        _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
        _cleanup_link_ struct rtnl_link *peer = veth ? rtnl_link_veth_get_peer(veth) : NULL;
        _cleanup_nladdr_ struct nl_addr *mac = nl_addr_build(AF_LLC, v->mac, sizeof(v->mac));
        int r;

        if (!veth || !peer || !mac)
                return err_set(err, -ENOMEM, "creating veth %s", v->host_name);
        rtnl_link_set_name(veth, v->host_name);
        rtnl_link_set_master(veth, bridge);
        rtnl_link_set_flags(veth, IFF_UP);
        rtnl_link_set_name(peer, v->peer_name);
        rtnl_link_set_ns_fd(peer, v->netns_fd);
        rtnl_link_set_addr(peer, mac);
        if (v->mtu > 0) {
                rtnl_link_set_mtu(veth, (unsigned int)v->mtu);
                rtnl_link_set_mtu(peer, (unsigned int)v->mtu);
        }
        r = rtnl_link_add(nl->sk, veth, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_nl_fail(nl, r, err,
                                   "creating veth %s (peer %s in the container namespace, "
                                   "bridge %s)",
                                   v->host_name, v->peer_name, v->bridge);
        return 0;
}

/* Hairpin mode on the host end's bridge port: a container's connection to its own published
 * port is DNAT'ed back out of the port it came in on, which a bridge refuses otherwise. */
static int port_hairpin(struct net_nl *nl, const char *name, struct err *err)
{
        struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE};
        struct nlattr *pi;
        struct nl_msg *m;
        int ifindex = link_ifindex(nl, name, err), r;

        if (ifindex < 0)
                return ifindex;
        ifi.ifi_index = ifindex;
        m = nlmsg_alloc_simple(RTM_SETLINK, 0);
        if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
            !(pi = nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED)) ||
            nla_put_u8(m, IFLA_BRPORT_MODE, 1) < 0) {
                nlmsg_free(m);
                return err_set(err, -ENOMEM, "veth %s: hairpin mode", name);
        }
        nla_nest_end(m, pi);
        r = nl_send_sync(nl->sk, m);
        if (r < 0)
                return net_nl_fail(nl, r, err, "veth %s: setting hairpin mode", name);
        return 0;
}

/* Runs the container-side steps of an interface (address, up, default route) through a
 * socket that lives in the container's namespace; the socket stays open in *ns. */
static int setup_in_netns(struct net_nl *ns, int netns_fd, const char *name, struct in_addr addr,
                          int prefix, struct in_addr gateway, const struct net_addr6 *v6,
                          struct err *err)
{
        int r, ifindex;

        r = net_nl_open_netns(ns, netns_fd, err);
        if (r < 0)
                return r;
        ifindex = link_ifindex(ns, name, err);
        if (ifindex < 0)
                return ifindex;
        r = link_no_ipv6_addrgen(ns, ifindex, name, err);
        if (r >= 0)
                r = addr_add(ns, ifindex, name, addr, prefix, err);
        if (r >= 0)
                r = link_set(ns, ifindex, name, 0, true, err);
        if (r >= 0 && v6)
                r = addr6_add(ns, ifindex, name, &v6->addr, v6->prefix, err);
        if (r >= 0 && gateway.s_addr != INADDR_ANY)
                r = route_add_default(ns, ifindex, name, gateway, err);
        if (r >= 0 && v6 && v6->has_gateway)
                r = route6_add_default(ns, ifindex, name, &v6->gateway, err);
        return r;
}

static int veth_setup_peer(const struct net_veth *v, struct err *err)
{
        _cleanup_net_nl_ struct net_nl ns = NET_NL_INIT;

        return setup_in_netns(&ns, v->netns_fd, v->peer_name, v->addr, v->prefix, v->gateway, v->v6,
                              err);
}

int net_link_veth_create(const struct net_veth *v, struct err *err)
{
        _cleanup_net_nl_ struct net_nl host = NET_NL_INIT;
        struct err undo;
        int r, bridge;

        r = veth_check(v, err);
        if (r >= 0)
                r = net_nl_open(&host, err);
        if (r < 0)
                return r;
        bridge = link_ifindex(&host, v->bridge, err);
        if (bridge < 0)
                return err_wrap(err, "veth %s: bridge", v->host_name);
        r = veth_add(&host, v, bridge, err);
        if (r < 0)
                return r;
        r = port_hairpin(&host, v->host_name, err);
        if (r >= 0)
                r = veth_setup_peer(v, err);
        if (r >= 0)
                return 0;
        err_wrap(err, "veth %s: configuring %s in the container namespace", v->host_name,
                 v->peer_name);
        /* Deleting the host end takes the container end with it. */
        if (link_del(&host, v->host_name, &undo) < 0) {
                size_t n = strlen(err->msg);
                snprintf(err->msg + n, sizeof(err->msg) - n, "; removing it failed too: %s",
                         undo.msg);
        }
        return r;
}

static struct rtnl_link *sublink_alloc(const struct net_sublink *s, struct err *err)
{
        struct rtnl_link *l = NULL;
        int r = 0;

        if (!strcmp(s->kind, "macvlan")) {
                l = rtnl_link_macvlan_alloc();
                if (l)
                        r = rtnl_link_macvlan_set_mode(l, (uint32_t)s->mode);
        } else if (!strcmp(s->kind, "ipvlan")) {
                l = rtnl_link_ipvlan_alloc();
                if (l)
                        r = rtnl_link_ipvlan_set_mode(l, (uint16_t)s->mode);
        } else {
                err_set(err, -EINVAL, "%s: unknown link kind %s", s->name, s->kind);
                return NULL;
        }
        if (!l || r < 0) {
                if (l)
                        rtnl_link_put(l);
                err_set(err, -ENOMEM, "%s: allocating a %s link", s->name, s->kind);
                return NULL;
        }
        return l;
}

int net_link_sublink_create(const struct net_sublink *s, struct err *err)
{
        _cleanup_net_nl_ struct net_nl host = NET_NL_INIT, ns = NET_NL_INIT;
        _cleanup_link_ struct rtnl_link *l = NULL;
        _cleanup_nladdr_ struct nl_addr *mac = NULL;
        struct err undo;
        int r, parent;

        r = check_name(s->kind, s->name, err);
        if (r >= 0)
                r = check_name("parent", s->parent, err);
        if (r >= 0)
                r = check_prefix(s->prefix, 1, err);
        if (r >= 0 && s->netns_fd < 0)
                r = err_set(err, -EBADF, "%s: network namespace fd %d", s->name, s->netns_fd);
        if (r >= 0)
                r = net_nl_open(&host, err);
        if (r < 0)
                return r;
        parent = link_ifindex(&host, s->parent, err);
        if (parent < 0)
                return err_wrap(err, "%s %s: parent", s->kind, s->name);
        l = sublink_alloc(s, err);
        if (!l)
                return -err->code;
        rtnl_link_set_name(l, s->name);
        rtnl_link_set_link(l, parent);
        rtnl_link_set_ns_fd(l, s->netns_fd);
        if (!strcmp(s->kind, "macvlan")) {
                mac = nl_addr_build(AF_LLC, s->mac, sizeof(s->mac));
                if (!mac)
                        return err_set(err, -ENOMEM, "%s: MAC address", s->name);
                rtnl_link_set_addr(l, mac);
        }
        if (s->mtu > 0)
                rtnl_link_set_mtu(l, (unsigned int)s->mtu);
        r = rtnl_link_add(host.sk, l, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return net_nl_fail(&host, r, err, "creating %s %s on %s in the container namespace",
                                   s->kind, s->name, s->parent);
        r = setup_in_netns(&ns, s->netns_fd, s->name, s->addr, s->prefix, s->gateway, s->v6, err);
        if (r >= 0)
                return 0;
        err_wrap(err, "%s %s: configuring it in the container namespace", s->kind, s->name);
        if (ns.sk && link_del(&ns, s->name, &undo) < 0) {
                size_t n = strlen(err->msg);
                snprintf(err->msg + n, sizeof(err->msg) - n, "; removing it failed too: %s",
                         undo.msg);
        }
        return r;
}

int net_link_delete_in(int netns_fd, const char *name, struct err *err)
{
        _cleanup_net_nl_ struct net_nl ns = NET_NL_INIT;
        int r = net_nl_open_netns(&ns, netns_fd, err);

        return r < 0 ? r : link_del(&ns, name, err);
}

static int host_link(const char *name, bool del, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        int r;

        r = check_name("link", name, err);
        if (r >= 0)
                r = net_nl_open(&nl, err);
        if (r < 0)
                return r;
        return link_by_name(&nl, name, del, err);
}

int net_link_delete(const char *name, struct err *err)
{
        return host_link(name, true, err);
}

int net_link_set_down(const char *const *names, size_t n, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        bool opened = false;
        int first = 0;

        /* Every name is tried: one failure must not leave the others up. The first error is
         * the one returned. */
        for (size_t i = 0; i < n; i++) {
                struct ifreq ifr = {0};
                struct err e = {0};
                int r = check_name("link", names[i], &e);
                if (r >= 0) {
                        /* Which exist, asked without the RTNL lock (SIOCGIFINDEX looks the
                         * name up under RCU): the kernel may hold that lock for a while
                         * freeing earlier containers' namespaces, and most names here are of
                         * endpoints never made. */
                        memcpy(ifr.ifr_name, names[i], strlen(names[i]));
                        if (fd >= 0 && ioctl(fd, SIOCGIFINDEX, &ifr) < 0 && errno == ENODEV)
                                continue;
                        if (!opened) {
                                r = net_nl_open(&nl, &e);
                                if (r < 0) {
                                        *err = e;
                                        return r;
                                }
                                opened = true;
                        }
                        r = link_by_name(&nl, names[i], false, &e);
                }
                if (r < 0 && !first) {
                        first = r;
                        *err = e;
                }
        }
        return first;
}

/* net_link_exists in the calling thread's namespace (netns_fd < 0) or in netns_fd's. */
static int exists_in(int netns_fd, const char *name)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        _cleanup_link_ struct rtnl_link *link = NULL;
        struct err err;
        int r;

        r = check_name("link", name, &err);
        if (r >= 0)
                r = netns_fd < 0 ? net_nl_open(&nl, &err) : net_nl_open_netns(&nl, netns_fd, &err);
        if (r >= 0)
                r = link_get(&nl, name, &link, &err);
        if (r == -ENODEV)
                return 0;
        return r < 0 ? r : 1;
}

int net_link_exists(const char *name)
{
        return exists_in(-1, name);
}

int net_link_exists_in(int netns_fd, const char *name)
{
        return netns_fd < 0 ? -EBADF : exists_in(netns_fd, name);
}

static bool inet_overlap(uint32_t a, int alen, uint32_t b, int blen)
{
        uint32_t mask = prefix_mask(alen < blen ? alen : blen);

        return (a & mask) == (b & mask);
}

/* True if the IPv4 nl_addr (with its prefix length as given) overlaps net/prefix. */
static bool nladdr_overlaps(struct nl_addr *a, int alen, struct in_addr net, int prefix)
{
        uint32_t v;

        if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != sizeof(v))
                return false;
        memcpy(&v, nl_addr_get_binary_addr(a), sizeof(v));
        return inet_overlap(v, alen, net.s_addr, prefix);
}

/* What a search of the kernel's IPv4 routes or addresses looks for. */
struct nl_match {
        struct in_addr net, gw;
        int prefix, ifindex;
        bool (*fn)(struct nl_object *o, const struct nl_match *m);
};

/* Sets *ret to whether any IPv4 route (routes) or address (!routes) satisfies m. */
static int nl_find(struct net_nl *nl, bool routes, const struct nl_match *m, bool *ret,
                   struct err *err)
{
        _cleanup_cache_ struct nl_cache *cache = NULL;
        int r = routes ? rtnl_route_alloc_cache(nl->sk, AF_INET, 0, &cache)
                       : rtnl_addr_alloc_cache(nl->sk, &cache);

        if (r < 0)
                return net_nl_fail(nl, r, err,
                                   routes ? "listing IPv4 routes" : "listing addresses");
        *ret = false;
        for (struct nl_object *o = nl_cache_get_first(cache); o && !*ret; o = nl_cache_get_next(o))
                *ret = m->fn(o, m);
        return 0;
}

static bool route_overlaps(struct nl_object *o, const struct nl_match *m)
{
        struct rtnl_route *route = (struct rtnl_route *)o;
        struct nl_addr *dst = rtnl_route_get_dst(route);
        int len = dst ? (int)nl_addr_get_prefixlen(dst) : 0;

        /* The default route overlaps everything and says nothing about use. */
        return rtnl_route_get_table(route) == RT_TABLE_MAIN && len != 0 &&
               nladdr_overlaps(dst, len, m->net, m->prefix);
}

static bool addr_overlaps(struct nl_object *o, const struct nl_match *m)
{
        struct rtnl_addr *a = (struct rtnl_addr *)o;

        return nladdr_overlaps(rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a), m->net,
                               m->prefix);
}

/* An nl_addr holding exactly the IPv4 address a. */
static bool nladdr_is(struct nl_addr *x, struct in_addr a)
{
        return x && nl_addr_get_family(x) == AF_INET && nl_addr_get_len(x) == 4 &&
               !memcmp(nl_addr_get_binary_addr(x), &a.s_addr, 4);
}

static bool addr_is(struct nl_object *o, const struct nl_match *m)
{
        struct rtnl_addr *a = (struct rtnl_addr *)o;

        return rtnl_addr_get_ifindex(a) == m->ifindex && rtnl_addr_get_prefixlen(a) == m->prefix &&
               nladdr_is(rtnl_addr_get_local(a), m->net);
}

static bool default_route_is(struct nl_object *o, const struct nl_match *m)
{
        struct rtnl_route *route = (struct rtnl_route *)o;
        struct nl_addr *dst = rtnl_route_get_dst(route);
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(route, 0);

        return rtnl_route_get_table(route) == RT_TABLE_MAIN &&
               (!dst || nl_addr_get_prefixlen(dst) == 0) && nh &&
               rtnl_route_nh_get_ifindex(nh) == m->ifindex &&
               nladdr_is(rtnl_route_nh_get_gateway(nh), m->gw);
}

int net_route_overlaps(struct in_addr net, int prefix, bool *ret, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        bool found = false;
        int r;

        r = check_prefix(prefix, 0, err);
        if (r >= 0)
                r = net_nl_open(&nl, err);
        if (r >= 0)
                r = nl_find(&nl, true,
                            &(struct nl_match){.net = net, .prefix = prefix, .fn = route_overlaps},
                            &found, err);
        if (r >= 0 && !found)
                r = nl_find(&nl, false,
                            &(struct nl_match){.net = net, .prefix = prefix, .fn = addr_overlaps},
                            &found, err);
        if (r < 0)
                return r;
        *ret = found;
        return 0;
}

int net_sysctl_write(const char *path, const char *value, struct err *err)
{
        if (!path || strncmp(path, "/proc/sys/", strlen("/proc/sys/")) != 0 ||
            strstr(path, "/../") || !value)
                return err_set(err, -EINVAL, "'%s' is not a sysctl path", path ? path : "(null)");
        return fs_write_string(path, value, err);
}

int net_link_list(char ***ret, struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        _cleanup_cache_ struct nl_cache *cache = NULL;
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        int r, n = 0;

        if (!names)
                return err_set(err, -ENOMEM, "listing links");
        r = net_nl_open(&nl, err);
        if (r < 0)
                return r;
        r = rtnl_link_alloc_cache(nl.sk, AF_UNSPEC, &cache);
        if (r < 0)
                return net_nl_fail(&nl, r, err, "listing links");
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                const char *name = rtnl_link_get_name((struct rtnl_link *)o);

                if (!name)
                        continue;
                r = util_strv_push(&names, name);
                if (r < 0)
                        return err_set(err, r, "listing links");
                n++;
        }
        *ret = TAKE_PTR(names);
        return n;
}

int net_link_check_in(int netns_fd, const char *name, struct in_addr a, int prefix,
                      struct in_addr gateway, struct err *err)
{
        _cleanup_net_nl_ struct net_nl ns = NET_NL_INIT;
        char text[INET_ADDRSTRLEN];
        bool found = false;
        int r, ifindex;

        r = check_name("link", name, err);
        if (r >= 0)
                r = net_nl_open_netns(&ns, netns_fd, err);
        if (r < 0)
                return r;
        ifindex = link_ifindex(&ns, name, err);
        if (ifindex == -ENODEV)
                return err_set(err, -ENOENT, "interface %s is missing", name);
        if (ifindex < 0)
                return ifindex;
        inet_ntop(AF_INET, &a, text, sizeof(text));
        r = nl_find(
                &ns, false,
                &(struct nl_match){.net = a, .prefix = prefix, .ifindex = ifindex, .fn = addr_is},
                &found, err);
        if (r >= 0 && !found)
                return err_set(err, -ENOENT, "interface %s has no address %s/%d", name, text,
                               prefix);
        if (r >= 0 && gateway.s_addr != INADDR_ANY)
                r = nl_find(&ns, true,
                            &(struct nl_match){
                                    .gw = gateway, .ifindex = ifindex, .fn = default_route_is},
                            &found, err);
        if (r < 0)
                return r;
        inet_ntop(AF_INET, &gateway, text, sizeof(text));
        if (gateway.s_addr != INADDR_ANY && !found)
                return err_set(err, -ENOENT, "no default route via %s dev %s", text, name);
        return 0;
}

int net_link_bridge_ipv6(const char *bridge, const struct in6_addr *gw, int prefix, struct err *err)
{
        char p6[128];

        snprintf(p6, sizeof(p6), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", bridge);
        if (net_sysctl_write(p6, "0", err) < 0)
                return -err->code;
        return net_link_addr6_add(bridge, gw, prefix, err);
}
