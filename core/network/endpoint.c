/* A container's endpoints: veth names, addresses (remembered by name), the veth pair. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "internal.h"

/* hw<12 hex of the id> for the first network, hw<10 hex>-<index> for the others: the dash
 * keeps the two forms from ever colliding. */
void endpoint_veth_name(const char *id, int idx, char out[16])
{
        if (idx == 0)
                snprintf(out, 16, "hw%.12s", id);
        else
                snprintf(out, 16, "hw%.10s-%x", id, idx & 0xf);
}

bool endpoint_veth_owner(const char *link, char prefix[11])
{
        size_t n = strlen(link);

        if (strncmp(link, "hw", 2) || n != 14)
                return false;
        snprintf(prefix, 11, "%.10s", link + 2);
        return true;
}

/* The last address a container name had on a network: a container recreated under the same
 * name gets it back while it is free, so hosts files and links elsewhere stay right. */
static void remembered(const struct cli *cli, const char *net, const char *name,
                       struct in_addr *ret)
{
        _cleanup_free_ char *p = cli_runroot_path(cli, "networks/%s/names/%s", net, name);
        _cleanup_free_ char *text = NULL;
        struct err e = {0};

        if (p && fs_read_file(p, &text, NULL, &e) == 0)
                store_parse_addr(text, ret);
}

/* How many names a network remembers; the least recently used go first. */
#define NAMES_KEPT 256

struct name_age {
        char name[NAME_MAX + 1];
        struct timespec mtime;
};

static int older_first(const void *a, const void *b)
{
        const struct timespec *x = &((const struct name_age *)a)->mtime;
        const struct timespec *y = &((const struct name_age *)b)->mtime;

        if (x->tv_sec != y->tv_sec)
                return x->tv_sec < y->tv_sec ? -1 : 1;
        return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* Keeps the NAMES_KEPT most recently written names of dir. */
static void trim_names(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ struct name_age *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct stat st;
                if (de->d_name[0] == '.' ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (n == cap) {
                        struct name_age *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                        if (!nv)
                                return;
                        v = nv;
                }
                snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
                v[n++].mtime = st.st_mtim;
        }
        if (n <= NAMES_KEPT)
                return;
        qsort(v, n, sizeof(*v), older_first);
        for (size_t i = 0; i < n - NAMES_KEPT; i++)
                (void)unlinkat(dirfd(d), v[i].name, 0);
}

static void remember(const struct cli *cli, const char *net, const char *name, struct in_addr ip)
{
        _cleanup_free_ char *dir = cli_runroot_path(cli, "networks/%s/names", net);
        _cleanup_free_ char *p = cli_runroot_path(cli, "networks/%s/names/%s", net, name);
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        if (!dir || !p || !*name || fs_mkdir_p(dir, 0700, &e) < 0)
                return;
        inet_ntop(AF_INET, &ip, a, sizeof(a));
        if (fs_write_atomic(p, a, strlen(a), 0644, &e) >= 0)
                trim_names(dir);
}

void network_each_run_dir(const struct cli *cli, const char *sub,
                          void (*fn)(const char *dir, void *ud), void *ud)
{
        _cleanup_free_ char *root = cli_runroot_path(cli, "networks");
        _cleanup_closedir_ DIR *d = root ? opendir(root) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL;
                if (de->d_name[0] == '.')
                        continue;
                dir = util_printf("%s/%s/%s", root, de->d_name, sub);
                if (dir)
                        fn(dir, ud);
        }
}

static void forget_unused(const char *dir, void *ud)
{
        struct container **all = ud;
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                bool used = false;
                if (de->d_name[0] == '.')
                        continue;
                for (struct container **c = all; *c && !used; c++)
                        used = !strcmp(container_name(*c), de->d_name);
                if (!used)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
}

void network_forget_names(const struct cli *cli, struct container **all)
{
        network_each_run_dir(cli, "names", forget_unused, all);
}

/* The IPv6 address of a dual-stack endpoint: --ip6 (which must be free), else the one it
 * had, else the lowest free one. */
