/* The event journal (core/events.h): one whole JSON line per event, parsed back; the size
 * bound (rotation to events.log.1); concurrent writers in several processes, across a
 * rotation, never losing or cutting a line. No root: a private --root under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
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
#include "core/base/util.h"
#include "core/events.h"
#include "testkit.h"

/* One private root for the file; each test starts without a journal. */
static char root[64];
static struct cli cli_of_tests;

static int group_setup(void **state)
{
        (void)state;
        snprintf(root, sizeof(root), "/tmp/hawser-events-XXXXXX");
        if (!mkdtemp(root))
                return -1;
        cli_of_tests = (struct cli){.root = root, .runroot = root};
        return 0;
}

static int group_teardown(void **state)
{
        struct err e = {0};

        (void)state;
        return fs_rm_rf(root, &e) < 0 ? -1 : 0;
}

static int no_journal(void **state)
{
        _cleanup_free_ char *dir = events_dir(&cli_of_tests);
        struct err e = {0};

        *state = &cli_of_tests;
        return dir && fs_rm_rf(dir, &e) >= 0 ? 0 : -1;
}

/* The journal's lines that are events (count), and whether every line is one. */
static size_t count_events(const struct cli *cli, int generation, const char *action,
                           bool *all_events)
{
        _cleanup_free_ char *path = events_path(cli, generation), *text = NULL;
        struct err e = {0};
        size_t n = 0;

        if (fs_read_file(path, &text, NULL, &e) < 0)
                return 0;
        for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                struct jv *ev = NULL;
                int64_t ns;
                *nl = '\0';
                if (events_parse_line(line, &ev, &ns) < 0) {
                        *all_events = false;
                        continue;
                }
                n += !strcmp(jv_get_str(ev, "Action"), action);
                jv_put(ev);
        }
        return n;
}

static void test_line(void **state)
{
        const struct cli *cli = *state;
        _cleanup_free_ char *path = events_path(cli, 0), *text = NULL;
        struct jv *ev = NULL;
        struct err e = {0};
        int64_t before = util_now_ns(), ns = 0;
        size_t len = 0;

        events_logv(cli, "volume", "create", "v1", "driver", "local", "skipped", NULL, "x",
                    "a\"b\n", NULL);
        assert_int_equal(fs_read_file(path, &text, &len, &e), 0);
        assert_true(len > 0 && text[len - 1] == '\n' && strchr(text, '\n') == text + len - 1);
        text[len - 1] = '\0';
        assert_int_equal(events_parse_line(text, &ev, &ns), 0);
        assert_true(ns >= before && ns <= util_now_ns());
        assert_string_equal(jv_get_str(ev, "Type"), "volume");
        assert_string_equal(jv_get_str(ev, "Action"), "create");
        assert_string_equal(jv_get_str(ev, "scope"), "local");
        assert_int_equal(jv_get_int(ev, "time", 0), ns / 1000000000);
        assert_string_equal(jv_str(jv_path(ev, "Actor.ID")), "v1");
        assert_string_equal(jv_str(jv_path(ev, "Actor.Attributes.driver")), "local");
        assert_string_equal(jv_str(jv_path(ev, "Actor.Attributes.x")), "a\"b\n");
        assert_null(jv_path(ev, "Actor.Attributes.skipped"));
        jv_put(ev);
        /* Not events: a cut line, another JSON value, one without its fields. */
        assert_int_equal(events_parse_line("{\"Type\":\"container\",\"Act", &ev, &ns), -EINVAL);
        assert_int_equal(events_parse_line("[1]", &ev, &ns), -EINVAL);
        assert_int_equal(events_parse_line("{\"Type\":\"x\",\"Action\":\"y\"}", &ev, &ns), -EINVAL);
}

/* Fills the journal with filler events up to near bytes. */
static void fill(const struct cli *cli, size_t bytes)
{
        _cleanup_free_ char *dir = events_dir(cli), *path = events_path(cli, 0);
        static const char line[] =
                "{\"Type\":\"container\",\"Action\":\"filler\",\"Actor\":{\"ID\":"
                "\"f\",\"Attributes\":{}},\"scope\":\"local\",\"time\":1,"
                "\"timeNano\":1000000000}\n";
        FILE *out;
        struct stat st;
        size_t have;

        mkdir(dir, 0700);
        have = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
        out = fopen(path, "a");
        assert_non_null(out);
        for (; have + sizeof(line) - 1 <= bytes; have += sizeof(line) - 1)
                fputs(line, out);
        fclose(out);
}

static void test_rotation(void **state)
{
        const struct cli *cli = *state;
        _cleanup_free_ char *path = events_path(cli, 0), *prev = events_path(cli, 1);
        bool whole = true;
        struct stat st;

        fill(cli, EVENTS_MAX_BYTES - 10);
        events_logv(cli, "container", "first", "c", NULL);
        assert_int_equal(stat(prev, &st), 0);
        assert_true(st.st_size <= EVENTS_MAX_BYTES && st.st_size > EVENTS_MAX_BYTES / 2);
        assert_int_equal(count_events(cli, 0, "first", &whole), 1);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size < 1024);
        /* The second rotation replaces the first previous file. */
        fill(cli, EVENTS_MAX_BYTES - 10);
        events_logv(cli, "container", "second", "c", NULL);
        assert_int_equal(count_events(cli, 1, "first", &whole), 1);
        assert_int_equal(count_events(cli, 0, "second", &whole), 1);
        assert_true(whole);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size < 1024);
}

#define WRITERS 8
#define EACH    300

/* Writers in processes of their own, the journal near its bound so that they rotate it
 * while they write: every event lands whole, once, in one of the two files. */
static void test_concurrent(void **state)
{
        const struct cli *cli = *state;
        bool whole = true;
        pid_t pids[WRITERS];
        int status;

        fill(cli, EVENTS_MAX_BYTES - 20000);
        for (int w = 0; w < WRITERS; w++) {
                pids[w] = test_fork();
                assert_true(pids[w] >= 0);
                if (pids[w] == 0) {
                        char id[16];
                        snprintf(id, sizeof(id), "w%d", w);
                        for (int i = 0; i < EACH; i++)
                                events_logv(cli, "container", "par", id, "padding",
                                            "................................................",
                                            NULL);
                        _exit(0);
                }
        }
        for (int w = 0; w < WRITERS; w++) {
                assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        assert_int_equal(count_events(cli, 0, "par", &whole) + count_events(cli, 1, "par", &whole),
                         WRITERS * EACH);
        assert_true(whole);
}

/* A journal that cannot be written: the event is dropped, nothing fails. */
static void test_dropped(void **state)
{
        const struct cli *cli = *state;
        _cleanup_free_ char *path = events_path(cli, 0), *dir = events_dir(cli);

        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(mkdir(path, 0700), 0);
        events_logv(cli, "container", "lost", "c", NULL);
        assert_int_equal(rmdir(path), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_line, no_journal),
                cmocka_unit_test_setup(test_rotation, no_journal),
                cmocka_unit_test_setup(test_concurrent, no_journal),
                cmocka_unit_test_setup(test_dropped, no_journal),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
