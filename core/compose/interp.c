/* Interpolation, as compose-go's template package does it (template/template.go). There a
 * regular expression finds "$$", "$NAME", "${NAME}" or "${NAME" + one of :- - :+ + :? ? +
 * anything up to the LAST '}' of the line; the first '}' that balances the opening brace
 * (counted as getFirstBraceClosingIndex counts, which skips the character after every '{')
 * then ends the substitution, and the text after it is scanned again. This file does the same
 * without a regex engine, quirks included, so that a file interpolates in hawser exactly as in
 * docker compose. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

/* Defaults within defaults: each level recurses, and Go's growable stack is not C's. */
#define SUBST_MAX_DEPTH 64
#define NONE            SIZE_MAX

/* One pass over a string; the line cache spares a search for the last '}' of the line at
 * every "${" (a line of many would otherwise cost its length squared). */
struct scan {
        struct compose_subst *s;
        const char *in;
        size_t n;
        int depth;
        bool cached;
        size_t eol, last; /* the line's end, and its last '}' after where the cache began */
};

static int scan_run(struct compose_subst *s, const char *in, size_t n, int depth,
                    struct util_buf *out, struct err *err);

static bool name_start(char c)
{
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
        return name_start(c) || (c >= '0' && c <= '9');
}

static const char *var_value(struct compose_subst *s, const char *name)
{
        const char *v = s->lookup ? s->lookup(name, s->ud) : NULL;

        return v || !s->vars ? v : jv_get_str(s->vars, name);
}

static void add_var(struct compose_subst *s, const char *name, size_t len, struct util_buf *out)
{
        _cleanup_free_ char *nm = strndup(name, len), *w = NULL;
        const char *v;

        if (!nm)
                util_oom();
        v = var_value(s, nm);
        if (v) {
                util_buf_add(out, v, strlen(v));
                return;
        }
        if (!s->warnings)
                return;
        w = util_printf("The \"%s\" variable is not set. Defaulting to a blank string.", nm);
        if (!w)
                util_oom();
        if (!util_strv_contains(*s->warnings, w))
                util_strv_push(s->warnings, w);
}

static int invalid(struct compose_subst *s, struct err *err)
{
        s->invalid = true;
        return err_set(err, -EINVAL, "invalid interpolation format");
}

/* The last '}' in [from, end of from's line), as the regex's greedy ".*}" finds it. */
static bool last_brace(struct scan *sc, size_t from, size_t *ret)
{
        if (!sc->cached || from >= sc->eol) {
                const char *nl = memchr(sc->in + from, '\n', sc->n - from);
                const char *b;
                sc->eol = nl ? (size_t)(nl - sc->in) : sc->n;
                b = memrchr(sc->in + from, '}', sc->eol - from);
                sc->last = b ? (size_t)(b - sc->in) : NONE;
                sc->cached = true;
        }
        if (sc->last == NONE || sc->last < from)
                return false;
        *ret = sc->last;
        return true;
}

/* getFirstBraceClosingIndex: the '}' that closes the first '{' of s. */
static size_t first_closing(const char *s, size_t n)
{
        long open = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '}' && --open == 0)
                        return i;
                if (s[i] == '{') {
                        open++;
                        i++;
                }
        }
        return NONE;
}

/* NAME OP ARG: the value, or ARG interpolated (only when it is used), or the error. */
static int apply(struct scan *sc, const char *name, size_t len, const char *op, const char *arg,
                 size_t alen, struct util_buf *out, struct err *err)
{
        _cleanup_free_ char *nm = strndup(name, len);
        struct util_buf msg = {0};
        bool colon = op[0] == ':';
        char kind = op[colon];
        const char *v;
        bool set, full;
        int r;

        if (!nm)
                util_oom();
        v = var_value(sc->s, nm);
        set = v != NULL;
        full = set && *v;
        if ((kind == '-' && (colon ? !full : !set)) || (kind == '+' && (colon ? full : set)))
                return scan_run(sc->s, arg, alen, sc->depth + 1, out, err);
        if (kind != '?' || (colon ? full : set)) {
                util_buf_add(out, v ? v : "", v ? strlen(v) : 0);
                return 0;
        }
        r = scan_run(sc->s, arg, alen, sc->depth + 1, &msg, err);
        if (r >= 0)
                r = err_set(err, -EINVAL, "required variable %s is missing a value%s%s", nm,
                            msg.len ? ": " : "", util_buf_str(&msg));
        util_buf_free(&msg);
        return r;
}

