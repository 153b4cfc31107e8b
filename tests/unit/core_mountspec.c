#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cleanup.h"
#include "core/mountspec.h"

#define BAD_NAME_TAIL                                                                              \
        " includes invalid characters for a local volume name, only "                              \
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "    \
        "use absolute path"

typedef int (*parse_fn)(const char *spec, struct mount_spec *ret, struct err *err);

static void assert_str_or_null(const char *got, const char *want)
{
        if (!want)
                assert_null(got);
        else
                assert_non_null(got), assert_string_equal(got, want);
}

/* Parses spec and checks every field; want_source/opts/prop NULL mean NULL. */
static void ok(parse_fn fn, const char *spec, enum mount_type type, const char *source,
               const char *target, bool ro, bool nocopy, const char *opts, const char *prop)
{
        struct mount_spec m = {0};
        struct err e = {0};

        if (fn(spec, &m, &e) != 0)
                fail_msg("%s: %s", spec, e.msg);
        assert_int_equal(m.type, type);
        assert_str_or_null(m.source, source);
        assert_string_equal(m.target, target);
        assert_int_equal(m.readonly, ro);
        assert_int_equal(m.nocopy, nocopy);
        assert_str_or_null(m.tmpfs_opts, opts);
        assert_str_or_null(m.propagation, prop);
        assert_non_null(m.mode);
        mountspec_free(&m);
        assert_null(m.target);
}

/* Parses spec, expects code and exactly msg, and an untouched *ret. */
static void bad(parse_fn fn, const char *spec, int code, const char *msg)
{
        struct mount_spec m = {.target = (char *)"sentinel"};
        struct err e = {0};
        int r = fn(spec, &m, &e);

        if (r != code)
                fail_msg("%s: got %d (%s), want %d", spec, r, e.msg, code);
        if (strcmp(e.msg, msg))
                fail_msg("%s:\n got  '%s'\n want '%s'", spec, e.msg, msg);
        assert_string_equal(m.target, "sentinel");
}

static void test_volume_forms(void **state)
{
        struct mount_spec m = {0};
        struct err e = {0};

        (void)state;
        ok(mountspec_parse_volume, "/data", MOUNT_VOLUME, NULL, "/data", false, false, NULL, NULL);
        ok(mountspec_parse_volume, "/data//x/./", MOUNT_VOLUME, NULL, "/data/x", false, false, NULL,
           NULL);
        ok(mountspec_parse_volume, "myvol:/data", MOUNT_VOLUME, "myvol", "/data", false, false,
           NULL, NULL);
        ok(mountspec_parse_volume, "my.vol-1_x:/data:ro", MOUNT_VOLUME, "my.vol-1_x", "/data", true,
           false, NULL, NULL);
        ok(mountspec_parse_volume, "myvol:/data:nocopy", MOUNT_VOLUME, "myvol", "/data", false,
           true, NULL, NULL);
        ok(mountspec_parse_volume, "myvol:/data:z,nocopy,rw", MOUNT_VOLUME, "myvol", "/data", false,
           true, NULL, NULL);
        ok(mountspec_parse_volume, "/tmp/x:/data1", MOUNT_BIND, "/tmp/x", "/data1", false, false,
           NULL, "rprivate");
        ok(mountspec_parse_volume, "/tmp/x/../y//:/data/:ro,rshared", MOUNT_BIND, "/tmp/y", "/data",
           true, false, NULL, "rshared");
        ok(mountspec_parse_volume, "/etc/hosts:/h:Z,cached", MOUNT_BIND, "/etc/hosts", "/h", false,
           false, NULL, "rprivate");
        /* Lexical: ".." cannot climb above the root. */
        ok(mountspec_parse_volume, "/a:/../../etc", MOUNT_BIND, "/a", "/etc", false, false, NULL,
           "rprivate");

        assert_int_equal(mountspec_parse_volume("/h:/c:ro,z", &m, &e), 0);
        assert_string_equal(m.mode, "ro,z");
        assert_true(m.create_source);
        assert_null(m.volume_labels);
        mountspec_free(&m);
        assert_int_equal(mountspec_parse_volume("v1:/c", &m, &e), 0);
        assert_string_equal(m.mode, "");
        assert_false(m.create_source);
        mountspec_free(&m);
}

