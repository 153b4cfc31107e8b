#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "table.h"
#include "template.h"

/* ---- syntax tree ---- */

enum arg_kind {
        ARG_DOT,
        ARG_FIELD,
        ARG_VAR,
        ARG_STRING,
        ARG_INT,
        ARG_BOOL,
        ARG_NIL,
        ARG_PIPE,
        ARG_FUNC
};

struct exec;
struct tval;

struct tfunc {
        const char *name;
        size_t min, max;
        int (*call)(struct exec *ex, const struct tfunc *fn, struct tval *args, size_t n,
                    struct tval *ret);
};

struct targ {
        enum arg_kind kind;
        char *src;
        char *str;     /* string literal, or variable name with its '$' */
        char **fields; /* field chain applied to the operand; NULL when none */
        long long num; /* int literal or bool */
        struct tpipe *pipe;
        const struct tfunc *fn;
};

struct tcmd {
        struct targ *args;
        size_t nargs;
};

struct tpipe {
        char *src;
        char *decl[2];
        size_t ndecl;
        struct tcmd *cmds;
        size_t ncmds;
};

enum node_kind { NODE_TEXT, NODE_ACTION, NODE_IF, NODE_RANGE, NODE_WITH };

struct tnode;

struct tlist {
        struct tnode **nodes;
        size_t n;
};

struct tnode {
        enum node_kind kind;
        char *text;
        struct tpipe *pipe;
        struct tlist list, else_list;
};

struct template
{
        struct tlist root;
};

static void pipe_free(struct tpipe *p);
static void list_clear(struct tlist *l);

static void arg_clear(struct targ *a)
{
        free(a->src);
        free(a->str);
        util_strv_free(a->fields);
        pipe_free(a->pipe);
}

static void cmd_clear(struct tcmd *c)
{
        for (size_t i = 0; i < c->nargs; i++)
                arg_clear(&c->args[i]);
        free(c->args);
}

static void pipe_free(struct tpipe *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->ncmds; i++)
                cmd_clear(&p->cmds[i]);
        free(p->cmds);
        free(p->decl[0]);
        free(p->decl[1]);
        free(p->src);
        free(p);
}

static void pipe_freep(struct tpipe **p)
{
        pipe_free(*p);
}

static void node_free(struct tnode *n)
{
        if (!n)
                return;
        free(n->text);
        pipe_free(n->pipe);
        list_clear(&n->list);
        list_clear(&n->else_list);
        free(n);
}

static void node_freep(struct tnode **n)
{
        node_free(*n);
}

static void list_clear(struct tlist *l)
{
        for (size_t i = 0; i < l->n; i++)
                node_free(l->nodes[i]);
        free(l->nodes);
        l->nodes = NULL;
        l->n = 0;
}

/* Takes ownership of n, also on failure. */
static int list_append(struct tlist *l, struct tnode *n)
{
        struct tnode **nodes = realloc(l->nodes, (l->n + 1) * sizeof(*nodes));

        if (!nodes) {
                node_free(n);
                return -ENOMEM;
        }
        nodes[l->n++] = n;
        l->nodes = nodes;
        return 0;
}

void template_free(struct template *t)
{
        if (!t)
                return;
        list_clear(&t->root);
        free(t);
}

void template_freep(struct template **t)
{
        template_free(*t);
}

/* ---- lexer ---- */

enum tok_kind {
        T_END,
        T_DOT,
        T_FIELD,
        T_VAR,
        T_STRING,
        T_RAW,
        T_NUMBER,
        T_IDENT,
        T_PIPE,
        T_LPAREN,
        T_RPAREN,
        T_COMMA,
        T_DECLARE,
        T_ASSIGN,
};

struct token {
        enum tok_kind kind;
        const char *s;
        size_t len;
        bool space_before;
};

enum item_kind { ITEM_EOF, ITEM_TEXT, ITEM_ACTION, ITEM_COMMENT };

enum term { TERM_NONE, TERM_EOF, TERM_END, TERM_ELSE };

struct parser {
        const char *pos;
        bool trim_next;
        struct token *toks;
        size_t ntoks, cap, ti;
        char *act_src;
        char **vars;
        struct err *err;
};

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_ident_start(char c)
{
        return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* "{{- " / " -}}": Go only treats the dash as a trim marker when a space separates it. */
static bool is_trim_marker(const char *s)
{
        return s[0] == '-' && is_space(s[1]);
}

static int parse_error(struct parser *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(p->err, -EINVAL, "template: %s", msg);
}

static int oom(struct err *err)
{
        return err_set(err, -ENOMEM, "template: out of memory");
}

static char *unescape_text(const char *s, size_t len)
{
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 1 < len && (s[i + 1] == 't' || s[i + 1] == 'n')) {
                        *o++ = s[++i] == 't' ? '\t' : '\n';
                        continue;
                }
                *o++ = s[i];
        }
        *o = '\0';
        return out;
}

static int lex_text(struct parser *p, char **ret_text)
{
        const char *open = strstr(p->pos, "{{");
        size_t len = open ? (size_t)(open - p->pos) : strlen(p->pos);
        char *text = unescape_text(p->pos, len), *start, *end;

        if (!text)
                return oom(p->err);
        start = text;
        if (p->trim_next)
                while (is_space(*start))
                        start++;
        end = start + strlen(start);
        if (open && is_trim_marker(open + 2))
                while (end > start && is_space(end[-1]))
                        end--;
        memmove(text, start, (size_t)(end - start));
        text[end - start] = '\0';
        p->pos += len;
        p->trim_next = false;
        *ret_text = text;
        return 0;
}

static int push_token(struct parser *p, enum tok_kind kind, const char *s, size_t len, bool space)
{
        if (p->ntoks == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 16;
                struct token *t = realloc(p->toks, cap * sizeof(*t));
                if (!t)
                        return oom(p->err);
                p->toks = t;
                p->cap = cap;
        }
        p->toks[p->ntoks++] = (struct token){kind, s, len, space};
        return 0;
}

static const char *scan_chain(const char *e)
{
        while (e[0] == '.' && is_ident_start(e[1])) {
                e++;
                while (is_ident_char(*e))
                        e++;
        }
        return e;
}

static const char *scan_quoted(const char *s)
{
        for (s++; *s && *s != '"' && *s != '\n'; s++)
                if (*s == '\\' && s[1])
                        s++;
        return *s == '"' ? s + 1 : NULL;
}

static const char *scan_number(const char *s)
{
        const char *e = s + 1;

        for (;; e++) {
                bool exp_sign = (*e == '+' || *e == '-') && strchr("eEpP", e[-1]);
                if (!is_ident_char(*e) && *e != '.' && !exp_sign)
                        return e;
        }
}

/* Scans one token at *s; the closing delimiter is handled by the caller. */
static int lex_token(struct parser *p, const char **s, bool space)
{
        static const char singles[] = "|(),=";
        static const enum tok_kind single_kinds[] = {T_PIPE, T_LPAREN, T_RPAREN, T_COMMA, T_ASSIGN};
        const char *b = *s, *e;
        enum tok_kind kind;

        if (*b == ':' && b[1] == '=') {
                kind = T_DECLARE;
                e = b + 2;
        } else if (*b && strchr(singles, *b)) {
                kind = single_kinds[strchr(singles, *b) - singles];
                e = b + 1;
        } else if (*b == '"') {
                kind = T_STRING;
                e = scan_quoted(b);
                if (!e)
                        return parse_error(p, "unterminated quoted string");
        } else if (*b == '`') {
                kind = T_RAW;
                e = strchr(b + 1, '`');
                if (!e)
                        return parse_error(p, "unterminated raw quoted string");
                e++;
        } else if (*b == '.' && is_ident_start(b[1])) {
                kind = T_FIELD;
                e = scan_chain(b);
        } else if (*b == '$') {
                kind = T_VAR;
                for (e = b + 1; is_ident_char(*e); e++)
                        ;
                e = scan_chain(e);
        } else if (isdigit((unsigned char)*b) ||
                   ((*b == '-' || *b == '+' || *b == '.') && isdigit((unsigned char)b[1]))) {
                kind = T_NUMBER;
                e = scan_number(b);
        } else if (*b == '.') {
                kind = T_DOT;
                e = b + 1;
        } else if (is_ident_start(*b)) {
                kind = T_IDENT;
                for (e = b + 1; is_ident_char(*e); e++)
                        ;
        } else if (*b == '\'') {
                return parse_error(p, "character constants are not supported");
        } else {
                return parse_error(p, "unexpected \"%c\" in action", *b);
        }
        *s = e;
        return push_token(p, kind, b, (size_t)(e - b), space);
}

