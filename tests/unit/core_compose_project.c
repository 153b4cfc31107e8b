/* core/compose/: the project loader and normaliser (compose_load, compose_emit_yaml), checked
 * against what `docker compose config --format json` (compose-go) gives for the same files.
 * Each test writes its files into a fresh temporary directory. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/compose/compose.h"

/* ---- helpers ---- */

static char base[256]; /* this test's temporary directory */
static char dir[300];  /* base/proj: the project directory, whose name is known */

static int setup(void **state)
{
        struct err err = {0};

        (void)state;
        snprintf(base, sizeof(base), "/tmp/hawser-compose-XXXXXX");
        if (!mkdtemp(base))
                return -1;
        snprintf(dir, sizeof(dir), "%s/proj", base);
        return fs_mkdir_p(dir, 0755, &err) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        struct err err = {0};

        (void)state;
        return fs_rm_rf(base, &err) < 0 ? -1 : 0;
}

/* DIR/rel, malloc'd. */
static char *at(const char *rel)
{
        char *p = util_printf("%s/%s", dir, rel);

        assert_non_null(p);
        return p;
}

/* Writes DIR/rel, making its directories. */
static void put(const char *rel, const char *text)
{
        _cleanup_free_ char *path = at(rel);
        _cleanup_free_ char *parent = strdup(path);
        struct err err = {0};

        *strrchr(parent, '/') = '\0';
        if (fs_mkdir_p(parent, 0755, &err) < 0 ||
            fs_write_atomic(path, text, strlen(text), 0644, &err) < 0)
                fail_msg("writing %s: %s", path, err.msg);
}

static void mkdir_at(const char *rel)
{
        _cleanup_free_ char *path = at(rel);
        struct err err = {0};

        if (fs_mkdir_p(path, 0755, &err) < 0)
                fail_msg("mkdir %s: %s", path, err.msg);
}

/* Options for a load from DIR/cwd with a controlled environment. */
struct opts {
        struct compose_load_opts o;
        char *cwd;
        char **env;
};

static void opts_init(struct opts *t, const char *cwd_rel)
{
        _cleanup_free_ char *home = at("home");

        memset(t, 0, sizeof(*t));
        t->cwd = cwd_rel ? at(cwd_rel) : strdup(dir);
        assert_non_null(t->cwd);
        util_strv_push(&t->env, "PATH=/usr/bin:/bin");
        {
                _cleanup_free_ char *h = util_printf("HOME=%s", home);
                util_strv_push(&t->env, h);
        }
        t->o.cwd = t->cwd;
        t->o.environ = t->env;
}

static void opts_env(struct opts *t, const char *kv)
{
        util_strv_push(&t->env, kv);
        t->o.environ = t->env;
}

static void opts_free(struct opts *t)
{
        free(t->cwd);
        util_strv_free(t->env);
}

static struct jv *load_ok(struct opts *t, char ***ret_warnings)
{
        struct jv *model = NULL;
        char **warnings = NULL;
        struct err err = {0};

        if (compose_load(&t->o, &model, &warnings, &err) < 0)
                fail_msg("compose_load: %s", err.msg);
        assert_non_null(model);
        assert_non_null(warnings);
        if (ret_warnings)
                *ret_warnings = warnings;
        else
                util_strv_free(warnings);
        return model;
}

/* want with "DIR" standing for this test's directory. */
static char *expand(const char *want)
{
        struct util_buf b = {0};

        for (const char *s = want; *s;) {
                if (!strncmp(s, "DIR", 3)) {
                        util_buf_add(&b, dir, strlen(dir));
                        s += 3;
                } else {
                        util_buf_addc(&b, *s++);
                }
        }
        util_buf_add(&b, "", 0);
        return b.s;
}

static void load_err(struct opts *t, int code, const char *want)
{
        struct jv *model = (struct jv *)0x1;
        char **warnings = (char **)0x1;
        struct err err = {0};
        _cleanup_free_ char *w = expand(want);
        int r = compose_load(&t->o, &model, &warnings, &err);

        if (r != code || strcmp(err.msg, w) != 0)
                fail_msg("got %d \"%s\", want %d \"%s\"", r, err.msg, code, w);
        assert_ptr_equal(model, (struct jv *)0x1);
        assert_ptr_equal(warnings, (char **)0x1);
}

/* The project in DIR with -f files (NULL: the files found there), loaded. */
static struct jv *load_files(char **files)
{
        struct opts t;
        struct jv *m;

        opts_init(&t, NULL);
        t.o.files = files;
        m = load_ok(&t, NULL);
        opts_free(&t);
        return m;
}

/* Loading the project in DIR with -f files (NULL: the files found there) fails with code and
 * the message want. */
static void files_err(char **files, int code, const char *want)
{
        struct opts t;

        opts_init(&t, NULL);
        t.o.files = files;
        load_err(&t, code, want);
        opts_free(&t);
}

/* The one-file project yaml, loaded from DIR. */
static struct jv *load_yaml(const char *yaml)
{
        put("compose.yaml", yaml);
        return load_files(NULL);
}

/* Loads the single file compose.yaml holding yaml and expects the error want. */
static void yaml_err(const char *yaml, const char *want)
{
        put("compose.yaml", yaml);
        files_err(NULL, -EINVAL, want);
}

/* -f compose.yaml -f override.yaml */
static char *with_override[] = {"compose.yaml", "override.yaml", NULL};

/* The value at a '/'-separated path: object keys, array indexes. */
static const struct jv *get(const struct jv *v, const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        char *save = NULL;

        assert_non_null(p);
        for (char *k = strtok_r(p, "/", &save); k && v; k = strtok_r(NULL, "/", &save))
                v = jv_type(v) == JV_ARRAY ? jv_at(v, strtoul(k, NULL, 10)) : jv_get(v, k);
        return v;
}

/* The compact JSON at path equals want (with DIR expanded). */
static void check_json(const struct jv *model, const char *path, const char *want)
{
        const struct jv *v = get(model, path);
        _cleanup_free_ char *w = expand(want);
        const char *got = v ? jv_to_string(v, false) : "(missing)";

        if (strcmp(got, w) != 0)
                fail_msg("%s: got %s, want %s", path, got, w);
}

/* check_json for each row: {path below prefix, want}. */
static void check_rows(const struct jv *model, const char *prefix, const char *const rows[][2],
                       size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = util_printf("%s%s", prefix, rows[i][0]);

                assert_non_null(path);
                check_json(model, path, rows[i][1]);
        }
}

#define CHECK_ROWS(model, prefix, rows) check_rows(model, prefix, rows, ARRAY_SIZE(rows))

static void check_missing(const struct jv *model, const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        _cleanup_strv_ char **keys = NULL;
        char *slash;

        assert_non_null(p);
        slash = strrchr(p, '/');
        if (slash)
                *slash = '\0';
        keys = jv_keys(slash ? get(model, p) : model);
        if (util_strv_contains(keys, slash ? slash + 1 : p))
                fail_msg("%s: present, want missing", path);
}

static bool has_warning(char **warnings, const char *want)
{
        _cleanup_free_ char *w = expand(want);

        return util_strv_contains(warnings, w);
}

/* ---- which files, which name, which variables ---- */

