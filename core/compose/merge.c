/* Merging compose files as compose-go does (override/merge.go, override/uncity.go,
 * transform/): the trees of several files are merged in order with compose's special rules,
 * items of lists that name the same thing are made unique, and short forms are rewritten to
 * their long forms after each file, so that the next file merges onto the long forms as it
 * does in docker compose. Also the helpers on trees that the other files of the loader share. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

/* ---- paths and trees ---- */

struct compose_cpath compose_cpath_next(const struct compose_cpath *p, const char *key)
{
        struct compose_cpath n = *p;

        if (n.n < COMPOSE_CPATH_MAX)
                n.seg[n.n] = key;
        n.n++;
        return n;
}

bool compose_cpath_match(const struct compose_cpath *p, const char *pattern)
{
        const char *s = pattern;
        size_t i = 0;

        for (;;) {
                size_t len = strcspn(s, ".");
                if (i >= p->n || i >= COMPOSE_CPATH_MAX)
                        return false;
                if (!(len == 1 && *s == '*') &&
                    (strlen(p->seg[i]) != len || strncmp(p->seg[i], s, len) != 0))
                        return false;
                i++;
                s += len;
                if (!*s)
                        break;
                s++;
        }
        return i == p->n;
}

/* Whether a pattern of at most max keys can match p or a path below it: the patterns of the
 * rules all start with a top-level section, and none is longer than a few keys. Walks stop
 * there, so that extensions (x-*) of any depth cost nothing. */
static bool may_match(const struct compose_cpath *p, size_t max)
{
        static const char *const sections[] = {"services", "volumes", "networks",
                                               "secrets",  "configs", "include"};

        if (p->n == 0)
                return true;
        if (p->n >= max)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                if (!strcmp(p->seg[0], sections[i]))
                        return true;
        return false;
}

/* The path for messages, as compose-go's tree.Path prints one. */
static char *cpath_text(const struct compose_cpath *p)
{
        struct util_buf b = {0};

        for (size_t i = 0; i < p->n && i < COMPOSE_CPATH_MAX; i++) {
                if (i)
                        util_buf_addc(&b, '.');
                util_buf_add(&b, p->seg[i], strlen(p->seg[i]));
        }
        util_buf_add(&b, "", 0);
        return b.s;
}

bool compose_has(const struct jv *obj, const char *key)
{
        _cleanup_strv_ char **keys = NULL;

        if (jv_get(obj, key))
                return true;
        if (jv_type(obj) != JV_OBJECT)
                return false;
        keys = jv_keys(obj);
        return util_strv_contains(keys, key);
}

double compose_number(const struct jv *v)
{
        if (jv_type(v) == JV_INT)
                return (double)jv_int(v);
        if (jv_type(v) == JV_DOUBLE)
                return strtod(jv_to_string(v, false), NULL);
        return 0;
}

struct jv *compose_new_double(double d)
{
        _cleanup_jv_ struct jv *arr = NULL;
        struct err e = {0};
        char buf[64];
        int prec = 1;

        if (isnan(d) || isinf(d))
                d = 0;
        /* Through JSON text (json.h has no double constructor), the shortest that reads back,
         * with ".0" when it would read as an integer, in brackets: json-c waits for more after
         * a bare number at the end of its input. */
        do
                snprintf(buf, sizeof(buf), "[%.*g", prec, d);
        while (strtod(buf + 1, NULL) != d && ++prec <= 17);
        if (!strpbrk(buf, ".eEn"))
                strcat(buf, ".0");
        strcat(buf, "]");
        if (jv_parse(buf, &arr, &e) < 0)
                util_oom();
        return jv_ref(jv_at(arr, 0));
}

/* Go's %v of a float64: the shortest digits that read back, in %e form when the exponent is
 * below -4 or at least 6 (strconv's 'g' with precision -1), "1e+06", "0.0001". */
