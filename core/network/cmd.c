/* The network and port commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "dns/files.h"
#include "net/ipam.h"
#include "core/dnsd.h"
#include "core/opt.h"
#include "core/prune.h"
#include "core/ports.h"
#include "core/template.h"
#include "internal.h"
#include "core/teardown.h"

static int users_of(const struct cli *cli, const char *name, char ***ret, struct err *err)
{
        _cleanup_free_ char *leases = store_lease_dir(cli, name);
        struct container **all = NULL;
        int r = container_list(cli, &all, err);

        *ret = calloc(1, sizeof(char *));
        /* A container whose state cannot be read still uses the networks it holds leases in. */
        for (struct container **p = all; r >= 0 && *p; p++)
                if (view_has(*p, name) ||
                    ((*p)->unreadable && leases && net_ipam_holds(leases, (*p)->id)))
                        util_strv_push(ret, container_name(*p));
        container_list_free(all);
        return r;
}

/* One IPv4 and at most one IPv6 value of --subnet or --gateway (borrowed from list). */
static int split_family(char **list, char **v4, char **v6, const char *what, struct err *err)
{
        for (char **p = list; p && *p; p++) {
                char **slot = strchr(*p, ':') ? v6 : v4;
                if (*slot)
                        return err_set(err, -EINVAL,
                                       "a network has one IPv4 and at most one IPv6 %s: %s and %s",
                                       what, *slot, *p);
                *slot = *p;
        }
        return 0;
}

int network_create(const struct cli *cli, const char *name, struct network_opts *o, char ret_id[65],
                   struct err *err)
{
        struct network n = {0};
        int r;

        if (split_family(o->subnets, &o->subnet, &o->subnet6, "subnet", err) < 0 ||
            split_family(o->gateways, &o->gateway, &o->gateway6, "gateway", err) < 0)
                return -err->code;
        /* The default network exists from the start in Docker and takes the first pool. */
        r = network_load(cli, NETWORK_DEFAULT, &n, err);
        network_release(&n);
        if (r < 0)
                r = -err->code;
        else if (!strcmp(name, "none") || !strcmp(name, "host") || !strcmp(name, NETWORK_DEFAULT))
                r = err_set(err, -EEXIST, "network with name %s already exists", name);
        else
                r = store_create(cli, name, o, false, &n, err);
        if (r >= 0) {
                attach_event(cli, &n, "create", NULL);
                memcpy(ret_id, n.id, 65);
        }
        network_release(&n);
        return r < 0 ? r : 0;
}

static int cmd_create(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"subnet", 0, OPT_LIST, offsetof(struct network_opts, subnets)},
                {"gateway", 0, OPT_LIST, offsetof(struct network_opts, gateways)},
                {"ipv6", 0, OPT_BOOL, offsetof(struct network_opts, ipv6)},
                {"ip-range", 0, OPT_STR, offsetof(struct network_opts, ip_range)},
                {"driver", 'd', OPT_STR, offsetof(struct network_opts, driver)},
                {"internal", 0, OPT_BOOL, offsetof(struct network_opts, internal)},
                {"opt", 'o', OPT_LIST, offsetof(struct network_opts, opts)},
                {"label", 0, OPT_LIST, offsetof(struct network_opts, labels)},
                OPT_END,
        };
        struct network_opts o = {0};
        char id[65];
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 1) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network create", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network create\" requires exactly 1 "
                                               "argument.");
        }
        r = network_create(cli, argv[1], &o, id, err);
        if (r >= 0)
                printf("%s\n", id);
        opt_free_lists(defs, &o);
        return r;
}

/* One `network ls` row with the fields Docker's network formatter offers. */
static struct jv *ls_row(const char *id, const char *name, const char *driver, const struct jv *doc)
{
        struct jv *row = jv_new_object();
        const struct jv *labels = jv_get(doc, "Labels");
        _cleanup_strv_ char **keys = jv_keys(labels);
        _cleanup_free_ char *joined = strdup("");

