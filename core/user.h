#pragma once
#include <sys/types.h>

#include "base/err.h"

#define USER_MAX_GROUPS 64

struct user_ids {
        uid_t uid;
        gid_t gid;
        gid_t groups[USER_MAX_GROUPS]; /* supplementary groups from /etc/group membership */
        size_t ngroups;
        char home[256];
};

/* Resolves Docker's --user spec (user, uid, user:group, uid:gid, ...) against the text of the
 * container's /etc/passwd and /etc/group (either may be NULL when missing). Numeric ids need
 * no entry. -ENOENT with Docker's "unable to find user X: no matching entries in passwd
 * file" (or group) wording. Pure function. */
int user_resolve(const char *spec, const char *passwd, const char *group, struct user_ids *ret,
                 struct err *err);
