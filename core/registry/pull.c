/* pull: manifest (index -> platform), config, then the layers: up to max-concurrent-downloads
 * at once, each streamed through a pipe into its own extraction thread, so a layer is
 * decompressed, hashed (both digests) and extracted while it downloads. A broken transfer is
 * resumed with Range from where it stopped. Layers are committed, in order, by one
 * image_create at the end: a failed pull leaves no image and no staged layer. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/sha256.h"
#include "../base/util.h"
#include "../events.h"
#include "../image.h"
#include "../layer.h"
#include "../registry.h"
#include "internal.h"

#define MANIFEST_MAX (4 << 20)
#define ACCEPT_ALL                                                                                 \
        "Accept: " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST ", " MT_OCI_INDEX

/* Docker's progress display, one writer at a time: plain lines when the output is not a
 * terminal (no byte counts, as Docker), one line per layer rewritten in place when it is. */
struct progress {
        FILE *out;
        bool quiet, tty;
        pthread_mutex_t lock;
        char (*ids)[13];
        size_t n, cap;
};

/* The line of id on a terminal display (added at the bottom when new); -1 on ENOMEM. */
static long line_of(struct progress *p, const char *id)
{
        for (size_t i = 0; i < p->n; i++)
                if (!strcmp(p->ids[i], id))
                        return (long)i;
        if (p->n == p->cap) {
                size_t cap = p->cap ? 2 * p->cap : 16;
                char(*v)[13] = realloc(p->ids, cap * sizeof(*v));
                if (!v)
                        return -1;
                p->ids = v;
                p->cap = cap;
        }
        snprintf(p->ids[p->n], sizeof(p->ids[p->n]), "%s", id);
        fputc('\n', p->out);
        return (long)p->n++;
}

static void show(struct progress *p, const char *id, const char *what)
{
        long up;

        pthread_mutex_lock(&p->lock);
        if (!p->tty) {
                fprintf(p->out, "%s: %s\n", id, what);
        } else if ((up = line_of(p, id)) >= 0) {
                up = (long)p->n - up;
                fprintf(p->out, "\033[%ldA\r\033[2K%s: %s\033[%ldB\r", up, id, what, up);
        }
        fflush(p->out);
        pthread_mutex_unlock(&p->lock);
}

static void say(struct progress *p, const char *id, const char *what)
{
        if (!p->quiet)
                show(p, id, what);
}

/* "Downloading [=====>      ]  1.2MB/3.4MB" on a terminal; nothing otherwise. */
static void say_bytes(struct progress *p, const char *id, const char *verb, long long done,
                      long long total)
{
        char line[160], a[32], b[32], bar[52];
        int w = total > 0 ? (int)(50 * (done > total ? total : done) / total) : 0;

        if (p->quiet || !p->tty)
                return;
        memset(bar, ' ', 50);
        memset(bar, '=', (size_t)w);
        if (w < 50)
                bar[w] = '>';
        bar[50] = '\0';
        util_human_size_prec(done, 3, a, sizeof(a));
        util_human_size_prec(total, 3, b, sizeof(b));
        snprintf(line, sizeof(line), "%s [%s]  %s/%s", verb, bar, a, b);
        show(p, id, line);
}

struct job {
        struct reg_session *s;
        struct progress *prog;
        const struct reg_desc *desc;
        const char *diff_id; /* expected, from the config */
        const char *tmp;     /* staging directory */
        char short_id[13];
        char *stage; /* result */
        int r;
        struct err err;
};

struct blob_sink {
        int fd;
        struct sha256 *digest;
        long long done;
        struct job *job;
        int64_t shown; /* when the progress line was last rewritten */
};

static int blob_write(void *ud, const void *buf, size_t n)
{
        struct blob_sink *b = ud;
        int64_t now;

        /* Never more than the manifest said: a hostile registry cannot fill the disk. */
        if (b->job->desc->size >= 0 && b->done + (long long)n > b->job->desc->size)
                return -EFBIG;
        if (fs_write_all(b->fd, buf, n) < 0)
                return -errno;
        sha256_update(b->digest, buf, n);
        b->done += (long long)n;
        if (b->job->prog->tty && (now = util_now_ns()) - b->shown > 100000000) {
                b->shown = now;
                say_bytes(b->job->prog, b->job->short_id, "Downloading", b->done,
                          b->job->desc->size);
        }
        return 0;
}

