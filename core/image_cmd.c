/* The image commands: import, images, tag, rmi, image prune; system df's image part. The
 * store is image.c. */
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
#include "base/sha256.h"
#include "base/util.h"
#include "container.h"
#include "events.h"
#include "image.h"
#include "image_internal.h"
#include "build.h"
#include "registry.h"
#include "imgconfig.h"
#include "layer.h"
#include "opt.h"
#include "prune.h"
#include "commands.h"
#include "commit.h"
#include "saveload.h"
#include "table.h"
#include "template.h"

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
        if (norm)
                events_image(cli, id, NULL, norm, "tag");
        events_image(cli, id, NULL, NULL, "import");
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
        char *repo, *tag;  /* NULL when untagged (tag NULL too for a digest-only row) */
        char *digest;      /* the repository's digest ("sha256:..."), or NULL */
        bool intermediate; /* untagged, the parent of another image: shown with -a only */
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
                free(l->rows[i].repo), free(l->rows[i].tag), free(l->rows[i].digest);
        free(l->rows);
        for (size_t i = 0; i < l->nconfigs; i++)
                jv_put(l->configs[i]);
        free(l->configs);
}

/* A row for ref ("name:tag", "name@sha256:..." for a digest-only row, NULL untagged), with
 * the digest of its repository from digests ("name@sha256:..."). */
static int add_row(struct listing *l, const struct image_row *proto, const char *ref,
                   char *const *digests)
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
        row->repo = row->tag = row->digest = NULL;
        if (ref && strchr(ref, '@')) {
                const char *at = strchr(ref, '@');
                row->repo = strndup(ref, (size_t)(at - ref));
                row->digest = strdup(at + 1);
                if (!row->repo || !row->digest) {
                        free(row->repo), free(row->digest);
                        return -ENOMEM;
                }
        } else if (ref) {
                const char *colon = strrchr(ref, ':');
                row->repo = strndup(ref, colon ? (size_t)(colon - ref) : strlen(ref));
                row->tag = strdup(colon ? colon + 1 : "latest");
                if (!row->repo || !row->tag) {
                        free(row->repo), free(row->tag);
                        return -ENOMEM;
                }
                for (char *const *d = digests; d && *d && !row->digest; d++) {
                        const char *at = strchr(*d, '@');
                        if (at && strlen(row->repo) == (size_t)(at - *d) &&
                            !strncmp(*d, row->repo, (size_t)(at - *d)))
                                row->digest = strdup(at + 1);
                }
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
                     const char *id, char *const *parents, struct err *err)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **tags = NULL, **digests = NULL, **ids = NULL;
        struct image_row proto = {0};
        struct err ignored = {0};
        int r;

        /* An image removed while we list is simply not listed. */
        if (imgstore_load_config(s, id, &cfg, &ignored) < 0 ||
            imgconfig_diff_ids(cfg, &ids, &ignored) < 0)
                return 0;
        r = imgstore_tags_of(repos, id, &tags, err);
        if (r >= 0)
                r = imgstore_digests_of(repos, id, &digests, err);
        if (r < 0)
                return r;
        memcpy(proto.id, id, 65);
        proto.created_str = jv_get_str(cfg, "created");
        if (!proto.created_str || util_parse_time(proto.created_str, &proto.created) < 0)
                proto.created = 0;
        proto.size = imgstore_size(s, ids);
        proto.labels = jv_path(cfg, "config.Labels");
        for (char **t = tags; r >= 0 && *t; t++)
                r = add_row(l, &proto, *t, digests);
        /* A repository known only by digest gets a row of its own, tag <none> (Docker). */
        for (char **d = digests; r >= 0 && *d; d++) {
                size_t n = strcspn(*d, "@");
                bool tagged = false;
                for (char **t = tags; *t && !tagged; t++)
                        tagged = !strncmp(*t, *d, n) && (*t)[n] == ':';
                if (!tagged)
                        r = add_row(l, &proto, *d, NULL);
        }
        if (r >= 0 && !tags[0] && !digests[0]) {
                char full[72];
                snprintf(full, sizeof(full), "sha256:%s", id);
                proto.intermediate = util_strv_contains(parents, full);
                r = add_row(l, &proto, NULL, NULL);
        }
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
        _cleanup_strv_ char **ids = NULL, **parents = calloc(1, sizeof(char *));
        int r = parents ? imgstore_repos_load(s, &repos, err) : -ENOMEM;

        if (r >= 0)
                r = imgstore_list_ids(s, &ids, err);
        /* Which images are some other image's parent (a build's intermediate steps). */
        for (char **p = ids; r >= 0 && p && *p; p++) {
                _cleanup_jv_ struct jv *cfg = NULL;
                struct err ignored = {0};
                const char *parent;
                if (imgstore_load_config(s, *p, &cfg, &ignored) >= 0 &&
                    (parent = jv_get_str(cfg, "parent")) && util_strv_push(&parents, parent) < 0)
                        r = err_set(err, -ENOMEM, "listing images");
        }
        for (char **p = ids; r >= 0 && p && *p; p++)
                r = add_image(l, s, repos, *p, parents, err);
        if (r >= 0 && l->n)
                qsort(l->rows, l->n, sizeof(*l->rows), cmp_rows);
        return r;
}

