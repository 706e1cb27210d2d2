/* netd: device set-up, receive, transmit, sessions (see netd.h). */
#include "netd.h"
#include "classify.h"
#include <server.h>
#include <lib/string.h>

#define VIRTIO_NET_MODERN 0x1041
#define VIRTIO_NET_TRANSITIONAL 0x1000
#define VIRTIO_NET_F_MAC 5
#define RXQ 0
#define TXQ 1
#define TIMER_BIT (1ull << 20)
#define SWEEP_NS 500000000ull
#define REGS_VA 0x0000300000000000ull
#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB, queue after it */
_Static_assert(VNET_HDR + NET_HEAD <= HDR_SLOT, "header buffer");

static struct env env;
static struct ipc_buffer *buf;
struct virtio_dev dev;
struct virtq rxq, txq;
u8 mac[6];
static u8 irq_line;
static cptr_t irq_ntfn, irq_handler;
static struct session sessions[NETD_MAX_SESSIONS];
static struct net_counters total;
static u64 next_sweep, armed_deadline;

struct rx_entry rx[RX_ENTRIES];
u8 *rx_hdr;     /* RX_ENTRIES header buffers */
u64 rx_hdr_phys[RX_ENTRIES];
static s8 rx_of_head[VIRTQ_SIZE];
u64 vnet_zero_phys; /* a zeroed virtio_net_hdr for every packet sent */
struct virtq_desc *tx_tables[VIRTQ_SIZE];
u64 tx_tables_phys[VIRTQ_SIZE];
s8 echo_of_head[VIRTQ_SIZE]; /* transmit head -> receive entry it echoes, -1 */

/* ---- device ---- */

static struct virtio_env venv;

static int found(const struct pci_dev *p, void *ctx) {
  int *done = ctx;
  if (p->vendor != VIRTIO_VENDOR || (p->device != VIRTIO_NET_MODERN && p->device != VIRTIO_NET_TRANSITIONAL))
    return 0;
  long err = virtio_attach(&venv, p, &dev);
  if (!err)
    err = virtio_negotiate(&dev, 1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_NET_F_MAC);
  if (!err)
    err = virtio_queue(&venv, &dev, RXQ, &rxq);
  if (!err)
    err = virtio_queue(&venv, &dev, TXQ, &txq);
  if (err) {
    printf("netd: virtio-net at 00:%02x.%x not usable: %s\n", p->dev, p->fn, err_name(err));
    return 0;
  }
  for (int i = 0; i < 6; i++)
    mac[i] = dev.device_cfg[i];
  irq_line = p->irq_line;
  printf("netd: virtio-net %04x at 00:%02x.%x, MAC %02x:%02x:%02x:%02x:%02x:%02x, irq %u\n", p->device, p->dev,
         p->fn, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], irq_line);
  *done = 1;
  return 1;
}

static long setup_buffers(void) {
  u64 va, phys;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    if (k % (PAGE_SIZE / HDR_SLOT) == 0) {
      long err = env_pinned_page(&env, BI_SLOT_DMA, &va, &phys);
      if (err)
        return err;
      if (k == 0)
        rx_hdr = (u8 *)va;
    }
    rx_hdr_phys[k] = phys + (k % (PAGE_SIZE / HDR_SLOT)) * HDR_SLOT;
    rx[k].session = -1;
  }
  /* The header pages are consecutive in netd's address space (env hands out addresses upward). */
  const unsigned per_page = PAGE_SIZE / (TX_TABLE_ENTRIES * sizeof(struct virtq_desc));
  for (unsigned i = 0; i < VIRTQ_SIZE; i++) {
    if (i % per_page == 0) {
      long err = env_pinned_page(&env, BI_SLOT_DMA, &va, &phys);
      if (err)
        return err;
    }
    u64 off = (i % per_page) * TX_TABLE_ENTRIES * sizeof(struct virtq_desc);
    tx_tables[i] = (struct virtq_desc *)(va + off);
    tx_tables_phys[i] = phys + off;
  }
  return env_pinned_page(&env, BI_SLOT_DMA, &va, &vnet_zero_phys); /* stays zero */
}

