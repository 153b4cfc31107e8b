/* `compose up`, `create` and `down`: the project's networks, volumes, images and containers
 * brought to what the model says, each service in its own process once those it depends on
 * are up (down: once those depending on it are down), so independent services go in
 * parallel. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/fs.h"
#include "../../base/util.h"
#include "../../build.h"
#include "../../health.h"
#include "../../events.h"
#include "../../image.h"
#include "../../imgconfig.h"
#include "../../lifecycle.h"
#include "../../monitor.h"
#include "../../network.h"
#include "../../opt.h"
#include "../../registry.h"
#include "../../teardown.h"
#include "../../volume.h"
#include "../../commands.h"
#include "internal.h"

/* ---- the graph: one process per service ---- */

/* What a service's worker does; changed says it recreated a container, and deps_changed
 * that a dependency's worker did. */
typedef int (*service_fn)(struct project *p, const char *service, void *ud, bool deps_changed,
                          bool *changed, struct err *err);

struct worker {
        pid_t pid;
        int fd; /* the worker's error message */
        const char *service;
};

/* Whether b (a service) depends on a. */
static bool depends(const struct project *p, const char *b, const char *a)
{
        return jv_get(jv_get(project_service(p, b), "depends_on"), a) != NULL;
}

/* Runs fn for every service of services (in p->services' order), each in a child once the
 * services it depends on (reverse: that depend on it) among services are done. The first
 * failure is returned (the others printed); no new service starts after one. *ret_changed
 * (may be NULL) gets the services whose worker said changed. */
static int run_graph(struct project *p, char *const *services, bool reverse, service_fn fn,
                     void *ud, char ***ret_changed, struct err *err)
{
        size_t n = util_strv_len(services), running = 0, done_n = 0;
        _cleanup_free_ struct worker *w = calloc(n + 1, sizeof(*w));
        _cleanup_free_ int *state = calloc(n + 1, sizeof(*state)); /* 0 wait, 1 run, 2 done */
        char **changed = calloc(1, sizeof(char *));
        bool failed = false;
        int r = 0;

        if (!w || !state || !changed) {
                util_strv_free(changed);
                return err_set(err, -ENOMEM, "starting the services");
        }
        /* A caller that ignored SIGCHLD would leave no status to wait for. */
        signal(SIGCHLD, SIG_DFL);
        fflush(stdout);
        fflush(stderr);
        while (done_n < n) {
                for (size_t i = 0; i < n && !failed; i++) {
                        bool ready = state[i] == 0, deps_changed = false;
                        for (size_t j = 0; ready && j < n; j++) {
                                bool edge = reverse ? depends(p, services[j], services[i])
                                                    : depends(p, services[i], services[j]);
                                if (edge && state[j] != 2)
                                        ready = false;
                                if (edge && util_strv_contains(changed, services[j]))
                                        deps_changed = true;
                        }
                        if (!ready)
                                continue;
                        int pfd[2];
                        if (pipe2(pfd, O_CLOEXEC) < 0) {
                                r = err_errno(err, "pipe");
                                failed = true;
                                break;
                        }
                        pid_t pid = fork();
                        if (pid < 0) {
                                close(pfd[0]);
                                close(pfd[1]);
                                r = err_errno(err, "fork");
                                failed = true;
                                break;
                        }
                        if (pid == 0) {
                                struct err e = {0};
                                bool ch = false;
                                close(pfd[0]);
                                int rr = fn(p, services[i], ud, deps_changed, &ch, &e);
                                if (rr < 0)
                                        fs_write_all(pfd[1], e.msg, strlen(e.msg));
                                fflush(stdout);
                                fflush(stderr);
                                _exit(rr < 0 ? 1 : ch ? 3 : 0);
                        }
                        close(pfd[1]);
                        w[i] = (struct worker){pid, pfd[0], services[i]};
                        state[i] = 1;
                        running++;
                }
                if (!running)
                        break;
                /* Wait for any worker, then reap it by index. */
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                if (pid == 0) {
                        struct pollfd pf[64];
                        nfds_t k = 0;
                        for (size_t i = 0; i < n && k < 64; i++)
                                if (state[i] == 1)
                                        pf[k++] = (struct pollfd){.fd = w[i].fd, .events = POLLIN};
                        poll(pf, k, 50);
                        continue;
                }
                for (size_t i = 0; i < n; i++) {
                        if (state[i] != 1 || (pid > 0 && w[i].pid != pid))
                                continue;
                        char msg[ERR_MSG_MAX];
                        bool ok, ch;
                        ssize_t len;
                        if (pid < 0)
                                break;
                        len = read(w[i].fd, msg, sizeof(msg) - 1);
                        msg[len > 0 ? len : 0] = 0;
                        close(w[i].fd);
                        ok = WIFEXITED(status) &&
                             (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
                        ch = WIFEXITED(status) && WEXITSTATUS(status) == 3;
                        state[i] = 2;
                        running--;
                        done_n++;
                        if (ch)
                                util_strv_push(&changed, services[i]);
                        if (!ok) {
                                if (!*msg)
                                        snprintf(msg, sizeof(msg), "service %s failed",
                                                 services[i]);
                                if (!failed)
                                        r = err_set(err, -EIO, "%s", msg);
                                else
                                        fprintf(stderr, "Error: %s\n", msg);
                                failed = true;
                        }
                        break;
                }
                if (pid < 0 && errno == ECHILD) {
                        if (!failed)
                                r = err_set(err, -ECHILD, "the services' processes were lost");
                        break;
                }
        }
        if (ret_changed)
                *ret_changed = changed;
        else
                util_strv_free(changed);
        return r;
}

/* ---- networks and volumes ---- */

/* The model's networks (and volumes) the services use. */
static void used_resources(const struct project *p, char *const *services, char ***nets,
                           char ***vols)
{
        for (char *const *s = services; s && *s; s++) {
                const struct jv *svc = project_service(p, *s), *v = jv_get(svc, "volumes");
                _cleanup_strv_ char **keys = jv_keys_ordered(jv_get(svc, "networks"));
                for (char **k = keys; k && *k; k++)
                        if (!util_strv_contains(*nets, *k))
                                util_strv_push(nets, *k);
                for (size_t i = 0; i < jv_len(v); i++) {
                        const char *src = jv_get_str(jv_at(v, i), "source");
                        const char *type = jv_get_str(jv_at(v, i), "type");
                        if (src && type && !strcmp(type, "volume") &&
                            !util_strv_contains(*vols, src))
                                util_strv_push(vols, src);
                }
        }
}

static void labels_of(const struct jv *obj, char ***out)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        for (char **k = keys; k && *k; k++) {
                _cleanup_free_ char *kv = util_printf("%s=%s", *k, jv_get_str(obj, *k) ?: "");
                if (kv)
                        util_strv_push(out, kv);
        }
}

