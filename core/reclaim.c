#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "network.h"
#include "reclaim.h"

/* Whose things are reclaimed: one container's (id), or those of no container in all. */
struct scope {
        struct container **all;
        const char *id;
};

static bool gone(const struct scope *s, const char *owner_prefix)
{
        size_t n = strlen(owner_prefix);

        if (s->id)
                return !strncmp(s->id, owner_prefix, n);
        for (struct container **p = s->all; *p; p++)
                if (!strncmp((*p)->id, owner_prefix, n))
                        return false;
        return true;
}

/* veth host ends are hw + 12 (or 11 + index) hex digits of the container id. */
static void reclaim_veths(const struct scope *s)
{
        _cleanup_strv_ char **links = NULL;
        struct err e = {0};

        if (net_link_list(&links, &e) < 0)
                return;
        for (char **l = links; l && *l; l++) {
                char prefix[12];
                if (strncmp(*l, "hw", 2) || strlen(*l) != 14)
                        continue;
                snprintf(prefix, sizeof(prefix), "%.10s", *l + 2);
                if (gone(s, prefix) && net_link_delete(*l, &e) < 0)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
}

static void release_gone(const char *dir, void *ud)
{
        _cleanup_closedir_ DIR *ld = opendir(dir);
        struct dirent *le;

        while (ld && (le = readdir(ld))) {
                struct in_addr a;
                char owner[160];
                struct err e = {0};
                if (inet_pton(AF_INET, le->d_name, &a) != 1 ||
                    net_ipam_owner(dir, a, owner, sizeof(owner)) < 0 || !gone(ud, owner))
                        continue;
                net_ipam_release(dir, a, owner, &e);
        }
}

struct owned {
        struct in_addr ip;
        bool yes;
};

static void lease_held(const char *dir, void *ud)
{
        struct owned *o = ud;
        char owner[160];

        o->yes = o->yes || net_ipam_owner(dir, o->ip, owner, sizeof(owner)) == 0;
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
                struct owned o = {ports[i].ctr_ip, false};
                network_each_run_dir(cli, "leases", lease_held, &o);
                if (!o.yes)
                        ports[k++] = ports[i];
        }
        if (k && net_nft_unpublish(ports, k, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        free(ports);
}

static void reclaim(const struct cli *cli, const struct scope *s)
{
        reclaim_veths(s);
        network_each_run_dir(cli, "leases", release_gone, (void *)s);
        reclaim_ports(cli);
}

void reclaim_orphans(const struct cli *cli, struct container **all)
{
        reclaim(cli, &(struct scope){.all = all});
}

void reclaim_container(const struct cli *cli, const char *id)
{
        reclaim(cli, &(struct scope){.id = id});
}
