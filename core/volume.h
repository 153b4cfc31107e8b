#pragma once
#include <stdbool.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* The local volume store, Docker's layout: --root/volumes/NAME/_data holds the data and
 * NAME/meta.json {Name, CreatedAt, Labels, Anonymous} marks a complete volume. A volume is
 * built under a hidden temporary name and renamed into place, so NAME either is a whole
 * volume or does not exist. Containers reference volumes through their state document's
 * "Mounts" entries {"Type": "volume", "Name": NAME, ...}. */

/* The label Docker 23+ puts on the anonymous volumes it creates for containers. */
#define VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

/* Checks Docker's local volume name rule [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so no "..", no '/').
 * -EINVAL with Docker's text ("\"x/y\" includes invalid characters for a local volume name,
 * only ... If you intended to pass a host directory, use absolute path", or "volume name is
 * too short, ..."); callers add Docker's "create NAME: " prefix where Docker has it. */
int volume_check_name(const char *name, struct err *err);

/* Creates volume NAME (NULL: a random 64-hex name) with labels ("K=V" or "K"; may be NULL)
 * and the local driver's options opts ("type=tmpfs", "device=...", "o=..."; may be NULL;
 * checked as Docker does: -EINVAL "create NAME: invalid option: \"x\"", "missing required
 * option: \"device\"", "quota size requested but no quota support");
 * anonymous volumes are recorded as such and get VOLUME_ANONYMOUS_LABEL. Idempotent: an
 * existing volume is returned as is, and concurrent creators of one name all succeed with
 * one volume. *ret_name (may be NULL) gets the malloc'd name. Returns 1 when this call
 * created it, 0 when it existed. -EINVAL "create NAME: ..." for a bad name. */
int volume_create(const struct cli *cli, const char *name, char *const *labels, char *const *opts,
                  bool anonymous, char **ret_name, struct err *err);

/* The volume's data directory (--root/volumes/NAME/_data), malloc'd. -ENOENT with
 * Docker's "get NAME: no such volume". */
int volume_path(const struct cli *cli, const char *name, char **ret_data_path, struct err *err);

/* The volume as `volume inspect` shows it: {CreatedAt, Driver, Labels, Mountpoint, Name,
 * Options, Scope}; the caller owns *ret_doc. -ENOENT "get NAME: no such volume". */
int volume_inspect(const struct cli *cli, const char *name, struct jv **ret_doc, struct err *err);

/* Full ids of the containers (any state) whose Mounts reference the volume; *ret_ids is a
 * malloc'd, NULL-terminated vector, empty when none. */
int volume_users(const struct cli *cli, const char *name, char ***ret_ids, struct err *err);

/* Removes the volume and its data (fs_rm_rf: no symlink is followed out of it). Refuses a
 * volume any container references, with Docker's -EBUSY "remove NAME: volume is in use -
 * [ID, ...]", with or without force, so `rm -v` must call it after the container's state is
 * gone (and ignore -EBUSY, as Docker does). -ENOENT "get NAME: no such volume" unless force. */
int volume_remove(const struct cli *cli, const char *name, bool force, struct err *err);

/* Takes the volume's lock (flock on its directory), for a caller that must not race a
 * remover or another copy-up (container creation: lock, copy up, mark, save the container,
 * close). Lock order: a volume's lock before any container's (volume_remove lists the
 * containers, which may lock one to refresh a stale state). Returns the fd to close.
 * -ENOENT "get NAME: no such volume". */
int volume_lock(const struct cli *cli, const char *name, struct err *err);

/* 1 when the volume should get the image's content (Docker's copy-up): it was never marked
 * populated and its data directory is empty. 0 otherwise; -ENOENT when there is no such
 * volume, another -errno on a read error. */
int volume_needs_copy_up(const struct cli *cli, const char *name);

/* Marks the volume populated, so no later container copies into it again. */
int volume_mark_populated(const struct cli *cli, const char *name, struct err *err);

/* `volume create|ls|inspect|rm|prune`: argv[0] is "volume" (the cli_cmd_fn contract). */
/* The create/prune guard: creates hold it shared from their first volume until the container
 * that uses it is saved; prune holds it exclusive. Returns the fd to close. */
int volume_guard(const struct cli *cli, bool exclusive, struct err *err);
int volume_cmd(struct cli *cli, int argc, char **argv, struct err *err);
/* Removes the volumes no container uses (all: named ones too, else the anonymous ones) with
 * every label of labels and none of not_labels, printing Docker's "Deleted Volumes:"
 * section; adds the bytes freed to *reclaimed (system prune --volumes). */
int volume_prune(const struct cli *cli, bool all, char *const *labels, char *const *not_labels,
                 long long *reclaimed, struct err *err);
/* Removes the anonymous volumes of a removed container's document (rm -v, --rm, a failed
 * create); volumes still in use stay. */
void volume_release_anonymous(const struct cli *cli, const struct jv *doc);

/* volume_mount.c, the local driver's mounts (the caller holds the volume's lock): a volume
 * with driver options is mounted at its data directory unless it is already (Docker's
 * "error while mounting volume '...': failed to mount local volume: ..." otherwise); a
 * plain volume is left alone. */
/* 1 when the volume was created with driver options (it is mounted while in use), 0 when
 * it is a plain directory; -ENOENT "get NAME: no such volume". */
int volume_has_options(const struct cli *cli, const char *name, struct err *err);
int volume_mount(const struct cli *cli, const char *name, struct err *err);
/* Unmounts it unless a live container other than except_id (may be NULL) still uses it. */
void volume_unmount_unused(const struct cli *cli, const char *name, const char *except_id);
