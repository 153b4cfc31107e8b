#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "tarsplit.h"

#define TS_BLOCK    512
#define TS_MAGIC    "HWTSPLIT"
#define TS_VERSION  1
#define TS_HEAD     16
#define TS_FOOT     32
#define TS_OP_META  'M'
#define TS_OP_FILE  'F'
#define TS_META_HDR 5 /* 'M' u32 */
#define TS_FILE_HDR 9 /* 'F' u64 */
/* Record writes and reads of the record go through 64 KiB; content is copied through 1 MiB
 * so that replaying a large layer costs few syscalls. */
#define TS_WBUF (64 * 1024)
#define TS_RBUF (64 * 1024)
#define TS_PBUF (16 * 1024) /* > the longest path entry, 4 + PATH_MAX */
#define TS_COPY (1024 * 1024)
/* Keeps "size rounded up to a block" far from overflowing. */
#define TS_SIZE_MAX (INT64_MAX / 4)

/* Where the recorder is in the stream. */
enum ts_state {
        TS_HEADER,  /* collecting a header block */
        TS_DATA,    /* entry data or padding: recorded */
        TS_PAYLOAD, /* regular file content: referenced */
        TS_TRAIL,   /* after the end-of-archive block: recorded */
};

/* libarchive's notion of the archive's format, which decides whether a hard link's size
 * announces data. */
enum ts_fmt {
        TS_FMT_V7,
        TS_FMT_USTAR,
        TS_FMT_GNU,
        TS_FMT_PAX,
};

/* What follows a header, by type flag, as libarchive reads it. */
enum ts_kind {
        TS_K_PAX,  /* 'x' records: recorded, parsed for size= and sparse keys */
        TS_K_EXT,  /* other extension headers: data recorded */
        TS_K_NONE, /* no data whatever the size field says */
        TS_K_LINK, /* hard link: data only in pax archives */
        TS_K_DATA, /* an entry whose data the extractor does not write to a file */
        TS_K_FILE, /* regular file content */
        TS_K_BAD,  /* cannot be reproduced */
};

enum pax_state {
        PAX_LEN,
        PAX_KEY,
        PAX_VALUE,
        PAX_DONE, /* a NUL where a record would start ends the records, as in libarchive */
};

/* Incremental parser of "LEN key=value\n" records. Only the size and the sparse keys matter,
 * so keys and values are kept only up to a short prefix. */
struct pax {
        enum pax_state state;
        long long len, pos;
        char key[32];
        size_t key_len;
        bool key_long;
        char value[24];
        size_t value_len;
        bool value_long;
};

struct tarsplit {
        int fd;
        int error;        /* first write error or ENOMEM, -errno */
        bool unsupported; /* finish returns 1 */
        uint64_t total;   /* bytes fed */

        enum ts_state state;
        unsigned char hdr[TS_BLOCK];
        size_t hdr_len;
        long long left, pad; /* of the current data or payload; padding after a payload */
        long long pax_left;  /* bytes of the current data still to parse as pax records */
        struct pax pax;
        bool has_override;
        long long override; /* pax size= for the next entry */
        enum ts_fmt fmt;

        unsigned char *wbuf;
        size_t wlen;
        bool run_open;
        size_t run_at; /* the open 'M' op in wbuf */
        uint64_t written;

        unsigned char *paths; /* the paths section, as it will be written */
        size_t paths_len, paths_cap;
        uint64_t n_paths;

        /* Content sizes seen on one side (stream or names) and not yet on the other. */
        long long *q;
        size_t q_head, q_len, q_cap;
        int q_side;
};

enum {
        TS_SIDE_STREAM = 1,
        TS_SIDE_NAMES = 2,
};

