#include <net/if.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "net/loopback.h"

static int nlerr(int e)
{
        switch (-e) {
        case NLE_EXIST:
                return -EEXIST;
        case NLE_NODEV:
                return -ENODEV;
        case NLE_OBJ_NOTFOUND:
                return -ENOENT;
        case NLE_PERM:
                return -EPERM;
        case NLE_NOMEM:
                return -ENOMEM;
        default:
                return -EPROTO;
        }
}

int net_loopback_up(struct err *err)
{
        struct nl_sock *sk = nl_socket_alloc();
        struct rtnl_link *req = NULL;
        int r;

        if (!sk)
                return err_set(err, -ENOMEM, "allocating a netlink socket");
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return err_set(err, nlerr(r), "connecting to rtnetlink: %s", nl_geterror(r));
        }
        req = rtnl_link_alloc();
        if (!req) {
                nl_socket_free(sk);
                return err_set(err, -ENOMEM, "bringing lo up");
        }
        rtnl_link_set_ifindex(req, 1);
        rtnl_link_set_flags(req, IFF_UP);
        /* rtnl_link_change would need the current object; a plain RTM_NEWLINK by ifindex
         * with the flag set is what `ip link set lo up` sends. */
        r = rtnl_link_add(sk, req, 0);
        rtnl_link_put(req);
        nl_socket_free(sk);
        if (r < 0)
                return err_set(err, nlerr(r), "bringing lo up: %s", nl_geterror(r));
        return 0;
}
