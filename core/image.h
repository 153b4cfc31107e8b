#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* The image store under --root:
 *   layers/<diffid-hex>/diff/      extracted layer (overlay-ready: whiteouts are 0/0 char
 *                                  devices, opaque dirs carry trusted.overlay.opaque=y)
 *   layers/<diffid-hex>/size       uncompressed tar size in bytes
 *   images/<id-hex>.json           OCI image config; id = sha256 of these exact bytes
 *   repositories.json              {"name:tag": "sha256:<id>"} changed under images.lock
 */

/* Resolves a reference (name, name:tag, full or short id, "sha256:..." id) to the 64-hex
 * image id. -ENOENT with Docker's "No such image: REF" message when unknown. */
int image_resolve(const struct cli *cli, const char *ref, char ret_id[65], struct err *err);
/* Loads the image config JSON (caller owns *ret). */
int image_load_config(const struct cli *cli, const char *id, struct jv **ret, struct err *err);
/* Overlay lowerdir option value for the image: layer diff dirs joined by ':', topmost first
 * (malloc'd). */
int image_lowerdir(const struct cli *cli, const char *id, char **ret, struct err *err);
/* The "name:tag" references pointing at the image (strv, malloc'd; empty when untagged). */
int image_tags(const struct cli *cli, const char *id, char ***ret, struct err *err);
/* Docker's inspect document for an image (Id, RepoTags, RepoDigests, Parent, Comment, Created,
 * Config, Architecture, Os, Size, GraphDriver, RootFS, Metadata); caller owns *ret. */
int image_inspect(const struct cli *cli, const char *id, struct jv **ret, struct err *err);

/* Commands (see cli.h for the contract). */
int image_cmd_import(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_images(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_tag(struct cli *cli, int argc, char **argv, struct err *err);
int image_cmd_rmi(struct cli *cli, int argc, char **argv, struct err *err);
