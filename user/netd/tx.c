/* netd: sending from gifted frames (see netd.h). netd never waits for
 * the device: a send is posted and answered at once, its frames pinned in
 * netd's TXF slots until the device is done with the send; then they go,
 * unpinned, to the slots of the session's CNode they were bound for (the
 * ones that come back to its C_KEPT ring, the others to its pool), and the
 * ones that come back go with a later answer. A send the device has no
 * room for waits with its frames already there, unpinned. */
#include "netd.h"
#include <lib/string.h>

#define HOLD_CHECK_NS 10000000ull
#define NO_OWNER 0xffff
#define NO_TXF 0xffff

int tx_held;

/* Posted sends, in netd's memory: each has a packet on the device, so
 * there are at most as many as the ring has entries. They outlive their
 * session: its frames go back to their memory when the device is done. */
struct tx_send {
  u32 session, generation;
  u16 pkts_left, first, nframes; /* first: its first TXF slot; the others follow in txf_next */
  u8 batch, used;
};
static struct tx_send tx_sends[VIRTQ_SIZE];
static u16 tx_owner[VIRTQ_SIZE]; /* transmit head -> its send, NO_OWNER */
static u16 send_free[VIRTQ_SIZE], send_nfree;
/* Per PIN_SLOT index holding a frame of a send: the next of its send, and
 * the slot of the session's CNode it goes to. */
static u16 txf_next[PIN_MAX], txf_dest[PIN_MAX];
static u64 txf_phys[PIN_MAX];
static u16 pin_free[PIN_MAX], pin_nfree;
static unsigned txf_used; /* PIN_SLOTs held by sends: at most TXF_MAX */
static unsigned busy; /* sessions with packets on the device */
static int refill_due; /* a sent frame went straight to a receive entry */

void tx_init(void) {
  for (unsigned h = 0; h < VIRTQ_SIZE; h++) {
    tx_owner[h] = NO_OWNER;
    send_free[send_nfree++] = (u16)h;
  }
  for (unsigned t = 0; t < PIN_MAX; t++)
    pin_free[pin_nfree++] = (u16)(PIN_MAX - 1 - t);
}

unsigned pin_take(void) { return pin_free[--pin_nfree]; }

void pin_give(unsigned t) { pin_free[pin_nfree++] = (u16)t; }

static void txf_give(u16 t) {
  pin_give(t);
  txf_used--;
}

static void ring_count(unsigned i, int delta) {
  struct session *s = &sessions[i];
  busy -= s->on_ring != 0;
  s->on_ring = (u16)(s->on_ring + delta);
  busy += s->on_ring != 0;
}

/* Sends whose frames are all back (or gone) leave, oldest first. */
static void pop_finished(struct record *r) {
  while (r->blen) {
    struct tx_batch *b = &r->b[r->bhead];
    if (!b->done || b->returned < b->keep)
      break;
    r->tx_used = (u16)(r->tx_used - b->keep);
    r->bhead = (u8)((r->bhead + 1) % NET_TX_BATCHES);
    r->blen--;
  }
}

static void collect_answer(unsigned i);
static void schedule(void);

static unsigned kept_place(const struct tx_batch *b, unsigned f) { return (b->first + f) % NET_TX_FRAMES; }

/* Send bi of live session i is over: its pool frames are spares (those
 * that reached their slot), its kept frames may be returned. */
static void batch_done(unsigned i, u8 bi) {
  struct record *r = sessions[i].rec;
  for (unsigned w = 0; w < NET_POOL / 64; w++)
    for (u64 bits = r->pool_sending[w]; bits; bits &= bits - 1) {
      unsigned j = w * 64 + (unsigned)__builtin_ctzll(bits);
      if (r->sending_batch[j] != bi)
        continue;
      r->pool_sending[w] &= ~(1ull << (j % 64));
      r->to_pool--;
      r->state[j] = SLOT_SPARE;
      r->spare[r->nspare++] = (u16)j;
    }
  spares_grew(i);
  r->b[bi].done = 1;
  pop_finished(r);
  if (r->collecting && r->b[bi].keep)
    collect_answer(i);
}