static int attach_ip6(const char *leases, const struct network *n, const char *id,
                      const struct network_endpoint *ep, struct net_addr6 *ret, struct err *err)
{
        struct in6_addr want = in6addr_any;
        const struct in6_addr *pref = NULL;
        int r;

        if (*ep->want6) {
                if (inet_pton(AF_INET6, ep->want6, &want) != 1)
                        return err_set(err, -EINVAL, "invalid IPv6 address: %s", ep->want6);
                if (!net_ipam_contains6(&n->subnet6, n->prefix6, &want))
                        return err_set(err, -EINVAL,
                                       "Invalid address %s: It does not belong to any of this "
                                       "network's subnets",
                                       ep->want6);
                pref = &want;
        } else if (!IN6_IS_ADDR_UNSPECIFIED(&ep->ip6)) {
                pref = &ep->ip6;
        }
        r = net_ipam_allocate6(leases, &n->subnet6, n->prefix6, &n->gateway6, pref, id, &ret->addr,
                               err);
        if (r < 0)
                return r;
        if (*ep->want6 && memcmp(&ret->addr, &want, sizeof(want)))
                return err_set(err, -EADDRINUSE, "Address already in use: %s", ep->want6);
        ret->prefix = n->prefix6;
        ret->gateway = n->gateway6;
        ret->has_gateway = !n->internal;
        return 0;
}

int endpoint_attach(const struct cli *cli, const struct container *c, struct network_endpoint *ep,
                    int idx, int netns_fd, struct err *err)
{
        _cleanup_free_ char *leases = store_lease_dir(cli, ep->net);
        struct network n = {0};
        struct in_addr pref = {0}, ip;
        struct net_veth v = {0};
        struct net_addr6 v6 = {0};
        char veth[16], peer[16];
        int r;

        r = network_load(cli, ep->net, &n, err);
        if (r >= 0 && n.driver == NETWORK_DRIVER_BRIDGE)
                r = bridge_ensure(cli, &n, c->id, err);
        if (r >= 0 && fs_mkdir_p(leases, 0700, err) < 0)
                r = -err->code;
        if (r < 0)
                goto out;
        /* --ip first, then the address this container had last time, if still free. */
        if (*ep->want && store_parse_addr(ep->want, &pref) < 0) {
                r = err_set(err, -EINVAL, "invalid IPv4 address: %s", ep->want);
                goto out;
        }
        if (!pref.s_addr)
                pref = ep->ip;
        if (!pref.s_addr)
                remembered(cli, ep->net, container_name(c), &pref);
        if (*ep->want && !net_ipam_contains(n.subnet, n.prefix, pref)) {
                r = err_set(err, -EINVAL,
                            "Invalid address %s: It does not belong to any of "
                            "this network's subnets",
                            ep->want);
                goto out;
        }
        r = net_ipam_allocate(leases, n.range, n.range_prefix, n.gateway, pref, c->id, &ip, err);
        if (r >= 0 && *ep->want && ip.s_addr != pref.s_addr) {
                net_ipam_release(leases, ip, c->id, &(struct err){0});
                r = err_set(err, -EADDRINUSE, "Address already in use: %s", ep->want);
        }
        if (r < 0)
                goto out;
        if (n.ipv6) {
                r = attach_ip6(leases, &n, c->id, ep, &v6, err);
                if (r < 0) {
                        /* Its IPv4 lease and any IPv6 one the attempt took. */
                        net_ipam_release_owner(leases, c->id, &(struct err){0});
                        goto out;
                }
        }
        endpoint_veth_name(c->id, idx, veth);
        snprintf(peer, sizeof(peer), "eth%d", idx);
        v = (struct net_veth){.host_name = veth,
                              .bridge = n.bridge,
                              .netns_fd = netns_fd,
                              .peer_name = peer,
                              .addr = ip,
                              .prefix = n.prefix,
                              .gateway = idx || n.internal ? (struct in_addr){0} : n.gateway,
                              .mtu = n.mtu,
                              .v6 = n.ipv6 ? &v6 : NULL};
        if (!*ep->want_mac || util_mac_parse(ep->want_mac, v.mac) < 0)
                if (!*ep->want_mac || util_mac_parse(ep->want_mac, v.mac) < 0)
                        net_ipam_mac(ip, v.mac);
        if (n.driver != NETWORK_DRIVER_BRIDGE) {
                r = net_link_sublink_create(
                        &(struct net_sublink){
                                .kind = n.driver == NETWORK_DRIVER_MACVLAN ? "macvlan" : "ipvlan",
                                .parent = n.parent,
                                .mode = n.sub_mode,
                                .netns_fd = netns_fd,
                                .name = peer,
                                .addr = ip,
                                .prefix = n.prefix,
                                .gateway = v.gateway,
                                .mac = {v.mac[0], v.mac[1], v.mac[2], v.mac[3], v.mac[4], v.mac[5]},
                                .v6 = n.ipv6 ? &v6 : NULL},
                        err);
        } else {
                r = net_link_veth_create(&v, err);
                /* The same container's previous veth may still be in the kernel's
                 * asynchronous namespace cleanup: remove it and try once more. */
                if (r == -EEXIST && net_link_delete(veth, &(struct err){0}) == 0)
                        r = net_link_veth_create(&v, err);
        }
        if (r < 0) {
                /* The IPv4 lease and, on a dual-stack network, the IPv6 one. */
                net_ipam_release_owner(leases, c->id, &(struct err){0});
                goto out;
        }
        remember(cli, ep->net, container_name(c), ip);
        snprintf(ep->mac, sizeof(ep->mac), "%02x:%02x:%02x:%02x:%02x:%02x", v.mac[0], v.mac[1],
                 v.mac[2], v.mac[3], v.mac[4], v.mac[5]);
        snprintf(ep->network_id, sizeof(ep->network_id), "%s", n.id);
        snprintf(ep->veth, sizeof(ep->veth), "%s", veth);
        ep->gateway = n.internal ? (struct in_addr){0} : n.gateway;
        ep->bridged = n.driver == NETWORK_DRIVER_BRIDGE;
        ep->ip = ip;
        ep->ip6 = n.ipv6 ? v6.addr : in6addr_any;
        ep->gateway6 = n.ipv6 && v6.has_gateway ? v6.gateway : in6addr_any;
        ep->prefix6 = n.ipv6 ? n.prefix6 : 0;
        ep->prefix = n.prefix;
out:
        network_release(&n);
        return r;
}

