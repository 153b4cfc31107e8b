/* A container's /etc/hosts, rendered from its endpoints, links and --add-host. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/util.h"
#include "dns/files.h"
#include "core/links.h"
#include "internal.h"

/* The bind mount follows the inode, so the file is rewritten in place, never renamed. */
static int write_in_place(const char *path, const char *text, struct err *err)
{
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        int r;

        if (fd < 0)
                return err_errno(err, "opening %s", path);
        r = fs_write_all(fd, text, strlen(text));
        if (r < 0) {
                errno = -r;
                return err_errno(err, "writing %s", path);
        }
        return 0;
}

/* Room for --add-host and link lines. The strings are allocated one by one: a start renders
 * this file, and 80 KiB of fixed buffers cost it twenty fresh pages, each a page fault. */
#define HOSTS_MAX 64

struct hosts_buf {
        struct dns_host_entry e[HOSTS_MAX];
        size_t n;
        bool oom;
};

static void hosts_add(struct hosts_buf *b, const char *ip, const char *names)
{
        char *i, *n;

        if (b->n >= HOSTS_MAX)
                return;
        i = strdup(ip);
        n = strdup(names);
        if (!i || !n) {
                free(i), free(n);
                b->oom = true;
                return;
        }
        b->e[b->n++] = (struct dns_host_entry){i, n};
}

static void hosts_buf_free(struct hosts_buf *b)
{
        for (size_t i = 0; i < b->n; i++)
                free((char *)b->e[i].ip), free((char *)b->e[i].names);
}

static void hosts_links(const struct network_links *links, struct hosts_buf *b)
{
        for (size_t i = 0; i < links->n; i++) {
                const struct network_link *l = &links->v[i];
                char ip[INET_ADDRSTRLEN], names[600];
                const char *h;
                if (!l->ip.s_addr || !container_is_live(l->child))
                        continue;
                inet_ntop(AF_INET, &l->ip, ip, sizeof(ip));
                h = jv_str(jv_path(l->child->doc, "Config.Hostname")) ?: "";
                if (strcmp(l->stored.child, l->stored.alias))
                        snprintf(names, sizeof(names), "%s %s %s", l->stored.alias, h,
                                 l->stored.child);
                else
                        snprintf(names, sizeof(names), "%s %s", l->stored.alias, h);
                hosts_add(b, ip, names);
        }
}

/* One own line per interface address, after the extra and link lines (Docker's order);
 * the renderer's own_ip stays empty. */
static void own_entries(const struct network_view *v, struct hosts_buf *b, const char *names)
{
        char ip[INET_ADDRSTRLEN];

        char ip6[INET6_ADDRSTRLEN];

        /* Docker: the IPv4 line, then the IPv6 one of a dual-stack network. */
        for (size_t i = 0; i < v->n; i++) {
                if (v->ep[i].ip.s_addr)
                        hosts_add(b, inet_ntop(AF_INET, &v->ep[i].ip, ip, sizeof(ip)), names);
                if (!IN6_IS_ADDR_UNSPECIFIED(&v->ep[i].ip6))
                        hosts_add(b, inet_ntop(AF_INET6, &v->ep[i].ip6, ip6, sizeof(ip6)), names);
        }
}

/* The --add-host lines ("NAME:IP"; host-gateway resolved). */
static void extra_entries(const struct cli *cli, const struct container *c, struct hosts_buf *b)
{
        const struct jv *extra = jv_path(c->doc, "HostConfig.ExtraHosts");

        for (size_t i = 0; i < jv_len(extra); i++) {
                const char *x = jv_str(jv_at(extra, i)), *colon = x ? strchr(x, ':') : NULL;
                char name[256], gw[INET_ADDRSTRLEN];
                if (!colon)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int)(colon - x), x);
                hosts_add(b, network_host_gateway(cli, colon + 1, gw), name);
        }
}

int hosts_render(const struct cli *cli, const struct container *c, const struct network_view *view,
                 const struct network_links *links, struct err *err)
{
        struct network_view self;
        _cleanup_(network_links_free) struct network_links resolved = {0};
        const struct jv *cfg = jv_get(c->doc, "Config");
        const char *host = jv_get_str(cfg, "Hostname") ?: "", *dom = jv_get_str(cfg, "Domainname");
        _cleanup_(hosts_buf_free) struct hosts_buf b = {0};
        _cleanup_free_ char *text = NULL, *path = util_printf("%s/hosts", c->dir);
        char own[600];
        struct dns_hosts_spec spec = {.ipv6 = true};
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "rendering /etc/hosts");
        extra_entries(cli, c, &b);
        if (!links && network_links_resolve(cli, c, &resolved, err) < 0)
                return -err->code;
        hosts_links(links ? links : &resolved, &b);
        /* Docker: "host.domain host", and a dotted hostname also lists its first label. */
        if (dom && *dom)
                snprintf(own, sizeof(own), "%s.%s %s", host, dom, host);
        else if (strchr(host, '.'))
                snprintf(own, sizeof(own), "%s %.*s", host, (int)strcspn(host, "."), host);
        else
                snprintf(own, sizeof(own), "%s", host);
        if (!view) {
                network_view_read(c, &self);
                view = &self;
        }
        own_entries(view, &b, own);
        if (b.oom)
                return err_set(err, -ENOMEM, "rendering /etc/hosts");
        spec.extra = b.e;
        spec.n_extra = b.n;
        r = dns_hosts_render(&spec, &text, err);
        return r < 0 ? r : write_in_place(path, text, err);
}

int network_hosts_create(const struct cli *cli, const struct container *c, struct err *err)
{
        _cleanup_(hosts_buf_free) struct hosts_buf b = {0};
        _cleanup_free_ char *text = NULL, *path = NULL;
        struct err ignore = {0};
        FILE *f;

        /* Host networking: the host's file with the --add-host lines after it. Unreadable,
         * the container gets Docker's own layout instead. */
        if (network_mode_of(c->doc, NULL) != NETWORK_MODE_HOST ||
            fs_read_file("/etc/hosts", &text, NULL, &ignore) < 0)
                return hosts_render(cli, c, NULL, NULL, err);
        extra_entries(cli, c, &b);
        path = util_printf("%s/hosts", c->dir);
        f = path && !b.oom ? fopen(path, "we") : NULL;
        if (!f)
                return err_errno(err, "writing %s/hosts", c->dir);
        fputs(text, f);
        if (*text && text[strlen(text) - 1] != '\n')
                fputc('\n', f);
        for (size_t i = 0; i < b.n; i++)
                fprintf(f, "%s\t%s\n", b.e[i].ip, b.e[i].names);
        if (fclose(f) != 0)
                return err_errno(err, "writing %s", path);
        return 0;
}
