#pragma once
/* Compose files, the foundation layer (core/compose/): the YAML loader, interpolation and the
 * .env format, each as compose-go (Docker Compose v2) reads them. No command here: the
 * normaliser and `hawser compose` build on these. Includes core/base/ only. */
#include <stddef.h>

#include "../base/err.h"
#include "../base/json.h"

/* What compose_yaml_load refuses: a tree of more nodes than this once aliases are expanded
 * (an alias bomb, "billion laughs"), or whose paths (the keys of ret_pos) add up to more bytes
 * than COMPOSE_YAML_MAX_PATHS (a deep one), or nested deeper than COMPOSE_YAML_MAX_DEPTH. */
#define COMPOSE_YAML_MAX_NODES 1000000
#define COMPOSE_YAML_MAX_PATHS (64 << 20)
#define COMPOSE_YAML_MAX_DEPTH 1000

/* Parses one YAML document of len bytes (libyaml, loaded on first use: -ENOTSUP when it is
 * missing) into *ret, an object: mappings become objects with their keys in file order
 * (jv_to_string keeps it; jv_keys sorts), sequences arrays, scalars strings, except that plain scalars are typed as go-yaml v3 types
 * them: true/True/TRUE and the false forms (never yes/no/on/off), null/Null/NULL/~/empty,
 * integers (decimal, 0x, 0o, 0b, a leading 0 for octal, '_' between digits) and floats
 * (.inf, .nan too). Quoted and block scalars stay strings; the core tags !!str, !!int,
 * !!float, !!bool and !!null are honoured. Anchors and aliases (an alias is a deep copy),
 * merge keys (<<: *a, <<: [*a, *b]: the mapping's own keys win wherever they stand, then
 * the merged maps in order, the first one winning). A node tagged !reset is left out of
 * the tree, as compose-go does (compose_yaml_load_tags says where).
 * *ret_pos maps the path of every node to "FILE:LINE:COL" (1-based): the position of the key
 * for a mapping member, of the item for a sequence item, of the top-level mapping for "".
 * Paths are compose_path_join's; an aliased or merged node has the position of its text.
 * Errors (-EINVAL, message "FILE:LINE:COL: ..."): libyaml's syntax errors, a duplicate key
 * ('mapping key "x" already defined at line N'), a non-string key, an unknown anchor, an
 * alias inside its own anchor, a bad merge value, a top-level node that is not a mapping
 * ("FILE: top-level object must be a mapping"), a second document, the limits above;
 * -ENODATA "FILE: empty compose file" for text that holds no document (comments only):
 * docker compose accepts such a file among others and refuses it alone. file only names
 * the text in messages. */
int compose_yaml_load(const char *file, const char *text, size_t len, struct jv **ret,
                      struct jv **ret_pos, struct err *err);
/* Like compose_yaml_load, and *ret_tags maps the path of every node tagged !reset or
 * !override to "reset" or "override": compose-go's merge tags, by which a later file
 * removes (!reset) or replaces instead of merging (!override) what earlier files set there.
 * The merger needs them; a single file needs only compose_yaml_load. */
int compose_yaml_load_tags(const char *file, const char *text, size_t len, struct jv **ret,
                           struct jv **ret_pos, struct jv **ret_tags, struct err *err);

/* The path of key under parent, as the keys of ret_pos: keys joined by '.', a '.' or '\' in
 * a key escaped with '\'; parent NULL or "" for a top-level key; an array index is its
 * decimal number as key ("services.web.ports.0"). Malloc'd; aborts when out of memory, like
 * the jv constructors. */
char *compose_path_join(const char *parent, const char *key);
/* The path for messages: escapes removed, as compose-go prints one ("a.b.c"). Malloc'd;
 * aborts when out of memory. */
char *compose_path_display(const char *path);

/* A variable's value for interpolation: NULL when unset, "" when set and empty. The string
 * must stay valid until the next call. */
