/* The Dockerfile parser: BuildKit's frontend/dockerfile/parser (directives, continuation lines,
 * comments, flags, JSON or shell form, heredocs) plus the checks Docker makes on each
 * instruction before it builds anything (frontend/dockerfile/instructions/parse.go). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

/* Go's encoding/json nesting limit: deeper input is invalid JSON, hence shell form. */
#define JSON_MAX_DEPTH 10000

/* ---- strings ---- */

/* A growing string; a failed allocation sets oom and turns later appends into no-ops. */
struct sb {
        char *p;
        size_t n, cap;
        bool oom;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
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

static void sb_putc(struct sb *b, char c)
{
        sb_putn(b, &c, 1);
}

static void sb_puts(struct sb *b, const char *s)
{
        sb_putn(b, s, strlen(s));
}

static void sb_done(struct sb *b)
{
        free(b->p);
        *b = (struct sb){0};
}

/* Takes the string ("" when nothing was added); NULL when out of memory. */
static char *sb_take(struct sb *b)
{
        if (!b->oom && !b->p)
                sb_putn(b, "", 0);
        if (b->oom) {
                sb_done(b);
                return NULL;
        }
        b->cap = b->n = 0;
        return TAKE_PTR(b->p);
}

#define _cleanup_sb_ _cleanup_(sb_done)

/* unicode.IsSpace for ASCII. */
static bool is_space(int c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The parser's reWhitespace, [\t\v\f\r ]. */
static bool is_blank(int c)
{
        return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* RE2's \s, [\t\n\f\r ]. */
static bool is_re_space(int c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static char *strndup_trim(const char *s, size_t n)
{
        while (n > 0 && is_space((unsigned char)*s))
                s++, n--;
        while (n > 0 && is_space((unsigned char)s[n - 1]))
                n--;
        return strndup(s, n);
}

static void strv_push_n(char ***v, const char *s, size_t n)
{
        _cleanup_free_ char *w = strndup(s, n);

        if (!w)
                util_oom();
        util_strv_push(v, w);
}

/* An empty vector rather than NULL, so that consumers can walk args and flags unchecked. */
static void strv_ensure(char ***v)
{
        if (!*v) {
                *v = calloc(1, sizeof(**v));
                if (!*v)
                        util_oom();
        }
}

/* reWhitespace.Split(s, -1) of a trimmed string; nothing for "". */
static char **split_blank(const char *s)
{
        char **v = NULL;

        while (*s) {
                size_t n = 0;
                while (s[n] && !is_blank((unsigned char)s[n]))
                        n++;
                strv_push_n(&v, s, n);
                s += n;
                while (is_blank((unsigned char)*s))
                        s++;
        }
        strv_ensure(&v);
        return v;
}

static void str_upper(char *s)
{
        for (; *s; s++)
                if (*s >= 'a' && *s <= 'z')
                        *s = (char)(*s - 'a' + 'A');
}

static void str_lower(char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        *s = (char)(*s - 'A' + 'a');
}

/* ---- the instruction table ---- */

enum instr_id {
        I_ADD,
        I_ARG,
        I_CMD,
        I_COPY,
        I_ENTRYPOINT,
        I_ENV,
        I_EXPOSE,
        I_FROM,
        I_HEALTHCHECK,
        I_LABEL,
        I_MAINTAINER,
        I_ONBUILD,
        I_RUN,
        I_SHELL,
        I_STOPSIGNAL,
        I_USER,
        I_VOLUME,
        I_WORKDIR,
        I_UNKNOWN,
};

/* How the text after the flags is read. args are the JSON array's strings in the JSON form,
 * else the quote-aware words of rest (BuildKit's parseWords: quotes and escapes kept). */
enum style {
        ST_JSON,     /* may be a JSON array */
        ST_WORDS,    /* words only */
        ST_NAME_VAL, /* words, checked as KEY VALUE or KEY=VALUE... */
        ST_HEALTH,   /* a type word, then maybe a JSON array */
        ST_SUBCMD,   /* an instruction of its own (ONBUILD) */
};

struct instr_kind {
        const char *name;
        enum instr_id id;
        enum style style;
        bool heredoc;
};

static const struct instr_kind kinds[] = {
        {"add", I_ADD, ST_JSON, true},
        {"arg", I_ARG, ST_WORDS, false},
        {"cmd", I_CMD, ST_JSON, false},
        {"copy", I_COPY, ST_JSON, true},
        {"entrypoint", I_ENTRYPOINT, ST_JSON, false},
        {"env", I_ENV, ST_NAME_VAL, false},
        {"expose", I_EXPOSE, ST_WORDS, false},
        {"from", I_FROM, ST_WORDS, false},
        {"healthcheck", I_HEALTHCHECK, ST_HEALTH, false},
        {"label", I_LABEL, ST_NAME_VAL, false},
        {"maintainer", I_MAINTAINER, ST_WORDS, false},
        {"onbuild", I_ONBUILD, ST_SUBCMD, false},
        {"run", I_RUN, ST_JSON, true},
        {"shell", I_SHELL, ST_JSON, false},
        {"stopsignal", I_STOPSIGNAL, ST_WORDS, false},
        {"user", I_USER, ST_WORDS, false},
        {"volume", I_VOLUME, ST_JSON, false},
        {"workdir", I_WORKDIR, ST_WORDS, false},
};

/* An ONBUILD trigger that is no instruction is kept, as Docker keeps it until a child image
 * runs it. */
static const struct instr_kind unknown_kind = {NULL, I_UNKNOWN, ST_WORDS, false};

static const struct instr_kind *kind_of(const char *cmd)
{
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
                if (strcmp(kinds[i].name, cmd) == 0)
                        return &kinds[i];
        return NULL;
}

/* ---- the parser's state ---- */

struct parser {
        const char *s;
        size_t pos, len;
        int line; /* lines read so far */
        const char *name;
        char escape;
        bool directives_done, seen_syntax, seen_escape, seen_check;
        char *syntax;
        struct df_instr *v;
        size_t n;
};

static int fail(const struct parser *p, int line, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(const struct parser *p, int line, struct err *err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return err_set(err, -ENOMEM, "%s:%d: out of memory", p->name, line);
        return err_set(err, -EINVAL, "%s:%d: %s", p->name, line, msg);
}

/* The next line with its newline, or false at the end. */
static bool next_line(struct parser *p, const char **ret, size_t *ret_len)
{
        const char *nl;
        size_t n;

        if (p->pos >= p->len)
                return false;
        nl = memchr(p->s + p->pos, '\n', p->len - p->pos);
        n = nl ? (size_t)(nl - (p->s + p->pos)) + 1 : p->len - p->pos;
        *ret = p->s + p->pos;
        *ret_len = n;
        p->pos += n;
        p->line++;
        return true;
}

/* trimNewline: the line without its trailing '\r's and '\n's. */
static size_t trim_newline(const char *s, size_t n)
{
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                n--;
        return n;
}

static bool is_comment(const char *s, size_t n)
{
        while (n > 0 && is_space((unsigned char)*s))
                s++, n--;
        return n > 0 && *s == '#';
}

/* A parser directive (`# key=value`) while they may still come; any other line ends them,
 * and so does an unknown key. */
static int directive(struct parser *p, const char *s, size_t n, struct err *err)
{
        size_t k, kn, v, vn;
        _cleanup_free_ char *key = NULL, *val = NULL;
        bool *seen;

        if (p->directives_done)
                return 0;
        if (n == 0 || s[0] != '#') {
                p->directives_done = true;
                return 0;
        }
        for (k = 1; k < n && is_space((unsigned char)s[k]); k++)
                ;
        for (kn = 0; k + kn < n; kn++) {
                char c = s[k + kn];
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                if (!alpha && !(kn > 0 && c >= '0' && c <= '9'))
                        break;
        }
        for (v = k + kn; v < n && is_re_space((unsigned char)s[v]); v++)
                ;
        if (kn == 0 || v >= n || s[v] != '=') {
                p->directives_done = true;
                return 0;
        }
        for (v++; v < n && is_re_space((unsigned char)s[v]); v++)
                ;
        for (vn = n - v; vn > 0 && is_re_space((unsigned char)s[v + vn - 1]); vn--)
                ;
        /* `(.+?)\s*$` needs one character: after "key=" and only blanks, it is the last. */
        if (vn == 0) {
                if (v == n || !is_re_space((unsigned char)s[n - 1])) {
                        p->directives_done = true;
                        return 0;
                }
                v = n - 1;
                vn = 1;
        }
        key = strndup(s + k, kn);
        val = strndup(s + v, vn);
        if (!key || !val)
                return fail(p, p->line, err, "out of memory");
        str_lower(key);
        if (strcmp(key, "syntax") == 0)
                seen = &p->seen_syntax;
        else if (strcmp(key, "escape") == 0)
                seen = &p->seen_escape;
        else if (strcmp(key, "check") == 0)
                seen = &p->seen_check;
        else {
                p->directives_done = true;
                return 0;
        }
        if (*seen)
                return fail(p, p->line, err, "only one %s parser directive can be used", key);
        *seen = true;
        if (seen == &p->seen_escape) {
                if (strcmp(val, "`") != 0 && strcmp(val, "\\") != 0)
                        return fail(p, p->line, err,
                                    "invalid escape token '%s' does not match ` or \\", val);
                p->escape = val[0];
        } else if (seen == &p->seen_syntax) {
                p->syntax = TAKE_PTR(val);
        }
        return 0;
}

/* Strips a continuation (the escape character ending the line, blanks after it allowed, not
 * itself escaped); returns whether the instruction ends on this line. */
static bool trim_continuation(const struct parser *p, const char *s, size_t *n)
{
        size_t e = *n;

        while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
                e--;
        if (e == 0 || s[e - 1] != p->escape)
                return true;
        if (e >= 2 && s[e - 2] == p->escape)
                return true;
        *n = e - 1;
        return false;
}

/* ---- JSON form ---- */

enum json_res { JSON_INVALID, JSON_NOT_STRINGS, JSON_NUL, JSON_OK };

struct json {
        const char *s;
        size_t i;
        bool nul;
};

static void json_ws(struct json *j)
{
        while (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r')
                j->i++;
}

static int hex4(const char *s)
{
        int v = 0;

        for (int k = 0; k < 4; k++) {
                char c = s[k];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -1;
        }
        return v;
}

static void put_utf8(struct sb *b, uint32_t cp)
{
        char u[4];

        if (cp < 0x80) {
                sb_putc(b, (char)cp);
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3f));
                sb_putn(b, u, 2);
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                sb_putn(b, u, 3);
        } else {
                u[0] = (char)(0xf0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                sb_putn(b, u, 4);
        }
}

/* A \u escape at j->s[j->i] (after the backslash and 'u'); lone surrogates become U+FFFD as
 * in Go. */
static bool json_unicode(struct json *j, struct sb *out)
{
        int cp = hex4(j->s + j->i), lo;

        if (cp < 0)
                return false;
        j->i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && j->s[j->i] == '\\' && j->s[j->i + 1] == 'u' &&
            (lo = hex4(j->s + j->i + 2)) >= 0xdc00 && lo < 0xe000) {
                j->i += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
        }
        if (cp == 0)
                j->nul = true;
        if (out)
                put_utf8(out, (uint32_t)cp);
        return true;
}

/* A string at j->s[j->i] == '"', decoded into out when out is set. */
static bool json_string(struct json *j, struct sb *out)
{
        static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";

        for (j->i++;; j->i++) {
                unsigned char c = (unsigned char)j->s[j->i];
                const char *e;
                if (c == '"') {
                        j->i++;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c != '\\') {
                        if (out)
                                sb_putc(out, (char)c);
                        continue;
                }
                c = (unsigned char)j->s[++j->i];
                if (c == 'u') {
                        j->i++;
                        if (!json_unicode(j, out))
                                return false;
                        j->i--;
                        continue;
                }
                e = c ? strchr(esc_in, c) : NULL;
                if (!e)
                        return false;
                if (out)
                        sb_putc(out, esc_out[e - esc_in]);
        }
}

static bool json_digits(struct json *j)
{
        size_t start = j->i;

        while (j->s[j->i] >= '0' && j->s[j->i] <= '9')
                j->i++;
        return j->i > start;
}

static bool json_number(struct json *j)
{
        if (j->s[j->i] == '-')
                j->i++;
        if (j->s[j->i] == '0')
                j->i++;
        else if (!json_digits(j))
                return false;
        if (j->s[j->i] == '.') {
                j->i++;
                if (!json_digits(j))
                        return false;
        }
        if (j->s[j->i] == 'e' || j->s[j->i] == 'E') {
                j->i++;
                if (j->s[j->i] == '+' || j->s[j->i] == '-')
                        j->i++;
                if (!json_digits(j))
                        return false;
        }
        return true;
}

static bool json_value(struct json *j, int depth);

static bool json_container(struct json *j, int depth, char close)
{
        j->i++;
        json_ws(j);
        if (j->s[j->i] == close) {
                j->i++;
                return true;
        }
        for (;;) {
                if (close == '}') {
                        if (j->s[j->i] != '"' || !json_string(j, NULL))
                                return false;
                        json_ws(j);
                        if (j->s[j->i++] != ':')
                                return false;
                        json_ws(j);
                }
                if (!json_value(j, depth + 1))
                        return false;
                json_ws(j);
                if (j->s[j->i] == close) {
                        j->i++;
                        return true;
                }
                if (j->s[j->i++] != ',')
                        return false;
                json_ws(j);
        }
}

/* Validates any JSON value (the elements that make the array "not strings"). */
static bool json_value(struct json *j, int depth)
{
        static const char *const lits[] = {"true", "false", "null"};

        if (depth > JSON_MAX_DEPTH)
                return false;
        switch (j->s[j->i]) {
        case '"':
                return json_string(j, NULL);
        case '[':
                return json_container(j, depth, ']');
        case '{':
                return json_container(j, depth, '}');
        default:
                break;
        }
        for (size_t k = 0; k < ARRAY_SIZE(lits); k++)
                if (strncmp(j->s + j->i, lits[k], strlen(lits[k])) == 0) {
                        j->i += strlen(lits[k]);
                        return true;
                }
        return json_number(j);
}

/* The parser's parseJSON: text starting with '[' that is one JSON array of strings. */
static enum json_res json_strings(const char *text, char ***ret)
{
        struct json j = {text, 0, false};
        _cleanup_strv_ char **v = NULL;
        bool strings = true;

        while (is_space((unsigned char)j.s[j.i]))
                j.i++;
        if (j.s[j.i] != '[')
                return JSON_INVALID;
        j.i++;
        json_ws(&j);
        if (j.s[j.i] == ']') {
                j.i++;
        } else {
                for (;;) {
                        if (j.s[j.i] == '"') {
                                _cleanup_sb_ struct sb s = {0};
                                _cleanup_free_ char *str = NULL;
                                if (!json_string(&j, &s))
                                        return JSON_INVALID;
                                str = sb_take(&s);
                                if (!str)
                                        util_oom();
                                util_strv_push(&v, str);
                        } else if (json_value(&j, 2)) {
                                strings = false;
                        } else {
                                return JSON_INVALID;
                        }
                        json_ws(&j);
                        if (j.s[j.i] == ']') {
                                j.i++;
                                break;
                        }
                        if (j.s[j.i++] != ',')
                                return JSON_INVALID;
                        json_ws(&j);
                }
        }
        json_ws(&j);
        if (j.s[j.i] != '\0')
                return JSON_INVALID;
        if (!strings)
                return JSON_NOT_STRINGS;
        if (j.nul)
                return JSON_NUL;
        strv_ensure(&v);
        *ret = TAKE_PTR(v);
        return JSON_OK;
}

/* ---- words and flags ---- */

/* parseWords: blank-separated words where quotes group (and are kept) and the escape
 * character keeps the next character in the word (both kept). */
static char **parse_words(const char *s, char escape)
{
        enum { SPACES, WORD, QUOTE } phase = SPACES;
        _cleanup_sb_ struct sb w = {0};
        size_t len = strlen(s);
        char **v = NULL;
        char quote = 0;
        bool blank_ok = false;

        for (size_t i = 0; i <= len; i++) {
                char c = s[i];
                if (phase == SPACES) {
                        if (i == len)
                                break;
                        if (is_space((unsigned char)c))
                                continue;
                        phase = WORD;
                }
                if (i == len) {
                        if (blank_ok || w.n > 0)
                                util_strv_push(&v, w.p ? w.p : "");
                        break;
                }
                if (phase == WORD) {
                        if (is_space((unsigned char)c)) {
                                phase = SPACES;
                                if (blank_ok || w.n > 0)
                                        util_strv_push(&v, w.p ? w.p : "");
                                sb_done(&w);
                                blank_ok = false;
                                continue;
                        }
                        if (c == '\'' || c == '"') {
                                quote = c;
                                blank_ok = true;
                                phase = QUOTE;
                        }
                        if (c == escape) {
                                if (i + 1 == len)
                                        continue;
                                sb_putc(&w, c);
                                c = s[++i];
                        }
                        sb_putc(&w, c);
                        continue;
                }
                if (c == quote)
                        phase = WORD;
                if (c == escape && quote != '\'') {
                        if (i + 1 == len) {
                                phase = WORD;
                                continue;
                        }
                        sb_putc(&w, c);
                        c = s[++i];
                }
                sb_putc(&w, c);
        }
        if (w.oom)
                util_oom();
        strv_ensure(&v);
        return v;
}

/* extractBuilderFlags: the leading "--name[=value]" words (quotes and escapes removed) up to
 * the first other word or a "--", which is dropped. Returns where the rest starts. */
static const char *extract_flags(const char *s, char escape, char ***flags)
{
        enum { SPACES, WORD, QUOTE } phase = SPACES;
        _cleanup_sb_ struct sb w = {0};
        size_t len = strlen(s);
        bool blank_ok = false;
        char quote = 0;

        for (size_t i = 0; i <= len; i++) {
                char c = s[i];
                if (phase == SPACES) {
                        if (i == len)
                                break;
                        if (is_space((unsigned char)c))
                                continue;
                        if (c != '-' || i + 1 == len || s[i + 1] != '-')
                                return s + i;
                        phase = WORD;
                }
                if (i == len) {
                        if ((!w.p || strcmp(w.p, "--") != 0) && (blank_ok || w.n > 0))
                                util_strv_push(flags, w.p ? w.p : "");
                        break;
                }
                if (phase == WORD) {
                        if (is_space((unsigned char)c)) {
                                phase = SPACES;
                                if (w.p && strcmp(w.p, "--") == 0)
                                        return s + i;
                                if (blank_ok || w.n > 0)
                                        util_strv_push(flags, w.p ? w.p : "");
                                sb_done(&w);
                                blank_ok = false;
                                continue;
                        }
                        if (c == '\'' || c == '"') {
                                quote = c;
                                blank_ok = true;
                                phase = QUOTE;
                                continue;
                        }
                } else if (c == quote) {
                        phase = WORD;
                        continue;
                }
                if (c == escape) {
                        if (i + 1 == len) {
                                phase = WORD;
                                continue;
                        }
                        c = s[++i];
                }
                sb_putc(&w, c);
        }
        if (w.oom)
                util_oom();
        return s + len;
}

/* ---- heredocs ---- */

struct hd_word {
        char *name;
        bool expand, chomp;
};

/* Shell words of a line as BuildKit's heredoc detection splits them: quotes and backslash
 * escapes group (raw: and are kept), "<<" takes the blanks after it, '$' is plain text. */
static int shell_words(const char *s, bool raw, char ***ret)
{
        _cleanup_sb_ struct sb w = {0};
        _cleanup_strv_ char **v = NULL;
        bool in_word = false;

        for (size_t i = 0; s[i];) {
                char c = s[i++];
                if (c == '\\') {
                        if (raw)
                                sb_putc(&w, c);
                        in_word = in_word || raw;
                        if (!s[i])
                                break;
                        sb_putc(&w, s[i++]);
                        in_word = true;
                } else if (c == '\'' || c == '"') {
                        if (raw)
                                sb_putc(&w, c);
                        for (;;) {
                                char q = s[i++];
                                if (!q)
                                        return -EINVAL;
                                if (q == c)
                                        break;
                                if (q == '\\' && c == '"') {
                                        if (raw)
                                                sb_putc(&w, q);
                                        if (!s[i])
                                                continue;
                                        if (s[i] == '"' || s[i] == '$' || s[i] == '\\')
                                                q = s[i++];
                                }
                                sb_putc(&w, q);
                        }
                        if (raw)
                                sb_putc(&w, c);
                        in_word = true;
                } else if (c == '<' && s[i] == '<') {
                        sb_puts(&w, "<<");
                        for (i++; s[i] == ' ' || s[i] == '\t' || s[i] == '\r'; i++)
                                sb_putc(&w, s[i]);
                        in_word = true;
                } else if (is_space((unsigned char)c)) {
                        if (in_word && w.n > 0) {
                                util_strv_push(&v, w.p);
                                w.n = 0;
                                w.p[0] = '\0';
                                in_word = false;
                        }
                } else {
                        sb_putc(&w, c);
                        in_word = true;
                }
        }
        if (w.oom)
                util_oom();
        if (w.n > 0)
                util_strv_push(&v, w.p);
        strv_ensure(&v);
        *ret = TAKE_PTR(v);
        return 0;
}

static size_t count_quotes(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\'' || *s == '"';
        return n;
}

/* ParseHeredoc: whether word is a heredoc opener, `[n]<<[-]WORD`, and its delimiter. A quote
 * anywhere in the delimiter turns expansion off. 1 when it is one, 0 when not, -EINVAL for
 * an unterminated quote. */
static int heredoc_word(const char *word, struct hd_word *ret)
{
        _cleanup_strv_ char **words = NULL;
        const char *s = word, *rest;
        bool chomp;
        int r;

        while (*s >= '0' && *s <= '9')
                s++;
        if (strncmp(s, "<<", 2) != 0)
                return 0;
        s += 2;
        chomp = *s == '-';
        s += chomp;
        while (is_re_space((unsigned char)*s))
                s++;
        rest = s;
        if (!*rest || strchr(rest, '<'))
                return 0;
        r = shell_words(rest, false, &words);
        if (r < 0)
                return r;
        if (util_strv_len(words) != 1)
                return 0;
        if (ret) {
                ret->expand = count_quotes(words[0]) == count_quotes(rest);
                ret->chomp = chomp;
                ret->name = TAKE_PTR(words[0]);
        }
        return 1;
}

static void heredoc_free(struct df_heredoc *h)
{
        free(h->name);
        free(h->content);
}

static void instr_free(struct df_instr *in)
{
        if (!in)
                return;
        free(in->cmd);
        free(in->original);
        free(in->rest);
        util_strv_free(in->flags);
        util_strv_free(in->args);
        for (size_t i = 0; i < in->n_heredocs; i++)
                heredoc_free(&in->heredocs[i]);
        free(in->heredocs);
        if (in->onbuild) {
                instr_free(in->onbuild);
                free(in->onbuild);
        }
        *in = (struct df_instr){0};
}

static void instr_freep(struct df_instr *in)
{
        instr_free(in);
}

/* The lines after the instruction, up to the delimiter line (leading tabs ignored for <<-). */
static int heredoc_read(struct parser *p, const struct hd_word *w, int start,
                        struct df_heredoc *ret, struct err *err)
{
        _cleanup_sb_ struct sb content = {0};
        size_t nlen = strlen(w->name);
        const char *s;
        size_t n;

        while (next_line(p, &s, &n)) {
                const char *t = s;
                size_t tn = trim_newline(s, n);
                if (w->chomp)
                        while (tn > 0 && *t == '\t')
                                t++, tn--, s++, n--;
                if (tn == nlen && memcmp(t, w->name, nlen) == 0) {
                        ret->name = strdup(w->name);
                        ret->content = sb_take(&content);
                        if (!ret->name || !ret->content) {
                                heredoc_free(ret);
                                return fail(p, start, err, "out of memory");
                        }
                        ret->expand = w->expand;
                        ret->chomp = w->chomp;
                        return 0;
                }
                sb_putn(&content, s, n);
        }
        return fail(p, start, err, "unterminated heredoc");
}

/* The heredocs an instruction's line opens (RUN, COPY, ADD in shell form, also as an
 * ONBUILD trigger), read from the lines that follow it. */
static int heredocs_collect(struct parser *p, const char *line, struct df_instr *in, int start,
                            struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        struct df_instr *target = in;
        const struct instr_kind *k;

        if (strcmp(in->cmd, "onbuild") == 0 && in->onbuild)
                target = in->onbuild;
        k = kind_of(target->cmd);
        if (!k || !k->heredoc || target->json || !strstr(line, "<<"))
                return 0;
        /* A line that does not lex (an open quote) opens no heredoc, as in BuildKit. */
        if (shell_words(line, true, &words) < 0)
                return 0;
        for (char **w = words; *w; w++) {
                struct hd_word hw = {0};
                struct df_heredoc *nv;
                int r = heredoc_word(*w, &hw);
                if (r < 0)
                        return fail(p, start, err, "unterminated quote in heredoc %s", *w);
                if (r == 0)
                        continue;
                nv = realloc(target->heredocs, (target->n_heredocs + 1) * sizeof(*nv));
                if (!nv) {
                        free(hw.name);
                        return fail(p, start, err, "out of memory");
                }
                target->heredocs = nv;
                nv[target->n_heredocs] = (struct df_heredoc){0};
                r = heredoc_read(p, &hw, start, &nv[target->n_heredocs], err);
                free(hw.name);
                if (r < 0)
                        return r;
                target->n_heredocs++;
        }
        return 0;
}

/* ---- instructions ---- */

static int parse_instr(const struct parser *p, const char *line, int lineno, bool trigger,
                       struct df_instr *ret, struct err *err);

/* The JSON form: args from text that is one JSON array of strings. */
static int args_json(const struct parser *p, int lineno, const char *text, struct df_instr *in,
                     struct err *err)
{
        switch (json_strings(text, &in->args)) {
        case JSON_OK:
                in->json = true;
                return 0;
        case JSON_NOT_STRINGS:
                return fail(p, lineno, err,
                            "when using JSON array syntax, arrays must be comprised of "
                            "strings only");
        case JSON_NUL:
                return fail(p, lineno, err, "NUL characters in JSON strings are not supported");
        case JSON_INVALID:
                break;
        }
        return 0;
}

/* The text after the first word of s and the blanks after it. */
static const char *after_word(const char *s, bool (*sep)(int))
{
        while (*s && !sep((unsigned char)*s))
                s++;
        while (*s && sep((unsigned char)*s))
                s++;
        return s;
}

/* ENV and LABEL: `KEY VALUE...` (the first word has no '=') or `KEY=VALUE...` words. */
static int check_name_val(const struct parser *p, int lineno, const char *upper,
                          const struct df_instr *in, struct err *err)
{
        if (!in->args[0])
                return 0;
        if (!strchr(in->args[0], '=')) {
                if (!*after_word(in->rest, is_blank))
                        return fail(p, lineno, err, "%s must have two arguments", upper);
                return 0;
        }
        for (char **w = in->args; *w; w++)
                if (!strchr(*w, '='))
                        return fail(p, lineno, err,
                                    "Syntax error - can't find = in \"%s\". Must be of the form: "
                                    "name=value",
                                    *w);
        return 0;
}

static int args_subcmd(const struct parser *p, int lineno, const char *rest, struct df_instr *in,
                       struct err *err)
{
        int r;

        if (!*rest)
                return 0;
        in->onbuild = calloc(1, sizeof(*in->onbuild));
        if (!in->onbuild)
                return fail(p, lineno, err, "out of memory");
        r = parse_instr(p, rest, lineno, true, in->onbuild, err);
        if (r < 0) {
                free(in->onbuild);
                in->onbuild = NULL;
        }
        return r;
}

static int parse_args(const struct parser *p, int lineno, const struct instr_kind *k,
                      struct df_instr *in, struct err *err)
{
        int r = 0;

        switch (k->style) {
        case ST_JSON:
                r = args_json(p, lineno, in->rest, in, err);
                break;
        case ST_HEALTH:
                /* HEALTHCHECK's JSON array comes after its type word. */
                r = args_json(p, lineno, after_word(in->rest, is_space), in, err);
                break;
        case ST_SUBCMD:
                r = args_subcmd(p, lineno, in->rest, in, err);
                break;
        case ST_WORDS:
        case ST_NAME_VAL:
                break;
        }
        if (r < 0)
                return r;
        if (!in->json)
                in->args = parse_words(in->rest, p->escape);
        if (k->style == ST_NAME_VAL)
                return check_name_val(p, lineno, k->id == I_ENV ? "ENV" : "LABEL", in, err);
        return 0;
}

/* splitCommand: the instruction word, its flags, the rest; then the arguments. A trigger
 * (ONBUILD's) may be no instruction: the child image that runs it finds out. */
static int parse_instr(const struct parser *p, const char *line, int lineno, bool trigger,
                       struct df_instr *ret, struct err *err)
{
        _cleanup_(instr_freep) struct df_instr in = {0};
        _cleanup_free_ char *trimmed = strndup_trim(line, strlen(line));
        const struct instr_kind *k;
        const char *after = "";
        size_t n = 0;
        int r;

        if (!trimmed)
                return fail(p, lineno, err, "out of memory");
        while (trimmed[n] && !is_blank((unsigned char)trimmed[n]))
                n++;
        in.cmd = strndup(trimmed, n);
        in.original = strdup(line);
        if (!in.cmd || !in.original)
                return fail(p, lineno, err, "out of memory");
        if (trimmed[n])
                after = extract_flags(trimmed + n, p->escape, &in.flags);
        strv_ensure(&in.flags);
        in.rest = strndup_trim(after, strlen(after));
        if (!in.rest)
                return fail(p, lineno, err, "out of memory");
        str_lower(in.cmd);
        k = kind_of(in.cmd);
        if (!k) {
                if (!trigger) {
                        _cleanup_free_ char *word = strndup(trimmed, n);
                        if (!word)
                                return fail(p, lineno, err, "out of memory");
                        str_upper(word);
                        return fail(p, lineno, err, "unknown instruction: %s", word);
                }
                k = &unknown_kind;
        }
        r = parse_args(p, lineno, k, &in, err);
        if (r < 0)
                return r;
        in.line = lineno;
        *ret = in;
        in = (struct df_instr){0};
        return 0;
}

/* ---- the checks Docker makes before building (instructions/parse.go) ---- */

/* The arguments as Docker counts them: the JSON array, else the blank-separated words (the
 * parser's parseStringsWhitespaceDelimited). */
static char **docker_args(const struct df_instr *in)
{
        char **v = in->json ? util_strv_dup(in->args) : split_blank(in->rest);

        if (!v)
                util_oom();
        return v;
}

/* MAINTAINER, WORKDIR, USER, STOPSIGNAL take their whole text as one argument. */
static int check_exact_one(const struct parser *p, const struct df_instr *in, const char *up,
                           struct err *err)
{
        if (!*in->rest)
                return fail(p, in->line, err, "%s requires exactly one argument", up);
        return 0;
}

static bool stage_name_ok(const char *name)
{
        bool ok = (*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z');

        for (const char *c = name; ok && *c; c++)
                ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
        return ok;
}

static int check_from(const struct parser *p, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_ char **args = docker_args(in);
        size_t n = util_strv_len(args);

        if (n == 3 && strcasecmp(args[1], "as") == 0) {
                if (!stage_name_ok(args[2]))
                        return fail(p, in->line, err,
                                    "invalid name for build stage: \"%s\", name can't start with "
                                    "a number or contain symbols",
                                    args[2]);
                return 0;
        }
        if (n != 1)
                return fail(p, in->line, err, "FROM requires either one or three arguments");
        return 0;
}

static int check_onbuild(const struct parser *p, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_ char **args = docker_args(in);

        if (!args[0])
                return fail(p, in->line, err, "ONBUILD requires at least one argument");
        str_upper(args[0]);
        if (strcmp(args[0], "ONBUILD") == 0)
                return fail(p, in->line, err,
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (strcmp(args[0], "MAINTAINER") == 0 || strcmp(args[0], "FROM") == 0)
                return fail(p, in->line, err, "%s isn't allowed as an ONBUILD trigger", args[0]);
        return 0;
}

/* HEALTHCHECK TYPE [CMD...]: the type, then the JSON array or the rest as one argument. */
static int check_healthcheck(const struct parser *p, const struct df_instr *in, struct err *err)
{
        const char *cmd = after_word(in->rest, is_space);
        _cleanup_free_ char *type = strndup_trim(in->rest, (size_t)(cmd - in->rest));
        bool has_cmd = in->json ? in->args[0] != NULL : *cmd != '\0';

        if (!type)
                return fail(p, in->line, err, "out of memory");
        if (!*type)
                return fail(p, in->line, err, "HEALTHCHECK requires at least one argument");
        str_upper(type);
        if (strcmp(type, "NONE") == 0) {
                if (has_cmd)
                        return fail(p, in->line, err, "HEALTHCHECK NONE takes no arguments");
                return 0;
        }
        if (strcmp(type, "CMD") != 0)
                return fail(p, in->line, err, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
        if (!has_cmd)
                return fail(p, in->line, err, "Missing command after HEALTHCHECK CMD");
        return 0;
}

static int check_copy(const struct parser *p, const struct df_instr *in, const char *up,
                      struct err *err)
{
        _cleanup_strv_ char **args = docker_args(in);
        size_t n = util_strv_len(args);

        if (n < 2)
                return fail(p, in->line, err,
                            "%s requires at least two arguments, but only one was provided. "
                            "Destination could not be determined",
                            up);
        if (!in->json && heredoc_word(args[n - 1], NULL) == 1)
                return fail(p, in->line, err, "%s cannot accept a heredoc as a destination", up);
        return 0;
}

static int check_volume(const struct parser *p, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_ char **args = docker_args(in);

        if (!args[0])
                return fail(p, in->line, err, "VOLUME requires at least one argument");
        for (char **a = args; *a; a++)
                if (strspn(*a, " \t\n\v\f\r") == strlen(*a))
                        return fail(p, in->line, err,
                                    "VOLUME specified can not be an empty string");
        return 0;
}

/* Names (ENV, LABEL, ARG) can't be blank: a word that starts with '='. */
static int check_names(const struct parser *p, const struct df_instr *in, const char *up,
                       struct err *err)
{
        if (!in->args[0])
                return fail(p, in->line, err, "%s requires at least one argument", up);
        if (strcmp(up, "ARG") != 0 && !strchr(in->args[0], '='))
                return 0;
        for (char **a = in->args; *a; a++)
                if ((*a)[0] == '=')
                        return fail(p, in->line, err, "%s names can not be blank", up);
        return 0;
}

static int check_instr(const struct parser *p, const struct df_instr *in, struct err *err)
{
        const struct instr_kind *k = kind_of(in->cmd);
        _cleanup_free_ char *up = strdup(in->cmd);

        if (!up)
                return fail(p, in->line, err, "out of memory");
        str_upper(up);
        switch (k->id) {
        case I_ENV:
        case I_LABEL:
        case I_ARG:
                return check_names(p, in, up, err);
        case I_MAINTAINER:
        case I_WORKDIR:
        case I_USER:
        case I_STOPSIGNAL:
                return check_exact_one(p, in, up, err);
        case I_ADD:
        case I_COPY:
                return check_copy(p, in, up, err);
        case I_FROM:
                return check_from(p, in, err);
        case I_ONBUILD:
                return check_onbuild(p, in, err);
        case I_HEALTHCHECK:
                return check_healthcheck(p, in, err);
        case I_EXPOSE:
                if (!*in->rest)
                        return fail(p, in->line, err, "EXPOSE requires at least one argument");
                return 0;
        case I_VOLUME:
                return check_volume(p, in, err);
        case I_SHELL:
                if (!in->args[0])
                        return fail(p, in->line, err, "SHELL requires at least one argument");
                if (!in->json)
                        return fail(p, in->line, err,
                                    "SHELL requires the arguments to be in JSON form");
                return 0;
        case I_RUN:
        case I_CMD:
        case I_ENTRYPOINT:
        case I_UNKNOWN:
                return 0;
        }
        return 0;
}

/* ---- the file ---- */

/* The instruction starting at the line s (its first line, already read): continuation lines
 * joined (comment and blank lines among them dropped), then parsed. */
static int read_instr(struct parser *p, const char *s, size_t n, struct err *err)
{
        _cleanup_(instr_freep) struct df_instr in = {0};
        _cleanup_sb_ struct sb line = {0};
        _cleanup_free_ char *text = NULL;
        int start = p->line, r;
        bool eol = trim_continuation(p, s, &n);
        struct df_instr *nv;

        if (eol && n == 0)
                return 0;
        sb_putn(&line, s, n);
        while (!eol && next_line(p, &s, &n)) {
                if (is_comment(s, n))
                        continue;
                n = trim_newline(s, n);
                /* s[n] is a newline character or the end, so strspn stops there. */
                if (strspn(s, " \t\n\v\f\r") >= n)
                        continue;
                eol = trim_continuation(p, s, &n);
                sb_putn(&line, s, n);
        }
        text = sb_take(&line);
        if (!text)
                return fail(p, start, err, "out of memory");
        r = parse_instr(p, text, start, false, &in, err);
        if (r < 0)
                return r;
        r = heredocs_collect(p, text, &in, start, err);
        if (r < 0)
                return r;
        r = check_instr(p, &in, err);
        if (r < 0)
                return r;
        nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
        if (!nv)
                return fail(p, start, err, "out of memory");
        p->v = nv;
        p->v[p->n++] = in;
        in = (struct df_instr){0};
        return 0;
}

int dockerfile_parse(const char *text, const char *name, struct dockerfile *ret, struct err *err)
{
        struct parser p = {.s = text, .len = strlen(text), .name = name, .escape = '\\'};
        struct dockerfile d = {0};
        const char *s;
        size_t n;
        int r = 0;

        /* A byte-order mark is dropped. */
        if (p.len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                p.pos = 3;
        while (r == 0 && next_line(&p, &s, &n)) {
                n = trim_newline(s, n);
                while (n > 0 && is_space((unsigned char)*s))
                        s++, n--;
                r = directive(&p, s, n, err);
                if (r < 0 || is_comment(s, n))
                        continue;
                r = read_instr(&p, s, n, err);
        }
        if (r == 0 && p.n == 0)
                r = err_set(err, -EINVAL, "%s: file with no instructions", name);
        d = (struct dockerfile){.v = p.v, .n = p.n, .escape = p.escape, .syntax = p.syntax};
        if (r < 0) {
                dockerfile_free(&d);
                return r;
        }
        *ret = d;
        return 0;
}

void dockerfile_free(struct dockerfile *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                instr_free(&d->v[i]);
        free(d->v);
        free(d->syntax);
        *d = (struct dockerfile){0};
}
