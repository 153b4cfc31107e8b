#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/json.h"
#include "cli.h"
#include "container.h"

/* Healthchecks as Docker runs them, run by the container's monitor (no daemon, no systemd
 * timer): Config.Healthcheck's probe is exec'd in the container every interval (the start
 * interval while a start period lasts and the container is still starting), killed past its
 * timeout, and each result goes into State.Health: Status starting -> healthy after a
 * success, unhealthy after Retries failures in a row (failures within the start period
 * while still starting do not count), FailingStreak, and the last 5 results in Log. */

/* Docker's limits: the output kept per result, and the results kept. */
#define HEALTH_OUTPUT_MAX 4096
#define HEALTH_LOG_MAX    5

struct health {
        int epfd;                    /* the monitor's epoll */
        uint64_t timer_tag, out_tag; /* its epoll tags for the timer and the probe output */
        int timer_fd;                /* -1: the container has no healthcheck */
        char **argv;                 /* the probe command */
        int64_t interval, timeout, start_period, start_interval;
        long long retries;
        int64_t run_started_ns; /* the container's current run began (start period) */
        pid_t pid;              /* the probe running (its process group), 0 between probes */
        int out_fd;             /* its output, -1 between probes */
        int64_t probe_started_ns;
        bool timed_out;
        char out[HEALTH_OUTPUT_MAX];
        size_t out_len;
        bool truncated;
        const struct cli *cli; /* for its health_status events (set by health_tick) */
};

/* Reads the container's healthcheck (doc's Config.Healthcheck; NONE or none: nothing to do)
 * for a run that began at run_started_ns, and arms the timer for the first probe. */
void health_start(struct health *h, const struct jv *doc, int64_t run_started_ns);
/* The timer fired: starts a probe, or kills the one running past its timeout. */
void health_tick(struct health *h, const struct cli *cli, struct container *c);
/* The probe's output is readable. */
void health_output(struct health *h);
/* Whether pid is the running probe; if so its result (status from waitpid) is recorded and
 * the next probe armed. */
bool health_reaped(struct health *h, struct container *c, pid_t pid, int status);
/* The container stopped: a running probe is killed, nothing more runs. */
void health_stop(struct health *h);

/* State.Health of a new run: starting, no failing streak, the log kept (Docker's reset at each
 * start). Nothing for a container without a healthcheck. */
void health_reset_state(struct jv *doc);
/* "starting", "healthy", "unhealthy", or "none" without a healthcheck (ps --filter health=). */
const char *health_status(const struct jv *doc);
/* ps's note after "Up ...": "health: starting", "healthy", "unhealthy"; NULL for none. */
const char *health_ps_note(const struct jv *doc);