typedef const char *(*compose_lookup_fn)(const char *name, void *ud);

/* Interpolates, in place, every string value of tree (an object; keys never, and typed
 * values, ints, bools, floats, never either) as compose-go's template package: $VAR and
 * ${VAR}, ${VAR:-default} (unset or empty), ${VAR-default} (unset), ${VAR:+alt} (set and
 * not empty), ${VAR+alt} (set), ${VAR:?message} (error when unset or empty), ${VAR?message}
 * (error when unset), defaults nested (${A:-${B:-x}}) and evaluated only when used, $$ for
 * a '$'. Names are [_a-zA-Z][_a-zA-Z0-9]*; a '$' before anything else stays. An unset
 * variable without a default becomes "" and adds, once, 'The "VAR" variable is not set.
 * Defaulting to a blank string.' to *ret_warnings (a malloc'd strv, empty when none;
 * ret_warnings may be NULL). pos (NULL or compose_yaml_load's) places errors: -EINVAL with
 * "FILE:LINE:COL: error while interpolating PATH: required variable VAR is missing a value:
 * message", or "FILE:LINE:COL: invalid interpolation format for PATH: "VALUE"; you may need
 * to escape any $ with another $" (${}, ${VAR/a/b}, ${ VAR}, an unclosed ${...). Members
 * are visited in jv_keys' order, so of several errors the first in that order is told. On
 * error the tree may be partly interpolated. */
int compose_interpolate(struct jv *tree, const struct jv *pos, compose_lookup_fn lookup, void *ud,
                        char ***ret_warnings, struct err *err);

/* Parses text (NUL-terminated; a UTF-8 BOM is skipped) in the .env format of compose-go's
 * dotenv parser, for the project's .env and a service's env_file, into *ret, an object of
 * KEY -> string in the order keys first appear (a later line with the same key wins):
 *   KEY=VALUE, KEY: VALUE, an optional "export " before the key, blanks around '=' ignored;
 *   '#' starts a comment line, and on an unquoted value a comment after " #";
 *   unquoted values are trimmed and interpolated; 'single quotes' are literal (\' is a
 *   quote); "double quotes" take \n \t \r \a \b \f \v \\ \" \$ and \0NNN (octal) escapes,
 *   then interpolation; quoted values may span lines; KEY= is ""; a bare KEY takes
 *   lookup's value, or is left out when lookup has none.
 * Keys are letters, digits, '_', '.', '-', '[' and ']'. Interpolation asks lookup first,
 * then the keys the file set above (compose-go's order); warnings as compose_interpolate's
 * go to *ret_warnings (may be NULL). Errors (-EINVAL, "FILE:LINE: ..."): 'unexpected
 * character "X" in variable name "LINE"', "key cannot contain a space", "unterminated quoted
 * value ...", and interpolation's. Several files (env_file: [a, b]) are parsed one by one,
 * lookup seeing the earlier files' keys. */
int compose_dotenv_parse(const char *file, const char *text, compose_lookup_fn lookup, void *ud,
                         struct jv **ret, char ***ret_warnings, struct err *err);

/* ---- the project (project.c, merge.c, schema.c, normalize.c, emit.c) ---- */

/* How `docker compose` was asked to load a project: its global options, and what the
 * loader needs of the process. NULL members take docker compose's defaults. */
struct compose_load_opts {
        char **files;             /* -f FILE...: in order, "-" for stdin (NULL: COMPOSE_FILE, ':' or
                                   * COMPOSE_PATH_SEPARATOR separated, else discovery) */
        const char *project_dir;  /* --project-directory (NULL: the first file's directory) */
        const char *project_name; /* -p (NULL: COMPOSE_PROJECT_NAME, then the files' name:, then
                                   * the project directory's name, normalised) */
        char **profiles;          /* --profile (NULL: COMPOSE_PROFILES, comma-separated) */
        char **env_files;         /* --env-file (NULL: .env of the working directory and of the
                                   * project directory, when they exist) */
        char **environ;           /* the process environment, "K=V": it wins over the env files */
        char **services;          /* services named on the command line: enabled, with their
                                   * profiles, even when those are not active; may be NULL */
        const char *cwd;          /* where relative paths and discovery start (NULL: getcwd) */
        /* Outputs, when not NULL: the project directory and the files read (absolute, "-" for
         * stdin), malloc'd, set only when compose_load succeeds (the labels of what `compose up`
         * creates name them). */
        char **ret_project_dir;
        char ***ret_files;
};

