/* The build and builder commands (parsing and printing only; the engine is build.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/util.h"
#include "../build.h"
#include "../events.h"
#include "../image.h"
#include "../imgconfig.h"
#include "../opt.h"

struct cmd_opts {
        struct build_opts b;
};

#define BO(f) offsetof(struct cmd_opts, b.f)
static const struct opt_def build_defs[] = {
        {"tag", 't', OPT_LIST, BO(tags)},
        {"file", 'f', OPT_STR, BO(file)},
        {"build-arg", 0, OPT_LIST, BO(build_args)},
        {"target", 0, OPT_STR, BO(target)},
        {"no-cache", 0, OPT_BOOL, BO(no_cache)},
        {"pull", 0, OPT_BOOL, BO(pull)},
        {"quiet", 'q', OPT_BOOL, BO(quiet)},
        {"iidfile", 0, OPT_STR, BO(iidfile)},
        {"label", 0, OPT_LIST, BO(labels)},
        {"network", 0, OPT_STR, BO(network)},
        {"add-host", 0, OPT_LIST, BO(add_hosts)},
        {"platform", 0, OPT_STR, BO(platform)},
        {"rm", 0, OPT_BOOL, BO(rm)},
        {"force-rm", 0, OPT_BOOL, BO(force_rm)},
        {"secret", 0, OPT_LIST, BO(secrets)},
        {"output", 'o', OPT_STR, BO(output)},
        {"progress", 0, OPT_STR, BO(progress)},
        OPT_END,
};

/* Flags this builder does not do yet: refused, not ignored. */
static int refuse_unsupported(const struct build_opts *o, struct err *err)
{
        for (char **s = o->secrets; s && *s; s++) {
                const char *id = strstr(*s, "id=");
                const char *src = strstr(*s, "src=") ? strstr(*s, "src=") : strstr(*s, "source=");
                if (!id || !src)
                        return err_set(err, -EINVAL, "invalid secret %s: id=ID,src=PATH", *s);
        }
        if (o->output &&
            ((strncmp(o->output, "type=local,", 11) && strncmp(o->output, "type=tar,", 9)) ||
             !strstr(o->output, "dest=")))
                return err_set(err, -EINVAL, "invalid output %s: type=local|tar,dest=PATH",
                               o->output);
        if (o->progress && strcmp(o->progress, "auto") && strcmp(o->progress, "plain") &&
            strcmp(o->progress, "tty"))
                return err_set(err, -EINVAL, "invalid progress mode %s: auto, plain or tty",
                               o->progress);
        return 0;
}

int build_cmd_build(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct cmd_opts o = {.b = {.rm = true}};
        _cleanup_strv_ char **norms = calloc(1, sizeof(char *));
        char id[65];
        int n, r;

        /* --rm defaults to true: pflag sets it back to true unless "--rm=false". */
        n = opt_parse(build_defs, argc - 1, argv + 1, false, &o, err);
        if (n < 0)
                return cli_usage_error(cli, "build", err, "%s", err->msg);
        if (n != 1) {
                opt_free_lists(build_defs, &o);
                return cli_usage_error(cli, "build", err,
                                       "\"hawser build\" requires exactly 1 argument.");
        }
        r = refuse_unsupported(&o.b, err);
        /* Tags are checked before anything is built. */
        for (char **t = o.b.tags; r >= 0 && t && *t; t++) {
                char *norm = NULL;
                r = imgconfig_normalize_reference(*t, &norm, err);
                if (r >= 0 && util_strv_push(&norms, norm) < 0)
                        r = err_set(err, -ENOMEM, "building");
                free(norm);
        }
        if (r >= 0 && o.b.platform) {
                _cleanup_free_ char *os = NULL, *arch = NULL;
                r = imgconfig_parse_platform(o.b.platform, &os, &arch, err);
                if (r >= 0 && strcmp(arch, imgconfig_host_arch()))
                        r = err_set(err, -ENOTSUP,
                                    "building for %s on %s/%s needs emulation, "
                                    "which hawser does not do",
                                    o.b.platform, "linux", imgconfig_host_arch());
        }
        if (r >= 0)
                r = build_run(cli, &o.b, argv[1], id, err);
        for (char **t = norms; r >= 0 && t && *t; t++) {
                r = image_tag(cli, id, *t, err);
                if (r >= 0)
                        events_image(cli, id, NULL, *t, "tag");
        }
        if (r >= 0 && o.b.output)
                r = build_export(cli, id, o.b.output, err);
        if (r >= 0 && o.b.iidfile) {
                _cleanup_free_ char *line = util_printf("sha256:%s", id);
                r = line ? fs_write_atomic(o.b.iidfile, line, strlen(line), 0644, err)
                         : err_set(err, -ENOMEM, "building");
        }
        if (r >= 0 && o.b.quiet) {
                printf("sha256:%s\n", id);
        } else if (r >= 0) {
                printf("Successfully built %.12s\n", id);
                for (char **t = o.b.tags; t && *t; t++)
                        printf("Successfully tagged %s\n", norms[t - o.b.tags]);
        }
        opt_free_lists(build_defs, &o);
        return r;
}

