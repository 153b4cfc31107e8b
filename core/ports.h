#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"

/* Docker's port grammar (go-connections/nat as vendored by docker/cli), its `docker port` and
 * `docker ps` PORTS output, and a dynamic host port allocator. Protocols are IPPROTO_TCP,
 * IPPROTO_UDP and IPPROTO_SCTP. */

/* INET6_ADDRSTRLEN: the longest textual address, NUL included. */
#define PORTS_IP_MAX 46

struct port_binding {
        /* Canonical address text. When parsed from -p, "" means every address; when formatted,
         * "" marks a port that is exposed but not published. */
        char host_ip[PORTS_IP_MAX];
        uint16_t host_port;     /* 0 = dynamic; else the first port of host_port..host_port_end */
        uint16_t host_port_end; /* > host_port: pick one free port of the range (-p 8000-8010:80) */
        uint16_t ctr_port;
        uint8_t proto;
};

/* One --expose value: first..last (equal for a single port). */
struct port_range {
        uint16_t first, last;
        uint8_t proto;
};

/* "tcp", "udp", "sctp"; NULL for anything else. */
const char *ports_proto_name(uint8_t proto);
/* Parses exactly "tcp", "udp" or "sctp". -EINVAL otherwise. */
int ports_proto_parse(const char *s, uint8_t *ret);

/* Parses one -p value (80, 80/udp, 8080:80, 127.0.0.1:8080:80, 127.0.0.1::80, [::1]:8080:80,
 * 8000-8002:80-82, 8000-8010:80, 80-82) into one binding per container port, in order; the
 * caller frees *ret. -EINVAL with Docker's text ("invalid containerPort: abc", "invalid proto:
 * xyz", "invalid ranges specified for container and host Ports: 80-82 and 8000-8003", ...). */
int ports_parse_publish(const char *spec, struct port_binding **ret, size_t *ret_n,
                        struct err *err);
/* Parses one --expose value (80, 80/udp, 8000-8010/tcp). -EINVAL with Docker's text
 * ("invalid range format for --expose: x, error: ..."). */
int ports_parse_expose(const char *spec, struct port_range *ret, struct err *err);

/* The bindings of a container's state: for each key ("80/tcp") of keys (Config.ExposedPorts
 * or NetworkSettings.Ports), the {HostIp, HostPort} entries ports lists for it, or one entry
 * with host_ip "" (exposed, not published) when it lists none (ports may be NULL). The caller
 * frees *ret. -ENOMEM only. */
int ports_from_state(const struct jv *keys, const struct jv *ports, struct port_binding **ret,
                     size_t *ret_n);

/* `docker port` output for the bindings b[0..n) (entries with host_ip "" are skipped): all
 * "80/tcp -> 0.0.0.0:32768" lines, or with filter ("80", "80/udp") only the "0.0.0.0:32768"
 * lines of that port; each line ends in '\n', natural-sorted as the CLI does; *ret may be "".
 * -ENOENT "No public port '80/udp' published for <ctr_name>" and -EINVAL "invalid port (x): ..."
 * (the CLI's "Error: " prefix completes Docker's line). The caller frees *ret. */
int ports_format_mapping(const struct port_binding *b, size_t n, const char *filter,
                         const char *ctr_name, char **ret, struct err *err);
/* `docker ps` PORTS column for the container's live bindings plus its exposed-only ports
 * (host_ip ""): "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp", with runs of ports that are
 * published on the same port number (or only exposed) compacted to "0.0.0.0:8000-8002->8000-
 * 8002/tcp", in the CLI's order. The caller frees *ret. -ENOMEM only. */
int ports_format_ps(const struct port_binding *b, size_t n, char **ret, struct err *err);

/* Picks a dynamic host port for proto on host_ip ("" = every address, checked on both
 * 0.0.0.0 and ::) from /proc/sys/net/ipv4/ip_local_port_range (49153-65535 when unreadable),
 * round robin from the last port handed out for proto, which is kept in state_path under an
 * flock. Skips /proc/sys/net/ipv4/ip_local_reserved_ports and ports that cannot be bound now.
 * The port is not held: the caller binds it (or installs its rules) and copes with losing a
 * race to an unrelated process. -EADDRINUSE "all ports are allocated ..." when none is free. */
int ports_allocate(const char *state_path, const char *host_ip, uint8_t proto, uint16_t *ret,
                   struct err *err);
/* The lowest port of first..last that can be bound now (-p 8000-8010:80); no state, no
 * reserved-port list, as Docker does for explicit ranges. -EADDRINUSE when none is free. */
int ports_allocate_range(const char *host_ip, uint8_t proto, uint16_t first, uint16_t last,
                         uint16_t *ret, struct err *err);

/* The allocator's range and reserved list, explicit so that tests need no /proc. */
struct ports_pool {
        uint16_t first, last;
        const char *reserved; /* ip_local_reserved_ports text ("8080,9000-9010"); NULL = none */
};
/* ports_allocate with the pool given; state_path NULL starts at pool->first every time. */
int ports_allocate_from(const char *state_path, const struct ports_pool *pool, const char *host_ip,
                        uint8_t proto, uint16_t *ret, struct err *err);
/* Parses ip_local_port_range ("32768\t60999\n"). -EINVAL. */
int ports_parse_local_range(const char *text, uint16_t *ret_first, uint16_t *ret_last);
/* Whether port is listed in an ip_local_reserved_ports text. */
bool ports_is_reserved(const char *list, uint16_t port);
/* 1 when a socket of proto can be bound to host_ip:port now ("" = both 0.0.0.0 and ::), 0 when
 * the port is in use; < 0 for other failures (-EADDRNOTAVAIL for a non-local address). */
int ports_probe(const char *host_ip, uint8_t proto, uint16_t port, struct err *err);
