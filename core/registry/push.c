/* push: every layer the registry lacks (HEAD first; a cross-repository mount from another
 * repository of the same registry that this store pulled from or pushed to; else POST, then
 * the whole blob in one PUT), the config, then the manifest. A layer is pushed as the exact
 * tar hawser keeps: replayed byte for byte from its tar-split record, so its digest is its
 * diff id and a pull of the pushed image gives back the same digests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/sha256.h"
#include "../base/util.h"
#include "../commit.h"
#include "../events.h"
#include "../image.h"
#include "../layer.h"
#include "../opt.h"
#include "../registry.h"
#include "../tarsplit.h"
#include "internal.h"

#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

static int sink_fd(void *ud, const void *buf, size_t n, struct err *err)
{
        return fs_write_all(*(int *)ud, buf, n) < 0 ? err_errno(err, "writing a layer") : 0;
}

/* The layer's tar in an unlinked temporary file: replayed from its record (digest = diff
 * id), or written anew from its tree where it has none (digest computed). */
static int layer_tar(const struct cli *cli, const char *diff_id, int *ret_fd, char hex[65],
                     long long *ret_size, struct err *err)
{
        _cleanup_free_ char *dir = cli_root_path(cli, "layers/%s", diff_id);
        _cleanup_free_ char *tmp = cli_root_path(cli, "tmp");
        _cleanup_close_ int dfd = -1, sfd = -1, lfd = -1, fd = -1;
        struct stat st;
        int r;

        if (!dir || !tmp)
                return err_set(err, -ENOMEM, "pushing layer %.12s", diff_id);
        r = fs_mkdir_p(tmp, 0700, err);
        if (r < 0)
                return r;
        fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || dfd < 0)
                return err_errno(err, "layer sha256:%s", diff_id);
        sfd = openat(dfd, LAYER_SPLIT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        lfd = openat(dfd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lfd < 0 || (sfd < 0 && errno != ENOENT))
                return err_errno(err, "layer sha256:%s", diff_id);
        if (sfd >= 0) {
                r = tarsplit_replay(sfd, lfd, sink_fd, &fd, err);
                memcpy(hex, diff_id, 65);
        } else {
                _cleanup_free_ char *diff = util_printf("%s/diff", dir);
                char *const no_lowers[] = {NULL};
                struct commit_filter f = {0};
                size_t n;
                r = diff ? commit_write_layer(diff, no_lowers, &f, fd, &n, hex, err)
                         : err_set(err, -ENOMEM, "pushing");
        }
        if (r < 0)
                return err_wrap(err, "layer sha256:%s", diff_id);
        if (fstat(fd, &st) < 0)
                return err_errno(err, "layer sha256:%s", diff_id);
        *ret_size = st.st_size;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

struct pusher {
        const struct cli *cli;
        struct reg_session *s;
        struct progress_out {
                FILE *out;
                bool quiet;
        } p;
        const struct image_ref *ref;
};

static void say(const struct pusher *ps, const char *id, const char *what)
{
        if (!ps->p.quiet)
                fprintf(ps->p.out, "%.12s: %s\n", id, what);
}

/* 1 when the registry has the blob. */
static int blob_exists(struct reg_session *s, const char *digest, struct err *err)
{
        _cleanup_free_ char *path = util_printf("/v2/%s/blobs/%s", s->repo, digest);
        struct reg_request req = {.method = "HEAD", .url = path, .body_fd = -1};
        struct reg_response resp = {0};
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "pushing %s", digest);
        r = reg_send(s, &req, &resp, err);
        if (r >= 0)
                r = resp.status == 200;
        if (r >= 0 && (resp.status == 401 || resp.status == 403))
                r = err_set(err, -EACCES, "denied: requested access to the resource is denied");
        reg_response_free(&resp);
        return r;
}

/* POST .../uploads/ (with ?mount=&from= when from is set): 1 when the registry mounted the
 * blob (201), 0 with *ret_location set for an upload (202). */