static void go_float(double d, struct util_buf *b)
{
        char buf[48], *e;
        int prec = 1, exp;

        if (isnan(d) || isinf(d)) {
                const char *s = isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
                util_buf_add(b, s, strlen(s));
                return;
        }
        do
                snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        while (strtod(buf, NULL) != d && ++prec <= 17);
        e = strchr(buf, 'e');
        exp = e ? atoi(e + 1) : 0;
        if (exp >= -4 && exp < 6)
                snprintf(buf, sizeof(buf), "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
        util_buf_add(b, buf, strlen(buf));
}

static void sprint(const struct jv *v, struct util_buf *b)
{
        char num[32];

        switch (jv_type(v)) {
        case JV_NULL:
                break;
        case JV_BOOL:
                util_buf_add(b, jv_bool(v) ? "true" : "false", jv_bool(v) ? 4 : 5);
                break;
        case JV_INT:
                snprintf(num, sizeof(num), "%lld", jv_int(v));
                util_buf_add(b, num, strlen(num));
                break;
        case JV_DOUBLE:
                go_float(compose_number(v), b);
                break;
        case JV_STRING:
                util_buf_add(b, jv_str(v), jv_str_len(v));
                break;
        case JV_ARRAY:
                util_buf_addc(b, '[');
                for (size_t i = 0; i < jv_len(v); i++) {
                        if (i)
                                util_buf_addc(b, ' ');
                        sprint(jv_at(v, i), b);
                }
                util_buf_addc(b, ']');
                break;
        case JV_OBJECT: {
                _cleanup_strv_ char **keys = jv_keys(v);
                util_buf_add(b, "map[", 4);
                for (size_t i = 0; keys && keys[i]; i++) {
                        if (i)
                                util_buf_addc(b, ' ');
                        util_buf_add(b, keys[i], strlen(keys[i]));
                        util_buf_addc(b, ':');
                        sprint(jv_get(v, keys[i]), b);
                }
                util_buf_addc(b, ']');
                break;
        }
        }
}

char *compose_sprint(const struct jv *v)
{
        struct util_buf b = {0};

        sprint(v, &b);
        util_buf_add(&b, "", 0);
        return b.s;
}

/* Go's == on two decoded values: scalars by value, null equal to null (and to missing). */
static bool same(const struct jv *a, const struct jv *b)
{
        if (jv_type(a) != jv_type(b))
                return false;
        return strcmp(jv_to_string(a, false), jv_to_string(b, false)) == 0;
}

/* ---- merging ---- */

typedef int (*merger_fn)(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                         struct err *err);

static int merge_value(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                       struct err *err);

/* The keys of obj whose value is null: with jv_get, they tell which keys obj has. */
static char **null_keys(const struct jv *obj)
{
        _cleanup_strv_ char **keys = jv_keys(obj);
        char **nulls = NULL;

        for (size_t i = 0; keys && keys[i]; i++)
                if (!jv_get(obj, keys[i]))
                        util_strv_push(&nulls, keys[i]);
        return nulls;
}

static int merge_mappings(struct jv *m, const struct jv *over, const struct compose_cpath *p,
                          struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(over), **nulls = null_keys(m);

        for (size_t i = 0; keys[i]; i++) {
                struct compose_cpath next = compose_cpath_next(p, keys[i]);
                struct jv *o = jv_get(over, keys[i]), *cur;
                int r;
                if (!jv_get(m, keys[i]) && !util_strv_contains(nulls, keys[i])) {
                        jv_set(m, keys[i], jv_copy(o));
                        continue;
                }
                cur = jv_get(m, keys[i]);
                if (cur)
                        jv_ref(cur);
                r = merge_value(&cur, o, &next, err);
                jv_set(m, keys[i], cur);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* convertIntoSequence: a mapping as sorted "KEY=VALUE" (a null value as "KEY", a list value
 * as one item per element), a string as a list of one. */
static struct jv *to_sequence(const struct jv *v)
{
        _cleanup_strv_ char **items = NULL;

        if (jv_type(v) == JV_ARRAY)
                return jv_copy(v);
        if (jv_type(v) == JV_STRING) {
                struct jv *a = jv_new_array();
                jv_append(a, jv_copy(v));
                return a;
        }
        if (jv_type(v) != JV_OBJECT)
                return jv_new_array();
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                struct jv *val = jv_get(v, keys[i]);
                size_t n = jv_type(val) == JV_ARRAY ? jv_len(val) : 1;
                if (!val) {
                        util_strv_push(&items, keys[i]);
                        continue;
                }
                for (size_t k = 0; k < n; k++) {
                        _cleanup_free_ char *s =
                                compose_sprint(jv_type(val) == JV_ARRAY ? jv_at(val, k) : val);
                        _cleanup_free_ char *item = util_printf("%s=%s", keys[i], s);
                        if (!item)
                                util_oom();
                        util_strv_push(&items, item);
                }
        }
        util_strv_sort(items);
        return jv_from_strv(items);
}

static int merge_to_sequence(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                             struct err *err)
{
        struct jv *right = to_sequence(*base);
        _cleanup_jv_ struct jv *left = to_sequence(over);

        (void)p, (void)err;
        for (size_t i = 0; i < jv_len(left); i++)
                jv_append(right, jv_copy(jv_at(left, i)));
        jv_put(*base);
        *base = right;
        return 0;
}

static int merge_extra_hosts(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                             struct err *err)
{
        struct jv *right = to_sequence(*base);
        _cleanup_jv_ struct jv *left = to_sequence(over);
        size_t n = jv_len(right);

        (void)p, (void)err;
        for (size_t i = 0; i < jv_len(left); i++) {
                bool dup = false;
                for (size_t k = 0; k < n && !dup; k++)
                        dup = same(jv_at(right, k), jv_at(left, i));
                if (!dup)
                        jv_append(right, jv_copy(jv_at(left, i)));
        }
        jv_put(*base);
        *base = right;
        return 0;
}

static int merge_override(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                          struct err *err)
{
        (void)p, (void)err;
        jv_put(*base);
        *base = jv_copy(over);
        return 0;
}

/* convertIntoMapping: a list of names as a mapping of each to a copy of dflt (null when
 * dflt is NULL); NULL for what is neither. */
static struct jv *to_mapping(const struct jv *v, const struct jv *dflt)
{
        struct jv *m;

        if (jv_type(v) == JV_OBJECT)
                return jv_copy(v);
        if (jv_type(v) != JV_ARRAY)
                return NULL;
        m = jv_new_object();
        for (size_t i = 0; i < jv_len(v); i++)
                if (jv_str(jv_at(v, i)))
                        jv_set(m, jv_str(jv_at(v, i)), jv_copy(dflt));
        return m;
}

/* Merges left into right (both mappings, right owned) and puts the result in *base. */
static int merge_converted(struct jv **base, struct jv *right, const struct jv *left,
                           const struct compose_cpath *p, struct err *err)
{
        int r = merge_mappings(right, left, p, err);

        if (r < 0) {
                jv_put(right);
                return r;
        }
        jv_put(*base);
        *base = right;
        return 0;
}

static int merge_as_maps(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                         const struct jv *dflt, struct err *err)
{
        _cleanup_jv_ struct jv *right = to_mapping(*base, dflt), *left = to_mapping(over, dflt);

        if (!right || !left)
                return merge_override(base, over, p, err);
        return merge_converted(base, TAKE_PTR(right), left, p, err);
}

static int merge_as_mapping(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                            struct err *err)
{
        return merge_as_maps(base, over, p, NULL, err);
}

static struct jv *new_dependency(const char *condition, bool required)
{
        struct jv *d = jv_new_object();

        jv_set_str(d, "condition", condition);
        jv_set_bool(d, "required", required);
        return d;
}

static int merge_depends_on(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                            struct err *err)
{
        _cleanup_jv_ struct jv *dflt = new_dependency("service_started", true);

        return merge_as_maps(base, over, p, dflt, err);
}

static int merge_logging(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                         struct err *err)
{
        if (jv_type(*base) != JV_OBJECT || jv_type(over) != JV_OBJECT)
                return merge_override(base, over, p, err);
        /* Options merge only when both files name the same driver, or one names none. */
        if (!compose_has(over, "driver") || !compose_has(*base, "driver") ||
            same(jv_get(over, "driver"), jv_get(*base, "driver")))
                return merge_mappings(*base, over, p, err);
        return merge_override(base, over, p, err);
}

static struct jv *to_build(const struct jv *v)
{
        struct jv *b;

        if (jv_type(v) == JV_OBJECT)
                return jv_copy(v);
        if (jv_type(v) != JV_STRING)
                return NULL;
        b = jv_new_object();
        jv_set(b, "context", jv_copy(v));
        return b;
}

static int merge_build(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                       struct err *err)
{
        _cleanup_jv_ struct jv *right = to_build(*base), *left = to_build(over);

        if (!right || !left)
                return left ? merge_override(base, over, p, err) : 0;
        return merge_converted(base, TAKE_PTR(right), left, p, err);
}

static ssize_t find_subnet(const struct jv *configs, const struct jv *subnet)
{
        for (size_t i = 0; i < jv_len(configs); i++)
                if (same(jv_get(jv_at(configs, i), "subnet"), subnet))
                        return (ssize_t)i;
        return -1;
}

/* mergeIPAMConfig, quirks included: each base pool merged with each override pool of its
 * subnet; a pool of another subnet added once. Pools are shared as in Go, where a merge
 * changes the base pool in place. */
static int merge_ipam_config(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                             struct err *err)
{
        _cleanup_jv_ struct jv *result = jv_new_array();
        int r;

        if (!*base)
                return merge_override(base, over, p, err);
        if (jv_type(*base) != JV_ARRAY || jv_type(over) != JV_ARRAY) {
                _cleanup_free_ char *at = cpath_text(p);
                return err_set(err, -EINVAL, "%s: unexpected type", at);
        }
        for (size_t i = 0; i < jv_len(*base); i++) {
                _cleanup_jv_ struct jv *right = to_mapping(jv_at(*base, i), NULL);
                if (!right)
                        continue;
                for (size_t k = 0; k < jv_len(over); k++) {
                        _cleanup_jv_ struct jv *left = to_mapping(jv_at(over, k), NULL);
                        _cleanup_jv_ struct jv *merged = NULL;
                        ssize_t at;
                        if (!left)
                                continue;
                        if (!same(jv_get(left, "subnet"), jv_get(right, "subnet")) &&
                            find_subnet(result, jv_get(left, "subnet")) < 0) {
                                jv_append(result, TAKE_PTR(left));
                                continue;
                        }
                        r = merge_mappings(right, left, p, err);
                        if (r < 0)
                                return r;
                        at = find_subnet(result, jv_get(right, "subnet"));
                        if (at < 0) {
                                jv_append(result, jv_ref(right));
                                continue;
                        }
                        /* json.h cannot replace an item: rebuild the list around it. */
                        merged = jv_new_array();
                        for (size_t m = 0; m < jv_len(result); m++)
                                jv_append(merged,
                                          jv_ref((ssize_t)m == at ? right : jv_at(result, m)));
                        jv_put(result);
                        result = TAKE_PTR(merged);
                }
        }
        /* Unshare what Go shares, so that later changes stay where they are made. */
        jv_put(*base);
        *base = jv_copy(result);
        return 0;
}

static const struct {
        const char *pattern;
        merger_fn fn;
} specials[] = {
        {"networks.*.ipam.config", merge_ipam_config},
        {"networks.*.labels", merge_to_sequence},
        {"volumes.*.labels", merge_to_sequence},
        {"services.*.annotations", merge_to_sequence},
        {"services.*.build", merge_build},
        {"services.*.build.args", merge_to_sequence},
        {"services.*.build.additional_contexts", merge_to_sequence},
        {"services.*.build.extra_hosts", merge_extra_hosts},
        {"services.*.build.labels", merge_to_sequence},
        {"services.*.command", merge_override},
        {"services.*.depends_on", merge_depends_on},
        {"services.*.deploy.labels", merge_to_sequence},
        {"services.*.dns", merge_to_sequence},
        {"services.*.dns_opt", merge_to_sequence},
        {"services.*.dns_search", merge_to_sequence},
        {"services.*.entrypoint", merge_override},
        {"services.*.env_file", merge_to_sequence},
        {"services.*.label_file", merge_to_sequence},
        {"services.*.environment", merge_to_sequence},
        {"services.*.extra_hosts", merge_extra_hosts},
        {"services.*.healthcheck.test", merge_override},
        {"services.*.labels", merge_to_sequence},
        {"services.*.volumes.*.volume.labels", merge_to_sequence},
        {"services.*.logging", merge_logging},
        {"services.*.models", merge_as_mapping},
        {"services.*.networks", merge_as_mapping},
        {"services.*.sysctls", merge_to_sequence},
        {"services.*.tmpfs", merge_to_sequence},
        /* mergeUlimit keeps only the override, whatever its form. */
        {"services.*.ulimits.*", merge_override},
};

static int cannot_override(const struct compose_cpath *p, struct err *err)
{
        _cleanup_free_ char *at = cpath_text(p);

        return err_set(err, -EINVAL, "cannot override %s", at);
}

static int merge_value(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                       struct err *err)
{
        for (size_t i = 0; i < ARRAY_SIZE(specials); i++)
                if (compose_cpath_match(p, specials[i].pattern))
                        return specials[i].fn(base, over, p, err);
        if (!over)
                return 0;
        switch (jv_type(*base)) {
        case JV_OBJECT:
                if (jv_type(over) != JV_OBJECT)
                        return cannot_override(p, err);
                return merge_mappings(*base, over, p, err);
        case JV_ARRAY:
                if (jv_type(over) != JV_ARRAY)
                        return cannot_override(p, err);
                for (size_t i = 0; i < jv_len(over); i++)
                        jv_append(*base, jv_copy(jv_at(over, i)));
                return 0;
        case JV_NULL:
        case JV_BOOL:
        case JV_INT:
        case JV_DOUBLE:
        case JV_STRING:
                break;
        }
        return merge_override(base, over, p, err);
}

int compose_merge(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                  struct err *err)
{
        return merge_value(base, over, p, err);
}

/* ---- !reset and !override ---- */

/* The keys of a compose_path_join path, escapes removed. */
static char **split_path(const char *path)
{
        char **keys = NULL;
        struct util_buf b = {0};

        for (const char *s = path;; s++) {
                if (*s == '\\' && s[1]) {
                        util_buf_addc(&b, *++s);
                        continue;
                }
                if (*s == '.' || !*s) {
                        util_strv_push(&keys, util_buf_str(&b));
                        util_buf_free(&b);
                        if (!*s)
                                break;
                        continue;
                }
                util_buf_addc(&b, *s);
        }
        return keys;
}

void compose_reset_apply(struct jv *dict, const struct jv *tags)
{
        _cleanup_strv_ char **paths = jv_keys_ordered(tags);

        for (size_t i = 0; paths[i]; i++) {
                _cleanup_strv_ char **keys = split_path(paths[i]);
                size_t n = util_strv_len(keys);
                struct jv *cur = dict;
                /* compose-go removes mapping members only, never sequence items. */
                for (size_t k = 0; cur && k + 1 < n; k++)
                        cur = jv_get(cur, keys[k]);
                if (!n || jv_type(cur) != JV_OBJECT || !compose_has(cur, keys[n - 1]))
                        continue;
                /* What !override replaces keeps its place (a service its rank): the merge
                 * puts the new value where the null is. */
                if (!strcmp(jv_get_str(tags, paths[i]) ?: "", "override"))
                        jv_set(cur, keys[n - 1], NULL);
                else
                        jv_del(cur, keys[n - 1]);
        }
}

/* ---- unique items ---- */

typedef int (*indexer_fn)(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err);

static int type_error(const struct compose_cpath *p, const char *what, struct err *err)
{
        _cleanup_free_ char *at = cpath_text(p);

        return err_set(err, -EINVAL, "%s: %s", at, what);
}

static char *xstrdup(const char *s)
{
        char *d = strdup(s ? s : "");

        if (!d)
                util_oom();
        return d;
}

/* The string member key of the mapping item, as its key; -EINVAL with the message fmt, the path
 * in it, when the item has none. */
static int member_indexer(const struct jv *item, const char *key, const struct compose_cpath *p,
                          const char *fmt, char **ret, struct err *err)
{
        _cleanup_free_ char *at = NULL;

        if (jv_get_str(item, key)) {
                *ret = xstrdup(jv_get_str(item, key));
                return 0;
        }
        at = cpath_text(p);
        return err_set(err, -EINVAL, fmt, at);
}

static int key_value_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                             struct err *err)
{
        const char *s = jv_str(item);

        if (!s)
                return type_error(p, "unexpected type", err);
        *ret = strndup(s, strcspn(s, "="));
        if (!*ret)
                util_oom();
        return 0;
}

static int volume_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err)
{
        _cleanup_jv_ struct jv *v = NULL;
        int r;

        if (jv_type(item) == JV_OBJECT)
                return member_indexer(item, "target", p,
                                      "service volume %s is missing a mount target", ret, err);
        if (!jv_str(item)) {
                *ret = xstrdup("");
                return 0;
        }
        r = compose_parse_volume(jv_str(item), &v, err);
        if (r < 0)
                return r;
        *ret = xstrdup(jv_get_str(v, "target"));
        return 0;
}

