/* What netd reads of a packet to decide whose it is: pure code over the
 * bytes in netd's own header buffer (host-tested in tests/host). */
#ifndef NETD_CLASSIFY_H
#define NETD_CLASSIFY_H

#include <lib/types.h>

enum pkt_class {
  PKT_MALFORMED, /* too short for Ethernet, or a broken IPv4 header */
  PKT_ARP,
  PKT_PORT,      /* IPv4 UDP or TCP, first fragment: proto and port set */
  PKT_OTHER,     /* anything else well-formed: ICMP, later fragments, IPv6... */
};

struct pkt_info {
  enum pkt_class cls;
  u8 proto;
  u16 port;      /* destination port */
};

/* `head` holds the first `head_len` bytes of a frame of `len` bytes. */
struct pkt_info classify(const u8 *head, u32 head_len, u32 len);

#endif
