/* The commit, diff, export and history commands: a container's layer stack, Docker's
 * config merge, freezing, and the image a commit makes. The engine is commit.c. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "cgroup.h"
#include "commit.h"
#include "events.h"
#include "image.h"
#include "lifecycle.h"
#include "imgconfig.h"
#include "layer.h"
#include "opt.h"
#include "table.h"
#include "template.h"
#include "teardown.h"

/* ---- the container ---- */

struct target {
        struct container *c;
        char *upper;
        char **lowers;          /* topmost first */
        char **mounts;          /* Mounts[].Destination */
        bool drop_mount_points; /* the builder's RUN --mount targets leave no trace */
};

static void target_done(struct target *t)
{
        container_free(t->c);
        free(t->upper);
        util_strv_free(t->lowers);
        util_strv_free(t->mounts);
}

/* Docker's refusals for a container that is going away. */
static int check_alive(const struct container *c, const char *verb, struct err *err)
{
        const char *s = container_status(c);

        if (!strcmp(s, "dead") || jv_get_bool(jv_get(c->doc, "State"), "Dead"))
                return err_set(err, -EBUSY, "You cannot %s container %s which is Dead", verb,
                               c->id);
        if (!strcmp(s, "removing") || jv_get_bool(jv_get(c->doc, "State"), "RemovalInProgress"))
                return err_set(err, -EBUSY, "You cannot %s container %s which is being removed",
                               verb, c->id);
        return 0;
}

/* Paths of the container's layers, read from its state document. */
static int target_paths(struct target *t, const char *verb, struct err *err)
{
        const struct jv *data = jv_path(t->c->doc, "GraphDriver.Data");
        const char *up = jv_get_str(data, "UpperDir"), *low = jv_get_str(data, "LowerDir");
        const struct jv *mounts = jv_get(t->c->doc, "Mounts");
        _cleanup_free_ char *copy = strdup(low ? low : "");
        char *save = NULL;
        struct stat st;

        t->upper = up ? strdup(up) : util_printf("%s/upper", t->c->dir);
        t->lowers = calloc(1, sizeof(char *));
        t->mounts = calloc(1, sizeof(char *));
        if (!t->upper || !t->lowers || !t->mounts || !copy)
                return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (util_strv_push(&t->lowers, d) < 0)
                        return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        for (size_t i = 0; i < jv_len(mounts); i++) {
                const char *dst = jv_get_str(jv_at(mounts, i), "Destination");
                if (dst && util_strv_push(&t->mounts, dst) < 0)
                        return err_set(err, -ENOMEM, "reading container %.12s", t->c->id);
        }
        /* Said without hawser's internal paths. */
        if (lstat(t->upper, &st) < 0 || !S_ISDIR(st.st_mode))
                return err_set(err, -ENOENT,
                               "cannot %s container %.12s: its writable layer is gone", verb,
                               t->c->id);
        for (char **l = t->lowers; *l; l++) {
                const char *id = strstr(*l, "/layers/");
                if (access(*l, F_OK) < 0)
                        return err_set(
                                err, -ENOENT,
                                "cannot %s container %.12s: image layer sha256:%.12s is gone", verb,
                                t->c->id, id ? id + 8 : "");
        }
        return 0;
}

static int target_open(const struct cli *cli, const char *ref, const char *verb, bool check,
                       struct target *t, struct err *err)
{
        int r = teardown_find(cli, ref, &t->c, err);

        if (r >= 0 && check)
                r = check_alive(t->c, verb, err);
        return r < 0 ? r : target_paths(t, verb, err);
}

static struct commit_filter target_filter(const struct target *t)
{
        return (struct commit_filter){
                .mounts = t->mounts, .runtime = true, .mount_points = t->drop_mount_points};
}

/* ---- the committed config (Docker's daemon/commit.go merge) ---- */

/* Fields of a container's Config that describe that one container, not an image. */
static const char *const container_only[] = {
        "Hostname",  "Domainname", "AttachStdin",     "AttachStdout", "AttachStderr", "Tty",
        "OpenStdin", "StdinOnce",  "NetworkDisabled", "MacAddress",   "Image",
};

static bool str_empty(const char *s)
{
        return !s || !*s;
}

static void take_if_empty(struct jv *user, const struct jv *image, const char *key)
{
        const struct jv *v = jv_get(image, key);

        if (str_empty(jv_get_str(user, key)) && v)
                jv_set(user, key, jv_copy(v));
}

static bool has_keys(const struct jv *obj)
{
        _cleanup_strv_ char **keys = jv_keys(obj);

        return keys && keys[0];
}

