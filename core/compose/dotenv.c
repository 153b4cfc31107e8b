/* The .env format, statement by statement as compose-go's dotenv parser reads it
 * (dotenv/parser.go): the same separators, quotes, escapes, comments and line counting, so
 * that a project's .env and a service's env_file mean in hawser what they mean in docker
 * compose. */
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

struct denv {
        const char *file;
        const char *s;
        size_t n, i; /* the text and the cursor */
        int line;    /* counted as compose-go counts, for its messages */
        struct compose_subst st;
        struct jv *out;
};

/* unicode.IsSpace */
static bool is_space(uint32_t c)
{
        return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0 || c == 0x1680 ||
               (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
               c == 0x205f || c == 0x3000;
}

/* The parser's isSpace: blanks, never the line break. */
static bool is_blank(uint32_t c)
{
        return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ' || c == 0x85 ||
               c == 0xa0;
}

static uint32_t peek(const struct denv *d, size_t i, size_t *len)
{
        return compose_utf8_decode(d->s + i, d->n - i, len);
}

static void skip_blanks(struct denv *d)
{
        size_t len;

        while (d->i < d->n && is_blank(peek(d, d->i, &len)))
                d->i += len;
}

/* s[0..len) without the white space (unicode.IsSpace) it ends with. */
static size_t trim_right(const char *s, size_t len)
{
        for (;;) {
                size_t k = len, cl = 0;
                while (k > 0 && len - k < 4 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
                        k--;
                if (k == 0 || len - k >= 4)
                        return len;
                k--;
                if (!is_space(compose_utf8_decode(s + k, len - k, &cl)) || k + cl != len)
                        return len;
                len = k;
        }
}

/* Moves to the next statement past blank lines and '#' comments; false at the end. */
static bool statement_start(struct denv *d)
{
        for (;;) {
                const char *nl;
                size_t len;
                uint32_t c;
                while (d->i < d->n && is_space(c = peek(d, d->i, &len))) {
                        d->line += c == '\n';
                        d->i += len;
                }
                if (d->i >= d->n)
                        return false;
                if (d->s[d->i] != '#')
                        return true;
                nl = memchr(d->s + d->i, '\n', d->n - d->i);
                d->i = nl ? (size_t)(nl - d->s) : d->n;
        }
}

/* Go's unicode.IsLetter || unicode.IsNumber, read leniently past ASCII: any character that
 * is not white space, a control or an invalid byte (compose-go refuses non-ASCII symbols and
 * punctuation too, which needs Unicode's tables). */
static bool key_char(uint32_t c)
{
        if (c < 0x80)
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       (c && strchr("_.-[]", (int)c));
        return c >= 0xa0 && c != COMPOSE_UTF8_BAD && !is_space(c);
}

static int unexpected(struct denv *d, size_t start, size_t at, size_t len, struct err *err)
{
        const char *nl = memchr(d->s + start, '\n', d->n - start);
        struct util_buf ch = {0}, text = {0};
        int r;

        compose_buf_add_quoted(&ch, d->s + at, len);
        compose_buf_add_quoted(&text, d->s + start, (nl ? (size_t)(nl - d->s) : d->n) - start);
        r = err_set(err, -EINVAL, "%s:%d: unexpected character %s in variable name %s", d->file,
                    d->line, ch.s, text.s);
        util_buf_free(&ch);
        util_buf_free(&text);
        return r;
}

/* The key of the statement at the cursor; *ret_bare for a line that is only a key. The
 * cursor moves to the value. */
static int read_key(struct denv *d, char **ret_key, bool *ret_bare, struct err *err)
{
        size_t start, j, len = 1;
        bool sep = false;
        char *key;

        /* ^export\s+ : Go's \s is [\t\n\f\r ] */
        if (d->n - d->i > 6 && !strncmp(d->s + d->i, "export", 6) && d->s[d->i + 6] &&
            strchr("\t\n\f\r ", d->s[d->i + 6])) {
                d->i += 6;
                skip_blanks(d);
        }
        start = d->i;
        for (j = start; j < d->n; j += len) {
                uint32_t c = peek(d, j, &len);
                if ((sep = c == '=' || c == ':' || c == '\n'))
                        break;
                if (!is_blank(c) && !key_char(c))
                        return unexpected(d, start, j, len, err);
        }
        /* A bare KEY on the last line, without a line break: compose-go files the whole line
         * as the value of an empty key; it is the bare KEY it plainly is. */
        *ret_bare = !sep || d->s[j] == '\n';
        key = strndup(d->s + start, trim_right(d->s + start, j - start));
        if (!key)
                util_oom();
        /* compose-go looks for the space before trimming: "KEY \n" counts no line. */
        if (sep && d->s[j] == '\n' && !memchr(d->s + start, ' ', j - start))
                d->line++;
        d->i = sep ? j + 1 : d->n;
        skip_blanks(d);
        *ret_key = key;
        return 0;
}

/* Interpolates the n bytes of v (value of key, on line) into a new string. */
static int expand(struct denv *d, const char *key, int line, const char *v, size_t n,
                  struct jv **ret, struct err *err)
{
        struct util_buf out = {0}, q = {0};
        int r = compose_subst_run(&d->st, v, n, &out, err);

        if (r >= 0)
                *ret = jv_new_stringn(util_buf_str(&out), out.len);
        else if (!d->st.invalid)
                err_wrap(err, "%s:%d: error while interpolating %s", d->file, line, key);
        else {
                compose_buf_add_quoted(&q, v, n);
                err_set(err, -EINVAL,
                        "%s:%d: invalid interpolation format for %s: %s; you may need to escape "
                        "any $ with another $",
                        d->file, line, key, q.s);
        }
        util_buf_free(&out);
        util_buf_free(&q);
        return r;
}

/* \0 and up to three digits (the regex's 0\d{0,3}) at s[k]: compose-go drops the 0 and
 * unquotes the rest as Go's \NNN, a character up to U+00FF written in UTF-8 (Go's
 * string(rune)); what does not unquote stays, without the 0. Returns the bytes used. */
static size_t unescape_octal(const char *s, size_t n, size_t k, struct util_buf *out)
{
        const char *d = s + k + 2;
        size_t digits = 0;
        bool octal = true;
        unsigned v = 0;

        while (digits < 3 && k + 2 + digits < n && d[digits] >= '0' && d[digits] <= '9') {
                octal = octal && d[digits] <= '7';
                v = v * 8 + (unsigned)(d[digits++] - '0');
        }
        if (digits == 3 && octal && v <= 0xff) {
                if (v >= 0x80)
                        util_buf_addc(out, (char)(0xc0 | v >> 6));
                util_buf_addc(out, (char)(v >= 0x80 ? 0x80 | (v & 0x3f) : v));
        } else {
                util_buf_addc(out, '\\');
                util_buf_add(out, d, digits);
        }
        return 2 + digits;
}

/* Go's unquoting of the escapes compose-go allows in double quotes (its escapeSeqRegex):
 * \a \b \f \n \r \t \v \\ \" ; \$ becomes $$ (which interpolation makes a '$'); \0NNN.
 * Any other backslash stays, with what follows it. */
static void unescape(const char *s, size_t n, struct util_buf *out)
{
        static const char letters[] = "abfnrtv", values[] = "\a\b\f\n\r\t\v";

        for (size_t k = 0; k < n;) {
                char e = k + 1 < n && s[k] == '\\' ? s[k + 1] : '\0';
                const char *l = e ? strchr(letters, e) : NULL;
                if (e == '0') {
                        k += unescape_octal(s, n, k, out);
                        continue;
                }
                if (l || e == '"' || e == '\\')
                        util_buf_addc(out, l ? values[l - letters] : e);
                else if (e == '$')
                        util_buf_add(out, "$$", 2);
                else {
                        util_buf_addc(out, s[k++]);
                        continue;
                }
                k += 2;
        }
}

/* A quoted value: up to the matching quote, which \ escapes; other backslashes stay for
 * unescape. Double quotes are then unescaped and interpolated, single quotes kept. */
static int read_quoted(struct denv *d, const char *key, int line, struct jv **ret, struct err *err)
{
        char quote = d->s[d->i];
        struct util_buf raw = {0}, unq = {0};
        bool esc = false;
        size_t j;
        int r;

        for (j = d->i + 1; j < d->n; j++) {
                char c = d->s[j];
                d->line += c == '\n';
                if (c == quote && !esc)
                        break;
                if (c == '\\' && !esc) {
                        esc = true;
                        continue;
                }
                if (esc && c != quote)
                        util_buf_addc(&raw, '\\');
                esc = false;
                util_buf_addc(&raw, c);
        }
        if (j >= d->n) {
                const char *nl = memchr(d->s + d->i, '\n', d->n - d->i);
                size_t end = nl ? (size_t)(nl - d->s) : d->n;
                util_buf_free(&raw);
                return err_set(err, -EINVAL, "%s:%d: unterminated quoted value %.*s", d->file,
                               d->line, (int)(end - d->i), d->s + d->i);
        }
        d->i = j + 1;
        if (quote == '\'') {
                *ret = jv_new_stringn(util_buf_str(&raw), raw.len);
                r = 0;
        } else {
                unescape(util_buf_str(&raw), raw.len, &unq);
                r = expand(d, key, line, util_buf_str(&unq), unq.len, ret, err);
        }
        util_buf_free(&raw);
        util_buf_free(&unq);
        return r;
}

/* An unquoted value: the rest of the line, up to " #", trimmed, interpolated. */
static int read_value(struct denv *d, const char *key, int line, struct jv **ret, struct err *err)
{
        const char *v, *nl, *hash;
        size_t end, len;

        if (d->i < d->n && (d->s[d->i] == '"' || d->s[d->i] == '\''))
                return read_quoted(d, key, line, ret, err);
        v = d->s + d->i;
        nl = memchr(v, '\n', d->n - d->i);
        end = nl ? (size_t)(nl - v) : d->n - d->i;
        hash = memmem(v, end, " #", 2);
        len = trim_right(v, hash ? (size_t)(hash - v) : end);
        d->line++;
        d->i += nl ? end + 1 : end;
        return expand(d, key, line, v, len, ret, err);
}

/* One statement: 1, or 0 at the end of the text. */
static int statement(struct denv *d, struct err *err)
{
        _cleanup_free_ char *key = NULL;
        struct jv *value = NULL;
        int line, r;
        bool bare = false;

        if (!statement_start(d))
                return 0;
        line = d->line;
        r = read_key(d, &key, &bare, err);
        if (r < 0)
                return r;
        if (strchr(key, ' '))
                return err_set(err, -EINVAL, "%s:%d: key cannot contain a space", d->file, line);
        if (bare) {
                const char *v = d->st.lookup ? d->st.lookup(key, d->st.ud) : NULL;
                if (v)
                        jv_set_str(d->out, key, v);
                return 1;
        }
        r = read_value(d, key, line, &value, err);
        if (r < 0)
                return r;
        jv_set(d->out, key, value);
        return 1;
}

int compose_dotenv_parse(const char *file, const char *text, compose_lookup_fn lookup, void *ud,
                         struct jv **ret, char ***ret_warnings, struct err *err)
{
        _cleanup_jv_ struct jv *out = jv_new_object();
        _cleanup_strv_ char **warnings = NULL;
        struct denv d = {
                .file = file,
                .s = text,
                .n = strlen(text),
                .line = 1,
                .st = {.lookup = lookup, .ud = ud, .vars = out, .warnings = &warnings},
                .out = out,
        };
        int r;

        if (!strncmp(text, "\xef\xbb\xbf", 3))
                d.i = 3;
        while ((r = statement(&d, err)) > 0)
                ;
        if (r < 0)
                return r;
        compose_warnings_give(&warnings, ret_warnings);
        *ret = TAKE_PTR(out);
        return 0;
}

struct lookup2 {
        const struct jv *first, *second;
};

static const char *lookup2(const char *name, void *ud)
{
        const struct lookup2 *l = ud;
        const char *v = jv_get_str(l->first, name);

        return v ? v : jv_get_str(l->second, name);
}

int compose_dotenv_add(const char *file, const char *text, const struct jv *first,
                       const struct jv *second, struct jv *into, char ***ret_warnings,
                       struct err *err)
{
        _cleanup_jv_ struct jv *vars = NULL;
        _cleanup_strv_ char **keys = NULL;
        struct lookup2 l = {.first = first, .second = second};
        int r = compose_dotenv_parse(file, text, lookup2, &l, &vars, ret_warnings, err);

        if (r < 0)
                return r;
        keys = jv_keys_ordered(vars);
        for (size_t i = 0; keys[i]; i++)
                jv_set(into, keys[i], jv_copy(jv_get(vars, keys[i])));
        return 0;
}
