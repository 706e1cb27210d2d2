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
static s32 refill_for[RX_ENTRIES];

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

/* A session whose spares go to the device next, round robin among those
 * with more than their reserve, and among those with any while the ring
 * runs low (-1: none). The lists may name sessions that have none now, or
 * went: those leave them here. */
static int pick_donor(unsigned posted) {
  unsigned i;
  while ((i = ring_pop(&donors)) != NO_PLACE) {
    sessions[i].in_donors = 0;
    if (!session_alive(i))
      continue;
    if (sessions[i].rec->nspare > SPARE_RESERVE)
      return (int)i;
    spares_grew(i); /* a few: on the other list */
  }
  while (posted < RX_LOW && (i = ring_pop(&low_donors)) != NO_PLACE) {
    sessions[i].in_low = 0;
    if (session_alive(i) && sessions[i].rec->nspare)
      return (int)i;
  }
  return -1;
}

int owner_current(unsigned k) {
  int o = rx[k].session;
  if (o == RX_OWNER_NETD)
    return 1;
  return o >= 0 && sessions[o].used && sessions[o].generation == rx[k].generation;
}

/* Entry k's frame goes back, unpinned, to its owner's pool slot (the
 * owner is there: the caller knows), where it is `state` now (a spare
 * joins the spares). 0 if the frame was a pinned remnant (its owner
 * revoked its memory): the unpin released it, and the slot is free. */
static int ring_to_pool(unsigned k, u8 state) {
  unsigned o = (unsigned)rx[k].session;
  struct record *ro = sessions[o].rec;
  int moved = pin_release(rx[k].slot, place_cnode(o), C_POOL + (unsigned)rx[k].pool);
  if (!moved)
    state = SLOT_FREE;
  pin_give(rx[k].slot);
  ro->state[rx[k].pool] = state;
  ro->in_ring--;
  if (state == SLOT_SPARE) {
    ro->spare[ro->nspare++] = (u16)rx[k].pool;
    spares_grew(o);
  }
  rx[k] = RX_NONE;
  return moved;
}

/* A frame of session i's that the device just sent, still pinned in
 * PIN_SLOT t at phys, and bound for its pool slot j, goes to an empty
 * receive entry that waits for i's spares (or for anyone's) instead, slot
 * and all: no call, where unpinning, parking and later taking it back and
 * pinning again would cost four. 0 if no entry waits. */
int rx_take_pinned(unsigned i, unsigned j, unsigned t, u64 phys) {
  int any = -1;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    if (rx[k].state != RX_EMPTY)
      continue;
    if (refill_for[k] == (s32)i) {
      any = (int)k;
      break;
    }
    if (any < 0 && refill_for[k] < 0)
      any = (int)k;
  }
  if (any < 0)
    return 0;
  unsigned k = (unsigned)any;
  struct record *r = sessions[i].rec;
  r->state[j] = SLOT_RING;
  r->in_ring++;
  rx[k] = (struct rx_entry){.state = RX_HOLD, .pool = (s16)j, .session = (s32)i, .generation = sessions[i].generation,
                            .slot = (u16)t, .phys = phys};
  refill_for[k] = -1;
  return 1;
}

/* Entry k's frame leaves netd, unpinned (a pinned remain is released)
 * and deleted: its owner closed or died, or its memory was revoked. */
static void release_entry(unsigned k) {
  pin_release(rx[k].slot, 0, 0);
  pin_give(rx[k].slot);
  unsigned o = (unsigned)rx[k].session;
  if (owner_current(k) && session_alive(o)) { /* its memory went, not the session */
    sessions[o].rec->state[rx[k].pool] = SLOT_FREE;
    sessions[o].rec->in_ring--;
  }
  rx[k] = RX_NONE;
}

/* One of session d's spares to entry k, pinned there (0: it had none
 * that is still a frame: one its owner revoked is forgotten). */
static int take_spare(unsigned d, unsigned k) {
  struct record *r = sessions[d].rec;
  while (r->nspare) {
    u16 j = r->spare[--r->nspare];
    unsigned t = pin_take();
    struct sysret pin = {.err = sys_cnode_move(env.cnode, pin_slot(t), place_cnode(d), C_POOL + j)};
    if (!pin.err && (pin = sys_dma_pin(K_BI_SLOT_DMA, pin_slot(t))).err) {
      sys_cnode_move(place_cnode(d), C_POOL + j, env.cnode, pin_slot(t));
    }
    if (pin.err) {
      pin_give(t);
      sys_cnode_delete(place_cnode(d), C_POOL + j);
      r->state[j] = SLOT_FREE;
      r->c.bad_requests++; /* a frame of its pool that it took back */
      continue;
    }
    r->state[j] = SLOT_RING; /* the pool slot waits for it */
    r->in_ring++;
    rx[k] = (struct rx_entry){.state = RX_HOLD, .pool = (s16)j, .session = (s32)d, .generation = sessions[d].generation,
                              .slot = (u16)t, .phys = pin.val};
    return 1;
  }
  return 0;
}

int refill(void) {
  unsigned posted = 0, added = 0, held = 0;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    posted += rx[k].state == RX_POSTED;
    held += rx[k].state == RX_HOLD;
  }
  /* Nothing held and nobody with spares: no entry could be filled. */
  int no_donor = !donors.count && (posted >= RX_LOW || !low_donors.count);
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
    int picked = 0;
    for (;;) {
      if (d < 0 && !no_donor)
        d = pick_donor(posted), picked = 1;
      if (d < 0 || take_spare((unsigned)d, k))
        break;
      d = -1; /* none it still had: the next */
    }
    if (d < 0) {
      no_donor = 1;
      continue; /* entries further on may still be held, to post or release */
    }
    if (picked)
      spares_grew((unsigned)d); /* back on a list if it has spares left: round robin */
    refill_for[k] = -1;
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
/* Copies n bytes of entry k's frame into one of d's spares, taken from its
 * spares (0: it has none). A spare it took back (revoked) is passed over,
 * forgotten and counted. */
