/* libFuzzer target for container state documents: core/base/json.c (parse, type-safe getters
 * and setters) and core/statedoc.c (the shape check and the stand-in). `make fuzz` builds it
 * with clang and -fsanitize=fuzzer,address,undefined; tests/unit/core_statedoc.c includes this
 * file and replays tests/fuzz/corpus/state_doc/ through the same entry point. Besides "no
 * crash" it checks invariants and aborts when one breaks:
 *   - every document, whatever its shape, survives what the product's readers and writers do
 *     to a state (setters on values of the wrong type are no-ops);
 *   - a document that passes the check still passes after the transitions the product makes
 *     (running, exited, removing) and after a save/parse round trip;
 *   - the stand-in for a document that fails passes the check, whatever name and reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/base/util.h"
#include "core/statedoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check(int cond)
{
        if (!cond)
                abort();
}

/* What ps, inspect, rm and the monitor read of a state, on any document. */
static void read_all(const struct jv *doc)
{
        const struct jv *nets = jv_path(doc, "NetworkSettings.Networks");
        char **keys = jv_keys(nets);
        const struct jv *mounts = jv_get(doc, "Mounts");

        for (char **k = keys; k && *k; k++) {
                const struct jv *ep = jv_get(nets, *k);
                (void)jv_get_str(ep, "IPAddress");
                (void)jv_get_str(ep, "EndpointID");
                util_strv_free(jv_to_strv(jv_get(ep, "Aliases")));
                free(*k);
        }
        free(keys);
        for (size_t i = 0; i < jv_len(mounts); i++) {
                (void)jv_get_str(jv_at(mounts, i), "Destination");
                (void)jv_get_bool(jv_at(mounts, i), "RW");
        }
        (void)jv_get_int(jv_get(doc, "State"), "Pid", 0);
        (void)jv_get_int(jv_get(doc, "Hawser"), "MonitorStart", 0);
        (void)jv_str(jv_path(doc, "GraphDriver.Data.LowerDir"));
        (void)jv_get_bool(jv_get(doc, "HostConfig"), "AutoRemove");
}

/* The transitions the product writes (record_running, mark_exited, rm's "removing"). */
static void transition(struct jv *doc, const char *status)
{
        struct jv *st = jv_get(doc, "State");

        jv_set_str(st, "Status", status);
        jv_set_bool(st, "Running", !strcmp(status, "running"));
        jv_set_int(st, "Pid", 0);
        jv_set_int(st, "ExitCode", 137);
        jv_set_str(st, "Error", "");
        jv_set_int(jv_get(doc, "Hawser"), "MonitorPid", 0);
        jv_set(doc, "NetworkSettings", jv_copy(jv_get(doc, "NetworkSettings")));
        jv_append(jv_get(doc, "Mounts"), jv_new_object());
        jv_del(jv_get(doc, "Config"), "Healthcheck");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), why[256];
        struct jv *doc = NULL, *back = NULL, *stand = NULL;
        struct err e = {0};
        const char *id;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (jv_parse(text, &doc, &e) < 0) {
                /* Not JSON: the stand-in, named by whatever the by-name link said. */
                stand = statedoc_unreadable(FUZZ_ID, text, NULL, e.msg);
                check(stand && statedoc_check(stand, FUZZ_ID, why, sizeof(why)) == 0);
                jv_put(stand);
                free(text);
                return 0;
        }
        id = jv_get_str(doc, "Id");
        if (!id || strlen(id) != 64)
                id = FUZZ_ID;
        read_all(doc);
        if (statedoc_check(doc, id, why, sizeof(why)) < 0) {
                check(why[0] != '\0');
                stand = statedoc_unreadable(id, jv_get_str(doc, "Name"), "2026-01-01T00:00:00Z",
                                            why);
                check(stand && statedoc_check(stand, id, why, sizeof(why)) == 0);
                read_all(stand);
                /* Writers on the wrong shape do nothing harmful. */
                transition(doc, "exited");
        } else {
                transition(doc, "running");
                check(statedoc_check(doc, id, why, sizeof(why)) == 0);
                transition(doc, "removing");
                check(jv_parse(jv_to_string(doc, false), &back, &e) == 0);
                check(statedoc_check(back, id, why, sizeof(why)) == 0);
                read_all(back);
        }
        jv_put(stand);
        jv_put(back);
        jv_put(doc);
        free(text);
        return 0;
}
