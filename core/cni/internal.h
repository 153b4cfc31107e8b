#pragma once
/* Inside core/cni/ only: what its files share. The module's face is core/cni.h. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/base/json.h"

/* The plugin's own nftables table ("ip hawser-cni"): hawser's fixed chains and DNAT maps,
 * apart from the engine's table so neither's cleanup touches the other's elements. */
#define CNI_TABLE "hawser-cni"
/* The dual-stack networks of the table "ip6 hawser-cni", a file per bridge: in /run, as the
 * table, so both are gone after a reboot. */
#define CNI_IP6_DIR "/run/hawser-cni/ip6"
/* A lease owner is "<container id>.<ifname>" and net/ipam.c takes at most 128 bytes. */
#define CNI_OWNER_MAX 128
#define CNI_ID_MAX    (CNI_OWNER_MAX - 16)
/* The search domain of a network's embedded DNS unless its dnsDomain says otherwise. */
#define CNI_DNS_DOMAIN "hawser.internal"

/* The spec's error codes (SPEC.md "Error"). */
enum {
        CNI_E_VERSION = 1,
        CNI_E_FIELD = 2,
        CNI_E_ENV = 4,
        CNI_E_DECODE = 6,
        CNI_E_CONFIG = 7,
        CNI_E_AGAIN = 11,
        CNI_E_PLUGIN = 100, /* hawser's own: a kernel or file system step failed */
};

enum cni_cmd {
        CNI_CMD_ADD,
        CNI_CMD_DEL,
        CNI_CMD_CHECK,
        CNI_CMD_STATUS,
        CNI_CMD_VERSION,
        CNI_CMD_GC
};

struct cni_port {
        uint16_t host_port, ctr_port; /* host byte order */
        uint8_t proto;                /* IPPROTO_TCP, _UDP, _SCTP */
        /* hostIP: AF_INET host_ip (INADDR_ANY: every local IPv4 address), AF_INET6 host_ip6
         * (:: every local IPv6 address but ::1), 0 when unset: both families, IPv6 only for
         * an attachment that has an IPv6 address (the reference portmap's rule). */
        int family;
        struct in_addr host_ip;
        struct in6_addr host_ip6;
};

/* One invocation: the environment, then the configuration read from stdin. */
struct cni_req {
        enum cni_cmd cmd;
        const char *cid, *netns, *ifname; /* NULL when unset */
        struct in_addr want;              /* CNI_ARGS IP=, or 0.0.0.0 */
        char owner[CNI_OWNER_MAX + 1];    /* "<cid>.<ifname>" */
        char pod_name[64];                /* CNI_ARGS K8S_POD_NAME (a DNS name), or "" */
        int code;                         /* the CNI error code of a failure; 0: CNI_E_PLUGIN */
};

struct cni_conf {
        struct jv *doc;   /* the whole configuration (owned) */
        char version[16]; /* cniVersion */
        const char *name;
        char bridge[16];
        bool ip_masq, ports_only;
        int mtu;
        bool has_ipam;
        struct in_addr subnet, first, last, gateway;
        int prefix;
        char *data_dir;         /* malloc'd: leases/ and attachments/ live under it */
        struct cni_port *ports; /* runtimeConfig.portMappings (malloc'd) */
        size_t n_ports;
        const struct jv *prev; /* prevResult, borrowed from doc */
        char **valid;          /* GC: owners of cni.dev/valid-attachments (strv) */
        struct in_addr want;   /* the address asked for (CNI_ARGS IP=, the ips capability) */
        struct cni_range {     /* the first range set's ranges after the first, tried in
                                * order when the ones before are full (same subnet) */
                struct in_addr first, last;
        } more[7];
        size_t n_more;
        struct cni_route { /* ipam.routes other than the default ones */
                struct in_addr to, gw;
                int prefix;
                bool v6; /* to6/prefix via gw6 (dual-stack networks) */
                struct in6_addr to6, gw6;
        } routes[16];
        size_t n_routes;
        bool has_v6; /* a second range set, IPv6: dual-stack attachments */
        struct in6_addr subnet6, gateway6;
        int prefix6;
        bool dns_server;      /* embeddedDNS: the network's DNS server on the gateway */
        char dns_domain[254]; /* dnsDomain, default CNI_DNS_DOMAIN */
};

/* What ADD made, for the result. */
struct cni_result {
        char bridge[16], veth[16];
        uint8_t mac[6];
        struct in_addr addr, gateway; /* gateway 0.0.0.0: none */
        int prefix;
        bool has_v6; /* dual-stack: addr6/prefix6 via gateway6 too */
        struct in6_addr addr6, gateway6;
        int prefix6;
};

