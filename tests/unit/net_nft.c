/* net/nft against the real kernel, inside a private network namespace that main() enters
 * first, so the host's ruleset is never touched. Needs root (tests/run.sh runs unit tests
 * as root); every test skips otherwise. `nft` is used only to read back what was made. */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "net/loopback.h"
#include "net/nft.h"
#include "tests/unit/testkit.h"

static bool in_netns;
static bool have_nft;

static struct in_addr ip4(const char *s)
{
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

static struct net_nft_port port(const char *host_ip, uint16_t hport, uint8_t proto,
                                const char *ctr_ip, uint16_t cport)
{
        return (struct net_nft_port){.host_ip = ip4(host_ip),
                                     .host_port = hport,
                                     .proto = proto,
                                     .ctr_ip = ip4(ctr_ip),
                                     .ctr_port = cport};
}

/* Output of a shell command (NULL if it failed), malloc'd. */
static char *run(const char *cmd)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        FILE *p = popen(cmd, "r");
        char buf[4096];
        size_t n;
        int status;

        assert_non_null(f);
        assert_non_null(p);
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
                fwrite(buf, 1, n, f);
        status = pclose(p);
        fclose(f);
        if (status != 0)
                return NULL;
        return TAKE_PTR(out);
}

/* `nft list table ip hawser`, with leading tabs stripped from every line. */
static char *listing(void)
{
        return run("nft list table ip hawser 2>&1 | sed 's/^\\t*//'");
}

static int count_line(const char *text, const char *line)
{
        size_t n = strlen(line);
        int count = 0;

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len == n && !strncmp(p, line, n))
                        count++;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return count;
}

static int count_substr(const char *text, const char *s)
{
        int count = 0;

        for (const char *p = text; p && (p = strstr(p, s)); p += strlen(s))
                count++;
        return count;
}

/* Position of line in text, or -1. */
static long line_pos(const char *text, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len == n && !strncmp(p, line, n))
                        return p - text;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return -1;
}

static int reset(void **state)
{
        struct err err = {0};

        (void)state;
        if (in_netns) {
                assert_int_equal(net_nft_destroy(&err), 0);
                assert_int_equal(net_nft_ip6_sync(NULL, 0, &err), 0);
        }
        return 0;
}

#define REQUIRE_NETNS()                                                                            \
        do {                                                                                       \
                if (!in_netns)                                                                     \
                        skip();                                                                    \
        } while (0)

static const char *const fixed_lines[] = {
        "type nat hook prerouting priority dstnat; policy accept;",
        "type nat hook output priority -100; policy accept;",
        "type nat hook postrouting priority srcnat; policy accept;",
        "type filter hook forward priority filter; policy accept;",
        "type inet_proto . inet_service : ipv4_addr . inet_service",
        "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
        "fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @dnat_ip "
        "comment \"hawser:fixed\"",
        "fib daddr type local dnat ip to meta l4proto . th dport map @dnat_any "
        "comment \"hawser:fixed\"",
        "ct state established,related accept comment \"hawser:fixed\"",
        "ct status dnat accept comment \"hawser:fixed\"",
};

static void test_ensure_idempotent(void **state)
{
        struct err err = {0};
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_ensure(&err), 1);
        assert_int_equal(net_nft_ensure(&err), 0);
        if (!have_nft)
                return;
        text = listing();
        assert_non_null(text);
        for (size_t i = 0; i < ARRAY_SIZE(fixed_lines); i++) {
                int want = strstr(fixed_lines[i], "fib daddr") ? 2 : 1;
                if (count_line(text, fixed_lines[i]) != want)
                        fail_msg("expected %d x '%s' in:\n%s", want, fixed_lines[i], text);
        }
        assert_int_equal(count_substr(text, "hawser:fixed"), 6);
        assert_int_equal(count_line(text, "map dnat_any {"), 1);
        assert_int_equal(count_line(text, "map dnat_ip {"), 1);
}

