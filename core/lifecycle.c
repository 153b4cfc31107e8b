#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "commands.h"
#include "dnsd.h"
#include "events.h"
#include "lifecycle.h"
#include "monitor.h"
#include "network.h"
#include "opt.h"
#include "teardown.h"
#include "volume.h"

static pid_t monitor_pid(const struct container *c, long long *ret_start)
{
        const struct jv *h = jv_get(c->doc, "Hawser");

        *ret_start = jv_get_int(h, "MonitorStart", 0);
        return (pid_t)jv_get_int(h, "MonitorPid", 0);
}

/* Waits up to timeout_ms for pid (started at start ticks) to exit. */
static int wait_pid(pid_t pid, long long start, int timeout_ms, const char *id, struct err *err)
{
        _cleanup_close_ int pfd = -1;
        struct pollfd p;
        int r;

        if (!util_pid_alive(pid, start))
                return 0;
        pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return errno == ESRCH ? 0 : err_errno(err, "watching container %.12s", id);
        /* The pid may have been reused between the check and pidfd_open. */
        if (!util_pid_alive(pid, start))
                return 0;
        p = (struct pollfd){.fd = pfd, .events = POLLIN};
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0)
                return err_set(err, -ETIMEDOUT, "container %.12s did not exit", id);
        return r < 0 ? err_errno(err, "waiting for container %.12s", id) : 0;
}

int lifecycle_wait_monitor(const struct container *c, int timeout_ms, struct err *err)
{
        long long start;
        pid_t pid = monitor_pid(c, &start);

        return wait_pid(pid, start, timeout_ms, c->id, err);
}

/* Sends sig to every child of parent. */
static void signal_children(pid_t parent, int sig)
{
        _cleanup_closedir_ DIR *proc = opendir("/proc");
        struct dirent *de;

        while (proc && (de = readdir(proc))) {
                pid_t pid = (pid_t)atoi(de->d_name);
                if (pid > 0 && util_pid_parent(pid) == parent)
                        kill(pid, sig);
        }
}

/* Stops a container whose state cannot name its processes: its monitor is the process
 * holding its attach socket; the monitor's child (the init) is killed, and the monitor,
 * which tears the network down as after any exit, is waited for (and killed if it hangs). */
static int kill_unreadable(const struct cli *cli, const struct container *c, struct err *err)
{
        pid_t mon = container_monitor_by_socket(cli, c->id);
        long long start = mon > 0 ? util_pid_start(mon) : 0;

        if (mon <= 0 || !start)
                return 0;
        if (cgroup_is_frozen(c->cgroup))
                cgroup_freeze(c->cgroup, false, &(struct err){0});
        signal_children(mon, SIGKILL);
        if (wait_pid(mon, start, 10000, c->id, &(struct err){0}) == 0)
                return 0;
        if (util_pid_alive(mon, start))
                kill(mon, SIGKILL);
        return wait_pid(mon, start, 10000, c->id, err);
}

static int signal_init(const struct container *c, int sig, struct err *err)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        long long start = jv_get_int(jv_get(c->doc, "Hawser"), "InitStart", 0);

        if (!util_pid_alive(pid, start))
                return 0;
        if (kill(pid, sig) < 0 && errno != ESRCH)
                return err_errno(err, "signalling container %.12s", c->id);
        return 0;
}

void lifecycle_heal_freeze(struct container *c)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};

        if (strcmp(container_status(c), "running") || !cgroup_is_frozen(c->cgroup))
                return;
        lock = container_trylock(c, &e);
        if (lock < 0 || container_reload(c, &e) < 0)
                return;
        if (!strcmp(container_status(c), "running") && cgroup_is_frozen(c->cgroup) &&
            cgroup_freeze(c->cgroup, false, &e) < 0)
                fprintf(stderr, "warning: thawing container %.12s: %s, ignoring\n", c->id, e.msg);
}

/* Docker's "kill" event, told before the signal so that it comes before the die it causes. */
static void kill_event(const struct cli *cli, const struct container *c, int sig)
{
        char s[16];

        snprintf(s, sizeof(s), "%d", sig);
        events_container(cli, c, "kill", "signal", s, NULL);
}

static int stop_signalled(const struct cli *cli, struct container *c, long long timeout, int signal,
                          struct err *err)
{
        const struct jv *cfg = jv_get(c->doc, "Config");
        const char *ss = jv_get_str(cfg, "StopSignal");
        int sig = signal > 0 ? signal : ss ? util_parse_signal(ss) : SIGTERM;
        int r;

