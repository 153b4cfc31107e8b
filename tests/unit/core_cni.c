/* hawser-cni's pure half: the environment, the network configuration, versions, results. The
 * last test replays the fuzz corpus. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/json.h"
#include "core/cni/internal.h"
#include "tests/fuzz/cni_conf_fuzz.c"
#include "tests/unit/corpus.h"
#include "tests/unit/testkit.h"

#define CONF(v, extra)                                                                             \
        "{\"cniVersion\":\"" v "\",\"name\":\"n1\",\"type\":\"hawser\",\"ipMasq\":true,"           \
        "\"ipam\":{\"type\":\"hawser\",\"ranges\":[[{\"subnet\":\"10.99.7.0/24\","                 \
        "\"rangeStart\":\"10.99.7.10\",\"rangeEnd\":\"10.99.7.20\"}]],"                            \
        "\"dataDir\":\"/tmp/d\"}" extra "}"

static int parse(enum cni_cmd cmd, const char *text, struct cni_req *q, struct cni_conf *c,
                 struct err *e)
{
        *q = (struct cni_req){.cmd = cmd, .cid = "c1", .ifname = "eth0", .owner = "c1.eth0"};
        return cni_conf_parse(q, text, c, e);
}

static void test_env(void **state)
{
        char *ok[] = {"CNI_COMMAND=ADD", "CNI_CONTAINERID=abc-1", "CNI_NETNS=/run/netns/x",
                      "CNI_IFNAME=eth0", "CNI_PATH=/opt/cni/bin", NULL};
        char *bad_id[] = {"CNI_COMMAND=ADD", "CNI_CONTAINERID=a/b", "CNI_NETNS=/x",
                          "CNI_IFNAME=eth0", "CNI_PATH=/p",         NULL};
        char *no_netns[] = {"CNI_COMMAND=DEL", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0",
                            "CNI_PATH=/p", NULL};
        char *add_no_netns[] = {"CNI_COMMAND=ADD", "CNI_CONTAINERID=a", "CNI_IFNAME=eth0",
                                "CNI_PATH=/p", NULL};
        char *unknown[] = {"CNI_COMMAND=PING", NULL};
        char *args[] = {"CNI_COMMAND=ADD",
                        "CNI_CONTAINERID=a",
                        "CNI_NETNS=/x",
                        "CNI_IFNAME=eth0",
                        "CNI_PATH=/p",
                        "CNI_ARGS=IgnoreUnknown=1;X=y;IP=10.1.2.3",
                        NULL};
        char *bad_args[] = {"CNI_COMMAND=ADD",
                            "CNI_CONTAINERID=a",
                            "CNI_NETNS=/x",
                            "CNI_IFNAME=eth0",
                            "CNI_PATH=/p",
                            "CNI_ARGS=K8S_POD_NAME=p;X",
                            NULL};
        struct cni_req q = {0};
        struct err e = {0};

        (void)state;
        assert_int_equal(cni_env_parse(ok, &q, &e), 0);
        assert_int_equal(q.cmd, CNI_CMD_ADD);
        assert_string_equal(q.owner, "abc-1.eth0");
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(bad_id, &q, &e), -EINVAL);
        assert_int_equal(q.code, CNI_E_ENV);
        assert_string_equal(e.msg, "invalid characters in containerID");
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(no_netns, &q, &e), 0);
        assert_null(q.netns);
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(add_no_netns, &q, &e), -EINVAL);
        assert_string_equal(e.msg, "required env variables [CNI_NETNS] missing");
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(unknown, &q, &e), -EINVAL);
        assert_int_equal(q.code, CNI_E_ENV);
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(args, &q, &e), 0);
        assert_int_equal(q.want.s_addr, htonl(0x0a010203));
        q = (struct cni_req){0};
        assert_int_equal(cni_env_parse(bad_args, &q, &e), -EINVAL);
        assert_string_equal(e.msg, "CNI_ARGS: invalid pair \"X\"");
}

static void test_conf(void **state)
{
        struct cni_req q;
        struct cni_conf c;
        struct err e = {0};
        char a[INET_ADDRSTRLEN];

        (void)state;
        assert_int_equal(parse(CNI_CMD_ADD,
                               CONF("1.0.0", ",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
                                             "8080,\"containerPort\":80,\"protocol\":\"udp\"}]}"),
                               &q, &c, &e),
                         0);
        assert_string_equal(c.bridge, "cni-hawser0");
        assert_true(c.ip_masq);
        assert_false(c.ports_only);
        assert_int_equal(c.prefix, 24);
        assert_string_equal(inet_ntop(AF_INET, &c.first, a, sizeof(a)), "10.99.7.10");
        assert_string_equal(inet_ntop(AF_INET, &c.last, a, sizeof(a)), "10.99.7.20");
        assert_string_equal(inet_ntop(AF_INET, &c.gateway, a, sizeof(a)), "10.99.7.1");
        assert_string_equal(c.data_dir, "/tmp/d/n1");
        assert_int_equal(c.n_ports, 1);
        assert_int_equal(c.ports[0].host_port, 8080);
        assert_int_equal(c.ports[0].proto, IPPROTO_UDP);
        cni_conf_done(&c);
}

static void test_conf_errors(void **state)
{
        static const struct {
                const char *text;
                int code;
                const char *msg;
        } cases[] = {
                {"{", CNI_E_DECODE, "decoding"},
                {CONF("0.2.0", ""), CNI_E_VERSION, "incompatible CNI versions"},
                {CONF("1.0.0", ",\"isGateway\":false"), CNI_E_CONFIG, "isGateway"},
                {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"dhcp\"}}",
                 CNI_E_CONFIG, "ipam type dhcp"},
                {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"hawser\","
                 "\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":\"10.1.0.0/"
                 "16\",\"gw\":\"172.16.0.1\"}]}}",
                 CNI_E_CONFIG, "not an address of the subnet"},
                {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"hawser\","
                 "\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.5\"}}",
                 CNI_E_CONFIG, "must lie in the subnet"},
                {CONF("1.0.0", ",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":0,"
                               "\"containerPort\":80}]}"),
                 CNI_E_CONFIG, "1-65535"},
        };
        struct cni_req q;
        struct cni_conf c;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct err e = {0};
                assert_int_equal(parse(CNI_CMD_ADD, cases[i].text, &q, &c, &e), -EINVAL);
                assert_int_equal(q.code, cases[i].code);
                if (!strstr(e.msg, cases[i].msg))
                        fail_msg("%s: %s", cases[i].text, e.msg);
                cni_conf_done(&c);
        }
        /* CHECK needs 0.4.0, GC 1.1.0. */
        {
                struct err e = {0};
                assert_int_equal(parse(CNI_CMD_CHECK, CONF("0.3.1", ""), &q, &c, &e), -EINVAL);
                assert_int_equal(q.code, CNI_E_VERSION);
                cni_conf_done(&c);
                assert_int_equal(parse(CNI_CMD_GC, CONF("1.0.0", ""), &q, &c, &e), -EINVAL);
                cni_conf_done(&c);
        }
}

