#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "events.h"
#include "image.h"

char *events_dir(const struct cli *cli)
{
        return cli_root_path(cli, "events");
}

char *events_path(const struct cli *cli, int generation)
{
        return generation ? cli_root_path(cli, "events/events.log.%d", generation)
                          : cli_root_path(cli, "events/events.log");
}

/* An event is never worth a failed command: it is dropped, and said only when debugging. */
static void dropped(const char *type, const char *action, const char *why, int e)
{
        const char *debug = getenv("HAWSER_DEBUG");
        char buf[64];

        if (debug && *debug)
                fprintf(stderr, "hawser: debug: event %s %s dropped: %s: %s\n", type, action, why,
                        util_go_strerror(e, buf));
}

static int open_journal(const char *path, const char *dir)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0 && errno == ENOENT && (mkdir(dir, 0700) == 0 || errno == EEXIST))
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd < 0 ? -errno : fd;
}

/* The file behind fd is full: one writer, under the file's flock, moves it to events.log.1;
 * the others, finding path naming another file (or none) once they hold the lock, leave it. */
static int rotate(int fd, const char *path, const char *previous)
{
        struct stat mine, now;
        int r = 0;

        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return -errno;
        if (fstat(fd, &mine) == 0 && stat(path, &now) == 0 && mine.st_ino == now.st_ino &&
            mine.st_dev == now.st_dev && rename(path, previous) < 0)
                r = -errno;
        flock(fd, LOCK_UN);
        return r;
}

/* One line, one write(): O_APPEND makes concurrent appends land whole, one after another. */
static int append(const struct cli *cli, const char *line, size_t len)
{
        _cleanup_free_ char *dir = events_dir(cli), *path = events_path(cli, 0),
                            *previous = events_path(cli, 1);
        ssize_t n;

        if (!dir || !path || !previous)
                return -ENOMEM;
        for (int tries = 0;; tries++) {
                _cleanup_close_ int fd = open_journal(path, dir);
                struct stat st;
                if (fd < 0)
                        return fd;
                /* A file that rotating did not shrink (another writer's races) takes the line
                 * anyway after a few tries: the bound is then passed by a line or so. */
                if (tries < 3 && fstat(fd, &st) == 0 && st.st_size > 0 &&
                    (size_t)st.st_size + len > EVENTS_MAX_BYTES) {
                        int r = rotate(fd, path, previous);
                        if (r < 0)
                                return r;
                        continue;
                }
                do
                        n = write(fd, line, len);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return -errno;
                return (size_t)n == len ? 0 : -ENOSPC;
        }
}

void events_log(const struct cli *cli, const char *type, const char *action, const char *id,
                const struct jv *attrs)
{
        _cleanup_jv_ struct jv *ev = jv_new_object(), *actor = jv_new_object();
        _cleanup_free_ char *line = NULL;
        int64_t now = util_now_ns();
        int r;

        jv_set_str(ev, "Type", type);
        jv_set_str(ev, "Action", action);
        jv_set_str(actor, "ID", id ? id : "");
        jv_set(actor, "Attributes", attrs ? jv_copy(attrs) : jv_new_object());
        jv_set(ev, "Actor", jv_ref(actor));
        jv_set_str(ev, "scope", "local");
        jv_set_int(ev, "time", now / 1000000000);
        jv_set_int(ev, "timeNano", now);
        line = util_printf("%s\n", jv_to_string(ev, false));
        if (!line)
                r = -ENOMEM;
        else if (strlen(line) > EVENTS_LINE_MAX)
                r = -E2BIG;
        else
                r = append(cli, line, strlen(line));
        if (r < 0)
                dropped(type, action, "writing the journal", -r);
}

/* Adds key, value pairs (NULL-ended) to attrs. */
static void add_pairs(struct jv *attrs, va_list ap)
{
        const char *k, *v;

        while ((k = va_arg(ap, const char *))) {
                v = va_arg(ap, const char *);
                if (v)
                        jv_set_str(attrs, k, v);
        }
}

void events_logv(const struct cli *cli, const char *type, const char *action, const char *id, ...)
{
        _cleanup_jv_ struct jv *attrs = jv_new_object();
        va_list ap;

        va_start(ap, id);
        add_pairs(attrs, ap);
        va_end(ap);
        events_log(cli, type, action, id, attrs);
}

