/* What every unit test layer may use: header only, since each test links only its own
 * layer's archives. */
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* cmocka prints a failed assertion's message without a newline; end the line before the
 * child dies, so the parent's next line (its summary, which tests/run.sh reads) starts a
 * line of its own. */
static inline void test_child_abort(int sig)
{
        (void)!write(STDERR_FILENO, "\n", 1);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* fork() for tests; every unit test forks through this (make check-tests greps for bare
 * fork()). cmocka catches SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGSYS and answers them, as it
 * answers a failed assertion, with a longjmp back into its runner. In a forked child that
 * runner would go on with the rest of the suite a second time, forking more children of its
 * own. Here the child dies of the signal instead, and a failed assertion in the child aborts
 * it (cmocka's CMOCKA_TEST_ABORT), so a crash in a child is one failed check in its parent. */
static inline pid_t test_fork(void)
{
        static const int fatal[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGSYS};
        pid_t pid = fork();

        if (pid == 0) {
                for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
                        signal(fatal[i], SIG_DFL);
                signal(SIGABRT, test_child_abort);
                setenv("CMOCKA_TEST_ABORT", "1", 1);
        }
        return pid;
}
