/* --security-opt parsing and the default syscall filter, loaded in forked children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/secprof.h"

static int parse(const char *json, struct secprof *p, struct err *err)
{
        struct jv *v = NULL;
        int r;

        assert_int_equal(jv_parse(json, &v, err), 0);
        r = secprof_parse(v, p, err);
        jv_put(v);
        return r;
}

static void test_parse_defaults_and_forms(void **state)
{
        struct secprof p;
        struct err err = {0};

        (void)state;
        assert_int_equal(secprof_parse(NULL, &p, &err), 0);
        assert_true(p.seccomp && p.no_new_privs);
        assert_int_equal(parse("[\"seccomp=unconfined\"]", &p, &err), 0);
        assert_false(p.seccomp);
        assert_true(p.no_new_privs);
        assert_int_equal(parse("[\"no-new-privileges=false\"]", &p, &err), 0);
        assert_false(p.no_new_privs);
        assert_int_equal(parse("[\"no-new-privileges:false\",\"no-new-privileges\"]", &p, &err), 0);
        assert_true(p.no_new_privs);
        assert_int_equal(parse("[\"apparmor=unconfined\",\"label=disable\"]", &p, &err), 0);
        assert_true(p.seccomp);
}

static void test_parse_refusals(void **state)
{
        struct secprof p;
        struct err err = {0};

        (void)state;
        assert_int_equal(parse("[\"label=x\",\"no-new-privileges=maybe\"]", &p, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid --security-opt 2: \"no-new-privileges=maybe\"");
        assert_int_equal(parse("[\"seccomp={}\"]", &p, &err), -ENOTSUP);
        assert_int_equal(secprof_check_opt("foo", &err), -EINVAL);
        assert_string_equal(err.msg, "Invalid --security-opt: \"foo\"");
        assert_int_equal(secprof_check_opt("bogus=1", &err), -EINVAL);
        assert_int_equal(secprof_check_opt("no-new-privileges", &err), 0);
        assert_int_equal(secprof_check_opt("seccomp:unconfined", &err), 0);
}

/* Loads the filter with caps in a child, then runs fn; the child's exit status is fn's
 * errno (0 on success). */
static int in_filtered_child(uint64_t caps, int (*fn)(void))
{
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct err err = {0};

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || secprof_load(caps, &err) < 0)
                        _exit(200);
                _exit(fn() < 0 ? errno : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int do_unshare(void)
{
        return unshare(CLONE_NEWUTS);
}

static int do_keyctl(void)
{
        return (int)syscall(SYS_keyctl, 0, 0, 0, 0, 0);
}

static int do_clone3(void)
{
        return (int)syscall(SYS_clone3, NULL, 0);
}

static int do_getpid(void)
{
        return getpid() > 0 ? 0 : -1;
}

/* 32-bit entry point: int $0x80 with i386's getpid (20) must still work, and its
 * unshare (310) must be filtered too. */
static int do_unshare_i386(void)
{
        long r;

        __asm__ volatile("int $0x80" : "=a"(r) : "a"(310), "b"((long)CLONE_NEWUTS) : "memory");
        if (r < 0) {
                errno = (int)-r;
                return -1;
        }
        return 0;
}

static void test_filter_blocks_and_allows(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        assert_int_equal(in_filtered_child(0, do_unshare), EPERM);
        assert_int_equal(in_filtered_child(0, do_keyctl), EPERM);
        assert_int_equal(in_filtered_child(0, do_clone3), ENOSYS);
        assert_int_equal(in_filtered_child(0, do_getpid), 0);
        /* CAP_SYS_ADMIN reopens namespaces; keyrings stay closed whatever the caps. */
        assert_int_equal(in_filtered_child(1ULL << CAP_SYS_ADMIN, do_unshare), 0);
        assert_int_equal(in_filtered_child(1ULL << CAP_SYS_ADMIN, do_keyctl), EPERM);
        assert_int_equal(in_filtered_child(0, do_unshare_i386), EPERM);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_defaults_and_forms),
                cmocka_unit_test(test_parse_refusals),
                cmocka_unit_test(test_filter_blocks_and_allows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
