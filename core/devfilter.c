/* Device rules on cgroup v2: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to
 * the container's cgroup, which the kernel asks before every open or mknod of a device
 * node. The program is built from the same rule strings the v1 devices controller takes
 * (cgroup.h: "c 1:3 rwm", "deny c 1:3 m", "a *:* rwm"), read as v1 reads them: everything
 * denied, then each rule in turn; the last rule that matches an access decides. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "devfilter.h"

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* One parsed rule; major/minor -1: any. */
struct rule {
        bool allow;
        int type; /* 0: any, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR */
        long major, minor;
        int access; /* BPF_DEVCG_ACC_* bits */
};

static int parse_num(const char *s, long *ret)
{
        char *end;

        if (!strcmp(s, "*")) {
                *ret = -1;
                return 0;
        }
        *ret = strtol(s, &end, 10);
        return end != s && !*end && *ret >= 0 && *ret <= 0x7fffffff ? 0 : -EINVAL;
}

static int parse_rule(const char *text, struct rule *r)
{
        char type, nums[64], acc[8], maj[32], min[32];

        *r = (struct rule){.allow = strncmp(text, "deny ", 5) != 0};
        if (!r->allow)
                text += 5;
        /* "a" alone allows or denies everything. */
        if (!strcmp(text, "a")) {
                r->major = r->minor = -1;
                r->access = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
                return 0;
        }
        if (sscanf(text, "%c %63s %7s", &type, nums, acc) != 3 ||
            sscanf(nums, "%31[^:]:%31s", maj, min) != 2 || parse_num(maj, &r->major) < 0 ||
            parse_num(min, &r->minor) < 0)
                return -EINVAL;
        r->type = type == 'b' ? BPF_DEVCG_DEV_BLOCK : type == 'c' ? BPF_DEVCG_DEV_CHAR : 0;
        if (type != 'a' && !r->type)
                return -EINVAL;
        for (const char *a = acc; *a; a++)
                r->access |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                             : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                             : *a == 'm' ? BPF_DEVCG_ACC_MKNOD
                                         : 0x100;
        return r->access && r->access < 0x100 ? 0 : -EINVAL;
}

/* Appends a rule's test: with r2 the device type, r3 the access asked, r4 major, r5 minor,
 * every mismatch jumps past the block; a match returns the rule's verdict. An allow matches
 * when it covers all the access asked, a deny when it covers any of it. */
static size_t emit_rule(const struct rule *r, struct bpf_insn *out)
{
        struct bpf_insn b[10];
        size_t n = 0, jumps[5], nj = 0;

        if (r->type) {
                jumps[nj++] = n;
                b[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type);
        }
        if (r->major >= 0) {
                jumps[nj++] = n;
                b[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int)r->major);
        }
        if (r->minor >= 0) {
                jumps[nj++] = n;
                b[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int)r->minor);
        }
        b[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
        b[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0,
                      r->allow ? ~r->access & 7 : r->access);
        jumps[nj++] = n;
        b[n++] = INSN(BPF_JMP | (r->allow ? BPF_JNE : BPF_JEQ) | BPF_K, BPF_REG_6, 0, 0, 0);
        b[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
        b[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t i = 0; i < nj; i++)
                b[jumps[i]].off = (short)(n - jumps[i] - 1);
        memcpy(out, b, n * sizeof(*b));
        return n;
}

int devfilter_build(char *const *rules, struct bpf_insn **ret, size_t *ret_n)
{
        size_t count = 0, n = 0;
        struct bpf_insn *p;
        struct rule *parsed;

        while (rules && rules[count])
                count++;
        parsed = calloc(count + 1, sizeof(*parsed));
        p = calloc(6 + 10 * count + 2, sizeof(*p));
        if (!parsed || !p) {
                free(parsed);
                free(p);
                return -ENOMEM;
        }
        for (size_t i = 0; i < count; i++)
                if (parse_rule(rules[i], &parsed[i]) < 0) {
                        free(parsed);
                        free(p);
                        return -EINVAL;
                }
        /* struct bpf_cgroup_dev_ctx: access_type (access << 16 | type), major, minor. */
        p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
        p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
        p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
        p[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
        p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
        p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
        /* The last rule first: the first match, from the end, decides. */
        for (size_t i = count; i-- > 0;)
                n += emit_rule(&parsed[i], p + n);
        p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
        p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        free(parsed);
        *ret = p;
        *ret_n = n;
        return 0;
}

int devfilter_attach(int cgroup_fd, char *const *rules, struct err *err)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        _cleanup_close_ int prog = -1;
        char log[512] = "";
        union bpf_attr a;
        uint32_t old_ids[64];
        size_t n, n_old;
        int r = devfilter_build(rules, &insns, &n);

        if (r < 0)
                return err_set(err, r, "device rules: %s",
                               r == -EINVAL ? "a rule is not \"TYPE MAJOR:MINOR ACCESS\""
                                            : "out of memory");
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (unsigned long)insns;
        a.insn_cnt = (unsigned)n;
        a.license = (unsigned long)"Apache";
        a.log_buf = (unsigned long)log;
        a.log_size = sizeof(log);
        a.log_level = 1;
        prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (prog < 0 && errno == ENOSPC) { /* the log was too small: load without it */
                a.log_buf = 0, a.log_size = 0, a.log_level = 0;
                prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        }
        if (prog < 0)
                return err_errno(err, "loading the device filter (eBPF)%s%s", log[0] ? ": " : "",
                                 log);
        /* The filters attached before (an update's): replaced by the new one, not ANDed. */
        memset(&a, 0, sizeof(a));
        a.query.target_fd = (unsigned)cgroup_fd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (unsigned long)old_ids;
        a.query.prog_cnt = ARRAY_SIZE(old_ids);
        n_old = syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)) == 0 ? a.query.prog_cnt : 0;
        if (n_old > ARRAY_SIZE(old_ids))
                n_old = ARRAY_SIZE(old_ids);
        memset(&a, 0, sizeof(a));
        a.target_fd = (unsigned)cgroup_fd;
        a.attach_bpf_fd = (unsigned)prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
                return err_errno(err, "attaching the device filter to the cgroup");
        for (size_t i = 0; i < n_old; i++) {
                _cleanup_close_ int old = -1;
                memset(&a, 0, sizeof(a));
                a.prog_id = old_ids[i];
                old = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
                memset(&a, 0, sizeof(a));
                a.target_fd = (unsigned)cgroup_fd;
                a.attach_bpf_fd = (unsigned)old;
                a.attach_type = BPF_CGROUP_DEVICE;
                if (old < 0 || syscall(SYS_bpf, BPF_PROG_DETACH, &a, sizeof(a)) < 0)
                        return err_errno(err, "detaching the earlier device filter");
        }
        /* The attachment keeps the program while the cgroup lives. */
        return 0;
}
