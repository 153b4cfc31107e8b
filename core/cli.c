#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "cli.h"

static char *vpath(const char *base, const char *fmt, va_list ap)
{
        char rel[PATH_MAX];

        vsnprintf(rel, sizeof(rel), fmt, ap);
        return util_printf("%s/%s", base, rel);
}

char *cli_root_path(const struct cli *cli, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = vpath(cli->root, fmt, ap);
        va_end(ap);
        return p;
}

char *cli_runroot_path(const struct cli *cli, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = vpath(cli->runroot, fmt, ap);
        va_end(ap);
        return p;
}

int cli_usage_error(struct cli *cli, const char *cmd, struct err *err, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cli->usage = true;
        return err_set(err, -EINVAL, "%s\nSee 'hawser %s --help'.", msg, cmd);
}
