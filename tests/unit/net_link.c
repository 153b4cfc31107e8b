/* net/link against the real kernel. main() moves the whole binary into a fresh network
 * namespace first, so the host's interfaces are never touched; the "container" namespaces
 * are made by short-lived threads (unshare + open /proc/thread-self/ns/net). Without the
 * privilege to do that (not root), every test is skipped. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/route.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/link.h"
#include "net/loopback.h"
#include "net/nl.h"

#define BR          "hwt-br0"
#define BR_GW       "10.88.0.1"
#define BR2         "hwt-br1"
#define BR2_GW      "10.99.0.1"
#define HOST        "hw0123456789ab"
#define PEER        "eth0"
#define CT_ADDR     "10.88.0.2"
#define MTU         1400
#define TIMING_RUNS 50

static bool have_netns;

#define NEED_NETNS()                                                                               \
        do {                                                                                       \
                if (!have_netns)                                                                   \
                        skip();                                                                    \
        } while (0)

static struct in_addr ip4(const char *s)
{
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

/* Runs fn on a thread that has entered netns fd, so the test's own thread never moves. */
struct in_netns {
        int fd;
        int (*fn)(void *);
        void *arg;
        int r;
};

static void *in_netns_thread(void *p)
{
        struct in_netns *a = p;

        if (a->fd >= 0 && setns(a->fd, CLONE_NEWNET) < 0)
                a->r = -errno;
        else if (a->fd < 0 && unshare(CLONE_NEWNET) < 0)
                a->r = -errno;
        else
                a->r = a->fn(a->arg);
        return NULL;
}

/* fd < 0: in a brand-new namespace. */
static int run_in_netns(int fd, int (*fn)(void *), void *arg)
{
        struct in_netns a = {.fd = fd, .fn = fn, .arg = arg, .r = -EIO};
        pthread_t t;

        assert_int_equal(pthread_create(&t, NULL, in_netns_thread, &a), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        return a.r;
}

static int open_own_netns(void *arg)
{
        (void)arg;
        return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* A new, empty network namespace standing in for a container's; the fd keeps it alive. */
static int netns_new(void)
{
        int fd = run_in_netns(-1, open_own_netns, NULL);

        assert_true(fd >= 0);
        return fd;
}

struct udp_args {
        const char *ip;
        uint16_t port;
};

static int udp_bound(void *p)
{
        const struct udp_args *a = p;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a->port)};
        struct timeval tv = {.tv_usec = 100 * 1000};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        sa.sin_addr = ip4(a->ip);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

/* Sends from tx to ip:port until rx (bound there) receives it; ARP may eat the first try. */
static bool udp_delivers(int tx, int rx, const char *ip, uint16_t port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        char msg[32], buf[32];

        sa.sin_addr = ip4(ip);
        for (int i = 0; i < 30; i++) {
                int len = snprintf(msg, sizeof(msg), "hawser-%d", i);
                ssize_t n;

                if (sendto(tx, msg, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)) != len)
                        continue;
                n = recv(rx, buf, sizeof(buf), 0);
                /* Under load a datagram can arrive after its try timed out: any of ours counts. */
                if (n >= 7 && memcmp(buf, "hawser-", 7) == 0)
                        return true;
        }
        return false;
}

/* What a container's namespace shows about one link, read with libnl from inside. */
struct link_view {
        const char *name;
        int ifindex; /* 0: no such link */
        unsigned int mtu;
        uint8_t mac[6];
        bool up;
        uint8_t addr_gen_mode;
        int master;
        int v4_matches; /* IPv4 addresses equal to want_addr/want_prefix */
        int v4_total;
        int v6_total;
        bool default_via_want_gw;
        const char *want_addr;
        int want_prefix;
        const char *want_gw;
};

