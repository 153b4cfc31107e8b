/* `compose ps|top|port|images|events|ls`: what Compose v2 shows of the project (its
 * containers, their processes, ports and images, their events) and of every project the
 * containers' labels name. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../base/cleanup.h"
#include "../../base/util.h"
#include "../../commands.h"
#include "../../image.h"
#include "../../ports.h"
#include "../../table.h"
#include "../../teardown.h"
#include "../../template.h"
#include "ops.h"

/* ---- helpers ---- */

static int by_name(const void *a, const void *b)
{
        const struct member *x = a, *y = b;

        return strcmp(container_name(x->c), container_name(y->c));
}

/* docker/cli's formatter.Ellipsis: at most width runes, the last one "…" when cut. */
static char *ellipsis(const char *s, size_t width)
{
        size_t runes = 0, i = 0, cut = 0;

        for (; s[i]; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80 && ++runes == width)
                        cut = i;
        if (runes <= width)
                return strdup(s);
        return util_printf("%.*s…", (int)cut, s);
}

/* --format of a list (images, ls): "table" (or "") or "json", else v2's error. */
static int check_list_format(const char *format, bool *ret_json, struct err *err)
{
        if (!format || !*format || !strcasecmp(format, "table") || !strcasecmp(format, "pretty")) {
                *ret_json = false;
                return 0;
        }
        if (!strcasecmp(format, "json")) {
                *ret_json = true;
                return 0;
        }
        return err_set(err, -EINVAL, "format value \"%s\" could not be parsed: parsing failed",
                       format);
}

/* ---- ps ---- */

struct ps_flags {
        char *format, *filter;
        char **status;
        bool quiet, services, orphans, all, no_trunc;
};

/* The list API's ports of c as v2's Publishers, by target port. */
static struct jv *publishers(const struct container *c)
{
        struct jv *out = jv_new_array();
        struct port_binding *v = NULL;
        size_t n = 0;

        if (ports_from_state(jv_path(c->doc, "Config.ExposedPorts"),
                             container_is_running(c) ? jv_path(c->doc, "NetworkSettings.Ports")
                                                     : NULL,
                             &v, &n) < 0)
                return out;
        for (uint32_t port = 0; port <= 65535; port++)
                for (size_t i = 0; i < n; i++) {
                        struct jv *o;
                        if (v[i].ctr_port != port)
                                continue;
                        o = jv_new_object();
                        jv_set_str(o, "URL", v[i].host_ip);
                        jv_set_int(o, "TargetPort", v[i].ctr_port);
                        jv_set_int(o, "PublishedPort", v[i].host_port);
                        jv_set_str(o, "Protocol", ports_proto_name(v[i].proto) ?: "");
                        jv_append(out, o);
                }
        free(v);
        return out;
}

/* v2's ContainerContext, its fields in the order its JSON has them (sorted). */
static struct jv *ps_compose_row(const struct project *p, const struct member *x, bool trunc)
{
        _cleanup_jv_ struct jv *base = ps_container_row(p->cli, x->c, trunc);
        const struct jv *st = jv_get(x->c->doc, "State"), *mounts = jv_get(x->c->doc, "Mounts");
        const char *state = container_status(x->c);
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ char *joined = NULL;
        struct jv *o = jv_new_object();
        int local = 0;

