#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "dns/files.h"
#include "dns/server.h"
#include "dnsd.h"
#include "links.h"
#include "network.h"
#include "opt.h"

/* The endpoint of v on net when it has an address there. */
static const struct network_endpoint *on(const struct network_view *v, const char *net)
{
        const struct network_endpoint *ep = network_view_find(v, net);

        return ep && ep->ip.s_addr ? ep : NULL;
}

static const char *ip_text(const struct network_endpoint *ep, char buf[INET_ADDRSTRLEN])
{
        return ep && ep->ip.s_addr ? inet_ntop(AF_INET, &ep->ip, buf, INET_ADDRSTRLEN) : NULL;
}

/* A dual-stack endpoint's IPv6 address, for AAAA answers. */
static void set_ip6(struct jv *rec, const struct network_endpoint *ep)
{
        char a6[INET6_ADDRSTRLEN];

        if (!IN6_IS_ADDR_UNSPECIFIED(&ep->ip6))
                jv_set_str(rec, "ip6", inet_ntop(AF_INET6, &ep->ip6, a6, sizeof(a6)));
}

/* The networks v has an address on. */
static struct jv *nets_of(const struct network_view *v)
{
        struct jv *nets = jv_new_array();

        for (size_t i = 0; i < v->n; i++)
                if (v->ep[i].ip.s_addr)
                        jv_append(nets, jv_new_string(v->ep[i].net));
        return nets;
}

/* The names c answers to on ep's network: its name, short id, hostname, aliases there. */
static struct jv *names_of(const struct container *c, const struct network_endpoint *ep)
{
        struct jv *names = jv_new_array();
        const char *host = jv_str(jv_path(c->doc, "Config.Hostname"));
        char shortid[13];

        snprintf(shortid, sizeof(shortid), "%.12s", c->id);
        jv_append(names, jv_new_string(container_name(c)));
        jv_append(names, jv_new_string(shortid));
        if (host && strcmp(host, shortid) && strcmp(host, container_name(c)))
                jv_append(names, jv_new_string(host));
        for (size_t i = 0; i < jv_len(ep->aliases); i++)
                jv_append(names, jv_copy(jv_at(ep->aliases, i)));
        return names;
}

static struct container *find_named(struct container **all, const char *name)
{
        for (struct container **p = all; *p; p++)
                if (!strcmp(container_name(*p), name))
                        return *p;
        return NULL;
}

/* A --link alias: the linked container, while live, at the address a client on net reaches
 * (legacy links: on net, else its primary address), or only on net (a user network's link). */
static void alias_name(struct jv *names, const char *alias, const struct container *child,
                       const char *net, bool only_on_net)
{
        struct network_view v;
        char ip[INET_ADDRSTRLEN];

        if (!child || !container_is_live(child))
                return;
        network_view_read(child, &v);
        if (ip_text(only_on_net ? on(&v, net) : network_view_reach(&v, net), ip))
                jv_set_str(names, alias, ip);
}

/* The user-network links of c's endpoint on net ("name:alias"); each target is looked up in
 * all when given (a rebuild has every container), else in the store. */
static void endpoint_link_names(const struct cli *cli, struct container **all,
                                const struct network_view *cv, const char *net, struct jv *names)
{
        const struct network_endpoint *ep = network_view_find(cv, net);

        for (size_t i = 0; ep && i < jv_len(ep->links); i++) {
                const char *l = jv_str(jv_at(ep->links, i)), *colon = l ? strchr(l, ':') : NULL;
                struct container *own = NULL;
                struct err e = {0};
                char name[256];
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - l), l);
                if (all)
                        alias_name(names, colon + 1, find_named(all, name), net, true);
                else if (container_find(cli, name, &own, &e) == 0)
                        alias_name(names, colon + 1, own, net, true);
                container_free(own);
        }
}

