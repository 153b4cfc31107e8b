#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/openat2.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "image.h"
#include "launch.h"
#include "logfile.h"
#include "dnsd.h"
#include "events.h"
#include "gzip.h"
#include "health.h"
#include "devices.h"
#include "selfexe.h"
#include "monitor.h"
#include "mountspec.h"
#include "network.h"
#include "proxy.h"
#include "secprof.h"
#include "teardown.h"
#include "volume.h"

#define MAX_CLIENTS 64

struct monitor {
        const struct cli *cli;
        struct container *c;
        struct launch l;
        int epfd, sigfd, listen_fd;
        int out_fd, err_fd; /* container output (pty master in out_fd when tty) */
        int in_fd;          /* container input (pty master or pipe), -1 when closed */
        int clients[MAX_CLIENTS];
        bool tty, stdin_once;
        int log_fd;
        char *log_path;
        long long log_max;          /* --log-opt max-size (0: no rotation) */
        int log_files;              /* --log-opt max-file */
        bool log_compress;          /* --log-opt compress (the local driver's default) */
        struct network_hold hold;   /* published host ports, held while the container runs */
        bool attached;              /* wired into its networks (NetworkSettings in c->doc) */
        int lock;                   /* the container's lock, held from the start to "running" */
        struct network_links links; /* its --links, resolved once for the whole start */
        int dns_fd;                 /* inotify on the DNS servers' locks of its networks */
        int64_t started_ns;         /* when the current run began (restart backoff) */
        int backoff_ms;             /* the restart policy's next delay */
        struct health health;       /* its healthcheck, run from here */
        bool exit_told;             /* the last exit's events are logged (a restart's wait) */
        int vol_locks[16];          /* its volumes' locks, held from their mount to "running" */
        size_t n_vol_locks;
};

char *monitor_socket_path(const struct cli *cli, const char *id)
{
        return cli_runroot_path(cli, "containers/%.12s/attach.sock", id);
}

char *monitor_log_path(const struct container *c)
{
        return util_printf("%s/%s-json.log", c->dir, c->id);
}

/* ---- the launch spec, from the state document ---- */

struct spec_buf {
        struct launch_spec s;
        char *lower, *upper, *work, *rootfs, *hosts, *hostname, *resolv;
        char **argv, **env, **cap_add, **cap_drop, **group_add, **sysctls;
        int netns_fd, pidns_fd, ipcns_fd, shm_fd;
        struct secprof_bpf bpf;
        struct launch_mount *mounts;
        char **mount_data;           /* tmpfs data strings owned here */
        char **cgroup_views;         /* the container's cgroups for its /sys/fs/cgroup */
        struct cgroup_limits limits; /* from HostConfig (device_allow: launch's) */
        struct device_list devices;
        struct launch_rlimit *rlimits;
};

static void spec_buf_free(struct spec_buf *b)
{
        free(b->lower), free(b->upper), free(b->work), free(b->rootfs);
        free(b->hosts), free(b->hostname), free(b->resolv);
        util_strv_free(b->argv), util_strv_free(b->env);
        util_strv_free(b->cap_add), util_strv_free(b->cap_drop), util_strv_free(b->group_add);
        util_strv_free(b->cgroup_views);
        secprof_bpf_free(&b->bpf);
        if (b->netns_fd > 0)
                close(b->netns_fd);
        if (b->pidns_fd > 0)
                close(b->pidns_fd);
        if (b->ipcns_fd > 0)
                close(b->ipcns_fd);
        util_strv_free(b->sysctls);
        if (b->shm_fd > 0)
                close(b->shm_fd);
        free(b->mounts);
        util_strv_free(b->mount_data);
        devices_free(&b->devices);
        free(b->rlimits);
}

/* --privileged: every host device; else the --device grants (looked at now, as Docker). */
static int build_devices(const struct container *c, struct spec_buf *b, struct err *err)
{
        const struct jv *hc = jv_get(c->doc, "HostConfig"), *ds = jv_get(hc, "Devices");
        int r = 0;

        if (jv_get_bool(hc, "Privileged"))
                r = devices_gather_host(&b->devices, err);
        for (size_t i = 0; r >= 0 && i < jv_len(ds); i++) {
                const struct jv *d = jv_at(ds, i);
                const char *host = jv_get_str(d, "PathOnHost"),
                           *ctr = jv_get_str(d, "PathInContainer");

                if (!host || !ctr || ctr[0] != '/')
                        return err_set(err, -EINVAL, "container %.12s: invalid device entry %zu",
                                       c->id, i);
                r = devices_gather(host, ctr, &b->devices, err);
        }
        b->s.devices = b->devices.v;
        b->s.n_devices = b->devices.n;
        return r;
}

static int mount_depth(const char *p)
{
        int n = 0;

        for (; *p; p++)
                n += *p == '/';
        return n;
}

static int by_depth(const void *a, const void *b)
{
        const struct launch_mount *x = a, *y = b;

        return mount_depth(x->target) - mount_depth(y->target);
}

/* The container's Mounts, parents before children (Docker sorts by path depth). */
static int build_mounts(const struct container *c, struct spec_buf *b, struct err *err)
{
        const struct jv *ms = jv_get(c->doc, "Mounts");
        size_t n = jv_len(ms);

        b->mounts = calloc(n + 1, sizeof(*b->mounts));
        if (!b->mounts)
                return err_set(err, -ENOMEM, "preparing mounts");
        for (size_t i = 0; i < n; i++) {
                const struct jv *m = jv_at(ms, i);
                const char *type = jv_get_str(m, "Type") ?: "";
                struct launch_mount *l = &b->mounts[i];
                l->source = jv_get_str(m, "Source");
                l->target = jv_get_str(m, "Destination");
                l->readonly = !jv_get_bool(m, "RW");
                if (!strcmp(type, "tmpfs")) {
                        char *data = NULL;
                        l->tmpfs = true;
                        l->source = NULL;
                        if (mountspec_tmpfs_options(jv_get_str(m, "TmpfsOptions"), &l->flags, &data,
                                                    err) < 0)
                                return -err->code;
                        util_strv_push(&b->mount_data, data ?: "");
                        l->data = b->mount_data[util_strv_len(b->mount_data) - 1];
                        free(data);
                }
        }
        /* Docker's /sys/fs/cgroup: the container's own cgroups, read-only unless privileged
         * (made now: the init mounts them while it is being placed); a mount of the user's
         * there is used instead. */
        cgroup_limits_of(jv_get(c->doc, "HostConfig"), &b->limits);
        if (!launch_mount_at(b->mounts, n, "/sys/fs/cgroup")) {
                b->cgroup_views = cgroup_views(c->cgroup, &b->limits, err);
                if (!b->cgroup_views && err->code)
                        return -err->code;
        }
        /* Without a limit there is nothing to read there: no mount, no cost. */
        if (b->cgroup_views) {
                b->mounts[n++] = (struct launch_mount){
                        .target = "/sys/fs/cgroup",
                        .cgroup_own = true,
                        .cgroup_views = b->cgroup_views,
                        .readonly = !jv_get_bool(jv_get(c->doc, "HostConfig"), "Privileged")};
        }
        qsort(b->mounts, n, sizeof(*b->mounts), by_depth);
        b->s.mounts = b->mounts;
        b->s.n_mounts = n;
        return 0;
}

