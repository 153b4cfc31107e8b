#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "dns/packet.h"

/* The corpus replay goes through the fuzz target itself. */
#include "tests/fuzz/dns_packet_fuzz.c"
#include "tests/unit/corpus.h"

#define CORPUS "tests/fuzz/corpus/dns_packet"

static size_t build(uint8_t *buf, const char *name, uint16_t type, bool edns)
{
        int n = dns_pkt_query_build(buf, 512, 0x1234, name, type, edns);

        assert_true(n > 0);
        return (size_t)n;
}

static void test_parse_simple_query(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "Web1.Hawser.Internal", DNS_PKT_TYPE_A, false);
        struct dns_pkt_query q;

        (void)state;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(q.id, 0x1234);
        assert_true(q.flags & DNS_PKT_FLAG_RD);
        assert_int_equal(q.qtype, DNS_PKT_TYPE_A);
        assert_int_equal(q.qclass, DNS_PKT_CLASS_IN);
        assert_string_equal(q.qname, "Web1.Hawser.Internal");
        assert_int_equal(q.question_end, len);
        assert_false(q.edns);
        assert_int_equal(dns_pkt_udp_limit(&q), DNS_PKT_UDP_MIN);
}

static void test_parse_edns(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_AAAA, true);
        struct dns_pkt_query q;

        (void)state;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_true(q.edns);
        assert_int_equal(q.edns_version, 0);
        assert_int_equal(q.edns_udp_size, DNS_PKT_EDNS_SIZE);
        assert_int_equal(q.question_end, len - 11);
        assert_int_equal(dns_pkt_udp_limit(&q), DNS_PKT_EDNS_SIZE);

        /* A client size below 512 counts as 512; above ours is capped to ours. */
        buf[len - 11 + 3] = 0x01;
        buf[len - 11 + 4] = 0x00;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(dns_pkt_udp_limit(&q), DNS_PKT_UDP_MIN);
        buf[len - 11 + 3] = 0x10;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(q.edns_udp_size, 4096);
        assert_int_equal(dns_pkt_udp_limit(&q), DNS_PKT_EDNS_SIZE);
}

static void test_parse_edns_options_and_errors(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_A, true);
        struct dns_pkt_query q;
        /* A cookie option (code 10, 8 octets). */
        static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};

        (void)state;
        memcpy(buf + len, cookie, sizeof(cookie));
        buf[len - 1] = sizeof(cookie);
        assert_int_equal(dns_pkt_parse_query(buf, len + sizeof(cookie), &q), 0);
        assert_true(q.edns);

        /* Option length past the rdata. */
        buf[len + 3] = 9;
        assert_int_equal(dns_pkt_parse_query(buf, len + sizeof(cookie), &q), -EBADMSG);
        buf[len + 3] = 8;

        /* Two OPT records. */
        len = build(buf, "web1", DNS_PKT_TYPE_A, true);
        memcpy(buf + len, buf + len - 11, 11);
        buf[11] = 2;
        assert_int_equal(dns_pkt_parse_query(buf, len + 11, &q), -EBADMSG);

        /* OPT owned by a name other than the root. */
        len = build(buf, "web1", DNS_PKT_TYPE_A, true);
        memmove(buf + len - 10 + 1, buf + len - 10, 10);
        buf[len - 11] = 0xc0;
        buf[len - 10] = 12;
        assert_int_equal(dns_pkt_parse_query(buf, len + 1, &q), -EBADMSG);
}

static void test_parse_edns_version(void **state)
{
        uint8_t buf[512], out[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_A, true);
        struct dns_pkt_query q;
        struct dns_pkt_writer w;
        size_t n;

        (void)state;
        buf[len - 11 + 6] = 1; /* version */
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(q.edns_version, 1);
        assert_int_equal(
                dns_pkt_writer_init(&w, out, sizeof(out), buf, &q, DNS_PKT_RCODE_BADVERS, false),
                0);
        n = dns_pkt_writer_finish(&w);
        /* BADVERS = 16: 0 in the header, 1 in the OPT's extended rcode. */
        assert_int_equal(out[3] & 0xf, 0);
        assert_int_equal(out[n - 11 + 5], 1);
}

