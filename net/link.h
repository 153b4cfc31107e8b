#pragma once
/* Bridges, veth pairs, routes and sysctls over rtnetlink (IPv4). Every function works in the
 * calling thread's network namespace unless it says otherwise, waits for the kernel's ACK on
 * every change, returns 0 (or the value stated) or -errno, and never prints. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"

/* An interface's IPv6 address and default route (dual-stack networks). */
struct net_addr6 {
        struct in6_addr addr;
        int prefix; /* 1..126 */
        struct in6_addr gateway;
        bool has_gateway;
};

/* A container's veth pair. Names are deterministic and at most 15 characters, so a crash can
 * always be cleaned up by name. */
struct net_veth {
        const char *host_name;      /* host end, e.g. "hw" + 12 hex digits of the container id */
        const char *bridge;         /* existing bridge the host end joins */
        int netns_fd;               /* fd of /proc/PID/ns/net of the container */
        const char *peer_name;      /* container end, created there under this name ("eth0") */
        struct in_addr addr;        /* container address ... */
        int prefix;                 /* ... and its prefix length, 1..32 */
        struct in_addr gateway;     /* default route via this address; 0.0.0.0: no default route */
        uint8_t mac[6];             /* container end's MAC */
        int mtu;                    /* both ends; 0 keeps the kernel's default */
        const struct net_addr6 *v6; /* also an IPv6 address and route; NULL: IPv4 only */
};

/* Creates the bridge if missing (also when a concurrent creator wins the race), sets its MTU
 * (0: leave it), adds gw/prefix unless present, brings it up. Returns its ifindex (> 0).
 * -EEXIST: name exists and is not a bridge. */
int net_link_bridge_ensure(const char *name, struct in_addr gw, int prefix, int mtu,
                           struct err *err);
/* Deletes the bridge; a missing one is success. -EINVAL: name is not a bridge. */
int net_link_bridge_delete(const char *name, struct err *err);
/* Creates the pair with the container end directly in v->netns_fd's namespace, host end
 * enslaved to v->bridge and up; then, through a socket opened in that namespace (the calling
 * thread never setns()es), sets the container end's IPv6 address generation to none (no
 * link-local address, so no DAD), adds v->addr/v->prefix, brings it up and adds the default
 * route. On failure nothing is left behind. -EEXIST: host_name exists on the host or
 * peer_name in the container; -ENODEV: no such bridge; -EBADF: netns_fd is not open;
 * -EINVAL: netns_fd is not a network namespace, or a bad name, prefix or MAC. */
int net_link_veth_create(const struct net_veth *v, struct err *err);
/* A macvlan or ipvlan interface on a host interface, created directly in a container's
 * namespace (it has no host end). */
struct net_sublink {
        const char *kind;           /* "macvlan" or "ipvlan" */
        const char *parent;         /* the host interface it sits on */
        int mode;                   /* MACVLAN_MODE_* or IPVLAN_MODE_* (linux/if_link.h) */
        int netns_fd;               /* fd of /proc/PID/ns/net of the container */
        const char *name;           /* its name there ("eth0") */
        struct in_addr addr;        /* container address ... */
        int prefix;                 /* ... and its prefix length, 1..32 */
        struct in_addr gateway;     /* default route via this address; 0.0.0.0: none */
        uint8_t mac[6];             /* macvlan only (an ipvlan shares its parent's) */
        int mtu;                    /* 0: the parent's */
        const struct net_addr6 *v6; /* NULL: IPv4 only */
};
/* Adds an IPv6 address (no duplicate address detection: usable at once) to a host interface;
 * present already is success. */
int net_link_addr6_add(const char *name, const struct in6_addr *a, int prefix, struct err *err);
/* A dual-stack bridge's IPv6 side: IPv6 enabled on it and the gateway address added. */
int net_link_bridge_ipv6(const char *bridge, const struct in6_addr *gw, int prefix,
                         struct err *err);
/* Creates it and configures it as net_link_veth_create configures a container end. On
 * failure nothing is left behind. -ENODEV: no such parent; -EOPNOTSUPP (the kernel's answer)
 * when the kernel has no such driver. */
int net_link_sublink_create(const struct net_sublink *s, struct err *err);
/* Deletes a link by name inside the namespace of netns_fd; a missing one is success. */
int net_link_delete_in(int netns_fd, const char *name, struct err *err);
/* Deletes any link by name (a veth takes its peer with it); a missing one is success. */
int net_link_delete(const char *name, struct err *err);
/* Takes the n links down (a bridge port stops forwarding and forgets the addresses it
 * learned), over one netlink socket; a missing one is success. Stops at the first error. */
int net_link_set_down(const char *const *names, size_t n, struct err *err);
/* 1 if a link with this name exists, 0 if not, -errno if the kernel could not be asked. */
int net_link_exists(const char *name);
/* The same inside the namespace of netns_fd. */
int net_link_exists_in(int netns_fd, const char *name);
/* Sets *ret to whether net/prefix overlaps an IPv4 route of the main table (the default route
 * excepted) or an IPv4 address of any interface. -EINVAL: prefix outside 0..32. */
int net_route_overlaps(struct in_addr net, int prefix, bool *ret, struct err *err);
/* Writes value to a sysctl file under /proc/sys/ (net.* ones apply to the calling thread's
 * namespace). -ENOENT: no such sysctl (e.g. the interface is gone); -EINVAL: path not under
 * /proc/sys/. */
int net_sysctl_write(const char *path, const char *value, struct err *err);
/* Stores a NULL-terminated, caller-owned (strv) list of all link names in *ret and returns
 * how many there are. */
int net_link_list(char ***ret, struct err *err);
/* Adds, inside the namespace of netns_fd, a route to to/prefix via gw through link name. */
int net_link_route_add_in(int netns_fd, const char *name, struct in_addr to, int prefix,
                          struct in_addr gw, struct err *err);
/* The same for IPv6: a route to to/prefix via gw on name inside netns_fd's namespace. */
int net_link_route6_add_in(int netns_fd, const char *name, const struct in6_addr *to, int prefix,
                           const struct in6_addr *gw, struct err *err);
/* Checks, inside the namespace of netns_fd, that link name exists with a/prefix and (gateway
 * not 0.0.0.0) a default route via gateway through it. -ENOENT names what is missing. */
int net_link_check_in(int netns_fd, const char *name, struct in_addr a, int prefix,
                      struct in_addr gateway, struct err *err);
