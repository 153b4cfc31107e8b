#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"
#include "container.h"
#include "links.h"

/* Networks live in --root/networks/<name>.json; leases in --runroot/networks/<name>/leases
 * (a reboot stops every container, and with them every lease). The default network
 * "bridge" (Linux bridge hawser0) is made on first use. */
/* How a network's containers are wired: a bridge with veth pairs (Docker's "bridge"), or
 * an interface of their own on a host interface ("macvlan", "ipvlan"; no bridge, no nft
 * rules, no published ports, no embedded DNS: the host cannot reach them). */
enum network_driver {
        NETWORK_DRIVER_BRIDGE,
        NETWORK_DRIVER_MACVLAN,
        NETWORK_DRIVER_IPVLAN,
};

struct network {
        char name[128];
        char id[65];
        enum network_driver driver;
        char parent[16]; /* macvlan/ipvlan: -o parent */
        int sub_mode;    /* macvlan/ipvlan: the kernel's mode (linux/if_link.h) */
        char bridge[16];
        struct in_addr subnet, gateway, range;
        int prefix, range_prefix, mtu;
        bool ipv6; /* EnableIPv6 with an IPv6 subnet: dual-stack */
        struct in6_addr subnet6, gateway6;
        int prefix6;
        bool internal, icc;
        struct jv *doc; /* the stored document (network inspect) */
};

#define NETWORK_DEFAULT        "bridge"
#define NETWORK_DEFAULT_BRIDGE "hawser0"

/* Loads a network by name or id prefix; "bridge" is created when missing. -ENOENT with
 * Docker's "network NAME not found". */
#define NETWORK_NAME_MAX 128
/* Whether name may name a new network: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters
 * (it names files under --root and --runroot). -EINVAL with the reason otherwise. */
int network_check_name(const char *name, struct err *err);
int network_load(const struct cli *cli, const char *ref, struct network *ret, struct err *err);
void network_release(struct network *n);
/* HostConfig.NetworkMode, classified in this one place. */
enum network_mode {
        NETWORK_MODE_BRIDGE,    /* "bridge" or a user network's name */
        NETWORK_MODE_NONE,      /* "none" (also a missing mode) */
        NETWORK_MODE_HOST,      /* "host" */
        NETWORK_MODE_CONTAINER, /* "container:X": X's network namespace */
};
/* Classifies mode; *ret_target (may be NULL) gets the X of container:X, the network's name
 * for a bridge mode ("default" names the default network), else NULL. */
enum network_mode network_mode_parse(const char *mode, const char **ret_target);
/* The same for a container's state document. */
enum network_mode network_mode_of(const struct jv *doc, const char **ret_target);

/* A container's endpoint on one network, parsed from its NetworkSettings.Networks. */
#define NETWORK_MAX_ENDPOINTS 16
struct network_endpoint {
        char net[NETWORK_NAME_MAX + 1];
        char network_id[65];
        char veth[16]; /* EndpointID: the host end of its veth; "" until attached */
        char mac[18];
        char want[64];              /* IPAMConfig.IPv4Address (--ip); "": any */
        char want_mac[18];          /* --mac-address, on the network of the mode; "": derived */
        struct in_addr ip, gateway; /* ip 0: no address (not started, or stopped) */
        int prefix;
        char want6[64];                /* IPAMConfig.IPv6Address (--ip6); "": any */
        struct in6_addr ip6, gateway6; /* dual-stack networks; :: when none */
        int prefix6;
        bool bridged;             /* set by an attach: on a bridge (published ports go there) */
        const struct jv *aliases; /* borrowed from the document */
        const struct jv *links;   /* "name:alias" (--link on a user network), borrowed */
};
/* Everything the runtime reasons about in a container's networking, parsed once per
 * operation; endpoints sorted by network name (the first gives the summary fields, the
 * first with an address is the primary one). */