static void view_addrs(struct nl_sock *sk, struct link_view *v)
{
        struct nl_cache *cache = NULL;

        assert_int_equal(rtnl_addr_alloc_cache(sk, &cache), 0);
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *)o;
                struct nl_addr *local = rtnl_addr_get_local(a);

                if (rtnl_addr_get_ifindex(a) != v->ifindex)
                        continue;
                if (rtnl_addr_get_family(a) == AF_INET6)
                        v->v6_total++;
                if (rtnl_addr_get_family(a) != AF_INET || !local)
                        continue;
                v->v4_total++;
                if (v->want_addr && rtnl_addr_get_prefixlen(a) == v->want_prefix) {
                        struct in_addr want = ip4(v->want_addr);
                        if (!memcmp(nl_addr_get_binary_addr(local), &want, sizeof(want)))
                                v->v4_matches++;
                }
        }
        nl_cache_free(cache);
}

static void view_routes(struct nl_sock *sk, struct link_view *v)
{
        struct nl_cache *cache = NULL;

        if (!v->want_gw)
                return;
        assert_int_equal(rtnl_route_alloc_cache(sk, AF_INET, 0, &cache), 0);
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *r = (struct rtnl_route *)o;
                struct nl_addr *dst = rtnl_route_get_dst(r);
                struct rtnl_nexthop *nh;
                struct nl_addr *gw;
                struct in_addr want = ip4(v->want_gw);

                if (rtnl_route_get_table(r) != RT_TABLE_MAIN || (dst && nl_addr_get_prefixlen(dst)))
                        continue;
                if (rtnl_route_get_nnexthops(r) != 1)
                        continue;
                nh = rtnl_route_nexthop_n(r, 0);
                gw = rtnl_route_nh_get_gateway(nh);
                if (gw && !memcmp(nl_addr_get_binary_addr(gw), &want, 4) &&
                    rtnl_route_nh_get_ifindex(nh) == v->ifindex)
                        v->default_via_want_gw = true;
        }
        nl_cache_free(cache);
}

static int view_link(void *p)
{
        struct link_view *v = p;
        struct nl_sock *sk = nl_socket_alloc();
        struct rtnl_link *link = NULL;
        int r;

        assert_non_null(sk);
        assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
        r = rtnl_link_get_kernel(sk, 0, v->name, &link);
        if (r == 0) {
                struct nl_addr *mac = rtnl_link_get_addr(link);

                v->ifindex = rtnl_link_get_ifindex(link);
                v->mtu = rtnl_link_get_mtu(link);
                v->up = rtnl_link_get_flags(link) & IFF_UP;
                v->master = rtnl_link_get_master(link);
                if (mac && nl_addr_get_len(mac) == 6)
                        memcpy(v->mac, nl_addr_get_binary_addr(mac), 6);
                if (rtnl_link_inet6_get_addr_gen_mode(link, &v->addr_gen_mode) < 0)
                        v->addr_gen_mode = 0xff;
                rtnl_link_put(link);
                view_addrs(sk, v);
                view_routes(sk, v);
        }
        nl_socket_free(sk);
        return 0;
}

/* fd < 0 here means the test's own namespace. */
static void view(int fd, struct link_view *v)
{
        if (fd >= 0)
                assert_int_equal(run_in_netns(fd, view_link, v), 0);
        else
                assert_int_equal(view_link(v), 0);
}

static int count_links(void *arg)
{
        char **names = NULL;
        struct err err;
        int n = net_link_list(&names, &err);

        (void)arg;
        util_strv_free(names);
        return n;
}

static void ensure_bridge(const char *name, const char *gw, int prefix)
{
        struct err err = {0};
        int r = net_link_bridge_ensure(name, ip4(gw), prefix, MTU, &err);

        if (r < 0)
                fail_msg("%s", err.msg);
}

static struct net_veth veth_for(int nsfd)
{
        struct net_veth v = {
                .host_name = HOST,
                .bridge = BR,
                .netns_fd = nsfd,
                .peer_name = PEER,
                .prefix = 16,
                .mac = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x02},
                .mtu = MTU,
        };

        v.addr = ip4(CT_ADDR);
        v.gateway = ip4(BR_GW);
        return v;
}

