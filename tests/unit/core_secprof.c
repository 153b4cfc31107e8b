/* --security-opt parsing and the default syscall filter, loaded in forked children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/fs.h"
#include "core/base/json.h"
#include "core/secprof.h"
#include "tests/unit/testkit.h"

static int parse(const char *json, struct secprof *p, struct err *err)
{
        struct jv *v = NULL;
        int r;

        assert_int_equal(jv_parse(json, &v, err), 0);
        r = secprof_parse(v, p, err);
        jv_put(v);
        return r;
}

static void test_parse_defaults_and_forms(void **state)
{
        struct secprof p;
        struct err err = {0};
        struct jv *v = NULL;

        (void)state;
        assert_int_equal(secprof_parse(NULL, &p, &err), 0);
        assert_true(p.seccomp && p.no_new_privs);
        assert_int_equal(parse("[\"seccomp=unconfined\"]", &p, &err), 0);
        assert_false(p.seccomp);
        assert_true(p.no_new_privs);
        assert_int_equal(parse("[\"no-new-privileges=false\"]", &p, &err), 0);
        assert_false(p.no_new_privs);
        assert_int_equal(parse("[\"no-new-privileges:false\",\"no-new-privileges\"]", &p, &err), 0);
        assert_true(p.no_new_privs);
        assert_int_equal(parse("[\"apparmor=unconfined\",\"label=disable\"]", &p, &err), 0);
        assert_true(p.seccomp);
        assert_null(p.profile);
        /* A profile as create stores it, borrowed from the array; the last seccomp entry
         * wins. */
        assert_int_equal(
                jv_parse("[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]", &v, &err),
                0);
        assert_int_equal(secprof_parse(v, &p, &err), 0);
        assert_true(p.seccomp);
        assert_string_equal(p.profile, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
        jv_put(v);
        assert_int_equal(parse("[\"seccomp={}\",\"seccomp=unconfined\"]", &p, &err), 0);
        assert_false(p.seccomp);
        assert_null(p.profile);
}

