/* What users already configured for Docker: the registries file (Docker's daemon.json keys
 * insecure-registries, registry-mirrors, max-concurrent-downloads, max-download-attempts) and ~/.docker/config.json credentials (auths, credsStore,
 * credHelpers through docker-credential-* helpers). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "internal.h"

#define DEFAULT_DOWNLOADS 3
#define DEFAULT_ATTEMPTS  5

static const char *conf_path(void)
{
        const char *p = getenv("HAWSER_REGISTRIES_CONF");

        return p && *p ? p : "/etc/hawser/registries.json";
}

int reg_conf_load(struct reg_conf *ret, struct err *err)
{
        _cleanup_jv_ struct jv *doc = NULL;
        struct reg_conf c = {
                .max_downloads = DEFAULT_DOWNLOADS,
                .max_attempts = DEFAULT_ATTEMPTS,
        };
        int r = jv_load(conf_path(), &doc, err);

        if (r == -ENOENT) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return err_wrap(err, "reading %s", conf_path());
        c.insecure = jv_to_strv(jv_get(doc, "insecure-registries"));
        c.mirrors = jv_to_strv(jv_get(doc, "registry-mirrors"));
        c.max_downloads = (int)jv_get_int(doc, "max-concurrent-downloads", DEFAULT_DOWNLOADS);
        c.max_attempts = (int)jv_get_int(doc, "max-download-attempts", DEFAULT_ATTEMPTS);
        if (c.max_downloads < 1 || c.max_attempts < 1) {
                reg_conf_free(&c);
                return err_set(err, -EINVAL,
                               "%s: max-concurrent-downloads and max-download-attempts must be "
                               "at least 1",
                               conf_path());
        }
        *ret = c;
        return 0;
}

void reg_conf_free(struct reg_conf *c)
{
        util_strv_free(c->insecure);
        util_strv_free(c->mirrors);
        *c = (struct reg_conf){0};
}

/* The host part of "name[:port]" or "[v6]:port" into out. */
static void host_only(const char *host, char *out, size_t len)
{
        const char *end;

        if (host[0] == '[' && (end = strchr(host, ']'))) {
                snprintf(out, len, "%.*s", (int)(end - host - 1), host + 1);
                return;
        }
        end = strrchr(host, ':');
        snprintf(out, len, "%.*s", (int)(end ? (size_t)(end - host) : strlen(host)), host);
}

static bool in_cidr(const char *cidr, const char *addr)
{
        struct in_addr net, a;
        char buf[64];
        const char *slash = strchr(cidr, '/');
        long prefix;
        uint32_t mask;

        if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
                return false;
        snprintf(buf, sizeof(buf), "%.*s", (int)(slash - cidr), cidr);
        prefix = strtol(slash + 1, NULL, 10);
        if (inet_pton(AF_INET, buf, &net) != 1 || inet_pton(AF_INET, addr, &a) != 1 || prefix < 0 ||
            prefix > 32)
                return false;
        mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
        return (net.s_addr & mask) == (a.s_addr & mask);
}

bool reg_conf_insecure(const struct reg_conf *c, const char *host)
{
        char h[256];

        host_only(host, h, sizeof(h));
        if (!strcmp(h, "localhost") || !strcmp(h, "::1") || in_cidr("127.0.0.0/8", h))
                return true;
        for (char **p = c->insecure; p && *p; p++)
                if (!strcmp(*p, host) || !strcmp(*p, h) || in_cidr(*p, h))
                        return true;
        return false;
}

/* ---- credentials ---- */

void reg_creds_free(struct reg_creds *c)
{
        free(c->user);
        if (c->secret)
                explicit_bzero(c->secret, strlen(c->secret));
        free(c->secret);
        *c = (struct reg_creds){0};
}

const char *reg_creds_key(const char *host)
{
        return !strcmp(host, "docker.io") ? "https://index.docker.io/v1/" : host;
}