struct filters {
        bool all;     /* images -a: intermediate images too */
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
        int r = imgstore_resolve(s, ref, id, err);

        if (r >= 0)
                r = imgstore_load_config(s, id, &cfg, err);
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
        full = util_printf("%s:%s", r->repo, r->tag ? r->tag : "<none>");
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
        if (r->intermediate && !f->all)
                return false;
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
        jv_set_str(o, "Digest", r->digest ? r->digest : "<none>");
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
                                   row->tag ? row->tag : "<none>",
                                   o->digests ? (row->digest ? row->digest : "<none>") : "",
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
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_(listing_free) struct listing l = {0};
        _cleanup_(filters_free) struct filters f = {.dangling = -1, .all = o->all};
        int r = imgstore_open(cli, false, &s, err);

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
                return err_client(
                        err, -EINVAL,
                        "Error parsing reference: \"%s\" is not a valid repository/tag: %s",
                        argv[2], perr.msg);
        if (image_resolve(cli, argv[1], id, err) < 0 || image_tag(cli, id, norm, err) < 0)
                return -err->code;
        events_image(cli, id, NULL, norm, "tag");
        return 0;
}

/* ---- rmi ---- */

struct rmi {
        const struct cli *cli;
        const struct store *s;
        bool force;
        bool no_prune;   /* rmi --no-prune: untagged parents stay */
        bool prune;      /* image prune words its lines in lower case */
        long long freed; /* content size of the layers removed */
        char id[65];
        char **tags;
        char **digests; /* "name@sha256:..." references */
        char *running;  /* a running container using the image, by name */
        char *stopped;  /* a stopped one */
};

