/* portMappings as elements of the DNAT maps of the table "ip hawser-cni" (one set of rules
 * whatever the number of containers), the per-attachment record, and GC. */
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "internal.h"

char *cni_record_path(const struct cni_conf *c, const char *owner)
{
        return util_printf("%s/attachments/%s", c->data_dir, owner);
}

char *cni_lease_dir(const struct cni_conf *c)
{
        return util_printf("%s/leases", c->data_dir);
}

static const char *proto_name(uint8_t proto)
{
        return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : "tcp";
}

struct jv *cni_ports_doc(const struct cni_conf *c)
{
        struct jv *a = jv_new_array();

        for (size_t i = 0; i < c->n_ports; i++) {
                const struct cni_port *p = &c->ports[i];
                struct jv *o = jv_new_object();
                char ip[INET6_ADDRSTRLEN] = "";

                if (p->family == AF_INET)
                        inet_ntop(AF_INET, &p->host_ip, ip, sizeof(ip));
                else if (p->family == AF_INET6)
                        inet_ntop(AF_INET6, &p->host_ip6, ip, sizeof(ip));
                jv_set_int(o, "hostPort", p->host_port);
                jv_set_int(o, "containerPort", p->ctr_port);
                jv_set_str(o, "protocol", proto_name(p->proto));
                /* "": no hostIP, both families. */
                jv_set_str(o, "hostIP", ip);
                jv_append(a, o);
        }
        return a;
}

int cni_localnet(const char *bridge, struct err *err)
{
        _cleanup_free_ char *p = util_printf("/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);

        /* Ports published on 127.0.0.1 are DNAT'ed out of the bridge with a loopback source. */
        return p ? net_sysctl_write(p, "1", err) : -ENOMEM;
}

size_t cni_ports_elements(const struct cni_port *p, size_t n, struct in_addr ctr,
                          const struct in6_addr *ctr6, struct net_nft_port *v)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (p[i].family != AF_INET6)
                        v[k++] = (struct net_nft_port){.host_ip = p[i].host_ip,
                                                       .host_port = p[i].host_port,
                                                       .proto = p[i].proto,
                                                       .ctr_ip = ctr,
                                                       .ctr_port = p[i].ctr_port};
                if (p[i].family != AF_INET && ctr6)
                        v[k++] = (struct net_nft_port){.v6 = true,
                                                       .host_ip6 = p[i].host_ip6,
                                                       .host_port = p[i].host_port,
                                                       .proto = p[i].proto,
                                                       .ctr_ip6 = *ctr6,
                                                       .ctr_port = p[i].ctr_port};
        }
        return k;
}

/* Chained after another plugin, the bridge is that plugin's: hawser adds only the hairpin
 * and localhost rules for it (no masquerade, which that plugin owns). */
static int ports_only_rules(const char *bridge, struct in_addr ctr, int prefix, struct err *err)
{
        struct net_nft_network n = {
                .bridge = bridge, .subnet = ctr, .prefix = prefix, .icc = true, .no_masq = true};
        int r;

        if (!*bridge)
                return 0;
        r = net_nft_network_add_in(CNI_TABLE, &n, err);
        return r < 0 ? r : cni_localnet(bridge, err);
}

int cni_ports_publish(struct cni_req *q, const struct cni_conf *c, struct in_addr ctr,
                      const struct in6_addr *ctr6, const char *bridge, int prefix, struct err *err)
{
        _cleanup_free_ struct net_nft_port *v = NULL;
        size_t n;
        int r = 0;

        if (c->n_ports == 0)
                return 0;
        v = calloc(2 * c->n_ports, sizeof(*v));
        if (!v)
                return -ENOMEM;
        n = cni_ports_elements(c->ports, c->n_ports, ctr, ctr6, v);
        if (c->ports_only)
                r = ports_only_rules(bridge, ctr, prefix, err);
        /* A repeated ADD of the same attachment finds its own elements: drop them first. */
        if (r >= 0)
                r = net_nft_unpublish_in(CNI_TABLE, v, n, err);
        if (r >= 0)
                r = net_nft_publish_in(CNI_TABLE, v, n, err);
        if (r == -EEXIST)
                q->code = CNI_E_PLUGIN;
        /* 1: the table was rebuilt; the network rules come back with the next bridge setup. */
        return r < 0 ? r : 0;
}

/* The ports of a record ("ports", a JSON array) as the configuration's (room for
 * jv_len(ports) in p); returns how many. A hostIP of "0.0.0.0" is IPv4 only, "" both. */
