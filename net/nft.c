#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "net/ipam.h"
#include "net/nft.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "core/base/cleanup.h"

#define TABLE      "hawser"
#define TABLE_DESC "nftables table ip %s"
#define FAMILY     NFPROTO_IPV4
#define TAG_FIXED  "hawser:fixed"
#define TAG_NET    "hawser:net:"
#define TAG_MAX    (sizeof(TAG_NET) + IFNAMSIZ)

/* nftables' datatype ids (nftables src/datatype.h). A concatenation is announced to the
 * kernel as (a << TYPE_BITS) | b; `nft list` decodes it to print the keys. */
#define TYPE_BITS          6
#define TYPE_IPADDR        7
#define TYPE_IP6ADDR       8
#define TYPE_INET_PROTOCOL 12
#define TYPE_INET_SERVICE  13
#define CONCAT2(a, b)      (((a) << TYPE_BITS) | (b))

/* Registers: every concatenation component takes a whole 32-bit register. */
#define REG0 NFT_REG32_00
#define REG1 NFT_REG32_01
#define REG2 NFT_REG32_02

/* netlink_dump() grows its skbs up to 32 KiB when the reader offers that much room; a
 * smaller buffer would truncate them. */
#define NL_RECV_SIZE 32768
/* Room reserved for one batch message. The biggest is a chunk of ELEMS_PER_MSG map
 * elements (about 48 bytes each); rules stay under 2 KiB. */
#define MSG_RESERVE   32768
#define ELEMS_PER_MSG 512
/* The kernel refuses a netlink message longer than the socket's send buffer (default
 * wmem_default, about 208 KiB); bigger batches raise it first. */
#define SNDBUF_DEFAULT (200 * 1024)
/* A retry means another process committed between our read and our batch (ERESTART from
 * the generation check) or during our dump (EINTR). Retries back off exponentially with
 * random jitter (from BACKOFF_MIN_US, doubling up to BACKOFF_MAX_US) so that racing
 * writers spread out instead of colliding in lockstep. The bound is time, not attempts:
 * a writer that keeps losing to a burst of others still gets PLAN_BUDGET_MS to win. */
#define BACKOFF_MIN_US 200
#define BACKOFF_MAX_US 20000
#define PLAN_BUDGET_MS 5000
/* Kernel extack messages are short literals (NL_SET_ERR_MSG); cap them so they cannot
 * crowd our own context out of ERR_MSG_MAX. */
#define EXT_MSG_MAX 160

enum chain_id { CH_PREROUTING, CH_OUTPUT, CH_POSTROUTING, CH_FORWARD, CH_INPUT, CH_COUNT };

static const struct chain_def {
        const char *name, *type;
        uint32_t hook;
        int32_t prio;
} chains[CH_COUNT] = {
        [CH_PREROUTING] = {"prerouting", "nat", NF_INET_PRE_ROUTING, -100},
        [CH_OUTPUT] = {"output", "nat", NF_INET_LOCAL_OUT, -100},
        [CH_POSTROUTING] = {"postrouting", "nat", NF_INET_POST_ROUTING, 100},
        [CH_FORWARD] = {"forward", "filter", NF_INET_FORWARD, 0},
        [CH_INPUT] = {"input", "filter", NF_INET_LOCAL_IN, 0},
};

enum map_id { MAP_ANY, MAP_IP, MAP_COUNT };

/* The same two maps in both tables; maps[v6][id]. */
static const struct map_def {
        const char *name;
        uint32_t key_type, key_len, data_type, data_len;
} maps[2][MAP_COUNT] = {
        {
                [MAP_ANY] = {"dnat_any", CONCAT2(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 8,
                             CONCAT2(TYPE_IPADDR, TYPE_INET_SERVICE), 8},
                [MAP_IP] = {"dnat_ip",
                            CONCAT2(CONCAT2(TYPE_IPADDR, TYPE_INET_PROTOCOL), TYPE_INET_SERVICE),
                            12, CONCAT2(TYPE_IPADDR, TYPE_INET_SERVICE), 8},
        },
        {
                [MAP_ANY] = {"dnat_any", CONCAT2(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 8,
                             CONCAT2(TYPE_IP6ADDR, TYPE_INET_SERVICE), 20},
                [MAP_IP] = {"dnat_ip",
                            CONCAT2(CONCAT2(TYPE_IP6ADDR, TYPE_INET_PROTOCOL), TYPE_INET_SERVICE),
                            24, CONCAT2(TYPE_IP6ADDR, TYPE_INET_SERVICE), 20},
        },
};
#define MAP_KEY_MAX  24
#define MAP_DATA_MAX 20

enum match {
        M_NONE,
        M_FIB_DADDR_LOCAL,
        M_FIB_SADDR_LOCAL,
        M_CT_ESTABLISHED,
        M_CT_DNAT,
        M_IIF,
        M_OIF,
        M_NOT_OIF,
        M_SADDR_SUBNET,
        M_SADDR_HAIRPIN,  /* { 127.0.0.0/8, subnet } */
        M_DADDR_LOOPBACK, /* 127.0.0.0/8 */
};
enum action { A_ACCEPT, A_DROP, A_MASQ, A_DNAT_IP, A_DNAT_ANY };
enum when { W_ALWAYS, W_EXTERNAL, W_MASQ, W_INTERNAL, W_ICC, W_NO_ICC };
enum place { P_APPEND, P_AFTER_ANCHOR };

struct rule_def {
        enum chain_id chain;
        enum place place;
        enum when when;
        enum match match[3];
        enum action action;
};

/* The last forward rule here is the anchor that per-network rules are placed after. */
static const struct rule_def fixed_rules[] = {
        {CH_PREROUTING, P_APPEND, W_ALWAYS, {M_FIB_DADDR_LOCAL}, A_DNAT_IP},
        {CH_PREROUTING, P_APPEND, W_ALWAYS, {M_FIB_DADDR_LOCAL}, A_DNAT_ANY},
        {CH_OUTPUT, P_APPEND, W_ALWAYS, {M_FIB_DADDR_LOCAL}, A_DNAT_IP},
        {CH_OUTPUT, P_APPEND, W_ALWAYS, {M_FIB_DADDR_LOCAL}, A_DNAT_ANY},
        {CH_FORWARD, P_APPEND, W_ALWAYS, {M_CT_ESTABLISHED}, A_ACCEPT},
        {CH_FORWARD, P_APPEND, W_ALWAYS, {M_CT_DNAT}, A_ACCEPT},
};

/* "Into the bridge" rules go right after the anchor, so every network's drop precedes
 * every network's "out of the bridge" accept: that is what isolates networks from each
 * other whatever order they were added in. */
static const struct rule_def net_rules[] = {
        {CH_POSTROUTING, P_APPEND, W_MASQ, {M_SADDR_SUBNET, M_NOT_OIF}, A_MASQ},
        {CH_POSTROUTING, P_APPEND, W_ALWAYS, {M_CT_DNAT, M_OIF, M_SADDR_HAIRPIN}, A_MASQ},
        {CH_POSTROUTING, P_APPEND, W_ALWAYS, {M_CT_DNAT, M_OIF, M_FIB_SADDR_LOCAL}, A_MASQ},
        {CH_FORWARD, P_AFTER_ANCHOR, W_ICC, {M_IIF, M_OIF}, A_ACCEPT},
        {CH_FORWARD, P_AFTER_ANCHOR, W_NO_ICC, {M_IIF, M_OIF}, A_DROP},
        {CH_FORWARD, P_AFTER_ANCHOR, W_ALWAYS, {M_OIF}, A_DROP},
        {CH_FORWARD, P_APPEND, W_EXTERNAL, {M_IIF, M_NOT_OIF}, A_ACCEPT},
        {CH_FORWARD, P_APPEND, W_INTERNAL, {M_IIF, M_NOT_OIF}, A_DROP},
        /* route_localnet (needed to publish on 127.0.0.1) lets a bridge deliver packets
         * addressed to host loopback: only replies of published ports and of connections
         * the host opened may come in that way (CVE-2020-8558, Kubernetes' rule). */
        {CH_INPUT, P_APPEND, W_ALWAYS, {M_IIF, M_DADDR_LOOPBACK, M_CT_DNAT}, A_ACCEPT},
        {CH_INPUT, P_APPEND, W_ALWAYS, {M_IIF, M_DADDR_LOOPBACK, M_CT_ESTABLISHED}, A_ACCEPT},
        {CH_INPUT, P_APPEND, W_ALWAYS, {M_IIF, M_DADDR_LOOPBACK}, A_DROP},
};

static const struct proto_name {
        uint8_t proto;
        const char *name;
} protos[] = {
        {IPPROTO_TCP, "tcp"},
        {IPPROTO_UDP, "udp"},
        {IPPROTO_SCTP, "sctp"},
};

/* ---- libnftnl object cleanup ---- */

static void table_freep(struct nftnl_table **p)
{
        if (*p)
                nftnl_table_free(*p);
}
static void chain_freep(struct nftnl_chain **p)
{
        if (*p)
                nftnl_chain_free(*p);
}
static void rule_freep(struct nftnl_rule **p)
{
        if (*p)
                nftnl_rule_free(*p);
}
static void set_freep(struct nftnl_set **p)
{
        if (*p)
                nftnl_set_free(*p);
}
static void udata_freep(struct nftnl_udata_buf **p)
{
        if (*p)
                nftnl_udata_buf_free(*p);
}

/* ---- netlink socket and kernel replies ---- */

struct nl {
        const char *table; /* the ip (and ip6) table's name */
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
};

static void nl_closep(struct nl *nl)
{
        if (nl->sock)
                mnl_socket_close(nl->sock);
}
#define _cleanup_nl_ _cleanup_(nl_closep)

/* One kernel answer: the errno and what extended ACK said about it. */
struct nl_ack {
        int code;
        uint32_t offs; /* NLMSGERR_ATTR_OFFS into the failing message, UINT32_MAX if none */
        char msg[EXT_MSG_MAX];
};

static int nl_open(struct nl *nl, const char *table, struct err *err)
{
        int one = 1;

        nl->table = table;
        nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl->sock)
                return err_errno(err, "opening a netfilter netlink socket");
        /* CAP_ACK: errors would otherwise echo whole batch messages back at us. */
        if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
            mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
                return err_errno(err, "enabling extended netlink ACKs");
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return err_errno(err, "binding a netfilter netlink socket");
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = 1;
        return 0;
}

static void parse_ack(const struct nlmsghdr *nlh, struct nl_ack *ack)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;
        size_t off = sizeof(*e);

        ack->offs = UINT32_MAX;
        ack->msg[0] = '\0';
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
                ack->code = -EBADMSG;
                return;
        }
        ack->code = e->error;
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (off > mnl_nlmsg_get_payload_len(nlh))
                return;
        mnl_attr_for_each(a, nlh, off)
        {
                if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
                        snprintf(ack->msg, sizeof(ack->msg), "%.*s",
                                 (int)strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a)),
                                 (const char *)mnl_attr_get_payload(a));
                else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS &&
                         mnl_attr_get_payload_len(a) >= sizeof(uint32_t))
                        ack->offs = mnl_attr_get_u32(a);
        }
}

