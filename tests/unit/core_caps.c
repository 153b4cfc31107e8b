#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>

#include <cmocka.h>

#include <linux/capability.h>

#include "core/caps.h"

#define BIT(c) (1ULL << (c))

static void test_from_name_forms(void **state)
{
        (void)state;
        assert_int_equal(caps_from_name("CHOWN"), CAP_CHOWN);
        assert_int_equal(caps_from_name("CAP_CHOWN"), CAP_CHOWN);
        assert_int_equal(caps_from_name("cap_chown"), CAP_CHOWN);
        assert_int_equal(caps_from_name("chown"), CAP_CHOWN);
        assert_int_equal(caps_from_name("NET_ADMIN"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("Cap_Net_Admin"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("net_admin"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("SYS_ADMIN"), CAP_SYS_ADMIN);
        assert_int_equal(caps_from_name("CAP_SYS_PTRACE"), CAP_SYS_PTRACE);
        assert_int_equal(caps_from_name("NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
        assert_int_equal(caps_from_name("AUDIT_WRITE"), CAP_AUDIT_WRITE);
        assert_int_equal(caps_from_name("SETFCAP"), CAP_SETFCAP);
}

static void test_from_name_rejects(void **state)
{
        char long_name[200];

        (void)state;
        memset(long_name, 'A', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(caps_from_name(""), -EINVAL);
        assert_int_equal(caps_from_name("CAP_"), -EINVAL);
        assert_int_equal(caps_from_name("0"), -EINVAL);
        assert_int_equal(caps_from_name("12"), -EINVAL);
        assert_int_equal(caps_from_name("CAP_12"), -EINVAL);
        assert_int_equal(caps_from_name("0x1"), -EINVAL);
        assert_int_equal(caps_from_name("NOT_A_CAP"), -EINVAL);
        assert_int_equal(caps_from_name("ALL"), -EINVAL);
        assert_int_equal(caps_from_name("CAP_CAP_CHOWN"), -EINVAL);
        assert_int_equal(caps_from_name(long_name), -EINVAL);
}

/* Docker accepts only whole capability names; libcap's cap_from_name stops at the first
 * character that is not a letter or '_' and ignores the rest, so these must be refused by
 * caps_from_name itself. */
static void test_from_name_rejects_trailing_junk(void **state)
{
        (void)state;
        assert_int_equal(caps_from_name("CHOWN123"), -EINVAL);
        assert_int_equal(caps_from_name("CHOWN!"), -EINVAL);
        assert_int_equal(caps_from_name("NET_ADMIN junk"), -EINVAL);
        assert_int_equal(caps_from_name("CHOWN,KILL"), -EINVAL);
        assert_int_equal(caps_from_name("chown=ep"), -EINVAL);
        assert_int_equal(caps_from_name("CAP_KILL "), -EINVAL);
}

static void test_default_set(void **state)
{
        static const int want[] = {
                CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                CAP_KILL,    CAP_AUDIT_WRITE,
        };
        uint64_t m = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                m |= BIT(want[i]);
        assert_int_equal(caps_default(), m);
        assert_int_equal(__builtin_popcountll(caps_default()), 14);
        assert_false(caps_default() & BIT(CAP_NET_ADMIN));
        assert_false(caps_default() & BIT(CAP_SYS_ADMIN));
}

static void test_all_set(void **state)
{
        uint64_t all = caps_all();

        (void)state;
        uint64_t bounding = 0;

        /* Exactly what our own bounding set holds (a container cannot get more). */
        for (int c = 0; c < 64; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        bounding |= BIT(c);
        assert_int_equal(all, bounding);
        assert_true(all & BIT(CAP_CHOWN));
        assert_int_equal(caps_default() & ~all, 0);
}

static int resolve(char **add, char **drop, uint64_t *ret, struct err *e)
{
        memset(e, 0, sizeof(*e));
        return caps_resolve(caps_default(), add, drop, ret, e);
}

static void test_resolve_no_change(void **state)
{
        uint64_t r = 0;
        struct err e;

        (void)state;
        assert_int_equal(resolve(NULL, NULL, &r, &e), 0);
        assert_int_equal(r, caps_default());
}

static void test_resolve_add_drop(void **state)
{
        char *add[] = {"NET_ADMIN", "cap_sys_ptrace", NULL};
        char *drop[] = {"CAP_CHOWN", "kill", NULL};
        uint64_t r = 0;
        struct err e;

        (void)state;
        assert_int_equal(resolve(add, NULL, &r, &e), 0);
        assert_int_equal(r, caps_default() | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE));

        assert_int_equal(resolve(NULL, drop, &r, &e), 0);
        assert_int_equal(r, caps_default() & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL)));

        assert_int_equal(resolve(add, drop, &r, &e), 0);
        assert_int_equal(r, (caps_default() | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE)) &
                                    ~(BIT(CAP_CHOWN) | BIT(CAP_KILL)));
}

/* Drops apply first, so a capability both added and dropped ends up added (as in Docker's
 * TweakCapabilities). */
static void test_resolve_add_wins_over_drop(void **state)
{
        char *add[] = {"NET_ADMIN", "CHOWN", NULL};
        char *drop[] = {"NET_ADMIN", "CHOWN", NULL};
        uint64_t r = 0;
        struct err e;

        (void)state;
        assert_int_equal(resolve(add, drop, &r, &e), 0);
        assert_int_equal(r, caps_default() | BIT(CAP_NET_ADMIN));
}

static void test_resolve_drop_all(void **state)
{
        char *drop_all[] = {"ALL", NULL};
        char *drop_all_lower[] = {"all", NULL};
        char *add[] = {"CHOWN", "NET_BIND_SERVICE", NULL};
        uint64_t r = 1;
        struct err e;

        (void)state;
        assert_int_equal(resolve(NULL, drop_all, &r, &e), 0);
        assert_int_equal(r, 0);
        assert_int_equal(resolve(add, drop_all_lower, &r, &e), 0);
        assert_int_equal(r, BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE));
}

static void test_resolve_add_all(void **state)
{
        char *add_all[] = {"ALL", NULL};
        char *drop_all[] = {"ALL", NULL};
        uint64_t r = 0;
        struct err e;

        (void)state;
        assert_int_equal(resolve(add_all, NULL, &r, &e), 0);
        assert_int_equal(r, caps_all());
        assert_int_equal(resolve(add_all, drop_all, &r, &e), 0);
        assert_int_equal(r, caps_all());
}

/* `--cap-add ALL --cap-drop NET_ADMIN`: Docker's TweakCapabilities gives every capability
 * except the dropped ones (the drop is not undone by ALL). */
static void test_resolve_add_all_minus_drop(void **state)
{
        char *add_all[] = {"ALL", NULL};
        char *drop[] = {"NET_ADMIN", "SYS_ADMIN", NULL};
        uint64_t r = 0;
        struct err e;

        (void)state;
        assert_int_equal(resolve(add_all, drop, &r, &e), 0);
        assert_int_equal(r, caps_all() & ~(BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN)));
}

static void test_resolve_invalid(void **state)
{
        char *bad_add[] = {"NET_ADMIN", "BOGUS", NULL};
        char *bad_drop[] = {"7", NULL};
        uint64_t r = 0x1234;
        struct err e;

        (void)state;
        assert_int_equal(resolve(bad_add, NULL, &r, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_non_null(strstr(e.msg, "BOGUS"));
        assert_int_equal(r, 0x1234);

        assert_int_equal(resolve(NULL, bad_drop, &r, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_non_null(strstr(e.msg, "7"));
        assert_int_equal(r, 0x1234);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_from_name_forms),
                cmocka_unit_test(test_from_name_rejects),
                cmocka_unit_test(test_from_name_rejects_trailing_junk),
                cmocka_unit_test(test_default_set),
                cmocka_unit_test(test_all_set),
                cmocka_unit_test(test_resolve_no_change),
                cmocka_unit_test(test_resolve_add_drop),
                cmocka_unit_test(test_resolve_add_wins_over_drop),
                cmocka_unit_test(test_resolve_drop_all),
                cmocka_unit_test(test_resolve_add_all),
                cmocka_unit_test(test_resolve_add_all_minus_drop),
                cmocka_unit_test(test_resolve_invalid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
