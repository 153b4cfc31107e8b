#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "dns/files.h"

#define HOSTS_V4 "127.0.0.1\tlocalhost\n"
#define HOSTS_V6                                                                                   \
        "::1\tlocalhost ip6-localhost ip6-loopback\n"                                              \
        "fe00::0\tip6-localnet\n"                                                                  \
        "ff00::0\tip6-mcastprefix\n"                                                               \
        "ff02::1\tip6-allnodes\n"                                                                  \
        "ff02::2\tip6-allrouters\n"

#define GOOGLE "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"

/* Number of lines of text exactly equal to line. */
static int count_line(const char *text, const char *line)
{
        size_t n = strlen(line);
        int count = 0;

        for (const char *p = text; *p;) {
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

static int count_prefix(const char *text, const char *prefix)
{
        size_t n = strlen(prefix);
        int count = 0;

        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                if (!strncmp(p, prefix, n))
                        count++;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return count;
}

static void test_hosts_v4_only(void **state)
{
        struct dns_hosts_spec spec = {0};
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hosts_render(&spec, &out, &e), 0);
        assert_non_null(out);
        assert_string_equal(out, HOSTS_V4);
}

static void test_hosts_docker_layout(void **state)
{
        static const struct dns_host_entry extra[] = {
                {"10.0.0.5", "db"},
                {"192.168.1.1", "gw gateway.local"},
        };
        struct dns_hosts_spec spec = {
                .ipv6 = true,
                .extra = extra,
                .n_extra = 2,
                .own_ip = "172.17.0.2",
                .own_names = "abcdef123456",
        };
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hosts_render(&spec, &out, &e), 0);
        assert_string_equal(out, "127.0.0.1\tlocalhost\n"
                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "fe00::0\tip6-localnet\n"
                                 "ff00::0\tip6-mcastprefix\n"
                                 "ff02::1\tip6-allnodes\n"
                                 "ff02::2\tip6-allrouters\n"
                                 "10.0.0.5\tdb\n"
                                 "192.168.1.1\tgw gateway.local\n"
                                 "172.17.0.2\tabcdef123456\n");
}

/* --network none: no own line, but the fixed block is unchanged. */
static void test_hosts_without_address(void **state)
{
        static const struct dns_host_entry extra[] = {{"10.1.2.3", "svc"}};
        struct dns_hosts_spec spec = {
                .ipv6 = true,
                .extra = extra,
                .n_extra = 1,
                .own_ip = NULL,
                .own_names = "web",
        };
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hosts_render(&spec, &out, &e), 0);
        assert_string_equal(out, HOSTS_V4 HOSTS_V6 "10.1.2.3\tsvc\n");
}

static void test_hosts_own_with_aliases(void **state)
{
        struct dns_hosts_spec spec = {
                .ipv6 = false,
                .own_ip = "10.88.0.7",
                .own_names = "web.example.com web alias1",
        };
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hosts_render(&spec, &out, &e), 0);
        assert_string_equal(out, HOSTS_V4 "10.88.0.7\tweb.example.com web alias1\n");
}

static void test_hostname(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hostname_render("abcdef123456", &a, &e), 0);
        assert_string_equal(a, "abcdef123456\n");
        assert_int_equal(dns_hostname_render("web.example.com", &b, &e), 0);
        assert_string_equal(b, "web.example.com\n");
}

static int resolv(const char *host, bool own, char **dns, char **search, char **opts, char **out)
{
        struct err e = {0};

        *out = NULL;
        return dns_resolv_render(host, own, dns, search, opts, out, &e);
}

/* systemd-resolved's stub is unreachable from a private netns: dropped, Google's servers used,
 * everything else kept in order. */
static void test_resolv_loopback_dropped(void **state)
{
        static const char host[] = "# managed by systemd-resolved\n"
                                   "nameserver 127.0.0.53\n"
                                   "options edns0 trust-ad\n"
                                   "search example.com\n";
        _cleanup_free_ char *out = NULL;

        (void)state;
        assert_int_equal(resolv(host, true, NULL, NULL, NULL, &out), 0);
        assert_string_equal(out, "# managed by systemd-resolved\n"
                                 "options edns0 trust-ad\n"
                                 "search example.com\n" GOOGLE);
}