        /* No restart policy brings back what the user stopped (Docker's rule). */
        if (container_is_running(c) || container_is_restarting(c))
                container_set_user_stop(c, true);
        /* Between two runs: the monitor sees the mark and ends. */
        if (container_is_restarting(c))
                return lifecycle_wait_monitor(c, 30000, err);
        if (!container_is_running(c))
                return 0;
        if (timeout < 0)
                timeout = jv_get_int(cfg, "StopTimeout", 10);
        /* A frozen container cannot act on the signal; thaw it first (paused, or frozen by
         * a commit, live or killed). */
        if (cgroup_is_frozen(c->cgroup))
                cgroup_freeze(c->cgroup, false, err);
        kill_event(cli, c, sig > 0 ? sig : SIGTERM);
        r = signal_init(c, sig > 0 ? sig : SIGTERM, err);
        if (r < 0)
                return r;
        if (timeout > 0 && lifecycle_wait_monitor(c, (int)(timeout * 1000), err) == 0)
                return 0;
        kill_event(cli, c, SIGKILL);
        r = signal_init(c, SIGKILL, err);
        if (r < 0)
                return r;
        return lifecycle_wait_monitor(c, 30000, err);
}

int lifecycle_stop(const struct cli *cli, struct container *c, long long timeout, int signal,
                   struct err *err)
{
        bool live = container_is_running(c) || container_is_restarting(c);
        int r = stop_signalled(cli, c, timeout, signal, err);

        /* Docker's "stop" follows the die of a container it stopped, and only of one. */
        if (r >= 0 && live)
                events_container(cli, c, "stop", NULL);
        return r;
}

struct stop_opts {
        long long time;
        char *signal;
        bool force, volumes, link;
        bool follow, timestamps;
        char *tail, *since, *until;
        bool details;
};

enum {
        EACH_MISSING_OK = 1, /* a name that does not exist is no failure (rm -f) */
        EACH_UNREADABLE = 2, /* fn takes containers whose state cannot be read (rm) */
        EACH_KILL = 4,       /* Docker's kill words a lookup failure "Cannot kill container:
                                REF: ..." */
};

/* Runs fn on each named container, printing the name on success and Docker's per-container
 * error otherwise; the command fails if any failed, except as flags (EACH_*) say. */
static int for_each(struct cli *cli, char **refs, int n, void *ud, int flags,
                    int (*fn)(struct cli *, struct container *, void *, struct err *),
                    struct err *err)
{
        int r = 0;

        for (int i = 0; i < n; i++) {
                struct container *c = NULL;
                struct err e = {0};
                int rr = flags & EACH_UNREADABLE ? teardown_find_any(cli, refs[i], &c, &e)
                                                 : teardown_find(cli, refs[i], &c, &e);
                bool gone = rr == -ENOENT;

                if (rr < 0 && (flags & EACH_KILL))
                        err_wrap(&e, "Cannot kill container: %s", refs[i]);

                if (rr >= 0)
                        lifecycle_heal_freeze(c);
                if (rr >= 0)
                        rr = fn(cli, c, ud, &e);
                container_free(c);
                if (rr < 0) {
                        cli_print_daemon_error(e.msg);
                        if (!(gone && (flags & EACH_MISSING_OK)))
                                r = rr;
                        continue;
                }
                printf("%s\n", refs[i]);
        }
        if (r < 0) {
                cli_fail_printed(cli, 0);
                return err_set(err, r, "some containers failed");
        }
        return 0;
}

static int usage_n(struct cli *cli, const char *cmd, int n, int min, struct err *err)
{
        if (n < 0)
                return cli_usage_error(cli, cmd, err, "%s", err->msg);
        if (n < min)
                return cli_usage_error(cli, cmd, err, "\"hawser %s\" requires at least %d %s.", cmd,
                                       min, min == 1 ? "argument" : "arguments");
        return n;
}

static int do_stop(struct cli *cli, struct container *c, void *ud, struct err *err)
{
        const struct stop_opts *o = ud;

        return lifecycle_stop(cli, c, o->time, o->signal ? util_parse_signal(o->signal) : 0, err);
}

