#pragma once
#include <netinet/in.h>

/* The relay behind ports published on IPv6 host addresses, run by a container's monitor (no
 * process per port). Each accepted connection gets two threads, one per direction, that move
 * the bytes with splice(2) through a pipe of their own: no copy through user space. A
 * direction that reaches end of file shuts the other side's writing half; the connection is
 * closed when both are done. */

/* Connects to target and relays client (which it takes) to and from it; returns at once. A
 * target that refuses closes the client. -errno only when no thread could be started (client
 * closed then too). */
int proxy_relay(int client, const struct sockaddr_in *target);
