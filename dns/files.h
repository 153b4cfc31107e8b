#pragma once
#include <stdbool.h>

#include "core/base/err.h"
#include "core/base/json.h"

/* One extra line of /etc/hosts: "<ip>\t<names>". */
struct dns_host_entry {
        const char *ip;
        const char *names; /* space-separated */
};

/* What goes into a container's /etc/hosts. */
struct dns_hosts_spec {
        bool ipv6;                          /* the five IPv6 lines, as Docker writes them */
        const struct dns_host_entry *extra; /* --add-host and link lines, in order */
        size_t n_extra;
        const char *own_ip;    /* NULL without an address (--network none) */
        const char *own_names; /* "hostname[.domain] [hostname] [aliases]" */
};

/* Whether s can stand as one field of /etc/hosts or /etc/resolv.conf: not empty, no
 * whitespace, no control character (a newline would add lines of its own). */
bool dns_files_token_ok(const char *s);
/* Whether s is a domain name as Docker's CLI takes one for --dns-search (ValidateDNSSearch):
 * letter/digit labels with inner hyphens, dot-separated, an optional final dot, at least one
 * letter, under 255 characters; "." alone too. */
bool dns_files_domain_ok(const char *s);

/* Renders Docker's /etc/hosts layout into a malloc'd string. Pure function. An entry whose
 * address or names hold a control character (so it would split into lines) is left out. */
int dns_hosts_render(const struct dns_hosts_spec *spec, char **ret, struct err *err);
/* Renders the hostname file ("name\n"); -EINVAL for a name that is not one token. */
int dns_hostname_render(const char *hostname, char **ret, struct err *err);
/* Derives a container's resolv.conf from the host's text as Docker does when the container
 * has its own network namespace: loopback nameservers are dropped (they are unreachable from
 * the container) and Google's servers are used if none remain; search/options are kept.
 * dns/search/options override (NULL-terminated vectors, may be NULL); an override that is not
 * one token (dns_files_token_ok) is left out. Pure function. */
int dns_resolv_render(const char *host_text, bool own_netns, char **dns, char **search,
                      char **options, char **ret, struct err *err);

/* The first three nameservers of a resolv.conf file (an array of strings; empty when the
 * file cannot be read): the upstreams an embedded DNS server forwards other names to. */
struct jv *dns_files_upstreams(const char *resolv_path);
