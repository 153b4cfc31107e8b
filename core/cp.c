/* `hawser cp` and `hawser container cp`: Docker's docker cp. This file is the client half
 * (docker/cli's cp.go with moby's archive.CopyInfo rules: what the paths mean, where an
 * archive goes and under which name, the messages and the summary line); the engine
 * (core/cp_engine.c) does what Docker's daemon does in the container's files, the layer code
 * reads and writes the tar streams. A copy in either direction is one tar stream, written
 * by a child process into a pipe while this process extracts it. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "commands.h"
#include "cp_engine.h"
#include "launch.h"
#include "layer.h"
#include "opt.h"
#include "teardown.h"
#include "user.h"

struct cp_opts {
        bool archive, follow_link, quiet;
};

static const struct opt_def cp_defs[] = {
        {"archive", 'a', OPT_BOOL, offsetof(struct cp_opts, archive)},
        {"follow-link", 'L', OPT_BOOL, offsetof(struct cp_opts, follow_link)},
        {"quiet", 'q', OPT_BOOL, offsetof(struct cp_opts, quiet)},
        OPT_END,
};

/* Who refused, as Docker prints it: its CLI (the message alone) or its daemon ("Error
 * response from daemon: "). */
enum cp_side { CP_CLIENT, CP_DAEMON };

struct cp_job {
        const struct cp_opts *o;
        const char *ctr;   /* the container as the user named it */
        const char *cpath; /* the path in the container, as given */
        char *local;       /* the local path (absolute, its trailing "/" or "/." kept) or "-" */
        enum cp_side side; /* of the failure */
        bool summary;      /* the copy got as far as Docker's "Successfully copied" line */
        long long size;    /* bytes of the tar stream */
        char *shown;       /* the destination the summary names */
};

static int refused(struct cp_job *j, enum cp_side side, int r)
{
        j->side = side;
        return r;
}

/* What a copy's source or destination is (moby's archive.CopyInfo). */
struct copy_info {
        char *path;
        bool exists, dir;
        char *rebase; /* the name the archive's top entry takes instead of the path's own */
};

static void copy_info_done(struct copy_info *i)
{
        free(i->path), free(i->rebase);
}

/* ---- host paths ---- */

/* filepath.Abs with Docker's PreserveTrailingDotOrSeparator. */
static char *local_path(const char *p)
{
        char cwd[PATH_MAX];
        _cleanup_free_ char *joined = NULL, *clean = NULL;

        if (p[0] != '/' && !getcwd(cwd, sizeof(cwd)))
                return NULL;
        joined = p[0] == '/' ? strdup(p) : util_printf("%s/%s", cwd, p);
        clean = joined ? cp_path_clean(joined) : NULL;
        return clean ? cp_path_keep_tail(clean, p) : NULL;
}

static int go_error(struct err *err, int e, const char *op, const char *path)
{
        char eb[64];

        return err_set(err, -e, "%s %s: %s", op, path, util_go_strerror(e, eb));
}

/* archive.GetRebaseName: resolved keeps path's trailing "/." or "/", and when following a
 * link changed the last name, the archive takes path's name back. */
static int rebase_name(const char *path, char *resolved, struct copy_info *ret)
{
        _cleanup_free_ char *a = cp_path_base(path), *b = NULL;

        ret->path = cp_path_keep_tail(resolved, path);
        b = ret->path ? cp_path_base(ret->path) : NULL;
        if (!a || !b)
                return -ENOMEM;
        if (strcmp(a, b))
                ret->rebase = TAKE_PTR(a);
        return 0;
}

/* archive.CopyInfoSourcePath on the host: the symlinks of path's directory followed (with
 * follow, its own too), the result lstat'ed. */