/* "<ctx>: <strerror>[: <kernel message>]" */
static int ack_err(struct err *err, const struct nl_ack *ack, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int ack_err(struct err *err, const struct nl_ack *ack, const char *fmt, ...)
{
        char ctx[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        return err_set(err, ack->code, "%s: %s%s%s", ctx, strerror(-ack->code),
                       ack->msg[0] ? ": " : "", ack->msg);
}

static ssize_t nl_recv(struct nl *nl, void *buf, size_t len, int flags)
{
        ssize_t n;

        do
                n = recv(mnl_socket_get_fd(nl->sock), buf, len, flags);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n;
}

struct talk {
        mnl_cb_t cb;
        void *data;
        int cb_r;
        bool interrupted;
};

/* Handles one received buffer; 1 = keep reading, 0 = done, < 0 = kernel error in ack. */
static int talk_parse(struct talk *t, const char *buf, int len, uint32_t seq, struct nl_ack *ack)
{
        for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
                if (nlh->nlmsg_seq != seq)
                        continue;
                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                        t->interrupted = true;
                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        parse_ack(nlh, ack);
                        return ack->code;
                }
                if (nlh->nlmsg_type == NLMSG_DONE) {
                        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
                                ack->code = *(const int *)mnl_nlmsg_get_payload(nlh);
                        return ack->code < 0 ? ack->code : 0;
                }
                /* After a callback failure keep draining, so the socket stays usable. */
                if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && t->cb_r == 0 &&
                    t->cb(nlh, t->data) < MNL_CB_OK)
                        t->cb_r = -ENOMEM;
        }
        return 1;
}

/* Sends a request (a dump, or a get with NLM_F_ACK) and feeds every reply to cb until
 * the kernel says done. Always drains the reply so the socket can be reused. -EINTR if
 * the ruleset changed during a dump; cb failures come back as -ENOMEM. */
static int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, struct nl_ack *ack)
{
        _cleanup_free_ char *buf = malloc(NL_RECV_SIZE);
        struct talk t = {.cb = cb, .data = data};
        int r;

        *ack = (struct nl_ack){.offs = UINT32_MAX};
        if (!buf)
                return ack->code = -ENOMEM;
        if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
                return ack->code = -errno;
        do {
                ssize_t len = nl_recv(nl, buf, NL_RECV_SIZE, 0);
                if (len < 0)
                        return ack->code = (int)len;
                r = talk_parse(&t, buf, (int)len, req->nlmsg_seq, ack);
        } while (r > 0);
        if (r < 0)
                return r;
        if (t.cb_r < 0)
                return ack->code = t.cb_r;
        if (t.interrupted)
                return ack->code = -EINTR;
        return 0;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nftnl_gen *gen = nftnl_gen_alloc();
        uint32_t *id = data;

        if (!gen)
                return MNL_CB_ERROR;
        if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
                *id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
        nftnl_gen_free(gen);
        return MNL_CB_OK;
}

/* The ruleset generation; a batch carrying it fails with ERESTART if anyone committed
 * since, which makes read-then-write plans atomic. */
static int nl_genid(struct nl *nl, uint32_t *ret, struct err *err)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct nl_ack ack;
        uint32_t id = 0;

        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, nl->seq++);
        if (nl_talk(nl, nlh, gen_cb, &id, &ack) < 0)
                return ack_err(err, &ack, "reading the nftables ruleset generation");
        *ret = id;
        return 0;
}

/* Retry state of a read-then-write plan. */
struct retry {
        struct timespec start;
        int attempt;
};

static int64_t ms_since(const struct timespec *t)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* After a plan failed with r: true (having slept) if it lost a race and the budget allows
 * another go. */
static bool retry_again(struct retry *rt, const struct nl *nl, int r)
{
        uint32_t base, jitter;
        struct timespec ts;

        if (r != -ERESTART && r != -EINTR)
                return false;
        if (rt->attempt++ == 0)
                clock_gettime(CLOCK_MONOTONIC, &rt->start);
        else if (ms_since(&rt->start) > PLAN_BUDGET_MS)
                return false;
        base = (uint32_t)BACKOFF_MIN_US << (rt->attempt < 8 ? rt->attempt - 1 : 7);
        if (base > BACKOFF_MAX_US)
                base = BACKOFF_MAX_US;
        if (getrandom(&jitter, sizeof(jitter), GRND_NONBLOCK) != sizeof(jitter))
                jitter = nl->portid * 2654435761u; /* distinct per process is enough */
        base += jitter % base;
        ts = (struct timespec){.tv_sec = 0, .tv_nsec = (long)base * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        return true;
}

static int retry_gave_up(struct err *err, const struct retry *rt, int r)
{
        if (r != -ERESTART && r != -EINTR)
                return r;
        return err_set(err, -EAGAIN,
                       "the nftables ruleset kept changing under us; gave up "
                       "after %d attempts",
                       rt->attempt);
}

/* ---- batches ---- */

struct batch_msg {
        size_t off;
        const char *kind, *name; /* what the message changes, for errors; kind may be NULL */
        size_t tag;              /* caller's index (first element of an element chunk) */
};

struct batch {
        char *buf;
        size_t len, cap;
        bool open; /* a message at buf + len is being filled */
        uint32_t seq0;
        struct batch_msg *msgs;
        size_t n, msgs_cap;
        uint32_t set_ids;
        uint8_t family; /* 0: FAMILY (the ip table) */
        const char *table;
};

/* Where a batch failed: msgs index (SIZE_MAX = the batch as a whole) and, for element
 * messages, which element the kernel pointed at (-1 = unknown). */
struct batch_fail {
        struct nl_ack ack;
        size_t idx;
        long elem;
};

static void batch_done(struct batch *b)
{
        free(b->buf);
        free(b->msgs);
}

static int batch_reserve(struct batch *b, size_t need)
{
        if (b->cap - b->len < need) {
                size_t cap = b->cap ? b->cap : 4 * MSG_RESERVE;
                char *p;
                while (cap - b->len < need)
                        cap *= 2;
                p = realloc(b->buf, cap);
                if (!p)
                        return -ENOMEM;
                b->buf = p;
                b->cap = cap;
        }
        return 0;
}

static void batch_close(struct batch *b)
{
        if (b->open) {
                const struct nlmsghdr *nlh = (const void *)(b->buf + b->len);
                /* A tripwire only: MSG_RESERVE is sized so that this cannot happen. */
                assert(nlh->nlmsg_len <= MSG_RESERVE);
                b->len += NLMSG_ALIGN(nlh->nlmsg_len);
                b->open = false;
        }
}

/* Starts a batch; genid 0 = no generation check. */
static int batch_begin(struct batch *b, struct nl *nl, uint32_t genid)
{
        struct nlmsghdr *nlh;

        *b = (struct batch){0};
        if (batch_reserve(b, MSG_RESERVE) < 0)
                return -ENOMEM;
        b->seq0 = nl->seq;
        b->table = nl->table;
        nlh = nftnl_batch_begin(b->buf, b->seq0);
        if (genid)
                mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
        b->len = NLMSG_ALIGN(nlh->nlmsg_len);
        return 0;
}

/* Opens the next change message (always with NLM_F_ACK); NULL on ENOMEM. */
static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t flags, const char *kind,
                                  const char *name, size_t tag)
{
        batch_close(b);
        if (batch_reserve(b, MSG_RESERVE) < 0)
                return NULL;
        if (b->n == b->msgs_cap) {
                size_t cap = b->msgs_cap ? 2 * b->msgs_cap : 16;
                struct batch_msg *m = realloc(b->msgs, cap * sizeof(*m));
                if (!m)
                        return NULL;
                b->msgs = m;
                b->msgs_cap = cap;
        }
        b->msgs[b->n] = (struct batch_msg){b->len, kind, name, tag};
        b->n++;
        b->open = true;
        return nftnl_nlmsg_build_hdr(b->buf + b->len, type, b->family ? b->family : FAMILY,
                                     flags | NLM_F_ACK, b->seq0 + (uint32_t)b->n);
}

static int batch_end(struct batch *b, struct nl *nl)
{
        struct nlmsghdr *nlh;

        batch_close(b);
        if (batch_reserve(b, MSG_RESERVE) < 0)
                return -ENOMEM;
        nlh = nftnl_batch_end(b->buf + b->len, b->seq0 + (uint32_t)b->n + 1);
        b->len += NLMSG_ALIGN(nlh->nlmsg_len);
        nl->seq = b->seq0 + (uint32_t)b->n + 2;
        return 0;
}

/* The index of the set element at offs in an element message, -1 if none is there. */
static long elem_at(const struct nlmsghdr *nlh, uint32_t offs)
{
        const struct nlattr *list, *e;
        long i = 0;

        mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg))
        {
                if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
                        continue;
                mnl_attr_for_each_nested(e, list)
                {
                        if ((const char *)e - (const char *)nlh == (ptrdiff_t)offs)
                                return i;
                        i++;
                }
        }
        return -1;
}

