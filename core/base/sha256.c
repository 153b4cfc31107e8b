#include <stdio.h>

#include <openssl/evp.h>

#include "sha256.h"

struct sha256 *sha256_new(void)
{
        EVP_MD_CTX *c = EVP_MD_CTX_new();

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

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
        struct sha256 *s = sha256_new();

        sha256_update(s, data, len);
        sha256_finish(s, out);
}
