/* netd: sessions, built from their clients' donations (see netd.h), and
 * the lists that find them: nothing per packet or per request looks at
 * every session, so a client's many sessions cost the others nothing. */
#include "netd.h"
#include <server.h>
#include <lib/string.h>

u32 wake_count = 1;
struct session *sessions;
unsigned max_sessions;
struct place_ring ready, donors, low_donors, senders;
static struct place_ring free_places; /* oldest first: an index comes round again as late as it can */
static u32 live_head = NO_PLACE;
u32 arp_head = NO_PLACE;
static u32 default_place = NO_PLACE;

void ring_push(struct place_ring *r, unsigned i) { r->at[(r->head + r->count++) % max_sessions] = i; }

unsigned ring_pop(struct place_ring *r) {
  if (!r->count)
    return NO_PLACE;
  unsigned i = r->at[r->head];
  r->head = (r->head + 1) % max_sessions;
  r->count--;
  return i;
}

/* ---- which session a port is: a hash table keyed with a secret, so that
 * no client can choose ports whose entries pile up on another's ---- */

static u64 *port_slots, port_mask, port_secret;

static u64 port_key(u8 proto, u16 port) { return (u64)proto << 16 | port; }
static u64 port_home(u64 key) { return ((key + 1) * port_secret) >> 40 & port_mask; }

static u64 *port_find(u64 key) {
  for (u64 h = port_home(key);; h = (h + 1) & port_mask) {
    if (!port_slots[h] || port_slots[h] >> 32 == key)
      return &port_slots[h];
  }
}

static void port_add(u64 key, unsigned i) { *port_find(key) = key << 32 | (i + 1); }

/* Removal moves later entries of the run back into the hole (no tombstones). */
static void port_remove(u64 key) {
  u64 *e = port_find(key);
  if (!*e)
    return;
  u64 hole = (u64)(e - port_slots);
  *e = 0;
  for (u64 h = (hole + 1) & port_mask; port_slots[h]; h = (h + 1) & port_mask) {
    u64 home = port_home(port_slots[h] >> 32);
    /* the entry may move back to the hole if its home is not in (hole, h] */
    if (((h - home) & port_mask) >= ((h - hole) & port_mask)) {
      port_slots[hole] = port_slots[h];
      port_slots[h] = 0;
      hole = h;
    }
  }
}

int session_for_port(u8 proto, u16 port) {
  u64 e = *port_find(port_key(proto, port));
  if (!e)
    e = *port_find(port_key(0, port));
  if (!e || !session_alive((unsigned)(u32)e - 1))
    return -1;
  return (int)(u32)e - 1;
}

int default_session(void) {
  return default_place != NO_PLACE && session_alive(default_place) ? (int)default_place : -1;
}

/* ---- waiting receivers' deadlines: a binary heap of places ---- */

static u32 *heap;
static unsigned heap_len;

static void heap_put(unsigned at, unsigned i) {
  heap[at] = i;
  sessions[i].heap_at = at;
}

static void heap_fix(unsigned at) {
  unsigned i = heap[at];
  while (at && sessions[heap[(at - 1) / 2]].deadline > sessions[i].deadline) {
    heap_put(at, heap[(at - 1) / 2]);
    at = (at - 1) / 2;
  }
  for (;;) {
    unsigned c = 2 * at + 1;
    if (c >= heap_len)
      break;
    if (c + 1 < heap_len && sessions[heap[c + 1]].deadline < sessions[heap[c]].deadline)
      c++;
    if (sessions[heap[c]].deadline >= sessions[i].deadline)
      break;
    heap_put(at, heap[c]);
    at = c;
  }
  heap_put(at, i);
}

void deadline_clear(unsigned i) {
  if (!sessions[i].timed)
    return;
  sessions[i].timed = 0;
  unsigned at = sessions[i].heap_at, last = heap[--heap_len];
  if (at == heap_len)
    return;
  heap_put(at, last);
  heap_fix(at);
}

void deadline_set(unsigned i, u64 at) {
  deadline_clear(i);
  sessions[i].deadline = at;
  if (at == ~0ull)
    return; /* waits for good: nothing to time */
  sessions[i].timed = 1;
  heap_put(heap_len++, i);
  heap_fix(heap_len - 1);
}

u64 deadline_first(void) { return heap_len ? sessions[heap[0]].deadline : ~0ull; }

