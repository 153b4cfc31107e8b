/* `compose exec|run|cp|build|pull|push`: Compose v2's commands that run something in or for a
 * service: a command in its container, a one-off container of it, a copy to or from it, and
 * its image built, pulled or pushed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/util.h"
#include "../../commands.h"
#include "../../image.h"
#include "../../registry.h"
#include "ops.h"

/* An argv being built for another command; strings borrowed. */
struct args {
        char **v;
        int n, cap;
};

static void arg(struct args *a, const char *s)
{
        if (a->n + 2 > a->cap) {
                int cap = a->cap ? a->cap * 2 : 16;
                char **v = realloc(a->v, (size_t)cap * sizeof(*v));
                if (!v)
                        util_oom();
                a->v = v;
                a->cap = cap;
        }
        a->v[a->n++] = (char *)s;
        a->v[a->n] = NULL;
}

/* ---- exec ---- */

struct exec_flags {
        bool detach, no_tty, privileged, interactive, tty;
        char **env;
        char *user, *workdir;
        long long index;
};

int compose_exec(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"detach", 'd', OPT_BOOL, offsetof(struct exec_flags, detach)},
                {"env", 'e', OPT_LIST, offsetof(struct exec_flags, env)},
                {"index", 0, OPT_INT, offsetof(struct exec_flags, index)},
                {"privileged", 0, OPT_BOOL, offsetof(struct exec_flags, privileged)},
                {"user", 'u', OPT_STR, offsetof(struct exec_flags, user)},
                {"no-TTY", 'T', OPT_BOOL, offsetof(struct exec_flags, no_tty)},
                {"workdir", 'w', OPT_STR, offsetof(struct exec_flags, workdir)},
                {"interactive", 'i', OPT_BOOL, offsetof(struct exec_flags, interactive)},
                {"tty", 't', OPT_BOOL, offsetof(struct exec_flags, tty)},
                OPT_END,
        };
        /* v2 allocates a terminal when its output is one (-T says not to); -i is always on. */
        struct exec_flags o = {.no_tty = !isatty(STDOUT_FILENO), .interactive = true, .tty = true};
        struct container *c = NULL;
        struct args a = {0};
        int n = ops_parse(p, "exec", defs, argc, argv, true, &o, err), r;

        if (n >= 0 && n < 2)
                n = ops_usage(p, "exec", "at least 2 arguments", err);
        if (n < 0) {
                opt_free_lists(defs, &o);
                return n;
        }
        r = ops_specified(p, argv[1], o.index, true, false, &c, err);
        if (r >= 0) {
                arg(&a, "exec");
                if (o.detach)
                        arg(&a, "-d");
                if (o.interactive)
                        arg(&a, "-i");
                if (o.tty && !o.no_tty)
                        arg(&a, "-t");
                if (o.privileged)
                        arg(&a, "--privileged");
                if (o.user)
                        arg(&a, "-u"), arg(&a, o.user);
                if (o.workdir)
                        arg(&a, "-w"), arg(&a, o.workdir);
                for (char **e = o.env; e && *e; e++)
                        arg(&a, "-e"), arg(&a, *e);
                arg(&a, c->id);
                for (int i = 2; i <= n; i++)
                        arg(&a, argv[i]);
                r = cmd_exec(p->cli, a.n, a.v, err);
        }
        free(a.v);
        container_free(c);
        opt_free_lists(defs, &o);
        return r;
}

/* ---- run ---- */

struct run_flags {
        bool detach, rm, no_tty, no_deps, use_aliases, service_ports, quiet_pull, build,
                remove_orphans, interactive, tty;
        char **env, **labels, **volumes, **publish, **cap_add, **cap_drop;
        char *name, *user, *workdir, *entrypoint;
};

/* go-shellwords' Parse, for --entrypoint: words split at blanks, '...' literal, "..." and
 * bare text taking backslash escapes. -EINVAL for an open quote. */