        for (size_t i = 0; i < jv_len(mounts); i++) {
                const struct jv *mt = jv_at(mounts, i);
                const char *name = jv_get_str(mt, "Name");
                char *shown = ellipsis(name && *name ? name : jv_get_str(mt, "Source") ?: "",
                                       trunc ? 15 : (size_t)-1);
                if (!strcmp(jv_get_str(mt, "Driver") ?: "", "local"))
                        local++;
                if (shown)
                        util_strv_push(&names, shown);
                free(shown);
        }
        joined = util_strv_join(names, ",");
        jv_set_str(o, "Command", jv_get_str(base, "Command"));
        jv_set_str(o, "CreatedAt", jv_get_str(base, "CreatedAt"));
        jv_set_int(o, "ExitCode",
                   !strcmp(state, "exited") || !strcmp(state, "dead")
                           ? jv_get_int(st, "ExitCode", 0)
                           : 0);
        jv_set_str(o, "Health",
                   !strcmp(state, "running") ? jv_get_str(jv_get(st, "Health"), "Status") ?: ""
                                             : "");
        jv_set_str(o, "ID", jv_get_str(base, "ID"));
        jv_set_str(o, "Image", jv_get_str(base, "Image"));
        jv_set_str(o, "Labels", jv_get_str(base, "Labels"));
        {
                char n[32];
                snprintf(n, sizeof(n), "%d", local);
                jv_set_str(o, "LocalVolumes", n);
        }
        jv_set_str(o, "Mounts", joined ?: "");
        jv_set_str(o, "Name", container_name(x->c));
        jv_set_str(o, "Names", container_name(x->c));
        jv_set_str(o, "Networks", jv_get_str(base, "Networks"));
        jv_set_str(o, "Ports", jv_get_str(base, "Ports"));
        jv_set_str(o, "Project", member_label(x->c, LABEL_PROJECT) ?: "");
        jv_set(o, "Publishers", publishers(x->c));
        jv_set_str(o, "RunningFor", jv_get_str(base, "RunningFor"));
        jv_set_str(o, "Service", x->service);
        jv_set_str(o, "Size", "0B");
        jv_set_str(o, "State", state);
        jv_set_str(o, "Status", jv_get_str(base, "Status"));
        return o;
}

static struct jv *ps_headers(void)
{
        static const char *const h[][2] = {
                {"ID", "CONTAINER ID"},
                {"Name", "NAME"},
                {"Project", "PROJECT"},
                {"Service", "SERVICE"},
                {"Image", "IMAGE"},
                {"Command", "COMMAND"},
                {"CreatedAt", "CREATED AT"},
                {"RunningFor", "CREATED"},
                {"Ports", "PORTS"},
                {"State", "STATE"},
                {"Status", "STATUS"},
                {"Size", "SIZE"},
                {"Labels", "LABELS"},
                {"Names", ""},
                {"Mounts", ""},
                {"LocalVolumes", ""},
                {"Networks", ""},
                {"Health", ""},
                {"ExitCode", ""},
                {"Publishers", ""},
        };
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(h); i++)
                jv_set_str(o, h[i][0], h[i][1]);
        return o;
}

static int ps_parse_filter(const char *filter, char ***status, struct err *err)
{
        const char *eq = filter ? strchr(filter, '=') : NULL;

        if (!filter || !*filter)
                return 0;
        if (!eq)
                return err_set(err, -EINVAL, "arguments to --filter should be in form KEY=VAL");
        if (!strncmp(filter, "status=", 7)) {
                util_strv_push(status, eq + 1);
                return 0;
        }
        if (!strncmp(filter, "source=", 7))
                return err_set(err, -ENOTSUP, "not implemented");
        return err_set(err, -EINVAL, "unknown filter %.*s", (int)(eq - filter), filter);
}

static bool ps_keep(const struct ps_flags *o, const struct member *x)
{
        if (!o->all && !ops_listed(x->c))
                return false;
        return !o->status || util_strv_contains(o->status, container_status(x->c));
}

static int ps_print(const struct project *p, const struct ps_flags *o, struct member *v, size_t n,
                    struct err *err)
{
        _cleanup_jv_ struct jv *headers = ps_headers();
        _cleanup_free_ struct jv **rows = calloc(n + 1, sizeof(*rows));
        const char *fmt = o->format;
        int r;

        if (o->quiet) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", v[i].c->id);
                return 0;
        }
        if (o->services) {
                _cleanup_strv_ char **seen = calloc(1, sizeof(char *));
                _cleanup_free_ char *joined = NULL;
                for (size_t i = 0; seen && i < n; i++)
                        if (!util_strv_contains(seen, v[i].service))
                                util_strv_push(&seen, v[i].service);
                joined = util_strv_join(seen, "\n");
                printf("%s\n", joined ?: "");
                return 0;
        }
        if (!rows)
                return err_set(err, -ENOMEM, "listing containers");
        if (!fmt || !*fmt || !strcmp(fmt, "table"))
                fmt = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}"
                      "\t{{.Status}}\t{{.Ports}}";
        else if (!strcmp(fmt, "json"))
                fmt = "{{json .}}";
        for (size_t i = 0; i < n; i++)
                rows[i] = ps_compose_row(p, &v[i], !o->no_trunc);
        r = template_print_rows(fmt, headers, rows, n, err);
        for (size_t i = 0; i < n; i++)
                jv_put(rows[i]);
        return r;
}

