#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/sha256.h"
#include "base/util.h"
#include "commit.h"
#include "events.h"
#include "image.h"
#include "imgconfig.h"
#include "layer.h"
#include "opt.h"
#include "saveload.h"
#include "tarsplit.h"
#include "tarwrite.h"

#define MT_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

#define SL_BUF (256 * 1024)

/* ---- helpers ---- */

static bool is_hex64(const char *s, size_t len)
{
        if (len != 64)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* sha256 and size of the whole file behind fd (read from offset 0 with pread). */
static int hash_fd(int fd, char out[SHA256_HEX_LEN], long long *ret_size, struct err *err)
{
        _cleanup_free_ char *buf = malloc(SL_BUF);
        struct sha256 *s = sha256_new();
        long long off = 0;

        if (!buf || !s) {
                if (s)
                        sha256_finish(s, out);
                return err_set(err, -ENOMEM, "hashing a blob");
        }
        for (;;) {
                ssize_t n = pread(fd, buf, SL_BUF, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = err_errno(err, "reading a blob");
                        sha256_finish(s, out);
                        return r;
                }
                if (n == 0)
                        break;
                sha256_update(s, buf, (size_t)n);
                off += n;
        }
        sha256_finish(s, out);
        if (ret_size)
                *ret_size = off;
        return 0;
}

static int read_fd_all(int fd, char **ret, size_t *ret_len, struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;
                if (cap - len < 4096) {
                        size_t ncap = cap ? cap * 2 : 65536;
                        char *nb = realloc(buf, ncap + 1);
                        if (!nb)
                                return err_set(err, -ENOMEM, "reading the archive");
                        buf = nb;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_errno(err, "reading the archive");
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* A relative path that stays inside the archive: not absolute, no ".." component. */
static bool path_inside(const char *p)
{
        const char *c = p;

        if (!p || !*p || *p == '/')
                return false;
        while (*c) {
                size_t n = strcspn(c, "/");
                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                c += n;
                while (*c == '/')
                        c++;
        }
        return true;
}

/* Opens a file of the extracted archive; symlinks never leave it. */
static int open_in(int rootfd, const char *path, struct err *err)
{
        int fd;

        if (!path_inside(path))
                return err_set(err, -EINVAL, "invalid archive: path %s points outside the archive",
                               path ? path : "(null)");
        fd = fs_open_in_root(rootfd, path, O_RDONLY | O_CLOEXEC, 0);
        if (fd == -ENOENT)
                return err_set(err, -ENOENT, "invalid archive: %s is missing", path);
        if (fd < 0)
                return err_set(err, fd, "invalid archive: opening %s: %s", path, strerror(-fd));
        return fd;
}

static int read_in(int rootfd, const char *path, char **ret, size_t *ret_len, struct err *err)
{
        _cleanup_close_ int fd = open_in(rootfd, path, err);

        if (fd < 0)
                return fd;
        return read_fd_all(fd, ret, ret_len, err);
}

/* --root/tmp/PREFIX-OWNER-XXXXXX: a killed load's directory is removed by the next command
 * that sweeps --root/tmp (image.c). */
static int make_tmpdir(const struct cli *cli, const char *prefix, char **ret, struct err *err)
{
        _cleanup_free_ char *tmp = cli_root_path(cli, "tmp");
        _cleanup_free_ char *dir = NULL;
        char tag[UTIL_OWNER_TAG_MAX];
        int r;

        if (!tmp)
                return err_set(err, -ENOMEM, "creating a temporary directory");
        r = fs_mkdir_p(tmp, 0700, err);
        if (r < 0)
                return r;
        util_owner_tag(tag);
        dir = util_printf("%s/%s-%s-XXXXXX", tmp, prefix, tag);
        if (!dir)
                return err_set(err, -ENOMEM, "creating a temporary directory");
        if (!mkdtemp(dir))
                return err_errno(err, "creating a temporary directory in %s", tmp);
        *ret = TAKE_PTR(dir);
        return 0;
}

static void rmtree_freep(char **dir)
{
        if (*dir) {
                struct err e = {0};
                (void)fs_rm_rf(*dir, &e);
                free(*dir);
        }
}
#define _cleanup_rmtree_ _cleanup_(rmtree_freep)

/* ---- save ---- */

struct save_image {
        char id[65];
        char **tags; /* normalised "name:tag" */
};

struct save_ctx {
        const struct cli *cli;
        struct tarwrite *w; /* the archive, written as the images are visited */
        char **blobs;       /* hexes written so far, in order */
        struct jv *index_manifests, *docker_manifest, *repositories;
        bool any_tag;
};

/* Every entry of the archive has the same owner, mode and time, as Docker writes them. */
static struct stat blob_stat(long long size)
{
        return (struct stat){.st_mode = S_IFREG | 0644, .st_size = size};
}

static int add_entry_bytes(struct save_ctx *c, const char *rel, const char *data, size_t len,
                           struct err *err)
{
        struct stat st = blob_stat((long long)len);
        struct tarwrite_entry e = {.path = rel, .st = &st, .fd = -1};
        int r = tarwrite_begin(c->w, &e, err);

        if (r >= 0)
                r = tarwrite_write(c->w, data, len, err);
        return r < 0 ? r : tarwrite_end(c->w, err);
}

/* Records hex as written; 1 when it was written already (a layer shared by two images). */
static int blob_seen(struct save_ctx *c, const char *hex, struct err *err)
{
        if (util_strv_contains(c->blobs, hex))
                return 1;
        return util_strv_push(&c->blobs, hex) < 0 ? err_set(err, -ENOMEM, "saving") : 0;
}

static int add_blob_bytes(struct save_ctx *c, const char *data, size_t len, char hex[65],
                          struct err *err)
{
        _cleanup_free_ char *rel = NULL;
        int r = sha256_hex(data, len, hex);

        if (r < 0)
                return err_set(err, r, "hashing a blob");
        r = blob_seen(c, hex, err);
        if (r != 0)
                return r < 0 ? r : 0;
        rel = util_printf("blobs/sha256/%s", hex);
        return rel ? add_entry_bytes(c, rel, data, len, err) : err_set(err, -ENOMEM, "saving");
}

static int sink_tar(void *ud, const void *buf, size_t n, struct err *err)
{
        return tarwrite_write(ud, buf, n, err);
}

/* The layer's original tar, byte for byte, from its tar-split record and its files: the
 * blob digest is the diff id, nothing is hashed. 1 when the layer has no record (stored
 * before records were kept, or a stream the record cannot reproduce). */
static int add_layer_replayed(struct save_ctx *c, const char *diff_id, long long *ret_size,
                              struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(c->cli, "layers/%s", diff_id);
        _cleanup_free_ char *rel = util_printf("blobs/sha256/%s", diff_id);
        _cleanup_close_ int dfd = -1, sfd = -1, lfd = -1;
        struct stat st;
        long long size;
        int r;

        if (!dir || !rel)
                return err_set(err, -ENOMEM, "saving");
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_errno(err, "layer sha256:%s", diff_id);
        sfd = openat(dfd, LAYER_SPLIT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0 && errno == ENOENT)
                return 1;
        lfd = openat(dfd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0 || lfd < 0)
                return err_errno(err, "layer sha256:%s", diff_id);
        r = tarsplit_size(sfd, &size, err);
        if (r < 0)
                return err_wrap(err, "layer sha256:%s", diff_id);
        *ret_size = size;
        r = blob_seen(c, diff_id, err);
        if (r != 0)
                return r < 0 ? r : 0;
        st = blob_stat(size);
        r = tarwrite_begin(c->w, &(struct tarwrite_entry){.path = rel, .st = &st, .fd = -1}, err);
        if (r >= 0)
                r = tarsplit_replay(sfd, lfd, sink_tar, c->w, err);
        if (r >= 0)
                r = tarwrite_end(c->w, err);
        return r < 0 ? err_wrap(err, "layer sha256:%s", diff_id) : 0;
}

/* A layer without a record: its tar written anew from the extracted tree into a temporary
 * file, hashed, then copied in. The digest may differ from the diff id. */
static int add_layer_regenerated(struct save_ctx *c, const char *diff_id, char hex[65],
                                 long long *ret_size, struct err *err)
{
        _cleanup_free_ char *diff = cli_root_path(c->cli, "layers/%s/diff", diff_id);
        _cleanup_free_ char *tmp = cli_root_path(c->cli, "tmp");
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        char *const no_lowers[] = {NULL};
        struct commit_filter f = {0};
        struct stat st;
        size_t n;
        int r;

        if (!diff || !tmp)
                return err_set(err, -ENOMEM, "saving");
        r = fs_mkdir_p(tmp, 0700, err);
        if (r < 0)
                return r;
        fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "creating a temporary file in %s", tmp);
        r = commit_write_layer(diff, no_lowers, &f, fd, &n, hex, err);
        if (r < 0)
                return err_wrap(err, "layer sha256:%s", diff_id);
        if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return err_errno(err, "layer sha256:%s", diff_id);
        *ret_size = st.st_size;
        r = blob_seen(c, hex, err);
        if (r != 0)
                return r < 0 ? r : 0;
        rel = util_printf("blobs/sha256/%s", hex);
        if (!rel)
                return err_set(err, -ENOMEM, "saving");
        st = blob_stat(st.st_size);
        return tarwrite_add(c->w, &(struct tarwrite_entry){.path = rel, .st = &st, .fd = fd}, err);
}

static int add_layer_blob(struct save_ctx *c, const char *diff_id, char hex[65], long long *size,
                          struct err *err)
{
        int r = add_layer_replayed(c, diff_id, size, err);

        if (r == 0)
                memcpy(hex, diff_id, 65);
        return r == 1 ? add_layer_regenerated(c, diff_id, hex, size, err) : r;
}

static struct jv *descriptor(const char *mt, const char *hex, long long size)
{
        struct jv *d = jv_new_object();
        _cleanup_free_ char *dg = util_printf("sha256:%s", hex);

        jv_set_str(d, "mediaType", mt);
        jv_set_str(d, "digest", dg);
        jv_set_int(d, "size", size);
        return d;
}

/* "busybox:latest" -> "docker.io/library/busybox:latest", as containerd names images. */
static char *full_ref(const char *ref)
{
        const char *slash = strchr(ref, '/');

        if (!slash)
                return util_printf("docker.io/library/%s", ref);
        if (memchr(ref, '.', (size_t)(slash - ref)) || memchr(ref, ':', (size_t)(slash - ref)) ||
            strncmp(ref, "localhost/", 10) == 0)
                return strdup(ref);
        return util_printf("docker.io/%s", ref);
}

static int save_one(struct save_ctx *c, const struct save_image *img, struct err *err)
{
        _cleanup_jv_ struct jv *config = NULL, *manifest = NULL, *layers = NULL, *paths = NULL;
        _cleanup_strv_ char **diff_ids = NULL, **hexes = NULL;
        _cleanup_free_ char *cfg_bytes = NULL, *cfg_path = NULL;
        _cleanup_free_ long long *sizes = NULL;
        char cfg_hex[65], man_hex[65];
        size_t cfg_len = 0, n;
        bool same = true;
        const char *mtext;
        struct jv *entry;
        int r;

        r = image_load_config(c->cli, img->id, &config, err);
        if (r >= 0)
                r = imgconfig_diff_ids(config, &diff_ids, err);
        if (r < 0)
                return r;
        n = util_strv_len(diff_ids);
        sizes = calloc(n + 1, sizeof(*sizes));
        hexes = calloc(n + 1, sizeof(*hexes));
        if (!sizes || !hexes)
                return err_set(err, -ENOMEM, "saving");
        for (size_t i = 0; i < n; i++) {
                char hex[65];
                r = add_layer_blob(c, diff_ids[i], hex, &sizes[i], err);
                if (r < 0)
                        return r;
                hexes[i] = strdup(hex);
                if (!hexes[i])
                        return err_set(err, -ENOMEM, "saving");
                if (strcmp(hex, diff_ids[i]) != 0)
                        same = false;
        }
        if (same) {
                /* The exact stored bytes: the blob digest is the image id. */
                cfg_path = cli_root_path(c->cli, "images/%s.json", img->id);
                if (!cfg_path)
                        return err_set(err, -ENOMEM, "saving");
                r = fs_read_file(cfg_path, &cfg_bytes, &cfg_len, err);
        } else {
                /* The config must name the tars written: rootfs.diff_ids follow them. */
                struct jv *rootfs = jv_get(config, "rootfs");
                struct jv *ids = jv_new_array();
                for (size_t i = 0; i < n; i++)
                        jv_append(ids, jv_new_string(util_printf("sha256:%s", hexes[i]) ?: ""));
                jv_set(rootfs, "diff_ids", ids);
                r = imgconfig_serialize(config, &cfg_bytes, err);
                if (r >= 0)
                        cfg_len = strlen(cfg_bytes);
        }
        if (r >= 0)
                r = add_blob_bytes(c, cfg_bytes, cfg_len, cfg_hex, err);
        if (r < 0)
                return r;

        manifest = jv_new_object();
        layers = jv_new_array();
        paths = jv_new_array();
        jv_set_int(manifest, "schemaVersion", 2);
        jv_set_str(manifest, "mediaType", MT_MANIFEST);
        jv_set(manifest, "config", descriptor(MT_CONFIG, cfg_hex, (long long)cfg_len));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = util_printf("blobs/sha256/%s", hexes[i]);
                jv_append(layers, descriptor(MT_LAYER, hexes[i], sizes[i]));
                jv_append(paths, jv_new_string(p ?: ""));
        }
        jv_set(manifest, "layers", jv_ref(layers));
        mtext = jv_to_string(manifest, false);
        r = add_blob_bytes(c, mtext, strlen(mtext), man_hex, err);
        if (r < 0)
                return r;

        if (!img->tags || !img->tags[0])
                jv_append(c->index_manifests,
                          descriptor(MT_MANIFEST, man_hex, (long long)strlen(mtext)));
        for (char **t = img->tags; t && *t; t++) {
                struct jv *d = descriptor(MT_MANIFEST, man_hex, (long long)strlen(mtext));
                struct jv *ann = jv_new_object();
                _cleanup_free_ char *full = full_ref(*t);
                _cleanup_free_ char *name = strdup(*t);
                char *colon = name ? strrchr(name, ':') : NULL;
                struct jv *repo;

                if (!full || !colon) {
                        jv_put(d), jv_put(ann);
                        return err_set(err, -ENOMEM, "saving");
                }
                *colon = '\0';
                jv_set_str(ann, "io.containerd.image.name", full);
                jv_set_str(ann, "org.opencontainers.image.ref.name", colon + 1);
                jv_set(d, "annotations", ann);
                jv_append(c->index_manifests, d);
                repo = jv_get(c->repositories, name);
                if (!repo) {
                        repo = jv_new_object();
                        jv_set(c->repositories, name, repo);
                }
                if (n)
                        jv_set_str(repo, colon + 1, hexes[n - 1]);
                c->any_tag = true;
        }

        entry = jv_new_object();
        {
                _cleanup_free_ char *cp = util_printf("blobs/sha256/%s", cfg_hex);
                jv_set_str(entry, "Config", cp ?: "");
        }
        jv_set(entry, "RepoTags", jv_from_strv(img->tags ? img->tags : (char *[]){NULL}));
        jv_set(entry, "Layers", jv_ref(paths));
        jv_append(c->docker_manifest, entry);
        return 0;
}

static int tar_add_dir(struct tarwrite *w, const char *rel, struct err *err)
{
        struct stat st = {.st_mode = S_IFDIR | 0755};

        return tarwrite_add(w, &(struct tarwrite_entry){.path = rel, .st = &st, .fd = -1}, err);
}

static int save_json(struct save_ctx *c, const char *name, const struct jv *v, struct err *err)
{
        const char *text = jv_to_string(v, false);

        return add_entry_bytes(c, name, text, strlen(text), err);
}

static int save_tops(struct save_ctx *c, struct err *err)
{
        _cleanup_jv_ struct jv *index = jv_new_object(), *layout = jv_new_object();
        int r;

        if (!index || !layout)
                return err_set(err, -ENOMEM, "saving");
        jv_set_int(index, "schemaVersion", 2);
        jv_set_str(index, "mediaType", MT_INDEX);
        jv_set(index, "manifests", jv_ref(c->index_manifests));
        jv_set_str(layout, "imageLayoutVersion", "1.0.0");
        r = save_json(c, "index.json", index, err);
        if (r >= 0)
                r = save_json(c, "manifest.json", c->docker_manifest, err);
        if (r >= 0)
                r = save_json(c, "oci-layout", layout, err);
        if (r >= 0 && c->any_tag)
                r = save_json(c, "repositories", c->repositories, err);
        return r;
}

/* The archive is written as it is made: layer blobs stream from the store into it, the
 * small JSON files follow at the end (Docker 25's order). */
static int do_save(const struct cli *cli, struct save_image *imgs, size_t n, int outfd,
                   struct err *err)
{
        _cleanup_tarwrite_ struct tarwrite *w = NULL;
        struct save_ctx c = {.cli = cli};
        int r = tarwrite_open(outfd, &w, err);

        c.w = w;
        c.index_manifests = jv_new_array();
        c.docker_manifest = jv_new_array();
        c.repositories = jv_new_object();
        if (r >= 0 && (!c.index_manifests || !c.docker_manifest || !c.repositories))
                r = err_set(err, -ENOMEM, "saving");
        if (r >= 0)
                r = tar_add_dir(w, "blobs/", err);
        if (r >= 0)
                r = tar_add_dir(w, "blobs/sha256/", err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = save_one(&c, &imgs[i], err);
        if (r >= 0)
                r = save_tops(&c, err);
        if (r >= 0)
                r = tarwrite_finish(w, err);
        jv_put(c.index_manifests);
        jv_put(c.docker_manifest);
        jv_put(c.repositories);
        util_strv_free(c.blobs);
        return r;
}

struct save_opts {
        char *output;
};

static const struct opt_def save_defs[] = {
        {"output", 'o', OPT_STR, offsetof(struct save_opts, output)},
        OPT_END,
};

/* The tag a reference names when it names the image by one of its tags (not by id). */
static int ref_tag(const struct cli *cli, const char *ref, const char *id, char **ret)
{
        struct err e = {0};
        _cleanup_free_ char *norm = NULL;
        _cleanup_strv_ char **tags = NULL;

        *ret = NULL;
        if (imgconfig_normalize_reference(ref, &norm, &e) < 0 || image_tags(cli, id, &tags, &e) < 0)
                return 0;
        if (util_strv_contains(tags, norm))
                *ret = TAKE_PTR(norm);
        return 0;
}

int saveload_cmd_save(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct save_opts o = {0};
        struct save_image *imgs = NULL;
        size_t n_imgs = 0;
        _cleanup_close_ int ofd = -1;
        _cleanup_free_ char *tmp_out = NULL;
        int n = opt_parse(save_defs, argc - 1, argv + 1, false, &o, err);
        int r = 0;

        if (n < 0)
                return cli_usage_error(cli, "save", err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, "save", err,
                                       "\"hawser save\" requires at least 1 argument.");
        if (!o.output && isatty(STDOUT_FILENO))
                return err_set(err, -EINVAL,
                               "cowardly refusing to save to a terminal. Use the -o "
                               "flag or redirect");
        imgs = calloc((size_t)n, sizeof(*imgs));
        if (!imgs)
                return err_set(err, -ENOMEM, "saving");
        for (int i = 0; r >= 0 && i < n; i++) {
                char id[65];
                _cleanup_free_ char *tag = NULL;
                size_t j;

                r = image_resolve(cli, argv[1 + i], id, err);
                if (r < 0)
                        break;
                ref_tag(cli, argv[1 + i], id, &tag);
                for (j = 0; j < n_imgs; j++)
                        if (strcmp(imgs[j].id, id) == 0)
                                break;
                if (j == n_imgs)
                        memcpy(imgs[n_imgs++].id, id, sizeof(id));
                if (tag && !util_strv_contains(imgs[j].tags, tag) &&
                    util_strv_push(&imgs[j].tags, tag) < 0)
                        r = err_set(err, -ENOMEM, "saving");
        }
        if (r >= 0 && o.output) {
                tmp_out = util_printf("%s.hawser-tmp", o.output);
                if (!tmp_out)
                        r = err_set(err, -ENOMEM, "saving");
                else if ((ofd = open(tmp_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                        r = err_errno(err, "failed to save image: opening %s", o.output);
        }
        if (r >= 0)
                r = do_save(cli, imgs, n_imgs, o.output ? ofd : STDOUT_FILENO, err);
        if (r >= 0 && o.output && rename(tmp_out, o.output) < 0)
                r = err_errno(err, "failed to save image: writing %s", o.output);
        if (r < 0 && ofd >= 0)
                (void)unlink(tmp_out);
        for (size_t i = 0; r >= 0 && i < n_imgs; i++)
                events_image(cli, imgs[i].id, NULL, NULL, "save");
        for (size_t i = 0; i < n_imgs; i++)
                util_strv_free(imgs[i].tags);
        free(imgs);
        return r < 0 ? r : 0;
}

/* ---- load ---- */

struct pending {
        struct jv *config;
        char *config_text; /* the bytes as archived: their sha256 is the image id */
        char **stages;     /* NULL-terminated */
        size_t n_stages;
        char **tags;
};

/* A layer staged while the archive was read, named by the placeholder file's inode. */
struct staged {
        dev_t dev;
        ino_t ino;
        char *stage; /* NULL once an image took it, or when staging failed */
        struct layer_stats stats;
        char *error;
};

struct load_ctx {
        const struct cli *cli;
        int rootfd;
        bool quiet;
        struct pending *v;
        size_t n, cap;
        struct staged *st;
        size_t n_st, cap_st;
};

static void pending_discard(struct pending *p)
{
        for (size_t i = 0; i < p->n_stages; i++)
                if (p->stages[i]) {
                        layer_discard(p->stages[i]);
                        free(p->stages[i]);
                }
        free(p->stages);
        jv_put(p->config);
        free(p->config_text);
        util_strv_free(p->tags);
        memset(p, 0, sizeof(*p));
}

static void load_ctx_done(struct load_ctx *c)
{
        for (size_t i = 0; i < c->n; i++)
                pending_discard(&c->v[i]);
        free(c->v);
        /* Layers in the archive that no image used. */
        for (size_t i = 0; i < c->n_st; i++) {
                if (c->st[i].stage)
                        layer_discard(c->st[i].stage);
                free(c->st[i].stage);
                free(c->st[i].error);
        }
        free(c->st);
}

static int layer_taken(void *ud, struct layer_diverted *d, struct err *err)
{
        struct load_ctx *c = ud;
        struct staged *st;

        if (c->n_st == c->cap_st) {
                size_t cap = c->cap_st ? c->cap_st * 2 : 8;
                struct staged *nv = realloc(c->st, cap * sizeof(*nv));
                if (!nv) {
                        if (d->stage)
                                layer_discard(d->stage);
                        free(d->stage);
                        return err_set(err, -ENOMEM, "loading");
                }
                c->st = nv;
                c->cap_st = cap;
        }
        st = &c->st[c->n_st++];
        *st = (struct staged){.dev = d->dev, .ino = d->ino, .stage = d->stage, .stats = d->stats};
        if (!d->stage && !(st->error = strdup(d->error ? d->error : "unreadable layer")))
                return err_set(err, -ENOMEM, "loading");
        return 0;
}

static struct staged *staged_find(struct load_ctx *c, int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return NULL;
        for (size_t i = c->n_st; i-- > 0;)
                if (c->st[i].dev == st.st_dev && c->st[i].ino == st.st_ino)
                        return &c->st[i];
        return NULL;
}

/* The 64-hex a "blobs/sha256/<hex>" path names, or NULL. */
static const char *blob_hex(const char *path)
{
        const char *p = path;

        while (*p == '.' && p[1] == '/')
                p += 2;
        if (strncmp(p, "blobs/sha256/", 13) != 0 || !is_hex64(p + 13, strlen(p + 13)))
                return NULL;
        return p + 13;
}

static int digest_mismatch(const char *path, const char *got, struct err *err)
{
        return err_set(err, -EINVAL,
                       "invalid archive: digest mismatch for %s: content has sha256:%s", path, got);
}

static int diff_mismatch(const char *path, const char *got, const char *want, struct err *err)
{
        return err_set(err, -EINVAL,
                       "invalid archive: layer %s has diff id sha256:%s, the config expects "
                       "sha256:%s",
                       path, got, want);
}

/* A layer staged while the archive was read: the checks of stage_layer_file on the digests
 * taken then. *ret_stage stays NULL when an earlier image took the stage already (the
 * layer is in the store by the time this image is stored). */
static int take_staged(struct staged *st, const char *path, const char *want_blob,
                       const char *want_diff, char **ret_stage, struct err *err)
{
        if (!st->stage && st->error)
                return err_set(err, -EINVAL, "invalid archive: layer %s: %s", path, st->error);
        if (want_blob && strcmp(st->stats.blob, want_blob) != 0)
                return digest_mismatch(path, st->stats.blob, err);
        if (strcmp(st->stats.diff_id, want_diff) != 0)
                return diff_mismatch(path, st->stats.diff_id, want_diff, err);
        *ret_stage = TAKE_PTR(st->stage);
        return 0;
}

/* Stages one layer file, checking the blob digest its name carries and the diff id. */
static int stage_layer_file(struct load_ctx *c, const char *path, const char *want_blob,
                            const char *want_diff, char **ret_stage, struct err *err)
{
        _cleanup_close_ int fd = open_in(c->rootfd, path, err);
        struct staged *st;
        char got[65], diff[65];
        char *stage = NULL;
        int r;

        if (fd < 0)
                return fd;
        st = staged_find(c, fd);
        if (st)
                return take_staged(st, path, want_blob, want_diff, ret_stage, err);
        /* Content that did not look like a tar (an lzma stream has no magic): the slow way. */
        if (want_blob) {
                r = hash_fd(fd, got, NULL, err);
                if (r < 0)
                        return r;
                if (strcmp(got, want_blob) != 0)
                        return digest_mismatch(path, got, err);
        }
        r = image_stage_layer(c->cli, fd, &stage, diff, err);
        if (r < 0)
                return err_wrap(err, "invalid archive: layer %s", path);
        if (strcmp(diff, want_diff) != 0) {
                layer_discard(stage);
                free(stage);
                return diff_mismatch(path, diff, want_diff, err);
        }
        *ret_stage = stage;
        return 0;
}

static int push_pending(struct load_ctx *c, struct pending *p, struct err *err)
{
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 4;
                struct pending *nv = realloc(c->v, cap * sizeof(*nv));
                if (!nv)
                        return err_set(err, -ENOMEM, "loading");
                c->v = nv;
                c->cap = cap;
        }
        c->v[c->n++] = *p;
        memset(p, 0, sizeof(*p));
        return 0;
}

/* Parses the config bytes (already verified) and stages layers given by path. */
static int stage_image(struct load_ctx *c, const char *cfg_text, char *const *layer_paths,
                       char *const *layer_blobs, char **tags, struct err *err)
{
        _cleanup_(pending_discard) struct pending p = {0};
        _cleanup_strv_ char **diff_ids = NULL;
        size_t n = util_strv_len(layer_paths);
        int r = jv_parse(cfg_text, &p.config, err);

        if (r < 0)
                return err_wrap(err, "invalid archive: image config");
        p.config_text = strdup(cfg_text);
        if (!p.config_text)
                return err_set(err, -ENOMEM, "loading");
        r = imgconfig_diff_ids(p.config, &diff_ids, err);
        if (r < 0)
                return err_wrap(err, "invalid archive: image config");
        if (util_strv_len(diff_ids) != n)
                return err_set(err, -EINVAL,
                               "invalid archive: the manifest lists %zu layers, the config %zu", n,
                               util_strv_len(diff_ids));
        p.stages = calloc(n + 1, sizeof(*p.stages));
        if (!p.stages)
                return err_set(err, -ENOMEM, "loading");
        for (size_t i = 0; i < n; i++) {
                const char *want = layer_blobs ? layer_blobs[i] : blob_hex(layer_paths[i]);
                r = stage_layer_file(c, layer_paths[i], want && *want ? want : NULL, diff_ids[i],
                                     &p.stages[p.n_stages], err);
                if (r < 0)
                        return r;
                /* A layer an earlier image of the archive took has no stage here. */
                if (p.stages[p.n_stages])
                        p.n_stages++;
        }
        p.tags = TAKE_PTR(tags);
        return push_pending(c, &p, err);
}

/* Reads a file and checks its sha256 against want (64 hex). */
static int read_verified(struct load_ctx *c, const char *path, const char *want, char **ret,
                         struct err *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        char got[65];
        int r = read_in(c->rootfd, path, &text, &len, err);

        if (r < 0)
                return r;
        r = sha256_hex(text, len, got);
        if (r < 0)
                return err_set(err, r, "hashing %s", path);
        if (strcmp(got, want) != 0)
                return digest_mismatch(path, got, err);
        /* JSON has no NUL; the bytes are kept as text, and must hash to the same id. */
        if (memchr(text, '\0', len))
                return err_set(err, -EINVAL, "invalid archive: %s is not JSON text", path);
        *ret = TAKE_PTR(text);
        return 0;
}

/* Docker's manifest.json (25+ and older layouts). */
static int load_docker(struct load_ctx *c, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_jv_ struct jv *m = NULL;
        size_t len;
        int r = read_in(c->rootfd, "manifest.json", &text, &len, err);

        if (r >= 0)
                r = jv_parse(text, &m, err);
        if (r < 0)
                return err_wrap(err, "invalid archive: manifest.json");
        if (jv_type(m) != JV_ARRAY)
                return err_set(err, -EINVAL, "invalid archive: manifest.json is not an array");
        for (size_t i = 0; i < jv_len(m); i++) {
                struct jv *e = jv_at(m, i);
                const char *cfg = jv_get_str(e, "Config");
                struct jv *layers = jv_get(e, "Layers"), *rt = jv_get(e, "RepoTags");
                _cleanup_free_ char *want = NULL, *cfg_text = NULL;
                _cleanup_strv_ char **paths = NULL, **tags = NULL;
                const char *base, *hex;

                if (!cfg || jv_type(layers) != JV_ARRAY)
                        return err_set(err, -EINVAL,
                                       "invalid archive: manifest.json entry %zu lacks Config or "
                                       "Layers",
                                       i);
                if (!path_inside(cfg))
                        return err_set(err, -EINVAL,
                                       "invalid archive: path %s points outside the archive", cfg);
                base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
                hex = blob_hex(cfg);
                if (hex)
                        want = strdup(hex);
                else if (strlen(base) == 69 && strcmp(base + 64, ".json") == 0 &&
                         is_hex64(base, 64))
                        want = strndup(base, 64);
                else
                        return err_set(err, -EINVAL,
                                       "invalid archive: config %s is not named by its digest",
                                       cfg);
                if (!want)
                        return err_set(err, -ENOMEM, "loading");
                r = read_verified(c, cfg, want, &cfg_text, err);
                if (r < 0)
                        return r;
                paths = jv_to_strv(layers);
                if (!paths)
                        return err_set(err, -EINVAL,
                                       "invalid archive: bad Layers in manifest.json");
                for (char **p = paths; *p; p++)
                        if (!path_inside(*p))
                                return err_set(err, -EINVAL,
                                               "invalid archive: path %s points outside the "
                                               "archive",
                                               *p);
                for (size_t t = 0; rt && jv_type(rt) == JV_ARRAY && t < jv_len(rt); t++) {
                        _cleanup_free_ char *norm = NULL;
                        const char *s = jv_str(jv_at(rt, t));
                        r = imgconfig_normalize_reference(s ? s : "", &norm, err);
                        if (r < 0)
                                return err_wrap(err, "invalid archive: RepoTags");
                        if (util_strv_push(&tags, norm) < 0)
                                return err_set(err, -ENOMEM, "loading");
                }
                r = stage_image(c, cfg_text, paths, NULL, TAKE_PTR(tags), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "sha256:<hex>" of a descriptor -> "blobs/sha256/<hex>" and the hex. */
static int desc_blob(const struct jv *d, char **ret_path, char ret_hex[65], struct err *err)
{
        const char *dg = jv_get_str(d, "digest");

        if (!dg || strncmp(dg, "sha256:", 7) != 0 || !is_hex64(dg + 7, strlen(dg + 7)))
                return err_set(err, -EINVAL, "invalid archive: unsupported or malformed digest %s",
                               dg ? dg : "(none)");
        memcpy(ret_hex, dg + 7, 65);
        *ret_path = util_printf("blobs/sha256/%s", ret_hex);
        return *ret_path ? 0 : err_set(err, -ENOMEM, "loading");
}

static int load_oci_manifest(struct load_ctx *c, const struct jv *desc, int depth, struct err *err);

static int load_oci_index(struct load_ctx *c, const struct jv *index, int depth, struct err *err)
{
        struct jv *ms = jv_get(index, "manifests");

        if (jv_type(ms) != JV_ARRAY)
                return err_set(err, -EINVAL, "invalid archive: index without manifests");
        if (depth > 0) {
                /* A nested index (multi-platform): the host's platform only. */
                for (size_t i = 0; i < jv_len(ms); i++) {
                        const char *arch = jv_str(jv_path(jv_at(ms, i), "platform.architecture"));
                        if (!arch || strcmp(arch, imgconfig_host_arch()) == 0)
                                return load_oci_manifest(c, jv_at(ms, i), depth, err);
                }
                return err_set(err, -EINVAL, "invalid archive: no manifest for platform linux/%s",
                               imgconfig_host_arch());
        }
        for (size_t i = 0; i < jv_len(ms); i++) {
                int r = load_oci_manifest(c, jv_at(ms, i), depth, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_oci_manifest(struct load_ctx *c, const struct jv *desc, int depth, struct err *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *cfg_path = NULL, *cfg_text = NULL;
        _cleanup_jv_ struct jv *m = NULL;
        _cleanup_strv_ char **paths = NULL, **blobs = NULL, **tags = NULL;
        const char *mt = jv_get_str(desc, "mediaType");
        const char *name;
        struct jv *ann = jv_get(desc, "annotations"), *layers;
        char hex[65], cfg_hex[65];
        int r;

        if (depth > 4)
                return err_set(err, -EINVAL, "invalid archive: indexes nested too deep");
        r = desc_blob(desc, &path, hex, err);
        if (r >= 0)
                r = read_verified(c, path, hex, &text, err);
        if (r >= 0)
                r = jv_parse(text, &m, err);
        if (r < 0)
                return err_wrap(err, "invalid archive: manifest");
        if (!mt)
                mt = jv_get_str(m, "mediaType");
        if (mt && (strcmp(mt, MT_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0))
                return load_oci_index(c, m, depth + 1, err);
        name = ann ? jv_get_str(ann, "io.containerd.image.name") : NULL;
        if (!name && ann) {
                const char *rn = jv_get_str(ann, "org.opencontainers.image.ref.name");
                if (rn && (strchr(rn, ':') || strchr(rn, '/')))
                        name = rn;
        }
        if (name) {
                _cleanup_free_ char *norm = NULL;
                r = imgconfig_normalize_reference(name, &norm, err);
                if (r < 0)
                        return err_wrap(err, "invalid archive: image name");
                if (util_strv_push(&tags, norm) < 0)
                        return err_set(err, -ENOMEM, "loading");
        }
        r = desc_blob(jv_get(m, "config"), &cfg_path, cfg_hex, err);
        if (r < 0)
                return err_wrap(err, "config");
        r = read_verified(c, cfg_path, cfg_hex, &cfg_text, err);
        if (r < 0)
                return r;
        layers = jv_get(m, "layers");
        if (jv_type(layers) != JV_ARRAY)
                return err_set(err, -EINVAL, "invalid archive: manifest without layers");
        for (size_t i = 0; i < jv_len(layers); i++) {
                _cleanup_free_ char *lp = NULL;
                char lh[65];
                r = desc_blob(jv_at(layers, i), &lp, lh, err);
                if (r < 0)
                        return r;
                if (util_strv_push(&paths, lp) < 0 || util_strv_push(&blobs, lh) < 0)
                        return err_set(err, -ENOMEM, "loading");
        }
        if (!paths && !(paths = calloc(1, sizeof(*paths))))
                return err_set(err, -ENOMEM, "loading");
        return stage_image(c, cfg_text, paths, blobs, TAKE_PTR(tags), err);
}

static int load_oci(struct load_ctx *c, struct err *err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_jv_ struct jv *index = NULL;
        size_t len;
        int r = read_in(c->rootfd, "index.json", &text, &len, err);

        if (r >= 0)
                r = jv_parse(text, &index, err);
        if (r < 0)
                return err_wrap(err, "invalid archive: index.json");
        return load_oci_index(c, index, 0, err);
}

static int store_all(struct load_ctx *c, struct err *err)
{
        for (size_t i = 0; i < c->n; i++) {
                struct pending *p = &c->v[i];
                char id[65];
                int r = image_create_exact(c->cli, p->config_text, p->config, p->stages,
                                           p->tags ? p->tags[0] : NULL, id, err);

                /* image_create consumed the stages. */
                for (size_t j = 0; j < p->n_stages; j++) {
                        free(p->stages[j]);
                        p->stages[j] = NULL;
                }
                if (r < 0)
                        return r;
                for (char **t = p->tags; t && *t; t++) {
                        if (t != p->tags) {
                                r = image_tag(c->cli, id, *t, err);
                                if (r < 0)
                                        return r;
                        }
                        if (!c->quiet)
                                printf("Loaded image: %s\n", *t);
                }
                events_image(c->cli, id, NULL, NULL, "load");
                if (!c->quiet && (!p->tags || !p->tags[0]))
                        printf("Loaded image ID: sha256:%s\n", id);
        }
        fflush(stdout);
        return 0;
}

static int do_load(const struct cli *cli, int infd, bool quiet, struct err *err)
{
        _cleanup_rmtree_ char *dir = NULL;
        _cleanup_close_ int rootfd = -1;
        _cleanup_(load_ctx_done) struct load_ctx c = {.cli = cli, .quiet = quiet};
        _cleanup_free_ char *tmp = cli_root_path(cli, "tmp");
        struct layer_divert d = {.tmp_dir = tmp, .taken = layer_taken, .ud = &c};
        int r = tmp ? make_tmpdir(cli, "load", &dir, err) : err_set(err, -ENOMEM, "loading");

        if (r < 0)
                return r;
        rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return err_errno(err, "opening %s", dir);
        r = layer_extract_divert(infd, rootfd, &d, err);
        /* Docker's own words stand alone. */
        if (r < 0 && strncmp(err->msg, "Error processing tar file", 25))
                return err_wrap(err, "invalid archive");
        if (r < 0)
                return r;
        util_test_kill_point("load-extracted");
        c.rootfd = rootfd;
        if (faccessat(rootfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                r = load_docker(&c, err);
        else if (faccessat(rootfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                r = load_oci(&c, err);
        else
                r = err_set(err, -EINVAL,
                            "invalid archive: neither manifest.json nor index.json found");
        if (r >= 0 && c.n == 0)
                r = err_set(err, -EINVAL, "invalid archive: no images found");
        if (r < 0)
                return r;
        return store_all(&c, err);
}

struct load_opts {
        char *input;
        bool quiet;
};

static const struct opt_def load_defs[] = {
        {"input", 'i', OPT_STR, offsetof(struct load_opts, input)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct load_opts, quiet)},
        OPT_END,
};

int saveload_cmd_load(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct load_opts o = {0};
        _cleanup_close_ int fd = -1;
        int n = opt_parse(load_defs, argc - 1, argv + 1, false, &o, err);
        int r;

        if (n < 0)
                return cli_usage_error(cli, "load", err, "%s", err->msg);
        if (n > 0)
                return cli_usage_error(cli, "load", err, "\"hawser load\" accepts no arguments.");
        /* Docker's CLI prints what its load stream reports, without the daemon's words. */
        cli_fail_client(cli);
        if (o.input) {
                fd = open(o.input, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return err_errno(err, "open %s", o.input);
        } else if (isatty(STDIN_FILENO)) {
                return err_set(err, -EINVAL, "requested load from stdin, but stdin is empty");
        }
        r = do_load(cli, o.input ? fd : STDIN_FILENO, o.quiet, err);
        return r < 0 ? r : 0;
}
