#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "net/ipam.h"
#include "tests/unit/testkit.h"

struct fixture {
        char root[64];
        char dir[96];
};

static struct in_addr A(const char *s) {
        struct in_addr a;

        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

static const char *
S(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
        return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const struct in_addr NONE = {0};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");

        if (!f)
                return -1;
        snprintf(f->root, sizeof(f->root), "%s/ipam-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(f->root))
                return -1;
        /* A dir that does not exist yet: allocate must create it. */
        snprintf(f->dir, sizeof(f->dir), "%s/net/leases", f->root);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        struct err e = {0};

        fs_rm_rf(f->root, &e);
        free(f);
        return 0;
}

/* Allocates in 172.17.0.0/16 with gateway 172.17.0.1 and returns the address as text. */
static int alloc16(const struct fixture *f, const char *owner, const char *preferred,
                   char out[INET_ADDRSTRLEN])
{
        struct in_addr got = {0};
        struct err e = {0};
        int r;

        r = net_ipam_allocate(f->dir, A("172.17.0.0"), 16, A("172.17.0.1"),
                              preferred ? A(preferred) : NONE, owner, &got, &e);
        if (r == 0)
                S(got, out);
        return r;
}

static int count_entries(const char *dir, bool hidden_only)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (!hidden_only || de->d_name[0] == '.')
                        n++;
        }
        return n;
}

static void test_first_free_and_reuse(void **state)
{
        struct fixture *f = *state;
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        assert_int_equal(alloc16(f, "c1", NULL, a), 0);
        assert_string_equal(a, "172.17.0.2");
        assert_int_equal(alloc16(f, "c2", NULL, a), 0);
        assert_string_equal(a, "172.17.0.3");
        assert_int_equal(alloc16(f, "c3", NULL, a), 0);
        assert_string_equal(a, "172.17.0.4");
        /* Docker's local IPAM is first-free: a released address is handed out again at once. */
        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.3"), "c2", &e), 0);
        assert_int_equal(alloc16(f, "c4", NULL, a), 0);
        assert_string_equal(a, "172.17.0.3");
        assert_int_equal(alloc16(f, "c5", NULL, a), 0);
        assert_string_equal(a, "172.17.0.5");
        /* No temp files are left behind. */
        assert_int_equal(count_entries(f->dir, true), 0);
        assert_int_equal(count_entries(f->dir, false), 4);
}

static void test_lease_file_holds_owner(void **state)
{
        struct fixture *f = *state;
        char a[INET_ADDRSTRLEN], path[160], buf[9];
        _cleanup_free_ char *content = NULL;
        size_t len = 0;
        struct err e = {0};
        struct stat st;

        assert_int_equal(alloc16(f, "0123abcd", NULL, a), 0);
        snprintf(path, sizeof(path), "%s/172.17.0.2", f->dir);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(fs_read_file(path, &content, &len, &e), 0);
        assert_string_equal(content, "0123abcd");

        /* The owner and its NUL must fit. */
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.2"), buf, 8), -ERANGE);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.2"), buf, sizeof(buf)), 0);
        assert_string_equal(buf, "0123abcd");
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.3"), buf, sizeof(buf)), -ENOENT);
}

static void test_gateway_skipped(void **state)
{
        struct fixture *f = *state;
        struct in_addr got;
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        /* Gateway in the middle: .1 is free and used, .2 is the gateway. */
        assert_int_equal(
                net_ipam_allocate(f->dir, A("10.9.0.0"), 24, A("10.9.0.2"), NONE, "x", &got, &e),
                0);
        assert_string_equal(S(got, a), "10.9.0.1");
        assert_int_equal(
                net_ipam_allocate(f->dir, A("10.9.0.0"), 24, A("10.9.0.2"), NONE, "x", &got, &e),
                0);
        assert_string_equal(S(got, a), "10.9.0.3");
        /* No gateway at all (0): .2 is an ordinary address. */
        assert_int_equal(net_ipam_release(f->dir, A("10.9.0.1"), "x", &e), 0);
        assert_int_equal(net_ipam_allocate(f->dir, A("10.9.0.0"), 24, NONE, NONE, "y", &got, &e),
                         0);
        assert_string_equal(S(got, a), "10.9.0.1");
        assert_int_equal(net_ipam_allocate(f->dir, A("10.9.0.0"), 24, NONE, NONE, "y", &got, &e),
                         0);
        assert_string_equal(S(got, a), "10.9.0.2");
}

