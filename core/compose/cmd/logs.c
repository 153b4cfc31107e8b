/* `compose logs` and up's foreground: the containers' json-file logs, each line after its
 * "service-N  | " prefix, coloured per container as Compose v2 does on a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/cleanup.h"
#include "../../base/fs.h"
#include "../../base/util.h"
#include "../../lifecycle.h"
#include "../../logfile.h"
#include "../../monitor.h"
#include "../../opt.h"
#include "internal.h"

/* Compose v2's palette: cyan, yellow, green, magenta, blue, then their bright forms. */
static const int colors[] = {36, 33, 32, 35, 34, 96, 93, 92, 95, 94};

struct source {
        struct container *c;
        char prefix[160];
        int fd;
        char *path; /* the log file, reopened when the monitor rotates it */
        /* One entry is at most MONITOR_CHUNK bytes of output, up to 6 times that once
         * JSON-escaped (\u00XX): a line always fits. */
        char buf[262144];
        size_t have;
        bool done;
};

struct entry {
        int64_t ns;
        size_t src;
        char *text; /* the formatted line, with its prefix */
};

static bool in_window(int64_t since, int64_t until, int64_t t)
{
        return (!since || t >= since) && (!until || t <= until);
}

/* The line as printed (prefix, timestamp, text, a newline). Malloc'd. */
static char *format(const struct source *s, const struct logfile_entry *e, bool timestamps)
{
        char ts[48] = "";
        size_t len = e->len;

        if (len && e->log[len - 1] == '\n')
                len--;
        if (timestamps) {
                char t[40];
                util_format_time(e->time_ns, t);
                snprintf(ts, sizeof(ts), "%s ", t);
        }
        return util_printf("%s%s%.*s\n", s->prefix, ts, (int)len, e->log);
}

/* Consumes the complete lines of s's buffer: printed (out NULL) or collected. */
static void take_lines(struct source *s, size_t idx, const struct logs_opts *o, int64_t since,
                       int64_t until, struct entry **out, size_t *n_out)
{
        size_t used = 0;

        while (used < s->have) {
                char *nl = memchr(s->buf + used, '\n', s->have - used);
                struct logfile_entry e;
                void *owner = NULL;
                if (!nl)
                        break;
                *nl = '\0';
                if (logfile_parse_line(s->buf + used, &e, &owner) == 0 &&
                    in_window(since, until, e.time_ns)) {
                        char *line = format(s, &e, o->timestamps);
                        if (line && out) {
                                struct entry *v = realloc(*out, (*n_out + 1) * sizeof(**out));
                                if (v) {
                                        *out = v;
                                        v[(*n_out)++] = (struct entry){e.time_ns, idx, line};
                                        line = NULL;
                                }
                        } else if (line) {
                                fputs(line, stdout);
                        }
                        free(line);
                }
                jv_put(owner);
                used = (size_t)(nl - s->buf) + 1;
        }
        memmove(s->buf, s->buf + used, s->have - used);
        s->have -= used;
        /* A line longer than the buffer: dropped rather than stall. */
        if (s->have == sizeof(s->buf))
                s->have = 0;
}

/* Fills s's buffer from its log; whether anything was read. */
static bool read_all(struct source *s)
{
        bool any = false;
        ssize_t n;

        while (s->fd >= 0 && s->have < sizeof(s->buf) &&
               (n = read(s->fd, s->buf + s->have, sizeof(s->buf) - s->have)) > 0) {
                s->have += (size_t)n;
                any = true;
        }
        return any;
}

static int entry_cmp(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;

        if (x->ns != y->ns)
                return x->ns < y->ns ? -1 : 1;
        return x->src < y->src ? -1 : x->src > y->src;
}

