#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/base/json.h"
#include "core/statedoc.h"

/* The corpus replay goes through the fuzz target itself. */
#include "tests/fuzz/state_doc_fuzz.c"
#include "tests/unit/corpus.h"

#define ID FUZZ_ID
#define GOOD                                                                                       \
        "{\"Id\":\"" ID "\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\",\"Pid\":7},"       \
        "\"Config\":{},\"HostConfig\":{},\"Hawser\":{},\"NetworkSettings\":{},\"Mounts\":[]}"

static int check_text(const char *text, char *why, size_t n)
{
        struct jv *doc = NULL;
        struct err e = {0};
        int r;

        assert_int_equal(jv_parse(text, &doc, &e), 0);
        r = statedoc_check(doc, ID, why, n);
        jv_put(doc);
        return r;
}

static void test_good_shape(void **state)
{
        char why[128] = "";

        (void)state;
        assert_int_equal(check_text(GOOD, why, sizeof(why)), 0);
        /* The optional members may be missing. */
        assert_int_equal(check_text("{\"Id\":\"" ID "\",\"Name\":\"/w\",\"State\":{\"Status\":"
                                    "\"exited\"},\"Config\":{},\"HostConfig\":{}}",
                                    why, sizeof(why)),
                         0);
}

static void test_bad_shapes(void **state)
{
        static const struct {
                const char *text, *why;
        } cases[] = {
                {"[1,2]", "not a JSON object"},
                {"\"x\"", "not a JSON object"},
                {"{}", "Id is missing or names another container"},
                {"{\"Id\":\"abc\"}", "Id is missing or names another container"},
                {"{\"Id\":\"" ID "\",\"Name\":5}", "Name is not a string"},
                {"{\"Id\":\"" ID "\",\"Name\":\"/a\",\"State\":[]}", "State is not an object"},
                {"{\"Id\":\"" ID "\",\"Name\":\"/a\",\"State\":{\"Status\":\"sleeping\"}}",
                 "State.Status is not a container status"},
                {"{\"Id\":\"" ID "\",\"Name\":\"/a\",\"State\":{\"Status\":\"running\"},"
                 "\"Config\":{},\"HostConfig\":\"\"}",
                 "Config or HostConfig is not an object"},
                {"{\"Id\":\"" ID "\",\"Name\":\"/a\",\"State\":{\"Status\":\"running\"},"
                 "\"Config\":{},\"HostConfig\":{},\"Mounts\":{}}",
                 "Hawser, NetworkSettings or Mounts has the wrong type"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char why[128] = "";
                assert_int_equal(check_text(cases[i].text, why, sizeof(why)), -EINVAL);
                assert_string_equal(why, cases[i].why);
        }
}

static void test_stand_in(void **state)
{
        struct jv *doc = statedoc_unreadable(ID, "web", "2026-12-07T10:00:00Z",
                                             "state.json is "
                                             "not JSON");
        char why[128];

        (void)state;
        assert_non_null(doc);
        assert_int_equal(statedoc_check(doc, ID, why, sizeof(why)), 0);
        assert_string_equal(jv_get_str(doc, "Name"), "/web");
        assert_string_equal(jv_get_str(doc, "Created"), "2026-12-07T10:00:00Z");
        assert_string_equal(jv_str(jv_path(doc, "State.Status")), "dead");
        assert_string_equal(jv_str(jv_path(doc, "State.Error")),
                            "the container's state cannot be read: state.json is not JSON");
        jv_put(doc);
        /* No name known: the id stands for it. */
        doc = statedoc_unreadable(ID, NULL, NULL, "x");
        assert_string_equal(jv_get_str(doc, "Name"), "/" ID);
        assert_string_equal(jv_get_str(doc, "Created"), "0001-01-01T00:00:00Z");
        jv_put(doc);
}

/* Setters on values of the wrong type drop the value instead of reaching json-c's asserts. */
static void test_setters_on_wrong_types(void **state)
{
        struct jv *doc = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(jv_parse("{\"State\":5,\"Mounts\":{},\"Config\":[]}", &doc, &e), 0);
        jv_set_str(jv_get(doc, "State"), "Status", "exited");
        jv_set_int(jv_get(doc, "Config"), "x", 1);
        jv_append(jv_get(doc, "Mounts"), jv_new_string("m"));
        jv_del(jv_get(doc, "Config"), "x");
        jv_set(NULL, "k", jv_new_int(1));
        assert_string_equal(jv_to_string(doc, false), "{\"State\":5,\"Mounts\":{},\"Config\":[]}");
        jv_put(doc);
}

static void test_fuzz_seeds(void **state)
{
        static const char *const seeds[] = {
                GOOD,
                "",
                "{",
                "null",
                "[]",
                "{\"Id\":null}",
                "\xff\xfe",
                "{\"Id\":\"" ID
                "\",\"Name\":\"/a\",\"State\":{\"Status\":\"paused\"},\"Config\":{},"
                "\"HostConfig\":{},\"NetworkSettings\":{\"Networks\":{\"n\":5,\"m\":{\"Aliases\":"
                "[1,\"a\"]}}},\"Mounts\":[5,{\"RW\":\"yes\"}]}",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
                assert_int_equal(
                        LLVMFuzzerTestOneInput((const uint8_t *)seeds[i], strlen(seeds[i])), 0);
}

static void test_corpus_replay(void **state)
{
        (void)state;
        corpus_replay("tests/fuzz/corpus/state_doc");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_shape), cmocka_unit_test(test_bad_shapes),
                cmocka_unit_test(test_stand_in),   cmocka_unit_test(test_setters_on_wrong_types),
                cmocka_unit_test(test_fuzz_seeds), cmocka_unit_test(test_corpus_replay),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
