#include <arpa/inet.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attach.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "caps.h"
#include "commands.h"
#include "create.h"
#include "registry.h"
#include "devices.h"
#include "dnsd.h"
#include "events.h"
#include "network.h"
#include "volume.h"
#include "dns/files.h"
#include "image.h"
#include "imgconfig.h"
#include "monitor.h"
#include "opt.h"
#include "secprof.h"
#include "teardown.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define RO(f) offsetof(struct run_opts, f)
static const struct opt_def run_defs[] = {
        {"detach", 'd', OPT_BOOL, RO(detach)},
        {"interactive", 'i', OPT_BOOL, RO(interactive)},
        {"tty", 't', OPT_BOOL, RO(tty)},
        {"rm", 0, OPT_BOOL, RO(rm)},
        {"init", 0, OPT_BOOL, RO(init)},
        {"read-only", 0, OPT_BOOL, RO(read_only)},
        {"privileged", 0, OPT_BOOL, RO(privileged)},
        {"device", 0, OPT_LIST, RO(devices)},
        {"quiet", 'q', OPT_BOOL, RO(quiet)},
        {"name", 0, OPT_STR, RO(name)},
        {"workdir", 'w', OPT_STR, RO(workdir)},
        {"user", 'u', OPT_STR, RO(user)},
        {"hostname", 'h', OPT_STR, RO(hostname)},
        {"domainname", 0, OPT_STR, RO(domainname)},
        {"entrypoint", 0, OPT_STR, RO(entrypoint)},
        {"network", 0, OPT_STR, RO(network)},
        {"net", 0, OPT_STR, RO(network)},
        {"stop-signal", 0, OPT_STR, RO(stop_signal)},
        {"stop-timeout", 0, OPT_STR, RO(stop_timeout)},
        {"detach-keys", 0, OPT_STR, RO(detach_keys)},
        {"pull", 0, OPT_STR, RO(pull)},
        {"env", 'e', OPT_LIST, RO(env)},
        {"env-file", 0, OPT_LIST, RO(env_file)},
        {"label", 'l', OPT_LIST, RO(labels)},
        {"cap-add", 0, OPT_LIST, RO(cap_add)},
        {"cap-drop", 0, OPT_LIST, RO(cap_drop)},
        {"security-opt", 0, OPT_LIST, RO(security_opt)},
        {"publish-all", 'P', OPT_BOOL, RO(publish_all)},
        {"publish", 'p', OPT_LIST, RO(publish)},
        {"expose", 0, OPT_LIST, RO(expose)},
        {"link", 0, OPT_LIST, RO(links)},
        {"add-host", 0, OPT_LIST, RO(add_hosts)},
        {"dns", 0, OPT_LIST, RO(dns)},
        {"dns-search", 0, OPT_LIST, RO(dns_search)},
        {"dns-option", 0, OPT_LIST, RO(dns_options)},
        {"dns-opt", 0, OPT_LIST, RO(dns_options)},
        {"network-alias", 0, OPT_LIST, RO(aliases)},
        {"net-alias", 0, OPT_LIST, RO(aliases)},
        {"ip", 0, OPT_STR, RO(ip)},
        {"ip6", 0, OPT_STR, RO(ip6)},
        {"mac-address", 0, OPT_STR, RO(mac_address)},
        {"volume", 'v', OPT_LIST, RO(volumes)},
        {"mount", 0, OPT_LIST, RO(mounts)},
        {"tmpfs", 0, OPT_LIST, RO(tmpfs)},
        {"volumes-from", 0, OPT_LIST, RO(volumes_from)},
        {"memory", 'm', OPT_STR, RO(memory)},
        {"memory-swap", 0, OPT_STR, RO(memory_swap)},
        {"memory-reservation", 0, OPT_STR, RO(memory_reservation)},
        {"cpus", 0, OPT_STR, RO(cpus)},
        {"cpu-shares", 'c', OPT_STR, RO(cpu_shares)},
        {"cpu-period", 0, OPT_STR, RO(cpu_period)},
        {"cpu-quota", 0, OPT_STR, RO(cpu_quota)},
        {"cpuset-cpus", 0, OPT_STR, RO(cpuset_cpus)},
        {"cpuset-mems", 0, OPT_STR, RO(cpuset_mems)},
        {"pids-limit", 0, OPT_STR, RO(pids_limit)},
        {"oom-score-adj", 0, OPT_STR, RO(oom_score_adj)},
        {"oom-kill-disable", 0, OPT_BOOL, RO(oom_kill_disable)},
        {"shm-size", 0, OPT_STR, RO(shm_size)},
        {"cidfile", 0, OPT_STR, RO(cidfile)},
        {"runtime", 0, OPT_STR, RO(runtime)},
        {"label-file", 0, OPT_LIST, RO(label_files)},
        {"log-driver", 0, OPT_STR, RO(log_driver)},
        {"log-opt", 0, OPT_LIST, RO(log_opts)},
        {"ulimit", 0, OPT_LIST, RO(ulimits)},
        {"group-add", 0, OPT_LIST, RO(group_add)},
        {"restart", 0, OPT_STR, RO(restart)},
        {"health-cmd", 0, OPT_STR, RO(health_cmd)},
        {"health-interval", 0, OPT_STR, RO(health_interval)},
        {"health-timeout", 0, OPT_STR, RO(health_timeout)},
        {"health-retries", 0, OPT_STR, RO(health_retries)},
        {"health-start-period", 0, OPT_STR, RO(health_start_period)},
        {"health-start-interval", 0, OPT_STR, RO(health_start_interval)},
        {"no-healthcheck", 0, OPT_BOOL, RO(no_healthcheck)},
        {"pid", 0, OPT_STR, RO(pid)},
        {"ipc", 0, OPT_STR, RO(ipc)},
        {"uts", 0, OPT_STR, RO(uts)},
        {"cgroupns", 0, OPT_STR, RO(cgroupns)},
        {"blkio-weight", 0, OPT_STR, RO(blkio_weight)},
        {"cgroup-parent", 0, OPT_STR, RO(cgroup_parent)},
        {"device-cgroup-rule", 0, OPT_LIST, RO(device_cgroup_rules)},
        {"sysctl", 0, OPT_LIST, RO(sysctls)},
        OPT_END,
};

