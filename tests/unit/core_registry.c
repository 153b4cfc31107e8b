/* The registry client's pure parts: references with digests, platform matching of manifest
 * lists (containerd's rules), manifest parsing, the insecure-registry rule, credentials
 * from a Docker config.json. No network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/imgconfig.h"
#include "core/registry/internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"

static void check_ref(const char *in, const char *domain, const char *path, const char *name,
                      const char *tag, const char *digest)
{
        _cleanup_(image_ref_free) struct image_ref r = {0};
        struct err err = {0};

        if (imgconfig_parse_ref(in, &r, &err) < 0)
                fail_msg("%s: %s", in, err.msg);
        assert_string_equal(r.domain, domain);
        assert_string_equal(r.path, path);
        assert_string_equal(r.name, name);
        if (tag)
                assert_string_equal(r.tag, tag);
        else
                assert_null(r.tag);
        if (digest)
                assert_string_equal(r.digest, digest);
        else
                assert_null(r.digest);
}

static void check_bad_ref(const char *in, const char *msg)
{
        _cleanup_(image_ref_free) struct image_ref r = {0};
        struct err err = {0};

        assert_true(imgconfig_parse_ref(in, &r, &err) < 0);
        assert_string_equal(err.msg, msg);
}

static void test_references(void **state)
{
        (void)state;
        check_ref("busybox", "docker.io", "library/busybox", "busybox", NULL, NULL);
        check_ref("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "busybox",
                  "1.36", NULL);
        check_ref("index.docker.io/ns/app", "docker.io", "ns/app", "ns/app", NULL, NULL);
        check_ref("localhost:5000/a/b:v1", "localhost:5000", "a/b", "localhost:5000/a/b", "v1",
                  NULL);
        check_ref("127.0.0.1:5000/x@" D1, "127.0.0.1:5000", "x", "127.0.0.1:5000/x", NULL, D1);
        check_ref("busybox:1@" D2, "docker.io", "library/busybox", "busybox", "1", D2);
        check_bad_ref("Busybox", "invalid reference format: repository name (library/Busybox) "
                                 "must be lowercase");
        check_bad_ref("busybox@sha256:abc", "invalid reference format");
        check_bad_ref("busybox:a b", "invalid reference format");
        check_bad_ref("", "invalid reference format");
}

static const char index_doc[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
        "{\"digest\":\"" D1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
        "\"variant\":\"v6\"}},"
        "{\"digest\":\"" D2 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"386\"}},"
        "{\"digest\":\"" D3 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
        "\"variant\":\"v8\"}},"
        "{\"digest\":\"" D4 "\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";

static void check_pick(const char *platform, const char *want_digest, const char *want_err)
{
        struct reg_platform p;
        struct err err = {0};
        char d[72] = "";
        int r;

        assert_int_equal(reg_platform_parse(platform, &p, &err), 0);
        r = reg_index_pick(index_doc, &p, d, &err);
        if (want_digest) {
                if (r < 0)
                        fail_msg("%s: %s", platform, err.msg);
                assert_string_equal(d, want_digest);
        } else {
                assert_int_equal(r, -ENOENT);
                assert_string_equal(err.msg, want_err);
        }
}

static void test_platform_match(void **state)
{
        (void)state;
        /* amd64 runs 386 when nothing better is offered (no linux/amd64 entry here). */
        check_pick("linux/amd64", D2, NULL);
        check_pick("linux/arm64", D3, NULL);
        check_pick("linux/aarch64", D3, NULL);
        /* arm/v7 runs v6; arm/v5 does not run v6. */
        check_pick("linux/arm/v7", D1, NULL);
        check_pick("linux/arm/v5", NULL,
                   "no matching manifest for linux/arm/v5 in the manifest list entries");
        check_pick("linux/s390x", NULL,
                   "no matching manifest for linux/s390x in the manifest list entries");
}

static void test_platform_parse(void **state)
{
        struct reg_platform p;
        struct err err = {0};
        char s[96];

        (void)state;
        assert_int_equal(reg_platform_parse("linux/arm64", &p, &err), 0);
        reg_platform_str(&p, s, sizeof(s));
        assert_string_equal(s, "linux/arm64/v8");
        assert_int_equal(reg_platform_parse("LINUX/X86_64", &p, &err), 0);
        reg_platform_str(&p, s, sizeof(s));
        assert_string_equal(s, "linux/amd64");
        assert_true(reg_platform_parse("windows/amd64", &p, &err) < 0);
        assert_true(reg_platform_parse("linux/a/b/c", &p, &err) < 0);
}

