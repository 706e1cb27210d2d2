/* blockd: the service loop, and reads and writes (see blockd.h). */
#include "blockd.h"
#include "request.h"
#include <server.h>

struct env env;
struct k_ipc_buffer *buf;
struct blk_counters total;
int test_hooks; /* BLK_HOLD is honoured: started as "blockd:1" */

/* Checks a read or write; on success the frames are pinned, phys filled. */
static long check_io(struct session *s, u64 info, u64 sector, u64 *count, u64 *phys) {
  u64 n = k_msg_gifts(info);
  struct blk_counters *c = &s->rec->c;
  switch (blk_check_request(n, sector, count, disks[s->rec->disk].capacity)) {
  case BLK_REQUEST_BAD_COUNT:
    c->bad_count++;
    return K_ERR_RANGE;
  case BLK_REQUEST_BAD_RANGE:
    c->bad_range++;
    return K_ERR_RANGE;
  case BLK_REQUEST_OK:
    break;
  }
  long err = sys_dma_pin_range(K_BI_SLOT_DMA, SERVER_GIFT_SLOT, n, phys).err; /* 4 KiB frames, all or none */
  if (err == K_ERR_WRONG_TYPE)
    c->not_frames++;
  return err;
}

static long do_io(struct session *s, int write, u64 info, u64 sector, u64 count) {
  static u64 phys[BLK_MAX_FRAMES];
  u64 n = k_msg_gifts(info);
  long err = check_io(s, info, sector, &count, phys);
  if (err)
    return err;
  struct disk *d = &disks[s->rec->disk];
  cptr_t hold = s->held ? s->hold : 0;
  s->held = 0;
  unsigned failed = run_io(d, write, sector, count, phys, n, hold);
  for (u64 i = 0; i < n; i++)
    sys_dma_unpin(K_BI_SLOT_DMA, SERVER_GIFT_SLOT + i);
  /* blockd waited for the device: meanwhile the session's memory may have
   * gone (another thread of the client, or its parent, revoked it), and
   * its record with it. The frames still go back with the answer. */
  if (!session_alive((unsigned)(s - sessions))) {
    total.closed_session++;
    total.gone_waiting++;
    return K_ERR_BAD_STATE;
  }
  s->rec->c.requests++;
  s->rec->c.sectors += count;
  if (failed) {
    s->rec->c.device_errors += failed;
    return K_ERR_IO;
  }
  return K_ERR_OK;
}

static u64 request(const struct msg_regs *r, u64 *w1, u64 *w2, u64 *w3, u64 *words, u64 *caps_back) {
  u32 op = k_msg_label(r->info);
  if (r->badge == 0) { /* the public endpoint: only OPEN */
    cptr_t cap;
    long err = op == BLK_OPEN ? open_session(r->info, r->w[0], &cap) : K_ERR_BAD_STATE;
    if (!err) {
      buf->caps[0] = cap;
      *caps_back = 1;
    }
    return (u64)err;
  }
  struct session *s = session_of(r->badge);
  if (!s) {
    total.closed_session++;
    return K_ERR_BAD_STATE;
  }
  time_for(s);
  switch (op) {
  case BLK_INFO:
    *w1 = disks[s->rec->disk].capacity;
    return K_ERR_OK;
  case BLK_READ:
  case BLK_WRITE:
    return (u64)do_io(s, op == BLK_WRITE, r->info, r->w[0], r->w[1]);
  case BLK_STATS: {
    struct blk_counters c = s->rec->c;
    struct k_untyped_usage u;
    *w1 = c.bad_range + c.bad_count + c.not_frames + c.device_errors + c.bad_op;
    *w2 = sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, &u, K_USAGE_RECURSIVE) ? 0 : u.size - u.free;
    *w3 = c.blockd_ns;
    buf->words[4] = c.bad_range;
    buf->words[5] = c.bad_count;
    buf->words[6] = c.not_frames;
    buf->words[7] = total.gone_waiting;
    *words = BLK_STATS_WORDS;
    return K_ERR_OK;
  }
  case BLK_CLOSE: {
    cptr_t cap;
    add_counters(&total, &s->rec->c);
    long err = close_session(s, &cap);
    if (!err) {
      buf->caps[0] = cap;
      *caps_back = 1;
    }
    return (u64)err;
  }
  case BLK_HOLD:
    if (test_hooks)
      return (u64)arm_hold(s, caps_back);
    s->rec->c.bad_op++; /* elsewhere it is an unknown request */
    return K_ERR_BAD_SYSCALL;
  default:
    s->rec->c.bad_op++;
    return K_ERR_BAD_SYSCALL;
  }
}

/* Gifted frames always go back with the answer, whatever happened. */
static void handle(const struct msg_regs *m, struct server_answer *a) {
  a->err = request(m, &a->w1, &a->w2, &a->w3, &a->words, &a->caps);
  a->gifts = server_gift_slots(buf, SERVER_GIFT_SLOT, k_msg_gifts(m->info));
}

int main(u64 arg) {
  test_hooks = arg == 1;
  env = env_of_program(SESSION_SLOTS + SESSION_STRIDE * BLOCKD_MAX_SESSIONS);
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = devices_setup();
  if (!err)
    err = sessions_setup();
  if (err) {
    printf("blockd: cannot start: %s\n", err_name(err));
    return 1;
  }
  printf("blockd: ready, %u disk%s%s\n", ndisks, ndisks == 1 ? "" : "s", test_hooks ? ", test hooks on" : "");
  time_start(); /* starting up was nobody's work */
  static const struct server blockd = {.ep = BLOCKD_PUBLIC_EP, .open_label = BLK_OPEN, .close_label = BLK_CLOSE,
                                       .recv_slots = BLK_MAX_FRAMES, .handle = handle, .woke = settle_time};
  server_run(&blockd, &env, buf);
}