static void batch_record(const struct batch *b, const struct nlmsghdr *nlh, struct batch_fail *f)
{
        struct nl_ack ack;

        parse_ack(nlh, &ack);
        if (ack.code >= 0 || f->ack.code < 0)
                return;
        f->ack = ack;
        if (nlh->nlmsg_seq == b->seq0)
                return;
        f->idx = nlh->nlmsg_seq - b->seq0 - 1;
        if (ack.offs != UINT32_MAX)
                f->elem = elem_at((const void *)(b->buf + b->msgs[f->idx].off), ack.offs);
}

/* Reads the ACKs. nfnetlink handles a batch synchronously inside sendmsg(), so every
 * answer is queued by now: reading stops at the first empty read instead of waiting. */
static int batch_acks(struct nl *nl, const struct batch *b, struct batch_fail *f)
{
        _cleanup_free_ char *buf = malloc(NL_RECV_SIZE);
        size_t answered = 0;

        if (!buf)
                return f->ack.code = -ENOMEM;
        while (answered < b->n) {
                ssize_t n = nl_recv(nl, buf, NL_RECV_SIZE, MSG_DONTWAIT);
                int len = (int)n;
                if (n == -EAGAIN)
                        break;
                if (n < 0)
                        return f->ack.code = (int)n;
                for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        uint32_t seq = nlh->nlmsg_seq;
                        if (nlh->nlmsg_type != NLMSG_ERROR || seq < b->seq0 || seq > b->seq0 + b->n)
                                continue;
                        batch_record(b, nlh, f);
                        /* An error on BATCH_BEGIN (EPERM, a stale generation, a failed
                         * commit) answers for the whole batch. */
                        if (seq == b->seq0)
                                return f->ack.code;
                        answered++;
                }
        }
        if (f->ack.code == 0 && answered < b->n) {
                snprintf(f->ack.msg, sizeof(f->ack.msg), "%zu of %zu messages acknowledged",
                         answered, b->n);
                f->ack.code = -EPROTO;
        }
        return f->ack.code;
}

/* Sends the batch and waits for every ACK: 0, or the first error described in f. */
static int batch_send(struct nl *nl, const struct batch *b, struct batch_fail *f)
{
        *f = (struct batch_fail){.ack = {.offs = UINT32_MAX}, .idx = SIZE_MAX, .elem = -1};
        if (b->len > SNDBUF_DEFAULT) {
                int size = (int)b->len + MSG_RESERVE;
                int fd = mnl_socket_get_fd(nl->sock);
                /* FORCE needs CAP_NET_ADMIN, which nf_tables wants anyway; plain SO_SNDBUF is
                 * capped by wmem_max and the send then fails with a clear EMSGSIZE. */
                if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        }
        if (mnl_socket_sendto(nl->sock, b->buf, b->len) < 0) {
                f->ack.code = -errno;
                snprintf(f->ack.msg, sizeof(f->ack.msg), "sending a %zu-byte batch", b->len);
                return f->ack.code;
        }
        return batch_acks(nl, b, f);
}

/* "<ctx>[: <kind> <name>]: <strerror>[: <kernel message>]" */
static int fail_err(struct err *err, const struct batch *b, const struct batch_fail *f,
                    const char *ctx)
{
        const struct batch_msg *m = f->idx < b->n ? &b->msgs[f->idx] : NULL;

        if (m && m->kind)
                return ack_err(err, &f->ack, "%s: %s %s", ctx, m->kind, m->name);
        return ack_err(err, &f->ack, "%s", ctx);
}

static int table_fail(struct err *err, const struct batch *b, const struct batch_fail *f,
                      const char *verb, const char *table)
{
        char ctx[ERR_MSG_MAX];

        snprintf(ctx, sizeof(ctx), "%s the " TABLE_DESC, verb, table);
        return fail_err(err, b, f, ctx);
}

/* ---- rule building ---- */

/* A rule under construction; the first failure sticks and later steps do nothing. */
struct rb {
        struct nftnl_rule *rule;
        int r;
};

struct kv {
        uint16_t attr;
        uint32_t val;
};

static struct nftnl_expr *rb_add(struct rb *b, const char *name, const struct kv *kv, size_t n)
{
        struct nftnl_expr *e;

        if (b->r < 0)
                return NULL;
        e = nftnl_expr_alloc(name);
        if (!e) {
                b->r = -ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                nftnl_expr_set_u32(e, kv[i].attr, kv[i].val);
        nftnl_rule_add_expr(b->rule, e);
        return e;
}
#define RB_ADD(b, name, ...)                                                                       \
        rb_add(b, name, (const struct kv[]){__VA_ARGS__},                                          \
               sizeof((const struct kv[]){__VA_ARGS__}) / sizeof(struct kv))

static void rb_data(struct rb *b, struct nftnl_expr *e, uint16_t attr, const void *data,
                    uint32_t len)
{
        if (e && nftnl_expr_set(e, attr, data, len) < 0)
                b->r = -ENOMEM;
}

static void e_cmp(struct rb *b, enum nft_cmp_ops op, const void *data, uint32_t len)
{
        struct nftnl_expr *e =
                RB_ADD(b, "cmp", {NFTNL_EXPR_CMP_SREG, REG0}, {NFTNL_EXPR_CMP_OP, op});
        rb_data(b, e, NFTNL_EXPR_CMP_DATA, data, len);
}

/* reg0 &= mask (len bytes: 4, or 16 for an IPv6 address) */
static void e_mask_bytes(struct rb *b, const void *mask, uint32_t len)
{
        static const uint8_t zero[16];
        struct nftnl_expr *e =
                RB_ADD(b, "bitwise", {NFTNL_EXPR_BITWISE_SREG, REG0},
                       {NFTNL_EXPR_BITWISE_DREG, REG0}, {NFTNL_EXPR_BITWISE_LEN, len});
        rb_data(b, e, NFTNL_EXPR_BITWISE_MASK, mask, len);
        rb_data(b, e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

static void e_mask(struct rb *b, uint32_t mask)
{
        e_mask_bytes(b, &mask, sizeof(mask));
}

static void e_payload(struct rb *b, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
        RB_ADD(b, "payload", {NFTNL_EXPR_PAYLOAD_BASE, base}, {NFTNL_EXPR_PAYLOAD_OFFSET, offset},
               {NFTNL_EXPR_PAYLOAD_LEN, len}, {NFTNL_EXPR_PAYLOAD_DREG, dreg});
}

static void e_lookup(struct rb *b, const char *set, uint32_t set_id, bool map)
{
        struct nftnl_expr *e = RB_ADD(b, "lookup", {NFTNL_EXPR_LOOKUP_SREG, REG0});

        if (!e)
                return;
        if (map)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, REG0);
        if (set_id)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
        if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) < 0)
                b->r = -ENOMEM;
}

/* ct <key> & bits != 0 */
static void m_ct_bits(struct rb *b, uint32_t key, uint32_t bits)
{
        static const uint32_t zero;

        RB_ADD(b, "ct", {NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_DREG, REG0});
        e_mask(b, bits);
        e_cmp(b, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void m_ifname(struct rb *b, uint32_t key, enum nft_cmp_ops op, const char *name)
{
        char buf[IFNAMSIZ] = {0};

        /* nft compares the whole zero-padded IFNAMSIZ buffer for an exact name. */
        memcpy(buf, name, strnlen(name, IFNAMSIZ - 1));
        RB_ADD(b, "meta", {NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_DREG, REG0});
        e_cmp(b, op, buf, sizeof(buf));
}

static void m_fib_local(struct rb *b, uint32_t flag)
{
        static const uint32_t local = RTN_LOCAL;

        RB_ADD(b, "fib", {NFTNL_EXPR_FIB_FLAGS, flag},
               {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE}, {NFTNL_EXPR_FIB_DREG, REG0});
        e_cmp(b, NFT_CMP_EQ, &local, sizeof(local));
}

static void m_saddr_subnet(struct rb *b, const struct net_nft_network *n)
{
        uint32_t mask = htonl(n->prefix >= 32 ? UINT32_MAX : ~(UINT32_MAX >> n->prefix));
        uint32_t addr = n->subnet.s_addr & mask;

        e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, saddr), 4, REG0);
        if (n->prefix < 32)
                e_mask(b, mask);
        e_cmp(b, NFT_CMP_EQ, &addr, sizeof(addr));
}

/* (ip daddr .) meta l4proto . th dport -> map -> dnat ip to addr . port; for IPv6 the
 * address takes four registers. */
static void a_dnat(struct rb *b, bool v6, enum map_id map, uint32_t map_set_id)
{
        uint32_t alen = v6 ? 16 : 4, reg = REG0;
        uint32_t port_reg = REG0 + alen / 4;

        if (map == MAP_IP) {
                e_payload(b, NFT_PAYLOAD_NETWORK_HEADER,
                          v6 ? offsetof(struct ip6_hdr, ip6_dst) : offsetof(struct iphdr, daddr),
                          alen, reg);
                reg += alen / 4;
        }
        RB_ADD(b, "meta", {NFTNL_EXPR_META_KEY, NFT_META_L4PROTO}, {NFTNL_EXPR_META_DREG, reg++});
        /* th dport: the destination port sits at offset 2 in TCP, UDP and SCTP alike. */
        e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
        e_lookup(b, maps[v6][map].name, map_set_id, true);
        RB_ADD(b, "nat", {NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT},
               {NFTNL_EXPR_NAT_FAMILY, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4},
               {NFTNL_EXPR_NAT_REG_ADDR_MIN, REG0}, {NFTNL_EXPR_NAT_REG_ADDR_MAX, REG0},
               {NFTNL_EXPR_NAT_REG_PROTO_MIN, port_reg}, {NFTNL_EXPR_NAT_REG_PROTO_MAX, port_reg},
               {NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED});
}