/* host-local's rangeStart/rangeEnd: only addresses in first..last, the gateway excepted. */
static void test_range(void **state)
{
        struct fixture *f = *state;
        struct in_addr got;
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        assert_int_equal(net_ipam_allocate_range(f->dir, A("10.9.0.10"), A("10.9.0.12"),
                                                 A("10.9.0.11"), NONE, "x", &got, &e),
                         0);
        assert_string_equal(S(got, a), "10.9.0.10");
        assert_int_equal(net_ipam_allocate_range(f->dir, A("10.9.0.10"), A("10.9.0.12"),
                                                 A("10.9.0.11"), NONE, "y", &got, &e),
                         0);
        assert_string_equal(S(got, a), "10.9.0.12");
        assert_int_equal(net_ipam_allocate_range(f->dir, A("10.9.0.10"), A("10.9.0.12"),
                                                 A("10.9.0.11"), NONE, "z", &got, &e),
                         -ENOSPC);
        assert_non_null(strstr(e.msg, "in the range from 10.9.0.10"));
        assert_int_equal(net_ipam_release_owner(f->dir, "x", &e), 1);
        assert_int_equal(net_ipam_allocate_range(f->dir, A("10.9.0.10"), A("10.9.0.12"),
                                                 A("10.9.0.11"), NONE, "z", &got, &e),
                         0);
        assert_string_equal(S(got, a), "10.9.0.10");
}

static void test_preferred(void **state)
{
        struct fixture *f = *state;
        char a[INET_ADDRSTRLEN], who[16];

        assert_int_equal(alloc16(f, "web", "172.17.3.9", a), 0);
        assert_string_equal(a, "172.17.3.9");
        /* Held by another owner: fall back to the lowest free address. */
        assert_int_equal(alloc16(f, "db", "172.17.3.9", a), 0);
        assert_string_equal(a, "172.17.0.2");
        /* Held by the same owner: handed back, lease unchanged. */
        assert_int_equal(alloc16(f, "web", "172.17.3.9", a), 0);
        assert_string_equal(a, "172.17.3.9");
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.3.9"), who, sizeof(who)), 0);
        assert_string_equal(who, "web");
        /* Outside the subnet, the gateway, network and broadcast addresses are ignored. */
        assert_int_equal(alloc16(f, "a", "10.0.0.5", a), 0);
        assert_string_equal(a, "172.17.0.3");
        assert_int_equal(alloc16(f, "b", "172.17.0.1", a), 0);
        assert_string_equal(a, "172.17.0.4");
        assert_int_equal(alloc16(f, "c", "172.17.0.0", a), 0);
        assert_string_equal(a, "172.17.0.5");
        assert_int_equal(alloc16(f, "d", "172.17.255.255", a), 0);
        assert_string_equal(a, "172.17.0.6");
        assert_int_equal(count_entries(f->dir, false), 6);
}

static void test_full(void **state)
{
        struct fixture *f = *state;
        struct in_addr got = {0};
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        /* A /30 has .1 and .2; .1 is the gateway. */
        assert_int_equal(net_ipam_allocate(f->dir, A("192.168.7.0"), 30, A("192.168.7.1"), NONE,
                                           "a", &got, &e),
                         0);
        assert_string_equal(S(got, a), "192.168.7.2");
        got.s_addr = 0;
        assert_int_equal(net_ipam_allocate(f->dir, A("192.168.7.0"), 30, A("192.168.7.1"), NONE,
                                           "b", &got, &e),
                         -ENOSPC);
        assert_string_equal(e.msg, "no available IPv4 addresses on subnet 192.168.7.0/30");
        assert_int_equal(got.s_addr, 0);
        assert_int_equal(count_entries(f->dir, true), 0);
        /* Host bits in the subnet argument do not matter. */
        assert_int_equal(net_ipam_allocate(f->dir, A("192.168.7.3"), 30, A("192.168.7.1"), NONE,
                                           "b", &got, &e),
                         -ENOSPC);
        assert_string_equal(e.msg, "no available IPv4 addresses on subnet 192.168.7.0/30");
        assert_int_equal(net_ipam_allocate(f->dir, A("192.168.8.0"), 31, NONE, NONE, "b", &got, &e),
                         -ENOSPC);
        assert_int_equal(net_ipam_allocate(f->dir, A("255.255.255.255"), 32, NONE,
                                           A("255.255.255.255"), "b", &got, &e),
                         -ENOSPC);
        assert_string_equal(e.msg, "no available IPv4 addresses on subnet 255.255.255.255/32");
}

