#pragma once
#include <stdbool.h>
#include "base/err.h"

/* Docker's legacy links (--link): the option grammar and the environment variables a linking
 * ("parent") container receives for each linked ("child") container (daemon/links/links.go). */

/* Parses "name[:alias]" like Docker's ParseLink: the alias defaults to the name, and the stored
 * HostConfig form "/name:/parent/alias" yields name and the alias's last path element. Empty
 * parts pass through as Docker lets them. -EINVAL "empty string specified for links" or "bad
 * format for links: a:b:c". The caller frees both strings. */
/* Whether alias may name a link: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
bool links_alias_ok(const char *alias);
int links_parse(const char *spec, char **ret_name, char **ret_alias, struct err *err);

/* A link as HostConfig.Links stores it: "/child:/parent/alias". */
struct links_stored {
        char child[256];  /* the linked container's name, without its '/' */
        char alias[256];  /* the last element of the path */
        const char *path; /* "/parent/alias": points into the stored string */
};
/* Splits a stored link; -EINVAL (nothing filled) when s is NULL or not of that form. */
int links_parse_stored(const char *s, struct links_stored *ret);

/* The variables for one link, in Docker's order: ALIAS_PORT (the first exposed port), then per
 * port ALIAS_PORT_<n>_<PROTO>{,_ADDR,_PORT,_PROTO}, runs of consecutive ports add
 * ALIAS_PORT_<first>_<PROTO>_{START,PORT_START,END,PORT_END}, then ALIAS_NAME=/<parent>/<alias>
 * and ALIAS_ENV_<K>=<V> for the child's Config.Env minus HOME and PATH. ALIAS is the alias
 * upper-cased with '-' turned into '_'. exposed is NULL-terminated ("80/tcp", "53/udp", "80",
 * ranges allowed, any order: sorted TCP first, then by protocol name and number); child_env may
 * be NULL. parent_name may carry its leading '/'. *ret is a NULL-terminated vector the caller
 * frees. -EINVAL for an empty alias or a malformed exposed port. */
int links_env(const char *parent_name, const char *alias, const char *child_ip,
              const char *const *exposed, char *const *child_env, char ***ret, struct err *err);
