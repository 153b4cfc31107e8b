#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"

#define SEC  1000000000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define WEEK (7 * DAY)
#define MON  (30 * DAY)
#define YEAR (365 * DAY)

static void test_printf(void **state)
{
        _cleanup_free_ char *s = util_printf("%s-%d", "web", 42);

        (void)state;
        assert_non_null(s);
        assert_string_equal(s, "web-42");
}

static void test_strv(void **state)
{
        _cleanup_strv_ char **v = NULL;
        _cleanup_strv_ char **copy = NULL;
        char **tmp = NULL;

        (void)state;
        assert_int_equal(util_strv_len(NULL), 0);
        assert_false(util_strv_contains(NULL, "a"));
        assert_int_equal(util_strv_push(&v, "a"), 0);
        assert_int_equal(util_strv_push(&v, "b"), 0);
        assert_int_equal(util_strv_push(&v, ""), 0);
        assert_int_equal(util_strv_len(v), 3);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[2], "");
        assert_null(v[3]);
        assert_true(util_strv_contains(v, "b"));
        assert_true(util_strv_contains(v, ""));
        assert_false(util_strv_contains(v, "c"));
        {
                _cleanup_free_ char *j = util_strv_join(v, ", "), *none = util_strv_join(NULL, ",");
                assert_string_equal(j, "a, b, ");
                assert_string_equal(none, "");
        }

        copy = util_strv_dup(v);
        assert_non_null(copy);
        assert_int_equal(util_strv_len(copy), 3);
        assert_ptr_not_equal(copy[0], v[0]);
        assert_string_equal(copy[1], "b");

        tmp = util_strv_dup(NULL);
        assert_non_null(tmp);
        assert_int_equal(util_strv_len(tmp), 0);
        util_strv_free(tmp);
        util_strv_free(NULL);
}

static void test_random_hex(void **state)
{
        char a[65], b[65];
        struct err err = {0};

        (void)state;
        assert_int_equal(util_random_hex(a, &err), 0);
        assert_int_equal(util_random_hex(b, &err), 0);
        assert_int_equal(strlen(a), 64);
        assert_int_equal(strspn(a, "0123456789abcdef"), 64);
        assert_string_not_equal(a, b);
}

static void test_now(void **state)
{
        int64_t a = util_now_ns(), b = util_now_ns();

        (void)state;
        /* 2020-01-01T00:00:00Z */
        assert_true(a > 1577836800LL * SEC);
        assert_true(b >= a);
}

static void check_time(int64_t ns, const char *want)
{
        char out[40];
        int64_t back = 0;

        util_format_time(ns, out);
        assert_string_equal(out, want);
        assert_int_equal(util_parse_time(out, &back), 0);
        assert_int_equal(back, ns);
}

static void test_format_time(void **state)
{
        (void)state;
        check_time(0, "1970-01-01T00:00:00Z");
        check_time(1795807352LL * SEC + 123400000, "2026-11-27T19:22:32.1234Z");
        check_time(1795807352LL * SEC + 123456789, "2026-11-27T19:22:32.123456789Z");
        check_time(1795807352LL * SEC + 1, "2026-11-27T19:22:32.000000001Z");
        check_time(1795807352LL * SEC, "2026-11-27T19:22:32Z");
        check_time(-1, "1969-12-31T23:59:59.999999999Z");
        check_time(951782400LL * SEC, "2000-02-29T00:00:00Z");
}