/* Loads a project as docker compose v2 (compose-go) does and returns its normalised model, the
 * JSON `docker compose config --format json` prints, in *ret_model (the caller's reference):
 *   {"name": P, "services": {S: {...}} in file order, "networks", "volumes", "secrets",
 *    "configs" (each only when some exist; a resource's "name" is P_KEY unless set or
 *    external), then the top-level x-* extensions}.
 * Each service holds only the keys set, sorted, in canonical forms: command and entrypoint
 * lists of words; environment (env_file merged under it; a variable without a value null),
 * labels, annotations, sysctls, build.args maps of strings; ports
 * [{mode, host_ip?, target (int), published? (string), protocol}] one per port of a range;
 * volumes [{type, source?, target, read_only?, bind?, volume?, tmpfs?}] with bind sources
 * absolute; networks {NET: null or {aliases, ipv4_address, ...}} ({"default": null} when
 * none and no network_mode); depends_on {S: {condition, required, restart?}} (network_mode
 * service:x, volumes_from, links and ipc/pid service:x imply theirs); healthcheck durations
 * and stop_grace_period as Go prints durations ("1m30s"); mem_limit, memswap_limit,
 * mem_reservation, shm_size and deploy.resources.*.memory in bytes (int);
 * deploy.resources.*.cpus a string ("0.5"), cpus a number; ulimits {NAME: {soft, hard}};
 * extra_hosts ["host=ip"] sorted; devices strings; secrets and configs [{source, target?,
 * ...}] (a secret's target defaults to /run/secrets/SOURCE); build {context (absolute, or a
 * URL), dockerfile ("Dockerfile"), ...}.
 * Services whose profiles are not active are left out. *ret_warnings (may be NULL) gets the
 * warnings docker compose prints: unset variables, `version` obsolete, several files found,
 * yes/no booleans. Errors (-EINVAL unless said): -ENOENT "no configuration file provided:
 * not found", "open FILE: no such file or directory", "couldn't find env file: FILE",
 * "env file FILE not found: stat FILE: ..."; the YAML loader's and interpolation's;
 * "FILE:LINE:COL: PATH additional property KEY is not allowed" and "FILE:LINE:COL: PATH must
 * be a boolean" (and the like) for what the Compose Specification refuses; and docker compose's
 * own words: 'service "web" depends on undefined service "db": invalid compose project',
 * 'service "web" refers to undefined network front: invalid compose project' (volume,
 * secret, config too), 'service "web" has neither an image nor a build context specified:
 * invalid compose project', "dependency cycle detected: a -> b -> a", "Circular reference:
 * ..." (extends), "include cycle detected: ...", "project name must not be empty", '"Foo" is
 * not a valid project name: it must contain only characters from [a-z0-9_-] and start with
 * [a-z0-9]'. */
int compose_load(const struct compose_load_opts *o, struct jv **ret_model, char ***ret_warnings,
                 struct err *err);

/* The model (compose_load's) as YAML text, as `docker compose config` prints it: keys in the
 * model's order, block style with two-space indentation, sequences indented under their key,
 * strings quoted only when they would read back as something else (a number, a boolean,
 * null, YAML syntax) or are empty; empty mappings and lists as {} and []. Malloc'd; aborts
 * when out of memory. */
char *compose_emit_yaml(const struct jv *model);
