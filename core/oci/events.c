/* `events [--stats] [--interval D] ID`: the container's resource usage from its cgroups, as
 * runc prints it (one JSON object per line, {"type": "stats", "id", "data"}), once with
 * --stats, else every interval with an {"type": "oom"} line for each new OOM kill, until the
 * container stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "../cgroup.h"
#include "../opt.h"
#include "internal.h"

struct events_opts {
        bool stats;
        const char *interval;
};

static const struct opt_def events_defs[] = {
        {"stats", 0, OPT_BOOL, offsetof(struct events_opts, stats)},
        {"interval", 0, OPT_STR, offsetof(struct events_opts, interval)},
        OPT_END,
};

/* The number of a one-value file ("max" is 0: no limit, as runc reports it). */
static long long value(const char *id, const char *ctl, const char *file)
{
        _cleanup_free_ char *t = cgroup_read(id, ctl, file);

        return t ? atoll(t) : 0;
}

/* key's number in a flat keyed file ("user 12\nsystem 3\n"). */
static long long keyed(const char *text, const char *key)
{
        size_t n = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (!strncmp(l, key, n) && l[n] == ' ')
                        return atoll(l + n + 1);
        return 0;
}

static struct jv *cpu_doc(const char *id, bool v2)
{
        struct jv *cpu = jv_new_object(), *usage = jv_new_object(), *percpu = jv_new_array();
        _cleanup_free_ char *stat = cgroup_read(id, "cpuacct", v2 ? "cpu.stat" : "cpuacct.stat");
        _cleanup_free_ char *per = v2 ? NULL : cgroup_read(id, "cpuacct", "cpuacct.usage_percpu");
        /* v1's cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds. */
        long long tick_ns = 1000000000LL / (sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);

        if (v2) {
                jv_set_int(usage, "total", keyed(stat, "usage_usec") * 1000);
                jv_set_int(usage, "user", keyed(stat, "user_usec") * 1000);
                jv_set_int(usage, "kernel", keyed(stat, "system_usec") * 1000);
        } else {
                jv_set_int(usage, "total", value(id, "cpuacct", "cpuacct.usage"));
                jv_set_int(usage, "user", keyed(stat, "user") * tick_ns);
                jv_set_int(usage, "kernel", keyed(stat, "system") * tick_ns);
        }
        for (char *p = per, *end; p && *p; p = end) {
                long long v = strtoll(p, &end, 10);
                if (end == p)
                        break;
                jv_append(percpu, jv_new_int(v));
        }
        jv_set(usage, "percpu", percpu);
        jv_set(cpu, "usage", usage);
        jv_set(cpu, "throttling", jv_new_object());
        return cpu;
}

static struct jv *memory_doc(const char *id, bool v2)
{
        struct jv *mem = jv_new_object(), *usage = jv_new_object(), *raw = jv_new_object();
        _cleanup_free_ char *stat = cgroup_read(id, "memory", "memory.stat");

        if (v2) {
                jv_set_int(usage, "usage", value(id, "memory", "memory.current"));
                jv_set_int(usage, "max", value(id, "memory", "memory.peak"));
                jv_set_int(usage, "limit", value(id, "memory", "memory.max"));
        } else {
                jv_set_int(usage, "usage", value(id, "memory", "memory.usage_in_bytes"));
                jv_set_int(usage, "max", value(id, "memory", "memory.max_usage_in_bytes"));
                jv_set_int(usage, "limit", value(id, "memory", "memory.limit_in_bytes"));
                jv_set_int(usage, "failcnt", value(id, "memory", "memory.failcnt"));
        }
        for (char *l = stat, *save = NULL, *line = l ? strtok_r(l, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                char key[64];
                long long v;
                if (sscanf(line, "%63s %lld", key, &v) == 2)
                        jv_set_int(raw, key, v);
        }
        jv_set_int(mem, "cache", jv_get_int(raw, v2 ? "file" : "cache", 0));
        jv_set(mem, "usage", usage);
        jv_set(mem, "raw", raw);
        return mem;
}

static struct jv *stats_doc(const char *id, const char *cgroup)
{
        struct jv *d = jv_new_object(), *data = jv_new_object(), *pids = jv_new_object();
        _cleanup_free_ char *probe = cgroup_read(cgroup, "", "cgroup.controllers");
        bool v2 = probe != NULL;

        jv_set(data, "cpu", cpu_doc(cgroup, v2));
        jv_set(data, "memory", memory_doc(cgroup, v2));
        jv_set_int(pids, "current", value(cgroup, "pids", "pids.current"));
        jv_set_int(pids, "limit", value(cgroup, "pids", "pids.max"));
        jv_set(data, "pids", pids);
        jv_set(data, "blkio", jv_new_object());
        jv_set(data, "hugetlb", jv_new_object());
        jv_set_str(d, "type", "stats");
        jv_set_str(d, "id", id);
        jv_set(d, "data", data);
        return d;
}

/* "5s", "250ms", "1m", "1.5s" (Go's durations, as runc takes them) in milliseconds. */
static long long interval_ms(const char *s)
{
        char *end;
        double v = strtod(s, &end);

        if (end == s || v <= 0)
                return -1;
        if (!strcmp(end, "ms"))
                return (long long)v;
        if (!strcmp(end, "s"))
                return (long long)(v * 1000);
        if (!strcmp(end, "m"))
                return (long long)(v * 60000);
        return -1;
}

static long long oom_kills(const char *cgroup)
{
        _cleanup_free_ char *oc = cgroup_read(cgroup, "memory", "memory.oom_control");
        _cleanup_free_ char *ev = oc ? NULL : cgroup_read(cgroup, "", "memory.events");

        return keyed(oc ? oc : ev, "oom_kill");
}

static void print_doc(struct jv *d)
{
        printf("%s\n", jv_to_string(d, false));
        fflush(stdout);
        jv_put(d);
}

int oci_cmd_events(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct events_opts o = {.interval = "5s"};
        struct oci_state st;
        long long ms, ooms = 0;
        const char *id;

        if (oci_parse_id(events_defs, argc, argv, &o, 1, err) < 0)
                return 1;
        id = argv[1];
        ms = interval_ms(o.interval);
        if (ms < 0)
                return err_set(err, -EINVAL, "events: invalid interval %s", o.interval), 1;
        if (oci_state_load(g->root, id, &st, err) < 0)
                return 1;
        if (oci_state_status(&st) == OCI_STOPPED) {
                oci_state_free(&st);
                return err_set(err, -EINVAL, "container with id %s is not running", id), 1;
        }
        if (o.stats) {
                print_doc(stats_doc(id, st.cgroup));
                oci_state_free(&st);
                return 0;
        }
        /* OOM kills from now on: those before are not events of this watch. */
        ooms = oom_kills(st.cgroup);
        while (oci_state_status(&st) != OCI_STOPPED) {
                long long n = oom_kills(st.cgroup);
                for (; ooms < n; ooms++) {
                        struct jv *d = jv_new_object();
                        jv_set_str(d, "type", "oom");
                        jv_set_str(d, "id", id);
                        print_doc(d);
                }
                print_doc(stats_doc(id, st.cgroup));
                nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
        }
        oci_state_free(&st);
        return 0;
}
