/* Legacy links on the default network: checks, the reverse index, environment, rm --link. */
#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "core/links.h"
#include "internal.h"

/* The address a link to c points at: c's primary one, or, for a container that uses
 * --network container:X, X's (Docker follows the chain). */
static struct in_addr link_addr(const struct cli *cli, const struct container *c)
{
        const struct network_endpoint *ep;
        struct network_view v;
        struct container *x = NULL;
        struct in_addr ip = {0};
        const char *target;
        struct err e = {0};

        /* A chain is at most as long as the containers on it; 8 hops is plenty, and a cycle
         * (made by hand in the state files) stops. */
        for (int hop = 0; hop < 8; hop++) {
                const struct container *cur = x ? x : c;
                struct container *next = NULL;
                if (network_mode_of(cur->doc, &target) != NETWORK_MODE_CONTAINER) {
                        network_view_read(cur, &v);
                        ep = network_view_primary(&v);
                        ip = ep ? ep->ip : ip;
                        break;
                }
                if (container_find(cli, target, &next, &e) < 0)
                        break;
                container_free(x);
                x = next;
        }
        container_free(x);
        return ip;
}

int network_links_resolve(const struct cli *cli, const struct container *c,
                          struct network_links *ret, struct err *err)
{
        const struct jv *links = jv_path(c->doc, "HostConfig.Links");

        *ret = (struct network_links){0};
        if (!jv_len(links))
                return 0;
        ret->v = calloc(jv_len(links), sizeof(*ret->v));
        if (!ret->v)
                return err_set(err, -ENOMEM, "resolving the links of %s", container_name(c));
        for (size_t i = 0; i < jv_len(links); i++) {
                struct network_link *l = &ret->v[ret->n];
                struct err e = {0};
                if (links_parse_stored(jv_str(jv_at(links, i)), &l->stored) < 0)
                        continue;
                if (container_find(cli, l->stored.child, &l->child, &e) < 0)
                        l->child = NULL;
                if (l->child)
                        l->ip = link_addr(cli, l->child);
                ret->n++;
        }
        return 0;
}

void network_links_free(struct network_links *l)
{
        for (size_t i = 0; i < l->n; i++)
                container_free(l->v[i].child);
        free(l->v);
        *l = (struct network_links){0};
}

int links_check_running(const struct network_links *links, struct err *err)
{
        for (size_t i = 0; i < links->n; i++) {
                const struct network_link *l = &links->v[i];
                if (!l->child || !container_is_live(l->child))
                        return err_set(err, -EINVAL,
                                       "Cannot link to a non running container: "
                                       "/%s AS %s",
                                       l->stored.child, l->stored.path);
        }
        return 0;
}

void network_link_index_add(const struct cli *cli, const char *child, const char *parent_id)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "links/%s", child);
        _cleanup_free_ char *p = cli_root_path(cli, "links/%s/%s", child, parent_id);
        struct err e = {0};
        int fd;

        if (!dir || !p || fs_mkdir_p(dir, 0700, &e) < 0)
                return;
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
}

static void index_del(const struct cli *cli, const char *child, const char *parent_id)
{
        _cleanup_free_ char *p = cli_root_path(cli, "links/%s/%s", child, parent_id);

        if (p)
                unlink(p);
}

void network_link_index_del(const struct cli *cli, const struct container *parent)
{
        const struct jv *links = jv_path(parent->doc, "HostConfig.Links");
        struct network_view v;

        for (size_t i = 0; i < jv_len(links); i++) {
                struct links_stored l;
                if (links_parse_stored(jv_str(jv_at(links, i)), &l) == 0)
                        index_del(cli, l.child, parent->id);
        }
        network_view_read(parent, &v);
        for (size_t k = 0; k < v.n; k++)
                for (size_t i = 0; i < jv_len(v.ep[k].links); i++) {
                        _cleanup_free_ char *name = NULL, *alias = NULL;
                        struct err e = {0};
                        if (links_parse(jv_str(jv_at(v.ep[k].links, i)) ?: "", &name, &alias, &e) ==
                            0)
                                index_del(cli, name, parent->id);
                }
}

int network_add_endpoint_links(const struct cli *cli, struct jv *doc, const char *net, char **specs,
                               struct err *err)
{
        struct jv *ep = jv_get(jv_path(doc, "NetworkSettings.Networks"), net);
        struct jv *list;