/* ExposedPorts, Volumes, Labels: the image's keys are added where the user has none. */
static void union_keys(struct jv *user, const struct jv *image, const char *key, bool always)
{
        const struct jv *from = jv_get(image, key);
        struct jv *to = jv_get(user, key);
        _cleanup_strv_ char **keys = jv_keys(from);

        if (!to || jv_type(to) != JV_OBJECT) {
                if (!from && !always)
                        return;
                to = jv_new_object();
                jv_set(user, key, to);
        }
        for (char **k = keys; k && *k; k++)
                if (!jv_get(to, *k))
                        jv_set(to, *k, jv_copy(jv_get(from, *k)));
        /* An empty set is nil in Go and not written. */
        if (!always && !has_keys(to))
                jv_del(user, key);
}

static bool env_has_key(const struct jv *env, const char *kv)
{
        size_t n = strcspn(kv, "=");

        for (size_t i = 0; i < jv_len(env); i++) {
                const char *e = jv_str(jv_at(env, i));
                if (e && strcspn(e, "=") == n && !strncmp(e, kv, n))
                        return true;
        }
        return false;
}

static void merge_env(struct jv *user, const struct jv *image)
{
        const struct jv *from = jv_get(image, "Env");
        struct jv *to = jv_get(user, "Env");

        if (jv_len(to) == 0) {
                if (from)
                        jv_set(user, "Env", jv_copy(from));
                return;
        }
        for (size_t i = 0; i < jv_len(from); i++)
                if (jv_str(jv_at(from, i)) && !env_has_key(to, jv_str(jv_at(from, i))))
                        jv_append(to, jv_copy(jv_at(from, i)));
}

static void merge_command(struct jv *user, const struct jv *image)
{
        if (jv_len(jv_get(user, "Entrypoint")) > 0)
                return;
        if (jv_len(jv_get(user, "Cmd")) == 0) {
                jv_set(user, "Cmd", jv_copy(jv_get(image, "Cmd")));
                if (jv_get(image, "Shell"))
                        jv_set(user, "Shell", jv_copy(jv_get(image, "Shell")));
        }
        if (!jv_get(user, "Entrypoint"))
                jv_set(user, "Entrypoint", jv_copy(jv_get(image, "Entrypoint")));
}

/* Drops JSON nulls, which Go's encoder would not write for an image either. */
static struct jv *without_nulls(const struct jv *cfg)
{
        struct jv *out = jv_new_object();
        _cleanup_strv_ char **keys = jv_keys(cfg);

        for (char **k = keys; out && k && *k; k++)
                if (jv_get(cfg, *k))
                        jv_set(out, *k, jv_copy(jv_get(cfg, *k)));
        return out;
}

/* The new image's config: the container's, its image's merged in as Docker does, then the
 * --change lines. */
static int commit_config(const struct jv *container_cfg, const struct jv *image_cfg,
                         char *const *changes, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = without_nulls(container_cfg);
        int r;

        if (!cfg)
                return err_set(err, -ENOMEM, "building the image config");
        for (size_t i = 0; i < ARRAY_SIZE(container_only); i++)
                jv_del(cfg, container_only[i]);
        take_if_empty(cfg, image_cfg, "User");
        union_keys(cfg, image_cfg, "ExposedPorts", false);
        merge_env(cfg, image_cfg);
        union_keys(cfg, image_cfg, "Labels", true);
        merge_command(cfg, image_cfg);
        imgconfig_merge_health(cfg, image_cfg);
        take_if_empty(cfg, image_cfg, "WorkingDir");
        union_keys(cfg, image_cfg, "Volumes", false);
        take_if_empty(cfg, image_cfg, "StopSignal");
        r = imgconfig_apply_changes(cfg, changes, err);
        if (r < 0)
                return r;
        *ret = without_nulls(cfg);
        return *ret ? 0 : err_set(err, -ENOMEM, "building the image config");
}

/* Docker records the container's Cmd, joined by blanks, as the step that made the layer. */
static char *created_by(const struct jv *container_cfg)
{
        const struct jv *cmd = jv_get(container_cfg, "Cmd");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < jv_len(cmd); i++)
                fprintf(f, "%s%s", i ? " " : "", jv_str(jv_at(cmd, i)) ?: "");
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static struct jv *child_history(const struct commit_child *c, const char *now)
{
        const struct jv *old = jv_get(c->parent, "history");
        struct jv *hist = jv_type(old) == JV_ARRAY ? jv_copy(old) : jv_new_array();
        struct jv *h = jv_new_object();

        jv_set_str(h, "created", now);
        if (!str_empty(c->created_by))
                jv_set_str(h, "created_by", c->created_by);
        if (!str_empty(c->author))
                jv_set_str(h, "author", c->author);
        if (!str_empty(c->comment))
                jv_set_str(h, "comment", c->comment);
        if (!c->diff_id)
                jv_set_bool(h, "empty_layer", true);
        jv_append(hist, h);
        return hist;
}