static void put_le32(unsigned char *p, uint32_t v)
{
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

static void put_le64(unsigned char *p, uint64_t v)
{
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}

static uint32_t get_le32(const unsigned char *p)
{
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static uint64_t get_le64(const unsigned char *p)
{
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

static long long round_block(long long n)
{
        return (n + TS_BLOCK - 1) / TS_BLOCK * TS_BLOCK;
}

/* Clean relative paths only: the record must not be able to name anything outside the
 * layer, whatever openat2 would make of it. */
static bool path_ok(const char *p, size_t len)
{
        if (len == 0 || p[0] == '/' || p[len - 1] == '/' || memchr(p, '\0', len))
                return false;
        for (size_t i = 0; i < len;) {
                const char *c = p + i;
                size_t n = strcspn(c, "/");

                if (n > len - i)
                        n = len - i;
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                i += n + 1;
        }
        return true;
}

/* ---- Writing the record. */

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                off += (uint64_t)n;
                len -= (size_t)n;
        }
        return 0;
}

static void out_flush(struct tarsplit *t)
{
        int r;

        if (t->wlen == 0)
                return;
        if (!t->error) {
                r = pwrite_all(t->fd, t->wbuf, t->wlen, t->written);
                if (r < 0)
                        t->error = r;
        }
        t->written += t->wlen;
        t->wlen = 0;
}

static void out_put(struct tarsplit *t, const void *buf, size_t n)
{
        const unsigned char *p = buf;

        while (n > 0) {
                size_t k = TS_WBUF - t->wlen;

                if (k > n)
                        k = n;
                memcpy(t->wbuf + t->wlen, p, k);
                t->wlen += k;
                p += k;
                n -= k;
                if (t->wlen == TS_WBUF)
                        out_flush(t);
        }
}

static void run_close(struct tarsplit *t)
{
        if (!t->run_open)
                return;
        put_le32(t->wbuf + t->run_at + 1, (uint32_t)(t->wlen - t->run_at - TS_META_HDR));
        t->run_open = false;
}

/* Appends to the open 'M' op; a full buffer closes it and the run goes on in a new one. */
static void meta_put(struct tarsplit *t, const unsigned char *p, size_t n)
{
        while (n > 0) {
                size_t k;

                if (!t->run_open) {
                        if (TS_WBUF - t->wlen <= TS_META_HDR)
                                out_flush(t);
                        t->run_at = t->wlen;
                        t->wbuf[t->wlen] = TS_OP_META;
                        t->wlen += TS_META_HDR;
                        t->run_open = true;
                }
                k = TS_WBUF - t->wlen;
                if (k > n)
                        k = n;
                memcpy(t->wbuf + t->wlen, p, k);
                t->wlen += k;
                p += k;
                n -= k;
                if (t->wlen == TS_WBUF) {
                        run_close(t);
                        out_flush(t);
                }
        }
}

static void file_put(struct tarsplit *t, long long size)
{
        unsigned char op[TS_FILE_HDR];

        run_close(t);
        op[0] = TS_OP_FILE;
        put_le64(op + 1, (uint64_t)size);
        out_put(t, op, sizeof(op));
}

/* ---- Matching content sizes of the stream with the names. */

static int q_push(struct tarsplit *t, int side, long long size)
{
        if (t->q_len > 0 && t->q_side != side) {
                if (t->q[t->q_head] != size)
                        t->unsupported = true;
                t->q_head++;
                if (--t->q_len == 0)
                        t->q_head = 0;
                return 0;
        }
        if (t->q_head + t->q_len == t->q_cap) {
                if (t->q_head > 0) {
                        memmove(t->q, t->q + t->q_head, t->q_len * sizeof(*t->q));
                        t->q_head = 0;
                } else {
                        size_t cap = t->q_cap ? t->q_cap * 2 : 256;
                        long long *q = realloc(t->q, cap * sizeof(*q));

                        if (!q)
                                return -ENOMEM;
                        t->q = q;
                        t->q_cap = cap;
                }
        }
        t->q[t->q_head + t->q_len++] = size;
        t->q_side = side;
        return 0;
}

/* ---- Parsing the stream. */

/* A numeric header field as libarchive's tar_atol reads it: base-256 when the high bit is
 * set, else octal after leading blanks up to the first other character. Negative and
 * oversized values are refused, as libarchive refuses such sizes. */
static int parse_number(const unsigned char *p, size_t n, long long *ret)
{
        long long v = 0;
        size_t i = 0;

        if (p[0] & 0x80) {
                if (p[0] & 0x40)
                        return -EINVAL;
                v = p[0] & 0x3f;
                for (i = 1; i < n; i++) {
                        if (v > (TS_SIZE_MAX >> 8))
                                return -EINVAL;
                        v = (v << 8) | p[i];
                }
        } else {
                while (i < n && (p[i] == ' ' || p[i] == '\t'))
                        i++;
                if (i < n && p[i] == '-')
                        return -EINVAL;
                for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
                        if (v > (TS_SIZE_MAX >> 3))
                                return -EINVAL;
                        v = v * 8 + (p[i] - '0');
                }
        }
        if (v > TS_SIZE_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* POSIX sums unsigned bytes; some old tars summed signed ones; libarchive takes both. */
static bool checksum_ok(const unsigned char *h)
{
        long long want;
        long sum_u = 8 * ' ', sum_s = 8 * ' ';

        for (size_t i = 148; i < 156; i++)
                if (h[i] != ' ' && h[i] != '\0' && (h[i] < '0' || h[i] > '7'))
                        return false;
        if (parse_number(h + 148, 8, &want) < 0)
                return false;
        for (size_t i = 0; i < TS_BLOCK; i++) {
                if (i >= 148 && i < 156)
                        continue;
                sum_u += h[i];
                sum_s += (signed char)h[i];
        }
        return want == sum_u || want == sum_s;
}

static bool block_is_zero(const unsigned char *h)
{
        return h[0] == 0 && !memcmp(h, h + 1, TS_BLOCK - 1);
}

static enum ts_kind type_kind(unsigned char type)
{
        switch (type) {
        case 'x':
        case 'X':
                return TS_K_PAX;
        case 'g':
        case 'A':
        case 'K':
        case 'L':
        case 'V':
                return TS_K_EXT;
        case '1':
                return TS_K_LINK;
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
                return TS_K_NONE;
        case 'D':
                return TS_K_DATA;
        case 'S':
        case 'M':
                return TS_K_BAD;
        default:
                return TS_K_FILE;
        }
}

/* Follows libarchive's archive_format transitions (read_header in its tar reader). */
static void track_format(struct tarsplit *t, const unsigned char *h)
{
        switch (h[156]) {
        case 'x':
        case 'X':
        case 'g':
        case 'A':
                t->fmt = TS_FMT_PAX;
                return;
        case 'K':
        case 'L':
        case 'V':
                t->fmt = TS_FMT_GNU;
                return;
        default:
                break;
        }
        if (!memcmp(h + 257, "ustar  \0", 8))
                t->fmt = TS_FMT_GNU;
        else if (!memcmp(h + 257, "ustar", 5))
                t->fmt = t->fmt == TS_FMT_PAX ? TS_FMT_PAX : TS_FMT_USTAR;
        else
                t->fmt = TS_FMT_V7;
}

static void data_start(struct tarsplit *t, long long size, bool pax)
{
        t->left = round_block(size);
        t->state = t->left > 0 ? TS_DATA : TS_HEADER;
        t->pax_left = pax ? size : 0;
        memset(&t->pax, 0, sizeof(t->pax));
}

static void payload_start(struct tarsplit *t, long long size)
{
        file_put(t, size);
        if (q_push(t, TS_SIDE_STREAM, size) < 0)
                t->error = -ENOMEM;
        t->left = size;
        t->pad = round_block(size) - size;
        t->state = TS_PAYLOAD;
}

/* An entry header (not an extension): the pending pax size applies to it. */
static void entry_header(struct tarsplit *t, enum ts_kind kind, long long size)
{
        if (t->has_override)
                size = t->override;
        t->has_override = false;
        switch (kind) {
        case TS_K_LINK:
                /* Plain tar and GNU archives carry no data for hard links whatever their size
                 * says, pax ones do; for ustar libarchive guesses from the next block. */
                if (size > 0 && t->fmt == TS_FMT_USTAR)
                        t->unsupported = true;
                else if (size > 0 && t->fmt == TS_FMT_PAX)
                        data_start(t, size, false);
                return;
        case TS_K_DATA:
                data_start(t, size, false);
                return;
        case TS_K_FILE:
                if (size > 0)
                        payload_start(t, size);
                return;
        case TS_K_BAD:
                t->unsupported = true;
                return;
        case TS_K_NONE:
        case TS_K_PAX:
        case TS_K_EXT:
                return;
        }
}

static void header_done(struct tarsplit *t)
{
        const unsigned char *h = t->hdr;
        enum ts_kind kind = type_kind(h[156]);
        long long size;

        meta_put(t, h, TS_BLOCK);
        t->hdr_len = 0;
        if (block_is_zero(h)) {
                t->state = TS_TRAIL;
                return;
        }
        if (!checksum_ok(h) || parse_number(h + 124, 12, &size) < 0) {
                t->unsupported = true;
                return;
        }
        track_format(t, h);
        if (kind == TS_K_PAX || kind == TS_K_EXT)
                data_start(t, size, kind == TS_K_PAX);
        else
                entry_header(t, kind, size);
}

/* One complete pax record. */
static void pax_attr(struct tarsplit *t)
{
        struct pax *x = &t->pax;
        long long v = 0;

        if (!x->key_long && x->key_len == 4 && !memcmp(x->key, "size", 4)) {
                if (x->value_long || x->value_len == 0 || x->value_len > 18) {
                        t->unsupported = true;
                        return;
                }
                for (size_t i = 0; i < x->value_len; i++) {
                        if (x->value[i] < '0' || x->value[i] > '9') {
                                t->unsupported = true;
                                return;
                        }
                        v = v * 10 + (x->value[i] - '0');
                }
                t->override = v;
                t->has_override = v <= TS_SIZE_MAX;
                t->unsupported |= v > TS_SIZE_MAX;
                return;
        }
        /* Sparse maps (GNU's in pax, star's) are not file content the extractor writes as
         * it reads it. */
        if ((x->key_len >= 11 && !memcmp(x->key, "GNU.sparse.", 11)) ||
            (x->key_len >= 13 && !memcmp(x->key, "SCHILY.sparse", 13)) ||
            (!x->key_long && x->key_len == 15 && !memcmp(x->key, "SCHILY.realsize", 15)))
                t->unsupported = true;
}

static void pax_keep(char *buf, size_t cap, size_t *len, bool *lost, unsigned char c)
{
        if (*len < cap)
                buf[(*len)++] = (char)c;
        else
                *lost = true;
}

static void pax_byte(struct tarsplit *t, unsigned char c)
{
        struct pax *x = &t->pax;
        bool last;

        if (x->state == PAX_DONE)
                return;
        x->pos++;
        if (x->state == PAX_LEN) {
                if (c == '\0' && x->pos == 1) {
                        x->state = PAX_DONE;
                } else if (c >= '0' && c <= '9' && x->len < (1 << 30)) {
                        x->len = x->len * 10 + (c - '0');
                } else if (c == ' ' && x->pos > 1 && x->len > x->pos) {
                        x->state = PAX_KEY;
                } else {
                        t->unsupported = true;
                }
                return;
        }
        last = x->pos == x->len;
        if (x->state == PAX_KEY && (last || (c == '=' && x->key_len == 0))) {
                t->unsupported = true;
        } else if (x->state == PAX_KEY && c == '=') {
                x->state = PAX_VALUE;
        } else if (x->state == PAX_KEY) {
                pax_keep(x->key, sizeof(x->key), &x->key_len, &x->key_long, c);
        } else if (!last) {
                pax_keep(x->value, sizeof(x->value), &x->value_len, &x->value_long, c);
        } else if (c != '\n') {
                t->unsupported = true;
        } else {
                pax_attr(t);
                memset(x, 0, sizeof(*x));
        }
}

static void pax_feed(struct tarsplit *t, const unsigned char *p, size_t n)
{
        if ((long long)n > t->pax_left)
                n = (size_t)t->pax_left;
        t->pax_left -= (long long)n;
        for (size_t i = 0; i < n && !t->unsupported; i++)
                pax_byte(t, p[i]);
        /* The records must end with the data. */
        if (t->pax_left == 0 && t->pax.state != PAX_DONE &&
            (t->pax.state != PAX_LEN || t->pax.pos != 0))
                t->unsupported = true;
}

static size_t feed_header(struct tarsplit *t, const unsigned char *p, size_t n)
{
        size_t k = TS_BLOCK - t->hdr_len;

        if (k > n)
                k = n;
        memcpy(t->hdr + t->hdr_len, p, k);
        t->hdr_len += k;
        if (t->hdr_len == TS_BLOCK)
                header_done(t);
        return k;
}

static size_t feed_data(struct tarsplit *t, const unsigned char *p, size_t n)
{
        size_t k = (long long)n < t->left ? n : (size_t)t->left;

        meta_put(t, p, k);
        if (t->pax_left > 0)
                pax_feed(t, p, k);
        t->left -= (long long)k;
        if (t->left == 0)
                t->state = TS_HEADER;
        return k;
}

static size_t feed_payload(struct tarsplit *t, size_t n)
{
        size_t k = (long long)n < t->left ? n : (size_t)t->left;

        t->left -= (long long)k;
        if (t->left == 0) {
                t->left = t->pad;
                t->state = t->pad > 0 ? TS_DATA : TS_HEADER;
        }
        return k;
}

void tarsplit_feed(struct tarsplit *t, const void *buf, size_t n)
{
        const unsigned char *p = buf;

        t->total += n;
        while (n > 0 && !t->error && !t->unsupported) {
                size_t k = 0;

                switch (t->state) {
                case TS_HEADER:
                        k = feed_header(t, p, n);
                        break;
                case TS_DATA:
                        k = feed_data(t, p, n);
                        break;
                case TS_PAYLOAD:
                        k = feed_payload(t, n);
                        break;
                case TS_TRAIL:
                        meta_put(t, p, n);
                        k = n;
                        break;
                }
                p += k;
                n -= k;
        }
}

/* ---- The recorder's API. */

int tarsplit_new(int out_fd, struct tarsplit **ret, struct err *err)
{
        _cleanup_tarsplit_ struct tarsplit *t = calloc(1, sizeof(*t));
        unsigned char head[TS_HEAD] = TS_MAGIC;

        if (!t)
                return err_set(err, -ENOMEM, "starting a tar-split record");
        t->fd = out_fd;
        t->wbuf = malloc(TS_WBUF);
        if (!t->wbuf)
                return err_set(err, -ENOMEM, "starting a tar-split record");
        put_le32(head + 8, TS_VERSION);
        put_le32(head + 12, 0);
        out_put(t, head, sizeof(head));
        *ret = TAKE_PTR(t);
        return 0;
}

int tarsplit_name(struct tarsplit *t, const char *path, long long size)
{
        size_t len = strlen(path);

        if (size <= 0 || !path_ok(path, len)) {
                t->unsupported = true;
                return -EINVAL;
        }
        if (len >= PATH_MAX)
                t->unsupported = true;
        if (t->error || t->unsupported)
                return t->error;
        if (t->paths_cap - t->paths_len < 4 + len) {
                size_t cap = t->paths_cap ? t->paths_cap : 4096;
                unsigned char *p;

                while (cap - t->paths_len < 4 + len)
                        cap *= 2;
                p = realloc(t->paths, cap);
                if (!p)
                        return t->error = -ENOMEM;
                t->paths = p;
                t->paths_cap = cap;
        }
        if (q_push(t, TS_SIDE_NAMES, size) < 0)
                return t->error = -ENOMEM;
        put_le32(t->paths + t->paths_len, (uint32_t)len);
        memcpy(t->paths + t->paths_len + 4, path, len);
        t->paths_len += 4 + len;
        t->n_paths++;
        return 0;
}

void tarsplit_spoil(struct tarsplit *t)
{
        t->unsupported = true;
}

static int finish_error(struct tarsplit *t, struct err *err)
{
        if (t->error == -ENOMEM)
                return err_set(err, -ENOMEM, "recording the tar-split: out of memory");
        return err_set(err, t->error, "writing the tar-split record: %s", strerror(-t->error));
}

int tarsplit_finish(struct tarsplit *t, struct err *err)
{
        unsigned char foot[TS_FOOT];
        uint64_t paths_off;

        if (t->error)
                return finish_error(t, err);
        if (t->unsupported || t->q_len > 0)
                return 1;
        if (t->state != TS_TRAIL && (t->state != TS_HEADER || t->hdr_len > 0))
                return 1;
        run_close(t);
        paths_off = t->written + t->wlen;
        out_put(t, t->paths, t->paths_len);
        put_le64(foot, paths_off);
        put_le64(foot + 8, t->n_paths);
        put_le64(foot + 16, t->total);
        memcpy(foot + 24, TS_MAGIC, 8);
        out_put(t, foot, sizeof(foot));
        out_flush(t);
        if (t->error)
                return finish_error(t, err);
        return 0;
}

void tarsplit_free(struct tarsplit *t)
{
        if (!t)
                return;
        free(t->wbuf);
        free(t->paths);
        free(t->q);
        free(t);
}

void tarsplit_freep(struct tarsplit **t)
{
        tarsplit_free(*t);
}

/* ---- Reading a record. */

struct ts_layout {
        uint64_t file_size, paths_off, n_paths, stream_size;
};

static int corrupt(struct err *err, const char *what)
{
        return err_set(err, -EINVAL, "corrupt tar-split record: %s", what);
}

static int pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
        ssize_t k;

        do
                k = pread(fd, buf, n, (off_t)off);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t)k == n ? 0 : -EINVAL;
}