static int set_action_src(struct parser *p, const char *start, const char *end)
{
        while (start < end && is_space(*start))
                start++;
        while (end > start && is_space(end[-1]))
                end--;
        free(p->act_src);
        p->act_src = strndup(start, (size_t)(end - start));
        return p->act_src ? 0 : oom(p->err);
}

/* A comment must run straight into the closing delimiter, as in Go. */
static int lex_comment(struct parser *p, const char *s, enum item_kind *ret_kind)
{
        const char *e = strstr(s + 2, "*/");

        if (!e)
                return parse_error(p, "unclosed comment");
        e += 2;
        if (is_space(*e) && strncmp(e + 1, "-}}", 3) == 0) {
                p->trim_next = true;
                e += 2;
        }
        if (strncmp(e, "}}", 2) != 0)
                return parse_error(p, "comment ends before closing delimiter");
        p->pos = e + 2;
        *ret_kind = ITEM_COMMENT;
        return 0;
}

static int lex_action(struct parser *p, enum item_kind *ret_kind)
{
        const char *s = p->pos + 2, *start, *end = NULL;
        bool space = false;
        int r;

        p->trim_next = false;
        p->ntoks = p->ti = 0;
        if (is_trim_marker(s))
                s++;
        while (is_space(*s))
                s++;
        if (strncmp(s, "/*", 2) == 0)
                return lex_comment(p, s, ret_kind);
        start = s;
        for (;;) {
                if (is_space(*s)) {
                        end = s;
                        while (is_space(*s))
                                s++;
                        space = true;
                        if (strncmp(s, "-}}", 3) == 0) {
                                p->trim_next = true;
                                s += 3;
                                break;
                        }
                        continue;
                }
                if (!*s)
                        return parse_error(p, "unclosed action");
                if (strncmp(s, "}}", 2) == 0) {
                        end = s;
                        s += 2;
                        break;
                }
                r = lex_token(p, &s, space);
                if (r < 0)
                        return r;
                space = false;
        }
        r = push_token(p, T_END, s, 0, space);
        if (r < 0)
                return r;
        p->pos = s;
        *ret_kind = ITEM_ACTION;
        return set_action_src(p, start, end);
}

static int next_item(struct parser *p, enum item_kind *ret_kind, char **ret_text)
{
        if (!*p->pos) {
                *ret_kind = ITEM_EOF;
                return 0;
        }
        if (strncmp(p->pos, "{{", 2) != 0) {
                *ret_kind = ITEM_TEXT;
                return lex_text(p, ret_text);
        }
        return lex_action(p, ret_kind);
}

/* ---- parser ---- */

static const struct tfunc *func_lookup(const char *name, size_t len);

static struct token *tok(struct parser *p)
{
        return &p->toks[p->ti];
}

static bool tok_is(const struct token *t, const char *word)
{
        return t->kind == T_IDENT && strlen(word) == t->len && strncmp(t->s, word, t->len) == 0;
}

static int unexpected(struct parser *p, const struct token *t, const char *where)
{
        if (t->kind == T_END)
                return parse_error(p, "unexpected end of action in %s", where);
        return parse_error(p, "unexpected \"%.*s\" in %s", (int)t->len, t->s, where);
}

static bool var_in_scope(struct parser *p, const char *name)
{
        return strcmp(name, "$") == 0 || util_strv_contains(p->vars, name);
}

static void vars_truncate(struct parser *p, size_t mark)
{
        for (size_t i = mark; p->vars && p->vars[i]; i++) {
                free(p->vars[i]);
                p->vars[i] = NULL;
        }
}

