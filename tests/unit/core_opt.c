#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/util.h"
#include "core/opt.h"

struct t_opts {
        bool rm, interactive, tty, detach;
        char *name, *user;
        char **env;
        long long count;
};

#define TO(f) offsetof(struct t_opts, f)
static const struct opt_def defs[] = {
        {"rm", 0, OPT_BOOL, TO(rm)},
        {"interactive", 'i', OPT_BOOL, TO(interactive)},
        {"tty", 't', OPT_BOOL, TO(tty)},
        {"detach", 'd', OPT_BOOL, TO(detach)},
        {"name", 0, OPT_STR, TO(name)},
        {"user", 'u', OPT_STR, TO(user)},
        {"env", 'e', OPT_LIST, TO(env)},
        {"count", 'n', OPT_INT, TO(count)},
        OPT_END,
};

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* Runs opt_parse on a fresh target; argv is reordered in place, so each test owns its array. */
static int parse(char **argv, int argc, bool stop, struct t_opts *o, struct err *err)
{
        memset(o, 0, sizeof(*o));
        memset(err, 0, sizeof(*err));
        return opt_parse(defs, argc, argv, stop, o, err);
}

static void test_parse_bool(void **state)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
        bool b;

        (void)state;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                b = false;
                assert_int_equal(opt_parse_bool(yes[i], &b), 0);
                assert_true(b);
                b = true;
                assert_int_equal(opt_parse_bool(no[i], &b), 0);
                assert_false(b);
        }
        b = true;
        assert_int_equal(opt_parse_bool("yes", &b), -EINVAL);
        assert_int_equal(opt_parse_bool("", &b), -EINVAL);
        assert_int_equal(opt_parse_bool("tRuE", &b), -EINVAL);
        assert_int_equal(opt_parse_bool("2", &b), -EINVAL);
        assert_true(b);
}

static void test_long_bools(void **state)
{
        char *a1[] = {"--rm", "--interactive", NULL};
        char *a2[] = {"--rm=false", "--tty=true", "--detach=1", "--interactive=0", NULL};
        char *a3[] = {"--rm", "--rm=false", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 0);
        assert_true(o.rm);
        assert_true(o.interactive);
        assert_false(o.tty);
        assert_false(o.detach);

        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), 0);
        assert_false(o.rm);
        assert_true(o.tty);
        assert_true(o.detach);
        assert_false(o.interactive);

        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);
        assert_false(o.rm);
}

/* pflag never lets a bool consume the next argument: "--rm false" is a flag and a positional. */
static void test_bool_does_not_take_next_arg(void **state)
{
        char *a[] = {"--rm", "false", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), 1);
        assert_true(o.rm);
        assert_string_equal(a[0], "false");
}

static void test_short_grouping(void **state)
{
        char *a1[] = {"-itd", NULL};
        char *a2[] = {"-i", "-t", NULL};
        char *a3[] = {"-it=false", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 0);
        assert_true(o.interactive);
        assert_true(o.tty);
        assert_true(o.detach);
        assert_false(o.rm);

        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), 0);
        assert_true(o.interactive);
        assert_true(o.tty);
        assert_false(o.detach);

        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);
        assert_true(o.interactive);
        assert_false(o.tty);
}

static void test_string_forms(void **state)
{
        char *a1[] = {"--name=web", NULL};
        char *a2[] = {"--name", "web", NULL};
        char *a3[] = {"--name", "a", "--name=b", NULL};
        char *a4[] = {"-u", "1000", NULL};
        char *a5[] = {"-u1000:50", NULL};
        char *a6[] = {"-u=nobody", NULL};
        char *a7[] = {"--name=", NULL};
        char *a8[] = {"--name", "-x", NULL};
        char *a9[] = {"--name=a=b", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 0);
        assert_string_equal(o.name, "web");
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), 0);
        assert_string_equal(o.name, "web");
        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);
        assert_string_equal(o.name, "b");
        assert_int_equal(parse(a4, ARGC(a4), false, &o, &e), 0);
        assert_string_equal(o.user, "1000");
        assert_int_equal(parse(a5, ARGC(a5), false, &o, &e), 0);
        assert_string_equal(o.user, "1000:50");
        assert_int_equal(parse(a6, ARGC(a6), false, &o, &e), 0);
        assert_string_equal(o.user, "nobody");
        assert_int_equal(parse(a7, ARGC(a7), false, &o, &e), 0);
        assert_non_null(o.name);
        assert_string_equal(o.name, "");
        /* A value flag takes the next word even when it looks like a flag, as pflag does. */
        assert_int_equal(parse(a8, ARGC(a8), false, &o, &e), 0);
        assert_string_equal(o.name, "-x");
        assert_int_equal(parse(a9, ARGC(a9), false, &o, &e), 0);
        assert_string_equal(o.name, "a=b");
}