        for (char **k = keys; k && *k && joined; k++) {
                char *n = util_printf("%s%s%s=%s", joined, *joined ? "," : "", *k,
                                      jv_get_str(labels, *k) ?: "");
                free(joined);
                joined = n;
        }
        jv_set_str(row, "ID", id);
        jv_set_str(row, "Name", name);
        jv_set_str(row, "Driver", driver);
        jv_set_str(row, "Scope", "local");
        jv_set_str(row, "IPv6", "false");
        jv_set_str(row, "Internal", jv_get_bool(doc, "Internal") ? "true" : "false");
        jv_set_str(row, "Labels", joined ?: "");
        jv_set_str(row, "CreatedAt", jv_get_str(doc, "Created") ?: "");
        return row;
}

static int ls_cb(struct jv *doc, void *ud)
{
        jv_append(ud, ls_row(jv_get_str(doc, "Id") ?: "", jv_get_str(doc, "Name") ?: "",
                             jv_get_str(doc, "Driver") ?: "bridge", doc));
        return 0;
}

/* "label=KEY" or "label=KEY=VALUE" against the row's "k=v,k2=v2". */
static bool label_match(const struct jv *row, const char *want)
{
        _cleanup_free_ char *copy = strdup(jv_get_str(row, "Labels") ?: "");
        size_t n = strcspn(want, "=");
        char *save = NULL;

        for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv;
             kv = strtok_r(NULL, ",", &save))
                if (want[n] ? !strcmp(kv, want) : !strncmp(kv, want, n) && kv[n] == '=')
                        return true;
        return false;
}

/* Docker's network filters: name and id match a part, driver, type and scope exactly;
 * values of one key are alternatives, different keys must all match. */
static bool filter_one(const struct jv *row, const char *key, const char *v)
{
        bool builtin = !strcmp(jv_get_str(row, "Name"), "host") ||
                       !strcmp(jv_get_str(row, "Name"), "none") ||
                       !strcmp(jv_get_str(row, "Name"), NETWORK_DEFAULT);

        if (!strcmp(key, "name"))
                return strstr(jv_get_str(row, "Name"), v) != NULL;
        if (!strcmp(key, "id"))
                return strstr(jv_get_str(row, "ID"), v) != NULL;
        if (!strcmp(key, "driver"))
                return !strcmp(jv_get_str(row, "Driver"), v);
        if (!strcmp(key, "scope"))
                return !strcmp(v, "local");
        if (!strcmp(key, "type"))
                return !strcmp(v, builtin ? "builtin" : "custom");
        return label_match(row, v);
}

static const char *const ls_filter_keys[] = {"name", "id", "driver", "scope", "type", "label"};

static int ls_check_filters(char **filters, struct err *err)
{
        for (char **f = filters; f && *f; f++) {
                size_t n = strcspn(*f, "=");
                bool known = false;

                for (size_t i = 0; i < ARRAY_SIZE(ls_filter_keys) && !known; i++)
                        known = strlen(ls_filter_keys[i]) == n &&
                                !strncmp(*f, ls_filter_keys[i], n);
                if (!(*f)[n] || !known)
                        return err_set(err, -EINVAL, "Invalid filter '%.*s'", (int)n, *f);
                if (!strncmp(*f, "type", n) && strcmp(*f + n + 1, "custom") &&
                    strcmp(*f + n + 1, "builtin"))
                        return err_set(err, -EINVAL, "invalid filter: 'type'='%s'", *f + n + 1);
        }
        return 0;
}

static bool ls_keep(const struct jv *row, char **filters)
{
        for (size_t i = 0; i < ARRAY_SIZE(ls_filter_keys); i++) {
                bool seen = false, hit = false;
                size_t n = strlen(ls_filter_keys[i]);

                for (char **f = filters; f && *f; f++) {
                        if (strncmp(*f, ls_filter_keys[i], n) || (*f)[n] != '=')
                                continue;
                        seen = true;
                        hit = hit || filter_one(row, ls_filter_keys[i], *f + n + 1);
                }
                if (seen && !hit)
                        return false;
        }
        return true;
}

/* Docker sorts networks by name. */
static int by_name(const void *a, const void *b)
{
        return strcmp(jv_get_str(*(struct jv *const *)a, "Name"),
                      jv_get_str(*(struct jv *const *)b, "Name"));
}