/* A namespace (ns: "net", "pid", "ipc") of the running container ref, opened for this
 * container to join; *ret_x is ref (the caller frees it), *ret_pid its init. what names it in
 * Docker's message ("cannot join network of a non running container: ID"). */
static int open_container_ns(const struct cli *cli, const char *ref, const char *ns,
                             const char *what, int *ret_fd, struct container **ret_x,
                             pid_t *ret_pid, struct err *err)
{
        struct container *x = NULL;
        pid_t pid = 0;
        long long start = 0;
        char p[64];
        /* Reconciled: X's state may be stale (its monitor killed since this one's create). */
        int r = teardown_find(cli, ref, &x, err);

        if (r >= 0) {
                pid = (pid_t)jv_get_int(jv_get(x->doc, "State"), "Pid", 0);
                start = jv_get_int(jv_get(x->doc, "Hawser"), "InitStart", 0);
        }
        if (r >= 0 && (!container_is_live(x) || !util_pid_alive(pid, start)))
                r = err_set(err, -EINVAL, "cannot join %s of a non running container: %s", what,
                            x->id);
        if (r >= 0) {
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns);
                *ret_fd = open(p, O_RDONLY | O_CLOEXEC);
                if (*ret_fd < 0)
                        r = err_errno(err, "opening the %s namespace of %s", what, ref);
        }
        /* The pid is still X's init (not reused between the check and the open): the
         * namespace is X's. */
        if (r >= 0 && !util_pid_alive(pid, start))
                r = err_set(err, -EINVAL, "cannot join %s of a non running container: %s", what,
                            x->id);
        if (r < 0) {
                container_free(x);
                return r;
        }
        *ret_x = x;
        *ret_pid = pid;
        return 0;
}

/* --network container:X: share X's network namespace and its hosts, hostname and resolv.conf
 * files (its hostname is in this container's Config since create). */
static int join_container_net(const struct cli *cli, const char *ref, struct spec_buf *b,
                              struct err *err)
{
        struct container *x = NULL;
        pid_t pid;
        int r = open_container_ns(cli, ref, "net", "network", &b->netns_fd, &x, &pid, err);

        if (r < 0)
                return r;
        free(b->hosts), free(b->resolv), free(b->hostname);
        b->hosts = strdup(jv_get_str(x->doc, "HostsPath") ?: "");
        b->resolv = strdup(jv_get_str(x->doc, "ResolvConfPath") ?: "");
        b->hostname = strdup(jv_get_str(x->doc, "HostnamePath") ?: "");
        b->s.hosts_path = b->hosts;
        b->s.resolv_path = b->resolv;
        b->s.hostname_path = b->hostname;
        b->s.netns_fd = b->netns_fd;
        b->s.new_netns = false;
        container_free(x);
        return 0;
}

/* X's /dev/shm, for --ipc container:X: a copy of its mount taken from inside its mount
 * namespace (a helper joins it) as a detached tree the container's init attaches. The
 * tmpfs is the same: both containers see the same files. X's processes could have changed
 * what dev/shm names under their root (a chroot into a tree of symlinks): it is resolved
 * beneath that root without following any link, must be a tmpfs mount's root, and X's init
 * must still be the one checked (start ticks), or nothing is taken. */
static int open_shm_of(pid_t xpid, long long xstart, int *ret_fd, struct err *err)
{
        int sv[2], code = 125, r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return err_errno(err, "creating a socket");
        pid = fork();
        if (pid < 0) {
                close(sv[0]), close(sv[1]);
                return err_errno(err, "forking");
        }
        if (pid == 0) {
                struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                                  RESOLVE_NO_MAGICLINKS};
                struct err e = {0};
                struct statfs sf;
                struct stat shm, dev;
                char p[64], rp[64];
                int ns, root, devfd, shmfd, tree;
                close(sv[0]);
                snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)xpid);
                snprintf(rp, sizeof(rp), "/proc/%d/root", (int)xpid);
                ns = open(p, O_RDONLY | O_CLOEXEC);
                root = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (ns < 0 || root < 0 || !util_pid_alive(xpid, xstart) ||
                    setns(ns, CLONE_NEWNS) < 0) {
                        err_errno(&e, "joining the mount namespace of the IPC container");
                        launch_send_error(sv[1], 125, &e);
                        _exit(1);
                }
                /* dev, then shm, beneath the root without a link: shm must be a mount of
                 * its own (another device than dev's) that is a tmpfs. */
                devfd = (int)syscall(SYS_openat2, root, "dev", &how, sizeof(how));
                shmfd = devfd >= 0 ? (int)syscall(SYS_openat2, devfd, "shm", &how, sizeof(how))
                                   : -1;
                if (shmfd < 0 || fstat(devfd, &dev) < 0 || fstat(shmfd, &shm) < 0 ||
                    fstatfs(shmfd, &sf) < 0 || sf.f_type != TMPFS_MAGIC ||
                    shm.st_dev == dev.st_dev) {
                        err_set(&e, -EPERM,
                                "the IPC container's /dev/shm is not its shared memory mount");
                        launch_send_error(sv[1], 125, &e);
                        _exit(1);
                }
                tree = open_tree(shmfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (tree < 0 || launch_send_fd(sv[1], tree) < 0) {
                        err_errno(&e, "taking the IPC container's /dev/shm");
                        launch_send_error(sv[1], 125, &e);
                        _exit(1);
                }
                _exit(0);
        }
        close(sv[1]);
        *ret_fd = -1;
        while ((r = launch_recv_result(sv[0], &code, ret_fd, err)) == 1)
                ;
        close(sv[0]);
        waitpid(pid, NULL, 0);
        if (r >= 0 && *ret_fd < 0)
                r = err_set(err, -EIO, "the IPC container's /dev/shm was not received");
        return r;
}

/* --pid, --ipc, --uts, --cgroupns and --sysctl: the host's namespaces or another
 * container's (X running, and for IPC shareable, as Docker requires), the sysctls. */
static int build_namespaces(const struct cli *cli, const struct container *c, struct spec_buf *b,
                            struct err *err)
{
        const struct jv *hc = jv_get(c->doc, "HostConfig"), *sc = jv_get(hc, "Sysctls");
        const char *pid = jv_get_str(hc, "PidMode") ?: "", *ipc = jv_get_str(hc, "IpcMode") ?: "";
        _cleanup_strv_ char **keys = jv_keys(sc);
        struct container *x = NULL;
        pid_t xpid;
        int r;

