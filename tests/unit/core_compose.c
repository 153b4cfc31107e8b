/* core/compose/: the YAML loader, interpolation and the .env parser, checked against what
 * compose-go (and go-yaml v3 under it) does; many rows are ports of compose-go's own tests
 * (template/template_test.go, dotenv/godotenv_test.go, dotenv/parser_test.go and its
 * fixtures). The last test replays the fuzz corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/compose/compose.h"
#include "tests/fuzz/compose_file_fuzz.c"
#include "tests/unit/corpus.h"

/* ---- helpers ---- */

/* A lookup over "NAME=VALUE" strings (NULL-terminated); "NAME" alone is unset. */
static const char *env_lookup(const char *name, void *ud)
{
        size_t n = strlen(name);

        for (const char *const *e = ud; e && *e; e++)
                if (!strncmp(*e, name, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static struct jv *load(const char *yaml, struct jv **ret_pos)
{
        struct jv *tree = NULL, *pos = NULL;
        struct err err = {0};

        if (compose_yaml_load("c.yml", yaml, strlen(yaml), &tree, &pos, &err) < 0)
                fail_msg("loading %s: %s", yaml, err.msg);
        if (ret_pos)
                *ret_pos = pos;
        else
                jv_put(pos);
        return tree;
}

static void check_load(const char *yaml, const char *want)
{
        _cleanup_jv_ struct jv *tree = load(yaml, NULL);

        if (strcmp(jv_to_string(tree, false), want) != 0)
                fail_msg("%s: got %s, want %s", yaml, jv_to_string(tree, false), want);
}

static void check_load_error(const char *yaml, int code, const char *want)
{
        struct jv *tree = (struct jv *)0x1, *pos = (struct jv *)0x1;
        struct err err = {0};
        int r = compose_yaml_load("c.yml", yaml, strlen(yaml), &tree, &pos, &err);

        if (r != code || strcmp(err.msg, want) != 0)
                fail_msg("%s: got %d \"%s\", want %d \"%s\"", yaml, r, err.msg, code, want);
        assert_ptr_equal(tree, (struct jv *)0x1);
        assert_ptr_equal(pos, (struct jv *)0x1);
}

static const char *const mapping[] = {"FOO=first", "BAR=", "JSON={\"json\":2}", NULL};

/* Interpolates {"v": template} with compose-go's test mapping; NULL on error (in *err). */
static char *interp(const char *template, const char *const *vars, char ***ret_warnings,
                    struct err *err)
{
        _cleanup_jv_ struct jv *tree = jv_new_object();
        char *out;

        jv_set_str(tree, "v", template);
        if (compose_interpolate(tree, NULL, env_lookup, (void *)vars, ret_warnings, err) < 0)
                return NULL;
        out = strdup(jv_get_str(tree, "v"));
        assert_non_null(out);
        return out;
}

static struct jv *dotenv(const char *text, const char *const *vars)
{
        struct jv *env = NULL;
        struct err err = {0};

        if (compose_dotenv_parse(".env", text, env_lookup, (void *)vars, &env, NULL, &err) < 0)
                fail_msg("parsing %s: %s", text, err.msg);
        return env;
}

static void check_dotenv(const char *text, const char *const *vars, const char *want)
{
        _cleanup_jv_ struct jv *env = dotenv(text, vars);

        if (strcmp(jv_to_string(env, false), want) != 0)
                fail_msg("%s: got %s, want %s", text, jv_to_string(env, false), want);
}

static void check_dotenv_error(const char *text, const char *want)
{
        struct jv *env = (struct jv *)0x1;
        struct err err = {0};
        int r = compose_dotenv_parse(".env", text, NULL, NULL, &env, NULL, &err);

        if (r != -EINVAL || strcmp(err.msg, want) != 0)
                fail_msg("%s: got %d \"%s\", want \"%s\"", text, r, err.msg, want);
        assert_ptr_equal(env, (struct jv *)0x1);
}

/* ---- YAML ---- */

static void test_yaml_scalar_types(void **state)
{
        /* What go-yaml v3 decodes "v: TEXT" to (checked against it), as JSON. */
        static const char *const rows[][2] = {
                {"true", "true"},
                {"True", "true"},
                {"TRUE", "true"},
                {"false", "false"},
                {"FALSE", "false"},
                {"tRue", "\"tRue\""},
                {"yes", "\"yes\""},
                {"Yes", "\"Yes\""},
                {"no", "\"no\""},
                {"NO", "\"NO\""},
                {"on", "\"on\""},
                {"off", "\"off\""},
                {"y", "\"y\""},
                {"", "null"},
                {"~", "null"},
                {"null", "null"},
                {"Null", "null"},
                {"NULL", "null"},
                {"0", "0"},
                {"-0", "0"},
                {"00", "0"},
                {"42", "42"},
                {"+12", "12"},
                {"0755", "493"},
                {"0o17", "15"},
                {"0x1F", "31"},
                {"0X1f", "31"},
                {"+0x10", "16"},
                {"0B11", "3"},
                {"-0b11", "-3"},
                {"1_000", "1000"},
                {"0x_1F", "31"},
                {"1__0", "10"},
                {"1_", "1"},
                {"-9223372036854775808", "-9223372036854775808"},
                {"9223372036854775807", "9223372036854775807"},
                {"08", "8.0"},
                {"09.5", "9.5"},
                {"1.5", "1.5"},
                {"3.10", "3.1"},
                {"0.1", "0.1"},
                {".5", "0.5"},
                {"+.5", "0.5"},
                {"-.5", "-0.5"},
                {"1.", "1.0"},
                {"0.", "0.0"},
                {"1e3", "1000.0"},
                {"1E3", "1000.0"},
                {"-1e-3", "-0.001"},
                {"1.5e-7", "1.5e-07"},
                {"1_0.5", "10.5"},
                {"1e-400", "0.0"},
                {"100000000000000000000000", "1e+23"},
                {".inf", "Infinity"},
                {"-.Inf", "-Infinity"},
                {"+.INF", "Infinity"},
                {".nan", "NaN"},
                {"1e999", "\"1e999\""},
                {"0x", "\"0x\""},
                {"0o8", "\"0o8\""},
                {"0b102", "\"0b102\""},
                {"+", "\"+\""},
                {".", "\".\""},
                {".e5", "\".e5\""},
                {"1e", "\"1e\""},
                {"_1", "\"_1\""},
                {"8080:80", "\"8080:80\""},
                {"12:30", "\"12:30\""},
                {"2001-12-14", "\"2001-12-14\""},
                {"1.2.3", "\"1.2.3\""},
                {"<<", "\"<<\""},
                {"\"1\"", "\"1\""},
                {"'true'", "\"true\""},
                {"\"\"", "\"\""},
                {"\"null\"", "\"null\""},
                {"\"a\\tb\"", "\"a\\tb\""},
                {"'it''s'", "\"it's\""},
                {"!!int \"12\"", "12"},
                {"!!float 3", "3.0"},
                {"!!str 5", "\"5\""},
                {"!!str true", "\"true\""},
                {"!!bool \"true\"", "true"},
                {"!!null ''", "null"},
                {"! 12", "12"},
                {"! \"12\"", "\"12\""},
                {"!custom 12", "\"12\""},
                {"!!timestamp 2001-12-14", "\"2001-12-14\""},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                _cleanup_free_ char *yaml = util_printf("v: %s\n", rows[i][0]);
                _cleanup_jv_ struct jv *tree = load(yaml, NULL);
                const char *got = jv_to_string(jv_get(tree, "v"), false);
                if (strcmp(got, rows[i][1]) != 0)
                        fail_msg("v: %s: got %s, want %s", rows[i][0], got, rows[i][1]);
        }
}

static void test_yaml_structure(void **state)
{
        (void)state;
        /* Keys in file order (not sorted), flow and block styles, block scalars. */
        check_load("zeta: 1\nalpha: [a, {b: c}]\nmid:\n  - x\n  -\n  - - y\n",
                   "{\"zeta\":1,\"alpha\":[\"a\",{\"b\":\"c\"}],\"mid\":[\"x\",null,[\"y\"]]}");
        check_load(
                "lit: |\n  a\n  b\nfold: >\n  a\n  b\nkeep: |+\n  x\n\nstrip: |-\n  y\n",
                "{\"lit\":\"a\\nb\\n\",\"fold\":\"a b\\n\",\"keep\":\"x\\n\\n\",\"strip\":\"y\"}");
        check_load("a:\nb: {}\nc: []\n\"d e\": 'q'\n",
                   "{\"a\":null,\"b\":{},\"c\":[],\"d e\":\"q\"}");
        check_load("{}", "{}");
        check_load("%YAML 1.1\n---\na: 1\n...\n", "{\"a\":1}");
        check_load("a.b: 1\n\"1\": one\n!!str 2: two\n", "{\"a.b\":1,\"1\":\"one\",\"2\":\"two\"}");
        check_load("# c\na: 1 # c\n# c\n", "{\"a\":1}");
        check_load("s: \"caf\\u00e9 \\x41\"\n", "{\"s\":\"café A\"}");
        /* A NUL inside a value stays (json-c writes it \u0000). */
        check_load("s: \"a\\0b\"\n", "{\"s\":\"a\\u0000b\"}");
}

static void test_yaml_length(void **state)
{
        static const char text[] = "a: 1\nb: 2\nGARBAGE: [";
        _cleanup_jv_ struct jv *tree = NULL, *pos = NULL;
        struct err err = {0};

        (void)state;
        /* Only len bytes are read. */
        assert_int_equal(compose_yaml_load("c.yml", text, 10, &tree, &pos, &err), 0);
        assert_string_equal(jv_to_string(tree, false), "{\"a\":1,\"b\":2}");
}

static void test_yaml_anchors(void **state)
{
        _cleanup_jv_ struct jv *tree = NULL;

        (void)state;
        check_load("a: &x 1\nb: *x\nc: &l [1, 2]\nd: *l\ne: &m {k: v}\nf: *m\n",
                   "{\"a\":1,\"b\":1,\"c\":[1,2],\"d\":[1,2],\"e\":{\"k\":\"v\"},\"f\":{\"k\":"
                   "\"v\"}}");
        /* A redefined anchor: aliases after it see the new node. */
        check_load("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
        /* Aliases inside aliased nodes, and as keys. */
        check_load("k: &k name\nb: &b [*k]\nc: [*b, *b]\nd: {*k : 1}\n",
                   "{\"k\":\"name\",\"b\":[\"name\"],\"c\":[[\"name\"],[\"name\"]],\"d\":{\"name\":"
                   "1}}");
        /* A deep copy: changing the copy leaves the anchor's node alone. */
        tree = load("a: &m {k: [1]}\nb: *m\n", NULL);
        jv_set_str(jv_get(tree, "b"), "k", "changed");
        jv_append(jv_get(jv_get(tree, "a"), "k"), jv_new_int(2));
        assert_string_equal(jv_to_string(tree, false),
                            "{\"a\":{\"k\":[1,2]},\"b\":{\"k\":\"changed\"}}");
}

static void test_yaml_merge_keys(void **state)
{
        (void)state;
        /* The mapping's own keys win, before or after "<<"; among merged maps the first. */
        check_load("b: &b {x: 1, y: 2}\nc: &c {y: 3, z: 4}\nm:\n  x: 0\n  <<: [*b, *c]\n  w: 9\n",
                   "{\"b\":{\"x\":1,\"y\":2},\"c\":{\"y\":3,\"z\":4},"
                   "\"m\":{\"x\":0,\"y\":2,\"z\":4,\"w\":9}}");
        check_load("b: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: own\n",
                   "{\"b\":{\"x\":1,\"y\":2},"
                   "\"m\":{\"x\":1,\"y\":\"own\"}}");
        /* The usual Compose pattern: an x- extension merged into services (merged keys stand
         * where "<<" stands). */
        check_load("x-base: &base\n  image: busybox\n  environment: {A: 1}\nservices:\n"
                   "  web:\n    <<: *base\n    image: nginx\n",
                   "{\"x-base\":{\"image\":\"busybox\",\"environment\":{\"A\":1}},"
                   "\"services\":{\"web\":{\"environment\":{\"A\":1},\"image\":\"nginx\"}}}");
        /* A merged map's own merges come after its own keys, before the next map. */
        check_load("a: &a {p: a}\nb: &b {<<: *a, q: b}\nc: &c {p: c, q: c, r: c}\n"
                   "m: {<<: [*b, *c]}\n",
                   "{\"a\":{\"p\":\"a\"},\"b\":{\"p\":\"a\",\"q\":\"b\"},"
                   "\"c\":{\"p\":\"c\",\"q\":\"c\",\"r\":\"c\"},"
                   "\"m\":{\"q\":\"b\",\"p\":\"a\",\"r\":\"c\"}}");
        /* Inline maps, a list of them, an alias to such a list (compose-go takes it), none. */
        check_load("m: {<<: {a: 1}, b: 2}\n", "{\"m\":{\"a\":1,\"b\":2}}");
        check_load("m: {<<: [{a: 1}, {a: 2, b: 2}]}\n", "{\"m\":{\"a\":1,\"b\":2}}");
        check_load("s: &s [{a: 1}, {b: 2}]\nm:\n  <<: *s\n",
                   "{\"s\":[{\"a\":1},{\"b\":2}],\"m\":{\"a\":1,\"b\":2}}");
        check_load("m: {<<: [], a: 1}\n", "{\"m\":{\"a\":1}}");
        /* Quoted, "<<" is a key like any other. */
        check_load("\"<<\": {a: 1}\n", "{\"<<\":{\"a\":1}}");
}

static void test_yaml_errors(void **state)
{
        static const struct {
                const char *yaml;
                int code;
                const char *msg;
        } rows[] = {
                {"a: b: c\n", -EINVAL, "c.yml:1:5: mapping values are not allowed in this context"},
                {"a:\n  b: 1\n c: 2\n", -EINVAL,
                 "c.yml:3:2: did not find expected key (while parsing a block mapping at line 1, "
                 "column 1)"},
                {"a: [1, 2\n", -EINVAL,
                 "c.yml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at "
                 "line 1, column 4)"},
                {"a:\n\tb: 1\n", -EINVAL,
                 "c.yml:2:1: found character that cannot start any token (while scanning for the "
                 "next token at line 2, column 1)"},
                {"a: 1\nb: \xff\n", -EINVAL, "c.yml:2:4: invalid leading UTF-8 octet"},
                {"a: 1\nb: 2\na: 3\n", -EINVAL,
                 "c.yml:3:1: mapping key \"a\" already defined at line 1"},
                {"s:\n  web:\n    image: a\n    image: b\n", -EINVAL,
                 "c.yml:4:5: mapping key \"image\" already defined at line 3"},
                {"m: {\"<<\": 1, <<: {a: 1}}\n", -EINVAL,
                 "c.yml:1:14: mapping key \"<<\" already defined at line 1"},
                {"a: &a {k: 1, k: 2}\n", -EINVAL,
                 "c.yml:1:14: mapping key \"k\" already defined at line 1"},
                {"1: x\n", -EINVAL, "c.yml:1:1: non-string key at top level: 1"},
                {"x: {true: 1}\n", -EINVAL, "c.yml:1:5: non-string key in x: true"},
                {"a:\n  b:\n    ~: 1\n", -EINVAL, "c.yml:3:5: non-string key in a.b: <nil>"},
                {"x: {1.5: a}\n", -EINVAL, "c.yml:1:5: non-string key in x: 1.5"},
                {"? [a, b]\n: c\n", -EINVAL, "c.yml:1:3: non-string key at top level: a sequence"},
                {"x: *nope\n", -EINVAL, "c.yml:1:4: unknown anchor 'nope' referenced"},
                {"a: &a [*a]\n", -EINVAL, "c.yml:1:8: anchor 'a' value contains itself"},
                {"a: &a {b: 1, <<: *a}\n", -EINVAL, "c.yml:1:18: anchor 'a' value contains itself"},
                {"a: &a {b: {c: *a}}\n", -EINVAL, "c.yml:1:15: anchor 'a' value contains itself"},
                {"a:\n  <<: 5\n", -EINVAL,
                 "c.yml:2:7: map merge requires map or sequence of maps as the value"},
                {"a: &s x\nb:\n  <<: [*s]\n", -EINVAL,
                 "c.yml:3:8: map merge requires map or sequence of maps as the value"},
                {"a: !!int abc\n", -EINVAL, "c.yml:1:4: cannot decode !!str `abc` as a !!int"},
                {"a: !!bool yes\n", -EINVAL, "c.yml:1:4: cannot decode !!str `yes` as a !!bool"},
                {"a: !!null 1\n", -EINVAL, "c.yml:1:4: cannot decode !!int `1` as a !!null"},
                {"- a\n", -EINVAL, "c.yml: top-level object must be a mapping"},
                {"just text\n", -EINVAL, "c.yml: top-level object must be a mapping"},
                {"---\n", -EINVAL, "c.yml: top-level object must be a mapping"},
                {"a: 1\n---\nb: 2\n", -EINVAL,
                 "c.yml:2:1: a second YAML document: a compose file holds one"},
                {"", -ENODATA, "c.yml: empty compose file"},
                {"# nothing but a comment\n\n", -ENODATA, "c.yml: empty compose file"},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                check_load_error(rows[i].yaml, rows[i].code, rows[i].msg);
}

static void check_pos(const struct jv *pos, const char *path, const char *want)
{
        const char *got = jv_get_str(pos, path);

        if (!got || strcmp(got, want) != 0)
                fail_msg("position of %s: got %s, want %s", path, got ? got : "none", want);
}

static void test_yaml_positions(void **state)
{
        static const char yaml[] = "x-env: &env\n"           /* 1 */
                                   "  A: 1\n"                /* 2 */
                                   "services:\n"             /* 3 */
                                   "  web:\n"                /* 4 */
                                   "    image: \"nginx\"\n"  /* 5 */
                                   "    ports:\n"            /* 6 */
                                   "      - 80:80\n"         /* 7 */
                                   "      - target: 443\n"   /* 8 */
                                   "    environment: *env\n" /* 9 */
                                   "    <<: {user: me}\n"    /* 10 */
                                   "    sysctls:\n"          /* 11 */
                                   "      net.core.x: 1\n"   /* 12 */
                                   "      a\\b: 2\n";        /* 13 */
        _cleanup_jv_ struct jv *pos = NULL, *tree = load(yaml, &pos);

        (void)state;
        check_pos(pos, "", "c.yml:1:1");
        check_pos(pos, "x-env", "c.yml:1:1");
        check_pos(pos, "services", "c.yml:3:1");
        check_pos(pos, "services.web", "c.yml:4:3");
        check_pos(pos, "services.web.image", "c.yml:5:5");
        check_pos(pos, "services.web.ports", "c.yml:6:5");
        check_pos(pos, "services.web.ports.0", "c.yml:7:9");
        check_pos(pos, "services.web.ports.1", "c.yml:8:9");
        check_pos(pos, "services.web.ports.1.target", "c.yml:8:9");
        /* An alias: the key where it is used, the anchor's text below it. */
        check_pos(pos, "services.web.environment", "c.yml:9:5");
        check_pos(pos, "services.web.environment.A", "c.yml:2:3");
        check_pos(pos, "services.web.user", "c.yml:10:10");
        /* Keys with '.' or '\' are escaped in paths. */
        check_pos(pos, "services.web.sysctls.net\\.core\\.x", "c.yml:12:7");
        check_pos(pos, "services.web.sysctls.a\\\\b", "c.yml:13:7");
        assert_null(jv_get_str(pos, "services.web.sysctls.net.core.x"));
        assert_int_equal(
                jv_get_int(jv_get(jv_path(tree, "services.web"), "sysctls"), "net.core.x", 0), 1);
}

static void test_yaml_tags(void **state)
{
        static const char yaml[] = "services:\n"
                                   "  web:\n"
                                   "    ports: !reset []\n"
                                   "    environment: !override\n"
                                   "      A: 1\n"
                                   "    volumes: [a, !reset b, c]\n"
                                   "    x: &r !reset 1\n"
                                   "    y: *r\n";
        _cleanup_jv_ struct jv *tree = NULL, *pos = NULL, *tags = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(
                compose_yaml_load_tags("c.yml", yaml, strlen(yaml), &tree, &pos, &tags, &err), 0);
        /* compose-go leaves !reset nodes out of the file's own tree. */
        assert_string_equal(jv_to_string(tree, false),
                            "{\"services\":{\"web\":{\"environment\":{\"A\":1},"
                            "\"volumes\":[\"a\",\"c\"]}}}");
        assert_string_equal(jv_get_str(tags, "services.web.ports"), "reset");
        assert_string_equal(jv_get_str(tags, "services.web.environment"), "override");
        assert_string_equal(jv_get_str(tags, "services.web.volumes.1"), "reset");
        assert_string_equal(jv_get_str(tags, "services.web.y"), "reset");
        assert_null(jv_get_str(pos, "services.web.ports"));
        /* Items after a dropped one move up, with their positions. */
        check_pos(pos, "services.web.volumes.1", "c.yml:6:28");
        jv_put(TAKE_PTR(tree));
        jv_put(TAKE_PTR(pos));
        /* Without ret_tags, and with ret_pos NULL. */
        assert_int_equal(compose_yaml_load("c.yml", yaml, strlen(yaml), &tree, NULL, &err), 0);
        assert_null(jv_path(tree, "services.web.ports"));
}

/* Levels l0..l(levels-1) of ten aliases each to the level below: 10^levels "lol"s. */
static char *laughs(int levels)
{
        char *yaml = util_printf("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");

        for (int i = 1; i < levels; i++) {
                char *prev = yaml;
                yaml = util_printf("%sl%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, "
                                   "*l%d, *l%d]\n",
                                   prev, i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                                   i - 1, i - 1, i - 1);
                free(prev);
        }
        return yaml;
}

/* Billion laughs: ten levels would be 10^10 nodes; five (10^5) are a tree like any other. */
static void test_yaml_alias_bomb(void **state)
{
        _cleanup_free_ char *yaml = laughs(10), *fine = laughs(5);
        _cleanup_jv_ struct jv *big = NULL;
        struct jv *tree = NULL, *pos = NULL;
        struct err err = {0};
        struct timespec t0, t1;
        double secs;

        (void)state;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(compose_yaml_load("c.yml", yaml, strlen(yaml), &tree, &pos, &err),
                         -EINVAL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_string_equal(err.msg, "c.yml: more than 1000000 nodes, or 67108864 bytes of "
                                     "paths, once aliases are expanded (an alias bomb?)");
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* Refused from the anchors' counts, before anything is built. */
        print_message("alias bomb refused after %.3f s\n", secs);
        assert_true(secs < 1);
        assert_null(tree);
        big = load(fine, &pos);
        assert_int_equal(jv_len(jv_at(jv_at(jv_at(jv_at(jv_get(big, "l4"), 9), 9), 9), 9)), 10);
        assert_string_equal(jv_get_str(pos, "l4.9.9.9.9.9"), "c.yml:1:55");
        jv_put(pos);
}

static char *nested(int depth)
{
        char *s = malloc((size_t)depth * 2 + 8);
        int n = 0;

        assert_non_null(s);
        n += sprintf(s, "a: ");
        for (int i = 0; i < depth; i++)
                s[n++] = '[';
        for (int i = 0; i < depth; i++)
                s[n++] = ']';
        s[n] = '\0';
        return s;
}

static void test_yaml_depth(void **state)
{
        _cleanup_free_ char *ok = nested(COMPOSE_YAML_MAX_DEPTH - 1), *deep = nested(5000);
        _cleanup_free_ char *chain = NULL;
        _cleanup_jv_ struct jv *tree = NULL;
        struct jv *pos = NULL;
        struct err err = {0};

        (void)state;
        tree = load(ok, &pos);
        jv_put(pos);
        check_load_error(deep, -EINVAL, "c.yml:1:1004: nested deeper than 1000 levels");
        /* Aliases stacking depth, each level one alias deeper than the last: ~550,000 nodes,
         * but their paths (as long as they are deep) would take 400 MB. Refused up front. */
        chain = util_printf("a0: &a0 [x]\n");
        for (int i = 1; i <= 1100; i++) {
                char *prev = chain;
                chain = util_printf("%sa%d: &a%d [*a%d]\n", prev, i, i, i - 1);
                free(prev);
        }
        assert_int_equal(compose_yaml_load("c.yml", chain, strlen(chain), &tree, &pos, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "once aliases are expanded (an alias bomb?)"));
}

/* ---- interpolation ---- */

static void test_interp_templates(void **state)
{
        /* compose-go's template_test.go, with its mapping FOO=first, BAR="", JSON={...}. */
        static const char *const rows[][2] = {
                {"$${foo}", "${foo}"},
                {"foo", "foo"},
                {"a $ string", "a $ string"},
                {"^REGEX$", "^REGEX$"},
                {"$}", "$}"},
                {"$", "$"},
                {"$1 and $-", "$1 and $-"},
                {"$FOO-bar", "first-bar"},
                {"This ${missing} var", "This  var"},
                {"This ${BAR} var", "This  var"},
                {"This $FOO var", "This first var"},
                {"This ${FOO} var", "This first var"},
                {"ok ${missing:-def}", "ok def"},
                {"ok ${missing-def}", "ok def"},
                {"${A:+${A},}B", "B"},
                {"${A:-${B}}", ""},
                {"ok ${BAR:-def}", "ok def"},
                {"ok ${FOO:-def}", "ok first"},
                {"ok ${BAR-def}", "ok "},
                {"ok ${UNSET_VAR:+presence_value}", "ok "},
                {"ok ${UNSET_VAR+presence_value}", "ok "},
                {"ok ${FOO:+presence_value}", "ok presence_value"},
                {"ok ${FOO+presence_value}", "ok presence_value"},
                {"ok ${BAR+presence_value}", "ok presence_value"},
                {"ok ${BAR:+presence_value}", "ok "},
                {"ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"},
                {"-ok ${BAR:-defaultValue}", "-ok defaultValue"},
                {"+ok ${UNSET:-${BAR-defaultValue}}", "+ok "},
                {"-ok ${FOO:-defaultValue}", "-ok first"},
                {":-ok ${UNSET-defaultValue}", ":-ok defaultValue"},
                {":-ok ${BAR-defaultValue}", ":-ok "},
                {":?ok ${BAR-defaultValue}", ":?ok "},
                {":?ok ${BAR:-defaultValue}", ":?ok defaultValue"},
                {":+ok ${BAR:-defaultValue}", ":+ok defaultValue"},
                {"+ok ${BAR-defaultValue}", "+ok "},
                {"?ok ${BAR:-defaultValue}", "?ok defaultValue"},
                {"ok ${UNSET_VAR-$FOO}", "ok first"},
                {"ok ${UNSET_VAR-${FOO}}", "ok first"},
                {"ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"},
                {"ok ${BAR:-$FOO}", "ok first"},
                {"ok ${BAR:-${FOO}}", "ok first"},
                {"ok ${BAR:-${FOO} ${FOO}}", "ok first first"},
                {"ok ${BAR+$FOO}", "ok first"},
                {"ok ${BAR+$FOO ${FOO:+second}}", "ok first second"},
                {"ok ${FOO:?err}", "ok first"},
                {"ok ${FOO?err}", "ok first"},
                {"ok ${BAR?err}", "ok "},
                {"${UNSET_VAR-myerror?msg}", "myerror?msg"},
                {"${FOO?bar-baz}", "first"},
                {"${BAR:-default_value_for_empty_var}", "default_value_for_empty_var"},
                {"${UNSET_VAR-default_value_for_unset_var}", "default_value_for_unset_var"},
                {"ok ${missing:-{\"json\":1}}", "ok {\"json\":1}"},
                {"ok ${missing-{\"json\":1}}", "ok {\"json\":1}"},
                {"ok ${JSON:-{\"json\":1}}", "ok {\"json\":2}"},
                {"ok ${JSON-{\"json\":1}}", "ok {\"json\":2}"},
                {"ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first"},
                /* More, each checked against compose-go: the greedy match to the line's last
                 * '}' and getFirstBraceClosingIndex's count (it skips the byte after '{'). */
                {"a ${A:-{}} x}", "a {}} x"},
                {"${A:-{}x}", "{}x"},
                {"${A:-x}}", "x}"},
                {"${FOO:-a} b ${FOO} } c", "first b first } c"},
                {"${UNSET:-a}${UNSET:-b}}", "ab}"},
                {"${FOO}${FOO}$FOO$$FOO", "firstfirstfirst$FOO"},
                {"${UNSET:-${UNSET2:-${FOO}}}", "first"},
                {"${FOO:-x}\n${UNSET:-y}", "first\ny"},
                {"${_x:-${_y-z}}", "z"},
                {"$_A.$FOO9", "."},
                {"${UNSET:-}", ""},
                {"caf\xc3\xa9 ${FOO}", "caf\xc3\xa9 first"},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct err err = {0};
                _cleanup_free_ char *got = interp(rows[i][0], mapping, NULL, &err);
                if (!got)
                        fail_msg("%s: %s", rows[i][0], err.msg);
                if (strcmp(got, rows[i][1]) != 0)
                        fail_msg("%s: got \"%s\", want \"%s\"", rows[i][0], got, rows[i][1]);
        }
}

static void test_interp_errors(void **state)
{
        static const char *const rows[][2] = {
                {"${", "invalid interpolation format for v: \"${\"; you may need to escape any $ "
                       "with another $"},
                {"${}", "invalid interpolation format for v: \"${}\"; you may need to escape any "
                        "$ with another $"},
                {"${ }", "invalid interpolation format for v: \"${ }\"; you may need to escape "
                         "any $ with another $"},
                {"${ foo}", NULL},
                {"${foo }", NULL},
                {"${foo!}", NULL},
                {"${VAR/a/b}", "invalid interpolation format for v: \"${VAR/a/b}\"; you may need "
                               "to escape any $ with another $"},
                {"${1A}", NULL},
                {"${FOO:-x", NULL},
                {"${FOO:-x\n}", NULL},
                {"${A:-x} ${}", "invalid interpolation format for v: \"${A:-x} ${}\"; you may need "
                                "to escape any $ with another $"},
                {"${A:-${B}", NULL},
                {"not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value: "
                 "Mandatory Variable Unset"},
                {"not ok ${BAR:?Mandatory Variable Empty}",
                 "error while interpolating v: required variable BAR is missing a value: "
                 "Mandatory Variable Empty"},
                {"not ok ${UNSET_VAR:?}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value"},
                {"not ok ${UNSET_VAR?}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value"},
                {"not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value: "
                 "Mandatory Variable first"},
                {"not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value: "
                 "Mandatory Variable first"},
                {"${UNSET_VAR?bar-baz}",
                 "error while interpolating v: required variable UNSET_VAR is missing a value: "
                 "bar-baz"},
                {"${UNSET:?${}}", NULL},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct err err = {0};
                _cleanup_free_ char *got = interp(rows[i][0], mapping, NULL, &err);
                if (got)
                        fail_msg("%s: got \"%s\", want an error", rows[i][0], got);
                assert_int_equal(err.code, EINVAL);
                if (rows[i][1] ? strcmp(err.msg, rows[i][1]) != 0
                               : !strstr(err.msg, "invalid interpolation format for v: "))
                        fail_msg("%s: message \"%s\"", rows[i][0], err.msg);
        }
}

static void test_interp_laziness_and_warnings(void **state)
{
        static const char *const only_a[] = {"A=value", NULL};
        _cleanup_strv_ char **w = NULL;
        struct err err = {0};
        char *got;

        (void)state;
        /* Defaults and messages are interpolated only when used: no warning otherwise. */
        got = interp("${A:+${A},}B", mapping, &w, &err);
        assert_string_equal(got, "B");
        assert_int_equal(util_strv_len(w), 0);
        free(got);
        util_strv_free(TAKE_PTR(w));
        got = interp("${A?${B}}", only_a, &w, &err);
        assert_string_equal(got, "value");
        assert_int_equal(util_strv_len(w), 0);
        free(got);
        util_strv_free(TAKE_PTR(w));
        got = interp("${A:-${B}} $B ${B} $C", mapping, &w, &err);
        assert_string_equal(got, "   ");
        free(got);
        /* One warning a variable, in Compose's words. */
        assert_int_equal(util_strv_len(w), 2);
        assert_string_equal(w[0], "The \"B\" variable is not set. Defaulting to a blank string.");
        assert_string_equal(w[1], "The \"C\" variable is not set. Defaulting to a blank string.");
}

static void test_interp_tree(void **state)
{
        static const char yaml[] = "services:\n"
                                   "  ${NAME}:\n"
                                   "    image: ${IMAGE:-busybox}:$TAG\n"
                                   "    command: [sh, -c, 'echo $$HOME ${X}']\n"
                                   "    ports: [8080, \"${PORT}:80\", [\"$PORT\", 1]]\n"
                                   "    environment:\n"
                                   "      $KEY: ${VAL}\n"
                                   "      DEBUG: true\n"
                                   "      N: 3\n"
                                   "      F: 1.5\n"
                                   "      Z: ~\n"
                                   "    labels: {a.b: \"${UNSET}\"}\n";
        static const char *const vars[] = {"TAG=1.2", "PORT=80", "VAL=v", "X=", NULL};
        _cleanup_jv_ struct jv *pos = NULL, *tree = load(yaml, &pos);
        _cleanup_strv_ char **w = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(compose_interpolate(tree, pos, env_lookup, (void *)vars, &w, &err), 0);
        assert_string_equal(jv_to_string(tree, false),
                            "{\"services\":{\"${NAME}\":{\"image\":\"busybox:1.2\","
                            "\"command\":[\"sh\",\"-c\",\"echo $HOME \"],"
                            "\"ports\":[8080,\"80:80\",[\"80\",1]],"
                            "\"environment\":{\"$KEY\":\"v\",\"DEBUG\":true,\"N\":3,\"F\":1.5,"
                            "\"Z\":null},\"labels\":{\"a.b\":\"\"}}}}");
        assert_int_equal(util_strv_len(w), 1);
        assert_string_equal(w[0],
                            "The \"UNSET\" variable is not set. Defaulting to a blank string.");
        util_strv_free(TAKE_PTR(w));
        /* A second pass interpolates again: "echo $HOME " now names $HOME. */
        assert_int_equal(compose_interpolate(tree, pos, NULL, NULL, &w, &err), 0);
        assert_string_equal(w[0],
                            "The \"HOME\" variable is not set. Defaulting to a blank string.");
        util_strv_free(TAKE_PTR(w));
        /* No warning: an empty vector, not NULL; NULL ret_warnings is fine too. */
        assert_int_equal(compose_interpolate(tree, pos, NULL, NULL, &w, &err), 0);
        assert_non_null(w);
        assert_null(w[0]);
        assert_int_equal(compose_interpolate(tree, NULL, NULL, NULL, NULL, &err), 0);
}

static void test_interp_error_positions(void **state)
{
        static const char yaml[] = "services:\n"
                                   "  web:\n"
                                   "    image: x\n"
                                   "    ports:\n"
                                   "      - \"${PORT:?set PORT}:80\"\n"
                                   "    labels:\n"
                                   "      com.example.v: ${VAR/a/b}\n";
        _cleanup_jv_ struct jv *pos = NULL, *tree = load(yaml, &pos);
        _cleanup_jv_ struct jv *tree2 = NULL;
        _cleanup_strv_ char **w = (char **)0x1;
        struct err err = {0};

        (void)state;
        assert_int_equal(compose_interpolate(tree, pos, env_lookup, (void *)mapping, &w, &err),
                         -EINVAL);
        assert_ptr_equal(w, (char **)0x1);
        w = NULL;
        /* jv_keys order: labels before ports. */
        assert_string_equal(err.msg, "c.yml:7:7: invalid interpolation format for "
                                     "services.web.labels.com.example.v: \"${VAR/a/b}\"; you may "
                                     "need to escape any $ with another $");
        tree2 = load("services:\n  web:\n    ports:\n      - \"${PORT:?set PORT}:80\"\n", NULL);
        jv_put(TAKE_PTR(pos));
        assert_int_equal(compose_interpolate(tree2, NULL, NULL, NULL, NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "error while interpolating services.web.ports.0: required "
                                     "variable PORT is missing a value: set PORT");
        jv_put(TAKE_PTR(tree2));
        tree2 = load("a: [x, {b: \"${Q?}\"}]\n", &pos);
        assert_int_equal(compose_interpolate(tree2, pos, NULL, NULL, NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "c.yml:1:9: error while interpolating a.1.b: required "
                                     "variable Q is missing a value");
        /* Only objects. */
        jv_put(TAKE_PTR(tree2));
        tree2 = jv_new_array();
        assert_int_equal(compose_interpolate(tree2, NULL, NULL, NULL, NULL, &err), -EINVAL);
}

/* ---- .env ---- */

static void test_dotenv_parsing(void **state)
{
        /* godotenv_test.go's TestParsing: the line, its key, the value. */
        static const char *const rows[][3] = {
                {"FOO=bar", "FOO", "bar"},
                {"FOO =bar", "FOO", "bar"},
                {"FOO= bar", "FOO", "bar"},
                {"FOO=\"bar\"", "FOO", "bar"},
                {"FOO='bar'", "FOO", "bar"},
                {"FOO=\"escaped\\\"bar\"", "FOO", "escaped\"bar"},
                {"FOO=\"\\\"quoted\\\"\"", "FOO", "\"quoted\""},
                {"FOO=\"'d'\"", "FOO", "'d'"},
                {"OPTION_A: 1", "OPTION_A", "1"},
                {"OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"},
                {"OPTION_A=1:B", "OPTION_A", "1:B"},
                {"export OPTION_A=2", "OPTION_A", "2"},
                {"export OPTION_B='\\n'", "OPTION_B", "\\n"},
                {"export exportFoo=2", "exportFoo", "2"},
                {"exportFOO=2", "exportFOO", "2"},
                {"export_FOO =2", "export_FOO", "2"},
                {"export.FOO= 2", "export.FOO", "2"},
                {"export\tOPTION_A=2", "OPTION_A", "2"},
                {"  export OPTION_A=2", "OPTION_A", "2"},
                {"\texport OPTION_A=2", "OPTION_A", "2"},
                {"export OPTION_A=\"export A\"", "OPTION_A", "export A"},
                {"FOO=\"bar\\nbaz\"", "FOO", "bar\nbaz"},
                {"FOO=a\\tb", "FOO", "a\\tb"},
                {"FOO=\"a\\tb\"", "FOO", "a\tb"},
                {"KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\"", "KEY",
                 "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"},
                {"FOO.BAR=foobar", "FOO.BAR", "foobar"},
                {"FOO=foobar=", "FOO", "foobar="},
                {"FOO=bar ", "FOO", "bar"},
                {"FOO=bar # this is foo", "FOO", "bar"},
                {"FOO=bar #this is foo", "FOO", "bar"},
                {"FOO=bar #", "FOO", "bar"},
                {"FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment"},
                {"FOO=\"bar#baz\"", "FOO", "bar#baz"},
                {"FOO=\"bar#baz\"#", "FOO", "bar#baz"},
                {"FOO=\"bar#baz\" # comment", "FOO", "bar#baz"},
                {"FOO='bar#baz' # comment", "FOO", "bar#baz"},
                {"FOO=\"bar#baz#bang\" # comment", "FOO", "bar#baz#bang"},
                {"FOO=\"ba#r\"", "FOO", "ba#r"},
                {"FOO='ba#r'", "FOO", "ba#r"},
                {"FOO=\"bar\\n\\ b\\az\"", "FOO", "bar\n\\ b\az"},
                {"FOO=\"bar\\\\\\n\\ b\\az\"", "FOO", "bar\\\n\\ b\az"},
                {"FOO=\"bar\\\\r\\ b\\az\"", "FOO", "bar\\r\\ b\az"},
                {"FOO=\"bar\\nbaz\\\\\"", "FOO", "bar\nbaz\\"},
                {"=\"value\"", "", "value"},
                {" KEY =value", "KEY", "value"},
                {"   KEY=value", "KEY", "value"},
                {"\tKEY=value", "KEY", "value"},
                {"KEY=\"\\0123\"", "KEY", "S"},
                {"KEY=\"\\x07\"", "KEY", "\\x07"},
                {"KEY=\"\\u12e4\"", "KEY", "\\u12e4"},
                {"KEY=\"\\U00101234\"", "KEY", "\\U00101234"},
                /* More, each checked against compose-go. */
                {"A=\"\\0377\"", "A", "\xc3\xbf"},
                {"A=\"\\0777\"", "A", "\\777"},
                {"A=\"\\012\"", "A", "\\12"},
                {"A=\"a\\0b\"", "A", "a\\b"},
                {"A=\"\\c\\q\\$x\"", "A", "\\c\\q$x"},
                {"A='\\c\\'\\\\'", "A", "\\c'\\\\"},
                {"A=1 \t# c", "A", "1 \t# c"},
                {"A=1\t#c", "A", "1\t#c"},
                {"A=$$B", "A", "$B"},
                {"A=1\r\n", "A", "1"},
                {"a[1]=c", "a[1]", "c"},
                {"\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91-T\xc3\x9cK\xc3\x96R"
                 "=x",
                 "\xc3\xa1rv\xc3\xadzt\xc5\xb1r\xc5\x91-T\xc3\x9cK\xc3\x96R", "x"},
                {"\xef\xbb\xbf"
                 "BOM=1",
                 "BOM", "1"},
                {"A=\"first line\nsecond line\"", "A", "first line\nsecond line"},
                {"A='x\n  y'", "A", "x\n  y"},
                {"A=", "A", ""},
                {"A=   \nB=2", "A", ""},
                {"A=x\nA=y", "A", "y"},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                _cleanup_jv_ struct jv *env = dotenv(rows[i][0], NULL);
                const char *got = jv_get_str(env, rows[i][1]);
                if (!got || strcmp(got, rows[i][2]) != 0)
                        fail_msg("%s: %s is \"%s\", want \"%s\"", rows[i][0], rows[i][1],
                                 got ? got : "(none)", rows[i][2]);
        }
}

static void test_dotenv_fixtures(void **state)
{
        static const char *const five[] = {"OPTION_A=5", NULL};

        (void)state;
        /* dotenv/fixtures/plain.env */
        check_dotenv("OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n"
                     "456 = ABC\nOPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n",
                     NULL,
                     "{\"OPTION_A\":\"1\",\"OPTION_B\":\"2\",\"OPTION_C\":\"3\",\"OPTION_D\":\"4\","
                     "\"OPTION_E\":\"5\",\"456\":\"ABC\",\"OPTION_F\":\"\",\"OPTION_G\":\"\","
                     "\"OPTION_H\":\"my string\"}");
        /* quoted.env */
        check_dotenv(
                "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\n"
                "OPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\n"
                "OPTION_I = \"echo 'asd'\" # Inline comment\n"
                "OPTION_J = 'first line\nsecond line\nthird line\nand so on'\n"
                "OPTION_K='Let\\'s go!'\nOPTION_Z = \"last value\"\n",
                NULL,
                "{\"OPTION_A\":\"1\",\"OPTION_B\":\"2\",\"OPTION_C\":\"\",\"OPTION_D\":\"\\\\n\","
                "\"OPTION_E\":\"1\",\"OPTION_F\":\"2\",\"OPTION_G\":\"\",\"OPTION_H\":\"\\n\","
                "\"OPTION_I\":\"echo 'asd'\","
                "\"OPTION_J\":\"first line\\nsecond line\\nthird line\\nand so on\","
                "\"OPTION_K\":\"Let's go!\",\"OPTION_Z\":\"last value\"}");
        /* unquoted.env */
        check_dotenv("OPTION_A = \"some quoted phrase\"\nOPTION_B=first one with an unquoted "
                     "phrase\nOPTION_C = then another one with an unquoted phrase\n"
                     "OPTION_D = then another one with an unquoted phrase special \xc3\xa8 char\n"
                     "OPTION_E = \"then another one quoted phrase\"\n",
                     NULL,
                     "{\"OPTION_A\":\"some quoted phrase\","
                     "\"OPTION_B\":\"first one with an unquoted phrase\","
                     "\"OPTION_C\":\"then another one with an unquoted phrase\","
                     "\"OPTION_D\":\"then another one with an unquoted phrase special \xc3\xa8 "
                     "char\",\"OPTION_E\":\"then another one quoted phrase\"}");
        /* special.env, exported.env, equals.env */
        check_dotenv("VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\n"
                     "VAR-WITH-DASHES=dashes\n",
                     NULL,
                     "{\"VAR.WITH.DOTS\":\"dots\",\"VAR_WITH_UNDERSCORES\":\"underscores\","
                     "\"VAR-WITH-DASHES\":\"dashes\"}");
        check_dotenv("export OPTION_A=2\nexport OPTION_B='\\n'\n", NULL,
                     "{\"OPTION_A\":\"2\",\"OPTION_B\":\"\\\\n\"}");
        check_dotenv("export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n",
                     NULL, "{\"OPTION_A\":\"postgres://localhost:5432/database?sslmode=disable\"}");
        /* substitutions.env, without and with OPTION_A=5 in the environment: the environment
         * is asked before the file's own keys (TestSubstitutionsWithEnvFilePrecedence). */
        static const char subst[] = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n"
                                    "OPTION_D=${OPTION_A}_${OPTION_B}\n"
                                    "OPTION_E=${OPTION_NOT_DEFINED}\n";
        check_dotenv(
                subst, NULL,
                "{\"OPTION_A\":\"1\",\"OPTION_B\":\"1\",\"OPTION_C\":\"1\",\"OPTION_D\":\"1_1\","
                "\"OPTION_E\":\"\"}");
        check_dotenv(
                subst, five,
                "{\"OPTION_A\":\"1\",\"OPTION_B\":\"5\",\"OPTION_C\":\"5\",\"OPTION_D\":\"5_5\","
                "\"OPTION_E\":\"\"}");
        /* substitutions-default.env */
        static const char dflt[] = "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\n"
                                   "OPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n"
                                   "OPTION_E=${OPTION_NOT_DEFINED}\n";
        check_dotenv(
                dflt, five,
                "{\"OPTION_A\":\"5\",\"OPTION_B\":\"5\",\"OPTION_C\":\"5\",\"OPTION_D\":\"5_5\","
                "\"OPTION_E\":\"\"}");
        check_dotenv(
                dflt, NULL,
                "{\"OPTION_A\":\"1\",\"OPTION_B\":\"1\",\"OPTION_C\":\"1\",\"OPTION_D\":\"1_1\","
                "\"OPTION_E\":\"\"}");
        /* utf8-bom.env */
        check_dotenv("\xef\xbb\xbfOPTION_A=1\nOPTION_B=2\n", NULL,
                     "{\"OPTION_A\":\"1\",\"OPTION_B\":\"2\"}");
}

static void test_dotenv_expanding(void **state)
{
        /* TestExpanding, and the var-expansion tests' forms. */
        static const char *const vars[] = {"EMPTY_VAR=", "TEST_VAR=Test Value", NULL};

        (void)state;
        check_dotenv("FOO=test\nBAR=$FOO", NULL, "{\"FOO\":\"test\",\"BAR\":\"test\"}");
        check_dotenv("FOO=test\nBAR=${FOO}bar", NULL, "{\"FOO\":\"test\",\"BAR\":\"testbar\"}");
        check_dotenv("BAR=$FOO", NULL, "{\"BAR\":\"\"}");
        check_dotenv("FOO=test\nBAR=\"quote $FOO\"", NULL,
                     "{\"FOO\":\"test\",\"BAR\":\"quote test\"}");
        check_dotenv("BAR='quote $FOO'", NULL, "{\"BAR\":\"quote $FOO\"}");
        check_dotenv("FOO=\"foo\\$BAR\"", NULL, "{\"FOO\":\"foo$BAR\"}");
        check_dotenv("FOO=\"foo\\${BAR}\"", NULL, "{\"FOO\":\"foo${BAR}\"}");
        check_dotenv("FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"", NULL,
                     "{\"FOO\":\"test\",\"BAR\":\"foo${FOO} test\"}");
        check_dotenv("A=${UNSET_VAR:-Default Value}\nB=${EMPTY_VAR:-Default Value}\n"
                     "C=${TEST_VAR:-Default Value}\nD=${UNSET_VAR-Default Value}\n"
                     "E=${EMPTY_VAR-Default Value}\nF=${EMPTY_VAR?Test error}\n"
                     "G=${TEST_VAR:?Default Value}",
                     vars,
                     "{\"A\":\"Default Value\",\"B\":\"Default Value\",\"C\":\"Test Value\","
                     "\"D\":\"Default Value\",\"E\":\"\",\"F\":\"\",\"G\":\"Test Value\"}");
        check_dotenv("TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\n"
                     "stratum+tcp://stratum.antpool.com:443\"",
                     NULL,
                     "{\"TEST_URLS\":\"stratum+tcp://stratum.antpool.com:3333\\n"
                     "stratum+tcp://stratum.antpool.com:443\"}");
}

static void test_dotenv_inherited(void **state)
{
        static const char *const vars[] = {"VAR_TO_BE_LOADED_FROM_OS_ENV=SOME_RANDOM_VALUE",
                                           "EMPTY=", NULL};

        (void)state;
        /* A bare KEY takes the lookup's value (inherited-*.env), or is left out. */
        check_dotenv("foo=bar\nVAR_TO_BE_LOADED_FROM_OS_ENV\nbar=baz\n", vars,
                     "{\"foo\":\"bar\",\"VAR_TO_BE_LOADED_FROM_OS_ENV\":\"SOME_RANDOM_VALUE\","
                     "\"bar\":\"baz\"}");
        check_dotenv("VARIABLE_NOT_FOUND\n", vars, "{}");
        check_dotenv("EMPTY\n", vars, "{\"EMPTY\":\"\"}");
        /* Not the file's own keys: only the lookup. */
        check_dotenv("A=1\nA\n", NULL, "{\"A\":\"1\"}");
        /* On the last line without a line break too (compose-go files it under ""). */
        check_dotenv("VAR_TO_BE_LOADED_FROM_OS_ENV", vars,
                     "{\"VAR_TO_BE_LOADED_FROM_OS_ENV\":\"SOME_RANDOM_VALUE\"}");
        check_dotenv("A=\"x\" trailing", NULL, "{\"A\":\"x\"}");
}

static void test_dotenv_lookup_order(void **state)
{
        static const char base[] =
                "ENV_HOSTNAME=localhost\nENV_MY_URL=\"http://${ENV_HOSTNAME}\"\n";
        static const char *const osenv[] = {"ENV_HOSTNAME=host.local", NULL};
        _cleanup_jv_ struct jv *env = NULL;

        (void)state;
        /* TestMultipleFiles, one file: the environment before the file's own key. */
        check_dotenv(base, NULL,
                     "{\"ENV_HOSTNAME\":\"localhost\",\"ENV_MY_URL\":\"http://localhost\"}");
        check_dotenv(base, osenv,
                     "{\"ENV_HOSTNAME\":\"localhost\",\"ENV_MY_URL\":\"http://host.local\"}");
        /* Keys keep the place they first had; the last value wins. */
        env = dotenv("B=1\nA=2\nB=3\n", NULL);
        assert_string_equal(jv_to_string(env, false), "{\"B\":\"3\",\"A\":\"2\"}");
}

static void test_dotenv_warnings(void **state)
{
        _cleanup_jv_ struct jv *env = NULL;
        _cleanup_strv_ char **w = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(compose_dotenv_parse(".env", "A=$X\nB=\"${X}${Y:-y}\"\nC='$Z'\n", NULL,
                                              NULL, &env, &w, &err),
                         0);
        assert_string_equal(jv_to_string(env, false), "{\"A\":\"\",\"B\":\"y\",\"C\":\"$Z\"}");
        assert_int_equal(util_strv_len(w), 1);
        assert_string_equal(w[0], "The \"X\" variable is not set. Defaulting to a blank string.");
        util_strv_free(TAKE_PTR(w));
        jv_put(TAKE_PTR(env));
        assert_int_equal(compose_dotenv_parse(".env", "", NULL, NULL, &env, &w, &err), 0);
        assert_string_equal(jv_to_string(env, false), "{}");
        assert_non_null(w);
        assert_null(w[0]);
}

static void test_dotenv_errors(void **state)
{
        static const char *const rows[][2] = {
                {"lol$wut", ".env:1: unexpected character \"$\" in variable name \"lol$wut\""},
                {"%!(EXTRA string)=foo",
                 ".env:1: unexpected character \"%\" in variable name \"%!(EXTRA string)=foo\""},
                {"A=1\n\n# c\nB\"=2\nC=3",
                 ".env:4: unexpected character \"\\\"\" in variable name \"B\\\"=2\""},
                /* invalid1.env */
                {"# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix",
                 ".env:7: key cannot contain a space"},
                {"KEY WITH SPACE=1", ".env:1: key cannot contain a space"},
                {"KEY=\"", ".env:1: unterminated quoted value \""},
                {"KEY=\"value", ".env:1: unterminated quoted value \"value"},
                {"KEY=\"value\\\"", ".env:1: unterminated quoted value \"value\\\""},
                {"KEY=\"value'", ".env:1: unterminated quoted value \"value'"},
                {"KEY='", ".env:1: unterminated quoted value '"},
                {"KEY='value", ".env:1: unterminated quoted value 'value"},
                {"KEY='value\\'", ".env:1: unterminated quoted value 'value\\'"},
                {"KEY='value\"", ".env:1: unterminated quoted value 'value\""},
                {"A=1\nKEY=\"a\nb\nc", ".env:4: unterminated quoted value \"a"},
                {"A=1\nB=${C:?need C}", ".env:2: error while interpolating B: required variable C "
                                        "is missing a value: need C"},
                {"A=${}", ".env:1: invalid interpolation format for A: \"${}\"; you may need to "
                          "escape any $ with another $"},
                {"A=\"${B\"", ".env:1: invalid interpolation format for A: \"${B\"; you may need "
                              "to escape any $ with another $"},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                check_dotenv_error(rows[i][0], rows[i][1]);
}

/* ---- paths ---- */

static void test_paths(void **state)
{
        static const char *const rows[][4] = {
                /* parent, key, path, shown */
                {NULL, "services", "services", "services"},
                {"", "a", "a", "a"},
                {"services", "web", "services.web", "services.web"},
                {"services.web.ports", "0", "services.web.ports.0", "services.web.ports.0"},
                {"s", "net.core.x", "s.net\\.core\\.x", "s.net.core.x"},
                {"s", "a\\b", "s.a\\\\b", "s.a\\b"},
                {NULL, "", "", ""},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                _cleanup_free_ char *p = compose_path_join(rows[i][0], rows[i][1]);
                _cleanup_free_ char *shown = compose_path_display(p);
                assert_string_equal(p, rows[i][2]);
                assert_string_equal(shown, rows[i][3]);
        }
}

static void test_fuzz_corpus(void **state)
{
        (void)state;
        corpus_replay("tests/fuzz/corpus/compose_file");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_yaml_scalar_types),
                cmocka_unit_test(test_yaml_structure),
                cmocka_unit_test(test_yaml_length),
                cmocka_unit_test(test_yaml_anchors),
                cmocka_unit_test(test_yaml_merge_keys),
                cmocka_unit_test(test_yaml_errors),
                cmocka_unit_test(test_yaml_positions),
                cmocka_unit_test(test_yaml_tags),
                cmocka_unit_test(test_yaml_alias_bomb),
                cmocka_unit_test(test_yaml_depth),
                cmocka_unit_test(test_interp_templates),
                cmocka_unit_test(test_interp_errors),
                cmocka_unit_test(test_interp_laziness_and_warnings),
                cmocka_unit_test(test_interp_tree),
                cmocka_unit_test(test_interp_error_positions),
                cmocka_unit_test(test_dotenv_parsing),
                cmocka_unit_test(test_dotenv_fixtures),
                cmocka_unit_test(test_dotenv_expanding),
                cmocka_unit_test(test_dotenv_inherited),
                cmocka_unit_test(test_dotenv_lookup_order),
                cmocka_unit_test(test_dotenv_warnings),
                cmocka_unit_test(test_dotenv_errors),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_fuzz_corpus),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
