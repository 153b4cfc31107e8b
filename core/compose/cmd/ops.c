/* `compose start|stop|restart|kill|pause|unpause|rm|wait`: Compose v2's commands on the
 * project's existing containers, in its order (dependencies first to start, last to stop),
 * each step told by v2's progress lines on stderr. Also what info.c and oneoff.c share
 * (ops.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/util.h"
#include "../../events.h"
#include "../../lifecycle.h"
#include "../../monitor.h"
#include "ops.h"

/* How often a wait looks at the containers' states again (v2's ticker). */
#define WAIT_POLL_MS 100

/* ---- shared (ops.h) ---- */

int ops_parse(struct project *p, const char *name, const struct opt_def *defs, int argc,
              char **argv, bool stop_at_positional, void *target, struct err *err)
{
        int n = opt_parse(defs, argc - 1, argv + 1, stop_at_positional, target, err);
        char cmd[64];

        if (n >= 0)
                return n;
        snprintf(cmd, sizeof(cmd), "compose %s", name);
        return cli_usage_error(p->cli, cmd, err, "%s", err->msg);
}

int ops_usage(struct project *p, const char *name, const char *what, struct err *err)
{
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "compose %s", name);
        return cli_usage_error(p->cli, cmd, err, "\"hawser compose %s\" requires %s.", name, what);
}

int ops_check_services(const struct project *p, char *const *names, struct err *err)
{
        for (char *const *n = names; p->model && n && *n; n++)
                if (!project_service(p, *n))
                        return err_set(err, -ENOENT, "no such service: %s", *n);
        return 0;
}

bool ops_listed(const struct container *c)
{
        return container_is_running(c) || container_is_restarting(c);
}

void ops_event(const struct project *p, const char *id, const char *text, const char *status)
{
        if (p->quiet)
                return;
        fprintf(stderr, " %s %s %s\n", id, text, status);
        fflush(stderr);
}

int ops_specified(const struct project *p, const char *service, long long index, bool oneoff,
                  bool stopped, struct container **ret, struct err *err)
{
        char *const names[] = {(char *)service, NULL};
        struct members m = {0};
        struct member *best = NULL;
        int r = project_members(p, names, oneoff, &m, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < m.n; i++) {
                struct member *x = &m.v[i];
                if ((!stopped && !ops_listed(x->c)) || (index > 0 && x->number != index))
                        continue;
                if (!best || x->number < best->number)
                        best = x;
        }
        if (!best) {
                members_free(&m);
                if (index > 0)
                        return err_set(err, -ENOENT,
                                       "service \"%s\" is not running container #%lld", service,
                                       index);
                return err_set(err, -ENOENT, "service \"%s\" is not running", service);
        }
        *ret = best->c;
        best->c = NULL;
        members_free(&m);
        return 0;
}

/* ---- dependencies: the model's depends_on, or the containers' labels ---- */

/* What service depends on, as the model's depends_on ({"db": {"condition": ..., "restart":
 * ..., "required": ...}}); without a model, from the depends_on label of one of its
 * containers ("db:service_healthy:true,..."). Owned by the caller. */
static struct jv *depends_of(const struct project *p, const struct members *m, const char *service)
{
        struct jv *out = jv_new_object();
        const char *label = NULL;

        if (p->model) {
                const struct jv *d = jv_get(project_service(p, service), "depends_on");
                _cleanup_strv_ char **keys = jv_keys(d);
                for (char **k = keys; k && *k; k++)
                        jv_set(out, *k, jv_copy(jv_get(d, *k)));
                return out;
        }
        for (size_t i = 0; !label && i < m->n; i++)
                if (!strcmp(m->v[i].service, service))
                        label = member_label(m->v[i].c, LABEL_DEPENDS);
        _cleanup_free_ char *copy = strdup(label ?: "");
        char *save = NULL;
        for (char *e = copy ? strtok_r(copy, ",", &save) : NULL; e;
             e = strtok_r(NULL, ",", &save)) {
                char *cond = strchr(e, ':'), *restart = NULL;
                struct jv *o = jv_new_object();
                if (cond) {
                        *cond++ = '\0';
                        restart = strchr(cond, ':');
                        if (restart)
                                *restart++ = '\0';
                }
                jv_set_str(o, "condition", cond && *cond ? cond : "service_started");
                /* v2 restarts a dependency when the label does not say (older labels). */
                jv_set_bool(o, "restart", !restart || util_parse_go_bool(restart) != 0);
                jv_set_bool(o, "required", true);
                jv_set(out, e, o);
        }
        return out;
}