static void test_invalid_args(void **state)
{
        struct fixture *f = *state;
        struct in_addr got;
        struct err e = {0};

        assert_int_equal(net_ipam_allocate(f->dir, A("10.0.0.0"), 33, NONE, NONE, "a", &got, &e),
                         -EINVAL);
        assert_string_equal(e.msg, "invalid prefix length /33");
        assert_int_equal(net_ipam_allocate(f->dir, A("10.0.0.0"), 8, NONE, NONE, "", &got, &e),
                         -EINVAL);
        assert_int_equal(net_ipam_allocate(f->dir, A("10.0.0.0"), 8, NONE, NONE, "../x", &got, &e),
                         -EINVAL);
        assert_string_equal(e.msg, "invalid lease owner '../x'");
        assert_int_equal(net_ipam_allocate(f->dir, A("10.0.0.0"), 8, NONE, NONE, "a\nb", &got, &e),
                         -EINVAL);
        assert_int_equal(net_ipam_release(f->dir, A("10.0.0.1"), NULL, &e), -EINVAL);
        assert_int_equal(net_ipam_release_owner(f->dir, "a b", &e), -EINVAL);
}

static void test_release(void **state)
{
        struct fixture *f = *state;
        char a[INET_ADDRSTRLEN], who[16];
        struct err e = {0};

        /* Nothing to release yet: no dir, no lease. */
        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.2"), "c1", &e), 0);
        assert_int_equal(net_ipam_release_owner(f->dir, "c1", &e), 0);
        assert_int_equal(alloc16(f, "c1", NULL, a), 0);
        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.9"), "c1", &e), 0);

        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.2"), "c2", &e), -EPERM);
        assert_string_equal(e.msg, "address 172.17.0.2 is leased by c1, not c2");
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.2"), who, sizeof(who)), 0);
        assert_string_equal(who, "c1");

        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.2"), "c1", &e), 0);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.2"), who, sizeof(who)), -ENOENT);
        /* Idempotent. */
        assert_int_equal(net_ipam_release(f->dir, A("172.17.0.2"), "c1", &e), 0);
}

static void test_release_owner(void **state)
{
        struct fixture *f = *state;
        char a[INET_ADDRSTRLEN], path[160], who[16];
        struct err e = {0};
        FILE *fp;

        assert_int_equal(alloc16(f, "dead", NULL, a), 0); /* .2 */
        assert_int_equal(alloc16(f, "live", NULL, a), 0); /* .3 */
        assert_int_equal(alloc16(f, "dead", NULL, a), 0); /* .4 */
        assert_int_equal(alloc16(f, "dead", "172.17.9.9", a), 0);
        /* A crashed allocation's temp file and an unrelated file. */
        snprintf(path, sizeof(path), "%s/.lease-AbC123", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("dead", fp);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/notes", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("dead", fp);
        fclose(fp);

        assert_int_equal(net_ipam_release_owner(f->dir, "dead", &e), 3);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.2"), who, sizeof(who)), -ENOENT);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.4"), who, sizeof(who)), -ENOENT);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.9.9"), who, sizeof(who)), -ENOENT);
        assert_int_equal(net_ipam_owner(f->dir, A("172.17.0.3"), who, sizeof(who)), 0);
        assert_string_equal(who, "live");
        assert_int_equal(count_entries(f->dir, true), 0);
        assert_int_equal(count_entries(f->dir, false), 2); /* the live lease and "notes" */
        assert_int_equal(net_ipam_release_owner(f->dir, "dead", &e), 0);
}

/* Children wait on a pipe until the parent closes it, so all of them allocate at once; each
 * reports its address (or 0 on ENOSPC) through a second pipe. */
static void race(const struct fixture *f, const char *subnet, int prefix, const char *gw, int nproc,
                 struct in_addr *got, int *nspc)
{
        int gate[2], res[2];
        pid_t pids[64];

