#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"

/* Container ids are 64 hex digits; names stay well below this. */
#define OWNER_MAX 128
/* Temp files sit next to the leases so that link() stays on one filesystem. A leading dot
 * keeps them apart from lease names, which are dotted quads. */
#define TMP_PREFIX ".lease-"
/* Default-pool layout (daemon/libnetwork/ipamutils): fifteen /16s from 172.17, then sixteen
 * /20s covering 192.168.0.0/16. */
#define POOLS_172   15
#define POOLS_192   16
#define POOL_192_SZ 20

static uint32_t prefix_mask(int prefix)
{
        return prefix <= 0 ? 0 : (uint32_t)(0xffffffffULL << (32 - prefix));
}

static bool owner_valid(const char *owner)
{
        size_t n = owner ? strlen(owner) : 0;

        if (n == 0 || n > OWNER_MAX)
                return false;
        for (const char *p = owner; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

static void addr_name(uint32_t host_order, char out[INET_ADDRSTRLEN])
{
        struct in_addr a = {.s_addr = htonl(host_order)};

        inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static int flock_retry(int fd, int op)
{
        while (flock(fd, op) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* Opens dir and takes the given flock on it. -ENOENT passes through so callers can treat a
 * network without leases as empty. */
static int open_locked(const char *dir, bool create, int lock, struct err *err)
{
        _cleanup_close_ int fd = -1;
        int r;

        if (create) {
                r = fs_mkdir_p(dir, 0755, err);
                if (r < 0)
                        return r;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : err_errno(err, "opening lease dir %s", dir);
        r = flock_retry(fd, lock);
        if (r < 0)
                return err_set(err, r, "locking lease dir %s: %s", dir, strerror(-r));
        return TAKE_FD(fd);
}

/* Reads a lease (or temp) file's owner. -ENOENT when absent, -ERANGE when it does not fit. */
static int read_owner_at(int dfd, const char *name, char *out, size_t len)
{
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (len == 0)
                return -ERANGE;
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = fs_read_all(fd, out, len);
        if (n < 0)
                return (int)n;
        if ((size_t)n >= len)
                return -ERANGE;
        out[n] = '\0';
        return 0;
}

static bool owned_by(int dfd, const char *name, const char *owner)
{
        char cur[OWNER_MAX + 1];

        return read_owner_at(dfd, name, cur, sizeof(cur)) == 0 && strcmp(cur, owner) == 0;
}

/* A temp file holding the owner, ready to be linked under lease names. */
struct lease_tmp {
        char *path;
};

static void lease_tmp_done(struct lease_tmp *t)
{
        if (t->path) {
                unlink(t->path);
                free(t->path);
        }
}

static int lease_tmp_make(const char *dir, const char *owner, struct lease_tmp *t, struct err *err)
{
        _cleanup_close_ int fd = -1;
        int r;

        t->path = util_printf("%s/" TMP_PREFIX "XXXXXX", dir);
        if (!t->path)
                return err_set(err, -ENOMEM, "allocating a lease temp name");
        fd = mkostemp(t->path, O_CLOEXEC);
        if (fd < 0) {
                r = err_errno(err, "creating a lease temp file in %s", dir);
                free(t->path);
                t->path = NULL;
                return r;
        }
        /* mkostemp creates 0600; leases are as readable as the rest of the state dir. */
        if (fchmod(fd, 0644) < 0)
                return err_errno(err, "setting the mode of %s", t->path);
        r = fs_write_all(fd, owner, strlen(owner));
        if (r < 0)
                return err_set(err, r, "writing lease temp file %s: %s", t->path, strerror(-r));
        return 0;
}

/* An allocation's start: the dir locked shared (its fd) and the owner's temp file in t. */
static int lease_begin(const char *dir, const char *owner, struct lease_tmp *t, struct err *err)
{
        int dfd = open_locked(dir, true, LOCK_SH, err), r;

        if (dfd < 0)
                return dfd;
        r = lease_tmp_make(dir, owner, t, err);
        if (r < 0) {
                close(dfd);
                return r;
        }
        return dfd;
}

/* 0 when the lease was created, 1 when the address is taken, < 0 on error. */
static int try_lease(int dfd, const struct lease_tmp *t, uint32_t a, struct err *err)
{
        char name[INET_ADDRSTRLEN];

        addr_name(a, name);
        if (linkat(AT_FDCWD, t->path, dfd, name, 0) == 0)
                return 0;
        if (errno == EEXIST)
                return 1;
        return err_errno(err, "leasing %s", name);
}

struct range {
        uint32_t net, first, last, gw;
};

static bool usable(const struct range *rg, uint32_t a)
{
        return a >= rg->first && a <= rg->last && a != rg->gw;
}

/* Tries preferred (or returns it when owner already holds it): 0 when leased, 1 to go on. */
static int try_preferred(int dfd, const struct lease_tmp *t, const struct range *rg, uint32_t p,
                         const char *owner, struct err *err)
{
        char name[INET_ADDRSTRLEN];
        int r;

        if (p == 0 || !usable(rg, p))
                return 1;
        r = try_lease(dfd, t, p, err);
        if (r != 1)
                return r;
        addr_name(p, name);
        return owned_by(dfd, name, owner) ? 0 : 1;
}

static int allocate_in(const char *dir, const struct range *rgp, uint32_t pref, const char *owner,
                       struct in_addr *ret, struct err *err, const char *net_s, int prefix);

int net_ipam_allocate(const char *dir, struct in_addr subnet, int prefix, struct in_addr gateway,
                      struct in_addr preferred, const char *owner, struct in_addr *ret,
                      struct err *err)
{
        struct range rg;
        uint32_t mask, bcast;
        char net_s[INET_ADDRSTRLEN];

        if (prefix < 0 || prefix > 32)
                return err_set(err, -EINVAL, "invalid prefix length /%d", prefix);
        if (!owner_valid(owner))
                return err_set(err, -EINVAL, "invalid lease owner '%s'", owner ? owner : "");
        mask = prefix_mask(prefix);
        rg.net = ntohl(subnet.s_addr) & mask;
        bcast = rg.net | ~mask;
        rg.first = rg.net + 1;
        rg.last = bcast - 1;
        /* /31 and /32 have no address left once network and broadcast are excluded (and the
         * arithmetic above wraps for them). */
        if (prefix > 30) {
                rg.first = 1;
                rg.last = 0;
        }
        rg.gw = ntohl(gateway.s_addr);
        addr_name(rg.net, net_s);
        return allocate_in(dir, &rg, ntohl(preferred.s_addr), owner, ret, err, net_s, prefix);
}

int net_ipam_allocate_range(const char *dir, struct in_addr first, struct in_addr last,
                            struct in_addr gateway, struct in_addr preferred, const char *owner,
                            struct in_addr *ret, struct err *err)
{
        struct range rg = {.first = ntohl(first.s_addr),
                           .last = ntohl(last.s_addr),
                           .gw = ntohl(gateway.s_addr)};
        char first_s[INET_ADDRSTRLEN];

        if (!owner_valid(owner))
                return err_set(err, -EINVAL, "invalid lease owner '%s'", owner ? owner : "");
        addr_name(rg.first, first_s);
        return allocate_in(dir, &rg, ntohl(preferred.s_addr), owner, ret, err, first_s, -1);
}

static int allocate_in(const char *dir, const struct range *rgp, uint32_t pref, const char *owner,
                       struct in_addr *ret, struct err *err, const char *net_s, int prefix)
{
        _cleanup_(lease_tmp_done) struct lease_tmp t = {0};
        _cleanup_close_ int dfd = -1;
        struct range rg = *rgp;
        int r;

        dfd = lease_begin(dir, owner, &t, err);
        if (dfd < 0)
                return dfd;
        r = try_preferred(dfd, &t, &rg, pref, owner, err);
        if (r == 0)
                ret->s_addr = htonl(pref);
        if (r != 1)
                return r;
        for (uint64_t a = rg.first; a <= rg.last; a++) {
                if (!usable(&rg, (uint32_t)a))
                        continue;
                r = try_lease(dfd, &t, (uint32_t)a, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        ret->s_addr = htonl((uint32_t)a);
                        return 0;
                }
        }
        if (prefix < 0)
                return err_set(err, -ENOSPC, "no available IPv4 addresses in the range from %s",
                               net_s);
        return err_set(err, -ENOSPC, "no available IPv4 addresses on subnet %s/%d", net_s, prefix);
}

static int release_name(const char *dir, const char *name, const char *owner, struct err *err);

int net_ipam_release(const char *dir, struct in_addr addr, const char *owner, struct err *err)
{
        char name[INET_ADDRSTRLEN];

        return release_name(dir, inet_ntop(AF_INET, &addr, name, sizeof(name)), owner, err);
}

int net_ipam_release6(const char *dir, const struct in6_addr *addr, const char *owner,
                      struct err *err)
{
        char name[INET6_ADDRSTRLEN];

        return release_name(dir, inet_ntop(AF_INET6, addr, name, sizeof(name)), owner, err);
}

/* Removes the lease named name if owner holds it. */
static int release_name(const char *dir, const char *name, const char *owner, struct err *err)
{
        _cleanup_close_ int dfd = -1;
        char cur[OWNER_MAX + 1];
        int r;

        if (!owner_valid(owner))
                return err_set(err, -EINVAL, "invalid lease owner '%s'", owner ? owner : "");
        dfd = open_locked(dir, false, LOCK_EX, err);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return dfd;
        r = read_owner_at(dfd, name, cur, sizeof(cur));
        if (r == -ENOENT)
                return 0;
        if (r == -ERANGE)
                return err_set(err, -EPERM, "address %s is leased by another owner, not %s", name,
                               owner);
        if (r < 0)
                return err_set(err, r, "reading lease %s/%s: %s", dir, name, strerror(-r));
        if (strcmp(cur, owner) != 0)
                return err_set(err, -EPERM, "address %s is leased by %s, not %s", name, cur, owner);
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return err_errno(err, "removing lease %s/%s", dir, name);
        return 0;
}

static bool is_lease_name(const char *name)
{
        struct in_addr a;
        struct in6_addr a6;
        char canon[INET6_ADDRSTRLEN];

        /* The canonical text of an IPv4 or (dual-stack networks) IPv6 address. */
        if (inet_pton(AF_INET, name, &a) == 1)
                return !strcmp(inet_ntop(AF_INET, &a, canon, sizeof(canon)), name);
        if (inet_pton(AF_INET6, name, &a6) != 1)
                return false;
        inet_ntop(AF_INET6, &a6, canon, sizeof(canon));
        return strcmp(canon, name) == 0;
}

int net_ipam_release_owner(const char *dir, const char *owner, struct err *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, n = 0;

        if (!owner_valid(owner))
                return err_set(err, -EINVAL, "invalid lease owner '%s'", owner ? owner : "");
        dfd = open_locked(dir, false, LOCK_EX, err);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return dfd;
        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return err_errno(err, "duplicating lease dir fd");
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return err_errno(err, "listing lease dir %s", dir);
        }
        while ((errno = 0, de = readdir(d))) {
                /* Under the exclusive lock no allocation is running, so every temp file is a
                 * leftover of a crashed one, whoever it belonged to. */
                if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
                        unlinkat(dfd, de->d_name, 0);
                        continue;
                }
                if (!is_lease_name(de->d_name) || !owned_by(dfd, de->d_name, owner))
                        continue;
                if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
                        return err_errno(err, "removing lease %s/%s", dir, de->d_name);
                n++;
        }
        if (errno != 0)
                return err_errno(err, "listing lease dir %s", dir);
        return n;
}

bool net_ipam_holds(const char *dir, const char *owner)
{
        _cleanup_closedir_ DIR *d = owner_valid(owner) ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (is_lease_name(de->d_name) && owned_by(dirfd(d), de->d_name, owner))
                        return true;
        return false;
}

static int owner_of(const char *dir, int af, const void *addr, char *out, size_t len)
{
        _cleanup_close_ int dfd = -1;
        char name[INET6_ADDRSTRLEN];

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        inet_ntop(af, addr, name, sizeof(name));
        return read_owner_at(dfd, name, out, len);
}

int net_ipam_lock(const char *dir, struct err *err)
{
        return open_locked(dir, false, LOCK_EX, err);
}

int net_ipam_owner(const char *dir, struct in_addr addr, char *out, size_t len)
{
        return owner_of(dir, AF_INET, &addr, out, len);
}

int net_ipam_owner6(const char *dir, const struct in6_addr *addr, char *out, size_t len)
{
        return owner_of(dir, AF_INET6, addr, out, len);
}

void net_ipam_mac(struct in_addr a, uint8_t mac[6])
{
        mac[0] = 0x02;
        mac[1] = 0x42;
        memcpy(mac + 2, &a.s_addr, 4);
}

/* A prefix length of at most max (32 or 128): decimal, no leading zero. */
static int parse_prefix_len(const char *s, int max)
{
        size_t n = strlen(s);

        if (n == 0 || n > (max > 99 ? 3 : 2) || (n > 1 && s[0] == '0'))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        n = (size_t)atoi(s);
        return n > (size_t)max ? -EINVAL : (int)n;
}

int net_ipam_parse_cidr(const char *s, struct in_addr *ret_net, int *ret_prefix, struct err *err)
{
        char addr[INET6_ADDRSTRLEN + 1], masked[INET_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        struct in6_addr a6;
        struct in_addr a;
        size_t alen;
        int prefix;

        alen = slash ? (size_t)(slash - s) : 0;
        if (!slash || alen >= sizeof(addr))
                return err_set(err, -EINVAL, "invalid subnet %s: invalid CIDR block notation", s);
        memcpy(addr, s, alen);
        addr[alen] = '\0';
        if (inet_pton(AF_INET6, addr, &a6) == 1)
                return err_set(err, -EINVAL, "invalid subnet %s: only IPv4 subnets are supported",
                               s);
        prefix = parse_prefix_len(slash + 1, 32);
        if (inet_pton(AF_INET, addr, &a) != 1 || prefix < 0)
                return err_set(err, -EINVAL, "invalid subnet %s: invalid CIDR block notation", s);
        if ((ntohl(a.s_addr) & ~prefix_mask(prefix)) != 0) {
                addr_name(ntohl(a.s_addr) & prefix_mask(prefix), masked);
                return err_set(err, -EINVAL, "invalid subnet %s: it should be %s/%d", s, masked,
                               prefix);
        }
        *ret_net = a;
        *ret_prefix = prefix;
        return 0;
}

bool net_ipam_contains(struct in_addr net, int prefix, struct in_addr a)
{
        uint32_t m = prefix_mask(prefix);

        return (ntohl(net.s_addr) & m) == (ntohl(a.s_addr) & m);
}

bool net_ipam_overlaps(struct in_addr net1, int prefix1, struct in_addr net2, int prefix2)
{
        return net_ipam_contains(prefix1 < prefix2 ? net1 : net2,
                                 prefix1 < prefix2 ? prefix1 : prefix2,
                                 prefix1 < prefix2 ? net2 : net1);
}

int net_ipam_pool_next(int index, struct in_addr *ret_net, int *ret_prefix)
{
        uint32_t a;

        if (index < 0 || index >= POOLS_172 + POOLS_192)
                return -ENOENT;
        if (index < POOLS_172) {
                a = (172u << 24) | ((17u + (uint32_t)index) << 16);
                *ret_prefix = 16;
        } else {
                a = (192u << 24) | (168u << 16) | ((uint32_t)(index - POOLS_172) << 12);
                *ret_prefix = POOL_192_SZ;
        }
        ret_net->s_addr = htonl(a);
        return 0;
}

/* ---- IPv6 ---- */

void net_ipam_mask6(struct in6_addr *a, int prefix)
{
        for (int i = 0; i < 16; i++) {
                int bits = prefix - 8 * i;
                a->s6_addr[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        }
}

bool net_ipam_contains6(const struct in6_addr *net, int prefix, const struct in6_addr *a)
{
        struct in6_addr x = *a, n = *net;

        net_ipam_mask6(&x, prefix);
        net_ipam_mask6(&n, prefix);
        return !memcmp(&x, &n, sizeof(x));
}

int net_ipam_parse_cidr6(const char *s, struct in6_addr *ret_net, int *ret_prefix, struct err *err)
{
        char addr[INET6_ADDRSTRLEN + 1], masked[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t alen = slash ? (size_t)(slash - s) : 0;
        struct in6_addr a, m;
        int prefix;

        if (!slash || alen >= sizeof(addr))
                return err_set(err, -EINVAL, "invalid subnet %s: invalid CIDR block notation", s);
        memcpy(addr, s, alen);
        addr[alen] = '\0';
        prefix = parse_prefix_len(slash + 1, 128);
        if (inet_pton(AF_INET6, addr, &a) != 1 || prefix < 1 || prefix > 126)
                return err_set(err, -EINVAL, "invalid subnet %s: invalid CIDR block notation", s);
        m = a;
        net_ipam_mask6(&m, prefix);
        if (memcmp(&m, &a, sizeof(a))) {
                inet_ntop(AF_INET6, &m, masked, sizeof(masked));
                return err_set(err, -EINVAL, "invalid subnet %s: it should be %s/%d", s, masked,
                               prefix);
        }
        *ret_net = a;
        *ret_prefix = prefix;
        return 0;
}

/* The subnet's host address number i (from 1), within the last 16 bits. */
static struct in6_addr host6(const struct in6_addr *net, uint32_t i)
{
        struct in6_addr a = *net;

        a.s6_addr[14] |= (uint8_t)(i >> 8);
        a.s6_addr[15] |= (uint8_t)i;
        return a;
}

static int try_lease6(int dfd, const struct lease_tmp *t, const struct in6_addr *a, struct err *err)
{
        char name[INET6_ADDRSTRLEN];

        inet_ntop(AF_INET6, a, name, sizeof(name));
        if (linkat(AT_FDCWD, t->path, dfd, name, 0) == 0)
                return 0;
        if (errno == EEXIST)
                return 1;
        return err_errno(err, "leasing %s", name);
}

int net_ipam_allocate6(const char *dir, const struct in6_addr *subnet, int prefix,
                       const struct in6_addr *gateway, const struct in6_addr *preferred,
                       const char *owner, struct in6_addr *ret, struct err *err)
{
        _cleanup_(lease_tmp_done) struct lease_tmp t = {0};
        _cleanup_close_ int dfd = -1;
        struct in6_addr net = *subnet;
        char net_s[INET6_ADDRSTRLEN];
        uint32_t last;
        int r;

        if (prefix < 1 || prefix > 126)
                return err_set(err, -EINVAL, "invalid prefix length /%d", prefix);
        if (!owner_valid(owner))
                return err_set(err, -EINVAL, "invalid lease owner '%s'", owner ? owner : "");
        net_ipam_mask6(&net, prefix);
        inet_ntop(AF_INET6, &net, net_s, sizeof(net_s));
        /* Host numbers 1 .. min(2^(128-prefix) - 1, 65535). */
        last = 128 - prefix >= 16 ? 0xffff : (1u << (128 - prefix)) - 1;
        dfd = lease_begin(dir, owner, &t, err);
        if (dfd < 0)
                return dfd;
        if (preferred && net_ipam_contains6(&net, prefix, preferred) &&
            memcmp(preferred, &net, sizeof(net)) && memcmp(preferred, gateway, sizeof(net))) {
                char name[INET6_ADDRSTRLEN];
                r = try_lease6(dfd, &t, preferred, err);
                inet_ntop(AF_INET6, preferred, name, sizeof(name));
                if (r == 0 || (r == 1 && owned_by(dfd, name, owner))) {
                        *ret = *preferred;
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        for (uint32_t i = 1; i <= last && i < 0xffff; i++) {
                struct in6_addr a = host6(&net, i);
                if (!memcmp(&a, gateway, sizeof(a)))
                        continue;
                r = try_lease6(dfd, &t, &a, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret = a;
                        return 0;
                }
        }
        return err_set(err, -ENOSPC, "no available IPv6 addresses on subnet %s/%d", net_s, prefix);
}
