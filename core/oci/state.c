#include <dirent.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../cgroup.h"
#include "../opt.h"
#include "internal.h"

int oci_state_load(const char *root, const char *id, struct oci_state *ret, struct err *err)
{
        _cleanup_free_ char *dir = util_printf("%s/%s", root, id), *path = NULL;
        struct jv *doc = NULL;
        int r;

        if (!dir || !(path = util_printf("%s/state.json", dir)))
                return err_set(err, -ENOMEM, "loading container %s", id);
        /* An id is a single path component: nothing outside --root is read. */
        if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
                return err_set(err, -EINVAL, "invalid container id %s", id);
        r = jv_load(path, &doc, err);
        if (r == -ENOENT)
                return err_set(err, -ENOENT, "container does not exist");
        if (r < 0)
                return err_wrap(err, "loading state of container %s", id);
        *ret = (struct oci_state){.doc = doc,
                                  .dir = TAKE_PTR(dir),
                                  .pid = (pid_t)jv_get_int(doc, "pid", 0),
                                  .cgroup = jv_get_str(doc, "cgroup") ?: "",
                                  .own_pidns = jv_get_bool(doc, "own_pidns")};
        return 0;
}

int oci_state_save(const struct oci_state *st, struct err *err)
{
        _cleanup_free_ char *path = util_printf("%s/state.json", st->dir);

        if (!path)
                return err_set(err, -ENOMEM, "saving state");
        return jv_save(path, st->doc, err);
}

void oci_state_free(struct oci_state *st)
{
        jv_put(st->doc);
        free(st->dir);
        *st = (struct oci_state){0};
}

/* A zombie is stopped: its subreaper has not waited for it yet. */
static bool zombie(pid_t pid)
{
        _cleanup_free_ char *stat = NULL;
        char path[64];
        struct err e = {0};
        const char *paren;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (fs_read_file(path, &stat, NULL, &e) < 0)
                return true;
        paren = strrchr(stat, ')');
        return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

enum oci_status oci_state_status(const struct oci_state *st)
{
        _cleanup_free_ char *fifo = util_printf("%s/exec.fifo", st->dir);

        if (!util_pid_alive(st->pid, jv_get_int(st->doc, "pid_start", 0)) || zombie(st->pid))
                return OCI_STOPPED;
        if (fifo && access(fifo, F_OK) == 0)
                return OCI_CREATED;
        return cgroup_is_frozen(st->cgroup) ? OCI_PAUSED : OCI_RUNNING;
}

const char *oci_status_name(enum oci_status s)
{
        switch (s) {
        case OCI_CREATED:
                return "created";
        case OCI_RUNNING:
                return "running";
        case OCI_PAUSED:
                return "paused";
        case OCI_STOPPED:
                return "stopped";
        }
        return "unknown";
}

struct jv *oci_state_json(const struct oci_state *st)
{
        static const char *const keys[] = {"ociVersion", "id",    "bundle",     "rootfs",
                                           "created",    "owner", "annotations"};
        enum oci_status s = oci_state_status(st);
        struct jv *o = jv_new_object();

        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                struct jv *v = jv_get(st->doc, keys[i]);
                jv_set(o, keys[i], v ? jv_copy(v) : NULL);
        }
        jv_set_str(o, "status", oci_status_name(s));
        jv_set_int(o, "pid", s == OCI_STOPPED ? 0 : st->pid);
        return o;
}

int oci_cmd_state(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct oci_state st;
        _cleanup_jv_ struct jv *o = NULL;

        if (argc != 2)
                return err_set(err, -EINVAL, "state: exactly one container id expected"), 1;
        if (oci_state_load(g->root, argv[1], &st, err) < 0)
                return 1;
        o = oci_state_json(&st);
        printf("%s\n", jv_to_string(o, true));
        oci_state_free(&st);
        return 0;
}

/* ---- list ---- */

struct list_opts {
        bool quiet;
        const char *format;
};

static void list_one(const struct oci_state *st, const struct list_opts *o, struct jv *all)
{
        _cleanup_jv_ struct jv *j = oci_state_json(st);

        if (o->quiet)
                printf("%s\n", jv_get_str(j, "id") ?: "");
        else if (all)
                jv_append(all, jv_ref(j));
        else
                printf("%-12s %-10lld %-10s %-40s %-30s %s\n", jv_get_str(j, "id") ?: "",
                       jv_get_int(j, "pid", 0), jv_get_str(j, "status") ?: "",
                       jv_get_str(j, "bundle") ?: "", jv_get_str(j, "created") ?: "",
                       jv_get_str(j, "owner") ?: "");
}

static const struct opt_def list_defs[] = {
        {"quiet", 'q', OPT_BOOL, offsetof(struct list_opts, quiet)},
        {"format", 'f', OPT_STR, offsetof(struct list_opts, format)},
        OPT_END,
};

int oci_cmd_list(const struct oci_global *g, int argc, char **argv, struct err *err)
{
        struct list_opts o = {.format = "table"};
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_jv_ struct jv *all = NULL;
        struct dirent *e;

        if (opt_parse(list_defs, argc - 1, argv + 1, false, &o, err) < 0)
                return 1;
        if (strcmp(o.format, "table") && strcmp(o.format, "json"))
                return err_set(err, -EINVAL, "invalid format option"), 1;
        d = opendir(g->root);
        if (!strcmp(o.format, "json") && !o.quiet)
                all = jv_new_array();
        else if (!o.quiet)
                printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
        while (d && (e = readdir(d))) {
                struct oci_state st;
                struct err ignored = {0};
                if (e->d_name[0] == '.' || oci_state_load(g->root, e->d_name, &st, &ignored) < 0)
                        continue;
                list_one(&st, &o, all);
                oci_state_free(&st);
        }
        if (all)
                printf("%s\n", jv_to_string(all, false));
        return 0;
}
