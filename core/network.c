#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/util.h"
#include "dns/files.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "dnsd.h"
#include "links.h"
#include "network.h"
#include "opt.h"
#include "ports.h"
#include "table.h"
#include "template.h"

/* ---- the network documents ---- */

static char *net_path(const struct cli *cli, const char *name)
{
        return cli_root_path(cli, "networks/%s.json", name);
}

static char *lease_dir(const struct cli *cli, const char *name)
{
        return cli_runroot_path(cli, "networks/%s/leases", name);
}

bool network_mode_is_bridge(const char *mode)
{
        return mode && strcmp(mode, "none") && strcmp(mode, "host") &&
               strncmp(mode, "container:", 10);
}

void network_release(struct network *n)
{
        jv_put(n->doc);
        n->doc = NULL;
}

static int parse_addr(const char *s, struct in_addr *ret)
{
        return s && inet_pton(AF_INET, s, ret) == 1 ? 0 : -EINVAL;
}

/* Fills the struct from the stored document (Docker's `network inspect` shape). */
static int from_doc(struct jv *doc, struct network *n, struct err *err)
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
            parse_addr(jv_get_str(cfg, "Gateway"), &n->gateway) < 0)
                return err_set(err, -EINVAL, "network %s has a broken configuration", n->name);
        if (!range || net_ipam_parse_cidr(range, &n->range, &n->range_prefix, &ignore) < 0) {
                n->range = n->subnet;
                n->range_prefix = n->prefix;
        }
        n->mtu = mtu ? atoi(mtu) : 1500;
        n->icc = !icc || strcmp(icc, "false");
        n->internal = jv_get_bool(doc, "Internal");
        n->doc = doc;
        return 0;
}

struct network_opts {
        char *subnet, *gateway, *ip_range, *driver;
        bool internal, help;
        char **opts, **labels;
};

