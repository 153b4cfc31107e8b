#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "create.h"
#include "mountspec.h"
#include "volume.h"
#include "teardown.h"

/* The container's Mounts array, shaped like Docker's inspect output, plus "Anonymous" and
 * "NoCopy" that hawser keeps for itself (rm -v and copy-up). */

static bool has_destination(const struct jv *mounts, const char *dst)
{
        for (size_t i = 0; i < jv_len(mounts); i++)
                if (!strcmp(jv_get_str(jv_at(mounts, i), "Destination") ?: "", dst))
                        return true;
        return false;
}

/* The volume a recreated container takes over at target (run_opts.anonymous_reuse), when it
 * still exists; NULL otherwise. */
static const char *reused(const struct cli *cli, const struct run_opts *ro, const char *target)
{
        size_t len = strlen(target);

        for (char **p = ro ? ro->anonymous_reuse : NULL; p && *p; p++) {
                _cleanup_jv_ struct jv *doc = NULL;
                struct err e = {0};
                if (strncmp(*p, target, len) || (*p)[len] != '=')
                        continue;
                if (volume_inspect(cli, *p + len + 1, &doc, &e) >= 0)
                        return *p + len + 1;
        }
        return NULL;
}

static int add_volume(const struct cli *cli, const struct run_opts *ro, const struct mount_spec *m,
                      struct jv *o, struct err *err)
{
        _cleanup_free_ char *name = NULL, *path = NULL;
        const char *again = m->source ? NULL : reused(cli, ro, m->target);
        int r = volume_create(cli, m->source ?: again, m->volume_labels, m->driver_opts,
                              m->source == NULL && !again, &name, err);

        if (r >= 0)
                r = volume_path(cli, name, &path, err);
        if (r < 0)
                return r;
        jv_set_str(o, "Type", "volume");
        jv_set_str(o, "Name", name);
        jv_set_str(o, "Source", path);
        jv_set_str(o, "Driver", "local");
        jv_set_bool(o, "Anonymous", m->source == NULL);
        return 0;
}

static int add_spec(const struct cli *cli, const struct run_opts *ro, const struct mount_spec *m,
                    struct jv *mounts, struct err *err)
{
        struct jv *o = jv_new_object();
        int r = 0;

        if (has_destination(mounts, m->target)) {
                jv_put(o);
                return err_set(err, -EINVAL, "Duplicate mount point: %s", m->target);
        }
        if (m->type == MOUNT_BIND) {
                jv_set_str(o, "Type", "bind");
                jv_set_str(o, "Source", m->source);
                if (m->create_source && access(m->source, F_OK) < 0)
                        r = fs_mkdir_p(m->source, 0755, err);
        } else if (m->type == MOUNT_VOLUME) {
                r = add_volume(cli, ro, m, o, err);
        } else {
                jv_set_str(o, "Type", "tmpfs");
                jv_set_str(o, "Source", "");
                jv_set_str(o, "TmpfsOptions", m->tmpfs_opts ?: "");
        }
        if (r < 0) {
                jv_put(o);
                return r;
        }
        jv_set_str(o, "Destination", m->target);
        jv_set_str(o, "Mode", m->mode ?: "");
        jv_set_bool(o, "RW", !m->readonly);
        jv_set_str(o, "Propagation", m->propagation ?: "");
        jv_set_bool(o, "NoCopy", m->nocopy);
        jv_append(mounts, o);
        return 0;
}

typedef int (*spec_parser)(const char *spec, struct mount_spec *ret, struct err *err);

/* Docker lists `-v /path` (anonymous) volumes in Config.Volumes, so a commit keeps them. */
static void note_anonymous(struct jv *doc, const char *target)
{
        struct jv *cfg = jv_get(doc, "Config"), *vols = jv_get(cfg, "Volumes");

        if (!vols || jv_type(vols) != JV_OBJECT) {
                vols = jv_new_object();
                jv_set(cfg, "Volumes", vols);
        }
        if (!jv_get(vols, target))
                jv_set(vols, target, jv_new_object());
}

/* Which -v specs a pass takes: Docker reads named and bind volumes (HostConfig.Binds)
 * before --volumes-from, which they replace at the same path, and anonymous ones
 * (Config.Volumes) after it, where an inherited mount at the same path wins. */