/* Docker's copyAttributes: the string values of labels. */
static void add_labels(struct jv *attrs, const struct jv *labels)
{
        _cleanup_strv_ char **keys = jv_keys(labels);

        for (char **k = keys; k && *k; k++)
                if (jv_get_str(labels, *k))
                        jv_set_str(attrs, *k, jv_get_str(labels, *k));
}

void events_container(const struct cli *cli, const struct container *c, const char *action, ...)
{
        _cleanup_jv_ struct jv *attrs = jv_new_object();
        const struct jv *cfg = jv_get(c->doc, "Config");
        const char *image = jv_get_str(cfg, "Image");
        va_list ap;

        add_labels(attrs, jv_get(cfg, "Labels"));
        if (image && *image)
                jv_set_str(attrs, "image", image);
        jv_set_str(attrs, "name", container_name(c));
        va_start(ap, action);
        add_pairs(attrs, ap);
        va_end(ap);
        events_log(cli, "container", action, c->id, attrs);
}

/* Docker's attributes of a volume mount point: its mount event's, or its unmount's. */
static void volume_events(const struct cli *cli, const struct container *c, const char *action)
{
        const struct jv *ms = jv_get(c->doc, "Mounts");
        bool mount = !strcmp(action, "mount");

        for (size_t i = 0; i < jv_len(ms); i++) {
                const struct jv *mt = jv_at(ms, i);
                const char *driver = jv_get_str(mt, "Driver");
                if (strcmp(jv_get_str(mt, "Type") ?: "", "volume") || !jv_get_str(mt, "Name"))
                        continue;
                events_logv(cli, "volume", action, jv_get_str(mt, "Name"), "container", c->id,
                            "driver", driver && *driver ? driver : "local", "destination",
                            mount ? jv_get_str(mt, "Destination") ?: "" : NULL, "propagation",
                            mount ? jv_get_str(mt, "Propagation") ?: "" : NULL, "read/write",
                            mount ? jv_get_bool(mt, "RW") ? "true" : "false" : NULL, NULL);
        }
}

void events_started(const struct cli *cli, const struct container *c)
{
        volume_events(cli, c, "mount");
        events_container(cli, c, "start", NULL);
}

void events_died(const struct cli *cli, const struct container *c, int code)
{
        const char *started = jv_get_str(jv_get(c->doc, "State"), "StartedAt");
        int64_t since = 0, ran;
        char exit_code[16], duration[24];

        if (!started || util_parse_time(started, &since) < 0)
                since = 0;
        ran = since > 0 && util_now_ns() > since ? (util_now_ns() - since) / 1000000000 : 0;
        snprintf(exit_code, sizeof(exit_code), "%d", code);
        snprintf(duration, sizeof(duration), "%lld", (long long)ran);
        events_container(cli, c, "die", "exitCode", exit_code, "execDuration", duration, NULL);
        volume_events(cli, c, "unmount");
}

void events_image(const struct cli *cli, const char *id, const char *actor, const char *name,
                  const char *action)
{
        _cleanup_jv_ struct jv *attrs = jv_new_object(), *cfg = NULL;
        const char *hex = strncmp(id, "sha256:", 7) ? id : id + 7;
        struct err ignored = {0};
        char full[72];

        snprintf(full, sizeof(full), "sha256:%s", hex);
        if (image_load_config(cli, hex, &cfg, &ignored) == 0)
                add_labels(attrs, jv_path(cfg, "config.Labels"));
        jv_set_str(attrs, "name", name ? name : full);
        events_log(cli, "image", action, actor ? actor : full, attrs);
}

int events_parse_line(const char *line, struct jv **ret, int64_t *ret_ns)
{
        struct err ignored = {0};
        struct jv *ev = NULL;
        const struct jv *actor;

        if (line[0] != '{' || jv_parse(line, &ev, &ignored) < 0)
                return -EINVAL;
        actor = jv_type(ev) == JV_OBJECT ? jv_get(ev, "Actor") : NULL;
        if (!actor || !jv_get_str(ev, "Type") || !jv_get_str(ev, "Action") ||
            jv_type(actor) != JV_OBJECT || !jv_get_str(actor, "ID") ||
            jv_type(jv_get(ev, "timeNano")) != JV_INT) {
                jv_put(ev);
                return -EINVAL;
        }
        *ret_ns = jv_get_int(ev, "timeNano", 0);
        *ret = ev;
        return 0;
}