/* What the table-driven rules refer to. */
struct build_ctx {
        const struct net_nft_network *net; /* NULL for the fixed rules */
        uint32_t map_ids[MAP_COUNT];       /* NFTA_SET_ID of maps made in this batch, or 0 */
        uint32_t hairpin_id;               /* NFTA_SET_ID of the network's anonymous set */
        uint64_t anchor;                   /* handle of the last fixed forward rule */
};

static void build_match(struct rb *b, enum match m, const struct build_ctx *c)
{
        switch (m) {
        case M_NONE:
                break;
        case M_FIB_DADDR_LOCAL:
                m_fib_local(b, NFTA_FIB_F_DADDR);
                break;
        case M_FIB_SADDR_LOCAL:
                m_fib_local(b, NFTA_FIB_F_SADDR);
                break;
        case M_CT_ESTABLISHED:
                m_ct_bits(b, NFT_CT_STATE,
                          NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
                break;
        case M_CT_DNAT:
                m_ct_bits(b, NFT_CT_STATUS, IPS_DST_NAT);
                break;
        case M_IIF:
                m_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, c->net->bridge);
                break;
        case M_OIF:
                m_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ, c->net->bridge);
                break;
        case M_NOT_OIF:
                m_ifname(b, NFT_META_OIFNAME, NFT_CMP_NEQ, c->net->bridge);
                break;
        case M_SADDR_SUBNET:
                m_saddr_subnet(b, c->net);
                break;
        case M_DADDR_LOOPBACK: {
                const uint32_t loopback = htonl(0x7f000000u);

                e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, daddr), 4, REG0);
                e_mask(b, htonl(0xff000000u));
                e_cmp(b, NFT_CMP_EQ, &loopback, sizeof(loopback));
                break;
        }
        case M_SADDR_HAIRPIN:
                e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, saddr), 4, REG0);
                /* The kernel names anonymous sets; within the batch the id finds it. */
                e_lookup(b, "__set%d", c->hairpin_id, false);
                break;
        }
}

static void build_action(struct rb *b, enum action a, const struct build_ctx *c)
{
        switch (a) {
        case A_ACCEPT:
        case A_DROP:
                RB_ADD(b, "immediate", {NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
                       {NFTNL_EXPR_IMM_VERDICT, a == A_ACCEPT ? NF_ACCEPT : NF_DROP});
                break;
        case A_MASQ:
                rb_add(b, "masq", NULL, 0);
                break;
        case A_DNAT_IP:
                a_dnat(b, false, MAP_IP, c->map_ids[MAP_IP]);
                break;
        case A_DNAT_ANY:
                a_dnat(b, false, MAP_ANY, c->map_ids[MAP_ANY]);
                break;
        }
}

static int rule_set_comment(struct nftnl_rule *rule, const char *comment)
{
        _cleanup_(udata_freep) struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(TAG_MAX + 2);

        if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment))
                return -ENOMEM;
        if (nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
                                nftnl_udata_buf_len(u)) < 0)
                return -ENOMEM;
        return 0;
}

static int emit_rule(struct batch *bt, const struct rule_def *d, const struct build_ctx *c,
                     const char *comment)
{
        _cleanup_(rule_freep) struct nftnl_rule *rule = nftnl_rule_alloc();
        struct rb b = {.rule = rule};
        struct nlmsghdr *nlh;

        if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, bt->table) < 0 ||
            nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chains[d->chain].name) < 0 ||
            rule_set_comment(rule, comment) < 0)
                return -ENOMEM;
        if (d->place == P_AFTER_ANCHOR)
                nftnl_rule_set_u64(rule, NFTNL_RULE_POSITION, c->anchor);
        for (size_t i = 0; i < ARRAY_SIZE(d->match); i++)
                build_match(&b, d->match[i], c);
        build_action(&b, d->action, c);
        if (b.r < 0)
                return b.r;
        /* APPEND with a position inserts right after that rule. */
        nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "rule in chain",
                        chains[d->chain].name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        return 0;
}

/* ---- set elements ---- */

struct elem {
        uint8_t key[MAP_KEY_MAX];
        uint8_t data[MAP_DATA_MAX];
        uint8_t key_len, data_len; /* data_len 0: a plain set element */
        uint32_t flags;
};

static int set_elem_add(struct nftnl_set *s, const struct elem *e)
{
        struct nftnl_set_elem *se = nftnl_set_elem_alloc();

        if (!se)
                return -ENOMEM;
        if (nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, e->key, e->key_len) < 0 ||
            (e->data_len &&
             nftnl_set_elem_set(se, NFTNL_SET_ELEM_DATA, e->data, e->data_len) < 0)) {
                nftnl_set_elem_free(se);
                return -ENOMEM;
        }
        if (e->flags)
                nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_FLAGS, e->flags);
        nftnl_set_elem_add(s, se);
        return 0;
}

/* One NEWSETELEM/DELSETELEM message per ELEMS_PER_MSG elements, all in batch bt; message
 * tags are tag0 + the index of their first element. */
static int emit_elems(struct batch *bt, uint16_t type, uint16_t flags, const char *set,
                      uint32_t set_id, const struct elem *e, size_t n, size_t tag0)
{
        for (size_t i = 0; i < n; i += ELEMS_PER_MSG) {
                _cleanup_(set_freep) struct nftnl_set *s = nftnl_set_alloc();
                struct nlmsghdr *nlh;

                if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, bt->table) < 0 ||
                    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0)
                        return -ENOMEM;
                if (set_id)
                        nftnl_set_set_u32(s, NFTNL_SET_ID, set_id);
                for (size_t j = i; j < n && j < i + ELEMS_PER_MSG; j++)
                        if (set_elem_add(s, &e[j]) < 0)
                                return -ENOMEM;
                nlh = batch_msg(bt, type, flags, NULL, NULL, tag0 + i);
                if (!nlh)
                        return -ENOMEM;
                nftnl_set_elems_nlmsg_build_payload(nlh, s);
        }
        return 0;
}

/* ---- the table ---- */

static int emit_table(struct batch *b)
{
        _cleanup_(table_freep) struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0)
                return -ENOMEM;
        nlh = batch_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "table", b->table, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_table_nlmsg_build_payload(nlh, t);
        return 0;
}

static int emit_chain(struct batch *b, const struct chain_def *d, uint16_t excl)
{
        _cleanup_(chain_freep) struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;

        if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table) < 0 ||
            nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name) < 0 ||
            nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type) < 0)
                return -ENOMEM;
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
        nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | excl, "chain", d->name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_chain_nlmsg_build_payload(nlh, c);
        return 0;
}

/* Creates a set in the batch and returns its NFTA_SET_ID (> 0); a map's data is m's. With
 * excl 0 an existing set is kept with its elements. */
static int emit_set(struct batch *b, const char *name, uint32_t flags, uint32_t key_type,
                    uint32_t key_len, const struct map_def *m, uint16_t excl, const char *kind,
                    const char *desc)
{
        _cleanup_(set_freep) struct nftnl_set *s = nftnl_set_alloc();
        uint32_t id = ++b->set_ids;
        struct nlmsghdr *nlh;

        if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table) < 0 ||
            nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0)
                return -ENOMEM;
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
        if (m) {
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, m->data_type);
                nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, m->data_len);
        }
        nftnl_set_set_u32(s, NFTNL_SET_ID, id);
        nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | excl, kind, desc, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_set_nlmsg_build_payload(nlh, s);
        return (int)id;
}

static int build_ensure(struct batch *b)
{
        struct build_ctx c = {0};
        int r = emit_table(b);

        for (size_t i = 0; r >= 0 && i < CH_COUNT; i++)
                r = emit_chain(b, &chains[i], NLM_F_EXCL);
        for (size_t i = 0; r >= 0 && i < MAP_COUNT; i++) {
                r = emit_set(b, maps[0][i].name, NFT_SET_MAP, maps[0][i].key_type,
                             maps[0][i].key_len, &maps[0][i], NLM_F_EXCL, "map", maps[0][i].name);
                if (r > 0)
                        c.map_ids[i] = (uint32_t)r;
        }
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(fixed_rules); i++)
                r = emit_rule(b, &fixed_rules[i], &c, TAG_FIXED);
        return r < 0 ? r : 0;
}

/* Adds whichever chains the table lacks (NEWCHAIN without EXCL leaves an existing one). */
static int ensure_chains(struct nl *nl, struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        struct batch_fail f;
        int r = batch_begin(&b, nl, 0);

        for (size_t i = 0; r >= 0 && i < CH_COUNT; i++)
                r = emit_chain(&b, &chains[i], 0);
        if (r >= 0)
                r = batch_end(&b, nl);
        if (r < 0)
                return err_set(err, r, "building the batch that completes the " TABLE_DESC,
                               nl->table);
        if (batch_send(nl, &b, &f) == 0)
                return 0;
        return table_fail(err, &b, &f, "completing", nl->table);
}

static int ensure_nl(struct nl *nl, struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        struct batch_fail f;
        int r;

        r = batch_begin(&b, nl, 0);
        if (r >= 0)
                r = build_ensure(&b);
        if (r >= 0)
                r = batch_end(&b, nl);
        if (r < 0)
                return err_set(err, r, "building the batch that creates the " TABLE_DESC,
                               nl->table);
        if (batch_send(nl, &b, &f) == 0)
                return 1;
        /* Our NEWTABLE carries EXCL: EEXIST on it means the table was already made, since
         * another creator's batch commits all or nothing; a table an older hawser made may
         * still lack a chain added since. */
        if (f.idx == 0 && f.ack.code == -EEXIST)
                return ensure_chains(nl, err);
        return table_fail(err, &b, &f, "creating", nl->table);
}

int net_nft_ensure(struct err *err)
{
        return net_nft_ensure_in(TABLE, err);
}

int net_nft_ensure_in(const char *table, struct err *err)
{
        _cleanup_nl_ struct nl nl = {0};
        int r = nl_open(&nl, table, err);

        return r < 0 ? r : ensure_nl(&nl, err);
}