static int read_layout(int fd, struct ts_layout *ret, struct err *err)
{
        unsigned char head[TS_HEAD], foot[TS_FOOT];
        struct ts_layout l = {0};
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return err_errno(err, "reading the tar-split record");
        if (!S_ISREG(st.st_mode) || st.st_size < TS_HEAD + TS_FOOT)
                return corrupt(err, "too short");
        l.file_size = (uint64_t)st.st_size;
        r = pread_exact(fd, head, sizeof(head), 0);
        if (r == 0)
                r = pread_exact(fd, foot, sizeof(foot), l.file_size - TS_FOOT);
        if (r < 0 && r != -EINVAL)
                return err_set(err, r, "reading the tar-split record: %s", strerror(-r));
        if (r < 0 || memcmp(head, TS_MAGIC, 8) || memcmp(foot + 24, TS_MAGIC, 8))
                return corrupt(err, "no magic");
        if (get_le32(head + 8) != TS_VERSION)
                return err_set(err, -EINVAL, "tar-split record version %u is not supported",
                               get_le32(head + 8));
        l.paths_off = get_le64(foot);
        l.n_paths = get_le64(foot + 8);
        l.stream_size = get_le64(foot + 16);
        if (l.paths_off < TS_HEAD || l.paths_off > l.file_size - TS_FOOT ||
            l.n_paths > (l.file_size - TS_FOOT - l.paths_off) / 5 || l.stream_size > INT64_MAX)
                return corrupt(err, "bad footer");
        *ret = l;
        return 0;
}

