#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "ports.h"

/* Docker's fallback when the kernel range cannot be read (portallocator_unix.go). */
#define FALLBACK_FIRST 49153
#define FALLBACK_LAST  65535
#define LOCAL_RANGE    "/proc/sys/net/ipv4/ip_local_port_range"
#define LOCAL_RESERVED "/proc/sys/net/ipv4/ip_local_reserved_ports"
/* The state file holds one "<proto> <last port>" line per protocol: a few dozen bytes. */
#define STATE_MAX       256
#define PORT_DIGITS_MAX 5

static const struct {
        const char *name;
        uint8_t proto;
} protos[] = {
        {"tcp", IPPROTO_TCP},
        {"udp", IPPROTO_UDP},
        {"sctp", IPPROTO_SCTP},
};

const char *ports_proto_name(uint8_t proto)
{
        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                if (protos[i].proto == proto)
                        return protos[i].name;
        return NULL;
}

int ports_proto_parse(const char *s, uint8_t *ret)
{
        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                if (!strcmp(protos[i].name, s)) {
                        *ret = protos[i].proto;
                        return 0;
                }
        return -EINVAL;
}

/* The outcome of Go's strconv.ParseUint(s, 10, 16), whose error text Docker passes on. */
enum num_result { NUM_OK, NUM_SYNTAX, NUM_RANGE };

static enum num_result parse_u16(const char *s, size_t len, uint16_t *ret)
{
        uint32_t v = 0;

        if (len == 0)
                return NUM_SYNTAX;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return NUM_SYNTAX;
                v = v * 10 + (uint32_t)(s[i] - '0');
                if (v > UINT16_MAX)
                        return NUM_RANGE;
        }
        *ret = (uint16_t)v;
        return NUM_OK;
}

/* go-connections' port range for -p: "80" or "80-82"; any error is reported by the caller
 * as "invalid containerPort/hostPort: <text>", so only success matters here. */
static bool parse_range(const char *s, uint16_t *first, uint16_t *last)
{
        const char *dash = strchr(s, '-');
        size_t slen = dash ? (size_t)(dash - s) : strlen(s);

        if (!*s || parse_u16(s, slen, first) != NUM_OK)
                return false;
        if (!dash || (strlen(dash + 1) == slen && !strncmp(s, dash + 1, slen))) {
                *last = *first;
                return true;
        }
        return parse_u16(dash + 1, strlen(dash + 1), last) == NUM_OK && *last >= *first;
}

/* Splits at ':' like nat.splitParts: the last part is the container port, the one before the
 * host port, and everything before that the IP, so unbracketed IPv6 addresses survive. */
static int split_spec(const char *spec, char **ip, char **host, char **ctr)
{
        const char *last = strrchr(spec, ':'), *prev = NULL;

        if (last)
                for (const char *p = last; p > spec;)
                        if (*--p == ':') {
                                prev = p;
                                break;
                        }
        *ip = prev ? strndup(spec, (size_t)(prev - spec)) : strdup("");
        *host = !last ? strdup("")
                      : strndup(prev ? prev + 1 : spec, (size_t)(last - (prev ? prev + 1 : spec)));
        *ctr = strdup(last ? last + 1 : spec);
        return *ip && *host && *ctr ? 0 : -ENOMEM;
}

/* Emulates net.SplitHostPort(ip + ":") on a bracketed address, Docker's way of stripping the
 * brackets, including its error texts. */
static int strip_brackets(char *ip, struct err *err)
{
        _cleanup_free_ char *hp = util_printf("%s:", ip);
        const char *why = NULL;
        char *end;

        if (!hp)
                return -ENOMEM;
        end = strchr(hp, ']');
        if (!end)
                why = "missing ']' in address";
        else if ((size_t)(end - hp) + 1 != strlen(hp) - 1)
                why = end[1] == ':' ? "too many colons in address" : "missing port in address";
        else if (strchr(hp + 1, '['))
                why = "unexpected '[' in address";
        if (why)
                return err_set(err, -EINVAL, "invalid IP address %s: address %s: %s", ip, hp, why);
        memmove(ip, ip + 1, (size_t)(end - hp) - 1);
        ip[end - hp - 1] = '\0';
        return 0;
}