/* Splits "A.B.C" into a vector. */
static int split_fields(struct parser *p, const char *s, size_t len, char ***ret)
{
        _cleanup_strv_ char **v = NULL;

        while (len > 0) {
                size_t n = 0;
                while (n < len && s[n] != '.')
                        n++;
                _cleanup_free_ char *f = strndup(s, n);
                if (!f || util_strv_push(&v, f) < 0)
                        return oom(p->err);
                s += n;
                len -= n;
                if (len > 0) {
                        s++;
                        len--;
                }
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int hex_value(const char *s, int n, unsigned long *ret)
{
        unsigned long v = 0;

        for (int i = 0; i < n; i++) {
                if (!isxdigit((unsigned char)s[i]))
                        return -EINVAL;
                v = v * 16 + (unsigned long)(isdigit((unsigned char)s[i])
                                                     ? s[i] - '0'
                                                     : tolower((unsigned char)s[i]) - 'a' + 10);
        }
        *ret = v;
        return 0;
}

static char *put_utf8(char *o, unsigned long c)
{
        if (c < 0x80) {
                *o++ = (char)c;
        } else if (c < 0x800) {
                *o++ = (char)(0xc0 | (c >> 6));
                *o++ = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
                *o++ = (char)(0xe0 | (c >> 12));
                *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
                *o++ = (char)(0x80 | (c & 0x3f));
        } else {
                *o++ = (char)(0xf0 | (c >> 18));
                *o++ = (char)(0x80 | ((c >> 12) & 0x3f));
                *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
                *o++ = (char)(0x80 | (c & 0x3f));
        }
        return o;
}

/* One escape after the backslash at *s; returns the number of source bytes used or -EINVAL. */
static int unescape_one(const char *s, char **o)
{
        static const char from[] = "abfnrtv\\\"'", to[] = "\a\b\f\n\r\t\v\\\"'";
        const char *hit = strchr(from, s[0]);
        unsigned long c;
        int n;

        if (s[0] && hit) {
                *(*o)++ = to[hit - from];
                return 1;
        }
        if (s[0] >= '0' && s[0] <= '7') {
                if (sscanf(s, "%3lo%n", &c, &n) != 1 || n != 3 || c > 255)
                        return -EINVAL;
                *(*o)++ = (char)c;
                return 3;
        }
        n = s[0] == 'x' ? 2 : s[0] == 'u' ? 4 : s[0] == 'U' ? 8 : 0;
        if (n == 0 || hex_value(s + 1, n, &c) < 0 || c > 0x10ffff)
                return -EINVAL;
        if (n == 2)
                *(*o)++ = (char)c;
        else
                *o = put_utf8(*o, c);
        return n + 1;
}

static int unquote(struct parser *p, const struct token *t, char **ret)
{
        const char *s = t->s + 1, *end = t->s + t->len - 1;
        _cleanup_free_ char *out = malloc(t->len * 2 + 1);
        char *o = out;

        if (!out)
                return oom(p->err);
        if (t->kind == T_RAW) {
                memcpy(out, s, (size_t)(end - s));
                out[end - s] = '\0';
                *ret = TAKE_PTR(out);
                return 0;
        }
        while (s < end) {
                int n;
                if (*s != '\\') {
                        *o++ = *s++;
                        continue;
                }
                n = unescape_one(s + 1, &o);
                if (n < 0)
                        return parse_error(p, "invalid escape in string %.*s", (int)t->len, t->s);
                s += n + 1;
        }
        *o = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static int parse_number(struct parser *p, const struct token *t, struct targ *a)
{
        _cleanup_free_ char *s = strndup(t->s, t->len);
        char *end = NULL;

        if (!s)
                return oom(p->err);
        errno = 0;
        a->num = strtoll(s, &end, 0);
        if (*end == '\0' && errno == 0 && end != s) {
                a->kind = ARG_INT;
                return 0;
        }
        if (strpbrk(s, ".eEpP") && strncmp(s, "0x", 2) != 0)
                return parse_error(p, "floating-point constant %s is not supported", s);
        return parse_error(p, "bad number syntax: %s", s);
}

static int parse_pipeline(struct parser *p, const char *ctx, size_t maxdecl, bool paren,
                          struct tpipe **ret);

static int parse_ident(struct parser *p, const struct token *t, struct targ *a)
{
        if (tok_is(t, "true") || tok_is(t, "false")) {
                a->kind = ARG_BOOL;
                a->num = tok_is(t, "true");
                return 0;
        }
        if (tok_is(t, "nil")) {
                a->kind = ARG_NIL;
                return 0;
        }
        a->kind = ARG_FUNC;
        a->fn = func_lookup(t->s, t->len);
        if (!a->fn)
                return parse_error(p, "function \"%.*s\" not defined", (int)t->len, t->s);
        return 0;
}

static int parse_var(struct parser *p, const struct token *t, struct targ *a)
{
        size_t n = 1;

        while (n < t->len && t->s[n] != '.')
                n++;
        a->kind = ARG_VAR;
        a->str = strndup(t->s, n);
        if (!a->str)
                return oom(p->err);
        if (!var_in_scope(p, a->str))
                return parse_error(p, "undefined variable \"%s\"", a->str);
        if (n < t->len)
                return split_fields(p, t->s + n + 1, t->len - n - 1, &a->fields);
        return 0;
}

static int parse_paren(struct parser *p, struct targ *a)
{
        const struct token *t;
        int r;

        a->kind = ARG_PIPE;
        r = parse_pipeline(p, "parenthesized pipeline", 0, true, &a->pipe);
        if (r < 0)
                return r;
        t = tok(p);
        if (t->kind == T_FIELD && !t->space_before) {
                p->ti++;
                return split_fields(p, t->s + 1, t->len - 1, &a->fields);
        }
        return 0;
}

static int parse_operand(struct parser *p, struct targ *a)
{
        const struct token *t = tok(p);

        if (t->kind == T_END || t->kind == T_PIPE || t->kind == T_RPAREN || t->kind == T_COMMA ||
            t->kind == T_DECLARE || t->kind == T_ASSIGN)
                return unexpected(p, t, "operand");
        p->ti++;
        a->src = strndup(t->s, t->len);
        if (!a->src)
                return oom(p->err);
        switch (t->kind) {
        case T_DOT:
                a->kind = ARG_DOT;
                return 0;
        case T_FIELD:
                a->kind = ARG_FIELD;
                return split_fields(p, t->s + 1, t->len - 1, &a->fields);
        case T_VAR:
                return parse_var(p, t, a);
        case T_STRING:
        case T_RAW:
                a->kind = ARG_STRING;
                return unquote(p, t, &a->str);
        case T_NUMBER:
                return parse_number(p, t, a);
        case T_IDENT:
                return parse_ident(p, t, a);
        case T_LPAREN:
                return parse_paren(p, a);
        case T_END:
        case T_PIPE:
        case T_RPAREN:
        case T_COMMA:
        case T_DECLARE:
        case T_ASSIGN:
                break;
        }
        return unexpected(p, t, "operand");
}

static bool ends_command(const struct token *t)
{
        return t->kind == T_END || t->kind == T_PIPE || t->kind == T_RPAREN;
}

static int parse_command(struct parser *p, const char *ctx, struct tpipe *pipe)
{
        struct tcmd *cmds = realloc(pipe->cmds, (pipe->ncmds + 1) * sizeof(*cmds));
        struct tcmd *c;

        if (!cmds)
                return oom(p->err);
        pipe->cmds = cmds;
        c = &cmds[pipe->ncmds++];
        *c = (struct tcmd){0};
        while (!ends_command(tok(p))) {
                struct targ *args = realloc(c->args, (c->nargs + 1) * sizeof(*args));
                int r;
                if (!args)
                        return oom(p->err);
                c->args = args;
                args[c->nargs] = (struct targ){0};
                r = parse_operand(p, &args[c->nargs++]);
                if (r < 0)
                        return r;
        }
        if (c->nargs == 0)
                return parse_error(p, "missing value for %s", ctx);
        if (c->args[0].kind == ARG_NIL)
                return parse_error(p, "nil is not a command");
        return 0;
}

/* "$x :=" or "$k, $v :="; the variables enter the scope after the whole pipeline. */
static int parse_decl(struct parser *p, struct tpipe *pipe, size_t maxdecl)
{
        struct token *t = tok(p);
        size_t n = 0;

        if (t[0].kind == T_VAR && t[1].kind == T_DECLARE)
                n = 1;
        else if (t[0].kind == T_VAR && t[1].kind == T_COMMA && t[2].kind == T_VAR &&
                 t[3].kind == T_DECLARE)
                n = 2;
        else if (t[0].kind == T_VAR && t[1].kind == T_ASSIGN)
                return parse_error(p, "variable assignment is not supported");
        if (n > maxdecl)
                return parse_error(p, "too many declarations in {{%s}}", p->act_src);
        for (size_t i = 0; i < n; i++) {
                const struct token *v = &t[2 * i];
                if (memchr(v->s, '.', v->len))
                        return parse_error(p, "unexpected \"%.*s\" in declaration", (int)v->len,
                                           v->s);
                pipe->decl[i] = strndup(v->s, v->len);
                if (!pipe->decl[i])
                        return oom(p->err);
        }
        pipe->ndecl = n;
        p->ti += 2 * n;
        return 0;
}

static int parse_pipeline(struct parser *p, const char *ctx, size_t maxdecl, bool paren,
                          struct tpipe **ret)
{
        _cleanup_(pipe_freep) struct tpipe *pipe = calloc(1, sizeof(*pipe));
        int r;

        if (!pipe || !(pipe->src = strdup(p->act_src)))
                return oom(p->err);
        r = parse_decl(p, pipe, maxdecl);
        if (r < 0)
                return r;
        for (;;) {
                r = parse_command(p, ctx, pipe);
                if (r < 0)
                        return r;
                if (tok(p)->kind != T_PIPE)
                        break;
                p->ti++;
        }
        if (paren && tok(p)->kind != T_RPAREN)
                return parse_error(p, "unclosed left paren in {{%s}}", p->act_src);
        if (!paren && tok(p)->kind != T_END)
                return unexpected(p, tok(p), ctx);
        if (paren)
                p->ti++;
        for (size_t i = 0; i < pipe->ndecl; i++)
                if (util_strv_push(&p->vars, pipe->decl[i]) < 0)
                        return oom(p->err);
        *ret = TAKE_PTR(pipe);
        return 0;
}

static int parse_list(struct parser *p, struct tlist *list, enum term *ret_term);

static const char *node_name(enum node_kind kind)
{
        switch (kind) {
        case NODE_IF:
                return "if";
        case NODE_RANGE:
                return "range";
        case NODE_WITH:
                return "with";
        case NODE_TEXT:
        case NODE_ACTION:
                break;
        }
        return "command";
}

static int parse_control(struct parser *p, enum node_kind kind, struct tnode **ret);

/* After {{else}}: either a chained "else if"/"else with" or a plain else list. */
static int parse_else(struct parser *p, struct tnode *n)
{
        enum term term = TERM_NONE;
        struct tnode *sub = NULL;
        int r;

        if (tok_is(tok(p), node_name(n->kind)) && n->kind != NODE_RANGE) {
                p->ti++;
                r = parse_control(p, n->kind, &sub);
                return r < 0 ? r : list_append(&n->else_list, sub) < 0 ? oom(p->err) : 0;
        }
        if (tok(p)->kind != T_END)
                return unexpected(p, tok(p), "else");
        r = parse_list(p, &n->else_list, &term);
        if (r < 0)
                return r;
        if (term == TERM_ELSE)
                return parse_error(p, "expected end; found {{else}}");
        if (term != TERM_END)
                return parse_error(p, "unexpected EOF: missing {{end}} for {{%s}}",
                                   node_name(n->kind));
        return 0;
}

static int parse_control(struct parser *p, enum node_kind kind, struct tnode **ret)
{
        _cleanup_(node_freep) struct tnode *n = calloc(1, sizeof(*n));
        size_t mark = util_strv_len(p->vars);
        enum term term = TERM_NONE;
        int r;

        if (!n)
                return oom(p->err);
        n->kind = kind;
        r = parse_pipeline(p, node_name(kind), kind == NODE_RANGE ? 2 : 1, false, &n->pipe);
        if (r < 0)
                return r;
        r = parse_list(p, &n->list, &term);
        if (r < 0)
                return r;
        if (term == TERM_ELSE)
                r = parse_else(p, n);
        else if (term != TERM_END)
                r = parse_error(p, "unexpected EOF: missing {{end}} for {{%s}}", node_name(kind));
        if (r < 0)
                return r;
        vars_truncate(p, mark);
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_action(struct parser *p, struct tnode **ret, enum term *ret_term)
{
        static const char *const unsupported[] = {"define", "template", "block", "break",
                                                  "continue"};
        static const enum node_kind controls[] = {NODE_IF, NODE_RANGE, NODE_WITH};
        _cleanup_(node_freep) struct tnode *n = NULL;
        const struct token *t = tok(p);
        int r;

        if (tok_is(t, "end")) {
                if (t[1].kind != T_END)
                        return unexpected(p, &t[1], "end");
                *ret_term = TERM_END;
                return 0;
        }
        if (tok_is(t, "else")) {
                p->ti++;
                *ret_term = TERM_ELSE;
                return 0;
        }
        for (size_t i = 0; i < ARRAY_SIZE(controls); i++)
                if (tok_is(t, node_name(controls[i]))) {
                        p->ti++;
                        return parse_control(p, controls[i], ret);
                }
        for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
                if (tok_is(t, unsupported[i]))
                        return parse_error(p, "{{%s}} is not supported", unsupported[i]);
        n = calloc(1, sizeof(*n));
        if (!n)
                return oom(p->err);
        n->kind = NODE_ACTION;
        r = parse_pipeline(p, "command", 1, false, &n->pipe);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(n);
        return 0;
}

static int parse_list(struct parser *p, struct tlist *list, enum term *ret_term)
{
        for (;;) {
                _cleanup_free_ char *text = NULL;
                enum item_kind kind = ITEM_EOF;
                enum term term = TERM_NONE;
                struct tnode *n = NULL;
                int r;

                r = next_item(p, &kind, &text);
                if (r < 0)
                        return r;
                if (kind == ITEM_EOF) {
                        *ret_term = TERM_EOF;
                        return 0;
                }
                if (kind == ITEM_COMMENT || (kind == ITEM_TEXT && !*text))
                        continue;
                if (kind == ITEM_TEXT) {
                        n = calloc(1, sizeof(*n));
                        if (!n)
                                return oom(p->err);
                        n->kind = NODE_TEXT;
                        n->text = TAKE_PTR(text);
                } else {
                        r = parse_action(p, &n, &term);
                        if (r < 0)
                                return r;
                }
                if (term != TERM_NONE) {
                        *ret_term = term;
                        return 0;
                }
                if (list_append(list, n) < 0)
                        return oom(p->err);
        }
}

int template_parse(const char *src, struct template **ret, struct err *err)
{
        _cleanup_(template_freep) struct template *t = calloc(1, sizeof(*t));
        struct parser p = {.pos = src, .err = err};
        enum term term = TERM_NONE;
        int r;

        if (!t)
                return oom(err);
        r = parse_list(&p, &t->root, &term);
        if (r >= 0 && term == TERM_END)
                r = parse_error(&p, "unexpected {{end}}");
        if (r >= 0 && term == TERM_ELSE)
                r = parse_error(&p, "unexpected {{else}}");
        free(p.toks);
        free(p.act_src);
        util_strv_free(p.vars);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

bool template_is_table(const char *src, const char **ret_rest)
{
        if (strncmp(src, "table", 5) != 0 || (src[5] && !is_space(src[5])))
                return false;
        src += 5;
        while (is_space(*src))
                src++;
        if (ret_rest)
                *ret_rest = src;
        return true;
}

/* ---- values ---- */

/* A JSON value during execution. missing is Go's invalid reflect.Value (a map key that
 * does not exist), which prints "<no value>"; v == NULL with !missing is JSON null. */
struct tval {
        struct jv *v; /* owned reference */
        bool missing;
};

static struct tval tv_of(const struct jv *v)
{
        return (struct tval){jv_ref((struct jv *)v), false};
}

static struct tval tv_dup(const struct tval *t)
{
        return (struct tval){jv_ref(t->v), t->missing};
}

static void tv_put(struct tval *t)
{
        jv_put(t->v);
        *t = (struct tval){0};
}

static enum jv_type tv_type(const struct tval *t)
{
        return t->missing || !t->v ? JV_NULL : jv_type(t->v);
}

/* Go's type names, for messages. */
static const char *tv_type_name(const struct tval *t)
{
        if (t->missing)
                return "<nil>";
        switch (tv_type(t)) {
        case JV_BOOL:
                return "bool";
        case JV_INT:
                return "int";
        case JV_DOUBLE:
                return "float64";
        case JV_STRING:
                return "string";
        case JV_ARRAY:
                return "[]interface {}";
        case JV_OBJECT:
                return "map[string]interface {}";
        case JV_NULL:
                break;
        }
        return "interface {}";
}

/* json.h has no double getter; json-c prints doubles with round-trip precision. */
static double jv_double_value(const struct jv *v)
{
        return jv_type(v) == JV_INT ? (double)jv_int(v) : strtod(jv_to_string(v, false), NULL);
}

static int cmp_key(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* jv_get cannot tell a null member from a missing one. */
static bool has_key(const struct jv *obj, const char *key)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        return keys && bsearch(&key, keys, util_strv_len(keys), sizeof(*keys), cmp_key);
}

static size_t obj_len(const struct jv *obj)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        return util_strv_len(keys);
}

/* Go's strconv 'g' with shortest precision, as fmt's %v prints a float64. */
static void format_double(double d, char *out, size_t len)
{
        char buf[64];
        int prec, exp;

        if (isnan(d) || isinf(d)) {
                snprintf(out, len, "%s", isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
                return;
        }
        for (prec = 1; prec < 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        exp = atoi(strchr(buf, 'e') + 1);
        /* Go decides between %e and %f as if the precision were 6 for shortest output. */
        if (exp < -4 || exp >= 6)
                snprintf(out, len, "%s", buf);
        else
                snprintf(out, len, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
}

static void print_jv(FILE *f, const struct jv *v);

static void print_container(FILE *f, const struct jv *v)
{
        if (jv_type(v) == JV_ARRAY) {
                fputc('[', f);
                for (size_t i = 0; i < jv_len(v); i++) {
                        if (i > 0)
                                fputc(' ', f);
                        print_jv(f, jv_at(v, i));
                }
                fputc(']', f);
                return;
        }
        _cleanup_strv_ char **keys = jv_keys(v);
        fputs("map[", f);
        for (size_t i = 0; keys && keys[i]; i++) {
                fprintf(f, "%s%s:", i > 0 ? " " : "", keys[i]);
                print_jv(f, jv_get(v, keys[i]));
        }
        fputc(']', f);
}

/* Prints like Go's fmt %v. */
static void print_jv(FILE *f, const struct jv *v)
{
        char buf[64];

        switch (v ? jv_type(v) : JV_NULL) {
        case JV_NULL:
                fputs("<nil>", f);
                break;
        case JV_BOOL:
                fputs(jv_bool(v) ? "true" : "false", f);
                break;
        case JV_INT:
                fprintf(f, "%lld", jv_int(v));
                break;
        case JV_DOUBLE:
                format_double(jv_double_value(v), buf, sizeof(buf));
                fputs(buf, f);
                break;
        case JV_STRING:
                fputs(jv_str(v), f);
                break;
        case JV_ARRAY:
        case JV_OBJECT:
                print_container(f, v);
                break;
        }
}

/* Go's truth: false, 0, "", nil and empty containers are false. */
static bool tv_truth(const struct tval *t)
{
        switch (tv_type(t)) {
        case JV_BOOL:
                return jv_bool(t->v);
        case JV_INT:
                return jv_int(t->v) != 0;
        case JV_DOUBLE:
                return jv_double_value(t->v) != 0;
        case JV_STRING:
                return jv_str(t->v)[0] != '\0';
        case JV_ARRAY:
                return jv_len(t->v) > 0;
        case JV_OBJECT:
                return obj_len(t->v) > 0;
        case JV_NULL:
                break;
        }
        return false;
}

/* ---- execution ---- */

struct var {
        const char *name;
        struct tval val;
};

struct exec {
        FILE *out;
        struct err *err;
        struct var *vars;
        size_t nvars, cap;
        const char *at;
        const struct template_struct *structs; /* the Go structs in the data (template.h) */
        size_t nstructs;
};

static const struct template_struct *struct_of(const struct exec *ex, const struct jv *v)
{
        for (size_t i = 0; v && i < ex->nstructs; i++)
                if (ex->structs[i].fields == v)
                        return &ex->structs[i];
        return NULL;
}

/* An open_memstream buffer; done() closes and frees whatever is left. */
struct membuf {
        FILE *f;
        char *buf;
        size_t len;
};

static void membuf_done(struct membuf *m)
{
        if (m->f)
                fclose(m->f);
        free(m->buf);
}

static int membuf_open(struct membuf *m)
{
        m->f = open_memstream(&m->buf, &m->len);
        return m->f ? 0 : -ENOMEM;
}

static int membuf_take(struct membuf *m, char **ret)
{
        bool bad = ferror(m->f);
        int r = fclose(m->f);

        m->f = NULL;
        if (r != 0 || bad)
                return -ENOMEM;
        *ret = TAKE_PTR(m->buf);
        return 0;
}

static int exec_error(struct exec *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int exec_error(struct exec *ex, const char *fmt, ...)
{
        char msg[ERR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return err_set(ex->err, -EINVAL, "template: executing at <%s>: %s", ex->at ? ex->at : "",
                       msg);
}

static int ret_string(struct exec *ex, const char *s, struct tval *ret)
{
        struct jv *v = jv_new_string(s);

        if (!v)
                return oom(ex->err);
        *ret = (struct tval){v, false};
        return 0;
}

static int ret_int(struct exec *ex, long long n, struct tval *ret)
{
        struct jv *v = jv_new_int(n);

        if (!v)
                return oom(ex->err);
        *ret = (struct tval){v, false};
        return 0;
}

static int ret_bool(struct exec *ex, bool b, struct tval *ret)
{
        struct jv *v = jv_new_bool(b);

        if (!v)
                return oom(ex->err);
        *ret = (struct tval){v, false};
        return 0;
}

/* Renders a value with %v into a malloc'd string ("<nil>" for missing, as Go's
 * functions see a missing value as a nil interface). */
static int tv_to_string(struct exec *ex, const struct tval *t, char **ret)
{
        _cleanup_(membuf_done) struct membuf m = {0};

        if (membuf_open(&m) < 0)
                return oom(ex->err);
        print_jv(m.f, t->missing ? NULL : t->v);
        return membuf_take(&m, ret) < 0 ? oom(ex->err) : 0;
}

static int var_push(struct exec *ex, const char *name, const struct tval *val)
{
        if (ex->nvars == ex->cap) {
                size_t cap = ex->cap ? ex->cap * 2 : 8;
                struct var *v = realloc(ex->vars, cap * sizeof(*v));
                if (!v)
                        return oom(ex->err);
                ex->vars = v;
                ex->cap = cap;
        }
        ex->vars[ex->nvars++] = (struct var){name, tv_dup(val)};
        return 0;
}

static void vars_pop(struct exec *ex, size_t mark)
{
        while (ex->nvars > mark)
                tv_put(&ex->vars[--ex->nvars].val);
}

static const struct tval *var_lookup(struct exec *ex, const char *name)
{
        for (size_t i = ex->nvars; i > 0; i--)
                if (strcmp(ex->vars[i - 1].name, name) == 0)
                        return &ex->vars[i - 1].val;
        return NULL;
}

static int field_step(struct exec *ex, struct tval *cur, const char *name)
{
        struct jv *next;

        if (cur->missing)
                return 0;
        if (!cur->v || jv_type(cur->v) == JV_NULL)
                return exec_error(ex, "nil pointer evaluating interface {}.%s", name);
        if (jv_type(cur->v) != JV_OBJECT)
                return exec_error(ex, "can't evaluate field %s in type %s", name,
                                  tv_type_name(cur));
        next = jv_get(cur->v, name);
        if (!next && !has_key(cur->v, name)) {
                /* A struct has no such field: Go's error, where a map's missing key is a value. */
                if (struct_of(ex, cur->v))
                        return exec_error(ex, "can't evaluate field %s in type %s", name,
                                          struct_of(ex, cur->v)->type);
                tv_put(cur);
                cur->missing = true;
                return 0;
        }
        jv_ref(next);
        tv_put(cur);
        cur->v = next;
        return 0;
}

static int walk_fields(struct exec *ex, const struct tval *start, char **fields, struct tval *ret)
{
        struct tval cur = tv_dup(start);

        for (; fields && *fields; fields++) {
                int r = field_step(ex, &cur, *fields);
                if (r < 0) {
                        tv_put(&cur);
                        return r;
                }
        }
        *ret = cur;
        return 0;
}

static int eval_pipe(struct exec *ex, const struct tval *dot, const struct tpipe *pipe,
                     struct tval *ret);
static int call_func(struct exec *ex, const struct tval *dot, const struct tfunc *fn,
                     const struct targ *args, size_t nargs, const struct tval *final,
                     struct tval *ret);

static int eval_arg(struct exec *ex, const struct tval *dot, const struct targ *a, struct tval *ret)
{
        struct tval tmp = {0};
        int r;

        switch (a->kind) {
        case ARG_DOT:
        case ARG_FIELD:
                return walk_fields(ex, dot, a->fields, ret);
        case ARG_VAR:
                if (!var_lookup(ex, a->str))
                        return exec_error(ex, "undefined variable \"%s\"", a->str);
                return walk_fields(ex, var_lookup(ex, a->str), a->fields, ret);
        case ARG_STRING:
                return ret_string(ex, a->str, ret);
        case ARG_INT:
                return ret_int(ex, a->num, ret);
        case ARG_BOOL:
                return ret_bool(ex, a->num != 0, ret);
        case ARG_NIL:
                *ret = (struct tval){0};
                return 0;
        case ARG_PIPE:
                r = eval_pipe(ex, dot, a->pipe, &tmp);
                if (r < 0)
                        return r;
                r = walk_fields(ex, &tmp, a->fields, ret);
                tv_put(&tmp);
                return r;
        case ARG_FUNC:
                break;
        }
        return call_func(ex, dot, a->fn, NULL, 0, NULL, ret);
}

static int check_arity(struct exec *ex, const struct tfunc *fn, size_t n)
{
        if (n >= fn->min && n <= fn->max)
                return 0;
        if (fn->max == SIZE_MAX)
                return exec_error(ex, "wrong number of args for %s: want at least %zu got %zu",
                                  fn->name, fn->min, n);
        return exec_error(ex, "wrong number of args for %s: want %zu got %zu", fn->name, fn->max,
                          n);
}

static int call_func(struct exec *ex, const struct tval *dot, const struct tfunc *fn,
                     const struct targ *args, size_t nargs, const struct tval *final,
                     struct tval *ret)
{
        size_t n = nargs + (final ? 1 : 0), done = 0;
        _cleanup_free_ struct tval *vals = calloc(n + 1, sizeof(*vals));
        int r = check_arity(ex, fn, n);

        if (r < 0)
                return r;
        if (!vals)
                return oom(ex->err);
        for (; done < nargs; done++) {
                r = eval_arg(ex, dot, &args[done], &vals[done]);
                if (r < 0)
                        break;
        }
        if (r >= 0 && final)
                vals[done++] = tv_dup(final);
        if (r >= 0)
                r = fn->call(ex, fn, vals, n, ret);
        for (size_t i = 0; i < done; i++)
                tv_put(&vals[i]);
        return r;
}

static int eval_cmd(struct exec *ex, const struct tval *dot, const struct tcmd *cmd,
                    const struct tval *final, struct tval *ret)
{
        const struct targ *first = &cmd->args[0];

        if (first->kind == ARG_FUNC)
                return call_func(ex, dot, first->fn, cmd->args + 1, cmd->nargs - 1, final, ret);
        if (cmd->nargs > 1 || final)
                return exec_error(ex, "can't give argument to non-function %s", first->src);
        return eval_arg(ex, dot, first, ret);
}

static int eval_pipe(struct exec *ex, const struct tval *dot, const struct tpipe *pipe,
                     struct tval *ret)
{
        struct tval cur = {0};

        /* Every pipeline of an action carries the action's text, so no restore is needed. */
        ex->at = pipe->src;
        for (size_t i = 0; i < pipe->ncmds; i++) {
                struct tval next = {0};
                int r = eval_cmd(ex, dot, &pipe->cmds[i], i > 0 ? &cur : NULL, &next);
                tv_put(&cur);
                if (r < 0)
                        return r;
                cur = next;
        }
        *ret = cur;
        return 0;
}

static int exec_list(struct exec *ex, const struct tval *dot, const struct tlist *list);

/* Evaluates the pipeline and binds a declared variable in the current scope. */
static int eval_decl_pipe(struct exec *ex, const struct tval *dot, const struct tpipe *pipe,
                          struct tval *ret)
{
        int r = eval_pipe(ex, dot, pipe, ret);

        if (r >= 0 && pipe->ndecl == 1) {
                r = var_push(ex, pipe->decl[0], ret);
                if (r < 0)
                        tv_put(ret);
        }
        return r;
}

/* fmt's %v: a struct is {v1 v2 ...}, its fields in order. */
static void print_value(struct exec *ex, const struct jv *v)
{
        const struct template_struct *s = struct_of(ex, v);

        if (!s) {
                print_jv(ex->out, v);
                return;
        }
        fputc('{', ex->out);
        for (const char *const *f = s->names; f && *f; f++) {
                if (f != s->names)
                        fputc(' ', ex->out);
                print_value(ex, jv_get(v, *f));
        }
        fputc('}', ex->out);
}

static int exec_action(struct exec *ex, const struct tval *dot, const struct tnode *n)
{
        struct tval val = {0};
        int r = eval_decl_pipe(ex, dot, n->pipe, &val);

        if (r < 0)
                return r;
        if (n->pipe->ndecl == 0) {
                if (val.missing)
                        fputs("<no value>", ex->out);
                else
                        print_value(ex, val.v);
        }
        tv_put(&val);
        return 0;
}

static int exec_if_with(struct exec *ex, const struct tval *dot, const struct tnode *n)
{
        size_t mark = ex->nvars;
        struct tval val = {0};
        int r = eval_decl_pipe(ex, dot, n->pipe, &val);

        if (r < 0)
                return r;
        if (tv_truth(&val))
                r = exec_list(ex, n->kind == NODE_WITH ? &val : dot, &n->list);
        else
                r = exec_list(ex, dot, &n->else_list);
        tv_put(&val);
        vars_pop(ex, mark);
        return r;
}

static int range_iter(struct exec *ex, const struct tnode *n, const struct tval *key,
                      const struct tval *elem)
{
        size_t mark = ex->nvars;
        int r = 0;

        if (n->pipe->ndecl == 1)
                r = var_push(ex, n->pipe->decl[0], elem);
        if (n->pipe->ndecl == 2) {
                r = var_push(ex, n->pipe->decl[0], key);
                if (r >= 0)
                        r = var_push(ex, n->pipe->decl[1], elem);
        }
        if (r >= 0)
                r = exec_list(ex, elem, &n->list);
        vars_pop(ex, mark);
        return r;
}

static int range_error(struct exec *ex, const struct tval *val)
{
        _cleanup_free_ char *s = NULL;
        int r = tv_to_string(ex, val, &s);

        return r < 0 ? r : exec_error(ex, "range can't iterate over %s", s);
}

/* Key and element of iteration i: index or key, and the element (for an int, i itself). */
static int range_item(struct exec *ex, const struct tval *val, char **keys, long long i,
                      struct tval *key, struct tval *elem)
{
        int r = keys ? ret_string(ex, keys[i], key) : ret_int(ex, i, key);

        if (r < 0)
                return r;
        if (keys)
                *elem = tv_of(jv_get(val->v, keys[i]));
        else if (tv_type(val) == JV_INT)
                *elem = tv_dup(key);
        else
                *elem = tv_of(jv_at(val->v, (size_t)i));
        return 0;
}

/* Iterates arrays, objects (values in key order) and Go 1.22's integer ranges. */
static int range_over(struct exec *ex, const struct tnode *n, const struct tval *val,
                      size_t *ret_count)
{
        _cleanup_strv_ char **keys = NULL;
        long long count = 0;
        int r = 0;

        switch (tv_type(val)) {
        case JV_NULL:
                break;
        case JV_ARRAY:
                count = (long long)jv_len(val->v);
                break;
        case JV_OBJECT:
                keys = jv_keys(val->v);
                if (!keys)
                        return oom(ex->err);
                count = (long long)util_strv_len(keys);
                break;
        case JV_INT:
                count = jv_int(val->v) > 0 ? jv_int(val->v) : 0;
                break;
        case JV_BOOL:
        case JV_DOUBLE:
        case JV_STRING:
                return range_error(ex, val);
        }
        for (long long i = 0; i < count && r >= 0; i++) {
                struct tval key = {0}, elem = {0};
                r = range_item(ex, val, keys, i, &key, &elem);
                if (r >= 0)
                        r = range_iter(ex, n, &key, &elem);
                tv_put(&key);
                tv_put(&elem);
        }
        *ret_count = (size_t)count;
        return r;
}

static int exec_range(struct exec *ex, const struct tval *dot, const struct tnode *n)
{
        struct tval val = {0};
        size_t count = 0;
        int r = eval_pipe(ex, dot, n->pipe, &val);

        if (r < 0)
                return r;
        r = range_over(ex, n, &val, &count);
        if (r >= 0 && count == 0)
                r = exec_list(ex, dot, &n->else_list);
        tv_put(&val);
        return r;
}

static int exec_list(struct exec *ex, const struct tval *dot, const struct tlist *list)
{
        for (size_t i = 0; i < list->n; i++) {
                const struct tnode *n = list->nodes[i];
                int r = 0;
                switch (n->kind) {
                case NODE_TEXT:
                        fputs(n->text, ex->out);
                        break;
                case NODE_ACTION:
                        r = exec_action(ex, dot, n);
                        break;
                case NODE_IF:
                case NODE_WITH:
                        r = exec_if_with(ex, dot, n);
                        break;
                case NODE_RANGE:
                        r = exec_range(ex, dot, n);
                        break;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int render(const struct template *t, const struct jv *ctx,
                  const struct template_struct *structs, size_t nstructs, char **ret_out,
                  struct err *err)
{
        _cleanup_(membuf_done) struct membuf m = {0};
        struct exec ex = {.err = err, .structs = structs, .nstructs = nstructs};
        /* Go's Execute(w, nil) makes dot an invalid value, not a nil interface. */
        struct tval dot = ctx ? tv_of(ctx) : (struct tval){NULL, true};
        int r;

        if (membuf_open(&m) < 0) {
                tv_put(&dot);
                return oom(err);
        }
        ex.out = m.f;
        r = var_push(&ex, "$", &dot);
        if (r >= 0)
                r = exec_list(&ex, &dot, &t->root);
        vars_pop(&ex, 0);
        free(ex.vars);
        tv_put(&dot);
        if (r < 0)
                return r;
        if (membuf_take(&m, ret_out) < 0)
                return oom(err);
        return 0;
}

int template_render(const struct template *t, const struct jv *ctx, char **ret_out, struct err *err)
{
        return render(t, ctx, NULL, 0, ret_out, err);
}

int template_render_structs(const struct template *t, const struct template_struct *structs,
                            size_t n, char **ret_out, struct err *err)
{
        return render(t, n ? structs[0].fields : NULL, structs, n, ret_out, err);
}

/* ---- functions ---- */

static int want_string(struct exec *ex, const struct tfunc *fn, const struct tval *t,
                       const char **ret)
{
        if (tv_type(t) == JV_STRING) {
                *ret = jv_str(t->v);
                return 0;
        }
        if (t->missing)
                return exec_error(ex, "error calling %s: invalid value; expected string", fn->name);
        return exec_error(ex, "wrong type for value; expected string; got %s", tv_type_name(t));
}

static int want_int(struct exec *ex, const struct tval *t, long long *ret)
{
        if (tv_type(t) == JV_INT) {
                *ret = jv_int(t->v);
                return 0;
        }
        return exec_error(ex, "wrong type for value; expected int; got %s", tv_type_name(t));
}

static int fn_json(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                   struct tval *ret)
{
        const struct template_struct *st = struct_of(ex, a[0].v);

        (void)fn;
        (void)n;
        if (a[0].missing || !a[0].v)
                return ret_string(ex, "null", ret);
        {
                /* Go's json.Marshal escapes <, > and & (HTML safety) as \u003c, \u003e, \u0026. */
                const char *s = jv_to_string(st && st->json ? st->json : a[0].v, false);
                _cleanup_free_ char *out = malloc(strlen(s) * 6 + 1);
                char *o = out;
                int r;
                if (!out)
                        return oom(ex->err);
                for (; *s; s++) {
                        if (*s == '<' || *s == '>' || *s == '&')
                                o += sprintf(o, "\\u%04x", (unsigned char)*s);
                        else
                                *o++ = *s;
                }
                *o = '\0';
                r = ret_string(ex, out, ret);
                return r;
        }
}

static int map_string(struct exec *ex, const struct tfunc *fn, const struct tval *a,
                      int (*map)(int c, int prev), struct tval *ret)
{
        _cleanup_free_ char *out = NULL;
        const char *s;
        int r = want_string(ex, fn, a, &s), prev = ' ';

        if (r < 0)
                return r;
        out = strdup(s);
        if (!out)
                return oom(ex->err);
        for (char *o = out; *o; o++) {
                int c = (unsigned char)*o;
                *o = (char)map(c, prev);
                prev = c;
        }
        return ret_string(ex, out, ret);
}

static int map_upper(int c, int prev)
{
        (void)prev;
        return toupper(c);
}

static int map_lower(int c, int prev)
{
        (void)prev;
        return tolower(c);
}

/* strings.Title: a letter after anything but a letter, digit or '_' starts a word. */
static int map_title(int c, int prev)
{
        return prev < 0x80 && !isalnum(prev) && prev != '_' ? toupper(c) : c;
}

static int fn_upper(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        (void)n;
        return map_string(ex, fn, a, map_upper, ret);
}

static int fn_lower(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        (void)n;
        return map_string(ex, fn, a, map_lower, ret);
}

static int fn_title(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        (void)n;
        return map_string(ex, fn, a, map_title, ret);
}

static int fn_join(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                   struct tval *ret)
{
        _cleanup_(membuf_done) struct membuf m = {0};
        _cleanup_free_ char *out = NULL;
        const char *sep;
        int r = want_string(ex, fn, &a[1], &sep);

        (void)n;
        if (r < 0)
                return r;
        if (tv_type(&a[0]) != JV_ARRAY)
                return exec_error(ex, "wrong type for value; expected []string; got %s",
                                  tv_type_name(&a[0]));
        if (membuf_open(&m) < 0)
                return oom(ex->err);
        for (size_t i = 0; i < jv_len(a[0].v); i++) {
                if (i > 0)
                        fputs(sep, m.f);
                print_jv(m.f, jv_at(a[0].v, i));
        }
        if (membuf_take(&m, &out) < 0)
                return oom(ex->err);
        return ret_string(ex, out, ret);
}

static size_t utf8_seq_len(const char *s)
{
        unsigned char c = (unsigned char)*s;
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

        for (size_t i = 1; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        return 1;
        return n;
}

static int append_part(struct jv *arr, const char *s, size_t len)
{
        _cleanup_free_ char *part = strndup(s, len);
        struct jv *v = part ? jv_new_string(part) : NULL;

        if (!v)
                return -ENOMEM;
        jv_append(arr, v);
        return 0;
}

/* strings.Split: an empty separator splits after each UTF-8 sequence. */
static int fn_split(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        _cleanup_jv_ struct jv *arr = jv_new_array();
        const char *s, *sep, *hit;
        int r = want_string(ex, fn, &a[0], &s);

        (void)n;
        if (r >= 0)
                r = want_string(ex, fn, &a[1], &sep);
        if (r < 0)
                return r;
        if (!arr)
                return oom(ex->err);
        if (!*sep) {
                for (size_t len; *s && r >= 0; s += len) {
                        len = utf8_seq_len(s);
                        r = append_part(arr, s, len);
                }
        } else {
                for (;; s = hit + strlen(sep)) {
                        hit = strstr(s, sep);
                        r = append_part(arr, s, hit ? (size_t)(hit - s) : strlen(s));
                        if (r < 0 || !hit)
                                break;
                }
        }
        if (r < 0)
                return oom(ex->err);
        *ret = (struct tval){TAKE_PTR(arr), false};
        return 0;
}

static int index_step(struct exec *ex, struct tval *cur, const struct tval *key)
{
        long long i;
        const char *k;
        struct jv *next;

        switch (tv_type(cur)) {
        case JV_OBJECT:
                if (tv_type(key) != JV_STRING)
                        return exec_error(ex,
                                          "error calling index: value has type %s; should "
                                          "be string",
                                          tv_type_name(key));
                k = jv_str(key->v);
                next = jv_get(cur->v, k);
                if (!next && !has_key(cur->v, k)) {
                        tv_put(cur);
                        cur->missing = true;
                        return 0;
                }
                break;
        case JV_ARRAY:
                if (tv_type(key) != JV_INT)
                        return exec_error(ex,
                                          "error calling index: cannot index slice/array "
                                          "with type %s",
                                          tv_type_name(key));
                i = jv_int(key->v);
                if (i < 0 || (size_t)i >= jv_len(cur->v))
                        return exec_error(ex, "error calling index: index out of range: %lld", i);
                next = jv_at(cur->v, (size_t)i);
                break;
        case JV_NULL:
                return exec_error(ex, "error calling index: index of untyped nil");
        case JV_BOOL:
        case JV_INT:
        case JV_DOUBLE:
        case JV_STRING:
        default:
                return exec_error(ex, "error calling index: can't index item of type %s",
                                  tv_type_name(cur));
        }
        jv_ref(next);
        tv_put(cur);
        cur->v = next;
        return 0;
}

static int fn_index(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        struct tval cur = tv_dup(&a[0]);

        (void)fn;
        for (size_t i = 1; i < n; i++) {
                int r = index_step(ex, &cur, &a[i]);
                if (r < 0) {
                        tv_put(&cur);
                        return r;
                }
        }
        *ret = cur;
        return 0;
}

static int fn_len(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                  struct tval *ret)
{
        (void)fn;
        (void)n;
        switch (tv_type(&a[0])) {
        case JV_STRING:
                return ret_int(ex, (long long)strlen(jv_str(a[0].v)), ret);
        case JV_ARRAY:
                return ret_int(ex, (long long)jv_len(a[0].v), ret);
        case JV_OBJECT:
                return ret_int(ex, (long long)obj_len(a[0].v), ret);
        case JV_NULL:
                return exec_error(ex, "error calling len: len of nil pointer");
        case JV_BOOL:
        case JV_INT:
        case JV_DOUBLE:
                break;
        }
        return exec_error(ex, "error calling len: len of type %s", tv_type_name(&a[0]));
}

/* fmt.Sprint puts spaces between operands when neither is a string; Sprintln always. */
static int print_args(struct exec *ex, struct tval *a, size_t n, bool ln, struct tval *ret)
{
        _cleanup_(membuf_done) struct membuf m = {0};
        _cleanup_free_ char *out = NULL;

        if (membuf_open(&m) < 0)
                return oom(ex->err);
        for (size_t i = 0; i < n; i++) {
                bool str = tv_type(&a[i]) == JV_STRING;
                if (i > 0 && (ln || (!str && tv_type(&a[i - 1]) != JV_STRING)))
                        fputc(' ', m.f);
                print_jv(m.f, a[i].missing ? NULL : a[i].v);
        }
        if (ln)
                fputc('\n', m.f);
        if (membuf_take(&m, &out) < 0)
                return oom(ex->err);
        return ret_string(ex, out, ret);
}

static int fn_print(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        (void)fn;
        return print_args(ex, a, n, false, ret);
}

static int fn_println(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                      struct tval *ret)
{
        (void)fn;
        return print_args(ex, a, n, true, ret);
}

/* One printf verb. spec holds the flags, width and precision ("%-10.3"). */
static int printf_verb(struct exec *ex, FILE *f, char *spec, char verb, const struct tval *a)
{
        _cleanup_free_ char *s = NULL;
        size_t len = strlen(spec);
        enum jv_type type = tv_type(a);
        bool ok = verb == 'v' || ((verb == 's' || verb == 'q') && type == JV_STRING) ||
                  (verb == 't' && type == JV_BOOL);
        int r;

        if (verb == 'd' && type == JV_INT) {
                strcpy(spec + len, "lld");
                fprintf(f, spec, jv_int(a->v));
                return 0;
        }
        if ((verb == 'f' || verb == 'e') && (type == JV_INT || type == JV_DOUBLE)) {
                spec[len] = verb;
                spec[len + 1] = '\0';
                fprintf(f, spec, jv_double_value(a->v));
                return 0;
        }
        if (verb == 'q' && ok) {
                s = strdup(jv_to_string(a->v, false));
                if (!s)
                        return oom(ex->err);
        } else {
                r = tv_to_string(ex, a, &s);
                if (r < 0)
                        return r;
        }
        if (!ok) {
                fprintf(f, "%%!%c(%s=%s)", verb, tv_type_name(a), s);
                return 0;
        }
        strcpy(spec + len, "s");
        fprintf(f, spec, s);
        return 0;
}

/* fmt's "%!(EXTRA type=value, ...)" for arguments no verb used. */
static int printf_extra(struct exec *ex, FILE *f, const struct tval *a, size_t n)
{
        fputs("%!(EXTRA ", f);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *s = NULL;
                int r = tv_to_string(ex, &a[i], &s);
                if (r < 0)
                        return r;
                fprintf(f, "%s%s=%s", i > 0 ? ", " : "", tv_type_name(&a[i]), s);
        }
        fputc(')', f);
        return 0;
}

/* Reads "%[flags][width][.prec]" into spec (at most 32 bytes); returns the verb position. */
static const char *printf_spec(const char *p, char spec[48])
{
        size_t n = 0;

        spec[n++] = '%';
        p++;
        while (*p && strchr("-+# 0", *p) && n < 8)
                spec[n++] = *p++;
        while (isdigit((unsigned char)*p) && n < 16)
                spec[n++] = *p++;
        if (*p == '.')
                spec[n++] = *p++;
        while (isdigit((unsigned char)*p) && n < 24)
                spec[n++] = *p++;
        spec[n] = '\0';
        return p;
}

static int fn_printf(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                     struct tval *ret)
{
        _cleanup_(membuf_done) struct membuf m = {0};
        _cleanup_free_ char *out = NULL;
        const char *fmt;
        size_t next = 1;
        int r = want_string(ex, fn, &a[0], &fmt);

        if (r < 0)
                return r;
        if (membuf_open(&m) < 0)
                return oom(ex->err);
        for (const char *p = fmt; *p; p++) {
                char spec[48];
                if (*p != '%') {
                        fputc(*p, m.f);
                        continue;
                }
                p = printf_spec(p, spec);
                if (!*p) {
                        fputs("%!(NOVERB)", m.f);
                        break;
                }
                if (*p == '%')
                        fputc('%', m.f);
                else if (next >= n)
                        fprintf(m.f, "%%!%c(MISSING)", *p);
                else if ((r = printf_verb(ex, m.f, spec, *p, &a[next++])) < 0)
                        return r;
        }
        if (next < n && (r = printf_extra(ex, m.f, a + next, n - next)) < 0)
                return r;
        if (membuf_take(&m, &out) < 0)
                return oom(ex->err);
        return ret_string(ex, out, ret);
}

enum cmp_kind { CMP_NIL, CMP_BOOL, CMP_NUM, CMP_STRING, CMP_OTHER };

static enum cmp_kind cmp_kind(const struct tval *t)
{
        switch (tv_type(t)) {
        case JV_NULL:
                return CMP_NIL;
        case JV_BOOL:
                return CMP_BOOL;
        case JV_INT:
        case JV_DOUBLE:
                return CMP_NUM;
        case JV_STRING:
                return CMP_STRING;
        case JV_ARRAY:
        case JV_OBJECT:
                break;
        }
        return CMP_OTHER;
}

/* Orders two values of the same basic kind: <0, 0, >0. */
static int cmp_values(const struct tval *a, const struct tval *b)
{
        double x, y;

        switch (cmp_kind(a)) {
        case CMP_BOOL:
                return (int)jv_bool(a->v) - (int)jv_bool(b->v);
        case CMP_NUM:
                if (tv_type(a) == JV_INT && tv_type(b) == JV_INT)
                        return jv_int(a->v) < jv_int(b->v) ? -1 : jv_int(a->v) > jv_int(b->v);
                x = jv_double_value(a->v);
                y = jv_double_value(b->v);
                return x < y ? -1 : x > y;
        case CMP_STRING:
                return strcmp(jv_str(a->v), jv_str(b->v));
        case CMP_NIL:
        case CMP_OTHER:
                break;
        }
        return 0;
}

/* Go's eq: true when a equals any of the others; nil compares unequal to everything else. */
static int fn_eq(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                 struct tval *ret)
{
        enum cmp_kind k1 = cmp_kind(&a[0]);
        bool truth = false;

        (void)fn;
        for (size_t i = 1; i < n && !truth; i++) {
                enum cmp_kind k2 = cmp_kind(&a[i]);
                if (k1 == CMP_OTHER || k2 == CMP_OTHER)
                        return exec_error(ex, "error calling eq: non-comparable type %s",
                                          tv_type_name(k1 == CMP_OTHER ? &a[0] : &a[i]));
                if (k1 != k2 && k1 != CMP_NIL && k2 != CMP_NIL)
                        return exec_error(ex, "error calling eq: incompatible types for "
                                              "comparison");
                truth = k1 == k2 && cmp_values(&a[0], &a[i]) == 0;
        }
        return ret_bool(ex, truth, ret);
}

static int fn_ne(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                 struct tval *ret)
{
        struct tval eq = {0};
        int r = fn_eq(ex, fn, a, n, &eq);

        if (r < 0)
                return r;
        r = ret_bool(ex, !jv_bool(eq.v), ret);
        tv_put(&eq);
        return r;
}

static int order(struct exec *ex, const struct tfunc *fn, struct tval *a, int *ret)
{
        enum cmp_kind k1 = cmp_kind(&a[0]), k2 = cmp_kind(&a[1]);

        if (k1 == CMP_NIL || k1 == CMP_BOOL || k1 == CMP_OTHER || k2 == CMP_NIL || k2 == CMP_BOOL ||
            k2 == CMP_OTHER)
                return exec_error(ex, "error calling %s: invalid type for comparison", fn->name);
        if (k1 != k2)
                return exec_error(ex, "error calling %s: incompatible types for comparison",
                                  fn->name);
        *ret = cmp_values(&a[0], &a[1]);
        return 0;
}

static int fn_order(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                    struct tval *ret)
{
        int c = 0, r = order(ex, fn, a, &c);
        bool truth;

        (void)n;
        if (r < 0)
                return r;
        if (strcmp(fn->name, "lt") == 0)
                truth = c < 0;
        else if (strcmp(fn->name, "le") == 0)
                truth = c <= 0;
        else if (strcmp(fn->name, "gt") == 0)
                truth = c > 0;
        else
                truth = c >= 0;
        return ret_bool(ex, truth, ret);
}

static int fn_not(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                  struct tval *ret)
{
        (void)fn;
        (void)n;
        return ret_bool(ex, !tv_truth(&a[0]), ret);
}

/* and: the first false argument or the last; or: the first true argument or the last. */
static int fn_and_or(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                     struct tval *ret)
{
        bool want = strcmp(fn->name, "or") == 0;
        size_t i = 0;

        (void)ex;
        while (i + 1 < n && tv_truth(&a[i]) != want)
                i++;
        *ret = tv_dup(&a[i]);
        return 0;
}

/* Docker's pad: spaces around a non-empty string. */
static int fn_pad(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                  struct tval *ret)
{
        _cleanup_free_ char *out = NULL;
        long long pre, post;
        const char *s;
        int r = want_string(ex, fn, &a[0], &s);

        (void)n;
        if (r >= 0)
                r = want_int(ex, &a[1], &pre);
        if (r >= 0)
                r = want_int(ex, &a[2], &post);
        if (r < 0)
                return r;
        if (!*s)
                return ret_string(ex, s, ret);
        if (pre < 0 || post < 0 || pre > 4096 || post > 4096)
                return exec_error(ex, "error calling pad: bad padding %lld/%lld", pre, post);
        out = util_printf("%*s%s%*s", (int)pre, "", s, (int)post, "");
        if (!out)
                return oom(ex->err);
        return ret_string(ex, out, ret);
}

/* Docker's truncate: the first n bytes. */
static int fn_truncate(struct exec *ex, const struct tfunc *fn, struct tval *a, size_t n,
                       struct tval *ret)
{
        _cleanup_free_ char *out = NULL;
        long long len;
        const char *s;
        int r = want_string(ex, fn, &a[0], &s);

        (void)n;
        if (r >= 0)
                r = want_int(ex, &a[1], &len);
        if (r < 0)
                return r;
        if (len < 0)
                return exec_error(ex, "error calling truncate: negative length %lld", len);
        out = strndup(s, (size_t)len);
        if (!out)
                return oom(ex->err);
        return ret_string(ex, out, ret);
}

static const struct tfunc funcs[] = {
        {"and", 1, SIZE_MAX, fn_and_or},
        {"eq", 2, SIZE_MAX, fn_eq},
        {"ge", 2, 2, fn_order},
        {"gt", 2, 2, fn_order},
        {"index", 1, SIZE_MAX, fn_index},
        {"join", 2, 2, fn_join},
        {"json", 1, 1, fn_json},
        {"le", 2, 2, fn_order},
        {"len", 1, 1, fn_len},
        {"lower", 1, 1, fn_lower},
        {"lt", 2, 2, fn_order},
        {"ne", 2, 2, fn_ne},
        {"not", 1, 1, fn_not},
        {"or", 1, SIZE_MAX, fn_and_or},
        {"pad", 3, 3, fn_pad},
        {"print", 0, SIZE_MAX, fn_print},
        {"printf", 1, SIZE_MAX, fn_printf},
        {"println", 0, SIZE_MAX, fn_println},
        {"split", 2, 2, fn_split},
        {"title", 1, 1, fn_title},
        {"truncate", 2, 2, fn_truncate},
        {"upper", 1, 1, fn_upper},
};

static const struct tfunc *func_lookup(const char *name, size_t len)
{
        for (size_t i = 0; i < ARRAY_SIZE(funcs); i++)
                if (strlen(funcs[i].name) == len && strncmp(funcs[i].name, name, len) == 0)
                        return &funcs[i];
        return NULL;
}

int template_print_rows(const char *format, const struct jv *headers, struct jv *const *rows,
                        size_t n, struct err *err)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_table_ struct table *tw = NULL;
        const char *body = format;
        bool table = template_is_table(format, &body);
        int r = template_parse(body, &t, err);

        if (r >= 0 && table && !(tw = table_new()))
                r = err_set(err, -ENOMEM, "formatting the list");
        for (size_t i = table ? 0 : 1; r >= 0 && i <= n; i++) {
                _cleanup_free_ char *line = NULL;

                r = template_render(t, i == 0 ? headers : rows[i - 1], &line, err);
                if (r >= 0 && table)
                        r = table_add_row(tw, line) < 0 ? err_set(err, -ENOMEM, "formatting") : 0;
                else if (r >= 0)
                        printf("%s\n", line);
        }
        if (r >= 0 && tw && table_print(tw, stdout) < 0)
                r = err_set(err, -EIO, "writing the list");
        return r;
}

int template_print_docs(const char *format, char *const *refs, int n, template_doc_fn get, void *ud,
                        struct err *err)
{
        _cleanup_jv_ struct jv *out = jv_new_array();
        _cleanup_template_ struct template *t = NULL;
        int r = 0;

        if (format && template_parse(format, &t, err) < 0)
                return -err->code;
        for (int i = 0; i < n; i++) {
                struct jv *doc = NULL;
                struct err e = {0};
                _cleanup_free_ char *line = NULL;
                if (get(refs[i], ud, &doc, &e) < 0) {
                        *err = e;
                        r = -e.code;
                        continue;
                }
                if (t && template_render(t, doc, &line, &e) == 0)
                        printf("%s\n", line);
                else if (t)
                        *err = e, r = -e.code;
                jv_append(out, doc);
        }
        if (!t)
                printf("%s\n", jv_len(out) ? jv_to_string(out, true) : "[]");
        return r;
}