static long setup(void) {
  venv = (struct virtio_env){&env, BI_SLOT_IOPORTS, NETD_DEVICE_UT, NETD_DEVICE_UTS, BI_SLOT_DMA, REGS_VA};
  int have = 0;
  pci_scan(BI_SLOT_IOPORTS, found, &have);
  if (!have) {
    printf("netd: no usable virtio-net device (1af4:1041 or 1af4:1000) on PCI bus 0\n");
    return ERR_RANGE;
  }
  long err = setup_buffers();
  if (err)
    return err;
  cptr_t pdpt, pd;
  if ((err = env_retype(&env, OBJ_PDPT, 0, &pdpt)) || (err = sys_page_table_map(pdpt, env.vspace, SESSION_VA)) ||
      (err = env_retype(&env, OBJ_PD, 0, &pd)) || (err = sys_page_table_map(pd, env.vspace, SESSION_VA)))
    return err;
  irq_handler = env_slot(&env);
  if ((err = env_retype(&env, OBJ_NOTIFICATION, 0, &irq_ntfn)) ||
      (err = sys_irq_get(BI_SLOT_IRQ_CONTROL, irq_line, env.cnode, irq_handler)) ||
      (err = sys_irq_set_notification(irq_handler, irq_ntfn, 1ull << irq_line)) ||
      (err = sys_tcb_bind_notification(BI_SLOT_TCB, irq_ntfn)))
    return err;
  virtio_ready(&dev);
  return ERR_OK;
}

/* ---- sessions ---- */

static cptr_t slot_of(unsigned i, unsigned which) { return sessions[i].base + which; }

/* A session lives while its donation does. Its record is made from that
 * donation, so nothing of it is touched before this check; netd runs above
 * its clients' priority, so the answer holds until netd blocks. */
static int session_alive(unsigned i) {
  struct cap_info ci;
  if (!sessions[i].used)
    return 0;
  if (sys_cap_identify(env.cnode, slot_of(i, S_DONATION), &ci) || ci.type != OBJ_UNTYPED) {
    sessions[i].used = 0;
    for (unsigned j = 0; j < NET_POOL; j++) { /* its frames: pinned zombies now, or gone */
      sys_dma_unpin(BI_SLOT_DMA, slot_of(i, S_POOL + j));
      sys_cnode_delete(env.cnode, slot_of(i, S_POOL + j));
    }
    sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
    sys_cnode_revoke(env.cnode, slot_of(i, S_DONATION));
    sys_cnode_delete(env.cnode, slot_of(i, S_DONATION));
    return 0;
  }
  return 1;
}

static int session_of(u64 badge) {
  unsigned i = (unsigned)(badge & 0xff) - 1;
  if (i >= NETD_MAX_SESSIONS || sessions[i].generation != (u8)(badge >> 8) || !session_alive(i))
    return -1;
  return (int)i;
}

static int free_pool_slot(struct record *r) {
  for (unsigned j = 0; j < NET_POOL; j++)
    if (r->state[j] == SLOT_FREE)
      return (int)j;
  return -1;
}

/* Frames of the session's that netd holds (packets in the message alone hold none). */
static u32 frames_held(const struct record *r) { return (u32)r->nspare + r->queued_frames + r->in_ring; }

/* ---- receive ---- */

static void post_rx(unsigned k) {
  struct virtq_buf chain[2] = {{rx_hdr_phys[k], VNET_HDR + NET_HEAD, 1}, {rx[k].phys, PAGE_SIZE, 1}};
  int head = virtq_add(&rxq, chain, 2);
  if (head < 0)
    return;
  rx_of_head[head] = (s8)k;
  rx[k].state = RX_POSTED;
}

/* The spare frame of the session that has most of them goes to the device;
 * a session keeps a few spares back for exchanges unless the ring runs low. */
#define SPARE_RESERVE 2
#define RX_LOW 16
static int pick_donor(unsigned posted) {
  int best = -1;
  u32 most = 0;
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].rec->nspare > most) {
      most = sessions[i].rec->nspare;
      best = (int)i;
    }
  if (best >= 0 && most <= SPARE_RESERVE && posted >= RX_LOW)
    return -1;
  return best;
}

static int owner_current(unsigned k) {
  int o = rx[k].session;
  if (o == RX_OWNER_NETD)
    return 1;
  return o >= 0 && sessions[o].used && sessions[o].generation == rx[k].generation;
}

static int refill(void) {
  unsigned posted = 0, added = 0;
  for (unsigned k = 0; k < RX_ENTRIES; k++)
    posted += rx[k].state == RX_POSTED;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    if (rx[k].state == RX_HOLD && !owner_current(k)) {
      sys_dma_unpin(BI_SLOT_DMA, RING_SLOT + k); /* its owner closed or died */
      sys_cnode_delete(env.cnode, RING_SLOT + k);
      rx[k] = (typeof(rx[k])){RX_EMPTY, -1, 0, 0};
    }
    if (rx[k].state == RX_HOLD) {
      post_rx(k);
      posted++, added++;
      continue;
    }
    if (rx[k].state != RX_EMPTY)
      continue;
    int d = pick_donor(posted);
    if (d < 0)
      break;
    struct record *r = sessions[d].rec;
    u16 j = r->spare[--r->nspare];
    if (sys_cnode_move(env.cnode, RING_SLOT + k, env.cnode, slot_of((unsigned)d, S_POOL + j))) {
      r->nspare++;
      break;
    }
    r->state[j] = SLOT_FREE;
    r->in_ring++;
    rx[k] = (typeof(rx[k])){RX_HOLD, (s8)d, sessions[d].generation, r->phys[j]};
    post_rx(k);
    posted++, added++;
  }
  return added > 0;
}

