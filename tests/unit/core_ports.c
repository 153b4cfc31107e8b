#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "core/base/fs.h"
#include "core/ports.h"
#include "tests/unit/testkit.h"

/* Parses spec and checks it yields exactly n bindings; the caller frees the result. */
static struct port_binding *publish(const char *spec, size_t want_n)
{
        struct port_binding *b = NULL;
        struct err e = {0};
        size_t n = 0;
        int r = ports_parse_publish(spec, &b, &n, &e);

        if (r < 0)
                fail_msg("%s: %s", spec, e.msg);
        assert_int_equal(n, want_n);
        return b;
}

static void assert_binding(const struct port_binding *b, const char *ip, uint16_t hp, uint16_t hpe,
                           uint16_t cp, uint8_t proto)
{
        assert_string_equal(b->host_ip, ip);
        assert_int_equal(b->host_port, hp);
        assert_int_equal(b->host_port_end, hpe);
        assert_int_equal(b->ctr_port, cp);
        assert_int_equal(b->proto, proto);
}

static void test_publish_forms(void **state)
{
        struct port_binding *b;

        (void)state;
        b = publish("80", 1);
        assert_binding(&b[0], "", 0, 0, 80, IPPROTO_TCP);
        free(b);
        b = publish("80/udp", 1);
        assert_binding(&b[0], "", 0, 0, 80, IPPROTO_UDP);
        free(b);
        b = publish("53:53/SCTP", 1);
        assert_binding(&b[0], "", 53, 53, 53, IPPROTO_SCTP);
        free(b);
        b = publish("80/", 1);
        assert_binding(&b[0], "", 0, 0, 80, IPPROTO_TCP);
        free(b);
        b = publish("8080:80", 1);
        assert_binding(&b[0], "", 8080, 8080, 80, IPPROTO_TCP);
        free(b);
        b = publish(":80", 1);
        assert_binding(&b[0], "", 0, 0, 80, IPPROTO_TCP);
        free(b);
        b = publish("127.0.0.1:8080:80/tcp", 1);
        assert_binding(&b[0], "127.0.0.1", 8080, 8080, 80, IPPROTO_TCP);
        free(b);
        b = publish("127.0.0.1::80", 1);
        assert_binding(&b[0], "127.0.0.1", 0, 0, 80, IPPROTO_TCP);
        free(b);
        b = publish("[::1]:8080:80", 1);
        assert_binding(&b[0], "::1", 8080, 8080, 80, IPPROTO_TCP);
        free(b);
        /* More than three parts: everything before the last two is the address. */
        b = publish("::1:8080:80", 1);
        assert_binding(&b[0], "::1", 8080, 8080, 80, IPPROTO_TCP);
        free(b);
        b = publish("[0:0:0:0:0:0:0:1]::53/udp", 1);
        assert_binding(&b[0], "::1", 0, 0, 53, IPPROTO_UDP);
        free(b);
        b = publish("[]:8080:80", 1);
        assert_binding(&b[0], "", 8080, 8080, 80, IPPROTO_TCP);
        free(b);
        b = publish("0.0.0.0:0:80", 1);
        assert_binding(&b[0], "0.0.0.0", 0, 0, 80, IPPROTO_TCP);
        free(b);
        b = publish("80-80", 1);
        assert_binding(&b[0], "", 0, 0, 80, IPPROTO_TCP);
        free(b);
}

static void test_publish_ranges(void **state)
{
        struct port_binding *b;

        (void)state;
        b = publish("8000-8002:80-82", 3);
        assert_binding(&b[0], "", 8000, 8000, 80, IPPROTO_TCP);
        assert_binding(&b[1], "", 8001, 8001, 81, IPPROTO_TCP);
        assert_binding(&b[2], "", 8002, 8002, 82, IPPROTO_TCP);
        free(b);
        /* A host range for one container port: one free port of it is picked later. */
        b = publish("127.0.0.1:8000-8010:80/udp", 1);
        assert_binding(&b[0], "127.0.0.1", 8000, 8010, 80, IPPROTO_UDP);
        free(b);
        b = publish("7000-7002", 3);
        assert_binding(&b[0], "", 0, 0, 7000, IPPROTO_TCP);
        assert_binding(&b[2], "", 0, 0, 7002, IPPROTO_TCP);
        free(b);
        b = publish("1-65535", 65535);
        assert_binding(&b[65534], "", 0, 0, 65535, IPPROTO_TCP);
        free(b);
}

