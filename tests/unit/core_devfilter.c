/* The eBPF device filter's builder (core/devfilter.c): rules parsed as the v1 devices
 * controller takes them, one block per rule, last rule first. Loading it is the integration
 * test's (68-oci-runtime.bats). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/devfilter.h"

static void test_build(void **state)
{
        char *deny_all[] = {NULL};
        char *rules[] = {"c *:* m", "c 1:3 rwm", "deny c 1:3 w", "a", NULL};
        struct bpf_insn *p = NULL;
        size_t n = 0;

        (void)state;
        /* No rule: the loads and "deny". */
        assert_int_equal(devfilter_build(deny_all, &p, &n), 0);
        assert_int_equal(n, 8);
        assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
        assert_int_equal(p[n - 2].imm, 0);
        free(p);
        assert_int_equal(devfilter_build(rules, &p, &n), 0);
        /* "a" (last, so first): no test but the access, then returns allow. */
        assert_int_equal(p[6].code, BPF_ALU64 | BPF_MOV | BPF_X);
        assert_int_equal(p[9].imm, 1);
        /* "deny c 1:3 w" next: type, major, minor, then the access test returning deny. */
        assert_int_equal(p[11].code, BPF_JMP | BPF_JNE | BPF_K);
        assert_int_equal(p[11].imm, BPF_DEVCG_DEV_CHAR);
        assert_int_equal(p[11].off, 7); /* past its block of 8 */
        assert_int_equal(p[12].imm, 1);
        assert_int_equal(p[13].imm, 3);
        assert_int_equal(p[15].imm, BPF_DEVCG_ACC_WRITE);
        assert_int_equal(p[16].code, BPF_JMP | BPF_JEQ | BPF_K);
        assert_int_equal(p[17].imm, 0);
        /* 6 loads, a: 5, deny c 1:3 w: 8, c 1:3 rwm: 8, c *:* m: 6, the final 2. */
        assert_int_equal(n, 6 + 5 + 8 + 8 + 6 + 2);
        free(p);
}

static void test_bad_rules(void **state)
{
        char *bad[][2] = {{"x 1:3 rwm", NULL},
                          {"c 1:3 rwq", NULL},
                          {"c 1 rwm", NULL},
                          {"c -1:3 rwm", NULL},
                          {"c 1:3", NULL}};
        struct bpf_insn *p = NULL;
        size_t n = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(devfilter_build(bad[i], &p, &n), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_bad_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
