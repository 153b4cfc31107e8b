/* The short forms of a compose file, each parsed as the Go library docker compose uses for it:
 * ports as go-connections' nat.ParsePortSpec, volumes as compose-go's format.ParseVolume,
 * command lines as go-shellwords, durations as go-str2duration, paths as Go's path package. */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

/* ---- paths ---- */

char *compose_path_clean(const char *path)
{
        bool rooted = path[0] == '/';
        size_t n = strlen(path), top = 0;
        _cleanup_free_ const char **seg = calloc(n / 2 + 2, sizeof(*seg));
        _cleanup_free_ size_t *len = calloc(n / 2 + 2, sizeof(*len));
        struct util_buf b = {0};

        if (!seg || !len)
                util_oom();
        for (const char *s = path; *s;) {
                size_t l = strcspn(s, "/");
                if (l == 0 || (l == 1 && s[0] == '.')) {
                        /* an empty or "." element */
                } else if (l == 2 && s[0] == '.' && s[1] == '.') {
                        if (top > 0 && !(len[top - 1] == 2 && !strncmp(seg[top - 1], "..", 2)))
                                top--;
                        else if (!rooted)
                                seg[top] = s, len[top++] = l;
                } else {
                        seg[top] = s, len[top++] = l;
                }
                s += l;
                s += *s == '/';
        }
        if (rooted)
                util_buf_addc(&b, '/');
        for (size_t i = 0; i < top; i++) {
                if (i)
                        util_buf_addc(&b, '/');
                util_buf_add(&b, seg[i], len[i]);
        }
        if (!b.len)
                util_buf_addc(&b, '.');
        return b.s;
}

char *compose_path_abs(const char *dir, const char *path)
{
        _cleanup_free_ char *joined = NULL;

        if (path[0] == '/' || !dir)
                return compose_path_clean(path);
        joined = util_printf("%s/%s", dir, path);
        if (!joined)
                util_oom();
        return compose_path_clean(joined);
}

/* ---- ports ---- */

static bool parse_u16(const char *s, size_t n, unsigned long *ret)
{
        unsigned long v = 0;

        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long)(s[i] - '0');
                if (v > 65535)
                        return false;
        }
        *ret = v;
        return true;
}

/* nat.ParsePortRange: "80" or "80-90" (what follows a second '-' is ignored, as there). */
static bool parse_port_range(const char *s, unsigned long *start, unsigned long *end)
{
        const char *dash = strchr(s, '-');

        if (!dash)
                return parse_u16(s, strlen(s), start) && (*end = *start, true);
        if (!parse_u16(s, (size_t)(dash - s), start) ||
            !parse_u16(dash + 1, strcspn(dash + 1, "-"), end))
                return false;
        return *end >= *start;
}