/* The table's handle, which the kernel never reuses: 0 when the reply had none. */
static int table_cb(const struct nlmsghdr *nlh, void *data)
{
        _cleanup_(table_freep) struct nftnl_table *t = nftnl_table_alloc();
        uint64_t *handle = data;

        *handle = 0;
        if (t && nftnl_table_nlmsg_parse(nlh, t) == 0 && nftnl_table_is_set(t, NFTNL_TABLE_HANDLE))
                *handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
        /* Found, even without a handle. */
        if (*handle == 0)
                *handle = UINT64_MAX;
        return MNL_CB_OK;
}

int net_nft_table_present(struct err *err)
{
        return net_nft_table_present_in(TABLE, err);
}

int net_nft_table_present_in(const char *table, struct err *err)
{
        uint64_t handle;

        return net_nft_table_handle_in(table, &handle, err);
}

static int table_handle(const char *table, uint8_t family, uint64_t *ret, struct err *err)
{
        _cleanup_(table_freep) struct nftnl_table *t = nftnl_table_alloc();
        _cleanup_nl_ struct nl nl = {0};
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct nl_ack ack;
        uint64_t handle = 0;
        int r = nl_open(&nl, table, err);

        if (r < 0)
                return r;
        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0)
                return err_set(err, -ENOMEM, "looking up the " TABLE_DESC, table);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, nl.seq++);
        nftnl_table_nlmsg_build_payload(nlh, t);
        if (nl_talk(&nl, nlh, table_cb, &handle, &ack) < 0) {
                if (ack.code == -ENOENT)
                        return 0;
                return ack_err(err, &ack, "looking up the " TABLE_DESC, table);
        }
        if (handle == 0)
                return 0;
        *ret = handle;
        return 1;
}

int net_nft_table_handle_in(const char *table, uint64_t *ret, struct err *err)
{
        return table_handle(table, FAMILY, ret, err);
}

int net_nft_table6_present_in(const char *table, struct err *err)
{
        uint64_t handle;

        return table_handle(table, NFPROTO_IPV6, &handle, err);
}

int net_nft_destroy(struct err *err)
{
        return net_nft_destroy_in(TABLE, err);
}

int net_nft_destroy_in(const char *table, struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        _cleanup_(table_freep) struct nftnl_table *t = nftnl_table_alloc();
        _cleanup_nl_ struct nl nl = {0};
        struct nlmsghdr *nlh;
        struct batch_fail f;
        int r;

        r = nl_open(&nl, table, err);
        if (r < 0)
                return r;
        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0 ||
            batch_begin(&b, &nl, 0) < 0 ||
            !(nlh = batch_msg(&b, NFT_MSG_DELTABLE, 0, NULL, NULL, 0)))
                return err_set(err, -ENOMEM, "deleting the " TABLE_DESC, table);
        nftnl_table_nlmsg_build_payload(nlh, t);
        if (batch_end(&b, &nl) < 0)
                return err_set(err, -ENOMEM, "deleting the " TABLE_DESC, table);
        if (batch_send(&nl, &b, &f) == 0 || f.ack.code == -ENOENT)
                return 0;
        return table_fail(err, &b, &f, "deleting", table);
}

/* ---- networks ---- */

struct rule_ref {
        enum chain_id chain;
        uint64_t handle;
};

struct rule_scan {
        const char *tag; /* collect the rules carrying this comment */
        struct rule_ref *refs;
        size_t n, cap;
        bool have_anchor;
        uint64_t anchor;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
        const char **comment = data;
        const char *s = nftnl_udata_get(attr);
        uint8_t len = nftnl_udata_len(attr);

        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 && s[len - 1] == '\0')
                *comment = s;
        return 0;
}

static int chain_id_of(const char *name)
{
        for (int i = 0; i < CH_COUNT; i++)
                if (!strcmp(chains[i].name, name))
                        return i;
        return -1;
}

static int scan_rule(struct rule_scan *s, const struct nftnl_rule *rule)
{
        const char *comment = NULL;
        uint32_t len = 0;
        const void *u = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
        const char *chain_name = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);
        int chain = chain_name ? chain_id_of(chain_name) : -1;
        uint64_t handle = nftnl_rule_get_u64(rule, NFTNL_RULE_HANDLE);

        if (!u || chain < 0)
                return 0;
        nftnl_udata_parse(u, len, comment_cb, &comment);
        if (!comment)
                return 0;
        if (chain == CH_FORWARD && !strcmp(comment, TAG_FIXED)) {
                s->have_anchor = true;
                s->anchor = handle;
        }
        if (strcmp(comment, s->tag))
                return 0;
        if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 8;
                struct rule_ref *p = realloc(s->refs, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                s->refs = p;
                s->cap = cap;
        }
        s->refs[s->n++] = (struct rule_ref){(enum chain_id)chain, handle};
        return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
        _cleanup_(rule_freep) struct nftnl_rule *rule = nftnl_rule_alloc();

        if (!rule)
                return MNL_CB_ERROR;
        if (nftnl_rule_nlmsg_parse(nlh, rule) < 0)
                return MNL_CB_OK;
        return scan_rule(data, rule) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Lists the table's rules (dumps run in chain order, so the anchor is the last
 * hawser:fixed rule of forward). A missing table reads as empty. */
static int scan_rules(struct nl *nl, struct rule_scan *s, struct nl_ack *ack)
{
        _cleanup_(rule_freep) struct nftnl_rule *rule = nftnl_rule_alloc();
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;

        s->n = 0;
        s->have_anchor = false;
        if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, nl->table) < 0)
                return ack->code = -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, FAMILY, NLM_F_DUMP, nl->seq++);
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        return nl_talk(nl, nlh, rule_cb, s, ack);
}

static int emit_del_rule(struct batch *b, const struct rule_ref *ref)
{
        _cleanup_(rule_freep) struct nftnl_rule *rule = nftnl_rule_alloc();
        struct nlmsghdr *nlh;

        if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, b->table) < 0 ||
            nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chains[ref->chain].name) < 0)
                return -ENOMEM;
        nftnl_rule_set_u64(rule, NFTNL_RULE_HANDLE, ref->handle);
        nlh = batch_msg(b, NFT_MSG_DELRULE, 0, "old rule in chain", chains[ref->chain].name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        return 0;
}

static bool rule_wanted(const struct rule_def *d, const struct net_nft_network *n)
{
        switch (d->when) {
        case W_ALWAYS:
                return true;
        case W_EXTERNAL:
                return !n->internal;
        case W_MASQ:
                return !n->internal && !n->no_masq;
        case W_INTERNAL:
                return n->internal;
        case W_ICC:
                return n->icc;
        case W_NO_ICC:
                return !n->icc;
        }
        return false;
}

static void push_key(struct elem *out, size_t *k, uint32_t v, uint32_t flags)
{
        uint32_t be = htonl(v);

        out[*k] = (struct elem){.key_len = 4, .flags = flags};
        memcpy(out[*k].key, &be, 4);
        (*k)++;
}

/* The interval elements of { 127.0.0.0/8, subnet }, merged when they touch, in nft's
 * encoding: an end element at 0 first, then start/end pairs (no end at 2^32). */
static size_t hairpin_elems(const struct net_nft_network *n, struct elem out[5])
{
        uint64_t size = 1ull << (32 - n->prefix);
        uint64_t net = ntohl(n->subnet.s_addr) & ~(size - 1);
        uint64_t iv[2][2] = {{0x7f000000u, 0x80000000u}, {net, net + size}};
        size_t k = 0, count = 2;

        if (net < iv[0][0]) {
                iv[1][0] = iv[0][0];
                iv[1][1] = iv[0][1];
                iv[0][0] = net;
                iv[0][1] = net + size;
        }
        if (iv[1][0] <= iv[0][1]) {
                iv[0][1] = iv[1][1] > iv[0][1] ? iv[1][1] : iv[0][1];
                count = 1;
        }
        if (iv[0][0] != 0)
                push_key(out, &k, 0, NFT_SET_ELEM_INTERVAL_END);
        for (size_t i = 0; i < count; i++) {
                push_key(out, &k, (uint32_t)iv[i][0], 0);
                if (iv[i][1] <= UINT32_MAX)
                        push_key(out, &k, (uint32_t)iv[i][1], NFT_SET_ELEM_INTERVAL_END);
        }
        return k;
}

static int build_network(struct batch *b, const struct net_nft_network *n, const char *tag,
                         uint64_t anchor)
{
        struct build_ctx c = {.net = n, .anchor = anchor};
        struct elem hp[5];
        size_t nhp = hairpin_elems(n, hp);
        int r;

        r = emit_set(b, "__set%d", NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL,
                     TYPE_IPADDR, 4, NULL, NLM_F_EXCL, "set", "{ 127.0.0.0/8, subnet }");
        if (r < 0)
                return r;
        c.hairpin_id = (uint32_t)r;
        r = emit_elems(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, "__set%d", c.hairpin_id,
                       hp, nhp, 0);
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(net_rules); i++)
                if (net_rules[i].place == P_APPEND && rule_wanted(&net_rules[i], n))
                        r = emit_rule(b, &net_rules[i], &c, tag);
        /* Each insert lands right after the anchor: emit them last to first. */
        for (size_t i = ARRAY_SIZE(net_rules); r >= 0 && i-- > 0;)
                if (net_rules[i].place == P_AFTER_ANCHOR && rule_wanted(&net_rules[i], n))
                        r = emit_rule(b, &net_rules[i], &c, tag);
        return r;
}

static void rule_scan_done(struct rule_scan *s)
{
        free(s->refs);
}

static int build_plan(struct batch *b, struct nl *nl, uint32_t genid, const struct rule_scan *s,
                      const struct net_nft_network *n)
{
        int r = batch_begin(b, nl, genid);

        for (size_t i = 0; r >= 0 && i < s->n; i++)
                r = emit_del_rule(b, &s->refs[i]);
        if (r >= 0 && n)
                r = build_network(b, n, s->tag, s->anchor);
        if (r >= 0)
                r = batch_end(b, nl);
        return r;
}

/* One attempt at replacing (n != NULL) or deleting the network's rules, checked against
 * the generation it read. -ERESTART/-EINTR: the ruleset moved, try again. */
