#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/template.h"

static const char *const doc_json =
        "{\"Id\":\"abc123\",\"Name\":\"/web\","
        "\"State\":{\"Running\":true,\"Pid\":42,\"Status\":\"running\",\"Health\":null},"
        "\"Config\":{\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Env\":[\"A=1\",\"B=2\"],"
        "\"Cmd\":[\"sh\",\"-c\",\"echo <hi> & bye\"],\"Empty\":{}},"
        "\"Ports\":[],\"Ratio\":1.5,\"Big\":1e7,\"Zero\":0,\"Blank\":\"\",\"Off\":false,"
        "\"Mixed\":[1,\"x\",true,null,[2,3],{\"k\":\"v\"}]}";

static int setup(void **state)
{
        struct err err = {0};
        struct jv *doc = NULL;

        if (jv_parse(doc_json, &doc, &err) < 0)
                return -1;
        *state = doc;
        return 0;
}

static int teardown(void **state)
{
        jv_put(*state);
        return 0;
}

static void check_ctx(const struct jv *ctx, const char *src, const char *want)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_free_ char *out = NULL;
        struct err err = {0};

        if (template_parse(src, &t, &err) < 0)
                fail_msg("parse of %s failed: %s", src, err.msg);
        if (template_render(t, ctx, &out, &err) < 0)
                fail_msg("render of %s failed: %s", src, err.msg);
        if (strcmp(out, want) != 0)
                fail_msg("%s: got \"%s\", want \"%s\"", src, out, want);
}

#define check(src, want) check_ctx(*state, src, want)

/* The template must parse, and rendering must fail with code and a message containing msg. */
static void check_render_error(const struct jv *ctx, const char *src, int code, const char *msg)
{
        _cleanup_template_ struct template *t = NULL;
        char *out = (char *)"untouched";
        struct err err = {0};

        if (template_parse(src, &t, &err) < 0)
                fail_msg("parse of %s failed: %s", src, err.msg);
        assert_int_equal(template_render(t, ctx, &out, &err), code);
        assert_string_equal(out, "untouched");
        if (strncmp(err.msg, "template: ", 10) != 0 || !strstr(err.msg, msg))
                fail_msg("%s: message \"%s\" lacks \"%s\"", src, err.msg, msg);
}

static void check_parse_error(const char *src, const char *msg)
{
        struct template *t = (struct template *)0x1;
        struct err err = {0};

        assert_int_equal(template_parse(src, &t, &err), -EINVAL);
        assert_ptr_equal(t, (struct template *)0x1);
        assert_int_equal(err.code, EINVAL);
        if (strncmp(err.msg, "template: ", 10) != 0 || !strstr(err.msg, msg))
                fail_msg("%s: message \"%s\" lacks \"%s\"", src, err.msg, msg);
}

static void test_text_and_escapes(void **state)
{
        check("", "");
        check("plain text", "plain text");
        check("a\\tb\\nc", "a\tb\nc");
        check("back\\slash \\x", "back\\slash \\x");
        check("}} stray", "}} stray");
        check("{{\"}}\"}}", "}}");
        check("{{/* a comment */}}ok", "ok");
        check("a {{- /* c */ -}} b", "ab");
}

static void test_fields(void **state)
{
        check("{{.Id}}", "abc123");
        check("{{ .Id }}", "abc123");
        check("{{.State.Pid}}", "42");
        check("{{.State.Running}} {{.Off}}", "true false");
        check("{{.State.Health}}", "<nil>");
        check("{{.Nope}}", "<no value>");
        check("{{.Nope.Deeper}}", "<no value>");
        check("{{.Ratio}} {{.Big}} {{.Zero}}", "1.5 1e+07 0");
        check("[{{.Blank}}]", "[]");
        check("{{$.Name}}", "/web");
        check_ctx(NULL, "{{.}}|{{.A}}", "<no value>|<no value>");
}

static void test_value_printing(void **state)
{
        check("{{.Config.Env}}", "[A=1 B=2]");
        check("{{.Config.Labels}}", "map[a:1 b:2]");
        check("{{.Config.Empty}} {{.Ports}}", "map[] []");
        check("{{.Mixed}}", "[1 x true <nil> [2 3] map[k:v]]");
}