/* Created by this run of up (removed again when it fails). */
struct made {
        char **networks, **volumes;
};

static int ensure_network(struct project *p, const char *key, struct made *made, struct err *err)
{
        const struct jv *def = jv_get(jv_get(p->model, "networks"), key);
        const char *name = jv_get_str(def, "name") ?: key;
        const struct jv *cfg = jv_path(def, "ipam.config");
        struct network_opts o = {0};
        struct network n = {0};
        char id[65];
        int r;

        if (network_load(p->cli, name, &n, err) >= 0) {
                _cleanup_jv_ struct jv *doc = NULL;
                const char *owner = NULL;
                network_release(&n);
                if (!jv_get_bool(def, "external") && network_inspect(p->cli, name, &doc, err) >= 0)
                        owner = jv_get_str(jv_get(doc, "Labels"), LABEL_PROJECT);
                if (!jv_get_bool(def, "external") && (!owner || strcmp(owner, p->name)))
                        fprintf(stderr,
                                "WARN[0000] a network with name %s exists but was not created "
                                "for project \"%s\".\nSet `external: true` to use an existing "
                                "network\n",
                                name, p->name);
                err_clear(err);
                return 0;
        }
        if (err->code != ENOENT)
                return -err->code;
        err_clear(err);
        if (jv_get_bool(def, "external"))
                return err_set(err, -ENOENT,
                               "network %s declared as external, but could not be found", name);
        if (jv_path(def, "ipam.driver") &&
            strcmp(jv_str(jv_path(def, "ipam.driver")) ?: "", "default"))
                return err_set(err, -ENOTSUP, "network %s: hawser has the default IPAM driver only",
                               key);
        o.driver = (char *)jv_get_str(def, "driver");
        o.internal = jv_get_bool(def, "internal");
        o.ipv6 = jv_get_bool(def, "enable_ipv6");
        for (size_t i = 0; i < jv_len(cfg); i++) {
                const struct jv *c = jv_at(cfg, i);
                if (jv_get_str(c, "subnet"))
                        util_strv_push(&o.subnets, jv_get_str(c, "subnet"));
                if (jv_get_str(c, "gateway"))
                        util_strv_push(&o.gateways, jv_get_str(c, "gateway"));
                if (jv_get_str(c, "ip_range"))
                        o.ip_range = (char *)jv_get_str(c, "ip_range");
        }
        {
                _cleanup_strv_ char **keys = jv_keys(jv_get(def, "driver_opts"));
                for (char **k = keys; k && *k; k++) {
                        _cleanup_free_ char *kv = util_printf(
                                "%s=%s", *k, jv_get_str(jv_get(def, "driver_opts"), *k) ?: "");
                        util_strv_push(&o.opts, kv);
                }
        }
        labels_of(jv_get(def, "labels"), &o.labels);
        {
                _cleanup_free_ char *a = util_printf(LABEL_NETWORK "=%s", key),
                                    *b = util_printf(LABEL_PROJECT "=%s", p->name),
                                    *c = util_printf(LABEL_VERSION "=%s", COMPOSE_VERSION);
                util_strv_push(&o.labels, a);
                util_strv_push(&o.labels, b);
                util_strv_push(&o.labels, c);
        }
        progress(p, "Network", name, "Creating");
        r = network_create(p->cli, name, &o, id, err);
        util_strv_free(o.subnets);
        util_strv_free(o.gateways);
        util_strv_free(o.opts);
        util_strv_free(o.labels);
        if (r < 0)
                return r;
        util_strv_push(&made->networks, name);
        progress(p, "Network", name, "Created");
        return 0;
}

static int ensure_volume(struct project *p, const char *key, struct made *made, struct err *err)
{
        const struct jv *def = jv_get(jv_get(p->model, "volumes"), key);
        const char *name = jv_get_str(def, "name") ?: key, *driver = jv_get_str(def, "driver");
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_strv_ char **labels = NULL, **opts = NULL;
        _cleanup_free_ char *q = util_printf("\"%s\"", name);
        int r;

        if (volume_inspect(p->cli, name, &doc, err) >= 0)
                return 0;
        if (err->code != ENOENT)
                return -err->code;
        err_clear(err);
        if (jv_get_bool(def, "external"))
                return err_set(err, -ENOENT, "external volume \"%s\" not found", name);
        if (driver && strcmp(driver, "local"))
                return err_set(err, -ENOTSUP, "volume %s: hawser has the local volume driver only",
                               key);
        labels_of(jv_get(def, "labels"), &labels);
        {
                _cleanup_free_ char *a = util_printf(LABEL_VOLUME "=%s", key),
                                    *b = util_printf(LABEL_PROJECT "=%s", p->name),
                                    *c = util_printf(LABEL_VERSION "=%s", COMPOSE_VERSION);
                util_strv_push(&labels, a);
                util_strv_push(&labels, b);
                util_strv_push(&labels, c);
        }
        labels_of(jv_get(def, "driver_opts"), &opts);
        progress(p, "Volume", q ?: name, "Creating");
        r = volume_create(p->cli, name, labels, opts, false, NULL, err);
        if (r < 0)
                return r;
        if (r > 0)
                util_strv_push(&made->volumes, name);
        progress(p, "Volume", q ?: name, "Created");
        return 0;
}

static int resources(struct project *p, char *const *services, struct made *made, struct err *err)
{
        _cleanup_strv_ char **nets = NULL, **vols = NULL;
        int r = 0;

        used_resources(p, services, &nets, &vols);
        for (char **n = nets; r >= 0 && n && *n; n++)
                r = ensure_network(p, *n, made, err);
        for (char **v = vols; r >= 0 && v && *v; v++)
                r = ensure_volume(p, *v, made, err);
        return r;
}

int resources_prepare(struct project *p, char *const *services, struct err *err)
{
        struct made made = {0};
        int r = resources(p, services ? services : p->services, &made, err);

        util_strv_free(made.networks);
        util_strv_free(made.volumes);
        return r;
}

/* ---- images ---- */

