/* lwIP network interface over a netd session (netdev.h). Received packets
 * become pbuf chains without a copy of their tails: the tail is a custom
 * pbuf over the gifted frame, whose free function hands the frame back for
 * donation. Sending maps a pbuf chain onto netd's segment list: received
 * tails go as they are (their frames join netd's pool), other bytes are
 * copied into staging frames. A received pbuf that was sent must not be
 * read afterwards: its frame is gone.
 *
 * Frames are lent to lwIP only for the input of their packet: a tail pbuf
 * lwIP (or the application's callback) still holds afterwards is copied
 * into lwIP's heap and its frame given back, so a connection holds lwIP's
 * memory (bounded by its window), never netd's frames. While the stack
 * holds all but NETIF_NETD_RX_RESERVE of the session's frames (the heap
 * copy failed), new tails are copied at once, or dropped: netd always has
 * frames to post for new connections, ARP, ICMP and UDP. */
#ifndef NETIF_NETD_H
#define NETIF_NETD_H

#include "lwip/netif.h"
#include <netdev.h>

/* netif_add(..., state = a struct netdev * opened already, netif_netd_init, ethernet_input) */
err_t netif_netd_init(struct netif *netif);
/* One receive round: waits up to timeout_ms, feeds lwIP, sends what it
 * queued. Returns packets received or a negative abi error. */
long netif_netd_poll(struct netif *netif, u32_t timeout_ms);
/* Sends what lwIP queued since the last poll (timers, application writes). */
long netif_netd_flush(struct netif *netif);
#define NETIF_NETD_RX_RESERVE 16

struct netif_netd_counters {
  u64 detached;      /* tails lwIP kept, moved to its heap */
  u64 detach_failed; /* tails lwIP kept in their page (no heap) */
  u64 copied;        /* tails copied at input: the reserve was reached */
  u64 dropped;       /* packets dropped: no memory for them */
  u64 pages_held;    /* pages lwIP holds now */
};
void netif_netd_counters(struct netif_netd_counters *out);

/* TSC cycles spent so far in lwIP's input, the sends it made included
 * (the flush to netd not): the stack's share of a benchmark's cost. */
u64 netif_netd_stack_tsc(void);

#endif
