/* Namespace flags of create/run: --pid, --ipc, --uts, --cgroupns and --sysctl, validated as
 * Docker validates them into HostConfig (PidMode, IpcMode, UTSMode, CgroupnsMode,
 * Sysctls); the monitor applies them (core/monitor.c, core/launch.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "create.h"
#include "network.h"
#include "teardown.h"

/* container:X modes are stored with X's id (as --network container:X), so a rename of X
 * changes nothing; X must exist now, and run when this container starts. */
static int container_ref(const struct cli *cli, const char *mode, const char *what,
                         const struct run_opts *o, char **ret, struct err *err)
{
        struct container *x = NULL;
        const char *target = mode + strlen("container:");

        if (!*target)
                return err_set(err, -EINVAL, "--%s: invalid %s mode", what,
                               !strcmp(what, "pid") ? "PID" : "IPC");
        if (o->name && !strcmp(o->name[0] == '/' ? o->name + 1 : o->name, target))
                return err_set(err, -EINVAL, "cannot join own %s namespace",
                               !strcmp(what, "pid") ? "PID" : "IPC");
        if (teardown_find(cli, target, &x, err) < 0)
                return -err->code;
        *ret = util_printf("container:%s", x->id);
        container_free(x);
        return *ret ? 0 : err_set(err, -ENOMEM, "creating the container");
}

/* Docker's list of namespaced sysctls a container may set (opts.ValidateSysctl). */
static bool sysctl_ipc(const char *key)
{
        static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                          "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                          "kernel.shmmni", "kernel.shm_rmid_forced"};

        for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
                if (!strcmp(key, ipc[i]))
                        return true;
        return !strncmp(key, "fs.mqueue.", 10);
}

static int sysctls(const struct run_opts *o, struct jv *hc, struct err *err)
{
        struct jv *m = jv_new_object();
        bool host_net =
                network_mode_parse(jv_get_str(hc, "NetworkMode"), NULL) == NETWORK_MODE_HOST;
        bool host_ipc = !strcmp(jv_get_str(hc, "IpcMode") ?: "", "host");

        /* Docker omits the field when empty. */
        if (o->sysctls && *o->sysctls)
                jv_set(hc, "Sysctls", m);
        else
                jv_put(m);
        for (char **s = o->sysctls; s && *s; s++) {
                const char *eq = strchr(*s, '=');
                _cleanup_free_ char *key = eq ? strndup(*s, (size_t)(eq - *s)) : NULL;
                if (!key || !*key || (!sysctl_ipc(key) && strncmp(key, "net.", 4)) ||
                    strchr(key, '/') || strstr(key, ".."))
                        return err_set(err, -EINVAL, "sysctl '%s' is not whitelisted", *s);
                /* /proc/sys paths are short; a longer key could only be a typo. */
                if (strlen(key) >= 250)
                        return err_set(err, -EINVAL, "sysctl '%.64s...' is too long", key);
                /* The host's own settings are not the container's to change (runc's check). */
                if (host_net && !strncmp(key, "net.", 4))
                        return err_set(err, -EINVAL,
                                       "sysctl \"%s\" not allowed in host network namespace", key);
                if (host_ipc && sysctl_ipc(key))
                        return err_set(err, -EINVAL,
                                       "sysctl \"%s\" not allowed in host IPC namespace", key);
                jv_set_str(m, key, eq + 1);
        }
        return 0;
}

int create_namespaces_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                          struct err *err)
{
        struct jv *hc = jv_get(doc, "HostConfig"), *cfg = jv_get(doc, "Config");
        _cleanup_free_ char *pid = NULL, *ipc = NULL;
        int r = 0;

        if (o->pid && *o->pid) {
                if (!strncmp(o->pid, "container:", 10))
                        r = container_ref(cli, o->pid, "pid", o, &pid, err);
                else if (strcmp(o->pid, "host"))
                        r = err_set(err, -EINVAL, "--pid: invalid PID mode");
                if (r < 0)
                        return r;
                jv_set_str(hc, "PidMode", pid ? pid : o->pid);
        }
        if (o->ipc && *o->ipc) {
                static const char *const modes[] = {"none", "private", "shareable", "host"};
                bool known = false;
                for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
                        known |= !strcmp(o->ipc, modes[i]);
                if (!strncmp(o->ipc, "container:", 10))
                        r = container_ref(cli, o->ipc, "ipc", o, &ipc, err);
                else if (!known)
                        r = err_set(err, -EINVAL, "--ipc: invalid IPC mode");
                if (r < 0)
                        return r;
                jv_set_str(hc, "IpcMode", ipc ? ipc : o->ipc);
                /* The host's or the other container's /dev/shm is used: no size of its own. */
                if ((ipc || !strcmp(o->ipc, "host")) && o->shm_size)
                        return err_set(err, -EINVAL,
                                       "--shm-size cannot be used with --ipc %s: the container "
                                       "uses that /dev/shm",
                                       o->ipc);
        }
        if (o->uts && *o->uts) {
                char host[HOST_NAME_MAX + 1];
                if (strcmp(o->uts, "host"))
                        return err_set(err, -EINVAL, "--uts: invalid UTS mode");
                if (o->hostname)
                        return err_set(err, -EINVAL,
                                       "Conflicting options: hostname and the UTS mode");
                jv_set_str(hc, "UTSMode", "host");
                /* The container sees the host's name: its files and HOSTNAME say so too. */
                if (gethostname(host, sizeof(host)) == 0) {
                        host[sizeof(host) - 1] = '\0';
                        jv_set_str(cfg, "Hostname", host);
                }
        }
        if (o->cgroupns && *o->cgroupns) {
                if (strcmp(o->cgroupns, "host") && strcmp(o->cgroupns, "private"))
                        return err_set(err, -EINVAL, "--cgroupns: invalid CGROUP mode");
                jv_set_str(hc, "CgroupnsMode", o->cgroupns);
        }
        return sysctls(o, hc, err);
}
