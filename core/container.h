#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/json.h"
#include "cli.h"

/* A container's state lives in --root/containers/<id>/state.json, a document shaped like
 * Docker's `inspect` output (Id, Name "/name", Created, Path, Args, State{...}, Image
 * "sha256:<id>", Config{...}, HostConfig{...}, ...) plus a "Hawser" object with private
 * fields. Names are reserved atomically as symlinks --root/containers/by-name/NAME -> id. */
struct container {
        char id[65];
        char *dir;        /* --root/containers/<id> */
        struct jv *doc;   /* the state document */
        bool unreadable;  /* state.json is missing its shape: doc is a stand-in (statedoc.h) */
        char cgroup[256]; /* its cgroup name (cgroup.h): hawser/<id> or <CgroupParent>/<id> */
};

/* The container store: load, save, lock, list and find, and names. A leaf above core/base:
 * reads never write, and nothing here stops, tears down or removes (core/teardown.h does).
 * A state read here may be stale (a monitor killed since): container_is_live says. */

/* Finds a container by full id, unique id prefix, or name. -ENOENT with Docker's
 * "No such container: REF"; caller frees with container_free. */
int container_find(const struct cli *cli, const char *ref, struct container **ret, struct err *err);
/* Also finds a container whose state cannot be read (c->unreadable, a stand-in document),
 * which container_find refuses with the reason: for ps, inspect and rm. */
int container_find_any(const struct cli *cli, const char *ref, struct container **ret,
                       struct err *err);
/* Pid of the container's monitor found by the process holding its attach socket, for a
 * container whose state no longer says (0: none alive). */
pid_t container_monitor_by_socket(const struct cli *cli, const char *id);
/* All containers (NULL-terminated array), newest first. */
int container_list(const struct cli *cli, struct container ***ret, struct err *err);
void container_free(struct container *c);
void container_list_free(struct container **v);
/* Short ids of containers (any state) that use the image id (strv; empty if none). */
int container_image_users(const struct cli *cli, const char *image_id, char ***ret,
                          struct err *err);

/* Loads one container by full id (no name lookup, no refresh). */
int container_load(const struct cli *cli, const char *id, struct container **ret, struct err *err);
/* Writes the state document atomically. Callers that read-modify-write hold the lock. */
int container_save(const struct container *c, struct err *err);
/* Takes the container's flock (blocking); returns the lock fd to close. */
int container_lock(const struct container *c, struct err *err);
/* The same lock without waiting: -EWOULDBLOCK while another process holds it. */
int container_trylock(const struct container *c, struct err *err);
/* Re-reads the state document from disk (after taking the lock). */
int container_reload(struct container *c, struct err *err);
/* The name without the leading '/'. */
const char *container_name(const struct container *c);
/* State.Status: "created", "running", "paused", "exited", "dead", "removing". */
const char *container_status(const struct container *c);
/* Whether the state says running or paused. */
bool container_is_running(const struct container *c);
/* Whether it says so and its monitor is alive: a stale state (monitor killed) is not live. */
bool container_is_live(const struct container *c);
/* Sets c->cgroup from HostConfig.CgroupParent (done by container_load; create calls it). */
void container_set_cgroup(struct container *c);
/* Whether it has a PID namespace of its own (not --pid host or container:X). */
bool container_own_pidns(const struct container *c);
/* Whether its monitor waits to start it again (a restart policy). */
bool container_is_restarting(const struct container *c);
/* The user stopped or killed it (stop, kill): its restart policy must not start it again.
 * Set by those commands, cleared by start. */
void container_set_user_stop(const struct container *c, bool stopped);
bool container_user_stopped(const struct container *c);
/* Whether its restart policy asks for it to run again after an exit with code (the monitor,
 * never after a user stop), or at boot (start --restart-policy-all: Docker's rules when its
 * daemon starts: always even after a user stop, unless-stopped unless stopped by the user,
 * on-failure after a non-zero code within the retry count; never a container not started
 * before). */
bool container_restart_due(const struct container *c, int code, bool at_boot);
/* Validates a name with Docker's rule [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed). */
int container_check_name(const char *name, struct err *err);
/* Reserves NAME for id atomically (by-name symlink). -EEXIST with Docker's conflict message. */
int container_reserve_name(const struct cli *cli, const char *name, const char *id,
                           struct err *err);
/* Releases NAME if it still points at id. */
void container_release_name(const struct cli *cli, const char *name, const char *id);
/* Marks the container exited with code (monitor gone or child reaped) and saves it. */
int container_mark_exited(struct container *c, int exit_code, const char *error, struct err *err);
/* Whether any container's overlay stack includes the layer with this diff id. */
bool container_uses_layer(const struct cli *cli, const char *diff_id);
/* A Docker-style random name ("eager_turing"). */
void container_random_name(char *out, size_t len);
