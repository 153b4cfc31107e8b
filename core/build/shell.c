/* Word expansion as BuildKit's frontend/dockerfile/shell (Lex.ProcessWord, Lex.ProcessWords):
 * quotes, the escape character, and $v / ${v...} substitutions, including the pattern forms
 * (${v#p} ${v%p} ${v/p/r}) that BuildKit's lexer accepts. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

#define END (-1)

/* A growing string; after a failed allocation every append is a no-op and oom stays set, so
 * callers check once at the end. */
struct buf {
        char *p;
        size_t n, cap;
        bool oom;
};

static void buf_putn(struct buf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 32;
                char *p;
                while (cap < b->n + n + 1)
                        cap *= 2;
                p = realloc(b->p, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void buf_putc(struct buf *b, char c)
{
        buf_putn(b, &c, 1);
}

static void buf_puts(struct buf *b, const char *s)
{
        buf_putn(b, s, strlen(s));
}

static const char *buf_str(const struct buf *b)
{
        return b->p ? b->p : "";
}

static void buf_done(struct buf *b)
{
        free(b->p);
        *b = (struct buf){0};
}

static void buf_reset(struct buf *b)
{
        b->n = 0;
        if (b->p)
                b->p[0] = '\0';
}

#define _cleanup_buf_ _cleanup_(buf_done)

/* ProcessWords' splitting: whitespace that comes from plain text or from a variable's value
 * separates words; quoted text and escaped characters never do. */
struct words {
        struct buf cur;
        bool in_word;
        char **v;
        size_t n;
        bool oom;
};

static bool is_space(int c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void words_flush(struct words *w)
{
        char **nv;

        if (w->cur.oom)
                w->oom = true;
        if (w->oom || w->cur.n == 0)
                return;
        nv = realloc(w->v, (w->n + 2) * sizeof(*nv));
        if (!nv) {
                w->oom = true;
                return;
        }
        w->v = nv;
        w->v[w->n] = strdup(buf_str(&w->cur));
        if (!w->v[w->n]) {
                w->oom = true;
                return;
        }
        w->v[++w->n] = NULL;
        buf_reset(&w->cur);
}

static void words_raw_char(struct words *w, char c)
{
        if (!w)
                return;
        buf_putc(&w->cur, c);
        w->in_word = true;
}

static void words_char(struct words *w, char c)
{
        if (!w)
                return;
        if (!is_space((unsigned char)c)) {
                words_raw_char(w, c);
        } else if (w->in_word && w->cur.n > 0) {
                words_flush(w);
                w->in_word = false;
        }
}

static void words_string(struct words *w, const char *s)
{
        for (; w && *s; s++)
                words_char(w, *s);
}

static void words_raw_string(struct words *w, const char *s)
{
        if (!w)
                return;
        buf_puts(&w->cur, s);
        w->in_word = true;
}

static void words_done(struct words *w)
{
        buf_done(&w->cur);
        util_strv_free(w->v);
        *w = (struct words){0};
}

struct lex {
        const char *s;
        size_t pos, len;
        char escape;
        bool raw_escapes;
        df_lookup_fn lookup;
        void *ud;
        /* the message of the innermost failure, wrapped once at the top */
        char *msg;
};

static int peek(const struct lex *lx)
{
        return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : END;
}

static int next(struct lex *lx)
{
        return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos++] : END;
}

static int fail(struct lex *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct lex *lx, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        free(lx->msg);
        lx->msg = m;
        return m ? -EINVAL : -ENOMEM;
}

/* Length of the UTF-8 sequence a lead byte starts (1 for anything else). */
static size_t utf8_len(unsigned char c)
{
        if (c >= 0xf0 && c < 0xf8)
                return 4;
        if (c >= 0xe0)
                return c < 0xf0 ? 3 : 1;
        if (c >= 0xc0)
                return 2;
        return 1;
}

/* The code point at s (n bytes available) and its length; U+FFFD for a bad sequence. */
static uint32_t utf8_decode(const char *s, size_t n, size_t *ret_len)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t len = utf8_len(u[0]);
        uint32_t cp;

        if (len == 1 || len > n) {
                *ret_len = 1;
                return u[0] < 0x80 ? u[0] : 0xfffd;
        }
        cp = u[0] & (0x7f >> len);
        for (size_t i = 1; i < len; i++) {
                if ((u[i] & 0xc0) != 0x80) {
                        *ret_len = 1;
                        return 0xfffd;
                }
                cp = cp << 6 | (u[i] & 0x3f);
        }
        *ret_len = len;
        return cp;
}

/* Go's unicode.IsLetter for the scripts people write variable names in: the Latin, Greek,
 * Cyrillic, Armenian, Hebrew, Arabic, Indic, Thai, Hangul, kana and CJK letter blocks. Names
 * are Go's: `$안녕` is one name. */
static bool is_letter_cp(uint32_t cp)
{
        static const uint32_t ranges[][2] = {
                {0xaa, 0xaa},     {0xb5, 0xb5},       {0xba, 0xba},     {0xc0, 0xd6},
                {0xd8, 0xf6},     {0xf8, 0x2c1},      {0x2c6, 0x2d1},   {0x370, 0x374},
                {0x376, 0x37d},   {0x386, 0x386},     {0x388, 0x3ff},   {0x400, 0x481},
                {0x48a, 0x52f},   {0x531, 0x556},     {0x561, 0x587},   {0x5d0, 0x5ea},
                {0x620, 0x64a},   {0x671, 0x6d3},     {0x904, 0x939},   {0xe01, 0xe30},
                {0x10a0, 0x10ff}, {0x1100, 0x11ff},   {0x1e00, 0x1fbc}, {0x3041, 0x3096},
                {0x30a1, 0x30fa}, {0x3131, 0x318e},   {0x3400, 0x4dbf}, {0x4e00, 0x9fff},
                {0xac00, 0xd7a3}, {0xf900, 0xfaff},   {0xff21, 0xff3a}, {0xff41, 0xff5a},
                {0xff66, 0xff9f}, {0x20000, 0x2fa1f},
        };

        for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
                if (cp >= ranges[i][0] && cp <= ranges[i][1])
                        return true;
        return false;
}

static bool is_digit(int c)
{
        return c >= '0' && c <= '9';
}

/* Bytes of a name character at lx->pos ([A-Za-z0-9_] or a letter), 0 when none. */
static size_t name_char(const struct lex *lx)
{
        int c = peek(lx);
        size_t len;

        if (c == END)
                return 0;
        if (c < 0x80)
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
        return is_letter_cp(utf8_decode(lx->s + lx->pos, lx->len - lx->pos, &len)) ? len : 0;
}

static bool is_special_param(int c)
{
        return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
               c == '0';
}

/* A variable name: digits (positional), one special parameter, or letters, digits and '_'. */
static void process_name(struct lex *lx, struct buf *name)
{
        size_t len;

        if (is_digit(peek(lx))) {
                while (is_digit(peek(lx)))
                        buf_putc(name, (char)next(lx));
                return;
        }
        if (peek(lx) != END && is_special_param(peek(lx))) {
                buf_putc(name, (char)next(lx));
                return;
        }
        while ((len = name_char(lx)) > 0) {
                buf_putn(name, lx->s + lx->pos, len);
                lx->pos += len;
        }
}

static const char *var_get(struct lex *lx, const char *name)
{
        return lx->lookup ? lx->lookup(lx->ud, name) : NULL;
}

static int process_stop_on(struct lex *lx, int stop, bool raw_escapes, struct buf *out,
                           struct words *w);

static int process_single_quote(struct lex *lx, struct buf *out)
{
        int c;

        next(lx);
        while ((c = next(lx)) != '\'') {
                if (c == END)
                        return fail(lx, "unexpected end of statement while looking for "
                                        "matching single-quote");
                buf_putc(out, (char)c);
        }
        return 0;
}

static int process_dollar(struct lex *lx, struct buf *out);

static int process_double_quote(struct lex *lx, struct buf *out)
{
        int c, r;

        next(lx);
        for (;;) {
                switch (peek(lx)) {
                case END:
                        return fail(lx, "unexpected end of statement while looking for "
                                        "matching double-quote");
                case '"':
                        next(lx);
                        return 0;
                case '$':
                        r = process_dollar(lx, out);
                        if (r < 0)
                                return r;
                        break;
                default:
                        c = next(lx);
                        if (c == lx->escape) {
                                if (lx->raw_escapes)
                                        buf_putc(out, (char)c);
                                if (peek(lx) == END)
                                        continue;
                                /* Only these are escaped inside double quotes; before
                                 * anything else the escape character stays. */
                                if (peek(lx) == '"' || peek(lx) == '$' || peek(lx) == lx->escape)
                                        c = next(lx);
                        }
                        buf_putc(out, (char)c);
                }
        }
}

/* "<<" keeps the blanks after it, so that "<< EOF" stays one word for heredoc detection. */
static void process_possible_heredoc(struct lex *lx, struct buf *out)
{
        next(lx);
        buf_putc(out, '<');
        if (peek(lx) != '<')
                return;
        next(lx);
        buf_putc(out, '<');
        while (peek(lx) == ' ' || peek(lx) == '\t' || peek(lx) == '\r')
                buf_putc(out, (char)next(lx));
}

/* A shell pattern of ${v#p} ${v%p} ${v/p/r}: '*' any run, '?' one character (neither matches
 * a newline, as Go's regexp '.'), "\*" "\?" "\\" literal, '\' before '}' or '/' dropped.
 * Matched by simulating all positions in the pattern at once, so time stays polynomial
 * whatever the stars (Go's regexp is linear too). */
enum pat_kind { PAT_LIT, PAT_ANY, PAT_STAR };

struct pat_tok {
        enum pat_kind kind;
        const char *lit; /* PAT_LIT: one character, litlen bytes */
        size_t litlen;
};

struct pat {
        struct pat_tok *t;
        size_t n;
        bool *cur, *nxt; /* n + 1 states each */
};

static void pat_done(struct pat *p)
{
        free(p->t);
        free(p->cur);
        free(p->nxt);
        *p = (struct pat){0};
}

static size_t rune_len(const char *s, size_t n)
{
        size_t len;

        utf8_decode(s, n, &len);
        return len;
}

/* Compiles src (which must outlive p); reversed: the tokens in reverse order, for matching a
 * rune-reversed string. */
static int pat_compile(struct lex *lx, const char *src, bool reversed, struct pat *ret)
{
        size_t len = strlen(src);
        struct pat p = {calloc(len + 1, sizeof(*p.t)), 0, NULL, NULL};

        if (!p.t)
                return -ENOMEM;
        for (size_t i = 0; i < len;) {
                char c = src[i];
                if (c == '*' || c == '?') {
                        p.t[p.n++].kind = c == '*' ? PAT_STAR : PAT_ANY;
                        i++;
                        continue;
                }
                if (c == '\\') {
                        if (src[i + 1] == '}' || src[i + 1] == '/') {
                                i++;
                                continue;
                        }
                        c = src[++i];
                        if (c != '*' && c != '?' && c != '\\') {
                                pat_done(&p);
                                return fail(lx,
                                            "invalid pattern (%s) in substitution: invalid "
                                            "escape '\\%c'",
                                            src, c ? c : '?');
                        }
                }
                p.t[p.n].kind = PAT_LIT;
                p.t[p.n].lit = src + i;
                p.t[p.n++].litlen = rune_len(src + i, len - i);
                i += p.t[p.n - 1].litlen;
        }
        p.cur = calloc(p.n + 1, sizeof(*p.cur));
        p.nxt = calloc(p.n + 1, sizeof(*p.nxt));
        if (!p.cur || !p.nxt) {
                pat_done(&p);
                return -ENOMEM;
        }
        for (size_t i = 0; reversed && i < p.n / 2; i++) {
                struct pat_tok t = p.t[i];
                p.t[i] = p.t[p.n - 1 - i];
                p.t[p.n - 1 - i] = t;
        }
        *ret = p;
        return 0;
}

/* A star may match nothing: its state also stands at the token after it. */
static void pat_closure(const struct pat *p, bool *set)
{
        for (size_t k = 0; k < p->n; k++)
                if (set[k] && p->t[k].kind == PAT_STAR)
                        set[k + 1] = true;
}

/* Sets ends[e] for every e such that s[start..e) matches the whole pattern. */
static void pat_ends(struct pat *p, const char *s, size_t len, size_t start, bool *ends)
{
        bool *cur = p->cur, *nxt = p->nxt, *tmp, any = true;

        memset(ends, 0, (len + 1) * sizeof(*ends));
        memset(cur, 0, (p->n + 1) * sizeof(*cur));
        cur[0] = true;
        pat_closure(p, cur);
        ends[start] = cur[p->n];
        for (size_t pos = start; pos < len && any;) {
                size_t r = rune_len(s + pos, len - pos);
                memset(nxt, 0, (p->n + 1) * sizeof(*nxt));
                for (size_t k = 0; k < p->n; k++) {
                        if (!cur[k])
                                continue;
                        switch (p->t[k].kind) {
                        case PAT_LIT:
                                if (r == p->t[k].litlen && !memcmp(s + pos, p->t[k].lit, r))
                                        nxt[k + 1] = true;
                                break;
                        case PAT_ANY:
                                if (s[pos] != '\n')
                                        nxt[k + 1] = true;
                                break;
                        case PAT_STAR:
                                if (s[pos] != '\n')
                                        nxt[k] = true;
                                break;
                        }
                }
                pat_closure(p, nxt);
                pos += r;
                ends[pos] = nxt[p->n];
                any = false;
                for (size_t k = 0; k <= p->n; k++)
                        any = any || nxt[k];
                tmp = cur, cur = nxt, nxt = tmp;
        }
}

/* s with its runes in reverse order. */
static char *rune_reverse(const char *s, size_t len)
{
        char *out = malloc(len + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                size_t r = rune_len(s + i, len - i);
                memcpy(out + len - i - r, s + i, r);
                i += r;
        }
        out[len] = '\0';
        return out;
}

/* ${v#p} ${v##p} (prefix) and ${v%p} ${v%%p} (suffix: the pattern and the value reversed,
 * as BuildKit does it): the shortest or, greedy, the longest match is cut. */
static int trim_affix(struct lex *lx, const char *pattern, const char *value, bool suffix,
                      bool greedy, struct buf *out)
{
        size_t len = strlen(value), cut = 0;
        _cleanup_free_ char *rev = suffix ? rune_reverse(value, len) : NULL;
        _cleanup_free_ bool *ends = calloc(len + 1, sizeof(*ends));
        struct pat p = {0};
        int r;

        if ((suffix && !rev) || !ends)
                return -ENOMEM;
        r = pat_compile(lx, pattern, suffix, &p);
        if (r < 0)
                return r;
        pat_ends(&p, suffix ? rev : value, len, 0, ends);
        pat_done(&p);
        for (size_t e = 0; e <= len; e++)
                if (ends[e]) {
                        cut = e;
                        if (!greedy)
                                break;
                }
        if (suffix)
                buf_putn(out, value, len - cut);
        else
                buf_puts(out, value + cut);
        return 0;
}

/* The leftmost match at or after from, the longest there (a greedy Go regexp); false when
 * none. */
static bool pat_find(struct pat *p, const char *s, size_t len, size_t from, bool *ends,
                     size_t *ret_start, size_t *ret_end)
{
        for (size_t i = from;; i += rune_len(s + i, len - i)) {
                bool found = false;
                pat_ends(p, s, len, i, ends);
                for (size_t e = i; e <= len; e++)
                        if (ends[e]) {
                                *ret_end = e;
                                found = true;
                        }
                if (found) {
                        *ret_start = i;
                        return true;
                }
                if (i >= len)
                        return false;
        }
}

/* ${v/p/r} and ${v//p/r}: Go's Regexp.ReplaceAllString (or its first match) with the
 * replacement taken literally. */
static int replace(struct lex *lx, const char *pattern, const char *repl, const char *value,
                   bool all, struct buf *out)
{
        size_t len = strlen(value), search = 0, last_end = 0, s, e;
        _cleanup_free_ bool *ends = calloc(len + 1, sizeof(*ends));
        struct pat p = {0};
        int r;

        if (!ends)
                return -ENOMEM;
        r = pat_compile(lx, pattern, false, &p);
        if (r < 0)
                return r;
        while (search <= len && pat_find(&p, value, len, search, ends, &s, &e)) {
                buf_putn(out, value + last_end, s - last_end);
                /* No second replacement for an empty match right after a match. */
                if (e > last_end || s == 0)
                        buf_puts(out, repl);
                last_end = e;
                if (!all)
                        break;
                /* Always advance by at least one character. */
                if (search < len && search + rune_len(value + search, len - search) > e)
                        search += rune_len(value + search, len - search);
                else if (search + 1 > e)
                        search++;
                else
                        search = e;
        }
        buf_puts(out, value + last_end);
        pat_done(&p);
        return 0;
}

/* The modifier as Go prints it: the character (or ":" and it) after the name. */
static char *modifier_at(struct lex *lx, size_t at, bool colon)
{
        size_t n = at < lx->len ? rune_len(lx->s + at, lx->len - at) : 0;
        return util_printf("%s%.*s%s", colon ? ":" : "", (int)n, lx->s + at,
                           at < lx->len ? "" : "\xef\xbf\xbd");
}

static int unsupported(struct lex *lx, size_t at, bool colon)
{
        _cleanup_free_ char *m = modifier_at(lx, at, colon);
        return fail(lx, "unsupported modifier (%s) in substitution", m ? m : "?");
}

/* The word of ${name<op>word} up to its '}'. */
static int modifier_word(struct lex *lx, bool raw, struct buf *word)
{
        int r = process_stop_on(lx, '}', raw, word, NULL);

        if (r == -EINVAL && peek(lx) == END)
                return fail(lx, "syntax error: missing '}'");
        return r;
}

static int substitute(struct lex *lx, const char *name, int op, bool null_unset, size_t op_at,
                      struct buf *out)
{
        _cleanup_buf_ struct buf word = {0};
        const char *value;
        bool raw = op == '#' || op == '%', set;
        int r;

        if (null_unset && raw)
                return unsupported(lx, op_at, true);
        r = modifier_word(lx, raw, &word);
        if (r < 0)
                return r;
        if (word.oom)
                return -ENOMEM;
        value = var_get(lx, name);
        set = value != NULL;
        if (!value)
                value = "";
        switch (op) {
        case '-':
                buf_puts(out, !set || (null_unset && !*value) ? buf_str(&word) : value);
                return 0;
        case '+':
                buf_puts(out, !set || (null_unset && !*value) ? "" : buf_str(&word));
                return 0;
        case '?':
                if (!set)
                        return fail(lx, "%s: %s", name,
                                    word.n ? buf_str(&word) : "is not allowed to be unset");
                if (null_unset && !*value)
                        return fail(lx, "%s: %s", name,
                                    word.n ? buf_str(&word) : "is not allowed to be empty");
                buf_puts(out, value);
                return 0;
        case '#':
        case '%': {
                /* "##" and "%%" take the longest match, '#' and '%' the shortest. */
                const char *pat = buf_str(&word);
                bool greedy = *pat == op;
                return trim_affix(lx, pat + greedy, value, op == '%', greedy, out);
        }
        default:
                return unsupported(lx, op_at, null_unset);
        }
}

static int substitute_replace(struct lex *lx, const char *name, struct buf *out)
{
        _cleanup_buf_ struct buf pattern = {0}, repl = {0};
        bool all = false;
        const char *value;
        int r;

        if (peek(lx) == '/') {
                next(lx);
                all = true;
        }
        r = process_stop_on(lx, '/', true, &pattern, NULL);
        if (r == -EINVAL && peek(lx) == END)
                return fail(lx, "syntax error: missing '/' in ${}");
        if (r < 0)
                return r;
        r = modifier_word(lx, true, &repl);
        if (r < 0)
                return r;
        if (pattern.oom || repl.oom)
                return -ENOMEM;
        value = var_get(lx, name);
        return replace(lx, buf_str(&pattern), buf_str(&repl), value ? value : "", all, out);
}

static int process_braces(struct lex *lx, struct buf *out)
{
        _cleanup_buf_ struct buf name = {0};
        const char *value;
        size_t op_at;
        int c;

        next(lx);
        c = peek(lx);
        if (c == END)
                return fail(lx, "syntax error: missing '}'");
        if (c == '{' || c == '}' || c == ':')
                return fail(lx, "syntax error: bad substitution");
        process_name(lx, &name);
        if (name.oom)
                return -ENOMEM;
        op_at = lx->pos;
        c = next(lx);
        switch (c) {
        case END:
                return fail(lx, "syntax error: missing '}'");
        case '}':
                value = var_get(lx, buf_str(&name));
                buf_puts(out, value ? value : "");
                return 0;
        case ':':
                if (peek(lx) == END)
                        return fail(lx, "syntax error: missing '}'");
                op_at = lx->pos;
                /* Like Go's fallthrough: the word is read before the modifier is judged. */
                return substitute(lx, buf_str(&name), next(lx), true, op_at, out);
        case '+':
        case '-':
        case '?':
        case '#':
        case '%':
                return substitute(lx, buf_str(&name), c, false, op_at, out);
        case '/':
                return substitute_replace(lx, buf_str(&name), out);
        default:
                return unsupported(lx, op_at, false);
        }
}

static int process_dollar(struct lex *lx, struct buf *out)
{
        _cleanup_buf_ struct buf name = {0};
        const char *value;

        next(lx);
        if (peek(lx) == '{')
                return process_braces(lx, out);
        process_name(lx, &name);
        if (name.oom)
                return -ENOMEM;
        if (name.n == 0) {
                buf_putc(out, '$');
                return 0;
        }
        value = var_get(lx, buf_str(&name));
        buf_puts(out, value ? value : "");
        return 0;
}

/* Reads up to stop (END: the end of the text), expanding into out and, when w, splitting
 * into words. */
static int process_stop_on(struct lex *lx, int stop, bool raw_escapes, struct buf *out,
                           struct words *w)
{
        bool saved = lx->raw_escapes;
        int r = 0, c;

        lx->raw_escapes = raw_escapes;
        while ((c = peek(lx)) != END) {
                _cleanup_buf_ struct buf tmp = {0};
                if (stop != END && c == stop) {
                        next(lx);
                        goto done;
                }
                if (c == '$' || c == '\'' || c == '"' || c == '<') {
                        if (c == '$')
                                r = process_dollar(lx, &tmp);
                        else if (c == '\'')
                                r = process_single_quote(lx, &tmp);
                        else if (c == '"')
                                r = process_double_quote(lx, &tmp);
                        else
                                process_possible_heredoc(lx, &tmp);
                        if (r < 0)
                                goto done;
                        if (tmp.oom) {
                                r = -ENOMEM;
                                goto done;
                        }
                        buf_puts(out, buf_str(&tmp));
                        if (c == '$')
                                words_string(w, buf_str(&tmp));
                        else
                                words_raw_string(w, buf_str(&tmp));
                        continue;
                }
                next(lx);
                if (c == lx->escape) {
                        if (lx->raw_escapes) {
                                words_raw_char(w, (char)c);
                                buf_putc(out, (char)c);
                        }
                        /* An escape character at the very end is dropped. */
                        c = next(lx);
                        if (c == END)
                                break;
                        words_raw_char(w, (char)c);
                } else {
                        words_char(w, (char)c);
                }
                buf_putc(out, (char)c);
        }
        if (stop != END)
                r = fail(lx, "unexpected end of statement while looking for matching %c",
                         (char)stop);
done:
        lx->raw_escapes = saved;
        return r;
}

/* Go's %q of s, enough for messages: quotes and backslashes escaped, controls as \xNN. */
static char *go_quote(const char *s)
{
        _cleanup_buf_ struct buf b = {0};

        buf_putc(&b, '"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        buf_putc(&b, '\\');
                        buf_putc(&b, (char)c);
                } else if (c == '\n') {
                        buf_puts(&b, "\\n");
                } else if (c == '\t') {
                        buf_puts(&b, "\\t");
                } else if (c < 0x20 || c == 0x7f) {
                        char hex[8];
                        snprintf(hex, sizeof(hex), "\\x%02x", c);
                        buf_puts(&b, hex);
                } else {
                        buf_putc(&b, (char)c);
                }
        }
        buf_putc(&b, '"');
        return b.oom ? NULL : TAKE_PTR(b.p);
}