        b->s.host_pid = !strcmp(pid, "host");
        b->s.host_uts = !strcmp(jv_get_str(hc, "UTSMode") ?: "", "host");
        b->s.host_cgroupns = !strcmp(jv_get_str(hc, "CgroupnsMode") ?: "", "host");
        if (!strncmp(pid, "container:", 10)) {
                r = open_container_ns(cli, pid + 10, "pid", "PID", &b->pidns_fd, &x, &xpid, err);
                if (r < 0)
                        return r;
                container_free(x);
                b->s.pidns_fd = b->pidns_fd;
        }
        if (!strcmp(ipc, "host")) {
                b->s.host_ipc = true;
                b->s.shm_source = "/dev/shm";
        } else if (!strcmp(ipc, "none")) {
                b->s.shm_source = "";
        } else if (!strncmp(ipc, "container:", 10)) {
                const char *xmode;
                r = open_container_ns(cli, ipc + 10, "ipc", "IPC", &b->ipcns_fd, &x, &xpid, err);
                if (r < 0)
                        return r;
                xmode = jv_str(jv_path(x->doc, "HostConfig.IpcMode")) ?: "";
                if (strcmp(xmode, "shareable") && strcmp(xmode, "host"))
                        r = err_set(err, -EINVAL,
                                    "non-shareable IPC (hint: use IpcMode:shareable for the donor "
                                    "container)");
                if (r >= 0 && !strcmp(xmode, "host"))
                        b->s.shm_source = "/dev/shm";
                else if (r >= 0)
                        r = open_shm_of(xpid, jv_get_int(jv_get(x->doc, "Hawser"), "InitStart", 0),
                                        &b->shm_fd, err);
                container_free(x);
                if (r < 0)
                        return r;
                b->s.ipcns_fd = b->ipcns_fd;
                b->s.shm_fd = b->shm_fd;
        }
        for (char **k = keys; k && *k; k++) {
                _cleanup_free_ char *kv = util_printf("%s=%s", *k, jv_get_str(sc, *k) ?: "");
                if (!kv || util_strv_push(&b->sysctls, kv) < 0)
                        return err_set(err, -ENOMEM, "preparing sysctls");
        }
        b->s.sysctls = b->sysctls;
        return 0;
}

/* Whether fd (a namespace) is the one this process is in, of that kind. */
static bool ns_is_own(int fd, const char *kind)
{
        char p[32];
        struct stat a, own;

        snprintf(p, sizeof(p), "/proc/self/ns/%s", kind);
        return fd >= 0 && fstat(fd, &a) == 0 && stat(p, &own) == 0 && a.st_ino == own.st_ino &&
               a.st_dev == own.st_dev;
}

/* A --sysctl only ever writes the container's own namespaces: a joined X that shares the
 * host's network or IPC namespace (--network container:X of a --network host X) would make
 * it the host's, which create refuses for --network host and --ipc host. */
static int sysctls_stay_inside(const struct spec_buf *b, struct err *err)
{
        bool host_net = ns_is_own(b->s.netns_fd, "net"),
             host_ipc = b->s.host_ipc || ns_is_own(b->s.ipcns_fd, "ipc");

        for (char **kv = b->sysctls; kv && *kv; kv++) {
                size_t n = strcspn(*kv, "=");
                bool net = !strncmp(*kv, "net.", 4);
                if (net ? host_net : host_ipc)
                        return err_set(err, -EINVAL,
                                       "sysctl \"%.*s\" not allowed in host %s namespace", (int)n,
                                       *kv, net ? "network" : "IPC");
        }
        return 0;
}

/* HostConfig.Ulimits [{Name, Soft, Hard}] as setrlimit calls (names checked at create). */
static int build_rlimits(const struct container *c, struct spec_buf *b, struct err *err)
{
        const struct jv *u = jv_path(c->doc, "HostConfig.Ulimits");
        size_t n = jv_len(u);

        if (!n)
                return 0;
        b->rlimits = calloc(n, sizeof(*b->rlimits));
        if (!b->rlimits)
                return err_set(err, -ENOMEM, "reading ulimits");
        for (size_t i = 0; i < n; i++) {
                const struct jv *e = jv_at(u, i);
                int res = launch_rlimit_resource(jv_get_str(e, "Name"));
                if (res < 0)
                        return err_set(err, -EINVAL, "invalid ulimit type: %s",
                                       jv_get_str(e, "Name") ?: "");
                b->rlimits[b->s.n_rlimits++] =
                        (struct launch_rlimit){res, (unsigned long long)jv_get_int(e, "Soft", 0),
                                               (unsigned long long)jv_get_int(e, "Hard", 0)};
        }
        b->s.rlimits = b->rlimits;
        return 0;
}

static int build_spec(const struct cli *cli, const struct container *c,
                      const struct network_links *links, struct spec_buf *b, struct err *err)
{
        const struct jv *cfg = jv_get(c->doc, "Config"), *hc = jv_get(c->doc, "HostConfig");
        const char *net = jv_get_str(hc, "NetworkMode"), *target;
        struct secprof sp;

        /* The stack recorded at create time: an image force-removed since then keeps its
         * layers for this container. */
        const char *lower = jv_str(jv_path(c->doc, "GraphDriver.Data.LowerDir"));

        if (!lower)
                return err_set(err, -ENOENT, "container %.12s has no image layers", c->id);
        b->lower = strdup(lower);
        b->upper = util_printf("%s/upper", c->dir);
        b->work = util_printf("%s/work", c->dir);
        b->rootfs = util_printf("%s/merged", c->dir);
        b->hosts = util_printf("%s/hosts", c->dir);
        b->hostname = util_printf("%s/hostname", c->dir);
        b->resolv = util_printf("%s/resolv.conf", c->dir);
        b->argv = calloc(1, sizeof(char *));
        if (b->argv)
                util_strv_push(&b->argv, jv_get_str(c->doc, "Path"));
        for (size_t i = 0; b->argv && i < jv_len(jv_get(c->doc, "Args")); i++)
                util_strv_push(&b->argv, jv_str(jv_at(jv_get(c->doc, "Args"), i)));
        b->env = jv_to_strv(jv_get(cfg, "Env"));
        /* Docker puts HOSTNAME in the process environment (not in Config.Env). */
        if (b->env && !util_env_has(b->env, "HOSTNAME")) {
                _cleanup_free_ char *h =
                        util_printf("HOSTNAME=%s", jv_get_str(cfg, "Hostname") ?: "");
                if (h)
                        util_strv_push(&b->env, h);
        }
        if (b->env && network_link_env(cli, c, links, &b->env, err) < 0)
                return -err->code;
        b->cap_add = jv_to_strv(jv_get(hc, "CapAdd"));
        b->group_add = jv_to_strv(jv_get(hc, "GroupAdd"));
        b->cap_drop = jv_to_strv(jv_get(hc, "CapDrop"));
        if (secprof_parse(jv_get(hc, "SecurityOpt"), &sp, err) < 0)
                return -err->code;
        {
                _cleanup_free_ char *cache = cli_runroot_path(cli, "seccomp");

                secprof_prepare(&sp, jv_get_bool(hc, "Privileged"), b->cap_add, b->cap_drop, cache,
                                &b->bpf);
        }
        if (!b->upper || !b->work || !b->rootfs || !b->hosts || !b->hostname || !b->resolv ||
            !b->argv || !b->env || !b->cap_add || !b->cap_drop)
                return err_set(err, -ENOMEM, "preparing container %.12s", c->id);
        b->s = (struct launch_spec){
                .id = c->id,
                .lowerdir = b->lower,
                .upperdir = b->upper,
                .workdir = b->work,
                .rootfs = b->rootfs,
                .hostname = jv_get_str(cfg, "Hostname"),
                .domainname = jv_get_str(cfg, "Domainname"),
                .argv = b->argv,
                .env = b->env,
                .cwd = jv_get_str(cfg, "WorkingDir"),
                .user = jv_get_str(cfg, "User"),
                .tty = jv_get_bool(cfg, "Tty"),
                .read_only = jv_get_bool(hc, "ReadonlyRootfs"),
                .privileged = jv_get_bool(hc, "Privileged"),
                .seccomp = sp.seccomp,
                .seccomp_profile = sp.profile,
                .seccomp_bpf = b->bpf.len ? &b->bpf : NULL,
                .no_new_privs = sp.no_new_privs,
                .init = jv_get_bool(hc, "Init"),
                .shm_size = jv_get_int(hc, "ShmSize", 0),
                .new_netns = network_mode_parse(net, NULL) != NETWORK_MODE_HOST,
                .cap_add = b->cap_add,
                .cap_drop = b->cap_drop,
                .group_add = b->group_add,
                .hosts_path = b->hosts,
                .hostname_path = b->hostname,
                .resolv_path = b->resolv,
                .stdio = {-1, -1, -1},
                .netns_fd = -1,
                .pidns_fd = -1,
                .ipcns_fd = -1,
                .shm_fd = -1,
                .device_cgroup = jv_len(jv_get(hc, "DeviceCgroupRules")) > 0,
                .title = cli->argv_area,
                .title_len = cli->argv_len,
        };
        if (build_mounts(c, b, err) < 0 || build_devices(c, b, err) < 0 ||
            build_rlimits(c, b, err) < 0 || build_namespaces(cli, c, b, err) < 0)
                return -err->code;
        if (network_mode_parse(net, &target) == NETWORK_MODE_CONTAINER &&
            join_container_net(cli, target, b, err) < 0)
                return -err->code;
        return sysctls_stay_inside(b, err);
}