/* A ring frame whose owner is gone: release it (a pinned zombie by now). */
static int release_if_orphan(unsigned k) {
  int o = rx[k].session;
  struct cap_info ci;
  /* The frame's memory may be another principal's (an exchange at close):
   * if that one revoked it, what is left in the slot is a pinned zombie. */
  if (o >= 0 && sessions[o].used && sessions[o].generation == rx[k].generation && session_alive((unsigned)o) &&
      !sys_cap_identify(env.cnode, RING_SLOT + k, &ci) && ci.type == OBJ_FRAME_4K)
    return 0;
  sys_dma_unpin(BI_SLOT_DMA, RING_SLOT + k);
  sys_cnode_delete(env.cnode, RING_SLOT + k);
  rx[k] = (typeof(rx[k])){RX_EMPTY, -1, 0, 0};
  return 1;
}

/* Queues the packet of entry k for session d; its tail frame goes to d,
 * from d's own frame or in exchange for one of d's spares. */
static void deliver(unsigned d, unsigned k, u32 len) {
  struct record *r = sessions[d].rec;
  if (r->nqueued == NET_QUEUE) {
    r->c.drop_queue_full++;
    return;
  }
  u8 pool = 0xff;
  if (len > NET_HEAD && rx[k].session == RX_OWNER_NETD) {
    total.no_session++; /* the echo mode's own page: not given away */
    return;
  }
  if (len > NET_HEAD) {
    if (release_if_orphan(k)) {
      r->c.drop_orphan++;
      return;
    }
    unsigned o = (unsigned)rx[k].session;
    struct record *ro = sessions[o].rec;
    int j = free_pool_slot(r);
    if (o == d && j >= 0) {
      if (sys_cnode_move(env.cnode, slot_of(d, S_POOL + (unsigned)j), env.cnode, RING_SLOT + k)) {
        r->c.drop_orphan++; /* the frame is not where netd left it: not deliverable */
        return;
      }
      r->phys[j] = rx[k].phys;
      r->c.rx_own_frame++;
    } else if (o != d && r->nspare) {
      /* d's spare takes the ring frame's place in o's pool: both keep their count. */
      int oj = free_pool_slot(ro);
      j = r->spare[r->nspare - 1];
      if (oj < 0 || sys_cnode_move(env.cnode, TEMP_SLOT, env.cnode, RING_SLOT + k)) {
        r->c.drop_orphan++;
        return;
      }
      sys_cnode_move(env.cnode, slot_of(o, S_POOL + (unsigned)oj), env.cnode, slot_of(d, S_POOL + (unsigned)j));
      sys_cnode_move(env.cnode, slot_of(d, S_POOL + (unsigned)j), env.cnode, TEMP_SLOT);
      r->nspare--;
      ro->state[oj] = SLOT_SPARE;
      ro->phys[oj] = r->phys[j];
      ro->spare[ro->nspare++] = (u16)oj;
      r->phys[j] = rx[k].phys;
      r->in_ring++, ro->in_ring--; /* undone below: the frame left the ring as d's */
      r->c.rx_exchanged++;
    } else {
      r->c.drop_no_spare++;
      return;
    }
    r->state[j] = SLOT_QUEUED;
    r->in_ring--;
    rx[k] = (typeof(rx[k])){RX_EMPTY, -1, 0, 0};
    pool = (u8)j;
  } else {
    r->c.rx_inline++;
  }
  unsigned q = (r->qhead + r->nqueued) % NET_QUEUE;
  u32 head = len < NET_HEAD ? len : NET_HEAD;
  memcpy(sessions[d].heads[q], rx_hdr + k * HDR_SLOT + VNET_HDR, head);
  r->q[q] = (struct queued){(u16)len, (u8)head, pool};
  r->nqueued++;
  r->queued_frames += pool != 0xff;
  r->c.rx_packets++;
}

static int wants(unsigned i, const struct pkt_info *p) {
  u64 f = sessions[i].rec->filter;
  if (p->cls == PKT_ARP)
    return (f & NET_F_ARP) != 0;
  if (p->cls == PKT_PORT)
    return (f & 0xffff) == p->port && ((f >> 16 & 0xff) == 0 || (f >> 16 & 0xff) == p->proto);
  return 0;
}

