/* The background digest: whatever the sizes and order of the pieces, and however the caller
 * reuses its buffers within the contract, it equals the one-shot digest of the bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/cleanup.h"
#include "core/base/sha256.h"

#define KIB 1024
#define MIB (1024 * 1024)
/* sha256.c hashes pieces below this in the caller's thread, the rest in its own. */
#define INLINE_MAX (64 * KIB)

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* len bytes of a pattern that depends on the offset and the seed, so a piece hashed twice,
 * skipped, out of order or after it was overwritten changes the digest. */
static void fill(unsigned char *p, size_t len, size_t at, unsigned seed)
{
        for (size_t i = 0; i < len; i++) {
                size_t o = at + i;

                p[i] = (unsigned char)(seed * 131 + o * 7 + o / 253 + (o >> 16));
        }
}

static unsigned char *pattern(size_t len, unsigned seed)
{
        unsigned char *p = malloc(len ? len : 1);

        assert_non_null(p);
        fill(p, len, 0, seed);
        return p;
}

static void one_shot(const void *p, size_t len, char out[SHA256_HEX_LEN])
{
        assert_int_equal(sha256_hex(p, len, out), 0);
        assert_int_equal(strlen(out), 64);
}

/* Digest of data cut into pieces of the given sizes (cycled until len is covered). */
static void bg_pieces(const unsigned char *data, size_t len, const size_t *sizes, size_t nsizes,
                      char out[SHA256_HEX_LEN])
{
        struct sha256_bg *b = NULL;
        size_t at = 0;

        assert_int_equal(sha256_bg_new(&b), 0);
        assert_non_null(b);
        for (size_t i = 0; at < len; i++) {
                size_t n = sizes[i % nsizes];

                if (n > len - at)
                        n = len - at;
                sha256_bg_update(b, data + at, n);
                at += n;
        }
        sha256_bg_finish(b, out);
        assert_int_equal(strlen(out), 64);
}

static void assert_pieces(size_t len, const size_t *sizes, size_t nsizes, unsigned seed)
{
        _cleanup_free_ unsigned char *data = pattern(len, seed);
        char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];

        one_shot(data, len, want);
        bg_pieces(data, len, sizes, nsizes, got);
        assert_string_equal(got, want);
}

static void test_known_vectors(void **state)
{
        static const size_t ones[] = {1};
        char out[SHA256_HEX_LEN];
        struct sha256_bg *b = NULL;

        (void)state;
        one_shot("", 0, out);
        assert_string_equal(out, SHA_EMPTY);
        one_shot("abc", 3, out);
        assert_string_equal(out, SHA_ABC);

        /* Nothing handed over at all, then an empty piece. */
        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_finish(b, out);
        assert_string_equal(out, SHA_EMPTY);
        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_update(b, "", 0);
        sha256_bg_finish(b, out);
        assert_string_equal(out, SHA_EMPTY);

        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_update(b, "abc", 3);
        sha256_bg_finish(b, out);
        assert_string_equal(out, SHA_ABC);
        bg_pieces((const unsigned char *)"abc", 3, ones, 1, out);
        assert_string_equal(out, SHA_ABC);
}

/* One piece of each size around the point where hashing moves to the thread. */
static void test_single_piece_sizes(void **state)
{
        static const size_t lens[] = {
                0,
                1,
                63,
                64,
                65,
                INLINE_MAX - 1,
                INLINE_MAX,
                INLINE_MAX + 1,
                2 * INLINE_MAX,
                3 * MIB + 5,
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
                size_t whole[] = {lens[i] ? lens[i] : 1};
                _cleanup_free_ unsigned char *data = pattern(lens[i], (unsigned)i);
                char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
                struct sha256_bg *b = NULL;

                one_shot(data, lens[i], want);
                /* bg_pieces skips a zero-length stream; hand the empty piece over explicitly. */
                assert_int_equal(sha256_bg_new(&b), 0);
                sha256_bg_update(b, data, lens[i]);
                sha256_bg_finish(b, got);
                assert_string_equal(got, want);
                if (lens[i]) {
                        bg_pieces(data, lens[i], whole, 1, got);
                        assert_string_equal(got, want);
                }
        }
}

static void test_many_pieces(void **state)
{
        static const size_t mib[] = {MIB};
        static const size_t around[] = {INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1};
        /* Small pieces hashed in the caller's thread right after a big one the thread still
         * holds: they must wait for it, not overtake it. */
        static const size_t mixed[] = {MIB, 1, 700 * KIB, 17, INLINE_MAX, 0, 511, 2 * MIB + 3, 5};
        static const size_t small[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 97, 63};

        (void)state;
        assert_pieces(5 * MIB, mib, ARRAY_SIZE(mib), 1);
        assert_pieces(5 * MIB + 333, mib, ARRAY_SIZE(mib), 2);
        assert_pieces(2 * MIB, around, ARRAY_SIZE(around), 3);
        assert_pieces(9 * MIB, mixed, ARRAY_SIZE(mixed), 4);
        assert_pieces(700 * KIB + 1, small, ARRAY_SIZE(small), 5);
}

