/* Published ports: host-port holds and DNAT elements, and their restoring after a flush. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/link.h"
#include "core/ports.h"
#include "internal.h"

struct publish {
        struct net_nft_port *v;
        size_t n;
};

/* The protocol of a port key ("80/tcp", "53/udp"; "80" is TCP). Keys were made from parsed
 * ports: -EINVAL only for a hand-edited state. */
static int key_proto(const char *key, uint8_t *ret)
{
        const char *slash = strchr(key, '/');

        *ret = IPPROTO_TCP;
        return slash ? ports_proto_parse(slash + 1, ret) : 0;
}

/* Holds host_ip:port so no host process can take it while the container runs. */
static int reserve(struct in_addr host, uint16_t port, int proto, struct err *err)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = host, .sin_port = htons(port)};
        int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, proto);

        if (fd < 0 && proto == IPPROTO_SCTP)
                return -ENOTSUP; /* no SCTP in this kernel: nothing to hold */
        if (fd < 0)
                return err_errno(err, "reserving port %u", port);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* The DNAT elements as they were when a start began: read once, not once per candidate
 * port. One published since loses at net_nft_publish (EEXIST), which is atomic. */
struct taken {
        struct net_nft_port *v;
        size_t n;
};

static bool already_published(const struct taken *t, struct in_addr host, uint16_t port, int proto)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].host_port == port && t->v[i].proto == proto &&
                    (!t->v[i].host_ip.s_addr || !host.s_addr ||
                     t->v[i].host_ip.s_addr == host.s_addr))
                        return true;
        return false;
}

static int hold_push(struct network_hold *h, int fd)
{
        int *nv = realloc(h->fds, (h->n + 1) * sizeof(int));

        if (!nv)
                return -ENOMEM;
        h->fds = nv;
        h->fds[h->n++] = fd;
        return 0;
}

/* Docker's message for a host port that cannot be bound (address: already bracketed when
 * IPv6); e is the bind's errno. */
static int bind_failed(const char *address, const char *spec, int proto, int e, struct err *err)
{
        char why[64];

        return err_set(err, e == EADDRINUSE ? -EADDRINUSE : -e,
                       "failed to bind host port %s:%s/%s: %s", address, spec && *spec ? spec : "0",
                       ports_proto_name((uint8_t)proto), util_go_strerror(e, why));
}

/* Picks and reserves the host port of one binding ("", "8080" or "8000-8010"). */
static int bind_one(const struct cli *cli, const struct taken *t, struct in_addr host,
                    const char *spec, int proto, struct network_hold *hold, uint16_t *ret,
                    struct err *err)
{
        _cleanup_free_ char *state = cli_runroot_path(cli, "ports.state");
        long long lo = 0, hi = 0;
        char a[INET_ADDRSTRLEN];
        int fd = -EADDRINUSE;

        inet_ntop(AF_INET, &host, a, sizeof(a));
        if (spec && *spec && sscanf(spec, "%lld-%lld", &lo, &hi) < 1)
                return err_set(err, -EINVAL, "invalid host port %s", spec);
        if (hi == 0)
                hi = lo;
        for (long long p = lo; lo && p <= hi; p++) {
                if (already_published(t, host, (uint16_t)p, proto)) {
                        fd = -EEXIST;
                        continue;
                }
                fd = reserve(host, (uint16_t)p, proto, err);
                if (fd >= 0 || fd == -ENOTSUP) {
                        *ret = (uint16_t)p;
                        break;
                }
        }
        for (int tries = 0; !lo && tries < 64; tries++) {
                uint16_t p;
                if (ports_allocate(state, a, (uint8_t)proto, &p, err) < 0)
                        return -err->code;
                fd = already_published(t, host, p, proto) ? -EEXIST : reserve(host, p, proto, err);
                if (fd >= 0 || fd == -ENOTSUP) {
                        *ret = p;
                        break;
                }
        }
        if (fd == -EEXIST)
                return err_set(err, -EADDRINUSE,
                               "Bind for %s:%s failed: port is already "
                               "allocated",
                               a, spec && *spec ? spec : "0");
        if (fd < 0)
                return bind_failed(a, spec, proto, -fd, err);
        return fd == -ENOTSUP ? 0 : hold_push(hold, fd);
}