/* ---- output fan-out ---- */

static void drop_client(struct monitor *m, int i)
{
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->clients[i], NULL);
        close(m->clients[i]);
        m->clients[i] = -1;
}

static void broadcast(struct monitor *m, char type, const void *data, size_t len)
{
        char buf[MONITOR_CHUNK + 1];

        buf[0] = type;
        memcpy(buf + 1, data, len);
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (m->clients[i] >= 0 && send(m->clients[i], buf, len + 1, MSG_NOSIGNAL) < 0)
                        drop_client(m, i);
}

/* Reads once from an output fd; returns false at EOF (or EIO of a pty without slaves). */
/* A max-size value ("10m", "1k", "512"): bytes, 1024-based as Docker's. */
static long long log_size(const char *s)
{
        char *end;
        double v = strtod(s, &end);
        const char *units = "bkmgt";
        const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : units;
        long long mult = 1;

        for (const char *p = units; u && p < u; p++)
                mult *= 1024;
        return u && v > 0 ? (long long)(v * (double)mult) : 0;
}

/* LOG.1 compressed into LOG.1.gz (--log-opt compress), in a child: libarchive is loaded
 * there, never into the monitor. A failure leaves LOG.1 as it is (logs reads both). */
static void compress_rotated(const char *log_path)
{
        pid_t pid = fork();

        if (pid == 0) {
                char src[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
                struct err e = {0};
                int in, out;
                snprintf(src, sizeof(src), "%s.1", log_path);
                snprintf(tmp, sizeof(tmp), "%s.1.gz.tmp", log_path);
                snprintf(dst, sizeof(dst), "%s.1.gz", log_path);
                in = open(src, O_RDONLY | O_CLOEXEC);
                out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
                if (in < 0 || out < 0 || gzip_file(in, out, &e) < 0 || fsync(out) < 0 ||
                    rename(tmp, dst) < 0) {
                        unlink(tmp);
                        _exit(1);
                }
                unlink(src);
                _exit(0);
        }
        if (pid > 0)
                waitpid(pid, NULL, 0);
}

/* --log-opt max-size/max-file: once the log reaches max-size it becomes LOG.1 (LOG.1 becomes
 * LOG.2, ...; the oldest beyond max-file goes) and a new LOG is started; with compress the
 * rotated ones are LOG.N.gz. */
static void rotate_log(struct monitor *m)
{
        struct stat st;
        int fd;

        if (!m->log_max || m->log_fd < 0 || fstat(m->log_fd, &st) < 0 || st.st_size < m->log_max)
                return;
        if (m->log_files <= 1) {
                (void)ftruncate(m->log_fd, 0);
                return;
        }
        for (int k = m->log_files - 1; k >= 1; k--) {
                char from[PATH_MAX], to[PATH_MAX], fromgz[PATH_MAX + 3], togz[PATH_MAX + 3];
                if (k == 1)
                        snprintf(from, sizeof(from), "%s", m->log_path);
                else
                        snprintf(from, sizeof(from), "%s.%d", m->log_path, k - 1);
                snprintf(to, sizeof(to), "%s.%d", m->log_path, k);
                snprintf(fromgz, sizeof(fromgz), "%s.gz", from);
                snprintf(togz, sizeof(togz), "%s.gz", to);
                /* Each step moves one file, compressed or not, and drops the other form. */
                if (k > 1 && rename(fromgz, togz) == 0)
                        (void)unlink(to);
                else if (rename(from, to) == 0)
                        (void)unlink(togz);
        }
        fd = open(m->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd >= 0) {
                dup2(fd, m->log_fd); /* keeps the descriptor number */
                close(fd);
        }
        if (m->log_compress)
                compress_rotated(m->log_path);
}

static bool pump_output(struct monitor *m, int fd, char type)
{
        char buf[MONITOR_CHUNK];
        ssize_t n;

        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return true;
        if (n <= 0)
                return false;
        if (!m->log_max) {
                logfile_append(m->log_fd, type == MONITOR_STDERR ? "stderr" : "stdout", buf,
                               (size_t)n);
        } else {
                /* Line by line, so each file stays near max-size (Docker checks per message). */
                for (ssize_t off = 0; off < n;) {
                        const char *nl = memchr(buf + off, '\n', (size_t)(n - off));
                        size_t len = nl ? (size_t)(nl - (buf + off)) + 1 : (size_t)(n - off);
                        logfile_append(m->log_fd, type == MONITOR_STDERR ? "stderr" : "stdout",
                                       buf + off, len);
                        rotate_log(m);
                        off += (ssize_t)len;
                }
        }
        broadcast(m, type, buf, (size_t)n);
        return true;
}

static void close_input(struct monitor *m)
{
        if (m->in_fd < 0 || m->tty)
                return;
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->in_fd, NULL);
        close(m->in_fd);
        m->in_fd = -1;
}

static void client_input(struct monitor *m, int i)
{
        char buf[MONITOR_CHUNK + 1];
        ssize_t n = recv(m->clients[i], buf, sizeof(buf), 0);

        if (n <= 0) {
                drop_client(m, i);
                return;
        }
        switch (buf[0]) {
        case MONITOR_STDIN:
                if (m->in_fd >= 0 && fs_write_all(m->in_fd, buf + 1, (size_t)n - 1) < 0)
                        close_input(m);
                break;
        case MONITOR_CLOSE:
                if (m->stdin_once)
                        close_input(m);
                break;
        case MONITOR_RESIZE:
                if (m->tty && n == 5) {
                        uint16_t rc[2];
                        memcpy(rc, buf + 1, sizeof(rc));
                        ioctl(m->out_fd, TIOCSWINSZ,
                              &(struct winsize){.ws_row = rc[0], .ws_col = rc[1]});
                }
                break;
        default:
                break;
        }
}

static int add_client(struct monitor *m, int fd)
{
        for (int i = 0; i < MAX_CLIENTS; i++) {
                if (m->clients[i] >= 0)
                        continue;
                m->clients[i] = fd;
                epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd,
                          &(struct epoll_event){.events = EPOLLIN, .data.u64 = 100 + (unsigned)i});
                return 0;
        }
        close(fd);
        return -ENOSPC;
}

