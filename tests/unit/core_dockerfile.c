/* The Dockerfile parser (core/build/parse.c) and word expander (core/build/shell.c), against
 * BuildKit's own tables and golden files and the parser scenarios of the build research. */
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
#include "core/base/util.h"
#include "core/build/internal.h"

struct word_case {
        const char *src, *want;
};

struct words_case {
        const char *env[8];
        const char *src, *want;
};

struct golden {
        const char *name, *dockerfile, *result;
};

/* ---- helpers ---- */

/* The value of name in a NULL-terminated "K=V" vector; the last entry wins. */
static const char *env_lookup(void *ud, const char *name)
{
        const char *const *env = ud, *found = NULL;
        size_t n = strlen(name);

        for (; env && *env; env++)
                if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
                        found = *env + n + 1;
        return found;
}

static const char *const lex_env[] = {"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL=", NULL};

static void dockerfile_freep(struct dockerfile *d)
{
        dockerfile_free(d);
}

#define _cleanup_dockerfile_ _cleanup_(dockerfile_freep)

static struct dockerfile parse_ok(const char *text)
{
        struct dockerfile d = {0};
        struct err e = {0};

        if (dockerfile_parse(text, "Dockerfile", &d, &e) < 0)
                fail_msg("parsing %s: %s", text, e.msg);
        return d;
}

/* Parsing fails with -EINVAL and exactly the message want. */
static void parse_fails(const char *text, const char *want)
{
        struct dockerfile d = {0};
        struct err e = {0};
        int r = dockerfile_parse(text, "Dockerfile", &d, &e);

        if (r != -EINVAL)
                fail_msg("parsing %s: want -EINVAL (%s), got %d", text, want, r);
        assert_null(d.v);
        if (strcmp(e.msg, want) != 0)
                fail_msg("parsing %s: message \"%s\", want \"%s\"", text, e.msg, want);
}

static void assert_strv(char *const *got, const char *const *want)
{
        size_t i;

        assert_non_null(got);
        for (i = 0; want[i]; i++) {
                if (!got[i])
                        fail_msg("missing element %zu \"%s\"", i, want[i]);
                assert_string_equal(got[i], want[i]);
        }
        if (got[i])
                fail_msg("extra element %zu \"%s\"", i, got[i]);
}

#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY     ((const char *const[]){NULL})

static char *expand(const char *word, char escape, const char *const *env, struct err *e)
{
        char *out = NULL;

        if (df_expand_word(word, escape, env_lookup, (void *)env, &out, e) < 0)
                return NULL;
        return out;
}

static void expect_word(const char *word, const char *const *env, const char *want)
{
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        out = expand(word, '\\', env, &e);
        if (!out)
                fail_msg("%s: %s, want \"%s\"", word, e.msg, want);
        if (strcmp(out, want) != 0)
                fail_msg("%s: got \"%s\", want \"%s\"", word, out, want);
}

/* Expansion fails with -EINVAL and a message holding want. */
static void expect_word_error(const char *word, const char *const *env, const char *want)
{
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        out = expand(word, '\\', env, &e);
        if (out)
                fail_msg("%s: got \"%s\", want an error", word, out);
        assert_int_equal(e.code, EINVAL);
        if (!strstr(e.msg, want))
                fail_msg("%s: message \"%s\" lacks \"%s\"", word, e.msg, want);
}

/* strconv.Quote, as the golden files print arguments. */
static void go_quote(FILE *f, const char *s)
{
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                const char *esc = strchr("\a\b\f\n\r\t\v", c);
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c && esc)
                        fprintf(f, "\\%c", "abfnrtv"[esc - "\a\b\f\n\r\t\v"]);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

/* The parser's KEY VALUE / KEY=VALUE split, as Node.Dump shows it. */
static void dump_name_val(FILE *f, const struct df_instr *in)
{
        if (!in->args[0])
                return;
        if (!strchr(in->args[0], '=')) {
                size_t k = strcspn(in->rest, " \t\v\f\r");
                _cleanup_free_ char *key = strndup(in->rest, k);
                fputc(' ', f);
                go_quote(f, key);
                fputc(' ', f);
                go_quote(f, in->rest + k + strspn(in->rest + k, " \t\v\f\r"));
                fputs(" \"\"", f);
                return;
        }
        for (char **a = in->args; *a; a++) {
                const char *eq = strchr(*a, '=');
                _cleanup_free_ char *key = strndup(*a, (size_t)(eq - *a));
                fputc(' ', f);
                go_quote(f, key);
                fputc(' ', f);
                go_quote(f, eq + 1);
                fputs(" \"=\"", f);
        }
}

/* The parser's blank-separated words (parseStringsWhitespaceDelimited), quoted. */
static void dump_blank_words(FILE *f, const char *s)
{
        while (*s) {
                size_t n = strcspn(s, " \t\v\f\r");
                _cleanup_free_ char *w = strndup(s, n);
                fputc(' ', f);
                go_quote(f, w);
                s += n;
                s += strspn(s, " \t\v\f\r");
        }
}

static bool cmd_is(const struct df_instr *in, const char *const *names)
{
        for (; *names; names++)
                if (strcmp(in->cmd, *names) == 0)
                        return true;
        return false;
}

static void dump_instr(FILE *f, const struct df_instr *in);

/* The nodes BuildKit's parser makes of the arguments (its dispatch table), from rest. */
static void dump_args(FILE *f, const struct df_instr *in)
{
        const char *rest = in->rest;

        if (cmd_is(in, STRV("env", "label"))) {
                dump_name_val(f, in);
        } else if (cmd_is(in, STRV("onbuild"))) {
                if (in->onbuild) {
                        fputs(" (", f);
                        dump_instr(f, in->onbuild);
                        fputc(')', f);
                }
        } else if (cmd_is(in, STRV("healthcheck"))) {
                size_t k = strcspn(rest, " \t\n\v\f\r");
                _cleanup_free_ char *type = strndup(rest, k);
                const char *cmd = rest + k + strspn(rest + k, " \t\n\v\f\r");
                if (k == 0)
                        return;
                fputc(' ', f);
                go_quote(f, type);
                for (char **a = in->json ? in->args : (char *[]){NULL}; *a; a++) {
                        fputc(' ', f);
                        go_quote(f, *a);
                }
                if (!in->json && *cmd) {
                        fputc(' ', f);
                        go_quote(f, cmd);
                }
        } else if (in->json || cmd_is(in, STRV("arg"))) {
                for (char **a = in->args; *a; a++) {
                        fputc(' ', f);
                        go_quote(f, *a);
                }
        } else if (cmd_is(in, STRV("add", "copy", "volume", "expose", "from"))) {
                dump_blank_words(f, rest);
        } else if (*rest) {
                fputc(' ', f);
                go_quote(f, rest);
        }
}

/* Node.Dump of one instruction, without its parentheses. */
static void dump_instr(FILE *f, const struct df_instr *in)
{
        fputs(in->cmd, f);
        if (in->flags[0]) {
                fputs(" [", f);
                for (char **fl = in->flags; *fl; fl++) {
                        if (fl != in->flags)
                                fputc(' ', f);
                        go_quote(f, *fl);
                }
                fputc(']', f);
        }
        dump_args(f, in);
}

static char *dump(const struct dockerfile *d)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        for (size_t i = 0; i < d->n; i++) {
                fputc('(', f);
                dump_instr(f, &d->v[i]);
                fputs(")\n", f);
        }
        fclose(f);
        return out;
}

/* buildkit frontend/dockerfile/shell/envVarTest (A| and U| lines; W| is Windows only),
 * with PWD=/home SHELL=bash KOREAN=한국어 NULL=. NULL expected: an error. */
