#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../cgroup.h"
#include "../opt.h"
#include "internal.h"

/* The lifecycle. create leaves the init waiting on --root/ID/exec.fifo and exits: the init
 * is then the child of whoever reaps for the caller (containerd's shim is a subreaper);
 * start reads the fifo, which lets the init exec. Nothing of hawser stays running. */

struct create_opts {
        const char *bundle, *pid_file, *console_socket;
        bool no_pivot, no_new_keyring, detach;
        long long preserve_fds;
};

static const struct opt_def create_defs[] = {
        {"bundle", 'b', OPT_STR, offsetof(struct create_opts, bundle)},
        {"pid-file", 0, OPT_STR, offsetof(struct create_opts, pid_file)},
        {"console-socket", 0, OPT_STR, offsetof(struct create_opts, console_socket)},
        {"no-pivot", 0, OPT_BOOL, offsetof(struct create_opts, no_pivot)},
        {"no-new-keyring", 0, OPT_BOOL, offsetof(struct create_opts, no_new_keyring)},
        {"preserve-fds", 0, OPT_INT, offsetof(struct create_opts, preserve_fds)},
        {"detach", 'd', OPT_BOOL, offsetof(struct create_opts, detach)},
        OPT_END,
};

/* One positional container id after the flags; -EINVAL with runc's wording otherwise. */
int oci_parse_id(const struct opt_def *defs, int argc, char **argv, void *o, int want,
                 struct err *err)
{
        int n = opt_parse(defs, argc - 1, argv + 1, false, o, err);

        if (n < 0)
                return n;
        if (n < 1 || !*argv[1])
                return err_set(err, -EINVAL, "%s: container id cannot be empty", argv[0]);
        if (n > want)
                return err_set(err, -EINVAL, "%s: too many arguments", argv[0]);
        return n;
}

/* runc's console socket protocol: one message whose SCM_RIGHTS carries the pty master. */
static int send_console(const char *path, int master, struct err *err)
{
        _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        if (sock < 0)
                return err_errno(err, "creating console socket");
        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "console socket path %s too long", path);
        strcpy(sa.sun_path, path);
        if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_errno(err, "connecting to console socket %s", path);
        r = launch_send_fd(sock, master);
        if (r < 0) {
                errno = -r;
                return err_errno(err, "sending the terminal to %s", path);
        }
        return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct err *err)
{
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

        /* containerd reads it while we write: it must appear whole. */
        return fs_write_atomic(path, buf, (size_t)n, 0644, err) < 0
                       ? err_wrap(err, "writing pid file %s", path)
                       : 0;
}

static struct jv *state_doc(const char *id, const char *bundle, const struct oci_plan *p, pid_t pid)
{
        struct jv *doc = jv_new_object();
        char now[40], abs_bundle[PATH_MAX];
        struct jv *ann = jv_get(p->config, "annotations");

        util_format_time(util_now_ns(), now);
        jv_set_str(doc, "ociVersion", OCI_VERSION);
        jv_set_str(doc, "id", id);
        jv_set_int(doc, "pid", pid);
        jv_set_int(doc, "pid_start", util_pid_start(pid));
        jv_set_str(doc, "bundle", realpath(bundle, abs_bundle) ? abs_bundle : bundle);
        jv_set_str(doc, "rootfs", p->rootfs);
        jv_set_str(doc, "created", now);
        jv_set_str(doc, "owner", "");
        jv_set(doc, "annotations", ann ? jv_copy(ann) : jv_new_object());
        jv_set_str(doc, "cgroup", p->cgroup);
        jv_set_bool(doc, "own_pidns", p->own_pidns);
        if (jv_get(p->config, "hooks"))
                jv_set(doc, "hooks", jv_copy(jv_get(p->config, "hooks")));
        return doc;
}

/* ---- hooks ---- */

