/* The typed view of a container's networking: NetworkSettings parsed once, written once. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "internal.h"

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

void network_view_read(const struct container *c, struct network_view *ret)
{
        const struct jv *nets = jv_path(c->doc, "NetworkSettings.Networks");
        _cleanup_strv_ char **keys = jv_keys(nets);
        const char *mode_net = NULL;

        ret->n = 0;
        if (network_mode_of(c->doc, &mode_net) != NETWORK_MODE_BRIDGE)
                mode_net = NULL;
        for (char **k = keys; k && *k && ret->n < NETWORK_MAX_ENDPOINTS; k++) {
                const struct jv *doc = jv_get(nets, *k);
                struct network_endpoint *ep = &ret->ep[ret->n++];
                *ep = (struct network_endpoint){.prefix = (int)jv_get_int(doc, "IPPrefixLen", 0),
                                                .aliases = jv_get(doc, "Aliases"),
                                                .links = jv_get(doc, "Links")};
                copy_str(ep->net, sizeof(ep->net), *k);
                copy_str(ep->network_id, sizeof(ep->network_id), jv_get_str(doc, "NetworkID"));
                copy_str(ep->veth, sizeof(ep->veth), jv_get_str(doc, "EndpointID"));
                copy_str(ep->mac, sizeof(ep->mac), jv_get_str(doc, "MacAddress"));
                copy_str(ep->want, sizeof(ep->want),
                         jv_str(jv_path(doc, "IPAMConfig.IPv4Address")));
                if (mode_net && !strcmp(*k, mode_net))
                        copy_str(ep->want_mac, sizeof(ep->want_mac),
                                 jv_str(jv_path(c->doc, "Config.MacAddress")));
                copy_str(ep->want6, sizeof(ep->want6),
                         jv_str(jv_path(doc, "IPAMConfig.IPv6Address")));
                inet_pton(AF_INET6, jv_get_str(doc, "GlobalIPv6Address") ?: "", &ep->ip6);
                inet_pton(AF_INET6, jv_get_str(doc, "IPv6Gateway") ?: "", &ep->gateway6);
                ep->prefix6 = (int)jv_get_int(doc, "GlobalIPv6PrefixLen", 0);
                store_parse_addr(jv_get_str(doc, "IPAddress") ?: "", &ep->ip);
                store_parse_addr(jv_get_str(doc, "Gateway") ?: "", &ep->gateway);
        }
}

const struct network_endpoint *network_view_find(const struct network_view *v, const char *net)
{
        for (size_t i = 0; i < v->n; i++)
                if (!strcmp(v->ep[i].net, net))
                        return &v->ep[i];
        return NULL;
}

const struct network_endpoint *network_view_primary(const struct network_view *v)
{
        for (size_t i = 0; i < v->n; i++)
                if (v->ep[i].ip.s_addr)
                        return &v->ep[i];
        return NULL;
}

const struct network_endpoint *network_view_reach(const struct network_view *v, const char *net)
{
        const struct network_endpoint *ep = network_view_find(v, net);

        return ep && ep->ip.s_addr ? ep : network_view_primary(v);
}

static const char *addr_str(struct in_addr a, char out[INET_ADDRSTRLEN])
{
        return a.s_addr ? inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN) : "";
}

static const char *addr6_str(const struct in6_addr *a, char out[INET6_ADDRSTRLEN])
{
        return IN6_IS_ADDR_UNSPECIFIED(a) ? "" : inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

static void write_endpoint(struct jv *doc, const struct network_endpoint *ep)
{
        char a[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

        jv_set_str(doc, "NetworkID", ep->network_id);
        jv_set_str(doc, "EndpointID", ep->veth);
        jv_set_str(doc, "Gateway", addr_str(ep->gateway, a));
        jv_set_str(doc, "IPAddress", addr_str(ep->ip, a));
        jv_set_int(doc, "IPPrefixLen", ep->prefix);
        jv_set_str(doc, "MacAddress", ep->mac);
        jv_set_str(doc, "IPv6Gateway", addr6_str(&ep->gateway6, a6));
        jv_set_str(doc, "GlobalIPv6Address", addr6_str(&ep->ip6, a6));
        jv_set_int(doc, "GlobalIPv6PrefixLen", ep->prefix6);
}

void view_write_endpoint(struct container *c, const struct network_endpoint *ep)
{
        struct jv *doc = jv_get(jv_path(c->doc, "NetworkSettings.Networks"), ep->net);

        if (doc)
                write_endpoint(doc, ep);
}

void view_write(struct container *c, const struct network_view *v)
{
        struct jv *ns = jv_get(c->doc, "NetworkSettings");
        char a[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

        for (size_t i = 0; i < v->n; i++)
                view_write_endpoint(c, &v->ep[i]);
        if (!v->n)
                return;
        /* Docker's summary fields are those of the first network. */
        jv_set_str(ns, "IPAddress", addr_str(v->ep[0].ip, a));
        jv_set_str(ns, "Gateway", addr_str(v->ep[0].gateway, a));
        jv_set_str(ns, "MacAddress", v->ep[0].mac);
        jv_set_int(ns, "IPPrefixLen", v->ep[0].prefix);
        jv_set_str(ns, "GlobalIPv6Address", addr6_str(&v->ep[0].ip6, a6));
        jv_set_int(ns, "GlobalIPv6PrefixLen", v->ep[0].prefix6);
        jv_set_str(ns, "IPv6Gateway", addr6_str(&v->ep[0].gateway6, a6));
}

bool view_has(const struct container *c, const char *net)
{
        return jv_get(jv_path(c->doc, "NetworkSettings.Networks"), net) != NULL;
}

void view_drop(struct container *c, const char *net)
{
        jv_del(jv_path(c->doc, "NetworkSettings.Networks"), net);
}

char *network_names_of(const struct container *c)
{
        _cleanup_strv_ char **names = NULL;
        struct network_view v;

        switch (network_mode_of(c->doc, NULL)) {
        case NETWORK_MODE_NONE:
                return strdup("none");
        case NETWORK_MODE_HOST:
                return strdup("host");
        case NETWORK_MODE_CONTAINER:
                return strdup("");
        case NETWORK_MODE_BRIDGE:
                break;
        }
        network_view_read(c, &v);
        for (size_t i = 0; i < v.n; i++)
                util_strv_push(&names, v.ep[i].net);
        return names ? util_strv_join(names, ",") : strdup("");
}