static const struct word_case env_var_cases[] = {
        {"hello", "hello"},
        {"he'll'o", "hello"},
        {"he'llo", NULL},
        {"he\\'llo", "he'llo"},
        {"he\\\\'llo", NULL},
        {"abc\\tdef", "abctdef"},
        {"\"abc\\tdef\"", "abc\\tdef"},
        {"\"abc\\\\tdef\"", "abc\\tdef"},
        {"'abc\\tdef'", "abc\\tdef"},
        {"hello\\", "hello"},
        {"hello\\\\", "hello\\"},
        {"\"hello", NULL},
        {"\"hello\\\"", NULL},
        {"\"hel'lo\"", "hel'lo"},
        {"'hello", NULL},
        {"'hello\\'", "hello\\"},
        {"'hello\\there'", "hello\\there"},
        {"'hello\\\\there'", "hello\\\\there"},
        {"\"''\"", "''"},
        {"$.", "$."},
        {"he$1x", "hex"},
        {"he$.x", "he$.x"},
        {"he$pwd.", "he."},
        {"he$PWD", "he/home"},
        {"he\\$PWD", "he$PWD"},
        {"he\\\\$PWD", "he\\/home"},
        {"\"he\\$PWD\"", "he$PWD"},
        {"\"he\\\\$PWD\"", "he\\/home"},
        {"\\${}", "${}"},
        {"\\${}aaa", "${}aaa"},
        {"he\\${}", "he${}"},
        {"he\\${}xx", "he${}xx"},
        {"${}", NULL},
        {"${}aaa", NULL},
        {"he${}", NULL},
        {"he${}xx", NULL},
        {"he${hi}", "he"},
        {"he${hi}xx", "hexx"},
        {"he${PWD}", "he/home"},
        {"he${.}", NULL},
        {"he${XXX:-000}xx", "he000xx"},
        {"he${PWD:-000}xx", "he/homexx"},
        {"he${XXX:-$PWD}xx", "he/homexx"},
        {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
        {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
        {"he${XXX:YYY}", NULL},
        {"he${XXX?}", NULL},
        {"he${XXX:?}", NULL},
        {"he${PWD?}", "he/home"},
        {"he${PWD:?}", "he/home"},
        {"he${NULL?}", "he"},
        {"he${NULL:?}", NULL},
        {"he${XXX:+${PWD}}xx", "hexx"},
        {"he${PWD:+${XXX}}xx", "hexx"},
        {"he${PWD:+${SHELL}}xx", "hebashxx"},
        {"he${XXX:+000}xx", "hexx"},
        {"he${PWD:+000}xx", "he000xx"},
        {"'he${XX}'", "he${XX}"},
        {"\"he${PWD}\"", "he/home"},
        {"\"he'$PWD'\"", "he'/home'"},
        {"\"$PWD\"", "/home"},
        {"'$PWD'", "$PWD"},
        {"'\\$PWD'", "\\$PWD"},
        {"'\"hello\"'", "\"hello\""},
        {"he\\$PWD", "he$PWD"},
        {"\"he\\$PWD\"", "he$PWD"},
        {"'he\\$PWD'", "he\\$PWD"},
        {"he${PWD", NULL},
        {"he${PWD:=000}xx", NULL},
        {"he${PWD:+${PWD}:}xx", "he/home:xx"},
        {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
        {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
        {"안녕하세요", "안녕하세요"},
        {"안'녕'하세요", "안녕하세요"},
        {"안'녕하세요", NULL},
        {"안녕\\'하세요", "안녕'하세요"},
        {"안\\\\'녕하세요", NULL},
        {"안녕\\t하세요", "안녕t하세요"},
        {"\"안녕\\t하세요\"", "안녕\\t하세요"},
        {"'안녕\\t하세요", NULL},
        {"안녕하세요\\", "안녕하세요"},
        {"안녕하세요\\\\", "안녕하세요\\"},
        {"\"안녕하세요", NULL},
        {"\"안녕하세요\\\"", NULL},
        {"\"안녕'하세요\"", "안녕'하세요"},
        {"'안녕하세요", NULL},
        {"'안녕하세요\\'", "안녕하세요\\"},
        {"안녕$1x", "안녕x"},
        {"안녕$.x", "안녕$.x"},
        {"안녕$pwd.", "안녕."},
        {"안녕$PWD", "안녕/home"},
        {"안녕\\$PWD", "안녕$PWD"},
        {"안녕\\\\$PWD", "안녕\\/home"},
        {"안녕\\${}", "안녕${}"},
        {"안녕\\${}xx", "안녕${}xx"},
        {"안녕${}", NULL},
        {"안녕${}xx", NULL},
        {"안녕${hi}", "안녕"},
        {"안녕${hi}xx", "안녕xx"},
        {"안녕${PWD}", "안녕/home"},
        {"안녕${.}", NULL},
        {"안녕${XXX:-000}xx", "안녕000xx"},
        {"안녕${PWD:-000}xx", "안녕/homexx"},
        {"안녕${XXX:-$PWD}xx", "안녕/homexx"},
        {"안녕${XXX:-${PWD:-yyy}}xx", "안녕/homexx"},
        {"안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx"},
        {"안녕${XXX:YYY}", NULL},
        {"안녕${XXX:+${PWD}}xx", "안녕xx"},
        {"안녕${PWD:+${XXX}}xx", "안녕xx"},
        {"안녕${PWD:+${SHELL}}xx", "안녕bashxx"},
        {"안녕${XXX:+000}xx", "안녕xx"},
        {"안녕${PWD:+000}xx", "안녕000xx"},
        {"'안녕${XX}'", "안녕${XX}"},
        {"\"안녕${PWD}\"", "안녕/home"},
        {"\"안녕'$PWD'\"", "안녕'/home'"},
        {"'\"안녕\"'", "\"안녕\""},
        {"안녕\\$PWD", "안녕$PWD"},
        {"\"안녕\\$PWD\"", "안녕$PWD"},
        {"'안녕\\$PWD'", "안녕\\$PWD"},
        {"안녕${PWD", NULL},
        {"안녕${PWD:=000}xx", NULL},
        {"안녕${PWD:+${PWD}:}xx", "안녕/home:xx"},
        {"안녕${XXX:-\\$PWD:}xx", "안녕$PWD:xx"},
        {"안녕${XXX:-\\${PWD}z}xx", "안녕${PWDz}xx"},
        {"$KOREAN", "한국어"},
        {"안녕$KOREAN", "안녕한국어"},
        {"${{aaa}", NULL},
        {"${aaa}}", "}"},
        {"${aaa", NULL},
        {"${{aaa:-bbb}", NULL},
        {"${aaa:-bbb}}", "bbb}"},
        {"${aaa:-bbb", NULL},
        {"${aaa:-bbb}", "bbb"},
        {"${aaa:-${bbb:-ccc}}", "ccc"},
        {"${aaa:-bbb ${foo}", NULL},
        {"${aaa:-bbb {foo}", "bbb {foo"},
        {"${:}", NULL},
        {"${:-bbb}", NULL},
        {"${:+bbb}", NULL},
        {"$1", ""},
        {"${1}", ""},
        {"${1:+bbb}", ""},
        {"${1:-bbb}", "bbb"},
        {"$2", ""},
        {"${2}", ""},
        {"${2:+bbb}", ""},
        {"${2:-bbb}", "bbb"},
        {"$3", ""},
        {"${3}", ""},
        {"${3:+bbb}", ""},
        {"${3:-bbb}", "bbb"},
        {"$4", ""},
        {"${4}", ""},
        {"${4:+bbb}", ""},
        {"${4:-bbb}", "bbb"},
        {"$5", ""},
        {"${5}", ""},
        {"${5:+bbb}", ""},
        {"${5:-bbb}", "bbb"},
        {"$6", ""},
        {"${6}", ""},
        {"${6:+bbb}", ""},
        {"${6:-bbb}", "bbb"},
        {"$7", ""},
        {"${7}", ""},
        {"${7:+bbb}", ""},
        {"${7:-bbb}", "bbb"},
        {"$8", ""},
        {"${8}", ""},
        {"${8:+bbb}", ""},
        {"${8:-bbb}", "bbb"},
        {"$9", ""},
        {"${9}", ""},
        {"${9:+bbb}", ""},
        {"${9:-bbb}", "bbb"},
        {"$999", ""},
        {"${999}", ""},
        {"${999:+bbb}", ""},
        {"${999:-bbb}", "bbb"},
        {"$999aaa", "aaa"},
        {"${999}aaa", "aaa"},
        {"${999:+bbb}aaa", "aaa"},
        {"${999:-bbb}aaa", "bbbaaa"},
        {"$001", ""},
        {"${001}", ""},
        {"${001:+bbb}", ""},
        {"${001:-bbb}", "bbb"},
        {"$001aaa", "aaa"},
        {"${001}aaa", "aaa"},
        {"${001:+bbb}aaa", "aaa"},
        {"${001:-bbb}aaa", "bbbaaa"},
        {"$@", ""},
        {"${@}", ""},
        {"${@:+bbb}", ""},
        {"${@:-bbb}", "bbb"},
        {"$@@@", "@@"},
        {"$@aaa", "aaa"},
        {"${@}aaa", "aaa"},
        {"${@:+bbb}aaa", "aaa"},
        {"${@:-bbb}aaa", "bbbaaa"},
        {"$*", ""},
        {"${*}", ""},
        {"${*:+bbb}", ""},
        {"${*:-bbb}", "bbb"},
        {"$#", ""},
        {"${#}", ""},
        {"${#:+bbb}", ""},
        {"${#:-bbb}", "bbb"},
        {"$?", ""},
        {"${?}", ""},
        {"${?:+bbb}", ""},
        {"${?:-bbb}", "bbb"},
        {"$-", ""},
        {"${-}", ""},
        {"${-:+bbb}", ""},
        {"${-:-bbb}", "bbb"},
        {"$$", ""},
        {"${$}", ""},
        {"${$:+bbb}", ""},
        {"${$:-bbb}", "bbb"},
        {"$!", ""},
        {"${!}", ""},
        {"${!:+bbb}", ""},
        {"${!:-bbb}", "bbb"},
        {"$0", ""},
        {"${0}", ""},
        {"${0:+bbb}", ""},
        {"${0:-bbb}", "bbb"},
};

/* buildkit frontend/dockerfile/shell/wordsTest: ENV lines accumulate; want is the words
 * joined by ',', or NULL for an error. */
static const struct words_case words_cases[] = {
        {{NULL}, "hello", "hello"},
        {{NULL}, "hello${hi}bye", "hellobye"},
        {{"hi=hi", NULL}, "hello${hi}bye", "hellohibye"},
        {{"hi=hi", "space=abc  def", NULL}, "hello${space}bye", "helloabc,defbye"},
        {{"hi=hi", "space=abc  def", NULL}, "hello\"${space}\"bye", "helloabc  defbye"},
        {{"hi=hi", "space=abc  def", NULL}, "hello \"${space}\"bye", "hello,abc  defbye"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", NULL},
         "hello${leading}def",
         "hello,ab,cdef"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", NULL},
         "hello\"${leading}\" def",
         "hello  ab c,def"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", NULL}, "hello\"${leading}\"", "hello  ab c"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", NULL}, "hello${leading}", "hello,ab,c"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello${trailing}",
         "helloab,c"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello${trailing}d",
         "helloab,c,d"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\"${trailing}\"d",
         "helloab c   d"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hel\"lo${trailing}\"",
         "helloab c   "},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\" there  \"",
         "hello there  "},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello there",
         "hello,there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\\ there",
         "hello there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\" there",
         NULL},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\\\" there",
         "hello\",there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\"\\\\there\"",
         "hello\\there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello\"\\there\"",
         "hello\\there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello'\\\\there'",
         "hello\\\\there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello'\\there'",
         "hello\\there"},
        {{"hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   ", NULL},
         "hello'$there'",
         "hello$there"},
};

/* buildkit frontend/dockerfile/parser/testfiles/NAME/Dockerfile and result (Apache-2.0).
 * Changed: health drops the three HEALTHCHECK lines Docker rejects before building (tested in
 * test_instruction_errors), json drops the escaped NUL hawser refuses (test_json_form). */
static const struct golden golden_cases[] = {
        {"ADD-COPY-with-JSON",
         "FROM\tubuntu:14.04\n"
         "LABEL\tmaintainer\tSeongyeol Lim <seongyeol37@gmail.com>\n"
         "\n"
         "COPY\t.\t/go/src/github.com/docker/docker\n"
         "ADD\t\t.\t/\n"
         "ADD\t\tnull /\n"
         "COPY\tnullfile /tmp\n"
         "ADD\t\t[ \"vimrc\", \"/tmp\" ]\n"
         "COPY\t[ \"bashrc\", \"/tmp\" ]\n"
         "COPY\t[ \"test file\", \"/tmp\" ]\n"
         "ADD\t\t[ \"test file\", \"/tmp/test file\" ]\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"Seongyeol Lim <seongyeol37@gmail.com>\" \"\")\n"
         "(copy \".\" \"/go/src/github.com/docker/docker\")\n"
         "(add \".\" \"/\")\n"
         "(add \"null\" \"/\")\n"
         "(copy \"nullfile\" \"/tmp\")\n"
         "(add \"vimrc\" \"/tmp\")\n"
         "(copy \"bashrc\" \"/tmp\")\n"
         "(copy \"test file\" \"/tmp\")\n"
         "(add \"test file\" \"/tmp/test file\")\n"},
        {"args",
         "ARG foo bar=baz\n"
         "FROM ubuntu\n"
         "ARG abc=\"123 456\" def\n",
         "(arg \"foo\" \"bar=baz\")\n"
         "(from \"ubuntu\")\n"
         "(arg \"abc=\\\"123 456\\\"\" \"def\")\n"},
        {"brimstone-consuldock",
         "#escape=\\\n"
         "FROM brimstone/ubuntu:14.04\n"
         "\n"
         "LABEL maintainer brimstone@the.narro.ws\n"
         "\n"
         "# TORUN -v /var/run/docker.sock:/var/run/docker.sock\n"
         "\n"
         "ENV GOPATH /go\n"
         "\n"
         "# Set our command\n"
         "ENTRYPOINT [\"/usr/local/bin/consuldock\"]\n"
         "\n"
         "# Install the packages we need, clean up after them and us\n"
         "RUN apt-get update \\\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n"
         "    && apt-get --no-install-recommends install -y git golang ca-certificates \\\n"
         "    && apt-get clean \\\n"
         "    && rm -rf /var/lib/apt/lists \\\n"
         "\n"
         "\t&& go get -v github.com/brimstone/consuldock \\\n"
         "    && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\\n"
         "\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n"
         "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print "
         "$2}') \\\n"
         "\t&& rm /tmp/dpkg.* \\\n"
         "\t&& rm -rf $GOPATH\n",
         "(from \"brimstone/ubuntu:14.04\")\n"
         "(label \"maintainer\" \"brimstone@the.narro.ws\" \"\")\n"
         "(env \"GOPATH\" \"/go\" \"\")\n"
         "(entrypoint \"/usr/local/bin/consuldock\")\n"
         "(run \"apt-get update \\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean     && "
         "apt-get --no-install-recommends install -y git golang ca-certificates     && apt-get "
         "clean     && rm -rf /var/lib/apt/lists \\t&& go get -v github.com/brimstone/consuldock   "
         "  && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\t&& dpkg -l | awk '/^ii/ "
         "{print $2}' > /tmp/dpkg.dirty \\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean "
         "/tmp/dpkg.dirty | awk '/^>/ {print $2}') \\t&& rm /tmp/dpkg.* \\t&& rm -rf $GOPATH\")\n"},
        {"brimstone-docker-consul",
         "FROM brimstone/ubuntu:14.04\n"
         "\n"
         "CMD []\n"
         "\n"
         "ENTRYPOINT [\"/usr/bin/consul\", \"agent\", \"-server\", \"-data-dir=/consul\", "
         "\"-client=0.0.0.0\", \"-ui-dir=/webui\"]\n"
         "\n"
         "EXPOSE 8500 8600 8400 8301 8302\n"
         "\n"
         "RUN apt-get update \\\n"
         "    && apt-get --no-install-recommends install -y unzip wget \\\n"
         "\t&& apt-get clean \\\n"
         "\t&& rm -rf /var/lib/apt/lists\n"
         "\n"
         "RUN cd /tmp \\\n"
         "    && wget https://dl.bintray.com/mitchellh/consul/0.3.1_web_ui.zip \\\n"
         "       -O web_ui.zip \\\n"
         "    && unzip web_ui.zip \\\n"
         "    && mv dist /webui \\\n"
         "    && rm web_ui.zip\n"
         "\n"
         "RUN apt-get update \\\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n"
         "    && apt-get --no-install-recommends install -y unzip wget \\\n"
         "    && apt-get clean \\\n"
         "    && rm -rf /var/lib/apt/lists \\\n"
         "\n"
         "    && cd /tmp \\\n"
         "    && wget https://dl.bintray.com/mitchellh/consul/0.3.1_web_ui.zip \\\n"
         "       -O web_ui.zip \\\n"
         "    && unzip web_ui.zip \\\n"
         "    && mv dist /webui \\\n"
         "    && rm web_ui.zip \\\n"
         "\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n"
         "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print "
         "$2}') \\\n"
         "\t&& rm /tmp/dpkg.*\n"
         "\n"
         "ENV GOPATH /go\n"
         "\n"
         "RUN apt-get update \\\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n"
         "    && apt-get --no-install-recommends install -y git golang ca-certificates "
         "build-essential \\\n"
         "    && apt-get clean \\\n"
         "    && rm -rf /var/lib/apt/lists \\\n"
         "\n"
         "\t&& go get -v github.com/hashicorp/consul \\\n"
         "\t&& mv $GOPATH/bin/consul /usr/bin/consul \\\n"
         "\n"
         "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n"
         "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print "
         "$2}') \\\n"
         "\t&& rm /tmp/dpkg.* \\\n"
         "\t&& rm -rf $GOPATH\n",
         "(from \"brimstone/ubuntu:14.04\")\n"
         "(cmd)\n"
         "(entrypoint \"/usr/bin/consul\" \"agent\" \"-server\" \"-data-dir=/consul\" "
         "\"-client=0.0.0.0\" \"-ui-dir=/webui\")\n"
         "(expose \"8500\" \"8600\" \"8400\" \"8301\" \"8302\")\n"
         "(run \"apt-get update     && apt-get --no-install-recommends install -y unzip wget \\t&& "
         "apt-get clean \\t&& rm -rf /var/lib/apt/lists\")\n"
         "(run \"cd /tmp     && wget https://dl.bintray.com/mitchellh/consul/0.3.1_web_ui.zip      "
         "  -O web_ui.zip     && unzip web_ui.zip     && mv dist /webui     && rm web_ui.zip\")\n"
         "(run \"apt-get update \\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean     && "
         "apt-get --no-install-recommends install -y unzip wget     && apt-get clean     && rm -rf "
         "/var/lib/apt/lists     && cd /tmp     && wget "
         "https://dl.bintray.com/mitchellh/consul/0.3.1_web_ui.zip        -O web_ui.zip     && "
         "unzip web_ui.zip     && mv dist /webui     && rm web_ui.zip \\t&& dpkg -l | awk '/^ii/ "
         "{print $2}' > /tmp/dpkg.dirty \\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean "
         "/tmp/dpkg.dirty | awk '/^>/ {print $2}') \\t&& rm /tmp/dpkg.*\")\n"
         "(env \"GOPATH\" \"/go\" \"\")\n"
         "(run \"apt-get update \\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean     && "
         "apt-get --no-install-recommends install -y git golang ca-certificates build-essential    "
         " && apt-get clean     && rm -rf /var/lib/apt/lists \\t&& go get -v "
         "github.com/hashicorp/consul \\t&& mv $GOPATH/bin/consul /usr/bin/consul \\t&& dpkg -l | "
         "awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\t&& apt-get remove --purge -y $(diff "
         "/tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print $2}') \\t&& rm /tmp/dpkg.* \\t&& rm "
         "-rf $GOPATH\")\n"},
        {"continue-at-eof",
         "FROM alpine:3.5\n"
         "\n"
         "RUN something \\",
         "(from \"alpine:3.5\")\n"
         "(run \"something\")\n"},
        {"continueIndent",
         "FROM ubuntu:14.04\n"
         "\n"
         "RUN echo hello\\\n"
         "  world\\\n"
         "  goodnight  \\\n"
         "  moon\\\n"
         "  light\\\n"
         "ning\n"
         "RUN echo hello  \\\n"
         "  world\n"
         "RUN echo hello  \\\n"
         "world\n"
         "RUN echo hello \\\n"
         "goodbye\\\n"
         "frog\n"
         "RUN echo hello  \\  \n"
         "world\n"
         "RUN echo hi \\\n"
         " \\\n"
         " world \\\n"
         "\\\n"
         " good\\\n"
         "\\\n"
         "night\n"
         "RUN echo goodbye\\\n"
         "frog\n"
         "RUN echo good\\\n"
         "bye\\\n"
         "frog\n"
         "\n"
         "RUN echo hello \\\n"
         "# this is a comment\n"
         "\n"
         "# this is a comment with a blank line surrounding it\n"
         "\n"
         "this is some more useful stuff\n",
         "(from \"ubuntu:14.04\")\n"
         "(run \"echo hello  world  goodnight    moon  lightning\")\n"
         "(run \"echo hello    world\")\n"
         "(run \"echo hello  world\")\n"
         "(run \"echo hello goodbyefrog\")\n"
         "(run \"echo hello  world\")\n"
         "(run \"echo hi   world  goodnight\")\n"
         "(run \"echo goodbyefrog\")\n"
         "(run \"echo goodbyefrog\")\n"
         "(run \"echo hello this is some more useful stuff\")\n"},
        {"cpuguy83-nagios",
         "FROM cpuguy83/ubuntu\n"
         "ENV NAGIOS_HOME /opt/nagios\n"
         "ENV NAGIOS_USER nagios\n"
         "ENV NAGIOS_GROUP nagios\n"
         "ENV NAGIOS_CMDUSER nagios\n"
         "ENV NAGIOS_CMDGROUP nagios\n"
         "ENV NAGIOSADMIN_USER nagiosadmin\n"
         "ENV NAGIOSADMIN_PASS nagios\n"
         "ENV APACHE_RUN_USER nagios\n"
         "ENV APACHE_RUN_GROUP nagios\n"
         "ENV NAGIOS_TIMEZONE UTC\n"
         "\n"
         "RUN sed -i 's/universe/universe multiverse/' /etc/apt/sources.list\n"
         "RUN apt-get update && apt-get --no-install-recommends install -y iputils-ping netcat "
         "build-essential snmp snmpd snmp-mibs-downloader php5-cli apache2 libapache2-mod-php5 "
         "runit bc postfix bsd-mailx\n"
         "RUN ( egrep -i  \"^${NAGIOS_GROUP}\" /etc/group || groupadd $NAGIOS_GROUP ) && ( egrep "
         "-i \"^${NAGIOS_CMDGROUP}\" /etc/group || groupadd $NAGIOS_CMDGROUP )\n"
         "RUN ( id -u $NAGIOS_USER || useradd --system $NAGIOS_USER -g $NAGIOS_GROUP -d "
         "$NAGIOS_HOME ) && ( id -u $NAGIOS_CMDUSER || useradd --system -d $NAGIOS_HOME -g "
         "$NAGIOS_CMDGROUP $NAGIOS_CMDUSER )\n"
         "\n"
         "ADD "
         "http://downloads.sourceforge.net/project/nagios/nagios-3.x/nagios-3.5.1/"
         "nagios-3.5.1.tar.gz?r=http%3A%2F%2Fwww.nagios.org%2Fdownload%2Fcore%2Fthanks%2F%3Ft%"
         "3D1398863696&ts=1398863718&use_mirror=superb-dca3 /tmp/nagios.tar.gz\n"
         "RUN cd /tmp && tar -zxvf nagios.tar.gz && cd nagios  && ./configure "
         "--prefix=${NAGIOS_HOME} --exec-prefix=${NAGIOS_HOME} --enable-event-broker "
         "--with-nagios-command-user=${NAGIOS_CMDUSER} --with-command-group=${NAGIOS_CMDGROUP} "
         "--with-nagios-user=${NAGIOS_USER} --with-nagios-group=${NAGIOS_GROUP} && make all && "
         "make install && make install-config && make install-commandmode && cp "
         "sample-config/httpd.conf /etc/apache2/conf.d/nagios.conf\n"
         "ADD http://www.nagios-plugins.org/download/nagios-plugins-1.5.tar.gz /tmp/\n"
         "RUN cd /tmp && tar -zxvf nagios-plugins-1.5.tar.gz && cd nagios-plugins-1.5 && "
         "./configure --prefix=${NAGIOS_HOME} && make && make install\n"
         "\n"
         "RUN sed -i.bak 's/.*\\=www\\-data//g' /etc/apache2/envvars\n"
         "RUN export DOC_ROOT=\"DocumentRoot $(echo $NAGIOS_HOME/share)\"; sed -i "
         "\"s,DocumentRoot.*,$DOC_ROOT,\" /etc/apache2/sites-enabled/000-default\n"
         "\n"
         "RUN ln -s ${NAGIOS_HOME}/bin/nagios /usr/local/bin/nagios && mkdir -p "
         "/usr/share/snmp/mibs && chmod 0755 /usr/share/snmp/mibs && touch "
         "/usr/share/snmp/mibs/.foo\n"
         "\n"
         "RUN echo \"use_timezone=$NAGIOS_TIMEZONE\" >> ${NAGIOS_HOME}/etc/nagios.cfg && echo "
         "\"SetEnv TZ \\\"${NAGIOS_TIMEZONE}\\\"\" >> /etc/apache2/conf.d/nagios.conf\n"
         "\n"
         "RUN mkdir -p ${NAGIOS_HOME}/etc/conf.d && mkdir -p ${NAGIOS_HOME}/etc/monitor && ln -s "
         "/usr/share/snmp/mibs ${NAGIOS_HOME}/libexec/mibs\n"
         "RUN echo \"cfg_dir=${NAGIOS_HOME}/etc/conf.d\" >> ${NAGIOS_HOME}/etc/nagios.cfg\n"
         "RUN echo \"cfg_dir=${NAGIOS_HOME}/etc/monitor\" >> ${NAGIOS_HOME}/etc/nagios.cfg\n"
         "RUN download-mibs && echo \"mibs +ALL\" > /etc/snmp/snmp.conf\n"
         "\n"
         "RUN sed -i 's,/bin/mail,/usr/bin/mail,' /opt/nagios/etc/objects/commands.cfg && \\\n"
         "  sed -i 's,/usr/usr,/usr,' /opt/nagios/etc/objects/commands.cfg\n"
         "RUN cp /etc/services /var/spool/postfix/etc/\n"
         "\n"
         "RUN mkdir -p /etc/sv/nagios && mkdir -p /etc/sv/apache && rm -rf /etc/sv/getty-5 && "
         "mkdir -p /etc/sv/postfix\n"
         "ADD nagios.init /etc/sv/nagios/run\n"
         "ADD apache.init /etc/sv/apache/run\n"
         "ADD postfix.init /etc/sv/postfix/run\n"
         "ADD postfix.stop /etc/sv/postfix/finish\n"
         "\n"
         "ADD start.sh /usr/local/bin/start_nagios\n"
         "\n"
         "ENV APACHE_LOCK_DIR /var/run\n"
         "ENV APACHE_LOG_DIR /var/log/apache2\n"
         "\n"
         "EXPOSE 80\n"
         "\n"
         "VOLUME [\"/opt/nagios/var\", \"/opt/nagios/etc\", \"/opt/nagios/libexec\", "
         "\"/var/log/apache2\", \"/usr/share/snmp/mibs\"]\n"
         "\n"
         "CMD [\"/usr/local/bin/start_nagios\"]\n",
         "(from \"cpuguy83/ubuntu\")\n"
         "(env \"NAGIOS_HOME\" \"/opt/nagios\" \"\")\n"
         "(env \"NAGIOS_USER\" \"nagios\" \"\")\n"
         "(env \"NAGIOS_GROUP\" \"nagios\" \"\")\n"
         "(env \"NAGIOS_CMDUSER\" \"nagios\" \"\")\n"
         "(env \"NAGIOS_CMDGROUP\" \"nagios\" \"\")\n"
         "(env \"NAGIOSADMIN_USER\" \"nagiosadmin\" \"\")\n"
         "(env \"NAGIOSADMIN_PASS\" \"nagios\" \"\")\n"
         "(env \"APACHE_RUN_USER\" \"nagios\" \"\")\n"
         "(env \"APACHE_RUN_GROUP\" \"nagios\" \"\")\n"
         "(env \"NAGIOS_TIMEZONE\" \"UTC\" \"\")\n"
         "(run \"sed -i 's/universe/universe multiverse/' /etc/apt/sources.list\")\n"
         "(run \"apt-get update && apt-get --no-install-recommends install -y iputils-ping netcat "
         "build-essential snmp snmpd snmp-mibs-downloader php5-cli apache2 libapache2-mod-php5 "
         "runit bc postfix bsd-mailx\")\n"
         "(run \"( egrep -i  \\\"^${NAGIOS_GROUP}\\\" /etc/group || groupadd $NAGIOS_GROUP ) && ( "
         "egrep -i \\\"^${NAGIOS_CMDGROUP}\\\" /etc/group || groupadd $NAGIOS_CMDGROUP )\")\n"
         "(run \"( id -u $NAGIOS_USER || useradd --system $NAGIOS_USER -g $NAGIOS_GROUP -d "
         "$NAGIOS_HOME ) && ( id -u $NAGIOS_CMDUSER || useradd --system -d $NAGIOS_HOME -g "
         "$NAGIOS_CMDGROUP $NAGIOS_CMDUSER )\")\n"
         "(add "
         "\"http://downloads.sourceforge.net/project/nagios/nagios-3.x/nagios-3.5.1/"
         "nagios-3.5.1.tar.gz?r=http%3A%2F%2Fwww.nagios.org%2Fdownload%2Fcore%2Fthanks%2F%3Ft%"
         "3D1398863696&ts=1398863718&use_mirror=superb-dca3\" \"/tmp/nagios.tar.gz\")\n"
         "(run \"cd /tmp && tar -zxvf nagios.tar.gz && cd nagios  && ./configure "
         "--prefix=${NAGIOS_HOME} --exec-prefix=${NAGIOS_HOME} --enable-event-broker "
         "--with-nagios-command-user=${NAGIOS_CMDUSER} --with-command-group=${NAGIOS_CMDGROUP} "
         "--with-nagios-user=${NAGIOS_USER} --with-nagios-group=${NAGIOS_GROUP} && make all && "
         "make install && make install-config && make install-commandmode && cp "
         "sample-config/httpd.conf /etc/apache2/conf.d/nagios.conf\")\n"
         "(add \"http://www.nagios-plugins.org/download/nagios-plugins-1.5.tar.gz\" \"/tmp/\")\n"
         "(run \"cd /tmp && tar -zxvf nagios-plugins-1.5.tar.gz && cd nagios-plugins-1.5 && "
         "./configure --prefix=${NAGIOS_HOME} && make && make install\")\n"
         "(run \"sed -i.bak 's/.*\\\\=www\\\\-data//g' /etc/apache2/envvars\")\n"
         "(run \"export DOC_ROOT=\\\"DocumentRoot $(echo $NAGIOS_HOME/share)\\\"; sed -i "
         "\\\"s,DocumentRoot.*,$DOC_ROOT,\\\" /etc/apache2/sites-enabled/000-default\")\n"
         "(run \"ln -s ${NAGIOS_HOME}/bin/nagios /usr/local/bin/nagios && mkdir -p "
         "/usr/share/snmp/mibs && chmod 0755 /usr/share/snmp/mibs && touch "
         "/usr/share/snmp/mibs/.foo\")\n"
         "(run \"echo \\\"use_timezone=$NAGIOS_TIMEZONE\\\" >> ${NAGIOS_HOME}/etc/nagios.cfg && "
         "echo \\\"SetEnv TZ \\\\\\\"${NAGIOS_TIMEZONE}\\\\\\\"\\\" >> "
         "/etc/apache2/conf.d/nagios.conf\")\n"
         "(run \"mkdir -p ${NAGIOS_HOME}/etc/conf.d && mkdir -p ${NAGIOS_HOME}/etc/monitor && ln "
         "-s /usr/share/snmp/mibs ${NAGIOS_HOME}/libexec/mibs\")\n"
         "(run \"echo \\\"cfg_dir=${NAGIOS_HOME}/etc/conf.d\\\" >> "
         "${NAGIOS_HOME}/etc/nagios.cfg\")\n"
         "(run \"echo \\\"cfg_dir=${NAGIOS_HOME}/etc/monitor\\\" >> "
         "${NAGIOS_HOME}/etc/nagios.cfg\")\n"
         "(run \"download-mibs && echo \\\"mibs +ALL\\\" > /etc/snmp/snmp.conf\")\n"
         "(run \"sed -i 's,/bin/mail,/usr/bin/mail,' /opt/nagios/etc/objects/commands.cfg &&   sed "
         "-i 's,/usr/usr,/usr,' /opt/nagios/etc/objects/commands.cfg\")\n"
         "(run \"cp /etc/services /var/spool/postfix/etc/\")\n"
         "(run \"mkdir -p /etc/sv/nagios && mkdir -p /etc/sv/apache && rm -rf /etc/sv/getty-5 && "
         "mkdir -p /etc/sv/postfix\")\n"
         "(add \"nagios.init\" \"/etc/sv/nagios/run\")\n"
         "(add \"apache.init\" \"/etc/sv/apache/run\")\n"
         "(add \"postfix.init\" \"/etc/sv/postfix/run\")\n"
         "(add \"postfix.stop\" \"/etc/sv/postfix/finish\")\n"
         "(add \"start.sh\" \"/usr/local/bin/start_nagios\")\n"
         "(env \"APACHE_LOCK_DIR\" \"/var/run\" \"\")\n"
         "(env \"APACHE_LOG_DIR\" \"/var/log/apache2\" \"\")\n"
         "(expose \"80\")\n"
         "(volume \"/opt/nagios/var\" \"/opt/nagios/etc\" \"/opt/nagios/libexec\" "
         "\"/var/log/apache2\" \"/usr/share/snmp/mibs\")\n"
         "(cmd \"/usr/local/bin/start_nagios\")\n"},
        {"docker",
         "# This file describes the standard way to build Docker, using docker\n"
         "#\n"
         "# Usage:\n"
         "#\n"
         "# # Assemble the full dev environment. This is slow the first time.\n"
         "# docker build -t docker .\n"
         "#\n"
         "# # Mount your source in an interactive container for quick testing:\n"
         "# docker run -v `pwd`:/go/src/github.com/docker/docker --privileged -i -t docker bash\n"
         "#\n"
         "# # Run the test suite:\n"
         "# docker run --privileged docker hack/make.sh test-unit test-integration test-docker-py\n"
         "#\n"
         "# Note: AppArmor used to mess with privileged mode, but this is no longer\n"
         "# the case. Therefore, you don't have to disable it anymore.\n"
         "#\n"
         "\n"
         "FROM\tubuntu:14.04\n"
         "LABEL\tmaintainer\tTianon Gravi <admwiggin@gmail.com> (@tianon)\n"
         "\n"
         "# Packaged dependencies\n"
         "RUN\tapt-get update && DEBIAN_FRONTEND=noninteractive apt-get --no-install-recommends "
         "install -yq \\\n"
         "\tapt-utils \\\n"
         "\taufs-tools \\\n"
         "\tautomake \\\n"
         "\tbtrfs-tools \\\n"
         "\tbuild-essential \\\n"
         "\tcurl \\\n"
         "\tdpkg-sig \\\n"
         "\tgit \\\n"
         "\tiptables \\\n"
         "\tlibapparmor-dev \\\n"
         "\tlibcap-dev \\\n"
         "\tmercurial \\\n"
         "\tpandoc \\\n"
         "\tparallel \\\n"
         "\treprepro \\\n"
         "\truby1.9.1 \\\n"
         "\truby1.9.1-dev \\\n"
         "\ts3cmd=1.1.0* \\\n"
         "\t--no-install-recommends\n"
         "\n"
         "# Get lvm2 source for compiling statically\n"
         "RUN\tgit clone --no-checkout https://git.fedorahosted.org/git/lvm2.git /usr/local/lvm2 "
         "&& cd /usr/local/lvm2 && git checkout -q v2_02_103\n"
         "# see https://git.fedorahosted.org/cgit/lvm2.git/refs/tags for release tags\n"
         "# note: we don't use \"git clone -b\" above because it then spews big nasty warnings "
         "about 'detached HEAD' state that we can't silence as easily as we can silence them using "
         "\"git checkout\" directly\n"
         "\n"
         "# Compile and install lvm2\n"
         "RUN\tcd /usr/local/lvm2 && ./configure --enable-static_link && make device-mapper && "
         "make install_device-mapper\n"
         "# see https://git.fedorahosted.org/cgit/lvm2.git/tree/INSTALL\n"
         "\n"
         "# Install Go\n"
         "RUN\tcurl -sSL https://golang.org/dl/go1.3.src.tar.gz | tar -v -C /usr/local -xz\n"
         "ENV\tPATH\t/usr/local/go/bin:$PATH\n"
         "ENV\tGOPATH\t/go:/go/src/github.com/docker/docker/vendor\n"
         "RUN\tcd /usr/local/go/src && ./make.bash --no-clean 2>&1\n"
         "\n"
         "# Compile Go for cross compilation\n"
         "ENV\tDOCKER_CROSSPLATFORMS\t\\\n"
         "\tlinux/386 linux/arm \\\n"
         "\tdarwin/amd64 darwin/386 \\\n"
         "\tfreebsd/amd64 freebsd/386 freebsd/arm\n"
         "# (set an explicit GOARM of 5 for maximum compatibility)\n"
         "ENV\tGOARM\t5\n"
         "RUN\tcd /usr/local/go/src && bash -xc 'for platform in $DOCKER_CROSSPLATFORMS; do "
         "GOOS=${platform%/*} GOARCH=${platform##*/} ./make.bash --no-clean 2>&1; done'\n"
         "\n"
         "# Grab Go's cover tool for dead-simple code coverage testing\n"
         "RUN\tgo get golang.org/x/tools/cmd/cover\n"
         "\n"
         "# TODO replace FPM with some very minimal debhelper stuff\n"
         "RUN\tgem install --no-rdoc --no-ri fpm --version 1.0.2\n"
         "\n"
         "# Get the \"busybox\" image source so we can build locally instead of pulling\n"
         "RUN\tgit clone -b buildroot-2014.02 https://github.com/jpetazzo/docker-busybox.git "
         "/docker-busybox\n"
         "\n"
         "# Setup s3cmd config\n"
         "RUN\t/bin/echo -e '[default]\\naccess_key=$AWS_ACCESS_KEY\\nsecret_key=$AWS_SECRET_KEY' "
         "> /.s3cfg\n"
         "\n"
         "# Set user.email so crosbymichael's in-container merge commits go smoothly\n"
         "RUN\tgit config --global user.email 'docker-dummy@example.com'\n"
         "\n"
         "# Add an unprivileged user to be used for tests which need it\n"
         "RUN groupadd -r docker\n"
         "RUN useradd --create-home --gid docker unprivilegeduser\n"
         "\n"
         "VOLUME\t/var/lib/docker\n"
         "WORKDIR\t/go/src/github.com/docker/docker\n"
         "ENV\tDOCKER_BUILDTAGS\tapparmor selinux\n"
         "\n"
         "# Wrap all commands in the \"docker-in-docker\" script to allow nested containers\n"
         "ENTRYPOINT\t[\"hack/dind\"]\n"
         "\n"
         "# Upload docker source\n"
         "COPY\t.\t/go/src/github.com/docker/docker\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"Tianon Gravi <admwiggin@gmail.com> (@tianon)\" \"\")\n"
         "(run \"apt-get update && DEBIAN_FRONTEND=noninteractive apt-get --no-install-recommends "
         "install -yq \\tapt-utils \\taufs-tools \\tautomake \\tbtrfs-tools \\tbuild-essential "
         "\\tcurl \\tdpkg-sig \\tgit \\tiptables \\tlibapparmor-dev \\tlibcap-dev \\tmercurial "
         "\\tpandoc \\tparallel \\treprepro \\truby1.9.1 \\truby1.9.1-dev \\ts3cmd=1.1.0* "
         "\\t--no-install-recommends\")\n"
         "(run \"git clone --no-checkout https://git.fedorahosted.org/git/lvm2.git /usr/local/lvm2 "
         "&& cd /usr/local/lvm2 && git checkout -q v2_02_103\")\n"
         "(run \"cd /usr/local/lvm2 && ./configure --enable-static_link && make device-mapper && "
         "make install_device-mapper\")\n"
         "(run \"curl -sSL https://golang.org/dl/go1.3.src.tar.gz | tar -v -C /usr/local -xz\")\n"
         "(env \"PATH\" \"/usr/local/go/bin:$PATH\" \"\")\n"
         "(env \"GOPATH\" \"/go:/go/src/github.com/docker/docker/vendor\" \"\")\n"
         "(run \"cd /usr/local/go/src && ./make.bash --no-clean 2>&1\")\n"
         "(env \"DOCKER_CROSSPLATFORMS\" \"linux/386 linux/arm \\tdarwin/amd64 darwin/386 "
         "\\tfreebsd/amd64 freebsd/386 freebsd/arm\" \"\")\n"
         "(env \"GOARM\" \"5\" \"\")\n"
         "(run \"cd /usr/local/go/src && bash -xc 'for platform in $DOCKER_CROSSPLATFORMS; do "
         "GOOS=${platform%/*} GOARCH=${platform##*/} ./make.bash --no-clean 2>&1; done'\")\n"
         "(run \"go get golang.org/x/tools/cmd/cover\")\n"
         "(run \"gem install --no-rdoc --no-ri fpm --version 1.0.2\")\n"
         "(run \"git clone -b buildroot-2014.02 https://github.com/jpetazzo/docker-busybox.git "
         "/docker-busybox\")\n"
         "(run \"/bin/echo -e "
         "'[default]\\\\naccess_key=$AWS_ACCESS_KEY\\\\nsecret_key=$AWS_SECRET_KEY' > /.s3cfg\")\n"
         "(run \"git config --global user.email 'docker-dummy@example.com'\")\n"
         "(run \"groupadd -r docker\")\n"
         "(run \"useradd --create-home --gid docker unprivilegeduser\")\n"
         "(volume \"/var/lib/docker\")\n"
         "(workdir \"/go/src/github.com/docker/docker\")\n"
         "(env \"DOCKER_BUILDTAGS\" \"apparmor selinux\" \"\")\n"
         "(entrypoint \"hack/dind\")\n"
         "(copy \".\" \"/go/src/github.com/docker/docker\")\n"},
        {"env",
         "FROM ubuntu\n"
         "ENV name value\n"
         "ENV name=value\n"
         "ENV name=value name2=value2\n"
         "ENV name=\"value value1\"\n"
         "ENV name=value\\ value2\n"
         "ENV name=\"value'quote space'value2\"\n"
         "ENV name='value\"double quote\"value2'\n"
         "ENV name=value\\ value2 name2=value2\\ value3\n"
         "ENV name=\"a\\\"b\"\n"
         "ENV name=\"a\\'b\"\n"
         "ENV name='a\\'b'\n"
         "ENV name='a\\'b''\n"
         "ENV name='a\\\"b'\n"
         "ENV name=\"''\"\n"
         "# don't put anything after the next line - it must be the last line of the\n"
         "# Dockerfile and it must end with \\\n"
         "ENV name=value \\\n"
         "    name1=value1 \\\n"
         "    name2=\"value2a \\\n"
         "           value2b\" \\\n"
         "    name3=\"value3a\\n\\\"value3b\\\"\" \\\n"
         "\tname4=\"value4a\\\\nvalue4b\" \\\n",
         "(from \"ubuntu\")\n"
         "(env \"name\" \"value\" \"\")\n"
         "(env \"name\" \"value\" \"=\")\n"
         "(env \"name\" \"value\" \"=\" \"name2\" \"value2\" \"=\")\n"
         "(env \"name\" \"\\\"value value1\\\"\" \"=\")\n"
         "(env \"name\" \"value\\\\ value2\" \"=\")\n"
         "(env \"name\" \"\\\"value'quote space'value2\\\"\" \"=\")\n"
         "(env \"name\" \"'value\\\"double quote\\\"value2'\" \"=\")\n"
         "(env \"name\" \"value\\\\ value2\" \"=\" \"name2\" \"value2\\\\ value3\" \"=\")\n"
         "(env \"name\" \"\\\"a\\\\\\\"b\\\"\" \"=\")\n"
         "(env \"name\" \"\\\"a\\\\'b\\\"\" \"=\")\n"
         "(env \"name\" \"'a\\\\'b'\" \"=\")\n"
         "(env \"name\" \"'a\\\\'b''\" \"=\")\n"
         "(env \"name\" \"'a\\\\\\\"b'\" \"=\")\n"
         "(env \"name\" \"\\\"''\\\"\" \"=\")\n"
         "(env \"name\" \"value\" \"=\" \"name1\" \"value1\" \"=\" \"name2\" \"\\\"value2a         "
         "   value2b\\\"\" \"=\" \"name3\" \"\\\"value3a\\\\n\\\\\\\"value3b\\\\\\\"\\\"\" \"=\" "
         "\"name4\" \"\\\"value4a\\\\\\\\nvalue4b\\\"\" \"=\")\n"},
        {"escape-after-comment",
         "# Comment here. Should not be looking for the following parser directive.\n"
         "# Hence the following line will be ignored, and the subsequent backslash\n"
         "# continuation will be the default.\n"
         "# escape = `\n"
         "\n"
         "FROM image\n"
         "LABEL maintainer foo@bar.com\n"
         "ENV GOPATH \\\n"
         "\\go",
         "(from \"image\")\n"
         "(label \"maintainer\" \"foo@bar.com\" \"\")\n"
         "(env \"GOPATH\" \"\\\\go\" \"\")\n"},
        {"escape-nonewline",
         "# escape = `\n"
         "# There is no white space line after the directives. This still succeeds, but goes\n"
         "# against best practices.\n"
         "FROM image\n"
         "LABEL maintainer foo@bar.com\n"
         "ENV GOPATH `\n"
         "\\go\n",
         "(from \"image\")\n"
         "(label \"maintainer\" \"foo@bar.com\" \"\")\n"
         "(env \"GOPATH\" \"\\\\go\" \"\")\n"},
        {"escape-with-syntax",
         "# syntax = docker/dockerfile\n"
         "# escape = `\n"
         "\n"
         "FROM `\n"
         "    image\n",
         "(from \"image\")\n"},
        {"escape",
         "#escape = `\n"
         "\n"
         "FROM image\n"
         "LABEL maintainer foo@bar.com\n"
         "ENV GOPATH `\n"
         "\\go",
         "(from \"image\")\n"
         "(label \"maintainer\" \"foo@bar.com\" \"\")\n"
         "(env \"GOPATH\" \"\\\\go\" \"\")\n"},
        {"escapes",
         "FROM ubuntu:14.04\n"
         "LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\\"\n"
         "\n"
         "RUN apt-get \\update && \\\n"
         "  apt-get \\\"install znc -y\n"
         "ADD \\conf\\\\\" /.znc\n"
         "\n"
         "RUN foo \\\n"
         "\n"
         "bar \\\n"
         "\n"
         "baz\n"
         "\n"
         "CMD [ \"\\/usr\\\\\\\"/bin/znc\", \"-f\", \"-r\" ]\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"Erik \\\\\\\\Hollensbe <erik@hollensbe.org>\\\\\\\"\" \"\")\n"
         "(run \"apt-get \\\\update &&   apt-get \\\\\\\"install znc -y\")\n"
         "(add \"\\\\conf\\\\\\\\\\\"\" \"/.znc\")\n"
         "(run \"foo bar baz\")\n"
         "(cmd \"/usr\\\\\\\"/bin/znc\" \"-f\" \"-r\")\n"},
        {"flags",
         "FROM scratch\n"
         "COPY foo /tmp/\n"
         "COPY --user=me foo /tmp/\n"
         "COPY --doit=true foo /tmp/\n"
         "COPY --user=me --doit=true foo /tmp/\n"
         "COPY --doit=true -- foo /tmp/\n"
         "COPY -- foo /tmp/\n"
         "CMD --doit [ \"a\", \"b\" ]\n"
         "CMD --doit=true -- [ \"a\", \"b\" ]\n"
         "CMD --doit -- [ ]\n",
         "(from \"scratch\")\n"
         "(copy \"foo\" \"/tmp/\")\n"
         "(copy [\"--user=me\"] \"foo\" \"/tmp/\")\n"
         "(copy [\"--doit=true\"] \"foo\" \"/tmp/\")\n"
         "(copy [\"--user=me\" \"--doit=true\"] \"foo\" \"/tmp/\")\n"
         "(copy [\"--doit=true\"] \"foo\" \"/tmp/\")\n"
         "(copy \"foo\" \"/tmp/\")\n"
         "(cmd [\"--doit\"] \"a\" \"b\")\n"
         "(cmd [\"--doit=true\"] \"a\" \"b\")\n"
         "(cmd [\"--doit\"])\n"},
        {"health",
         "FROM debian\n"
         "ADD check.sh main.sh /app/\n"
         "CMD /app/main.sh\n"
         "HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n"
         "  CMD /app/check.sh --quiet\n"
         "HEALTHCHECK   CMD   a b\n"
         "HEALTHCHECK --timeout=3s CMD [\"foo\"]\n"
         "HEALTHCHECK --start-period=0s --start-interval=0s --interval=5s --timeout=0s --retries=0 "
         "CMD [\"foo\"]\n",
         "(from \"debian\")\n"
         "(add \"check.sh\" \"main.sh\" \"/app/\")\n"
         "(cmd \"/app/main.sh\")\n"
         "(healthcheck [\"--interval=5s\" \"--timeout=3s\" \"--retries=3\"] \"CMD\" "
         "\"/app/check.sh --quiet\")\n"
         "(healthcheck \"CMD\" \"a b\")\n"
         "(healthcheck [\"--timeout=3s\"] \"CMD\" \"foo\")\n"
         "(healthcheck [\"--start-period=0s\" \"--start-interval=0s\" \"--interval=5s\" "
         "\"--timeout=0s\" \"--retries=0\"] \"CMD\" \"foo\")\n"},
        {"influxdb",
         "FROM ubuntu:14.04\n"
         "\n"
         "RUN apt-get update && apt-get install wget -y\n"
         "RUN wget http://s3.amazonaws.com/influxdb/influxdb_latest_amd64.deb\n"
         "RUN dpkg -i influxdb_latest_amd64.deb\n"
         "RUN rm -r /opt/influxdb/shared\n"
         "\n"
         "VOLUME /opt/influxdb/shared\n"
         "\n"
         "CMD /usr/bin/influxdb --pidfile /var/run/influxdb.pid -config "
         "/opt/influxdb/shared/config.toml\n"
         "\n"
         "EXPOSE 8083\n"
         "EXPOSE 8086\n"
         "EXPOSE 8090\n"
         "EXPOSE 8099\n",
         "(from \"ubuntu:14.04\")\n"
         "(run \"apt-get update && apt-get install wget -y\")\n"
         "(run \"wget http://s3.amazonaws.com/influxdb/influxdb_latest_amd64.deb\")\n"
         "(run \"dpkg -i influxdb_latest_amd64.deb\")\n"
         "(run \"rm -r /opt/influxdb/shared\")\n"
         "(volume \"/opt/influxdb/shared\")\n"
         "(cmd \"/usr/bin/influxdb --pidfile /var/run/influxdb.pid -config "
         "/opt/influxdb/shared/config.toml\")\n"
         "(expose \"8083\")\n"
         "(expose \"8086\")\n"
         "(expose \"8090\")\n"
         "(expose \"8099\")\n"},
        {"jeztah-invalid-json-json-inside-string-double",
         "CMD \"[\\\"echo\\\", \\\"Phew, I just managed to escaped those double quotes\\\"]\"\n",
         "(cmd \"\\\"[\\\\\\\"echo\\\\\\\", \\\\\\\"Phew, I just managed to escaped those double "
         "quotes\\\\\\\"]\\\"\")\n"},
        {"jeztah-invalid-json-json-inside-string",
         "CMD '[\"echo\", \"Well, JSON in a string is JSON too?\"]'\n",
         "(cmd \"'[\\\"echo\\\", \\\"Well, JSON in a string is JSON too?\\\"]'\")\n"},
        {"jeztah-invalid-json-single-quotes", "CMD ['echo','single quotes are invalid JSON']\n",
         "(cmd \"['echo','single quotes are invalid JSON']\")\n"},
        {"jeztah-invalid-json-unterminated-bracket",
         "CMD [\"echo\", \"Please, close the brackets when you're done\"\n",
         "(cmd \"[\\\"echo\\\", \\\"Please, close the brackets when you're done\\\"\")\n"},
        {"jeztah-invalid-json-unterminated-string", "CMD [\"echo\", \"look ma, no quote!]\n",
         "(cmd \"[\\\"echo\\\", \\\"look ma, no quote!]\")\n"},
        {"json",
         "CMD []\n"
         "CMD [\"\"]\n"
         "CMD [\"a\"]\n"
         "CMD [\"a\",\"b\"]\n"
         "CMD [ \"a\", \"b\" ]\n"
         "CMD [\t\"a\",\t\"b\"\t]\n"
         "CMD\t[\t\"a\",\t\"b\"\t]\t\n"
         "CMD [\"abc 123\", \"♥\", \"☃\", \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]\n",
         "(cmd)\n"
         "(cmd \"\")\n"
         "(cmd \"a\")\n"
         "(cmd \"a\" \"b\")\n"
         "(cmd \"a\" \"b\")\n"
         "(cmd \"a\" \"b\")\n"
         "(cmd \"a\" \"b\")\n"
         "(cmd \"abc 123\" \"♥\" \"☃\" \"\\\" \\\\ / \\b \\f \\n \\r \\t\")\n"},
        {"kartar-entrypoint-oddities",
         "FROM ubuntu:14.04\n"
         "LABEL maintainer James Turnbull \"james@example.com\"\n"
         "ENV REFRESHED_AT 2014-06-01\n"
         "RUN apt-get update\n"
         "RUN apt-get --no-install-recommends install -y redis-server redis-tools\n"
         "EXPOSE 6379\n"
         "ENTRYPOINT [ \"/usr/bin/redis-server\" ]\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"James Turnbull \\\"james@example.com\\\"\" \"\")\n"
         "(env \"REFRESHED_AT\" \"2014-06-01\" \"\")\n"
         "(run \"apt-get update\")\n"
         "(run \"apt-get --no-install-recommends install -y redis-server redis-tools\")\n"
         "(expose \"6379\")\n"
         "(entrypoint \"/usr/bin/redis-server\")\n"},
        {"lk4d4-the-edge-case-generator",
         "FROM busybox:buildroot-2014.02\n"
         "\n"
         "LABEL maintainer docker <docker@docker.io>\n"
         "\n"
         "ONBUILD RUN [\"echo\", \"test\"]\n"
         "ONBUILD RUN echo test\n"
         "ONBUILD COPY . /\n"
         "\n"
         "\n"
         "# RUN Commands \\\n"
         "# linebreak in comment \\\n"
         "RUN [\"ls\", \"-la\"]\n"
         "RUN [\"echo\", \"'1234'\"]\n"
         "RUN echo \"1234\"\n"
         "RUN echo 1234\n"
         "RUN echo '1234' && \\\n"
         "    echo \"456\" && \\\n"
         "    echo 789\n"
         "RUN    sh -c 'echo root:testpass \\\n"
         "        > /tmp/passwd'\n"
         "RUN mkdir -p /test /test2 /test3/test\n"
         "\n"
         "# ENV \\\n"
         "ENV SCUBA 1 DUBA 3\n"
         "ENV SCUBA \"1 DUBA 3\"\n"
         "\n"
         "# CMD \\\n"
         "CMD [\"echo\", \"test\"]\n"
         "CMD echo test\n"
         "CMD echo \"test\"\n"
         "CMD echo 'test'\n"
         "CMD echo 'test' | wc -\n"
         "\n"
         "#EXPOSE\\\n"
         "EXPOSE 3000\n"
         "EXPOSE 9000 5000 6000\n"
         "\n"
         "USER docker\n"
         "USER docker:root\n"
         "\n"
         "VOLUME [\"/test\"]\n"
         "VOLUME [\"/test\", \"/test2\"]\n"
         "VOLUME /test3\n"
         "\n"
         "WORKDIR /test\n"
         "\n"
         "ADD . /\n"
         "COPY . copy\n",
         "(from \"busybox:buildroot-2014.02\")\n"
         "(label \"maintainer\" \"docker <docker@docker.io>\" \"\")\n"
         "(onbuild (run \"echo\" \"test\"))\n"
         "(onbuild (run \"echo test\"))\n"
         "(onbuild (copy \".\" \"/\"))\n"
         "(run \"ls\" \"-la\")\n"
         "(run \"echo\" \"'1234'\")\n"
         "(run \"echo \\\"1234\\\"\")\n"
         "(run \"echo 1234\")\n"
         "(run \"echo '1234' &&     echo \\\"456\\\" &&     echo 789\")\n"
         "(run \"sh -c 'echo root:testpass         > /tmp/passwd'\")\n"
         "(run \"mkdir -p /test /test2 /test3/test\")\n"
         "(env \"SCUBA\" \"1 DUBA 3\" \"\")\n"
         "(env \"SCUBA\" \"\\\"1 DUBA 3\\\"\" \"\")\n"
         "(cmd \"echo\" \"test\")\n"
         "(cmd \"echo test\")\n"
         "(cmd \"echo \\\"test\\\"\")\n"
         "(cmd \"echo 'test'\")\n"
         "(cmd \"echo 'test' | wc -\")\n"
         "(expose \"3000\")\n"
         "(expose \"9000\" \"5000\" \"6000\")\n"
         "(user \"docker\")\n"
         "(user \"docker:root\")\n"
         "(volume \"/test\")\n"
         "(volume \"/test\" \"/test2\")\n"
         "(volume \"/test3\")\n"
         "(workdir \"/test\")\n"
         "(add \".\" \"/\")\n"
         "(copy \".\" \"copy\")\n"},
        {"mail",
         "FROM ubuntu:14.04\n"
         "\n"
         "RUN apt-get update -qy && apt-get install mutt offlineimap vim-nox abook elinks curl "
         "tmux cron zsh -y\n"
         "ADD .muttrc /\n"
         "ADD .offlineimaprc /\n"
         "ADD .tmux.conf /\n"
         "ADD mutt /.mutt\n"
         "ADD vim /.vim\n"
         "ADD vimrc /.vimrc\n"
         "ADD crontab /etc/crontab\n"
         "RUN chmod 644 /etc/crontab\n"
         "RUN mkdir /Mail\n"
         "RUN mkdir /.offlineimap\n"
         "RUN echo \"export TERM=screen-256color\" >/.zshenv\n"
         "\n"
         "CMD setsid cron; tmux -2\n",
         "(from \"ubuntu:14.04\")\n"
         "(run \"apt-get update -qy && apt-get install mutt offlineimap vim-nox abook elinks curl "
         "tmux cron zsh -y\")\n"
         "(add \".muttrc\" \"/\")\n"
         "(add \".offlineimaprc\" \"/\")\n"
         "(add \".tmux.conf\" \"/\")\n"
         "(add \"mutt\" \"/.mutt\")\n"
         "(add \"vim\" \"/.vim\")\n"
         "(add \"vimrc\" \"/.vimrc\")\n"
         "(add \"crontab\" \"/etc/crontab\")\n"
         "(run \"chmod 644 /etc/crontab\")\n"
         "(run \"mkdir /Mail\")\n"
         "(run \"mkdir /.offlineimap\")\n"
         "(run \"echo \\\"export TERM=screen-256color\\\" >/.zshenv\")\n"
         "(cmd \"setsid cron; tmux -2\")\n"},
        {"multiple-volumes",
         "FROM foo\n"
         "\n"
         "VOLUME /opt/nagios/var /opt/nagios/etc /opt/nagios/libexec /var/log/apache2 "
         "/usr/share/snmp/mibs\n",
         "(from \"foo\")\n"
         "(volume \"/opt/nagios/var\" \"/opt/nagios/etc\" \"/opt/nagios/libexec\" "
         "\"/var/log/apache2\" \"/usr/share/snmp/mibs\")\n"},
        {"mumble",
         "FROM ubuntu:14.04\n"
         "\n"
         "RUN apt-get update && apt-get install libcap2-bin mumble-server -y\n"
         "\n"
         "ADD ./mumble-server.ini /etc/mumble-server.ini\n"
         "\n"
         "CMD /usr/sbin/murmurd\n",
         "(from \"ubuntu:14.04\")\n"
         "(run \"apt-get update && apt-get install libcap2-bin mumble-server -y\")\n"
         "(add \"./mumble-server.ini\" \"/etc/mumble-server.ini\")\n"
         "(cmd \"/usr/sbin/murmurd\")\n"},
        {"nginx",
         "FROM ubuntu:14.04\n"
         "LABEL maintainer Erik Hollensbe <erik@hollensbe.org>\n"
         "\n"
         "RUN apt-get update && apt-get install nginx-full -y\n"
         "RUN rm -rf /etc/nginx\n"
         "ADD etc /etc/nginx\n"
         "RUN chown -R root:root /etc/nginx\n"
         "RUN /usr/sbin/nginx -qt\n"
         "RUN mkdir /www\n"
         "\n"
         "CMD [\"/usr/sbin/nginx\"]\n"
         "\n"
         "VOLUME /www\n"
         "EXPOSE 80\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"Erik Hollensbe <erik@hollensbe.org>\" \"\")\n"
         "(run \"apt-get update && apt-get install nginx-full -y\")\n"
         "(run \"rm -rf /etc/nginx\")\n"
         "(add \"etc\" \"/etc/nginx\")\n"
         "(run \"chown -R root:root /etc/nginx\")\n"
         "(run \"/usr/sbin/nginx -qt\")\n"
         "(run \"mkdir /www\")\n"
         "(cmd \"/usr/sbin/nginx\")\n"
         "(volume \"/www\")\n"
         "(expose \"80\")\n"},
        {"tf2",
         "FROM ubuntu:12.04\n"
         "\n"
         "EXPOSE 27015\n"
         "EXPOSE 27005\n"
         "EXPOSE 26901\n"
         "EXPOSE 27020\n"
         "\n"
         "RUN apt-get update && apt-get install libc6-dev-i386 curl unzip -y\n"
         "RUN mkdir -p /steam\n"
         "RUN curl http://media.steampowered.com/client/steamcmd_linux.tar.gz | tar vxz -C /steam\n"
         "ADD ./script /steam/script\n"
         "RUN /steam/steamcmd.sh +runscript /steam/script\n"
         "RUN curl http://mirror.pointysoftware.net/alliedmodders/mmsource-1.10.0-linux.tar.gz | "
         "tar vxz -C /steam/tf2/tf\n"
         "RUN curl http://mirror.pointysoftware.net/alliedmodders/sourcemod-1.5.3-linux.tar.gz | "
         "tar vxz -C /steam/tf2/tf\n"
         "ADD ./server.cfg /steam/tf2/tf/cfg/server.cfg\n"
         "ADD ./ctf_2fort.cfg /steam/tf2/tf/cfg/ctf_2fort.cfg\n"
         "ADD ./sourcemod.cfg /steam/tf2/tf/cfg/sourcemod/sourcemod.cfg\n"
         "RUN rm -r /steam/tf2/tf/addons/sourcemod/configs\n"
         "ADD ./configs /steam/tf2/tf/addons/sourcemod/configs\n"
         "RUN mkdir -p /steam/tf2/tf/addons/sourcemod/translations/en\n"
         "RUN cp /steam/tf2/tf/addons/sourcemod/translations/*.txt "
         "/steam/tf2/tf/addons/sourcemod/translations/en\n"
         "\n"
         "CMD cd /steam/tf2 && ./srcds_run -port 27015 +ip 0.0.0.0 +map ctf_2fort -autoupdate "
         "-steam_dir /steam -steamcmd_script /steam/script +tf_bot_quota 12 +tf_bot_quota_mode "
         "fill\n",
         "(from \"ubuntu:12.04\")\n"
         "(expose \"27015\")\n"
         "(expose \"27005\")\n"
         "(expose \"26901\")\n"
         "(expose \"27020\")\n"
         "(run \"apt-get update && apt-get install libc6-dev-i386 curl unzip -y\")\n"
         "(run \"mkdir -p /steam\")\n"
         "(run \"curl http://media.steampowered.com/client/steamcmd_linux.tar.gz | tar vxz -C "
         "/steam\")\n"
         "(add \"./script\" \"/steam/script\")\n"
         "(run \"/steam/steamcmd.sh +runscript /steam/script\")\n"
         "(run \"curl http://mirror.pointysoftware.net/alliedmodders/mmsource-1.10.0-linux.tar.gz "
         "| tar vxz -C /steam/tf2/tf\")\n"
         "(run \"curl http://mirror.pointysoftware.net/alliedmodders/sourcemod-1.5.3-linux.tar.gz "
         "| tar vxz -C /steam/tf2/tf\")\n"
         "(add \"./server.cfg\" \"/steam/tf2/tf/cfg/server.cfg\")\n"
         "(add \"./ctf_2fort.cfg\" \"/steam/tf2/tf/cfg/ctf_2fort.cfg\")\n"
         "(add \"./sourcemod.cfg\" \"/steam/tf2/tf/cfg/sourcemod/sourcemod.cfg\")\n"
         "(run \"rm -r /steam/tf2/tf/addons/sourcemod/configs\")\n"
         "(add \"./configs\" \"/steam/tf2/tf/addons/sourcemod/configs\")\n"
         "(run \"mkdir -p /steam/tf2/tf/addons/sourcemod/translations/en\")\n"
         "(run \"cp /steam/tf2/tf/addons/sourcemod/translations/*.txt "
         "/steam/tf2/tf/addons/sourcemod/translations/en\")\n"
         "(cmd \"cd /steam/tf2 && ./srcds_run -port 27015 +ip 0.0.0.0 +map ctf_2fort -autoupdate "
         "-steam_dir /steam -steamcmd_script /steam/script +tf_bot_quota 12 +tf_bot_quota_mode "
         "fill\")\n"},
        {"trailing-backslash",
         "# https://github.com/docker/for-win/issues/5254\n"
         "\n"
         "FROM hello-world\n"
         "\n"
         "ENV A path\n"
         "ENV B another\\\\path\n"
         "ENV C trailing\\\\backslash\\\\\n"
         "ENV D This should not be appended to C\n"
         "ENV E hello\\\n"
         "\\\n"
         "world\n"
         "ENV F hello\\\n"
         " \\\n"
         "world\n"
         "ENV G hello \\\n"
         "\\\n"
         "world\n",
         "(from \"hello-world\")\n"
         "(env \"A\" \"path\" \"\")\n"
         "(env \"B\" \"another\\\\\\\\path\" \"\")\n"
         "(env \"C\" \"trailing\\\\\\\\backslash\\\\\\\\\" \"\")\n"
         "(env \"D\" \"This should not be appended to C\" \"\")\n"
         "(env \"E\" \"helloworld\" \"\")\n"
         "(env \"F\" \"hello world\" \"\")\n"
         "(env \"G\" \"hello world\" \"\")\n"},
        {"weechat",
         "FROM ubuntu:14.04\n"
         "\n"
         "RUN apt-get update -qy && apt-get install tmux zsh weechat-curses -y\n"
         "\n"
         "ADD .weechat /.weechat\n"
         "ADD .tmux.conf /\n"
         "RUN echo \"export TERM=screen-256color\" >/.zshenv\n"
         "\n"
         "CMD zsh -c weechat\n",
         "(from \"ubuntu:14.04\")\n"
         "(run \"apt-get update -qy && apt-get install tmux zsh weechat-curses -y\")\n"
         "(add \".weechat\" \"/.weechat\")\n"
         "(add \".tmux.conf\" \"/\")\n"
         "(run \"echo \\\"export TERM=screen-256color\\\" >/.zshenv\")\n"
         "(cmd \"zsh -c weechat\")\n"},
        {"znc",
         "FROM ubuntu:14.04\n"
         "LABEL maintainer Erik Hollensbe <erik@hollensbe.org>\n"
         "\n"
         "RUN apt-get update && apt-get install znc -y\n"
         "ADD conf /.znc\n"
         "\n"
         "CMD [ \"/usr/bin/znc\", \"-f\", \"-r\" ]\n",
         "(from \"ubuntu:14.04\")\n"
         "(label \"maintainer\" \"Erik Hollensbe <erik@hollensbe.org>\" \"\")\n"
         "(run \"apt-get update && apt-get install znc -y\")\n"
         "(add \"conf\" \"/.znc\")\n"
         "(cmd \"/usr/bin/znc\" \"-f\" \"-r\")\n"},
};

/* ---- shell.c ---- */

static void test_env_var_table(void **state)
{
        unsigned failed = 0;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(env_var_cases); i++) {
                const struct word_case *c = &env_var_cases[i];
                _cleanup_free_ char *out = NULL;
                struct err e = {0};
                out = expand(c->src, '\\', lex_env, &e);
                if (!c->want && out) {
                        print_error("envVarTest %s: got \"%s\", want an error\n", c->src, out);
                        failed++;
                } else if (c->want && !out) {
                        print_error("envVarTest %s: %s, want \"%s\"\n", c->src, e.msg, c->want);
                        failed++;
                } else if (c->want && strcmp(out, c->want) != 0) {
                        print_error("envVarTest %s: got \"%s\", want \"%s\"\n", c->src, out,
                                    c->want);
                        failed++;
                }
        }
        if (failed)
                fail_msg("%u of %zu envVarTest lines failed", failed, ARRAY_SIZE(env_var_cases));
}

