#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "links.h"
#include "ports.h"

bool links_alias_ok(const char *alias)
{
        /* Docker lets an empty alias through ("db:"); it names nothing. */
        return !*alias || util_name_ok(alias);
}

int links_parse(const char *spec, char **ret_name, char **ret_alias, struct err *err)
{
        _cleanup_free_ char *name = NULL, *alias = NULL;
        const char *colon = strchr(spec, ':');

        if (!*spec)
                return err_set(err, -EINVAL, "empty string specified for links");
        if (colon && strchr(colon + 1, ':'))
                return err_set(err, -EINVAL, "bad format for links: %s", spec);
        if (!colon) {
                name = strdup(spec);
                alias = strdup(spec);
        } else if (spec[0] == '/') {
                /* The stored form "/db:/web/db": the alias is the last path element. */
                const char *slash = strrchr(colon + 1, '/');

                name = strndup(spec + 1, (size_t)(colon - spec - 1));
                alias = strdup(slash ? slash + 1 : colon + 1);
        } else {
                name = strndup(spec, (size_t)(colon - spec));
                alias = strdup(colon + 1);
        }
        if (!name || !alias)
                return err_set(err, -ENOMEM, "parsing link %s", spec);
        /* The alias becomes a name in /etc/hosts and a prefix of environment variables. */
        if (!links_alias_ok(alias))
                return err_set(err, -EINVAL,
                               "invalid link alias \"%s\" in \"%s\": only "
                               "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                               alias, spec);
        *ret_name = TAKE_PTR(name);
        *ret_alias = TAKE_PTR(alias);
        return 0;
}

int links_parse_stored(const char *s, struct links_stored *ret)
{
        const char *colon = s && s[0] == '/' ? strchr(s, ':') : NULL;
        const char *slash = colon ? strrchr(colon + 1, '/') : NULL;
        size_t n = colon ? (size_t)(colon - s - 1) : 0;

        if (!colon || !slash || n >= sizeof(ret->child) || strlen(slash + 1) >= sizeof(ret->alias))
                return -EINVAL;
        memcpy(ret->child, s + 1, n);
        ret->child[n] = '\0';
        strcpy(ret->alias, slash + 1);
        ret->path = colon + 1;
        return 0;
}

struct link_port {
        uint16_t num;
        uint8_t proto;
};

/* Docker's withTCPPriority: TCP first, then by protocol name; by number within a protocol. */
static int port_cmp(const void *x, const void *y)
{
        const struct link_port *a = x, *b = y;

        if (a->proto == b->proto)
                return a->num < b->num ? -1 : a->num > b->num;
        if (a->proto == IPPROTO_TCP)
                return -1;
        if (b->proto == IPPROTO_TCP)
                return 1;
        return strcmp(ports_proto_name(a->proto), ports_proto_name(b->proto));
}

/* Expands, sorts and de-duplicates the exposed ports (a port set in Docker). */
static int collect_ports(const char *const *exposed, struct link_port **ret, size_t *ret_n,
                         struct err *err)
{
        _cleanup_free_ struct link_port *v = NULL;
        size_t n = 0, cap = 0, k = 0;

        for (size_t i = 0; exposed && exposed[i]; i++) {
                struct port_range pr;
                int r = ports_parse_expose(exposed[i], &pr, err);

                if (r < 0)
                        return err_wrap(err, "exposed port %s", exposed[i]);
                for (uint32_t p = pr.first; p <= pr.last; p++) {
                        if (n == cap) {
                                struct link_port *nv;

                                cap = cap ? cap * 2 : 16;
                                nv = realloc(v, cap * sizeof(*v));
                                if (!nv)
                                        return err_set(err, -ENOMEM, "collecting link ports");
                                v = nv;
                        }
                        v[n++] = (struct link_port){(uint16_t)p, pr.proto};
                }
        }
        if (n)
                qsort(v, n, sizeof(*v), port_cmp);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || port_cmp(&v[k - 1], &v[i]) != 0)
                        v[k++] = v[i];
        *ret = TAKE_PTR(v);
        *ret_n = k;
        return 0;
}

static int push(char ***env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int push(char ***env, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0) {
                s = NULL;
                return -ENOMEM;
        }
        return util_strv_push(env, s);
}

/* "PREFIX_PORT_<n>_<PROTO>" in upper case, written into out. */
static void port_prefix(char *out, size_t len, const char *alias, const struct link_port *p)
{
        const char *name = ports_proto_name(p->proto);
        size_t n = (size_t)snprintf(out, len, "%s_PORT_%u_", alias, p->num);

        for (size_t i = 0; name[i] && n + 1 < len; i++)
                out[n++] = (char)(name[i] - 'a' + 'A');
        out[n < len ? n : len - 1] = '\0';
}