static void test_resolv_mixed_nameservers(void **state)
{
        static const char host[] = "nameserver 127.0.0.1\n"
                                   "nameserver 10.0.0.2\n"
                                   "nameserver ::1\n"
                                   "  nameserver 127.1.2.3\n"
                                   "nameserver 192.168.1.1\n";
        _cleanup_free_ char *out = NULL;

        (void)state;
        assert_int_equal(resolv(host, true, NULL, NULL, NULL, &out), 0);
        assert_string_equal(out, "nameserver 10.0.0.2\nnameserver 192.168.1.1\n");
        assert_int_equal(count_line(out, "nameserver 8.8.8.8"), 0);
}

/* With the host's network namespace the host's resolver is reachable: file kept as is. */
static void test_resolv_host_netns_keeps_loopback(void **state)
{
        static const char host[] = "nameserver 127.0.0.53\n"
                                   "options edns0\n"
                                   "search lan\n";
        _cleanup_free_ char *out = NULL;

        (void)state;
        assert_int_equal(resolv(host, false, NULL, NULL, NULL, &out), 0);
        assert_string_equal(out, host);
}

static void test_resolv_empty_host(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        (void)state;
        assert_int_equal(resolv(NULL, true, NULL, NULL, NULL, &a), 0);
        assert_string_equal(a, GOOGLE);
        assert_int_equal(resolv("", true, NULL, NULL, NULL, &b), 0);
        assert_string_equal(b, GOOGLE);
        assert_int_equal(resolv("search corp\n", false, NULL, NULL, NULL, &c), 0);
        assert_string_equal(c, "search corp\n" GOOGLE);
}

/* --dns replaces every host nameserver (loopback ones given explicitly are kept); the host's
 * search and options stay. */
static void test_resolv_dns_override(void **state)
{
        static const char host[] = "nameserver 10.0.0.2\n"
                                   "search corp.example\n"
                                   "options ndots:2\n";
        char *dns[] = {"1.1.1.1", "127.0.0.1", NULL};
        char *empty[] = {NULL};
        _cleanup_free_ char *out = NULL, *out2 = NULL;

        (void)state;
        assert_int_equal(resolv(host, true, dns, empty, empty, &out), 0);
        assert_int_equal(count_prefix(out, "nameserver"), 2);
        assert_int_equal(count_line(out, "nameserver 1.1.1.1"), 1);
        assert_int_equal(count_line(out, "nameserver 127.0.0.1"), 1);
        assert_int_equal(count_line(out, "nameserver 10.0.0.2"), 0);
        assert_int_equal(count_line(out, "search corp.example"), 1);
        assert_int_equal(count_line(out, "options ndots:2"), 1);
        assert_non_null(strstr(out, "nameserver 1.1.1.1\nnameserver 127.0.0.1\n"));

        /* No fallback when --dns is given even if the host had nothing usable. */
        assert_int_equal(resolv("nameserver 127.0.0.53\n", true, dns, NULL, NULL, &out2), 0);
        assert_string_equal(out2, "nameserver 1.1.1.1\nnameserver 127.0.0.1\n");
}

static void test_resolv_search_and_options_override(void **state)
{
        static const char host[] = "nameserver 10.0.0.2\n"
                                   "domain old.example\n"
                                   "search a.example b.example\n"
                                   "options ndots:5 timeout:1\n";
        char *search[] = {"x.example", "y.example", NULL};
        char *opts[] = {"ndots:1", "rotate", NULL};
        _cleanup_free_ char *out = NULL;

        (void)state;
        assert_int_equal(resolv(host, true, NULL, search, opts, &out), 0);
        assert_int_equal(count_line(out, "nameserver 10.0.0.2"), 1);
        assert_int_equal(count_prefix(out, "nameserver"), 1);
        assert_int_equal(count_prefix(out, "domain"), 0);
        assert_int_equal(count_prefix(out, "search"), 1);
        assert_int_equal(count_line(out, "search x.example y.example"), 1);
        assert_int_equal(count_prefix(out, "options"), 1);
        assert_int_equal(count_line(out, "options ndots:1 rotate"), 1);
        assert_int_equal(out[strlen(out) - 1], '\n');
}