static void test_discovery(void **state)
{
        _cleanup_jv_ struct jv *m = NULL, *m2 = NULL;
        _cleanup_strv_ char **warnings = NULL;
        struct opts t;

        (void)state;
        put("compose.yaml", "services:\n  web:\n    image: busybox\n    command: echo base\n"
                            "    environment: {FROM: $DOT}\n");
        put("compose.override.yml", "services:\n  web:\n    command: echo override\n");
        put(".env", "DOT=project-dir\n");
        mkdir_at("sub/deeper");
        /* From a subdirectory: the first directory up that holds a compose file. */
        opts_init(&t, "sub/deeper");
        m = load_ok(&t, &warnings);
        check_json(m, "name", "\"proj\"");
        check_json(m, "services/web/command", "[\"echo\",\"override\"]");
        check_json(m, "services/web/image", "\"busybox\"");
        /* The project directory's .env, found with the files. */
        check_json(m, "services/web/environment", "{\"FROM\":\"project-dir\"}");
        check_json(m, "networks", "{\"default\":{\"name\":\"proj_default\",\"ipam\":{}}}");
        assert_null(warnings[0]);
        util_strv_free(TAKE_PTR(warnings));
        opts_free(&t);

        /* Two names: compose.yaml wins, with docker compose's warnings. */
        put("docker-compose.yml", "services:\n  other:\n    image: x\n");
        opts_init(&t, NULL);
        m2 = load_ok(&t, &warnings);
        check_missing(m2, "services/other");
        assert_true(has_warning(warnings, "Found multiple config files with supported names: "
                                          "DIR/compose.yaml, DIR/docker-compose.yml"));
        assert_true(has_warning(warnings, "Using DIR/compose.yaml"));
        opts_free(&t);
}

static void test_discovery_none(void **state)
{
        (void)state;
        files_err(NULL, -ENOENT, "no configuration file provided: not found");
}

static void test_discovery_docker_compose_names(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("docker-compose.yml", "services:\n  web:\n    image: a\n");
        put("docker-compose.override.yml", "services:\n  web:\n    image: b\n");
        m = load_files(NULL);
        check_json(m, "services/web/image", "\"b\"");
}

static void test_files_in_order(void **state)
{
        _cleanup_jv_ struct jv *m1 = NULL, *m2 = NULL, *m3 = NULL;
        char *ab[] = {"a.yml", "sub/b.yml", NULL}, *ba[] = {"sub/b.yml", "a.yml", NULL};
        struct opts t;

        (void)state;
        put("a.yml", "services:\n  web:\n    image: a\n    build: ./ctx\n");
        put("sub/b.yml", "services:\n  web:\n    image: b\n");
        opts_init(&t, NULL);
        t.o.files = ab;
        m1 = load_ok(&t, NULL);
        check_json(m1, "services/web/image", "\"b\"");
        /* Relative paths of every file resolve against the project directory: the first
         * file's. */
        check_json(m1, "services/web/build/context", "\"DIR/ctx\"");
        t.o.files = ba;
        m2 = load_ok(&t, NULL);
        check_json(m2, "services/web/image", "\"a\"");
        check_json(m2, "services/web/build/context", "\"DIR/sub/ctx\"");
        check_json(m2, "name", "\"sub\"");
        opts_free(&t);

        /* COMPOSE_FILE, ':'-separated. */
        opts_init(&t, NULL);
        opts_env(&t, "COMPOSE_FILE=a.yml:sub/b.yml");
        m3 = load_ok(&t, NULL);
        check_json(m3, "services/web/image", "\"b\"");
        opts_free(&t);
}

static void test_file_missing(void **state)
{
        char *files[] = {"nope.yml", NULL};

        (void)state;
        files_err(files, -ENOENT, "open DIR/nope.yml: no such file or directory");
}

static void test_file_stdin(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;
        _cleanup_free_ char *path = at("piped.yml");
        char *files[] = {"-", NULL};
        int saved = dup(STDIN_FILENO), fd;
        struct opts t;

        (void)state;
        put("piped.yml", "services:\n  web:\n    image: from-stdin\n    build: ./b\n");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0 && saved >= 0);
        assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
        close(fd);
        opts_init(&t, NULL);
        t.o.files = files;
        m = load_ok(&t, NULL);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        check_json(m, "services/web/image", "\"from-stdin\"");
        /* The project directory of stdin is the working directory. */
        check_json(m, "services/web/build/context", "\"DIR/b\"");
        opts_free(&t);
}

static void test_project_name(void **state)
{
        _cleanup_jv_ struct jv *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;
        struct opts t;

        (void)state;
        put("compose.yaml", "name: From_Yaml ${SUFFIX}\nservices:\n  web:\n    image: x\n");
        /* The file's name:, interpolated and normalised. */
        opts_init(&t, NULL);
        opts_env(&t, "SUFFIX=X1");
        m1 = load_ok(&t, NULL);
        check_json(m1, "name", "\"from_yamlx1\"");
        check_json(m1, "networks/default/name", "\"from_yamlx1_default\"");
        /* COMPOSE_PROJECT_NAME over it, from the .env too. */
        put(".env", "COMPOSE_PROJECT_NAME=dotenv-name\n");
        m2 = load_ok(&t, NULL);
        check_json(m2, "name", "\"dotenv-name\"");
        opts_env(&t, "COMPOSE_PROJECT_NAME=env-name");
        m3 = load_ok(&t, NULL);
        check_json(m3, "name", "\"env-name\"");
        /* -p over everything. */
        t.o.project_name = "flag";
        m4 = load_ok(&t, NULL);
        check_json(m4, "name", "\"flag\"");
        opts_free(&t);

        /* The directory's name, normalised, when nothing else names the project. */
        put("My.Dir_1/compose.yaml", "services:\n  web:\n    image: x\n");
        opts_init(&t, "My.Dir_1");
        m5 = load_ok(&t, NULL);
        check_json(m5, "name", "\"mydir_1\"");
        opts_free(&t);
}

static void test_project_name_invalid(void **state)
{
        struct opts t;

        (void)state;
        put("compose.yaml", "services:\n  web:\n    image: x\n");
        opts_init(&t, NULL);
        t.o.project_name = "Foo";
        load_err(&t, -EINVAL,
                 "\"Foo\" is not a valid project name: it must contain only characters from "
                 "[a-z0-9_-] and start with [a-z0-9]");
        t.o.project_name = "_foo";
        load_err(&t, -EINVAL,
                 "\"_foo\" is not a valid project name: it must contain only characters from "
                 "[a-z0-9_-] and start with [a-z0-9]");
        t.o.project_name = NULL;
        opts_env(&t, "COMPOSE_PROJECT_NAME=a b");
        load_err(&t, -EINVAL,
                 "\"a b\" is not a valid project name: it must contain only characters from "
                 "[a-z0-9_-] and start with [a-z0-9]");
        opts_free(&t);

        put("__/compose.yaml", "services:\n  web:\n    image: x\n");
        opts_init(&t, "__");
        load_err(&t, -EINVAL, "project name must not be empty");
        opts_free(&t);
}