static void test_publish_errors(void **state)
{
        static const struct {
                const char *spec, *msg;
        } cases[] = {
                {"abc", "invalid containerPort: abc"},
                {"65536", "invalid containerPort: 65536"},
                {"8080:0", "invalid containerPort: 0"},
                {"0-2", "invalid containerPort: 0-2"},
                {"82-80", "invalid containerPort: 82-80"},
                {"80-81-82", "invalid containerPort: 80-81-82"},
                {"-80", "invalid containerPort: -80"},
                {"+80", "invalid containerPort: +80"},
                {"x:80", "invalid hostPort: x"},
                {"1.2.3.4:80", "invalid hostPort: 1.2.3.4"},
                {"8000-7000:80", "invalid hostPort: 8000-7000"},
                {"80/xyz", "invalid proto: xyz"},
                {"80/XYZ", "invalid proto: xyz"},
                {"80/tcp/x", "invalid proto: tcp/x"},
                {"8000-8003:80-82", "invalid ranges specified for container and host Ports: 80-82 "
                                    "and 8000-8003"},
                {"8000:80-82/udp", "invalid ranges specified for container and host Ports: 80-82 "
                                   "and 8000"},
                {"", "no port specified: <empty>"},
                {"80:", "no port specified: 80:<empty>"},
                {"/udp", "no port specified: /udp<empty>"},
                {"foo:8080:80", "invalid IP address: foo"},
                {"1.2.3:8080:80", "invalid IP address: 1.2.3"},
                {"[foo]:8080:80", "invalid IP address: foo"},
                {"[::1:8080:80", "invalid IP address [::1: address [::1:: missing ']' in address"},
                {"[::1]x:8080:80",
                 "invalid IP address [::1]x: address [::1]x:: missing port in address"},
                {"[::1]]:8080:80",
                 "invalid IP address [::1]]: address [::1]]:: missing port in address"},
                {"[[::1]:8080:80",
                 "invalid IP address [[::1]: address [[::1]:: unexpected '[' in address"},
                {"[::1]::8080:80",
                 "invalid IP address [::1]:: address [::1]::: too many colons in address"},
                /* Docker's order of checks: protocol, address, container port, host port. */
                {"foo:x:abc/xyz", "invalid proto: xyz"},
                {"foo:x:abc", "invalid IP address: foo"},
                {"1.2.3.4:x:abc", "invalid containerPort: abc"},
        };
        struct port_binding *b = (struct port_binding *)0x1;
        struct err e = {0};
        size_t n = 77;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                err_clear(&e);
                assert_int_equal(ports_parse_publish(cases[i].spec, &b, &n, &e), -EINVAL);
                if (strcmp(e.msg, cases[i].msg))
                        fail_msg("%s: got '%s', want '%s'", cases[i].spec, e.msg, cases[i].msg);
                assert_ptr_equal(b, (struct port_binding *)0x1);
                assert_int_equal(n, 77);
        }
}

