#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../caps.h"
#include "internal.h"

/* ---- mounts ---- */

/* Mount options that are flags; anything else goes to the filesystem as data. */
static const struct {
        const char *name;
        unsigned long set, clear;
} mount_flags[] = {
        {"ro", MS_RDONLY, 0},
        {"rw", 0, MS_RDONLY},
        {"nosuid", MS_NOSUID, 0},
        {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},
        {"dev", 0, MS_NODEV},
        {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},
        {"sync", MS_SYNCHRONOUS, 0},
        {"async", 0, MS_SYNCHRONOUS},
        {"noatime", MS_NOATIME, 0},
        {"atime", 0, MS_NOATIME},
        {"nodiratime", MS_NODIRATIME, 0},
        {"diratime", 0, MS_NODIRATIME},
        {"relatime", MS_RELATIME, 0},
        {"norelatime", 0, MS_RELATIME},
        {"strictatime", MS_STRICTATIME, 0},
        {"nostrictatime", 0, MS_STRICTATIME},
        {"mand", MS_MANDLOCK, 0},
        {"nomand", 0, MS_MANDLOCK},
        {"bind", MS_BIND, 0},
        {"rbind", MS_BIND | MS_REC, 0},
};

/* Propagation options (a mount's, or rootfsPropagation); 0 when name is none of them. */
static unsigned long propagation_of(const char *name)
{
        static const struct {
                const char *name;
                unsigned long flags;
        } map[] = {
                {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
                {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
                {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
                {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        };

        for (size_t i = 0; name && i < ARRAY_SIZE(map); i++)
                if (!strcmp(name, map[i].name))
                        return map[i].flags;
        return 0;
}

static unsigned long mount_options(const struct jv *opts, struct util_buf *data,
                                   unsigned long *ret_propagation)
{
        unsigned long flags = 0;

        *ret_propagation = 0;
        for (size_t i = 0; i < jv_len(opts); i++) {
                const char *o = jv_str(jv_at(opts, i));
                size_t k;
                if (!o)
                        continue;
                if (propagation_of(o)) {
                        *ret_propagation = propagation_of(o);
                        continue;
                }
                for (k = 0; k < ARRAY_SIZE(mount_flags); k++)
                        if (!strcmp(o, mount_flags[k].name))
                                break;
                if (k < ARRAY_SIZE(mount_flags)) {
                        flags = (flags & ~mount_flags[k].clear) | mount_flags[k].set;
                        continue;
                }
                if (util_buf_str(data)[0])
                        util_buf_addc(data, ',');
                util_buf_add(data, o, strlen(o));
        }
        return flags;
}

/* A relative source is the bundle's (runc resolves binds against it). */
static char *bundle_path(const char *bundle, const char *p)
{
        return p[0] == '/' ? strdup(p) : util_printf("%s/%s", bundle, p);
}

static int plan_mount(const char *bundle, const struct jv *m, struct launch_mount *lm,
                      struct err *err)
{
        const char *dest = jv_get_str(m, "destination"), *type = jv_get_str(m, "type");
        const char *src = jv_get_str(m, "source");
        struct util_buf data = {0};
        unsigned long propagation;
        unsigned long flags = mount_options(jv_get(m, "options"), &data, &propagation);
        bool bind = (flags & MS_BIND) || (type && !strcmp(type, "bind"));
        bool cgroup = type && !strcmp(type, "cgroup");

        /* "cgroup" is the unified hierarchy on cgroup v2; on v1 or hybrid hosts, whose
         * hierarchies need names, each hierarchy's cgroup of the container (create fills in
         * cgroup_views once it knows them). */
        if (cgroup && access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                type = "cgroup2";

        if (!dest || dest[0] != '/') {
                util_buf_free(&data);
                return err_set(err, -EINVAL, "mount destination %s not absolute",
                               dest ? dest : "(none)");
        }
        if (cgroup && strcmp(type, "cgroup2")) {
                util_buf_free(&data);
                *lm = (struct launch_mount){.target = dest,
                                            .readonly = flags & MS_RDONLY,
                                            .cgroup_own = true,
                                            .source = strdup("cgroup")};
                return lm->source ? 0 : err_set(err, -ENOMEM, "mount %s", dest);
        }
        *lm = (struct launch_mount){
                .target = dest, .readonly = flags & MS_RDONLY, .propagation = propagation};
        if (bind) {
                if (!src) {
                        util_buf_free(&data);
                        return err_set(err, -EINVAL, "bind mount on %s has no source", dest);
                }
                lm->source = bundle_path(bundle, src);
                lm->flags = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
                util_buf_free(&data);
                return lm->source ? 0 : err_set(err, -ENOMEM, "mount %s", dest);
        }
        lm->fstype = type ? type : "none";
        lm->source = strdup(src ? src : lm->fstype);
        lm->flags = flags & ~(MS_BIND | MS_REC | MS_RDONLY);
        lm->data = util_buf_str(&data)[0] ? strdup(util_buf_str(&data)) : NULL;
        util_buf_free(&data);
        return lm->source ? 0 : err_set(err, -ENOMEM, "mount %s", dest);
}

static int plan_mounts(const char *bundle, struct oci_plan *p, struct err *err)
{
        const struct jv *ms = jv_get(p->config, "mounts");
        size_t n = jv_len(ms);

        p->mounts = calloc(n + 1, sizeof(*p->mounts));
        if (!p->mounts)
                return err_set(err, -ENOMEM, "mounts");
        for (size_t i = 0; i < n; i++) {
                int r = plan_mount(bundle, jv_at(ms, i), &p->mounts[i], err);
                p->s.n_mounts = i + (r >= 0);
                if (r < 0)
                        return r;
        }
        p->s.mounts = p->mounts;
        p->s.own_mounts = true;
        return 0;
}

/* ---- process ---- */

static uint64_t cap_set(const struct jv *names)
{
        uint64_t set = 0;

        /* runc skips capabilities this kernel does not know, with a warning. */
        for (size_t i = 0; i < jv_len(names); i++) {
                int c = caps_from_name(jv_str(jv_at(names, i)) ?: "");
                if (c >= 0 && c < 64)
                        set |= 1ULL << c;
        }
        return set;
}

static int plan_rlimits(const struct jv *rl, struct oci_plan *p, struct err *err)
{
        size_t n = jv_len(rl);

        p->rlimits = calloc(n + 1, sizeof(*p->rlimits));
        if (!p->rlimits)
                return err_set(err, -ENOMEM, "rlimits");
        for (size_t i = 0; i < n; i++) {
                const struct jv *r = jv_at(rl, i);
                const char *type = jv_get_str(r, "type") ?: "";
                char name[32];
                size_t k = 0;
                if (!strncmp(type, "RLIMIT_", 7))
                        type += 7;
                for (; type[k] && k < sizeof(name) - 1; k++)
                        name[k] = (char)tolower((unsigned char)type[k]);
                name[k] = '\0';
                /* RLIMIT_AS too, which Docker's --ulimit does not take. */
                p->rlimits[i].resource =
                        !strcmp(name, "as") ? RLIMIT_AS : launch_rlimit_resource(name);
                if (p->rlimits[i].resource < 0)
                        return err_set(err, -EINVAL, "failed to map rlimit \"%s\"",
                                       jv_get_str(r, "type") ?: "");
                p->rlimits[i].soft = (unsigned long long)jv_get_int(r, "soft", 0);
                p->rlimits[i].hard = (unsigned long long)jv_get_int(r, "hard", 0);
        }
        p->s.rlimits = p->rlimits;
        p->s.n_rlimits = n;
        return 0;
}

static int plan_user(const struct jv *user, struct oci_plan *p, struct err *err)
{
        const struct jv *gids = jv_get(user, "additionalGids");

        p->user = util_printf("%lld:%lld", jv_get_int(user, "uid", 0), jv_get_int(user, "gid", 0));
        p->group_add = calloc(jv_len(gids) + 1, sizeof(char *));
        if (!p->user || !p->group_add)
                return err_set(err, -ENOMEM, "process.user");
        for (size_t i = 0; i < jv_len(gids); i++)
                if (!(p->group_add[i] = util_printf("%lld", jv_int(jv_at(gids, i)))))
                        return err_set(err, -ENOMEM, "process.user");
        if (jv_get(user, "umask")) {
                p->s.set_umask = true;
                p->s.umask = (mode_t)jv_get_int(user, "umask", 022);
        }
        p->s.user = p->user;
        p->s.group_add = p->group_add;
        return 0;
}

/* process.ioPriority and process.scheduler (the kernel checks the values at create). */
static int plan_sched(const struct jv *proc, struct oci_plan *p, struct err *err)
{
        static const char *const classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                              "IOPRIO_CLASS_IDLE"};
        static const char *const policies[] = {"SCHED_OTHER",   "SCHED_FIFO", "SCHED_RR",
                                               "SCHED_BATCH",   "SCHED_ISO",  "SCHED_IDLE",
                                               "SCHED_DEADLINE"};
        const struct jv *io = jv_get(proc, "ioPriority"), *sc = jv_get(proc, "scheduler");
        const char *cls = jv_get_str(io, "class"), *pol = jv_get_str(sc, "policy");
        size_t k;

        p->oci.has_ioprio = p->oci.has_sched = false;
        if (io) {
                for (k = 0; cls && k < ARRAY_SIZE(classes) && strcmp(cls, classes[k]); k++)
                        ;
                if (!cls || k == ARRAY_SIZE(classes) || jv_get_int(io, "priority", 0) < 0 ||
                    jv_get_int(io, "priority", 0) > 7)
                        return err_set(err, -EINVAL, "ioPriority: bad class %s or priority",
                                       cls ? cls : "(none)");
                p->oci.has_ioprio = true;
                p->oci.ioprio = (int)((k + 1) << 13 | jv_get_int(io, "priority", 0));
        }
        if (sc) {
                for (k = 0; pol && k < ARRAY_SIZE(policies) && strcmp(pol, policies[k]); k++)
                        ;
                if (!pol || k == ARRAY_SIZE(policies) || k == 4)
                        return err_set(err, -EINVAL, "scheduler: bad policy %s",
                                       pol ? pol : "(none)");
                p->oci.has_sched = true;
                p->oci.sched.size = sizeof(p->oci.sched);
                p->oci.sched.policy = (uint32_t)k;
                p->oci.sched.nice = (int32_t)jv_get_int(sc, "nice", 0);
                p->oci.sched.priority = (uint32_t)jv_get_int(sc, "priority", 0);
                p->oci.sched.runtime = (uint64_t)jv_get_int(sc, "runtime", 0);
                p->oci.sched.deadline = (uint64_t)jv_get_int(sc, "deadline", 0);
                p->oci.sched.period = (uint64_t)jv_get_int(sc, "period", 0);
                for (size_t i = 0; i < jv_len(jv_get(sc, "flags")); i++) {
                        static const char *const flags[] = {
                                "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
                                "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
                                "SCHED_FLAG_KEEP_PARAMS"};
                        const char *f = jv_str(jv_at(jv_get(sc, "flags"), i)) ?: "";
                        for (k = 0; k < ARRAY_SIZE(flags) && strcmp(f, flags[k]); k++)
                                ;
                        if (k == ARRAY_SIZE(flags))
                                return err_set(err, -EINVAL, "scheduler: unknown flag %s", f);
                        p->oci.sched.flags |= 1ULL << k;
                }
        }
        return 0;
}

/* AppArmor and SELinux, as runc treats them: an AppArmor profile is entered at the exec
 * and is an error where AppArmor is off; SELinux labels are ignored where SELinux is off,
 * and refused where it is on (hawser does not label). */
static int plan_labels(const struct jv *proc, struct oci_plan *p, struct err *err)
{
        const char *aa = jv_get_str(proc, "apparmorProfile");
        const char *label = jv_get_str(proc, "selinuxLabel");
        const char *mount_label = jv_path(p->config, "linux.mountLabel")
                                          ? jv_str(jv_path(p->config, "linux.mountLabel"))
                                          : NULL;
        _cleanup_free_ char *on = NULL;

        p->oci.apparmor_profile = NULL;
        if (aa && *aa) {
                if (fs_read_file("/sys/module/apparmor/parameters/enabled", &on, NULL,
                                 &(struct err){0}) < 0 ||
                    on[0] != 'Y')
                        return err_set(err, -EINVAL,
                                       "apparmor profile %s is set but AppArmor is not enabled "
                                       "on this host",
                                       aa);
                p->oci.apparmor_profile = aa;
        }
        if (((label && *label) || (mount_label && *mount_label)) &&
            access("/sys/fs/selinux/enforce", F_OK) == 0)
                return err_set(err, -EINVAL, "SELinux labels are not supported by hawser");
        return 0;
}

static int plan_process(struct oci_plan *p, struct err *err)
{
        const struct jv *proc = jv_get(p->config, "process");
        const struct jv *caps = jv_get(proc, "capabilities");
        char **args = jv_to_strv(jv_get(proc, "args"));

        if (!proc || !args || !args[0]) {
                util_strv_free(args);
                return err_set(err, -EINVAL, "args must not be empty");
        }
        p->s.argv = args;
        p->env = jv_get(proc, "env") ? jv_to_strv(jv_get(proc, "env")) : calloc(1, sizeof(char *));
        if (!p->env)
                return err_set(err, -ENOMEM, "process.env");
        p->s.env = p->env;
        p->s.cwd = jv_get_str(proc, "cwd") ?: "/";
        if (p->s.cwd[0] != '/')
                return err_set(err, -EINVAL, "cwd property must be an absolute path");
        p->s.tty = jv_get_bool(proc, "terminal");
        p->s.no_new_privs = jv_get_bool(proc, "noNewPrivileges");
        p->caps = (struct launch_caps){
                cap_set(jv_get(caps, "bounding")), cap_set(jv_get(caps, "effective")),
                cap_set(jv_get(caps, "permitted")), cap_set(jv_get(caps, "inheritable")),
                cap_set(jv_get(caps, "ambient"))};
        p->s.caps = &p->caps;
        if (plan_labels(proc, p, err) < 0 || plan_sched(proc, p, err) < 0)
                return -err->code;
        p->has_oom_score_adj = jv_get(proc, "oomScoreAdj") != NULL;
        p->oom_score_adj = jv_get_int(proc, "oomScoreAdj", 0);
        if (plan_rlimits(jv_get(proc, "rlimits"), p, err) < 0)
                return -err->code;
        return plan_user(jv_get(proc, "user"), p, err);
}

/* ---- linux ---- */

static int join_ns(const char *type, const char *path, int *ret, struct err *err)
{
        int fd;

        /* Which one to join would be a guess, and the first one's fd would leak. */
        if (*ret >= 0)
                return err_set(err, -EINVAL, "the %s namespace is joined by path twice", type);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening the %s namespace %s", type, path);
        *ret = fd;
        return 0;
}

/* Namespaces the config does not list are the caller's, as in runc, but for the mount
 * namespace: the container always gets its own, where its root is set up (pivot_root in the
 * caller's would move the caller's root). */
static int plan_namespaces(const struct jv *nss, struct oci_plan *p, struct err *err)
{
        bool net = false, pid = false, ipc = false, uts = false, cgroup = false;

        for (size_t i = 0; i < jv_len(nss); i++) {
                const char *type = jv_get_str(jv_at(nss, i), "type") ?: "";
                const char *path = jv_get_str(jv_at(nss, i), "path");
                int r = 0;
                if (path && !*path)
                        path = NULL;
                if (!strcmp(type, "network"))
                        net = true, r = path ? join_ns(type, path, &p->ns_fds[0], err) : 0;
                else if (!strcmp(type, "pid"))
                        pid = true, r = path ? join_ns(type, path, &p->ns_fds[1], err) : 0;
                else if (!strcmp(type, "ipc"))
                        ipc = true, r = path ? join_ns(type, path, &p->ns_fds[2], err) : 0;
                else if (!strcmp(type, "uts") && path)
                        r = join_ns(type, path, &p->oci.utsns_fd, err);
                else if (!strcmp(type, "uts"))
                        uts = true;
                else if (!strcmp(type, "cgroup") && path)
                        r = join_ns(type, path, &p->oci.cgroupns_fd, err);
                else if (!strcmp(type, "cgroup"))
                        cgroup = true;
                else if (!strcmp(type, "user"))
                        r = 0; /* plan_userns's */
                else if (strcmp(type, "mount") || path)
                        r = err_set(err, -EINVAL, "namespace %s%s%s is not supported by hawser",
                                    type, path ? " joined by path " : "", path ? path : "");
                if (r < 0)
                        return r;
        }
        p->s.new_netns = net && p->ns_fds[0] < 0;
        p->s.netns_fd = p->ns_fds[0];
        p->s.pidns_fd = p->ns_fds[1];
        p->s.host_pid = !pid;
        p->s.ipcns_fd = p->ns_fds[2];
        p->s.host_ipc = !ipc;
        p->s.host_uts = !uts;
        p->s.host_cgroupns = !cgroup;
        p->own_pidns = pid && p->ns_fds[1] < 0;
        return 0;
}

static int plan_devices(const struct jv *devs, struct oci_plan *p, struct err *err)
{
        size_t n = jv_len(devs);

        p->devices.v = calloc(n + 1, sizeof(*p->devices.v));
        if (!p->devices.v)
                return err_set(err, -ENOMEM, "devices");
        for (size_t i = 0; i < n; i++) {
                const struct jv *d = jv_at(devs, i);
                const char *type = jv_get_str(d, "type") ?: "";
                const char *path = jv_get_str(d, "path");
                if (!path || path[0] != '/' ||
                    (strcmp(type, "c") && strcmp(type, "b") && strcmp(type, "u") &&
                     strcmp(type, "p")))
                        return err_set(err, -EINVAL, "device %s: bad path or type",
                                       path ? path : "(none)");
                p->devices.v[i] = (struct device_node){
                        .path = strdup(path),
                        .type = type[0] == 'b'   ? S_IFBLK
                                : type[0] == 'p' ? S_IFIFO
                                                 : S_IFCHR,
                        .major = (unsigned)jv_get_int(d, "major", 0),
                        .minor = (unsigned)jv_get_int(d, "minor", 0),
                        .mode = (mode_t)jv_get_int(d, "fileMode", 0666) & 07777,
                        .uid = (uid_t)jv_get_int(d, "uid", 0),
                        .gid = (gid_t)jv_get_int(d, "gid", 0),
                };
                p->devices.n = i + 1;
                if (!p->devices.v[i].path)
                        return err_set(err, -ENOMEM, "devices");
        }
        p->s.devices = p->devices.v;
        p->s.n_devices = p->devices.n;
        return 0;
}

static int plan_sysctl(const struct jv *sysctl, struct oci_plan *p, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(sysctl);

        p->sysctls = calloc(util_strv_len(keys) + 1, sizeof(char *));
        if (!p->sysctls)
                return err_set(err, -ENOMEM, "sysctl");
        for (size_t i = 0; keys && keys[i]; i++)
                if (!(p->sysctls[i] =
                              util_printf("%s=%s", keys[i], jv_get_str(sysctl, keys[i]) ?: "")))
                        return err_set(err, -ENOMEM, "sysctl");
        p->s.sysctls = p->sysctls;
        return 0;
}

static const char *const default_devices[] = {
        "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm",
        "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 5:2 rwm", "c 136:* rwm",
};

/* linux.resources.devices, in order after an implied "deny all" (the rules' usual first
 * entry): "c 1:3 rwm" allows, "deny c 1:3 m" denies. No rules: no device cgroup. */
static int device_rules(const struct jv *devs, struct cgroup_limits *l, struct err *err)
{
        if (!devs)
                return 0;
        if (!l->device_allow && !(l->device_allow = calloc(1, sizeof(char *))))
                return err_set(err, -ENOMEM, "devices");
        for (size_t i = 0; i < jv_len(devs); i++) {
                const struct jv *d = jv_at(devs, i);
                const char *type = jv_get_str(d, "type") ?: "a";
                const char *access = jv_get_str(d, "access") ?: "rwm";
                long long major = jv_get_int(d, "major", -1), minor = jv_get_int(d, "minor", -1);
                bool every = !strcmp(type, "a") && major < 0 && minor < 0;
                char maj[24] = "*", min[24] = "*";
                if ((strcmp(type, "a") && strcmp(type, "b") && strcmp(type, "c")) || !*access ||
                    strspn(access, "rwm") != strlen(access))
                        return err_set(err, -EINVAL, "device rule %zu: bad type %s or access %s", i,
                                       type, access);
                if (major >= 0)
                        snprintf(maj, sizeof(maj), "%lld", major);
                if (minor >= 0)
                        snprintf(min, sizeof(min), "%lld", minor);
                /* The v1 controller reads any line of type "a" as all devices, whatever its
                 * numbers: a rule of both types for some numbers is one of each. */
                for (const char *t = every || strcmp(type, "a") ? type : "cb"; *t; t++) {
                        _cleanup_free_ char *rule =
                                util_printf("%s%c %s:%s %s", jv_get_bool(d, "allow") ? "" : "deny ",
                                            *t, maj, min, access);
                        if (!rule || util_strv_push(&l->device_allow, rule) < 0)
                                return err_set(err, -ENOMEM, "devices");
                }
        }
        /* Then what every container gets, as runc appends it: mknod of any node (using one
         * is what the rules decide), and the standard nodes, the ptys among them. */
        for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
                if (util_strv_push(&l->device_allow, default_devices[i]) < 0)
                        return err_set(err, -ENOMEM, "devices");
        return 0;
}

/* linux.resources.blockIO's per-device weights and throttles. */
static int blkio_devices(const struct jv *bio, struct cgroup_limits *l, struct err *err)
{
        static const char *const keys[][2] = {{"weightDevice", "weight"},
                                              {"throttleReadBpsDevice", "read_bps"},
                                              {"throttleWriteBpsDevice", "write_bps"},
                                              {"throttleReadIOPSDevice", "read_iops"},
                                              {"throttleWriteIOPSDevice", "write_iops"}};

        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
                const struct jv *list = jv_get(bio, keys[k][0]);
                for (size_t i = 0; list && i < jv_len(list); i++) {
                        const struct jv *d = jv_at(list, i);
                        long long major = jv_get_int(d, "major", -1);
                        long long minor = jv_get_int(d, "minor", -1);
                        long long v = jv_get_int(d, k ? "rate" : "weight", -1);
                        _cleanup_free_ char *e = NULL;
                        if (major < 0 || minor < 0 || v < 0)
                                return err_set(err, -EINVAL,
                                               "blockIO %s entry %zu: bad major, minor or %s",
                                               keys[k][0], i, k ? "rate" : "weight");
                        e = util_printf("%s %lld:%lld %lld", keys[k][1], major, minor, v);
                        if (!e || util_strv_push(&l->blkio_dev, e) < 0)
                                return err_set(err, -ENOMEM, "blockIO");
                }
        }
        return 0;
}

/* linux.resources.network: classID (net_cls) and priorities (net_prio). */
static int net_resources(const struct jv *net, struct cgroup_limits *l, struct err *err)
{
        const struct jv *prios = jv_get(net, "priorities");

        l->net_classid = jv_get_int(net, "classID", 0);
        for (size_t i = 0; prios && i < jv_len(prios); i++) {
                const char *name = jv_get_str(jv_at(prios, i), "name");
                _cleanup_free_ char *line = NULL;
                if (!name || !*name || strchr(name, ' ') || strlen(name) > 15)
                        return err_set(err, -EINVAL, "network priority %zu: bad interface name", i);
                line = util_printf("%s %lld", name, jv_get_int(jv_at(prios, i), "priority", 0));
                if (!line || util_strv_push(&l->net_prio, line) < 0)
                        return err_set(err, -ENOMEM, "network priorities");
        }
        return 0;
}

/* linux.resources.hugepageLimits: [{"pageSize": "2MB", "limit": bytes}]. */
static int hugepage_limits(const struct jv *hp, struct cgroup_limits *l, struct err *err)
{
        if (!hp || !jv_len(hp))
                return 0;
        l->hugetlb = calloc(jv_len(hp) + 1, sizeof(char *));
        if (!l->hugetlb)
                return err_set(err, -ENOMEM, "hugepageLimits");
        for (size_t i = 0; i < jv_len(hp); i++) {
                const char *size = jv_get_str(jv_at(hp, i), "pageSize");
                if (!size || !*size || strlen(size) > 16 ||
                    strspn(size, "0123456789KMGB") != strlen(size))
                        return err_set(err, -EINVAL, "hugepageLimits: bad pageSize %s",
                                       size ? size : "(none)");
                l->hugetlb[i] = util_printf("%s=%lld", size, jv_get_int(jv_at(hp, i), "limit", 0));
                if (!l->hugetlb[i])
                        return err_set(err, -ENOMEM, "hugepageLimits");
        }
        return 0;
}

int oci_plan_resources(const struct jv *res, struct cgroup_limits *l, struct err *err)
{
        const struct jv *mem = jv_get(res, "memory"), *cpu = jv_get(res, "cpu");

        l->memory = jv_get_int(mem, "limit", 0);
        l->memory_swap = jv_get_int(mem, "swap", 0);
        l->memory_reservation = jv_get_int(mem, "reservation", 0);
        l->cpu_shares = jv_get_int(cpu, "shares", 0);
        l->cpu_quota = jv_get_int(cpu, "quota", 0);
        l->cpu_period = jv_get_int(cpu, "period", 0);
        l->cpuset_cpus = jv_get_str(cpu, "cpus");
        l->cpuset_mems = jv_get_str(cpu, "mems");
        l->pids_limit = jv_get_int(jv_get(res, "pids"), "limit", 0);
        l->blkio_weight = jv_get_int(jv_get(res, "blockIO"), "weight", 0);
        if (blkio_devices(jv_get(res, "blockIO"), l, err) < 0)
                return -err->code;
        l->oom_kill_disable = jv_get_bool(mem, "disableOOMKiller");
        l->has_swappiness = jv_get(mem, "swappiness") != NULL;
        l->swappiness = jv_get_int(mem, "swappiness", 0);
        if (l->has_swappiness && (l->swappiness < 0 || l->swappiness > 100))
                return err_set(err, -EINVAL, "swappiness %lld is not 0-100", l->swappiness);
        if (net_resources(jv_get(res, "network"), l, err) < 0)
                return -err->code;
        if (device_rules(jv_get(res, "devices"), l, err) < 0)
                return -err->code;
        return hugepage_limits(jv_get(res, "hugepageLimits"), l, err);
}

void oci_resources_free(struct cgroup_limits *l)
{
        util_strv_free(l->device_allow);
        util_strv_free(l->hugetlb);
        util_strv_free(l->net_prio);
        util_strv_free(l->blkio_dev);
        l->device_allow = l->hugetlb = l->net_prio = l->blkio_dev = NULL;
}

/* cgroupsPath "/a/b" is a/b under the hierarchy's root; without one, hawser's own level. */
static int plan_cgroup(const struct jv *linux_, const char *id, struct oci_plan *p, struct err *err)
{
        const char *cg = jv_get_str(linux_, "cgroupsPath");

        while (cg && *cg == '/')
                cg++;
        if (cg && strchr(cg, ':'))
                return err_set(err, -EINVAL,
                               "cgroupsPath %s is a systemd slice: systemd cgroups are not "
                               "supported by hawser",
                               cg);
        /* Below each hierarchy's root and nowhere else: it is created, written and shown to
         * the container. */
        for (const char *c = cg; c && *c; c += strcspn(c, "/"), c += *c == '/')
                if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2]))
                        return err_set(err, -EINVAL, "cgroupsPath %s: \"..\" is not allowed",
                                       jv_get_str(linux_, "cgroupsPath"));
        p->cgroup = cg && *cg ? strdup(cg) : util_printf("hawser/oci-%s", id);
        /* In every hierarchy, as runc puts it: engines read its accounting there. */
        p->limits.place = true;
        if (!p->cgroup)
                return err_set(err, -ENOMEM, "cgroupsPath");
        if (oci_plan_resources(jv_get(linux_, "resources"), &p->limits, err) < 0)
                return -err->code;
        /* No rules is not "every device": all are denied but the standard ones, as runc does
         * (a container with CAP_MKNOD could otherwise read the host's disks). */
        if (!p->limits.device_allow) {
                _cleanup_jv_ struct jv *none = jv_new_array();
                if (device_rules(none, &p->limits, err) < 0)
                        return -err->code;
        }
        /* With a device cgroup, /dev is not nodev: the rules decide, as with runc. */
        p->s.device_cgroup = p->limits.device_allow != NULL;
        /* The config's own device nodes are usable, as runc allows them. */
        for (size_t i = 0; p->limits.device_allow && i < p->devices.n; i++) {
                const struct device_node *d = &p->devices.v[i];
                if (d->type == S_IFIFO)
                        continue; /* a fifo is no device */
                _cleanup_free_ char *rule = util_printf(
                        "%c %u:%u rwm", d->type == S_IFBLK ? 'b' : 'c', d->major, d->minor);
                if (!rule || util_strv_push(&p->limits.device_allow, rule) < 0)
                        return err_set(err, -ENOMEM, "devices");
        }
        return 0;
}