        if (!specs || !*specs)
                return 0;
        list = jv_new_array();
        for (char **l = specs; l && *l; l++) {
                _cleanup_free_ char *name = NULL, *alias = NULL, *stored = NULL;
                if (links_parse(*l, &name, &alias, err) < 0) {
                        jv_put(list);
                        return -err->code;
                }
                stored = util_printf("%s:%s", name, alias);
                if (!stored) {
                        jv_put(list);
                        return err_set(err, -ENOMEM, "linking %s", name);
                }
                jv_append(list, jv_new_string(stored));
        }
        /* Indexed once all parsed (nothing half-made): the target's start refreshes this
         * container's DNS names. */
        for (size_t i = 0; i < jv_len(list); i++) {
                const char *l = jv_str(jv_at(list, i));
                char name[256];
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(l, ":"), l);
                network_link_index_add(cli, name, jv_get_str(doc, "Id"));
        }
        if (ep)
                jv_set(ep, "Links", list);
        else
                jv_put(list);
        return 0;
}

void network_update_links(const struct cli *cli, const struct container *c,
                          void (*changed)(const struct cli *cli, const struct container *linker))
{
        _cleanup_free_ char *dir = cli_root_path(cli, "links/%s", container_name(c));
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct container *p = NULL;
                struct err e = {0};
                if (strlen(de->d_name) != 64)
                        continue;
                if (container_load(cli, de->d_name, &p, &e) < 0) {
                        unlinkat(dirfd(d), de->d_name, 0); /* the parent is gone */
                        continue;
                }
                if (container_is_live(p) && hosts_render(cli, p, NULL, NULL, &e) < 0)
                        fprintf(stderr, "warning: updating /etc/hosts of %s: %s, ignoring\n",
                                container_name(p), e.msg);
                if (container_is_live(p) && changed)
                        changed(cli, p);
                container_free(p);
        }
}

int network_link_env(const struct cli *cli, const struct container *c,
                     const struct network_links *links, char ***env, struct err *err)
{
        _cleanup_(network_links_free) struct network_links own = {0};

        if (!links && network_links_resolve(cli, c, &own, err) < 0)
                return -err->code;
        for (size_t i = 0; i < (links ? links : &own)->n; i++) {
                const struct network_link *l = &(links ? links : &own)->v[i];
                _cleanup_strv_ char **exposed = NULL, **cenv = NULL, **out = NULL;
                char ip[INET_ADDRSTRLEN] = "";
                if (!l->child)
                        return err_set(err, -ENOENT, "No such container: %s", l->stored.child);
                exposed = jv_keys(jv_path(l->child->doc, "Config.ExposedPorts"));
                cenv = jv_to_strv(jv_path(l->child->doc, "Config.Env"));
                if (l->ip.s_addr)
                        inet_ntop(AF_INET, &l->ip, ip, sizeof(ip));
                if (links_env(container_name(c), l->stored.alias, ip, (const char *const *)exposed,
                              cenv, &out, err) < 0)
                        return -err->code;
                for (char **e = out; e && *e; e++)
                        util_strv_push(env, *e);
        }
        return 0;
}

int network_remove_link(const struct cli *cli, const char *spec, struct err *err)
{
        char full[300], parent[256];
        const char *last;
        struct container *c = NULL;
        _cleanup_close_ int lock = -1;
        struct jv *links, *kept;
        size_t removed = 0;
        int r;

        snprintf(full, sizeof(full), "%s%s", spec[0] == '/' ? "" : "/", spec);
        last = strrchr(full, '/');
        if (last == full)
                return err_set(err, -EINVAL,
                               "Conflict, cannot remove the default link name of "
                               "the container");
        snprintf(parent, sizeof(parent), "%.*s", (int)(last - full - 1), full + 1);
        if (container_find(cli, parent, &c, err) < 0)
                return err_set(err, -ENOENT, "Cannot get parent /%s for link name %s", parent,
                               full);
        r = lock = container_lock(c, err);
        if (r >= 0)
                r = container_reload(c, err);
        if (r >= 0) {
                links = jv_path(c->doc, "HostConfig.Links");
                kept = jv_new_array();
                for (size_t i = 0; i < jv_len(links); i++) {
                        const char *s = jv_str(jv_at(links, i));
                        struct links_stored l;
                        _cleanup_free_ char *index = NULL;
                        if (links_parse_stored(s, &l) < 0 || strcmp(l.path, full)) {
                                jv_append(kept, jv_new_string(s));
                                continue;
                        }
                        /* The reverse index entry goes with the link. */
                        if (!removed++ &&
                            (index = cli_root_path(cli, "links/%s/%s", l.child, c->id)))
                                unlink(index);
                }
                jv_set(jv_get(c->doc, "HostConfig"), "Links", kept);
                r = removed ? container_save(c, err)
                            : err_set(err, -ENOENT, "No such link: %s", full);
        }
        if (r >= 0 && container_is_live(c))
                r = hosts_render(cli, c, NULL, NULL, err);
        container_free(c);
        return r < 0 ? r : 0;
}