struct extract {
        int fd;
        const char *tmp;
        char *stage;
        struct layer_stats st;
        int r;
        struct err err;
};

static void *extract_main(void *arg)
{
        struct extract *x = arg;

        x->r = layer_stage(x->fd, x->tmp, &x->stage, &x->st, &x->err);
        /* Anything the download still writes fails with EPIPE instead of blocking. */
        close(x->fd);
        return NULL;
}

static bool retryable(int r)
{
        return r == -EIO || r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET;
}

/* Downloads desc into sink, resuming after a broken transfer (bounded attempts, backoff
 * from 250 ms doubling). */
static int download(struct reg_session *s, const struct reg_desc *desc, struct blob_sink *sink,
                    struct err *err)
{
        _cleanup_free_ char *path = NULL;
        const char *url;
        useconds_t backoff = 250000;
        int r = 0;

        path = util_printf("/v2/%s/blobs/%s", s->repo, desc->digest);
        if (!path)
                return err_set(err, -ENOMEM, "downloading %s", desc->digest);
        url = desc->foreign && desc->urls && desc->urls[0] ? desc->urls[0] : path;
        for (int attempt = 1; attempt <= s->max_attempts; attempt++) {
                struct reg_response resp = {0};
                /* Everything arrived before the break (a lost terminator): verify it. */
                if (attempt > 1 && desc->size >= 0 && sink->done >= desc->size) {
                        r = 0;
                        break;
                }
                struct reg_request req = {.method = "GET",
                                          .url = url,
                                          .body_fd = -1,
                                          .sink = blob_write,
                                          .ud = sink,
                                          .resume = sink->done};
                char why[256];

                r = reg_send(s, &req, &resp, err);
                if (r >= 0 && resp.status / 100 != 2) {
                        reg_error_text(&resp, why, sizeof(why));
                        r = err_set(err, resp.status == 404 ? -ENOENT : -EIO,
                                    "error pulling blob %s: %s", desc->digest, why);
                        if (resp.status / 100 == 5)
                                r = -EIO;
                        else
                                attempt = s->max_attempts;
                }
                reg_response_free(&resp);
                if (r >= 0 || !retryable(r) || attempt == s->max_attempts)
                        break;
                usleep(backoff);
                backoff *= 2;
        }
        return r;
}

static int run_job(struct job *j)
{
        _cleanup_(sha256_freep) struct sha256 *dg = sha256_new();
        struct extract x = {.tmp = j->tmp};
        struct blob_sink sink = {.digest = dg, .job = j};
        char hex[SHA256_HEX_LEN];
        pthread_t t;
        int p[2], r;

        if (!dg)
                return err_set(&j->err, -ENOMEM, "downloading %s", j->desc->digest);
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_errno(&j->err, "downloading %s", j->desc->digest);
        x.fd = p[0];
        sink.fd = p[1];
        r = pthread_create(&t, NULL, extract_main, &x);
        if (r != 0) {
                close(p[0]);
                close(p[1]);
                return err_set(&j->err, -r, "starting the extraction of %s", j->desc->digest);
        }
        r = download(j->s, j->desc, &sink, &j->err);
        if (r >= 0) {
                say(j->prog, j->short_id, "Verifying Checksum");
                sha256_finish(TAKE_PTR(dg), hex);
                if (strcmp(hex, j->desc->digest + 7) ||
                    (j->desc->size >= 0 && sink.done != j->desc->size))
                        r = err_set(&j->err, -EBADMSG,
                                    "filesystem layer verification failed for digest %s",
                                    j->desc->digest);
        }
        if (r >= 0)
                say(j->prog, j->short_id, "Download complete");
        if (r >= 0 && j->prog->tty)
                say(j->prog, j->short_id, "Extracting");
        close(p[1]);
        pthread_join(t, NULL);
        if (r == -EPIPE && x.r < 0)
                r = 0; /* the extraction's error says more */
        else if (r == -EPIPE)
                r = err_set(&j->err, -EBADMSG, "layer %s: data after the end of its archive",
                            j->desc->digest);
        else if (r == -EFBIG)
                r = err_set(&j->err, -EBADMSG,
                            "layer %s: the registry sent more than its %lld "
                            "bytes",
                            j->desc->digest, j->desc->size);
        if (r >= 0 && x.r < 0) {
                j->err = x.err;
                r = x.r;
        }
        if (r >= 0 && strcmp(x.st.diff_id, j->diff_id))
                r = err_set(&j->err, -EBADMSG,
                            "layer %s: its content has diff id sha256:%s, the image config says "
                            "sha256:%s",
                            j->desc->digest, x.st.diff_id, j->diff_id);
        if (r < 0) {
                if (x.stage)
                        layer_discard(x.stage);
                free(x.stage);
                return r;
        }
        j->stage = x.stage;
        say(j->prog, j->short_id, "Pull complete");
        return 0;
}