int deadline_due(u64 now) {
  if (!heap_len || sessions[heap[0]].deadline > now)
    return -1;
  unsigned i = heap[0];
  deadline_clear(i);
  return (int)i;
}

/* ---- lists ---- */

void mark_ready(unsigned i) {
  if (!sessions[i].in_ready) {
    sessions[i].in_ready = 1;
    ring_push(&ready, i);
  }
}

void spares_grew(unsigned i) {
  struct session *s = &sessions[i];
  if (s->rec->nspare > SPARE_RESERVE) {
    if (!s->in_donors) {
      s->in_donors = 1;
      ring_push(&donors, i);
    }
  } else if (s->rec->nspare && !s->in_low) {
    s->in_low = 1;
    ring_push(&low_donors, i);
  }
}

/* Doubly linked lists of places: every live session, and those that asked for ARP. */
enum { LIVE, ARP };

static void list_remove(u32 *head, u32 i, int l) {
  u32 p = sessions[i].prev[l], n = sessions[i].next[l];
  if (p == NO_PLACE)
    *head = n;
  else
    sessions[p].next[l] = n;
  if (n != NO_PLACE)
    sessions[n].prev[l] = p;
}

static void list_add(u32 *head, u32 i, int l) {
  sessions[i].prev[l] = NO_PLACE;
  sessions[i].next[l] = *head;
  if (*head != NO_PLACE)
    sessions[*head].prev[l] = i;
  *head = i;
}

/* ---- the table ---- */

/* The table has a place for each pair of slots init gave netd's CNode
 * beyond its own (net.h); the upper tables of the session area are
 * netd's own (a fixed cost); each session brings its page table. */
long sessions_setup(void) {
  long err = server_places(&env, NETD_PLACE_SLOT, NETD_PLACE_STRIDE, &max_sessions);
  if (err)
    return err;
  u64 port_entries = 4;
  while (port_entries < 2ull * max_sessions)
    port_entries *= 2;
  u64 bytes = max_sessions * (u64)(sizeof(struct session) + 6 * sizeof(u32)) + port_entries * sizeof(u64);
  void *mem;
  if ((err = env_alloc_pages(&env, (bytes + K_PAGE_SIZE - 1) / K_PAGE_SIZE, &mem)))
    return err;
  sessions = mem;
  port_slots = (u64 *)(sessions + max_sessions);
  port_mask = port_entries - 1;
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  port_secret = ((u64)hi << 32 | lo) * 0x9e3779b97f4a7c15ull | 1;
  u32 *rings = (u32 *)(port_slots + port_entries);
  struct place_ring *all[] = {&ready, &donors, &low_donors, &senders, &free_places};
  for (unsigned r = 0; r < 5; r++)
    all[r]->at = rings + r * max_sessions;
  heap = rings + 5 * max_sessions;
  for (unsigned i = 0; i < max_sessions; i++)
    ring_push(&free_places, i);
  if ((err = server_session_tables(&env, SESSION_VA, max_sessions)))
    return err;
  return charge_setup();
}

/* The lists a session is on by its filter. */
static void filter_add(unsigned i, u64 filter) {
  if (filter & 0xffff)
    port_add(port_key((u8)(filter >> 16), (u16)filter), i);
  if (filter & NET_F_ARP)
    list_add(&arp_head, i, ARP);
  if (filter & NET_F_DEFAULT)
    default_place = i;
}

static void filter_remove(unsigned i, u64 filter) {
  if (filter & 0xffff)
    port_remove(port_key((u8)(filter >> 16), (u16)filter));
  if (filter & NET_F_ARP)
    list_remove(&arp_head, i, ARP);
  if (filter & NET_F_DEFAULT)
    default_place = NO_PLACE;
}

/* Whether a filter takes what another session's has (one session per port
 * and protocol, a protocol of 0 being both; one default session). */
static int filter_taken(u64 filter) {
  u16 port = (u16)filter;
  u8 proto = (u8)(filter >> 16);
  if (port) {
    static const u8 protos[3] = {0, NET_PROTO_UDP, NET_PROTO_TCP};
    for (unsigned k = 0; k < 3; k++) {
      u64 e = *port_find(port_key(protos[k], port));
      if (e && (!proto || !protos[k] || protos[k] == proto) && session_alive((unsigned)(u32)e - 1))
        return 1;
    }
    u64 e = proto && proto != NET_PROTO_UDP && proto != NET_PROTO_TCP ? *port_find(port_key(proto, port)) : 0;
    if (e && session_alive((unsigned)(u32)e - 1))
      return 1;
  }
  return (filter & NET_F_DEFAULT) && default_session() >= 0;
}