/* Per-client names: its --link aliases, and members of the other networks it is on. */
static struct jv *client_names(struct container **all, const struct container *c,
                               const struct network_view *cv, const char *net)
{
        const struct jv *links = jv_path(c->doc, "HostConfig.Links");
        struct jv *names = jv_new_object();
        char ip[INET_ADDRSTRLEN];

        for (struct container **p = all; *p; p++) {
                struct network_view pv;
                if (*p == c)
                        continue;
                network_view_read(*p, &pv);
                for (size_t i = 0; i < pv.n; i++)
                        if (strcmp(pv.ep[i].net, net) && on(cv, pv.ep[i].net) &&
                            ip_text(&pv.ep[i], ip))
                                jv_set_str(names, container_name(*p), ip);
        }
        for (size_t i = 0; i < jv_len(links); i++) {
                struct links_stored l;
                if (links_parse_stored(jv_str(jv_at(links, i)), &l) == 0)
                        alias_name(names, l.alias, find_named(all, l.child), net, false);
        }
        endpoint_link_names(NULL, all, cv, net, names);
        return names;
}

static char *records_path(const struct cli *cli, const char *net)
{
        return cli_runroot_path(cli, "dns/%s.json", net);
}

static int write_records(const struct cli *cli, const struct network *n, struct container **all,
                         size_t *ret_count, struct err *err)
{
        _cleanup_free_ char *dir = cli_runroot_path(cli, "dns");
        _cleanup_free_ char *path = records_path(cli, n->name);
        _cleanup_jv_ struct jv *doc = jv_new_object();
        struct jv *records = jv_new_array(), *clients = jv_new_array();
        char gw[INET_ADDRSTRLEN];
        size_t count = 0;

        jv_set_str(doc, "domain", DNSD_DOMAIN);
        jv_set_str(doc, "gateway", inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw)));
        jv_set(doc, "upstreams", dns_files_upstreams("/etc/resolv.conf"));
        jv_set(doc, "records", records);
        jv_set(doc, "clients", clients);
        for (struct container **p = all; *p; p++) {
                const struct network_endpoint *ep;
                struct network_view v;
                char ip[INET_ADDRSTRLEN];
                struct jv *r, *cl;
                network_view_read(*p, &v);
                ep = on(&v, n->name);
                if (!ep || !container_is_live(*p))
                        continue;
                ip_text(ep, ip);
                r = jv_new_object();
                jv_set_str(r, "id", (*p)->id);
                jv_set_str(r, "ip", ip);
                set_ip6(r, ep);
                jv_set(r, "nets", nets_of(&v));
                jv_set(r, "names", names_of(*p, ep));
                jv_append(records, r);
                cl = jv_new_object();
                jv_set_str(cl, "id", (*p)->id);
                jv_set_str(cl, "client", ip);
                jv_set(cl, "names", client_names(all, *p, &v, n->name));
                jv_append(clients, cl);
                count++;
        }
        if (!dir || !path || fs_mkdir_p(dir, 0700, err) < 0)
                return err_set(err, -ENOMEM, "writing DNS records of %s", n->name);
        *ret_count = count;
        return jv_save(path, doc, err);
}

/* Whether net has a server: a bridge network, which the host reaches on its gateway (a
 * macvlan or ipvlan network's containers are not reachable from the host). */
static bool served(const struct cli *cli, const char *net)
{
        struct network n = {0};
        struct err e = {0};
        bool yes = network_load(cli, net, &n, &e) == 0 && n.driver == NETWORK_DRIVER_BRIDGE;

        network_release(&n);
        return yes;
}

/* Starts `hawser _dns NETWORK` detached, unless its lock shows one running. */
static void ensure_server(const struct cli *cli, const char *net)
{
        _cleanup_free_ char *lock = cli_runroot_path(cli, "dns/%s.lock", net);
        /* Read-only: monitors watch the lock for a close after writing (a server's death,
         * dnsd_watch); this look must not wake them. */
        _cleanup_close_ int fd = lock ? open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
        pid_t pid;

        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                return; /* a server holds the lock */
        flock(fd, LOCK_UN);
        /* Checked only now, when no server runs: a start does not pay for it. */
        if (!served(cli, net))
                return;
        pid = fork();
        if (pid < 0)
                return;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                setsid();
                if (fork() != 0)
                        _exit(0);
                for (int i = 0; i < 3; i++)
                        dup2(null, i);
                close_range(3, ~0U, 0);
                execl(cli->self, "hawser", "--root", cli->root, "--runroot", cli->runroot, "_dns",
                      net, (char *)NULL);
                _exit(127);
        }
        waitpid(pid, NULL, 0);
}

