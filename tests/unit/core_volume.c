#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/volume.h"
#include "tests/unit/testkit.h"

#define CID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define CID2 "2222222222222222222222222222222222222222222222222222222222222222"

struct fixture {
        char root[64];
        char *runroot;
        struct cli cli;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        snprintf(f->root, sizeof(f->root), "/tmp/hawser-volume-XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        f->runroot = util_printf("%s/run", f->root);
        f->cli = (struct cli){.root = f->root, .runroot = f->runroot};
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        struct err e = {0};

        fs_rm_rf(f->root, &e);
        free(f->runroot);
        free(f);
        return 0;
}

static char *path_of(const struct fixture *f, const char *rel)
{
        return util_printf("%s/%s", f->root, rel);
}

static bool exists(const struct fixture *f, const char *rel)
{
        _cleanup_free_ char *p = path_of(f, rel);
        struct stat st;

        return lstat(p, &st) == 0;
}

/* A container state document that mounts the given volumes (NULL-terminated). */
static void fake_container(const struct fixture *f, const char *id, const char *name,
                           const char *const *vols)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_jv_ struct jv *doc = jv_new_object();
        struct jv *st = jv_new_object(), *mounts = jv_new_array(), *bind = jv_new_object();
        struct err e = {0};

        dir = util_printf("%s/containers/%s", f->root, id);
        path = util_printf("%s/state.json", dir);
        assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
        jv_set_str(doc, "Id", id);
        jv_set_str(doc, "Name", name);
        jv_set_str(doc, "Created", "2026-01-01T00:00:00.000000000Z");
        jv_set_str(st, "Status", "exited");
        jv_set(doc, "State", st);
        jv_set(doc, "Config", jv_new_object());
        jv_set(doc, "HostConfig", jv_new_object());
        /* A bind whose source looks like a volume name must not count. */
        jv_set_str(bind, "Type", "bind");
        jv_set_str(bind, "Name", "data");
        jv_set_str(bind, "Source", "/srv/data");
        jv_append(mounts, bind);
        for (const char *const *v = vols; *v; v++) {
                struct jv *m = jv_new_object();
                jv_set_str(m, "Type", "volume");
                jv_set_str(m, "Name", *v);
                jv_set_str(m, "Destination", "/data");
                jv_append(mounts, m);
        }
        jv_set(doc, "Mounts", mounts);
        assert_int_equal(jv_save(path, doc, &e), 0);
}

static void drop_container(const struct fixture *f, const char *id)
{
        _cleanup_free_ char *dir = util_printf("%s/containers/%s", f->root, id);
        struct err e = {0};

        assert_int_equal(fs_rm_rf(dir, &e), 0);
}

/* Runs `hawser volume ARGS...` and returns what it printed on stdout. */
static int run(struct fixture *f, char **ret_out, struct err *e, ...)
{
        char *argv[16] = {"volume"};
        int argc = 1, saved, fd, r;
        char tmpl[] = "/tmp/hawser-volume-out-XXXXXX";
        va_list ap;

        va_start(ap, e);
        for (const char *a; argc < 15 && (a = va_arg(ap, const char *));)
                argv[argc++] = (char *)a;
        va_end(ap);
        memset(e, 0, sizeof(*e));
        fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        dup2(fd, STDOUT_FILENO);
        r = volume_cmd(&f->cli, argc, argv, e);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(fd);
        assert_int_equal(fs_read_file(tmpl, ret_out, NULL, &(struct err){0}), 0);
        unlink(tmpl);
        return r;
}

