#include <ctype.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "health.h"
#include "cgroup.h"
#include "commands.h"
#include "container.h"
#include "image.h"
#include "links.h"
#include "network.h"
#include "opt.h"
#include "ports.h"
#include "table.h"
#include "template.h"
#include "teardown.h"
#include "volume.h"

struct ps_opts {
        bool all, quiet, no_trunc, latest, size;
        char *format, *last;
        char **filters;
};

/* Go's strconv.Quote for the printable text a command holds. */
static char *go_quote(const char *s)
{
        size_t n = strlen(s);
        char *out = malloc(4 * n + 3), *o = out;

        if (!out)
                return NULL;
        *o++ = '"';
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\') {
                        *o++ = '\\';
                        *o++ = (char)ch;
                } else if (ch == '\n') {
                        *o++ = '\\', *o++ = 'n';
                } else if (ch == '\t') {
                        *o++ = '\\', *o++ = 't';
                } else if (ch < 0x20 || ch == 0x7f) {
                        o += sprintf(o, "\\x%02x", ch);
                } else {
                        *o++ = (char)ch;
                }
        }
        *o++ = '"';
        *o = '\0';
        return out;
}

static char *command_string(const struct container *c, bool trunc)
{
        _cleanup_free_ char *cmd =
                strdup(jv_get_str(c->doc, "Path") ? jv_get_str(c->doc, "Path") : "");
        const struct jv *args = jv_get(c->doc, "Args");

        /* The daemon's list.go: arguments with a space are wrapped in single quotes. */
        for (size_t i = 0; cmd && i < jv_len(args); i++) {
                const char *a = jv_str(jv_at(args, i)) ?: "";
                char *n = util_printf(strchr(a, ' ') ? "%s '%s'" : "%s %s", cmd, a);
                free(cmd);
                cmd = n;
        }
        if (!cmd)
                return NULL;
        /* Docker cuts at 20 characters with an ellipsis (counted in runes), then quotes. */
        if (trunc && strlen(cmd) > 20) {
                size_t cut = 19;
                char *n;
                while (cut > 0 && ((unsigned char)cmd[cut] & 0xC0) == 0x80)
                        cut--;
                cmd[cut] = '\0';
                n = util_printf("%s…", cmd);
                free(cmd);
                cmd = n;
        }
        return cmd ? go_quote(cmd) : NULL;
}

static int64_t since_ns(const char *ts)
{
        int64_t t = 0;

        if (!ts || util_parse_time(ts, &t) < 0)
                return 0;
        return util_now_ns() - t;
}

static void status_string(const struct container *c, char *out, size_t len)
{
        const struct jv *st = jv_get(c->doc, "State");
        const char *s = container_status(c);
        char d[64];

        if (!strcmp(s, "running") || !strcmp(s, "paused")) {
                const char *note = !strcmp(s, "paused") ? "Paused" : health_ps_note(c->doc);
                util_human_duration(since_ns(jv_get_str(st, "StartedAt")), d, sizeof(d));
                snprintf(out, len, "Up %s%s%s%s", d, note ? " (" : "", note ? note : "",
                         note ? ")" : "");
        } else if (!strcmp(s, "exited") || !strcmp(s, "restarting")) {
                util_human_duration(since_ns(jv_get_str(st, "FinishedAt")), d, sizeof(d));
                snprintf(out, len, "%s (%lld) %s ago", s[0] == 'e' ? "Exited" : "Restarting",
                         jv_get_int(st, "ExitCode", 0), d);
        } else {
                snprintf(out, len, "%c%s", toupper((unsigned char)s[0]), s + 1);
        }
}

static char *labels_string(const struct jv *labels)
{
        _cleanup_strv_ char **keys = jv_keys(labels);
        char *s = strdup("");

        for (char **k = keys; s && k && *k; k++) {
                char *n = util_printf("%s%s%s=%s", s, *s ? "," : "", *k, jv_get_str(labels, *k));
                free(s);
                s = n;
        }
        return s;
}

/* Docker's PORTS column: published bindings of a running container, and exposed ports. */
static char *ports_string(const struct container *c)
{
        const struct jv *ports = jv_path(c->doc, "NetworkSettings.Ports");
        struct port_binding *v = NULL;
        size_t n = 0;
        char *out = NULL;
        struct err e = {0};

        /* Host networking publishes nothing and has no ports of its own (Docker: empty). */
        if (network_mode_of(c->doc, NULL) == NETWORK_MODE_HOST)
                return NULL;
        if (ports_from_state(jv_path(c->doc, "Config.ExposedPorts"),
                             container_is_running(c) ? ports : NULL, &v, &n) < 0)
                return NULL;
        if (n && ports_format_ps(v, n, &out, &e) < 0)
                out = NULL;
        free(v);
        return out;
}

