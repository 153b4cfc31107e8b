#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* hawser's single nftables table, "ip hawser": fixed chains prerouting, output, postrouting
 * and forward; two DNAT maps (dnat_any keyed by proto . port, dnat_ip keyed by
 * address . proto . port); per-network rules tagged with the comment "hawser:net:<bridge>".
 * Every function talks to nf_tables over its own netlink socket in the calling process's
 * current network namespace, sends each change as one atomic batch and waits for every ACK.
 * Errors are -errno; err names the object and carries the kernel's extended ACK message.
 * Callers may branch on -EPERM (no CAP_NET_ADMIN) and the per-function errnos below. */

/* One bridge network's masquerade and forward rules. */
struct net_nft_network {
        const char *bridge; /* interface name, 1-15 characters */
        struct in_addr subnet;
        int prefix;    /* 1-32 */
        bool icc;      /* containers on this bridge may talk to each other */
        bool internal; /* no masquerade and no forwarding out of the bridge */
        bool no_masq;  /* forwarding out of the bridge without masquerade */
        /* net_nft_ip6_sync*: the network's IPv6 subnet (prefix6 0: unknown), whose sources
         * reaching a published port of the bridge through the host are masqueraded
         * (hairpin); with masq6 also its traffic leaving the bridge (unless internal). */
        struct in6_addr subnet6;
        int prefix6;
        bool masq6;
};

/* The functions below work on the table "ip hawser"; each *_in variant does the same on
 * the table "ip <table>" (the CNI plugin's own, so neither side's cleanup sees the other's
 * ports); IPv6 ports then need a table "ip6 <table>", which nothing makes yet. */

/* One published port: host_ip:host_port/proto -> ctr_ip:ctr_port. With v6 the addresses
 * are host_ip6 and ctr_ip6 and the element goes to the maps of the table "ip6 hawser"
 * (which net_nft_ip6_sync makes); host_ip6 :: is every local address but ::1, which Linux
 * cannot DNAT to another interface. */
struct net_nft_port {
        struct in_addr host_ip; /* INADDR_ANY = every local address */
        uint16_t host_port;     /* host byte order */
        uint8_t proto;          /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
        struct in_addr ctr_ip;
        uint16_t ctr_port; /* host byte order */
        bool v6;
        struct in6_addr host_ip6, ctr_ip6;
};

/* Creates the table with its chains, maps and fixed rules in one batch if it is missing.
 * Safe against concurrent callers in other processes (the loser of the race sees EEXIST
 * and takes the winner's complete table). Returns 1 if it created the table, 0 if the
 * table was already there. */
int net_nft_ensure(struct err *err);

/* 1 when the table exists, 0 when it does not (someone flushed the ruleset): a single
 * lookup, cheap enough for every container start. */
int net_nft_table_present(struct err *err);

/* Deletes the whole table, including every network's rules and every published port.
 * A missing table is success. */
int net_nft_destroy(struct err *err);

/* Installs n's rules, atomically replacing any rules the network already has (a batch
 * checked against the generation it read, retried like net_nft_unpublish); creates the
 * table first if it is missing. Forward rules that drop traffic into a bridge are placed
 * ahead of every network's "out of the bridge" accept, so networks are isolated from each
 * other whatever order they are added in. -EINVAL for a bad bridge name or prefix; -ENOENT
 * if a table named hawser exists without hawser's fixed rules. */
int net_nft_network_add(const struct net_nft_network *n, struct err *err);

/* Deletes every rule tagged with bridge's comment in one batch; none is success. */
int net_nft_network_del(const char *bridge, struct err *err);

/* Adds the n ports to the DNAT maps in one batch: all of them or none (n == 0 does
 * nothing); IPv6 ones need the ip6 table (-ENOENT without it: net_nft_ip6_sync first). -EEXIST if a host_ip/host_port/proto key is already published (also within p);
 * the message names that port. If the table is gone it is rebuilt and the batch retried
 * once; the call then returns 1 and the caller must re-add its networks (their rules went
 * with the table); otherwise returns 0. -EINVAL for a zero port or container address, or
 * a protocol other than TCP, UDP and SCTP. */
int net_nft_publish(const struct net_nft_port *p, size_t n, struct err *err);

/* Removes those of the n ports that are present with the same target, in one batch
 * checked against the generation it read (retried while other writers race it; -EAGAIN
 * if they keep winning for seconds). Keys that are missing, or that now map elsewhere,
 * are left alone and are not an error. A missing table is success. */
int net_nft_unpublish(const struct net_nft_port *p, size_t n, struct err *err);

/* Reads back every element of the maps of both tables into a malloc'd array the caller frees (NULL when
 * empty). A missing table gives an empty list. */
int net_nft_list_ports(struct net_nft_port **ret, size_t *ret_n, struct err *err);

/* Rewrites the table "ip6 hawser" in one batch for the n dual-stack networks (their
 * bridges, icc, internal): the forward filter (replies and published ports pass; into a
 * bridge only from itself, and not even that without icc; out of a bridge unless
 * internal), the DNAT of published IPv6 ports (maps dnat_any and dnat_ip as in the ip
 * table; their elements are kept) and the hairpin masquerade of each bridge. n == 0
 * deletes the table. The IPv4 table is not touched. */
int net_nft_ip6_sync(const struct net_nft_network *v, size_t n, struct err *err);
/* The same on the table "ip6 <table>". */
int net_nft_ip6_sync_in(const char *table, const struct net_nft_network *v, size_t n,
                        struct err *err);

int net_nft_ensure_in(const char *table, struct err *err);
int net_nft_table_present_in(const char *table, struct err *err);
/* 1 and the table's handle in *ret (which the kernel never gives another table: a changed
 * handle means the table was deleted and made again), 0 when there is no table. */
int net_nft_table_handle_in(const char *table, uint64_t *ret, struct err *err);
/* 1 when the table "ip6 <table>" exists, 0 when it does not. */
int net_nft_table6_present_in(const char *table, struct err *err);
int net_nft_destroy_in(const char *table, struct err *err);
int net_nft_network_add_in(const char *table, const struct net_nft_network *n, struct err *err);
int net_nft_network_del_in(const char *table, const char *bridge, struct err *err);
int net_nft_publish_in(const char *table, const struct net_nft_port *p, size_t n, struct err *err);
int net_nft_unpublish_in(const char *table, const struct net_nft_port *p, size_t n,
                         struct err *err);
int net_nft_list_ports_in(const char *table, struct net_nft_port **ret, size_t *ret_n,
                          struct err *err);
