#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/create.h"

#define ID       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMAGE_ID "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define DEF_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char busybox_cfg[] =
        "{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],"
        "\"Cmd\":[\"sh\"],\"Labels\":null}";
static const char nginx_cfg[] = "{\"Env\":[\"PATH=/usr/bin:/bin\",\"NGINX_VERSION=1.25.3\"],"
                                "\"Entrypoint\":[\"/docker-entrypoint.sh\"],"
                                "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],"
                                "\"Labels\":{\"maintainer\":\"NGINX\",\"tier\":\"web\"},"
                                "\"User\":\"101\",\"WorkingDir\":\"/srv\"}";

static struct jv *cfg_of(const char *text)
{
        struct jv *v = NULL;
        struct err e = {0};

        assert_int_equal(jv_parse(text, &v, &e), 0);
        assert_non_null(v);
        return v;
}

static int build(const struct run_opts *o, const char *cfg_text, char **cmd, struct jv **doc,
                 struct err *e)
{
        _cleanup_jv_ struct jv *cfg = cfg_text ? cfg_of(cfg_text) : NULL;

        memset(e, 0, sizeof(*e));
        *doc = NULL;
        return create_build_doc(o, "busybox", IMAGE_ID, cfg, cmd, ID, doc, e);
}

static const struct jv *config(const struct jv *doc)
{
        const struct jv *c = jv_get(doc, "Config");

        assert_non_null(c);
        return c;
}