struct pool {
        struct job *jobs;
        size_t n, next;
        pthread_mutex_t lock;
        bool failed;
};

static void *worker(void *arg)
{
        struct pool *pl = arg;

        for (;;) {
                struct job *j;
                pthread_mutex_lock(&pl->lock);
                j = pl->next < pl->n && !pl->failed ? &pl->jobs[pl->next++] : NULL;
                pthread_mutex_unlock(&pl->lock);
                if (!j)
                        return NULL;
                j->r = run_job(j);
                if (j->r < 0) {
                        pthread_mutex_lock(&pl->lock);
                        pl->failed = true;
                        pthread_mutex_unlock(&pl->lock);
                }
        }
}

/* Runs the jobs on up to max threads; the first failure (in layer order) is returned. */
static int run_pool(struct job *jobs, size_t n, int max, struct err *err)
{
        struct pool pl = {.jobs = jobs, .n = n};
        pthread_t t[16];
        int k = 0;

        if (max > 16)
                max = 16;
        pthread_mutex_init(&pl.lock, NULL);
        for (; k < max && (size_t)k < n; k++)
                if (pthread_create(&t[k], NULL, worker, &pl) != 0)
                        break;
        if (k == 0 && n)
                worker(&pl);
        for (int i = 0; i < k; i++)
                pthread_join(t[i], NULL);
        pthread_mutex_destroy(&pl.lock);
        for (size_t i = 0; i < n; i++)
                if (jobs[i].r < 0) {
                        *err = jobs[i].err;
                        return jobs[i].r;
                }
        return 0;
}

/* GET of a manifest or config: the body, verified against digest (when given) and against
 * the Docker-Content-Digest header (when sent). */
static int fetch_doc(struct reg_session *s, const char *path, const char *accept,
                     const char *digest, const char *what, struct reg_response *ret,
                     struct err *err)
{
        const char *hdrs[] = {accept, NULL};
        struct reg_request req = {.method = "GET", .url = path, .headers = hdrs, .body_fd = -1};
        char hex[SHA256_HEX_LEN], why[256];
        useconds_t backoff = 250000;
        int r;