static void test_volume_errors(void **state)
{
        (void)state;
        bad(mountspec_parse_volume, "", -EINVAL, "invalid volume specification: ''");
        bad(mountspec_parse_volume, ":/x", -EINVAL, "invalid volume specification: ':/x'");
        bad(mountspec_parse_volume, "/foo:rw", -EINVAL, "invalid volume specification: '/foo:rw'");
        bad(mountspec_parse_volume, "/foo:", -EINVAL, "invalid volume specification: '/foo:'");
        bad(mountspec_parse_volume, "a:/b:ro:d", -EINVAL,
            "invalid volume specification: 'a:/b:ro:d'");
        bad(mountspec_parse_volume, "/a:/b:rx", -EINVAL, "invalid mode: rx");
        bad(mountspec_parse_volume, "/a:/b:ro,rw", -EINVAL, "invalid mode: ro,rw");
        bad(mountspec_parse_volume, "/a:/b:ro,", -EINVAL, "invalid mode: ro,");
        bad(mountspec_parse_volume, "/a:/b:shared,slave", -EINVAL, "invalid mode: shared,slave");
        bad(mountspec_parse_volume, "/tmp:x", -EINVAL,
            "invalid volume specification: '/tmp:x': invalid mount config for type \"bind\": "
            "invalid mount path: 'x' mount path must be absolute");
        bad(mountspec_parse_volume, "x", -EINVAL,
            "invalid volume specification: 'x': invalid mount config for type \"volume\": "
            "invalid mount path: 'x' mount path must be absolute");
        bad(mountspec_parse_volume, "/tmp:/", -EINVAL,
            "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": "
            "invalid specification: destination can't be '/'");
        bad(mountspec_parse_volume, "/tmp:/x/..", -EINVAL,
            "invalid volume specification: '/tmp:/x/..': invalid mount config for type "
            "\"bind\": invalid specification: destination can't be '/'");
        bad(mountspec_parse_volume, "vol::ro", -EINVAL,
            "invalid volume specification: 'vol::ro': invalid mount config for type \"volume\": "
            "field Target must not be empty");
        bad(mountspec_parse_volume, "/tmp:/x:nocopy", -EINVAL,
            "invalid volume specification: '/tmp:/x:nocopy': invalid mount config for type "
            "\"bind\": field VolumeOptions must not be specified");
        bad(mountspec_parse_volume, "vol:/x:shared", -EINVAL,
            "invalid volume specification: 'vol:/x:shared': invalid mount config for type "
            "\"volume\": field BindOptions must not be specified");
        bad(mountspec_parse_volume, "./x:/y", -EINVAL, "create ./x: \"./x\"" BAD_NAME_TAIL);
        bad(mountspec_parse_volume, "x/y:/z", -EINVAL, "create x/y: \"x/y\"" BAD_NAME_TAIL);
        bad(mountspec_parse_volume, "..:/z", -EINVAL, "create ..: \"..\"" BAD_NAME_TAIL);
        bad(mountspec_parse_volume, "~/x:/z:ro", -EINVAL, "create ~/x: \"~/x\"" BAD_NAME_TAIL);
        bad(mountspec_parse_volume, "a:/x", -EINVAL,
            "create a: volume name is too short, names should be at least two alphanumeric "
            "characters");
}

