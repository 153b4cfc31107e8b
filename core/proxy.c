#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* Small stacks: the threads only loop over splice(2). */
#define RELAY_STACK  (64 * 1024)
#define SPLICE_CHUNK (256 * 1024)

struct relay {
        int client, server;
        struct sockaddr_in target;
        int refs; /* directions still running; the last one closes both sockets */
        pthread_mutex_t lock;
};

struct half {
        struct relay *r;
        int from, to;
};

static void relay_put(struct relay *r)
{
        bool last;

        pthread_mutex_lock(&r->lock);
        last = --r->refs == 0;
        pthread_mutex_unlock(&r->lock);
        if (!last)
                return;
        close(r->client);
        if (r->server >= 0)
                close(r->server);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

/* from -> pipe -> to until end of file or an error; then from's peer hears the end. */
static void pump(int from, int to)
{
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return;
        for (;;) {
                ssize_t n = splice(from, NULL, p[1], NULL, SPLICE_CHUNK, SPLICE_F_MOVE);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                while (n > 0) {
                        ssize_t w = splice(p[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                goto out;
                        n -= w;
                }
        }
out:
        close(p[0]);
        close(p[1]);
        shutdown(to, SHUT_WR);
        shutdown(from, SHUT_RD);
}

static void *half_main(void *arg)
{
        struct half *h = arg;

        pump(h->from, h->to);
        relay_put(h->r);
        free(h);
        return NULL;
}

static int start(struct relay *r, int from, int to)
{
        struct half *h = malloc(sizeof(*h));
        pthread_attr_t attr;
        pthread_t t;
        int e;

        if (!h)
                return -ENOMEM;
        *h = (struct half){r, from, to};
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, RELAY_STACK);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        e = pthread_create(&t, &attr, half_main, h);
        pthread_attr_destroy(&attr);
        if (e)
                free(h);
        return -e;
}

/* The first thread connects (blocking, off the monitor's loop), then becomes the client ->
 * server direction and starts the other. */
static void *connect_main(void *arg)
{
        struct relay *r = arg;

        r->server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (r->server < 0 ||
            connect(r->server, (const struct sockaddr *)&r->target, sizeof(r->target)) < 0) {
                relay_put(r);
                return NULL;
        }
        pthread_mutex_lock(&r->lock);
        r->refs++;
        pthread_mutex_unlock(&r->lock);
        if (start(r, r->server, r->client) < 0)
                relay_put(r);
        pump(r->client, r->server);
        relay_put(r);
        return NULL;
}

int proxy_relay(int client, const struct sockaddr_in *target)
{
        struct relay *r = calloc(1, sizeof(*r));
        pthread_attr_t attr;
        pthread_t t;
        int e;

        if (!r) {
                close(client);
                return -ENOMEM;
        }
        /* Blocking from here on: each direction waits in splice(2). */
        fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK);
        *r = (struct relay){.client = client, .server = -1, .target = *target, .refs = 1};
        pthread_mutex_init(&r->lock, NULL);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, RELAY_STACK);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        e = pthread_create(&t, &attr, connect_main, r);
        pthread_attr_destroy(&attr);
        if (e) {
                relay_put(r);
                return -e;
        }
        return 0;
}
