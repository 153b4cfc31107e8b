/* `hawser stats`: Docker's live resource table (CPU %, MEM USAGE / LIMIT, MEM %, NET I/O,
 * BLOCK I/O, PIDS), read from the kernel. hawser has no daemon keeping counters: each
 * sample reads the container's processes (every process of its PID namespace: CPU time,
 * block I/O, tasks), its network namespace's interfaces, and its memory cgroup when it has
 * one (limits), else the proportional share (Pss) of its processes' memory. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "commands.h"
#include "container.h"
#include "opt.h"
#include "template.h"
#include "teardown.h"

/* Docker's CLI samples once a second; the first figure of a --no-stream is over this. */
#define FIRST_SAMPLE_MS 500
#define STREAM_MS       1000

struct sample {
        int64_t at;             /* CLOCK_MONOTONIC ns */
        unsigned long long cpu; /* ns of CPU time of its processes */
        long long mem, limit;   /* bytes */
        unsigned long long rx, tx, rd, wr;
        long long pids; /* tasks */
        bool running;
};

struct stat_row {
        struct container *c;
        struct sample prev, now;
};

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The value after "key" (a "Key: value" or "key value" line) of a small /proc file. */
static long long proc_value(const char *text, const char *key)
{
        size_t n = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (!strncmp(p, key, n))
                        return atoll(p + n + strspn(p + n, " \t"));
        return 0;
}

static char *proc_read(pid_t pid, const char *file)
{
        char path[64];
        char *text = NULL;
        struct err ignored = {0};

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        if (fs_read_file(path, &text, NULL, &ignored) < 0)
                return NULL;
        return text;
}

/* One process: its CPU time and its reaped children's, tasks, block I/O and Pss. */
static void sample_process(pid_t pid, struct sample *s, bool want_mem)
{
        _cleanup_free_ char *stat = proc_read(pid, "stat"), *status = proc_read(pid, "status"),
                            *io = proc_read(pid, "io");
        long hz = sysconf(_SC_CLK_TCK);
        const char *p = stat ? strrchr(stat, ')') : NULL;
        unsigned long long t[4] = {0};

        /* After the command: state is field 3, utime..cstime fields 14-17. */
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &t[0],
                   &t[1], &t[2], &t[3]) == 4 &&
            hz > 0)
                s->cpu += (t[0] + t[1] + t[2] + t[3]) * (1000000000ULL / (unsigned long long)hz);
        if (status)
                s->pids += proc_value(status, "Threads:");
        if (io) {
                s->rd += (unsigned long long)proc_value(io, "read_bytes:");
                s->wr += (unsigned long long)proc_value(io, "write_bytes:");
        }
        if (want_mem) {
                _cleanup_free_ char *roll = proc_read(pid, "smaps_rollup");
                if (roll)
                        s->mem += proc_value(roll, "Pss:") * 1024;
        }
}

/* Received and sent bytes of the interfaces of pid's network namespace, but lo. */
static void sample_net(pid_t pid, struct sample *s)
{
        _cleanup_free_ char *dev = proc_read(pid, "net/dev");
        const char *line = dev ? strchr(dev, '\n') : NULL;

        /* Two header lines, then "  name: rx_bytes packets ... (8 fields) tx_bytes ...". */
        line = line ? strchr(line + 1, '\n') : NULL;
        while (line && *++line) {
                const char *colon = strchr(line, ':');
                unsigned long long rx, tx;
                const char *name = line + strspn(line, " ");
                if (!colon)
                        break;
                if (strncmp(name, "lo:", 3) &&
                    sscanf(colon + 1, "%llu %*u %*u %*u %*u %*u %*u %*u %llu", &rx, &tx) == 2) {
                        s->rx += rx;
                        s->tx += tx;
                }
                line = strchr(line, '\n');
        }
}