enum { EV_SIGNAL = 1, EV_LISTEN, EV_OUT, EV_ERR, EV_DNS, EV_HEALTH, EV_PROBE, EV_PROXY = 1000 };

static void watch(struct monitor *m, int fd, uint64_t tag)
{
        if (fd >= 0)
                epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd,
                          &(struct epoll_event){.events = EPOLLIN, .data.u64 = tag});
}

static int listen_socket(const struct cli *cli, const char *id, struct err *err)
{
        _cleanup_free_ char *path = monitor_socket_path(cli, id);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        char *slash;

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "attach socket path too long: %s", path);
        slash = strrchr(path, '/');
        *slash = '\0';
        if (fs_mkdir_p(path, 0700, err) < 0)
                return -err->code;
        *slash = '/';
        unlink(path);
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return err_errno(err, "creating attach socket %s", path);
        return TAKE_FD(fd);
}

/* ---- state transitions ---- */

/* The start runs under the container's lock (taken once, with the document read afresh):
 * nothing else changes the document meanwhile, so the state is saved once at the end. */
/* Names of its volumes, sorted and each once (locks are taken in this order). */
static char **volume_names(const struct container *c)
{
        const struct jv *ms = jv_get(c->doc, "Mounts");
        char **v = NULL;

        for (size_t i = 0; i < jv_len(ms); i++) {
                const struct jv *mt = jv_at(ms, i);
                const char *name = jv_get_str(mt, "Name");
                if (!strcmp(jv_get_str(mt, "Type") ?: "", "volume") && name &&
                    !util_strv_contains(v, name))
                        util_strv_push(&v, name);
        }
        util_strv_sort(v);
        return v;
}

/* Mounts its volumes that have driver options (volume_mount), each under its lock, kept
 * until the state says running: a last user stopping meanwhile finds this one live and
 * leaves the mount (volume locks come before the container's). Docker's run exit codes for
 * a mount that fails: 127 for a missing device, 126 for a refused one. */
static int mount_volumes(struct monitor *m, int *ret_code, struct err *err)
{
        _cleanup_strv_ char **names = volume_names(m->c);

        for (char **n = names; n && *n; n++) {
                /* A plain volume is a directory: no lock, no mount (the start's fast path). */
                int lock, r = volume_has_options(m->cli, *n, err);
                if (r < 0)
                        return r;
                if (!r)
                        continue;
                if (m->n_vol_locks == ARRAY_SIZE(m->vol_locks))
                        return err_set(err, -E2BIG,
                                       "more than %zu volumes with driver options in one container",
                                       ARRAY_SIZE(m->vol_locks));
                lock = volume_lock(m->cli, *n, err);
                if (lock < 0)
                        return lock;
                m->vol_locks[m->n_vol_locks++] = lock;
                r = volume_mount(m->cli, *n, err);
                if (r < 0) {
                        *ret_code = r == -ENOENT ? 127 : r == -EACCES || r == -EISDIR ? 126 : 125;
                        return r;
                }
        }
        return 0;
}

static void release_volume_locks(struct monitor *m)
{
        while (m->n_vol_locks)
                close(m->vol_locks[--m->n_vol_locks]);
}

/* After its run (or a failed start): each of its volumes unmounted unless another live
 * container uses it. */
static void unmount_volumes(struct monitor *m)
{
        _cleanup_strv_ char **names = volume_names(m->c);
        struct err e = {0};

        release_volume_locks(m);
        for (char **n = names; n && *n; n++) {
                _cleanup_close_ int lock = -1;
                if (volume_has_options(m->cli, *n, &e) <= 0)
                        continue;
                lock = volume_lock(m->cli, *n, &e);
                if (lock >= 0)
                        volume_unmount_unused(m->cli, *n, m->c->id);
        }
}

static int begin_start(struct monitor *m, struct err *err)
{
        int lock = container_lock(m->c, err), r;

        if (lock < 0)
                return lock;
        r = container_reload(m->c, err);
        if (r < 0) {
                close(lock);
                return r;
        }
        m->lock = lock;
        return 0;
}

static int record_running(struct monitor *m, struct err *err)
{
        struct jv *st = jv_get(m->c->doc, "State"), *h = jv_get(m->c->doc, "Hawser");
        char ts[40];

        util_format_time(util_now_ns(), ts);
        jv_set_str(st, "Status", "running");
        jv_set_bool(st, "Running", true);
        jv_set_bool(st, "Restarting", false);
        jv_set_bool(st, "Paused", false);
        jv_set_int(st, "Pid", m->l.pid);
        jv_set_int(st, "ExitCode", 0);
        jv_set_str(st, "Error", "");
        jv_set_str(st, "StartedAt", ts);
        jv_set_str(st, "FinishedAt", "0001-01-01T00:00:00Z");
        health_reset_state(m->c->doc);
        jv_set_int(h, "MonitorPid", getpid());
        jv_set_int(h, "MonitorStart", util_pid_start(getpid()));
        jv_set_int(h, "InitStart", util_pid_start(m->l.pid));
        return container_save(m->c, err);
}

/* A start that failed leaves Docker's "created" state with the exit code and message. */
static void record_failed_start(struct monitor *m, int code, const struct err *why)
{
        struct err e = {0};
        struct jv *st;

        /* Without the lock or the document (gone), there is nothing to record. The document
         * is read again: what the failed start wrote into it (addresses, ports) is dropped. */
        if (m->lock < 0 || container_reload(m->c, &e) < 0)
                return;
        st = jv_get(m->c->doc, "State");
        jv_set_int(st, "ExitCode", code);
        jv_set_str(st, "Error", why->msg);
        jv_set_int(st, "Pid", 0);
        container_save(m->c, &e);
}

static int exit_code_of(int status)
{
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void finish(struct monitor *m, int code)
{
        int32_t c32 = code;

        network_hold_close(&m->hold);
        teardown_stopped(m->cli, m->c, code, m->exit_told);
        unmount_volumes(m);
        broadcast(m, MONITOR_EXIT, &c32, sizeof(c32));
}

/* What the container wrote before it ended: until the pipe is empty (a process that kept
 * it open, if any, is not waited for). */
static void drain(struct monitor *m)
{
        struct pollfd p;

        while (m->out_fd >= 0 && (p = (struct pollfd){m->out_fd, POLLIN, 0}, poll(&p, 1, 0) > 0) &&
               pump_output(m, m->out_fd, MONITOR_STDOUT))
                ;
        while (m->err_fd >= 0 && (p = (struct pollfd){m->err_fd, POLLIN, 0}, poll(&p, 1, 0) > 0) &&
               pump_output(m, m->err_fd, MONITOR_STDERR))
                ;
}

static int reap(struct monitor *m, bool *done)
{
        struct signalfd_siginfo si;
        int status;
        pid_t p;

        while (read(m->sigfd, &si, sizeof(si)) > 0)
                ;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (health_reaped(&m->health, m->c, p, status) || p != m->l.pid)
                        continue;
                *done = true;
                return exit_code_of(status);
        }
        return 0;
}

/* A DNS server's lock was closed: a server that died is started again (the container's
 * networks are read anew: connect and disconnect change them). */
static void dns_event(struct monitor *m)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct err e = {0};

        while (read(m->dns_fd, buf, sizeof(buf)) > 0)
                ;
        if (container_reload(m->c, &e) < 0 || !container_is_running(m->c))
                return;
        dnsd_revive(m->cli, m->c);
        dnsd_watch(m->cli, m->c, m->dns_fd);
}

