#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* A JSON value. Opaque: json-c stays behind this helper. Values are reference counted;
 * functions named jv_new_X, jv_parse and jv_load return a reference the caller must jv_put();
 * getters return borrowed pointers valid while the parent lives. */
struct jv;

enum jv_type { JV_NULL, JV_BOOL, JV_INT, JV_DOUBLE, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv *jv_new_object(void);
struct jv *jv_new_array(void);
struct jv *jv_new_string(const char *s);
/* A string of len bytes that may contain NUL. */
struct jv *jv_new_stringn(const char *s, size_t len);
struct jv *jv_new_int(long long v);
struct jv *jv_new_bool(bool v);
/* Deep copy; caller owns the result. */
struct jv *jv_copy(const struct jv *v);
struct jv *jv_ref(struct jv *v);
void jv_put(struct jv *v);
void jv_putp(struct jv **v);
#define _cleanup_jv_ __attribute__((cleanup(jv_putp)))

/* Parses text; -EINVAL with the parser's message on bad input. */
int jv_parse(const char *text, struct jv **ret, struct err *err);
/* Reads and parses a file; -ENOENT when missing. */
int jv_load(const char *path, struct jv **ret, struct err *err);
/* Writes compact JSON atomically (temp file + rename). */
int jv_save(const char *path, const struct jv *v, struct err *err);
/* Serialises; the string is owned by v and valid until v changes. */
const char *jv_to_string(const struct jv *v, bool pretty);

enum jv_type jv_type(const struct jv *v);
const char *jv_str(const struct jv *v);
/* Length in bytes of a string value (it may contain NUL); 0 for other types. */
size_t jv_str_len(const struct jv *v);
long long jv_int(const struct jv *v);
bool jv_bool(const struct jv *v);

/* Object access. jv_set takes ownership of val (NULL stores JSON null). */
void jv_set(struct jv *obj, const char *key, struct jv *val);
void jv_set_str(struct jv *obj, const char *key, const char *s);
void jv_set_int(struct jv *obj, const char *key, long long v);
void jv_set_bool(struct jv *obj, const char *key, bool v);
void jv_del(struct jv *obj, const char *key);
struct jv *jv_get(const struct jv *obj, const char *key);
const char *jv_get_str(const struct jv *obj, const char *key);
long long jv_get_int(const struct jv *obj, const char *key, long long dflt);
bool jv_get_bool(const struct jv *obj, const char *key);
/* Follows a dotted path ("State.Pid"); NULL when any step is missing. */
struct jv *jv_path(const struct jv *obj, const char *path);
/* Malloc'd NULL-terminated vector of the object's keys (strdup'd), sorted. */
char **jv_keys(const struct jv *obj);
/* The same in the order the keys were added (a compose file's order). */
char **jv_keys_ordered(const struct jv *obj);

/* Arrays. jv_append takes ownership. */
size_t jv_len(const struct jv *arr);
struct jv *jv_at(const struct jv *arr, size_t i);
void jv_append(struct jv *arr, struct jv *val);
/* Array of strings from / to a NULL-terminated vector (strv is malloc'd, strings strdup'd). */
struct jv *jv_from_strv(char *const *v);
char **jv_to_strv(const struct jv *arr);
