/* The CNI protocol's data: environment, network configuration, versions, results. Pure:
 * no kernel and no files, so the unit tests drive it directly. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "dns/files.h"
#include "net/ipam.h"
#include "internal.h"

static const char *const versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
#define VERSIONS_N (sizeof(versions) / sizeof(versions[0]))

static const struct {
        const char *name;
        enum cni_cmd cmd;
} commands[] = {
        {"ADD", CNI_CMD_ADD},       {"DEL", CNI_CMD_DEL},         {"CHECK", CNI_CMD_CHECK},
        {"STATUS", CNI_CMD_STATUS}, {"VERSION", CNI_CMD_VERSION}, {"GC", CNI_CMD_GC},
};

int cni_fail(struct cni_req *q, struct err *err, int code, const char *fmt, ...)
{
        va_list ap;

        q->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = EINVAL;
        return -EINVAL;
}

bool cni_version_supported(const char *v)
{
        for (size_t i = 0; v && i < VERSIONS_N; i++)
                if (!strcmp(v, versions[i]))
                        return true;
        return false;
}

/* Versions compare as their index in the table (all are known by then). */
static int version_rank(const char *v)
{
        for (size_t i = 0; v && i < VERSIONS_N; i++)
                if (!strcmp(v, versions[i]))
                        return (int)i;
        return -1;
}

struct jv *cni_version_doc(const char *version)
{
        struct jv *d = jv_new_object(), *a = jv_new_array();

        for (size_t i = 0; i < VERSIONS_N; i++)
                jv_append(a, jv_new_string(versions[i]));
        jv_set_str(d, "cniVersion", version && *version ? version : versions[VERSIONS_N - 1]);
        jv_set(d, "supportedVersions", a);
        return d;
}

