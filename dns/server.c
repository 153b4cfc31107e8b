#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "dns/packet.h"
#include "dns/server.h"

#define DEFAULT_PORT           53
#define DEFAULT_FWD_TIMEOUT_MS 600
#define DEFAULT_MAX_FORWARDS   512
#define DEFAULT_MAX_TCP        128
#define DEFAULT_TCP_IDLE_MS    10000
/* Docker and aardvark-dns also stop at three upstreams, like glibc's MAXNS. */
#define MAX_UPSTREAMS 3
/* Datagrams per recvmmsg: amortises the syscall and the records stat() under load. */
#define UDP_BATCH 64
/* Clients send queries far below this; a larger datagram is answered FORMERR (MSG_TRUNC). */
#define UDP_QUERY_MAX 4096
/* Without traffic the records file is still checked this often, for removal and idle exit. */
#define TICK_MS 1000
/* A TCP client that stops reading is dropped once this much output is queued for it. */
#define TCP_WBUF_MAX (256 * 1024)
/* Forwards one TCP connection may have in flight; more get SERVFAIL. */
#define TCP_MAX_PENDING  32
#define TCP_RBUF_INITIAL 4096
#define TCP_BACKLOG      128
/* Asked of the kernel so a burst of queries is queued, not dropped; capped by rmem_max. */
#define UDP_RCVBUF   (1024 * 1024)
#define EPOLL_EVENTS 64
/* Longest lowercase key: a presentation-form name. */
#define KEY_MAX DNS_PKT_NAME_TEXT_MAX

/* ---- records ------------------------------------------------------------------------ */

struct rec_name {
        uint32_t next; /* index + 1 of the next name in the bucket; 0 ends the chain */
        uint32_t hash;
        in_addr_t client; /* 0: visible to every client */
        uint32_t name;    /* offset in strings: lowercase, no trailing dot */
        uint32_t ips;     /* first address in ips[] */
        uint32_t n_ips;
};

struct rec_ptr {
        uint32_t next;
        in_addr_t ip;
        uint32_t name;
};

struct rec_v6 {
        in_addr_t ip;
        struct in6_addr ip6;
};

union sockaddr_any {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
};

struct upstream {
        union sockaddr_any addr;
        socklen_t len;
};

struct records {
        char *strings;
        size_t strings_len, strings_cap;
        struct rec_name *names;
        size_t n_names;
        uint32_t *buckets; /* n_buckets is a power of two */
        size_t n_buckets;
        in_addr_t *ips;
        size_t n_ips;
        struct rec_ptr *ptrs;
        size_t n_ptrs;
        struct rec_v6 *v6; /* a dual-stack container's IPv6 address, by its IPv4 one */
        size_t n_v6, cap_v6;
        uint32_t *ptr_buckets;
        size_t n_ptr_buckets;
        size_t n_records;
        char domain[KEY_MAX];
        size_t domain_len;
        struct in_addr gateway;
        bool has_gateway;
        struct upstream upstreams[MAX_UPSTREAMS];
        size_t n_upstreams;
};

/* (client, name, ip) as read from the file, before grouping by name. */
struct rec_triple {
        in_addr_t client;
        uint32_t name;
        in_addr_t ip;
        uint32_t seq;
};

struct rec_builder {
        struct records *r;
        struct rec_triple *t;
        size_t n_t, cap_t;
        struct rec_ptr *p; /* PTR candidates in file order */
        size_t n_p, cap_p;
};

static void records_free(struct records *r)
{
        if (!r)
                return;
        free(r->strings);
        free(r->names);
        free(r->buckets);
        free(r->ips);
        free(r->ptrs);
        free(r->ptr_buckets);
        free(r->v6);
        free(r);
}

static void records_freep(struct records **r)
{
        records_free(*r);
}

static void rec_builder_done(struct rec_builder *b)
{
        free(b->t);
        free(b->p);
}

static uint32_t hash_key(const char *s, size_t len)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (size_t i = 0; i < len; i++)
                h = (h ^ (uint8_t)s[i]) * 16777619u;
        return h;
}

static uint32_t hash_ip(in_addr_t ip)
{
        return hash_key((const char *)&ip, sizeof(ip));
}

static size_t pow2_at_least(size_t n)
{
        size_t p = 16;

        while (p < n)
                p <<= 1;
        return p;
}

/* Lowercases a name and drops one trailing dot. Returns the key length, or -EINVAL for an
 * empty or over-long name. */
