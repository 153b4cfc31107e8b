/* Network drivers beside the bridge: -d macvlan|ipvlan, their options and Docker's errors. */
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/link.h"
#include "internal.h"

/* The driver of a network and its options, with Docker's messages for bad ones. */
int store_driver(const char *driver, const struct jv *opts, struct network *n, struct err *err)
{
        static const struct {
                const char *name;
                int mode;
        } macvlan[] = {{"bridge", MACVLAN_MODE_BRIDGE},
                       {"private", MACVLAN_MODE_PRIVATE},
                       {"vepa", MACVLAN_MODE_VEPA},
                       {"passthru", MACVLAN_MODE_PASSTHRU}},
          ipvlan[] = {{"l2", IPVLAN_MODE_L2}, {"l3", IPVLAN_MODE_L3}, {"l3s", IPVLAN_MODE_L3S}};
        bool mv = driver && !strcmp(driver, "macvlan");
        const char *key = mv ? "macvlan_mode" : "ipvlan_mode", *mode, *parent;

        if (!driver || !strcmp(driver, "bridge")) {
                n->driver = NETWORK_DRIVER_BRIDGE;
                return 0;
        }
        if (!mv && strcmp(driver, "ipvlan"))
                return err_set(err, -ENOENT, "plugin \"%s\" not found", driver);
        n->driver = mv ? NETWORK_DRIVER_MACVLAN : NETWORK_DRIVER_IPVLAN;
        mode = jv_get_str(opts, key);
        n->sub_mode = mv ? MACVLAN_MODE_BRIDGE : IPVLAN_MODE_L2;
        for (size_t i = 0; mode && i < (mv ? ARRAY_SIZE(macvlan) : ARRAY_SIZE(ipvlan)); i++)
                if (!strcmp(mode, mv ? macvlan[i].name : ipvlan[i].name)) {
                        n->sub_mode = mv ? macvlan[i].mode : ipvlan[i].mode;
                        mode = NULL;
                }
        if (mode)
                return err_set(err, -EINVAL,
                               "requested %s mode '%s' is not valid, '%s' mode is the %s driver "
                               "default",
                               driver, mode, mv ? "bridge" : "l2", driver);
        parent = jv_get_str(opts, "parent");
        if (!parent || !*parent || strlen(parent) >= sizeof(n->parent))
                return err_set(err, -EINVAL,
                               "the %s driver needs -o parent=INTERFACE (a host interface)",
                               driver);
        snprintf(n->parent, sizeof(n->parent), "%s", parent);
        return 0;
}

struct parent_q {
        const char *parent;
        char who[NETWORK_NAME_MAX + 1];
};

static int parent_cb(struct jv *doc, void *ud)
{
        struct parent_q *q = ud;
        const char *p = jv_get_str(jv_get(doc, "Options"), "parent");
        const char *d = jv_get_str(doc, "Driver");

        if (!p || !d || strcmp(p, q->parent) || !strcmp(d, "bridge"))
                return 0;
        snprintf(q->who, sizeof(q->who), "%s", jv_get_str(doc, "Name") ?: "");
        return 1;
}

/* -d macvlan|ipvlan: Docker's options and errors; the parent must exist (hawser makes no
 * VLAN sub-interfaces and no dummy parents) and carry no other such network. */
int driver_check(const struct cli *cli, const struct network_opts *o, const struct jv *opts,
                 struct err *err)
{
        struct network n = {0};
        struct parent_q q = {0};
        int r = store_driver(o->driver, opts, &n, err);

        if (r < 0 || n.driver == NETWORK_DRIVER_BRIDGE)
                return r;
        if (o->internal)
                return err_set(err, -EINVAL, "--internal is not supported with the %s driver",
                               o->driver);
        if (net_link_exists(n.parent) != 1)
                return strchr(n.parent, '.')
                               ? err_set(err, -ENODEV,
                                         "-o parent interface was not found on the host: %s",
                                         n.parent)
                               : err_set(err, -ENODEV,
                                         "invalid subinterface vlan name %s, example formatting "
                                         "is eth0.10",
                                         n.parent);
        q.parent = n.parent;
        if (store_each(cli, parent_cb, &q))
                return err_set(err, -EEXIST, "network %s is already using parent interface %s",
                               q.who, n.parent);
        return 0;
}