        assert_true(nproc <= 64);
        assert_int_equal(pipe(gate), 0);
        assert_int_equal(pipe(res), 0);
        for (int i = 0; i < nproc; i++) {
                pids[i] = test_fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct in_addr a = {0};
                        struct err e = {0};
                        char owner[16], c;
                        int r;

                        close(gate[1]);
                        close(res[0]);
                        (void)!read(gate[0], &c, 1);
                        snprintf(owner, sizeof(owner), "ctr%d", i);
                        r = net_ipam_allocate(f->dir, A(subnet), prefix, A(gw), NONE, owner, &a,
                                              &e);
                        if (r < 0 && r != -ENOSPC)
                                _exit(2);
                        (void)!write(res[1], &a, sizeof(a));
                        _exit(0);
                }
        }
        close(gate[0]);
        close(res[1]);
        close(gate[1]);
        *nspc = 0;
        for (int i = 0; i < nproc; i++) {
                int status;

                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        for (int i = 0; i < nproc; i++) {
                assert_int_equal(read(res[0], &got[i], sizeof(got[i])), sizeof(got[i]));
                if (got[i].s_addr == 0)
                        (*nspc)++;
        }
        close(res[0]);
}

static void assert_distinct(const struct in_addr *got, int n)
{
        for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                        if (got[i].s_addr != 0)
                                assert_int_not_equal(got[i].s_addr, got[j].s_addr);
}

static struct in6_addr A6(const char *s) {
        struct in6_addr a;

        assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
        return a;
}

static void
assert_a6(const struct in6_addr *a, const char *want)
{
        char buf[INET6_ADDRSTRLEN];

        assert_string_equal(inet_ntop(AF_INET6, a, buf, sizeof(buf)), want);
}

static void test_ipv6(void **state)
{
        struct fixture *f = *state;
        struct in6_addr net, gw = A6("fd00:30::1"), got, pref = A6("fd00:30::99");
        struct err e = {0};
        int prefix;

        assert_int_equal(net_ipam_parse_cidr6("fd00:30::/64", &net, &prefix, &e), 0);
        assert_int_equal(prefix, 64);
        /* First free from ::1 on, the gateway skipped; a lease is the address's text. */
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, NULL, "c1", &got, &e), 0);
        assert_a6(&got, "fd00:30::2");
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, NULL, "c2", &got, &e), 0);
        assert_a6(&got, "fd00:30::3");
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, &pref, "c3", &got, &e), 0);
        assert_a6(&got, "fd00:30::99");
        /* Taken by another: the lowest free instead; held by the same owner: it again. */
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, &pref, "c4", &got, &e), 0);
        assert_a6(&got, "fd00:30::4");
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, &pref, "c3", &got, &e), 0);
        assert_a6(&got, "fd00:30::99");
        /* release_owner takes IPv6 leases too. */
        assert_int_equal(net_ipam_release_owner(f->dir, "c3", &e), 1);
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 64, &gw, &pref, "c5", &got, &e), 0);
        assert_a6(&got, "fd00:30::99");
        /* A /126 has host numbers 1..3: the gateway, and two addresses. */
        assert_int_equal(net_ipam_parse_cidr6("fd00:31::/126", &net, &prefix, &e), 0);
        gw = A6("fd00:31::1");
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 126, &gw, NULL, "x1", &got, &e), 0);
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 126, &gw, NULL, "x2", &got, &e), 0);
        assert_a6(&got, "fd00:31::3");
        assert_int_equal(net_ipam_allocate6(f->dir, &net, 126, &gw, NULL, "x3", &got, &e), -ENOSPC);
        /* Parsing. */
        assert_int_equal(net_ipam_parse_cidr6("fd00:30::5/64", &net, &prefix, &e), -EINVAL);
        assert_string_equal(e.msg, "invalid subnet fd00:30::5/64: it should be fd00:30::/64");
        assert_int_equal(net_ipam_parse_cidr6("fd00::/127", &net, &prefix, &e), -EINVAL);
        assert_int_equal(net_ipam_parse_cidr6("fd00::/064", &net, &prefix, &e), -EINVAL);
        assert_int_equal(net_ipam_parse_cidr6("10.0.0.0/8", &net, &prefix, &e), -EINVAL);
        net = A6("fd00:30::");
        got = A6("fd00:30::ffff:1");
        assert_true(net_ipam_contains6(&net, 64, &got));
        got = A6("fd00:31::1");
        assert_false(net_ipam_contains6(&net, 64, &got));
}

