#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"

/* OCI image config documents, Docker's `--change` instructions, and image references.
 * Pure functions: no filesystem access. */

/* Applies Dockerfile-style change lines (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL,
 * ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR; case-insensitive; a value may hold several
 * lines; blank lines and '#' comments are skipped) to config, the "config" object of an
 * image (Env, Cmd, ...), as `docker import/commit --change` does: JSON-array and shell forms,
 * $VAR expansion from Env for ENV/LABEL/EXPOSE/VOLUME/WORKDIR/USER/STOPSIGNAL, ENTRYPOINT
 * clearing Cmd unless a CMD came first. config is changed in place, also on failure.
 * -EINVAL with Docker's message ("run is not a valid change command", ...). */
int imgconfig_apply_changes(struct jv *config, char *const *changes, struct err *err);

/* Docker's merge of the image's Healthcheck into a container's (or a commit's) config: the
 * image's whole when user has none, else each field user leaves empty or zero (Test,
 * Interval, Timeout, StartPeriod, StartInterval, Retries). */
void imgconfig_merge_health(struct jv *user, const struct jv *image);

/* A new image config document (caller owns it): architecture, optional author, comment,
 * a copy of config, created, one history entry {created, author?, comment}, os, and rootfs
 * with diff_ids ("sha256:<hex>", given as 64-hex strings). author/comment may be NULL. */
struct jv *imgconfig_new(const struct jv *config, char *const *diff_ids, const char *created,
                         const char *author, const char *comment, const char *arch, const char *os);

/* Serialises an image config in canonical key order (known keys in Docker's order, others
 * sorted), compact; the image id is the sha256 of exactly these bytes. *ret is malloc'd. */
int imgconfig_serialize(const struct jv *doc, char **ret, struct err *err);

/* The "config" object in Docker's inspect shape: every container.Config field present
 * (Hostname "", Env null, ...), image values filled in. Caller owns the result. */
struct jv *imgconfig_inspect_config(const struct jv *config);

/* The 64-hex diff ids of the image's rootfs, bottom layer first (strv, malloc'd).
 * -EINVAL when rootfs.diff_ids is missing or malformed. */
int imgconfig_diff_ids(const struct jv *doc, char ***ret, struct err *err);

/* Go's runtime.GOARCH for this machine ("amd64", "arm64", ...). */
const char *imgconfig_host_arch(void);
/* Parses --platform "os[/arch[/variant]]"; ret_os/ret_arch are malloc'd. -EINVAL with
 * Docker's message when malformed or not linux. */
int imgconfig_parse_platform(const char *s, char **ret_os, char **ret_arch, struct err *err);

/* Parses an image reference like Docker's ParseNormalizedNamed: [domain/]path[:tag], lower
 * case path components joined by '.', '_', '__' or '-'. The name is returned in Docker's
 * familiar form (docker.io/library/ stripped), the tag defaults to "latest". ret_name and
 * ret_tag are malloc'd; ret_tag may be NULL, and *ret_had_tag (may be NULL) says whether a
 * tag was written. Digests are not supported. -EINVAL with Docker's message ("invalid
 * reference format", "invalid reference format: repository name (library/Foo) must be
 * lowercase", ...). */
int imgconfig_parse_reference(const char *ref, char **ret_name, char **ret_tag, bool *ret_had_tag,
                              struct err *err);
/* A reference as a registry client needs it: [domain/]path[:tag][@digest]. */
struct image_ref {
        char *domain; /* "docker.io" for Docker Hub */
        char *path;   /* "library/busybox", "ns/app" */
        char *name;   /* familiar form: "busybox", "localhost:5000/ns/app" */
        char *tag;    /* NULL when none was given */
        char *digest; /* "sha256:<64 hex>", or NULL */
};
/* Parses ref with the grammar of imgconfig_parse_reference plus an optional "@sha256:..."
 * digest (with or without a tag). Same errors; *ret is freed with image_ref_free. */
int imgconfig_parse_ref(const char *ref, struct image_ref *ret, struct err *err);
void image_ref_free(struct image_ref *r);

/* "name:tag" in familiar form (malloc'd); same errors as imgconfig_parse_reference. */
int imgconfig_normalize_reference(const char *ref, char **ret, struct err *err);