        /* Small documents: a broken transfer is simply sent for again. */
        for (int attempt = 1;; attempt++) {
                r = reg_send(s, &req, ret, err);
                if (r >= 0 || !retryable(r) || attempt >= s->max_attempts)
                        break;
                usleep(backoff);
                backoff *= 2;
        }
        if (r < 0)
                return r;
        if (ret->status == 404) {
                reg_error_text(ret, why, sizeof(why));
                return err_set(err, -ENOENT, "%s not found: %s", what, why);
        }
        if (ret->status == 401 || ret->status == 403) {
                reg_error_text(ret, why, sizeof(why));
                return err_set(err, -EACCES, "%s: %s", what, why);
        }
        if (ret->status != 200) {
                reg_error_text(ret, why, sizeof(why));
                return err_set(err, -EIO, "%s: %s", what, why);
        }
        if (ret->body_len > MANIFEST_MAX)
                return err_set(err, -EFBIG, "%s: %zu bytes, more than the %d a manifest may have",
                               what, ret->body_len, MANIFEST_MAX);
        if (sha256_hex(ret->body ? ret->body : "", ret->body_len, hex) < 0)
                return err_set(err, -ENOSYS, "%s: cannot compute digests", what);
        if ((digest && strcmp(digest + 7, hex)) ||
            (ret->digest && !strncmp(ret->digest, "sha256:", 7) && strcmp(ret->digest + 7, hex)))
                return err_set(err, -EBADMSG, "%s: content does not match digest %s", what,
                               digest ? digest : ret->digest);
        return 0;
}

struct pulled {
        struct image_ref ref;
        char top_digest[72]; /* what the tag pointed at (an index, or the manifest) */
        struct reg_manifest m;
        char *config;
        size_t config_len;
};

static void pulled_free(struct pulled *p)
{
        image_ref_free(&p->ref);
        reg_manifest_free(&p->m);
        free(p->config);
}

/* The manifest for the platform, and its config. */
static int resolve(struct reg_session *s, struct pulled *p, const struct reg_platform *want,
                   struct err *err)
{
        _cleanup_free_ char *what = NULL, *path = NULL;
        struct reg_response resp = {0};
        char hex[SHA256_HEX_LEN], digest[72];
        int r;

        what = p->ref.digest ? util_printf("manifest for %s@%s", p->ref.name, p->ref.digest)
                             : util_printf("manifest for %s:%s", p->ref.name, p->ref.tag);
        path = util_printf("/v2/%s/manifests/%s", p->ref.path,
                           p->ref.digest ? p->ref.digest : p->ref.tag);
        if (!what || !path)
                return err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        r = fetch_doc(s, path, ACCEPT_ALL, p->ref.digest, what, &resp, err);
        if (r >= 0 && sha256_hex(resp.body, resp.body_len, hex) >= 0)
                snprintf(p->top_digest, sizeof(p->top_digest), "sha256:%s", hex);
        if (r >= 0 && reg_is_index(resp.content_type)) {
                r = reg_index_pick(resp.body, want, digest, err);
                reg_response_free(&resp);
                free(path);
                path = r >= 0 ? util_printf("/v2/%s/manifests/%s", p->ref.path, digest) : NULL;
                if (r >= 0)
                        r = path ? fetch_doc(s, path, ACCEPT_ALL, digest, what, &resp, err)
                                 : err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        }
        if (r >= 0)
                r = reg_manifest_parse(resp.body, resp.content_type, &p->m, err);
        reg_response_free(&resp);
        if (r < 0)
                return r;
        free(path);
        path = util_printf("/v2/%s/blobs/%s", p->ref.path, p->m.config.digest);
        r = path ? fetch_doc(s, path, "Accept: */*", p->m.config.digest, "image config", &resp, err)
                 : err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        if (r >= 0) {
                p->config = TAKE_PTR(resp.body);
                p->config_len = resp.body_len;
        }
        reg_response_free(&resp);
        return r;
}

/* A Docker Hub image is asked of each configured mirror in turn, then of the Hub (Docker's
 * order); anything else of its own registry. The session that answered stays open. */
static int open_and_resolve(struct pulled *p, const struct reg_platform *want,
                            struct reg_session *s, struct err *err)
{
        struct reg_conf conf = {0};
        int r = reg_conf_load(&conf, err);