int tarsplit_size(int split_fd, long long *ret, struct err *err)
{
        struct ts_layout l;
        int r = read_layout(split_fd, &l, err);

        if (r < 0)
                return r;
        *ret = (long long)l.stream_size;
        return 0;
}

/* Sequential reader of one section of the record. */
struct rd {
        int fd;
        uint64_t at, end; /* next offset to read, end of the section */
        unsigned char *buf;
        size_t cap, off, len;
};

/* Makes n bytes available at buf + off: -EINVAL when the section ends first. */
static int rd_need(struct rd *r, size_t n)
{
        if (r->len - r->off >= n)
                return 0;
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
        while (r->len < n) {
                size_t want = r->cap - r->len;
                ssize_t k;

                if (want > r->end - r->at)
                        want = (size_t)(r->end - r->at);
                if (want == 0)
                        return -EINVAL;
                k = pread(r->fd, r->buf + r->len, want, (off_t)r->at);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EINVAL;
                r->len += (size_t)k;
                r->at += (uint64_t)k;
        }
        return 0;
}

static bool rd_done(const struct rd *r)
{
        return r->off == r->len && r->at == r->end;
}

struct replay {
        struct ts_layout l;
        struct rd body, paths;
        int dirfd;
        int (*sink)(void *ud, const void *buf, size_t n, struct err *err);
        void *ud;
        unsigned char *out; /* TS_COPY bytes gathered for the sink */
        size_t out_len;
        uint64_t total, files;
        char path[PATH_MAX];
        struct err *err;
};