/* ---- environment ---- */

/* Sets KEY=VALUE in v, replacing an existing KEY. */
static int env_put(char ***v, const char *kv)
{
        return util_env_set(v, kv);
}

static int build_env(const struct run_opts *o, const struct jv *image_cfg, struct jv **ret,
                     struct err *err)
{
        _cleanup_strv_ char **v = jv_to_strv(jv_get(image_cfg, "Env"));
        bool has_path = false;
        int r;

        if (!v)
                return err_set(err, -ENOMEM, "building the environment");
        for (char **p = v; *p; p++)
                has_path |= !strncmp(*p, "PATH=", 5);
        if (!has_path && util_strv_push(&v, DEFAULT_PATH) < 0)
                return err_set(err, -ENOMEM, "building the environment");
        /* A terminal's TERM is a default that the image or -e may replace. */
        if (o->tty && env_put(&v, "TERM=xterm") < 0)
                return err_set(err, -ENOMEM, "building the environment");
        for (char **f = o->env_file; f && *f; f++) {
                r = util_env_file_load(*f, &v, err);
                if (r < 0)
                        return r;
        }
        for (char **e = o->env; e && *e; e++) {
                if (**e == '=')
                        return err_set(err, -EINVAL, "invalid environment variable: %s", *e);
                if (util_env_put_user(&v, *e) < 0)
                        return err_set(err, -ENOMEM, "building the environment");
        }
        *ret = jv_from_strv(v);
        return 0;
}

/* ---- command and entrypoint (Docker's rules) ---- */

static int build_command(const struct run_opts *o, const struct jv *image_cfg, char **cmd,
                         struct jv *cfg, struct err *err)
{
        struct jv *ep = NULL, *c = NULL;

        if (o->entrypoint_set) {
                if (o->entrypoint_argv && *o->entrypoint_argv)
                        ep = jv_from_strv(o->entrypoint_argv);
        } else if (o->entrypoint) {
                if (*o->entrypoint) {
                        ep = jv_new_array();
                        jv_append(ep, jv_new_string(o->entrypoint));
                }
        } else {
                ep = jv_copy(jv_get(image_cfg, "Entrypoint"));
        }
        if (cmd && *cmd)
                c = jv_from_strv(cmd);
        else if (!o->entrypoint && !o->entrypoint_set)
                c = jv_copy(jv_get(image_cfg, "Cmd"));
        if (jv_len(ep) == 0 && jv_len(c) == 0) {
                jv_put(ep);
                jv_put(c);
                return err_set(err, -EINVAL, "No command specified");
        }
        jv_set(cfg, "Entrypoint", ep && jv_len(ep) ? ep : (jv_put(ep), NULL));
        jv_set(cfg, "Cmd", c && jv_len(c) ? c : (jv_put(c), NULL));
        return 0;
}

/* Go marshals maps with sorted keys; store them that way so {{json .Config.Labels}} agrees. */
static struct jv *sorted_object(struct jv *o)
{
        _cleanup_strv_ char **keys = jv_keys(o);
        struct jv *s = jv_new_object();

        for (char **k = keys; k && *k; k++)
                jv_set(s, *k, jv_copy(jv_get(o, *k)));
        jv_put(o);
        return s;
}

static struct jv *labels_obj(const struct run_opts *o, const struct jv *image_cfg)
{
        struct jv *l = jv_copy(jv_get(image_cfg, "Labels"));

        if (!l || jv_type(l) != JV_OBJECT) {
                jv_put(l);
                l = jv_new_object();
        }
        _cleanup_strv_ char **all = calloc(1, sizeof(char *));

        /* --label-file lines first (blank lines and '#' comments skipped), then --label. */
        for (char **f = o->label_files; all && f && *f; f++) {
                _cleanup_free_ char *text = NULL;
                struct err ignored = {0};
                char *save = NULL;
                if (fs_read_file(*f, &text, NULL, &ignored) < 0)
                        continue; /* checked (with Docker's message) by create_resources_doc */
                for (char *line = strtok_r(text, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save))
                        if (*line && *line != '#')
                                (void)util_strv_push(&all, line);
        }
        for (char **p = o->labels; all && p && *p; p++)
                (void)util_strv_push(&all, *p);
        for (char **p = all; p && *p; p++) {
                _cleanup_free_ char *k = strdup(*p);
                char *eq = k ? strchr(k, '=') : NULL;
                if (!k)
                        continue;
                if (eq)
                        *eq = '\0';
                jv_set_str(l, k, eq ? eq + 1 : "");
        }
        return sorted_object(l);
}