/* Docker's NewChildImage: platform and layers from the parent, the new config, the parent's
 * history plus one entry. The parent id is kept ("parent") so history can name it. */
struct jv *commit_child_doc(const struct commit_child *c, struct jv *config)
{
        static const char *const inherited[] = {"architecture", "variant", "os", "os.version",
                                                "os.features"};
        struct jv *doc = jv_new_object(), *rootfs = jv_new_object();
        const struct jv *ids = jv_path(c->parent, "rootfs.diff_ids");
        struct jv *new_ids = jv_type(ids) == JV_ARRAY ? jv_copy(ids) : jv_new_array();
        char now[40], buf[80]; /* "sha256:" + 64 hex */

        util_format_time(util_now_ns(), now);
        for (size_t i = 0; i < ARRAY_SIZE(inherited); i++)
                if (jv_get(c->parent, inherited[i]))
                        jv_set(doc, inherited[i], jv_copy(jv_get(c->parent, inherited[i])));
        if (!str_empty(c->author))
                jv_set_str(doc, "author", c->author);
        jv_set(doc, "config", config);
        jv_set_str(doc, "created", now);
        jv_set(doc, "history", child_history(c, now));
        if (*c->parent_id) {
                snprintf(buf, sizeof(buf), "sha256:%s", c->parent_id);
                jv_set_str(doc, "parent", buf);
        }
        if (c->diff_id) {
                snprintf(buf, sizeof(buf), "sha256:%s", c->diff_id);
                jv_append(new_ids, jv_new_string(buf));
        }
        jv_set_str(rootfs, "type", "layers");
        jv_set(rootfs, "diff_ids", new_ids);
        jv_set(doc, "rootfs", rootfs);
        return doc;
}

/* ---- commit ---- */

struct commit_opts {
        char *author, *message;
        char **changes;
        bool pause, no_pause;
};

static const struct opt_def commit_defs[] = {
        {"author", 'a', OPT_STR, offsetof(struct commit_opts, author)},
        {"change", 'c', OPT_LIST, offsetof(struct commit_opts, changes)},
        {"message", 'm', OPT_STR, offsetof(struct commit_opts, message)},
        {"pause", 'p', OPT_BOOL, offsetof(struct commit_opts, pause)},
        {"no-pause", 0, OPT_BOOL, offsetof(struct commit_opts, no_pause)},
        OPT_END,
};

static void commit_opts_free(struct commit_opts *o)
{
        opt_free_lists(commit_defs, o);
}

struct freeze {
        const char *id, *cgroup;
        bool frozen;
};

static void freeze_undo(struct freeze *f)
{
        struct err e = {0};

        if (f->frozen && cgroup_freeze(f->cgroup, false, &e) < 0)
                fprintf(stderr, "warning: unpausing container %.12s: %s, ignoring\n", f->id, e.msg);
        f->frozen = false;
}

/* A running container is frozen while its layer is read, so the layer shows one moment of
 * it; a paused one is left as it is, and so is its state document. */
static int freeze(const struct container *c, struct freeze *f, struct err *err)
{
        pid_t pid = (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0);
        int r;

        if (strcmp(container_status(c), "running"))
                return 0;
        f->id = c->id;
        f->cgroup = c->cgroup;
        r = cgroup_collect(c->cgroup, pid, container_own_pidns(c), err);
        if (r >= 0) {
                /* Set first: a freeze that fails half-way is thawed again. */
                f->frozen = true;
                r = cgroup_freeze(c->cgroup, true, err);
        }
        return r < 0 ? err_wrap(err, "pausing container %.12s", c->id) : 0;
}

/* An anonymous file under --root/tmp, on the store's filesystem, for the layer tar. */
static int layer_tmpfile(const struct cli *cli, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "tmp");
        _cleanup_free_ char *path = NULL;
        int fd, r;

        if (!dir)
                return err_set(err, -ENOMEM, "creating a temporary file");
        r = fs_mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
                return fd >= 0 ? fd : err_errno(err, "creating a temporary file in %s", dir);
        path = util_printf("%s/commit-XXXXXX", dir);
        if (!path)
                return err_set(err, -ENOMEM, "creating a temporary file");
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "creating a temporary file in %s", dir);
        (void)unlink(path);
        return fd;
}

