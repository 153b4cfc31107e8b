/* One registry session over libcurl: requests, the 401 challenge (Basic or a Bearer token for
 * the repository's scope), HTTPS with the system CAs plus certs.d, plain HTTP for insecure
 * registries. libcurl is loaded on first use, like libarchive: only pull, push and login pay
 * for it. */
#include <ctype.h>
/* The functions are called through pointers: no type-checking macros. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../registry.h"
#include "internal.h"

#define CURL_FUNCS(X)                                                                              \
        X(curl_global_init)                                                                        \
        X(curl_easy_init)                                                                          \
        X(curl_easy_setopt)                                                                        \
        X(curl_easy_perform)                                                                       \
        X(curl_easy_getinfo)                                                                       \
        X(curl_easy_cleanup)                                                                       \
        X(curl_easy_strerror)                                                                      \
        X(curl_easy_escape)                                                                        \
        X(curl_free)                                                                               \
        X(curl_slist_append)                                                                       \
        X(curl_slist_free_all)

#define CURL_DECL(f) __typeof__(f) *f;
static struct {
        CURL_FUNCS(CURL_DECL)
} lc;

#define CURL_NAME(f) #f,
#define CURL_SLOT(f) (void **)&lc.f,
static int load_curl(struct err *err)
{
        static const char *const names[] = {CURL_FUNCS(CURL_NAME)};
        static void **const slots[] = {CURL_FUNCS(CURL_SLOT)};
        static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
        static bool loaded, inited;
        int r;

        pthread_mutex_lock(&once);
        r = util_dl_table("libcurl.so.4", names, slots, ARRAY_SIZE(names), &loaded, err);
        if (r >= 0 && !inited) {
                if (lc.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        r = err_set(err, -ENOTSUP, "initialising libcurl");
                inited = r >= 0;
        }
        pthread_mutex_unlock(&once);
        return r;
}
#undef CURL_NAME
#undef CURL_SLOT

void reg_response_free(struct reg_response *r)
{
        free(r->content_type);
        free(r->digest);
        free(r->location);
        free(r->range);
        free(r->body);
        *r = (struct reg_response){.length = -1};
}

static void set_header(char **slot, const char *v, size_t n)
{
        while (n && isspace((unsigned char)v[n - 1]))
                n--;
        free(*slot);
        *slot = strndup(v, n);
}

/* What a transfer collects: the headers that matter, and the body (to the sink when 2xx). */
struct xfer {
        CURL *h;
        const struct reg_request *req;
        struct reg_response *resp;
        char *challenge;
        int sink_r;
        long long skip; /* bytes to drop: a server that ignored Range sent them again */
        bool skip_set;
        size_t cap;
};

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
        struct xfer *x = ud;
        size_t len = size * n;
        static const struct {
                const char *name;
                size_t off;
        } keep[] = {
                {"content-type:", offsetof(struct reg_response, content_type)},
                {"docker-content-digest:", offsetof(struct reg_response, digest)},
                {"location:", offsetof(struct reg_response, location)},
                {"range:", offsetof(struct reg_response, range)},
        };

        /* A new status line (a redirect, a 100 Continue): forget the previous headers. */
        if (len > 5 && !strncmp(buf, "HTTP/", 5)) {
                reg_response_free(x->resp);
                x->cap = 0;
                free(x->challenge);
                x->challenge = NULL;
                return len;
        }
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
                size_t k = strlen(keep[i].name);
                if (len > k && !strncasecmp(buf, keep[i].name, k)) {
                        const char *v = buf + k;
                        while (*v == ' ')
                                v++;
                        set_header((char **)((char *)x->resp + keep[i].off), v,
                                   len - (size_t)(v - buf));
                }
        }
        if (len > 17 && !strncasecmp(buf, "www-authenticate:", 17)) {
                const char *v = buf + 17;
                while (*v == ' ')
                        v++;
                set_header(&x->challenge, v, len - (size_t)(v - buf));
        }
        if (len > 15 && !strncasecmp(buf, "content-length:", 15))
                x->resp->length = atoll(buf + 15);
        return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
        struct xfer *x = ud;
        size_t len = size * n;
        long status = 0;

        lc.curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        if (status / 100 == 2 && x->req->sink) {
                /* Asked for a range, got the whole blob (a server or CDN ignoring Range):
                 * drop what the sink already has. */
                if (x->req->resume > 0 && status == 200 && !x->skip_set) {
                        x->skip = x->req->resume;
                        x->skip_set = true;
                }
                if (x->skip > 0) {
                        size_t drop = (size_t)(x->skip < (long long)len ? x->skip : (long long)len);
                        x->skip -= (long long)drop;
                        buf += drop;
                        len -= drop;
                        if (!len)
                                return size * n;
                }
                x->sink_r = x->req->sink(x->req->ud, buf, len);
                return x->sink_r < 0 ? 0 : size * n;
        }
        if (x->resp->body_len + len > REG_SMALL_MAX)
                return 0;
        if (x->resp->body_len + len + 1 > x->cap) {
                size_t cap = x->cap ? x->cap : 4096;
                char *nb;
                while (cap < x->resp->body_len + len + 1)
                        cap *= 2;
                nb = realloc(x->resp->body, cap);
                if (!nb)
                        return 0;
                x->resp->body = nb;
                x->cap = cap;
        }
        memcpy(x->resp->body + x->resp->body_len, buf, len);
        x->resp->body_len += len;
        x->resp->body[x->resp->body_len] = '\0';
        return size * n;
}