/* Runs one hook with the state JSON on stdin; its timeout (seconds) kills it. */
static int run_hook(const struct jv *h, const char *state, struct err *err)
{
        const char *path = jv_get_str(h, "path");
        _cleanup_strv_ char **args = jv_to_strv(jv_get(h, "args"));
        _cleanup_strv_ char **env = jv_to_strv(jv_get(h, "env"));
        long long timeout = jv_get_int(h, "timeout", 0);
        int in[2], status = 0;
        int64_t deadline = util_now_ns() + timeout * 1000000000LL;
        pid_t pid;

        if (!path)
                return err_set(err, -EINVAL, "hook without a path");
        if (pipe2(in, O_CLOEXEC) < 0)
                return err_errno(err, "running hook %s", path);
        pid = fork();
        if (pid < 0)
                return err_errno(err, "running hook %s", path);
        if (pid == 0) {
                char *dflt[] = {(char *)path, NULL}, *noenv[] = {NULL};
                dup2(in[0], STDIN_FILENO);
                execve(path, args && args[0] ? args : dflt, env ? env : noenv);
                _exit(127);
        }
        close(in[0]);
        {
                /* A hook that exits without reading its stdin must not kill the runtime. */
                struct sigaction ign = {.sa_handler = SIG_IGN}, old;
                sigaction(SIGPIPE, &ign, &old);
                (void)!fs_write_all(in[1], state, strlen(state));
                close(in[1]);
                sigaction(SIGPIPE, &old, NULL);
        }
        for (;;) {
                pid_t w = waitpid(pid, &status, timeout > 0 ? WNOHANG : 0);
                if (w == pid || (w < 0 && errno != EINTR))
                        break;
                if (w == 0 && util_now_ns() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return err_set(err, -ETIMEDOUT, "hook %s ran past its timeout", path);
                }
                if (w == 0)
                        nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status))
                return err_set(err, -EIO, "hook %s failed (status %d)", path, status);
        return 0;
}

static int run_hooks(const struct oci_state *st, const char *kind, struct err *err)
{
        const struct jv *hooks = jv_get(jv_get(st->doc, "hooks"), kind);
        _cleanup_jv_ struct jv *state = NULL;

        if (!jv_len(hooks))
                return 0;
        state = oci_state_json(st);
        for (size_t i = 0; i < jv_len(hooks); i++)
                if (run_hook(jv_at(hooks, i), jv_to_string(state, false), err) < 0)
                        return err_wrap(err, "%s hook", kind);
        return 0;
}

/* poststart and poststop: a failing hook is a warning, and the others still run (the
 * spec's rule for those two). */
static void run_hooks_warn(const struct oci_state *st, const char *kind)
{
        const struct jv *hooks = jv_get(jv_get(st->doc, "hooks"), kind);
        _cleanup_jv_ struct jv *state = jv_len(hooks) ? oci_state_json(st) : NULL;

        for (size_t i = 0; i < jv_len(hooks); i++) {
                struct err e = {0};
                if (run_hook(jv_at(hooks, i), jv_to_string(state, false), &e) < 0)
                        fprintf(stderr, "hawser-runtime: %s hook: %s, ignoring\n", kind, e.msg);
        }
}

/* launch_oci's run_hooks: the config's hooks of kind, in the init. */
static int hooks_in_container(const void *ctx, const char *kind, const char *state, struct err *err)
{
        const struct jv *hooks = jv_get(jv_get((const struct jv *)ctx, "hooks"), kind);

        for (size_t i = 0; i < jv_len(hooks); i++)
                if (run_hook(jv_at(hooks, i), state, err) < 0)
                        return err_wrap(err, "%s hook", kind);
        return 0;
}

/* ---- create ---- */

/* The init's setup after clone, from outside: its cgroup, limits and OOM score. */
static int place(const struct oci_plan *p, pid_t pid, struct err *err)
{
        char path[64], adj[32];
        int r = cgroup_adopt(p->cgroup, pid, err);

        if (r >= 0 && cgroup_limits_any(&p->limits))
                r = cgroup_apply(p->cgroup, &p->limits, pid, err);
        if (r >= 0 && p->has_oom_score_adj) {
                snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
                snprintf(adj, sizeof(adj), "%lld", p->oom_score_adj);
                r = fs_write_string(path, adj, err);
        }
        return r;
}