/* Adds name after what it depends on; depth bounds a cycle labels could hold. */
static void order_add(const struct project *p, const struct members *m, char *const *known,
                      const char *name, int depth, char ***out)
{
        if (depth > 64 || util_strv_contains(*out, name) || !util_strv_contains(known, name))
                return;
        {
                _cleanup_jv_ struct jv *deps = depends_of(p, m, name);
                _cleanup_strv_ char **keys = jv_keys(deps);
                for (char **k = keys; k && *k; k++)
                        order_add(p, m, known, *k, depth + 1, out);
        }
        if (!util_strv_contains(*out, name))
                util_strv_push(out, name);
}

char **ops_service_order(const struct project *p, const struct members *m)
{
        _cleanup_strv_ char **known = NULL;
        char **out = calloc(1, sizeof(char *));

        if (!out)
                util_oom();
        if (p->model) {
                for (char **s = p->services; s && *s; s++)
                        util_strv_push(&out, *s);
                return out;
        }
        for (size_t i = 0; i < m->n; i++)
                if (!util_strv_contains(known, m->v[i].service))
                        util_strv_push(&known, m->v[i].service);
        for (char **s = known; s && *s; s++)
                order_add(p, m, known, *s, 0, &out);
        return out;
}

/* ---- waiting for dependencies (v2's waitDependencies) ---- */

/* Waits for what service depends on with a condition (healthy, completed successfully), as
 * v2's start does before starting it: the dependencies from the model, or from the
 * containers' labels without one. */
static int wait_dependencies(struct project *p, const struct members *m, const char *service,
                             struct err *err)
{
        _cleanup_jv_ struct jv *deps = depends_of(p, m, service);

        return up_wait_dependencies(p, service, deps, err);
}

/* ---- start ---- */

/* names and, recursively, what they depend on, in order's order. */
static char **with_dependencies(const struct project *p, const struct members *m,
                                char *const *order, char *const *names)
{
        _cleanup_strv_ char **want = util_strv_dup(names);
        char **out = calloc(1, sizeof(char *));
        bool grew = true;

        if (!out || !want)
                util_oom();
        while (grew) {
                grew = false;
                for (char **w = want; *w; w++) {
                        _cleanup_jv_ struct jv *deps = depends_of(p, m, *w);
                        _cleanup_strv_ char **keys = jv_keys(deps);
                        for (char **k = keys; k && *k; k++)
                                if (!util_strv_contains(want, *k)) {
                                        util_strv_push(&want, *k);
                                        grew = true;
                                        break;
                                }
                        if (grew)
                                break;
                }
        }
        for (char *const *s = order; *s; s++)
                if (util_strv_contains(want, *s))
                        util_strv_push(&out, *s);
        return out;
}

static int start_service(struct project *p, const struct members *m, const char *service,
                         struct err *err)
{
        int r = wait_dependencies(p, m, service, err);

        for (size_t i = 0; r >= 0 && i < m->n; i++) {
                struct container *c = m->v[i].c;
                int code;
                if (strcmp(m->v[i].service, service) || container_is_running(c))
                        continue;
                progress(p, "Container", container_name(c), "Starting");
                r = monitor_start(p->cli, c, -1, &code, err);
                if (r >= 0)
                        progress(p, "Container", container_name(c), "Started");
        }
        return r;
}