static int rd_fail(struct replay *p, int r, const char *what)
{
        if (r == -EINVAL)
                return corrupt(p->err, what);
        return err_set(p->err, r, "reading the tar-split record: %s", strerror(-r));
}

static int out_drain(struct replay *p)
{
        int r;

        if (p->out_len == 0)
                return 0;
        r = p->sink(p->ud, p->out, p->out_len, p->err);
        p->out_len = 0;
        return r;
}

static int replay_meta(struct replay *p)
{
        struct rd *b = &p->body;
        uint32_t left;
        int r = rd_need(b, 4);

        if (r < 0)
                return rd_fail(p, r, "truncated op");
        left = get_le32(b->buf + b->off);
        b->off += 4;
        if (left == 0 || left > p->l.stream_size - p->total)
                return corrupt(p->err, "bad run length");
        p->total += left;
        while (left > 0) {
                size_t k;

                r = rd_need(b, 1);
                if (r < 0)
                        return rd_fail(p, r, "truncated run");
                k = b->len - b->off;
                if (k > left)
                        k = left;
                if (k > TS_COPY - p->out_len && (r = out_drain(p)) < 0)
                        return r;
                memcpy(p->out + p->out_len, b->buf + b->off, k);
                p->out_len += k;
                b->off += k;
                left -= (uint32_t)k;
        }
        return 0;
}