static const char *const ls_headers[][2] = {
        {"ID", "NETWORK ID"}, {"Name", "NAME"},
        {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
        {"IPv6", "IPV6"},     {"Internal", "INTERNAL"},
        {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
};

static int ls_print(const char *format, struct jv *const *rows, size_t n, struct err *err)
{
        _cleanup_jv_ struct jv *headers = jv_new_object();

        for (size_t i = 0; headers && i < ARRAY_SIZE(ls_headers); i++)
                jv_set_str(headers, ls_headers[i][0], ls_headers[i][1]);
        return headers ? template_print_rows(format, headers, rows, n, err)
                       : err_set(err, -ENOMEM, "listing networks");
}

static int cmd_ls(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool quiet, no_trunc;
                char **filters;
                char *format;
        } o = {0};
        static const struct opt_def defs[] = {
                {"quiet", 'q', OPT_BOOL, offsetof(__typeof__(o), quiet)},
                {"no-trunc", 0, OPT_BOOL, offsetof(__typeof__(o), no_trunc)},
                {"filter", 'f', OPT_LIST, offsetof(__typeof__(o), filters)},
                {"format", 0, OPT_STR, offsetof(__typeof__(o), format)},
                OPT_END,
        };
        _cleanup_jv_ struct jv *all = jv_new_array();
        _cleanup_free_ struct jv **rows = NULL;
        struct network dflt = {0};
        size_t n = 0;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network ls", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network ls\" accepts no arguments.");
        }
        r = all ? ls_check_filters(o.filters, err) : err_set(err, -ENOMEM, "listing networks");
        if (r >= 0 && network_load(cli, NETWORK_DEFAULT, &dflt, err) < 0)
                r = -err->code;
        network_release(&dflt);
        if (r >= 0) {
                store_each(cli, ls_cb, all);
                /* The pseudo networks have stable ids derived from their names. */
                jv_append(all, ls_row(NETWORK_ID_HOST, "host", "host", NULL));
                jv_append(all, ls_row(NETWORK_ID_NONE, "none", "null", NULL));
                rows = calloc(jv_len(all) + 1, sizeof(*rows));
                if (!rows)
                        r = err_set(err, -ENOMEM, "listing networks");
        }
        for (size_t i = 0; r >= 0 && i < jv_len(all); i++) {
                struct jv *row = jv_at(all, i);
                if (!ls_keep(row, o.filters))
                        continue;
                if (!o.no_trunc) {
                        char short_id[13];
                        snprintf(short_id, sizeof(short_id), "%.12s", jv_get_str(row, "ID"));
                        jv_set_str(row, "ID", short_id);
                }
                rows[n++] = row;
        }
        if (r >= 0) {
                qsort(rows, n, sizeof(*rows), by_name);
                if (o.quiet)
                        r = ls_print("{{.ID}}", rows, n, err);
                else
                        r = ls_print(o.format && *o.format
                                             ? o.format
                                             : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                                     rows, n, err);
        }
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

static struct jv *inspect_doc(const struct cli *cli, const struct network *n)
{
        struct jv *doc = jv_copy(n->doc), *cs = jv_new_object(), *dns = jv_new_object();
        struct container **all = NULL;
        struct err e = {0};
        char gw[INET_ADDRSTRLEN];

        /* The embedded DNS server's address (it runs while containers are attached). */
        jv_set_str(dns, "Address", inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw)));
        jv_set_int(dns, "Port", 53);
        jv_set_str(dns, "Domain", DNSD_DOMAIN);
        jv_set(doc, "DNS", dns);
        jv_set(doc, "Containers", cs);
        if (teardown_list(cli, &all, &e) < 0)
                return doc;
        for (struct container **p = all; *p; p++) {
                const struct network_endpoint *ep;
                struct network_view v;
                char cidr[64], ip[INET_ADDRSTRLEN] = "";
                struct jv *o;
                network_view_read(*p, &v);
                ep = network_view_find(&v, n->name);
                if (!ep || !container_is_running(*p))
                        continue;
                o = jv_new_object();
                if (ep->ip.s_addr)
                        inet_ntop(AF_INET, &ep->ip, ip, sizeof(ip));
                snprintf(cidr, sizeof(cidr), "%s/%d", ip, ep->prefix);
                jv_set_str(o, "Name", container_name(*p));
                jv_set_str(o, "EndpointID", ep->veth);
                jv_set_str(o, "MacAddress", ep->mac);
                jv_set_str(o, "IPv4Address", cidr);
                jv_set_str(o, "IPv6Address", "");
                jv_set(cs, (*p)->id, o);
        }
        container_list_free(all);
        return doc;
}