static void test_parse_refusals(void **state)
{
        struct secprof p;
        struct err err = {0};

        (void)state;
        assert_int_equal(parse("[\"label=x\",\"no-new-privileges=maybe\"]", &p, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid --security-opt 2: \"no-new-privileges=maybe\"");
        assert_int_equal(secprof_check_opt("seccomp=/some/profile.json", &err), 0);
        assert_int_equal(secprof_check_opt("foo", &err), -EINVAL);
        assert_string_equal(err.msg, "Invalid --security-opt: \"foo\"");
        assert_int_equal(secprof_check_opt("bogus=1", &err), -EINVAL);
        assert_int_equal(secprof_check_opt("no-new-privileges", &err), 0);
        assert_int_equal(secprof_check_opt("seccomp:unconfined", &err), 0);
}

/* Loads the default filter (profile NULL) or profile with caps in a child, then runs fn;
 * the child's exit status is fn's errno (0 on success), 200 if loading failed, 128 + the
 * signal that killed it. */
static int in_profile_child(const char *profile, uint64_t caps, int (*fn)(void))
{
        int status;
        pid_t pid = test_fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct err err = {0};
                int r;

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(200);
                r = profile ? secprof_load_profile(profile, caps, &err) : secprof_load(caps, &err);
                if (r < 0)
                        _exit(200);
                /* Not _exit(): the sanitizers' interceptor makes calls an allowlist refuses. */
                syscall(SYS_exit_group, fn() < 0 ? errno : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int in_filtered_child(uint64_t caps, int (*fn)(void))
{
        return in_profile_child(NULL, caps, fn);
}

static int do_unshare(void)
{
        return unshare(CLONE_NEWUTS);
}

static int do_keyctl(void)
{
        return (int)syscall(SYS_keyctl, 0, 0, 0, 0, 0);
}

static int do_clone3(void)
{
        return (int)syscall(SYS_clone3, NULL, 0);
}

static int do_getpid(void)
{
        return getpid() > 0 ? 0 : -1;
}

static void test_filter_blocks_and_allows(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        assert_int_equal(in_filtered_child(0, do_unshare), EPERM);
        assert_int_equal(in_filtered_child(0, do_keyctl), EPERM);
        assert_int_equal(in_filtered_child(0, do_clone3), ENOSYS);
        assert_int_equal(in_filtered_child(0, do_getpid), 0);
        /* CAP_SYS_ADMIN reopens namespaces; keyrings stay closed whatever the caps. */
        assert_int_equal(in_filtered_child(1ULL << CAP_SYS_ADMIN, do_unshare), 0);
        assert_int_equal(in_filtered_child(1ULL << CAP_SYS_ADMIN, do_keyctl), EPERM);
}

/* ---- profiles (Docker's seccomp JSON) ---- */

static int do_getppid(void)
{
        return syscall(SYS_getppid) < 0 ? -1 : 0;
}

static int do_umask_777(void)
{
        return syscall(SYS_umask, 0777) < 0 ? -1 : 0;
}

static int do_umask_707(void)
{
        return syscall(SYS_umask, 0707) < 0 ? -1 : 0;
}

static int do_umask_077(void)
{
        return syscall(SYS_umask, 0077) < 0 ? -1 : 0;
}

/* Fails with EBADE when the process runs under any seccomp filter. */
static int do_unfiltered(void)
{
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0)
                return 0;
        errno = EBADE;
        return -1;
}

#define ALLOW_ALL "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["

static void test_profile_allowlist(void **state)
{
        const char *allow = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                            "\"syscalls\":[{\"names\":[\"exit_group\",\"exit\",\"getpid\"],"
                            "\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"name\":\"umask\",\"action\":\"SCMP_ACT_ERRNO\"}]}";

        (void)state;
        assert_int_equal(in_profile_child(allow, 0, do_getpid), 0);
        assert_int_equal(in_profile_child(allow, 0, do_getppid), ENOSYS);
        assert_int_equal(in_profile_child(allow, 0, do_umask_077), EPERM);
}

static void test_profile_actions_and_skips(void **state)
{
        (void)state;
        /* Unknown names are skipped, the known ones filtered; errnoRet sets the errno. */
        assert_int_equal(in_profile_child(ALLOW_ALL "{\"names\":[\"no_such_call\",\"getppid\"],"
                                                    "\"action\":\"SCMP_ACT_ERRNO\","
                                                    "\"errnoRet\":28}]}",
                                          0, do_getppid),
                         ENOSPC);
        /* A rule that repeats the default action changes nothing (libseccomp refuses it). */
        assert_int_equal(in_profile_child(ALLOW_ALL "{\"names\":[\"getppid\"],"
                                                    "\"action\":\"SCMP_ACT_ALLOW\"}]}",
                                          0, do_getppid),
                         0);
        assert_int_equal(in_profile_child(ALLOW_ALL "{\"names\":[\"getppid\"],"
                                                    "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}",
                                          0, do_getppid),
                         128 + SIGSYS);
        /* With no tracer attached the kernel answers ENOSYS. */
        assert_int_equal(in_profile_child(ALLOW_ALL "{\"names\":[\"getppid\"],"
                                                    "\"action\":\"SCMP_ACT_TRACE\"}]}",
                                          0, do_getppid),
                         ENOSYS);
        /* Saying nothing means no filter, as in Docker. */
        assert_int_equal(in_profile_child("{}", 0, do_unfiltered), 0);
        assert_int_equal(in_profile_child("null", 0, do_unfiltered), 0);
        assert_int_equal(
                in_profile_child("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 0, do_unfiltered),
                EBADE);
}

static void test_profile_args(void **state)
{
        /* (mask & 0700) == 0700 */
        const char *masked = ALLOW_ALL "{\"names\":[\"umask\"],\"action\":\"SCMP_ACT_ERRNO\","
                                       "\"args\":[{\"index\":0,\"value\":448,\"valueTwo\":448,"
                                       "\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
        /* Two comparisons of one argument: either matches (runc's rule per comparison). */
        const char *either =
                ALLOW_ALL "{\"names\":[\"umask\"],\"action\":\"SCMP_ACT_ERRNO\","
                          "\"args\":[{\"index\":0,\"value\":511,\"op\":\"SCMP_CMP_EQ\"},"
                          "{\"index\":0,\"value\":455,\"op\":\"SCMP_CMP_EQ\"}]}]}";

        (void)state;
        assert_int_equal(in_profile_child(masked, 0, do_umask_777), EPERM);
        assert_int_equal(in_profile_child(masked, 0, do_umask_707), EPERM);
        assert_int_equal(in_profile_child(masked, 0, do_umask_077), 0);
        assert_int_equal(in_profile_child(either, 0, do_umask_777), EPERM);
        assert_int_equal(in_profile_child(either, 0, do_umask_707), EPERM);
        assert_int_equal(in_profile_child(either, 0, do_umask_077), 0);
}

static void test_profile_filters(void **state)
{
        const uint64_t admin = 1ULL << CAP_SYS_ADMIN;
        const char *inc = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                    "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}";
        const char *exc = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                    "\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}";
        /* moby compares names as written: "sys_admin" is no capability it holds. */
        const char *lower = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                      "\"includes\":{\"caps\":[\"sys_admin\"]}}]}";
        const char *old = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                    "\"includes\":{\"minKernel\":\"2.6\"}}]}";
        const char *future = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                       "\"includes\":{\"minKernel\":\"999.0\"}}]}";
        const char *not_old = ALLOW_ALL "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                                        "\"excludes\":{\"minKernel\":\"2.6\"}}]}";

        (void)state;
        assert_int_equal(in_profile_child(inc, 0, do_getppid), 0);
        assert_int_equal(in_profile_child(inc, admin, do_getppid), EPERM);
        assert_int_equal(in_profile_child(exc, 0, do_getppid), EPERM);
        assert_int_equal(in_profile_child(exc, admin, do_getppid), 0);
        assert_int_equal(in_profile_child(lower, admin, do_getppid), 0);
        assert_int_equal(in_profile_child(old, 0, do_getppid), EPERM);
        assert_int_equal(in_profile_child(future, 0, do_getppid), 0);
        assert_int_equal(in_profile_child(not_old, 0, do_getppid), 0);
#ifdef __x86_64__
        {
                const char *amd64 = ALLOW_ALL "{\"names\":[\"getppid\"],"
                                              "\"action\":\"SCMP_ACT_ERRNO\","
                                              "\"includes\":{\"arches\":[\"amd64\"]}}]}";
                const char *arm64 = ALLOW_ALL "{\"names\":[\"getppid\"],"
                                              "\"action\":\"SCMP_ACT_ERRNO\","
                                              "\"includes\":{\"arches\":[\"arm64\"]}}]}";
                /* The 32-bit entry point is filtered once the profile lists it. */
                const char *x86 = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                                  "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                                  "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},"
                                  "{\"architecture\":\"SCMP_ARCH_NOPE\"}],"
                                  "\"syscalls\":[{\"names\":[\"getppid\"],"
                                  "\"action\":\"SCMP_ACT_ERRNO\"}]}";

                assert_int_equal(in_profile_child(amd64, 0, do_getppid), EPERM);
                assert_int_equal(in_profile_child(arm64, 0, do_getppid), 0);
                assert_int_equal(in_profile_child(x86, 0, do_getppid), EPERM);
        }
#endif
}

static void refused(const char *profile, const char *msg)
{
        struct err err = {0};

        assert_int_equal(secprof_check_profile(profile, 0, &err), -EINVAL);
        assert_string_equal(err.msg, msg);
}

static void test_profile_refusals(void **state)
{
        (void)state;
        refused("[]", "Decoding seccomp profile failed: the profile is not a JSON object");
        refused("{\"defaultAction\":\"SCMP_ACT_FOO\"}",
                "string SCMP_ACT_FOO is not a valid action for seccomp");
        refused("{\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "string  is not a valid action for seccomp");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"]}]}", "string  is not a valid action for seccomp");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                "seccomp action SCMP_ACT_NOTIFY is not supported: hawser has no seccomp agent "
                "(listenerPath)");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
                          "\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
                "string SCMP_CMP_XX is not a valid operator for seccomp");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
                          "\"index\":7,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                "error creating seccomp syscall condition for syscall mkdir: syscalls only have "
                "up to 6 arguments (7 given)");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
                          "\"index\":-1,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                "Decoding seccomp profile failed: syscalls[0].args[0].index is not an unsigned "
                "integer");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
                          "\"index\":0,\"value\":\"x\",\"op\":\"SCMP_CMP_EQ\"}]}]}",
                "Decoding seccomp profile failed: syscalls[0].args[0].value is not an unsigned "
                "integer");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[1]}]}",
                "Decoding seccomp profile failed: syscalls[0].args[0] is not an object");
        refused(ALLOW_ALL "{\"name\":\"mkdir\",\"names\":[\"rmdir\"],"
                          "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "'name' and 'names' were specified in the seccomp profile, use either 'name' or "
                "'names'");
        refused(ALLOW_ALL "{\"names\":[1],\"action\":\"SCMP_ACT_ERRNO\"}]}",
                "Decoding seccomp profile failed: syscalls[0].names is not an array of strings");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
                          "\"errnoRet\":70000}]}",
                "Decoding seccomp profile failed: syscalls[0].errnoRet 70000 is out of range "
                "(0-4095)");
        refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\"],"
                "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
                "'architectures' and 'archMap' were specified in the seccomp profile, use either "
                "'architectures' or 'archMap'");
        refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_FOO\"]}",
                "string SCMP_ARCH_FOO is not a valid arch for seccomp");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
                          "\"includes\":{\"minKernel\":\"4\"}}]}",
                "Decoding seccomp profile failed: invalid kernel version: \"4\", expected "
                "\"<kernel>.<major>\"");
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
                          "\"excludes\":[]}]}",
                "Decoding seccomp profile failed: syscalls[0].excludes is not an object");
        refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                "Decoding seccomp profile failed: syscalls is not an array");
        /* A rule its filters skip is checked all the same. */
        refused(ALLOW_ALL "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_BAR\","
                          "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}",
                "string SCMP_ACT_BAR is not a valid action for seccomp");
}

