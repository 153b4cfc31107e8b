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
#include "image_internal.h"
#include "imgconfig.h"
#include "layer.h"

/* Docker prints this for an image that was never tagged. */
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- the store ---- */

void imgstore_free(struct store *s)
{
        free(s->root), free(s->images), free(s->layers);
        free(s->tmp), free(s->repos), free(s->lock);
}

/* Paths of the store; with create, the directories are made (commands work on an empty
 * --root). */
int imgstore_open(const struct cli *cli, bool create, struct store *s, struct err *err)
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
int imgstore_lock(const struct store *s, struct err *err)
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

char *imgstore_config_path(const struct store *s, const char *id)
{
        return util_printf("%s/%s.json", s->images, id);
}

char *imgstore_meta_path(const struct store *s, const char *id)
{
        return util_printf("%s/%s.meta", s->images, id);
}

static bool is_hex(const char *s, size_t min, size_t max)
{
        size_t n = strspn(s, "0123456789abcdef");

        return s[n] == '\0' && n >= min && n <= max;
}

/* {"name:tag": "sha256:<id>"}; a missing file is an empty map. */
int imgstore_repos_load(const struct store *s, struct jv **ret, struct err *err)
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
int imgstore_list_ids(const struct store *s, char ***ret, struct err *err)
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

int imgstore_load_config(const struct store *s, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_free_ char *path = imgstore_config_path(s, id);
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
        int r = imgstore_list_ids(s, &ids, err);

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
        int r = imgstore_repos_load(s, &repos, err);

        if (r < 0)
                return r;
        v = jv_get_str(repos, norm);
        if (!v || strncmp(v, "sha256:", 7) || !is_hex(v + 7, 64, 64))
                return -ENOENT;
        memcpy(ret_id, v + 7, 65);
        return 0;
}

