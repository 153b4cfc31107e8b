/* Network documents: --root/networks/NAME.json, their names and subnets, the default network. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "internal.h"

char *store_doc_path(const struct cli *cli, const char *name)
{
        return cli_root_path(cli, "networks/%s.json", name);
}

char *store_lease_dir(const struct cli *cli, const char *name)
{
        return cli_runroot_path(cli, "networks/%s/leases", name);
}

enum network_mode network_mode_parse(const char *mode, const char **ret_target)
{
        if (ret_target)
                *ret_target = NULL;
        if (!mode || !strcmp(mode, "none"))
                return NETWORK_MODE_NONE;
        if (!strcmp(mode, "host"))
                return NETWORK_MODE_HOST;
        if (!strncmp(mode, "container:", 10)) {
                if (ret_target)
                        *ret_target = mode + 10;
                return NETWORK_MODE_CONTAINER;
        }
        /* Docker's "default" is the default bridge network (the mode keeps its word). */
        if (ret_target)
                *ret_target = strcmp(mode, "default") ? mode : NETWORK_DEFAULT;
        return NETWORK_MODE_BRIDGE;
}

enum network_mode network_mode_of(const struct jv *doc, const char **ret_target)
{
        return network_mode_parse(jv_str(jv_path(doc, "HostConfig.NetworkMode")), ret_target);
}

void network_release(struct network *n)
{
        jv_put(n->doc);
        n->doc = NULL;
}

int store_parse_addr(const char *s, struct in_addr *ret)
{
        return s && inet_pton(AF_INET, s, ret) == 1 ? 0 : -EINVAL;
}

/* Fills the struct from the stored document (Docker's `network inspect` shape). */
int store_from_doc(struct jv *doc, struct network *n, struct err *err)
{
        const struct jv *cfg = jv_at(jv_path(doc, "IPAM.Config"), 0);
        const struct jv *opts = jv_get(doc, "Options");
        const char *br = jv_get_str(opts, "com.docker.network.bridge.name");
        const char *mtu = jv_get_str(opts, "com.docker.network.driver.mtu");
        const char *icc = jv_get_str(opts, "com.docker.network.bridge.enable_icc");
        const char *range = jv_get_str(cfg, "IPRange");
        struct err ignore = {0};

        memset(n, 0, sizeof(*n));
        snprintf(n->name, sizeof(n->name), "%s", jv_get_str(doc, "Name") ?: "");
        snprintf(n->id, sizeof(n->id), "%s", jv_get_str(doc, "Id") ?: "");
        snprintf(n->bridge, sizeof(n->bridge), "%s", br ?: "");
        if (net_ipam_parse_cidr(jv_get_str(cfg, "Subnet") ?: "", &n->subnet, &n->prefix, err) < 0 ||
            store_parse_addr(jv_get_str(cfg, "Gateway"), &n->gateway) < 0)
                return err_set(err, -EINVAL, "network %s has a broken configuration", n->name);
        if (!range || net_ipam_parse_cidr(range, &n->range, &n->range_prefix, &ignore) < 0) {
                n->range = n->subnet;
                n->range_prefix = n->prefix;
        }
        n->mtu = mtu ? atoi(mtu) : 1500;
        n->icc = !icc || strcmp(icc, "false");
        n->internal = jv_get_bool(doc, "Internal");
        for (size_t i = 0; i < jv_len(jv_path(doc, "IPAM.Config")); i++) {
                const struct jv *c6 = jv_at(jv_path(doc, "IPAM.Config"), i);
                const char *sub = jv_get_str(c6, "Subnet"), *gw = jv_get_str(c6, "Gateway");
                if (!sub || !strchr(sub, ':') ||
                    net_ipam_parse_cidr6(sub, &n->subnet6, &n->prefix6, &ignore) < 0 || !gw ||
                    inet_pton(AF_INET6, gw, &n->gateway6) != 1)
                        continue;
                n->ipv6 = jv_get_bool(doc, "EnableIPv6");
        }
        if (store_driver(jv_get_str(doc, "Driver"), opts, n, err) < 0)
                return -err->code;
        n->doc = doc;
        return 0;
}