static int network_plan(struct nl *nl, const char *bridge, const struct net_nft_network *n,
                        struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        char tag[TAG_MAX];
        _cleanup_(rule_scan_done) struct rule_scan s = {.tag = tag};
        struct batch_fail f;
        struct nl_ack ack;
        uint32_t genid;
        int r;

        snprintf(tag, sizeof(tag), TAG_NET "%s", bridge);
        r = nl_genid(nl, &genid, err);
        if (r < 0)
                return r;
        if (scan_rules(nl, &s, &ack) < 0)
                return ack_err(err, &ack, "listing the rules of the " TABLE_DESC, nl->table);
        if (n && !s.have_anchor)
                return err_set(err, -ENOENT,
                               TABLE_DESC " is missing or has no " TAG_FIXED " rule in forward",
                               nl->table);
        if (!n && s.n == 0)
                return 0;
        r = build_plan(&b, nl, genid, &s, n);
        if (r < 0)
                return err_set(err, r, "building the batch");
        if (batch_send(nl, &b, &f) == 0)
                return 0;
        return fail_err(err, &b, &f, "changing the rules");
}

static int valid_bridge(const char *bridge, struct err *err)
{
        size_t len = bridge ? strnlen(bridge, IFNAMSIZ) : 0;

        if (len == 0 || len >= IFNAMSIZ)
                return err_set(err, -EINVAL, "bridge name '%s' must have 1 to %d characters",
                               bridge ? bridge : "", IFNAMSIZ - 1);
        return 0;
}

static int network_apply(const char *table, const char *bridge, const struct net_nft_network *n,
                         struct err *err)
{
        _cleanup_nl_ struct nl nl = {0};
        struct retry rt = {0};
        bool rebuilt = false;
        int r;

        r = nl_open(&nl, table, err);
        while (r >= 0) {
                r = network_plan(&nl, bridge, n, err);
                if (r == -ENOENT && n && !rebuilt) {
                        rebuilt = true;
                        r = ensure_nl(&nl, err);
                } else if (retry_again(&rt, &nl, r)) {
                        r = 0;
                } else {
                        break;
                }
        }
        return retry_gave_up(err, &rt, r);
}

int net_nft_network_add(const struct net_nft_network *n, struct err *err)
{
        return net_nft_network_add_in(TABLE, n, err);
}

int net_nft_network_add_in(const char *table, const struct net_nft_network *n, struct err *err)
{
        int r = valid_bridge(n->bridge, err);

        if (r < 0)
                return r;
        if (n->prefix < 1 || n->prefix > 32)
                return err_set(err, -EINVAL, "network on bridge %s: prefix length %d is not 1-32",
                               n->bridge, n->prefix);
        r = network_apply(table, n->bridge, n, err);
        if (r < 0)
                return err_wrap(err, "adding nftables rules for network bridge %s", n->bridge);
        return 0;
}

int net_nft_network_del(const char *bridge, struct err *err)
{
        return net_nft_network_del_in(TABLE, bridge, err);
}

int net_nft_network_del_in(const char *table, const char *bridge, struct err *err)
{
        int r = valid_bridge(bridge, err);

        if (r < 0)
                return r;
        r = network_apply(table, bridge, NULL, err);
        if (r < 0)
                return err_wrap(err, "deleting nftables rules of network bridge %s", bridge);
        return 0;
}

/* ---- ports ---- */

static const char *proto_name(uint8_t proto)
{
        for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
                if (protos[i].proto == proto)
                        return protos[i].name;
        return NULL;
}

static bool port_any(const struct net_nft_port *p)
{
        return p->v6 ? IN6_IS_ADDR_UNSPECIFIED(&p->host_ip6) : p->host_ip.s_addr == INADDR_ANY;
}

/* "[host_ip:]host_port/proto -> ctr_ip:ctr_port", IPv6 addresses bracketed */
#define PORT_STR_MAX 128
static const char *port_str(const struct net_nft_port *p, char buf[PORT_STR_MAX])
{
        char hip[INET6_ADDRSTRLEN + 3] = "", cip[INET6_ADDRSTRLEN + 2];
        const char *proto = proto_name(p->proto);
        int af = p->v6 ? AF_INET6 : AF_INET;
        const void *h = p->v6 ? (const void *)&p->host_ip6 : &p->host_ip;
        const void *c = p->v6 ? (const void *)&p->ctr_ip6 : &p->ctr_ip;
        char a[INET6_ADDRSTRLEN];

        if (!port_any(p))
                snprintf(hip, sizeof(hip), p->v6 ? "[%s]:" : "%s:", inet_ntop(af, h, a, sizeof(a)));
        snprintf(cip, sizeof(cip), p->v6 ? "[%s]" : "%s", inet_ntop(af, c, a, sizeof(a)));
        snprintf(buf, PORT_STR_MAX, "%s%u/%s -> %s:%u", hip, p->host_port, proto ? proto : "?", cip,
                 p->ctr_port);
        return buf;
}

static int valid_ports(const struct net_nft_port *p, size_t n, struct err *err)
{
        char s[PORT_STR_MAX];

        for (size_t i = 0; i < n; i++) {
                if (!proto_name(p[i].proto))
                        return err_set(err, -EINVAL, "port %s: protocol %u is not tcp, udp or sctp",
                                       port_str(&p[i], s), p[i].proto);
                if (!p[i].host_port || !p[i].ctr_port ||
                    (p[i].v6 ? IN6_IS_ADDR_UNSPECIFIED(&p[i].ctr_ip6)
                             : p[i].ctr_ip.s_addr == INADDR_ANY))
                        return err_set(err, -EINVAL, "port %s: zero port or container address",
                                       port_str(&p[i], s));
        }
        return 0;
}

static enum map_id port_map(const struct net_nft_port *p)
{
        return port_any(p) ? MAP_ANY : MAP_IP;
}

/* Which of the four maps (two per table) a port goes to: 2 * v6 + map. */
static int port_group(const struct net_nft_port *p)
{
        return 2 * p->v6 + (int)port_map(p);
}

/* Registers are 32 bits wide: proto is a byte padded to 4, the port 2 bytes padded to 4. */
static void port_elem(const struct net_nft_port *p, struct elem *e)
{
        uint16_t hport = htons(p->host_port), cport = htons(p->ctr_port);
        size_t alen = p->v6 ? 16 : 4, o = 0;

        *e = (struct elem){.data_len = (uint8_t)(alen + 4)};
        if (port_map(p) == MAP_IP) {
                memcpy(e->key, p->v6 ? (const void *)&p->host_ip6 : &p->host_ip, alen);
                o = alen;
        }
        e->key[o] = p->proto;
        memcpy(e->key + o + 4, &hport, 2);
        e->key_len = (uint8_t)(o + 8);
        memcpy(e->data, p->v6 ? (const void *)&p->ctr_ip6 : &p->ctr_ip, alen);
        memcpy(e->data + alen, &cport, 2);
}

static bool elem_decode(bool v6, enum map_id map, const uint8_t *key, uint32_t klen,
                        const uint8_t *data, uint32_t dlen, struct net_nft_port *p)
{
        size_t alen = v6 ? 16 : 4, o = map == MAP_IP ? alen : 0;
        uint16_t port;

        if (klen != maps[v6][map].key_len || dlen != maps[v6][map].data_len)
                return false;
        *p = (struct net_nft_port){.proto = key[o], .v6 = v6};
        if (map == MAP_IP)
                memcpy(v6 ? (void *)&p->host_ip6 : &p->host_ip, key, alen);
        memcpy(&port, key + o + 4, 2);
        p->host_port = ntohs(port);
        memcpy(v6 ? (void *)&p->ctr_ip6 : &p->ctr_ip, data, alen);
        memcpy(&port, data + alen, 2);
        p->ctr_port = ntohs(port);
        return true;
}

struct port_vec {
        struct net_nft_port *v;
        size_t n, cap;
        enum map_id map;
        bool v6;
};

static int port_vec_push(struct port_vec *pv, const struct net_nft_port *p)
{
        if (pv->n == pv->cap) {
                size_t cap = pv->cap ? 2 * pv->cap : 16;
                struct net_nft_port *v = realloc(pv->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                pv->v = v;
                pv->cap = cap;
        }
        pv->v[pv->n++] = *p;
        return 0;
}

static int elem_cb(struct nftnl_set_elem *se, void *data)
{
        struct port_vec *pv = data;
        struct net_nft_port p;
        uint32_t klen = 0, dlen = 0;
        const uint8_t *key = nftnl_set_elem_get(se, NFTNL_SET_ELEM_KEY, &klen);
        const uint8_t *val = nftnl_set_elem_get(se, NFTNL_SET_ELEM_DATA, &dlen);

        if (!key || !val || !elem_decode(pv->v6, pv->map, key, klen, val, dlen, &p))
                return 0;
        return port_vec_push(pv, &p);
}

static int setelem_cb(const struct nlmsghdr *nlh, void *data)
{
        _cleanup_(set_freep) struct nftnl_set *s = nftnl_set_alloc();

        if (!s)
                return MNL_CB_ERROR;
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                return MNL_CB_OK;
        return nftnl_set_elem_foreach(s, elem_cb, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Appends the elements of the four maps to pv; a missing table or map reads as empty. */
static int dump_ports(struct nl *nl, struct port_vec *pv, struct err *err)
{
        for (int g = 0; g < 2 * MAP_COUNT; g++) {
                const struct map_def *m = &maps[g / 2][g % 2];
                _cleanup_(set_freep) struct nftnl_set *s = nftnl_set_alloc();
                char buf[MNL_SOCKET_BUFFER_SIZE];
                struct nlmsghdr *nlh;
                struct nl_ack ack;

                if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, nl->table) < 0 ||
                    nftnl_set_set_str(s, NFTNL_SET_NAME, m->name) < 0)
                        return err_set(err, -ENOMEM, "listing map %s", m->name);
                nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, g / 2 ? NFPROTO_IPV6 : FAMILY,
                                            NLM_F_DUMP, nl->seq++);
                nftnl_set_elems_nlmsg_build_payload(nlh, s);
                pv->v6 = g / 2;
                pv->map = (enum map_id)(g % 2);
                if (nl_talk(nl, nlh, setelem_cb, pv, &ack) < 0 && ack.code != -ENOENT)
                        return ack_err(err, &ack, "listing map %s of the nftables table %s %s",
                                       m->name, g / 2 ? "ip6" : "ip", nl->table);
        }
        return 0;
}

