/* netd's diagnostic ceiling mode (`netd:PORT`): with no client, no IPC and
 * no protocol stack, netd answers UDP echo on PORT straight from the
 * receive buffers, turning each packet around in place (swapping the
 * Ethernet, IPv4 and UDP source and destination leaves every checksum
 * valid). It shows how fast QEMU's device path alone can echo. */
#include "netd.h"
#include "classify.h"
#include <lib/string.h>

u16 echo_port;

long echo_setup(struct env *e) {
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    u64 va, phys;
    long err = env_pinned_page(e, BI_SLOT_DMA, &va, &phys);
    if (err)
      return err;
    rx[k] = (struct rx_entry){RX_HOLD, RX_OWNER_NETD, 0, phys};
  }
  return ERR_OK;
}

static void swap(u8 *a, u8 *b, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    u8 t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

static void transmit(unsigned k, u32 len) {
  struct virtq_buf chain[3] = {{vnet_zero_phys, VNET_HDR, 0}};
  unsigned n = 1;
  u32 head = len < NET_HEAD ? len : NET_HEAD;
  int t = txq.free_head;
  if (txq.num_free == 0)
    return; /* the entry stays held: reposted with the next refill */
  chain[n++] = (struct virtq_buf){rx_hdr_phys[k] + VNET_HDR, head, 0};
  if (len > head)
    chain[n++] = (struct virtq_buf){rx[k].phys, len - head, 0};
  if (virtq_add_indirect(&txq, tx_tables[t], tx_tables_phys[t], chain, n) == t) {
    echo_of_head[t] = (s8)k;
    rx[k].state = RX_ECHOING;
  }
}

int echo_receive(unsigned k, u32 used_len) {
  rx[k].state = RX_HOLD;
  if (used_len < VNET_HDR + 42 || used_len - VNET_HDR > NET_MTU_FRAME)
    return 0;
  u32 len = used_len - VNET_HDR;
  u8 *f = rx_hdr + k * HDR_SLOT + VNET_HDR;
  struct pkt_info p = classify(f, len < NET_HEAD ? len : NET_HEAD, len);
  static const u8 ip[4] = NETD_ECHO_IP;
  if (p.cls == PKT_ARP && f[20] == 0 && f[21] == 1 && !memcmp(f + 38, ip, 4)) {
    memcpy(f, f + 6, 6); /* to the asker, from us */
    memcpy(f + 6, mac, 6);
    f[21] = 2;
    memcpy(f + 32, f + 22, 10); /* target = the asker */
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, ip, 4);
    transmit(k, len);
    return 1;
  }
  if (p.cls != PKT_PORT || p.proto != 17 || p.port != echo_port)
    return 0;
  u8 *iph = f + 14;
  unsigned ihl = (iph[0] & 15) * 4u;
  swap(f, f + 6, 6);
  swap(iph + 12, iph + 16, 4);
  swap(iph + ihl, iph + ihl + 2, 2);
  transmit(k, len);
  return 1;
}