static int by_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Docker's NAMES: the name, and untruncated also "linker/alias" for every legacy link to it,
 * all sorted and joined by ",". */
static char *names_string(const struct container *c, struct container **all, bool trunc)
{
        _cleanup_strv_ char **v = NULL;

        util_strv_push(&v, container_name(c));
        for (struct container **p = all; !trunc && p && *p; p++) {
                const struct jv *links = jv_path((*p)->doc, "HostConfig.Links");
                for (size_t i = 0; i < jv_len(links); i++) {
                        struct links_stored l;
                        _cleanup_free_ char *n = NULL;
                        if (links_parse_stored(jv_str(jv_at(links, i)), &l) < 0 ||
                            strcmp(l.child, container_name(c)))
                                continue;
                        n = util_printf("%s/%s", container_name(*p), l.alias);
                        if (n)
                                util_strv_push(&v, n);
                }
        }
        qsort(v, util_strv_len(v), sizeof(*v), by_str);
        return util_strv_join(v, ",");
}

/* The object `ps --format` templates see, with Docker's field names. */
/* Docker's container sizes: its writable layer (SizeRw) and that plus its image
 * (SizeRootFs); an image removed since counts 0. */
static void sizes_of(const struct cli *cli, const struct container *c, long long *rw,
                     long long *rootfs)
{
        _cleanup_free_ char *upper = util_printf("%s/upper", c->dir);
        _cleanup_jv_ struct jv *img = NULL;
        const char *image = jv_get_str(c->doc, "Image");
        struct err e = {0};

        *rw = upper ? fs_tree_size(upper) : 0;
        if (*rw < 0)
                *rw = 0;
        *rootfs = *rw;
        if (image && !strncmp(image, "sha256:", 7) && image_inspect(cli, image + 7, &img, &e) == 0)
                *rootfs += jv_get_int(img, "Size", 0);
}

static struct jv *ps_row(const struct cli *cli, const struct container *c, struct container **all,
                         bool trunc, bool size)
{
        struct jv *o = jv_new_object();
        _cleanup_free_ char *cmd = command_string(c, trunc), *labels = NULL;
        const char *created = jv_get_str(c->doc, "Created");
        char status[96], id[65], d[64], when[64] = "";
        int64_t t = 0;

        snprintf(id, sizeof(id), trunc ? "%.12s" : "%s", c->id);
        status_string(c, status, sizeof(status));
        util_human_duration(since_ns(created), d, sizeof(d));
        if (created && util_parse_time(created, &t) == 0) {
                time_t secs = (time_t)(t / 1000000000);
                struct tm tm;
                gmtime_r(&secs, &tm);
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        }
        labels = labels_string(jv_path(c->doc, "Config.Labels"));
        jv_set_str(o, "ID", id);
        jv_set_str(o, "Image", jv_str(jv_path(c->doc, "Config.Image")));
        jv_set_str(o, "Command", cmd);
        jv_set_str(o, "CreatedAt", when);
        {
                char *rf = util_printf("%s ago", d);
                jv_set_str(o, "RunningFor", rf);
                free(rf);
        }
        {
                _cleanup_free_ char *ports = ports_string(c);
                jv_set_str(o, "Ports", ports ? ports : "");
        }
        jv_set_str(o, "State", container_status(c));
        jv_set_str(o, "Status", status);
        if (size) {
                long long rw, rootfs;
                char a[32], b[32], *sz;
                sizes_of(cli, c, &rw, &rootfs);
                util_human_size_prec(rw, 3, a, sizeof(a));
                util_human_size_prec(rootfs, 3, b, sizeof(b));
                sz = util_printf("%s (virtual %s)", a, b);
                jv_set_str(o, "Size", sz ? sz : "");
                free(sz);
        } else {
                jv_set_str(o, "Size", "0B");
        }
        {
                _cleanup_free_ char *names = names_string(c, all, trunc);
                jv_set_str(o, "Names", names ? names : container_name(c));
        }
        jv_set_str(o, "Labels", labels);
        jv_set(o, "LabelMap", jv_copy(jv_path(c->doc, "Config.Labels")));
        jv_set_str(o, "Mounts", "");
        {
                _cleanup_free_ char *nets = network_names_of(c);
                jv_set_str(o, "Networks", nets ? nets : "");
        }
        return o;
}