int compose_ps(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"format", 0, OPT_STR, offsetof(struct ps_flags, format)},
                {"filter", 0, OPT_STR, offsetof(struct ps_flags, filter)},
                {"status", 0, OPT_LIST, offsetof(struct ps_flags, status)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct ps_flags, quiet)},
                {"services", 0, OPT_BOOL, offsetof(struct ps_flags, services)},
                {"orphans", 0, OPT_BOOL, offsetof(struct ps_flags, orphans)},
                {"all", 'a', OPT_BOOL, offsetof(struct ps_flags, all)},
                {"no-trunc", 0, OPT_BOOL, offsetof(struct ps_flags, no_trunc)},
                OPT_END,
        };
        struct ps_flags o = {.orphans = true};
        struct members m = {0};
        char **names;
        size_t kept = 0;
        int n = ops_parse(p, "ps", defs, argc, argv, false, &o, err), r;

        if (n < 0) {
                opt_free_lists(defs, &o);
                return n;
        }
        names = argv + 1;
        r = ps_parse_filter(o.filter, &o.status, err);
        if (r >= 0)
                r = ops_check_services(p, names, err);
        /* Without --orphans only the model's services (v2). */
        if (r >= 0 && p->model && !*names && !o.orphans)
                names = p->services;
        if (r >= 0)
                r = project_members(p, names, o.all, &m, err);
        for (size_t i = 0; r >= 0 && i < m.n; i++) {
                if (!ps_keep(&o, &m.v[i])) {
                        container_free(m.v[i].c);
                        free(m.v[i].service);
                        continue;
                }
                m.v[kept++] = m.v[i];
        }
        if (r >= 0) {
                m.n = kept;
                qsort(m.v, m.n, sizeof(*m.v), by_name);
                r = ps_print(p, &o, m.v, m.n, err);
        }
        members_free(&m);
        opt_free_lists(defs, &o);
        return r;
}

/* ---- top ---- */

static int top_one(const struct container *c, struct err *err)
{
        _cleanup_strv_ char **lines = NULL;
        /* v2's psPrinter: tabwriter.NewWriter(out, 5, 1, 3, ' ', 0); every process cell ends
         * in a tab (the titles' last one does not), then an empty line. */
        _cleanup_table_ struct table *t = table_new_min(5);
        int r = ps_top_lines(c, &lines, err);

        if (r < 0)
                return r;
        if (!t)
                return err_set(err, -ENOMEM, "top");
        printf("%s\n", container_name(c));
        table_add_row(t, "UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD");
        for (char **l = lines; *l; l++) {
                _cleanup_free_ char *row = util_printf("%s\t", *l);
                if (row)
                        table_add_row(t, row);
        }
        table_add_row(t, "");
        return table_print(t, stdout) < 0 ? err_set(err, -EIO, "writing") : 0;
}

int compose_top(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        struct members m = {0};
        int n = ops_parse(p, "top", defs, argc, argv, false, NULL, err), r;

        if (n < 0)
                return n;
        r = ops_check_services(p, argv + 1, err);
        if (r >= 0)
                r = project_members(p, argv + 1, true, &m, err);
        if (r >= 0)
                qsort(m.v, m.n, sizeof(*m.v), by_name);
        for (size_t i = 0; r >= 0 && i < m.n; i++)
                if (container_is_running(m.v[i].c))
                        r = top_one(m.v[i].c, err);
        members_free(&m);
        return r;
}

/* ---- port ---- */

struct port_flags {
        char *protocol;
        long long index;
};

