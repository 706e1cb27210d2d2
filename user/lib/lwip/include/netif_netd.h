/* lwIP network interface over a netd session (netdev.h). Received packets
 * become pbuf chains without a copy of their tails: the tail is a custom
 * pbuf over the gifted frame, whose free function hands the frame back for
 * donation. Sending maps a pbuf chain onto netd's segment list: received
 * tails go as they are (their frames join netd's pool), other bytes are
 * copied into staging frames. A received pbuf that was sent must not be
 * read afterwards: its frame is gone. */
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
/* TSC cycles spent so far in lwIP's input, the sends it made included
 * (the flush to netd not): the stack's share of a benchmark's cost. */
u64 netif_netd_stack_tsc(void);

#endif