/* A frame bound for slot `dest` of live session i did not get there (its
 * owner took it back): a pool slot is free again. */
static void frame_lost(unsigned i, unsigned dest) {
  struct record *r = sessions[i].rec;
  if (dest >= C_KEPT) { /* a kept place stays empty: tx_offer passes over it */
    unsigned p = dest - C_KEPT;
    r->kept_missing[p / 64] |= 1ull << (p % 64);
    return;
  }
  unsigned j = dest - C_POOL;
  r->pool_sending[j / 64] &= ~(1ull << (j % 64));
  r->to_pool--;
  r->state[j] = SLOT_FREE;
}

/* The device is done with send x: its frames leave the TXF slots,
 * unpinned, for the slots they are bound for, or (their session went)
 * back to their memory (a pinned remain whose memory was revoked goes
 * now). */
static void send_complete(struct tx_send *x) {
  unsigned i = x->session;
  int alive = current_session(i, x->generation);
  int was = charge_to(alive ? (int)i : -1);
  for (u16 t = x->first, next; t != NO_TXF; t = next) {
    next = txf_next[t];
    unsigned j = txf_dest[t] - C_POOL;
    if (alive && j < NET_POOL && rx_take_pinned(i, j, t, txf_phys[t])) { /* the slot is the entry's now */
      struct record *r = sessions[i].rec;
      r->pool_sending[j / 64] &= ~(1ull << (j % 64));
      r->to_pool--;
      txf_used--;
      refill_due = 1;
      continue;
    }
    /* its session went, or its owner took it back (a remain, released now) */
    if (!pin_release(t, alive ? place_cnode(i) : 0, txf_dest[t]) && alive)
      frame_lost(i, txf_dest[t]);
    txf_give(t);
  }
  x->used = 0;
  send_free[send_nfree++] = (u16)(x - tx_sends);
  if (alive) {
    sessions[i].txf = (u16)(sessions[i].txf - x->nframes);
    batch_done(i, x->batch);
  } else {
    total.gone_waiting++;
  }
  charge_to(was);
}

/* Transmit completions: an echo's receive entry goes back to the device,
 * a client's send is done with its last packet; returns how many of
 * clients' packets completed. */
unsigned tx_harvest(void) {
  u32 len;
  int head;
  unsigned done = 0;
  while ((head = virtq_get(&txq, &len)) != -1) {
    if (head >= 0 && echo_of_head[head] >= 0) {
      rx[echo_of_head[head]].state = RX_HOLD;
      echo_of_head[head] = -1;
      continue;
    }
    if (head < 0 || tx_owner[head] == NO_OWNER) {
      total.malformed++; /* the device named a chain netd did not post */
      continue;
    }
    struct tx_send *x = &tx_sends[tx_owner[head]];
    tx_owner[head] = NO_OWNER;
    if (sessions[x->session].used && sessions[x->session].generation == x->generation)
      ring_count(x->session, -1);
    done++;
    if (--x->pkts_left == 0)
      send_complete(x);
  }
  if (done && senders.count)
    schedule();
  if (refill_due && refill())
    virtio_kick(&dev, RXQ);
  refill_due = 0;
  return done;
}

u64 tx_word(unsigned i) {
  struct record *r = sessions[i].rec;
  u64 sending = 0, done = 0;
  for (unsigned k = 0; k < r->blen; k++) {
    const struct tx_batch *b = &r->b[(r->bhead + k) % NET_TX_BATCHES];
    if (b->done)
      done += b->keep - b->returned;
    else
      sending += b->keep;
  }
  return net_tx_word(sessions[i].on_ring, sending, done);
}

/* Frames offered with an answer: gifts from the kept places named in
 * place[] (gift_cnode: the session's CNode), oldest first; they count as
 * returned only once the answer went (tx_commit). A place whose frame the
 * client took back (kept_missing) is passed over and counts too. */
struct offer {
  u64 gifts, places;
  u8 place[NET_MAX_GIFTS];
};

