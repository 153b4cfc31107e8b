#pragma once
#include <stddef.h>

#include "err.h"

/* 64 hex digits plus NUL. */
#define SHA256_HEX_LEN 65

/* Incremental sha256 (OpenSSL stays behind this helper). */
struct sha256;

/* Starts a digest; NULL on allocation failure or when libcrypto cannot be loaded. */
struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the hex digest into out and frees s. */
void sha256_finish(struct sha256 *s, char out[SHA256_HEX_LEN]);
/* One-shot digest of a buffer; -ENOSYS when libcrypto cannot be loaded. */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);