static void test_expose(void **state)
{
        static const struct {
                const char *spec, *msg;
        } bad[] = {
                {"80:90", "invalid port format for --expose: 80:90"},
                {":", "invalid port format for --expose: :"},
                {"/tcp", "invalid range format for --expose: /tcp, error: empty string specified "
                         "for ports"},
                {"", "invalid range format for --expose: , error: empty string specified for "
                     "ports"},
                {"NaN/tcp", "invalid range format for --expose: NaN/tcp, error: "
                            "strconv.ParseUint: parsing \"NaN\": invalid syntax"},
                {"NaN-NaN/tcp", "invalid range format for --expose: NaN-NaN/tcp, error: "
                                "strconv.ParseUint: parsing \"NaN\": invalid syntax"},
                {"8080-NaN/tcp", "invalid range format for --expose: 8080-NaN/tcp, error: "
                                 "strconv.ParseUint: parsing \"NaN\": invalid syntax"},
                {"1234567890-8080/tcp", "invalid range format for --expose: 1234567890-8080/tcp, "
                                        "error: strconv.ParseUint: parsing \"1234567890\": "
                                        "value out of range"},
                {"80000", "invalid range format for --expose: 80000, error: strconv.ParseUint: "
                          "parsing \"80000\": value out of range"},
                {"8000-", "invalid range format for --expose: 8000-, error: strconv.ParseUint: "
                          "parsing \"\": invalid syntax"},
                {"8010-8000", "invalid range format for --expose: 8010-8000, error: invalid range "
                              "specified for port: 8010-8000"},
                {"80-81-82", "invalid range format for --expose: 80-81-82, error: invalid port "
                             "range format: 80-81-82"},
                {"80/xyz", "invalid proto: xyz"},
                {"80/tcpudp", "invalid proto: tcpudp"},
        };
        struct port_range pr;
        struct err e = {0};

        (void)state;
        assert_int_equal(ports_parse_expose("80", &pr, &e), 0);
        assert_int_equal(pr.first, 80);
        assert_int_equal(pr.last, 80);
        assert_int_equal(pr.proto, IPPROTO_TCP);
        assert_int_equal(ports_parse_expose("80/udp", &pr, &e), 0);
        assert_int_equal(pr.proto, IPPROTO_UDP);
        assert_int_equal(ports_parse_expose("53/SCTP", &pr, &e), 0);
        assert_int_equal(pr.proto, IPPROTO_SCTP);
        assert_int_equal(ports_parse_expose("8000-8010", &pr, &e), 0);
        assert_int_equal(pr.first, 8000);
        assert_int_equal(pr.last, 8010);
        assert_int_equal(pr.proto, IPPROTO_TCP);
        assert_int_equal(ports_parse_expose("8080-8080/udp", &pr, &e), 0);
        assert_int_equal(pr.first, 8080);
        assert_int_equal(pr.last, 8080);
        assert_int_equal(pr.proto, IPPROTO_UDP);
        assert_int_equal(ports_parse_expose("7000-7002/", &pr, &e), 0);
        assert_int_equal(pr.proto, IPPROTO_TCP);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pr.first = 1;
                assert_int_equal(ports_parse_expose(bad[i].spec, &pr, &e), -EINVAL);
                if (strcmp(e.msg, bad[i].msg))
                        fail_msg("%s: got '%s', want '%s'", bad[i].spec, e.msg, bad[i].msg);
                assert_int_equal(pr.first, 1);
        }
}

static void test_proto_names(void **state)
{
        uint8_t p = 0;

        (void)state;
        assert_string_equal(ports_proto_name(IPPROTO_TCP), "tcp");
        assert_string_equal(ports_proto_name(IPPROTO_UDP), "udp");
        assert_string_equal(ports_proto_name(IPPROTO_SCTP), "sctp");
        assert_null(ports_proto_name(IPPROTO_ICMP));
        assert_int_equal(ports_proto_parse("udp", &p), 0);
        assert_int_equal(p, IPPROTO_UDP);
        assert_int_equal(ports_proto_parse("UDP", &p), -EINVAL);
        assert_int_equal(ports_proto_parse("", &p), -EINVAL);
}

#define B(ip, hp, cp, pr)                                                                          \
        {                                                                                          \
                ip, hp, hp, cp, pr                                                                 \
        }
#define X(cp, pr)                                                                                  \
        {                                                                                          \
                "", 0, 0, cp, pr                                                                   \
        }