static void test_mount_forms(void **state)
{
        struct mount_spec m = {0};
        struct err e = {0};

        (void)state;
        ok(mountspec_parse_mount, "type=bind,source=/src,target=/dst", MOUNT_BIND, "/src", "/dst",
           false, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "type=bind,src=/src/,dst=/dst,readonly", MOUNT_BIND, "/src",
           "/dst", true, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "type=bind,src=/s,destination=/d,ro=true", MOUNT_BIND, "/s", "/d",
           true, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "type=bind,src=/s,dst=/d,ro=0", MOUNT_BIND, "/s", "/d", false,
           false, NULL, "rprivate");
        ok(mountspec_parse_mount, "type=bind,src=/s,dst=/d,bind-propagation=RSLAVE", MOUNT_BIND,
           "/s", "/d", false, false, NULL, "rslave");
        ok(mountspec_parse_mount, "Type=BIND,Source=/s,Target=/d,consistency=cached", MOUNT_BIND,
           "/s", "/d", false, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "\"type=bind\",\"source=/a,b\",target=/c", MOUNT_BIND, "/a,b",
           "/c", false, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "type=bind,\"src=/say \"\"hi\"\"\",dst=/x", MOUNT_BIND,
           "/say \"hi\"", "/x", false, false, NULL, "rprivate");
        ok(mountspec_parse_mount, "target=/x", MOUNT_VOLUME, NULL, "/x", false, false, NULL, NULL);
        ok(mountspec_parse_mount, "source=vol,target=/x,volume-nocopy", MOUNT_VOLUME, "vol", "/x",
           false, true, NULL, NULL);
        ok(mountspec_parse_mount, "type=volume,src=vol,dst=/x,volume-nocopy=false,ro", MOUNT_VOLUME,
           "vol", "/x", true, false, NULL, NULL);
        ok(mountspec_parse_mount, "type=volume,src=vol,dst=/x,volume-driver=local", MOUNT_VOLUME,
           "vol", "/x", false, false, NULL, NULL);
        ok(mountspec_parse_mount, "type=tmpfs,target=/t", MOUNT_TMPFS, NULL, "/t", false, false,
           NULL, NULL);
        ok(mountspec_parse_mount, "type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1777",
           MOUNT_TMPFS, NULL, "/t", false, false, "mode=1777,size=64m", NULL);
        ok(mountspec_parse_mount, "type=tmpfs,dst=/t,tmpfs-size=1MB,tmpfs-mode=0700,readonly",
           MOUNT_TMPFS, NULL, "/t", true, false, "ro,mode=700,size=1m", NULL);
        ok(mountspec_parse_mount, "type=tmpfs,dst=/t,tmpfs-size=1000", MOUNT_TMPFS, NULL, "/t",
           false, false, "size=1000", NULL);
        ok(mountspec_parse_mount, "type=tmpfs,dst=/t,tmpfs-size=1.5g", MOUNT_TMPFS, NULL, "/t",
           false, false, "size=1536m", NULL);
        ok(mountspec_parse_mount, "type=tmpfs,dst=/t,tmpfs-size=2 GiB", MOUNT_TMPFS, NULL, "/t",
           false, false, "size=2g", NULL);

        assert_int_equal(mountspec_parse_mount("type=bind,src=/s,dst=/d,bind-create-src", &m, &e),
                         0);
        assert_true(m.create_source);
        assert_string_equal(m.mode, "");
        mountspec_free(&m);
        assert_int_equal(mountspec_parse_mount("type=bind,src=/s,dst=/d", &m, &e), 0);
        assert_false(m.create_source);
        mountspec_free(&m);
        assert_int_equal(mountspec_parse_mount("src=v1,dst=/d,volume-label=a=b,volume-label=c,"
                                               "volume-label==x",
                                               &m, &e),
                         0);
        assert_non_null(m.volume_labels);
        assert_string_equal(m.volume_labels[0], "a=b");
        assert_string_equal(m.volume_labels[1], "c");
        assert_null(m.volume_labels[2]);
        mountspec_free(&m);
}

#define FLAG(spec, msg) "invalid argument \"" spec "\" for \"--mount\" flag: " msg