/* Listens on [host6]:port (the given one, the first free of a range, or one from
 * ip_local_port_range) for the monitor to relay to ctr:cport: a port published on an IPv6
 * host address, which Linux cannot DNAT to a container's IPv4 address. TCP only. */
static int proxy_one(const struct cli *cli, const char *host6, const char *spec, int proto,
                     struct in_addr ctr, uint16_t cport, struct network_hold *hold, uint16_t *ret,
                     struct err *err)
{
        _cleanup_free_ char *state = cli_runroot_path(cli, "ports.state");
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
        struct network_proxy *nv;
        long long lo = 0, hi = 0;
        int fd = -1, one = 1, e = EADDRINUSE;
        char bracketed[INET6_ADDRSTRLEN + 2];

        if (proto != IPPROTO_TCP)
                return err_set(err, -ENOTSUP,
                               "publishing %s on an IPv6 host address (%s) is not supported",
                               ports_proto_name((uint8_t)proto), host6);
        if (inet_pton(AF_INET6, host6, &sa.sin6_addr) != 1)
                return err_set(err, -EINVAL, "invalid host IP %s", host6);
        if (spec && *spec && sscanf(spec, "%lld-%lld", &lo, &hi) < 1)
                return err_set(err, -EINVAL, "invalid host port %s", spec);
        if (hi == 0)
                hi = lo;
        for (long long p = lo ? lo : 0, tries = 0; fd < 0 && (lo ? p <= hi : tries < 64);
             p++, tries++) {
                uint16_t port = (uint16_t)p;
                if (!lo && ports_allocate(state, host6, (uint8_t)proto, &port, err) < 0)
                        return -err->code;
                fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return err_errno(err, "publishing on [%s]", host6);
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                sa.sin6_port = htons(port);
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
                        e = errno;
                        close(fd);
                        fd = -1;
                        continue;
                }
                *ret = port;
        }
        snprintf(bracketed, sizeof(bracketed), "[%s]", host6);
        if (fd < 0)
                return bind_failed(bracketed, spec, proto, e, err);
        nv = realloc(hold->proxies, (hold->n_proxies + 1) * sizeof(*nv));
        if (!nv || hold_push(hold, fd) < 0) {
                if (nv)
                        hold->proxies = nv;
                close(fd);
                return err_set(err, -ENOMEM, "publishing on [%s]", host6);
        }
        hold->proxies = nv;
        hold->proxies[hold->n_proxies++] = (struct network_proxy){
                .fd = fd,
                .target = {.sin_family = AF_INET, .sin_addr = ctr, .sin_port = htons(cport)}};
        return 0;
}

static int publish_push(struct publish *p, const struct net_nft_port *port)
{
        struct net_nft_port *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        p->v = nv;
        p->v[p->n++] = *port;
        return 0;
}

/* The DNAT element of [host6]:hport for a container with an IPv6 address: none (0) for
 * ::1, which stays with the relay, nor for a container without one. */
static int publish_push6(struct publish *p, const char *host6, uint16_t hport, int proto,
                         const struct in6_addr *ctr6, uint16_t cport)
{
        struct net_nft_port port = {
                .v6 = true, .host_port = hport, .proto = (uint8_t)proto, .ctr_port = cport};

        if (!ctr6 || IN6_IS_ADDR_UNSPECIFIED(ctr6) ||
            inet_pton(AF_INET6, host6, &port.host_ip6) != 1 || IN6_IS_ADDR_LOOPBACK(&port.host_ip6))
                return 0;
        port.ctr_ip6 = *ctr6;
        return publish_push(p, &port);
}

/* Binds one "80/tcp" key: every binding of it (or one dynamic with -P); DNAT elements go
 * to p (IPv4) and p6. */
static int publish_key(const struct cli *cli, const struct taken *t, const char *key,
                       const struct jv *bindings, const struct network_endpoint *ep, struct jv *out,
                       struct publish *p, struct publish *p6, struct network_hold *hold,
                       struct err *err)
{
        struct in_addr ctr = ep->ip;
        uint8_t proto;
        uint16_t cport = (uint16_t)atoi(key);
        struct jv *list = jv_new_array();

