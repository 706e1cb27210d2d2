/* A session's requests from acceptance to answer: the request table and
 * the parking slots in the session's record, fair posting across sessions,
 * and answering the caller that waits (see blockd.h). */
#include "blockd.h"
#include "request.h"
#include "runs.h"

/* Where a waiting caller's frames are gathered when they are not in
 * blockd's root CNode already (a parked request's). */
#define STAGE_SLOT (POOL_SLOT - BLK_MAX_FRAMES)

long request_check(struct session *s, u32 disk, u64 sector, u64 *sectors, u64 frames) {
  struct blk_counters *c = &s->rec->c;
  if (disk >= ndisks) {
    c->bad_range++;
    return K_ERR_RANGE;
  }
  switch (blk_check_request(frames, sector, sectors, disks[disk].capacity)) {
  case BLK_REQUEST_BAD_COUNT:
    c->bad_count++;
    return K_ERR_RANGE;
  case BLK_REQUEST_BAD_RANGE:
    c->bad_range++;
    return K_ERR_RANGE;
  case BLK_REQUEST_OK:
    break;
  }
  return K_ERR_OK;
}

struct request *request_reserve(struct session *s, u32 disk, u8 kind, u64 sector, u64 sectors) {
  struct session_rec *rec = s->rec;
  u16 frames = (u16)blk_frames_for(sectors);
  struct request *r = 0;
  for (unsigned i = 0; i < BLK_MAX_QUEUED && !r; i++)
    if (rec->req[i].state == REQ_FREE)
      r = &rec->req[i];
  int park = !r ? -1 : frames ? runs_take(rec->park_map, rec->park_slots, frames) : 0;
  if (park < 0) {
    rec->c.full++;
    return 0;
  }
  *r = (struct request){.tag = rec->next_tag++, .state = REQ_QUEUED, .kind = kind, .disk = (u8)disk, .frames = frames,
                        .park = (u16)park, .sectors = (u32)sectors, .sector = sector};
  rec->nreq++;
  return r;
}

static void request_free(struct session *s, struct request *r) {
  runs_mark(s->rec->park_map, r->park, r->frames, 0);
  r->state = REQ_FREE;
  s->rec->nreq--;
}

void request_unreserve(struct session *s, struct request *r) { request_free(s, r); }

static u8 index_of(const struct session *s, const struct request *r) { return (u8)(r - s->rec->req); }

static void push(u8 *ring, u8 head, u8 *len, u8 v) { ring[(head + (*len)++) % BLK_MAX_QUEUED] = v; }
static u8 pop(const u8 *ring, u8 *head, u8 *len) {
  u8 v = ring[*head];
  *head = (u8)((*head + 1) % BLK_MAX_QUEUED);
  (*len)--;
  return v;
}

/* Answers the session's waiting caller: the words, and n frames from
 * blockd's slots [first, first + n). A caller that went leaves the frames
 * with blockd: they go back to their owner's memory. */
static void reply_waiter(struct session *s, u64 words, u64 w0, u64 w1, u64 w2, u64 w3, cptr_t first, u64 n) {
  server_gift_slots(buf, first, n);
  long err = sys_reply_to(reply_of(s), k_msg_info(0, words, 0, n), w0, w1, w2, w3);
  s->waiting = WAIT_NONE;
  if (err) { /* a reply that went empties its slot itself */
    sys_cnode_delete(env.cnode, reply_of(s));
    server_drop_leftovers(env.cnode, first, n);
  }
}

void answer_gone(struct session *s, long err) {
  if (s->waiting)
    reply_waiter(s, 4, (u64)err, 0, 0, 0, 0, 0);
}

/* Whether the session's waiting caller waits for r. A BLK_IO caller whose
 * room is too small for it hears so; r waits to be collected. */
static int waits_for(struct session *s, const struct request *r) {
  if (s->waiting == WAIT_ANY && r->frames > s->wait_room) {
    reply_waiter(s, 4, K_ERR_WINDOW_TOO_SMALL, s->wait_first, 0, 0, 0, 0);
    return 0;
  }
  return s->waiting == WAIT_ANY || (s->waiting == WAIT_TAG && s->wait_tag == r->tag);
}

/* r is done and its caller waits: the answer, its frames from (cnode, first). */
static void deliver(struct session *s, struct request *r, cptr_t cnode, cptr_t first) {
  if (cnode != env.cnode) {
    move_frames(env.cnode, STAGE_SLOT, cnode, first, r->frames);
    first = STAGE_SLOT;
  }
  u32 tag = r->tag, frames = r->frames;
  long err = r->err;
  request_free(s, r);
  if (s->waiting == WAIT_TAG)
    reply_waiter(s, 4, (u64)err, 0, 0, 0, first, frames);
  else
    reply_waiter(s, 4, K_ERR_OK, s->wait_first, 1, blk_done_word(tag, (u32)err, frames), first, frames);
}