static int shell_words(const char *s, char ***ret, struct err *err)
{
        struct util_buf b = {0};
        char **out = calloc(1, sizeof(char *)), quote = 0;
        bool word = false;

        if (!out)
                util_oom();
        for (; *s; s++) {
                if (quote == '\'' && *s != '\'') {
                        util_buf_addc(&b, *s);
                } else if (*s == '\\' && quote != '\'' && s[1]) {
                        util_buf_addc(&b, *++s);
                        word = true;
                } else if (*s == '\'' || *s == '"') {
                        if (!quote)
                                quote = *s;
                        else if (quote == *s)
                                quote = 0;
                        else
                                util_buf_addc(&b, *s);
                        word = true;
                } else if (!quote && (*s == ' ' || *s == '\t' || *s == '\n')) {
                        if (word)
                                util_strv_push(&out, util_buf_str(&b));
                        util_buf_free(&b);
                        b = (struct util_buf){0};
                        word = false;
                } else {
                        util_buf_addc(&b, *s);
                        word = true;
                }
        }
        if (word && !quote)
                util_strv_push(&out, util_buf_str(&b));
        util_buf_free(&b);
        if (quote) {
                util_strv_free(out);
                return err_set(err, -EINVAL, "invalid command line string");
        }
        *ret = out;
        return 0;
}

/* Replaces a list run_opts owns by a copy of v. */
static void replace_list(char ***list, char *const *v)
{
        util_strv_free(*list);
        *list = calloc(1, sizeof(char *));
        if (!*list)
                util_oom();
        for (; v && *v; v++)
                util_strv_push(list, *v);
}

/* Removes from list the entries of other (run's --cap-add drops a --cap-drop of the same). */
static void strv_remove(char **list, char *const *other)
{
        size_t k = 0;

        for (size_t i = 0; list && list[i]; i++) {
                if (util_strv_contains(other, list[i]))
                        free(list[i]);
                else
                        list[k++] = list[i];
        }
        if (list)
                list[k] = NULL;
}

/* v2's one-off networking: the container's name is its only alias on each network unless
 * --use-aliases (then the service's name and the declared aliases too). */
static void oneoff_aliases(struct service_run *s, const char *service, const char *name,
                           bool use_aliases)
{
        size_t n = s->o.n_more_networks + (s->endpoints ? 1 : 0);

        for (size_t i = 0; i < n; i++) {
                char ***list = i == 0 ? &s->o.aliases : &s->endpoints[i].aliases;
                _cleanup_strv_ char **declared = *list;
                *list = calloc(1, sizeof(char *));
                if (!*list)
                        util_oom();
                util_strv_push(list, name);
                if (use_aliases)
                        util_strv_push(list, service);
                /* service.c lists the service, the container's name, then the declared. */
                for (size_t k = 2; use_aliases && declared && k < util_strv_len(declared); k++)
                        util_strv_push(list, declared[k]);
        }
}

static int run_options(struct service_run *s, const struct run_flags *o, char **cmd,
                       struct err *err)
{
        for (char **l = o->labels; l && *l; l++)
                if (!strchr(*l, '='))
                        return err_set(err, -EINVAL, "label must be set as KEY=VALUE");
        s->o.tty = !o->no_tty && o->tty;
        s->o.interactive = o->interactive;
        s->o.rm = o->rm;
        s->o.restart = NULL;
        if (o->user)
                s->o.user = o->user;
        if (o->workdir)
                s->o.workdir = o->workdir;
        for (char **c = o->cap_add; c && *c; c++)
                util_strv_push(&s->o.cap_add, *c);
        strv_remove(s->o.cap_drop, o->cap_add);
        for (char **c = o->cap_drop; c && *c; c++)
                util_strv_push(&s->o.cap_drop, *c);
        strv_remove(s->o.cap_add, o->cap_drop);
        for (char **e = o->env; e && *e; e++)
                util_strv_push(&s->o.env, *e);
        for (char **l = o->labels; l && *l; l++)
                util_strv_push(&s->o.labels, *l);
        for (char **v = o->volumes; v && *v; v++)
                util_strv_push(&s->o.volumes, *v);
        if (!o->service_ports)
                replace_list(&s->o.publish, o->publish);
        if (cmd && *cmd) {
                util_strv_free(s->cmd);
                s->cmd = util_strv_dup(cmd);
        }
        if (o->entrypoint) {
                util_strv_free(s->o.entrypoint_argv);
                s->o.entrypoint_argv = NULL;
                s->o.entrypoint_set = true;
                if (shell_words(o->entrypoint, &s->o.entrypoint_argv, err) < 0)
                        return -err->code;
                if (!cmd || !*cmd) {
                        util_strv_free(s->cmd);
                        s->cmd = NULL;
                }
        }
        return 0;
}

