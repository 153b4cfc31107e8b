#include <net/if.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "net/loopback.h"
#include "net/nl.h"

/* The loopback device has ifindex 1 in every network namespace. */
#define LOOPBACK_IFINDEX 1

static void link_putp(struct rtnl_link **l)
{
        if (*l)
                rtnl_link_put(*l);
}

int net_loopback_up(struct err *err)
{
        _cleanup_net_nl_ struct net_nl nl = NET_NL_INIT;
        _cleanup_(link_putp) struct rtnl_link *req = rtnl_link_alloc();
        int r;

        if (!req)
                return err_set(err, -ENOMEM, "bringing lo up");
        r = net_nl_open(&nl, err);
        if (r < 0)
                return r;
        rtnl_link_set_ifindex(req, LOOPBACK_IFINDEX);
        rtnl_link_set_flags(req, IFF_UP);
        /* A plain RTM_NEWLINK by ifindex with ifi_change = IFF_UP is what `ip link set lo up`
         * sends; rtnl_link_change would first need the current object. */
        r = rtnl_link_add(nl.sk, req, 0);
        if (r < 0)
                return net_nl_fail(&nl, r, err, "bringing lo up");
        return 0;
}
