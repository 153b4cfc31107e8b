#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "tests/unit/testkit.h"

/* A path of depth components "d" ending in "f": 2 * depth + 1 bytes. */
static char *deep_path(int depth)
{
        char *p = malloc((size_t)depth * 2 + 2), *q = p;

        assert_non_null(p);
        for (int i = 0; i < depth; i++)
                *q++ = 'd', *q++ = '/';
        *q++ = 'f';
        *q = '\0';
        return p;
}

static bool ends_with(const char *s, const char *tail)
{
        size_t n = strlen(s), m = strlen(tail);

        return n >= m && !strcmp(s + n - m, tail);
}

static void test_short_messages_unchanged(void **state)
{
        struct err e = {0};

        (void)state;
        assert_int_equal(err_set(&e, -EINVAL, "bad %s", "thing"), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "bad thing");
        errno = ENOENT;
        assert_int_equal(err_errno(&e, "opening %s", "/x"), -ENOENT);
        assert_string_equal(e.msg, "opening /x: No such file or directory");
        assert_int_equal(err_wrap(&e, "loading"), -ENOENT);
        assert_string_equal(e.msg, "loading: opening /x: No such file or directory");
}

/* A path longer than the message is cut in its middle; what was done and why it failed
 * both stay. */
static void test_long_path_keeps_reason(void **state)
{
        char *p = deep_path(3000);
        struct err e = {0};

        (void)state;
        errno = ENAMETOOLONG;
        err_errno(&e, "entry %s: creating directory", p);
        assert_true(strlen(e.msg) < ERR_MSG_MAX);
        assert_true(!strncmp(e.msg, "entry d/d/d/", 12));
        assert_non_null(strstr(e.msg, "\xe2\x80\xa6"));
        assert_true(ends_with(e.msg, "d/d/f: creating directory: File name too long"));
        /* Wrapped again, with a second long word: still both ends. */
        err_wrap(&e, "importing %s", p);
        assert_true(strlen(e.msg) < ERR_MSG_MAX);
        assert_true(!strncmp(e.msg, "importing d/d/", 14));
        assert_true(ends_with(e.msg, ": creating directory: File name too long"));
        free(p);
}

/* No word long enough to cut: the message is truncated as before, never overrun. */
static void test_many_short_words(void **state)
{
        char buf[4000];
        struct err e = {0};

        (void)state;
        for (size_t i = 0; i + 2 < sizeof(buf); i += 2)
                buf[i] = 'a', buf[i + 1] = ' ';
        buf[sizeof(buf) - 2] = '\0';
        err_set(&e, -EIO, "%s", buf);
        assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
}

/* A positive code is a caller's mistake (the returns are negative errnos): it aborts. */
static void test_positive_code_aborts(void **state)
{
        pid_t pid;
        int status;

        (void)state;
        pid = test_fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct err e = {0};
                signal(SIGABRT, SIG_DFL);
                err_set(&e, EINVAL, "positive");
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_short_messages_unchanged),
                cmocka_unit_test(test_long_path_keeps_reason),
                cmocka_unit_test(test_many_short_words),
                cmocka_unit_test(test_positive_code_aborts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