static void rmi_free(struct rmi *d)
{
        util_strv_free(d->tags);
        util_strv_free(d->digests);
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
        int r = imgstore_untag_locked(d->s, norm, err);
        char **list = strchr(norm, '@') ? d->digests : d->tags;

        if (r < 0)
                return r;
        events_image(d->cli, d->id, NULL, NULL, "untag");
        printf("%s: %s\n", d->prune ? "untagged" : "Untagged", norm);
        for (char **p = list; *p; p++)
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

static int delete_image(struct rmi *d, struct err *err);

/* Whether some stored image names id as its parent. */
static bool has_child(const struct store *s, const char *id)
{
        _cleanup_strv_ char **ids = NULL;
        struct err ignored = {0};
        char want[72];

        snprintf(want, sizeof(want), "sha256:%s", id);
        if (imgstore_list_ids(s, &ids, &ignored) < 0)
                return true;
        for (char **p = ids; *p; p++) {
                _cleanup_jv_ struct jv *cfg = NULL;
                const char *parent;
                if (imgstore_load_config(s, *p, &cfg, &ignored) < 0)
                        continue;
                parent = jv_get_str(cfg, "parent");
                if (parent && !strcmp(parent, want))
                        return true;
        }
        return false;
}

/* Docker's rmi also deletes the untagged parents (a build's intermediate images) that
 * nothing else holds: no reference, no other child, no container. */
static int prune_parent(const struct rmi *child, const char *parent, struct err *err)
{
        _cleanup_(rmi_free) struct rmi d = {
                .cli = child->cli, .s = child->s, .prune = child->prune};
        _cleanup_jv_ struct jv *repos = NULL;
        _cleanup_strv_ char **users = NULL;
        struct err ignored = {0};
        const char *hex = !strncmp(parent, "sha256:", 7) ? parent + 7 : parent;

        if (strlen(hex) != 64 || imgstore_repos_load(child->s, &repos, &ignored) < 0)
                return 0;
        memcpy(d.id, hex, 65);
        if (imgstore_tags_of(repos, d.id, &d.tags, &ignored) < 0 ||
            imgstore_digests_of(repos, d.id, &d.digests, &ignored) < 0 || d.tags[0] ||
            d.digests[0] || has_child(child->s, d.id) ||
            container_image_users(child->cli, d.id, &users, &ignored) < 0 || (users && users[0]))
                return 0;
        {
                _cleanup_free_ char *cfg = imgstore_config_path(child->s, d.id);
                if (!cfg || access(cfg, F_OK) < 0)
                        return 0;
        }
        return delete_image(&d, err);
}

static int delete_image(struct rmi *d, struct err *err)
{
        _cleanup_free_ char *cfg_path = imgstore_config_path(d->s, d->id);
        _cleanup_free_ char *meta = imgstore_meta_path(d->s, d->id);
        _cleanup_jv_ struct jv *cfg = NULL;
        _cleanup_strv_ char **diff_ids = NULL, **removed = calloc(1, sizeof(char *));
        _cleanup_free_ long long *sizes = NULL;
        int r;

        if (!cfg_path || !meta || !removed)
                return err_set(err, -ENOMEM, "deleting image %.12s", d->id);
        r = imgstore_load_config(d->s, d->id, &cfg, err);
        if (r >= 0)
                r = imgconfig_diff_ids(cfg, &diff_ids, err);
        while (r >= 0 && d->tags[0])
                r = untag(d, d->tags[0], err);
        while (r >= 0 && d->digests[0])
                r = untag(d, d->digests[0], err);
        if (r < 0)
                return r;
        if (unlink(cfg_path) < 0 && errno != ENOENT)
                return err_errno(err, "deleting image %.12s", d->id);
        (void)unlink(meta);
        events_image(d->cli, d->id, NULL, NULL, "delete");
        printf("%s: sha256:%s\n", d->prune ? "deleted" : "Deleted", d->id);
        sizes = calloc(util_strv_len(diff_ids) + 1, sizeof(*sizes));
        for (size_t i = 0; sizes && diff_ids && diff_ids[i]; i++)
                sizes[i] = layers_size(d->s, (char *[]){diff_ids[i], NULL});
        r = imgstore_gc_layers(d->s, diff_ids, d->id, &removed, err);
        for (size_t i = 0; sizes && diff_ids && diff_ids[i]; i++)
                if (util_strv_contains(removed, diff_ids[i]))
                        d->freed += sizes[i];
        print_removed_layers(d, diff_ids, removed);
        if (r >= 0 && !d->no_prune && jv_get_str(cfg, "parent"))
                r = prune_parent(d, jv_get_str(cfg, "parent"), err);
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

/* name@sha256:...: that reference goes; the image with it when it has no other. */
static int rmi_by_digest(struct rmi *d, const char *ref, struct err *err)
{
        _cleanup_(image_ref_free) struct image_ref pr = {0};
        _cleanup_free_ char *key = NULL;
        int r = imgconfig_parse_ref(ref, &pr, err);

        if (r < 0)
                return r;
        key = util_printf("%s@%s", pr.name, pr.digest);
        if (!key)
                return err_set(err, -ENOMEM, "removing %s", ref);
        r = untag(d, key, err);
        if (r < 0 || d->tags[0] || d->digests[0])
                return r;
        return delete_helper(d, true, err);
}

static int rmi_by_name(struct rmi *d, const char *ref, struct err *err)
{
        _cleanup_free_ char *norm = NULL;
        int r;

        if (strchr(ref, '@'))
                return rmi_by_digest(d, ref, err);
        r = imgconfig_normalize_reference(ref, &norm, err);
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
                   bool no_prune, long long *prune_freed, struct err *err)
{
        _cleanup_(rmi_free) struct rmi d = {.cli = cli,
                                            .s = s,
                                            .force = force,
                                            .no_prune = no_prune,
                                            .prune = prune_freed != NULL};
        _cleanup_jv_ struct jv *repos = NULL;
        _cleanup_close_ int lock = imgstore_lock(s, err);
        int r = lock;

        if (r >= 0)
                r = imgstore_resolve(s, ref, d.id, err);
        if (r >= 0)
                r = imgstore_repos_load(s, &repos, err);
        if (r >= 0)
                r = imgstore_tags_of(repos, d.id, &d.tags, err);
        if (r >= 0)
                r = imgstore_digests_of(repos, d.id, &d.digests, err);
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
        _cleanup_(imgstore_free) struct store s = {0};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r = 0;

        if (n < 0)
                return cli_usage_error(cli, "rmi", err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, "rmi", err,
                                       "\"hawser rmi\" requires at least 1 argument.");
        if (imgstore_open(cli, false, &s, err) < 0)
                return -err->code;
        for (int i = 1; i <= n; i++) {
                struct err e = {0};

                if (rmi_one(cli, &s, argv[i], o.force, o.no_prune, NULL, &e) >= 0)
                        continue;
                /* Docker reports every failure, one per line, after trying them all. */
                if (r < 0)
                        cli_print_daemon_error(err->msg);
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
                *sum += imgstore_size(s, (char *[]){*p, NULL});
        }
        return 0;
}

int image_disk_usage(const struct cli *cli, struct image_usage *ret, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_strv_ char **ids = NULL, **all = NULL, **used = NULL;
        struct image_usage u = {0};
        long long in_use = 0;
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = imgstore_list_ids(&s, &ids, err);
        for (char **id = ids; r >= 0 && id && *id; id++) {
                _cleanup_strv_ char **users = NULL, **diff_ids = NULL;
                _cleanup_jv_ struct jv *cfg = NULL;
                struct err e = {0};

                if (imgstore_load_config(&s, *id, &cfg, &e) < 0 ||
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

/* The diff ids of image id; NULL when its config cannot be read. */
static char **diff_ids_of(const struct store *s, const char *id)
{
        _cleanup_jv_ struct jv *cfg = NULL;
        char **ids = NULL;
        struct err e = {0};

        if (imgstore_load_config(s, id, &cfg, &e) < 0 || imgconfig_diff_ids(cfg, &ids, &e) < 0)
                return NULL;
        return ids;
}

int image_df_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        struct listing l = {0};
        struct jv **rows = NULL;
        int64_t now = util_now_ns();
        int r = imgstore_open(cli, false, &s, err);

        if (r >= 0)
                r = load_listing(&s, &l, err);
        rows = r >= 0 ? calloc(l.n + 1, sizeof(*rows)) : NULL;
        if (r >= 0 && !rows)
                r = err_set(err, -ENOMEM, "listing images");
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                const struct image_row *row = &l.rows[i];
                _cleanup_strv_ char **mine = diff_ids_of(&s, row->id), **others = NULL,
                                    **users = NULL;
                long long shared = 0;
                char buf[32];
                struct err e = {0};
                /* A layer another image also has is shared (Docker's SharedSize). */
                for (size_t j = 0; j < l.n; j++) {
                        _cleanup_strv_ char **theirs = NULL;
                        if (!strcmp(l.rows[j].id, row->id) ||
                            util_strv_contains(others, l.rows[j].id))
                                continue;
                        util_strv_push(&others, l.rows[j].id);
                        theirs = diff_ids_of(&s, l.rows[j].id);
                        for (char **d = mine; d && *d; d++)
                                if (util_strv_contains(theirs, *d) && (*d)[0]) {
                                        shared += imgstore_size(&s, (char *[]){*d, NULL});
                                        (*d)[0] = '\0'; /* counted once */
                                }
                }
                rows[i] = row_ctx(row, false, now);
                util_human_size_prec(shared, 3, buf, sizeof(buf));
                jv_set_str(rows[i], "SharedSize", buf);
                util_human_size_prec(row->size - shared, 3, buf, sizeof(buf));
                jv_set_str(rows[i], "UniqueSize", buf);
                container_image_users(cli, row->id, &users, &e);
                snprintf(buf, sizeof(buf), "%zu", util_strv_len(users));
                jv_set_str(rows[i], "Containers", buf);
        }
        if (r >= 0) {
                *ret = rows;
                *ret_n = l.n;
        } else {
                for (size_t i = 0; rows && i < l.n; i++)
                        jv_put(rows[i]);
                free(rows);
        }
        listing_free(&l);
        return r;
}

/* ---- image prune ---- */

static bool prune_candidate(const struct cli *cli, const struct store *s, const char *id, bool all,
                            const struct prune_filter *f)
{
        _cleanup_strv_ char **tags = NULL, **users = NULL;
        _cleanup_jv_ struct jv *repos = NULL, *cfg = NULL;
        struct err e = {0};
        int64_t created = 0;

        if (imgstore_repos_load(s, &repos, &e) < 0 || imgstore_tags_of(repos, id, &tags, &e) < 0 ||
            container_image_users(cli, id, &users, &e) < 0)
                return false;
        /* An image with children (a build's intermediate step) goes with its last child. */
        if ((users && users[0]) || !(all || !tags || !tags[0]) || has_child(s, id))
                return false;
        if (!f)
                return true;
        if (imgstore_load_config(s, id, &cfg, &e) < 0)
                return false;
        if (jv_get_str(cfg, "created"))
                util_parse_time(jv_get_str(cfg, "created"), &created);
        return prune_filter_match(f, jv_path(cfg, "config.Labels"), created);
}

int image_prune(struct cli *cli, bool all, const struct prune_filter *f, long long *reclaimed,
                struct err *err)
{
        _cleanup_(imgstore_free) struct store s = {0};
        _cleanup_strv_ char **ids = NULL;
        bool header = false;

        /* dangling=false is -a (Docker's). */
        if (f && f->dangling == 0)
                all = true;
        if (imgstore_open(cli, false, &s, err) < 0 || imgstore_list_ids(&s, &ids, err) < 0)
                return -err->code;
        for (char **id = ids; id && *id; id++) {
                long long sz = 0;
                struct err e = {0};
                if (!prune_candidate(cli, &s, *id, all, f))
                        continue;
                if (!header)
                        printf("Deleted Images:\n");
                header = true;
                fflush(stdout);
                if (rmi_one(cli, &s, *id, true, false, &sz, &e) < 0) {
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                        continue;
                }
                *reclaimed += sz;
        }
        if (header)
                printf("\n");
        return 0;
}

int image_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct prune_filter f = {0};
        long long total = 0;
        bool all = false;
        int r = prune_begin(cli, "image prune", argc, argv, " until label label! dangling ",
                            "WARNING! This will remove all dangling images.",
                            "WARNING! This will remove all images without at least one "
                            "container associated to them.",
                            &all, &f, err);

        if (r <= 0)
                return r;
        r = image_prune(cli, all, &f, &total, err);
        prune_filter_free(&f);
        if (r >= 0)
                prune_print_total(total);
        return r < 0 ? r : 0;
}

int image_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"prune", image_cmd_prune},     {"ls", image_cmd_images},
                {"list", image_cmd_images},     {"rm", image_cmd_rmi},
                {"remove", image_cmd_rmi},      {"tag", image_cmd_tag},
                {"import", image_cmd_import},   {"pull", registry_cmd_pull},
                {"push", registry_cmd_push},    {"build", build_cmd_build},
                {"inspect", image_cmd_inspect}, {"history", commit_cmd_history},
                {"load", saveload_cmd_load},    {"save", saveload_cmd_save},
        };

        return cli_dispatch(cli, "image", sub, sizeof(sub) / sizeof(sub[0]),
                            "build, history, import, inspect, load, ls, prune, pull, push, rm, "
                            "save, tag",
                            argc, argv, err);
}
