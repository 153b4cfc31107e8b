/* Image configs: --change instructions, canonical serialisation, references, platforms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/imgconfig.h"

/* Applies one change (several lines allowed) to a fresh config and returns it as compact
 * JSON in canonical order, or the error message. */
static char *apply(const char *change, int *ret_r)
{
        _cleanup_jv_ struct jv *cfg = jv_new_object();
        _cleanup_jv_ struct jv *doc = NULL;
        char *changes[] = {(char *)change, NULL};
        struct err err = {0};
        char *out = NULL;
        int r = imgconfig_apply_changes(cfg, changes, &err);

        *ret_r = r;
        if (r < 0)
                return strdup(err.msg);
        doc = jv_new_object();
        jv_set(doc, "config", jv_ref(cfg));
        assert_int_equal(imgconfig_serialize(doc, &out, &err), 0);
        return out;
}

static void check_ok(const char *change, const char *want_config)
{
        int r;
        _cleanup_free_ char *got = apply(change, &r);
        _cleanup_free_ char *want = NULL;

        assert_int_equal(asprintf(&want, "{\"config\":%s}", want_config) > 0, 1);
        if (r < 0)
                fail_msg("change '%s' failed: %s", change, got);
        assert_string_equal(got, want);
}

static void check_err(const char *change, const char *want_msg)
{
        int r;
        _cleanup_free_ char *got = apply(change, &r);

        if (r >= 0)
                fail_msg("change '%s' succeeded: %s", change, got);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(got, want_msg);
}

static void test_cmd_entrypoint(void **state)
{
        (void)state;
        check_ok("CMD echo hi", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"]}");
        check_ok("cmd [\"/bin/echo\", \"a b\"]", "{\"Cmd\":[\"/bin/echo\",\"a b\"]}");
        check_ok("CMD []", "{\"Cmd\":[]}");
        check_ok("CMD [oops", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[oops\"]}");
        check_err("CMD [1, 2]", "when using JSON array syntax, arrays must be comprised of "
                                "strings only");
        check_ok("ENTRYPOINT [\"/init\"]", "{\"Entrypoint\":[\"/init\"]}");
        check_ok("  ENTRYPOINT   top -b  ", "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"top -b\"]}");
        check_ok("CMD x\nENTRYPOINT [\"/e\"]",
                 "{\"Cmd\":[\"/bin/sh\",\"-c\",\"x\"],\"Entrypoint\":[\"/e\"]}");
}

static void test_entrypoint_drops_inherited_cmd(void **state)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        char *changes[] = {"ENTRYPOINT [\"/e\"]", NULL};
        struct err err = {0};

        (void)state;
        assert_int_equal(jv_parse("{\"Cmd\":[\"sh\"]}", &cfg, &err), 0);
        assert_int_equal(imgconfig_apply_changes(cfg, changes, &err), 0);
        assert_null(jv_get(cfg, "Cmd"));
        assert_string_equal(jv_str(jv_at(jv_get(cfg, "Entrypoint"), 0)), "/e");
}

static void test_env(void **state)
{
        (void)state;
        check_ok("ENV A=1 B=\"two words\" C='$A' D=x\\ y",
                 "{\"Env\":[\"A=1\",\"B=two words\",\"C=$A\",\"D=x y\"]}");
        /* Expansion sees the environment from before the instruction. */
        check_ok("ENV A=1 B=$A\nENV C=${A}-$B D=${NOPE:-dflt} E=${A:+set}",
                 "{\"Env\":[\"A=1\",\"B=\",\"C=1-\",\"D=dflt\",\"E=set\"]}");
        check_ok("ENV PATH /usr/bin:/bin  with spaces",
                 "{\"Env\":[\"PATH=/usr/bin:/bin  with spaces\"]}");
        check_ok("ENV A=1\nENV A=2 B=3", "{\"Env\":[\"A=2\",\"B=3\"]}");
        check_ok("ENV X=\"a \\\"q\\\" \\$HOME\"", "{\"Env\":[\"X=a \\\"q\\\" $HOME\"]}");
        check_err("ENV", "ENV requires at least one argument");
        check_err("ENV K", "ENV must have two arguments");
        check_err("ENV A=1 B", "Syntax error - can't find = in \"B\". Must be of the form: "
                               "name=value");
        check_err("ENV =x", "ENV names can not be blank");
}