static int copy_info_source(const char *path, bool follow, struct copy_info *ret, struct err *err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *dir = NULL, *resolved = NULL, *base = NULL;
        const char *slash = strrchr(path, '/');
        struct stat st;
        int r;

        if (root < 0)
                return err_errno(err, "opening /");
        if (follow) {
                r = cp_eval_links(root, path, true, &resolved, err);
                if (r >= 0 && rebase_name(path, resolved, ret) < 0)
                        r = err_set(err, -ENOMEM, "resolving %s", path);
        } else {
                /* filepath.Split: the directory keeps its '/'; the name may be "". */
                dir = strndup(path, (size_t)(slash + 1 - path));
                r = dir ? cp_eval_links(root, dir, true, &resolved, err)
                        : err_set(err, -ENOMEM, "resolving %s", path);
                ret->path = r >= 0 ? util_printf("%s/%s", resolved, slash + 1) : NULL;
                base = cp_path_base(path);
                if (r >= 0 && (!ret->path || !base))
                        r = err_set(err, -ENOMEM, "resolving %s", path);
        }
        if (r < 0)
                return r;
        if (!follow && slash[1] == '\0') {
                _cleanup_free_ char *now = cp_path_base(ret->path);

                if (now && strcmp(base, now))
                        ret->rebase = TAKE_PTR(base);
        }
        if (lstat(ret->path, &st) < 0)
                return go_error(err, errno, "lstat", ret->path);
        ret->exists = true;
        ret->dir = S_ISDIR(st.st_mode);
        return 0;
}

/* archive.CopyInfoDestinationPath on the host: symlinks at path followed (10 at most); a
 * path that does not exist needs its parent directory. */
static int copy_info_dest(const char *path, struct copy_info *ret, struct err *err)
{
        _cleanup_free_ char *p = strdup(path), *pdir = NULL, *pbase = NULL;
        struct stat st;
        int r = p ? lstat(p, &st) : -1;

        for (int n = 0; p && r == 0 && S_ISLNK(st.st_mode); n++) {
                char target[PATH_MAX];
                ssize_t k = readlink(p, target, sizeof(target) - 1);
                char *next;

                if (n > 10)
                        return err_set(err, -ELOOP, "too many symlinks in %s", path);
                if (k < 0)
                        return go_error(err, errno, "readlink", p);
                target[k] = '\0';
                if (target[0] != '/' && cp_path_split(p, &pdir, &pbase) < 0)
                        return err_set(err, -ENOMEM, "resolving %s", path);
                next = target[0] == '/' ? strdup(target) : util_printf("%s/%s", pdir, target);
                free(p), free(pdir), free(pbase);
                pdir = pbase = NULL;
                p = next ? cp_path_clean(next) : NULL;
                free(next);
                r = p ? lstat(p, &st) : -1;
        }
        if (!p)
                return err_set(err, -ENOMEM, "resolving %s", path);
        if (r < 0 && errno != ENOENT)
                return go_error(err, errno, "lstat", p);
        if (r == 0) {
                *ret = (struct copy_info){
                        .path = TAKE_PTR(p), .exists = true, .dir = S_ISDIR(st.st_mode)};
                return 0;
        }
        if (cp_path_split(p, &pdir, &pbase) < 0)
                return err_set(err, -ENOMEM, "resolving %s", path);
        if (stat(pdir, &st) < 0)
                return go_error(err, errno, "stat", pdir);
        if (!S_ISDIR(st.st_mode))
                return err_set(err, -ENOTDIR, "not a directory");
        *ret = (struct copy_info){.path = TAKE_PTR(p)};
        return 0;
}

/* Docker's ValidateOutputPath: the parent must exist, and what is there must be a
 * directory or a regular file (a device is refused). */
static int validate_output(const char *path, struct err *err)
{
        _cleanup_free_ char *clean = cp_path_clean(path), *dir = NULL, *base = NULL;
        struct stat st;

        if (!clean || cp_path_split(clean, &dir, &base) < 0)
                return err_set(err, -ENOMEM, "checking %s", path);
        if (strcmp(dir, ".") && stat(dir, &st) < 0 && errno == ENOENT)
                return err_set(err, -ENOENT, "invalid output path: directory \"%s\" does not exist",
                               dir);
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : go_error(err, errno, "stat", path);
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                return err_set(err, -EINVAL,
                               "invalid output path: \"%s\" must be a directory or a regular file: "
                               "got a device",
                               path);
        return 0;
}

