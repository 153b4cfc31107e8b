#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/logfile.h"

#define LINES_MAX 16

struct log_file {
        int fd;
        char *text;
        char *line[LINES_MAX];
        size_t n;
};

static int setup(void **state)
{
        struct log_file *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        f->fd = memfd_create("hawser-log-test", MFD_CLOEXEC);
        if (f->fd < 0) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct log_file *f = *state;

        close(f->fd);
        free(f->text);
        free(f);
        return 0;
}

/* Reads the whole file back and splits it into lines (each must end in '\n'). */
static void read_back(struct log_file *f)
{
        off_t size = lseek(f->fd, 0, SEEK_END);
        ssize_t got;
        char *p;

        assert_true(size >= 0);
        free(f->text);
        f->text = calloc(1, (size_t)size + 1);
        assert_non_null(f->text);
        got = pread(f->fd, f->text, (size_t)size, 0);
        assert_int_equal(got, size);
        f->n = 0;
        if (size > 0)
                assert_int_equal(f->text[size - 1], '\n');
        for (p = f->text; *p;) {
                char *nl = strchr(p, '\n');
                assert_non_null(nl);
                *nl = '\0';
                assert_true(f->n < LINES_MAX);
                f->line[f->n++] = p;
                p = nl + 1;
        }
}

/* Parses line i and checks stream and log text. */
static void check_entry(struct log_file *f, size_t i, const char *stream, const char *log,
                        int64_t t0, int64_t t1)
{
        struct logfile_entry e;
        void *owner = NULL;

        assert_true(i < f->n);
        assert_int_equal(logfile_parse_line(f->line[i], &e, &owner), 0);
        assert_non_null(owner);
        assert_string_equal(e.stream, stream);
        assert_string_equal(e.log, log);
        assert_int_equal(e.len, strlen(log));
        assert_true(e.time_ns >= t0 - 1000);
        assert_true(e.time_ns <= t1 + 1000);
        jv_put(owner);
}

static void test_split_at_newlines(void **state)
{
        struct log_file *f = *state;
        static const char data[] = "hello\nworld\n";
        int64_t t0 = util_now_ns(), t1;

        logfile_append(f->fd, "stdout", data, strlen(data));
        t1 = util_now_ns();
        read_back(f);
        assert_int_equal(f->n, 2);
        check_entry(f, 0, "stdout", "hello\n", t0, t1);
        check_entry(f, 1, "stdout", "world\n", t0, t1);
}

static void test_partial_line(void **state)
{
        struct log_file *f = *state;
        int64_t t0 = util_now_ns(), t1;

        logfile_append(f->fd, "stderr", "a\nb", 3);
        logfile_append(f->fd, "stdout", "no newline", 10);
        logfile_append(f->fd, "stdout", "\n\n", 2);
        t1 = util_now_ns();
        read_back(f);
        assert_int_equal(f->n, 5);
        check_entry(f, 0, "stderr", "a\n", t0, t1);
        check_entry(f, 1, "stderr", "b", t0, t1);
        check_entry(f, 2, "stdout", "no newline", t0, t1);
        check_entry(f, 3, "stdout", "\n", t0, t1);
        check_entry(f, 4, "stdout", "\n", t0, t1);
}

/* Only len bytes are used, and an empty write writes nothing. */
static void test_length_respected(void **state)
{
        struct log_file *f = *state;

        logfile_append(f->fd, "stdout", "abc\ndef\n", 0);
        read_back(f);
        assert_int_equal(f->n, 0);
        logfile_append(f->fd, "stdout", "abc\ndef\n", 5);
        read_back(f);
        assert_int_equal(f->n, 2);
        check_entry(f, 0, "stdout", "abc\n", 0, INT64_MAX - 1000);
        check_entry(f, 1, "stdout", "d", 0, INT64_MAX - 1000);
}

static void test_bad_fd_ignored(void **state)
{
        struct log_file *f = *state;

        logfile_append(-1, "stdout", "x\n", 2);
        read_back(f);
        assert_int_equal(f->n, 0);
}