static void test_parse_wrong_counts(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_A, false);
        struct dns_pkt_query q;
        static const struct {
                size_t off;
                uint8_t value;
        } cases[] = {{5, 0}, {5, 2}, {7, 1}, {9, 1}, {11, 1}};

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                uint8_t copy[512];
                memcpy(copy, buf, len);
                copy[cases[i].off] = cases[i].value;
                assert_int_equal(dns_pkt_parse_query(copy, len, &q), -EBADMSG);
        }
}

static void test_parse_flags(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_A, false);
        struct dns_pkt_query q;

        (void)state;
        buf[2] |= 0x80; /* QR */
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), -EPROTO);
        buf[2] = 0x10; /* opcode 2 (STATUS) */
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), -EOPNOTSUPP);
}

static void test_parse_truncated_and_trailing(void **state)
{
        uint8_t buf[512];
        size_t len = build(buf, "web1.hawser.internal", DNS_PKT_TYPE_A, true);
        struct dns_pkt_query q;

        (void)state;
        for (size_t i = 0; i < len; i++)
                assert_int_equal(dns_pkt_parse_query(buf, i, &q), -EBADMSG);
        buf[len] = 0;
        assert_int_equal(dns_pkt_parse_query(buf, len + 1, &q), -EBADMSG);
}

/* Header with one question, then "web1" at 12, then a question "api" + pointer to 12. */
static size_t compressed_query(uint8_t *buf)
{
        static const uint8_t msg[] = {
                0xab, 0xcd, 0x01, 0x00, 0,   1,    0,  0, 0, 0, 0,
                0,    3,    'a',  'p',  'i', 0xc0, 18, 0, 1, 0, 1,
        };
        memcpy(buf, msg, sizeof(msg));
        return sizeof(msg);
}

static void test_name_compression(void **state)
{
        /* 12: "hawser" "internal" root; 29: "web1" -> 12; 36: "x" -> 29 */
        static const uint8_t msg[] = {
                0,   0,   0,   0,   0,   0,   0,    0,   0,   0,   0,    0,   6,   'h',
                'a', 'w', 's', 'e', 'r', 8,   'i',  'n', 't', 'e', 'r',  'n', 'a', 'l',
                0,   4,   'w', 'e', 'b', '1', 0xc0, 12,  1,   'x', 0xc0, 29,
        };
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off = 36;

        (void)state;
        assert_int_equal(dns_pkt_name_decode(msg, sizeof(msg), &off, name, sizeof(name)), 0);
        assert_string_equal(name, "x.web1.hawser.internal");
        assert_int_equal(off, sizeof(msg)); /* past the first pointer, not the target */
        off = 29;
        assert_int_equal(dns_pkt_name_decode(msg, sizeof(msg), &off, name, sizeof(name)), 0);
        assert_string_equal(name, "web1.hawser.internal");
        assert_int_equal(off, 36);
}

static void test_name_loops(void **state)
{
        uint8_t msg[64] = {0};
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off;
        struct dns_pkt_query q;

        (void)state;
        /* Pointer to itself. */
        msg[12] = 0xc0;
        msg[13] = 12;
        off = 12;
        assert_int_equal(dns_pkt_name_decode(msg, 14, &off, name, sizeof(name)), -EBADMSG);
        /* Label then a pointer back to the label: points before the pointer, but not before the
         * run it ends. */
        msg[12] = 1;
        msg[13] = 'a';
        msg[14] = 0xc0;
        msg[15] = 12;
        off = 12;
        assert_int_equal(dns_pkt_name_decode(msg, 16, &off, name, sizeof(name)), -EBADMSG);
        /* Two names pointing at each other. */
        msg[20] = 0xc0;
        msg[21] = 22;
        msg[22] = 0xc0;
        msg[23] = 20;
        off = 22;
        assert_int_equal(dns_pkt_name_decode(msg, 24, &off, name, sizeof(name)), -EBADMSG);
        /* Forward pointer and pointer into the header. */
        msg[30] = 0xc0;
        msg[31] = 40;
        off = 30;
        assert_int_equal(dns_pkt_name_decode(msg, 64, &off, name, sizeof(name)), -EBADMSG);
        msg[31] = 4;
        assert_int_equal(dns_pkt_name_decode(msg, 64, &off, name, sizeof(name)), -EBADMSG);
        /* Reserved label types 0x40 and 0x80. */
        msg[30] = 0x40;
        assert_int_equal(dns_pkt_name_decode(msg, 64, &off, name, sizeof(name)), -EBADMSG);
        msg[30] = 0x80;
        assert_int_equal(dns_pkt_name_decode(msg, 64, &off, name, sizeof(name)), -EBADMSG);
        /* The first name of a query can only point into the header. */
        compressed_query(msg);
        msg[12] = 0xc0;
        msg[13] = 0;
        assert_int_equal(dns_pkt_parse_query(msg, 22, &q), -EBADMSG);
}

