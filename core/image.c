#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/util.h"
#include "container.h"
#include "image.h"
#include "imgconfig.h"
#include "layer.h"
#include "opt.h"
#include "table.h"
#include "template.h"

/* Docker prints this for an image that was never tagged. */
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- the store ---- */

struct store {
        const struct cli *cli;
        char *root;
        char *images; /* images/<id>.json, images/<id>.meta */
        char *layers;
        char *tmp;
        char *repos; /* repositories.json */
        char *lock;  /* images.lock */
};

static void store_free(struct store *s)
{
        free(s->root), free(s->images), free(s->layers);
        free(s->tmp), free(s->repos), free(s->lock);
}

/* Paths of the store; with create, the directories are made (commands work on an empty
 * --root). */
static int store_open(const struct cli *cli, bool create, struct store *s, struct err *err)
{
        int r = 0;

        s->cli = cli;
        s->root = strdup(cli->root);
        s->images = cli_root_path(cli, "images");
        s->layers = cli_root_path(cli, "layers");
        s->tmp = cli_root_path(cli, "tmp");
        s->repos = cli_root_path(cli, "repositories.json");
        s->lock = cli_root_path(cli, "images.lock");
        if (!s->root || !s->images || !s->layers || !s->tmp || !s->repos || !s->lock)
                return err_set(err, -ENOMEM, "opening the image store");
        if (create) {
                r = fs_mkdir_p(s->images, 0700, err);
                if (r >= 0)
                        r = fs_mkdir_p(s->layers, 0700, err);
                if (r >= 0)
                        r = fs_mkdir_p(s->tmp, 0700, err);
        }
        return r;
}

/* Serialises changes to repositories.json, image configs and layer removal. Returns the
 * lock fd; closing it unlocks. */
static int store_lock(const struct store *s, struct err *err)
{
        _cleanup_close_ int fd = -1;
        int r = fs_mkdir_p(s->root, 0700, err);

        if (r < 0)
                return r;
        fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return err_errno(err, "opening %s", s->lock);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return err_errno(err, "locking %s", s->lock);
        return TAKE_FD(fd);
}

static char *config_path(const struct store *s, const char *id)
{
        return util_printf("%s/%s.json", s->images, id);
}

static char *meta_path(const struct store *s, const char *id)
{
        return util_printf("%s/%s.meta", s->images, id);
}

static bool is_hex(const char *s, size_t min, size_t max)
{
        size_t n = strspn(s, "0123456789abcdef");

        return s[n] == '\0' && n >= min && n <= max;
}

/* {"name:tag": "sha256:<id>"}; a missing file is an empty map. */
static int repos_load(const struct store *s, struct jv **ret, struct err *err)
{
        struct jv *v = NULL;
        int r = jv_load(s->repos, &v, err);

        if (r == -ENOENT) {
                err_clear(err);
                v = jv_new_object();
        } else if (r < 0) {
                return r;
        }
        if (!v || jv_type(v) != JV_OBJECT) {
                jv_put(v);
                return err_set(err, -EINVAL, "%s: not a JSON object", s->repos);
        }
        *ret = v;
        return 0;
}

/* The ids of all stored images (64-hex names of images/<id>.json). */
static int list_ids(const struct store *s, char ***ret, struct err *err)
{
        _cleanup_closedir_ DIR *d = opendir(s->images);
        _cleanup_strv_ char **ids = calloc(1, sizeof(char *));
        struct dirent *de;

        if (!ids)
                return err_set(err, -ENOMEM, "listing images");
        if (!d && errno != ENOENT)
                return err_errno(err, "listing %s", s->images);
        while (d && (de = readdir(d))) {
                char id[65];

                if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json"))
                        continue;
                memcpy(id, de->d_name, 64);
                id[64] = '\0';
                if (is_hex(id, 64, 64) && util_strv_push(&ids, id) < 0)
                        return err_set(err, -ENOMEM, "listing images");
        }
        *ret = TAKE_PTR(ids);
        return 0;
}

static int load_config(const struct store *s, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_free_ char *path = config_path(s, id);
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "loading image %s", id);
        r = jv_load(path, ret, err);
        if (r == -ENOENT)
                return err_set(err, -ENOENT, "No such image: %.12s", id);
        return r;
}

/* Finds the one image whose id starts with prefix. */
static int resolve_prefix(const struct store *s, const char *prefix, char ret_id[65],
                          struct err *err)
{
        _cleanup_strv_ char **ids = NULL;
        const char *found = NULL;
        size_t n = strlen(prefix);
        int r = list_ids(s, &ids, err);

        if (r < 0)
                return r;
        for (char **p = ids; *p; p++) {
                if (strncmp(*p, prefix, n))
                        continue;
                if (found)
                        return err_set(err, -EINVAL, "image ID prefix %s is ambiguous", prefix);
                found = *p;
        }
        if (!found)
                return -ENOENT;
        memcpy(ret_id, found, 65);
        return 0;
}

/* The image a normalised "name:tag" points at. */
static int resolve_tag(const struct store *s, const char *norm, char ret_id[65], struct err *err)
{
        _cleanup_jv_ struct jv *repos = NULL;
        const char *v;
        int r = repos_load(s, &repos, err);

        if (r < 0)
                return r;
        v = jv_get_str(repos, norm);
        if (!v || strncmp(v, "sha256:", 7) || !is_hex(v + 7, 64, 64))
                return -ENOENT;
        memcpy(ret_id, v + 7, 65);
        return 0;
}

/* Docker's order: a name first, then an id (prefix), with or without "sha256:". */
static int resolve(const struct store *s, const char *ref, char ret_id[65], struct err *err)
{
        _cleanup_free_ char *norm = NULL;
        struct err perr = {0};
        const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : NULL;
        int r;

        if (hex) {
                r = is_hex(hex, 1, 64) ? resolve_prefix(s, hex, ret_id, err) : -ENOENT;
                return r == -ENOENT ? err_set(err, -ENOENT, "No such image: %s", ref) : r;
        }
        if (imgconfig_normalize_reference(ref, &norm, &perr) >= 0) {
                r = resolve_tag(s, norm, ret_id, err);
                if (r != -ENOENT)
                        return r;
        }
        if (is_hex(ref, 1, 64)) {
                r = resolve_prefix(s, ref, ret_id, err);
                if (r != -ENOENT)
                        return r;
        } else if (!norm) {
                *err = perr;
                return -perr.code;
        }
        return err_set(err, -ENOENT, "No such image: %s", norm ? norm : ref);
}

int image_resolve(const struct cli *cli, const char *ref, char ret_id[65], struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        char id[65];
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = resolve(&s, ref, id, err);
        if (r < 0)
                return r;
        memcpy(ret_id, id, 65);
        return 0;
}

int image_load_config(const struct cli *cli, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        int r = store_open(cli, false, &s, err);

        return r < 0 ? r : load_config(&s, id, ret, err);
}