static void test_label(void **state)
{
        (void)state;
        check_ok("LABEL b=2 a=\"one two\" \"c d\"=3",
                 "{\"Labels\":{\"a\":\"one two\",\"b\":\"2\",\"c d\":\"3\"}}");
        check_ok("LABEL version 1.0 beta", "{\"Labels\":{\"version\":\"1.0 beta\"}}");
        check_err("LABEL", "LABEL requires at least one argument");
}

static void test_expose_volume(void **state)
{
        (void)state;
        check_ok("EXPOSE 80 53/UDP 8000-8002/tcp",
                 "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},"
                 "\"8001/tcp\":{},\"8002/tcp\":{}}}");
        check_err("EXPOSE abc", "invalid containerPort: abc");
        check_err("EXPOSE 70000", "invalid containerPort: 70000");
        check_err("EXPOSE 90-80", "invalid containerPort: 90-80");
        check_err("EXPOSE 80/foo", "invalid proto: foo");
        check_err("EXPOSE", "EXPOSE requires at least one argument");
        check_ok("VOLUME [\"/data\", \"/b\"]\nVOLUME /c /d",
                 "{\"Volumes\":{\"/b\":{},\"/c\":{},\"/d\":{},\"/data\":{}}}");
        check_err("VOLUME [\"\"]", "VOLUME specified can not be an empty string");
}

static void test_workdir_user_signal(void **state)
{
        (void)state;
        check_ok("WORKDIR /a\nWORKDIR b//c/.\nWORKDIR ../d", "{\"WorkingDir\":\"/a/b/d\"}");
        check_ok("WORKDIR rel", "{\"WorkingDir\":\"/rel\"}");
        check_ok("ENV D=/srv\nWORKDIR $D/app",
                 "{\"Env\":[\"D=/srv\"],\"WorkingDir\":\"/srv/app\"}");
        check_err("WORKDIR", "WORKDIR requires exactly one argument");
        check_ok("USER nobody:nogroup", "{\"User\":\"nobody:nogroup\"}");
        check_err("USER", "USER requires exactly one argument");
        check_ok("STOPSIGNAL SIGKILL", "{\"StopSignal\":\"SIGKILL\"}");
        check_ok("stopsignal 9", "{\"StopSignal\":\"9\"}");
        check_err("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE");
}

static void test_invalid_commands(void **state)
{
        (void)state;
        check_err("RUN echo hi", "run is not a valid change command");
        check_err("From busybox", "from is not a valid change command");
        check_err("COPY a b", "copy is not a valid change command");
        check_err("BOGUS", "bogus is not a valid change command");
        check_ok("# a comment\n\n   \nUSER x", "{\"User\":\"x\"}");
        check_ok("ENV A=1 \\\n  B=2", "{\"Env\":[\"A=1\",\"B=2\"]}");
}

