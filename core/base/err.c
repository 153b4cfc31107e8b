#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static int err_vset(struct err *err, int code, const char *fmt, va_list ap)
{
        if (code > 0)
                code = -code;
        if (code == 0)
                code = -EIO;
        err->code = -code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
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

int err_errno(struct err *err, const char *fmt, ...)
{
        int code = errno ? errno : EIO;
        char ctx[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        return err_set(err, -code, "%s: %s", ctx, strerror(code));
}

int err_wrap(struct err *err, const char *fmt, ...)
{
        char ctx[ERR_MSG_MAX], old[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        /* Truncation is acceptable: the innermost cause is at the end and the message is
         * bounded so that it can cross the sync socket. */
        {
                size_t n = strnlen(ctx, sizeof(err->msg) - 1);
                memcpy(err->msg, ctx, n);
                if (n + 2 < sizeof(err->msg)) {
                        memcpy(err->msg + n, ": ", 2);
                        n += 2;
                }
                size_t m = strnlen(old, sizeof(old) - 1);
                if (m > sizeof(err->msg) - 1 - n)
                        m = sizeof(err->msg) - 1 - n;
                memcpy(err->msg + n, old, m);
                err->msg[n + m] = '\0';
        }
        if (err->code == 0)
                err->code = EIO;
        return -err->code;
}

void err_clear(struct err *err)
{
        err->code = 0;
        err->msg[0] = '\0';
}