static void test_check_name(void **state)
{
        static const char *const good[] = {"ab", "a.b-c_d", "0x", "Data_01", "a..b"};
        static const char *const bad[] = {"..", "a/b", ".x", "-x", "_x", "a b", "../etc", "x/"};
        struct err e = {0};

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(good); i++)
                assert_int_equal(volume_check_name(good[i], &e), 0);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_int_equal(volume_check_name(bad[i], &e), -EINVAL);
        assert_int_equal(volume_check_name("a/b", &e), -EINVAL);
        assert_string_equal(e.msg, "\"a/b\" includes invalid characters for a local volume name, "
                                   "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
                                   "intended to pass a host directory, use absolute path");
        assert_int_equal(volume_check_name("a", &e), -EINVAL);
        assert_string_equal(e.msg, "volume name is too short, names should be at least two "
                                   "alphanumeric characters");
        assert_int_equal(volume_check_name("a\"b", &e), -EINVAL);
        assert_true(!strncmp(e.msg, "\"a\\\"b\" includes", 15));
}

static void test_create(void **state)
{
        struct fixture *f = *state;
        char *labels[] = {"a=b", "c", "d=e=f", NULL};
        _cleanup_free_ char *name = NULL, *again = NULL, *data = NULL, *want = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        const struct jv *l;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "data", labels, NULL, false, &name, &e), 1);
        assert_string_equal(name, "data");
        assert_true(exists(f, "volumes/data/_data"));
        assert_true(exists(f, "volumes/data/meta.json"));
        /* Idempotent: the same volume comes back, labels unchanged. */
        assert_int_equal(volume_create(&f->cli, "data", NULL, NULL, false, &again, &e), 0);
        assert_string_equal(again, "data");
        assert_int_equal(volume_create(&f->cli, "data", NULL, NULL, false, NULL, &e), 0);

        assert_int_equal(volume_path(&f->cli, "data", &data, &e), 0);
        want = path_of(f, "volumes/data/_data");
        assert_string_equal(data, want);

        assert_int_equal(volume_inspect(&f->cli, "data", &doc, &e), 0);
        assert_string_equal(jv_get_str(doc, "Driver"), "local");
        assert_string_equal(jv_get_str(doc, "Name"), "data");
        assert_string_equal(jv_get_str(doc, "Mountpoint"), want);
        assert_string_equal(jv_get_str(doc, "Scope"), "local");
        /* Docker's null without driver options. */
        assert_int_equal(jv_type(jv_get(doc, "Options")), JV_NULL);
        assert_int_equal(strlen(jv_get_str(doc, "CreatedAt")), 20);
        l = jv_get(doc, "Labels");
        assert_string_equal(jv_get_str(l, "a"), "b");
        assert_string_equal(jv_get_str(l, "c"), "");
        assert_string_equal(jv_get_str(l, "d"), "e=f");
        assert_null(jv_get(l, VOLUME_ANONYMOUS_LABEL));
        assert_string_equal(jv_to_string(doc, false), jv_to_string(doc, false)); /* serialisable */
        {
                _cleanup_strv_ char **keys = jv_keys(doc);
                static const char *const want_keys[] = {"CreatedAt",  "Driver", "Labels",
                                                        "Mountpoint", "Name",   "Options",
                                                        "Scope",      NULL};
                for (size_t i = 0; want_keys[i]; i++)
                        assert_string_equal(keys[i], want_keys[i]);
                assert_null(keys[7]);
        }
}

static void test_create_errors(void **state)
{
        struct fixture *f = *state;
        char *name = NULL, *data = NULL;
        struct jv *doc = NULL;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "a/b", NULL, NULL, false, &name, &e), -EINVAL);
        assert_true(!strncmp(e.msg, "create a/b: \"a/b\" includes invalid characters", 44));
        assert_int_equal(volume_create(&f->cli, "..", NULL, NULL, false, &name, &e), -EINVAL);
        assert_null(name);
        assert_false(exists(f, "volumes/.."));

        assert_int_equal(volume_path(&f->cli, "nope", &data, &e), -ENOENT);
        assert_string_equal(e.msg, "get nope: no such volume");
        assert_int_equal(volume_path(&f->cli, "../containers", &data, &e), -ENOENT);
        assert_string_equal(e.msg, "get ../containers: no such volume");
        assert_null(data);
        assert_int_equal(volume_inspect(&f->cli, "nope", &doc, &e), -ENOENT);
        assert_null(doc);

        /* A directory that is not a volume is neither listed nor taken over. */
        {
                _cleanup_free_ char *p = path_of(f, "volumes/junk/x");
                assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
        }
        assert_int_equal(volume_path(&f->cli, "junk", &data, &e), -ENOENT);
        assert_int_equal(volume_create(&f->cli, "junk", NULL, NULL, false, &name, &e), -EEXIST);
        assert_null(name);
}