/* Makes what the one-off container needs: its dependencies up (or only the networks and
 * volumes with --no-deps), orphans removed if asked, its image. */
static int run_prepare(struct project *p, const char *service, const struct run_flags *o,
                       struct err *err)
{
        char *const only[] = {(char *)service, NULL};
        bool quiet = p->quiet;
        int r = 0;

        if (o->remove_orphans) {
                struct members m = {0};
                r = project_members(p, NULL, false, &m, err);
                for (size_t i = 0; r >= 0 && i < m.n; i++)
                        if (!project_service(p, m.v[i].service))
                                r = member_remove(p, m.v[i].c, -1, err);
                members_free(&m);
        }
        if (r >= 0)
                r = o->no_deps ? resources_prepare(p, only, err) : up_dependencies(p, service, err);
        if (r < 0)
                return r;
        p->quiet = quiet || o->quiet_pull;
        r = images_prepare(p, only, o->build, false, NULL, err);
        p->quiet = quiet;
        return r;
}

static int run_oneoff(struct project *p, const char *service, const struct run_flags *o, char **cmd,
                      struct err *err)
{
        struct service_run s = {0};
        struct container *c = NULL;
        _cleanup_free_ char *name = NULL;
        int r = run_prepare(p, service, o, err);

        if (r >= 0)
                r = service_run_build(p, service, 1, true, &s, err);
        if (r >= 0)
                r = run_options(&s, o, cmd, err);
        /* --name, else service.c's P-S-run-HEX (none when the service has a container_name,
         * which a one-off container does not take). */
        if (r >= 0 && o->name) {
                s.o.name = o->name;
        } else if (r >= 0 && !s.o.name) {
                char hex[65];
                r = util_random_hex(hex, err);
                name = r >= 0 ? util_printf("%s-%s-run-%.12s", p->name, service, hex) : NULL;
                s.o.name = name;
                if (r >= 0 && !name)
                        r = err_set(err, -ENOMEM, "run");
        }
        if (r >= 0) {
                oneoff_aliases(&s, service, s.o.name, o->use_aliases);
                if (s.o.tty && s.o.interactive && !isatty(STDIN_FILENO))
                        r = err_set(err, -EINVAL, "the input device is not a TTY");
        }
        if (r >= 0)
                r = create_container(p->cli, &s.o, s.image, s.cmd, &c, err);
        if (r >= 0) {
                r = create_start(p->cli, c, !o->detach, o->interactive, err);
                /* v2 exits 1 when the container cannot start (run's 125/126/127 are
                 * Docker's CLI's). */
                if (r < 0 && p->cli->failure == CLI_FAIL_STATUS)
                        p->cli->failure = CLI_FAIL_DEFAULT;
                if (r == -ECONNABORTED)
                        r = 0;
                else if (r >= 0 && o->detach)
                        printf("%s\n", c->id);
        }
        container_free(c);
        service_run_free(&s);
        return r;
}