static int take_lock(const struct cli *cli, const char *name, struct err *err)
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
static int each_network(const struct cli *cli, int (*fn)(struct jv *doc, void *ud), void *ud)
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
                if (each_network(cli, overlap_cb, &q))
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
            (parse_addr(o->gateway, &gw) < 0 || !net_ipam_contains(net, prefix, gw))) {
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
        r = util_random_hex(id, err);
        if (r >= 0 && o->subnet) {
                r = net_ipam_parse_cidr(o->subnet, &net, &prefix, err);
                if (r >= 0)
                        r = check_subnet(o->subnet, net, prefix, err);
        } else if (r >= 0)
                r = pick_subnet(cli, &net, &prefix, err);
        if (r >= 0 && o->subnet) {
                struct overlap_q q = {.net = net, .prefix = prefix};
                if (each_network(cli, overlap_cb, &q))
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
        util_format_time(util_now_ns(), ts);
        jv_set_str(doc, "Name", name);
        jv_set_str(doc, "Id", id);
        jv_set_str(doc, "Created", ts);
        jv_set_str(doc, "Scope", "local");
        jv_set_str(doc, "Driver", "bridge");
        jv_set_bool(doc, "EnableIPv6", false);
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

static int network_store(const struct cli *cli, const char *name, const struct network_opts *o,
                         bool dflt, struct network *ret, struct err *err)
{
        _cleanup_close_ int lock = take_lock(cli, "networks.lock", err);
        _cleanup_free_ char *path = net_path(cli, name), *dir = cli_root_path(cli, "networks");
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
        if (each_network(cli, name_taken_cb, (void *)br)) {
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
        return from_doc(doc, ret, err);
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
        path = net_path(cli, ref);
        if (path && strchr(ref, '/') == NULL && jv_load(path, &doc, err) == 0)
                return from_doc(doc, ret, err) < 0 ? (jv_put(doc), -err->code) : 0;
        if (!strcmp(ref, NETWORK_DEFAULT)) {
                struct network_opts o = {0};
                r = network_store(cli, NETWORK_DEFAULT, &o, true, ret, err);
                if (r != -EEXIST)
                        return r;
                return network_load(cli, ref, ret, err);
        }
        if (*ref)
                each_network(cli, find_cb, &q);
        if (q.matches > 1)
                return err_set(err, -EINVAL,
                               "network %s is ambiguous (%d matches found based "
                               "on ID prefix)",
                               ref, q.matches);
        if (q.matches == 0)
                return err_set(err, -ENOENT, "network %s not found", ref);
        free(path);
        path = net_path(cli, q.name);
        if (!path || jv_load(path, &doc, err) < 0)
                return err_set(err, -ENOENT, "network %s not found", ref);
        return from_doc(doc, ret, err) < 0 ? (jv_put(doc), -err->code) : 0;
}

/* ---- the kernel side of a network: bridge, forwarding, nftables ---- */

static void restore_table(const struct cli *cli, const char *except);

static struct net_nft_network nft_network(const struct network *n)
{
        return (struct net_nft_network){.bridge = n->bridge,
                                        .subnet = n->subnet,
                                        .prefix = n->prefix,
                                        .icc = n->icc,
                                        .internal = n->internal};
}

/* Someone flushed the ruleset (a firewall reload does): hawser's table, every network's
 * rules and every running container's published ports are put back before the next
 * container (except, which publishes its own) joins. */
static int table_check(const struct cli *cli, const char *except, struct err *err)
{
        _cleanup_close_ int lock = -1;
        int r = net_nft_table_present(err);

        if (r != 0)
                return r < 0 ? r : 0;
        lock = take_lock(cli, "bridges.lock", err);
        if (lock < 0)
                return lock;
        restore_table(cli, except);
        return 0;
}

static int kernel_ensure(const struct cli *cli, const struct network *n, const char *except,
                         struct err *err)
{
        struct net_nft_network nn = nft_network(n);
        _cleanup_close_ int lock = -1;
        char path[128];
        int r;

        /* The bridge is made last, so its presence means the rest was done, unless the
         * ruleset was flushed since. */
        if (net_link_exists(n->bridge) == 1)
                return table_check(cli, except, err);
        lock = take_lock(cli, "bridges.lock", err);
        if (lock < 0)
                return lock;
        if (net_link_exists(n->bridge) == 1) {
                closep(&lock);
                return table_check(cli, except, err);
        }
        r = net_nft_ensure(err);
        if (r >= 0)
                r = net_nft_network_add(&nn, err);
        if (r >= 0)
                r = net_sysctl_write("/proc/sys/net/ipv4/ip_forward", "1", err);
        if (r >= 0)
                r = net_link_bridge_ensure(n->bridge, n->gateway, n->prefix, n->mtu, err);
        if (r < 0)
                return err_wrap(err, "setting up network %s", n->name);
        /* DNAT of 127.0.0.1 to a container needs loopback sources routable on the bridge. */
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
        r = net_sysctl_write(path, "1", err);
        return r < 0 ? err_wrap(err, "setting up network %s", n->name) : 0;
}

static void kernel_remove(const struct cli *cli, const struct network *n)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};

        lock = take_lock(cli, "bridges.lock", &e);
        if (net_nft_network_del(n->bridge, &e) < 0 || net_link_bridge_delete(n->bridge, &e) < 0)
                fprintf(stderr, "warning: removing network %s: %s, ignoring\n", n->name, e.msg);
}

/* ---- a container's endpoints ---- */

/* hw<12 hex of the id> for the first network, hw<10 hex>-<index> for the others: the dash
 * keeps the two forms from ever colliding. */
static void veth_name(const char *id, int idx, char out[16])
{
        if (idx == 0)
                snprintf(out, 16, "hw%.12s", id);
        else
                snprintf(out, 16, "hw%.10s-%x", id, idx & 0xf);
}

#define MAX_ENDPOINTS 16

/* The last address a container name had on a network: a container recreated under the same
 * name gets it back while it is free, so hosts files and links elsewhere stay right. */
static void remembered(const struct cli *cli, const char *net, const char *name,
                       struct in_addr *ret)
{
        _cleanup_free_ char *p = cli_runroot_path(cli, "networks/%s/names/%s", net, name);
        _cleanup_free_ char *text = NULL;
        struct err e = {0};

        if (p && fs_read_file(p, &text, NULL, &e) == 0)
                parse_addr(text, ret);
}

/* How many names a network remembers; the least recently used go first. */
#define NAMES_KEPT 256

struct name_age {
        char name[NAME_MAX + 1];
        struct timespec mtime;
};

static int older_first(const void *a, const void *b)
{
        const struct timespec *x = &((const struct name_age *)a)->mtime;
        const struct timespec *y = &((const struct name_age *)b)->mtime;

        if (x->tv_sec != y->tv_sec)
                return x->tv_sec < y->tv_sec ? -1 : 1;
        return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* Keeps the NAMES_KEPT most recently written names of dir. */
static void trim_names(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ struct name_age *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct stat st;
                if (de->d_name[0] == '.' ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (n == cap) {
                        struct name_age *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                        if (!nv)
                                return;
                        v = nv;
                }
                snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
                v[n++].mtime = st.st_mtim;
        }
        if (n <= NAMES_KEPT)
                return;
        qsort(v, n, sizeof(*v), older_first);
        for (size_t i = 0; i < n - NAMES_KEPT; i++)
                (void)unlinkat(dirfd(d), v[i].name, 0);
}

static void remember(const struct cli *cli, const char *net, const char *name, struct in_addr ip)
{
        _cleanup_free_ char *dir = cli_runroot_path(cli, "networks/%s/names", net);
        _cleanup_free_ char *p = cli_runroot_path(cli, "networks/%s/names/%s", net, name);
        char a[INET_ADDRSTRLEN];
        struct err e = {0};

        if (!dir || !p || !*name || fs_mkdir_p(dir, 0700, &e) < 0)
                return;
        inet_ntop(AF_INET, &ip, a, sizeof(a));
        if (fs_write_atomic(p, a, strlen(a), 0644, &e) >= 0)
                trim_names(dir);
}

void network_each_run_dir(const struct cli *cli, const char *sub,
                          void (*fn)(const char *dir, void *ud), void *ud)
{
        _cleanup_free_ char *root = cli_runroot_path(cli, "networks");
        _cleanup_closedir_ DIR *d = root ? opendir(root) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL;
                if (de->d_name[0] == '.')
                        continue;
                dir = util_printf("%s/%s/%s", root, de->d_name, sub);
                if (dir)
                        fn(dir, ud);
        }
}

static void forget_unused(const char *dir, void *ud)
{
        struct container **all = ud;
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                bool used = false;
                if (de->d_name[0] == '.')
                        continue;
                for (struct container **c = all; *c && !used; c++)
                        used = !strcmp(container_name(*c), de->d_name);
                if (!used)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
}

void network_forget_names(const struct cli *cli, struct container **all)
{
        network_each_run_dir(cli, "names", forget_unused, all);
}

static int endpoint_attach(const struct cli *cli, struct container *c, const char *name, int idx,
                           int netns_fd, struct err *err)
{
        struct jv *ep = jv_get(jv_path(c->doc, "NetworkSettings.Networks"), name);
        const char *want = jv_str(jv_path(ep, "IPAMConfig.IPv4Address"));
        const char *prev = jv_get_str(ep, "IPAddress");
        _cleanup_free_ char *leases = lease_dir(cli, name);
        struct network n = {0};
        struct in_addr pref = {0}, ip;
        struct net_veth v = {0};
        char veth[16], a[INET_ADDRSTRLEN], mac[18];
        int r;

        r = network_load(cli, name, &n, err);
        if (r >= 0)
                r = kernel_ensure(cli, &n, c->id, err);
        if (r >= 0 && fs_mkdir_p(leases, 0700, err) < 0)
                r = -err->code;
        if (r < 0)
                goto out;
        /* --ip first, then the address this container had last time, if still free. */
        if (want && *want && parse_addr(want, &pref) < 0) {
                r = err_set(err, -EINVAL, "invalid IPv4 address: %s", want);
                goto out;
        }
        if (!pref.s_addr && prev && *prev)
                parse_addr(prev, &pref);
        if (!pref.s_addr)
                remembered(cli, name, container_name(c), &pref);
        if (want && *want && !net_ipam_contains(n.subnet, n.prefix, pref)) {
                r = err_set(err, -EINVAL,
                            "Invalid address %s: It does not belong to any of "
                            "this network's subnets",
                            want);
                goto out;
        }
        r = net_ipam_allocate(leases, n.range, n.range_prefix, n.gateway, pref, c->id, &ip, err);
        if (r >= 0 && want && *want && ip.s_addr != pref.s_addr) {
                net_ipam_release(leases, ip, c->id, &(struct err){0});
                r = err_set(err, -EADDRINUSE, "Address already in use: %s", want);
        }
        if (r < 0)
                goto out;
        veth_name(c->id, idx, veth);
        v = (struct net_veth){.host_name = veth,
                              .bridge = n.bridge,
                              .netns_fd = netns_fd,
                              .peer_name = idx ? NULL : "eth0",
                              .addr = ip,
                              .prefix = n.prefix,
                              .gateway = idx ? (struct in_addr){0} : n.gateway,
                              .mtu = n.mtu};
        {
                char peer[16];
                snprintf(peer, sizeof(peer), "eth%d", idx);
                v.peer_name = peer;
                if (n.internal)
                        v.gateway.s_addr = 0;
                net_ipam_mac(ip, v.mac);
                r = net_link_veth_create(&v, err);
                /* The same container's previous veth may still be in the kernel's
                 * asynchronous namespace cleanup: remove it and try once more. */
                if (r == -EEXIST && net_link_delete(veth, &(struct err){0}) == 0)
                        r = net_link_veth_create(&v, err);
        }
        if (r < 0) {
                net_ipam_release(leases, ip, c->id, &(struct err){0});
                goto out;
        }
        remember(cli, name, container_name(c), ip);
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", v.mac[0], v.mac[1], v.mac[2],
                 v.mac[3], v.mac[4], v.mac[5]);
        jv_set_str(ep, "NetworkID", n.id);
        jv_set_str(ep, "EndpointID", veth);
        jv_set_str(ep, "Gateway", n.internal ? "" : inet_ntop(AF_INET, &n.gateway, a, sizeof(a)));
        jv_set_str(ep, "IPAddress", inet_ntop(AF_INET, &ip, a, sizeof(a)));
        jv_set_int(ep, "IPPrefixLen", n.prefix);
        jv_set_str(ep, "MacAddress", mac);
out:
        network_release(&n);
        return r;
}

/* ---- published ports ---- */

struct publish {
        struct net_nft_port *v;
        size_t n;
};

static int proto_num(const char *p)
{
        if (!strcmp(p, "udp"))
                return IPPROTO_UDP;
        if (!strcmp(p, "sctp"))
                return IPPROTO_SCTP;
        return IPPROTO_TCP;
}

/* Holds host_ip:port so no host process can take it while the container runs. */
static int reserve(struct in_addr host, uint16_t port, int proto, struct err *err)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = host, .sin_port = htons(port)};
        int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, proto);

        if (fd < 0 && proto == IPPROTO_SCTP)
                return -ENOTSUP; /* no SCTP in this kernel: nothing to hold */
        if (fd < 0)
                return err_errno(err, "reserving port %u", port);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

static bool already_published(struct in_addr host, uint16_t port, int proto)
{
        struct net_nft_port *all = NULL;
        size_t n = 0;
        bool found = false;
        struct err e = {0};

        if (net_nft_list_ports(&all, &n, &e) < 0)
                return false;
        for (size_t i = 0; i < n && !found; i++)
                found = all[i].host_port == port && all[i].proto == proto &&
                        (!all[i].host_ip.s_addr || !host.s_addr ||
                         all[i].host_ip.s_addr == host.s_addr);
        free(all);
        return found;
}

static int hold_push(struct network_hold *h, int fd)
{
        int *nv = realloc(h->fds, (h->n + 1) * sizeof(int));

        if (!nv)
                return -ENOMEM;
        h->fds = nv;
        h->fds[h->n++] = fd;
        return 0;
}