static void test_anonymous(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *name = NULL, *other = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, NULL, NULL, NULL, true, &name, &e), 1);
        assert_int_equal(strlen(name), 64);
        assert_int_equal(strspn(name, "0123456789abcdef"), 64);
        assert_int_equal(volume_create(&f->cli, NULL, NULL, NULL, true, &other, &e), 1);
        assert_string_not_equal(name, other);
        assert_int_equal(volume_inspect(&f->cli, name, &doc, &e), 0);
        assert_string_equal(jv_get_str(jv_get(doc, "Labels"), VOLUME_ANONYMOUS_LABEL), "");
}

static void test_remove_and_users(void **state)
{
        struct fixture *f = *state;
        static const char *const uses_data[] = {"data", NULL};
        static const char *const uses_both[] = {"other", "data", "data", NULL};
        _cleanup_strv_ char **users = NULL;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "data", NULL, NULL, false, NULL, &e), 1);
        assert_int_equal(volume_create(&f->cli, "other", NULL, NULL, false, NULL, &e), 1);
        fake_container(f, CID1, "/web", uses_data);
        fake_container(f, CID2, "/db", uses_both);

        assert_int_equal(volume_users(&f->cli, "data", &users, &e), 0);
        assert_int_equal(util_strv_len(users), 2);
        assert_true(util_strv_contains(users, CID1));
        assert_true(util_strv_contains(users, CID2));

        assert_int_equal(volume_remove(&f->cli, "data", false, &e), -EBUSY);
        assert_true(!strcmp(e.msg, "remove data: volume is in use - [" CID1 ", " CID2 "]") ||
                    !strcmp(e.msg, "remove data: volume is in use - [" CID2 ", " CID1 "]"));
        /* force does not override a reference (Docker). */
        assert_int_equal(volume_remove(&f->cli, "data", true, &e), -EBUSY);
        assert_true(exists(f, "volumes/data/_data"));

        drop_container(f, CID2);
        assert_int_equal(volume_remove(&f->cli, "other", false, &e), 0);
        assert_false(exists(f, "volumes/other"));
        assert_int_equal(volume_remove(&f->cli, "data", false, &e), -EBUSY);
        assert_string_equal(e.msg, "remove data: volume is in use - [" CID1 "]");
        drop_container(f, CID1);
        assert_int_equal(volume_remove(&f->cli, "data", false, &e), 0);
        assert_false(exists(f, "volumes/data"));

        assert_int_equal(volume_remove(&f->cli, "data", false, &e), -ENOENT);
        assert_string_equal(e.msg, "get data: no such volume");
        assert_int_equal(volume_remove(&f->cli, "data", true, &e), 0);
        assert_int_equal(volume_remove(&f->cli, "../volumes", false, &e), -ENOENT);
        assert_true(exists(f, "volumes"));
}

/* A container whose state.json cannot be read might mount any volume: each is in use. */
static void test_unreadable_container_uses_all(void **state)
{
        struct fixture *f = *state;
        static const char *const none[] = {NULL};
        _cleanup_free_ char *path = util_printf("%s/containers/%s/state.json", f->root, CID1);
        _cleanup_strv_ char **users = NULL;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "data", NULL, NULL, false, NULL, &e), 1);
        fake_container(f, CID1, "/web", none);
        assert_int_equal(fs_write_atomic(path, "{\"Id\":", 6, 0644, &e), 0);
        assert_int_equal(volume_users(&f->cli, "data", &users, &e), 0);
        assert_int_equal(util_strv_len(users), 1);
        assert_string_equal(users[0], CID1);
        assert_int_equal(volume_remove(&f->cli, "data", false, &e), -EBUSY);
        assert_true(exists(f, "volumes/data/_data"));
        drop_container(f, CID1);
        assert_int_equal(volume_remove(&f->cli, "data", false, &e), 0);
}

