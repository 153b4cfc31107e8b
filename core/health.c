/* Healthchecks, run by the container's monitor (health.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "cgroup.h"
#include "events.h"
#include "exec.h"
#include "health.h"

/* Docker's defaults (daemon/health.go). */
#define DEFAULT_INTERVAL       30000000000LL
#define DEFAULT_TIMEOUT        30000000000LL
#define DEFAULT_START_INTERVAL 5000000000LL
#define DEFAULT_RETRIES        3

static int64_t or_default(long long v, int64_t dflt)
{
        return v > 0 ? v : dflt;
}

/* The probe's command: CMD's words, or CMD-SHELL's line under the container's shell
 * (Config.Shell, else /bin/sh -c). NULL for NONE, none or an unknown type (Docker ignores
 * those too). */
static char **probe_argv(const struct jv *cfg)
{
        const struct jv *test = jv_path(cfg, "Healthcheck.Test");
        const char *type = jv_str(jv_at(test, 0));
        char **v = NULL;

        if (!type || jv_len(test) < 2)
                return NULL;
        if (!strcmp(type, "CMD-SHELL")) {
                v = jv_len(jv_get(cfg, "Shell")) ? jv_to_strv(jv_get(cfg, "Shell"))
                                                 : util_strv_dup((char *[]){"/bin/sh", "-c", NULL});
        } else if (strcmp(type, "CMD")) {
                return NULL;
        }
        for (size_t i = 1; i < jv_len(test); i++)
                if (util_strv_push(&v, jv_str(jv_at(test, i)) ?: "") < 0) {
                        util_strv_free(v);
                        return NULL;
                }
        return v;
}

static void arm(struct health *h, int64_t ns)
{
        struct itimerspec its = {
                .it_value = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL}};

        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
                its.it_value.tv_nsec = 1;
        timerfd_settime(h->timer_fd, 0, &its, NULL);
}

/* Docker's next delay: the interval, the start interval while the start period lasts and the
 * container is still starting, and never past the start period's end. */
static int64_t next_delay(const struct health *h, bool starting)
{
        int64_t elapsed = util_now_ns() - h->run_started_ns, left = h->start_period - elapsed;

        if (elapsed >= h->start_period)
                return h->interval;
        if (left < h->interval)
                return left;
        return starting ? h->start_interval : h->interval;
}

void health_start(struct health *h, const struct jv *doc, int64_t run_started_ns)
{
        const struct jv *cfg = jv_get(doc, "Config"), *hc = jv_get(cfg, "Healthcheck");

        health_stop(h);
        util_strv_free(h->argv);
        h->argv = probe_argv(cfg);
        if (!h->argv)
                return;
        h->interval = or_default(jv_get_int(hc, "Interval", 0), DEFAULT_INTERVAL);
        h->timeout = or_default(jv_get_int(hc, "Timeout", 0), DEFAULT_TIMEOUT);
        h->start_period = or_default(jv_get_int(hc, "StartPeriod", 0), 0);
        h->start_interval = or_default(jv_get_int(hc, "StartInterval", 0), DEFAULT_START_INTERVAL);
        h->retries = or_default(jv_get_int(hc, "Retries", 0), DEFAULT_RETRIES);
        h->run_started_ns = run_started_ns;
        if (h->timer_fd < 0) {
                h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (h->timer_fd < 0)
                        return;
                epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timer_fd,
                          &(struct epoll_event){.events = EPOLLIN, .data.u64 = h->timer_tag});
        }
        arm(h, next_delay(h, true));
}

static struct jv *result_entry(int64_t start, int64_t end, int code, const char *out)
{
        struct jv *r = jv_new_object();
        char ts[40];

        util_format_time(start, ts);
        jv_set_str(r, "Start", ts);
        util_format_time(end, ts);
        jv_set_str(r, "End", ts);
        jv_set_int(r, "ExitCode", code);
        jv_set_str(r, "Output", out);
        return r;
}

/* Docker's handleProbeResult, on the document under the container's lock. */
static void record(struct health *h, struct container *c, int code, const char *out)
{
        _cleanup_close_ int lock = -1;
        struct err e = {0};
        struct jv *st, *hs, *log, *kept;
        bool starting = false;
        char was[16] = "", action[48];

        lock = container_lock(c, &e);
        if (lock >= 0 && container_reload(c, &e) == 0 && container_is_running(c) &&
            (hs = jv_get(st = jv_get(c->doc, "State"), "Health"))) {
                long long streak = jv_get_int(hs, "FailingStreak", 0);
                log = jv_get(hs, "Log");
                kept = jv_new_array();
                for (size_t i = jv_len(log) >= HEALTH_LOG_MAX ? jv_len(log) + 1 - HEALTH_LOG_MAX
                                                              : 0;
                     i < jv_len(log); i++)
                        jv_append(kept, jv_copy(jv_at(log, i)));
                jv_append(kept, result_entry(h->probe_started_ns, util_now_ns(), code, out));
                jv_set(hs, "Log", kept);
                snprintf(was, sizeof(was), "%s", jv_get_str(hs, "Status") ?: "");
                starting = !strcmp(was, "starting");
                if (code == 0) {
                        jv_set_int(hs, "FailingStreak", 0);
                        jv_set_str(hs, "Status", "healthy");
                        starting = false;
                } else if (!starting ||
                           h->probe_started_ns - h->run_started_ns >= h->start_period) {
                        jv_set_int(hs, "FailingStreak", ++streak);
                        if (streak >= h->retries) {
                                jv_set_str(hs, "Status", "unhealthy");
                                starting = false;
                        }
                }
                /* Docker's health_status event, on each change of status. */
                snprintf(action, sizeof(action), "health_status: %s",
                         jv_get_str(hs, "Status") ?: "");
                if (container_save(c, &e) >= 0 && h->cli && strcmp(was, action + 15))
                        events_container(h->cli, c, action, NULL);
        }
        if (h->timer_fd >= 0)
                arm(h, next_delay(h, starting));
}