static const char *env_get(char *const *env, const char *key)
{
        size_t n = strlen(key);

        for (char *const *e = env; e && *e; e++)
                if (!strncmp(*e, key, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

/* The reference's utils.ValidateInterfaceName, narrowed to the characters a lease owner
 * may hold. */
static int ifname_check(struct cni_req *q, const char *s, struct err *err)
{
        size_t n = strlen(s);

        if (n == 0)
                return cni_fail(q, err, CNI_E_ENV, "interface name is empty");
        if (n > 15)
                return cni_fail(q, err, CNI_E_ENV, "interface name is too long");
        if (!strcmp(s, ".") || !strcmp(s, ".."))
                return cni_fail(q, err, CNI_E_ENV, "interface name is . or ..");
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return cni_fail(q, err, CNI_E_ENV,
                                        "interface name %s has characters other than "
                                        "[A-Za-z0-9_.-]",
                                        s);
        return 0;
}

/* CNI_ARGS "K=V;K=V": IP= asks for an address (host-local's convention); unknown keys are
 * refused unless IgnoreUnknown is set, as the reference plugins do. */
static int env_args(const char *args, struct cni_req *q, struct err *err)
{
        static const char *const known[] = {"IgnoreUnknown",
                                            "IP",
                                            "K8S_POD_NAMESPACE",
                                            "K8S_POD_NAME",
                                            "K8S_POD_INFRA_CONTAINER_ID",
                                            "K8S_POD_UID"};
        _cleanup_strv_ char **unknown = calloc(1, sizeof(char *));
        bool ignore = false;

        if (!unknown)
                return -ENOMEM;
        for (const char *p = args; p && *p;) {
                size_t n = strcspn(p, ";"), k = strcspn(p, "=");
                char key[64] = "", val[64] = "";
                bool is_known = false;

                if (k >= n || k >= sizeof(key) || n - k - 1 >= sizeof(val))
                        return cni_fail(q, err, CNI_E_ENV, "CNI_ARGS: invalid pair \"%.*s\"",
                                        (int)n, p);
                snprintf(key, sizeof(key), "%.*s", (int)k, p);
                snprintf(val, sizeof(val), "%.*s", (int)(n - k - 1), p + k + 1);
                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        is_known |= !strcmp(key, known[i]);
                if (!strcmp(key, "IgnoreUnknown"))
                        ignore = !strcasecmp(val, "1") || !strcasecmp(val, "true");
                if (!strcmp(key, "K8S_POD_NAME"))
                        snprintf(q->pod_name, sizeof(q->pod_name), "%s", val);
                if (!strcmp(key, "IP") && inet_pton(AF_INET, val, &q->want) != 1)
                        return cni_fail(q, err, CNI_E_ENV, "CNI_ARGS: IP=%s is not an IPv4 address",
                                        val);
                if (!is_known)
                        util_strv_push(&unknown, key);
                p += n + (p[n] == ';');
        }
        if (unknown[0] && !ignore)
                return cni_fail(q, err, CNI_E_ENV, "CNI_ARGS: unknown args [%s]", unknown[0]);
        return 0;
}

static int env_attachment(char *const *env, struct cni_req *q, struct err *err)
{
        const char *missing = !q->cid                              ? "CNI_CONTAINERID"
                              : !q->ifname                         ? "CNI_IFNAME"
                              : !env_get(env, "CNI_PATH")          ? "CNI_PATH"
                              : !q->netns && q->cmd != CNI_CMD_DEL ? "CNI_NETNS"
                                                                   : NULL;
        int r;

        if (missing)
                return cni_fail(q, err, CNI_E_ENV, "required env variables [%s] missing", missing);
        /* The reference plugins' rule (utils.ValidateContainerID) is Docker's name rule. */
        if (!util_name_ok(q->cid))
                return cni_fail(q, err, CNI_E_ENV, "invalid characters in containerID");
        if (strlen(q->cid) > CNI_ID_MAX)
                return cni_fail(q, err, CNI_E_ENV, "containerID longer than %d characters",
                                CNI_ID_MAX);
        r = ifname_check(q, q->ifname, err);
        if (r < 0)
                return r;
        snprintf(q->owner, sizeof(q->owner), "%s.%s", q->cid, q->ifname);
        return env_args(env_get(env, "CNI_ARGS"), q, err);
}

int cni_env_parse(char *const *env, struct cni_req *q, struct err *err)
{
        const char *cmd = env_get(env, "CNI_COMMAND");
        size_t i;

        if (!cmd)
                return cni_fail(q, err, CNI_E_ENV, "required env variables [CNI_COMMAND] missing");
        for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(cmd, commands[i].name))
                        break;
        if (i == sizeof(commands) / sizeof(commands[0]))
                return cni_fail(q, err, CNI_E_ENV, "unknown CNI_COMMAND: %s", cmd);
        q->cmd = commands[i].cmd;
        q->cid = env_get(env, "CNI_CONTAINERID");
        q->netns = env_get(env, "CNI_NETNS");
        q->ifname = env_get(env, "CNI_IFNAME");
        if (q->netns && !*q->netns)
                q->netns = NULL;
        if (q->cmd == CNI_CMD_ADD || q->cmd == CNI_CMD_DEL || q->cmd == CNI_CMD_CHECK)
                return env_attachment(env, q, err);
        return 0;
}

int cni_parse_cidr(const char *s, struct in_addr *ret, int *ret_prefix)
{
        char buf[INET_ADDRSTRLEN + 4];
        const char *slash = s ? strchr(s, '/') : NULL;
        long long prefix;

        if (!slash || (size_t)(slash - s) >= INET_ADDRSTRLEN)
                return -EINVAL;
        snprintf(buf, sizeof(buf), "%.*s", (int)(slash - s), s);
        if (inet_pton(AF_INET, buf, ret) != 1 || util_parse_ll(slash + 1, 0, 32, &prefix) < 0)
                return -EINVAL;
        *ret_prefix = (int)prefix;
        return 0;
}

static int addr_key(struct cni_req *q, const struct jv *o, const char *key, struct in_addr *ret,
                    struct err *err)
{
        const char *s = jv_get_str(o, key);

        if (!s)
                return 0;
        if (inet_pton(AF_INET, s, ret) != 1)
                return cni_fail(q, err, CNI_E_CONFIG, "ipam: %s \"%s\" is not an IPv4 address", key,
                                s);
        return 0;
}

/* The second range set: [{subnet (IPv6), gateway}], a dual-stack network. */
static int ipam_range6(struct cni_req *q, const struct jv *set, struct cni_conf *c, struct err *err)
{
        const struct jv *rg = jv_type(set) == JV_ARRAY && jv_len(set) == 1 ? jv_at(set, 0) : NULL;
        const char *subnet = jv_get_str(rg, "subnet"), *gw = jv_get_str(rg, "gateway");
        struct err perr = {0};

        if (!subnet || net_ipam_parse_cidr6(subnet, &c->subnet6, &c->prefix6, &perr) < 0)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: the second range set needs an "
                                "IPv6 subnet (%s)",
                                perr.msg[0] ? perr.msg : "none given");
        if (jv_get(rg, "rangeStart") || jv_get(rg, "rangeEnd"))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: rangeStart/rangeEnd are not supported for IPv6");
        c->gateway6 = c->subnet6;
        c->gateway6.s6_addr[15] |= 1;
        if (gw && (inet_pton(AF_INET6, gw, &c->gateway6) != 1 ||
                   !net_ipam_contains6(&c->subnet6, c->prefix6, &c->gateway6)))
                return cni_fail(q, err, CNI_E_CONFIG, "ipam: IPv6 gateway %s is not in %s", gw,
                                subnet);
        c->has_v6 = true;
        return 0;
}

static int more_range(struct cni_req *q, const struct jv *rg, struct cni_conf *c, struct err *err);

/* host-local's "ranges": [[{subnet, rangeStart, rangeEnd, gateway}, ...], [{IPv6}]], or its
 * older flat "subnet" form. */
static int ipam_range(struct cni_req *q, const struct jv *ipam, struct cni_conf *c, struct err *err)
{
        const struct jv *ranges = jv_get(ipam, "ranges"), *set = NULL, *rg = ipam;
        uint32_t mask, net;
        int r;

        if (ranges) {
                set = jv_type(ranges) == JV_ARRAY && jv_len(ranges) ? jv_at(ranges, 0) : NULL;
                rg = set && jv_type(set) == JV_ARRAY && jv_len(set) ? jv_at(set, 0) : NULL;
                if (!rg || jv_type(rg) != JV_OBJECT)
                        return cni_fail(q, err, CNI_E_CONFIG, "ipam: ranges must be [[{...}]]");
                if (jv_len(ranges) > 2 || jv_len(set) > 1 + ARRAY_SIZE(c->more))
                        return cni_fail(q, err, CNI_E_CONFIG,
                                        "ipam: hawser takes two range sets (IPv4, then "
                                        "optionally IPv6) of at most %zu ranges",
                                        1 + ARRAY_SIZE(c->more));
                if (jv_len(ranges) == 2 && (r = ipam_range6(q, jv_at(ranges, 1), c, err)) < 0)
                        return r;
        }
        if (!jv_get_str(rg, "subnet") ||
            cni_parse_cidr(jv_get_str(rg, "subnet"), &c->subnet, &c->prefix) < 0 || c->prefix < 1 ||
            c->prefix > 30)
                return cni_fail(q, err, CNI_E_CONFIG, "ipam: missing or invalid subnet");
        mask = (uint32_t)(0xffffffffULL << (32 - c->prefix));
        net = ntohl(c->subnet.s_addr) & mask;
        c->subnet.s_addr = htonl(net);
        c->first.s_addr = htonl(net + 1);
        c->last.s_addr = htonl((net | ~mask) - 1);
        c->gateway.s_addr = htonl(net + 1);
        r = addr_key(q, rg, "rangeStart", &c->first, err);
        if (r >= 0)
                r = addr_key(q, rg, "rangeEnd", &c->last, err);
        if (r >= 0)
                r = addr_key(q, rg, "gateway", &c->gateway, err);
        if (r < 0)
                return r;
        if ((ntohl(c->first.s_addr) & mask) != net || (ntohl(c->last.s_addr) & mask) != net ||
            (ntohl(c->gateway.s_addr) & mask) != net ||
            ntohl(c->first.s_addr) > ntohl(c->last.s_addr))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: rangeStart, rangeEnd and gateway must lie in the subnet, "
                                "in that order");
        for (size_t i = 1; set && i < jv_len(set); i++)
                if ((r = more_range(q, jv_at(set, i), c, err)) < 0)
                        return r;
        return 0;
}

