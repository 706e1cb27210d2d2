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

#define MEM_ALIGNMENT 8
#define MEM_SIZE (256 * 1024)
#define MEMP_NUM_PBUF 256
#define MEMP_NUM_UDP_PCB 8
#define MEMP_NUM_TCP_PCB 16
#define MEMP_NUM_TCP_SEG 256
#define PBUF_POOL_SIZE 128
#define TCP_MSS 1460
#define TCP_WND (32 * TCP_MSS)
#define TCP_SND_BUF (32 * TCP_MSS)
#define TCP_SND_QUEUELEN 64
#define LWIP_SUPPORT_CUSTOM_PBUF 1 /* zero-copy receive into gifted frames */

#define LWIP_CHKSUM_ALGORITHM 3 /* 32 bits at a time */
#define LWIP_STATS 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 0

#endif
