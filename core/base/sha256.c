#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "sha256.h"

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

static bool sha256_load(void)
{
        static void *handle;

        if (handle)
                return true;
        handle = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (!handle)
                return false;
#define SHA_SYM(f)                                                                                 \
        if (!(lc.f = (__typeof__(f) *)dlsym(handle, #f)))                                          \
                return false;
        SHA_FUNCS(SHA_SYM)
#undef SHA_SYM
        return true;
}

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

int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
        struct sha256 *s = sha256_new();

        if (!s)
                return -ENOSYS;
        sha256_update(s, data, len);
        sha256_finish(s, out);
        return 0;
}