int store_lock(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_free_ char *path = cli_root_path(cli, "%s", name);
        int fd;

        if (!path || fs_mkdir_p(cli->root, 0700, err) < 0)
                return err_set(err, -ENOMEM, "locking %s", name);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "opening %s", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        close(fd);
                        return err_errno(err, "locking %s", path);
                }
        return fd;
}

/* Calls fn for every stored network document; stops at a non-zero return. */
int store_each(const struct cli *cli, int (*fn)(struct jv *doc, void *ud), void *ud)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "networks");
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct jv *doc = NULL;
                struct err e = {0};
                size_t n = strlen(de->d_name);
                int r;
                if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
                        continue;
                p = util_printf("%s/%s", dir, de->d_name);
                if (!p || jv_load(p, &doc, &e) < 0)
                        continue;
                r = fn(doc, ud);
                jv_put(doc);
                if (r)
                        return r;
        }
        return 0;
}

struct overlap_q {
        struct in_addr net;
        int prefix;
        char who[128];
};

static int overlap_cb(struct jv *doc, void *ud)
{
        struct overlap_q *q = ud;
        struct in_addr net;
        int prefix;
        struct err e = {0};
        const char *s = jv_get_str(jv_at(jv_path(doc, "IPAM.Config"), 0), "Subnet");

        if (!s || net_ipam_parse_cidr(s, &net, &prefix, &e) < 0)
                return 0;
        if (!net_ipam_overlaps(net, prefix, q->net, q->prefix))
                return 0;
        snprintf(q->who, sizeof(q->who), "%s", jv_get_str(doc, "Name") ?: "?");
        return 1;
}

/* The first of Docker's default pools that no network and no host route uses. */
static int pick_subnet(const struct cli *cli, struct in_addr *net, int *prefix, struct err *err)
{
        for (int i = 0; net_ipam_pool_next(i, net, prefix) == 0; i++) {
                struct overlap_q q = {.net = *net, .prefix = *prefix};
                bool busy = false;
                if (store_each(cli, overlap_cb, &q))
                        continue;
                if (net_route_overlaps(*net, *prefix, &busy, err) < 0)
                        return -err->code;
                if (!busy)
                        return 0;
        }
        return err_set(err, -ENOSPC,
                       "could not find an available, non-overlapping IPv4 "
                       "address pool among the defaults to assign to the network");
}

static int set_option(struct jv *opts, const char *kv, struct err *err)
{
        _cleanup_free_ char *k = strdup(kv);
        char *v = k ? strchr(k, '=') : NULL;
        long long mtu;

        if (!v)
                return err_set(err, -EINVAL, "invalid option %s: expected key=value", kv);
        *v++ = '\0';
        jv_set_str(opts, strcmp(k, "mtu") ? k : "com.docker.network.driver.mtu", v);
        v = (char *)jv_get_str(opts, "com.docker.network.driver.mtu");
        if (v && util_parse_ll(v, 68, 65535, &mtu) < 0)
                return err_set(err, -EINVAL, "invalid MTU %s: must be a number from 68 to 65535",
                               v);
        v = (char *)jv_get_str(opts, "com.docker.network.bridge.name");
        if (v && (!*v || strlen(v) > 15))
                return err_set(err, -EINVAL, "invalid bridge name \"%s\": 1 to 15 characters", v);
        return 0;
}

/* A subnet hawser can give containers: not host loopback (a bridge on 127.0.0.0/8 cuts the
 * host off its own loopback services), not multicast, room for a gateway and a container. */