struct network_view {
        struct network_endpoint ep[NETWORK_MAX_ENDPOINTS];
        size_t n;
};
void network_view_read(const struct container *c, struct network_view *ret);
const struct network_endpoint *network_view_find(const struct network_view *v, const char *net);
/* The first endpoint with an address; NULL when none has one. */
const struct network_endpoint *network_view_primary(const struct network_view *v);
/* The endpoint a client on net reaches: the one on net if it has an address, else the
 * primary one. */
const struct network_endpoint *network_view_reach(const struct network_view *v, const char *net);
/* Docker's NETWORKS column: the container's networks joined by ",", "none", "host", or ""
 * for container:X. malloc'd; NULL without memory. */
char *network_names_of(const struct container *c);

/* A port published on an IPv6 host address: the monitor accepts on fd (listening, also in
 * fds) and relays each connection to the container's target (core/proxy.h). */
struct network_proxy {
        int fd;
        struct sockaddr_in target;
};

/* What the monitor holds for a started container's networking: the host port reservations
 * (bound sockets) it must keep open until the container stops. */
struct network_hold {
        int *fds;
        size_t n;
        struct network_proxy *proxies; /* ports published on IPv6 host addresses */
        size_t n_proxies;
        bool held; /* a restart: the ports are held and published from the first run */
};

/* A container's legacy links, resolved once per operation: each linked ("child") container
 * is loaded once and handed to everything that needs it (the running check, /etc/hosts, the
 * link variables, the DNS names). child is NULL when it does not exist. */
struct network_link {
        struct links_stored stored;
        struct container *child;
        struct in_addr ip; /* the child's primary address; 0: none */
};
struct network_links {
        struct network_link *v;
        size_t n;
};
/* Resolves c's HostConfig.Links. -ENOMEM only. */
int network_links_resolve(const struct cli *cli, const struct container *c,
                          struct network_links *ret, struct err *err);
void network_links_free(struct network_links *l);

/* Connects the container (init pid, network namespace fd) to every network in its state:
 * address, veth, published ports; records NetworkSettings in c->doc (caller saves) and
 * re-renders its /etc/hosts. On failure everything made is removed. Runs in the monitor. */
int network_attach(const struct cli *cli, struct container *c, const struct network_links *links,
                   int netns_fd, struct network_hold *hold, struct err *err);
/* What network_detach does with the container's host veths. */
enum network_veths {
        /* Deleted now (a start that failed, a monitor that died: the namespace may live). */
        NETWORK_VETHS_DELETE,
        /* Taken down, then gone with the container's network namespace, which the kernel
         * destroys in its batched cleanup: spares the exit path a ~20 ms synchronous
         * unregistration per interface, and the bridge no longer reaches the old namespace
         * when the next container gets the address (and MAC) back. */
        NETWORK_VETHS_DOWN,
        /* Left alone: already down or gone (a removal after the exit). */
        NETWORK_VETHS_KEEP,
};
/* Removes the container's published ports, leases and veths as veths says. Idempotent, safe
 * after a crash; warnings are printed for failures ("..., ignoring"). */
void network_detach(const struct cli *cli, const char *id, enum network_veths links);
void network_hold_close(struct network_hold *hold);
/* Docker's network "connect" or "disconnect" event of c on each of its networks ("none" and
 * "host" for those modes, nothing for container:X), as a start and an exit make them. */
void network_log_endpoints(const struct cli *cli, const struct container *c, const char *action);

/* The reverse link index, --root/links/<child name>/<parent id>: who links to a name, found
 * without reading every container. Added at create, removed with the parent or its link. */
void network_link_index_add(const struct cli *cli, const char *child, const char *parent_id);
void network_link_index_del(const struct cli *cli, const struct container *parent);

/* Rewrites /etc/hosts of every running container that links to c (c restarted or was
 * recreated with another address), then calls changed (may be NULL) for each: the caller
 * refreshes what else depends on the link (the linker's DNS names). */
void network_update_links(const struct cli *cli, const struct container *c,
                          void (*changed)(const struct cli *cli, const struct container *linker));