static int start_services(struct project *p, char *const *names, struct err *err)
{
        struct members m = {0};
        _cleanup_strv_ char **order = NULL, **selected = NULL;
        int r = project_members(p, NULL, false, &m, err);

        if (r < 0)
                return r;
        order = ops_service_order(p, &m);
        if (!p->model && !m.n) {
                r = err_set(err, -ENOENT, "no container found for project \"%s\": not found",
                            p->name);
                goto out;
        }
        for (char *const *n = names; !p->model && n && *n; n++)
                if (!util_strv_contains(order, *n)) {
                        r = err_set(err, -ENOENT, "no such service: \"%s\": not found", *n);
                        goto out;
                }
        selected = names && *names ? with_dependencies(p, &m, order, names) : util_strv_dup(order);
        for (char **s = selected; r >= 0 && s && *s; s++) {
                const struct jv *svc = project_service(p, *s);
                if (svc && service_replicas(svc) == 0)
                        continue;
                if (!m.n)
                        r = err_set(err, -ENOENT, "service \"%s\" has no container to start", *s);
                else
                        r = start_service(p, &m, *s, err);
        }
out:
        members_free(&m);
        return r;
}

int compose_start(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int n = ops_parse(p, "start", defs, argc, argv, false, NULL, err);

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        return start_services(p, argv + 1, err);
}

/* ---- stop ---- */

static int stop_member(const struct project *p, struct container *c, long long timeout,
                       struct err *err)
{
        int r = 0;

        progress(p, "Container", container_name(c), "Stopping");
        if (ops_listed(c))
                r = lifecycle_stop(p->cli, c, timeout, 0, err);
        if (r < 0) {
                progress(p, "Container", container_name(c), "Error while Stopping");
                return r;
        }
        progress(p, "Container", container_name(c), "Stopped");
        return 0;
}

/* Stops the containers of names (all when empty), dependents first (v2: reverse dependency
 * order), running or not (v2 asks the engine to stop each one; a stopped one is done). */
static int stop_services(struct project *p, char *const *names, long long timeout, struct err *err)
{
        struct members m = {0};
        _cleanup_strv_ char **order = NULL;
        int r = project_members(p, names, false, &m, err);
        size_t k;

        if (r < 0)
                return r;
        order = ops_service_order(p, &m);
        for (k = util_strv_len(order); r >= 0 && k > 0; k--)
                for (size_t i = 0; r >= 0 && i < m.n; i++)
                        if (!strcmp(m.v[i].service, order[k - 1]))
                                r = stop_member(p, m.v[i].c, timeout, err);
        members_free(&m);
        return r;
}

struct stop_flags {
        long long timeout;
        bool no_deps;
};

int compose_stop(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"timeout", 't', OPT_INT, offsetof(struct stop_flags, timeout)},
                OPT_END,
        };
        struct stop_flags o = {.timeout = -1};
        int n = ops_parse(p, "stop", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        return stop_services(p, argv + 1, o.timeout, err);
}

/* ---- restart ---- */

/* names, and unless no_deps the services that depend on one of them with restart: true
 * (v2's IncludeDependents once depends_on without restart is dropped). */
static bool restart_wanted(const struct project *p, const struct members *m, char *const *order,
                           char *const *names, bool no_deps, const char *service)
{
        _cleanup_strv_ char **want = util_strv_dup(names);
        bool grew = !no_deps;

        if (!names || !*names)
                return true;
        while (grew) {
                grew = false;
                for (char *const *s = order; *s; s++) {
                        _cleanup_jv_ struct jv *deps = NULL;
                        _cleanup_strv_ char **keys = NULL;
                        if (util_strv_contains(want, *s))
                                continue;
                        deps = depends_of(p, m, *s);
                        keys = jv_keys(deps);
                        for (char **k = keys; k && *k && !grew; k++)
                                if (util_strv_contains(want, *k) &&
                                    jv_get_bool(jv_get(deps, *k), "restart")) {
                                        util_strv_push(&want, *s);
                                        grew = true;
                                }
                }
        }
        return util_strv_contains(want, service);
}

static int restart_member(const struct project *p, struct container *c, long long timeout,
                          struct err *err)
{
        int code, r = 0;

        progress(p, "Container", container_name(c), "Restarting");
        if (ops_listed(c))
                r = lifecycle_stop(p->cli, c, timeout, 0, err);
        if (r >= 0)
                r = container_reload(c, err);
        if (r >= 0)
                r = monitor_start(p->cli, c, -1, &code, err);
        if (r < 0)
                return r;
        events_container(p->cli, c, "restart", NULL);
        progress(p, "Container", container_name(c), "Started");
        return 0;
}