static void test_env_precedence(void **state)
{
        _cleanup_jv_ struct jv *m1 = NULL, *m2 = NULL;
        _cleanup_strv_ char **warnings = NULL;
        char *env_files[] = {"other.env", NULL}, *missing[] = {"missing.env", NULL};
        struct opts t;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n"
                            "    image: \"img:${TAG}\"\n"
                            "    environment:\n"
                            "      A: ${A}\n"
                            "      B: ${B:-default}\n"
                            "      C: $UNSET\n"
                            "      P: ${COMPOSE_PROJECT_NAME}\n"
                            "      FROM_DOTENV:\n"
                            "      FROM_ENV:\n");
        put(".env", "A=dotenv\nB=dotenv\nTAG=1.0\nFROM_DOTENV=yes\n");
        put("other.env", "TAG=2.0\n");
        opts_init(&t, NULL);
        opts_env(&t, "A=environ");
        opts_env(&t, "FROM_ENV=env");
        m1 = load_ok(&t, &warnings);
        check_json(m1, "services/web/image", "\"img:1.0\"");
        /* The environment wins over .env; a key without a value takes the project's. */
        check_json(m1, "services/web/environment",
                   "{\"A\":\"environ\",\"B\":\"dotenv\",\"C\":\"\",\"FROM_DOTENV\":\"yes\","
                   "\"FROM_ENV\":\"env\",\"P\":\"proj\"}");
        assert_true(has_warning(
                warnings, "The \"UNSET\" variable is not set. Defaulting to a blank string."));
        /* --env-file replaces .env. */
        t.o.env_files = env_files;
        m2 = load_ok(&t, NULL);
        check_json(m2, "services/web/image", "\"img:2.0\"");
        check_json(m2, "services/web/environment/B", "\"default\"");
        t.o.env_files = missing;
        load_err(&t, -ENOENT, "couldn't find env file: DIR/missing.env");
        opts_free(&t);
}

/* ---- profiles ---- */

static const char profiles_yaml[] = "services:\n"
                                    "  web:\n"
                                    "    image: web\n"
                                    "  debug:\n"
                                    "    image: debug\n"
                                    "    profiles: [debug]\n"
                                    "  tools:\n"
                                    "    image: tools\n"
                                    "    profiles: [debug, tools]\n"
                                    "  other:\n"
                                    "    image: other\n"
                                    "    profiles: [other]\n";

/* The project's services are exactly want's, in want's order. */
static void check_services(struct opts *t, const char *want)
{
        _cleanup_jv_ struct jv *m = load_ok(t, NULL);
        const struct jv *services = jv_get(m, "services");
        _cleanup_strv_ char **keys = jv_keys(services);
        _cleanup_free_ char *w = strdup(want);
        const char *json = jv_to_string(services, false), *prev = json;
        size_t n = 0;
        char *save = NULL;

        assert_non_null(w);
        for (char *name = strtok_r(w, ",", &save); name; name = strtok_r(NULL, ",", &save), n++) {
                _cleanup_free_ char *needle = util_printf("\"%s\":{", name);
                const char *found = strstr(json, needle);
                if (!found || found < prev)
                        fail_msg("services %s: want %s in that order", json, want);
                prev = found;
        }
        if (util_strv_len(keys) != n)
                fail_msg("services %s: want only %s", json, want);
}

static void test_profiles(void **state)
{
        char *debug[] = {"debug", NULL}, *star[] = {"*", NULL}, *none[] = {NULL};
        char *named[] = {"other", NULL};
        struct opts t;

        (void)state;
        put("compose.yaml", profiles_yaml);
        opts_init(&t, NULL);
        check_services(&t, "web");
        t.o.profiles = debug;
        check_services(&t, "web,debug,tools");
        t.o.profiles = star;
        check_services(&t, "web,debug,tools,other");
        /* A service named on the command line is enabled, with its profiles. */
        t.o.profiles = none;
        t.o.services = named;
        check_services(&t, "web,other");
        t.o.services = NULL;
        t.o.profiles = NULL;
        opts_env(&t, "COMPOSE_PROFILES=tools, other");
        check_services(&t, "web,tools,other");
        opts_free(&t);
}

static void test_profiles_dependencies(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;
        char *debug[] = {"debug", NULL};
        struct opts t;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n"
                            "    image: web\n"
                            "    depends_on: [db]\n"
                            "  db:\n"
                            "    image: db\n"
                            "    profiles: [debug]\n");
        opts_init(&t, NULL);
        load_err(&t, -EINVAL,
                 "service \"web\" depends on undefined service \"db\": invalid compose project");
        t.o.profiles = debug;
        check_services(&t, "web,db");
        opts_free(&t);

        /* required: false: the dependency is dropped. */
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: web\n"
                      "    depends_on:\n"
                      "      db:\n"
                      "        condition: service_healthy\n"
                      "        required: false\n"
                      "      cache:\n"
                      "        condition: service_started\n"
                      "  db:\n"
                      "    image: db\n"
                      "    profiles: [debug]\n"
                      "  cache:\n"
                      "    image: redis\n");
        check_json(m, "services/web/depends_on",
                   "{\"cache\":{\"condition\":\"service_started\",\"required\":true}}");
}

/* ---- include and extends ---- */

static void test_include(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "include:\n"
                            "  - inc/short.yaml\n"
                            "  - path: [other/long.yaml, other/long.override.yaml]\n"
                            "    project_directory: other\n"
                            "    env_file: other/vars.env\n"
                            "services:\n"
                            "  web:\n"
                            "    image: web\n"
                            "    depends_on: [db, api]\n"
                            "  api:\n"
                            "    environment:\n"
                            "      LOCAL: 1\n");
        put("inc/short.yaml", "services:\n"
                              "  db:\n"
                              "    image: postgres:${PGVER}\n"
                              "    volumes:\n"
                              "      - ./data:/var/lib/postgresql/data\n"
                              "      - dbdata:/x\n"
                              "volumes:\n"
                              "  dbdata: {}\n");
        put("inc/.env", "PGVER=16\n");
        put("other/long.yaml", "services:\n"
                               "  api:\n"
                               "    image: api:${APIVER}\n"
                               "    build: ./src\n"
                               "    environment:\n"
                               "      FROM_INCLUDE: yes-string\n");
        put("other/long.override.yaml", "services:\n  api:\n    command: run\n");
        put("other/vars.env", "APIVER=2\n");
        m = load_files(NULL);
        check_json(m, "services/db/image", "\"postgres:16\"");
        /* Relative paths of an included file resolve against its own project directory. */
        check_json(m, "services/db/volumes/0/source", "\"DIR/inc/data\"");
        check_json(m, "volumes/dbdata", "{\"name\":\"proj_dbdata\"}");
        check_json(m, "services/api/image", "\"api:2\"");
        check_json(m, "services/api/build/context", "\"DIR/other/src\"");
        check_json(m, "services/api/command", "[\"run\"]");
        /* The including file's definition is merged over the included one. */
        check_json(m, "services/api/environment",
                   "{\"FROM_INCLUDE\":\"yes-string\",\"LOCAL\":\"1\"}");
        check_json(m, "services/web/depends_on/api/condition", "\"service_started\"");
}

