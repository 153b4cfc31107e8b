/* Resource and logging flags of create/run (-m, --memory-swap, --memory-reservation, --cpus,
 * -c, --cpu-period, --cpu-quota, --cpuset-cpus, --cpuset-mems, --pids-limit, --oom-*,
 * --shm-size, --log-driver, --log-opt, ...): validated as Docker validates them, with its
 * messages, into HostConfig's fields; the monitor applies them (core/cgroup.c, its log). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cgroup.h"
#include "create.h"
#include "imgconfig.h"
#include "launch.h"

static int bad_flag(const char *value, const char *flag, const char *why, struct err *err)
{
        return err_client(err, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", value, flag,
                          why);
}

static int size_flag(const char *value, const char *flag, bool allow_unlimited, long long *ret,
                     struct err *err)
{
        char why[128];

        if (!value)
                return 0;
        if (allow_unlimited && !strcmp(value, "-1")) {
                *ret = -1;
                return 0;
        }
        if (util_parse_ram_bytes(value, ret) < 0) {
                snprintf(why, sizeof(why), "invalid size: '%s'", value);
                return bad_flag(value, flag, why, err);
        }
        return 0;
}

static int int_flag(const char *value, const char *flag, long long *ret, struct err *err)
{
        char why[128];

        if (!value)
                return 0;
        if (util_parse_ll(value, -1000000000000LL, 1000000000000LL, ret) < 0) {
                snprintf(why, sizeof(why), "strconv.ParseInt: parsing \"%s\": invalid syntax",
                         value);
                return bad_flag(value, flag, why, err);
        }
        return 0;
}

/* "0-2,4": every number below ncpu. */
static int check_cpuset(const char *set, const char *what, long max, struct err *err)
{
        const char *p = set;

        while (*p) {
                char *end;
                long a = strtol(p, &end, 10), b = a;
                if (end == p || a < 0)
                        return err_set(err, -EINVAL, "Invalid value %s for cpuset %s", set, what);
                if (*end == '-') {
                        p = end + 1;
                        b = strtol(p, &end, 10);
                        if (end == p || b < a)
                                return err_set(err, -EINVAL, "Invalid value %s for cpuset %s", set,
                                               what);
                }
                if (b >= max)
                        return err_set(err, -EINVAL,
                                       "Requested %s are not available - requested %s, available: "
                                       "0-%ld",
                                       !strcmp(what, "cpus") ? "CPUs" : "memory nodes", set,
                                       max - 1);
                if (*end && *end != ',')
                        return err_set(err, -EINVAL, "Invalid value %s for cpuset %s", set, what);
                p = *end ? end + 1 : end;
        }
        return 0;
}

/* --log-driver json-file|local|none and --log-opt max-size, max-file (Docker's names and
 * checks): the monitor rotates the log (core/monitor.c), `logs` reads across the files. */
static int log_config(const struct run_opts *o, struct jv *hc, struct err *err)
{
        const char *driver = o->log_driver ? o->log_driver : "json-file";
        struct jv *log = jv_new_object(), *cfg = jv_new_object();
        bool local = !strcmp(driver, "local");

        jv_set_str(log, "Type", driver);
        jv_set(log, "Config", cfg);
        jv_set(hc, "LogConfig", log);
        if (strcmp(driver, "json-file") && !local && strcmp(driver, "none"))
                return err_set(err, -ENOTSUP,
                               "logging driver %s is not supported by hawser (json-file, local "
                               "and none are)",
                               driver);
        /* The local driver's defaults: 20 MB, 5 files. */
        if (local) {
                jv_set_str(cfg, "max-size", "20m");
                jv_set_str(cfg, "max-file", "5");
        }
        for (char **p = o->log_opts; p && *p; p++) {
                _cleanup_free_ char *k = strndup(*p, strcspn(*p, "="));
                const char *v = strchr(*p, '=');
                long long n;
                if (!k || !v)
                        return err_set(err, -EINVAL, "invalid log opt format '%s'", *p);
                v++;
                if (!strcmp(driver, "none"))
                        return err_set(err, -EINVAL, "unknown log opt '%s' for none log driver", k);
                if (!strcmp(k, "max-size")) {
                        if (util_parse_ram_bytes(v, &n) < 0)
                                return err_set(err, -EINVAL, "invalid size: '%s'", v);
                } else if (!strcmp(k, "max-file")) {
                        if (util_parse_ll(v, LLONG_MIN / 2, LLONG_MAX / 2, &n) < 0)
                                return err_set(err, -EINVAL,
                                               "strconv.Atoi: parsing \"%s\": "
                                               "invalid syntax",
                                               v);
                        if (n < 1)
                                return err_set(err, -EINVAL,
                                               "failed to initialize logging driver: max-file "
                                               "cannot be less than 1");
                } else if (!strcmp(k, "compress")) {
                        if (util_parse_go_bool(v) < 0)
                                return err_set(err, -EINVAL,
                                               "strconv.ParseBool: parsing \"%s\": invalid syntax",
                                               v);
                } else {
                        return err_set(err, -EINVAL, "unknown log opt '%s' for %s log driver", k,
                                       driver);
                }
                jv_set_str(cfg, k, v);
        }
        if (jv_get_str(cfg, "max-file") && atoll(jv_get_str(cfg, "max-file")) > 1 &&
            !jv_get_str(cfg, "max-size"))
                return err_set(err, -EINVAL, "max-file can only be used with max-size");
        if (util_parse_go_bool(jv_get_str(cfg, "compress") ?: "false") == 1 &&
            (!jv_get_str(cfg, "max-size") || atoll(jv_get_str(cfg, "max-file") ?: "1") < 2))
                return err_set(err, -EINVAL,
                               "compress cannot be true when max-file is less than 2 or max-size "
                               "is not set");
        return 0;
}

