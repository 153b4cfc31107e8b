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
/* Frees a digest that will not be finished; NULL is fine. */
void sha256_free(struct sha256 *s);
void sha256_freep(struct sha256 **s);
/* One-shot digest of a buffer; -ENOSYS when libcrypto cannot be loaded. */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

/* A digest computed in a background thread, so hashing a stream overlaps with the work done
 * on it (extracting a layer). Buffers are not copied: data handed to sha256_bg_update must
 * stay valid and unchanged until the next sha256_bg_* call on the same digest. Small
 * buffers are hashed in the caller's thread. */
struct sha256_bg;

/* -ENOSYS when libcrypto cannot be loaded, -ENOMEM, or -errno from pthread_create. */
int sha256_bg_new(struct sha256_bg **ret);
/* Waits for the previous buffer, then starts hashing data. */
void sha256_bg_update(struct sha256_bg *b, const void *data, size_t len);
/* Waits until every buffer handed over so far is hashed (the last one may be reused then). */
void sha256_bg_wait(struct sha256_bg *b);
/* Waits, writes the hex digest into out and frees b. */
void sha256_bg_finish(struct sha256_bg *b, char out[SHA256_HEX_LEN]);
/* Stops the thread and frees b without a result; NULL is fine. */
void sha256_bg_free(struct sha256_bg *b);