int compose_run(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"detach", 'd', OPT_BOOL, offsetof(struct run_flags, detach)},
                {"env", 'e', OPT_LIST, offsetof(struct run_flags, env)},
                {"label", 'l', OPT_LIST, offsetof(struct run_flags, labels)},
                {"rm", 0, OPT_BOOL, offsetof(struct run_flags, rm)},
                {"no-TTY", 'T', OPT_BOOL, offsetof(struct run_flags, no_tty)},
                {"name", 0, OPT_STR, offsetof(struct run_flags, name)},
                {"user", 'u', OPT_STR, offsetof(struct run_flags, user)},
                {"workdir", 'w', OPT_STR, offsetof(struct run_flags, workdir)},
                {"entrypoint", 0, OPT_STR, offsetof(struct run_flags, entrypoint)},
                {"cap-add", 0, OPT_LIST, offsetof(struct run_flags, cap_add)},
                {"cap-drop", 0, OPT_LIST, offsetof(struct run_flags, cap_drop)},
                {"no-deps", 0, OPT_BOOL, offsetof(struct run_flags, no_deps)},
                {"volume", 'v', OPT_LIST, offsetof(struct run_flags, volumes)},
                {"publish", 'p', OPT_LIST, offsetof(struct run_flags, publish)},
                {"use-aliases", 0, OPT_BOOL, offsetof(struct run_flags, use_aliases)},
                {"service-ports", 'P', OPT_BOOL, offsetof(struct run_flags, service_ports)},
                {"quiet-pull", 0, OPT_BOOL, offsetof(struct run_flags, quiet_pull)},
                {"build", 0, OPT_BOOL, offsetof(struct run_flags, build)},
                {"remove-orphans", 0, OPT_BOOL, offsetof(struct run_flags, remove_orphans)},
                {"interactive", 'i', OPT_BOOL, offsetof(struct run_flags, interactive)},
                {"tty", 't', OPT_BOOL, offsetof(struct run_flags, tty)},
                OPT_END,
        };
        struct run_flags o = {.no_tty = !isatty(STDOUT_FILENO), .interactive = true, .tty = true};
        int n = ops_parse(p, "run", defs, argc, argv, true, &o, err), r;

        if (n >= 0 && n < 1)
                n = ops_usage(p, "run", "at least 1 argument", err);
        if (n < 0) {
                opt_free_lists(defs, &o);
                return n;
        }
        r = project_need_model(p, err);
        if (r >= 0 && o.publish && o.service_ports)
                r = err_set(err, -EINVAL, "--service-ports and --publish are incompatible");
        if (r >= 0)
                r = ops_check_services(p, (char *const[]){argv[1], NULL}, err);
        if (r >= 0)
                r = run_oneoff(p, argv[1], &o, argv + 2, err);
        opt_free_lists(defs, &o);
        return r;
}

/* ---- cp ---- */

struct cp_flags {
        long long index;
        bool all, follow_link, archive;
};

/* v2's splitCpArg: SERVICE:PATH, unless the argument is an absolute or ./-relative local
 * path. *ret_service is NULL for a local path. */
static const char *split_cp(char *a, char **ret_service)
{
        char *colon = strchr(a, ':');

        *ret_service = NULL;
        if (a[0] == '/' || a[0] == '.' || !colon)
                return a;
        *colon = '\0';
        *ret_service = a;
        return colon + 1;
}

static int cp_one(struct project *p, const struct cp_flags *o, const struct container *c,
                  const char *src, const char *dst, bool from, struct err *err)
{
        _cleanup_free_ char *side = util_printf("%s:%s", c->id, from ? src : dst);
        _cleanup_free_ char *msg =
                from ? util_printf("copy %s:%s to %s", container_name(c), src, dst)
                     : util_printf("copy %s to %s:%s", src, container_name(c), dst);
        struct args a = {0};
        int r;

        if (!side || !msg)
                return err_set(err, -ENOMEM, "cp");
        ops_event(p, container_name(c), msg, "Copying");
        arg(&a, "cp");
        arg(&a, "-q");
        if (o->archive)
                arg(&a, "-a");
        if (o->follow_link)
                arg(&a, "-L");
        arg(&a, from ? side : src);
        arg(&a, from ? dst : side);
        r = cmd_cp(p->cli, a.n, a.v, err);
        free(a.v);
        if (r >= 0)
                ops_event(p, container_name(c), msg, "Copied");
        return r;
}

