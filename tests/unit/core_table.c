#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/table.h"

/* Prints t into a string (malloc'd). */
static char *render(struct table *t)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        assert_int_equal(table_print(t, f), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

/* Adds each row and compares the printed table. */
static void check_rows(const char *const *rows, const char *want)
{
        _cleanup_table_ struct table *t = table_new();
        _cleanup_free_ char *out = NULL;

        assert_non_null(t);
        for (; *rows; rows++)
                assert_int_equal(table_add_row(t, *rows), 0);
        out = render(t);
        if (strcmp(out, want) != 0)
                fail_msg("got:\n%s\nwant:\n%s", out, want);
}

static void test_docker_ps(void **state)
{
        static const char *const rows[] = {"CONTAINER ID\tIMAGE\tNAMES", "abc123\tbusybox\tweb",
                                           "def\tnginx:latest\tdb", NULL};

        (void)state;
        check_rows(rows, "CONTAINER ID   IMAGE          NAMES\n"
                         "abc123         busybox        web\n"
                         "def            nginx:latest   db\n");
}

static void test_minwidth(void **state)
{
        static const char *const rows[] = {"a\tb", "cc\td", NULL};

        (void)state;
        /* 2 + padding 3 = 5 is below minwidth 10. */
        check_rows(rows, "a         b\n"
                         "cc        d\n");
}

static void test_single_cell_breaks_block(void **state)
{
        static const char *const rows[] = {"a\tb\tc", "aaaaaaaaaa\tb", "x", "yy\tz", NULL};

        (void)state;
        /* Column 0 is 10 + 3 wide over the first two lines only. */
        check_rows(rows, "a            b         c\n"
                         "aaaaaaaaaa   b\n"
                         "x\n"
                         "yy        z\n");
}

static void test_short_line_ends_later_columns(void **state)
{
        static const char *const rows[] = {"a\tb\tlongcellhere1\tend", "a\tb", "a\tb\tc\tend",
                                           NULL};

        (void)state;
        /* Column 0 spans all lines; column 2 forms two blocks split by the short line. */
        check_rows(rows, "a         b         longcellhere1   end\n"
                         "a         b\n"
                         "a         b         c         end\n");
}

static void test_utf8_width(void **state)
{
        static const char *const rows[] = {"ñandú\tx", "日本語テキストです\ty", "ab\tz", NULL};
        static const char *const invalid[] = {"\xff\xfe\x80\tx", "abcdefghij\ty", NULL};

        (void)state;
        /* Widths count runes: 9 + 3 = 12 columns. */
        check_rows(rows, "ñandú       x\n"
                         "日本語テキストです   y\n"
                         "ab          z\n");
        /* Each invalid byte counts as one rune, like Go's utf8.RuneCount. */
        check_rows(invalid, "\xff\xfe\x80          x\n"
                            "abcdefghij   y\n");
}

static void test_empty_and_trailing_cells(void **state)
{
        static const char *const rows[] = {"\tb", "a\t", "", "no tabs at all", NULL};

        (void)state;
        check_rows(rows, "          b\n"
                         "a         \n"
                         "\n"
                         "no tabs at all\n");
}

static void test_newlines_in_row(void **state)
{
        static const char *const rows[] = {"a\tb\nccc\td\n", "\n", "e\tf", NULL};

        (void)state;
        check_rows(rows, "a         b\n"
                         "ccc       d\n"
                         "\n"
                         "e         f\n");
}

static void test_print_twice_and_empty(void **state)
{
        _cleanup_table_ struct table *t = table_new();
        _cleanup_free_ char *empty = NULL, *a = NULL, *b = NULL;

        (void)state;
        assert_non_null(t);
        empty = render(t);
        assert_string_equal(empty, "");
        assert_int_equal(table_add_row(t, "NAME\tSIZE"), 0);
        assert_int_equal(table_add_row(t, "alpine\t7.8MB"), 0);
        a = render(t);
        b = render(t);
        assert_string_equal(a, "NAME      SIZE\nalpine    7.8MB\n");
        assert_string_equal(a, b);
        table_free(NULL);
}

static void test_write_error(void **state)
{
        _cleanup_table_ struct table *t = table_new();
        _cleanup_fclose_ FILE *ro = fopen("/dev/null", "r");

        (void)state;
        assert_non_null(t);
        assert_non_null(ro);
        assert_int_equal(table_add_row(t, "a\tb"), 0);
        assert_int_equal(table_print(t, ro), -EIO);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_docker_ps),
                cmocka_unit_test(test_minwidth),
                cmocka_unit_test(test_single_cell_breaks_block),
                cmocka_unit_test(test_short_line_ends_later_columns),
                cmocka_unit_test(test_utf8_width),
                cmocka_unit_test(test_empty_and_trailing_cells),
                cmocka_unit_test(test_newlines_in_row),
                cmocka_unit_test(test_print_twice_and_empty),
                cmocka_unit_test(test_write_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