/* uidMappings or gidMappings as the text of /proc/PID/uid_map ("0 100000 65536\n"). */
static char *id_map(const struct jv *maps, const char *what, struct err *err)
{
        struct util_buf b = {0};

        if (!jv_len(maps)) {
                err_set(err, -EINVAL, "a user namespace needs %s", what);
                return NULL;
        }
        for (size_t i = 0; i < jv_len(maps); i++) {
                const struct jv *m = jv_at(maps, i);
                long long c = jv_get_int(m, "containerID", -1), h = jv_get_int(m, "hostID", -1);
                long long n = jv_get_int(m, "size", 0);
                char line[96];
                if (c < 0 || h < 0 || n <= 0 || c > UINT32_MAX || h > UINT32_MAX ||
                    n > UINT32_MAX) {
                        util_buf_free(&b);
                        err_set(err, -EINVAL, "%s entry %zu: bad containerID, hostID or size", what,
                                i);
                        return NULL;
                }
                snprintf(line, sizeof(line), "%lld %lld %lld\n", c, h, n);
                util_buf_add(&b, line, strlen(line));
        }
        return b.s; /* the caller frees it */
}

/* A "user" namespace: a new one with the config's mappings (one joined by path is not
 * supported); mappings without one are an error, as in runc. */
static int plan_userns(const struct jv *lx, struct oci_plan *p, struct err *err)
{
        const struct jv *nss = jv_get(lx, "namespaces");
        bool user = false;

        for (size_t i = 0; i < jv_len(nss); i++) {
                const char *type = jv_get_str(jv_at(nss, i), "type") ?: "";
                const char *path = jv_get_str(jv_at(nss, i), "path");
                if (strcmp(type, "user"))
                        continue;
                if (path && *path)
                        return err_set(err, -EINVAL,
                                       "joining the user namespace %s by path is not supported "
                                       "by hawser",
                                       path);
                user = true;
        }
        if (!user && (jv_len(jv_get(lx, "uidMappings")) || jv_len(jv_get(lx, "gidMappings"))))
                return err_set(err, -EINVAL,
                               "user namespaces aren't enabled in the config, but uidMappings "
                               "or gidMappings are set");
        if (!user)
                return 0;
        p->uid_map = id_map(jv_get(lx, "uidMappings"), "uidMappings", err);
        p->gid_map = p->uid_map ? id_map(jv_get(lx, "gidMappings"), "gidMappings", err) : NULL;
        if (!p->gid_map)
                return -err->code;
        p->oci.uid_map = p->uid_map;
        p->oci.gid_map = p->gid_map;
        return 0;
}