/* Asserts a JSON string array equals want (NULL-terminated); want NULL means null/absent. */
static void assert_strv(const struct jv *arr, const char *const *want)
{
        size_t n = 0;

        if (!want) {
                assert_true(!arr || jv_type(arr) == JV_NULL);
                return;
        }
        assert_non_null(arr);
        assert_int_equal(jv_type(arr), JV_ARRAY);
        while (want[n])
                n++;
        assert_int_equal(jv_len(arr), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(jv_str(jv_at(arr, i)), want[i]);
}

/* Value of KEY in Config.Env: NULL if absent; fails if KEY appears twice. */
static const char *env_get(const struct jv *doc, const char *key)
{
        const struct jv *env = jv_get(config(doc), "Env");
        const char *found = NULL;
        size_t klen = strlen(key);

        assert_non_null(env);
        for (size_t i = 0; i < jv_len(env); i++) {
                const char *s = jv_str(jv_at(env, i));
                assert_non_null(s);
                if (strncmp(s, key, klen) || (s[klen] != '=' && s[klen] != '\0'))
                        continue;
                assert_null(found);
                found = s[klen] == '=' ? s + klen + 1 : s + klen;
        }
        return found;
}

/* Number of KEY entries in Config.Env; *ret_first gets a copy of the first value. Asserts
 * nothing, so a failing test can free the document before it asserts. */
static size_t env_count(const struct jv *doc, const char *key, char **ret_first)
{
        const struct jv *env = jv_get(jv_get(doc, "Config"), "Env");
        size_t klen = strlen(key), n = 0;

        *ret_first = NULL;
        for (size_t i = 0; i < jv_len(env); i++) {
                const char *s = jv_str(jv_at(env, i));
                if (!s || strncmp(s, key, klen) || (s[klen] != '=' && s[klen] != '\0'))
                        continue;
                if (n++ == 0)
                        *ret_first = strdup(s[klen] == '=' ? s + klen + 1 : s + klen);
        }
        return n;
}

/* ---- Cmd / Entrypoint ---- */

static void test_image_cmd(void **state)
{
        struct run_opts o = {0};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;
        static const char *const sh[] = {"sh", NULL};
        static const char *const none[] = {NULL};

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, NULL, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Cmd"), sh);
        assert_strv(jv_get(config(doc), "Entrypoint"), NULL);
        assert_string_equal(jv_get_str(doc, "Path"), "sh");
        assert_strv(jv_get(doc, "Args"), none);
}

static void test_args_override_cmd(void **state)
{
        struct run_opts o = {0};
        char *cmd[] = {"echo", "hello", "world", NULL};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;
        static const char *const want[] = {"echo", "hello", "world", NULL};
        static const char *const args[] = {"hello", "world", NULL};

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, cmd, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Cmd"), want);
        assert_strv(jv_get(config(doc), "Entrypoint"), NULL);
        assert_string_equal(jv_get_str(doc, "Path"), "echo");
        assert_strv(jv_get(doc, "Args"), args);
}

/* An empty argument vector is no arguments. */
static void test_empty_args_use_image_cmd(void **state)
{
        struct run_opts o = {0};
        char *cmd[] = {NULL};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;
        static const char *const sh[] = {"sh", NULL};

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, cmd, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Cmd"), sh);
        assert_string_equal(jv_get_str(doc, "Path"), "sh");
}

static void test_image_entrypoint_and_cmd(void **state)
{
        struct run_opts o = {0};
        _cleanup_jv_ struct jv *doc = NULL, *doc2 = NULL;
        char *cmd[] = {"nginx-debug", NULL};
        struct err e;
        static const char *const ep[] = {"/docker-entrypoint.sh", NULL};
        static const char *const icmd[] = {"nginx", "-g", "daemon off;", NULL};
        static const char *const ucmd[] = {"nginx-debug", NULL};

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Entrypoint"), ep);
        assert_strv(jv_get(config(doc), "Cmd"), icmd);
        assert_string_equal(jv_get_str(doc, "Path"), "/docker-entrypoint.sh");
        assert_strv(jv_get(doc, "Args"), icmd);

        /* Arguments replace the image's Cmd but keep its Entrypoint. */
        assert_int_equal(build(&o, nginx_cfg, cmd, &doc2, &e), 0);
        assert_strv(jv_get(config(doc2), "Entrypoint"), ep);
        assert_strv(jv_get(config(doc2), "Cmd"), ucmd);
        assert_string_equal(jv_get_str(doc2, "Path"), "/docker-entrypoint.sh");
        assert_strv(jv_get(doc2, "Args"), ucmd);
}

/* --entrypoint resets the image's Cmd unless arguments are given. */
static void test_entrypoint_flag(void **state)
{
        struct run_opts o = {.entrypoint = "/bin/date"};
        char *cmd[] = {"-u", "+%s", NULL};
        _cleanup_jv_ struct jv *doc = NULL, *doc2 = NULL;
        struct err e;
        static const char *const ep[] = {"/bin/date", NULL};
        static const char *const args[] = {"-u", "+%s", NULL};
        static const char *const none[] = {NULL};

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Entrypoint"), ep);
        assert_strv(jv_get(config(doc), "Cmd"), NULL);
        assert_string_equal(jv_get_str(doc, "Path"), "/bin/date");
        assert_strv(jv_get(doc, "Args"), none);

        assert_int_equal(build(&o, nginx_cfg, cmd, &doc2, &e), 0);
        assert_strv(jv_get(config(doc2), "Entrypoint"), ep);
        assert_strv(jv_get(config(doc2), "Cmd"), args);
        assert_string_equal(jv_get_str(doc2, "Path"), "/bin/date");
        assert_strv(jv_get(doc2, "Args"), args);
}

/* --entrypoint "" clears the image's Entrypoint: the arguments are the whole command. */
static void test_entrypoint_cleared(void **state)
{
        struct run_opts o = {.entrypoint = ""};
        char *cmd[] = {"ls", "-l", NULL};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;
        static const char *const want[] = {"ls", "-l", NULL};
        static const char *const args[] = {"-l", NULL};

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, cmd, &doc, &e), 0);
        assert_strv(jv_get(config(doc), "Entrypoint"), NULL);
        assert_strv(jv_get(config(doc), "Cmd"), want);
        assert_string_equal(jv_get_str(doc, "Path"), "ls");
        assert_strv(jv_get(doc, "Args"), args);
}