static void end_probe(struct health *h)
{
        if (h->out_fd >= 0) {
                epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->out_fd, NULL);
                close(h->out_fd);
        }
        h->out_fd = -1;
        h->pid = 0;
}

void health_tick(struct health *h, const struct cli *cli, struct container *c)
{
        uint64_t n;
        struct err e = {0};
        int fds[2];
        pid_t pid;

        while (read(h->timer_fd, &n, sizeof(n)) > 0)
                ;
        h->cli = cli;
        if (h->pid > 0) {
                /* Past its timeout: the whole group goes; the reap records it. */
                h->timed_out = true;
                kill(-h->pid, SIGKILL);
                return;
        }
        /* Not while paused (the probe could not run), nor once the run is over. */
        if (container_reload(c, &e) < 0 || !container_is_running(c) ||
            !strcmp(container_status(c), "paused") || cgroup_is_frozen(c->cgroup)) {
                arm(h, h->interval);
                return;
        }
        h->probe_started_ns = util_now_ns();
        h->out_len = 0;
        h->truncated = h->timed_out = false;
        if (pipe2(fds, O_CLOEXEC) < 0) {
                err_errno(&e, "creating the health check's pipe");
                record(h, c, -1, e.msg);
                return;
        }
        if (exec_spawn(cli, c, h->argv, fds[1], &pid, &e) < 0) {
                close(fds[0]), close(fds[1]);
                record(h, c, -1, e.msg);
                return;
        }
        close(fds[1]);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        h->pid = pid;
        h->out_fd = fds[0];
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->out_fd,
                  &(struct epoll_event){.events = EPOLLIN, .data.u64 = h->out_tag});
        arm(h, h->timeout);
}

void health_output(struct health *h)
{
        char buf[4096];
        ssize_t n;

        while (h->out_fd >= 0 && (n = read(h->out_fd, buf, sizeof(buf))) != 0) {
                size_t keep;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        break;
                }
                keep = sizeof(h->out) - h->out_len < (size_t)n ? sizeof(h->out) - h->out_len
                                                               : (size_t)n;
                memcpy(h->out + h->out_len, buf, keep);
                h->out_len += keep;
                h->truncated |= keep < (size_t)n;
        }
        /* End of output (the probe's children may outlive it): nothing more to read. */
        if (h->out_fd >= 0) {
                epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->out_fd, NULL);
                close(h->out_fd);
                h->out_fd = -1;
        }
}

bool health_reaped(struct health *h, struct container *c, pid_t pid, int status)
{
        _cleanup_free_ char *out = NULL;
        char d[40];
        int code;

        if (pid <= 0 || pid != h->pid)
                return false;
        health_output(h);
        out = util_printf("%.*s%s", (int)h->out_len, h->out, h->truncated ? "..." : "");
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        end_probe(h);
        if (h->timed_out) {
                char *msg;
                util_format_go_duration(h->timeout, d, sizeof(d));
                msg = out && *out ? util_printf("Health check exceeded timeout (%s): %s", d, out)
                                  : util_printf("Health check exceeded timeout (%s)", d);
                free(out);
                out = msg;
                code = -1;
        }
        record(h, c, code, out ? out : "");
        return true;
}

void health_stop(struct health *h)
{
        if (h->pid > 0) {
                kill(-h->pid, SIGKILL);
                waitpid(h->pid, NULL, 0);
        }
        end_probe(h);
        if (h->timer_fd >= 0) {
                epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->timer_fd, NULL);
                close(h->timer_fd);
                h->timer_fd = -1;
        }
}

void health_reset_state(struct jv *doc)
{
        _cleanup_strv_ char **argv = probe_argv(jv_get(doc, "Config"));
        struct jv *st = jv_get(doc, "State"), *hs;

        if (!argv)
                return;
        hs = jv_new_object();
        jv_set_str(hs, "Status", "starting");
        jv_set_int(hs, "FailingStreak", 0);
        jv_set(hs, "Log",
               jv_path(st, "Health.Log") ? jv_copy(jv_path(st, "Health.Log")) : jv_new_array());
        jv_set(st, "Health", hs);
}

const char *health_status(const struct jv *doc)
{
        const char *s = jv_str(jv_path(doc, "State.Health.Status"));

        return s && *s ? s : "none";
}

const char *health_ps_note(const struct jv *doc)
{
        const char *s = health_status(doc);

        if (!strcmp(s, "none"))
                return NULL;
        return !strcmp(s, "starting") ? "health: starting" : s;
}