static int make_key(const char *name, size_t len, char out[KEY_MAX])
{
        if (len > 0 && name[len - 1] == '.')
                len--;
        if (len == 0 || len >= KEY_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        out[len] = '\0';
        return (int)len;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
        size_t n = *cap ? *cap : 16;
        void *q;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = n;
        return 0;
}

/* Stores a name in the string arena; returns its offset or a negative errno. */
static long long intern(struct records *r, const char *name)
{
        char key[KEY_MAX];
        int n = make_key(name, strlen(name), key);
        size_t off = r->strings_len;

        if (n < 0)
                return n;
        if (grow((void **)&r->strings, &r->strings_cap, off + (size_t)n + 1, 1) < 0)
                return -ENOMEM;
        memcpy(r->strings + off, key, (size_t)n + 1);
        r->strings_len += (size_t)n + 1;
        return (long long)off;
}

static int add_triple(struct rec_builder *b, in_addr_t client, const char *name, in_addr_t ip,
                      uint32_t *ret_name)
{
        long long off = intern(b->r, name);

        if (off == -EINVAL)
                return 0; /* an unusable name hides nothing else */
        if (off < 0 || grow((void **)&b->t, &b->cap_t, b->n_t + 1, sizeof(*b->t)) < 0)
                return -ENOMEM;
        b->t[b->n_t] = (struct rec_triple){client, (uint32_t)off, ip, (uint32_t)b->n_t};
        b->n_t++;
        if (ret_name)
                *ret_name = (uint32_t)off;
        return 1;
}

static bool parse_ip4(const char *s, in_addr_t *ret)
{
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return false;
        *ret = a.s_addr;
        return true;
}

static int add_record(struct rec_builder *b, const struct jv *rec)
{
        const struct jv *names = jv_get(rec, "names");
        in_addr_t ip;
        uint32_t first;
        bool have_first = false;
        int r;

        struct in6_addr ip6;

        /* A record has an IPv4 address, and on a dual-stack network an IPv6 one (AAAA answers
         * go through the IPv4 one, so client-scoped names get them too). */
        if (!parse_ip4(jv_get_str(rec, "ip"), &ip))
                return 0;
        if (jv_get_str(rec, "ip6") && inet_pton(AF_INET6, jv_get_str(rec, "ip6"), &ip6) == 1) {
                if (grow((void **)&b->r->v6, &b->r->cap_v6, b->r->n_v6 + 1, sizeof(*b->r->v6)) < 0)
                        return -ENOMEM;
                b->r->v6[b->r->n_v6++] = (struct rec_v6){ip, ip6};
        }
        b->r->n_records++;
        for (size_t i = 0; i < jv_len(names); i++) {
                const char *name = jv_str(jv_at(names, i));
                if (!name)
                        continue;
                r = add_triple(b, 0, name, ip, have_first ? NULL : &first);
                if (r < 0)
                        return r;
                have_first = have_first || r > 0;
        }
        if (!have_first)
                return 0;
        if (grow((void **)&b->p, &b->cap_p, b->n_p + 1, sizeof(*b->p)) < 0)
                return -ENOMEM;
        b->p[b->n_p++] = (struct rec_ptr){0, ip, first};
        return 0;
}

static int add_client_name(struct rec_builder *b, in_addr_t client, const char *name,
                           const struct jv *v)
{
        in_addr_t ip;
        size_t n = jv_type(v) == JV_ARRAY ? jv_len(v) : 1;

        for (size_t i = 0; i < n; i++) {
                const struct jv *e = jv_type(v) == JV_ARRAY ? jv_at(v, i) : v;
                if (parse_ip4(jv_str(e), &ip) && add_triple(b, client, name, ip, NULL) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int add_client(struct rec_builder *b, const struct jv *c)
{
        const struct jv *names = jv_get(c, "names");
        _cleanup_strv_ char **keys = NULL;
        in_addr_t client;

        if (!parse_ip4(jv_get_str(c, "client"), &client) || client == 0)
                return 0;
        keys = jv_keys(names);
        if (!keys)
                return -ENOMEM;
        for (char **k = keys; *k; k++)
                if (add_client_name(b, client, *k, jv_get(names, *k)) < 0)
                        return -ENOMEM;
        return 0;
}

static int triple_cmp(const void *a, const void *b, void *ctx)
{
        const struct rec_triple *x = a, *y = b;
        const char *strings = ctx;
        int c;

        if (x->client != y->client)
                return x->client < y->client ? -1 : 1;
        c = strcmp(strings + x->name, strings + y->name);
        if (c)
                return c;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Groups triples by (client, name) into names with their addresses, in file order. */
static int build_names(struct rec_builder *b)
{
        struct records *r = b->r;

        if (b->n_t)
                qsort_r(b->t, b->n_t, sizeof(*b->t), triple_cmp, r->strings);
        r->names = calloc(b->n_t ? b->n_t : 1, sizeof(*r->names));
        r->ips = calloc(b->n_t ? b->n_t : 1, sizeof(*r->ips));
        if (!r->names || !r->ips)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_t; i++) {
                const struct rec_triple *t = &b->t[i];
                struct rec_name *cur = r->n_names ? &r->names[r->n_names - 1] : NULL;
                if (!cur || cur->client != t->client ||
                    strcmp(r->strings + cur->name, r->strings + t->name)) {
                        cur = &r->names[r->n_names++];
                        *cur = (struct rec_name){
                                .client = t->client, .name = t->name, .ips = (uint32_t)r->n_ips};
                }
                bool dup = false;
                for (uint32_t j = 0; j < cur->n_ips; j++)
                        dup = dup || r->ips[cur->ips + j] == t->ip;
                if (!dup) {
                        r->ips[r->n_ips++] = t->ip;
                        cur->n_ips++;
                }
        }
        return 0;
}

static int build_hashes(struct rec_builder *b)
{
        struct records *r = b->r;

        r->n_buckets = pow2_at_least(r->n_names * 2);
        r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
        r->n_ptr_buckets = pow2_at_least(b->n_p * 2);
        r->ptr_buckets = calloc(r->n_ptr_buckets, sizeof(*r->ptr_buckets));
        r->ptrs = calloc(b->n_p ? b->n_p : 1, sizeof(*r->ptrs));
        if (!r->buckets || !r->ptr_buckets || !r->ptrs)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_names; i++) {
                struct rec_name *e = &r->names[i];
                const char *s = r->strings + e->name;
                uint32_t *head;
                e->hash = hash_key(s, strlen(s));
                head = &r->buckets[e->hash & (r->n_buckets - 1)];
                e->next = *head;
                *head = (uint32_t)i + 1;
        }
        for (size_t i = 0; i < b->n_p; i++) {
                uint32_t *head = &r->ptr_buckets[hash_ip(b->p[i].ip) & (r->n_ptr_buckets - 1)];
                bool seen = false;
                for (uint32_t j = *head; j && !seen; j = r->ptrs[j - 1].next)
                        seen = r->ptrs[j - 1].ip == b->p[i].ip;
                if (seen) /* the first record with an address names it */
                        continue;
                r->ptrs[r->n_ptrs] = (struct rec_ptr){*head, b->p[i].ip, b->p[i].name};
                *head = (uint32_t)++r->n_ptrs;
        }
        return 0;
}

/* "a.b.c.d", "a.b.c.d:port", "v6" or "[v6]:port"; port 53 when absent. */
static bool parse_upstream(const char *s, struct upstream *ret)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *port = NULL, *colon = strrchr(s, ':');
        long long p = DEFAULT_PORT;
        union sockaddr_any a = {0};

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || (close[1] && close[1] != ':') ||
                    (size_t)(close - s - 1) >= sizeof(host))
                        return false;
                memcpy(host, s + 1, (size_t)(close - s - 1));
                host[close - s - 1] = '\0';
                port = close[1] ? close + 2 : NULL;
        } else if (colon && strchr(s, ':') == colon) {
                if ((size_t)(colon - s) >= sizeof(host))
                        return false;
                memcpy(host, s, (size_t)(colon - s));
                host[colon - s] = '\0';
                port = colon + 1;
        } else if (strlen(s) < sizeof(host)) {
                strcpy(host, s);
        } else {
                return false;
        }
        if (port && util_parse_ll(port, 1, 65535, &p) < 0)
                return false;
        if (inet_pton(AF_INET, host, &a.in.sin_addr) == 1) {
                a.in.sin_family = AF_INET;
                a.in.sin_port = htons((uint16_t)p);
                *ret = (struct upstream){a, sizeof(a.in)};
                return true;
        }
        if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
                a.in6.sin6_family = AF_INET6;
                a.in6.sin6_port = htons((uint16_t)p);
                *ret = (struct upstream){a, sizeof(a.in6)};
                return true;
        }
        return false;
}

static void load_settings(struct records *r, const struct jv *root)
{
        const char *domain = jv_get_str(root, "domain");
        const struct jv *ups = jv_get(root, "upstreams");
        char key[KEY_MAX];
        int n;

        if (domain && (n = make_key(domain, strlen(domain), key)) > 0) {
                memcpy(r->domain, key, (size_t)n + 1);
                r->domain_len = (size_t)n;
        }
        r->has_gateway = inet_pton(AF_INET, jv_get_str(root, "gateway") ?: "", &r->gateway) == 1;
        for (size_t i = 0; i < jv_len(ups) && r->n_upstreams < MAX_UPSTREAMS; i++) {
                const char *s = jv_str(jv_at(ups, i));
                if (s && parse_upstream(s, &r->upstreams[r->n_upstreams]))
                        r->n_upstreams++;
        }
}