/* Connections to a port published on an IPv6 host address: each is relayed to the
 * container (core/proxy.h). */
static void proxy_accept(struct monitor *m, size_t i)
{
        const struct network_proxy *p = &m->hold.proxies[i];
        int fd;

        while ((fd = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                proxy_relay(fd, &p->target);
}

static bool restart(struct monitor *m, int code);

/* Runs until the container's init exits: its exit code. */
static int run_once(struct monitor *m)
{
        bool done = false;
        int code = 0;

        while (!done) {
                struct epoll_event ev[16];
                int n = epoll_wait(m->epfd, ev, 16, -1);
                for (int i = 0; i < n; i++) {
                        uint64_t t = ev[i].data.u64;
                        if (t == EV_SIGNAL) {
                                code = reap(m, &done);
                                if (done)
                                        util_test_kill_point("monitor-reaped");
                        } else if (t == EV_LISTEN) {
                                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                                if (fd >= 0)
                                        add_client(m, fd);
                        } else if (t == EV_OUT || t == EV_ERR) {
                                int *fd = t == EV_OUT ? &m->out_fd : &m->err_fd;
                                if (!pump_output(m, *fd,
                                                 t == EV_OUT ? MONITOR_STDOUT : MONITOR_STDERR)) {
                                        epoll_ctl(m->epfd, EPOLL_CTL_DEL, *fd, NULL);
                                        if (!m->tty)
                                                close(*fd), *fd = -1;
                                }
                        } else if (t == EV_DNS) {
                                dns_event(m);
                        } else if (t == EV_HEALTH) {
                                health_tick(&m->health, m->cli, m->c);
                        } else if (t == EV_PROBE) {
                                health_output(&m->health);
                        } else if (t >= EV_PROXY && t < EV_PROXY + m->hold.n_proxies) {
                                proxy_accept(m, (size_t)(t - EV_PROXY));
                        } else if (t >= 100 && t < 100 + MAX_CLIENTS) {
                                if (m->clients[t - 100] >= 0)
                                        client_input(m, (int)(t - 100));
                        }
                }
        }
        health_stop(&m->health);
        /* Its other processes end with it, as in a PID namespace of its own. */
        if (!container_own_pidns(m->c))
                cgroup_kill_all(m->c->cgroup);
        drain(m);
        return code;
}

static void loop(struct monitor *m)
{
        int code;

        do
                code = run_once(m);
        while (restart(m, code));
        finish(m, code);
}

/* ---- the restart policy ---- */

static int launch(struct monitor *m, int *ret_code, struct err *err);

/* Docker's rule (container_restart_due), on the document as it is now. */
static bool restart_wanted(struct monitor *m, int code, long long *ret_count)
{
        struct err e = {0};

        if (container_reload(m->c, &e) < 0)
                return false;
        *ret_count = jv_get_int(m->c->doc, "RestartCount", 0);
        return container_restart_due(m->c, code, false);
}

/* The ended run's output descriptors. */
static void close_run_fds(struct monitor *m)
{
        int *fds[] = {&m->out_fd, &m->err_fd, &m->in_fd};

        for (size_t i = 0; i < 3; i++) {
                if (*fds[i] < 0)
                        continue;
                epoll_ctl(m->epfd, EPOLL_CTL_DEL, *fds[i], NULL);
                close(*fds[i]);
                /* With a tty the three are one descriptor. */
                for (size_t k = i + 1; k < 3; k++)
                        if (*fds[k] == *fds[i])
                                *fds[k] = -1;
                *fds[i] = -1;
        }
}

static bool record_restarting(struct monitor *m, int code, long long count)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};
        struct jv *st;
        char ts[40];

        lock = container_lock(m->c, &e);
        if (lock < 0 || container_reload(m->c, &e) < 0)
                return false;
        st = jv_get(m->c->doc, "State");
        util_format_time(util_now_ns(), ts);
        jv_set_str(st, "Status", "restarting");
        jv_set_bool(st, "Running", true);
        jv_set_bool(st, "Restarting", true);
        jv_set_int(st, "Pid", 0);
        jv_set_int(st, "ExitCode", code);
        jv_set_str(st, "FinishedAt", ts);
        jv_set_int(m->c->doc, "RestartCount", count + 1);
        return container_save(m->c, &e) >= 0;
}

/* Starts the container again in place, after the policy's delay (100 ms doubling, back to
 * 100 ms after a run of 10 s or more, at most 1 min): the same address, published ports
 * (held all along), links and DNS names. false: it is not to be restarted (or could not be),
 * and the caller records the exit. */
static bool restart(struct monitor *m, int code)
{
        int32_t c32 = code;
        long long count;
        struct err e = {0};
        int c2 = 0, r;

        if (!restart_wanted(m, code, &count))
                return false;
        close_run_fds(m);
        /* An attached client (run, start -a) ends with this run, as Docker's CLI does. */
        broadcast(m, MONITOR_EXIT, &c32, sizeof(c32));
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (m->clients[i] >= 0)
                        drop_client(m, i);
        if (util_now_ns() - m->started_ns >= 10000000000LL || !m->backoff_ms)
                m->backoff_ms = 100;
        else
                m->backoff_ms = m->backoff_ms * 2 > 60000 ? 60000 : m->backoff_ms * 2;
        if (!record_restarting(m, code, count))
                return false;
        teardown_exit_events(m->cli, m->c, code);
        m->exit_told = true;
        for (int waited = 0; waited < m->backoff_ms; waited += 20) {
                if (container_user_stopped(m->c) || container_reload(m->c, &e) < 0)
                        return false;
                usleep(20000);
        }
        util_test_kill_point("monitor-restarting");
        m->hold.held = true;
        r = mount_volumes(m, &c2, &e);
        if (r >= 0)
                r = begin_start(m, &e);
        if (r >= 0)
                r = launch(m, &c2, &e);
        if (r >= 0)
                r = record_running(m, &e);
        closep(&m->lock);
        release_volume_locks(m);
        if (r < 0)
                return false;
        m->exit_told = false;
        network_log_endpoints(m->cli, m->c, "connect");
        events_started(m->cli, m->c);
        m->started_ns = util_now_ns();
        health_start(&m->health, m->c->doc, m->started_ns);
        network_update_links(m->cli, m->c, dnsd_refresh);
        dnsd_confirm(m->cli, m->c);
        if (m->out_fd >= 0)
                watch(m, m->out_fd, EV_OUT);
        if (m->err_fd >= 0 && m->err_fd != m->out_fd)
                watch(m, m->err_fd, EV_ERR);
        return true;
}

/* ---- start ---- */

static int make_pipes(struct monitor *m, struct launch_spec *s, bool open_stdin, int fds[6],
                      struct err *err)
{
        if (m->tty)
                return 0;
        if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(fds + 2, O_CLOEXEC) < 0 ||
            (open_stdin && pipe2(fds + 4, O_CLOEXEC) < 0))
                return err_errno(err, "creating pipes");
        s->stdio[1] = fds[1];
        s->stdio[2] = fds[3];
        m->out_fd = fds[0];
        m->err_fd = fds[2];
        if (open_stdin) {
                s->stdio[0] = fds[4];
                m->in_fd = fds[5];
        }
        return 0;
}