static void test_no_command(void **state)
{
        struct run_opts o = {0};
        struct run_opts cleared = {.entrypoint = ""};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;
        struct err e;

        (void)state;
        /* --entrypoint "" without arguments: the image's Cmd is not used either. */
        assert_int_equal(build(&cleared, nginx_cfg, NULL, &d1, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "No command specified");
        assert_null(d1);

        assert_int_equal(build(&o, "{\"Env\":[\"A=1\"]}", NULL, &d2, &e), -EINVAL);
        assert_string_equal(e.msg, "No command specified");
        assert_null(d2);

        assert_int_equal(build(&o, "{\"Cmd\":[],\"Entrypoint\":null}", NULL, &d3, &e), -EINVAL);
        assert_string_equal(e.msg, "No command specified");

        /* An imported image has no config at all. */
        assert_int_equal(build(&o, NULL, NULL, &d4, &e), -EINVAL);
        assert_string_equal(e.msg, "No command specified");
}

/* Path is the first word of Entrypoint+Cmd, Args the rest, in order. */
static void test_path_args_split(void **state)
{
        static const char cfg[] =
                "{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo $0 $1\",\"a\"]}";
        char *cmd[] = {"exit 3", "x", "", NULL};
        struct run_opts o = {0};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL;
        struct err e;
        static const char *const args1[] = {"-c", "echo $0 $1", "a", NULL};
        static const char *const args2[] = {"-c", "exit 3", "x", "", NULL};

        (void)state;
        assert_int_equal(build(&o, cfg, NULL, &d1, &e), 0);
        assert_string_equal(jv_get_str(d1, "Path"), "/bin/sh");
        assert_strv(jv_get(d1, "Args"), args1);
        assert_int_equal(build(&o, cfg, cmd, &d2, &e), 0);
        assert_string_equal(jv_get_str(d2, "Path"), "/bin/sh");
        assert_strv(jv_get(d2, "Args"), args2);
}

/* ---- Env ---- */

static void test_env_image_kept(void **state)
{
        struct run_opts o = {0};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        assert_string_equal(env_get(doc, "PATH"), "/usr/bin:/bin");
        assert_string_equal(env_get(doc, "NGINX_VERSION"), "1.25.3");
        assert_int_equal(jv_len(jv_get(config(doc), "Env")), 2);
        assert_null(env_get(doc, "TERM"));
}

static void test_env_default_path(void **state)
{
        struct run_opts o = {0};
        char *cmd[] = {"/hello", NULL};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL;
        struct err e;
        static const char *const only_path[] = {DEF_PATH, NULL};

        (void)state;
        assert_int_equal(build(&o, "{\"Env\":[\"A=1\"],\"Cmd\":[\"x\"]}", NULL, &d1, &e), 0);
        assert_string_equal(env_get(d1, "A"), "1");
        assert_string_equal(env_get(d1, "PATH"), DEF_PATH + 5);

        assert_int_equal(build(&o, NULL, cmd, &d2, &e), 0);
        assert_strv(jv_get(config(d2), "Env"), only_path);
        assert_string_equal(jv_get_str(d2, "Path"), "/hello");
}

static void test_env_flag_overrides(void **state)
{
        char *env[] = {"NGINX_VERSION=9", "NEW=x=y", "EMPTY=", "PATH=/opt/bin", NULL};
        struct run_opts o = {.env = env};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        assert_string_equal(env_get(doc, "NGINX_VERSION"), "9");
        assert_string_equal(env_get(doc, "NEW"), "x=y");
        assert_string_equal(env_get(doc, "EMPTY"), "");
        assert_string_equal(env_get(doc, "PATH"), "/opt/bin");
        assert_int_equal(jv_len(jv_get(config(doc), "Env")), 4);
}

/* Keys are compared whole: NGINX does not replace NGINX_VERSION. */
static void test_env_key_prefix(void **state)
{
        char *env[] = {"NGINX=1", NULL};
        struct run_opts o = {.env = env};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        assert_string_equal(env_get(doc, "NGINX"), "1");
        assert_string_equal(env_get(doc, "NGINX_VERSION"), "1.25.3");
}

static void test_env_bare_name(void **state)
{
        char *env[] = {"HAWSER_T_SET", "HAWSER_T_UNSET", "HAWSER_T_EMPTY", NULL};
        struct run_opts o = {.env = env};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_int_equal(setenv("HAWSER_T_SET", "from host", 1), 0);
        assert_int_equal(setenv("HAWSER_T_EMPTY", "", 1), 0);
        assert_int_equal(unsetenv("HAWSER_T_UNSET"), 0);
        assert_int_equal(build(&o, busybox_cfg, NULL, &doc, &e), 0);
        assert_string_equal(env_get(doc, "HAWSER_T_SET"), "from host");
        assert_string_equal(env_get(doc, "HAWSER_T_EMPTY"), "");
        assert_null(env_get(doc, "HAWSER_T_UNSET"));
        assert_int_equal(jv_len(jv_get(config(doc), "Env")), 3);
        unsetenv("HAWSER_T_SET");
        unsetenv("HAWSER_T_EMPTY");
}

/* A bare "-e NAME" whose NAME is unset on the host unsets NAME in the container, even when
 * the image sets it (Docker keeps the bare "NAME", which shadows the image value in merge()
 * and is removed by ReplaceOrAppendEnvValues). */
static void test_env_bare_unset_removes_image_value(void **state)
{
        char *env[] = {"NGINX_VERSION", NULL};
        struct run_opts o = {.env = env};
        struct jv *doc = NULL;
        char *v = NULL, *path = NULL;
        size_t n, npath;
        bool path_ok;
        struct err e;

        (void)state;
        assert_int_equal(unsetenv("NGINX_VERSION"), 0);
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        n = env_count(doc, "NGINX_VERSION", &v);
        npath = env_count(doc, "PATH", &path);
        path_ok = path && !strcmp(path, "/usr/bin:/bin");
        if (n)
                print_message("NGINX_VERSION still set to \"%s\"\n", v);
        free(v);
        free(path);
        jv_put(doc);
        assert_int_equal(npath, 1);
        assert_true(path_ok);
        assert_int_equal(n, 0);
}

static void test_env_invalid(void **state)
{
        char *env[] = {"=oops", NULL};
        struct run_opts o = {.env = env};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, NULL, &doc, &e), -EINVAL);
        assert_int_equal(e.code, EINVAL);
        assert_string_equal(e.msg, "invalid environment variable: =oops");
        assert_null(doc);
}