static int records_build(const struct jv *root, struct records **ret)
{
        _cleanup_(records_freep) struct records *r = calloc(1, sizeof(*r));
        struct rec_builder b = {.r = r};
        const struct jv *recs = jv_get(root, "records"), *clients = jv_get(root, "clients");
        int ret_code = -ENOMEM;

        if (!r)
                return -ENOMEM;
        load_settings(r, root);
        for (size_t i = 0; i < jv_len(recs); i++)
                if (add_record(&b, jv_at(recs, i)) < 0)
                        goto out;
        for (size_t i = 0; i < jv_len(clients); i++)
                if (add_client(&b, jv_at(clients, i)) < 0)
                        goto out;
        if (build_names(&b) < 0 || build_hashes(&b) < 0)
                goto out;
        *ret = TAKE_PTR(r);
        ret_code = 0;
out:
        rec_builder_done(&b);
        return ret_code;
}

static int records_load(const char *path, struct records **ret, struct err *err)
{
        _cleanup_jv_ struct jv *root = NULL;
        int r;

        r = jv_load(path, &root, err);
        if (r < 0)
                return r;
        if (jv_type(root) != JV_OBJECT)
                return err_set(err, -EINVAL, "records file %s: not a JSON object", path);
        r = records_build(root, ret);
        if (r < 0)
                return err_set(err, r, "records file %s: out of memory", path);
        jv_put(TAKE_PTR(root));
        /* The parse tree is several times the size of the tables built from it; without this
         * glibc keeps its pages, and the server's RSS grows with the largest file it saw. */
        malloc_trim(0);
        return 0;
}

/* The name visible to client: its own entry first, else (for members of the network) the
 * one every member sees. */
static const struct rec_name *records_find(const struct records *r, const char *key, size_t len,
                                           in_addr_t client, bool member)
{
        uint32_t h = hash_key(key, len);
        const struct rec_name *global = NULL;

        for (uint32_t i = r->buckets[h & (r->n_buckets - 1)]; i; i = r->names[i - 1].next) {
                const struct rec_name *e = &r->names[i - 1];
                const char *s = r->strings + e->name;
                if (e->hash != h || strncmp(s, key, len) || s[len])
                        continue;
                if (e->client == client)
                        return e;
                if (e->client == 0 && member)
                        global = e;
        }
        return global;
}

static const char *records_ptr(const struct records *r, in_addr_t ip)
{
        for (uint32_t i = r->ptr_buckets[hash_ip(ip) & (r->n_ptr_buckets - 1)]; i;
             i = r->ptrs[i - 1].next)
                if (r->ptrs[i - 1].ip == ip)
                        return r->strings + r->ptrs[i - 1].name;
        return NULL;
}

/* ---- server state -------------------------------------------------------------------- */

enum ev_kind {
        EV_STOP = 1,
        EV_UDP,
        EV_TCP_LISTEN,
        EV_CONN,
        EV_FWD,
};

/* Doubly linked FIFO threaded through an array; links hold slot + 1, so 0 means none. Every
 * entry is appended with now + one fixed timeout, so the head always expires first. */
struct fifo_link {
        uint32_t prev, next;
};

struct fifo {
        uint32_t head, tail;
};

/* Where a reply goes: a UDP source address or a TCP connection (slot + 1 and generation). */
struct client {
        struct sockaddr_in addr;
        bool tcp;
        uint32_t conn, conn_gen;
};

/* A forwarded query: one connected UDP socket per upstream tried so far, each with its own
 * random id, all still listening so a slow first upstream can answer after we moved on. */
struct fwd {
        struct fifo_link link; /* timeouts while in use, the free list otherwise */
        bool in_use;
        uint32_t gen;
        int fds[MAX_UPSTREAMS];
        uint16_t ids[MAX_UPSTREAMS];
        unsigned tries, live, n_up;
        struct upstream up[MAX_UPSTREAMS]; /* copied: a reload may change the list */
        int64_t deadline;
        struct client cl;
        size_t client_limit;
        uint16_t client_id;
        uint8_t *query; /* the client's query; its id is rewritten per try */
        size_t qlen;
};

struct conn {
        struct fifo_link link; /* idle order while in use, the free list otherwise */
        bool in_use, eof, broken, busy;
        uint32_t gen;
        int fd;
        uint32_t events;
        struct sockaddr_in peer;
        int64_t last;
        unsigned pending;
        uint8_t *rbuf;
        size_t rlen, rcap;
        uint8_t *wbuf;
        size_t wlen, wcap;
};

struct server {
        const struct dns_server_config *cfg;
        unsigned fwd_timeout_ms, max_fwds, max_conns, tcp_idle_ms;
        int epfd, udp_fd, tcp_fd;
        bool accept_paused;
        int64_t now;
        int outcome; /* an enum dns_server_exit once the loop should end, else -1 */
        struct records *rec;
        struct stat rec_st;
        int64_t last_stat;
        int64_t empty_since;
        struct fwd *fwds;
        uint32_t fwd_free;
        struct fifo fwd_timeouts;
        struct conn *conns;
        uint32_t conn_free, n_conns;
        struct fifo conn_idle;
        uint8_t rnd[256];
        size_t rnd_left;
        uint64_t rnd_fallback;
        uint8_t big[DNS_PKT_MAX]; /* TCP answers and upstream replies, never both at once */
        struct mmsghdr rx[UDP_BATCH], tx[UDP_BATCH];
        struct iovec rx_iov[UDP_BATCH], tx_iov[UDP_BATCH];
        struct sockaddr_in rx_addr[UDP_BATCH];
        uint8_t rx_buf[UDP_BATCH][UDP_QUERY_MAX];
        uint8_t tx_buf[UDP_BATCH][DNS_PKT_EDNS_SIZE];
};

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t ev_data(enum ev_kind kind, unsigned try, uint32_t gen, uint32_t slot)
{
        return (uint64_t)kind << 60 | (uint64_t)(try & 0xf) << 56 |
               (uint64_t)(gen & 0xffffff) << 32 | slot;
}

static struct fifo_link *fifo_at(void *base, size_t stride, uint32_t i)
{
        /* struct fwd and struct conn both start with their link */
        return (struct fifo_link *)((char *)base + (size_t)(i - 1) * stride);
}

static void fifo_unlink(struct fifo *q, void *base, size_t stride, uint32_t i)
{
        struct fifo_link *l = fifo_at(base, stride, i);

        if (l->prev)
                fifo_at(base, stride, l->prev)->next = l->next;
        else
                q->head = l->next;
        if (l->next)
                fifo_at(base, stride, l->next)->prev = l->prev;
        else
                q->tail = l->prev;
        l->prev = l->next = 0;
}

static void fifo_push(struct fifo *q, void *base, size_t stride, uint32_t i)
{
        struct fifo_link *l = fifo_at(base, stride, i);

        l->prev = q->tail;
        l->next = 0;
        if (q->tail)
                fifo_at(base, stride, q->tail)->next = i;
        else
                q->head = i;
        q->tail = i;
}

#define FWD_FIFO(s)  &(s)->fwd_timeouts, (s)->fwds, sizeof(struct fwd)
#define CONN_FIFO(s) &(s)->conn_idle, (s)->conns, sizeof(struct conn)

