#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "mountspec.h"
#include "opt.h"
#include "volume.h"

/* ---- helpers shared by the parsers ---- */

/* Go's path.Clean: one slash between elements, no "." elements, ".." folded lexically, never
 * above the root; "" becomes ".". */
static char *path_clean(const char *p)
{
        size_t n = strlen(p), r = 0, w = 0, floor = 0;
        bool rooted = p[0] == '/';
        char *out = malloc(n + 2);

        if (!out)
                return NULL;
        if (rooted) {
                out[w++] = '/';
                r = floor = 1;
        }
        while (r < n) {
                bool end1 = r + 1 == n || p[r + 1] == '/';
                bool end2 = r + 2 >= n || p[r + 2] == '/';
                if (p[r] == '/') {
                        r++;
                } else if (p[r] == '.' && end1) {
                        r++;
                } else if (p[r] == '.' && p[r + 1] == '.' && end2) {
                        r += 2;
                        if (w > floor) {
                                for (w--; w > floor && out[w] != '/'; w--)
                                        ;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                floor = w;
                        }
                } else {
                        if (w != (rooted ? 1u : 0u))
                                out[w++] = '/';
                        for (; r < n && p[r] != '/'; r++)
                                out[w++] = p[r];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

static bool is_root(const char *p)
{
        _cleanup_free_ char *c = path_clean(p);

        return c && !strcmp(c, "/");
}

/* Go's %q for the short strings that end up in error messages. */
static void go_quote(const char *s, char *out, size_t len)
{
        size_t w = 0;

        if (len < 3)
                return;
        out[w++] = '"';
        for (; *s && w + 6 < len; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        w += (size_t)snprintf(out + w, len - w, "\\%c", c);
                else if (c == '\n')
                        w += (size_t)snprintf(out + w, len - w, "\\n");
                else if (c == '\t')
                        w += (size_t)snprintf(out + w, len - w, "\\t");
                else if (c < 0x20 || c == 0x7f)
                        w += (size_t)snprintf(out + w, len - w, "\\x%02x", c);
                else
                        out[w++] = (char)c;
        }
        out[w++] = '"';
        out[w] = '\0';
}

/* ---- the -v mode field ---- */

enum mode_kind { MODE_RW, MODE_LABEL, MODE_PROPAGATION, MODE_COPY, MODE_CONSISTENCY, MODE_KINDS };

static const struct {
        const char *word;
        enum mode_kind kind;
} mode_words[] = {
        {"ro", MODE_RW},
        {"rw", MODE_RW},
        {"z", MODE_LABEL},
        {"Z", MODE_LABEL},
        {"private", MODE_PROPAGATION},
        {"rprivate", MODE_PROPAGATION},
        {"shared", MODE_PROPAGATION},
        {"rshared", MODE_PROPAGATION},
        {"slave", MODE_PROPAGATION},
        {"rslave", MODE_PROPAGATION},
        {"nocopy", MODE_COPY},
        {"consistent", MODE_CONSISTENCY},
        {"cached", MODE_CONSISTENCY},
        {"delegated", MODE_CONSISTENCY},
};

struct mode {
        bool readonly, nocopy;
        const char *propagation; /* static string, NULL when not given */
};

/* Docker's linuxValidMountMode: known words, each kind at most once; "" is valid. */
static bool parse_mode(const char *mode, struct mode *ret)
{
        int count[MODE_KINDS] = {0};
        const char *p = mode;

        memset(ret, 0, sizeof(*ret));
        if (!*mode)
                return true;
        for (;;) {
                size_t n = strcspn(p, ",");
                size_t i;
                for (i = 0; i < ARRAY_SIZE(mode_words); i++)
                        if (strlen(mode_words[i].word) == n && !strncmp(p, mode_words[i].word, n))
                                break;
                if (i == ARRAY_SIZE(mode_words) || ++count[mode_words[i].kind] > 1)
                        return false;
                if (!strcmp(mode_words[i].word, "ro"))
                        ret->readonly = true;
                if (mode_words[i].kind == MODE_COPY)
                        ret->nocopy = true;
                if (mode_words[i].kind == MODE_PROPAGATION)
                        ret->propagation = mode_words[i].word;
                if (!p[n])
                        break;
                p += n + 1;
        }
        return true;
}

static bool valid_propagation(const char *p)
{
        for (size_t i = 0; i < ARRAY_SIZE(mode_words); i++)
                if (mode_words[i].kind == MODE_PROPAGATION && !strcmp(mode_words[i].word, p))
                        return true;
        return false;
}

/* ---- the daemon's validation (validateMountConfigImpl, without the bind source check) ---- */

/* Docker's mount.Mount, as far as the validation looks at it. */
struct raw_mount {
        const char *type, *source, *target;
        bool readonly;
        bool bind_opts, volume_opts; /* whether the BindOptions / VolumeOptions objects exist */
        const char *propagation;
};

static const char *not_absolute(const char *path, char *buf, size_t len)
{
        snprintf(buf, len, "invalid mount path: '%s' mount path must be absolute", path);
        return buf;
}

static const char *why_invalid_bind(const struct raw_mount *m, char *buf, size_t len)
{
        if (!*m->source)
                return "field Source must not be empty";
        if (m->propagation && *m->propagation && !valid_propagation(m->propagation)) {
                snprintf(buf, len, "invalid propagation mode: %s", m->propagation);
                return buf;
        }
        if (m->volume_opts)
                return "field VolumeOptions must not be specified";
        if (m->source[0] != '/')
                return not_absolute(m->source, buf, len);
        return NULL;
}

static const char *why_invalid(const struct raw_mount *m, char *buf, size_t len)
{
        if (!*m->target)
                return "field Target must not be empty";
        if (is_root(m->target))
                return "invalid specification: destination can't be '/'";
        if (m->target[0] != '/')
                return not_absolute(m->target, buf, len);
        if (!strcmp(m->type, "bind"))
                return why_invalid_bind(m, buf, len);
        if (!strcmp(m->type, "volume") && m->bind_opts)
                return "field BindOptions must not be specified";
        if (!strcmp(m->type, "volume") && m->readonly && !*m->source)
                return "must not set ReadOnly mode when using anonymous volumes";
        if (!strcmp(m->type, "volume"))
                return NULL;
        if (!strcmp(m->type, "tmpfs") && m->bind_opts)
                return "field BindOptions must not be specified";
        if (!strcmp(m->type, "tmpfs") && *m->source)
                return "field Source must not be specified";
        if (!strcmp(m->type, "tmpfs"))
                return NULL;
        return "mount type unknown";
}

static int validate(const struct raw_mount *m, char *msg, size_t len)
{
        char buf[ERR_MSG_MAX / 2];
        const char *why = why_invalid(m, buf, sizeof(buf));

        if (!why)
                return 0;
        snprintf(msg, len, "invalid mount config for type \"%s\": %s", m->type, why);
        return -EINVAL;
}

/* Moves the parsed fields into *ret; the caller's struct is untouched on failure. */
static int finish(struct mount_spec *m, struct mount_spec *ret, struct err *err)
{
        if (!m->target || !m->mode || (m->type == MOUNT_BIND && (!m->source || !m->propagation))) {
                mountspec_free(m);
                return err_set(err, -ENOMEM, "parsing a mount");
        }
        *ret = *m;
        memset(m, 0, sizeof(*m));
        return 0;
}

/* A named volume's name is checked when Docker creates it: "create NAME: ...". */
static int check_volume_name(const char *name, struct err *err)
{
        struct err e = {0};
        int r = volume_check_name(name, &e);

        return r < 0 ? err_set(err, r, "create %s: %s", name, e.msg) : 0;
}

/* ---- -v ---- */

int mountspec_parse_volume(const char *spec, struct mount_spec *ret, struct err *err)
{
        _cleanup_free_ char *copy = strdup(spec);
        char *arr[4] = {0}, msg[ERR_MSG_MAX];
        struct mount_spec m = {0};
        struct raw_mount raw = {0};
        struct mode mode;
        size_t n = 0;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing volume %s", spec);
        for (char *p = copy; n < 4; n++) {
                arr[n] = p;
                p = n < 3 ? strchr(p, ':') : NULL;
                if (!p) {
                        n++;
                        break;
                }
                *p++ = '\0';
        }
        if (!*arr[0] || n == 4 || (n == 2 && parse_mode(arr[1], &mode)))
                return err_set(err, -EINVAL, "invalid volume specification: '%s'", spec);
        raw.source = n == 1 ? "" : arr[0];
        raw.target = n == 1 ? arr[0] : arr[1];
        if (!parse_mode(n == 3 ? arr[2] : "", &mode))
                return err_set(err, -EINVAL, "invalid mode: %s", arr[2]);
        raw.type = raw.source[0] == '/' ? "bind" : "volume";
        raw.readonly = mode.readonly;
        raw.volume_opts = mode.nocopy;
        raw.bind_opts = mode.propagation != NULL;
        raw.propagation = mode.propagation;
        if (validate(&raw, msg, sizeof(msg)) < 0)
                return err_set(err, -EINVAL, "invalid volume specification: '%s': %s", spec, msg);
        if (!strcmp(raw.type, "volume") && *raw.source && check_volume_name(raw.source, err) < 0)
                return -err->code;
        m.type = raw.type[0] == 'b' ? MOUNT_BIND : MOUNT_VOLUME;
        m.readonly = mode.readonly;
        m.nocopy = mode.nocopy;
        m.target = path_clean(raw.target);
        m.mode = strdup(n == 3 ? arr[2] : "");
        if (m.type == MOUNT_BIND) {
                m.source = path_clean(raw.source);
                m.propagation = strdup(mode.propagation ?: "rprivate");
                m.create_source = true;
        } else if (*raw.source) {
                m.source = strdup(raw.source);
                if (!m.source)
                        return err_set(err, -ENOMEM, "parsing volume %s", spec);
        }
        return finish(&m, ret, err);
}

/* ---- --volumes-from ---- */

int mountspec_parse_volumes_from(const char *spec, char **ret_container, bool *ret_readonly,
                                 struct err *err)
{
        const char *colon = strchr(spec, ':');
        const char *mode = colon ? colon + 1 : "";
        struct mode m;
        char *id;

        if (!*spec)
                return err_set(err, -EINVAL,
                               "volumes-from specification cannot be an empty string");
        /* Propagation and copy modes belong to the source container's mounts. */
        if (!parse_mode(mode, &m) || m.propagation || m.nocopy)
                return err_set(err, -EINVAL, "invalid mode: %s", mode);
        id = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
        if (!id)
                return err_set(err, -ENOMEM, "parsing --volumes-from %s", spec);
        *ret_container = id;
        *ret_readonly = m.readonly;
        return 0;
}

/* ---- --tmpfs and tmpfs options ---- */

/* moby/sys/mount's option words: flags, and the data keys tmpfs accepts. */
static const struct {
        const char *word;
        unsigned long flag; /* 0: accepted as Docker does, no effect on a tmpfs mount */
        bool clear;
} tmpfs_flags[] = {
        {"ro", MS_RDONLY, false},
        {"rw", MS_RDONLY, true},
        {"suid", MS_NOSUID, true},
        {"nosuid", MS_NOSUID, false},
        {"dev", MS_NODEV, true},
        {"nodev", MS_NODEV, false},
        {"exec", MS_NOEXEC, true},
        {"noexec", MS_NOEXEC, false},
        {"sync", MS_SYNCHRONOUS, false},
        {"async", MS_SYNCHRONOUS, true},
        {"dirsync", MS_DIRSYNC, false},
        {"mand", MS_MANDLOCK, false},
        {"nomand", MS_MANDLOCK, true},
        {"atime", MS_NOATIME, true},
        {"noatime", MS_NOATIME, false},
        {"diratime", MS_NODIRATIME, true},
        {"nodiratime", MS_NODIRATIME, false},
        {"relatime", MS_RELATIME, false},
        {"norelatime", MS_RELATIME, true},
        {"strictatime", MS_STRICTATIME, false},
        {"nostrictatime", MS_STRICTATIME, true},
        {"remount", 0, false},
        {"bind", 0, false},
        {"rbind", 0, false},
        {"unbindable", 0, false},
        {"runbindable", 0, false},
        {"private", 0, false},
        {"rprivate", 0, false},
        {"shared", 0, false},
        {"rshared", 0, false},
        {"slave", 0, false},
        {"rslave", 0, false},
};

static const char *const tmpfs_data_keys[] = {"size",      "mode",      "uid",  "gid",
                                              "nr_inodes", "nr_blocks", "mpol", ""};

static int find_flag(const char *word)
{
        for (size_t i = 0; i < ARRAY_SIZE(tmpfs_flags); i++)
                if (!strcmp(tmpfs_flags[i].word, word))
                        return (int)i;
        return -1;
}

static int check_data_word(const char *word, struct err *err)
{
        size_t kl = strcspn(word, "=");
        char k[ERR_MSG_MAX / 4], v[ERR_MSG_MAX / 4];

        for (size_t i = 0; i < ARRAY_SIZE(tmpfs_data_keys); i++)
                if (strlen(tmpfs_data_keys[i]) == kl && !strncmp(word, tmpfs_data_keys[i], kl))
                        return 0;
        {
                _cleanup_free_ char *key = strndup(word, kl);
                go_quote(key ?: "", k, sizeof(k));
        }
        if (!word[kl])
                return err_set(err, -EINVAL, "Invalid tmpfs option [%s]", k);
        go_quote(word + kl + 1, v, sizeof(v));
        return err_set(err, -EINVAL, "Invalid tmpfs option [%s %s]", k, v);
}

/* Data keys keep their first position; a later value replaces an earlier one (Docker's
 * MergeTmpfsOptions). */
static int data_set(char ***data, const char *word)
{
        size_t kl = strcspn(word, "=");

        for (char **p = *data; p && *p; p++)
                if (!strncmp(*p, word, kl) && ((*p)[kl] == '=' || !(*p)[kl])) {
                        char *n = strdup(word);
                        if (!n)
                                return -ENOMEM;
                        free(*p);
                        *p = n;
                        return 0;
                }
        return util_strv_push(data, word);
}

int mountspec_tmpfs_options(const char *opts, unsigned long *ret_flags, char **ret_data,
                            struct err *err)
{
        _cleanup_free_ char *copy = strdup(opts ?: "");
        _cleanup_strv_ char **data = NULL;
        unsigned long flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
        char *save = NULL, *data_str;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing tmpfs options");
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                int i = find_flag(w);
                if (i >= 0 && tmpfs_flags[i].clear)
                        flags &= ~tmpfs_flags[i].flag;
                else if (i >= 0)
                        flags |= tmpfs_flags[i].flag;
                else if (check_data_word(w, err) < 0)
                        return -err->code;
                else if (data_set(&data, w) < 0)
                        return err_set(err, -ENOMEM, "parsing tmpfs options");
        }
        data_str = util_strv_join(data, ",");
        if (!data_str)
                return err_set(err, -ENOMEM, "parsing tmpfs options");
        *ret_flags = flags;
        *ret_data = data_str;
        return 0;
}

int mountspec_mount_options(const char *opts, unsigned long *ret_flags,
                            unsigned long *ret_propagation, char **ret_data, struct err *err)
{
        static const struct {
                const char *word;
                unsigned long flag;
        } extra[] = {
                {"bind", MS_BIND},
                {"rbind", MS_BIND | MS_REC},
                {"private", MS_PRIVATE},
                {"rprivate", MS_PRIVATE | MS_REC},
                {"shared", MS_SHARED},
                {"rshared", MS_SHARED | MS_REC},
                {"slave", MS_SLAVE},
                {"rslave", MS_SLAVE | MS_REC},
                {"unbindable", MS_UNBINDABLE},
                {"runbindable", MS_UNBINDABLE | MS_REC},
        };
        _cleanup_free_ char *copy = strdup(opts ?: "");
        _cleanup_strv_ char **data = NULL;
        unsigned long flags = 0, prop = 0;
        char *save = NULL;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing mount options");
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                size_t k = 0;
                int i;
                while (k < ARRAY_SIZE(extra) && strcmp(extra[k].word, w))
                        k++;
                if (k < ARRAY_SIZE(extra) && (extra[k].flag & MS_BIND))
                        flags |= extra[k].flag;
                else if (k < ARRAY_SIZE(extra))
                        prop = extra[k].flag;
                else if ((i = find_flag(w)) >= 0 && tmpfs_flags[i].clear)
                        flags &= ~tmpfs_flags[i].flag;
                else if (i >= 0)
                        flags |= tmpfs_flags[i].flag;
                else if (strcmp(w, "defaults") && util_strv_push(&data, w) < 0)
                        return err_set(err, -ENOMEM, "parsing mount options");
        }
        *ret_data = util_strv_join(data, ",");
        if (!*ret_data)
                return err_set(err, -ENOMEM, "parsing mount options");
        *ret_flags = flags;
        *ret_propagation = prop;
        return 0;
}

/* The words of a tmpfs option string are flags or known data keys; "ro" makes it read-only
 * (the last of ro/rw wins). */
static int check_tmpfs_opts(const char *opts, bool *ret_readonly, struct err *err)
{
        _cleanup_free_ char *copy = strdup(opts);
        char *save = NULL;
        bool ro = false;

        if (!copy)
                return err_set(err, -ENOMEM, "parsing tmpfs options");
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                if (!strcmp(w, "ro") || !strcmp(w, "rw"))
                        ro = w[1] == 'o';
                else if (find_flag(w) < 0 && check_data_word(w, err) < 0)
                        return -err->code;
        }
        *ret_readonly = ro;
        return 0;
}