/* --restart no|always|unless-stopped|on-failure[:N]: HostConfig.RestartPolicy, checked as
 * Docker's CLI and daemon check it; the monitor applies it. */
static int restart_policy(const struct run_opts *o, struct jv *hc, struct err *err)
{
        struct jv *rp = jv_new_object();
        _cleanup_free_ char *name = NULL;
        const char *colon;
        long long count = 0;

        jv_set(hc, "RestartPolicy", rp);
        jv_set_str(rp, "Name", "no");
        jv_set_int(rp, "MaximumRetryCount", 0);
        if (!o->restart)
                return 0;
        colon = strchr(o->restart, ':');
        if (colon && strchr(colon + 1, ':'))
                return err_client(err, -EINVAL, "invalid restart policy format");
        name = colon ? strndup(o->restart, (size_t)(colon - o->restart)) : strdup(o->restart);
        if (!name)
                return err_set(err, -ENOMEM, "reading --restart");
        if (colon && util_parse_ll(colon + 1, LLONG_MIN / 2, LLONG_MAX / 2, &count) < 0)
                return err_set(err, -EINVAL, "strconv.Atoi: parsing \"%s\": invalid syntax",
                               colon + 1);
        if (!strcmp(name, "always") || !strcmp(name, "unless-stopped") || !strcmp(name, "no")) {
                if (count)
                        return err_set(err, -EINVAL,
                                       "maximum retry count cannot be used with restart policy "
                                       "'%s'",
                                       name);
        } else if (!strcmp(name, "on-failure")) {
                if (count < 0)
                        return err_set(err, -EINVAL, "maximum retry count cannot be negative");
        } else if (*name) {
                return err_client(err, -EINVAL, "invalid restart policy '%s'", name);
        }
        if (o->rm && *name && strcmp(name, "no"))
                return err_client(err, -EINVAL, "Conflicting options: --restart and --rm");
        jv_set_str(rp, "Name", *name ? name : "no");
        jv_set_int(rp, "MaximumRetryCount", count);
        return 0;
}

/* --health-*: Config.Healthcheck as Docker's CLI builds it (durations in ns, CMD-SHELL),
 * the image's HEALTHCHECK filling what the flags leave out, then the daemon's checks. */
int create_health_doc(const struct run_opts *o, const struct jv *image_cfg, struct jv *cfg,
                      struct err *err)
{
        static const struct {
                size_t off;
                const char *flag, *key, *daemon;
        } durations[] = {
                {offsetof(struct run_opts, health_interval), "--health-interval", "Interval",
                 "Interval"},
                {offsetof(struct run_opts, health_timeout), "--health-timeout", "Timeout",
                 "Timeout"},
                {offsetof(struct run_opts, health_start_period), "--health-start-period",
                 "StartPeriod", "StartPeriod"},
                {offsetof(struct run_opts, health_start_interval), "--health-start-interval",
                 "StartInterval", "StartInterval"},
        };
        struct jv *h = jv_new_object();
        bool any = o->health_cmd || o->health_test || o->health_retries;
        long long retries = 0;

