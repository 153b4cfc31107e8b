/* ADD, DEL and CHECK: the bridge, the veth pair into CNI_NETNS, the lease, the record. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "internal.h"

static int open_netns(struct cni_req *q, struct err *err)
{
        int fd = open(q->netns, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return cni_fail(q, err, CNI_E_PLUGIN, "opening netns %s: %s", q->netns,
                                strerror(errno));
        return fd;
}

/* The handle of the table this network's rules were last put into (<dataDir>/table), 0
 * when none was recorded. */
static uint64_t table_seen(const struct cni_conf *c)
{
        _cleanup_free_ char *p = util_printf("%s/table", c->data_dir), *text = NULL;

        if (!p || fs_read_file(p, &text, NULL, &(struct err){0}) < 0)
                return 0;
        return strtoull(text, NULL, 10);
}

static int table_saw(const struct cni_conf *c, uint64_t handle, struct err *err)
{
        _cleanup_free_ char *p = util_printf("%s/table", c->data_dir);
        char text[24];

        if (!p || fs_mkdir_p(c->data_dir, 0700, err) < 0)
                return p ? -err->code : -ENOMEM;
        snprintf(text, sizeof(text), "%llu", (unsigned long long)handle);
        return fs_write_atomic(p, text, strlen(text), 0644, err);
}

/* The IPv6 side of the dual-stack networks is one table, "ip6 hawser-cni", written whole
 * (net_nft_ip6_sync_in) from what each network's ADD recorded under CNI_IP6_DIR: its
 * bridge (the file's name), IPv6 subnet and whether it masquerades. Under the directory's
 * lock, so two networks' ADDs never write a table without the other. A network whose bridge
 * is gone is left out. */
struct ip6_nets {
        struct net_nft_network *v;
        char (*names)[16];
        size_t n;
};

static int ip6_push(struct ip6_nets *l, const char *bridge, const struct jv *d)
{
        struct net_nft_network *v = realloc(l->v, (l->n + 1) * sizeof(*v));
        char(*names)[16] = v ? realloc(l->names, (l->n + 1) * sizeof(*names)) : NULL;
        const char *subnet = jv_get_str(d, "subnet6");

        if (v)
                l->v = v;
        if (!v || !names)
                return -ENOMEM;
        l->names = names;
        /* The caller took only names shorter than 16. */
        memcpy(l->names[l->n], bridge, strnlen(bridge, 15));
        l->names[l->n][strnlen(bridge, 15)] = '\0';
        l->v[l->n] = (struct net_nft_network){.icc = true,
                                              .masq6 = jv_get_bool(d, "masq"),
                                              .prefix6 = (int)jv_get_int(d, "prefix6", 0)};
        if (!subnet || inet_pton(AF_INET6, subnet, &l->v[l->n].subnet6) != 1)
                l->v[l->n].prefix6 = 0;
        l->n++;
        return 0;
}