/* Racing creators in separate processes: every one succeeds, exactly one creates. */
static void test_ensure_concurrent(void **state)
{
        enum { N = 8 };
        pid_t pids[N];
        int created = 0;
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        for (int i = 0; i < N; i++) {
                pids[i] = test_fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct err err = {0};
                        int r = net_nft_ensure(&err);
                        _exit(r < 0 ? 100 : r);
                }
        }
        for (int i = 0; i < N; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_true(WEXITSTATUS(status) <= 1);
                created += WEXITSTATUS(status);
        }
        assert_int_equal(created, 1);
        if (!have_nft)
                return;
        text = listing();
        assert_int_equal(count_substr(text, "hawser:fixed"), 6);
}

static const struct net_nft_network net0 = {
        .bridge = "hawser0", .prefix = 16, .icc = true, .internal = false};

static void test_network_add_del(void **state)
{
        struct net_nft_network n = net0;
        struct err err = {0};
        char *text;

        (void)state;
        REQUIRE_NETNS();
        n.subnet = ip4("172.17.0.0");
        /* The table is missing: add creates it. */
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        if (have_nft) {
                text = listing();
                const char *want[] = {
                        "ip saddr 172.17.0.0/16 oifname != \"hawser0\" masquerade comment "
                        "\"hawser:net:hawser0\"",
                        "ct status dnat oifname \"hawser0\" ip saddr { 127.0.0.0/8, "
                        "172.17.0.0/16 } masquerade comment \"hawser:net:hawser0\"",
                        "ct status dnat oifname \"hawser0\" fib saddr type local masquerade "
                        "comment \"hawser:net:hawser0\"",
                        "iifname \"hawser0\" oifname \"hawser0\" accept comment "
                        "\"hawser:net:hawser0\"",
                        "oifname \"hawser0\" drop comment \"hawser:net:hawser0\"",
                        "iifname \"hawser0\" oifname != \"hawser0\" accept comment "
                        "\"hawser:net:hawser0\"",
                        "iifname \"hawser0\" ip daddr 127.0.0.0/8 ct status dnat accept comment "
                        "\"hawser:net:hawser0\"",
                        "iifname \"hawser0\" ip daddr 127.0.0.0/8 ct state established,related "
                        "accept comment \"hawser:net:hawser0\"",
                        "iifname \"hawser0\" ip daddr 127.0.0.0/8 drop comment "
                        "\"hawser:net:hawser0\"",
                };
                for (size_t i = 0; i < ARRAY_SIZE(want); i++)
                        if (count_line(text, want[i]) != 1)
                                fail_msg("expected once '%s' in:\n%s", want[i], text);
                assert_int_equal(count_substr(text, "hawser:net:hawser0"), 9);
                free(text);
        }

        /* Replacing: internal and no icc. */
        n.icc = false;
        n.internal = true;
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        if (have_nft) {
                text = listing();
                assert_int_equal(count_substr(text, "hawser:net:hawser0"), 8);
                assert_int_equal(count_substr(text, "oifname != \"hawser0\" masquerade"), 0);
                assert_int_equal(count_line(text, "iifname \"hawser0\" oifname \"hawser0\" drop "
                                                  "comment \"hawser:net:hawser0\""),
                                 1);
                assert_int_equal(count_line(text, "iifname \"hawser0\" oifname != \"hawser0\" drop "
                                                  "comment \"hawser:net:hawser0\""),
                                 1);
                free(text);
        }

        assert_int_equal(net_nft_network_del("hawser0", &err), 0);
        assert_int_equal(net_nft_network_del("hawser0", &err), 0);
        if (have_nft) {
                text = listing();
                assert_int_equal(count_substr(text, "hawser:net:"), 0);
                assert_int_equal(count_substr(text, "hawser:fixed"), 6);
                free(text);
        }
}

/* A network whose subnet touches 127.0.0.0/8 gets one merged interval. */
static void test_network_adjacent_subnet(void **state)
{
        struct net_nft_network n = {.bridge = "hw-adj", .prefix = 8, .icc = true};
        struct err err = {0};
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        n.subnet = ip4("126.0.0.0");
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        if (!have_nft)
                return;
        text = listing();
        assert_int_equal(count_substr(text, "ip saddr { 126.0.0.0/7 } masquerade"), 1);
        free(text);
        /* Not CIDR-aligned once merged: printed as a range. */
        n.subnet = ip4("128.0.0.0");
        n.prefix = 16;
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        text = listing();
        assert_int_equal(count_substr(text, "ip saddr { 127.0.0.0-128.0.255.255 } masquerade"), 1);
}