static void test_errno_table(void **state)
{
        (void)state;
        assert_int_equal(net_nl_errno(-NLE_EXIST), -EEXIST);
        assert_int_equal(net_nl_errno(-NLE_NODEV), -ENODEV);
        assert_int_equal(net_nl_errno(-NLE_OBJ_NOTFOUND), -ENOENT);
        assert_int_equal(net_nl_errno(-NLE_PERM), -EPERM);
        assert_int_equal(net_nl_errno(-NLE_BUSY), -EBUSY);
        assert_int_equal(net_nl_errno(-NLE_INVAL), -EINVAL);
        assert_int_equal(net_nl_errno(-NLE_NOMEM), -ENOMEM);
        assert_int_equal(net_nl_errno(-NLE_RANGE), -ERANGE);
        assert_int_equal(net_nl_errno(-NLE_FAILURE), -EPROTO);
        assert_int_equal(net_nl_errno(NLE_EXIST), -EEXIST);
}

static void test_bad_arguments(void **state)
{
        struct net_veth v = veth_for(0);
        struct err err = {0};
        bool b;

        (void)state;
        assert_int_equal(net_link_bridge_ensure("hwt-name-too-long", ip4(BR_GW), 16, 0, &err),
                         -EINVAL);
        assert_int_equal(net_link_bridge_ensure(BR, ip4(BR_GW), 33, 0, &err), -EINVAL);
        assert_int_equal(net_route_overlaps(ip4("10.0.0.0"), 40, &b, &err), -EINVAL);
        assert_int_equal(net_sysctl_write("/etc/passwd", "x", &err), -EINVAL);
        assert_int_equal(net_sysctl_write("/proc/sys/../../etc/passwd", "x", &err), -EINVAL);
        v.netns_fd = -1;
        assert_int_equal(net_link_veth_create(&v, &err), -EBADF);
        v = veth_for(0);
        v.peer_name = "";
        assert_int_equal(net_link_veth_create(&v, &err), -EINVAL);
        v = veth_for(0);
        memset(v.mac, 0, sizeof(v.mac));
        assert_int_equal(net_link_veth_create(&v, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "00:00:00:00:00:00"));
        v.mac[0] = 0x01; /* multicast */
        assert_int_equal(net_link_veth_create(&v, &err), -EINVAL);
}

static void test_bridge_ensure_idempotent(void **state)
{
        struct link_view v = {.name = BR, .want_addr = BR_GW, .want_prefix = 16};
        struct err err = {0};
        int a, b;

        (void)state;
        NEED_NETNS();
        a = net_link_bridge_ensure(BR, ip4(BR_GW), 16, MTU, &err);
        assert_true(a > 0);
        b = net_link_bridge_ensure(BR, ip4(BR_GW), 16, MTU, &err);
        assert_int_equal(a, b);
        view(-1, &v);
        assert_int_equal(v.ifindex, a);
        assert_true(v.up);
        assert_int_equal(v.mtu, MTU);
        assert_int_equal(v.v4_matches, 1);
        assert_int_equal(v.v4_total, 1);

        /* A different MTU on an existing bridge is applied. */
        assert_int_equal(net_link_bridge_ensure(BR, ip4(BR_GW), 16, 1300, &err), a);
        v = (struct link_view){.name = BR};
        view(-1, &v);
        assert_int_equal(v.mtu, 1300);
        assert_int_equal(net_link_bridge_ensure(BR, ip4(BR_GW), 16, MTU, &err), a);
}

static void test_bridge_delete(void **state)
{
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge("hwt-brx", "10.77.0.1", 24);
        assert_int_equal(net_link_exists("hwt-brx"), 1);
        assert_int_equal(net_link_bridge_delete("hwt-brx", &err), 0);
        assert_int_equal(net_link_exists("hwt-brx"), 0);
        assert_int_equal(net_link_bridge_delete("hwt-brx", &err), 0);
        /* Refuses to delete something that is not a bridge. */
        assert_int_equal(net_link_bridge_delete("lo", &err), -EINVAL);
        assert_int_equal(net_link_exists("lo"), 1);
        /* And ensure refuses to adopt it. */
        assert_int_equal(net_link_bridge_ensure("lo", ip4("10.66.0.1"), 24, 0, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "not a bridge"));
}