static char *config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
        struct passwd *pw;

        if (dir && *dir)
                return util_printf("%s/config.json", dir);
        if (!home || !*home) {
                pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : "/root";
        }
        return util_printf("%s/.docker/config.json", home);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const char *in)
{
        size_t n = strlen(in), o = 0;
        char *out = malloc(4 * ((n + 2) / 3) + 1);

        for (size_t i = 0; out && i < n; i += 3) {
                uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t)(unsigned char)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= (unsigned char)in[i + 2];
                out[o++] = b64[(v >> 18) & 63];
                out[o++] = b64[(v >> 12) & 63];
                out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? b64[v & 63] : '=';
        }
        if (out)
                out[o] = '\0';
        return out;
}

static char *base64_decode(const char *in)
{
        size_t n = strlen(in), o = 0;
        char *out = malloc(n / 4 * 3 + 4);
        uint32_t v = 0;
        int bits = 0;

        for (size_t i = 0; out && i < n && in[i] != '='; i++) {
                const char *p = strchr(b64, in[i]);
                if (!p || !in[i]) {
                        free(out);
                        return NULL;
                }
                v = v << 6 | (uint32_t)(p - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char)((v >> bits) & 0xff);
                }
        }
        if (out)
                out[o] = '\0';
        return out;
}

/* Runs docker-credential-<helper> <verb> with input on stdin; its stdout in *ret. */
static int run_helper(const char *helper, const char *verb, const char *input, char **ret,
                      struct err *err)
{
        _cleanup_free_ char *prog = util_printf("docker-credential-%s", helper);
        int in[2], out[2], status;
        char buf[4096], *acc = NULL;
        size_t n = 0;
        ssize_t k;
        pid_t pid;