/* A further range of the first set: the same subnet (and gateway), its own start and end. */
static int more_range(struct cni_req *q, const struct jv *rg, struct cni_conf *c, struct err *err)
{
        struct cni_range *m = &c->more[c->n_more];
        uint32_t mask = (uint32_t)(0xffffffffULL << (32 - c->prefix));
        uint32_t net = ntohl(c->subnet.s_addr);
        struct in_addr sub = {0}, gw = c->gateway;
        int prefix = 0, r;

        if (jv_type(rg) != JV_OBJECT || !jv_get_str(rg, "subnet") ||
            cni_parse_cidr(jv_get_str(rg, "subnet"), &sub, &prefix) < 0 || prefix != c->prefix ||
            (ntohl(sub.s_addr) & mask) != net)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: the ranges of a set must share its first range's subnet "
                                "(ranges in other subnets are not supported by hawser)");
        m->first.s_addr = htonl(net + 1);
        m->last.s_addr = htonl((net | ~mask) - 1);
        r = addr_key(q, rg, "rangeStart", &m->first, err);
        if (r >= 0)
                r = addr_key(q, rg, "rangeEnd", &m->last, err);
        if (r >= 0)
                r = addr_key(q, rg, "gateway", &gw, err);
        if (r < 0)
                return r;
        if (gw.s_addr != c->gateway.s_addr || (ntohl(m->first.s_addr) & mask) != net ||
            (ntohl(m->last.s_addr) & mask) != net || ntohl(m->first.s_addr) > ntohl(m->last.s_addr))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: a further range needs the same gateway and its "
                                "rangeStart and rangeEnd in the subnet, in that order");
        c->n_more++;
        return 0;
}