static int cp_run(struct project *p, const struct cp_flags *o, char *src_arg, char *dst_arg,
                  struct err *err)
{
        char *src_svc, *dst_svc;
        const char *src = split_cp(src_arg, &src_svc), *dst = split_cp(dst_arg, &dst_svc);
        const char *service = dst_svc ?: src_svc;
        char *const only[] = {(char *)service, NULL};
        struct members m = {0};
        struct container *c = NULL;
        int r;

        if (src_svc && dst_svc)
                return err_set(err, -EINVAL, "copying between services is not supported");
        if (!service)
                return err_set(err, -EINVAL, "unknown copy direction");
        if (src_svc && o->all)
                return err_set(err, -EINVAL,
                               "cannot use the --all flag when copying from a service");
        if (o->index > 0) {
                r = ops_specified(p, service, o->index, false, true, &c, err);
                if (r >= 0)
                        r = cp_one(p, o, c, src, dst, src_svc != NULL, err);
                container_free(c);
                return r;
        }
        r = project_members(p, only, false, &m, err);
        if (r >= 0 && !m.n)
                r = err_set(err, -ENOENT, "no container found for service \"%s\"", service);
        /* From a service: its first container; to one: every container. */
        for (size_t i = 0; r >= 0 && i < (src_svc ? 1 : m.n); i++)
                r = cp_one(p, o, m.v[i].c, src, dst, src_svc != NULL, err);
        members_free(&m);
        return r;
}

int compose_cp(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"index", 0, OPT_INT, offsetof(struct cp_flags, index)},
                {"all", 0, OPT_BOOL, offsetof(struct cp_flags, all)},
                {"follow-link", 'L', OPT_BOOL, offsetof(struct cp_flags, follow_link)},
                {"archive", 'a', OPT_BOOL, offsetof(struct cp_flags, archive)},
                OPT_END,
        };
        struct cp_flags o = {0};
        int n = ops_parse(p, "cp", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (n != 2)
                return ops_usage(p, "cp", "exactly 2 arguments", err);
        if (!*argv[1])
                return err_set(err, -EINVAL, "source can not be empty");
        if (!*argv[2])
                return err_set(err, -EINVAL, "destination can not be empty");
        if (o.all)
                fprintf(stderr, "Flag --all has been deprecated, by default all the containers "
                                "of the service will get the source file/directory to be "
                                "copied.\n");
        return cp_run(p, &o, argv[1], argv[2], err);
}

/* ---- push ---- */

/* Pushes the images of the services with a build section and an image (v2 skips the others):
 * the image and the build's tags. */
static int push_services(struct project *p, char *const *services, bool quiet, bool ignore,
                         struct err *err)
{
        _cleanup_fclose_ FILE *null = fopen("/dev/null", "we");
        struct registry_push_opts po = {.quiet = true, .out = null};

        if (!null)
                return err_errno(err, "opening /dev/null");
        for (char *const *s = services; s && *s; s++) {
                const struct jv *svc = project_service(p, *s), *tags;
                _cleanup_strv_ char **refs = NULL;
                if (!jv_get(svc, "build") || !jv_get_str(svc, "image")) {
                        if (!quiet)
                                ops_event(p, *s, "Skipped", "");
                        continue;
                }
                util_strv_push(&refs, jv_get_str(svc, "image"));
                tags = jv_path(svc, "build.tags");
                for (size_t i = 0; i < jv_len(tags); i++)
                        util_strv_push(&refs, jv_str(jv_at(tags, i)) ?: "");
                for (char **ref = refs; *ref; ref++) {
                        if (!quiet)
                                ops_event(p, *ref, "Pushing", "");
                        if (registry_push(p->cli, *ref, &po, err) < 0) {
                                if (!ignore)
                                        return -err->code;
                                fprintf(stderr, "Pushing %s: %s\n", *s, err->msg);
                                err_clear(err);
                                continue;
                        }
                        if (!quiet)
                                ops_event(p, *ref, "Pushed", "");
                }
        }
        return 0;
}

struct push_flags {
        bool ignore_failures, include_deps, quiet;
};

