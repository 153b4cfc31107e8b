#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "caps.h"
#include "secprof.h"

/* A syscall the default filter refuses unless the container holds cap (-1: always). */
struct deny {
        const char *name;
        int cap;
};

static const struct deny deny[] = {
        /* Keyrings are not namespaced: a container would reach the host's. */
        {"add_key", -1},
        {"keyctl", -1},
        {"request_key", -1},
        /* Kernel attack surface no container workload needs by default. */
        {"io_uring_setup", -1},
        {"io_uring_enter", -1},
        {"io_uring_register", -1},
        {"bpf", CAP_SYS_ADMIN},
        {"perf_event_open", CAP_SYS_ADMIN},
        {"fanotify_init", CAP_SYS_ADMIN},
        {"lookup_dcookie", CAP_SYS_ADMIN},
        {"userfaultfd", CAP_SYS_PTRACE},
        /* Mounts and namespaces: the container's view of the system is fixed. */
        {"mount", CAP_SYS_ADMIN},
        {"umount", CAP_SYS_ADMIN},
        {"umount2", CAP_SYS_ADMIN},
        {"pivot_root", CAP_SYS_ADMIN},
        {"fsopen", CAP_SYS_ADMIN},
        {"fsconfig", CAP_SYS_ADMIN},
        {"fsmount", CAP_SYS_ADMIN},
        {"fspick", CAP_SYS_ADMIN},
        {"move_mount", CAP_SYS_ADMIN},
        {"open_tree", CAP_SYS_ADMIN},
        {"mount_setattr", CAP_SYS_ADMIN},
        {"setns", CAP_SYS_ADMIN},
        {"unshare", CAP_SYS_ADMIN},
        {"quotactl", CAP_SYS_ADMIN},
        {"swapon", CAP_SYS_ADMIN},
        {"swapoff", CAP_SYS_ADMIN},
        {"open_by_handle_at", CAP_DAC_READ_SEARCH},
        /* The host's clocks, modules, power and accounting. */
        {"clock_adjtime", CAP_SYS_TIME},
        {"clock_settime", CAP_SYS_TIME},
        {"settimeofday", CAP_SYS_TIME},
        {"stime", CAP_SYS_TIME},
        {"init_module", CAP_SYS_MODULE},
        {"finit_module", CAP_SYS_MODULE},
        {"delete_module", CAP_SYS_MODULE},
        {"create_module", CAP_SYS_MODULE},
        {"kexec_load", CAP_SYS_BOOT},
        {"kexec_file_load", CAP_SYS_BOOT},
        {"reboot", CAP_SYS_BOOT},
        {"acct", CAP_SYS_PACCT},
        {"iopl", CAP_SYS_RAWIO},
        {"ioperm", CAP_SYS_RAWIO},
        {"syslog", CAP_SYSLOG},
        /* Memory placement on other NUMA nodes. */
        {"mbind", CAP_SYS_NICE},
        {"set_mempolicy", CAP_SYS_NICE},
        {"move_pages", CAP_SYS_NICE},
        {"migrate_pages", CAP_SYS_NICE},
        /* Obsolete interfaces. */
        {"nfsservctl", -1},
        {"get_kernel_syms", -1},
        {"query_module", -1},
        {"sysfs", -1},
        {"_sysctl", -1},
        {"uselib", -1},
        {"ustat", -1},
        {"vm86", -1},
        {"vm86old", -1},
};

static const unsigned long clone_ns_flags[] = {
        CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static bool has_cap(uint64_t caps, int cap)
{
        return cap >= 0 && (caps >> cap) & 1;
}

/* A name this libseccomp or architecture does not know is nothing to block. */
static int deny_rule(scmp_filter_ctx ctx, const char *name, int errno_ret)
{
        int nr = seccomp_syscall_resolve_name(name);
        int r;

        if (nr == __NR_SCMP_ERROR)
                return 0;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errno_ret), nr, 0);
        return r == -EDOM || r == -EFAULT ? 0 : r;
}