int compose_port(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"protocol", 0, OPT_STR, offsetof(struct port_flags, protocol)},
                {"index", 0, OPT_INT, offsetof(struct port_flags, index)},
                OPT_END,
        };
        struct port_flags o = {.protocol = "tcp"};
        struct container *c = NULL;
        struct port_binding *v = NULL;
        _cleanup_free_ char *proto = NULL, *all = NULL;
        size_t nb = 0;
        long long port;
        int n = ops_parse(p, "port", defs, argc, argv, false, &o, err), r;

        if (n < 0)
                return n;
        if (n < 2)
                return ops_usage(p, "port", "at least 2 arguments", err);
        if (util_parse_ll(argv[2], 0, 65535, &port) < 0 || !*argv[2] || *argv[2] == '-' ||
            *argv[2] == '+')
                return err_set(err, -EINVAL, "strconv.ParseUint: parsing \"%s\": %s", argv[2],
                               strspn(argv[2], "0123456789") == strlen(argv[2]) && *argv[2]
                                       ? "value out of range"
                                       : "invalid syntax");
        proto = strdup(o.protocol);
        for (char *s = proto; s && *s; s++)
                *s = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
        if (!proto)
                return err_set(err, -ENOMEM, "port");
        r = ops_specified(p, argv[1], o.index, true, false, &c, err);
        if (r >= 0 && ports_from_state(jv_path(c->doc, "Config.ExposedPorts"),
                                       jv_path(c->doc, "NetworkSettings.Ports"), &v, &nb) < 0)
                r = err_set(err, -ENOMEM, "port");
        for (size_t i = 0; r >= 0 && i < nb; i++) {
                if (v[i].ctr_port == port && !strcmp(ports_proto_name(v[i].proto) ?: "", proto)) {
                        printf("%s:%u\n", v[i].host_ip, (unsigned)v[i].host_port);
                        goto out;
                }
        }
        for (size_t i = 0; r >= 0 && i < nb; i++) {
                char *x = util_printf("%s%s%u/%s", all ?: "", all ? ", " : "",
                                      (unsigned)v[i].host_port, ports_proto_name(v[i].proto));
                free(all);
                all = x;
        }
        if (r >= 0)
                r = err_set(err, -ENOENT, "no port %lld/%s for container %s: %s", port, proto,
                            container_name(c), all ?: "");
out:
        free(v);
        container_free(c);
        return r;
}

/* ---- images ---- */

struct image_row {
        const char *container;
        char *id, *repo, *tag;
        long long size;
};

static int image_row_cmp(const void *a, const void *b)
{
        return strcmp(((const struct image_row *)a)->container,
                      ((const struct image_row *)b)->container);
}

static int image_row_of(const struct project *p, const struct container *c, struct image_row *ret,
                        struct err *err)
{
        const char *image = jv_get_str(c->doc, "Image") ?: "";
        _cleanup_jv_ struct jv *doc = NULL;
        const char *tag0;
        char *colon, *slash;
        struct err e = {0};

        if (image_inspect(p->cli, strncmp(image, "sha256:", 7) ? image : image + 7, &doc, &e) < 0)
                return err_set(err, -ENOENT, "failed to retrieve image for container %s",
                               container_name(c));
        tag0 = jv_str(jv_at(jv_get(doc, "RepoTags"), 0));
        *ret = (struct image_row){.container = container_name(c),
                                  .id = strdup(jv_get_str(doc, "Id") ?: image),
                                  .repo = strdup(tag0 ?: ""),
                                  .size = jv_get_int(doc, "Size", 0)};
        if (!ret->id || !ret->repo)
                return err_set(err, -ENOMEM, "images");
        colon = strrchr(ret->repo, ':');
        slash = strrchr(ret->repo, '/');
        if (colon && (!slash || colon > slash)) {
                *colon = '\0';
                ret->tag = strdup(colon + 1);
        } else {
                ret->tag = strdup("");
        }
        return ret->tag ? 0 : err_set(err, -ENOMEM, "images");
}

static void images_print(struct image_row *rows, size_t n, bool json)
{
        if (json) {
                _cleanup_jv_ struct jv *arr = jv_new_array();
                for (size_t i = 0; i < n; i++) {
                        struct jv *o = jv_new_object();
                        jv_set_str(o, "ID", rows[i].id);
                        jv_set_str(o, "ContainerName", rows[i].container);
                        jv_set_str(o, "Repository", rows[i].repo);
                        jv_set_str(o, "Tag", rows[i].tag);
                        jv_set_int(o, "Size", rows[i].size);
                        jv_append(arr, o);
                }
                printf("%s\n", jv_to_string(arr, false));
                return;
        }
        _cleanup_table_ struct table *t = table_new_min(20);
        if (!t)
                return;
        table_add_row(t, "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE");
        for (size_t i = 0; i < n; i++) {
                const char *id = strncmp(rows[i].id, "sha256:", 7) ? rows[i].id : rows[i].id + 7;
                char size[32];
                _cleanup_free_ char *line = NULL;
                util_human_size_prec(rows[i].size, 3, size, sizeof(size));
                line = util_printf("%s\t%s\t%s\t%.12s\t%s", rows[i].container,
                                   *rows[i].repo ? rows[i].repo : "<none>",
                                   *rows[i].tag ? rows[i].tag : "<none>", id, size);
                if (line)
                        table_add_row(t, line);
        }
        table_print(t, stdout);
}

