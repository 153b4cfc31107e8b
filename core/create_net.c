#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "create.h"
#include "dns/files.h"
#include "links.h"
#include "network.h"
#include "ports.h"
#include "teardown.h"

/* Network-related parts of a new container's document: mode, endpoints, ports, links, extra
 * hosts and DNS settings, checked against what exists now. */

/* Docker's conflicts of --network container:X with the flags that set what X owns, in its
 * order (runconfig's validateNetContainerMode). */
static int container_conflicts(const struct run_opts *o, struct err *err)
{
        static const char pre[] = "conflicting options: ";

        if (o->hostname)
                return err_set(err, -EINVAL, "%shostname and the network mode", pre);
        if (o->links)
                return err_set(err, -EINVAL,
                               "%scontainer type network can't be used with links. This would "
                               "result in undefined behavior",
                               pre);
        if (o->dns)
                return err_set(err, -EINVAL, "%sdns and the network mode", pre);
        if (o->add_hosts)
                return err_set(err, -EINVAL, "%scustom host-to-IP mapping and the network mode",
                               pre);
        if (o->mac_address)
                return err_set(err, -EINVAL, "%smac-address and the network mode", pre);
        if (o->publish || o->publish_all)
                return err_set(err, -EINVAL,
                               "%sport publishing and the container type network mode", pre);
        if (o->expose)
                return err_set(err, -EINVAL, "%sport exposing and the container type network mode",
                               pre);
        return 0;
}

/* --network container:X: X's namespace, hostname and files. The mode is stored with X's id
 * (Docker's container:<id>), so a rename of X changes nothing. */
static int container_mode(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                          const char *target, struct err *err)
{
        struct jv *cfg = jv_get(doc, "Config");
        struct container *x = NULL;
        _cleanup_free_ char *mode = NULL;
        int r = container_conflicts(o, err);

        if (r < 0)
                return r;
        if (!*target)
                return err_set(err, -EINVAL,
                               "Invalid network mode: invalid container format "
                               "container:<name|id>");
        if (o->name && !strcmp(o->name[0] == '/' ? o->name + 1 : o->name, target))
                return err_set(err, -EINVAL, "cannot join own network");
        if (teardown_find(cli, target, &x, err) < 0)
                return -err->code;
        mode = util_printf("container:%s", x->id);
        if (!mode) {
                container_free(x);
                return err_set(err, -ENOMEM, "creating the container");
        }
        jv_set_str(jv_get(doc, "HostConfig"), "NetworkMode", mode);
        jv_set_str(cfg, "Hostname", jv_str(jv_path(x->doc, "Config.Hostname")) ?: "");
        jv_set_str(cfg, "Domainname", jv_str(jv_path(x->doc, "Config.Domainname")) ?: "");
        jv_set_str(doc, "ResolvConfPath", jv_get_str(x->doc, "ResolvConfPath") ?: "");
        jv_set_str(doc, "HostnamePath", jv_get_str(x->doc, "HostnamePath") ?: "");
        jv_set_str(doc, "HostsPath", jv_get_str(x->doc, "HostsPath") ?: "");
        container_free(x);
        return 0;
}

/* --network host: the host's hostname unless -h; links cannot work there. */
static int host_mode(const struct run_opts *o, struct jv *doc, struct err *err)
{
        char host[HOST_NAME_MAX + 1];

        if (o->links)
                return err_set(err, -EINVAL,
                               "conflicting options: host type networking can't be used with "
                               "links. This would result in undefined behavior");
        if (o->mac_address)
                return err_set(err, -EINVAL,
                               "conflicting options: mac-address and the network mode");
        if (o->publish || o->publish_all)
                fprintf(stderr, "WARNING: Published ports are discarded when using host network "
                                "mode\n");
        if (!o->hostname && gethostname(host, sizeof(host)) == 0) {
                host[sizeof(host) - 1] = '\0';
                jv_set_str(jv_get(doc, "Config"), "Hostname", host);
        }
        return 0;
}

static int check_mode(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                      struct err *err)
{
        const char *mode = jv_get_str(jv_get(doc, "HostConfig"), "NetworkMode"), *target;
        struct network n = {0};
        int r;

        switch (network_mode_parse(mode, &target)) {
        case NETWORK_MODE_NONE:
                return 0;
        case NETWORK_MODE_HOST:
                return host_mode(o, doc, err);
        case NETWORK_MODE_CONTAINER:
                return container_mode(cli, o, doc, target, err);
        case NETWORK_MODE_BRIDGE:
                break;
        }
        r = network_load(cli, target, &n, err);
        network_release(&n);
        return r;
}