struct jv *ps_container_row(const struct cli *cli, const struct container *c, bool trunc)
{
        return ps_row(cli, c, NULL, trunc, false);
}

int ps_df_rows(const struct cli *cli, struct jv ***ret, size_t *ret_n, struct err *err)
{
        struct container **all = NULL;
        struct jv **rows;
        size_t n = 0;
        int r = teardown_list(cli, &all, err);

        if (r < 0)
                return r;
        while (all[n])
                n++;
        rows = calloc(n + 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++) {
                const struct jv *ms = jv_get(all[i]->doc, "Mounts");
                _cleanup_strv_ char **vols = NULL;
                _cleanup_free_ char *names = NULL;
                long long rw, rootfs;
                char buf[32];
                for (size_t k = 0; k < jv_len(ms); k++)
                        if (!strcmp(jv_get_str(jv_at(ms, k), "Type") ?: "", "volume"))
                                util_strv_push(&vols, jv_get_str(jv_at(ms, k), "Name") ?: "");
                rows[i] = ps_row(cli, all[i], all, true, false);
                sizes_of(cli, all[i], &rw, &rootfs);
                util_human_size_prec(rw, 3, buf, sizeof(buf));
                jv_set_str(rows[i], "Size", buf);
                snprintf(buf, sizeof(buf), "%zu", util_strv_len(vols));
                jv_set_str(rows[i], "LocalVolumes", buf);
                names = util_strv_join(vols, ",");
                jv_set_str(rows[i], "Mounts", names ?: "");
        }
        container_list_free(all);
        if (!rows)
                return err_set(err, -ENOMEM, "listing containers");
        *ret = rows;
        *ret_n = n;
        return 0;
}

static bool label_match(const struct container *c, const char *want)
{
        const struct jv *labels = jv_path(c->doc, "Config.Labels");
        const char *eq = strchr(want, '=');
        char key[256];
        const char *v;

        snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - want) : (int)strlen(want), want);
        v = jv_get_str(labels, key);
        return v && (!eq || !strcmp(v, eq + 1));
}

static bool ancestor_match(const struct cli *cli, const struct container *c, const char *want)
{
        char id[65];
        struct err e = {0};
        const char *img = jv_get_str(c->doc, "Image");

        if (image_resolve(cli, want, id, &e) < 0)
                return false;
        return img && !strcmp(img + 7, id);
}

/* Docker matches names as a regular expression (unanchored, so a plain word is a substring
 * match); a pattern that does not compile matches nothing. */
static bool name_match(const char *name, const char *pattern)
{
        regex_t re;
        bool hit;

        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        hit = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        return hit;
}

static bool valid_status(const char *s)
{
        static const char *const ok[] = {"created", "restarting", "running", "removing",
                                         "paused",  "exited",     "dead"};

        for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
                if (!strcmp(s, ok[i]))
                        return true;
        return false;
}

static bool valid_health(const char *v)
{
        return !strcmp(v, "starting") || !strcmp(v, "healthy") || !strcmp(v, "unhealthy") ||
               !strcmp(v, "none");
}

/* One --filter KEY=VALUE; filters with the same key OR, different keys AND (Docker). With c
 * NULL it is only checked (Docker checks filters before it lists). */
