/* lwIP configuration for applications on this kernel: no OS layer
 * (NO_SYS: the application drives lwIP from its own loop), IPv4 with UDP,
 * TCP, ICMP and ARP, memory in the application's own static pools. */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

#define NO_SYS 1
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define SYS_LIGHTWEIGHT_PROT 0

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_DNS 0
#define LWIP_IGMP 0

#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_LOOPBACK_MAX_PBUFS 64

/* Sizes, from the memory an application has (16 MiB each, netecho's
 * case; lwIP's memory is static, in the program's image). Received frames
 * are netd's and never stay with lwIP (netif_netd.c copies what it keeps
 * into the heap), so what TCP holds is bounded here, per connection:
 *   receive: TCP_WND, in the application's own buffer (netecho's ring:
 *            the window is opened only by what leaves it), plus an
 *            out-of-order queue of at most TCP_OOSEQ_MAX_BYTES in at most
 *            TCP_OOSEQ_MAX_PBUFS pbufs (a packet is two: head and tail);
 *   send:    TCP_SND_BUF in at most TCP_SND_QUEUELEN pbufs.
 * For MEMP_NUM_TCP_PCB connections that is at most
 *   72 * (23,360 + 23,360 + 64 * ~48 bytes of pbuf and heap headers)
 *   + the out-of-order heads (72 * 32 * ~160 bytes) = ~3.8 MiB,
 * so a heap of 5 MiB always keeps about a MiB for packets that come in
 * (heads, ARP, ICMP, UDP) even when every connection's peer stops
 * reading. netecho serves NETECHO_CONNS of them at once (its rings:
 * 64 * 23,360 bytes, also mapped at start); the rest are lwIP's closing
 * and TIME_WAIT ones. */
#define NETECHO_CONNS 64
#define MEM_ALIGNMENT 8
#define MEM_SIZE (5 * 1024 * 1024)
/* The heap is not in the program's image (init loads images through its
 * own CNode, whose slots eight programs would exhaust): lwip_port_heap_init
 * maps it from the application's memory before lwip_init. */
extern unsigned char *lwip_port_heap;
#define LWIP_RAM_HEAP_POINTER lwip_port_heap
#define MEMP_NUM_PBUF 256
#define MEMP_NUM_UDP_PCB 8
#define MEMP_NUM_TCP_PCB 72
#define MEMP_NUM_TCP_SEG (72 * (64 + 32))
#define PBUF_POOL_SIZE 128
#define TCP_MSS 1460
#define TCP_WND (16 * TCP_MSS)
#define TCP_SND_BUF (16 * TCP_MSS)
#define TCP_SND_QUEUELEN 64
#define TCP_OOSEQ_MAX_BYTES TCP_WND
#define TCP_OOSEQ_MAX_PBUFS 64
#define LWIP_SUPPORT_CUSTOM_PBUF 1 /* zero-copy receive into gifted frames */
/* Invalid ACKs answered at most twice a second per connection (tcp_guard.c). */
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1
#define LWIP_HOOK_FILENAME "lwip_port_hooks.h"
#define LWIP_HOOK_TCP_INPACKET_PCB lwip_port_tcp_inpacket

#define LWIP_CHKSUM_ALGORITHM 3 /* 32 bits at a time */
#define LWIP_STATS 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 0

#endif