static int tags_of(const struct jv *repos, const char *id, char ***ret, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(repos);
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        char want[72]; /* "sha256:" + 64 hex */

        if (!keys || !out)
                return err_set(err, -ENOMEM, "listing tags");
        snprintf(want, sizeof(want), "sha256:%s", id);
        for (char **k = keys; *k; k++) {
                const char *v = jv_get_str(repos, *k);
                if (v && !strcmp(v, want) && util_strv_push(&out, *k) < 0)
                        return err_set(err, -ENOMEM, "listing tags");
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int image_tags(const struct cli *cli, const char *id, char ***ret, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_jv_ struct jv *repos = NULL;
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = repos_load(&s, &repos, err);
        return r < 0 ? r : tags_of(repos, id, ret, err);
}

static char *layer_dir(const struct store *s, const char *diff_id)
{
        return util_printf("%s/%s", s->layers, diff_id);
}

/* Layer diff dirs, topmost first, joined by sep. */
static int diff_dirs(const struct store *s, char *const *ids, const char *sep, size_t skip_top,
                     char **ret, struct err *err)
{
        size_t n = util_strv_len(ids);
        FILE *f;
        char *buf = NULL;
        size_t len = 0;

        f = open_memstream(&buf, &len);
        if (!f)
                return err_set(err, -ENOMEM, "building the layer list");
        for (size_t i = n > skip_top ? n - skip_top : 0, first = 1; i-- > 0; first = 0)
                fprintf(f, "%s%s/%s/diff", first ? "" : sep, s->layers, ids[i]);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return err_set(err, -ENOMEM, "building the layer list");
        }
        *ret = buf;
        return 0;
}

int image_lowerdir(const struct cli *cli, const char *id, char **ret, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **ids = NULL;
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = load_config(&s, id, &cfg, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &ids, err);
        if (r < 0)
                return err_wrap(err, "image %.12s", id);
        if (!ids[0])
                return err_set(err, -EINVAL, "image %.12s has no layers", id);
        for (char **p = ids; *p; p++) {
                _cleanup_free_ char *d = util_printf("%s/%s/diff", s.layers, *p);
                if (!d)
                        return err_set(err, -ENOMEM, "image %.12s", id);
                if (access(d, F_OK) < 0)
                        return err_errno(err, "image %.12s: layer %.12s", id, *p);
        }
        return diff_dirs(&s, ids, ":", 0, ret, err);
}

/* Docker's Size: the extracted content of every layer. */
static long long image_size(const struct store *s, char *const *ids)
{
        long long sum = 0;

        for (; ids && *ids; ids++) {
                _cleanup_free_ char *dir = layer_dir(s, *ids);
                struct err ignored = {0};
                long long v = 0;

                if (dir && layer_read_size(dir, "content-size", &v, &ignored) < 0)
                        (void)layer_read_size(dir, "size", &v, &ignored);
                sum += v;
        }
        return sum;
}

static char *last_tag_time(const struct store *s, const char *id)
{
        _cleanup_free_ char *path = meta_path(s, id);
        _cleanup_jv_ struct jv *meta = NULL;
        struct err ignored = {0};
        const char *t;

        if (path && jv_load(path, &meta, &ignored) >= 0 && (t = jv_get_str(meta, "LastTagTime")))
                return strdup(t);
        return strdup(ZERO_TIME);
}

static struct jv *graph_driver(const struct store *s, char *const *ids)
{
        struct jv *g = jv_new_object(), *data = jv_new_object();
        size_t n = util_strv_len(ids);
        _cleanup_free_ char *lower = NULL;
        struct err ignored = {0};

        if (n > 1 && diff_dirs(s, ids, ":", 1, &lower, &ignored) >= 0)
                jv_set_str(data, "LowerDir", lower);
        if (n > 0) {
                _cleanup_free_ char *upper = util_printf("%s/%s/diff", s->layers, ids[n - 1]);
                jv_set_str(data, "UpperDir", upper);
        }
        jv_set(g, "Data", data);
        jv_set_str(g, "Name", "overlay2");
        return g;
}

static struct jv *rootfs_doc(char *const *ids)
{
        struct jv *r = jv_new_object(), *layers = jv_new_array();

        for (; ids && *ids; ids++) {
                char d[72]; /* "sha256:" + 64 hex */
                snprintf(d, sizeof(d), "sha256:%s", *ids);
                jv_append(layers, jv_new_string(d));
        }
        jv_set_str(r, "Type", "layers");
        jv_set(r, "Layers", layers);
        return r;
}

static const char *str_or(const struct jv *o, const char *key, const char *dflt)
{
        const char *v = jv_get_str(o, key);

        return v ? v : dflt;
}

static struct jv *inspect_doc(const struct store *s, const char *id, const struct jv *cfg,
                              char **tags, char **ids)
{
        struct jv *d = jv_new_object(), *meta = jv_new_object();
        _cleanup_free_ char *tag_time = last_tag_time(s, id);
        char full[72]; /* "sha256:" + 64 hex */

        snprintf(full, sizeof(full), "sha256:%s", id);
        jv_set_str(d, "Id", full);
        jv_set(d, "RepoTags", jv_from_strv(tags));
        jv_set(d, "RepoDigests", jv_new_array());
        jv_set_str(d, "Parent", str_or(cfg, "parent", ""));
        jv_set_str(d, "Comment", str_or(cfg, "comment", ""));
        jv_set_str(d, "Created", str_or(cfg, "created", ZERO_TIME));
        jv_set_str(d, "DockerVersion", str_or(cfg, "docker_version", ""));
        jv_set_str(d, "Author", str_or(cfg, "author", ""));
        jv_set(d, "Config", imgconfig_inspect_config(jv_get(cfg, "config")));
        jv_set_str(d, "Architecture", str_or(cfg, "architecture", ""));
        if (jv_get_str(cfg, "variant"))
                jv_set_str(d, "Variant", jv_get_str(cfg, "variant"));
        jv_set_str(d, "Os", str_or(cfg, "os", ""));
        jv_set_int(d, "Size", image_size(s, ids));
        jv_set(d, "GraphDriver", graph_driver(s, ids));
        jv_set(d, "RootFS", rootfs_doc(ids));
        jv_set_str(meta, "LastTagTime", tag_time ? tag_time : ZERO_TIME);
        jv_set(d, "Metadata", meta);
        return d;
}

int image_inspect(const struct cli *cli, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_jv_ struct jv *cfg = NULL, *repos = NULL;
        _cleanup_strv_ char **tags = NULL, **ids = NULL;
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = load_config(&s, id, &cfg, err);
        if (r >= 0)
                r = repos_load(&s, &repos, err);
        if (r >= 0)
                r = tags_of(repos, id, &tags, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &ids, err);
        if (r < 0)
                return r;
        *ret = inspect_doc(&s, id, cfg, tags, ids);
        return 0;
}

/* ---- changing the store (callers hold images.lock) ---- */

static int write_tag_time(const struct store *s, const char *id, struct err *err)
{
        _cleanup_free_ char *path = meta_path(s, id);
        _cleanup_jv_ struct jv *meta = jv_new_object();
        char now[40];

        if (!path || !meta)
                return err_set(err, -ENOMEM, "tagging image %.12s", id);
        util_format_time(util_now_ns(), now);
        jv_set_str(meta, "LastTagTime", now);
        return jv_save(path, meta, err);
}

/* Points the normalised reference norm at id. */
static int tag_locked(const struct store *s, const char *id, const char *norm, struct err *err)
{
        _cleanup_jv_ struct jv *repos = NULL;
        char v[72]; /* "sha256:" + 64 hex */
        int r = repos_load(s, &repos, err);

        if (r < 0)
                return r;
        snprintf(v, sizeof(v), "sha256:%s", id);
        jv_set_str(repos, norm, v);
        r = jv_save(s->repos, repos, err);
        if (r < 0)
                return err_wrap(err, "tagging %s", norm);
        return write_tag_time(s, id, err);
}

static int untag_locked(const struct store *s, const char *norm, struct err *err)
{
        _cleanup_jv_ struct jv *repos = NULL;
        int r = repos_load(s, &repos, err);

        if (r < 0)
                return r;
        jv_del(repos, norm);
        r = jv_save(s->repos, repos, err);
        return r < 0 ? err_wrap(err, "untagging %s", norm) : 0;
}

/* Whether any stored image other than skip_id lists diff_id in its rootfs. */
static bool layer_in_use(const struct store *s, char *const *image_ids, const char *skip_id,
                         const char *diff_id)
{
        for (char *const *p = image_ids; *p; p++) {
                _cleanup_jv_ struct jv *cfg = NULL;
                _cleanup_strv_ char **ids = NULL;
                struct err ignored = {0};

                if (skip_id && !strcmp(*p, skip_id))
                        continue;
                /* An unreadable config keeps its layers: never delete on doubt. */
                if (load_config(s, *p, &cfg, &ignored) < 0 ||
                    imgconfig_diff_ids(cfg, &ids, &ignored) < 0)
                        return true;
                if (util_strv_contains(ids, diff_id))
                        return true;
        }
        /* A container keeps the layers it was created from, even after `rmi -f`. */
        return container_uses_layer(s->cli, diff_id);
}

/* Removes the layers of diff_ids that no image other than skip_id uses; the removed ones
 * are appended to *removed (may be NULL). */
static int gc_layers(const struct store *s, char *const *diff_ids, const char *skip_id,
                     char ***removed, struct err *err)
{
        _cleanup_strv_ char **images = NULL;
        int r = list_ids(s, &images, err);

        for (char *const *d = diff_ids; r >= 0 && d && *d; d++) {
                if (layer_in_use(s, images, skip_id, *d))
                        continue;
                r = layer_remove(s->layers, s->tmp, *d, err);
                if (r >= 0 && removed && util_strv_push(removed, *d) < 0)
                        r = err_set(err, -ENOMEM, "removing layers");
        }
        return r;
}

int image_release_layers(const struct cli *cli, const char *lowerdir, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_strv_ char **ids = NULL;
        _cleanup_free_ char *copy = strdup(lowerdir ? lowerdir : "");
        _cleanup_close_ int lock = -1;
        char *save = NULL;
        int r;

        if (!copy)
                return err_set(err, -ENOMEM, "releasing layers");
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                /* .../layers/<diff-id>/diff */
                char *end = strrchr(d, '/'), *start;
                if (!end || strcmp(end, "/diff"))
                        continue;
                *end = '\0';
                start = strrchr(d, '/');
                if (start && strlen(start + 1) == 64 && util_strv_push(&ids, start + 1) < 0)
                        return err_set(err, -ENOMEM, "releasing layers");
        }
        if (!ids)
                return 0;
        r = store_open(cli, false, &s, err);
        if (r >= 0)
                r = lock = store_lock(&s, err);
        if (r >= 0)
                r = gc_layers(&s, ids, NULL, NULL, err);
        return r < 0 ? r : 0;
}