static int add_binding(struct jv *pb, struct jv *exposed, const struct port_binding *b,
                       struct err *err)
{
        char key[32], hp[24];
        const char *proto = ports_proto_name(b->proto);
        struct jv *list, *o = jv_new_object();

        snprintf(key, sizeof(key), "%u/%s", b->ctr_port, proto);
        if (b->host_port_end > b->host_port)
                snprintf(hp, sizeof(hp), "%u-%u", b->host_port, b->host_port_end);
        else if (b->host_port)
                snprintf(hp, sizeof(hp), "%u", b->host_port);
        else
                hp[0] = '\0';
        if (strchr(b->host_ip, ':') && b->proto != IPPROTO_TCP) {
                jv_put(o);
                return err_set(err, -ENOTSUP,
                               "publishing %s on an IPv6 host address (%s) is not supported", proto,
                               b->host_ip);
        }
        list = jv_get(pb, key);
        if (!list) {
                list = jv_new_array();
                jv_set(pb, key, list);
        }
        jv_set_str(o, "HostIp", b->host_ip);
        jv_set_str(o, "HostPort", hp);
        jv_append(list, o);
        if (!jv_get(exposed, key))
                jv_set(exposed, key, jv_new_object());
        return 0;
}

static int ports_doc(const struct run_opts *o, struct jv *doc, struct err *err)
{
        struct jv *cfg = jv_get(doc, "Config"), *hc = jv_get(doc, "HostConfig");
        struct jv *exposed = jv_get(cfg, "ExposedPorts"), *pb = jv_new_object();

        if (!exposed || jv_type(exposed) != JV_OBJECT) {
                exposed = jv_new_object();
                jv_set(cfg, "ExposedPorts", exposed);
        }
        jv_set(hc, "PortBindings", pb);
        jv_set_bool(hc, "PublishAllPorts", o->publish_all);
        for (char **p = o->publish; p && *p; p++) {
                struct port_binding *v = NULL;
                size_t n = 0;
                int r = ports_parse_publish(*p, &v, &n, err);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = add_binding(pb, exposed, &v[i], err);
                free(v);
                if (r < 0)
                        return r;
        }
        for (char **e = o->expose; e && *e; e++) {
                struct port_range pr;
                int r = ports_parse_expose(*e, &pr, err);
                if (r < 0)
                        return r;
                for (unsigned p = pr.first; p <= pr.last; p++) {
                        char key[32];
                        snprintf(key, sizeof(key), "%u/%s", p, ports_proto_name(pr.proto));
                        if (!jv_get(exposed, key))
                                jv_set(exposed, key, jv_new_object());
                }
        }
        return 0;
}

/* The name part of --add-host NAME:IP becomes a field of /etc/hosts. */
static bool host_name_ok(const char *name, const char *end)
{
        _cleanup_free_ char *n = strndup(name, (size_t)(end - name));

        return n && dns_files_token_ok(n);
}

static int hosts_doc(const struct run_opts *o, struct jv *hc, struct err *err)
{
        for (char **h = o->add_hosts; h && *h; h++) {
                const char *colon = strchr(*h, ':');
                struct in_addr a;
                struct in6_addr a6;
                if (!colon || colon == *h || !host_name_ok(*h, colon) ||
                    (inet_pton(AF_INET, colon + 1, &a) != 1 &&
                     inet_pton(AF_INET6, colon + 1, &a6) != 1 && strcmp(colon + 1, "host-gateway")))
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--add-host\" "
                                          "flag: bad format for add-host: \"%s\"",
                                          *h, *h);
        }
        jv_set(hc, "ExtraHosts", o->add_hosts ? jv_from_strv(o->add_hosts) : NULL);
        jv_set(hc, "Dns", jv_from_strv(o->dns));
        jv_set(hc, "DnsSearch", jv_from_strv(o->dns_search));
        jv_set(hc, "DnsOptions", jv_from_strv(o->dns_options));
        return 0;
}