static void test_list_forms(void **state)
{
        char *a[] = {"-e", "A=1", "-eB=2", "--env", "C=3", "--env=D=4", "-e=E=5", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), 0);
        assert_non_null(o.env);
        assert_int_equal(util_strv_len(o.env), 5);
        assert_string_equal(o.env[0], "A=1");
        assert_string_equal(o.env[1], "B=2");
        assert_string_equal(o.env[2], "C=3");
        assert_string_equal(o.env[3], "D=4");
        assert_string_equal(o.env[4], "E=5");
        assert_null(o.env[5]);
        opt_free_lists(defs, &o);
        assert_null(o.env);
        /* Freeing again (and with no list set) is harmless. */
        opt_free_lists(defs, &o);
        assert_null(o.env);
}

/* Bools grouped before a value flag: the value flag takes the rest of the word or the next arg. */
static void test_group_then_value(void **state)
{
        char *a1[] = {"-ite", "FOO=1", "img", NULL};
        char *a2[] = {"-itFOO", NULL};
        char *a3[] = {"-ieX=1", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 1);
        assert_true(o.interactive);
        assert_true(o.tty);
        assert_int_equal(util_strv_len(o.env), 1);
        assert_string_equal(o.env[0], "FOO=1");
        assert_string_equal(a1[0], "img");
        opt_free_lists(defs, &o);

        /* 'F' is not a flag, but t is a bool: the unknown 'F' is reported. */
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), -EINVAL);

        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);
        assert_true(o.interactive);
        assert_int_equal(util_strv_len(o.env), 1);
        assert_string_equal(o.env[0], "X=1");
        opt_free_lists(defs, &o);
}

static void test_int(void **state)
{
        char *a1[] = {"--count=5", NULL};
        char *a2[] = {"-n", "-7", NULL};
        char *a3[] = {"-n42", NULL};
        char *a4[] = {"--count", "abc", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 0);
        assert_int_equal(o.count, 5);
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), 0);
        assert_int_equal(o.count, -7);
        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);
        assert_int_equal(o.count, 42);
        assert_int_equal(parse(a4, ARGC(a4), false, &o, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_non_null(strstr(e.msg, "invalid argument \"abc\""));
        assert_non_null(strstr(e.msg, "strconv.ParseInt: parsing \"abc\": invalid syntax"));
}

/* Interspersed parsing: positionals move to the front in order, flags anywhere. */
static void test_positional_reordering(void **state)
{
        char *a[] = {"a", "--rm", "b", "-e", "X=1", "c", "-t", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), 3);
        assert_string_equal(a[0], "a");
        assert_string_equal(a[1], "b");
        assert_string_equal(a[2], "c");
        assert_null(a[3]);
        assert_true(o.rm);
        assert_true(o.tty);
        assert_int_equal(util_strv_len(o.env), 1);
        assert_string_equal(o.env[0], "X=1");
        opt_free_lists(defs, &o);
}

static void test_dash_and_empty_are_positional(void **state)
{
        char *a[] = {"-", "--rm", "", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), 2);
        assert_string_equal(a[0], "-");
        assert_string_equal(a[1], "");
        assert_true(o.rm);
}

static void test_stop_at_positional(void **state)
{
        char *a[] = {"--rm", "-it", "busybox", "--name", "x", "sh", "-c", "echo hi", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), true, &o, &e), 6);
        assert_true(o.rm);
        assert_true(o.interactive);
        assert_true(o.tty);
        assert_null(o.name);
        assert_string_equal(a[0], "busybox");
        assert_string_equal(a[1], "--name");
        assert_string_equal(a[2], "x");
        assert_string_equal(a[3], "sh");
        assert_string_equal(a[4], "-c");
        assert_string_equal(a[5], "echo hi");
        assert_null(a[6]);
}

/* An unknown flag after the first positional is not an error with stop_at_positional. */
static void test_stop_at_positional_ignores_later_junk(void **state)
{
        char *a[] = {"img", "--bogus", "-z", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), true, &o, &e), 3);
        assert_string_equal(a[0], "img");
        assert_string_equal(a[1], "--bogus");
        assert_string_equal(a[2], "-z");
        assert_int_equal(e.code, 0);
}

