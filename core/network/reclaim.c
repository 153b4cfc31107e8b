/* What a killed hawser or monitor leaves in the kernel and in the run root: host veth ends,
 * address leases and published-port elements whose container is gone. */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "internal.h"

/* Whether no container in all has an id starting with owner_prefix. */
static bool gone(struct container **all, const char *owner_prefix)
{
        size_t n = strlen(owner_prefix);

        for (struct container **p = all; *p; p++)
                if (!strncmp((*p)->id, owner_prefix, n))
                        return false;
        return true;
}

static void reclaim_veths(struct container **all)
{
        _cleanup_strv_ char **links = NULL;
        struct err e = {0};

        if (net_link_list(&links, &e) < 0)
                return;
        for (char **l = links; l && *l; l++) {
                char prefix[11];
                if (!endpoint_veth_owner(*l, prefix))
                        continue;
                if (gone(all, prefix) && net_link_delete(*l, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
}

static void release_gone(const char *dir, void *ud)
{
        struct container **all = ud;
        _cleanup_closedir_ DIR *ld = opendir(dir);
        struct dirent *le;

        while (ld && (le = readdir(ld))) {
                _cleanup_free_ char *path = NULL, *owner = NULL;
                struct in6_addr a6;
                struct in_addr a;
                struct err e = {0};
                /* IPv4 leases, and the IPv6 ones of dual-stack networks: the owner's all go. */
                if (inet_pton(AF_INET, le->d_name, &a) != 1 &&
                    inet_pton(AF_INET6, le->d_name, &a6) != 1)
                        continue;
                path = util_printf("%s/%s", dir, le->d_name);
                if (!path || fs_read_file(path, &owner, NULL, &e) < 0 || !gone(all, owner))
                        continue;
                net_ipam_release_owner(dir, owner, &e);
        }
}

struct owned {
        const struct net_nft_port *port;
        bool yes;
};

static void lease_held(const char *dir, void *ud)
{
        struct owned *o = ud;
        const struct net_nft_port *p = o->port;
        char owner[160];

        o->yes = o->yes || (p->v6 ? net_ipam_owner6(dir, &p->ctr_ip6, owner, sizeof(owner))
                                  : net_ipam_owner(dir, p->ctr_ip, owner, sizeof(owner))) == 0;
}

/* A published port whose container address has no lease belongs to nobody. */
static void reclaim_ports(const struct cli *cli)
{
        struct net_nft_port *ports = NULL;
        size_t n = 0, k = 0;
        struct err e = {0};

        if (net_nft_list_ports(&ports, &n, &e) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct owned o = {&ports[i], false};
                network_each_run_dir(cli, "leases", lease_held, &o);
                if (!o.yes)
                        ports[k++] = ports[i];
        }
        if (k && net_nft_unpublish(ports, k, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        free(ports);
}

void network_reclaim_orphans(const struct cli *cli, struct container **all)
{
        reclaim_veths(all);
        network_each_run_dir(cli, "leases", release_gone, all);
        reclaim_ports(cli);
}