/* Picks and reserves the host port of one binding ("", "8080" or "8000-8010"). */
static int bind_one(const struct cli *cli, struct in_addr host, const char *spec, int proto,
                    struct network_hold *hold, uint16_t *ret, struct err *err)
{
        _cleanup_free_ char *state = cli_runroot_path(cli, "ports.state");
        long long lo = 0, hi = 0;
        char a[INET_ADDRSTRLEN];
        int fd = -EADDRINUSE;

        inet_ntop(AF_INET, &host, a, sizeof(a));
        if (spec && *spec && sscanf(spec, "%lld-%lld", &lo, &hi) < 1)
                return err_set(err, -EINVAL, "invalid host port %s", spec);
        if (hi == 0)
                hi = lo;
        for (long long p = lo; lo && p <= hi; p++) {
                if (already_published(host, (uint16_t)p, proto)) {
                        fd = -EEXIST;
                        continue;
                }
                fd = reserve(host, (uint16_t)p, proto, err);
                if (fd >= 0 || fd == -ENOTSUP) {
                        *ret = (uint16_t)p;
                        break;
                }
        }
        for (int tries = 0; !lo && tries < 64; tries++) {
                uint16_t p;
                if (ports_allocate(state, a, (uint8_t)proto, &p, err) < 0)
                        return -err->code;
                fd = already_published(host, p, proto) ? -EEXIST : reserve(host, p, proto, err);
                if (fd >= 0 || fd == -ENOTSUP) {
                        *ret = p;
                        break;
                }
        }
        if (fd == -EEXIST)
                return err_set(err, -EADDRINUSE,
                               "Bind for %s:%s failed: port is already "
                               "allocated",
                               a, spec && *spec ? spec : "0");
        if (fd < 0)
                return err_set(err, -EADDRINUSE,
                               "failed to bind host port %s:%s/%s: address "
                               "already in use",
                               a, spec && *spec ? spec : "0",
                               proto == IPPROTO_UDP    ? "udp"
                               : proto == IPPROTO_SCTP ? "sctp"
                                                       : "tcp");
        return fd == -ENOTSUP ? 0 : hold_push(hold, fd);
}

static int publish_push(struct publish *p, struct in_addr host, uint16_t hport, int proto,
                        struct in_addr ctr, uint16_t cport)
{
        struct net_nft_port *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        p->v = nv;
        p->v[p->n++] = (struct net_nft_port){.host_ip = host,
                                             .host_port = hport,
                                             .proto = (uint8_t)proto,
                                             .ctr_ip = ctr,
                                             .ctr_port = cport};
        return 0;
}

/* Binds one "80/tcp" key: every binding of it (or one dynamic with -P). */
static int publish_key(const struct cli *cli, const char *key, const struct jv *bindings,
                       struct in_addr ctr, struct jv *out, struct publish *p,
                       struct network_hold *hold, struct err *err)
{
        int proto = proto_num(strchr(key, '/') ? strchr(key, '/') + 1 : "tcp");
        uint16_t cport = (uint16_t)atoi(key);
        struct jv *list = jv_new_array();

        jv_set(out, key, list);
        for (size_t i = 0; i < jv_len(bindings); i++) {
                const struct jv *b = jv_at(bindings, i);
                const char *hip = jv_get_str(b, "HostIp");
                struct in_addr host = {0};
                struct jv *o = jv_new_object();
                char port[8], a[INET_ADDRSTRLEN];
                uint16_t hport = 0;
                int r;
                if (hip && *hip && parse_addr(hip, &host) < 0) {
                        jv_put(o);
                        return err_set(err, -EINVAL,
                                       "invalid host IP %s (IPv6 publishing is "
                                       "not supported yet)",
                                       hip);
                }
                r = bind_one(cli, host, jv_get_str(b, "HostPort"), proto, hold, &hport, err);
                if (r >= 0 && publish_push(p, host, hport, proto, ctr, cport) < 0)
                        r = err_set(err, -ENOMEM, "publishing %s", key);
                if (r < 0) {
                        jv_put(o);
                        return r;
                }
                snprintf(port, sizeof(port), "%u", hport);
                jv_set_str(o, "HostIp", inet_ntop(AF_INET, &host, a, sizeof(a)));
                jv_set_str(o, "HostPort", port);
                jv_append(list, o);
        }
        return 0;
}

static int publish_all(const struct cli *cli, struct container *c, struct in_addr ctr,
                       struct network_hold *hold, struct err *err)
{
        const struct jv *pb = jv_path(c->doc, "HostConfig.PortBindings");
        const struct jv *exposed = jv_path(c->doc, "Config.ExposedPorts");
        bool all = jv_get_bool(jv_get(c->doc, "HostConfig"), "PublishAllPorts");
        _cleanup_strv_ char **keys = jv_keys(exposed), **bound = jv_keys(pb);
        struct jv *out = jv_new_object();
        _cleanup_jv_ struct jv *dyn = jv_new_array();
        struct publish p = {0};
        int r = 0;

        jv_append(dyn, jv_new_object());
        jv_set(jv_get(c->doc, "NetworkSettings"), "Ports", out);
        for (char **k = bound; r >= 0 && k && *k; k++)
                r = publish_key(cli, *k, jv_get(pb, *k), ctr, out, &p, hold, err);
        for (char **k = keys; r >= 0 && k && *k; k++) {
                if (jv_get(pb, *k))
                        continue;
                if (all)
                        r = publish_key(cli, *k, dyn, ctr, out, &p, hold, err);
                else
                        jv_set(out, *k, NULL);
        }
        if (r >= 0 && p.n)
                r = net_nft_publish(p.v, p.n, err);
        free(p.v);
        if (r == 1) {
                /* The table had vanished and was rebuilt just now with our ports only. */
                _cleanup_close_ int lock = take_lock(cli, "bridges.lock", err);

                if (lock < 0)
                        return lock;
                restore_table(cli, c->id);
                r = 0;
        }
        return r;
}

static const char *first_ip(const struct container *c);

/* The DNAT entries of a running container's published ports, from its state. */
static int ports_of(const struct container *c, struct in_addr ctr, struct publish *p)
{
        const struct jv *ports = jv_path(c->doc, "NetworkSettings.Ports");
        _cleanup_strv_ char **keys = jv_keys(ports);

        for (char **k = keys; k && *k; k++) {
                const struct jv *list = jv_get(ports, *k);
                int proto = proto_num(strchr(*k, '/') ? strchr(*k, '/') + 1 : "tcp");

                for (size_t i = 0; i < jv_len(list); i++) {
                        const struct jv *b = jv_at(list, i);
                        struct in_addr host = {0};
                        int hport = atoi(jv_get_str(b, "HostPort") ?: "0");

                        if (parse_addr(jv_get_str(b, "HostIp"), &host) < 0 || hport <= 0 ||
                            hport > 65535)
                                continue;
                        if (publish_push(p, host, (uint16_t)hport, proto, ctr, (uint16_t)atoi(*k)) <
                            0)
                                return -ENOMEM;
                }
        }
        return 0;
}

static int restore_network(struct jv *doc, void *ud)
{
        struct network n;
        struct net_nft_network nn;
        struct err e = {0};

        (void)ud;
        if (from_doc(doc, &n, &e) < 0 || !n.bridge[0] || net_link_exists(n.bridge) != 1)
                return 0;
        nn = nft_network(&n);
        if (net_nft_network_add(&nn, &e) < 0)
                fprintf(stderr, "warning: restoring the rules of network %s: %s, ignoring\n",
                        n.name, e.msg);
        return 0;
}

static void restore_ports(const struct container *c)
{
        struct publish p = {0};
        struct in_addr ctr;
        struct err e = {0};

        if (!first_ip(c) || parse_addr(first_ip(c), &ctr) < 0 || ports_of(c, ctr, &p) < 0 || !p.n) {
                free(p.v);
                return;
        }
        if (net_nft_publish(p.v, p.n, &e) < 0 && e.code != -EEXIST)
                fprintf(stderr, "warning: restoring the ports of container %.12s: %s, ignoring\n",
                        c->id, e.msg);
        free(p.v);
}