static void receive_one(unsigned k, u32 used_len) {
  total.rx_frames++;
  if (echo_port && echo_receive(k, used_len))
    return;
  rx[k].state = RX_HOLD;
  if (used_len < VNET_HDR || used_len - VNET_HDR > NET_HEAD + PAGE_SIZE) {
    total.malformed++; /* the device reports a length it cannot have written */
    return;
  }
  u32 len = used_len - VNET_HDR;
  struct pkt_info p = classify(rx_hdr + k * HDR_SLOT + VNET_HDR, len < NET_HEAD ? len : NET_HEAD, len);
  if (p.cls == PKT_MALFORMED || len > NET_MTU_FRAME || (p.cls == PKT_ARP && len > NET_HEAD)) {
    total.malformed++;
    return;
  }
  int matched = 0, fallback = -1;
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++) {
    if (!session_alive(i))
      continue;
    if (sessions[i].rec->filter & NET_F_DEFAULT)
      fallback = (int)i;
    if (wants(i, &p)) {
      deliver(i, k, len);
      matched = 1;
      if (p.cls != PKT_ARP)
        break; /* ARP goes to everyone who asked; the rest to one */
    }
  }
  if (!matched && fallback >= 0)
    deliver((unsigned)fallback, k, len);
  else if (!matched)
    total.no_session++;
}

/* Answers session i's waiting NET_RECV with what is queued. */
static void answer(unsigned i) {
  struct record *r = sessions[i].rec;
  unsigned n = 0, frames = 0, word = 3;
  while (n < r->nqueued) {
    struct queued *q = &r->q[(r->qhead + n) % NET_QUEUE];
    unsigned hw = (q->head + 7u) / 8;
    if (word + 1 + hw > IPC_MAX_WORDS || (q->pool != 0xff && frames == r->max_frames))
      break;
    word += 1 + hw;
    n++;
    frames += q->pool != 0xff;
  }
  word = 3 + n;
  frames = 0;
  for (unsigned m = 0; m < n; m++) {
    struct queued *q = &r->q[(r->qhead + m) % NET_QUEUE];
    u32 f = (u32)NET_NO_FRAME;
    if (q->pool != 0xff) {
      cptr_t s = slot_of(i, S_POOL + q->pool);
      sys_dma_unpin(BI_SLOT_DMA, s);
      buf->gifts[frames] = (u32)s;
      f = frames++;
    }
    buf->words[3 + m] = net_pkt(q->len, q->head, f, word);
    memcpy(&buf->words[word], sessions[i].heads[(r->qhead + m) % NET_QUEUE], q->head);
    word += (q->head + 7u) / 8;
  }
  long err = sys_reply_to(slot_of(i, S_REPLY), msg_info(0, word, 0, frames), ERR_OK, n, r->nqueued - n, buf->words[3]);
  for (unsigned m = 0; m < n; m++) {
    struct queued *q = &r->q[(r->qhead + m) % NET_QUEUE];
    if (q->pool == 0xff)
      continue;
    r->queued_frames--;
    cptr_t s = slot_of(i, S_POOL + q->pool);
    if (err) { /* the client's window was not ready: the frame is its spare again */
      struct sysret pin = sys_dma_pin(BI_SLOT_DMA, s);
      if (!pin.err) {
        r->state[q->pool] = SLOT_SPARE;
        r->spare[r->nspare++] = q->pool;
        continue;
      }
      sys_cnode_delete(env.cnode, s);
    }
    r->state[q->pool] = SLOT_FREE;
  }
  if (err)
    r->c.bad_requests++;
  r->qhead = (u16)((r->qhead + n) % NET_QUEUE);
  r->nqueued = (u16)(r->nqueued - n);
  r->waiting = 0;
  r->deadline = 0;
  sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
}

static void receive_all(void) {
  u32 len;
  int head;
  while ((head = virtq_get(&rxq, &len)) != -1) {
    if (head < 0 || rx_of_head[head] < 0) {
      total.malformed++;
      continue;
    }
    unsigned k = (unsigned)rx_of_head[head];
    rx_of_head[head] = -1;
    receive_one(k, len);
  }
}

static void answer_waiting(void) {
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++)
    if (sessions[i].used && session_alive(i) && sessions[i].rec->waiting && sessions[i].rec->nqueued)
      answer(i);
}

/* Transmit completions: an echo's receive entry goes back to the device;
 * returns how many of a client's packets completed. */