/* clone's flags are its first argument on x86 (s390 swaps them; not supported here). */
static int clone_rules(scmp_filter_ctx ctx)
{
        int nr = seccomp_syscall_resolve_name("clone");
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(clone_ns_flags); i++)
                r = seccomp_rule_add(
                        ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]));
        return r < 0 ? r : deny_rule(ctx, "clone3", ENOSYS);
}

static int build(scmp_filter_ctx ctx, uint64_t caps)
{
        int r = 0;

        /* The 32-bit entry points would otherwise be a way around every rule. */
        if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
                r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
                if (r >= 0 || r == -EEXIST)
                        r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
                if (r == -EEXIST)
                        r = 0;
        }
        /* Whether no_new_privs is set is the caller's choice, not libseccomp's. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(deny); i++)
                if (!has_cap(caps, deny[i].cap))
                        r = deny_rule(ctx, deny[i].name, EPERM);
        if (r >= 0 && !has_cap(caps, CAP_SYS_ADMIN))
                r = clone_rules(ctx);
        return r;
}

int secprof_load(uint64_t caps, struct err *err)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return err_set(err, -ENOMEM, "building the seccomp filter");
        r = build(ctx, caps);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return err_set(err, r, "loading the seccomp filter: %s", strerror(-r));
        return 0;
}

/* ---- compiled default filters, cached ---- */

/* FNV-1a: the cache key only has to tell hawser binaries and capability sets apart. */
static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        return h;
}

/* The rule table is compiled into the binary: a new binary may mean a new filter. */
static int cache_path(const char *dir, uint64_t caps, char *out, size_t len)
{
        struct stat st;
        uint64_t h = 0xcbf29ce484222325ULL;
        char self[32] = "";
        const char *exe = "/proc/self/exe";

        /* A sealed copy (core/selfexe.h) is a new memfd every time: key on the binary it
         * was copied from. */
        if (readlink("/proc/self/exe", self, sizeof(self) - 1) > 0 &&
            !strncmp(self, "/memfd:", 7) && getenv("HAWSER_BINARY"))
                exe = getenv("HAWSER_BINARY");
        if (stat(exe, &st) < 0)
                return -errno;
        h = fnv(h, &st.st_dev, sizeof(st.st_dev));
        h = fnv(h, &st.st_ino, sizeof(st.st_ino));
        h = fnv(h, &st.st_size, sizeof(st.st_size));
        h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
        h = fnv(h, &caps, sizeof(caps));
        snprintf(out, len, "%s/default-%016llx.bpf", dir, (unsigned long long)h);
        return 0;
}

static int read_bpf(const char *path, struct secprof_bpf *ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        void *buf;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
            st.st_size > BPF_MAXINSNS * (off_t)sizeof(struct sock_filter))
                return -EINVAL;
        buf = malloc((size_t)st.st_size);
        if (!buf)
                return -ENOMEM;
        if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
                free(buf);
                return -EIO;
        }
        ret->insns = buf;
        ret->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
        return 0;
}

/* Compiles into a temporary file renamed into place, so readers never see half a program. */
static int write_bpf(const char *dir, const char *path, uint64_t caps, struct err *err)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        _cleanup_free_ char *tmp = util_printf("%s/.tmp-XXXXXX", dir);
        _cleanup_close_ int fd = -1;
        int r;

        if (!ctx || !tmp) {
                if (ctx)
                        seccomp_release(ctx);
                return err_set(err, -ENOMEM, "building the seccomp filter");
        }
        r = build(ctx, caps);
        if (r >= 0 && (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
                r = -errno;
        if (r >= 0)
                r = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                if (fd >= 0)
                        (void)unlink(tmp);
                return err_set(err, r, "building the seccomp filter: %s", strerror(-r));
        }
        return 0;
}

int secprof_default_bpf(uint64_t caps, const char *cache_dir, struct secprof_bpf *ret,
                        struct err *err)
{
        char path[PATH_MAX];
        int r = fs_mkdir_p(cache_dir, 0700, err);