static void test_mount_cli_errors(void **state)
{
        (void)state;
        bad(mountspec_parse_mount, "", -EINVAL, FLAG("", "EOF"));
        bad(mountspec_parse_mount, "/foo", -EINVAL,
            FLAG("/foo", "invalid field '/foo' must be a key=value pair"));
        bad(mountspec_parse_mount, "type=bind,source=/a,target=/b,bogus", -EINVAL,
            FLAG("type=bind,source=/a,target=/b,bogus",
                 "invalid field 'bogus' must be a key=value pair"));
        bad(mountspec_parse_mount, "type=bind,src", -EINVAL,
            FLAG("type=bind,src", "invalid field 'src' must be a key=value pair"));
        bad(mountspec_parse_mount, "foo=bar,target=/x", -EINVAL,
            FLAG("foo=bar,target=/x", "unexpected key 'foo' in 'foo=bar'"));
        bad(mountspec_parse_mount, "type=volume,src=vol", -EINVAL,
            FLAG("type=volume,src=vol", "target is required"));
        bad(mountspec_parse_mount, "type=,target=/x", -EINVAL,
            FLAG("type=,target=/x", "type is required"));
        bad(mountspec_parse_mount, "type=volume,target=/foo,source=/foo,bind-propagation=rprivate",
            -EINVAL,
            FLAG("type=volume,target=/foo,source=/foo,bind-propagation=rprivate",
                 "cannot mix 'bind-*' options with mount type 'volume'"));
        bad(mountspec_parse_mount, "type=bind,target=/foo,source=/foo,volume-nocopy=true", -EINVAL,
            FLAG("type=bind,target=/foo,source=/foo,volume-nocopy=true",
                 "cannot mix 'volume-*' options with mount type 'bind'"));
        bad(mountspec_parse_mount, "type=bind,target=/f,source=/f,tmpfs-size=1m", -EINVAL,
            FLAG("type=bind,target=/f,source=/f,tmpfs-size=1m",
                 "cannot mix 'tmpfs-*' options with mount type 'bind'"));
        bad(mountspec_parse_mount, "type=bind,src=/a,dst=/b,readonly=maybe", -EINVAL,
            FLAG("type=bind,src=/a,dst=/b,readonly=maybe", "invalid value for readonly: maybe"));
        bad(mountspec_parse_mount, "src=v1,dst=/b,volume-nocopy=no", -EINVAL,
            FLAG("src=v1,dst=/b,volume-nocopy=no", "invalid value for volume-nocopy: no"));
        bad(mountspec_parse_mount, "type=tmpfs,target=/foo,tmpfs-size=foo", -EINVAL,
            FLAG("type=tmpfs,target=/foo,tmpfs-size=foo", "invalid value for tmpfs-size: foo"));
        bad(mountspec_parse_mount, "type=tmpfs,target=/foo,tmpfs-mode=999", -EINVAL,
            FLAG("type=tmpfs,target=/foo,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"));
        bad(mountspec_parse_mount, "type=bind,src=/a\"b,dst=/c", -EINVAL,
            FLAG("type=bind,src=/a\"b,dst=/c",
                 "parse error on line 1, column 17: bare \" in non-quoted-field"));
        bad(mountspec_parse_mount, "\"type=bind,dst=/c", -EINVAL,
            FLAG("\"type=bind,dst=/c",
                 "parse error on line 1, column 18: extraneous or missing \" in quoted-field"));
        bad(mountspec_parse_mount, "src=v1,dst=/c,volume-subpath=x", -ENOTSUP,
            FLAG("src=v1,dst=/c,volume-subpath=x", "volume-subpath is not supported by hawser"));
}

#define CONFIG(type, msg) "invalid mount config for type \"" type "\": " msg

static void test_mount_daemon_errors(void **state)
{
        (void)state;
        bad(mountspec_parse_mount, "type=bind,source=rel,target=/x", -EINVAL,
            CONFIG("bind", "invalid mount path: 'rel' mount path must be absolute"));
        bad(mountspec_parse_mount, "type=bind,source=./rel,target=/x", -EINVAL,
            CONFIG("bind", "invalid mount path: './rel' mount path must be absolute"));
        bad(mountspec_parse_mount, "type=bind,target=/x", -EINVAL,
            CONFIG("bind", "field Source must not be empty"));
        bad(mountspec_parse_mount, "type=bind,source=/a,target=x", -EINVAL,
            CONFIG("bind", "invalid mount path: 'x' mount path must be absolute"));
        bad(mountspec_parse_mount, "type=bind,source=/a,target=/", -EINVAL,
            CONFIG("bind", "invalid specification: destination can't be '/'"));
        bad(mountspec_parse_mount, "type=bind,source=/a,target=/b,bind-propagation=foo", -EINVAL,
            CONFIG("bind", "invalid propagation mode: foo"));
        bad(mountspec_parse_mount, "type=volume,target=/x,readonly", -EINVAL,
            CONFIG("volume", "must not set ReadOnly mode when using anonymous volumes"));
        bad(mountspec_parse_mount, "type=tmpfs,source=/a,target=/x", -EINVAL,
            CONFIG("tmpfs", "field Source must not be specified"));
        bad(mountspec_parse_mount, "type=npipe,target=/x", -EINVAL,
            CONFIG("npipe", "mount type unknown"));
        bad(mountspec_parse_mount, "type=volume,source=a/b,target=/x", -EINVAL,
            "create a/b: \"a/b\"" BAD_NAME_TAIL);
        bad(mountspec_parse_mount, "type=volume,source=/abs,target=/x", -EINVAL,
            "create /abs: \"/abs\"" BAD_NAME_TAIL);
        bad(mountspec_parse_mount, "src=v1,target=/x,volume-driver=nfs", -ENOENT,
            "create v1: error looking up volume plugin nfs: plugin \"nfs\" not found");
}