static void test_parallel_distinct(void **state)
{
        struct fixture *f = *state;
        struct in_addr got[48];
        struct err e = {0};
        int nspc;

        assert_int_equal(fs_mkdir_p(f->dir, 0755, &e), 0);
        race(f, "10.1.0.0", 24, "10.1.0.1", 48, got, &nspc);
        assert_int_equal(nspc, 0);
        assert_distinct(got, 48);
        for (int i = 0; i < 48; i++) {
                char who[16];
                uint32_t h = ntohl(got[i].s_addr);

                /* First-free under contention still fills .2 .. .49 without holes. */
                assert_true(h >= 0x0a010002 && h <= 0x0a010031);
                assert_int_equal(net_ipam_owner(f->dir, got[i], who, sizeof(who)), 0);
                assert_memory_equal(who, "ctr", 3);
        }
        assert_int_equal(count_entries(f->dir, false), 48);
        assert_int_equal(count_entries(f->dir, true), 0);
}

static void test_parallel_exhaustion(void **state)
{
        struct fixture *f = *state;
        struct in_addr got[20];
        int nspc;

        /* A /28 has 14 host addresses; one is the gateway, so 13 win and 7 get ENOSPC. */
        race(f, "10.2.0.0", 28, "10.2.0.1", 20, got, &nspc);
        assert_int_equal(nspc, 7);
        assert_distinct(got, 20);
        assert_int_equal(count_entries(f->dir, false), 13);
        assert_int_equal(count_entries(f->dir, true), 0);
}

static void test_mac(void **state)
{
        uint8_t mac[6];
        static const uint8_t want[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};

        (void)state;
        net_ipam_mac(A("172.17.0.2"), mac);
        assert_memory_equal(mac, want, 6);
        net_ipam_mac(A("192.168.255.1"), mac);
        assert_int_equal(mac[0], 0x02);
        assert_int_equal(mac[1], 0x42);
        assert_int_equal(mac[2], 192);
        assert_int_equal(mac[3], 168);
        assert_int_equal(mac[4], 255);
        assert_int_equal(mac[5], 1);
}

static void test_parse_cidr(void **state)
{
        static const struct {
                const char *in, *msg;
        } bad[] = {
                {"172.20.1.5/16", "invalid subnet 172.20.1.5/16: it should be 172.20.0.0/16"},
                {"10.0.0.1/8", "invalid subnet 10.0.0.1/8: it should be 10.0.0.0/8"},
                {"192.168.1.130/25",
                 "invalid subnet 192.168.1.130/25: it should be 192.168.1.128/25"},
                {"172.20.0.0", "invalid subnet 172.20.0.0: invalid CIDR block notation"},
                {"172.20.0.0/33", "invalid subnet 172.20.0.0/33: invalid CIDR block notation"},
                {"172.20.0.0/", "invalid subnet 172.20.0.0/: invalid CIDR block notation"},
                {"172.20.0.0/016", "invalid subnet 172.20.0.0/016: invalid CIDR block notation"},
                {"172.20.0.0/1x", "invalid subnet 172.20.0.0/1x: invalid CIDR block notation"},
                {"172.20.0/16", "invalid subnet 172.20.0/16: invalid CIDR block notation"},
                {"172.020.0.0/16", "invalid subnet 172.020.0.0/16: invalid CIDR block notation"},
                {"foo/16", "invalid subnet foo/16: invalid CIDR block notation"},
                {"", "invalid subnet : invalid CIDR block notation"},
                {"fd00::/64", "invalid subnet fd00::/64: only IPv4 subnets are supported"},
        };
        struct in_addr net = {0};
        char buf[INET_ADDRSTRLEN];
        struct err e = {0};
        int prefix = -1;

        (void)state;
        assert_int_equal(net_ipam_parse_cidr("172.20.0.0/16", &net, &prefix, &e), 0);
        assert_string_equal(S(net, buf), "172.20.0.0");
        assert_int_equal(prefix, 16);
        assert_int_equal(net_ipam_parse_cidr("10.1.2.3/32", &net, &prefix, &e), 0);
        assert_int_equal(prefix, 32);
        assert_int_equal(net_ipam_parse_cidr("0.0.0.0/0", &net, &prefix, &e), 0);
        assert_int_equal(prefix, 0);
        assert_int_equal(net.s_addr, 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                net.s_addr = 12345;
                prefix = 7;
                assert_int_equal(net_ipam_parse_cidr(bad[i].in, &net, &prefix, &e), -EINVAL);
                assert_string_equal(e.msg, bad[i].msg);
                assert_int_equal(net.s_addr, 12345);
                assert_int_equal(prefix, 7);
        }
}