static void stage_freep(char **stage)
{
        if (*stage)
                layer_discard(*stage);
        free(*stage);
}

/* The layer tar of a commit: a temporary file, its entry count and digest. */
struct snap {
        int fd;
        size_t n;
        char diff_id[65];
};

static void snap_done(struct snap *s)
{
        closep(&s->fd);
}

/* Writes the container's changes as a layer tar to s->fd. The container is frozen only
 * while its upper dir is read. */
static int snapshot(const struct target *t, bool pause, struct snap *s, struct err *err)
{
        _cleanup_(freeze_undo) struct freeze f = {0};
        _cleanup_free_ char *state = util_printf("%s/state.json", t->c->dir);
        struct commit_filter flt = target_filter(t);
        int r = state ? 0 : err_set(err, -ENOMEM, "committing container %.12s", t->c->id);

        if (r >= 0 && pause)
                r = freeze(t->c, &f, err);
        util_test_kill_point("commit-frozen");
        if (r >= 0)
                r = commit_write_layer(t->upper, t->lowers, &flt, s->fd, &s->n, s->diff_id, err);
        freeze_undo(&f);
        /* `rm -f` does not wait for our lock: a container that went meanwhile left a torn
         * layer behind (or none, when it went while being frozen). */
        if (access(state, F_OK) < 0)
                return err_set(err, -ENOENT, "container %.12s was removed during the commit",
                               t->c->id);
        return r;
}

/* Stages the layer tar; *ret_stage stays NULL when nothing changed or when the store holds
 * that layer already (committing the same changes twice). */
static int stage_layer(const struct cli *cli, const struct snap *s, char **ret_stage,
                       struct err *err)
{
        *ret_stage = NULL;
        if (s->n == 0 || image_has_layer(cli, s->diff_id))
                return 0;
        if (lseek(s->fd, 0, SEEK_SET) < 0)
                return err_errno(err, "rewinding the layer");
        return image_stage_layer(cli, s->fd, ret_stage, NULL, err);
}

/* A stand-in for the config of an image that was force-removed while the container kept
 * its layers: those layers (named by diff id in LowerDir), the host platform, no parent. */
static int image_standin(const struct target *t, struct jv **ret, struct err *err)
{
        _cleanup_jv_ struct jv *doc = jv_new_object();
        struct jv *rootfs = jv_new_object(), *ids = jv_new_array(), *hist = jv_new_array();
        size_t n = util_strv_len(t->lowers);

        if (!doc || !rootfs || !ids || !hist) {
                jv_put(rootfs);
                jv_put(ids);
                jv_put(hist);
                return err_set(err, -ENOMEM, "committing container %.12s", t->c->id);
        }
        jv_set(doc, "history", hist);
        jv_set(rootfs, "diff_ids", ids);
        jv_set_str(rootfs, "type", "layers");
        jv_set(doc, "rootfs", rootfs);
        jv_set_str(doc, "architecture", imgconfig_host_arch());
        jv_set_str(doc, "os", "linux");
        for (size_t i = n; i-- > 0;) {
                /* .../layers/<diff-id>/diff */
                const char *end = t->lowers[i] + strlen(t->lowers[i]) - strlen("/diff");
                const char *start = end - 64;
                struct jv *h;
                char id[80];

                if (end < t->lowers[i] + 65 || strcmp(end, "/diff") || start[-1] != '/' ||
                    strspn(start, "0123456789abcdef") != 64)
                        return err_set(err, -ENOENT,
                                       "cannot commit container %.12s: its image is gone and "
                                       "layer %s is not from the image store",
                                       t->c->id, t->lowers[i]);
                snprintf(id, sizeof(id), "sha256:%.64s", start);
                jv_append(ids, jv_new_string(id));
                /* One entry per layer keeps history's sizes on the right lines. */
                h = jv_new_object();
                jv_set_str(h, "created", "0001-01-01T00:00:00Z");
                jv_append(hist, h);
        }
        *ret = TAKE_PTR(doc);
        return 0;
}

/* The container's image: its id and config document; when the image is gone, ret_id is
 * "" and the document a stand-in. */
static int image_of(const struct cli *cli, const struct target *t, char ret_id[65], struct jv **ret,
                    struct err *err)
{
        const char *img = jv_get_str(t->c->doc, "Image");
        const char *hex = img && !strncmp(img, "sha256:", 7) ? img + 7 : img;
        int r;

