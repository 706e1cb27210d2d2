/* netd: sending from gifted frames (see netd.h). */
#include "netd.h"

/* Transmit completions: an echo's receive entry goes back to the device;
 * returns how many of a client's packets completed. */
unsigned tx_harvest(void) {
  u32 len;
  int head;
  unsigned done = 0;
  while ((head = virtq_get(&txq, &len)) != -1) {
    if (head >= 0 && echo_of_head[head] >= 0) {
      rx[echo_of_head[head]].state = RX_HOLD;
      echo_of_head[head] = -1;
    } else {
      done++;
    }
  }
  return done;
}


/* Blocks until the device signals, for session i's send; receive work goes
 * on meanwhile (and is charged to whom it is for). */
static void wait_for_device(unsigned i) {
  charge_before_block();
  sys_wait(irq_ntfn);
  netd_woke();
  device_event();
  charge_to((int)i);
}

/* A held send (NET_HOLD) waits, its packets on the device, until the
 * client signals or the session's memory goes (the notification with it,
 * which wakes netd). */
static void hold_if_asked(unsigned i) {
  if (!sessions[i].held)
    return;
  sessions[i].held = 0;
  charge_before_block();
  sys_wait(slot_of(i, S_HOLD));
  netd_woke();
  charge_to((int)i);
}

/* Validates a segment list; counts the packets in it. */
static long check_segments(const u32 *seg, u32 nseg, u32 ngifts, u32 *npkts) {
  u32 pkts = 0, in_pkt = 0, pkt_len = 0;
  u8 used[NET_MAX_GIFTS] = {0};
  if (nseg == 0 || nseg > NET_MAX_SEGS || ngifts == 0)
    return K_ERR_RANGE;
  for (u32 s = 0; s < nseg; s++) {
    u32 f = net_seg_frame(seg[s]), off = net_seg_offset(seg[s]), len = net_seg_len(seg[s]);
    if (f >= ngifts || off + len > K_PAGE_SIZE)
      return K_ERR_RANGE;
    used[f] = 1;
    pkt_len += len;
    if (++in_pkt > NET_PKT_SEGS || pkt_len > NET_MTU_FRAME)
      return K_ERR_RANGE;
    if (net_seg_end(seg[s])) {
      if (pkt_len < 14)
        return K_ERR_RANGE;
      pkts++;
      in_pkt = pkt_len = 0;
    }
  }
  if (in_pkt)
    return K_ERR_RANGE; /* the last packet is not closed */
  for (u32 f = 0; f < ngifts; f++)
    if (!used[f])
      return K_ERR_RANGE; /* a frame no segment is in */
  *npkts = pkts;
  return K_ERR_OK;
}

/* Sends the packets and waits until the device has them all. */
long send_request(unsigned i, const struct msg_regs *m, u64 *sent, u64 *keep_out) {
  struct record *r = sessions[i].rec;
  u32 nseg = net_send_nseg(m->w[0]), keep = net_send_keep(m->w[0]), n = (u32)k_msg_gifts(m->info);
  u32 seg[NET_MAX_SEGS], npkts = 0;
  *keep_out = n;
  if (nseg > NET_MAX_SEGS || 1 + (nseg + 1) / 2 > k_msg_words(m->info)) {
    r->c.bad_segments++;
    return K_ERR_RANGE;
  }
  for (u32 s = 0; s < nseg; s++) { /* words 1-3 came in registers */
    u32 w = 1 + s / 2;
    seg[s] = (u32)((w < K_IPC_REG_WORDS ? m->w[w] : buf->words[w]) >> (32 * (s % 2)));
  }
  static u64 phys[NET_MAX_GIFTS];
  long err = check_segments(seg, nseg, n, &npkts);
  if (!err && keep > n)
    err = K_ERR_RANGE;
  if (!err && frames_held(r) + (n - keep) > NET_POOL)
    err = K_ERR_RANGE;
  if (err) {
    r->c.bad_segments++;
    return err;
  }
  /* One call pins them all (4 KiB frames only), or none. */
  err = sys_dma_pin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n, phys).err;
  u32 pinned = err ? 0 : n;
  u64 sent_bytes = 0;
  if (!err) {
    u32 s = 0, outstanding = 0;
    for (u32 p = 0; p < npkts; p++) {
      struct virtq_buf chain[TX_TABLE_ENTRIES];
      unsigned c = 0;
      chain[c++] = (struct virtq_buf){vnet_zero_phys, VNET_HDR, 0};
      u32 bytes = 0;
      do {
        bytes += net_seg_len(seg[s]);
        chain[c++] = (struct virtq_buf){phys[net_seg_frame(seg[s])] + net_seg_offset(seg[s]), net_seg_len(seg[s]), 0};
      } while (!net_seg_end(seg[s++]));
      while (txq.num_free == 0) { /* the ring is full: wait for the device */
        virtio_kick(&dev, TXQ);
        outstanding -= tx_harvest();
        if (txq.num_free == 0)
          wait_for_device(i);
      }
      int head = txq.free_head;
      if (virtq_add_indirect(&txq, tx_tables[head], tx_tables_phys[head], chain, c) < 0)
        break;
      outstanding++;
      u64 held = (u64)(VIRTQ_SIZE - txq.num_free);
      if (held > total.tx_most_in_flight)
        total.tx_most_in_flight = held;
      sent_bytes += bytes;
    }
    virtio_kick(&dev, TXQ);
    hold_if_asked(i);
    while (outstanding) {
      outstanding -= tx_harvest();
      if (outstanding)
        wait_for_device(i);
    }
    *sent = npkts;
  }
  /* While netd waited, the session's memory may have gone (another thread
   * of the client, or its parent, revoked it): its record is gone. The
   * frames go back to the caller; one made from revoked memory is a pinned
   * remain that the unpin releases (then the reply cannot carry it, and
   * the main loop drops what is left). */
  if (!session_alive(i)) {
    for (u32 f = 0; f < pinned; f++)
      sys_dma_unpin(K_BI_SLOT_DMA, SERVER_GIFT_SLOT + f);
    total.closed_session++;
    total.gone_waiting++;
    *keep_out = n;
    return K_ERR_BAD_STATE;
  }
  if (!err) {
    r->c.tx_packets += *sent;
    r->c.tx_bytes += sent_bytes;
  }
  for (u32 f = 0; f < pinned; f++) {
    if (!err && f >= keep) { /* still pinned: straight into the pool */
      int j = free_pool_slot(r);
      sys_cnode_move(env.cnode, slot_of(i, S_POOL + (unsigned)j), env.cnode, SERVER_GIFT_SLOT + f);
      r->state[j] = SLOT_SPARE;
      r->phys[j] = phys[f];
      r->spare[r->nspare++] = (u16)j;
    } else {
      sys_dma_unpin(K_BI_SLOT_DMA, SERVER_GIFT_SLOT + f);
    }
  }
  *keep_out = err ? n : keep;
  if (!err && refill())
    virtio_kick(&dev, RXQ);
  return err;
}