/* A name of count labels of size octets each, as wire form at buf + 12. */
static size_t long_name_query(uint8_t *buf, unsigned count, unsigned size)
{
        size_t off = DNS_PKT_HEADER_LEN;

        memset(buf, 0, DNS_PKT_HEADER_LEN);
        buf[5] = 1;
        for (unsigned i = 0; i < count; i++) {
                buf[off++] = (uint8_t)size;
                memset(buf + off, 'a' + (int)(i % 26), size);
                off += size;
        }
        buf[off++] = 0;
        memcpy(buf + off, "\0\1\0\1", 4);
        return off + 4;
}

static void test_name_limits(void **state)
{
        uint8_t buf[1024];
        struct dns_pkt_query q;
        size_t len;

        (void)state;
        len = long_name_query(buf, 1, 63);
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(strlen(q.qname), 63);
        len = long_name_query(buf, 1, 64); /* 0x40: reserved label type */
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), -EBADMSG);
        /* 4 * 64 = 256 octets with the root: one too many. 3 * 64 + 62 + 1 = 255: fine. */
        len = long_name_query(buf, 4, 63);
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), -EBADMSG);
        len = long_name_query(buf, 3, 63);
        buf[DNS_PKT_HEADER_LEN + 192] = 61;
        memset(buf + DNS_PKT_HEADER_LEN + 193, 'z', 61);
        buf[DNS_PKT_HEADER_LEN + 254] = 0;
        memcpy(buf + DNS_PKT_HEADER_LEN + 255, "\0\1\0\1", 4);
        len = DNS_PKT_HEADER_LEN + 259;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(strlen(q.qname), 253);
        /* 127 one-octet labels: 255 octets. 128: too long. */
        len = long_name_query(buf, 127, 1);
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        len = long_name_query(buf, 128, 1);
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), -EBADMSG);
}

static void test_name_escapes(void **state)
{
        static const uint8_t msg[] = {3, 'a', '.', 'b', 2, 0, '\\', 0};
        char name[DNS_PKT_NAME_TEXT_MAX], small[8];
        uint8_t wire[DNS_PKT_NAME_MAX];
        size_t off = 0;
        uint8_t full[12 + sizeof(msg)] = {0};

        (void)state;
        memcpy(full + 12, msg, sizeof(msg));
        off = 12;
        assert_int_equal(dns_pkt_name_decode(full, sizeof(full), &off, name, sizeof(name)), 0);
        assert_string_equal(name, "a\\.b.\\000\\\\");
        assert_int_equal(dns_pkt_name_encode(name, wire, sizeof(wire)), sizeof(msg));
        assert_memory_equal(wire, msg, sizeof(msg));
        off = 12;
        assert_int_equal(dns_pkt_name_decode(full, sizeof(full), &off, small, sizeof(small)),
                         -ENOBUFS);
        assert_int_equal(off, 12);
}

