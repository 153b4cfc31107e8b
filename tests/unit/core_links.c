#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/links.h"

static void parse_ok(const char *spec, const char *name, const char *alias)
{
        _cleanup_free_ char *n = NULL, *a = NULL;
        struct err e = {0};

        assert_int_equal(links_parse(spec, &n, &a, &e), 0);
        assert_string_equal(n, name);
        assert_string_equal(a, alias);
}

static void test_parse(void **state)
{
        char *n = NULL, *a = NULL;
        struct err e = {0};

        (void)state;
        parse_ok("db", "db", "db");
        parse_ok("db:webdb", "db", "webdb");
        parse_ok("my-db:my-db-alias", "my-db", "my-db-alias");
        /* The form stored in HostConfig.Links. */
        parse_ok("/db:/web/db", "db", "db");
        parse_ok("/db:/web/webdb", "db", "webdb");
        /* Docker lets empty parts through; the lookup of the child fails later. */
        parse_ok("db:", "db", "");
        parse_ok(":alias", "", "alias");

        assert_int_equal(links_parse("", &n, &a, &e), -EINVAL);
        assert_string_equal(e.msg, "empty string specified for links");
        assert_int_equal(links_parse("link:alias:wrong", &n, &a, &e), -EINVAL);
        assert_string_equal(e.msg, "bad format for links: link:alias:wrong");
        assert_int_equal(links_parse("a:b:", &n, &a, &e), -EINVAL);
        assert_string_equal(e.msg, "bad format for links: a:b:");
        assert_null(n);
        assert_null(a);
}

static char **env_of(const char *parent, const char *alias, const char *ip,
                     const char *const *exposed, char *const *child_env)
{
        struct err e = {0};
        char **env = NULL;

        if (links_env(parent, alias, ip, exposed, child_env, &env, &e) < 0)
                fail_msg("links_env: %s", e.msg);
        return env;
}

static void assert_env(char **got, const char *const *want)
{
        size_t n = 0;

        for (; want[n]; n++) {
                if (!got[n])
                        fail_msg("missing #%zu: %s", n, want[n]);
                if (strcmp(got[n], want[n]))
                        fail_msg("#%zu: got '%s', want '%s'", n, got[n], want[n]);
        }
        if (got[n])
                fail_msg("extra #%zu: %s", n, got[n]);
}

static void test_parse_stored(void **state)
{
        struct links_stored l;
        char big[600];

        (void)state;
        assert_int_equal(links_parse_stored("/db:/web/db", &l), 0);
        assert_string_equal(l.child, "db");
        assert_string_equal(l.alias, "db");
        assert_string_equal(l.path, "/web/db");
        assert_int_equal(links_parse_stored("/db-1:/web/database", &l), 0);
        assert_string_equal(l.child, "db-1");
        assert_string_equal(l.alias, "database");
        assert_string_equal(l.path, "/web/database");
        /* Not the stored form. */
        assert_int_equal(links_parse_stored(NULL, &l), -EINVAL);
        assert_int_equal(links_parse_stored("db:alias", &l), -EINVAL);
        assert_int_equal(links_parse_stored("/db", &l), -EINVAL);
        assert_int_equal(links_parse_stored("/db:alias", &l), -EINVAL);
        memset(big, 'a', sizeof(big) - 1);
        big[0] = '/';
        big[300] = ':';
        big[301] = '/';
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(links_parse_stored(big, &l), -EINVAL);
}

static void test_single_port(void **state)
{
        static const char *const exposed[] = {"5432/tcp", NULL};
        char *child_env[] = {"PATH=/usr/local/bin:/usr/bin",
                             "PASSWORD=gordon",
                             "HOME=/root",
                             "HOSTNAME=abc123",
                             "LANG=C.UTF-8",
                             "EMPTY=",
                             "NOEQUALS",
                             NULL};
        static const char *const want[] = {
                "WEBDB_PORT=tcp://172.17.0.5:5432",
                "WEBDB_PORT_5432_TCP=tcp://172.17.0.5:5432",
                "WEBDB_PORT_5432_TCP_ADDR=172.17.0.5",
                "WEBDB_PORT_5432_TCP_PORT=5432",
                "WEBDB_PORT_5432_TCP_PROTO=tcp",
                "WEBDB_NAME=/web/webdb",
                "WEBDB_ENV_PASSWORD=gordon",
                "WEBDB_ENV_HOSTNAME=abc123",
                "WEBDB_ENV_LANG=C.UTF-8",
                "WEBDB_ENV_EMPTY=",
                NULL,
        };
        _cleanup_strv_ char **env = env_of("/web", "webdb", "172.17.0.5", exposed, child_env);

        (void)state;
        assert_env(env, want);
}