/* Every network's "into the bridge" drop precedes every network's "out" accept. */
static void test_network_isolation_order(void **state)
{
        struct net_nft_network a = net0, b = net0;
        struct err err = {0};
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        a.bridge = "hw-a";
        a.subnet = ip4("10.1.0.0");
        b.bridge = "hw-b";
        b.subnet = ip4("10.2.0.0");
        assert_int_equal(net_nft_network_add(&a, &err), 0);
        assert_int_equal(net_nft_network_add(&b, &err), 0);
        assert_int_equal(net_nft_network_add(&a, &err), 0); /* replacing keeps the order */
        if (!have_nft)
                return;
        text = listing();
        long dnat = line_pos(text, "ct status dnat accept comment \"hawser:fixed\"");
        long a_in = line_pos(text, "oifname \"hw-a\" drop comment \"hawser:net:hw-a\"");
        long b_in = line_pos(text, "oifname \"hw-b\" drop comment \"hawser:net:hw-b\"");
        long a_out = line_pos(text, "iifname \"hw-a\" oifname != \"hw-a\" accept comment "
                                    "\"hawser:net:hw-a\"");
        long b_out = line_pos(text, "iifname \"hw-b\" oifname != \"hw-b\" accept comment "
                                    "\"hawser:net:hw-b\"");
        long a_icc = line_pos(text, "iifname \"hw-a\" oifname \"hw-a\" accept comment "
                                    "\"hawser:net:hw-a\"");
        assert_true(dnat >= 0 && a_in > dnat && b_in > dnat && a_icc > dnat && a_icc < a_in);
        assert_true(a_out > a_in && a_out > b_in && b_out > a_in && b_out > b_in);
}

/* Concurrent writers from separate processes: the generation check makes each plan
 * atomic, so every network ends up with exactly its own rules. */
static void test_network_concurrent(void **state)
{
        enum { N = 6 };
        pid_t pids[N];
        struct err err = {0};
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_ensure(&err), 1);
        for (int i = 0; i < N; i++) {
                pids[i] = test_fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        char name[16];
                        struct net_nft_network n = net0;
                        int r = 0;
                        snprintf(name, sizeof(name), "hw-c%d", i);
                        n.bridge = name;
                        n.subnet.s_addr = htonl(0x0a000000u | (uint32_t)(i + 10) << 16);
                        for (int k = 0; k < 5 && r == 0; k++)
                                r = net_nft_network_add(&n, &err);
                        if (r < 0)
                                fprintf(stderr, "child %d: %s\n", i, err.msg);
                        _exit(r < 0 ? 1 : 0);
                }
        }
        for (int i = 0; i < N; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        if (!have_nft)
                return;
        text = listing();
        for (int i = 0; i < N; i++) {
                char tag[32];
                snprintf(tag, sizeof(tag), "\"hawser:net:hw-c%d\"", i);
                assert_int_equal(count_substr(text, tag), 9);
        }
}

static bool has_port(const struct net_nft_port *v, size_t n, const struct net_nft_port *p)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].host_ip.s_addr == p->host_ip.s_addr && v[i].host_port == p->host_port &&
                    v[i].proto == p->proto && v[i].ctr_ip.s_addr == p->ctr_ip.s_addr &&
                    v[i].ctr_port == p->ctr_port && v[i].v6 == p->v6 &&
                    !memcmp(&v[i].host_ip6, &p->host_ip6, sizeof(p->host_ip6)) &&
                    !memcmp(&v[i].ctr_ip6, &p->ctr_ip6, sizeof(p->ctr_ip6)))
                        return true;
        return false;
}

static size_t nports(void)
{
        _cleanup_free_ struct net_nft_port *v = NULL;
        struct err err = {0};
        size_t n = 99;

        assert_int_equal(net_nft_list_ports(&v, &n, &err), 0);
        return n;
}