static int check_layers_present(const struct store *s, char *const *ids, struct err *err)
{
        for (; *ids; ids++) {
                _cleanup_free_ char *d = util_printf("%s/%s/diff", s->layers, *ids);
                if (!d)
                        return err_set(err, -ENOMEM, "storing the image");
                if (access(d, F_OK) < 0)
                        return err_errno(err, "layer sha256:%s", *ids);
        }
        return 0;
}

static int write_config(const struct store *s, const char *text, const char *id, struct err *err)
{
        _cleanup_free_ char *path = config_path(s, id);

        if (!path)
                return err_set(err, -ENOMEM, "storing image %.12s", id);
        /* Same id, same bytes: an existing file is already right. */
        if (access(path, F_OK) == 0)
                return 0;
        return fs_write_atomic(path, text, strlen(text), 0644, err);
}

/* Leftovers of killed commands: removals renamed aside (only ever made under images.lock,
 * which the caller holds), and stages (layer-OWNER-*, load-OWNER-*) whose owner has ended;
 * stages named before owner tags, once older than any real import. */
#define STALE_STAGE_SEC (24 * 3600)

static bool stale_stage(int dfd, const char *name, time_t now)
{
        static const char *const prefixes[] = {"layer-", "load-"};
        struct stat st;

        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(name, prefixes[i], n))
                        continue;
                if (util_owner_gone(name + n))
                        return true;
                /* Untagged (layer-XXXXXX): by age. */
                return !strchr(name + n, '.') &&
                       fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                       now - st.st_mtime > STALE_STAGE_SEC;
        }
        return false;
}

static void sweep_tmp(const struct store *s)
{
        _cleanup_closedir_ DIR *d = opendir(s->tmp);
        time_t now = time(NULL);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                struct err ignored = {0};
                if (!strncmp(de->d_name, "rm-", 3) || stale_stage(dirfd(d), de->d_name, now))
                        (void)fs_rm_rf_at(dirfd(d), de->d_name, &ignored);
        }
}

int image_sweep(const struct cli *cli, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_close_ int lock = -1;
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = lock = store_lock(&s, err);
        if (r >= 0)
                sweep_tmp(&s);
        return r < 0 ? r : 0;
}

struct create_step {
        const struct store *s;
        char **created; /* layers this call moved into the store */
};

static int commit_stages(struct create_step *c, char *const *stages, struct err *err)
{
        for (; stages && *stages; stages++) {
                char id[65];
                bool created;
                int r = layer_commit(*stages, c->s->layers, &created, id, err);

                if (r < 0)
                        return r;
                if (created && util_strv_push(&c->created, id) < 0)
                        return err_set(err, -ENOMEM, "storing layers");
        }
        return 0;
}

static int create_locked(struct create_step *c, const struct jv *config, const char *exact,
                         char *const *stages, const char *norm, char ret_id[65], struct err *err)
{
        _cleanup_free_ char *text = exact ? strdup(exact) : NULL;
        _cleanup_strv_ char **ids = NULL;
        char id[SHA256_HEX_LEN];
        int r;

        r = exact ? (text ? 0 : err_set(err, -ENOMEM, "storing an image"))
                  : imgconfig_serialize(config, &text, err);
        if (r >= 0)
                r = imgconfig_diff_ids(config, &ids, err);
        if (r >= 0)
                r = commit_stages(c, stages, err);
        if (r >= 0)
                r = check_layers_present(c->s, ids, err);
        if (r < 0)
                return r;
        if (sha256_hex(text, strlen(text), id) < 0)
                return err_set(err, -ENOSYS, "hashing the image config: cannot load libcrypto");
        r = write_config(c->s, text, id, err);
        if (r >= 0 && norm)
                r = tag_locked(c->s, id, norm, err);
        if (r >= 0)
                memcpy(ret_id, id, 65);
        return r;
}