static void test_words_table(void **state)
{
        unsigned failed = 0;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(words_cases); i++) {
                const struct words_case *c = &words_cases[i];
                _cleanup_strv_ char **words = NULL;
                _cleanup_free_ char *joined = NULL;
                struct err e = {0};
                int r = df_expand_words(c->src, '\\', env_lookup, (void *)c->env, &words, &e);
                if (r < 0)
                        joined = strdup("error");
                else
                        joined = util_strv_join(words, ",");
                assert_non_null(joined);
                if (strcmp(joined, c->want ? c->want : "error") != 0) {
                        print_error("wordsTest %s: got \"%s\", want \"%s\"\n", c->src, joined,
                                    c->want ? c->want : "error");
                        failed++;
                }
        }
        if (failed)
                fail_msg("%u of %zu wordsTest lines failed", failed, ARRAY_SIZE(words_cases));
}

struct match_case {
        const char *src;
        const char *env[5];
        const char *want; /* NULL: an error */
};

/* lex_test.go TestProcessWithMatches: the modifiers beyond envVarTest, pattern forms too. */
static const struct match_case match_cases[] = {
        {"x ${UNUSED}", {"DUMMY=dummy"}, "x "},
        {"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO=xxx", "BAR="}, "xxx  ccc"},
        {"${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO=xxx", "BAR="}, "xxx bbb ccc"},
        {"${FOO:-}", {"FOO=xxx", "BAR="}, "xxx"},
        {"${FOO:-}", {NULL}, ""},
        {"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO=xxx", "BAR="}, "aaa bbb "},
        {"${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO=xxx", "BAR="}, "aaa  "},
        {"${FOO?aaa}", {"FOO=xxx", "BAR="}, "xxx"},
        {"${BAR?bbb}", {"FOO=xxx", "BAR="}, ""},
        {"${BAZ?ccc}", {"FOO=xxx", "BAR="}, NULL},
        {"${FOO:?aaa}", {"FOO=xxx", "BAR="}, "xxx"},
        {"${BAR:?bbb}", {"FOO=xxx", "BAR="}, NULL},
        {"${BAZ:?ccc}", {"FOO=xxx", "BAR="}, NULL},
        {"${BAZ:?}", {"FOO=xxx", "BAR="}, NULL},
        {"${FOO=aaa}", {"FOO=xxx", "BAR="}, NULL},
        {"${FOO=:aaa}", {"FOO=xxx", "BAR="}, NULL},
        {"${FOO=}", {NULL}, NULL},
        {"${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO=()[]{}^$.*?|\\x"}, "x"},
        {"${FOO%%\\**}", {"FOO=xx**"}, "xx"},
        {"${FOO#*x*y}", {"FOO=xxyy"}, "y"},
        {"${FOO#*}", {"FOO=xxyy"}, "xxyy"},
        {"${FOO#$BAR}", {"FOO=xxyy", "BAR=x"}, "xyy"},
        {"${FOO#$BAR}", {"FOO=xxyy", "BAR="}, "xxyy"},
        {"${FOO#}", {"FOO=xxyy"}, "xxyy"},
        {"${FOO##*x}", {"FOO=xxyy"}, "yy"},
        {"${FOO##}", {"FOO=xxyy"}, "xxyy"},
        {"${FOO#?\\?}", {"FOO=???y"}, "?y"},
        {"${ABC:-.}${FOO%x}${ABC:-.}", {"FOO=xxyy"}, ".xxyy."},
        {"${FOO%%\\**\\*}", {"FOO=a***yy*"}, "a"},
        {"${FOO%}", {"FOO=xxyy"}, "xxyy"},
        {"${FOO%%$BAR}", {"FOO=xxyy", "BAR="}, "xxyy"},
        {"${FOO:#}", {NULL}, NULL},
        {"${FOO:##}", {NULL}, NULL},
        {"${FOO:%}", {NULL}, NULL},
        {"${FOO:%%}", {NULL}, NULL},
        {"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
         {"FOO=/foo*/*/*.txt", "NEEDLE=\\*/"},
         "/foo.*/*.txt - /foo..*.txt"},
        {"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
         {"FOO=/tmp/tmp/bar.txt", "NEEDLE=/tmp"},
         "/tmp/bar.txt - /bar.txt"},
        {"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
         {"FOO=/a/foo/b/c.txt", "NEEDLE=/?/", "REPLACEMENT=/"},
         "/foo/b/c.txt - /foo/c.txt"},
        {"${FOO/$NEEDLE/$REPLACEMENT}",
         {"FOO=http://google.de", "NEEDLE=http://", "REPLACEMENT=https://"},
         "https://google.de"},
        {"${FOO//\\//\\/}", {"FOO=/tmp/foo.txt"}, "\\/tmp\\/foo.txt"},
        {"${FOO/$BAR/ww}", {"FOO=xxyy", "BAR="}, "wwxxyy"},
        {"${FOO//ww}", {"FOO=xxyy"}, NULL},
        {"${FOO//}", {"FOO=xxyy"}, NULL},
        {"${FOO///}", {"FOO=xxyy"}, "xxyy"},
        {"${FOO///}", {NULL}, ""},
        /* TestProcessWithMatchesPlatform */
        {"something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
         {"VERSION=v1.2.3", "TARGETOS=linux", "TARGETARCH=arm", "TARGETVARIANT=v7"},
         "something-v1.2.3.linux-arm-v7.tar.gz"},
        {"something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
         {"VERSION=v1.2.3", "TARGETOS=linux", "TARGETARCH=arm64", "TARGETVARIANT="},
         "something-v1.2.3.linux-arm64.tar.gz"},
        {"something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
         {"VERSION=v1.2.3", "TARGETOS=linux", "TARGETARCH=arm64"},
         "something-v1.2.3.linux-arm64.tar.gz"},
};

