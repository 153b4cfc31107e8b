#pragma once
#include <stdbool.h>

#include "core/base/err.h"

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

/* Renders Docker's /etc/hosts layout into a malloc'd string. Pure function. */
int dns_hosts_render(const struct dns_hosts_spec *spec, char **ret, struct err *err);
/* Renders the hostname file ("name\n"). */
int dns_hostname_render(const char *hostname, char **ret, struct err *err);
/* Derives a container's resolv.conf from the host's text as Docker does when the container
 * has its own network namespace: loopback nameservers are dropped (they are unreachable from
 * the container) and Google's servers are used if none remain; search/options are kept.
 * dns/search/options override (NULL-terminated vectors, may be NULL). Pure function. */
int dns_resolv_render(const char *host_text, bool own_netns, char **dns, char **search,
                      char **options, char **ret, struct err *err);