static void test_gc_valid(void **state)
{
        struct cni_req q;
        struct cni_conf c;
        struct err e = {0};

        (void)state;
        assert_int_equal(parse(CNI_CMD_GC,
                               CONF("1.1.0", ",\"cni.dev/valid-attachments\":[{\"containerID\":"
                                             "\"k1\",\"ifname\":\"eth0\"}]"),
                               &q, &c, &e),
                         0);
        assert_string_equal(c.valid[0], "k1.eth0");
        assert_null(c.valid[1]);
        cni_conf_done(&c);
}

/* An attachment's outcome: 10.99.7.2/24 via 10.99.7.1 on br0. */
static struct cni_result attached(void)
{
        struct cni_result res = {
                .bridge = "br0", .veth = "hc0", .prefix = 24, .mac = {2, 0x42, 10, 99, 7, 2}};

        inet_pton(AF_INET, "10.99.7.2", &res.addr);
        inet_pton(AF_INET, "10.99.7.1", &res.gateway);
        return res;
}

static void test_result(void **state)
{
        struct cni_result res = attached();
        struct cni_req q;
        struct cni_conf c;
        struct err e = {0};
        struct jv *d;

        (void)state;
        assert_int_equal(parse(CNI_CMD_ADD, CONF("0.4.0", ""), &q, &c, &e), 0);
        d = cni_result_doc(&c, &q, "/run/netns/x", &res);
        assert_string_equal(jv_to_string(d, false),
                            "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"br0\"},"
                            "{\"name\":\"hc0\"},{\"name\":\"eth0\",\"mac\":\"02:42:0a:63:07:02\","
                            "\"sandbox\":\"/run/netns/x\"}],\"ips\":[{\"version\":\"4\","
                            "\"interface\":2,\"address\":\"10.99.7.2/24\",\"gateway\":"
                            "\"10.99.7.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":"
                            "\"10.99.7.1\"}],\"dns\":{}}");
        jv_put(d);
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD, CONF("1.1.0", ""), &q, &c, &e), 0);
        d = cni_result_doc(&c, &q, "/run/netns/x", &res);
        assert_null(jv_get(jv_at(jv_get(d, "ips"), 0), "version"));
        jv_put(d);
        cni_conf_done(&c);
}

