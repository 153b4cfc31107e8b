/* The model as YAML, as `docker compose config` prints it through go-yaml v3 with an indent
 * of 2: block style, sequences indented under their key, a string quoted only where it would
 * read back as another type or as YAML syntax. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

static void add(struct util_buf *b, const char *s)
{
        util_buf_add(b, s, strlen(s));
}

static void indent(struct util_buf *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                util_buf_addc(b, ' ');
}

/* YAML 1.1 and 1.2 words a plain scalar would read as: go-yaml quotes them all. */
static bool special_word(const char *s)
{
        static const char *const words[] = {
                "true", "false", "yes", "no",   "on",    "off",   "y",
                "n",    "null",  "~",   ".inf", "-.inf", "+.inf", ".nan",
        };
        char lc[8];
        size_t n = strlen(s);

        if (n >= sizeof(lc))
                return false;
        for (size_t i = 0; i <= n; i++)
                lc[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
                if (!strcmp(lc, words[i]))
                        return true;
        return false;
}

static bool all_of(const char *s, size_t n, const char *set)
{
        return n > 0 && strspn(s, set) >= n;
}

/* Whether s would read as a number: an int in any base go-yaml knows, a float, a YAML 1.1
 * sexagesimal ("12:30"), or a timestamp ("2001-12-14"). '_' between digits is ignored. */
static bool numberish(const char *s)
{
        static const char dec[] = "0123456789";
        _cleanup_free_ char *t = malloc(strlen(s) + 1);
        const char *p;
        size_t n, i = 0, f = 0, e;

        if (!t)
                util_oom();
        for (const char *c = s; *c; c++)
                if (*c != '_')
                        t[i++] = *c;
        t[i] = '\0';
        if (strlen(s) >= 10 && all_of(s, 4, dec) && s[4] == '-' && all_of(s + 5, 2, dec) &&
            s[7] == '-' && all_of(s + 8, 2, dec))
                return true;
        p = t + (*t == '+' || *t == '-');
        n = strlen(p);
        if (n > 2 && p[0] == '0' && strchr("xXoObB", p[1]))
                return all_of(p + 2, n - 2, "0123456789abcdefABCDEF");
        if (all_of(p, n, "0123456789:") && p[0] != ':')
                return true;
        i = strspn(p, dec);
        if (p[i] == '.')
                f = strspn(p + i + 1, dec), i += 1 + f;
        if (i == 0 || (i == 1 && p[0] == '.'))
                return false;
        if (p[i] == 'e' || p[i] == 'E') {
                e = i + 1 + (p[i + 1] == '+' || p[i + 1] == '-');
                if (!strspn(p + e, dec))
                        return false;
                i = e + strspn(p + e, dec);
        }
        return p[i] == '\0';
}

static bool needs_quotes(const char *s, size_t len)
{
        if (len == 0 || strlen(s) != len)
                return true;
        if (special_word(s) || numberish(s) || !strcmp(s, "<<"))
                return true;
        /* What would start YAML syntax; '-', '?' and ':' only before a blank. */
        if (strchr("[]{},#&*!|>'\"%@`", s[0]))
                return true;
        if (strchr("-?", s[0]) && (len == 1 || s[1] == ' ' || s[1] == '\t'))
                return true;
        if (s[0] == ':')
                return true;
        if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3))
                return true;
        if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t' ||
            s[len - 1] == ':')
                return true;
        if (strstr(s, ": ") || strstr(s, " #") || strstr(s, ":\t"))
                return true;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f)
                        return true;
        }
        return false;
}

static void quoted(struct util_buf *b, const char *s, size_t len)
{
        static const char plain[] = "\"\\\n\t\r";
        static const char *const escaped[] = {"\\\"", "\\\\", "\\n", "\\t", "\\r"};
        char hex[8];

        util_buf_addc(b, '"');
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                const char *e = c ? strchr(plain, c) : NULL;
                if (e) {
                        add(b, escaped[e - plain]);
                } else if (c < 0x20 || c == 0x7f) {
                        snprintf(hex, sizeof(hex), "\\x%02x", c);
                        add(b, hex);
                } else {
                        util_buf_addc(b, (char)c);
                }
        }
        util_buf_addc(b, '"');
}

static void string(struct util_buf *b, const char *s, size_t len)
{
        if (needs_quotes(s, len))
                quoted(b, s, len);
        else
                util_buf_add(b, s, len);
}