static int device_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err)
{
        const char *s = jv_str(item), *colon;

        if (jv_type(item) == JV_OBJECT)
                return member_indexer(item, "target", p,
                                      "service device %s is missing a mount target", ret, err);
        if (!s) {
                *ret = xstrdup("");
                return 0;
        }
        colon = strchr(s, ':');
        *ret = colon ? strndup(colon + 1, strcspn(colon + 1, ":")) : xstrdup(s);
        if (!*ret)
                util_oom();
        return 0;
}

static int expose_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err)
{
        if (jv_type(item) != JV_STRING && jv_type(item) != JV_INT)
                return type_error(p, "unsupported expose value", err);
        *ret = compose_sprint(item);
        return 0;
}

static int mount_indexer(const char *dflt, const struct jv *item, const struct compose_cpath *p,
                         char **ret, struct err *err)
{
        if (jv_str(item))
                *ret = util_printf("%s/%s", dflt, jv_str(item));
        else if (jv_type(item) == JV_OBJECT && jv_get_str(item, "target"))
                *ret = xstrdup(jv_get_str(item, "target"));
        else if (jv_type(item) == JV_OBJECT)
                *ret = util_printf("%s/%s", dflt, jv_get_str(item, "source") ?: "");
        else
                return type_error(p, "unsupported value", err);
        if (!*ret)
                util_oom();
        return 0;
}