        jv_set(out, key, list);
        if (key_proto(key, &proto) < 0)
                return err_set(err, -EINVAL, "invalid port %s", key);
        for (size_t i = 0; i < jv_len(bindings); i++) {
                const struct jv *b = jv_at(bindings, i);
                const char *hip = jv_get_str(b, "HostIp");
                struct in_addr host = {0};
                struct jv *o = jv_new_object();
                char port[8], a[INET_ADDRSTRLEN];
                uint16_t hport = 0;
                int r;
                if (hip && strchr(hip, ':')) {
                        /* An IPv6 host address: the monitor listens and relays; DNAT as well
                         * when the container has an IPv6 address (not for ::1). */
                        r = proxy_one(cli, hip, jv_get_str(b, "HostPort"), proto, ctr, cport, hold,
                                      &hport, err);
                        if (r >= 0 && publish_push6(p6, hip, hport, proto, &ep->ip6, cport) < 0)
                                r = err_set(err, -ENOMEM, "publishing %s", key);
                        if (r < 0) {
                                jv_put(o);
                                return r;
                        }
                        snprintf(port, sizeof(port), "%u", hport);
                        jv_set_str(o, "HostIp", hip);
                        jv_set_str(o, "HostPort", port);
                        jv_append(list, o);
                        continue;
                }
                if (hip && *hip && store_parse_addr(hip, &host) < 0) {
                        jv_put(o);
                        return err_set(err, -EINVAL, "invalid host IP %s", hip);
                }
                r = bind_one(cli, t, host, jv_get_str(b, "HostPort"), proto, hold, &hport, err);
                if (r >= 0 && publish_push(p, &(struct net_nft_port){.host_ip = host,
                                                                     .host_port = hport,
                                                                     .proto = (uint8_t)proto,
                                                                     .ctr_ip = ctr,
                                                                     .ctr_port = cport}) < 0)
                        r = err_set(err, -ENOMEM, "publishing %s", key);
                if (r < 0) {
                        jv_put(o);
                        return r;
                }
                snprintf(port, sizeof(port), "%u", hport);
                jv_set_str(o, "HostIp", inet_ntop(AF_INET, &host, a, sizeof(a)));
                jv_set_str(o, "HostPort", port);
                jv_append(list, o);
        }
        return 0;
}

/* The IPv6 elements: their maps live in the ip6 table, which a flush may have taken (it is
 * rebuilt, with every dual-stack network's rules, and the batch retried once). */
static int publish6(const struct cli *cli, const struct publish *p6, struct err *err)
{
        int r = net_nft_publish(p6->v, p6->n, err);

        if (r != -ENOENT)
                return r;
        r = bridge_sync6(cli, NULL, err);
        return r < 0 ? r : net_nft_publish(p6->v, p6->n, err);
}

int publish_all(const struct cli *cli, struct container *c, const struct network_endpoint *ep,
                struct network_hold *hold, struct err *err)
{
        const struct jv *pb = jv_path(c->doc, "HostConfig.PortBindings");
        const struct jv *exposed = jv_path(c->doc, "Config.ExposedPorts");
        bool all = jv_get_bool(jv_get(c->doc, "HostConfig"), "PublishAllPorts");
        _cleanup_strv_ char **keys = jv_keys(exposed), **bound = jv_keys(pb);
        struct jv *out = jv_new_object();
        _cleanup_jv_ struct jv *dyn = jv_new_array();
        struct publish p = {0}, p6 = {0};
        struct taken t = {0};
        struct err ignored = {0};
        int r = 0;

