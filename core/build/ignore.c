/* .dockerignore: the rules of moby/patternmatcher and its ignorefile.ReadAll, which the Docker
 * CLI and BuildKit share. patternmatcher turns each pattern into a Go regexp; here the same
 * translation yields a short list of tokens that a memoized backtracking matcher runs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/err.h"
#include "internal.h"

/* patternmatcher's matchType: the three literal forms skip the regexp. */
enum match_kind {
        MATCH_EXACT,  /* path == text */
        MATCH_PREFIX, /* "lit**": path starts with lit */
        MATCH_SUFFIX, /* "**lit": path ends with lit (or is lit without its leading '/') */
        MATCH_REGEXP,
};

enum tok_kind {
        TOK_LIT,         /* one byte */
        TOK_ANY,         /* '?': one character but '/' ([^/]) */
        TOK_CLASS,       /* [...]: one character */
        TOK_STAR,        /* '*': [^/]* */
        TOK_DSTAR_SLASH, /* '**' inside: (.*\/)? */
        TOK_DSTAR_END,   /* '**' at the end: .* */
        TOK_PERL,        /* \d \D \s \S \w \W (byte: the letter) */
        TOK_ASSERT,      /* '^', \A, \z, \b, \B: zero width (byte: A, z, b or B) */
};

struct tok {
        enum tok_kind kind;
        unsigned char byte; /* TOK_LIT, TOK_PERL, TOK_ASSERT */
        bool negated;       /* TOK_CLASS */
        size_t body, end;   /* TOK_CLASS: its members are text[body..end) */
};

struct pattern {
        char *text; /* cleaned, without the '!' */
        size_t len;
        bool exclusion;
        enum match_kind kind;
        struct tok *toks;
        size_t n_toks;
};

struct df_ignore {
        struct pattern *v;
        size_t n;
        bool exclusions;
};

/* ---- UTF-8 and Go's strings.TrimSpace ---- */

/* Decodes the rune at s (n > 0 bytes left) as Go does: an invalid byte is U+FFFD, width 1. */
static uint32_t rune_at(const char *s, size_t n, size_t *ret_w)
{
        const unsigned char *u = (const unsigned char *)s;
        uint32_t r, min;
        size_t w;

        if (u[0] < 0x80) {
                *ret_w = 1;
                return u[0];
        }
        if (u[0] >= 0xc2 && u[0] <= 0xdf)
                w = 2, r = u[0] & 0x1f, min = 0x80;
        else if (u[0] >= 0xe0 && u[0] <= 0xef)
                w = 3, r = u[0] & 0x0f, min = 0x800;
        else if (u[0] >= 0xf0 && u[0] <= 0xf4)
                w = 4, r = u[0] & 0x07, min = 0x10000;
        else
                goto bad;
        if (n < w)
                goto bad;
        for (size_t i = 1; i < w; i++) {
                if ((u[i] & 0xc0) != 0x80)
                        goto bad;
                r = r << 6 | (u[i] & 0x3f);
        }
        if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
                goto bad;
        *ret_w = w;
        return r;
bad:
        *ret_w = 1;
        return 0xfffd;
}

/* unicode.IsSpace */
static bool is_space_rune(uint32_t r)
{
        switch (r) {
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case 0x85:
        case 0xa0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202f:
        case 0x205f:
        case 0x3000:
                return true;
        default:
                return r >= 0x2000 && r <= 0x200a;
        }
}

/* Trims Unicode white space from both ends of s[0..*n); returns the new start. */
static const char *trim_space(const char *s, size_t *n)
{
        size_t w;

        while (*n > 0 && is_space_rune(rune_at(s, *n, &w))) {
                s += w;
                *n -= w;
        }
        while (*n > 0) {
                /* The last character starts at most three continuation bytes back; a byte
                 * that ends no valid character is U+FFFD, which is not a space. */
                size_t start = *n - 1;
                uint32_t r;

                while (start > 0 && *n - start < 4 && ((unsigned char)s[start] & 0xc0) == 0x80)
                        start--;
                r = rune_at(s + start, *n - start, &w);
                if (start + w != *n || !is_space_rune(r))
                        break;
                *n = start;
        }
        return s;
}

