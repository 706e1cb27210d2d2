/* blockd's sessions: built from the client's donation, alive while it
 * is, and the time blockd spends on each (see blockd.h). */
#include "blockd.h"
#include <server.h>

#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB */

struct session *sessions;
unsigned max_sessions;

/* Indexes free for a new session, oldest first: an index comes round
 * again as late as it can. An index is free when its session is closed or
 * gone and no request of it waits in the list of queued sessions. */
static u32 *free_ring;
static unsigned free_head, free_count;

void index_free(unsigned i) { free_ring[(free_head + free_count++) % max_sessions] = i; }

/* The table has a place for each session's slots init gave blockd's
 * CNode (blk.h); the upper tables of the session area are blockd's own (a
 * fixed cost); each session brings its page table. */
long sessions_setup(void) {
  long err = server_places(&env, BLOCKD_SESSION_SLOTS, BLOCKD_SESSION_STRIDE, &max_sessions);
  if (err)
    return err;
  u64 bytes = max_sessions * (u64)(sizeof(struct session) + sizeof(u32));
  void *mem;
  if ((err = env_alloc_pages(&env, (bytes + K_PAGE_SIZE - 1) / K_PAGE_SIZE, &mem)))
    return err;
  sessions = mem;
  free_ring = (u32 *)(sessions + max_sessions);
  for (unsigned i = 0; i < max_sessions; i++)
    index_free(i);
  return server_session_tables(&env, SESSION_VA, max_sessions);
}

/* A session lives while its donation does: a client that dies (or revokes
 * the memory it lent) takes the session's record and table with it. That
 * can only happen while blockd waits (it runs above every client), so one
 * look per session and wake-up is enough. */
static u64 wake_count = 1;

void sessions_woke(void) { wake_count++; }

int session_alive(unsigned i) {
  struct session *s = &sessions[i];
  if (!s->used)
    return 0;
  if (s->seen_alive == wake_count)
    return 1;
  /* A revoke deletes the newest objects first and may stop between two
   * (an interrupt, and blockd runs): while the parking CNode, the newest
   * object made from the donation, is there, the record is too. */
  if (sys_cap_type(env.cnode, park_of(s)).val != K_OBJ_CNODE) {
    s->used = 0;
    busy_update(s);
    held_release(i);
    if (!s->queued) /* else schedule answers its waiting caller first */
      index_free(i);
    return 0;
  }
  s->seen_alive = wake_count;
  return 1;
}

/* blockd's run time goes to the session whose request it served: the
 * kernel counts it (THREAD_TIME, which stands still while blockd waits for
 * the disk), and each wake-up settles the time since the last one, the
 * reply that ended it included, with whoever it was for. */
static struct {
  int session; /* -1: nobody (opening, refused requests) */
  u32 generation;
  u64 at_ns;
} serving = {-1, 0, 0};

void time_start(void) { total.blockd_ns = serving.at_ns = sys_thread_ns(); }

void time_for(const struct session *s) {
  serving.session = (int)(s - sessions);
  serving.generation = s->generation;
}

void settle_time(void) {
  u64 now = sys_thread_ns(), ran = now - serving.at_ns;
  int i = serving.session;
  if (i >= 0 && sessions[i].generation == serving.generation && session_alive((unsigned)i))
    sessions[i].rec->c.blockd_ns += ran;
  else
    total.blockd_ns += ran;
  serving.session = -1;
  serving.at_ns = now;
}


/* A wake-up's completions: the time since it began goes to the sessions
 * whose requests completed, in equal parts (one look at the clock, not
 * one per request). */
void settle_shared(const u32 *who, const u32 *generation, unsigned n) {
  if (n == 0)
    return;
  u64 now = sys_thread_ns(), share = (now - serving.at_ns) / n;
  for (unsigned k = 0; k < n; k++) {
    struct session *s = &sessions[who[k]];
    if (s->generation == generation[k] && session_alive(who[k]))
      s->rec->c.blockd_ns += share;
    else
      total.blockd_ns += share;
  }
  total.blockd_ns += (now - serving.at_ns) - share * n;
  serving.session = -1;
  serving.at_ns = now;
}

struct session *session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  if (i >= max_sessions || sessions[i].generation != server_badge_generation(badge) || !session_alive(i))
    return 0;
  return &sessions[i];
}

/* The donation's size says how many frames the session may park: after
 * its record's table and frame, half of it becomes a CNode of
 * 2^(bits - 7) slots. */
static u32 donation_bits(u64 size) {
  for (u32 b = BLK_DONATION_BITS; b <= BLK_DONATION_MAX_BITS; b++)
    if (size == 1ull << b)
      return b;
  return 0;
}