int network_inspect(const struct cli *cli, const char *ref, struct jv **ret, struct err *err)
{
        struct network n = {0};

        if (network_load(cli, ref, &n, err) < 0)
                return -err->code;
        *ret = inspect_doc(cli, &n);
        network_release(&n);
        return 0;
}

static int inspect_get(const char *ref, void *ud, struct jv **ret, struct err *err)
{
        return network_inspect(ud, ref, ret, err);
}

static int cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *format;
                bool verbose;
        } o = {0};
        static const struct opt_def defs[] = {
                {"format", 'f', OPT_STR, offsetof(__typeof__(o), format)},
                {"verbose", 'v', OPT_BOOL, offsetof(__typeof__(o), verbose)},
                OPT_END,
        };
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        if (k < 1)
                return cli_usage_error(cli, "network inspect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network inspect\" requires at least 1 "
                                               "argument.");
        /* Docker's -v adds the services and tasks of swarm networks; a local network shows
         * the same with or without it. */
        (void)o.verbose;
        return template_print_docs(o.format, argv + 1, k, inspect_get, (void *)cli, err);
}

int network_remove(const struct cli *cli, const char *ref, struct err *err)
{
        _cleanup_strv_ char **users = NULL;
        _cleanup_free_ char *path = NULL, *leases = NULL;
        struct network n = {0};
        int r;

        if (!strcmp(ref, "none") || !strcmp(ref, "host") || !strcmp(ref, NETWORK_DEFAULT))
                return err_set(err, -EPERM, "%s is a pre-defined network and cannot be removed",
                               ref);
        r = network_load(cli, ref, &n, err);
        if (r >= 0)
                r = users_of(cli, n.name, &users, err);
        if (r >= 0 && users && users[0])
                r = err_set(err, -EBUSY,
                            "error while removing network: network %s id %s has "
                            "active endpoints",
                            n.name, n.id);
        if (r >= 0) {
                dnsd_stop(cli, n.name);
                if (n.driver == NETWORK_DRIVER_BRIDGE)
                        bridge_remove(cli, &n);
                path = store_doc_path(cli, n.name);
                leases = cli_runroot_path(cli, "networks/%s", n.name);
                fs_rm_rf(leases, err);
                if (unlink(path) < 0 && errno != ENOENT)
                        r = err_errno(err, "removing network %s", n.name);
                else
                        attach_event(cli, &n, "destroy", NULL);
        }
        network_release(&n);
        return r;
}

static int remove_one(const struct cli *cli, const char *ref, void *ud, struct err *err)
{
        (void)ud;
        return network_remove(cli, ref, err);
}

/* network rm -f: a network that does not exist is no error (Docker 28). */
static int remove_forced(const struct cli *cli, const char *ref, void *ud, struct err *err)
{
        int r = remove_one(cli, ref, ud, err);

        if (r == -ENOENT) {
                err_clear(err);
                return CLI_EACH_SILENT;
        }
        return r;
}

static int cmd_rm(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                OPT_END,
        };
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        if (k < 1)
                return cli_usage_error(cli, "network rm", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network rm\" requires at least 1 "
                                               "argument.");
        return cli_each_ref(cli, argv + 1, k, o.force ? remove_forced : remove_one, NULL, err);
}

struct prune_ctx {
        const struct prune_filter *f;
        char **names;
};

static int prune_cb(struct jv *doc, void *ud)
{
        struct prune_ctx *p = ud;
        int64_t created = 0;

        if (jv_get_str(doc, "Created"))
                util_parse_time(jv_get_str(doc, "Created"), &created);
        if (!p->f || prune_filter_match(p->f, jv_get(doc, "Labels"), created))
                util_strv_push(&p->names, jv_get_str(doc, "Name"));
        return 0;
}