static void test_format_mapping(void **state)
{
        static const struct port_binding b[] = {
                B("0.0.0.0", 32769, 443, IPPROTO_TCP),
                B("::", 32768, 80, IPPROTO_TCP),
                B("0.0.0.0", 32768, 80, IPPROTO_TCP),
                B("127.0.0.1", 5353, 53, IPPROTO_UDP),
                X(9000, IPPROTO_TCP),
        };
        struct err e = {0};
        char *out = NULL;

        (void)state;
        assert_int_equal(ports_format_mapping(b, 5, NULL, "web", &out, &e), 0);
        assert_string_equal(out, "53/udp -> 127.0.0.1:5353\n"
                                 "80/tcp -> 0.0.0.0:32768\n"
                                 "80/tcp -> [::]:32768\n"
                                 "443/tcp -> 0.0.0.0:32769\n");
        free(out);
        assert_int_equal(ports_format_mapping(b, 5, "80", "web", &out, &e), 0);
        assert_string_equal(out, "0.0.0.0:32768\n[::]:32768\n");
        free(out);
        assert_int_equal(ports_format_mapping(b, 5, "80/tcp", "web", &out, &e), 0);
        assert_string_equal(out, "0.0.0.0:32768\n[::]:32768\n");
        free(out);
        assert_int_equal(ports_format_mapping(b, 5, "53/udp", "web", &out, &e), 0);
        assert_string_equal(out, "127.0.0.1:5353\n");
        free(out);
        out = NULL;
        assert_int_equal(ports_format_mapping(b, 5, "53", "web", &out, &e), -ENOENT);
        assert_string_equal(e.msg, "No public port '53' published for web");
        assert_int_equal(ports_format_mapping(b, 5, "9000", "web", &out, &e), -ENOENT);
        assert_string_equal(e.msg, "No public port '9000' published for web");
        assert_int_equal(ports_format_mapping(b, 5, "080", "web", &out, &e), -ENOENT);
        assert_string_equal(e.msg, "No public port '080' published for web");
        assert_int_equal(ports_format_mapping(b, 5, "80/UDP", "web", &out, &e), -ENOENT);
        assert_string_equal(e.msg, "No public port '80/UDP' published for web");
        assert_int_equal(ports_format_mapping(b, 5, "abc", "web", &out, &e), -EINVAL);
        assert_string_equal(
                e.msg, "invalid port (abc): strconv.ParseUint: parsing \"abc\": invalid syntax");
        assert_int_equal(ports_format_mapping(b, 5, "70000/tcp", "web", &out, &e), -EINVAL);
        assert_string_equal(e.msg, "invalid port (70000): strconv.ParseUint: parsing \"70000\": "
                                   "value out of range");
        assert_null(out);
        /* Nothing published: no output at all. */
        assert_int_equal(ports_format_mapping(b + 4, 1, NULL, "web", &out, &e), 0);
        assert_string_equal(out, "");
        free(out);
        assert_int_equal(ports_format_mapping(NULL, 0, NULL, "web", &out, &e), 0);
        assert_string_equal(out, "");
        free(out);
}

static void ps_is(const struct port_binding *b, size_t n, const char *want)
{
        struct err e = {0};
        char *out = NULL;

        assert_int_equal(ports_format_ps(b, n, &out, &e), 0);
        assert_string_equal(out, want);
        free(out);
}

static void test_format_ps(void **state)
{
        static const struct port_binding exposed[] = {X(443, IPPROTO_TCP), X(80, IPPROTO_TCP)};
        static const struct port_binding docs[] = {B("0.0.0.0", 1234, 9876, IPPROTO_TCP),
                                                   B("0.0.0.0", 4321, 7890, IPPROTO_TCP)};
        static const struct port_binding same[] = {
                B("::", 8001, 8001, IPPROTO_TCP),      B("0.0.0.0", 8000, 8000, IPPROTO_TCP),
                B("0.0.0.0", 8002, 8002, IPPROTO_TCP), B("0.0.0.0", 8001, 8001, IPPROTO_TCP),
                B("::", 8000, 8000, IPPROTO_TCP),      B("::", 8002, 8002, IPPROTO_TCP),
        };
        static const struct port_binding shifted[] = {B("0.0.0.0", 8000, 80, IPPROTO_TCP),
                                                      B("0.0.0.0", 8001, 81, IPPROTO_TCP),
                                                      B("0.0.0.0", 8002, 82, IPPROTO_TCP)};
        static const struct port_binding mixed[] = {
                B("::", 32768, 443, IPPROTO_TCP),
                X(90, IPPROTO_TCP),
                X(81, IPPROTO_TCP),
                B("0.0.0.0", 8080, 8080, IPPROTO_TCP),
                X(53, IPPROTO_UDP),
                X(80, IPPROTO_TCP),
                X(82, IPPROTO_TCP),
                B("0.0.0.0", 32768, 443, IPPROTO_TCP),
        };
        static const struct port_binding protos[] = {X(53, IPPROTO_UDP), X(53, IPPROTO_TCP),
                                                     X(54, IPPROTO_UDP), X(54, IPPROTO_SCTP)};

        (void)state;
        ps_is(NULL, 0, "");
        ps_is(exposed, 2, "80/tcp, 443/tcp");
        /* Sorted by container port, not as the docs' example happens to list them. */
        ps_is(docs, 2, "0.0.0.0:4321->7890/tcp, 0.0.0.0:1234->9876/tcp");
        ps_is(same, 6, "0.0.0.0:8000-8002->8000-8002/tcp, [::]:8000-8002->8000-8002/tcp");
        /* Only same-number runs are compacted; -p 8000-8002:80-82 lists each port. */
        ps_is(shifted, 3, "0.0.0.0:8000->80/tcp, 0.0.0.0:8001->81/tcp, 0.0.0.0:8002->82/tcp");
        /* A run that breaks is printed at once; open runs follow in first-seen order, then the
         * remapped ports. */
        ps_is(mixed, 8,
              "80-82/tcp, 53/udp, 90/tcp, 0.0.0.0:8080->8080/tcp, 0.0.0.0:32768->443/tcp, "
              "[::]:32768->443/tcp");
        ps_is(protos, 4, "53/tcp, 53-54/udp, 54/sctp");
}

