/* The check of one compose file against the Compose Specification's schema (compose-go's
 * schema/compose-spec.json), done per file right after interpolation, where every node still
 * has its file, line and column: unknown keys, wrong types, names, and the short forms that
 * would not parse later. Strings where a boolean or a number belongs are converted here, as
 * compose-go's type casts convert them after interpolation. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/cleanup.h"
#include "../base/util.h"
#include "internal.h"

struct chk {
        const char *file;
        const struct jv *pos;
        char ***warnings;
};

/* What a key may hold. */
enum kind {
        K_ANY,
        K_STR,
        K_STR_NULL,
        K_BOOL,     /* a boolean, or a string cast to one */
        K_INT,      /* an integer, or a string cast to one */
        K_NUM,      /* a number, or a string cast to one */
        K_STR_INT,  /* a string or an integer, kept */
        K_STR_NUM,  /* a string or a number, kept */
        K_BYTES,    /* an integer, or a size ("512m") */
        K_DURATION, /* a Go duration ("1m30s") */
        K_STRLIST,
        K_STR_NUM_LIST,
        K_STR_OR_LIST,
        K_LIST_OR_DICT,
        K_CMD, /* null, a string or a list of strings */
        K_OBJ,
        K_ARR,
        K_SUB, /* what the field's rule says */
};

struct rule;
typedef int (*check_fn)(struct chk *c, struct jv *parent, const char *key, const char *path,
                        struct err *err);
typedef int (*item_fn)(struct chk *c, struct jv *v, const char *path, struct err *err);

/* A key the Compose Specification defines: what kind of value it holds, and the rule that
 * value follows beyond its kind (NULL: none). */
struct field {
        const char *key;
        enum kind kind;
        const struct rule *rule;
};

/* What a value must be beyond its kind: what a check of its own says; else, for a list
 * (K_ARR), what each item's check says; else a mapping of fields (each item of a list) with
 * the required keys, where a string or null may stand for it when the rule allows one. With
 * names, the value maps names of that kind ("network", x-* aside) to such mappings. */
struct rule {
        check_fn check;
        item_fn item;
        const struct field *fields;
        size_t n;
        const char *required[2];
        bool or_string, or_null;
        const char *names;
};

#define FIELDS(table) .fields = table, .n = ARRAY_SIZE(table)

/* "FILE:LINE:COL" of path, or of its nearest ancestor that has one. */
static char *position(struct chk *c, const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                util_oom();
        for (;;) {
                const char *at = jv_get_str(c->pos, p);
                char *dot = NULL;
                if (at) {
                        char *s = strdup(at);
                        if (!s)
                                util_oom();
                        return s;
                }
                if (!*p)
                        break;
                for (char *s = p; *s; s++) {
                        if (*s == '\\' && s[1])
                                s++;
                        else if (*s == '.')
                                dot = s;
                }
                if (dot)
                        *dot = '\0';
                else
                        *p = '\0';
        }
        return util_printf("%s", c->file);
}

static char *child(const char *path, const char *key)
{
        return compose_path_join(path, key);
}

static char *item(const char *path, size_t i)
{
        char idx[24];

        snprintf(idx, sizeof(idx), "%zu", i);
        return compose_path_join(path, idx);
}

