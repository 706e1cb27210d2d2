/* A client's side of a netd session (see netdev.h and net.h). */
#include <netdev.h>
#include <env.h>
#include <server.h>
#include <lib/string.h>

#define HELD 1   /* the stack holds a packet in the page */
#define FRAME 2  /* a frame is in the page's slot (mapped there if HELD) */
#define BATCH 4  /* the frame is in the transmit batch being built */
#define STAGE_HALF 2048
#define RX_WINDOW_MAX 32
enum { ST_HERE, ST_BATCH, ST_OUT }; /* a staging place */

static u8 is_page_seg[NET_MAX_SEGS]; /* segment's frame field is a page ordinal */

long net_open(struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter, cptr_t *session) {
  return session_open(e, buf, netd, NET_OPEN, NET_DONATION_BITS, filter, session);
}

long net_open_sized(struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter, u32 bits, cptr_t *session) {
  if (bits < NET_DONATION_BITS || bits > NET_DONATION_MAX_BITS)
    return K_ERR_RANGE;
  return session_open(e, buf, netd, NET_OPEN, bits, filter, session);
}

long net_close(struct env *e, struct k_ipc_buffer *buf, cptr_t session) {
  buf->recv_cnode = e->cnode;
  buf->recv_slot = env_slot(e);
  buf->recv_count = 1 + NET_POOL + NET_TX_FRAMES;
  e->next_slot += NET_POOL + NET_TX_FRAMES; /* the pool's and the sent frames come back after the donation */
  buf->recv_window = 0;
  struct msg_regs r = sys_call(session, k_msg_info(NET_CLOSE, 0, 0, 0), 0, 0, 0, 0);
  return r.err ? r.err : (long)r.w[0];
}

static u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }

long netdev_open(struct netdev *d, struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter,
                 unsigned frames) {
  return netdev_open_sized(d, e, buf, netd, filter, frames, NET_DONATION_BITS);
}

long netdev_open_sized(struct netdev *d, struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter,
                       unsigned frames, u32 donation_bits) {
  memset(d, 0, sizeof *d);
  d->e = e;
  d->buf = buf;
  if (frames > NET_POOL)
    return K_ERR_RANGE;
  long err = net_open_sized(e, buf, netd, filter, donation_bits, &d->session);
  if (err)
    return err;
  d->rx_va = align_up(e->next_vaddr, K_LARGE_PAGE_SIZE);
  d->tx_va = d->rx_va + K_LARGE_PAGE_SIZE;
  e->next_vaddr = d->tx_va + K_LARGE_PAGE_SIZE;
  d->rx_slot = e->next_slot;
  d->tx_slot = d->rx_slot + NET_POOL;
  e->next_slot += NET_POOL + NETDEV_TX_STAGE;
  if (e->next_slot > e->end_slot)
    return K_ERR_RANGE;
  if ((err = env_prepare_tables(e, e->vspace, d->rx_va, NET_POOL * K_PAGE_SIZE)) ||
      (err = sys_retype(e->untyped, K_OBJ_FRAME_4K, 0, e->cnode, d->rx_slot, frames, 0)) ||
      (err = sys_retype(e->untyped, K_OBJ_FRAME_4K, 0, e->cnode, d->tx_slot, NETDEV_TX_STAGE, 0)))
    return err;
  for (unsigned p = 0; p < frames; p++)
    d->page[p] = FRAME;
  d->frames = frames;
  for (unsigned i = 0; i < NETDEV_TX_STAGE; i++)
    if ((err = env_map(e, e->vspace, d->tx_slot + i, d->tx_va + i * K_PAGE_SIZE, K_MAP_WRITE)))
      return err;
  struct msg_regs r = sys_call(d->session, k_msg_info(NET_INFO, 0, 0, 0), 0, 0, 0, 0);
  if (r.err || r.w[0])
    return r.err ? r.err : (long)r.w[0];
  net_mac_of(r.w[1], d->mac);
  return K_ERR_OK;
}

long netdev_close(struct netdev *d) { return net_close(d->e, d->buf, d->session); }

void netdev_page_free(struct netdev *d, int page) {
  if (page >= 0 && page < NET_POOL)
    d->page[page] &= (u8)~HELD;
}

/* The longest run of empty pages from the cursor on (up to RX_WINDOW_MAX). */
static unsigned window(struct netdev *d, unsigned *start) {
  unsigned best = 0, best_at = 0;
  for (unsigned n = 0; n < NET_POOL;) {
    unsigned p = (d->cursor + n) % NET_POOL, run = 0;
    while (run < RX_WINDOW_MAX && p + run < NET_POOL && d->page[p + run] == 0)
      run++;
    if (run > best) {
      best = run;
      best_at = p;
    }
    if (best == RX_WINDOW_MAX)
      break;
    n += run + 1;
  }
  *start = best_at;
  d->cursor = (best_at + best) % NET_POOL;
  return best;
}