/* The whole log so far, merged by time across containers, the last o->tail lines of each. */
static void print_backlog(struct source *src, size_t n, const struct logs_opts *o, int64_t since,
                          int64_t until)
{
        struct entry *all = NULL;
        size_t n_all = 0;

        for (size_t i = 0; i < n; i++) {
                struct entry *mine = NULL;
                size_t n_mine = 0, from = 0;
                while (read_all(&src[i]))
                        take_lines(&src[i], i, o, since, until, &mine, &n_mine);
                if (o->tail >= 0 && n_mine > (size_t)o->tail)
                        from = n_mine - (size_t)o->tail;
                for (size_t k = 0; k < n_mine; k++) {
                        if (k < from) {
                                free(mine[k].text);
                                continue;
                        }
                        struct entry *v = realloc(all, (n_all + 1) * sizeof(*all));
                        if (!v) {
                                free(mine[k].text);
                                continue;
                        }
                        all = v;
                        all[n_all++] = mine[k];
                }
                free(mine);
        }
        if (n_all)
                qsort(all, n_all, sizeof(*all), entry_cmp);
        for (size_t k = 0; k < n_all; k++) {
                fputs(all[k].text, stdout);
                free(all[k].text);
        }
        free(all);
        fflush(stdout);
}

/* Follows every source until all have exited (or, with stop_on_exit, one has). */
/* Whether the monitor rotated s's log (the path is another file now): the rest of the old
 * one is taken, then the new one is opened. */
static void follow_rotation(struct source *s, size_t idx, const struct logs_opts *o, int64_t since,
                            int64_t until)
{
        struct stat a, b;

        if (!s->path || s->fd < 0 || fstat(s->fd, &a) < 0 || stat(s->path, &b) < 0 ||
            (a.st_ino == b.st_ino && a.st_dev == b.st_dev))
                return;
        while (read_all(s))
                take_lines(s, idx, o, since, until, NULL, NULL);
        close(s->fd);
        s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
        s->have = 0;
}

static void follow(struct source *src, size_t n, const struct logs_opts *o, int64_t since,
                   int64_t until)
{
        for (;;) {
                size_t live = 0;
                bool any_ended = false;
                for (size_t i = 0; i < n; i++) {
                        struct source *s = &src[i];
                        struct err e = {0};
                        if (s->done)
                                continue;
                        /* Gone: one more read takes what it wrote last. */
                        bool gone = lifecycle_wait_monitor(s->c, 0, &e) == 0;
                        read_all(s);
                        take_lines(s, i, o, since, until, NULL, NULL);
                        follow_rotation(s, i, o, since, until);
                        if (gone) {
                                read_all(s);
                                take_lines(s, i, o, since, until, NULL, NULL);
                                s->done = true;
                                any_ended = true;
                                /* Compose v2's line when a container ends. */
                                struct err le = {0};
                                if (container_reload(s->c, &le) >= 0)
                                        printf("%.*s exited with code %lld\n",
                                               (int)(strlen(s->prefix) > 3
                                                             ? strcspn(s->prefix, " |")
                                                             : 0),
                                               s->prefix,
                                               jv_get_int(jv_get(s->c->doc, "State"), "ExitCode",
                                                          0));
                                continue;
                        }
                        live++;
                }
                fflush(stdout);
                if (!live || (o->stop_on_exit && any_ended) || (o->interrupted && *o->interrupted))
                        return;
                poll(NULL, 0, 50);
        }
}

int logs_print(const struct project *p, const struct members *m, const struct logs_opts *o,
               struct err *err)
{
        struct source *src = calloc(m->n + 1, sizeof(*src));
        int64_t since = 0, until = 0;
        size_t width = 0;