/* Docker's json-file layout: {"log":...,"stream":...,"time":"RFC3339Nano"} then '\n'. */
static void test_docker_line_shape(void **state)
{
        struct log_file *f = *state;
        static const char prefix[] =
                "{\"log\":\"GET /index.html\\n\",\"stream\":\"stdout\",\"time\":\"";
        const char *ts, *end;
        int64_t ns;
        char buf[64];

        logfile_append(f->fd, "stdout", "GET /index.html\n", 16);
        read_back(f);
        assert_int_equal(f->n, 1);
        assert_memory_equal(f->line[0], prefix, strlen(prefix));
        ts = f->line[0] + strlen(prefix);
        end = strchr(ts, '"');
        assert_non_null(end);
        assert_string_equal(end, "\"}");
        assert_true((size_t)(end - ts) < sizeof(buf));
        memcpy(buf, ts, (size_t)(end - ts));
        buf[end - ts] = '\0';
        assert_int_equal(buf[strlen(buf) - 1], 'Z');
        assert_int_equal(buf[10], 'T');
        assert_int_equal(util_parse_time(buf, &ns), 0);
}

/* Characters JSON must escape survive the round trip. */
static void test_escapes_round_trip(void **state)
{
        struct log_file *f = *state;
        static const char data[] = "say \"hi\"\t\\ caf\xc3\xa9 \x01<&>\n";

        logfile_append(f->fd, "stdout", data, strlen(data));
        read_back(f);
        assert_int_equal(f->n, 1);
        assert_null(strchr(f->line[0], '\t'));
        assert_null(strchr(f->line[0], '\x01'));
        check_entry(f, 0, "stdout", data, 0, INT64_MAX - 1000);
}

/* A NUL byte in the output must not cut the rest of the line off: Docker writes it as \u0000. */
static void test_nul_byte_kept(void **state)
{
        struct log_file *f = *state;
        static const char data[] = "a\0b\n";

        logfile_append(f->fd, "stdout", data, 4);
        read_back(f);
        assert_int_equal(f->n, 1);
        assert_non_null(strstr(f->line[0], "\"log\":\"a\\u0000b\\n\""));
}

static void test_parse_docker_line(void **state)
{
        static const char line[] = "{\"log\":\"hello\\n\",\"stream\":\"stderr\","
                                   "\"time\":\"2024-01-02T03:04:05.123456789Z\"}";
        static const char line2[] = "{\"time\":\"2015-03-04T05:06:07Z\",\"stream\":\"stdout\","
                                    "\"log\":\"x\"}";
        struct logfile_entry e;
        void *owner = NULL;

        (void)state;
        assert_int_equal(logfile_parse_line(line, &e, &owner), 0);
        assert_string_equal(e.stream, "stderr");
        assert_string_equal(e.log, "hello\n");
        assert_int_equal(e.len, 6);
        assert_int_equal(e.time_ns, 1704164645LL * 1000000000LL + 123456789LL);
        jv_put(owner);

        owner = NULL;
        assert_int_equal(logfile_parse_line(line2, &e, &owner), 0);
        assert_string_equal(e.stream, "stdout");
        assert_string_equal(e.log, "x");
        assert_int_equal(e.len, 1);
        assert_int_equal(e.time_ns, 1425445567LL * 1000000000LL);
        jv_put(owner);
}

static void test_parse_rejects_garbage(void **state)
{
        static const char *const bad[] = {
                "",
                "not json",
                "{",
                "{}",
                "[1,2,3]",
                "\"log\"",
                "{\"log\":\"x\"}",
                "{\"stream\":\"stdout\"}",
                "{\"log\":1,\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}",
                "{\"log\":\"x\",\"stream\":null,\"time\":\"2024-01-02T03:04:05Z\"}",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"yesterday\"}",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-13-02T03:04:05Z\"}",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"} junk",
                "{\"log\":\"x\",\"stream\":\"stdout\",\"tim",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct logfile_entry e = {.len = 77};
                void *owner = (void *)&e;
                assert_int_equal(logfile_parse_line(bad[i], &e, &owner), -EINVAL);
                /* Nothing is handed out on failure. */
                assert_ptr_equal(owner, (void *)&e);
                assert_int_equal(e.len, 77);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_split_at_newlines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_partial_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_length_respected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_fd_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_docker_line_shape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escapes_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte_kept, setup, teardown),
                cmocka_unit_test(test_parse_docker_line),
                cmocka_unit_test(test_parse_rejects_garbage),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