int mountspec_parse_tmpfs(const char *spec, struct mount_spec *ret, struct err *err)
{
        const char *colon = strchr(spec, ':');
        _cleanup_free_ char *target = colon ? strndup(spec, (size_t)(colon - spec)) : strdup(spec);
        struct mount_spec m = {.type = MOUNT_TMPFS};

        if (!target)
                return err_set(err, -ENOMEM, "parsing --tmpfs %s", spec);
        if (is_root(target))
                return err_set(err, -EINVAL, "invalid specification: destination can't be '/'");
        if (target[0] != '/')
                return err_set(err, -EINVAL, "invalid mount path: '%s' mount path must be absolute",
                               target);
        if (colon && colon[1]) {
                if (check_tmpfs_opts(colon + 1, &m.readonly, err) < 0)
                        return -err->code;
                m.tmpfs_opts = strdup(colon + 1);
                if (!m.tmpfs_opts)
                        return err_set(err, -ENOMEM, "parsing --tmpfs %s", spec);
        }
        m.target = path_clean(target);
        m.mode = strdup("");
        return finish(&m, ret, err);
}

/* ---- --mount ---- */

/* What the CLI collects from the fields before the daemon validates it. */
struct mount_fields {
        char *type, *source, *target, *propagation, *driver;
        bool readonly, nocopy, create_src;
        bool bind_opts, volume_opts, tmpfs_opts;
        long long tmpfs_size;
        unsigned long tmpfs_mode;
        char **labels, **driver_opts;
};

