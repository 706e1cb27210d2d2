/* netd: sending from gifted frames (see netd.h). netd never waits for
 * the device: a send is posted and answered at once; its frames stay
 * pinned in netd's own slots (the ones that come back in the session's
 * TX_SLOT ring, the others in the pool slots they will join) until the
 * device is done, and the ones that come back go with a later answer. */
#include "netd.h"
#include <lib/string.h>

#define HOLD_CHECK_NS 10000000ull
#define NO_OWNER 0xffff

int tx_held;
static u16 tx_owner[VIRTQ_SIZE]; /* transmit head -> session << 8 | its send, NO_OWNER */

void tx_init(void) {
  for (unsigned h = 0; h < VIRTQ_SIZE; h++)
    tx_owner[h] = NO_OWNER;
}

static cptr_t tx_slot(unsigned i, unsigned place) { return TX_SLOT + i * TX_STRIDE + place % TX_STRIDE; }

static void clear_sending(struct session *s, unsigned j) { s->pool_sending[j / 64] &= ~(1ull << (j % 64)); }

/* Sends whose frames are all back (or gone) leave, oldest first. */
static void pop_finished(struct session *s) {
  while (s->blen) {
    struct tx_batch *b = &s->b[s->bhead];
    if (!b->done || b->returned < b->keep)
      break;
    s->tx_used = (u16)(s->tx_used - b->keep);
    s->bhead = (u8)((s->bhead + 1) % NET_TX_BATCHES);
    s->blen--;
  }
}

static void collect_answer(unsigned i);
static int any_waiting(void);
static void schedule(void);
static int within_share(const struct session *s, u32 npkts);

static int current(unsigned i, const struct tx_batch *b) {
  return sessions[i].used && sessions[i].generation == b->generation && session_alive(i);
}

/* A send's kept frames are a run of the session's ring (two pieces when
 * it wraps): one unpin each, frame by frame only if a piece is refused. */
static void unpin_kept(unsigned i, const struct tx_batch *b) {
  unsigned start = b->first % TX_STRIDE, n1 = b->keep < TX_STRIDE - start ? b->keep : TX_STRIDE - start;
  unsigned piece[2][2] = {{start, n1}, {0, b->keep - n1}};
  for (unsigned p = 0; p < 2; p++) {
    if (!piece[p][1] || !sys_dma_unpin_range(K_BI_SLOT_DMA, tx_slot(i, piece[p][0]), piece[p][1]).err)
      continue;
    for (unsigned f = 0; f < piece[p][1]; f++)
      sys_dma_unpin(K_BI_SLOT_DMA, tx_slot(i, piece[p][0] + f));
  }
}

/* The device is done with send b of session i: frames [keep, n) join the
 * pool (pinned, as pool frames are), frames [0, keep) wait, unpinned, to be
 * returned. A session that went gets nothing: its frames are released (a
 * pinned remain whose memory was revoked goes now) and deleted, so they go
 * back to their memory only now. */
static void send_done(unsigned i, struct tx_batch *b) {
  struct session *s = &sessions[i];
  int alive = current(i, b);
  int was = charge_to(alive ? (int)i : -1);
  u8 bi = (u8)(b - s->b);
  for (unsigned w = 0; w < NET_POOL / 64; w++)
    for (u64 bits = s->pool_sending[w]; bits; bits &= bits - 1) {
      unsigned j = w * 64 + (unsigned)__builtin_ctzll(bits);
      if (s->sending_batch[j] != bi)
        continue;
      clear_sending(s, j);
      if (alive) {
        struct record *r = s->rec;
        r->state[j] = SLOT_SPARE;
        r->spare[r->nspare++] = (u16)j;
      } else {
        sys_dma_unpin(K_BI_SLOT_DMA, slot_of(i, S_POOL + j));
        sys_cnode_delete(env.cnode, slot_of(i, S_POOL + j));
      }
    }
  unpin_kept(i, b);
  for (unsigned f = 0; !alive && f < b->keep; f++)
    sys_cnode_delete(env.cnode, tx_slot(i, b->first + f));
  s->to_pool = (u16)(s->to_pool - (b->frames - b->keep));
  b->done = 1;
  if (!alive) {
    b->returned = b->keep;
    total.gone_waiting++;
  }
  pop_finished(s);
  if (alive && s->collecting && b->keep)
    collect_answer(i);
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
    unsigned i = tx_owner[head] >> 8;
    struct tx_batch *b = &sessions[i].b[tx_owner[head] & 0xff];
    tx_owner[head] = NO_OWNER;
    sessions[i].on_ring--;
    done++;
    if (--b->pkts_left == 0)
      send_done(i, b);
  }
  if (done && any_waiting())
    schedule();
  return done;
}