static size_t record_ports(const struct jv *ports, struct cni_port *p)
{
        size_t n = ports ? jv_len(ports) : 0, k = 0;

        for (size_t i = 0; i < n; i++) {
                const struct jv *o = jv_at(ports, i);
                const char *proto = jv_get_str(o, "protocol"), *ip = jv_get_str(o, "hostIP");
                struct cni_port e = {.host_port = (uint16_t)jv_get_int(o, "hostPort", 0),
                                     .ctr_port = (uint16_t)jv_get_int(o, "containerPort", 0)};

                e.proto = !proto || !strcmp(proto, "tcp") ? IPPROTO_TCP
                          : !strcmp(proto, "udp")         ? IPPROTO_UDP
                                                          : IPPROTO_SCTP;
                if (ip && *ip)
                        e.family = inet_pton(AF_INET, ip, &e.host_ip) == 1     ? AF_INET
                                   : inet_pton(AF_INET6, ip, &e.host_ip6) == 1 ? AF_INET6
                                                                               : -1;
                if (e.family >= 0 && e.host_port && e.ctr_port)
                        p[k++] = e;
        }
        return k;
}

/* publish (or unpublish) a record's ports. */
static int record_apply(const struct jv *ports, struct in_addr ctr, const struct in6_addr *ctr6,
                        bool publish, struct err *err)
{
        size_t n = ports ? jv_len(ports) : 0;
        _cleanup_free_ struct cni_port *p = calloc(n ? n : 1, sizeof(*p));
        _cleanup_free_ struct net_nft_port *v = calloc(n ? 2 * n : 1, sizeof(*v));
        int r;

        if (!p || !v)
                return -ENOMEM;
        n = cni_ports_elements(p, record_ports(ports, p), ctr, ctr6, v);
        /* Unpublishing first makes a restore of elements that are still there a no-op. */
        r = net_nft_unpublish_in(CNI_TABLE, v, n, err);
        if (r >= 0 && publish)
                r = net_nft_publish_in(CNI_TABLE, v, n, err);
        return r < 0 ? r : 0;
}

int cni_ports_unpublish(const struct jv *ports, struct in_addr ctr, const struct in6_addr *ctr6,
                        struct err *err)
{
        return record_apply(ports, ctr, ctr6, false, err);
}

/* A record's addresses: false when it has no IPv4 one; *ret6 NULL without an IPv6 one. */
static bool record_addrs(const struct jv *rec, struct in_addr *ctr, struct in6_addr *buf6,
                         const struct in6_addr **ret6)
{
        const char *ip = jv_get_str(rec, "ip"), *ip6 = jv_get_str(rec, "ip6");

        *ret6 = ip6 && inet_pton(AF_INET6, ip6, buf6) == 1 ? buf6 : NULL;
        return ip && inet_pton(AF_INET, ip, ctr) == 1;
}

int cni_ports_restore(const struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *dir = util_printf("%s/attachments", c->data_dir);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;
        int r = 0;

        while (d && (de = readdir(d)) && r >= 0) {
                _cleanup_free_ char *path = NULL;
                _cleanup_jv_ struct jv *rec = NULL;
                const struct in6_addr *ctr6;
                struct in6_addr buf6;
                struct in_addr ctr;

                path = de->d_name[0] != '.' ? cni_record_path(c, de->d_name) : NULL;
                if (!path || jv_load(path, &rec, &(struct err){0}) < 0)
                        continue;
                if (record_addrs(rec, &ctr, &buf6, &ctr6))
                        r = record_apply(jv_get(rec, "ports"), ctr, ctr6, true, err);
        }
        return r;
}

/* The veth's deletion, in a thread of its own: the kernel's RTM_DELLINK and the close of the
 * nftables socket after removing map elements each wait out an RCU grace period, and two
 * such waits overlap. */
struct link_del {
        const char *name;
        struct err err;
        int r;
};

static void *link_del_thread(void *arg)
{
        struct link_del *d = arg;

        d->r = net_link_delete(d->name, &d->err);
        return NULL;
}

