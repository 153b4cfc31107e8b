/* libFuzzer target for dns/packet.c. `make fuzz` builds it with clang and
 * -fsanitize=fuzzer,address,undefined; tests/unit/dns_packet.c includes this file and replays
 * tests/fuzz/corpus/dns_packet/ through the same entry point. Besides "no crash, no over-read"
 * it checks invariants and aborts when one breaks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
        if (!cond)
                abort();
}

/* Walks any message (query or response) section by section, as a generic reader would. */
static void walk_message(const uint8_t *msg, size_t len)
{
        struct dns_pkt_header h;
        struct dns_pkt_rr rr;
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off = DNS_PKT_HEADER_LEN;

        if (dns_pkt_header_parse(msg, len, &h) < 0)
                return;
        for (unsigned i = 0; i < h.qdcount; i++) {
                size_t before = off;
                if (dns_pkt_name_decode(msg, len, &off, name, sizeof(name)) < 0)
                        return;
                check(off > before && off <= len);
                check(strlen(name) < sizeof(name));
                if (len - off < 4)
                        return;
                off += 4;
        }
        for (unsigned i = 0; i < (unsigned)h.ancount + h.nscount + h.arcount; i++) {
                size_t before = off;
                if (dns_pkt_rr_parse(msg, len, &off, &rr) < 0)
                        return;
                check(off > before && off <= len && rr.rdata + rr.rdlength == off);
        }
}

/* The question of a parsed query is uncompressed, so encoding the decoded name must give back
 * exactly the octets received. */
static void check_name_round_trip(const uint8_t *data, const struct dns_pkt_query *q)
{
        uint8_t wire[DNS_PKT_NAME_MAX];
        int n = dns_pkt_name_encode(q->qname, wire, sizeof(wire));

        check(n > 0);
        check((size_t)n + 4 == q->question_end - DNS_PKT_HEADER_LEN);
        check(!memcmp(wire, data + DNS_PKT_HEADER_LEN, (size_t)n));
}

static void check_response(const uint8_t *data, const struct dns_pkt_query *q)
{
        uint8_t out[DNS_PKT_EDNS_SIZE];
        struct dns_pkt_writer w;
        struct dns_pkt_header h;
        char name[DNS_PKT_NAME_TEXT_MAX];
        size_t off = DNS_PKT_HEADER_LEN, len;

        check(dns_pkt_writer_init(&w, out, dns_pkt_udp_limit(q), data, q, DNS_PKT_RCODE_NOERROR,
                                  true) == 0);
        (void)dns_pkt_writer_add_a(&w, 0, (struct in_addr){htonl(0xac110002)});
        (void)dns_pkt_writer_add_ptr(&w, 0, q->qname);
        len = dns_pkt_writer_finish(&w);
        check(len <= dns_pkt_udp_limit(q));
        check(dns_pkt_header_parse(out, len, &h) == 0 && h.id == q->id && h.qdcount == 1);
        check(h.arcount == (q->edns ? 1 : 0));
        check(dns_pkt_name_decode(out, len, &off, name, sizeof(name)) == 0);
        check(!strcmp(name, q->qname));
        check(dns_pkt_same_question(data, q->question_end, out, len));
        walk_message(out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dns_pkt_query q;
        uint8_t err[DNS_PKT_HEADER_LEN];
        int r = dns_pkt_parse_query(data, size, &q);

        check(r == 0 || r == -EBADMSG || r == -EPROTO || r == -EOPNOTSUPP);
        walk_message(data, size);
        if (r < 0) {
                r = dns_pkt_error_reply(data, size, DNS_PKT_RCODE_FORMERR, err, sizeof(err));
                check(r == DNS_PKT_HEADER_LEN || r == -EBADMSG);
                return 0;
        }
        check(q.question_end <= size);
        check_name_round_trip(data, &q);
        check_response(data, &q);
        return 0;
}