static void test_range_and_order(void **state)
{
        /* Any order in, Docker's order out: TCP first, then other protocols by name. */
        static const char *const exposed[] = {"6381/tcp", "53/udp", "6379", "9/sctp",
                                              "6380/tcp", "54/udp", NULL};
        static const char *const want[] = {
                "DOCKER_1_PORT=tcp://172.0.17.2:6379",
                "DOCKER_1_PORT_6379_TCP=tcp://172.0.17.2:6379",
                "DOCKER_1_PORT_6379_TCP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_6379_TCP_PORT=6379",
                "DOCKER_1_PORT_6379_TCP_PROTO=tcp",
                "DOCKER_1_PORT_6380_TCP=tcp://172.0.17.2:6380",
                "DOCKER_1_PORT_6380_TCP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_6380_TCP_PORT=6380",
                "DOCKER_1_PORT_6380_TCP_PROTO=tcp",
                "DOCKER_1_PORT_6381_TCP=tcp://172.0.17.2:6381",
                "DOCKER_1_PORT_6381_TCP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_6381_TCP_PORT=6381",
                "DOCKER_1_PORT_6381_TCP_PROTO=tcp",
                "DOCKER_1_PORT_9_SCTP=sctp://172.0.17.2:9",
                "DOCKER_1_PORT_9_SCTP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_9_SCTP_PORT=9",
                "DOCKER_1_PORT_9_SCTP_PROTO=sctp",
                /* The run's variables come after the port that ended it. */
                "DOCKER_1_PORT_6379_TCP_START=tcp://172.0.17.2:6379",
                "DOCKER_1_PORT_6379_TCP_PORT_START=6379",
                "DOCKER_1_PORT_6379_TCP_END=tcp://172.0.17.2:6381",
                "DOCKER_1_PORT_6379_TCP_PORT_END=6381",
                "DOCKER_1_PORT_53_UDP=udp://172.0.17.2:53",
                "DOCKER_1_PORT_53_UDP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_53_UDP_PORT=53",
                "DOCKER_1_PORT_53_UDP_PROTO=udp",
                "DOCKER_1_PORT_54_UDP=udp://172.0.17.2:54",
                "DOCKER_1_PORT_54_UDP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_54_UDP_PORT=54",
                "DOCKER_1_PORT_54_UDP_PROTO=udp",
                /* A run that reaches the end is closed after its last port. */
                "DOCKER_1_PORT_53_UDP_START=udp://172.0.17.2:53",
                "DOCKER_1_PORT_53_UDP_PORT_START=53",
                "DOCKER_1_PORT_53_UDP_END=udp://172.0.17.2:54",
                "DOCKER_1_PORT_53_UDP_PORT_END=54",
                "DOCKER_1_NAME=/db/docker-1",
                NULL,
        };
        _cleanup_strv_ char **env = env_of("db", "docker-1", "172.0.17.2", exposed, NULL);

        (void)state;
        assert_env(env, want);
}