/* Only the overridden kind of line is replaced. */
static void test_resolv_partial_override(void **state)
{
        static const char host[] = "nameserver 10.0.0.2\n"
                                   "search a.example\n"
                                   "options ndots:5\n";
        char *opts[] = {"attempts:3", NULL};
        _cleanup_free_ char *out = NULL;

        (void)state;
        assert_int_equal(resolv(host, true, NULL, NULL, opts, &out), 0);
        assert_int_equal(count_line(out, "nameserver 10.0.0.2"), 1);
        assert_int_equal(count_line(out, "search a.example"), 1);
        assert_int_equal(count_line(out, "options attempts:3"), 1);
        assert_int_equal(count_line(out, "options ndots:5"), 0);
}

/* `--dns-search .` means "no search domains" (Docker's documented way to drop the host's). */
static void test_resolv_search_dot(void **state)
{
        static const char host[] = "nameserver 10.0.0.2\nsearch corp.example\n";
        char *search[] = {".", NULL};
        char *out = NULL;
        int ns, searches;

        (void)state;
        assert_int_equal(resolv(host, true, NULL, search, NULL, &out), 0);
        ns = count_line(out, "nameserver 10.0.0.2");
        searches = count_prefix(out, "search");
        if (searches)
                print_message("rendered:\n%s", out);
        free(out);
        assert_int_equal(ns, 1);
        assert_int_equal(searches, 0);
}

/* Text from an older state file or another path never splits a line: entries with a control
 * character are left out, overrides that are not one token too. */
static void test_control_characters_left_out(void **state)
{
        const struct dns_host_entry extra[] = {
                {"10.0.0.2", "db\n10.6.6.6 evil"},
                {"10.0.0.3\n10.6.6.6", "x"},
                {"10.0.0.4", "ok alias"},
        };
        struct dns_hosts_spec spec = {
                .extra = extra,
                .n_extra = 3,
                .own_ip = "10.0.0.5",
                .own_names = "me\rx",
        };
        char *dns[] = {"10.1.1.1", "10.6.6.6\nsearch evil", NULL};
        char *search[] = {"a.example", "b\nnameserver", NULL};
        char *opts[] = {"ndots:1", "x y", NULL};
        _cleanup_free_ char *hosts = NULL, *rc = NULL, *hn = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(dns_hosts_render(&spec, &hosts, &e), 0);
        assert_string_equal(hosts, HOSTS_V4 "10.0.0.4\tok alias\n");
        assert_int_equal(resolv("", true, dns, search, opts, &rc), 0);
        assert_string_equal(rc, "nameserver 10.1.1.1\nsearch a.example\noptions ndots:1\n");
        assert_int_equal(dns_hostname_render("a\nb", &hn, &e), -EINVAL);
        assert_null(hn);
}

static void test_validators(void **state)
{
        (void)state;
        assert_true(dns_files_token_ok("ndots:2"));
        assert_false(dns_files_token_ok(""));
        assert_false(dns_files_token_ok("a b"));
        assert_false(dns_files_token_ok("a\tb"));
        assert_false(dns_files_token_ok("a\x7f"));
        assert_true(dns_files_domain_ok("example.com"));
        assert_true(dns_files_domain_ok("example.com."));
        assert_true(dns_files_domain_ok("a-b.c2"));
        assert_true(dns_files_domain_ok("."));
        assert_false(dns_files_domain_ok("123.456")); /* no letter */
        assert_false(dns_files_domain_ok("-a.example"));
        assert_false(dns_files_domain_ok("a-.example"));
        assert_false(dns_files_domain_ok("a..example"));
        assert_false(dns_files_domain_ok("a\nnameserver"));
        assert_false(dns_files_domain_ok("a_b.example"));
        assert_false(dns_files_domain_ok(""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hosts_v4_only),
                cmocka_unit_test(test_hosts_docker_layout),
                cmocka_unit_test(test_hosts_without_address),
                cmocka_unit_test(test_hosts_own_with_aliases),
                cmocka_unit_test(test_hostname),
                cmocka_unit_test(test_resolv_loopback_dropped),
                cmocka_unit_test(test_resolv_mixed_nameservers),
                cmocka_unit_test(test_resolv_host_netns_keeps_loopback),
                cmocka_unit_test(test_resolv_empty_host),
                cmocka_unit_test(test_resolv_dns_override),
                cmocka_unit_test(test_resolv_search_and_options_override),
                cmocka_unit_test(test_resolv_partial_override),
                cmocka_unit_test(test_resolv_search_dot),
                cmocka_unit_test(test_control_characters_left_out),
                cmocka_unit_test(test_validators),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
