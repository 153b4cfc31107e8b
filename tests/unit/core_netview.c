/* The typed view of a container's networking (core/network/view.c): parsed from
 * NetworkSettings.Networks sorted by network name, written back without touching the
 * fields it does not own. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/network/internal.h"

static const char doc_text[] =
        "{\"Id\":\"0123456789abcdef\",\"Name\":\"/web\","
        "\"NetworkSettings\":{\"IPAddress\":\"\",\"Gateway\":\"\",\"MacAddress\":\"\","
        "\"IPPrefixLen\":0,\"Ports\":{},\"Networks\":{"
        "\"afront\":{\"IPAMConfig\":{\"IPv4Address\":\"10.1.0.9\"},\"Links\":null,"
        "\"Aliases\":[\"www\",\"site\"],\"NetworkID\":\"\",\"EndpointID\":\"\","
        "\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"MacAddress\":\"\"},"
        "\"back\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,"
        "\"NetworkID\":\"abc\",\"EndpointID\":\"hw0123456789-1\",\"Gateway\":\"10.2.0.1\","
        "\"IPAddress\":\"10.2.0.5\",\"IPPrefixLen\":24,\"MacAddress\":\"02:42:0a:02:00:05\"}}}}";

static struct container *make(void)
{
        static struct container c;
        struct err e = {0};

        memset(&c, 0, sizeof(c));
        strcpy(c.id, "0123456789abcdef");
        assert_int_equal(jv_parse(doc_text, &c.doc, &e), 0);
        return &c;
}

static struct in_addr addr(const char *s)
{
        struct in_addr a = {0};

        assert_int_equal(inet_pton(AF_INET, s, &a), 1);
        return a;
}

static void test_read(void **state)
{
        struct container *c = make();
        struct network_view v;
        const struct network_endpoint *ep;

        (void)state;
        network_view_read(c, &v);
        assert_int_equal(v.n, 2);
        /* Sorted by network name. */
        assert_string_equal(v.ep[0].net, "afront");
        assert_string_equal(v.ep[0].want, "10.1.0.9");
        assert_int_equal(v.ep[0].ip.s_addr, 0);
        assert_int_equal(jv_len(v.ep[0].aliases), 2);
        assert_string_equal(v.ep[1].net, "back");
        assert_string_equal(v.ep[1].veth, "hw0123456789-1");
        assert_string_equal(v.ep[1].mac, "02:42:0a:02:00:05");
        assert_int_equal(v.ep[1].ip.s_addr, addr("10.2.0.5").s_addr);
        assert_int_equal(v.ep[1].gateway.s_addr, addr("10.2.0.1").s_addr);
        assert_int_equal(v.ep[1].prefix, 24);
        assert_null(v.ep[1].aliases);

        assert_ptr_equal(network_view_find(&v, "back"), &v.ep[1]);
        assert_null(network_view_find(&v, "nowhere"));
        /* The primary address is the first endpoint that has one. */
        assert_ptr_equal(network_view_primary(&v), &v.ep[1]);
        /* A client on afront reaches it at its primary address (none on front yet). */
        ep = network_view_reach(&v, "afront");
        assert_ptr_equal(ep, &v.ep[1]);
        assert_ptr_equal(network_view_reach(&v, "back"), &v.ep[1]);
        jv_put(c->doc);
}

static void test_write(void **state)
{
        struct container *c = make();
        struct network_view v, again;
        const struct jv *front;

        (void)state;
        network_view_read(c, &v);
        v.ep[0].ip = addr("10.1.0.9");
        v.ep[0].gateway = addr("10.1.0.1");
        v.ep[0].prefix = 16;
        strcpy(v.ep[0].veth, "hw0123456789ab");
        strcpy(v.ep[0].mac, "02:42:0a:01:00:09");
        strcpy(v.ep[0].network_id, "feed");
        view_write(c, &v);

        front = jv_path(c->doc, "NetworkSettings.Networks.afront");
        assert_string_equal(jv_get_str(front, "IPAddress"), "10.1.0.9");
        assert_string_equal(jv_get_str(front, "Gateway"), "10.1.0.1");
        assert_int_equal(jv_get_int(front, "IPPrefixLen", 0), 16);
        assert_string_equal(jv_get_str(front, "EndpointID"), "hw0123456789ab");
        assert_string_equal(jv_get_str(front, "NetworkID"), "feed");
        /* What the view does not own stays. */
        assert_string_equal(jv_str(jv_path(front, "IPAMConfig.IPv4Address")), "10.1.0.9");
        assert_int_equal(jv_len(jv_get(front, "Aliases")), 2);
        /* Docker's summary fields are the first network's. */
        assert_string_equal(jv_str(jv_path(c->doc, "NetworkSettings.IPAddress")), "10.1.0.9");
        assert_string_equal(jv_str(jv_path(c->doc, "NetworkSettings.MacAddress")),
                            "02:42:0a:01:00:09");
        assert_int_equal(jv_get_int(jv_get(c->doc, "NetworkSettings"), "IPPrefixLen", 0), 16);

        /* Read back, it is the same view; an internal network's empty gateway stays "". */
        v.ep[1].gateway.s_addr = 0;
        view_write(c, &v);
        network_view_read(c, &again);
        assert_int_equal(again.n, 2);
        assert_int_equal(again.ep[0].ip.s_addr, v.ep[0].ip.s_addr);
        assert_string_equal(again.ep[0].mac, v.ep[0].mac);
        assert_string_equal(jv_str(jv_path(c->doc, "NetworkSettings.Networks.back.Gateway")), "");

        assert_true(view_has(c, "back"));
        view_drop(c, "back");
        assert_false(view_has(c, "back"));
        network_view_read(c, &again);
        assert_int_equal(again.n, 1);
        jv_put(c->doc);
}

static void test_empty(void **state)
{
        struct container c = {.id = "x"};
        struct network_view v = {.n = 7};
        struct err e = {0};

        (void)state;
        assert_int_equal(jv_parse("{\"NetworkSettings\":{}}", &c.doc, &e), 0);
        network_view_read(&c, &v);
        assert_int_equal(v.n, 0);
        assert_null(network_view_primary(&v));
        assert_null(network_view_reach(&v, "bridge"));
        view_write(&c, &v);
        assert_null(jv_path(c.doc, "NetworkSettings.IPAddress"));
        jv_put(c.doc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_write),
                cmocka_unit_test(test_empty),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