/* Serialises the read-modify-write of a network's records file (two starts, a start and a
 * disconnect). Returns the lock's fd, or -1 when it cannot be had: the update then goes
 * ahead unlocked. */
static int records_lock(const struct cli *cli, const char *net)
{
        _cleanup_free_ char *dir = cli_runroot_path(cli, "dns");
        _cleanup_free_ char *p = cli_runroot_path(cli, "dns/%s.records.lock", net);
        struct err e = {0};
        int fd;

        if (!dir || !p || fs_mkdir_p(dir, 0700, &e) < 0)
                return -1;
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
                close(fd);
                fd = -1;
        }
        return fd;
}

static void refresh_network_locked(const struct cli *cli, const char *net);

void dnsd_refresh_network(const struct cli *cli, const char *net)
{
        _cleanup_close_ int lock = records_lock(cli, net);

        refresh_network_locked(cli, net);
}

static void refresh_network_locked(const struct cli *cli, const char *net)
{
        struct container **all = NULL;
        struct network n = {0};
        struct err e = {0};
        size_t count = 0;

        if (network_load(cli, net, &n, &e) < 0 || container_list(cli, &all, &e) < 0) {
                network_release(&n);
                return;
        }
        if (write_records(cli, &n, all, &count, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        else if (count)
                ensure_server(cli, n.name);
        container_list_free(all);
        network_release(&n);
}

/* Names a container on other networks sees: the records of those networks' servers. */
static void other_network_names(const struct cli *cli, const struct container *c,
                                const struct network_view *v, const char *net, struct jv *names)
{
        for (size_t k = 0; k < v->n; k++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_jv_ struct jv *doc = NULL;
                const struct jv *recs;
                struct err e = {0};
                if (!strcmp(v->ep[k].net, net) || !v->ep[k].ip.s_addr)
                        continue;
                path = records_path(cli, v->ep[k].net);
                if (!path || jv_load(path, &doc, &e) < 0)
                        continue;
                recs = jv_get(doc, "records");
                for (size_t i = 0; i < jv_len(recs); i++) {
                        const struct jv *r = jv_at(recs, i), *ns = jv_get(r, "names");
                        if (!strcmp(jv_get_str(r, "id") ?: "", c->id))
                                continue;
                        for (size_t j = 0; j < jv_len(ns); j++)
                                jv_set_str(names, jv_str(jv_at(ns, j)), jv_get_str(r, "ip"));
                }
        }
}

/* Link aliases resolved to the children's current addresses (by name: O(1) lookups). */
static void link_names(const struct network_links *links, const char *net, struct jv *names)
{
        for (size_t i = 0; i < links->n; i++)
                alias_name(names, links->v[i].stored.alias, links->v[i].child, net, false);
}

static struct jv *without_id(const struct jv *arr, const char *id)
{
        struct jv *out = jv_new_array();

        for (size_t i = 0; i < jv_len(arr); i++)
                if (strcmp(jv_get_str(jv_at(arr, i), "id") ?: "", id))
                        jv_append(out, jv_copy(jv_at(arr, i)));
        return out;
}

static void update_one(const struct cli *cli, const struct container *c, const char *net,
                       bool present, const struct network_links *links);

/* Members of net that are on other networks too see net's names through those networks'
 * servers: refresh their entries there (only multi-network containers pay for this). */
static void update_cross(const struct cli *cli, const struct container *c, const char *net,
                         const struct jv *records)
{
        for (size_t i = 0; i < jv_len(records); i++) {
                const struct jv *r = jv_at(records, i), *nets = jv_get(r, "nets");
                struct container *y = NULL;
                struct err e = {0};
                if (jv_len(nets) < 2 || !strcmp(jv_get_str(r, "id") ?: "", c->id) ||
                    container_load(cli, jv_get_str(r, "id") ?: "", &y, &e) < 0)
                        continue;
                for (size_t j = 0; j < jv_len(nets); j++)
                        if (strcmp(jv_str(jv_at(nets, j)) ?: "", net))
                                update_one(cli, y, jv_str(jv_at(nets, j)), container_is_running(y),
                                           NULL);
                container_free(y);
        }
}

/* Replaces c's entries in one network's records file without reading other containers, so
 * a start costs the same with 200 containers as with none. */
static void update_one(const struct cli *cli, const struct container *c, const char *net,
                       bool present, const struct network_links *links)
{
        _cleanup_(network_links_free) struct network_links resolved = {0};
        _cleanup_free_ char *path = records_path(cli, net), *dir = cli_runroot_path(cli, "dns");
        _cleanup_close_ int lock = -1;
        _cleanup_jv_ struct jv *doc = NULL;
        struct jv *records, *clients;
        const struct network_endpoint *ep;
        struct network_view v;
        char ip[INET_ADDRSTRLEN];
        struct err e = {0};

        network_view_read(c, &v);
        ep = present ? on(&v, net) : NULL;

        if (!path || !dir)
                return;
        lock = records_lock(cli, net);
        /* No records file yet (the network's first container, or one removed): built from
         * every container's state, then c is put in as it is now (its state may not say
         * running yet: dnsd_publish runs before record_running). */
        if (jv_load(path, &doc, &e) < 0) {
                refresh_network_locked(cli, net);
                err_clear(&e);
                if (jv_load(path, &doc, &e) < 0)
                        return;
        }
        jv_set(doc, "upstreams", dns_files_upstreams("/etc/resolv.conf"));
        records = without_id(jv_get(doc, "records"), c->id);
        clients = without_id(jv_get(doc, "clients"), c->id);
        jv_set(doc, "records", records);
        jv_set(doc, "clients", clients);
        if (ep) {
                struct jv *r = jv_new_object(), *cl = jv_new_object(), *names = jv_new_object();
                ip_text(ep, ip);
                jv_set_str(r, "id", c->id);
                jv_set_str(r, "ip", ip);
                set_ip6(r, ep);
                jv_set(r, "names", names_of(c, ep));
                jv_set(r, "nets", nets_of(&v));
                jv_append(records, r);
                other_network_names(cli, c, &v, net, names);
                if (!links && network_links_resolve(cli, c, &resolved, &e) == 0)
                        links = &resolved;
                if (links)
                        link_names(links, net, names);
                endpoint_link_names(cli, NULL, &v, net, names);
                jv_set_str(cl, "id", c->id);
                jv_set_str(cl, "client", ip);
                jv_set(cl, "names", names);
                jv_append(clients, cl);
        }
        if (jv_save(path, doc, &e) < 0)
                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        else if (jv_len(records))
                ensure_server(cli, net);
}

void dnsd_watch(const struct cli *cli, const struct container *c, int inotify_fd)
{
        struct network_view v;

        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++) {
                _cleanup_free_ char *lock = cli_runroot_path(cli, "dns/%s.lock", v.ep[i].net);
                if (lock)
                        inotify_add_watch(inotify_fd, lock, IN_CLOSE_WRITE);
        }
}

void dnsd_revive(const struct cli *cli, const struct container *c)
{
        struct network_view v;

        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++)
                ensure_server(cli, v.ep[i].net);
}