/* r failed before the device saw it; its frames are parked. */
static void fail_parked(struct session *s, struct request *r, long err) {
  if (err == K_ERR_WRONG_TYPE)
    s->rec->c.not_frames++;
  r->err = (u8)err;
  r->state = REQ_DONE;
  if (waits_for(s, r))
    deliver(s, r, park_of(s), r->park);
  else
    push(s->rec->done, s->rec->dhead, &s->rec->dlen, index_of(s, r));
}

/* The sessions with requests queued: a ring through their entries, in
 * the order schedule serves them, so that its work follows the sessions
 * that wait and not the size of the table. */
static int queued_head = -1, sched_next = -1; /* sched_next: where the next round starts */
static unsigned queued_count;

void queued_add(struct session *s) {
  unsigned i = (unsigned)(s - sessions);
  if (queued_head < 0) {
    s->qnext = s->qprev = i;
    queued_head = (int)i;
  } else {
    struct session *head = &sessions[queued_head];
    s->qnext = (u32)queued_head;
    s->qprev = head->qprev;
    sessions[head->qprev].qnext = i;
    head->qprev = i;
  }
  queued_count++;
}

void queued_remove(struct session *s) {
  unsigned i = (unsigned)(s - sessions);
  if (--queued_count == 0) {
    queued_head = sched_next = -1;
    return;
  }
  sessions[s->qprev].qnext = s->qnext;
  sessions[s->qnext].qprev = s->qprev;
  if (queued_head == (int)i)
    queued_head = (int)s->qnext;
  if (sched_next == (int)i)
    sched_next = (int)s->qnext;
}

/* Sessions share the device: one may have at most DEVICE_SHARE frames (1
 * MiB) on it, and while several have work, a share of that (a request
 * larger than its share still goes when the session has nothing on the
 * device). What the device holds, a newcomer's request waits behind. */
#define DEVICE_SHARE 256
static int within_share(const struct session *s, unsigned frames, unsigned busy) {
  return s->on_device == 0 || s->on_device + frames <= DEVICE_SHARE / busy;
}

static unsigned nbusy; /* sessions used, with requests queued or on the device */

void busy_update(struct session *s) {
  u8 b = s->used && (s->queued || s->on_device);
  nbusy = nbusy + b - s->busy;
  s->busy = b;
}

static unsigned busy_sessions(void) { return nbusy ? nbusy : 1; }

/* Straight to the device when nobody's requests wait before it and the
 * session is within its share. */
void request_start(struct session *s, struct request *r, cptr_t first) {
  struct session_rec *rec = s->rec;
  long err = queued_count || !within_share(s, r->frames, busy_sessions())
                 ? K_ERR_WOULD_BLOCK
                 : device_post(s, r, env.cnode, first);
  if (err == K_ERR_OK)
    return;
  move_frames(park_of(s), r->park, env.cnode, first, r->frames);
  if (err == K_ERR_WOULD_BLOCK) {
    push(rec->queue, rec->qhead, &rec->qlen, index_of(s, r));
    if (s->queued++ == 0)
      queued_add(s);
    busy_update(s);
    schedule();
  } else {
    fail_parked(s, r, err);
  }
}

/* Done requests whose frames wait in the pool until collected (one move
 * fewer a frame than parking them): blockd's own list, so that a session
 * that goes leaves nothing behind, and at most half the pool. */
#define HELD_MAX 64
#define HELD_FRAMES_MAX (POOL_SLOTS / 2)
static struct {
  u8 used;
  u32 session;
  u16 pool, frames;
} held[HELD_MAX];
static unsigned held_frames;

static int hold_in_pool(unsigned i, struct request *r, u16 pool, u16 frames) {
  if (held_frames + frames > HELD_FRAMES_MAX)
    return 0;
  for (unsigned h = 0; h < HELD_MAX; h++)
    if (!held[h].used) {
      held[h].used = 1, held[h].session = i, held[h].pool = pool, held[h].frames = frames;
      held_frames += frames;
      r->held = (u8)(h + 1);
      return 1;
    }
  return 0;
}

static void unhold(unsigned h) {
  pool_release(held[h].pool, held[h].frames);
  held_frames -= held[h].frames;
  held[h].used = 0;
}