static int build_service(struct project *p, const char *service, struct err *err)
{
        const struct jv *b = jv_get(project_service(p, service), "build");
        const char *ctx = jv_get_str(b, "context") ?: ".";
        _cleanup_free_ char *image = service_image(p, service), *file = NULL;
        struct build_opts o = {.rm = true};
        char id[65];
        int r;

        if (jv_get_str(b, "dockerfile_inline"))
                return err_set(err, -ENOTSUP,
                               "service \"%s\": build.dockerfile_inline is not supported by "
                               "hawser",
                               service);
        if (jv_get_str(b, "dockerfile")) {
                const char *df = jv_get_str(b, "dockerfile");
                file = df[0] == '/' ? strdup(df) : util_printf("%s/%s", ctx, df);
                o.file = file;
        }
        util_strv_push(&o.tags, image);
        for (size_t i = 0; i < jv_len(jv_get(b, "tags")); i++)
                util_strv_push(&o.tags, jv_str(jv_at(jv_get(b, "tags"), i)) ?: "");
        /* An argument without a value stays unset (the Dockerfile's default holds). */
        {
                _cleanup_strv_ char **keys = jv_keys(jv_get(b, "args"));
                for (char **k = keys; k && *k; k++) {
                        const char *v = jv_get_str(jv_get(b, "args"), *k);
                        _cleanup_free_ char *kv = v ? util_printf("%s=%s", *k, v) : NULL;
                        if (kv)
                                util_strv_push(&o.build_args, kv);
                }
        }
        for (size_t i = 0; i < jv_len(jv_get(b, "extra_hosts")); i++) {
                _cleanup_free_ char *h = strdup(jv_str(jv_at(jv_get(b, "extra_hosts"), i)) ?: "");
                char *eq = h ? strchr(h, '=') : NULL;
                if (eq)
                        *eq = ':';
                if (h)
                        util_strv_push(&o.add_hosts, h);
        }
        labels_of(jv_get(b, "labels"), &o.labels);
        o.target = (char *)jv_get_str(b, "target");
        o.network = (char *)jv_get_str(b, "network");
        o.no_cache = jv_get_bool(b, "no_cache");
        o.pull = jv_get_bool(b, "pull");
        progress(p, "Service", service, "Building");
        r = build_run(p->cli, &o, ctx, id, err);
        /* build_run makes the image; the tags are the caller's, as `build -t` does them. */
        for (char **t = o.tags; r >= 0 && t && *t; t++) {
                _cleanup_free_ char *norm = NULL;
                r = imgconfig_normalize_reference(*t, &norm, err);
                if (r >= 0)
                        r = image_tag(p->cli, id, norm, err);
                if (r >= 0)
                        events_image(p->cli, id, NULL, norm, "tag");
        }
        util_strv_free(o.tags);
        util_strv_free(o.build_args);
        util_strv_free(o.add_hosts);
        util_strv_free(o.labels);
        if (r >= 0)
                progress(p, "Service", service, "Built");
        return r;
}

int images_prepare(struct project *p, char *const *services, bool force_build, bool no_build,
                   const char *pull, struct err *err)
{
        for (char *const *s = services; s && *s; s++) {
                const struct jv *svc = project_service(p, *s);
                const char *policy = pull ?: jv_get_str(svc, "pull_policy") ?: "missing";
                _cleanup_free_ char *image = service_image(p, *s);
                bool has_build = jv_get(svc, "build") != NULL;
                char id[65];
                bool present;
                struct err e = {0};

                if (!image)
                        return err_set(err, -ENOMEM, "service %s", *s);
                present = image_resolve(p->cli, image, id, &e) >= 0;
                if (has_build && !no_build &&
                    (force_build || !strcmp(policy, "build") || !present)) {
                        if (build_service(p, *s, err) < 0)
                                return -err->code;
                        continue;
                }
                if (!strcmp(policy, "never") || !strcmp(policy, "build") ||
                    (present && strcmp(policy, "always")))
                        continue;
                if (!jv_get_str(svc, "image"))
                        return err_set(err, -ENOENT,
                                       "service \"%s\" has neither an image nor a build context "
                                       "specified: invalid compose project",
                                       *s);
                struct registry_pull_opts po = {
                        .quiet = true, .out = stderr, .platform = jv_get_str(svc, "platform")};
                progress(p, *s, "", "Pulling");
                if (registry_pull(p->cli, image, &po, id, err) < 0)
                        return -err->code;
                progress(p, *s, "", "Pulled");
        }
        return 0;
}

/* ---- containers ---- */

struct up_opts {
        bool detach, build, no_build, wait, remove_orphans, force_recreate, no_recreate, no_deps,
                abort_on_exit, no_start, quiet_pull, no_color, no_log_prefix, timestamps,
                always_recreate_deps, renew_anon_volumes, attach_dependencies;
        char *pull, *exit_code_from;
        char **scale, **attach, **no_attach;
        long long timeout, wait_timeout;
        /* create: never start */
        bool create_only;
        char **selected; /* the services named (with their dependencies unless --no-deps) */
        char **named;    /* the services named on the command line (NULL: none, all) */
};

static int scale_of(const struct up_opts *o, const char *service, const struct jv *svc)
{
        size_t len = strlen(service);

        for (char **s = o->scale; s && *s; s++)
                if (!strncmp(*s, service, len) && (*s)[len] == '=')
                        return atoi(*s + len + 1);
        return service_replicas(svc);
}

int member_stop(const struct project *p, struct container *c, long long timeout, struct err *err)
{
        if (!container_is_running(c) && !container_is_restarting(c))
                return 0;
        _cleanup_free_ char *name = strdup(container_name(c));

        progress(p, "Container", name, "Stopping");
        if (lifecycle_stop(p->cli, c, timeout, 0, err) < 0)
                return -err->code;
        progress(p, "Container", name, "Stopped");
        return 0;
}

int member_remove(const struct project *p, struct container *c, long long timeout, struct err *err)
{
        _cleanup_free_ char *name = strdup(container_name(c));

        if (member_stop(p, c, timeout, err) < 0)
                return -err->code;
        progress(p, "Container", name ?: c->id, "Removing");
        if (lifecycle_remove(p->cli, c, true, false, err) < 0)
                return -err->code;
        progress(p, "Container", name ?: c->id, "Removed");
        return 0;
}

static int start_member(const struct project *p, struct container *c, struct err *err)
{
        _cleanup_free_ char *name = strdup(container_name(c));
        int code = 0;

        progress(p, "Container", name, "Starting");
        if (monitor_start(p->cli, c, -1, &code, err) < 0)
                return -err->code;
        progress(p, "Container", name, "Started");
        return 0;
}