static int vfail(struct chk *c, const char *at_path, const char *path, struct err *err,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* -EINVAL "FILE:LINE:COL: PATH MESSAGE", the position that of at_path; a message starting
 * with ':' follows the path directly. */
static int vfail(struct chk *c, const char *at_path, const char *path, struct err *err,
                 const char *fmt, va_list ap)
{
        _cleanup_free_ char *at = position(c, at_path), *shown = compose_path_display(path);
        _cleanup_free_ char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (!at || !msg)
                util_oom();
        return err_set(err, -EINVAL, "%s: %s%s%s", at, *shown ? shown : "(root)",
                       *msg == ':' ? "" : " ", msg);
}

static int fail(struct chk *c, const char *path, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(struct chk *c, const char *path, struct err *err, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(c, path, path, err, fmt, ap);
        va_end(ap);
        return r;
}

static int fail_at(struct chk *c, const char *at_path, const char *path, struct err *err,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail_at(struct chk *c, const char *at_path, const char *path, struct err *err,
                   const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(c, at_path, path, err, fmt, ap);
        va_end(ap);
        return r;
}

static void warn(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct chk *c, const char *fmt, ...)
{
        char *w = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&w, fmt, ap) < 0)
                util_oom();
        va_end(ap);
        if (c->warnings && !util_strv_contains(*c->warnings, w))
                util_strv_push(c->warnings, w);
        free(w);
}

/* ---- casts (compose-go's loader/interpolate.go) ---- */

static int cast_bool(struct chk *c, const char *s, const char *path, bool *ret, struct err *err)
{
        static const char *const yes[] = {"y", "yes", "on"}, *const no[] = {"n", "no", "off"};
        _cleanup_free_ char *lc = strdup(s);

        if (!lc)
                util_oom();
        for (char *p = lc; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        if (!strcmp(lc, "true") || !strcmp(lc, "false")) {
                *ret = lc[0] == 't';
                return 0;
        }
        for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
                if (!strcmp(lc, yes[i]) || !strcmp(lc, no[i])) {
                        *ret = !strcmp(lc, yes[i]);
                        warn(c, "\"%s\" for boolean is not supported by YAML 1.2, please use `%s`",
                             s, *ret ? "true" : "false");
                        return 0;
                }
        return fail(c, path, err, ": invalid boolean: %s", s);
}

static bool parse_int(const char *s, long long *ret)
{
        return util_parse_ll(s + (*s == '+'), LLONG_MIN, LLONG_MAX, ret) >= 0 &&
               !(*s == '+' && (s[1] == '-' || s[1] == '+'));
}

static bool parse_num(const char *s, double *ret)
{
        char *end;

        if (!*s)
                return false;
        errno = 0;
        *ret = strtod(s, &end);
        return !*end && errno == 0;
}

/* ---- kinds ---- */

static int check_strlist(struct chk *c, const struct jv *v, const char *path, bool numbers,
                         struct err *err)
{
        if (jv_type(v) != JV_ARRAY)
                return fail(c, path, err, "must be a list");
        for (size_t i = 0; i < jv_len(v); i++) {
                enum jv_type t = jv_type(jv_at(v, i));
                if (t != JV_STRING && !(numbers && (t == JV_INT || t == JV_DOUBLE))) {
                        _cleanup_free_ char *p = item(path, i);
                        return fail(c, p, err,
                                    numbers ? "must be a string or a number" : "must be a string");
                }
        }
        return 0;
}

static int check_list_or_dict(struct chk *c, const struct jv *v, const char *path, struct err *err)
{
        if (jv_type(v) == JV_ARRAY)
                return check_strlist(c, v, path, false, err);
        if (jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a mapping or a list");
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                enum jv_type t = jv_type(jv_get(v, keys[i]));
                if (t == JV_ARRAY || t == JV_OBJECT) {
                        _cleanup_free_ char *p = child(path, keys[i]);
                        return fail(c, p, err, "must be a string, number, boolean or null");
                }
        }
        return 0;
}

static int check_kind(struct chk *c, struct jv *parent, const char *key, enum kind kind,
                      const char *path, struct err *err)
{
        struct jv *v = jv_get(parent, key);
        enum jv_type t = jv_type(v);
        const char *s = jv_str(v);
        long long i;
        int64_t ns;
        double d;
        bool b = false;
        int r;

        switch (kind) {
        case K_ANY:
        case K_SUB:
                return 0;
        case K_STR:
                return s ? 0 : fail(c, path, err, "must be a string");
        case K_STR_NULL:
                return s || !v ? 0 : fail(c, path, err, "must be a string or null");
        case K_BOOL:
                if (t == JV_BOOL)
                        return 0;
                if (!s)
                        return fail(c, path, err, "must be a boolean");
                r = cast_bool(c, s, path, &b, err);
                if (r >= 0)
                        jv_set_bool(parent, key, b);
                return r;
        case K_INT:
                if (t == JV_INT)
                        return 0;
                if (t == JV_DOUBLE && compose_number(v) == (double)(long long)compose_number(v)) {
                        jv_set_int(parent, key, (long long)compose_number(v));
                        return 0;
                }
                if (!s)
                        return fail(c, path, err, "must be an integer");
                if (!parse_int(s, &i))
                        return fail(c, path, err, ": invalid integer: %s", s);
                jv_set_int(parent, key, i);
                return 0;
        case K_NUM:
                if (t == JV_INT || t == JV_DOUBLE)
                        return 0;
                if (!s)
                        return fail(c, path, err, "must be a number");
                if (!parse_num(s, &d))
                        return fail(c, path, err, ": invalid number: %s", s);
                jv_set(parent, key, compose_new_double(d));
                return 0;
        case K_STR_INT:
                return s || t == JV_INT ? 0 : fail(c, path, err, "must be a string or an integer");
        case K_STR_NUM:
                return s || t == JV_INT || t == JV_DOUBLE
                               ? 0
                               : fail(c, path, err, "must be a string or a number");
        case K_BYTES:
                if (t == JV_INT)
                        return 0;
                if (!s)
                        return fail(c, path, err, "must be a string or an integer");
                if (!parse_int(s, &i) && util_parse_ram_bytes(s, &i) < 0)
                        return fail(c, path, err, ": invalid size: '%s'", s);
                return 0;
        case K_DURATION:
                if (!s)
                        return fail(c, path, err, "must be a string");
                if (compose_parse_duration(s, &ns) < 0)
                        return fail(c, path, err, ": invalid duration: %s", s);
                return 0;
        case K_STRLIST:
        case K_STR_NUM_LIST:
                return check_strlist(c, v, path, kind == K_STR_NUM_LIST, err);
        case K_STR_OR_LIST:
                return s ? 0 : check_strlist(c, v, path, false, err);
        case K_LIST_OR_DICT:
                return check_list_or_dict(c, v, path, err);
        case K_CMD:
                return !v || s ? 0 : check_strlist(c, v, path, false, err);
        case K_OBJ:
                return t == JV_OBJECT ? 0 : fail(c, path, err, "must be a mapping");
        case K_ARR:
                return t == JV_ARRAY ? 0 : fail(c, path, err, "must be a list");
        }
        return 0;
}

static int check_rule(struct chk *c, struct jv *parent, const char *key, enum kind kind,
                      const struct rule *rule, const char *path, struct err *err);

/* The members of the mapping obj against fields. */
static int check_fields(struct chk *c, struct jv *obj, const char *path, const struct field *f,
                        size_t n, struct err *err)
{
        if (jv_type(obj) != JV_OBJECT)
                return fail(c, path, err, "must be a mapping");
        _cleanup_strv_ char **keys = jv_keys_ordered(obj);
        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                size_t k;
                int r;
                if (!strncmp(keys[i], "x-", 2))
                        continue;
                for (k = 0; k < n && strcmp(f[k].key, keys[i]) != 0; k++)
                        ;
                if (k == n)
                        return fail_at(c, p, path, err, "additional property %s is not allowed",
                                       keys[i]);
                r = check_kind(c, obj, keys[i], f[k].kind, p, err);
                if (r >= 0 && f[k].rule)
                        r = check_rule(c, obj, keys[i], f[k].kind, f[k].rule, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int require(struct chk *c, const struct jv *obj, const char *key, const char *path,
                   struct err *err)
{
        if (jv_type(obj) == JV_OBJECT && !compose_has(obj, key))
                return fail(c, path, err, ": missing property '%s'", key);
        return 0;
}

#define CHECK_FIELDS(c, obj, path, fields, err)                                                    \
        check_fields(c, obj, path, fields, ARRAY_SIZE(fields), err)

/* v as the mapping rule describes: its fields and required keys, or a string or null where
 * the rule allows one. */
static int check_mapping(struct chk *c, struct jv *v, const char *path, const struct rule *rule,
                         struct err *err)
{
        int r;

        if ((rule->or_string && jv_str(v)) || (rule->or_null && !v))
                return 0;
        if (rule->or_string && jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a string or a mapping");
        r = check_fields(c, v, path, rule->fields, rule->n, err);
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(rule->required) && rule->required[i]; i++)
                r = require(c, v, rule->required[i], path, err);
        return r;
}

/* Each item of list by rule's item check, or as its mapping. */
static int each_item(struct chk *c, struct jv *list, const char *path, const struct rule *rule,
                     struct err *err)
{
        for (size_t i = 0; i < jv_len(list); i++) {
                _cleanup_free_ char *p = item(path, i);
                struct jv *v = jv_at(list, i);
                int r = rule->item ? rule->item(c, v, p, err) : check_mapping(c, v, p, rule, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool name_ok(const char *s)
{
        return *s &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                       strlen(s);
}

/* The mapping v of names of rule->names (x-* aside) to the mappings rule describes. */
static int check_named(struct chk *c, struct jv *v, const char *path, const struct rule *rule,
                       struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys_ordered(v);

        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                int r;
                if (!strncmp(keys[i], "x-", 2))
                        continue;
                if (!name_ok(keys[i]))
                        return fail(c, p, err,
                                    ": invalid %s name \"%s\": it must match ^[a-zA-Z0-9._-]+$",
                                    rule->names, keys[i]);
                r = check_mapping(c, jv_get(v, keys[i]), p, rule, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* parent[key], of the given kind, against rule. */
static int check_rule(struct chk *c, struct jv *parent, const char *key, enum kind kind,
                      const struct rule *rule, const char *path, struct err *err)
{
        struct jv *v = jv_get(parent, key);

        if (rule->check)
                return rule->check(c, parent, key, path, err);
        if (kind == K_ARR)
                return each_item(c, v, path, rule, err);
        if (rule->names)
                return check_named(c, v, path, rule, err);
        return check_mapping(c, v, path, rule, err);
}

/* ---- service fields ---- */

static const struct field ulimit_fields[] = {
        {"hard", K_INT, NULL},
        {"soft", K_INT, NULL},
};
static const struct rule ulimit_rule = {FIELDS(ulimit_fields), .required = {"soft", "hard"}};

static int check_ulimits(struct chk *c, struct jv *parent, const char *key, const char *path,
                         struct err *err)
{
        struct jv *v = jv_get(parent, key);

        if (jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a mapping");
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                struct jv *u = jv_get(v, keys[i]);
                int r;
                if (!strncmp(keys[i], "x-", 2))
                        continue;
                if (jv_type(u) == JV_OBJECT)
                        r = check_mapping(c, u, p, &ulimit_rule, err);
                else
                        r = check_kind(c, v, keys[i], K_INT, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct rule ulimits_rule = {.check = check_ulimits};

static int check_extra_hosts(struct chk *c, struct jv *parent, const char *key, const char *path,
                             struct err *err)
{
        struct jv *v = jv_get(parent, key);
        int r;

        if (jv_type(v) == JV_ARRAY) {
                r = check_strlist(c, v, path, false, err);
                for (size_t i = 0; r >= 0 && i < jv_len(v); i++) {
                        const char *s = jv_str(jv_at(v, i));
                        size_t host = strcspn(s, "=:");
                        _cleanup_free_ char *p = item(path, i);
                        if (!s[host])
                                return fail(c, p, err, ": invalid additional host, missing IP: %s",
                                            s);
                        if (host == 0)
                                return fail(c, p, err, ": bad host name ''");
                }
                return r;
        }
        if (jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a mapping or a list");
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                r = check_kind(c, v, keys[i], K_STR_OR_LIST, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct rule extra_hosts_rule = {.check = check_extra_hosts};

static const struct field file_ref_fields[] = {
        {"source", K_STR, NULL}, {"target", K_STR, NULL}, {"uid", K_STR, NULL},
        {"gid", K_STR, NULL},    {"mode", K_NUM, NULL},
};
static const struct rule file_ref_rule = {FIELDS(file_ref_fields), .required = {"source"},
                                          .or_string = true};

static int check_command(struct chk *c, struct jv *parent, const char *key, const char *path,
                         struct err *err)
{
        _cleanup_jv_ struct jv *words = NULL;
        const char *s = jv_get_str(parent, key);
        struct err e = {0};

        if (s && compose_shell_split(s, &words, &e) < 0)
                return fail(c, path, err, ": %s", e.msg);
        return 0;
}

static const struct rule command_rule = {.check = check_command};

static const struct field build_fields[] = {
        {"context", K_STR, NULL},
        {"dockerfile", K_STR, NULL},
        {"dockerfile_inline", K_STR, NULL},
        {"entitlements", K_STRLIST, NULL},
        {"args", K_LIST_OR_DICT, NULL},
        {"ssh", K_LIST_OR_DICT, NULL},
        {"labels", K_LIST_OR_DICT, NULL},
        {"cache_from", K_STRLIST, NULL},
        {"cache_to", K_STRLIST, NULL},
        {"no_cache", K_BOOL, NULL},
        {"no_cache_filter", K_STR_OR_LIST, NULL},
        {"additional_contexts", K_LIST_OR_DICT, NULL},
        {"network", K_STR, NULL},
        {"provenance", K_ANY, NULL},
        {"sbom", K_ANY, NULL},
        {"pull", K_BOOL, NULL},
        {"target", K_STR, NULL},
        {"shm_size", K_BYTES, NULL},
        {"extra_hosts", K_SUB, &extra_hosts_rule},
        {"isolation", K_STR, NULL},
        {"privileged", K_BOOL, NULL},
        {"secrets", K_ARR, &file_ref_rule},
        {"tags", K_STRLIST, NULL},
        {"ulimits", K_SUB, &ulimits_rule},
        {"platforms", K_STRLIST, NULL},
};
static const struct rule build_rule = {FIELDS(build_fields), .or_string = true};

static const struct field dependency_fields[] = {
        {"restart", K_BOOL, NULL},
        {"required", K_BOOL, NULL},
        {"condition", K_STR, NULL},
};
static const struct rule dependency_rule = {FIELDS(dependency_fields), .required = {"condition"}};

static int check_dependency(struct chk *c, struct jv *v, const char *path, struct err *err)
{
        static const char *const conditions[] = {"service_started", "service_healthy",
                                                 "service_completed_successfully"};
        const char *cond;
        int r = check_mapping(c, v, path, &dependency_rule, err);

        if (r < 0)
                return r;
        cond = jv_get_str(v, "condition");
        for (size_t i = 0; i < ARRAY_SIZE(conditions); i++)
                if (!strcmp(cond, conditions[i]))
                        return 0;
        {
                _cleanup_free_ char *p = child(path, "condition");
                return fail(c, p, err,
                            "must be one of service_started, service_healthy, "
                            "service_completed_successfully");
        }
}

static int check_depends_on(struct chk *c, struct jv *parent, const char *key, const char *path,
                            struct err *err)
{
        struct jv *v = jv_get(parent, key);

        if (jv_type(v) == JV_ARRAY)
                return check_strlist(c, v, path, false, err);
        if (jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a list or a mapping");
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                int r;
                if (!name_ok(keys[i]))
                        return fail(c, p, err, ": invalid service name %s", keys[i]);
                r = check_dependency(c, jv_get(v, keys[i]), p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct rule depends_on_rule = {.check = check_depends_on};

static const struct field device_fields[] = {
        {"source", K_STR, NULL},
        {"target", K_STR, NULL},
        {"permissions", K_STR, NULL},
};
static const struct rule device_rule = {FIELDS(device_fields), .required = {"source"},
                                        .or_string = true};

static int check_device(struct chk *c, struct jv *v, const char *path, struct err *err)
{
        const char *s = jv_str(v);

        if (s) {
                size_t colons = 0;
                for (const char *p = s; *p; p++)
                        colons += *p == ':';
                if (colons > 2)
                        return fail(c, path, err,
                                    ": confusing device mapping, please use long syntax: %s", s);
                return 0;
        }
        return check_mapping(c, v, path, &device_rule, err);
}

static const struct rule devices_rule = {.item = check_device};

static const struct field env_file_fields[] = {
        {"path", K_STR, NULL},
        {"format", K_STR, NULL},
        {"required", K_BOOL, NULL},
};
static const struct rule env_file_item_rule = {FIELDS(env_file_fields), .required = {"path"},
                                               .or_string = true};

static int check_env_file(struct chk *c, struct jv *parent, const char *key, const char *path,
                          struct err *err)
{
        struct jv *v = jv_get(parent, key);

        if (jv_str(v))
                return 0;
        if (jv_type(v) != JV_ARRAY)
                return fail(c, path, err, "must be a string or a list");
        return each_item(c, v, path, &env_file_item_rule, err);
}

static const struct rule env_file_rule = {.check = check_env_file};

static const struct field extends_fields[] = {
        {"service", K_STR, NULL},
        {"file", K_STR, NULL},
};
static const struct rule extends_rule = {FIELDS(extends_fields), .required = {"service"},
                                         .or_string = true};

static const struct field healthcheck_fields[] = {
        {"disable", K_BOOL, NULL},
        {"interval", K_DURATION, NULL},
        {"retries", K_INT, NULL},
        {"test", K_CMD, NULL},
        {"timeout", K_DURATION, NULL},
        {"start_period", K_DURATION, NULL},
        {"start_interval", K_DURATION, NULL},
};

static int check_healthcheck(struct chk *c, struct jv *parent, const char *key, const char *path,
                             struct err *err)
{
        struct jv *v = jv_get(parent, key);
        struct jv *test = jv_get(v, "test");
        int r = CHECK_FIELDS(c, v, path, healthcheck_fields, err);

        if (r >= 0 && jv_len(test) > 0) {
                const char *first = jv_str(jv_at(test, 0));
                if (strcmp(first, "CMD") && strcmp(first, "CMD-SHELL") && strcmp(first, "NONE")) {
                        _cleanup_free_ char *p = child(path, "test");
                        return fail(c, p, err,
                                    "must start either by \"CMD\", \"CMD-SHELL\" or "
                                    "\"NONE\"");
                }
        }
        return r;
}

static const struct rule healthcheck_rule = {.check = check_healthcheck};

static int check_options(struct chk *c, struct jv *parent, const char *key, const char *path,
                         struct err *err)
{
        struct jv *v = jv_get(parent, key);
        _cleanup_strv_ char **keys = jv_keys_ordered(v);

        for (size_t i = 0; keys[i]; i++) {
                enum jv_type t = jv_type(jv_get(v, keys[i]));
                if (t == JV_ARRAY || t == JV_OBJECT || t == JV_BOOL) {
                        _cleanup_free_ char *p = child(path, keys[i]);
                        return fail(c, p, err, "must be a string or a number");
                }
        }
        return 0;
}

static const struct rule options_rule = {.check = check_options};

static const struct field logging_fields[] = {
        {"driver", K_STR, NULL},
        {"options", K_OBJ, &options_rule},
};
static const struct rule logging_rule = {FIELDS(logging_fields)};

static const struct field service_network_fields[] = {
        {"aliases", K_STRLIST, NULL},          {"interface_name", K_STR, NULL},
        {"ipv4_address", K_STR, NULL},         {"ipv6_address", K_STR, NULL},
        {"link_local_ips", K_STRLIST, NULL},   {"mac_address", K_STR, NULL},
        {"driver_opts", K_OBJ, &options_rule}, {"priority", K_NUM, NULL},
        {"gw_priority", K_NUM, NULL},
};

static int check_service_networks(struct chk *c, struct jv *parent, const char *key,
                                  const char *path, struct err *err)
{
        struct jv *v = jv_get(parent, key);

        if (jv_type(v) == JV_ARRAY)
                return check_strlist(c, v, path, false, err);
        if (jv_type(v) != JV_OBJECT)
                return fail(c, path, err, "must be a list or a mapping");
        _cleanup_strv_ char **keys = jv_keys_ordered(v);
        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                struct jv *n = jv_get(v, keys[i]);
                int r = 0;
                if (!name_ok(keys[i]))
                        return fail(c, p, err, ": invalid network name %s", keys[i]);
                if (n)
                        r = CHECK_FIELDS(c, n, p, service_network_fields, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct rule service_networks_rule = {.check = check_service_networks};

static const struct field port_fields[] = {
        {"name", K_STR, NULL},         {"mode", K_STR, NULL},          {"host_ip", K_STR, NULL},
        {"target", K_INT, NULL},       {"published", K_STR_INT, NULL}, {"protocol", K_STR, NULL},
        {"app_protocol", K_STR, NULL},
};
static const struct rule port_rule = {FIELDS(port_fields), .required = {"target"}};

static int check_port(struct chk *c, struct jv *v, const char *path, struct err *err)
{
        _cleanup_jv_ struct jv *out = jv_new_array();
        _cleanup_free_ char *spec = NULL;
        struct err e = {0};

        if (jv_type(v) == JV_OBJECT)
                return check_mapping(c, v, path, &port_rule, err);
        if (jv_type(v) != JV_INT && jv_type(v) != JV_STRING)
                return fail(c, path, err, "must be a number, a string or a mapping");
        spec = compose_sprint(v);
        if (compose_parse_port(spec, out, &e) < 0)
                return fail(c, path, err, ": %s", e.msg);
        return 0;
}

static const struct rule ports_rule = {.item = check_port};

static const struct field bind_fields[] = {
        {"propagation", K_STR, NULL},
        {"create_host_path", K_BOOL, NULL},
        {"recursive", K_STR, NULL},
        {"selinux", K_STR, NULL},
};
static const struct field volume_opt_fields[] = {
        {"labels", K_LIST_OR_DICT, NULL},
        {"nocopy", K_BOOL, NULL},
        {"subpath", K_STR, NULL},
};
static const struct field tmpfs_fields[] = {
        {"size", K_BYTES, NULL},
        {"mode", K_NUM, NULL},
};
static const struct field image_fields[] = {
        {"subpath", K_STR, NULL},
};
static const struct rule bind_rule = {FIELDS(bind_fields)};
static const struct rule volume_opt_rule = {FIELDS(volume_opt_fields)};
static const struct rule tmpfs_rule = {FIELDS(tmpfs_fields)};
static const struct rule image_rule = {FIELDS(image_fields)};

static const struct field mount_fields[] = {
        {"type", K_STR, NULL},
        {"source", K_STR, NULL},
        {"target", K_STR, NULL},
        {"read_only", K_BOOL, NULL},
        {"consistency", K_STR, NULL},
        {"bind", K_OBJ, &bind_rule},
        {"volume", K_OBJ, &volume_opt_rule},
        {"tmpfs", K_OBJ, &tmpfs_rule},
        {"image", K_OBJ, &image_rule},
};
static const struct rule mount_rule = {FIELDS(mount_fields), .required = {"type", "target"},
                                       .or_string = true};

static int check_mount(struct chk *c, struct jv *v, const char *path, struct err *err)
{
        static const char *const types[] = {"bind", "volume", "tmpfs", "cluster", "npipe", "image"};
        _cleanup_jv_ struct jv *vol = NULL;
        struct err e = {0};
        int r;

        if (jv_str(v)) {
                if (compose_parse_volume(jv_str(v), &vol, &e) < 0)
                        return fail(c, path, err, ": %s", e.msg);
                return 0;
        }
        r = check_mapping(c, v, path, &mount_rule, err);
        if (r >= 0 && !strcmp(jv_get_str(v, "type"), "bind"))
                r = require(c, v, "source", path, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                if (!strcmp(jv_get_str(v, "type"), types[i]))
                        return 0;
        {
                _cleanup_free_ char *p = child(path, "type");
                return fail(c, p, err, "must be one of bind, volume, tmpfs, cluster, npipe, image");
        }
}

static const struct rule mounts_rule = {.item = check_mount};

static const struct field limit_fields[] = {
        {"cpus", K_STR_NUM, NULL},
        {"memory", K_BYTES, NULL},
        {"pids", K_INT, NULL},
};
static const struct field reservation_fields[] = {
        {"cpus", K_STR_NUM, NULL},
        {"memory", K_BYTES, NULL},
        {"generic_resources", K_ARR, NULL},
        {"devices", K_ARR, NULL},
};
static const struct rule limit_rule = {FIELDS(limit_fields)};
static const struct rule reservation_rule = {FIELDS(reservation_fields)};

static const struct field resources_fields[] = {
        {"limits", K_OBJ, &limit_rule},
        {"reservations", K_OBJ, &reservation_rule},
};
static const struct field restart_policy_fields[] = {
        {"condition", K_STR, NULL},
        {"delay", K_DURATION, NULL},
        {"max_attempts", K_INT, NULL},
        {"window", K_DURATION, NULL},
};
static const struct field update_fields[] = {
        {"parallelism", K_INT, NULL},       {"delay", K_DURATION, NULL},
        {"failure_action", K_STR, NULL},    {"monitor", K_DURATION, NULL},
        {"max_failure_ratio", K_NUM, NULL}, {"order", K_STR, NULL},
};
static const struct rule resources_rule = {FIELDS(resources_fields)};
static const struct rule restart_policy_rule = {FIELDS(restart_policy_fields)};
static const struct rule update_rule = {FIELDS(update_fields)};

static const struct field deploy_fields[] = {
        {"mode", K_STR, NULL},
        {"endpoint_mode", K_STR, NULL},
        {"replicas", K_INT, NULL},
        {"labels", K_LIST_OR_DICT, NULL},
        {"rollback_config", K_OBJ, &update_rule},
        {"update_config", K_OBJ, &update_rule},
        {"resources", K_OBJ, &resources_rule},
        {"restart_policy", K_OBJ, &restart_policy_rule},
        {"placement", K_OBJ, NULL},
};
static const struct rule deploy_rule = {FIELDS(deploy_fields), .or_null = true};

/* Every key the Compose Specification defines for a service. */
static const struct field service_fields[] = {
        {"develop", K_OBJ, NULL},
        {"deploy", K_SUB, &deploy_rule},
        {"annotations", K_LIST_OR_DICT, NULL},
        {"attach", K_BOOL, NULL},
        {"build", K_SUB, &build_rule},
        {"blkio_config", K_OBJ, NULL},
        {"cap_add", K_STRLIST, NULL},
        {"cap_drop", K_STRLIST, NULL},
        {"cgroup", K_STR, NULL},
        {"cgroup_parent", K_STR, NULL},
        {"command", K_CMD, &command_rule},
        {"configs", K_ARR, &file_ref_rule},
        {"container_name", K_STR, NULL},
        {"cpu_count", K_INT, NULL},
        {"cpu_percent", K_NUM, NULL},
        {"cpu_shares", K_INT, NULL},
        {"cpu_quota", K_INT, NULL},
        {"cpu_period", K_INT, NULL},
        {"cpu_rt_period", K_INT, NULL},
        {"cpu_rt_runtime", K_INT, NULL},
        {"cpus", K_NUM, NULL},
        {"cpuset", K_STR, NULL},
        {"credential_spec", K_OBJ, NULL},
        {"depends_on", K_SUB, &depends_on_rule},
        {"device_cgroup_rules", K_STRLIST, NULL},
        {"devices", K_ARR, &devices_rule},
        {"dns", K_STR_OR_LIST, NULL},
        {"dns_opt", K_STRLIST, NULL},
        {"dns_search", K_STR_OR_LIST, NULL},
        {"domainname", K_STR, NULL},
        {"entrypoint", K_CMD, &command_rule},
        {"env_file", K_SUB, &env_file_rule},
        {"label_file", K_STR_OR_LIST, NULL},
        {"environment", K_LIST_OR_DICT, NULL},
        {"expose", K_STR_NUM_LIST, NULL},
        {"extends", K_SUB, &extends_rule},
        {"provider", K_OBJ, NULL},
        {"external_links", K_STRLIST, NULL},
        {"extra_hosts", K_SUB, &extra_hosts_rule},
        {"gpus", K_ANY, NULL},
        {"group_add", K_STR_NUM_LIST, NULL},
        {"healthcheck", K_OBJ, &healthcheck_rule},
        {"hostname", K_STR, NULL},
        {"image", K_STR, NULL},
        {"init", K_BOOL, NULL},
        {"ipc", K_STR, NULL},
        {"isolation", K_STR, NULL},
        {"labels", K_LIST_OR_DICT, NULL},
        {"links", K_STRLIST, NULL},
        {"logging", K_OBJ, &logging_rule},
        {"mac_address", K_STR, NULL},
        {"mem_limit", K_BYTES, NULL},
        {"mem_reservation", K_BYTES, NULL},
        {"mem_swappiness", K_INT, NULL},
        {"memswap_limit", K_BYTES, NULL},
        {"network_mode", K_STR, NULL},
        {"models", K_ANY, NULL},
        {"networks", K_SUB, &service_networks_rule},
        {"oom_kill_disable", K_BOOL, NULL},
        {"oom_score_adj", K_INT, NULL},
        {"pid", K_STR_NULL, NULL},
        {"pids_limit", K_INT, NULL},
        {"platform", K_STR, NULL},
        {"ports", K_ARR, &ports_rule},
        {"pre_start", K_ARR, NULL},
        {"post_start", K_ARR, NULL},
        {"pre_stop", K_ARR, NULL},
        {"privileged", K_BOOL, NULL},
        {"profiles", K_STRLIST, NULL},
        {"pull_policy", K_STR, NULL},
        {"pull_refresh_after", K_STR, NULL},
        {"read_only", K_BOOL, NULL},
        {"restart", K_STR, NULL},
        {"runtime", K_STR, NULL},
        {"scale", K_INT, NULL},
        {"security_opt", K_STRLIST, NULL},
        {"shm_size", K_BYTES, NULL},
        {"secrets", K_ARR, &file_ref_rule},
        {"sysctls", K_LIST_OR_DICT, NULL},
        {"stdin_open", K_BOOL, NULL},
        {"stop_grace_period", K_DURATION, NULL},
        {"stop_signal", K_STR, NULL},
        {"storage_opt", K_OBJ, NULL},
        {"tmpfs", K_STR_OR_LIST, NULL},
        {"tty", K_BOOL, NULL},
        {"ulimits", K_SUB, &ulimits_rule},
        {"use_api_socket", K_BOOL, NULL},
        {"user", K_STR, NULL},
        {"uts", K_STR, NULL},
        {"userns_mode", K_STR, NULL},
        {"volumes", K_ARR, &mounts_rule},
        {"volumes_from", K_STRLIST, NULL},
        {"working_dir", K_STR, NULL},
};

static int check_services(struct chk *c, struct jv *parent, const char *key, const char *path,
                          struct err *err)
{
        struct jv *v = jv_get(parent, key);
        _cleanup_strv_ char **keys = jv_keys_ordered(v);

        for (size_t i = 0; keys[i]; i++) {
                _cleanup_free_ char *p = child(path, keys[i]);
                int r;
                if (!name_ok(keys[i]))
                        return fail(c, p, err,
                                    ": invalid service name \"%s\": it must match "
                                    "^[a-zA-Z0-9._-]+$",
                                    keys[i]);
                r = CHECK_FIELDS(c, jv_get(v, keys[i]), p, service_fields, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct rule services_rule = {.check = check_services};

/* ---- top-level resources ---- */

static int check_external(struct chk *c, struct jv *parent, const char *key, const char *path,
                          struct err *err)
{
        static const struct field fields[] = {{"name", K_STR, NULL}};
        struct jv *v = jv_get(parent, key);

        if (jv_type(v) == JV_OBJECT)
                return CHECK_FIELDS(c, v, path, fields, err);
        return check_kind(c, parent, key, K_BOOL, path, err);
}

static const struct rule external_rule = {.check = check_external};

static const struct field pool_fields[] = {
        {"subnet", K_STR, NULL},
        {"ip_range", K_STR, NULL},
        {"gateway", K_STR, NULL},
        {"aux_addresses", K_OBJ, &options_rule},
};
static const struct rule pool_rule = {FIELDS(pool_fields)};

static const struct field ipam_fields[] = {
        {"driver", K_STR, NULL},
        {"config", K_ARR, &pool_rule},
        {"options", K_OBJ, &options_rule},
};
static const struct rule ipam_rule = {FIELDS(ipam_fields)};

static const struct field network_fields[] = {
        {"name", K_STR, NULL},
        {"driver", K_STR, NULL},
        {"driver_opts", K_OBJ, &options_rule},
        {"ipam", K_OBJ, &ipam_rule},
        {"external", K_SUB, &external_rule},
        {"internal", K_BOOL, NULL},
        {"enable_ipv4", K_BOOL, NULL},
        {"enable_ipv6", K_BOOL, NULL},
        {"attachable", K_BOOL, NULL},
        {"labels", K_LIST_OR_DICT, NULL},
};
static const struct field volume_fields[] = {
        {"name", K_STR, NULL},
        {"driver", K_STR, NULL},
        {"driver_opts", K_OBJ, &options_rule},
        {"external", K_SUB, &external_rule},
        {"labels", K_LIST_OR_DICT, NULL},
};
static const struct field secret_fields[] = {
        {"name", K_STR, NULL},
        {"environment", K_STR, NULL},
        {"file", K_STR, NULL},
        {"external", K_SUB, &external_rule},
        {"labels", K_LIST_OR_DICT, NULL},
        {"driver", K_STR, NULL},
        {"driver_opts", K_OBJ, &options_rule},
        {"template_driver", K_STR, NULL},
};
static const struct field config_fields[] = {
        {"name", K_STR, NULL},
        {"content", K_STR, NULL},
        {"environment", K_STR, NULL},
        {"file", K_STR, NULL},
        {"external", K_SUB, &external_rule},
        {"labels", K_LIST_OR_DICT, NULL},
        {"template_driver", K_STR, NULL},
};
/* Networks and volumes may be declared empty (null); secrets and configs may not. */
static const struct rule networks_rule = {FIELDS(network_fields), .or_null = true,
                                          .names = "network"};
static const struct rule volumes_rule = {FIELDS(volume_fields), .or_null = true, .names = "volume"};
static const struct rule secrets_rule = {FIELDS(secret_fields), .names = "secret"};
static const struct rule configs_rule = {FIELDS(config_fields), .names = "config"};

static const struct field include_fields[] = {
        {"path", K_STR_OR_LIST, NULL},
        {"env_file", K_STR_OR_LIST, NULL},
        {"project_directory", K_STR, NULL},
};
static const struct rule include_rule = {FIELDS(include_fields), .required = {"path"},
                                         .or_string = true};

static const struct field top_fields[] = {
        {"version", K_STR, NULL},          {"name", K_STR, NULL},
        {"include", K_ARR, &include_rule}, {"services", K_OBJ, &services_rule},
        {"models", K_OBJ, NULL},           {"networks", K_OBJ, &networks_rule},
        {"volumes", K_OBJ, &volumes_rule}, {"secrets", K_OBJ, &secrets_rule},
        {"configs", K_OBJ, &configs_rule},
};

int compose_check_file(const char *file, struct jv *tree, const struct jv *pos, char ***warnings,
                       struct err *err)
{
        struct chk c = {.file = file, .pos = pos, .warnings = warnings};

        return CHECK_FIELDS(&c, tree, "", top_fields, err);
}