        if (!hex || strlen(hex) != 64)
                return err_set(err, -EINVAL, "container %.12s names no image", t->c->id);
        r = image_load_config(cli, hex, ret, err);
        if (r == -ENOENT) {
                err_clear(err);
                ret_id[0] = '\0';
                return image_standin(t, ret, err);
        }
        if (r < 0)
                return err_wrap(err, "committing container %.12s", t->c->id);
        memcpy(ret_id, hex, 65);
        return 0;
}

/* Reads the layer under the container's lock: a second commit, pause or start waits. */
static int commit_layer(const struct cli *cli, const struct commit_opts *o, struct target *t,
                        char ret_parent[65], struct jv **ret_parent_doc, struct snap *snap,
                        struct err *err)
{
        _cleanup_close_ int lock = -1;
        int r;

        lifecycle_heal_freeze(t->c);
        r = lock = container_lock(t->c, err);
        if (r >= 0)
                r = container_reload(t->c, err);
        if (r >= 0)
                r = check_alive(t->c, "commit", err);
        if (r >= 0)
                r = image_of(cli, t, ret_parent, ret_parent_doc, err);
        if (r >= 0)
                r = snapshot(t, o->pause && !o->no_pause, snap, err);
        return r;
}

/* Docker's: the new tag's image event, then the container's "commit" (comment, imageID,
 * imageRef: the tag, or ""). */
static void commit_events(const struct cli *cli, const struct container *c, const char *comment,
                          const char *id, const char *tag)
{
        char image_id[72];

        snprintf(image_id, sizeof(image_id), "sha256:%s", id);
        if (tag)
                events_image(cli, id, NULL, tag, "tag");
        events_container(cli, c, "commit", "comment", comment ? comment : "", "imageID", image_id,
                         "imageRef", tag ? tag : "", NULL);
}

static int do_commit(struct cli *cli, const struct commit_opts *o, const char *cref,
                     const char *ref, struct err *err)
{
        _cleanup_(target_done) struct target t = {0};
        _cleanup_jv_ struct jv *check = jv_new_object(), *parent = NULL, *cfg = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        _cleanup_free_ char *norm = NULL, *by = NULL;
        _cleanup_(stage_freep) char *stage = NULL;
        _cleanup_(snap_done) struct snap snap = {.fd = -1};
        char parent_id[65], id[65];
        char *stages[2] = {NULL, NULL};
        int r;

        /* Bad references and changes are refused before any work is done. */
        r = ref ? imgconfig_normalize_reference(ref, &norm, err) : 0;
        if (r >= 0)
                r = check ? imgconfig_apply_changes(check, o->changes, err)
                          : err_set(err, -ENOMEM, "committing");
        if (r >= 0)
                r = target_open(cli, cref, "commit", true, &t, err);
        if (r >= 0)
                r = snap.fd = layer_tmpfile(cli, err);
        if (r >= 0)
                r = commit_layer(cli, o, &t, parent_id, &parent, &snap, err);
        if (r >= 0)
                r = stage_layer(cli, &snap, &stage, err);
        if (r >= 0)
                r = commit_config(jv_get(t.c->doc, "Config"), jv_get(parent, "config"), o->changes,
                                  &cfg, err);
        if (r < 0)
                return r;
        by = created_by(jv_get(t.c->doc, "Config"));
        doc = commit_child_doc(&(struct commit_child){.parent = parent,
                                                      .parent_id = parent_id,
                                                      .diff_id = snap.n ? snap.diff_id : NULL,
                                                      .created_by = by,
                                                      .author = o->author,
                                                      .comment = o->message},
                               TAKE_PTR(cfg));
        if (!by || !doc)
                return err_set(err, -ENOMEM, "building the image config");
        /* image_create consumes the stage, also when it fails. */
        stages[0] = TAKE_PTR(stage);
        r = image_create(cli, doc, stages[0] ? stages : NULL, norm, id, err);
        free(stages[0]);
        if (r < 0)
                return r;
        commit_events(cli, t.c, o->message, id, norm);
        printf("sha256:%s\n", id);
        return 0;
}

