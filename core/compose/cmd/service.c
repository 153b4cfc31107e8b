/* A service of the model as the options `hawser create` takes: every key compose's model
 * has for a service is either turned into them here, used by up (build, depends_on,
 * replicas, pull_policy), or refused naming the key and the service. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/cleanup.h"
#include "../../base/sha256.h"
#include "../../base/util.h"
#include "internal.h"

/* Keys up reads itself or that need nothing at create. */
static const char *const elsewhere[] = {
        "build",    "depends_on", "scale",   "profiles", "pull_policy",    "image",
        "env_file", "platform",   "develop", "extends",  "container_name",
};

/* The model's keys this file turns into run options. */
static const char *const handled[] = {
        "cap_add",
        "cap_drop",
        "cgroup",
        "cgroup_parent",
        "command",
        "configs",
        "cpu_period",
        "cpu_quota",
        "cpu_shares",
        "cpus",
        "cpuset",
        "deploy",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "entrypoint",
        "environment",
        "expose",
        "external_links",
        "extra_hosts",
        "group_add",
        "healthcheck",
        "hostname",
        "init",
        "ipc",
        "labels",
        "links",
        "logging",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "memswap_limit",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "ports",
        "privileged",
        "read_only",
        "restart",
        "runtime",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "user",
        "userns_mode",
        "uts",
        "volumes",
        "volumes_from",
        "working_dir",
};

static bool in(const char *const *v, size_t n, const char *k)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(v[i], k))
                        return true;
        return false;
}

/* ---- the struct's strings ---- */

static char *keep(struct service_run *s, char *str)
{
        if (str)
                util_strv_push(&s->pool, str);
        free(str);
        return s->pool ? s->pool[util_strv_len(s->pool) - 1] : NULL;
}

/* A scalar of the model as text: strings as they are, numbers and booleans as YAML has them. */
static char *scalar(const struct jv *v)
{
        switch (jv_type(v)) {
        case JV_STRING:
                return strdup(jv_str(v));
        case JV_INT:
                return util_printf("%lld", jv_int(v));
        case JV_BOOL:
                return strdup(jv_bool(v) ? "true" : "false");
        case JV_NULL:
                return NULL;
        case JV_DOUBLE:
        case JV_OBJECT:
        case JV_ARRAY:
                break;
        }
        return strdup(jv_to_string(v, false));
}

static void set(struct service_run *s, char **field, const struct jv *v)
{
        if (v && jv_type(v) != JV_NULL)
                *field = keep(s, scalar(v));
}

static void push(char ***list, char *str)
{
        if (str)
                util_strv_push(list, str);
        free(str);
}

static void push_all(char ***list, const struct jv *arr)
{
        for (size_t i = 0; i < jv_len(arr); i++)
                push(list, scalar(jv_at(arr, i)));
}

/* An object K -> V as "K<sep>V" entries (V null: "K" alone when keep_null). */
static void push_map(char ***list, const struct jv *obj, const char *sep, bool keep_null)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(obj);

        for (char **k = keys; k && *k; k++) {
                const struct jv *v = jv_get(obj, *k);
                _cleanup_free_ char *val = scalar(v);
                if (!val && !keep_null)
                        continue;
                push(list, val ? util_printf("%s%s%s", *k, sep, val) : strdup(*k));
        }
}

static int bad(const char *service, const char *key, const char *why, struct err *err)
{
        return err_set(err, -EINVAL, "service \"%s\": %s: %s", service, key, why);
}

/* ---- the parts ---- */

static int ports(struct service_run *s, const char *service, const struct jv *list, struct err *err)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                const struct jv *p = jv_at(list, i);
                _cleanup_free_ char *target = scalar(jv_get(p, "target")),
                                    *published = scalar(jv_get(p, "published"));
                const char *ip = jv_get_str(p, "host_ip"), *proto = jv_get_str(p, "protocol");
                _cleanup_free_ char *host = NULL;
                if (!target)
                        return bad(service, "ports", "a port needs a target", err);
                if (ip && *ip)
                        host = util_printf(strchr(ip, ':') ? "[%s]:%s:" : "%s:%s:", ip,
                                           published ?: "");
                else if (published && *published)
                        host = util_printf("%s:", published);
                push(&s->o.publish, util_printf("%s%s/%s", host ?: "", target, proto ?: "tcp"));
        }
        return 0;
}