/* "${" at p: *next is where scanning goes on. */
static int scan_braced(struct scan *sc, size_t p, size_t *next, struct util_buf *out,
                       struct err *err)
{
        const char *in = sc->in;
        size_t n = sc->n, q = p + 2, oplen = 0, end, close;

        if (q >= n || !name_start(in[q]))
                return invalid(sc->s, err);
        for (q++; q < n && name_char(in[q]); q++)
                ;
        if (q < n && in[q] == '}') {
                *next = q + 1;
                add_var(sc->s, in + p + 2, q - p - 2, out);
                return 0;
        }
        if (q + 1 < n && in[q] == ':' && in[q + 1] && strchr("-+?", in[q + 1]))
                oplen = 2;
        else if (q < n && in[q] && strchr("-+?", in[q]))
                oplen = 1;
        if (!oplen || !last_brace(sc, q + oplen, &end))
                return invalid(sc->s, err);
        close = first_closing(in + p, end + 1 - p);
        close = close == NONE ? end : p + close;
        *next = close + 1;
        return apply(sc, in + p + 2, q - p - 2, in + q, in + q + oplen, close - q - oplen, out,
                     err);
}

static int scan_dollar(struct scan *sc, size_t p, size_t *next, struct util_buf *out,
                       struct err *err)
{
        const char *in = sc->in;
        size_t q;

        if (p + 1 < sc->n && in[p + 1] == '$') {
                util_buf_addc(out, '$');
                *next = p + 2;
                return 0;
        }
        if (p + 1 < sc->n && name_start(in[p + 1])) {
                for (q = p + 2; q < sc->n && name_char(in[q]); q++)
                        ;
                *next = q;
                add_var(sc->s, in + p + 1, q - p - 1, out);
                return 0;
        }
        if (p + 1 < sc->n && in[p + 1] == '{')
                return scan_braced(sc, p, next, out, err);
        util_buf_addc(out, '$');
        *next = p + 1;
        return 0;
}

static int scan_run(struct compose_subst *s, const char *in, size_t n, int depth,
                    struct util_buf *out, struct err *err)
{
        struct scan sc = {.s = s, .in = in, .n = n, .depth = depth};
        size_t i = 0;
        int r;

