/* netd's diagnostic ceiling mode (`netd:PORT`): with no client, no IPC and
 * no protocol stack, netd answers UDP echo on PORT straight from the
 * receive buffers, turning each packet around in place (swapping the
 * Ethernet, IPv4 and UDP source and destination leaves every checksum
 * valid). It shows how fast QEMU's device path alone can echo. */
#include "netd.h"
#include "classify.h"
#include <lib/string.h>

u16 echo_port;
static u64 echoed, echoed_bytes;

/* Busy time over a burst of echoes, as netecho reports it (COST lines):
 * under -icount, the instructions the device path and netd need alone. */
static struct {
  int active;
  u64 t0, idle0, n0, t_last, idle_last, n_last, bytes0, bytes_last;
} burst;

void echo_account(int start_of_event) {
  static u64 cand_t, cand_idle; /* the start of the event that may begin a burst */
  u64 now = sys_time_ns(), idle = sys_idle_ns();
  if (start_of_event) {
    cand_t = now, cand_idle = idle;
    return;
  }
  if (echoed != burst.n_last) {
    if (!burst.active)
      burst = (typeof(burst)){1, cand_t, cand_idle, burst.n_last, 0, 0, 0, burst.bytes_last, 0};
    burst.t_last = now, burst.idle_last = idle, burst.n_last = echoed, burst.bytes_last = echoed_bytes;

  } else if (burst.active && now - burst.t_last > 1000000000ull) {
    u64 n = burst.n_last - burst.n0, busy = (burst.t_last - burst.t0) - (burst.idle_last - burst.idle0);
    if (n >= 1000)
      printf("COST name=udp_echo size=%llu datagrams=%llu busy_ns=%llu busy_ns_per_datagram=%llu (netd alone)\n",
             (burst.bytes_last - burst.bytes0 + n / 2) / n, n, busy, busy / n);
    burst.active = 0;
  }
}

long echo_setup(struct env *e) {
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    u64 va, phys;
    long err = env_pinned_page(e, K_BI_SLOT_DMA, &va, &phys);
    if (err)
      return err;
    rx[k] = (struct rx_entry){.state = RX_HOLD, .pool = RX_NO_POOL, .session = RX_OWNER_NETD, .phys = phys};
  }
  return K_ERR_OK;
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
  echoed++;
  echoed_bytes += (u32)(iph[ihl + 4] << 8 | iph[ihl + 5]) - 8u; /* the UDP length, less its header */
  return 1;
}