static void test_double_dash(void **state)
{
        char *a1[] = {"--rm", "--", "--name", "x", "-it", NULL};
        char *a2[] = {"p", "--", "--rm", NULL};
        char *a3[] = {"--", NULL};
        char *a4[] = {"-t", "--", "--", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), 3);
        assert_true(o.rm);
        assert_null(o.name);
        assert_false(o.interactive);
        assert_string_equal(a1[0], "--name");
        assert_string_equal(a1[1], "x");
        assert_string_equal(a1[2], "-it");
        assert_null(a1[3]);

        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), 2);
        assert_false(o.rm);
        assert_string_equal(a2[0], "p");
        assert_string_equal(a2[1], "--rm");

        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), 0);

        assert_int_equal(parse(a4, ARGC(a4), true, &o, &e), 1);
        assert_true(o.tty);
        assert_string_equal(a4[0], "--");
}

static void test_unknown_long(void **state)
{
        char *a1[] = {"--bogus", NULL};
        char *a2[] = {"--rm", "--bogus=1", NULL};
        char *a3[] = {"--r", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "unknown flag: --bogus");
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "unknown flag: --bogus");
        /* No prefix matching. */
        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "unknown flag: --r");
}

static void test_unknown_short(void **state)
{
        char *a1[] = {"-z", NULL};
        char *a2[] = {"-zi", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "unknown shorthand flag: 'z' in -z");
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "unknown shorthand flag: 'z' in -zi");
}

/* pflag names the unparsed rest of the group ("in -%s", shorthands), not the whole word:
 * `docker run -iz` says "unknown shorthand flag: 'z' in -z". */
static void test_unknown_short_in_group(void **state)
{
        char *a[] = {"-iz", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "unknown shorthand flag: 'z' in -z");
}

static void test_needs_argument(void **state)
{
        char *a1[] = {"--name", NULL};
        char *a2[] = {"-e", NULL};
        char *a3[] = {"-ite", NULL};
        char *a4[] = {"--rm", "--env", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "flag needs an argument: --name");
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "flag needs an argument: 'e' in -e");
        assert_int_equal(parse(a3, ARGC(a3), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "flag needs an argument: 'e' in -e");
        assert_int_equal(parse(a4, ARGC(a4), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, "flag needs an argument: --env");
        opt_free_lists(defs, &o);
}

static void test_invalid_bool(void **state)
{
        char *a[] = {"--rm=maybe", NULL};
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a, ARGC(a), false, &o, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "invalid argument \"maybe\" for \"--rm\" flag: "
                                   "strconv.ParseBool: parsing \"maybe\": invalid syntax");
        assert_false(o.rm);
}

/* pflag's FlagSet.Set names a flag that has a shorthand as "-i, --interactive", whichever
 * spelling was used on the command line. */
static void test_invalid_bool_with_shorthand(void **state)
{
        char *a1[] = {"--interactive=maybe", NULL};
        char *a2[] = {"-i=maybe", NULL};
        const char *want = "invalid argument \"maybe\" for \"-i, --interactive\" flag: "
                           "strconv.ParseBool: parsing \"maybe\": invalid syntax";
        struct t_opts o;
        struct err e;

        (void)state;
        assert_int_equal(parse(a1, ARGC(a1), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, want);
        assert_int_equal(parse(a2, ARGC(a2), false, &o, &e), -EINVAL);
        assert_string_equal(e.msg, want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_bool),
                cmocka_unit_test(test_long_bools),
                cmocka_unit_test(test_bool_does_not_take_next_arg),
                cmocka_unit_test(test_short_grouping),
                cmocka_unit_test(test_string_forms),
                cmocka_unit_test(test_list_forms),
                cmocka_unit_test(test_group_then_value),
                cmocka_unit_test(test_int),
                cmocka_unit_test(test_positional_reordering),
                cmocka_unit_test(test_dash_and_empty_are_positional),
                cmocka_unit_test(test_stop_at_positional),
                cmocka_unit_test(test_stop_at_positional_ignores_later_junk),
                cmocka_unit_test(test_double_dash),
                cmocka_unit_test(test_unknown_long),
                cmocka_unit_test(test_unknown_short),
                cmocka_unit_test(test_unknown_short_in_group),
                cmocka_unit_test(test_needs_argument),
                cmocka_unit_test(test_invalid_bool),
                cmocka_unit_test(test_invalid_bool_with_shorthand),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
