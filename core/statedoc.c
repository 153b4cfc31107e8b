#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "statedoc.h"

static const char *const statuses[] = {"created",  "running", "paused", "restarting",
                                       "removing", "exited",  "dead"};

static int bad(char *why, size_t n, const char *what)
{
        snprintf(why, n, "%s", what);
        return -EINVAL;
}

static bool has_type(const struct jv *doc, const char *key, enum jv_type t, bool optional)
{
        const struct jv *v = jv_get(doc, key);

        return v ? jv_type(v) == t : optional;
}

int statedoc_check(const struct jv *doc, const char *id, char *why, size_t n)
{
        const char *status;
        bool known = false;

        if (jv_type(doc) != JV_OBJECT)
                return bad(why, n, "not a JSON object");
        if (!jv_get_str(doc, "Id") || strcmp(jv_get_str(doc, "Id"), id))
                return bad(why, n, "Id is missing or names another container");
        if (!has_type(doc, "Name", JV_STRING, false))
                return bad(why, n, "Name is not a string");
        if (!has_type(doc, "State", JV_OBJECT, false))
                return bad(why, n, "State is not an object");
        status = jv_get_str(jv_get(doc, "State"), "Status");
        for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
                known |= !strcmp(status, statuses[i]);
        if (!known)
                return bad(why, n, "State.Status is not a container status");
        if (!has_type(doc, "Config", JV_OBJECT, false) ||
            !has_type(doc, "HostConfig", JV_OBJECT, false))
                return bad(why, n, "Config or HostConfig is not an object");
        if (!has_type(doc, "Hawser", JV_OBJECT, true) ||
            !has_type(doc, "NetworkSettings", JV_OBJECT, true) ||
            !has_type(doc, "Mounts", JV_ARRAY, true))
                return bad(why, n, "Hawser, NetworkSettings or Mounts has the wrong type");
        return 0;
}

struct jv *statedoc_unreadable(const char *id, const char *name, const char *created,
                               const char *why)
{
        struct jv *doc = jv_new_object(), *st = jv_new_object(), *cfg = jv_new_object();
        char buf[64 + 200], err[300];

        if (!doc || !st || !cfg) {
                jv_put(doc), jv_put(st), jv_put(cfg);
                return NULL;
        }
        snprintf(buf, sizeof(buf), "/%s", name ? name : id);
        snprintf(err, sizeof(err), "the container's state cannot be read: %s", why);
        jv_set_str(doc, "Id", id);
        jv_set_str(doc, "Name", buf);
        jv_set_str(doc, "Created", created ? created : "0001-01-01T00:00:00Z");
        jv_set_str(doc, "Path", "");
        jv_set(doc, "Args", jv_new_array());
        jv_set_str(st, "Status", "dead");
        jv_set_bool(st, "Running", false);
        jv_set_bool(st, "Paused", false);
        jv_set_bool(st, "Dead", true);
        jv_set_int(st, "Pid", 0);
        jv_set_int(st, "ExitCode", -1);
        jv_set_str(st, "Error", err);
        jv_set(doc, "State", st);
        jv_set_str(cfg, "Image", "");
        jv_set(doc, "Config", cfg);
        jv_set(doc, "HostConfig", jv_new_object());
        jv_set(doc, "Hawser", jv_new_object());
        return doc;
}