static unsigned tx_harvest(void) {
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

static void device_event(void) {
  (void)*dev.isr; /* reading the ISR acknowledges the device */
  receive_all();
  if (echo_port) {
    virtio_kick(&dev, TXQ);
    tx_harvest();
  }
  if (refill())
    virtio_kick(&dev, RXQ);
  answer_waiting();
  sys_irq_ack(irq_handler);
}

/* ---- timers: waiting receivers' deadlines and the liveness sweep ---- */

static void timers(void) {
  u64 now = sys_time_ns();
  if (now >= next_sweep) {
    for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++)
      session_alive(i);
    next_sweep = now + SWEEP_NS;
  }
  u64 earliest = next_sweep;
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++) {
    if (!sessions[i].used || !sessions[i].rec->waiting)
      continue;
    if (sessions[i].rec->deadline <= now)
      answer(i); /* nothing came: an empty answer */
    else if (sessions[i].rec->deadline < earliest)
      earliest = sessions[i].rec->deadline;
  }
  if (earliest != armed_deadline) {
    sys_ntfn_set_timer(irq_ntfn, earliest, TIMER_BIT);
    armed_deadline = earliest;
  }
}

/* ---- requests ---- */

/* Donated frames (gifts at GIFT_SLOT + first ..) join session i's pool. */
static long take_donations(unsigned i, u64 first, u64 n) {
  struct record *r = sessions[i].rec;
  if (frames_held(r) + n > NET_POOL) {
    r->c.bad_requests++;
    return ERR_RANGE;
  }
  for (u64 g = 0; g < n; g++) {
    struct cap_info ci;
    if (sys_cap_identify(env.cnode, GIFT_SLOT + first + g, &ci) || ci.type != OBJ_FRAME_4K) {
      r->c.bad_requests++;
      return ERR_WRONG_TYPE;
    }
  }
  for (u64 g = 0; g < n; g++) {
    int j = free_pool_slot(r);
    struct sysret pin = sys_dma_pin(BI_SLOT_DMA, GIFT_SLOT + first + g);
    if (pin.err)
      return pin.err;
    sys_cnode_move(env.cnode, slot_of(i, S_POOL + (unsigned)j), env.cnode, GIFT_SLOT + first + g);
    r->state[j] = SLOT_SPARE;
    r->phys[j] = pin.val;
    r->spare[r->nspare++] = (u16)j;
  }
  return ERR_OK;
}

static long recv_request(unsigned i, const struct msg_regs *m, int *saved) {
  struct record *r = sessions[i].rec;
  long err = sys_reply_save(env.cnode, slot_of(i, S_REPLY));
  if (err)
    return err; /* another thread of the client already waits */
  *saved = 1;
  if ((err = take_donations(i, 0, msg_gifts(m->info)))) {
    u64 n = msg_gifts(m->info);
    for (u64 f = 0; f < n; f++)
      buf->gifts[f] = (u32)(GIFT_SLOT + f);
    sys_reply_to(slot_of(i, S_REPLY), msg_info(0, 1, 0, n), (u64)err, 0, 0, 0);
    return err;
  }
  if (refill())
    virtio_kick(&dev, RXQ);
  r->max_frames = m->w[1] > NET_MAX_GIFTS ? NET_MAX_GIFTS : (u32)m->w[1];
  r->waiting = 1;
  r->deadline = m->w[0] == NET_WAIT_FOREVER ? ~0ull : sys_time_ns() + m->w[0] * 1000000ull;
  if (r->nqueued || m->w[0] == 0)
    answer(i);
  return ERR_OK;
}

/* Validates a segment list; counts the packets in it. */
static long check_segments(const u32 *seg, u32 nseg, u32 ngifts, u32 *npkts) {
  u32 pkts = 0, in_pkt = 0, pkt_len = 0;
  u8 used[NET_MAX_GIFTS] = {0};
  if (nseg == 0 || nseg > NET_MAX_SEGS || ngifts == 0)
    return ERR_RANGE;
  for (u32 s = 0; s < nseg; s++) {
    u32 f = net_seg_frame(seg[s]), off = net_seg_offset(seg[s]), len = net_seg_len(seg[s]);
    if (f >= ngifts || off + len > PAGE_SIZE)
      return ERR_RANGE;
    used[f] = 1;
    pkt_len += len;
    if (++in_pkt > NET_PKT_SEGS || pkt_len > NET_MTU_FRAME)
      return ERR_RANGE;
    if (net_seg_end(seg[s])) {
      if (pkt_len < 14)
        return ERR_RANGE;
      pkts++;
      in_pkt = pkt_len = 0;
    }
  }
  if (in_pkt)
    return ERR_RANGE; /* the last packet is not closed */
  for (u32 f = 0; f < ngifts; f++)
    if (!used[f])
      return ERR_RANGE; /* a frame no segment is in */
  *npkts = pkts;
  return ERR_OK;
}