static void restore_table(const struct cli *cli, const char *except)
{
        struct container **all = NULL;
        struct err e = {0};

        if (net_nft_ensure(&e) < 0) {
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                return;
        }
        each_network(cli, restore_network, NULL);
        if (container_list(cli, &all, &e) < 0)
                return;
        for (struct container **c = all; *c; c++)
                if ((!except || strcmp((*c)->id, except)) && container_is_running(*c))
                        restore_ports(*c);
        container_list_free(all);
}

/* ---- /etc/hosts ---- */

static const char *first_ip(const struct container *c)
{
        const struct jv *nets = jv_path(c->doc, "NetworkSettings.Networks");
        _cleanup_strv_ char **keys = jv_keys(nets);
        const char *ip = NULL;

        for (char **k = keys; !ip && k && *k; k++) {
                ip = jv_get_str(jv_get(nets, *k), "IPAddress");
                if (ip && !*ip)
                        ip = NULL;
        }
        return ip;
}

/* The bind mount follows the inode, so the file is rewritten in place, never renamed. */
static int write_in_place(const char *path, const char *text, struct err *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        int r;

        if (fd < 0)
                return err_errno(err, "opening %s", path);
        r = fs_write_all(fd, text, strlen(text));
        if (r < 0) {
                errno = -r;
                return err_errno(err, "writing %s", path);
        }
        return 0;
}

/* Room for --add-host and link lines; each name list is bounded by hosts_links' buffer. */
#define HOSTS_MAX  64
#define HOSTS_TEXT 640

struct hosts_buf {
        struct dns_host_entry e[HOSTS_MAX];
        char store[HOSTS_MAX][2][HOSTS_TEXT];
        size_t n;
};

static void hosts_add(struct hosts_buf *b, const char *ip, const char *names)
{
        if (b->n >= HOSTS_MAX)
                return;
        snprintf(b->store[b->n][0], HOSTS_TEXT, "%s", ip);
        snprintf(b->store[b->n][1], HOSTS_TEXT, "%s", names);
        b->e[b->n] = (struct dns_host_entry){b->store[b->n][0], b->store[b->n][1]};
        b->n++;
}

static void hosts_links(const struct cli *cli, const struct container *c, struct hosts_buf *b)
{
        const struct jv *links = jv_path(c->doc, "HostConfig.Links");

        for (size_t i = 0; i < jv_len(links); i++) {
                const char *l = jv_str(jv_at(links, i)); /* "/child:/parent/alias" */
                const char *colon = l ? strchr(l, ':') : NULL, *alias;
                struct container *child = NULL;
                struct err e = {0};
                char name[256], names[600];
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - l - 1), l + 1);
                alias = strrchr(colon, '/') ? strrchr(colon, '/') + 1 : colon + 1;
                if (container_find(cli, name, &child, &e) < 0)
                        continue;
                if (container_is_running(child) && first_ip(child)) {
                        const char *h = jv_str(jv_path(child->doc, "Config.Hostname")) ?: "";
                        if (strcmp(name, alias))
                                snprintf(names, sizeof(names), "%s %s %s", alias, h, name);
                        else
                                snprintf(names, sizeof(names), "%s %s", alias, h);
                        hosts_add(b, first_ip(child), names);
                }
                container_free(child);
        }
}

/* One own line per interface address, after the extra and link lines (Docker's order);
 * the renderer's own_ip stays empty. */
static void own_entries(const struct container *c, struct hosts_buf *b, const char *names)
{
        const struct jv *nets = jv_path(c->doc, "NetworkSettings.Networks");
        _cleanup_strv_ char **keys = jv_keys(nets);

        for (char **k = keys; k && *k; k++) {
                const char *ip = jv_get_str(jv_get(nets, *k), "IPAddress");
                if (ip && *ip)
                        hosts_add(b, ip, names);
        }
}

static int render_hosts(const struct cli *cli, const struct container *c, struct err *err)
{
        const struct jv *cfg = jv_get(c->doc, "Config");
        const struct jv *extra = jv_path(c->doc, "HostConfig.ExtraHosts");
        const char *host = jv_get_str(cfg, "Hostname") ?: "", *dom = jv_get_str(cfg, "Domainname");
        struct hosts_buf *b = calloc(1, sizeof(*b));
        _cleanup_free_ char *text = NULL, *path = util_printf("%s/hosts", c->dir);
        char own[600];
        struct dns_hosts_spec spec = {.ipv6 = true};
        int r;

        if (!b || !path) {
                free(b);
                return err_set(err, -ENOMEM, "rendering /etc/hosts");
        }
        for (size_t i = 0; i < jv_len(extra); i++) {
                const char *x = jv_str(jv_at(extra, i)), *colon = x ? strchr(x, ':') : NULL;
                char name[256];
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - x), x);
                hosts_add(b, colon + 1, name);
        }
        hosts_links(cli, c, b);
        /* Docker: "host.domain host", and a dotted hostname also lists its first label. */
        if (dom && *dom)
                snprintf(own, sizeof(own), "%s.%s %s", host, dom, host);
        else if (strchr(host, '.'))
                snprintf(own, sizeof(own), "%s %.*s", host, (int)strcspn(host, "."), host);
        else
                snprintf(own, sizeof(own), "%s", host);
        own_entries(c, b, own);
        spec.extra = b->e;
        spec.n_extra = b->n;
        r = dns_hosts_render(&spec, &text, err);
        free(b);
        return r < 0 ? r : write_in_place(path, text, err);
}

/* ---- attach / detach ---- */

static int check_links(const struct cli *cli, const struct container *c, struct err *err)
{
        const struct jv *links = jv_path(c->doc, "HostConfig.Links");

        for (size_t i = 0; i < jv_len(links); i++) {
                const char *l = jv_str(jv_at(links, i)), *colon = l ? strchr(l, ':') : NULL;
                struct container *child = NULL;
                char name[256];
                bool ok;
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - l - 1), l + 1);
                ok = container_find(cli, name, &child, err) == 0 && container_is_running(child);
                container_free(child);
                if (!ok)
                        return err_set(err, -EINVAL,
                                       "Cannot link to a non running container: "
                                       "/%s AS %s",
                                       name, colon + 1);
        }
        return 0;
}

int network_attach(const struct cli *cli, struct container *c, int netns_fd,
                   struct network_hold *hold, struct err *err)
{
        struct jv *ns = jv_get(c->doc, "NetworkSettings");
        _cleanup_strv_ char **names = jv_keys(jv_get(ns, "Networks"));
        struct in_addr ctr = {0};
        int r = check_links(cli, c, err), idx = 0;

        for (char **k = names; r >= 0 && k && *k; k++, idx++)
                r = endpoint_attach(cli, c, *k, idx, netns_fd, err);
        if (r >= 0 && first_ip(c)) {
                parse_addr(first_ip(c), &ctr);
                r = publish_all(cli, c, ctr, hold, err);
        }
        if (r >= 0 && names && names[0]) {
                const struct jv *ep = jv_get(jv_get(ns, "Networks"), names[0]);
                jv_set_str(ns, "IPAddress", jv_get_str(ep, "IPAddress"));
                jv_set_str(ns, "Gateway", jv_get_str(ep, "Gateway"));
                jv_set_str(ns, "MacAddress", jv_get_str(ep, "MacAddress"));
                jv_set_int(ns, "IPPrefixLen", jv_get_int(ep, "IPPrefixLen", 0));
        }
        if (r >= 0)
                r = render_hosts(cli, c, err);
        if (r < 0) {
                network_hold_close(hold);
                network_detach(cli, c, true);
        }
        return r;
}

void network_hold_close(struct network_hold *hold)
{
        for (size_t i = 0; i < hold->n; i++)
                close(hold->fds[i]);
        free(hold->fds);
        *hold = (struct network_hold){0};
}

/* Everything is found from deterministic names and lease owners, not from the state
 * document, so a monitor killed halfway is cleaned up too. */