static int secret_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err)
{
        return mount_indexer("/run/secrets", item, p, ret, err);
}

static int config_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                          struct err *err)
{
        return mount_indexer("", item, p, ret, err);
}

static int port_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                        struct err *err)
{
        if (jv_type(item) == JV_OBJECT) {
                _cleanup_free_ char *pub = compose_sprint(jv_get(item, "published"));
                _cleanup_free_ char *target = compose_sprint(jv_get(item, "target"));
                if (!compose_has(item, "target")) {
                        _cleanup_free_ char *at = cpath_text(p);
                        return err_set(err, -EINVAL, "service ports %s is missing a target port",
                                       at);
                }
                *ret = util_printf("%s:%s:%s/%s", jv_get_str(item, "host_ip") ?: "0.0.0.0", pub,
                                   target, jv_get_str(item, "protocol") ?: "tcp");
                if (!*ret)
                        util_oom();
                return 0;
        }
        *ret = compose_sprint(item);
        return 0;
}

static int env_file_indexer(const struct jv *item, const struct compose_cpath *p, char **ret,
                            struct err *err)
{
        if (jv_type(item) == JV_OBJECT)
                return member_indexer(item, "path", p, "environment path attribute %s is missing",
                                      ret, err);
        *ret = xstrdup(jv_str(item));
        return 0;
}

