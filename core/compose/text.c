/* Byte buffers, Go-style quoting and the paths that name nodes of a Compose file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/util.h"
#include "internal.h"

uint32_t compose_utf8_decode(const char *str, size_t n, size_t *ret_len)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
        uint32_t c = len == 1   ? s[0]
                     : len == 2 ? s[0] & 0x1f
                     : len == 3 ? s[0] & 0x0f
                                : s[0] & 0x07;

        *ret_len = 1;
        if (len == 0 || s[0] > 0xf4 || len > n)
                return COMPOSE_UTF8_BAD;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return COMPOSE_UTF8_BAD;
                c = c << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms and surrogates are errors, as Go decodes them. */
        if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
            (len == 4 && (c < 0x10000 || c > 0x10ffff)))
                return COMPOSE_UTF8_BAD;
        *ret_len = len;
        return c;
}

void compose_buf_add_quoted(struct util_buf *b, const char *s, size_t n)
{
        static const char named[] = "\a\b\f\n\r\t\v", letter[] = "abfnrtv";
        const unsigned char *u = (const unsigned char *)s;

        util_buf_addc(b, '"');
        for (size_t i = 0; i < n; i++) {
                const char *nm = u[i] ? strchr(named, u[i]) : NULL;
                char hex[5];
                size_t len;
                if (u[i] == '"' || u[i] == '\\') {
                        util_buf_addc(b, '\\');
                        util_buf_addc(b, (char)u[i]);
                } else if (nm) {
                        util_buf_addc(b, '\\');
                        util_buf_addc(b, letter[nm - named]);
                } else if (u[i] >= 0x20 && u[i] < 0x7f) {
                        util_buf_addc(b, (char)u[i]);
                } else if (u[i] >= 0x80 &&
                           compose_utf8_decode(s + i, n - i, &len) != COMPOSE_UTF8_BAD) {
                        util_buf_add(b, s + i, len);
                        i += len - 1;
                } else {
                        snprintf(hex, sizeof(hex), "\\x%02x", u[i]);
                        util_buf_add(b, hex, 4);
                }
        }
        util_buf_addc(b, '"');
}

char *compose_path_join(const char *parent, const char *key)
{
        struct util_buf b = {0};

        if (parent && *parent) {
                util_buf_add(&b, parent, strlen(parent));
                util_buf_addc(&b, '.');
        }
        for (const char *k = key; *k; k++) {
                if (*k == '.' || *k == '\\')
                        util_buf_addc(&b, '\\');
                util_buf_addc(&b, *k);
        }
        if (!b.s)
                util_buf_add(&b, "", 0);
        return b.s;
}

char *compose_path_display(const char *path)
{
        char *out = strdup(path), *o = out;

        if (!out)
                util_oom();
        for (const char *p = path; *p; p++) {
                if (*p == '\\' && p[1])
                        p++;
                *o++ = *p;
        }
        *o = '\0';
        return out;
}