        /* Unreadable: nothing found taken; the final publish still refuses a clash. */
        if ((bound && bound[0]) || (all && keys && keys[0]))
                (void)net_nft_list_ports(&t.v, &t.n, &ignored);
        jv_append(dyn, jv_new_object());
        jv_set(jv_get(c->doc, "NetworkSettings"), "Ports", out);
        for (char **k = bound; r >= 0 && k && *k; k++)
                r = publish_key(cli, &t, *k, jv_get(pb, *k), ep, out, &p, &p6, hold, err);
        for (char **k = keys; r >= 0 && k && *k; k++) {
                if (jv_get(pb, *k))
                        continue;
                if (all)
                        r = publish_key(cli, &t, *k, dyn, ep, out, &p, &p6, hold, err);
                else
                        jv_set(out, *k, NULL);
        }
        free(t.v);
        if (r >= 0 && p.n)
                r = net_nft_publish(p.v, p.n, err);
        free(p.v);
        if (r == 1) {
                /* The table had vanished and was rebuilt just now with our ports only. */
                _cleanup_close_ int lock = store_lock(cli, "bridges.lock", err);

                if (lock < 0)
                        r = lock;
                else
                        publish_restore_all(cli, c->id);
                r = r < 0 ? r : 0;
        }
        /* After the IPv4 ones: a failure here is undone with them by the detach. */
        if (r >= 0 && p6.n)
                r = publish6(cli, &p6, err);
        free(p6.v);
        return r;
}

/* The DNAT entries of a running container's published ports, from its state. */
static int ports_of(const struct container *c, const struct network_endpoint *ep, struct publish *p)
{
        const struct jv *ports = jv_path(c->doc, "NetworkSettings.Ports");
        _cleanup_strv_ char **keys = jv_keys(ports);

        for (char **k = keys; k && *k; k++) {
                const struct jv *list = jv_get(ports, *k);
                uint8_t proto;

                if (key_proto(*k, &proto) < 0)
                        continue;
                for (size_t i = 0; i < jv_len(list); i++) {
                        const struct jv *b = jv_at(list, i);
                        const char *hip = jv_get_str(b, "HostIp");
                        int hport = atoi(jv_get_str(b, "HostPort") ?: "0");
                        struct net_nft_port port = {.host_port = (uint16_t)hport,
                                                    .proto = proto,
                                                    .ctr_ip = ep->ip,
                                                    .ctr_port = (uint16_t)atoi(*k)};
                        int r;

                        if (hport <= 0 || hport > 65535)
                                continue;
                        if (hip && strchr(hip, ':'))
                                r = publish_push6(p, hip, port.host_port, proto, &ep->ip6,
                                                  port.ctr_port);
                        else if (store_parse_addr(hip, &port.host_ip) < 0)
                                continue;
                        else
                                r = publish_push(p, &port);
                        if (r < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

static int restore_network(struct jv *doc, void *ud)
{
        struct network n;
        struct net_nft_network nn;
        struct err e = {0};

        (void)ud;
        if (store_from_doc(doc, &n, &e) < 0 || !n.bridge[0] || net_link_exists(n.bridge) != 1)
                return 0;
        nn = bridge_nft(&n);
        if (net_nft_network_add(&nn, &e) < 0)
                fprintf(stderr, "warning: restoring the rules of network %s: %s, ignoring\n",
                        n.name, e.msg);
        return 0;
}

static void restore_ports(const struct container *c)
{
        const struct network_endpoint *ep;
        struct publish p = {0};
        struct network_view v;
        struct err e = {0};

        network_view_read(c, &v);
        ep = network_view_primary(&v);
        if (!ep || ports_of(c, ep, &p) < 0 || !p.n) {
                free(p.v);
                return;
        }
        /* Already there (err codes are positive): nothing to restore. */
        if (net_nft_publish(p.v, p.n, &e) < 0 && e.code != EEXIST)
                fprintf(stderr, "warning: restoring the ports of container %.12s: %s, ignoring\n",
                        c->id, e.msg);
        free(p.v);
}

void publish_restore_all(const struct cli *cli, const char *except)
{
        struct container **all = NULL;
        struct err e = {0};

        if (net_nft_ensure(&e) < 0) {
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                return;
        }
        store_each(cli, restore_network, NULL);
        /* The flush took the IPv6 table with it: its rules and maps first, then the ports. */
        if (bridge_sync6(cli, NULL, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (container_list(cli, &all, &e) < 0)
                return;
        for (struct container **c = all; *c; c++)
                if ((!except || strcmp((*c)->id, except)) && container_is_live(*c))
                        restore_ports(*c);
        container_list_free(all);
}
