#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "commands.h"
#include "container.h"
#include "launch.h"
#include "lifecycle.h"
#include "selfexe.h"
#include "network.h"
#include "opt.h"
#include "secprof.h"
#include "teardown.h"

struct exec_opts {
        bool detach, interactive, tty, privileged;
        char *workdir, *user, *detach_keys;
        char **env, **env_file;
};

static const char *const ns_names[] = {"ipc", "uts", "net", "cgroup", "pid", "mnt"};

struct exec_plan {
        const struct exec_opts *o;
        char **argv, **env, **cap_add, **cap_drop, **group_add;
        const char *id, *cwd, *user;
        bool privileged;
        struct secprof sp;
        struct secprof_bpf bpf;
        int ns[6];
        int sync; /* child end */
};

static int open_namespaces(pid_t pid, int ns[6], struct err *err)
{
        for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns_names[i]);
                ns[i] = open(p, O_RDONLY | O_CLOEXEC);
                if (ns[i] < 0)
                        return err_errno(err, "opening %s", p);
        }
        return 0;
}

static int tty_child(int sync, struct err *err)
{
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave, r;
        char name[64];

        if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
                return err_errno(err, "allocating a terminal");
        r = launch_send_fd(sync, master);
        if (r < 0) {
                errno = -r;
                return err_errno(err, "sending the terminal");
        }
        close(master);
        slave = open(name, O_RDWR | O_NOCTTY);
        if (slave < 0 || setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                return err_errno(err, "opening %s", name);
        for (int i = 0; i < 3; i++)
                dup2(slave, i);
        if (slave > 2)
                close(slave);
        return 0;
}

static void __attribute__((noreturn)) exec_grandchild(struct exec_plan *p)
{
        struct err err = {0};
        int code = 126;

        if (p->o->tty && tty_child(p->sync, &err) < 0)
                goto fail;
        /* With -t the terminal is stdin too, as with Docker; -i only decides whether the
         * client forwards what is typed. */
        if (p->o->detach || (!p->o->interactive && !p->o->tty)) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 0);
                if (p->o->detach)
                        dup2(null, 1), dup2(null, 2);
        }
        launch_exec_process(
                &(struct launch_proc){.argv = p->argv,
                                      .env = p->env,
                                      .cwd = p->cwd,
                                      .user = p->user,
                                      .privileged = p->privileged,
                                      .cap_add = p->cap_add,
                                      .cap_drop = p->cap_drop,
                                      .group_add = p->group_add,
                                      .seccomp = p->sp.seccomp && !p->privileged,
                                      .seccomp_profile = p->sp.profile,
                                      .seccomp_bpf = p->bpf.len ? &p->bpf : NULL,
                                      .no_new_privs = p->sp.no_new_privs && !p->privileged},
                &code, &err);
fail:
        launch_send_error(p->sync, code, &err);
        _exit(code);
}

/* Joins the container's namespaces and cgroup, then forks the process that execs (a pid
 * namespace applies to children only). */
static void __attribute__((noreturn)) exec_child(struct exec_plan *p)
{
        struct err err = {0};
        int status;
        pid_t pid;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Its child is the host's hawser binary inside the container until it execs: not
         * dumpable, so its /proc/PID/exe needs CAP_SYS_PTRACE (execve makes the command
         * dumpable again). */
        prctl(PR_SET_DUMPABLE, 0);
        if (cgroup_join(p->id, getpid(), &err) < 0) {
                launch_send_error(p->sync, 126, &err);
                _exit(126);
        }
        for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++) {
                if (setns(p->ns[i], 0) < 0) {
                        err_errno(&err, "joining the %s namespace", ns_names[i]);
                        launch_send_error(p->sync, 126, &err);
                        _exit(126);
                }
        }
        pid = fork();
        if (pid == 0)
                exec_grandchild(p);
        close(p->sync);
        if (pid < 0 || p->o->detach)
                _exit(pid < 0 ? 126 : 0);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void copy_winsize(int master)
{
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
}

/* Relays our terminal to the exec'd process's pty until it closes. */
static void relay_pty(int master, bool with_stdin)
{
        struct termios saved, raw;
        bool restore = false;
        sigset_t mask;
        int sfd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
                copy_winsize(master);
        }
        for (;;) {
                struct pollfd p[3] = {{.fd = master, .events = POLLIN},
                                      {.fd = with_stdin ? STDIN_FILENO : -1, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                char buf[16384];
                ssize_t n;
                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents) {
                        n = read(master, buf, sizeof(buf));
                        if (n <= 0 && errno != EINTR && errno != EAGAIN)
                                break;
                        if (n > 0)
                                fs_write_all(STDOUT_FILENO, buf, (size_t)n);
                }
                if (p[1].revents) {
                        n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0)
                                with_stdin = false;
                        else
                                fs_write_all(master, buf, (size_t)n);
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) > 0)
                                ;
                        copy_winsize(master);
                }
        }
        if (restore)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