static long long host_memory(void)
{
        _cleanup_free_ char *text = NULL;
        struct err ignored = {0};

        if (fs_read_file("/proc/meminfo", &text, NULL, &ignored) < 0)
                return 0;
        return proc_value(text, "MemTotal:") * 1024;
}

static void sample(const struct container *c, struct sample *s)
{
        pid_t init = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        struct err ignored = {0};
        long long limit = jv_get_int(jv_get(c->doc, "HostConfig"), "Memory", 0);
        bool cg;

        *s = (struct sample){.at = mono_ns()};
        if (!container_is_running(c) || init <= 0 ||
            cgroup_container_pids(c->cgroup, init, container_own_pidns(c), &pids, &n, &ignored) < 0)
                return;
        s->running = true;
        cg = cgroup_memory_usage(c->cgroup, &s->mem);
        for (size_t i = 0; i < n; i++)
                sample_process(pids[i], s, !cg);
        sample_net(init, s);
        s->limit = limit > 0 ? limit : host_memory();
}

static struct jv *row_doc(const struct stat_row *r, bool trunc)
{
        const struct sample *a = &r->prev, *b = &r->now;
        struct jv *o = jv_new_object();
        char buf[160], x[32], y[32];
        double cpu = 0, mem = 0;

        if (b->running && a->running && b->at > a->at && b->cpu >= a->cpu)
                cpu = (double)(b->cpu - a->cpu) * 100.0 / (double)(b->at - a->at);
        if (b->limit > 0)
                mem = (double)b->mem * 100.0 / (double)b->limit;
        snprintf(buf, sizeof(buf), "%.*s", trunc ? 12 : 64, r->c->id);
        jv_set_str(o, "Container", buf);
        jv_set_str(o, "ID", buf);
        jv_set_str(o, "Name", container_name(r->c));
        snprintf(buf, sizeof(buf), "%.2f%%", cpu);
        jv_set_str(o, "CPUPerc", buf);
        util_bytes_size(b->mem, x, sizeof(x));
        util_bytes_size(b->limit, y, sizeof(y));
        snprintf(buf, sizeof(buf), "%s / %s", x, y);
        jv_set_str(o, "MemUsage", buf);
        snprintf(buf, sizeof(buf), "%.2f%%", mem);
        jv_set_str(o, "MemPerc", buf);
        util_human_size_prec((long long)b->rx, 3, x, sizeof(x));
        util_human_size_prec((long long)b->tx, 3, y, sizeof(y));
        snprintf(buf, sizeof(buf), "%s / %s", x, y);
        jv_set_str(o, "NetIO", buf);
        util_human_size_prec((long long)b->rd, 3, x, sizeof(x));
        util_human_size_prec((long long)b->wr, 3, y, sizeof(y));
        snprintf(buf, sizeof(buf), "%s / %s", x, y);
        jv_set_str(o, "BlockIO", buf);
        snprintf(buf, sizeof(buf), "%lld", b->pids);
        jv_set_str(o, "PIDs", buf);
        return o;
}

static struct jv *headers(void)
{
        static const char *const h[][2] = {
                {"Container", "CONTAINER"},
                {"ID", "CONTAINER ID"},
                {"Name", "NAME"},
                {"CPUPerc", "CPU %"},
                {"MemUsage", "MEM USAGE / LIMIT"},
                {"MemPerc", "MEM %"},
                {"NetIO", "NET I/O"},
                {"BlockIO", "BLOCK I/O"},
                {"PIDs", "PIDS"},
        };
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(h); i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

struct stats_opts {
        bool all, no_stream, no_trunc;
        char *format;
};

/* The containers to show: those named (each must exist), or the running ones (-a: all),
 * read afresh. Rows of containers seen before keep their last sample. */
static int gather(const struct cli *cli, const struct stats_opts *o, char **names, int n,
                  struct stat_row **rows, size_t *nrows, struct err *err)
{
        struct stat_row *next = NULL;
        size_t count = 0;
        struct container **all = NULL;
        int r = 0;