/* The model is walked in its JSON text, serialised once: json.h gives an object's keys in
 * order only through it, and serialising every nested object again would cost the tree's
 * size for each level of it. */

static void add_utf8(struct util_buf *b, unsigned c)
{
        if (c < 0x80) {
                util_buf_addc(b, (char)c);
        } else if (c < 0x800) {
                util_buf_addc(b, (char)(0xc0 | c >> 6));
                util_buf_addc(b, (char)(0x80 | (c & 0x3f)));
        } else {
                util_buf_addc(b, (char)(0xe0 | c >> 12));
                util_buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
                util_buf_addc(b, (char)(0x80 | (c & 0x3f)));
        }
}

/* The JSON string at s (at its opening quote) unescaped onto b; returns what follows it. */
static const char *json_string(const char *s, struct util_buf *b)
{
        static const char esc[] = "bfnrt", val[] = "\b\f\n\r\t";

        for (s++; *s && *s != '"'; s++) {
                const char *e;
                if (*s != '\\') {
                        util_buf_addc(b, *s);
                        continue;
                }
                s++;
                if (*s == 'u' && strspn(s + 1, "0123456789abcdefABCDEF") >= 4) {
                        char hex[5] = {s[1], s[2], s[3], s[4], 0};
                        add_utf8(b, (unsigned)strtoul(hex, NULL, 16));
                        s += 4;
                } else if (*s && (e = strchr(esc, *s)) != NULL) {
                        util_buf_addc(b, val[e - esc]);
                } else if (*s) {
                        util_buf_addc(b, *s);
                } else {
                        break;
                }
        }
        return *s ? s + 1 : s;
}

/* The JSON string at s as a YAML string onto b; returns what follows it. */
static const char *string_at(struct util_buf *b, const char *s)
{
        struct util_buf str = {0};
        const char *end = json_string(s, &str);

        string(b, str.s ? str.s : "", str.len);
        util_buf_free(&str);
        return end;
}

static const char *blanks(const char *s)
{
        return s + strspn(s, " \n\t\r");
}

/* Whether the value at s is a mapping or a sequence with something in it. */
static bool is_block(const char *s)
{
        s = blanks(s);
        return (*s == '{' || *s == '[') && *blanks(s + 1) != '}' && *blanks(s + 1) != ']';
}

/* A scalar (or an empty collection) at s onto b; returns what follows it. */
static const char *scalar(struct util_buf *b, const char *s)
{
        const char *end;

        s = blanks(s);
        if (*s == '"')
                return string_at(b, s);
        if (*s == '{' || *s == '[') {
                add(b, *s == '{' ? "{}" : "[]");
                return blanks(s + 1) + 1;
        }
        end = s + strcspn(s, ",]} \n\t\r");
        if (!strncmp(s, "NaN", 3))
                add(b, ".nan");
        else if (!strncmp(s, "Infinity", 8) || !strncmp(s, "-Infinity", 9))
                add(b, *s == '-' ? "-.inf" : ".inf");
        else
                util_buf_add(b, s, (size_t)(end - s));
        return end;
}

/* The mapping or sequence at s (its '{' or '['), a member as "key: value", an item as
 * "- value", a nested block below its key or after its dash; returns what follows its end. */
static const char *emit_value(struct util_buf *b, const char *s, size_t level, bool inline_first)
{
        bool map = *(s = blanks(s)) == '{';

        s++;
        for (size_t i = 0; *(s = blanks(s)) && (map ? *s == '"' : *s != ']'); i++) {
                if (i > 0 || !inline_first)
                        indent(b, level);
                if (map) {
                        s = blanks(string_at(b, s));
                        s = blanks(s + (*s == ':'));
                        util_buf_addc(b, ':');
                        util_buf_addc(b, is_block(s) ? '\n' : ' ');
                } else {
                        add(b, "- ");
                }
                if (is_block(s)) {
                        s = emit_value(b, s, level + 2, !map);
                } else {
                        s = scalar(b, s);
                        util_buf_addc(b, '\n');
                }
                s = blanks(s);
                s += *s == ',';
        }
        return *s ? s + 1 : s;
}

char *compose_emit_yaml(const struct jv *model)
{
        const char *json = jv_to_string(model, false);
        struct util_buf b = {0};

        if (is_block(json)) {
                emit_value(&b, json, 0, false);
        } else {
                scalar(&b, json);
                util_buf_addc(&b, '\n');
        }
        util_buf_add(&b, "", 0);
        return b.s;
}