static void test_name_encode(void **state)
{
        uint8_t wire[DNS_PKT_NAME_MAX];
        char label64[70], long_name[300];

        (void)state;
        assert_int_equal(dns_pkt_name_encode("", wire, sizeof(wire)), 1);
        assert_int_equal(dns_pkt_name_encode(".", wire, sizeof(wire)), 1);
        assert_int_equal(dns_pkt_name_encode("web1.", wire, sizeof(wire)), 6);
        assert_memory_equal(wire, "\4web1", 6);
        assert_int_equal(dns_pkt_name_encode("a..b", wire, sizeof(wire)), -EINVAL);
        assert_int_equal(dns_pkt_name_encode(".a", wire, sizeof(wire)), -EINVAL);
        assert_int_equal(dns_pkt_name_encode("a\\", wire, sizeof(wire)), -EINVAL);
        assert_int_equal(dns_pkt_name_encode("a\\25", wire, sizeof(wire)), -EINVAL);
        assert_int_equal(dns_pkt_name_encode("a\\256", wire, sizeof(wire)), -EINVAL);
        assert_int_equal(dns_pkt_name_encode("web1", wire, 3), -ENOBUFS);
        memset(label64, 'x', 64);
        label64[64] = '\0';
        assert_int_equal(dns_pkt_name_encode(label64, wire, sizeof(wire)), -EINVAL);
        label64[63] = '\0';
        assert_int_equal(dns_pkt_name_encode(label64, wire, sizeof(wire)), 65);
        /* 127 labels "a": 254 characters of text, 255 octets; one more label is too long. */
        for (int i = 0; i < 128; i++)
                memcpy(long_name + 2 * i, "a.", 2);
        long_name[253] = '\0';
        assert_int_equal(dns_pkt_name_encode(long_name, wire, sizeof(wire)), 255);
        long_name[253] = '.';
        long_name[255] = '\0';
        assert_int_equal(dns_pkt_name_encode(long_name, wire, sizeof(wire)), -EINVAL);
}

static void test_error_reply(void **state)
{
        uint8_t buf[512], out[512];
        size_t len = build(buf, "web1", DNS_PKT_TYPE_A, false);
        struct dns_pkt_header h;

        (void)state;
        assert_int_equal(dns_pkt_error_reply(buf, len, DNS_PKT_RCODE_FORMERR, out, sizeof(out)),
                         12);
        assert_int_equal(dns_pkt_header_parse(out, 12, &h), 0);
        assert_int_equal(h.id, 0x1234);
        assert_int_equal(h.flags & 0xf, DNS_PKT_RCODE_FORMERR);
        assert_true(h.flags & DNS_PKT_FLAG_QR);
        assert_true(h.flags & DNS_PKT_FLAG_RD);
        assert_int_equal(h.qdcount + h.ancount + h.nscount + h.arcount, 0);
        assert_int_equal(dns_pkt_error_reply(buf, 11, DNS_PKT_RCODE_FORMERR, out, sizeof(out)),
                         -EBADMSG);
        buf[2] |= 0x80;
        assert_int_equal(dns_pkt_error_reply(buf, len, DNS_PKT_RCODE_FORMERR, out, sizeof(out)),
                         -EBADMSG);
}

/* Parses a response: header and every answer; returns the answer count. */
static unsigned parse_answers(const uint8_t *msg, size_t len, struct dns_pkt_header *h,
                              struct dns_pkt_rr *rrs, unsigned max)
{
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off = DNS_PKT_HEADER_LEN;

        assert_int_equal(dns_pkt_header_parse(msg, len, h), 0);
        assert_int_equal(h->qdcount, 1);
        assert_int_equal(dns_pkt_name_decode(msg, len, &off, name, sizeof(name)), 0);
        off += 4;
        for (unsigned i = 0; i < (unsigned)h->ancount + h->arcount; i++) {
                struct dns_pkt_rr rr;
                assert_int_equal(dns_pkt_rr_parse(msg, len, &off, &rr), 0);
                if (i < max)
                        rrs[i] = rr;
        }
        assert_int_equal(off, len);
        return h->ancount;
}

