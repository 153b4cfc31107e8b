#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../caps.h"
#include "../oci.h"
#include "../opt.h"
#include "internal.h"

#define OCI_RUNTIME_VERSION "0.1.0"

static const struct opt_def global_defs[] = {
        {"root", 0, OPT_STR, offsetof(struct oci_global, root)},
        {"log", 0, OPT_STR, offsetof(struct oci_global, log)},
        {"log-format", 0, OPT_STR, offsetof(struct oci_global, log_format)},
        {"debug", 0, OPT_BOOL, offsetof(struct oci_global, debug)},
        {"systemd-cgroup", 0, OPT_BOOL, offsetof(struct oci_global, systemd_cgroup)},
        {"rootless", 0, OPT_STR, offsetof(struct oci_global, rootless)},
        {"criu", 0, OPT_STR, offsetof(struct oci_global, criu)},
        {"help", 'h', OPT_BOOL, offsetof(struct oci_global, help)},
        OPT_END,
};

/* ---- spec, features ---- */

/* runc spec's config.json (runc 1.1), with sh as the process. */
static const char default_spec[] =
        "{\"ociVersion\":\"" OCI_VERSION "\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,"
        "\"gid\":0},\"args\":[\"sh\"],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
        "/usr/bin:/sbin:/bin\",\"TERM=xterm\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":["
        "\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"effective\":["
        "\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"permitted\":["
        "\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],\"ambient\":["
        "\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},\"rlimits\":[{\"type\":"
        "\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},\"root\":{"
        "\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"runc\",\"mounts\":[{"
        "\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":"
        "\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
        "\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":\"/dev/pts\",\"type\":"
        "\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\",\"newinstance\","
        "\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\",\"type\":"
        "\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\","
        "\"mode=1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\","
        "\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":"
        "\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\","
        "\"nodev\",\"ro\"]},{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":"
        "\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
        "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
        "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":"
        "\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],\"maskedPaths\":[\"/proc/acpi\","
        "\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","
        "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\","
        "\"/proc/scsi\"],\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\","
        "\"/proc/sys\",\"/proc/sysrq-trigger\"]}}";

struct spec_opts {
        const char *bundle;
        bool rootless;
};

static const struct opt_def spec_defs[] = {
        {"bundle", 'b', OPT_STR, offsetof(struct spec_opts, bundle)},
        {"rootless", 0, OPT_BOOL, offsetof(struct spec_opts, rootless)},
        OPT_END,
};

static int cmd_spec(int argc, char **argv, struct err *err)
{
        struct spec_opts o = {.bundle = "."};
        _cleanup_jv_ struct jv *spec = NULL;
        _cleanup_free_ char *path = NULL;
        const char *text;

        if (opt_parse(spec_defs, argc - 1, argv + 1, false, &o, err) < 0)
                return 1;
        if (o.rootless)
                return err_set(err, -EINVAL,
                               "spec --rootless: rootless containers are not supported by "
                               "hawser (run it as root; uidMappings give a container a user "
                               "namespace of its own)"),
                       1;
        path = util_printf("%s/config.json", o.bundle);
        if (!path || jv_parse(default_spec, &spec, err) < 0)
                return 1;
        if (access(path, F_OK) == 0)
                return err_set(err, -EEXIST, "File %s exists. Remove it first", path), 1;
        text = jv_to_string(spec, true);
        if (fs_write_atomic(path, text, strlen(text), 0666 & ~0022, err) < 0)
                return 1;
        return 0;
}

static struct jv *strv_json(const char *const *v, size_t n)
{
        struct jv *a = jv_new_array();

        for (size_t i = 0; i < n; i++)
                jv_append(a, jv_new_string(v[i]));
        return a;
}

/* What hawser honours, in runc features' shape (runtime-spec features.md). */
static int cmd_features(void)
{
        static const char *const hooks[] = {"prestart", "createRuntime", "poststart", "poststop"};
        static const char *const opts[] = {"async",      "atime",         "bind",     "dev",
                                           "diratime",   "exec",          "mand",     "noatime",
                                           "nodev",      "nodiratime",    "noexec",   "nomand",
                                           "norelatime", "nostrictatime", "nosuid",   "private",
                                           "rbind",      "relatime",      "rprivate", "ro",
                                           "rw",         "strictatime",   "suid",     "sync"};
        static const char *const ns[] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
        static const char *const actions[] = {
                "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",   "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
        static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                          "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                          "SCMP_CMP_NE"};
        static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"};
        _cleanup_jv_ struct jv *f = jv_new_object();
        struct jv *lx = jv_new_object(), *cg = jv_new_object(), *sc = jv_new_object();
        struct jv *caps = jv_new_array(), *off = jv_new_object();
        uint64_t all = caps_all();

        jv_set_str(f, "ociVersionMin", "1.0.0");
        jv_set_str(f, "ociVersionMax", OCI_VERSION);
        jv_set(f, "hooks", strv_json(hooks, ARRAY_SIZE(hooks)));
        jv_set(f, "mountOptions", strv_json(opts, ARRAY_SIZE(opts)));
        jv_set(lx, "namespaces", strv_json(ns, ARRAY_SIZE(ns)));
        for (int c = 0; c < 64; c++) {
                char *name, up[64];
                size_t k = 0;
                if (!(all & (1ULL << c)) || !(name = cap_to_name((cap_value_t)c)))
                        continue;
                for (; name[k] && k < sizeof(up) - 1; k++)
                        up[k] = (char)toupper((unsigned char)name[k]);
                up[k] = '\0';
                cap_free(name);
                jv_append(caps, jv_new_string(up));
        }
        jv_set(lx, "capabilities", caps);
        jv_set_bool(cg, "v1", true);
        jv_set_bool(cg, "v2", true);
        jv_set_bool(cg, "systemd", false);
        jv_set_bool(cg, "systemdUser", false);
        jv_set(lx, "cgroup", cg);
        jv_set_bool(sc, "enabled", true);
        jv_set(sc, "actions", strv_json(actions, ARRAY_SIZE(actions)));
        jv_set(sc, "operators", strv_json(ops, ARRAY_SIZE(ops)));
        jv_set(sc, "archs", strv_json(archs, ARRAY_SIZE(archs)));
        jv_set(lx, "seccomp", sc);
        jv_set_bool(off, "enabled", false);
        jv_set(lx, "apparmor", jv_copy(off));
        jv_set(lx, "selinux", off);
        jv_set(f, "linux", lx);
        jv_set(f, "annotations", jv_new_object());
        printf("%s\n", jv_to_string(f, true));
        return 0;
}

/* ---- errors, dispatch ---- */

/* runc's way: the error goes to stderr and, with --log, is appended there as logrus
 * writes it (containerd's shim reads the last JSON line to explain a failure). */
static void log_error(const struct oci_global *g, const char *msg)
{
        _cleanup_fclose_ FILE *f = NULL;
        char now[40];

        fprintf(stderr, "hawser-runtime: %s\n", msg);
        if (!g->log || !*g->log || !(f = fopen(g->log, "ae")))
                return;
        util_format_time(util_now_ns(), now);
        if (g->log_format && !strcmp(g->log_format, "json")) {
                _cleanup_jv_ struct jv *o = jv_new_object();
                jv_set_str(o, "level", "error");
                jv_set_str(o, "msg", msg);
                jv_set_str(o, "time", now);
                fprintf(f, "%s\n", jv_to_string(o, false));
        } else {
                _cleanup_jv_ struct jv *m = jv_new_string(msg);
                fprintf(f, "time=\"%s\" level=error msg=%s\n", now, jv_to_string(m, false));
        }
}

static const struct {
        const char *name;
        int (*run)(const struct oci_global *g, int argc, char **argv, struct err *err);
} commands[] = {
        {"create", oci_cmd_create}, {"start", oci_cmd_start},   {"run", oci_cmd_run},
        {"kill", oci_cmd_kill},     {"delete", oci_cmd_delete}, {"pause", oci_cmd_pause},
        {"resume", oci_cmd_pause},  {"ps", oci_cmd_ps},         {"state", oci_cmd_state},
        {"list", oci_cmd_list},     {"exec", oci_cmd_exec},     {"update", oci_cmd_update},
        {"events", oci_cmd_events},
};

static void usage(void)
{
        printf("Usage: hawser-runtime [--root DIR] [--log FILE] [--log-format text|json] "
               "COMMAND [ARGS]\n\nhawser as an OCI runtime (runc's command line).\n\n"
               "Commands:\n  spec, features, create, start, run, state, kill, delete, "
               "pause, resume, ps, exec, update, events, list\n");
}

static int dispatch(struct oci_global *g, int argc, char **argv, struct err *err)
{
        if (g->systemd_cgroup)
                return err_set(err, -EOPNOTSUPP,
                               "--systemd-cgroup: systemd cgroups are not "
                               "supported by hawser"),
                       1;
        if (g->log_format && strcmp(g->log_format, "text") && strcmp(g->log_format, "json"))
                return err_set(err, -EINVAL, "invalid log-format: %s", g->log_format), 1;
        /* runc's --rootless true|false|auto: auto is false for root, what hawser runs as. */
        if (g->rootless && strcmp(g->rootless, "false") && strcmp(g->rootless, "auto"))
                return err_set(err, -EOPNOTSUPP,
                               "--rootless %s: rootless containers are not supported by hawser",
                               g->rootless),
                       1;
        if (g->debug && g->criu)
                fprintf(stderr, "hawser-runtime: --criu is accepted; hawser has no checkpoint "
                                "or restore\n");
        if (!strcmp(argv[0], "spec"))
                return cmd_spec(argc, argv, err);
        if (!strcmp(argv[0], "features"))
                return cmd_features();
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (!strcmp(argv[0], commands[i].name))
                        return commands[i].run(g, argc, argv, err);
        return err_set(err, -EINVAL, "No help topic for '%s'", argv[0]), 1;
}

int oci_main(int argc, char **argv)
{
        struct oci_global g = {.root = "/run/hawser-runtime"};
        struct err err = {0};
        int i, r;

        if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
                printf("hawser-runtime version " OCI_RUNTIME_VERSION
                       "\ncommit: hawser-" OCI_RUNTIME_VERSION "\nspec: " OCI_VERSION "\n");
                return 0;
        }
        /* Global flags stop at the command name. */
        for (i = 1; i < argc && argv[i][0] == '-'; i++)
                if (!strchr(argv[i], '=') && strcmp(argv[i], "--debug") &&
                    strcmp(argv[i], "--systemd-cgroup") && strcmp(argv[i], "--help") &&
                    strcmp(argv[i], "-h"))
                        i++;
        r = opt_parse(global_defs, (i < argc ? i : argc) - 1, argv + 1, false, &g, &err);
        if (r == -ECANCELED || g.help || i >= argc) {
                usage();
                return r == -ECANCELED || g.help ? 0 : 1;
        }
        if (r >= 0)
                r = dispatch(&g, argc - i, argv + i, &err);
        else
                r = 1;
        if (r != 0 && err.msg[0])
                log_error(&g, err.msg);
        return r;
}
