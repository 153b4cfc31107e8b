#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/capability.h>

#include "core/base/fs.h"
#include "core/oci/internal.h"
#include "tests/fuzz/oci_config_fuzz.c"
#include "tests/unit/corpus.h"

/* hawser-runtime's reading of a bundle's config.json (core/oci/config.c). The last test
 * replays the fuzz corpus. */

static char bundle[64];

static int setup(void **state)
{
        (void)state;
        snprintf(bundle, sizeof(bundle), "/tmp/core_oci_config.XXXXXX");
        return mkdtemp(bundle) ? 0 : -1;
}

static int teardown(void **state)
{
        struct err e = {0};

        (void)state;
        return fs_rm_rf(bundle, &e);
}

static int load(const char *json, struct oci_plan *p, struct err *err)
{
        char path[128];
        struct err e = {0};

        snprintf(path, sizeof(path), "%s/config.json", bundle);
        assert_int_equal(fs_write_atomic(path, json, strlen(json), 0644, &e), 0);
        return oci_plan_load(bundle, "c1", p, err);
}

static void test_process_and_linux(void **state)
{
        static const char json[] =
                "{\"process\":{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\"],\"cwd\":\"/w\","
                "\"user\":{\"uid\":5,\"gid\":6,\"additionalGids\":[7,8],\"umask\":18},"
                "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NOT_A_CAP\"],"
                "\"ambient\":[\"CAP_CHOWN\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
                "\"soft\":10,\"hard\":20}],\"noNewPrivileges\":true,\"oomScoreAdj\":-5},"
                "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h\","
                "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                "{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"data\",\"options\":["
                "\"rbind\",\"ro\",\"nosuid\",\"rprivate\"]},{\"destination\":\"/t\",\"type\":"
                "\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"noexec\",\"size=1m\","
                "\"mode=755\"]}],\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":"
                "\"mount\"},{\"type\":\"uts\"}],\"maskedPaths\":[\"/proc/kcore\"],"
                "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"cgroupsPath\":\"/a/b\","
                "\"resources\":{\"memory\":{\"limit\":1048576},\"pids\":{\"limit\":9}},"
                "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,"
                "\"minor\":229}]}}";
        struct oci_plan p;
        struct err err = {0};
        char want[128];

        (void)state;
        assert_int_equal(load(json, &p, &err), 0);
        snprintf(want, sizeof(want), "%s/rootfs", bundle);
        assert_string_equal(p.s.rootfs, want);
        assert_null(p.s.lowerdir);
        assert_true(p.s.read_only);
        assert_string_equal(p.s.argv[2], "x");
        assert_string_equal(p.s.cwd, "/w");
        assert_string_equal(p.s.user, "5:6");
        assert_string_equal(p.s.group_add[1], "8");
        assert_true(p.s.set_umask);
        assert_int_equal(p.s.umask, 18);
        assert_int_equal(p.caps.bounding, 1ULL << CAP_KILL);
        assert_int_equal(p.caps.ambient, 1ULL << CAP_CHOWN);
        assert_int_equal(p.caps.effective, 0);
        assert_int_equal(p.s.n_rlimits, 1);
        assert_int_equal(p.s.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(p.s.rlimits[0].hard, 20);
        assert_true(p.s.no_new_privs);
        assert_int_equal(p.oom_score_adj, -5);
        assert_int_equal(p.s.n_mounts, 3);
        assert_string_equal(p.s.mounts[0].fstype, "proc");
        snprintf(want, sizeof(want), "%s/data", bundle);
        assert_string_equal(p.s.mounts[1].source, want);
        assert_null(p.s.mounts[1].fstype);
        assert_true(p.s.mounts[1].readonly);
        assert_int_equal(p.s.mounts[1].flags, MS_NOSUID);
        assert_string_equal(p.s.mounts[2].fstype, "tmpfs");
        assert_int_equal(p.s.mounts[2].flags, MS_NOEXEC);
        assert_string_equal(p.s.mounts[2].data, "size=1m,mode=755");
        assert_true(p.own_pidns);
        assert_false(p.s.host_pid);
        assert_false(p.s.host_uts);
        assert_true(p.s.host_ipc);
        assert_false(p.s.new_netns);
        assert_true(p.s.host_cgroupns);
        assert_string_equal(p.s.masked_paths[0], "/proc/kcore");
        assert_null(p.s.readonly_paths[0]);
        assert_string_equal(p.s.sysctls[0], "net.ipv4.ip_forward=1");
        assert_string_equal(p.cgroup, "a/b");
        assert_int_equal(p.limits.memory, 1048576);
        assert_int_equal(p.limits.pids_limit, 9);
        assert_int_equal(p.s.n_devices, 1);
        assert_int_equal(p.s.devices[0].major, 10);
        assert_int_equal(p.s.devices[0].mode, 0666);
        oci_plan_free(&p);
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
                "{\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}",
                "{\"process\":{\"args\":[\"a\"],\"cwd\":\"rel\"},\"root\":{\"path\":\"r\"}}",
                "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"\"}}",
                "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{"
                "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
                "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{"
                "\"namespaces\":[{\"type\":\"user\"}]}}",
                "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{"
                "\"cgroupsPath\":\"system.slice:docker:abc\"}}",
                "{\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_NOPE\"}]},"
                "\"root\":{\"path\":\"r\"}}",
                "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{"
                "\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct oci_plan p;
                struct err err = {0};
                int r = load(bad[i], &p, &err);
                if (r != -EINVAL)
                        print_message("config %zu: %d %s\n", i, r, err.msg);
                assert_int_equal(r, -EINVAL);
                assert_true(err.msg[0] != '\0');
                oci_plan_free(&p);
        }
}

static void test_fuzz_corpus(void **state)
{
        (void)state;
        corpus_replay("tests/fuzz/corpus/oci_config");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_process_and_linux),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_fuzz_corpus),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
