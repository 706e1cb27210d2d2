/* netd: sessions, built from their clients' donations (see netd.h). */
#include "netd.h"
#include <server.h>
#include <lib/string.h>

u32 wake_count = 1;

/* A session lives while its donation does. Its record is made from that
 * donation, so nothing of it is touched before this check. netd runs above
 * its clients' priority, so the answer holds until netd blocks: it is
 * asked once per wake-up (a system call each time would cost more than the
 * rest of a packet's demultiplexing). */
int session_alive(unsigned i) {
  if (!sessions[i].used)
    return 0;
  if (sessions[i].alive_at == wake_count)
    return 1;
  /* A revoke deletes the newest objects first and may stop between two
   * (an interrupt, and netd runs): while the newest object made from the
   * donation is there, everything older is, the record and queue too. */
  if (sys_cap_type(env.cnode, sessions[i].newest).val != K_OBJ_FRAME_4K) {
    sessions[i].used = 0;
    session_gone(i);
    return 0;
  }
  sessions[i].alive_at = wake_count;
  return 1;
}

/* Its frames: pinned remains now, or gone. Those on the device (received
 * into, or being sent) stay pinned until it hands them back (refill and
 * tx_harvest release them then). */
void session_gone(unsigned i) {
  u8 on_device[NET_POOL] = {0};
  for (unsigned k = 0; k < RX_ENTRIES; k++)
    if (rx[k].session == (s8)i && rx[k].generation == sessions[i].generation && rx[k].pool >= 0 &&
        rx[k].state != RX_EMPTY)
      on_device[rx[k].pool] = 1;
  for (unsigned j = 0; j < NET_POOL; j++) {
    if (on_device[j] || (sessions[i].pool_sending[j / 64] >> (j % 64) & 1))
      continue;
    sys_dma_unpin(K_BI_SLOT_DMA, slot_of(i, S_POOL + j));
    sys_cnode_delete(env.cnode, slot_of(i, S_POOL + j));
  }
  sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
  tx_session_gone(i);
  sys_cnode_revoke(env.cnode, slot_of(i, S_DONATION));
  sys_cnode_delete(env.cnode, slot_of(i, S_DONATION));
}

int session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  if (i >= NETD_MAX_SESSIONS || sessions[i].generation != server_badge_generation(badge) || !session_alive(i))
    return -1;
  return (int)i;
}

int free_pool_slot(struct record *r) {
  for (unsigned j = 0; j < NET_POOL; j++)
    if (r->state[j] == SLOT_FREE)
      return (int)j;
  return -1;
}

/* Frames of the session's that netd holds (packets in the message alone hold none). */
u32 frames_held(unsigned i) {
  const struct record *r = sessions[i].rec;
  return (u32)r->nspare + r->queued_frames + r->in_ring + sessions[i].to_pool;
}


/* Donated frames (gifts at SERVER_GIFT_SLOT + first ..) join session i's pool. */
long take_donations(unsigned i, u64 first, u64 n) {
  struct record *r = sessions[i].rec;
  if (frames_held(i) + n > NET_POOL) {
    r->c.bad_requests++;
    return K_ERR_RANGE;
  }
  static u64 phys[NET_MAX_GIFTS];
  if (!n)
    return K_ERR_OK;
  long err = sys_dma_pin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT + first, n, phys).err; /* 4 KiB frames, all or none */
  if (err) {
    r->c.bad_requests++;
    return err;
  }
  for (u64 g = 0; g < n; g++) {
    int j = free_pool_slot(r);
    sys_cnode_move(env.cnode, slot_of(i, S_POOL + (unsigned)j), env.cnode, SERVER_GIFT_SLOT + first + g);
    r->state[j] = SLOT_SPARE;
    r->phys[j] = phys[g];
    r->spare[r->nspare++] = (u16)j;
  }
  return K_ERR_OK;
}


