#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../cgroup.h"
#include "../exec.h"
#include "../opt.h"
#include "internal.h"

/* `exec`: a process started in a running container, as its config's process is, with the
 * container's seccomp profile. Like runc, the process is a child of the caller: the helper
 * that joins the namespaces clones it with CLONE_PARENT and exits. */

struct oci_exec_opts {
        const char *process, *pid_file, *console_socket, *cwd, *user;
        char **env, **cap;
        bool detach, tty, no_new_privs;
        long long preserve_fds;
};

static const struct opt_def exec_defs[] = {
        {"process", 'p', OPT_STR, offsetof(struct oci_exec_opts, process)},
        {"detach", 'd', OPT_BOOL, offsetof(struct oci_exec_opts, detach)},
        {"pid-file", 0, OPT_STR, offsetof(struct oci_exec_opts, pid_file)},
        {"console-socket", 0, OPT_STR, offsetof(struct oci_exec_opts, console_socket)},
        {"tty", 't', OPT_BOOL, offsetof(struct oci_exec_opts, tty)},
        {"cwd", 0, OPT_STR, offsetof(struct oci_exec_opts, cwd)},
        {"env", 'e', OPT_LIST, offsetof(struct oci_exec_opts, env)},
        {"user", 'u', OPT_STR, offsetof(struct oci_exec_opts, user)},
        {"cap", 'c', OPT_LIST, offsetof(struct oci_exec_opts, cap)},
        {"no-new-privs", 0, OPT_BOOL, offsetof(struct oci_exec_opts, no_new_privs)},
        {"preserve-fds", 0, OPT_INT, offsetof(struct oci_exec_opts, preserve_fds)},
        OPT_END,
};

/* The process from --process, else the container's own with the command line's changes. */
static struct jv *exec_process(const struct oci_plan *p, const struct oci_exec_opts *o, char **args,
                               struct err *err)
{
        struct jv *proc = NULL, *env;

        if (o->process) {
                if (jv_load(o->process, &proc, err) < 0)
                        err_wrap(err, "reading process %s", o->process);
                return proc;
        }
        proc = jv_copy(jv_get(p->config, "process"));
        if (!proc || !args[0]) {
                jv_put(proc);
                err_set(err, -EINVAL, "exec: no command given");
                return NULL;
        }
        jv_set(proc, "args", jv_from_strv(args));
        jv_set_bool(proc, "terminal", o->tty);
        if (o->cwd)
                jv_set_str(proc, "cwd", o->cwd);
        if (o->no_new_privs)
                jv_set_bool(proc, "noNewPrivileges", true);
        env = jv_get(proc, "env");
        if (!env)
                jv_set(proc, "env", env = jv_new_array());
        for (char **e = o->env; e && *e; e++)
                jv_append(env, jv_new_string(*e));
        if (o->user) {
                struct jv *u = jv_new_object();
                unsigned uid = 0, gid = 0;
                int n = sscanf(o->user, "%u:%u", &uid, &gid);
                jv_set_int(u, "uid", uid);
                jv_set_int(u, "gid", n == 2 ? gid : 0);
                jv_set(proc, "user", u);
        }
        for (char **c = o->cap; c && *c; c++) {
                static const char *const sets[] = {"bounding", "effective", "permitted"};
                struct jv *caps = jv_get(proc, "capabilities");
                if (!caps)
                        jv_set(proc, "capabilities", caps = jv_new_object());
                for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                        if (!jv_get(caps, sets[i]))
                                jv_set(caps, sets[i], jv_new_array());
                        jv_append(jv_get(caps, sets[i]), jv_new_string(*c));
                }
        }
        return proc;
}

struct exec_run {
        const struct oci_plan *p;
        int ns[EXEC_NS_N], sync, pid_pipe, console, preserve_fds, userns;
};

static void __attribute__((noreturn)) exec_final(const struct exec_run *x)
{
        const struct launch_spec *s = &x->p->s;
        struct err err = {0};
        int code = 126;

        if (x->console >= 0 && exec_tty_child(x->console, &err) < 0)
                goto fail;
        if (x->console < 0 && setsid() < 0) {
                err_errno(&err, "setsid");
                goto fail;
        }
        if (launch_pass_fds(x->preserve_fds, &err) < 0 ||
            (x->p->oci.apparmor_profile &&
             launch_apparmor_exec(x->p->oci.apparmor_profile, &err) < 0))
                goto fail;
        launch_exec_process(&(struct launch_proc){.argv = s->argv,
                                                  .env = s->env,
                                                  .cwd = s->cwd,
                                                  .user = s->user,
                                                  .group_add = s->group_add,
                                                  .seccomp = s->seccomp,
                                                  .seccomp_profile = s->seccomp_profile,
                                                  .no_new_privs = s->no_new_privs,
                                                  .caps = s->caps,
                                                  .detach = true},
                            &code, &err);
fail:
        launch_send_error(x->sync, code, &err);
        _exit(code);
}

/* The container's own user namespace, last (the others were joined with the host's
 * privilege); -1: it shares ours. */
static int join_userns(int fd, struct err *err)
{
        if (fd < 0)
                return 0;
        if (setns(fd, CLONE_NEWUSER) < 0)
                return err_errno(err, "joining the user namespace");
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return err_errno(err, "becoming root in the user namespace");
        return 0;
}