static int copy_to_spare(unsigned d, unsigned k, u32 n, int *j) {
  struct record *r = sessions[d].rec;
  while (r->nspare) {
    *j = r->spare[--r->nspare];
    if (!sys_frame_copy(in_session(d, C_POOL + (unsigned)*j), 0, ring_frame_slot(k), 0, n))
      return 1;
    r->state[*j] = SLOT_FREE;
    r->c.bad_requests++;
  }
  return 0;
}

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
    /* A frame whose owner went, or whose memory was revoked (a pinned
     * remnant now), gives its packet to others all the same (FRAME_COPY
     * reads remnants), and goes (unpinned). */
    int live = owner_current(k) && session_alive(o);
    int j;
    if (o == d && live) { /* d's own frame leaves the ring for its pool slot */
      j = rx[k].pool;
      refill_for[k] = (s32)d;
      if (!ring_to_pool(k, SLOT_QUEUED)) {
        r->c.drop_orphan++; /* d revoked the frame it lent: the packet in it went with it */
        return;
      }
      r->c.rx_own_frame++;
    } else if (copy_to_spare(d, k, len - NET_HEAD, &j)) {
      r->c.rx_copied++;
      if (live)
        ring_to_pool(k, SLOT_SPARE); /* back to its owner's spares */
      else
        release_entry(k);
      refill_for[k] = (s32)d;
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
  if (r->waiting)
    mark_ready(d);
  charge_last_to((int)d); /* the packet's work since receive_one began */
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
  int d = -1;
  if (p.cls == PKT_ARP) { /* to everyone who asked */
    for (u32 i = arp_head, next; i != NO_PLACE; i = next) {
      next = sessions[i].next[1]; /* the ARP list */
      if (session_alive(i))
        deliver(i, k, len), d = (int)i;
    }
  } else if (p.cls == PKT_PORT && (d = session_for_port(p.proto, p.port)) >= 0) {
    deliver((unsigned)d, k, len);
  }
  if (d < 0 && (d = default_session()) >= 0)
    deliver((unsigned)d, k, len);
  else if (d < 0)
    total.no_session++;
}

/* Lays out the answer to session i's NET_RECV from what is queued: packet
 * descriptors and head bytes in the IPC buffer, the packets' frames as
 * gifts from their pool slots (gift_cnode: the session's CNode). */
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
      buf->gifts[frames] = (u32)(C_POOL + q->pool);
      f = frames++;
    }
    buf->words[3 + m] = net_pkt(q->len, q->head, f, word);
    memcpy(&buf->words[word], slot->head, q->head);
    word += (q->head + 7u) / 8;
  }
  return (struct answer){1, i, n, sessions[i].generation, word, frames, n, r->nqueued - n, buf->words[3]};
}

/* After the answer went: its frames are the client's now, or (err: the
 * client left no room for them, or took one of them back) the session's
 * spares again, those that are still there. */
static void answer_sent(const struct answer *a, long err) {
  struct record *r = sessions[a->session].rec;
  int refused = 0;
  for (unsigned m = 0; m < a->packets; m++) {
    struct queued *q = &queued_at(a->session, m)->q;
    if (q->pool == 0xff)
      continue;
    r->queued_frames--;
    if (err && sys_cap_type(place_cnode(a->session), C_POOL + q->pool).val != K_OBJ_NULL) {
      r->state[q->pool] = SLOT_SPARE;
      r->spare[r->nspare++] = q->pool;
      refused = 1;
      continue;
    }
    r->state[q->pool] = SLOT_FREE;
  }
  if (refused) {
    r->c.bad_requests++;
    spares_grew(a->session);
  }
  r->qhead = (u16)((r->qhead + a->packets) % sessions[a->session].queue_len);
  r->nqueued = (u16)(r->nqueued - a->packets);
  r->waiting = 0;
  deadline_clear(a->session);
}

/* Answers session i's waiting NET_RECV (a saved reply) with what is queued. */
void answer(unsigned i) {
  int was = charge_to((int)i);
  struct answer a = build_answer(i);
  u64 was_from = gifts_from(place_cnode(i));
  long err = sys_reply_to(in_session(i, C_REPLY), k_msg_info(0, a.words, 0, a.frames), K_ERR_OK, a.w1, a.w2, a.w3);
  gifts_from(was_from);
  answer_sent(&a, err);
  sys_cnode_delete(place_cnode(i), C_REPLY);
  charge_to(was);
}

/* The answer to the request being handled goes with netd's next
 * reply-and-receive; main calls answer_replied with the outcome. */
struct answer direct_answer;

void answer_replied(long err) {
  if (!direct_answer.active)
    return;
  direct_answer.active = 0;
  if (current_session(direct_answer.session, direct_answer.generation)) {
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
  unsigned i;
  for (unsigned n = ready.count; n-- && (i = ring_pop(&ready)) != NO_PLACE;) {
    sessions[i].in_ready = 0;
    if (session_alive(i) && sessions[i].rec->waiting && sessions[i].rec->nqueued)
      answer(i);
  }
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
    gifts_from(place_cnode(i));
    return K_ERR_OK;
  }
  if ((err = sys_reply_save(place_cnode(i), C_REPLY)))
    return err;
  *saved = 1;
  r->waiting = 1;
  deadline_set(i, m->w[0] == NET_WAIT_FOREVER ? ~0ull : sys_time_ns() + m->w[0] * 1000000ull);
  return K_ERR_OK;
}