void network_detach(const struct cli *cli, struct container *c, bool delete_links)
{
        _cleanup_free_ char *root = cli_runroot_path(cli, "networks");
        _cleanup_closedir_ DIR *d = root ? opendir(root) : NULL;
        struct net_nft_port *ports = NULL;
        size_t n = 0, k = 0;
        struct dirent *de;
        struct err e = {0};
        char veth[16];

        /* Published ports point at the container's addresses: the leases it owns. */
        if (net_nft_list_ports(&ports, &n, &e) == 0 && n) {
                while (d && (de = readdir(d))) {
                        _cleanup_free_ char *dir = NULL;
                        char owner[80];
                        if (de->d_name[0] == '.')
                                continue;
                        dir = util_printf("%s/%s/leases", root, de->d_name);
                        for (size_t i = 0; dir && i < n; i++)
                                if (net_ipam_owner(dir, ports[i].ctr_ip, owner, sizeof(owner)) ==
                                            0 &&
                                    !strcmp(owner, c->id))
                                        ports[k++] = ports[i];
                }
                if (k && net_nft_unpublish(ports, k, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        free(ports);
        for (int i = 0; delete_links && i < MAX_ENDPOINTS; i++) {
                veth_name(c->id, i, veth);
                if (net_link_delete(veth, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
        if (d)
                rewinddir(d);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL;
                if (de->d_name[0] == '.')
                        continue;
                dir = util_printf("%s/%s/leases", root, de->d_name);
                if (dir && net_ipam_release_owner(dir, c->id, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
}

void network_link_index_add(const struct cli *cli, const char *child, const char *parent_id)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "links/%s", child);
        _cleanup_free_ char *p = cli_root_path(cli, "links/%s/%s", child, parent_id);
        struct err e = {0};
        int fd;

        if (!dir || !p || fs_mkdir_p(dir, 0700, &e) < 0)
                return;
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
}

void network_link_index_del(const struct cli *cli, const struct container *parent)
{
        const struct jv *links = jv_path(parent->doc, "HostConfig.Links");

        for (size_t i = 0; i < jv_len(links); i++) {
                const char *l = jv_str(jv_at(links, i)), *colon = l ? strchr(l, ':') : NULL;
                _cleanup_free_ char *p = NULL;
                if (!colon)
                        continue;
                p = cli_root_path(cli, "links/%.*s/%s", (int)(colon - l - 1), l + 1, parent->id);
                if (p)
                        unlink(p);
        }
}

void network_update_links(const struct cli *cli, const struct container *c)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "links/%s", container_name(c));
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct container *p = NULL;
                struct err e = {0};
                if (strlen(de->d_name) != 64)
                        continue;
                if (container_load(cli, de->d_name, &p, &e) < 0) {
                        unlinkat(dirfd(d), de->d_name, 0); /* the parent is gone */
                        continue;
                }
                if (container_is_running(p) && render_hosts(cli, p, &e) < 0)
                        fprintf(stderr, "warning: updating /etc/hosts of %s: %s, ignoring\n",
                                container_name(p), e.msg);
                if (container_is_running(p))
                        dnsd_refresh(cli, p);
                container_free(p);
        }
}

/* ---- commands ---- */

static int users_of(const struct cli *cli, const char *name, char ***ret, struct err *err)
{
        _cleanup_free_ char *leases = lease_dir(cli, name);
        struct container **all = NULL;
        int r = container_list(cli, &all, err);

        *ret = calloc(1, sizeof(char *));
        /* A container whose state cannot be read still uses the networks it holds leases in. */
        for (struct container **p = all; r >= 0 && *p; p++)
                if (jv_get(jv_path((*p)->doc, "NetworkSettings.Networks"), name) ||
                    ((*p)->unreadable && leases && net_ipam_holds(leases, (*p)->id)))
                        util_strv_push(ret, container_name(*p));
        container_list_free(all);
        return r;
}

static int cmd_create(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"subnet", 0, OPT_STR, offsetof(struct network_opts, subnet)},
                {"gateway", 0, OPT_STR, offsetof(struct network_opts, gateway)},
                {"ip-range", 0, OPT_STR, offsetof(struct network_opts, ip_range)},
                {"driver", 'd', OPT_STR, offsetof(struct network_opts, driver)},
                {"internal", 0, OPT_BOOL, offsetof(struct network_opts, internal)},
                {"opt", 'o', OPT_LIST, offsetof(struct network_opts, opts)},
                {"label", 0, OPT_LIST, offsetof(struct network_opts, labels)},
                OPT_END,
        };
        struct network_opts o = {0};
        struct network n = {0};
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 1) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network create", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network create\" requires exactly 1 "
                                               "argument.");
        }
        /* The default network exists from the start in Docker and takes the first pool. */
        if (network_load(cli, NETWORK_DEFAULT, &n, err) < 0)
                r = -err->code;
        else if (network_release(&n), o.driver && strcmp(o.driver, "bridge"))
                r = err_set(err, -EINVAL, "plugin \"%s\" not found", o.driver);
        else if (!strcmp(argv[1], "none") || !strcmp(argv[1], "host") ||
                 !strcmp(argv[1], NETWORK_DEFAULT))
                r = err_set(err, -EEXIST, "network with name %s already exists", argv[1]);
        else
                r = network_store(cli, argv[1], &o, false, &n, err);
        if (r >= 0)
                printf("%s\n", n.id);
        network_release(&n);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

/* One `network ls` row with the fields Docker's network formatter offers. */
static struct jv *ls_row(const char *id, const char *name, const char *driver, const struct jv *doc)
{
        struct jv *row = jv_new_object();
        const struct jv *labels = jv_get(doc, "Labels");
        _cleanup_strv_ char **keys = jv_keys(labels);
        _cleanup_free_ char *joined = strdup("");

        for (char **k = keys; k && *k && joined; k++) {
                char *n = util_printf("%s%s%s=%s", joined, *joined ? "," : "", *k,
                                      jv_get_str(labels, *k) ?: "");
                free(joined);
                joined = n;
        }
        jv_set_str(row, "ID", id);
        jv_set_str(row, "Name", name);
        jv_set_str(row, "Driver", driver);
        jv_set_str(row, "Scope", "local");
        jv_set_str(row, "IPv6", "false");
        jv_set_str(row, "Internal", jv_get_bool(doc, "Internal") ? "true" : "false");
        jv_set_str(row, "Labels", joined ?: "");
        jv_set_str(row, "CreatedAt", jv_get_str(doc, "Created") ?: "");
        return row;
}

static int ls_cb(struct jv *doc, void *ud)
{
        jv_append(ud, ls_row(jv_get_str(doc, "Id") ?: "", jv_get_str(doc, "Name") ?: "", "bridge",
                             doc));
        return 0;
}

/* "label=KEY" or "label=KEY=VALUE" against the row's "k=v,k2=v2". */
static bool label_match(const struct jv *row, const char *want)
{
        _cleanup_free_ char *copy = strdup(jv_get_str(row, "Labels") ?: "");
        size_t n = strcspn(want, "=");
        char *save = NULL;

        for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv;
             kv = strtok_r(NULL, ",", &save))
                if (want[n] ? !strcmp(kv, want) : !strncmp(kv, want, n) && kv[n] == '=')
                        return true;
        return false;
}

/* Docker's network filters: name and id match a part, driver, type and scope exactly;
 * values of one key are alternatives, different keys must all match. */
static bool filter_one(const struct jv *row, const char *key, const char *v)
{
        bool builtin = !strcmp(jv_get_str(row, "Name"), "host") ||
                       !strcmp(jv_get_str(row, "Name"), "none") ||
                       !strcmp(jv_get_str(row, "Name"), NETWORK_DEFAULT);

        if (!strcmp(key, "name"))
                return strstr(jv_get_str(row, "Name"), v) != NULL;
        if (!strcmp(key, "id"))
                return strstr(jv_get_str(row, "ID"), v) != NULL;
        if (!strcmp(key, "driver"))
                return !strcmp(jv_get_str(row, "Driver"), v);
        if (!strcmp(key, "scope"))
                return !strcmp(v, "local");
        if (!strcmp(key, "type"))
                return !strcmp(v, builtin ? "builtin" : "custom");
        return label_match(row, v);
}