/* Session i's memory from the donation: the record's table and frame,
 * mapped, then the parking CNode, the newest object, which takes both
 * (blockd keeps three slots a session, whatever it is made of). */
static long session_memory(unsigned i, u32 bits, u64 va) {
  cptr_t donated = session_donated_slot(i), park = donated + 1, table = donated + 1, frame = donated + 2;
  long err = server_session_memory(env.cnode, env.vspace, SERVER_DONATION_SLOT, donated, table, &frame, 1, va);
  if (err)
    return err;
  if (!(err = sys_retype(donated, K_OBJ_CNODE, bits - 7, env.cnode, SERVER_TEMP_SLOT, 1, 0)) &&
      !(err = sys_cnode_move(SERVER_TEMP_SLOT, PARK_RECORD_TABLE, env.cnode, table)) &&
      !(err = sys_cnode_move(SERVER_TEMP_SLOT, PARK_RECORD_FRAME, env.cnode, frame)))
    err = sys_cnode_move(env.cnode, park, env.cnode, SERVER_TEMP_SLOT);
  if (err) {
    sys_cnode_revoke(env.cnode, donated);
    sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated); /* back to the client */
  }
  return err;
}

/* A session whose memory went is noticed when blockd next looks at it; one
 * nobody looks at again would keep its place. So when no place is free,
 * every session is looked at once: the dead ones' places come free. A
 * client cannot make that happen often: after the sweep every place but
 * the live sessions' is free, and each must be taken by an open before
 * the next sweep. */
static void reclaim_places(void) {
  for (unsigned i = 0; i < max_sessions; i++)
    session_alive(i);
}

long open_session(u64 info, u64 disk, cptr_t *reply_cap) {
  if (!free_count)
    reclaim_places();
  if (k_msg_caps(info) != 1 || disk >= ndisks || !free_count)
    return K_ERR_RANGE;
  struct k_cap_info ci;
  if (sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED)
    return K_ERR_WRONG_TYPE;
  u32 bits = donation_bits(ci.size);
  if (!bits)
    return K_ERR_RANGE;
  unsigned i = free_ring[free_head];
  struct session *s = &sessions[i];
  u64 va = SESSION_VA + (u64)i * K_LARGE_PAGE_SIZE;
  sys_cnode_delete(env.cnode, reply_of(s)); /* a saved reply of the index's last session that went */
  long err = session_memory(i, bits, va);
  if (err)
    return err;
  free_head = (free_head + 1) % max_sessions;
  free_count--;
  *s = (struct session){.used = 1, .generation = s->generation + 1, .rec = (struct session_rec *)va};
  s->rec->disk = (u32)disk;
  s->rec->park_slots = 1u << (bits - 7);
  s->rec->park_map[0] = (1u << PARK_FIRST_FREE) - 1; /* slot 0 of every CNode is the kernel's; the record's */
  err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, BLOCKD_PUBLIC_EP, K_RIGHTS_ALL,
                       server_badge(i, s->generation));
  *reply_cap = SERVER_TEMP_SLOT;
  return err;
}

/* BLK_HOLD: the client's word to go is a signal on blockd's own
 * notification (HOLD_BIT). */
long arm_hold(struct session *s, u64 *caps_back) {
  long err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, blockd_ntfn, K_RIGHT_WRITE, HOLD_BIT);
  if (err)
    return err;
  s->held = 1;
  buf->caps[0] = SERVER_TEMP_SLOT;
  *caps_back = 1;
  return K_ERR_OK;
}

/* Requests on the device finish without the session (request_done);
 * parked frames go with its memory. */
long close_session(struct session *s, cptr_t *reply_cap) {
  answer_gone(s, K_ERR_BAD_STATE);
  held_release((unsigned)(s - sessions)); /* uncollected frames go back to their owner's memory */
  cptr_t donated = session_donated_slot((unsigned)(s - sessions));
  long err = sys_cnode_revoke(env.cnode, donated); /* the parking CNode, the record and its table */
  if (!err)
    err = sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated);
  s->used = 0;
  if (s->queued)
    queued_remove(s);
  s->queued = 0;
  busy_update(s);
  index_free((unsigned)(s - sessions));
  *reply_cap = SERVER_DONATION_SLOT;
  return err;
}

void add_counters(struct blk_counters *to, const struct blk_counters *c) {
  to->requests += c->requests;
  to->sectors += c->sectors;
  to->bad_range += c->bad_range;
  to->bad_count += c->bad_count;
  to->not_frames += c->not_frames;
  to->closed_session += c->closed_session;
  to->device_errors += c->device_errors;
  to->bad_op += c->bad_op;
  to->blockd_ns += c->blockd_ns;
  to->full += c->full;
}