static int create_image(const struct cli *cli, const struct jv *config, const char *exact,
                        char *const *stages, const char *ref, char ret_id[65], struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int lock = -1;
        struct create_step c = {.s = &s};
        int r;

        r = ref ? imgconfig_normalize_reference(ref, &norm, err) : 0;
        if (r >= 0)
                r = store_open(cli, true, &s, err);
        if (r >= 0)
                r = lock = store_lock(&s, err);
        if (r >= 0) {
                sweep_tmp(&s);
                r = create_locked(&c, config, exact, stages, norm, ret_id, err);
        }
        if (r < 0 && c.created) {
                struct err ignored = {0};
                (void)gc_layers(&s, c.created, NULL, NULL, &ignored);
        }
        util_strv_free(c.created);
        /* Stages not consumed by a failed commit are gone either way. */
        for (char *const *p = stages; r < 0 && p && *p; p++)
                layer_discard(*p);
        return r;
}

bool image_has_layer(const struct cli *cli, const char *diff_id)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "layers/%s/diff", diff_id);

        return dir && access(dir, F_OK) == 0;
}

int image_create(const struct cli *cli, const struct jv *config, char *const *stages,
                 const char *ref, char ret_id[65], struct err *err)
{
        return create_image(cli, config, NULL, stages, ref, ret_id, err);
}

int image_create_exact(const struct cli *cli, const char *text, const struct jv *config,
                       char *const *stages, const char *ref, char ret_id[65], struct err *err)
{
        return create_image(cli, config, text, stages, ref, ret_id, err);
}

int image_stage_layer(const struct cli *cli, int fd, char **ret_stage, char ret_diff_id[65],
                      struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        struct layer_stats st;
        char *stage = NULL;
        int r = store_open(cli, true, &s, err);

        if (r >= 0)
                r = layer_stage(fd, s.tmp, &stage, &st, err);
        if (r < 0)
                return r;
        *ret_stage = stage;
        if (ret_diff_id)
                memcpy(ret_diff_id, st.diff_id, 65);
        return 0;
}

int image_tag(const struct cli *cli, const char *id, const char *ref, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int lock = -1;
        int r = imgconfig_normalize_reference(ref, &norm, err);

        if (r >= 0)
                r = store_open(cli, true, &s, err);
        if (r >= 0)
                r = lock = store_lock(&s, err);
        if (r >= 0) {
                _cleanup_free_ char *path = config_path(&s, id);
                if (!path || access(path, F_OK) < 0)
                        return err_set(err, -ENOENT, "No such image: %.12s", id);
                r = tag_locked(&s, id, norm, err);
        }
        return r;
}

/* ---- import ---- */

struct import_opts {
        char **changes;
        char *message;
        char *platform;
};

static const struct opt_def import_defs[] = {
        {"change", 'c', OPT_LIST, offsetof(struct import_opts, changes)},
        {"message", 'm', OPT_STR, offsetof(struct import_opts, message)},
        {"platform", 0, OPT_STR, offsetof(struct import_opts, platform)},
        OPT_END,
};

static void import_opts_free(struct import_opts *o)
{
        opt_free_lists(import_defs, o);
}

/* The config document of a one-layer import, changes applied. */
static int import_config(const struct import_opts *o, const char *diff_id, struct jv **ret,
                         struct err *err)
{
        _cleanup_jv_ struct jv *cfg = jv_new_object();
        _cleanup_free_ char *os = NULL, *arch = NULL;
        char *ids[] = {(char *)diff_id, NULL};
        char created[40];
        int r;

        r = imgconfig_apply_changes(cfg, o->changes, err);
        if (r >= 0)
                r = imgconfig_parse_platform(o->platform ? o->platform : "linux", &os, &arch, err);
        if (r < 0)
                return r;
        util_format_time(util_now_ns(), created);
        /* The Docker CLI uploads a local file as a stream named "-", so the daemon records
         * "Imported from -" for files and stdin alike. */
        *ret = imgconfig_new(cfg, ids, created, NULL, o->message ? o->message : "Imported from -",
                             arch, os);
        return *ret ? 0 : err_set(err, -ENOMEM, "building the image config");
}

static int open_source(const char *src, int *ret_fd, struct err *err)
{
        int fd;

        if (!strcmp(src, "-")) {
                *ret_fd = STDIN_FILENO;
                return 0;
        }
        if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8))
                return err_set(err, -ENOTSUP, "importing from a URL is not supported: %s", src);
        fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return err_errno(err, "open %s", src);
        *ret_fd = fd;
        return 0;
}

static int do_import(struct cli *cli, const struct import_opts *o, const char *src, const char *ref,
                     struct err *err)
{
        _cleanup_jv_ struct jv *check = jv_new_object(), *doc = NULL;
        _cleanup_free_ char *stage = NULL, *norm = NULL;
        char diff_id[65], id[65];
        char *stages[2] = {NULL, NULL};
        int fd = -1, r;

        /* Bad references and changes are refused before any work is done. */
        r = ref ? imgconfig_normalize_reference(ref, &norm, err) : 0;
        if (r >= 0)
                r = imgconfig_apply_changes(check, o->changes, err);
        if (r >= 0)
                r = open_source(src, &fd, err);
        if (r < 0)
                return r;
        r = image_stage_layer(cli, fd, &stage, diff_id, err);
        if (fd != STDIN_FILENO)
                close(fd);
        if (r < 0)
                return err_wrap(err, "importing %s", src);
        r = import_config(o, diff_id, &doc, err);
        if (r < 0) {
                layer_discard(stage);
                return r;
        }
        stages[0] = stage;
        r = image_create(cli, doc, stages, norm, id, err);
        if (r < 0)
                return err_wrap(err, "importing %s", src);
        printf("sha256:%s\n", id);
        return 0;
}

int image_cmd_import(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_(import_opts_free) struct import_opts o = {0};
        int n = opt_parse(import_defs, argc - 1, argv + 1, false, &o, err);

        if (n < 0)
                return cli_usage_error(cli, "import", err, "%s", err->msg);
        if (n < 1 || n > 2)
                return cli_usage_error(cli, "import", err,
                                       "\"hawser import\" requires at least 1 and at most 2 "
                                       "arguments.");
        return do_import(cli, &o, argv[1], n == 2 ? argv[2] : NULL, err);
}

/* ---- images ---- */

struct images_opts {
        bool all, quiet, no_trunc, digests;
        char *format;
        char **filters;
};

static const struct opt_def images_defs[] = {
        {"all", 'a', OPT_BOOL, offsetof(struct images_opts, all)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct images_opts, quiet)},
        {"no-trunc", 0, OPT_BOOL, offsetof(struct images_opts, no_trunc)},
        {"digests", 0, OPT_BOOL, offsetof(struct images_opts, digests)},
        {"format", 0, OPT_STR, offsetof(struct images_opts, format)},
        {"filter", 'f', OPT_LIST, offsetof(struct images_opts, filters)},
        OPT_END,
};