struct upload {
        int fd;
        long long off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
        struct upload *u = ud;
        ssize_t r = pread(u->fd, buf, size * n, u->off);

        if (r < 0)
                return CURL_READFUNC_ABORT;
        u->off += r;
        return (size_t)r;
}

/* The value of key="..." (or key=token) in a challenge's parameter list. */
static char *challenge_param(const char *c, const char *key)
{
        size_t k = strlen(key);

        for (const char *p = c; (p = strcasestr(p, key));) {
                const char *v = p + k, *end;
                bool at_start = p == c || p[-1] == ' ' || p[-1] == ',';
                p = v;
                if (!at_start || *v != '=')
                        continue;
                v++;
                if (*v == '"') {
                        end = strchr(++v, '"');
                        return end ? strndup(v, (size_t)(end - v)) : NULL;
                }
                end = v + strcspn(v, ", ");
                return strndup(v, (size_t)(end - v));
        }
        return NULL;
}

/* Whether url is on the session's registry (scheme, host and port). */
static bool same_origin(const struct reg_session *s, const char *url)
{
        size_t n = strlen(s->origin);

        return !strncmp(url, s->origin, n) && (url[n] == '/' || url[n] == '?' || !url[n]);
}

/* One transfer, no auth logic: the session's current credentials are applied. */
static int perform(struct reg_session *s, const struct reg_request *req, const char *token,
                   bool basic, struct reg_response *resp, char **ret_challenge, struct err *err)
{
        _cleanup_free_ char *url = NULL, *auth = NULL;
        struct curl_slist *hdrs = NULL;
        struct upload up = {.fd = req->body_fd, .off = req->body_off};
        struct xfer x = {.req = req, .resp = resp, .skip = 0};
        char range[48], ebuf[CURL_ERROR_SIZE] = "";
        CURLcode cr;
        int r = 0;

        x.h = lc.curl_easy_init();
        if (!x.h)
                return err_set(err, -ENOMEM, "starting a request to %s", s->host);
        url = strncmp(req->url, "http", 4) ? util_printf("%s%s", s->origin, req->url)
                                           : strdup(req->url);

        if (!url) {
                lc.curl_easy_cleanup(x.h);
                return err_set(err, -ENOMEM, "starting a request to %s", s->host);
        }
        for (const char *const *h = req->headers; h && *h; h++)
                hdrs = lc.curl_slist_append(hdrs, *h);
        if (token) {
                auth = util_printf("Authorization: Bearer %s", token);
                hdrs = lc.curl_slist_append(hdrs, auth ? auth : "X-Hawser: oom");
        }
        if (req->resume > 0) {
                snprintf(range, sizeof(range), "Range: bytes=%lld-", req->resume);
                hdrs = lc.curl_slist_append(hdrs, range);
        }
        lc.curl_easy_setopt(x.h, CURLOPT_URL, url);
        lc.curl_easy_setopt(x.h, CURLOPT_PROTOCOLS_STR, "http,https");
        lc.curl_easy_setopt(x.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        lc.curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
        lc.curl_easy_setopt(x.h, CURLOPT_ERRORBUFFER, ebuf);
        lc.curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdrs);
        lc.curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
        lc.curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
        lc.curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_body);
        lc.curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
        lc.curl_easy_setopt(x.h, CURLOPT_FOLLOWLOCATION, 1L);
        lc.curl_easy_setopt(x.h, CURLOPT_MAXREDIRS, 10L);
        lc.curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT, 15L);
        /* A stalled transfer (under 1 KiB/s for 30 s) fails and is resumed by the caller. */
        lc.curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        lc.curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_TIME, 30L);
        lc.curl_easy_setopt(x.h, CURLOPT_USERAGENT, "hawser");
        lc.curl_easy_setopt(x.h, CURLOPT_ACCEPT_ENCODING, "identity");
        if (s->ca_blob) {
                struct curl_blob b = {s->ca_blob, s->ca_len, CURL_BLOB_COPY};
                lc.curl_easy_setopt(x.h, CURLOPT_CAINFO_BLOB, &b);
        }
        if (s->cert && s->key) {
                lc.curl_easy_setopt(x.h, CURLOPT_SSLCERT, s->cert);
                lc.curl_easy_setopt(x.h, CURLOPT_SSLKEY, s->key);
        }
        if (s->insecure) {
                lc.curl_easy_setopt(x.h, CURLOPT_SSL_VERIFYPEER, 0L);
                lc.curl_easy_setopt(x.h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (basic && s->creds.user) {
                lc.curl_easy_setopt(x.h, CURLOPT_USERNAME, s->creds.user);
                lc.curl_easy_setopt(x.h, CURLOPT_PASSWORD, s->creds.secret ? s->creds.secret : "");
        }
        if (!strcmp(req->method, "HEAD")) {
                lc.curl_easy_setopt(x.h, CURLOPT_NOBODY, 1L);
        } else if (req->body_fd >= 0) {
                lc.curl_easy_setopt(x.h, CURLOPT_UPLOAD, 1L);
                lc.curl_easy_setopt(x.h, CURLOPT_READFUNCTION, on_read);
                lc.curl_easy_setopt(x.h, CURLOPT_READDATA, &up);
                lc.curl_easy_setopt(x.h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
                lc.curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, req->method);
        } else if (strcmp(req->method, "GET")) {
                lc.curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
                lc.curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
                lc.curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, req->method);
        }
        *resp = (struct reg_response){.length = -1};
        cr = lc.curl_easy_perform(x.h);
        lc.curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (cr != CURLE_OK && x.sink_r < 0) {
                r = x.sink_r;
        } else if (cr != CURLE_OK) {
                int e = cr == CURLE_OPERATION_TIMEDOUT         ? -ETIMEDOUT
                        : cr == CURLE_COULDNT_CONNECT          ? -ECONNREFUSED
                        : cr == CURLE_COULDNT_RESOLVE_HOST     ? -EHOSTUNREACH
                        : cr == CURLE_SSL_CONNECT_ERROR        ? -EPROTO
                        : cr == CURLE_PEER_FAILED_VERIFICATION ? -EPROTO
                                                               : -EIO;
                r = err_set(err, e, "%c%s \"%s\": %s", req->method[0],
                            strlen(req->method) > 1 ? req->method + 1 : "", url,
                            ebuf[0] ? ebuf : lc.curl_easy_strerror(cr));
        }
        lc.curl_slist_free_all(hdrs);
        lc.curl_easy_cleanup(x.h);
        if (ret_challenge)
                *ret_challenge = x.challenge;
        else
                free(x.challenge);
        if (r < 0)
                reg_response_free(resp);
        return r;
}