static uint16_t random_id(struct server *s)
{
        if (s->rnd_left < 2) {
                ssize_t n = getrandom(s->rnd, sizeof(s->rnd), GRND_NONBLOCK);
                if (n < 2) {
                        /* Only before the kernel's pool is seeded (early boot): an xorshift
                         * keeps ids varying; the fresh source port per try still applies. */
                        s->rnd_fallback ^= (uint64_t)now_ms() + 0x9e3779b97f4a7c15ull;
                        s->rnd_fallback ^= s->rnd_fallback << 13;
                        s->rnd_fallback ^= s->rnd_fallback >> 7;
                        s->rnd_fallback ^= s->rnd_fallback << 17;
                        return (uint16_t)s->rnd_fallback;
                }
                s->rnd_left = (size_t)n & ~(size_t)1;
        }
        s->rnd_left -= 2;
        return (uint16_t)(s->rnd[s->rnd_left] << 8 | s->rnd[s->rnd_left + 1]);
}

/* ---- records file -------------------------------------------------------------------- */

static bool same_version(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void idle_check(struct server *s)
{
        if (!s->cfg->idle_exit_sec || s->rec->n_records) {
                s->empty_since = -1;
                return;
        }
        if (s->empty_since < 0)
                s->empty_since = s->now;
        else if (s->now - s->empty_since >= (int64_t)s->cfg->idle_exit_sec * 1000)
                s->outcome = DNS_SERVER_IDLE;
}

/* One stat() per batch: hawser's core replaces the file with rename(), so a new inode (or a
 * new mtime/ctime/size) means new content. A file that fails to parse keeps the old records;
 * its stat is remembered so it is not re-read until it changes again. */
static void records_refresh(struct server *s)
{
        struct records *r = NULL;
        struct err e = {0};
        struct stat st;

        s->last_stat = s->now;
        if (stat(s->cfg->records_path, &st) < 0) {
                if (errno == ENOENT)
                        s->outcome = DNS_SERVER_REMOVED;
                return;
        }
        if (!same_version(&st, &s->rec_st)) {
                s->rec_st = st;
                if (records_load(s->cfg->records_path, &r, &e) == 0) {
                        records_free(s->rec);
                        s->rec = r;
                }
        }
        idle_check(s);
}

/* ---- local answers ------------------------------------------------------------------- */

struct local {
        enum dns_pkt_rcode rcode;
        const in_addr_t *ips; /* A answers, sent for A and ANY queries */
        size_t n_ips;
        in_addr_t one;
        const char *ptr;
};

/* "d.c.b.a.in-addr.arpa" (lowercase) to a.b.c.d; strict decimal octets. */
static bool reverse_ip(const char *key, size_t len, in_addr_t *ret)
{
        static const char suffix[] = ".in-addr.arpa";
        const size_t sl = sizeof(suffix) - 1;
        const char *p = key, *end = key + len - sl;
        uint8_t oct[4];

        if (len <= sl || memcmp(end, suffix, sl))
                return false;
        for (int i = 3; i >= 0; i--) {
                const char *start = p;
                unsigned v = 0;
                while (p < end && *p >= '0' && *p <= '9' && p - start < 3)
                        v = v * 10 + (unsigned)(*p++ - '0');
                if (p == start || v > 255 || (p - start > 1 && *start == '0'))
                        return false;
                oct[i] = (uint8_t)v;
                if (i > 0 && (p >= end || *p++ != '.'))
                        return false;
        }
        if (p != end)
                return false;
        memcpy(ret, oct, sizeof(oct));
        return true;
}

/* "n.n....n.ip6.arpa" (32 nibbles, least significant first, lowercase) to the address. */
static bool reverse_ip6(const char *key, size_t len, struct in6_addr *ret)
{
        static const char suffix[] = ".ip6.arpa";
        const size_t sl = sizeof(suffix) - 1;

        if (len != 64 + sl - 1 || memcmp(key + len - sl, suffix, sl))
                return false;
        memset(ret, 0, sizeof(*ret));
        for (int i = 0; i < 32; i++) {
                char c = key[2 * i];
                int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (v < 0 || (i < 31 && key[2 * i + 1] != '.'))
                        return false;
                /* Nibble i counts from the end of the address. */
                ret->s6_addr[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
        }
        return true;
}

/* The name a dual-stack container's IPv6 address answers a PTR with (its IPv4 one's). */
static const char *records_ptr6(const struct records *r, const struct in6_addr *a)
{
        for (size_t i = 0; i < r->n_v6; i++)
                if (!memcmp(&r->v6[i].ip6, a, sizeof(*a)))
                        return records_ptr(r, r->v6[i].ip);
        return NULL;
}

/* Strips ".<domain>"; returns the length of what is left, 0 when key is not below domain. */
static size_t below_domain(const struct records *r, const char *key, size_t len)
{
        size_t dl = r->domain_len;

        if (!dl || len <= dl + 1 || key[len - dl - 1] != '.' ||
            memcmp(key + len - dl, r->domain, dl))
                return 0;
        return len - dl - 1;
}

/* Decides whether q is ours to answer (true, *ret filled) or goes upstream (false). */
static bool resolve_local(const struct records *r, const struct dns_pkt_query *q, in_addr_t client,
                          struct local *ret)
{
        char key[KEY_MAX];
        int n = make_key(q->qname, strlen(q->qname), key);
        size_t len = n > 0 ? (size_t)n : 0, short_len = below_domain(r, key, len);
        const struct rec_name *e = NULL;
        struct in6_addr ip6;
        in_addr_t ip;
        bool member;

        *ret = (struct local){.rcode = DNS_PKT_RCODE_NOERROR};
        if (n < 0 || (q->qclass != DNS_PKT_CLASS_IN && q->qclass != DNS_PKT_CLASS_ANY))
                return false;
        if (len == r->domain_len && !memcmp(key, r->domain, len))
                return true; /* the apex has no records of its own */
        if (short_len == 4 && !memcmp(key, "host", 4) && r->has_gateway) {
                ret->one = r->gateway.s_addr;
                ret->ips = &ret->one;
                ret->n_ips = 1;
                return true;
        }
        /* Names are scoped by network: a client that is not on this network (nor the host,
         * which asks from the gateway or a loopback address) sees none of its containers. */
        member = client == r->gateway.s_addr || (ntohl(client) >> 24) == 127 ||
                 records_ptr(r, client) != NULL;
        e = records_find(r, key, len, client, member);
        if (!e && short_len)
                e = records_find(r, key, short_len, client, member);
        if (e) {
                ret->ips = r->ips + e->ips;
                ret->n_ips = e->n_ips;
                return true;
        }
        if (q->qtype == DNS_PKT_TYPE_PTR && reverse_ip(key, len, &ip) &&
            (ret->ptr = records_ptr(r, ip)))
                return true;
        if (q->qtype == DNS_PKT_TYPE_PTR && reverse_ip6(key, len, &ip6) &&
            (ret->ptr = records_ptr6(r, &ip6)))
                return true;
        if (short_len) {
                ret->rcode = DNS_PKT_RCODE_NXDOMAIN;
                return true;
        }
        return false;
}

/* Container names change at any moment: never let a client cache them. */
#define LOCAL_TTL 0

static const struct in6_addr *v6_of(const struct records *r, in_addr_t ip)
{
        for (size_t i = 0; r && i < r->n_v6; i++)
                if (r->v6[i].ip == ip)
                        return &r->v6[i].ip6;
        return NULL;
}

static size_t reply_local(const struct records *r, const uint8_t *msg,
                          const struct dns_pkt_query *q, const struct local *l, uint8_t *out,
                          size_t limit)
{
        struct dns_pkt_writer w;
        bool want_a = q->qtype == DNS_PKT_TYPE_A || q->qtype == DNS_PKT_TYPE_ANY;
        bool want_aaaa = q->qtype == DNS_PKT_TYPE_AAAA || q->qtype == DNS_PKT_TYPE_ANY;

        if (dns_pkt_writer_init(&w, out, limit, msg, q, l->rcode, true) < 0)
                return 0;
        for (size_t i = 0; want_a && i < l->n_ips; i++)
                if (dns_pkt_writer_add_a(&w, LOCAL_TTL, (struct in_addr){l->ips[i]}) < 0)
                        break;
        for (size_t i = 0; want_aaaa && i < l->n_ips; i++) {
                const struct in6_addr *a6 = v6_of(r, l->ips[i]);
                if (a6 && dns_pkt_writer_add_aaaa(&w, LOCAL_TTL, a6) < 0)
                        break;
        }
        if (l->ptr)
                (void)dns_pkt_writer_add_ptr(&w, LOCAL_TTL, l->ptr);
        return dns_pkt_writer_finish(&w);
}

static size_t reply_rcode(const uint8_t *msg, const struct dns_pkt_query *q,
                          enum dns_pkt_rcode rcode, uint8_t *out, size_t limit)
{
        struct dns_pkt_writer w;

        if (dns_pkt_writer_init(&w, out, limit, msg, q, rcode, false) < 0)
                return 0;
        return dns_pkt_writer_finish(&w);
}

static size_t reply_error(const uint8_t *msg, size_t len, int parse_error, uint8_t *out, size_t cap)
{
        enum dns_pkt_rcode rcode =
                parse_error == -EOPNOTSUPP ? DNS_PKT_RCODE_NOTIMP : DNS_PKT_RCODE_FORMERR;
        int n = dns_pkt_error_reply(msg, len, rcode, out, cap);

        return parse_error == -EPROTO || n < 0 ? 0 : (size_t)n;
}

static size_t forward_start(struct server *s, const uint8_t *msg, size_t len,
                            const struct dns_pkt_query *q, const struct client *cl, uint8_t *out,
                            size_t limit);

/* Answers one query into out (cap octets). Returns the reply length, or 0 when nothing is
 * sent now: dropped, or forwarded (the reply follows from the forward). */
static size_t answer(struct server *s, const uint8_t *msg, size_t len, const struct client *cl,
                     uint8_t *out, size_t cap)
{
        struct dns_pkt_query q;
        struct local l;
        size_t limit;
        int r;

        r = dns_pkt_parse_query(msg, len, &q);
        if (r < 0)
                return reply_error(msg, len, r, out, cap);
        limit = cl->tcp ? cap : dns_pkt_udp_limit(&q);
        if (limit > cap)
                limit = cap;
        if (q.edns && q.edns_version != 0)
                return reply_rcode(msg, &q, DNS_PKT_RCODE_BADVERS, out, limit);
        if (resolve_local(s->rec, &q, cl->addr.sin_addr.s_addr, &l))
                return reply_local(s->rec, msg, &q, &l, out, limit);
        return forward_start(s, msg, len, &q, cl, out, limit);
}

/* ---- TCP connections ----------------------------------------------------------------- */

static int conn_watch(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];
        uint32_t events = (c->eof ? 0 : EPOLLIN) | (c->wlen ? EPOLLOUT : 0);
        struct epoll_event ev = {.events = events,
                                 .data.u64 = ev_data(EV_CONN, 0, c->gen, idx - 1)};

        if (events == c->events)
                return 0;
        if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                return -errno;
        c->events = events;
        return 0;
}

static void conn_close(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];

        close(c->fd);
        free(c->rbuf);
        free(c->wbuf);
        fifo_unlink(CONN_FIFO(s), idx);
        *c = (struct conn){.gen = c->gen + 1, .fd = -1, .link.next = s->conn_free};
        s->conn_free = idx;
        s->n_conns--;
}