static const char *const ls_filter_keys[] = {"name", "id", "driver", "scope", "type", "label"};

static int ls_check_filters(char **filters, struct err *err)
{
        for (char **f = filters; f && *f; f++) {
                size_t n = strcspn(*f, "=");
                bool known = false;

                for (size_t i = 0; i < ARRAY_SIZE(ls_filter_keys) && !known; i++)
                        known = strlen(ls_filter_keys[i]) == n &&
                                !strncmp(*f, ls_filter_keys[i], n);
                if (!(*f)[n] || !known)
                        return err_set(err, -EINVAL, "Invalid filter '%.*s'", (int)n, *f);
                if (!strncmp(*f, "type", n) && strcmp(*f + n + 1, "custom") &&
                    strcmp(*f + n + 1, "builtin"))
                        return err_set(err, -EINVAL, "invalid filter: 'type'='%s'", *f + n + 1);
        }
        return 0;
}

static bool ls_keep(const struct jv *row, char **filters)
{
        for (size_t i = 0; i < ARRAY_SIZE(ls_filter_keys); i++) {
                bool seen = false, hit = false;
                size_t n = strlen(ls_filter_keys[i]);

                for (char **f = filters; f && *f; f++) {
                        if (strncmp(*f, ls_filter_keys[i], n) || (*f)[n] != '=')
                                continue;
                        seen = true;
                        hit = hit || filter_one(row, ls_filter_keys[i], *f + n + 1);
                }
                if (seen && !hit)
                        return false;
        }
        return true;
}

/* Docker sorts networks by name. */
static int by_name(const void *a, const void *b)
{
        return strcmp(jv_get_str(*(struct jv *const *)a, "Name"),
                      jv_get_str(*(struct jv *const *)b, "Name"));
}

static const char *const ls_headers[][2] = {
        {"ID", "NETWORK ID"}, {"Name", "NAME"},
        {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
        {"IPv6", "IPV6"},     {"Internal", "INTERNAL"},
        {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
};

static int ls_print(const char *format, struct jv *const *rows, size_t n, struct err *err)
{
        _cleanup_jv_ struct jv *headers = jv_new_object();

        for (size_t i = 0; headers && i < ARRAY_SIZE(ls_headers); i++)
                jv_set_str(headers, ls_headers[i][0], ls_headers[i][1]);
        return headers ? template_print_rows(format, headers, rows, n, err)
                       : err_set(err, -ENOMEM, "listing networks");
}

static int cmd_ls(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool quiet, no_trunc;
                char **filters;
                char *format;
        } o = {0};
        static const struct opt_def defs[] = {
                {"quiet", 'q', OPT_BOOL, offsetof(__typeof__(o), quiet)},
                {"no-trunc", 0, OPT_BOOL, offsetof(__typeof__(o), no_trunc)},
                {"filter", 'f', OPT_LIST, offsetof(__typeof__(o), filters)},
                {"format", 0, OPT_STR, offsetof(__typeof__(o), format)},
                OPT_END,
        };
        _cleanup_jv_ struct jv *all = jv_new_array();
        _cleanup_free_ struct jv **rows = NULL;
        struct network dflt = {0};
        char hid[65], nid[65];
        size_t n = 0;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network ls", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network ls\" accepts no arguments.");
        }
        r = all ? ls_check_filters(o.filters, err) : err_set(err, -ENOMEM, "listing networks");
        if (r >= 0 && network_load(cli, NETWORK_DEFAULT, &dflt, err) < 0)
                r = -err->code;
        network_release(&dflt);
        if (r >= 0) {
                each_network(cli, ls_cb, all);
                /* The pseudo networks have stable ids derived from their names. */
                sha256_hex("host", 4, hid);
                sha256_hex("none", 4, nid);
                jv_append(all, ls_row(hid, "host", "host", NULL));
                jv_append(all, ls_row(nid, "none", "null", NULL));
                rows = calloc(jv_len(all) + 1, sizeof(*rows));
                if (!rows)
                        r = err_set(err, -ENOMEM, "listing networks");
        }
        for (size_t i = 0; r >= 0 && i < jv_len(all); i++) {
                struct jv *row = jv_at(all, i);
                if (!ls_keep(row, o.filters))
                        continue;
                if (!o.no_trunc) {
                        char short_id[13];
                        snprintf(short_id, sizeof(short_id), "%.12s", jv_get_str(row, "ID"));
                        jv_set_str(row, "ID", short_id);
                }
                rows[n++] = row;
        }
        if (r >= 0) {
                qsort(rows, n, sizeof(*rows), by_name);
                if (o.quiet)
                        r = ls_print("{{.ID}}", rows, n, err);
                else
                        r = ls_print(o.format && *o.format
                                             ? o.format
                                             : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                                     rows, n, err);
        }
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

static struct jv *inspect_doc(const struct cli *cli, const struct network *n)
{
        struct jv *doc = jv_copy(n->doc), *cs = jv_new_object(), *dns = jv_new_object();
        struct container **all = NULL;
        struct err e = {0};
        char gw[INET_ADDRSTRLEN];

        /* The embedded DNS server's address (it runs while containers are attached). */
        jv_set_str(dns, "Address", inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw)));
        jv_set_int(dns, "Port", 53);
        jv_set_str(dns, "Domain", DNSD_DOMAIN);
        jv_set(doc, "DNS", dns);
        jv_set(doc, "Containers", cs);
        if (container_list(cli, &all, &e) < 0)
                return doc;
        for (struct container **p = all; *p; p++) {
                const struct jv *ep =
                        jv_get(jv_path((*p)->doc, "NetworkSettings.Networks"), n->name);
                struct jv *o;
                char cidr[64];
                if (!ep || !container_is_running(*p))
                        continue;
                o = jv_new_object();
                snprintf(cidr, sizeof(cidr), "%s/%lld", jv_get_str(ep, "IPAddress") ?: "",
                         jv_get_int(ep, "IPPrefixLen", 0));
                jv_set_str(o, "Name", container_name(*p));
                jv_set_str(o, "EndpointID", jv_get_str(ep, "EndpointID"));
                jv_set_str(o, "MacAddress", jv_get_str(ep, "MacAddress"));
                jv_set_str(o, "IPv4Address", cidr);
                jv_set_str(o, "IPv6Address", "");
                jv_set(cs, (*p)->id, o);
        }
        container_list_free(all);
        return doc;
}

static int cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *format;
                bool verbose;
        } o = {0};
        static const struct opt_def defs[] = {
                {"format", 'f', OPT_STR, offsetof(__typeof__(o), format)},
                {"verbose", 'v', OPT_BOOL, offsetof(__typeof__(o), verbose)},
                OPT_END,
        };
        _cleanup_jv_ struct jv *out = jv_new_array();
        _cleanup_template_ struct template *t = NULL;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r = 0;

        if (k < 1)
                return cli_usage_error(cli, "network inspect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network inspect\" requires at least 1 "
                                               "argument.");
        if (o.format && template_parse(o.format, &t, err) < 0)
                return -err->code;
        for (int i = 1; i <= k; i++) {
                struct network n = {0};
                struct err e = {0};
                struct jv *doc;
                _cleanup_free_ char *line = NULL;
                if (network_load(cli, argv[i], &n, &e) < 0) {
                        *err = e;
                        r = -e.code;
                        continue;
                }
                doc = inspect_doc(cli, &n);
                network_release(&n);
                if (t && template_render(t, doc, &line, &e) == 0)
                        printf("%s\n", line);
                else if (t)
                        *err = e, r = -e.code;
                jv_append(out, doc);
        }
        if (!t)
                printf("%s\n", jv_len(out) ? jv_to_string(out, true) : "[]");
        return r;
}

