/* The Compose YAML loader. libyaml's events become a tree of nodes (aliases as links to
 * their anchors), which is then built into a struct jv the way go-yaml v3 decodes a
 * document into interface{} for compose-go: plain scalars typed, aliases copied, merge keys
 * applied, duplicate and non-string keys refused. libyaml is loaded on first use, like
 * libarchive and libcurl, so that only compose pays for it. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

#define YAML_FUNCS(X)                                                                              \
        X(yaml_parser_initialize)                                                                  \
        X(yaml_parser_delete)                                                                      \
        X(yaml_parser_set_input_string)                                                            \
        X(yaml_parser_parse)                                                                       \
        X(yaml_event_delete)

#define YAML_DECL(f) __typeof__(f) *f;
static struct {
        YAML_FUNCS(YAML_DECL)
} ly;

#define YAML_NAME(f) #f,
#define YAML_SLOT(f) (void **)&ly.f,
static int load_libyaml(struct err *err)
{
        static const char *const names[] = {YAML_FUNCS(YAML_NAME)};
        static void **const slots[] = {YAML_FUNCS(YAML_SLOT)};
        static bool loaded;

        return util_dl_table("libyaml-0.so.2", names, slots, ARRAY_SIZE(names), &loaded, err);
}
#undef YAML_NAME
#undef YAML_SLOT

#define TAG_PREFIX "tag:yaml.org,2002:"

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

/* What a node expands to: nodes, and the bytes of their paths below the node's own. */
struct ysize {
        uint64_t nodes, bytes;
};

struct ynode {
        enum ynode_kind kind;
        size_t line, col; /* 1-based */
        char *tag;        /* as libyaml gives it ("tag:yaml.org,2002:int", "!reset"); NULL */
        char *text;       /* a scalar's value; an alias's anchor name */
        size_t len;
        bool plain;          /* a plain (unquoted, not block) scalar */
        struct ynode **kids; /* items; or keys and values, alternating */
        size_t n, cap;
        struct ynode *target; /* an alias's anchor */
        bool busy;            /* being built: an alias to it would be a cycle */
        struct ysize size;    /* expanded_size's count, nodes 0 until known */
};

struct loader {
        const char *file;
        const char *text;
        size_t len;
        struct ynode **all; /* every node, for freeing */
        size_t n_all, cap_all;
        struct jv *anchors; /* name -> index in all */
        struct jv *pos, *tags;
        size_t nodes, bytes; /* built so far: nodes, and the bytes of their paths */
};

static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
        if (need > *cap) {
                size_t c = *cap ? *cap * 2 : 8;
                while (c < need)
                        c *= 2;
                v = reallocarray(v, c, size);
                if (!v)
                        util_oom();
                *cap = c;
        }
        return v;
}

static char *dup_or_null(const yaml_char_t *s)
{
        char *d = s ? strdup((const char *)s) : NULL;

        if (s && !d)
                util_oom();
        return d;
}

static struct ynode *node_new(struct loader *ld, enum ynode_kind kind, const yaml_mark_t *m)
{
        struct ynode *n = calloc(1, sizeof(*n));

        if (!n)
                util_oom();
        n->kind = kind;
        n->line = m->line + 1;
        n->col = m->column + 1;
        ld->all = grow(ld->all, &ld->cap_all, ld->n_all + 1, sizeof(*ld->all));
        ld->all[ld->n_all++] = n;
        return n;
}

static void loader_free(struct loader *ld)
{
        for (size_t i = 0; i < ld->n_all; i++) {
                free(ld->all[i]->tag);
                free(ld->all[i]->text);
                free(ld->all[i]->kids);
                free(ld->all[i]);
        }
        free(ld->all);
        jv_put(ld->anchors);
        jv_put(ld->pos);
        jv_put(ld->tags);
}

/* ---- events -> nodes ---- */