/* Closes a connection that failed, or that the client half-closed and that owes no more
 * replies; never while its own input is being processed. */
static void conn_maybe_close(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];

        if (c->busy)
                return;
        if (c->broken || (c->eof && !c->pending && !c->wlen))
                conn_close(s, idx);
}

static void conn_touch(struct server *s, uint32_t idx)
{
        s->conns[idx - 1].last = s->now;
        fifo_unlink(CONN_FIFO(s), idx);
        fifo_push(CONN_FIFO(s), idx);
}

static void conn_queue(struct conn *c, const uint8_t *data, size_t len)
{
        if (c->wlen + len > TCP_WBUF_MAX ||
            grow((void **)&c->wbuf, &c->wcap, c->wlen + len, 1) < 0) {
                c->broken = true;
                return;
        }
        memcpy(c->wbuf + c->wlen, data, len);
        c->wlen += len;
}

/* Sends one message with its length prefix, queueing what the socket does not take. */
static void conn_send(struct server *s, uint32_t idx, const uint8_t *msg, size_t len)
{
        struct conn *c = &s->conns[idx - 1];
        uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        struct iovec iov[2] = {{prefix, 2}, {(void *)msg, len}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n = 0;

        if (c->broken)
                return;
        if (!c->wlen) {
                n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        c->broken = true;
                        return;
                }
                n = n < 0 ? 0 : n;
        }
        if ((size_t)n < 2)
                conn_queue(c, prefix + n, 2 - (size_t)n);
        if ((size_t)n < len + 2)
                conn_queue(c, msg + ((size_t)n > 2 ? (size_t)n - 2 : 0),
                           len + 2 - ((size_t)n > 2 ? (size_t)n : 2));
        if (!c->broken && conn_watch(s, idx) < 0)
                c->broken = true;
}

static void conn_flush(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];
        ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        c->broken = true;
                return;
        }
        memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
        c->wlen -= (size_t)n;
        if (conn_watch(s, idx) < 0)
                c->broken = true;
}

static void conn_process(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];
        struct client cl = {.addr = c->peer, .tcp = true, .conn = idx, .conn_gen = c->gen};
        bool refreshed = false;
        size_t off = 0;

        c->busy = true;
        while (!c->broken && c->rlen - off >= 2) {
                size_t mlen = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1], n;
                if (mlen < DNS_PKT_HEADER_LEN) {
                        c->broken = true; /* not DNS: resynchronising is impossible */
                        break;
                }
                if (c->rlen - off - 2 < mlen)
                        break;
                if (!refreshed) {
                        records_refresh(s);
                        refreshed = true;
                }
                n = answer(s, c->rbuf + off + 2, mlen, &cl, s->big, sizeof(s->big));
                if (n)
                        conn_send(s, idx, s->big, n);
                off += 2 + mlen;
        }
        c->busy = false;
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
}