static void test_veth_configured_in_netns(void **state)
{
        int ns = -1, rx = -1, tx = -1, host_bridge;
        struct net_veth cfg;
        struct link_view peer = {
                .name = PEER, .want_addr = CT_ADDR, .want_prefix = 16, .want_gw = BR_GW};
        struct link_view host = {.name = HOST};
        struct udp_args at_ct = {CT_ADDR, 40000}, at_host = {BR2_GW, 40001};
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        ensure_bridge(BR2, BR2_GW, 24);
        ns = netns_new();
        cfg = veth_for(ns);
        if (net_link_veth_create(&cfg, &err) < 0)
                fail_msg("%s", err.msg);

        view(ns, &peer);
        assert_true(peer.ifindex > 0);
        assert_memory_equal(peer.mac, cfg.mac, 6);
        assert_int_equal(peer.mtu, MTU);
        assert_true(peer.up);
        assert_int_equal(peer.v4_matches, 1);
        assert_int_equal(peer.v4_total, 1);
        assert_int_equal(peer.v6_total, 0); /* no link-local, no DAD */
        /* A kernel booted with ipv6.disable=1 has no IPv6 settings to read or set. */
        if (access("/proc/sys/net/ipv6", F_OK) == 0)
                assert_int_equal(peer.addr_gen_mode, IN6_ADDR_GEN_MODE_NONE);
        else
                print_message("no IPv6 on this machine: the address generation mode is not "
                              "checked\n");
        assert_true(peer.default_via_want_gw);

        host_bridge = net_link_bridge_ensure(BR, ip4(BR_GW), 16, MTU, &err);
        view(-1, &host);
        assert_true(host.ifindex > 0);
        assert_int_equal(host.master, host_bridge);
        assert_true(host.up);
        assert_int_equal(host.mtu, MTU);
        /* The container end is not in the test's namespace. */
        assert_int_equal(net_link_exists(PEER), 0);

        /* Host namespace -> container over the bridge and the veth. */
        rx = run_in_netns(ns, udp_bound, &at_ct);
        assert_true(rx >= 0);
        tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(tx >= 0);
        assert_true(udp_delivers(tx, rx, CT_ADDR, at_ct.port));
        close(tx);
        /* Container -> an address outside its subnet: only the default route gets it there. */
        tx = udp_bound(&at_host);
        assert_true(tx >= 0);
        assert_true(udp_delivers(rx, tx, BR2_GW, at_host.port));
        close(tx);
        close(rx);

        assert_int_equal(net_link_delete(HOST, &err), 0);
        assert_int_equal(net_link_delete(HOST, &err), 0);
        assert_int_equal(net_link_exists(HOST), 0);
        peer = (struct link_view){.name = PEER};
        view(ns, &peer);
        assert_int_equal(peer.ifindex, 0); /* the peer went with the host end */
        assert_int_equal(net_link_bridge_delete(BR2, &err), 0);
        close(ns);
}

static void test_veth_without_gateway(void **state)
{
        struct link_view peer = {
                .name = PEER, .want_addr = CT_ADDR, .want_prefix = 16, .want_gw = BR_GW};
        struct net_veth cfg;
        struct err err = {0};
        int ns;

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        ns = netns_new();
        cfg = veth_for(ns);
        cfg.gateway.s_addr = INADDR_ANY;
        if (net_link_veth_create(&cfg, &err) < 0)
                fail_msg("%s", err.msg);
        view(ns, &peer);
        assert_true(peer.up);
        assert_int_equal(peer.v4_matches, 1);
        assert_false(peer.default_via_want_gw);
        assert_int_equal(net_link_delete(HOST, &err), 0);
        close(ns);
}

static void test_route_overlaps(void **state)
{
        static const struct {
                const char *net;
                int prefix;
                bool overlaps;
        } cases[] = {
                {"127.0.0.0", 8, true},                            /* lo's 127.0.0.1/8 */
                {"127.0.0.1", 32, true},  {"10.88.0.0", 16, true}, /* the bridge's subnet */
                {"10.88.7.0", 24, true},                           /* inside it */
                {"10.0.0.0", 8, true},                             /* around it */
                {"10.89.0.0", 16, false}, {"172.30.0.0", 16, false}, {"192.168.0.0", 20, false},
        };
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                bool got = !cases[i].overlaps;

                assert_int_equal(net_route_overlaps(ip4(cases[i].net), cases[i].prefix, &got, &err),
                                 0);
                if (got != cases[i].overlaps)
                        fail_msg("%s/%d: overlaps=%d, want %d", cases[i].net, cases[i].prefix, got,
                                 cases[i].overlaps);
        }
}

