#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/util.h"
#include "logfile.h"

static void append_one(int fd, const char *stream, const char *data, size_t len, const char *ts)
{
        _cleanup_jv_ struct jv *o = jv_new_object();
        const char *s;
        size_t n;

        if (!o)
                return;
        jv_set(o, "log", jv_new_stringn(data, len));
        jv_set_str(o, "stream", stream);
        jv_set_str(o, "time", ts);
        s = jv_to_string(o, false);
        n = strlen(s);
        {
                char *line = malloc(n + 1);
                if (!line)
                        return;
                memcpy(line, s, n);
                line[n] = '\n';
                (void)fs_write_all(fd, line, n + 1);
                free(line);
        }
}

void logfile_append(int fd, const char *stream, const char *data, size_t len)
{
        char ts[40];

        if (fd < 0)
                return;
        util_format_time(util_now_ns(), ts);
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t)(nl - data) + 1 : len;
                append_one(fd, stream, data, n, ts);
                data += n;
                len -= n;
        }
}

int logfile_parse_line(const char *line, struct logfile_entry *ret, void **owner)
{
        struct jv *o = NULL;
        struct err e = {0};
        const char *log, *stream, *t;
        int64_t ns = 0;

        if (jv_parse(line, &o, &e) < 0)
                return -EINVAL;
        log = jv_get_str(o, "log");
        stream = jv_get_str(o, "stream");
        t = jv_get_str(o, "time");
        if (!log || !stream || (t && util_parse_time(t, &ns) < 0)) {
                jv_put(o);
                return -EINVAL;
        }
        *ret = (struct logfile_entry){.stream = stream,
                                      .log = log,
                                      .len = jv_str_len(jv_get(o, "log")),
                                      .time_ns = ns,
                                      .attrs = jv_get(o, "attrs")};
        *owner = o;
        return 0;
}