/* ---- Go's filepath.Clean, for '/' ---- */

/* Cleans s[0..n) into a new string ("." for an empty result); NULL when out of memory. */
static char *path_clean(const char *s, size_t n)
{
        bool rooted = n > 0 && s[0] == '/';
        size_t r = rooted, w = rooted, dotdot = rooted;
        char *out = malloc(n + 2);

        if (!out)
                return NULL;
        if (rooted)
                out[0] = '/';
        while (r < n) {
                if (s[r] == '/') {
                        r++;
                } else if (s[r] == '.' && (r + 1 == n || s[r + 1] == '/')) {
                        r++;
                } else if (s[r] == '.' && r + 1 < n && s[r + 1] == '.' &&
                           (r + 2 == n || s[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if ((rooted && w != 1) || (!rooted && w != 0))
                                out[w++] = '/';
                        while (r < n && s[r] != '/')
                                out[w++] = s[r++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

/* ---- syntax: Go's filepath.Match(pattern, ".") error check ---- */

/* getEsc: one character of a class as filepath.Match reads it; *pos moves past it. */
static int fp_class_char(const char *p, size_t n, size_t *pos)
{
        size_t i = *pos, w;

        if (i >= n || p[i] == '-' || p[i] == ']')
                return -EINVAL;
        if (p[i] == '\\' && ++i >= n)
                return -EINVAL;
        if (rune_at(p + i, n - i, &w) == 0xfffd && w == 1 && (unsigned char)p[i] >= 0x80)
                return -EINVAL;
        i += w;
        if (i >= n)
                return -EINVAL;
        *pos = i;
        return 0;
}

/* Moves *pos past the class whose '[' it is at, as filepath.Match reads it. */
static int fp_class(const char *p, size_t n, size_t *pos)
{
        size_t i = *pos + 1, nrange = 0;

        i += i < n && p[i] == '^';
        while (!(i < n && p[i] == ']' && nrange > 0)) {
                if (fp_class_char(p, n, &i) < 0)
                        return -EINVAL;
                if (p[i] == '-') {
                        i++;
                        if (fp_class_char(p, n, &i) < 0)
                                return -EINVAL;
                }
                nrange++;
        }
        *pos = i + 1;
        return 0;
}

/* Checks p as filepath.Match does (each class, no trailing '\'). Splitting into chunks at
 * each '*' changes nothing here: a chunk never ends inside a class that is well formed. */
static int pattern_check(const char *p, size_t n)
{
        size_t i = 0;

        while (i < n) {
                if (p[i] == '[') {
                        if (fp_class(p, n, &i) < 0)
                                return -EINVAL;
                } else if (p[i] == '\\') {
                        if (i + 1 >= n)
                                return -EINVAL;
                        i += 2;
                } else {
                        i++;
                }
        }
        return 0;
}

/* ---- escapes: patternmatcher copies '\' and the next character into its regexp, so an
 * escape means what it means to Go's regexp ---- */

static bool is_alnum(unsigned char c)
{
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool is_word(unsigned char c)
{
        return is_alnum(c) || c == '_';
}

/* \a \f \t \n \r \v */
static int esc_control(unsigned char c)
{
        static const char from[] = "aftnrv", to[] = "\a\f\t\n\r\v";
        const char *at = c ? strchr(from, c) : NULL;

        return at ? to[at - from] : -1;
}

/* The named classes of Go's regexp, all ASCII: POSIX [:name:] and Perl \d \s \w. */
struct char_set {
        const char *name;
        unsigned char r[8]; /* ranges: lo, hi pairs */
        size_t n;           /* how many pairs */
};

static const struct char_set posix_sets[] = {
        {"alnum", {'0', '9', 'A', 'Z', 'a', 'z'}, 3},
        {"alpha", {'A', 'Z', 'a', 'z'}, 2},
        {"ascii", {0x00, 0x7f}, 1},
        {"blank", {'\t', '\t', ' ', ' '}, 2},
        {"cntrl", {0x00, 0x1f, 0x7f, 0x7f}, 2},
        {"digit", {'0', '9'}, 1},
        {"graph", {'!', '~'}, 1},
        {"lower", {'a', 'z'}, 1},
        {"print", {' ', '~'}, 1},
        {"punct", {'!', '/', ':', '@', '[', '`', '{', '~'}, 4},
        {"space", {'\t', '\r', ' ', ' '}, 2},
        {"upper", {'A', 'Z'}, 1},
        {"word", {'0', '9', 'A', 'Z', 'a', 'z', '_', '_'}, 4},
        {"xdigit", {'0', '9', 'A', 'F', 'a', 'f'}, 3},
};

/* \d \s \w by their letter (upper case: negated); \s lacks \v, unlike [:space:]. */
static const struct char_set perl_sets[] = {
        {"d", {'0', '9'}, 1},
        {"s", {'\t', '\n', '\f', '\r', ' ', ' '}, 3},
        {"w", {'0', '9', 'A', 'Z', 'a', 'z', '_', '_'}, 4},
};

static const struct char_set *perl_set(unsigned char c)
{
        for (size_t i = 0; c && i < ARRAY_SIZE(perl_sets); i++)
                if ((c | 0x20) == perl_sets[i].name[0])
                        return &perl_sets[i];
        return NULL;
}

static bool set_match(const struct char_set *set, bool negated, uint32_t r)
{
        bool in = false;

        for (size_t i = 0; i < set->n; i++)
                in |= r >= set->r[2 * i] && r <= set->r[2 * i + 1];
        return in != negated;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                return (c | 0x20) - 'a' + 10;
        return -1;
}

/* An escape (p[*pos] is the '\') that stands for one character in Go's regexp: punctuation
 * for itself, \a \f \t \n \r \v, \xHH, octal \0 to \777. Returns 1 with *pos unmoved for any
 * other letter (the caller knows \d, \b, ...), -EINVAL for what Go's regexp rejects: a
 * non-ASCII character, a lone \1 to \7 (a back reference), a bad \x. */
static int escape_rune(const char *p, size_t n, size_t *pos, uint32_t *r)
{
        size_t i = *pos + 1;
        unsigned char c;

        if (i >= n)
                return -EINVAL;
        c = (unsigned char)p[i++];
        if (c >= 0x80)
                return -EINVAL;
        if (!is_alnum(c)) {
                *r = c;
        } else if (esc_control(c) >= 0) {
                *r = (uint32_t)esc_control(c);
        } else if (c == 'x') {
                if (i + 2 > n || hex_digit(p[i]) < 0 || hex_digit(p[i + 1]) < 0)
                        return -EINVAL;
                *r = (uint32_t)(hex_digit(p[i]) * 16 + hex_digit(p[i + 1]));
                i += 2;
        } else if (c >= '0' && c <= '7') {
                if (c != '0' && !(i < n && p[i] >= '0' && p[i] <= '7'))
                        return -EINVAL;
                *r = c - '0';
                for (int k = 1; k < 3 && i < n && p[i] >= '0' && p[i] <= '7'; k++)
                        *r = *r * 8 + (uint32_t)(p[i++] - '0');
        } else {
                return 1;
        }
        *pos = i;
        return 0;
}

/* One member of a class as Go's regexp reads it: a range lo..hi, or a named class. */
struct member {
        uint32_t lo, hi;
        const struct char_set *set;
        bool set_negated;
};

/* A single character of a class (parseClassChar). */
static int class_char(const char *p, size_t n, size_t *pos, uint32_t *ret)
{
        size_t w;

        if (*pos >= n)
                return -EINVAL;
        if (p[*pos] == '\\')
                return escape_rune(p, n, pos, ret) == 0 ? 0 : -EINVAL;
        *ret = rune_at(p + *pos, n - *pos, &w);
        *pos += w;
        return 0;
}

/* [:name:] or [:^name:] at p[*pos]: 1 with *m set, 0 when there is none (no ":]" follows:
 * then '[' is a plain character), -EINVAL for an unknown name. */
static int class_posix(const char *p, size_t n, size_t *pos, struct member *m)
{
        const char *name = p + *pos + 2, *close;
        size_t len;
        bool negated;

        if (n - *pos <= 2 || p[*pos] != '[' || p[*pos + 1] != ':')
                return 0;
        close = memmem(name, n - *pos - 2, ":]", 2);
        if (!close)
                return 0;
        len = (size_t)(close - name);
        negated = len > 0 && name[0] == '^';
        for (size_t i = 0; i < ARRAY_SIZE(posix_sets); i++) {
                if (strlen(posix_sets[i].name) == len - negated &&
                    memcmp(posix_sets[i].name, name + negated, len - negated) == 0) {
                        *m = (struct member){.set = &posix_sets[i], .set_negated = negated};
                        *pos = (size_t)(close + 2 - p);
                        return 1;
                }
        }
        return -EINVAL;
}

/* The member of a class at p[*pos] (Go's parseClass, one round). -EINVAL where Go's regexp
 * fails: an unknown escape or [:name:], a range whose ends are out of order (patternmatcher
 * then fails on every match; here the parse does). \p and \P are not carried over. */
static int class_next(const char *p, size_t n, size_t *pos, struct member *m)
{
        size_t i = *pos;
        int r = class_posix(p, n, &i, m);

        if (r != 0) {
                *pos = i;
                return r < 0 ? r : 0;
        }
        if (i + 1 < n && p[i] == '\\' && perl_set((unsigned char)p[i + 1])) {
                *m = (struct member){.set = perl_set((unsigned char)p[i + 1]),
                                     .set_negated = p[i + 1] >= 'A' && p[i + 1] <= 'Z'};
                *pos = i + 2;
                return 0;
        }
        *m = (struct member){0};
        if (class_char(p, n, &i, &m->lo) < 0)
                return -EINVAL;
        m->hi = m->lo;
        /* "a-]" is 'a' and '-' */
        if (n - i >= 2 && p[i] == '-' && p[i + 1] != ']') {
                i++;
                if (class_char(p, n, &i, &m->hi) < 0 || m->hi < m->lo)
                        return -EINVAL;
        }
        *pos = i;
        return 0;
}

/* ---- compiling: patternmatcher's Pattern.compile ---- */

static void tok_push(struct pattern *pat, enum tok_kind kind, unsigned char byte)
{
        pat->toks[pat->n_toks++] = (struct tok){.kind = kind, .byte = byte};
}

/* A character code (below 0x800: \x and octal escapes) as its UTF-8 bytes. */
static void tok_push_rune(struct pattern *pat, uint32_t r)
{
        if (r < 0x80) {
                tok_push(pat, TOK_LIT, (unsigned char)r);
                return;
        }
        tok_push(pat, TOK_LIT, (unsigned char)(0xc0 | r >> 6));
        tok_push(pat, TOK_LIT, (unsigned char)(0x80 | (r & 0x3f)));
}

/* The escape at p[*pos] outside a class, read as Go's regexp does (escape_rune), or one of
 * \d \D \s \S \w \W \A \z \b \B. -EINVAL for the rest: what Go rejects (\c, \8, \é, ...) and
 * \p \P \Q, which are not carried over. */
static int compile_escape(struct pattern *pat, const char *p, size_t n, size_t *pos)
{
        unsigned char c = (unsigned char)p[*pos + 1];
        uint32_t r;
        int k = escape_rune(p, n, pos, &r);

        if (k < 0)
                return k;
        if (k == 0) {
                tok_push_rune(pat, r);
                return 0;
        }
        if (!perl_set(c) && !strchr("AzbB", c))
                return -EINVAL;
        tok_push(pat, perl_set(c) ? TOK_PERL : TOK_ASSERT, c);
        *pos += 2;
        return 0;
}

/* A class, delimited as Go's regexp reads it (filepath.Match's reading only validated it):
 * the two differ where a [:name:] holds a ']'. */
static int compile_class(struct pattern *pat, const char *p, size_t n, size_t *pos)
{
        struct tok *t = &pat->toks[pat->n_toks++];
        size_t i = *pos + 1;
        struct member m;

        t->kind = TOK_CLASS;
        t->negated = i < n && p[i] == '^';
        i += t->negated;
        t->body = i;
        /* ']' first is a member */
        for (bool first = true; first || i >= n || p[i] != ']'; first = false)
                if (class_next(p, n, &i, &m) < 0)
                        return -EINVAL;
        t->end = i;
        *pos = i + 1;
        return 0;
}

/* '**' at i: the token it becomes and the kind of match that follows; returns its end. */
static size_t compile_dstar(struct pattern *pat, const char *p, size_t n, size_t i,
                            enum match_kind *kind)
{
        bool first = i == 0;

        i += 2;
        if (i < n && p[i] == '/')
                i++;
        if (i == n) {
                /* "**" at the end accepts everything, as .gitignore. */
                if (*kind == MATCH_EXACT) {
                        *kind = MATCH_PREFIX;
                } else {
                        tok_push(pat, TOK_DSTAR_END, 0);
                        *kind = MATCH_REGEXP;
                }
        } else {
                tok_push(pat, TOK_DSTAR_SLASH, 0);
                *kind = MATCH_REGEXP;
        }
        if (first)
                *kind = MATCH_SUFFIX;
        return i;
}

static int pattern_compile(struct pattern *pat)
{
        const char *p = pat->text;
        size_t n = pat->len, i = 0;
        enum match_kind kind = MATCH_EXACT;

        pat->toks = calloc(n + 1, sizeof(*pat->toks));
        if (!pat->toks)
                return -ENOMEM;
        while (i < n) {
                if (p[i] == '*' && i + 1 < n && p[i + 1] == '*') {
                        i = compile_dstar(pat, p, n, i, &kind);
                        continue;
                }
                switch (p[i]) {
                case '*':
                        tok_push(pat, TOK_STAR, 0);
                        i++;
                        break;
                case '?':
                        tok_push(pat, TOK_ANY, 0);
                        i++;
                        break;
                case '\\':
                        if (compile_escape(pat, p, n, &i) < 0)
                                return -EINVAL;
                        break;
                case '[':
                        if (compile_class(pat, p, n, &i) < 0)
                                return -EINVAL;
                        break;
                case '^':
                        /* Passed on unescaped: in a regexp it anchors at the start. It
                         * leaves the kind alone, so it is literal in the three others. */
                        tok_push(pat, TOK_ASSERT, 'A');
                        i++;
                        continue;
                default:
                        /* ']' is literal in a regexp too, but makes the pattern one. */
                        tok_push(pat, TOK_LIT, (unsigned char)p[i]);
                        if (p[i++] != ']')
                                continue;
                        break;
                }
                kind = MATCH_REGEXP;
        }
        pat->kind = kind;
        return 0;
}

/* ---- matching ---- */

static bool class_match(const struct pattern *pat, const struct tok *t, uint32_t r)
{
        struct member m;
        bool match = false;

        for (size_t i = t->body; i < t->end && class_next(pat->text, t->end, &i, &m) == 0;) {
                if (m.set ? set_match(m.set, m.set_negated, r) : m.lo <= r && r <= m.hi)
                        match = true;
        }
        return match != t->negated;
}

/* One run of the token matcher over s[0..n). seen holds two bits per (token, offset): that
 * state was already tried and failed. partial: running out of s with tokens left succeeds
 * (something longer than s may match). */
struct run {
        const struct pattern *pat;
        const char *s;
        size_t n;
        unsigned char *seen;
        bool partial;
};

static bool tried(struct run *m, size_t ti, size_t si, unsigned char bit)
{
        unsigned char *b;

        if (!m->seen)
                return false;
        b = &m->seen[ti * (m->n + 1) + si];
        if (*b & bit)
                return true;
        *b |= bit;
        return false;
}

static bool run_at(struct run *m, size_t ti, size_t si);

/* Where the character at si ends. */
static size_t rune_end(const struct run *m, size_t si)
{
        size_t w;

        rune_at(m->s + si, m->n - si, &w);
        return si + w;
}

/* Inside (.*\/): consumes one or more characters, the last a '/', then goes on at ti + 1.
 * Go's '.' does not match a newline (in '**'; '*' is [^/], which does). */
static bool run_dstar_slash(struct run *m, size_t ti, size_t si)
{
        for (; si < m->n && m->s[si] != '\n'; si = rune_end(m, si)) {
                if (tried(m, ti, si, 2))
                        return false;
                if (m->s[si] == '/' && run_at(m, ti + 1, si + 1))
                        return true;
        }
        return m->partial && si == m->n;
}

static bool assert_match(const struct run *m, unsigned char c, size_t si)
{
        bool before = si > 0 && is_word((unsigned char)m->s[si - 1]);
        bool after = si < m->n && is_word((unsigned char)m->s[si]);

        switch (c) {
        case 'A':
                return si == 0;
        case 'z':
                return si == m->n;
        case 'b':
                return before != after;
        default:
                return before == after;
        }
}

/* '*' ([^/]*) or a final '**' (.*): the rest from each point the star can stop at. A point
 * tried before means the rest from there on failed already. */
static bool run_star(struct run *m, size_t ti, size_t si, char stop)
{
        for (;;) {
                if (run_at(m, ti + 1, si))
                        return true;
                if (si == m->n || m->s[si] == stop)
                        return false;
                si = rune_end(m, si);
                if (m->partial && si == m->n)
                        return true;
                if (tried(m, ti, si, 1))
                        return false;
        }
}

static bool run_at(struct run *m, size_t ti, size_t si)
{
        const struct tok *t;
        uint32_t r;
        size_t w;

        for (;;) {
                if (ti == m->pat->n_toks)
                        return !m->partial && si == m->n;
                if (m->partial && si == m->n)
                        return true;
                if (tried(m, ti, si, 1))
                        return false;
                t = &m->pat->toks[ti];
                switch (t->kind) {
                case TOK_LIT:
                        if (si == m->n || (unsigned char)m->s[si] != t->byte)
                                return false;
                        si++;
                        break;
                case TOK_ANY:
                        if (si == m->n || m->s[si] == '/')
                                return false;
                        si = rune_end(m, si);
                        break;
                case TOK_CLASS:
                        if (si == m->n)
                                return false;
                        r = rune_at(m->s + si, m->n - si, &w);
                        if (!class_match(m->pat, t, r))
                                return false;
                        si += w;
                        break;
                case TOK_PERL:
                        if (si == m->n)
                                return false;
                        r = rune_at(m->s + si, m->n - si, &w);
                        if (!set_match(perl_set(t->byte), t->byte <= 'Z', r))
                                return false;
                        si += w;
                        break;
                case TOK_ASSERT:
                        if (!assert_match(m, t->byte, si))
                                return false;
                        break;
                case TOK_STAR:
                case TOK_DSTAR_END:
                        return run_star(m, ti, si, t->kind == TOK_STAR ? '/' : '\n');
                case TOK_DSTAR_SLASH:
                        if (run_at(m, ti + 1, si))
                                return true;
                        return run_dstar_slash(m, ti, si);
                }
                ti++;
        }
}

/* The memo table lives on the stack for the short paths of a normal context. */
#define RUN_STACK_MEMO 2048

static bool run_tokens(const struct pattern *pat, const char *s, size_t n, bool partial)
{
        unsigned char stack_memo[RUN_STACK_MEMO];
        _cleanup_free_ unsigned char *heap = NULL;
        struct run m = {.pat = pat, .s = s, .n = n, .partial = partial};
        size_t cells = (pat->n_toks + 1) * (n + 1);

        if (cells <= sizeof(stack_memo)) {
                memset(stack_memo, 0, cells);
                m.seen = stack_memo;
        } else {
                /* Without a table the match is still right, only slower on "*a*a*a*b". */
                heap = calloc(cells, 1);
                m.seen = heap;
        }
        return run_at(&m, 0, 0);
}

/* Whether pat matches s[0..n) itself (Pattern.match). */
static bool pattern_match(const struct pattern *pat, const char *s, size_t n)
{
        size_t len = pat->len;
        const char *suffix;

        switch (pat->kind) {
        case MATCH_EXACT:
                return n == len && memcmp(s, pat->text, n) == 0;
        case MATCH_PREFIX:
                return n >= len - 2 && memcmp(s, pat->text, len - 2) == 0;
        case MATCH_SUFFIX:
                suffix = pat->text + 2;
                len -= 2;
                if (n >= len && memcmp(s + n - len, suffix, len) == 0)
                        return true;
                /* "**\/foo" matches "foo" */
                return len > 0 && suffix[0] == '/' && n == len - 1 && memcmp(s, suffix + 1, n) == 0;
        case MATCH_REGEXP:
                return run_tokens(pat, s, n, false);
        }
        return false;
}

/* Whether pat matches rel or one of its parent directories (MatchesOrParentMatches). */
static bool pattern_match_or_parent(const struct pattern *pat, const char *rel, size_t n)
{
        if (pattern_match(pat, rel, n))
                return true;
        for (size_t i = 1; i < n; i++)
                if (rel[i] == '/' && rel[i - 1] != '/' && pattern_match(pat, rel, i))
                        return true;
        return false;
}

bool df_ignore_match(const struct df_ignore *ig, const char *rel)
{
        size_t n = strlen(rel);
        bool matched = false;

        /* patternmatcher never lets the context root itself be excluded. */
        if (!ig || n == 0 || strcmp(rel, ".") == 0)
                return false;
        for (size_t i = 0; i < ig->n; i++) {
                const struct pattern *pat = &ig->v[i];

                /* Only a pattern that would flip the verdict needs to run. */
                if (pat->exclusion != matched)
                        continue;
                if (pattern_match_or_parent(pat, rel, n))
                        matched = !pat->exclusion;
        }
        return matched;
}

/* Whether pat can match some path below dir; dir_slash is "dir/" (n bytes). */
static bool pattern_may_match_below(const struct pattern *pat, const char *dir_slash, size_t n)
{
        size_t len = pat->len;

        switch (pat->kind) {
        case MATCH_EXACT:
                return len > n && memcmp(pat->text, dir_slash, n) == 0;
        case MATCH_PREFIX:
                len -= 2;
                return memcmp(pat->text, dir_slash, len < n ? len : n) == 0;
        case MATCH_SUFFIX:
                return true;
        case MATCH_REGEXP:
                return run_tokens(pat, dir_slash, n, true);
        }
        return true;
}

bool df_ignore_may_include_below(const struct df_ignore *ig, const char *dir)
{
        _cleanup_free_ char *dir_slash = NULL;
        size_t n = strlen(dir);

        if (!ig || !ig->exclusions)
                return false;
        while (n > 0 && dir[n - 1] == '/')
                n--;
        if (n == 0 || (n == 1 && dir[0] == '.'))
                return true;
        dir_slash = malloc(n + 2);
        if (!dir_slash)
                return true;
        memcpy(dir_slash, dir, n);
        dir_slash[n] = '/';
        dir_slash[n + 1] = '\0';
        /* A descendant's verdict differs from dir's only through a pattern that matches the
         * descendant (or a directory between them) itself; one that matches dir or above
         * decides both alike. */
        for (size_t i = 0; i < ig->n; i++)
                if (ig->v[i].exclusion && pattern_may_match_below(&ig->v[i], dir_slash, n + 1))
                        return true;
        return false;
}

/* ---- parsing ---- */

void df_ignore_free(struct df_ignore *ig)
{
        if (!ig)
                return;
        for (size_t i = 0; i < ig->n; i++) {
                free(ig->v[i].text);
                free(ig->v[i].toks);
        }
        free(ig->v);
        free(ig);
}

static void df_ignore_freep(struct df_ignore **ig)
{
        df_ignore_free(*ig);
}

/* ignorefile.ReadAll's form of one line: trimmed, '!' split off and the rest trimmed, cleaned
 * and relative. *ret is NULL for a line that holds no pattern. */
static int line_normalize(const char *line, size_t n, char **ret)
{
        _cleanup_free_ char *clean = NULL;
        const char *s;
        bool invert;
        size_t len;

        *ret = NULL;
        if (n > 0 && line[0] == '#')
                return 0;
        s = trim_space(line, &n);
        if (n == 0)
                return 0;
        invert = s[0] == '!';
        if (invert) {
                n--;
                s = trim_space(s + 1, &n);
        }
        if (n > 0) {
                clean = path_clean(s, n);
                if (!clean)
                        return -ENOMEM;
        }
        s = clean ? clean : "";
        len = strlen(s);
        if (len > 1 && s[0] == '/')
                s++;
        *ret = malloc(strlen(s) + 2);
        if (!*ret)
                return -ENOMEM;
        strcpy(stpcpy(*ret, invert ? "!" : ""), s);
        return 0;
}

/* One line of the file, for messages: its text as written (trimmed) and its number. */
struct line {
        const char *s;
        size_t n;
        int no;
};

/* patternmatcher.New for one pattern of ReadAll's: trimmed and cleaned once more, its '!'
 * taken off, checked, compiled. Returns 1 for a pattern to keep, 0 for none. */
static int pattern_new(const char *norm, const struct line *l, struct pattern *pat, struct err *err)
{
        _cleanup_free_ char *clean = NULL;
        size_t n = strlen(norm);
        const char *s = trim_space(norm, &n);
        int r;

        if (n == 0)
                return 0;
        clean = path_clean(s, n);
        if (!clean)
                return err_set(err, -ENOMEM, "parsing .dockerignore line %d", l->no);
        *pat = (struct pattern){.exclusion = clean[0] == '!'};
        if (pat->exclusion && clean[1] == '\0')
                return err_set(err, -EINVAL, "illegal exclusion pattern: \"!\" (line %d)", l->no);
        pat->text = strdup(clean + pat->exclusion);
        if (!pat->text)
                return err_set(err, -ENOMEM, "parsing .dockerignore line %d", l->no);
        pat->len = strlen(pat->text);
        r = pattern_check(pat->text, pat->len);
        if (r == 0)
                r = pattern_compile(pat);
        if (r < 0) {
                free(TAKE_PTR(pat->text));
                free(TAKE_PTR(pat->toks));
                if (r == -ENOMEM)
                        return err_set(err, r, "parsing .dockerignore line %d", l->no);
                return err_set(err, r, "syntax error in pattern: \"%.*s\" (line %d)", (int)l->n,
                               l->s, l->no);
        }
        return 1;
}

static int ignore_add_line(struct df_ignore *ig, const struct line *l, struct err *err)
{
        _cleanup_free_ char *norm = NULL;
        struct pattern *v;
        struct line trimmed = *l;
        int r;

        r = line_normalize(l->s, l->n, &norm);
        if (r < 0)
                return err_set(err, r, "parsing .dockerignore line %d", l->no);
        if (!norm)
                return 0;
        trimmed.s = trim_space(l->s, &trimmed.n);
        v = realloc(ig->v, (ig->n + 1) * sizeof(*v));
        if (!v)
                return err_set(err, -ENOMEM, "parsing .dockerignore line %d", l->no);
        ig->v = v;
        r = pattern_new(norm, &trimmed, &ig->v[ig->n], err);
        if (r <= 0)
                return r;
        ig->exclusions |= ig->v[ig->n].exclusion;
        ig->n++;
        return 0;
}

int df_ignore_parse(const char *text, struct df_ignore **ret, struct err *err)
{
        _cleanup_(df_ignore_freep) struct df_ignore *ig = calloc(1, sizeof(*ig));
        const char *p = text;

        if (!ig)
                return err_set(err, -ENOMEM, "parsing .dockerignore");
        if (p && strncmp(p, "\xef\xbb\xbf", 3) == 0)
                p += 3;
        for (int no = 1; p && *p; no++) {
                const char *nl = strchr(p, '\n');
                struct line l = {.s = p, .n = nl ? (size_t)(nl - p) : strlen(p), .no = no};
                int r;

                /* bufio.ScanLines drops a '\r' before the '\n'. */
                if (l.n > 0 && p[l.n - 1] == '\r')
                        l.n--;
                r = ignore_add_line(ig, &l, err);
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : NULL;
        }
        *ret = TAKE_PTR(ig);
        return 0;
}