static int ip6_sync(const struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *mine = util_printf(CNI_IP6_DIR "/%s", c->bridge);
        _cleanup_jv_ struct jv *d = jv_new_object();
        _cleanup_close_ int lock = -1;
        _cleanup_closedir_ DIR *dir = NULL;
        struct ip6_nets l = {0};
        struct dirent *de;
        char subnet[INET6_ADDRSTRLEN];
        int r;

        if (!mine || !d)
                return -ENOMEM;
        r = fs_mkdir_p(CNI_IP6_DIR, 0755, err);
        if (r < 0)
                return r;
        lock = open(CNI_IP6_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0)
                return err_errno(err, "locking " CNI_IP6_DIR);
        jv_set_str(d, "subnet6", inet_ntop(AF_INET6, &c->subnet6, subnet, sizeof(subnet)));
        jv_set_int(d, "prefix6", c->prefix6);
        jv_set_bool(d, "masq", c->ip_masq);
        r = jv_save(mine, d, err);
        /* This network from what it was given, whatever reading its record back gives. */
        if (r >= 0 && ip6_push(&l, c->bridge, d) < 0)
                r = err_set(err, -ENOMEM, "listing the dual-stack networks");
        dir = r >= 0 ? opendir(CNI_IP6_DIR) : NULL;
        if (r >= 0 && !dir)
                r = err_errno(err, "reading " CNI_IP6_DIR);
        while (r >= 0 && (de = readdir(dir))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_jv_ struct jv *net = NULL;
                if (de->d_name[0] == '.' || strlen(de->d_name) >= 16 ||
                    !strcmp(de->d_name, c->bridge) || net_link_exists(de->d_name) != 1)
                        continue;
                path = util_printf(CNI_IP6_DIR "/%s", de->d_name);
                if (!path)
                        r = -ENOMEM;
                else if (jv_load(path, &net, &(struct err){0}) == 0)
                        r = ip6_push(&l, de->d_name, net);
        }
        /* The names were copied aside while the array grew: point at them now. */
        for (size_t i = 0; i < l.n; i++)
                l.v[i].bridge = l.names[i];
        if (r == -ENOMEM)
                r = err_set(err, r, "listing the dual-stack networks");
        if (r >= 0)
                r = net_nft_ip6_sync_in(CNI_TABLE, l.v, l.n, err);
        /* Forwarding once the filter is in place (as the reference bridge plugin, which turns
         * it on for an IPv6 gateway). */
        if (r >= 0)
                r = net_sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", "1", err);
        free(l.v);
        free(l.names);
        return r;
}

/* The bridge with the gateway address, the plugin's table and the network's rules
 * (masquerade unless !ipMasq, hairpin, localhost). The common ADD costs two lookups: the
 * bridge exists and the table is the one the network's rules went into. A table made
 * since (the first ADD, or one after a flush) gets the rules and the network's recorded
 * ports again. */
static int bridge_ensure(const struct cni_conf *c, struct err *err)
{
        struct net_nft_network n = {.bridge = c->bridge,
                                    .subnet = c->subnet,
                                    .prefix = c->prefix,
                                    .icc = true,
                                    .no_masq = !c->ip_masq};
        uint64_t seen = table_seen(c), now = 0;
        int r;

        /* A dual-stack network's ip6 table too (a firewall reload may take it alone). */
        if (net_link_exists(c->bridge) == 1 && net_nft_table_handle_in(CNI_TABLE, &now, err) == 1 &&
            now == seen && (!c->has_v6 || net_nft_table6_present_in(CNI_TABLE, err) == 1))
                return 0;
        r = net_nft_ensure_in(CNI_TABLE, err);
        if (r >= 0)
                r = net_nft_table_handle_in(CNI_TABLE, &now, err);
        if (r >= 0)
                r = net_nft_network_add_in(CNI_TABLE, &n, err);
        if (r >= 0)
                r = net_sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", err);
        if (r >= 0)
                r = net_link_bridge_ensure(c->bridge, c->gateway, c->prefix, c->mtu, err);
        /* Dual-stack: the IPv6 gateway on the bridge too, and the ip6 table (filter, ports,
         * masquerade). */
        if (r >= 0 && c->has_v6)
                r = net_link_bridge_ipv6(c->bridge, &c->gateway6, c->prefix6, err);
        if (r >= 0 && c->has_v6)
                r = ip6_sync(c, err);
        /* The recorded ports of a table made since, IPv6 ones into the ip6 table above (a
         * restore of elements still there is a no-op). */
        if (r >= 0 && (now != seen || c->has_v6))
                r = cni_ports_restore(c, err);
        if (r >= 0)
                r = cni_localnet(c->bridge, err);
        if (r >= 0)
                r = table_saw(c, now, err);
        return r < 0 ? err_wrap(err, "setting up bridge %s", c->bridge) : 0;
}

