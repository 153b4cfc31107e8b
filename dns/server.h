#pragma once
#include <netinet/in.h>
#include <stdint.h>

#include "core/base/err.h"

/* The embedded DNS server of one network. It answers container names from a records file
 * that hawser's core rewrites atomically (temp file + rename):
 *
 *   {"domain": "hawser.internal", "gateway": "172.17.0.1",
 *    "upstreams": ["192.0.2.53", "127.0.0.53", "127.0.0.1:5353", "[2001:db8::1]:53"],
 *    "records": [{"ip": "172.17.0.2", "names": ["web1", "3f2a9c1d2e4b"]}],
 *    "clients": [{"client": "172.17.0.3", "names": {"db": "172.17.0.2"}}]}
 *
 * "clients" names (a string or an array of addresses) are seen only by queries from that
 * source address and take precedence over "records". Everything but "records" is optional.
 * The file is checked with one stat() per batch of queries, so an update is visible to the
 * very next query; the listening sockets stay open across reloads, and a file that fails to
 * parse leaves the previous records in use. Other names are forwarded to the upstreams (at
 * most the first 3), from the server's own network namespace. */

/* dns_server_run's successful outcomes. */
enum dns_server_exit {
        DNS_SERVER_STOPPED = 0, /* stop_fd became readable or hung up */
        DNS_SERVER_IDLE = 1,    /* the records file listed no records for idle_exit_sec */
        DNS_SERVER_REMOVED = 2, /* the records file was removed */
};

struct dns_server_config {
        struct in_addr listen_addr; /* network order; the network's gateway address. Replies
                                     * leave from the bound address, so use a specific one. */
        uint16_t port;              /* host order; 0 means 53 */
        const char *records_path;   /* must exist and parse when the server starts */
        unsigned idle_exit_sec;     /* 0: never exit for lack of records */
        int stop_fd;                /* -1: none. Not owned, never closed by the server. */
        int ready_fd;               /* -1: none. One byte is written once both sockets listen;
                                     * not owned. */
        /* Tunables; 0 picks the default. */
        unsigned forward_timeout_ms; /* per upstream try, default 600 (3 tries answer < 2 s) */
        unsigned max_forwards;       /* outstanding forwarded queries, default 512; beyond
                                      * that the client gets SERVFAIL */
        unsigned max_tcp_conns;      /* default 128; the least recently active connection is
                                      * closed to admit a new one */
        unsigned tcp_idle_ms;        /* default 10000 */
};

/* Serves UDP and TCP DNS on listen_addr:port from a single-threaded epoll loop in the calling
 * process's network namespace until told to stop. Returns an enum dns_server_exit value, or a
 * negative errno with err set: -EADDRINUSE / -EADDRNOTAVAIL when the address cannot be bound,
 * -ENOENT / -EINVAL when the records file is missing or invalid at start, others for epoll or
 * memory failures. Never prints; runtime problems with single queries are not errors. */
int dns_server_run(const struct dns_server_config *cfg, struct err *err);