static const char *volume_name(const struct project *p, const char *key)
{
        return jv_get_str(jv_get(jv_get(p->model, "volumes"), key), "name");
}

static int volumes(const struct project *p, struct service_run *s, const char *service,
                   const struct jv *list, struct err *err)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                const struct jv *v = jv_at(list, i);
                const char *type = jv_get_str(v, "type") ?: "volume",
                           *src = jv_get_str(v, "source"), *dst = jv_get_str(v, "target");
                bool ro = jv_get_bool(v, "read_only");
                if (!dst)
                        return bad(service, "volumes", "a volume needs a target", err);
                if (!strcmp(type, "bind")) {
                        const struct jv *b = jv_get(v, "bind");
                        const char *prop = jv_get_str(b, "propagation"),
                                   *se = jv_get_str(b, "selinux");
                        if (!src)
                                return bad(service, "volumes", "a bind mount needs a source", err);
                        if (jv_get(b, "create_host_path") && !jv_get_bool(b, "create_host_path"))
                                push(&s->o.mounts,
                                     util_printf("type=bind,source=%s,target=%s%s%s%s", src, dst,
                                                 ro ? ",readonly" : "",
                                                 prop ? ",bind-propagation=" : "", prop ?: ""));
                        else
                                push(&s->o.volumes,
                                     util_printf("%s:%s:%s%s%s%s%s", src, dst, ro ? "ro" : "rw",
                                                 prop ? "," : "", prop ?: "", se ? "," : "",
                                                 se ?: ""));
                } else if (!strcmp(type, "volume")) {
                        const char *name = src ? volume_name(p, src) : NULL;
                        if (jv_get(jv_get(v, "volume"), "subpath"))
                                return bad(service, "volumes",
                                           "volume.subpath is not supported by hawser", err);
                        if (src && !name)
                                return err_set(err, -EINVAL,
                                               "service \"%s\" refers to undefined volume %s: "
                                               "invalid compose project",
                                               service, src);
                        push(&s->o.mounts,
                             util_printf("type=volume%s%s,target=%s%s%s", name ? ",source=" : "",
                                         name ?: "", dst, ro ? ",readonly" : "",
                                         jv_get_bool(jv_get(v, "volume"), "nocopy")
                                                 ? ",volume-nocopy"
                                                 : ""));
                } else if (!strcmp(type, "tmpfs")) {
                        const struct jv *t = jv_get(v, "tmpfs");
                        _cleanup_free_ char *size = scalar(jv_get(t, "size")), *mode = NULL;
                        if (jv_get(t, "mode"))
                                mode = util_printf("%llo", jv_get_int(t, "mode", 0));
                        push(&s->o.mounts, util_printf("type=tmpfs,target=%s%s%s%s%s", dst,
                                                       size ? ",tmpfs-size=" : "", size ?: "",
                                                       mode ? ",tmpfs-mode=" : "", mode ?: ""));
                } else {
                        return bad(service, "volumes", "hawser mounts bind, volume and tmpfs only",
                                   err);
                }
        }
        return 0;
}

/* secrets land in /run/secrets/, configs at /<name>: read-only bind mounts of their file. */
static int files(const struct project *p, struct service_run *s, const char *service,
                 const char *kind, const struct jv *list, struct err *err)
{
        bool secret = !strcmp(kind, "secrets");

        for (size_t i = 0; i < jv_len(list); i++) {
                const struct jv *ref = jv_at(list, i);
                const char *src = jv_get_str(ref, "source"), *target = jv_get_str(ref, "target");
                const struct jv *top = jv_get(jv_get(p->model, kind), src ?: "");
                const char *file = jv_get_str(top, "file");
                _cleanup_free_ char *dst = NULL;
                if (!top)
                        return err_set(err, -EINVAL,
                                       "service \"%s\" refers to undefined %s %s: invalid "
                                       "compose project",
                                       service, secret ? "secret" : "config", src ?: "");
                if (!file)
                        return bad(service, kind,
                                   "hawser provides file-based secrets and configs only", err);
                if (target && target[0] == '/')
                        dst = strdup(target);
                else
                        dst = util_printf(secret ? "/run/secrets/%s" : "/%s", target ?: src);
                push(&s->o.mounts,
                     util_printf("type=bind,source=%s,target=%s,readonly", file, dst));
        }
        return 0;
}