/* Asks the challenge's realm for a token of the session's scope (with the credentials, when
 * there are some) and keeps it with its expiry. Called with s->lock held. */
static int fetch_token(struct reg_session *s, const char *challenge, struct err *err)
{
        _cleanup_free_ char *realm = challenge_param(challenge, "realm");
        _cleanup_free_ char *service = challenge_param(challenge, "service");
        _cleanup_free_ char *url = NULL, *scope = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        struct reg_response resp = {0};
        struct reg_request req = {.method = "GET", .body_fd = -1};
        char *svc = NULL, *scp = NULL;
        const char *tok;
        int r;

        if (!realm)
                return err_set(err, -EPROTO, "%s: a Bearer challenge without a realm", s->host);
        /* A login asks for no repository: the token proves the credentials. */
        scope = *s->repo ? util_printf("repository:%s:%s", s->repo, s->actions) : NULL;
        svc = service ? lc.curl_easy_escape(NULL, service, 0) : NULL;
        scp = scope ? lc.curl_easy_escape(NULL, scope, 0) : NULL;
        url = util_printf("%s%sservice=%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
                          svc ? svc : "", scp ? "&scope=" : "", scp ? scp : "");
        lc.curl_free(svc);
        lc.curl_free(scp);
        if (!url)
                return err_set(err, -ENOMEM, "asking %s for a token", realm);
        req.url = url;
        r = perform(s, &req, NULL, s->creds.user != NULL, &resp, NULL, err);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403) {
                char why[256];
                reg_error_text(&resp, why, sizeof(why));
                reg_response_free(&resp);
                return err_set(err, -EACCES, "Get \"%s\": %s", realm, why);
        }
        if (resp.status != 200 || !resp.body || jv_parse(resp.body, &doc, err) < 0) {
                reg_response_free(&resp);
                return err_set(err, -EPROTO, "%s: no token from %s", s->host, realm);
        }
        reg_response_free(&resp);
        tok = jv_get_str(doc, "token");
        if (!tok || !*tok)
                tok = jv_get_str(doc, "access_token");
        if (!tok || !*tok)
                return err_set(err, -EPROTO, "%s: the token response of %s has no token", s->host,
                               realm);
        free(s->token);
        s->token = strdup(tok);
        /* Default lifetime 60 s (the spec); renewed a little early. */
        /* At least 60 s (Docker's floor), renewed a little early. */
        s->token_expiry =
                time(NULL) +
                (jv_get_int(doc, "expires_in", 60) < 60 ? 60 : jv_get_int(doc, "expires_in", 60)) -
                5;
        return s->token ? 0 : err_set(err, -ENOMEM, "keeping a token");
}