int cni_range_of(const struct cni_conf *c, struct in_addr a)
{
        uint32_t h = ntohl(a.s_addr);

        if (h >= ntohl(c->first.s_addr) && h <= ntohl(c->last.s_addr))
                return 0;
        for (size_t i = 0; i < c->n_more; i++)
                if (h >= ntohl(c->more[i].first.s_addr) && h <= ntohl(c->more[i].last.s_addr))
                        return (int)i + 1;
        return -1;
}

/* Routes: the default routes (via the gateways), and IPv4 routes to other networks, via the
 * gateway unless "gw" names another address of the subnet. */
/* An IPv6 route's dst "a/n" (n 1-128), host bits cleared, as Go's ParseCIDR reads it. */
static int route6_dst(const char *dst, struct in6_addr *ret, int *ret_prefix)
{
        char a[INET6_ADDRSTRLEN];
        const char *slash = strchr(dst, '/');
        long long n;

        if (!slash || (size_t)(slash - dst) >= sizeof(a) ||
            util_parse_ll(slash + 1, 1, 128, &n) < 0)
                return -EINVAL;
        memcpy(a, dst, (size_t)(slash - dst));
        a[slash - dst] = '\0';
        if (inet_pton(AF_INET6, a, ret) != 1)
                return -EINVAL;
        net_ipam_mask6(ret, (int)n);
        *ret_prefix = (int)n;
        return 0;
}

/* An IPv6 route of a dual-stack network: to dst via the IPv6 gateway or gw, an address of
 * the IPv6 subnet. */
static int ipam_route6(struct cni_req *q, struct cni_conf *c, const char *dst, const char *gw,
                       struct err *err)
{
        struct cni_route *rt = &c->routes[c->n_routes];

        if (!c->has_v6)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: route to %s: the network has no IPv6 range", dst);
        if (c->n_routes == ARRAY_SIZE(c->routes) || route6_dst(dst, &rt->to6, &rt->prefix) < 0)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: route to %s: not an IPv6 network (or more than %zu routes)",
                                dst, ARRAY_SIZE(c->routes));
        rt->v6 = true;
        rt->gw6 = c->gateway6;
        if (gw && (inet_pton(AF_INET6, gw, &rt->gw6) != 1 ||
                   !net_ipam_contains6(&c->subnet6, c->prefix6, &rt->gw6)))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam: route to %s via %s: not an address of the IPv6 subnet", dst,
                                gw);
        c->n_routes++;
        return 0;
}

static int ipam_routes(struct cni_req *q, const struct jv *ipam, struct cni_conf *c,
                       struct err *err)
{
        const struct jv *routes = jv_get(ipam, "routes");
        int r;

        for (size_t i = 0; routes && i < jv_len(routes); i++) {
                const struct jv *rt = jv_at(routes, i);
                const char *dst = jv_get_str(rt, "dst"), *gw = jv_get_str(rt, "gw");
                struct in_addr g;

                if (dst && !strcmp(dst, "::/0") && c->has_v6)
                        continue; /* the IPv6 default route, via the IPv6 gateway */
                if (dst && strchr(dst, ':')) {
                        r = ipam_route6(q, c, dst, gw, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (dst && strcmp(dst, "0.0.0.0/0")) {
                        struct cni_route *rt_ = &c->routes[c->n_routes];
                        uint32_t mask;
                        if (c->n_routes == ARRAY_SIZE(c->routes) ||
                            cni_parse_cidr(dst, &rt_->to, &rt_->prefix) < 0 || !rt_->prefix)
                                return cni_fail(q, err, CNI_E_CONFIG,
                                                "ipam: route to %s: not an IPv4 network (or "
                                                "more than %zu routes)",
                                                dst, ARRAY_SIZE(c->routes));
                        mask = (uint32_t)(0xffffffffULL << (32 - rt_->prefix));
                        rt_->to.s_addr = htonl(ntohl(rt_->to.s_addr) & mask);
                        rt_->gw = c->gateway;
                        if (gw && (inet_pton(AF_INET, gw, &rt_->gw) != 1 ||
                                   !net_ipam_contains(c->subnet, c->prefix, rt_->gw)))
                                return cni_fail(q, err, CNI_E_CONFIG,
                                                "ipam: route to %s via %s: not an address of "
                                                "the subnet",
                                                dst, gw);
                        c->n_routes++;
                        continue;
                }
                if (!dst)
                        return cni_fail(q, err, CNI_E_CONFIG, "ipam: a route without dst");
                if (gw && (inet_pton(AF_INET, gw, &g) != 1 || g.s_addr != c->gateway.s_addr))
                        return cni_fail(q, err, CNI_E_CONFIG,
                                        "ipam: the default route goes via the gateway, not %s", gw);
        }
        return 0;
}

static int parse_ipam(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const struct jv *ipam = jv_get(c->doc, "ipam");
        const char *type = jv_get_str(ipam, "type"), *dir = jv_get_str(ipam, "dataDir");
        int r;

        if (dir) {
                free(c->data_dir);
                c->data_dir = util_printf("%s/%s", dir, c->name);
                if (!c->data_dir)
                        return -ENOMEM;
        }
        if (!ipam || jv_type(ipam) != JV_OBJECT || !type)
                return c->ports_only ? 0
                                     : cni_fail(q, err, CNI_E_CONFIG, "ipam: missing or no type");
        if (strcmp(type, "hawser") && strcmp(type, "host-local"))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "ipam type %s: hawser has its own IPAM (type hawser or "
                                "host-local)",
                                type);
        r = ipam_range(q, ipam, c, err);
        if (r >= 0)
                r = ipam_routes(q, ipam, c, err);
        if (r < 0)
                return r;
        c->has_ipam = true;
        return 0;
}

static int parse_port(struct cni_req *q, const struct cni_conf *c, const struct jv *m,
                      struct cni_port *p, struct err *err)
{
        const char *proto = jv_get_str(m, "protocol"), *ip = jv_get_str(m, "hostIP");
        long long hp = jv_get_int(m, "hostPort", 0), cp = jv_get_int(m, "containerPort", 0);

