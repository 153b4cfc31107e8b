#include <errno.h>
#include <string.h>

#include "dns/packet.h"

/* A pointer may stand in for each label; a 255-octet name has at most 127 labels. */
#define DNS_PKT_MAX_HOPS 127
/* OPT record with no options: root name, type, class, TTL, rdlength. */
#define DNS_PKT_OPT_LEN 11
/* Owner 0xC00C, type, class, TTL, rdlength. */
#define DNS_PKT_RR_FIXED 12

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
        put16(p, (uint16_t)(v >> 16));
        put16(p + 2, (uint16_t)v);
}

static uint8_t ascii_lower(uint8_t c)
{
        return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int dns_pkt_header_parse(const uint8_t *msg, size_t len, struct dns_pkt_header *ret)
{
        if (len < DNS_PKT_HEADER_LEN)
                return -EBADMSG;
        *ret = (struct dns_pkt_header){
                .id = get16(msg),
                .flags = get16(msg + 2),
                .qdcount = get16(msg + 4),
                .ancount = get16(msg + 6),
                .nscount = get16(msg + 8),
                .arcount = get16(msg + 10),
        };
        return 0;
}

/* Appends one label in presentation form at out[*o]; -ENOBUFS when it (plus NUL) won't fit. */
static int label_to_text(const uint8_t *label, size_t n, char *out, size_t out_size, size_t *o)
{
        static const char digits[] = "0123456789";

        for (size_t i = 0; i < n; i++) {
                uint8_t c = label[i];
                if (*o + 5 > out_size)
                        return -ENOBUFS;
                if (c == '.' || c == '\\') {
                        out[(*o)++] = '\\';
                        out[(*o)++] = (char)c;
                } else if (c <= 0x20 || c >= 0x7f) {
                        out[(*o)++] = '\\';
                        out[(*o)++] = digits[c / 100];
                        out[(*o)++] = digits[c / 10 % 10];
                        out[(*o)++] = digits[c % 10];
                } else {
                        out[(*o)++] = (char)c;
                }
        }
        return 0;
}

int dns_pkt_name_decode(const uint8_t *msg, size_t len, size_t *off, char *out, size_t out_size)
{
        size_t pos = *off, run_start = *off, end = 0, wire = 0, o = 0;
        unsigned hops = 0;
        int r;

        if (out_size < 1)
                return -ENOBUFS;
        for (;;) {
                if (pos >= len)
                        return -EBADMSG;
                uint8_t c = msg[pos];
                if ((c & 0xc0) == 0xc0) {
                        if (pos + 1 >= len)
                                return -EBADMSG;
                        size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
                        /* Strictly before the run that holds the pointer: every hop moves
                         * backwards, so no loop can form whatever the hop limit. */
                        if (target >= run_start || target < DNS_PKT_HEADER_LEN ||
                            ++hops > DNS_PKT_MAX_HOPS)
                                return -EBADMSG;
                        if (!end)
                                end = pos + 2;
                        pos = run_start = target;
                        continue;
                }
                if (c & 0xc0) /* 0x40 extended and 0x80 reserved label types */
                        return -EBADMSG;
                wire += 1u + c;
                if (wire > DNS_PKT_NAME_MAX)
                        return -EBADMSG;
                if (c == 0)
                        break;
                if (pos + 1 + c > len)
                        return -EBADMSG;
                if (o > 0) {
                        if (o + 2 > out_size)
                                return -ENOBUFS;
                        out[o++] = '.';
                }
                r = label_to_text(msg + pos + 1, c, out, out_size, &o);
                if (r < 0)
                        return r;
                pos += 1u + c;
        }
        out[o] = '\0';
        *off = end ? end : pos + 1;
        return 0;
}

/* Reads one presentation-form character at *p, resolving \X and \DDD. */
static int text_char(const char **p, uint8_t *ret)
{
        const char *s = *p;

        if (*s != '\\') {
                *ret = (uint8_t)*s;
                *p = s + 1;
                return 0;
        }
        s++;
        if (*s >= '0' && *s <= '9') {
                unsigned v = 0;
                for (int i = 0; i < 3; i++, s++) {
                        if (*s < '0' || *s > '9')
                                return -EINVAL;
                        v = v * 10 + (unsigned)(*s - '0');
                }
                if (v > 255)
                        return -EINVAL;
                *ret = (uint8_t)v;
        } else {
                if (!*s)
                        return -EINVAL;
                *ret = (uint8_t)*s++;
        }
        *p = s;
        return 0;
}

int dns_pkt_name_encode(const char *text, uint8_t *out, size_t out_size)
{
        uint8_t wire[DNS_PKT_NAME_MAX];
        size_t len = 0;
        const char *p = text;
        int r;

        if (!strcmp(p, "."))
                p++;
        while (*p) {
                size_t label = len++;
                while (*p && *p != '.') {
                        /* Room for this octet and the root label that ends the name. */
                        if (len - label - 1 >= DNS_PKT_LABEL_MAX || len + 2 > DNS_PKT_NAME_MAX)
                                return -EINVAL;
                        r = text_char(&p, &wire[len]);
                        if (r < 0)
                                return r;
                        len++;
                }
                if (len - label - 1 == 0)
                        return -EINVAL;
                wire[label] = (uint8_t)(len - label - 1);
                if (*p == '.')
                        p++;
        }
        wire[len++] = 0;
        if (len > out_size)
                return -ENOBUFS;
        memcpy(out, wire, len);
        return (int)len;
}

int dns_pkt_rr_parse(const uint8_t *msg, size_t len, size_t *off, struct dns_pkt_rr *ret)
{
        size_t pos = *off;
        int r;

        r = dns_pkt_name_decode(msg, len, &pos, ret->name, sizeof(ret->name));
        if (r < 0)
                return r == -ENOBUFS ? -EBADMSG : r;
        if (len - pos < 10)
                return -EBADMSG;
        ret->type = get16(msg + pos);
        ret->rclass = get16(msg + pos + 2);
        ret->ttl = get32(msg + pos + 4);
        ret->rdlength = get16(msg + pos + 8);
        pos += 10;
        if (len - pos < ret->rdlength)
                return -EBADMSG;
        ret->rdata = pos;
        *off = pos + ret->rdlength;
        return 0;
}

/* RFC 6891 6.1: options are code, length, data, and must fill rdata exactly. */
static int opt_options_check(const uint8_t *p, size_t n)
{
        while (n > 0) {
                if (n < 4)
                        return -EBADMSG;
                size_t olen = get16(p + 2);
                if (n - 4 < olen)
                        return -EBADMSG;
                p += 4 + olen;
                n -= 4 + olen;
        }
        return 0;
}

static int parse_additional(const uint8_t *msg, size_t len, size_t *off, unsigned count,
                            struct dns_pkt_query *q)
{
        struct dns_pkt_rr rr;
        int r;

        for (unsigned i = 0; i < count; i++) {
                r = dns_pkt_rr_parse(msg, len, off, &rr);
                if (r < 0)
                        return r;
                if (rr.type != DNS_PKT_TYPE_OPT)
                        continue;
                /* RFC 6891 6.1.1: one OPT at most, owned by the root. */
                if (q->edns || rr.name[0])
                        return -EBADMSG;
                r = opt_options_check(msg + rr.rdata, rr.rdlength);
                if (r < 0)
                        return r;
                q->edns = true;
                q->edns_udp_size = rr.rclass < DNS_PKT_UDP_MIN ? DNS_PKT_UDP_MIN : rr.rclass;
                q->edns_version = (uint8_t)(rr.ttl >> 16);
                q->edns_do = rr.ttl & 0x8000;
        }
        return 0;
}

int dns_pkt_parse_query(const uint8_t *msg, size_t len, struct dns_pkt_query *ret)
{
        struct dns_pkt_header h;
        struct dns_pkt_query q = {0};
        size_t off = DNS_PKT_HEADER_LEN;
        int r;

        r = dns_pkt_header_parse(msg, len, &h);
        if (r < 0)
                return r;
        if (h.flags & DNS_PKT_FLAG_QR)
                return -EPROTO;
        if (DNS_PKT_OPCODE(h.flags) != 0)
                return -EOPNOTSUPP;
        if (h.qdcount != 1 || h.ancount || h.nscount)
                return -EBADMSG;
        r = dns_pkt_name_decode(msg, len, &off, q.qname, sizeof(q.qname));
        if (r < 0)
                return -EBADMSG;
        if (len - off < 4)
                return -EBADMSG;
        q.qtype = get16(msg + off);
        q.qclass = get16(msg + off + 2);
        off += 4;
        q.question_end = off;
        r = parse_additional(msg, len, &off, h.arcount, &q);
        if (r < 0)
                return r;
        if (off != len)
                return -EBADMSG;
        q.id = h.id;
        q.flags = h.flags;
        memcpy(ret, &q, sizeof(q));
        return 0;
}

static uint16_t reply_flags(uint16_t query_flags, uint16_t rcode)
{
        return (uint16_t)(DNS_PKT_FLAG_QR | (query_flags & (0xf << 11)) |
                          (query_flags & DNS_PKT_FLAG_RD) | DNS_PKT_FLAG_RA | (rcode & 0xf));
}

int dns_pkt_error_reply(const uint8_t *query, size_t len, enum dns_pkt_rcode rcode, uint8_t *buf,
                        size_t cap)
{
        struct dns_pkt_header h;

        if (dns_pkt_header_parse(query, len, &h) < 0 || (h.flags & DNS_PKT_FLAG_QR))
                return -EBADMSG;
        if (cap < DNS_PKT_HEADER_LEN)
                return -ENOBUFS;
        memset(buf, 0, DNS_PKT_HEADER_LEN);
        put16(buf, h.id);
        put16(buf + 2, reply_flags(h.flags, (uint16_t)rcode));
        return DNS_PKT_HEADER_LEN;
}

size_t dns_pkt_udp_limit(const struct dns_pkt_query *q)
{
        if (!q->edns)
                return DNS_PKT_UDP_MIN;
        return q->edns_udp_size < DNS_PKT_EDNS_SIZE ? q->edns_udp_size : DNS_PKT_EDNS_SIZE;
}

int dns_pkt_writer_init(struct dns_pkt_writer *w, uint8_t *buf, size_t limit, const uint8_t *query,
                        const struct dns_pkt_query *q, enum dns_pkt_rcode rcode, bool authoritative)
{
        size_t reserve = q->edns ? DNS_PKT_OPT_LEN : 0;
        uint16_t flags = reply_flags(q->flags, (uint16_t)rcode);

        if (limit > DNS_PKT_MAX)
                limit = DNS_PKT_MAX;
        if (q->question_end < DNS_PKT_HEADER_LEN || q->question_end + reserve > limit)
                return -ENOBUFS;
        if (authoritative)
                flags |= DNS_PKT_FLAG_AA;
        memcpy(buf + DNS_PKT_HEADER_LEN, query + DNS_PKT_HEADER_LEN,
               q->question_end - DNS_PKT_HEADER_LEN);
        memset(buf, 0, DNS_PKT_HEADER_LEN);
        put16(buf, q->id);
        put16(buf + 2, flags);
        put16(buf + 4, 1);
        *w = (struct dns_pkt_writer){
                .buf = buf,
                .limit = limit,
                .len = q->question_end,
                .reserve = reserve,
                .rcode = (uint16_t)rcode,
                .edns = q->edns,
                .edns_do = q->edns_do,
        };
        return 0;
}

int dns_pkt_writer_add(struct dns_pkt_writer *w, uint16_t type, uint32_t ttl, const void *rdata,
                       uint16_t rdlength)
{
        uint8_t *p;

        if (w->truncated || w->len + DNS_PKT_RR_FIXED + rdlength + w->reserve > w->limit) {
                w->truncated = true;
                w->buf[2] |= DNS_PKT_FLAG_TC >> 8;
                return -EMSGSIZE;
        }
        p = w->buf + w->len;
        put16(p, 0xc000 | DNS_PKT_HEADER_LEN);
        put16(p + 2, type);
        put16(p + 4, DNS_PKT_CLASS_IN);
        put32(p + 6, ttl);
        put16(p + 10, rdlength);
        memcpy(p + DNS_PKT_RR_FIXED, rdata, rdlength);
        w->len += DNS_PKT_RR_FIXED + rdlength;
        w->ancount++;
        return 0;
}

int dns_pkt_writer_add_a(struct dns_pkt_writer *w, uint32_t ttl, struct in_addr addr)
{
        return dns_pkt_writer_add(w, DNS_PKT_TYPE_A, ttl, &addr.s_addr, 4);
}

int dns_pkt_writer_add_aaaa(struct dns_pkt_writer *w, uint32_t ttl, const struct in6_addr *addr)
{
        return dns_pkt_writer_add(w, DNS_PKT_TYPE_AAAA, ttl, addr->s6_addr, 16);
}

int dns_pkt_writer_add_ptr(struct dns_pkt_writer *w, uint32_t ttl, const char *target)
{
        uint8_t wire[DNS_PKT_NAME_MAX];
        int n = dns_pkt_name_encode(target, wire, sizeof(wire));

        if (n < 0)
                return -EINVAL;
        return dns_pkt_writer_add(w, DNS_PKT_TYPE_PTR, ttl, wire, (uint16_t)n);
}

size_t dns_pkt_writer_finish(struct dns_pkt_writer *w)
{
        put16(w->buf + 6, w->ancount);
        if (w->edns) {
                uint8_t *p = w->buf + w->len;
                p[0] = 0;
                put16(p + 1, DNS_PKT_TYPE_OPT);
                put16(p + 3, DNS_PKT_EDNS_SIZE);
                p[5] = (uint8_t)(w->rcode >> 4);
                p[6] = 0;
                put16(p + 7, w->edns_do ? 0x8000 : 0);
                put16(p + 9, 0);
                w->len += DNS_PKT_OPT_LEN;
                put16(w->buf + 10, 1);
        }
        return w->len;
}

int dns_pkt_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type,
                        bool edns)
{
        uint8_t wire[DNS_PKT_NAME_MAX];
        int n = dns_pkt_name_encode(name, wire, sizeof(wire));
        size_t len;

        if (n < 0)
                return n;
        len = DNS_PKT_HEADER_LEN + (size_t)n + 4 + (edns ? DNS_PKT_OPT_LEN : 0);
        if (len > cap)
                return -ENOBUFS;
        memset(buf, 0, DNS_PKT_HEADER_LEN);
        put16(buf, id);
        put16(buf + 2, DNS_PKT_FLAG_RD);
        put16(buf + 4, 1);
        put16(buf + 10, edns ? 1 : 0);
        memcpy(buf + DNS_PKT_HEADER_LEN, wire, (size_t)n);
        put16(buf + DNS_PKT_HEADER_LEN + n, type);
        put16(buf + DNS_PKT_HEADER_LEN + n + 2, DNS_PKT_CLASS_IN);
        if (edns) {
                uint8_t *p = buf + DNS_PKT_HEADER_LEN + n + 4;
                memset(p, 0, DNS_PKT_OPT_LEN);
                put16(p + 1, DNS_PKT_TYPE_OPT);
                put16(p + 3, DNS_PKT_EDNS_SIZE);
        }
        return (int)len;
}