static void test_bind_source(void **state)
{
        char dir[] = "/tmp/hawser-mountspec-XXXXXX";
        _cleanup_free_ char *spec = NULL, *missing = NULL;
        struct mount_spec m = {0};
        struct err e = {0};

        (void)state;
        assert_non_null(mkdtemp(dir));
        spec = NULL;
        assert_true(asprintf(&spec, "type=bind,src=%s,dst=/x", dir) > 0);
        assert_int_equal(mountspec_parse_mount(spec, &m, &e), 0);
        assert_int_equal(mountspec_check_bind_source(&m, &e), 0);
        mountspec_free(&m);

        assert_true(asprintf(&missing, "%s/gone", dir) > 0);
        free(spec);
        assert_true(asprintf(&spec, "type=bind,src=%s,dst=/x", missing) > 0);
        assert_int_equal(mountspec_parse_mount(spec, &m, &e), 0);
        assert_int_equal(mountspec_check_bind_source(&m, &e), -ENOENT);
        {
                char want[512];
                snprintf(want, sizeof(want),
                         "invalid mount config for type \"bind\": bind source path does not "
                         "exist: %s",
                         missing);
                assert_string_equal(e.msg, want);
        }
        mountspec_free(&m);

        /* -v and bind-create-src create what is missing; volumes never need a source. */
        free(spec);
        assert_true(asprintf(&spec, "%s:/x", missing) > 0);
        assert_int_equal(mountspec_parse_volume(spec, &m, &e), 0);
        assert_int_equal(mountspec_check_bind_source(&m, &e), 0);
        mountspec_free(&m);
        free(spec);
        assert_true(asprintf(&spec, "type=bind,src=%s,dst=/x,bind-create-src=true", missing) > 0);
        assert_int_equal(mountspec_parse_mount(spec, &m, &e), 0);
        assert_int_equal(mountspec_check_bind_source(&m, &e), 0);
        mountspec_free(&m);
        assert_int_equal(mountspec_parse_mount("src=vol,dst=/x", &m, &e), 0);
        assert_int_equal(mountspec_check_bind_source(&m, &e), 0);
        mountspec_free(&m);
        assert_int_equal(rmdir(dir), 0);
}

static void test_tmpfs(void **state)
{
        (void)state;
        ok(mountspec_parse_tmpfs, "/run", MOUNT_TMPFS, NULL, "/run", false, false, NULL, NULL);
        ok(mountspec_parse_tmpfs, "/run/", MOUNT_TMPFS, NULL, "/run", false, false, NULL, NULL);
        ok(mountspec_parse_tmpfs, "/run:", MOUNT_TMPFS, NULL, "/run", false, false, NULL, NULL);
        ok(mountspec_parse_tmpfs, "/run:size=64m,mode=1777", MOUNT_TMPFS, NULL, "/run", false,
           false, "size=64m,mode=1777", NULL);
        ok(mountspec_parse_tmpfs, "/run:ro,size=1m,exec", MOUNT_TMPFS, NULL, "/run", true, false,
           "ro,size=1m,exec", NULL);
        ok(mountspec_parse_tmpfs, "/run:ro,rw,uid=1000,gid=1000,nr_inodes=4k", MOUNT_TMPFS, NULL,
           "/run", false, false, "ro,rw,uid=1000,gid=1000,nr_inodes=4k", NULL);
        bad(mountspec_parse_tmpfs, "run", -EINVAL,
            "invalid mount path: 'run' mount path must be absolute");
        bad(mountspec_parse_tmpfs, "run:size=1m", -EINVAL,
            "invalid mount path: 'run' mount path must be absolute");
        bad(mountspec_parse_tmpfs, "/", -EINVAL, "invalid specification: destination can't be '/'");
        bad(mountspec_parse_tmpfs, "/run:foo", -EINVAL, "Invalid tmpfs option [\"foo\"]");
        bad(mountspec_parse_tmpfs, "/run:size=1m,foo=bar", -EINVAL,
            "Invalid tmpfs option [\"foo\" \"bar\"]");
        bad(mountspec_parse_tmpfs, "/run:defaults", -EINVAL, "Invalid tmpfs option [\"defaults\"]");
}