u64 tx_word(unsigned i) {
  struct session *s = &sessions[i];
  u64 sending = 0, done = 0;
  for (unsigned k = 0; k < s->blen; k++) {
    const struct tx_batch *b = &s->b[(s->bhead + k) % NET_TX_BATCHES];
    if (b->done)
      done += b->keep - b->returned;
    else
      sending += b->keep;
  }
  return net_tx_word(s->on_ring, sending, done);
}

/* Names, as gifts from buf->gifts[at] on, up to `room` frames the device is
 * done with, oldest first; they count as returned only once the answer
 * that carries them went (tx_commit). */
static u64 tx_offer(unsigned i, u64 room, u64 at) {
  struct session *s = &sessions[i];
  u64 n = 0;
  for (unsigned k = 0; k < s->blen && n < room; k++) {
    const struct tx_batch *b = &s->b[(s->bhead + k) % NET_TX_BATCHES];
    if (!b->done)
      break; /* oldest first: a later send's frames wait behind this one's */
    for (unsigned f = b->returned; f < b->keep && n < room; f++)
      buf->gifts[at + n++] = (u32)tx_slot(i, b->first + f);
  }
  return n;
}

static void tx_commit(unsigned i, u64 n) {
  struct session *s = &sessions[i];
  s->rec->c.tx_returned += n;
  for (unsigned k = 0; k < s->blen && n; k++) {
    struct tx_batch *b = &s->b[(s->bhead + k) % NET_TX_BATCHES];
    u64 left = (u64)(b->keep - b->returned), take = left < n ? left : n;
    b->returned = (u16)(b->returned + take);
    n -= take;
  }
  pop_finished(s);
}

/* The answer in hand offers frames: they are returned once it went. */
static struct {
  int active;
  unsigned session;
  u8 generation;
  u64 n;
  cptr_t first;
} offered;

void tx_replied(long err) {
  if (!offered.active)
    return;
  offered.active = 0;
  unsigned i = offered.session;
  if (!current(i, &(struct tx_batch){.generation = offered.generation}))
    return;
  /* An error may be the next receive's: the gifts went if their slot is empty. */
  if (err && sys_cap_type(env.cnode, offered.first).val != K_OBJ_NULL) {
    sessions[i].rec->c.bad_requests++; /* no room for them: they wait for the next answer */
    return;
  }
  tx_commit(i, offered.n);
}

static void offer(unsigned i, u64 room, struct server_answer *o) {
  u64 n = tx_offer(i, room > K_IPC_MAX_GIFTS ? K_IPC_MAX_GIFTS : room, 0);
  o->gifts = n;
  if (n)
    offered = (typeof(offered)){1, i, sessions[i].generation, n, buf->gifts[0]};
}

/* A waiting NET_COLLECT gets what is done now. */
static void collect_answer(unsigned i) {
  struct session *s = &sessions[i];
  u64 n = tx_offer(i, s->collect_room, 0);
  u64 w = tx_word(i) - (n << 32);
  cptr_t first = n ? buf->gifts[0] : 0;
  long err = sys_reply_to(slot_of(i, S_COLLECT), k_msg_info(0, 4, 0, n), K_ERR_OK, n, w, 0);
  s->collecting = 0;
  sys_cnode_delete(env.cnode, slot_of(i, S_COLLECT));
  if (n && (!err || sys_cap_type(env.cnode, first).val == K_OBJ_NULL))
    tx_commit(i, n);
}

