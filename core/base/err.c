#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Shortest part of a word kept at each end when it is cut. */
#define KEEP_END 24

/* Copies s into out (cap bytes). A message too long for out has its longest words (paths,
 * as a rule) cut in the middle, "…" marking the cut, until it fits: the beginning, which
 * says what was done, and the end, which says why it failed, both survive. */
static void fit(char *out, size_t cap, const char *s)
{
        size_t len = strlen(s), w;
        char *buf;

        if (len < cap) {
                memcpy(out, s, len + 1);
                return;
        }
        buf = strdup(s);
        while (buf && len >= cap) {
                size_t best = 0, best_len = 0, excess = len - (cap - 1), keep, head;
                for (size_t i = 0; buf[i]; i += w ? w : 1) {
                        w = strcspn(buf + i, " ");
                        if (w > best_len)
                                best = i, best_len = w;
                }
                if (best_len < 2 * KEEP_END + 4)
                        break;
                /* The word keeps keep bytes around a 3-byte "…". */
                keep = best_len > excess + 3 + 2 * KEEP_END ? best_len - excess - 3 : 2 * KEEP_END;
                head = keep / 2;
                memcpy(buf + best + head, "\xe2\x80\xa6", 3);
                memmove(buf + best + head + 3, buf + best + best_len - (keep - head),
                        len - (best + best_len - (keep - head)) + 1);
                len = strlen(buf);
        }
        snprintf(out, cap, "%s", buf ? buf : s);
        free(buf);
}

static int err_vset(struct err *err, int code, const char *fmt, va_list ap)
{
        char *s = NULL;

        /* Returns are negative errnos; struct err keeps the positive one. */
        assert(code <= 0);
        if (code == 0)
                code = -EIO;
        err->code = -code;
        err->client = false;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        if (s)
                fit(err->msg, sizeof(err->msg), s);
        else
                snprintf(err->msg, sizeof(err->msg), "%s", fmt);
        free(s);
        return code;
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = err_vset(err, code, fmt, ap);
        va_end(ap);
        return r;
}

int err_client(struct err *err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = err_vset(err, code, fmt, ap);
        va_end(ap);
        err->client = true;
        return r;
}

int err_errno(struct err *err, const char *fmt, ...)
{
        int code = errno ? errno : EIO;
        char *ctx = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        if (vasprintf(&ctx, fmt, ap) < 0)
                ctx = NULL;
        va_end(ap);
        r = err_set(err, -code, "%s: %s", ctx ? ctx : fmt, strerror(code));
        free(ctx);
        return r;
}

int err_wrap(struct err *err, const char *fmt, ...)
{
        char *ctx = NULL, old[ERR_MSG_MAX];
        bool client = err->client;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&ctx, fmt, ap) < 0)
                ctx = NULL;
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        /* The innermost cause stays at the end; the message stays bounded so that it can
         * cross the sync socket. */
        err_set(err, err->code ? -err->code : -EIO, "%s: %s", ctx ? ctx : fmt, old);
        err->client = client;
        free(ctx);
        return -err->code;
}

void err_clear(struct err *err)
{
        err->code = 0;
        err->client = false;
        err->msg[0] = '\0';
}