static bool valid_ip(const char *ip)
{
        unsigned char buf[16];

        return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

struct port_entry {
        char key[32]; /* "80/tcp": the order ParsePortConfig sorts them in */
        unsigned long target;
        char published[16];
};

static int cmp_port_entry(const void *a, const void *b)
{
        return strcmp(((const struct port_entry *)a)->key, ((const struct port_entry *)b)->key);
}

static struct jv *port_object(const char *ip, const struct port_entry *e, const char *proto)
{
        struct jv *o = jv_new_object();

        jv_set_str(o, "mode", "ingress");
        if (*ip)
                jv_set_str(o, "host_ip", ip);
        jv_set_int(o, "target", (long long)e->target);
        if (e->published[0])
                jv_set_str(o, "published", e->published);
        jv_set_str(o, "protocol", proto);
        return o;
}

/* splitParts and SplitProtoPort: [ip:]host:container[/proto]. */
static void split_port(char *spec, char **ip, char **host, char **container, char **proto)
{
        char *last = strrchr(spec, ':'), *slash;

        *ip = *host = (char *)"";
        if (last) {
                char *prev;
                *last = '\0';
                prev = strrchr(spec, ':');
                if (prev) {
                        *prev = '\0';
                        *ip = spec;
                        *host = prev + 1;
                } else {
                        *host = spec;
                }
                *container = last + 1;
        } else {
                *container = spec;
        }
        slash = strchr(*container, '/');
        *proto = (char *)"tcp";
        if (!**container || *container == slash) {
                *container = (char *)"";
                *proto = (char *)"";
        } else if (slash) {
                *slash = '\0';
                if (slash[1])
                        *proto = slash + 1;
                slash = strchr(*proto, '/');
                if (slash)
                        *slash = '\0';
        }
}

int compose_parse_port(const char *raw, struct jv *out, struct err *err)
{
        _cleanup_free_ char *spec = strdup(raw), *proto_lc = NULL;
        _cleanup_free_ struct port_entry *entries = NULL;
        char *ip, *host, *container, *proto;
        unsigned long start, end, hstart = 0, hend = 0;
        size_t n;

        if (!spec)
                util_oom();
        split_port(spec, &ip, &host, &container, &proto);
        if (ip[0] == '[') {
                size_t l = strlen(ip);
                if (l < 2 || ip[l - 1] != ']')
                        return err_set(err, -EINVAL, "invalid IP address: %s", ip);
                ip[l - 1] = '\0';
                ip++;
        }
        if (*ip && !valid_ip(ip))
                return err_set(err, -EINVAL, "invalid IP address: %s", ip);
        if (!*container)
                return err_set(err, -EINVAL, "no port specified: %s<empty>", raw);
        if (!parse_port_range(container, &start, &end))
                return err_set(err, -EINVAL, "invalid containerPort: %s", container);
        if (*host && !parse_port_range(host, &hstart, &hend))
                return err_set(err, -EINVAL, "invalid hostPort: %s", host);
        /* A host range for a single container port is the range to pick one from. */
        if (*host && end - start != hend - hstart && end != start)
                return err_set(err, -EINVAL,
                               "invalid ranges specified for container and host Ports: %s and %s",
                               container, host);
        proto_lc = strdup(proto);
        if (!proto_lc)
                util_oom();
        for (char *c = proto_lc; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        if (strcmp(proto_lc, "tcp") && strcmp(proto_lc, "udp") && strcmp(proto_lc, "sctp"))
                return err_set(err, -EINVAL, "invalid proto: %s", proto);
        n = end - start + 1;
        entries = calloc(n, sizeof(*entries));
        if (!entries)
                util_oom();
        for (size_t i = 0; i < n; i++) {
                struct port_entry *e = &entries[i];
                e->target = start + i;
                snprintf(e->key, sizeof(e->key), "%lu/%s", e->target, proto_lc);
                if (*host && start == end && hstart != hend)
                        snprintf(e->published, sizeof(e->published), "%lu-%lu", hstart, hend);
                else if (*host)
                        snprintf(e->published, sizeof(e->published), "%lu", hstart + i);
        }
        qsort(entries, n, sizeof(*entries), cmp_port_entry);
        for (size_t i = 0; i < n; i++)
                jv_append(out, port_object(ip, &entries[i], proto_lc));
        return 0;
}

/* ---- volumes ---- */

struct volspec {
        char *source, *target;
        bool read_only, nocopy;
        const char *propagation, *selinux;
};

static bool windows_drive(const struct util_buf *b, char c)
{
        return c == ':' && b->len == 1 && isalpha((unsigned char)b->s[0]);
}

static void volume_option(struct volspec *v, const char *opt, size_t len)
{
        static const char *const propagations[] = {"rprivate", "private", "rshared",
                                                   "shared",   "rslave",  "slave"};

        if (len == 2 && !strncmp(opt, "ro", 2))
                v->read_only = true;
        else if (len == 2 && !strncmp(opt, "rw", 2))
                v->read_only = false;
        else if (len == 6 && !strncmp(opt, "nocopy", 6))
                v->nocopy = true;
        else if (len == 1 && (*opt == 'z' || *opt == 'Z'))
                v->selinux = *opt == 'z' ? "z" : "Z";
        for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
                if (strlen(propagations[i]) == len && !strncmp(opt, propagations[i], len))
                        v->propagation = propagations[i];
        /* Unknown options are ignored, as compose-go ignores them. */
}

/* populateFieldFromBuffer: NULL, or what is wrong. */
static const char *volume_field(struct volspec *v, char c, const struct util_buf *b)
{
        const char *s = b->s ? b->s : "";
        char **slot;

        if (b->len == 0)
                return "empty section between colons";
        if (!v->source && !c)
                slot = &v->target;
        else if (!v->source)
                slot = &v->source;
        else if (!v->target)
                slot = &v->target;
        else if (c == ':')
                return "too many colons";
        else {
                for (const char *o = s; *o;) {
                        size_t l = strcspn(o, ",");
                        volume_option(v, o, l);
                        o += l;
                        o += *o == ',';
                }
                return NULL;
        }
        *slot = strdup(s);
        if (!*slot)
                util_oom();
        return NULL;
}

static bool is_file_path(const char *s)
{
        if (!s || !*s)
                return false;
        if (strchr("./~", s[0]) || !strncmp(s, "\\\\", 2))
                return true;
        return isalpha((unsigned char)s[0]) && s[1] == ':';
}

static struct jv *volume_object(const struct volspec *v)
{
        bool bind = is_file_path(v->source);
        struct jv *o = jv_new_object(), *sub;
        _cleanup_free_ char *target = compose_path_clean(v->target ? v->target : "");

        jv_set_str(o, "type", bind ? "bind" : "volume");
        if (v->source)
                jv_set_str(o, "source", v->source);
        jv_set_str(o, "target", v->target && *v->target ? target : "");
        if (v->read_only)
                jv_set_bool(o, "read_only", true);
        if (bind || v->propagation || v->selinux) {
                sub = jv_new_object();
                if (v->propagation)
                        jv_set_str(sub, "propagation", v->propagation);
                if (bind)
                        jv_set_bool(sub, "create_host_path", true);
                if (v->selinux)
                        jv_set_str(sub, "selinux", v->selinux);
                jv_set(o, "bind", sub);
        }
        if (!bind || v->nocopy) {
                sub = jv_new_object();
                if (v->nocopy)
                        jv_set_bool(sub, "nocopy", true);
                jv_set(o, "volume", sub);
        }
        return o;
}

int compose_parse_volume(const char *spec, struct jv **ret, struct err *err)
{
        size_t n = strlen(spec);
        struct volspec v = {0};
        struct util_buf b = {0};
        const char *bad = NULL;
        int depth = 0;

        if (n == 0)
                return err_set(err, -EINVAL, "invalid empty volume spec");
        if (n <= 2) {
                *ret = jv_new_object();
                jv_set_str(*ret, "type", "volume");
                jv_set_str(*ret, "target", spec);
                return 0;
        }
        for (size_t i = 0; i <= n && !bad; i++) {
                char c = spec[i];
                /* A ':' inside ${...} (left by $$ escaping) does not separate. */
                if (c == '$' && i + 1 < n && spec[i + 1] == '{') {
                        depth++;
                } else if (c == '}' && depth > 0) {
                        depth--;
                } else if (!windows_drive(&b, c) && (c == ':' || c == '\0') && depth == 0) {
                        bad = volume_field(&v, c, &b);
                        util_buf_free(&b);
                        continue;
                }
                if (c)
                        util_buf_addc(&b, c);
        }
        util_buf_free(&b);
        if (!bad)
                *ret = volume_object(&v);
        free(v.source);
        free(v.target);
        if (bad)
                return err_set(err, -EINVAL, "invalid spec: %s: %s", spec, bad);
        return 0;
}

/* ---- command lines ---- */

int compose_shell_split(const char *s, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *args = jv_new_array();
        bool escaped = false, dq = false, sq = false, got = false;
        struct util_buf b = {0};

        for (; *s; s++) {
                char c = *s;
                if (escaped) {
                        util_buf_addc(&b, c);
                        escaped = false;
                        got = true;
                        continue;
                }
                if (c == '\\') {
                        if (sq)
                                util_buf_addc(&b, c);
                        else
                                escaped = true;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        if (sq || dq) {
                                util_buf_addc(&b, c);
                        } else if (got) {
                                jv_append(args, jv_new_stringn(b.s ? b.s : "", b.len));
                                util_buf_free(&b);
                                got = false;
                        }
                        continue;
                }
                if ((c == '"' && !sq) || (c == '\'' && !dq)) {
                        if (c == '"')
                                dq = !dq;
                        else
                                sq = !sq;
                        got = true;
                        continue;
                }
                /* go-shellwords stops at an unquoted operator: what follows is not argv. */
                if (strchr(";&|<>", c) && !sq && !dq)
                        break;
                util_buf_addc(&b, c);
                got = true;
        }
        if (got)
                jv_append(args, jv_new_stringn(b.s ? b.s : "", b.len));
        util_buf_free(&b);
        if (escaped || sq || dq)
                return err_set(err, -EINVAL, "invalid command line string");
        *ret = TAKE_PTR(args);
        return 0;
}

/* ---- durations ---- */

static const struct {
        const char *unit;
        int64_t ns;
} duration_units[] = {
        {"ns", 1LL},
        {"us", 1000LL},
        {"\xc2\xb5s", 1000LL},
        {"\xce\xbcs", 1000LL},
        {"ms", 1000000LL},
        {"s", 1000000000LL},
        {"m", 60LL * 1000000000LL},
        {"h", 3600LL * 1000000000LL},
        {"d", 24LL * 3600LL * 1000000000LL},
        {"w", 7LL * 24LL * 3600LL * 1000000000LL},
};

int compose_parse_duration(const char *s, int64_t *ret_ns)
{
        long double total = 0;
        bool neg = false;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (!strcmp(s, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (!*s)
                return -EINVAL;
        while (*s) {
                size_t ip = strspn(s, "0123456789"), fp = 0, ul, best = 0, k = 0;
                size_t numlen;
                char num[64];
                long double v;
                if (s[ip] == '.')
                        fp = strspn(s + ip + 1, "0123456789");
                numlen = ip + (s[ip] == '.' ? 1 + fp : 0);
                if ((!ip && !fp) || numlen >= sizeof(num))
                        return -EINVAL;
                memcpy(num, s, numlen);
                num[numlen] = '\0';
                v = strtold(num, NULL);
                s += numlen;
                ul = strcspn(s, "0123456789.");
                if (!ul)
                        return -EINVAL;
                for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
                        if (strlen(duration_units[i].unit) == ul &&
                            !strncmp(s, duration_units[i].unit, ul))
                                best = 1, k = i;
                if (!best)
                        return -EINVAL;
                total += v * (long double)duration_units[k].ns;
                if (total > (long double)INT64_MAX)
                        return -EINVAL;
                s += ul;
        }
        *ret_ns = (int64_t)llroundl(neg ? -total : total);
        return 0;
}