int network_prune(struct cli *cli, const struct prune_filter *f, struct err *err)
{
        struct prune_ctx p = {.f = f, .names = calloc(1, sizeof(char *))};
        int n = 0;

        (void)err;
        store_each(cli, prune_cb, &p);
        for (char **name = p.names; name && *name; name++) {
                _cleanup_strv_ char **users = NULL;
                struct err e = {0};
                if (!strcmp(*name, NETWORK_DEFAULT) || users_of(cli, *name, &users, &e) < 0 ||
                    (users && users[0]) || remove_one(cli, *name, NULL, &e) < 0)
                        continue;
                if (!n++)
                        printf("Deleted Networks:\n");
                printf("%s\n", *name);
        }
        util_strv_free(p.names);
        return n;
}

int network_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct prune_filter f = {0};
        int r = prune_begin(cli, "network prune", argc, argv, " until label label! ",
                            "WARNING! This will remove all custom networks not used by at least "
                            "one container.",
                            NULL, NULL, &f, err);

        if (r <= 0)
                return r;
        r = network_prune(cli, &f, err);
        prune_filter_free(&f);
        return r < 0 ? r : 0;
}

/* Finishes the recorded connect or disconnect, then the DNS records it changed. */
static void finish_pending(const struct cli *cli, struct container *c)
{
        char net[NETWORK_NAME_MAX + 1];

        if (attach_finish_pending(cli, c, net) > 0) {
                dnsd_refresh_network(cli, net);
                dnsd_refresh(cli, c);
        }
}

static int cmd_connect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char **aliases, **links;
                char *ip, *ip6;
        } o = {0};
        static const struct opt_def defs[] = {
                {"alias", 0, OPT_LIST, offsetof(__typeof__(o), aliases)},
                {"link", 0, OPT_LIST, offsetof(__typeof__(o), links)},
                {"ip", 0, OPT_STR, offsetof(__typeof__(o), ip)},
                {"ip6", 0, OPT_STR, offsetof(__typeof__(o), ip6)},
                OPT_END,
        };
        struct container *c = NULL;
        struct network n = {0};
        _cleanup_close_ int lock = -1;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 2) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "network connect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network connect\" requires exactly 2 "
                                               "arguments.");
        }
        for (char **a = o.aliases; a && *a; a++)
                if (!dns_files_token_ok(*a))
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--alias\" flag: an alias "
                                          "is one word, without whitespace or control characters",
                                          *a);
        if (o.ip6) {
                struct in6_addr a6;
                if (inet_pton(AF_INET6, o.ip6, &a6) != 1)
                        return err_set(err, -EINVAL, "invalid IPv6 address: %s", o.ip6);
        }
        r = network_load(cli, argv[1], &n, err);
        /* Docker's checks for the predefined network. */
        if (r >= 0 && !strcmp(n.name, NETWORK_DEFAULT)) {
                if (o.ip || o.ip6)
                        r = err_set(err, -EINVAL,
                                    "user specified IP address is supported on "
                                    "user defined networks only");
                else if (o.aliases)
                        r = err_set(err, -EINVAL,
                                    "network-scoped aliases are only supported for "
                                    "user-defined networks");
                else if (o.links)
                        r = err_set(err, -EINVAL,
                                    "links on network connect are only supported "
                                    "for user-defined networks (--link at create "
                                    "links on the default one)");
        }
        if (r >= 0 && o.ip6 && !n.ipv6)
                r = err_set(err, -EINVAL,
                            "Invalid address %s: It does not belong to any of this network's "
                            "subnets",
                            o.ip6);
        if (r >= 0)
                r = teardown_find(cli, argv[2], &c, err);
        if (r >= 0 && (lock = container_lock(c, err)) >= 0 && container_reload(c, err) >= 0) {
                if (network_mode_of(c->doc, NULL) != NETWORK_MODE_BRIDGE)
                        r = err_set(err, -EINVAL,
                                    "container cannot be disconnected from host "
                                    "network or connected to host network");
                else if (view_has(c, n.name))
                        r = err_set(err, -EEXIST,
                                    "endpoint with name %s already exists in "
                                    "network %s",
                                    container_name(c), n.name);
                else
                        r = network_add_endpoint(c->doc, n.name, o.aliases, o.ip, o.ip6);
                /* --link on a user network: DNS aliases of the linked containers for this one
                 * (Docker's semantics there, as at create). */
                if (r >= 0 && o.links)
                        r = network_add_endpoint_links(cli, c->doc, n.name, o.links, err);
                if (r >= 0 && container_is_running(c))
                        r = attach_connect_running(cli, c, n.name, err);
                if (r >= 0)
                        r = container_save(c, err);
                if (r >= 0)
                        dnsd_refresh(cli, c);
                /* Docker's event is the endpoint's: a running container's. */
                if (r >= 0 && container_is_running(c))
                        attach_event(cli, &n, "connect", c->id);
                else if (jv_path(c->doc, "Hawser.Pending"))
                        finish_pending(cli, c); /* rolls the connect back */
        } else if (r >= 0) {
                r = -err->code;
        }
        container_free(c);
        network_release(&n);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