static void test_modifiers(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
                const struct match_case *c = &match_cases[i];
                if (c->want)
                        expect_word(c->src, c->env, c->want);
                else
                        expect_word_error(c->src, c->env, "failed to process");
        }
        /* Shortest and longest, from either end (reference.md's examples). */
        expect_word("${str#f*b}", STRV("str=foobarbaz"), "arbaz");
        expect_word("${str##f*b}", STRV("str=foobarbaz"), "az");
        expect_word("${str%b*}", STRV("str=foobarbaz"), "foobar");
        expect_word("${str%%b*}", STRV("str=foobarbaz"), "foo");
        expect_word("${str/ba/X}", STRV("str=foobarbaz"), "fooXrbaz");
        expect_word("${str//ba/X}", STRV("str=foobarbaz"), "fooXrXz");
        /* '?' is one character, not one byte. */
        expect_word("${v#?}|${v%?}", STRV("v=éaé"), "aé|éa");
        /* Stars never backtrack exponentially. */
        {
                char env[4096 + 3] = "v=";
                memset(env + 2, 'a', 4096);
                env[4098] = '\0';
                expect_word("${v#****************************b}", STRV(env), env + 2);
                expect_word("${v//*b/x}", STRV(env), env + 2);
        }
}

static void test_expand_messages(void **state)
{
        (void)state;
        expect_word_error("he${PWD", lex_env,
                          "failed to process \"he${PWD\": syntax error: "
                          "missing '}'");
        expect_word_error("${aaa:-bbb", lex_env, "syntax error: missing '}'");
        expect_word_error("${}", lex_env, "syntax error: bad substitution");
        expect_word_error("he${PWD:=000}xx", lex_env, "unsupported modifier (:=) in substitution");
        expect_word_error("he${.}", lex_env, "unsupported modifier (.) in substitution");
        expect_word_error("he${XXX?}", lex_env, "XXX: is not allowed to be unset");
        expect_word_error("he${NULL:?}", lex_env, "NULL: is not allowed to be empty");
        expect_word_error("${XXX?must be set}", lex_env, "XXX: must be set");
        expect_word_error("'open", lex_env, "looking for matching single-quote");
        expect_word_error("\"open", lex_env, "looking for matching double-quote");
        expect_word_error("${v#\\x}", STRV("v=x"), "invalid escape");
}