static void test_prev_and_names(void **state)
{
        struct jv *prev = NULL;
        struct cni_req q = {0};
        struct err e = {0};
        struct in_addr a;
        char bridge[16], v1[16], v2[16], s[INET_ADDRSTRLEN];
        int prefix;

        (void)state;
        assert_int_equal(jv_parse("{\"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"veth1\"},"
                                  "{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":[{\"address\":"
                                  "\"10.88.0.5/16\",\"interface\":2}]}",
                                  &prev, &e),
                         0);
        assert_int_equal(cni_prev_addr(&q, prev, &a, &prefix, bridge, &e), 0);
        assert_string_equal(inet_ntop(AF_INET, &a, s, sizeof(s)), "10.88.0.5");
        assert_int_equal(prefix, 16);
        assert_string_equal(bridge, "cni0");
        jv_put(prev);
        cni_veth_name("c1.eth0", v1);
        cni_veth_name("c1.eth1", v2);
        assert_int_equal(strlen(v1), 14);
        assert_memory_equal(v1, "hc", 2);
        assert_string_not_equal(v1, v2);
}

static void test_dns(void **state)
{
        struct cni_result res = attached();
        struct cni_req q;
        struct cni_conf c;
        struct err e = {0};
        struct jv *d;

        (void)state;
        assert_int_equal(
                parse(CNI_CMD_ADD,
                      CONF("1.0.0",
                           ",\"embeddedDNS\":true,\"dnsDomain\":\"pods.test\","
                           "\"dns\":{\"nameservers\":[\"192.0.2.53\"],\"options\":[\"a\"]},"
                           "\"runtimeConfig\":{\"aliases\":{\"n1\":[\"web\",\"ALPHA\","
                           "\"bad name\",\"api.v1\"],\"n2\":[\"other\"]}}"),
                      &q, &c, &e),
                0);
        assert_true(c.dns_server);
        assert_string_equal(c.dns_domain, "pods.test");
        snprintf(q.pod_name, sizeof(q.pod_name), "alpha");
        q.cid = "0123456789abcdef0123";
        /* The pod name, this network's aliases (a repeat in another case once, not a name
         * with a space), the short id; not another network's. */
        d = cni_dns_names(&q, &c);
        assert_string_equal(jv_to_string(d, false),
                            "[\"alpha\",\"web\",\"api.v1\",\"0123456789ab\"]");
        jv_put(d);
        /* The server first, the configuration's after it; the domain searched. */
        d = cni_result_doc(&c, &q, "/x", &res);
        assert_string_equal(jv_to_string(jv_get(d, "dns"), false),
                            "{\"nameservers\":[\"10.99.7.1\",\"192.0.2.53\"],\"options\":[\"a\"],"
                            "\"search\":[\"pods.test\"]}");
        jv_put(d);
        cni_conf_done(&c);
        /* The "dns" capability: the runtime's lists replace the configuration's; the embedded
         * server and its domain still come first. */
        assert_int_equal(
                parse(CNI_CMD_ADD,
                      CONF("1.0.0",
                           ",\"embeddedDNS\":true,"
                           "\"dns\":{\"nameservers\":[\"192.0.2.53\"],\"options\":[\"a\"]},"
                           "\"runtimeConfig\":{\"dns\":{\"servers\":[\"192.0.2.9\",\"2001:db8::9\"]"
                           ","
                           "\"searches\":[\"ns.svc.local\"]}}"),
                      &q, &c, &e),
                0);
        d = cni_result_doc(&c, &q, "/x", &res);
        assert_string_equal(
                jv_to_string(jv_get(d, "dns"), false),
                "{\"nameservers\":[\"10.99.7.1\",\"192.0.2.9\",\"2001:db8::9\"],"
                "\"options\":[\"a\"],\"search\":[\"hawser.internal\",\"ns.svc.local\"]}");
        jv_put(d);
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD,
                               CONF("1.0.0", ",\"runtimeConfig\":{\"dns\":{\"servers\":[\"x\"]}}"),
                               &q, &c, &e),
                         -EINVAL);
        assert_int_equal(q.code, CNI_E_CONFIG);
        assert_string_equal(e.msg, "runtimeConfig.dns.servers: x is not an IP address");
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD,
                               CONF("1.0.0", ",\"runtimeConfig\":{\"dns\":{\"options\":\"a\"}}"),
                               &q, &c, &e),
                         -EINVAL);
        assert_int_equal(q.code, CNI_E_CONFIG);
        cni_conf_done(&c);
        /* Without it: no names in the result, the default domain. */
        assert_int_equal(parse(CNI_CMD_ADD, CONF("1.0.0", ""), &q, &c, &e), 0);
        assert_false(c.dns_server);
        assert_string_equal(c.dns_domain, CNI_DNS_DOMAIN);
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD, CONF("1.0.0", ",\"embeddedDNS\":\"yes\""), &q, &c, &e),
                         -EINVAL);
        assert_int_equal(q.code, CNI_E_CONFIG);
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD,
                               CONF("1.0.0", ",\"embeddedDNS\":true,\"dnsDomain\":\"a b\""), &q, &c,
                               &e),
                         -EINVAL);
        assert_int_equal(q.code, CNI_E_CONFIG);
        cni_conf_done(&c);
        assert_int_equal(parse(CNI_CMD_ADD,
                               CONF("1.0.0", ",\"embeddedDNS\":true,\"mode\":\"portmap-only\""), &q,
                               &c, &e),
                         -EINVAL);
        assert_int_equal(q.code, CNI_E_CONFIG);
        cni_conf_done(&c);
}

static void test_fuzz_corpus(void **state)
{
        (void)state;
        corpus_replay("tests/fuzz/corpus/cni_conf");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env),         cmocka_unit_test(test_conf),
                cmocka_unit_test(test_conf_errors), cmocka_unit_test(test_gc_valid),
                cmocka_unit_test(test_result),      cmocka_unit_test(test_prev_and_names),
                cmocka_unit_test(test_dns),         cmocka_unit_test(test_fuzz_corpus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