static void conn_read(struct server *s, uint32_t idx)
{
        struct conn *c = &s->conns[idx - 1];
        size_t need = c->rlen >= 2 ? 2 + ((size_t)c->rbuf[0] << 8 | c->rbuf[1]) : 2;
        ssize_t n;

        if (need < TCP_RBUF_INITIAL)
                need = TCP_RBUF_INITIAL;
        if (grow((void **)&c->rbuf, &c->rcap, need, 1) < 0) {
                c->broken = true;
                return;
        }
        n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        c->broken = true;
                return;
        }
        conn_touch(s, idx);
        if (n == 0) {
                c->eof = true;
                if (conn_watch(s, idx) < 0)
                        c->broken = true;
                return;
        }
        c->rlen += (size_t)n;
        conn_process(s, idx);
}

static void conn_event(struct server *s, uint32_t idx, uint32_t events)
{
        struct conn *c = &s->conns[idx - 1];

        if (events & (EPOLLERR | EPOLLHUP))
                c->broken = true;
        if (!c->broken && (events & EPOLLOUT))
                conn_flush(s, idx);
        if (!c->broken && (events & EPOLLIN))
                conn_read(s, idx);
        conn_maybe_close(s, idx);
}

static void tcp_accept_one(struct server *s, int fd, const struct sockaddr_in *peer)
{
        uint32_t idx;
        struct conn *c;
        struct epoll_event ev = {.events = EPOLLIN};

        if (s->n_conns >= s->max_conns)
                conn_close(s, s->conn_idle.head); /* the least recently active */
        idx = s->conn_free;
        c = &s->conns[idx - 1];
        s->conn_free = c->link.next;
        *c = (struct conn){.in_use = true,
                           .gen = c->gen,
                           .fd = fd,
                           .events = EPOLLIN,
                           .peer = *peer,
                           .last = s->now};
        ev.data.u64 = ev_data(EV_CONN, 0, c->gen, idx - 1);
        s->n_conns++;
        fifo_push(CONN_FIFO(s), idx);
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                conn_close(s, idx);
}

static void tcp_accept(struct server *s)
{
        for (int i = 0; i < 16; i++) {
                struct sockaddr_in peer;
                socklen_t plen = sizeof(peer);
                int fd = accept4(s->tcp_fd, (struct sockaddr *)&peer, &plen,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        struct epoll_event ev = {.events = 0,
                                                 .data.u64 = ev_data(EV_TCP_LISTEN, 0, 0, 0)};
                        /* Out of descriptors: the pending connection would wake us forever,
                         * so stop listening until the next tick. */
                        if ((errno == EMFILE || errno == ENFILE) &&
                            epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->tcp_fd, &ev) == 0)
                                s->accept_paused = true;
                        return;
                }
                if (plen != sizeof(peer) || peer.sin_family != AF_INET) {
                        close(fd);
                        continue;
                }
                tcp_accept_one(s, fd, &peer);
        }
}

static void conn_timeouts(struct server *s)
{
        while (s->conn_idle.head) {
                uint32_t idx = s->conn_idle.head;
                struct conn *c = &s->conns[idx - 1];
                if (c->last + (int64_t)s->tcp_idle_ms > s->now)
                        break;
                if (c->pending)
                        conn_touch(s, idx); /* waiting for upstream is not idleness */
                else
                        conn_close(s, idx);
        }
}

/* ---- forwarding ---------------------------------------------------------------------- */

static void fwd_release(struct server *s, uint32_t idx)
{
        struct fwd *f = &s->fwds[idx - 1];
        struct client cl = f->cl;

        for (unsigned t = 0; t < MAX_UPSTREAMS; t++)
                if (f->fds[t] >= 0)
                        close(f->fds[t]);
        free(f->query);
        fifo_unlink(FWD_FIFO(s), idx);
        *f = (struct fwd){.gen = f->gen + 1, .link.next = s->fwd_free};
        for (unsigned t = 0; t < MAX_UPSTREAMS; t++)
                f->fds[t] = -1;
        s->fwd_free = idx;
        if (cl.tcp && s->conns[cl.conn - 1].in_use && s->conns[cl.conn - 1].gen == cl.conn_gen) {
                s->conns[cl.conn - 1].pending--;
                conn_maybe_close(s, cl.conn);
        }
}

static void fwd_deliver(struct server *s, struct fwd *f, uint8_t *msg, size_t len)
{
        struct conn *c = f->cl.tcp ? &s->conns[f->cl.conn - 1] : NULL;
        int n;

        if (!c) {
                if (len > f->client_limit) {
                        n = dns_pkt_truncate(msg, len);
                        if (n < 0)
                                return;
                        len = (size_t)n;
                }
                (void)sendto(s->udp_fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&f->cl.addr,
                             sizeof(f->cl.addr));
        } else if (c->in_use && c->gen == f->cl.conn_gen) {
                conn_send(s, f->cl.conn, msg, len);
        }
}

static void fwd_fail(struct server *s, uint32_t idx)
{
        struct fwd *f = &s->fwds[idx - 1];
        struct dns_pkt_query q;
        /* Header, question (<= 255 + 4) and OPT always fit. */
        uint8_t out[DNS_PKT_UDP_MIN];
        size_t n = 0;

        f->query[0] = (uint8_t)(f->client_id >> 8);
        f->query[1] = (uint8_t)f->client_id;
        if (dns_pkt_parse_query(f->query, f->qlen, &q) == 0)
                n = reply_rcode(f->query, &q, DNS_PKT_RCODE_SERVFAIL, out, sizeof(out));
        if (n)
                fwd_deliver(s, f, out, n);
        fwd_release(s, idx);
}

static int fwd_send(struct server *s, uint32_t idx, unsigned t)
{
        struct fwd *f = &s->fwds[idx - 1];
        const struct upstream *up = &f->up[t];
        struct epoll_event ev = {.events = EPOLLIN,
                                 .data.u64 = ev_data(EV_FWD, t, f->gen, idx - 1)};
        _cleanup_close_ int fd = -1;
        uint16_t id = random_id(s);

        /* A connected socket per try: a fresh random source port, and the kernel drops
         * datagrams from anyone but that upstream. */
        fd = socket(up->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, &up->addr.sa, up->len) < 0)
                return -errno;
        f->query[0] = (uint8_t)(id >> 8);
        f->query[1] = (uint8_t)id;
        if (send(fd, f->query, f->qlen, MSG_DONTWAIT) < 0)
                return -errno;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        f->fds[t] = TAKE_FD(fd);
        f->ids[t] = id;
        f->live++;
        return 0;
}

/* Tries the next upstream; fails the forward when none is left and no try is still open. */
static void fwd_next_try(struct server *s, uint32_t idx)
{
        struct fwd *f = &s->fwds[idx - 1];

        while (f->tries < f->n_up) {
                if (fwd_send(s, idx, f->tries++) == 0) {
                        f->deadline = s->now + s->fwd_timeout_ms;
                        fifo_unlink(FWD_FIFO(s), idx);
                        fifo_push(FWD_FIFO(s), idx);
                        return;
                }
        }
        if (!f->live)
                fwd_fail(s, idx);
}