static void test_expand_escape_backtick(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        struct err e = {0};

        (void)state;
        a = expand("a`$PWD", '`', lex_env, &e);
        b = expand("C:\\dir\\$PWD", '`', lex_env, &e);
        c = expand("\"q`\"x\"", '`', lex_env, &e);
        d = expand("a\\$PWD", '`', lex_env, &e);
        assert_string_equal(a, "a$PWD");
        assert_string_equal(b, "C:\\dir\\/home");
        assert_string_equal(c, "q\"x");
        assert_string_equal(d, "a\\/home");
}

static void test_expand_words(void **state)
{
        _cleanup_strv_ char **a = NULL, **b = NULL, **c = NULL, **d = NULL, **e = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(df_expand_words("a \"\" b", '\\', env_lookup, (void *)lex_env, &a, &err),
                         0);
        /* BuildKit's ProcessWords drops a quoted empty word ("" alone makes no word). */
        assert_strv(a, STRV("a", "b"));
        assert_int_equal(df_expand_words("", '\\', env_lookup, (void *)lex_env, &b, &err), 0);
        assert_strv(b, EMPTY);
        assert_int_equal(df_expand_words("  $SP  x\\ y '1 2' ", '\\', env_lookup,
                                         (void *)STRV("SP= p q "), &c, &err),
                         0);
        assert_strv(c, STRV("p", "q", "x y", "1 2"));
        /* "<<" keeps its blanks: a heredoc opener stays one word. */
        assert_int_equal(df_expand_words("<< EOF /dest", '\\', NULL, NULL, &d, &err), 0);
        assert_strv(d, STRV("<< EOF", "/dest"));
        assert_int_equal(df_expand_words("${a:-x y} z", '\\', NULL, NULL, &e, &err), 0);
        assert_strv(e, STRV("x", "y", "z"));
        assert_int_equal(df_expand_words("'x", '\\', NULL, NULL, &e, &err), -EINVAL);
}