static int next_path(struct replay *p)
{
        struct rd *s = &p->paths;
        uint32_t len;
        int r = rd_need(s, 4);

        if (r < 0)
                return rd_fail(p, r, "too few paths");
        len = get_le32(s->buf + s->off);
        if (len >= PATH_MAX)
                return corrupt(p->err, "path too long");
        r = rd_need(s, 4 + len);
        if (r < 0)
                return rd_fail(p, r, "truncated path");
        memcpy(p->path, s->buf + s->off + 4, len);
        p->path[len] = '\0';
        s->off += 4 + len;
        if (!path_ok(p->path, len))
                return corrupt(p->err, "unclean path");
        return 0;
}

/* Where openat2 is missing: one component at a time, never following a symlink. */
static int open_walk(int dirfd, const char *path)
{
        _cleanup_close_ int cur = -1;
        char name[NAME_MAX + 1];
        struct stat st;

        for (;;) {
                size_t n = strcspn(path, "/");
                int fd;

                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, path, n);
                name[n] = '\0';
                if (path[n] == '\0') {
                        fd = openat(cur >= 0 ? cur : dirfd, name,
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                        return fd < 0 ? -errno : fd;
                }
                /* O_PATH | O_NOFOLLOW opens a symlink itself, so it can be told apart from
                 * a file where a directory should be. */
                fd = openat(cur >= 0 ? cur : dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                closep(&cur);
                cur = fd;
                if (fstat(cur, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
                path += n + 1;
        }
}

/* O_NONBLOCK: a fifo planted where a file was must not hang the replay. */
static int open_beneath(int dirfd, const char *path)
{
        struct open_how how = {
                .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        do
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EINTR);
        if (fd >= 0)
                return (int)fd;
        /* Old seccomp filters answer unknown syscalls with EPERM rather than ENOSYS. */
        if (errno == ENOSYS || errno == EPERM)
                return open_walk(dirfd, path);
        return -errno;
}

static int open_fail(struct replay *p, int r)
{
        switch (-r) {
        case ENOENT:
                return err_set(p->err, -EINVAL, "layer file %s is missing", p->path);
        case ELOOP:
        case EXDEV:
                return err_set(p->err, -EINVAL, "layer file %s is reached through a symlink",
                               p->path);
        case ENOTDIR:
                return err_set(p->err, -EINVAL, "a parent of layer file %s is not a directory",
                               p->path);
        case ENXIO:
        case ENAMETOOLONG:
                return err_set(p->err, -EINVAL, "layer file %s: %s", p->path, strerror(-r));
        default:
                return err_set(p->err, r, "opening layer file %s: %s", p->path, strerror(-r));
        }
}

static int copy_file(struct replay *p, int fd, uint64_t size)
{
        while (size > 0) {
                size_t want = TS_COPY - p->out_len;
                ssize_t n;
                int r;

                if (want == 0) {
                        r = out_drain(p);
                        if (r < 0)
                                return r;
                        want = TS_COPY;
                }
                if (want > size)
                        want = (size_t)size;
                n = read(fd, p->out + p->out_len, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_errno(p->err, "reading layer file %s", p->path);
                if (n == 0)
                        return err_set(p->err, -EINVAL, "layer file %s shrank while read", p->path);
                p->out_len += (size_t)n;
                size -= (uint64_t)n;
        }
        return 0;
}

static int replay_file(struct replay *p)
{
        _cleanup_close_ int fd = -1;
        struct rd *b = &p->body;
        struct stat st;
        uint64_t size;
        int r = rd_need(b, 8);

        if (r < 0)
                return rd_fail(p, r, "truncated op");
        size = get_le64(b->buf + b->off);
        b->off += 8;
        if (size == 0 || size > p->l.stream_size - p->total || p->files == p->l.n_paths)
                return corrupt(p->err, "bad file op");
        r = next_path(p);
        if (r < 0)
                return r;
        fd = open_beneath(p->dirfd, p->path);
        if (fd < 0)
                return open_fail(p, fd);
        if (fstat(fd, &st) < 0)
                return err_errno(p->err, "reading layer file %s", p->path);
        if (!S_ISREG(st.st_mode))
                return err_set(p->err, -EINVAL, "layer file %s is not a regular file", p->path);
        if ((uint64_t)st.st_size != size)
                return err_set(p->err, -EINVAL, "layer file %s has %lld bytes, not %llu", p->path,
                               (long long)st.st_size, (unsigned long long)size);
        p->total += size;
        p->files++;
        return copy_file(p, fd, size);
}

static int replay_ops(struct replay *p)
{
        while (!rd_done(&p->body)) {
                int r = rd_need(&p->body, 1);
                unsigned char op;

                if (r < 0)
                        return rd_fail(p, r, "truncated body");
                op = p->body.buf[p->body.off++];
                if (op == TS_OP_META)
                        r = replay_meta(p);
                else if (op == TS_OP_FILE)
                        r = replay_file(p);
                else
                        r = corrupt(p->err, "unknown op");
                if (r < 0)
                        return r;
        }
        if (p->files != p->l.n_paths || !rd_done(&p->paths) || p->total != p->l.stream_size)
                return corrupt(p->err, "sizes do not add up");
        return out_drain(p);
}

int tarsplit_replay(int split_fd, int layer_dirfd,
                    int (*sink)(void *ud, const void *buf, size_t n, struct err *err), void *ud,
                    struct err *err)
{
        _cleanup_free_ unsigned char *body = malloc(TS_RBUF), *paths = malloc(TS_PBUF),
                                     *out = malloc(TS_COPY);
        struct replay p = {.dirfd = layer_dirfd, .sink = sink, .ud = ud, .out = out, .err = err};
        int r;

        if (!body || !paths || !out)
                return err_set(err, -ENOMEM, "replaying a tar-split record");
        r = read_layout(split_fd, &p.l, err);
        if (r < 0)
                return r;
        p.body = (struct rd){split_fd, TS_HEAD, p.l.paths_off, body, TS_RBUF, 0, 0};
        p.paths =
                (struct rd){split_fd, p.l.paths_off, p.l.file_size - TS_FOOT, paths, TS_PBUF, 0, 0};
        return replay_ops(&p);
}