static int missing(const struct record *r, unsigned p) { return r->kept_missing[p / 64] >> (p % 64) & 1; }

static void tx_offer(unsigned i, u64 room, struct offer *o) {
  struct record *r = sessions[i].rec;
  o->gifts = o->places = 0;
  if (room > K_IPC_MAX_GIFTS)
    room = K_IPC_MAX_GIFTS;
  for (unsigned k = 0; k < r->blen && o->gifts < room; k++) {
    const struct tx_batch *b = &r->b[(r->bhead + k) % NET_TX_BATCHES];
    if (!b->done)
      break; /* oldest first: a later send's frames wait behind this one's */
    for (unsigned f = b->returned; f < b->keep && o->gifts < room; f++) {
      unsigned p = kept_place(b, f);
      o->places++;
      if (missing(r, p)) {
        r->kept_missing[p / 64] &= ~(1ull << (p % 64));
        continue;
      }
      o->place[o->gifts] = (u8)p;
      buf->gifts[o->gifts++] = (u32)(C_KEPT + p);
    }
  }
}

static void tx_commit(unsigned i, u64 n) {
  struct record *r = sessions[i].rec;
  for (unsigned k = 0; k < r->blen && n; k++) {
    struct tx_batch *b = &r->b[(r->bhead + k) % NET_TX_BATCHES];
    u64 left = (u64)(b->keep - b->returned), take = left < n ? left : n;
    b->returned = (u16)(b->returned + take);
    n -= take;
  }
  pop_finished(r);
}

/* After a reply that offered o: an error may be the next receive's, so
 * the gifts went if none of their places holds a frame; else none went,
 * and the places the client emptied are passed over from now on. */
static void offer_settle(unsigned i, const struct offer *o, long err) {
  struct record *r = sessions[i].rec;
  if (err && o->gifts) {
    unsigned held = 0;
    for (u64 g = 0; g < o->gifts; g++)
      held += sys_cap_type(place_cnode(i), C_KEPT + o->place[g]).val != K_OBJ_NULL;
    if (held) {
      for (u64 g = 0; held < o->gifts && g < o->gifts; g++)
        if (sys_cap_type(place_cnode(i), C_KEPT + o->place[g]).val == K_OBJ_NULL)
          r->kept_missing[o->place[g] / 64] |= 1ull << (o->place[g] % 64);
      r->c.bad_requests++; /* no room for them, or one was taken back: they wait for the next answer */
      return;
    }
    if (err == K_ERR_EMPTY_SLOT)
      r->c.bad_requests++; /* every one of them was taken back: the places are passed over */
  }
  r->c.tx_returned += o->gifts;
  tx_commit(i, o->places);
}

/* The answer in hand offers frames: they are returned once it went. */
static struct {
  int active;
  unsigned session;
  u32 generation;
  struct offer o;
} offered;

void tx_replied(long err) {
  if (!offered.active)
    return;
  offered.active = 0;
  if (current_session(offered.session, offered.generation))
    offer_settle(offered.session, &offered.o, err);
}

static void offer(unsigned i, u64 room, struct server_answer *a) {
  tx_offer(i, room, &offered.o);
  a->gifts = offered.o.gifts;
  if (offered.o.gifts)
    gifts_from(place_cnode(i));
  if (offered.o.places) {
    offered.active = 1;
    offered.session = i;
    offered.generation = sessions[i].generation;
  }
}

/* A waiting NET_COLLECT gets what is done now. */
static void collect_answer(unsigned i) {
  struct record *r = sessions[i].rec;
  static struct offer o;
  tx_offer(i, r->collect_room, &o);
  u64 w = tx_word(i) - (o.places << 32);
  u64 was = gifts_from(place_cnode(i));
  long err = sys_reply_to(in_session(i, C_COLLECT), k_msg_info(0, 4, 0, o.gifts), K_ERR_OK, o.gifts, w, 0);
  gifts_from(was);
  r->collecting = 0;
  sys_cnode_delete(place_cnode(i), C_COLLECT);
  offer_settle(i, &o, err);
}

