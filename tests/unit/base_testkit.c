/* test_fork(): a child that crashes or fails an assertion dies; it never runs on inside
 * cmocka's runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/testkit.h"

/* How the child ended: 128 + signal, or its exit status. */
static int child_end(void (*fn)(void))
{
        int status;
        pid_t pid = test_fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                fn();
                /* Reached only if fn returned, e.g. through a longjmp into a runner. */
                _exit(99);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void crash(void)
{
        raise(SIGSEGV);
}

static void fail_assertion(void)
{
        assert_int_equal(1, 2);
}

static void bad_instruction(void)
{
        raise(SIGILL);
}

static void test_child_crash_kills_the_child(void **state)
{
        (void)state;
        assert_int_equal(child_end(crash), 128 + SIGSEGV);
        assert_int_equal(child_end(bad_instruction), 128 + SIGILL);
}

static void test_child_assertion_aborts_the_child(void **state)
{
        (void)state;
        assert_int_equal(child_end(fail_assertion), 128 + SIGABRT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_child_crash_kills_the_child),
                cmocka_unit_test(test_child_assertion_aborts_the_child),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