int commit_container_as(struct cli *cli, const char *cref, struct jv *config,
                        const char *created_by, bool always_layer, char ret_id[65], struct err *err)
{
        _cleanup_(target_done) struct target t = {0};
        _cleanup_jv_ struct jv *parent = NULL, *doc = NULL, *cfg = config;
        _cleanup_(stage_freep) char *stage = NULL;
        _cleanup_(snap_done) struct snap snap = {.fd = -1};
        struct commit_opts o = {0};
        char parent_id[65];
        char *stages[2] = {NULL, NULL};
        int r = target_open(cli, cref, "commit", true, &t, err);

        t.drop_mount_points = true;
        if (r >= 0)
                r = snap.fd = layer_tmpfile(cli, err);
        if (r >= 0)
                r = commit_layer(cli, &o, &t, parent_id, &parent, &snap, err);
        if (r >= 0)
                r = stage_layer(cli, &snap, &stage, err);
        /* Docker's builder gives every RUN a layer, the empty tar when nothing changed. */
        if (r >= 0 && always_layer && !snap.n && !image_has_layer(cli, snap.diff_id)) {
                r = lseek(snap.fd, 0, SEEK_SET) < 0 ? err_errno(err, "rewinding the layer") : 0;
                if (r >= 0)
                        r = image_stage_layer(cli, snap.fd, &stage, NULL, err);
        }
        if (r < 0)
                return r;
        doc = commit_child_doc(
                &(struct commit_child){.parent = parent,
                                       .parent_id = parent_id,
                                       .diff_id = snap.n || always_layer ? snap.diff_id : NULL,
                                       .created_by = created_by},
                TAKE_PTR(cfg));
        if (!doc)
                return err_set(err, -ENOMEM, "building the image config");
        stages[0] = TAKE_PTR(stage);
        r = image_create(cli, doc, stages[0] ? stages : NULL, NULL, ret_id, err);
        free(stages[0]);
        return r;
}

int commit_cmd_commit(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_(commit_opts_free) struct commit_opts o = {.pause = true};
        int n = opt_parse(commit_defs, argc - 1, argv + 1, false, &o, err);

        if (n < 0)
                return cli_usage_error(cli, "commit", err, "%s", err->msg);
        if (n < 1 || n > 2)
                return cli_usage_error(cli, "commit", err,
                                       "\"hawser commit\" requires at least 1 and at most 2 "
                                       "arguments.");
        return do_commit(cli, &o, argv[1], n == 2 ? argv[2] : NULL, err);
}

/* ---- diff ---- */

int commit_cmd_diff(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        _cleanup_(target_done) struct target t = {0};
        struct commit_change *v = NULL;
        struct commit_filter f;
        size_t n = 0;
        int k = opt_parse(defs, argc - 1, argv + 1, false, NULL, err), r;

        if (k < 0)
                return cli_usage_error(cli, "diff", err, "%s", err->msg);
        if (k != 1)
                return cli_usage_error(cli, "diff", err,
                                       "\"hawser diff\" requires exactly 1 argument.");
        r = target_open(cli, argv[1], "diff", false, &t, err);
        if (r < 0)
                return r;
        f = target_filter(&t);
        r = commit_changes(t.upper, t.lowers, &f, &v, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                printf("%c %s\n", v[i].kind, v[i].path);
        commit_changes_free(v, n);
        return fflush(stdout) == 0 ? 0 : err_errno(err, "writing the changes");
}

/* ---- export ---- */

/* As the Docker CLI does: a temporary file next to the target, renamed over it at the end,
 * so a failed export leaves no half-written archive. */
static int export_to_file(const struct target *t, const char *out, struct err *err)
{
        _cleanup_free_ char *copy = strdup(out), *tmp = NULL;
        struct commit_filter f = target_filter(t);
        const char *slash;
        int fd, r;

        if (!copy)
                return err_set(err, -ENOMEM, "exporting");
        slash = strrchr(copy, '/');
        tmp = slash ? util_printf("%.*s/.hawser_temp_XXXXXX", (int)(slash - copy), copy)
                    : strdup(".hawser_temp_XXXXXX");
        if (!tmp)
                return err_set(err, -ENOMEM, "exporting");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return err_errno(err, "failed to export container: creating a file next to %s",
                                 out);
        r = commit_write_flat(t->upper, t->lowers, &f, fd, err);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = err_errno(err, "setting the mode of %s", tmp);
        if (close(fd) < 0 && r >= 0)
                r = err_errno(err, "writing %s", tmp);
        if (r >= 0 && rename(tmp, out) < 0)
                r = err_errno(err, "failed to export container: renaming to %s", out);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int commit_cmd_export(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *output;
        } o = {0};
        static const struct opt_def defs[] = {
                {"output", 'o', OPT_STR, 0},
                OPT_END,
        };
        _cleanup_(target_done) struct target t = {0};
        struct commit_filter f;
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (n < 0)
                return cli_usage_error(cli, "export", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "export", err,
                                       "\"hawser export\" requires exactly 1 argument.");
        if (!o.output && isatty(STDOUT_FILENO))
                return err_set(err, -EINVAL,
                               "cowardly refusing to save to a terminal. Use the "
                               "-o flag or redirect");
        r = target_open(cli, argv[1], "export", true, &t, err);
        if (r < 0)
                return r;
        if (o.output)
                return export_to_file(&t, o.output, err);
        f = target_filter(&t);
        return commit_write_flat(t.upper, t.lowers, &f, STDOUT_FILENO, err);
}

/* ---- history ---- */

struct history_opts {
        bool human, quiet, no_trunc;
        char *format;
};

static const struct opt_def history_defs[] = {
        {"human", 'H', OPT_BOOL, offsetof(struct history_opts, human)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct history_opts, quiet)},
        {"no-trunc", 0, OPT_BOOL, offsetof(struct history_opts, no_trunc)},
        {"format", 0, OPT_STR, offsetof(struct history_opts, format)},
        OPT_END,
};

