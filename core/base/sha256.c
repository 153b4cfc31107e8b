#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "sha256.h"
#include "util.h"

/* libcrypto is loaded on first use so that commands which hash nothing (a container start)
 * do not pay for loading and relocating it. */
#define SHA_FUNCS(X)                                                                               \
        X(EVP_MD_CTX_new)                                                                          \
        X(EVP_MD_CTX_free)                                                                         \
        X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_DigestFinal_ex) X(EVP_sha256)

#define SHA_DECL(f) __typeof__(f) *f;
static struct {
        SHA_FUNCS(SHA_DECL)
} lc;

#define SHA_NAME(f) #f,
#define SHA_SLOT(f) (void **)&lc.f,
static bool sha256_load(void)
{
        static const char *const names[] = {SHA_FUNCS(SHA_NAME)};
        static void **const slots[] = {SHA_FUNCS(SHA_SLOT)};
        static bool loaded;
        struct err ignored = {0};

        return util_dl_table("libcrypto.so.3", names, slots, ARRAY_SIZE(names), &loaded,
                             &ignored) == 0;
}
#undef SHA_NAME
#undef SHA_SLOT

#define EVP_MD_CTX_new     (*lc.EVP_MD_CTX_new)
#define EVP_MD_CTX_free    (*lc.EVP_MD_CTX_free)
#define EVP_DigestInit_ex  (*lc.EVP_DigestInit_ex)
#define EVP_DigestUpdate   (*lc.EVP_DigestUpdate)
#define EVP_DigestFinal_ex (*lc.EVP_DigestFinal_ex)
#define EVP_sha256         (*lc.EVP_sha256)

struct sha256 *sha256_new(void)
{
        EVP_MD_CTX *c;

        if (!sha256_load())
                return NULL;
        c = EVP_MD_CTX_new();

        if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(c);
                return NULL;
        }
        return (struct sha256 *)c;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
        EVP_DigestUpdate((EVP_MD_CTX *)s, data, len);
}

void sha256_finish(struct sha256 *s, char out[SHA256_HEX_LEN])
{
        unsigned char md[32];
        unsigned int n = 0;

        EVP_DigestFinal_ex((EVP_MD_CTX *)s, md, &n);
        EVP_MD_CTX_free((EVP_MD_CTX *)s);
        for (unsigned int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void sha256_free(struct sha256 *s)
{
        if (s)
                EVP_MD_CTX_free((EVP_MD_CTX *)s);
}

void sha256_freep(struct sha256 **s)
{
        sha256_free(*s);
        *s = NULL;
}

int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
        struct sha256 *s = sha256_new();

        if (!s)
                return -ENOSYS;
        sha256_update(s, data, len);
        sha256_finish(s, out);
        return 0;
}

/* Below this a hand-over to the thread costs more than hashing in place. */
#define SHA256_BG_MIN (64 * 1024)

struct sha256_bg {
        struct sha256 *sha;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* signals both a new buffer and a finished one */
        const void *data;
        size_t len;
        bool busy, quit;
};

static void *sha256_bg_main(void *arg)
{
        struct sha256_bg *b = arg;

        pthread_mutex_lock(&b->lock);
        for (;;) {
                while (!b->busy && !b->quit)
                        pthread_cond_wait(&b->cond, &b->lock);
                if (!b->busy)
                        break;
                pthread_mutex_unlock(&b->lock);
                sha256_update(b->sha, b->data, b->len);
                pthread_mutex_lock(&b->lock);
                b->busy = false;
                pthread_cond_broadcast(&b->cond);
        }
        pthread_mutex_unlock(&b->lock);
        return NULL;
}

int sha256_bg_new(struct sha256_bg **ret)
{
        struct sha256_bg *b = calloc(1, sizeof(*b));
        pthread_attr_t attr;
        int r;

        if (!b)
                return -ENOMEM;
        b->sha = sha256_new();
        if (!b->sha) {
                free(b);
                return sha256_load() ? -ENOMEM : -ENOSYS;
        }
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->cond, NULL);
        pthread_attr_init(&attr);
        /* OpenSSL's digest needs little stack; the default 8 MiB would only be address space. */
        pthread_attr_setstacksize(&attr, 256 * 1024);
        r = pthread_create(&b->thread, &attr, sha256_bg_main, b);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                char discard[SHA256_HEX_LEN];

                sha256_finish(b->sha, discard);
                pthread_cond_destroy(&b->cond);
                pthread_mutex_destroy(&b->lock);
                free(b);
                return -r;
        }
        *ret = b;
        return 0;
}

void sha256_bg_wait(struct sha256_bg *b)
{
        pthread_mutex_lock(&b->lock);
        while (b->busy)
                pthread_cond_wait(&b->cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
}

void sha256_bg_update(struct sha256_bg *b, const void *data, size_t len)
{
        sha256_bg_wait(b);
        if (len < SHA256_BG_MIN) {
                sha256_update(b->sha, data, len);
                return;
        }
        pthread_mutex_lock(&b->lock);
        b->data = data;
        b->len = len;
        b->busy = true;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
}

static void sha256_bg_stop(struct sha256_bg *b)
{
        pthread_mutex_lock(&b->lock);
        b->quit = true;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
}

void sha256_bg_finish(struct sha256_bg *b, char out[SHA256_HEX_LEN])
{
        /* The thread finishes the buffer it holds before it sees quit. */
        sha256_bg_stop(b);
        sha256_finish(b->sha, out);
        free(b);
}

void sha256_bg_free(struct sha256_bg *b)
{
        char discard[SHA256_HEX_LEN];

        if (b)
                sha256_bg_finish(b, discard);
}
