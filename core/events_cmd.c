/* `hawser events` / `system events`: Docker's event stream read from the journal every command
 * and monitor appends to (core/events.h), so it needs no daemon. History is printed only with
 * --since or --until (Docker's rule); then, unless --until is past, new lines are followed
 * with inotify until SIGINT/SIGTERM (exit 128+signal, as Docker 28's CLI) or --until. */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/param.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "events.h"
#include "imgconfig.h"
#include "opt.h"
#include "prune.h"
#include "template.h"

/* ---- filters: Docker's daemon/events/filter.go ---- */

/* Docker's keys; those naming objects hawser has none of (config, daemon, node, plugin,
 * secret, service) match an actor's id or name prefix like container= does, as Docker's. */
enum {
        F_CONFIG,
        F_CONTAINER,
        F_DAEMON,
        F_EVENT,
        F_IMAGE,
        F_LABEL,
        F_NETWORK,
        F_NODE,
        F_PLUGIN,
        F_SCOPE,
        F_SECRET,
        F_SERVICE,
        F_TYPE,
        F_VOLUME,
        F_N,
};
static const char *const filter_keys[F_N] = {
        "config", "container", "daemon", "event",  "image",   "label", "network",
        "node",   "plugin",    "scope",  "secret", "service", "type",  "volume",
};

struct filters {
        char **v[F_N]; /* values given for each key; NULL: the key filters nothing */
};

static void filters_free(struct filters *f)
{
        for (int k = 0; k < F_N; k++)
                util_strv_free(f->v[k]);
}

/* -EINVAL: *ret_bad is the argument that has no '=' (a flag error) or, with *ret_key set, the
 * key Docker knows nothing of. */
static int filters_parse(char *const *args, struct filters *f, const char **ret_bad, bool *ret_key)
{
        for (char *const *a = args; a && *a; a++) {
                const char *eq = strchr(*a, '=');
                int k;
                *ret_bad = *a;
                *ret_key = eq != NULL;
                if (!eq)
                        return -EINVAL;
                for (k = 0; k < F_N; k++)
                        if (strlen(filter_keys[k]) == (size_t)(eq - *a) &&
                            !strncmp(*a, filter_keys[k], (size_t)(eq - *a)))
                                break;
                if (k == F_N)
                        return -EINVAL;
                util_strv_push(&f->v[k], eq + 1);
        }
        return 0;
}

/* filters.Args.ExactMatch and FuzzyMatch (a value that is a prefix of s): no value, no filter. */
static bool exact(char *const *vals, const char *s)
{
        return !vals || util_strv_contains(vals, s ? s : "");
}

static bool fuzzy(char *const *vals, const char *s)
{
        s = s ? s : "";
        for (char *const *v = vals; v && *v; v++)
                if (!strncmp(s, *v, strlen(*v)))
                        return true;
        return !vals;
}

/* filters.Args.MatchKVList: every label= must be an attribute (with that value if given). */
static bool labels_match(char *const *vals, const struct jv *attrs)
{
        for (char *const *v = vals; v && *v; v++)
                if (!prune_label_matches(attrs, *v))
                        return false;
        return true;
}

/* reference.FamiliarName of a reference, or s itself when it is none (stripTag). */
static char *strip_tag(const char *s)
{
        struct image_ref r = {0};
        struct err ignored = {0};
        char *out;

        if (!*s || strspn(s, "0123456789abcdef") == 64 || imgconfig_parse_ref(s, &r, &ignored) < 0)
                return strdup(s);
        out = strdup(r.name);
        image_ref_free(&r);
        return out;
}

/* An image's id or name (its "name" attribute; a container's "image"), tags stripped too. */
static bool image_match(char *const *vals, const char *type, const char *id, const struct jv *attrs)
{
        const char *name = jv_get_str(attrs, strcmp(type, "image") ? "image" : "name") ?: "";
        _cleanup_free_ char *bare_id = NULL, *bare_name = NULL;

        if (!vals || exact(vals, id) || exact(vals, name))
                return true;
        bare_id = strip_tag(id);
        bare_name = strip_tag(name);
        return (bare_id && exact(vals, bare_id)) || (bare_name && exact(vals, bare_name));
}

