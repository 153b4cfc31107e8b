#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DNS wire format (RFC 1035, EDNS0 from RFC 6891): a strict, bounded parser and a response
 * writer. Pure functions over caller-owned buffers: no allocation, no globals, no I/O. Every
 * read is bounds-checked against the length the caller passes; malformed input is -EBADMSG. */

#define DNS_PKT_HEADER_LEN 12
/* RFC 1035 2.3.4: a name is at most 255 octets on the wire, a label at most 63. */
#define DNS_PKT_NAME_MAX  255
#define DNS_PKT_LABEL_MAX 63
/* Presentation form: every wire octet may become "\DDD" (4 characters), plus the NUL. */
#define DNS_PKT_NAME_TEXT_MAX (DNS_PKT_NAME_MAX * 4 + 1)
/* RFC 1035 4.2.1: the UDP payload every resolver accepts without EDNS. */
#define DNS_PKT_UDP_MIN 512
/* The EDNS UDP size we advertise and answer within: 1232 avoids IP fragmentation on any path
 * (DNS flag day 2020). */
#define DNS_PKT_EDNS_SIZE 1232
/* A message over TCP carries a 2-octet length, so 65535 is the largest message. */
#define DNS_PKT_MAX 65535

enum dns_pkt_type {
        DNS_PKT_TYPE_A = 1,
        DNS_PKT_TYPE_NS = 2,
        DNS_PKT_TYPE_CNAME = 5,
        DNS_PKT_TYPE_SOA = 6,
        DNS_PKT_TYPE_PTR = 12,
        DNS_PKT_TYPE_MX = 15,
        DNS_PKT_TYPE_TXT = 16,
        DNS_PKT_TYPE_AAAA = 28,
        DNS_PKT_TYPE_OPT = 41,
        DNS_PKT_TYPE_ANY = 255,
};

enum dns_pkt_class {
        DNS_PKT_CLASS_IN = 1,
        DNS_PKT_CLASS_ANY = 255,
};

/* Values above 15 exist only with EDNS: the upper bits travel in the OPT record. */
enum dns_pkt_rcode {
        DNS_PKT_RCODE_NOERROR = 0,
        DNS_PKT_RCODE_FORMERR = 1,
        DNS_PKT_RCODE_SERVFAIL = 2,
        DNS_PKT_RCODE_NXDOMAIN = 3,
        DNS_PKT_RCODE_NOTIMP = 4,
        DNS_PKT_RCODE_REFUSED = 5,
        DNS_PKT_RCODE_BADVERS = 16,
};

/* Header flag bits (the 16-bit word after the id). */
#define DNS_PKT_FLAG_QR       0x8000
#define DNS_PKT_FLAG_AA       0x0400
#define DNS_PKT_FLAG_TC       0x0200
#define DNS_PKT_FLAG_RD       0x0100
#define DNS_PKT_FLAG_RA       0x0080
#define DNS_PKT_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_PKT_RCODE(flags)  ((flags)&0xf)

struct dns_pkt_header {
        uint16_t id;
        uint16_t flags;
        uint16_t qdcount;
        uint16_t ancount;
        uint16_t nscount;
        uint16_t arcount;
};

/* One resource record as found in a message; rdata is an offset into that message. */
struct dns_pkt_rr {
        uint16_t type;
        uint16_t rclass;
        uint32_t ttl;
        uint16_t rdlength;
        size_t rdata;
        char name[DNS_PKT_NAME_TEXT_MAX];
};

/* A query we may answer. The question is octets [DNS_PKT_HEADER_LEN, question_end) of the
 * message, uncompressed (the first name of a message cannot point anywhere valid). */
struct dns_pkt_query {
        uint16_t id;
        uint16_t flags;
        uint16_t qtype;
        uint16_t qclass;
        size_t question_end;
        bool edns;                         /* the query carried an OPT record */
        bool edns_do;                      /* its DNSSEC OK bit, echoed in our OPT */
        uint8_t edns_version;              /* != 0 must be answered BADVERS */
        uint16_t edns_udp_size;            /* the client's size, raised to DNS_PKT_UDP_MIN */
        char qname[DNS_PKT_NAME_TEXT_MAX]; /* presentation form, as received, no trailing dot */
};

/* A response under construction. Fields are private to dns_pkt_writer_*. */
struct dns_pkt_writer {
        uint8_t *buf;
        size_t limit; /* largest message allowed (UDP limit or DNS_PKT_MAX) */
        size_t len;
        size_t reserve; /* octets kept for the OPT record */
        uint16_t ancount;
        uint16_t rcode;
        bool edns;
        bool edns_do;
        bool truncated;
};

/* Reads the 12-octet header. -EBADMSG when len is shorter. */
int dns_pkt_header_parse(const uint8_t *msg, size_t len, struct dns_pkt_header *ret);

