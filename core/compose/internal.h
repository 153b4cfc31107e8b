#pragma once
/* Inside core/compose/ only: the byte buffer and quoting (text.c) and the substitution engine
 * (interp.c) that the YAML interpolation and the .env parser share. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/json.h"
#include "../base/util.h"
#include "compose.h"

/* Byte strings are core/base's util_buf. */
/* What compose_utf8_decode returns for a byte that starts no valid sequence (Go's RuneError;
 * a real U+FFFD decodes to it too). */
#define COMPOSE_UTF8_BAD 0xfffd
/* The code point at s (n > 0 bytes) and its length in *ret_len: 1 for an invalid byte. */
uint32_t compose_utf8_decode(const char *s, size_t n, size_t *ret_len);
/* Appends n bytes as Go's %q prints a string: in double quotes, '"' and '\' escaped, control
 * bytes as \n, \t, ... or \xNN, invalid UTF-8 bytes as \xNN. */
void compose_buf_add_quoted(struct util_buf *b, const char *s, size_t n);

/* One interpolation's setting: where variables come from and where warnings go. */
struct compose_subst {
        compose_lookup_fn lookup;
        void *ud;
        const struct jv *vars; /* .env: the keys the file set so far, asked after lookup */
        char ***warnings;      /* strv the "not set" warnings go to, each once; NULL: none */
        bool invalid;          /* the last error was a malformed ${...} */
};

/* Substitutes the n bytes of in (compose-go's template.Substitute) onto out. -EINVAL: with
 * s->invalid set for a malformed template (err's message then says nothing useful: callers
 * word it), else err says "required variable X is missing a value[: message]" or that the
 * defaults nest too deep. */
int compose_subst_run(struct compose_subst *s, const char *in, size_t n, struct util_buf *out,
                      struct err *err);
/* Hands the strv *warnings over to *ret (an empty vector rather than NULL); with ret NULL,
 * keeps them for the caller's cleanup. */
void compose_warnings_give(char ***warnings, char ***ret);