static void test_expose_range_and_duplicates(void **state)
{
        static const char *const exposed[] = {"7000-7001/tcp", "7000/tcp", "7000", NULL};
        static const char *const want[] = {
                "A_B_PORT=tcp://10.0.0.2:7000",
                "A_B_PORT_7000_TCP=tcp://10.0.0.2:7000",
                "A_B_PORT_7000_TCP_ADDR=10.0.0.2",
                "A_B_PORT_7000_TCP_PORT=7000",
                "A_B_PORT_7000_TCP_PROTO=tcp",
                "A_B_PORT_7001_TCP=tcp://10.0.0.2:7001",
                "A_B_PORT_7001_TCP_ADDR=10.0.0.2",
                "A_B_PORT_7001_TCP_PORT=7001",
                "A_B_PORT_7001_TCP_PROTO=tcp",
                "A_B_PORT_7000_TCP_START=tcp://10.0.0.2:7000",
                "A_B_PORT_7000_TCP_PORT_START=7000",
                "A_B_PORT_7000_TCP_END=tcp://10.0.0.2:7001",
                "A_B_PORT_7000_TCP_PORT_END=7001",
                "A_B_NAME=/p/a-b",
                NULL,
        };
        _cleanup_strv_ char **env = env_of("/p", "a-b", "10.0.0.2", exposed, NULL);

        (void)state;
        assert_env(env, want);
}

static void test_udp_only_and_no_ports(void **state)
{
        static const char *const udp[] = {"53/udp", NULL};
        static const char *const want_udp[] = {
                /* The first port's own scheme, not always tcp. */
                "DNS_PORT=udp://172.17.0.3:53",
                "DNS_PORT_53_UDP=udp://172.17.0.3:53",
                "DNS_PORT_53_UDP_ADDR=172.17.0.3",
                "DNS_PORT_53_UDP_PORT=53",
                "DNS_PORT_53_UDP_PROTO=udp",
                "DNS_NAME=/app/dns",
                NULL,
        };
        static const char *const want_none[] = {"DB_NAME=/app/db", "DB_ENV_X=1", NULL};
        char *child_env[] = {"X=1", NULL};
        _cleanup_strv_ char **e1 = env_of("app", "dns", "172.17.0.3", udp, NULL);
        _cleanup_strv_ char **e2 = env_of("/app", "db", "172.17.0.4", NULL, child_env);

        (void)state;
        assert_env(e1, want_udp);
        assert_env(e2, want_none);
}

static void test_alias_forms(void **state)
{
        static const char *const none[] = {NULL};
        _cleanup_strv_ char **e1 = env_of("web", "my.db", "1.2.3.4", none, NULL);
        _cleanup_strv_ char **e2 = env_of("web", "/web/Db-X", "1.2.3.4", none, NULL);

        (void)state;
        /* Only '-' is replaced; a '.' survives into a name shells cannot use. */
        assert_string_equal(e1[0], "MY.DB_NAME=/web/my.db");
        assert_null(e1[1]);
        /* A full link name: the last element is the alias. */
        assert_string_equal(e2[0], "DB_X_NAME=/web/Db-X");
        assert_null(e2[1]);
}

static void test_errors(void **state)
{
        static const char *const bad[] = {"80/tcp", "abc/tcp", NULL};
        static const char *const badproto[] = {"80/icmp", NULL};
        struct err e = {0};
        char **env = NULL;

        (void)state;
        assert_int_equal(links_env("web", "", "1.2.3.4", NULL, NULL, &env, &e), -EINVAL);
        assert_string_equal(e.msg, "invalid link alias ''");
        assert_int_equal(links_env("web", "/web/", "1.2.3.4", NULL, NULL, &env, &e), -EINVAL);
        assert_int_equal(links_env("web", "db", "1.2.3.4", bad, NULL, &env, &e), -EINVAL);
        assert_string_equal(e.msg, "exposed port abc/tcp: invalid range format for --expose: "
                                   "abc/tcp, error: strconv.ParseUint: parsing \"abc\": invalid "
                                   "syntax");
        assert_int_equal(links_env("web", "db", "1.2.3.4", badproto, NULL, &env, &e), -EINVAL);
        assert_string_equal(e.msg, "exposed port 80/icmp: invalid proto: icmp");
        assert_null(env);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_stored),
                cmocka_unit_test(test_single_port),
                cmocka_unit_test(test_range_and_order),
                cmocka_unit_test(test_expose_range_and_duplicates),
                cmocka_unit_test(test_udp_only_and_no_ports),
                cmocka_unit_test(test_alias_forms),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