static void test_json(void **state)
{
        check("{{json .Config.Env}}", "[\"A=1\",\"B=2\"]");
        check("{{.Config.Env | json}}", "[\"A=1\",\"B=2\"]");
        check("{{json .Id}}", "\"abc123\"");
        check("{{json .State.Pid}}", "42");
        check("{{json .State.Health}}", "null");
        check("{{json .Nope}}", "null");
        check("{{json .Config.Labels}}", "{\"b\":\"2\",\"a\":\"1\"}");
        /* Docker's json disables HTML escaping. */
        check("{{json (index .Config.Cmd 2)}}", "\"echo \\u003chi\\u003e \\u0026 bye\"");
}

static void test_functions(void **state)
{
        check("{{upper .Name}} {{lower \"AbC\"}}", "/WEB abc");
        check("{{.Id | upper}}", "ABC123");
        check("{{title \"hello world-foo\"}}", "Hello World-Foo");
        check("{{join .Config.Env \",\"}}", "A=1,B=2");
        check("{{join .Ports \",\"}}", "");
        check("{{index .Config.Labels \"a\"}}", "1");
        check("{{index .Config.Labels \"zz\"}}", "<no value>");
        check("{{index .Config.Env 1}}", "B=2");
        check("{{index .Mixed 4 0}}", "2");
        check("{{len .Config.Env}} {{len .Id}} {{len .Config.Labels}}", "2 6 2");
        check("{{.Config.Env | len}}", "2");
        check("{{split \"a,b,,c\" \",\"}}", "[a b  c]");
        check("{{len (split \"\" \",\")}}", "1");
        check("{{print .Id 1 2 \"x\"}}", "abc1231 2x");
        check("{{println .Id 1}}", "abc123 1\n");
        check("{{printf \"%-8s|%3d|%v|%q\" .Id .State.Pid .Config.Env \"q\"}}",
              "abc123  | 42|[A=1 B=2]|\"q\"");
        check("{{printf \"%d %s\" \"x\"}}", "%!d(string=x) %!s(MISSING)");
        check("{{printf \"%s\" .Id 7}}", "abc123%!(EXTRA int=7)");
        check("{{pad .Id 2 1}}|{{pad \"\" 2 2}}|", "  abc123 ||");
        check("{{truncate .Id 3}} {{truncate .Id 99}}", "abc abc123");
}

static void test_comparisons(void **state)
{
        check("{{eq .State.Status \"running\"}}", "true");
        check("{{eq .State.Pid 41 42}}", "true");
        check("{{eq .Nope \"x\"}} {{eq .State.Health nil}}", "false true");
        check("{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge \"b\" \"a\"}}",
              "true true true false true");
        check("{{lt .Ratio 2}} {{gt .Big .Ratio}}", "true true");
        check("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}}", "0 2 x ");
        check("{{not .Blank}} {{not .Id}}", "true false");
}

static void test_if(void **state)
{
        check("{{if .State.Running}}up{{else}}down{{end}}", "up");
        check("{{if .Off}}up{{else}}down{{end}}", "down");
        check("{{if .Zero}}a{{else if .Blank}}b{{else if .Id}}c{{else}}d{{end}}", "c");
        check("{{if .Ports}}a{{end}}{{if .Config.Empty}}b{{end}}{{if .Nope}}c{{end}}", "");
        check("{{if .State.Health}}a{{else}}b{{end}}", "b");
        check("{{if .Ratio}}{{if .Config.Env}}yes{{end}}{{end}}", "yes");
        check("{{if eq .State.Status \"running\"}}R{{end}}", "R");
        check("{{if $p := .State.Pid}}{{$p}}{{else}}{{$p}}!{{end}}", "42");
        check("{{with .State}}{{.Pid}}{{end}}", "42");
        check("{{with .Nope}}x{{else}}none{{end}}", "none");
}

static void test_range(void **state)
{
        check("{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]");
        check("{{range .Config.Labels}}{{.}},{{end}}", "1,2,");
        check("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;");
        check("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 ");
        check("{{range $e := .Config.Env}}{{$e}}{{end}}", "A=1B=2");
        check("{{range .Ports}}x{{else}}none{{end}}", "none");
        check("{{range .Nope}}x{{end}}.", ".");
        check("{{range .Config.Env}}{{$.Id}}{{end}}", "abc123abc123");
        check("{{range 3}}{{.}}{{end}}", "012");
        check("{{$x := .Id}}{{range .Config.Env}}{{$x}}{{end}}", "abc123abc123");
}