static void images_opts_free(struct images_opts *o)
{
        opt_free_lists(images_defs, o);
}

/* One line of the listing: an image under one of its tags (or untagged). */
struct image_row {
        char id[65];
        int64_t created;
        const char *created_str; /* borrowed from the image's config */
        long long size;
        char *repo, *tag;  /* NULL when untagged */
        struct jv *labels; /* borrowed */
        size_t seq;
};

struct listing {
        struct image_row *rows;
        size_t n, cap;
        struct jv **configs; /* owned; rows borrow from them */
        size_t nconfigs;
};

static void listing_free(struct listing *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->rows[i].repo), free(l->rows[i].tag);
        free(l->rows);
        for (size_t i = 0; i < l->nconfigs; i++)
                jv_put(l->configs[i]);
        free(l->configs);
}

static int add_row(struct listing *l, const struct image_row *proto, const char *ref)
{
        struct image_row *row;

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                struct image_row *n = realloc(l->rows, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                l->rows = n;
                l->cap = cap;
        }
        row = &l->rows[l->n];
        *row = *proto;
        row->seq = l->n;
        if (ref) {
                const char *colon = strrchr(ref, ':');
                row->repo = strndup(ref, colon ? (size_t)(colon - ref) : strlen(ref));
                row->tag = strdup(colon ? colon + 1 : "latest");
                if (!row->repo || !row->tag) {
                        free(row->repo), free(row->tag);
                        return -ENOMEM;
                }
        } else {
                row->repo = row->tag = NULL;
        }
        l->n++;
        return 0;
}