        if (depth > SUBST_MAX_DEPTH)
                return err_set(err, -EINVAL, "defaults nested deeper than %d levels",
                               SUBST_MAX_DEPTH);
        /* Something is added even to an empty result, so that out is a string. */
        util_buf_add(out, "", 0);
        while (i < n) {
                const char *d = memchr(in + i, '$', n - i);
                size_t p = d ? (size_t)(d - in) : n;
                util_buf_add(out, in + i, p - i);
                if (!d)
                        break;
                r = scan_dollar(&sc, p, &i, out, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

void compose_warnings_give(char ***warnings, char ***ret)
{
        if (!ret)
                return;
        if (!*warnings && !(*warnings = calloc(1, sizeof(**warnings))))
                util_oom();
        *ret = TAKE_PTR(*warnings);
}

int compose_subst_run(struct compose_subst *s, const char *in, size_t n, struct util_buf *out,
                      struct err *err)
{
        s->invalid = false;
        return scan_run(s, in, n, 0, out, err);
}

/* ---- compose_interpolate: every string value of the tree ---- */

struct walk {
        struct compose_subst st;
        const struct jv *pos;
};

static int walk_value(struct walk *w, struct jv *v, const char *path, struct jv **ret_new,
                      struct err *err);

/* Words the error as compose-go (interpolation.newPathError), one line, with the place. */
static int value_error(struct walk *w, const char *path, const char *value, size_t len,
                       struct err *err)
{
        _cleanup_free_ char *shown = compose_path_display(path);
        const char *at = w->pos ? jv_get_str(w->pos, path) : NULL;
        struct util_buf q = {0};
        int r;

        if (!w->st.invalid)
                return err_wrap(err, "%s%serror while interpolating %s", at ? at : "",
                                at ? ": " : "", shown);
        compose_buf_add_quoted(&q, value, len);
        r = err_set(err, -EINVAL,
                    "%s%sinvalid interpolation format for %s: %s; you may need to escape any $ "
                    "with another $",
                    at ? at : "", at ? ": " : "", shown, q.s);
        util_buf_free(&q);
        return r;
}

static int walk_string(struct walk *w, struct jv *v, const char *path, struct jv **ret_new,
                       struct err *err)
{
        const char *s = jv_str(v);
        size_t n = jv_str_len(v);
        struct util_buf out = {0};
        int r;

        if (!memchr(s, '$', n))
                return 0;
        r = compose_subst_run(&w->st, s, n, &out, err);
        if (r < 0) {
                util_buf_free(&out);
                return value_error(w, path, s, n, err);
        }
        *ret_new = jv_new_stringn(util_buf_str(&out), out.len);
        util_buf_free(&out);
        return 0;
}

static int walk_object(struct walk *w, struct jv *obj, const char *path, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(obj);
        int r;

        if (!keys)
                util_oom();
        for (char **k = keys; *k; k++) {
                _cleanup_free_ char *child = compose_path_join(path, *k);
                struct jv *nv = NULL;
                r = walk_value(w, jv_get(obj, *k), child, &nv, err);
                if (r < 0)
                        return r;
                if (nv)
                        jv_set(obj, *k, nv);
        }
        return 0;
}

/* json.h cannot replace an item: an array with a changed item is copied, the others shared. */
static int walk_array(struct walk *w, struct jv *arr, const char *path, struct jv **ret_new,
                      struct err *err)
{
        _cleanup_jv_ struct jv *copy = NULL;
        size_t n = jv_len(arr);
        int r;

        for (size_t i = 0; i < n; i++) {
                char idx[24];
                _cleanup_free_ char *child = NULL;
                struct jv *item = jv_at(arr, i), *nv = NULL;
                snprintf(idx, sizeof(idx), "%zu", i);
                child = compose_path_join(path, idx);
                r = walk_value(w, item, child, &nv, err);
                if (r < 0)
                        return r;
                if (nv && !copy) {
                        copy = jv_new_array();
                        for (size_t j = 0; j < i; j++)
                                jv_append(copy, jv_ref(jv_at(arr, j)));
                }
                if (copy)
                        jv_append(copy, nv ? nv : jv_ref(item));
        }
        *ret_new = TAKE_PTR(copy);
        return 0;
}

static int walk_value(struct walk *w, struct jv *v, const char *path, struct jv **ret_new,
                      struct err *err)
{
        switch (v ? jv_type(v) : JV_NULL) {
        case JV_STRING:
                return walk_string(w, v, path, ret_new, err);
        case JV_OBJECT:
                return walk_object(w, v, path, err);
        case JV_ARRAY:
                return walk_array(w, v, path, ret_new, err);
        case JV_NULL:
        case JV_BOOL:
        case JV_INT:
        case JV_DOUBLE:
                break;
        }
        return 0;
}

int compose_interpolate(struct jv *tree, const struct jv *pos, compose_lookup_fn lookup, void *ud,
                        char ***ret_warnings, struct err *err)
{
        _cleanup_strv_ char **warnings = NULL;
        struct walk w = {.st = {.lookup = lookup, .ud = ud, .warnings = &warnings}, .pos = pos};
        int r;

        if (!tree || jv_type(tree) != JV_OBJECT)
                return err_set(err, -EINVAL, "top-level object must be a mapping");
        r = walk_object(&w, tree, "", err);
        if (r >= 0)
                compose_warnings_give(&warnings, ret_warnings);
        return r;
}
