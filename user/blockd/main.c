/* blockd: the requests of the session protocol, and the service loop
 * (see blockd.h). */
#include "blockd.h"

struct env env;
struct k_ipc_buffer *buf;
struct blk_counters total;
int test_hooks; /* BLK_HOLD is honoured: started as "blockd:1" */

/* The frames a request brought go back with its answer, unless blockd
 * took them. */
static void frames_back(const struct msg_regs *m, struct server_answer *a) {
  a->gifts = server_gift_slots(buf, SERVER_GIFT_SLOT, k_msg_gifts(m->info));
}

/* The caller's reply is kept; the answer comes when `how` is met. */
static long wait_here(struct session *s, u8 how, u32 tag) {
  long err = sys_reply_save(env.cnode, reply_of(s));
  if (!err) {
    s->waiting = how;
    s->wait_tag = s->wait_first = tag;
  }
  return err;
}

/* BLK_READ, BLK_WRITE: one request, answered when the device is done
 * (or at once, when it fails before the device sees it). */
static void one_request(struct session *s, int write, const struct msg_regs *m, struct server_answer *a) {
  u64 sectors = m->w[1], n = k_msg_gifts(m->info);
  u32 disk = s->rec->disk;
  long err = s->waiting ? K_ERR_BAD_STATE : request_check(s, disk, m->w[0], &sectors, n);
  struct request *r = err ? 0 : request_reserve(s, disk, write ? REQ_WRITE : REQ_READ, m->w[0], sectors);
  if (r && (err = wait_here(s, WAIT_TAG, r->tag)))
    request_unreserve(s, r);
  if (err || !r) {
    a->err = (u64)(err ? err : K_ERR_NO_MEMORY);
    frames_back(m, a);
    return;
  }
  request_start(s, r, SERVER_GIFT_SLOT);
  a->saved = 1;
}

/* Word i of a message: the first K_IPC_REG_WORDS came in registers. */
static u64 word(const struct msg_regs *m, u64 i) { return i < K_IPC_REG_WORDS ? m->w[i] : buf->words[i]; }

static u32 disk_of(const struct session *s, u64 w) {
  u32 field = blk_req_disk_field(w);
  return field ? field - 1 : s->rec->disk;
}

/* BLK_IO's requests: all checked, then all reserved, or none. Returns the
 * index of the first refused one in *bad. */
static long submit(struct session *s, const struct msg_regs *m, u64 nreq, u32 *first_tag, u64 *bad) {
  static struct request *taken[BLK_IO_MAX_REQUESTS];
  u64 frames = 0, i;
  long err = K_ERR_OK;
  for (i = 0; i < nreq && !err; i++) {
    *bad = i;
    u64 sector = word(m, 1 + 2 * i), w = word(m, 2 + 2 * i), sectors = blk_req_sectors(w);
    u64 n = sectors ? blk_frames_for(sectors) : 0;
    if (blk_req_reserved_bits(w)) {
      s->rec->c.bad_op++;
      err = K_ERR_RANGE;
    } else if (!(err = request_check(s, disk_of(s, w), sector, &sectors, n))) {
      frames += n;
    }
  }
  if (err)
    return err;
  if (frames != k_msg_gifts(m->info)) {
    s->rec->c.bad_count++;
    *bad = nreq; /* the frames do not add up */
    return K_ERR_RANGE;
  }
  for (i = 0; i < nreq; i++) {
    u64 w = word(m, 2 + 2 * i);
    taken[i] = request_reserve(s, disk_of(s, w), blk_req_write(w) ? REQ_WRITE : REQ_READ, word(m, 1 + 2 * i),
                               blk_req_sectors(w));
    if (!taken[i]) { /* the session's requests or slots are all in use: none of the batch */
      *bad = i;
      while (i--)
        request_unreserve(s, taken[i]);
      return K_ERR_NO_MEMORY;
    }
  }
  *first_tag = nreq ? taken[0]->tag : s->rec->next_tag;
  for (i = 0, frames = 0; i < nreq; i++) {
    request_start(s, taken[i], SERVER_GIFT_SLOT + frames);
    frames += taken[i]->frames;
  }
  return K_ERR_OK;
}

/* BLK_FLUSH: a request without frames, answered when the device is done. */
static void flush(struct session *s, u64 w0, struct server_answer *a) {
  struct request *r = 0;
  u32 disk = w0 ? (u32)w0 - 1 : s->rec->disk;
  long err = K_ERR_OK;
  if (s->waiting)
    err = K_ERR_BAD_STATE;
  else if (w0 > ndisks)
    err = K_ERR_RANGE, s->rec->c.bad_range++;
  else if (!disks[disk].cache)
    return; /* it writes through: nothing to wait for */
  else if (!(r = request_reserve(s, disk, REQ_FLUSH, 0, 0)))
    err = K_ERR_NO_MEMORY;
  else if ((err = wait_here(s, WAIT_TAG, r->tag)))
    request_unreserve(s, r);
  if (err) {
    a->err = (u64)err;
    return;
  }
  request_start(s, r, SERVER_GIFT_SLOT);
  a->saved = 1;
}

