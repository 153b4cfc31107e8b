#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fs.h"
#include "json.h"
#include "util.h"

#define J(v) ((struct json_object *)(v))
#define V(o) ((struct jv *)(o))

/* The constructors never return NULL for lack of memory: they abort (util_oom), so the
 * hundreds of jv_set(doc, k, jv_new_...()) calls need no check. */
static struct jv *made(struct json_object *o)
{
        if (!o)
                util_oom();
        return V(o);
}

struct jv *jv_new_object(void)
{
        return made(json_object_new_object());
}

struct jv *jv_new_array(void)
{
        return made(json_object_new_array());
}

struct jv *jv_new_string(const char *s)
{
        return s ? made(json_object_new_string(s)) : NULL;
}

struct jv *jv_new_stringn(const char *s, size_t len)
{
        return made(json_object_new_string_len(s, (int)len));
}

struct jv *jv_new_int(long long v)
{
        return made(json_object_new_int64(v));
}

struct jv *jv_new_bool(bool v)
{
        return made(json_object_new_boolean(v));
}

struct jv *jv_copy(const struct jv *v)
{
        struct json_object *out = NULL;

        if (!v)
                return NULL;
        if (json_object_deep_copy(J(v), &out, NULL) < 0)
                return NULL;
        return V(out);
}

struct jv *jv_ref(struct jv *v)
{
        return V(json_object_get(J(v)));
}

void jv_put(struct jv *v)
{
        json_object_put(J(v));
}

void jv_putp(struct jv **v)
{
        if (*v)
                json_object_put(J(*v));
}

int jv_parse(const char *text, struct jv **ret, struct err *err)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o;
        enum json_tokener_error e;

        if (!tok)
                return err_set(err, -ENOMEM, "parsing JSON");
        o = json_tokener_parse_ex(tok, text, (int)strlen(text));
        e = json_tokener_get_error(tok);
        if (e == json_tokener_success && tok->char_offset < (int)strlen(text)) {
                json_object_put(o);
                json_tokener_free(tok);
                return err_set(err, -EINVAL, "invalid JSON: trailing data");
        }
        json_tokener_free(tok);
        if (e != json_tokener_success) {
                json_object_put(o);
                return err_set(err, -EINVAL, "invalid JSON: %s", json_tokener_error_desc(e));
        }
        *ret = V(o);
        return 0;
}

int jv_load(const char *path, struct jv **ret, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = fs_read_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        r = jv_parse(text, ret, err);
        if (r < 0)
                return err_wrap(err, "%s", path);
        return 0;
}

int jv_save(const char *path, const struct jv *v, struct err *err)
{
        const char *s = jv_to_string(v, false);

        return fs_write_atomic(path, s, strlen(s), 0644, err);
}

const char *jv_to_string(const struct jv *v, bool pretty)
{
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

        flags |=
                pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
        return json_object_to_json_string_ext(J(v), flags);
}

enum jv_type jv_type(const struct jv *v)
{
        switch (json_object_get_type(J(v))) {
        case json_type_boolean:
                return JV_BOOL;
        case json_type_int:
                return JV_INT;
        case json_type_double:
                return JV_DOUBLE;
        case json_type_string:
                return JV_STRING;
        case json_type_array:
                return JV_ARRAY;
        case json_type_object:
                return JV_OBJECT;
        case json_type_null:
        default:
                return JV_NULL;
        }
}

const char *jv_str(const struct jv *v)
{
        return v && json_object_is_type(J(v), json_type_string) ? json_object_get_string(J(v))
                                                                : NULL;
}

size_t jv_str_len(const struct jv *v)
{
        return jv_str(v) ? (size_t)json_object_get_string_len(J(v)) : 0;
}

long long jv_int(const struct jv *v)
{
        return v ? json_object_get_int64(J(v)) : 0;
}

bool jv_bool(const struct jv *v)
{
        return v ? json_object_get_boolean(J(v)) : false;
}