/* archive.PrepareArchiveCopy: where the archive of src goes for dst, and the name its top
 * entry takes there (*ret_as: NULL keeps the source's own). */
static int prepare(const struct copy_info *src, const struct copy_info *dst, char **ret_dir,
                   char **ret_as, struct err *err)
{
        _cleanup_free_ char *ddir = NULL, *dbase = NULL;

        if (cp_path_split(dst->path, &ddir, &dbase) < 0)
                return err_set(err, -ENOMEM, "copying to %s", dst->path);
        if (dst->exists && dst->dir) {
                *ret_dir = strdup(dst->path);
                *ret_as = src->rebase ? strdup(src->rebase) : NULL;
                return *ret_dir ? 0 : err_set(err, -ENOMEM, "copying to %s", dst->path);
        }
        if (dst->exists && src->dir)
                return err_set(err, -EISDIR, "cannot copy directory");
        if (!dst->exists && !src->dir && cp_path_asserts_dir(dst->path))
                return err_set(err, -ENOENT, "no such directory");
        *ret_dir = TAKE_PTR(ddir);
        *ret_as = TAKE_PTR(dbase);
        return 0;
}

/* ---- the stream ---- */

/* A child writes the archive of src (top entry named as) into a pipe while this process
 * extracts it below dirfd. On failure *ret_writer tells whose it was: an extraction that
 * completed before the writer failed is taken back (its stream was cut short). */
static int stream(const struct cp_source *src, const char *as, int dirfd,
                  const struct layer_untar *o, long long *ret_size, bool *ret_writer,
                  struct err *err)
{
        struct layer_undo *undo = NULL;
        struct err werr = {0};
        int p[2], sv[2], code, r, w, status = 0;
        pid_t pid;

        *ret_writer = false;
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_errno(err, "creating a pipe");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                close(p[0]), close(p[1]);
                return err_errno(err, "creating a socket");
        }
        fflush(stdout), fflush(stderr);
        pid = fork();
        if (pid == 0) {
                struct err e = {0};

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]), close(sv[0]);
                if (cp_archive(src, as, p[1], NULL, &e) < 0) {
                        launch_send_error(sv[1], 1, &e);
                        _exit(1);
                }
                _exit(0);
        }
        close(p[1]), close(sv[1]);
        r = pid < 0 ? err_errno(err, "forking") : layer_untar(p[0], dirfd, o, &undo, ret_size, err);
        /* A writer still writing gets EPIPE once the reader is gone. */
        close(p[0]);
        w = pid < 0 ? 0 : launch_recv_result(sv[0], &code, NULL, &werr);
        close(sv[0]);
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (w >= 0 && pid > 0 && (!WIFEXITED(status) || WEXITSTATUS(status)))
                w = err_set(&werr, -EIO, "writing the archive: the writer ended (status %d)",
                            status);
        if (r < 0)
                return r;
        if (w < 0) {
                layer_undo(dirfd, undo);
                *err = werr;
                *ret_writer = true;
                return w;
        }
        layer_undo_free(undo);
        return 0;
}

/* An archive from stdin. One that is no tar at all fails in the words of Go's archive/tar;
 * an empty one is an empty archive, as Go reads it: nothing to do. */
static int untar_stdin(int dfd, const struct layer_untar *o, struct err *err)
{
        long long size = 0;
        int r = layer_untar(STDIN_FILENO, dfd, o, NULL, &size, err);

        if (r == -EINVAL && !size && !strcmp(err->msg, "empty archive"))
                return 0;
        if (r == -EINVAL && !strcmp(err->msg, "unrecognized archive format"))
                return err_set(err, r, "%s",
                               size < 512 ? "unexpected EOF" : "archive/tar: invalid tar header");
        return r;
}

/* ---- the two directions ---- */

/* What one copy holds open. */
struct cp_copy {
        struct container *c;
        struct cp_view v;
        struct cp_source s;
        struct copy_info si, di;
        char *dir;   /* where the archive is extracted */
        char *as;    /* the name its top entry takes there (NULL: the source's own) */
        char *shown; /* dir as the extraction's messages name it (NULL: dir) */
        int dfd;     /* dir */
};