static char tmpdir[] = "/tmp/core_secprof.XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
        static char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return path;
}

/* secprof_create_opt for "seccomp=" + the file written with text: the stored value, or
 * the error message (stored in out either way). */
static int create_with(const char *text, bool colon, char out[600])
{
        char opt[160], *stored = NULL;
        struct err err = {0};
        const char *path = write_tmp("p.json", text);
        int r;

        snprintf(opt, sizeof(opt), "seccomp%c%s", colon ? ':' : '=', path);
        r = secprof_create_opt(opt, 0, &stored, &err);
        snprintf(out, 600, "%s", r < 0 ? err.msg : stored);
        free(stored);
        return r;
}

static void test_create_opt(void **state)
{
        char out[600], want[600], *s = NULL;
        struct err err = {0};
        const char *path = write_tmp("p.json", "");

        (void)state;
        assert_int_equal(secprof_create_opt("no-new-privileges", 0, &s, &err), 0);
        assert_string_equal(s, "no-new-privileges");
        free(s);
        assert_int_equal(secprof_create_opt("seccomp=unconfined", 0, &s, &err), 0);
        assert_string_equal(s, "seccomp=unconfined");
        free(s);
        assert_int_equal(secprof_create_opt("foo", 0, &s, &err), -EINVAL);
        assert_string_equal(err.msg, "Invalid --security-opt: \"foo\"");
        assert_int_equal(secprof_create_opt("seccomp=/nonexistent/p.json", 0, &s, &err), -ENOENT);
        assert_string_equal(err.msg, "opening seccomp profile (/nonexistent/p.json) failed: open "
                                     "/nonexistent/p.json: no such file or directory");
        assert_int_equal(secprof_create_opt("seccomp=/", 0, &s, &err), -EISDIR);
        assert_string_equal(err.msg, "opening seccomp profile (/) failed: read /: is a directory");

        /* Stored as Docker's CLI sends it: compacted, strings untouched, '=' even after ':'. */
        assert_int_equal(create_with("{\n  \"defaultAction\" : \"SCMP_ACT_ALLOW\",\n"
                                     "  \"comment\": \"a  b\\\" ]\"\n}\n",
                                     true, out),
                         0);
        assert_string_equal(out, "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\","
                                 "\"comment\":\"a  b\\\" ]\"}");

        /* Go's json.Compact errors for what json-c alone would accept or report vaguely. */
        snprintf(want, sizeof(want), "compacting json for seccomp profile (%s) failed: ", path);
        assert_int_equal(create_with("", false, out), -EINVAL);
        assert_true(!strncmp(out, want, strlen(want)));
        assert_string_equal(out + strlen(want), "unexpected end of JSON input");
        assert_int_equal(create_with("{\"defaultAction\": \"SCMP_ACT_ALLOW\",", false, out),
                         -EINVAL);
        assert_string_equal(out + strlen(want), "unexpected end of JSON input");
        assert_int_equal(create_with("{\"a\":[1,2,]}", false, out), -EINVAL);
        assert_string_equal(out + strlen(want),
                            "invalid character ']' looking for beginning of value");
        assert_int_equal(create_with("/* x */ {}", false, out), -EINVAL);
        assert_string_equal(out + strlen(want),
                            "invalid character '/' looking for beginning of value");
        assert_int_equal(create_with("{}\n{}", false, out), -EINVAL);
        assert_string_equal(out + strlen(want), "invalid character '{' after top-level value");
        assert_int_equal(create_with("{'a':1}", false, out), -EINVAL);
        assert_int_equal(create_with("{\"a\" 1}", false, out), -EINVAL);
        assert_true(!strncmp(out, want, strlen(want)));

        /* The profile itself is checked at create. */
        assert_int_equal(create_with("{\"defaultAction\":\"SCMP_ACT_FOO\"}", false, out), -EINVAL);
        assert_string_equal(out, "string SCMP_ACT_FOO is not a valid action for seccomp");
}