/* The real network name of a model network key. */
static const char *network_name(const struct project *p, const char *key)
{
        return jv_get_str(jv_get(jv_get(p->model, "networks"), key), "name");
}

static int net_cmp(const void *a, const void *b)
{
        const struct run_endpoint *x = a, *y = b;

        return strcmp(x->network, y->network);
}

static int networks(const struct project *p, struct service_run *s, const char *service,
                    const struct jv *svc, const char *cname, struct err *err)
{
        const struct jv *nets = jv_get(svc, "networks");
        const char *mode = jv_get_str(svc, "network_mode");
        _cleanup_strv_ char **keys = jv_keys(nets);
        size_t n = util_strv_len(keys), best = 0;
        long long best_prio = 0;

        if (mode) {
                if (!strncmp(mode, "service:", 8)) {
                        if (!project_service(p, mode + 8))
                                return err_set(err, -EINVAL,
                                               "service \"%s\" refers to undefined service %s: "
                                               "invalid compose project",
                                               service, mode + 8);
                        s->o.network = keep(
                                s, util_printf("container:%s",
                                               keep(s, project_container_name(p, mode + 8, 1))));
                } else {
                        s->o.network = keep(s, strdup(mode));
                }
                return 0;
        }
        if (!n)
                return 0;
        s->endpoints = calloc(n, sizeof(*s->endpoints));
        if (!s->endpoints)
                return err_set(err, -ENOMEM, "service %s: networks", service);
        for (size_t i = 0; i < n; i++) {
                const struct jv *e = jv_get(nets, keys[i]);
                const char *real = network_name(p, keys[i]);
                struct run_endpoint *ep = &s->endpoints[i];
                if (!real)
                        return err_set(err, -EINVAL,
                                       "service \"%s\" refers to undefined network %s: invalid "
                                       "compose project",
                                       service, keys[i]);
                ep->network = real;
                /* Compose v2's aliases: the service, the container, then the declared ones. */
                push(&ep->aliases, strdup(service));
                push(&ep->aliases, strdup(cname));
                push_all(&ep->aliases, jv_get(e, "aliases"));
                {
                        _cleanup_strv_ char **ks = jv_keys(e);
                        for (char **k = ks; k && *k; k++)
                                if (strcmp(*k, "aliases") && strcmp(*k, "ipv4_address") &&
                                    strcmp(*k, "ipv6_address") && strcmp(*k, "priority") &&
                                    strcmp(*k, "mac_address"))
                                        return err_set(err, -ENOTSUP,
                                                       "service \"%s\": networks.%s.%s is not "
                                                       "supported by hawser",
                                                       service, keys[i], *k);
                }
                ep->ip = jv_get_str(e, "ipv4_address");
                ep->ip6 = jv_get_str(e, "ipv6_address");
                if (i == 0 || jv_get_int(e, "priority", 0) > best_prio) {
                        best = i;
                        best_prio = jv_get_int(e, "priority", 0);
                }
        }
        /* A MAC address is the container's, on its --network only (as run's). */
        for (size_t i = 0; i < n; i++) {
                const char *mac = jv_get_str(jv_get(nets, keys[i]), "mac_address");
                if (mac && i != best)
                        return bad(service, "networks",
                                   "hawser sets a MAC address on the first network only", err);
                if (mac)
                        s->o.mac_address = (char *)mac;
        }
        /* The highest priority is the container's --network; the others join besides. */
        {
                struct run_endpoint first = s->endpoints[best];
                memmove(&s->endpoints[1], &s->endpoints[0], best * sizeof(*s->endpoints));
                s->endpoints[0] = first;
                qsort(&s->endpoints[1], n - 1, sizeof(*s->endpoints), net_cmp);
        }
        s->o.network = (char *)s->endpoints[0].network;
        s->o.aliases = s->endpoints[0].aliases;
        s->endpoints[0].aliases = NULL;
        s->o.ip = (char *)s->endpoints[0].ip;
        s->o.ip6 = (char *)s->endpoints[0].ip6;
        s->o.more_networks = &s->endpoints[1];
        s->o.n_more_networks = n - 1;
        return 0;
}

