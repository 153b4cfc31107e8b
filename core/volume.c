#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "container.h"
#include "events.h"
#include "opt.h"
#include "prune.h"
#include "table.h"
#include "template.h"
#include "volume.h"

/* Names no volume can have (they start with '.'): a volume being built, one being deleted. */
#define TMP_PREFIX   ".tmp-"
#define TRASH_PREFIX ".trash-"
/* A build older than this was abandoned by a killed process. */
#define STALE_TMP_SECONDS 3600

/* ---- names and paths ---- */

/* Go's %q, for names that end up in messages. */
static void go_quote(const char *s, char *out, size_t len)
{
        size_t w = 0;

        out[w++] = '"';
        for (; *s && w + 6 < len; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        w += (size_t)snprintf(out + w, len - w, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        w += (size_t)snprintf(out + w, len - w, "\\x%02x", c);
                else
                        out[w++] = (char)c;
        }
        out[w++] = '"';
        out[w] = '\0';
}

int volume_check_name(const char *name, struct err *err)
{
        char q[ERR_MSG_MAX / 2];

        if (strlen(name) == 1)
                return err_set(err, -EINVAL,
                               "volume name is too short, names should be at least two "
                               "alphanumeric characters");
        if (util_name_ok(name))
                return 0;
        go_quote(name, q, sizeof(q));
        return err_set(err, -EINVAL,
                       "%s includes invalid characters for a local volume name, only "
                       "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a "
                       "host directory, use absolute path",
                       q);
}

static int no_such(struct err *err, const char *name)
{
        return err_set(err, -ENOENT, "get %s: no such volume", name);
}

/* --root/volumes/NAME, or NULL for a name that is not a volume name. */
static char *vol_dir(const struct cli *cli, const char *name)
{
        struct err e = {0};

        if (volume_check_name(name, &e) < 0)
                return NULL;
        return cli_root_path(cli, "volumes/%s", name);
}

/* A complete volume: its metadata, written before the directory got its name, is there. */
static bool is_volume(const char *dir)
{
        _cleanup_free_ char *meta = util_printf("%s/meta.json", dir);
        struct stat st;

        return meta && lstat(meta, &st) == 0 && S_ISREG(st.st_mode);
}

static int load_meta(const struct cli *cli, const char *name, struct jv **ret, struct err *err)
{
        _cleanup_free_ char *dir = vol_dir(cli, name);
        _cleanup_free_ char *meta = dir ? util_printf("%s/meta.json", dir) : NULL;
        struct err e = {0};

        if (!dir || !meta || !is_volume(dir) || jv_load(meta, ret, &e) < 0)
                return no_such(err, name);
        return 0;
}

/* ---- creation ---- */

static void now_rfc3339(char out[32])
{
        time_t t = time(NULL);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct jv *labels_object(char *const *labels, bool anonymous)
{
        struct jv *o = jv_new_object();

        for (char *const *l = labels; l && *l; l++) {
                _cleanup_free_ char *k = strdup(*l);
                char *eq = k ? strchr(k, '=') : NULL;
                if (eq)
                        *eq = '\0';
                if (k && *k)
                        jv_set_str(o, k, eq ? eq + 1 : "");
        }
        if (anonymous)
                jv_set_str(o, VOLUME_ANONYMOUS_LABEL, "");
        return o;
}

/* Builds a complete volume under a hidden name; *ret_tmp is its path. */
static int stage(const struct cli *cli, const char *name, char *const *labels,
                 const struct jv *opts, bool anonymous, char **ret_tmp, struct err *err)
{
        _cleanup_jv_ struct jv *meta = jv_new_object();
        _cleanup_free_ char *tmp = NULL, *data = NULL, *meta_path = NULL;
        char rnd[65], ts[32];
        struct err e = {0};
        int r;

        r = util_random_hex(rnd, err);
        if (r < 0)
                return r;
        tmp = cli_root_path(cli, "volumes/" TMP_PREFIX "%.16s", rnd);
        data = tmp ? util_printf("%s/_data", tmp) : NULL;
        meta_path = tmp ? util_printf("%s/meta.json", tmp) : NULL;
        if (!data || !meta_path)
                return err_set(err, -ENOMEM, "creating volume %s", name);
        if (mkdir(tmp, 0755) < 0)
                return err_errno(err, "creating %s", tmp);
        now_rfc3339(ts);
        jv_set_str(meta, "Name", name);
        jv_set_str(meta, "CreatedAt", ts);
        jv_set(meta, "Labels", labels_object(labels, anonymous));
        jv_set_bool(meta, "Anonymous", anonymous);
        if (opts)
                jv_set(meta, "Options", jv_copy(opts));
        if (mkdir(data, 0755) < 0)
                r = err_errno(err, "creating %s", data);
        else
                r = jv_save(meta_path, meta, err);
        if (r < 0) {
                fs_rm_rf(tmp, &e);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* Gives the staged volume its name unless the name is taken, whatever is there. */
static int publish(const char *tmp, const char *dir)
{
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* No RENAME_NOREPLACE on this filesystem: rename() still refuses a non-empty
         * target, and every volume directory has entries. */
        return rename(tmp, dir) == 0 ? 0 : -errno;
}

/* The local driver's options ("KEY=VALUE" or "KEY", the last of a key wins) as Docker checks
 * them: known keys only, a size only where quotas exist (never here), and type, device and o
 * only together as a mount needs them. *ret is NULL when there are none. */
static int driver_options(const char *name, char *const *opts, struct jv **ret, struct err *err)
{
        static const char *const known[] = {"type", "device", "o", "size"};
        _cleanup_jv_ struct jv *o = NULL;
        const char *size;

        *ret = NULL;
        if (!opts || !*opts)
                return 0;
        o = jv_new_object();
        for (char *const *kv = opts; *kv; kv++) {
                size_t kl = strcspn(*kv, "=");
                _cleanup_free_ char *key = strndup(*kv, kl);
                bool ok = false;
                if (!key)
                        return err_set(err, -ENOMEM, "create %s", name);
                for (size_t i = 0; i < ARRAY_SIZE(known); i++)
                        ok |= !strcmp(known[i], key);
                if (!ok)
                        return err_set(err, -EINVAL, "create %s: invalid option: \"%s\"", name,
                                       key);
                jv_set_str(o, key, (*kv)[kl] ? *kv + kl + 1 : "");
        }
        size = jv_get_str(o, "size");
        if (size) {
                long long n;
                if (util_parse_ram_bytes(size, &n) < 0)
                        return err_set(err, -EINVAL, "create %s: invalid size: '%s'", name, size);
                if (n > 0)
                        return err_set(err, -EINVAL,
                                       "create %s: quota size requested but no quota support",
                                       name);
        }
        if ((jv_get(o, "type") || jv_get(o, "o")) && !jv_get(o, "device"))
                return err_set(err, -EINVAL, "create %s: missing required option: \"device\"",
                               name);
        if ((jv_get(o, "device") || jv_get(o, "o")) && !jv_get(o, "type"))
                return err_set(err, -EINVAL, "create %s: missing required option: \"type\"", name);
        /* Sorted by key, as Docker's map prints. */
        *ret = jv_new_object();
        {
                _cleanup_strv_ char **keys = jv_keys(o);
                util_strv_sort(keys);
                for (char **k = keys; k && *k; k++)
                        jv_set_str(*ret, *k, jv_get_str(o, *k));
        }
        return 0;
}

int volume_create(const struct cli *cli, const char *name, char *const *labels, char *const *opts,
                  bool anonymous, char **ret_name, struct err *err)
{
        _cleanup_free_ char *dir = NULL, *top = cli_root_path(cli, "volumes"), *tmp = NULL;
        char rnd[65];
        struct err e = {0};
        int r, created = 1;

        if (!name) {
                r = util_random_hex(rnd, err);
                if (r < 0)
                        return r;
                name = rnd;
        } else if (volume_check_name(name, &e) < 0) {
                return err_set(err, -EINVAL, "create %s: %s", name, e.msg);
        }
        dir = cli_root_path(cli, "volumes/%s", name);
        if (!dir || !top)
                return err_set(err, -ENOMEM, "create %s", name);
        if (!is_volume(dir)) {
                _cleanup_jv_ struct jv *o = NULL;
                /* Checked for a new volume only: an existing one is returned as it is. */
                r = driver_options(name, opts, &o, err);
                if (r < 0)
                        return r;
                r = fs_mkdir_p(top, 0701, err);
                if (r >= 0)
                        r = stage(cli, name, labels, o, anonymous, &tmp, err);
                if (r < 0)
                        return err_wrap(err, "create %s", name);
                r = publish(tmp, dir);
                if (r < 0)
                        fs_rm_rf(tmp, &e);
                if (r < 0 && r != -EEXIST && r != -ENOTEMPTY) {
                        errno = -r;
                        return err_errno(err, "create %s", name);
                }
                /* Someone else made it first, which is success for everyone. */
                if (r < 0 && !is_volume(dir))
                        return err_set(err, -EEXIST, "create %s: %s exists and is not a volume",
                                       name, dir);
                created = r == 0;
        } else {
                created = 0;
        }
        /* Docker tells create also for a volume that was there. */
        events_logv(cli, "volume", "create", name, "driver", "local", NULL);
        if (ret_name) {
                *ret_name = strdup(name);
                if (!*ret_name)
                        return err_set(err, -ENOMEM, "create %s", name);
        }
        return created;
}

/* ---- lookups ---- */

int volume_path(const struct cli *cli, const char *name, char **ret_data_path, struct err *err)
{
        _cleanup_free_ char *dir = vol_dir(cli, name);
        char *data;

        if (!dir || !is_volume(dir))
                return no_such(err, name);
        data = util_printf("%s/_data", dir);
        if (!data)
                return err_set(err, -ENOMEM, "volume %s", name);
        *ret_data_path = data;
        return 0;
}

int volume_inspect(const struct cli *cli, const char *name, struct jv **ret_doc, struct err *err)
{
        _cleanup_jv_ struct jv *meta = NULL;
        _cleanup_free_ char *data = NULL;
        struct jv *doc, *labels;
        int r;

        r = load_meta(cli, name, &meta, err);
        if (r >= 0)
                r = volume_path(cli, name, &data, err);
        if (r < 0)
                return r;
        labels = jv_get(meta, "Labels");
        doc = jv_new_object();
        jv_set_str(doc, "CreatedAt", jv_get_str(meta, "CreatedAt") ?: "");
        jv_set_str(doc, "Driver", "local");
        jv_set(doc, "Labels", labels ? jv_copy(labels) : jv_new_object());
        jv_set_str(doc, "Mountpoint", data);
        jv_set_str(doc, "Name", name);
        /* Docker's null when the volume has no driver options. */
        jv_set(doc, "Options", jv_get(meta, "Options") ? jv_copy(jv_get(meta, "Options")) : NULL);
        jv_set_str(doc, "Scope", "local");
        *ret_doc = doc;
        return 0;
}

int volume_has_options(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_jv_ struct jv *meta = NULL;
        int r = load_meta(cli, name, &meta, err);

        return r < 0 ? r : jv_type(jv_get(meta, "Options")) == JV_OBJECT;
}

static int list_names(const struct cli *cli, char ***ret, struct err *err);

/* Calls fn for every volume mount of every container. A container whose state cannot be read
 * might mount any volume: it counts as a user of each until it is removed. */
static int each_ref(const struct cli *cli, void (*fn)(const char *id, const char *vol, void *ud),
                    void *ud, struct err *err)
{
        struct container **all = NULL;
        int r = container_list(cli, &all, err);

        for (struct container **c = all; r >= 0 && *c; c++) {
                const struct jv *mounts = jv_get((*c)->doc, "Mounts");
                if ((*c)->unreadable) {
                        _cleanup_strv_ char **names = NULL;
                        r = list_names(cli, &names, err);
                        for (char **n = names; r >= 0 && *n; n++)
                                fn((*c)->id, *n, ud);
                        continue;
                }
                for (size_t i = 0; i < jv_len(mounts); i++) {
                        const struct jv *m = jv_at(mounts, i);
                        const char *type = jv_get_str(m, "Type"), *vol = jv_get_str(m, "Name");
                        if (type && vol && !strcmp(type, "volume"))
                                fn((*c)->id, vol, ud);
                }
        }
        container_list_free(all);
        return r;
}

struct users_q {
        const char *name;
        char **ids;
        int r;
};

static void users_cb(const char *id, const char *vol, void *ud)
{
        struct users_q *q = ud;

        if (!strcmp(vol, q->name) && !util_strv_contains(q->ids, id) &&
            util_strv_push(&q->ids, id) < 0)
                q->r = -ENOMEM;
}

int volume_users(const struct cli *cli, const char *name, char ***ret_ids, struct err *err)
{
        struct users_q q = {.name = name, .ids = calloc(1, sizeof(char *))};
        int r = q.ids ? each_ref(cli, users_cb, &q, err) : -ENOMEM;

        if (r >= 0 && q.r < 0)
                r = q.r;
        if (r < 0) {
                util_strv_free(q.ids);
                return r == -ENOMEM ? err_set(err, r, "listing the users of volume %s", name) : r;
        }
        *ret_ids = q.ids;
        return 0;
}

static void names_cb(const char *id, const char *vol, void *ud)
{
        char ***names = ud;

        (void)id;
        if (!util_strv_contains(*names, vol))
                util_strv_push(names, vol);
}

/* Names of the volumes some container references (a strv, maybe empty). */
static int referenced(const struct cli *cli, char ***ret, struct err *err)
{
        char **names = calloc(1, sizeof(char *));
        int r = names ? each_ref(cli, names_cb, &names, err) : -ENOMEM;

        if (r < 0) {
                util_strv_free(names);
                return r == -ENOMEM ? err_set(err, r, "listing volume users") : r;
        }
        *ret = names;
        return 0;
}

/* ---- locking, removal, copy-up marker ---- */

static int open_dir(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_free_ char *dir = vol_dir(cli, name);
        int fd;

        if (!dir)
                return no_such(err, name);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
                return no_such(err, name);
        if (fd < 0)
                return err_errno(err, "opening volume %s", name);
        return fd;
}

int volume_lock(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_free_ char *dir = vol_dir(cli, name);
        _cleanup_close_ int fd = open_dir(cli, name, err);
        struct stat held, now, meta;

        if (fd < 0)
                return fd;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return err_errno(err, "locking volume %s", name);
        /* A remover renames the directory away while holding the lock: what we waited on
         * may no longer be the volume of that name. */
        if (fstat(fd, &held) < 0 || !dir || lstat(dir, &now) < 0 || held.st_ino != now.st_ino ||
            held.st_dev != now.st_dev || fstatat(fd, "meta.json", &meta, AT_SYMLINK_NOFOLLOW) < 0)
                return no_such(err, name);
        return TAKE_FD(fd);
}

int volume_remove(const struct cli *cli, const char *name, bool force, struct err *err)
{
        _cleanup_free_ char *dir = vol_dir(cli, name), *trash = NULL, *list = NULL;
        _cleanup_strv_ char **users = NULL;
        _cleanup_close_ int lock = -1;
        struct err e = {0};
        char rnd[65];
        int r;

        lock = volume_lock(cli, name, &e);
        if (lock == -ENOENT)
                return force ? 0 : no_such(err, name);
        if (lock < 0)
                return err_set(err, lock, "%s", e.msg);
        r = volume_users(cli, name, &users, err);
        if (r < 0)
                return r;
        if (users[0]) {
                list = util_strv_join(users, ", ");
                return err_set(err, -EBUSY, "remove %s: volume is in use - [%s]", name, list ?: "");
        }
        r = util_random_hex(rnd, err);
        if (r < 0)
                return r;
        trash = cli_root_path(cli, "volumes/" TRASH_PREFIX "%.16s", rnd);
        if (!trash || !dir)
                return err_set(err, -ENOMEM, "remove %s", name);
        /* A volume with driver options may still be mounted (its last user's monitor was
         * killed): unmounted first, or the removal would reach into what it mounts. */
        {
                _cleanup_free_ char *data = util_printf("%s/_data", dir);
                if (data && fs_is_mount_point(data))
                        umount2(data, MNT_DETACH);
                if (!data || fs_is_mount_point(data))
                        return err_set(err, -EBUSY, "remove %s: the volume is still mounted", name);
        }
        /* Out of the namespace first: nobody can find or mount a half-deleted volume. */
        if (rename(dir, trash) < 0)
                return err_errno(err, "remove %s", name);
        events_logv(cli, "volume", "destroy", name, "driver", "local", NULL);
        r = fs_rm_rf(trash, err);
        return r < 0 ? err_wrap(err, "remove %s", name) : 0;
}

int volume_needs_copy_up(const struct cli *cli, const char *name)
{
        struct err e = {0};
        _cleanup_close_ int fd = open_dir(cli, name, &e);
        _cleanup_closedir_ DIR *d = NULL;
        struct stat st;
        struct dirent *de;
        int dfd;

        if (fd < 0)
                return fd;
        if (fstatat(fd, "meta.json", &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -ENOENT;
        if (fstatat(fd, "populated", &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        dfd = openat(fd, "_data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -ENOMEM;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        return 0;
        return 1;
}

int volume_mark_populated(const struct cli *cli, const char *name, struct err *err)
{
        _cleanup_close_ int fd = open_dir(cli, name, err), marker = -1;

        if (fd < 0)
                return fd;
        marker = openat(fd, "populated", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (marker < 0)
                return err_errno(err, "marking volume %s populated", name);
        return 0;
}

/* ---- listing ---- */

static int natural_cmp(const void *x, const void *y)
{
        const char *a = *(const char *const *)x, *b = *(const char *const *)y;

        return util_natural_less(a, b) ? -1 : util_natural_less(b, a) ? 1 : 0;
}

/* Names of all complete volumes, natural-sorted. */
static int list_names(const struct cli *cli, char ***ret, struct err *err)
{
        _cleanup_free_ char *top = cli_root_path(cli, "volumes");
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (!top || !v)
                return err_set(err, -ENOMEM, "listing volumes");
        d = opendir(top);
        if (!d && errno != ENOENT)
                return err_errno(err, "listing volumes in %s", top);
        while (d && (de = readdir(d))) {
                struct err e = {0};
                struct stat st;
                char meta[NAME_MAX + 16];
                if (volume_check_name(de->d_name, &e) < 0)
                        continue;
                snprintf(meta, sizeof(meta), "%s/meta.json", de->d_name);
                if (fstatat(dirfd(d), meta, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (util_strv_push(&v, de->d_name) < 0)
                        return err_set(err, -ENOMEM, "listing volumes");
        }
        qsort(v, util_strv_len(v), sizeof(char *), natural_cmp);
        *ret = TAKE_PTR(v);
        return 0;
}

/* Removes what killed processes left: trash always, builds once they are stale. */
static void sweep(const struct cli *cli)
{
        _cleanup_free_ char *top = cli_root_path(cli, "volumes");
        _cleanup_closedir_ DIR *d = top ? opendir(top) : NULL;
        struct dirent *de;
        time_t now = time(NULL);

        while (d && (de = readdir(d))) {
                struct stat st;
                struct err e = {0};
                bool trash = !strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX));
                bool tmp = !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX));
                if ((!trash && !tmp) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (tmp && now - st.st_mtime < STALE_TMP_SECONDS)
                        continue;
                if (fs_rm_rf_at(dirfd(d), de->d_name, &e) < 0)
                        fprintf(stderr, "warning: removing %s/%s: %s, ignoring\n", top, de->d_name,
                                e.msg);
        }
}

/* ---- filters ---- */

struct vfilter {
        int dangling; /* -1: any; 1: only unreferenced; 0: only referenced */
        int all;      /* prune: -1 unset */
        char **names, **drivers, **labels, **not_labels;
};

static void vfilter_free(struct vfilter *f)
{
        util_strv_free(f->names);
        util_strv_free(f->drivers);
        util_strv_free(f->labels);
        util_strv_free(f->not_labels);
}

static int tri_bool(const char *key, const char *val, int *ret, struct err *err)
{
        bool b;

        if (opt_parse_bool(val, &b) < 0)
                return err_set(err, -EINVAL, "invalid filter '%s=%s'", key, val);
        *ret = b;
        return 0;
}

/* Parses --filter KEY=VALUE arguments; accepted is a space-separated list of keys. */
static int vfilter_parse(char *const *args, const char *accepted, struct vfilter *f,
                         struct err *err)
{
        f->dangling = f->all = -1;
        for (char *const *a = args; a && *a; a++) {
                const char *eq = strchr(*a, '='), *val = eq ? eq + 1 : NULL;
                char key[64], pad[80];
                int r = 0;
                if (!eq)
                        return err_set(err, -EINVAL, "bad format of filter (expected name=value)");
                snprintf(key, sizeof(key), "%.*s", (int)(eq - *a), *a);
                snprintf(pad, sizeof(pad), " %s ", key);
                if (!*key || !strstr(accepted, pad))
                        return err_set(err, -EINVAL, "invalid filter '%s'", key);
                if (!strcmp(key, "dangling"))
                        r = tri_bool(key, val, &f->dangling, err);
                else if (!strcmp(key, "all"))
                        r = tri_bool(key, val, &f->all, err);
                else
                        r = util_strv_push(!strcmp(key, "name")     ? &f->names
                                           : !strcmp(key, "driver") ? &f->drivers
                                           : !strcmp(key, "label")  ? &f->labels
                                                                    : &f->not_labels,
                                           val);
                if (r < 0)
                        return r == -ENOMEM ? err_set(err, r, "parsing filters") : r;
        }
        return 0;
}

/* Docker's filters.Match: any of the patterns matches (as a regular expression). */
static bool match_any(char *const *patterns, const char *s)
{
        if (!patterns || !*patterns)
                return true;
        for (char *const *p = patterns; *p; p++) {
                regex_t re;
                bool hit;
                if (regcomp(&re, *p, REG_EXTENDED | REG_NOSUB) != 0)
                        continue;
                hit = regexec(&re, s, 0, NULL, 0) == 0;
                regfree(&re);
                if (hit)
                        return true;
        }
        return false;
}

static bool vfilter_match(const struct vfilter *f, const struct jv *doc, bool used)
{
        const struct jv *labels = jv_get(doc, "Labels");

        if (f->dangling >= 0 && f->dangling == used)
                return false;
        if (!match_any(f->names, jv_get_str(doc, "Name") ?: "") ||
            !match_any(f->drivers, jv_get_str(doc, "Driver") ?: ""))
                return false;
        for (char **l = f->labels; l && *l; l++)
                if (!prune_label_matches(labels, *l))
                        return false;
        for (char **l = f->not_labels; l && *l; l++)
                if (prune_label_matches(labels, *l))
                        return false;
        return true;
}

/* ---- commands ---- */

static int usage(struct cli *cli, const char *sub, struct err *err, int k, const char *what)
{
        char cmd[32];

        snprintf(cmd, sizeof(cmd), "volume %s", sub);
        if (k < 0)
                return cli_usage_error(cli, cmd, err, "%s", err->msg);
        return cli_usage_error(cli, cmd, err, "\"hawser volume %s\" %s.", sub, what);
}

/* docker/cli's ValidateLabel for --label. */
static int check_labels(char *const *labels, struct err *err)
{
        for (char *const *l = labels; l && *l; l++) {
                const char *k = *l + strspn(*l, " \t\n\r\v\f");
                size_t kl = strcspn(k, "=");
                if (kl == 0)
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--label\" flag: invalid "
                                          "label '%s': empty name",
                                          *l, *l);
                if (strcspn(k, " \t\n\r\v\f") < kl)
                        return err_client(err, -EINVAL,
                                          "invalid argument \"%s\" for \"--label\" flag: label "
                                          "'%.*s' contains whitespaces",
                                          *l, (int)kl, k);
        }
        return 0;
}

static int cmd_create(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *driver, *name;
                char **labels, **opts;
        } o = {0};
        static const struct opt_def defs[] = {
                {"driver", 'd', OPT_STR, offsetof(__typeof__(o), driver)},
                {"name", 0, OPT_STR, offsetof(__typeof__(o), name)},
                {"label", 0, OPT_LIST, offsetof(__typeof__(o), labels)},
                {"opt", 'o', OPT_LIST, offsetof(__typeof__(o), opts)},
                OPT_END,
        };
        _cleanup_free_ char *created = NULL;
        const char *name;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k < 0 || k > 1 || check_labels(o.labels, err) < 0) {
                opt_free_lists(defs, &o);
                return usage(cli, "create", err, k > 1 ? 1 : -1, "requires at most 1 argument");
        }
        name = k == 1 ? argv[1] : o.name && *o.name ? o.name : NULL;
        if (k == 1 && o.name && *o.name)
                r = err_set(err, -EINVAL,
                            "conflicting options: either specify --name or provide positional "
                            "arg, not both");
        else if (o.driver && *o.driver && strcmp(o.driver, "local"))
                r = err_set(err, -ENOENT,
                            "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                            name ?: "", o.driver, o.driver);
        else
                r = volume_create(cli, name, o.labels, o.opts, false, &created, err);
        if (r >= 0)
                printf("%s\n", created);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

/* The fields `volume ls --format` offers, as Docker's volume context. */
static struct jv *ls_row(const struct jv *doc)
{
        struct jv *row = jv_new_object();
        const struct jv *labels = jv_get(doc, "Labels");
        _cleanup_strv_ char **keys = jv_keys(labels);
        _cleanup_strv_ char **kv = calloc(1, sizeof(char *));
        _cleanup_free_ char *joined = NULL;

        for (char **k = keys; k && *k && kv; k++) {
                _cleanup_free_ char *s = util_printf("%s=%s", *k, jv_str(jv_get(labels, *k)) ?: "");
                if (s)
                        util_strv_push(&kv, s);
        }
        joined = util_strv_join(kv, ",");
        jv_set_str(row, "Name", jv_get_str(doc, "Name"));
        jv_set_str(row, "Driver", "local");
        jv_set_str(row, "Scope", "local");
        jv_set_str(row, "Mountpoint", jv_get_str(doc, "Mountpoint"));
        jv_set_str(row, "Labels", joined ?: "");
        jv_set_str(row, "Links", "N/A");
        jv_set_str(row, "Size", "N/A");
        return row;
}

static struct jv *ls_headers(void)
{
        static const char *const h[][2] = {
                {"Name", "VOLUME NAME"}, {"Driver", "DRIVER"},
                {"Scope", "SCOPE"},      {"Mountpoint", "MOUNTPOINT"},
                {"Labels", "LABELS"},    {"Links", "LINKS"},
                {"Size", "SIZE"},
        };
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(h); i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

/* Renders the rows (a JSON array) through the shared list formatter. */
static int print_rows(const char *format, const struct jv *rows, struct err *err)
{
        _cleanup_jv_ struct jv *headers = ls_headers();
        _cleanup_free_ struct jv **v = calloc(jv_len(rows) + 1, sizeof(*v));

        if (!headers || !v)
                return err_set(err, -ENOMEM, "listing volumes");
        for (size_t i = 0; i < jv_len(rows); i++)
                v[i] = jv_at(rows, i);
        return template_print_rows(format, headers, v, jv_len(rows), err);
}

/* Inspect documents of the volumes that pass the filter, in listing order. */
static int select_volumes(const struct cli *cli, const struct vfilter *f, struct jv **ret,
                          struct err *err)
{
        _cleanup_strv_ char **names = NULL, **used = NULL;
        _cleanup_jv_ struct jv *out = jv_new_array();
        int r;

        r = list_names(cli, &names, err);
        if (r >= 0)
                r = referenced(cli, &used, err);
        for (char **n = names; r >= 0 && *n; n++) {
                struct jv *doc = NULL;
                struct err e = {0};
                if (volume_inspect(cli, *n, &doc, &e) < 0)
                        continue; /* removed meanwhile */
                if (vfilter_match(f, doc, util_strv_contains(used, *n)))
                        jv_append(out, doc);
                else
                        jv_put(doc);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

static int cmd_ls(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool quiet;
                char *format;
                char **filters;
        } o = {0};
        static const struct opt_def defs[] = {
                {"quiet", 'q', OPT_BOOL, offsetof(__typeof__(o), quiet)},
                {"format", 0, OPT_STR, offsetof(__typeof__(o), format)},
                {"filter", 'f', OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        _cleanup_jv_ struct jv *docs = NULL, *rows = jv_new_array();
        struct vfilter f = {0};
        const char *format = NULL;
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return usage(cli, "ls", err, k, "accepts no arguments");
        }
        r = vfilter_parse(o.filters, " dangling name driver label ", &f, err);
        if (r >= 0)
                r = select_volumes(cli, &f, &docs, err);
        for (size_t i = 0; r >= 0 && i < jv_len(docs); i++)
                jv_append(rows, ls_row(jv_at(docs, i)));
        if (o.format && *o.format && strcmp(o.format, "table"))
                format = o.format;
        else
                format = o.quiet ? "{{.Name}}" : "table {{.Driver}}\t{{.Name}}";
        if (r >= 0)
                r = print_rows(format, rows, err);
        vfilter_free(&f);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

static int inspect_get(const char *ref, void *ud, struct jv **ret, struct err *err)
{
        return volume_inspect(ud, ref, ret, err);
}

static int cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *format;
        } o = {0};
        static const struct opt_def defs[] = {
                {"format", 'f', OPT_STR, offsetof(__typeof__(o), format)},
                OPT_END,
        };
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        if (k < 1)
                return usage(cli, "inspect", err, k, "requires at least 1 argument");
        return template_print_docs(o.format, argv + 1, k, inspect_get, (void *)cli, err);
}

static int remove_ref(const struct cli *cli, const char *ref, void *ud, struct err *err)
{
        return volume_remove(cli, ref, *(bool *)ud, err);
}

static int cmd_rm(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                OPT_END,
        };
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err);
        _cleanup_close_ int guard = -1;

        if (k < 1)
                return usage(cli, "rm", err, k, "requires at least 1 argument");
        /* A create that is about to save a container using the volume finishes first. */
        guard = volume_guard(cli, true, err);
        if (guard < 0)
                return guard;
        return cli_each_ref(cli, argv + 1, k, remove_ref, &o.force, err);
}

/* Removes the selected volumes; prints Docker's "Deleted Volumes:" section. */
static int prune(const struct cli *cli, const struct jv *docs, bool all, long long *reclaimed)
{
        _cleanup_strv_ char **deleted = calloc(1, sizeof(char *));

        for (size_t i = 0; deleted && i < jv_len(docs); i++) {
                const struct jv *doc = jv_at(docs, i);
                const char *name = jv_get_str(doc, "Name");
                long long bytes;
                struct err e = {0};
                if (!all && !jv_get(jv_get(doc, "Labels"), VOLUME_ANONYMOUS_LABEL))
                        continue;
                bytes = fs_tree_size(jv_get_str(doc, "Mountpoint"));
                if (volume_remove(cli, name, false, &e) < 0) {
                        if (e.code != EBUSY && e.code != ENOENT)
                                fprintf(stderr, "warning: %s, ignoring\n", e.msg);
                        continue;
                }
                *reclaimed += bytes > 0 ? bytes : 0;
                util_strv_push(&deleted, name);
        }
        sweep(cli);
        if (deleted && deleted[0]) {
                printf("Deleted Volumes:\n");
                for (char **p = deleted; *p; p++)
                        printf("%s\n", *p);
                printf("\n");
        }
        return 0;
}

int volume_prune(const struct cli *cli, bool all, char *const *labels, char *const *not_labels,
                 long long *reclaimed, struct err *err)
{
        _cleanup_jv_ struct jv *docs = NULL;
        struct vfilter f = {.dangling = 1, .all = -1};
        _cleanup_close_ int guard = -1;
        int r = 0;

        for (char *const *l = labels; r >= 0 && l && *l; l++)
                r = util_strv_push(&f.labels, *l);
        for (char *const *l = not_labels; r >= 0 && l && *l; l++)
                r = util_strv_push(&f.not_labels, *l);
        if (r < 0)
                r = err_set(err, -ENOMEM, "parsing filters");
        if (r >= 0)
                r = guard = volume_guard(cli, true, err);
        if (r >= 0)
                r = select_volumes(cli, &f, &docs, err);
        if (r >= 0 && docs)
                r = prune(cli, docs, all, reclaimed);
        vfilter_free(&f);
        return r < 0 ? r : 0;
}

int volume_guard(const struct cli *cli, bool exclusive, struct err *err)
{
        _cleanup_free_ char *path = cli_root_path(cli, "volumes.lock");
        int fd;

        if (!path || fs_mkdir_p(cli->root, 0700, err) < 0)
                return err_set(err, -ENOMEM, "locking volumes");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return err_errno(err, "opening %s", path);
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR) {
                        close(fd);
                        return err_errno(err, "locking %s", path);
                }
        return fd;
}

static int cmd_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                bool force, all;
                char **filters;
        } o = {0};
        static const struct opt_def defs[] = {
                {"force", 'f', OPT_BOOL, offsetof(__typeof__(o), force)},
                {"all", 'a', OPT_BOOL, offsetof(__typeof__(o), all)},
                {"filter", 0, OPT_LIST, offsetof(__typeof__(o), filters)},
                OPT_END,
        };
        _cleanup_jv_ struct jv *docs = NULL;
        struct vfilter f = {0};
        int k = opt_parse(defs, argc - 1, argv + 1, false, &o, err), r;

        if (k != 0) {
                opt_free_lists(defs, &o);
                return usage(cli, "prune", err, k, "accepts no arguments");
        }
        r = vfilter_parse(o.filters, " label label! all ", &f, err);
        opt_free_lists(defs, &o);
        if (r >= 0 && f.all >= 0)
                o.all = f.all;
        /* Only volumes no container references are candidates; creates in progress (which
         * have made their volumes but not yet saved the container that uses them) finish
         * first. */
        f.dangling = 1;
        if (r >= 0 && (o.force || prune_confirm(o.all ? "WARNING! This will remove all local "
                                                        "volumes not used by at least one "
                                                        "container."
                                                      : "WARNING! This will remove anonymous "
                                                        "local volumes not used by at least one "
                                                        "container."))) {
                _cleanup_close_ int guard = volume_guard(cli, true, err);
                long long reclaimed = 0;
                r = guard < 0 ? guard : select_volumes(cli, &f, &docs, err);
                if (r >= 0 && docs)
                        r = prune(cli, docs, o.all, &reclaimed);
                if (r >= 0)
                        prune_print_total(reclaimed);
        }
        vfilter_free(&f);
        return r < 0 ? r : 0;
}

int volume_cmd(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"create", cmd_create},   {"ls", cmd_ls}, {"list", cmd_ls},
                {"inspect", cmd_inspect}, {"rm", cmd_rm}, {"remove", cmd_rm},
                {"prune", cmd_prune},
        };

        return cli_dispatch(cli, "volume", sub, sizeof(sub) / sizeof(sub[0]),
                            "create, ls, inspect, rm, prune", argc, argv, err);
}

void volume_release_anonymous(const struct cli *cli, const struct jv *doc)
{
        const struct jv *mounts = jv_get(doc, "Mounts");

        for (size_t i = 0; i < jv_len(mounts); i++) {
                const struct jv *m = jv_at(mounts, i);
                struct err e = {0};
                if (!jv_get_bool(m, "Anonymous") || strcmp(jv_get_str(m, "Type") ?: "", "volume"))
                        continue;
                /* Still used (by --volumes-from receivers): it stays, as in Docker. */
                if (volume_remove(cli, jv_get_str(m, "Name") ?: "", false, &e) < 0 &&
                    e.code != EBUSY && e.code != ENOENT)
                        fprintf(stderr, "warning: %s, ignoring\n", e.msg);
        }
}