/* Waits for what service needs of dep (its depends_on condition) from every replica. */
static int wait_dependency(struct project *p, const char *service, const char *dep,
                           const struct jv *cond, struct err *err)
{
        const char *want = jv_get_str(cond, "condition") ?: "service_started";
        bool required = !jv_get(cond, "required") || jv_get_bool(cond, "required");
        char *const only[] = {(char *)dep, NULL};
        struct members m = {0};
        int r = 0;

        if (!strcmp(want, "service_started"))
                return 0;
        if (project_members(p, only, false, &m, err) < 0)
                return -err->code;
        if (!m.n)
                r = err_set(err, -ENOENT, "%s is missing dependency %s", service, dep);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                struct container *c = m.v[i].c;
                /* A copy: container_reload replaces the document the name is in. */
                _cleanup_free_ char *name = strdup(container_name(c));
                bool healthy = !strcmp(want, "service_healthy");
                progress(p, "Container", name, "Waiting");
                for (;;) {
                        if (container_reload(c, err) < 0) {
                                r = -err->code;
                                break;
                        }
                        const char *h = health_status(c->doc);
                        int code = (int)jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0);
                        bool up = container_is_running(c) || container_is_restarting(c);
                        if (healthy && !strcmp(h, "none")) {
                                r = err_set(err, -EINVAL,
                                            "dependency failed to start: container %s has no "
                                            "healthcheck configured",
                                            name);
                                break;
                        }
                        if (healthy && !strcmp(h, "healthy")) {
                                progress(p, "Container", name, "Healthy");
                                break;
                        }
                        if (healthy && !strcmp(h, "unhealthy")) {
                                r = err_set(err, -EIO,
                                            "dependency failed to start: container %s is "
                                            "unhealthy",
                                            name);
                                break;
                        }
                        if (healthy && !up) {
                                r = err_set(err, -EIO,
                                            "dependency failed to start: container %s exited "
                                            "(%d)",
                                            name, code);
                                break;
                        }
                        if (!healthy && !up && !container_is_restarting(c)) {
                                if (code)
                                        r = err_set(err, -EIO,
                                                    "service \"%s\" didn't complete "
                                                    "successfully: exit %d",
                                                    dep, code);
                                else
                                        progress(p, "Container", name, "Exited");
                                break;
                        }
                        usleep(50000);
                }
        }
        members_free(&m);
        if (r < 0 && !required) {
                fprintf(stderr, "WARN[0000] optional dependency \"%s\" of \"%s\" failed: %s\n", dep,
                        service, err->msg);
                err_clear(err);
                r = 0;
        }
        return r;
}

int up_wait_dependencies(struct project *p, const char *service, const struct jv *deps,
                         struct err *err)
{
        _cleanup_strv_ char **names = NULL;

        if (!deps)
                deps = jv_get(project_service(p, service), "depends_on");
        names = jv_keys_ordered(deps);
        for (char **d = names; d && *d; d++) {
                /* A dependency scaled to nothing has nothing to wait for. */
                if (p->model && project_service(p, *d) &&
                    service_replicas(project_service(p, *d)) == 0)
                        continue;
                if (wait_dependency(p, service, *d, jv_get(deps, *d), err) < 0)
                        return -err->code;
        }
        return 0;
}

/* The anonymous volumes of a container being recreated, "TARGET=NAME", for its successor. */
static char **anonymous_volumes(const struct container *c)
{
        const struct jv *mounts = jv_get(c->doc, "Mounts");
        char **v = NULL;

        for (size_t i = 0; i < jv_len(mounts); i++) {
                const struct jv *m = jv_at(mounts, i);
                _cleanup_free_ char *kv = NULL;
                if (!jv_get_bool(m, "Anonymous") || strcmp(jv_get_str(m, "Type") ?: "", "volume"))
                        continue;
                kv = util_printf("%s=%s", jv_get_str(m, "Destination") ?: "",
                                 jv_get_str(m, "Name") ?: "");
                if (kv)
                        util_strv_push(&v, kv);
        }
        return v;
}

/* Creates replica number of service; named tmp_name when not NULL (a successor made before
 * the container it replaces is removed). */
static int create_member(struct project *p, const char *service, int number, char **reuse,
                         const char *tmp_name, struct container **ret, struct err *err)
{
        struct service_run s;
        char id[65];
        int r = service_run_build(p, service, number, false, &s, err);

        s.o.anonymous_reuse = reuse;
        if (r >= 0 && tmp_name)
                s.o.name = (char *)tmp_name;
        if (r >= 0)
                r = image_resolve(p->cli, s.image, id, err);
        if (r >= 0) {
                _cleanup_free_ char *label = util_printf(LABEL_IMAGE "=sha256:%s", id);
                util_strv_push(&s.o.labels, label);
                progress(p, "Container", s.o.name, "Creating");
                r = create_container(p->cli, &s.o, s.image, s.cmd, ret, err);
                if (r >= 0)
                        progress(p, "Container", s.o.name, "Created");
        }
        service_run_free(&s);
        return r;
}

/* Replaces c as Compose v2 does: the successor is created first, as ID12_NAME (a failure
 * leaves c as it was), then c is stopped and removed and the successor takes its name. Its
 * anonymous volumes carry over (Compose's), unless -V. */
static int recreate(struct project *p, const struct up_opts *o, const char *service, int n,
                    struct container *c, struct container **ret, struct err *err)
{
        _cleanup_free_ char *name = strdup(container_name(c)),
                            *tmp = util_printf("%.12s_%s", c->id, container_name(c));
        _cleanup_strv_ char **reuse = o->renew_anon_volumes ? NULL : anonymous_volumes(c);
        struct container *fresh = NULL;
        int r;

        if (!name || !tmp)
                return err_set(err, -ENOMEM, "recreating %s", service);
        progress(p, "Container", name, "Recreate");
        r = create_member(p, service, n, reuse, tmp, &fresh, err);
        if (r >= 0 && (member_stop(p, c, o->timeout, err) < 0 ||
                       lifecycle_remove(p->cli, c, true, o->renew_anon_volumes, err) < 0))
                r = -err->code;
        if (r >= 0) {
                char *argv[] = {"rename", tmp, name, NULL};
                r = cmd_rename(p->cli, 3, argv, err);
        }
        if (r >= 0)
                r = container_reload(fresh, err);
        if (r < 0) {
                container_free(fresh);
                return r;
        }
        progress(p, "Container", name, "Recreated");
        *ret = fresh;
        return 0;
}