static void healthcheck(struct service_run *s, const struct jv *h)
{
        const struct jv *test = jv_get(h, "test");

        if (!h)
                return;
        if (jv_get_bool(h, "disable") ||
            (jv_len(test) && !strcmp(jv_str(jv_at(test, 0)) ?: "", "NONE"))) {
                s->o.no_healthcheck = true;
                return;
        }
        if (jv_type(test) == JV_STRING)
                s->o.health_cmd = (char *)jv_str(test);
        else if (jv_len(test))
                s->o.health_test = jv_to_strv(test);
        set(s, &s->o.health_interval, jv_get(h, "interval"));
        set(s, &s->o.health_timeout, jv_get(h, "timeout"));
        set(s, &s->o.health_retries, jv_get(h, "retries"));
        set(s, &s->o.health_start_period, jv_get(h, "start_period"));
        set(s, &s->o.health_start_interval, jv_get(h, "start_interval"));
}

static int deploy(struct service_run *s, const char *service, const struct jv *d, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(d);
        const struct jv *lim = jv_path(d, "resources.limits"),
                        *res = jv_path(d, "resources.reservations"),
                        *rp = jv_get(d, "restart_policy");

        for (char **k = keys; k && *k; k++)
                if (strcmp(*k, "replicas") && strcmp(*k, "resources") &&
                    strcmp(*k, "restart_policy") && strcmp(*k, "mode"))
                        return bad(service, "deploy",
                                   "hawser honours replicas, resources and "
                                   "restart_policy only",
                                   err);
        if (jv_get_str(d, "mode") && strcmp(jv_get_str(d, "mode"), "replicated"))
                return bad(service, "deploy.mode", "hawser runs replicated services only", err);
        set(s, &s->o.cpus, jv_get(lim, "cpus"));
        set(s, &s->o.memory, jv_get(lim, "memory"));
        set(s, &s->o.pids_limit, jv_get(lim, "pids"));
        set(s, &s->o.memory_reservation, jv_get(res, "memory"));
        if (jv_get(res, "cpus") || jv_get(res, "devices") || jv_get(res, "generic_resources"))
                return bad(service, "deploy.resources.reservations", "hawser reserves memory only",
                           err);
        if (rp) {
                const char *cond = jv_get_str(rp, "condition") ?: "any";
                long long max = jv_get_int(rp, "max_attempts", 0);
                if (!strcmp(cond, "none"))
                        s->o.restart = "no";
                else if (!strcmp(cond, "on-failure"))
                        s->o.restart =
                                max ? keep(s, util_printf("on-failure:%lld", max)) : "on-failure";
                else
                        s->o.restart = "always";
        }
        return 0;
}

/* "svc[:alias]" links to a service's first container; external ones as they are. */
static void links(const struct project *p, struct service_run *s, const struct jv *svc)
{
        const struct jv *l = jv_get(svc, "links");

        for (size_t i = 0; i < jv_len(l); i++) {
                const char *spec = jv_str(jv_at(l, i)) ?: "";
                const char *colon = strchr(spec, ':');
                _cleanup_free_ char *name = colon ? strndup(spec, (size_t)(colon - spec))
                                                  : strdup(spec),
                                    *cname = NULL;
                if (!name)
                        continue;
                cname = project_container_name(p, name, 1);
                push(&s->o.links, util_printf("%s:%s", cname, colon ? colon + 1 : name));
        }
        push_all(&s->o.links, jv_get(svc, "external_links"));
}

static void volumes_from(const struct project *p, struct service_run *s, const struct jv *svc)
{
        const struct jv *l = jv_get(svc, "volumes_from");

        for (size_t i = 0; i < jv_len(l); i++) {
                const char *spec = jv_str(jv_at(l, i)) ?: "";
                if (!strncmp(spec, "container:", 10)) {
                        push(&s->o.volumes_from, strdup(spec + 10));
                        continue;
                }
                const char *colon = strchr(spec, ':');
                _cleanup_free_ char *name =
                        colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
                _cleanup_free_ char *cname = name ? project_container_name(p, name, 1) : NULL;
                push(&s->o.volumes_from, util_printf("%s%s", cname ?: "", colon ?: ""));
        }
}