static void test_local_range_and_reserved(void **state)
{
        uint16_t a = 1, b = 2;

        (void)state;
        assert_int_equal(ports_parse_local_range("32768\t60999\n", &a, &b), 0);
        assert_int_equal(a, 32768);
        assert_int_equal(b, 60999);
        assert_int_equal(ports_parse_local_range("1024 65535", &a, &b), 0);
        assert_int_equal(a, 1024);
        assert_int_equal(b, 65535);
        assert_int_equal(ports_parse_local_range("60999\t32768\n", &a, &b), -EINVAL);
        assert_int_equal(ports_parse_local_range("1024 65536", &a, &b), -EINVAL);
        assert_int_equal(ports_parse_local_range("0 100", &a, &b), -EINVAL);
        assert_int_equal(ports_parse_local_range("32768", &a, &b), -EINVAL);
        assert_int_equal(ports_parse_local_range("", &a, &b), -EINVAL);
        assert_int_equal(ports_parse_local_range("a b", &a, &b), -EINVAL);
        assert_int_equal(a, 1024);

        assert_true(ports_is_reserved("8080,9000-9010\n", 8080));
        assert_true(ports_is_reserved("8080,9000-9010\n", 9000));
        assert_true(ports_is_reserved("8080,9000-9010\n", 9010));
        assert_false(ports_is_reserved("8080,9000-9010\n", 9011));
        assert_false(ports_is_reserved("8080,9000-9010\n", 8081));
        assert_false(ports_is_reserved("\n", 8080));
        assert_false(ports_is_reserved("", 8080));
        assert_false(ports_is_reserved(NULL, 8080));
}