int endpoint_free_index(const struct network_view *v, const char *id)
{
        for (int i = 0; i < NETWORK_MAX_ENDPOINTS; i++) {
                char veth[16];
                bool used = false;
                endpoint_veth_name(id, i, veth);
                for (size_t k = 0; k < v->n; k++)
                        used |= !strcmp(v->ep[k].veth, veth);
                if (!used)
                        return i;
        }
        return -ENOSPC;
}

static struct jv *endpoint_doc(char **aliases, const char *ip, const char *ip6)
{
        struct jv *ep = jv_new_object(), *ipam = NULL;

        if ((ip && *ip) || (ip6 && *ip6))
                ipam = jv_new_object();
        if (ip && *ip)
                jv_set_str(ipam, "IPv4Address", ip);
        if (ip6 && *ip6)
                jv_set_str(ipam, "IPv6Address", ip6);
        jv_set(ep, "IPAMConfig", ipam);
        jv_set(ep, "Links", NULL);
        jv_set(ep, "Aliases", aliases && *aliases ? jv_from_strv(aliases) : NULL);
        jv_set_str(ep, "NetworkID", "");
        jv_set_str(ep, "EndpointID", "");
        jv_set_str(ep, "Gateway", "");
        jv_set_str(ep, "IPAddress", "");
        jv_set_int(ep, "IPPrefixLen", 0);
        jv_set_str(ep, "IPv6Gateway", "");
        jv_set_str(ep, "GlobalIPv6Address", "");
        jv_set_int(ep, "GlobalIPv6PrefixLen", 0);
        jv_set_str(ep, "MacAddress", "");
        return ep;
}

int network_add_endpoint(struct jv *doc, const char *net, char **aliases, const char *ip,
                         const char *ip6)
{
        struct jv *ns = jv_get(doc, "NetworkSettings"), *nets;

        if (!ns) {
                ns = jv_new_object();
                jv_set(doc, "NetworkSettings", ns);
        }
        nets = jv_get(ns, "Networks");
        if (!nets) {
                nets = jv_new_object();
                jv_set(ns, "Networks", nets);
        }
        jv_set(nets, net, endpoint_doc(aliases, ip, ip6));
        return 0;
}