static struct jv *build_config(const struct run_opts *o, const char *image_ref,
                               const struct jv *image_cfg, const char *id)
{
        struct jv *cfg = jv_new_object();
        const char *user = o->user ? o->user : jv_get_str(image_cfg, "User");
        const char *wd = o->workdir ? o->workdir : jv_get_str(image_cfg, "WorkingDir");
        const char *sig = o->stop_signal ? o->stop_signal : jv_get_str(image_cfg, "StopSignal");
        char host[13];

        snprintf(host, sizeof(host), "%.12s", id);
        jv_set_str(cfg, "Hostname", o->hostname ? o->hostname : host);
        jv_set_str(cfg, "Domainname", o->domainname ? o->domainname : "");
        if (o->mac_address)
                jv_set_str(cfg, "MacAddress", o->mac_address);
        jv_set_str(cfg, "User", user ? user : "");
        jv_set_bool(cfg, "AttachStdin", !o->detach && o->interactive);
        jv_set_bool(cfg, "AttachStdout", !o->detach);
        jv_set_bool(cfg, "AttachStderr", !o->detach);
        jv_set_bool(cfg, "Tty", o->tty);
        jv_set_bool(cfg, "OpenStdin", o->interactive);
        jv_set_bool(cfg, "StdinOnce", !o->detach && o->interactive);
        jv_set_str(cfg, "Image", image_ref);
        jv_set(cfg, "Volumes", jv_copy(jv_get(image_cfg, "Volumes")));
        jv_set(cfg, "ExposedPorts", jv_copy(jv_get(image_cfg, "ExposedPorts")));
        jv_set_str(cfg, "WorkingDir", wd ? wd : "");
        jv_set(cfg, "OnBuild", NULL);
        jv_set(cfg, "Labels", labels_obj(o, image_cfg));
        if (sig)
                jv_set_str(cfg, "StopSignal", sig);
        if (o->stop_timeout)
                jv_set_int(cfg, "StopTimeout", atoll(o->stop_timeout));
        return cfg;
}

/* The HostConfig fields a Docker user reads that describe what every hawser container gets
 * (no resource limits, a 64 MiB /dev/shm, the json-file log, private IPC and cgroup
 * namespaces), so inspect templates find Docker's values instead of <no value>. */
static void host_config_defaults(struct jv *hc)
{
        static const char *const zero_ints[] = {"Memory",   "MemorySwap",  "MemoryReservation",
                                                "NanoCpus", "CpuShares",   "CpuPeriod",
                                                "CpuQuota", "BlkioWeight", "OomScoreAdj"};
        static const char *const empty_strs[] = {"PidMode",    "UTSMode",      "UsernsMode",
                                                 "Cgroup",     "CgroupParent", "CpusetCpus",
                                                 "CpusetMems", "Isolation",    "VolumeDriver"};
        struct jv *log = jv_new_object(), *console = jv_new_array();

        jv_set_int(hc, "ShmSize", 64LL * 1024 * 1024);
        jv_set_str(hc, "IpcMode", "private");
        jv_set_str(hc, "CgroupnsMode", "private");
        jv_set_str(log, "Type", "json-file");
        jv_set(log, "Config", jv_new_object());
        jv_set(hc, "LogConfig", log);
        jv_append(console, jv_new_int(0));
        jv_append(console, jv_new_int(0));
        jv_set(hc, "ConsoleSize", console);
        jv_set_bool(hc, "OomKillDisable", false);
        jv_set(hc, "PidsLimit", NULL);
        jv_set(hc, "Devices", jv_new_array());
        jv_set(hc, "Ulimits", NULL);
        jv_set(hc, "GroupAdd", NULL);
        for (size_t i = 0; i < ARRAY_SIZE(zero_ints); i++)
                jv_set_int(hc, zero_ints[i], 0);
        for (size_t i = 0; i < ARRAY_SIZE(empty_strs); i++)
                jv_set_str(hc, empty_strs[i], "");
}

/* HostConfig.Devices: [{PathOnHost, PathInContainer, CgroupPermissions}]; the host side is
 * looked at when the container starts, as in Docker. */
static int devices_doc(const struct run_opts *o, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *v = jv_new_array();

        for (char **d = o->devices; d && *d; d++) {
                _cleanup_free_ char *host = NULL, *ctr = NULL, *mode = NULL;
                struct jv *m;
                int r = devices_parse(*d, &host, &ctr, &mode, err);

                if (r < 0)
                        return r;
                m = jv_new_object();
                jv_set_str(m, "PathOnHost", host);
                jv_set_str(m, "PathInContainer", ctr);
                jv_set_str(m, "CgroupPermissions", mode);
                jv_append(v, m);
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static struct jv *build_host_config(const struct run_opts *o, char **security_opt)
{
        struct jv *hc = jv_new_object(), *rp = jv_new_object();

        jv_set_str(hc, "NetworkMode", o->network ? o->network : "bridge");
        jv_set_bool(hc, "Privileged", o->privileged);
        jv_set_bool(hc, "ReadonlyRootfs", o->read_only);
        jv_set_bool(hc, "AutoRemove", o->rm);
        jv_set_bool(hc, "Init", o->init);
        jv_set(hc, "CapAdd", o->cap_add ? jv_from_strv(o->cap_add) : NULL);
        jv_set(hc, "CapDrop", o->cap_drop ? jv_from_strv(o->cap_drop) : NULL);
        jv_set(hc, "SecurityOpt", security_opt ? jv_from_strv(security_opt) : NULL);
        jv_set_str(rp, "Name", "no");
        jv_set_int(rp, "MaximumRetryCount", 0);
        jv_set(hc, "RestartPolicy", rp);
        jv_set(hc, "Binds", NULL);
        jv_set(hc, "PortBindings", jv_new_object());
        host_config_defaults(hc);
        return hc;
}

static struct jv *build_state(void)
{
        struct jv *st = jv_new_object();

        jv_set_str(st, "Status", "created");
        jv_set_bool(st, "Running", false);
        jv_set_bool(st, "Paused", false);
        jv_set_bool(st, "Restarting", false);
        jv_set_bool(st, "OOMKilled", false);
        jv_set_bool(st, "Dead", false);
        jv_set_int(st, "Pid", 0);
        jv_set_int(st, "ExitCode", 0);
        jv_set_str(st, "Error", "");
        jv_set_str(st, "StartedAt", "0001-01-01T00:00:00Z");
        jv_set_str(st, "FinishedAt", "0001-01-01T00:00:00Z");
        return st;
}

/* What is rendered into /etc/resolv.conf, /etc/hosts or the DNS records, checked as Docker's
 * CLI checks --dns and --dns-search, and more strictly where Docker takes anything: one token,
 * never a newline that would add lines of its own. */
static int check_name_opts(const struct run_opts *o, struct err *err)
{
        struct in6_addr a;

        for (char **d = o->dns; d && *d; d++)
                if (inet_pton(AF_INET, *d, &a) != 1 && inet_pton(AF_INET6, *d, &a) != 1)
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--dns\" flag: %s is not "
                                          "an ip address",
                                          *d, *d);
        for (char **d = o->dns_search; d && *d; d++)
                if (!dns_files_domain_ok(*d))
                        return err_client(
                                err, -EINVAL,
                                "invalid argument \"%s\" for \"--dns-search\" flag: %s is "
                                "not a valid domain",
                                *d, *d);
        for (char **d = o->dns_options; d && *d; d++)
                if (!dns_files_token_ok(*d))
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--dns-option\" flag: an "
                                          "option is one word, without whitespace or control "
                                          "characters",
                                          *d);
        for (char **d = o->aliases; d && *d; d++)
                if (!dns_files_token_ok(*d))
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--network-alias\" flag: "
                                          "an alias is one word, without whitespace or control "
                                          "characters",
                                          *d);
        return 0;
}

