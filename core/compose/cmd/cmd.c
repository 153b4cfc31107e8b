/* `hawser compose`: the global flags, the project (model, name, files) and its containers,
 * and the dispatch to the subcommands. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/util.h"
#include "../../opt.h"
#include "../../teardown.h"
#include "../compose.h"
#include "../../commands.h"
#include "internal.h"

extern char **environ;

struct global_opts {
        char **files, **profiles, **env_files;
        char *project_name, *project_dir, *ansi, *progress;
};

static const struct opt_def global_defs[] = {
        {"file", 'f', OPT_LIST, offsetof(struct global_opts, files)},
        {"project-name", 'p', OPT_STR, offsetof(struct global_opts, project_name)},
        {"profile", 0, OPT_LIST, offsetof(struct global_opts, profiles)},
        {"env-file", 0, OPT_LIST, offsetof(struct global_opts, env_files)},
        {"project-directory", 0, OPT_STR, offsetof(struct global_opts, project_dir)},
        {"ansi", 0, OPT_STR, offsetof(struct global_opts, ansi)},
        {"progress", 0, OPT_STR, offsetof(struct global_opts, progress)},
        OPT_END,
};

struct subcommand {
        const char *name;
        int (*fn)(struct project *p, int argc, char **argv, struct err *err);
        bool model; /* needs the compose file (else the project name is enough) */
};

static const struct subcommand subcommands[] = {
        {"build", compose_build, true},
        {"config", compose_config, true},
        {"cp", compose_cp, false},
        {"create", compose_create, true},
        {"down", compose_down, false},
        {"events", compose_events, false},
        {"exec", compose_exec, false},
        {"images", compose_images, false},
        {"kill", compose_kill, false},
        {"logs", compose_logs, false},
        {"ls", compose_ls, false},
        {"pause", compose_pause, false},
        {"port", compose_port, false},
        {"ps", compose_ps, false},
        {"pull", compose_pull, true},
        {"push", compose_push, true},
        {"restart", compose_restart, false},
        {"rm", compose_rm, false},
        {"run", compose_run, true},
        {"start", compose_start, false},
        {"stop", compose_stop, false},
        {"top", compose_top, false},
        {"unpause", compose_unpause, false},
        {"up", compose_up, true},
        {"version", NULL, false},
        {"wait", compose_wait, false},
};