/* The session is over (closed, or its memory went): what netd keeps of
 * it outside that memory goes (its entries in the FIFO rings are dropped
 * when they come up: each names a place whose flag says it is there), and
 * its place is free for the next session. */
static void forget(unsigned i) {
  struct session *s = &sessions[i];
  s->used = 0;
  filter_remove(i, s->filter);
  list_remove(&live_head, i, LIVE);
  deadline_clear(i);
  tx_session_gone(i);
  ring_push(&free_places, i);
}

/* Its memory went: so did its CNode and every frame in it (a reply kept
 * there wakes its caller with PEER_DIED); its frames on the device go
 * when the device is done (rx.c, tx.c). */
static void session_gone(unsigned i) {
  forget(i);
  sys_cnode_revoke(env.cnode, place_donation(i));
  sys_cnode_delete(env.cnode, place_donation(i));
}

void sweep_sessions(void) {
  for (u32 i = live_head, next; i != NO_PLACE; i = next) {
    next = sessions[i].next[LIVE];
    session_alive(i);
  }
}

void sum_counters(struct net_counters *t) {
  for (u32 i = live_head; i != NO_PLACE; i = sessions[i].next[LIVE])
    if (sessions[i].alive_at == wake_count || sys_cap_type(place_cnode(i), sessions[i].newest).val == K_OBJ_FRAME_4K)
      add_counters(t, &sessions[i].rec->c);
}

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
  if (sys_cap_type(place_cnode(i), sessions[i].newest).val != K_OBJ_FRAME_4K) {
    session_gone(i);
    return 0;
  }
  sessions[i].alive_at = wake_count;
  return 1;
}

int current_session(unsigned i, u32 generation) {
  return i < max_sessions && sessions[i].generation == generation && session_alive(i);
}

int session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  return current_session(i, server_badge_generation(badge)) ? (int)i : -1;
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
  return (u32)r->nspare + r->queued_frames + r->in_ring + r->to_pool;
}

/* Donated frames (gifts at SERVER_GIFT_SLOT + first ..) join session i's
 * pool, unpinned: they are pinned only while the device has them. */
long take_donations(unsigned i, u64 first, u64 n) {
  struct record *r = sessions[i].rec;
  if (frames_held(i) + n > NET_POOL) {
    r->c.bad_requests++;
    return K_ERR_RANGE;
  }
  for (u64 g = 0; g < n; g++) { /* 4 KiB frames only, all or none */
    struct k_cap_info ci;
    if (sys_cap_identify(env.cnode, SERVER_GIFT_SLOT + first + g, &ci) || ci.type != K_OBJ_FRAME_4K) {
      r->c.bad_requests++;
      return K_ERR_WRONG_TYPE;
    }
  }
  for (u64 g = 0; g < n; g++) {
    int j = free_pool_slot(r);
    sys_cnode_move(place_cnode(i), C_POOL + (unsigned)j, env.cnode, SERVER_GIFT_SLOT + first + g);
    r->state[j] = SLOT_SPARE;
    r->spare[r->nspare++] = (u16)j;
  }
  if (n)
    spares_grew(i);
  return K_ERR_OK;
}

/* Session i's memory from the donation: its CNode first (the oldest
 * object, which a revoke deletes last), then the page table, the record
 * and the queue's frames in it, mapped at va; the last frame is the
 * newest object (session_alive). */