int net_nft_list_ports(struct net_nft_port **ret, size_t *ret_n, struct err *err)
{
        return net_nft_list_ports_in(TABLE, ret, ret_n, err);
}

int net_nft_list_ports_in(const char *table, struct net_nft_port **ret, size_t *ret_n,
                          struct err *err)
{
        _cleanup_nl_ struct nl nl = {0};
        struct port_vec pv = {0};
        struct retry rt = {0};
        int r;

        r = nl_open(&nl, table, err);
        if (r < 0)
                return r;
        do {
                pv.n = 0;
                r = dump_ports(&nl, &pv, err);
        } while (retry_again(&rt, &nl, r));
        r = retry_gave_up(err, &rt, r);
        if (r < 0) {
                free(pv.v);
                return r;
        }
        *ret = pv.v;
        *ret_n = pv.n;
        return 0;
}

/* Element messages for ports[perm[0..n)], grouped by map (port_group order), each group
 * in its table's family; message tags are indexes into perm. */
static int build_ports(struct batch *b, uint16_t type, uint16_t flags, const struct net_nft_port *p,
                       const size_t *perm, size_t n)
{
        _cleanup_free_ struct elem *e = calloc(n, sizeof(*e));
        size_t start = 0;
        int r = 0;

        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                port_elem(&p[perm[i]], &e[i]);
        for (int g = 0; r >= 0 && g < 2 * MAP_COUNT; g++) {
                size_t end = start;
                while (end < n && port_group(&p[perm[end]]) == g)
                        end++;
                b->family = g / 2 ? NFPROTO_IPV6 : 0;
                if (end > start)
                        r = emit_elems(b, type, flags, maps[g / 2][g % 2].name, 0, e + start,
                                       end - start, start);
                start = end;
        }
        b->family = 0;
        return r;
}

/* Orders the indexes of the selected ports by map. */
static size_t *ports_by_map(const struct net_nft_port *p, const bool *sel, size_t n, size_t *ret_n)
{
        size_t *perm = malloc((n ? n : 1) * sizeof(*perm));
        size_t k = 0;

        if (!perm)
                return NULL;
        for (int g = 0; g < 2 * MAP_COUNT; g++)
                for (size_t i = 0; i < n; i++)
                        if ((!sel || sel[i]) && port_group(&p[i]) == g)
                                perm[k++] = i;
        *ret_n = k;
        return perm;
}

/* Names the port the kernel complained about, or the first of the batch. */
static int port_fail(struct err *err, const struct batch *b, const struct batch_fail *f,
                     const struct net_nft_port *p, const size_t *perm, size_t n, const char *verb)
{
        char s[PORT_STR_MAX], ctx[ERR_MSG_MAX];
        size_t at = f->idx < b->n ? b->msgs[f->idx].tag + (f->elem > 0 ? (size_t)f->elem : 0) : 0;
        bool exact = f->idx < b->n && f->elem >= 0;

        if (at >= n)
                at = 0;
        if (exact || n == 1)
                snprintf(ctx, sizeof(ctx), "%s %s", verb, port_str(&p[perm[at]], s));
        else
                snprintf(ctx, sizeof(ctx), "%s %s and %zu more", verb, port_str(&p[perm[at]], s),
                         n - 1);
        return fail_err(err, b, f, ctx);
}

static int publish_once(struct nl *nl, const struct net_nft_port *p, size_t n, struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        _cleanup_free_ size_t *perm = NULL;
        struct batch_fail f;
        size_t k = 0;
        int r;

        perm = ports_by_map(p, NULL, n, &k);
        if (!perm)
                return err_set(err, -ENOMEM, "publishing %zu ports", n);
        r = batch_begin(&b, nl, 0);
        if (r >= 0)
                r = build_ports(&b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, p, perm, n);
        if (r >= 0)
                r = batch_end(&b, nl);
        if (r < 0)
                return err_set(err, r, "building the batch that publishes %zu ports", n);
        if (batch_send(nl, &b, &f) == 0)
                return 0;
        return port_fail(err, &b, &f, p, perm, n, "publishing");
}

int net_nft_publish(const struct net_nft_port *p, size_t n, struct err *err)
{
        return net_nft_publish_in(TABLE, p, n, err);
}

int net_nft_publish_in(const char *table, const struct net_nft_port *p, size_t n, struct err *err)
{
        _cleanup_nl_ struct nl nl = {0};
        int r;

        r = valid_ports(p, n, err);
        if (r < 0 || n == 0)
                return r;
        r = nl_open(&nl, table, err);
        if (r < 0)
                return r;
        r = publish_once(&nl, p, n, err);
        if (r != -ENOENT)
                return r;
        /* Someone deleted the table (a flush, a firewall reload): rebuild, retry once. */
        r = ensure_nl(&nl, err);
        if (r < 0)
                return err_wrap(err, "rebuilding the table to publish ports");
        r = publish_once(&nl, p, n, err);
        return r < 0 ? r : 1;
}

static int port_cmp(const void *x, const void *y)
{
        const struct net_nft_port *a = x, *b = y;
        int c;

        if (a->v6 != b->v6)
                return a->v6 ? 1 : -1;
        if (a->v6) {
                c = memcmp(&a->host_ip6, &b->host_ip6, sizeof(a->host_ip6));
                if (!c)
                        c = memcmp(&a->ctr_ip6, &b->ctr_ip6, sizeof(a->ctr_ip6));
                if (c)
                        return c;
        }
        uint32_t ka[] = {ntohl(a->host_ip.s_addr), a->proto, a->host_port, ntohl(a->ctr_ip.s_addr),
                         a->ctr_port};
        uint32_t kb[] = {ntohl(b->host_ip.s_addr), b->proto, b->host_port, ntohl(b->ctr_ip.s_addr),
                         b->ctr_port};

        for (size_t i = 0; i < ARRAY_SIZE(ka); i++)
                if (ka[i] != kb[i])
                        return ka[i] < kb[i] ? -1 : 1;
        return 0;
}

/* sel[i]: p[i] is present in cur (which gets sorted) and no earlier p[j] already claimed
 * the same entry. Returns how many were selected, or -ENOMEM. */
static ssize_t select_present(const struct net_nft_port *p, size_t n, struct port_vec *cur,
                              bool *sel)
{
        _cleanup_free_ bool *used = calloc(cur->n ? cur->n : 1, sizeof(*used));
        ssize_t k = 0;

        if (!used)
                return -ENOMEM;
        if (cur->n)
                qsort(cur->v, cur->n, sizeof(*cur->v), port_cmp);
        for (size_t i = 0; i < n; i++) {
                const struct net_nft_port *hit =
                        cur->n ? bsearch(&p[i], cur->v, cur->n, sizeof(*cur->v), port_cmp) : NULL;
                size_t at = hit ? (size_t)(hit - cur->v) : 0;
                sel[i] = hit && !used[at];
                if (sel[i])
                        used[at] = true;
                k += sel[i];
        }
        return k;
}

/* One attempt: read the maps, delete what is there, checked against that generation. */
static int unpublish_plan(struct nl *nl, const struct net_nft_port *p, size_t n, bool *sel,
                          struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        _cleanup_free_ size_t *perm = NULL;
        struct port_vec cur = {0};
        struct batch_fail f;
        uint32_t genid;
        ssize_t present = 0;
        size_t k;
        int r;

        r = nl_genid(nl, &genid, err);
        if (r >= 0)
                r = dump_ports(nl, &cur, err);
        if (r >= 0)
                present = select_present(p, n, &cur, sel);
        free(cur.v);
        if (present < 0)
                return err_set(err, (int)present, "unpublishing %zu ports", n);
        if (r < 0 || present == 0)
                return r;
        perm = ports_by_map(p, sel, n, &k);
        r = perm ? batch_begin(&b, nl, genid) : -ENOMEM;
        if (r >= 0)
                r = build_ports(&b, NFT_MSG_DELSETELEM, 0, p, perm, k);
        if (r >= 0)
                r = batch_end(&b, nl);
        if (r < 0)
                return err_set(err, r, "building the batch that unpublishes %zu ports", k);
        if (batch_send(nl, &b, &f) == 0)
                return 0;
        return port_fail(err, &b, &f, p, perm, k, "unpublishing");
}

int net_nft_unpublish(const struct net_nft_port *p, size_t n, struct err *err)
{
        return net_nft_unpublish_in(TABLE, p, n, err);
}

int net_nft_unpublish_in(const char *table, const struct net_nft_port *p, size_t n, struct err *err)
{
        _cleanup_nl_ struct nl nl = {0};
        _cleanup_free_ bool *sel = NULL;
        struct retry rt = {0};
        int r;

        r = valid_ports(p, n, err);
        if (r < 0 || n == 0)
                return r;
        sel = malloc(n * sizeof(*sel));
        if (!sel)
                return err_set(err, -ENOMEM, "unpublishing %zu ports", n);
        r = nl_open(&nl, table, err);
        if (r < 0)
                return r;
        do
                r = unpublish_plan(&nl, p, n, sel, err);
        while (retry_again(&rt, &nl, r));
        return retry_gave_up(err, &rt, r);
}

/* ---- IPv6: dual-stack networks' filter, published ports and hairpin (table ip6 hawser) ---- */

enum { V6_FORWARD, V6_INTO, V6_OUT, V6_PREROUTING, V6_OUTPUT, V6_POSTROUTING, V6_COUNT };
static const struct chain_def v6_chains[V6_COUNT] = {
        [V6_FORWARD] = {"forward", "filter", NF_INET_FORWARD, 0},
        [V6_INTO] = {"into", NULL, 0, 0},
        [V6_OUT] = {"out", NULL, 0, 0},
        [V6_PREROUTING] = {"prerouting", "nat", NF_INET_PRE_ROUTING, -100},
        [V6_OUTPUT] = {"output", "nat", NF_INET_LOCAL_OUT, -100},
        [V6_POSTROUTING] = {"postrouting", "nat", NF_INET_POST_ROUTING, 100},
};

