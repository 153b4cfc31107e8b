/* The exec engine: a process started in a running container (exec.h). The command is
 * exec_cmd.c. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cgroup.h"
#include "exec.h"
#include "launch.h"
#include "network.h"
#include "secprof.h"

static const char *const ns_names[EXEC_NS_N] = {"ipc", "uts", "net", "cgroup", "pid", "mnt"};

struct exec_plan {
        const struct exec_opts *o;
        char **argv, **env, **cap_add, **cap_drop, **group_add;
        const char *id, *cgroup, *cwd, *user;
        bool privileged;
        struct secprof sp;
        struct secprof_bpf bpf;
        int ns[EXEC_NS_N];
        int sync; /* child end */
};

int exec_open_namespaces(pid_t pid, int ns[EXEC_NS_N], struct err *err)
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

int exec_join_namespaces(const int ns[EXEC_NS_N], struct err *err)
{
        for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
                if (setns(ns[i], 0) < 0)
                        return err_errno(err, "joining the %s namespace", ns_names[i]);
        return 0;
}

int exec_tty_child(int sync, struct err *err)
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

        if (p->o->tty && exec_tty_child(p->sync, &err) < 0)
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
                                      .no_new_privs = p->sp.no_new_privs && !p->privileged,
                                      /* Its parent exits at once: a parent-death signal
                                       * set before that would kill it. */
                                      .detach = p->o->detach},
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
        if (cgroup_join(p->cgroup, getpid(), &err) < 0) {
                launch_send_error(p->sync, 126, &err);
                _exit(126);
        }
        if (exec_join_namespaces(p->ns, &err) < 0) {
                launch_send_error(p->sync, 126, &err);
                _exit(126);
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

/* The process plan of an exec of argv in c: the container's environment (with HOSTNAME and
 * the link variables), user, working directory, privileges, syscall filter and namespaces,
 * each overridden by the options given. */
static int plan_build(const struct cli *cli, const struct container *c, const struct exec_opts *o,
                      char **argv, struct exec_plan *p, struct err *err)
{
        const struct jv *cfg = jv_get(c->doc, "Config"), *hc = jv_get(c->doc, "HostConfig");
        int r = 0;

        p->o = o;
        p->id = c->id;
        p->cgroup = c->cgroup;
        p->argv = argv;
        p->env = jv_to_strv(jv_get(cfg, "Env"));
        /* As for the container's own process: HOSTNAME is not in Config.Env. */
        if (p->env && !util_env_has(p->env, "HOSTNAME")) {
                _cleanup_free_ char *h =
                        util_printf("HOSTNAME=%s", jv_get_str(cfg, "Hostname") ?: "");
                if (!h || util_strv_push(&p->env, h) < 0)
                        return err_set(err, -ENOMEM, "preparing the exec");
        }
        /* Like the container's own process, an exec sees the link variables. */
        if (p->env && network_link_env(cli, c, NULL, &p->env, err) < 0)
                return -err->code;
        if (o->tty)
                util_env_set(&p->env, "TERM=xterm");
        /* --env-file first, then -e, as run reads them. */
        for (char **f = o->env_file; p->env && f && *f; f++)
                if (util_env_file_load(*f, &p->env, err) < 0)
                        return -err->code;
        for (char **e = o->env; p->env && e && *e; e++) {
                if (**e == '=')
                        return err_set(err, -EINVAL, "invalid environment variable: %s", *e);
                if (util_env_put_user(&p->env, *e) < 0)
                        return err_set(err, -ENOMEM, "preparing the exec");
        }
        p->cwd = o->workdir ? o->workdir : jv_get_str(cfg, "WorkingDir");
        p->user = o->user ? o->user : jv_get_str(cfg, "User");
        p->privileged = o->privileged || jv_get_bool(hc, "Privileged");
        p->cap_add = jv_to_strv(jv_get(hc, "CapAdd"));
        p->group_add = jv_to_strv(jv_get(hc, "GroupAdd"));
        p->cap_drop = jv_to_strv(jv_get(hc, "CapDrop"));
        r = secprof_parse(jv_get(hc, "SecurityOpt"), &p->sp, err);
        if (r >= 0) {
                _cleanup_free_ char *cache = cli_runroot_path(cli, "seccomp");

                secprof_prepare(&p->sp, p->privileged, p->cap_add, p->cap_drop, cache, &p->bpf);
        }
        if (r >= 0)
                r = exec_open_namespaces((pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0),
                                         p->ns, err);
        return r;
}

static void plan_free(struct exec_plan *p)
{
        for (int i = 0; i < 6; i++)
                if (p->ns[i] >= 0)
                        close(p->ns[i]);
        util_strv_free(p->env), util_strv_free(p->cap_add), util_strv_free(p->cap_drop);
        util_strv_free(p->group_add);
        secprof_bpf_free(&p->bpf);
}

int exec_wait(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return 126;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int exec_start(const struct cli *cli, const struct container *c, const struct exec_opts *o,
               char **argv, int out_fd, pid_t *ret_pid, int *ret_master, int *ret_code,
               struct err *err)
{
        struct exec_plan p = {.ns = {-1, -1, -1, -1, -1, -1}};
        int sv[2] = {-1, -1}, master = -1, r;
        pid_t pid = -1;

        *ret_code = 126;
        r = plan_build(cli, c, o, argv, &p, err);
        if (r >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                r = err_errno(err, "creating the exec socket");
        fflush(stdout);
        if (r >= 0 && (pid = fork()) < 0)
                r = err_errno(err, "forking");
        if (pid == 0) {
                if (out_fd >= 0) {
                        sigset_t none;
                        /* Its own process group, so a timeout kills the command and its
                         * children; the caller's blocked and ignored signals are not the
                         * command's. */
                        setpgid(0, 0);
                        sigemptyset(&none);
                        sigprocmask(SIG_SETMASK, &none, NULL);
                        signal(SIGPIPE, SIG_DFL);
                        dup2(out_fd, STDOUT_FILENO);
                        dup2(out_fd, STDERR_FILENO);
                }
                close(sv[0]);
                p.sync = sv[1];
                exec_child(&p);
        }
        if (sv[1] >= 0)
                close(sv[1]);
        while (r >= 0 && (r = launch_recv_result(sv[0], ret_code, &master, err)) == 1)
                ;
        if (sv[0] >= 0)
                close(sv[0]);
        plan_free(&p);
        if (r < 0) {
                if (pid > 0)
                        exec_wait(pid);
                if (master >= 0)
                        close(master);
                return r;
        }
        *ret_pid = pid;
        if (ret_master)
                *ret_master = master;
        else if (master >= 0)
                close(master);
        return 0;
}

int exec_spawn(const struct cli *cli, const struct container *c, char **argv, int out_fd,
               pid_t *ret_pid, struct err *err)
{
        static const struct exec_opts o = {0};
        int code;

        return exec_start(cli, c, &o, argv, out_fd, ret_pid, NULL, &code, err);
}