/* Appends Docker's legacy link variables (ALIAS_PORT_..., ALIAS_NAME, ALIAS_ENV_...) for
 * every --link of c to *env, from the linked containers' current addresses; links is c's
 * resolved links, or NULL to resolve them here. */
int network_link_env(const struct cli *cli, const struct container *c,
                     const struct network_links *links, char ***env, struct err *err);
/* `rm --link /parent/alias`: drops the link from the parent and rewrites its /etc/hosts. */
int network_remove_link(const struct cli *cli, const char *spec, struct err *err);
/* --link on a user network (Docker's semantics there): "name:alias" on the endpoint of net,
 * a DNS alias for this container only; the target need not exist. */
int network_add_endpoint_links(const struct cli *cli, struct jv *doc, const char *net, char **specs,
                               struct err *err);
/* Writes a new container's /etc/hosts (the file bound in): Docker's layout with its --add-host
 * lines; with host networking the host's file with them after it. Its own line comes with its
 * address, at start. */
int network_hosts_create(const struct cli *cli, const struct container *c, struct err *err);
/* The address of an --add-host value: "host-gateway" is the default bridge's gateway (as
 * Docker's default --host-gateway-ip), written into out; anything else is itself. */
const char *network_host_gateway(const struct cli *cli, const char *value,
                                 char out[INET_ADDRSTRLEN]);
/* Adds an endpoint request (aliases, --ip) for network net to a container document. */
int network_add_endpoint(struct jv *doc, const char *net, char **aliases, const char *ip,
                         const char *ip6);

/* `network create`'s flags. */
struct network_opts {
        char *subnet, *gateway, *ip_range, *driver;
        char *subnet6, *gateway6; /* --ipv6: the IPv6 --subnet and --gateway */
        bool internal, ipv6, help;
        char **opts, **labels;
        char **subnets, **gateways; /* as given; network_create splits them by family */
};
/* Creates network name as `network create` does (Docker's checks and messages, the create
 * event); its id into ret_id. */
int network_create(const struct cli *cli, const char *name, struct network_opts *o, char ret_id[65],
                   struct err *err);
/* Removes network name as `network rm` does: -EBUSY while a container uses it. */
int network_remove(const struct cli *cli, const char *name, struct err *err);
/* The `network inspect` document of a network (name or id prefix); -ENOENT with Docker's
 * "network REF not found". */
int network_inspect(const struct cli *cli, const char *ref, struct jv **ret, struct err *err);
/* `hawser network ...` and `hawser port`. */
int network_cmd(struct cli *cli, int argc, char **argv, struct err *err);
/* Finishes a connect or disconnect of c that was killed halfway (Hawser.Pending): completes
 * the disconnect, rolls the connect back. No-op (0) while that command still holds the lock;
 * 1 with the network's name in net when it finished one: the caller refreshes DNS. */
int network_settle(const struct cli *cli, struct container *c, char net[NETWORK_NAME_MAX + 1]);
/* Calls fn with runroot/networks/NET/SUB for every network NET with runtime state (whether
 * that directory exists or not). */
void network_each_run_dir(const struct cli *cli, const char *sub,
                          void (*fn)(const char *dir, void *ud), void *ud);
/* Removes what killed processes left in the kernel and the run root (host veth ends, address
 * leases, published-port elements) of every owner not in all: system prune. */
void network_reclaim_orphans(const struct cli *cli, struct container **all);
/* Forgets the remembered addresses (runroot/networks/NET/names/) of names no container in all
 * has: system prune. A network remembers its NAMES_KEPT most recent names anyway. */
void network_forget_names(const struct cli *cli, struct container **all);
/* `hawser network prune` (also used by system prune). */
int network_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err);
struct prune_filter;
/* Removes the user networks no container uses that pass f (may be NULL), printing Docker's
 * "Deleted Networks:" section; the number removed. */
int network_prune(struct cli *cli, const struct prune_filter *f, struct err *err);
int network_cmd_port(struct cli *cli, int argc, char **argv, struct err *err);