static void test_remove_keeps_symlink_targets(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *data = NULL, *outside = path_of(f, "outside"), *link = NULL,
                            *secret = path_of(f, "outside/secret");
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "evil", NULL, NULL, false, NULL, &e), 1);
        assert_int_equal(volume_path(&f->cli, "evil", &data, &e), 0);
        assert_int_equal(mkdir(outside, 0755), 0);
        assert_int_equal(fs_write_atomic(secret, "x", 1, 0644, &e), 0);
        link = util_printf("%s/escape", data);
        assert_int_equal(symlink(outside, link), 0);
        free(link);
        link = util_printf("%s/file-link", data);
        assert_int_equal(symlink(secret, link), 0);

        assert_int_equal(volume_remove(&f->cli, "evil", false, &e), 0);
        assert_false(exists(f, "volumes/evil"));
        assert_true(exists(f, "outside/secret"));
}

static void test_copy_up_marker(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *data = NULL, *file = NULL;
        struct err e = {0};
        int fd;

        assert_int_equal(volume_needs_copy_up(&f->cli, "fresh"), -ENOENT);
        assert_int_equal(volume_create(&f->cli, "fresh", NULL, NULL, false, NULL, &e), 1);
        assert_int_equal(volume_needs_copy_up(&f->cli, "fresh"), 1);
        assert_int_equal(volume_path(&f->cli, "fresh", &data, &e), 0);
        file = util_printf("%s/f", data);
        assert_int_equal(fs_write_atomic(file, "x", 1, 0644, &e), 0);
        assert_int_equal(volume_needs_copy_up(&f->cli, "fresh"), 0);
        unlink(file);
        assert_int_equal(volume_needs_copy_up(&f->cli, "fresh"), 1);
        assert_int_equal(volume_mark_populated(&f->cli, "fresh", &e), 0);
        assert_int_equal(volume_needs_copy_up(&f->cli, "fresh"), 0);
        assert_int_equal(volume_mark_populated(&f->cli, "fresh", &e), 0);

        fd = volume_lock(&f->cli, "fresh", &e);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(volume_lock(&f->cli, "gone", &e), -ENOENT);
        assert_string_equal(e.msg, "get gone: no such volume");
}

/* Many processes create one name at once: all succeed, one of them made it, one volume. */
static void test_concurrent_create(void **state)
{
        struct fixture *f = *state;
        enum { N = 12 };
        pid_t pids[N];
        int go[2], created = 0, existed = 0, entries = 0;
        _cleanup_free_ char *top = path_of(f, "volumes");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        assert_int_equal(pipe(go), 0);
        for (int i = 0; i < N; i++) {
                pids[i] = test_fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        char c;
                        struct err e = {0};
                        int r;
                        close(go[1]);
                        if (read(go[0], &c, 1) < 0)
                                _exit(2);
                        r = volume_create(&f->cli, "shared", NULL, NULL, false, NULL, &e);
                        _exit(r == 1 ? 10 : r == 0 ? 11 : 1);
                }
        }
        close(go[0]);
        close(go[1]); /* everyone starts now */
        for (int i = 0; i < N; i++) {
                int st = 0;
                assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
                assert_true(WIFEXITED(st));
                if (WEXITSTATUS(st) == 10)
                        created++;
                else if (WEXITSTATUS(st) == 11)
                        existed++;
                else
                        fail_msg("child %d exited %d", i, WEXITSTATUS(st));
        }
        assert_int_equal(created, 1);
        assert_int_equal(existed, N - 1);
        d = opendir(top);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        entries++, assert_string_equal(de->d_name, "shared");
        assert_int_equal(entries, 1);
        assert_true(exists(f, "volumes/shared/meta.json"));
        assert_true(exists(f, "volumes/shared/_data"));
}