static int launch_init(struct oci_state *st, struct oci_plan *p, const struct create_opts *o,
                       struct err *err)
{
        _cleanup_free_ char *fifo = util_printf("%s/exec.fifo", st->dir);
        _cleanup_strv_ char **views = NULL;
        _cleanup_close_ int fifo_fd = -1;
        struct launch l = {.pid = -1, .sync_fd = -1, .pty_master = -1};
        int code, r;

        if (!fifo)
                return err_set(err, -ENOMEM, "creating %s", p->s.id);
        if (p->s.tty && !o->console_socket)
                return err_set(err, -EINVAL,
                               "cannot allocate tty if runc will detach without "
                               "setting console socket");
        if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0)
                return err_errno(err, "creating %s", fifo);
        fifo_fd = open(fifo, O_PATH | O_CLOEXEC);
        if (fifo_fd < 0)
                return err_errno(err, "opening %s", fifo);
        p->s.start_fifo = fifo_fd;
        p->oci.no_pivot = o->no_pivot;
        p->oci.session_keyring = o->no_new_keyring ? NULL : p->s.id;
        if (o->preserve_fds < 0 || o->preserve_fds > 1 << 20)
                return err_set(err, -EINVAL, "--preserve-fds %lld is out of range",
                               o->preserve_fds);
        p->oci.preserve_fds = (int)o->preserve_fds;
        if (jv_len(jv_path(p->config, "hooks.prestart")) ||
            jv_len(jv_path(p->config, "hooks.createRuntime")) ||
            jv_len(jv_path(p->config, "hooks.createContainer")) ||
            jv_len(jv_path(p->config, "hooks.startContainer"))) {
                p->oci.run_hooks = hooks_in_container;
                p->oci.hooks_ctx = p->config;
        }
        /* A v1 cgroup mount shows the container's own cgroups: made before the init mounts
         * them (place moves it in later). */
        for (size_t i = 0; i < p->s.n_mounts; i++)
                if (p->mounts[i].cgroup_own) {
                        if (!views && !(views = cgroup_views(p->cgroup, &p->limits, err)) &&
                            err->code)
                                return -err->code;
                        p->mounts[i].cgroup_views = views;
                }
        r = launch_clone(&p->s, &l, err);
        if (r < 0) {
                /* Only the directories made above: a cgroupsPath given may hold others. */
                cgroup_views_remove(views);
                return r;
        }
        st->pid = l.pid;
        st->doc = state_doc(p->s.id, o->bundle, p, l.pid);
        st->cgroup = jv_get_str(st->doc, "cgroup");
        st->own_pidns = p->own_pidns;
        r = place(p, l.pid, err);
        /* The runtime's hooks once the init has made its mounts and waits, as runc runs
         * them; then the init's own (createContainer) get the same state. */
        if (r >= 0 && p->oci.run_hooks)
                (void)launch_wait_mounted(&l);
        if (r >= 0)
                r = oci_state_save(st, err);
        if (r >= 0)
                r = run_hooks(st, "prestart", err);
        if (r >= 0)
                r = run_hooks(st, "createRuntime", err);
        if (r >= 0 && p->oci.run_hooks) {
                _cleanup_jv_ struct jv *state = oci_state_json(st);
                r = launch_send_state(&l, jv_to_string(state, false), err);
        }
        if (r >= 0)
                r = launch_go(&l, &code, err);
        if (r >= 0 && l.pty_master >= 0)
                r = send_console(o->console_socket, l.pty_master, err);
        if (l.pty_master >= 0)
                close(l.pty_master);
        if (l.sync_fd >= 0)
                close(l.sync_fd);
        return r;
}

static int destroy(struct oci_state *st)
{
        struct err ignored = {0};

        if (st->pid > 0)
                kill(st->pid, SIGKILL);
        if (st->cgroup && *st->cgroup)
                cgroup_remove(st->cgroup);
        return fs_rm_rf(st->dir, &ignored);
}

static int do_create(const struct oci_global *g, const char *id, struct create_opts *o,
                     struct oci_state *st, struct err *err)
{
        struct oci_plan p;
        int r;