static int check_opts(const struct run_opts *o, struct err *err)
{
        int r;

        if (o->stop_signal && util_parse_signal(o->stop_signal) < 0)
                return err_set(err, -EINVAL, "Invalid signal: %s", o->stop_signal);
        if (o->stop_timeout) {
                long long t;
                if (util_parse_ll(o->stop_timeout, -1, 1 << 30, &t) < 0)
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for "
                                          "\"--stop-timeout\" flag",
                                          o->stop_timeout);
        }
        {
                uint64_t caps;
                r = caps_resolve(caps_default(), o->cap_add, o->cap_drop, &caps, err);
                if (r < 0)
                        return r;
        }
        if (o->hostname && (strlen(o->hostname) > 63 || !dns_files_token_ok(o->hostname)))
                return err_set(err, -EINVAL, "invalid hostname format: %s", o->hostname);
        if (o->domainname && *o->domainname &&
            (strlen(o->domainname) > 64 || !dns_files_token_ok(o->domainname)))
                return err_set(err, -EINVAL, "invalid domainname format: %s", o->domainname);
        r = check_name_opts(o, err);
        if (r < 0)
                return r;
        if (o->mac_address && !util_mac_ok(o->mac_address))
                return err_set(err, -EINVAL, "%s is not a valid mac address", o->mac_address);
        if (o->workdir && *o->workdir && o->workdir[0] != '/')
                return err_set(err, -EINVAL,
                               "the working directory '%s' is invalid, it needs to be an absolute "
                               "path",
                               o->workdir);
        return 0;
}

/* HostConfig.SecurityOpt as Docker's CLI sends it: a seccomp profile file becomes its JSON,
 * checked now for the container's capabilities so a bad profile fails create. */