static int filter_one(const struct cli *cli, const struct container *c, const char *f, bool *ret,
                      struct err *err)
{
        const char *eq = strchr(f, '='), *v = eq ? eq + 1 : "";
        size_t kl = eq ? (size_t)(eq - f) : strlen(f);
        long long code = 0;

#define KEY(k) (kl == strlen(k) && !strncmp(f, k, kl))
        *ret = false;
        if (!eq)
                return err_set(err, -EINVAL, "bad format of filter (expected name=value)");
        if (KEY("status") && !valid_status(v))
                return err_set(err, -EINVAL, "Invalid filter 'status=%s'", v);
        if (KEY("health") && !valid_health(v))
                return err_set(err, -EINVAL, "Unrecognised filter value for health: %s", v);
        if (KEY("exited") && util_parse_ll(v, -(1LL << 31), (1LL << 31) - 1, &code) < 0)
                return err_set(err, -EINVAL, "strconv.Atoi: parsing \"%s\": invalid syntax", v);
        if (!KEY("name") && !KEY("id") && !KEY("status") && !KEY("exited") && !KEY("label") &&
            !KEY("ancestor") && !KEY("health"))
                return err_set(err, -EINVAL, "invalid filter '%.*s'", (int)kl, f);
        if (!c)
                return 0;
        if (KEY("name"))
                *ret = name_match(container_name(c), v);
        else if (KEY("id"))
                *ret = !strncmp(c->id, v, strlen(v));
        else if (KEY("status"))
                *ret = !strcmp(container_status(c), v);
        else if (KEY("exited"))
                *ret = !strcmp(container_status(c), "exited") &&
                       jv_get_int(jv_get(c->doc, "State"), "ExitCode", -1) == code;
        else if (KEY("label"))
                *ret = label_match(c, v);
        else if (KEY("ancestor"))
                *ret = ancestor_match(cli, c, v);
        else
                *ret = !strcmp(health_status(c->doc), v);
#undef KEY
        return 0;
}

static int filter_keep(const struct cli *cli, const struct container *c, char **filters, bool *ret,
                       struct err *err)
{
        static const char *const keys[] = {"name",     "id",     "status", "label",
                                           "ancestor", "exited", "health"};

        for (char **f = filters; f && *f; f++) {
                bool m;
                int r = filter_one(cli, c, *f, &m, err);
                if (r < 0)
                        return r;
        }
        *ret = true;
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
                bool seen = false, any = false;
                for (char **f = filters; f && *f; f++) {
                        bool m = false;
                        if (strncmp(*f, keys[k], strlen(keys[k])) || (*f)[strlen(keys[k])] != '=')
                                continue;
                        seen = true;
                        filter_one(cli, c, *f, &m, err);
                        any |= m;
                }
                if (seen && !any)
                        *ret = false;
        }
        return 0;
}

static struct jv *ps_headers(void)
{
        static const char *const h[][2] = {
                {"ID", "CONTAINER ID"},      {"Image", "IMAGE"},        {"Command", "COMMAND"},
                {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
                {"State", "STATE"},          {"Status", "STATUS"},      {"Size", "SIZE"},
                {"Names", "NAMES"},          {"Labels", "LABELS"},      {"Mounts", "MOUNTS"},
                {"Networks", "NETWORKS"},
        };
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(h); i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

/* Only a status filter widens ps beyond running containers (Docker). */
static bool has_status_filter(char **filters)
{
        for (; filters && *filters; filters++)
                if (!strncmp(*filters, "status=", 7))
                        return true;
        return false;
}

/* Docker's ps context has a method .Label "key"; our templates index a map instead. */
static char *rewrite_label_calls(const char *fmt)
{
        char *out = strdup(fmt), *p;

        while (out && (p = strstr(out, ".Label \""))) {
                char *n;
                *p = '\0';
                n = util_printf("%sindex .LabelMap \"%s", out, p + 8);
                free(out);
                out = n;
        }
        return out;
}

int cmd_ps(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"all", 'a', OPT_BOOL, offsetof(struct ps_opts, all)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct ps_opts, quiet)},
                {"no-trunc", 0, OPT_BOOL, offsetof(struct ps_opts, no_trunc)},
                {"latest", 'l', OPT_BOOL, offsetof(struct ps_opts, latest)},
                {"size", 's', OPT_BOOL, offsetof(struct ps_opts, size)},
                {"format", 0, OPT_STR, offsetof(struct ps_opts, format)},
                {"last", 'n', OPT_STR, offsetof(struct ps_opts, last)},
                {"filter", 'f', OPT_LIST, offsetof(struct ps_opts, filters)},
                OPT_END,
        };
        struct ps_opts o = {0};
        struct container **all = NULL;
        struct jv **rows = NULL;
        _cleanup_jv_ struct jv *headers = ps_headers();
        size_t n = 0;
        int r = opt_parse(defs, argc - 1, argv + 1, false, &o, err);
        long long last = -1;

        if (r != 0) {
                opt_free_lists(defs, &o);
                return cli_usage_error(cli, "ps", err, "%s",
                                       r < 0 ? err->msg : "\"hawser ps\" accepts no arguments.");
        }
        if (o.latest)
                last = 1;
        if (o.last && util_parse_ll(o.last, -1, 1 << 30, &last) < 0)
                r = err_set(err, -EINVAL, "invalid argument \"%s\" for \"-n\"", o.last);
        for (char **f = o.filters; r >= 0 && f && *f; f++)
                r = filter_one(cli, NULL, *f, &(bool){false}, err);
        if (r >= 0)
                r = teardown_list(cli, &all, err);
        for (struct container **c = all; r >= 0 && c && *c; c++) {
                bool keep = true;
                if (last >= 0 && (long long)n >= last)
                        break;
                /* Running ones by default, restarting ones too (Docker: State.Running). */
                if (!o.all && last < 0 && !has_status_filter(o.filters) &&
                    !container_is_running(*c) && !container_is_restarting(*c))
                        continue;
                r = filter_keep(cli, *c, o.filters, &keep, err);
                if (r < 0 || !keep)
                        continue;
                rows = realloc(rows, (n + 1) * sizeof(*rows));
                rows[n++] = ps_row(cli, *c, all, !o.no_trunc,
                                   o.size || (o.format && strstr(o.format, ".Size")));
        }
        if (r >= 0) {
                const char *fmt = o.quiet    ? "{{.ID}}"
                                  : o.format ? o.format
                                  : o.size   ? "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t"
                                               "{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t"
                                               "{{.Names}}\\t{{.Size}}"
                                             : "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t"
                                               "{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t"
                                               "{{.Names}}";
                _cleanup_free_ char *f = rewrite_label_calls(fmt);
                r = f ? template_print_rows(f, headers, rows, n, err)
                      : err_set(err, -ENOMEM, "formatting");
        }
        for (size_t i = 0; i < n; i++)
                jv_put(rows[i]);
        free(rows);
        container_list_free(all);
        opt_free_lists(defs, &o);
        return r < 0 ? r : 0;
}