int compose_restart(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"timeout", 't', OPT_INT, offsetof(struct stop_flags, timeout)},
                {"no-deps", 0, OPT_BOOL, offsetof(struct stop_flags, no_deps)},
                OPT_END,
        };
        struct stop_flags o = {.timeout = -1};
        struct members m = {0};
        _cleanup_strv_ char **order = NULL;
        int n = ops_parse(p, "restart", defs, argc, argv, false, &o, err), r;

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        r = project_members(p, NULL, false, &m, err);
        if (r < 0)
                return r;
        order = ops_service_order(p, &m);
        for (char **s = order; r >= 0 && *s; s++) {
                if (!restart_wanted(p, &m, order, argv + 1, o.no_deps, *s))
                        continue;
                for (size_t i = 0; r >= 0 && i < m.n; i++)
                        if (!strcmp(m.v[i].service, *s))
                                r = restart_member(p, m.v[i].c, o.timeout, err);
        }
        members_free(&m);
        return r;
}

/* ---- kill, pause, unpause ---- */

/* The members a command acts on as v2 lists them: running ones (Docker's list without
 * --all), of the model's services unless orphans. */
static bool acts_on(const struct project *p, const struct member *x, bool orphans)
{
        return ops_listed(x->c) && (orphans || !p->model || project_service(p, x->service));
}

struct kill_flags {
        char *signal;
        bool remove_orphans;
};

int compose_kill(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"signal", 's', OPT_STR, offsetof(struct kill_flags, signal)},
                {"remove-orphans", 0, OPT_BOOL, offsetof(struct kill_flags, remove_orphans)},
                OPT_END,
        };
        struct kill_flags o = {.signal = "SIGKILL"};
        struct members m = {0};
        size_t done = 0;
        int n = ops_parse(p, "kill", defs, argc, argv, false, &o, err), sig, r;

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        sig = util_parse_signal(o.signal);
        if (sig < 0)
                return err_set(err, -EINVAL, "invalid signal: %s", o.signal);
        r = project_members(p, argv + 1, true, &m, err);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                struct container *c = m.v[i].c;
                if (!acts_on(p, &m.v[i], o.remove_orphans))
                        continue;
                done++;
                progress(p, "Container", container_name(c), "Killing");
                lifecycle_heal_freeze(c);
                r = lifecycle_kill(p->cli, c, sig, err);
                progress(p, "Container", container_name(c),
                         r < 0 ? "Error while Killing" : "Killed");
        }
        if (r >= 0 && !done)
                fprintf(stderr, "no container to kill\n");
        members_free(&m);
        return r;
}

static int pause_cmd(struct project *p, const char *name, bool pause, int argc, char **argv,
                     struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        struct members m = {0};
        int n = ops_parse(p, name, defs, argc, argv, false, NULL, err), r;

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        r = project_members(p, argv + 1, false, &m, err);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                if (!acts_on(p, &m.v[i], false))
                        continue;
                r = lifecycle_pause(p->cli, m.v[i].c, pause, err);
                if (r >= 0)
                        progress(p, "Container", container_name(m.v[i].c),
                                 pause ? "Paused" : "Unpaused");
        }
        members_free(&m);
        return r;
}

int compose_pause(struct project *p, int argc, char **argv, struct err *err)
{
        return pause_cmd(p, "pause", true, argc, argv, err);
}

int compose_unpause(struct project *p, int argc, char **argv, struct err *err)
{
        return pause_cmd(p, "unpause", false, argc, argv, err);
}

/* ---- rm ---- */

/* v2's prompt: on a terminal "? MSG (y/N) " and y/yes; otherwise MSG alone on stdout and a
 * word read from stdin that strconv.ParseBool (or "y") takes for true. */
static bool confirm(const char *msg)
{
        char line[256] = "", word[256] = "";
        bool tty = isatty(STDIN_FILENO);

        printf(tty ? "? %s (y/N) " : "%s", msg);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        if (sscanf(line, "%255s", word) != 1)
                return false;
        if (tty)
                return !strcasecmp(word, "y") || !strcasecmp(word, "yes");
        return !strcasecmp(word, "y") || util_parse_go_bool(word) == 1;
}

struct rm_flags {
        bool force, stop, volumes;
};

