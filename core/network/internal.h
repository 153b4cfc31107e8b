#pragma once
/* Inside core/network/ only: what its files share. The module's face is core/network.h. */
#include <netinet/in.h>
#include <stdbool.h>

#include "core/container.h"
#include "net/nft.h"
#include "core/network.h"

/* store.c */
char *store_doc_path(const struct cli *cli, const char *name);
char *store_lease_dir(const struct cli *cli, const char *name);
int store_parse_addr(const char *s, struct in_addr *ret);
int store_from_doc(struct jv *doc, struct network *n, struct err *err);

/* driver.c */
/* The driver of a network document ("bridge", "macvlan", "ipvlan") and its options into n;
 * Docker's messages for an unknown driver or a bad mode. */
int store_driver(const char *driver, const struct jv *opts, struct network *n, struct err *err);
/* network create -d: the options of a macvlan/ipvlan network (its parent exists and carries
 * no other such network); 0 for a bridge. */
int driver_check(const struct cli *cli, const struct network_opts *o, const struct jv *opts,
                 struct err *err);
int store_lock(const struct cli *cli, const char *name, struct err *err);
int store_each(const struct cli *cli, int (*fn)(struct jv *doc, void *ud), void *ud);
int store_create(const struct cli *cli, const char *name, const struct network_opts *o, bool dflt,
                 struct network *ret, struct err *err);

/* bridge.c */
struct net_nft_network bridge_nft(const struct network *n);
int bridge_ensure(const struct cli *cli, const struct network *n, const char *except,
                  struct err *err);
void bridge_remove(const struct cli *cli, const struct network *n);
/* Rewrites the IPv6 forward filter (table ip6 hawser) for every dual-stack network whose
 * bridge exists (but removing), and turns IPv6 forwarding on when there is one. */
int bridge_sync6(const struct cli *cli, const char *removing, struct err *err);

/* endpoint.c */
/* The host end of a container's veth: "hw" + 12 hex digits of the id for the first
 * endpoint, "hw" + 10 + "-" + index for the others. */
void endpoint_veth_name(const char *id, int idx, char out[16]);
/* Whether link is named so; prefix gets the 10 id digits every such name holds. */
bool endpoint_veth_owner(const char *link, char prefix[11]);
/* Wires c into ep's network as its interface eth<idx> inside netns_fd: an address (ep->want,
 * else the one it had, else the one its name had), the veth pair, the bridge port. Fills
 * ep's address fields; the caller writes them back (view_write). */
int endpoint_attach(const struct cli *cli, const struct container *c, struct network_endpoint *ep,
                    int idx, int netns_fd, struct err *err);
/* The lowest interface index none of v's endpoints uses; -ENOSPC. */
int endpoint_free_index(const struct network_view *v, const char *id);

/* view.c */
/* Writes the view's address fields back into c->doc, and Docker's summary fields
 * (NetworkSettings.IPAddress, ...) from its first endpoint. */
void view_write(struct container *c, const struct network_view *v);
void view_write_endpoint(struct container *c, const struct network_endpoint *ep);
/* Whether c has an endpoint on net (connected, started or not). */
bool view_has(const struct container *c, const char *net);
/* Forgets c's endpoint on net (disconnect). */
void view_drop(struct container *c, const char *net);

/* publish.c */
/* Publishes c's ports to ep's address: IPv4 host addresses by DNAT; IPv6 ones by the
 * monitor's relay (held in hold), and by DNAT too when ep has an IPv6 address and the
 * host address is not ::1. */
int publish_all(const struct cli *cli, struct container *c, const struct network_endpoint *ep,
                struct network_hold *hold, struct err *err);
void publish_restore_all(const struct cli *cli, const char *except);

/* hosts.c */
/* Renders c's /etc/hosts from view (NULL: read from c) and its resolved links (NULL:
 * resolved here). */
int hosts_render(const struct cli *cli, const struct container *c, const struct network_view *view,
                 const struct network_links *links, struct err *err);

/* links.c */
/* -EINVAL "Cannot link to a non running container: ..." unless every link's container is
 * live. */
int links_check_running(const struct network_links *links, struct err *err);

/* attach.c */
/* Finishes what Hawser.Pending records (see network_settle), under the caller's lock; 1 and
 * the network's name in net when there was something, 0 otherwise. */
int attach_finish_pending(const struct cli *cli, struct container *c,
                          char net[NETWORK_NAME_MAX + 1]);
int attach_set_pending(struct container *c, const char *op, const char *net, int idx,
                       struct err *err);
int attach_connect_running(const struct cli *cli, struct container *c, const char *net,
                           struct err *err);
/* The ids of Docker's pseudo networks "host" and "none": the sha256 of the name, written
 * out (hashing would load libcrypto, milliseconds, into a start and an exit). */
#define NETWORK_ID_HOST "4740ae6347b0172c01254ff55bae5aff5199f4446e7f6d643d40185b3f475145"
#define NETWORK_ID_NONE "140bedbf9c3f6d56a9846d2ba7088798683f4da0c248231336e6a05679e4fdfe"
/* Docker's network event (create, destroy, connect, disconnect): the network's id, its name
 * and driver ("type"), and the container (container_id NULL: none). */
void attach_event(const struct cli *cli, const struct network *n, const char *action,
                  const char *container_id);
