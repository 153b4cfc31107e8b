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
/* compose_dotenv_parse of text, a variable looked up in first, then in second: the variables
 * the file sets are set in into, in the file's order; warnings go to *ret_warnings as there. */
int compose_dotenv_add(const char *file, const char *text, const struct jv *first,
                       const struct jv *second, struct jv *into, char ***ret_warnings,
                       struct err *err);
/* Hands the strv *warnings over to *ret (an empty vector rather than NULL); with ret NULL,
 * keeps them for the caller's cleanup. */
void compose_warnings_give(char ***warnings, char ***ret);

/* ---- the project loader (project.c, merge.c, schema.c, normalize.c, emit.c) ---- */

/* Where a node sits, for compose-go's path patterns ("services.*.ports"): its first
 * COMPOSE_CPATH_MAX keys (an array item's key is "[]"); no pattern is longer, so a deeper
 * path matches none. The keys are borrowed from the tree. */
#define COMPOSE_CPATH_MAX 8
struct compose_cpath {
        const char *seg[COMPOSE_CPATH_MAX];
        size_t n;
};
/* p with key appended. */
struct compose_cpath compose_cpath_next(const struct compose_cpath *p, const char *key);
/* Whether p matches pattern, keys joined by '.', "*" matching any one key. */
bool compose_cpath_match(const struct compose_cpath *p, const char *pattern);

/* Whether obj has key, a null value included (jv_get cannot tell null from missing). */
bool compose_has(const struct jv *obj, const char *key);
/* Go's fmt.Sprint of a scalar: strings as they are, numbers and booleans as Go prints them,
 * null as ""; malloc'd, aborts when out of memory. */
char *compose_sprint(const struct jv *v);
/* A JSON number holding d. */
struct jv *compose_new_double(double d);
/* The value of a number (int or double). */
double compose_number(const struct jv *v);

/* compose-go's override.MergeYaml: merges over (borrowed) into *base (owned, replaced when the
 * rules say so) at path p, with compose's special rules (environment and labels appended as
 * lists, command and entrypoint replaced, depends_on and networks as maps, build's string form,
 * logging by driver, extra_hosts deduplicated, ipam config by subnet). -EINVAL "cannot
 * override PATH" when a mapping or sequence meets another type. */
int compose_merge(struct jv **base, const struct jv *over, const struct compose_cpath *p,
                  struct err *err);
/* Removes from dict every member named by a path of tags (compose_yaml_load_tags' map): what
 * a later file marks !reset or !override drops what earlier files set there (sequence items
 * are never removed, as in compose-go). */
void compose_reset_apply(struct jv *dict, const struct jv *tags);
/* compose-go's EnforceUnicity: a later item of ports, volumes, secrets, environment, ...
 * replaces the earlier one with the same key (target, KEY=, ...), in its place. */
int compose_unicity(struct jv *dict, struct err *err);
/* compose-go's transform.Canonical: short forms of ports, volumes, depends_on, env_file,
 * build, networks, secrets and configs, external resources, ... become their long forms.
 * Warnings (external.name) go to *warnings. */
int compose_canonical(struct jv *dict, char ***warnings, struct err *err);

/* Short forms, as docker compose parses them. */
/* A port spec ("8080:80/udp", "127.0.0.1:8000-8001:80-81", "[::1]::80") appended to out as
 * long-form objects {mode, host_ip?, target, published?, protocol}, one per port of a range.
 * -EINVAL with go-connections' words ("invalid proto: x", ...). */
int compose_parse_port(const char *spec, struct jv *out, struct err *err);
/* A volume spec ("data:/d:ro", "./src:/src:z", "/anon") as its long-form object. -EINVAL
 * "invalid spec: SPEC: too many colons", ... */
int compose_parse_volume(const char *spec, struct jv **ret, struct err *err);
/* Splits a command line into words as go-shellwords does (quotes, backslashes; an unquoted
 * ; & | < > ends the command). -EINVAL "invalid command line string" for an open quote. */
int compose_shell_split(const char *s, struct jv **ret, struct err *err);
/* A duration as compose-go reads one (go-str2duration: Go's units, and d and w): nanoseconds.
 * -EINVAL, as for a bare number other than "0". */
int compose_parse_duration(const char *s, int64_t *ret_ns);

/* The per-file check (schema.c): compose-spec's schema for the keys compose knows, on one
 * file's interpolated tree. Unknown keys (x-* are free), wrong types, bad names, bad short
 * forms: -EINVAL "FILE:LINE:COL: PATH ...". Values that interpolation leaves as strings where
 * a boolean or a number belongs are converted in place ("true" -> true), as compose-go's
 * casts do. Warnings (yes/no booleans) go to *warnings. */
int compose_check_file(const char *file, struct jv *tree, const struct jv *pos, char ***warnings,
                       struct err *err);

/* What the normaliser needs from the loader. */
struct compose_norm {
        const char *name;      /* the project name */
        const char *workdir;   /* the project directory, absolute */
        const struct jv *env;  /* the project's variables: environ, then the .env files */
        char *const *profiles; /* active profiles */
        char *const *services; /* services named on the command line */
        char ***warnings;
};
/* compose-go's SetDefaultValues and validation.Validate on a merged tree. */
int compose_defaults(struct jv *dict, struct err *err);
/* compose-go's ResolveRelativePaths: build contexts, bind sources, env_file, secret and config
 * files, ... made absolute against dir ('~' from home). */
int compose_resolve_paths(struct jv *dict, const char *dir, const char *home, char ***warnings,
                          struct err *err);
/* Bare keys of list-form environment entries take env's value (compose-go's
 * ResolveEnvironment); secrets and configs from the environment take their content. */
void compose_resolve_env(struct jv *dict, const struct jv *env);
/* Turns the merged tree into the model compose_load returns: normalised, profiles applied,
 * checked for consistency, each service's env_file read. *ret is the model. */
int compose_normalize(const struct compose_norm *n, struct jv *dict, struct jv **ret,
                      struct err *err);
/* Joins and cleans paths as Go's filepath.Join (dir ignored when path is absolute: Go's Abs
 * against dir). Malloc'd; aborts when out of memory. */
char *compose_path_abs(const char *dir, const char *path);
/* Go's path.Clean. Malloc'd; aborts when out of memory. */
char *compose_path_clean(const char *path);