/* Whether a container is what the model says now: its config hash and image. */
static bool diverged(struct project *p, const char *service, const struct container *c)
{
        const struct jv *svc = project_service(p, service);
        _cleanup_free_ char *hash = service_hash(svc), *image = service_image(p, service),
                            *want = NULL;
        char id[65];
        struct err e = {0};

        if (!hash || strcmp(hash, member_label(c, LABEL_HASH) ?: ""))
                return true;
        if (!image || image_resolve(p->cli, image, id, &e) < 0)
                return true;
        want = util_printf("sha256:%s", id);
        return !want || strcmp(want, member_label(c, LABEL_IMAGE) ?: "");
}

static int converge(struct project *p, const char *service, void *ud, bool deps_changed,
                    bool *changed, struct err *err)
{
        const struct up_opts *o = ud;
        const struct jv *svc = project_service(p, service);
        char *const only[] = {(char *)service, NULL};
        int want = scale_of(o, service, svc), r = 0;
        struct members m = {0};

        if (!o->no_deps && up_wait_dependencies(p, service, NULL, err) < 0)
                return -err->code;
        if (want > 1 && jv_get_str(svc, "container_name"))
                fprintf(stderr,
                        "WARN[0000] service \"%s\": container_name is set, so it runs one "
                        "container, not %d\n",
                        service, want);
        if (jv_get_str(svc, "container_name") && want > 1)
                want = 1;
        if (project_members(p, only, false, &m, err) < 0)
                return -err->code;
        /* Scaled down: the highest numbers go. */
        for (size_t i = m.n; r >= 0 && i-- > 0;)
                if (m.v[i].number > want) {
                        r = member_remove(p, m.v[i].c, o->timeout, err);
                        container_free(m.v[i].c);
                        m.v[i].c = NULL;
                }
        for (int n = 1; r >= 0 && n <= want; n++) {
                struct container *c = NULL, *fresh = NULL;
                for (size_t i = 0; i < m.n && !c; i++)
                        if (m.v[i].c && m.v[i].number == n)
                                c = m.v[i].c;
                /* --always-recreate-deps: what the named services depend on, too. */
                bool dep_only = o->named && !util_strv_contains(o->named, service);
                if (c && !o->no_recreate &&
                    ((o->force_recreate && !dep_only) || deps_changed ||
                     (o->always_recreate_deps && dep_only) || diverged(p, service, c))) {
                        r = recreate(p, o, service, n, c, &fresh, err);
                        *changed = true;
                } else if (!c) {
                        /* A new replica changes nothing its dependents hold. */
                        r = create_member(p, service, n, NULL, NULL, &fresh, err);
                }
                if (r < 0)
                        break;
                if (fresh) {
                        if (!o->create_only && !o->no_start)
                                r = start_member(p, fresh, err);
                        container_free(fresh);
                } else if (!o->create_only && !o->no_start && !container_is_running(c)) {
                        r = start_member(p, c, err);
                } else if (!o->create_only) {
                        progress(p, "Container", container_name(c), "Running");
                }
        }
        members_free(&m);
        return r;
}

/* ---- up ---- */

static const struct opt_def up_defs[] = {
        {"detach", 'd', OPT_BOOL, offsetof(struct up_opts, detach)},
        {"build", 0, OPT_BOOL, offsetof(struct up_opts, build)},
        {"no-build", 0, OPT_BOOL, offsetof(struct up_opts, no_build)},
        {"pull", 0, OPT_STR, offsetof(struct up_opts, pull)},
        {"wait", 0, OPT_BOOL, offsetof(struct up_opts, wait)},
        {"wait-timeout", 0, OPT_INT, offsetof(struct up_opts, wait_timeout)},
        {"remove-orphans", 0, OPT_BOOL, offsetof(struct up_opts, remove_orphans)},
        {"force-recreate", 0, OPT_BOOL, offsetof(struct up_opts, force_recreate)},
        {"no-recreate", 0, OPT_BOOL, offsetof(struct up_opts, no_recreate)},
        {"no-deps", 0, OPT_BOOL, offsetof(struct up_opts, no_deps)},
        {"no-start", 0, OPT_BOOL, offsetof(struct up_opts, no_start)},
        {"scale", 0, OPT_LIST, offsetof(struct up_opts, scale)},
        {"abort-on-container-exit", 0, OPT_BOOL, offsetof(struct up_opts, abort_on_exit)},
        {"exit-code-from", 0, OPT_STR, offsetof(struct up_opts, exit_code_from)},
        {"timeout", 't', OPT_INT, offsetof(struct up_opts, timeout)},
        {"quiet-pull", 0, OPT_BOOL, offsetof(struct up_opts, quiet_pull)},
        {"no-color", 0, OPT_BOOL, offsetof(struct up_opts, no_color)},
        {"no-log-prefix", 0, OPT_BOOL, offsetof(struct up_opts, no_log_prefix)},
        {"timestamps", 0, OPT_BOOL, offsetof(struct up_opts, timestamps)},
        {"always-recreate-deps", 0, OPT_BOOL, offsetof(struct up_opts, always_recreate_deps)},
        {"renew-anon-volumes", 'V', OPT_BOOL, offsetof(struct up_opts, renew_anon_volumes)},
        {"attach", 0, OPT_LIST, offsetof(struct up_opts, attach)},
        {"no-attach", 0, OPT_LIST, offsetof(struct up_opts, no_attach)},
        {"attach-dependencies", 0, OPT_BOOL, offsetof(struct up_opts, attach_dependencies)},
        OPT_END,
};

static const struct opt_def create_defs[] = {
        {"build", 0, OPT_BOOL, offsetof(struct up_opts, build)},
        {"no-build", 0, OPT_BOOL, offsetof(struct up_opts, no_build)},
        {"pull", 0, OPT_STR, offsetof(struct up_opts, pull)},
        {"remove-orphans", 0, OPT_BOOL, offsetof(struct up_opts, remove_orphans)},
        {"force-recreate", 0, OPT_BOOL, offsetof(struct up_opts, force_recreate)},
        {"no-recreate", 0, OPT_BOOL, offsetof(struct up_opts, no_recreate)},
        {"scale", 0, OPT_LIST, offsetof(struct up_opts, scale)},
        {"quiet-pull", 0, OPT_BOOL, offsetof(struct up_opts, quiet_pull)},
        OPT_END,
};

/* Orphans: containers of the project whose service the model no longer has. */
static int orphans(struct project *p, const struct up_opts *o, struct err *err)
{
        struct members m = {0};
        _cleanup_free_ char *names = strdup("");
        int r = project_members(p, NULL, false, &m, err);

        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                if (project_service(p, m.v[i].service))
                        continue;
                if (o->remove_orphans) {
                        r = member_remove(p, m.v[i].c, o->timeout, err);
                        continue;
                }
                char *n = util_printf("%s%s%s", names ?: "", names && *names ? " " : "",
                                      container_name(m.v[i].c));
                free(names);
                names = n;
        }
        if (r >= 0 && names && *names)
                fprintf(stderr,
                        "WARN[0000] Found orphan containers ([%s]) for this project. If you "
                        "removed or renamed this service in your compose file, you can run "
                        "this command with the --remove-orphans flag to clean it up.\n",
                        names);
        members_free(&m);
        return r;
}