static void test_publish_unpublish(void **state)
{
        const struct net_nft_port p[] = {
                port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.2", 80),
                port("0.0.0.0", 5353, IPPROTO_UDP, "172.17.0.2", 53),
                port("127.0.0.1", 8080, IPPROTO_TCP, "172.17.0.3", 80),
                port("0.0.0.0", 9000, IPPROTO_SCTP, "172.17.0.4", 9000),
        };
        _cleanup_free_ struct net_nft_port *v = NULL;
        struct err err = {0};
        size_t n = 0;

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_list_ports(&v, &n, &err), 0); /* no table: empty */
        assert_int_equal(n, 0);
        assert_int_equal(net_nft_ensure(&err), 1);
        assert_int_equal(net_nft_publish(p, ARRAY_SIZE(p), &err), 0);
        assert_int_equal(net_nft_list_ports(&v, &n, &err), 0);
        assert_int_equal(n, ARRAY_SIZE(p));
        for (size_t i = 0; i < ARRAY_SIZE(p); i++)
                assert_true(has_port(v, n, &p[i]));

        /* A duplicate fails the whole batch: the new port next to it is not added. */
        const struct net_nft_port dup[] = {
                port("0.0.0.0", 8081, IPPROTO_TCP, "172.17.0.5", 81),
                port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.9", 80),
        };
        assert_int_equal(net_nft_publish(dup, ARRAY_SIZE(dup), &err), -EEXIST);
        assert_int_equal(err.code, EEXIST);
        if (!strstr(err.msg, "publishing 8080/tcp -> 172.17.0.9:80: File exists"))
                fail_msg("unexpected message: %s", err.msg);
        assert_int_equal(nports(), ARRAY_SIZE(p));
        /* Within one call too. */
        const struct net_nft_port twice[] = {dup[0], dup[0]};
        assert_int_equal(net_nft_publish(twice, 2, &err), -EEXIST);
        assert_int_equal(nports(), ARRAY_SIZE(p));

        /* Missing ports, ports that map elsewhere and repeats are skipped. */
        const struct net_nft_port del[] = {
                p[0], p[0], dup[0], port("127.0.0.1", 8080, IPPROTO_TCP, "172.17.0.99", 80), p[1],
        };
        assert_int_equal(net_nft_unpublish(del, ARRAY_SIZE(del), &err), 0);
        free(v);
        v = NULL;
        assert_int_equal(net_nft_list_ports(&v, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_true(has_port(v, n, &p[2]) && has_port(v, n, &p[3]));
        assert_int_equal(net_nft_unpublish(p, ARRAY_SIZE(p), &err), 0);
        assert_int_equal(nports(), 0);
        assert_int_equal(net_nft_unpublish(p, ARRAY_SIZE(p), &err), 0);

        assert_int_equal(net_nft_destroy(&err), 0);
        assert_int_equal(net_nft_destroy(&err), 0);
        assert_int_equal(net_nft_unpublish(p, ARRAY_SIZE(p), &err), 0);
}

static struct net_nft_port port6(const char *host_ip, uint16_t hport, const char *ctr_ip,
                                 uint16_t cport)
{
        struct net_nft_port p = {
                .v6 = true, .host_port = hport, .proto = IPPROTO_TCP, .ctr_port = cport};

        assert_int_equal(inet_pton(AF_INET6, host_ip, &p.host_ip6), 1);
        assert_int_equal(inet_pton(AF_INET6, ctr_ip, &p.ctr_ip6), 1);
        return p;
}

/* IPv6 ports live in the maps of the table ip6 hawser: published beside IPv4 ones in one
 * batch, listed, refused twice, kept when the table's rules are rewritten, removed. */
static void test_publish6(void **state)
{
        const struct net_nft_network nets[] = {{.bridge = "hwt6a", .icc = true},
                                               {.bridge = "hwt6b", .internal = true}};
        const struct net_nft_port p[] = {
                port6("::", 8080, "fd00::2", 80),
                port6("fd99::1", 8081, "fd00::3", 80),
                port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.2", 80),
        };
        const struct net_nft_port dup = port6("::", 8080, "fd00::9", 80);
        _cleanup_free_ struct net_nft_port *v = NULL;
        _cleanup_free_ char *table = NULL;
        struct err err = {0};
        size_t n = 0;

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_ensure(&err), 1);
        assert_int_equal(net_nft_ip6_sync(NULL, 0, &err), 0);
        assert_int_equal(net_nft_publish(p, 1, &err), -ENOENT); /* no ip6 table */
        assert_int_equal(net_nft_ip6_sync(nets, ARRAY_SIZE(nets), &err), 0);
        assert_int_equal(net_nft_publish(p, ARRAY_SIZE(p), &err), 0);
        assert_int_equal(net_nft_list_ports(&v, &n, &err), 0);
        assert_int_equal(n, ARRAY_SIZE(p));
        for (size_t i = 0; i < ARRAY_SIZE(p); i++)
                assert_true(has_port(v, n, &p[i]));
        assert_int_equal(net_nft_publish(&dup, 1, &err), -EEXIST);
        if (!strstr(err.msg, "publishing 8080/tcp -> [fd00::9]:80"))
                fail_msg("unexpected message: %s", err.msg);
        /* Rewriting the rules (a network came or went) keeps the elements. */
        assert_int_equal(net_nft_ip6_sync(nets, 1, &err), 0);
        assert_int_equal(nports(), ARRAY_SIZE(p));
        table = run("nft list table ip6 hawser");
        assert_non_null(table);
        assert_true(line_pos(table, "\t\telements = { fd99::1 . tcp . 8081 : fd00::3 . 80 }") >= 0);
        assert_true(line_pos(table, "\t\tct status dnat iifname \"hwt6a\" oifname \"hwt6a\" "
                                    "masquerade") >= 0);
        assert_null(strstr(table, "hwt6b"));
        assert_int_equal(net_nft_unpublish(p, 2, &err), 0);
        assert_int_equal(nports(), 1);
        assert_int_equal(net_nft_ip6_sync(NULL, 0, &err), 0);
        assert_int_equal(nports(), 1);
}