static void mount_fields_free(struct mount_fields *f)
{
        free(f->type);
        free(f->source);
        free(f->target);
        free(f->propagation);
        free(f->driver);
        util_strv_free(f->labels);
        util_strv_free(f->driver_opts);
}

static int set_string(char **field, const char *val)
{
        char *s = strdup(val);

        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static void lower(char *s)
{
        for (; s && *s; s++)
                *s = (char)tolower((unsigned char)*s);
}

/* strconv.ParseBool, where a bare key means true. */
static int field_bool(const char *key, const char *val, bool *ret, struct err *err)
{
        if (opt_parse_bool(val ?: "true", ret) < 0)
                return err_set(err, -EINVAL, "invalid value for %s: %s", key, val);
        return 0;
}

static int f_type(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        if (set_string(&f->type, val) < 0)
                return err_set(err, -ENOMEM, "parsing --mount");
        lower(f->type);
        return 0;
}

static int f_source(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        return set_string(&f->source, val) < 0 ? err_set(err, -ENOMEM, "parsing --mount") : 0;
}

static int f_target(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        return set_string(&f->target, val) < 0 ? err_set(err, -ENOMEM, "parsing --mount") : 0;
}

static int f_readonly(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        return field_bool(key, val, &f->readonly, err);
}

static int f_consistency(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        /* Only meaningful on Docker Desktop for Mac; Linux ignores it. */
        (void)f, (void)key, (void)val, (void)err;
        return 0;
}

static int f_propagation(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        f->bind_opts = true;
        if (set_string(&f->propagation, val) < 0)
                return err_set(err, -ENOMEM, "parsing --mount");
        lower(f->propagation);
        return 0;
}

static int f_create_src(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        f->bind_opts = true;
        return field_bool(key, val, &f->create_src, err);
}

static int f_nocopy(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        f->volume_opts = true;
        if (opt_parse_bool(val ?: "true", &f->nocopy) < 0)
                return err_set(err, -EINVAL, "invalid value for volume-nocopy: %s", val);
        return 0;
}

static int f_label(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        f->volume_opts = true;
        /* Docker drops a label with an empty key. */
        if (*val == '=' || !*val)
                return 0;
        return util_strv_push(&f->labels, val) < 0 ? err_set(err, -ENOMEM, "parsing --mount") : 0;
}

/* volume-opt=KEY=VALUE (or KEY): the local driver's options for the volume this mount
 * creates. */
static int f_driver_opt(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        f->volume_opts = true;
        return util_strv_push(&f->driver_opts, val) < 0 ? err_set(err, -ENOMEM, "parsing --mount")
                                                        : 0;
}

static int f_driver(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)key;
        f->volume_opts = true;
        return set_string(&f->driver, val) < 0 ? err_set(err, -ENOMEM, "parsing --mount") : 0;
}