/* Decodes the (possibly compressed) name at *off into presentation form without a trailing dot
 * ("" is the root; '.', '\\' and non-printable octets inside labels are escaped as \. \\ \DDD),
 * and advances *off past the name as stored. Compression pointers must point strictly before
 * the start of the run of labels they end, past the header, so loops are impossible; at most
 * 127 hops. -EBADMSG on truncation, a reserved label type, a bad pointer, a label over 63 or a
 * name over 255 octets; -ENOBUFS when out_size is too small (DNS_PKT_NAME_TEXT_MAX always
 * suffices). out and *off are written only on success. */
int dns_pkt_name_decode(const uint8_t *msg, size_t len, size_t *off, char *out, size_t out_size);

/* Encodes a presentation-form name (trailing dot optional, "" and "." are the root, \X and
 * \DDD escapes) into uncompressed wire form in out. Returns the wire length, -EINVAL for an
 * empty label, a label over 63, a name over 255 octets or a bad escape, -ENOBUFS when out is
 * too small. */
int dns_pkt_name_encode(const char *text, uint8_t *out, size_t out_size);

/* Parses the resource record at *off and advances *off past it. -EBADMSG when it is malformed
 * or its rdata runs past len. *ret and *off are written only on success. */
int dns_pkt_rr_parse(const uint8_t *msg, size_t len, size_t *off, struct dns_pkt_rr *ret);

/* Parses a query: exactly one question, no answer or authority records, additional records
 * well-formed with at most one OPT (owned by the root, options well-formed), nothing after the
 * last record. Returns 0; -EPROTO when QR is set (a response: never answer it, so two servers
 * cannot loop); -EOPNOTSUPP for an opcode other than QUERY (answer NOTIMP); -EBADMSG for
 * anything malformed (answer FORMERR with dns_pkt_error_reply when it succeeds, else drop).
 * *ret is written only on success. */
int dns_pkt_parse_query(const uint8_t *msg, size_t len, struct dns_pkt_query *ret);

/* Builds a header-only error response (rcode, no sections) to the message in query: same id,
 * opcode and RD, QR set. Returns the length written to buf, or -EBADMSG when the query has no
 * readable header or is itself a response (drop it), -ENOBUFS when cap < 12. */
int dns_pkt_error_reply(const uint8_t *query, size_t len, enum dns_pkt_rcode rcode, uint8_t *buf,
                        size_t cap);

/* Largest UDP response for q: 512 without EDNS, else the client's size capped at ours. */
size_t dns_pkt_udp_limit(const struct dns_pkt_query *q);

/* Starts a response in buf (at least limit octets, limit >= 12) to q, which was parsed from
 * query: id, opcode and RD copied, QR and RA set, AA when authoritative, rcode stored, and the
 * question copied octet for octet so answers keep the client's case. -ENOBUFS when the
 * question does not fit. The writer borrows buf. */
int dns_pkt_writer_init(struct dns_pkt_writer *w, uint8_t *buf, size_t limit, const uint8_t *query,
                        const struct dns_pkt_query *q, enum dns_pkt_rcode rcode,
                        bool authoritative);

/* Appends an answer owned by the question's name (compressed as 0xC00C) with rdlength octets
 * of rdata. When it does not fit the limit, sets TC, keeps the answers written so far and
 * returns -EMSGSIZE (as do all later calls). */
int dns_pkt_writer_add(struct dns_pkt_writer *w, uint16_t type, uint32_t ttl, const void *rdata,
                       uint16_t rdlength);
/* An A answer for the question's name. Same contract as dns_pkt_writer_add. */
int dns_pkt_writer_add_a(struct dns_pkt_writer *w, uint32_t ttl, struct in_addr addr);
/* An AAAA answer (IPv6 address, network order). */
int dns_pkt_writer_add_aaaa(struct dns_pkt_writer *w, uint32_t ttl, const struct in6_addr *addr);
/* A PTR answer pointing at target (presentation form). -EINVAL for a bad target, else as
 * dns_pkt_writer_add. */
int dns_pkt_writer_add_ptr(struct dns_pkt_writer *w, uint32_t ttl, const char *target);

/* Completes the header counts and appends a minimal OPT (our UDP size, the extended rcode,
 * DO echoed) when the query had one. Returns the message length. */
size_t dns_pkt_writer_finish(struct dns_pkt_writer *w);

/* Builds a query for name/type/class IN with RD set, and an OPT advertising our UDP size when
 * edns. Returns its length, -EINVAL for a bad name, -ENOBUFS when cap is too small. */
int dns_pkt_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type,
                        bool edns);

/* Cuts a response in place down to its header and question with TC set and no records, for a
 * reply that does not fit the client's UDP limit (RFC 2181 9). Returns the new length, or
 * -EBADMSG when msg has no single uncompressed question. */
int dns_pkt_truncate(uint8_t *msg, size_t len);

/* True when both messages hold exactly one question and the questions are equal ignoring
 * ASCII case (how a forwarder matches a reply to what it sent). */
bool dns_pkt_same_question(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