static int remove_one(const struct cli *cli, const char *ref, struct err *err)
{
        _cleanup_strv_ char **users = NULL;
        _cleanup_free_ char *path = NULL, *leases = NULL;
        struct network n = {0};
        int r;

        if (!strcmp(ref, "none") || !strcmp(ref, "host") || !strcmp(ref, NETWORK_DEFAULT))
                return err_set(err, -EPERM, "%s is a pre-defined network and cannot be removed",
                               ref);
        r = network_load(cli, ref, &n, err);
        if (r >= 0)
                r = users_of(cli, n.name, &users, err);
        if (r >= 0 && users && users[0])
                r = err_set(err, -EBUSY,
                            "error while removing network: network %s id %s has "
                            "active endpoints",
                            n.name, n.id);
        if (r >= 0) {
                dnsd_stop(cli, n.name);
                kernel_remove(cli, &n);
                path = net_path(cli, n.name);
                leases = cli_runroot_path(cli, "networks/%s", n.name);
                fs_rm_rf(leases, err);
                if (unlink(path) < 0 && errno != ENOENT)
                        r = err_errno(err, "removing network %s", n.name);
        }
        network_release(&n);
        return r;
}

static int cmd_rm(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int k = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r = 0;

        if (k < 1)
                return cli_usage_error(cli, "network rm", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network rm\" requires at least 1 "
                                               "argument.");
        for (int i = 1; i <= k; i++) {
                struct err e = {0};
                if (remove_one(cli, argv[i], &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e.msg);
                        cli->printed = true;
                        r = err_set(err, -e.code, "%s", e.msg);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return r;
}

static int prune_cb(struct jv *doc, void *ud)
{
        char ***names = ud;

        util_strv_push(names, jv_get_str(doc, "Name"));
        return 0;
}

int network_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force;
                char **filters;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"filter", 0, OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        bool header = false;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        opt_free_lists(defs, &o);
        if (k != 0)
                return cli_usage_error(cli, "network prune", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network prune\" accepts no arguments.");
        each_network(cli, prune_cb, &names);
        for (char **p = names; p && *p; p++) {
                _cleanup_strv_ char **users = NULL;
                struct err e = {0};
                if (!strcmp(*p, NETWORK_DEFAULT) || users_of(cli, *p, &users, &e) < 0 ||
                    (users && users[0]) || remove_one(cli, *p, &e) < 0)
                        continue;
                if (!header)
                        printf("Deleted Networks:\n");
                header = true;
                printf("%s\n", *p);
        }
        return 0;
}

static int free_index(const struct container *c)
{
        const struct jv *nets = jv_path(c->doc, "NetworkSettings.Networks");
        _cleanup_strv_ char **keys = jv_keys(nets);

        for (int i = 0; i < MAX_ENDPOINTS; i++) {
                char veth[16];
                bool used = false;
                veth_name(c->id, i, veth);
                for (char **k = keys; k && *k; k++) {
                        const char *e = jv_get_str(jv_get(nets, *k), "EndpointID");
                        used |= e && !strcmp(e, veth);
                }
                if (!used)
                        return i;
        }
        return -ENOSPC;
}

static struct jv *endpoint_doc(char **aliases, const char *ip)
{
        struct jv *ep = jv_new_object(), *ipam = NULL;

        if (ip && *ip) {
                ipam = jv_new_object();
                jv_set_str(ipam, "IPv4Address", ip);
        }
        jv_set(ep, "IPAMConfig", ipam);
        jv_set(ep, "Links", NULL);
        jv_set(ep, "Aliases", aliases && *aliases ? jv_from_strv(aliases) : NULL);
        jv_set_str(ep, "NetworkID", "");
        jv_set_str(ep, "EndpointID", "");
        jv_set_str(ep, "Gateway", "");
        jv_set_str(ep, "IPAddress", "");
        jv_set_int(ep, "IPPrefixLen", 0);
        jv_set_str(ep, "MacAddress", "");
        return ep;
}

int network_add_endpoint(struct jv *doc, const char *net, char **aliases, const char *ip)
{
        struct jv *ns = jv_get(doc, "NetworkSettings"), *nets;

        if (!ns) {
                ns = jv_new_object();
                jv_set(doc, "NetworkSettings", ns);
        }
        nets = jv_get(ns, "Networks");
        if (!nets) {
                nets = jv_new_object();
                jv_set(ns, "Networks", nets);
        }
        jv_set(nets, net, endpoint_doc(aliases, ip));
        return 0;
}

/* A connect or disconnect of a running container records what it is doing in the state
 * (Hawser.Pending: {"Connect" or "Disconnect": NETWORK, "Index": N}) before it touches the
 * kernel, and clears it when done. One killed halfway leaves the record; whoever next holds
 * the container's lock finishes the job: a disconnect is completed, a connect rolled back
 * (its veth, its lease and its endpoint go). */
static void finish_pending(const struct cli *cli, struct container *c)
{
        struct jv *pending = jv_path(c->doc, "Hawser.Pending");
        const char *net = jv_get_str(pending, "Connect");
        bool connect = net != NULL;
        int idx = (int)jv_get_int(pending, "Index", -1);
        _cleanup_free_ char *leases = NULL;
        struct jv *ep;
        struct err e = {0};
        char veth[16];

        if (!net)
                net = jv_get_str(pending, "Disconnect");
        if (!net)
                return;
        ep = jv_get(jv_path(c->doc, "NetworkSettings.Networks"), net);
        leases = lease_dir(cli, net);
        if (idx >= 0 && idx < MAX_ENDPOINTS)
                veth_name(c->id, idx, veth);
        else
                snprintf(veth, sizeof(veth), "%s", jv_get_str(ep, "EndpointID") ?: "");
        if (*veth && net_link_delete(veth, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (leases && net_ipam_release_owner(leases, c->id, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        jv_del(jv_path(c->doc, "NetworkSettings.Networks"), net);
        jv_del(jv_get(c->doc, "Hawser"), "Pending");
        if (container_save(c, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        if (container_is_running(c))
                render_hosts(cli, c, &e);
        if (!connect)
                dnsd_refresh_network(cli, net);
        dnsd_refresh(cli, c);
}

static int set_pending(struct container *c, const char *op, const char *net, int idx,
                       struct err *err)
{
        struct jv *p = jv_new_object();

        if (!jv_get(c->doc, "Hawser"))
                jv_set(c->doc, "Hawser", jv_new_object());
        jv_set_str(p, op, net);
        if (idx >= 0)
                jv_set_int(p, "Index", idx);
        jv_set(jv_get(c->doc, "Hawser"), "Pending", p);
        return container_save(c, err);
}

void network_settle(const struct cli *cli, struct container *c)
{
        struct err e = {0};
        _cleanup_close_ int lock = container_trylock(c, &e);

        /* Held: the connect or disconnect is still running; it finishes by itself. */
        if (lock < 0 || container_reload(c, &e) < 0)
                return;
        finish_pending(cli, c);
}

static int connect_running(const struct cli *cli, struct container *c, const char *net,
                           struct err *err)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        char p[64];
        _cleanup_close_ int fd = -1;
        int idx = free_index(c), r;

        if (idx < 0)
                return err_set(err, -ENOSPC, "container %s is on too many networks",
                               container_name(c));
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening the network namespace of %s", container_name(c));
        r = set_pending(c, "Connect", net, idx, err);
        if (r >= 0)
                r = endpoint_attach(cli, c, net, idx, fd, err);
        if (r >= 0)
                util_test_kill_point("connect-attached");
        if (r >= 0)
                r = render_hosts(cli, c, err);
        if (r >= 0)
                jv_del(jv_get(c->doc, "Hawser"), "Pending");
        return r;
}

static int cmd_connect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char **aliases, **links;
                char *ip, *ip6;
        } o = {0};
        static const struct opt_def defs[] = {
                {"alias", 0, OPT_LIST, offsetof(__typeof__(o), aliases)},
                {"link", 0, OPT_LIST, offsetof(__typeof__(o), links)},
                {"ip", 0, OPT_STR, offsetof(__typeof__(o), ip)},
                {"ip6", 0, OPT_STR, offsetof(__typeof__(o), ip6)},
                OPT_END,
        };
        struct container *c = NULL;
        struct network n = {0};
        _cleanup_close_ int lock = -1;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 2) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network connect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network connect\" requires exactly 2 "
                                               "arguments.");
        }
        for (char **a = o.aliases; a && *a; a++)
                if (!dns_files_token_ok(*a))
                        return err_set(err, -EINVAL,
                                       "invalid argument \"%s\" for \"--alias\" flag: an alias "
                                       "is one word, without whitespace or control characters",
                                       *a);
        r = network_load(cli, argv[1], &n, err);
        if (r >= 0)
                r = container_find(cli, argv[2], &c, err);
        if (r >= 0 && (lock = container_lock(c, err)) >= 0 && container_reload(c, err) >= 0) {
                if (!network_mode_is_bridge(jv_str(jv_path(c->doc, "HostConfig.NetworkMode"))))
                        r = err_set(err, -EINVAL,
                                    "container cannot be disconnected from host "
                                    "network or connected to host network");
                else if (jv_get(jv_path(c->doc, "NetworkSettings.Networks"), n.name))
                        r = err_set(err, -EEXIST,
                                    "endpoint with name %s already exists in "
                                    "network %s",
                                    container_name(c), n.name);
                else
                        r = network_add_endpoint(c->doc, n.name, o.aliases, o.ip);
                if (r >= 0 && container_is_running(c))
                        r = connect_running(cli, c, n.name, err);
                if (r >= 0)
                        r = container_save(c, err);
                if (r >= 0)
                        dnsd_refresh(cli, c);
                else if (jv_path(c->doc, "Hawser.Pending"))
                        finish_pending(cli, c); /* rolls the connect back */
        } else if (r >= 0) {
                r = -err->code;
        }
        container_free(c);
        network_release(&n);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

static int cmd_disconnect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                OPT_END,
        };
        struct container *c = NULL;
        struct network n = {0};
        _cleanup_close_ int lock = -1;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;
        struct jv *ep;

        if (k != 2)
                return cli_usage_error(cli, "network disconnect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network disconnect\" requires exactly 2 "
                                               "arguments.");
        r = network_load(cli, argv[1], &n, err);
        if (r >= 0)
                r = container_find(cli, argv[2], &c, err);
        if (r >= 0 && ((lock = container_lock(c, err)) < 0 || container_reload(c, err) < 0))
                r = -err->code;
        ep = r >= 0 ? jv_get(jv_path(c->doc, "NetworkSettings.Networks"), n.name) : NULL;
        if (r >= 0 && !ep)
                r = err_set(err, -ENOENT, "container %s is not connected to network %s", c->id,
                            n.name);
        if (r >= 0 && container_is_running(c)) {
                /* Recorded first: a disconnect killed from here on is completed by the next
                 * command. */
                r = set_pending(c, "Disconnect", n.name, -1, err);
                util_test_kill_point("disconnect-pending");
                if (r >= 0)
                        finish_pending(cli, c);
        } else if (r >= 0) {
                jv_del(jv_path(c->doc, "NetworkSettings.Networks"), n.name);
                r = container_save(c, err);
        }
        container_free(c);
        network_release(&n);
        return r < 0 ? r : 0;
}