/* One history entry as the daemon reports it. */
struct hist_row {
        char id[72];                      /* "sha256:<hex>" or "<missing>" */
        int64_t created;                  /* seconds */
        const char *created_by, *comment; /* borrowed from the config */
        long long size;
};

char *commit_ellipsis(const char *s, size_t width)
{
        size_t runes = 0, cut = 0;

        for (const char *p = s; *p; p++) {
                if (((unsigned char)*p & 0xc0) == 0x80)
                        continue;
                if (runes == width - 1)
                        cut = (size_t)(p - s);
                runes++;
        }
        if (width == 0 || runes <= width)
                return strdup(width ? s : "");
        return util_printf("%.*s…", (int)cut, s);
}

/* Go's time.Unix(sec, 0).Format(time.RFC3339), in the local zone. */
static void rfc3339_local(int64_t sec, char out[40])
{
        time_t t = (time_t)sec;
        struct tm tm;
        size_t n;
        long off;

        if (!localtime_r(&t, &tm)) {
                snprintf(out, 40, "0001-01-01T00:00:00Z");
                return;
        }
        n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        off = tm.tm_gmtoff;
        if (off == 0)
                snprintf(out + n, 40 - n, "Z");
        else
                snprintf(out + n, 40 - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                         labs(off) % 3600 / 60);
}

static long long layer_size(const struct cli *cli, const char *diff_id)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "layers/%s", diff_id);
        struct err ignored = {0};
        long long v = 0;

        if (dir && layer_read_size(dir, "content-size", &v, &ignored) < 0)
                (void)layer_read_size(dir, "size", &v, &ignored);
        return v;
}