static int start_upload(struct reg_session *s, const char *digest, const char *from,
                        char **ret_location, struct err *err)
{
        _cleanup_free_ char *path =
                from ? util_printf("/v2/%s/blobs/uploads/?mount=%s&from=%s", s->repo, digest, from)
                     : util_printf("/v2/%s/blobs/uploads/", s->repo);
        struct reg_request req = {.method = "POST", .url = path, .body_fd = -1};
        struct reg_response resp = {0};
        char why[256];
        int r;

        if (!path)
                return err_set(err, -ENOMEM, "pushing %s", digest);
        r = reg_send(s, &req, &resp, err);
        if (r >= 0 && resp.status == 201 && from) {
                r = 1;
        } else if (r >= 0 && from && (resp.status == 401 || resp.status == 403)) {
                /* No pull access to the source (its scope is not in our token): not
                 * mountable from there; a plain upload follows. */
                r = 2;
        } else if (r >= 0 && resp.status == 202 && resp.location) {
                *ret_location = TAKE_PTR(resp.location);
                r = 0;
        } else if (r >= 0) {
                reg_error_text(&resp, why, sizeof(why));
                r = err_set(err, resp.status == 401 || resp.status == 403 ? -EACCES : -EIO, "%s",
                            resp.status == 401 || resp.status == 403
                                    ? "denied: requested access to the resource is denied"
                                    : why);
        }
        reg_response_free(&resp);
        return r;
}

/* The Location with the digest added ('&' when it carries a query already: the reference
 * registry's _state). */
static char *put_url(const struct reg_session *s, const char *location, const char *digest)
{
        const char *sep = strchr(location, '?') ? "&" : "?";

        if (location[0] == '/')
                return util_printf("%s%s%sdigest=%s", s->origin, location, sep, digest);
        return util_printf("%s%sdigest=%s", location, sep, digest);
}

/* Blobs above CHUNK_MIN go up in PATCH chunks of CHUNK_SIZE (the upload protocol's chunked
 * flow, as Docker and skopeo push); smaller ones in the one PUT. */
#define CHUNK_MIN  (8LL << 20)
#define CHUNK_SIZE (32LL << 20)

static char *absolute(const struct reg_session *s, const char *location)
{
        return location[0] == '/' ? util_printf("%s%s", s->origin, location) : strdup(location);
}

/* PATCHes size bytes of fd to *location in order; each answer's Location is the next. */
static int send_chunks(struct reg_session *s, char **location, int fd, long long size,
                       struct err *err)
{
        const char *type = "Content-Type: application/octet-stream";

