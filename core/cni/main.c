/* hawser-cni's entry: environment and stdin in, a result or a CNI error out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/cni.h"
#include "net/nft.h"
#include "internal.h"

extern char **environ;

/* The network configuration is a few KiB; a runtime that sends more than this is broken. */
#define STDIN_MAX (1 << 20)

static int read_stdin(char **ret, struct err *err)
{
        struct util_buf b = {0};
        char chunk[4096];
        size_t total = 0;
        ssize_t n;

        while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (total += (size_t)n) > STDIN_MAX) {
                        util_buf_free(&b);
                        return err_set(err, n < 0 ? -errno : -EFBIG,
                                       "reading the network configuration from stdin");
                }
                util_buf_add(&b, chunk, (size_t)n);
        }
        *ret = strdup(util_buf_str(&b));
        util_buf_free(&b);
        return *ret ? 0 : -ENOMEM;
}

static void print_error(const struct cni_req *q, const struct err *err, const char *version)
{
        _cleanup_jv_ struct jv *d = jv_new_object();
        int code = q->code ? q->code : err->code == EAGAIN ? CNI_E_AGAIN : CNI_E_PLUGIN;

        if (version && *version)
                jv_set_str(d, "cniVersion", version);
        jv_set_int(d, "code", code);
        jv_set_str(d, "msg", err->msg[0] ? err->msg : strerror(err->code));
        printf("%s\n", jv_to_string(d, false));
}

/* STATUS: ready when the plugin can talk to nf_tables (the one thing every ADD needs). */
static int status(struct cni_req *q, struct err *err)
{
        int r = net_nft_table_present_in(CNI_TABLE, err);

        if (r < 0)
                return cni_fail(q, err, 50, "plugin not available: %s", err->msg);
        return 0;
}

static int version(struct cni_req *q, const char *text, struct err *err)
{
        _cleanup_jv_ struct jv *in = NULL, *out = NULL;
        const char *v = NULL;

        if (text && *text && strspn(text, " \t\r\n") != strlen(text)) {
                if (jv_parse(text, &in, err) < 0)
                        return cni_fail(q, err, CNI_E_DECODE, "decoding the version request");
                v = jv_get_str(in, "cniVersion");
        }
        out = cni_version_doc(v);
        printf("%s\n", jv_to_string(out, false));
        return 0;
}

static int dispatch(struct cni_req *q, const char *text, struct cni_conf *c, struct jv **ret,
                    struct err *err)
{
        int r;

        if (q->cmd == CNI_CMD_VERSION)
                return version(q, text, err);
        r = cni_conf_parse(q, text, c, err);
        if (r < 0)
                return r;
        switch (q->cmd) {
        case CNI_CMD_ADD:
                return cni_add(q, c, ret, err);
        case CNI_CMD_DEL:
                return cni_del(q, c, err);
        case CNI_CMD_CHECK:
                return cni_check(q, c, err);
        case CNI_CMD_STATUS:
                return status(q, err);
        case CNI_CMD_GC:
                return cni_gc(c, err);
        case CNI_CMD_VERSION:
                break;
        }
        return 0;
}

int cni_main(int argc, char **argv)
{
        struct cni_req q = {0};
        struct cni_conf c = {0};
        _cleanup_free_ char *text = NULL;
        _cleanup_jv_ struct jv *out = NULL;
        struct err err = {0};
        int r;

        (void)argc;
        (void)argv;
        r = cni_env_parse(environ, &q, &err);
        if (r >= 0 && read_stdin(&text, &err) < 0)
                r = cni_fail(&q, &err, CNI_E_DECODE, "%s", "reading the network configuration");
        if (r >= 0)
                r = dispatch(&q, text, &c, &out, &err);
        if (r < 0)
                print_error(&q, &err, c.version);
        else if (out)
                printf("%s\n", jv_to_string(out, false));
        cni_conf_done(&c);
        fflush(stdout);
        return r < 0 ? 1 : 0;
}
