#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* File-based IPv4 address management for one network. Every lease is a file <dir>/<a.b.c.d>
 * whose content is the owner (a container id: 1-128 of [A-Za-z0-9_.-]). A lease appears
 * atomically with its content (written to a private temp file, then link()ed into place, which
 * fails with EEXIST like O_CREAT|O_EXCL), so concurrent processes never share an address and a
 * crash never leaves a lease without an owner. Releases hold an exclusive flock on <dir> and
 * allocations a shared one, so "check the owner, then unlink" cannot remove a lease that was
 * released and handed to someone else in between. Addresses are in network byte order. */

/* Leases an address of subnet/prefix for owner, creating dir if needed. preferred (0 = none) is
 * a hint: used when free or already leased by owner (then returned again), otherwise ignored,
 * like an address outside the subnet or reserved. Else the lowest free address that is not the
 * network, broadcast or gateway address (gateway 0 = none). -ENOSPC when the subnet is full,
 * -EINVAL for a bad prefix or owner. */
int net_ipam_allocate(const char *dir, struct in_addr subnet, int prefix, struct in_addr gateway,
                      struct in_addr preferred, const char *owner, struct in_addr *ret,
                      struct err *err);
/* The same within first..last (inclusive, network byte order), gateway excepted: a
 * host-local-style range. */
int net_ipam_allocate_range(const char *dir, struct in_addr first, struct in_addr last,
                            struct in_addr gateway, struct in_addr preferred, const char *owner,
                            struct in_addr *ret, struct err *err);
/* Removes the lease of addr if owner holds it; no lease (or no dir) is success. -EPERM when
 * another owner holds it. */
int net_ipam_release(const char *dir, struct in_addr addr, const char *owner, struct err *err);
/* The same for an IPv6 lease. */
int net_ipam_release6(const char *dir, const struct in6_addr *addr, const char *owner,
                      struct err *err);
/* Removes every lease (and leftover temp file) of owner: cleanup after a crash. Returns the
 * number of leases removed; a missing dir is 0. */
int net_ipam_release_owner(const char *dir, const char *owner, struct err *err);
/* The lease directory's lock, exclusive, as allocations and releases take it: a descriptor
 * to close; -ENOENT without the directory. While held, no lease of dir changes hands. */
int net_ipam_lock(const char *dir, struct err *err);
/* Whether owner holds a lease in dir (read without the lock: a moment's answer). */
bool net_ipam_holds(const char *dir, const char *owner);
/* Copies the owner of addr's lease into out. -ENOENT when free, -ERANGE when len is too small. */
int net_ipam_owner(const char *dir, struct in_addr addr, char *out, size_t len);
/* The same for an IPv6 lease of a dual-stack network. */
int net_ipam_owner6(const char *dir, const struct in6_addr *addr, char *out, size_t len);

/* The same for an IPv6 subnet (leases named by the address's text): preferred (NULL: none)
 * first, else the lowest free address from subnet::1 on, the gateway excepted; the first
 * 65,534 host addresses are searched. -ENOSPC, -EINVAL. */
int net_ipam_allocate6(const char *dir, const struct in6_addr *subnet, int prefix,
                       const struct in6_addr *gateway, const struct in6_addr *preferred,
                       const char *owner, struct in6_addr *ret, struct err *err);
/* Parses "x:y::/n" with host bits clear ("invalid subnet fd00::5/64: it should be
 * fd00::/64"); prefix 1..126. -EINVAL. */
int net_ipam_parse_cidr6(const char *s, struct in6_addr *ret_net, int *ret_prefix, struct err *err);
/* Whether a lies in net/prefix. */
/* Clears the bits of a beyond the first prefix (0-128). */
void net_ipam_mask6(struct in6_addr *a, int prefix);
bool net_ipam_contains6(const struct in6_addr *net, int prefix, const struct in6_addr *a);

/* Docker's classic (pre-28) container MAC: 02:42 followed by the four address bytes. */
void net_ipam_mac(struct in_addr a, uint8_t mac[6]);
/* Parses "a.b.c.d/n" as docker network create --subnet does: host bits must be clear
 * ("invalid subnet 172.20.1.5/16: it should be 172.20.0.0/16"). IPv4 only. -EINVAL. */
int net_ipam_parse_cidr(const char *s, struct in_addr *ret_net, int *ret_prefix, struct err *err);
/* Whether a lies in net/prefix (host bits of net are ignored). */
bool net_ipam_contains(struct in_addr net, int prefix, struct in_addr a);
/* Whether two prefixes share any address. */
bool net_ipam_overlaps(struct in_addr net1, int prefix1, struct in_addr net2, int prefix2);
/* The index-th of Docker's default local pools: 172.17.0.0/16 ... 172.31.0.0/16, then
 * 192.168.0.0/20, 192.168.16.0/20 ... 192.168.240.0/20. -ENOENT past the end. */
int net_ipam_pool_next(int index, struct in_addr *ret_net, int *ret_prefix);