void dnsd_stop(const struct cli *cli, const char *net)
{
        _cleanup_free_ char *lock = cli_runroot_path(cli, "dns/%s.lock", net);
        _cleanup_free_ char *records = records_path(cli, net);
        _cleanup_free_ char *records_lock_path = cli_runroot_path(cli, "dns/%s.records.lock", net);
        _cleanup_close_ int fd = lock ? open(lock, O_RDWR | O_CLOEXEC) : -1;
        char buf[24] = "";

        if (records)
                unlink(records);
        if (records_lock_path)
                unlink(records_lock_path);
        if (fd < 0)
                return;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0 && pread(fd, buf, sizeof(buf) - 1, 0) > 0 &&
            atoi(buf) > 0) {
                kill(atoi(buf), SIGTERM);
                /* Wait (bounded) until it let go of the lock, and so of its port. */
                for (int i = 0; i < 200 && flock(fd, LOCK_EX | LOCK_NB) < 0; i++)
                        usleep(5000);
        }
        unlink(lock);
}

static void refresh(const struct cli *cli, const struct container *c, bool present,
                    const struct network_links *links)
{
        struct network_view v;

        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++) {
                _cleanup_free_ char *path = records_path(cli, v.ep[i].net);
                _cleanup_jv_ struct jv *doc = NULL;
                struct err e = {0};
                update_one(cli, c, v.ep[i].net, present, links);
                if (path && jv_load(path, &doc, &e) == 0)
                        update_cross(cli, c, v.ep[i].net, jv_get(doc, "records"));
        }
}