#define CP_COPY_INIT                                                                               \
        {                                                                                          \
                .v = {.root = -1, .ns = -1, .lock = -1}, .s = {.pfd = -1}, .dfd = -1               \
        }

static void copy_done(struct cp_copy *x)
{
        cp_source_done(&x->s);
        cp_view_close(&x->v);
        container_free(x->c);
        copy_info_done(&x->si), copy_info_done(&x->di);
        free(x->dir), free(x->as), free(x->shown);
        closep(&x->dfd);
}

static int open_view(struct cli *cli, struct cp_job *j, struct cp_copy *x, struct err *err)
{
        int r = teardown_find(cli, j->ctr, &x->c, err);

        if (r >= 0)
                r = cp_view_open(cli, x->c, j->ctr, &x->v, err);
        return refused(j, CP_DAEMON, r);
}

/* The archive of x's source streamed into x->dfd; the writer is on side writer (the
 * container's, or the host's), the extraction on the other. */
static int copy_stream(struct cp_job *j, struct cp_copy *x, const struct layer_untar *owner,
                       enum cp_side writer, struct err *err)
{
        const struct layer_untar o = {.dest = x->shown ?: x->dir,
                                      .owner = owner->owner,
                                      .uid = owner->uid,
                                      .gid = owner->gid};
        bool by_writer;
        int r = stream(&x->s, x->as ?: x->si.rebase, x->dfd, &o, &j->size, &by_writer, err);

        return refused(j, by_writer == (writer == CP_DAEMON) ? CP_DAEMON : CP_CLIENT, r);
}

/* -L: a symlink given as the source is replaced by where it leads (x->si.rebase keeps its
 * name for the archive). */
static int follow_source(struct cp_copy *x, char **src, struct err *err)
{
        struct cp_stat st = {0};
        struct err ignored = {0};
        int r = 0;

        if (cp_view_stat(&x->v, *src, &st, &ignored) >= 0 && st.link) {
                r = rebase_name(*src, st.link, &x->si);
                free(*src);
                *src = x->si.path ? strdup(x->si.path) : NULL;
                if (r < 0 || !*src)
                        r = err_set(err, -ENOMEM, "copying");
        }
        cp_stat_done(&st);
        return r;
}