static void test_tmpfs_options(void **state)
{
        unsigned long flags = 0;
        char *data = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(mountspec_tmpfs_options(NULL, &flags, &data, &e), 0);
        assert_int_equal(flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
        assert_string_equal(data, "");
        free(data);
        assert_int_equal(mountspec_tmpfs_options("exec,size=1m,ro,mode=1777,size=2m,noatime",
                                                 &flags, &data, &e),
                         0);
        assert_int_equal(flags, MS_NOSUID | MS_NODEV | MS_RDONLY | MS_NOATIME);
        assert_string_equal(data, "size=2m,mode=1777");
        free(data);
        assert_int_equal(mountspec_tmpfs_options("ro,rw,suid,dev", &flags, &data, &e), 0);
        assert_int_equal(flags, MS_NOEXEC);
        free(data);
        data = NULL;
        assert_int_equal(mountspec_tmpfs_options("size=1m,bogus", &flags, &data, &e), -EINVAL);
        assert_string_equal(e.msg, "Invalid tmpfs option [\"bogus\"]");
        assert_null(data);
}

static void from_ok(const char *spec, const char *name, bool ro)
{
        _cleanup_free_ char *c = NULL;
        bool r = !ro;
        struct err e = {0};

        if (mountspec_parse_volumes_from(spec, &c, &r, &e) != 0)
                fail_msg("%s: %s", spec, e.msg);
        assert_string_equal(c, name);
        assert_int_equal(r, ro);
}

static void from_bad(const char *spec, const char *msg)
{
        char *c = NULL;
        bool r = false;
        struct err e = {0};

        assert_int_equal(mountspec_parse_volumes_from(spec, &c, &r, &e), -EINVAL);
        assert_string_equal(e.msg, msg);
        assert_null(c);
}

static void test_volumes_from(void **state)
{
        (void)state;
        from_ok("data", "data", false);
        from_ok("data:ro", "data", true);
        from_ok("data:rw", "data", false);
        from_ok("data:", "data", false);
        from_ok("data:ro,z", "data", true);
        from_ok("data:Z", "data", false);
        from_ok("4f2a1c:ro", "4f2a1c", true);
        from_bad("", "volumes-from specification cannot be an empty string");
        from_bad("data:shared", "invalid mode: shared");
        from_bad("data:nocopy", "invalid mode: nocopy");
        from_bad("data:ro,nocopy", "invalid mode: ro,nocopy");
        from_bad("data:rx", "invalid mode: rx");
        from_bad("a:b:c", "invalid mode: b:c");
}

static void test_duplicates(void **state)
{
        struct mount_spec v[3] = {0};
        struct err e = {0};

        (void)state;
        assert_int_equal(mountspec_parse_volume("/h:/data", &v[0], &e), 0);
        assert_int_equal(mountspec_parse_tmpfs("/run", &v[1], &e), 0);
        assert_int_equal(mountspec_check_duplicates(v, 2, &e), 0);
        assert_int_equal(mountspec_parse_mount("src=vol,dst=/data/", &v[2], &e), 0);
        assert_int_equal(mountspec_check_duplicates(v, 3, &e), -EINVAL);
        assert_string_equal(e.msg, "Duplicate mount point: /data");
        for (size_t i = 0; i < 3; i++)
                mountspec_free(&v[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_volume_forms),
                cmocka_unit_test(test_volume_errors),
                cmocka_unit_test(test_mount_forms),
                cmocka_unit_test(test_mount_cli_errors),
                cmocka_unit_test(test_mount_daemon_errors),
                cmocka_unit_test(test_bind_source),
                cmocka_unit_test(test_tmpfs),
                cmocka_unit_test(test_tmpfs_options),
                cmocka_unit_test(test_volumes_from),
                cmocka_unit_test(test_duplicates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