/* linux.personality: LINUX (the default) or LINUX32; flags have no meaning on Linux yet. */
static int plan_personality(const struct jv *pers, struct oci_plan *p, struct err *err)
{
        const char *domain = jv_get_str(pers, "domain");

        if (!pers || !domain || !strcmp(domain, "LINUX"))
                return 0;
        if (strcmp(domain, "LINUX32"))
                return err_set(err, -EINVAL, "personality domain %s is not supported", domain);
        p->oci.personality_32 = true;
        return 0;
}

static int plan_linux(const char *id, struct oci_plan *p, struct err *err)
{
        const struct jv *lx = jv_get(p->config, "linux");
        const struct jv *seccomp = jv_get(lx, "seccomp");

        if (plan_namespaces(jv_get(lx, "namespaces"), p, err) < 0 || plan_userns(lx, p, err) < 0 ||
            plan_devices(jv_get(lx, "devices"), p, err) < 0 ||
            plan_sysctl(jv_get(lx, "sysctl"), p, err) < 0 || plan_cgroup(lx, id, p, err) < 0)
                return -err->code;
        if (plan_personality(jv_get(lx, "personality"), p, err) < 0)
                return -err->code;
        if (jv_get_str(lx, "rootfsPropagation")) {
                p->oci.rootfs_propagation = propagation_of(jv_get_str(lx, "rootfsPropagation"));
                if (!p->oci.rootfs_propagation)
                        return err_set(err, -EINVAL, "rootfsPropagation %s is not a propagation",
                                       jv_get_str(lx, "rootfsPropagation"));
        }
        /* Present but empty: nothing masked, as the config says. */
        p->masked = jv_to_strv(jv_get(lx, "maskedPaths"));
        p->readonly = jv_to_strv(jv_get(lx, "readonlyPaths"));
        if (!p->masked)
                p->masked = calloc(1, sizeof(char *));
        if (!p->readonly)
                p->readonly = calloc(1, sizeof(char *));
        if (!p->masked || !p->readonly)
                return err_set(err, -ENOMEM, "maskedPaths");
        p->s.masked_paths = p->masked;
        p->s.readonly_paths = p->readonly;
        /* OCI's seccomp object is the format of Docker's profiles (core/secprof.h). */
        if (seccomp) {
                p->seccomp = strdup(jv_to_string(seccomp, false));
                if (!p->seccomp)
                        return err_set(err, -ENOMEM, "seccomp");
                p->s.seccomp = true;
                p->s.seccomp_profile = p->seccomp;
        }
        return 0;
}