/* ---- inspect ---- */

static int inspect_one(const struct cli *cli, const char *ref, const char *type, bool size,
                       struct jv **ret, struct err *err)
{
        struct container *c = NULL;
        char id[65];

        if ((!*type || !strcmp(type, "container")) && teardown_find_any(cli, ref, &c, err) == 0) {
                struct jv *mounts;
                *ret = jv_copy(c->doc);
                jv_del(*ret, "Hawser");
                /* Docker's types.MountPoint: hawser's own bookkeeping stays out. */
                mounts = jv_get(*ret, "Mounts");
                for (size_t i = 0; i < jv_len(mounts); i++) {
                        struct jv *m = jv_at(mounts, i);
                        jv_del(m, "Anonymous");
                        jv_del(m, "NoCopy");
                        jv_del(m, "TmpfsOptions");
                        if (!jv_get(m, "Name"))
                                jv_set_str(m, "Name", "");
                        if (!jv_get(m, "Driver"))
                                jv_set_str(m, "Driver", "");
                }
                /* -s: Docker's SizeRw and SizeRootFs. */
                if (size) {
                        long long rw, rootfs;
                        sizes_of(cli, c, &rw, &rootfs);
                        jv_set_int(*ret, "SizeRw", rw);
                        jv_set_int(*ret, "SizeRootFs", rootfs);
                }
                container_free(c);
                return 0;
        }
        if ((!*type || !strcmp(type, "image")) && image_resolve(cli, ref, id, err) == 0)
                return image_inspect(cli, id, ret, err);
        /* Docker's CLI order: containers, images, networks, volumes. */
        if ((!*type || !strcmp(type, "network")) && network_inspect(cli, ref, ret, err) == 0)
                return 0;
        if (!strcmp(type, "network"))
                return -err->code;
        if ((!*type || !strcmp(type, "volume")) && volume_inspect(cli, ref, ret, err) == 0)
                return 0;
        if (!strcmp(type, "volume"))
                return -err->code;
        if (!strcmp(type, "container"))
                return err_set(err, -ENOENT, "No such container: %s", ref);
        if (!strcmp(type, "image"))
                return err_set(err, -ENOENT, "No such image: %s", ref);
        return err_set(err, -ENOENT, "No such object: %s", ref);
}

struct inspect_q {
        const struct cli *cli;
        const char *type;
        bool size;
};

static int inspect_get(const char *ref, void *ud, struct jv **ret, struct err *err)
{
        const struct inspect_q *q = ud;

        return inspect_one(q->cli, ref, q->type, q->size, ret, err);
}