static void test_cmd_create_ls(void **state)
{
        struct fixture *f = *state;
        static const char *const uses_used[] = {"used", NULL};
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        assert_int_equal(run(f, &out, &e, "create", "--label", "tier=db", "db10", NULL), 0);
        assert_string_equal(out, "db10\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "db9", NULL), 0);
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "-d", "local", "used", NULL), 0);
        free(out);
        fake_container(f, CID1, "/web", uses_used);

        assert_int_equal(run(f, &out, &e, "ls", NULL), 0);
        assert_string_equal(out, "DRIVER    VOLUME NAME\n"
                                 "local     db9\n"
                                 "local     db10\n"
                                 "local     used\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", NULL), 0);
        assert_string_equal(out, "db9\ndb10\nused\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", "--filter", "dangling=true", NULL), 0);
        assert_string_equal(out, "db9\ndb10\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", "-f", "dangling=false", NULL), 0);
        assert_string_equal(out, "used\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", "--filter", "name=db", NULL), 0);
        assert_string_equal(out, "db9\ndb10\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", "--filter", "label=tier=db", NULL), 0);
        assert_string_equal(out, "db10\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "-q", "--filter", "label=tier", NULL), 0);
        assert_string_equal(out, "db10\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "--format", "{{.Name}} {{.Labels}}", "--filter",
                             "name=db1", NULL),
                         0);
        assert_string_equal(out, "db10 tier=db\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "--format", "table {{.Name}}\t{{.Scope}}",
                             "--filter", "name=used", NULL),
                         0);
        assert_string_equal(out, "VOLUME NAME   SCOPE\nused          local\n");
        free(out);

        assert_int_equal(run(f, &out, &e, "ls", "--filter", "dangling=maybe", NULL), -EINVAL);
        assert_string_equal(e.msg, "invalid filter 'dangling=maybe'");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "--filter", "color=red", NULL), -EINVAL);
        assert_string_equal(e.msg, "invalid filter 'color'");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "--filter", "dangling", NULL), -EINVAL);
        assert_string_equal(e.msg, "bad format of filter (expected name=value)");
        free(out);
        assert_int_equal(run(f, &out, &e, "ls", "extra", NULL), -EINVAL);
        assert_string_equal(e.msg, "\"hawser volume ls\" accepts no arguments.\n"
                                   "See 'hawser volume ls --help'.");
        free(out);
        out = NULL;
}

static void test_cmd_create_errors(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *out = NULL;
        struct err e = {0};

        assert_int_equal(run(f, &out, &e, "create", "a", "b", NULL), -EINVAL);
        assert_string_equal(e.msg, "\"hawser volume create\" requires at most 1 argument.\n"
                                   "See 'hawser volume create --help'.");
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "--label", "=x", "v1", NULL), -EINVAL);
        assert_string_equal(e.msg, "invalid argument \"=x\" for \"--label\" flag: invalid label "
                                   "'=x': empty name\nSee 'hawser volume create --help'.");
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "-d", "nfs", "v1", NULL), -ENOENT);
        assert_string_equal(e.msg,
                            "create v1: error looking up volume plugin nfs: plugin \"nfs\" not "
                            "found");
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "-o", "color=red", "v1", NULL), -EINVAL);
        assert_string_equal(e.msg, "create v1: invalid option: \"color\"");
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "--name", "v1", "v2", NULL), -EINVAL);
        free(out);
        assert_int_equal(run(f, &out, &e, "create", "./x", NULL), -EINVAL);
        assert_true(!strncmp(e.msg, "create ./x: \"./x\" includes invalid characters", 44));
        assert_string_equal(out, "");
        free(out);
        /* No name: a random one, printed; not anonymous. */
        assert_int_equal(run(f, &out, &e, "create", NULL), 0);
        assert_int_equal(strlen(out), 65);
        free(out);
        assert_int_equal(run(f, &out, &e, "frobnicate", NULL), -EINVAL);
        free(out);
        out = NULL;
}

