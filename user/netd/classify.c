/* Packet classification for the demultiplexer (see classify.h). */
#include "classify.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806

static u16 be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }

struct pkt_info classify(const u8 *h, u32 head_len, u32 len) {
  struct pkt_info r = {PKT_MALFORMED, 0, 0};
  if (len < ETH_HLEN || head_len < ETH_HLEN || head_len > len)
    return r;
  u16 type = be16(h + 12);
  if (type == ETHERTYPE_ARP) {
    r.cls = len >= ETH_HLEN + 28 ? PKT_ARP : PKT_MALFORMED;
    return r;
  }
  if (type != ETHERTYPE_IPV4) {
    r.cls = PKT_OTHER;
    return r;
  }
  const u8 *ip = h + ETH_HLEN;
  u32 ip_avail = head_len - ETH_HLEN;
  if (ip_avail < 20 || (ip[0] >> 4) != 4)
    return r;
  u32 ihl = (u32)(ip[0] & 15) * 4, total = be16(ip + 2);
  if (ihl < 20 || total < ihl || total > len - ETH_HLEN)
    return r;
  u16 frag = be16(ip + 6);
  r.proto = ip[9];
  if ((frag & 0x1fff) || (r.proto != 6 && r.proto != 17)) {
    r.cls = PKT_OTHER; /* a later fragment has no ports: the default session's */
    return r;
  }
  u32 l4_min = r.proto == 17 ? 8 : 20;
  if (total < ihl + l4_min)
    return r;
  if (ip_avail < ihl + 4) { /* the ports are not in the header buffer */
    r.cls = PKT_OTHER;
    return r;
  }
  r.port = be16(ip + ihl + 2);
  r.cls = PKT_PORT;
  return r;
}