static int f_tmpfs_size(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        f->tmpfs_opts = true;
        if (util_parse_ram_bytes(val, &f->tmpfs_size) < 0)
                return err_set(err, -EINVAL, "invalid value for %s: %s", key, val);
        return 0;
}

static int f_tmpfs_mode(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        char *end = NULL;
        unsigned long long m;

        f->tmpfs_opts = true;
        errno = 0;
        m = strtoull(val, &end, 8);
        if (!*val || *end || errno || !isdigit((unsigned char)*val) || m > 0xffffffffULL)
                return err_set(err, -EINVAL, "invalid value for %s: %s", key, val);
        f->tmpfs_mode = (unsigned long)m;
        return 0;
}

static int f_unsupported(struct mount_fields *f, const char *key, const char *val, struct err *err)
{
        (void)f, (void)val;
        return err_set(err, -ENOTSUP, "%s is not supported by hawser", key);
}

static const struct mount_key {
        const char *name;
        bool bare_ok; /* a boolean that may be given without "=VALUE" */
        int (*set)(struct mount_fields *f, const char *key, const char *val, struct err *err);
} mount_keys[] = {
        {"type", false, f_type},
        {"source", false, f_source},
        {"src", false, f_source},
        {"target", false, f_target},
        {"dst", false, f_target},
        {"destination", false, f_target},
        {"readonly", true, f_readonly},
        {"ro", true, f_readonly},
        {"consistency", false, f_consistency},
        {"bind-propagation", false, f_propagation},
        {"bind-create-src", true, f_create_src},
        {"bind-create-mountpoint", true, f_create_src},
        {"bind-nonrecursive", true, f_unsupported},
        {"bind-recursive", false, f_unsupported},
        {"volume-nocopy", true, f_nocopy},
        {"volume-label", false, f_label},
        {"volume-driver", false, f_driver},
        {"volume-opt", false, f_driver_opt},
        {"volume-subpath", false, f_unsupported},
        {"tmpfs-size", false, f_tmpfs_size},
        {"tmpfs-mode", false, f_tmpfs_mode},
};

