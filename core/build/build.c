/* The build engine: stages, steps, the cache. Each step makes an image whose parent is the
 * previous step's (Docker's classic builder): metadata steps an empty history entry, RUN
 * the changes of a hawser container, COPY/ADD a layer written from the context (copy.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/sha256.h"
#include "../base/util.h"
#include "../build.h"
#include "../commit.h"
#include "../create.h"
#include "../image.h"
#include "../imgconfig.h"
#include "../layer.h"
#include "../registry.h"
#include "../teardown.h"
#include "engine.h"

static const char *const default_shell[] = {"/bin/sh", "-c", NULL};

void build_say(struct build *b, const char *fmt, ...)
{
        va_list ap;

        if (b->o->quiet)
                return;
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fflush(stdout);
}

/* ---- variables ---- */

/* Looks a name up in a "K=V" vector (the last one wins); NULL when unset. */
static const char *kv_get(char *const *v, const char *name)
{
        size_t n = strlen(name);
        const char *found = NULL;

        for (char *const *p = v; p && *p; p++)
                if (!strncmp(*p, name, n) && (*p)[n] == '=')
                        found = *p + n + 1;
        return found;
}

/* Sets name=value in a "K=V" vector, replacing an earlier one. */
int kv_set(char ***v, const char *name, const char *value)
{
        _cleanup_free_ char *kv = util_printf("%s=%s", name, value);
        size_t n = strlen(name);

        if (!kv)
                return -ENOMEM;
        for (char **p = *v; p && *p; p++)
                if (!strncmp(*p, name, n) && (*p)[n] == '=') {
                        free(*p);
                        *p = TAKE_PTR(kv);
                        return 0;
                }
        return util_strv_push(v, kv);
}

/* What a stage's instructions see: the image's Env over the stage's ARGs (Docker: ENV
 * wins over ARG of the same name). */
static const char *stage_lookup(void *ud, const char *name)
{
        const struct stage *st = ud;
        _cleanup_strv_ char **env = jv_to_strv(jv_path(st->doc, "config.Env"));
        const char *v = kv_get(env, name);

        if (v) {
                /* env is freed on return: keep the value in the stage's scratch vector. */
                if (kv_set(&((struct stage *)st)->scratch, name, v) < 0)
                        return NULL;
                return kv_get(st->scratch, name);
        }
        return kv_get(st->args, name);
}

int build_expand(struct build *b, struct stage *st, const char *word, char **ret, struct err *err)
{
        return df_expand_word(word, b->df.escape, stage_lookup, st, ret, err);
}

int build_expand_words(struct build *b, struct stage *st, const char *text, char ***ret,
                       struct err *err)
{
        return df_expand_words(text, b->df.escape, stage_lookup, st, ret, err);
}

/* The value --build-arg gives name (marking it used), or NULL. */
static const char *build_arg(struct build *b, const char *name)
{
        for (char **p = b->o->build_args; p && *p; p++) {
                size_t n = strcspn(*p, "=");
                if (strlen(name) != n || strncmp(*p, name, n))
                        continue;
                if (!util_strv_contains(b->used_args, name))
                        (void)util_strv_push(&b->used_args, name);
                if ((*p)[n] == '=')
                        return *p + n + 1;
                return getenv(name); /* --build-arg NAME: the value from the environment */
        }
        return NULL;
}