static void test_parse_time(void **state)
{
        int64_t ns = 42;

        (void)state;
        assert_int_equal(util_parse_time("2026-11-27T21:22:32.5+02:00", &ns), 0);
        assert_int_equal(ns, 1795807352LL * SEC + 500000000);
        assert_int_equal(util_parse_time("2026-11-27T19:22:32.1234567891Z", &ns), 0);
        assert_int_equal(ns, 1795807352LL * SEC + 123456789);
        assert_int_equal(util_parse_time("2026-11-27T14:22:32-05:00", &ns), 0);
        assert_int_equal(ns, 1795807352LL * SEC);

        ns = 42;
        assert_int_equal(util_parse_time("", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27 19:22:32Z", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27T19:22:32", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27T19:22:32.Z", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27T19:22:32Zx", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-13-01T00:00:00Z", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-02-30T00:00:00Z", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27T24:00:00Z", &ns), -EINVAL);
        assert_int_equal(util_parse_time("2026-11-27T19:22:32+2:00", &ns), -EINVAL);
        /* Docker's zero time is not representable in int64 nanoseconds. */
        assert_int_equal(util_parse_time("0001-01-01T00:00:00Z", &ns), -ERANGE);
        assert_int_equal(ns, 42);
}

static void check_duration(int64_t ns, const char *want)
{
        char out[64];

        util_human_duration(ns, out, sizeof(out));
        assert_string_equal(out, want);
}

/* The cases of go-units' TestHumanDuration. */
static void test_human_duration(void **state)
{
        (void)state;
        check_duration(-5 * SEC, "Less than a second");
        check_duration(450 * 1000000LL, "Less than a second");
        check_duration(1 * SEC, "1 second");
        check_duration(45 * SEC, "45 seconds");
        check_duration(59 * SEC, "59 seconds");
        check_duration(60 * SEC, "About a minute");
        check_duration(119 * SEC, "About a minute");
        check_duration(3 * MIN, "3 minutes");
        check_duration(35 * MIN + 40 * SEC, "35 minutes");
        check_duration(59 * MIN, "59 minutes");
        check_duration(1 * HOUR, "About an hour");
        check_duration(1 * HOUR + 29 * MIN, "About an hour");
        check_duration(1 * HOUR + 30 * MIN, "2 hours");
        check_duration(1 * HOUR + 31 * MIN, "2 hours");
        check_duration(3 * HOUR + 29 * MIN, "3 hours");
        check_duration(3 * HOUR + 31 * MIN, "4 hours");
        check_duration(24 * HOUR, "24 hours");
        check_duration(DAY + 12 * HOUR, "36 hours");
        check_duration(2 * DAY, "2 days");
        check_duration(7 * DAY, "7 days");
        check_duration(13 * DAY + 5 * HOUR, "13 days");
        check_duration(2 * WEEK, "2 weeks");
        check_duration(2 * WEEK + 4 * DAY, "2 weeks");
        check_duration(4 * WEEK + 3 * DAY, "4 weeks");
        check_duration(1 * MON, "4 weeks");
        check_duration(1 * MON + 2 * WEEK, "6 weeks");
        check_duration(2 * MON, "2 months");
        check_duration(3 * MON + 1 * WEEK, "3 months");
        check_duration(5 * MON + 2 * WEEK, "5 months");
        check_duration(13 * MON, "13 months");
        check_duration(24 * MON, "24 months");
        check_duration(24 * MON + 2 * WEEK, "2 years");
        check_duration(3 * YEAR + 2 * MON, "3 years");
}

static void check_size(long long bytes, const char *want)
{
        char out[32];

        util_human_size(bytes, out, sizeof(out));
        assert_string_equal(out, want);
}

static void test_human_size(void **state)
{
        (void)state;
        check_size(0, "0B");
        check_size(-1, "-1B");
        check_size(999, "999B");
        check_size(1000, "1kB");
        check_size(1024, "1.024kB");
        check_size(1200, "1.2kB");
        check_size(999999, "1000kB");
        check_size(1000000, "1MB");
        check_size(1048576, "1.049MB");
        check_size(4270000, "4.27MB");
        check_size(3420000000LL, "3.42GB");
        check_size(5372000000000LL, "5.372TB");
        check_size(2220000000000000LL, "2.22PB");
        check_size(9223372036854775807LL, "9.223EB");
}

static void test_parse_ll(void **state)
{
        long long v = 7;

        (void)state;
        assert_int_equal(util_parse_ll("42", 0, 100, &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(util_parse_ll("-5", -10, 10, &v), 0);
        assert_int_equal(v, -5);
        assert_int_equal(util_parse_ll("+5", -10, 10, &v), 0);
        assert_int_equal(v, 5);

        v = 7;
        assert_int_equal(util_parse_ll("", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll(NULL, 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll(" 1", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll("1 ", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll("1x", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll("-", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll("0x10", 0, 100, &v), -EINVAL);
        assert_int_equal(util_parse_ll("101", 0, 100, &v), -ERANGE);
        assert_int_equal(util_parse_ll("-1", 0, 100, &v), -ERANGE);
        assert_int_equal(util_parse_ll("99999999999999999999", 0, LLONG_MAX, &v), -ERANGE);
        assert_int_equal(v, 7);
}

static void test_parse_signal(void **state)
{
        (void)state;
        assert_int_equal(util_parse_signal("TERM"), 15);
        assert_int_equal(util_parse_signal("SIGTERM"), 15);
        assert_int_equal(util_parse_signal("term"), 15);
        assert_int_equal(util_parse_signal("SigKill"), 9);
        assert_int_equal(util_parse_signal("HUP"), 1);
        assert_int_equal(util_parse_signal("usr1"), 10);
        assert_int_equal(util_parse_signal("SIGWINCH"), 28);
        assert_int_equal(util_parse_signal("CLD"), 17);
        assert_int_equal(util_parse_signal("9"), 9);
        assert_int_equal(util_parse_signal("1"), 1);
        assert_int_equal(util_parse_signal("64"), 64);
        assert_int_equal(util_parse_signal("RTMIN"), 34);
        assert_int_equal(util_parse_signal("SIGRTMIN+3"), 37);
        assert_int_equal(util_parse_signal("rtmax"), 64);
        assert_int_equal(util_parse_signal("RTMAX-2"), 62);
        assert_int_equal(util_parse_signal("RTMIN+30"), 64);

        assert_int_equal(util_parse_signal(""), -EINVAL);
        assert_int_equal(util_parse_signal(NULL), -EINVAL);
        assert_int_equal(util_parse_signal("0"), -EINVAL);
        assert_int_equal(util_parse_signal("65"), -EINVAL);
        assert_int_equal(util_parse_signal("-9"), -EINVAL);
        assert_int_equal(util_parse_signal("9x"), -EINVAL);
        assert_int_equal(util_parse_signal("SIG"), -EINVAL);
        assert_int_equal(util_parse_signal("TERMINATE"), -EINVAL);
        assert_int_equal(util_parse_signal("RTMIN+31"), -EINVAL);
        assert_int_equal(util_parse_signal("RTMIN-1"), -EINVAL);
        assert_int_equal(util_parse_signal("RTMIN+"), -EINVAL);
        assert_int_equal(util_parse_signal("SIGAVERYLONGSIGNALNAME"), -EINVAL);
}

/* /proc/PID/stat read right: the start time (field 22) is after the parent's and not in the
 * future, and the parent is getppid(). */
static void test_pid_stat(void **state)
{
        long long me = util_pid_start(getpid()), parent = util_pid_start(getppid());
        double up = 0;
        FILE *f = fopen("/proc/uptime", "r");

        (void)state;
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lf", &up), 1);
        fclose(f);
        assert_true(me > 0);
        assert_true(me >= parent);
        assert_true(me <= (long long)(up * (double)sysconf(_SC_CLK_TCK)) + 1);
        assert_true(util_pid_alive(getpid(), me));
        assert_false(util_pid_alive(getpid(), me + 1));
        assert_int_equal(util_pid_parent(getpid()), getppid());
        assert_int_equal(util_pid_start(0), 0);
        assert_int_equal(util_pid_parent(-1), 0);
}

static void test_mkdir_p(void **state)
{
        char tmpl[] = "/tmp/hawser-mkdir-XXXXXX", path[PATH_MAX];
        char *dir = mkdtemp(tmpl);
        struct stat st;
        struct err e = {0};
        FILE *f;

        (void)state;
        assert_non_null(dir);
        /* Every missing parent is made; an existing directory is fine. */
        snprintf(path, sizeof(path), "%s/a/b/c", dir);
        assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
        snprintf(path, sizeof(path), "%s/a/b/d", dir);
        assert_int_equal(fs_mkdir_p(path, 0755, &e), 0);
        assert_int_equal(stat(path, &st), 0);
        /* A file where a parent should be is an error naming the path. */
        snprintf(path, sizeof(path), "%s/file", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/file/x/y", dir);
        assert_int_equal(fs_mkdir_p(path, 0700, &e), -ENOTDIR);
        assert_non_null(strstr(e.msg, "creating directory"));
        assert_non_null(strstr(e.msg, "/file/x"));
        fs_rm_rf(dir, &e);
}

/* Go's time.ParseDuration and Duration.String(), on values checked against Go. */
static void test_go_duration(void **state)
{
        static const struct {
                const char *in;
                int64_t ns;
                const char *out;
        } ok[] = {
                {"0", 0, "0s"},
                {"30s", 30000000000LL, "30s"},
                {"1m30s", 90000000000LL, "1m30s"},
                {"1.5h", 5400000000000LL, "1h30m0s"},
                {"500ms", 500000000, "500ms"},
                {"1.5s", 1500000000, "1.5s"},
                {"2us", 2000, "2\xc2\xb5s"},
                {"1500us", 1500000, "1.5ms"},
                {"10ns", 10, "10ns"},
                {"-2s", -2000000000LL, "-2s"},
                {"1h", 3600000000000LL, "1h0m0s"},
                {"60s", 60000000000LL, "1m0s"},
        };
        static const char *const bad[] = {"",  "1",   "s",   "1x",  "1.5",
                                          "-", "inf", "1s2", " 1s", "0x10s"};
        char buf[64];

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                int64_t ns = -1;
                assert_int_equal(util_parse_go_duration(ok[i].in, &ns), 0);
                assert_int_equal(ns, ok[i].ns);
                util_format_go_duration(ns, buf, sizeof(buf));
                assert_string_equal(buf, ok[i].out);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int64_t ns;
                assert_int_equal(util_parse_go_duration(bad[i], &ns), -EINVAL);
        }
}

static void test_go_bool(void **state)
{
        (void)state;
        assert_int_equal(util_parse_go_bool("true"), 1);
        assert_int_equal(util_parse_go_bool("T"), 1);
        assert_int_equal(util_parse_go_bool("1"), 1);
        assert_int_equal(util_parse_go_bool("False"), 0);
        assert_int_equal(util_parse_go_bool("0"), 0);
        assert_int_equal(util_parse_go_bool("yes"), -EINVAL);
        assert_int_equal(util_parse_go_bool("tRUE"), -EINVAL);
        assert_int_equal(util_parse_go_bool(""), -EINVAL);
}

/* Docker's time filters: Unix times read exactly to the nanosecond (a double would not keep
 * a date of today's last digits), RFC 3339, durations before now. */
static void test_docker_time(void **state)
{
        static const struct {
                const char *in;
                int64_t ns;
        } ok[] = {
                {"0", 0},
                {"1796667666.513619301", 1796667666513619301LL},
                {"1796667666.5", 1796667666500000000LL},
                {"1796667666.1234567891", 1796667666123456789LL},
                {"1700000000", 1700000000000000000LL},
                {"2000-01-01T00:00:00Z", 946684800000000000LL},
                {"2001-01-01", 978307200000000000LL},
        };
        static const char *const bad[] = {"",   "1.",   ".5",        "1e5",
                                          "-1", "1.5x", "yesterday", "99999999999999999999"};
        int64_t ns, before;

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                ns = -1;
                assert_int_equal(util_parse_docker_time(ok[i].in, &ns), 0);
                assert_int_equal(ns, ok[i].ns);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(util_parse_docker_time(bad[i], &ns), -EINVAL);
        before = util_now_ns();
        assert_int_equal(util_parse_docker_time("10m", &ns), 0);
        assert_true(ns <= before - 600000000000LL + 1000000000LL && ns >= before - 600000000000LL);
}

static void test_mac(void **state)
{
        uint8_t m[6];

        (void)state;
        assert_int_equal(util_mac_parse("02:42:AC:11:00:09", m), 0);
        assert_int_equal(m[0], 0x02);
        assert_int_equal(m[2], 0xac);
        assert_int_equal(m[5], 0x09);
        assert_true(util_mac_ok("ff:ff:ff:ff:ff:ff"));
        assert_false(util_mac_ok("zz"));
        assert_false(util_mac_ok("02:42:ac:11:00"));
        assert_false(util_mac_ok("02:42:ac:11:00:0g"));
        assert_false(util_mac_ok("02-42-ac-11-00-09"));
        assert_false(util_mac_ok("02:42:ac:11:00:099"));
        assert_false(util_mac_ok(""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_printf),       cmocka_unit_test(test_strv),
                cmocka_unit_test(test_pid_stat),     cmocka_unit_test(test_random_hex),
                cmocka_unit_test(test_now),          cmocka_unit_test(test_format_time),
                cmocka_unit_test(test_parse_time),   cmocka_unit_test(test_human_duration),
                cmocka_unit_test(test_human_size),   cmocka_unit_test(test_parse_ll),
                cmocka_unit_test(test_parse_signal), cmocka_unit_test(test_mkdir_p),
                cmocka_unit_test(test_mac),          cmocka_unit_test(test_go_duration),
                cmocka_unit_test(test_go_bool),      cmocka_unit_test(test_docker_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