long open_session(u64 info, u64 filter, cptr_t *cap_back) {
  unsigned i = 0; /* a free index whose pool slots hold nothing of a closed session's */
  while (i < NETD_MAX_SESSIONS && (session_alive(i) || sessions[i].ring_refs || sessions[i].blen))
    i++;
  if (k_msg_caps(info) != 1 || i == NETD_MAX_SESSIONS || (filter >> 34))
    return K_ERR_RANGE;
  struct k_cap_info ci;
  if (sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED || ci.size < (1ull << NET_DONATION_BITS))
    return K_ERR_WRONG_TYPE;
  for (unsigned j = 0; j < NETD_MAX_SESSIONS; j++) { /* one session per port and protocol */
    u64 g = sessions[j].used && session_alive(j) ? sessions[j].rec->filter : 0;
    u64 pa = filter >> 16 & 0xff, pb = g >> 16 & 0xff;
    if ((filter & 0xffff) && (g & 0xffff) == (filter & 0xffff) && (!pa || !pb || pa == pb))
      return K_ERR_SLOT_OCCUPIED;
    if ((filter & NET_F_DEFAULT) && (g & NET_F_DEFAULT))
      return K_ERR_SLOT_OCCUPIED;
  }
  struct session *s = &sessions[i];
  s->base = SESSION_SLOTS + i * SESSION_STRIDE;
  u64 va = SESSION_VA + (u64)i * K_LARGE_PAGE_SIZE;
  /* Its queue: what the donation holds beyond the record and the table. */
  u64 queue_frames = (ci.size - SESSION_FIXED_BYTES) / K_PAGE_SIZE;
  if (queue_frames > QUEUE_FRAMES_MAX)
    queue_frames = QUEUE_FRAMES_MAX;
  cptr_t frames[1 + QUEUE_FRAMES_MAX] = {slot_of(i, S_RECORD)};
  for (unsigned f = 0; f < queue_frames; f++)
    frames[1 + f] = slot_of(i, S_HEADS + f);
  long err = server_session_memory(env.cnode, env.vspace, SERVER_DONATION_SLOT, slot_of(i, S_DONATION),
                                   slot_of(i, S_TABLE), frames, 1 + (unsigned)queue_frames, va);
  if (err)
    return err;
  s->used = 1;
  s->newest = frames[queue_frames];
  s->generation++;
  s->held = s->collecting = s->send_waiting = 0;
  s->on_ring = s->to_pool = s->tx_used = s->tx_next = 0; /* blen is 0: the index was free */
  s->bhead = 0;
  s->pool_sending[0] = s->pool_sending[1] = 0;
  s->rec = (struct record *)va;
  s->queue = (struct queue_slot *)(va + K_PAGE_SIZE);
  s->queue_len = (u16)(queue_frames * QUEUE_PER_FRAME);
  s->rec->filter = filter;
  err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, NETD_PUBLIC_EP, K_RIGHTS_ALL,
                       server_badge(i, s->generation));
  *cap_back = SERVER_TEMP_SLOT;
  return err;
}

/* NET_HOLD: the client's word to go is a signal on netd's own
 * notification (HOLD_BIT). */
long arm_hold(unsigned i) {
  long err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, irq_ntfn, K_RIGHT_WRITE, HOLD_BIT);
  if (err)
    return err;
  sessions[i].held = 1;
  buf->caps[0] = SERVER_TEMP_SLOT;
  return K_ERR_OK;
}

void add_counters(struct net_counters *to, const struct net_counters *c) {
  const u64 *from = (const u64 *)c;
  u64 *t = (u64 *)to;
  for (unsigned w = 0; w < NET_COUNTERS_WORDS; w++)
    t[w] += from[w];
}

/* Spare frames go back unpinned as gifts; queued packets are dropped (their
 * frames too go back); frames on the device are released as they return. */
long close_session(unsigned i, u64 *ngifts) {
  struct record *r = sessions[i].rec;
  unsigned n = 0;
  /* Everything goes back through the receive slots, which are empty now:
   * whatever a failed reply leaves there is cleaned up with them. */
  for (unsigned j = 0; j < NET_POOL; j++)
    if (r->state[j] != SLOT_FREE && r->state[j] != SLOT_RING && r->state[j] != SLOT_SENDING) {
      sys_dma_unpin(K_BI_SLOT_DMA, slot_of(i, S_POOL + j));
      sys_cnode_move(env.cnode, SERVER_GIFT_SLOT + n++, env.cnode, slot_of(i, S_POOL + j));
    }
  /* Its frames on the device stay there, in its pool slots, until a packet
   * lands in each: the packet's bytes are copied to its receiver and the
   * frame goes back to its owner's memory (rx.c). Trading them for another
   * session's spares would leave each side holding the other's memory. */
  r->c.close_left_on_device += r->in_ring;
  n += (unsigned)tx_close(i, n); /* its sent frames the device is done with */
  for (unsigned g = 0; g < n; g++)
    buf->gifts[g] = (u32)(SERVER_GIFT_SLOT + g);
  add_counters(&total, &r->c);
  if (r->waiting)
    sys_cnode_delete(env.cnode, slot_of(i, S_REPLY));
  sessions[i].used = 0;
  tx_session_gone(i);
  long err = sys_cnode_revoke(env.cnode, slot_of(i, S_DONATION)); /* record, queue, table */
  if (!err)
    err = sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, slot_of(i, S_DONATION));
  *ngifts = n;
  return err;
}