static void test_include_cycle(void **state)
{
        (void)state;
        put("compose.yaml", "include: [a.yaml]\nservices:\n  web:\n    image: x\n");
        put("a.yaml", "include: [b.yaml]\n");
        put("b.yaml", "include: [a.yaml]\n");
        files_err(NULL, -EINVAL,
                  "include cycle detected:\nDIR/compose.yaml\n include DIR/a.yaml\n include "
                  "DIR/b.yaml\n include DIR/a.yaml");
}

static void test_extends_same_file(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        m = load_yaml("services:\n"
                      "  base:\n"
                      "    image: base\n"
                      "    environment:\n"
                      "      A: a\n"
                      "      B: b\n"
                      "    ports: [\"80\"]\n"
                      "    command: base-cmd\n"
                      "  mid:\n"
                      "    extends: base\n"
                      "    environment:\n"
                      "      B: mid\n"
                      "  web:\n"
                      "    extends:\n"
                      "      service: mid\n"
                      "    command: web-cmd\n"
                      "    ports: !reset []\n");
        check_json(m, "services/web/image", "\"base\"");
        check_json(m, "services/web/environment", "{\"A\":\"a\",\"B\":\"mid\"}");
        check_json(m, "services/web/command", "[\"web-cmd\"]");
        check_missing(m, "services/web/ports");
        check_missing(m, "services/web/extends");
        check_json(m, "services/mid/command", "[\"base-cmd\"]");
        check_json(m, "services/mid/ports/0/target", "80");
}

static void test_extends_other_file(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n"
                            "    extends:\n"
                            "      file: common/base.yaml\n"
                            "      service: app\n"
                            "    volumes:\n"
                            "      - ./mine:/mine\n");
        put("common/base.yaml", "services:\n"
                                "  app:\n"
                                "    extends:\n"
                                "      file: deeper/root.yaml\n"
                                "      service: root\n"
                                "    build: ./ctx\n"
                                "    env_file: app.env\n"
                                "    volumes:\n"
                                "      - ./shared:/shared\n");
        put("common/deeper/root.yaml",
            "services:\n  root:\n    image: root\n    working_dir: /w\n");
        put("common/app.env", "FROM_FILE=1\n");
        m = load_files(NULL);
        check_json(m, "services/web/image", "\"root\"");
        check_json(m, "services/web/working_dir", "\"/w\"");
        /* The extended service's relative paths resolve against its own file. */
        check_json(m, "services/web/build/context", "\"DIR/common/ctx\"");
        check_json(m, "services/web/volumes/0/source", "\"DIR/common/shared\"");
        check_json(m, "services/web/volumes/1/source", "\"DIR/mine\"");
        check_json(m, "services/web/environment", "{\"FROM_FILE\":\"1\"}");
}

static void test_extends_errors(void **state)
{
        (void)state;
        yaml_err("services:\n"
                 "  a:\n    image: x\n    extends: b\n"
                 "  b:\n    image: x\n    extends: a\n",
                 "Circular reference:\n  a in DIR/compose.yaml\n  extends b in "
                 "DIR/compose.yaml\n  extends a in DIR/compose.yaml");
        yaml_err("services:\n  a:\n    image: x\n    extends: nope\n",
                 "cannot extend service \"a\" in DIR/compose.yaml: service \"nope\" not found");
}

static void test_include_errors(void **state)
{
        (void)state;
        put("compose.yaml", "include: [missing.yaml]\nservices:\n  web:\n    image: x\n");
        files_err(NULL, -ENOENT, "open DIR/missing.yaml: no such file or directory");
        put("compose.yaml", "include:\n  - path: inc.yaml\n    env_file: nope.env\n"
                            "services:\n  web:\n    image: x\n");
        put("inc.yaml", "services:\n  db:\n    image: x\n");
        files_err(NULL, -ENOENT, "stat DIR/nope.env: no such file or directory");
        put("compose.yaml", "include: [inc.yaml]\nservices:\n  web:\n    image: x\n");
        put("inc.yaml", "services:\n  db:\n    image: x\n    tty: sometimes\n");
        files_err(NULL, -EINVAL, "DIR/inc.yaml:4:5: services.db.tty: invalid boolean: sometimes");
        put("inc.yaml", "services:\n  db:\n    image: [x\n");
        files_err(NULL, -EINVAL,
                  "DIR/inc.yaml:4:1: did not find expected ',' or ']' (while parsing a flow "
                  "sequence at line 3, column 12)");
}

static void test_extends_file_errors(void **state)
{
        (void)state;
        put("compose.yaml", "services:\n  web:\n    extends: {file: base.yaml, service: nope}\n");
        put("base.yaml", "services:\n  app:\n    image: x\n");
        files_err(NULL, -EINVAL,
                  "cannot extend service \"web\" in DIR/compose.yaml: service \"nope\" not found "
                  "in base.yaml");
        put("base.yaml", "networks: {}\n");
        files_err(NULL, -EINVAL,
                  "cannot extend service \"web\" in DIR/base.yaml: no services section");
        put("base.yaml", "services:\n  nope:\n    image: ${REQ?needed}\n");
        files_err(NULL, -EINVAL,
                  "DIR/base.yaml:3:5: error while interpolating services.nope.image: required "
                  "variable REQ is missing a value: needed");
        put("compose.yaml", "services:\n  web:\n    extends: {file: base.yaml, service: a}\n");
        put("base.yaml", "services:\n  a:\n    extends: {file: compose.yaml, service: web}\n");
        files_err(NULL, -EINVAL,
                  "Circular reference:\n  web in DIR/base.yaml\n  extends a in "
                  "DIR/compose.yaml\n  extends web in DIR/base.yaml");
}

static void test_override_errors(void **state)
{
        (void)state;
        put("compose.yaml", "services:\n  web:\n    image: x\n    environment: {A: 1}\n");
        put("override.yaml", "services:\n  web:\n    image: ${X:?}\n");
        files_err(with_override, -EINVAL,
                  "DIR/override.yaml:3:5: error while interpolating services.web.image: required "
                  "variable X is missing a value");
        put("override.yaml", "services:\n  web:\n    extra: 1\n");
        files_err(with_override, -EINVAL,
                  "DIR/override.yaml:3:5: services.web additional property extra is not allowed");
        put("override.yaml", "networks:\n  \"bad net\":\n");
        files_err(with_override, -EINVAL,
                  "DIR/override.yaml:2:3: networks.bad net: invalid network name \"bad net\": it "
                  "must match ^[a-zA-Z0-9._-]+$");
}

/* ---- short forms ---- */

/* The ports one service's `ports: [spec]` gives, as compact JSON. */
static void check_port(const char *spec, const char *want)
{
        _cleanup_free_ char *yaml =
                util_printf("services:\n  web:\n    image: x\n    ports:\n      - %s\n", spec);
        _cleanup_jv_ struct jv *m = load_yaml(yaml);

        check_json(m, "services/web/ports", want);
}