struct images_flags {
        char *format;
        bool quiet;
};

int compose_images(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"format", 0, OPT_STR, offsetof(struct images_flags, format)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct images_flags, quiet)},
                OPT_END,
        };
        struct images_flags o = {0};
        struct members m = {0};
        struct image_row *rows = NULL;
        bool json = false;
        size_t nr = 0;
        int n = ops_parse(p, "images", defs, argc, argv, false, &o, err), r;

        if (n < 0)
                return n;
        r = ops_check_services(p, argv + 1, err);
        if (r >= 0 && !o.quiet)
                r = check_list_format(o.format, &json, err);
        if (r >= 0)
                r = project_members(p, argv + 1, true, &m, err);
        if (r >= 0 && !(rows = calloc(m.n + 1, sizeof(*rows))))
                r = err_set(err, -ENOMEM, "images");
        for (size_t i = 0; r >= 0 && i < m.n; i++, nr++)
                r = image_row_of(p, m.v[i].c, &rows[i], err);
        if (r >= 0 && o.quiet) {
                _cleanup_strv_ char **seen = NULL;
                for (size_t i = 0; i < nr; i++) {
                        const char *id = rows[i].id + (strncmp(rows[i].id, "sha256:", 7) ? 0 : 7);
                        if (!util_strv_contains(seen, id)) {
                                util_strv_push(&seen, id);
                                printf("%s\n", id);
                        }
                }
        } else if (r >= 0) {
                qsort(rows, nr, sizeof(*rows), image_row_cmp);
                images_print(rows, nr, json);
        }
        for (size_t i = 0; i < nr && rows; i++) {
                free(rows[i].id);
                free(rows[i].repo);
                free(rows[i].tag);
        }
        free(rows);
        members_free(&m);
        return r;
}

/* ---- events ---- */

struct events_ctx {
        const struct project *p;
        char *const *services;
        bool json;
};

/* Go's time.Time JSON (RFC 3339 with the fraction's trailing zeros cut), local zone. */
static void go_time_json(int64_t ns, char *out, size_t len)
{
        time_t secs = (time_t)(ns / 1000000000);
        char date[32], frac[16] = "", zone[8] = "Z";
        long nsec = (long)(ns % 1000000000), off;
        struct tm tm;

        localtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        if (nsec) {
                size_t k;
                snprintf(frac, sizeof(frac), ".%09ld", nsec);
                for (k = strlen(frac); frac[k - 1] == '0'; k--)
                        frac[k - 1] = '\0';
        }
        off = tm.tm_gmtoff;
        if (off)
                snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+',
                         labs(off) / 3600 % 100, labs(off) / 60 % 60);
        snprintf(out, len, "%s%s%s", date, frac, zone);
}