/* Sends the packets and waits until the device has them all. */
static long send_request(unsigned i, const struct msg_regs *m, u64 *sent, u64 *keep_out) {
  struct record *r = sessions[i].rec;
  u32 nseg = (u32)(m->w[0] & 0xffff), keep = (u32)((m->w[0] >> 16) & 0xffff), n = (u32)msg_gifts(m->info);
  u32 seg[NET_MAX_SEGS], npkts = 0;
  *keep_out = n;
  if (nseg > NET_MAX_SEGS || 1 + (nseg + 1) / 2 > msg_words(m->info)) {
    r->c.bad_segments++;
    return ERR_RANGE;
  }
  for (u32 s = 0; s < nseg; s++) { /* words 1-3 came in registers */
    u32 w = 1 + s / 2;
    seg[s] = (u32)((w < IPC_REG_WORDS ? m->w[w] : buf->words[w]) >> (32 * (s % 2)));
  }
  static u64 phys[NET_MAX_GIFTS];
  long err = check_segments(seg, nseg, n, &npkts);
  if (!err && keep > n)
    err = ERR_RANGE;
  if (!err && frames_held(r) + (n - keep) > NET_POOL)
    err = ERR_RANGE;
  if (err) {
    r->c.bad_segments++;
    return err;
  }
  u32 pinned = 0;
  for (; pinned < n; pinned++) {
    struct cap_info ci;
    if (sys_cap_identify(env.cnode, GIFT_SLOT + pinned, &ci) || ci.type != OBJ_FRAME_4K) {
      err = ERR_WRONG_TYPE;
      break;
    }
    struct sysret pin = sys_dma_pin(BI_SLOT_DMA, GIFT_SLOT + pinned);
    if ((err = pin.err))
      break;
    phys[pinned] = pin.val;
  }
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
          sys_wait(irq_ntfn), device_event();
      }
      int head = txq.free_head;
      if (virtq_add_indirect(&txq, tx_tables[head], tx_tables_phys[head], chain, c) < 0)
        break;
      outstanding++;
      r->c.tx_packets++;
      r->c.tx_bytes += bytes;
    }
    virtio_kick(&dev, TXQ);
    while (outstanding) {
      outstanding -= tx_harvest();
      if (outstanding) {
        sys_wait(irq_ntfn); /* receive work goes on meanwhile */
        device_event();
      }
    }
    *sent = npkts;
  }
  for (u32 f = 0; f < pinned; f++) {
    if (!err && f >= keep) { /* still pinned: straight into the pool */
      int j = free_pool_slot(r);
      sys_cnode_move(env.cnode, slot_of(i, S_POOL + (unsigned)j), env.cnode, GIFT_SLOT + f);
      r->state[j] = SLOT_SPARE;
      r->phys[j] = phys[f];
      r->spare[r->nspare++] = (u16)j;
    } else {
      sys_dma_unpin(BI_SLOT_DMA, GIFT_SLOT + f);
    }
  }
  *keep_out = err ? n : keep;
  if (!err && refill())
    virtio_kick(&dev, RXQ);
  return err;
}

static long open_session(u64 info, u64 filter, cptr_t *cap_back) {
  unsigned i = 0;
  while (i < NETD_MAX_SESSIONS && session_alive(i))
    i++;
  if (msg_caps(info) != 1 || i == NETD_MAX_SESSIONS || (filter >> 34))
    return ERR_RANGE;
  struct cap_info ci;
  if (sys_cap_identify(env.cnode, DONATION_SLOT, &ci) || ci.type != OBJ_UNTYPED || ci.size < (1ull << NET_DONATION_BITS))
    return ERR_WRONG_TYPE;
  for (unsigned j = 0; j < NETD_MAX_SESSIONS; j++) { /* one session per port and protocol */
    u64 g = sessions[j].used && session_alive(j) ? sessions[j].rec->filter : 0;
    u64 pa = filter >> 16 & 0xff, pb = g >> 16 & 0xff;
    if ((filter & 0xffff) && (g & 0xffff) == (filter & 0xffff) && (!pa || !pb || pa == pb))
      return ERR_SLOT_OCCUPIED;
    if ((filter & NET_F_DEFAULT) && (g & NET_F_DEFAULT))
      return ERR_SLOT_OCCUPIED;
  }
  struct session *s = &sessions[i];
  s->base = SESSION_SLOTS + i * SESSION_STRIDE;
  u64 va = SESSION_VA + (u64)i * LARGE_PAGE_SIZE;
  const cptr_t frames[3] = {slot_of(i, S_RECORD), slot_of(i, S_QUEUE), slot_of(i, S_QUEUE2)};
  long err = server_session_memory(env.cnode, env.vspace, DONATION_SLOT, slot_of(i, S_DONATION),
                                   slot_of(i, S_TABLE), frames, 3, va);
  if (err)
    return err;
  s->used = 1;
  s->generation++;
  s->rec = (struct record *)va;
  s->heads = (u8(*)[128])(va + PAGE_SIZE);
  s->rec->filter = filter;
  err = sys_cnode_mint(env.cnode, TEMP_SLOT, env.cnode, NETD_PUBLIC_EP, RIGHTS_ALL,
                       (u64)(i + 1) | (u64)s->generation << 8);
  *cap_back = TEMP_SLOT;
  return err;
}