/* The entries, newest first, with layer sizes; ids are filled in by history_ids. */
static int history_rows(const struct cli *cli, const struct jv *cfg, struct hist_row **ret,
                        size_t *ret_n, struct err *err)
{
        const struct jv *hist = jv_get(cfg, "history");
        _cleanup_strv_ char **ids = NULL;
        size_t n = jv_len(hist), layer = 0;
        struct hist_row *rows = calloc(n ? n : 1, sizeof(*rows));
        int r = imgconfig_diff_ids(cfg, &ids, err);

        if (r < 0 || !rows) {
                free(rows);
                return r < 0 ? r : err_set(err, -ENOMEM, "reading the history");
        }
        for (size_t i = 0; i < n; i++) {
                const struct jv *h = jv_at(hist, i);
                struct hist_row *row = &rows[n - 1 - i];
                const char *created = jv_get_str(h, "created");
                int64_t ns = 0;

                snprintf(row->id, sizeof(row->id), "<missing>");
                if (created && util_parse_time(created, &ns) >= 0)
                        row->created = ns / 1000000000;
                row->created_by = jv_get_str(h, "created_by") ?: "";
                row->comment = jv_get_str(h, "comment") ?: "";
                if (!jv_get_bool(h, "empty_layer") && ids[layer])
                        row->size = layer_size(cli, ids[layer++]);
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

/* Docker's walk: the newest entry is the image, the next its parent, and so on while the
 * parents are known; the rest stay "<missing>". */
static void history_ids(const struct cli *cli, const char *id, const struct jv *cfg,
                        struct hist_row *rows, size_t n)
{
        _cleanup_jv_ struct jv *cur = NULL;
        char hex[65];

        memcpy(hex, id, 65);
        for (size_t i = 0; i < n; i++) {
                const char *parent = jv_get_str(i ? cur : cfg, "parent");
                struct jv *next = NULL;
                struct err ignored = {0};

                snprintf(rows[i].id, sizeof(rows[i].id), "sha256:%s", hex);
                if (!parent || strncmp(parent, "sha256:", 7) || strlen(parent + 7) != 64)
                        break;
                memcpy(hex, parent + 7, 65);
                if (image_load_config(cli, hex, &next, &ignored) < 0)
                        break;
                jv_put(cur);
                cur = next;
        }
}

static struct jv *row_ctx(const struct hist_row *row, const struct history_opts *o, int64_t now)
{
        struct jv *ctx = jv_new_object();
        _cleanup_free_ char *by = NULL, *tabless = strdup(row->created_by);
        char at[40], since[64], size[32];

        if (!ctx || !tabless) {
                jv_put(ctx);
                return NULL;
        }
        for (char *p = tabless; *p; p++)
                if (*p == '\t')
                        *p = ' ';
        by = o->no_trunc ? strdup(tabless) : commit_ellipsis(tabless, 45);
        rfc3339_local(row->created, at);
        util_human_duration(now - row->created * 1000000000, since, sizeof(since) - 4);
        strcat(since, " ago");
        if (o->human)
                util_human_size_prec(row->size, 3, size, sizeof(size));
        else
                snprintf(size, sizeof(size), "%lld", row->size);
        /* stringid.TruncateID: the hex without "sha256:", 12 digits. */
        if (o->no_trunc || row->id[0] == '<')
                jv_set_str(ctx, "ID", row->id);
        else
                jv_set(ctx, "ID", jv_new_stringn(row->id + 7, 12));
        jv_set_str(ctx, "CreatedSince", o->human ? since : at);
        jv_set_str(ctx, "CreatedAt", at);
        jv_set_str(ctx, "CreatedBy", by ? by : "");
        jv_set_str(ctx, "Size", size);
        jv_set_str(ctx, "Comment", row->comment);
        return ctx;
}

static struct jv *history_header(void)
{
        struct jv *h = jv_new_object();

        jv_set_str(h, "ID", "IMAGE");
        jv_set_str(h, "CreatedSince", "CREATED");
        jv_set_str(h, "CreatedAt", "CREATED AT");
        jv_set_str(h, "CreatedBy", "CREATED BY");
        jv_set_str(h, "Size", "SIZE");
        jv_set_str(h, "Comment", "COMMENT");
        return h;
}

/* docker/cli's NewHistoryFormat. */
static const char *history_format(const struct history_opts *o)
{
        if (o->format && *o->format && strcmp(o->format, "table"))
                return o->format;
        if (o->quiet)
                return "{{.ID}}";
        if (!o->human)
                return "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
        return "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
}

static int emit_row(const struct template *t, const struct jv *ctx, struct table *tw,
                    struct err *err)
{
        _cleanup_free_ char *line = NULL;
        int r;

        if (!t) {
                printf("%s\n", jv_to_string(ctx, false));
                return 0;
        }
        r = template_render(t, ctx, &line, err);
        if (r < 0)
                return r;
        if (tw)
                return table_add_row(tw, line) < 0 ? err_set(err, -ENOMEM, "printing") : 0;
        printf("%s\n", line);
        return 0;
}

static int print_history(const struct hist_row *rows, size_t n, const struct history_opts *o,
                         struct err *err)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_table_ struct table *tw = NULL;
        _cleanup_jv_ struct jv *header = NULL;
        const char *fmt = history_format(o), *body = fmt;
        int64_t now = util_now_ns();
        int r = 0;

        if (template_is_table(fmt, &body)) {
                tw = table_new();
                header = history_header();
                if (!tw || !header)
                        return err_set(err, -ENOMEM, "printing the history");
        }
        if (strcmp(fmt, "json"))
                r = template_parse(body, &t, err);
        if (r >= 0 && tw)
                r = emit_row(t, header, tw, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_jv_ struct jv *ctx = row_ctx(&rows[i], o, now);
                r = ctx ? emit_row(t, ctx, tw, err) : err_set(err, -ENOMEM, "printing");
        }
        if (r >= 0 && tw && table_print(tw, stdout) < 0)
                return err_set(err, -EIO, "printing the history");
        return r;
}

int commit_cmd_history(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct history_opts o = {.human = true};
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_free_ struct hist_row *rows = NULL;
        size_t n = 0;
        char id[65];
        int k = opt_parse(history_defs, argc - 1, argv + 1, false, &o, err), r;

        if (k < 0)
                return cli_usage_error(cli, "history", err, "%s", err->msg);
        if (k != 1)
                return cli_usage_error(cli, "history", err,
                                       "\"hawser history\" requires exactly 1 argument.");
        r = image_resolve(cli, argv[1], id, err);
        if (r >= 0)
                r = image_load_config(cli, id, &cfg, err);
        if (r >= 0)
                r = history_rows(cli, cfg, &rows, &n, err);
        if (r < 0)
                return r;
        history_ids(cli, id, cfg, rows, n);
        return print_history(rows, n, &o, err);
}