        if (r < 0)
                return r;
        r = cache_path(cache_dir, caps, path, sizeof(path));
        if (r < 0)
                return err_set(err, r, "finding hawser's binary: %s", strerror(-r));
        r = read_bpf(path, ret);
        if (r != -ENOENT && r != -EINVAL)
                return r < 0 ? err_set(err, r, "reading %s: %s", path, strerror(-r)) : 0;
        r = write_bpf(cache_dir, path, caps, err);
        if (r < 0)
                return r;
        r = read_bpf(path, ret);
        return r < 0 ? err_set(err, r, "reading %s: %s", path, strerror(-r)) : 0;
}

int secprof_install(const struct secprof_bpf *b, struct err *err)
{
        struct sock_fprog prog = {.len = b->len, .filter = b->insns};

        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return err_errno(err, "loading the seccomp filter");
        return 0;
}

void secprof_bpf_free(struct secprof_bpf *b)
{
        free(b->insns);
        *b = (struct secprof_bpf){0};
}

void secprof_prepare(const struct secprof *sp, bool privileged, char **cap_add, char **cap_drop,
                     const char *cache_dir, struct secprof_bpf *ret)
{
        struct err e = {0};
        uint64_t caps;

        *ret = (struct secprof_bpf){0};
        if (!sp->seccomp || sp->profile || privileged || !cache_dir ||
            caps_resolve(caps_default(), cap_add, cap_drop, &caps, &e) < 0)
                return;
        if (secprof_default_bpf(caps, cache_dir, ret, &e) < 0)
                *ret = (struct secprof_bpf){0};
}

/* "no-new-privileges", "no-new-privileges=true|false" or the older ':' form. */
static int parse_nnp(const char *opt, bool *ret)
{
        const char *v = opt + strlen("no-new-privileges");

        if (!*v) {
                *ret = true;
                return 0;
        }
        if (*v != '=' && *v != ':')
                return -EINVAL;
        v++;
        if (!strcmp(v, "true") || !strcmp(v, "1")) {
                *ret = true;
                return 0;
        }
        if (!strcmp(v, "false") || !strcmp(v, "0")) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static bool has_key(const char *opt, const char *key)
{
        size_t n = strlen(key);

        return !strncmp(opt, key, n) && (opt[n] == '=' || opt[n] == ':');
}

/* One entry; index is its 1-based place, for Docker's message. */
static int apply_opt(const char *opt, int index, struct secprof *p, struct err *err)
{
        if (!strncmp(opt, "no-new-privileges", strlen("no-new-privileges"))) {
                if (parse_nnp(opt, &p->no_new_privs) < 0)
                        return err_set(err, -EINVAL, "invalid --security-opt %d: \"%s\"", index,
                                       opt);
                return 0;
        }
        if (has_key(opt, "seccomp")) {
                const char *v = opt + strlen("seccomp=");

                p->seccomp = strcmp(v, "unconfined") != 0;
                p->profile = p->seccomp ? v : NULL;
                return 0;
        }
        /* No LSM profile is applied, so there is nothing these could change. */
        if (has_key(opt, "apparmor") || has_key(opt, "label"))
                return 0;
        return err_set(err, -EINVAL, "invalid --security-opt %d: \"%s\"", index, opt);
}

int secprof_parse(const struct jv *security_opt, struct secprof *ret, struct err *err)
{
        struct secprof p = {.seccomp = true, .no_new_privs = true};

        for (size_t i = 0; i < jv_len(security_opt); i++) {
                const char *opt = jv_str(jv_at(security_opt, i));
                int r = apply_opt(opt ? opt : "", (int)i + 1, &p, err);

                if (r < 0)
                        return r;
        }
        *ret = p;
        return 0;
}

int secprof_check_opt(const char *opt, struct err *err)
{
        struct secprof p = {0};

        if (!strchr(opt, '=') && !strchr(opt, ':') && strcmp(opt, "no-new-privileges"))
                return err_set(err, -EINVAL, "Invalid --security-opt: \"%s\"", opt);
        return apply_opt(opt, 1, &p, err);
}