static void add_counters(struct net_counters *to, const struct net_counters *c) {
  const u64 *from = (const u64 *)c;
  u64 *t = (u64 *)to;
  for (unsigned w = 0; w < NET_COUNTERS_WORDS; w++)
    t[w] += from[w];
}

/* Spare frames go back unpinned as gifts; queued packets are dropped (their
 * frames too go back); frames on the device are released as they return. */
static long close_session(unsigned i, u64 *ngifts) {
  struct record *r = sessions[i].rec;
  unsigned n = 0;
  /* Everything goes back through the receive slots, which are empty now:
   * whatever a failed reply leaves there is cleaned up with them. */
  for (unsigned j = 0; j < NET_POOL; j++)
    if (r->state[j] != SLOT_FREE) {
      sys_dma_unpin(BI_SLOT_DMA, slot_of(i, S_POOL + j));
      sys_cnode_move(env.cnode, GIFT_SLOT + n++, env.cnode, slot_of(i, S_POOL + j));
    }
  /* Its frames on the device stay there, each traded for a spare of
   * another session (whose count of frames does not change); with no
   * spare anywhere, a frame is released when the device hands it back. */
  for (unsigned k = 0; k < RX_ENTRIES && n < NET_MAX_GIFTS; k++) {
    if (rx[k].state != RX_POSTED || rx[k].session != (s8)i || rx[k].generation != sessions[i].generation)
      continue;
    int donor = -1;
    for (unsigned j = 0; j < NETD_MAX_SESSIONS && donor < 0; j++)
      if (j != i && sessions[j].used && session_alive(j) && sessions[j].rec->nspare)
        donor = (int)j;
    if (donor < 0)
      break;
    struct record *rd = sessions[donor].rec;
    u16 sj = rd->spare[--rd->nspare];
    sys_dma_unpin(BI_SLOT_DMA, slot_of((unsigned)donor, S_POOL + sj));
    sys_cnode_move(env.cnode, GIFT_SLOT + n++, env.cnode, slot_of((unsigned)donor, S_POOL + sj));
    rd->state[sj] = SLOT_FREE;
    rd->in_ring++;
    rd->c.close_exchanged++;
    rx[k].session = (s8)donor;
    rx[k].generation = sessions[donor].generation;
  }
  for (unsigned g = 0; g < n; g++)
    buf->gifts[g] = (u32)(GIFT_SLOT + g);
  add_counters(&total, &r->c);
  if (r->waiting)
    sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
  sessions[i].used = 0;
  long err = sys_cnode_revoke(env.cnode, slot_of(i, S_DONATION)); /* record, queue, table */
  if (!err)
    err = sys_cnode_move(env.cnode, DONATION_SLOT, env.cnode, slot_of(i, S_DONATION));
  *ngifts = n;
  return err;
}

static u64 netd_memory(void) {
  struct untyped_usage u;
  return sys_untyped_usage(BI_SLOT_BOOT_UNTYPED, &u, USAGE_RECURSIVE) ? 0 : u.size - u.free;
}

/* ---- the service loop ---- */

static void set_receive(void) {
  buf->recv_cnode = env.cnode;
  buf->recv_slot = GIFT_SLOT;
  buf->recv_count = NET_MAX_GIFTS;
  buf->recv_window = 0; /* netd never maps its clients' frames */
}

struct outcome {
  u64 err, w1, w2, w3;
  u64 words, caps, gifts;
  int saved; /* answered later, through a saved reply */
};