static long session_memory(unsigned i, u64 size, u64 va, unsigned *queue_frames) {
  cptr_t donated = place_donation(i), cn = place_cnode(i);
  unsigned frames = (unsigned)((size - SESSION_FIXED_BYTES) / K_PAGE_SIZE);
  if (frames > QUEUE_FRAMES_MAX)
    frames = QUEUE_FRAMES_MAX;
  long err = sys_cnode_move(env.cnode, donated, env.cnode, SERVER_DONATION_SLOT);
  if (err)
    return err;
  if (!(err = sys_retype(donated, K_OBJ_CNODE, SESSION_CNODE_BITS, env.cnode, cn, 1, 0)) &&
      !(err = sys_retype(donated, K_OBJ_PT, 0, cn, C_TABLE, 1, 0)) &&
      !(err = sys_page_table_map(in_session(i, C_TABLE), env.vspace, va)) &&
      !(err = sys_retype(donated, K_OBJ_FRAME_4K, 0, cn, C_RECORD, 1, 0)) &&
      !(err = sys_retype(donated, K_OBJ_FRAME_4K, 0, cn, C_QUEUE, frames, 0))) {
    err = sys_frame_map(in_session(i, C_RECORD), env.vspace, va, K_MAP_WRITE);
    for (unsigned f = 0; !err && f < frames; f++)
      err = sys_frame_map(in_session(i, C_QUEUE + f), env.vspace, va + (1 + f) * K_PAGE_SIZE, K_MAP_WRITE);
  }
  if (err) {
    sys_cnode_revoke(env.cnode, donated);
    sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated); /* back to the client */
  }
  *queue_frames = frames;
  return err;
}

long open_session(u64 info, u64 filter, cptr_t *cap_back) {
  if (!free_places.count)
    sweep_sessions(); /* the places of sessions whose memory went come free */
  if (k_msg_caps(info) != 1 || !free_places.count || (filter >> 34))
    return K_ERR_RANGE;
  struct k_cap_info ci;
  if (sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED ||
      ci.size < (1ull << NET_DONATION_BITS))
    return K_ERR_WRONG_TYPE;
  if (filter_taken(filter))
    return K_ERR_SLOT_OCCUPIED;
  unsigned i = free_places.at[free_places.head];
  struct session *s = &sessions[i];
  u64 va = SESSION_VA + (u64)i * K_LARGE_PAGE_SIZE;
  unsigned queue_frames;
  long err = session_memory(i, ci.size, va, &queue_frames);
  if (err)
    return err;
  ring_pop(&free_places);
  /* The FIFO flags stay: they say where the place's index still is. */
  s->used = 1;
  s->generation++;
  s->filter = filter;
  s->on_ring = s->txf = 0;
  s->alive_at = wake_count;
  s->newest = (u16)(C_QUEUE + queue_frames - 1);
  s->rec = (struct record *)va;
  s->queue = (struct queue_slot *)(va + K_PAGE_SIZE);
  s->queue_len = (u16)(queue_frames * QUEUE_PER_FRAME);
  s->rec->filter = filter; /* the rest of a new frame is zero */
  list_add(&live_head, i, LIVE);
  filter_add(i, filter);
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
  sessions[i].rec->held = 1;
  buf->caps[0] = SERVER_TEMP_SLOT;
  return K_ERR_OK;
}

void add_counters(struct net_counters *to, const struct net_counters *c) {
  const u64 *from = (const u64 *)c;
  u64 *t = (u64 *)to;
  for (unsigned w = 0; w < NET_COUNTERS_WORDS; w++)
    t[w] += from[w];
}

/* Spare and queued frames go back as gifts (queued packets are dropped),
 * then its sent frames the device is done with; frames on the device go
 * back to their memory as the device returns them. */
long close_session(unsigned i, u64 *ngifts) {
  struct record *r = sessions[i].rec;
  unsigned n = 0;
  /* Everything goes back through the receive slots, which are empty now. */
  for (unsigned j = 0; j < NET_POOL; j++)
    if (r->state[j] == SLOT_SPARE || r->state[j] == SLOT_QUEUED)
      sys_cnode_move(env.cnode, SERVER_GIFT_SLOT + n++, place_cnode(i), C_POOL + j);
  /* Its frames on the device stay there until a packet lands in each: the
   * packet's bytes are copied to its receiver and the frame goes back to
   * its owner's memory (rx.c). */
  r->c.close_left_on_device += r->in_ring;
  n += (unsigned)tx_close(i, n); /* its sent frames the device is done with */
  for (unsigned g = 0; g < n; g++)
    buf->gifts[g] = (u32)(SERVER_GIFT_SLOT + g);
  add_counters(&total, &r->c);
  forget(i);
  long err = sys_cnode_revoke(env.cnode, place_donation(i)); /* its CNode, record, queue, table */
  if (!err)
    err = sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, place_donation(i));
  *ngifts = n;
  return err;
}