int cmd_stop(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"time", 't', OPT_INT, offsetof(struct stop_opts, time)},
                {"timeout", 0, OPT_INT, offsetof(struct stop_opts, time)},
                {"signal", 's', OPT_STR, offsetof(struct stop_opts, signal)},
                OPT_END,
        };
        struct stop_opts o = {.time = -1};
        int n = usage_n(cli, "stop", opt_parse(defs, argc - 1, argv + 1, false, &o, err), 1, err);

        if (n < 0)
                return n;
        return for_each(cli, argv + 1, n, &o, 0, do_stop, err);
}

static int do_restart(struct cli *cli, struct container *c, void *ud, struct err *err)
{
        int code, r = do_stop(cli, c, ud, err);

        if (r >= 0)
                r = container_reload(c, err);
        if (r >= 0)
                r = monitor_start(cli, c, -1, &code, err);
        if (r >= 0)
                events_container(cli, c, "restart", NULL);
        return r;
}

int cmd_restart(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"time", 't', OPT_INT, offsetof(struct stop_opts, time)},
                {"timeout", 0, OPT_INT, offsetof(struct stop_opts, time)},
                {"signal", 's', OPT_STR, offsetof(struct stop_opts, signal)},
                OPT_END,
        };
        struct stop_opts o = {.time = -1};
        int n = usage_n(cli, "restart", opt_parse(defs, argc - 1, argv + 1, false, &o, err), 1,
                        err);

        if (n < 0)
                return n;
        return for_each(cli, argv + 1, n, &o, 0, do_restart, err);
}

/* A frozen task acts on no signal, SIGKILL included, until it is thawed: signal, then thaw,
 * and record the container as running again. */
static int signal_paused(struct container *c, int sig, struct err *err)
{
        int r = signal_init(c, sig, err);
        _cleanup_close_ int lock = -1;

        if (r >= 0 && strcmp(container_status(c), "paused") && cgroup_is_frozen(c->cgroup) &&
            sig == SIGKILL)
                cgroup_freeze(c->cgroup, false, &(struct err){0}); /* frozen by a live commit */
        if (r < 0 || strcmp(container_status(c), "paused"))
                return r;
        /* The container may exit (and its monitor remove the cgroup) as soon as it thaws. */
        if (cgroup_freeze(c->cgroup, false, err) < 0)
                err_clear(err);
        lock = container_lock(c, err);
        if (lock < 0 || container_reload(c, err) < 0)
                return 0;
        if (!strcmp(container_status(c), "paused")) {
                jv_set_str(jv_get(c->doc, "State"), "Status", "running");
                jv_set_bool(jv_get(c->doc, "State"), "Paused", false);
                r = container_save(c, err);
        }
        return r < 0 ? r : 0;
}

static int do_kill(struct cli *cli, struct container *c, void *ud, struct err *err)
{
        int sig = *(int *)ud;

        (void)cli;
        if (container_is_restarting(c)) {
                container_set_user_stop(c, true);
                return lifecycle_wait_monitor(c, 30000, err);
        }
        if (!container_is_running(c))
                return err_set(err, -EINVAL,
                               "cannot kill container: %s: container %s is not "
                               "running",
                               container_name(c), c->id);
        container_set_user_stop(c, true);
        kill_event(cli, c, sig);
        return signal_paused(c, sig, err);
}

int cmd_kill(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"signal", 's', OPT_STR, offsetof(struct stop_opts, signal)},
                OPT_END,
        };
        struct stop_opts o = {0};
        int n = usage_n(cli, "kill", opt_parse(defs, argc - 1, argv + 1, false, &o, err), 1, err);
        int sig = SIGKILL;

        if (n < 0)
                return n;
        if (o.signal && (sig = util_parse_signal(o.signal)) < 0)
                return err_set(err, -EINVAL, "invalid signal: %s", o.signal);
        return for_each(cli, argv + 1, n, &sig, EACH_KILL, do_kill, err);
}

static int rm_refuse_running(const struct container *c, struct err *err)
{
        return err_set(err, -EBUSY,
                       "cannot remove container \"/%s\": container is %s: stop the container "
                       "before removing or force remove",
                       container_name(c), container_status(c));
}

/* A container whose state cannot be read: running as long as its monitor lives. What it
 * held (name, directories, veth, leases, published ports) is found without the state. */