static void test_manifest_parse(void **state)
{
        static const char doc[] =
                "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
                "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":7,\"digest\":\"" D1
                "\"},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER
                "\",\"size\":10,\"digest\":\"" D2
                "\"},{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar+"
                "gzip\",\"size\":3,\"digest\":\"" D3 "\",\"urls\":[\"https://x/y\"]}]}";
        struct reg_manifest m = {0};
        struct err err = {0};

        (void)state;
        assert_int_equal(reg_manifest_parse(doc, NULL, &m, &err), 0);
        assert_string_equal(m.config.digest, D1);
        assert_int_equal(m.n, 2);
        assert_int_equal(m.layers[0].size, 10);
        assert_false(m.layers[0].foreign);
        assert_true(m.layers[1].foreign);
        assert_string_equal(m.layers[1].urls[0], "https://x/y");
        reg_manifest_free(&m);
        assert_true(reg_manifest_parse("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, &m, &err) <
                    0);
        assert_non_null(strstr(err.msg, "schema 1"));
        assert_true(reg_manifest_parse("{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:x\"}}",
                                       NULL, &m, &err) < 0);
}

static void test_insecure(void **state)
{
        char *list[] = {"myreg:5000", "10.1.0.0/16", NULL};
        struct reg_conf c = {.insecure = list};

        (void)state;
        assert_true(reg_conf_insecure(&c, "localhost:5000"));
        assert_true(reg_conf_insecure(&c, "127.0.0.5:5000"));
        assert_true(reg_conf_insecure(&c, "[::1]:5000"));
        assert_true(reg_conf_insecure(&c, "myreg:5000"));
        assert_true(reg_conf_insecure(&c, "10.1.2.3:443"));
        assert_false(reg_conf_insecure(&c, "10.2.0.1"));
        assert_false(reg_conf_insecure(&c, "docker.io"));
        assert_false(reg_conf_insecure(&c, "myreg:5001"));
}

/* A config.json with auths: login's file round-trips, logout removes it, docker.io's key. */
static void test_credentials(void **state)
{
        char dir[] = "/tmp/hawser-creds-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct reg_creds c = {0};
        struct err err = {0};
        bool removed = false;

        (void)state;
        assert_non_null(mkdtemp(dir));
        setenv("DOCKER_CONFIG", dir, 1);
        assert_int_equal(reg_creds_get("127.0.0.1:5000", &c, &err), 0); /* no file */
        assert_null(c.user);
        assert_int_equal(reg_creds_store("127.0.0.1:5000", "alice", "s3cret", NULL, &err), 0);
        assert_int_equal(reg_creds_store("docker.io", "bob", "pw:x", NULL, &err), 0);
        assert_int_equal(asprintf(&path, "%s/config.json", dir) > 0, 1);
        assert_int_equal(fs_read_file(path, &text, NULL, &err), 0);
        /* base64("alice:s3cret"), under Docker's key for Docker Hub */
        assert_non_null(strstr(text, "\"auth\": \"YWxpY2U6czNjcmV0\""));
        assert_non_null(strstr(text, "\"https://index.docker.io/v1/\""));
        assert_int_equal(reg_creds_get("127.0.0.1:5000", &c, &err), 0);
        assert_string_equal(c.user, "alice");
        assert_string_equal(c.secret, "s3cret");
        reg_creds_free(&c);
        assert_int_equal(reg_creds_get("docker.io", &c, &err), 0);
        assert_string_equal(c.secret, "pw:x");
        reg_creds_free(&c);
        assert_int_equal(reg_creds_store("127.0.0.1:5000", NULL, NULL, &removed, &err), 0);
        assert_true(removed);
        assert_int_equal(reg_creds_get("127.0.0.1:5000", &c, &err), 0);
        assert_null(c.user);
        /* A helper that is not installed: Docker's message. */
        assert_int_equal(fs_write_atomic(path, "{\"credsStore\":\"nope-hawser\"}", 29, 0600, &err),
                         0);
        assert_int_equal(reg_creds_get("127.0.0.1:5000", &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "docker-credential-nope-hawser"));
        unlink(path);
        rmdir(dir);
}

/* credsStore / credHelpers: Docker's helper protocol (server on stdin, JSON on stdout), a
 * per-registry helper before the store, "not found" as no credentials. */
static void test_credential_helpers(void **state)
{
        char dir[] = "/tmp/hawser-helper-XXXXXX";
        _cleanup_free_ char *cfg = NULL, *helper = NULL, *other = NULL, *path = NULL;
        const char *old_path = getenv("PATH");
        struct reg_creds c = {0};
        struct err err = {0};
        static const char script[] =
                "#!/bin/sh\nread server\n"
                "case \"$1:$server\" in\n"
                "get:reg.example:5000) echo '{\"Username\":\"carol\",\"Secret\":\"pw\"}' ;;\n"
                "get:*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
                "esac\n";
        static const char per_host[] =
                "#!/bin/sh\nread server\necho '{\"Username\":\"dave\",\"Secret\":\"x\"}'\n";

        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(asprintf(&helper, "%s/docker-credential-teststore", dir) > 0, 1);
        assert_int_equal(asprintf(&other, "%s/docker-credential-perhost", dir) > 0, 1);
        assert_int_equal(asprintf(&cfg, "%s/config.json", dir) > 0, 1);
        assert_int_equal(asprintf(&path, "%s:%s", dir, old_path ? old_path : "/usr/bin:/bin") > 0,
                         1);
        assert_int_equal(fs_write_atomic(helper, script, strlen(script), 0755, &err), 0);
        assert_int_equal(fs_write_atomic(other, per_host, strlen(per_host), 0755, &err), 0);
        static const char conf[] = "{\"credsStore\":\"teststore\","
                                   "\"credHelpers\":{\"special:1\":\"perhost\"}}";
        assert_int_equal(fs_write_atomic(cfg, conf, strlen(conf), 0600, &err), 0);
        setenv("DOCKER_CONFIG", dir, 1);
        setenv("PATH", path, 1);
        assert_int_equal(reg_creds_get("reg.example:5000", &c, &err), 0);
        assert_string_equal(c.user, "carol");
        assert_string_equal(c.secret, "pw");
        reg_creds_free(&c);
        assert_int_equal(reg_creds_get("special:1", &c, &err), 0);
        assert_string_equal(c.user, "dave");
        reg_creds_free(&c);
        assert_int_equal(reg_creds_get("elsewhere:1", &c, &err), 0);
        assert_null(c.user);
        if (old_path)
                setenv("PATH", old_path, 1);
        unlink(helper);
        unlink(other);
        unlink(cfg);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_references),         cmocka_unit_test(test_platform_match),
                cmocka_unit_test(test_platform_parse),     cmocka_unit_test(test_manifest_parse),
                cmocka_unit_test(test_insecure),           cmocka_unit_test(test_credentials),
                cmocka_unit_test(test_credential_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