static int security_opts(const struct run_opts *o, char ***ret, struct err *err)
{
        _cleanup_strv_ char **v = NULL;
        uint64_t caps = caps_all();
        int r = 0;

        if (!o->security_opt) {
                *ret = NULL;
                return 0;
        }
        if (!o->privileged)
                r = caps_resolve(caps_default(), o->cap_add, o->cap_drop, &caps, err);
        v = calloc(1, sizeof(char *));
        if (r >= 0 && !v)
                r = err_set(err, -ENOMEM, "storing --security-opt");
        for (char **s = o->security_opt; r >= 0 && *s; s++) {
                _cleanup_free_ char *stored = NULL;

                r = secprof_create_opt(*s, caps, &stored, err);
                if (r >= 0 && util_strv_push(&v, stored) < 0)
                        r = err_set(err, -ENOMEM, "storing --security-opt");
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int create_build_doc(const struct run_opts *o, const char *image_ref, const char *image_id,
                     const struct jv *image_cfg, char **cmd, const char *id, struct jv **ret,
                     struct err *err)
{
        _cleanup_jv_ struct jv *doc = jv_new_object();
        _cleanup_strv_ char **security_opt = NULL;
        _cleanup_jv_ struct jv *devices = NULL;
        struct jv *cfg, *env = NULL, *all, *args;
        char ts[40], buf[80];
        int r;

        r = check_opts(o, err);
        if (r >= 0)
                r = security_opts(o, &security_opt, err);
        if (r >= 0)
                r = devices_doc(o, &devices, err);
        if (r < 0)
                return r;
        cfg = build_config(o, image_ref, image_cfg, id);
        jv_set(doc, "Config", cfg);
        r = build_command(o, image_cfg, cmd, cfg, err);
        if (r >= 0)
                r = build_env(o, image_cfg, &env, err);
        if (r < 0)
                return r;
        jv_set(cfg, "Env", env);
        all = jv_new_array();
        for (size_t i = 0; i < jv_len(jv_get(cfg, "Entrypoint")); i++)
                jv_append(all, jv_copy(jv_at(jv_get(cfg, "Entrypoint"), i)));
        for (size_t i = 0; i < jv_len(jv_get(cfg, "Cmd")); i++)
                jv_append(all, jv_copy(jv_at(jv_get(cfg, "Cmd"), i)));
        jv_set_str(doc, "Id", id);
        util_format_time(util_now_ns(), ts);
        jv_set_str(doc, "Created", ts);
        jv_set_str(doc, "Path", jv_str(jv_at(all, 0)));
        args = jv_new_array();
        for (size_t i = 1; i < jv_len(all); i++)
                jv_append(args, jv_copy(jv_at(all, i)));
        jv_put(all);
        jv_set(doc, "Args", args);
        jv_set(doc, "State", build_state());
        snprintf(buf, sizeof(buf), "sha256:%s", image_id);
        jv_set_str(doc, "Image", buf);
        jv_set(doc, "HostConfig", build_host_config(o, security_opt));
        jv_set(jv_get(doc, "HostConfig"), "Devices", TAKE_PTR(devices));
        jv_set(doc, "Hawser", jv_new_object());
        *ret = TAKE_PTR(doc);
        return 0;
}

/* ---- creating ---- */

static void set_paths(struct jv *doc, const char *dir, const char *id, const char *lower)
{
        struct jv *gd = jv_new_object(), *data = jv_new_object();
        _cleanup_free_ char *rc = util_printf("%s/resolv.conf", dir);
        _cleanup_free_ char *hn = util_printf("%s/hostname", dir);
        _cleanup_free_ char *hs = util_printf("%s/hosts", dir);
        _cleanup_free_ char *lp = util_printf("%s/%s-json.log", dir, id);
        _cleanup_free_ char *up = util_printf("%s/upper", dir);
        _cleanup_free_ char *wk = util_printf("%s/work", dir);
        _cleanup_free_ char *mg = util_printf("%s/merged", dir);

        /* --network container:X has X's already (create_network_doc). */
        if (!jv_get_str(doc, "HostsPath")) {
                jv_set_str(doc, "ResolvConfPath", rc);
                jv_set_str(doc, "HostnamePath", hn);
                jv_set_str(doc, "HostsPath", hs);
        }
        jv_set_str(doc, "LogPath", lp);
        jv_set_int(doc, "RestartCount", 0);
        jv_set_str(doc, "Driver", "overlay2");
        jv_set_str(doc, "Platform", "linux");
        jv_set_str(data, "LowerDir", lower);
        jv_set_str(data, "UpperDir", up);
        jv_set_str(data, "WorkDir", wk);
        jv_set_str(data, "MergedDir", mg);
        jv_set(gd, "Data", data);
        jv_set_str(gd, "Name", "overlay2");
        jv_set(doc, "GraphDriver", gd);
}

static int write_file(const char *dir, const char *name, const char *text, struct err *err)
{
        _cleanup_free_ char *p = util_printf("%s/%s", dir, name);

        if (!p)
                return err_set(err, -ENOMEM, "writing %s", name);
        return fs_write_atomic(p, text, strlen(text), 0644, err);
}

/* On a bridge network without --dns, the network's embedded DNS server (on its gateway)
 * is the nameserver, with hawser's search domain and ndots:0 (as Docker's 127.0.0.11). */
static int embedded_dns(const struct cli *cli, const struct jv *hc, char ***dns, char ***search,
                        char ***opts, struct err *err)
{
        const char *mode = jv_get_str(hc, "NetworkMode"), *net;
        _cleanup_strv_ char **s = NULL, **o = NULL;
        struct network n = {0};
        char gw[INET_ADDRSTRLEN];

        if (*dns && **dns)
                return 0;
        if (network_mode_parse(mode, &net) != NETWORK_MODE_BRIDGE ||
            network_load(cli, net, &n, err) < 0)
                return 0;
        /* A macvlan or ipvlan network has no server the container could reach: the host's
         * resolvers, as on Docker's default bridge. */
        if (n.driver != NETWORK_DRIVER_BRIDGE) {
                network_release(&n);
                return 0;
        }
        inet_ntop(AF_INET, &n.gateway, gw, sizeof(gw));
        network_release(&n);
        if (util_strv_push(&s, DNSD_DOMAIN) < 0 || util_strv_push(&o, "ndots:0") < 0)
                return err_set(err, -ENOMEM, "rendering /etc/resolv.conf");
        for (char **p = *search; p && *p; p++)
                util_strv_push(&s, *p);
        for (char **p = *opts; p && *p; p++)
                util_strv_push(&o, *p);
        util_strv_free(*dns), util_strv_free(*search), util_strv_free(*opts);
        *dns = NULL;
        util_strv_push(dns, gw);
        *search = TAKE_PTR(s);
        *opts = TAKE_PTR(o);
        return 0;
}

static int render_resolv(const struct cli *cli, const struct jv *doc, const char *host_rc,
                         bool own_netns, char **ret, struct err *err)
{
        const struct jv *hc = jv_get(doc, "HostConfig");
        _cleanup_strv_ char **dns = jv_to_strv(jv_get(hc, "Dns"));
        _cleanup_strv_ char **search = jv_to_strv(jv_get(hc, "DnsSearch"));
        _cleanup_strv_ char **opts = jv_to_strv(jv_get(hc, "DnsOptions"));
        int r = embedded_dns(cli, hc, &dns, &search, &opts, err);

        if (r < 0)
                return r;
        return dns_resolv_render(host_rc, own_netns, dns, search, opts, ret, err);
}

/* /etc/hosts, /etc/hostname and /etc/resolv.conf live in the state dir and are bound in. */
static int render_files(const struct cli *cli, const struct container *c, struct err *err)
{
        const struct jv *cfg = jv_get(c->doc, "Config");
        const char *host = jv_get_str(cfg, "Hostname");
        bool host_net = network_mode_of(c->doc, NULL) == NETWORK_MODE_HOST;
        _cleanup_free_ char *hostname = NULL, *resolv = NULL, *host_rc = NULL;
        struct err ignore = {0};
        int r;

        if (network_mode_of(c->doc, NULL) == NETWORK_MODE_CONTAINER)
                return 0; /* X's files are used */
        fs_read_file("/etc/resolv.conf", &host_rc, NULL, &ignore);
        r = network_hosts_create(cli, c, err);
        if (r >= 0)
                r = dns_hostname_render(host, &hostname, err);
        if (r >= 0)
                r = render_resolv(cli, c->doc, host_rc, !host_net, &resolv, err);
        if (r >= 0)
                r = write_file(c->dir, "hostname", hostname, err);
        if (r >= 0)
                r = write_file(c->dir, "resolv.conf", resolv, err);
        return r;
}

static int make_dirs(const char *dir, struct err *err)
{
        static const char *const sub[] = {"upper", "work", "merged"};

        for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
                _cleanup_free_ char *p = util_printf("%s/%s", dir, sub[i]);
                int r = p ? fs_mkdir_p(p, 0755, err) : err_set(err, -ENOMEM, "creating %s", dir);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int reserve(struct cli *cli, const struct run_opts *o, struct jv *doc, const char *id,
                   struct err *err)
{
        char name[160];
        int r;

        for (int i = 0;; i++) {
                if (o->name)
                        snprintf(name, sizeof(name), "%s",
                                 o->name[0] == '/' ? o->name + 1 : o->name);
                else
                        container_random_name(name, sizeof(name));
                if (!o->name && i > 0)
                        snprintf(name + strlen(name), sizeof(name) - strlen(name), "%d", i);
                r = container_reserve_name(cli, name, id, err);
                if (r != -EEXIST || o->name || i > 16)
                        break;
        }
        if (r >= 0) {
                char full[170];
                snprintf(full, sizeof(full), "/%s", name);
                jv_set_str(doc, "Name", full);
        }
        return r;
}

/* The image to create from, pulled first as --pull says (missing: when not stored; always;
 * never), the pull's lines on stderr as Docker's run prints them (none with -q). */
static int find_image(struct cli *cli, const struct run_opts *o, const char *ref, char id[65],
                      struct err *err)
{
        _cleanup_(image_ref_free) struct image_ref pr = {0};
        struct registry_pull_opts po = {.out = stderr, .quiet = o->quiet};
        const char *policy = o->pull ? o->pull : "missing";
        int r;

        if (strcmp(policy, "missing") && strcmp(policy, "always") && strcmp(policy, "never"))
                return err_set(err, -EINVAL,
                               "invalid pull option: '%s': must be one of \"always\", "
                               "\"missing\" or \"never\"",
                               policy);
        if (!strcmp(policy, "always"))
                return registry_pull(cli, ref, &po, id, err);
        r = image_resolve(cli, ref, id, err);
        if (r != -ENOENT || !strcmp(policy, "never") || imgconfig_parse_ref(ref, &pr, err) < 0)
                return r;
        /* A name (not an id) that is not stored: pulled, as Docker does. */
        if (!o->quiet) {
                fprintf(stderr, "Unable to find image '%s%s%s' locally\n", pr.name,
                        pr.digest ? "@" : ":",
                        pr.digest ? pr.digest
                        : pr.tag  ? pr.tag
                                  : "latest");
                fflush(stderr);
        }
        return registry_pull(cli, ref, &po, id, err);
}

int create_container(struct cli *cli, const struct run_opts *o, const char *image_ref, char **cmd,
                     struct container **ret, struct err *err)
{
        _cleanup_jv_ struct jv *icfg = NULL, *doc = NULL;
        _cleanup_free_ char *lower = NULL;
        char image_id[65], id[65];
        struct container *c;
        _cleanup_close_ int guard = -1;
        int r;

        if (o->name && container_check_name(o->name, err) < 0)
                return -err->code;
        if (o->cidfile && access(o->cidfile, F_OK) == 0)
                return err_client(err, -EEXIST,
                                  "Container ID file found, make sure the other container isn't "
                                  "running or delete %s",
                                  o->cidfile);
        if (find_image(cli, o, image_ref, image_id, err) < 0)
                return -err->code;
        r = image_load_config(cli, image_id, &icfg, err);
        if (r >= 0)
                r = image_lowerdir(cli, image_id, &lower, err);
        if (r >= 0)
                r = util_random_hex(id, err);
        if (r >= 0)
                r = create_build_doc(o, image_ref, image_id, jv_get(icfg, "config"), cmd, id, &doc,
                                     err);
        if (r >= 0)
                r = create_network_doc(cli, o, doc, err);
        if (r >= 0)
                r = create_namespaces_doc(cli, o, doc, err);
        if (r >= 0)
                r = create_resources_doc(o, jv_get(doc, "HostConfig"), err);
        if (r >= 0)
                r = create_health_doc(o, jv_get(icfg, "config"), jv_get(doc, "Config"), err);
        if (r >= 0)
                r = guard = volume_guard(cli, false, err);
        if (r >= 0) {
                r = create_mounts_doc(cli, o, doc, err);
                if (r < 0)
                        volume_release_anonymous(cli, doc);
        }
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->dir = cli_root_path(cli, "containers/%s", id))) {
                free(c);
                return err_set(err, -ENOMEM, "creating container");
        }
        memcpy(c->id, id, sizeof(id));
        set_paths(doc, c->dir, id, lower);
        c->doc = TAKE_PTR(doc);
        container_set_cgroup(c);
        jv_set_str(c->doc, "Name", "/");
        r = make_dirs(c->dir, err);
        if (r >= 0)
                r = create_copy_up(cli, c->dir, c->doc, err);
        if (r >= 0)
                r = render_files(cli, c, err);
        if (r >= 0)
                r = container_save(c, err);
        if (r >= 0)
                r = reserve(cli, o, c->doc, id, err);
        if (r >= 0)
                r = create_links_doc(cli, o, c->doc, err);
        if (r >= 0)
                r = container_save(c, err);
        /* --cidfile: created exclusively (Docker's check above, and no race with another). */
        if (r >= 0 && o->cidfile) {
                _cleanup_close_ int fd =
                        open(o->cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0 || fs_write_all(fd, id, 64) < 0)
                        r = err_errno(err, "Failed to create the container ID file");
        }
        if (r < 0) {
                struct err ignore = {0};
                container_release_name(cli, container_name(c), id);
                fs_rm_rf(c->dir, &ignore);
                volume_release_anonymous(cli, c->doc);
                container_free(c);
                return r;
        }
        events_container(cli, c, "create", NULL);
        *ret = c;
        return 0;
}

void run_opts_free(struct run_opts *o)
{
        opt_free_lists(run_defs, o);
}

/* ---- commands ---- */

static int parse_run(struct cli *cli, const char *cmd, int argc, char **argv, struct run_opts *o,
                     struct err *err)
{
        int n = opt_parse(run_defs, argc - 1, argv + 1, true, o, err);

        if (n < 0)
                return cli_usage_error(cli, cmd, err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, cmd, err, "\"hawser %s\" requires at least 1 argument.",
                                       cmd);
        if (o->tty && o->interactive && !o->detach && !isatty(STDIN_FILENO))
                return err_set(err, -EINVAL, "the input device is not a TTY");
        return n;
}

int cmd_create(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct run_opts o = {0};
        struct container *c = NULL;
        int r;

        r = parse_run(cli, "create", argc, argv, &o, err);
        /* run's attach flags are not create's (Docker's create refuses them). */
        if (r >= 0 && (o.detach || o.detach_keys)) {
                opt_free_lists(run_defs, &o);
                return cli_usage_error(cli, "create", err, "unknown %s: %s",
                                       o.detach_keys ? "flag" : "shorthand flag",
                                       o.detach_keys ? "--detach-keys" : "'d' in -d");
        }
        if (r >= 0)
                r = create_container(cli, &o, argv[1], argv + 2, &c, err);
        opt_free_lists(run_defs, &o);
        if (r < 0)
                return r;
        printf("%s\n", c->id);
        container_free(c);
        return 0;
}

/* Starts c; with attach, relays its stdio until it exits and returns its exit code. */
static int start_one(struct cli *cli, struct container *c, bool attach, bool with_stdin,
                     const char *detach_keys, struct err *err)
{
        struct attach_opts ao = {0};
        const struct jv *cfg;
        int sv[2] = {-1, -1}, code, r;

        if (attach && attach_detach_keys(detach_keys, ao.keys, &ao.n_keys, err) < 0)
                return -err->code;
        if (attach && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return err_errno(err, "creating the attach socket");
        if (attach)
                events_container(cli, c, "attach", NULL);
        r = monitor_start(cli, c, sv[1], &code, err);
        if (r < 0) {
                if (sv[0] >= 0)
                        close(sv[0]);
                cli_fail_status(cli, code);
                return r;
        }
        if (!attach)
                return 0;
        /* monitor_start reloaded the document: look the config up again. */
        cfg = jv_get(c->doc, "Config");
        ao.tty = jv_get_bool(cfg, "Tty");
        ao.send_stdin = with_stdin && jv_get_bool(cfg, "OpenStdin");
        ao.detachable = ao.tty && ao.send_stdin;
        ao.proxy_pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        r = attach_relay(sv[0], &ao, err);
        close(sv[0]);
        return r;
}

int create_start(struct cli *cli, struct container *c, bool attach, bool with_stdin,
                 struct err *err)
{
        return start_one(cli, c, attach, with_stdin, NULL, err);
}

int cmd_run(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct run_opts o = {0};
        struct container *c = NULL;
        int r;

        r = parse_run(cli, "run", argc, argv, &o, err);
        /* Checked before anything is made. */
        if (r >= 0 && o.detach_keys) {
                struct attach_opts ao;
                r = attach_detach_keys(o.detach_keys, ao.keys, &ao.n_keys, err);
        }
        if (r >= 0)
                r = create_container(cli, &o, argv[1], argv + 2, &c, err);
        if (r >= 0) {
                r = start_one(cli, c, !o.detach, o.interactive, o.detach_keys, err);
                /* Detaching (ctrl-p ctrl-q) from `run -it` is a success, silently. */
                if (r == -ECONNABORTED)
                        r = 0;
                if (r >= 0 && o.detach)
                        printf("%s\n", c->id);
        }
        opt_free_lists(run_defs, &o);
        container_free(c);
        return r;
}

struct start_opts {
        bool attach, interactive, restart_policy_all;
        char *detach_keys;
};

static const struct opt_def start_defs[] = {
        {"attach", 'a', OPT_BOOL, offsetof(struct start_opts, attach)},
        {"interactive", 'i', OPT_BOOL, offsetof(struct start_opts, interactive)},
        {"detach-keys", 0, OPT_STR, offsetof(struct start_opts, detach_keys)},
        {"restart-policy-all", 0, OPT_BOOL, offsetof(struct start_opts, restart_policy_all)},
        OPT_END,
};

/* start --restart-policy-all: after a boot (hawser-restart.service), every stopped container
 * whose restart policy asks for it, by Docker's rules when its daemon starts
 * (container_restart_due); each started one's name printed. */
static int start_by_policy(struct cli *cli, struct err *err)
{
        struct container **all = NULL;
        int r = teardown_list(cli, &all, err), failed = 0;

        for (size_t i = 0; r >= 0 && all[i]; i++) {
                struct container *c = all[i];
                struct err e = {0};
                int code = (int)jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0);
                if (container_is_running(c) || container_is_restarting(c) ||
                    !container_restart_due(c, code, true))
                        continue;
                if (start_one(cli, c, false, false, NULL, &e) < 0) {
                        fprintf(stderr, "Error: starting %s: %s\n", container_name(c), e.msg);
                        failed++;
                        continue;
                }
                printf("%s\n", container_name(c));
        }
        container_list_free(all);
        if (r >= 0 && failed) {
                cli_fail_status(cli, 1);
                cli_fail_client(cli);
                r = err_set(err, -EIO, "%d container(s) failed to start", failed);
        }
        return r;
}

int cmd_start(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct start_opts o = {0};
        int n = opt_parse(start_defs, argc - 1, argv + 1, false, &o, err), r = 0;

        if (n < 0)
                return cli_usage_error(cli, "start", err, "%s", err->msg);
        if (o.restart_policy_all && (n > 0 || o.attach || o.interactive))
                return cli_usage_error(cli, "start", err,
                                       "--restart-policy-all takes no container and no "
                                       "--attach/--interactive");
        if (o.restart_policy_all)
                return start_by_policy(cli, err);
        if (n < 1)
                return cli_usage_error(cli, "start", err,
                                       "\"hawser start\" requires at least 1 argument.");
        if ((o.attach || o.interactive) && n > 1)
                return err_set(err, -EINVAL,
                               "you cannot start and attach multiple containers "
                               "at once");
        char failed[ERR_MSG_MAX] = "";

        for (int i = 1; i <= n; i++) {
                struct container *c = NULL;
                struct err e = {0};
                int rr = teardown_find(cli, argv[i], &c, &e);
                if (rr >= 0 && !container_is_running(c))
                        rr = start_one(cli, c, o.attach || o.interactive, o.interactive,
                                       o.detach_keys, &e);
                else if (rr >= 0 && (o.attach || o.interactive))
                        rr = err_set(&e, -EBUSY, "container %s is already running", argv[i]);
                container_free(c);
                if (rr < 0) {
                        r = rr;
                        cli_print_daemon_error(e.msg);
                        snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), "%s%s",
                                 *failed ? ", " : "", argv[i]);
                        continue;
                }
                if (o.attach || o.interactive)
                        return rr;
                printf("%s\n", argv[i]);
        }
        /* Docker's start exits 1 whatever went wrong (run's 125/126/127 are run's). */
        if (r < 0) {
                cli_fail_status(cli, 1);
                cli_fail_client(cli);
                return err_set(err, r, "failed to start containers: %s", failed);
        }
        return r;
}

