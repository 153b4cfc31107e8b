#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/user.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "# ghost:x:7:7::/ghost:/bin/sh\n"
                             "broken-line-without-fields\n"
                             "\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "bob:x:1001:1001::/home/bob:/bin/sh\n"
                             "svc:x:2000:3000::/srv:/bin/false\n";

static const char group[] = "root:x:0:\n"
                            "wheel:x:10:alice,bob\n"
                            "# secret:x:11:alice\n"
                            "staff:x:50:bob,alice\n"
                            "alicex:x:60:alicexx\n"
                            "other:x:61:alicex,xalice\n"
                            "alice:x:1000:\n"
                            "bob:x:1001:\n"
                            "docker:x:999:bob\n"
                            "svcgrp:x:3000:\n";

static int resolve(const char *spec, struct user_ids *ids, struct err *e)
{
        memset(ids, 0xa5, sizeof(*ids));
        memset(e, 0, sizeof(*e));
        return user_resolve(spec, passwd, group, ids, e);
}

static void test_default_is_root(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve(NULL, &ids, &e), 0);
        assert_int_equal(ids.uid, 0);
        assert_int_equal(ids.gid, 0);
        assert_string_equal(ids.home, "/root");
        assert_int_equal(ids.ngroups, 1);
        assert_int_equal(ids.groups[0], 0);

        assert_int_equal(resolve("", &ids, &e), 0);
        assert_int_equal(ids.uid, 0);
        assert_int_equal(ids.gid, 0);
        assert_string_equal(ids.home, "/root");

        assert_int_equal(resolve("root", &ids, &e), 0);
        assert_int_equal(ids.uid, 0);
        assert_string_equal(ids.home, "/root");
}

static void test_by_name(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("daemon", &ids, &e), 0);
        assert_int_equal(ids.uid, 1);
        assert_int_equal(ids.gid, 1);
        assert_string_equal(ids.home, "/usr/sbin");
        assert_int_equal(ids.ngroups, 0);

        /* The primary group comes from passwd, whatever group shares the name. */
        assert_int_equal(resolve("svc", &ids, &e), 0);
        assert_int_equal(ids.uid, 2000);
        assert_int_equal(ids.gid, 3000);
        assert_string_equal(ids.home, "/srv");
}

/* Supplementary groups are, in file order, the groups that list the user as a member and the
 * user's primary group (runc's rule, as `docker run ... id` shows); exact member names only
 * (alicex, xalice and commented lines do not count). */
static void test_supplementary_groups(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("alice", &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 1000);
        assert_string_equal(ids.home, "/home/alice");
        assert_int_equal(ids.ngroups, 3);
        assert_int_equal(ids.groups[0], 10);
        assert_int_equal(ids.groups[1], 50);
        assert_int_equal(ids.groups[2], 1000);

        assert_int_equal(resolve("bob", &ids, &e), 0);
        assert_int_equal(ids.uid, 1001);
        assert_int_equal(ids.gid, 1001);
        assert_int_equal(ids.ngroups, 4);
        assert_int_equal(ids.groups[0], 10);
        assert_int_equal(ids.groups[1], 50);
        assert_int_equal(ids.groups[2], 1001);
        assert_int_equal(ids.groups[3], 999);
}

/* A numeric uid that has a passwd entry behaves like the name (groups and HOME included). */
static void test_by_uid_with_entry(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("1000", &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 1000);
        assert_string_equal(ids.home, "/home/alice");
        assert_int_equal(ids.ngroups, 3);
        assert_int_equal(ids.groups[0], 10);
        assert_int_equal(ids.groups[1], 50);
}

static void test_by_uid_without_entry(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("4242", &ids, &e), 0);
        assert_int_equal(ids.uid, 4242);
        assert_int_equal(ids.gid, 0);
        assert_string_equal(ids.home, "/");
        assert_int_equal(ids.ngroups, 1);
        assert_int_equal(ids.groups[0], 0);

        assert_int_equal(resolve("4242:4243", &ids, &e), 0);
        assert_int_equal(ids.uid, 4242);
        assert_int_equal(ids.gid, 4243);
        assert_string_equal(ids.home, "/");

        assert_int_equal(resolve("4242:staff", &ids, &e), 0);
        assert_int_equal(ids.uid, 4242);
        assert_int_equal(ids.gid, 50);
}

/* An explicit group replaces the primary group and is the only supplementary group, as with
 * Docker's user:group. */