        if (!src)
                return err_set(err, -ENOMEM, "reading the logs");
        if (o->since && util_parse_docker_time(o->since, &since) < 0) {
                free(src);
                return err_set(err, -EINVAL, "invalid value for \"since\": %s", o->since);
        }
        if (o->until && util_parse_docker_time(o->until, &until) < 0) {
                free(src);
                return err_set(err, -EINVAL, "invalid value for \"until\": %s", o->until);
        }
        for (size_t i = 0; i < m->n; i++) {
                const char *name = container_name(m->v[i].c);
                size_t skip = strlen(p->name) + 1;
                /* v2 shows "web-1" for "proj-web-1"; a container_name as it is. */
                size_t len = strncmp(name, p->name, skip - 1) || name[skip - 1] != '-'
                                     ? strlen(name)
                                     : strlen(name) - skip;
                if (len > width)
                        width = len;
        }
        for (size_t i = 0; i < m->n; i++) {
                struct source *s = &src[i];
                const char *name = container_name(m->v[i].c);
                size_t skip = strlen(p->name) + 1;
                char *path = monitor_log_path(m->v[i].c);
                if (!strncmp(name, p->name, skip - 1) && name[skip - 1] == '-')
                        name += skip;
                s->c = m->v[i].c;
                s->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
                s->path = path;
                if (o->no_prefix)
                        s->prefix[0] = 0;
                else if (p->color && !o->no_color)
                        snprintf(s->prefix, sizeof(s->prefix), "\033[%dm%-*s  |\033[0m ",
                                 colors[i % ARRAY_SIZE(colors)], (int)width, name);
                else
                        snprintf(s->prefix, sizeof(s->prefix), "%-*s  | ", (int)width, name);
        }
        print_backlog(src, m->n, o, since, until);
        if (o->follow)
                follow(src, m->n, o, since, until);
        for (size_t i = 0; i < m->n; i++) {
                if (src[i].fd >= 0)
                        close(src[i].fd);
                free(src[i].path);
        }
        free(src);
        return 0;
}

int compose_logs(struct project *p, int argc, char **argv, struct err *err)
{
        struct {
                bool follow, timestamps, no_color, no_prefix;
                char *tail, *since, *until;
                long long index;
        } o = {0};
        static const struct opt_def defs[] = {
                {"follow", 'f', OPT_BOOL, offsetof(__typeof__(o), follow)},
                {"timestamps", 't', OPT_BOOL, offsetof(__typeof__(o), timestamps)},
                {"no-color", 0, OPT_BOOL, offsetof(__typeof__(o), no_color)},
                {"no-log-prefix", 0, OPT_BOOL, offsetof(__typeof__(o), no_prefix)},
                {"tail", 'n', OPT_STR, offsetof(__typeof__(o), tail)},
                {"since", 0, OPT_STR, offsetof(__typeof__(o), since)},
                {"until", 0, OPT_STR, offsetof(__typeof__(o), until)},
                {"index", 0, OPT_INT, offsetof(__typeof__(o), index)},
                OPT_END,
        };
        struct logs_opts lo = {.tail = -1};
        struct members m = {0};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;
        char **names = NULL;

        if (n < 0)
                return cli_usage_error(p->cli, "compose logs", err, "%s", err->msg);
        if (o.tail && strcmp(o.tail, "all") && util_parse_ll(o.tail, 0, 1LL << 40, &lo.tail) < 0)
                return err_set(err, -EINVAL, "invalid value for \"tail\": %s", o.tail);
        for (int i = 1; i <= n; i++) {
                if (p->model && !project_service(p, argv[i])) {
                        util_strv_free(names);
                        return err_set(err, -ENOENT, "no such service: %s", argv[i]);
                }
                util_strv_push(&names, argv[i]);
        }
        lo.follow = o.follow;
        lo.timestamps = o.timestamps;
        lo.no_color = o.no_color;
        lo.no_prefix = o.no_prefix;
        lo.since = o.since;
        lo.until = o.until;
        r = project_members(p, names, false, &m, err);
        util_strv_free(names);
        if (r >= 0 && o.index > 0) {
                size_t k = 0;
                for (size_t i = 0; i < m.n; i++) {
                        if (m.v[i].number == o.index) {
                                m.v[k++] = m.v[i];
                        } else {
                                container_free(m.v[i].c);
                                free(m.v[i].service);
                        }
                }
                m.n = k;
        }
        if (r >= 0)
                r = logs_print(p, &m, &lo, err);
        members_free(&m);
        return r;
}