/* Setters on what is not an object (or array) drop the value: a state file of the wrong
 * shape must never reach json-c's assertions. */
void jv_set(struct jv *obj, const char *key, struct jv *val)
{
        if (!obj || !json_object_is_type(J(obj), json_type_object)) {
                jv_put(val);
                return;
        }
        json_object_object_add(J(obj), key, J(val));
}

void jv_set_str(struct jv *obj, const char *key, const char *s)
{
        jv_set(obj, key, jv_new_string(s));
}

void jv_set_int(struct jv *obj, const char *key, long long v)
{
        jv_set(obj, key, jv_new_int(v));
}

void jv_set_bool(struct jv *obj, const char *key, bool v)
{
        jv_set(obj, key, jv_new_bool(v));
}

void jv_del(struct jv *obj, const char *key)
{
        if (obj && json_object_is_type(J(obj), json_type_object))
                json_object_object_del(J(obj), key);
}

struct jv *jv_get(const struct jv *obj, const char *key)
{
        struct json_object *o = NULL;

        if (!obj || !json_object_is_type(J(obj), json_type_object))
                return NULL;
        if (!json_object_object_get_ex(J(obj), key, &o))
                return NULL;
        return V(o);
}

const char *jv_get_str(const struct jv *obj, const char *key)
{
        return jv_str(jv_get(obj, key));
}

long long jv_get_int(const struct jv *obj, const char *key, long long dflt)
{
        struct jv *v = jv_get(obj, key);

        return v && jv_type(v) != JV_NULL ? jv_int(v) : dflt;
}

bool jv_get_bool(const struct jv *obj, const char *key)
{
        return jv_bool(jv_get(obj, key));
}

struct jv *jv_path(const struct jv *obj, const char *path)
{
        char key[256];
        const struct jv *cur = obj;

        while (cur && *path) {
                size_t n = strcspn(path, ".");
                if (n >= sizeof(key))
                        return NULL;
                memcpy(key, path, n);
                key[n] = '\0';
                cur = jv_get(cur, key);
                path += n;
                if (*path == '.')
                        path++;
        }
        return (struct jv *)cur;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **keys_of(const struct jv *obj, bool sorted)
{
        size_t n = 0, i = 0;
        char **v;

        if (obj && json_object_is_type(J(obj), json_type_object))
                n = (size_t)json_object_object_length(J(obj));
        v = calloc(n + 1, sizeof(*v));
        if (!v || n == 0)
                return v;
        json_object_object_foreach(J(obj), k, val)
        {
                (void)val;
                v[i] = strdup(k);
                if (!v[i])
                        break;
                i++;
        }
        if (sorted)
                qsort(v, i, sizeof(*v), cmp_str);
        return v;
}

char **jv_keys(const struct jv *obj)
{
        return keys_of(obj, true);
}

char **jv_keys_ordered(const struct jv *obj)
{
        return keys_of(obj, false);
}

size_t jv_len(const struct jv *arr)
{
        if (!arr || !json_object_is_type(J(arr), json_type_array))
                return 0;
        return json_object_array_length(J(arr));
}

struct jv *jv_at(const struct jv *arr, size_t i)
{
        if (i >= jv_len(arr))
                return NULL;
        return V(json_object_array_get_idx(J(arr), i));
}

void jv_append(struct jv *arr, struct jv *val)
{
        if (!arr || !json_object_is_type(J(arr), json_type_array)) {
                jv_put(val);
                return;
        }
        json_object_array_add(J(arr), J(val));
}

struct jv *jv_from_strv(char *const *v)
{
        struct jv *a = jv_new_array();

        for (; v && *v; v++)
                jv_append(a, jv_new_string(*v));
        return a;
}

char **jv_to_strv(const struct jv *arr)
{
        size_t n = jv_len(arr), k = 0;
        char **v = calloc(n + 1, sizeof(*v));

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *s = jv_str(jv_at(arr, i));
                if (s)
                        v[k++] = strdup(s);
        }
        return v;
}