static int make_tmpdir(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
        char p[128];

        (void)state;
        snprintf(p, sizeof(p), "%s/p.json", tmpdir);
        unlink(p);
        return rmdir(tmpdir);
}

/* Installs a compiled program in a child, then runs fn; exit status as in_filtered_child. */
static int in_compiled_child(const struct secprof_bpf *b, int (*fn)(void))
{
        int status;
        pid_t pid = test_fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct err err = {0};

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || secprof_install(b, &err) < 0)
                        _exit(200);
                _exit(fn() < 0 ? errno : 0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_compiled_default_cached(void **state)
{
        char dir[] = "/tmp/hawser-secprof-XXXXXX", path[PATH_MAX];
        struct secprof_bpf b = {0}, again = {0}, admin = {0};
        struct err err = {0};
        struct dirent *de;
        DIR *d;
        int n = 0, fd;

        (void)state;
        if (geteuid() != 0)
                skip();
        assert_non_null(mkdtemp(dir));
        assert_int_equal(secprof_default_bpf(0, dir, &b, &err), 0);
        assert_true(b.len > 10);
        assert_int_equal(in_compiled_child(&b, do_unshare), EPERM);
        assert_int_equal(in_compiled_child(&b, do_keyctl), EPERM);
        assert_int_equal(in_compiled_child(&b, do_getpid), 0);
        /* The second time comes from the cache: the same program. */
        assert_int_equal(secprof_default_bpf(0, dir, &again, &err), 0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.insns, b.insns, b.len * 8u);
        /* Another capability set is another program. */
        assert_int_equal(secprof_default_bpf(1ULL << CAP_SYS_ADMIN, dir, &admin, &err), 0);
        assert_int_equal(in_compiled_child(&admin, do_unshare), 0);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        n++;
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                }
        closedir(d);
        assert_int_equal(n, 2);
        /* A torn cache file (not whole instructions) is compiled again. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc", 3), 3);
        close(fd);
        secprof_bpf_free(&again);
        assert_int_equal(secprof_default_bpf(0, dir, &again, &err), 0);
        secprof_bpf_free(&again);
        assert_int_equal(secprof_default_bpf(1ULL << CAP_SYS_ADMIN, dir, &again, &err), 0);
        assert_true(again.len > 10);
        secprof_bpf_free(&b);
        secprof_bpf_free(&again);
        secprof_bpf_free(&admin);
        assert_int_equal(fs_rm_rf(dir, &err), 0);
}

/* ---- the 32-bit (i386) and x32 entry points ---- */

#ifdef __x86_64__
/* i386 system call nr through int $0x80: its result, or -errno. */
static long call_i386(long nr, long a1)
{
        long r;

        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1) : "memory");
        return r;
}