/* What a failed up made is removed again: the containers under a name the project did not
 * have before it (a recreated one, under its old name, stays), its networks and volumes. */
static void rollback(struct project *p, const struct made *made, char *const *before)
{
        struct members m = {0};
        struct err e = {0};

        if (project_members(p, NULL, false, &m, &e) >= 0)
                for (size_t i = 0; i < m.n; i++)
                        if (!util_strv_contains(before, container_name(m.v[i].c)))
                                member_remove(p, m.v[i].c, 0, &e);
        members_free(&m);
        for (char **n = made->networks; n && *n; n++) {
                progress(p, "Network", *n, "Removing");
                if (network_remove(p->cli, *n, &e) >= 0)
                        progress(p, "Network", *n, "Removed");
        }
        for (char **v = made->volumes; v && *v; v++)
                volume_remove(p->cli, *v, true, &e);
}

static int up_run(struct project *p, const struct up_opts *o, struct err *err)
{
        struct made made = {0};
        _cleanup_strv_ char **before = NULL;
        struct members m = {0};
        int r;

        if (o->scale)
                for (char **s = o->scale; *s; s++) {
                        const char *eq = strchr(*s, '=');
                        _cleanup_free_ char *name = eq ? strndup(*s, (size_t)(eq - *s)) : NULL;
                        long long n;
                        if (!eq || util_parse_ll(eq + 1, 0, 10000, &n) < 0)
                                return err_set(err, -EINVAL, "invalid scale: %s", *s);
                        if (!project_service(p, name))
                                return err_set(err, -ENOENT, "no such service: %s", name);
                }
        /* Every service's options are checked before anything is made (a key hawser cannot
         * honour, a bad value). */
        for (char **s = o->selected; s && *s; s++) {
                struct service_run check;
                r = service_run_build(p, *s, 1, false, &check, err);
                service_run_free(&check);
                if (r < 0)
                        return r;
        }
        r = project_members(p, NULL, false, &m, err);
        for (size_t i = 0; r >= 0 && i < m.n; i++)
                util_strv_push(&before, container_name(m.v[i].c));
        members_free(&m);
        if (r >= 0) {
                /* --quiet-pull: the images' lines are not shown. */
                bool quiet = p->quiet;
                p->quiet = quiet || o->quiet_pull;
                r = images_prepare(p, o->selected, o->build, o->no_build, o->pull, err);
                p->quiet = quiet;
        }
        if (r >= 0)
                r = resources(p, o->selected, &made, err);
        if (r >= 0)
                r = orphans(p, o, err);
        if (r >= 0)
                r = run_graph(p, o->selected, false, converge, (void *)o, NULL, err);
        if (r < 0)
                rollback(p, &made, before);
        util_strv_free(made.networks);
        util_strv_free(made.volumes);
        return r;
}

/* Whether a service depends on service with condition service_completed_successfully (a
 * one-shot job: --wait takes its exit 0 as done). */
static bool completion_awaited(const struct project *p, const char *service)
{
        for (char **s = p->services; s && *s; s++) {
                const struct jv *d = jv_get(jv_get(project_service(p, *s), "depends_on"), service);
                if (!strcmp(jv_get_str(d, "condition") ?: "", "service_completed_successfully"))
                        return true;
        }
        return false;
}

/* --wait: every container of the services running, and healthy where it has a check. */
static int wait_ready(struct project *p, const struct up_opts *o, struct err *err)
{
        struct members m = {0};
        struct timespec t0;
        int r = project_members(p, o->selected, false, &m, err);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                struct container *c = m.v[i].c;
                _cleanup_free_ char *name = strdup(container_name(c));
                progress(p, "Container", name, "Waiting");
                for (;;) {
                        struct timespec t;
                        if (container_reload(c, err) < 0) {
                                r = -err->code;
                                break;
                        }
                        const char *h = health_status(c->doc);
                        long long code = jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0);
                        if (!container_is_running(c) && code == 0 &&
                            completion_awaited(p, m.v[i].service)) {
                                progress(p, "Container", name, "Exited");
                                break;
                        }
                        if (!container_is_running(c)) {
                                r = err_set(err, -EIO, "container %s exited (%lld)", name,
                                            jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0));
                                break;
                        }
                        if (!strcmp(h, "unhealthy")) {
                                r = err_set(err, -EIO, "container %s is unhealthy", name);
                                break;
                        }
                        if (!strcmp(h, "healthy") || !strcmp(h, "none")) {
                                progress(p, "Container", name,
                                         strcmp(h, "none") ? "Healthy" : "Running");
                                break;
                        }
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        if (o->wait_timeout > 0 && t.tv_sec - t0.tv_sec >= o->wait_timeout) {
                                r = err_set(err, -ETIMEDOUT, "application not healthy after %llds",
                                            o->wait_timeout);
                                break;
                        }
                        usleep(50000);
                }
        }
        members_free(&m);
        return r;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        (void)sig;
        interrupted++;
        if (interrupted == 1) {
                static const char msg[] = "Gracefully stopping... (press Ctrl+C again to "
                                          "force)\n";
                ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
                (void)w;
        }
}

/* The foreground up: the containers' logs until they all exit, or the first exits
 * (--abort-on-container-exit, --exit-code-from), or ^C; then the rest are stopped. */
