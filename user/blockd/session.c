/* blockd's sessions: built from the client's donation, alive while it
 * is, and the time blockd spends on each (see blockd.h). */
#include "blockd.h"
#include <server.h>

#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB */

struct session sessions[BLOCKD_MAX_SESSIONS];

/* The upper tables of the session area are blockd's own (a fixed cost);
 * each session brings its page table. */
long sessions_setup(void) {
  cptr_t pdpt, pd;
  long err;
  if ((err = env_retype(&env, K_OBJ_PDPT, 0, &pdpt)) || (err = sys_page_table_map(pdpt, env.vspace, SESSION_VA)) ||
      (err = env_retype(&env, K_OBJ_PD, 0, &pd)) || (err = sys_page_table_map(pd, env.vspace, SESSION_VA)))
    return err;
  return K_ERR_OK;
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
  if (sys_cap_type(env.cnode, s->park).val != K_OBJ_CNODE) {
    s->used = 0;
    held_release(i);
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
  u8 generation;
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
void settle_shared(const u8 *who, const u8 *generation, unsigned n) {
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
  if (i >= BLOCKD_MAX_SESSIONS || sessions[i].generation != server_badge_generation(badge) || !session_alive(i))
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

long open_session(u64 info, u64 disk, cptr_t *reply_cap) {
  unsigned i = 0;
  while (i < BLOCKD_MAX_SESSIONS && session_alive(i))
    i++;
  if (k_msg_caps(info) != 1 || disk >= ndisks || i == BLOCKD_MAX_SESSIONS)
    return K_ERR_RANGE;
  struct k_cap_info ci;
  if (sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED)
    return K_ERR_WRONG_TYPE;
  u32 bits = donation_bits(ci.size);
  if (!bits)
    return K_ERR_RANGE;
  struct session *s = &sessions[i];
  cptr_t donated = SESSION_SLOTS + SESSION_STRIDE * i, table = donated + 1, frame = donated + 2, park = donated + 3;
  u64 va = SESSION_VA + (u64)i * K_LARGE_PAGE_SIZE;
  long err = server_session_memory(env.cnode, env.vspace, SERVER_DONATION_SLOT, donated, table, &frame, 1, va);
  if (err)
    return err;
  if ((err = sys_retype(donated, K_OBJ_CNODE, bits - 7, env.cnode, park, 1, 0))) {
    sys_cnode_revoke(env.cnode, donated);
    sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated); /* back to the client */
    return err;
  }
  sys_cnode_delete(env.cnode, donated + 4); /* a saved reply of the index's last session that went */
  *s = (struct session){.used = 1, .generation = (u8)(s->generation + 1), .donated = donated, .table = table,
                        .frame = frame, .park = park, .reply_slot = donated + 4,
                        .rec = (struct session_rec *)va};
  s->rec->disk = (u32)disk;
  s->rec->park_slots = 1u << (bits - 7);
  s->rec->park_map[0] = 1; /* slot 0 of every CNode is the kernel's */
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
  long err = sys_cnode_revoke(env.cnode, s->donated); /* the record, its table, the parking CNode */
  if (!err)
    err = sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, s->donated);
  s->used = 0;
  s->queued = 0;
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