static void test_writer_a_round_trip(void **state)
{
        uint8_t buf[512], out[512];
        size_t len = build(buf, "WeB1.hawser.internal", DNS_PKT_TYPE_A, true), n;
        struct dns_pkt_query q;
        struct dns_pkt_writer w;
        struct dns_pkt_header h;
        struct dns_pkt_rr rrs[3];

        (void)state;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(dns_pkt_writer_init(&w, out, dns_pkt_udp_limit(&q), buf, &q,
                                             DNS_PKT_RCODE_NOERROR, true),
                         0);
        assert_int_equal(dns_pkt_writer_add_a(&w, 0, (struct in_addr){htonl(0xac110002)}), 0);
        assert_int_equal(dns_pkt_writer_add_a(&w, 0, (struct in_addr){htonl(0xac110003)}), 0);
        n = dns_pkt_writer_finish(&w);
        assert_int_equal(parse_answers(out, n, &h, rrs, 3), 2);
        assert_int_equal(h.id, 0x1234);
        assert_true(h.flags & DNS_PKT_FLAG_QR);
        assert_true(h.flags & DNS_PKT_FLAG_AA);
        assert_false(h.flags & DNS_PKT_FLAG_TC);
        assert_int_equal(h.arcount, 1);
        /* The owner is a pointer to the question: the client's case comes back. */
        assert_int_equal(out[q.question_end], 0xc0);
        assert_int_equal(out[q.question_end + 1], 0x0c);
        assert_string_equal(rrs[0].name, "WeB1.hawser.internal");
        assert_int_equal(rrs[0].type, DNS_PKT_TYPE_A);
        assert_int_equal(rrs[0].ttl, 0);
        assert_int_equal(rrs[0].rdlength, 4);
        assert_memory_equal(out + rrs[1].rdata, "\xac\x11\x00\x03", 4);
        assert_int_equal(rrs[2].type, DNS_PKT_TYPE_OPT);
        assert_string_equal(rrs[2].name, "");
        assert_int_equal(rrs[2].rclass, DNS_PKT_EDNS_SIZE);
        assert_true(dns_pkt_same_question(buf, len, out, n));
}

static void test_writer_ptr_and_rcodes(void **state)
{
        uint8_t buf[512], out[512];
        size_t len = build(buf, "2.0.17.172.in-addr.arpa", DNS_PKT_TYPE_PTR, false), n;
        struct dns_pkt_query q;
        struct dns_pkt_writer w;
        struct dns_pkt_header h;
        struct dns_pkt_rr rr;
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off;

        (void)state;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(dns_pkt_writer_init(&w, out, 512, buf, &q, DNS_PKT_RCODE_NOERROR, true),
                         0);
        assert_int_equal(dns_pkt_writer_add_ptr(&w, 0, "web1."), 0);
        assert_int_equal(dns_pkt_writer_add_ptr(&w, 0, "a..b"), -EINVAL);
        n = dns_pkt_writer_finish(&w);
        assert_int_equal(parse_answers(out, n, &h, &rr, 1), 1);
        assert_int_equal(h.arcount, 0);
        off = rr.rdata;
        assert_int_equal(dns_pkt_name_decode(out, n, &off, name, sizeof(name)), 0);
        assert_string_equal(name, "web1");

        for (int rcode = DNS_PKT_RCODE_NOERROR; rcode <= DNS_PKT_RCODE_REFUSED; rcode++) {
                assert_int_equal(dns_pkt_writer_init(&w, out, 512, buf, &q,
                                                     (enum dns_pkt_rcode)rcode, false),
                                 0);
                n = dns_pkt_writer_finish(&w);
                assert_int_equal(parse_answers(out, n, &h, &rr, 1), 0);
                assert_int_equal(h.flags & 0xf, rcode);
                assert_false(h.flags & DNS_PKT_FLAG_AA);
        }
}

static void test_writer_truncates(void **state)
{
        uint8_t buf[512], out[DNS_PKT_MAX];
        size_t len = build(buf, "many", DNS_PKT_TYPE_A, false), n;
        struct dns_pkt_query q;
        struct dns_pkt_writer w;
        struct dns_pkt_header h;
        struct dns_pkt_rr rr;
        unsigned added = 0;

        (void)state;
        assert_int_equal(dns_pkt_parse_query(buf, len, &q), 0);
        assert_int_equal(dns_pkt_writer_init(&w, out, dns_pkt_udp_limit(&q), buf, &q,
                                             DNS_PKT_RCODE_NOERROR, true),
                         0);
        for (unsigned i = 0; i < 100; i++)
                if (dns_pkt_writer_add_a(&w, 0, (struct in_addr){htonl(i)}) == 0)
                        added++;
        n = dns_pkt_writer_finish(&w);
        assert_true(n <= DNS_PKT_UDP_MIN);
        assert_int_equal(added, (DNS_PKT_UDP_MIN - len) / 16);
        assert_int_equal(parse_answers(out, n, &h, &rr, 1), added);
        assert_true(h.flags & DNS_PKT_FLAG_TC);

        /* Over TCP everything fits. */
        assert_int_equal(
                dns_pkt_writer_init(&w, out, sizeof(out), buf, &q, DNS_PKT_RCODE_NOERROR, true), 0);
        for (unsigned i = 0; i < 100; i++)
                assert_int_equal(dns_pkt_writer_add_a(&w, 0, (struct in_addr){htonl(i)}), 0);
        n = dns_pkt_writer_finish(&w);
        assert_int_equal(parse_answers(out, n, &h, &rr, 1), 100);
        assert_false(h.flags & DNS_PKT_FLAG_TC);
}