static int remove_stopped(struct project *p, char *const *names, const struct rm_flags *o,
                          struct err *err)
{
        struct members m = {0};
        _cleanup_strv_ char **gone = NULL;
        _cleanup_free_ char *list = NULL, *msg = NULL;
        int r = project_members(p, names, false, &m, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < m.n; i++)
                if ((!p->model || project_service(p, m.v[i].service)) &&
                    !container_is_running(m.v[i].c))
                        util_strv_push(&gone, container_name(m.v[i].c));
        if (!gone) {
                members_free(&m);
                fprintf(stderr, "No stopped containers\n");
                return 0;
        }
        list = util_strv_join(gone, ", ");
        msg = util_printf("Going to remove %s", list ?: "");
        if (o->force)
                printf("%s\n", msg);
        else if (!confirm(msg)) {
                members_free(&m);
                return 0;
        }
        fflush(stdout);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                struct container *c = m.v[i].c;
                if (!util_strv_contains(gone, container_name(c)))
                        continue;
                progress(p, "Container", container_name(c), "Removing");
                r = lifecycle_remove(p->cli, c, o->force, o->volumes, err);
                if (r >= 0)
                        progress(p, "Container", container_name(c), "Removed");
        }
        members_free(&m);
        return r;
}

int compose_rm(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(struct rm_flags, force)},
                {"stop", 's', OPT_BOOL, offsetof(struct rm_flags, stop)},
                {"volumes", 'v', OPT_BOOL, offsetof(struct rm_flags, volumes)},
                OPT_END,
        };
        struct rm_flags o = {0};
        int n = ops_parse(p, "rm", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        if (o.stop && stop_services(p, argv + 1, -1, err) < 0)
                return -err->code;
        return remove_stopped(p, argv + 1, &o, err);
}

/* ---- wait ---- */

/* Whether c stopped since it was seen with restarts restarts: not running any more, its
 * monitor gone, or restarted by its policy meanwhile. */
static bool has_exited(struct container *c, long long restarts)
{
        struct err e = {0};

        if (container_reload(c, &e) < 0)
                return true;
        return !container_is_live(c) || !container_is_running(c) ||
               jv_get_int(c->doc, "RestartCount", 0) != restarts;
}

struct wait_flags {
        bool down_project;
};

int compose_wait(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"down-project", 0, OPT_BOOL, offsetof(struct wait_flags, down_project)},
                OPT_END,
        };
        struct wait_flags o = {0};
        struct members m = {0};
        _cleanup_free_ long long *restarts = NULL;
        size_t left = 0;
        int n = ops_parse(p, "wait", defs, argc, argv, false, &o, err), code = 0, r;

        if (n < 0)
                return n;
        if (n < 1)
                return ops_usage(p, "wait", "at least 1 argument", err);
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        r = project_members(p, argv + 1, true, &m, err);
        if (r < 0)
                return r;
        restarts = calloc(m.n + 1, sizeof(*restarts));
        for (size_t i = 0; restarts && i < m.n; i++) {
                /* v2 waits for the running ones (Docker's list without --all). */
                if (!ops_listed(m.v[i].c)) {
                        restarts[i] = -1;
                        continue;
                }
                restarts[i] = jv_get_int(m.v[i].c->doc, "RestartCount", 0);
                left++;
        }
        if (!restarts || !left) {
                members_free(&m);
                return restarts ? err_set(err, -ENOENT, "no containers for project \"%s\"", p->name)
                                : err_set(err, -ENOMEM, "waiting");
        }
        while (left) {
                nanosleep(&(struct timespec){0, WAIT_POLL_MS * 1000000L}, NULL);
                for (size_t i = 0; i < m.n; i++) {
                        if (restarts[i] < 0 || !has_exited(m.v[i].c, restarts[i]))
                                continue;
                        code = (int)jv_get_int(jv_get(m.v[i].c->doc, "State"), "ExitCode", 0);
                        printf("container \"%s\" exited with status code %d\n", m.v[i].c->id, code);
                        fflush(stdout);
                        restarts[i] = -1;
                        left--;
                }
        }
        members_free(&m);
        if (o.down_project) {
                char *down[] = {"down", "--remove-orphans", NULL};
                r = compose_down(p, 2, down, err);
                if (r < 0)
                        return r;
        }
        /* v2's status is the last container's to exit. */
        return code;
}
