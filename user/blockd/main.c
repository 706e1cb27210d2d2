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
  long err = sys_dma_pin_range(K_BI_SLOT_DMA, GIFT_SLOT, n, phys).err; /* 4 KiB frames, all or none */
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
    sys_dma_unpin(K_BI_SLOT_DMA, GIFT_SLOT + i);
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

static void set_receive(void) {
  buf->recv_cnode = env.cnode;
  buf->recv_slot = GIFT_SLOT;
  buf->recv_count = BLK_MAX_FRAMES;
  buf->recv_window = 0; /* blockd never maps its clients' frames */
}

static u64 handle(struct msg_regs *r, u64 *w1, u64 *w2, u64 *w3, u64 *words, u64 *caps_back) {
  u32 op = k_msg_label(r->info);
  *w1 = *w2 = *w3 = 0;
  *words = 4;
  *caps_back = 0;
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

/* Gifted frames always go back with the reply, whatever happened. */
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
  set_receive();
  time_start(); /* starting up was nobody's work */
  struct msg_regs r = sys_recv(BLOCKD_PUBLIC_EP);
  for (;;) {
    settle_time();
    if (r.err) {
      server_drop_leftovers(env.cnode, GIFT_SLOT, BLK_MAX_FRAMES);
      r = sys_recv(BLOCKD_PUBLIC_EP);
      continue;
    }
    u64 w1, w2, w3, words, ncaps;
    server_sort_received(env.cnode, GIFT_SLOT, k_msg_caps(r.info), k_msg_gifts(r.info),
                         r.badge == 0 && k_msg_label(r.info) == BLK_OPEN ? DONATION_SLOT : 0);
    u64 err_code = handle(&r, &w1, &w2, &w3, &words, &ncaps);
    u64 gifts = server_gift_slots(buf, GIFT_SLOT, k_msg_gifts(r.info));
    r = sys_reply_recv(BLOCKD_PUBLIC_EP, k_msg_info(0, words, ncaps, gifts), err_code, w1, w2, w3);
    sys_cnode_delete(env.cnode, TEMP_SLOT); /* the client's copy of a session stays */
    sys_cnode_delete(env.cnode, DONATION_SLOT); /* a donation the client would not take back */
  }
}