static int cmd_disconnect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                OPT_END,
        };
        struct container *c = NULL;
        struct network n = {0};
        _cleanup_close_ int lock = -1;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 2)
                return cli_usage_error(cli, "network disconnect", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser network disconnect\" requires exactly 2 "
                                               "arguments.");
        r = network_load(cli, argv[1], &n, err);
        /* -f: a network removed meanwhile is still disconnected by name (Docker's force). */
        if (r < 0 && o.force && r == -ENOENT) {
                err_clear(err);
                r = 0;
        }
        if (r >= 0)
                r = teardown_find(cli, argv[2], &c, err);
        if (r >= 0 && ((lock = container_lock(c, err)) < 0 || container_reload(c, err) < 0))
                r = -err->code;
        if (r >= 0 && !view_has(c, *n.name ? n.name : argv[1]))
                r = err_set(err, -ENOENT, "container %s is not connected to network %s", c->id,
                            *n.name ? n.name : argv[1]);
        if (r >= 0 && !*n.name) {
                /* Its endpoint went with the network: only the record is left. */
                view_drop(c, argv[1]);
                r = container_save(c, err);
                container_free(c);
                return r < 0 ? r : 0;
        }
        if (r >= 0 && container_is_running(c)) {
                /* Recorded first: a disconnect killed from here on is completed by the next
                 * command. */
                r = attach_set_pending(c, "Disconnect", n.name, -1, err);
                util_test_kill_point("disconnect-pending");
                if (r >= 0)
                        finish_pending(cli, c);
                if (r >= 0)
                        attach_event(cli, &n, "disconnect", c->id);
        } else if (r >= 0) {
                view_drop(c, n.name);
                r = container_save(c, err);
        }
        container_free(c);
        network_release(&n);
        return r < 0 ? r : 0;
}

int network_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"create", cmd_create},
                {"ls", cmd_ls},
                {"list", cmd_ls},
                {"inspect", cmd_inspect},
                {"rm", cmd_rm},
                {"remove", cmd_rm},
                {"prune", network_cmd_prune},
                {"connect", cmd_connect},
                {"disconnect", cmd_disconnect},
        };

        return cli_dispatch(cli, "network", sub, sizeof(sub) / sizeof(sub[0]),
                            "create, ls, inspect, rm, prune, connect, disconnect", argc, argv, err);
}

int network_cmd_port(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int k = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r;
        struct container *c = NULL;
        struct port_binding *v = NULL;
        _cleanup_free_ char *out = NULL;
        const struct jv *ports;
        size_t n = 0;

        if (k < 1 || k > 2)
                return cli_usage_error(cli, "port", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser port\" requires at least 1 and at most 2 "
                                               "arguments.");
        r = teardown_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        ports = container_is_running(c) ? jv_path(c->doc, "NetworkSettings.Ports") : NULL;
        r = ports_from_state(ports, ports, &v, &n);
        if (r < 0)
                r = err_set(err, r, "listing the ports of %s", container_name(c));
        else
                r = ports_format_mapping(v, n, k == 2 ? argv[2] : NULL, container_name(c), &out,
                                         err);
        if (r >= 0)
                fputs(out, stdout);
        free(v);
        container_free(c);
        return r < 0 ? r : 0;
}