#define X32_BIT 0x40000000L

/* The same call through the x32 ABI (the syscall instruction with bit 30 set). */
static long call_x32(long nr, long a1)
{
        long r;

        __asm__ volatile("syscall" : "=a"(r) : "a"(nr | X32_BIT), "D"(a1) : "rcx", "r11", "memory");
        return r;
}

static int errno_of(long r)
{
        if (r < 0 && r > -4096) {
                errno = (int)-r;
                return -1;
        }
        return 0;
}

/* i386: getpid 20, getppid 64, unshare 310. */
static int do_getpid_i386(void)
{
        long r = call_i386(20, 0);

        if (errno_of(r) < 0)
                return -1;
        return r == getpid() ? 0 : (errno = EBADE, -1);
}

static int do_unshare_i386(void)
{
        return errno_of(call_i386(310, CLONE_NEWUTS));
}

static int do_getppid_i386(void)
{
        return errno_of(call_i386(64, 0));
}

/* x32 shares x86-64's numbers. */
static int do_getpid_x32(void)
{
        long r = call_x32(SYS_getpid, 0);

        if (errno_of(r) < 0)
                return -1;
        return r == getpid() ? 0 : (errno = EBADE, -1);
}

static int do_unshare_x32(void)
{
        return errno_of(call_x32(SYS_unshare, CLONE_NEWUTS));
}