int oci_plan_load(const char *bundle, const char *id, struct oci_plan *p, struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/config.json", bundle);
        const char *root;

        *p = (struct oci_plan){.ns_fds = {-1, -1, -1}, .oci = {.utsns_fd = -1, .cgroupns_fd = -1}};
        if (!path)
                return err_set(err, -ENOMEM, "config.json");
        if (jv_load(path, &p->config, err) < 0)
                return err_wrap(err, "JSON specification file config.json not found or invalid");
        root = jv_path(p->config, "root.path") ? jv_str(jv_path(p->config, "root.path")) : NULL;
        if (!root || !*root)
                return err_set(err, -EINVAL, "root.path is empty");
        p->rootfs = bundle_path(bundle, root);
        if (!p->rootfs)
                return err_set(err, -ENOMEM, "root.path");
        p->s = (struct launch_spec){
                .id = id,
                .rootfs = p->rootfs,
                .hostname = jv_get_str(p->config, "hostname"),
                .read_only = jv_get_bool(jv_get(p->config, "root"), "readonly"),
                .stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO},
                .shm_fd = -1,
                .detach = true,
                .oci = &p->oci,
        };
        if (plan_process(p, err) < 0 || plan_mounts(bundle, p, err) < 0 ||
            plan_linux(id, p, err) < 0)
                return -err->code;
        return 0;
}

