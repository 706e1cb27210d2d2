/* netd: receiving into donated frames, demultiplexing, delivery (see netd.h). */
#include "netd.h"
#include "classify.h"
#include <lib/string.h>

static s8 rx_of_head[VIRTQ_SIZE]; /* descriptor head -> receive entry, -1 */
/* The session whose packet emptied the entry, -1: its spare goes there
 * next, so that the ring holds frames of those that receive, in proportion
 * (else a session that keeps the most spares and receives nothing would
 * have its frames on the whole ring, and every packet of the others would
 * need a copy and a spare). */
static s8 refill_for[RX_ENTRIES];

void rx_init(void) {
  for (unsigned h = 0; h < VIRTQ_SIZE; h++)
    rx_of_head[h] = -1;
  for (unsigned k = 0; k < RX_ENTRIES; k++)
    refill_for[k] = -1;
}

static void post_rx(unsigned k) {
  struct virtq_buf chain[2] = {{rx_hdr_phys[k], VNET_HDR + NET_HEAD, 1}, {rx[k].phys, K_PAGE_SIZE, 1}};
  int head = virtq_add(&rxq, chain, 2);
  if (head < 0)
    return;
  rx_of_head[head] = (s8)k;
  rx[k].state = RX_POSTED;
}

/* The spare frame of the session that has most of them goes to the device;
 * a session keeps a few spares back for copies into them unless the ring runs low. */
#define SPARE_RESERVE 2
#define RX_LOW 16
static int pick_donor(unsigned posted) {
  int best = -1;
  u32 most = 0;
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++)
    if (session_alive(i) && sessions[i].rec->nspare > most) {
      most = sessions[i].rec->nspare;
      best = (int)i;
    }
  if (best >= 0 && most <= SPARE_RESERVE && posted >= RX_LOW)
    return -1;
  return best;
}

cptr_t ring_frame_slot(unsigned k) { return slot_of((unsigned)rx[k].session, S_POOL + (unsigned)rx[k].pool); }

int owner_current(unsigned k) {
  int o = rx[k].session;
  if (o == RX_OWNER_NETD)
    return 1;
  return o >= 0 && sessions[o].used && sessions[o].generation == rx[k].generation;
}

/* Entry k's frame leaves the ring; in its owner's pool, if the owner is
 * still there (the caller knows), it is `state` now (a spare joins the
 * spares). */
static void leave_ring(unsigned k, u8 state, int owner_there) {
  unsigned o = (unsigned)rx[k].session;
  sessions[o].ring_refs--;
  if (owner_there) {
    struct record *ro = sessions[o].rec;
    ro->state[rx[k].pool] = state;
    ro->in_ring--;
    if (state == SLOT_SPARE)
      ro->spare[ro->nspare++] = (u16)rx[k].pool;
  }
  rx[k] = RX_NONE;
}

/* Entry k's frame leaves netd, unpinned (a pinned remain is released)
 * and deleted: its owner closed or died, or its memory was revoked. */
static void release_entry(unsigned k) {
  cptr_t s = ring_frame_slot(k);
  sys_dma_unpin(K_BI_SLOT_DMA, s);
  sys_cnode_delete(env.cnode, s);
  leave_ring(k, SLOT_FREE, owner_current(k) && session_alive((unsigned)rx[k].session)); /* its memory went */
}

int refill(void) {
  unsigned posted = 0, added = 0, held = 0;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    posted += rx[k].state == RX_POSTED;
    held += rx[k].state == RX_HOLD;
  }
  /* Nothing held and no spare beyond a session's reserve: no entry could be
   * filled (an empty ring takes any spare: pick_donor), so no need to look.
   * Stops at the first session with spares: cheaper than pick_donor. */
  int no_donor = posted >= RX_LOW;
  for (unsigned i = 0; no_donor && i < NETD_MAX_SESSIONS; i++)
    no_donor = !(session_alive(i) && sessions[i].rec->nspare > SPARE_RESERVE);
  for (unsigned k = 0; k < RX_ENTRIES && !(no_donor && !held); k++) {
    held -= rx[k].state == RX_HOLD;
    if (rx[k].state == RX_HOLD && rx[k].session != RX_OWNER_NETD && !owner_current(k))
      release_entry(k);
    if (rx[k].state == RX_HOLD) {
      post_rx(k);
      posted++, added++;
      continue;
    }
    if (rx[k].state != RX_EMPTY)
      continue;
    int d = refill_for[k];
    if (d >= 0 && !session_alive((unsigned)d))
      d = refill_for[k] = -1;
    if (d >= 0 && sessions[d].rec->nspare <= SPARE_RESERVE) {
      if (posted >= RX_LOW)
        continue; /* it waits for that session's spares: another's frame here would only need one of them */
      d = -1;
    }
    if (d < 0)
      d = no_donor ? -1 : pick_donor(posted);
    if (d < 0) {
      no_donor = 1;
      continue; /* entries further on may still be held, to post or release */
    }
    refill_for[k] = -1;
    struct record *r = sessions[d].rec;
    u16 j = r->spare[--r->nspare];
    r->state[j] = SLOT_RING; /* the capability stays in the pool slot */
    r->in_ring++;
    sessions[d].ring_refs++;
    rx[k] = (struct rx_entry){RX_HOLD, (s8)d, sessions[d].generation, (s16)j, r->phys[j]};
    post_rx(k);
    posted++, added++;
  }
  return added > 0;
}