/* A socket bound (and for TCP listening) on 127.0.0.1:port; port 0 picks one. */
static int hold(uint8_t proto, uint16_t *port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(*port)};
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM, proto);

        assert_true(fd >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        if (proto == IPPROTO_TCP)
                assert_int_equal(listen(fd, 1), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

/* Whether a boolean sysctl is on (a missing file is off). */
static bool sysctl_on(const char *path)
{
        char c = '0';
        FILE *f = fopen(path, "re");

        if (f) {
                c = (char)fgetc(f);
                fclose(f);
        }
        return c == '1';
}

static void test_probe(void **state)
{
        struct err e = {0};
        uint16_t port = 0;
        int fd;

        (void)state;
        fd = hold(IPPROTO_TCP, &port);
        assert_int_equal(ports_probe("127.0.0.1", IPPROTO_TCP, port, &e), 0);
        /* The wildcard conflicts with a specific address of its family. */
        assert_int_equal(ports_probe("0.0.0.0", IPPROTO_TCP, port, &e), 0);
        assert_int_equal(ports_probe("", IPPROTO_TCP, port, &e), 0);
        close(fd);
        assert_int_equal(ports_probe("127.0.0.1", IPPROTO_TCP, port, &e), 1);
        assert_int_equal(ports_probe("", IPPROTO_TCP, port, &e), 1);

        port = 0;
        fd = hold(IPPROTO_UDP, &port);
        assert_int_equal(ports_probe("127.0.0.1", IPPROTO_UDP, port, &e), 0);
        close(fd);
        assert_int_equal(ports_probe("127.0.0.1", IPPROTO_UDP, port, &e), 1);

        /* An address the host does not have, unless the host allows binding any address. */
        if (!sysctl_on("/proc/sys/net/ipv4/ip_nonlocal_bind"))
                assert_int_equal(ports_probe("192.0.2.1", IPPROTO_TCP, port, &e), -EADDRNOTAVAIL);
        else
                print_message("net.ipv4.ip_nonlocal_bind is on: a foreign address binds, not "
                              "checked\n");
        assert_int_equal(ports_probe("nope", IPPROTO_TCP, port, &e), -EINVAL);
        assert_string_equal(e.msg, "invalid IP address: nope");
        assert_int_equal(ports_probe("127.0.0.1", IPPROTO_ICMP, port, &e), -EINVAL);
}

/* Ten ports above the kernel's default ephemeral range, so outgoing connections of this host
 * do not wander into them; the tests skip if something else holds one. */
#define POOL_FIRST 61100
#define POOL_LAST  61109

static bool pool_free(void)
{
        struct err e = {0};

        for (unsigned p = POOL_FIRST; p <= POOL_LAST; p++)
                if (ports_probe("127.0.0.1", IPPROTO_TCP, (uint16_t)p, &e) != 1 ||
                    ports_probe("127.0.0.1", IPPROTO_UDP, (uint16_t)p, &e) != 1)
                        return false;
        return true;
}

struct tmp {
        char dir[64];
        char state[96];
};

static void tmp_make(struct tmp *t)
{
        const char *base = getenv("TMPDIR");

        snprintf(t->dir, sizeof(t->dir), "%s/ports-XXXXXX", base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->state, sizeof(t->state), "%s/portalloc", t->dir);
}

static void tmp_drop(struct tmp *t)
{
        struct err e = {0};

        fs_rm_rf(t->dir, &e);
}

static uint16_t next(const char *state, const struct ports_pool *pool, uint8_t proto)
{
        struct err e = {0};
        uint16_t p = 0;

        if (ports_allocate_from(state, pool, "127.0.0.1", proto, &p, &e) < 0)
                fail_msg("allocate: %s", e.msg);
        return p;
}

static void test_allocate_round_robin(void **state)
{
        struct ports_pool pool = {POOL_FIRST, POOL_LAST, "61105"};
        _cleanup_free_ char *saved = NULL;
        struct err e = {0};
        struct tmp t;
        uint16_t held = POOL_FIRST + 3;
        int fd;

        (void)state;
        if (!pool_free())
                skip();
        tmp_make(&t);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 1);
        /* One counter per protocol. */
        assert_int_equal(next(t.state, &pool, IPPROTO_UDP), POOL_FIRST);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 2);
        /* Busy and reserved ports are skipped. */
        fd = hold(IPPROTO_TCP, &held);
        assert_true(fd >= 0);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 4);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 6);
        assert_int_equal(fs_read_file(t.state, &saved, NULL, &e), 0);
        assert_string_equal(saved, "tcp 61106\nudp 61100\n");
        /* Wraps around to the start. */
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 7);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST + 8);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_LAST);
        assert_int_equal(next(t.state, &pool, IPPROTO_TCP), POOL_FIRST);
        /* No state: always the first free port. */
        assert_int_equal(next(NULL, &pool, IPPROTO_TCP), POOL_FIRST);
        close(fd);
        tmp_drop(&t);
}