static void ulimits(struct service_run *s, const struct jv *u)
{
        _cleanup_strv_ char **keys = jv_keys(u);

        for (char **k = keys; k && *k; k++) {
                const struct jv *v = jv_get(u, *k);
                if (jv_type(v) == JV_OBJECT)
                        push(&s->o.ulimits,
                             util_printf("%s=%lld:%lld", *k, jv_get_int(v, "soft", 0),
                                         jv_get_int(v, "hard", 0)));
                else
                        push(&s->o.ulimits, util_printf("%s=%lld", *k, jv_int(v)));
        }
}

/* stop_grace_period (a Go duration) as --stop-timeout's whole seconds. */
static int grace(struct service_run *s, const char *service, const struct jv *v, struct err *err)
{
        int64_t ns;

        if (!v)
                return 0;
        if (util_parse_go_duration(jv_str(v) ?: "", &ns) < 0 || ns < 0)
                return bad(service, "stop_grace_period", "not a duration", err);
        s->o.stop_timeout = keep(s, util_printf("%" PRId64, (ns + 999999999) / 1000000000));
        return 0;
}

static void compose_labels(const struct project *p, struct service_run *s, const char *service,
                           const struct jv *svc, int number, bool oneoff)
{
        _cleanup_strv_ char **deps = jv_keys_ordered(jv_get(svc, "depends_on"));
        _cleanup_free_ char *dep_label = strdup("");

        for (char **d = deps; d && *d && dep_label; d++) {
                const struct jv *e = jv_get(jv_get(svc, "depends_on"), *d);
                char *n = util_printf("%s%s%s:%s:%s", dep_label, *dep_label ? "," : "", *d,
                                      jv_get_str(e, "condition") ?: "service_started",
                                      jv_get_bool(e, "restart") ? "true" : "false");
                free(dep_label);
                dep_label = n;
        }
        push(&s->o.labels, util_printf(LABEL_PROJECT "=%s", p->name));
        push(&s->o.labels, util_printf(LABEL_SERVICE "=%s", service));
        push(&s->o.labels, util_printf(LABEL_NUMBER "=%d", number));
        push(&s->o.labels, util_printf(LABEL_ONEOFF "=%s", oneoff ? "True" : "False"));
        push(&s->o.labels, util_printf(LABEL_HASH "=%s", s->hash));
        push(&s->o.labels, util_printf(LABEL_WORKDIR "=%s", p->workdir ?: ""));
        push(&s->o.labels, util_printf(LABEL_FILES "=%s", p->config_files ?: ""));
        push(&s->o.labels, util_printf(LABEL_VERSION "=%s", COMPOSE_VERSION));
        push(&s->o.labels, util_printf(LABEL_DEPENDS "=%s", dep_label ?: ""));
}

/* pid: and ipc: "service:X" as create's "container:NAME" of X's first container. */
static char *namespace_mode(const struct project *p, struct service_run *s, const char *mode)
{
        if (!mode)
                return NULL;
        if (strncmp(mode, "service:", 8))
                return (char *)mode;
        return keep(s,
                    util_printf("container:%s", keep(s, project_container_name(p, mode + 8, 1))));
}

/* The build keys up passes to the builder; any other is refused. */
static int check_build(const char *service, const struct jv *b, struct err *err)
{
        static const char *const known[] = {"context", "dockerfile", "args",    "target",
                                            "labels",  "tags",       "network", "no_cache",
                                            "pull",    "extra_hosts"};
        _cleanup_strv_ char **keys = jv_keys(b);

        for (char **k = keys; k && *k; k++)
                if (strncmp(*k, "x-", 2) && !in(known, ARRAY_SIZE(known), *k))
                        return err_set(err, -ENOTSUP,
                                       "service \"%s\": build.%s is not supported by hawser",
                                       service, *k);
        return 0;
}

int service_replicas(const struct jv *svc)
{
        const struct jv *r = jv_path(svc, "deploy.replicas");

        if (jv_get(svc, "scale"))
                return (int)jv_get_int(svc, "scale", 1);
        return r ? (int)jv_int(r) : 1;
}

