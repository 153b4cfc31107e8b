#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/build/internal.h"

static struct df_ignore *parse(const char *text)
{
        struct df_ignore *ig = NULL;
        struct err e = {0};

        if (df_ignore_parse(text, &ig, &e) < 0)
                fail_msg("parsing %s: %s", text, e.msg);
        return ig;
}

static void ignore_freep(struct df_ignore **ig)
{
        df_ignore_free(*ig);
}

#define _cleanup_ignore_ _cleanup_(ignore_freep)

/* Whether the .dockerignore text excludes path. */
static bool excluded(const char *text, const char *path)
{
        _cleanup_ignore_ struct df_ignore *ig = parse(text);

        return df_ignore_match(ig, path);
}

static void expect(const char *text, const char *path, bool want)
{
        if (excluded(text, path) != want)
                fail_msg("patterns %s, path %s: want %s", text, path,
                         want ? "excluded" : "included");
}

/* Parsing fails with -EINVAL and a message holding want. */
static void expect_error(const char *text, const char *want)
{
        struct df_ignore *ig = NULL;
        struct err e = {0};
        int r = df_ignore_parse(text, &ig, &e);

        if (r != -EINVAL)
                fail_msg("patterns %s: want -EINVAL, got %d", text, r);
        assert_null(ig);
        if (!strstr(e.msg, want))
                fail_msg("patterns %s: message \"%s\" lacks \"%s\"", text, e.msg, want);
}

struct match_case {
        const char *pattern, *path;
        bool match;
};