int cni_release(const struct cni_conf *c, const char *owner, struct err *err)
{
        _cleanup_free_ char *path = cni_record_path(c, owner), *leases = cni_lease_dir(c);
        _cleanup_jv_ struct jv *rec = NULL;
        const struct in6_addr *ctr6 = NULL;
        struct in6_addr buf6;
        struct in_addr ctr = {0};
        char veth[16];
        struct link_del del = {.name = veth};
        pthread_t t;
        bool threaded;
        int r = 0;

        if (!path || !leases)
                return -ENOMEM;
        cni_veth_name(owner, veth);
        if (jv_load(path, &rec, &(struct err){0}) == 0 && !record_addrs(rec, &ctr, &buf6, &ctr6))
                ctr.s_addr = 0;
        if (rec && jv_get_bool(rec, "portsOnly")) {
                if (ctr.s_addr)
                        r = cni_ports_unpublish(jv_get(rec, "ports"), ctr, ctr6, err);
                if (r >= 0 && unlink(path) < 0 && errno != ENOENT)
                        r = err_errno(err, "removing %s", path);
                return r;
        }
        /* Deleting the host end takes the container's end with it, in whatever namespace. */
        threaded = pthread_create(&t, NULL, link_del_thread, &del) == 0;
        if (ctr.s_addr)
                r = cni_ports_unpublish(jv_get(rec, "ports"), ctr, ctr6, err);
        if (threaded)
                pthread_join(t, NULL);
        else
                link_del_thread(&del);
        if (r >= 0 && del.r < 0) {
                *err = del.err;
                r = del.r;
        }
        if (r >= 0)
                r = net_ipam_release_owner(leases, owner, err);
        if (r >= 0 && unlink(path) < 0 && errno != ENOENT)
                r = err_errno(err, "removing %s", path);
        return r < 0 ? r : 0;
}

static bool valid(const struct cni_conf *c, const char *owner)
{
        return util_strv_contains(c->valid, owner);
}

static int gc_records(const struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *dir = util_printf("%s/attachments", c->data_dir);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;
        int r = 0;

        while (d && (de = readdir(d)) && r >= 0)
                if (de->d_name[0] != '.' && !valid(c, de->d_name))
                        r = cni_release(c, de->d_name, err);
        return r;
}

/* Leases without a record (an ADD killed before it wrote one). */
static int gc_leases(const struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *dir = cni_lease_dir(c);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;
        int r = 0;

        while (d && (de = readdir(d)) && r >= 0) {
                char owner[CNI_OWNER_MAX + 1];
                struct in_addr a;
                struct in6_addr a6;
                bool held = inet_pton(AF_INET, de->d_name, &a) == 1
                                    ? net_ipam_owner(dir, a, owner, sizeof(owner)) == 0
                                    : inet_pton(AF_INET6, de->d_name, &a6) == 1 &&
                                              net_ipam_owner6(dir, &a6, owner, sizeof(owner)) == 0;
                if (!held || valid(c, owner))
                        continue;
                r = cni_release(c, owner, err);
        }
        return r;
}

/* Elements that point into this network's subnet at an address no valid attachment holds. */
static int gc_elements(const struct cni_conf *c, struct err *err)
{
        _cleanup_free_ char *leases = cni_lease_dir(c);
        _cleanup_free_ struct net_nft_port *cur = NULL;
        size_t n = 0, k = 0;
        int r;

        if (!c->has_ipam)
                return 0;
        r = net_nft_list_ports_in(CNI_TABLE, &cur, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char owner[CNI_OWNER_MAX + 1];
                bool ours = cur[i].v6 ? c->has_v6 && net_ipam_contains6(&c->subnet6, c->prefix6,
                                                                        &cur[i].ctr_ip6)
                                      : net_ipam_contains(c->subnet, c->prefix, cur[i].ctr_ip);
                bool held =
                        cur[i].v6
                                ? net_ipam_owner6(leases, &cur[i].ctr_ip6, owner, sizeof(owner)) ==
                                          0
                                : net_ipam_owner(leases, cur[i].ctr_ip, owner, sizeof(owner)) == 0;
                if (!ours || (held && valid(c, owner)))
                        continue;
                cur[k++] = cur[i];
        }
        return r < 0 ? r : net_nft_unpublish_in(CNI_TABLE, cur, k, err);
}

int cni_gc(const struct cni_conf *c, struct err *err)
{
        int r = gc_records(c, err);

        if (r >= 0)
                r = gc_leases(c, err);
        if (r >= 0)
                r = gc_elements(c, err);
        if (r >= 0)
                r = cni_dns_sync(c, false, err);
        return r < 0 ? err_wrap(err, "garbage collection of network %s", c->name) : 0;
}