static int parse_error(struct loader *ld, const yaml_parser_t *p, struct err *err)
{
        size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
        const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";

        if (p->error == YAML_MEMORY_ERROR)
                return err_set(err, -ENOMEM, "%s: out of memory parsing YAML", ld->file);
        if (p->error == YAML_READER_ERROR) {
                /* The reader gives a byte offset, no mark. */
                line = 1, col = 1;
                for (size_t i = 0; i < p->problem_offset && i < ld->len; i++, col++)
                        if (ld->text[i] == '\n')
                                line++, col = 0;
        }
        if (p->context)
                return err_set(err, -EINVAL, "%s:%zu:%zu: %s (%s at line %zu, column %zu)",
                               ld->file, line, col, problem, p->context, p->context_mark.line + 1,
                               p->context_mark.column + 1);
        return err_set(err, -EINVAL, "%s:%zu:%zu: %s", ld->file, line, col, problem);
}

static int next_event(struct loader *ld, yaml_parser_t *p, yaml_event_t *ev, struct err *err)
{
        if (!ly.yaml_parser_parse(p, ev))
                return parse_error(ld, p, err);
        return 0;
}

static void set_anchor(struct loader *ld, const yaml_char_t *anchor)
{
        if (anchor)
                jv_set_int(ld->anchors, (const char *)anchor, (long long)ld->n_all - 1);
}

static int read_node(struct loader *ld, yaml_parser_t *p, yaml_event_t *ev, size_t depth,
                     struct ynode **ret, struct err *err);

/* The items (or keys and values) of the collection n, up to its end event. */
static int read_kids(struct loader *ld, yaml_parser_t *p, struct ynode *n, size_t depth,
                     struct err *err)
{
        yaml_event_type_t end =
                n->kind == YN_SEQ ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
        int r;

        for (;;) {
                yaml_event_t ev;
                struct ynode *kid;
                r = next_event(ld, p, &ev, err);
                if (r < 0)
                        return r;
                if (ev.type == end) {
                        ly.yaml_event_delete(&ev);
                        return 0;
                }
                r = read_node(ld, p, &ev, depth + 1, &kid, err);
                if (r < 0)
                        return r;
                n->kids = grow(n->kids, &n->cap, n->n + 1, sizeof(*n->kids));
                n->kids[n->n++] = kid;
        }
}

/* The node ev starts, with what it holds; ev is deleted. */
static int read_node(struct loader *ld, yaml_parser_t *p, yaml_event_t *ev, size_t depth,
                     struct ynode **ret, struct err *err)
{
        struct ynode *n = NULL;
        long long idx;
        int r = 0;