/* ---- parse.c: BuildKit's golden files ---- */

static void test_golden_files(void **state)
{
        unsigned failed = 0;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(golden_cases); i++) {
                const struct golden *g = &golden_cases[i];
                _cleanup_dockerfile_ struct dockerfile d = {0};
                _cleanup_free_ char *got = NULL;
                struct err e = {0};
                if (dockerfile_parse(g->dockerfile, "Dockerfile", &d, &e) < 0) {
                        print_error("testfiles/%s: %s\n", g->name, e.msg);
                        failed++;
                        continue;
                }
                got = dump(&d);
                if (strcmp(got, g->result) != 0) {
                        print_error("testfiles/%s:\n--- got\n%s--- want\n%s", g->name, got,
                                    g->result);
                        failed++;
                }
        }
        if (failed)
                fail_msg("%u of %zu golden files differ", failed, ARRAY_SIZE(golden_cases));
}

/* testfiles-negative/ */
static void test_negative_files(void **state)
{
        (void)state;
        parse_fails("", "Dockerfile: file with no instructions");
        parse_fails("# Hello\n# These are just comments\n\n",
                    "Dockerfile: file with no instructions");
        parse_fails("FROM busybox\n\nENV PATH\n", "Dockerfile:3: ENV must have two arguments");
        parse_fails("CMD [ \"echo\", [ \"nested json\" ] ]\n",
                    "Dockerfile:1: when using JSON array syntax, arrays must be comprised of "
                    "strings only");
        /* A lone continuation makes an empty instruction, which BuildKit rejects too. */
        parse_fails("\n  \n\\\n", "Dockerfile:3: unknown instruction: ");
}