int reg_send(struct reg_session *s, const struct reg_request *req, struct reg_response *ret,
             struct err *err)
{
        bool fell_back = false, authed = false;

        for (;;) {
                _cleanup_free_ char *token = NULL, *challenge = NULL;
                bool basic;
                int r;

                pthread_mutex_lock(&s->lock);
                if (s->token && time(NULL) < s->token_expiry)
                        token = strdup(s->token);
                basic = s->basic;
                pthread_mutex_unlock(&s->lock);
                /* Credentials and tokens go to the registry only, never to a URL a manifest
                 * or a Location names on another host. */
                if (!strncmp(req->url, "http", 4) && !same_origin(s, req->url)) {
                        free(token);
                        token = NULL;
                        basic = false;
                }
                r = perform(s, req, token, basic, ret, &challenge, err);
                if (r == -EPROTO && s->insecure && !s->settled &&
                    !strncmp(s->origin, "https://", 8) && !fell_back &&
                    strncmp(req->url, "http", 4)) {
                        /* An insecure registry that speaks plain HTTP. */
                        char *o = util_printf("http://%s", s->origin + 8);
                        if (!o)
                                return err_set(err, -ENOMEM, "talking to %s", s->host);
                        free(s->origin);
                        s->origin = o;
                        fell_back = true;
                        continue;
                }
                if (r >= 0)
                        s->settled = true; /* http or https is decided: no later switch */
                /* Only the registry's own challenges are answered. */
                if (r < 0 || ret->status != 401 || authed || !challenge ||
                    !strncmp(req->url, "http", 4))
                        return r;
                authed = true;
                reg_response_free(ret);
                pthread_mutex_lock(&s->lock);
                if (!strncasecmp(challenge, "Bearer", 6)) {
                        r = fetch_token(s, challenge + 6, err);
                } else if (!strncasecmp(challenge, "Basic", 5)) {
                        s->basic = true;
                        if (!s->creds.user)
                                r = err_set(err, -EACCES, "no basic auth credentials");
                } else {
                        r = err_set(err, -EPROTO, "%s: unsupported challenge %s", s->host,
                                    challenge);
                }
                pthread_mutex_unlock(&s->lock);
                if (r < 0)
                        return r;
        }
}

void reg_error_text(const struct reg_response *r, char *out, size_t len)
{
        _cleanup_jv_ struct jv *doc = NULL;
        struct err ignored = {0};
        const struct jv *first;

        if (r->body && jv_parse(r->body, &doc, &ignored) >= 0 &&
            (first = jv_at(jv_get(doc, "errors"), 0))) {
                const char *code = jv_get_str(first, "code"), *msg = jv_get_str(first, "message");
                _cleanup_free_ char *lower = strdup(code ? code : "");
                for (char *p = lower; p && *p; p++)
                        *p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
                snprintf(out, len, "%s: %s", lower ? lower : "", msg ? msg : "");
                return;
        }
        if (r->body && jv_parse(r->body, &doc, &ignored) >= 0 && jv_get_str(doc, "details")) {
                snprintf(out, len, "%s", jv_get_str(doc, "details"));
                return;
        }
        snprintf(out, len, "unexpected status %ld", r->status);
}