static size_t forward_start(struct server *s, const uint8_t *msg, size_t len,
                            const struct dns_pkt_query *q, const struct client *cl, uint8_t *out,
                            size_t limit)
{
        struct conn *c = cl->tcp ? &s->conns[cl->conn - 1] : NULL;
        uint32_t idx = s->fwd_free;
        struct fwd *f;
        uint8_t *copy;

        if (!s->rec->n_upstreams || !idx || (c && c->pending >= TCP_MAX_PENDING) ||
            !(copy = malloc(len)))
                return reply_rcode(msg, q, DNS_PKT_RCODE_SERVFAIL, out, limit);
        memcpy(copy, msg, len);
        f = &s->fwds[idx - 1];
        s->fwd_free = f->link.next;
        f->link.next = 0;
        f->in_use = true;
        f->n_up = (unsigned)s->rec->n_upstreams;
        memcpy(f->up, s->rec->upstreams, sizeof(f->up));
        f->cl = *cl;
        f->client_limit = cl->tcp ? DNS_PKT_MAX : q->edns ? q->edns_udp_size : DNS_PKT_UDP_MIN;
        f->client_id = q->id;
        f->query = copy;
        f->qlen = len;
        f->deadline = s->now + s->fwd_timeout_ms;
        fifo_push(FWD_FIFO(s), idx);
        if (c)
                c->pending++;
        fwd_next_try(s, idx);
        return 0;
}

static bool from_upstream(const struct upstream *up, const union sockaddr_any *from, socklen_t len)
{
        if (len != up->len || from->sa.sa_family != up->addr.sa.sa_family)
                return false;
        if (from->sa.sa_family == AF_INET)
                return from->in.sin_port == up->addr.in.sin_port &&
                       from->in.sin_addr.s_addr == up->addr.in.sin_addr.s_addr;
        return from->in6.sin6_port == up->addr.in6.sin6_port &&
               !memcmp(&from->in6.sin6_addr, &up->addr.in6.sin6_addr, sizeof(struct in6_addr));
}

static void fwd_close_try(struct fwd *f, unsigned t)
{
        close(f->fds[t]);
        f->fds[t] = -1;
        f->live--;
}

static void fwd_event(struct server *s, uint32_t idx, unsigned t)
{
        struct fwd *f = &s->fwds[idx - 1];
        union sockaddr_any from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(f->fds[t], s->big, sizeof(s->big), MSG_DONTWAIT, &from.sa, &flen);
        uint8_t rcode;

        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                /* ICMP unreachable and the like: move on at once instead of waiting. */
                fwd_close_try(f, t);
                if (!f->live || t + 1 == f->tries)
                        fwd_next_try(s, idx);
                return;
        }
        if (!from_upstream(&f->up[t], &from, flen) || n < DNS_PKT_HEADER_LEN ||
            !(s->big[2] & (DNS_PKT_FLAG_QR >> 8)) ||
            ((uint16_t)(s->big[0] << 8 | s->big[1])) != f->ids[t] ||
            !dns_pkt_same_question(f->query, f->qlen, s->big, (size_t)n))
                return; /* not the answer to what we sent: keep waiting */
        rcode = s->big[3] & 0xf;
        if ((rcode == DNS_PKT_RCODE_SERVFAIL || rcode == DNS_PKT_RCODE_REFUSED) &&
            f->tries < f->n_up) {
                fwd_close_try(f, t);
                fwd_next_try(s, idx);
                return;
        }
        s->big[0] = (uint8_t)(f->client_id >> 8);
        s->big[1] = (uint8_t)f->client_id;
        fwd_deliver(s, f, s->big, (size_t)n);
        fwd_release(s, idx);
}

static void fwd_timeouts(struct server *s)
{
        while (s->fwd_timeouts.head) {
                uint32_t idx = s->fwd_timeouts.head;
                struct fwd *f = &s->fwds[idx - 1];
                if (f->deadline > s->now)
                        break;
                if (f->tries < f->n_up)
                        fwd_next_try(s, idx);
                else
                        fwd_fail(s, idx);
                /* fwd_next_try may leave it at the head when every remaining upstream failed
                 * to send but an earlier try is open; the next pass fails it. */
        }
}

/* ---- UDP ----------------------------------------------------------------------------- */

static void udp_send_batch(struct server *s, unsigned n)
{
        unsigned done = 0;

        while (done < n) {
                int r = sendmmsg(s->udp_fd, s->tx + done, n - done, MSG_DONTWAIT);
                if (r < 0 && errno == EINTR)
                        continue;
                /* A full socket buffer or a bad destination loses that reply, as UDP may. */
                done += r > 0 ? (unsigned)r : 1;
        }
}

static void udp_batch(struct server *s)
{
        unsigned out = 0;
        int n;

        for (unsigned i = 0; i < UDP_BATCH; i++) {
                s->rx[i].msg_hdr.msg_namelen = sizeof(s->rx_addr[i]);
                s->rx[i].msg_hdr.msg_flags = 0;
        }
        n = recvmmsg(s->udp_fd, s->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return;
        records_refresh(s);
        for (int i = 0; i < n; i++) {
                const struct msghdr *h = &s->rx[i].msg_hdr;
                struct client cl = {.addr = s->rx_addr[i]};
                size_t len;

                if (h->msg_namelen != sizeof(struct sockaddr_in) || cl.addr.sin_port == 0)
                        continue;
                if (h->msg_flags & MSG_TRUNC)
                        len = reply_error(s->rx_buf[i], s->rx[i].msg_len, -EBADMSG, s->tx_buf[out],
                                          DNS_PKT_EDNS_SIZE);
                else
                        len = answer(s, s->rx_buf[i], s->rx[i].msg_len, &cl, s->tx_buf[out],
                                     DNS_PKT_EDNS_SIZE);
                if (!len)
                        continue;
                s->tx_iov[out].iov_len = len;
                s->tx[out].msg_hdr.msg_name = &s->rx_addr[i];
                s->tx[out].msg_hdr.msg_namelen = sizeof(s->rx_addr[i]);
                out++;
        }
        udp_send_batch(s, out);
}

/* ---- setup and loop ------------------------------------------------------------------ */

static void server_free(struct server *s)
{
        if (!s)
                return;
        for (uint32_t i = 1; s->fwds && i <= s->max_fwds; i++)
                if (s->fwds[i - 1].in_use)
                        fwd_release(s, i);
        for (uint32_t i = 1; s->conns && i <= s->max_conns; i++)
                if (s->conns[i - 1].in_use)
                        conn_close(s, i);
        free(s->fwds);
        free(s->conns);
        records_free(s->rec);
        if (s->udp_fd >= 0)
                close(s->udp_fd);
        if (s->tcp_fd >= 0)
                close(s->tcp_fd);
        if (s->epfd >= 0)
                close(s->epfd);
        free(s);
}

static void server_freep(struct server **s)
{
        server_free(*s);
}

static void setup_udp_batch(struct server *s)
{
        for (unsigned i = 0; i < UDP_BATCH; i++) {
                s->rx_iov[i] = (struct iovec){s->rx_buf[i], sizeof(s->rx_buf[i])};
                s->rx[i].msg_hdr = (struct msghdr){
                        .msg_name = &s->rx_addr[i], .msg_iov = &s->rx_iov[i], .msg_iovlen = 1};
                s->tx_iov[i] = (struct iovec){s->tx_buf[i], 0};
                s->tx[i].msg_hdr = (struct msghdr){.msg_iov = &s->tx_iov[i], .msg_iovlen = 1};
        }
}

static int server_new(const struct dns_server_config *cfg, struct server **ret, struct err *err)
{
        _cleanup_(server_freep) struct server *s = calloc(1, sizeof(*s));

        if (!s)
                return err_set(err, -ENOMEM, "allocating the DNS server");
        s->cfg = cfg;
        s->epfd = s->udp_fd = s->tcp_fd = -1;
        s->fwd_timeout_ms = cfg->forward_timeout_ms ?: DEFAULT_FWD_TIMEOUT_MS;
        s->max_fwds = cfg->max_forwards ?: DEFAULT_MAX_FORWARDS;
        s->max_conns = cfg->max_tcp_conns ?: DEFAULT_MAX_TCP;
        s->tcp_idle_ms = cfg->tcp_idle_ms ?: DEFAULT_TCP_IDLE_MS;
        s->outcome = -1;
        s->empty_since = -1;
        s->now = now_ms();
        s->fwds = calloc(s->max_fwds, sizeof(*s->fwds));
        s->conns = calloc(s->max_conns, sizeof(*s->conns));
        if (!s->fwds || !s->conns)
                return err_set(err, -ENOMEM, "allocating the DNS server");
        for (uint32_t i = s->max_fwds; i > 0; i--) {
                for (unsigned t = 0; t < MAX_UPSTREAMS; t++)
                        s->fwds[i - 1].fds[t] = -1;
                s->fwds[i - 1].link.next = s->fwd_free;
                s->fwd_free = i;
        }
        for (uint32_t i = s->max_conns; i > 0; i--) {
                s->conns[i - 1] = (struct conn){.fd = -1, .link.next = s->conn_free};
                s->conn_free = i;
        }
        setup_udp_batch(s);
        *ret = TAKE_PTR(s);
        return 0;
}

static int open_listener(const struct dns_server_config *cfg, int type, struct err *err)
{
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(cfg->port ?: DEFAULT_PORT),
                                 .sin_addr = cfg->listen_addr};
        const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
        char addr[INET_ADDRSTRLEN] = "?";
        _cleanup_close_ int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1, rcvbuf = UDP_RCVBUF;

        inet_ntop(AF_INET, &cfg->listen_addr, addr, sizeof(addr));
        if (fd < 0)
                return err_errno(err, "creating the DNS %s socket", proto);
        if (type == SOCK_STREAM)
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        else
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_errno(err, "binding DNS to %s:%u/%s", addr, ntohs(sa.sin_port), proto);
        if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0)
                return err_errno(err, "listening on %s:%u/tcp", addr, ntohs(sa.sin_port));
        return TAKE_FD(fd);
}