static int rm_unreadable(struct cli *cli, struct container *c, const struct stop_opts *o,
                         struct err *err)
{
        _cleanup_close_ int lock = -1;
        int r;

        if (container_monitor_by_socket(cli, c->id) > 0) {
                if (!o->force)
                        return err_set(err, -EBUSY,
                                       "cannot remove container \"/%s\": container is running: "
                                       "stop the container before removing or force remove",
                                       container_name(c));
                r = kill_unreadable(cli, c, err);
                if (r < 0)
                        return r;
        }
        lock = container_lock(c, err);
        if (lock == -ENOENT) {
                err_clear(err);
                return 0;
        }
        if (lock < 0)
                return lock;
        r = teardown_remove(cli, c, err);
        if (r >= 0)
                network_detach(cli, c->id, NETWORK_VETHS_DELETE);
        return r;
}

static int do_rm(struct cli *cli, struct container *c, void *ud, struct err *err)
{
        const struct stop_opts *o = ud;
        _cleanup_close_ int lock = -1;
        int r;

        if (c->unreadable)
                return rm_unreadable(cli, c, o, err);
        if (container_is_running(c)) {
                if (!o->force)
                        return rm_refuse_running(c, err);
                /* Its restart policy must not bring it back while it is removed. */
                container_set_user_stop(c, true);
                kill_event(cli, c, SIGKILL);
                r = signal_paused(c, SIGKILL, err);
                if (r >= 0)
                        r = lifecycle_wait_monitor(c, 30000, err);
                if (r < 0)
                        return r;
                /* A monitor that died rather than record the exit (killed meanwhile) leaves
                 * "running": what it would have done is done here. */
                teardown_reconcile(cli, c);
        }
        /* Under the container's lock: a commit reading the layer, a start or a second rm
         * finishes first, and what is removed is the state as it is now. */
        lock = container_lock(c, err);
        /* Gone already: its monitor removed it (--rm), or another rm did. */
        if (lock == -ENOENT || (lock >= 0 && container_reload(c, err) == -ENOENT)) {
                err_clear(err);
                return 0;
        }
        if (lock < 0)
                return lock;
        if (container_is_running(c))
                return rm_refuse_running(c, err);
        /* What a commit waiting for the lock finds when it reloads, as Docker's. */
        jv_set_str(jv_get(c->doc, "State"), "Status", "removing");
        r = container_save(c, err);
        if (r >= 0)
                r = teardown_remove(cli, c, err);
        if (r >= 0 && o->volumes)
                volume_release_anonymous(cli, c->doc);
        return r;
}

int lifecycle_remove(struct cli *cli, struct container *c, bool force, bool volumes,
                     struct err *err)
{
        struct stop_opts o = {.force = force, .volumes = volumes};

        return do_rm(cli, c, &o, err);
}

static int remove_link(const struct cli *cli, const char *spec, void *ud, struct err *err)
{
        (void)ud;
        return network_remove_link(cli, spec, err);
}

int cmd_rm(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(struct stop_opts, force)},
                {"volumes", 'v', OPT_BOOL, offsetof(struct stop_opts, volumes)},
                {"link", 'l', OPT_BOOL, offsetof(struct stop_opts, link)},
                OPT_END,
        };
        struct stop_opts o = {0};
        int n = usage_n(cli, "rm", opt_parse(defs, argc - 1, argv + 1, false, &o, err), 1, err);

        if (n < 0)
                return n;
        if (o.link)
                return cli_each_ref(cli, argv + 1, n, remove_link, NULL, err);
        /* rm -f of what is not there is said, but is not a failure (Docker). */
        return for_each(cli, argv + 1, n, &o, (o.force ? EACH_MISSING_OK : 0) | EACH_UNREADABLE,
                        do_rm, err);
}