static const struct {
        const char *pattern;
        indexer_fn fn;
} unique[] = {
        {"networks.*.labels", key_value_indexer},
        {"networks.*.ipam.options", key_value_indexer},
        {"services.*.annotations", key_value_indexer},
        {"services.*.build.args", key_value_indexer},
        {"services.*.build.additional_contexts", key_value_indexer},
        {"services.*.build.platform", key_value_indexer},
        {"services.*.build.tags", key_value_indexer},
        {"services.*.build.labels", key_value_indexer},
        {"services.*.cap_add", key_value_indexer},
        {"services.*.cap_drop", key_value_indexer},
        {"services.*.devices", device_indexer},
        {"services.*.configs", config_indexer},
        {"services.*.deploy.labels", key_value_indexer},
        {"services.*.dns", key_value_indexer},
        {"services.*.dns_opt", key_value_indexer},
        {"services.*.dns_search", key_value_indexer},
        {"services.*.environment", key_value_indexer},
        {"services.*.env_file", env_file_indexer},
        {"services.*.expose", expose_indexer},
        {"services.*.labels", key_value_indexer},
        {"services.*.links", key_value_indexer},
        {"services.*.networks.*.aliases", key_value_indexer},
        {"services.*.networks.*.link_local_ips", key_value_indexer},
        {"services.*.ports", port_indexer},
        {"services.*.profiles", key_value_indexer},
        {"services.*.secrets", secret_indexer},
        {"services.*.sysctls", key_value_indexer},
        {"services.*.tmpfs", key_value_indexer},
        {"services.*.volumes", volume_indexer},
};

/* The items of arr, a later one with an earlier one's key taking its place. */
static int make_unique(const struct jv *arr, indexer_fn fn, const struct compose_cpath *p,
                       struct jv **ret, struct err *err)
{
        size_t n = jv_len(arr), count = 0;
        _cleanup_free_ const struct jv **items = calloc(n + 1, sizeof(*items));
        _cleanup_strv_ char **keys = calloc(n + 1, sizeof(*keys));
        struct jv *out;