char *service_image(const struct project *p, const char *service)
{
        const char *img = jv_get_str(project_service(p, service), "image");

        return img ? strdup(img) : util_printf("%s-%s", p->name, service);
}

char *service_hash(const struct jv *svc)
{
        _cleanup_jv_ struct jv *c = jv_copy(svc);
        char hex[SHA256_HEX_LEN];
        const char *text;

        jv_del(c, "scale");
        jv_del(jv_get(c, "deploy"), "replicas");
        text = jv_to_string(c, false);
        if (sha256_hex(text, strlen(text), hex) < 0)
                return NULL;
        return strdup(hex);
}

int service_run_build(const struct project *p, const char *service, int number, bool oneoff,
                      struct service_run *ret, struct err *err)
{
        const struct jv *svc = project_service(p, service);
        _cleanup_strv_ char **keys = jv_keys(svc);
        struct service_run *s = ret;
        _cleanup_free_ char *cname = NULL;
        int r = 0;

        *s = (struct service_run){0};
        if (!svc)
                return err_set(err, -ENOENT, "no such service: %s", service);
        for (char **k = keys; k && *k; k++)
                if (strncmp(*k, "x-", 2) && !in(elsewhere, ARRAY_SIZE(elsewhere), *k) &&
                    !in(handled, ARRAY_SIZE(handled), *k))
                        return err_set(err, -ENOTSUP,
                                       "service \"%s\": %s is not supported by hawser", service,
                                       *k);
        if (jv_type(jv_get(svc, "build")) == JV_OBJECT &&
            check_build(service, jv_get(svc, "build"), err) < 0)
                return -err->code;
        s->hash = service_hash(svc);
        s->image = service_image(p, service);
        if (!s->hash || !s->image)
                return err_set(err, -ENOMEM, "service %s", service);
        if (oneoff) {
                char hex[65];
                if (util_random_hex(hex, err) < 0)
                        return -err->code;
                cname = util_printf("%s-%s-run-%.12s", p->name, service, hex);
        } else {
                cname = project_container_name(p, service, number);
        }
        if (!cname)
                return err_set(err, -ENOMEM, "service %s", service);
        if (!oneoff || !jv_get_str(svc, "container_name"))
                s->o.name = keep(s, strdup(cname));
        if (jv_get(svc, "command"))
                s->cmd = jv_to_strv(jv_get(svc, "command"));
        if (jv_get(svc, "entrypoint")) {
                s->o.entrypoint_set = true;
                s->o.entrypoint_argv = jv_to_strv(jv_get(svc, "entrypoint"));
        }
        push_map(&s->o.env, jv_get(svc, "environment"), "=", false);
        push_map(&s->o.labels, jv_get(svc, "labels"), "=", false);
        compose_labels(p, s, service, svc, number, oneoff);
        push_map(&s->o.sysctls, jv_get(svc, "sysctls"), "=", false);
        push_all(&s->o.expose, jv_get(svc, "expose"));
        push_all(&s->o.tmpfs, jv_get(svc, "tmpfs"));
        push_all(&s->o.dns, jv_get(svc, "dns"));
        push_all(&s->o.dns_search, jv_get(svc, "dns_search"));
        push_all(&s->o.dns_options, jv_get(svc, "dns_opt"));
        push_all(&s->o.cap_add, jv_get(svc, "cap_add"));
        push_all(&s->o.cap_drop, jv_get(svc, "cap_drop"));
        push_all(&s->o.security_opt, jv_get(svc, "security_opt"));
        push_all(&s->o.group_add, jv_get(svc, "group_add"));
        push_all(&s->o.devices, jv_get(svc, "devices"));
        push_all(&s->o.device_cgroup_rules, jv_get(svc, "device_cgroup_rules"));
        {
                const struct jv *h = jv_get(svc, "extra_hosts");
                if (jv_type(h) == JV_OBJECT) {
                        push_map(&s->o.add_hosts, h, ":", false);
                } else {
                        for (size_t i = 0; i < jv_len(h); i++) {
                                char *e = scalar(jv_at(h, i)), *eq = e ? strchr(e, '=') : NULL;
                                if (eq)
                                        *eq = ':';
                                push(&s->o.add_hosts, e);
                        }
                }
        }
        set(s, &s->o.hostname, jv_get(svc, "hostname"));
        set(s, &s->o.domainname, jv_get(svc, "domainname"));
        set(s, &s->o.user, jv_get(svc, "user"));
        set(s, &s->o.workdir, jv_get(svc, "working_dir"));
        set(s, &s->o.stop_signal, jv_get(svc, "stop_signal"));
        set(s, &s->o.restart, jv_get(svc, "restart"));
        set(s, &s->o.memory, jv_get(svc, "mem_limit"));
        set(s, &s->o.memory_swap, jv_get(svc, "memswap_limit"));
        set(s, &s->o.memory_reservation, jv_get(svc, "mem_reservation"));
        set(s, &s->o.cpus, jv_get(svc, "cpus"));
        set(s, &s->o.cpu_shares, jv_get(svc, "cpu_shares"));
        set(s, &s->o.cpu_period, jv_get(svc, "cpu_period"));
        set(s, &s->o.cpu_quota, jv_get(svc, "cpu_quota"));
        set(s, &s->o.cpuset_cpus, jv_get(svc, "cpuset"));
        set(s, &s->o.pids_limit, jv_get(svc, "pids_limit"));
        set(s, &s->o.shm_size, jv_get(svc, "shm_size"));
        set(s, &s->o.oom_score_adj, jv_get(svc, "oom_score_adj"));
        s->o.pid = namespace_mode(p, s, jv_get_str(svc, "pid"));
        s->o.ipc = namespace_mode(p, s, jv_get_str(svc, "ipc"));
        set(s, &s->o.uts, jv_get(svc, "uts"));
        set(s, &s->o.cgroupns, jv_get(svc, "cgroup"));
        set(s, &s->o.cgroup_parent, jv_get(svc, "cgroup_parent"));
        set(s, &s->o.mac_address, jv_get(svc, "mac_address"));
        set(s, &s->o.runtime, jv_get(svc, "runtime"));
        s->o.oom_kill_disable = jv_get_bool(svc, "oom_kill_disable");
        s->o.init = jv_get_bool(svc, "init");
        s->o.read_only = jv_get_bool(svc, "read_only");
        s->o.privileged = jv_get_bool(svc, "privileged");
        s->o.tty = jv_get_bool(svc, "tty");
        s->o.interactive = jv_get_bool(svc, "stdin_open");
        if (jv_get_str(svc, "userns_mode") && *jv_get_str(svc, "userns_mode"))
                return bad(service, "userns_mode", "hawser runs without user namespace modes", err);
        {
                const struct jv *log = jv_get(svc, "logging");
                set(s, &s->o.log_driver, jv_get(log, "driver"));
                push_map(&s->o.log_opts, jv_get(log, "options"), "=", false);
        }
        ulimits(s, jv_get(svc, "ulimits"));
        healthcheck(s, jv_get(svc, "healthcheck"));
        links(p, s, svc);
        volumes_from(p, s, svc);
        if (r >= 0)
                r = grace(s, service, jv_get(svc, "stop_grace_period"), err);
        if (r >= 0 && jv_get(svc, "deploy"))
                r = deploy(s, service, jv_get(svc, "deploy"), err);
        if (r >= 0)
                r = ports(s, service, jv_get(svc, "ports"), err);
        if (r >= 0)
                r = volumes(p, s, service, jv_get(svc, "volumes"), err);
        if (r >= 0)
                r = files(p, s, service, "secrets", jv_get(svc, "secrets"), err);
        if (r >= 0)
                r = files(p, s, service, "configs", jv_get(svc, "configs"), err);
        if (r >= 0)
                r = networks(p, s, service, svc, cname, err);
        return r;
}

void service_run_free(struct service_run *s)
{
        size_t n = s->o.n_more_networks + (s->endpoints ? 1 : 0);

        for (size_t i = 0; i < n; i++)
                util_strv_free(s->endpoints[i].aliases);
        free(s->endpoints);
        util_strv_free(s->o.entrypoint_argv);
        util_strv_free(s->o.health_test);
        run_opts_free(&s->o);
        util_strv_free(s->cmd);
        util_strv_free(s->pool);
        free(s->image);
        free(s->hash);
        *s = (struct service_run){0};
}
