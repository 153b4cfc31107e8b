#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "imgconfig.h"

/* A growable string. */
struct sbuf {
        char *p;
        size_t n, cap;
        bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                char *np;

                while (cap < b->n + n + 1)
                        cap *= 2;
                np = realloc(b->p, cap);
                if (!np) {
                        b->oom = true;
                        return;
                }
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void sb_putc(struct sbuf *b, char c)
{
        sb_putn(b, &c, 1);
}

/* Hands the string over (an empty string when nothing was written); NULL on OOM. */
static char *sb_take(struct sbuf *b)
{
        if (!b->p && !b->oom)
                sb_putn(b, "", 0);
        if (b->oom) {
                free(b->p);
                b->p = NULL;
        }
        return TAKE_PTR(b->p);
}

static void sb_freep(struct sbuf *b)
{
        free(b->p);
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static const char *skip_blank(const char *s)
{
        while (is_blank(*s))
                s++;
        return s;
}

/* ---- Dockerfile words and variable expansion (buildkit's shell lexer, the part change
 * lines use) ---- */

struct expand {
        const struct jv *env; /* the Env array as it was before the instruction */
        const char *s;
        struct sbuf out;
};

static const char *env_lookup(const struct jv *env, const char *name, size_t n)
{
        for (size_t i = 0; i < jv_len(env); i++) {
                const char *kv = jv_str(jv_at(env, i));

                if (kv && !strncmp(kv, name, n) && kv[n] == '=')
                        return kv + n + 1;
        }
        return NULL;
}

static bool is_name_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

static int expand_braced(struct expand *x, struct err *err)
{
        const char *name = x->s, *val;
        size_t n = 0;
        char mod = 0;
        const char *word = NULL;
        size_t wlen = 0;

        while (is_name_char(name[n]))
                n++;
        if (name[n] == ':' && (name[n + 1] == '-' || name[n + 1] == '+')) {
                mod = name[n + 1];
                word = name + n + 2;
                wlen = strcspn(word, "}");
                if (word[wlen] != '}')
                        return err_set(err, -EINVAL, "missing '}' in '%s'", name);
                x->s = word + wlen + 1;
        } else if (name[n] == '}' && n > 0) {
                x->s = name + n + 1;
        } else {
                return err_set(err, -EINVAL, "bad substitution: ${%.*s", (int)strcspn(name, "}"),
                               name);
        }
        val = env_lookup(x->env, name, n);
        if (mod == '-' && (!val || !*val))
                sb_putn(&x->out, word, wlen);
        else if (mod == '+' && val && *val)
                sb_putn(&x->out, word, wlen);
        else if (!mod && val)
                sb_putn(&x->out, val, strlen(val));
        return 0;
}

static int expand_dollar(struct expand *x, struct err *err)
{
        const char *val;
        size_t n = 0;

        if (*x->s == '{') {
                x->s++;
                return expand_braced(x, err);
        }
        while (is_name_char(x->s[n]))
                n++;
        if (n == 0) {
                sb_putc(&x->out, '$');
                return 0;
        }
        val = env_lookup(x->env, x->s, n);
        if (val)
                sb_putn(&x->out, val, strlen(val));
        x->s += n;
        return 0;
}

static int expand_single_quote(struct expand *x, struct err *err)
{
        const char *end = strchr(x->s, '\'');

        if (!end)
                return err_set(err, -EINVAL,
                               "unexpected end of statement while looking for matching "
                               "single-quote");
        sb_putn(&x->out, x->s, (size_t)(end - x->s));
        x->s = end + 1;
        return 0;
}

static int expand_double_quote(struct expand *x, struct err *err)
{
        int r;

        for (;;) {
                char c = *x->s++;

                if (!c)
                        return err_set(err, -EINVAL,
                                       "unexpected end of statement while looking for matching "
                                       "double-quote");
                if (c == '"')
                        return 0;
                if (c == '$') {
                        r = expand_dollar(x, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* Inside double quotes only ", $ and \ can be escaped. */
                if (c == '\\' && (*x->s == '"' || *x->s == '$' || *x->s == '\\'))
                        c = *x->s++;
                sb_putc(&x->out, c);
        }
}

static void expand_done(struct expand *x)
{
        sb_freep(&x->out);
}

/* Removes quotes and escapes and expands $VAR, ${VAR}, ${VAR:-w}, ${VAR:+w}; blanks are
 * kept (the word is not split). */
static int expand_word(const char *word, const struct jv *env, char **ret, struct err *err)
{
        _cleanup_(expand_done) struct expand x = {.env = env, .s = word};
        int r = 0;

        while (*x.s && r >= 0) {
                char c = *x.s++;

                if (c == '\'')
                        r = expand_single_quote(&x, err);
                else if (c == '"')
                        r = expand_double_quote(&x, err);
                else if (c == '$')
                        r = expand_dollar(&x, err);
                else if (c == '\\' && *x.s)
                        sb_putc(&x.out, *x.s++);
                else if (c != '\\')
                        sb_putc(&x.out, c);
        }
        if (r < 0)
                return r;
        *ret = sb_take(&x.out);
        return *ret ? 0 : err_set(err, -ENOMEM, "expanding '%s'", word);
}

/* Splits on blanks outside quotes, keeping quotes and escapes in the words (Docker's
 * parseWords); they are removed later by expand_word. */
static int parse_words(const char *s, char ***ret)
{
        _cleanup_strv_ char **words = calloc(1, sizeof(char *));
        _cleanup_(sb_freep) struct sbuf w = {0};
        char quote = 0;
        bool in_word = false, blank_ok = false;

        if (!words)
                return -ENOMEM;
        for (;; s++) {
                char c = *s;

                if (!quote && (!c || is_blank(c))) {
                        if (in_word && (blank_ok || w.n > 0)) {
                                if (util_strv_push(&words, w.p ? w.p : "") < 0)
                                        return -ENOMEM;
                        }
                        w.n = 0;
                        if (w.p)
                                w.p[0] = '\0';
                        in_word = blank_ok = false;
                        if (!c)
                                break;
                        continue;
                }
                if (!c) {
                        /* An unterminated quote ends the word, like Docker. */
                        quote = 0;
                        s--;
                        continue;
                }
                in_word = true;
                if (quote && c == quote) {
                        quote = 0;
                } else if (!quote && (c == '\'' || c == '"')) {
                        quote = c;
                        blank_ok = true;
                } else if (c == '\\' && quote != '\'') {
                        if (!s[1])
                                continue;
                        sb_putc(&w, c);
                        c = *++s;
                }
                sb_putc(&w, c);
        }
        if (w.oom)
                return -ENOMEM;
        *ret = TAKE_PTR(words);
        return 0;
}

/* ---- the instructions ---- */

struct change {
        struct jv *config;
        bool cmd_set;
        const char *name; /* the instruction in upper case, for messages */
};

static const struct jv *env_of(const struct change *c)
{
        return jv_get(c->config, "Env");
}

/* Docker's parseJSON: 1 with *ret set for a JSON array of strings, 0 when rest is not a
 * JSON array (shell form), -EINVAL for an array holding non-strings. */
static int parse_json_args(const char *rest, char ***ret, struct err *err)
{
        _cleanup_jv_ struct jv *v = NULL;
        struct err ignored = {0};

        if (rest[0] != '[' || jv_parse(rest, &v, &ignored) < 0 || jv_type(v) != JV_ARRAY)
                return 0;
        for (size_t i = 0; i < jv_len(v); i++)
                if (jv_type(jv_at(v, i)) != JV_STRING)
                        return err_set(err, -EINVAL,
                                       "when using JSON array syntax, arrays must "
                                       "be comprised of strings only");
        *ret = jv_to_strv(v);
        return *ret ? 1 : err_set(err, -ENOMEM, "parsing %s", rest);
}

/* The exec form as given, or the shell form wrapped in /bin/sh -c. */
static int command_args(const char *rest, struct jv **ret, struct err *err)
{
        _cleanup_strv_ char **argv = NULL;
        char *shell[] = {"/bin/sh", "-c", (char *)rest, NULL};
        int r = parse_json_args(rest, &argv, err);

        if (r < 0)
                return r;
        *ret = jv_from_strv(r ? argv : shell);
        return 0;
}

static int ch_cmd(struct change *c, const char *rest, struct err *err)
{
        struct jv *v;
        int r = command_args(rest, &v, err);

        if (r < 0)
                return r;
        jv_set(c->config, "Cmd", v);
        c->cmd_set = true;
        return 0;
}

static int ch_entrypoint(struct change *c, const char *rest, struct err *err)
{
        struct jv *v;
        int r = command_args(rest, &v, err);

        if (r < 0)
                return r;
        jv_set(c->config, "Entrypoint", v);
        /* Docker drops an inherited CMD when ENTRYPOINT changes and no CMD was given. */
        if (!c->cmd_set)
                jv_del(c->config, "Cmd");
        return 0;
}

static int need_args(const struct change *c, bool ok, const char *what, struct err *err)
{
        return ok ? 0 : err_set(err, -EINVAL, "%s requires %s", c->name, what);
}

/* A list of name/value pairs: "K=V K2=V2" or the legacy "K V with blanks". */
struct kv_list {
        char **keys;
        char **values;
};

static void kv_list_free(struct kv_list *l)
{
        util_strv_free(l->keys);
        util_strv_free(l->values);
}

static int kv_push(struct kv_list *l, const char *k, const char *v, const struct jv *env,
                   struct err *err)
{
        _cleanup_free_ char *ek = NULL, *ev = NULL;
        int r;

        r = expand_word(k, env, &ek, err);
        if (r >= 0)
                r = expand_word(v, env, &ev, err);
        if (r < 0)
                return r;
        if (util_strv_push(&l->keys, ek) < 0 || util_strv_push(&l->values, ev) < 0)
                return err_set(err, -ENOMEM, "parsing %s", k);
        return 0;
}

static int parse_legacy_kv(struct change *c, const char *rest, struct kv_list *l, struct err *err)
{
        size_t n = 0;
        _cleanup_free_ char *key = NULL;

        while (rest[n] && !is_blank(rest[n]))
                n++;
        if (!rest[n] || !*skip_blank(rest + n))
                return err_set(err, -EINVAL, "%s must have two arguments", c->name);
        key = strndup(rest, n);
        if (!key)
                return err_set(err, -ENOMEM, "parsing %s", rest);
        return kv_push(l, key, skip_blank(rest + n), env_of(c), err);
}

static int parse_kvs(struct change *c, const char *rest, struct kv_list *l, struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        int r;

        if (parse_words(rest, &words) < 0)
                return err_set(err, -ENOMEM, "parsing %s", rest);
        r = need_args(c, words[0] != NULL, "at least one argument", err);
        if (r < 0)
                return r;
        if (!strchr(words[0], '='))
                return parse_legacy_kv(c, rest, l, err);
        for (char **w = words; *w; w++) {
                char *eq = strchr(*w, '=');

                if (!eq)
                        return err_set(err, -EINVAL,
                                       "Syntax error - can't find = in \"%s\". Must be of the "
                                       "form: name=value",
                                       *w);
                *eq = '\0';
                if (!**w)
                        return err_set(err, -EINVAL, "%s names can not be blank", c->name);
                r = kv_push(l, *w, eq + 1, env_of(c), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int set_env(struct jv *config, const char *key, const char *value)
{
        struct jv *env = jv_get(config, "Env");
        _cleanup_free_ char *kv = util_printf("%s=%s", key, value);
        size_t n = strlen(key);

        if (!kv)
                return -ENOMEM;
        if (!env || jv_type(env) != JV_ARRAY) {
                env = jv_new_array();
                jv_set(config, "Env", env);
        }
        for (size_t i = 0; i < jv_len(env); i++) {
                const char *old = jv_str(jv_at(env, i));

                if (old && !strncmp(old, key, n) && old[n] == '=') {
                        struct jv *replaced = jv_new_array();
                        for (size_t j = 0; j < jv_len(env); j++)
                                jv_append(replaced,
                                          j == i ? jv_new_string(kv) : jv_copy(jv_at(env, j)));
                        jv_set(config, "Env", replaced);
                        return 0;
                }
        }
        jv_append(env, jv_new_string(kv));
        return 0;
}

static int ch_env(struct change *c, const char *rest, struct err *err)
{
        _cleanup_(kv_list_free) struct kv_list l = {0};
        int r = parse_kvs(c, rest, &l, err);

        if (r < 0)
                return r;
        for (size_t i = 0; l.keys && l.keys[i]; i++)
                if (set_env(c->config, l.keys[i], l.values[i]) < 0)
                        return err_set(err, -ENOMEM, "setting %s", l.keys[i]);
        return 0;
}

/* An object-valued field ("Labels", "ExposedPorts", "Volumes"), created when missing. */
static struct jv *object_field(struct jv *config, const char *key)
{
        struct jv *o = jv_get(config, key);

        if (!o || jv_type(o) != JV_OBJECT) {
                o = jv_new_object();
                jv_set(config, key, o);
        }
        return o;
}

static int ch_label(struct change *c, const char *rest, struct err *err)
{
        _cleanup_(kv_list_free) struct kv_list l = {0};
        struct jv *labels;
        int r = parse_kvs(c, rest, &l, err);

        if (r < 0)
                return r;
        labels = object_field(c->config, "Labels");
        for (size_t i = 0; l.keys && l.keys[i]; i++)
                jv_set_str(labels, l.keys[i], l.values[i]);
        return 0;
}

static int parse_port(const char *s, long long *ret)
{
        return util_parse_ll(s, 0, 65535, ret);
}

/* "80", "80/udp", "8000-8002/tcp" -> one ExposedPorts key per port, like nat.ParsePortSpecs. */
static int expose_one(struct jv *ports, const char *spec, struct err *err)
{
        _cleanup_free_ char *copy = strdup(spec);
        char *proto, *dash;
        long long lo, hi;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing %s", spec);
        proto = strchr(copy, '/');
        if (proto && *proto) {
                *proto++ = '\0';
                for (char *p = proto; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
        }
        if (!proto || !*proto)
                proto = "tcp";
        if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
                return err_set(err, -EINVAL, "invalid proto: %s", proto);
        dash = strchr(copy, '-');
        if (dash)
                *dash = '\0';
        if (parse_port(copy, &lo) < 0 || (dash && parse_port(dash + 1, &hi) < 0))
                return err_set(err, -EINVAL, "invalid containerPort: %s", spec);
        if (!dash)
                hi = lo;
        if (hi < lo)
                return err_set(err, -EINVAL, "invalid containerPort: %s", spec);
        for (long long p = lo; p <= hi; p++) {
                char key[32]; /* "65535/sctp" */
                snprintf(key, sizeof(key), "%lld/%s", p, proto);
                jv_set(ports, key, jv_new_object());
        }
        return 0;
}

/* Blank-separated words, each expanded (EXPOSE and the non-JSON VOLUME form). */
static int expanded_words(struct change *c, const char *rest, char ***ret, struct err *err)
{
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        const char *s = skip_blank(rest);
        int r;

        if (!out)
                return err_set(err, -ENOMEM, "parsing %s", rest);
        while (*s) {
                size_t n = 0;
                _cleanup_free_ char *w = NULL, *e = NULL;

                while (s[n] && !is_blank(s[n]))
                        n++;
                w = strndup(s, n);
                if (!w)
                        return err_set(err, -ENOMEM, "parsing %s", rest);
                r = expand_word(w, env_of(c), &e, err);
                if (r < 0)
                        return r;
                if (util_strv_push(&out, e) < 0)
                        return err_set(err, -ENOMEM, "parsing %s", rest);
                s = skip_blank(s + n);
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int ch_expose(struct change *c, const char *rest, struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        struct jv *ports;
        int r = expanded_words(c, rest, &words, err);

        if (r < 0)
                return r;
        r = need_args(c, words[0] != NULL, "at least one argument", err);
        if (r < 0)
                return r;
        ports = object_field(c->config, "ExposedPorts");
        for (char **w = words; *w; w++) {
                r = expose_one(ports, *w, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int ch_volume(struct change *c, const char *rest, struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        struct jv *vols;
        int r = parse_json_args(rest, &words, err);

        if (r == 0)
                r = expanded_words(c, rest, &words, err);
        if (r < 0)
                return r;
        r = need_args(c, words[0] != NULL, "at least one argument", err);
        if (r < 0)
                return r;
        vols = object_field(c->config, "Volumes");
        for (char **w = words; *w; w++) {
                const char *v = skip_blank(*w);
                if (!*v)
                        return err_set(err, -EINVAL, "VOLUME specified can not be an empty string");
                jv_set(vols, v, jv_new_object());
        }
        return 0;
}

/* The whole rest as one expanded argument (WORKDIR, USER, STOPSIGNAL). */
static int one_arg(struct change *c, const char *rest, char **ret, struct err *err)
{
        int r = need_args(c, *rest != '\0', "exactly one argument", err);

        return r < 0 ? r : expand_word(rest, env_of(c), ret, err);
}

/* Lexical clean of an absolute path, like Go's path.Clean. */
static char *clean_abs_path(const char *p)
{
        _cleanup_(sb_freep) struct sbuf b = {0};

        while (*p) {
                size_t n = strcspn(p, "/");

                if (n == 2 && !strncmp(p, "..", 2)) {
                        char *slash = b.p ? strrchr(b.p, '/') : NULL;
                        if (slash) {
                                b.n = (size_t)(slash - b.p);
                                *slash = '\0';
                        }
                } else if (n && !(n == 1 && *p == '.')) {
                        sb_putc(&b, '/');
                        sb_putn(&b, p, n);
                }
                p += n;
                p += strspn(p, "/");
        }
        if (!b.n)
                sb_putc(&b, '/');
        return sb_take(&b);
}

static int ch_workdir(struct change *c, const char *rest, struct err *err)
{
        _cleanup_free_ char *dir = NULL, *joined = NULL, *clean = NULL;
        const char *cur = jv_get_str(c->config, "WorkingDir");
        int r = one_arg(c, rest, &dir, err);

        if (r < 0)
                return r;
        /* A relative WORKDIR continues from the previous one. */
        joined = dir[0] == '/' ? strdup(dir) : util_printf("/%s/%s", cur ? cur : "", dir);
        clean = joined ? clean_abs_path(joined) : NULL;
        if (!clean)
                return err_set(err, -ENOMEM, "setting WORKDIR %s", dir);
        jv_set_str(c->config, "WorkingDir", clean);
        return 0;
}

static int ch_user(struct change *c, const char *rest, struct err *err)
{
        _cleanup_free_ char *user = NULL;
        int r = one_arg(c, rest, &user, err);

        if (r < 0)
                return r;
        jv_set_str(c->config, "User", user);
        return 0;
}

static int ch_stopsignal(struct change *c, const char *rest, struct err *err)
{
        _cleanup_free_ char *sig = NULL;
        int r = one_arg(c, rest, &sig, err);

        if (r < 0)
                return r;
        if (util_parse_signal(sig) < 0)
                return err_set(err, -EINVAL, "Invalid signal: %s", sig);
        jv_set_str(c->config, "StopSignal", sig);
        return 0;
}

static int ch_onbuild(struct change *c, const char *rest, struct err *err)
{
        size_t n = strcspn(rest, " \t");
        struct jv *triggers;
        int r = need_args(c, *rest != '\0', "at least one argument", err);

        if (r < 0)
                return r;
        if (n == 7 && !strncasecmp(rest, "ONBUILD", 7))
                return err_set(err, -EINVAL,
                               "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if ((n == 4 && !strncasecmp(rest, "FROM", 4)) ||
            (n == 10 && !strncasecmp(rest, "MAINTAINER", 10)))
                return err_set(err, -EINVAL, "%.*s isn't allowed as an ONBUILD trigger", (int)n,
                               rest);
        triggers = jv_get(c->config, "OnBuild");
        if (!triggers || jv_type(triggers) != JV_ARRAY) {
                triggers = jv_new_array();
                jv_set(c->config, "OnBuild", triggers);
        }
        jv_append(triggers, jv_new_string(rest));
        return 0;
}

/* Go's time.ParseDuration ("1m30s", "500ms", "1.5h"). */
static int parse_go_duration(const char *s, long long *ret)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {
                {"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9},
        };
        const char *p = s;
        double total = 0;
        bool neg = false;

        if (*p == '-' || *p == '+')
                neg = *p++ == '-';
        if (!strcmp(p, "0")) {
                *ret = 0;
                return 0;
        }
        if (!*p)
                return -EINVAL;
        while (*p) {
                char num[32]; /* digits of one component; longer ones overflow anyway */
                size_t n = strspn(p, "0123456789"), i;

                if (p[n] == '.')
                        n += 1 + strspn(p + n + 1, "0123456789");
                if (n == 0 || n >= sizeof(num) || (n == 1 && *p == '.'))
                        return -EINVAL;
                memcpy(num, p, n);
                num[n] = '\0';
                p += n;
                for (i = 0; i < ARRAY_SIZE(units); i++)
                        if (!strncmp(p, units[i].unit, strlen(units[i].unit)))
                                break;
                if (i == ARRAY_SIZE(units))
                        return -EINVAL;
                p += strlen(units[i].unit);
                total += strtod(num, NULL) * units[i].ns;
        }
        if (total > 9.2e18)
                return -ERANGE;
        *ret = (long long)(total + 0.5) * (neg ? -1 : 1);
        return 0;
}

static const char *const health_durations[] = {"interval", "timeout", "start-period",
                                               "start-interval"};
static const char *const health_fields[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};

static int health_flag(const char *word, long long *durs, long long *retries, struct err *err)
{
        const char *name = word + 2, *eq = strchr(word, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);

        if (!eq)
                return err_set(err, -EINVAL, "Missing a value on flag: %s", word);
        for (size_t i = 0; i < ARRAY_SIZE(health_durations); i++) {
                if (strlen(health_durations[i]) != n || strncmp(name, health_durations[i], n))
                        continue;
                if (parse_go_duration(eq + 1, &durs[i]) < 0)
                        return err_set(err, -EINVAL, "time: invalid duration \"%s\"", eq + 1);
                if (durs[i] != 0 && durs[i] < 1000000)
                        return err_set(err, -EINVAL, "Interval \"%s\" cannot be less than 1ms",
                                       health_durations[i]);
                return 0;
        }
        if (n == 7 && !strncmp(name, "retries", 7)) {
                if (util_parse_ll(eq + 1, LLONG_MIN, LLONG_MAX, retries) < 0)
                        return err_set(err, -EINVAL, "invalid --retries value \"%s\"", eq + 1);
                if (*retries < 0)
                        return err_set(err, -EINVAL, "--retries cannot be negative (%lld)",
                                       *retries);
                return 0;
        }
        return err_set(err, -EINVAL, "Unknown flag: %.*s", (int)n, name);
}

static int health_test(const char *type, const char *args, struct jv **ret, struct err *err)
{
        _cleanup_strv_ char **argv = NULL;
        struct jv *test;
        int r;

        if (!strcasecmp(type, "NONE")) {
                if (*args)
                        return err_set(err, -EINVAL, "HEALTHCHECK NONE takes no arguments");
                test = jv_new_array();
                jv_append(test, jv_new_string("NONE"));
                *ret = test;
                return 0;
        }
        if (strcasecmp(type, "CMD"))
                return err_set(err, -EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
        if (!*args)
                return err_set(err, -EINVAL, "Missing command after HEALTHCHECK CMD");
        r = parse_json_args(args, &argv, err);
        if (r < 0)
                return r;
        test = jv_new_array();
        jv_append(test, jv_new_string(r ? "CMD" : "CMD-SHELL"));
        if (!r)
                jv_append(test, jv_new_string(args));
        for (char **a = argv; a && *a; a++)
                jv_append(test, jv_new_string(*a));
        *ret = test;
        return 0;
}

static int ch_healthcheck(struct change *c, const char *rest, struct err *err)
{
        long long durs[ARRAY_SIZE(health_durations)] = {0}, retries = 0;
        _cleanup_free_ char *type = NULL;
        struct jv *test = NULL, *hc;
        size_t n;
        int r = need_args(c, *rest != '\0', "at least one argument", err);

        while (r >= 0 && !strncmp(rest, "--", 2)) {
                _cleanup_free_ char *word = strndup(rest, strcspn(rest, " \t"));
                if (!word)
                        return err_set(err, -ENOMEM, "parsing HEALTHCHECK");
                rest = skip_blank(rest + strlen(word));
                if (!strcmp(word, "--"))
                        break;
                r = health_flag(word, durs, &retries, err);
        }
        if (r < 0)
                return r;
        n = strcspn(rest, " \t");
        type = strndup(rest, n);
        if (!type)
                return err_set(err, -ENOMEM, "parsing HEALTHCHECK");
        r = health_test(type, skip_blank(rest + n), &test, err);
        if (r < 0)
                return r;
        hc = jv_new_object();
        jv_set(hc, "Test", test);
        for (size_t i = 0; i < ARRAY_SIZE(durs); i++)
                if (durs[i])
                        jv_set_int(hc, health_fields[i], durs[i]);
        if (retries)
                jv_set_int(hc, "Retries", retries);
        jv_set(c->config, "Healthcheck", hc);
        return 0;
}

static const struct {
        const char *name;
        int (*fn)(struct change *c, const char *rest, struct err *err);
} change_cmds[] = {
        {"CMD", ch_cmd},         {"ENTRYPOINT", ch_entrypoint},   {"ENV", ch_env},
        {"EXPOSE", ch_expose},   {"HEALTHCHECK", ch_healthcheck}, {"LABEL", ch_label},
        {"ONBUILD", ch_onbuild}, {"STOPSIGNAL", ch_stopsignal},   {"USER", ch_user},
        {"VOLUME", ch_volume},   {"WORKDIR", ch_workdir},
};

/* Trailing blanks are not part of the arguments. */
static void rtrim(char *s)
{
        size_t n = strlen(s);

        while (n && is_blank(s[n - 1]))
                s[--n] = '\0';
}

static int apply_line(struct change *c, char *line, struct err *err)
{
        const char *rest;
        size_t n;

        line = (char *)skip_blank(line);
        rtrim(line);
        if (!*line || *line == '#')
                return 0;
        n = strcspn(line, " \t");
        rest = skip_blank(line + n);
        for (size_t i = 0; i < ARRAY_SIZE(change_cmds); i++) {
                if (strlen(change_cmds[i].name) != n || strncasecmp(line, change_cmds[i].name, n))
                        continue;
                c->name = change_cmds[i].name;
                return change_cmds[i].fn(c, rest, err);
        }
        for (size_t i = 0; i < n; i++)
                line[i] = (char)tolower((unsigned char)line[i]);
        return err_set(err, -EINVAL, "%.*s is not a valid change command", (int)n, line);
}

/* A change value is parsed like Dockerfile text: several lines, '\' continues a line. */
static int apply_text(struct change *c, const char *text, struct err *err)
{
        _cleanup_(sb_freep) struct sbuf line = {0};
        const char *p = text;
        int r;

        while (*p) {
                size_t n = strcspn(p, "\n");
                size_t keep = n;

                while (keep && is_blank(p[keep - 1]))
                        keep--;
                if (keep && p[keep - 1] == '\\') {
                        sb_putn(&line, p, keep - 1);
                        p += n + (p[n] == '\n');
                        continue;
                }
                sb_putn(&line, p, n);
                p += n + (p[n] == '\n');
                if (line.oom)
                        return err_set(err, -ENOMEM, "parsing change %s", text);
                r = line.p ? apply_line(c, line.p, err) : 0;
                if (r < 0)
                        return r;
                line.n = 0;
                if (line.p)
                        line.p[0] = '\0';
        }
        return line.p && line.n ? apply_line(c, line.p, err) : 0;
}

int imgconfig_apply_changes(struct jv *config, char *const *changes, struct err *err)
{
        struct change c = {.config = config};

        for (; changes && *changes; changes++) {
                int r = apply_text(&c, *changes, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- documents ---- */

/* container.Config's field order, which Docker's JSON follows. */
static const char *const config_order[] = {
        "Hostname",     "Domainname",   "User",        "AttachStdin",     "AttachStdout",
        "AttachStderr", "ExposedPorts", "Tty",         "OpenStdin",       "StdinOnce",
        "Env",          "Cmd",          "Healthcheck", "ArgsEscaped",     "Image",
        "Volumes",      "WorkingDir",   "Entrypoint",  "NetworkDisabled", "MacAddress",
        "OnBuild",      "Labels",       "StopSignal",  "StopTimeout",     "Shell",
        NULL,
};
static const char *const health_order[] = {"Test",          "Interval", "Timeout", "StartPeriod",
                                           "StartInterval", "Retries",  NULL};
static const char *const history_order[] = {"created", "created_by",  "author",
                                            "comment", "empty_layer", NULL};
static const char *const rootfs_order[] = {"type", "diff_ids", NULL};
/* Maps are written with sorted keys, as Go's encoder does. */
static const char *const no_order[] = {NULL};

static bool in_list(const char *const *list, const char *s)
{
        for (; *list; list++)
                if (!strcmp(*list, s))
                        return true;
        return false;
}

/* A copy of obj with the listed keys first (in that order) and the others sorted. */
static struct jv *reordered(const struct jv *obj, const char *const *order)
{
        struct jv *out = jv_new_object();
        _cleanup_strv_ char **keys = jv_keys(obj);

        if (!out || !keys) {
                jv_put(out);
                return NULL;
        }
        for (const char *const *k = order; *k; k++)
                if (util_strv_contains(keys, *k))
                        jv_set(out, *k, jv_copy(jv_get(obj, *k)));
        for (char **k = keys; *k; k++)
                if (!in_list(order, *k))
                        jv_set(out, *k, jv_copy(jv_get(obj, *k)));
        return out;
}

static void reorder_field(struct jv *parent, const char *key, const char *const *order)
{
        struct jv *v = jv_get(parent, key);

        if (v && jv_type(v) == JV_OBJECT)
                jv_set(parent, key, reordered(v, order));
}

static struct jv *canonical(const struct jv *doc)
{
        struct jv *out = reordered(doc, no_order);
        struct jv *cfg, *hist;

        if (!out)
                return NULL;
        reorder_field(out, "config", config_order);
        cfg = jv_get(out, "config");
        if (cfg && jv_type(cfg) == JV_OBJECT) {
                reorder_field(cfg, "ExposedPorts", no_order);
                reorder_field(cfg, "Volumes", no_order);
                reorder_field(cfg, "Labels", no_order);
                reorder_field(cfg, "Healthcheck", health_order);
        }
        reorder_field(out, "rootfs", rootfs_order);
        hist = jv_get(out, "history");
        if (hist && jv_type(hist) == JV_ARRAY) {
                struct jv *nh = jv_new_array();
                for (size_t i = 0; i < jv_len(hist); i++) {
                        struct jv *h = jv_at(hist, i);
                        jv_append(nh, jv_type(h) == JV_OBJECT ? reordered(h, history_order)
                                                              : jv_copy(h));
                }
                jv_set(out, "history", nh);
        }
        return out;
}

int imgconfig_serialize(const struct jv *doc, char **ret, struct err *err)
{
        _cleanup_jv_ struct jv *c = canonical(doc);
        char *s;

        if (!c)
                return err_set(err, -ENOMEM, "serialising the image config");
        s = strdup(jv_to_string(c, false));
        if (!s)
                return err_set(err, -ENOMEM, "serialising the image config");
        *ret = s;
        return 0;
}

struct jv *imgconfig_new(const struct jv *config, char *const *diff_ids, const char *created,
                         const char *author, const char *comment, const char *arch, const char *os)
{
        struct jv *doc = jv_new_object(), *hist = jv_new_array(), *h = jv_new_object();
        struct jv *rootfs = jv_new_object(), *ids = jv_new_array();

        jv_set_str(doc, "architecture", arch);
        if (author)
                jv_set_str(doc, "author", author);
        if (comment)
                jv_set_str(doc, "comment", comment);
        jv_set(doc, "config", config ? jv_copy(config) : jv_new_object());
        jv_set_str(doc, "created", created);
        jv_set_str(h, "created", created);
        if (author)
                jv_set_str(h, "author", author);
        if (comment)
                jv_set_str(h, "comment", comment);
        jv_append(hist, h);
        jv_set(doc, "history", hist);
        jv_set_str(doc, "os", os);
        for (; diff_ids && *diff_ids; diff_ids++) {
                char id[80]; /* "sha256:" + 64 hex */
                snprintf(id, sizeof(id), "sha256:%s", *diff_ids);
                jv_append(ids, jv_new_string(id));
        }
        jv_set_str(rootfs, "type", "layers");
        jv_set(rootfs, "diff_ids", ids);
        jv_set(doc, "rootfs", rootfs);
        return doc;
}

struct jv *imgconfig_inspect_config(const struct jv *config)
{
        static const struct {
                const char *key;
                enum jv_type dflt; /* JV_NULL: only when set */
        } fields[] = {
                {"Hostname", JV_STRING},   {"Domainname", JV_STRING}, {"User", JV_STRING},
                {"AttachStdin", JV_BOOL},  {"AttachStdout", JV_BOOL}, {"AttachStderr", JV_BOOL},
                {"ExposedPorts", JV_NULL}, {"Tty", JV_BOOL},          {"OpenStdin", JV_BOOL},
                {"StdinOnce", JV_BOOL},    {"Env", JV_ARRAY},         {"Cmd", JV_ARRAY},
                {"Healthcheck", JV_NULL},  {"ArgsEscaped", JV_NULL},  {"Image", JV_STRING},
                {"Volumes", JV_OBJECT},    {"WorkingDir", JV_STRING}, {"Entrypoint", JV_ARRAY},
                {"OnBuild", JV_ARRAY},     {"Labels", JV_OBJECT},     {"StopSignal", JV_NULL},
                {"StopTimeout", JV_NULL},  {"Shell", JV_NULL},
        };
        struct jv *out = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                struct jv *v = jv_get(config, fields[i].key);

                if (v)
                        jv_set(out, fields[i].key, jv_copy(v));
                else if (fields[i].dflt == JV_STRING)
                        jv_set_str(out, fields[i].key, "");
                else if (fields[i].dflt == JV_BOOL)
                        jv_set_bool(out, fields[i].key, false);
                else if (fields[i].dflt != JV_NULL)
                        jv_set(out, fields[i].key, NULL);
        }
        return out;
}

static bool is_hex(const char *s, size_t n)
{
        return strspn(s, "0123456789abcdef") == n && s[n] == '\0';
}

int imgconfig_diff_ids(const struct jv *doc, char ***ret, struct err *err)
{
        struct jv *ids = jv_path(doc, "rootfs.diff_ids");
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));

        if (!out)
                return err_set(err, -ENOMEM, "reading diff ids");
        if (!ids || jv_type(ids) != JV_ARRAY)
                return err_set(err, -EINVAL, "image config has no rootfs.diff_ids");
        for (size_t i = 0; i < jv_len(ids); i++) {
                const char *s = jv_str(jv_at(ids, i));

                if (!s || strncmp(s, "sha256:", 7) || !is_hex(s + 7, 64))
                        return err_set(err, -EINVAL, "image config has a bad diff id %s",
                                       s ? s : "(not a string)");
                if (util_strv_push(&out, s + 7) < 0)
                        return err_set(err, -ENOMEM, "reading diff ids");
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static const struct {
        const char *machine;
        const char *goarch;
} arch_names[] = {
        {"x86_64", "amd64"},    {"amd64", "amd64"},     {"aarch64", "arm64"},
        {"arm64", "arm64"},     {"armv7l", "arm"},      {"armv6l", "arm"},
        {"arm", "arm"},         {"i386", "386"},        {"i686", "386"},
        {"386", "386"},         {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
        {"riscv64", "riscv64"}, {"mips64", "mips64"},   {"loongarch64", "loong64"},
};

static const char *goarch(const char *machine)
{
        for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
                if (!strcmp(machine, arch_names[i].machine))
                        return arch_names[i].goarch;
        return NULL;
}

const char *imgconfig_host_arch(void)
{
        static struct utsname u;
        const char *a;

        if (uname(&u) < 0)
                return "amd64";
        a = goarch(u.machine);
        return a ? a : u.machine;
}

static int bad_platform(const char *s, struct err *err)
{
        return err_set(err, -EINVAL,
                       "\"%s\": unknown operating system or architecture: invalid argument", s);
}

int imgconfig_parse_platform(const char *s, char **ret_os, char **ret_arch, struct err *err)
{
        _cleanup_free_ char *copy = strdup(s);
        char *os, *arch, *variant;
        const char *a;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing platform %s", s);
        os = copy;
        arch = strchr(os, '/');
        if (arch)
                *arch++ = '\0';
        variant = arch ? strchr(arch, '/') : NULL;
        if (variant)
                *variant++ = '\0';
        if (strcasecmp(os, "linux") || (variant && strchr(variant, '/')))
                return bad_platform(s, err);
        a = arch ? goarch(arch) : imgconfig_host_arch();
        if (!a)
                return bad_platform(s, err);
        _cleanup_free_ char *o = strdup("linux"), *ar = strdup(a);
        if (!o || !ar)
                return err_set(err, -ENOMEM, "parsing platform %s", s);
        *ret_os = TAKE_PTR(o);
        *ret_arch = TAKE_PTR(ar);
        return 0;
}

/* ---- references (distribution/reference's grammar) ---- */

#define REF_NAME_MAX 255
#define REF_TAG_MAX  128

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_path_component(const char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                size_t run = 0;

                while (i < n && is_lower_alnum(s[i]))
                        i++, run++;
                if (run == 0)
                        return false;
                if (i == n)
                        return true;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
                if (i == n)
                        return false;
        }
        return n > 0;
}

static bool valid_path(const char *s, size_t n)
{
        while (n) {
                size_t c = strcspn(s, "/");

                if (c > n)
                        c = n;
                if (!valid_path_component(s, c))
                        return false;
                if (c == n)
                        return true;
                s += c + 1;
                n -= c + 1;
                if (!n)
                        return false;
        }
        return false;
}

/* host[:port]: labels [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? joined by '.'. */
static bool valid_domain(const char *s)
{
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);

        if (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
                return false;
        while (n) {
                size_t l = strcspn(s, ".");

                if (l > n)
                        l = n;
                if (l == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[l - 1]))
                        return false;
                for (size_t i = 0; i < l; i++)
                        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                                return false;
                if (l == n)
                        return true;
                s += l + 1;
                n -= l + 1;
                if (!n)
                        return false;
        }
        return false;
}

/* [\w][\w.-]{0,127} */
static bool valid_tag(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > REF_TAG_MAX || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

struct ref_parts {
        char *domain;    /* NULL for Docker Hub */
        char *remainder; /* path[:tag], "library/" added for official Hub images */
};

static void ref_parts_free(struct ref_parts *p)
{
        free(p->domain);
        free(p->remainder);
}

/* Docker's splitDockerDomain. */
static int split_domain(const char *s, struct ref_parts *p)
{
        const char *slash = strchr(s, '/');
        bool has_domain = false;

        if (slash) {
                size_t n = (size_t)(slash - s);
                bool upper = false;

                for (size_t i = 0; i < n; i++)
                        upper |= isupper((unsigned char)s[i]) != 0;
                has_domain = memchr(s, '.', n) || memchr(s, ':', n) ||
                             (n == 9 && !strncmp(s, "localhost", 9)) || upper;
        }
        if (has_domain) {
                p->domain = strndup(s, (size_t)(slash - s));
                s = slash + 1;
                if (p->domain && !strcmp(p->domain, "index.docker.io")) {
                        free(p->domain);
                        p->domain = strdup("docker.io");
                }
                if (!p->domain)
                        return -ENOMEM;
                if (!strcmp(p->domain, "docker.io")) {
                        free(p->domain);
                        p->domain = NULL;
                }
        }
        p->remainder = !p->domain && !strchr(s, '/') ? util_printf("library/%s", s) : strdup(s);
        return p->remainder ? 0 : -ENOMEM;
}

/* "sha256:" and 64 lower-case hex digits: the only digest algorithm images use. */
static bool valid_digest(const char *d)
{
        return !strncmp(d, "sha256:", 7) && is_hex(d + 7, 64);
}

static int check_reference(const struct ref_parts *p, const char *tag, size_t path_len,
                           struct err *err)
{
        size_t name_len = path_len + (p->domain ? strlen(p->domain) + 1 : 10);

        for (size_t i = 0; i < path_len; i++)
                if (isupper((unsigned char)p->remainder[i]))
                        return err_client(err, -EINVAL,
                                          "invalid reference format: repository name (%.*s) must "
                                          "be lowercase",
                                          (int)path_len, p->remainder);
        if ((p->domain && !valid_domain(p->domain)) || !valid_path(p->remainder, path_len) ||
            (tag && !valid_tag(tag)))
                return err_client(err, -EINVAL, "invalid reference format");
        if (name_len > REF_NAME_MAX)
                return err_set(err, -EINVAL, "repository name must not be more than %d characters",
                               REF_NAME_MAX);
        return 0;
}

void image_ref_free(struct image_ref *r)
{
        free(r->domain);
        free(r->path);
        free(r->name);
        free(r->tag);
        free(r->digest);
        *r = (struct image_ref){0};
}

int imgconfig_parse_ref(const char *ref, struct image_ref *ret, struct err *err)
{
        _cleanup_(ref_parts_free) struct ref_parts p = {0};
        _cleanup_free_ char *head = NULL;
        struct image_ref out = {0};
        const char *at = strchr(ref, '@'), *colon, *familiar;
        size_t path_len;
        int r;

        if (!*ref)
                return err_client(err, -EINVAL, "invalid reference format");
        if (is_hex(ref, 64))
                return err_set(err, -EINVAL,
                               "invalid repository name (%s), cannot specify 64-byte "
                               "hexadecimal strings",
                               ref);
        if (at && !valid_digest(at + 1))
                return err_client(err, -EINVAL, "invalid reference format");
        head = at ? strndup(ref, (size_t)(at - ref)) : strdup(ref);
        if (!head || split_domain(head, &p) < 0)
                return err_set(err, -ENOMEM, "parsing reference %s", ref);
        colon = strchr(p.remainder, ':');
        path_len = colon ? (size_t)(colon - p.remainder) : strlen(p.remainder);
        r = check_reference(&p, colon ? colon + 1 : NULL, path_len, err);
        if (r < 0)
                return r;
        familiar = p.remainder;
        if (!p.domain && !strncmp(familiar, "library/", 8) &&
            !memchr(familiar + 8, '/', path_len - 8))
                familiar += 8;
        out.domain = strdup(p.domain ? p.domain : "docker.io");
        out.path = strndup(p.remainder, path_len);
        out.name = p.domain ? util_printf("%s/%.*s", p.domain, (int)path_len, p.remainder)
                            : strndup(familiar, path_len - (size_t)(familiar - p.remainder));
        out.tag = colon ? strdup(colon + 1) : NULL;
        out.digest = at ? strdup(at + 1) : NULL;
        if (!out.domain || !out.path || !out.name || (colon && !out.tag) || (at && !out.digest)) {
                image_ref_free(&out);
                return err_set(err, -ENOMEM, "parsing reference %s", ref);
        }
        *ret = out;
        return 0;
}

int imgconfig_parse_reference(const char *ref, char **ret_name, char **ret_tag, bool *ret_had_tag,
                              struct err *err)
{
        _cleanup_(image_ref_free) struct image_ref r = {0};
        int e = imgconfig_parse_ref(ref, &r, err);

        if (e < 0)
                return e;
        if (r.digest)
                return err_client(err, -EINVAL, "invalid reference format");
        if (ret_had_tag)
                *ret_had_tag = r.tag != NULL;
        if (ret_tag) {
                *ret_tag = r.tag ? TAKE_PTR(r.tag) : strdup("latest");
                if (!*ret_tag)
                        return err_set(err, -ENOMEM, "parsing reference %s", ref);
        }
        *ret_name = TAKE_PTR(r.name);
        return 0;
}

int imgconfig_normalize_reference(const char *ref, char **ret, struct err *err)
{
        _cleanup_free_ char *name = NULL, *tag = NULL;
        char *s;
        int r = imgconfig_parse_reference(ref, &name, &tag, NULL, err);

        if (r < 0)
                return r;
        s = util_printf("%s:%s", name, tag);
        if (!s)
                return err_set(err, -ENOMEM, "parsing reference %s", ref);
        *ret = s;
        return 0;
}

void imgconfig_merge_health(struct jv *user, const struct jv *image)
{
        static const char *const durations[] = {"Interval", "Timeout", "StartPeriod",
                                                "StartInterval", "Retries"};
        const struct jv *from = jv_get(image, "Healthcheck");
        struct jv *to = jv_get(user, "Healthcheck");

        if (!from)
                return;
        if (!to || jv_type(to) != JV_OBJECT) {
                jv_set(user, "Healthcheck", jv_copy(from));
                return;
        }
        if (jv_len(jv_get(to, "Test")) == 0 && jv_get(from, "Test"))
                jv_set(to, "Test", jv_copy(jv_get(from, "Test")));
        for (size_t i = 0; i < ARRAY_SIZE(durations); i++)
                if (jv_get_int(to, durations[i], 0) == 0 && jv_get(from, durations[i]))
                        jv_set(to, durations[i], jv_copy(jv_get(from, durations[i])));
}