/* testfile-line/Dockerfile: the line each instruction starts on. */
static void test_line_numbers(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d = parse_ok(
                "# ESCAPE=\\\n\n\n\nFROM brimstone/ubuntu:14.04\n\n\n"
                "# TORUN -v /var/run/docker.sock:/var/run/docker.sock\n\n\n"
                "ENV GOPATH \\\n/go\n\n\n\n"
                "# Install the packages we need, clean up after them and us\n"
                "RUN apt-get update \\\n"
                "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n\n\n"
                "    && apt-get --no-install-recommends install -y git golang ca-certificates "
                "\\\n"
                "    && apt-get clean \\\n"
                "    && rm -rf /var/lib/apt/lists \\\n\n"
                "\t&& go get -v github.com/brimstone/consuldock \\\n"
                "    && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\\n\n"
                "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n"
                "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk "
                "'/^>/ {print $2}') \\\n"
                "\t&& rm /tmp/dpkg.* \\\n"
                "\t&& rm -rf $GOPATH\n\n\n\n\n");

        (void)state;
        assert_int_equal(d.n, 3);
        assert_int_equal(d.v[0].line, 5);
        assert_int_equal(d.v[1].line, 11);
        assert_int_equal(d.v[2].line, 17);
        assert_int_equal(d.escape, '\\');
}

/* parser_heredoc_test.go TestParseExtractsHeredoc (without its USER <<INVALID, which hawser
 * rejects as an unknown INVALID instruction) and TestParseJSONHeredoc. Contents of <<- come
 * with their tabs stripped. */
static void test_heredocs(void **state)
{
        static const struct {
                const char *name, *content;
                bool expand, chomp;
                int instr; /* index of the instruction */
        } want[] = {
                {"EMPTY", "", true, false, 3},
                {"EMPTY2", "", true, false, 4},
                {"INDENT", "\tfoo\n\tbar\n", true, false, 6},
                {"UNINDENT", "baz\nquux\n", true, true, 7},
                {"UNINDENT2", "baz\nquux\n", true, true, 8},
                {"EXPAND", "expand $NAME\n", true, true, 9},
                {"NOEXPAND", "don't expand $NAME\n", false, true, 10},
                {"COPY", "echo hello world\necho foo bar\n", true, false, 11},
                {"COMMENT",
                 "# internal comment\necho hello world\necho foo bar # trailing comment\n", true,
                 false, 12},
                {"MOUNT", "echo hello\n", true, false, 13},
                {"FILE1", "content 1\n", true, false, 14},
                {"FILE2", "content 2\n", true, false, 14},
                {"EOF", "\"foo\"\n'bar'\n", true, false, 15},
                {"X", "Y\n", true, false, 16},
                {"Y", "X\n", true, false, 16},
                {"COMPLEX", "print('hello world')\n", true, false, 17},
                {"file.txt", "hello world\n", true, false, 18},
                {"eof", "echo foo\n", false, false, 19},
                {"eo'f", "echo foo\n", true, false, 20},
                {"eo'f", "echo foo\n", false, false, 21},
                {"one two", "echo bar\n", false, false, 22},
                {"$EOF", "", true, false, 23},
                {"EOF", "", true, false, 24},
                {"EOF", "", true, false, 25},
        };
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("\nFROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\n"
                         "RUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\n"
                         "RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n"
                         "RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\n"
                         "RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n"
                         "RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n"
                         "RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n"
                         "RUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n"
                         "RUN <<COMMENT\n# internal comment\necho hello world\n"
                         "echo foo bar # trailing comment\nCOMMENT\n\n"
                         "RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n"
                         "COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n"
                         "COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\n"
                         "COPY <<X <<Y /dest\nY\nX\nX\nY\n\n"
                         "RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\n"
                         "COPY <<file.txt /dest\nhello world\nfile.txt\n\n"
                         "RUN <<eo'f'\necho foo\neof\n\n"
                         "RUN <<eo\\'f\necho foo\neo'f\n\n"
                         "RUN <<'e'o\\'f\necho foo\neo'f\n\n"
                         "RUN <<'one two'\necho bar\none two\n\n"
                         "RUN <<$EOF\n$EOF\n\n"
                         "RUN <<  EOF\nEOF\n\n"
                         "RUN <<  EOF  > foo\nEOF\n"
                         "RUN [\"whoami\"]\nRUN [\"<<EOF\"]\nRUN [\"<<'EOF'\"]\n\t");
        size_t seen[32] = {0};

        (void)state;
        assert_int_equal(d.n, 29);
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                const struct df_instr *in = &d.v[want[i].instr];
                const struct df_heredoc *h;
                assert_true(seen[want[i].instr] < in->n_heredocs);
                h = &in->heredocs[seen[want[i].instr]++];
                assert_string_equal(h->name, want[i].name);
                assert_string_equal(h->content, want[i].content);
                assert_int_equal(h->expand, want[i].expand);
                assert_int_equal(h->chomp, want[i].chomp);
        }
        for (size_t i = 0; i < d.n; i++)
                if (seen[i] != d.v[i].n_heredocs)
                        fail_msg("instruction %zu (%s) has %zu heredocs, want %zu", i,
                                 d.v[i].original, d.v[i].n_heredocs, seen[i]);
        /* The opener stays in the arguments; the engine decides what it means. */
        assert_string_equal(d.v[14].rest, "<<FILE1 <<FILE2 /dest");
        assert_strv(d.v[14].args, STRV("<<FILE1", "<<FILE2", "/dest"));
        assert_strv(d.v[13].flags, STRV("--mount=type=cache,target=/foo"));
        assert_string_equal(d.v[13].rest, "<<MOUNT");
        assert_int_equal(d.v[26].json, true);
        assert_int_equal(d.v[27].n_heredocs, 0);
        assert_int_equal(d.v[25].line, 101);
}

static void test_heredoc_errors(void **state)
{
        (void)state;
        parse_fails("FROM x\nRUN <<EOF\necho hi\n", "Dockerfile:2: unterminated heredoc");
        parse_fails("FROM x\nRUN <<A <<B\na\nA\nb\n", "Dockerfile:2: unterminated heredoc");
        /* <<- ignores the tabs before the delimiter only. */
        parse_fails("FROM x\nRUN <<EOF\n\tEOF\n", "Dockerfile:2: unterminated heredoc");
        parse_fails("FROM x\nCOPY <<EOF <<DEST\na\nEOF\nb\nDEST\n",
                    "Dockerfile:2: COPY cannot accept a heredoc as a destination");
        /* Heredocs belong to RUN, COPY and ADD only: here the next line is an instruction. */
        parse_fails("FROM x\nCMD <<EOF\nhi\nEOF\n", "Dockerfile:3: unknown instruction: HI");
}

/* ---- parse.c: the build research's scenarios (§2.6, their parser parts) ---- */

static void test_scenario_continuation_comment(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM bb\nRUN echo hello \\\n# comment\nworld > /c\n");

        (void)state;
        assert_int_equal(d.n, 2);
        assert_string_equal(d.v[1].cmd, "run");
        assert_string_equal(d.v[1].rest, "echo hello world > /c");
        assert_strv(d.v[1].args, STRV("echo", "hello", "world", ">", "/c"));
        assert_false(d.v[1].json);
        assert_int_equal(d.v[1].line, 2);
}

static void test_scenario_escape_directive(void **state)
{
        _cleanup_dockerfile_ struct dockerfile a =
                parse_ok("# escape=`\nFROM bb\nRUN echo a `\nb > /e\n");
        _cleanup_dockerfile_ struct dockerfile b =
                parse_ok("# about\n# escape=`\nFROM bb\nRUN echo a \\\nb > /e\nRUN x `\n");

        (void)state;
        assert_int_equal(a.escape, '`');
        assert_int_equal(a.n, 2);
        assert_string_equal(a.v[1].rest, "echo a b > /e");
        /* After a comment, "# escape=`" is a comment too: the backslash stays the escape. */
        assert_int_equal(b.escape, '\\');
        assert_int_equal(b.n, 3);
        assert_string_equal(b.v[1].rest, "echo a b > /e");
        assert_string_equal(b.v[2].rest, "x `");
}

static void test_scenario_invalid_json(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM bb\nCMD ['echo','x']\nENTRYPOINT [\"/bin/echo\"]\nCMD echo test\n"
                         "SHELL [\"/bin/sh\",\"-c\",\"set -e; eval\"]\nCMD echo hi\n");

        (void)state;
        assert_false(d.v[1].json);
        assert_strv(d.v[1].args, STRV("['echo','x']"));
        assert_string_equal(d.v[1].rest, "['echo','x']");
        assert_true(d.v[2].json);
        assert_strv(d.v[2].args, STRV("/bin/echo"));
        assert_false(d.v[3].json);
        assert_strv(d.v[3].args, STRV("echo", "test"));
        assert_true(d.v[4].json);
        assert_strv(d.v[4].args, STRV("/bin/sh", "-c", "set -e; eval"));
        assert_string_equal(d.v[5].rest, "echo hi");
}

static void test_scenario_onbuild(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM bb\nONBUILD RUN echo triggered > /trig\nonbuild run [\"a\"]\n"
                         "ONBUILD COPY --from=x a /b\nONBUILD NOTYET whatever\n"
                         "ONBUILD RUN <<EOF\nhi $X\nEOF\nONBUILD ENV a=b\n");

        (void)state;
        assert_int_equal(d.n, 7);
        assert_string_equal(d.v[1].cmd, "onbuild");
        assert_string_equal(d.v[1].rest, "RUN echo triggered > /trig");
        assert_non_null(d.v[1].onbuild);
        assert_string_equal(d.v[1].onbuild->cmd, "run");
        assert_string_equal(d.v[1].onbuild->rest, "echo triggered > /trig");
        assert_string_equal(d.v[1].onbuild->original, "RUN echo triggered > /trig");
        assert_strv(d.v[1].args, STRV("RUN", "echo", "triggered", ">", "/trig"));
        assert_string_equal(d.v[2].onbuild->cmd, "run");
        assert_true(d.v[2].onbuild->json);
        assert_strv(d.v[3].onbuild->flags, STRV("--from=x"));
        assert_strv(d.v[3].onbuild->args, STRV("a", "/b"));
        /* Docker checks only the trigger's word when the parent builds. */
        assert_string_equal(d.v[4].onbuild->cmd, "notyet");
        assert_int_equal(d.v[5].onbuild->n_heredocs, 1);
        assert_string_equal(d.v[5].onbuild->heredocs[0].content, "hi $X\n");
        assert_int_equal(d.v[5].n_heredocs, 0);
        assert_strv(d.v[6].onbuild->args, STRV("a=b"));

        parse_fails("FROM bb\nONBUILD ONBUILD RUN true\n",
                    "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        parse_fails("FROM bb\nONBUILD onbuild RUN true\n",
                    "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        parse_fails("FROM bb\nONBUILD FROM busybox\n",
                    "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
        parse_fails("FROM bb\nONBUILD maintainer x\n",
                    "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger");
        parse_fails("FROM bb\nONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument");
        /* The parser proper still parses the trigger. */
        parse_fails("FROM bb\nONBUILD ENV a\n", "Dockerfile:2: ENV must have two arguments");
}

static void test_scenario_unknown_instruction(void **state)
{
        (void)state;
        parse_fails("FROM bb\n\n\n\n\n\nRUNN echo\n", "Dockerfile:7: unknown instruction: RUNN");
        parse_fails("FROM bb\nrunn echo\n", "Dockerfile:2: unknown instruction: RUNN");
        /* Classic builder's failure on a heredoc; hawser reads heredocs, so not this one. */
        parse_fails("FROM bb\nRUN echo \\\n  hi\necho hi > /h\n",
                    "Dockerfile:4: unknown instruction: ECHO");
}

static void test_scenario_heredoc_run(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM bb\nRUN <<EOT\necho hi > /h\nEOT\nRUN <<-\"EOT\" sh\n\techo $A\n"
                         "\tEOT\nCOPY <<'EOF' /x\nv=$v\nEOF\nRUN echo done\n");

        (void)state;
        assert_int_equal(d.n, 5);
        assert_int_equal(d.v[1].n_heredocs, 1);
        assert_string_equal(d.v[1].heredocs[0].name, "EOT");
        assert_string_equal(d.v[1].heredocs[0].content, "echo hi > /h\n");
        assert_true(d.v[1].heredocs[0].expand);
        assert_false(d.v[1].heredocs[0].chomp);
        assert_string_equal(d.v[1].rest, "<<EOT");
        assert_string_equal(d.v[2].heredocs[0].content, "echo $A\n");
        assert_false(d.v[2].heredocs[0].expand);
        assert_true(d.v[2].heredocs[0].chomp);
        assert_strv(d.v[3].args, STRV("<<'EOF'", "/x"));
        assert_false(d.v[3].heredocs[0].expand);
        assert_string_equal(d.v[4].rest, "echo done");
        assert_int_equal(d.v[4].line, 11);
}