long collect_request(unsigned i, const struct msg_regs *m, struct server_answer *o) {
  struct record *r = sessions[i].rec;
  if (r->collecting)
    return K_ERR_SLOT_OCCUPIED; /* another thread of the client already waits */
  tx_harvest();
  u64 room = m->w[1];
  u64 w = tx_word(i);
  if (m->w[0] && !net_tx_done(w) && net_tx_sending(w) && room) {
    long err = sys_reply_save(place_cnode(i), C_COLLECT);
    if (err)
      return err;
    r->collecting = 1;
    r->collect_room = (u16)(room > NET_TX_FRAMES ? NET_TX_FRAMES : room);
    o->saved = 1;
    return K_ERR_OK;
  }
  offer(i, room, o);
  o->w1 = o->gifts;
  o->w2 = tx_word(i) - (offered.o.places << 32); /* after this answer */
  return K_ERR_OK;
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

/* Whether session i may put npkts more packets, in nframes frames, on the
 * device: the ring and netd's TXF slots have room, and its share of them
 * is all when it has nothing there, else 1 / (sessions with packets
 * there, itself included). */
static int within_share(unsigned i, u32 npkts, u32 nframes) {
  if (npkts > txq.num_free || nframes > TXF_MAX - txf_used)
    return 0;
  const struct session *s = &sessions[i];
  if (s->on_ring == 0)
    return 1;
  return s->on_ring + npkts <= NET_TX_SHARE / busy && s->txf + nframes <= TXF_MAX / busy;
}

/* Puts send x's packets on the device (room was checked); phys[f] is
 * where frame f is. */
static void post_send(unsigned i, struct tx_send *x, const u32 *seg, u32 npkts, const u64 *phys) {
  struct record *r = sessions[i].rec;
  for (u32 p = 0, k = 0; p < npkts; p++) {
    struct virtq_buf chain[TX_TABLE_ENTRIES];
    unsigned c = 0;
    chain[c++] = (struct virtq_buf){vnet_zero_phys, VNET_HDR, 0};
    do {
      chain[c++] = (struct virtq_buf){phys[net_seg_frame(seg[k])] + net_seg_offset(seg[k]), net_seg_len(seg[k]), 0};
    } while (!net_seg_end(seg[k++]));
    int head = txq.free_head;
    if (virtq_add_indirect(&txq, tx_tables[head], tx_tables_phys[head], chain, c) < 0)
      break; /* cannot happen: the ring's room was checked */
    tx_owner[head] = (u16)(x - tx_sends);
    x->pkts_left++;
    ring_count(i, 1);
  }
  u64 held = (u64)(VIRTQ_SIZE - txq.num_free);
  if (held > total.tx_most_in_flight)
    total.tx_most_in_flight = held;
  if (r->held) { /* NET_HOLD: the device hears of it when the client says go */
    r->held = 0;
    tx_held = 1;
  }
  if (!tx_held)
    virtio_kick(&dev, TXQ);
  if (!x->pkts_left)
    send_complete(x);
}

static struct tx_send *send_alloc(unsigned i, u8 bi, u32 nframes) {
  struct tx_send *x = &tx_sends[send_free[--send_nfree]];
  *x = (struct tx_send){i, sessions[i].generation, 0, NO_TXF, (u16)nframes, bi, 1};
  sessions[i].txf = (u16)(sessions[i].txf + nframes);
  return x;
}

/* PIN_SLOT t (the caller took it) holds the next frame of send x, bound
 * for slot dest of its session's CNode afterwards. */
static u16 txf_link(struct tx_send *x, u16 *last, unsigned dest, u16 t) {
  txf_dest[t] = (u16)dest;
  txf_next[t] = NO_TXF;
  if (*last == NO_TXF)
    x->first = t;
  else
    txf_next[*last] = t;
  *last = t;
  return t;
}

static u16 txf_take(struct tx_send *x, u16 *last, unsigned dest) {
  txf_used++;
  return txf_link(x, last, dest, (u16)pin_take());
}

/* n PIN_SLOTs for the frames of a send, in increasing order (as
 * DMA_PIN_RANGE wants the slots it moves them to): their indices in t[],
 * the slots in slot[]. */
static void txf_take_sorted(u32 n, u16 *t, u64 *slot) {
  for (u32 f = 0; f < n; f++) {
    u16 v = (u16)pin_take();
    u32 k = f;
    for (; k > 0 && t[k - 1] > v; k--)
      t[k] = t[k - 1];
    t[k] = v;
  }
  for (u32 f = 0; f < n; f++)
    slot[f] = pin_slot(t[f]);
  txf_used += n;
}

/* Where frame f of send b goes once the device is done with it. */
static unsigned frame_dest(const struct record *r, const struct tx_batch *b, u32 f, const u8 *pool) {
  return f < b->keep ? C_KEPT + kept_place(b, f) : C_POOL + pool[f];
}

/* A waiting send goes to the device: its frames from the slots they wait
 * in to TXF slots, pinned. A frame its owner took back meanwhile fails
 * the send (WRONG_TYPE to the caller): the others stay where they are. */
static long post_waiting(unsigned i) {
  struct record *r = sessions[i].rec;
  struct tx_batch *b = &r->b[r->wait_batch];
  static u64 phys[NET_MAX_GIFTS];
  struct tx_send *x = send_alloc(i, r->wait_batch, b->frames);
  u16 last = NO_TXF;
  long err = K_ERR_OK;
  for (u32 f = 0; f < b->frames && !err; f++) {
    unsigned dest = frame_dest(r, b, f, r->wait_pool);
    u16 t = txf_take(x, &last, dest);
    struct sysret pin = {.err = sys_cnode_move(env.cnode, pin_slot(t), place_cnode(i), dest)};
    if (!pin.err && (pin = sys_dma_pin(K_BI_SLOT_DMA, pin_slot(t))).err)
      sys_cnode_move(place_cnode(i), dest, env.cnode, pin_slot(t));
    phys[f] = txf_phys[t] = pin.val;
    err = pin.err;
  }
  if (err) { /* back where they waited; the send is over */
    for (u16 t = x->first, next; t != NO_TXF; t = next) {
      next = txf_next[t];
      if (sys_cap_type(env.cnode, pin_slot(t)).val != K_OBJ_NULL) {
        sys_dma_unpin(K_BI_SLOT_DMA, pin_slot(t));
        sys_cnode_move(place_cnode(i), txf_dest[t], env.cnode, pin_slot(t));
      }
      txf_give(t);
    }
    x->used = 0;
    send_free[send_nfree++] = (u16)(x - tx_sends);
    sessions[i].txf = (u16)(sessions[i].txf - b->frames);
    for (u32 f = b->keep; f < b->frames; f++) /* frames that went: their pool slots are free */
      if (sys_cap_type(place_cnode(i), C_POOL + r->wait_pool[f]).val == K_OBJ_NULL)
        frame_lost(i, C_POOL + r->wait_pool[f]);
    r->c.bad_segments++;
    batch_done(i, r->wait_batch);
    return K_ERR_WRONG_TYPE;
  }
  post_send(i, x, r->wait_seg, r->wait_npkts, phys);
  return K_ERR_OK;
}

/* A waiting send went to the device (or failed): its caller's answer. */
static void answer_send(unsigned i, long result) {
  struct record *r = sessions[i].rec;
  static struct offer o;
  tx_offer(i, r->wait_room, &o);
  u64 was = gifts_from(place_cnode(i));
  long err = sys_reply_to(in_session(i, C_SEND), k_msg_info(0, 4, 0, o.gifts), (u64)result,
                          result ? 0 : r->wait_npkts, o.gifts, tx_word(i) - (o.places << 32));
  gifts_from(was);
  sys_cnode_delete(place_cnode(i), C_SEND);
  offer_settle(i, &o, err);
}

/* Posts waiting sends, first come first served, while the device has
 * room; one past its share goes to the back. */
static void schedule(void) {
  for (unsigned n = senders.count; n--;) {
    unsigned i = senders.at[senders.head];
    if (!session_alive(i) || !sessions[i].rec->send_waiting) {
      ring_pop(&senders);
      sessions[i].in_senders = 0;
      continue;
    }
    struct record *r = sessions[i].rec;
    u32 nframes = r->b[r->wait_batch].frames;
    if (r->wait_npkts > txq.num_free || nframes > TXF_MAX - txf_used)
      return; /* no room for the first: those behind it wait too */
    ring_pop(&senders);
    if (!within_share(i, r->wait_npkts, nframes)) {
      ring_push(&senders, i);
      continue;
    }
    sessions[i].in_senders = 0;
    r->send_waiting = 0;
    int was = charge_to((int)i);
    answer_send(i, post_waiting(i));
    charge_to(was);
  }
}

/* Accepts the packets: posted at once when the device has room for them
 * (within the session's share), else the caller waits; see net.h. */
long send_request(unsigned i, const struct msg_regs *m, struct server_answer *o) {
  struct session *s = &sessions[i];
  struct record *r = s->rec;
  u32 nseg = net_send_nseg(m->w[0]), keep = net_send_keep(m->w[0]), n = (u32)k_msg_gifts(m->info);
  u32 seg[NET_MAX_SEGS], npkts = 0;
  if (nseg > NET_MAX_SEGS || 1 + (nseg + 1) / 2 > k_msg_words(m->info)) {
    r->c.bad_segments++;
    return K_ERR_RANGE;
  }
  for (u32 k = 0; k < nseg; k++) { /* words 1-3 came in registers */
    u32 w = 1 + k / 2;
    seg[k] = (u32)((w < K_IPC_REG_WORDS ? m->w[w] : buf->words[w]) >> (32 * (k % 2)));
  }
  tx_harvest(); /* what the device is done with: room, and frames to return */
  long err = check_segments(seg, nseg, n, &npkts);
  if (!err && (keep > n || npkts > NET_TX_SHARE || frames_held(i) + (n - keep) > NET_POOL))
    err = K_ERR_RANGE;
  if (err) {
    r->c.bad_segments++;
    return err;
  }
  if (r->tx_used + keep > NET_TX_FRAMES || r->blen == NET_TX_BATCHES || r->send_waiting) {
    r->c.tx_full++; /* it holds too much already: collect first */
    return K_ERR_WOULD_BLOCK;
  }
  if (senders.count)
    schedule(); /* those who wait go first */
  int wait = senders.count || !within_share(i, npkts, n);
  static u64 phys[NET_MAX_GIFTS], slot[NET_MAX_GIFTS];
  static u16 t[NET_MAX_GIFTS];
  if (wait) { /* 4 KiB frames only, all or none: checked now, pinned when posted */
    err = sys_dma_pin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n, phys).err;
    if (!err && sys_dma_unpin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n).err)
      for (u32 f = 0; f < n; f++)
        sys_dma_unpin(K_BI_SLOT_DMA, SERVER_GIFT_SLOT + f);
    if (!err)
      err = sys_reply_save(place_cnode(i), C_SEND);
  } else { /* pinned, and moved to the slots where they wait for the device, in one call */
    txf_take_sorted(n, t, slot);
    err = sys_dma_pin_range_to(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n, phys, slot).err;
    if (err) {
      for (u32 f = 0; f < n; f++)
        pin_give(t[f]);
      txf_used -= n;
    }
  }
  if (err)
    return err;
  u8 bi = (u8)((r->bhead + r->blen) % NET_TX_BATCHES);
  struct tx_batch *b = &r->b[bi];
  *b = (struct tx_batch){0, r->tx_next, (u16)n, (u16)keep, 0};
  r->blen++;
  r->tx_used = (u16)(r->tx_used + keep);
  r->tx_next = (u16)((r->tx_next + keep) % NET_TX_FRAMES);
  for (u32 f = keep; f < n; f++) {
    int j = free_pool_slot(r); /* there is room: checked above */
    r->state[j] = SLOT_SENDING;
    r->pool_sending[j / 64] |= 1ull << (j % 64);
    r->sending_batch[j] = bi;
    r->wait_pool[f] = (u8)j;
  }
  r->to_pool = (u16)(r->to_pool + (n - keep));
  u64 bytes = 0;
  for (u32 k = 0; k < nseg; k++)
    bytes += net_seg_len(seg[k]);
  r->c.tx_packets += npkts;
  r->c.tx_bytes += bytes;
  if (wait) { /* the frames wait where they go afterwards; the caller hears when the packets are on the device */
    for (u32 f = 0; f < n; f++)
      sys_cnode_move(place_cnode(i), frame_dest(r, b, f, r->wait_pool), env.cnode, SERVER_GIFT_SLOT + f);
    memcpy(r->wait_seg, seg, nseg * sizeof seg[0]);
    r->wait_npkts = (u16)npkts;
    r->wait_room = (u16)net_send_room_of(m->w[0]);
    r->wait_batch = bi;
    r->send_waiting = 1;
    if (!s->in_senders) {
      s->in_senders = 1;
      ring_push(&senders, i);
    }
    r->c.tx_waited++;
    o->saved = 1;
    return K_ERR_OK;
  }
  struct tx_send *x = send_alloc(i, bi, n);
  u16 last = NO_TXF;
  for (u32 f = 0; f < n; f++)
    txf_phys[txf_link(x, &last, frame_dest(r, b, f, r->wait_pool), t[f])] = phys[f];
  post_send(i, x, seg, npkts, phys);
  o->w1 = npkts;
  offer(i, net_send_room_of(m->w[0]), o);
  o->w2 = o->gifts;
  o->w3 = tx_word(i) - (offered.o.places << 32); /* after this answer */
  return K_ERR_OK;
}