int network_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"create", cmd_create},
                {"ls", cmd_ls},
                {"list", cmd_ls},
                {"inspect", cmd_inspect},
                {"rm", cmd_rm},
                {"remove", cmd_rm},
                {"prune", network_cmd_prune},
                {"connect", cmd_connect},
                {"disconnect", cmd_disconnect},
        };

        return cli_dispatch(cli, "network", sub, sizeof(sub) / sizeof(sub[0]),
                            "create, ls, inspect, rm, prune, connect, disconnect", argc, argv, err);
}

int network_cmd_port(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int k = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r;
        struct container *c = NULL;
        struct port_binding *v = NULL;
        _cleanup_free_ char *out = NULL;
        const struct jv *ports;
        size_t n = 0;

        if (k < 1 || k > 2)
                return cli_usage_error(cli, "port", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser port\" requires at least 1 and at most 2 "
                                               "arguments.");
        r = container_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        ports = container_is_running(c) ? jv_path(c->doc, "NetworkSettings.Ports") : NULL;
        r = ports_from_state(ports, ports, &v, &n);
        if (r < 0)
                r = err_set(err, r, "listing the ports of %s", container_name(c));
        else
                r = ports_format_mapping(v, n, k == 2 ? argv[2] : NULL, container_name(c), &out,
                                         err);
        if (r >= 0)
                fputs(out, stdout);
        free(v);
        container_free(c);
        return r < 0 ? r : 0;
}

int network_link_env(const struct cli *cli, const struct container *c, char ***env, struct err *err)
{
        const struct jv *links = jv_path(c->doc, "HostConfig.Links");

        for (size_t i = 0; i < jv_len(links); i++) {
                const char *l = jv_str(jv_at(links, i)), *colon = l ? strchr(l, ':') : NULL;
                struct container *child = NULL;
                _cleanup_strv_ char **exposed = NULL, **cenv = NULL, **out = NULL;
                char name[256];
                const char *alias;
                int r;
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - l - 1), l + 1);
                alias = strrchr(colon, '/') ? strrchr(colon, '/') + 1 : colon + 1;
                if (container_find(cli, name, &child, err) < 0)
                        return -err->code;
                exposed = jv_keys(jv_path(child->doc, "Config.ExposedPorts"));
                cenv = jv_to_strv(jv_path(child->doc, "Config.Env"));
                r = links_env(container_name(c), alias, first_ip(child) ?: "",
                              (const char *const *)exposed, cenv, &out, err);
                container_free(child);
                if (r < 0)
                        return r;
                for (char **e = out; e && *e; e++)
                        if (util_strv_push(env, *e) < 0)
                                return err_set(err, -ENOMEM, "link environment");
        }
        return 0;
}

int network_remove_link(const struct cli *cli, const char *spec, struct err *err)
{
        char full[300], parent[256];
        const char *last;
        struct container *c = NULL;
        _cleanup_close_ int lock = -1;
        struct jv *links, *kept;
        size_t removed = 0;
        int r;

        snprintf(full, sizeof(full), "%s%s", spec[0] == '/' ? "" : "/", spec);
        last = strrchr(full, '/');
        if (last == full)
                return err_set(err, -EINVAL,
                               "Conflict, cannot remove the default link name of "
                               "the container");
        snprintf(parent, sizeof(parent), "%.*s", (int)(last - full - 1), full + 1);
        if (container_find(cli, parent, &c, err) < 0)
                return err_set(err, -ENOENT, "Cannot get parent /%s for link name %s", parent,
                               full);
        r = lock = container_lock(c, err);
        if (r >= 0)
                r = container_reload(c, err);
        if (r >= 0) {
                links = jv_path(c->doc, "HostConfig.Links");
                kept = jv_new_array();
                for (size_t i = 0; i < jv_len(links); i++) {
                        const char *l = jv_str(jv_at(links, i)), *colon = l ? strchr(l, ':') : NULL;
                        if (colon && !strcmp(colon + 1, full)) {
                                removed++;
                                continue;
                        }
                        jv_append(kept, jv_new_string(l));
                }
                if (removed) {
                        _cleanup_free_ char *ip = NULL;
                        for (size_t i = 0; i < jv_len(links) && !ip; i++) {
                                const char *x = jv_str(jv_at(links, i)),
                                           *colon = x ? strchr(x, ':') : NULL;
                                if (colon && !strcmp(colon + 1, full))
                                        ip = cli_root_path(cli, "links/%.*s/%s",
                                                           (int)(colon - x - 1), x + 1, c->id);
                        }
                        if (ip)
                                unlink(ip);
                }
                jv_set(jv_get(c->doc, "HostConfig"), "Links", kept);
                r = removed ? container_save(c, err)
                            : err_set(err, -ENOENT, "No such link: %s", full);
        }
        if (r >= 0 && container_is_running(c))
                r = render_hosts(cli, c, err);
        container_free(c);
        return r < 0 ? r : 0;
}