static void test_scenario_flags(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM --platform=linux/amd64 bb AS build\n"
                         "COPY --from=build --chown=1:2 a b\n"
                         "RUN --mount=type=cache,target=/x --network=none echo hi\n"
                         "HEALTHCHECK --interval=5s --retries=3 CMD [\"true\"]\n"
                         "COPY --chown=\"a b\" -- --weird /d\n"
                         "ADD --chmod=644 x y\n");

        (void)state;
        assert_strv(d.v[0].flags, STRV("--platform=linux/amd64"));
        assert_strv(d.v[0].args, STRV("bb", "AS", "build"));
        assert_strv(d.v[1].flags, STRV("--from=build", "--chown=1:2"));
        assert_strv(d.v[1].args, STRV("a", "b"));
        assert_string_equal(d.v[1].rest, "a b");
        assert_string_equal(d.v[1].original, "COPY --from=build --chown=1:2 a b");
        assert_strv(d.v[2].flags, STRV("--mount=type=cache,target=/x", "--network=none"));
        assert_string_equal(d.v[2].rest, "echo hi");
        assert_strv(d.v[3].flags, STRV("--interval=5s", "--retries=3"));
        /* The JSON array only: the type stays in rest. */
        assert_strv(d.v[3].args, STRV("true"));
        assert_string_equal(d.v[3].rest, "CMD [\"true\"]");
        assert_true(d.v[3].json);
        assert_strv(d.v[4].flags, STRV("--chown=a b"));
        assert_strv(d.v[4].args, STRV("--weird", "/d"));
        assert_strv(d.v[5].flags, STRV("--chmod=644"));
        /* Instructions without flags still get an empty vector. */
        assert_strv(d.v[0].args, STRV("bb", "AS", "build"));
}

static void test_scenario_expansion_inputs(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("ARG TAG=1\nFROM bb:${TAG}\nENV abc=hello\nENV abc=bye def=$abc\n"
                         "ENV FOO bar\nVOLUME \\${FOO}\nADD ${zzz:-${fee}} ${dot}\n"
                         "ENV port 80\nEXPOSE ${port}\nLABEL a=\"x y\" b=c\n");
        _cleanup_free_ char *vol = NULL, *add = NULL;
        struct err e = {0};

        (void)state;
        assert_strv(d.v[0].args, STRV("TAG=1"));
        assert_strv(d.v[1].args, STRV("bb:${TAG}"));
        assert_strv(d.v[3].args, STRV("abc=bye", "def=$abc"));
        assert_string_equal(d.v[3].rest, "abc=bye def=$abc");
        assert_strv(d.v[4].args, STRV("FOO", "bar"));
        assert_strv(d.v[5].args, STRV("\\${FOO}"));
        assert_int_equal(df_expand_word(d.v[5].args[0], d.escape, env_lookup,
                                        (void *)STRV("FOO=bar"), &vol, &e),
                         0);
        assert_string_equal(vol, "${FOO}");
        assert_strv(d.v[6].args, STRV("${zzz:-${fee}}", "${dot}"));
        assert_int_equal(df_expand_word(d.v[6].args[0], d.escape, env_lookup,
                                        (void *)STRV("fee=fff", "dot=."), &add, &e),
                         0);
        assert_string_equal(add, "fff");
        assert_strv(d.v[8].args, STRV("${port}"));
        assert_strv(d.v[9].args, STRV("a=\"x y\"", "b=c"));
}

/* ---- parse.c: the rest ---- */

static void test_directives(void **state)
{
        _cleanup_dockerfile_ struct dockerfile a =
                parse_ok("# syntax=docker/dockerfile:1\n# CHECK = skip=all\n#  Escape = ` \n"
                         "FROM bb\nRUN a `\n  b\n# escape=\\\n");
        _cleanup_dockerfile_ struct dockerfile b =
                parse_ok("# foo=bar\n# escape=`\nFROM bb\nRUN a \\\nb\n");
        _cleanup_dockerfile_ struct dockerfile c = parse_ok("\n# escape=`\nFROM bb\n");
        _cleanup_dockerfile_ struct dockerfile dd =
                parse_ok("\xef\xbb\xbf# escape=`\r\nFROM bb\r\nRUN a `\r\n b\r\n");

        (void)state;
        assert_int_equal(a.escape, '`');
        assert_string_equal(a.syntax, "docker/dockerfile:1");
        assert_string_equal(a.v[1].rest, "a   b");
        assert_int_equal(a.n, 2);
        /* An unknown directive ends them. */
        assert_int_equal(b.escape, '\\');
        assert_null(b.syntax);
        assert_string_equal(b.v[1].rest, "a b");
        /* So does a blank line. */
        assert_int_equal(c.escape, '\\');
        /* A byte-order mark and CRLF line ends. */
        assert_int_equal(dd.escape, '`');
        assert_string_equal(dd.v[1].rest, "a  b");

        parse_fails("# escape=`\n# Escape=\\\nFROM bb\n",
                    "Dockerfile:2: only one escape parser directive can be used");
        parse_fails("# escape=x\nFROM bb\n",
                    "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
        parse_fails("# syntax=a\n# syntax=b\nFROM bb\n",
                    "Dockerfile:2: only one syntax parser directive can be used");
}

static void test_continuation(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM alpine:3.5\n  RUN a \\  \t\n\n   # c\n  b\\\\\nRUN c\\\\\\\n"
                         "RUN x \\\n \\\n y \\");

        (void)state;
        assert_int_equal(d.n, 4);
        /* Whitespace after the escape is allowed; comments and blank lines inside go. */
        assert_string_equal(d.v[1].rest, "a   b\\\\");
        assert_int_equal(d.v[1].line, 2);
        assert_string_equal(d.v[1].original, "RUN a   b\\\\");
        /* An escaped escape ends no line (three backslashes neither, as in BuildKit). */
        assert_string_equal(d.v[2].rest, "c\\\\\\");
        /* A continuation at the end of the file ends the instruction. */
        assert_string_equal(d.v[3].rest, "x   y");
}

static void test_json_form(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("FROM bb\nRUN []\nRUN\nCMD [\"\\u00e9\\ud83d\\ude00\", \"\\/\\\"\"]\n"
                         "CMD [\"a\"] x\nCMD [\"a\",]\nENTRYPOINT []\nVOLUME [\"/a\", \"/b\"]\n"
                         "COPY [\"a b\", \"/c\"]\nCMD [1, 2\nCMD [\"\\ud800\"]\n");

        (void)state;
        assert_true(d.v[1].json);
        assert_strv(d.v[1].args, EMPTY);
        assert_false(d.v[2].json);
        assert_strv(d.v[2].args, EMPTY);
        assert_true(d.v[3].json);
        assert_strv(d.v[3].args, STRV("é😀", "/\""));
        assert_false(d.v[4].json);
        assert_strv(d.v[4].args, STRV("[\"a\"]", "x"));
        assert_false(d.v[5].json);
        assert_true(d.v[6].json);
        assert_strv(d.v[7].args, STRV("/a", "/b"));
        assert_strv(d.v[8].args, STRV("a b", "/c"));
        assert_false(d.v[9].json);
        assert_strv(d.v[10].args, STRV("\xef\xbf\xbd"));

        parse_fails("FROM bb\nCMD [\"a\", 1]\n",
                    "Dockerfile:2: when using JSON array syntax, arrays must be comprised of "
                    "strings only");
        parse_fails("FROM bb\nCMD [\"a\", {\"b\": [null, true, -1.5e3]}]\n",
                    "Dockerfile:2: when using JSON array syntax, arrays must be comprised of "
                    "strings only");
        parse_fails("FROM bb\nCMD [\"a\\u0000\"]\n",
                    "Dockerfile:2: NUL characters in JSON strings are not supported");
}

static void test_instruction_errors(void **state)
{
        (void)state;
        parse_fails("FROM bb\nCOPY a\n",
                    "Dockerfile:2: COPY requires at least two arguments, but only one was "
                    "provided. Destination could not be determined");
        parse_fails("FROM bb\nADD [\"a\"]\n",
                    "Dockerfile:2: ADD requires at least two arguments, but only one was "
                    "provided. Destination could not be determined");
        parse_fails("FROM bb\nCOPY\n",
                    "Dockerfile:2: COPY requires at least two arguments, but only one was "
                    "provided. Destination could not be determined");
        parse_fails("FROM\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a to b\n", "Dockerfile:1: FROM requires either one or three arguments");
        parse_fails("FROM a AS 1b\n",
                    "Dockerfile:1: invalid name for build stage: \"1b\", name can't start with a "
                    "number or contain symbols");
        parse_fails("FROM bb\nENV a=b c\n",
                    "Dockerfile:2: Syntax error - can't find = in \"c\". Must be of the form: "
                    "name=value");
        parse_fails("FROM bb\nENV =b\n", "Dockerfile:2: ENV names can not be blank");
        parse_fails("FROM bb\nENV\n", "Dockerfile:2: ENV requires at least one argument");
        parse_fails("FROM bb\nLABEL\n", "Dockerfile:2: LABEL requires at least one argument");
        parse_fails("FROM bb\nLABEL a\n", "Dockerfile:2: LABEL must have two arguments");
        parse_fails("ARG\n", "Dockerfile:1: ARG requires at least one argument");
        parse_fails("ARG a =b\n", "Dockerfile:1: ARG names can not be blank");
        parse_fails("FROM bb\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument");
        parse_fails("FROM bb\nUSER\n", "Dockerfile:2: USER requires exactly one argument");
        parse_fails("FROM bb\nSTOPSIGNAL\n",
                    "Dockerfile:2: STOPSIGNAL requires exactly one argument");
        parse_fails("FROM bb\nMAINTAINER\n",
                    "Dockerfile:2: MAINTAINER requires exactly one argument");
        parse_fails("FROM bb\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument");
        parse_fails("FROM bb\nVOLUME\n", "Dockerfile:2: VOLUME requires at least one argument");
        parse_fails("FROM bb\nVOLUME [\"/a\", \" \"]\n",
                    "Dockerfile:2: VOLUME specified can not be an empty string");
        parse_fails("FROM bb\nSHELL\n", "Dockerfile:2: SHELL requires at least one argument");
        parse_fails("FROM bb\nSHELL []\n", "Dockerfile:2: SHELL requires at least one argument");
        parse_fails("FROM bb\nSHELL /bin/sh -c\n",
                    "Dockerfile:2: SHELL requires the arguments to be in JSON form");
        /* health's lines that BuildKit's parser takes and its instruction parser rejects */
        parse_fails("FROM bb\nHEALTHCHECK\n",
                    "Dockerfile:2: HEALTHCHECK requires at least one argument");
        parse_fails("FROM bb\nHEALTHCHECK CMD\n",
                    "Dockerfile:2: Missing command after HEALTHCHECK CMD");
        parse_fails("FROM bb\nHEALTHCHECK CMD []\n",
                    "Dockerfile:2: Missing command after HEALTHCHECK CMD");
        parse_fails("FROM bb\nHEALTHCHECK CONNECT TCP 7000\n",
                    "Dockerfile:2: Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
        parse_fails("FROM bb\nHEALTHCHECK NONE x\n",
                    "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
}

static void test_instructions_accepted(void **state)
{
        _cleanup_dockerfile_ struct dockerfile d =
                parse_ok("from bb as Build-1.x\nRUN\nCMD\nENTRYPOINT\nHEALTHCHECK none\n"
                         "WORKDIR /my dir\nUSER a b\nSTOPSIGNAL  SIGKILL \nARG a b=\"c d\" e=\n"
                         "MAINTAINER me <me@x>\nEXPOSE 80/tcp  443\nVOLUME /a /b\n"
                         "HEALTHCHECK  cmd  curl -f  http://x/ \n");

        (void)state;
        assert_int_equal(d.n, 13);
        assert_string_equal(d.v[0].cmd, "from");
        assert_strv(d.v[0].args, STRV("bb", "as", "Build-1.x"));
        assert_strv(d.v[1].args, EMPTY);
        assert_string_equal(d.v[1].rest, "");
        assert_strv(d.v[4].args, STRV("none"));
        /* Docker takes the whole text as the one argument these need. */
        assert_strv(d.v[5].args, STRV("/my", "dir"));
        assert_string_equal(d.v[5].rest, "/my dir");
        assert_strv(d.v[6].args, STRV("a", "b"));
        assert_strv(d.v[7].args, STRV("SIGKILL"));
        assert_strv(d.v[8].args, STRV("a", "b=\"c d\"", "e="));
        assert_strv(d.v[9].args, STRV("me", "<me@x>"));
        assert_strv(d.v[10].args, STRV("80/tcp", "443"));
        assert_strv(d.v[11].args, STRV("/a", "/b"));
        assert_strv(d.v[12].args, STRV("cmd", "curl", "-f", "http://x/"));
        assert_false(d.v[12].json);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_var_table),
                cmocka_unit_test(test_words_table),
                cmocka_unit_test(test_modifiers),
                cmocka_unit_test(test_expand_messages),
                cmocka_unit_test(test_expand_escape_backtick),
                cmocka_unit_test(test_expand_words),
                cmocka_unit_test(test_golden_files),
                cmocka_unit_test(test_negative_files),
                cmocka_unit_test(test_line_numbers),
                cmocka_unit_test(test_heredocs),
                cmocka_unit_test(test_heredoc_errors),
                cmocka_unit_test(test_scenario_continuation_comment),
                cmocka_unit_test(test_scenario_escape_directive),
                cmocka_unit_test(test_scenario_invalid_json),
                cmocka_unit_test(test_scenario_onbuild),
                cmocka_unit_test(test_scenario_unknown_instruction),
                cmocka_unit_test(test_scenario_heredoc_run),
                cmocka_unit_test(test_scenario_flags),
                cmocka_unit_test(test_scenario_expansion_inputs),
                cmocka_unit_test(test_directives),
                cmocka_unit_test(test_continuation),
                cmocka_unit_test(test_json_form),
                cmocka_unit_test(test_instruction_errors),
                cmocka_unit_test(test_instructions_accepted),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