static void test_contains_overlaps(void **state)
{
        (void)state;
        assert_true(net_ipam_contains(A("172.17.0.0"), 16, A("172.17.255.254")));
        assert_false(net_ipam_contains(A("172.17.0.0"), 16, A("172.18.0.1")));
        assert_true(net_ipam_contains(A("172.17.5.5"), 16, A("172.17.0.1")));
        assert_true(net_ipam_contains(A("0.0.0.0"), 0, A("8.8.8.8")));
        assert_true(net_ipam_contains(A("10.0.0.1"), 32, A("10.0.0.1")));
        assert_false(net_ipam_contains(A("10.0.0.1"), 32, A("10.0.0.2")));

        assert_true(net_ipam_overlaps(A("172.20.0.0"), 14, A("172.22.0.0"), 16));
        assert_true(net_ipam_overlaps(A("172.22.0.0"), 16, A("172.20.0.0"), 14));
        assert_false(net_ipam_overlaps(A("172.20.0.0"), 14, A("172.24.0.0"), 16));
        assert_true(net_ipam_overlaps(A("192.168.0.0"), 20, A("192.168.15.0"), 24));
        assert_false(net_ipam_overlaps(A("192.168.0.0"), 20, A("192.168.16.0"), 20));
        assert_true(net_ipam_overlaps(A("0.0.0.0"), 0, A("10.0.0.0"), 8));
        assert_true(net_ipam_overlaps(A("10.0.0.0"), 8, A("10.0.0.0"), 8));
}

static void test_pools(void **state)
{
        struct in_addr net;
        char buf[INET_ADDRSTRLEN], want[32];
        int prefix, i;

        (void)state;
        for (i = 0; i < 15; i++) {
                assert_int_equal(net_ipam_pool_next(i, &net, &prefix), 0);
                snprintf(want, sizeof(want), "172.%d.0.0", 17 + i);
                assert_string_equal(S(net, buf), want);
                assert_int_equal(prefix, 16);
        }
        for (; i < 31; i++) {
                assert_int_equal(net_ipam_pool_next(i, &net, &prefix), 0);
                snprintf(want, sizeof(want), "192.168.%d.0", (i - 15) * 16);
                assert_string_equal(S(net, buf), want);
                assert_int_equal(prefix, 20);
        }
        assert_int_equal(net_ipam_pool_next(31, &net, &prefix), -ENOENT);
        assert_int_equal(net_ipam_pool_next(-1, &net, &prefix), -ENOENT);
        assert_int_equal(net_ipam_pool_next(0, &net, &prefix), 0);
        assert_string_equal(S(net, buf), "172.17.0.0");
        assert_int_equal(net_ipam_pool_next(14, &net, &prefix), 0);
        assert_string_equal(S(net, buf), "172.31.0.0");
        assert_int_equal(net_ipam_pool_next(30, &net, &prefix), 0);
        assert_string_equal(S(net, buf), "192.168.240.0");
        /* The pools never overlap one another. */
        for (int a = 0; a < 31; a++)
                for (int b = a + 1; b < 31; b++) {
                        struct in_addr na, nb;
                        int pa, pb;

                        net_ipam_pool_next(a, &na, &pa);
                        net_ipam_pool_next(b, &nb, &pb);
                        assert_false(net_ipam_overlaps(na, pa, nb, pb));
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_first_free_and_reuse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_file_holds_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gateway_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_preferred, setup, teardown),
                cmocka_unit_test_setup_teardown(test_range, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_args, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parallel_distinct, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parallel_exhaustion, setup, teardown),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_parse_cidr),
                cmocka_unit_test(test_contains_overlaps),
                cmocka_unit_test(test_pools),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