static bool filters_include(const struct filters *f, const struct jv *ev)
{
        static const int by_name[] = {F_CONFIG, F_CONTAINER, F_DAEMON,  F_NETWORK, F_NODE,
                                      F_PLUGIN, F_SECRET,    F_SERVICE, F_VOLUME};
        const char *type = jv_get_str(ev, "Type"), *action = jv_get_str(ev, "Action");
        const struct jv *actor = jv_get(ev, "Actor"), *attrs = jv_get(actor, "Attributes");
        const char *id = jv_get_str(actor, "ID"), *name = jv_get_str(attrs, "name");
        bool fuzzy_event = false;

        /* Docker's #25798: these actions carry the command or status after a colon. */
        for (char **v = f->v[F_EVENT]; v && *v; v++)
                fuzzy_event |= !strcmp(*v, "health_status") || !strcmp(*v, "exec_create") ||
                               !strcmp(*v, "exec_start");
        if (!(fuzzy_event ? fuzzy : exact)(f->v[F_EVENT], action) || !exact(f->v[F_TYPE], type) ||
            !exact(f->v[F_SCOPE], jv_get_str(ev, "scope")))
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(by_name); i++)
                if (f->v[by_name[i]] && !fuzzy(f->v[by_name[i]], id) &&
                    !fuzzy(f->v[by_name[i]], name))
                        return false;
        return image_match(f->v[F_IMAGE], type, id, attrs) && labels_match(f->v[F_LABEL], attrs);
}

/* ---- --since, --until ---- */

struct bound {
        bool set;
        int64_t ns;
        char shown[48]; /* as Docker's CLI sends it to its daemon (which names it in errors) */
};

static int bound_parse(const char *s, struct bound *b)
{
        int64_t d;

        if (!s || !*s)
                return 0;
        if (util_parse_docker_time(s, &b->ns) < 0)
                return -EINVAL;
        b->set = true;
        if (strspn(s, "0123456789.") == strlen(s)) {
                snprintf(b->shown, sizeof(b->shown), "%s", s);
        } else if (strcmp(s, "0") && util_parse_go_duration(s, &d) == 0) {
                /* The CLI sends a duration as whole seconds before now. */
                b->ns -= b->ns % 1000000000;
                snprintf(b->shown, sizeof(b->shown), "%lld", (long long)(b->ns / 1000000000));
        } else {
                snprintf(b->shown, sizeof(b->shown), "%lld.%09lld", (long long)(b->ns / 1000000000),
                         (long long)(b->ns % 1000000000));
        }
        return 0;
}

/* ---- output: events.Message as Docker's CLI prints it ---- */

static const char *const message_fields[] = {"Status", "ID",    "From", "Type",     "Action",
                                             "Actor",  "Scope", "Time", "TimeNano", NULL};
static const char *const actor_fields[] = {"ID", "Attributes", NULL};

/* An event as Go sees it: fields by Go name, the JSON its tags give (the deprecated status, id
 * and from of container and image events, omitted when empty), Attributes sorted as Go's map. */
struct message {
        struct jv *fields, *json, *actor;
};

static void message_free(struct message *m)
{
        jv_put(m->fields);
        jv_put(m->json);
        jv_put(m->actor);
}