static void test_trim(void **state)
{
        check("a  {{- .Id -}}  b", "aabc123b");
        check("a \n{{- .Id}} b", "aabc123 b");
        check("{{.Id -}}\n\t x", "abc123x");
        check("{{-3}}", "-3");
        check("{{range .Config.Env -}}\n  {{.}}\n{{- end}}", "A=1B=2");
}

static void test_table_prefix(void **state)
{
        const char *rest = NULL;

        (void)state;
        assert_true(template_is_table("table {{.ID}}\\t{{.Names}}", &rest));
        assert_string_equal(rest, "{{.ID}}\\t{{.Names}}");
        assert_true(template_is_table("table", &rest));
        assert_string_equal(rest, "");
        assert_true(template_is_table("table\t  {{.ID}}", NULL));
        rest = "unchanged";
        assert_false(template_is_table("{{.ID}}", &rest));
        assert_false(template_is_table("tables {{.ID}}", &rest));
        assert_false(template_is_table(" table {{.ID}}", &rest));
        assert_false(template_is_table("", &rest));
        assert_string_equal(rest, "unchanged");
}

static void test_parse_errors(void **state)
{
        (void)state;
        check_parse_error("{{.Id", "unclosed action");
        check_parse_error("{{.Id}", "unexpected \"}\"");
        check_parse_error("x {{ .Id ", "unclosed action");
        check_parse_error("{{.Id}x}}", "unexpected \"}\"");
        check_parse_error("{{ {{.Id}}", "unexpected \"{\"");
        check_parse_error("{{foo .Id}}", "function \"foo\" not defined");
        check_parse_error("{{.Id | bogus}}", "function \"bogus\" not defined");
        check_parse_error("{{if .Id}}x", "missing {{end}}");
        check_parse_error("{{range .Id}}x{{else}}", "missing {{end}}");
        check_parse_error("x{{end}}", "unexpected {{end}}");
        check_parse_error("{{else}}", "unexpected {{else}}");
        check_parse_error("{{if .A}}{{else}}{{else}}{{end}}", "expected end");
        check_parse_error("{{}}", "missing value for command");
        check_parse_error("{{if}}{{end}}", "missing value for if");
        check_parse_error("{{$x}}", "undefined variable \"$x\"");
        check_parse_error("{{if .A}}{{$y := 1}}{{end}}{{$y}}", "undefined variable \"$y\"");
        check_parse_error("{{\"open}}", "unterminated quoted string");
        check_parse_error("{{\"\\q\"}}", "invalid escape");
        check_parse_error("{{1.5}}", "floating-point");
        check_parse_error("{{12ab}}", "bad number syntax");
        check_parse_error("{{nil}}", "nil is not a command");
        check_parse_error("{{(.Id}}", "unclosed left paren");
        check_parse_error("{{template \"x\"}}", "not supported");
        check_parse_error("{{/* open", "unclosed comment");
        check_parse_error("{{$a, $b := .X}}", "too many declarations");
}

static void test_render_errors(void **state)
{
        const struct jv *doc = *state;

        check_render_error(doc, "{{.Id.X}}", -EINVAL, "can't evaluate field X in type string");
        check_render_error(doc, "{{.Config.Env.X}}", -EINVAL, "can't evaluate field X");
        check_render_error(doc, "{{.State.Health.X}}", -EINVAL, "nil pointer evaluating");
        check_render_error(doc, "{{index .Config.Env 5}}", -EINVAL, "index out of range: 5");
        check_render_error(doc, "{{index .Config.Env \"a\"}}", -EINVAL, "cannot index");
        check_render_error(doc, "{{index .Id 0}}", -EINVAL, "can't index item of type string");
        check_render_error(doc, "{{upper .State.Pid}}", -EINVAL, "expected string; got int");
        check_render_error(doc, "{{upper}}", -EINVAL, "wrong number of args for upper");
        check_render_error(doc, "{{join .Id \",\"}}", -EINVAL, "expected []string");
        check_render_error(doc, "{{len .State.Pid}}", -EINVAL, "len of type int");
        check_render_error(doc, "{{.Id | .Name}}", -EINVAL, "can't give argument to non-function");
        check_render_error(doc, "{{range .Id}}{{end}}", -EINVAL, "range can't iterate over abc123");
        check_render_error(doc, "{{eq .Id 1}}", -EINVAL, "incompatible types for comparison");
        check_render_error(doc, "{{lt .Off .Off}}", -EINVAL, "invalid type for comparison");
        check_render_error(doc, "{{eq .Config.Env .Config.Env}}", -EINVAL, "non-comparable");
}