static void test_same_question_and_truncate(void **state)
{
        uint8_t a[512], b[512];
        size_t alen = build(a, "Example.COM", DNS_PKT_TYPE_A, false);
        size_t blen = build(b, "example.com", DNS_PKT_TYPE_A, true);
        int n;

        (void)state;
        assert_true(dns_pkt_same_question(a, alen, b, blen));
        blen = build(b, "example.com", DNS_PKT_TYPE_AAAA, false);
        assert_false(dns_pkt_same_question(a, alen, b, blen));
        blen = build(b, "example.org", DNS_PKT_TYPE_A, false);
        assert_false(dns_pkt_same_question(a, alen, b, blen));
        /* 'A' = 0x41 and 'a' = 0x61 in the type field are different types. */
        blen = build(b, "example.com", 0x61, false);
        alen = build(a, "example.com", 0x41, false);
        assert_false(dns_pkt_same_question(a, alen, b, blen));
        assert_false(dns_pkt_same_question(a, 11, a, alen));

        blen = build(b, "example.com", DNS_PKT_TYPE_A, true);
        b[7] = 3; /* pretend answers follow */
        n = dns_pkt_truncate(b, blen);
        assert_int_equal(n, (int)blen - 11);
        assert_true(b[2] & (DNS_PKT_FLAG_TC >> 8));
        assert_int_equal(b[7] + b[11], 0);
}

static void test_query_build_limits(void **state)
{
        uint8_t buf[512];

        (void)state;
        assert_int_equal(dns_pkt_query_build(buf, 20, 1, "web1.hawser.internal", 1, false),
                         -ENOBUFS);
        assert_int_equal(dns_pkt_query_build(buf, sizeof(buf), 1, "a..b", 1, false), -EINVAL);
}

/* Deterministic noise, plus mutations of a valid query: the parser must only ever return one
 * of its documented codes and never read outside the buffer (ASan checks that). */
static void test_garbage(void **state)
{
        uint8_t valid[512], buf[600];
        size_t vlen = build(valid, "web1.hawser.internal", DNS_PKT_TYPE_A, true);
        uint64_t x = 0x2545f4914f6cdd1dull;

        (void)state;
        for (int i = 0; i < 200000; i++) {
                size_t len;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (i % 2) {
                        len = x % sizeof(buf);
                        for (size_t j = 0; j < len; j++)
                                buf[j] = (uint8_t)(x >> (j % 8 * 8)) ^ (uint8_t)j;
                } else {
                        len = vlen;
                        memcpy(buf, valid, vlen);
                        buf[x % vlen] = (uint8_t)(x >> 32);
                        buf[(x >> 16) % vlen] = (uint8_t)(x >> 40);
                        len -= (x >> 56) % 3;
                }
                assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
        }
}

static void test_corpus_replay(void **state)
{
        (void)state;
        corpus_replay(CORPUS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_simple_query),
                cmocka_unit_test(test_parse_edns),
                cmocka_unit_test(test_parse_edns_options_and_errors),
                cmocka_unit_test(test_parse_edns_version),
                cmocka_unit_test(test_parse_wrong_counts),
                cmocka_unit_test(test_parse_flags),
                cmocka_unit_test(test_parse_truncated_and_trailing),
                cmocka_unit_test(test_name_compression),
                cmocka_unit_test(test_name_loops),
                cmocka_unit_test(test_name_limits),
                cmocka_unit_test(test_name_escapes),
                cmocka_unit_test(test_name_encode),
                cmocka_unit_test(test_error_reply),
                cmocka_unit_test(test_writer_a_round_trip),
                cmocka_unit_test(test_writer_ptr_and_rcodes),
                cmocka_unit_test(test_writer_truncates),
                cmocka_unit_test(test_same_question_and_truncate),
                cmocka_unit_test(test_query_build_limits),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_corpus_replay),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