static int check_subnet(const char *text, struct in_addr net, int prefix, struct err *err)
{
        static const struct {
                uint32_t net;
                int prefix;
                const char *what;
        } reserved[] = {
                {0x7f000000u, 8, "the loopback range 127.0.0.0/8"},
                {0xe0000000u, 4, "the multicast range 224.0.0.0/4"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
                if (net_ipam_overlaps(net, prefix, (struct in_addr){htonl(reserved[i].net)},
                                      reserved[i].prefix))
                        return err_set(err, -EINVAL, "invalid subnet %s: it overlaps %s", text,
                                       reserved[i].what);
        if (prefix > 30)
                return err_set(err, -EINVAL,
                               "failed to allocate gateway (): No available addresses on this "
                               "pool (subnet %s holds no address for a gateway and a container)",
                               text);
        return 0;
}

static int ipam_config(const struct network_opts *o, struct in_addr net, int prefix,
                       struct jv **ret, struct err *err)
{
        struct in_addr gw = {htonl(ntohl(net.s_addr) + 1)}, rnet;
        int rprefix;
        char buf[64], a[INET_ADDRSTRLEN];
        struct jv *c = jv_new_object();

        if (o->gateway &&
            (store_parse_addr(o->gateway, &gw) < 0 || !net_ipam_contains(net, prefix, gw))) {
                jv_put(c);
                return err_set(err, -EINVAL, "invalid gateway %s: it must be an address in %s/%d",
                               o->gateway, inet_ntop(AF_INET, &net, a, sizeof(a)), prefix);
        }
        if (o->ip_range) {
                if (net_ipam_parse_cidr(o->ip_range, &rnet, &rprefix, err) < 0 ||
                    rprefix < prefix || !net_ipam_contains(net, prefix, rnet)) {
                        jv_put(c);
                        return err_set(err, -EINVAL,
                                       "invalid ip-range %s: it must be inside "
                                       "the subnet",
                                       o->ip_range);
                }
                jv_set_str(c, "IPRange", o->ip_range);
        }
        snprintf(buf, sizeof(buf), "%s/%d", inet_ntop(AF_INET, &net, a, sizeof(a)), prefix);
        jv_set_str(c, "Subnet", buf);
        jv_set_str(c, "Gateway", inet_ntop(AF_INET, &gw, a, sizeof(a)));
        *ret = c;
        return 0;
}

struct overlap6_q {
        struct in6_addr net;
        int prefix;
        char who[NETWORK_NAME_MAX + 1];
};

static int overlap6_cb(struct jv *doc, void *ud)
{
        struct overlap6_q *q = ud;
        const struct jv *cfgs = jv_path(doc, "IPAM.Config");

        for (size_t i = 0; i < jv_len(cfgs); i++) {
                struct in6_addr n;
                int p;
                struct err e = {0};
                const char *sub = jv_get_str(jv_at(cfgs, i), "Subnet");
                if (!sub || !strchr(sub, ':') || net_ipam_parse_cidr6(sub, &n, &p, &e) < 0)
                        continue;
                if (net_ipam_contains6(&n, p, &q->net) ||
                    net_ipam_contains6(&q->net, q->prefix, &n)) {
                        snprintf(q->who, sizeof(q->who), "%s", jv_get_str(doc, "Name") ?: "");
                        return 1;
                }
        }
        return 0;
}

/* The IPv6 entry of IPAM.Config: the subnet, its gateway (given, or subnet::1). */
static int ipam_config6(const struct cli *cli, const struct network_opts *o, struct jv **ret,
                        struct err *err)
{
        struct overlap6_q q = {0};
        struct in6_addr gw;
        char buf[INET6_ADDRSTRLEN + 8], a[INET6_ADDRSTRLEN];
        struct jv *c;

        if (net_ipam_parse_cidr6(o->subnet6, &q.net, &q.prefix, err) < 0)
                return -err->code;
        gw = q.net;
        gw.s6_addr[15] |= 1;
        if (o->gateway6 && (inet_pton(AF_INET6, o->gateway6, &gw) != 1 ||
                            !net_ipam_contains6(&q.net, q.prefix, &gw)))
                return err_set(err, -EINVAL, "invalid gateway %s: it must be an address in %s",
                               o->gateway6, o->subnet6);
        if (store_each(cli, overlap6_cb, &q))
                return err_set(err, -EEXIST,
                               "Pool overlaps with other one on this address space (network %s)",
                               q.who);
        c = jv_new_object();
        snprintf(buf, sizeof(buf), "%s/%d", inet_ntop(AF_INET6, &q.net, a, sizeof(a)), q.prefix);
        jv_set_str(c, "Subnet", buf);
        jv_set_str(c, "Gateway", inet_ntop(AF_INET6, &gw, a, sizeof(a)));
        *ret = c;
        return 0;
}

static int build_doc(const struct cli *cli, const char *name, const struct network_opts *o,
                     bool dflt, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *doc = jv_new_object();
        struct jv *opts = jv_new_object(), *ipam = jv_new_object(), *cfgs = jv_new_array();
        struct jv *c = NULL;
        struct in_addr net;
        int prefix, r;
        char id[65], ts[40], br[16];

        jv_set(doc, "Options", opts);
        jv_set(doc, "IPAM", ipam);
        jv_set_str(ipam, "Driver", "default");
        jv_set(ipam, "Options", jv_new_object());
        jv_set(ipam, "Config", cfgs);
        for (char **p = o->opts; p && *p; p++)
                if (set_option(opts, *p, err) < 0)
                        return -err->code;
        r = driver_check(cli, o, opts, err);
        if (r < 0)
                return r;
        r = util_random_hex(id, err);
        if (r >= 0 && o->subnet) {
                r = net_ipam_parse_cidr(o->subnet, &net, &prefix, err);
                if (r >= 0)
                        r = check_subnet(o->subnet, net, prefix, err);
        } else if (r >= 0)
                r = pick_subnet(cli, &net, &prefix, err);
        if (r >= 0 && o->subnet) {
                struct overlap_q q = {.net = net, .prefix = prefix};
                if (store_each(cli, overlap_cb, &q))
                        r = err_set(err, -EEXIST,
                                    "Pool overlaps with other one on this address "
                                    "space (network %s)",
                                    q.who);
        }
        if (r >= 0)
                r = ipam_config(o, net, prefix, &c, err);
        if (r < 0)
                return r;
        jv_append(cfgs, c);
        if (o->subnet6) {
                r = ipam_config6(cli, o, &c, err);
                if (r < 0)
                        return r;
                jv_append(cfgs, c);
        } else if (o->ipv6) {
                return err_set(err, -ENOSPC,
                               "could not find an available, non-overlapping IPv6 address pool "
                               "among the defaults to assign to the network");
        }
        if (!o->driver || !strcmp(o->driver, "bridge")) {
                snprintf(br, sizeof(br), dflt ? NETWORK_DEFAULT_BRIDGE : "hawser%.9s", id);
                if (!jv_get_str(opts, "com.docker.network.bridge.name"))
                        jv_set_str(opts, "com.docker.network.bridge.name", br);
                if (dflt) {
                        jv_set_str(opts, "com.docker.network.bridge.default_bridge", "true");
                        jv_set_str(opts, "com.docker.network.bridge.enable_ip_masquerade", "true");
                }
                if (!jv_get_str(opts, "com.docker.network.bridge.enable_icc"))
                        jv_set_str(opts, "com.docker.network.bridge.enable_icc", "true");
                if (!jv_get_str(opts, "com.docker.network.driver.mtu"))
                        jv_set_str(opts, "com.docker.network.driver.mtu", "1500");
        }
        util_format_time(util_now_ns(), ts);
        jv_set_str(doc, "Name", name);
        jv_set_str(doc, "Id", id);
        jv_set_str(doc, "Created", ts);
        jv_set_str(doc, "Scope", "local");
        jv_set_str(doc, "Driver", o->driver ? o->driver : "bridge");
        jv_set_bool(doc, "EnableIPv6", o->ipv6);
        jv_set_bool(doc, "Internal", o->internal);
        jv_set_bool(doc, "Attachable", false);
        jv_set_bool(doc, "Ingress", false);
        jv_set(doc, "Labels", jv_new_object());
        for (char **l = o->labels; l && *l; l++) {
                _cleanup_free_ char *k = strdup(*l);
                char *eq = k ? strchr(k, '=') : NULL;
                if (eq)
                        *eq = '\0';
                if (k)
                        jv_set_str(jv_get(doc, "Labels"), k, eq ? eq + 1 : "");
        }
        *ret = TAKE_PTR(doc);
        return 0;
}

static int name_taken_cb(struct jv *doc, void *ud)
{
        const char *br = ud,
                   *mine = jv_get_str(jv_get(doc, "Options"), "com.docker.network.bridge.name");

        return mine && !strcmp(mine, br);
}

/* Stores a new network; -EEXIST with Docker's message when the name is taken. */
int network_check_name(const char *name, struct err *err)
{
        if (strlen(name) > NETWORK_NAME_MAX)
                return err_set(err, -EINVAL,
                               "invalid network name \"%.40s...\": longer than %d characters", name,
                               NETWORK_NAME_MAX);
        if (!util_name_ok(name))
                return err_set(err, -EINVAL,
                               "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                               "allowed",
                               name);
        return 0;
}

int store_create(const struct cli *cli, const char *name, const struct network_opts *o, bool dflt,
                 struct network *ret, struct err *err)
{
        _cleanup_close_ int lock = store_lock(cli, "networks.lock", err);
        _cleanup_free_ char *path = store_doc_path(cli, name),
                            *dir = cli_root_path(cli, "networks");
        struct jv *doc = NULL;
        const char *br;
        int r;

        if (lock < 0)
                return lock;
        r = network_check_name(name, err);
        if (r < 0)
                return r;
        if (access(path, F_OK) == 0)
                return err_set(err, -EEXIST, "network with name %s already exists", name);
        r = build_doc(cli, name, o, dflt, &doc, err);
        if (r < 0)
                return r;
        br = jv_get_str(jv_get(doc, "Options"), "com.docker.network.bridge.name");
        if (br && store_each(cli, name_taken_cb, (void *)br)) {
                r = err_set(err, -EEXIST, "bridge name %s is already used by another network", br);
        } else {
                r = fs_mkdir_p(dir, 0700, err);
                if (r >= 0)
                        r = jv_save(path, doc, err);
        }
        if (r < 0) {
                jv_put(doc);
                return r;
        }
        return store_from_doc(doc, ret, err);
}

struct find_q {
        const char *ref;
        char name[128];
        int matches;
};

static int find_cb(struct jv *doc, void *ud)
{
        struct find_q *q = ud;
        const char *id = jv_get_str(doc, "Id"), *name = jv_get_str(doc, "Name");

        if (name && !strcmp(name, q->ref)) {
                snprintf(q->name, sizeof(q->name), "%s", name);
                q->matches = 1;
                return 1;
        }
        if (id && !strncmp(id, q->ref, strlen(q->ref))) {
                snprintf(q->name, sizeof(q->name), "%s", name ?: "");
                q->matches++;
        }
        return 0;
}

int network_load(const struct cli *cli, const char *ref, struct network *ret, struct err *err)
{
        struct find_q q = {.ref = ref};
        _cleanup_free_ char *path = NULL;
        struct jv *doc = NULL;
        int r;

        if (!strcmp(ref, "none") || !strcmp(ref, "host"))
                return err_set(err, -EINVAL, "network %s is not a bridge network", ref);
        path = store_doc_path(cli, ref);
        if (path && strchr(ref, '/') == NULL && jv_load(path, &doc, err) == 0)
                return store_from_doc(doc, ret, err) < 0 ? (jv_put(doc), -err->code) : 0;
        if (!strcmp(ref, NETWORK_DEFAULT)) {
                struct network_opts o = {0};
                r = store_create(cli, NETWORK_DEFAULT, &o, true, ret, err);
                if (r != -EEXIST)
                        return r;
                return network_load(cli, ref, ret, err);
        }
        if (*ref)
                store_each(cli, find_cb, &q);
        if (q.matches > 1)
                return err_set(err, -EINVAL,
                               "network %s is ambiguous (%d matches found based "
                               "on ID prefix)",
                               ref, q.matches);
        if (q.matches == 0)
                return err_set(err, -ENOENT, "network %s not found", ref);
        free(path);
        path = store_doc_path(cli, q.name);
        if (!path || jv_load(path, &doc, err) < 0)
                return err_set(err, -ENOENT, "network %s not found", ref);
        return store_from_doc(doc, ret, err) < 0 ? (jv_put(doc), -err->code) : 0;
}

const char *network_host_gateway(const struct cli *cli, const char *value,
                                 char out[INET_ADDRSTRLEN])
{
        struct network n = {0};
        struct err e = {0};

        if (strcmp(value, "host-gateway"))
                return value;
        if (network_load(cli, NETWORK_DEFAULT, &n, &e) < 0)
                return value;
        inet_ntop(AF_INET, &n.gateway, out, INET_ADDRSTRLEN);
        network_release(&n);
        return out;
}