void held_release(unsigned i) {
  for (unsigned h = 0; h < HELD_MAX; h++)
    if (held[h].used && held[h].session == i) {
      server_drop_leftovers(env.cnode, POOL_SLOT + held[h].pool, held[h].frames);
      unhold(h);
    }
}

int request_done(unsigned i, u32 generation, u8 req, u32 tag, u16 pool, u16 frames, u32 errors) {
  struct session *s = &sessions[i];
  cptr_t at = POOL_SLOT + pool;
  if (s->generation != generation || !session_alive(i)) {
    total.gone_waiting++;
    if (s->generation == generation && s->waiting == WAIT_TAG && s->wait_tag == tag)
      reply_waiter(s, 4, K_ERR_BAD_STATE, 0, 0, 0, at, frames); /* its frames still go back */
    else if (s->generation == generation)
      answer_gone(s, K_ERR_BAD_STATE);
    server_drop_leftovers(env.cnode, at, frames);
    return 0;
  }
  struct request *r = &s->rec->req[req];
  struct blk_counters *c = &s->rec->c;
  r->err = errors ? K_ERR_IO : K_ERR_OK;
  r->state = REQ_DONE;
  c->requests++;
  c->sectors += r->sectors;
  c->device_errors += errors;
  c->flushes += r->kind == REQ_FLUSH;
  if (waits_for(s, r)) {
    deliver(s, r, env.cnode, at);
    return 0;
  }
  int kept = frames && hold_in_pool(i, r, pool, frames);
  if (!kept)
    move_frames(park_of(s), r->park, env.cnode, at, frames);
  push(s->rec->done, s->rec->dhead, &s->rec->dlen, req);
  return kept;
}

void schedule(void) {
  unsigned busy = busy_sessions();
  for (int progress = 1; progress && queued_count;) {
    progress = 0;
    unsigned i = (unsigned)(sched_next >= 0 ? sched_next : queued_head);
    for (unsigned k = 0, n = queued_count; k < n && queued_count; k++) {
      struct session *s = &sessions[i];
      unsigned next = s->qnext; /* s may leave the ring: then next is still on it, or the ring is empty */
      if (!session_alive(i)) {
        queued_remove(s);
        s->queued = 0;
        answer_gone(s, K_ERR_BAD_STATE);
        index_free(i);
        i = next;
        continue;
      }
      struct session_rec *rec = s->rec;
      struct request *r = &rec->req[rec->queue[rec->qhead]];
      long err = within_share(s, r->frames, busy) ? device_post(s, r, park_of(s), r->park) : K_ERR_WOULD_BLOCK;
      if (err == K_ERR_WOULD_BLOCK) {
        i = next;
        continue;
      }
      pop(rec->queue, &rec->qhead, &rec->qlen);
      if (--s->queued == 0)
        queued_remove(s);
      busy_update(s);
      if (err)
        fail_parked(s, r, err);
      progress = 1;
      if (queued_count)
        sched_next = (int)next; /* the next round starts after the last session served */
      i = next;
    }
  }
}

/* Held requests collected: their frames go out with the answer straight
 * from the pool, which gives their slots back once it went. */
static u8 collected[BLK_IO_MAX_DONE];
static unsigned ncollected;

u64 collect(struct session *s, u64 from, cptr_t first, u64 room, u64 *gifts) {
  struct session_rec *rec = s->rec;
  u64 n = 0, g = 0;
  while (rec->dlen && n < BLK_IO_MAX_DONE) {
    struct request *r = &rec->req[rec->done[rec->dhead]];
    if (g + r->frames > room || g + r->frames > K_IPC_MAX_GIFTS)
      break;
    pop(rec->done, &rec->dhead, &rec->dlen);
    cptr_t at = first + g;
    if (r->held) { /* waiting in the pool: straight out from there */
      unsigned h = r->held - 1u;
      at = POOL_SLOT + held[h].pool;
      collected[ncollected++] = (u8)h;
      r->held = 0;
    } else {
      move_frames(env.cnode, at, park_of(s), r->park, r->frames);
    }
    for (unsigned i = 0; i < r->frames; i++)
      buf->gifts[g + i] = (u32)(at + i);
    buf->words[from + n++] = blk_done_word(r->tag, r->err, r->frames);
    g += r->frames;
    request_free(s, r);
  }
  *gifts = g;
  return n;
}

void collected_replied(long err) {
  for (unsigned k = 0; k < ncollected; k++) {
    unsigned h = collected[k];
    if (err) /* the answer may not have gone: what it left goes back to its owner */
      server_drop_leftovers(env.cnode, POOL_SLOT + held[h].pool, held[h].frames);
    unhold(h);
  }
  ncollected = 0;
}