static void test_ports(void **state)
{
        (void)state;
        check_port("80", "[{\"mode\":\"ingress\",\"target\":80,\"protocol\":\"tcp\"}]");
        check_port("\"80\"", "[{\"mode\":\"ingress\",\"target\":80,\"protocol\":\"tcp\"}]");
        check_port("\"8080:80\"", "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\","
                                  "\"protocol\":\"tcp\"}]");
        check_port("127.0.0.1:8080:80/udp",
                   "[{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":80,"
                   "\"published\":\"8080\",\"protocol\":\"udp\"}]");
        check_port("\"[::1]:8080:80\"", "[{\"mode\":\"ingress\",\"host_ip\":\"::1\",\"target\":80,"
                                        "\"published\":\"8080\",\"protocol\":\"tcp\"}]");
        check_port("\"127.0.0.1::80\"", "[{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\","
                                        "\"target\":80,\"protocol\":\"tcp\"}]");
        check_port("\"8000-8001:80-81\"",
                   "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8000\","
                   "\"protocol\":\"tcp\"},{\"mode\":\"ingress\",\"target\":81,\"published\":"
                   "\"8001\",\"protocol\":\"tcp\"}]");
        check_port("\"9090-9091:80\"", "[{\"mode\":\"ingress\",\"target\":80,\"published\":"
                                       "\"9090-9091\",\"protocol\":\"tcp\"}]");
        check_port("\"53:53/UDP\"", "[{\"mode\":\"ingress\",\"target\":53,\"published\":\"53\","
                                    "\"protocol\":\"udp\"}]");
        check_port("{target: \"8000\", published: 80, host_ip: 0.0.0.0, app_protocol: http}",
                   "[{\"mode\":\"ingress\",\"host_ip\":\"0.0.0.0\",\"target\":8000,"
                   "\"published\":\"80\",\"protocol\":\"tcp\",\"app_protocol\":\"http\"}]");
}

static void test_port_errors(void **state)
{
        static const char *const rows[][2] = {
                {"\"8000-8002:80-81\"", "invalid ranges specified for container and host Ports: "
                                        "80-81 and 8000-8002"},
                {"\"80/xyz\"", "invalid proto: xyz"},
                {"\"1.2.3:80:80\"", "invalid IP address: 1.2.3"},
                {"\"x:80\"", "invalid hostPort: x"},
                {"\"70000\"", "invalid containerPort: 70000"},
                {"\"90-80\"", "invalid containerPort: 90-80"},
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                _cleanup_free_ char *yaml = util_printf(
                        "services:\n  web:\n    image: x\n    ports:\n      - %s\n", rows[i][0]);
                _cleanup_free_ char *want =
                        util_printf("DIR/compose.yaml:5:9: services.web.ports.0: %s", rows[i][1]);
                yaml_err(yaml, want);
        }
}

static void test_volumes(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: x\n"
                      "    volumes:\n"
                      "      - data:/data:ro,nocopy\n"
                      "      - ./src:/src:z\n"
                      "      - /abs/host:/in/../target/\n"
                      "      - ~/cache:/cache:rw,rshared\n"
                      "      - /anon\n"
                      "      - type: tmpfs\n"
                      "        target: /tmp\n"
                      "        tmpfs: {size: 64m}\n"
                      "      - type: bind\n"
                      "        source: rel\n"
                      "        target: /rel\n"
                      "        read_only: \"true\"\n"
                      "volumes:\n"
                      "  data:\n");
        check_json(m, "services/web/volumes/0",
                   "{\"type\":\"volume\",\"source\":\"data\",\"target\":\"/data\",\"read_only\":"
                   "true,\"volume\":{\"nocopy\":true}}");
        check_json(m, "services/web/volumes/1",
                   "{\"type\":\"bind\",\"source\":\"DIR/src\",\"target\":\"/src\",\"bind\":{"
                   "\"create_host_path\":true,\"selinux\":\"z\"}}");
        check_json(m, "services/web/volumes/2",
                   "{\"type\":\"bind\",\"source\":\"/abs/host\",\"target\":\"/target\",\"bind\":"
                   "{\"create_host_path\":true}}");
        check_json(m, "services/web/volumes/3",
                   "{\"type\":\"bind\",\"source\":\"DIR/home/cache\",\"target\":\"/cache\","
                   "\"bind\":{\"propagation\":\"rshared\",\"create_host_path\":true}}");
        check_json(m, "services/web/volumes/4",
                   "{\"type\":\"volume\",\"target\":\"/anon\","
                   "\"volume\":{}}");
        check_json(m, "services/web/volumes/5",
                   "{\"type\":\"tmpfs\",\"target\":\"/tmp\","
                   "\"tmpfs\":{\"size\":67108864}}");
        check_json(m, "services/web/volumes/6",
                   "{\"type\":\"bind\",\"source\":\"DIR/rel\",\"target\":\"/rel\","
                   "\"read_only\":true}");
        yaml_err("services:\n  web:\n    image: x\n    volumes:\n      - data:/data\n",
                 "service \"web\" refers to undefined volume data: invalid compose project");
        yaml_err("services:\n  web:\n    image: x\n    volumes:\n      - ab:bc:cd:d\n",
                 "DIR/compose.yaml:5:9: services.web.volumes.0: invalid spec: ab:bc:cd:d: too many "
                 "colons");
}