        *st = (struct oci_state){0};
        if (o->preserve_fds > 0)
                launch_fill_fds(o->preserve_fds);
        if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
                return err_set(err, -EINVAL, "invalid id format: %s", id);
        if (fs_mkdir_p(g->root, 0711, err) < 0)
                return -err->code;
        st->dir = util_printf("%s/%s", g->root, id);
        if (!st->dir)
                return err_set(err, -ENOMEM, "creating %s", id);
        if (mkdir(st->dir, 0711) < 0) {
                int e = errno;
                free(st->dir);
                st->dir = NULL;
                return e == EEXIST ? err_set(err, -EEXIST, "container with id exists: %s", id)
                                   : err_errno(err, "creating %s/%s", g->root, id);
        }
        r = oci_plan_load(o->bundle, id, &p, err);
        if (r >= 0)
                r = launch_init(st, &p, o, err);
        if (r >= 0)
                r = oci_state_save(st, err);
        if (r >= 0 && o->pid_file)
                r = write_pid_file(o->pid_file, st->pid, err);
        if (r < 0) {
                destroy(st);
                if (st->pid > 0)
                        waitpid(st->pid, NULL, 0);
        }
        oci_plan_free(&p);
        return r;
}

int oci_cmd_create(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct create_opts o = {.bundle = "."};
        struct oci_state st;
        int r = oci_parse_id(create_defs, argc, argv, &o, 1, err);

        if (r < 0)
                return 1;
        /* run's flag: create always leaves the container behind (runc has no create -d). */
        if (o.detach)
                return err_set(err, -EINVAL, "create: unknown flag: --detach"), 1;
        r = do_create(g, argv[1], &o, &st, err);
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

/* ---- start ---- */

/* Opens the fifo without blocking and waits for the init's byte: an init that died before
 * opening its end would otherwise leave start blocked forever. */
static int release(struct oci_state *st, struct err *err)
{
        _cleanup_free_ char *fifo = util_printf("%s/exec.fifo", st->dir);
        _cleanup_close_ int fd = -1;
        char c;

        if (!fifo)
                return err_set(err, -ENOMEM, "starting");
        fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening %s", fifo);
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int n = poll(&pfd, 1, 100);
                if (n < 0 && errno != EINTR)
                        return err_errno(err, "waiting for the container's init");
                if (n > 0 && read(fd, &c, 1) == 1)
                        break;
                if (oci_state_status(st) == OCI_STOPPED)
                        return err_set(err, -ESRCH, "container init exited before start");
        }
        unlink(fifo);
        return 0;
}