        if (hp < 1 || hp > 65535 || cp < 1 || cp > 65535)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "portMappings: hostPort and containerPort must be 1-65535");
        p->host_port = (uint16_t)hp;
        p->ctr_port = (uint16_t)cp;
        if (!proto || !strcasecmp(proto, "tcp"))
                p->proto = IPPROTO_TCP;
        else if (!strcasecmp(proto, "udp"))
                p->proto = IPPROTO_UDP;
        else if (!strcasecmp(proto, "sctp"))
                p->proto = IPPROTO_SCTP;
        else
                return cni_fail(q, err, CNI_E_CONFIG, "portMappings: unknown protocol %s", proto);
        if (!ip || !*ip)
                return 0;
        if (inet_pton(AF_INET, ip, &p->host_ip) == 1) {
                p->family = AF_INET;
                return 0;
        }
        if (inet_pton(AF_INET6, ip, &p->host_ip6) != 1)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "portMappings: hostIP %s is not an IP address", ip);
        p->family = AF_INET6;
        /* Linux routes nothing DNAT'ed from ::1 off the loopback interface. */
        if (IN6_IS_ADDR_LOOPBACK(&p->host_ip6))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "portMappings: hostIP ::1 cannot be mapped (Linux does not "
                                "forward IPv6 loopback traffic to another interface)");
        if (c->ports_only || !c->has_v6)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "portMappings: hostIP %s is an IPv6 address and %s", ip,
                                c->ports_only ? "portmap-only mode maps IPv4 ports only"
                                              : "the network has no IPv6 range");
        return 0;
}

static int parse_ports(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const struct jv *pm = jv_path(c->doc, "runtimeConfig.portMappings");
        size_t n = pm && jv_type(pm) == JV_ARRAY ? jv_len(pm) : 0;

        if (n == 0)
                return 0;
        c->ports = calloc(n, sizeof(*c->ports));
        if (!c->ports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = parse_port(q, c, jv_at(pm, i), &c->ports[c->n_ports], err);
                if (r < 0)
                        return r;
                c->n_ports++;
        }
        return 0;
}

/* The address asked for: CNI_ARGS IP=, else the "ips" capability (runtimeConfig.ips, or
 * args.cni.ips), which must lie in the range. */
static int parse_want(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const struct jv *ips = jv_path(c->doc, "runtimeConfig.ips");
        const char *s;
        int prefix;

        if (!ips)
                ips = jv_path(c->doc, "args.cni.ips");
        s = ips && jv_len(ips) ? jv_str(jv_at(ips, 0)) : NULL;
        c->want = q->want;
        if (!c->want.s_addr && s && cni_parse_cidr(s, &c->want, &prefix) < 0 &&
            inet_pton(AF_INET, s, &c->want) != 1)
                return cni_fail(q, err, CNI_E_CONFIG, "ips: %s is not an IPv4 address", s);
        if (c->want.s_addr && c->has_ipam && cni_range_of(c, c->want) < 0) {
                char a[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &c->want, a, sizeof(a));
                return cni_fail(q, err, CNI_E_CONFIG,
                                "requested IP address %s is not in the network's range", a);
        }
        return 0;
}