static int record_write(const struct cni_req *q, const struct cni_conf *c, const char *owner,
                        const struct cni_result *res, struct err *err)
{
        _cleanup_free_ char *path = cni_record_path(c, owner);
        _cleanup_free_ char *dir = util_printf("%s/attachments", c->data_dir);
        _cleanup_jv_ struct jv *d = jv_new_object();
        char a[INET_ADDRSTRLEN];

        if (!path || !dir)
                return -ENOMEM;
        inet_ntop(AF_INET, &res->addr, a, sizeof(a));
        jv_set_str(d, "ip", a);
        jv_set_int(d, "prefix", res->prefix);
        if (res->has_v6) {
                char a6[INET6_ADDRSTRLEN];
                jv_set_str(d, "ip6", inet_ntop(AF_INET6, &res->addr6, a6, sizeof(a6)));
        }
        jv_set_str(d, "bridge", res->bridge);
        jv_set_str(d, "veth", res->veth);
        jv_set_bool(d, "portsOnly", c->ports_only);
        jv_set(d, "ports", cni_ports_doc(c));
        if (c->dns_server)
                jv_set(d, "names", cni_dns_names(q, c));
        if (fs_mkdir_p(dir, 0700, err) < 0)
                return -err->code;
        return jv_save(path, d, err);
}

/* Leases the attachment's address (the one asked for, or the lowest free one of the
 * range). Returns 1 when the owner already held it (a repeated ADD asking for it): a failure
 * later must then leave it alone. */
static int lease(struct cni_req *q, const struct cni_conf *c, const char *leases,
                 struct in_addr *ret, struct err *err)
{
        char owner[CNI_OWNER_MAX + 1], a[INET_ADDRSTRLEN];
        bool had = c->want.s_addr && net_ipam_owner(leases, c->want, owner, sizeof(owner)) == 0 &&
                   !strcmp(owner, q->owner);
        int k = c->want.s_addr && cni_range_of(c, c->want) > 0 ? cni_range_of(c, c->want) : 0, r;

        /* The ranges in order, the next when one is full; an address asked for, in its own. */
        for (;; k++) {
                struct in_addr first = k ? c->more[k - 1].first : c->first;
                struct in_addr last = k ? c->more[k - 1].last : c->last;
                r = net_ipam_allocate_range(leases, first, last, c->gateway, c->want, q->owner, ret,
                                            err);
                if (r != -ENOSPC || c->want.s_addr || (size_t)k >= c->n_more)
                        break;
        }

        if (r < 0 || !c->want.s_addr || ret->s_addr == c->want.s_addr)
                return r < 0 ? r : had;
        net_ipam_release(leases, *ret, q->owner, &(struct err){0});
        inet_ntop(AF_INET, &c->want, a, sizeof(a));
        return cni_fail(q, err, CNI_E_PLUGIN, "requested IP address %s is not available", a);
}