static int keep_config(struct listing *l, struct jv *cfg)
{
        struct jv **n = realloc(l->configs, (l->nconfigs + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        l->configs = n;
        l->configs[l->nconfigs++] = cfg;
        return 0;
}

static int add_image(struct listing *l, const struct store *s, const struct jv *repos,
                     const char *id, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **tags = NULL, **ids = NULL;
        struct image_row proto = {0};
        struct err ignored = {0};
        int r;

        /* An image removed while we list is simply not listed. */
        if (load_config(s, id, &cfg, &ignored) < 0 || imgconfig_diff_ids(cfg, &ids, &ignored) < 0)
                return 0;
        r = tags_of(repos, id, &tags, err);
        if (r < 0)
                return r;
        memcpy(proto.id, id, 65);
        proto.created_str = jv_get_str(cfg, "created");
        if (!proto.created_str || util_parse_time(proto.created_str, &proto.created) < 0)
                proto.created = 0;
        proto.size = image_size(s, ids);
        proto.labels = jv_path(cfg, "config.Labels");
        for (char **t = tags; r >= 0 && *t; t++)
                r = add_row(l, &proto, *t);
        if (r >= 0 && !tags[0])
                r = add_row(l, &proto, NULL);
        if (r >= 0)
                r = keep_config(l, cfg);
        if (r < 0)
                return err_set(err, -ENOMEM, "listing images");
        cfg = NULL;
        return 0;
}

static int cmp_rows(const void *a, const void *b)
{
        const struct image_row *x = a, *y = b;
        int c;

        if (x->created != y->created)
                return x->created > y->created ? -1 : 1;
        c = strcmp(x->id, y->id);
        if (c)
                return c;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int load_listing(const struct store *s, struct listing *l, struct err *err)
{
        _cleanup_jv_ struct jv *repos = NULL;
        _cleanup_strv_ char **ids = NULL;
        int r = repos_load(s, &repos, err);

        if (r >= 0)
                r = list_ids(s, &ids, err);
        for (char **p = ids; r >= 0 && p && *p; p++)
                r = add_image(l, s, repos, *p, err);
        if (r >= 0 && l->n)
                qsort(l->rows, l->n, sizeof(*l->rows), cmp_rows);
        return r;
}

struct filters {
        int dangling; /* -1: either */
        char **refs;  /* reference patterns */
        char **labels;
        bool has_before, has_since;
        int64_t before, since;
};

static void filters_free(struct filters *f)
{
        util_strv_free(f->refs);
        util_strv_free(f->labels);
}

static int image_created(const struct store *s, const char *ref, int64_t *ret, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        char id[65];
        const char *t;
        int r = resolve(s, ref, id, err);

        if (r >= 0)
                r = load_config(s, id, &cfg, err);
        if (r < 0)
                return r;
        t = jv_get_str(cfg, "created");
        if (!t || util_parse_time(t, ret) < 0)
                *ret = 0;
        return 0;
}

static int parse_filter(const struct store *s, const char *arg, struct filters *f, struct err *err)
{
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : 0;
        const char *v = eq ? eq + 1 : NULL;

        if (!eq)
                return err_set(err, -EINVAL, "bad format of filter (expected name=value)");
        if (n == 8 && !strncmp(arg, "dangling", n)) {
                bool b;
                if (opt_parse_bool(v, &b) < 0)
                        return err_set(err, -EINVAL, "Invalid filter 'dangling=%s'", v);
                f->dangling = b;
                return 0;
        }
        if (n == 9 && !strncmp(arg, "reference", n))
                return util_strv_push(&f->refs, v) < 0 ? -ENOMEM : 0;
        if (n == 5 && !strncmp(arg, "label", n))
                return util_strv_push(&f->labels, v) < 0 ? -ENOMEM : 0;
        if (n == 6 && !strncmp(arg, "before", n)) {
                f->has_before = true;
                return image_created(s, v, &f->before, err);
        }
        if (n == 5 && !strncmp(arg, "since", n)) {
                f->has_since = true;
                return image_created(s, v, &f->since, err);
        }
        return err_set(err, -EINVAL, "invalid filter '%.*s'", (int)n, arg);
}

static bool ref_matches(char *const *patterns, const struct image_row *r)
{
        _cleanup_free_ char *full = NULL;

        if (!patterns)
                return true;
        if (!r->repo)
                return false;
        full = util_printf("%s:%s", r->repo, r->tag);
        for (; *patterns; patterns++)
                if ((full && !fnmatch(*patterns, full, FNM_PATHNAME)) ||
                    !fnmatch(*patterns, r->repo, FNM_PATHNAME))
                        return true;
        return false;
}

static bool labels_match(char *const *want, const struct jv *labels)
{
        for (; want && *want; want++) {
                const char *eq = strchr(*want, '=');
                _cleanup_free_ char *key = eq ? strndup(*want, (size_t)(eq - *want)) : NULL;
                const char *have = jv_get_str(labels, key ? key : *want);

                if (!have || (eq && strcmp(have, eq + 1)))
                        return false;
        }
        return true;
}

static bool row_visible(const struct filters *f, const struct image_row *r)
{
        if (f->dangling >= 0 && (r->repo == NULL) != (f->dangling == 1))
                return false;
        if (f->has_before && r->created >= f->before)
                return false;
        if (f->has_since && r->created <= f->since)
                return false;
        return ref_matches(f->refs, r) && labels_match(f->labels, r->labels);
}

static void short_id(const struct image_row *r, bool no_trunc, char out[72])
{
        if (no_trunc)
                snprintf(out, 72, "sha256:%s", r->id);
        else
                snprintf(out, 72, "%.12s", r->id);
}

/* Go's time.Time.String() for a UTC time, which `images --format {{.CreatedAt}}` shows. */
static void created_at(int64_t ns, char out[40])
{
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(out, 40, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
}

static struct jv *row_ctx(const struct image_row *r, bool no_trunc, int64_t now)
{
        struct jv *o = jv_new_object();
        char id[72], since[64], size[32], at[40];

        short_id(r, no_trunc, id);
        util_human_duration(now - r->created, since, sizeof(since));
        strcat(since, " ago");
        util_human_size_prec(r->size, 3, size, sizeof(size));
        created_at(r->created, at);
        jv_set_str(o, "Containers", "N/A");
        jv_set_str(o, "CreatedAt", at);
        jv_set_str(o, "CreatedSince", since);
        jv_set_str(o, "Digest", "<none>");
        jv_set_str(o, "ID", id);
        jv_set_str(o, "Repository", r->repo ? r->repo : "<none>");
        jv_set_str(o, "SharedSize", "N/A");
        jv_set_str(o, "Size", size);
        jv_set_str(o, "Tag", r->tag ? r->tag : "<none>");
        jv_set_str(o, "UniqueSize", "N/A");
        jv_set_str(o, "VirtualSize", size);
        return o;
}

static struct jv *header_ctx(void)
{
        static const char *const h[][2] = {
                {"Containers", "CONTAINERS"},
                {"CreatedAt", "CREATED AT"},
                {"CreatedSince", "CREATED"},
                {"Digest", "DIGEST"},
                {"ID", "IMAGE ID"},
                {"Repository", "REPOSITORY"},
                {"SharedSize", "SHARED SIZE"},
                {"Size", "SIZE"},
                {"Tag", "TAG"},
                {"UniqueSize", "UNIQUE SIZE"},
                {"VirtualSize", "VIRTUAL SIZE"},
        };
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(h); i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

static void print_quiet(const struct listing *l, const struct filters *f, bool no_trunc)
{
        _cleanup_strv_ char **seen = calloc(1, sizeof(char *));

        for (size_t i = 0; i < l->n; i++) {
                char id[72];

                if (!row_visible(f, &l->rows[i]) || util_strv_contains(seen, l->rows[i].id))
                        continue;
                if (seen)
                        (void)util_strv_push(&seen, l->rows[i].id);
                short_id(&l->rows[i], no_trunc, id);
                printf("%s\n", id);
        }
}

static int print_table(const struct listing *l, const struct filters *f,
                       const struct images_opts *o, struct err *err)
{
        _cleanup_table_ struct table *t = table_new();
        int64_t now = util_now_ns();
        int r;

        if (!t)
                return err_set(err, -ENOMEM, "printing images");
        r = table_add_row(t, o->digests ? "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE"
                                        : "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
        for (size_t i = 0; r >= 0 && i < l->n; i++) {
                const struct image_row *row = &l->rows[i];
                _cleanup_free_ char *line = NULL;
                char id[72], since[64], size[32];

                if (!row_visible(f, row))
                        continue;
                short_id(row, o->no_trunc, id);
                util_human_duration(now - row->created, since, sizeof(since));
                util_human_size_prec(row->size, 3, size, sizeof(size));
                line = util_printf("%s\t%s\t%s%s%s\t%s ago\t%s", row->repo ? row->repo : "<none>",
                                   row->tag ? row->tag : "<none>", o->digests ? "<none>" : "",
                                   o->digests ? "\t" : "", id, since, size);
                r = line ? table_add_row(t, line) : -ENOMEM;
        }
        if (r < 0)
                return err_set(err, r, "printing images");
        return table_print(t, stdout) < 0 ? err_set(err, -EIO, "printing images") : 0;
}

static int render_row(const struct template *t, const struct jv *ctx, struct table *tw,
                      struct err *err)
{
        _cleanup_free_ char *line = NULL;
        int r = template_render(t, ctx, &line, err);

        if (r < 0)
                return r;
        if (tw)
                return table_add_row(tw, line) < 0 ? err_set(err, -ENOMEM, "printing") : 0;
        printf("%s\n", line);
        return 0;
}

/* "table ..." goes through the tabwriter with a header rendered from the header names, as
 * the Docker CLI's formatter does; "json" prints each row as JSON. */
static int print_format(const struct listing *l, const struct filters *f,
                        const struct images_opts *o, struct err *err)
{
        _cleanup_template_ struct template *t = NULL;
        _cleanup_table_ struct table *tw = NULL;
        _cleanup_jv_ struct jv *header = NULL;
        const char *body = o->format;
        bool json = !strcmp(o->format, "json");
        int64_t now = util_now_ns();
        int r = 0;

        if (template_is_table(o->format, &body)) {
                tw = table_new();
                header = header_ctx();
                if (!tw || !header)
                        return err_set(err, -ENOMEM, "printing images");
        }
        if (!json)
                r = template_parse(body, &t, err);
        if (r >= 0 && tw)
                r = render_row(t, header, tw, err);
        for (size_t i = 0; r >= 0 && i < l->n; i++) {
                _cleanup_jv_ struct jv *ctx = NULL;

                if (!row_visible(f, &l->rows[i]))
                        continue;
                ctx = row_ctx(&l->rows[i], o->no_trunc, now);
                if (json)
                        printf("%s\n", jv_to_string(ctx, false));
                else
                        r = render_row(t, ctx, tw, err);
        }
        if (r >= 0 && tw && table_print(tw, stdout) < 0)
                return err_set(err, -EIO, "printing images");
        return r;
}

static bool is_default_format(const char *format)
{
        const char *rest = NULL;

        return !format || !*format || (template_is_table(format, &rest) && !*rest);
}

static int list_images(struct cli *cli, const struct images_opts *o, const char *pattern,
                       struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_(listing_free) struct listing l = {0};
        _cleanup_(filters_free) struct filters f = {.dangling = -1};
        int r = store_open(cli, false, &s, err);

        for (char **p = o->filters; r >= 0 && p && *p; p++)
                r = parse_filter(&s, *p, &f, err);
        if (r >= 0 && pattern && util_strv_push(&f.refs, pattern) < 0)
                r = err_set(err, -ENOMEM, "listing images");
        if (r >= 0)
                r = load_listing(&s, &l, err);
        if (r < 0)
                return r;
        if (is_default_format(o->format)) {
                if (o->quiet) {
                        print_quiet(&l, &f, o->no_trunc);
                        return 0;
                }
                return print_table(&l, &f, o, err);
        }
        return print_format(&l, &f, o, err);
}

int image_cmd_images(struct cli *cli, int argc, char **argv, struct err *err)
{
        _cleanup_(images_opts_free) struct images_opts o = {0};
        int n = opt_parse(images_defs, argc - 1, argv + 1, false, &o, err);

        if (n < 0)
                return cli_usage_error(cli, "images", err, "%s", err->msg);
        if (n > 1)
                return cli_usage_error(cli, "images", err,
                                       "\"hawser images\" requires at most 1 argument.");
        return list_images(cli, &o, n == 1 ? argv[1] : NULL, err);
}

/* ---- tag ---- */

int image_cmd_tag(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        _cleanup_free_ char *norm = NULL;
        struct err perr = {0};
        char id[65];
        int n = opt_parse(defs, argc - 1, argv + 1, false, NULL, err);

        if (n < 0)
                return cli_usage_error(cli, "tag", err, "%s", err->msg);
        if (n != 2)
                return cli_usage_error(cli, "tag", err,
                                       "\"hawser tag\" requires exactly 2 arguments.");
        if (imgconfig_normalize_reference(argv[2], &norm, &perr) < 0)
                return err_set(err, -EINVAL,
                               "Error parsing reference: \"%s\" is not a valid repository/tag: %s",
                               argv[2], perr.msg);
        if (image_resolve(cli, argv[1], id, err) < 0)
                return -err->code;
        return image_tag(cli, id, norm, err);
}

/* ---- rmi ---- */

struct rmi {
        const struct cli *cli;
        const struct store *s;
        bool force;
        bool prune;      /* image prune words its lines in lower case */
        long long freed; /* content size of the layers removed */
        char id[65];
        char **tags;
        char *running; /* a running container using the image, by name */
        char *stopped; /* a stopped one */
};

static void rmi_free(struct rmi *d)
{
        util_strv_free(d->tags);
        free(d->running);
        free(d->stopped);
}

static int find_users(struct rmi *d, struct err *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = container_image_users(d->cli, d->id, &names, err);

        for (char **p = names; r >= 0 && *p; p++) {
                struct container *c = NULL;
                struct err ignored = {0};
                bool running;

                if (container_find(d->cli, *p, &c, &ignored) < 0)
                        continue;
                running = container_is_live(c);
                container_free(c);
                if (running && !d->running)
                        d->running = strdup(*p);
                else if (!running && !d->stopped)
                        d->stopped = strdup(*p);
        }
        return r;
}

/* Docker's checkImageDeleteConflict: a running container is a hard conflict (even --force
 * cannot override it); remaining tags and stopped containers are checked when asked. */
static int delete_conflict(const struct rmi *d, bool refs, bool stopped, struct err *err)
{
        if (d->running)
                return err_set(err, -EBUSY,
                               "conflict: unable to delete %.12s (cannot be forced) - image is "
                               "being used by running container %s",
                               d->id, d->running);
        if (refs && d->tags[0])
                return err_set(err, -EBUSY,
                               "conflict: unable to delete %.12s (must be forced) - image is "
                               "referenced in multiple repositories",
                               d->id);
        if (stopped && d->stopped)
                return err_set(err, -EBUSY,
                               "conflict: unable to delete %.12s (must be forced) - image is "
                               "being used by stopped container %s",
                               d->id, d->stopped);
        return 0;
}

static int untag(struct rmi *d, const char *norm, struct err *err)
{
        int r = untag_locked(d->s, norm, err);

        if (r < 0)
                return r;
        printf("%s: %s\n", d->prune ? "untagged" : "Untagged", norm);
        for (char **p = d->tags; *p; p++)
                if (!strcmp(*p, norm)) {
                        free(*p);
                        memmove(p, p + 1, (util_strv_len(p + 1) + 1) * sizeof(*p));
                        break;
                }
        return 0;
}

/* chain ids as Docker prints them for removed layers: chain(0) = diff(0),
 * chain(n) = sha256("sha256:<chain(n-1)> sha256:<diff(n)>"). */
static void print_removed_layers(const struct rmi *d, char *const *diff_ids, char *const *removed)
{
        size_t n = util_strv_len(diff_ids);
        _cleanup_free_ char(*chain)[SHA256_HEX_LEN] = calloc(n ? n : 1, SHA256_HEX_LEN);

        if (!chain)
                return;
        for (size_t i = 0; i < n; i++) {
                char buf[160]; /* two "sha256:<hex>" and a blank */
                if (i == 0) {
                        memcpy(chain[0], diff_ids[0], SHA256_HEX_LEN);
                        continue;
                }
                snprintf(buf, sizeof(buf), "sha256:%s sha256:%s", chain[i - 1], diff_ids[i]);
                if (sha256_hex(buf, strlen(buf), chain[i]) < 0)
                        return;
        }
        for (size_t i = n; i-- > 0;)
                if (util_strv_contains(removed, diff_ids[i]))
                        printf("%s: sha256:%s\n", d->prune ? "deleted" : "Deleted", chain[i]);
}

/* What removing these layers frees: their content, as image sizes count it. */
static long long layers_size(const struct store *s, char *const *diff_ids)
{
        long long total = 0;

        for (char *const *p = diff_ids; p && *p; p++) {
                _cleanup_free_ char *dir = util_printf("%s/%s", s->layers, *p);
                struct err ignored = {0};
                long long v = 0;

                if (dir && layer_read_size(dir, "content-size", &v, &ignored) == 0)
                        total += v;
        }
        return total;
}

static int delete_image(struct rmi *d, struct err *err)
{
        _cleanup_free_ char *cfg_path = config_path(d->s, d->id);
        _cleanup_free_ char *meta = meta_path(d->s, d->id);
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **diff_ids = NULL, **removed = calloc(1, sizeof(char *));
        _cleanup_free_ long long *sizes = NULL;
        int r;

        if (!cfg_path || !meta || !removed)
                return err_set(err, -ENOMEM, "deleting image %.12s", d->id);
        r = load_config(d->s, d->id, &cfg, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &diff_ids, err);
        while (r >= 0 && d->tags[0])
                r = untag(d, d->tags[0], err);
        if (r < 0)
                return r;
        if (unlink(cfg_path) < 0 && errno != ENOENT)
                return err_errno(err, "deleting image %.12s", d->id);
        (void)unlink(meta);
        printf("%s: sha256:%s\n", d->prune ? "deleted" : "Deleted", d->id);
        sizes = calloc(util_strv_len(diff_ids) + 1, sizeof(*sizes));
        for (size_t i = 0; sizes && diff_ids && diff_ids[i]; i++)
                sizes[i] = layers_size(d->s, (char *[]){diff_ids[i], NULL});
        r = gc_layers(d->s, diff_ids, d->id, &removed, err);
        for (size_t i = 0; sizes && diff_ids && diff_ids[i]; i++)
                if (util_strv_contains(removed, diff_ids[i]))
                        d->freed += sizes[i];
        print_removed_layers(d, diff_ids, removed);
        return r;
}

/* Docker's imageDeleteHelper: removed_ref means a tag was just removed, in which case a
 * conflict quietly keeps the (now untagged) image instead of failing. */
static int delete_helper(struct rmi *d, bool removed_ref, struct err *err)
{
        struct err conflict = {0};

        if (delete_conflict(d, !d->force, !d->force, &conflict) < 0) {
                if (removed_ref && (d->running || d->stopped))
                        return 0;
                *err = conflict;
                return -conflict.code;
        }
        return delete_image(d, err);
}

static bool is_id_prefix(const char *id, const char *ref)
{
        const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;

        return *hex && !strncmp(id, hex, strlen(hex));
}

static int rmi_by_name(struct rmi *d, const char *ref, struct err *err)
{
        _cleanup_free_ char *norm = NULL;
        int r = imgconfig_normalize_reference(ref, &norm, err);

        if (r < 0)
                return r;
        if (!d->force && util_strv_len(d->tags) == 1 && (d->running || d->stopped))
                return err_set(err, -EBUSY,
                               "conflict: unable to remove repository reference \"%s\" (must "
                               "force) - container %s is using its referenced image %.12s",
                               ref, d->running ? d->running : d->stopped, d->id);
        r = untag(d, norm, err);
        if (r < 0 || d->tags[0])
                return r;
        return delete_helper(d, true, err);
}

static int rmi_by_id(struct rmi *d, struct err *err)
{
        int r;

        /* One tag goes with the image; several need --force. */
        if (util_strv_len(d->tags) == 1) {
                r = delete_conflict(d, false, !d->force, err);
                if (r >= 0)
                        r = untag(d, d->tags[0], err);
                if (r < 0)
                        return r;
        }
        return delete_helper(d, false, err);
}

/* prune_freed (NULL for rmi): image prune's lower-case lines, and what the removal freed. */
static int rmi_one(const struct cli *cli, const struct store *s, const char *ref, bool force,
                   long long *prune_freed, struct err *err)
{
        _cleanup_(rmi_free) struct rmi d = {
                .cli = cli, .s = s, .force = force, .prune = prune_freed != NULL};
        _cleanup_jv_ struct jv *repos = NULL;
        _cleanup_close_ int lock = store_lock(s, err);
        int r = lock;

        if (r >= 0)
                r = resolve(s, ref, d.id, err);
        if (r >= 0)
                r = repos_load(s, &repos, err);
        if (r >= 0)
                r = tags_of(repos, d.id, &d.tags, err);
        if (r >= 0)
                r = find_users(&d, err);
        if (r < 0)
                return r;
        r = is_id_prefix(d.id, ref) ? rmi_by_id(&d, err) : rmi_by_name(&d, ref, err);
        if (prune_freed)
                *prune_freed = d.freed;
        return r;
}

int image_cmd_rmi(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force, no_prune;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"no-prune", 0, OPT_BOOL, offsetof(__typeof__(o), no_prune)},
                OPT_END,
        };
        _cleanup_(store_free) struct store s = {0};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r = 0;

        if (n < 0)
                return cli_usage_error(cli, "rmi", err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, "rmi", err,
                                       "\"hawser rmi\" requires at least 1 argument.");
        if (store_open(cli, false, &s, err) < 0)
                return -err->code;
        for (int i = 1; i <= n; i++) {
                struct err e = {0};

                if (rmi_one(cli, &s, argv[i], o.force, NULL, &e) >= 0)
                        continue;
                /* Docker reports every failure, one per line, after trying them all. */
                if (r < 0)
                        fprintf(stderr, "Error: %s\n", err->msg);
                *err = e;
                r = -e.code;
        }
        fflush(stdout);
        return r;
}

/* ---- system df ---- */

/* Adds each layer of diff_ids not in *seen to *seen and its content size to *sum. */
static int count_layers(const struct store *s, char *const *diff_ids, char ***seen, long long *sum)
{
        for (char *const *p = diff_ids; p && *p; p++) {
                if (util_strv_contains(*seen, *p))
                        continue;
                if (util_strv_push(seen, *p) < 0)
                        return -ENOMEM;
                *sum += image_size(s, (char *[]){*p, NULL});
        }
        return 0;
}

int image_disk_usage(const struct cli *cli, struct image_usage *ret, struct err *err)
{
        _cleanup_(store_free) struct store s = {0};
        _cleanup_strv_ char **ids = NULL, **all = NULL, **used = NULL;
        struct image_usage u = {0};
        long long in_use = 0;
        int r = store_open(cli, false, &s, err);

        if (r >= 0)
                r = list_ids(&s, &ids, err);
        for (char **id = ids; r >= 0 && id && *id; id++) {
                _cleanup_strv_ char **users = NULL, **diff_ids = NULL;
                _cleanup_jv_ struct jv *cfg = NULL;
                struct err e = {0};

                if (load_config(&s, *id, &cfg, &e) < 0 ||
                    imgconfig_diff_ids(cfg, &diff_ids, &e) < 0)
                        continue;
                u.count++;
                r = count_layers(&s, diff_ids, &all, &u.size);
                if (r >= 0 && container_image_users(cli, *id, &users, &e) == 0 && users &&
                    users[0]) {
                        u.active++;
                        r = count_layers(&s, diff_ids, &used, &in_use);
                }
                if (r < 0)
                        r = err_set(err, r, "measuring image %.12s", *id);
        }
        if (r < 0)
                return r;
        /* Layers shared with an image a container uses stay: they are not reclaimable. */
        u.reclaimable = u.size - in_use;
        *ret = u;
        return 0;
}

/* ---- image prune ---- */

static bool prune_candidate(const struct cli *cli, const struct store *s, const char *id, bool all)
{
        _cleanup_strv_ char **tags = NULL, **users = NULL;
        _cleanup_jv_ struct jv *repos = NULL;
        struct err e = {0};

        if (repos_load(s, &repos, &e) < 0 || tags_of(repos, id, &tags, &e) < 0 ||
            container_image_users(cli, id, &users, &e) < 0)
                return false;
        return !(users && users[0]) && (all || !tags || !tags[0]);
}

int image_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool all, force;
                char **filters;
        } o = {0};
        static const struct opt_def defs[] = {
                {"all", 'a', OPT_BOOL, offsetof(__typeof__(o), all)},
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"filter", 0, OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        _cleanup_(store_free) struct store s = {0};
        _cleanup_strv_ char **ids = NULL;
        long long total = 0;
        bool header = false;
        char size[32];
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        opt_free_lists(defs, &o);
        if (k != 0)
                return cli_usage_error(cli, "image prune", err, "%s",
                                       k < 0 ? err->msg
                                             : "\"hawser image prune\" accepts no arguments.");
        if (!o.force) {
                char answer[16] = "";
                fprintf(stderr,
                        "WARNING! This will remove all %s.\nAre you sure you want to "
                        "continue? [y/N] ",
                        o.all ? "images without at least one container associated to them"
                              : "dangling images");
                if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
                        return 0;
        }
        if (store_open(cli, false, &s, err) < 0 || list_ids(&s, &ids, err) < 0)
                return -err->code;
        for (char **id = ids; id && *id; id++) {
                long long sz = 0;
                struct err e = {0};
                if (!prune_candidate(cli, &s, *id, o.all))
                        continue;
                if (!header)
                        printf("Deleted Images:\n");
                header = true;
                fflush(stdout);
                if (rmi_one(cli, &s, *id, true, &sz, &e) < 0) {
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                        continue;
                }
                total += sz;
        }
        util_human_size(total, size, sizeof(size));
        printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", size);
        return 0;
}

int image_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"prune", image_cmd_prune}, {"ls", image_cmd_images}, {"list", image_cmd_images},
                {"rm", image_cmd_rmi},      {"tag", image_cmd_tag},   {"import", image_cmd_import},
        };

        return cli_dispatch(cli, "image", sub, sizeof(sub) / sizeof(sub[0]),
                            "prune, ls, rm, tag, import", argc, argv, err);
}