int cmd_attach(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool no_stdin, sig_proxy;
                char *detach_keys;
        } o = {.sig_proxy = true};
        static const struct opt_def defs[] = {
                {"no-stdin", 0, OPT_BOOL, offsetof(__typeof__(o), no_stdin)},
                {"sig-proxy", 0, OPT_BOOL, offsetof(__typeof__(o), sig_proxy)},
                {"detach-keys", 0, OPT_STR, offsetof(__typeof__(o), detach_keys)},
                OPT_END,
        };
        struct container *c = NULL;
        struct attach_opts ao = {0};
        _cleanup_free_ char *sock = NULL;
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), fd, r;

        if (n < 0)
                return cli_usage_error(cli, "attach", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "attach", err,
                                       "\"hawser attach\" requires exactly 1 argument.");
        r = teardown_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        if (!container_is_running(c)) {
                container_free(c);
                return err_set(err, -EINVAL,
                               "You cannot attach to a stopped container, start "
                               "it first");
        }
        if (!strcmp(container_status(c), "paused")) {
                container_free(c);
                return err_set(err, -EINVAL,
                               "You cannot attach to a paused container, unpause "
                               "it first");
        }
        ao.tty = jv_get_bool(jv_get(c->doc, "Config"), "Tty");
        ao.send_stdin = !o.no_stdin && jv_get_bool(jv_get(c->doc, "Config"), "OpenStdin");
        ao.detachable = ao.send_stdin;
        if (attach_detach_keys(o.detach_keys, ao.keys, &ao.n_keys, err) < 0) {
                container_free(c);
                return -err->code;
        }
        ao.proxy_pid = o.sig_proxy ? (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0) : 0;
        sock = monitor_socket_path(cli, c->id);
        fd = sock ? attach_connect(sock, err) : err_set(err, -ENOMEM, "attaching");
        if (fd >= 0)
                events_container(cli, c, "attach", NULL);
        container_free(c);
        if (fd < 0)
                return fd;
        r = attach_relay(fd, &ao, err);
        close(fd);
        /* Docker's attach words a detach as a bare message and exit 1. */
        if (r == -ECONNABORTED) {
                fprintf(stderr, "%s\n", err->msg);
                cli_fail_printed(cli, 1);
        }
        return r;
}