/* After a failed request, which slots really hold a frame. */
static void resync(struct netdev *d) {
  for (unsigned p = 0; p < NET_POOL; p++) {
    struct k_cap_info ci;
    int has = !sys_cap_identify(d->e->cnode, d->rx_slot + p, &ci) && ci.type == K_OBJ_FRAME_4K;
    d->page[p] = (u8)((d->page[p] & ~FRAME) | (has ? FRAME : 0));
  }
}

long netdev_poll(struct netdev *d, u32 timeout_ms, void (*input)(void *ctx, const struct netdev_pkt *p),
                 void *ctx) {
  struct k_ipc_buffer *buf = d->buf;
  unsigned n = 0;
  for (unsigned p = 0; p < NET_POOL && n < NET_MAX_GIFTS && !d->refused; p++)
    if (d->page[p] == FRAME) { /* freed by the stack: back to netd */
      buf->gifts[n++] = (u32)(d->rx_slot + p);
      d->page[p] = 0;
    }
  unsigned start, room = window(d, &start);
  buf->recv_cnode = d->e->cnode;
  buf->recv_slot = d->rx_slot + start;
  buf->recv_count = room;
  buf->recv_window = room ? d->rx_va + start * K_PAGE_SIZE : 0;
  buf->recv_window_size = room * K_PAGE_SIZE;
  struct msg_regs r = sys_call(d->session, k_msg_info(NET_RECV, 2, 0, n), timeout_ms, room, 0, 0);
  d->recvs++;
  if (r.err || r.w[0]) {
    resync(d);
    d->refused = n > 0; /* a refused donation: the next request comes without one */
    return -(r.err ? r.err : (long)r.w[0]);
  }
  d->refused = 0;
  u64 words[K_IPC_MAX_WORDS]; /* the stack may send (and so use the buffer) while we go through them */
  u64 npk = r.w[1] > 8 ? 8 : r.w[1];
  d->queued = r.w[2];
  memcpy(words, buf->words, sizeof words);
  words[3] = r.w[3];
  for (u64 m = 0; m < npk; m++) {
    u64 desc = words[3 + m];
    u32 len = net_pkt_len(desc), head = net_pkt_head(desc), f = net_pkt_frame(desc), w = net_pkt_word(desc);
    if (w + (head + 7) / 8 > K_IPC_MAX_WORDS || head > len || (f != NET_NO_FRAME && f >= room))
      return -K_ERR_RANGE; /* netd does not send these */
    struct netdev_pkt p = {len, (const u8 *)&words[w], head, -1, 0};
    if (f != NET_NO_FRAME) {
      p.page = (int)(start + f);
      p.tail = (u8 *)(d->rx_va + (u64)p.page * K_PAGE_SIZE);
      d->page[p.page] = HELD | FRAME;
    }
    input(ctx, &p);
  }
  return (long)npk;
}

/* The longest run of staging places whose frames are with netd: where
 * frames it returns land. */
static unsigned out_run(struct netdev *d, unsigned *start) {
  unsigned best = 0;
  *start = 0;
  for (unsigned p = 0; p < NETDEV_TX_STAGE;) {
    unsigned run = 0;
    while (p + run < NETDEV_TX_STAGE && d->stage[p + run] == ST_OUT)
      run++;
    if (run > best)
      best = run, *start = p;
    p += run + 1;
  }
  return best;
}

static void window_at(struct netdev *d, unsigned start, unsigned room) {
  struct k_ipc_buffer *buf = d->buf;
  buf->recv_cnode = d->e->cnode;
  buf->recv_slot = d->tx_slot + start;
  buf->recv_count = room;
  buf->recv_window = room ? d->tx_va + start * K_PAGE_SIZE : 0;
  buf->recv_window_size = room * K_PAGE_SIZE;
}

static void came_back(struct netdev *d, unsigned start, u64 n) {
  for (u64 k = 0; k < n; k++)
    d->stage[start + k] = ST_HERE;
  d->nout -= (unsigned)n;
}

/* After a refused request: which staging places hold a frame (mapped). */
static void resync_stage(struct netdev *d) {
  d->nout = 0;
  for (unsigned p = 0; p < NETDEV_TX_STAGE; p++) {
    struct k_cap_info ci;
    int has = !sys_cap_identify(d->e->cnode, d->tx_slot + p, &ci) && ci.type == K_OBJ_FRAME_4K;
    if (has && !ci.mapped)
      has = !sys_frame_map(d->tx_slot + p, d->e->vspace, d->tx_va + p * K_PAGE_SIZE, K_MAP_WRITE);
    d->stage[p] = has ? ST_HERE : ST_OUT;
    d->nout += !has;
  }
}