int oci_cmd_start(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct oci_state st;
        int r = 0;

        if (oci_parse_id((const struct opt_def[]){OPT_END}, argc, argv, NULL, 1, err) < 0 ||
            oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        switch (oci_state_status(&st)) {
        case OCI_CREATED:
                r = release(&st, err);
                break;
        case OCI_STOPPED:
                r = err_set(err, -EINVAL, "cannot start a container that has stopped");
                break;
        case OCI_RUNNING:
        case OCI_PAUSED:
                r = err_set(err, -EINVAL, "cannot start an already running container");
                break;
        }
        if (r >= 0)
                run_hooks_warn(&st, "poststart");
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

/* ---- run ---- */

static volatile pid_t run_child;

static void forward(int sig)
{
        if (run_child > 0)
                kill(run_child, sig);
}

static int wait_exit(pid_t pid)
{
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        struct sigaction sa = {.sa_handler = forward};
        int status = 0;

        run_child = pid;
        for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                sigaction(sigs[i], &sa, NULL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int oci_cmd_run(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct create_opts o = {.bundle = "."};
        struct oci_state st;
        int r = oci_parse_id(create_defs, argc, argv, &o, 1, err), code = 0;

        if (r < 0)
                return 1;
        r = do_create(g, argv[1], &o, &st, err);
        if (r >= 0)
                r = release(&st, err);
        if (r >= 0)
                run_hooks_warn(&st, "poststart");
        if (r >= 0 && o.detach) {
                oci_state_free(&st);
                return 0;
        }
        if (r >= 0)
                code = wait_exit(st.pid);
        if (st.dir) {
                run_hooks_warn(&st, "poststop");
                destroy(&st);
        }
        oci_state_free(&st);
        return r < 0 ? 1 : code;
}

/* ---- kill, delete, pause, resume, ps ---- */

struct kill_opts {
        bool all;
};

static const struct opt_def kill_defs[] = {
        {"all", 'a', OPT_BOOL, offsetof(struct kill_opts, all)},
        OPT_END,
};

static int signal_all(const struct oci_state *st, int sig, struct err *err)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        if (cgroup_container_pids(st->cgroup, st->pid, st->own_pidns, &pids, &n, err) < 0)
                return -err->code;
        for (size_t i = 0; i < n; i++)
                kill(pids[i], sig);
        return 0;
}

int oci_cmd_kill(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct kill_opts o = {0};
        struct oci_state st;
        int sig = SIGTERM, r = oci_parse_id(kill_defs, argc, argv, &o, 2, err);

        if (r < 0)
                return 1;
        if (r == 2 && (sig = util_parse_signal(argv[2])) < 0)
                return err_set(err, -EINVAL, "unknown signal \"%s\"", argv[2]), 1;
        if (oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        if (oci_state_status(&st) == OCI_STOPPED)
                r = err_set(err, -ESRCH, "container not running");
        else if (o.all)
                r = signal_all(&st, sig, err);
        else if (kill(st.pid, sig) < 0)
                r = err_errno(err, "sending signal %d to %s", sig, argv[1]);
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

struct delete_opts {
        bool force;
};

static const struct opt_def delete_defs[] = {
        {"force", 'f', OPT_BOOL, offsetof(struct delete_opts, force)},
        OPT_END,
};

int oci_cmd_delete(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct delete_opts o = {0};
        struct oci_state st;
        struct err ignored = {0};
        enum oci_status s;
        int r = oci_parse_id(delete_defs, argc, argv, &o, 1, err);

        if (r < 0)
                return 1;
        r = oci_state_load(g->root, argv[1], &st, err);
        /* A create that died before its state was written leaves a bare directory. */
        if (r == -ENOENT) {
                _cleanup_free_ char *dir = util_printf("%s/%s", g->root, argv[1]);
                if (dir && !strchr(argv[1], '/'))
                        fs_rm_rf(dir, &ignored);
                return o.force ? 0 : 1;
        }
        if (r < 0)
                return 1;
        s = oci_state_status(&st);
        if ((s == OCI_RUNNING || s == OCI_PAUSED) && !o.force) {
                r = err_set(err, -EBUSY, "cannot delete container %s that is not stopped: %s",
                            argv[1], oci_status_name(s));
        } else {
                destroy(&st);
                run_hooks_warn(&st, "poststop");
        }
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

int oci_cmd_pause(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        bool pause = !strcmp(argv[0], "pause");
        struct oci_state st;
        enum oci_status s;
        int r;

        if (oci_parse_id((const struct opt_def[]){OPT_END}, argc, argv, NULL, 1, err) < 0 ||
            oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        s = oci_state_status(&st);
        if (s != (pause ? OCI_RUNNING : OCI_PAUSED))
                r = err_set(err, -EINVAL, "container not %s", pause ? "running" : "paused");
        else
                r = cgroup_freeze(st.cgroup, pause, err);
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

struct ps_opts {
        const char *format;
};

static const struct opt_def ps_defs[] = {
        {"format", 'f', OPT_STR, offsetof(struct ps_opts, format)},
        OPT_END,
};

/* The table is ps(1)'s, as runc prints it: its lines for the container's pids. */
static int ps_table(const pid_t *pids, size_t n, struct err *err)
{
        FILE *f = popen("ps -ef", "re");
        char line[4096]; /* a ps line longer than this is cut: only its start is matched */
        bool header = true;

        if (!f)
                return err_errno(err, "running ps");
        while (fgets(line, sizeof(line), f)) {
                long pid = 0;
                bool ours = header;
                sscanf(line, "%*s %ld", &pid);
                for (size_t i = 0; !ours && i < n; i++)
                        ours = pids[i] == (pid_t)pid;
                if (ours)
                        fputs(line, stdout);
                header = false;
        }
        pclose(f);
        return 0;
}

int oci_cmd_ps(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct ps_opts o = {.format = "table"};
        _cleanup_free_ pid_t *pids = NULL;
        struct oci_state st;
        size_t n = 0;
        int r;

        if (oci_parse_id(ps_defs, argc, argv, &o, 1, err) < 0 ||
            oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        r = cgroup_container_pids(st.cgroup, st.pid, st.own_pidns, &pids, &n, err);
        if (r >= 0 && !strcmp(o.format, "json")) {
                _cleanup_jv_ struct jv *a = jv_new_array();
                for (size_t i = 0; i < n; i++)
                        jv_append(a, jv_new_int(pids[i]));
                printf("%s\n", jv_to_string(a, false));
        } else if (r >= 0 && !strcmp(o.format, "table")) {
                r = ps_table(pids, n, err);
        } else if (r >= 0) {
                r = err_set(err, -EINVAL, "invalid format option");
        }
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}

/* ---- update ---- */

struct update_opts {
        const char *resources;
        long long memory, pids_limit, cpu_shares, cpu_quota, cpu_period;
        const char *cpuset_cpus, *cpuset_mems;
};

static const struct opt_def update_defs[] = {
        {"resources", 'r', OPT_STR, offsetof(struct update_opts, resources)},
        {"memory", 'm', OPT_INT, offsetof(struct update_opts, memory)},
        {"pids-limit", 0, OPT_INT, offsetof(struct update_opts, pids_limit)},
        {"cpu-shares", 0, OPT_INT, offsetof(struct update_opts, cpu_shares)},
        {"cpu-quota", 0, OPT_INT, offsetof(struct update_opts, cpu_quota)},
        {"cpu-period", 0, OPT_INT, offsetof(struct update_opts, cpu_period)},
        {"cpuset-cpus", 0, OPT_STR, offsetof(struct update_opts, cpuset_cpus)},
        {"cpuset-mems", 0, OPT_STR, offsetof(struct update_opts, cpuset_mems)},
        OPT_END,
};

/* --resources FILE (or - for stdin, as containerd's shim sends it): an OCI LinuxResources
 * object; the flags change single values on top of it. */
static int update_limits(const struct update_opts *o, struct jv **ret_doc, struct cgroup_limits *l,
                         struct err *err)
{
        *l = (struct cgroup_limits){0};
        *ret_doc = NULL;
        if (o->resources) {
                _cleanup_free_ char *text = NULL;
                int r = fs_read_file(strcmp(o->resources, "-") ? o->resources : "/dev/stdin", &text,
                                     NULL, err);
                if (r < 0 || jv_parse(text, ret_doc, err) < 0)
                        return err_wrap(err, "reading resources %s", o->resources);
                if (oci_plan_resources(*ret_doc, l, err) < 0)
                        return -err->code;
        }
        l->memory = o->memory ?: l->memory;
        l->pids_limit = o->pids_limit ?: l->pids_limit;
        l->cpu_shares = o->cpu_shares ?: l->cpu_shares;
        l->cpu_quota = o->cpu_quota ?: l->cpu_quota;
        l->cpu_period = o->cpu_period ?: l->cpu_period;
        l->cpuset_cpus = o->cpuset_cpus ?: l->cpuset_cpus;
        l->cpuset_mems = o->cpuset_mems ?: l->cpuset_mems;
        return 0;
}

int oci_cmd_update(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct update_opts o = {0};
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        struct cgroup_limits l;
        struct oci_state st;
        size_t n = 0;
        int r;

        if (oci_parse_id(update_defs, argc, argv, &o, 1, err) < 0 ||
            oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        r = update_limits(&o, &doc, &l, err);
        if (r >= 0 && oci_state_status(&st) == OCI_STOPPED)
                r = err_set(err, -EINVAL, "container not running");
        /* Every process goes in, not only the init (a limit set at create had them all). */
        if (r >= 0)
                r = cgroup_apply(st.cgroup, &l, st.pid, err);
        if (r >= 0)
                r = cgroup_container_pids(st.cgroup, st.pid, st.own_pidns, &pids, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (pids[i] != st.pid)
                        r = cgroup_join(st.cgroup, pids[i], err);
        oci_resources_free(&l);
        oci_state_free(&st);
        return r < 0 ? 1 : 0;
}
