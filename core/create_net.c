#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int check_mode(const struct cli *cli, const char *mode, struct err *err)
{
        struct network n = {0};
        const char *target;
        int r;

        switch (network_mode_parse(mode, &target)) {
        case NETWORK_MODE_NONE:
        case NETWORK_MODE_HOST:
                return 0;
        case NETWORK_MODE_CONTAINER: {
                struct container *x = NULL;
                if (teardown_find(cli, target, &x, err) < 0)
                        return -err->code;
                container_free(x);
                return 0;
        }
        case NETWORK_MODE_BRIDGE:
                break;
        }
        r = network_load(cli, mode, &n, err);
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
        if (strchr(b->host_ip, ':')) {
                jv_put(o);
                return err_set(err, -ENOTSUP,
                               "publishing on IPv6 address %s is not supported "
                               "yet",
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
                        return err_set(err, -EINVAL,
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
        const char *mode = jv_get_str(hc, "NetworkMode");
        int r;

        r = check_mode(cli, mode, err);
        if (r >= 0 && (o->aliases || o->ip) && !strcmp(mode, NETWORK_DEFAULT))
                r = err_set(err, -EINVAL,
                            "user specified IP address and network-scoped aliases "
                            "are supported only for user defined networks");
        if (r >= 0)
                r = ports_doc(o, doc, err);
        if (r >= 0)
                r = hosts_doc(o, hc, err);
        if (r < 0)
                return r;
        jv_set(doc, "NetworkSettings", jv_new_object());
        jv_set(jv_get(doc, "NetworkSettings"), "Ports", jv_new_object());
        if (network_mode_parse(mode, NULL) == NETWORK_MODE_BRIDGE) {
                struct network n = {0};
                if (network_load(cli, mode, &n, err) < 0)
                        return -err->code;
                network_add_endpoint(doc, n.name, o->aliases, o->ip);
                network_release(&n);
        }
        return 0;
}

int create_links_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                     struct err *err)
{
        const char *me = jv_get_str(doc, "Name");
        struct jv *links = jv_new_array();

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