/* What one rule of the ip6 table matches; a NULL name or pointer, or a false flag, does
 * not. */
struct v6_match {
        bool established, dnat, fib_local, not_loopback;
        const char *iif, *oif, *oif_not;
        const struct in6_addr *saddr; /* ip6 saddr saddr/prefix */
        int prefix;
};

/* ip6 saddr a/prefix */
static void m_saddr6_subnet(struct rb *b, const struct in6_addr *a, int prefix)
{
        struct in6_addr mask, net = *a;

        memset(&mask, 0xff, sizeof(mask));
        net_ipam_mask6(&mask, prefix);
        net_ipam_mask6(&net, prefix);
        e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct ip6_hdr, ip6_src), 16, REG0);
        if (prefix < 128)
                e_mask_bytes(b, &mask, sizeof(mask));
        e_cmp(b, NFT_CMP_EQ, &net, sizeof(net));
}

/* ip6 daddr != ::1 */
static void m_daddr6_not_loopback(struct rb *b)
{
        static const struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;

        e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct ip6_hdr, ip6_dst), 16, REG0);
        e_cmp(b, NFT_CMP_NEQ, &lo, sizeof(lo));
}

/* What a rule of the ip6 table does after its matches: a verdict (a jump when to is set),
 * a masquerade, or the DNAT through a map. */
#define V6_MASQ      0x100 /* beyond every verdict (NF_* >= 0, NFT_* < 0) */
#define V6_DNAT(map) (0x200 + (map))

static int v6_rule(struct batch *bt, int chain, const struct v6_match *m, int verdict,
                   const char *to)
{
        _cleanup_(rule_freep) struct nftnl_rule *rule = nftnl_rule_alloc();
        struct rb b = {.rule = rule};
        struct nftnl_expr *e;
        struct nlmsghdr *nlh;

        if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, bt->table) < 0 ||
            nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, v6_chains[chain].name) < 0)
                return -ENOMEM;
        nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, NFPROTO_IPV6);
        if (m->established)
                m_ct_bits(&b, NFT_CT_STATE,
                          NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
        if (m->dnat)
                m_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
        if (m->fib_local)
                m_fib_local(&b, NFTA_FIB_F_DADDR);
        if (m->not_loopback)
                m_daddr6_not_loopback(&b);
        if (m->iif)
                m_ifname(&b, NFT_META_IIFNAME, NFT_CMP_EQ, m->iif);
        if (m->oif)
                m_ifname(&b, NFT_META_OIFNAME, NFT_CMP_EQ, m->oif);
        if (m->oif_not)
                m_ifname(&b, NFT_META_OIFNAME, NFT_CMP_NEQ, m->oif_not);
        if (m->saddr)
                m_saddr6_subnet(&b, m->saddr, m->prefix);
        if (verdict >= V6_DNAT(0)) {
                a_dnat(&b, true, (enum map_id)(verdict - V6_DNAT(0)), 0);
        } else if (verdict == V6_MASQ) {
                rb_add(&b, "masq", NULL, 0);
        } else {
                e = RB_ADD(&b, "immediate", {NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
                           {NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict});
                if (to && e && nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, to) < 0)
                        b.r = -ENOMEM;
        }
        if (b.r < 0)
                return b.r;
        nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "rule in chain",
                        v6_chains[chain].name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        return 0;
}

static int v6_table_msg(struct batch *b, uint16_t type, uint16_t flags)
{
        _cleanup_(table_freep) struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0)
                return -ENOMEM;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV6);
        nlh = batch_msg(b, type, flags, "ip6 table", b->table, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_table_nlmsg_build_payload(nlh, t);
        return 0;
}

/* Creates the chain if it is missing, then flushes it (DELRULE naming only the chain). */
static int v6_chain(struct batch *b, int chain)
{
        const struct chain_def *d = &v6_chains[chain];
        _cleanup_(chain_freep) struct nftnl_chain *c = nftnl_chain_alloc();
        _cleanup_(rule_freep) struct nftnl_rule *flush = nftnl_rule_alloc();
        struct nlmsghdr *nlh;

        if (!c || !flush || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table) < 0 ||
            nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name) < 0 ||
            nftnl_rule_set_str(flush, NFTNL_RULE_TABLE, b->table) < 0 ||
            nftnl_rule_set_str(flush, NFTNL_RULE_CHAIN, d->name) < 0)
                return -ENOMEM;
        if (d->type) {
                if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type) < 0)
                        return -ENOMEM;
                nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
                nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
        }
        nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "chain", d->name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nlh = batch_msg(b, NFT_MSG_DELRULE, 0, "rules of chain", d->name, 0);
        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, flush);
        return 0;
}

/* The whole ip6 table for these networks, its maps (and their elements) kept: replies and
 * published ports pass; traffic into a bridge only from itself (and not even that without
 * icc); out of a bridge unless it is internal; a container reaching a published port of
 * its own bridge through the host is masqueraded so the reply comes back the same way; a
 * network with masq6 has its traffic leaving the bridge masqueraded. */
static int v6_build(struct batch *b, const struct net_nft_network *v, size_t n)
{
        const struct v6_match any = {0}, est = {.established = true}, dnat = {.dnat = true};
        const struct v6_match pre = {.fib_local = true};
        const struct v6_match out = {.fib_local = true, .not_loopback = true};
        int r = v6_table_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE); /* so the delete finds one */

        if (r >= 0 && n == 0)
                return v6_table_msg(b, NFT_MSG_DELTABLE, 0);
        for (int i = 0; r >= 0 && i < V6_COUNT; i++)
                r = v6_chain(b, i);
        for (int m = 0; r >= 0 && m < MAP_COUNT; m++)
                r = emit_set(b, maps[1][m].name, NFT_SET_MAP, maps[1][m].key_type,
                             maps[1][m].key_len, &maps[1][m], 0, "map", maps[1][m].name);
        for (int m = MAP_COUNT - 1; r >= 0 && m >= 0; m--) {
                r = v6_rule(b, V6_PREROUTING, &pre, V6_DNAT(m), NULL);
                if (r >= 0)
                        r = v6_rule(b, V6_OUTPUT, &out, V6_DNAT(m), NULL);
        }
        if (r >= 0)
                r = v6_rule(b, V6_FORWARD, &est, NF_ACCEPT, NULL);
        if (r >= 0)
                r = v6_rule(b, V6_FORWARD, &dnat, NF_ACCEPT, NULL);
        if (r >= 0)
                r = v6_rule(b, V6_FORWARD, &any, NFT_JUMP, "into");
        if (r >= 0)
                r = v6_rule(b, V6_FORWARD, &any, NFT_JUMP, "out");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct v6_match self = {.iif = v[i].bridge, .oif = v[i].bridge};
                const struct v6_match into = {.oif = v[i].bridge};
                const struct v6_match from = {.iif = v[i].bridge};
                /* IPv6 postrouting sees no input interface: the hairpin is matched by the
                 * source subnet where it is known. */
                const struct v6_match hairpin = v[i].prefix6 > 0
                                                        ? (struct v6_match){.dnat = true,
                                                                            .saddr = &v[i].subnet6,
                                                                            .prefix = v[i].prefix6,
                                                                            .oif = v[i].bridge}
                                                        : (struct v6_match){.dnat = true,
                                                                            .iif = v[i].bridge,
                                                                            .oif = v[i].bridge};
                const struct v6_match masq = {
                        .saddr = &v[i].subnet6, .prefix = v[i].prefix6, .oif_not = v[i].bridge};

                r = v6_rule(b, V6_INTO, &self, v[i].icc ? NF_ACCEPT : NF_DROP, NULL);
                if (r >= 0)
                        r = v6_rule(b, V6_INTO, &into, NF_DROP, NULL);
                if (r >= 0)
                        r = v6_rule(b, V6_OUT, &from, v[i].internal ? NF_DROP : NF_ACCEPT, NULL);
                if (r >= 0)
                        r = v6_rule(b, V6_POSTROUTING, &hairpin, V6_MASQ, NULL);
                if (r >= 0 && v[i].prefix6 > 0 && v[i].masq6 && !v[i].internal)
                        r = v6_rule(b, V6_POSTROUTING, &masq, V6_MASQ, NULL);
        }
        return r;
}

int net_nft_ip6_sync(const struct net_nft_network *v, size_t n, struct err *err)
{
        return net_nft_ip6_sync_in(TABLE, v, n, err);
}

int net_nft_ip6_sync_in(const char *table, const struct net_nft_network *v, size_t n,
                        struct err *err)
{
        _cleanup_(batch_done) struct batch b = {0};
        _cleanup_nl_ struct nl nl = {0};
        struct batch_fail f;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = valid_bridge(v[i].bridge, err);
                if (r >= 0 && (v[i].prefix6 < 0 || v[i].prefix6 > 128))
                        r = err_set(err, -EINVAL,
                                    "network on bridge %s: IPv6 prefix length %d is not 0-128",
                                    v[i].bridge, v[i].prefix6);
                if (r < 0)
                        return r;
        }
        r = nl_open(&nl, table, err);
        if (r < 0)
                return r;
        r = batch_begin(&b, &nl, 0);
        b.family = NFPROTO_IPV6;
        if (r >= 0)
                r = v6_build(&b, v, n);
        if (r >= 0)
                r = batch_end(&b, &nl);
        if (r < 0)
                return err_set(err, r, "building the nftables table ip6 %s", table);
        r = batch_send(&nl, &b, &f);
        if (r < 0) {
                char ctx[64];
                snprintf(ctx, sizeof(ctx), "replacing the nftables table ip6 %s", table);
                return fail_err(err, &b, &f, ctx);
        }
        return 0;
}