static void test_service_forms(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: x\n"
                      "    command: sh -c 'echo \"a b\"' c\\ d\n"
                      "    entrypoint: []\n"
                      "    environment: [A=1, B=, C, D=x=y]\n"
                      "    labels: [com.x=1, flag]\n"
                      "    sysctls: {net.core.somaxconn: 1024}\n"
                      "    annotations: [a=b]\n"
                      "    expose: [80, \"90\"]\n"
                      "    tmpfs: /run\n"
                      "    dns: 8.8.8.8\n"
                      "    dns_search: example.com\n"
                      "    cap_add: [NET_ADMIN]\n"
                      "    group_add: [100, wheel]\n"
                      "    extra_hosts: [\"a=1.2.3.4\", \"b:::1\", \"c:[::2]\"]\n"
                      "    healthcheck:\n"
                      "      test: [CMD, \"true\"]\n"
                      "      interval: 1m30s\n"
                      "      timeout: 500ms\n"
                      "      start_period: 1h\n"
                      "      retries: \"3\"\n"
                      "    stop_grace_period: 90s\n"
                      "    mem_limit: 1g\n"
                      "    memswap_limit: 1024\n"
                      "    shm_size: \"64m\"\n"
                      "    cpus: \"1.5\"\n"
                      "    pids_limit: 100\n"
                      "    privileged: \"true\"\n"
                      "    read_only: false\n"
                      "    init: true\n"
                      "    ulimits:\n"
                      "      nproc: 65535\n"
                      "      nofile: {soft: 1024, hard: \"2048\"}\n"
                      "    logging:\n"
                      "      driver: json-file\n"
                      "      options: {max-size: 10m, max-file: 3}\n"
                      "    secrets: [token]\n"
                      "    configs: [{source: conf, target: /etc/conf}]\n"
                      "    devices: [/dev/fuse, \"/dev/a:/dev/b:r\"]\n"
                      "    restart: unless-stopped\n"
                      "    pull_policy: if_not_present\n"
                      "    x-custom: {keep: me}\n"
                      "  app:\n"
                      "    build: .\n"
                      "    healthcheck:\n"
                      "      test: curl -f localhost\n"
                      "  off:\n"
                      "    image: x\n"
                      "    healthcheck: {disable: true}\n"
                      "    deploy:\n"
                      "      replicas: 2\n"
                      "      resources:\n"
                      "        limits: {cpus: 0.5, memory: 512M, pids: 10}\n"
                      "        reservations: {memory: \"128m\"}\n"
                      "      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}\n"
                      "secrets:\n"
                      "  token: {file: ./token.txt}\n"
                      "configs:\n"
                      "  conf: {content: hello}\n");
        static const char *const web[][2] = {
                {"command", "[\"sh\",\"-c\",\"echo \\\"a b\\\"\",\"c d\"]"},
                {"entrypoint", "[]"},
                {"environment", "{\"A\":\"1\",\"B\":\"\",\"C\":null,\"D\":\"x=y\"}"},
                {"labels", "{\"com.x\":\"1\",\"flag\":\"\"}"},
                {"sysctls", "{\"net.core.somaxconn\":\"1024\"}"},
                {"annotations", "{\"a\":\"b\"}"},
                {"expose", "[\"80\",\"90\"]"},
                {"tmpfs", "[\"/run\"]"},
                {"dns", "[\"8.8.8.8\"]"},
                {"dns_search", "[\"example.com\"]"},
                {"group_add", "[\"100\",\"wheel\"]"},
                {"extra_hosts", "[\"a=1.2.3.4\",\"b=::1\",\"c=::2\"]"},
                {"healthcheck",
                 "{\"test\":[\"CMD\",\"true\"],\"timeout\":\"500ms\",\"interval\":\"1m30s\","
                 "\"retries\":3,\"start_period\":\"1h0m0s\"}"},
                {"stop_grace_period", "\"1m30s\""},
                {"mem_limit", "1073741824"},
                {"memswap_limit", "1024"},
                {"shm_size", "67108864"},
                {"cpus", "1.5"},
                {"pids_limit", "100"},
                {"privileged", "true"},
                {"read_only", "false"},
                {"ulimits",
                 "{\"nofile\":{\"soft\":1024,\"hard\":2048},\"nproc\":{\"soft\":65535,\"hard\":"
                 "65535}}"},
                {"logging",
                 "{\"driver\":\"json-file\",\"options\":{\"max-file\":\"3\",\"max-size\":"
                 "\"10m\"}}"},
                {"secrets", "[{\"source\":\"token\",\"target\":\"/run/secrets/token\"}]"},
                {"configs", "[{\"source\":\"conf\",\"target\":\"/etc/conf\"}]"},
                {"devices", "[\"/dev/fuse\",\"/dev/a:/dev/b:r\"]"},
                {"pull_policy", "\"missing\""},
                {"x-custom", "{\"keep\":\"me\"}"},
        };
        CHECK_ROWS(m, "services/web/", web);
        check_json(m, "services/app/build", "{\"context\":\"DIR\",\"dockerfile\":\"Dockerfile\"}");
        check_json(m, "services/app/healthcheck/test", "[\"CMD-SHELL\",\"curl -f localhost\"]");
        check_json(m, "services/off/healthcheck", "{\"test\":[\"NONE\"],\"disable\":true}");
        check_json(m, "services/off/deploy",
                   "{\"replicas\":2,\"resources\":{\"limits\":{\"cpus\":\"0.5\",\"memory\":"
                   "536870912,\"pids\":10},\"reservations\":{\"memory\":134217728}},"
                   "\"restart_policy\":{\"condition\":\"on-failure\",\"delay\":\"5s\","
                   "\"max_attempts\":3}}");
        check_json(m, "secrets/token", "{\"name\":\"proj_token\",\"file\":\"DIR/token.txt\"}");
        check_json(m, "configs/conf", "{\"name\":\"proj_conf\",\"content\":\"hello\"}");
        /* Service keys sorted, as docker compose prints them. */
        {
                const char *json = jv_to_string(get(m, "services/web"), false);
                assert_true(strstr(json, "\"annotations\"") < strstr(json, "\"cap_add\""));
                assert_true(strstr(json, "\"volumes\"") == NULL);
                assert_true(strstr(json, "\"ulimits\"") < strstr(json, "\"x-custom\""));
        }
}

static void test_networks(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: x\n"
                      "    networks:\n"
                      "      front:\n"
                      "        aliases: [www]\n"
                      "        ipv4_address: 10.1.0.5\n"
                      "      back:\n"
                      "  solo:\n"
                      "    image: x\n"
                      "    network_mode: host\n"
                      "  side:\n"
                      "    image: x\n"
                      "    network_mode: service:web\n"
                      "    volumes_from: [solo, \"container:other:ro\"]\n"
                      "networks:\n"
                      "  front:\n"
                      "    driver: bridge\n"
                      "    ipam:\n"
                      "      config:\n"
                      "        - subnet: 10.1.0.0/24\n"
                      "          gateway: 10.1.0.1\n"
                      "    internal: true\n"
                      "    labels: [a=b]\n"
                      "  back:\n"
                      "    name: explicit-back\n"
                      "  outside:\n"
                      "    external: true\n"
                      "  legacy:\n"
                      "    external:\n"
                      "      name: real-legacy\n");
        check_json(m, "services/web/networks",
                   "{\"back\":null,\"front\":{\"aliases\":[\"www\"],\"ipv4_address\":"
                   "\"10.1.0.5\"}}");
        check_missing(m, "services/solo/networks");
        check_json(m, "services/side/depends_on",
                   "{\"solo\":{\"condition\":\"service_started\",\"required\":true,\"restart\":"
                   "false},\"web\":{\"condition\":\"service_started\",\"required\":true,"
                   "\"restart\":true}}");
        check_json(m, "networks/front",
                   "{\"name\":\"proj_front\",\"driver\":\"bridge\",\"ipam\":{\"config\":[{"
                   "\"subnet\":\"10.1.0.0/24\",\"gateway\":\"10.1.0.1\"}]},\"internal\":true,"
                   "\"labels\":{\"a\":\"b\"}}");
        check_json(m, "networks/back", "{\"name\":\"explicit-back\",\"ipam\":{}}");
        check_json(m, "networks/outside", "{\"name\":\"outside\",\"ipam\":{},\"external\":true}");
        check_json(m, "networks/legacy",
                   "{\"name\":\"real-legacy\",\"ipam\":{},\"external\":true}");
        /* No service uses the default network: there is none. */
        check_missing(m, "networks/default");
        yaml_err("services:\n  web:\n    image: x\n    networks: [front]\n",
                 "service \"web\" refers to undefined network front: invalid compose project");
}

static void test_env_file(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n"
                            "    image: x\n"
                            "    env_file:\n"
                            "      - a.env\n"
                            "      - path: optional.env\n"
                            "        required: false\n"
                            "    environment:\n"
                            "      B: from-environment\n"
                            "    label_file: labels.env\n"
                            "    labels: {L: from-labels}\n");
        put("a.env", "A=from-file\nB=from-file\nC=${PROJECT_VAR}\n");
        put("labels.env", "L=from-file\nM=from-file\n");
        put(".env", "PROJECT_VAR=pv\n");
        m = load_files(NULL);
        check_json(m, "services/web/environment",
                   "{\"A\":\"from-file\",\"B\":\"from-environment\",\"C\":\"pv\"}");
        check_missing(m, "services/web/env_file");
        check_json(m, "services/web/labels", "{\"L\":\"from-labels\",\"M\":\"from-file\"}");
        check_missing(m, "services/web/label_file");
        put("compose.yaml", "services:\n  web:\n    image: x\n    env_file: nope.env\n");
        files_err(NULL, -ENOENT,
                  "env file DIR/nope.env not found: stat DIR/nope.env: no such file or directory");
}