static char *write_temp(const char *text)
{
        char tmpl[] = "/tmp/hawser-envfile-XXXXXX";
        int fd = mkstemp(tmpl);
        size_t len = strlen(text);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        close(fd);
        return strdup(tmpl);
}

static void test_env_file(void **state)
{
        static const char text[] = "# a comment\n"
                                   "\n"
                                   "   # indented comment\n"
                                   "A=1\n"
                                   "  B=two words  \n"
                                   "HAWSER_T_FROM_HOST\n"
                                   "HAWSER_T_MISSING\n"
                                   "CRLF=yes\r\n"
                                   "NGINX_VERSION=from-file\n"
                                   "C=#not a comment\n";
        _cleanup_free_ char *path = write_temp(text);
        char *files[] = {path, NULL};
        char *env[] = {"A=flag", NULL};
        struct run_opts o = {.env_file = files, .env = env};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_non_null(path);
        assert_int_equal(setenv("HAWSER_T_FROM_HOST", "hv", 1), 0);
        assert_int_equal(unsetenv("HAWSER_T_MISSING"), 0);
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        unlink(path);
        unsetenv("HAWSER_T_FROM_HOST");
        /* -e is applied after --env-file. */
        assert_string_equal(env_get(doc, "A"), "flag");
        /* Values are passed through untrimmed, as Docker's parseKeyValueFile does. */
        assert_string_equal(env_get(doc, "B"), "two words  ");
        assert_string_equal(env_get(doc, "HAWSER_T_FROM_HOST"), "hv");
        assert_null(env_get(doc, "HAWSER_T_MISSING"));
        assert_string_equal(env_get(doc, "CRLF"), "yes");
        assert_string_equal(env_get(doc, "NGINX_VERSION"), "from-file");
        assert_string_equal(env_get(doc, "C"), "#not a comment");
        assert_string_equal(env_get(doc, "PATH"), "/usr/bin:/bin");
        assert_int_equal(jv_len(jv_get(config(doc), "Env")), 7);
}

static void test_env_file_missing(void **state)
{
        char *files[] = {"/nonexistent/hawser/env.list", NULL};
        struct run_opts o = {.env_file = files};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;

        (void)state;
        assert_true(build(&o, busybox_cfg, NULL, &doc, &e) < 0);
        assert_int_equal(e.code, ENOENT);
        assert_null(doc);
}