        jv_set(cfg, "Healthcheck", h);
        for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
                const char *v = *(char *const *)((const char *)o + durations[i].off);
                int64_t ns;
                char why[160];
                if (!v)
                        continue;
                any = true;
                if (util_parse_go_duration(v, &ns) < 0) {
                        snprintf(why, sizeof(why), "time: invalid duration \"%s\"", v);
                        return bad_flag(v, durations[i].flag, why, err);
                }
                if (ns < 0)
                        return err_set(err, -EINVAL, "%s cannot be negative", durations[i].flag);
                if (ns)
                        jv_set_int(h, durations[i].key, ns);
        }
        if (o->health_retries) {
                if (util_parse_ll(o->health_retries, INT_MIN, INT_MAX, &retries) < 0) {
                        char why[160];
                        snprintf(why, sizeof(why),
                                 "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                 o->health_retries);
                        return bad_flag(o->health_retries, "--health-retries", why, err);
                }
                if (retries < 0)
                        return err_set(err, -EINVAL, "--health-retries cannot be negative");
                if (retries)
                        jv_set_int(h, "Retries", retries);
        }
        if (o->no_healthcheck) {
                if (any)
                        return err_set(err, -EINVAL,
                                       "--no-healthcheck conflicts with --health-* options");
                jv_set(h, "Test", jv_from_strv((char *[]){"NONE", NULL}));
                return 0;
        }
        if (o->health_cmd)
                jv_set(h, "Test", jv_from_strv((char *[]){"CMD-SHELL", o->health_cmd, NULL}));
        else if (o->health_test)
                jv_set(h, "Test", jv_from_strv(o->health_test));
        if (!any)
                jv_del(cfg, "Healthcheck");
        imgconfig_merge_health(cfg, image_cfg);
        h = jv_get(cfg, "Healthcheck");
        /* The daemon's checks, on the merged config (Docker's MinimumDuration is 1ms). */
        for (size_t i = 0; h && i < ARRAY_SIZE(durations); i++) {
                long long ns = jv_get_int(h, durations[i].key, 0);
                if (ns && ns < 1000000)
                        return err_set(err, -EINVAL, "%s in Healthcheck cannot be less than 1ms",
                                       durations[i].daemon);
        }
        if (h && jv_get_int(h, "Retries", 0) < 0)
                return err_set(err, -EINVAL, "Retries in Healthcheck cannot be negative");
        if (h) {
                /* Docker's field order. */
                static const char *const order[] = {"Test",        "Interval",      "Timeout",
                                                    "StartPeriod", "StartInterval", "Retries"};
                struct jv *sorted = jv_new_object();
                for (size_t i = 0; i < ARRAY_SIZE(order); i++)
                        if (jv_get(h, order[i]))
                                jv_set(sorted, order[i], jv_copy(jv_get(h, order[i])));
                jv_set(cfg, "Healthcheck", sorted);
        }
        return 0;
}

/* A ulimit value: a number, or -1 / "unlimited" for none. */
static int parse_limit(const char *v, long long *ret)
{
        if (!strcmp(v, "unlimited")) {
                *ret = -1;
                return 0;
        }
        return util_parse_ll(v, -1, LLONG_MAX, ret);
}

/* --ulimit NAME=SOFT[:HARD] ("unlimited" or -1 for no limit): HostConfig.Ulimits. */
static int ulimits(const struct run_opts *o, struct jv *hc, struct err *err)
{
        struct jv *list = jv_new_array();

        jv_set(hc, "Ulimits", o->ulimits && o->ulimits[0] ? list : NULL);
        if (!o->ulimits || !o->ulimits[0])
                jv_put(list);
        for (char **u = o->ulimits; u && *u; u++) {
                _cleanup_free_ char *name = strndup(*u, strcspn(*u, "="));
                const char *v = strchr(*u, '='), *colon;
                long long soft, hard;
                struct jv *e;
                char why[160];
                if (!name || !v) {
                        snprintf(why, sizeof(why), "invalid ulimit argument: %s", *u);
                        return bad_flag(*u, "--ulimit", why, err);
                }
                if (launch_rlimit_resource(name) < 0) {
                        snprintf(why, sizeof(why), "invalid ulimit type: %s", name);
                        return bad_flag(*u, "--ulimit", why, err);
                }
                v++;
                colon = strchr(v, ':');
                if (parse_limit(colon ? strndupa(v, (size_t)(colon - v)) : v, &soft) < 0) {
                        snprintf(why, sizeof(why), "invalid ulimit soft value %.*s",
                                 (int)(colon ? (size_t)(colon - v) : strlen(v)), v);
                        return bad_flag(*u, "--ulimit", why, err);
                }
                hard = soft;
                if (colon && parse_limit(colon + 1, &hard) < 0) {
                        snprintf(why, sizeof(why), "invalid ulimit hard value %s", colon + 1);
                        return bad_flag(*u, "--ulimit", why, err);
                }
                if (soft != -1 && hard != -1 && soft > hard) {
                        snprintf(why, sizeof(why),
                                 "ulimit soft limit must be less than or equal to hard limit: "
                                 "%lld > %lld",
                                 soft, hard);
                        return bad_flag(*u, "--ulimit", why, err);
                }
                e = jv_new_object();
                jv_set_str(e, "Name", name);
                jv_set_int(e, "Hard", hard);
                jv_set_int(e, "Soft", soft);
                jv_append(list, e);
        }
        return 0;
}