        for (char **m = r >= 0 && !strcmp(p->ref.domain, "docker.io") ? conf.mirrors : NULL;
             m && *m; m++) {
                struct err ignored = {0};
                char *origin =
                        strndup(*m, strlen(*m) - (strlen(*m) > 1 && (*m)[strlen(*m) - 1] == '/'));
                const char *host = origin ? strstr(origin, "://") : NULL;
                if (!origin || reg_session_open(&p->ref, "pull", s, &ignored) < 0) {
                        free(origin);
                        continue;
                }
                free(s->origin);
                s->origin = origin;
                s->insecure = reg_conf_insecure(&conf, host ? host + 3 : origin);
                if (resolve(s, p, want, &ignored) >= 0) {
                        reg_conf_free(&conf);
                        return 0;
                }
                reg_session_close(s);
                reg_manifest_free(&p->m);
                free(p->config);
                p->config = NULL;
        }
        reg_conf_free(&conf);
        if (r >= 0)
                r = reg_session_open(&p->ref, "pull", s, err);
        return r < 0 ? r : resolve(s, p, want, err);
}

/* Takes the pull lock of a layer: a concurrent pull of the same layer waits and then finds
 * it stored. */
static int lock_layer(const struct cli *cli, const char *diff_id, struct err *err)
{
        _cleanup_free_ char *dir = cli_runroot_path(cli, "pull");
        _cleanup_free_ char *path = cli_runroot_path(cli, "pull/%s.lock", diff_id);
        int fd;

        if (!dir || !path)
                return err_set(err, -ENOMEM, "locking layer %.12s", diff_id);
        if (fs_mkdir_p(dir, 0700, err) < 0)
                return -err->code;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "locking layer %.12s", diff_id);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        close(fd);
                        return err_errno(err, "locking layer %.12s", diff_id);
                }
        return fd;
}

struct fetch_plan {
        struct job *jobs;
        size_t n;
        int *locks;
        size_t nlocks;
};

