#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* The image store under --root:
 *   layers/<diffid-hex>/diff/      extracted layer (overlay-ready: whiteouts are 0/0 char
 *                                  devices, opaque dirs carry trusted.overlay.opaque=y)
 *   layers/<diffid-hex>/size       uncompressed tar size in bytes
 *   layers/<diffid-hex>/content-size  apparent size of the extracted files (Docker's Size)
 *   layers/<diffid-hex>/diff-id    the hex diff id again (written while staging)
 *   images/<id-hex>.json           OCI image config; id = sha256 of these exact bytes
 *   images/<id-hex>.meta           {"LastTagTime": "..."}
 *   repositories.json              {"name:tag": "sha256:<id>"} changed under images.lock
 *   tmp/                           staging and removal area (same filesystem, for rename)
 * Layers are shared between images and removed when no image config lists them.
 */

/* Resolves a reference (name, name:tag, full or short id, "sha256:..." id) to the 64-hex
 * image id: names first, then unique id prefixes, as Docker. -ENOENT with Docker's
 * "No such image: REF" message (REF normalised, "busybox" -> "busybox:latest") when unknown;
 * -EINVAL for a malformed reference or an ambiguous id prefix. */
int image_resolve(const struct cli *cli, const char *ref, char ret_id[65], struct err *err);
/* Loads the image config JSON (caller owns *ret). */
int image_load_config(const struct cli *cli, const char *id, struct jv **ret, struct err *err);
/* Every reference the store knows ("name:tag" and "name@sha256:..."); caller frees. */
int image_list_refs(const struct cli *cli, char ***ret, struct err *err);
/* The tags of repository name (familiar form), e.g. {"latest", "1.36"}; caller frees. */
int image_tags_of_repo(const struct cli *cli, const char *name, char ***ret, struct err *err);
/* The image config's bytes exactly as stored (their sha256 is the id; caller frees). */
int image_config_text(const struct cli *cli, const char *id, char **ret, size_t *ret_len,
                      struct err *err);
/* Overlay lowerdir option value for the image: layer diff dirs joined by ':', topmost first
 * (malloc'd). */
int image_lowerdir(const struct cli *cli, const char *id, char **ret, struct err *err);
/* The "name:tag" references pointing at the image (strv, malloc'd; empty when untagged). */
int image_tags(const struct cli *cli, const char *id, char ***ret, struct err *err);
/* Docker's inspect document for an image (Id, RepoTags, RepoDigests, Parent, Comment, Created,
 * Config, Architecture, Os, Size, GraphDriver, RootFS, Metadata); caller owns *ret. */
int image_inspect(const struct cli *cli, const char *id, struct jv **ret, struct err *err);

/* Whether the store holds the layer diff_id (a hint: image_create checks again under the
 * store lock that every layer of a config is present). */
bool image_has_layer(const struct cli *cli, const char *diff_id);

/* Extracts a layer tarball (plain, gzip, bzip2, xz, lzma or zstd) read from fd into a staging
 * directory under --root/tmp; *ret_stage (malloc'd) goes to image_create, which consumes it.
 * ret_diff_id (may be NULL) receives the 64-hex diff id. Nothing is left on failure. */
int image_stage_layer(const struct cli *cli, int fd, char **ret_stage, char ret_diff_id[65],
                      struct err *err);
/* Stores an image under images.lock: moves the staged layers (NULL-terminated, may be NULL)
 * into the layer store (a layer already stored is kept and the stage dropped), checks that
 * every rootfs.diff_id of config is present, writes the config (canonical bytes; the id is
 * their sha256) and, when ref is not NULL, tags it. Stages are consumed also on failure,
 * and layers this call added are removed again. */
int image_create(const struct cli *cli, const struct jv *config, char *const *stages,
                 const char *ref, char ret_id[65], struct err *err);
/* image_create with the config's bytes as they came (an image loaded from an archive keeps
 * its id: the sha256 of exactly those bytes); config is text parsed. */
int image_create_exact(const struct cli *cli, const char *text, const struct jv *config,
                       char *const *stages, const char *ref, char ret_id[65], struct err *err);
/* Records name@digest (the manifest digest a pull or push saw; name in familiar form) as a
 * reference of the stored image id: RepoDigests, and resolvable as "name@digest". */
int image_add_digest(const struct cli *cli, const char *id, const char *name, const char *digest,
                     struct err *err);
/* Points the reference ref (validated, normalised to "name:tag") at the stored image id. */
int image_tag(const struct cli *cli, const char *id, const char *ref, struct err *err);

/* Removes the layers named in an overlay lowerdir value that no image and no container uses
 * any more (after a container whose image was force-removed goes). */
int image_release_layers(const struct cli *cli, const char *lowerdir, struct err *err);

/* Commands (see cli.h for the contract). */
int image_cmd_import(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_images(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_tag(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_rmi(struct cli *cli, int argc, char **argv, struct err *err);
/* `image prune [-a] [-f]`: dangling (or, with -a, all) images no container uses. */
int image_cmd_prune(struct cli *cli, int argc, char **argv, struct err *err);
struct prune_filter;
/* Removes the images no container uses (all: tagged ones too; else the dangling ones) that
 * pass f (may be NULL), printing Docker's "Deleted Images:" section; adds the bytes freed to
 * *reclaimed. */
int image_prune(struct cli *cli, bool all, const struct prune_filter *f, long long *reclaimed,
                struct err *err);
/* `image SUBCOMMAND`: prune, ls, rm, tag, import. */
int image_cmd(struct cli *cli, int argc, char **argv, struct err *err);

/* What `system df` shows of images: how many, how many a container uses, the content size of
 * every stored layer counted once, and what removing the unused images would free. */
struct image_usage {
        long long count, active, size, reclaimable;
};
int image_disk_usage(const struct cli *cli, struct image_usage *ret, struct err *err);
/* `system df -v`'s image rows, as `images` lists them, with Docker's SharedSize (the layers
 * another image also has), UniqueSize and Containers (how many use it); *ret is a malloc'd
 * array of *ret_n owned documents. */
int image_df_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err);
/* Moves staged layers into the layer store without making an image (a failed pull keeps
 * the layers it finished for the next one). Stages are consumed also on failure. */
int image_keep_layers(const struct cli *cli, char *const *stages, struct err *err);
/* Removes what killed load, import and commit commands left in --root/tmp (their owners
 * have ended), and layers no image lists (kept by failed pulls); system prune. */
int image_sweep(const struct cli *cli, struct err *err);