/* Docker's device cgroup rule: ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
static bool device_rule_valid(const char *s)
{
        size_t n;

        if (!strchr("acb", s[0]) || !s[0] || s[1] != ' ')
                return false;
        s += 2;
        for (int part = 0; part < 2; part++) {
                n = *s == '*' ? 1 : strspn(s, "0123456789");
                if (!n || s[n] != (part ? ' ' : ':'))
                        return false;
                s += n + 1;
        }
        n = strspn(s, "rwm");
        return n >= 1 && n <= 3 && !s[n];
}

int create_resources_doc(const struct run_opts *o, struct jv *hc, struct err *err)
{
        struct cgroup_limits l = {0};
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int r = 0;

        r = size_flag(o->memory, "-m, --memory", false, &l.memory, err);
        if (r >= 0)
                r = size_flag(o->memory_swap, "--memory-swap", true, &l.memory_swap, err);
        if (r >= 0)
                r = size_flag(o->memory_reservation, "--memory-reservation", false,
                              &l.memory_reservation, err);
        if (r >= 0)
                r = int_flag(o->cpu_shares, "-c, --cpu-shares", &l.cpu_shares, err);
        if (r >= 0)
                r = int_flag(o->cpu_period, "--cpu-period", &l.cpu_period, err);
        if (r >= 0)
                r = int_flag(o->cpu_quota, "--cpu-quota", &l.cpu_quota, err);
        if (r >= 0)
                r = int_flag(o->pids_limit, "--pids-limit", &l.pids_limit, err);
        if (r >= 0 && o->blkio_weight) {
                long long w;
                char why[128];
                if (util_parse_ll(o->blkio_weight, 0, 65535, &w) < 0) {
                        snprintf(why, sizeof(why),
                                 "strconv.ParseUint: parsing \"%s\": invalid syntax",
                                 o->blkio_weight);
                        return bad_flag(o->blkio_weight, "--blkio-weight", why, err);
                }
                if (w && (w < 10 || w > 1000))
                        return err_set(err, -EINVAL, "Range of blkio weight is from 10 to 1000");
                /* Docker's answer where the kernel cannot weigh block I/O. */
                if (w && !cgroup_blkio_weight_supported()) {
                        fprintf(stderr, "WARNING: Your kernel does not support Block I/O weight "
                                        "or the cgroup is not mounted. Weight discarded.\n");
                        w = 0;
                }
                l.blkio_weight = w;
        }
        if (r >= 0 && o->device_cgroup_rules && *o->device_cgroup_rules) {
                for (char **d = o->device_cgroup_rules; *d; d++)
                        if (!device_rule_valid(*d))
                                return err_set(err, -EINVAL, "invalid device cgroup format '%s'",
                                               *d);
                if (!cgroup_devices_supported())
                        return err_set(err, -ENOTSUP,
                                       "--device-cgroup-rule needs the cgroup v1 devices "
                                       "controller, which this host does not have (hawser has no "
                                       "cgroup v2 device filter yet)");
                jv_set(hc, "DeviceCgroupRules", jv_from_strv(o->device_cgroup_rules));
        }
        if (r >= 0 && o->cgroup_parent && *o->cgroup_parent) {
                const char *p = o->cgroup_parent;
                /* A path below each hierarchy's root, never above it. */
                for (const char *c = p; *c; c += strcspn(c, "/"), c += *c == '/')
                        if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2]))
                                return err_set(err, -EINVAL,
                                               "invalid --cgroup-parent \"%s\": \"..\" is not "
                                               "allowed",
                                               p);
                if (strlen(p) > 160 || strpbrk(p, "\n\t "))
                        return err_set(err, -EINVAL,
                                       "invalid --cgroup-parent \"%s\": at most 160 characters, "
                                       "no blanks",
                                       p);
                jv_set_str(hc, "CgroupParent", p);
        }
        if (r >= 0 && o->cpus) {
                char *end;
                double c = strtod(o->cpus, &end);
                char why[128];
                if (end == o->cpus || *end || !(c >= 0)) {
                        snprintf(why, sizeof(why), "failed to parse %s as a rational number",
                                 o->cpus);
                        return bad_flag(o->cpus, "--cpus", why, err);
                }
                l.nano_cpus = (long long)(c * 1e9 + 0.5);
        }
        if (r < 0)
                return r;
        /* Docker's daemon-side checks (verifyPlatformContainerResources). */
        if (l.memory && l.memory < 6 * 1024 * 1024)
                return err_set(err, -EINVAL, "Minimum memory limit allowed is 6MB");
        if (l.memory_swap && !l.memory)
                return err_set(err, -EINVAL,
                               "You should always set the Memory limit when using "
                               "Memoryswap limit, see usage");
        if (l.memory_swap > 0 && l.memory_swap < l.memory)
                return err_set(err, -EINVAL,
                               "Minimum memoryswap limit should be larger than "
                               "memory limit, see usage");
        if (l.memory && l.memory_reservation && l.memory < l.memory_reservation)
                return err_set(err, -EINVAL,
                               "Minimum memory limit can not be less than memory "
                               "reservation limit, see usage");
        if (l.nano_cpus && l.cpu_period)
                return err_set(err, -EINVAL,
                               "Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (l.nano_cpus && l.cpu_quota)
                return err_set(err, -EINVAL,
                               "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        if (l.nano_cpus && (l.nano_cpus < 10000000 || l.nano_cpus > ncpu * 1000000000LL))
                return err_set(err, -EINVAL,
                               "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
                               "available",
                               ncpu, ncpu);
        if (l.cpu_period && (l.cpu_period < 1000 || l.cpu_period > 1000000))
                return err_set(err, -EINVAL,
                               "CPU cfs period can not be less than 1ms (i.e. 1000) "
                               "or larger than 1s (i.e. 1000000)");
        if (l.cpu_quota && l.cpu_quota > 0 && l.cpu_quota < 1000)
                return err_set(err, -EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
        if (o->cpuset_cpus && check_cpuset(o->cpuset_cpus, "cpus", ncpu, err) < 0)
                return -err->code;
        if (o->runtime)
                return err_set(err, -EINVAL, "Unknown runtime specified %s", o->runtime);
        for (char **f = o->label_files; f && *f; f++)
                if (access(*f, R_OK) < 0)
                        return err_set(err, -errno, "open %s: %s", *f,
                                       util_go_strerror(errno, (char[64]){0}));
        if (o->oom_score_adj) {
                long long adj;
                if (util_parse_ll(o->oom_score_adj, LLONG_MIN / 2, LLONG_MAX / 2, &adj) < 0)
                        return bad_flag(o->oom_score_adj, "--oom-score-adj",
                                        "strconv.ParseInt: invalid syntax", err);
                if (adj < -1000 || adj > 1000)
                        return err_set(err, -EINVAL,
                                       "Invalid value %lld, range for oom score adj is "
                                       "[-1000, 1000]",
                                       adj);
                jv_set_int(hc, "OomScoreAdj", adj);
        }
        if (o->shm_size) {
                long long shm = 0;
                if (size_flag(o->shm_size, "--shm-size", false, &shm, err) < 0)
                        return -err->code;
                if (shm <= 0)
                        return err_set(err, -EINVAL, "SHM size can not be less than 0");
                jv_set_int(hc, "ShmSize", shm);
        }
        jv_set_bool(hc, "OomKillDisable", o->oom_kill_disable);
        jv_set(hc, "GroupAdd", o->group_add && o->group_add[0] ? jv_from_strv(o->group_add) : NULL);
        if (log_config(o, hc, err) < 0 || ulimits(o, hc, err) < 0 || restart_policy(o, hc, err) < 0)
                return -err->code;
        jv_set_int(hc, "Memory", l.memory);
        jv_set_int(hc, "MemorySwap", l.memory_swap);
        jv_set_int(hc, "MemoryReservation", l.memory_reservation);
        jv_set_int(hc, "NanoCpus", l.nano_cpus);
        jv_set_int(hc, "CpuShares", l.cpu_shares);
        jv_set_int(hc, "CpuPeriod", l.cpu_period);
        jv_set_int(hc, "CpuQuota", l.cpu_quota);
        jv_set_int(hc, "BlkioWeight", l.blkio_weight);
        if (o->cpuset_cpus)
                jv_set_str(hc, "CpusetCpus", o->cpuset_cpus);
        if (o->cpuset_mems)
                jv_set_str(hc, "CpusetMems", o->cpuset_mems);
        if (o->pids_limit)
                jv_set_int(hc, "PidsLimit", l.pids_limit);
        return 0;
}