/* Docker's order: a name first, then an id (prefix), with or without "sha256:". */
int imgstore_resolve(const struct store *s, const char *ref, char ret_id[65], struct err *err)
{
        _cleanup_free_ char *norm = NULL;
        struct err perr = {0};
        const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : NULL;
        int r;

        if (hex) {
                r = is_hex(hex, 1, 64) ? resolve_prefix(s, hex, ret_id, err) : -ENOENT;
                return r == -ENOENT ? err_set(err, -ENOENT, "No such image: %s", ref) : r;
        }
        if (strchr(ref, '@')) {
                _cleanup_(image_ref_free) struct image_ref pr = {0};
                _cleanup_free_ char *key = NULL;
                if (imgconfig_parse_ref(ref, &pr, err) < 0)
                        return -err->code;
                key = util_printf("%s@%s", pr.name, pr.digest);
                r = key ? resolve_tag(s, key, ret_id, err) : -ENOMEM;
                return r == -ENOENT ? err_set(err, -ENOENT, "No such image: %s", key) : r;
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
        _cleanup_(imgstore_free) struct store s = {0};
        char id[65];
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_resolve(&s, ref, id, err);
        if (r < 0)
                return r;
        memcpy(ret_id, id, 65);
        return 0;
}

int image_load_config(const struct cli *cli, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        int r = imgstore_open(cli, false, &s, err);

        return r < 0 ? r : imgstore_load_config(&s, id, ret, err);
}

int image_list_refs(const struct cli *cli, char ***ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_jv_ struct jv *repos = NULL;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_repos_load(&s, &repos, err);
        if (r < 0)
                return r;
        *ret = jv_keys(repos);
        return *ret ? 0 : err_set(err, -ENOMEM, "listing images");
}

int image_tags_of_repo(const struct cli *cli, const char *name, char ***ret, struct err *err)
{
        _cleanup_strv_ char **keys = NULL, **out = calloc(1, sizeof(char *));
        size_t n = strlen(name);
        int r = out ? image_list_refs(cli, &keys, err) : -ENOMEM;

        if (r < 0)
                return r == -ENOMEM ? err_set(err, r, "listing tags") : r;
        for (char **k = keys; *k; k++)
                if (!strncmp(*k, name, n) && (*k)[n] == ':' && !strchr(*k + n, '@') &&
                    util_strv_push(&out, *k + n + 1) < 0)
                        return err_set(err, -ENOMEM, "listing tags");
        *ret = TAKE_PTR(out);
        return 0;
}

int image_config_text(const struct cli *cli, const char *id, char **ret, size_t *ret_len,
                      struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_free_ char *path = NULL;
        int r = imgstore_open(cli, false, &s, err);

        if (r < 0)
                return r;
        path = imgstore_config_path(&s, id);
        return path ? fs_read_file(path, ret, ret_len, err)
                    : err_set(err, -ENOMEM, "reading image %.12s", id);
}

/* The keys of repositories.json pointing at id: "name:tag" ones, or "name@sha256:..." ones
 * (digests a pull or push saw) when digests is set. */
static int refs_of(const struct jv *repos, const char *id, bool digests, char ***ret,
                   struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(repos);
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        char want[72]; /* "sha256:" + 64 hex */

        if (!keys || !out)
                return err_set(err, -ENOMEM, "listing tags");
        snprintf(want, sizeof(want), "sha256:%s", id);
        for (char **k = keys; *k; k++) {
                const char *v = jv_get_str(repos, *k);
                if (v && !strcmp(v, want) && (strchr(*k, '@') != NULL) == digests &&
                    util_strv_push(&out, *k) < 0)
                        return err_set(err, -ENOMEM, "listing tags");
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int imgstore_tags_of(const struct jv *repos, const char *id, char ***ret, struct err *err)
{
        return refs_of(repos, id, false, ret, err);
}

int imgstore_digests_of(const struct jv *repos, const char *id, char ***ret, struct err *err)
{
        return refs_of(repos, id, true, ret, err);
}

int image_tags(const struct cli *cli, const char *id, char ***ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_jv_ struct jv *repos = NULL;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_repos_load(&s, &repos, err);
        return r < 0 ? r : imgstore_tags_of(repos, id, ret, err);
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
        size_t top = n > skip_top ? n - skip_top : 0;
        bool first = true;

        for (size_t i = top; i-- > 0;) {
                /* A layer that comes again higher up (two RUN steps that changed nothing, a
                 * COPY repeated) is listed once, at its top place: overlayfs refuses one
                 * directory twice (ELOOP), and the higher copy has every file and whiteout
                 * of the lower, so the merged tree is the same. */
                bool again = false;
                for (size_t j = i + 1; j < top && !again; j++)
                        again = !strcmp(ids[i], ids[j]);
                if (again)
                        continue;
                fprintf(f, "%s%s/%s/diff", first ? "" : sep, s->layers, ids[i]);
                first = false;
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return err_set(err, -ENOMEM, "building the layer list");
        }
        *ret = buf;
        return 0;
}

int image_lowerdir(const struct cli *cli, const char *id, char **ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **ids = NULL;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_load_config(&s, id, &cfg, err);
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
long long imgstore_size(const struct store *s, char *const *ids)
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
        _cleanup_free_ char *path = imgstore_meta_path(s, id);
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
                              char **tags, char **digests, char **ids)
{
        struct jv *d = jv_new_object(), *meta = jv_new_object();
        _cleanup_free_ char *tag_time = last_tag_time(s, id);
        char full[72]; /* "sha256:" + 64 hex */

        snprintf(full, sizeof(full), "sha256:%s", id);
        jv_set_str(d, "Id", full);
        jv_set(d, "RepoTags", jv_from_strv(tags));
        jv_set(d, "RepoDigests", jv_from_strv(digests));
        /* Docker's image store link, not the config's word: an image loaded without its
         * parent has none. */
        {
                const char *parent = str_or(cfg, "parent", "");
                _cleanup_jv_ struct jv *pcfg = NULL;
                struct err e = {0};
                if (strncmp(parent, "sha256:", 7) || strlen(parent + 7) != 64 ||
                    strspn(parent + 7, "0123456789abcdef") != 64 ||
                    imgstore_load_config(s, parent + 7, &pcfg, &e) < 0)
                        parent = "";
                jv_set_str(d, "Parent", parent);
        }
        jv_set_str(d, "Comment", str_or(cfg, "comment", ""));
        jv_set_str(d, "Created", str_or(cfg, "created", ZERO_TIME));
        jv_set_str(d, "DockerVersion", str_or(cfg, "docker_version", ""));
        jv_set_str(d, "Author", str_or(cfg, "author", ""));
        jv_set(d, "Config", imgconfig_inspect_config(jv_get(cfg, "config")));
        jv_set_str(d, "Architecture", str_or(cfg, "architecture", ""));
        if (jv_get_str(cfg, "variant"))
                jv_set_str(d, "Variant", jv_get_str(cfg, "variant"));
        jv_set_str(d, "Os", str_or(cfg, "os", ""));
        jv_set_int(d, "Size", imgstore_size(s, ids));
        jv_set(d, "GraphDriver", graph_driver(s, ids));
        jv_set(d, "RootFS", rootfs_doc(ids));
        jv_set_str(meta, "LastTagTime", tag_time ? tag_time : ZERO_TIME);
        jv_set(d, "Metadata", meta);
        return d;
}

int image_inspect(const struct cli *cli, const char *id, struct jv **ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_jv_ struct jv *cfg = NULL, *repos = NULL;
        _cleanup_strv_ char **tags = NULL, **digests = NULL, **ids = NULL;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_load_config(&s, id, &cfg, err);
        if (r >= 0)
                r = imgstore_repos_load(&s, &repos, err);
        if (r >= 0)
                r = imgstore_tags_of(repos, id, &tags, err);
        if (r >= 0)
                r = imgstore_digests_of(repos, id, &digests, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &ids, err);
        if (r < 0)
                return r;
        *ret = inspect_doc(&s, id, cfg, tags, digests, ids);
        return 0;
}

/* ---- changing the store (callers hold images.lock) ---- */

static int write_tag_time(const struct store *s, const char *id, struct err *err)
{
        _cleanup_free_ char *path = imgstore_meta_path(s, id);
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
        int r = imgstore_repos_load(s, &repos, err);

        if (r < 0)
                return r;
        snprintf(v, sizeof(v), "sha256:%s", id);
        jv_set_str(repos, norm, v);
        r = jv_save(s->repos, repos, err);
        if (r < 0)
                return err_wrap(err, "tagging %s", norm);
        return write_tag_time(s, id, err);
}

int imgstore_untag_locked(const struct store *s, const char *norm, struct err *err)
{
        _cleanup_jv_ struct jv *repos = NULL;
        int r = imgstore_repos_load(s, &repos, err);

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
                if (imgstore_load_config(s, *p, &cfg, &ignored) < 0 ||
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
int imgstore_gc_layers(const struct store *s, char *const *diff_ids, const char *skip_id,
                       char ***removed, struct err *err)
{
        _cleanup_strv_ char **images = NULL;
        int r = imgstore_list_ids(s, &images, err);

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
        _cleanup_(imgstore_free) struct store s = {0};
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
        r = imgstore_open(cli, false, &s, err);
        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        if (r >= 0)
                r = imgstore_gc_layers(&s, ids, NULL, NULL, err);
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
        _cleanup_free_ char *path = imgstore_config_path(s, id);

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

/* The diff ids of every stored layer. */
static int list_layers(const struct store *s, char ***ret, struct err *err)
{
        _cleanup_closedir_ DIR *d = opendir(s->layers);
        _cleanup_strv_ char **out = calloc(1, sizeof(char *));
        struct dirent *e;

        if (!out)
                return err_set(err, -ENOMEM, "listing layers");
        while (d && (e = readdir(d)))
                if (strlen(e->d_name) == 64 && is_hex(e->d_name, 64, 64) &&
                    util_strv_push(&out, e->d_name) < 0)
                        return err_set(err, -ENOMEM, "listing layers");
        *ret = TAKE_PTR(out);
        return 0;
}

int image_sweep(const struct cli *cli, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_strv_ char **layers = NULL;
        _cleanup_close_ int lock = -1;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        if (r >= 0)
                sweep_tmp(&s);
        /* Layers no image lists: what failed pulls kept for the next one. */
        if (r >= 0)
                r = list_layers(&s, &layers, err);
        if (r >= 0)
                r = imgstore_gc_layers(&s, layers, NULL, NULL, err);
        return r < 0 ? r : 0;
}

int image_keep_layers(const struct cli *cli, char *const *stages, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_close_ int lock = -1;
        int r = imgstore_open(cli, true, &s, err);

        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        for (; r >= 0 && stages && *stages; stages++) {
                r = layer_commit(*stages, s.layers, NULL, NULL, err);
                if (r < 0)
                        break;
        }
        for (; stages && *stages; stages++)
                layer_discard(*stages);
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
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int lock = -1;
        struct create_step c = {.s = &s};
        int r;

        r = ref ? imgconfig_normalize_reference(ref, &norm, err) : 0;
        if (r >= 0)
                r = imgstore_open(cli, true, &s, err);
        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        if (r >= 0) {
                sweep_tmp(&s);
                r = create_locked(&c, config, exact, stages, norm, ret_id, err);
        }
        if (r < 0 && c.created) {
                struct err ignored = {0};
                (void)imgstore_gc_layers(&s, c.created, NULL, NULL, &ignored);
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
        _cleanup_(imgstore_free) struct store s = {0};
        struct layer_stats st;
        char *stage = NULL;
        int r = imgstore_open(cli, true, &s, err);

        if (r >= 0)
                r = layer_stage(fd, s.tmp, &stage, &st, err);
        if (r < 0)
                return r;
        *ret_stage = stage;
        if (ret_diff_id)
                memcpy(ret_diff_id, st.diff_id, 65);
        return 0;
}

int image_add_digest(const struct cli *cli, const char *id, const char *name, const char *digest,
                     struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_jv_ struct jv *repos = NULL;
        _cleanup_free_ char *key = util_printf("%s@%s", name, digest);
        _cleanup_close_ int lock = -1;
        char v[72]; /* "sha256:" + 64 hex */
        int r = key ? imgstore_open(cli, true, &s, err)
                    : err_set(err, -ENOMEM, "recording %s", digest);

        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        if (r >= 0)
                r = imgstore_repos_load(&s, &repos, err);
        if (r < 0)
                return r;
        snprintf(v, sizeof(v), "sha256:%s", id);
        jv_set_str(repos, key, v);
        r = jv_save(s.repos, repos, err);
        return r < 0 ? err_wrap(err, "recording %s", key) : 0;
}

int image_tag(const struct cli *cli, const char *id, const char *ref, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int lock = -1;
        int r = imgconfig_normalize_reference(ref, &norm, err);

        if (r >= 0)
                r = imgstore_open(cli, true, &s, err);
        if (r >= 0)
                r = lock = imgstore_lock(&s, err);
        if (r >= 0) {
                _cleanup_free_ char *path = imgstore_config_path(&s, id);
                if (!path || access(path, F_OK) < 0)
                        return err_set(err, -ENOENT, "No such image: %.12s", id);
                r = tag_locked(&s, id, norm, err);
        }
        return r;
}