static void test_healthcheck_onbuild(void **state)
{
        (void)state;
        check_ok("HEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD curl -f http://x/",
                 "{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"curl -f http://x/\"],"
                 "\"Interval\":5000000000,\"Timeout\":90000000000,\"Retries\":3}}");
        check_ok("HEALTHCHECK CMD [\"/bin/check\", \"-v\"]",
                 "{\"Healthcheck\":{\"Test\":[\"CMD\",\"/bin/check\",\"-v\"]}}");
        check_ok("HEALTHCHECK NONE", "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}");
        check_err("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments");
        check_err("HEALTHCHECK RUN x", "Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
        check_err("HEALTHCHECK --bogus=1 CMD x", "Unknown flag: bogus");
        check_err("HEALTHCHECK --interval=1xs CMD x", "time: invalid duration \"1xs\"");
        check_ok("ONBUILD RUN make", "{\"OnBuild\":[\"RUN make\"]}");
        check_err("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        check_err("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger");
}

static void test_serialize_is_canonical(void **state)
{
        _cleanup_jv_ struct jv *a = NULL, *b = NULL;
        _cleanup_free_ char *sa = NULL, *sb = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(jv_parse("{\"os\":\"linux\",\"rootfs\":{\"diff_ids\":[],\"type\":"
                                  "\"layers\"},\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"A=1\"]},"
                                  "\"architecture\":\"amd64\",\"history\":[{\"comment\":\"c\","
                                  "\"created\":\"t\"}],\"created\":\"t\"}",
                                  &a, &err),
                         0);
        assert_int_equal(jv_parse("{\"created\":\"t\",\"history\":[{\"created\":\"t\",\"comment\":"
                                  "\"c\"}],\"architecture\":\"amd64\",\"config\":{\"Env\":"
                                  "[\"A=1\"],\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\","
                                  "\"diff_ids\":[]},\"os\":\"linux\"}",
                                  &b, &err),
                         0);
        assert_int_equal(imgconfig_serialize(a, &sa, &err), 0);
        assert_int_equal(imgconfig_serialize(b, &sb, &err), 0);
        assert_string_equal(sa, sb);
        assert_string_equal(sa, "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"A=1\"],"
                                "\"Cmd\":[\"sh\"]},\"created\":\"t\",\"history\":[{\"created\":"
                                "\"t\",\"comment\":\"c\"}],\"os\":\"linux\",\"rootfs\":{\"type\":"
                                "\"layers\",\"diff_ids\":[]}}");
}

static void test_new_doc_and_diff_ids(void **state)
{
        static const char hex[] =
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        char *ids[] = {(char *)hex, NULL};
        _cleanup_jv_ struct jv *doc = imgconfig_new(NULL, ids, "2024-01-02T03:04:05.000000006Z",
                                                    NULL, "Imported from -", "amd64", "linux");
        _cleanup_jv_ struct jv *ic = NULL;
        _cleanup_strv_ char **got = NULL;
        _cleanup_free_ char *s = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(imgconfig_serialize(doc, &s, &err), 0);
        assert_string_equal(s, "{\"architecture\":\"amd64\",\"comment\":\"Imported from -\","
                               "\"config\":{},\"created\":\"2024-01-02T03:04:05.000000006Z\","
                               "\"history\":[{\"created\":\"2024-01-02T03:04:05.000000006Z\","
                               "\"comment\":\"Imported from -\"}],\"os\":\"linux\",\"rootfs\":"
                               "{\"type\":\"layers\",\"diff_ids\":[\"sha256:0123456789abcdef"
                               "0123456789abcdef0123456789abcdef0123456789abcdef\"]}}");
        assert_int_equal(imgconfig_diff_ids(doc, &got, &err), 0);
        assert_string_equal(got[0], hex);
        assert_null(got[1]);
        ic = imgconfig_inspect_config(jv_get(doc, "config"));
        assert_string_equal(jv_to_string(ic, false),
                            "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":"
                            "false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,"
                            "\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,"
                            "\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":"
                            "null,\"OnBuild\":null,\"Labels\":null}");
}

static void check_ref(const char *ref, const char *want)
{
        _cleanup_free_ char *got = NULL;
        struct err err = {0};
        int r = imgconfig_normalize_reference(ref, &got, &err);

        if (r < 0)
                fail_msg("reference '%s' refused: %s", ref, err.msg);
        assert_string_equal(got, want);
}

static void check_bad_ref(const char *ref, const char *want_msg)
{
        _cleanup_free_ char *got = NULL;
        struct err err = {0};
        int r = imgconfig_normalize_reference(ref, &got, &err);

        if (r >= 0)
                fail_msg("reference '%s' accepted as %s", ref, got);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err.msg, want_msg);
}

static void test_references(void **state)
{
        char long_tag[140], long_name[300];
        bool had_tag = true;
        _cleanup_free_ char *name = NULL;
        struct err err = {0};

        (void)state;
        check_ref("busybox", "busybox:latest");
        check_ref("busybox:1.36.1", "busybox:1.36.1");
        check_ref("docker.io/library/busybox:musl", "busybox:musl");
        check_ref("index.docker.io/library/busybox", "busybox:latest");
        check_ref("docker.io/me/app", "me/app:latest");
        check_ref("library/busybox", "busybox:latest");
        check_ref("localhost/app:v1", "localhost/app:v1");
        check_ref("localhost:5000/a/b:V_1.0-rc", "localhost:5000/a/b:V_1.0-rc");
        check_ref("registry.example.com/team/app", "registry.example.com/team/app:latest");
        check_ref("Registry.Example.com/app", "Registry.Example.com/app:latest");
        check_ref("ab__c-d--e/f.g_h", "ab__c-d--e/f.g_h:latest");
        check_ref("abc123", "abc123:latest");
        check_ref("hawser-test/img:_t", "hawser-test/img:_t");

        check_bad_ref("", "invalid reference format");
        check_bad_ref("Busybox", "invalid reference format: repository name (library/Busybox) "
                                 "must be lowercase");
        check_bad_ref("me/Bad:tag", "invalid reference format: repository name (me/Bad) must be "
                                    "lowercase");
        check_bad_ref("busybox:", "invalid reference format");
        check_bad_ref(":tag", "invalid reference format");
        check_bad_ref("-busybox", "invalid reference format");
        check_bad_ref("busybox-", "invalid reference format");
        check_bad_ref("a..b", "invalid reference format");
        check_bad_ref("a___b", "invalid reference format");
        check_bad_ref("a//b", "invalid reference format");
        check_bad_ref("a/", "invalid reference format");
        check_bad_ref("busybox:bad tag", "invalid reference format");
        check_bad_ref("busybox:.x", "invalid reference format");
        check_bad_ref("busybox@sha256:0123", "invalid reference format");
        check_bad_ref("host:port/x", "invalid reference format");
        check_bad_ref("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                      "invalid repository name "
                      "(0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), "
                      "cannot specify 64-byte hexadecimal strings");
        memset(long_tag, 'a', sizeof(long_tag));
        memcpy(long_tag, "x:", 2);
        long_tag[2 + 129] = '\0';
        check_bad_ref(long_tag, "invalid reference format");
        long_tag[2 + 128] = '\0';
        check_ref(long_tag, long_tag);
        memset(long_name, 'a', sizeof(long_name));
        long_name[256] = '\0';
        check_bad_ref(long_name, "repository name must not be more than 255 characters");

        assert_int_equal(imgconfig_parse_reference("busybox", &name, NULL, &had_tag, &err), 0);
        assert_string_equal(name, "busybox");
        assert_false(had_tag);
}

static void test_platform(void **state)
{
        _cleanup_free_ char *os = NULL, *arch = NULL, *os2 = NULL, *arch2 = NULL;
        char *os3 = NULL, *arch3 = NULL;
        struct err err = {0};

        (void)state;
        assert_int_equal(imgconfig_parse_platform("linux/arm64/v8", &os, &arch, &err), 0);
        assert_string_equal(os, "linux");
        assert_string_equal(arch, "arm64");
        assert_int_equal(imgconfig_parse_platform("linux", &os2, &arch2, &err), 0);
        assert_string_equal(arch2, imgconfig_host_arch());
        assert_int_equal(imgconfig_parse_platform("windows/amd64", &os3, &arch3, &err), -EINVAL);
        assert_int_equal(imgconfig_parse_platform("linux/nope", &os3, &arch3, &err), -EINVAL);
        assert_null(os3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cmd_entrypoint),
                cmocka_unit_test(test_entrypoint_drops_inherited_cmd),
                cmocka_unit_test(test_env),
                cmocka_unit_test(test_label),
                cmocka_unit_test(test_expose_volume),
                cmocka_unit_test(test_workdir_user_signal),
                cmocka_unit_test(test_invalid_commands),
                cmocka_unit_test(test_healthcheck_onbuild),
                cmocka_unit_test(test_serialize_is_canonical),
                cmocka_unit_test(test_new_doc_and_diff_ids),
                cmocka_unit_test(test_references),
                cmocka_unit_test(test_platform),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