int cmd_inspect(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct {
                char *format, *type;
                bool size;
        } o = {0};
        static const struct opt_def defs[] = {
                {"format", 'f', OPT_STR, offsetof(__typeof__(o), format)},
                {"type", 0, OPT_STR, offsetof(__typeof__(o), type)},
                {"size", 's', OPT_BOOL, offsetof(__typeof__(o), size)},
                OPT_END,
        };
        struct inspect_q q = {.cli = cli};
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err);

        if (n < 0)
                return cli_usage_error(cli, "inspect", err, "%s", err->msg);
        if (n < 1)
                return cli_usage_error(cli, "inspect", err,
                                       "\"hawser inspect\" requires at least 1 argument.");
        if (o.type && strcmp(o.type, "container") && strcmp(o.type, "image") &&
            strcmp(o.type, "network") && strcmp(o.type, "volume"))
                return err_set(err, -EINVAL, "\"%s\" is not a valid value for --type", o.type);
        q.type = o.type ? o.type : "";
        q.size = o.size;
        /* Without --type Docker's CLI tries each kind itself: its own "Error: No such
         * object: X"; with one it relays the daemon's answer. */
        if (!o.type)
                cli_fail_client(cli);
        return template_print_docs(o.format, argv + 1, n, inspect_get, &q, err);
}

/* ---- top ---- */

/* One process as top shows it, tab-separated (UID PID PPID C STIME TTY TIME CMD); false
 * when it is gone. */
static bool proc_line(pid_t pid, char *line, size_t line_len)
{
        char path[64], buf[4096], tty[32] = "?", stime[16] = "00:00";
        _cleanup_free_ char *cmd = NULL;
        long long ppid = 0, utime = 0, stime_t = 0;
        unsigned long long start = 0;
        int tty_nr = 0;
        struct stat st;
        char *p;
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = fs_read_all(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0 || stat(path, &st) < 0)
                return false;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2,
                         "%*c %lld %*d %*d %d %*d %*u %*u %*u %*u %*u %lld %lld %*d %*d "
                         "%*d %*d %*d %*d %llu",
                         &ppid, &tty_nr, &utime, &stime_t, &start) < 5)
                return false;
        if (tty_nr)
                snprintf(tty, sizeof(tty), "pts/%d", (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        {
                struct err e = {0};
                size_t len = 0;
                if (fs_read_file(path, &cmd, &len, &e) == 0)
                        for (size_t i = 0; i + 1 < len; i++)
                                if (cmd[i] == '\0')
                                        cmd[i] = ' ';
        }
        {
                long hz = sysconf(_SC_CLK_TCK);
                long long cpu = (utime + stime_t) / (hz > 0 ? hz : 100);
                struct timespec bt;
                time_t started;
                struct tm tm;
                clock_gettime(CLOCK_BOOTTIME, &bt);
                started = time(NULL) - bt.tv_sec +
                          (time_t)(start / (unsigned long long)(hz > 0 ? hz : 100));
                localtime_r(&started, &tm);
                strftime(stime, sizeof(stime), "%H:%M", &tm);
                struct passwd *pw = getpwuid(st.st_uid);
                char uid[32];
                /* Docker runs the host's ps: user names come from the host's passwd. */
                snprintf(uid, sizeof(uid), "%u", (unsigned)st.st_uid);
                snprintf(line, line_len, "%s\t%d\t%lld\t0\t%s\t%s\t%02lld:%02lld:%02lld\t%s",
                         pw ? pw->pw_name : uid, (int)pid, ppid, stime, tty, cpu / 3600,
                         cpu / 60 % 60, cpu % 60, cmd ? cmd : "");
        }
        return true;
}

static void proc_row(pid_t pid, struct table *t)
{
        char line[4600];

        if (proc_line(pid, line, sizeof(line)))
                table_add_row(t, line);
}

/* `top C [ps OPTIONS]` with options: Docker runs the host's ps with them and keeps the lines
 * whose PID column names one of the container's processes, the overhanging fields of a line
 * joined into its last column. */
static int top_with_ps(char **ps_args, const pid_t *pids, size_t n, struct err *err)
{
        _cleanup_strv_ char **argv = NULL;
        _cleanup_free_ char *out = NULL;
        _cleanup_table_ struct table *t = table_new_min(20);
        size_t len = 0, titles = 0, pid_col = SIZE_MAX;
        int fds[2], status;
        char *save = NULL, *line;
        pid_t child;

        if (util_strv_push(&argv, "ps") < 0 || !t)
                return err_set(err, -ENOMEM, "running ps");
        for (char **a = ps_args; *a; a++)
                if (util_strv_push(&argv, *a) < 0)
                        return err_set(err, -ENOMEM, "running ps");
        if (pipe2(fds, O_CLOEXEC) < 0)
                return err_errno(err, "running ps");
        fflush(stdout);
        child = fork();
        if (child == 0) {
                dup2(fds[1], STDOUT_FILENO);
                execvp("ps", argv);
                fprintf(stderr, "ps: exec: \"ps\": %s\n", strerror(errno));
                _exit(127);
        }
        close(fds[1]);
        if (child < 0) {
                close(fds[0]);
                return err_errno(err, "running ps");
        }
        for (;;) {
                char buf[8192], *no;
                ssize_t got = read(fds[0], buf, sizeof(buf));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                no = realloc(out, len + (size_t)got + 1);
                if (!no)
                        break;
                out = no;
                memcpy(out + len, buf, (size_t)got);
                len += (size_t)got;
                out[len] = '\0';
        }
        close(fds[0]);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !out)
                return err_set(err, -EIO, "ps: exit status %d",
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_strv_ char **f = NULL;
                _cleanup_free_ char *row = NULL;
                char *fs = NULL, *w;
                size_t nf = 0;
                for (w = strtok_r(line, " \t", &fs); w; w = strtok_r(NULL, " \t", &fs), nf++)
                        util_strv_push(&f, w);
                if (!titles) {
                        titles = nf;
                        for (size_t i = 0; i < nf; i++)
                                if (!strcmp(f[i], "PID"))
                                        pid_col = i;
                        if (pid_col == SIZE_MAX)
                                return err_set(err, -EINVAL,
                                               "Couldn't find PID field in ps output");
                } else {
                        bool mine = false;
                        for (size_t i = 0; pid_col < nf && i < n; i++)
                                mine |= atoi(f[pid_col]) == (int)pids[i];
                        if (!mine)
                                continue;
                }
                for (size_t i = 0; i < nf; i++) {
                        char *nr = util_printf("%s%s%s", row ? row : "",
                                               !row         ? ""
                                               : i < titles ? "\t"
                                                            : " ",
                                               f[i]);
                        free(row);
                        row = nr;
                }
                if (row)
                        table_add_row(t, row);
        }
        table_print(t, stdout);
        return 0;
}