static int wait_exit(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return 126;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_exec(struct cli *cli, struct exec_plan *p, struct err *err)
{
        int sv[2], code = 126, master = -1, r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return err_errno(err, "creating the exec socket");
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return err_errno(err, "forking");
        if (pid == 0) {
                close(sv[0]);
                p->sync = sv[1];
                exec_child(p);
        }
        close(sv[1]);
        while ((r = launch_recv_result(sv[0], &code, &master, err)) == 1)
                ;
        close(sv[0]);
        if (r < 0) {
                wait_exit(pid);
                if (master >= 0)
                        close(master);
                cli_fail_status(cli, code);
                return r;
        }
        if (master >= 0) {
                relay_pty(master, p->o->interactive);
                close(master);
        }
        return wait_exit(pid);
}

int cmd_exec(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"detach", 'd', OPT_BOOL, offsetof(struct exec_opts, detach)},
                {"interactive", 'i', OPT_BOOL, offsetof(struct exec_opts, interactive)},
                {"tty", 't', OPT_BOOL, offsetof(struct exec_opts, tty)},
                {"privileged", 0, OPT_BOOL, offsetof(struct exec_opts, privileged)},
                {"workdir", 'w', OPT_STR, offsetof(struct exec_opts, workdir)},
                {"user", 'u', OPT_STR, offsetof(struct exec_opts, user)},
                {"detach-keys", 0, OPT_STR, offsetof(struct exec_opts, detach_keys)},
                {"env", 'e', OPT_LIST, offsetof(struct exec_opts, env)},
                {"env-file", 0, OPT_LIST, offsetof(struct exec_opts, env_file)},
                OPT_END,
        };
        struct exec_opts o = {0};
        struct exec_plan p = {.o = &o, .ns = {-1, -1, -1, -1, -1, -1}};
        struct container *c = NULL;
        const struct jv *cfg, *hc;
        int n = opt_parse(defs, argc - 1, argv + 1, true, &o, err), r;

        if (n < 0 || n < 2) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "exec", err, "%s",
                                       n < 0 ? err->msg
                                             : "\"hawser exec\" requires at least 2 arguments.");
        }
        /* Exit 126 is for a command that cannot run; anything before that is 1. */
        cli_fail_status(cli, 1);
        r = teardown_find(cli, argv[1], &c, err);
        if (r >= 0)
                lifecycle_heal_freeze(c);
        if (r >= 0 && !container_is_running(c))
                r = err_set(err, -EINVAL, "container %s is not running", c->id);
        else if (r >= 0 && !strcmp(container_status(c), "paused"))
                r = err_set(err, -EINVAL,
                            "container %s is paused, unpause the container before exec", c->id);
        /* The process that enters the container is this one's child: where a process in
         * the container could reach its /proc/PID/exe, it is a sealed copy of hawser. */
        if (r >= 0 && !cli->sealed && selfexe_needed(jv_get(c->doc, "HostConfig")))
                selfexe_reexec(cli, cli->argv);
        if (r >= 0) {
                cfg = jv_get(c->doc, "Config");
                hc = jv_get(c->doc, "HostConfig");
                p.id = c->id;
                p.argv = argv + 2;
                p.env = jv_to_strv(jv_get(cfg, "Env"));
                /* As for the container's own process: HOSTNAME is not in Config.Env. */
                if (p.env && !util_env_has(p.env, "HOSTNAME")) {
                        _cleanup_free_ char *h =
                                util_printf("HOSTNAME=%s", jv_get_str(cfg, "Hostname") ?: "");
                        if (!h || util_strv_push(&p.env, h) < 0)
                                r = err_set(err, -ENOMEM, "preparing the exec");
                }
                /* Like the container's own process, an exec sees the link variables. */
                if (p.env && network_link_env(cli, c, NULL, &p.env, err) < 0)
                        r = -err->code;
                if (o.tty)
                        util_env_set(&p.env, "TERM=xterm");
                for (char **e = o.env; p.env && e && *e; e++)
                        util_env_set(&p.env, *e);
                p.cwd = o.workdir ? o.workdir : jv_get_str(cfg, "WorkingDir");
                p.user = o.user ? o.user : jv_get_str(cfg, "User");
                p.privileged = o.privileged || jv_get_bool(hc, "Privileged");
                p.cap_add = jv_to_strv(jv_get(hc, "CapAdd"));
                p.group_add = jv_to_strv(jv_get(hc, "GroupAdd"));
                p.cap_drop = jv_to_strv(jv_get(hc, "CapDrop"));
                if (r >= 0)
                        r = secprof_parse(jv_get(hc, "SecurityOpt"), &p.sp, err);
                if (r >= 0) {
                        _cleanup_free_ char *cache = cli_runroot_path(cli, "seccomp");

                        secprof_prepare(&p.sp, p.privileged, p.cap_add, p.cap_drop, cache, &p.bpf);
                }
                if (r >= 0)
                        r = open_namespaces((pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0),
                                            p.ns, err);
        }
        if (r >= 0)
                r = run_exec(cli, &p, err);
        for (int i = 0; i < 6; i++)
                if (p.ns[i] >= 0)
                        close(p.ns[i]);
        util_strv_free(p.env), util_strv_free(p.cap_add), util_strv_free(p.cap_drop);
        util_strv_free(p.group_add);
        secprof_bpf_free(&p.bpf);
        container_free(c);
        opt_free_lists(defs, &o);
        return r;
}