/* The hold ends when its client says go, or when a session with packets
 * on the device went (netd's timer looks every HOLD_CHECK_NS). */
void tx_unhold(u64 bits) {
  if (!tx_held)
    return;
  int go = (bits & HOLD_BIT) != 0;
  for (unsigned x = 0; !go && x < VIRTQ_SIZE; x++)
    go = tx_sends[x].used && !current_session(tx_sends[x].session, tx_sends[x].generation);
  if (go) {
    tx_held = 0;
    virtio_kick(&dev, TXQ);
  }
}

u64 tx_hold_deadline(void) { return tx_held ? sys_time_ns() + HOLD_CHECK_NS : ~0ull; }

/* Session i is over: it has no share of the device any more (its sends
 * there finish without it). Only netd's memory is touched: the session's
 * may be gone. */
void tx_session_gone(unsigned i) {
  ring_count(i, -(int)sessions[i].on_ring);
  sessions[i].txf = 0;
}

/* NET_CLOSE: the frames the device is done with go back with the answer,
 * through the receive slots from SERVER_GIFT_SLOT + first on; a waiting
 * send (its frames go with the session's memory) and collector hear that
 * the session is closed. */
u64 tx_close(unsigned i, u64 first) {
  struct record *r = sessions[i].rec;
  u64 n = 0;
  if (r->send_waiting) {
    r->send_waiting = 0;
    sys_reply_to(in_session(i, C_SEND), k_msg_info(0, 4, 0, 0), K_ERR_BAD_STATE, 0, 0, 0);
  }
  if (r->collecting) {
    r->collecting = 0;
    sys_reply_to(in_session(i, C_COLLECT), k_msg_info(0, 4, 0, 0), K_ERR_BAD_STATE, 0, 0, 0);
  }
  for (unsigned k = 0; k < r->blen; k++) {
    struct tx_batch *b = &r->b[(r->bhead + k) % NET_TX_BATCHES];
    if (!b->done)
      continue;
    for (unsigned f = b->returned; f < b->keep; f++)
      if (!missing(r, kept_place(b, f)) &&
          !sys_cnode_move(env.cnode, SERVER_GIFT_SLOT + first + n, place_cnode(i), C_KEPT + kept_place(b, f)))
        n++;
    b->returned = b->keep;
  }
  r->c.tx_returned += n;
  pop_finished(r);
  return n;
}