/* ---- merging ---- */

static void test_merge_rules(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n"
                            "    image: base\n"
                            "    command: [base, cmd]\n"
                            "    entrypoint: /entry\n"
                            "    environment: [A=1, B=2]\n"
                            "    labels: {l1: a}\n"
                            "    ports: [\"8080:80\", \"9000:9000\"]\n"
                            "    volumes: [\"./a:/data\", \"logs:/logs\"]\n"
                            "    secrets: [s1]\n"
                            "    depends_on: [db]\n"
                            "    networks: {front: null, back: {aliases: [b]}}\n"
                            "    logging: {driver: syslog, options: {tag: a}}\n"
                            "    extra_hosts: [\"h=1.1.1.1\"]\n"
                            "    dns: [1.1.1.1]\n"
                            "    build: ./ctx\n"
                            "    healthcheck: {test: [CMD, a], interval: 10s}\n"
                            "    cap_add: [A]\n"
                            "  db:\n"
                            "    image: db\n"
                            "    ports: [\"5432:5432\"]\n"
                            "    labels: [keep=1]\n"
                            "networks:\n"
                            "  front:\n"
                            "  back:\n"
                            "volumes:\n"
                            "  logs:\n"
                            "secrets:\n"
                            "  s1: {file: ./s1}\n");
        put("override.yaml", "services:\n"
                             "  web:\n"
                             "    command: over\n"
                             "    environment: {B: 3, C: 4}\n"
                             "    labels: [l2=b]\n"
                             "    ports: [\"8080:80\", \"7000:7000\"]\n"
                             "    volumes: [\"./b:/data\"]\n"
                             "    secrets: [{source: s1, target: /run/secrets/s1, mode: 0400}]\n"
                             "    depends_on: {db: {condition: service_healthy}}\n"
                             "    networks: {back: {aliases: [b]}}\n"
                             "    logging: {driver: syslog, options: {fmt: x}}\n"
                             "    extra_hosts: [\"h=1.1.1.1\", \"i=2.2.2.2\"]\n"
                             "    dns: 8.8.8.8\n"
                             "    build: {dockerfile: Other}\n"
                             "    healthcheck: {test: [CMD, b]}\n"
                             "    entrypoint: !reset null\n"
                             "    cap_add: !override [B]\n"
                             "  db:\n"
                             "    ports: !override [\"6543:5432\"]\n"
                             "    labels: !reset []\n");
        m = load_files(with_override);
        static const char *const web[][2] = {
                {"command", "[\"over\"]"},
                {"cap_add", "[\"B\"]"},
                {"environment", "{\"A\":\"1\",\"B\":\"3\",\"C\":\"4\"}"},
                {"labels", "{\"l1\":\"a\",\"l2\":\"b\"}"},
                {"ports",
                 "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\",\"protocol\":"
                 "\"tcp\"},{\"mode\":\"ingress\",\"target\":9000,\"published\":\"9000\","
                 "\"protocol\":\"tcp\"},{\"mode\":\"ingress\",\"target\":7000,\"published\":"
                 "\"7000\",\"protocol\":\"tcp\"}]"},
                {"volumes/0/source", "\"DIR/b\""},
                {"volumes/1/source", "\"logs\""},
                {"secrets", "[{\"source\":\"s1\",\"target\":\"/run/secrets/s1\",\"mode\":256}]"},
                {"depends_on", "{\"db\":{\"condition\":\"service_healthy\",\"required\":true}}"},
                {"networks", "{\"back\":{\"aliases\":[\"b\"]},\"front\":null}"},
                {"logging", "{\"driver\":\"syslog\",\"options\":{\"fmt\":\"x\",\"tag\":\"a\"}}"},
                {"extra_hosts", "[\"h=1.1.1.1\",\"i=2.2.2.2\"]"},
                {"dns", "[\"1.1.1.1\",\"8.8.8.8\"]"},
                {"build", "{\"context\":\"DIR/ctx\",\"dockerfile\":\"Other\"}"},
                {"healthcheck", "{\"test\":[\"CMD\",\"b\"],\"interval\":\"10s\"}"},
        };
        CHECK_ROWS(m, "services/web/", web);
        check_missing(m, "services/web/entrypoint");
        check_json(m, "services/db/ports",
                   "[{\"mode\":\"ingress\",\"target\":5432,\"published\":"
                   "\"6543\",\"protocol\":\"tcp\"}]");
        check_missing(m, "services/db/labels");
}

static void test_merge_logging_driver(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "services:\n  web:\n    image: x\n"
                            "    logging: {driver: syslog, options: {tag: a}}\n");
        put("override.yaml", "services:\n  web:\n"
                             "    logging: {driver: json-file, options: {max-size: 1m}}\n");
        m = load_files(with_override);
        /* Another driver: its options replace the others. */
        check_json(m, "services/web/logging",
                   "{\"driver\":\"json-file\",\"options\":{\"max-size\":\"1m\"}}");
}

static void test_merge_override_tags(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;

        (void)state;
        put("compose.yaml", "services:\n"
                            "  web:\n    image: x\n    environment: {A: 1}\n"
                            "  db:\n    image: d\n    labels: {keep: 1}\n"
                            "  cache:\n    image: c\n");
        put("override.yaml", "services:\n"
                             "  web: !override\n    image: y\n"
                             "  cache: !reset\n"
                             "  db:\n    labels: !override {only: 2}\n");
        m = load_files(with_override);
        /* !override replaces in place; !reset removes. */
        check_json(m, "services",
                   "{\"web\":{\"image\":\"y\",\"networks\":{\"default\":null}},\"db\":{"
                   "\"image\":\"d\",\"labels\":{\"only\":\"2\"},\"networks\":{\"default\":"
                   "null}}}");
}

/* ---- errors ---- */