static int process(const char *text, char escape, df_lookup_fn fn, void *ud, struct buf *out,
                   struct words *w, struct err *err)
{
        struct lex lx = {
                .s = text,
                .len = strlen(text),
                .escape = escape,
                .lookup = fn,
                .ud = ud,
        };
        _cleanup_free_ char *quoted = NULL;
        int r;

        r = process_stop_on(&lx, END, false, out, w);
        if (r == 0 && (out->oom || (w && (w->cur.oom || w->oom))))
                r = -ENOMEM;
        if (r == -ENOMEM) {
                free(lx.msg);
                return err_set(err, -ENOMEM, "expanding %s: out of memory", text);
        }
        if (r < 0) {
                quoted = go_quote(text);
                r = err_set(err, r, "failed to process %s: %s", quoted ? quoted : text,
                            lx.msg ? lx.msg : "error");
                free(lx.msg);
                return r;
        }
        return 0;
}

int df_expand_word(const char *word, char escape, df_lookup_fn lookup, void *ud, char **ret,
                   struct err *err)
{
        _cleanup_buf_ struct buf out = {0};
        int r;

        r = process(word, escape, lookup, ud, &out, NULL, err);
        if (r < 0)
                return r;
        if (!out.p) {
                out.p = strdup("");
                if (!out.p)
                        return err_set(err, -ENOMEM, "expanding %s: out of memory", word);
        }
        *ret = TAKE_PTR(out.p);
        return 0;
}

int df_expand_words(const char *text, char escape, df_lookup_fn lookup, void *ud, char ***ret,
                    struct err *err)
{
        _cleanup_buf_ struct buf out = {0};
        struct words w = {0};
        int r;

        r = process(text, escape, lookup, ud, &out, &w, err);
        if (r == 0) {
                words_flush(&w);
                if (!w.oom && !w.v)
                        w.v = calloc(1, sizeof(*w.v));
                if (w.oom || !w.v)
                        r = err_set(err, -ENOMEM, "expanding %s: out of memory", text);
        }
        if (r == 0)
                *ret = TAKE_PTR(w.v);
        words_done(&w);
        return r;
}