/* The caller's read loop: one buffer, refilled as soon as sha256_bg_wait returns. */
static void test_reuse_after_wait(void **state)
{
        static const size_t lens[] = {MIB, INLINE_MAX, INLINE_MAX + 1, 100, MIB - 1, 3 * KIB};
        const size_t rounds = 24;
        _cleanup_free_ unsigned char *buf = malloc(MIB);
        _cleanup_free_ unsigned char *all = malloc(rounds * MIB);
        char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
        struct sha256_bg *b = NULL;
        size_t at = 0;

        (void)state;
        assert_non_null(buf);
        assert_non_null(all);
        assert_int_equal(sha256_bg_new(&b), 0);
        for (size_t i = 0; i < rounds; i++) {
                size_t n = lens[i % ARRAY_SIZE(lens)];

                fill(buf, n, at, (unsigned)i);
                memcpy(all + at, buf, n);
                at += n;
                sha256_bg_update(b, buf, n);
                sha256_bg_wait(b);
                /* Scribbled over at once: a wait that returned early would hash this. */
                memset(buf, 0xa5, MIB);
        }
        sha256_bg_wait(b);
        sha256_bg_wait(b);
        sha256_bg_finish(b, got);
        one_shot(all, at, want);
        assert_string_equal(got, want);
}

/* Two buffers in turn: handing over one releases the other. */
static void test_double_buffer(void **state)
{
        const size_t rounds = 16, n = MIB;
        _cleanup_free_ unsigned char *bufs = malloc(2 * n);
        _cleanup_free_ unsigned char *all = malloc(rounds * n);
        char want[SHA256_HEX_LEN], got[SHA256_HEX_LEN];
        struct sha256_bg *b = NULL;

        (void)state;
        assert_non_null(bufs);
        assert_non_null(all);
        assert_int_equal(sha256_bg_new(&b), 0);
        for (size_t i = 0; i < rounds; i++) {
                unsigned char *p = bufs + (i % 2) * n;

                fill(p, n, i * n, 9);
                memcpy(all + i * n, p, n);
                sha256_bg_update(b, p, n);
                /* The previous buffer is free now; dirty it. */
                memset(bufs + ((i + 1) % 2) * n, 0x5a, n);
        }
        sha256_bg_finish(b, got);
        one_shot(all, rounds * n, want);
        assert_string_equal(got, want);
}

/* Several digests at once keep their own state. */
static void test_independent_digests(void **state)
{
        _cleanup_free_ unsigned char *x = pattern(3 * MIB, 11);
        _cleanup_free_ unsigned char *y = pattern(3 * MIB, 12);
        char wx[SHA256_HEX_LEN], wy[SHA256_HEX_LEN], gx[SHA256_HEX_LEN], gy[SHA256_HEX_LEN];
        struct sha256_bg *bx = NULL, *by = NULL;

        (void)state;
        one_shot(x, 3 * MIB, wx);
        one_shot(y, 3 * MIB, wy);
        assert_string_not_equal(wx, wy);
        assert_int_equal(sha256_bg_new(&bx), 0);
        assert_int_equal(sha256_bg_new(&by), 0);
        for (size_t i = 0; i < 3; i++) {
                sha256_bg_update(bx, x + i * MIB, MIB);
                sha256_bg_update(by, y + i * MIB, MIB);
        }
        sha256_bg_finish(by, gy);
        sha256_bg_finish(bx, gx);
        assert_string_equal(gx, wx);
        assert_string_equal(gy, wy);
}

static int thread_count(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        int n = -1;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Threads: %d", &n) == 1)
                        break;
        assert_true(n > 0);
        return n;
}

/* A joined thread leaves the task list a moment after pthread_join returns. */
static void assert_threads(int want)
{
        for (int i = 0; i < 1000 && thread_count() != want; i++)
                nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
        assert_int_equal(thread_count(), want);
}

/* Dropped without a result: while the thread is busy, idle, or never used. The thread must be
 * gone afterwards (its stack keeps the digest reachable, so a leak check alone would not see a
 * digest that is never freed); ASan's leak check catches the rest, the timeout a hang. */
static void test_free_without_finish(void **state)
{
        _cleanup_free_ unsigned char *data = pattern(8 * MIB, 13);
        struct sha256_bg *b = NULL, *held[8];
        char out[SHA256_HEX_LEN];
        int base = thread_count();

        (void)state;
        sha256_bg_free(NULL);
        for (int i = 0; i < 50; i++) {
                assert_int_equal(sha256_bg_new(&b), 0);
                sha256_bg_free(b);
        }
        assert_threads(base);
        for (size_t i = 0; i < ARRAY_SIZE(held); i++)
                assert_int_equal(sha256_bg_new(&held[i]), 0);
        assert_threads(base + (int)ARRAY_SIZE(held));
        for (size_t i = 0; i < ARRAY_SIZE(held); i++)
                sha256_bg_free(held[i]);
        assert_threads(base);

        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_update(b, data, 8 * MIB);
        sha256_bg_free(b);
        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_update(b, data, MIB);
        sha256_bg_wait(b);
        sha256_bg_update(b, "x", 1);
        sha256_bg_free(b);
        assert_threads(base);

        /* finish ends the thread too. */
        assert_int_equal(sha256_bg_new(&b), 0);
        sha256_bg_update(b, data, 2 * MIB);
        sha256_bg_finish(b, out);
        assert_threads(base);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known_vectors),
                cmocka_unit_test(test_single_piece_sizes),
                cmocka_unit_test(test_many_pieces),
                cmocka_unit_test(test_reuse_after_wait),
                cmocka_unit_test(test_double_buffer),
                cmocka_unit_test(test_independent_digests),
                cmocka_unit_test(test_free_without_finish),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
