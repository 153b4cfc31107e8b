#pragma once

#include "base/err.h"
#include "cli.h"

/* `save` and `load`: moving images as archives.
 *
 * save writes Docker 25+'s layout: oci-layout, index.json (one manifest descriptor per tag,
 * annotated with io.containerd.image.name and org.opencontainers.image.ref.name),
 * blobs/sha256/<hex> for OCI manifests, configs and uncompressed layer tars, manifest.json
 * and repositories. Layer tars are regenerated from the stored layer trees (overlay
 * whiteouts and opaque directories written back as .wh. entries); when a regenerated tar
 * is not byte-identical to the one the layer came from, the saved config's rootfs.diff_ids
 * name the regenerated tars, so that image gets a new id when loaded back.
 *
 * load reads that layout and the pre-25 Docker layout through manifest.json, or a plain
 * OCI layout through index.json; layers may be compressed. Every digest is checked (config
 * bytes, OCI blobs, each layer's uncompressed sha256 against the config's diff_ids), paths
 * leaving the archive are refused, and on failure nothing is stored: all layers are staged
 * before the first image is created. */

/* Commands (see cli.h for the contract). */
int saveload_cmd_save(struct cli *cli, int argc, char **argv, struct err *err);
int saveload_cmd_load(struct cli *cli, int argc, char **argv, struct err *err);