static void test_env_term_with_tty(void **state)
{
        struct run_opts tty = {.tty = true, .interactive = true};
        struct run_opts notty = {.interactive = true};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&tty, busybox_cfg, NULL, &d1, &e), 0);
        assert_string_equal(env_get(d1, "TERM"), "xterm");
        assert_true(jv_get_bool(config(d1), "Tty"));
        assert_int_equal(build(&notty, busybox_cfg, NULL, &d2, &e), 0);
        assert_null(env_get(d2, "TERM"));
        assert_false(jv_get_bool(config(d2), "Tty"));
}

/* TERM=xterm is only a default: Docker's CreateDaemonEnvironment lets a TERM from the image
 * or -e replace it, so the container sees exactly one TERM. */
static void test_env_term_user_wins(void **state)
{
        char *env[] = {"TERM=vt100", NULL};
        struct run_opts o = {.tty = true, .env = env};
        struct jv *doc = NULL;
        char *v = NULL;
        size_t n;
        bool first_ok;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, NULL, &doc, &e), 0);
        n = env_count(doc, "TERM", &v);
        first_ok = v && !strcmp(v, "vt100");
        if (n != 1 || !first_ok)
                print_message("Env: %s\n", jv_to_string(jv_get(config(doc), "Env"), false));
        free(v);
        jv_put(doc);
        assert_int_equal(n, 1);
        assert_true(first_ok);
}

/* ---- the rest of Config ---- */

static void test_labels_merged(void **state)
{
        char *labels[] = {"tier=db", "com.example.new=1", "flag", "eq=a=b", NULL};
        struct run_opts o = {.labels = labels};
        struct run_opts none = {0};
        _cleanup_jv_ struct jv *doc = NULL, *d2 = NULL;
        const struct jv *l;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &doc, &e), 0);
        l = jv_get(config(doc), "Labels");
        assert_non_null(l);
        assert_int_equal(jv_type(l), JV_OBJECT);
        assert_string_equal(jv_get_str(l, "maintainer"), "NGINX");
        assert_string_equal(jv_get_str(l, "tier"), "db");
        assert_string_equal(jv_get_str(l, "com.example.new"), "1");
        assert_string_equal(jv_get_str(l, "flag"), "");
        assert_string_equal(jv_get_str(l, "eq"), "a=b");

        /* No labels anywhere: an empty object, as Docker shows it. */
        assert_int_equal(build(&none, busybox_cfg, NULL, &d2, &e), 0);
        l = jv_get(config(d2), "Labels");
        assert_non_null(l);
        assert_int_equal(jv_type(l), JV_OBJECT);
        assert_string_equal(jv_to_string(l, false), "{}");
}

static void test_hostname(void **state)
{
        struct run_opts o = {0};
        struct run_opts named = {.hostname = "web01"};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, NULL, &d1, &e), 0);
        assert_string_equal(jv_get_str(config(d1), "Hostname"), "0123456789ab");
        assert_int_equal(build(&named, busybox_cfg, NULL, &d2, &e), 0);
        assert_string_equal(jv_get_str(config(d2), "Hostname"), "web01");
}

static void test_stdin_flags(void **state)
{
        struct run_opts attached = {.interactive = true};
        struct run_opts detached = {.interactive = true, .detach = true};
        struct run_opts plain = {0};
        struct run_opts bg = {.detach = true};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&attached, busybox_cfg, NULL, &d1, &e), 0);
        assert_true(jv_get_bool(config(d1), "OpenStdin"));
        assert_true(jv_get_bool(config(d1), "StdinOnce"));
        assert_true(jv_get_bool(config(d1), "AttachStdin"));
        assert_true(jv_get_bool(config(d1), "AttachStdout"));
        assert_true(jv_get_bool(config(d1), "AttachStderr"));

        assert_int_equal(build(&detached, busybox_cfg, NULL, &d2, &e), 0);
        assert_true(jv_get_bool(config(d2), "OpenStdin"));
        assert_false(jv_get_bool(config(d2), "StdinOnce"));
        assert_false(jv_get_bool(config(d2), "AttachStdin"));
        assert_false(jv_get_bool(config(d2), "AttachStdout"));

        assert_int_equal(build(&plain, busybox_cfg, NULL, &d3, &e), 0);
        assert_false(jv_get_bool(config(d3), "OpenStdin"));
        assert_false(jv_get_bool(config(d3), "StdinOnce"));
        assert_false(jv_get_bool(config(d3), "AttachStdin"));
        assert_true(jv_get_bool(config(d3), "AttachStdout"));

        assert_int_equal(build(&bg, busybox_cfg, NULL, &d4, &e), 0);
        assert_false(jv_get_bool(config(d4), "StdinOnce"));
        assert_false(jv_get_bool(config(d4), "AttachStderr"));
}