static int stage_free(const struct netdev *d) {
  for (unsigned p = 0; p < NETDEV_TX_STAGE; p++)
    if (d->stage[p] == ST_HERE)
      return (int)p;
  return -1;
}

/* NET_COLLECT: staging frames the device is done with come back; with
 * `wait`, netd answers when some do. Places whose frames netd no longer
 * has (a refused answer lost them) get new frames. */
static long collect(struct netdev *d, int wait) {
  unsigned start, room = out_run(d, &start);
  if (!room)
    return K_ERR_OK;
  window_at(d, start, room);
  struct msg_regs r = sys_call(d->session, k_msg_info(NET_COLLECT, 2, 0, 0), (u64)wait, room, 0, 0);
  if (r.err || r.w[0]) {
    resync_stage(d);
    return r.err ? r.err : (long)r.w[0];
  }
  came_back(d, start, r.w[1]);
  if (wait && !r.w[1] && !net_tx_sending(r.w[2]) && !net_tx_done(r.w[2]))
    for (unsigned p = 0; p < NETDEV_TX_STAGE; p++)
      if (d->stage[p] == ST_OUT && !sys_retype(d->e->untyped, K_OBJ_FRAME_4K, 0, d->e->cnode, d->tx_slot + p, 1, 0) &&
          !sys_frame_map(d->tx_slot + p, d->e->vspace, d->tx_va + p * K_PAGE_SIZE, K_MAP_WRITE))
        d->stage[p] = ST_HERE, d->nout--;
  return K_ERR_OK;
}

long netdev_tx_flush(struct netdev *d) {
  if (!d->nseg)
    return K_ERR_OK;
  struct k_ipc_buffer *buf = d->buf;
  unsigned frames = (d->nstage + 1) / 2, ngifts = frames + d->ngift_pages;
  for (unsigned s = 0; s < d->nseg; s++)
    if (is_page_seg[s]) { /* pages follow the staging frames */
      u32 ord = net_seg_frame(d->seg[s]);
      d->seg[s] = (d->seg[s] & ~(0x7fu << 24)) | (frames + ord) << 24;
    }
  for (unsigned i = 0; i < frames; i++) {
    buf->gifts[i] = (u32)(d->tx_slot + d->bframe[i]);
    d->stage[d->bframe[i]] = ST_OUT;
  }
  d->nout += frames;
  for (unsigned i = 0; i < d->ngift_pages; i++)
    buf->gifts[frames + i] = (u32)(d->rx_slot + d->gift_page[i]);
  memset(&buf->words[1], 0, ((d->nseg + 1) / 2) * 8);
  for (unsigned s = 0; s < d->nseg; s++)
    buf->words[1 + s / 2] |= (u64)d->seg[s] << (32 * (s % 2));
  unsigned start, room = out_run(d, &start); /* earlier sends' frames come back there */
  window_at(d, start, room);
  u64 words = 1 + (d->nseg + 1) / 2;
  struct msg_regs r = sys_call(d->session, k_msg_info(NET_SEND, words, 0, ngifts),
                               net_send_counts(d->nseg, frames) | net_send_room(room), buf->words[1], buf->words[2],
                               buf->words[3]);
  d->sends++;
  for (unsigned i = 0; i < d->ngift_pages; i++)
    d->page[d->gift_page[i]] &= (u8)~(BATCH | FRAME);
  d->nseg = d->nstage = d->ngift_pages = d->pkt_segs = d->pkt_len = 0;
  if (r.err || r.w[0]) { /* the frames came back with the refusal, or were lost */
    resync_stage(d);
    resync(d);
    return r.err ? r.err : (long)r.w[0];
  }
  came_back(d, start, r.w[2]);
  return K_ERR_OK;
}

long netdev_tx_reserve(struct netdev *d, unsigned segs) {
  if (segs > NET_PKT_SEGS)
    return K_ERR_RANGE;
  long err = K_ERR_OK;
  if (d->nseg + segs > NET_MAX_SEGS || d->nstage + 1 > 2 * NETDEV_TX_BATCH ||
      (d->nstage + 2) / 2 + d->ngift_pages + segs > NET_MAX_GIFTS)
    err = netdev_tx_flush(d);
  if (!err && d->nstage % 2 == 0 && stage_free(d) < 0) { /* the packet may need a staging frame */
    err = netdev_tx_flush(d);
    while (!err && stage_free(d) < 0)
      err = collect(d, 1);
  }
  return err;
}