static int do_pause(struct cli *cli, struct container *c, void *ud, struct err *err)
{
        bool pause = *(bool *)ud;
        _cleanup_close_ int lock = -1;
        struct jv *st;
        int r = 0;

        (void)cli;
        /* Under the container's lock, so a commit (which freezes too) and a pause agree on
         * the recorded state. */
        lock = container_lock(c, err);
        if (lock < 0 || container_reload(c, err) < 0)
                return -err->code;
        if (!container_is_running(c))
                return err_set(err, -EINVAL, "Container %s is not running", c->id);
        if (pause == !strcmp(container_status(c), "paused"))
                return err_set(err, -EINVAL,
                               pause ? "Container %s is already paused"
                                     : "Container %s is not paused",
                               c->id);
        if (pause)
                r = cgroup_collect(c->cgroup, (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0),
                                   container_own_pidns(c), err);
        if (r >= 0) {
                r = cgroup_freeze(c->cgroup, pause, err);
                /* A freeze that did not finish must not leave the container half frozen
                 * while it is recorded as running. */
                if (r < 0 && pause)
                        cgroup_freeze(c->cgroup, false, &(struct err){0});
        }
        if (r < 0)
                return r;
        st = jv_get(c->doc, "State");
        jv_set_str(st, "Status", pause ? "paused" : "running");
        jv_set_bool(st, "Paused", pause);
        r = container_save(c, err);
        if (r >= 0)
                events_container(cli, c, pause ? "pause" : "unpause", NULL);
        return r;
}

int lifecycle_kill(struct cli *cli, struct container *c, int signal, struct err *err)
{
        return do_kill(cli, c, &signal, err);
}

int lifecycle_pause(struct cli *cli, struct container *c, bool pause, struct err *err)
{
        return do_pause(cli, c, &pause, err);
}

static int pause_cmd(struct cli *cli, const char *name, bool pause, int argc, char **argv,
                     struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int n = usage_n(cli, name, opt_parse(defs, argc - 1, argv + 1, false, NULL, err), 1, err);

        if (n < 0)
                return n;
        return for_each(cli, argv + 1, n, &pause, 0, do_pause, err);
}

int cmd_pause(struct cli *cli, int argc, char **argv, struct err *err)
{
        return pause_cmd(cli, "pause", true, argc, argv, err);
}

int cmd_unpause(struct cli *cli, int argc, char **argv, struct err *err)
{
        return pause_cmd(cli, "unpause", false, argc, argv, err);
}

int cmd_wait(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int n = usage_n(cli, "wait", opt_parse(defs, argc - 1, argv + 1, false, NULL, err), 1, err);
        int r = 0;

        if (n < 0)
                return n;
        for (int i = 1; i <= n; i++) {
                struct container *c = NULL;
                struct err e = {0};
                int rr = teardown_find(cli, argv[i], &c, &e);
                if (rr >= 0)
                        rr = lifecycle_wait_monitor(c, -1, &e);
                if (rr >= 0 && container_reload(c, &e) >= 0)
                        printf("%lld\n", jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0));
                else if (rr >= 0)
                        printf("%lld\n", jv_get_int(jv_get(c->doc, "State"), "ExitCode", 0));
                container_free(c);
                if (rr < 0) {
                        cli_print_daemon_error(e.msg);
                        cli_fail_printed(cli, 0);
                        r = err_set(err, rr, "%s", e.msg);
                }
                fflush(stdout);
        }
        return r;
}

int cmd_rename(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int n = opt_parse(defs, argc - 1, argv + 1, false, NULL, err);
        struct container *c = NULL;
        _cleanup_close_ int lock = -1;
        char old[160], full[170];
        const char *to;
        int r;

        if (n < 0 || n != 2)
                return cli_usage_error(cli, "rename", err,
                                       "\"hawser rename\" requires exactly 2 arguments.");
        to = argv[2][0] == '/' ? argv[2] + 1 : argv[2];
        r = container_check_name(to, err);
        if (r >= 0)
                r = teardown_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        snprintf(old, sizeof(old), "%s", container_name(c));
        if (!strcmp(old, to)) {
                container_free(c);
                return err_set(err, -EINVAL,
                               "Renaming a container with the same name as its "
                               "current name");
        }
        r = container_reserve_name(cli, to, c->id, err);
        if (r >= 0 && (lock = container_lock(c, err)) >= 0 && container_reload(c, err) >= 0) {
                snprintf(full, sizeof(full), "/%s", to);
                jv_set_str(c->doc, "Name", full);
                r = container_save(c, err);
                if (r >= 0) {
                        container_release_name(cli, old, c->id);
                        dnsd_refresh(cli, c);
                        snprintf(full, sizeof(full), "/%s", old);
                        events_container(cli, c, "rename", "oldName", full, NULL);
                } else
                        container_release_name(cli, to, c->id);
        } else if (r >= 0) {
                container_release_name(cli, to, c->id);
                r = -err->code;
        }
        container_free(c);
        return r < 0 ? r : 0;
}