/* More elements than one netlink message carries; a duplicate deep inside is named. */
static void test_publish_many(void **state)
{
        enum { N = 1500 };
        _cleanup_free_ struct net_nft_port *p = calloc(N, sizeof(*p));
        struct net_nft_port extra[3];
        struct err err = {0};

        (void)state;
        REQUIRE_NETNS();
        assert_non_null(p);
        for (int i = 0; i < N; i++) {
                p[i] = port(i % 3 ? "0.0.0.0" : "10.9.8.7", (uint16_t)(20000 + i), IPPROTO_TCP,
                            "172.18.0.2", (uint16_t)(1 + i));
        }
        assert_int_equal(net_nft_publish(p, N, &err), 1); /* the table was missing */
        assert_int_equal(nports(), N);
        extra[0] = port("0.0.0.0", 1000, IPPROTO_UDP, "172.18.0.3", 1);
        extra[1] = port("0.0.0.0", 1001, IPPROTO_UDP, "172.18.0.3", 2);
        extra[2] = p[1234];
        extra[2].ctr_port = 7;
        assert_int_equal(net_nft_publish(extra, 3, &err), -EEXIST);
        if (!strstr(err.msg, "publishing 21234/tcp -> 172.18.0.2:7: File exists"))
                fail_msg("unexpected message: %s", err.msg);
        assert_int_equal(nports(), N);
        assert_int_equal(net_nft_unpublish(p, N, &err), 0);
        assert_int_equal(nports(), 0);
}

/* Somebody flushed the ruleset: publish rebuilds the table and says so. */
static void test_publish_rebuilds(void **state)
{
        const struct net_nft_port p = port("0.0.0.0", 8443, IPPROTO_TCP, "172.17.0.2", 443);
        struct err err = {0};
        _cleanup_free_ char *text = NULL;

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_ensure(&err), 1);
        assert_int_equal(net_nft_destroy(&err), 0);
        assert_int_equal(net_nft_publish(&p, 1, &err), 1);
        assert_int_equal(net_nft_publish(&(struct net_nft_port){.host_ip = p.host_ip,
                                                                .host_port = 8444,
                                                                .proto = IPPROTO_TCP,
                                                                .ctr_ip = p.ctr_ip,
                                                                .ctr_port = 444},
                                         1, &err),
                         0);
        assert_int_equal(nports(), 2);
        if (!have_nft)
                return;
        text = listing();
        assert_int_equal(count_substr(text, "hawser:fixed"), 6);
        assert_int_equal(count_substr(text, "tcp . 8443 : 172.17.0.2 . 443"), 1);
}