static void test_ids_and_image(void **state)
{
        struct run_opts o = {0};
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e;
        int64_t ns;

        (void)state;
        assert_int_equal(build(&o, busybox_cfg, NULL, &doc, &e), 0);
        assert_string_equal(jv_get_str(doc, "Id"), ID);
        assert_string_equal(jv_get_str(doc, "Image"), "sha256:" IMAGE_ID);
        assert_string_equal(jv_get_str(config(doc), "Image"), "busybox");
        assert_string_equal(jv_get_str(jv_get(doc, "State"), "Status"), "created");
        assert_non_null(jv_get_str(doc, "Created"));
        assert_int_equal(util_parse_time(jv_get_str(doc, "Created"), &ns), 0);
}

static void test_user_and_workdir(void **state)
{
        struct run_opts o = {0};
        struct run_opts over = {.user = "0:0", .workdir = "/tmp"};
        _cleanup_jv_ struct jv *d1 = NULL, *d2 = NULL, *d3 = NULL;
        struct err e;

        (void)state;
        assert_int_equal(build(&o, nginx_cfg, NULL, &d1, &e), 0);
        assert_string_equal(jv_get_str(config(d1), "User"), "101");
        assert_string_equal(jv_get_str(config(d1), "WorkingDir"), "/srv");
        assert_int_equal(build(&over, nginx_cfg, NULL, &d2, &e), 0);
        assert_string_equal(jv_get_str(config(d2), "User"), "0:0");
        assert_string_equal(jv_get_str(config(d2), "WorkingDir"), "/tmp");
        assert_int_equal(build(&o, busybox_cfg, NULL, &d3, &e), 0);
        assert_string_equal(jv_get_str(config(d3), "User"), "");
        assert_string_equal(jv_get_str(config(d3), "WorkingDir"), "");
}

/* The image config passed in is not modified. */
static void test_image_cfg_unchanged(void **state)
{
        char *env[] = {"NGINX_VERSION=2", NULL};
        char *labels[] = {"tier=db", NULL};
        char *cmd[] = {"x", NULL};
        struct run_opts o = {.env = env, .labels = labels, .tty = true};
        _cleanup_jv_ struct jv *cfg = cfg_of(nginx_cfg);
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_free_ char *before = NULL;
        struct err e = {0};

        (void)state;
        before = strdup(jv_to_string(cfg, false));
        assert_non_null(before);
        assert_int_equal(create_build_doc(&o, "nginx", IMAGE_ID, cfg, cmd, ID, &doc, &e), 0);
        assert_string_equal(jv_to_string(cfg, false), before);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_image_cmd),
                cmocka_unit_test(test_args_override_cmd),
                cmocka_unit_test(test_empty_args_use_image_cmd),
                cmocka_unit_test(test_image_entrypoint_and_cmd),
                cmocka_unit_test(test_entrypoint_flag),
                cmocka_unit_test(test_entrypoint_cleared),
                cmocka_unit_test(test_no_command),
                cmocka_unit_test(test_path_args_split),
                cmocka_unit_test(test_env_image_kept),
                cmocka_unit_test(test_env_default_path),
                cmocka_unit_test(test_env_flag_overrides),
                cmocka_unit_test(test_env_key_prefix),
                cmocka_unit_test(test_env_bare_name),
                cmocka_unit_test(test_env_bare_unset_removes_image_value),
                cmocka_unit_test(test_env_invalid),
                cmocka_unit_test(test_env_file),
                cmocka_unit_test(test_env_file_missing),
                cmocka_unit_test(test_env_term_with_tty),
                cmocka_unit_test(test_env_term_user_wins),
                cmocka_unit_test(test_labels_merged),
                cmocka_unit_test(test_hostname),
                cmocka_unit_test(test_stdin_flags),
                cmocka_unit_test(test_ids_and_image),
                cmocka_unit_test(test_user_and_workdir),
                cmocka_unit_test(test_image_cfg_unchanged),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