static void message_of(const struct jv *ev, struct message *m)
{
        const char *type = jv_get_str(ev, "Type") ?: "", *action = jv_get_str(ev, "Action") ?: "";
        const struct jv *a = jv_get(ev, "Actor"), *attrs = jv_get(a, "Attributes");
        const char *id = jv_get_str(a, "ID") ?: "", *scope = jv_get_str(ev, "scope") ?: "";
        bool legacy = !strcmp(type, "container") || !strcmp(type, "image");
        const char *from = !strcmp(type, "container") ? jv_get_str(attrs, "image") ?: "" : "";
        long long t = jv_get_int(ev, "time", 0), tn = jv_get_int(ev, "timeNano", 0);
        _cleanup_strv_ char **keys = jv_keys(attrs);
        struct jv *sorted = jv_new_object();

        for (char **k = keys; k && *k; k++)
                jv_set_str(sorted, *k, jv_get_str(attrs, *k) ?: "");
        *m = (struct message){jv_new_object(), jv_new_object(), jv_new_object()};
        jv_set_str(m->actor, "ID", id);
        jv_set(m->actor, "Attributes", sorted);
        jv_set_str(m->fields, "Status", legacy ? action : "");
        jv_set_str(m->fields, "ID", legacy ? id : "");
        jv_set_str(m->fields, "From", from);
        jv_set_str(m->fields, "Type", type);
        jv_set_str(m->fields, "Action", action);
        jv_set(m->fields, "Actor", jv_ref(m->actor));
        jv_set_str(m->fields, "Scope", scope);
        jv_set_int(m->fields, "Time", t);
        jv_set_int(m->fields, "TimeNano", tn);
        if (legacy) {
                jv_set_str(m->json, "status", action);
                jv_set_str(m->json, "id", id);
        }
        if (*from)
                jv_set_str(m->json, "from", from);
        jv_set_str(m->json, "Type", type);
        jv_set_str(m->json, "Action", action);
        jv_set(m->json, "Actor", jv_ref(m->actor));
        if (*scope)
                jv_set_str(m->json, "scope", scope);
        if (t)
                jv_set_int(m->json, "time", t);
        if (tn)
                jv_set_int(m->json, "timeNano", tn);
}

static int message_render(const struct template *t, const struct message *m, const char *type,
                          char **ret, struct err *err)
{
        const struct template_struct s[] = {
                {type, m->fields, message_fields, m->json},
                {"events.Actor", m->actor, actor_fields, NULL},
        };

        return template_render_structs(t, s, ARRAY_SIZE(s), ret, err);
}

/* Go's RFC3339Nano with nine digits, in the local zone ("Z" for UTC), as the CLI prints. */
static void format_local(int64_t ns, char *out, size_t len)
{
        time_t secs = (time_t)(ns / 1000000000);
        struct tm tm;
        char date[32], zone[8] = "Z";
        long off;

        localtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff;
        if (off)
                snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+',
                         labs(off) / 3600 % 100, labs(off) / 60 % 60);
        snprintf(out, len, "%s.%09lld%s", date, (long long)(ns % 1000000000), zone);
}

/* prettyPrintEvent: TIME TYPE ACTION ID (k=v, ...), attributes sorted by key. */
static void print_pretty(const struct message *m)
{
        const struct jv *attrs = jv_get(m->actor, "Attributes");
        _cleanup_strv_ char **keys = jv_keys(attrs);
        char ts[64];

        if (jv_get_int(m->fields, "TimeNano", 0) || jv_get_int(m->fields, "Time", 0)) {
                format_local(jv_get_int(m->fields, "TimeNano", 0)
                                     ?: jv_get_int(m->fields, "Time", 0) * 1000000000,
                             ts, sizeof(ts));
                printf("%s ", ts);
        }
        printf("%s %s %s", jv_get_str(m->fields, "Type"), jv_get_str(m->fields, "Action"),
               jv_get_str(m->actor, "ID"));
        for (char **k = keys; k && *k; k++)
                printf("%s%s=%s", k == keys ? " (" : ", ", *k, jv_get_str(attrs, *k));
        printf("%s\n", keys && *keys ? ")" : "");
}

/* ---- reading the journal ---- */

struct reader {
        const struct filters *f;
        struct template *t; /* NULL: the default line */
        struct bound since, until;
        bool live; /* following: since no longer applies (Docker's) */
        struct err *err;
        int failed;                                  /* a template that failed on an event */
        void (*each)(const struct jv *ev, void *ud); /* events_follow's: instead of printing */
        void *ud;
        /* History, sorted before it is printed: writers append in the order their write()s
         * land, a few microseconds off their timestamps, and a rotation's stragglers too. */
        struct held {
                int64_t ns;
                size_t seq;
                struct jv *ev;
        } * held;
        size_t n, cap;
};

static void print_event(struct reader *rd, const struct jv *ev)
{
        struct message m;
        _cleanup_free_ char *out = NULL;

        if (rd->failed)
                return;
        if (rd->each) {
                rd->each(ev, rd->ud);
                return;
        }
        message_of(ev, &m);
        if (!rd->t)
                print_pretty(&m);
        else if (message_render(rd->t, &m, "events.Message", &out, rd->err) < 0)
                rd->failed = -rd->err->code;
        else
                printf("%s\n", out);
        message_free(&m);
}