        if (depth > COMPOSE_YAML_MAX_DEPTH)
                r = err_set(err, -EINVAL, "%s:%zu:%zu: nested deeper than %d levels", ld->file,
                            ev->start_mark.line + 1, ev->start_mark.column + 1,
                            COMPOSE_YAML_MAX_DEPTH);
        else if (ev->type == YAML_ALIAS_EVENT) {
                n = node_new(ld, YN_ALIAS, &ev->start_mark);
                n->text = dup_or_null(ev->data.alias.anchor);
                idx = jv_get_int(ld->anchors, n->text, -1);
                if (idx < 0)
                        r = err_set(err, -EINVAL, "%s:%zu:%zu: unknown anchor '%s' referenced",
                                    ld->file, n->line, n->col, n->text);
                else
                        n->target = ld->all[idx];
        } else if (ev->type == YAML_SCALAR_EVENT) {
                n = node_new(ld, YN_SCALAR, &ev->start_mark);
                n->tag = dup_or_null(ev->data.scalar.tag);
                n->len = ev->data.scalar.length;
                /* Not strndup: a "\0" escape puts a NUL inside the value. */
                n->text = malloc(n->len + 1);
                if (!n->text)
                        util_oom();
                memcpy(n->text, ev->data.scalar.value, n->len);
                n->text[n->len] = '\0';
                n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                set_anchor(ld, ev->data.scalar.anchor);
        } else {
                bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
                n = node_new(ld, seq ? YN_SEQ : YN_MAP, &ev->start_mark);
                n->tag =
                        dup_or_null(seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
                /* Known from the start, like go-yaml: an alias inside is then a cycle. */
                set_anchor(ld,
                           seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor);
                ly.yaml_event_delete(ev);
                r = read_kids(ld, p, n, depth, err);
                *ret = n;
                return r;
        }
        ly.yaml_event_delete(ev);
        *ret = n;
        return r;
}

/* Reads and drops one event, keeping its type and where it starts. */
static int skip_event(struct loader *ld, yaml_parser_t *p, yaml_event_type_t *ret_type,
                      yaml_mark_t *ret_mark, struct err *err)
{
        yaml_event_t ev;
        int r = next_event(ld, p, &ev, err);

        if (r < 0)
                return r;
        *ret_type = ev.type;
        *ret_mark = ev.start_mark;
        ly.yaml_event_delete(&ev);
        return 0;
}

/* The one document of the stream, its root in *ret. */
static int read_document(struct loader *ld, yaml_parser_t *p, struct ynode **ret, struct err *err)
{
        yaml_event_type_t type;
        yaml_mark_t at;
        yaml_event_t ev;
        int r = skip_event(ld, p, &type, &at, err); /* the stream's start */

        if (r >= 0)
                r = skip_event(ld, p, &type, &at, err); /* a document's start, or the end */
        if (r >= 0 && type == YAML_STREAM_END_EVENT)
                return err_set(err, -ENODATA, "%s: empty compose file", ld->file);
        if (r >= 0)
                r = next_event(ld, p, &ev, err);
        if (r >= 0)
                r = read_node(ld, p, &ev, 0, ret, err);
        if (r >= 0)
                r = skip_event(ld, p, &type, &at, err); /* the document's end */
        if (r >= 0)
                r = skip_event(ld, p, &type, &at, err);
        if (r >= 0 && type != YAML_STREAM_END_EVENT)
                r = err_set(err, -EINVAL,
                            "%s:%zu:%zu: a second YAML document: a compose file holds one",
                            ld->file, at.line + 1, at.column + 1);
        return r;
}

/* ---- typing scalars (go-yaml v3's resolve) ---- */

struct yval {
        enum jv_type type;
        long long i;
        double d;
};

/* go-yaml's yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_float_syntax(const char *s)
{
        size_t int_digits, frac_digits = 0;

        s += *s == '+' || *s == '-';
        int_digits = strspn(s, "0123456789");
        s += int_digits;
        if (*s == '.') {
                frac_digits = strspn(s + 1, "0123456789");
                s += 1 + frac_digits;
        }
        if (!int_digits && !frac_digits)
                return false;
        if (*s == 'e' || *s == 'E') {
                s += 1 + (s[1] == '+' || s[1] == '-');
                if (!strspn(s, "0123456789"))
                        return false;
                s += strspn(s, "0123456789");
        }
        return *s == '\0';
}

/* Go's strconv.ParseInt(s, 0, 64), and ParseUint for what is too large: 1 for an int64 in
 * *ret, 2 for a uint64 beyond it in *uret, 0 for anything else. */
static int go_parse_int(const char *s, long long *ret, unsigned long long *uret)
{
        bool neg = *s == '-';
        const char *p = s + (*s == '+' || *s == '-');
        unsigned long long v = 0;
        unsigned base = 10;

        if (!*p)
                return 0;
        if (p[0] == '0') {
                char c = p[1] | 0x20;
                if (p[1] && p[2] && (c == 'b' || c == 'o' || c == 'x'))
                        base = c == 'b' ? 2 : c == 'o' ? 8 : 16, p += 2;
                else
                        base = 8, p += 1;
        }
        for (; *p; p++) {
                unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                             : (*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'
                                     ? (unsigned)((*p | 0x20) - 'a' + 10)
                                     : 99;
                if (d >= base || v > (ULLONG_MAX - d) / base)
                        return 0;
                v = v * base + d;
        }
        if (v <= (unsigned long long)LLONG_MAX || (neg && v == (unsigned long long)LLONG_MAX + 1)) {
                *ret = neg ? (long long)(0 - v) : (long long)v;
                return 1;
        }
        if (neg || s[0] == '+')
                return 0;
        *uret = v;
        return 2;
}

static bool parse_float(const char *s, double *ret)
{
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        /* Go's ParseFloat fails on overflow, not on underflow. */
        if (*end || (errno == ERANGE && isinf(d)))
                return false;
        *ret = d;
        return true;
}

/* go-yaml's table of words, for plain scalars that start with one of its hint characters. */
static bool resolve_word(const char *s, struct yval *v)
{
        static const struct {
                const char *word;
                enum jv_type type;
                double d;
        } words[] = {
                {"true", JV_BOOL, 1},
                {"True", JV_BOOL, 1},
                {"TRUE", JV_BOOL, 1},
                {"false", JV_BOOL, 0},
                {"False", JV_BOOL, 0},
                {"FALSE", JV_BOOL, 0},
                {"", JV_NULL, 0},
                {"~", JV_NULL, 0},
                {"null", JV_NULL, 0},
                {"Null", JV_NULL, 0},
                {"NULL", JV_NULL, 0},
                {".nan", JV_DOUBLE, NAN},
                {".NaN", JV_DOUBLE, NAN},
                {".NAN", JV_DOUBLE, NAN},
                {".inf", JV_DOUBLE, INFINITY},
                {".Inf", JV_DOUBLE, INFINITY},
                {".INF", JV_DOUBLE, INFINITY},
                {"+.inf", JV_DOUBLE, INFINITY},
                {"+.Inf", JV_DOUBLE, INFINITY},
                {"+.INF", JV_DOUBLE, INFINITY},
                {"-.inf", JV_DOUBLE, -INFINITY},
                {"-.Inf", JV_DOUBLE, -INFINITY},
                {"-.INF", JV_DOUBLE, -INFINITY},
        };

        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
                if (!strcmp(s, words[i].word)) {
                        v->type = words[i].type;
                        v->i = words[i].d != 0;
                        v->d = words[i].d;
                        return true;
                }
        return false;
}

/* A number: an int, a uint64 beyond int64 (a double here: json.h has no unsigned), or a
 * float; go-yaml drops every '_' first. */
static void resolve_number(const char *s, struct yval *v)
{
        _cleanup_free_ char *plain = strdup(s);
        unsigned long long u = 0;
        char *o = plain;
        int k;

        if (!plain)
                util_oom();
        for (const char *c = s; *c; c++)
                if (*c != '_')
                        *o++ = *c;
        *o = '\0';
        k = go_parse_int(plain, &v->i, &u);
        if (k) {
                v->type = k == 1 ? JV_INT : JV_DOUBLE;
                v->d = (double)u;
        } else if (yaml_float_syntax(plain) && parse_float(plain, &v->d))
                v->type = JV_DOUBLE;
}

/* go-yaml v3's resolve("", s) for a plain scalar. Timestamps stay strings. */
static struct yval resolve_plain(const char *s)
{
        struct yval v = {.type = JV_STRING};
        char hint = *s;

        if (*s && !strchr("+-0123456789yYnNtTfFoO~.", hint))
                return v;
        if (resolve_word(s, &v))
                return v;
        if (hint == '.') {
                if (yaml_float_syntax(s) && parse_float(s, &v.d))
                        v.type = JV_DOUBLE;
        } else if (strchr("+-0123456789", hint))
                resolve_number(s, &v);
        return v;
}

static const char *type_tag(enum jv_type t)
{
        switch (t) {
        case JV_NULL:
                return "!!null";
        case JV_BOOL:
                return "!!bool";
        case JV_INT:
                return "!!int";
        case JV_DOUBLE:
                return "!!float";
        case JV_STRING:
        case JV_ARRAY:
        case JV_OBJECT:
                break;
        }
        return "!!str";
}

/* The value of scalar n as go-yaml decodes it: plain ones typed, quoted ones strings, the
 * core tags honoured (a mismatch is go-yaml's "cannot decode"), other tags ignored. */
static int scalar_value(struct loader *ld, const struct ynode *n, struct yval *ret, struct err *err)
{
        static const struct {
                const char *tag;
                enum jv_type type;
        } core[] = {{"null", JV_NULL}, {"bool", JV_BOOL}, {"int", JV_INT}, {"float", JV_DOUBLE}};
        const char *t = n->tag && !strncmp(n->tag, TAG_PREFIX, strlen(TAG_PREFIX))
                                ? n->tag + strlen(TAG_PREFIX)
                                : NULL;
        struct yval v = {.type = JV_STRING};

        /* "!" is the non-specific tag: a plain scalar with it is typed as without. */
        if ((!n->tag || !strcmp(n->tag, "!")) && n->plain)
                v = resolve_plain(n->text);
        for (size_t i = 0; t && i < ARRAY_SIZE(core); i++) {
                if (strcmp(t, core[i].tag))
                        continue;
                v = resolve_plain(n->text);
                if (v.type == JV_INT && core[i].type == JV_DOUBLE)
                        v.type = JV_DOUBLE, v.d = (double)v.i;
                if (v.type != core[i].type)
                        return err_set(err, -EINVAL, "%s:%zu:%zu: cannot decode %s `%s` as a !!%s",
                                       ld->file, n->line, n->col, type_tag(v.type), n->text, t);
        }
        *ret = v;
        return 0;
}

/* A double, through JSON text (json.h has no double constructor) that json-c reads back as
 * one: the shortest form that round-trips, with ".0" when it would read as an integer; NaN
 * and the infinities as json-c writes them. In brackets: json-c waits for more after a bare
 * number at the end of its input. */
static struct jv *new_double(double d)
{
        _cleanup_jv_ struct jv *arr = NULL;
        char buf[64];
        struct err e = {0};
        int prec = 1;

        if (isnan(d) || isinf(d))
                snprintf(buf, sizeof(buf), "[%s]",
                         isnan(d) ? "NaN"
                         : d > 0  ? "Infinity"
                                  : "-Infinity");
        else if (fabs(d) < 1e21 && (d == 0 || fabs(d) >= 1e-6)) {
                /* Plain decimals in the range Go's encoding/json writes them so. */
                do
                        snprintf(buf, sizeof(buf), "[%.*f", prec - 1, d);
                while (strtod(buf + 1, NULL) != d && ++prec <= 27);
                strcat(buf, strchr(buf, '.') ? "]" : ".0]");
        } else {
                do
                        snprintf(buf, sizeof(buf), "[%.*g", prec, d);
                while (strtod(buf + 1, NULL) != d && ++prec <= 17);
                strcat(buf, "]");
        }
        if (jv_parse(buf, &arr, &e) < 0)
                util_oom(); /* only json-c's allocation can fail on this text */
        return jv_ref(jv_at(arr, 0));
}

static struct jv *scalar_jv(const struct ynode *n, const struct yval *v)
{
        switch (v->type) {
        case JV_NULL:
                return NULL;
        case JV_BOOL:
                return jv_new_bool(v->i);
        case JV_INT:
                return jv_new_int(v->i);
        case JV_DOUBLE:
                return new_double(v->d);
        case JV_STRING:
        case JV_ARRAY:
        case JV_OBJECT:
                break;
        }
        return jv_new_stringn(n->text, n->len);
}

/* ---- nodes -> jv ---- */

/* The length of the path element key node k (or item i) adds, dot included. */
static uint64_t element_len(const struct ynode *k, size_t i)
{
        char idx[24];

        if (!k)
                return (uint64_t)snprintf(idx, sizeof(idx), ".%zu", i);
        k = k->kind == YN_ALIAS ? k->target : k;
        return 1 + (k->kind == YN_SCALAR ? k->len : 0);
}

/* What n expands to once aliases are expanded (merged maps counted whole), each node counted
 * once and its count kept for every alias to it, saturating past the limits: an alias bomb
 * is refused before anything is built. build()'s own count is what holds: this one may
 * undercount where build() fails anyway (a cycle, past the depth limit). */
static struct ysize expanded_size(struct ynode *n, size_t depth)
{
        struct ynode *t = n->kind == YN_ALIAS ? n->target : n;
        struct ysize total = {1, 0};
        bool map = t->kind == YN_MAP;

        if (t->size.nodes || t->busy || depth > COMPOSE_YAML_MAX_DEPTH)
                return t->size.nodes ? t->size : total;
        t->busy = true;
        for (size_t i = map; i < t->n; i += map ? 2 : 1) {
                struct ysize k = expanded_size(t->kids[i], depth + 1);
                total.nodes += k.nodes;
                total.bytes += k.bytes + k.nodes * element_len(map ? t->kids[i - 1] : NULL, i);
                if (total.nodes > COMPOSE_YAML_MAX_NODES || total.bytes > COMPOSE_YAML_MAX_PATHS)
                        break;
        }
        t->busy = false;
        if (total.nodes > COMPOSE_YAML_MAX_NODES)
                total.nodes = COMPOSE_YAML_MAX_NODES + 1;
        if (total.bytes > COMPOSE_YAML_MAX_PATHS)
                total.bytes = COMPOSE_YAML_MAX_PATHS + 1;
        t->size = total;
        return total;
}

static int too_large(struct loader *ld, struct err *err)
{
        return err_set(err, -EINVAL,
                       "%s: more than %d nodes, or %d bytes of paths, once aliases are expanded "
                       "(an alias bomb?)",
                       ld->file, COMPOSE_YAML_MAX_NODES, COMPOSE_YAML_MAX_PATHS);
}

static int build(struct loader *ld, struct ynode *n, const char *path, size_t depth,
                 struct jv **ret, struct err *err);

static void set_pos(struct loader *ld, const char *path, const struct ynode *at)
{
        _cleanup_free_ char *s = util_printf("%s:%zu:%zu", ld->file, at->line, at->col);

        if (!s)
                util_oom();
        jv_set_str(ld->pos, path, s);
}

/* The node a stands for (an alias's anchor, or a); an alias inside its own anchor's node is
 * refused, as go-yaml refuses it. */
static int deref(struct loader *ld, struct ynode *a, struct ynode **ret, struct err *err)
{
        struct ynode *t = a->kind == YN_ALIAS ? a->target : a;

        if (t->busy)
                return err_set(err, -EINVAL, "%s:%zu:%zu: anchor '%s' value contains itself",
                               ld->file, a->line, a->col, a->text);
        *ret = t;
        return 0;
}

/* go-yaml's isMerge: "<<" untagged and plain, or tagged "!" or !!merge. */
static bool is_merge(const struct ynode *k)
{
        return k->kind == YN_SCALAR && !strcmp(k->text, "<<") &&
               (k->tag ? !strcmp(k->tag, "!") || !strcmp(k->tag, TAG_PREFIX "merge") : k->plain);
}

/* compose-go's formatInvalidKeyError, the key printed as Go prints the decoded value. */
static int non_string_key(struct loader *ld, const struct ynode *k, const struct ynode *t,
                          const struct yval *v, const char *path, struct err *err)
{
        _cleanup_free_ char *shown = compose_path_display(path);
        char val[64];

        if (t->kind != YN_SCALAR)
                snprintf(val, sizeof(val), "%s", t->kind == YN_MAP ? "a mapping" : "a sequence");
        else if (v->type == JV_INT)
                snprintf(val, sizeof(val), "%lld", v->i);
        else if (v->type == JV_DOUBLE)
                snprintf(val, sizeof(val), "%g", v->d);
        else
                snprintf(val, sizeof(val), "%s",
                         v->type == JV_BOOL ? (v->i ? "true" : "false") : "<nil>");
        return err_set(err, -EINVAL, "%s:%zu:%zu: non-string key %s%s: %s", ld->file, k->line,
                       k->col, *path ? "in " : "at top level", shown, val);
}

/* The text of key node k, which must decode to a string. */
static int key_text(struct loader *ld, const struct ynode *k, const char *path, const char **ret,
                    struct err *err)
{
        const struct ynode *t = k->kind == YN_ALIAS ? k->target : k;
        struct yval v = {.type = JV_NULL};
        int r;

        if (t->kind == YN_SCALAR) {
                r = scalar_value(ld, t, &v, err);
                if (r < 0)
                        return r;
                if (v.type == JV_STRING) {
                        *ret = t->text;
                        return 0;
                }
        }
        return non_string_key(ld, k, t, &v, path, err);
}

/* go-yaml's checks of a mapping's keys before it decodes it: only strings, none twice
 * (compared as written, "<<" included). lines gets each key's line. */
static int check_keys(struct loader *ld, const struct ynode *m, const char *path, struct jv *lines,
                      struct err *err)
{
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i];
                const char *text = "<<";
                long long first;
                int r = is_merge(k) ? 0 : key_text(ld, k, path, &text, err);
                if (r < 0)
                        return r;
                first = jv_get_int(lines, text, -1);
                if (first >= 0) {
                        struct util_buf q = {0};
                        compose_buf_add_quoted(&q, text, strlen(text));
                        r = err_set(err, -EINVAL,
                                    "%s:%zu:%zu: mapping key %s already defined at line %lld",
                                    ld->file, k->line, k->col, q.s, first);
                        util_buf_free(&q);
                        return r;
                }
                jv_set_int(lines, text, (long long)k->line);
        }
        return 0;
}