int compose_push(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"ignore-push-failures", 0, OPT_BOOL, offsetof(struct push_flags, ignore_failures)},
                {"include-deps", 0, OPT_BOOL, offsetof(struct push_flags, include_deps)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct push_flags, quiet)},
                OPT_END,
        };
        struct push_flags o = {0};
        _cleanup_strv_ char **sel = NULL;
        int n = ops_parse(p, "push", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (project_select(p, argv + 1, o.include_deps, &sel, err) < 0)
                return -err->code;
        return push_services(p, sel, o.quiet || p->quiet, o.ignore_failures, err);
}

/* ---- build ---- */

struct build_flags {
        bool no_cache, pull, quiet, push, with_deps;
        char **args;
};

/* The build section's settings the flags give, on the model images_prepare reads. */
static void build_settings(struct project *p, const char *service, const struct build_flags *o)
{
        struct jv *b = jv_get(jv_get(jv_get(p->model, "services"), service), "build");
        struct jv *args = jv_get(b, "args");

        if (o->no_cache)
                jv_set_bool(b, "no_cache", true);
        if (o->pull)
                jv_set_bool(b, "pull", true);
        if (o->args && !args) {
                jv_set(b, "args", jv_new_object());
                args = jv_get(b, "args");
        }
        for (char **a = o->args; a && *a; a++) {
                _cleanup_free_ char *key = strdup(*a);
                char *eq = key ? strchr(key, '=') : NULL;
                const char *val = eq ? eq + 1 : getenv(*a);
                if (!key)
                        util_oom();
                if (eq)
                        *eq = '\0';
                if (val)
                        jv_set_str(args, key, val);
        }
}

static int build_quietly(struct project *p, char *const *services, struct err *err)
{
        _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        _cleanup_close_ int saved = -1;
        int r;

        fflush(stdout);
        saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (null < 0 || saved < 0 || dup2(null, STDOUT_FILENO) < 0)
                return err_errno(err, "silencing the build");
        r = images_prepare(p, services, true, false, NULL, err);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        return r;
}

int compose_build(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"no-cache", 0, OPT_BOOL, offsetof(struct build_flags, no_cache)},
                {"pull", 0, OPT_BOOL, offsetof(struct build_flags, pull)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct build_flags, quiet)},
                {"push", 0, OPT_BOOL, offsetof(struct build_flags, push)},
                {"with-dependencies", 0, OPT_BOOL, offsetof(struct build_flags, with_deps)},
                {"build-arg", 0, OPT_LIST, offsetof(struct build_flags, args)},
                OPT_END,
        };
        struct build_flags o = {0};
        _cleanup_strv_ char **sel = NULL, **buildable = NULL;
        int n = ops_parse(p, "build", defs, argc, argv, false, &o, err), r;

        if (n < 0) {
                opt_free_lists(defs, &o);
                return n;
        }
        r = project_select(p, argv + 1, o.with_deps, &sel, err);
        for (char **s = sel; r >= 0 && *s; s++)
                if (jv_get(project_service(p, *s), "build")) {
                        build_settings(p, *s, &o);
                        util_strv_push(&buildable, *s);
                }
        if (r >= 0 && buildable)
                r = o.quiet ? build_quietly(p, buildable, err)
                            : images_prepare(p, buildable, true, false, NULL, err);
        if (r >= 0 && buildable && o.push)
                r = push_services(p, buildable, o.quiet || p->quiet, false, err);
        opt_free_lists(defs, &o);
        return r;
}

/* ---- pull ---- */

struct pull_flags {
        bool quiet, ignore_buildable, ignore_failures, include_deps;
        char *policy;
};

/* v2's imageAlreadyPresent: a local image, and not a :latest one. */
static bool already_present(const struct project *p, const char *image)
{
        const char *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
        char id[65];
        struct err e = {0};

        if (strchr(image, '@') || !colon || (slash && colon < slash) || !strcmp(colon, ":latest"))
                return false;
        return image_resolve(p->cli, image, id, &e) >= 0;
}