static void test_allocate_exhausted(void **state)
{
        struct ports_pool one = {POOL_FIRST + 3, POOL_FIRST + 3, NULL};
        struct ports_pool reserved = {POOL_FIRST, POOL_FIRST + 1, "61100-61101"};
        struct ports_pool bad = {POOL_LAST, POOL_FIRST, NULL};
        struct err e = {0};
        uint16_t held = POOL_FIRST + 3, p = 0;
        int fd;

        (void)state;
        if (!pool_free())
                skip();
        fd = hold(IPPROTO_TCP, &held);
        assert_true(fd >= 0);
        assert_int_equal(ports_allocate_from(NULL, &one, "127.0.0.1", IPPROTO_TCP, &p, &e),
                         -EADDRINUSE);
        assert_string_equal(e.msg, "all ports are allocated: no free tcp port in 61103-61103 on "
                                   "127.0.0.1");
        assert_int_equal(ports_allocate_from(NULL, &reserved, "", IPPROTO_UDP, &p, &e),
                         -EADDRINUSE);
        assert_string_equal(e.msg, "all ports are allocated: no free udp port in 61100-61101 on "
                                   "0.0.0.0 and [::]");
        assert_int_equal(p, 0);
        assert_int_equal(ports_allocate_from(NULL, &bad, "", IPPROTO_UDP, &p, &e), -EINVAL);
        /* An explicit range: the lowest free port, reserved ports allowed. */
        assert_int_equal(ports_allocate_range("127.0.0.1", IPPROTO_TCP, POOL_FIRST + 3,
                                              POOL_FIRST + 5, &p, &e),
                         0);
        assert_int_equal(p, POOL_FIRST + 4);
        assert_int_equal(ports_allocate_range("127.0.0.1", IPPROTO_TCP, POOL_FIRST + 3,
                                              POOL_FIRST + 3, &p, &e),
                         -EADDRINUSE);
        close(fd);
}

static void test_allocate_parallel(void **state)
{
        struct ports_pool pool = {POOL_FIRST, POOL_LAST, NULL};
        int gate[2], res[2], nproc = 8;
        uint16_t got[8];
        struct tmp t;

        (void)state;
        if (!pool_free())
                skip();
        tmp_make(&t);
        assert_int_equal(pipe(gate), 0);
        assert_int_equal(pipe(res), 0);
        for (int i = 0; i < nproc; i++) {
                pid_t pid = test_fork();

                assert_true(pid >= 0);
                if (pid == 0) {
                        struct err e = {0};
                        uint16_t p = 0;
                        char c;

                        close(gate[1]);
                        (void)!read(gate[0], &c, 1);
                        if (ports_allocate_from(t.state, &pool, "127.0.0.1", IPPROTO_TCP, &p, &e) <
                            0)
                                p = 0;
                        (void)!write(res[1], &p, sizeof(p));
                        _exit(0);
                }
        }
        close(gate[0]);
        close(gate[1]);
        close(res[1]);
        for (int i = 0; i < nproc; i++) {
                assert_int_equal(read(res[0], &got[i], sizeof(got[i])), sizeof(got[i]));
                assert_true(got[i] >= POOL_FIRST && got[i] < POOL_FIRST + nproc);
                for (int j = 0; j < i; j++)
                        assert_int_not_equal(got[i], got[j]);
        }
        close(res[0]);
        while (wait(NULL) > 0)
                ;
        tmp_drop(&t);
}

static void test_allocate_kernel_range(void **state)
{
        _cleanup_free_ char *text = NULL;
        uint16_t first = 49153, last = 65535, p = 0;
        struct err e = {0};
        struct tmp t;

        (void)state;
        if (fs_read_file("/proc/sys/net/ipv4/ip_local_port_range", &text, NULL, &e) == 0)
                assert_int_equal(ports_parse_local_range(text, &first, &last), 0);
        tmp_make(&t);
        assert_int_equal(ports_allocate(t.state, "127.0.0.1", IPPROTO_TCP, &p, &e), 0);
        assert_true(p >= first && p <= last);
        tmp_drop(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_publish_forms),
                cmocka_unit_test(test_publish_ranges),
                cmocka_unit_test(test_publish_errors),
                cmocka_unit_test(test_expose),
                cmocka_unit_test(test_proto_names),
                cmocka_unit_test(test_format_mapping),
                cmocka_unit_test(test_format_ps),
                cmocka_unit_test(test_local_range_and_reserved),
                cmocka_unit_test(test_probe),
                cmocka_unit_test(test_allocate_round_robin),
                cmocka_unit_test(test_allocate_exhausted),
                cmocka_unit_test(test_allocate_parallel),
                cmocka_unit_test(test_allocate_kernel_range),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