enum pass { PASS_ALL, PASS_NAMED, PASS_ANONYMOUS };

static int add_all(const struct cli *cli, const struct run_opts *ro, char **specs,
                   spec_parser parse, bool check_bind, enum pass pass, struct jv *doc,
                   struct jv *mounts, struct err *err)
{
        for (char **p = specs; p && *p; p++) {
                struct mount_spec m = {0};
                bool dup = false;
                int r;
                /* The same -v twice is one (Docker's CLI keeps them in a set). */
                for (char **q = specs; q < p && !dup; q++)
                        dup = !strcmp(*q, *p);
                if (dup)
                        continue;
                r = parse(*p, &m, err);
                if (r >= 0 && pass != PASS_ALL &&
                    ((pass == PASS_NAMED) == (m.type == MOUNT_VOLUME && !m.source) ||
                     (pass == PASS_ANONYMOUS && has_destination(mounts, m.target)))) {
                        mountspec_free(&m);
                        continue;
                }
                if (r >= 0 && check_bind && m.type == MOUNT_BIND && !m.create_source)
                        r = mountspec_check_bind_source(&m, err);
                /* Docker records -v volumes with the SELinux-relabel default mode "z". */
                if (r >= 0 && parse == mountspec_parse_volume && m.type == MOUNT_VOLUME &&
                    (!m.mode || !*m.mode)) {
                        free(m.mode);
                        m.mode = strdup("z");
                }
                if (r >= 0)
                        r = add_spec(cli, ro, &m, mounts, err);
                if (r >= 0 && parse == mountspec_parse_volume && m.type == MOUNT_VOLUME &&
                    !m.source)
                        note_anonymous(doc, m.target);
                mountspec_free(&m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --volumes-from: every mount of the source at the same path; writable only when both the
 * source mount and the requested mode allow it. */
static int add_from(const struct cli *cli, char **specs, struct jv *mounts, struct err *err)
{
        for (char **p = specs; p && *p; p++) {
                _cleanup_free_ char *name = NULL;
                struct container *src = NULL;
                const struct jv *sm;
                bool ro = false;
                int r = mountspec_parse_volumes_from(*p, &name, &ro, err);
                if (r >= 0)
                        r = teardown_find(cli, name, &src, err);
                if (r < 0)
                        return r;
                sm = jv_get(src->doc, "Mounts");
                for (size_t i = 0; i < jv_len(sm); i++) {
                        struct jv *o = jv_copy(jv_at(sm, i));
                        if (has_destination(mounts, jv_get_str(o, "Destination") ?: "")) {
                                jv_put(o);
                                continue;
                        }
                        jv_set_bool(o, "RW", jv_get_bool(o, "RW") && !ro);
                        /* An anonymous volume stays one: rm -v of the receiver removes it
                         * too once no container uses it (Docker). */
                        jv_append(mounts, o);
                }
                container_free(src);
        }
        return 0;
}

/* Image VOLUMEs without a mount of their own become anonymous volumes. */
static int add_image_volumes(const struct cli *cli, const struct run_opts *ro,
                             const struct jv *volumes, struct jv *mounts, struct err *err)
{
        _cleanup_strv_ char **keys = jv_keys(volumes);

        for (char **k = keys; k && *k; k++) {
                struct mount_spec m = {.type = MOUNT_VOLUME, .target = *k};
                if (has_destination(mounts, *k))
                        continue;
                if (add_spec(cli, ro, &m, mounts, err) < 0)
                        return -err->code;
        }
        return 0;
}

int create_mounts_doc(const struct cli *cli, const struct run_opts *o, struct jv *doc,
                      struct err *err)
{
        struct jv *mounts = jv_new_array(), *hc = jv_get(doc, "HostConfig");
        int r;

        jv_set(doc, "Mounts", mounts);
        /* Every --volumes-from source must exist before any volume is made. */
        for (char **p = o->volumes_from; p && *p; p++) {
                _cleanup_free_ char *name = NULL;
                struct container *src = NULL;
                bool ro;
                r = mountspec_parse_volumes_from(*p, &name, &ro, err);
                if (r >= 0)
                        r = teardown_find(cli, name, &src, err);
                container_free(src);
                if (r < 0)
                        return r;
        }
        jv_set(hc, "Binds", o->volumes ? jv_from_strv(o->volumes) : NULL);
        jv_set(hc, "VolumesFrom", o->volumes_from ? jv_from_strv(o->volumes_from) : NULL);
        r = add_all(cli, o, o->volumes, mountspec_parse_volume, false, PASS_NAMED, doc, mounts,
                    err);
        if (r >= 0)
                r = add_all(cli, o, o->mounts, mountspec_parse_mount, true, PASS_ALL, doc, mounts,
                            err);
        if (r >= 0)
                r = add_all(cli, o, o->tmpfs, mountspec_parse_tmpfs, false, PASS_ALL, doc, mounts,
                            err);
        if (r >= 0)
                r = add_from(cli, o->volumes_from, mounts, err);
        if (r >= 0)
                r = add_all(cli, o, o->volumes, mountspec_parse_volume, false, PASS_ANONYMOUS, doc,
                            mounts, err);
        if (r >= 0)
                r = add_image_volumes(cli, o, jv_path(doc, "Config.Volumes"), mounts, err);
        return r;
}

/* Fills one new volume from the image, in a child with a private mount namespace that mounts
 * the image's layers read-only (nothing of it is visible outside the child). Exit status 2:
 * the image has a regular file there. */
static int copy_up_child(const char *lower, const char *empty, const char *mnt, const char *target,
                         const char *data)
{
        _cleanup_free_ char *opts = util_printf("lowerdir=%s:%s", lower, empty);
        _cleanup_close_ int root = -1, src = -1, dst = -1;
        struct stat st;
        struct err e = {0};

        if (!opts || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0)
                return 1;
        root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
        src = root >= 0 ? fs_open_in_root(root, target, O_RDONLY, 0) : -1;
        if (src < 0)
                return 0; /* nothing in the image there */
        if (fstat(src, &st) == 0 && !S_ISDIR(st.st_mode))
                return 2;
        dst = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return dst >= 0 && fs_copy_tree(src, dst, &e) >= 0 ? 0 : 1;
}

static int copy_up_one(const struct cli *cli, const char *dir, const char *lower,
                       const struct jv *m, struct err *err)
{
        const char *name = jv_get_str(m, "Name") ?: "", *target = jv_get_str(m, "Destination");
        _cleanup_free_ char *mnt = util_printf("%s/merged", dir);
        _cleanup_free_ char *empty = util_printf("%s/work", dir);
        _cleanup_close_ int lock = volume_lock(cli, name, err);
        int status = 0;
        pid_t pid;

        if (lock < 0)
                return lock;
        /* Under the volume's lock: a concurrent first user waits and then finds it full. A
         * volume with driver options is filled where they mount it, as Docker (a tmpfs one
         * so loses it again when unmounted, a bind one fills its device directory). One that
         * cannot be mounted is not filled: its start reports why, as Docker's does. */
        if (volume_mount(cli, name, &(struct err){0}) < 0)
                return 0;
        if (volume_needs_copy_up(cli, name) != 1) {
                volume_unmount_unused(cli, name, NULL);
                return 0;
        }
        pid = fork();
        if (pid < 0) {
                volume_unmount_unused(cli, name, NULL);
                return err_errno(err, "copying image content into volume %s", name);
        }
        if (pid == 0)
                _exit(copy_up_child(lower, empty, mnt, target, jv_get_str(m, "Source")));
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        volume_unmount_unused(cli, name, NULL);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                return err_set(err, -EEXIST,
                               "cannot mount volume over existing file, file exists "
                               "%s",
                               target);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return err_set(err, -EIO, "copying image content at %s into volume %s", target,
                               name);
        return volume_mark_populated(cli, name, err);
}

int create_copy_up(const struct cli *cli, const char *dir, const struct jv *doc, struct err *err)
{
        const struct jv *mounts = jv_get(doc, "Mounts");
        const char *lower = jv_str(jv_path(doc, "GraphDriver.Data.LowerDir"));

        for (size_t i = 0; lower && i < jv_len(mounts); i++) {
                const struct jv *m = jv_at(mounts, i);
                int r;
                if (strcmp(jv_get_str(m, "Type") ?: "", "volume") || jv_get_bool(m, "NoCopy"))
                        continue;
                r = copy_up_one(cli, dir, lower, m, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