int oci_plan_set_process(struct oci_plan *p, struct jv *process, struct err *err)
{
        util_strv_free(p->s.argv);
        util_strv_free(p->env);
        util_strv_free(p->group_add);
        free(p->rlimits);
        free(p->user);
        p->s.argv = p->env = p->group_add = NULL;
        p->rlimits = NULL;
        p->user = NULL;
        jv_set(p->config, "process", process);
        return plan_process(p, err);
}

void oci_plan_free(struct oci_plan *p)
{
        for (size_t i = 0; p->mounts && i < p->s.n_mounts; i++) {
                free((char *)p->mounts[i].source);
                free((char *)p->mounts[i].data);
        }
        free(p->mounts);
        devices_free(&p->devices);
        free(p->rlimits);
        util_strv_free(p->s.argv);
        util_strv_free(p->env);
        util_strv_free(p->group_add);
        util_strv_free(p->sysctls);
        util_strv_free(p->masked);
        util_strv_free(p->readonly);
        free(p->user);
        free(p->seccomp);
        free(p->cgroup);
        free(p->uid_map);
        free(p->gid_map);
        oci_resources_free(&p->limits);
        free(p->rootfs);
        for (int i = 0; i < 3; i++)
                if (p->ns_fds[i] >= 0)
                        close(p->ns_fds[i]);
        if (p->oci.utsns_fd >= 0)
                close(p->oci.utsns_fd);
        if (p->oci.cgroupns_fd >= 0)
                close(p->oci.cgroupns_fd);
        jv_put(p->config);
        *p = (struct oci_plan){.ns_fds = {-1, -1, -1}, .oci = {.utsns_fd = -1, .cgroupns_fd = -1}};
}