static long add_seg(struct netdev *d, u32 seg, int page) {
  if (d->pkt_segs == NET_PKT_SEGS || d->nseg == NET_MAX_SEGS)
    return K_ERR_RANGE;
  is_page_seg[d->nseg] = (u8)page;
  d->seg[d->nseg++] = seg;
  d->pkt_segs++;
  return K_ERR_OK;
}

long netdev_tx_copy(struct netdev *d, const void *data, u32 len) {
  if (!len)
    return K_ERR_OK;
  if (d->pkt_len + len > NET_MTU_FRAME)
    return K_ERR_RANGE;
  /* A packet's copied bytes go to the staging half it started in; the
   * half is taken by the packet's first copy. */
  unsigned half = d->nstage;
  u32 used = 0;
  int extend = d->pkt_segs && !is_page_seg[d->nseg - 1];
  if (d->pkt_segs) { /* bytes of this packet already in its half */
    for (unsigned s = d->nseg - d->pkt_segs; s < d->nseg; s++)
      if (!is_page_seg[s])
        used += net_seg_len(d->seg[s]), half = d->nstage - 1;
  }
  if (used == 0) {
    if (d->nstage == 2 * NETDEV_TX_BATCH)
      return K_ERR_RANGE;
    if (d->nstage % 2 == 0) { /* a new staging frame */
      int p = stage_free(d);
      if (p < 0)
        return K_ERR_RANGE; /* netdev_tx_reserve makes sure of one */
      d->bframe[d->nstage / 2] = (u8)p;
      d->stage[p] = ST_BATCH;
    }
    half = d->nstage++;
  }
  u32 off = (half % 2) * STAGE_HALF + used;
  memcpy((u8 *)(d->tx_va + d->bframe[half / 2] * K_PAGE_SIZE + off), data, len);
  d->pkt_len += len;
  if (extend) {
    u32 last = d->seg[d->nseg - 1];
    d->seg[d->nseg - 1] = net_seg(net_seg_frame(last), net_seg_offset(last), net_seg_len(last) + len, 0);
    return K_ERR_OK;
  }
  return add_seg(d, net_seg(half / 2, off, len, 0), 0);
}

long netdev_tx_page(struct netdev *d, int page, u32 offset, u32 len) {
  if (page < 0 || page >= NET_POOL || !(d->page[page] & FRAME) || offset + len > K_PAGE_SIZE || !len ||
      d->pkt_len + len > NET_MTU_FRAME)
    return K_ERR_RANGE;
  unsigned ord = 0;
  while (ord < d->ngift_pages && d->gift_page[ord] != page)
    ord++;
  if (ord == d->ngift_pages) {
    if (d->ngift_pages == NET_MAX_GIFTS - NETDEV_TX_BATCH)
      return K_ERR_RANGE;
    d->gift_page[d->ngift_pages++] = (u16)page;
    d->page[page] |= BATCH;
  }
  d->pkt_len += len;
  return add_seg(d, net_seg(ord, offset, len, 0), 1);
}

long netdev_tx_end(struct netdev *d) {
  if (!d->pkt_segs)
    return K_ERR_RANGE;
  d->seg[d->nseg - 1] |= 1u << 31;
  d->pkt_segs = d->pkt_len = 0;
  return K_ERR_OK;
}

long net_stats(struct k_ipc_buffer *buf, cptr_t session, struct net_stats *out) {
  struct msg_regs r = sys_call(session, k_msg_info(NET_STATS, 0, 0, 0), 0, 0, 0, 0);
  if (r.err || r.w[0])
    return r.err ? r.err : (long)r.w[0];
  buf->words[1] = r.w[1], buf->words[2] = r.w[2], buf->words[3] = r.w[3];
  memcpy(out, &buf->words[1], sizeof *out);
  return K_ERR_OK;
}

long netdev_stats(struct netdev *d, struct net_stats *out) { return net_stats(d->buf, d->session, out); }

unsigned netdev_held(const struct netdev *d) {
  unsigned n = 0;
  for (unsigned p = 0; p < NET_POOL; p++)
    n += (d->page[p] & HELD) != 0;
  return n;
}

long netdev_info(struct netdev *d, u64 *spare, u64 *on_device, u64 *queued) {
  struct msg_regs r = sys_call(d->session, k_msg_info(NET_INFO, 0, 0, 0), 0, 0, 0, 0);
  if (r.err || r.w[0])
    return r.err ? r.err : (long)r.w[0];
  *spare = net_info_pool(r.w[2]), *on_device = net_info_on_device(r.w[2]), *queued = net_info_queued(r.w[2]);
  return K_ERR_OK;
}