static void on_event(const struct jv *ev, void *ud)
{
        const struct events_ctx *x = ud;
        const struct jv *actor = jv_get(ev, "Actor"), *attrs = jv_get(actor, "Attributes");
        const char *service = jv_get_str(attrs, LABEL_SERVICE) ?: "";
        int64_t ns = jv_get_int(ev, "timeNano", 0) ?: jv_get_int(ev, "time", 0) * 1000000000;
        _cleanup_strv_ char **keys = jv_keys(attrs);
        _cleanup_jv_ struct jv *kept = jv_new_object();
        char when[64];

        if (strcmp(jv_get_str(ev, "Type") ?: "", "container") ||
            strcmp(jv_get_str(attrs, LABEL_PROJECT) ?: "", x->p->name) ||
            !strcmp(jv_get_str(attrs, LABEL_ONEOFF) ?: "", "True") ||
            (x->services && *x->services && !util_strv_contains(x->services, service)))
                return;
        for (char **k = keys; k && *k; k++)
                if (strncmp(*k, "com.docker.compose.", 19))
                        jv_set_str(kept, *k, jv_get_str(attrs, *k) ?: "");
        if (x->json) {
                _cleanup_jv_ struct jv *o = jv_new_object();
                go_time_json(ns, when, sizeof(when));
                jv_set_str(o, "action", jv_get_str(ev, "Action"));
                jv_set(o, "attributes", jv_ref(kept));
                jv_set_str(o, "id", jv_get_str(actor, "ID"));
                jv_set_str(o, "service", service);
                jv_set_str(o, "time", when);
                jv_set_str(o, "type", "container");
                printf("%s\n", jv_to_string(o, false));
        } else {
                time_t secs = (time_t)(ns / 1000000000);
                _cleanup_strv_ char **kk = jv_keys(kept);
                struct tm tm;
                localtime_r(&secs, &tm);
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                printf("%s.%06lld container %s %s (", when, (long long)(ns % 1000000000 / 1000),
                       jv_get_str(ev, "Action") ?: "", jv_get_str(actor, "ID") ?: "");
                for (char **k = kk; k && *k; k++)
                        printf("%s%s=%s", k == kk ? "" : ", ", *k, jv_get_str(kept, *k));
                /* v2 prints the event's String(), which ends in a newline, with Println. */
                printf(")\n\n");
        }
        fflush(stdout);
}

struct events_flags {
        bool json;
};

int compose_events(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"json", 0, OPT_BOOL, offsetof(struct events_flags, json)},
                OPT_END,
        };
        struct events_flags o = {0};
        struct events_ctx x = {p, argv + 1, false};
        int n = ops_parse(p, "events", defs, argc, argv, false, &o, err);

        if (n < 0)
                return n;
        if (ops_check_services(p, argv + 1, err) < 0)
                return -err->code;
        x.json = o.json;
        return events_follow(p->cli, on_event, &x, err);
}

/* ---- ls ---- */

struct ls_flags {
        char *format;
        char **filters;
        bool quiet, all;
};

struct stack {
        char *name, *files;
        char **states;
};

static struct stack *stack_of(struct stack **v, size_t *n, const char *name)
{
        struct stack *s;

        for (size_t i = 0; i < *n; i++)
                if (!strcmp((*v)[i].name, name))
                        return &(*v)[i];
        s = realloc(*v, (*n + 1) * sizeof(**v));
        if (!s)
                util_oom();
        *v = s;
        s = &s[(*n)++];
        *s = (struct stack){strdup(name), NULL, NULL};
        if (!s->name)
                util_oom();
        return s;
}

/* v2's combinedConfigFiles: each file once, in the order the containers name them ("N/A" when
 * one lacks the label). */
static void stack_add(struct stack *s, const struct container *c)
{
        const char *files = member_label(c, LABEL_FILES);
        _cleanup_strv_ char **have = NULL;

        util_strv_push(&s->states, container_status(c));
        if (s->files && !strcmp(s->files, "N/A"))
                return;
        if (!files) {
                free(s->files);
                s->files = strdup("N/A");
                return;
        }
        if (s->files && *s->files) {
                _cleanup_free_ char *copy = strdup(s->files);
                char *save = NULL;
                for (char *f = copy ? strtok_r(copy, ",", &save) : NULL; f;
                     f = strtok_r(NULL, ",", &save))
                        util_strv_push(&have, f);
        }
        _cleanup_free_ char *copy = strdup(files);
        char *save = NULL;
        for (char *f = copy ? strtok_r(copy, ",", &save) : NULL; f; f = strtok_r(NULL, ",", &save))
                if (!util_strv_contains(have, f))
                        util_strv_push(&have, f);
        free(s->files);
        s->files = util_strv_join(have, ",");
}

/* v2's combinedStatus: "exited(1), running(2)", states sorted. */
static char *stack_status(const struct stack *s)
{
        _cleanup_strv_ char **sorted = util_strv_dup(s->states);
        char *out = strdup("");
        size_t n = util_strv_len(sorted);

        util_strv_sort(sorted);
        for (size_t i = 0; out && i < n;) {
                size_t j = i;
                char *x;
                while (j < n && !strcmp(sorted[j], sorted[i]))
                        j++;
                x = util_printf("%s%s%s(%zu)", out, *out ? ", " : "", sorted[i], j - i);
                free(out);
                out = x;
                i = j;
        }
        return out;
}