/* *ret: the user namespace of pid when it is not ours, else -1. */
static int open_userns(pid_t pid, int *ret, struct err *err)
{
        char path[64];
        struct stat a, b;
        int fd;

        *ret = -1;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "opening %s", path);
        if (fstat(fd, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
                close(fd);
        else
                *ret = fd;
        return 0;
}

/* Joins the container's cgroup and namespaces, then clones the process as the caller's
 * child (a PID namespace applies to children only) and tells the caller its pid. */
static void __attribute__((noreturn)) exec_helper(const struct exec_run *x, const char *cgroup)
{
        struct err err = {0};
        long pid;

        prctl(PR_SET_DUMPABLE, 0);
        if (cgroup_join(cgroup, getpid(), &err) < 0) {
                launch_send_error(x->sync, 126, &err);
                _exit(126);
        }
        if (exec_join_namespaces(x->ns, &err) < 0 || join_userns(x->userns, &err) < 0) {
                launch_send_error(x->sync, 126, &err);
                _exit(126);
        }
        pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid == 0)
                exec_final(x);
        if (pid < 0) {
                err_errno(&err, "clone");
                launch_send_error(x->sync, 126, &err);
                _exit(126);
        }
        (void)!write(x->pid_pipe, &(pid_t){(pid_t)pid}, sizeof(pid_t));
        _exit(0);
}

static int connect_console(const char *path, struct err *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "console socket path %s too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = err_errno(err, "connecting to console socket %s", path);
                if (fd >= 0)
                        close(fd);
                return r;
        }
        return fd;
}

/* Starts the process; returns its pid (the caller's child) once it has exec'd. */
static int spawn(const struct oci_state *st, struct exec_run *x, pid_t *ret, struct err *err)
{
        int sv[2], pp[2], code, r;
        pid_t helper, pid = -1;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return err_errno(err, "creating the sync socket");
        if (pipe2(pp, O_CLOEXEC) < 0) {
                close(sv[0]), close(sv[1]);
                return err_errno(err, "creating a pipe");
        }
        x->sync = sv[1];
        x->pid_pipe = pp[1];
        helper = fork();
        if (helper == 0) {
                close(sv[0]), close(pp[0]);
                exec_helper(x, st->cgroup);
        }
        close(sv[1]), close(pp[1]);
        if (helper < 0) {
                close(sv[0]), close(pp[0]);
                return err_errno(err, "fork");
        }
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
        if (read(pp[0], &pid, sizeof(pid)) != sizeof(pid))
                pid = -1;
        close(pp[0]);
        r = launch_recv_result(sv[0], &code, NULL, err);
        close(sv[0]);
        if (r < 0 && pid > 0)
                waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        if (pid <= 0)
                return err_set(err, -EIO, "exec: the process was not started");
        *ret = pid;
        return 0;
}

static int do_exec(const struct oci_state *st, struct oci_exec_opts *o, char **args, bool *ret_wait,
                   pid_t *ret_pid, struct err *err)
{
        struct oci_plan p;
        struct exec_run x = {.p = &p,
                             .ns = {-1, -1, -1, -1, -1, -1},
                             .console = -1,
                             .preserve_fds = (int)o->preserve_fds,
                             .userns = -1};
        struct jv *proc;
        int r = oci_plan_load(jv_get_str(st->doc, "bundle") ?: ".", "exec", &p, err);

        if (r >= 0) {
                proc = exec_process(&p, o, args, err);
                r = proc ? oci_plan_set_process(&p, proc, err) : -err->code;
        }
        if (r >= 0 && p.s.tty && !o->console_socket)
                r = err_set(err, -EINVAL,
                            "cannot allocate tty if runc will detach without "
                            "setting console socket");
        if (r >= 0 && p.s.tty)
                r = x.console = connect_console(o->console_socket, err);
        if (r >= 0)
                r = exec_open_namespaces(st->pid, x.ns, err);
        if (r >= 0)
                r = open_userns(st->pid, &x.userns, err);
        if (r >= 0)
                r = spawn(st, &x, ret_pid, err);
        if (r >= 0 && o->pid_file) {
                char buf[16];
                int n = snprintf(buf, sizeof(buf), "%d", (int)*ret_pid);
                r = fs_write_atomic(o->pid_file, buf, (size_t)n, 0644, err);
        }
        for (int i = 0; i < EXEC_NS_N; i++)
                if (x.ns[i] >= 0)
                        close(x.ns[i]);
        if (x.console >= 0)
                close(x.console);
        if (x.userns >= 0)
                close(x.userns);
        *ret_wait = !o->detach;
        oci_plan_free(&p);
        return r;
}

int oci_cmd_exec(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct oci_exec_opts o = {0};
        struct oci_state st;
        bool wait = false;
        pid_t pid = -1;
        int n = opt_parse(exec_defs, argc - 1, argv + 1, true, &o, err), r, status = 0;

        if (n < 0)
                return 1;
        if (n < 1)
                return err_set(err, -EINVAL, "exec: container id cannot be empty"), 1;
        if (o.preserve_fds < 0 || o.preserve_fds > 1 << 20)
                return err_set(err, -EINVAL, "--preserve-fds %lld is out of range", o.preserve_fds),
                       1;
        launch_fill_fds(o.preserve_fds);
        argv[n + 1] = NULL;
        if (oci_state_load(g->root, argv[1], &st, err) < 0)
                return opt_free_lists(exec_defs, &o), 1;
        if (oci_state_status(&st) == OCI_STOPPED)
                r = err_set(err, -EINVAL, "cannot exec in a stopped container");
        else
                r = do_exec(&st, &o, argv + 2, &wait, &pid, err);
        oci_state_free(&st);
        opt_free_lists(exec_defs, &o);
        if (r < 0)
                return 1;
        if (!wait)
                return 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