static void test_veth_host_name_taken(void **state)
{
        int ns = -1, ns2 = -1, before;
        struct net_veth cfg;
        struct link_view peer = {.name = PEER};
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        ns = netns_new();
        ns2 = netns_new();
        cfg = veth_for(ns);
        if (net_link_veth_create(&cfg, &err) < 0)
                fail_msg("%s", err.msg);
        before = count_links(NULL);

        cfg = veth_for(ns2);
        cfg.addr = ip4("10.88.0.3");
        assert_int_equal(net_link_veth_create(&cfg, &err), -EEXIST);
        assert_int_equal(err.code, EEXIST);
        assert_non_null(strstr(err.msg, HOST));
        assert_int_equal(count_links(NULL), before);
        view(ns2, &peer);
        assert_int_equal(peer.ifindex, 0);
        /* The existing pair was not touched. */
        assert_int_equal(net_link_exists(HOST), 1);
        peer = (struct link_view){.name = PEER};
        view(ns, &peer);
        assert_true(peer.ifindex > 0);

        assert_int_equal(net_link_delete(HOST, &err), 0);
        close(ns2);
        close(ns);
}

static void test_veth_peer_name_taken(void **state)
{
        int ns = -1;
        struct net_veth cfg;
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        ns = netns_new();
        cfg = veth_for(ns);
        cfg.peer_name = "lo";
        assert_int_equal(net_link_veth_create(&cfg, &err), -EEXIST);
        assert_int_equal(net_link_exists(HOST), 0);
        close(ns);
}

static void test_veth_bad_netns_fd(void **state)
{
        int before, closed, devnull;
        struct net_veth cfg;
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        before = count_links(NULL);

        /* High enough that the sockets net_link_veth_create opens cannot land on it. */
        closed = 1000;
        assert_int_equal(fcntl(closed, F_GETFD), -1);
        cfg = veth_for(closed);
        assert_int_equal(net_link_veth_create(&cfg, &err), -EBADF);
        assert_non_null(strstr(err.msg, HOST));
        assert_int_equal(net_link_exists(HOST), 0);

        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(devnull >= 0);
        cfg = veth_for(devnull);
        assert_int_equal(net_link_veth_create(&cfg, &err), -EINVAL);
        assert_int_equal(net_link_exists(HOST), 0);
        close(devnull);

        assert_int_equal(count_links(NULL), before);
}

static void test_veth_missing_bridge(void **state)
{
        int ns;
        struct net_veth cfg;
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ns = netns_new();
        cfg = veth_for(ns);
        cfg.bridge = "hwt-nobridge";
        assert_int_equal(net_link_veth_create(&cfg, &err), -ENODEV);
        assert_non_null(strstr(err.msg, "hwt-nobridge"));
        assert_int_equal(net_link_exists(HOST), 0);
        close(ns);
}

/* The pair exists when the container-side step fails: it must be removed again. */
static void test_veth_rollback_after_create(void **state)
{
        int ns, before;
        struct net_veth cfg;
        struct link_view peer = {.name = PEER};
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        before = count_links(NULL);
        ns = netns_new();
        cfg = veth_for(ns);
        cfg.gateway = ip4("192.0.2.1"); /* not on the container's subnet */
        assert_true(net_link_veth_create(&cfg, &err) < 0);
        assert_int_not_equal(err.code, 0);
        assert_non_null(strstr(err.msg, HOST));
        assert_non_null(strstr(err.msg, "default route"));
        assert_int_equal(net_link_exists(HOST), 0);
        assert_int_equal(count_links(NULL), before);
        view(ns, &peer);
        assert_int_equal(peer.ifindex, 0);
        close(ns);
}