static void test_invalid(void **state)
{
        struct net_nft_port p = port("0.0.0.0", 80, 1 /* icmp */, "172.17.0.2", 80);
        struct net_nft_network n = net0;
        struct err err = {0};

        (void)state;
        REQUIRE_NETNS();
        assert_int_equal(net_nft_publish(&p, 1, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "protocol 1"));
        p.proto = IPPROTO_TCP;
        p.host_port = 0;
        assert_int_equal(net_nft_publish(&p, 1, &err), -EINVAL);
        assert_int_equal(net_nft_unpublish(&p, 1, &err), -EINVAL);
        n.bridge = "a-very-long-bridge";
        assert_int_equal(net_nft_network_add(&n, &err), -EINVAL);
        assert_int_equal(net_nft_network_del("", &err), -EINVAL);
        n.bridge = "ok0";
        n.prefix = 33;
        assert_int_equal(net_nft_network_add(&n, &err), -EINVAL);
        assert_int_equal(net_nft_publish(&p, 0, &err), 0);
}

/* A table named hawser that hawser did not make is reported, not patched over. */
static void test_foreign_table(void **state)
{
        struct net_nft_network n = net0;
        struct err err = {0};
        _cleanup_free_ char *out = NULL;

        (void)state;
        REQUIRE_NETNS();
        if (!have_nft)
                skip();
        out = run("nft add table ip hawser 2>&1");
        assert_non_null(out);
        n.subnet = ip4("172.17.0.0");
        assert_int_equal(net_nft_network_add(&n, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "hawser0"));
        const struct net_nft_port p = port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.2", 80);
        assert_int_equal(net_nft_publish(&p, 1, &err), -ENOENT);
        if (!strstr(err.msg, "publishing 8080/tcp -> 172.17.0.2:80: No such file or directory"))
                fail_msg("unexpected message: %s", err.msg);
}

/* Without CAP_NET_ADMIN the kernel refuses the batch as a whole (an error on its
 * BATCH_BEGIN); the message still names the port. */
static void test_no_permission(void **state)
{
        pid_t pid;
        int status;

        (void)state;
        REQUIRE_NETNS();
        pid = test_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const struct net_nft_port p = port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.2", 80);
                struct net_nft_network n = net0;
                struct err err = {0};
                if (setresuid(65534, 65534, 65534) < 0)
                        _exit(10);
                if (net_nft_publish(&p, 1, &err) != -EPERM ||
                    !strstr(err.msg,
                            "publishing 8080/tcp -> 172.17.0.2:80: Operation not permitted"))
                        _exit(11);
                if (net_nft_network_add(&n, &err) != -EPERM || !strstr(err.msg, "hawser0"))
                        _exit(12);
                if (net_nft_ensure(&err) != -EPERM || !strstr(err.msg, "table ip hawser"))
                        _exit(13);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int listen_tcp(uint16_t *ret_port)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = ip4("127.0.0.1")};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 8), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

/* 0 when a TCP connection to 127.0.0.1:port is accepted by lfd, else -errno. */
static int try_connect(uint16_t port_no, int lfd)
{
        struct sockaddr_in a = {
                .sin_family = AF_INET, .sin_port = htons(port_no), .sin_addr = ip4("127.0.0.1")};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        _cleanup_close_ int cfd = -1;

        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
                return -errno;
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        return cfd >= 0 ? 0 : -errno;
}

/* Real traffic through the output chain: the host reaching 127.0.0.1:PORT lands on the
 * target. DNAT to 127.0.0.1 keeps the test on loopback (containers need a bridge and are
 * covered by the integration tests). */