static int push_port(char ***env, const char *alias, const char *ip, const struct link_port *p)
{
        const char *proto = ports_proto_name(p->proto);
        char pre[ERR_MSG_MAX];
        int r;

        port_prefix(pre, sizeof(pre), alias, p);
        r = push(env, "%s=%s://%s:%u", pre, proto, ip, p->num);
        if (r >= 0)
                r = push(env, "%s_ADDR=%s", pre, ip);
        if (r >= 0)
                r = push(env, "%s_PORT=%u", pre, p->num);
        if (r >= 0)
                r = push(env, "%s_PROTO=%s", pre, proto);
        return r;
}

static int push_range(char ***env, const char *alias, const char *ip, const struct link_port *s,
                      const struct link_port *e)
{
        const char *proto = ports_proto_name(s->proto);
        char pre[ERR_MSG_MAX];
        int r;

        port_prefix(pre, sizeof(pre), alias, s);
        r = push(env, "%s_START=%s://%s:%u", pre, proto, ip, s->num);
        if (r >= 0)
                r = push(env, "%s_PORT_START=%u", pre, s->num);
        if (r >= 0)
                r = push(env, "%s_END=%s://%s:%u", pre, proto, ip, e->num);
        if (r >= 0)
                r = push(env, "%s_PORT_END=%u", pre, e->num);
        return r;
}

/* Mirrors ToEnv's loop, including where the range variables land: after the per-port
 * variables of the port that ends the run (or of the run's last port at the end). */
static int push_ports(char ***env, const char *alias, const char *ip, const struct link_port *v,
                      size_t n)
{
        size_t start = 0, end = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (i == 0) {
                        r = push(env, "%s_PORT=%s://%s:%u", alias, ports_proto_name(v[0].proto), ip,
                                 v[0].num);
                        if (r < 0)
                                return r;
                }
                r = push_port(env, alias, ip, &v[i]);
                if (r < 0)
                        return r;
                if (i > 0 && v[i].num == v[end].num + 1 && v[i].proto == v[end].proto) {
                        end = i;
                        if (i < n - 1)
                                continue;
                }
                if (end != start) {
                        r = push_range(env, alias, ip, &v[start], &v[end]);
                        if (r < 0)
                                return r;
                }
                start = end = i;
        }
        return 0;
}

static int push_child_env(char ***env, const char *alias, char *const *child_env)
{
        for (size_t i = 0; child_env && child_env[i]; i++) {
                const char *eq = strchr(child_env[i], '=');
                size_t klen = eq ? (size_t)(eq - child_env[i]) : 0;
                int r;

                /* Set by image builds and meaningless in another container. */
                if (!eq || (klen == 4 && (!strncmp(child_env[i], "HOME", 4) ||
                                          !strncmp(child_env[i], "PATH", 4))))
                        continue;
                r = push(env, "%s_ENV_%s", alias, child_env[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int links_env(const char *parent_name, const char *alias, const char *child_ip,
              const char *const *exposed, char *const *child_env, char ***ret, struct err *err)
{
        _cleanup_free_ struct link_port *ports = NULL;
        _cleanup_free_ char *prefix = NULL;
        _cleanup_strv_ char **env = calloc(1, sizeof(char *));
        const char *last = strrchr(alias, '/');
        size_t n = 0;
        int r;

        if (!env)
                return err_set(err, -ENOMEM, "building link environment");
        prefix = strdup(last ? last + 1 : alias);
        if (!prefix)
                return err_set(err, -ENOMEM, "building link environment");
        if (!*prefix)
                return err_set(err, -EINVAL, "invalid link alias '%s'", alias);
        for (char *p = prefix; *p; p++)
                *p = *p == '-' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
        r = collect_ports(exposed, &ports, &n, err);
        if (r < 0)
                return r;
        r = push_ports(&env, prefix, child_ip, ports, n);
        if (r >= 0)
                r = push(&env, "%s_NAME=/%s/%s", prefix,
                         parent_name[0] == '/' ? parent_name + 1 : parent_name,
                         last ? last + 1 : alias);
        if (r >= 0)
                r = push_child_env(&env, prefix, child_env);
        if (r < 0)
                return err_set(err, r, "building link environment for %s", alias);
        *ret = TAKE_PTR(env);
        return 0;
}