/* Queues the packet of entry k for session d. Its tail goes to d in a frame
 * d owns: the frame it landed in, if that is d's, else a copy into one of
 * d's spares (by the kernel: netd maps neither), and the ring frame goes
 * back to its owner's spares (else the ring would fill, for good, with the
 * frames of sessions that receive least, and every packet of the others
 * would need a copy and a spare). d never holds its data in another
 * principal's memory, which that principal could revoke. A frame whose
 * session closed, or whose memory was revoked (a pinned remnant now), goes
 * back to its owner's memory once its bytes are out. */
static void deliver(unsigned d, unsigned k, u32 len) {
  struct record *r = sessions[d].rec;
  if (r->nqueued == sessions[d].queue_len) {
    r->c.drop_queue_full++;
    return;
  }
  u8 pool = 0xff;
  if (len > NET_HEAD && rx[k].session == RX_OWNER_NETD) {
    total.no_session++; /* the echo mode's own page: not given away */
    return;
  }
  if (len > NET_HEAD) {
    unsigned o = (unsigned)rx[k].session;
    u64 type = sys_cap_type(env.cnode, ring_frame_slot(k)).val;
    /* A frame whose owner's memory was revoked is a pinned remnant now: the
     * packet is copied out of it all the same, and it goes (unpinned). */
    int live = owner_current(k) && session_alive(o) && type == K_OBJ_FRAME_4K;
    if (type != K_OBJ_FRAME_4K && type != K_OBJ_PINNED_FRAME) {
      release_entry(k); /* cannot be: netd deletes ring frames only here and in release_entry */
      r->c.drop_orphan++;
      return;
    }
    int j;
    if (o == d && live) { /* d's own frame leaves the ring */
      j = rx[k].pool;
      r->c.rx_own_frame++;
      leave_ring(k, SLOT_QUEUED, 1);
      refill_for[k] = (s8)d;
    } else if (r->nspare) {
      j = r->spare[r->nspare - 1];
      if (sys_frame_copy(slot_of(d, S_POOL + (unsigned)j), 0, ring_frame_slot(k), 0, len - NET_HEAD)) {
        r->c.drop_orphan++; /* cannot be: both are frames netd holds */
        return;
      }
      r->nspare--;
      r->c.rx_copied++;
      if (live)
        leave_ring(k, SLOT_SPARE, 1); /* back to its owner's spares */
      else
        release_entry(k);
      refill_for[k] = (s8)d;
    } else {
      r->c.drop_no_spare++;
      if (!live)
        release_entry(k);
      return;
    }
    r->state[j] = SLOT_QUEUED;
    pool = (u8)j;
  } else {
    r->c.rx_inline++;
  }
  struct queue_slot *q = &sessions[d].queue[(r->qhead + r->nqueued) % sessions[d].queue_len];
  u32 head = len < NET_HEAD ? len : NET_HEAD;
  memcpy(q->head, rx_hdr + k * HDR_SLOT + VNET_HDR, head);
  q->q = (struct queued){(u16)len, (u8)head, pool};
  r->nqueued++;
  r->queued_frames += pool != 0xff;
  r->c.rx_packets++;
  charge_last_to((int)d); /* the packet's work since receive_one began */
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
  charge_to(-1); /* what came before is someone else's; this packet's is settled in deliver */
  total.rx_frames++;
  if (echo_port && echo_receive(k, used_len))
    return;
  rx[k].state = RX_HOLD;
  if (used_len < VNET_HDR || used_len - VNET_HDR > NET_HEAD + K_PAGE_SIZE) {
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

/* Lays out the answer to session i's NET_RECV from what is queued: packet
 * descriptors and head bytes in the IPC buffer, the packets' frames
 * (unpinned) as gifts. */
static struct queue_slot *queued_at(unsigned i, unsigned m) {
  return &sessions[i].queue[(sessions[i].rec->qhead + m) % sessions[i].queue_len];
}

static struct answer build_answer(unsigned i) {
  struct record *r = sessions[i].rec;
  unsigned n = 0, frames = 0, word = 3;
  while (n < r->nqueued) {
    struct queued *q = &queued_at(i, n)->q;
    unsigned hw = (q->head + 7u) / 8;
    if (word + 1 + hw > K_IPC_MAX_WORDS || (q->pool != 0xff && frames == r->max_frames))
      break;
    word += 1 + hw;
    n++;
    frames += q->pool != 0xff;
  }
  word = 3 + n;
  frames = 0;
  for (unsigned m = 0; m < n; m++) {
    struct queue_slot *slot = queued_at(i, m);
    struct queued *q = &slot->q;
    u32 f = (u32)NET_NO_FRAME;
    if (q->pool != 0xff) {
      cptr_t s = slot_of(i, S_POOL + q->pool);
      sys_dma_unpin(K_BI_SLOT_DMA, s);
      buf->gifts[frames] = (u32)s;
      f = frames++;
    }
    buf->words[3 + m] = net_pkt(q->len, q->head, f, word);
    memcpy(&buf->words[word], slot->head, q->head);
    word += (q->head + 7u) / 8;
  }
  return (struct answer){1, i, n, word, frames, n, r->nqueued - n, buf->words[3]};
}

/* After the answer went: its frames are the client's now, or (err: the
 * client left no room for them) the session's spares again. */
static void answer_sent(const struct answer *a, long err) {
  struct record *r = sessions[a->session].rec;
  int refused = 0;
  for (unsigned m = 0; m < a->packets; m++) {
    struct queued *q = &queued_at(a->session, m)->q;
    if (q->pool == 0xff)
      continue;
    r->queued_frames--;
    cptr_t s = slot_of(a->session, S_POOL + q->pool);
    if (err) {
      struct sysret pin = sys_dma_pin(K_BI_SLOT_DMA, s); /* fails where the frame went after all */
      if (!pin.err) {
        r->state[q->pool] = SLOT_SPARE;
        r->spare[r->nspare++] = q->pool;
        refused = 1;
        continue;
      }
      sys_cnode_delete(env.cnode, s);
    }
    r->state[q->pool] = SLOT_FREE;
  }
  if (refused)
    r->c.bad_requests++;
  r->qhead = (u16)((r->qhead + a->packets) % sessions[a->session].queue_len);
  r->nqueued = (u16)(r->nqueued - a->packets);
  r->waiting = 0;
  r->deadline = 0;
}

/* Answers session i's waiting NET_RECV (a saved reply) with what is queued. */
void answer(unsigned i) {
  int was = charge_to((int)i);
  struct answer a = build_answer(i);
  long err = sys_reply_to(slot_of(i, S_REPLY), k_msg_info(0, a.words, 0, a.frames), K_ERR_OK, a.w1, a.w2, a.w3);
  answer_sent(&a, err);
  sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
  charge_to(was);
}

/* The answer to the request being handled goes with netd's next
 * reply-and-receive; main calls answer_replied with the outcome. */
struct answer direct_answer;

void answer_replied(long err) {
  if (!direct_answer.active)
    return;
  direct_answer.active = 0;
  if (sessions[direct_answer.session].used && session_alive(direct_answer.session)) {
    int was = charge_to((int)direct_answer.session);
    answer_sent(&direct_answer, err);
    charge_to(was);
  }
}

void receive_all(void) {
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

void answer_waiting(void) {
  for (unsigned i = 0; i < NETD_MAX_SESSIONS; i++)
    if (sessions[i].used && session_alive(i) && sessions[i].rec->waiting && sessions[i].rec->nqueued)
      answer(i);
}

long recv_request(unsigned i, const struct msg_regs *m, int *saved) {
  struct record *r = sessions[i].rec;
  if (r->waiting)
    return K_ERR_SLOT_OCCUPIED; /* another thread of the client already waits */
  long err = take_donations(i, 0, k_msg_gifts(m->info));
  if (err)
    return err; /* the donation goes back with the error */
  if (refill())
    virtio_kick(&dev, RXQ);
  r->max_frames = m->w[1] > NET_MAX_GIFTS ? NET_MAX_GIFTS : (u32)m->w[1];
  if (r->nqueued || m->w[0] == 0) { /* an answer now: the ordinary reply */
    direct_answer = build_answer(i);
    return K_ERR_OK;
  }
  if ((err = sys_reply_save(env.cnode, slot_of(i, S_REPLY))))
    return err;
  *saved = 1;
  r->waiting = 1;
  r->deadline = m->w[0] == NET_WAIT_FOREVER ? ~0ull : sys_time_ns() + m->w[0] * 1000000ull;
  return K_ERR_OK;
}