int create_network_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                       struct err *err)
{
        struct jv *hc = jv_get(doc, "HostConfig");
        const char *mode = jv_get_str(hc, "NetworkMode"), *net;
        bool user_net = network_mode_parse(mode, &net) == NETWORK_MODE_BRIDGE &&
                        strcmp(net, NETWORK_DEFAULT);
        int r;

        /* Docker's two checks, in its order (the first in its client). */
        if (o->aliases && !user_net)
                return err_set(err, -EINVAL,
                               "network-scoped aliases are only supported for user-defined "
                               "networks");
        if ((o->ip || o->ip6) && !user_net)
                return err_set(err, -EINVAL,
                               "user specified IP address is supported on user defined "
                               "networks only");
        if (o->ip6) {
                struct in6_addr a;
                if (inet_pton(AF_INET6, o->ip6, &a) != 1)
                        return err_set(err, -EINVAL, "invalid IPv6 address: %s", o->ip6);
        }
        r = check_mode(cli, o, doc, err);
        if (r >= 0)
                r = ports_doc(o, doc, err);
        if (r >= 0)
                r = hosts_doc(o, hc, err);
        if (r < 0)
                return r;
        jv_set(doc, "NetworkSettings", jv_new_object());
        jv_set(jv_get(doc, "NetworkSettings"), "Ports", jv_new_object());
        /* Read again: check_mode may have rewritten it (container:<id>). */
        if (network_mode_of(doc, &net) == NETWORK_MODE_BRIDGE) {
                struct network n = {0};
                if (network_load(cli, net, &n, err) < 0)
                        return -err->code;
                /* What the network cannot carry is refused here, not dropped at start. */
                if (o->ip6 && !n.ipv6)
                        r = err_set(err, -EINVAL,
                                    "Invalid address %s: It does not belong to any of this "
                                    "network's subnets",
                                    o->ip6);
                else if (o->mac_address && n.driver == NETWORK_DRIVER_IPVLAN)
                        r = err_set(err, -EINVAL,
                                    "--mac-address: an ipvlan interface has its parent's MAC "
                                    "address (network %s)",
                                    n.name);
                else
                        network_add_endpoint(doc, n.name, o->aliases, o->ip, o->ip6);
                network_release(&n);
        }
        for (size_t i = 0; r >= 0 && i < o->n_more_networks; i++) {
                const struct run_endpoint *e = &o->more_networks[i];
                struct network n = {0};
                if (network_mode_of(doc, &net) != NETWORK_MODE_BRIDGE)
                        return err_set(err, -EINVAL,
                                       "container cannot be connected to network %s: its "
                                       "network mode is %s",
                                       e->network, jv_get_str(hc, "NetworkMode"));
                if (network_load(cli, e->network, &n, err) < 0)
                        return -err->code;
                network_add_endpoint(doc, n.name, e->aliases, e->ip, e->ip6);
                network_release(&n);
        }
        return r < 0 ? r : 0;
}

int create_links_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                     struct err *err)
{
        const char *me = jv_get_str(doc, "Name"), *net;
        struct jv *links;

        /* On a user network a link is a DNS alias of this container's (Docker). */
        if (network_mode_of(doc, &net) == NETWORK_MODE_BRIDGE && strcmp(net, NETWORK_DEFAULT)) {
                jv_set(jv_get(doc, "HostConfig"), "Links", NULL);
                return network_add_endpoint_links(cli, doc, net, o->links, err);
        }
        links = jv_new_array();
        jv_set(jv_get(doc, "HostConfig"), "Links", links);
        for (char **l = o->links; l && *l; l++) {
                _cleanup_free_ char *name = NULL, *alias = NULL, *full = NULL;
                struct container *child = NULL;
                int r = links_parse(*l, &name, &alias, err);
                if (r < 0)
                        return r;
                if (teardown_find(cli, name, &child, err) < 0)
                        return err_set(err, -EINVAL,
                                       "could not get container for %s: No such "
                                       "container: %s",
                                       name, name);
                if (network_mode_of(child->doc, NULL) == NETWORK_MODE_HOST) {
                        container_free(child);
                        return err_set(err, -EINVAL,
                                       "conflicting options: host type networking "
                                       "can't be used with links. This would "
                                       "result in undefined behavior");
                }
                full = util_printf("/%s:%s/%s", container_name(child), me, alias);
                container_free(child);
                if (!full)
                        return err_set(err, -ENOMEM, "linking %s", name);
                jv_append(links, jv_new_string(full));
                network_link_index_add(cli, name, jv_get_str(doc, "Id"));
        }
        return 0;
}