static void usage(FILE *f)
{
        fprintf(f, "Usage:  hawser compose [OPTIONS] COMMAND\n\nDefine and run multi-container "
                   "applications with hawser\n\nOptions:\n");
        opt_format_help(global_defs, f);
        fprintf(f, "\nCommands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
                fprintf(f, "  %s\n", subcommands[i].name);
}

/* ---- the project's containers ---- */

const char *member_label(const struct container *c, const char *key)
{
        return jv_get_str(jv_path(c->doc, "Config.Labels"), key);
}

static long service_rank(const struct project *p, const char *service)
{
        for (size_t i = 0; p->services && p->services[i]; i++)
                if (!strcmp(p->services[i], service))
                        return (long)i;
        return LONG_MAX;
}

static const struct project *sort_project;

static int member_cmp(const void *a, const void *b)
{
        const struct member *x = a, *y = b;
        long rx = service_rank(sort_project, x->service),
             ry = service_rank(sort_project, y->service);
        int r;

        if (rx != ry)
                return rx < ry ? -1 : 1;
        r = strcmp(x->service, y->service);
        if (r)
                return r;
        if (x->oneoff != y->oneoff)
                return x->oneoff ? 1 : -1;
        if (x->number != y->number)
                return x->number < y->number ? -1 : 1;
        return strcmp(container_name(x->c), container_name(y->c));
}

int project_members(const struct project *p, char *const *services, bool with_oneoff,
                    struct members *ret, struct err *err)
{
        struct container **all = NULL;
        struct members m = {0};
        size_t n = 0;
        int r = teardown_list(p->cli, &all, err);

        if (r < 0)
                return r;
        while (all[n])
                n++;
        m.v = calloc(n + 1, sizeof(*m.v));
        if (!m.v) {
                container_list_free(all);
                return err_set(err, -ENOMEM, "listing the project's containers");
        }
        for (size_t i = 0; i < n; i++) {
                struct container *c = all[i];
                const char *proj = member_label(c, LABEL_PROJECT),
                           *svc = member_label(c, LABEL_SERVICE),
                           *oneoff = member_label(c, LABEL_ONEOFF);
                long long num = 0;
                bool is_oneoff = oneoff && !strcasecmp(oneoff, "true");
                if (!proj || strcmp(proj, p->name) || !svc || (is_oneoff && !with_oneoff) ||
                    (services && *services && !util_strv_contains(services, svc))) {
                        container_free(c);
                        continue;
                }
                util_parse_ll(member_label(c, LABEL_NUMBER) ?: "0", 0, INT_MAX, &num);
                m.v[m.n++] = (struct member){c, strdup(svc), (int)num, is_oneoff};
                if (!m.v[m.n - 1].service)
                        util_oom();
        }
        free(all);
        sort_project = p;
        qsort(m.v, m.n, sizeof(*m.v), member_cmp);
        *ret = m;
        return 0;
}

void members_free(struct members *m)
{
        for (size_t i = 0; i < m->n; i++) {
                container_free(m->v[i].c);
                free(m->v[i].service);
        }
        free(m->v);
        *m = (struct members){0};
}

void progress(const struct project *p, const char *kind, const char *name, const char *state)
{
        if (p->quiet)
                return;
        fprintf(stderr, " %s %s  %s\n", kind, name, state);
        fflush(stderr);
}

/* ---- services ---- */

const struct jv *project_service(const struct project *p, const char *name)
{
        return jv_get(jv_get(p->model, "services"), name);
}

char *project_container_name(const struct project *p, const char *service, int n)
{
        const char *fixed = jv_get_str(project_service(p, service), "container_name");

        if (fixed)
                return strdup(fixed);
        return util_printf("%s-%s-%d", p->name, service, n);
}

int project_need_model(const struct project *p, struct err *err)
{
        if (p->model)
                return 0;
        return err_set(err, -ENOENT, "no configuration file provided: not found");
}

/* Adds name to *out after what it depends on (depth first; the model has no cycle). */
static void add_with_deps(const struct project *p, const char *name, bool deps, char ***out)
{
        const struct jv *svc = project_service(p, name);

        if (util_strv_contains(*out, name))
                return;
        if (deps) {
                _cleanup_strv_ char **on = jv_keys_ordered(jv_get(svc, "depends_on"));
                for (char **d = on; d && *d; d++)
                        if (project_service(p, *d))
                                add_with_deps(p, *d, deps, out);
        }
        util_strv_push(out, name);
}

int project_select(const struct project *p, char *const *names, bool deps, char ***ret,
                   struct err *err)
{
        char **out = calloc(1, sizeof(char *));

        if (!out)
                return err_set(err, -ENOMEM, "selecting services");
        for (char *const *n = names; n && *n; n++)
                if (!project_service(p, *n)) {
                        util_strv_free(out);
                        return err_set(err, -ENOENT, "no such service: %s", *n);
                }
        if (!names || !*names) {
                for (char **s = p->services; s && *s; s++)
                        util_strv_push(&out, *s);
        } else {
                /* In the project's order (dependencies first), not the command line's. */
                char **want = NULL;
                for (char *const *n = names; *n; n++)
                        add_with_deps(p, *n, deps, &want);
                for (char **s = p->services; s && *s; s++)
                        if (util_strv_contains(want, *s))
                                util_strv_push(&out, *s);
                util_strv_free(want);
        }
        *ret = out;
        return 0;
}

/* ---- loading ---- */

/* The project's services in dependency order (depends_on first, then file order). */
static void order_services(struct project *p)
{
        _cleanup_strv_ char **names = jv_keys_ordered(jv_get(p->model, "services"));
        char **out = calloc(1, sizeof(char *));

        for (char **n = names; out && n && *n; n++)
                add_with_deps(p, *n, true, &out);
        p->services = out;
}

static void print_warnings(char **w)
{
        for (char **x = w; x && *x; x++)
                fprintf(stderr, "WARN[0000] %s\n", *x);
}

/* The project name when there is no file: -p, COMPOSE_PROJECT_NAME, or the directory. */
static int name_without_model(const struct global_opts *g, char **ret, struct err *err)
{
        const char *n = g->project_name ?: getenv("COMPOSE_PROJECT_NAME");
        char cwd[PATH_MAX];

        if (n && *n) {
                *ret = strdup(n);
                return *ret ? 0 : err_set(err, -ENOMEM, "project name");
        }
        if (!g->project_dir && !getcwd(cwd, sizeof(cwd)))
                return err_errno(err, "getcwd");
        const char *dir = g->project_dir ?: cwd, *base = strrchr(dir, '/');
        base = base && base[1] ? base + 1 : dir;
        char *out = malloc(strlen(base) + 1), *o = out;
        if (!out)
                return err_set(err, -ENOMEM, "project name");
        for (const char *s = base; *s; s++) {
                char ch = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
                if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
                        if (o != out || (ch != '-' && ch != '_'))
                                *o++ = ch;
        }
        *o = 0;
        *ret = out;
        return 0;
}

static int load_project(struct project *p, const struct global_opts *g, char **services,
                        bool need_model, struct err *err)
{
        _cleanup_strv_ char **files = NULL;
        struct compose_load_opts lo = {
                .files = g->files,
                .project_dir = g->project_dir,
                .project_name = g->project_name,
                .profiles = g->profiles,
                .env_files = g->env_files,
                .environ = environ,
                .services = services,
                .ret_project_dir = &p->workdir,
                .ret_files = &files,
        };
        _cleanup_strv_ char **warnings = NULL;
        struct err e = {0};
        int r = compose_load(&lo, &p->model, &warnings, &e);

        if (r < 0) {
                /* A command that acts on what exists (down, ps, logs) needs only a name. */
                if (need_model || g->files ||
                    strncmp(e.msg, "no configuration file provided", 30)) {
                        *err = e;
                        return r;
                }
                return name_without_model(g, &p->name, err);
        }
        print_warnings(warnings);
        p->name = strdup(jv_get_str(p->model, "name") ?: "");
        p->config_files = util_strv_join(files, ",");
        order_services(p);
        if (!p->name || !p->workdir || !p->config_files || !p->services)
                return err_set(err, -ENOMEM, "loading the project");
        return 0;
}

static void project_free(struct project *p)
{
        jv_put(p->model);
        free(p->name);
        free(p->workdir);
        free(p->config_files);
        util_strv_free(p->services);
}

/* The services a subcommand names: its positional arguments after the flags. Only used to
 * enable their profiles; the subcommand parses its own arguments. */
static char **named_services(int argc, char **argv)
{
        char **v = calloc(1, sizeof(char *));

        /* run's and exec's flags that take a value (the next argument unless "--x=v"). */
        static const char *const valued[] = {
                "-e",         "--env",     "-u",      "--user",       "-w",
                "--workdir",  "-l",        "--label", "-v",           "--volume",
                "-p",         "--publish", "--name",  "--entrypoint", "--cap-add",
                "--cap-drop", "--index",   "--pull",  "--env-file",
        };
        for (int i = 1; v && i < argc; i++) {
                if (argv[i][0] == '-') {
                        bool oneoff = !strcmp(argv[0], "run") || !strcmp(argv[0], "exec");
                        for (size_t k = 0; oneoff && k < ARRAY_SIZE(valued); k++)
                                if (!strcmp(argv[i], valued[k])) {
                                        i++;
                                        break;
                                }
                        continue;
                }
                /* run SERVICE CMD...: only the first is a service. */
                util_strv_push(&v, argv[i]);
                if (!strcmp(argv[0], "run") || !strcmp(argv[0], "exec"))
                        break;
        }
        return v;
}

int compose_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct global_opts g = {0};
        struct project p = {.cli = cli};
        const struct subcommand *sub = NULL;
        int n = opt_parse(global_defs, argc - 1, argv + 1, true, &g, err), r;

        if (n < 0) {
                opt_free_lists(global_defs, &g);
                return cli_usage_error(cli, "compose", err, "%s", err->msg);
        }
        if (n == 0) {
                opt_free_lists(global_defs, &g);
                usage(stdout);
                return 0;
        }
        for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
                if (!strcmp(subcommands[i].name, argv[1]))
                        sub = &subcommands[i];
        if (!sub) {
                opt_free_lists(global_defs, &g);
                return cli_usage_error(cli, "compose", err,
                                       "unknown docker command: \"compose %s\"", argv[1]);
        }
        if (g.ansi && strcmp(g.ansi, "never") && strcmp(g.ansi, "always") &&
            strcmp(g.ansi, "auto")) {
                opt_free_lists(global_defs, &g);
                return cli_usage_error(cli, "compose", err,
                                       "invalid --ansi value \"%s\": never, always or auto",
                                       g.ansi);
        }
        if (g.progress && strcmp(g.progress, "auto") && strcmp(g.progress, "tty") &&
            strcmp(g.progress, "plain") && strcmp(g.progress, "quiet")) {
                opt_free_lists(global_defs, &g);
                return cli_usage_error(cli, "compose", err, "unsupported --progress value \"%s\"",
                                       g.progress);
        }
        if (!sub->fn) {
                opt_free_lists(global_defs, &g);
                printf("hawser compose version %s\n", COMPOSE_VERSION);
                return 0;
        }
        p.quiet = g.progress && !strcmp(g.progress, "quiet");
        p.plain = true;
        p.color = g.ansi ? !strcmp(g.ansi, "always") || (!strcmp(g.ansi, "auto") && isatty(1))
                         : isatty(STDOUT_FILENO);
        if (!strcmp(sub->name, "ls")) {
                r = sub->fn(&p, n, argv + 1, err);
        } else {
                _cleanup_strv_ char **named = named_services(n, argv + 1);
                r = load_project(&p, &g, named, sub->model, err);
                if (r >= 0)
                        r = sub->fn(&p, n, argv + 1, err);
        }
        /* Compose prints its errors as they are, without the daemon's words (an engine's
         * refusal already says "Error response from daemon"), and exits 1. */
        if (r < 0 && (cli->failure == CLI_FAIL_DEFAULT || cli->failure == CLI_FAIL_STATUS)) {
                cli_print_safe(stderr, "", err->msg);
                cli_fail_printed(cli, cli->failure == CLI_FAIL_STATUS ? cli->status : 1);
        }
        project_free(&p);
        opt_free_lists(global_defs, &g);
        return r;
}
