#pragma once
/* rtnetlink socket and error helpers shared by the files in net/. Internal to net/: the rest
 * of hawser uses net/link.h and net/loopback.h. libnl appears here only as an opaque
 * forward declaration. */
#include "core/base/cleanup.h"
#include "core/base/err.h"

struct nl_sock;

/* Kernel extack strings are short literals ("Nexthop has invalid gateway"); longer ones are
 * truncated, which only shortens the message. */
#define NET_NL_EXTACK_MAX 160

/* A NETLINK_ROUTE socket bound to one network namespace, plus the kernel's answer to the
 * last failed request. Must not be moved after net_nl_open*() (libnl keeps its address). */
struct net_nl {
        struct nl_sock *sk;
        int kernel_errno;                /* positive errno from the last NLMSG_ERROR, or 0 */
        char ext_ack[NET_NL_EXTACK_MAX]; /* NLMSGERR_ATTR_MSG of that error, or "" */
};

#define NET_NL_INIT                                                                                \
        {                                                                                          \
                .sk = NULL                                                                         \
        }

/* Opens a socket in the calling thread's network namespace, with extended ACKs on. */
int net_nl_open(struct net_nl *nl, struct err *err);
/* Opens a socket in the network namespace netns_fd refers to, from a short-lived thread
 * that setns()es; the calling thread never changes namespace. -EINVAL: not a netns fd. */
int net_nl_open_netns(struct net_nl *nl, int netns_fd, struct err *err);
/* Closes the socket; a closed or never opened net_nl is fine. */
void net_nl_close(struct net_nl *nl);
#define _cleanup_net_nl_ _cleanup_(net_nl_close)

/* Maps libnl's own code space (-NLE_*) to -errno; unknown codes become -EPROTO. */
int net_nl_errno(int nle);
/* -errno for a failed libnl call r: the kernel's own errno when the failure was an
 * NLMSG_ERROR, the mapped NLE_* otherwise. */
int net_nl_code(const struct net_nl *nl, int r);
/* Forgets the recorded kernel error after a failure the caller tolerates. */
void net_nl_forget(struct net_nl *nl);
/* Sets err to "<fmt>: <libnl text>[: <kernel extack>][ (<kernel strerror>)]" with the code
 * of net_nl_code(nl, r), forgets the kernel error and returns the code. */
int net_nl_fail(struct net_nl *nl, int r, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