/* Sets key k of obj to the value built from v, and the position of path.k to k's. */
static int build_member(struct loader *ld, struct jv *obj, const struct ynode *k, struct ynode *v,
                        const char *path, size_t depth, struct err *err)
{
        _cleanup_free_ char *child = NULL;
        struct jv *val = NULL;
        const char *text;
        int r = key_text(ld, k, path, &text, err);

        if (r < 0)
                return r;
        child = compose_path_join(path, text);
        r = build(ld, v, child, depth + 1, &val, err);
        if (r < 0)
                return r;
        if (r == 0) {
                jv_set(obj, text, val);
                set_pos(ld, child, k);
        }
        return 0;
}

static int merge_value(struct loader *ld, struct jv *obj, struct ynode *v, const char *path,
                       size_t depth, struct jv *seen, struct err *err);

/* Merges mapping src into obj: its own keys that seen lacks (each then seen), then what its
 * own merge keys bring, as go-yaml's decoder does with its mergedFields. */
static int merge_map(struct loader *ld, struct jv *obj, struct ynode *src, const char *path,
                     size_t depth, struct jv *seen, struct err *err)
{
        _cleanup_jv_ struct jv *lines = jv_new_object();
        int r = check_keys(ld, src, path, lines, err);

        src->busy = true;
        for (size_t i = 0; r >= 0 && i + 1 < src->n; i += 2) {
                const char *text;
                if (is_merge(src->kids[i]))
                        continue;
                r = key_text(ld, src->kids[i], path, &text, err);
                if (r < 0 || jv_get(seen, text))
                        continue;
                jv_set_int(seen, text, 1);
                r = build_member(ld, obj, src->kids[i], src->kids[i + 1], path, depth, err);
        }
        for (size_t i = 0; r >= 0 && i + 1 < src->n; i += 2)
                if (is_merge(src->kids[i]))
                        r = merge_value(ld, obj, src->kids[i + 1], path, depth, seen, err);
        src->busy = false;
        return r;
}