/* Sets the CNI code and the message; returns -EINVAL. */
int cni_fail(struct cni_req *q, struct err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* conf.c: pure logic, no kernel. */
/* Parses CNI_* from env (a NULL-terminated "K=V" vector) into q. */
int cni_env_parse(char *const *env, struct cni_req *q, struct err *err);
/* Parses the configuration text for q's command into c (cni_conf_done frees it). */
int cni_conf_parse(struct cni_req *q, const char *text, struct cni_conf *c, struct err *err);
void cni_conf_done(struct cni_conf *c);
/* Whether the plugin speaks version v. */
bool cni_version_supported(const char *v);
/* {"cniVersion": ..., "supportedVersions": [...]} for VERSION. */
struct jv *cni_version_doc(const char *version);
/* The ADD result shaped for c->version (0.3.x/0.4.0 put "version" in ips, 1.x do not). */
struct jv *cni_result_doc(const struct cni_conf *c, const struct cni_req *q, const char *netns,
                          const struct cni_result *res);
/* prevResult's first IPv4 address (and prefix) and its first interface without a sandbox. */
int cni_prev_addr(struct cni_req *q, const struct jv *prev, struct in_addr *ret, int *ret_prefix,
                  char bridge[16], struct err *err);
/* The deterministic host end of the veth of owner: "hc" + 12 hex digits of its hash. */
void cni_veth_name(const char *owner, char out[16]);
/* Which range of c holds a: 0 the first, 1.. c->more's; -1: none. */
int cni_range_of(const struct cni_conf *c, struct in_addr a);
/* Parses "a.b.c.d/n" (host bits allowed) into address and prefix. */
int cni_parse_cidr(const char *s, struct in_addr *ret, int *ret_prefix);

/* attach.c: the kernel side. */
/* Stores the result to print in *ret. */
int cni_add(struct cni_req *q, struct cni_conf *c, struct jv **ret, struct err *err);
int cni_del(struct cni_req *q, struct cni_conf *c, struct err *err);
int cni_check(struct cni_req *q, struct cni_conf *c, struct err *err);

/* ports.c: portMappings and the per-attachment record; GC. */
/* The configuration's ports to the attachment's addresses (ctr6 NULL: IPv4 only). */
int cni_ports_publish(struct cni_req *q, const struct cni_conf *c, struct in_addr ctr,
                      const struct in6_addr *ctr6, const char *bridge, int prefix, struct err *err);
/* The map elements of ports (room for 2 * n in v) to the attachment's addresses (ctr6 NULL
 * when it has no IPv6 one): a port without hostIP gives one of each family; returns how
 * many. */
struct net_nft_port;
size_t cni_ports_elements(const struct cni_port *p, size_t n, struct in_addr ctr,
                          const struct in6_addr *ctr6, struct net_nft_port *v);
/* Removes the ports of a record (a JSON array) from the tables; missing ones are fine. */
int cni_ports_unpublish(const struct jv *ports, struct in_addr ctr, const struct in6_addr *ctr6,
                        struct err *err);
struct jv *cni_ports_doc(const struct cni_conf *c);
/* Publishes the ports of every record of the network again (the table was re-created). */
int cni_ports_restore(const struct cni_conf *c, struct err *err);
/* route_localnet on the bridge, which publishing on 127.0.0.1 needs. */
int cni_localnet(const char *bridge, struct err *err);
int cni_gc(const struct cni_conf *c, struct err *err);
/* attachments/<owner> under the data dir. */
char *cni_record_path(const struct cni_conf *c, const char *owner);
char *cni_lease_dir(const struct cni_conf *c);
/* Undoes one attachment by its record (or, without one, by name); idempotent. */
int cni_release(const struct cni_conf *c, const char *owner, struct err *err);

/* dns.c: the network's embedded DNS server. */
/* The names of q's attachment: K8S_POD_NAME, the aliases capability's for the network
 * (runtimeConfig.aliases.<name>), the first 12 characters of the container id; those that
 * are not DNS names are left out, repeats once. */
struct jv *cni_dns_names(const struct cni_req *q, const struct cni_conf *c);
/* Rewrites the network's records from its attachment records and, with start and names,
 * starts its server if none runs (waiting until it listens: ADD). DEL and GC only rewrite:
 * a server that cannot start must not make them fail. A no-op without embeddedDNS. */
int cni_dns_sync(const struct cni_conf *c, bool start, struct err *err);