/* Wires the waiting init into its networks from outside its namespace. */
static int attach_network(struct monitor *m, struct err *err)
{
        _cleanup_close_ int fd = -1;
        char p[64];
        int r;

        if (network_mode_of(m->c->doc, NULL) != NETWORK_MODE_BRIDGE)
                return 0;
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)m->l.pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening the container's network namespace");
        r = network_attach(m->cli, m->c, &m->links, fd, &m->hold, err);
        m->attached = r >= 0;
        return r;
}

/* --device-cgroup-rule, or a --device with less than rw: Docker's default devices, the
 * --device ones (with their permissions) and the rules are all the device cgroup allows
 * (strv, malloc'd; NULL when none is needed). A container in another's PID namespace (or the
 * host's) gets one too where the host has it: through /proc/PID/root it reaches a /dev that
 * is not nodev (a container with rules), where a node it makes would open anything. */
static char **device_allow(const struct container *c, const struct spec_buf *b)
{
        static const char *const defaults[] = {
                "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:8 rwm",   "c 1:7 rwm", "c 5:0 rwm",
                "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
        };
        const struct jv *rules = jv_path(c->doc, "HostConfig.DeviceCgroupRules"),
                        *devs = jv_path(c->doc, "HostConfig.Devices");
        char **v = NULL;
        bool restricted = false;

        /* A --device with less than rw needs the device cgroup too. */
        for (size_t k = 0; k < jv_len(devs); k++) {
                const char *m = jv_get_str(jv_at(devs, k), "CgroupPermissions") ?: "rwm";
                restricted |= !strchr(m, 'r') || !strchr(m, 'w');
        }
        if (!container_own_pidns(c) && cgroup_devices_supported())
                restricted = true;
        /* --privileged: every device, no device cgroup (Docker's). */
        if ((!jv_len(rules) && !restricted) ||
            jv_get_bool(jv_get(c->doc, "HostConfig"), "Privileged"))
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
                util_strv_push(&v, defaults[i]);
        for (size_t i = 0; i < b->devices.n; i++) {
                const struct device_node *d = &b->devices.v[i];
                const char *perms = "rwm";
                size_t best = 0;
                _cleanup_free_ char *a = NULL;
                /* The --device's own permissions (a directory's nodes share them): its path
                 * or a directory above it, the longest such wins. */
                for (size_t k = 0; k < jv_len(devs); k++) {
                        const char *in = jv_get_str(jv_at(devs, k), "PathInContainer");
                        size_t n = in ? strlen(in) : 0;
                        while (n > 1 && in[n - 1] == '/')
                                n--;
                        if (!in || n <= best || strncmp(d->path, in, n) ||
                            (d->path[n] && d->path[n] != '/'))
                                continue;
                        best = n;
                        perms = jv_get_str(jv_at(devs, k), "CgroupPermissions") ?: "rwm";
                }
                a = util_printf("%c %u:%u %s", S_ISBLK(d->type) ? 'b' : 'c', d->major, d->minor,
                                perms);
                if (a)
                        util_strv_push(&v, a);
        }
        for (size_t i = 0; i < jv_len(rules); i++)
                util_strv_push(&v, jv_str(jv_at(rules, i)));
        return v;
}

/* --oom-score-adj: the init's, inherited by everything it starts. */
static int set_oom_score_adj(pid_t pid, long long adj, struct err *err)
{
        char path[64], v[32];

        snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
        snprintf(v, sizeof(v), "%lld", adj);
        return fs_write_string(path, v, err) < 0 ? err_wrap(err, "setting oom_score_adj") : 0;
}

static int launch(struct monitor *m, int *ret_code, struct err *err)
{
        const struct jv *cfg = jv_get(m->c->doc, "Config");
        struct spec_buf b = {0};
        int fds[6] = {-1, -1, -1, -1, -1, -1};
        bool made_cgroups;
        int r;

        *ret_code = 125;
        m->tty = jv_get_bool(cfg, "Tty");
        m->stdin_once = jv_get_bool(cfg, "StdinOnce");
        r = network_links_resolve(m->cli, m->c, &m->links, err);
        if (r >= 0)
                r = build_spec(m->cli, m->c, &m->links, &b, err);
        if (r >= 0)
                r = make_pipes(m, &b.s, jv_get_bool(cfg, "OpenStdin"), fds, err);
        if (r >= 0)
                r = launch_clone(&b.s, &m->l, err);
        /* Without a PID namespace of its own, its processes are known by their cgroup; under
         * a --cgroup-parent it is in its cgroups whatever its limits. */
        if (r >= 0 && (!container_own_pidns(m->c) ||
                       *(jv_str(jv_path(m->c->doc, "HostConfig.CgroupParent")) ?: "")))
                r = cgroup_adopt(m->c->cgroup, m->l.pid, err);
        /* Limits before the go: everything the init starts inherits them. */
        if (r >= 0) {
                struct cgroup_limits lim = b.limits;
                long long adj = jv_get_int(jv_get(m->c->doc, "HostConfig"), "OomScoreAdj", 0);
                lim.device_allow = device_allow(m->c, &b);
                r = cgroup_apply(m->c->cgroup, &lim, m->l.pid, err);
                util_strv_free(lim.device_allow);
                if (r >= 0 && adj)
                        r = set_oom_score_adj(m->l.pid, adj, err);
        }
        /* Its cgroups exist from build_spec on (cgroup_views): a start failing before the
         * clone removes them too. */
        made_cgroups = b.cgroup_views != NULL;
        spec_buf_free(&b);
        /* The child's ends of the pipes stay only in the child. */
        for (int i = 1; i < 6; i += 2)
                if (i != 5 && fds[i] >= 0)
                        close(fds[i]);
        if (fds[4] >= 0)
                close(fds[4]);
        if (r >= 0)
                r = attach_network(m, err);
        if (r >= 0 && m->attached)
                dnsd_publish(m->cli, m->c, &m->links);
        /* Resolved for this start: the linked containers are not needed after it. */
        network_links_free(&m->links);
        if (r >= 0)
                r = launch_go(&m->l, ret_code, err);
        if (r >= 0 && m->tty) {
                m->out_fd = m->in_fd = m->l.pty_master;
        }

        if (r < 0 && m->l.pid > 0) {
                kill(m->l.pid, SIGKILL);
                waitpid(m->l.pid, NULL, 0);
                network_hold_close(&m->hold);
                network_detach(m->cli, m->c->id, NETWORK_VETHS_DELETE);
                if (m->attached)
                        dnsd_refresh(m->cli, m->c);
                cgroup_remove(m->c->cgroup);
        } else if (r < 0 && made_cgroups) {
                cgroup_remove(m->c->cgroup);
        }
        return r;
}

static void report(int fd, int exit_code, const struct err *err)
{
        launch_send_error(fd, exit_code, err);
        close(fd);
}

/* The monitor outlives the CLI: it must not keep the CLI's descriptors (its end of the attach
 * socket above all) open. */
static void close_other_fds(int a, int b)
{
        int lo = a < b ? a : b, hi = a < b ? b : a;

        if (lo < 0) {
                close_range(3, (unsigned)hi - 1, 0);
                close_range((unsigned)hi + 1, ~0U, 0);
                return;
        }
        if (lo > 3)
                close_range(3, (unsigned)lo - 1, 0);
        if (hi > lo + 1)
                close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
        close_range((unsigned)hi + 1, ~0U, 0);
}