static void on_line(struct reader *rd, const char *line)
{
        struct jv *ev = NULL;
        int64_t ns;

        if (events_parse_line(line, &ev, &ns) < 0)
                return;
        if ((rd->until.set && rd->until.ns > 0 && ns > rd->until.ns) ||
            (!rd->live && rd->since.set && ns < rd->since.ns) || !filters_include(rd->f, ev)) {
                jv_put(ev);
                return;
        }
        if (rd->live) {
                print_event(rd, ev);
                jv_put(ev);
                return;
        }
        if (rd->n == rd->cap) {
                size_t cap = rd->cap ? rd->cap * 2 : 256;
                struct held *h = realloc(rd->held, cap * sizeof(*h));
                if (!h)
                        util_oom();
                rd->held = h;
                rd->cap = cap;
        }
        rd->held[rd->n] = (struct held){ns, rd->n, ev};
        rd->n++;
}

static int by_time(const void *a, const void *b)
{
        const struct held *x = a, *y = b;

        if (x->ns != y->ns)
                return x->ns < y->ns ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void print_held(struct reader *rd)
{
        if (rd->n)
                qsort(rd->held, rd->n, sizeof(*rd->held), by_time);
        for (size_t i = 0; i < rd->n; i++) {
                print_event(rd, rd->held[i].ev);
                jv_put(rd->held[i].ev);
        }
        free(rd->held);
        rd->held = NULL;
        rd->n = rd->cap = 0;
        fflush(stdout);
}

/* What is read of a file past its last complete line. */
struct linebuf {
        char *buf;
        size_t len, cap;
};

/* Reads fd from where it is to its end, handing each complete line to rd. */
static void read_lines(struct reader *rd, int fd, struct linebuf *lb)
{
        for (;;) {
                size_t start = 0;
                ssize_t n;
                char *nl;
                if (lb->cap - lb->len < 65536) {
                        char *b = realloc(lb->buf, lb->cap + 65536);
                        if (!b)
                                util_oom();
                        lb->buf = b;
                        lb->cap += 65536;
                }
                n = read(fd, lb->buf + lb->len, lb->cap - lb->len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                lb->len += (size_t)n;
                while ((nl = memchr(lb->buf + start, '\n', lb->len - start))) {
                        *nl = '\0';
                        on_line(rd, lb->buf + start);
                        start = (size_t)(nl - lb->buf) + 1;
                }
                memmove(lb->buf, lb->buf + start, lb->len - start);
                lb->len -= start;
                /* No line is that long: what is there is not one (a cut line's remains). */
                if (lb->len > 2 * EVENTS_LINE_MAX)
                        lb->len = 0;
        }
}

/* The journal as a follower holds it: the current file, and the one a rotation replaced, still
 * read (a writer that opened it before the rotation appends its line there). */
struct journal {
        char *path;
        int fd, prev_fd;
        struct linebuf cur, prev;
};

static void journal_close(struct journal *j)
{
        closep(&j->fd);
        closep(&j->prev_fd);
        free(j->cur.buf);
        free(j->prev.buf);
        free(j->path);
}

static bool same_file(int fd, const struct stat *st)
{
        struct stat mine;

        return fstat(fd, &mine) == 0 && mine.st_ino == st->st_ino && mine.st_dev == st->st_dev;
}

/* Reads what was appended; a new current file (rotated, or the first one) is read from its
 * start. */
static void journal_read(struct journal *j, struct reader *rd)
{
        struct stat st;

        if (j->prev_fd >= 0)
                read_lines(rd, j->prev_fd, &j->prev);
        if (j->fd >= 0)
                read_lines(rd, j->fd, &j->cur);
        if (stat(j->path, &st) < 0 || (j->fd >= 0 && same_file(j->fd, &st)))
                return;
        closep(&j->prev_fd);
        j->prev_fd = TAKE_FD(j->fd);
        free(j->prev.buf);
        j->prev = j->cur;
        j->cur = (struct linebuf){0};
        j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (j->fd >= 0)
                read_lines(rd, j->fd, &j->cur);
}

/* History from both files, oldest first. With history false the current file is only opened
 * at its end. */
static int journal_open(const struct cli *cli, struct journal *j, struct reader *rd, bool history)
{
        _cleanup_free_ char *prev_path = events_path(cli, 1);
        _cleanup_close_ int prev = -1;
        struct stat st;

        *j = (struct journal){.path = events_path(cli, 0), .fd = -1, .prev_fd = -1};
        if (!j->path || !prev_path)
                return -ENOMEM;
        j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (!history) {
                if (j->fd >= 0)
                        lseek(j->fd, 0, SEEK_END);
                return 0;
        }
        /* Opened after the current one: if a rotation came between, it is that same file. */
        prev = open(prev_path, O_RDONLY | O_CLOEXEC);
        if (prev >= 0 && !(j->fd >= 0 && fstat(prev, &st) == 0 && same_file(j->fd, &st))) {
                struct linebuf lb = {0};
                read_lines(rd, prev, &lb);
                free(lb.buf);
        }
        if (j->fd >= 0)
                read_lines(rd, j->fd, &j->cur);
        print_held(rd);
        return 0;
}

/* Blocks SIGINT and SIGTERM into a signalfd: they end the following with 128+signal. As
 * Go's signal.Notify, this takes them even where they were ignored (a shell's background
 * job starts with SIGINT ignored, and an ignored signal never reaches a signalfd). */
static int signals_fd(void)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Follows the journal until a signal (its 128+signo) or --until (0). */
static int follow(const struct cli *cli, struct journal *j, struct reader *rd, struct err *err)
{
        _cleanup_free_ char *dir = events_dir(cli);
        /* Signals first: once the watch exists (a test's sign of readiness), both are taken. */
        _cleanup_close_ int sig = signals_fd(), ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        if (!dir)
                return err_set(err, -ENOMEM, "following events");
        if (ino < 0 || sig < 0 ||
            inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
                return err_errno(err, "watching the event journal %s", dir);
        rd->live = true;
        for (;;) {
                struct pollfd p[2] = {{ino, POLLIN, 0}, {sig, POLLIN, 0}};
                int64_t left = rd->until.set ? rd->until.ns - util_now_ns() : -1;
                struct signalfd_siginfo si;
                int n;
                /* Lines that came before the watch, and after the last wake. */
                journal_read(j, rd);
                fflush(stdout);
                if (rd->failed)
                        return rd->failed;
                if (rd->until.set && left <= 0)
                        return 0;
                n = poll(p, 2, left < 0 ? -1 : (int)MIN(left / 1000000 + 1, INT_MAX));
                if (n < 0 && errno != EINTR)
                        return err_errno(err, "following events");
                if (p[1].revents && read(sig, &si, sizeof(si)) == sizeof(si))
                        return 128 + (int)si.ssi_signo;
                while (read(ino, buf, sizeof(buf)) > 0)
                        ;
        }
}

/* ---- the command ---- */

/* A failure Docker's CLI reports in its own words, without "Error: ". */
static int fail_printed(struct cli *cli, int status, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail_printed(struct cli *cli, int status, struct err *err, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s\n", msg);
        cli_fail_printed(cli, status);
        return err_set(err, -EINVAL, "%s", msg);
}

/* --format as the CLI takes it: "json" is {{json .}}; a template is tried on an empty message
 * first, so a field events.Message lacks fails before anything is read. */
static int prepare_format(struct cli *cli, const char *format, struct reader *rd, struct err *err)
{
        _cleanup_jv_ struct jv *empty = jv_new_object();
        _cleanup_free_ char *out = NULL;
        struct template *t = NULL;
        struct message m;
        int r;

        if (!format || !*format)
                return 0;
        r = template_parse(strcmp(format, "json") ? format : "{{json .}}", &t, err);
        if (r >= 0) {
                message_of(empty, &m);
                r = message_render(t, &m, "*events.Message", &out, err);
                message_free(&m);
        }
        if (r < 0) {
                template_free(t);
                return fail_printed(cli, 64, err, "Error parsing format: %s", err->msg);
        }
        rd->t = t;
        return 0;
}

static int prepare_times(struct cli *cli, const char *since, const char *until, struct reader *rd,
                         struct err *err)
{
        const char *bad = bound_parse(since, &rd->since) < 0   ? since
                          : bound_parse(until, &rd->until) < 0 ? until
                                                               : NULL;

        if (bad)
                return fail_printed(cli, 1, err,
                                    "failed to parse value as time or duration: \"%s\"", bad);
        if (rd->since.set && rd->until.set && rd->until.ns < rd->since.ns)
                return fail_printed(cli, 1, err,
                                    "Error response from daemon: `since` time (%s) cannot be "
                                    "after `until` time (%s)",
                                    rd->since.shown, rd->until.shown);
        return 0;
}

/* History (with --since or --until, Docker's rule), then, unless --until is past, what
 * comes. */
static int stream(struct cli *cli, struct reader *rd, struct err *err)
{
        bool past = rd->until.set && rd->until.ns < util_now_ns();
        _cleanup_free_ char *dir = events_dir(cli);
        struct err ignored = {0};
        struct journal j;
        int r;

        /* The watch needs the directory; a journal nobody wrote yet has none. */
        if (!past && dir)
                fs_mkdir_p(dir, 0700, &ignored);
        r = journal_open(cli, &j, rd, rd->since.set || rd->until.set);
        if (r < 0)
                err_set(err, r, "reading the event journal");
        else if (!past && !rd->failed)
                r = follow(cli, &j, rd, err);
        journal_close(&j);
        if (r >= 0 && rd->failed)
                return fail_printed(cli, 1, err, "%s", err->msg);
        return r;
}

static int run_events(struct cli *cli, const char *name, int argc, char **argv, struct err *err)
{
        struct {
                char **filters;
                char *format, *since, *until;
        } o = {0};
        static const struct opt_def defs[] = {
                {"filter", 'f', OPT_LIST, offsetof(__typeof__(o), filters)},
                {"format", 0, OPT_STR, offsetof(__typeof__(o), format)},
                {"since", 0, OPT_STR, offsetof(__typeof__(o), since)},
                {"until", 0, OPT_STR, offsetof(__typeof__(o), until)},
                OPT_END,
        };
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), fr, r;
        struct filters f = {0};
        struct reader rd = {.f = &f, .err = err};
        const char *bad = NULL;
        bool bad_key = false;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return k < 0 ? cli_usage_error(cli, name, err, "%s", err->msg)
                             : cli_usage_error(cli, name, err,
                                               "\"hawser %s\" accepts no arguments.", name);
        }
        r = fr = filters_parse(o.filters, &f, &bad, &bad_key);
        if (fr < 0 && !bad_key)
                r = cli_usage_error(cli, name, err,
                                    "invalid argument \"%s\" for \"-f, --filter\" flag: bad format "
                                    "of filter (expected name=value)",
                                    bad);
        /* The order of Docker's checks: the CLI's (format, times), then its daemon's. */
        else if ((r = prepare_format(cli, o.format, &rd, err)) >= 0 &&
                 (r = prepare_times(cli, o.since, o.until, &rd, err)) >= 0)
                /* Docker's daemon ignores a key it does not know; a typo filtering nothing
                 * silently is worse than its message for other lists. */
                r = fr < 0 ? fail_printed(cli, 1, err,
                                          "Error response from daemon: invalid filter '%.*s'",
                                          (int)strcspn(bad, "="), bad)
                           : stream(cli, &rd, err);
        template_free(rd.t);
        filters_free(&f);
        opt_free_lists(defs, &o);
        return r;
}

int events_follow(const struct cli *cli, void (*fn)(const struct jv *ev, void *ud), void *ud,
                  struct err *err)
{
        struct filters f = {0};
        struct reader rd = {.f = &f, .err = err, .each = fn, .ud = ud};
        _cleanup_free_ char *dir = events_dir(cli);
        struct err ignored = {0};
        struct journal j;
        int r;

        /* The watch needs the directory; a journal nobody wrote yet has none. */
        if (dir)
                fs_mkdir_p(dir, 0700, &ignored);
        r = journal_open(cli, &j, &rd, false);
        if (r < 0)
                err_set(err, r, "reading the event journal");
        else
                r = follow(cli, &j, &rd, err);
        journal_close(&j);
        return r;
}

int cmd_events(struct cli *cli, int argc, char **argv, struct err *err)
{
        return run_events(cli, "events", argc, argv, err);
}

int cmd_system_events(struct cli *cli, int argc, char **argv, struct err *err)
{
        return run_events(cli, "system events", argc, argv, err);
}