static int add_main(struct cni_req *q, struct cni_conf *c, struct cni_result *res, struct err *err)
{
        _cleanup_free_ char *leases = cni_lease_dir(c);
        _cleanup_close_ int ns = -1;
        struct net_veth v = {0};
        struct net_addr6 a6 = {0};
        bool published = false;
        int r, had;

        ns = open_netns(q, err);
        if (ns < 0)
                return ns;
        r = bridge_ensure(c, err);
        if (r < 0 || (had = lease(q, c, leases, &res->addr, err)) < 0)
                return r < 0 ? r : had;
        if (c->has_v6) {
                r = net_ipam_allocate6(leases, &c->subnet6, c->prefix6, &c->gateway6, NULL,
                                       q->owner, &res->addr6, err);
                if (r < 0) {
                        if (!had)
                                net_ipam_release(leases, res->addr, q->owner, &(struct err){0});
                        return r;
                }
                res->has_v6 = true;
                res->prefix6 = c->prefix6;
                res->gateway6 = c->gateway6;
                a6 = (struct net_addr6){.addr = res->addr6,
                                        .prefix = c->prefix6,
                                        .gateway = c->gateway6,
                                        .has_gateway = true};
        }
        snprintf(res->bridge, sizeof(res->bridge), "%s", c->bridge);
        cni_veth_name(q->owner, res->veth);
        res->prefix = c->prefix;
        res->gateway = c->gateway;
        net_ipam_mac(res->addr, res->mac);
        v = (struct net_veth){.host_name = res->veth,
                              .bridge = c->bridge,
                              .netns_fd = ns,
                              .peer_name = q->ifname,
                              .addr = res->addr,
                              .prefix = c->prefix,
                              .gateway = c->gateway,
                              .mtu = c->mtu,
                              .v6 = c->has_v6 ? &a6 : NULL};
        memcpy(v.mac, res->mac, sizeof(v.mac));
        r = net_link_veth_create(&v, err);
        /* The host end of this owner's earlier attachment, whose namespace the runtime
         * dropped without a DEL (its veth may still be in the kernel's asynchronous
         * cleanup): the new attachment replaces it. */
        if (r == -EEXIST && net_link_exists_in(ns, q->ifname) == 0 &&
            net_link_exists(res->veth) == 1 && net_link_delete(res->veth, &(struct err){0}) == 0)
                r = net_link_veth_create(&v, err);
        /* The spec's "ifname exists" case; other EEXISTs (a second default route) keep the
         * kernel's message. */
        if (r == -EEXIST && net_link_exists_in(ns, q->ifname) == 1) {
                if (!had)
                        net_ipam_release(leases, res->addr, q->owner, &(struct err){0});
                if (res->has_v6)
                        net_ipam_release6(leases, &res->addr6, q->owner, &(struct err){0});
                return cni_fail(q, err, CNI_E_PLUGIN, "interface %s already exists in %s",
                                q->ifname, q->netns);
        }
        for (size_t i = 0; r >= 0 && i < c->n_routes; i++) {
                const struct cni_route *rt = &c->routes[i];
                r = rt->v6 ? net_link_route6_add_in(ns, q->ifname, &rt->to6, rt->prefix, &rt->gw6,
                                                    err)
                           : net_link_route_add_in(ns, q->ifname, rt->to, rt->prefix, rt->gw, err);
        }
        if (r >= 0)
                r = cni_ports_publish(q, c, res->addr, res->has_v6 ? &res->addr6 : NULL, c->bridge,
                                      c->prefix, err);
        published = r >= 0;
        if (r >= 0)
                r = record_write(q, c, q->owner, res, err);
        if (r >= 0)
                r = cni_dns_sync(c, true, err);
        /* Only this attempt's ports, record, address and veth: an earlier ADD of the owner
         * keeps its own. */
        if (r < 0 && published) {
                _cleanup_jv_ struct jv *ports = cni_ports_doc(c);
                _cleanup_free_ char *path = cni_record_path(c, q->owner);
                cni_ports_unpublish(ports, res->addr, res->has_v6 ? &res->addr6 : NULL,
                                    &(struct err){0});
                if (path)
                        unlink(path);
                /* Its names, written before the server failed, go too. */
                (void)cni_dns_sync(c, false, &(struct err){0});
        }
        if (r < 0)
                net_link_delete(res->veth, &(struct err){0});
        /* This attempt's leases; an earlier ADD's stay. */
        if (r < 0 && !had)
                net_ipam_release(leases, res->addr, q->owner, &(struct err){0});
        if (r < 0 && res->has_v6)
                net_ipam_release6(leases, &res->addr6, q->owner, &(struct err){0});
        return r;
}

/* Chained after another main plugin: ports to prevResult's address, nothing else. */
static int add_ports_only(struct cni_req *q, struct cni_conf *c, struct jv **ret, struct err *err)
{
        struct cni_result res = {0};
        int r;

        r = cni_prev_addr(q, c->prev, &res.addr, &res.prefix, res.bridge, err);
        if (r >= 0)
                r = cni_ports_publish(q, c, res.addr, NULL, res.bridge, res.prefix, err);
        if (r >= 0)
                r = record_write(q, c, q->owner, &res, err);
        if (r < 0)
                return r;
        *ret = jv_copy(c->prev);
        jv_set_str(*ret, "cniVersion", c->version);
        return 0;
}

int cni_add(struct cni_req *q, struct cni_conf *c, struct jv **ret, struct err *err)
{
        struct cni_result res = {0};
        int r;

        if (c->ports_only)
                return add_ports_only(q, c, ret, err);
        r = add_main(q, c, &res, err);
        if (r >= 0)
                *ret = cni_result_doc(c, q, q->netns, &res);
        return r;
}

int cni_del(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        int r = cni_release(c, q->owner, err);

        return r < 0 ? r : cni_dns_sync(c, false, err);
}