static int parse_valid(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const struct jv *va = jv_get(c->doc, "cni.dev/valid-attachments");

        c->valid = calloc(1, sizeof(char *));
        if (!c->valid)
                return -ENOMEM;
        for (size_t i = 0; va && i < jv_len(va); i++) {
                const char *id = jv_get_str(jv_at(va, i), "containerID");
                const char *ifn = jv_get_str(jv_at(va, i), "ifname");
                _cleanup_free_ char *o = NULL;

                if (!id || !ifn)
                        return cni_fail(q, err, CNI_E_CONFIG,
                                        "cni.dev/valid-attachments: an entry lacks containerID "
                                        "or ifname");
                o = util_printf("%s.%s", id, ifn);
                if (!o)
                        return -ENOMEM;
                util_strv_push(&c->valid, o);
        }
        return 0;
}

/* cniVersion: known, and recent enough for the command. */
static int check_version(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const char *v = jv_get_str(c->doc, "cniVersion");
        int need = q->cmd == CNI_CMD_CHECK                            ? version_rank("0.4.0")
                   : q->cmd == CNI_CMD_STATUS || q->cmd == CNI_CMD_GC ? version_rank("1.1.0")
                                                                      : 0;

        if (!v || !cni_version_supported(v))
                return cni_fail(q, err, CNI_E_VERSION,
                                "incompatible CNI versions; config is \"%s\", plugin supports "
                                "[\"0.3.0\" \"0.3.1\" \"0.4.0\" \"1.0.0\" \"1.1.0\"]",
                                v ? v : "");
        snprintf(c->version, sizeof(c->version), "%s", v);
        if (version_rank(v) < need)
                return cni_fail(q, err, CNI_E_VERSION, "config version %s does not allow %s", v,
                                q->cmd == CNI_CMD_CHECK    ? "CHECK"
                                : q->cmd == CNI_CMD_STATUS ? "STATUS"
                                                           : "GC");
        return 0;
}

/* The "dns" capability (runtimeConfig.dns): lists of strings, servers IP addresses. */
static int parse_dns_capability(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        static const char *const keys[] = {"servers", "searches", "options"};
        const struct jv *d = jv_path(c->doc, "runtimeConfig.dns");

        if (d && jv_type(d) != JV_OBJECT)
                return cni_fail(q, err, CNI_E_CONFIG, "runtimeConfig.dns must be an object");
        for (size_t i = 0; d && i < ARRAY_SIZE(keys); i++) {
                const struct jv *v = jv_get(d, keys[i]);
                if (v && jv_type(v) != JV_ARRAY)
                        return cni_fail(q, err, CNI_E_CONFIG, "runtimeConfig.dns.%s must be a list",
                                        keys[i]);
                for (size_t k = 0; k < jv_len(v); k++) {
                        const char *s = jv_str(jv_at(v, k));
                        struct in6_addr a;
                        if (!s)
                                return cni_fail(q, err, CNI_E_CONFIG,
                                                "runtimeConfig.dns.%s must list strings", keys[i]);
                        if (i == 0 && inet_pton(AF_INET, s, &a) != 1 &&
                            inet_pton(AF_INET6, s, &a) != 1)
                                return cni_fail(q, err, CNI_E_CONFIG,
                                                "runtimeConfig.dns.servers: %s is not an IP "
                                                "address",
                                                s);
                }
        }
        return 0;
}

/* embeddedDNS and dnsDomain. */
static int parse_dns(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const struct jv *on = jv_get(c->doc, "embeddedDNS");
        const char *domain = jv_get_str(c->doc, "dnsDomain");

        if (on && jv_type(on) != JV_BOOL)
                return cni_fail(q, err, CNI_E_CONFIG, "embeddedDNS must be true or false");
        c->dns_server = on && jv_bool(on);
        if (domain && (strlen(domain) >= sizeof(c->dns_domain) || !dns_files_domain_ok(domain) ||
                       !strcmp(domain, ".")))
                return cni_fail(q, err, CNI_E_CONFIG, "dnsDomain %s is not a domain name", domain);
        snprintf(c->dns_domain, sizeof(c->dns_domain), "%s", domain ? domain : CNI_DNS_DOMAIN);
        if (c->dns_server && c->ports_only)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "embeddedDNS needs hawser-cni as the main plugin, not in "
                                "portmap-only mode");
        /* Read only by ADD: a bad one must not keep DEL from cleaning up. */
        return q->cmd == CNI_CMD_ADD ? parse_dns_capability(q, c, err) : 0;
}