/* Why a service's image is not pulled (v2's "Skipped - ..." texts), NULL to pull it. */
static const char *pull_skip(const struct project *p, const struct pull_flags *o,
                             const struct jv *svc, char *const *pulled, const char *image, char *by,
                             size_t by_len)
{
        const char *policy = o->policy && image ? o->policy : jv_get_str(svc, "pull_policy") ?: "";

        if (!image)
                return "Skipped - No image to be pulled";
        if (!strcmp(policy, "never") || !strcmp(policy, "build"))
                return "Skipped";
        if ((!strcmp(policy, "missing") || !strcmp(policy, "if_not_present")) &&
            already_present(p, image))
                return "Skipped - Image is already present locally";
        if (jv_get(svc, "build") && o->ignore_buildable)
                return "Skipped - Image can be built";
        /* pulled: image, service, image, service, ... */
        for (size_t i = 0; pulled && pulled[i] && pulled[i + 1]; i += 2)
                if (!strcmp(pulled[i], image)) {
                        snprintf(by, by_len, "Skipped - Image is already being pulled by %s",
                                 pulled[i + 1]);
                        return by;
                }
        return NULL;
}

static int pull_services(struct project *p, char *const *services, const struct pull_flags *o,
                         struct err *err)
{
        _cleanup_fclose_ FILE *null = fopen("/dev/null", "we");
        struct registry_pull_opts po = {.quiet = true, .out = null};
        _cleanup_strv_ char **pulled = NULL, **must_build = NULL;
        bool quiet = o->quiet || p->quiet;
        int failed = 0;

        if (!null)
                return err_errno(err, "opening /dev/null");
        for (char *const *s = services; s && *s; s++) {
                const struct jv *svc = project_service(p, *s);
                const char *image = jv_get_str(svc, "image"), *skip;
                struct err e = {0};
                char id[65], by[512];
                skip = pull_skip(p, o, svc, pulled, image, by, sizeof(by));
                if (skip) {
                        if (!quiet)
                                ops_event(p, *s, skip, "");
                        continue;
                }
                util_strv_push(&pulled, image);
                util_strv_push(&pulled, *s);
                if (!quiet)
                        ops_event(p, *s, "Pulling", "");
                if (registry_pull(p->cli, image, &po, id, &e) >= 0) {
                        if (!quiet)
                                ops_event(p, *s, "Pulled", "");
                        continue;
                }
                if (!quiet)
                        ops_event(p, *s, jv_get(svc, "build") ? "Warning" : "Error", "");
                if (jv_get(svc, "build"))
                        util_strv_push(&must_build, *s);
                if (!failed++)
                        *err = e;
                /* Fail fast when the image can neither be pulled nor built. */
                if (!o->ignore_failures && !jv_get(svc, "build"))
                        break;
        }
        if (must_build) {
                _cleanup_free_ char *names = util_strv_join(must_build, " ");
                fprintf(stderr,
                        "WARNING: Some service image(s) must be built from source by running:\n"
                        "    hawser compose build %s\n",
                        names ?: "");
        }
        if (failed && !o->ignore_failures)
                return -err->code;
        err_clear(err);
        return 0;
}

int compose_pull(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"quiet", 'q', OPT_BOOL, offsetof(struct pull_flags, quiet)},
                {"ignore-buildable", 0, OPT_BOOL, offsetof(struct pull_flags, ignore_buildable)},
                {"ignore-pull-failures", 0, OPT_BOOL, offsetof(struct pull_flags, ignore_failures)},
                {"include-deps", 0, OPT_BOOL, offsetof(struct pull_flags, include_deps)},
                {"policy", 0, OPT_STR, offsetof(struct pull_flags, policy)},
                OPT_END,
        };
        struct pull_flags o = {0};
        _cleanup_strv_ char **sel = NULL;
        int n = ops_parse(p, "pull", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (o.policy && strcmp(o.policy, "missing") && strcmp(o.policy, "always"))
                return err_set(err, -EINVAL, "invalid --policy value \"%s\": missing or always",
                               o.policy);
        if (project_select(p, argv + 1, o.include_deps, &sel, err) < 0)
                return -err->code;
        return pull_services(p, sel, &o, err);
}