/* CONTAINER:SRC to a local DEST (or "-": the archive on stdout). */
static int copy_from(struct cli *cli, struct cp_job *j, struct err *err)
{
        _cleanup_(copy_done) struct cp_copy x = CP_COPY_INIT;
        _cleanup_free_ char *src = strdup(j->cpath);
        int r = src ? 0 : err_set(err, -ENOMEM, "copying");

        if (r >= 0 && strcmp(j->local, "-"))
                r = refused(j, CP_CLIENT, validate_output(j->local, err));
        if (r >= 0)
                r = open_view(cli, j, &x, err);
        if (r >= 0 && j->o->follow_link)
                r = follow_source(&x, &src, err);
        if (r >= 0)
                r = refused(j, CP_DAEMON, cp_view_source(&x.v, src, &x.s, err));
        if (r < 0 || !strcmp(j->local, "-"))
                return r < 0 ? r
                             : refused(j, CP_DAEMON,
                                       cp_archive(&x.s, NULL, STDOUT_FILENO, NULL, err));
        j->summary = true;
        j->shown = strdup(j->local);
        free(x.si.path);
        x.si = (struct copy_info){
                .path = TAKE_PTR(src), .exists = true, .dir = x.s.dir, .rebase = x.si.rebase};
        r = refused(j, CP_CLIENT, copy_info_dest(j->local, &x.di, err));
        if (r >= 0)
                r = refused(j, CP_CLIENT, prepare(&x.si, &x.di, &x.dir, &x.as, err));
        if (r >= 0 && (x.dfd = open(x.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = refused(j, CP_CLIENT, go_error(err, errno, "open", x.dir));
        /* Docker's client writes what it gets as the caller, -a or not. */
        if (r >= 0)
                r = copy_stream(j, &x, &(struct layer_untar){.owner = LAYER_OWNER_SELF}, CP_DAEMON,
                                err);
        return r;
}

/* The destination as Docker's client sees it before copying: stat'ed in the container, a
 * symlink replaced by where it leads. */
static int dest_info(const struct cp_job *j, const struct cp_view *v, struct copy_info *ret,
                     struct err *err)
{
        struct cp_stat st = {0};
        struct err ignored = {0};
        int r = cp_view_stat(v, j->cpath, &st, &ignored);

        ret->path = strdup(j->cpath);
        if (r >= 0 && st.link) {
                free(ret->path);
                ret->path = TAKE_PTR(st.link);
                r = cp_view_stat(v, ret->path, &st, &ignored);
        }
        cp_stat_done(&st);
        if (!ret->path)
                return err_set(err, -ENOMEM, "copying");
        if (r >= 0 && (S_ISCHR(st.mode) || S_ISBLK(st.mode)))
                return err_set(err, -EINVAL,
                               "destination \"%s:%s\" must be a directory or a regular file: got a "
                               "device",
                               j->ctr, j->cpath);
        ret->exists = r >= 0;
        ret->dir = r >= 0 && S_ISDIR(st.mode);
        return 0;
}

/* The text of a small regular file of the container (NULL when it has none), read beneath
 * root: never a FIFO, device or terminal the container put there (they could block or
 * never end), at most 1 MiB. */
static void read_in_root(int root, const char *path, char **ret)
{
        _cleanup_close_ int fd = fs_open_in_root(root, path, O_PATH, 0), rfd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 1 << 20;
        struct stat st;
        char p[64];
        ssize_t n;

        *ret = NULL;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        rfd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        buf = rfd >= 0 ? malloc(cap + 1) : NULL;
        while (buf && len < cap && (n = read(rfd, buf + len, cap - len)) > 0)
                len += (size_t)n;
        if (!buf)
                return;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
}

/* Who owns what is copied in, as Docker's daemon decides: the archive's ids; with -a the
 * container's user (Config.User resolved in its /etc/passwd and /etc/group) when it has
 * one. */
static int copy_in_owner(const struct cp_copy *x, bool archive, struct layer_untar *ret,
                         struct err *err)
{
        const char *user = jv_str(jv_path(x->c->doc, "Config.User"));
        _cleanup_free_ char *pw = NULL, *gr = NULL;
        struct user_ids ids;
        int r;

        *ret = (struct layer_untar){.owner = LAYER_OWNER_TAR};
        if (!archive || !user || !*user)
                return 0;
        read_in_root(x->v.root, "/etc/passwd", &pw);
        read_in_root(x->v.root, "/etc/group", &gr);
        r = user_resolve(user, pw, gr, &ids, err);
        if (r < 0)
                return r;
        *ret = (struct layer_untar){.owner = LAYER_OWNER_IDS, .uid = ids.uid, .gid = ids.gid};
        return 0;
}

/* A local SRC (or "-": an archive on stdin) to CONTAINER:DEST. */
static int copy_to(struct cli *cli, struct cp_job *j, struct err *err)
{
        _cleanup_(copy_done) struct cp_copy x = CP_COPY_INIT;
        struct layer_untar owner = {0};
        bool in = !strcmp(j->local, "-");
        int r = open_view(cli, j, &x, err);

        if (r >= 0)
                r = refused(j, CP_DAEMON, copy_in_owner(&x, j->o->archive, &owner, err));
        if (r >= 0)
                r = refused(j, CP_CLIENT, dest_info(j, &x.v, &x.di, err));
        if (r >= 0 && in && !x.di.dir)
                r = refused(j, CP_CLIENT,
                            err_set(err, -ENOTDIR, "destination \"%s:%s\" must be a directory",
                                    j->ctr, j->cpath));
        if (r >= 0 && !in) {
                r = refused(j, CP_CLIENT,
                            copy_info_source(j->local, j->o->follow_link, &x.si, err));
                if (r >= 0)
                        r = refused(j, CP_CLIENT, prepare(&x.si, &x.di, &x.dir, &x.as, err));
                if (r >= 0)
                        r = refused(j, CP_CLIENT, cp_host_source(x.si.path, &x.s, err));
        }
        if (r < 0)
                return r;
        j->summary = true;
        j->shown = util_printf("%s:%s", j->ctr, x.di.path);
        r = refused(j, CP_DAEMON,
                    cp_view_dest(&x.v, in ? x.di.path : x.dir, &x.dfd, &x.shown, err));
        /* Docker counts nothing of an archive read from stdin. */
        if (r >= 0 && in)
                return refused(j, CP_DAEMON,
                               untar_stdin(x.dfd,
                                           &(struct layer_untar){.dest = x.shown,
                                                                 .owner = owner.owner,
                                                                 .uid = owner.uid,
                                                                 .gid = owner.gid},
                                           err));
        return r < 0 ? r : copy_stream(j, &x, &owner, CP_CLIENT, err);
}

/* ---- the command ---- */

/* docker/cli's splitCpArg: CONTAINER:PATH unless the argument is an absolute path or starts
 * with "." (a local path with a colon: ./file:name). *ret_path points into arg. */
static const char *split_arg(char *arg, const char **ret_path)
{
        char *colon = strchr(arg, ':');

        *ret_path = arg;
        if (arg[0] == '/' || !colon || arg[0] == '.')
                return NULL;
        /* ":PATH" names no container: Docker copies the local PATH. */
        *ret_path = colon + 1;
        if (colon == arg)
                return NULL;
        *colon = '\0';
        return arg;
}

/* Whether -q/--quiet was given at all: without it, Docker is quiet when stdout is not a
 * terminal. */
static bool quiet_given(int argc, char **argv)
{
        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
                if (!strncmp(argv[i], "--quiet", 7)
                            ? !argv[i][7] || argv[i][7] == '='
                            : argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i], 'q'))
                        return true;
        return false;
}

static int finish(struct cli *cli, const struct cp_job *j, int r, const struct err *err)
{
        char size[32], prefix[64];

        if (j->summary && !j->o->quiet) {
                util_human_size_prec(j->size, 3, size, sizeof(size));
                snprintf(prefix, sizeof(prefix), "Successfully copied %s to ", size);
                cli_print_safe(stderr, prefix, j->shown ?: "");
        }
        if (r >= 0)
                return 0;
        cli_print_safe(stderr, j->side == CP_DAEMON ? "Error response from daemon: " : "",
                       err->msg);
        cli_fail_printed(cli, 1);
        return r;
}

int cmd_cp(struct cli *cli, int argc, char **argv, struct err *err)
{
        struct cp_opts o = {0};
        struct cp_job j = {.o = &o};
        bool given = quiet_given(argc, argv);
        const char *sctr, *dctr, *spath, *dpath;
        int n = opt_parse(cp_defs, argc - 1, argv + 1, false, &o, err), r;

        if (n < 0)
                return cli_usage_error(cli, "cp", err, "%s", err->msg);
        if (n != 2)
                return cli_usage_error(cli, "cp", err,
                                       "\"hawser cp\" requires exactly 2 arguments.");
        if (!given)
                o.quiet = !isatty(STDOUT_FILENO);
        if (!*argv[1] || !*argv[2])
                r = err_set(err, -EINVAL, "%s can not be empty",
                            !*argv[1] ? "source" : "destination");
        else if ((sctr = split_arg(argv[1], &spath)), (dctr = split_arg(argv[2], &dpath)),
                 sctr && dctr)
                r = err_set(err, -EINVAL, "copying between containers is not supported");
        else if (!sctr && !dctr)
                r = err_set(err, -EINVAL, "must specify at least one container source");
        else if (!(j.local = strcmp(sctr ? dpath : spath, "-") ? local_path(sctr ? dpath : spath)
                                                               : strdup("-")))
                r = err_set(err, -ENOMEM, "copying");
        else {
                j.ctr = sctr ?: dctr;
                j.cpath = sctr ? spath : dpath;
                r = sctr ? copy_from(cli, &j, err) : copy_to(cli, &j, err);
        }
        r = finish(cli, &j, r, err);
        free(j.local), free(j.shown);
        return r;
}