static int parse_plugin(struct cni_req *q, struct cni_conf *c, struct err *err)
{
        const char *type = jv_get_str(c->doc, "type"), *bridge = jv_get_str(c->doc, "bridge");
        const char *mode = jv_get_str(c->doc, "mode");
        const struct jv *gw = jv_get(c->doc, "isGateway");

        c->name = jv_get_str(c->doc, "name");
        if (!c->name || !util_name_ok(c->name))
                return cni_fail(q, err, CNI_E_CONFIG, "missing or invalid network name");
        /* Runtimes run the file named after the type, and hawser is the plugin only under
         * the name hawser-cni: that is the type to write; "hawser" is the same plugin. */
        if (type && strcmp(type, "hawser") && strcmp(type, "hawser-cni"))
                return cni_fail(q, err, CNI_E_CONFIG, "plugin type %s is not hawser-cni", type);
        if (bridge && (!*bridge || strlen(bridge) > 15))
                return cni_fail(q, err, CNI_E_CONFIG, "bridge name %s must have 1-15 characters",
                                bridge);
        if (gw && !jv_bool(gw))
                return cni_fail(q, err, CNI_E_CONFIG,
                                "isGateway false is not supported: hawser's bridge is the "
                                "containers' gateway");
        snprintf(c->bridge, sizeof(c->bridge), "%s", bridge ? bridge : "cni-hawser0");
        c->ip_masq = jv_get_bool(c->doc, "ipMasq");
        c->mtu = (int)jv_get_int(c->doc, "mtu", 0);
        c->prev = jv_get(c->doc, "prevResult");
        c->ports_only = (mode && !strcmp(mode, "portmap-only")) ||
                        (q->cmd == CNI_CMD_ADD && c->prev && jv_type(c->prev) == JV_OBJECT);
        c->data_dir = util_printf("/var/lib/cni/networks/%s", c->name);
        return c->data_dir ? parse_dns(q, c, err) : -ENOMEM;
}

int cni_conf_parse(struct cni_req *q, const char *text, struct cni_conf *c, struct err *err)
{
        struct err perr = {0};
        int r;

        *c = (struct cni_conf){0};
        if (jv_parse(text, &c->doc, &perr) < 0 || jv_type(c->doc) != JV_OBJECT)
                return cni_fail(q, err, CNI_E_DECODE, "decoding the network configuration: %s",
                                perr.msg[0] ? perr.msg : "not a JSON object");
        if (q->cmd == CNI_CMD_VERSION)
                return 0;
        r = check_version(q, c, err);
        if (r >= 0)
                r = parse_plugin(q, c, err);
        if (r >= 0)
                r = parse_ipam(q, c, err);
        if (r >= 0)
                r = parse_ports(q, c, err);
        if (r >= 0 && q->cmd == CNI_CMD_ADD)
                r = parse_want(q, c, err);
        if (r >= 0 && q->cmd == CNI_CMD_GC)
                r = parse_valid(q, c, err);
        if (r == -ENOMEM)
                return cni_fail(q, err, CNI_E_PLUGIN, "out of memory");
        return r;
}

void cni_conf_done(struct cni_conf *c)
{
        jv_put(c->doc);
        free(c->data_dir);
        free(c->ports);
        util_strv_free(c->valid);
        *c = (struct cni_conf){0};
}

void cni_veth_name(const char *owner, char out[16])
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (const char *p = owner; *p; p++)
                h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
        snprintf(out, 16, "hc%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

static struct jv *iface(const char *name, const uint8_t *mac, const char *sandbox)
{
        struct jv *o = jv_new_object();

        jv_set_str(o, "name", name);
        if (mac) {
                char m[18];
                snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                         mac[3], mac[4], mac[5]);
                jv_set_str(o, "mac", m);
        }
        if (sandbox)
                jv_set_str(o, "sandbox", sandbox);
        return o;
}

/* One entry of the result's ips (on the container's interface, 2) and, with a gateway, its
 * default route. */
static void add_ip(const struct cni_conf *c, int family, const void *addr, int prefix,
                   const void *gateway, struct jv *ips, struct jv *routes)
{
        char a[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 4];
        struct jv *ip = jv_new_object();

        snprintf(cidr, sizeof(cidr), "%s/%d", inet_ntop(family, addr, a, sizeof(a)), prefix);
        if (version_rank(c->version) < version_rank("1.0.0"))
                jv_set_str(ip, "version", family == AF_INET ? "4" : "6");
        jv_set_int(ip, "interface", 2);
        jv_set_str(ip, "address", cidr);
        if (gateway) {
                struct jv *rt = jv_new_object();
                inet_ntop(family, gateway, a, sizeof(a));
                jv_set_str(ip, "gateway", a);
                jv_set_str(rt, "dst", family == AF_INET ? "0.0.0.0/0" : "::/0");
                jv_set_str(rt, "gw", a);
                jv_append(routes, rt);
        }
        jv_append(ips, ip);
}