static int attach(struct project *p, const struct up_opts *o, struct err *err)
{
        struct members m = {0}, shown = {0};
        struct logs_opts lo = {.follow = true,
                               .tail = -1,
                               .timestamps = o->timestamps,
                               .no_color = o->no_color,
                               .no_prefix = o->no_log_prefix,
                               .stop_on_exit = o->abort_on_exit || o->exit_code_from,
                               .interrupted = &interrupted};
        struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
        int r = project_members(p, o->selected, false, &m, err), code = 0;
        _cleanup_free_ char *list = strdup("");

        if (r < 0)
                return r;
        shown.v = calloc(m.n + 1, sizeof(*shown.v));
        for (size_t i = 0; shown.v && i < m.n; i++) {
                /* Named services only, unless --attach-dependencies or --attach. */
                bool named = !o->named || util_strv_contains(o->named, m.v[i].service);
                const struct jv *svc = project_service(p, m.v[i].service);
                /* attach: false (Compose 2.20): not shown unless --attach names it. */
                if (!o->attach && jv_get(svc, "attach") && !jv_get_bool(svc, "attach"))
                        continue;
                if ((o->attach && !util_strv_contains(o->attach, m.v[i].service)) ||
                    (!o->attach && !named && !o->attach_dependencies) ||
                    util_strv_contains(o->no_attach, m.v[i].service))
                        continue;
                shown.v[shown.n++] = m.v[i];
                char *n = util_printf("%s%s%s", list ?: "", list && *list ? ", " : "",
                                      container_name(m.v[i].c));
                free(list);
                list = n;
        }
        printf("Attaching to %s\n", list ?: "");
        fflush(stdout);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        r = logs_print(p, &shown, &lo, err);
        free(shown.v);
        /* Who ended it, for --abort-on-container-exit's status: read before the others are
         * stopped (they would show their 137). */
        for (size_t i = 0; r >= 0 && !o->exit_code_from && o->abort_on_exit && i < m.n; i++) {
                struct container *c = m.v[i].c;
                struct err e = {0};
                if (container_reload(c, &e) < 0 || container_is_running(c))
                        continue;
                if (!code)
                        code = (int)jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0);
        }
        if (interrupted || lo.stop_on_exit) {
                if (lo.stop_on_exit && !interrupted)
                        printf("Aborting on container exit...\n");
                fflush(stdout);
                for (size_t i = m.n; i-- > 0;) {
                        struct err e = {0};
                        if (interrupted > 1)
                                lifecycle_kill(p->cli, m.v[i].c, SIGKILL, &e);
                        else
                                member_stop(p, m.v[i].c, o->timeout, &e);
                }
        }
        /* --exit-code-from S: S's code once everything stopped (137 when it was killed). */
        for (size_t i = 0; r >= 0 && o->exit_code_from && i < m.n; i++) {
                struct err e = {0};
                if (!strcmp(m.v[i].service, o->exit_code_from) &&
                    container_reload(m.v[i].c, &e) >= 0)
                        code = (int)jv_get_int(jv_get(m.v[i].c->doc, "State"), "ExitCode", 0);
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        members_free(&m);
        if (r < 0)
                return r;
        if (interrupted)
                return 130;
        return code;
}

static int parse_up(struct project *p, const char *cmd, const struct opt_def *defs, int argc,
                    char **argv, struct up_opts *o, struct err *err)
{
        int n;

        o->timeout = -1;
        n = opt_parse(defs, argc - 1, argv + 1, false, o, err);
        if (n < 0)
                return cli_usage_error(p->cli, cmd, err, "%s", err->msg);
        if (project_need_model(p, err) < 0)
                return -err->code;
        if (o->pull && strcmp(o->pull, "always") && strcmp(o->pull, "missing") &&
            strcmp(o->pull, "never") && strcmp(o->pull, "build"))
                return err_set(err, -EINVAL, "invalid --pull option \"%s\"", o->pull);
        if (o->build && o->no_build)
                return err_set(err, -EINVAL, "--build and --no-build are incompatible");
        if (o->force_recreate && o->no_recreate)
                return err_set(err, -EINVAL, "--force-recreate and --no-recreate are incompatible");
        if (o->detach && (o->abort_on_exit || o->exit_code_from))
                return err_set(err, -EINVAL,
                               "--abort-on-container-exit and --detach are incompatible");
        if (o->exit_code_from && !project_service(p, o->exit_code_from))
                return err_set(err, -ENOENT, "no such service: %s", o->exit_code_from);
        if (o->always_recreate_deps && o->no_recreate)
                return err_set(err, -EINVAL,
                               "--always-recreate-deps and --no-recreate are incompatible");
        for (int i = 1; i <= n; i++)
                util_strv_push(&o->named, argv[i]);
        if (project_select(p, o->named, !o->no_deps, &o->selected, err) < 0)
                return -err->code;
        return n;
}

int compose_up(struct project *p, int argc, char **argv, struct err *err)
{
        struct up_opts o = {0};
        int r = parse_up(p, "compose up", up_defs, argc, argv, &o, err);

        if (r >= 0 && o.wait)
                o.detach = true;
        if (r >= 0)
                r = up_run(p, &o, err);
        if (r >= 0 && o.wait)
                r = wait_ready(p, &o, err);
        if (r >= 0 && !o.detach && !o.no_start)
                r = attach(p, &o, err);
        opt_free_lists(up_defs, &o);
        util_strv_free(o.selected);
        util_strv_free(o.named);
        return r;
}

int compose_create(struct project *p, int argc, char **argv, struct err *err)
{
        struct up_opts o = {.create_only = true};
        int r = parse_up(p, "compose create", create_defs, argc, argv, &o, err);

        if (r >= 0)
                r = up_run(p, &o, err);
        opt_free_lists(create_defs, &o);
        util_strv_free(o.selected);
        util_strv_free(o.named);
        return r < 0 ? r : 0;
}

int up_dependencies(struct project *p, const char *service, struct err *err)
{
        struct up_opts o = {.timeout = -1};
        char *const only[] = {(char *)service, NULL};
        char **all = NULL;
        int r = project_select(p, only, true, &all, err);

        if (r < 0)
                return r;
        for (char **s = all; *s; s++)
                if (strcmp(*s, service))
                        util_strv_push(&o.selected, *s);
        if (o.selected)
                r = up_run(p, &o, err);
        else
                r = resources_prepare(p, (char *const[]){(char *)service, NULL}, err);
        /* The service itself waits on its dependencies' conditions. */
        if (r >= 0)
                r = up_wait_dependencies(p, service, NULL, err);
        util_strv_free(all);
        util_strv_free(o.selected);
        return r;
}

/* ---- down ---- */

struct down_opts {
        bool volumes, remove_orphans;
        char *rmi;
        long long timeout;
};

struct down_ctx {
        const struct down_opts *o;
        struct members *m;
};

static int down_service(struct project *p, const char *service, void *ud, bool deps_changed,
                        bool *changed, struct err *err)
{
        const struct down_ctx *d = ud;

        (void)deps_changed;
        (void)changed;
        for (size_t i = 0; i < d->m->n; i++)
                if (!strcmp(d->m->v[i].service, service) &&
                    member_stop(p, d->m->v[i].c, d->o->timeout, err) < 0)
                        return -err->code;
        return 0;
}

/* The networks down removes: the model's own (not external), else those carrying the
 * project's label that its containers joined. */