static void test_traffic_output_dnat(void **state)
{
        struct err err = {0};
        uint16_t target;
        _cleanup_close_ int lfd = -1;

        (void)state;
        REQUIRE_NETNS();
        lfd = listen_tcp(&target);
        const struct net_nft_port p[] = {
                port("0.0.0.0", 18080, IPPROTO_TCP, "127.0.0.1", target),
                port("127.0.0.1", 18081, IPPROTO_TCP, "127.0.0.1", target),
                port("127.0.0.2", 18082, IPPROTO_TCP, "127.0.0.1", target),
        };
        assert_int_equal(try_connect(18080, lfd), -ECONNREFUSED);
        assert_int_equal(net_nft_publish(p, ARRAY_SIZE(p), &err), 1);
        assert_int_equal(try_connect(18080, lfd), 0);
        assert_int_equal(try_connect(18081, lfd), 0);
        assert_int_equal(try_connect(18082, lfd), -ECONNREFUSED); /* bound to another address */
        assert_int_equal(net_nft_unpublish(p, ARRAY_SIZE(p), &err), 0);
        assert_int_equal(try_connect(18080, lfd), -ECONNREFUSED);
        assert_int_equal(try_connect(18081, lfd), -ECONNREFUSED);
}

/* `nft -j` parses our table and sees the designed objects. */
static void test_nft_json(void **state)
{
        const struct net_nft_port p = port("0.0.0.0", 8080, IPPROTO_TCP, "172.17.0.2", 80);
        struct net_nft_network n = net0;
        struct err err = {0};
        _cleanup_free_ char *out = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        int chains = 0, maps = 0, rules = 0, elems = 0;

        (void)state;
        REQUIRE_NETNS();
        if (!have_nft)
                skip();
        n.subnet = ip4("172.17.0.0");
        assert_int_equal(net_nft_network_add(&n, &err), 0);
        assert_int_equal(net_nft_publish(&p, 1, &err), 0);
        out = run("nft -j list table ip hawser");
        assert_non_null(out);
        assert_int_equal(jv_parse(out, &doc, &err), 0);
        struct jv *arr = jv_get(doc, "nftables");
        assert_non_null(arr);
        for (size_t i = 0; i < jv_len(arr); i++) {
                struct jv *o = jv_at(arr, i), *x;
                if ((x = jv_get(o, "chain"))) {
                        chains++;
                        assert_string_equal(jv_get_str(x, "table"), "hawser");
                } else if ((x = jv_get(o, "map"))) {
                        maps++;
                        assert_string_equal(jv_get_str(x, "map"), "ipv4_addr . inet_service");
                        assert_int_equal(jv_len(jv_get(x, "type")),
                                         strcmp(jv_get_str(x, "name"), "dnat_ip") ? 2 : 3);
                        struct jv *el = jv_get(x, "elem");
                        elems += el ? (int)jv_len(el) : 0;
                } else if ((x = jv_get(o, "rule"))) {
                        rules++;
                }
        }
        assert_int_equal(chains, 5);
        assert_int_equal(maps, 2);
        assert_int_equal(rules, 15);
        assert_int_equal(elems, 1);
}

int main(void)
{
        struct err err = {0};
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_ensure_idempotent, reset),
                cmocka_unit_test_setup(test_ensure_concurrent, reset),
                cmocka_unit_test_setup(test_network_add_del, reset),
                cmocka_unit_test_setup(test_network_adjacent_subnet, reset),
                cmocka_unit_test_setup(test_network_isolation_order, reset),
                cmocka_unit_test_setup(test_network_concurrent, reset),
                cmocka_unit_test_setup(test_publish_unpublish, reset),
                cmocka_unit_test_setup(test_publish_many, reset),
                cmocka_unit_test_setup(test_publish6, reset),
                cmocka_unit_test_setup(test_publish_rebuilds, reset),
                cmocka_unit_test_setup(test_invalid, reset),
                cmocka_unit_test_setup(test_foreign_table, reset),
                cmocka_unit_test_setup(test_no_permission, reset),
                cmocka_unit_test_setup(test_traffic_output_dnat, reset),
                cmocka_unit_test_setup(test_nft_json, reset),
        };

        /* Never touch the host's ruleset: everything below runs in a fresh netns. */
        if (unshare(CLONE_NEWNET) == 0 && net_loopback_up(&err) == 0)
                in_netns = true;
        else
                fprintf(stderr, "net_nft: no private network namespace (%s); skipping\n",
                        err.code ? err.msg : strerror(errno));
        have_nft = in_netns && system("nft --version >/dev/null 2>&1") == 0;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