/* Whether the machine delivers fn's entry point at all: fn run unfiltered in a child.
 * Some VMs have CONFIG_IA32_EMULATION and still answer int $0x80 with SIGSEGV, with or
 * without a filter; most kernels are built without x32 (ENOSYS). */
static bool entry_works(int (*fn)(void), const char *what)
{
        int status;
        pid_t pid = test_fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn() < 0 ? errno & 0xff : 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        if (WIFSIGNALED(status))
                print_message("skipped: this machine has no %s system call entry: an unfiltered "
                              "getpid through it died of %s\n",
                              what, strsignal(WTERMSIG(status)));
        else
                print_message("skipped: this machine has no %s system call entry: an unfiltered "
                              "getpid through it failed: %s\n",
                              what, strerror(WEXITSTATUS(status)));
        return false;
}

static void test_i386_entry_filtered(void **state)
{
        const char *x86 = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                          "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                          "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],"
                          "\"syscalls\":[{\"names\":[\"getppid\"],"
                          "\"action\":\"SCMP_ACT_ERRNO\"}]}";
        char dir[] = "/tmp/hawser-secprof-XXXXXX";
        struct secprof_bpf b = {0};
        struct err err = {0};

        (void)state;
        if (geteuid() != 0 || !entry_works(do_getpid_i386, "32-bit (i386, int $0x80)"))
                skip();
        /* The default filter, loaded and compiled, closes i386's unshare and keeps its
         * getpid; a profile that lists the sub-architecture filters it too. */
        assert_int_equal(in_filtered_child(0, do_unshare_i386), EPERM);
        assert_int_equal(in_filtered_child(0, do_getpid_i386), 0);
        assert_int_equal(in_profile_child(x86, 0, do_getppid_i386), EPERM);
        assert_non_null(mkdtemp(dir));
        assert_int_equal(secprof_default_bpf(0, dir, &b, &err), 0);
        assert_int_equal(in_compiled_child(&b, do_unshare_i386), EPERM);
        assert_int_equal(in_compiled_child(&b, do_getpid_i386), 0);
        secprof_bpf_free(&b);
        assert_int_equal(fs_rm_rf(dir, &err), 0);
}

static void test_x32_entry_filtered(void **state)
{
        (void)state;
        if (geteuid() != 0 || !entry_works(do_getpid_x32, "x32"))
                skip();
        assert_int_equal(in_filtered_child(0, do_unshare_x32), EPERM);
        assert_int_equal(in_filtered_child(0, do_getpid_x32), 0);
}
#endif

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_defaults_and_forms),
                cmocka_unit_test(test_parse_refusals),
                cmocka_unit_test(test_filter_blocks_and_allows),
                cmocka_unit_test(test_profile_allowlist),
                cmocka_unit_test(test_profile_actions_and_skips),
                cmocka_unit_test(test_profile_args),
                cmocka_unit_test(test_profile_filters),
                cmocka_unit_test(test_profile_refusals),
                cmocka_unit_test(test_create_opt),
                cmocka_unit_test(test_compiled_default_cached),
#ifdef __x86_64__
                cmocka_unit_test(test_i386_entry_filtered),
                cmocka_unit_test(test_x32_entry_filtered),
#endif
        };
        return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