static int mount_field(struct mount_fields *f, const char *field, struct err *err)
{
        _cleanup_free_ char *key = strndup(field, strcspn(field, "="));
        const char *eq = strchr(field, '=');

        if (!key)
                return err_set(err, -ENOMEM, "parsing --mount");
        lower(key);
        for (size_t i = 0; i < ARRAY_SIZE(mount_keys); i++) {
                if (strcmp(mount_keys[i].name, key))
                        continue;
                if (!eq && !mount_keys[i].bare_ok)
                        break;
                return mount_keys[i].set(f, key, eq ? eq + 1 : NULL, err);
        }
        if (!eq)
                return err_set(err, -EINVAL, "invalid field '%s' must be a key=value pair", field);
        return err_set(err, -EINVAL, "unexpected key '%s' in '%s'", key, field);
}

/* One record of Go's encoding/csv with its defaults (comma, no lazy quotes). */
static int csv_fields(const char *s, char ***ret, struct err *err)
{
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        _cleanup_free_ char *buf = malloc(strlen(s) + 1);
        const char *p = s;

        if (!v || !buf)
                return err_set(err, -ENOMEM, "parsing --mount");
        if (!*s || *s == '\n' || *s == '\r')
                return err_set(err, -EINVAL, "EOF");
        for (;;) {
                size_t w = 0;
                if (*p == '"') {
                        for (p++;; p++) {
                                if (!*p)
                                        return err_set(err, -EINVAL,
                                                       "parse error on line 1, column %zu: "
                                                       "extraneous or missing \" in quoted-field",
                                                       (size_t)(p - s) + 1);
                                if (*p == '"' && p[1] == '"')
                                        buf[w++] = *p++;
                                else if (*p == '"')
                                        break;
                                else
                                        buf[w++] = *p;
                        }
                        p++;
                        if (*p && *p != ',' && *p != '\n' && *p != '\r')
                                return err_set(err, -EINVAL,
                                               "parse error on line 1, column %zu: extraneous "
                                               "or missing \" in quoted-field",
                                               (size_t)(p - s) + 1);
                } else {
                        for (; *p && *p != ',' && *p != '\n' && *p != '\r'; p++) {
                                if (*p == '"')
                                        return err_set(err, -EINVAL,
                                                       "parse error on line 1, column %zu: "
                                                       "bare \" in non-quoted-field",
                                                       (size_t)(p - s) + 1);
                                buf[w++] = *p;
                        }
                }
                buf[w] = '\0';
                if (util_strv_push(&v, buf) < 0)
                        return err_set(err, -ENOMEM, "parsing --mount");
                if (*p != ',')
                        break;
                p++;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* The CLI's own checks once every field is read. */
static int mount_fields_check(const struct mount_fields *f, struct err *err)
{
        if (!f->type || !*f->type)
                return err_set(err, -EINVAL, "type is required");
        if (!f->target || !*f->target)
                return err_set(err, -EINVAL, "target is required");
        if (f->volume_opts && strcmp(f->type, "volume"))
                return err_set(err, -EINVAL, "cannot mix 'volume-*' options with mount type '%s'",
                               f->type);
        if (f->bind_opts && strcmp(f->type, "bind"))
                return err_set(err, -EINVAL, "cannot mix 'bind-*' options with mount type '%s'",
                               f->type);
        if (f->tmpfs_opts && strcmp(f->type, "tmpfs"))
                return err_set(err, -EINVAL, "cannot mix 'tmpfs-*' options with mount type '%s'",
                               f->type);
        return 0;
}

/* ConvertTmpfsOptions: "ro", "mode=%o", "size=N[kmg]" (largest unit that divides evenly). */
static char *tmpfs_string(const struct mount_fields *f)
{
        static const struct {
                const char *suffix;
                long long div;
        } units[] = {{"g", 1LL << 30}, {"m", 1LL << 20}, {"k", 1LL << 10}};
        char buf[128] = "", part[48];
        long long size = f->tmpfs_size;
        const char *suffix = "";

        if (f->readonly)
                strcat(buf, "ro");
        if (f->tmpfs_mode) {
                snprintf(part, sizeof(part), "%smode=%lo", *buf ? "," : "", f->tmpfs_mode);
                strcat(buf, part);
        }
        for (size_t i = 0; size && i < ARRAY_SIZE(units); i++)
                if (size % units[i].div == 0) {
                        size /= units[i].div;
                        suffix = units[i].suffix;
                        break;
                }
        if (f->tmpfs_size) {
                snprintf(part, sizeof(part), "%ssize=%lld%s", *buf ? "," : "", size, suffix);
                strcat(buf, part);
        }
        return *buf ? strdup(buf) : NULL;
}

/* The daemon's side: validation, the volume name and driver, then the spec. */
static int mount_fields_build(struct mount_fields *f, struct mount_spec *ret, struct err *err)
{
        struct raw_mount raw = {.type = f->type,
                                .source = f->source ?: "",
                                .target = f->target,
                                .readonly = f->readonly,
                                .bind_opts = f->bind_opts,
                                .volume_opts = f->volume_opts,
                                .propagation = f->propagation};
        struct mount_spec m = {0};
        char msg[ERR_MSG_MAX];

        if (validate(&raw, msg, sizeof(msg)) < 0)
                return err_set(err, -EINVAL, "%s", msg);
        if (!strcmp(f->type, "volume") && f->driver && *f->driver && strcmp(f->driver, "local"))
                return err_set(err, -ENOENT,
                               "create %s: error looking up volume plugin %s: plugin \"%s\" not "
                               "found",
                               f->source ?: "", f->driver, f->driver);
        if (!strcmp(f->type, "volume") && *raw.source && check_volume_name(raw.source, err) < 0)
                return -err->code;
        m.type = !strcmp(f->type, "bind")    ? MOUNT_BIND
                 : strcmp(f->type, "volume") ? MOUNT_TMPFS
                                             : MOUNT_VOLUME;
        m.readonly = f->readonly;
        m.target = path_clean(f->target);
        m.mode = strdup("");
        if (m.type == MOUNT_BIND) {
                m.source = path_clean(f->source);
                m.propagation =
                        strdup(f->propagation && *f->propagation ? f->propagation : "rprivate");
                m.create_source = f->create_src;
        } else if (m.type == MOUNT_VOLUME) {
                m.source = f->source && *f->source ? TAKE_PTR(f->source) : NULL;
                m.nocopy = f->nocopy;
                m.volume_labels = TAKE_PTR(f->labels);
                m.driver_opts = TAKE_PTR(f->driver_opts);
        } else {
                m.tmpfs_opts = tmpfs_string(f);
        }
        return finish(&m, ret, err);
}

int mountspec_parse_mount(const char *spec, struct mount_spec *ret, struct err *err)
{
        _cleanup_strv_ char **fields = NULL;
        struct mount_fields f = {.type = strdup("volume")};
        struct err e = {0};
        int r;

        r = f.type ? csv_fields(spec, &fields, &e) : err_set(&e, -ENOMEM, "parsing --mount");
        for (char **p = fields; r >= 0 && *p; p++)
                r = mount_field(&f, *p, &e);
        if (r >= 0)
                r = mount_fields_check(&f, &e);
        if (r < 0) {
                mount_fields_free(&f);
                return err_client(err, r, "invalid argument \"%s\" for \"--mount\" flag: %s", spec,
                                  e.msg);
        }
        r = mount_fields_build(&f, ret, err);
        mount_fields_free(&f);
        return r;
}

/* ---- checks across specs and on the host ---- */

int mountspec_check_bind_source(const struct mount_spec *m, struct err *err)
{
        struct stat st;

        if (m->type != MOUNT_BIND || m->create_source || stat(m->source, &st) == 0)
                return 0;
        if (errno == ENOENT || errno == ENOTDIR)
                return err_set(err, -ENOENT,
                               "invalid mount config for type \"bind\": bind source path does "
                               "not exist: %s",
                               m->source);
        return err_errno(err, "invalid mount config for type \"bind\": stat %s", m->source);
}

int mountspec_check_duplicates(const struct mount_spec *v, size_t n, struct err *err)
{
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(v[i].target, v[j].target))
                                return err_set(err, -EINVAL, "Duplicate mount point: %s",
                                               v[i].target);
        return 0;
}

void mountspec_free(struct mount_spec *m)
{
        free(m->source);
        free(m->target);
        free(m->tmpfs_opts);
        free(m->propagation);
        free(m->mode);
        util_strv_free(m->volume_labels);
        util_strv_free(m->driver_opts);
        memset(m, 0, sizeof(*m));
}
