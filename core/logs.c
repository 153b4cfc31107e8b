#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "gzip.h"
#include "cgroup.h"
#include "commands.h"
#include "lifecycle.h"
#include "logfile.h"
#include "monitor.h"
#include "opt.h"
#include "teardown.h"

struct logs_opts {
        bool follow, timestamps, details;
        char *tail, *since, *until;
};

/* Which entries to print: [since, until] in ns since the epoch (0: no bound). */
struct window {
        int64_t since, until;
        bool timestamps, details;
};

static int bad_time(const char *flag, const char *value, struct err *err)
{
        return err_set(err, -EINVAL,
                       "invalid value for \"%s\": failed to parse value as time or duration: "
                       "\"%s\"",
                       flag, value);
}

static bool in_window(const struct window *w, int64_t t)
{
        return (!w->since || t >= w->since) && (!w->until || t <= w->until);
}

/* --details: the entry's attributes (--log-opt labels/env in Docker's json-file) as
 * "k=v,k2=v2" with Go's query escaping, then a space; only the space without any. */
static void print_details(FILE *out, const struct jv *attrs)
{
        _cleanup_strv_ char **keys = jv_keys(attrs);

        for (char **k = keys; k && *k; k++) {
                const char *v = jv_get_str(attrs, *k) ?: "";
                if (k != keys)
                        fputc(',', out);
                for (int pass = 0; pass < 2; pass++) {
                        if (pass)
                                fputc('=', out);
                        for (const unsigned char *c = (const unsigned char *)(pass ? v : *k); *c;
                             c++) {
                                if (isalnum(*c) || strchr("-_.~", *c))
                                        fputc(*c, out);
                                else if (*c == ' ')
                                        fputc('+', out);
                                else
                                        fprintf(out, "%%%02X", *c);
                        }
                }
        }
        fputc(' ', out);
}

static void print_entry(const struct logfile_entry *e, const struct window *w)
{
        FILE *out = strcmp(e->stream, "stderr") ? stdout : stderr;
        bool timestamps = w->timestamps;

        /* Docker's RFC3339NanoFixed: always nine digits of fraction. */
        if (timestamps) {
                time_t secs = (time_t)(e->time_ns / 1000000000);
                struct tm tm;
                char ts[40];
                gmtime_r(&secs, &tm);
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                fprintf(out, "%s.%09lldZ ", ts, (long long)(e->time_ns % 1000000000));
        }
        if (w->details)
                print_details(out, e->attrs);
        fwrite(e->log, 1, e->len, out);
        fflush(out);
}

/* Prints complete lines from buf; returns how many bytes were consumed. */
static size_t print_lines(char *buf, size_t len, const struct window *w, long long skip)
{
        size_t used = 0;
        long long idx = 0;

        while (used < len) {
                char *nl = memchr(buf + used, '\n', len - used);
                struct logfile_entry e;
                void *owner = NULL;
                if (!nl)
                        break;
                *nl = '\0';
                if (idx++ >= skip && logfile_parse_line(buf + used, &e, &owner) == 0) {
                        if (in_window(w, e.time_ns))
                                print_entry(&e, w);
                        jv_put(owner);
                }
                used = (size_t)(nl - buf) + 1;
        }
        return used;
}

static long long count_lines(const char *buf, size_t len)
{
        long long n = 0;

        for (size_t i = 0; i < len; i++)
                n += buf[i] == '\n';
        return n;
}

static int follow(int fd, const struct container *c, const struct window *w)
{
        char buf[65536];
        size_t have = 0;

        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n > 0) {
                        size_t used;
                        have += (size_t)n;
                        used = print_lines(buf, have, w, 0);
                        memmove(buf, buf + used, have - used);
                        have -= used;
                        if (have == sizeof(buf))
                                have = 0;
                        continue;
                }
                {
                        struct err e = {0};
                        /* The monitor writes every byte before it exits, so one more read
                         * after it is gone catches the tail. */
                        if (lifecycle_wait_monitor(c, 100, &e) == 0) {
                                while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
                                        have += (size_t)n;
                                        have -= print_lines(buf, have, w, 0);
                                }
                                return 0;
                        }
                }
        }
}

int cmd_logs(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"follow", 'f', OPT_BOOL, offsetof(struct logs_opts, follow)},
                {"timestamps", 't', OPT_BOOL, offsetof(struct logs_opts, timestamps)},
                {"details", 0, OPT_BOOL, offsetof(struct logs_opts, details)},
                {"tail", 'n', OPT_STR, offsetof(struct logs_opts, tail)},
                {"since", 0, OPT_STR, offsetof(struct logs_opts, since)},
                {"until", 0, OPT_STR, offsetof(struct logs_opts, until)},
                OPT_END,
        };
        struct logs_opts o = {0};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err);
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        struct container *c = NULL;
        long long tail = -1, total, skip = 0;
        struct window w = {0};
        size_t len = 0;
        int r;

        if (n < 0)
                return cli_usage_error(cli, "logs", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "logs", err,
                                       "\"hawser logs\" requires exactly 1 argument.");
        if (o.tail && strcmp(o.tail, "all") && util_parse_ll(o.tail, 0, 1LL << 40, &tail) < 0)
                return err_set(err, -EINVAL, "invalid value for \"tail\": %s", o.tail);
        w.timestamps = o.timestamps;
        w.details = o.details;
        if (o.since && util_parse_docker_time(o.since, &w.since) < 0)
                return bad_time("since", o.since, err);
        if (o.until && util_parse_docker_time(o.until, &w.until) < 0)
                return bad_time("until", o.until, err);
        r = teardown_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        if (!strcmp(jv_get_str(jv_path(c->doc, "HostConfig.LogConfig"), "Type") ?: "", "none")) {
                container_free(c);
                return err_set(err, -ENOTSUP, "configured logging driver does not support reading");
        }
        path = monitor_log_path(c);
        /* Rotated files first, oldest first (LOG.N ... LOG.1, each LOG.N.gz when compressed),
         * then the current one. */
        for (int k = 99; path && k >= 1; k--) {
                _cleanup_free_ char *old = util_printf("%s.%d", path, k), *t = NULL,
                                    *gz = util_printf("%s.%d.gz", path, k);
                _cleanup_close_ int gzfd = gz ? open(gz, O_RDONLY | O_CLOEXEC) : -1;
                size_t tl = 0;
                struct err ignored = {0};
                char *nt;
                if (gzfd >= 0 ? gzip_read_all(gzfd, &t, &tl, &ignored) < 0
                              : !old || fs_read_file(old, &t, &tl, &ignored) < 0)
                        continue;
                if (!tl)
                        continue;
                nt = realloc(text, len + tl + 1);
                if (!nt)
                        break;
                text = nt;
                memcpy(text + len, t, tl);
                len += tl;
        }
        fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
                struct stat st;
                if (fstat(fd, &st) == 0 && st.st_size > 0) {
                        char *nt = realloc(text, len + (size_t)st.st_size + 1);
                        if (nt) {
                                text = nt;
                                if (fs_read_all(fd, text + len, (size_t)st.st_size) == st.st_size)
                                        len += (size_t)st.st_size;
                        }
                }
        }
        total = count_lines(text, len);
        if (tail >= 0 && tail < total)
                skip = total - tail;
        if (len)
                len = print_lines(text, len, &w, skip), (void)len;
        /* Following stops at --until, as Docker's does. */
        if (o.follow && fd >= 0 && container_is_running(c) && (!w.until || w.until > util_now_ns()))
                follow(fd, c, &w);
        container_free(c);
        return 0;
}