static void plan_free(struct fetch_plan *f)
{
        for (size_t i = 0; i < f->n; i++) {
                if (f->jobs[i].stage) {
                        layer_discard(f->jobs[i].stage);
                        free(f->jobs[i].stage);
                }
        }
        for (size_t i = 0; i < f->nlocks; i++)
                close(f->locks[i]);
        free(f->jobs);
        free(f->locks);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pull_layers(const struct cli *cli, struct reg_session *s, struct pulled *p,
                       char *const *diff_ids, const char *tmp, struct progress *prog,
                       struct fetch_plan *f, int max, struct err *err)
{
        _cleanup_strv_ char **want = calloc(1, sizeof(char *));
        size_t nwant;

        f->jobs = calloc(p->m.n + 1, sizeof(*f->jobs));
        f->locks = calloc(p->m.n + 1, sizeof(*f->locks));
        if (!f->jobs || !f->locks || !want)
                return err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        /* Each missing layer once (an image may list one twice), locked in sorted order so
         * that concurrent pulls of images sharing layers cannot deadlock. */
        for (size_t i = 0; i < p->m.n; i++)
                if (!image_has_layer(cli, diff_ids[i]) && !util_strv_contains(want, diff_ids[i]) &&
                    util_strv_push(&want, diff_ids[i]) < 0)
                        return err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        nwant = util_strv_len(want);
        qsort(want, nwant, sizeof(*want), cmp_str);
        for (size_t i = 0; i < nwant; i++) {
                int fd = lock_layer(cli, want[i], err);
                if (fd < 0)
                        return fd;
                f->locks[f->nlocks++] = fd;
        }
        for (size_t i = 0; i < p->m.n; i++) {
                const struct reg_desc *d = &p->m.layers[i];
                bool planned = false;
                char short_id[13];
                snprintf(short_id, sizeof(short_id), "%.12s", d->digest + 7);
                for (size_t j = 0; j < f->n && !planned; j++)
                        planned = !strcmp(f->jobs[j].diff_id, diff_ids[i]);
                if (planned)
                        continue;
                if (image_has_layer(cli, diff_ids[i])) {
                        say(prog, short_id, "Already exists");
                        continue;
                }
                if (d->foreign && !(d->urls && d->urls[0]))
                        return err_set(err, -ENOTSUP,
                                       "layer %s is not distributable and names no URL to fetch "
                                       "it from",
                                       d->digest);
                f->jobs[f->n] = (struct job){
                        .s = s, .prog = prog, .desc = d, .diff_id = diff_ids[i], .tmp = tmp};
                memcpy(f->jobs[f->n].short_id, short_id, sizeof(short_id));
                say(prog, short_id, "Pulling fs layer");
                f->n++;
        }
        return run_pool(f->jobs, f->n, max, err);
}

/* A failed pull keeps the layers it finished: the next pull finds them stored. */
static void keep_finished(const struct cli *cli, struct fetch_plan *f)
{
        _cleanup_strv_ char **stages = NULL;
        struct err ignored = {0};

        for (size_t i = 0; i < f->n; i++)
                if (f->jobs[i].stage && util_strv_push(&stages, f->jobs[i].stage) >= 0) {
                        free(f->jobs[i].stage);
                        f->jobs[i].stage = NULL;
                }
        if (stages)
                (void)image_keep_layers(cli, stages, &ignored);
}

/* The config's diff ids, one per layer of the manifest. */
static int check_config(const struct pulled *p, struct jv **ret_cfg, char ***ret_ids,
                        struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **ids = NULL;
        int r = jv_parse(p->config, &cfg, err);

        if (r < 0)
                return err_wrap(err, "reading the image config of %s", p->ref.name);
        r = imgconfig_diff_ids(cfg, &ids, err);
        if (r < 0)
                return r;
        if (util_strv_len(ids) != p->m.n)
                return err_set(err, -EBADMSG,
                               "the image config of %s lists %zu layers, its manifest %zu",
                               p->ref.name, util_strv_len(ids), p->m.n);
        *ret_cfg = TAKE_PTR(cfg);
        *ret_ids = TAKE_PTR(ids);
        return 0;
}

/* A single-platform image pulled with --platform must be that platform. */
static int check_platform(const struct pulled *p, const struct jv *cfg,
                          const struct reg_platform *want, struct err *err)
{
        _cleanup_free_ char *spec = util_printf(
                "%s/%s%s%s", jv_get_str(cfg, "os") ?: "", jv_get_str(cfg, "architecture") ?: "",
                jv_get_str(cfg, "variant") ? "/" : "", jv_get_str(cfg, "variant") ?: "");
        struct reg_platform have;
        char w[96], h[96];

        if (!spec || reg_platform_parse(spec, &have, err) < 0)
                return spec ? 0 : err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        if (!strcmp(have.arch, want->arch) &&
            (!want->variant[0] || !have.variant[0] || !strcmp(have.variant, want->variant)))
                return 0;
        reg_platform_str(want, w, sizeof(w));
        reg_platform_str(&have, h, sizeof(h));
        return err_set(err, -ENOENT,
                       "image with reference %s was found but does not match the specified "
                       "platform: wanted %s, actual: %s",
                       p->ref.name, w, h);
}

static int pull_one(const struct cli *cli, struct pulled *p, const struct registry_pull_opts *o,
                    char ret_id[65], struct err *err)
{
        _cleanup_(reg_session_close) struct reg_session s = {0};
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **diff_ids = NULL, **stages = NULL;
        _cleanup_free_ char *tmp = cli_root_path(cli, "tmp"), *tagref = NULL;
        struct progress prog = {.out = o->out, .quiet = o->quiet, .tty = isatty(fileno(o->out))};
        struct fetch_plan f = {0};
        struct reg_platform want;
        struct reg_conf conf = {0};
        char id[65], existing[65];
        _cleanup_free_ char *ref_str = util_printf("%s@%s", p->ref.name, p->ref.digest ?: "");
        _cleanup_free_ char *tag_str = util_printf("%s:%s", p->ref.name, p->ref.tag ?: "");
        bool up_to_date, have;
        int r;

        r = o->platform ? reg_platform_parse(o->platform, &want, err) : 0;
        if (r < 0)
                return r;
        if (!o->platform)
                reg_platform_host(&want);
        if (!o->quiet)
                fprintf(o->out, "%s: Pulling from %s\n", p->ref.digest ? p->ref.digest : p->ref.tag,
                        p->ref.path);
        r = open_and_resolve(p, &want, &s, err);
        if (r >= 0)
                r = check_config(p, &cfg, &diff_ids, err);
        if (r >= 0 && o->platform)
                r = check_platform(p, cfg, &want, err);
        if (r >= 0)
                r = reg_conf_load(&conf, err);
        if (r >= 0 && (!ref_str || !tag_str))
                r = err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        if (r < 0)
                return r;
        pthread_mutex_init(&prog.lock, NULL);
        /* Already stored under the config's digest with every layer: nothing to fetch.
         * "Image is up to date" when the reference already named it (Docker's wording). */
        have = image_resolve(cli, p->m.config.digest, existing, err) >= 0 &&
               !strcmp(existing, p->m.config.digest + 7);
        for (char **d = diff_ids; have && *d; d++)
                have = image_has_layer(cli, *d);
        up_to_date = have &&
                     image_resolve(cli, p->ref.digest ? ref_str : tag_str, existing, err) >= 0 &&
                     !strcmp(existing, p->m.config.digest + 7);
        err_clear(err);
        if (!have)
                r = tmp ? pull_layers(cli, &s, p, diff_ids, tmp, &prog, &f, conf.max_downloads, err)
                        : err_set(err, -ENOMEM, "pulling %s", p->ref.name);
        reg_conf_free(&conf);
        if (r < 0)
                keep_finished(cli, &f);
        for (size_t i = 0; r >= 0 && i < f.n; i++) {
                if (util_strv_push(&stages, f.jobs[i].stage) < 0) {
                        r = err_set(err, -ENOMEM, "pulling %s", p->ref.name);
                } else {
                        free(f.jobs[i].stage); /* the copy goes to image_create */
                        f.jobs[i].stage = NULL;
                }
        }
        tagref =
                p->ref.tag && !p->ref.digest ? util_printf("%s:%s", p->ref.name, p->ref.tag) : NULL;
        if (r >= 0)
                r = image_create_exact(cli, p->config, cfg, stages, tagref, id, err);
        /* The stages were consumed (also on failure): only the names remain to free. */
        plan_free(&f);
        if (r >= 0)
                r = image_add_digest(cli, id, p->ref.name, p->top_digest, err);
        pthread_mutex_destroy(&prog.lock);
        free(prog.ids);
        if (r < 0)
                return r;
        events_image(cli, id, p->ref.digest ? ref_str : tag_str, p->ref.name, "pull");
        if (!o->quiet) {
                fprintf(o->out, "Digest: %s\n", p->top_digest);
                if (p->ref.digest)
                        fprintf(o->out, "Status: %s for %s@%s\n",
                                up_to_date ? "Image is up to date" : "Downloaded newer image",
                                p->ref.name, p->ref.digest);
                else
                        fprintf(o->out, "Status: %s for %s:%s\n",
                                up_to_date ? "Image is up to date" : "Downloaded newer image",
                                p->ref.name, p->ref.tag);
        }
        memcpy(ret_id, id, 65);
        return 0;
}

int registry_pull(const struct cli *cli, const char *ref, const struct registry_pull_opts *o,
                  char ret_id[65], struct err *err)
{
        _cleanup_(pulled_free) struct pulled p = {0};
        struct sigaction ign = {.sa_handler = SIG_IGN}, old;
        int r = imgconfig_parse_ref(ref, &p.ref, err);

        if (r < 0)
                return r;
        if (!p.ref.tag && !p.ref.digest) {
                p.ref.tag = strdup("latest");
                if (!p.ref.tag)
                        return err_set(err, -ENOMEM, "pulling %s", ref);
                if (!o->quiet)
                        fprintf(o->out, "Using default tag: latest\n");
        }
        /* A failed extraction closes its pipe: the download sees EPIPE, not a signal. */
        sigaction(SIGPIPE, &ign, &old);
        r = pull_one(cli, &p, o, ret_id, err);
        sigaction(SIGPIPE, &old, NULL);
        return r;
}
