/* libFuzzer target for the CNI network configuration hawser-cni reads on stdin:
 * core/cni/conf.c (cni_conf_parse) and the pure functions that consume what it parses (the
 * result, the port records, the DNS names, prevResult, the ranges). `make fuzz` builds it
 * with clang and -fsanitize=fuzzer,address,undefined; tests/unit/core_cni.c includes this file
 * and replays tests/fuzz/corpus/cni_conf/ through the same entry point. Every input is parsed
 * as an ADD, a DEL, a CHECK and a GC. Nothing here touches the kernel or the file system
 * (no cni_add, cni_del, cni_gc). Besides "no crash" it checks invariants and aborts when one
 * breaks:
 *   - a refusal is negative, with a CNI error code in the request and a message;
 *   - a parsed configuration has a supported version, a name and a data dir; its first
 *     range and every further range lie in the subnet, in order, and cni_range_of finds
 *     them; an ADD's requested address is in a range;
 *   - the result is an object with the configuration's cniVersion, one ips entry per
 *     family and every route; the port records are one per mapping; the DNS names are
 *     strings;
 *   - prevResult gives an address and a bridge name of at most 15 characters, or a
 *     refusal as above. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/cni/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int cond)
{
        if (!cond)
                abort();
}

static void fuzz_check_refusal(int r, const struct cni_req *q, const struct err *e)
{
        fuzz_check(r < 0 && q->code != 0 && e->msg[0] != '\0');
}

static bool fuzz_in_subnet(const struct cni_conf *c, struct in_addr a)
{
        uint32_t mask = (uint32_t)(0xffffffffULL << (32 - c->prefix));

        return (ntohl(a.s_addr) & mask) == ntohl(c->subnet.s_addr);
}

static void fuzz_ranges(const struct cni_conf *c)
{
        fuzz_check(c->prefix >= 1 && c->prefix <= 30 && c->n_more <= ARRAY_SIZE(c->more));
        fuzz_check(c->n_routes <= ARRAY_SIZE(c->routes));
        fuzz_check(fuzz_in_subnet(c, c->first) && fuzz_in_subnet(c, c->last) &&
                   fuzz_in_subnet(c, c->gateway));
        fuzz_check(ntohl(c->first.s_addr) <= ntohl(c->last.s_addr));
        fuzz_check(cni_range_of(c, c->first) == 0 && cni_range_of(c, c->last) == 0);
        for (size_t i = 0; i < c->n_more; i++) {
                const struct cni_range *m = &c->more[i];
                int k = cni_range_of(c, m->first);
                fuzz_check(fuzz_in_subnet(c, m->first) && fuzz_in_subnet(c, m->last));
                fuzz_check(ntohl(m->first.s_addr) <= ntohl(m->last.s_addr));
                /* An earlier range may hold it too: the first that does is the answer. */
                fuzz_check(k >= 0 && k <= (int)i + 1);
        }
}

/* An attachment made from the configuration, as cni_add would have made it. */
static struct cni_result fuzz_attached(const struct cni_conf *c)
{
        struct cni_result res = {
                .bridge = "cni-hawser0", .veth = "hc0", .prefix = 24, .mac = {2, 0x42, 1, 2, 3, 4}};

        inet_pton(AF_INET, "10.99.7.2", &res.addr);
        inet_pton(AF_INET, "10.99.7.1", &res.gateway);
        snprintf(res.bridge, sizeof(res.bridge), "%s", c->bridge);
        if (c->has_ipam) {
                res.addr = c->first;
                res.gateway = c->gateway;
                res.prefix = c->prefix;
        }
        if (c->has_v6) {
                res.has_v6 = true;
                res.addr6 = c->subnet6;
                res.addr6.s6_addr[15] |= 2;
                res.gateway6 = c->gateway6;
                res.prefix6 = c->prefix6;
        }
        return res;
}

static void fuzz_result(const struct cni_conf *c, const struct cni_req *q)
{
        struct cni_result res = fuzz_attached(c);
        struct jv *d = cni_result_doc(c, q, q->netns, &res);
        const char *v = jv_get_str(d, "cniVersion");

        fuzz_check(jv_type(d) == JV_OBJECT && v && !strcmp(v, c->version));
        fuzz_check(jv_len(jv_get(d, "interfaces")) == 3);
        fuzz_check(jv_len(jv_get(d, "ips")) == 1 + (size_t)res.has_v6);
        fuzz_check(jv_len(jv_get(d, "routes")) >= c->n_routes);
        fuzz_check(jv_type(jv_get(d, "dns")) == JV_OBJECT);
        if (c->dns_server && res.gateway.s_addr)
                fuzz_check(jv_str(jv_at(jv_get(jv_get(d, "dns"), "nameservers"), 0)) != NULL);
        jv_put(d);
}

static void fuzz_names(const struct cni_conf *c, const struct cni_req *q)
{
        struct jv *ports = cni_ports_doc(c), *names = cni_dns_names(q, c);

        fuzz_check(jv_type(ports) == JV_ARRAY && jv_len(ports) == c->n_ports);
        fuzz_check(jv_type(names) == JV_ARRAY);
        for (size_t i = 0; i < jv_len(names); i++)
                fuzz_check(jv_str(jv_at(names, i)) != NULL);
        jv_put(ports);
        jv_put(names);
}

static void fuzz_prev(const struct cni_conf *c)
{
        const struct jv *prev = jv_get(c->doc, "prevResult");
        struct cni_req q = {.cmd = CNI_CMD_ADD};
        struct err e = {0};
        struct in_addr a;
        char bridge[16];
        int prefix = -1, r;

        if (!prev)
                return;
        r = cni_prev_addr(&q, prev, &a, &prefix, bridge, &e);
        if (r < 0) {
                fuzz_check_refusal(r, &q, &e);
                return;
        }
        fuzz_check(prefix >= 0 && prefix <= 32 && strlen(bridge) <= 15);
}

static void fuzz_conf(enum cni_cmd cmd, const char *text)
{
        struct cni_req q = {.cmd = cmd,
                            .cid = "0123456789abcdef",
                            .netns = "/run/netns/fuzz",
                            .ifname = "eth0",
                            .owner = "0123456789abcdef.eth0",
                            .pod_name = "web-1"};
        struct cni_conf c;
        struct err e = {0};
        int r = cni_conf_parse(&q, text, &c, &e);

        if (r < 0) {
                fuzz_check_refusal(r, &q, &e);
                cni_conf_done(&c);
                return;
        }
        fuzz_check(r == 0 && jv_type(c.doc) == JV_OBJECT && cni_version_supported(c.version));
        fuzz_check(c.name != NULL && c.data_dir != NULL && strlen(c.bridge) <= 15);
        fuzz_check(c.has_ipam || c.ports_only);
        if (c.has_ipam)
                fuzz_ranges(&c);
        if (cmd == CNI_CMD_ADD && c.has_ipam && c.want.s_addr)
                fuzz_check(cni_range_of(&c, c.want) >= 0);
        if (cmd == CNI_CMD_GC)
                fuzz_check(c.valid != NULL);
        fuzz_result(&c, &q);
        fuzz_names(&c, &q);
        fuzz_prev(&c);
        cni_conf_done(&c);
        fuzz_check(c.doc == NULL && c.ports == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const enum cni_cmd cmds[] = {CNI_CMD_ADD, CNI_CMD_DEL, CNI_CMD_CHECK, CNI_CMD_GC};
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
                fuzz_conf(cmds[i], text);
        free(text);
        return 0;
}