int ps_top_lines(const struct container *c, char ***ret, struct err *err)
{
        _cleanup_free_ pid_t *pids = NULL;
        char **v = calloc(1, sizeof(char *)), line[4600];
        size_t n = 0;
        int r;

        if (!v)
                return err_set(err, -ENOMEM, "listing the processes of %s", container_name(c));
        r = cgroup_container_pids(c->cgroup, (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0),
                                  container_own_pidns(c), &pids, &n, err);
        if (r < 0) {
                util_strv_free(v);
                return r;
        }
        for (size_t i = 0; i < n; i++)
                if (proc_line(pids[i], line, sizeof(line)))
                        util_strv_push(&v, line);
        *ret = v;
        return 0;
}

int cmd_top(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct container *c = NULL;
        pid_t *pids = NULL;
        size_t n = 0;
        struct table *t;
        int r;

        if (argc < 2)
                return cli_usage_error(cli, "top", err,
                                       "\"hawser top\" requires at least 1 argument.");
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                printf("\nUsage:  hawser top CONTAINER [ps OPTIONS]\n\nDisplay the running "
                       "processes of a container\n");
                return 0;
        }
        r = teardown_find(cli, argv[1], &c, err);
        if (r < 0)
                return r;
        if (!container_is_running(c)) {
                r = err_set(err, -EINVAL, "container %s is not running", c->id);
                container_free(c);
                return r;
        }
        r = cgroup_container_pids(c->cgroup, (pid_t)jv_get_int(jv_get(c->doc, "State"), "Pid", 0),
                                  container_own_pidns(c), &pids, &n, err);
        container_free(c);
        if (r < 0)
                return r;
        if (argc > 2) {
                r = top_with_ps(argv + 2, pids, n, err);
                free(pids);
                return r;
        }
        t = table_new_min(20);
        table_add_row(t, "UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD");
        for (size_t i = 0; i < n; i++)
                proc_row(pids[i], t);
        table_print(t, stdout);
        table_free(t);
        free(pids);
        return 0;
}
