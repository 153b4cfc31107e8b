/* `hawser exec`: the command; the process is started by the exec engine (exec.c). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "container.h"
#include "events.h"
#include "exec.h"
#include "lifecycle.h"
#include "opt.h"
#include "selfexe.h"
#include "teardown.h"

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

/* Docker's exec events: "exec_create: CMD ARGS" and "exec_start: CMD ARGS" (the command
 * after a colon, args joined by blanks), then exec_die with the exit code; each names the
 * exec by an id of its own (execID). */
struct exec_events {
        const struct cli *cli;
        const struct container *c;
        char id[65];
        char *cmd; /* "CMD ARGS" */
};

static void exec_event(const struct exec_events *x, const char *action, const char *code)
{
        _cleanup_free_ char *a = code ? strdup(action) : util_printf("%s: %s", action, x->cmd);

        if (a && x->cmd)
                events_container(x->cli, x->c, a, "execID", x->id, "exitCode", code, NULL);
}

static void exec_events_begin(struct exec_events *x, const struct cli *cli,
                              const struct container *c, char **argv)
{
        _cleanup_free_ char *args = util_strv_join(argv + 1, " ");
        struct err ignored = {0};

        *x = (struct exec_events){.cli = cli, .c = c};
        if (util_random_hex(x->id, &ignored) == 0 && args)
                x->cmd = util_printf("%s %s", argv[0], args);
        exec_event(x, "exec_create", NULL);
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
        struct exec_events x = {0};
        int master = -1, code = 126;
        char exit_code[16];
        pid_t pid;
        struct container *c = NULL;
        int n = opt_parse(defs, argc - 1, argv + 1, true, &o, err), r;

        if (n < 0 || n < 2) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "exec", err, "%s",
                                       n < 0 ? err->msg
                                             : "\"hawser exec\" requires at least 2 arguments.");
        }
        /* Exit 126 is for a command that cannot run; anything before that is 1. */
        cli_fail_status(cli, 1);
        /* Docker's shim keeps a detached exec's terminal; without a daemon nothing would, and
         * the process would be hung up: refused rather than taken and lost. */
        if (o.detach_keys) {
                opt_free_lists(defs, &o);
                return err_set(err, -ENOTSUP,
                               "--detach-keys: hawser exec cannot detach from a process (no "
                               "daemon keeps its terminal); run it with exec -d instead");
        }
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
                exec_events_begin(&x, cli, c, argv + 2);
                r = exec_start(cli, c, &o, argv + 2, -1, &pid, &master, &code, err);
                exec_event(&x, "exec_start", NULL);
                if (r < 0)
                        cli_fail_status(cli, code);
        }
        if (r >= 0 && master >= 0) {
                relay_pty(master, o.interactive);
                close(master);
        }
        if (r >= 0)
                r = code = exec_wait(pid);
        /* A detached exec ends unwatched: nothing tells its death. */
        snprintf(exit_code, sizeof(exit_code), "%d", code);
        if (x.cmd && !(r >= 0 && o.detach))
                exec_event(&x, "exec_die", exit_code);
        free(x.cmd);
        container_free(c);
        opt_free_lists(defs, &o);
        return r;
}
