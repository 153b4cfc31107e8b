/* libFuzzer target for the OCI runtime's config.json: core/oci/config.c (oci_plan_load, which
 * reads BUNDLE/config.json into a launch plan, and oci_plan_free). `make fuzz` builds it with
 * clang and -fsanitize=fuzzer,address,undefined; tests/unit/core_oci_config.c includes this
 * file and replays tests/fuzz/corpus/oci_config/ through the same entry point. Each input is
 * written as the config.json of a private bundle (made once with mkdtemp under /tmp, removed
 * at exit). Loading only reads: the config, a few /sys files, and the namespaces joined by
 * path, opened read-only. Opening any file can still act (a FIFO blocks, a watchdog device
 * starts), so an input with a namespace path outside /proc/self/ns/ is skipped. Besides
 * "no crash" it checks invariants and aborts when one breaks:
 *   - a refusal is negative with a message;
 *   - a plan has a non-empty argv, an environment, an absolute cwd, a rootfs, a user, a
 *     cgroup and the standard device rules, mounts on absolute targets, each with a source;
 *   - oci_plan_free closes every file the load opened, refused or not. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/oci/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OCI_NS_DIR "/proc/self/ns/"

static char fuzz_bundle[64], fuzz_config[96];

static void fuzz_check(int cond)
{
        if (!cond)
                abort();
}

static void fuzz_bundle_remove(void)
{
        unlink(fuzz_config);
        rmdir(fuzz_bundle);
}

static int fuzz_bundle_make(void)
{
        if (fuzz_bundle[0])
                return 0;
        snprintf(fuzz_bundle, sizeof(fuzz_bundle), "/tmp/hawser-oci-fuzz.XXXXXX");
        if (!mkdtemp(fuzz_bundle)) {
                fuzz_bundle[0] = '\0';
                return -1;
        }
        snprintf(fuzz_config, sizeof(fuzz_config), "%s/config.json", fuzz_bundle);
        atexit(fuzz_bundle_remove);
        return 0;
}

static int fuzz_write(const uint8_t *data, size_t size)
{
        int fd = open(fuzz_config, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int r = 0;

        if (fd < 0)
                return -1;
        while (size > 0 && r == 0) {
                ssize_t n = write(fd, data, size);
                if (n <= 0)
                        r = -1;
                else
                        data += n, size -= (size_t)n;
        }
        close(fd);
        return r;
}

/* Whether every namespace path is one of this process's own (or absent). */
static bool fuzz_paths_safe(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        struct jv *doc = NULL;
        struct err e = {0};
        const struct jv *nss;
        bool safe = true;

        if (!text)
                return false;
        memcpy(text, data, size);
        text[size] = '\0';
        if (jv_parse(text, &doc, &e) < 0) {
                free(text);
                return true;
        }
        nss = jv_get(jv_get(doc, "linux"), "namespaces");
        for (size_t i = 0; i < jv_len(nss); i++) {
                const char *path = jv_get_str(jv_at(nss, i), "path");
                if (path && *path &&
                    (strncmp(path, FUZZ_OCI_NS_DIR, strlen(FUZZ_OCI_NS_DIR)) || strstr(path, "..")))
                        safe = false;
        }
        jv_put(doc);
        free(text);
        return safe;
}

/* The lowest free descriptor: a file left open moves it. */
static int fuzz_next_fd(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        fuzz_check(fd >= 0);
        close(fd);
        return fd;
}

static void fuzz_plan(const struct oci_plan *p)
{
        fuzz_check(p->config && p->s.argv && p->s.argv[0] && p->s.env && p->env);
        fuzz_check(p->s.cwd && p->s.cwd[0] == '/' && p->rootfs && p->s.rootfs == p->rootfs);
        fuzz_check(p->s.user && p->s.group_add && p->cgroup && p->limits.device_allow);
        fuzz_check(p->s.masked_paths && p->s.readonly_paths && p->s.sysctls);
        fuzz_check(p->s.mounts && p->s.rlimits);
        for (size_t i = 0; i < p->s.n_mounts; i++)
                fuzz_check(p->s.mounts[i].target && p->s.mounts[i].target[0] == '/' &&
                           p->s.mounts[i].source);
        for (size_t i = 0; i < p->s.n_devices; i++)
                fuzz_check(p->s.devices[i].path && p->s.devices[i].path[0] == '/');
        fuzz_check(!p->s.seccomp || p->s.seccomp_profile);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_plan p;
        struct err e = {0};
        int fd, r;

        if (fuzz_bundle_make() < 0 || !fuzz_paths_safe(data, size) || fuzz_write(data, size) < 0)
                return 0;
        fd = fuzz_next_fd();
        r = oci_plan_load(fuzz_bundle, "fuzz1", &p, &e);
        if (r < 0) {
                fuzz_check(e.msg[0] != '\0');
        } else {
                fuzz_check(r == 0);
                fuzz_plan(&p);
        }
        oci_plan_free(&p);
        fuzz_check(fuzz_next_fd() == fd);
        return 0;
}