long collect_request(unsigned i, const struct msg_regs *m, struct server_answer *o) {
  struct session *s = &sessions[i];
  if (s->collecting)
    return K_ERR_SLOT_OCCUPIED; /* another thread of the client already waits */
  tx_harvest();
  u64 room = m->w[1];
  u64 w = tx_word(i);
  if (m->w[0] && !net_tx_done(w) && net_tx_sending(w) && room) {
    long err = sys_reply_save(env.cnode, slot_of(i, S_COLLECT));
    if (err)
      return err;
    s->collecting = 1;
    s->collect_room = (u16)(room > NET_TX_FRAMES ? NET_TX_FRAMES : room);
    o->saved = 1;
    return K_ERR_OK;
  }
  offer(i, room, o);
  o->w1 = o->gifts;
  o->w2 = tx_word(i) - (o->gifts << 32); /* after this answer */
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

/* Whether session s may put npkts more packets on the device: its share
 * is all of NET_TX_SHARE when it has none there or nobody else has, and
 * NET_TX_SHARE / (sessions with packets there, itself included) else. */
static int within_share(const struct session *s, u32 npkts) {
  if (npkts > txq.num_free)
    return 0;
  if (s->on_ring == 0)
    return 1;
  unsigned busy = 1;
  for (unsigned j = 0; j < NETD_MAX_SESSIONS; j++)
    busy += &sessions[j] != s && sessions[j].on_ring;
  return s->on_ring + npkts <= NET_TX_SHARE / busy;
}

/* Puts send b's packets on the device (room was checked). */
static void post_send(unsigned i, u8 bi, const u32 *seg, u32 npkts, const u64 *where) {
  struct session *s = &sessions[i];
  struct tx_batch *b = &s->b[bi];
  for (u32 p = 0, k = 0; p < npkts; p++) {
    struct virtq_buf chain[TX_TABLE_ENTRIES];
    unsigned c = 0;
    chain[c++] = (struct virtq_buf){vnet_zero_phys, VNET_HDR, 0};
    do {
      chain[c++] = (struct virtq_buf){where[net_seg_frame(seg[k])] + net_seg_offset(seg[k]), net_seg_len(seg[k]), 0};
    } while (!net_seg_end(seg[k++]));
    int head = txq.free_head;
    if (virtq_add_indirect(&txq, tx_tables[head], tx_tables_phys[head], chain, c) < 0)
      break; /* cannot happen: the ring's room was checked */
    tx_owner[head] = (u16)(i << 8 | bi);
    b->pkts_left++;
    s->on_ring++;
  }
  u64 held = (u64)(VIRTQ_SIZE - txq.num_free);
  if (held > total.tx_most_in_flight)
    total.tx_most_in_flight = held;
  if (s->held) { /* NET_HOLD: the device hears of it when the client says go */
    s->held = 0;
    tx_held = 1;
  }
  if (!tx_held)
    virtio_kick(&dev, TXQ);
  if (!b->pkts_left)
    send_done(i, b);
}

/* Sends wait, their callers kept, while the device has no room for them
 * (or their session's share of it is taken). */
static int any_waiting(void) {
  for (unsigned j = 0; j < NETD_MAX_SESSIONS; j++)
    if (sessions[j].send_waiting)
      return 1;
  return 0;
}

/* A waiting send went to the device: its caller's answer. */
static void answer_send(unsigned i) {
  struct session *s = &sessions[i];
  u64 n = tx_offer(i, s->wait_room, 0);
  cptr_t first = n ? buf->gifts[0] : 0;
  long err = sys_reply_to(slot_of(i, S_SEND), k_msg_info(0, 4, 0, n), K_ERR_OK, s->wait_npkts, n,
                          tx_word(i) - (n << 32));
  sys_cnode_delete(env.cnode, slot_of(i, S_SEND));
  if (n && (!err || sys_cap_type(env.cnode, first).val == K_OBJ_NULL))
    tx_commit(i, n);
}

/* Posts waiting sends, round robin, while the device has room. */
static void schedule(void) {
  static unsigned next;
  for (unsigned k = 0; k < NETD_MAX_SESSIONS; k++) {
    unsigned i = (next + k) % NETD_MAX_SESSIONS;
    struct session *s = &sessions[i];
    if (!s->send_waiting || !within_share(s, s->wait_npkts))
      continue;
    s->send_waiting = 0;
    next = i + 1;
    int was = charge_to((int)i);
    post_send(i, s->wait_batch, s->wait_seg, s->wait_npkts, s->wait_phys);
    answer_send(i);
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
  if (s->tx_used + keep > TX_STRIDE || s->blen == NET_TX_BATCHES || s->send_waiting) {
    r->c.tx_full++; /* it holds too much already: collect first */
    return K_ERR_WOULD_BLOCK;
  }
  int wait = any_waiting() || !within_share(s, npkts);
  if (wait && (err = sys_reply_save(env.cnode, slot_of(i, S_SEND))))
    return err;
  static u64 phys[NET_MAX_GIFTS];
  u64 *where = wait ? s->wait_phys : phys;
  err = sys_dma_pin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n, where).err; /* 4 KiB frames only, all or none */
  if (err) {
    if (wait) /* the caller is answered with the error at once */
      sys_reply_to(slot_of(i, S_SEND), k_msg_info(0, 4, 0, 0), (u64)err, 0, 0, 0),
          sys_cnode_delete(env.cnode, slot_of(i, S_SEND));
    return err;
  }
  u8 bi = (u8)((s->bhead + s->blen) % NET_TX_BATCHES);
  struct tx_batch *b = &s->b[bi];
  *b = (struct tx_batch){s->generation, 0, s->tx_next, (u16)n, (u16)keep, 0, 0};
  s->blen++;
  s->tx_used = (u16)(s->tx_used + keep);
  s->tx_next = (u16)((s->tx_next + keep) % TX_STRIDE);
  for (u32 f = 0; f < n; f++) {
    if (f < keep) {
      sys_cnode_move(env.cnode, tx_slot(i, b->first + f), env.cnode, SERVER_GIFT_SLOT + f);
      continue;
    }
    int j = free_pool_slot(r); /* there is room: checked above */
    sys_cnode_move(env.cnode, slot_of(i, S_POOL + (unsigned)j), env.cnode, SERVER_GIFT_SLOT + f);
    r->state[j] = SLOT_SENDING;
    r->phys[j] = where[f];
    s->pool_sending[j / 64] |= 1ull << (j % 64);
    s->sending_batch[j] = bi;
  }
  s->to_pool = (u16)(s->to_pool + (n - keep));
  u64 bytes = 0;
  for (u32 k = 0; k < nseg; k++)
    bytes += net_seg_len(seg[k]);
  r->c.tx_packets += npkts;
  r->c.tx_bytes += bytes;
  if (wait) { /* the frames are netd's now; the caller hears when the packets are on the device */
    memcpy(s->wait_seg, seg, nseg * sizeof seg[0]);
    s->wait_npkts = (u16)npkts;
    s->wait_room = (u16)net_send_room_of(m->w[0]);
    s->wait_batch = bi;
    s->send_waiting = 1;
    r->c.tx_waited++;
    o->saved = 1;
    return K_ERR_OK;
  }
  post_send(i, bi, seg, npkts, where);
  o->w1 = npkts;
  offer(i, net_send_room_of(m->w[0]), o);
  o->w2 = o->gifts;
  o->w3 = tx_word(i) - (o->gifts << 32); /* after this answer */
  return K_ERR_OK;
}

/* The hold ends when its client says go, or when a session with packets
 * on the device went (netd's timer looks every HOLD_CHECK_NS). */
void tx_unhold(u64 bits) {
  if (!tx_held)
    return;
  int go = (bits & HOLD_BIT) != 0;
  for (unsigned i = 0; !go && i < NETD_MAX_SESSIONS; i++)
    go = sessions[i].on_ring && !session_alive(i);
  if (go) {
    tx_held = 0;
    virtio_kick(&dev, TXQ);
  }
}

u64 tx_hold_deadline(void) { return tx_held ? sys_time_ns() + HOLD_CHECK_NS : ~0ull; }

/* Session i closed or its memory went: the frames the device is done with
 * and nobody collected are deleted (back to their memory), a waiting
 * collector hears so; frames still on the device go when it is done. */
void tx_session_gone(unsigned i) {
  struct session *s = &sessions[i];
  if (s->send_waiting) { /* never posted: its frames go now */
    s->send_waiting = 0;
    sys_reply_to(slot_of(i, S_SEND), k_msg_info(0, 4, 0, 0), K_ERR_BAD_STATE, 0, 0, 0);
    sys_cnode_delete(env.cnode, slot_of(i, S_SEND));
    send_done(i, &s->b[s->wait_batch]);
  }
  for (unsigned k = 0; k < s->blen; k++) {
    struct tx_batch *b = &s->b[(s->bhead + k) % NET_TX_BATCHES];
    if (!b->done)
      continue;
    for (unsigned f = b->returned; f < b->keep; f++)
      sys_cnode_delete(env.cnode, tx_slot(i, b->first + f));
    b->returned = b->keep;
  }
  pop_finished(s);
  if (s->collecting) {
    sys_reply_to(slot_of(i, S_COLLECT), k_msg_info(0, 4, 0, 0), K_ERR_BAD_STATE, 0, 0, 0);
    sys_cnode_delete(env.cnode, slot_of(i, S_COLLECT));
    s->collecting = 0;
  }
}

/* NET_CLOSE: the frames the device is done with go back with the answer,
 * through the receive slots from SERVER_GIFT_SLOT + first on. */
u64 tx_close(unsigned i, u64 first) {
  struct session *s = &sessions[i];
  u64 n = 0;
  for (unsigned k = 0; k < s->blen; k++) {
    struct tx_batch *b = &s->b[(s->bhead + k) % NET_TX_BATCHES];
    if (!b->done)
      continue;
    for (unsigned f = b->returned; f < b->keep; f++)
      sys_cnode_move(env.cnode, SERVER_GIFT_SLOT + first + n++, env.cnode, tx_slot(i, b->first + f));
    b->returned = b->keep;
  }
  s->rec->c.tx_returned += n;
  pop_finished(s);
  return n;
}