static void io(struct session *s, const struct msg_regs *m, struct server_answer *a) {
  u64 nreq = blk_io_requests(m->w[0]), bad = 0;
  u32 first = 0;
  long err = K_ERR_OK;
  if (s->waiting)
    err = K_ERR_BAD_STATE; /* one caller waits per session */
  else if (nreq > BLK_IO_MAX_REQUESTS || k_msg_words(m->info) < 1 + 2 * nreq)
    err = K_ERR_RANGE, s->rec->c.bad_count++;
  else
    err = submit(s, m, nreq, &first, &bad);
  if (err) {
    a->err = (u64)err;
    a->w1 = bad;
    frames_back(m, a);
    return;
  }
  u64 room = blk_io_room(m->w[0]), done = collect(s, 3, SERVER_GIFT_SLOT, room, &a->gifts);
  struct session_rec *rec = s->rec;
  if (!done && blk_io_wait(m->w[0]) && rec->nreq > rec->dlen) {
    s->wait_room = (u16)(room < K_IPC_MAX_GIFTS ? room : K_IPC_MAX_GIFTS);
    a->saved = !(err = wait_here(s, WAIT_ANY, first));
    a->err = (u64)err;
    return;
  }
  a->w1 = first;
  a->w2 = done;
  a->w3 = buf->words[3];
  a->words = 3 + done;
}

static void stats(struct session *s, struct server_answer *a) {
  struct blk_counters c = s->rec->c;
  struct k_untyped_usage u;
  a->w1 = c.bad_range + c.bad_count + c.not_frames + c.device_errors + c.bad_op;
  a->w2 = sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, &u, K_USAGE_RECURSIVE) ? 0 : u.size - u.free;
  a->w3 = c.blockd_ns;
  buf->words[4] = c.bad_range;
  buf->words[5] = c.bad_count;
  buf->words[6] = c.not_frames;
  buf->words[7] = total.gone_waiting;
  buf->words[8] = c.full;
  buf->words[9] = c.requests;
  buf->words[10] = c.flushes;
  a->words = BLK_STATS_WORDS;
}

static void handle(const struct msg_regs *m, struct server_answer *a) {
  u32 op = k_msg_label(m->info);
  if (m->badge == 0) { /* the public endpoint: only OPEN */
    frames_back(m, a);
    cptr_t cap;
    long err = op == BLK_OPEN ? open_session(m->info, m->w[0], &cap) : K_ERR_BAD_STATE;
    if (!err) {
      buf->caps[0] = cap;
      a->caps = 1;
    }
    a->err = (u64)err;
    return;
  }
  struct session *s = session_of(m->badge);
  if (!s) {
    total.closed_session++;
    a->err = K_ERR_BAD_STATE;
    frames_back(m, a);
    return;
  }
  time_for(s);
  if (k_msg_gifts(m->info) && op != BLK_READ && op != BLK_WRITE && op != BLK_IO) {
    s->rec->c.bad_op++; /* frames only come with these: they go back */
    a->err = K_ERR_RANGE;
    frames_back(m, a);
    return;
  }
  switch (op) {
  case BLK_INFO:
    a->w1 = disks[s->rec->disk].capacity;
    return;
  case BLK_READ:
  case BLK_WRITE:
    one_request(s, op == BLK_WRITE, m, a);
    return;
  case BLK_IO:
    io(s, m, a);
    return;
  case BLK_FLUSH:
    flush(s, m->w[0], a);
    return;
  case BLK_STATS:
    stats(s, a);
    return;
  case BLK_CLOSE: {
    cptr_t cap;
    add_counters(&total, &s->rec->c);
    a->err = (u64)close_session(s, &cap);
    if (!a->err) {
      buf->caps[0] = cap;
      a->caps = 1;
    }
    return;
  }
  case BLK_HOLD:
    if (test_hooks) {
      a->err = (u64)arm_hold(s, &a->caps);
      return;
    }
    s->rec->c.bad_op++; /* elsewhere it is an unknown request */
    a->err = K_ERR_BAD_SYSCALL;
    return;
  default:
    s->rec->c.bad_op++;
    a->err = K_ERR_BAD_SYSCALL;
  }
}

static void woke(void) {
  sessions_woke();
  settle_time();
}

/* Whatever the handler did may have made work for the device. */
static void handle_and_post(const struct msg_regs *m, struct server_answer *a) {
  handle(m, a);
  device_kick();

}

int main(u64 arg) {
  test_hooks = arg == 1;
  env = env_of_program(BLOCKD_ENV_SLOTS);
  env.end_slot = POOL_SLOT - BLK_MAX_FRAMES; /* the stage and the pool are not env's */
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = devices_setup();
  if (!err)
    err = sessions_setup();
  if (err) {
    printf("blockd: cannot start: %s\n", err_name(err));
    return 1;
  }
  printf("blockd: ready, %u disk%s, room for %u sessions (one per %u KiB of memory, %u bytes of blockd's each)%s\n",
         ndisks, ndisks == 1 ? "" : "s", max_sessions, 1u << (BLK_DONATION_BITS - 10),
         (unsigned)(sizeof(struct session) + sizeof(u32) + (BLOCKD_SESSION_STRIDE << K_CNODE_SLOT_BITS)),
         test_hooks ? ", test hooks on" : "");
  time_start(); /* starting up was nobody's work */
  static const struct server blockd = {.ep = BLOCKD_PUBLIC_EP, .open_label = BLK_OPEN, .close_label = BLK_CLOSE,
                                       .recv_slots = BLOCKD_RECV_SLOTS, .handle = handle_and_post,
                                       .notified = device_event, .woke = woke,
                                       .replied = collected_replied};
  server_run(&blockd, &env, buf);
}
