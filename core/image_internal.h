#pragma once
/* Inside the image code only (image.c, the store, and image_cmd.c, its commands): the store's
 * parts the commands share. Everyone else uses image.h. */
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

struct store {
        const struct cli *cli;
        char *root;
        char *images; /* images/<id>.json, images/<id>.meta */
        char *layers;
        char *tmp;
        char *repos; /* repositories.json */
        char *lock;  /* images.lock */
};

void imgstore_free(struct store *s);
int imgstore_open(const struct cli *cli, bool create, struct store *s, struct err *err);
int imgstore_lock(const struct store *s, struct err *err);
char *imgstore_config_path(const struct store *s, const char *id);
char *imgstore_meta_path(const struct store *s, const char *id);
int imgstore_repos_load(const struct store *s, struct jv **ret, struct err *err);
int imgstore_list_ids(const struct store *s, char ***ret, struct err *err);
int imgstore_load_config(const struct store *s, const char *id, struct jv **ret, struct err *err);
int imgstore_resolve(const struct store *s, const char *ref, char ret_id[65], struct err *err);
/* The "name:tag" keys of repositories.json pointing at id; imgstore_digests_of the
 * "name@sha256:..." ones (RepoDigests). */
int imgstore_tags_of(const struct jv *repos, const char *id, char ***ret, struct err *err);
int imgstore_digests_of(const struct jv *repos, const char *id, char ***ret, struct err *err);
long long imgstore_size(const struct store *s, char *const *ids);
int imgstore_untag_locked(const struct store *s, const char *norm, struct err *err);
int imgstore_gc_layers(const struct store *s, char *const *diff_ids, const char *skip_id,
                       char ***removed, struct err *err);