        for (long long off = 0; off < size; off += CHUNK_SIZE) {
                long long n = size - off < CHUNK_SIZE ? size - off : CHUNK_SIZE;
                _cleanup_free_ char *url = absolute(s, *location);
                char range[64], why[256];
                const char *hdrs[] = {type, range, NULL};
                struct reg_request req = {.method = "PATCH",
                                          .url = url,
                                          .headers = hdrs,
                                          .body_fd = fd,
                                          .body_off = off,
                                          .body_len = (size_t)n};
                struct reg_response resp = {0};
                int r;

                if (!url)
                        return err_set(err, -ENOMEM, "uploading");
                snprintf(range, sizeof(range), "Content-Range: %lld-%lld", off, off + n - 1);
                r = reg_send(s, &req, &resp, err);
                if (r >= 0 && (resp.status != 202 || !resp.location)) {
                        reg_error_text(&resp, why, sizeof(why));
                        r = err_set(err, -EIO, "uploading bytes %lld-%lld: %s", off, off + n - 1,
                                    why);
                }
                if (r >= 0) {
                        free(*location);
                        *location = TAKE_PTR(resp.location);
                }
                reg_response_free(&resp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether the stored image ref names has layer diff_id. */
static bool image_has(const struct cli *cli, const char *ref, const char *diff_id)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **ids = NULL;
        struct err ignored = {0};
        char id[65];

        return image_resolve(cli, ref, id, &ignored) >= 0 &&
               image_load_config(cli, id, &cfg, &ignored) >= 0 &&
               imgconfig_diff_ids(cfg, &ids, &ignored) >= 0 && util_strv_contains(ids, diff_id);
}

/* Mount sources for a layer: other repositories of the same registry holding an image of
 * this store that has the layer (pulled from there or pushed there), at most 3. */
static char **mount_sources(const struct cli *cli, const struct image_ref *ref, const char *diff_id)
{
        _cleanup_strv_ char **refs = NULL;
        char **out = calloc(1, sizeof(char *));
        struct err ignored = {0};

        if (!out || image_list_refs(cli, &refs, &ignored) < 0)
                return out;
        for (char **k = refs; *k && util_strv_len(out) < 3; k++) {
                _cleanup_(image_ref_free) struct image_ref o = {0};
                if (imgconfig_parse_ref(*k, &o, &ignored) < 0 || strcmp(o.domain, ref->domain) ||
                    !strcmp(o.path, ref->path) || util_strv_contains(out, o.path) ||
                    !image_has(cli, *k, diff_id))
                        continue;
                if (util_strv_push(&out, o.path) < 0)
                        break;
        }
        return out;
}

/* Sends one blob (from fd, or the bytes of buf) unless the registry has it; a layer (its
 * diff id given, shown by its first 12 digits) may be mounted from another repository. */
static int push_blob(struct pusher *ps, const char *layer, const char *digest, int fd,
                     const void *buf, long long size, struct err *err)
{
        _cleanup_strv_ char **mount_from = NULL;
        _cleanup_free_ char *location = NULL, *url = NULL;
        const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
        struct reg_response resp = {0};
        struct reg_request req = {.method = "PUT",
                                  .headers = hdrs,
                                  .body_fd = fd,
                                  .body = buf,
                                  .body_len = (size_t)size};
        char why[256];
        int r = blob_exists(ps->s, digest, err);

        if (r != 0) {
                if (r > 0 && layer)
                        say(ps, layer, "Layer already exists");
                return r < 0 ? r : 0;
        }
        if (layer)
                mount_from = mount_sources(ps->cli, ps->ref, layer);
        for (char **m = mount_from; m && *m; m++) {
                free(location);
                location = NULL;
                r = start_upload(ps->s, digest, *m, &location, err);
                if (r == 1) {
                        if (layer) {
                                _cleanup_free_ char *what = util_printf("Mounted from %s", *m);
                                say(ps, layer, what ? what : "Pushed");
                        }
                        return 0;
                }
                if (r < 0)
                        return r;
                if (r == 2) {
                        err_clear(err);
                        continue;
                }
                /* 202: not mountable from there; the next source, else this upload. */
        }
        if (!location) {
                r = start_upload(ps->s, digest, NULL, &location, err);
                if (r < 0)
                        return r;
        }
        /* A big layer goes in PATCH chunks, then a PUT without a body closes the upload. */
        if (fd >= 0 && size > CHUNK_MIN) {
                r = send_chunks(ps->s, &location, fd, size, err);
                if (r < 0)
                        return r;
                req.body_fd = -1;
                req.body = NULL;
                req.body_len = 0;
        }
        url = put_url(ps->s, location, digest);
        if (!url)
                return err_set(err, -ENOMEM, "pushing %s", digest);
        req.url = url;
        r = reg_send(ps->s, &req, &resp, err);
        if (r >= 0 && resp.status != 201) {
                reg_error_text(&resp, why, sizeof(why));
                r = err_set(err, -EIO, "pushing %s: %s", digest, why);
        }
        reg_response_free(&resp);
        if (r >= 0 && layer)
                say(ps, layer, "Pushed");
        return r;
}

static int push_layers(struct pusher *ps, char *const *diff_ids, struct jv *layers, struct err *err)
{
        for (char *const *d = diff_ids; *d; d++)
                say(ps, *d, "Preparing");
        for (char *const *d = diff_ids; *d; d++) {
                _cleanup_close_ int fd = -1;
                _cleanup_free_ char *digest = NULL;
                struct jv *desc;
                char hex[65];
                long long size = 0;
                int r = layer_tar(ps->cli, *d, &fd, hex, &size, err);

                if (r < 0)
                        return r;
                digest = util_printf("sha256:%s", hex);
                if (!digest)
                        return err_set(err, -ENOMEM, "pushing");
                r = push_blob(ps, *d, digest, fd, NULL, size, err);
                if (r < 0)
                        return r;
                desc = jv_new_object();
                jv_set_str(desc, "mediaType", MT_DOCKER_LAYER_TAR);
                jv_set_int(desc, "size", size);
                jv_set_str(desc, "digest", digest);
                jv_append(layers, desc);
        }
        return 0;
}

static int push_tag(const struct cli *cli, const struct image_ref *ref, const char *tag,
                    const struct registry_push_opts *o, struct err *err)
{
        _cleanup_(reg_session_close) struct reg_session s = {0};
        _cleanup_free_ char *local = util_printf("%s:%s", ref->name, tag), *cfg_text = NULL;
        _cleanup_free_ char *cfg_digest = NULL, *mpath = NULL;
        _cleanup_jv_ struct jv *cfg = NULL, *manifest = jv_new_object();
        _cleanup_strv_ char **diff_ids = NULL;
        struct pusher ps = {.cli = cli, .s = &s, .p = {o->out, o->quiet}, .ref = ref};
        struct jv *layers = jv_new_array(), *config = jv_new_object();
        const char *hdrs[] = {"Content-Type: " MT_DOCKER_MANIFEST, NULL};
        struct reg_response resp = {0};
        struct reg_request req = {.method = "PUT", .headers = hdrs, .body_fd = -1};
        const char *text;
        char id[65], mhex[65], why[256];
        size_t cfg_len = 0;
        int r;

        jv_set(manifest, "layers", layers);
        jv_set(manifest, "config", config);
        if (!local)
                return err_set(err, -ENOMEM, "pushing");
        if (image_resolve(cli, local, id, err) < 0)
                return err_set(err, -ENOENT, "An image does not exist locally with the tag: %s",
                               ref->name);
        r = image_config_text(cli, id, &cfg_text, &cfg_len, err);
        if (r >= 0)
                r = jv_parse(cfg_text, &cfg, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &diff_ids, err);
        if (r >= 0)
                r = reg_session_open(ref, "pull,push", &s, err);
        if (r < 0)
                return r;
        r = push_layers(&ps, diff_ids, layers, err);
        cfg_digest = util_printf("sha256:%s", id);
        if (r >= 0)
                r = cfg_digest ? push_blob(&ps, NULL, cfg_digest, -1, cfg_text, (long long)cfg_len,
                                           err)
                               : -ENOMEM;
        if (r < 0)
                return r;
        jv_set_int(manifest, "schemaVersion", 2);
        jv_set_str(manifest, "mediaType", MT_DOCKER_MANIFEST);
        jv_set_str(config, "mediaType", MT_DOCKER_CONFIG);
        jv_set_int(config, "size", (long long)cfg_len);
        jv_set_str(config, "digest", cfg_digest);
        text = jv_to_string(manifest, true);
        mpath = util_printf("/v2/%s/manifests/%s", ref->path, tag);
        if (!mpath || sha256_hex(text, strlen(text), mhex) < 0)
                return err_set(err, -ENOMEM, "pushing the manifest");
        req.url = mpath;
        req.body = text;
        req.body_len = strlen(text);
        r = reg_send(&s, &req, &resp, err);
        if (r >= 0 && resp.status != 201) {
                reg_error_text(&resp, why, sizeof(why));
                r = err_set(err, -EIO, "pushing the manifest of %s: %s", local, why);
        }
        reg_response_free(&resp);
        if (r >= 0) {
                char digest[72];
                snprintf(digest, sizeof(digest), "sha256:%s", mhex);
                r = image_add_digest(cli, id, ref->name, digest, err);
                if (r >= 0)
                        events_image(cli, id, local, ref->name, "push");
                if (r >= 0 && !o->quiet)
                        fprintf(o->out, "%s: digest: %s size: %zu\n", tag, digest, strlen(text));
        }
        return r;
}

int registry_push(const struct cli *cli, const char *name, const struct registry_push_opts *o,
                  struct err *err)
{
        _cleanup_(image_ref_free) struct image_ref ref = {0};
        _cleanup_strv_ char **tags = NULL;
        int r = imgconfig_parse_ref(name, &ref, err);

        if (r < 0)
                return r;
        if (ref.digest)
                return err_set(err, -EINVAL, "cannot push a digest reference");
        if (o->all_tags && ref.tag)
                return err_set(err, -EINVAL, "tag can't be used with --all-tags/-a");
        if (!o->quiet)
                fprintf(o->out, "The push refers to repository [%s/%s]\n", ref.domain, ref.path);
        if (!o->all_tags)
                return push_tag(cli, &ref, ref.tag ? ref.tag : "latest", o, err);
        r = image_tags_of_repo(cli, ref.name, &tags, err);
        if (r >= 0 && !tags[0])
                r = err_set(err, -ENOENT, "An image does not exist locally with the tag: %s",
                            ref.name);
        for (char **t = tags; r >= 0 && *t; t++)
                r = push_tag(cli, &ref, *t, o, err);
        return r;
}