/* The result's dns: the configuration's, each list the runtime passes with the "dns"
 * capability (runtimeConfig.dns: servers, searches, options, as CRI sends a pod's DNS
 * config) replacing the configuration's, then the embedded server first and its domain
 * searched when the network has one. */
static struct jv *result_dns(const struct cni_conf *c, const struct jv *dns,
                             const struct cni_result *res)
{
        static const char *const cap[][2] = {
                {"servers", "nameservers"}, {"searches", "search"}, {"options", "options"}};
        struct jv *d = dns && jv_type(dns) == JV_OBJECT ? jv_copy(dns) : jv_new_object();
        const struct jv *rt = jv_path(c->doc, "runtimeConfig.dns");
        struct jv *ns, *search;
        const struct jv *old;
        char gw[INET_ADDRSTRLEN];

        for (size_t i = 0; jv_type(rt) == JV_OBJECT && i < ARRAY_SIZE(cap); i++) {
                const struct jv *v = jv_get(rt, cap[i][0]);
                if (jv_type(v) == JV_ARRAY)
                        jv_set(d, cap[i][1], jv_copy(v));
        }

        if (!c->dns_server || !res->gateway.s_addr)
                return d;
        ns = jv_new_array();
        jv_append(ns, jv_new_string(inet_ntop(AF_INET, &res->gateway, gw, sizeof(gw))));
        old = jv_get(d, "nameservers");
        for (size_t i = 0; old && i < jv_len(old); i++)
                jv_append(ns, jv_copy(jv_at(old, i)));
        search = jv_new_array();
        jv_append(search, jv_new_string(c->dns_domain));
        old = jv_get(d, "search");
        for (size_t i = 0; old && i < jv_len(old); i++)
                jv_append(search, jv_copy(jv_at(old, i)));
        jv_set(d, "nameservers", ns);
        jv_set(d, "search", search);
        return d;
}

struct jv *cni_result_doc(const struct cni_conf *c, const struct cni_req *q, const char *netns,
                          const struct cni_result *res)
{
        struct jv *d = jv_new_object(), *ifs = jv_new_array(), *ips = jv_new_array();
        struct jv *routes = jv_new_array();
        const struct jv *dns = jv_get(c->doc, "dns");

        jv_set_str(d, "cniVersion", c->version);
        jv_append(ifs, iface(res->bridge, NULL, NULL));
        jv_append(ifs, iface(res->veth, NULL, NULL));
        jv_append(ifs, iface(q->ifname, res->mac, netns));
        jv_set(d, "interfaces", ifs);
        add_ip(c, AF_INET, &res->addr, res->prefix, res->gateway.s_addr ? &res->gateway : NULL, ips,
               routes);
        if (res->has_v6)
                add_ip(c, AF_INET6, &res->addr6, res->prefix6, &res->gateway6, ips, routes);
        for (size_t i = 0; i < c->n_routes; i++) {
                const struct cni_route *r = &c->routes[i];
                int family = r->v6 ? AF_INET6 : AF_INET;
                char to[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN + 5], gw[INET6_ADDRSTRLEN];
                struct jv *rt = jv_new_object();
                inet_ntop(family, r->v6 ? (const void *)&r->to6 : &r->to, to, sizeof(to));
                snprintf(dst, sizeof(dst), "%s/%d", to, r->prefix);
                jv_set_str(rt, "dst", dst);
                jv_set_str(
                        rt, "gw",
                        inet_ntop(family, r->v6 ? (const void *)&r->gw6 : &r->gw, gw, sizeof(gw)));
                jv_append(routes, rt);
        }
        jv_set(d, "ips", ips);
        jv_set(d, "routes", routes);
        jv_set(d, "dns", result_dns(c, dns, res));
        return d;
}

int cni_prev_addr(struct cni_req *q, const struct jv *prev, struct in_addr *ret, int *ret_prefix,
                  char bridge[16], struct err *err)
{
        const struct jv *ips = jv_get(prev, "ips"), *ifs = jv_get(prev, "interfaces");
        bool found = false;

        for (size_t i = 0; ips && i < jv_len(ips) && !found; i++)
                found = cni_parse_cidr(jv_get_str(jv_at(ips, i), "address"), ret, ret_prefix) == 0;
        if (!found)
                return cni_fail(q, err, CNI_E_CONFIG,
                                "prevResult has no IPv4 address to map ports to");
        bridge[0] = '\0';
        for (size_t i = 0; ifs && i < jv_len(ifs); i++) {
                const char *name = jv_get_str(jv_at(ifs, i), "name");
                if (name && strlen(name) <= 15 && !jv_get_str(jv_at(ifs, i), "sandbox")) {
                        snprintf(bridge, 16, "%s", name);
                        break;
                }
        }
        return 0;
}