/* Length of the uncompressed question at offset 12, or 0 when it is missing or compressed. */
static size_t question_len(const uint8_t *msg, size_t len)
{
        size_t pos = DNS_PKT_HEADER_LEN;

        if (len < DNS_PKT_HEADER_LEN || get16(msg + 4) != 1)
                return 0;
        while (pos < len && msg[pos] != 0) {
                if (msg[pos] > DNS_PKT_LABEL_MAX)
                        return 0;
                pos += 1u + msg[pos];
        }
        if (pos >= len || pos + 1 - DNS_PKT_HEADER_LEN > DNS_PKT_NAME_MAX || len - pos - 1 < 4)
                return 0;
        return pos + 1 + 4 - DNS_PKT_HEADER_LEN;
}

bool dns_pkt_same_question(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
        size_t n = question_len(a, alen);

        if (n == 0 || n != question_len(b, blen))
                return false;
        /* Length octets are below 'A', so folding the whole name is safe; type and class are not. */
        for (size_t i = DNS_PKT_HEADER_LEN; i < DNS_PKT_HEADER_LEN + n - 4; i++)
                if (ascii_lower(a[i]) != ascii_lower(b[i]))
                        return false;
        return !memcmp(a + DNS_PKT_HEADER_LEN + n - 4, b + DNS_PKT_HEADER_LEN + n - 4, 4);
}

int dns_pkt_truncate(uint8_t *msg, size_t len)
{
        size_t n = question_len(msg, len);

        if (n == 0)
                return -EBADMSG;
        msg[2] |= DNS_PKT_FLAG_TC >> 8;
        memset(msg + 6, 0, 6);
        return (int)(DNS_PKT_HEADER_LEN + n);
}