static int stack_cmp(const void *a, const void *b)
{
        return strcmp(((const struct stack *)a)->name, ((const struct stack *)b)->name);
}

/* --filter name=X: Docker's filters.Args.Match, the exact name or a regular expression. */
static bool name_matches(char *const *filters, const char *name)
{
        bool any = false;

        for (char *const *f = filters; f && *f; f++) {
                regex_t re;
                any = true;
                if (!strcmp(*f + 5, name))
                        return true;
                if (regcomp(&re, *f + 5, REG_EXTENDED | REG_NOSUB) == 0) {
                        bool m = regexec(&re, name, 0, NULL, 0) == 0;
                        regfree(&re);
                        if (m)
                                return true;
                }
        }
        return !any;
}

static int ls_check_filters(char *const *filters, struct err *err)
{
        for (char *const *f = filters; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                if (!eq)
                        return err_set(err, -EINVAL,
                                       "invalid argument \"%s\" for \"--filter\" flag: bad "
                                       "format of filter (expected name=value)",
                                       *f);
                if (strncmp(*f, "name=", 5))
                        return err_set(err, -EINVAL, "invalid filter '%.*s'", (int)(eq - *f), *f);
        }
        return 0;
}

static void ls_print(struct stack *v, size_t n, const struct ls_flags *o, bool json)
{
        _cleanup_table_ struct table *t = json ? NULL : table_new_min(20);
        _cleanup_jv_ struct jv *arr = jv_new_array();

        if (t)
                table_add_row(t, "NAME\tSTATUS\tCONFIG FILES");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *status = stack_status(&v[i]), *line = NULL;
                if (!name_matches(o->filters, v[i].name))
                        continue;
                if (o->quiet) {
                        printf("%s\n", v[i].name);
                        continue;
                }
                if (json) {
                        struct jv *e = jv_new_object();
                        jv_set_str(e, "Name", v[i].name);
                        jv_set_str(e, "Status", status ?: "");
                        jv_set_str(e, "ConfigFiles", v[i].files ?: "");
                        jv_append(arr, e);
                        continue;
                }
                line = util_printf("%s\t%s\t%s", v[i].name, status ?: "", v[i].files ?: "");
                if (t && line)
                        table_add_row(t, line);
        }
        if (o->quiet)
                return;
        if (json)
                printf("%s\n", jv_to_string(arr, false));
        else if (t)
                table_print(t, stdout);
}

int compose_ls(struct project *p, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {
                {"format", 0, OPT_STR, offsetof(struct ls_flags, format)},
                {"filter", 0, OPT_LIST, offsetof(struct ls_flags, filters)},
                {"quiet", 'q', OPT_BOOL, offsetof(struct ls_flags, quiet)},
                {"all", 'a', OPT_BOOL, offsetof(struct ls_flags, all)},
                OPT_END,
        };
        struct ls_flags o = {0};
        struct container **all = NULL;
        struct stack *v = NULL;
        size_t nv = 0;
        bool json = false;
        int n = ops_parse(p, "ls", defs, argc, argv, false, &o, err), r;

        if (n < 0) {
                opt_free_lists(defs, &o);
                return n;
        }
        r = n ? cli_usage_error(p->cli, "compose ls", err,
                                "\"hawser compose ls\" accepts no arguments.")
              : ls_check_filters(o.filters, err);
        if (r >= 0)
                r = check_list_format(o.format, &json, err);
        if (r >= 0)
                r = teardown_list(p->cli, &all, err);
        for (struct container **c = all; r >= 0 && *c; c++) {
                const char *name = member_label(*c, LABEL_PROJECT);
                if (!name || !member_label(*c, LABEL_HASH) || (!o.all && !ops_listed(*c)))
                        continue;
                stack_add(stack_of(&v, &nv, name), *c);
        }
        if (r >= 0) {
                qsort(v, nv, sizeof(*v), stack_cmp);
                ls_print(v, nv, &o, json);
        }
        for (size_t i = 0; i < nv; i++) {
                free(v[i].name);
                free(v[i].files);
                util_strv_free(v[i].states);
        }
        free(v);
        container_list_free(all);
        opt_free_lists(defs, &o);
        return r;
}