void dnsd_refresh(const struct cli *cli, const struct container *c)
{
        refresh(cli, c, container_is_running(c), NULL);
}

void dnsd_publish(const struct cli *cli, const struct container *c,
                  const struct network_links *links)
{
        refresh(cli, c, true, links);
}

/* Whether net's records file holds c at ip (read under the records lock). */
static bool has_record(const struct cli *cli, const char *net, const char *id, const char *ip)
{
        _cleanup_free_ char *path = records_path(cli, net);
        _cleanup_close_ int lock = records_lock(cli, net);
        _cleanup_jv_ struct jv *doc = NULL;
        const struct jv *recs;
        struct err e = {0};

        if (!path || jv_load(path, &doc, &e) < 0)
                return false;
        recs = jv_get(doc, "records");
        for (size_t i = 0; i < jv_len(recs); i++) {
                const struct jv *r = jv_at(recs, i);
                if (!strcmp(jv_get_str(r, "id") ?: "", id))
                        return !strcmp(jv_get_str(r, "ip") ?: "", ip);
        }
        return false;
}

void dnsd_confirm(const struct cli *cli, const struct container *c)
{
        struct network_view v;
        char ip[INET_ADDRSTRLEN];

        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++)
                if (ip_text(&v.ep[i], ip) && !has_record(cli, v.ep[i].net, c->id, ip)) {
                        refresh(cli, c, container_is_running(c), NULL);
                        return;
                }
}

int dnsd_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_free_ char *lock = NULL, *records = NULL;
        _cleanup_close_ int fd = -1;
        struct network n = {0};
        struct in_addr n_gw;
        char gw[INET_ADDRSTRLEN];
        int r;

        if (argc != 2)
                return cli_usage_error(cli, "_dns", err, "\"hawser _dns\" requires a network");
        r = network_load(cli, argv[1], &n, err);
        if (r < 0)
                return r;
        lock = cli_runroot_path(cli, "dns/%s.lock", n.name);
        records = records_path(cli, n.name);
        fd = lock ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
                network_release(&n);
                return 0; /* another server runs */
        }
        {
                /* The lock file names the server, so `network rm` can stop it. */
                char pid[24];
                int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
                if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
                        return err_errno(err, "writing %s", lock);
        }
        inet_ntop(AF_INET, &n.gateway, gw, sizeof(gw));
        n_gw = n.gateway;
        network_release(&n);
        {
                struct dns_server_config cfg = {
                        .listen_addr = n_gw,
                        .port = 53,
                        .records_path = records,
                        .idle_exit_sec = 5,
                        .stop_fd = -1,
                        .ready_fd = -1,
                };
                r = dns_server_run(&cfg, err);
        }
        return r < 0 ? r : 0;
}