/* patternmatcher_test.go TestMatches (the Linux cases), through MatchesOrParentMatches. */
static const struct match_case pm_matches[] = {
        {"**", "file", true},
        {"**", "file/", true},
        {"**/", "file", true},
        {"**/", "file/", true},
        {"**", "/", true},
        {"**/", "/", true},
        {"**", "dir/file", true},
        {"**/", "dir/file", true},
        {"**", "dir/file/", true},
        {"**/", "dir/file/", true},
        {"**/**", "dir/file", true},
        {"**/**", "dir/file/", true},
        {"dir/**", "dir/file", true},
        {"dir/**", "dir/file/", true},
        {"dir/**", "dir/dir2/file", true},
        {"dir/**", "dir/dir2/file/", true},
        {"**/dir", "dir", true},
        {"**/dir", "dir/file", true},
        {"**/dir2/*", "dir/dir2/file", true},
        {"**/dir2/*", "dir/dir2/file/", true},
        {"**/dir2/**", "dir/dir2/dir3/file", true},
        {"**/dir2/**", "dir/dir2/dir3/file/", true},
        {"**file", "file", true},
        {"**file", "dir/file", true},
        {"**/file", "dir/file", true},
        {"**file", "dir/dir/file", true},
        {"**/file", "dir/dir/file", true},
        {"**/file*", "dir/dir/file", true},
        {"**/file*", "dir/dir/file.txt", true},
        {"**/file*txt", "dir/dir/file.txt", true},
        {"**/file*.txt", "dir/dir/file.txt", true},
        {"**/file*.txt*", "dir/dir/file.txt", true},
        {"**/**/*.txt", "dir/dir/file.txt", true},
        {"**/**/*.txt2", "dir/dir/file.txt", false},
        {"**/*.txt", "file.txt", true},
        {"**/**/*.txt", "file.txt", true},
        {"a**/*.txt", "a/file.txt", true},
        {"a**/*.txt", "a/dir/file.txt", true},
        {"a**/*.txt", "a/dir/dir/file.txt", true},
        {"a/*.txt", "a/dir/file.txt", false},
        {"a/*.txt", "a/file.txt", true},
        {"a/*.txt**", "a/file.txt", true},
        {"a[b-d]e", "ae", false},
        {"a[b-d]e", "ace", true},
        {"a[b-d]e", "aae", false},
        {"a[^b-d]e", "aze", true},
        {".*", ".foo", true},
        {".*", "foo", false},
        {"abc.def", "abcdef", false},
        {"abc.def", "abc.def", true},
        {"abc.def", "abcZdef", false},
        {"abc?def", "abcZdef", true},
        {"abc?def", "abcdef", false},
        {"a\\\\", "a\\", true},
        {"**/foo/bar", "foo/bar", true},
        {"**/foo/bar", "dir/foo/bar", true},
        {"**/foo/bar", "dir/dir2/foo/bar", true},
        {"abc/**", "abc", false},
        {"abc/**", "abc/def", true},
        {"abc/**", "abc/def/ghi", true},
        {"**/.foo", ".foo", true},
        {"**/.foo", "bar.foo", false},
        {"a(b)c/def", "a(b)c/def", true},
        {"a(b)c/def", "a(b)c/xyz", false},
        {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
        {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
         "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
        {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
        {"a\\*b", "a*b", true},
};

/* patternmatcher_test.go matchTests (taken from Go's filepath Match tests), the ones that
 * parse. */
static const struct match_case pm_match[] = {
        {"abc", "abc", true},
        {"*", "abc", true},
        {"*c", "abc", true},
        {"a*", "a", true},
        {"a*", "abc", true},
        {"a*", "ab/c", true},
        {"a*/b", "abc/b", true},
        {"a*/b", "a/c/b", false},
        {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
        {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
        {"a*b?c*x", "abxbbxdbxebxczzx", true},
        {"a*b?c*x", "abxbbxdbxebxczzy", false},
        {"ab[c]", "abc", true},
        {"ab[b-d]", "abc", true},
        {"ab[e-g]", "abc", false},
        {"ab[^c]", "abc", false},
        {"ab[^b-d]", "abc", false},
        {"ab[^e-g]", "abc", true},
        {"a\\*b", "a*b", true},
        {"a\\*b", "ab", false},
        {"a?b",
         "a\xe2\x98\xba"
         "b",
         true},
        {"a[^a]b",
         "a\xe2\x98\xba"
         "b",
         true},
        {"a???b",
         "a\xe2\x98\xba"
         "b",
         false},
        {"a[^a][^a][^a]b",
         "a\xe2\x98\xba"
         "b",
         false},
        {"[a-\xce\xb6]*", "\xce\xb1", true},
        {"*[a-\xce\xb6]", "A", false},
        {"a?b", "a/b", false},
        {"a*b", "a/b", false},
        {"[\\]a]", "]", true},
        {"[\\-]", "-", true},
        {"[x\\-]", "x", true},
        {"[x\\-]", "-", true},
        {"[x\\-]", "z", false},
        {"[\\-x]", "x", true},
        {"[\\-x]", "-", true},
        {"[\\-x]", "a", false},
        {"*x", "xxx", true},
};

/* The same table's patterns that filepath.Match rejects. */
static const char *const pm_bad[] = {
        "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[",
};

static void check_cases(const struct match_case *c, size_t n)
{
        for (size_t i = 0; i < n; i++)
                expect(c[i].pattern, c[i].path, c[i].match);
}

static void test_patternmatcher_matches(void **state)
{
        (void)state;
        check_cases(pm_matches, ARRAY_SIZE(pm_matches));
}

static void test_patternmatcher_filepath_table(void **state)
{
        (void)state;
        check_cases(pm_match, ARRAY_SIZE(pm_match));
        for (size_t i = 0; i < ARRAY_SIZE(pm_bad); i++)
                expect_error(pm_bad[i], "syntax error in pattern");
}

/* TestMatches' multiPatternTests and the single tests around it. */
static void test_patternmatcher_multi(void **state)
{
        (void)state;
        expect("**\n!util/docker/web\n", "util/docker/web/foo", false);
        expect("**\n!util/docker/web\nutil/docker/web/foo\n", "util/docker/web/foo", true);
        expect("**\n!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl\n",
               "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false);
        expect("**\n!dist/*.whl\n", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
               false);
        expect("*", "fileutils.go", true);
        expect("*.go", "fileutils.go", true);
        expect("!fileutils.go\n*.go", "fileutils.go", true);
        expect("docs\n!docs/README.md", "docs/README.md", false);
        expect("docs/\n!docs/README.md", "docs/README.md", false);
        expect("docs/*\n!docs/README.md", "docs/README.md", false);
        expect("*.go\n!fileutils.go", "fileutils.go", false);
        expect("*.go", ".", false);
        expect("", "any/path/there", false);
        expect_error("!", "illegal exclusion pattern");
        expect_error("!  ", "illegal exclusion pattern");
        expect_error("[", "syntax error in pattern");
        /* Accepted by filepath.Match but not by Go's regexp (l-O is backwards):
         * patternmatcher fails on every match, here already when parsing. */
        expect_error("[Local-Only]/", "syntax error in pattern");
        expect_error("a[z-a]", "syntax error in pattern");
}

/* ignorefile_test.go TestReadAll, without its "!" lines (patternmatcher.New rejects them). */
static void test_read_all(void **state)
{
        static const char text[] = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a "
                                   "comment\n! /inverted/abs/path\n";
        _cleanup_ignore_ struct df_ignore *ig = parse(text);

        (void)state;
        assert_true(df_ignore_match(ig, "test1"));
        assert_true(df_ignore_match(ig, "test2"));
        assert_true(df_ignore_match(ig, "a/file/here"));
        assert_true(df_ignore_match(ig, "a/file/here/below"));
        assert_false(df_ignore_match(ig, "a/file"));
        assert_true(df_ignore_match(ig, "lastfile"));
        assert_false(df_ignore_match(ig, "# this is a comment"));
        assert_false(df_ignore_match(ig, "inverted/abs/path"));
        assert_true(df_ignore_may_include_below(ig, "inverted"));
        assert_false(df_ignore_may_include_below(ig, "test1"));
}

static void test_docker_docs(void **state)
{
        (void)state;
        /* The documented example: */
        expect("# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temporary.txt", true);
        expect("*/temp*", "somedir/temp", true);
        expect("*/temp*", "somedir/temp/inner", true);
        expect("*/temp*", "temp", false);
        expect("*/temp*", "a/b/temp", false);
        expect("*/*/temp*", "somedir/subdir/temporary.txt", true);
        expect("*/*/temp*", "somedir/temporary.txt", false);
        expect("temp?", "tempa", true);
        expect("temp?", "tempb", true);
        expect("temp?", "temp", false);
        expect("temp?", "tempab", false);
        expect("temp?", "dir/tempa", false);
        expect("**/*.go", "a/b/c.go", true);
        expect("**/*.go", "c.go", true);
        /* Exceptions, in order: */
        expect("*.md\n!README.md", "README.md", false);
        expect("*.md\n!README.md", "CHANGES.md", true);
        expect("*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true);
        expect("*.md\n!README*.md\nREADME-secret.md", "README-x.md", false);
        expect("*.md\n!README*.md\nREADME-secret.md", "a.md", true);
        expect("*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false);
        expect("*.md\nREADME-secret.md\n!README*.md", "CHANGES.md", true);
        /* "**" in any position: */
        expect("a/**/b", "a/b", true);
        expect("a/**/b", "a/x/y/b", true);
        expect("a/**/b", "a/x/y/bc", false);
        expect("a/**", "a", false);
        expect("a/**", "a/x/y", true);
        expect("**", "anything/at/all", true);
}

/* Every markdown file excluded but d/README.md. */
static void test_md_keep_one(void **state)
{
        _cleanup_ignore_ struct df_ignore *ig = parse("**/*.md\n!d/README.md\n");

        (void)state;
        assert_true(df_ignore_match(ig, "a.md"));
        assert_true(df_ignore_match(ig, "README.md"));
        assert_true(df_ignore_match(ig, "x/y/a.md"));
        assert_true(df_ignore_match(ig, "d/a.md"));
        assert_true(df_ignore_match(ig, "d/e/README.md"));
        assert_true(df_ignore_match(ig, "e/README.md"));
        assert_false(df_ignore_match(ig, "d/README.md"));
        assert_false(df_ignore_match(ig, "d/main.c"));
        assert_false(df_ignore_match(ig, "d"));
        assert_false(df_ignore_match(ig, "main.c"));
}

static void test_parent_dirs(void **state)
{
        (void)state;
        expect("d", "d", true);
        expect("d", "d/x", true);
        expect("d", "d/x/y", true);
        expect("d", "dd/x", false);
        expect("d", "x/d", false);
        expect("d/x", "d/x/y/z", true);
        expect("*/x", "d/x/y", true);
        expect("d\n!d/keep", "d/keep", false);
        expect("d\n!d/keep", "d/keep/inner", false);
        expect("d\n!d/keep", "d/other", true);
        expect("d\n!d/keep\nd/keep/no", "d/keep/no/x", true);
        /* An exception for a directory brings its whole tree back. */
        expect("*\n!src\n", "src/a/b.c", false);
        expect("*\n!src\n", "docs/a", true);
}

static void test_lines(void **state)
{
        (void)state;
        /* A comment starts the line; after white space '#' is part of a pattern. */
        expect("#x\n", "#x", false);
        expect("  #x\n", "#x", true);
        expect("\n\n  \t\n#only comments\n", "a", false);
        /* Lines are trimmed, CRLF ends a line, a BOM starts the file. */
        expect("  a  \r\n\tb\t\n", "a", true);
        expect("  a  \r\n\tb\t\n", "b", true);
        expect("\xef\xbb\xbf"
               "a\n",
               "a", true);
        expect("\xef\xbb\xbf#a\na", "a", true);
        expect("\xc2\xa0"
               "a\xe3\x80\x80\n",
               "a", true);
        expect("a\n", "a b", false);
        expect("a b\n", "a b", true);
        /* The last line needs no newline. */
        expect("x\ny", "y", true);
        /* "! pattern": the '!' and the pattern may be apart. */
        expect("*\n!   keep  \n", "keep", false);
}

static void test_clean(void **state)
{
        (void)state;
        expect("/a", "a", true);
        expect("/a/b", "a/b", true);
        expect("./a", "a", true);
        expect("a/./b", "a/b", true);
        expect("a//b", "a/b", true);
        expect("a/b/", "a/b", true);
        expect("a/x/../b", "a/b", true);
        expect("a/x/../b", "a/x/b", false);
        expect("*\n!/keep", "keep", false);
        expect("*\n!./keep", "keep", false);
        expect("*\n!a/../keep", "keep", false);
        /* "a /": Clean gives "a ", which patternmatcher trims once more. */
        expect("a /", "a", true);
        /* ".", "/" and ".." name no context path. */
        expect(".", "a", false);
        expect("./", "a", false);
        expect("/", "a", false);
        expect("..", "a", false);
        expect("../a", "a", false);
        expect_error("!/", "illegal exclusion pattern");
}

static void test_classes_and_escapes(void **state)
{
        (void)state;
        expect("[a-c]x", "bx", true);
        expect("[a-c]x", "dx", false);
        expect("[^a-c]x", "dx", true);
        expect("[^a-c]x", "ax", false);
        /* Go has no '!' negation: [!a] is '!' or 'a'. */
        expect("[!a]", "!", true);
        expect("[!a]", "a", true);
        expect("[!a]", "b", false);
        /* A class may match '/' (it does in Go's filepath.Match and regexp both). */
        expect("a[/]b", "a/b", true);
        expect("a[^x]b", "a/b", true);
        expect("[\xce\xb1-\xce\xb6]", "\xce\xb3", true);
        expect("[\xce\xb1-\xce\xb6]", "a", false);
        expect("\\[a]", "[a]", true);
        expect("\\?", "?", true);
        expect("\\?", "a", false);
        expect("a]", "a]", true);
        /* '*' and '?' in a class stand for themselves, as in filepath.Match (patternmatcher's
         * regexp garbles them: "[*]" becomes ^[[^/]*]$). */
        expect("[*?]", "*", true);
        expect("[*?]", "a", false);
        expect("a+b", "a+b", true);
        expect("a+b", "aab", false);
        expect("a{1}", "a{1}", true);
        expect("x$", "x$", true);
        /* '*' and '?' never cross '/'. */
        expect("a*", "ab/c", true);
        expect("*", "a/b", true);
        expect("?", "a/b", true);
        expect("?/?", "ab/c", false);
        expect_error("a\\", "syntax error in pattern");
        expect_error("[a", "syntax error in pattern");
        expect_error("[\xff]", "syntax error in pattern");
}

/* patternmatcher hands escapes and '^' to Go's regexp, so they mean what they mean there. */
static void test_regexp_escapes(void **state)
{
        (void)state;
        expect("a\\d", "a7", true);
        expect("a\\d", "ad", false);
        expect("a\\D", "ad", true);
        expect("\\w\\W", "a-", true);
        expect("\\w\\W", "ab", false);
        expect("a\\sb", "a b", true);
        expect("a\\tb", "a\tb", true);
        expect("a\\tb", "atb", false);
        expect("\\x41", "A", true);
        expect("\\x41", "x41", false);
        expect("\\xe9", "\xc3\xa9", true);
        expect("\\101\\0", "A", false);
        expect("\\101", "A", true);
        expect("[\\d]x", "3x", true);
        /* [\d-z] is a digit, '-' or 'z' to Go's regexp, not the range d-z. */
        expect("[\\d-z]", "5", true);
        expect("[\\d-z]", "-", true);
        expect("[\\d-z]", "e", false);
        expect("[[:digit:]]*.log", "7.log", true);
        expect("[[:digit:]]*.log", "a.log", false);
        expect("[[:^alpha:]_]", "_", true);
        expect("[[:^alpha:]_]", "b", false);
        /* filepath.Match's class ends at the ':]', Go's regexp's at the next ']' (patternmatcher
         * uses both: the first to check, the second to match). */
        expect("[[:alpha:]-]", "-", true);
        expect("[[:alpha:]-]", "q", true);
        expect("[[:alpha:]-]", "q]", false);
        expect_error("[[:alpah:]]", "syntax error in pattern");
        expect("[\\x41-\\x43]", "B", true);
        expect("[\\x41-\\x43]", "x", false);
        expect("[^\\s]", " ", false);
        expect("\\bab\\b", "ab", true);
        expect("a\\Bb", "ab", true);
        expect("a\\bb", "ab", false);
        expect("\\Aa*\\z", "abc", true);
        /* '^' anchors at the start in a regexp, and is a plain character in a pattern that
         * patternmatcher compares as text. */
        expect("^abc", "^abc", true);
        expect("^a*", "ab", true);
        expect("^a*", "^ab", false);
        expect("a*^b", "ab", false);
        /* What Go's regexp rejects fails patternmatcher on every match: here, the parse. */
        expect_error("a\\c", "syntax error in pattern");
        expect_error("a\\1", "syntax error in pattern");
        expect_error("a\\8", "syntax error in pattern");
        expect_error("a\\x4", "syntax error in pattern");
        expect_error("a\\\xc3\xa9", "syntax error in pattern");
        expect_error("[\\b]", "syntax error in pattern");
        expect_error("[a-\\d]", "syntax error in pattern");
        /* Not carried over: Unicode classes (Go would read \pL as "a letter"). */
        expect_error("*\n!\\pL", "syntax error in pattern");
}

static void test_double_star(void **state)
{
        (void)state;
        /* patternmatcher's regexp (.*\/)? for "**" inside a pattern: zero or more whole
         * leading parts, and "**x" at the start is a plain suffix match. */
        expect("a**b", "a/b", true);
        expect("a**b", "ab", true);
        expect("a**b", "axb", false);
        expect("a**b", "ax/b", true);
        expect("**foo", "xfoo", true);
        expect("**foo", "x/yfoo", true);
        expect("**/foo", "xfoo", false);
        expect("a**", "abc/d", true);
        expect("a**", "b", false);
        expect("**/a/**", "x/a/y", true);
        expect("**/a/**", "a/y", true);
        expect("**/a/**", "x/ab/y", false);
        expect("****", "x", true);
        expect("**/*.md", "a.md", true);
        expect("**/*.md", "x/y/a.md", true);
        expect("**/*.md", "x/y/a.mdx", false);
        /* Go's '.' stops at a newline, so "**" does too inside a pattern. */
        expect("**/*.md", "x\ny/a.md", false);
        expect("*/*.md", "x\ny/a.md", true);
}

static void test_may_include_below(void **state)
{
        (void)state;
        struct {
                const char *patterns, *dir;
                bool want;
        } c[] = {
                {"d\n", "d", false},
                {"*\n", "d", false},
                {"d\n!d/keep\n", "d", true},
                {"d\n!d/keep\n", "e", false},
                {"d\n!d/keep\n", "d/keep", false},
                {"d\n!d/keep/x\n", "d/keep", true},
                {"d\n!dd/keep\n", "d", false},
                {"d\n!d\n", "d", false},
                {"*\n!**/keep\n", "any/dir", true},
                {"*\n!*/keep\n", "d", true},
                {"*\n!*/keep\n", "d/e", false},
                {"*\n!d/*.go\n", "d", true},
                {"*\n!d/*.go\n", "d/sub", false},
                {"*\n!d*\n", "d", false},
                {"*\n!d/**/x.txt\n", "d/a/b", true},
                {"*\n!d/**/x.txt\n", "e", false},
                {"*\n!d/**\n", "d", true},
                {"*\n!d/**\n", "d/x", true},
                {"*\n!d/**\n", "e", false},
                {"*\n!src/[ab]/x\n", "src/a", true},
                {"*\n!src/[ab]/x\n", "src/c", false},
                {"*\n!a**\n", "abc", true},
                {"*\n!a**\n", "b", false},
                {"*\n!keep\n", "", true},
                {"*\n!keep\n", "d/", false},
        };

        for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
                _cleanup_ignore_ struct df_ignore *ig = parse(c[i].patterns);

                if (df_ignore_may_include_below(ig, c[i].dir) != c[i].want)
                        fail_msg("patterns %s, dir %s: want %d", c[i].patterns, c[i].dir,
                                 c[i].want);
        }
}

/* Many stars against a long name that almost matches: must not backtrack exponentially. */
static void test_pathological(void **state)
{
        _cleanup_free_ char *path = malloc(4097);
        _cleanup_ignore_ struct df_ignore *ig = parse("*a*a*a*a*a*a*a*a*a*a*a*a*b\n"
                                                      "**/**/**/**/**/**/**/**/c\n");

        (void)state;
        assert_non_null(path);
        memset(path, 'a', 4096);
        path[4096] = '\0';
        assert_false(df_ignore_match(ig, path));
        for (size_t i = 1; i < 4096; i += 2)
                path[i] = '/';
        assert_false(df_ignore_match(ig, path));
        path[4095] = '\0';
        path[4094] = 'c';
        assert_true(df_ignore_match(ig, path));
}

static void test_error_names_pattern(void **state)
{
        struct df_ignore *ig = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(df_ignore_parse("ok\n  src/[z \n", &ig, &e), -EINVAL);
        assert_null(ig);
        assert_non_null(strstr(e.msg, "syntax error in pattern"));
        assert_non_null(strstr(e.msg, "src/[z"));
        assert_non_null(strstr(e.msg, "line 2"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_patternmatcher_matches),
                cmocka_unit_test(test_patternmatcher_filepath_table),
                cmocka_unit_test(test_patternmatcher_multi),
                cmocka_unit_test(test_read_all),
                cmocka_unit_test(test_docker_docs),
                cmocka_unit_test(test_md_keep_one),
                cmocka_unit_test(test_parent_dirs),
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_clean),
                cmocka_unit_test(test_classes_and_escapes),
                cmocka_unit_test(test_regexp_escapes),
                cmocka_unit_test(test_double_star),
                cmocka_unit_test(test_may_include_below),
                cmocka_unit_test(test_pathological),
                cmocka_unit_test(test_error_names_pattern),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