static void test_errors(void **state)
{
        (void)state;
        yaml_err("services:\n  web:\n    image: x\nvolume:\n  a:\n",
                 "DIR/compose.yaml:4:1: (root) additional property volume is not allowed");
        yaml_err("services:\n  web:\n    image: x\n    imagee: y\n",
                 "DIR/compose.yaml:4:5: services.web additional property imagee is not allowed");
        yaml_err("services:\n  web:\n    image: x\n    privileged: maybe\n",
                 "DIR/compose.yaml:4:5: services.web.privileged: invalid boolean: maybe");
        yaml_err("services:\n  web:\n    image: x\n    ports: 80\n",
                 "DIR/compose.yaml:4:5: services.web.ports must be a list");
        yaml_err("services:\n  web:\n    image: 12\n",
                 "DIR/compose.yaml:3:5: services.web.image must be a string");
        yaml_err("services:\n  web:\n    image: x\n    environment: [1]\n",
                 "DIR/compose.yaml:4:19: services.web.environment.0 must be a string");
        yaml_err("services:\n  web:\n    image: x\n    mem_limit: lots\n",
                 "DIR/compose.yaml:4:5: services.web.mem_limit: invalid size: 'lots'");
        yaml_err("services:\n  web:\n    image: x\n    healthcheck:\n      interval: 10\n",
                 "DIR/compose.yaml:5:7: services.web.healthcheck.interval must be a string");
        yaml_err("services:\n  web:\n    image: x\n    depends_on:\n      db: {}\n  db:\n"
                 "    image: x\n",
                 "DIR/compose.yaml:5:7: services.web.depends_on.db: missing property "
                 "'condition'");
        yaml_err("services:\n  web:\n    image: x\n    x-ok: 1\n  \"bad name\":\n    image: x\n",
                 "DIR/compose.yaml:5:3: services.bad name: invalid service name \"bad name\": "
                 "it must match ^[a-zA-Z0-9._-]+$");
        yaml_err("services:\n  web:\n    command: x\n",
                 "service \"web\" has neither an image nor a build context specified: invalid "
                 "compose project");
        yaml_err("services:\n"
                 "  a:\n    image: x\n    depends_on: [b]\n"
                 "  b:\n    image: x\n    depends_on: [c]\n"
                 "  c:\n    image: x\n    depends_on: [a]\n",
                 "dependency cycle detected: a -> b -> c -> a");
        yaml_err("services:\n  a:\n    image: x\n    depends_on: [a]\n",
                 "dependency cycle detected: a -> a");
        yaml_err("services:\n  web:\n    image: x\n    secrets: [nope]\n",
                 "service \"web\" refers to undefined secret nope: invalid compose project");
        yaml_err("services:\n  web:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n",
                 "services.web: can't set distinct values on 'scale' and 'deploy.replicas': "
                 "invalid compose project");
        yaml_err("services:\n  web:\n    image: x\n    network_mode: host\n    networks: [a]\n"
                 "networks:\n  a:\n",
                 "service web declares mutually exclusive `network_mode` and `networks`: "
                 "invalid compose project");
        yaml_err("services:\n  web:\n    image: ${NEED:?set it}\n",
                 "DIR/compose.yaml:3:5: error while interpolating services.web.image: required "
                 "variable NEED is missing a value: set it");
        yaml_err("services: [a]\n", "DIR/compose.yaml:1:1: services must be a mapping");
        yaml_err("services:\n  web:\n    image: x\nsecrets:\n  s: {}\n",
                 "secrets.s: one of file|environment must be set");
        yaml_err("services:\n  web:\n    image: x\nvolumes:\n  v: {external: true, driver: y}\n",
                 "volumes.v: conflicting parameters \"external\" and \"driver\" specified");
}

static void test_empty(void **state)
{
        (void)state;
        yaml_err("# nothing\n", "empty compose file");
}

static void test_version_warning(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;
        _cleanup_strv_ char **warnings = NULL;
        struct opts t;

        (void)state;
        put("compose.yaml", "version: \"3.8\"\nservices:\n  web:\n    image: x\n");
        opts_init(&t, NULL);
        m = load_ok(&t, &warnings);
        check_missing(m, "version");
        assert_true(has_warning(warnings,
                                "DIR/compose.yaml: the attribute `version` is obsolete, it will "
                                "be ignored, please remove it to avoid potential confusion"));
        opts_free(&t);
}

/* ---- YAML out ---- */

static void test_emit(void **state)
{
        _cleanup_jv_ struct jv *m = NULL;
        _cleanup_free_ char *yaml = NULL, *want = NULL;

        (void)state;
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: busybox\n"
                      "    ports: [\"8080:80\"]\n"
                      "    environment: {EMPTY: \"\", NUM: \"1\", BARE: null, S: \"a: b\"}\n");
        yaml = compose_emit_yaml(m);
        want = expand("name: proj\n"
                      "services:\n"
                      "  web:\n"
                      "    environment:\n"
                      "      BARE: null\n"
                      "      EMPTY: \"\"\n"
                      "      NUM: \"1\"\n"
                      "      S: \"a: b\"\n"
                      "    image: busybox\n"
                      "    networks:\n"
                      "      default: null\n"
                      "    ports:\n"
                      "      - mode: ingress\n"
                      "        target: 80\n"
                      "        published: \"8080\"\n"
                      "        protocol: tcp\n"
                      "networks:\n"
                      "  default:\n"
                      "    name: proj_default\n"
                      "    ipam: {}\n");
        assert_string_equal(yaml, want);
}

/* The YAML of a model reads back as the same model. */
static void test_emit_round_trip(void **state)
{
        _cleanup_jv_ struct jv *m = NULL, *back = NULL;
        _cleanup_free_ char *yaml = NULL;
        struct err err = {0};

        (void)state;
        m = load_yaml("services:\n"
                      "  web:\n"
                      "    image: busybox\n"
                      "    command: [\"true\", \"1.5\", \"-\", \"- x\", \"#c\", \"a #b\", \"yes\","
                      " \"~\", \"null\", \"0x1f\", \"1e3\", \"12:30\", \"::1\", \"*a\", \"&b\","
                      " \"!t\", \"[x]\", \"{y}\", \"' q\", \"\\\"dq\\\"\", \"tab\\there\","
                      " \"line\\nbreak\", \" lead\", \"trail \", \"2001-12-14\", \"a:\", \"%x\","
                      " \"@y\", \"`z\", \"|\", \">\", \"---\", \"...\", \"é\", \"\"]\n"
                      "    ports: [\"8080:80\", \"127.0.0.1:53:53/udp\"]\n"
                      "    volumes: [\"./x:/x\", \"/anon\"]\n"
                      "    cpus: 0.25\n"
                      "    labels: {\"a.b\": \"<<\", \"key with: colon\": v}\n"
                      "    healthcheck: {test: [CMD, a], interval: 2s}\n"
                      "    entrypoint: []\n"
                      "    deploy: {resources: {}}\n"
                      "  other:\n"
                      "    build: .\n"
                      "    depends_on: [web]\n"
                      "x-top: {list: [[1, 2], {a: [] }]}\n");
        yaml = compose_emit_yaml(m);
        if (compose_yaml_load("emitted", yaml, strlen(yaml), &back, NULL, &err) < 0)
                fail_msg("%s\n%s", err.msg, yaml);
        if (strcmp(jv_to_string(back, false), jv_to_string(m, false)) != 0)
                fail_msg("round trip:\n%s\ngot  %s\nwant %s", yaml, jv_to_string(back, false),
                         jv_to_string(m, false));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_discovery),
                T(test_discovery_none),
                T(test_discovery_docker_compose_names),
                T(test_files_in_order),
                T(test_file_missing),
                T(test_file_stdin),
                T(test_project_name),
                T(test_project_name_invalid),
                T(test_env_precedence),
                T(test_profiles),
                T(test_profiles_dependencies),
                T(test_include),
                T(test_include_cycle),
                T(test_extends_same_file),
                T(test_extends_other_file),
                T(test_extends_errors),
                T(test_include_errors),
                T(test_extends_file_errors),
                T(test_override_errors),
                T(test_ports),
                T(test_port_errors),
                T(test_volumes),
                T(test_service_forms),
                T(test_networks),
                T(test_env_file),
                T(test_merge_rules),
                T(test_merge_logging_driver),
                T(test_merge_override_tags),
                T(test_errors),
                T(test_empty),
                T(test_version_warning),
                T(test_emit),
                T(test_emit_round_trip),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