static int bad_merge(struct loader *ld, const struct ynode *v, struct err *err)
{
        return err_set(err, -EINVAL,
                       "%s:%zu:%zu: map merge requires map or sequence of maps as the value",
                       ld->file, v->line, v->col);
}

/* The value of a merge key: a mapping, or a sequence of mappings, or an alias to either
 * (compose-go takes an alias to a sequence, which go-yaml alone refuses). */
static int merge_value(struct loader *ld, struct jv *obj, struct ynode *v, const char *path,
                       size_t depth, struct jv *seen, struct err *err)
{
        struct ynode *t = NULL, *item = NULL;
        int r = deref(ld, v, &t, err);

        if (r < 0)
                return r;
        if (t->kind == YN_MAP)
                return merge_map(ld, obj, t, path, depth, seen, err);
        if (t->kind != YN_SEQ)
                return bad_merge(ld, v, err);
        for (size_t i = 0; i < t->n; i++) {
                r = deref(ld, t->kids[i], &item, err);
                if (r < 0)
                        return r;
                if (item->kind != YN_MAP)
                        return bad_merge(ld, t->kids[i], err);
                r = merge_map(ld, obj, item, path, depth, seen, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build_map(struct loader *ld, struct ynode *m, const char *path, size_t depth,
                     struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *obj = jv_new_object(), *seen = jv_new_object();
        int r = check_keys(ld, m, path, seen, err);

        /* The mapping's own keys win over merged ones wherever they stand. */
        jv_del(seen, "<<");
        for (size_t i = 0; r >= 0 && i + 1 < m->n; i += 2) {
                if (is_merge(m->kids[i]))
                        r = merge_value(ld, obj, m->kids[i + 1], path, depth, seen, err);
                else
                        r = build_member(ld, obj, m->kids[i], m->kids[i + 1], path, depth, err);
        }
        if (r >= 0)
                *ret = TAKE_PTR(obj);
        return r;
}

static int build_seq(struct loader *ld, struct ynode *s, const char *path, size_t depth,
                     struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *arr = jv_new_array();

        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *child = NULL;
                struct jv *v = NULL;
                char idx[24];
                int r;
                snprintf(idx, sizeof(idx), "%zu", jv_len(arr));
                child = compose_path_join(path, idx);
                r = build(ld, s->kids[i], child, depth + 1, &v, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        jv_append(arr, v);
                        set_pos(ld, child, s->kids[i]);
                }
        }
        *ret = TAKE_PTR(arr);
        return 0;
}

/* The value of node n (an alias: a copy of its anchor's) at path: 0, or 1 when a !reset tag
 * leaves it out. */
static int build(struct loader *ld, struct ynode *n, const char *path, size_t depth,
                 struct jv **ret, struct err *err)
{
        struct ynode *t = NULL;
        struct yval v;
        int r = deref(ld, n, &t, err);

        if (r < 0)
                return r;
        if (depth > COMPOSE_YAML_MAX_DEPTH)
                return err_set(err, -EINVAL, "%s:%zu:%zu: nested deeper than %d levels", ld->file,
                               n->line, n->col, COMPOSE_YAML_MAX_DEPTH);
        ld->bytes += strlen(path);
        if (++ld->nodes > COMPOSE_YAML_MAX_NODES || ld->bytes > COMPOSE_YAML_MAX_PATHS)
                return too_large(ld, err);
        if (t->tag && (!strcmp(t->tag, "!reset") || !strcmp(t->tag, "!override"))) {
                if (ld->tags)
                        jv_set_str(ld->tags, path, t->tag + 1);
                if (t->tag[1] == 'r')
                        return 1;
        }
        switch (t->kind) {
        case YN_SCALAR:
                r = scalar_value(ld, t, &v, err);
                if (r >= 0)
                        *ret = scalar_jv(t, &v);
                return r;
        case YN_SEQ:
        case YN_MAP:
                t->busy = true;
                r = t->kind == YN_SEQ ? build_seq(ld, t, path, depth, ret, err)
                                      : build_map(ld, t, path, depth, ret, err);
                t->busy = false;
                return r;
        case YN_ALIAS:
                break;
        }
        return err_set(err, -EINVAL, "%s:%zu:%zu: alias to an alias", ld->file, n->line, n->col);
}

int compose_yaml_load_tags(const char *file, const char *text, size_t len, struct jv **ret,
                           struct jv **ret_pos, struct jv **ret_tags, struct err *err)
{
        struct loader ld = {.file = file, .text = text, .len = len};
        struct ynode *root = NULL;
        struct jv *tree = NULL;
        yaml_parser_t p;
        int r = load_libyaml(err);

        if (r < 0)
                return r;
        if (!ly.yaml_parser_initialize(&p))
                return err_set(err, -ENOMEM, "%s: initialising libyaml", file);
        ly.yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
        ld.anchors = jv_new_object();
        ld.pos = jv_new_object();
        ld.tags = ret_tags ? jv_new_object() : NULL;
        r = read_document(&ld, &p, &root, err);
        ly.yaml_parser_delete(&p);
        if (r >= 0 && root->kind != YN_MAP)
                r = err_set(err, -EINVAL, "%s: top-level object must be a mapping", file);
        if (r >= 0) {
                struct ysize size = expanded_size(root, 0);
                if (size.nodes > COMPOSE_YAML_MAX_NODES || size.bytes > COMPOSE_YAML_MAX_PATHS)
                        r = too_large(&ld, err);
        }
        if (r >= 0)
                r = build(&ld, root, "", 0, &tree, err);
        if (r >= 0) {
                set_pos(&ld, "", root);
                *ret = tree ? tree : jv_new_object(); /* NULL: the whole file is !reset */
                if (ret_pos)
                        *ret_pos = TAKE_PTR(ld.pos);
                if (ret_tags)
                        *ret_tags = TAKE_PTR(ld.tags);
                r = 0;
        }
        loader_free(&ld);
        return r;
}

int compose_yaml_load(const char *file, const char *text, size_t len, struct jv **ret,
                      struct jv **ret_pos, struct err *err)
{
        return compose_yaml_load_tags(file, text, len, ret, ret_pos, NULL, err);
}