static int watch(struct server *s, int fd, enum ev_kind kind, struct err *err)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(kind, 0, 0, 0)};

        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return err_errno(err, "watching DNS socket");
        return 0;
}

static int server_listen(struct server *s, struct err *err)
{
        const struct dns_server_config *cfg = s->cfg;
        int r;

        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epfd < 0)
                return err_errno(err, "creating epoll instance");
        r = s->udp_fd = open_listener(cfg, SOCK_DGRAM, err);
        if (r < 0)
                return r;
        r = s->tcp_fd = open_listener(cfg, SOCK_STREAM, err);
        if (r < 0)
                return r;
        if ((r = watch(s, s->udp_fd, EV_UDP, err)) < 0 ||
            (r = watch(s, s->tcp_fd, EV_TCP_LISTEN, err)) < 0)
                return r;
        if (cfg->stop_fd >= 0 && (r = watch(s, cfg->stop_fd, EV_STOP, err)) < 0)
                return r;
        return 0;
}

static int next_timeout(const struct server *s)
{
        int64_t t = s->last_stat + TICK_MS;

        if (s->fwd_timeouts.head && s->fwds[s->fwd_timeouts.head - 1].deadline < t)
                t = s->fwds[s->fwd_timeouts.head - 1].deadline;
        if (s->conn_idle.head && s->conns[s->conn_idle.head - 1].last + s->tcp_idle_ms < t)
                t = s->conns[s->conn_idle.head - 1].last + s->tcp_idle_ms;
        t -= s->now;
        return t < 0 ? 0 : t > TICK_MS ? TICK_MS : (int)t;
}

static void dispatch(struct server *s, uint64_t data, uint32_t events)
{
        enum ev_kind kind = (enum ev_kind)(data >> 60);
        unsigned t = (unsigned)(data >> 56) & 0xf;
        uint32_t gen = (uint32_t)(data >> 32) & 0xffffff, slot = (uint32_t)data;

        switch (kind) {
        case EV_STOP:
                s->outcome = DNS_SERVER_STOPPED;
                break;
        case EV_UDP:
                udp_batch(s);
                break;
        case EV_TCP_LISTEN:
                tcp_accept(s);
                break;
        case EV_CONN:
                /* Events for a slot closed and reused earlier in this batch are stale. */
                if (s->conns[slot].in_use && (s->conns[slot].gen & 0xffffff) == gen)
                        conn_event(s, slot + 1, events);
                break;
        case EV_FWD:
                if (s->fwds[slot].in_use && (s->fwds[slot].gen & 0xffffff) == gen &&
                    s->fwds[slot].fds[t] >= 0)
                        fwd_event(s, slot + 1, t);
                break;
        }
}

static void tick(struct server *s)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(EV_TCP_LISTEN, 0, 0, 0)};

        fwd_timeouts(s);
        conn_timeouts(s);
        if (s->accept_paused && epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->tcp_fd, &ev) == 0)
                s->accept_paused = false;
        if (s->now - s->last_stat >= TICK_MS)
                records_refresh(s);
}

static int server_loop(struct server *s, struct err *err)
{
        struct epoll_event events[EPOLL_EVENTS];

        while (s->outcome < 0) {
                int n = epoll_wait(s->epfd, events, EPOLL_EVENTS, next_timeout(s));
                if (n < 0 && errno != EINTR)
                        return err_errno(err, "waiting for DNS traffic");
                s->now = now_ms();
                for (int i = 0; i < n && s->outcome < 0; i++)
                        dispatch(s, events[i].data.u64, events[i].events);
                if (s->outcome < 0)
                        tick(s);
        }
        return s->outcome;
}

int dns_server_run(const struct dns_server_config *cfg, struct err *err)
{
        _cleanup_(server_freep) struct server *s = NULL;
        int r;

        r = server_new(cfg, &s, err);
        if (r < 0)
                return r;
        if (stat(cfg->records_path, &s->rec_st) < 0)
                return err_errno(err, "records file %s", cfg->records_path);
        r = records_load(cfg->records_path, &s->rec, err);
        if (r < 0)
                return err_wrap(err, "starting DNS server");
        s->last_stat = s->now;
        idle_check(s);
        r = server_listen(s, err);
        if (r < 0)
                return r;
        if (cfg->ready_fd >= 0 && (r = fs_write_all(cfg->ready_fd, "1", 1)) < 0)
                return err_set(err, r, "signalling DNS server readiness");
        return server_loop(s, err);
}
