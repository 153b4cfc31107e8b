#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include <sys/capability.h>

#include "caps.h"

uint64_t caps_default(void)
{
        static const int def[] = {
                CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                CAP_KILL,    CAP_AUDIT_WRITE,
        };
        uint64_t m = 0;

        for (size_t i = 0; i < sizeof(def) / sizeof(def[0]); i++)
                m |= 1ULL << def[i];
        return m;
}

/* The kernel's highest capability number: probed once per process. */
static int cap_last(void)
{
        static int last = -1;

        if (last < 0) {
                last = CAP_LAST_CAP;
                while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
                        last++;
        }
        return last;
}

/* Our bounding set, read once: only caps_drop_bounding changes it (and forgets it). A start
 * resolves capabilities several times, each would cost a system call per capability. */
static bool bounding_known;
static uint64_t bounding;

uint64_t caps_all(void)
{
        /* Only what our own bounding set still holds can be given to a container. */
        if (!bounding_known) {
                int last = cap_last();
                bounding = 0;
                for (int c = 0; c <= last && c < 64; c++)
                        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                                bounding |= 1ULL << c;
                bounding_known = true;
        }
        return bounding;
}

int caps_from_name(const char *name)
{
        char buf[64];
        cap_value_t v;
        char *canon;
        bool same;

        if (strncasecmp(name, "CAP_", 4) == 0)
                name += 4;
        if (!*name || strlen(name) + 5 > sizeof(buf))
                return -EINVAL;
        /* libcap stops at the first character it does not expect and accepts numbers;
         * Docker takes only whole names. */
        for (const char *p = name; *p; p++)
                if (!isalpha((unsigned char)*p) && *p != '_')
                        return -EINVAL;
        snprintf(buf, sizeof(buf), "cap_%s", name);
        for (char *p = buf; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        if (cap_from_name(buf, &v) < 0 || v < 0 || v > 63)
                return -EINVAL;
        canon = cap_to_name(v);
        same = canon && !strcmp(canon, buf);
        cap_free(canon);
        return same ? v : -EINVAL;
}

/* Adds (or removes) the named capabilities; "ALL" is handled by the caller. */
static int apply_list(char **names, uint64_t *set, bool add, struct err *err)
{
        for (; names && *names; names++) {
                int c;
                if (!strcasecmp(*names, "ALL"))
                        continue;
                c = caps_from_name(*names);
                if (c < 0) {
                        char up[64];
                        const char *n = strncasecmp(*names, "CAP_", 4) ? *names : *names + 4;
                        size_t i = 0;
                        for (; n[i] && i < sizeof(up) - 1; i++)
                                up[i] = (char)toupper((unsigned char)n[i]);
                        up[i] = '\0';
                        return err_set(err, -EINVAL, "unknown capability: \"CAP_%s\"", up);
                }
                if (add)
                        *set |= 1ULL << c;
                else
                        *set &= ~(1ULL << c);
        }
        return 0;
}

static bool has_all(char **names)
{
        for (; names && *names; names++)
                if (!strcasecmp(*names, "ALL"))
                        return true;
        return false;
}

int caps_resolve(uint64_t base, char **add, char **drop, uint64_t *ret, struct err *err)
{
        uint64_t set = base, added = 0, dropped = 0;
        int r;

        /* As Docker's TweakCapabilities: "ALL" in adds starts from every capability and
         * then drops apply; otherwise drops apply to the base and adds win. */
        r = apply_list(add, &added, true, err);
        if (r >= 0)
                r = apply_list(drop, &dropped, true, err);
        if (r < 0)
                return r;
        if (has_all(add))
                set = caps_all() & ~dropped;
        else if (has_all(drop))
                set = added;
        else
                set = (base & ~dropped) | added;
        *ret = set & caps_all();
        return 0;
}

int caps_drop_bounding(uint64_t keep, struct err *err)
{
        int last = cap_last();

        bounding_known = false;
        for (int c = 0; c <= last; c++) {
                if (keep & (1ULL << c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return err_errno(err, "dropping capability %d", c);
        }
        return 0;
}

int caps_apply(uint64_t keep, bool root, struct err *err)
{
        cap_t caps = cap_init();
        cap_value_t list[64];
        int n = 0, r = 0;

        if (!caps)
                return err_errno(err, "allocating capability set");
        for (int c = 0, last = cap_last(); c <= last && c < 64; c++)
                if (keep & (1ULL << c))
                        list[n++] = c;
        if (root && n > 0) {
                cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET);
                cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET);
        }
        if (cap_set_proc(caps) < 0)
                r = err_errno(err, "setting capabilities");
        cap_free(caps);
        return r;
}

static int set_flag(cap_t caps, cap_flag_t flag, uint64_t set)
{
        cap_value_t list[64];
        int n = 0;

        for (int c = 0, last = cap_last(); c <= last && c < 64; c++)
                if (set & (1ULL << c))
                        list[n++] = c;
        return n > 0 ? cap_set_flag(caps, flag, n, list, CAP_SET) : 0;
}

int caps_apply_sets(uint64_t effective, uint64_t permitted, uint64_t inheritable, uint64_t ambient,
                    struct err *err)
{
        cap_t caps = cap_init();
        int r = 0;

        if (!caps)
                return err_errno(err, "allocating capability set");
        if (set_flag(caps, CAP_EFFECTIVE, effective & permitted) < 0 ||
            set_flag(caps, CAP_PERMITTED, permitted) < 0 ||
            set_flag(caps, CAP_INHERITABLE, inheritable) < 0 || cap_set_proc(caps) < 0)
                r = err_errno(err, "setting capabilities");
        cap_free(caps);
        /* An ambient capability must be permitted and inheritable; runc skips the others. */
        for (int c = 0, last = cap_last(); r >= 0 && c <= last && c < 64; c++)
                if ((ambient & permitted & inheritable) & (1ULL << c))
                        (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
        return r;
}