static void test_user_and_group(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("alice:staff", &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 50);
        assert_string_equal(ids.home, "/home/alice");
        assert_int_equal(ids.ngroups, 1);
        assert_int_equal(ids.groups[0], 50);

        assert_int_equal(resolve("alice:0", &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 0);

        assert_int_equal(resolve("alice:7777", &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 7777);

        assert_int_equal(resolve("1001:999", &ids, &e), 0);
        assert_int_equal(ids.uid, 1001);
        assert_int_equal(ids.gid, 999);
        assert_string_equal(ids.home, "/home/bob");

        /* "user:" is the user with no explicit group. */
        assert_int_equal(resolve("alice:", &ids, &e), 0);
        assert_int_equal(ids.gid, 1000);
        assert_int_equal(ids.ngroups, 3);
}

static void test_missing_user(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("nobody", &ids, &e), -ENOENT);
        assert_int_equal(e.code, ENOENT);
        assert_string_equal(e.msg,
                            "unable to find user nobody: no matching entries in passwd file");

        /* Commented-out entries and name prefixes do not match. */
        assert_int_equal(resolve("ghost", &ids, &e), -ENOENT);
        assert_string_equal(e.msg, "unable to find user ghost: no matching entries in passwd file");
        assert_int_equal(resolve("ali", &ids, &e), -ENOENT);
        assert_string_equal(e.msg, "unable to find user ali: no matching entries in passwd file");

        /* The group part is not part of the name in the message. */
        assert_int_equal(resolve("nobody:staff", &ids, &e), -ENOENT);
        assert_string_equal(e.msg,
                            "unable to find user nobody: no matching entries in passwd file");
}

static void test_missing_group(void **state)
{
        struct user_ids ids;
        struct err e;

        (void)state;
        assert_int_equal(resolve("alice:nogroup", &ids, &e), -ENOENT);
        assert_int_equal(e.code, ENOENT);
        assert_string_equal(e.msg,
                            "unable to find group nogroup: no matching entries in group file");
        assert_int_equal(resolve("4242:secret", &ids, &e), -ENOENT);
        assert_string_equal(e.msg,
                            "unable to find group secret: no matching entries in group file");
}

/* Output is written only on success. */
static void test_ret_untouched_on_error(void **state)
{
        struct user_ids ids, before;
        struct err e = {0};

        (void)state;
        memset(&ids, 0x5a, sizeof(ids));
        before = ids;
        assert_int_equal(user_resolve("nobody", passwd, group, &ids, &e), -ENOENT);
        assert_memory_equal(&ids, &before, sizeof(ids));
        assert_int_equal(user_resolve("alice:nogroup", passwd, group, &ids, &e), -ENOENT);
        assert_memory_equal(&ids, &before, sizeof(ids));
}

/* Images without /etc/passwd or /etc/group: numbers still work, names fail. */
static void test_missing_files(void **state)
{
        struct user_ids ids;
        struct err e = {0};

        (void)state;
        assert_int_equal(user_resolve("1234:5678", NULL, NULL, &ids, &e), 0);
        assert_int_equal(ids.uid, 1234);
        assert_int_equal(ids.gid, 5678);
        assert_string_equal(ids.home, "/");
        assert_int_equal(ids.ngroups, 1);
        assert_int_equal(ids.groups[0], 5678);

        assert_int_equal(user_resolve("alice", NULL, group, &ids, &e), -ENOENT);
        assert_string_equal(e.msg, "unable to find user alice: no matching entries in passwd file");

        assert_int_equal(user_resolve("alice:staff", passwd, NULL, &ids, &e), -ENOENT);
        assert_string_equal(e.msg, "unable to find group staff: no matching entries in group file");

        /* No group file: alice resolves, without supplementary groups. */
        assert_int_equal(user_resolve("alice", passwd, NULL, &ids, &e), 0);
        assert_int_equal(ids.uid, 1000);
        assert_int_equal(ids.gid, 1000);
        assert_int_equal(ids.ngroups, 0);
}

/* The databases are read-only inputs. */
static void test_inputs_unchanged(void **state)
{
        char pw[sizeof(passwd)], gr[sizeof(group)];
        struct user_ids ids;
        struct err e = {0};

        (void)state;
        memcpy(pw, passwd, sizeof(pw));
        memcpy(gr, group, sizeof(gr));
        assert_int_equal(user_resolve("bob", pw, gr, &ids, &e), 0);
        assert_int_equal(ids.ngroups, 4);
        assert_memory_equal(pw, passwd, sizeof(pw));
        assert_memory_equal(gr, group, sizeof(gr));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_is_root),
                cmocka_unit_test(test_by_name),
                cmocka_unit_test(test_supplementary_groups),
                cmocka_unit_test(test_by_uid_with_entry),
                cmocka_unit_test(test_by_uid_without_entry),
                cmocka_unit_test(test_user_and_group),
                cmocka_unit_test(test_missing_user),
                cmocka_unit_test(test_missing_group),
                cmocka_unit_test(test_ret_untouched_on_error),
                cmocka_unit_test(test_missing_files),
                cmocka_unit_test(test_inputs_unchanged),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