static void test_link_delete_idempotent(void **state)
{
        struct err err = {0};

        (void)state;
        NEED_NETNS();
        assert_int_equal(net_link_delete("hwt-missing", &err), 0);
        assert_int_equal(net_link_delete("hwt-missing", &err), 0);
        assert_int_equal(net_link_exists("hwt-missing"), 0);
        assert_int_equal(net_link_delete("lo", &err) < 0, 1); /* the kernel refuses; reported */
        assert_int_equal(net_link_exists("lo"), 1);
}

static void test_sysctl_write(void **state)
{
        char path[128], buf[8] = "";
        struct err err = {0};
        FILE *f;

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        assert_int_equal(net_sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", &err), 0);
        f = fopen("/proc/sys/net/ipv4/ip_forward", "re");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "1\n");
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", BR);
        assert_int_equal(net_sysctl_write(path, "1", &err), 0);
        assert_int_equal(
                net_sysctl_write("/proc/sys/net/ipv4/conf/hwt-gone/route_localnet", "1", &err),
                -ENOENT);
        assert_non_null(strstr(err.msg, "hwt-gone"));
}

static void test_link_list(void **state)
{
        _cleanup_strv_ char **names = NULL;
        struct err err = {0};
        int n;

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        n = net_link_list(&names, &err);
        assert_true(n >= 2);
        assert_int_equal((size_t)n, util_strv_len(names));
        assert_true(util_strv_contains(names, "lo"));
        assert_true(util_strv_contains(names, BR));
}

static int cmp_ll(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;

        return (x > y) - (x < y);
}

static long long now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reported, not asserted: the start path's cost of one container's network. */
static void test_veth_create_timing(void **state)
{
        long long create[TIMING_RUNS], del[TIMING_RUNS];
        struct net_veth cfg;
        struct err err = {0};
        int ns;

        (void)state;
        NEED_NETNS();
        ensure_bridge(BR, BR_GW, 16);
        ns = netns_new();
        cfg = veth_for(ns);
        for (int i = 0; i < TIMING_RUNS; i++) {
                long long t0 = now_ns(), t1;

                if (net_link_veth_create(&cfg, &err) < 0)
                        fail_msg("run %d: %s", i, err.msg);
                t1 = now_ns();
                assert_int_equal(net_link_delete(HOST, &err), 0);
                create[i] = t1 - t0;
                del[i] = now_ns() - t1;
        }
        qsort(create, TIMING_RUNS, sizeof(create[0]), cmp_ll);
        qsort(del, TIMING_RUNS, sizeof(del[0]), cmp_ll);
        printf("[   INFO   ] net_link_veth_create: median %.0f us, min %.0f us, max %.0f us "
               "(%d runs); net_link_delete median %.0f us\n",
               create[TIMING_RUNS / 2] / 1e3, create[0] / 1e3, create[TIMING_RUNS - 1] / 1e3,
               TIMING_RUNS, del[TIMING_RUNS / 2] / 1e3);
        close(ns);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errno_table),
                cmocka_unit_test(test_bad_arguments),
                cmocka_unit_test(test_bridge_ensure_idempotent),
                cmocka_unit_test(test_bridge_delete),
                cmocka_unit_test(test_veth_configured_in_netns),
                cmocka_unit_test(test_veth_without_gateway),
                cmocka_unit_test(test_route_overlaps),
                cmocka_unit_test(test_veth_host_name_taken),
                cmocka_unit_test(test_veth_peer_name_taken),
                cmocka_unit_test(test_veth_bad_netns_fd),
                cmocka_unit_test(test_veth_missing_bridge),
                cmocka_unit_test(test_veth_rollback_after_create),
                cmocka_unit_test(test_link_delete_idempotent),
                cmocka_unit_test(test_sysctl_write),
                cmocka_unit_test(test_link_list),
                cmocka_unit_test(test_veth_create_timing),
        };
        struct err err = {0};

        /* Never run against the host's interfaces: everything below happens in a namespace
         * that dies with this process. */
        if (unshare(CLONE_NEWNET) == 0) {
                if (net_loopback_up(&err) < 0) {
                        fprintf(stderr, "net_link: %s\n", err.msg);
                        return 1;
                }
                have_netns = true;
        } else {
                printf("[   INFO   ] unshare(CLONE_NEWNET): %s; skipping kernel tests\n",
                       strerror(errno));
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