static void handle(const struct msg_regs *m, struct outcome *o) {
  u32 op = msg_label(m->info);
  if (m->badge == 0) { /* the public endpoint: only OPEN */
    cptr_t cap = 0;
    o->err = (u64)(op == NET_OPEN ? open_session(m->info, m->w[0], &cap) : ERR_BAD_STATE);
    struct cap_info ci;
    if (o->err && !sys_cap_identify(env.cnode, DONATION_SLOT, &ci) && ci.type != OBJ_NULL)
      cap = DONATION_SLOT; /* a refused donation goes back */
    if (cap) {
      buf->caps[0] = cap;
      o->caps = 1;
    }
    return;
  }
  int i = session_of(m->badge);
  if (i < 0) {
    total.closed_session++;
    o->err = ERR_BAD_STATE;
    return;
  }
  struct record *r = sessions[i].rec;
  if (msg_gifts(m->info) && op != NET_RECV && op != NET_SEND) {
    r->c.bad_requests++; /* frames only come with these two: they go back */
    o->err = ERR_RANGE;
    o->gifts = msg_gifts(m->info);
    for (u64 f = 0; f < o->gifts; f++)
      buf->gifts[f] = (u32)(GIFT_SLOT + f);
    return;
  }
  switch (op) {
  case NET_RECV:
    o->err = (u64)recv_request((unsigned)i, m, &o->saved);
    if (o->err && !o->saved) { /* the donation goes back */
      o->gifts = msg_gifts(m->info);
      for (u64 f = 0; f < o->gifts; f++)
        buf->gifts[f] = (u32)(GIFT_SLOT + f);
    }
    return;
  case NET_SEND:
    o->err = (u64)send_request((unsigned)i, m, &o->w1, &o->gifts);
    for (u64 f = 0; f < o->gifts; f++)
      buf->gifts[f] = (u32)(GIFT_SLOT + f);
    return;
  case NET_INFO:
    for (int b = 0; b < 6; b++)
      o->w1 |= (u64)mac[b] << (8 * b);
    o->w2 = r->nspare | (u64)r->in_ring << 16 | (u64)r->nqueued << 32;
    return;
  case NET_STATS: {
    struct net_counters t = total;
    for (unsigned j = 0; j < NETD_MAX_SESSIONS; j++)
      if (sessions[j].used && session_alive(j))
        add_counters(&t, &sessions[j].rec->c);
    memcpy(&buf->words[1], &r->c, sizeof r->c);
    memcpy(&buf->words[1 + NET_COUNTERS_WORDS], &t, sizeof t);
    buf->words[1 + 2 * NET_COUNTERS_WORDS] = netd_memory();
    o->words = 2 + 2 * NET_COUNTERS_WORDS;
    o->w1 = buf->words[1], o->w2 = buf->words[2], o->w3 = buf->words[3];
    return;
  }
  case NET_CLOSE:
    o->err = (u64)close_session((unsigned)i, &o->gifts);
    if (!o->err) {
      buf->caps[0] = DONATION_SLOT;
      o->caps = 1;
    }
    return;
  default:
    r->c.bad_requests++;
    o->err = ERR_BAD_SYSCALL;
  }
}

int main(u64 arg) {
  echo_port = (u16)arg;
  env = (struct env){.cnode = BI_SLOT_CNODE, .vspace = BI_SLOT_VSPACE, .untyped = BI_SLOT_BOOT_UNTYPED,
                     .next_slot = SESSION_SLOTS + SESSION_STRIDE * NETD_MAX_SESSIONS, .end_slot = 4096,
                     .next_vaddr = 0x0000200000000000ull};
  for (unsigned h = 0; h < VIRTQ_SIZE; h++)
    rx_of_head[h] = echo_of_head[h] = -1;
  long err = env_ipc_buffer(&env, BI_SLOT_TCB, &buf);
  if (!err)
    err = setup();
  if (err) {
    printf("netd: cannot start: %s\n", err_name(err));
    return 1;
  }
  if (echo_port && (err = echo_setup(&env))) {
    printf("netd: no buffers for the echo mode: %s\n", err_name(err));
    return 1;
  }
  if (refill())
    virtio_kick(&dev, RXQ);
  printf("netd: ready%s\n", echo_port ? ", answering UDP echo itself (diagnostic ceiling mode)" : "");
  set_receive();
  timers();
  struct msg_regs m = sys_recv(NETD_PUBLIC_EP);
  for (;;) {
    if (m.err) {
      server_drop_leftovers(env.cnode, GIFT_SLOT, NET_MAX_GIFTS);
      m = sys_recv(NETD_PUBLIC_EP);
      continue;
    }
    if (msg_label(m.info) == MSG_LABEL_NOTIFY && msg_words(m.info) == 0 && !msg_gifts(m.info)) {
      if (echo_port)
        echo_account(1);
      if (m.badge & ~TIMER_BIT)
        device_event();
      timers();
      if (echo_port)
        echo_account(0);
      m = sys_recv(NETD_PUBLIC_EP);
      continue;
    }
    struct outcome o = {0, 0, 0, 0, 4, 0, 0, 0};
    server_sort_received(env.cnode, GIFT_SLOT, msg_caps(m.info), msg_gifts(m.info),
                         m.badge == 0 && msg_label(m.info) == NET_OPEN ? DONATION_SLOT : 0);
    handle(&m, &o);
    if (o.saved) {
      timers();
      m = sys_recv(NETD_PUBLIC_EP);
      continue;
    }
    m = sys_reply_recv(NETD_PUBLIC_EP, msg_info(0, o.words, o.caps, o.gifts), o.err, o.w1, o.w2, o.w3);
    sys_cnode_delete(env.cnode, TEMP_SLOT);     /* the client's copy of a session stays */
    sys_cnode_delete(env.cnode, DONATION_SLOT); /* a donation the client would not take back */
  }
}