        if (!items || !keys)
                util_oom();
        for (size_t i = 0; i < n; i++) {
                struct compose_cpath item = compose_cpath_next(p, "[]");
                char *key = NULL;
                size_t k;
                int r = fn(jv_at(arr, i), &item, &key, err);
                if (r < 0)
                        return r;
                for (k = 0; k < count && strcmp(keys[k], key) != 0; k++)
                        ;
                items[k] = jv_at(arr, i);
                if (k == count)
                        keys[count++] = key;
                else
                        free(key);
        }
        out = jv_new_array();
        for (size_t i = 0; i < count; i++)
                jv_append(out, jv_copy(items[i]));
        *ret = out;
        return 0;
}

static int unicity(struct jv *obj, const struct compose_cpath *p, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(obj);

        for (size_t i = 0; keys[i]; i++) {
                struct compose_cpath next = compose_cpath_next(p, keys[i]);
                struct jv *v = jv_get(obj, keys[i]), *u = NULL;
                int r = 0;
                if (jv_type(v) == JV_OBJECT && may_match(&next, 5)) {
                        r = unicity(v, &next, err);
                } else if (jv_type(v) == JV_ARRAY) {
                        for (size_t k = 0; k < ARRAY_SIZE(unique); k++)
                                if (compose_cpath_match(&next, unique[k].pattern)) {
                                        r = make_unique(v, unique[k].fn, &next, &u, err);
                                        if (r >= 0)
                                                jv_set(obj, keys[i], u);
                                        break;
                                }
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int compose_unicity(struct jv *dict, struct err *err)
{
        struct compose_cpath root = {.n = 0};

        return unicity(dict, &root, err);
}

/* ---- canonical forms ---- */

struct canon {
        char ***warnings;
};

typedef int (*canon_fn)(struct canon *c, struct jv **v, const struct compose_cpath *p,
                        struct err *err);

static int canon(struct canon *c, struct jv **v, const struct compose_cpath *p, struct err *err);

static int canon_mapping(struct canon *c, struct jv *obj, const struct compose_cpath *p,
                         struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(obj);

        for (size_t i = 0; keys[i]; i++) {
                struct compose_cpath next = compose_cpath_next(p, keys[i]);
                struct jv *v = jv_get(obj, keys[i]);
                int r;
                if (v)
                        jv_ref(v);
                r = canon(c, &v, &next, err);
                jv_set(obj, keys[i], v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int canon_sequence(struct canon *c, struct jv **v, const struct compose_cpath *p,
                          struct err *err)
{
        struct compose_cpath next = compose_cpath_next(p, "[]");
        _cleanup_jv_ struct jv *out = jv_new_array();

        for (size_t i = 0; i < jv_len(*v); i++) {
                struct jv *item = jv_copy(jv_at(*v, i));
                int r = canon(c, &item, &next, err);
                jv_append(out, item);
                if (r < 0)
                        return r;
        }
        jv_put(*v);
        *v = TAKE_PTR(out);
        return 0;
}

static void replace(struct jv **v, struct jv *with)
{
        jv_put(*v);
        *v = with;
}

static struct jv *wrap_list(struct jv *item)
{
        struct jv *a = jv_new_array();

        jv_append(a, item);
        return a;
}

static struct jv *wrap_map(const char *key, struct jv *val)
{
        struct jv *m = jv_new_object();

        jv_set(m, key, val);
        return m;
}

static int invalid_type(const struct compose_cpath *p, const char *what, struct err *err)
{
        _cleanup_free_ char *at = cpath_text(p);

        return err_set(err, -EINVAL, "%s: invalid type for %s", at, what);
}

static int canon_string_or_list(struct canon *c, struct jv **v, const struct compose_cpath *p,
                                struct err *err)
{
        (void)c, (void)p, (void)err;
        if (jv_type(*v) == JV_STRING)
                replace(v, wrap_list(jv_ref(*v)));
        return 0;
}

/* OmitEmpty: an empty dns server is as good as none. */
static int canon_dns(struct canon *c, struct jv **v, const struct compose_cpath *p, struct err *err)
{
        struct jv *out;

        canon_string_or_list(c, v, p, err);
        if (jv_type(*v) != JV_ARRAY)
                return 0;
        out = jv_new_array();
        for (size_t i = 0; i < jv_len(*v); i++) {
                struct jv *item = jv_at(*v, i);
                if (item && !(jv_str(item) && !*jv_str(item)))
                        jv_append(out, jv_copy(item));
        }
        replace(v, out);
        return 0;
}

static int canon_service(struct canon *c, struct jv **v, const struct compose_cpath *p,
                         struct err *err)
{
        return jv_type(*v) == JV_OBJECT ? canon_mapping(c, *v, p, err) : 0;
}

static int canon_string_or_x(struct canon *c, struct jv **v, const struct compose_cpath *p,
                             struct err *err)
{
        (void)c, (void)p, (void)err;
        if (jv_type(*v) != JV_STRING) {
                _cleanup_free_ char *s = compose_sprint(*v);
                replace(v, jv_new_string(s));
        }
        return 0;
}

/* A list of "KEY=VALUE" as a mapping (a mapping kept as it is). With ssh, "default" alone
 * stands for a key without a value. */
static int canon_key_values(struct jv **v, const struct compose_cpath *p, bool ssh, struct err *err)
{
        struct jv *m;

        if (jv_type(*v) == JV_OBJECT)
                return 0;
        if (jv_type(*v) != JV_ARRAY)
                return invalid_type(p, ssh ? "ssh" : "a mapping", err);
        m = jv_new_object();
        for (size_t i = 0; i < jv_len(*v); i++) {
                const char *s = jv_str(jv_at(*v, i)), *eq = s ? strchr(s, '=') : NULL;
                _cleanup_free_ char *k = NULL;
                if (!eq && !(ssh && s && !strcmp(s, "default"))) {
                        _cleanup_free_ char *at = ssh ? NULL : cpath_text(p);
                        jv_put(m);
                        if (ssh)
                                return err_set(err, -EINVAL, "invalid ssh key \"%s\"", s ? s : "");
                        return err_set(err, -EINVAL, "%s: invalid value %s, expected key=value", at,
                                       s ? s : "");
                }
                k = strndup(s, eq ? (size_t)(eq - s) : strlen(s));
                if (!k)
                        util_oom();
                jv_set(m, k, eq ? jv_new_string(eq + 1) : NULL);
        }
        replace(v, m);
        return 0;
}

static int canon_key_value(struct canon *c, struct jv **v, const struct compose_cpath *p,
                           struct err *err)
{
        (void)c;
        return canon_key_values(v, p, false, err);
}

static int canon_ssh(struct canon *c, struct jv **v, const struct compose_cpath *p, struct err *err)
{
        (void)c;
        return canon_key_values(v, p, true, err);
}

static int canon_depends_on(struct canon *c, struct jv **v, const struct compose_cpath *p,
                            struct err *err)
{
        (void)c;
        if (jv_type(*v) == JV_ARRAY) {
                struct jv *m = jv_new_object();
                for (size_t i = 0; i < jv_len(*v); i++)
                        if (jv_str(jv_at(*v, i)))
                                jv_set(m, jv_str(jv_at(*v, i)),
                                       new_dependency("service_started", true));
                replace(v, m);
                return 0;
        }
        if (jv_type(*v) != JV_OBJECT)
                return invalid_type(p, "depends_on", err);
        _cleanup_strv_ char **keys = jv_keys_ordered(*v);
        for (size_t i = 0; keys[i]; i++) {
                struct jv *d = jv_get(*v, keys[i]);
                if (jv_type(d) != JV_OBJECT) {
                        _cleanup_free_ char *at = cpath_text(p);
                        return err_set(err, -EINVAL, "%s.%s: unsupported value", at, keys[i]);
                }
                if (!compose_has(d, "condition"))
                        jv_set_str(d, "condition", "service_started");
                if (!compose_has(d, "required"))
                        jv_set_bool(d, "required", true);
        }
        return 0;
}

static struct jv *env_file_value(const struct jv *v)
{
        struct jv *m;

        if (jv_type(v) == JV_STRING) {
                m = jv_new_object();
                jv_set(m, "path", jv_copy(v));
                jv_set_bool(m, "required", true);
                return m;
        }
        if (jv_type(v) != JV_OBJECT)
                return NULL;
        m = jv_copy(v);
        if (!compose_has(m, "required"))
                jv_set_bool(m, "required", true);
        return m;
}

static int canon_env_file(struct canon *c, struct jv **v, const struct compose_cpath *p,
                          struct err *err)
{
        struct jv *out;

        (void)c;
        if (jv_type(*v) == JV_STRING) {
                replace(v, wrap_list(env_file_value(*v)));
                return 0;
        }
        if (jv_type(*v) != JV_ARRAY)
                return invalid_type(p, "env_file", err);
        out = jv_new_array();
        for (size_t i = 0; i < jv_len(*v); i++)
                jv_append(out, env_file_value(jv_at(*v, i)));
        replace(v, out);
        return 0;
}

static int canon_gpus(struct canon *c, struct jv **v, const struct compose_cpath *p,
                      struct err *err)
{
        if (jv_type(*v) == JV_STRING) {
                replace(v, wrap_list(wrap_map("count", jv_new_string("all"))));
                return 0;
        }
        if (jv_type(*v) != JV_ARRAY)
                return invalid_type(p, "gpus", err);
        return canon_sequence(c, v, p, err);
}

static int canon_slice_to_map(struct canon *c, struct jv **v, const struct compose_cpath *p,
                              struct err *err)
{
        (void)c, (void)p, (void)err;
        if (jv_type(*v) == JV_ARRAY)
                replace(v, to_mapping(*v, NULL));
        return 0;
}

static int canon_volume_mount(struct canon *c, struct jv **v, const struct compose_cpath *p,
                              struct err *err)
{
        struct jv *vol = NULL;
        int r;

        (void)c;
        if (jv_type(*v) == JV_OBJECT)
                return 0;
        if (jv_type(*v) != JV_STRING)
                return invalid_type(p, "service volume mount", err);
        r = compose_parse_volume(jv_str(*v), &vol, err);
        if (r < 0)
                return r;
        replace(v, vol);
        return 0;
}

static int canon_ports(struct canon *c, struct jv **v, const struct compose_cpath *p,
                       struct err *err)
{
        _cleanup_jv_ struct jv *out = jv_new_array();

        (void)c;
        if (jv_type(*v) != JV_ARRAY)
                return invalid_type(p, "port", err);
        for (size_t i = 0; i < jv_len(*v); i++) {
                struct jv *e = jv_at(*v, i);
                _cleanup_free_ char *spec = NULL;
                int r;
                if (jv_type(e) == JV_OBJECT) {
                        jv_append(out, jv_copy(e));
                        continue;
                }
                if (jv_type(e) != JV_INT && jv_type(e) != JV_STRING)
                        return invalid_type(p, "port", err);
                spec = compose_sprint(e);
                r = compose_parse_port(spec, out, err);
                if (r < 0)
                        return r;
        }
        replace(v, TAKE_PTR(out));
        return 0;
}

static int canon_ulimits(struct canon *c, struct jv **v, const struct compose_cpath *p,
                         struct err *err)
{
        (void)c;
        if (jv_type(*v) != JV_OBJECT && jv_type(*v) != JV_INT)
                return invalid_type(p, "ulimits", err);
        return 0;
}

static int canon_maybe_external(struct canon *c, struct jv **v, const struct compose_cpath *p,
                                struct err *err)
{
        struct jv *ext, *extname;
        int r;

        if (!*v)
                return 0;
        if (jv_type(*v) != JV_OBJECT)
                return invalid_type(p, "a resource", err);
        r = canon_mapping(c, *v, p, err);
        if (r < 0)
                return r;
        ext = jv_get(*v, "external");
        if (jv_type(ext) != JV_OBJECT)
                return 0;
        extname = jv_ref(jv_get(ext, "name"));
        jv_set_bool(*v, "external", true);
        if (compose_has(ext, "name") || extname) {
                _cleanup_free_ char *at = cpath_text(p);
                char *w = util_printf("%s: external.name is deprecated. Please set name and "
                                      "external: true",
                                      at);
                if (!w)
                        util_oom();
                if (c->warnings && !util_strv_contains(*c->warnings, w))
                        util_strv_push(c->warnings, w);
                free(w);
                if (compose_has(*v, "name") && !same(jv_get(*v, "name"), extname)) {
                        jv_put(extname);
                        return err_set(err, -EINVAL,
                                       "%s: name and external.name conflict; only use name", at);
                }
                if (!compose_has(*v, "name")) {
                        jv_set(*v, "name", extname);
                        return 0;
                }
        }
        jv_put(extname);
        return 0;
}

static const struct {
        const char *pattern;
        canon_fn fn;
} transformers[] = {
        {"services.*", canon_service},
        {"services.*.build.provenance", canon_string_or_x},
        {"services.*.build.sbom", canon_string_or_x},
        {"services.*.build.additional_contexts", canon_key_value},
        {"services.*.depends_on", canon_depends_on},
        {"services.*.env_file", canon_env_file},
        {"services.*.label_file", canon_string_or_list},
        {"services.*.gpus", canon_gpus},
        {"services.*.networks", canon_slice_to_map},
        {"services.*.models", canon_slice_to_map},
        {"services.*.volumes.*", canon_volume_mount},
        {"services.*.dns", canon_dns},
        {"services.*.ports", canon_ports},
        {"services.*.build.ssh", canon_ssh},
        {"services.*.ulimits.*", canon_ulimits},
        {"services.*.build.ulimits.*", canon_ulimits},
        {"services.*.develop.watch.*.ignore", canon_string_or_list},
        {"services.*.develop.watch.*.include", canon_string_or_list},
        {"volumes.*", canon_maybe_external},
        {"networks.*", canon_maybe_external},
        {"secrets.*", canon_maybe_external},
        {"configs.*", canon_maybe_external},
};

/* Where a string stands for a mapping of one key to it: what such a mapping is called in
 * messages, and whether its members are made canonical in turn. */
static const struct string_form {
        const char *pattern, *key, *what;
        bool deep;
} string_forms[] = {
        {"services.*.build", "context", "build", true},
        {"services.*.build.secrets.*", "source", "a file mount", false},
        {"services.*.extends", "service", "extends", true},
        {"services.*.secrets.*", "source", "a file mount", false},
        {"services.*.configs.*", "source", "a file mount", false},
        {"include.*", "path", "include", false},
};

static int canon_string_form(struct canon *c, struct jv **v, const struct compose_cpath *p,
                             const struct string_form *f, struct err *err)
{
        if (jv_type(*v) == JV_STRING) {
                replace(v, wrap_map(f->key, jv_ref(*v)));
                return 0;
        }
        if (jv_type(*v) != JV_OBJECT)
                return invalid_type(p, f->what, err);
        return f->deep ? canon_mapping(c, *v, p, err) : 0;
}

static int canon(struct canon *c, struct jv **v, const struct compose_cpath *p, struct err *err)
{
        for (size_t i = 0; i < ARRAY_SIZE(transformers); i++)
                if (compose_cpath_match(p, transformers[i].pattern))
                        return transformers[i].fn(c, v, p, err);
        for (size_t i = 0; i < ARRAY_SIZE(string_forms); i++)
                if (compose_cpath_match(p, string_forms[i].pattern))
                        return canon_string_form(c, v, p, &string_forms[i], err);
        if (!may_match(p, 6))
                return 0;
        if (jv_type(*v) == JV_OBJECT)
                return canon_mapping(c, *v, p, err);
        if (jv_type(*v) == JV_ARRAY)
                return canon_sequence(c, v, p, err);
        return 0;
}

int compose_canonical(struct jv *dict, char ***warnings, struct err *err)
{
        struct compose_cpath root = {.n = 0};
        struct canon c = {.warnings = warnings};

        return canon_mapping(&c, dict, &root, err);
}