static char *read_dir_files(const char *dir, const char *suffix, bool first_only)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;
        char *out = NULL;
        size_t n = 0;

        while (d && (e = readdir(d))) {
                size_t l = strlen(e->d_name), k = strlen(suffix);
                _cleanup_free_ char *p = NULL, *text = NULL;
                struct err ignored = {0};
                size_t tl = 0;
                char *no;
                if (l <= k || strcmp(e->d_name + l - k, suffix))
                        continue;
                p = util_printf("%s/%s", dir, e->d_name);
                if (first_only) {
                        free(out);
                        return TAKE_PTR(p);
                }
                if (!p || fs_read_file(p, &text, &tl, &ignored) < 0)
                        continue;
                no = realloc(out, n + tl + 2);
                if (!no)
                        break;
                out = no;
                memcpy(out + n, text, tl);
                n += tl;
                out[n++] = '\n';
                out[n] = '\0';
        }
        return out;
}

/* certs.d/<host>/: *.crt are CAs (added to the system's), *.cert + *.key a client cert. */
static int load_certs(struct reg_session *s, struct err *err)
{
        const char *base = getenv("HAWSER_CERTS_D");
        _cleanup_free_ char *dir =
                util_printf("%s/%s", base && *base ? base : "/etc/docker/certs.d", s->host);
        _cleanup_free_ char *cas = NULL, *sys = NULL;
        size_t sys_len = 0;
        struct err ignored = {0};

        if (!dir)
                return err_set(err, -ENOMEM, "reading certificates");
        cas = read_dir_files(dir, ".crt", false);
        s->cert = read_dir_files(dir, ".cert", true);
        s->key = read_dir_files(dir, ".key", true);
        if (!cas)
                return 0;
        (void)fs_read_file("/etc/ssl/certs/ca-certificates.crt", &sys, &sys_len, &ignored);
        s->ca_blob = util_printf("%s%s", sys ? sys : "", cas);
        s->ca_len = s->ca_blob ? strlen(s->ca_blob) : 0;
        return s->ca_blob ? 0 : err_set(err, -ENOMEM, "reading certificates");
}

int reg_session_open(const struct image_ref *ref, const char *actions, struct reg_session *s,
                     struct err *err)
{
        struct reg_conf conf = {0};
        int r = load_curl(err);

        if (r >= 0)
                r = reg_conf_load(&conf, err);
        if (r < 0)
                return r;
        *s = (struct reg_session){.actions = actions, .max_attempts = conf.max_attempts};
        pthread_mutex_init(&s->lock, NULL);
        s->host = strdup(ref->domain);
        s->repo = strdup(ref->path);
        s->insecure = reg_conf_insecure(&conf, ref->domain);
        s->origin = !strcmp(ref->domain, "docker.io") ? strdup("https://registry-1.docker.io")
                                                      : util_printf("https://%s", ref->domain);
        reg_conf_free(&conf);
        if (!s->host || !s->repo || !s->origin)
                r = err_set(err, -ENOMEM, "opening a session with %s", ref->domain);
        if (r >= 0)
                r = load_certs(s, err);
        if (r >= 0)
                r = reg_creds_get(ref->domain, &s->creds, err);
        if (r < 0)
                reg_session_close(s);
        return r;
}

void reg_session_close(struct reg_session *s)
{
        free(s->host);
        free(s->origin);
        free(s->repo);
        free(s->ca_blob);
        free(s->cert);
        free(s->key);
        free(s->token);
        reg_creds_free(&s->creds);
        pthread_mutex_destroy(&s->lock);
        *s = (struct reg_session){0};
}

struct fetch {
        int fd;
        int r;
};

static size_t on_fetch(char *buf, size_t size, size_t n, void *ud)
{
        struct fetch *f = ud;

        if (fs_write_all(f->fd, buf, size * n) < 0) {
                f->r = -errno;
                return 0;
        }
        return size * n;
}

int registry_fetch_url(const char *url, int fd, struct err *err)
{
        struct fetch f = {.fd = fd};
        char ebuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode cr;
        CURL *h;
        int r = load_curl(err);

        if (r < 0)
                return r;
        h = lc.curl_easy_init();
        if (!h)
                return err_set(err, -ENOMEM, "fetching %s", url);
        lc.curl_easy_setopt(h, CURLOPT_URL, url);
        lc.curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        lc.curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        lc.curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        lc.curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        lc.curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
        lc.curl_easy_setopt(h, CURLOPT_USERAGENT, "hawser");
        lc.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_fetch);
        lc.curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
        cr = lc.curl_easy_perform(h);
        lc.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        lc.curl_easy_cleanup(h);
        if (f.r < 0)
                return err_set(err, f.r, "fetching %s: writing", url);
        if (cr != CURLE_OK)
                return err_set(err, -EIO, "Get \"%s\": %s", url,
                               ebuf[0] ? ebuf : lc.curl_easy_strerror(cr));
        if (status / 100 != 2)
                return err_set(err, -EIO, "failed to GET %s with status %ld", url, status);
        return 0;
}
