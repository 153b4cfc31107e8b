#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"

/* Docker's json-file log: one JSON object a line, {"log":"...","stream":"stdout","time":"..."}.
 * Output is split at newlines; a partial line is written as its own entry. */

/* Appends data from stream ("stdout"/"stderr") with the current time. Errors are ignored:
 * a full disk must not stop the container. */
void logfile_append(int fd, const char *stream, const char *data, size_t len);

struct logfile_entry {
        const char *stream; /* borrowed */
        const char *log;    /* borrowed, may lack a final newline */
        size_t len;
        int64_t time_ns;
        const struct jv *attrs; /* borrowed: the entry's "attrs" object, or NULL */
};

/* Parses one line of the log; -EINVAL if it is not an entry. Entries borrow from *owner,
 * which the caller frees with jv_put (pass its address). */
int logfile_parse_line(const char *line, struct logfile_entry *ret, void **owner);
