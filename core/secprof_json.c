/* Docker's seccomp profiles: the JSON is parsed and checked whole (every rule, even one its
 * filters skip, so a profile that works with some capabilities fails with none), then the
 * rules that apply to this container become a libseccomp filter. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "base/cleanup.h"
#include "base/fs.h"
#include "base/util.h"
#include "caps.h"
#include "secprof.h"

#define DECODE "Decoding seccomp profile failed: "

/* The kernel turns larger errno values into MAX_ERRNO; libseccomp would cut them to 16 bits. */
#define ERRNO_MAX 4095
#define ARGS_MAX  6

static const struct {
        const char *name;
        uint32_t action;
        bool has_errno; /* the low 16 bits are errnoRet (EPERM when not given) */
} actions[] = {
        {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
        {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
        {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* The native architecture as the profile names it: its SCMP name (archMap) and Go's name
 * (includes/excludes arches, which moby compares with runtime.GOARCH). */
static const struct {
        uint32_t arch;
        const char *scmp, *go;
} native_names[] = {
        {SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64", "amd64"},
        {SCMP_ARCH_X86, "SCMP_ARCH_X86", "386"},
        {SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64", "arm64"},
        {SCMP_ARCH_ARM, "SCMP_ARCH_ARM", "arm"},
        {SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE", "ppc64le"},
        {SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64", "ppc64"},
        {SCMP_ARCH_S390X, "SCMP_ARCH_S390X", "s390x"},
        {SCMP_ARCH_S390, "SCMP_ARCH_S390", "s390"},
        {SCMP_ARCH_MIPS, "SCMP_ARCH_MIPS", "mips"},
        {SCMP_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL", "mipsle"},
        {SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64", "mips64"},
        {SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64", "mips64le"},
        {SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64", "riscv64"},
};

/* Filter flags runc knows; Docker 20.10 ignores the others, and so does hawser. A process
 * of one thread needs no TSYNC. */
static const struct {
        const char *name;
        enum scmp_filter_attr attr;
} flag_attrs[] = {
        {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
};

/* One entry of "syscalls", checked. */
struct rule {
        const struct jv *names; /* array of strings, or NULL */
        const char *name;       /* "name", or NULL */
        uint32_t action;
        struct scmp_arg_cmp args[ARGS_MAX * 4]; /* enough for any sensible rule */
        size_t n_args;
        bool split;  /* an argument is compared twice: one rule per comparison, as runc does */
        bool wanted; /* its includes/excludes let it apply here */
};

static const char *native_name(bool go)
{
        uint32_t native = seccomp_arch_native();

        for (size_t i = 0; i < ARRAY_SIZE(native_names); i++)
                if (native_names[i].arch == native)
                        return go ? native_names[i].go : native_names[i].scmp;
        return "";
}

static bool is_null(const struct jv *v)
{
        return !v || jv_type(v) == JV_NULL;
}

/* where is a member prefix ("syscalls[0]."): the message names the value itself. */
static int not_a(const char *where, const char *what, struct err *err)
{
        return err_set(err, -EINVAL, DECODE "%.*s is not %s", (int)strlen(where) - 1, where, what);
}

/* A string member or NULL when absent; -EINVAL for another type. */
static int get_str(const struct jv *obj, const char *key, const char *where, const char **ret,
                   struct err *err)
{
        const struct jv *v = jv_get(obj, key);

        if (is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (jv_type(v) != JV_STRING)
                return err_set(err, -EINVAL, DECODE "%s%s is not a string", where, key);
        *ret = jv_str(v);
        return 0;
}

/* An unsigned integer member (Go's uint types take no sign and no fraction); 1 when
 * present, 0 when absent. */
static int get_uint(const struct jv *obj, const char *key, const char *where, uint64_t max,
                    uint64_t *ret, struct err *err)
{
        const struct jv *v = jv_get(obj, key);
        const char *text;
        char *end;
        uint64_t n;

        if (is_null(v))
                return 0;
        /* The text, not jv_int: values past INT64_MAX are valid masks. */
        text = jv_type(v) == JV_INT ? jv_to_string(v, false) : "";
        errno = 0;
        n = strtoull(text, &end, 10);
        if (!*text || *text == '-' || *end || errno)
                return err_set(err, -EINVAL, DECODE "%s%s is not an unsigned integer", where, key);
        if (n > max)
                return err_set(err, -EINVAL,
                               DECODE "%s%s %" PRIu64 " is out of range (0-%" PRIu64 ")", where,
                               key, n, max);
        *ret = n;
        return 1;
}

/* An array of strings, or null. */
static int check_strings(const struct jv *obj, const char *key, const char *where, struct err *err)
{
        const struct jv *v = jv_get(obj, key);

        if (is_null(v))
                return 0;
        if (jv_type(v) != JV_ARRAY)
                return err_set(err, -EINVAL, DECODE "%s%s is not an array of strings", where, key);
        for (size_t i = 0; i < jv_len(v); i++)
                if (jv_type(jv_at(v, i)) != JV_STRING)
                        return err_set(err, -EINVAL, DECODE "%s%s is not an array of strings",
                                       where, key);
        return 0;
}

static bool has_string(const struct jv *arr, const char *s)
{
        for (size_t i = 0; i < jv_len(arr); i++)
                if (!strcmp(jv_str(jv_at(arr, i)), s))
                        return true;
        return false;
}

/* Action name and errno as runc turns them into libseccomp's action. */
static int parse_action(const char *name, uint64_t errno_ret, bool has_errno_ret, uint32_t *ret,
                        struct err *err)
{
        if (!strcmp(name, "SCMP_ACT_NOTIFY"))
                return err_set(err, -EINVAL,
                               "seccomp action SCMP_ACT_NOTIFY is not supported: hawser has no "
                               "seccomp agent (listenerPath)");
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
                if (strcmp(name, actions[i].name))
                        continue;
                *ret = actions[i].action;
                if (actions[i].has_errno)
                        *ret |= has_errno_ret ? (uint32_t)errno_ret : EPERM;
                return 0;
        }
        return err_set(err, -EINVAL, "string %s is not a valid action for seccomp", name);
}

/* "SCMP_ARCH_X86" to libseccomp's token, or 0. */
static uint32_t resolve_arch(const char *name)
{
        char lower[32];
        size_t n = strlen("SCMP_ARCH_");

        if (strncmp(name, "SCMP_ARCH_", n) || strlen(name + n) >= sizeof(lower))
                return 0;
        for (size_t i = 0; i <= strlen(name + n); i++)
                lower[i] = (char)tolower((unsigned char)name[n + i]);
        return seccomp_arch_resolve_name(lower);
}

static int add_arch(scmp_filter_ctx ctx, const char *name, struct err *err)
{
        uint32_t arch = resolve_arch(name);
        int r;

        if (!arch)
                return err_set(err, -EINVAL, "string %s is not a valid arch for seccomp", name);
        r = seccomp_arch_add(ctx, arch);
        if (r < 0 && r != -EEXIST)
                return err_set(err, r, "adding architecture %s to the seccomp filter: %s", name,
                               strerror(-r));
        return 0;
}

/* "architectures", or the "archMap" entry of the native architecture with its
 * subArchitectures (other entries are not for this machine: Docker ignores them). */
static int add_arches(scmp_filter_ctx ctx, const struct jv *doc, struct err *err)
{
        const struct jv *list = jv_get(doc, "architectures"), *map = jv_get(doc, "archMap");
        int r = check_strings(doc, "architectures", "", err);

        if (r >= 0 && jv_len(list) && jv_len(map))
                return err_set(err, -EINVAL,
                               "'architectures' and 'archMap' were specified in the seccomp "
                               "profile, use either 'architectures' or 'archMap'");
        for (size_t i = 0; r >= 0 && i < jv_len(list); i++)
                r = add_arch(ctx, jv_str(jv_at(list, i)), err);
        if (r >= 0 && !is_null(map) && jv_type(map) != JV_ARRAY)
                return err_set(err, -EINVAL, DECODE "archMap is not an array");
        for (size_t i = 0; r >= 0 && i < jv_len(map); i++) {
                const struct jv *e = jv_at(map, i), *subs = jv_get(e, "subArchitectures");
                const char *arch;
                char where[32];

                snprintf(where, sizeof(where), "archMap[%zu].", i);
                if (jv_type(e) != JV_OBJECT)
                        return not_a(where, "an object", err);
                r = get_str(e, "architecture", where, &arch, err);
                if (r >= 0)
                        r = check_strings(e, "subArchitectures", where, err);
                if (r < 0 || !arch || strcmp(arch, native_name(false)))
                        continue;
                r = add_arch(ctx, arch, err);
                for (size_t j = 0; r >= 0 && j < jv_len(subs); j++)
                        r = add_arch(ctx, jv_str(jv_at(subs, j)), err);
        }
        return r;
}

static int add_flags(scmp_filter_ctx ctx, const struct jv *doc, struct err *err)
{
        const struct jv *flags = jv_get(doc, "flags");
        int r = check_strings(doc, "flags", "", err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < jv_len(flags); i++)
                for (size_t j = 0; j < ARRAY_SIZE(flag_attrs); j++) {
                        if (strcmp(jv_str(jv_at(flags, i)), flag_attrs[j].name))
                                continue;
                        r = seccomp_attr_set(ctx, flag_attrs[j].attr, 1);
                        if (r < 0)
                                return err_set(err, r, "setting seccomp filter flag %s: %s",
                                               flag_attrs[j].name, strerror(-r));
                }
        return 0;
}

/* "<kernel>.<major>" as moby reads it. */
static int parse_kernel(const char *s, unsigned long long v[2], struct err *err)
{
        const char *p = s;

        for (int i = 0; i < 2; i++) {
                char *end;

                if (*p < '0' || *p > '9')
                        goto bad;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (errno || *end != (i == 0 ? '.' : '\0'))
                        goto bad;
                p = end + 1;
        }
        return 0;
bad:
        return err_set(err, -EINVAL,
                       DECODE "invalid kernel version: \"%s\", expected \"<kernel>.<major>\"", s);
}

/* Whether the running kernel is at least min ("5.4"). */
static int kernel_at_least(const char *min, bool *ret, struct err *err)
{
        unsigned long long want[2], have[2] = {0, 0};
        struct utsname u;
        int r = parse_kernel(min, want, err);

        if (r < 0)
                return r;
        if (uname(&u) < 0)
                return err_errno(err, "uname");
        if (sscanf(u.release, "%llu.%llu", &have[0], &have[1]) < 1)
                return err_set(err, -EINVAL, "cannot read the kernel version \"%s\"", u.release);
        *ret = have[0] > want[0] || (have[0] == want[0] && have[1] >= want[1]);
        return 0;
}

/* Whether caps holds the capability moby would see by that name ("CAP_SYS_ADMIN"). */
static bool holds(uint64_t caps, const char *name)
{
        int cap;

        if (strncmp(name, "CAP_", 4))
                return false;
        for (const char *p = name; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        return false;
        cap = caps_from_name(name);
        return cap >= 0 && (caps >> cap) & 1;
}

/* rule's includes (include true) or excludes: whether that filter lets the rule apply. */
static int filter_allows(const struct jv *rule, bool include, const char *rule_where, uint64_t caps,
                         bool *ret, struct err *err)
{
        const char *key = include ? "includes" : "excludes";
        const struct jv *f = jv_get(rule, key);
        const struct jv *capv = jv_get(f, "caps"), *arches = jv_get(f, "arches");
        const char *min;
        char where[64];
        bool ok = true, newer = false;
        int r;

        snprintf(where, sizeof(where), "%s%s.", rule_where, key);
        if (is_null(f)) {
                *ret = true;
                return 0;
        }
        if (jv_type(f) != JV_OBJECT)
                return not_a(where, "an object", err);
        r = check_strings(f, "caps", where, err);
        if (r >= 0)
                r = check_strings(f, "arches", where, err);
        if (r >= 0)
                r = get_str(f, "minKernel", where, &min, err);
        if (r >= 0 && min)
                r = kernel_at_least(min, &newer, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < jv_len(capv); i++)
                if (holds(caps, jv_str(jv_at(capv, i))) != include)
                        ok = false;
        if (jv_len(arches) && has_string(arches, native_name(true)) != include)
                ok = false;
        if (min && newer != include)
                ok = false;
        *ret = ok;
        return 0;
}

static int parse_arg(const struct jv *a, const char *where, const char *sys,
                     struct scmp_arg_cmp *ret, struct err *err)
{
        uint64_t index = 0, value = 0, value_two = 0;
        const char *op = NULL;
        int r;

        if (jv_type(a) != JV_OBJECT)
                return not_a(where, "an object", err);
        r = get_uint(a, "index", where, UINT64_MAX, &index, err);
        if (r >= 0)
                r = get_uint(a, "value", where, UINT64_MAX, &value, err);
        if (r >= 0)
                r = get_uint(a, "valueTwo", where, UINT64_MAX, &value_two, err);
        if (r >= 0)
                r = get_str(a, "op", where, &op, err);
        if (r < 0)
                return r;
        if (index >= ARGS_MAX)
                return err_set(err, -EINVAL,
                               "error creating seccomp syscall condition for syscall %s: "
                               "syscalls only have up to 6 arguments (%" PRIu64 " given)",
                               sys, index);
        for (size_t i = 0; i < ARRAY_SIZE(operators); i++)
                if (op && !strcmp(op, operators[i].name)) {
                        /* MASKED_EQ: value is the mask, valueTwo the result. */
                        *ret = (struct scmp_arg_cmp){.arg = (unsigned)index,
                                                     .op = operators[i].op,
                                                     .datum_a = value,
                                                     .datum_b = value_two};
                        return 0;
                }
        return err_set(err, -EINVAL, "string %s is not a valid operator for seccomp", op ? op : "");
}

static int parse_args(const struct jv *rule, const char *where, const char *sys, struct rule *ret,
                      struct err *err)
{
        const struct jv *args = jv_get(rule, "args");
        unsigned seen = 0;
        int r = 0;

        if (!is_null(args) && jv_type(args) != JV_ARRAY)
                return err_set(err, -EINVAL, DECODE "%sargs is not an array", where);
        if (jv_len(args) > ARRAY_SIZE(ret->args))
                return err_set(err, -EINVAL, DECODE "%sargs has more than %zu comparisons", where,
                               ARRAY_SIZE(ret->args));
        for (size_t i = 0; r >= 0 && i < jv_len(args); i++) {
                char w[64];

                snprintf(w, sizeof(w), "%sargs[%zu].", where, i);
                r = parse_arg(jv_at(args, i), w, sys, &ret->args[i], err);
                if (r >= 0 && (seen >> ret->args[i].arg) & 1)
                        ret->split = true;
                if (r >= 0)
                        seen |= 1U << ret->args[i].arg;
        }
        ret->n_args = jv_len(args);
        return r;
}

static int parse_names(const struct jv *rule, const char *where, struct rule *ret, struct err *err)
{
        int r = check_strings(rule, "names", where, err);

        if (r >= 0)
                r = get_str(rule, "name", where, &ret->name, err);
        if (r < 0)
                return r;
        ret->names = jv_get(rule, "names");
        if (ret->name && !*ret->name)
                ret->name = NULL;
        if (ret->name && jv_len(ret->names))
                return err_set(err, -EINVAL,
                               "'name' and 'names' were specified in the seccomp profile, use "
                               "either 'name' or 'names'");
        return 0;
}

/* The i-th name of the rule, NULL past the last. */
static const char *rule_name(const struct rule *rl, size_t i)
{
        if (rl->name)
                return i == 0 ? rl->name : NULL;
        return i < jv_len(rl->names) ? jv_str(jv_at(rl->names, i)) : NULL;
}

static int parse_rule(const struct jv *rule, size_t index, uint64_t caps, struct rule *ret,
                      struct err *err)
{
        const char *action = NULL;
        uint64_t errno_ret = 0;
        bool inc = true, exc = true;
        char where[32];
        int r, has_errno;

        snprintf(where, sizeof(where), "syscalls[%zu].", index);
        if (jv_type(rule) != JV_OBJECT)
                return not_a(where, "an object", err);
        r = parse_names(rule, where, ret, err);
        if (r >= 0)
                r = get_str(rule, "action", where, &action, err);
        if (r < 0)
                return r;
        has_errno = get_uint(rule, "errnoRet", where, ERRNO_MAX, &errno_ret, err);
        if (has_errno < 0)
                return has_errno;
        r = parse_action(action ? action : "", errno_ret, has_errno, &ret->action, err);
        if (r >= 0)
                r = parse_args(rule, where, rule_name(ret, 0) ?: "", ret, err);
        if (r >= 0)
                r = filter_allows(rule, true, where, caps, &inc, err);
        if (r >= 0)
                r = filter_allows(rule, false, where, caps, &exc, err);
        ret->wanted = inc && exc;
        return r;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *rl, uint32_t dflt, struct err *err)
{
        const char *name;

        /* libseccomp refuses a rule that repeats the default action; it changes nothing. */
        if (!rl->wanted || rl->action == dflt)
                return 0;
        for (size_t i = 0; (name = rule_name(rl, i)); i++) {
                int nr = seccomp_syscall_resolve_name(name);
                int r = 0;

                /* A call this libseccomp does not know cannot be filtered (Docker skips it). */
                if (nr == __NR_SCMP_ERROR)
                        continue;
                if (!rl->split)
                        r = seccomp_rule_add_array(ctx, rl->action, nr, (unsigned)rl->n_args,
                                                   rl->args);
                for (size_t j = 0; rl->split && r >= 0 && j < rl->n_args; j++)
                        r = seccomp_rule_add_array(ctx, rl->action, nr, 1, &rl->args[j]);
                /* Known by name but not on one of the filter's architectures. */
                if (r < 0 && r != -EDOM && r != -EFAULT)
                        return err_set(err, r,
                                       "error adding seccomp filter rule for syscall %s: %s", name,
                                       strerror(-r));
        }
        return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct jv *doc, uint32_t dflt, uint64_t caps,
                     struct err *err)
{
        const struct jv *calls = jv_get(doc, "syscalls");
        int r = 0;

        if (!is_null(calls) && jv_type(calls) != JV_ARRAY)
                return err_set(err, -EINVAL, DECODE "syscalls is not an array");
        for (size_t i = 0; r >= 0 && i < jv_len(calls); i++) {
                struct rule rl = {0};

                r = parse_rule(jv_at(calls, i), i, caps, &rl, err);
                if (r >= 0)
                        r = add_rule(ctx, &rl, dflt, err);
        }
        return r;
}

/* defaultAction and defaultErrnoRet; *ret_none when the profile asks for no filter. */
static int parse_default(const struct jv *doc, uint32_t *ret, bool *ret_none, struct err *err)
{
        const char *name = NULL;
        uint64_t errno_ret = 0;
        int r = get_str(doc, "defaultAction", "", &name, err), has_errno;

        if (r < 0)
                return r;
        has_errno = get_uint(doc, "defaultErrnoRet", "", ERRNO_MAX, &errno_ret, err);
        if (has_errno < 0)
                return has_errno;
        /* runc loads no filter for a profile that says nothing. */
        *ret_none = (!name || !*name) && !jv_len(jv_get(doc, "syscalls"));
        if (*ret_none) {
                *ret = SCMP_ACT_ALLOW;
                return 0;
        }
        return parse_action(name ? name : "", errno_ret, has_errno, ret, err);
}

/* Parses any JSON value: json-c wants a delimiter after a top-level number or literal (the
 * profile "null" means no filter in Docker), so the text is parsed as an array's only
 * element. *ret is borrowed from *ret_holder. */
static int parse_value(const char *text, struct jv **ret_holder, const struct jv **ret,
                       struct err *err)
{
        _cleanup_free_ char *wrapped = util_printf("[%s\n]", text);
        _cleanup_jv_ struct jv *arr = NULL;
        int r;

        if (!wrapped)
                return err_set(err, -ENOMEM, "parsing the seccomp profile");
        r = jv_parse(wrapped, &arr, err);
        if (r >= 0 && jv_len(arr) != 1)
                r = err_set(err, -EINVAL, "invalid JSON: %s",
                            jv_len(arr) ? "trailing data" : "no value");
        if (r < 0)
                return r;
        *ret = jv_at(arr, 0);
        *ret_holder = TAKE_PTR(arr);
        return 0;
}

/* The filter of profile for caps; *ret is NULL when the profile asks for none. */
static int compile(const char *profile, uint64_t caps, scmp_filter_ctx *ret, struct err *err)
{
        _cleanup_jv_ struct jv *holder = NULL;
        const struct jv *doc;
        scmp_filter_ctx ctx;
        uint32_t dflt;
        bool none;
        int r = parse_value(profile, &holder, &doc, err);

        if (r < 0)
                return err_wrap(err, "Decoding seccomp profile failed");
        if (is_null(doc)) {
                *ret = NULL;
                return 0;
        }
        if (jv_type(doc) != JV_OBJECT)
                return err_set(err, -EINVAL, DECODE "the profile is not a JSON object");
        r = parse_default(doc, &dflt, &none, err);
        if (r < 0)
                return r;
        ctx = seccomp_init(dflt);
        if (!ctx)
                return err_set(err, -ENOMEM, "building the seccomp filter");
        /* Whether no_new_privs is set is the caller's choice, not libseccomp's. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                err_set(err, r, "building the seccomp filter: %s", strerror(-r));
        if (r >= 0)
                r = add_flags(ctx, doc, err);
        if (r >= 0)
                r = add_arches(ctx, doc, err);
        if (r >= 0)
                r = add_rules(ctx, doc, dflt, caps, err);
        if (r < 0 || none) {
                seccomp_release(ctx);
                ctx = NULL;
        }
        if (r >= 0)
                *ret = ctx;
        return r;
}

int secprof_check_profile(const char *profile, uint64_t caps, struct err *err)
{
        scmp_filter_ctx ctx = NULL;
        int r = compile(profile, caps, &ctx, err);

        if (ctx)
                seccomp_release(ctx);
        return r;
}

int secprof_load_profile(const char *profile, uint64_t caps, struct err *err)
{
        scmp_filter_ctx ctx = NULL;
        int r = compile(profile, caps, &ctx, err);

        if (r < 0 || !ctx)
                return r;
        r = seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return err_set(err, r, "loading the seccomp filter: %s", strerror(-r));
        return 0;
}

/* Go's json.Compact: the text without insignificant whitespace, and its errors for what
 * JSON does not allow but json-c would take (comments, single quotes, trailing commas, a
 * second value) or for text that ends early; the parser checks the rest. */
static int compact_json(const char *text, char **ret, struct err *err)
{
        _cleanup_free_ char *out = malloc(strlen(text) + 1);
        bool in_str = false, esc = false, done = false;
        size_t len = 0;
        int depth = 0;
        char last = 0;

        if (!out)
                return err_set(err, -ENOMEM, "reading the seccomp profile");
        for (const char *p = text; *p; p++) {
                char c = *p;

                if (in_str) {
                        in_str = esc || c != '"';
                        esc = !esc && c == '\\';
                } else if (strchr(" \t\n\r", c)) {
                        continue;
                } else if (done) {
                        return err_set(err, -EINVAL, "invalid character '%c' after top-level value",
                                       c);
                } else if (c == '/' || c == '\'' || ((c == ']' || c == '}') && last == ',')) {
                        return err_set(err, -EINVAL,
                                       "invalid character '%c' looking for beginning of value", c);
                } else if (c == '"') {
                        in_str = true;
                } else if (c == '{' || c == '[') {
                        depth++;
                } else if (c == '}' || c == ']') {
                        done = --depth == 0;
                }
                out[len++] = last = c;
        }
        if (!len || in_str || depth > 0)
                return err_set(err, -EINVAL, "unexpected end of JSON input");
        out[len] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static int read_profile(const char *path, uint64_t caps, char **ret, struct err *err)
{
        _cleanup_free_ char *text = NULL, *json = NULL;
        _cleanup_jv_ struct jv *doc = NULL;
        const struct jv *value;
        char eb[64];
        int r;

        r = fs_read_file(path, &text, NULL, err);
        /* A directory opens and fails on read, as Go reports it. */
        if (r < 0)
                return err_set(err, r, "opening seccomp profile (%s) failed: %s %s: %s", path,
                               r == -EISDIR ? "read" : "open", path, util_go_strerror(-r, eb));
        r = compact_json(text, &json, err);
        if (r >= 0)
                r = parse_value(json, &doc, &value, err);
        if (r < 0)
                return err_wrap(err, "compacting json for seccomp profile (%s) failed", path);
        r = secprof_check_profile(json, caps, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(json);
        return 0;
}

int secprof_create_opt(const char *opt, uint64_t caps, char **ret, struct err *err)
{
        _cleanup_free_ char *json = NULL;
        bool file = (!strncmp(opt, "seccomp=", 8) || !strncmp(opt, "seccomp:", 8)) &&
                    strcmp(opt + 8, "unconfined");
        char *s;
        int r = secprof_check_opt(opt, err);

        if (r < 0)
                return r;
        if (file) {
                r = read_profile(opt + 8, caps, &json, err);
                if (r < 0)
                        return r;
                s = util_printf("seccomp=%s", json);
        } else {
                s = strdup(opt);
        }
        if (!s)
                return err_set(err, -ENOMEM, "storing --security-opt");
        *ret = s;
        return 0;
}
