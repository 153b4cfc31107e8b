/* libFuzzer target for compose files: core/compose/ (the YAML loader over libyaml, the
 * interpolation, the .env parser). `make fuzz` builds it with clang and
 * -fsanitize=fuzzer,address,undefined; tests/unit/core_compose.c includes this file and
 * replays tests/fuzz/corpus/compose_file/ through the same entry point. Every input goes to
 * both parsers. Besides "no crash" it checks invariants and aborts when one breaks:
 *   - a loaded file is an object, and every node of it has a position in the file;
 *   - interpolation of a loaded file succeeds or fails with -EINVAL and a message, and a
 *     success leaves an object with the same keys;
 *   - a parsed .env is an object of strings;
 *   - every refusal is -EINVAL or -ENODATA (-ENOTSUP only without libyaml) with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/base/util.h"
#include "core/compose/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
        if (!cond)
                abort();
}

static const char *fuzz_lookup(const char *name, void *ud)
{
        (void)ud;
        if (!strcmp(name, "EMPTY"))
                return "";
        return name[0] == 'S' ? "set ${value} $$ here" : NULL;
}

/* Every node under v (at path) has a position. */
static void check_positions(const struct jv *v, const struct jv *pos, const char *path)
{
        char **keys;

        check(jv_get_str(pos, path) != NULL);
        if (jv_type(v) == JV_ARRAY)
                for (size_t i = 0; i < jv_len(v); i++) {
                        char idx[24], *child;
                        snprintf(idx, sizeof(idx), "%zu", i);
                        child = compose_path_join(path, idx);
                        check_positions(jv_at(v, i), pos, child);
                        free(child);
                }
        if (jv_type(v) != JV_OBJECT)
                return;
        keys = jv_keys(v);
        for (char **k = keys; k && *k; k++) {
                char *child = compose_path_join(path, *k);
                check_positions(jv_get(v, *k), pos, child);
                free(child);
        }
        util_strv_free(keys);
}

static void check_refusal(int r, const struct err *e)
{
        check(r == -EINVAL || r == -ENODATA || r == -ENOTSUP);
        check(e->msg[0] != '\0');
}

static void fuzz_yaml(const uint8_t *data, size_t size)
{
        struct jv *tree = NULL, *pos = NULL, *tags = NULL;
        char **warnings = NULL, **before = NULL, **after = NULL;
        struct err e = {0};
        int r = compose_yaml_load_tags("fuzz.yml", (const char *)data, size, &tree, &pos, &tags,
                                       &e);

        if (r < 0) {
                check_refusal(r, &e);
                return;
        }
        check(jv_type(tree) == JV_OBJECT && jv_type(pos) == JV_OBJECT &&
              jv_type(tags) == JV_OBJECT);
        check_positions(tree, pos, "");
        before = jv_keys(tree);
        r = compose_interpolate(tree, pos, fuzz_lookup, NULL, &warnings, &e);
        if (r < 0)
                check_refusal(r, &e);
        else {
                after = jv_keys(tree);
                check(warnings != NULL && util_strv_len(before) == util_strv_len(after));
        }
        util_strv_free(before);
        util_strv_free(after);
        util_strv_free(warnings);
        jv_put(tree);
        jv_put(pos);
        jv_put(tags);
}

static void fuzz_dotenv(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), **keys, **warnings = NULL;
        struct jv *env = NULL;
        struct err e = {0};
        int r;

        if (!text)
                return;
        memcpy(text, data, size);
        text[size] = '\0';
        r = compose_dotenv_parse("fuzz.env", text, fuzz_lookup, NULL, &env, &warnings, &e);
        if (r < 0)
                check_refusal(r, &e);
        else {
                keys = jv_keys(env);
                for (char **k = keys; k && *k; k++)
                        check(jv_type(jv_get(env, *k)) == JV_STRING);
                util_strv_free(keys);
                check(warnings != NULL);
        }
        util_strv_free(warnings);
        jv_put(env);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_yaml(data, size);
        fuzz_dotenv(data, size);
        return 0;
}