static void __attribute__((noreturn))
monitor_main(const struct cli *cli, struct container *c, int attach_fd, int ready_fd)
{
        struct monitor m = {
                .cli = cli,
                .c = c,
                .out_fd = -1,
                .err_fd = -1,
                .in_fd = -1,
                .lock = -1,
                .health = {
                        .timer_fd = -1, .out_fd = -1, .timer_tag = EV_HEALTH, .out_tag = EV_PROBE}};
        _cleanup_free_ char *logp = monitor_log_path(c);
        struct err err = {0};
        sigset_t mask;
        bool vol_failed;
        int code, null, r;

        prctl(PR_SET_NAME, "hawser-monitor");
        setsid();
        close_other_fds(attach_fd, ready_fd);
        null = open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++)
                dup2(null, i);
        if (null > 2)
                close(null);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        for (int i = 0; i < MAX_CLIENTS; i++)
                m.clients[i] = -1;
        m.epfd = m.health.epfd = epoll_create1(EPOLL_CLOEXEC);
        m.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        {
                const struct jv *log = jv_path(c->doc, "HostConfig.LogConfig");
                const char *size = jv_get_str(jv_get(log, "Config"), "max-size");
                const char *files = jv_get_str(jv_get(log, "Config"), "max-file");
                bool none = !strcmp(jv_get_str(log, "Type") ?: "", "none");
                m.log_fd = logp && !none
                                   ? open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)
                                   : -1;
                m.log_path = logp;
                m.log_max = size ? log_size(size) : 0;
                m.log_files = files ? atoi(files) : 1;
                m.log_compress = util_parse_go_bool(
                                         jv_get_str(jv_get(log, "Config"), "compress")
                                                 ?: (!strcmp(jv_get_str(log, "Type") ?: "", "local")
                                                             ? "true"
                                                             : "false")) == 1;
        }
        m.listen_fd = listen_socket(cli, c->id, &err);
        if (m.epfd < 0 || m.sigfd < 0 || m.listen_fd < 0) {
                if (!err.code)
                        err_errno(&err, "setting up the container monitor");
                report(ready_fd, 125, &err);
                _exit(1);
        }
        code = 125;
        /* A start by the user ends an earlier user stop (for the restart policy). */
        container_set_user_stop(c, false);
        r = mount_volumes(&m, &code, &err);
        vol_failed = r < 0;
        /* The container's lock either way: a failed mount is recorded in its state too. */
        if (vol_failed)
                begin_start(&m, &(struct err){0});
        else
                r = begin_start(&m, &err);
        if (r >= 0)
                r = launch(&m, &code, &err);
        if (r >= 0) {
                util_test_gate("monitor-before-running");
                r = record_running(&m, &err);
        }
        if (r < 0) {
                /* Docker's daemon records 128 for a volume it could not mount (run's own
                 * code is the CLI's reading of the message). */
                record_failed_start(&m, vol_failed ? 128 : code, &err);
                unmount_volumes(&m);
                if (jv_get_bool(jv_get(c->doc, "HostConfig"), "AutoRemove") &&
                    teardown_remove(cli, c, &(struct err){0}) >= 0)
                        volume_release_anonymous(cli, c->doc);
                report(ready_fd, code, &err);
                _exit(1);
        }
        network_log_endpoints(cli, c, "connect");
        events_started(cli, c);
        closep(&m.lock);
        release_volume_locks(&m);
        m.started_ns = util_now_ns();
        health_start(&m.health, c->doc, m.started_ns);
        network_update_links(cli, c, dnsd_refresh);
        /* Published before it ran (dnsd_publish); confirmed now that its state says running: a
         * rebuild of the network's records in between (another network's disconnect, a
         * removed records file) counted only containers whose state said so. */
        dnsd_confirm(cli, c);
        if (attach_fd >= 0)
                add_client(&m, attach_fd);
        watch(&m, m.sigfd, EV_SIGNAL);
        watch(&m, m.listen_fd, EV_LISTEN);
        for (size_t i = 0; i < m.hold.n_proxies; i++)
                watch(&m, m.hold.proxies[i].fd, EV_PROXY + i);
        watch(&m, m.out_fd, EV_OUT);
        watch(&m, m.err_fd, EV_ERR);
        m.dns_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (m.dns_fd >= 0) {
                dnsd_watch(cli, c, m.dns_fd);
                watch(&m, m.dns_fd, EV_DNS);
        }
        close(ready_fd);
        /* The monitor lives as long as the container: give back what the start used. */
        malloc_trim(0);
        loop(&m);
        _exit(0);
}

/* The monitor of a container that needs it (selfexe_needed) runs from a sealed copy of
 * hawser, and so do the processes it forks into the container. Returns only if that could
 * not be done; the monitor then runs from the binary, its container processes still not
 * dumpable. */
static void reexec_sealed(const struct cli *cli, const struct container *c, int attach_fd,
                          int ready_fd)
{
        char a[16], r[16];
        char *argv[] = {"hawser",
                        "--root",
                        (char *)cli->root,
                        "--runroot",
                        (char *)cli->runroot,
                        "_monitor",
                        (char *)c->id,
                        a,
                        r,
                        NULL};

        snprintf(a, sizeof(a), "%d", attach_fd);
        snprintf(r, sizeof(r), "%d", ready_fd);
        if ((attach_fd < 0 || fcntl(attach_fd, F_SETFD, 0) == 0) &&
            fcntl(ready_fd, F_SETFD, 0) == 0)
                selfexe_reexec(cli, argv);
}

int monitor_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct container *c = NULL;
        int attach_fd, ready_fd;

        if (argc != 4)
                return cli_usage_error(cli, "_monitor", err,
                                       "\"hawser _monitor\" requires a container id and two "
                                       "descriptors");
        attach_fd = atoi(argv[2]);
        ready_fd = atoi(argv[3]);
        if (ready_fd < 3)
                return err_set(err, -EINVAL, "_monitor: bad descriptor %s", argv[3]);
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
        if (attach_fd >= 3)
                fcntl(attach_fd, F_SETFD, FD_CLOEXEC);
        if (container_load(cli, argv[1], &c, err) < 0) {
                report(ready_fd, 125, err);
                _exit(1);
        }
        monitor_main(cli, c, attach_fd, ready_fd);
}

int monitor_start(const struct cli *cli, struct container *c, int attach_fd, int *ret_exit_code,
                  struct err *err)
{
        int ready[2];
        pid_t pid;
        int r;

        *ret_exit_code = 125;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ready) < 0)
                return err_errno(err, "creating the start socket");
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                close(ready[0]);
                close(ready[1]);
                return err_errno(err, "forking the container monitor");
        }
        if (pid == 0) {
                close(ready[0]);
                if (!cli->sealed && selfexe_needed(jv_get(c->doc, "HostConfig")))
                        reexec_sealed(cli, c, attach_fd, ready[1]);
                monitor_main(cli, c, attach_fd, ready[1]);
        }
        close(ready[1]);
        if (attach_fd >= 0)
                close(attach_fd);
        r = launch_recv_result(ready[0], ret_exit_code, NULL, err);
        close(ready[0]);
        if (r < 0)
                return r;
        r = container_reload(c, err);
        /* A quick --rm container may be gone already: it started, ran and was removed. */
        if (r == -ENOENT && jv_get_bool(jv_get(c->doc, "HostConfig"), "AutoRemove")) {
                err_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        if (!strcmp(container_status(c), "created"))
                return err_set(err, -EIO,
                               "the monitor of container %.12s exited before the "
                               "container started",
                               c->id);
        return 0;
}