static void test_reuse(void **state)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_jv_ struct jv *row = jv_new_object();
        struct err err = {0};

        jv_set_str(row, "Id", "other");
        assert_int_equal(template_parse("{{.Id}}\\t{{len .Id}}", &t, &err), 0);
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                assert_int_equal(template_render(t, *state, &a, &err), 0);
                assert_string_equal(a, "abc123\t6");
                assert_int_equal(template_render(t, row, &b, &err), 0);
                assert_string_equal(b, "other\t5");
        }
        template_free(NULL);
}

/* A Go struct in the data (template_render_structs): fields by Go name, unknown ones an error
 * naming the type, json by its tags, {{.}} as fmt's %v; a map inside it stays a map. */
static void test_structs(void **state)
{
        static const char *const msg_fields[] = {"Status", "Actor", "Time", NULL};
        static const char *const actor_fields[] = {"ID", "Attributes", NULL};
        _cleanup_jv_ struct jv *fields = NULL, *json = NULL;
        struct err err = {0};
        struct template_struct s[2];
        static const struct {
                const char *src, *want;
        } ok[] = {
                {"{{.Status}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Time}}",
                 "start c1 web 7"},
                {"{{json .}}", "{\"status\":\"start\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":"
                               "{\"name\":\"web\"}},\"time\":7}"},
                {"{{json .Actor}}", "{\"ID\":\"c1\",\"Attributes\":{\"name\":\"web\"}}"},
                {"{{.}}", "{start {c1 map[name:web]} 7}"},
                {"{{.Actor.Attributes.nope}}", "<no value>"},
        };

        (void)state;
        assert_int_equal(jv_parse("{\"Status\":\"start\",\"Actor\":{\"ID\":\"c1\","
                                  "\"Attributes\":{\"name\":\"web\"}},\"Time\":7}",
                                  &fields, &err),
                         0);
        json = jv_new_object();
        jv_set_str(json, "status", "start");
        jv_set(json, "Actor", jv_ref(jv_get(fields, "Actor")));
        jv_set_int(json, "time", 7);
        s[0] = (struct template_struct){"*pkg.Message", fields, msg_fields, json};
        s[1] = (struct template_struct){"pkg.Actor", jv_get(fields, "Actor"), actor_fields, NULL};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                _cleanup_template_ struct template *t = NULL;
                _cleanup_free_ char *out = NULL;
                assert_int_equal(template_parse(ok[i].src, &t, &err), 0);
                assert_int_equal(template_render_structs(t, s, 2, &out, &err), 0);
                assert_string_equal(out, ok[i].want);
        }
        for (int i = 0; i < 2; i++) {
                _cleanup_template_ struct template *t = NULL;
                char *out = NULL;
                assert_int_equal(template_parse(i ? "{{.Actor.Nope}}" : "{{.Nope}}", &t, &err), 0);
                assert_int_equal(template_render_structs(t, s, 2, &out, &err), -EINVAL);
                assert_non_null(
                        strstr(err.msg, i ? "can't evaluate field Nope in type pkg.Actor"
                                          : "can't evaluate field Nope in type *pkg.Message"));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_and_escapes),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_value_printing),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_functions),
                cmocka_unit_test(test_comparisons),
                cmocka_unit_test(test_if),
                cmocka_unit_test(test_range),
                cmocka_unit_test(test_trim),
                cmocka_unit_test(test_table_prefix),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_render_errors),
                cmocka_unit_test(test_reuse),
                cmocka_unit_test(test_structs),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