static void test_cmd_inspect_rm(void **state)
{
        struct fixture *f = *state;
        static const char *const uses_busy[] = {"busy", NULL};
        _cleanup_free_ char *out = NULL, *want = NULL;
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "free", NULL, NULL, false, NULL, &e), 1);
        assert_int_equal(volume_create(&f->cli, "busy", NULL, NULL, false, NULL, &e), 1);
        fake_container(f, CID1, "/web", uses_busy);

        assert_int_equal(run(f, &out, &e, "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mountpoint}}",
                             "free", NULL),
                         0);
        want = util_printf("free local %s/volumes/free/_data\n", f->root);
        assert_string_equal(out, want);
        free(out);
        assert_int_equal(run(f, &out, &e, "inspect", "free", NULL), 0);
        assert_true(!strncmp(out, "[\n", 2));
        assert_non_null(strstr(out, "\"Scope\": \"local\""));
        free(out);
        assert_int_equal(run(f, &out, &e, "inspect", "nope", NULL), -ENOENT);
        assert_string_equal(out, "[]\n");
        assert_string_equal(e.msg, "get nope: no such volume");
        free(out);

        assert_int_equal(run(f, &out, &e, "rm", "free", "busy", "nope", NULL), -ENOENT);
        assert_string_equal(out, "free\n");
        assert_int_equal(f->cli.failure, CLI_FAIL_PRINTED);
        assert_false(exists(f, "volumes/free"));
        assert_true(exists(f, "volumes/busy"));
        free(out);
        assert_int_equal(run(f, &out, &e, "rm", "-f", "nope", NULL), 0);
        assert_string_equal(out, "nope\n");
        free(out);
        out = NULL;
}

static void test_cmd_prune(void **state)
{
        struct fixture *f = *state;
        static const char *const uses_kept[] = {"kept", NULL};
        _cleanup_free_ char *out = NULL, *anon = NULL, *data = NULL, *file = NULL, *want = NULL,
                            *stale = path_of(f, "volumes/.trash-0123456789abcdef/_data");
        struct err e = {0};

        assert_int_equal(volume_create(&f->cli, "named", NULL, NULL, false, NULL, &e), 1);
        assert_int_equal(volume_create(&f->cli, "kept", NULL, NULL, true, NULL, &e), 1);
        assert_int_equal(volume_create(&f->cli, NULL, NULL, NULL, true, &anon, &e), 1);
        assert_int_equal(volume_path(&f->cli, anon, &data, &e), 0);
        file = util_printf("%s/blob", data);
        assert_int_equal(fs_write_atomic(file, "0123456789", 10, 0644, &e), 0);
        fake_container(f, CID1, "/web", uses_kept);
        assert_int_equal(fs_mkdir_p(stale, 0755, &e), 0); /* left by a killed remover */

        /* Docker 23+: only anonymous volumes without -a. */
        assert_int_equal(run(f, &out, &e, "prune", "-f", NULL), 0);
        want = util_printf("Deleted Volumes:\n%s\n\nTotal reclaimed space: 10B\n", anon);
        assert_string_equal(out, want);
        assert_true(exists(f, "volumes/named"));
        assert_true(exists(f, "volumes/kept"));
        assert_false(exists(f, "volumes/.trash-0123456789abcdef"));
        free(out);
        assert_int_equal(run(f, &out, &e, "prune", "-f", NULL), 0);
        assert_string_equal(out, "Total reclaimed space: 0B\n");
        free(out);
        assert_int_equal(run(f, &out, &e, "prune", "-f", "-a", NULL), 0);
        assert_string_equal(out, "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n");
        assert_true(exists(f, "volumes/kept"));
        free(out);
        out = NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_name),
                cmocka_unit_test_setup_teardown(test_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_anonymous, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_container_uses_all, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_remove_and_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_keeps_symlink_targets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_up_marker, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cmd_create_ls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cmd_create_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cmd_inspect_rm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cmd_prune, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