/* Docker's predefined ARGs: usable without being declared, never reported as unused. */
static bool predefined_arg(const char *name)
{
        static const char *const names[] = {
                "HTTP_PROXY",     "http_proxy", "HTTPS_PROXY",  "https_proxy",   "FTP_PROXY",
                "ftp_proxy",      "NO_PROXY",   "no_proxy",     "ALL_PROXY",     "all_proxy",
                "TARGETPLATFORM", "TARGETOS",   "TARGETARCH",   "TARGETVARIANT", "BUILDPLATFORM",
                "BUILDOS",        "BUILDARCH",  "BUILDVARIANT",
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (!strcmp(names[i], name))
                        return true;
        return false;
}

/* ---- images of the steps ---- */

static struct jv *scratch_doc(void)
{
        struct jv *doc = jv_new_object(), *rootfs = jv_new_object();

        jv_set_str(doc, "architecture", imgconfig_host_arch());
        jv_set_str(doc, "os", "linux");
        jv_set(doc, "config", jv_new_object());
        jv_set_str(rootfs, "type", "layers");
        jv_set(rootfs, "diff_ids", jv_new_array());
        jv_set(doc, "rootfs", rootfs);
        jv_set(doc, "history", jv_new_array());
        return doc;
}

int stage_set_image(struct build *b, struct stage *st, const char *id, struct err *err)
{
        struct jv *doc = NULL;
        int r = image_load_config(b->cli, id, &doc, err);

        if (r < 0)
                return r;
        jv_put(st->doc);
        st->doc = doc;
        snprintf(st->image, sizeof(st->image), "%s", id);
        return 0;
}

/* A child image of the stage's current one with config (taken) and, when stages is not
 * NULL, the one staged layer diff_id. */
int stage_commit(struct build *b, struct stage *st, struct jv *config, const char *diff_id,
                 char *stage, const char *created_by, struct err *err)
{
        _cleanup_jv_ struct jv *doc = NULL;
        char *stages[2] = {stage, NULL};
        char id[65];
        int r;

        doc = commit_child_doc(&(struct commit_child){.parent = st->doc,
                                                      .parent_id = st->image,
                                                      .diff_id = diff_id,
                                                      .created_by = created_by},
                               config);
        if (!doc) {
                if (stage)
                        layer_discard(stage);
                return err_set(err, -ENOMEM, "building the image config");
        }
        r = image_create(b->cli, doc, stage ? stages : NULL, NULL, id, err);
        if (r < 0)
                return r;
        return stage_set_image(b, st, id, err);
}

/* ---- the cache ---- */

static char *cache_path(const struct build *b, const char *key)
{
        return cli_root_path(b->cli, "build/cache/%s", key);
}

/* The key of a step: its parent image, the step as expanded, what else it reads. */
void build_key(const struct stage *st, const char *step, const char *extra, char out[65])
{
        _cleanup_free_ char *text =
                util_printf("parent=%s\nstep=%s\nextra=%s\n", st->image, step, extra ? extra : "");

        if (!text || sha256_hex(text, strlen(text), out) < 0)
                out[0] = '\0';
}

/* 1 (and the stage moved to the cached image) on a hit. */
int build_cache_get(struct build *b, struct stage *st, const char *key, struct err *err)
{
        _cleanup_free_ char *path = NULL, *id = NULL;
        struct err ignored = {0};
        char found[65];

        if (b->o->no_cache || b->missed || !*key)
                return 0;
        path = cache_path(b, key);
        if (!path || fs_read_file(path, &id, NULL, &ignored) < 0)
                return 0;
        id[strcspn(id, "\n")] = '\0';
        if (image_resolve(b->cli, id, found, &ignored) < 0 || strcmp(found, id))
                return 0;
        if (stage_set_image(b, st, id, err) < 0)
                return -err->code;
        build_say(b, " ---> Using cache\n");
        return 1;
}

void build_cache_put(struct build *b, const char *key, const char *id)
{
        _cleanup_free_ char *dir = cli_root_path(b->cli, "build/cache");
        _cleanup_free_ char *path = *key ? cache_path(b, key) : NULL;
        struct err ignored = {0};

        if (dir && path && fs_mkdir_p(dir, 0700, &ignored) >= 0)
                (void)fs_write_atomic(path, id, strlen(id), 0600, &ignored);
}

/* ---- metadata instructions ---- */

static struct jv *config_copy(const struct stage *st)
{
        const struct jv *c = jv_get(st->doc, "config");

        return c ? jv_copy(c) : jv_new_object();
}

/* "ENV a=1 b=2" / "ENV a 1": pairs, values expanded with what came before this line. */
static int parse_pairs(struct build *b, struct stage *st, const struct df_instr *in, char ***ret,
                       struct err *err)
{
        _cleanup_strv_ char **words = NULL, **out = calloc(1, sizeof(char *));
        int r;

        if (!out)
                return err_set(err, -ENOMEM, "building");
        /* Legacy form: "ENV name value with spaces". */
        if (in->args && in->args[0] && !strchr(in->args[0], '=')) {
                const char *v = in->rest + strlen(in->args[0]);
                _cleanup_free_ char *val = NULL;
                while (isspace((unsigned char)*v))
                        v++;
                if (!in->args[1])
                        return err_set(err, -EINVAL, "%s names can not be blank",
                                       !strcmp(in->cmd, "env") ? "ENV" : "LABEL");
                r = build_expand(b, st, v, &val, err);
                if (r < 0)
                        return r;
                r = kv_set(&out, in->args[0], val);
                if (r < 0)
                        return err_set(err, r, "building");
                *ret = TAKE_PTR(out);
                return 0;
        }
        r = build_expand_words(b, st, in->rest, &words, err);
        for (char **w = words; r >= 0 && w && *w; w++) {
                char *eq = strchr(*w, '=');
                if (!eq || eq == *w)
                        return err_set(err, -EINVAL, "%s names can not be blank",
                                       !strcmp(in->cmd, "env") ? "ENV" : "LABEL");
                *eq = '\0';
                r = kv_set(&out, *w, eq + 1);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

/* A RUN's shell text with its heredocs: `RUN <<EOF` alone runs the heredoc as the script;
 * a command with heredocs gets them as the shell's own here-documents (stdin). */
static char *shell_text(const struct df_instr *in)
{
        FILE *f;
        char *out = NULL;
        size_t len = 0;

        if (!in->n_heredocs)
                return strdup(in->rest);
        if (in->n_heredocs == 1 && !strncmp(in->rest, "<<", 2) && !strpbrk(in->rest, " \t"))
                return strdup(in->heredocs[0].content);
        f = open_memstream(&out, &len);
        if (!f)
                return NULL;
        fprintf(f, "%s\n", in->rest);
        for (size_t i = 0; i < in->n_heredocs; i++)
                fprintf(f, "%s%s\n", in->heredocs[i].content, in->heredocs[i].name);
        fclose(f);
        return out;
}

/* JSON form as given; shell form prefixed by the stage's SHELL (default /bin/sh -c). */
static struct jv *command_of(const struct stage *st, const struct df_instr *in)
{
        struct jv *out = jv_new_array();
        const struct jv *shell = jv_path(st->doc, "config.Shell");
        _cleanup_free_ char *text = NULL;

        if (in->json) {
                for (char **a = in->args; a && *a; a++)
                        jv_append(out, jv_new_string(*a));
                return out;
        }
        if (jv_len(shell)) {
                for (size_t i = 0; i < jv_len(shell); i++)
                        jv_append(out, jv_copy(jv_at(shell, i)));
        } else {
                for (const char *const *s = default_shell; *s; s++)
                        jv_append(out, jv_new_string(*s));
        }
        text = shell_text(in);
        jv_append(out, jv_new_string(text ? text : in->rest));
        return out;
}

static char *json_words(const struct jv *arr)
{
        return strdup(jv_to_string(arr, false));
}

static int apply_healthcheck(const struct df_instr *in, struct jv *cfg, struct err *err)
{
        struct jv *hc = jv_new_object();
        static const struct {
                const char *flag, *key;
        } durations[] = {
                {"--interval=", "Interval"},
                {"--timeout=", "Timeout"},
                {"--start-period=", "StartPeriod"},
                {"--start-interval=", "StartInterval"},
        };
        const char *rest = in->rest;

        if (!strncasecmp(rest, "NONE", 4) && (!rest[4] || isspace((unsigned char)rest[4]))) {
                struct jv *t = jv_new_array();
                jv_append(t, jv_new_string("NONE"));
                jv_set(hc, "Test", t);
                jv_set(cfg, "Healthcheck", hc);
                return 0;
        }
        if (strncasecmp(rest, "CMD", 3) || (rest[3] && !isspace((unsigned char)rest[3]))) {
                jv_put(hc);
                return err_set(err, -EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", rest);
        }
        for (char **f = in->flags; f && *f; f++) {
                bool known = false;
                for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
                        size_t n = strlen(durations[i].flag);
                        int64_t ns;
                        if (strncmp(*f, durations[i].flag, n))
                                continue;
                        known = true;
                        if (util_parse_go_duration(*f + n, &ns) < 0 || ns < 0) {
                                jv_put(hc);
                                return err_set(err, -EINVAL, "invalid duration %s", *f + n);
                        }
                        jv_set_int(hc, durations[i].key, ns);
                }
                if (!strncmp(*f, "--retries=", 10)) {
                        known = true;
                        jv_set_int(hc, "Retries", atoll(*f + 10));
                }
                if (!known) {
                        jv_put(hc);
                        return err_set(err, -EINVAL, "Unknown flag: %s", *f + 2);
                }
        }
        {
                struct jv *test = jv_new_array();
                const char *c = rest + 3;
                while (isspace((unsigned char)*c))
                        c++;
                jv_append(test, jv_new_string(in->json ? "CMD" : "CMD-SHELL"));
                if (in->json) {
                        for (char **a = in->args; a && *a; a++)
                                jv_append(test, jv_new_string(*a));
                } else {
                        jv_append(test, jv_new_string(c));
                }
                jv_set(hc, "Test", test);
        }
        jv_set(cfg, "Healthcheck", hc);
        return 0;
}

/* EXPOSE's "80" is "80/tcp"; ranges and protocols as given. */
static int apply_expose(struct build *b, struct stage *st, const struct df_instr *in,
                        struct jv *cfg, char **ret_text, struct err *err)
{
        _cleanup_strv_ char **ports = NULL;
        struct jv *set = jv_get(cfg, "ExposedPorts");
        int r = build_expand_words(b, st, in->rest, &ports, err);

        if (r < 0)
                return r;
        if (!set) {
                set = jv_new_object();
                jv_set(cfg, "ExposedPorts", set);
        }
        for (char **p = ports; *p; p++) {
                _cleanup_free_ char *k = strchr(*p, '/') ? strdup(*p) : util_printf("%s/tcp", *p);
                for (char *c = k; c && *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!k || strspn(*p, "0123456789-") == 0)
                        return err_set(err, -EINVAL, "invalid containerPort: %s", *p);
                jv_set(set, k, jv_new_object());
        }
        *ret_text = util_strv_join(ports, " ");
        return *ret_text ? 0 : err_set(err, -ENOMEM, "building");
}

/* Applies a metadata instruction to a copy of the config; *ret_by is Docker's history text. */
static int metadata(struct build *b, struct stage *st, const struct df_instr *in,
                    struct jv **ret_cfg, char **ret_by, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = config_copy(st);
        _cleanup_strv_ char **pairs = NULL, **words = NULL;
        _cleanup_free_ char *text = NULL, *val = NULL;
        const char *c = in->cmd;
        int r = 0;

        if (!strcmp(c, "env") || !strcmp(c, "label")) {
                bool env = !strcmp(c, "env");
                struct jv *labels = jv_get(cfg, "Labels");
                _cleanup_strv_ char **list = env ? jv_to_strv(jv_get(cfg, "Env")) : NULL;
                FILE *f;
                size_t len = 0;
                r = parse_pairs(b, st, in, &pairs, err);
                if (r < 0)
                        return r;
                f = open_memstream(&text, &len);
                if (!f)
                        return err_set(err, -ENOMEM, "building");
                if (!env && !labels) {
                        labels = jv_new_object();
                        jv_set(cfg, "Labels", labels);
                }
                for (char **p = pairs; *p; p++) {
                        char *eq = strchr(*p, '=');
                        *eq = '\0';
                        if (env)
                                r = kv_set(&list, *p, eq + 1);
                        else
                                jv_set_str(labels, *p, eq + 1);
                        fprintf(f, "%s%s=%s", p == pairs ? "" : " ", *p, eq + 1);
                        *eq = '=';
                }
                fclose(f);
                if (env)
                        jv_set(cfg, "Env", jv_from_strv(list));
        } else if (!strcmp(c, "maintainer")) {
                text = strdup(in->rest);
                jv_set_str(st->doc, "author", in->rest);
        } else if (!strcmp(c, "expose")) {
                r = apply_expose(b, st, in, cfg, &text, err);
        } else if (!strcmp(c, "volume")) {
                struct jv *set = jv_get(cfg, "Volumes");
                if (!set) {
                        set = jv_new_object();
                        jv_set(cfg, "Volumes", set);
                }
                if (in->json) {
                        words = util_strv_dup(in->args);
                } else {
                        r = build_expand_words(b, st, in->rest, &words, err);
                }
                for (char **w = words; r >= 0 && w && *w; w++) {
                        if (!**w)
                                return err_set(err, -EINVAL,
                                               "VOLUME specified can not be an "
                                               "empty string");
                        jv_set(set, *w, jv_new_object());
                }
                text = words ? util_printf("[%s]", util_strv_join(words, " ")) : NULL;
        } else if (!strcmp(c, "workdir")) {
                const char *cur = jv_get_str(cfg, "WorkingDir");
                r = build_expand(b, st, in->rest, &val, err);
                if (r >= 0) {
                        _cleanup_free_ char *joined =
                                val[0] == '/' ? strdup(val)
                                              : util_printf("%s/%s", cur && *cur ? cur : "", val);
                        text = joined ? path_clean(joined) : NULL;
                        if (text)
                                jv_set_str(cfg, "WorkingDir", text);
                }
        } else if (!strcmp(c, "user")) {
                r = build_expand(b, st, in->rest, &val, err);
                if (r >= 0)
                        jv_set_str(cfg, "User", val);
                text = val ? strdup(val) : NULL;
        } else if (!strcmp(c, "stopsignal")) {
                r = build_expand(b, st, in->rest, &val, err);
                if (r >= 0 && util_parse_signal(val) <= 0)
                        return err_set(err, -EINVAL, "Invalid signal: %s", val);
                if (r >= 0)
                        jv_set_str(cfg, "StopSignal", val);
                text = val ? strdup(val) : NULL;
        } else if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint")) {
                struct jv *cmd = command_of(st, in);
                bool ep = !strcmp(c, "entrypoint");
                text = json_words(cmd);
                if (!in->json && !*in->rest) {
                        jv_put(cmd);
                        jv_set(cfg, ep ? "Entrypoint" : "Cmd", NULL);
                } else {
                        jv_set(cfg, ep ? "Entrypoint" : "Cmd", cmd);
                }
                /* ENTRYPOINT resets an inherited CMD (one set in this stage stays). */
                if (ep && !st->cmd_set)
                        jv_set(cfg, "Cmd", NULL);
                if (!ep)
                        st->cmd_set = true;
        } else if (!strcmp(c, "shell")) {
                struct jv *sh = jv_new_array();
                if (!in->json || !in->args || !in->args[0]) {
                        jv_put(sh);
                        return err_set(err, -EINVAL,
                                       "SHELL requires the arguments to be in JSON "
                                       "form");
                }
                for (char **a = in->args; *a; a++)
                        jv_append(sh, jv_new_string(*a));
                text = json_words(sh);
                jv_set(cfg, "Shell", sh);
        } else if (!strcmp(c, "healthcheck")) {
                r = apply_healthcheck(in, cfg, err);
                text = strdup(in->rest);
        } else if (!strcmp(c, "onbuild")) {
                struct jv *ob = jv_get(cfg, "OnBuild");
                const char *trigger = in->original + strcspn(in->original, " \t");
                FILE *f;
                size_t len = 0;
                while (isspace((unsigned char)*trigger))
                        trigger++;
                if (!ob || jv_type(ob) != JV_ARRAY) {
                        ob = jv_new_array();
                        jv_set(cfg, "OnBuild", ob);
                }
                /* A trigger's heredocs travel with it (BuildKit's form: the text, then each
                 * body and its delimiter). */
                f = open_memstream(&text, &len);
                if (!f)
                        return err_set(err, -ENOMEM, "building");
                fputs(trigger, f);
                for (size_t i = 0; in->onbuild && i < in->onbuild->n_heredocs; i++)
                        fprintf(f, "\n%s%s", in->onbuild->heredocs[i].content,
                                in->onbuild->heredocs[i].name);
                fclose(f);
                jv_append(ob, jv_new_string(text));
        }
        if (r < 0)
                return r;
        /* Docker's history text: "#(nop) " and the instruction (two spaces before most). */
        *ret_by = util_printf("/bin/sh -c #(nop) %s%s %s", strcmp(c, "workdir") ? " " : "",
                              upper_word(c), text ? text : "");
        *ret_cfg = TAKE_PTR(cfg);
        return *ret_by ? 0 : err_set(err, -ENOMEM, "building");
}

/* ---- helpers ---- */

char *path_clean(const char *p)
{
        _cleanup_strv_ char **parts = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(p), *joined = NULL;
        bool abs = p[0] == '/';
        char *save = NULL;

        if (!parts || !copy)
                return NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                size_t n = util_strv_len(parts);
                if (!strcmp(c, "."))
                        continue;
                if (!strcmp(c, "..")) {
                        if (n && strcmp(parts[n - 1], "..")) {
                                free(parts[n - 1]);
                                parts[n - 1] = NULL;
                        } else if (!abs && util_strv_push(&parts, c) < 0) {
                                return NULL;
                        }
                        continue;
                }
                if (util_strv_push(&parts, c) < 0)
                        return NULL;
        }
        joined = util_strv_join(parts, "/");
        if (!joined)
                return NULL;
        return abs ? util_printf("/%s", joined) : strdup(*joined ? joined : ".");
}

const char *upper_word(const char *word)
{
        static char buf[32];
        size_t i = 0;

        for (; word[i] && i < sizeof(buf) - 1; i++)
                buf[i] = (char)toupper((unsigned char)word[i]);
        buf[i] = '\0';
        return buf;
}

/* ---- ARG ---- */

static int step_arg(struct build *b, struct stage *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        int r = build_expand_words(b, st, in->rest, &words, err);

        for (char **w = words; r >= 0 && w && *w; w++) {
                char *eq = strchr(*w, '=');
                const char *given, *meta;
                if (eq)
                        *eq = '\0';
                given = build_arg(b, *w);
                /* A bare ARG re-declares a global one with its global value. */
                meta = kv_get(b->meta_args, *w);
                r = kv_set(&st->args, *w, given ? given : eq ? eq + 1 : meta ? meta : "");
                if (r < 0)
                        r = err_set(err, r, "building");
        }
        return r;
}

/* ---- RUN ---- */

/* The build args a RUN sees (ARGs of the stage, not overridden by ENV): Docker prefixes
 * them to the history text ("|2 A=1 B=2 /bin/sh -c ...") and keys the cache on them. */
static char *run_args(const struct stage *st)
{
        _cleanup_strv_ char **env = jv_to_strv(jv_path(st->doc, "config.Env"));
        _cleanup_strv_ char **vis = calloc(1, sizeof(char *));
        _cleanup_free_ char *joined = NULL;

        for (char **a = st->args; vis && a && *a; a++) {
                size_t n = strcspn(*a, "=");
                _cleanup_free_ char *name = strndup(*a, n);
                if (name && !kv_get(env, name) && util_strv_push(&vis, *a) < 0)
                        return NULL;
        }
        if (!vis)
                return NULL;
        if (!vis[0])
                return strdup("");
        joined = util_strv_join(vis, " ");
        return joined ? util_printf("|%zu %s ", util_strv_len(vis), joined) : NULL;
}

/* RUN's flags: --network=default|none|host and --mount= (BuildKit's syntax). */
struct run_mounts {
        char *network;
        char **volumes; /* -v host:target[:ro] */
        char **tmpfs;
};

static void run_mounts_free(struct run_mounts *m)
{
        free(m->network);
        util_strv_free(m->volumes);
        util_strv_free(m->tmpfs);
}

/* The value of key in a "k=v,k2=v2" mount spec, or NULL (a bare key gives ""). */
static char *spec_get(const char *spec, const char *key)
{
        size_t k = strlen(key);

        for (const char *p = spec; p && *p;) {
                size_t n = strcspn(p, ",");
                if (n >= k && !strncmp(p, key, k) && (p[k] == '=' || n == k))
                        return p[k] == '=' ? strndup(p + k + 1, n - k - 1) : strdup("");
                p += n + (p[n] == ',');
        }
        return NULL;
}

/* The file a --secret id=ID,src=PATH of the build names for id, or NULL. */
static char *secret_source(const struct build *b, const char *id)
{
        for (char **s = b->o->secrets; s && *s; s++) {
                _cleanup_free_ char *sid = spec_get(*s, "id");
                char *src = spec_get(*s, "src");
                if (!src)
                        src = spec_get(*s, "source");
                if (sid && !strcmp(sid, id))
                        return src;
                free(src);
        }
        return NULL;
}

static int add_mount(struct build *b, const char *spec, struct run_mounts *m, struct err *err)
{
        _cleanup_free_ char *type = spec_get(spec, "type"), *target = spec_get(spec, "target");
        _cleanup_free_ char *id = spec_get(spec, "id"), *source = spec_get(spec, "source");
        _cleanup_free_ char *from = spec_get(spec, "from"), *rw = spec_get(spec, "rw");
        _cleanup_free_ char *vol = NULL, *host = NULL;

        if (!target)
                target = spec_get(spec, "dst");
        if (!target)
                target = spec_get(spec, "destination");
        if (!source)
                source = spec_get(spec, "src");
        if (!type)
                type = strdup("bind");
        if (!type)
                return err_set(err, -ENOMEM, "building");
        if (!strcmp(type, "secret")) {
                _cleanup_free_ char *src = NULL, *req = spec_get(spec, "required");
                if (!id && target)
                        id = strdup(strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
                if (!id)
                        return err_set(err, -EINVAL, "secret mount needs an id or a target");
                src = secret_source(b, id);
                if (!src) {
                        if (req && (!*req || !strcmp(req, "true")))
                                return err_set(err, -EINVAL,
                                               "secret %s: not provided (build --secret "
                                               "id=%s,src=PATH)",
                                               id, id);
                        return 0;
                }
                vol = util_printf("%s:%s%s:ro", src, target ? "" : "/run/secrets/",
                                  target ? target : id);
        } else if (!target) {
                return err_set(err, -EINVAL, "mount type %s needs a target", type);
        } else if (!strcmp(type, "tmpfs")) {
                return util_strv_push(&m->tmpfs, target) < 0 ? err_set(err, -ENOMEM, "building")
                                                             : 0;
        } else if (!strcmp(type, "cache")) {
                /* A directory of the build store that outlives builds (builder prune clears
                 * it), one per id (default: the target). */
                char h[65];
                const char *name = id ? id : target;
                if (sha256_hex(name, strlen(name), h) < 0)
                        return err_set(err, -ENOSYS, "building");
                host = cli_root_path(b->cli, "build/cache-mounts/%.32s", h);
                if (!host || fs_mkdir_p(host, 0755, err) < 0)
                        return host ? -err->code : err_set(err, -ENOMEM, "building");
                vol = util_printf("%s:%s", host, target);
        } else if (!strcmp(type, "bind")) {
                _cleanup_free_ char *clean = NULL;
                if (from)
                        return err_set(err, -ENOTSUP,
                                       "bind mounts from another stage or image are not "
                                       "supported by hawser's builder yet");
                if (rw && (!*rw || !strcmp(rw, "true")))
                        return err_set(err, -ENOTSUP,
                                       "read-write bind mounts are not supported "
                                       "by hawser's builder yet");
                clean = path_clean(source ? source : ".");
                if (!clean || !strncmp(clean, "..", 2))
                        return err_set(err, -EINVAL,
                                       "bind mount source %s is outside the build context",
                                       source ? source : ".");
                vol = util_printf("%s/%s:%s:ro", b->context, clean[0] == '/' ? clean + 1 : clean,
                                  target);
        } else {
                return err_set(err, -ENOTSUP, "mount type %s is not supported", type);
        }
        if (!vol || util_strv_push(&m->volumes, vol) < 0)
                return err_set(err, -ENOMEM, "building");
        return 0;
}

static int run_flags(struct build *b, const struct df_instr *in, struct run_mounts *m,
                     struct err *err)
{
        for (char **f = in->flags; f && *f; f++) {
                int r = 0;
                if (!strncmp(*f, "--mount=", 8)) {
                        r = add_mount(b, *f + 8, m, err);
                } else if (!strncmp(*f, "--network=", 10)) {
                        const char *n = *f + 10;
                        if (strcmp(n, "default") && strcmp(n, "none") && strcmp(n, "host"))
                                return err_set(err, -EINVAL,
                                               "invalid network mode %s: default, none or host", n);
                        free(m->network);
                        m->network = strcmp(n, "default") ? strdup(n) : NULL;
                } else {
                        return err_set(err, -EINVAL, "Unknown flag: %s", *f + 2);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Runs cmd in a container of the stage's image (create in this process, then `hawser
 * start -a`, which runs it with the same launcher as `run` and streams its output). */
static int run_container(struct build *b, struct stage *st, const struct jv *cmd,
                         const struct run_mounts *m, int *ret_code, struct err *err)
{
        _cleanup_strv_ char **argv = NULL, **env = calloc(1, sizeof(char *));
        _cleanup_jv_ struct jv *cenv = NULL;
        struct run_opts o = {.network = m->network ? m->network : b->o->network,
                             .add_hosts = b->o->add_hosts,
                             .entrypoint = (char *)"",
                             .volumes = m->volumes,
                             .tmpfs = m->tmpfs};
        struct container *c = NULL;
        char name[48], rnd[65];
        pid_t pid;
        int status, r;

        /* ARGs reach the command as environment (ENV wins), not the image. */
        cenv = jv_path(st->doc, "config.Env") ? jv_copy(jv_path(st->doc, "config.Env")) : NULL;
        for (char **a = st->args; env && a && *a; a++) {
                _cleanup_strv_ char **img = jv_to_strv(cenv);
                size_t n = strcspn(*a, "=");
                _cleanup_free_ char *k = strndup(*a, n);
                if (k && !kv_get(img, k))
                        (void)util_strv_push(&env, *a);
        }
        o.env = env;
        r = util_random_hex(rnd, err);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "hawser-build-%.12s", rnd);
        o.name = name;
        argv = jv_to_strv(cmd);
        if (!argv)
                return err_set(err, -ENOMEM, "building");
        r = create_container(b->cli, &o, st->image, argv, &c, err);
        if (r < 0)
                return r;
        free(b->container);
        b->container = strdup(c->id);
        build_say(b, " ---> Running in %.12s\n", c->id);
        container_free(c);
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return err_errno(err, "running a build step");
        if (pid == 0) {
                if (b->o->quiet) {
                        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        dup2(devnull, 1);
                        dup2(devnull, 2);
                }
                dup2(1, 2); /* the step's output, both streams, is the build's */
                execl(b->cli->self, "hawser", "--root", b->cli->root, "--runroot", b->cli->runroot,
                      "start", "-a", b->container, (char *)NULL);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return err_errno(err, "running a build step");
        *ret_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

/* Removes the step's container (after its commit, or after a failure). */
static void remove_container(struct build *b, bool say)
{
        struct container *c = NULL;
        struct err e = {0};

        if (!b->container)
                return;
        if (teardown_find(b->cli, b->container, &c, &e) >= 0) {
                if (teardown_remove(b->cli, c, &e) < 0)
                        fprintf(stderr, "warning: removing container %.12s: %s\n", b->container,
                                e.msg);
                else if (say)
                        build_say(b, "Removing intermediate container %.12s\n", b->container);
                container_free(c);
        }
        free(b->container);
        b->container = NULL;
}

static int step_run(struct build *b, struct stage *st, const struct df_instr *in, struct err *err)
{
        _cleanup_jv_ struct jv *cmd = command_of(st, in);
        _cleanup_free_ char *args = run_args(st), *words = NULL, *by = NULL;
        _cleanup_free_ char *step = NULL, *flags = NULL;
        _cleanup_(run_mounts_free) struct run_mounts m = {0};
        char key[65];
        int code = 0, r;

        if (!cmd || !args)
                return err_set(err, -ENOMEM, "building");
        r = run_flags(b, in, &m, err);
        if (r < 0)
                return r;
        flags = in->flags ? util_strv_join(in->flags, " ") : strdup("");
        {
                _cleanup_strv_ char **v = jv_to_strv(cmd);
                words = v ? util_strv_join(v, " ") : NULL;
        }
        by = words ? util_printf("%s%s", args, words) : NULL;
        step = by && flags ? util_printf("RUN %s%s%s", flags, in->json ? " json " : " ", by) : NULL;
        if (!by || !step)
                return err_set(err, -ENOMEM, "building");
        build_key(st, step, NULL, key);
        r = build_cache_get(b, st, key, err);
        if (r != 0)
                return r < 0 ? r : 0;
        b->missed = true;
        if (!st->image[0])
                return err_set(err, -EINVAL,
                               "no image to run %s in: the stage starts FROM "
                               "scratch and has no files yet",
                               in->original);
        r = run_container(b, st, cmd, &m, &code, err);
        if (r >= 0 && code != 0)
                r = err_set(err, -ECHILD, "The command '%s' returned a non-zero code: %d", words,
                            code);
        if (r >= 0) {
                char id[65];
                r = commit_container_as(b->cli, b->container, config_copy(st), by, true, id, err);
                if (r >= 0)
                        r = stage_set_image(b, st, id, err);
        }
        if (r >= 0 || b->o->rm || b->o->force_rm)
                remove_container(b, r >= 0);
        if (r >= 0)
                build_cache_put(b, key, st->image);
        return r;
}

/* ---- FROM ---- */

static const char *meta_lookup(void *ud, const char *name)
{
        return kv_get(((struct build *)ud)->meta_args, name);
}

struct stage *build_find_stage(struct build *b, const char *ref, size_t before)
{
        char *end;
        unsigned long idx = strtoul(ref, &end, 10);

        if (*ref && !*end && idx < before)
                return &b->stages[idx];
        for (size_t i = 0; i < before; i++)
                if (b->stages[i].name && !strcasecmp(b->stages[i].name, ref))
                        return &b->stages[i];
        return NULL;
}

static int build_stage(struct build *b, struct stage *st, struct err *err);

/* The image a FROM names: scratch, an earlier stage, or an image (pulled when missing or
 * with --pull). */
static int from_image(struct build *b, struct stage *st, const char *ref, struct err *err)
{
        struct stage *prev = build_find_stage(b, ref, st->index);
        char id[65];
        int r;

        if (!strcasecmp(ref, "scratch")) {
                jv_put(st->doc);
                st->doc = scratch_doc();
                st->image[0] = '\0';
                return 0;
        }
        if (prev) {
                if (!prev->built) {
                        r = build_stage(b, prev, err);
                        if (r < 0)
                                return r;
                }
                if (!prev->image[0]) {
                        jv_put(st->doc);
                        st->doc = jv_copy(prev->doc);
                        st->image[0] = '\0';
                        return 0;
                }
                return stage_set_image(b, st, prev->image, err);
        }
        r = b->o->pull ? -ENOENT : image_resolve(b->cli, ref, id, err);
        if (r == -ENOENT) {
                struct registry_pull_opts po = {
                        .platform = b->o->platform, .quiet = b->o->quiet, .out = stdout};
                err_clear(err);
                r = registry_pull(b->cli, ref, &po, id, err);
        }
        return r < 0 ? r : stage_set_image(b, st, id, err);
}

static int run_step(struct build *b, struct stage *st, const struct df_instr *in, struct err *err);

/* ONBUILD triggers of the base image run right after FROM, then are dropped. */
static int run_triggers(struct build *b, struct stage *st, struct err *err)
{
        _cleanup_strv_ char **triggers = jv_to_strv(jv_path(st->doc, "config.OnBuild"));
        _cleanup_free_ char *text = NULL;
        struct dockerfile df = {0};
        size_t n = util_strv_len(triggers);
        int r = 0;

        if (!n)
                return 0;
        build_say(b, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
        text = util_strv_join(triggers, "\n");
        if (!text)
                return err_set(err, -ENOMEM, "building");
        r = dockerfile_parse(text, "ONBUILD", &df, err);
        for (size_t i = 0; r >= 0 && i < df.n; i++) {
                const char *c = df.v[i].cmd;
                if (!strcmp(c, "from") || !strcmp(c, "maintainer") || !strcmp(c, "onbuild"))
                        r = err_set(err, -EINVAL, "%s isn't allowed as an ONBUILD trigger",
                                    upper_word(c));
                else
                        r = run_step(b, st, &df.v[i], err);
        }
        dockerfile_free(&df);
        if (r < 0)
                return r;
        /* The child does not inherit the triggers it ran. */
        {
                struct jv *cfg = config_copy(st);
                jv_set(cfg, "OnBuild", NULL);
                r = stage_commit(b, st, cfg, NULL, NULL, "/bin/sh -c #(nop)  ONBUILD", err);
        }
        return r;
}

/* Docker's builder gives a stage whose image has no PATH the default one (the steps that
 * follow carry it into the image). */
static void default_path(struct stage *st)
{
        struct jv *cfg = jv_get(st->doc, "config");
        _cleanup_strv_ char **env = jv_to_strv(jv_get(cfg, "Env"));
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));

        if (!cfg) {
                cfg = jv_new_object();
                jv_set(st->doc, "config", cfg);
        }
        if (kv_get(env, "PATH") || !out ||
            util_strv_push(&out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
                                 "/bin") < 0)
                return;
        for (char **e = env; e && *e; e++)
                if (util_strv_push(&out, *e) < 0)
                        return;
        jv_set(cfg, "Env", jv_from_strv(out));
}

static int step_from(struct build *b, struct stage *st, const struct df_instr *in, struct err *err)
{
        _cleanup_strv_ char **words = NULL;
        int r = df_expand_words(in->rest, b->df.escape, meta_lookup, b, &words, err);
        size_t n = util_strv_len(words);

        if (r < 0)
                return r;
        if (n != 1 && !(n == 3 && !strcasecmp(words[1], "AS")))
                return err_set(err, -EINVAL, "FROM requires either one or three arguments");
        for (char **f = in->flags; f && *f; f++)
                if (strncmp(*f, "--platform=", 11))
                        return err_set(err, -EINVAL, "Unknown flag: %s", *f + 2);
        r = from_image(b, st, words[0], err);
        if (r >= 0)
                default_path(st);
        if (r >= 0)
                r = run_triggers(b, st, err);
        return r;
}

/* ---- steps ---- */

static int run_step(struct build *b, struct stage *st, const struct df_instr *in, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_free_ char *by = NULL;
        const char *c = in->cmd;
        char key[65];
        int r;

        if (!strcmp(c, "from"))
                return step_from(b, st, in, err);
        if (!strcmp(c, "arg")) {
                /* The classic builder commits ARG as a step of its own, keyed on the line as
                 * written: a new --build-arg value misses at the steps that see it. */
                r = step_arg(b, st, in, err);
                by = r >= 0 ? util_printf("/bin/sh -c #(nop)  ARG %s", in->rest) : NULL;
                if (r < 0 || !by)
                        return r < 0 ? r : err_set(err, -ENOMEM, "building");
                build_key(st, by, NULL, key);
                r = build_cache_get(b, st, key, err);
                if (r != 0)
                        return r < 0 ? r : 0;
                b->missed = true;
                r = stage_commit(b, st, config_copy(st), NULL, NULL, by, err);
                if (r >= 0)
                        build_cache_put(b, key, st->image);
                return r;
        }
        if (!strcmp(c, "run"))
                return step_run(b, st, in, err);
        if (!strcmp(c, "copy") || !strcmp(c, "add"))
                return build_copy(b, st, in, !strcmp(c, "add"), err);
        /* Only FROM, RUN, COPY, ADD and HEALTHCHECK take flags (Docker's parsers). */
        if (in->flags && in->flags[0] && strcmp(c, "healthcheck"))
                return err_set(err, -EINVAL, "Dockerfile:%d: unknown flag: %s", in->line,
                               in->flags[0] + 2);
        r = metadata(b, st, in, &cfg, &by, err);
        if (r < 0)
                return r;
        build_key(st, by, jv_to_string(cfg, false), key);
        r = build_cache_get(b, st, key, err);
        if (r != 0)
                return r < 0 ? r : 0;
        b->missed = true;
        /* WORKDIR creates its directory: a layer (the empty tar when it exists), as Docker. */
        if (!strcmp(c, "workdir")) {
                char *stage = NULL, diff[65];
                r = build_dir_layer(b, st, jv_get_str(cfg, "WorkingDir"), &stage, diff, err);
                if (r >= 0)
                        r = stage_commit(b, st, TAKE_PTR(cfg), diff, stage, by, err);
                free(stage);
        } else {
                r = stage_commit(b, st, TAKE_PTR(cfg), NULL, NULL, by, err);
        }
        if (r >= 0)
                build_cache_put(b, key, st->image);
        return r;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        (void)sig;
        interrupted = 1;
}

static int build_stage(struct build *b, struct stage *st, struct err *err)
{
        int r = 0;

        for (size_t i = st->first; r >= 0 && i < st->end; i++) {
                const struct df_instr *in = &b->df.v[i];
                b->step++;
                build_say(b, "Step %d/%d : %s\n", b->step, b->n_steps, in->original);
                r = run_step(b, st, in, err);
                if (r >= 0 && st->image[0])
                        build_say(b, " ---> %.12s\n", st->image);
                if (r >= 0 && interrupted)
                        r = err_set(err, -EINTR, "the build was interrupted");
        }
        st->built = r >= 0;
        return r;
}

/* ---- the plan ---- */

static int plan(struct build *b, struct err *err)
{
        size_t first = 0, k = 0, target;

        while (first < b->df.n && strcmp(b->df.v[first].cmd, "from")) {
                const struct df_instr *in = &b->df.v[first];
                _cleanup_strv_ char **words = NULL;
                int r;
                if (strcmp(in->cmd, "arg"))
                        return err_set(err, -EINVAL, "Dockerfile:%d: %s", in->line,
                                       "no build stage in current context");
                r = df_expand_words(in->rest, b->df.escape, meta_lookup, b, &words, err);
                for (char **w = words; r >= 0 && w && *w; w++) {
                        char *eq = strchr(*w, '=');
                        const char *given;
                        if (eq)
                                *eq = '\0';
                        given = build_arg(b, *w);
                        r = kv_set(&b->meta_args, *w, given ? given : eq ? eq + 1 : "");
                }
                if (r < 0)
                        return r;
                first++;
        }
        for (size_t i = first; i < b->df.n; i++)
                k += !strcmp(b->df.v[i].cmd, "from");
        if (!k)
                return err_set(err, -EINVAL, "no build stage in current context");
        b->stages = calloc(k, sizeof(*b->stages));
        if (!b->stages)
                return err_set(err, -ENOMEM, "building");
        for (size_t i = first; i < b->df.n; i++) {
                const struct df_instr *in = &b->df.v[i];
                if (!strcmp(in->cmd, "from")) {
                        struct stage *st = &b->stages[b->n_stages];
                        size_t n = util_strv_len(in->args);
                        *st = (struct stage){.index = b->n_stages, .first = i, .end = b->df.n};
                        if (b->n_stages)
                                b->stages[b->n_stages - 1].end = i;
                        if (n == 3 && !strcasecmp(in->args[1], "AS")) {
                                st->name = strdup(in->args[2]);
                                for (char *p = st->name; p && *p; p++)
                                        *p = (char)tolower((unsigned char)*p);
                        }
                        st->doc = scratch_doc();
                        b->n_stages++;
                }
        }
        target = b->n_stages - 1;
        if (b->o->target) {
                struct stage *t = build_find_stage(b, b->o->target, b->n_stages);
                if (!t || !t->name)
                        return err_set(err, -EINVAL,
                                       "failed to reach build target %s in "
                                       "Dockerfile",
                                       b->o->target);
                target = t->index;
        }
        /* The stages the target needs: FROM <stage> and COPY --from=<stage>, transitively
         * (stages come before their users, so one backwards pass does). */
        b->stages[target].needed = true;
        for (size_t s = target + 1; s-- > 0;) {
                struct stage *st = &b->stages[s];
                if (!st->needed)
                        continue;
                for (size_t i = st->first; i < st->end; i++) {
                        const struct df_instr *in = &b->df.v[i];
                        const char *ref = NULL;
                        struct stage *dep;
                        if (!strcmp(in->cmd, "from") && in->args && in->args[0])
                                ref = in->args[0];
                        for (char **f = in->flags; f && *f; f++)
                                if (!strncmp(*f, "--from=", 7))
                                        ref = *f + 7;
                        if (ref && (dep = build_find_stage(b, ref, s)))
                                dep->needed = true;
                }
                b->n_steps += (int)(st->end - st->first);
        }
        b->n_stages = target + 1;
        return 0;
}

static void build_free(struct build *b)
{
        for (size_t i = 0; i < b->n_stages; i++) {
                free(b->stages[i].name);
                jv_put(b->stages[i].doc);
                util_strv_free(b->stages[i].args);
                util_strv_free(b->stages[i].scratch);
        }
        free(b->stages);
        dockerfile_free(&b->df);
        df_ignore_free(b->ignore);
        util_strv_free(b->meta_args);
        util_strv_free(b->used_args);
        free(b->container);
        context_close(b);
}

/* --label: added to the final image's config (an empty history entry). */
static int final_labels(struct build *b, struct stage *st, struct err *err)
{
        struct jv *cfg, *labels;

        if (!b->o->labels || !b->o->labels[0])
                return 0;
        cfg = config_copy(st);
        labels = jv_get(cfg, "Labels");
        if (!labels || jv_type(labels) != JV_OBJECT) {
                labels = jv_new_object();
                jv_set(cfg, "Labels", labels);
        }
        for (char **l = b->o->labels; *l; l++) {
                char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
                if (!k) {
                        jv_put(cfg);
                        return err_set(err, -ENOMEM, "building");
                }
                jv_set_str(labels, k, eq ? eq + 1 : "");
        }
        return stage_commit(b, st, cfg, NULL, NULL, "/bin/sh -c #(nop)  LABEL", err);
}

int build_run(struct cli *cli, const struct build_opts *o, const char *context, char ret_id[65],
              struct err *err)
{
        struct build b = {.cli = cli, .o = o};
        _cleanup_free_ char *text = NULL;
        struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
        struct stage *last;
        int r = context_open(&b, context, &text, err);

        if (r >= 0)
                r = dockerfile_parse(text, o->file && strcmp(o->file, "-") ? o->file : "Dockerfile",
                                     &b.df, err);
        if (r >= 0)
                r = plan(&b, err);
        interrupted = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        for (size_t i = 0; r >= 0 && i < b.n_stages; i++)
                if (b.stages[i].needed && !b.stages[i].built)
                        r = build_stage(&b, &b.stages[i], err);
        /* A failed or interrupted step's container goes too (unless --rm=false). */
        if (b.container && (o->rm || o->force_rm))
                remove_container(&b, false);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        last = r >= 0 ? &b.stages[b.n_stages - 1] : NULL;
        if (r >= 0)
                r = final_labels(&b, last, err);
        if (r >= 0 && !last->image[0])
                r = err_set(err, -EINVAL,
                            "the build made no image: its last stage is empty "
                            "(FROM scratch with nothing added)");
        if (r >= 0) {
                _cleanup_strv_ char **unused = calloc(1, sizeof(char *));
                for (char **a = o->build_args; unused && a && *a; a++) {
                        _cleanup_free_ char *k = strndup(*a, strcspn(*a, "="));
                        if (k && !util_strv_contains(b.used_args, k) && !predefined_arg(k))
                                (void)util_strv_push(&unused, k);
                }
                if (unused && unused[0]) {
                        _cleanup_free_ char *j = util_strv_join(unused, " ");
                        build_say(&b, "[Warning] One or more build-args [%s] were not consumed\n",
                                  j ? j : "");
                }
                memcpy(ret_id, last->image, 65);
        }
        build_free(&b);
        return r;
}

/* ---- --output ---- */

int build_export(struct cli *cli, const char *id, const char *spec, struct err *err)
{
        _cleanup_free_ char *lower = NULL, *tmp = cli_root_path(cli, "tmp"), *upper = NULL;
        _cleanup_free_ char *dest = NULL;
        _cleanup_strv_ char **lowers = calloc(1, sizeof(char *));
        _cleanup_close_ int fd = -1;
        struct commit_filter f = {0};
        struct err ignored = {0};
        bool tar = !strncmp(spec, "type=tar,", 9);
        const char *d = strstr(spec, "dest=");
        char *save = NULL;
        int r;

        dest = d ? strndup(d + 5, strcspn(d + 5, ",")) : NULL;
        if (!dest || !tmp || !lowers)
                return err_set(err, -ENOMEM, "exporting the build");
        r = image_lowerdir(cli, id, &lower, err);
        for (char *l = lower ? strtok_r(lower, ":", &save) : NULL; r >= 0 && l;
             l = strtok_r(NULL, ":", &save))
                if (util_strv_push(&lowers, l) < 0)
                        r = err_set(err, -ENOMEM, "exporting the build");
        upper = util_printf("%s/build-out-XXXXXX", tmp);
        if (r >= 0 && (!upper || fs_mkdir_p(tmp, 0700, err) < 0 || !mkdtemp(upper)))
                r = err_errno(err, "exporting the build");
        if (r >= 0 && (fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
                r = err_errno(err, "exporting the build");
        /* The image's filesystem as a container would see it, over an empty upper dir. */
        if (r >= 0)
                r = commit_write_flat(upper, lowers, &f, fd, err);
        if (upper)
                (void)rmdir(upper);
        if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = err_errno(err, "exporting the build");
        if (r >= 0 && tar) {
                _cleanup_close_ int out =
                        strcmp(dest, "-")
                                ? open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                                : dup(STDOUT_FILENO);
                char buf[65536];
                ssize_t k;
                if (out < 0)
                        return err_errno(err, "writing %s", dest);
                while ((k = read(fd, buf, sizeof(buf))) > 0)
                        if (fs_write_all(out, buf, (size_t)k) < 0)
                                return err_errno(err, "writing %s", dest);
        } else if (r >= 0) {
                _cleanup_close_ int dfd = -1;
                struct layer_stats st;
                r = fs_mkdir_p(dest, 0755, err);
                if (r >= 0 && (dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = err_errno(err, "exporting to %s", dest);
                if (r >= 0)
                        r = layer_extract(fd, dfd, &st, err);
        }
        (void)ignored;
        return r;
}