static bool same_port(const struct net_nft_port *a, const struct net_nft_port *b)
{
        if (a->v6 != b->v6 || a->host_port != b->host_port || a->proto != b->proto ||
            a->ctr_port != b->ctr_port)
                return false;
        return a->v6 ? !memcmp(&a->host_ip6, &b->host_ip6, sizeof(a->host_ip6)) &&
                               !memcmp(&a->ctr_ip6, &b->ctr_ip6, sizeof(a->ctr_ip6))
                     : a->host_ip.s_addr == b->host_ip.s_addr &&
                               a->ctr_ip.s_addr == b->ctr_ip.s_addr;
}

/* Every port of the configuration maps to the attachment's addresses in the tables. */
static int check_ports(struct cni_req *q, const struct cni_conf *c, struct in_addr addr,
                       const struct in6_addr *addr6, struct err *err)
{
        _cleanup_free_ struct net_nft_port *cur = NULL, *want = NULL;
        size_t n = 0, k;
        int r = net_nft_list_ports_in(CNI_TABLE, &cur, &n, err);

        if (r < 0)
                return r;
        want = calloc(2 * c->n_ports + 1, sizeof(*want));
        if (!want)
                return -ENOMEM;
        k = cni_ports_elements(c->ports, c->n_ports, addr, addr6, want);
        for (size_t i = 0; i < k; i++) {
                bool found = false;
                for (size_t j = 0; j < n && !found; j++)
                        found = same_port(&cur[j], &want[i]);
                if (!found)
                        return cni_fail(q, err, CNI_E_PLUGIN,
                                        "port %u/%s%s is not mapped to the container",
                                        want[i].host_port,
                                        want[i].proto == IPPROTO_UDP    ? "udp"
                                        : want[i].proto == IPPROTO_SCTP ? "sctp"
                                                                        : "tcp",
                                        want[i].v6 ? " (IPv6)" : "");
        }
        return 0;
}

/* The first IPv6 address of prevResult's ips. */
static const struct in6_addr *prev_addr6(const struct jv *prev, struct in6_addr *buf)
{
        const struct jv *ips = jv_get(prev, "ips");

        for (size_t i = 0; i < jv_len(ips); i++) {
                const char *s = jv_get_str(jv_at(ips, i), "address");
                char a[INET6_ADDRSTRLEN];
                size_t len = s ? strcspn(s, "/") : 0;
                if (!s || !strchr(s, ':') || len >= sizeof(a))
                        continue;
                memcpy(a, s, len);
                a[len] = '\0';
                if (inet_pton(AF_INET6, a, buf) == 1)
                        return buf;
        }
        return NULL;
}

int cni_check(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *leases = cni_lease_dir(c);
        _cleanup_close_ int ns = -1;
        struct in_addr addr = {0}, gw = {0};
        struct in6_addr addr6;
        char bridge[16], owner[CNI_OWNER_MAX + 1];
        const char *gws;
        int prefix = 0, r;

        if (!c->prev || jv_type(c->prev) != JV_OBJECT)
                return cni_fail(q, err, CNI_E_CONFIG, "CHECK needs prevResult");
        r = cni_prev_addr(q, c->prev, &addr, &prefix, bridge, err);
        if (r < 0 || c->ports_only)
                return r < 0 ? r : check_ports(q, c, addr, NULL, err);
        gws = jv_get_str(jv_at(jv_get(c->prev, "ips"), 0), "gateway");
        if (gws && inet_pton(AF_INET, gws, &gw) != 1)
                return cni_fail(q, err, CNI_E_CONFIG, "prevResult: bad gateway %s", gws);
        if (net_ipam_owner(leases, addr, owner, sizeof(owner)) < 0 || strcmp(owner, q->owner))
                return cni_fail(q, err, CNI_E_PLUGIN, "the address of %s is not leased to it",
                                q->owner);
        ns = open_netns(q, err);
        if (ns < 0)
                return ns;
        r = net_link_check_in(ns, q->ifname, addr, prefix, gw, err);
        return r < 0 ? r : check_ports(q, c, addr, prev_addr6(c->prev, &addr6), err);
}