        if (n > 0) {
                next = calloc((size_t)n, sizeof(*next));
                for (int i = 0; next && r >= 0 && i < n; i++) {
                        r = teardown_find(cli, names[i], &next[i].c, err);
                        count += r >= 0;
                }
        } else {
                r = teardown_list(cli, &all, err);
                for (size_t i = 0; r >= 0 && all[i]; i++) {
                        if (!o->all && !container_is_running(all[i]))
                                continue;
                        next = realloc(next, (count + 1) * sizeof(*next));
                        if (!next)
                                break;
                        next[count++] = (struct stat_row){.c = all[i]};
                        all[i] = NULL;
                }
        }
        if (all)
                container_list_free(all);
        if (r >= 0 && !next && (n > 0 || count))
                r = err_set(err, -ENOMEM, "listing containers");
        for (size_t i = 0; r >= 0 && i < count; i++)
                for (size_t k = 0; k < *nrows; k++)
                        if (!strcmp((*rows)[k].c->id, next[i].c->id))
                                next[i].now = (*rows)[k].now;
        for (size_t k = 0; k < *nrows; k++)
                container_free((*rows)[k].c);
        free(*rows);
        if (r < 0) {
                for (size_t i = 0; i < count; i++)
                        container_free(next[i].c);
                free(next);
                *rows = NULL;
                *nrows = 0;
                return r;
        }
        *rows = next;
        *nrows = count;
        return 0;
}

static int show(const struct stats_opts *o, struct stat_row *rows, size_t n, bool clear,
                struct err *err)
{
        _cleanup_jv_ struct jv *h = headers();
        struct jv **docs = calloc(n ? n : 1, sizeof(*docs));
        const char *fmt = o->format ? o->format
                                    : "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t"
                                      "{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
        int r;

        if (!docs)
                return err_set(err, -ENOMEM, "formatting");
        for (size_t i = 0; i < n; i++)
                docs[i] = row_doc(&rows[i], !o->no_trunc);
        /* On a terminal the table is redrawn in place, as Docker's CLI does. */
        if (clear)
                fputs("\033[2J\033[H", stdout);
        r = template_print_rows(fmt, h, docs, n, err);
        fflush(stdout);
        for (size_t i = 0; i < n; i++)
                jv_put(docs[i]);
        free(docs);
        return r;
}

int cmd_stats(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"all", 'a', OPT_BOOL, offsetof(struct stats_opts, all)},
                {"no-stream", 0, OPT_BOOL, offsetof(struct stats_opts, no_stream)},
                {"no-trunc", 0, OPT_BOOL, offsetof(struct stats_opts, no_trunc)},
                {"format", 0, OPT_STR, offsetof(struct stats_opts, format)},
                OPT_END,
        };
        struct stats_opts o = {0};
        struct stat_row *rows = NULL;
        size_t nrows = 0;
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;
        bool tty = isatty(STDOUT_FILENO);

        if (n < 0)
                return cli_usage_error(cli, "stats", err, "%s", err->msg);
        for (;;) {
                r = gather(cli, &o, argv + 1, n, &rows, &nrows, err);
                if (r < 0)
                        break;
                /* A row new to the table gets a first sample a moment before. */
                for (size_t i = 0; i < nrows; i++)
                        if (!rows[i].now.at)
                                sample(rows[i].c, &rows[i].now);
                usleep(FIRST_SAMPLE_MS * 1000);
                for (size_t i = 0; i < nrows; i++) {
                        rows[i].prev = rows[i].now;
                        sample(rows[i].c, &rows[i].now);
                }
                r = show(&o, rows, nrows, tty && !o.no_stream, err);
                if (r < 0 || o.no_stream)
                        break;
                usleep((STREAM_MS - FIRST_SAMPLE_MS) * 1000);
        }
        for (size_t i = 0; i < nrows; i++)
                container_free(rows[i].c);
        free(rows);
        return r;
}