/* Validates and canonicalises an address ("" stays ""). */
static int canon_ip(const char *ip, char out[PORTS_IP_MAX])
{
        unsigned char buf[sizeof(struct in6_addr)];

        if (!*ip) {
                out[0] = '\0';
                return 0;
        }
        if (inet_pton(AF_INET, ip, buf) == 1)
                return inet_ntop(AF_INET, buf, out, PORTS_IP_MAX) ? 0 : -EINVAL;
        if (inet_pton(AF_INET6, ip, buf) == 1)
                return inet_ntop(AF_INET6, buf, out, PORTS_IP_MAX) ? 0 : -EINVAL;
        return -EINVAL;
}

/* Cuts "80/udp" into port text and protocol (nat.SplitProtoPort + validateProto). */
static int parse_ctr_proto(const char *spec, char *ctr, uint8_t *proto, struct err *err)
{
        char *slash = strchr(ctr, '/');
        const char *pname = slash && slash[1] ? slash + 1 : "tcp";

        if (slash)
                *slash = '\0';
        if (!*ctr)
                return err_set(err, -EINVAL, "no port specified: %s<empty>", spec);
        for (char *p = slash ? slash + 1 : NULL; p && *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        if (ports_proto_parse(pname, proto) < 0)
                return err_set(err, -EINVAL, "invalid proto: %s", pname);
        return 0;
}

static int parse_ip(char *ip, char out[PORTS_IP_MAX], struct err *err)
{
        int r;

        if (ip[0] == '[') {
                r = strip_brackets(ip, err);
                if (r < 0)
                        return r;
        }
        if (canon_ip(ip, out) < 0)
                return err_set(err, -EINVAL, "invalid IP address: %s", ip);
        return 0;
}

int ports_parse_publish(const char *spec, struct port_binding **ret, size_t *ret_n, struct err *err)
{
        _cleanup_free_ char *ip = NULL, *host = NULL, *ctr = NULL;
        _cleanup_free_ struct port_binding *out = NULL;
        char canon[PORTS_IP_MAX];
        uint16_t cs, ce, hs = 0, he = 0;
        uint8_t proto = 0;
        size_t count;
        int r;

        if (split_spec(spec, &ip, &host, &ctr) < 0)
                return err_set(err, -ENOMEM, "parsing port spec %s", spec);
        r = parse_ctr_proto(spec, ctr, &proto, err);
        if (r < 0)
                return r;
        r = parse_ip(ip, canon, err);
        if (r < 0)
                return r;
        /* Port 0 parses in Docker and fails at start; nothing can be published to it. */
        if (!parse_range(ctr, &cs, &ce) || cs == 0)
                return err_client(err, -EINVAL, "invalid containerPort: %s", ctr);
        if (*host && !parse_range(host, &hs, &he))
                return err_set(err, -EINVAL, "invalid hostPort: %s", host);
        /* A host range is allowed with a single container port: one port of it is picked. */
        if (*host && ce - cs != he - hs && ce != cs)
                return err_set(err, -EINVAL,
                               "invalid ranges specified for container and host Ports: %s and %s",
                               ctr, host);
        count = (size_t)(ce - cs) + 1;
        out = calloc(count, sizeof(*out));
        if (!out)
                return err_set(err, -ENOMEM, "parsing port spec %s", spec);
        for (size_t i = 0; i < count; i++) {
                memcpy(out[i].host_ip, canon, sizeof(canon));
                out[i].ctr_port = (uint16_t)(cs + i);
                out[i].proto = proto;
                if (!*host)
                        continue;
                out[i].host_port = count == 1 ? hs : (uint16_t)(hs + i);
                out[i].host_port_end = count == 1 ? he : out[i].host_port;
        }
        *ret = TAKE_PTR(out);
        *ret_n = count;
        return 0;
}

/* nat.ParsePortRange with its strconv error texts, which --expose passes on. */
static int expose_number(const char *s, size_t len, uint16_t *ret, char *why, size_t why_len)
{
        switch (parse_u16(s, len, ret)) {
        case NUM_OK:
                return 0;
        case NUM_SYNTAX:
                snprintf(why, why_len, "strconv.ParseUint: parsing \"%.*s\": invalid syntax",
                         (int)len, s);
                return -EINVAL;
        case NUM_RANGE:
                snprintf(why, why_len, "strconv.ParseUint: parsing \"%.*s\": value out of range",
                         (int)len, s);
                return -EINVAL;
        }
        return -EINVAL;
}

static int expose_range(const char *s, struct port_range *pr, char *why, size_t why_len)
{
        const char *dash = strchr(s, '-');

        if (!*s) {
                snprintf(why, why_len, "empty string specified for ports");
                return -EINVAL;
        }
        if (!dash) {
                if (expose_number(s, strlen(s), &pr->first, why, why_len) < 0)
                        return -EINVAL;
                pr->last = pr->first;
                return 0;
        }
        /* Go ignores a third part ("80-81-82"); rejecting it is kinder than dropping it. */
        if (strchr(dash + 1, '-')) {
                snprintf(why, why_len, "invalid port range format: %s", s);
                return -EINVAL;
        }
        if (expose_number(s, (size_t)(dash - s), &pr->first, why, why_len) < 0 ||
            expose_number(dash + 1, strlen(dash + 1), &pr->last, why, why_len) < 0)
                return -EINVAL;
        if (pr->last < pr->first) {
                snprintf(why, why_len, "invalid range specified for port: %s", s);
                return -EINVAL;
        }
        return 0;
}

int ports_parse_expose(const char *spec, struct port_range *ret, struct err *err)
{
        _cleanup_free_ char *port = NULL;
        char why[ERR_MSG_MAX / 2], pname[8] = "tcp";
        const char *slash = strchr(spec, '/');
        struct port_range pr;

        if (strchr(spec, ':'))
                return err_set(err, -EINVAL, "invalid port format for --expose: %s", spec);
        port = slash ? strndup(spec, (size_t)(slash - spec)) : strdup(spec);
        if (!port)
                return err_set(err, -ENOMEM, "parsing --expose %s", spec);
        if (expose_range(port, &pr, why, sizeof(why)) < 0)
                return err_set(err, -EINVAL, "invalid range format for --expose: %s, error: %s",
                               spec, why);
        if (slash && slash[1] && *port) {
                size_t n = strlen(slash + 1);

                if (n >= sizeof(pname))
                        return err_set(err, -EINVAL, "invalid proto: %s", slash + 1);
                for (size_t i = 0; i <= n; i++)
                        pname[i] = (char)(slash[1 + i] >= 'A' && slash[1 + i] <= 'Z'
                                                  ? slash[1 + i] - 'A' + 'a'
                                                  : slash[1 + i]);
        }
        if (ports_proto_parse(pname, &pr.proto) < 0)
                return err_set(err, -EINVAL, "invalid proto: %s", pname);
        *ret = pr;
        return 0;
}

/* net.JoinHostPort: brackets around addresses that contain a colon. */
static void put_hostport(FILE *f, const char *ip, const char *port)
{
        if (strchr(ip, ':'))
                fprintf(f, "[%s]:%s", ip, port);
        else
                fprintf(f, "%s:%s", ip, port);
}

/* Closes a memstream and hands out its buffer; -ENOMEM if any write failed. */
static int memstream_take(FILE *f, char **buf, char **ret, struct err *err)
{
        bool bad = ferror(f);

        if (fclose(f) != 0 || bad || !*buf) {
                free(*buf);
                *buf = NULL;
                return err_set(err, -ENOMEM, "formatting ports");
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

static int natural_cmp(const void *x, const void *y)
{
        const char *a = *(const char *const *)x, *b = *(const char *const *)y;

        return util_natural_less(a, b) ? -1 : util_natural_less(b, a) ? 1 : 0;
}

/* The port part of a `docker port` filter as the CLI validates it. */
static int check_filter_port(const char *port, struct err *err)
{
        uint16_t v;

        switch (parse_u16(port, strlen(port), &v)) {
        case NUM_OK:
                return 0;
        case NUM_SYNTAX:
                return err_set(err, -EINVAL,
                               "invalid port (%s): strconv.ParseUint: parsing \"%s\": invalid "
                               "syntax",
                               port, port);
        case NUM_RANGE:
                return err_set(err, -EINVAL,
                               "invalid port (%s): strconv.ParseUint: parsing \"%s\": value out "
                               "of range",
                               port, port);
        }
        return -EINVAL;
}

/* Line i of `docker port`: the whole mapping, or only the frontend when filtered. */
static char *mapping_line(const struct port_binding *b, bool frontend_only)
{
        char port[PORT_DIGITS_MAX + 1];
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        snprintf(port, sizeof(port), "%u", b->host_port);
        if (!frontend_only)
                fprintf(f, "%u/%s -> ", b->ctr_port, ports_proto_name(b->proto));
        put_hostport(f, b->host_ip, port);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Whether b is the port named by a filter "80" / "80/udp" (matched as text, like the CLI's
 * map lookup: "080" names nothing). */
static bool filter_matches(const struct port_binding *b, const char *port, const char *proto)
{
        char num[PORT_DIGITS_MAX + 1];

        snprintf(num, sizeof(num), "%u", b->ctr_port);
        return !strcmp(num, port) && ports_proto_name(b->proto) &&
               !strcmp(ports_proto_name(b->proto), proto);
}

static int join_sorted(char **lines, size_t n, char **ret, struct err *err)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        qsort(lines, n, sizeof(*lines), natural_cmp);
        f = open_memstream(&buf, &len);
        if (!f)
                return err_set(err, -ENOMEM, "formatting ports");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", lines[i]);
        return memstream_take(f, &buf, ret, err);
}

int ports_from_state(const struct jv *keys, const struct jv *ports, struct port_binding **ret,
                     size_t *ret_n)
{
        _cleanup_strv_ char **names = jv_keys(keys);
        _cleanup_free_ struct port_binding *v = NULL;
        size_t n = 0;

        for (char **k = names; k && *k; k++) {
                const struct jv *list = jv_get(ports, *k);
                const char *slash = strchr(*k, '/');
                uint8_t proto = IPPROTO_TCP;
                size_t m = jv_len(list) ? jv_len(list) : 1;
                struct port_binding *nv = realloc(v, (n + m) * sizeof(*v));

                if (!nv)
                        return -ENOMEM;
                v = nv;
                if (slash)
                        ports_proto_parse(slash + 1, &proto);
                for (size_t i = 0; i < m; i++) {
                        const struct jv *b = jv_at(list, i);
                        struct port_binding *pb = &v[n++];

                        memset(pb, 0, sizeof(*pb));
                        pb->ctr_port = (uint16_t)atoi(*k);
                        pb->proto = proto;
                        if (!b)
                                continue;
                        snprintf(pb->host_ip, sizeof(pb->host_ip), "%s",
                                 jv_get_str(b, "HostIp") ?: "");
                        pb->host_port = (uint16_t)atoi(jv_get_str(b, "HostPort") ?: "0");
                }
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int ports_format_mapping(const struct port_binding *b, size_t n, const char *filter,
                         const char *ctr_name, char **ret, struct err *err)
{
        _cleanup_strv_ char **lines = calloc(n + 1, sizeof(char *));
        _cleanup_free_ char *port = NULL;
        const char *proto = "tcp";
        size_t k = 0;
        int r;

        if (!lines)
                return err_set(err, -ENOMEM, "formatting ports");
        if (filter) {
                const char *slash = strchr(filter, '/');

                port = slash ? strndup(filter, (size_t)(slash - filter)) : strdup(filter);
                if (!port)
                        return err_set(err, -ENOMEM, "formatting ports");
                if (slash && slash[1])
                        proto = slash + 1;
                r = check_filter_port(port, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                if (!b[i].host_ip[0] || !ports_proto_name(b[i].proto))
                        continue;
                if (filter && !filter_matches(&b[i], port, proto))
                        continue;
                lines[k] = mapping_line(&b[i], filter != NULL);
                if (!lines[k++])
                        return err_set(err, -ENOMEM, "formatting ports");
        }
        if (filter && k == 0)
                return err_client(err, -ENOENT, "No public port '%s' published for %s", filter,
                                  ctr_name);
        return join_sorted(lines, k, ret, err);
}

/* netip.Addr ordering, which the CLI sorts by: no address, then IPv4, then IPv6, by bytes. */
static int ip_cmp(const char *a, const char *b)
{
        unsigned char ba[16] = {0}, bb[16] = {0};
        int ka = !*a ? 0 : inet_pton(AF_INET, a, ba) == 1 ? 1 : (inet_pton(AF_INET6, a, ba), 2);
        int kb = !*b ? 0 : inet_pton(AF_INET, b, bb) == 1 ? 1 : (inet_pton(AF_INET6, b, bb), 2);
        int c;

        if (ka != kb)
                return ka < kb ? -1 : 1;
        c = memcmp(ba, bb, sizeof(ba));
        return c ? c : strcmp(a, b);
}

static int ps_cmp(const void *x, const void *y)
{
        const struct port_binding *a = x, *b = y;
        const char *pa = ports_proto_name(a->proto), *pb = ports_proto_name(b->proto);
        int c;

        if (a->ctr_port != b->ctr_port)
                return a->ctr_port < b->ctr_port ? -1 : 1;
        c = ip_cmp(a->host_ip, b->host_ip);
        if (c)
                return c;
        if (a->host_port != b->host_port)
                return a->host_port < b->host_port ? -1 : 1;
        return strcmp(pa ? pa : "", pb ? pb : "");
}

/* A run of consecutive ports published on the same numbers (or only exposed), per address and
 * protocol, as the CLI's DisplayablePorts groups them. */
struct ps_group {
        const char *ip;
        uint8_t proto;
        uint16_t first, last;
};

static void put_group(FILE *f, bool *sep, const struct ps_group *g)
{
        char range[2 * PORT_DIGITS_MAX + 2];

        if (g->first == g->last)
                snprintf(range, sizeof(range), "%u", g->first);
        else
                snprintf(range, sizeof(range), "%u-%u", g->first, g->last);
        fputs(*sep ? ", " : "", f);
        *sep = true;
        if (*g->ip) {
                put_hostport(f, g->ip, range);
                fputs("->", f);
        }
        fprintf(f, "%s/%s", range, ports_proto_name(g->proto));
}

static struct ps_group *find_group(struct ps_group *g, size_t n, const char *ip, uint8_t proto)
{
        for (size_t i = 0; i < n; i++)
                if (g[i].proto == proto && !strcmp(g[i].ip, ip))
                        return &g[i];
        return NULL;
}

int ports_format_ps(const struct port_binding *b, size_t n, char **ret, struct err *err)
{
        _cleanup_free_ struct port_binding *s = malloc((n ? n : 1) * sizeof(*s));
        _cleanup_free_ struct ps_group *groups = calloc(n ? n : 1, sizeof(*groups));
        _cleanup_free_ bool *remapped = calloc(n ? n : 1, sizeof(bool));
        char *buf = NULL, port[PORT_DIGITS_MAX + 1];
        size_t len = 0, ng = 0, m = 0;
        bool sep = false;
        FILE *f;

        if (!s || !groups || !remapped)
                return err_set(err, -ENOMEM, "formatting ports");
        for (size_t i = 0; i < n; i++)
                if (ports_proto_name(b[i].proto))
                        s[m++] = b[i];
        qsort(s, m, sizeof(*s), ps_cmp);
        f = open_memstream(&buf, &len);
        if (!f)
                return err_set(err, -ENOMEM, "formatting ports");
        for (size_t i = 0; i < m; i++) {
                struct ps_group *g;

                if (*s[i].host_ip && s[i].host_port != s[i].ctr_port) {
                        remapped[i] = true;
                        continue;
                }
                g = find_group(groups, ng, s[i].host_ip, s[i].proto);
                if (!g) {
                        groups[ng++] = (struct ps_group){s[i].host_ip, s[i].proto, s[i].ctr_port,
                                                         s[i].ctr_port};
                        continue;
                }
                if (s[i].ctr_port == (uint16_t)(g->last + 1)) {
                        g->last = s[i].ctr_port;
                        continue;
                }
                put_group(f, &sep, g);
                g->first = g->last = s[i].ctr_port;
        }
        for (size_t i = 0; i < ng; i++)
                put_group(f, &sep, &groups[i]);
        for (size_t i = 0; i < m; i++) {
                if (!remapped[i])
                        continue;
                snprintf(port, sizeof(port), "%u", s[i].host_port);
                fputs(sep ? ", " : "", f);
                sep = true;
                put_hostport(f, s[i].host_ip, port);
                fprintf(f, "->%u/%s", s[i].ctr_port, ports_proto_name(s[i].proto));
        }
        return memstream_take(f, &buf, ret, err);
}

int ports_parse_local_range(const char *text, uint16_t *ret_first, uint16_t *ret_last)
{
        unsigned long a, b;
        char *end;

        a = strtoul(text, &end, 10);
        if (end == text || (*end != ' ' && *end != '\t'))
                return -EINVAL;
        text = end;
        b = strtoul(text, &end, 10);
        if (end == text || (*end && *end != '\n') || a == 0 || b > UINT16_MAX || a > b)
                return -EINVAL;
        *ret_first = (uint16_t)a;
        *ret_last = (uint16_t)b;
        return 0;
}

bool ports_is_reserved(const char *list, uint16_t port)
{
        const char *p = list;

        while (p && *p) {
                char *end;
                unsigned long a = strtoul(p, &end, 10), b = a;

                if (end == p)
                        return false;
                if (*end == '-')
                        b = strtoul(end + 1, &end, 10);
                if (port >= a && port <= b)
                        return true;
                p = strchr(end, ',');
                p = p ? p + 1 : NULL;
        }
        return false;
}

static int probe_one(int family, const char *ip, uint8_t proto, uint16_t port, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        int one = 1;

        fd = socket(family, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
                    proto);
        /* No IPv6 on this host, or no SCTP module: nothing there can hold the port. */
        if (fd < 0 &&
            (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT))
                return 1;
        if (fd < 0)
                return err_errno(err, "creating a %s socket", ports_proto_name(proto));
        if (family == AF_INET6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

                /* [::] must not stand in for 0.0.0.0, which is probed on its own. */
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(port);
                inet_pton(AF_INET6, ip, &s6->sin6_addr);
                sl = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

                s4->sin_family = AF_INET;
                s4->sin_port = htons(port);
                inet_pton(AF_INET, ip, &s4->sin_addr);
                sl = sizeof(*s4);
        }
        if (bind(fd, (struct sockaddr *)&ss, sl) == 0)
                return 1;
        if (errno == EADDRINUSE)
                return 0;
        return err_errno(err, "probing %s%s%s:%u/%s", family == AF_INET6 ? "[" : "", ip,
                         family == AF_INET6 ? "]" : "", port, ports_proto_name(proto));
}

int ports_probe(const char *host_ip, uint8_t proto, uint16_t port, struct err *err)
{
        unsigned char buf[sizeof(struct in6_addr)];
        int r;

        if (!ports_proto_name(proto))
                return err_set(err, -EINVAL, "unknown protocol %u", proto);
        if (!host_ip || !*host_ip) {
                r = probe_one(AF_INET, "0.0.0.0", proto, port, err);
                return r <= 0 ? r : probe_one(AF_INET6, "::", proto, port, err);
        }
        if (inet_pton(AF_INET, host_ip, buf) == 1)
                return probe_one(AF_INET, host_ip, proto, port, err);
        if (inet_pton(AF_INET6, host_ip, buf) == 1)
                return probe_one(AF_INET6, host_ip, proto, port, err);
        return err_set(err, -EINVAL, "invalid IP address: %s", host_ip);
}

/* Round-robin state: the last port handed out per protocol (0 = none). */
struct rr_state {
        uint16_t last[ARRAY_SIZE(protos)];
};

static size_t proto_index(uint8_t proto)
{
        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                if (protos[i].proto == proto)
                        return i;
        return 0;
}

/* Unreadable lines are ignored: the worst outcome is starting over at the range's start. */
static void rr_parse(const char *text, struct rr_state *st)
{
        for (const char *p = text; p && *p;) {
                char name[8];
                unsigned v;

                if (sscanf(p, "%7s %u", name, &v) == 2 && v <= UINT16_MAX)
                        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                                if (!strcmp(name, protos[i].name))
                                        st->last[i] = (uint16_t)v;
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
}

static int rr_open(const char *path, struct rr_state *st, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        char text[STATE_MAX];
        ssize_t n;

        if (fd < 0)
                return err_errno(err, "opening port allocator state %s", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return err_errno(err, "locking port allocator state %s", path);
        n = fs_read_all(fd, text, sizeof(text) - 1);
        if (n < 0)
                return err_set(err, (int)n, "reading port allocator state %s", path);
        text[n] = '\0';
        rr_parse(text, st);
        return TAKE_FD(fd);
}

static int rr_save(int fd, const char *path, const struct rr_state *st, struct err *err)
{
        char text[STATE_MAX];
        size_t len = 0;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                if (st->last[i])
                        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %u\n",
                                                protos[i].name, st->last[i]);
        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return err_errno(err, "rewriting port allocator state %s", path);
        r = fs_write_all(fd, text, len);
        if (r < 0)
                return err_set(err, r, "writing port allocator state %s: %s", path, strerror(-r));
        return 0;
}

/* Walks pool from start (wrapping) for the first port that is not reserved and binds. */
static int pick(const struct ports_pool *pool, uint16_t start, const char *ip, uint8_t proto,
                uint16_t *ret, struct err *err)
{
        uint32_t span = (uint32_t)pool->last - pool->first + 1;

        for (uint32_t i = 0; i < span; i++) {
                uint16_t p = (uint16_t)(pool->first + (start - pool->first + i) % span);
                int r;

                if (pool->reserved && ports_is_reserved(pool->reserved, p))
                        continue;
                r = ports_probe(ip, proto, p, err);
                if (r < 0)
                        return r;
                if (r == 1) {
                        *ret = p;
                        return 0;
                }
        }
        return err_set(err, -EADDRINUSE, "all ports are allocated: no free %s port in %u-%u on %s",
                       ports_proto_name(proto), pool->first, pool->last,
                       ip && *ip ? ip : "0.0.0.0 and [::]");
}

int ports_allocate_from(const char *state_path, const struct ports_pool *pool, const char *host_ip,
                        uint8_t proto, uint16_t *ret, struct err *err)
{
        _cleanup_close_ int fd = -1;
        struct rr_state st = {{0}};
        uint16_t start = pool->first, port = 0;
        size_t k = proto_index(proto);
        int r;

        if (!ports_proto_name(proto))
                return err_set(err, -EINVAL, "unknown protocol %u", proto);
        if (pool->first == 0 || pool->first > pool->last)
                return err_set(err, -EINVAL, "invalid port range %u-%u", pool->first, pool->last);
        if (state_path) {
                fd = rr_open(state_path, &st, err);
                if (fd < 0)
                        return fd;
                if (st.last[k] >= pool->first && st.last[k] < pool->last)
                        start = (uint16_t)(st.last[k] + 1);
        }
        r = pick(pool, start, host_ip, proto, &port, err);
        if (r < 0)
                return r;
        if (fd >= 0) {
                st.last[k] = port;
                r = rr_save(fd, state_path, &st, err);
                if (r < 0)
                        return r;
        }
        *ret = port;
        return 0;
}

int ports_allocate(const char *state_path, const char *host_ip, uint8_t proto, uint16_t *ret,
                   struct err *err)
{
        _cleanup_free_ char *range = NULL, *reserved = NULL;
        struct ports_pool pool = {FALLBACK_FIRST, FALLBACK_LAST, NULL};
        struct err ignored = {0};

        if (fs_read_file(LOCAL_RANGE, &range, NULL, &ignored) < 0 ||
            ports_parse_local_range(range, &pool.first, &pool.last) < 0) {
                pool.first = FALLBACK_FIRST;
                pool.last = FALLBACK_LAST;
        }
        if (fs_read_file(LOCAL_RESERVED, &reserved, NULL, &ignored) == 0)
                pool.reserved = reserved;
        return ports_allocate_from(state_path, &pool, host_ip, proto, ret, err);
}

int ports_allocate_range(const char *host_ip, uint8_t proto, uint16_t first, uint16_t last,
                         uint16_t *ret, struct err *err)
{
        struct ports_pool pool = {first, last, NULL};

        return ports_allocate_from(NULL, &pool, host_ip, proto, ret, err);
}