struct prune_opts {
        bool all, force;
};

/* builder prune [-a] [-f]: cache entries whose image is gone (with -a: every entry). */
static int builder_prune(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct prune_opts o = {0};
        static const struct opt_def defs[] = {
                {"all", 'a', OPT_BOOL, offsetof(struct prune_opts, all)},
                {"force", 'f', OPT_BOOL, offsetof(struct prune_opts, force)},
                OPT_END,
        };
        _cleanup_free_ char *dir = cli_root_path(cli, "build/cache");
        int n = opt_parse(defs, argc - 1, argv + 1, false, &o, err);
        long long count = 0;
        DIR *d;
        struct dirent *e;

        if (n < 0)
                return cli_usage_error(cli, "builder prune", err, "%s", err->msg);
        if (n > 0)
                return cli_usage_error(cli, "builder prune", err,
                                       "\"hawser builder prune\" accepts no arguments.");
        if (!o.force) {
                char answer[16] = "";
                fprintf(stderr,
                        "WARNING! This will remove all %s build cache.\nAre you sure "
                        "you want to continue? [y/N] ",
                        o.all ? "" : "dangling");
                if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
                        return 0;
        }
        d = dir ? opendir(dir) : NULL;
        while (d && (e = readdir(d))) {
                _cleanup_free_ char *path = NULL, *id = NULL;
                struct err ignored = {0};
                char found[65];
                if (e->d_name[0] == '.')
                        continue;
                path = util_printf("%s/%s", dir, e->d_name);
                if (!o.all && path && fs_read_file(path, &id, NULL, &ignored) >= 0 &&
                    image_resolve(cli, id, found, &ignored) >= 0)
                        continue; /* its image is still there: not dangling */
                if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                        count++;
        }
        if (d)
                closedir(d);
        /* RUN --mount=type=cache directories: what builds kept between them. */
        {
                _cleanup_free_ char *mounts = cli_root_path(cli, "build/cache-mounts");
                long long size = mounts ? fs_tree_size(mounts) : 0;
                char human[32];
                struct err ignored = {0};
                if (mounts && access(mounts, F_OK) == 0 && fs_rm_rf(mounts, &ignored) >= 0)
                        count++;
                util_human_size(size > 0 ? size : 0, human, sizeof(human));
                printf("Deleted build cache objects: %lld\nTotal reclaimed space: %s\n", count,
                       human);
        }
        return 0;
}

int build_cmd_builder(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct cli_sub sub[] = {
                {"build", build_cmd_build},
                {"prune", builder_prune},
        };

        return cli_dispatch(cli, "builder", sub, sizeof(sub) / sizeof(sub[0]), "build, prune", argc,
                            argv, err);
}
