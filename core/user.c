#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "user.h"

static bool is_number(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* Splits one line of a colon-separated database into at most max fields (in place). */
static size_t split_fields(char *line, char **f, size_t max)
{
        size_t n = 0;

        while (n < max) {
                f[n++] = line;
                line = strchr(line, ':');
                if (!line)
                        break;
                *line++ = '\0';
        }
        return n;
}

/* Calls fn for each well-formed line; stops when fn returns non-zero and returns that. */
static int db_foreach(const char *db, size_t nf, int (*fn)(char **f, void *ud), void *ud)
{
        _cleanup_free_ char *copy = db ? strdup(db) : NULL;
        char *save = NULL;

        if (!copy)
                return 0;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[8];
                int r;
                if (line[0] == '#' || split_fields(line, f, nf) < nf)
                        continue;
                r = fn(f, ud);
                if (r)
                        return r;
        }
        return 0;
}

struct pw_match {
        const char *key;
        struct user_ids *ids;
        char name[64];
};

static int pw_cb(char **f, void *ud)
{
        struct pw_match *m = ud;
        bool num = is_number(m->key);

        if (num ? strtoul(f[2], NULL, 10) != strtoul(m->key, NULL, 10) : strcmp(f[0], m->key))
                return 0;
        m->ids->uid = (uid_t)strtoul(f[2], NULL, 10);
        m->ids->gid = (gid_t)strtoul(f[3], NULL, 10);
        snprintf(m->ids->home, sizeof(m->ids->home), "%s", f[5]);
        snprintf(m->name, sizeof(m->name), "%s", f[0]);
        return 1;
}

static int gr_cb(char **f, void *ud)
{
        struct pw_match *m = ud;
        bool num = is_number(m->key);

        if (num ? strtoul(f[2], NULL, 10) != strtoul(m->key, NULL, 10) : strcmp(f[0], m->key))
                return 0;
        m->ids->gid = (gid_t)strtoul(f[2], NULL, 10);
        return 1;
}

/* runc's rule, which Docker shows: in file order, the groups listing the user as a member
 * and the group of the user's primary gid, each once. */
static int member_cb(char **f, void *ud)
{
        struct pw_match *m = ud;
        _cleanup_free_ char *members = strdup(f[3]);
        gid_t gid = (gid_t)strtoul(f[2], NULL, 10);
        bool in = gid == m->ids->gid;
        char *save = NULL;

        if (!members)
                return 0;
        for (char *u = strtok_r(members, ",", &save); u && !in; u = strtok_r(NULL, ",", &save))
                in = m->name[0] && !strcmp(u, m->name);
        for (size_t i = 0; in && i < m->ids->ngroups; i++)
                in = m->ids->groups[i] != gid;
        if (in && m->ids->ngroups < USER_MAX_GROUPS)
                m->ids->groups[m->ids->ngroups++] = gid;
        return 0;
}

int user_resolve(const char *spec, const char *passwd, const char *group, struct user_ids *ret,
                 struct err *err)
{
        struct user_ids ids = {.home = "/"};
        char user[128], *grp;
        struct pw_match m = {.ids = &ids};

        snprintf(user, sizeof(user), "%s", spec && *spec ? spec : "0");
        grp = strchr(user, ':');
        if (grp)
                *grp++ = '\0';
        m.key = user;
        if (!db_foreach(passwd, 7, pw_cb, &m)) {
                if (!is_number(user))
                        return err_set(err, -ENOENT,
                                       "unable to find user %s: no matching entries in passwd file",
                                       user);
                ids.uid = (uid_t)strtoul(user, NULL, 10);
                ids.gid = 0;
        }
        if (grp && *grp) {
                m.key = grp;
                if (!db_foreach(group, 4, gr_cb, &m)) {
                        if (!is_number(grp))
                                return err_set(err, -ENOENT,
                                               "unable to find group %s: no matching entries in "
                                               "group file",
                                               grp);
                        ids.gid = (gid_t)strtoul(grp, NULL, 10);
                }
                /* An explicit group is the only one, as with Docker's user:group. */
                ids.groups[0] = ids.gid;
                ids.ngroups = 1;
        } else {
                db_foreach(group, 4, member_cb, &m);
        }
        if (ids.uid == 0 && !strcmp(ids.home, "/") && !m.name[0])
                snprintf(ids.home, sizeof(ids.home), "/root");
        *ret = ids;
        return 0;
}
