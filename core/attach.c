#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "base/cleanup.h"
#include "base/fs.h"
#include "monitor.h"

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

int attach_connect(const char *path, struct err *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return err_set(err, -ENAMETOOLONG, "attach socket path too long: %s", path);
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_errno(err, "creating attach socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = err_errno(err, "attaching to %s", path);
                close(fd);
                return r;
        }
        return fd;
}

static void send_frame(int sock, char type, const void *data, size_t len)
{
        char buf[MONITOR_CHUNK + 1];

        buf[0] = type;
        if (len)
                memcpy(buf + 1, data, len);
        (void)!send(sock, buf, len + 1, MSG_NOSIGNAL);
}

static void send_resize(int sock)
{
        struct winsize ws;
        uint16_t rc[2];

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        rc[0] = ws.ws_row;
        rc[1] = ws.ws_col;
        send_frame(sock, MONITOR_RESIZE, rc, sizeof(rc));
}

int attach_detach_keys(const char *spec, char keys[ATTACH_KEYS_MAX], size_t *ret_n, struct err *err)
{
        _cleanup_free_ char *copy = strdup(spec && *spec ? spec : "ctrl-p,ctrl-q");
        char *save = NULL;
        size_t n = 0;

        if (!copy)
                return err_set(err, -ENOMEM, "reading the detach keys");
        for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                char c;
                if (n == ATTACH_KEYS_MAX)
                        return err_set(err, -EINVAL, "Invalid detach keys (%s) provided", spec);
                if (strlen(k) == 1) {
                        c = k[0];
                } else if (strlen(k) == 6 && !strncasecmp(k, "ctrl-", 5) &&
                           ((tolower((unsigned char)k[5]) >= 'a' &&
                             tolower((unsigned char)k[5]) <= 'z') ||
                            strchr("@[\\]^_", k[5]))) {
                        /* ctrl-a is 1 ... ctrl-z 26; ctrl-@ 0, ctrl-[ 27 ... ctrl-_ 31. */
                        c = isalpha((unsigned char)k[5])
                                    ? (char)(tolower((unsigned char)k[5]) - 'a' + 1)
                                    : (char)(k[5] - '@');
                } else {
                        return err_set(err, -EINVAL, "Invalid detach keys (%s) provided", spec);
                }
                keys[n++] = c;
        }
        if (!n)
                return err_set(err, -EINVAL, "Invalid detach keys (%s) provided", spec);
        *ret_n = n;
        return 0;
}

bool attach_detach_seen(const char *keys, size_t n_keys, const char *buf, size_t n, size_t *state)
{
        for (size_t i = 0; i < n; i++) {
                if (buf[i] == keys[*state]) {
                        if (++*state == n_keys)
                                return true;
                } else {
                        *state = buf[i] == keys[0];
                }
        }
        return false;
}

struct relay {
        int sock, sigfd;
        const struct attach_opts *o;
        bool stdin_open;
        size_t detach_state;
};

/* Returns >= 0 exit code when done, -1 to continue, -EPIPE when the monitor vanished. */
static int from_monitor(struct relay *r)
{
        char buf[MONITOR_CHUNK + 1];
        ssize_t n = recv(r->sock, buf, sizeof(buf), 0);
        int32_t code;

        if (n < 0 && errno == EINTR)
                return -1;
        if (n <= 0)
                return -EPIPE;
        switch (buf[0]) {
        case MONITOR_STDOUT:
                fs_write_all(STDOUT_FILENO, buf + 1, (size_t)n - 1);
                return -1;
        case MONITOR_STDERR:
                fs_write_all(STDERR_FILENO, buf + 1, (size_t)n - 1);
                return -1;
        case MONITOR_EXIT:
                if (n != 1 + (ssize_t)sizeof(code))
                        return -EPROTO;
                memcpy(&code, buf + 1, sizeof(code));
                return code;
        default:
                return -1;
        }
}

/* Returns 0 to continue, 1 on detach. */
static int from_stdin(struct relay *r)
{
        char buf[MONITOR_CHUNK];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
                return 0;
        if (n <= 0) {
                send_frame(r->sock, MONITOR_CLOSE, NULL, 0);
                r->stdin_open = false;
                return 0;
        }
        if (r->o->detachable &&
            attach_detach_seen(r->o->n_keys ? r->o->keys : "\x10\x11",
                               r->o->n_keys ? r->o->n_keys : 2, buf, (size_t)n, &r->detach_state))
                return 1;
        send_frame(r->sock, MONITOR_STDIN, buf, (size_t)n);
        return 0;
}

static void on_signal(struct relay *r)
{
        struct signalfd_siginfo si;

        while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGWINCH)
                        send_resize(r->sock);
                else if (r->o->proxy_pid > 0)
                        kill(r->o->proxy_pid, (int)si.ssi_signo);
        }
}

static int relay_loop(struct relay *r)
{
        for (;;) {
                struct pollfd p[3] = {
                        {.fd = r->sock, .events = POLLIN},
                        {.fd = r->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                        {.fd = r->sigfd, .events = POLLIN},
                };
                int rc;
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents) {
                        rc = from_monitor(r);
                        if (rc != -1)
                                return rc;
                }
                if (p[1].revents && from_stdin(r) == 1)
                        return -ECONNABORTED;
                if (p[2].revents)
                        on_signal(r);
        }
}

int attach_relay(int sock, const struct attach_opts *o, struct err *err)
{
        struct relay r = {.sock = sock, .o = o, .stdin_open = o->send_stdin, .sigfd = -1};
        struct termios saved, raw;
        bool restore = false;
        sigset_t mask;
        int rc;

        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        if (o->proxy_pid > 0 && !o->tty)
                for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++)
                        sigaddset(&mask, proxied[i]);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
                send_resize(sock);
        }
        rc = relay_loop(&r);
        if (restore)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (r.sigfd >= 0)
                close(r.sigfd);
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        /* Docker's CLI reports a detach as an error: "read escape sequence", exit 1. */
        if (rc == -ECONNABORTED)
                return err_set(err, -ECONNABORTED, "read escape sequence");
        if (rc < 0)
                return err_set(err, rc, "lost the connection to the container monitor");
        return rc;
}