        if (!prog || pipe2(in, O_CLOEXEC) < 0)
                return err_errno(err, "running %s", prog ? prog : "a credential helper");
        if (pipe2(out, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return err_errno(err, "running %s", prog);
        }
        pid = fork();
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                execlp(prog, prog, verb, (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        if (pid < 0) {
                close(in[1]);
                close(out[0]);
                return err_errno(err, "running %s", prog);
        }
        (void)fs_write_all(in[1], input, strlen(input));
        close(in[1]);
        while ((k = read(out[0], buf, sizeof(buf))) > 0) {
                char *na = realloc(acc, n + (size_t)k + 1);
                if (!na)
                        break;
                acc = na;
                memcpy(acc + n, buf, (size_t)k);
                n += (size_t)k;
                acc[n] = '\0';
        }
        close(out[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
                free(acc);
                return err_set(err, -ENOENT,
                               "error getting credentials - err: exec: \"%s\": executable file "
                               "not found in $PATH, out: ``",
                               prog);
        }
        if (WEXITSTATUS(status) != 0) {
                int r = err_set(err, -EIO,
                                "error getting credentials - err: %s %s failed, out: `%s`", prog,
                                verb, acc ? acc : "");
                free(acc);
                return r;
        }
        *ret = acc ? acc : strdup("");
        return 0;
}

static const char *helper_for(const struct jv *cfg, const char *key)
{
        const char *h = jv_get_str(jv_get(cfg, "credHelpers"), key);

        return h && *h ? h : jv_get_str(cfg, "credsStore");
}

int reg_creds_get(const char *host, struct reg_creds *ret, struct err *err)
{
        _cleanup_free_ char *path = config_path(), *out = NULL, *plain = NULL;
        _cleanup_jv_ struct jv *cfg = NULL, *doc = NULL;
        const char *key = reg_creds_key(host), *helper;
        const struct jv *auths, *e = NULL;
        int r;

        *ret = (struct reg_creds){0};
        if (!path)
                return err_set(err, -ENOMEM, "reading credentials");
        r = jv_load(path, &cfg, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return err_wrap(err, "reading %s", path);
        helper = helper_for(cfg, key);
        if (helper && *helper) {
                r = run_helper(helper, "get", key, &out, err);
                /* "credentials not found in native keychain": anonymous. */
                if (r == -EIO && strstr(err->msg, "not found"))
                        return 0;
                if (r < 0)
                        return r;
                if (jv_parse(out, &doc, err) < 0)
                        return err_wrap(err, "reading docker-credential-%s's answer", helper);
                ret->user = strdup(jv_get_str(doc, "Username") ?: "");
                ret->secret = strdup(jv_get_str(doc, "Secret") ?: "");
                return ret->user && ret->secret ? 0 : err_set(err, -ENOMEM, "reading credentials");
        }
        auths = jv_get(cfg, "auths");
        for (int i = 0; !e && i < 3; i++) {
                _cleanup_free_ char *k =
                        i == 0 ? strdup(key)
                               : util_printf("%s%s", i == 1 ? "https://" : "http://", host);
                e = k ? jv_get(auths, k) : NULL;
        }
        if (!e)
                return 0;
        if (jv_get_str(e, "identitytoken") && *jv_get_str(e, "identitytoken")) {
                ret->user = strdup("<token>");
                ret->secret = strdup(jv_get_str(e, "identitytoken"));
        } else if (jv_get_str(e, "auth") && (plain = base64_decode(jv_get_str(e, "auth")))) {
                char *colon = strchr(plain, ':');
                if (!colon)
                        return err_set(err, -EINVAL, "%s: invalid auth configuration for %s", path,
                                       key);
                *colon = '\0';
                ret->user = strdup(plain);
                ret->secret = strdup(colon + 1);
                explicit_bzero(colon + 1, strlen(colon + 1));
        } else if (jv_get_str(e, "username")) {
                ret->user = strdup(jv_get_str(e, "username"));
                ret->secret = strdup(jv_get_str(e, "password") ?: "");
        } else {
                return 0;
        }
        return ret->user && ret->secret ? 0 : err_set(err, -ENOMEM, "reading credentials");
}

int reg_creds_store(const char *host, const char *user, const char *secret, bool *ret_removed,
                    struct err *err)
{
        _cleanup_free_ char *path = config_path(), *dir = NULL, *out = NULL, *input = NULL;
        _cleanup_jv_ struct jv *cfg = NULL;
        const char *key = reg_creds_key(host), *helper;
        struct jv *auths;
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "storing credentials");
        r = jv_load(path, &cfg, err);
        if (r == -ENOENT) {
                cfg = jv_new_object();
                r = 0;
        }
        if (r < 0)
                return err_wrap(err, "reading %s", path);
        helper = helper_for(cfg, key);
        if (ret_removed)
                *ret_removed = jv_get(jv_get(cfg, "auths"), key) != NULL;
        if (helper && *helper) {
                _cleanup_jv_ struct jv *in = jv_new_object();
                jv_set_str(in, "ServerURL", key);
                jv_set_str(in, "Username", user ? user : "");
                jv_set_str(in, "Secret", secret ? secret : "");
                r = run_helper(helper, user ? "store" : "erase",
                               user ? jv_to_string(in, false) : key, &out, err);
                if (r < 0)
                        return r;
                if (ret_removed)
                        *ret_removed = true;
                if (user)
                        return 0;
        }
        auths = jv_get(cfg, "auths");
        if (!auths) {
                auths = jv_new_object();
                jv_set(cfg, "auths", auths);
        }
        if (user && !(helper && *helper)) {
                _cleanup_free_ char *pair = util_printf("%s:%s", user, secret ? secret : "");
                _cleanup_free_ char *enc = pair ? base64_encode(pair) : NULL;
                struct jv *e = jv_new_object();
                if (!enc) {
                        jv_put(e);
                        return err_set(err, -ENOMEM, "storing credentials");
                }
                jv_set_str(e, "auth", enc);
                jv_set(auths, key, e);
                if (pair)
                        explicit_bzero(pair, strlen(pair));
        } else if (!user) {
                jv_del(auths, key);
        }
        dir = strdup(path);
        if (!dir)
                return err_set(err, -ENOMEM, "storing credentials");
        *strrchr(dir, '/') = '\0';
        r = fs_mkdir_p(dir, 0700, err);
        if (r >= 0) {
                const char *text = jv_to_string(cfg, true);
                r = fs_write_atomic(path, text, strlen(text), 0600, err);
        }
        return r < 0 ? err_wrap(err, "saving %s", path) : 0;
}