static void down_networks(struct project *p, const struct members *m, char ***ret)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(jv_get(p->model, "networks"));

        for (char **k = keys; k && *k; k++) {
                const struct jv *def = jv_get(jv_get(p->model, "networks"), *k);
                if (!jv_get_bool(def, "external"))
                        util_strv_push(ret, jv_get_str(def, "name") ?: *k);
        }
        for (size_t i = 0; i < m->n; i++) {
                _cleanup_strv_ char **nets =
                        jv_keys(jv_path(m->v[i].c->doc, "NetworkSettings.Networks"));
                for (char **n = nets; n && *n; n++) {
                        _cleanup_jv_ struct jv *doc = NULL;
                        struct err e = {0};
                        if (util_strv_contains(*ret, *n) ||
                            network_inspect(p->cli, *n, &doc, &e) < 0)
                                continue;
                        if (!strcmp(jv_get_str(jv_get(doc, "Labels"), LABEL_PROJECT) ?: "",
                                    p->name))
                                util_strv_push(ret, *n);
                }
        }
}

int compose_down(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"volumes", 'v', OPT_BOOL, offsetof(struct down_opts, volumes)},
                {"remove-orphans", 0, OPT_BOOL, offsetof(struct down_opts, remove_orphans)},
                {"rmi", 0, OPT_STR, offsetof(struct down_opts, rmi)},
                {"timeout", 't', OPT_INT, offsetof(struct down_opts, timeout)},
                OPT_END,
        };
        struct down_opts o = {.timeout = -1};
        struct members m = {0}, keep = {0};
        _cleanup_strv_ char **services = NULL, **nets = NULL, **images = NULL;
        struct down_ctx ctx = {&o, &keep};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (n < 0)
                return cli_usage_error(p->cli, "compose down", err, "%s", err->msg);
        if (o.rmi && strcmp(o.rmi, "local") && strcmp(o.rmi, "all"))
                return err_set(err, -EINVAL, "invalid value for --rmi: %s", o.rmi);
        r = project_members(p, NULL, true, &m, err);
        if (r < 0)
                return r;
        keep.v = calloc(m.n + 1, sizeof(*keep.v));
        if (!keep.v) {
                members_free(&m);
                return err_set(err, -ENOMEM, "down");
        }
        /* Orphans only with --remove-orphans (a model is needed to tell them). */
        for (size_t i = 0; i < m.n; i++) {
                bool orphan = p->model && !project_service(p, m.v[i].service);
                if (orphan && !o.remove_orphans)
                        continue;
                keep.v[keep.n++] = m.v[i];
                if (!util_strv_contains(services, m.v[i].service))
                        util_strv_push(&services, m.v[i].service);
        }
        if (p->model && !o.remove_orphans && keep.n < m.n)
                fprintf(stderr,
                        "WARN[0000] Found orphan containers for this project. If you removed "
                        "or renamed this service in your compose file, you can run this "
                        "command with the --remove-orphans flag to clean it up.\n");
        /* Stopped in reverse dependency order, independent services in parallel. */
        {
                char **ordered = NULL;
                for (char **s = p->services; s && *s; s++)
                        if (util_strv_contains(services, *s))
                                util_strv_push(&ordered, *s);
                for (char **s = services; s && *s; s++)
                        if (!util_strv_contains(ordered, *s))
                                util_strv_push(&ordered, *s);
                r = run_graph(p, ordered, true, down_service, &ctx, NULL, err);
                util_strv_free(ordered);
        }
        for (size_t i = 0; r >= 0 && i < keep.n; i++) {
                struct container *c = keep.v[i].c;
                _cleanup_free_ char *name = strdup(container_name(c));
                if (container_reload(c, err) < 0) {
                        err_clear(err);
                        continue;
                }
                if (o.rmi && (!strcmp(o.rmi, "all") || !project_service(p, keep.v[i].service) ||
                              !jv_get_str(project_service(p, keep.v[i].service), "image"))) {
                        const char *img = jv_path(c->doc, "Config.Image")
                                                  ? jv_str(jv_path(c->doc, "Config.Image"))
                                                  : NULL;
                        if (img && !util_strv_contains(images, img))
                                util_strv_push(&images, img);
                }
                progress(p, "Container", name ?: c->id, "Removing");
                r = lifecycle_remove(p->cli, c, true, o.volumes, err);
                if (r >= 0)
                        progress(p, "Container", name ?: c->id, "Removed");
        }
        if (r >= 0) {
                down_networks(p, &m, &nets);
                for (char **net = nets; net && *net; net++) {
                        _cleanup_jv_ struct jv *doc = NULL;
                        struct err e = {0};
                        /* Only what this project made (its label), as Compose v2. */
                        if (network_inspect(p->cli, *net, &doc, &e) < 0 ||
                            strcmp(jv_get_str(jv_get(doc, "Labels"), LABEL_PROJECT) ?: "", p->name))
                                continue;
                        progress(p, "Network", *net, "Removing");
                        if (network_remove(p->cli, *net, &e) >= 0)
                                progress(p, "Network", *net, "Removed");
                        else if (e.code == EBUSY)
                                progress(p, "Network", *net, "Resource is still in use");
                        else
                                fprintf(stderr, "WARN[0000] network %s: %s\n", *net, e.msg);
                }
        }
        if (r >= 0 && o.volumes) {
                _cleanup_strv_ char **keys = jv_keys_ordered(jv_get(p->model, "volumes"));
                for (char **k = keys; r >= 0 && k && *k; k++) {
                        const struct jv *def = jv_get(jv_get(p->model, "volumes"), *k);
                        const char *name = jv_get_str(def, "name") ?: *k;
                        _cleanup_jv_ struct jv *doc = NULL;
                        _cleanup_free_ char *q = util_printf("\"%s\"", name);
                        struct err e = {0};
                        if (jv_get_bool(def, "external") ||
                            volume_inspect(p->cli, name, &doc, &e) < 0)
                                continue;
                        progress(p, "Volume", q ?: name, "Removing");
                        r = volume_remove(p->cli, name, false, err);
                        if (r >= 0)
                                progress(p, "Volume", q ?: name, "Removed");
                }
        }
        for (char **img = images; r >= 0 && img && *img; img++) {
                char *rmi[] = {"rmi", *img, NULL};
                struct err e = {0};
                progress(p, "Image", *img, "Removing");
                if (image_cmd_rmi(p->cli, 2, rmi, &e) >= 0)
                        progress(p, "Image", *img, "Removed");
        }
        free(keep.v);
        members_free(&m);
        return r < 0 ? r : 0;
}
