/* blkattack:N, a hostile client of blockd (issue 16), booted beside
 * blkgood by scripts/run-blk-attacks.sh, which compares blkgood's reads
 * before and while it runs. It starts when blkgood signals the
 * notification init gave both. N chooses the attack:
 *   0  none: it only waits;
 *   2  session flood: sessions of 64 KiB from all of its memory, held;
 *   3  hoarding: reads on a session of its own, as many as blockd takes,
 *      never collected, and more tried every millisecond;
 *   4  death mid-request: round after round a session from fresh memory,
 *      reads submitted into frames of that memory, the memory revoked at
 *      once (the device is still reading into them);
 *   5  protocol abuse: random requests, words and frames on its session,
 *      on a closed session's endpoint and on blockd's public one;
 *   6  a busy neighbour, not an attack: it computes and asks nobody for
 *      anything (what any principal may do with its share of the CPU).
 * It prints "blkattack:N ..." lines: what it did and what blockd answered,
 * once set up and then every second. Bounded: it stops after
 * ATTACK_SECONDS. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <blk.h>
#include <abi/bootinfo.h>
#include <attack.h>

#define BLOCKD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define ATTACK_GO (K_BI_SLOT_FIRST_FREE_FIXED + 1)
#define ATTACK_SECONDS 600
#define REPORT_NS 1000000000ull
#define FRAMES 16 /* a request's: 64 KiB */
#define RING_SLOT 1024
#define RING_FRAMES ((BLK_MAX_QUEUED + 1) * FRAMES) /* a full table's, and one request more */

static struct env env;
static struct k_ipc_buffer *buf;
static cptr_t tick;
static struct attack at = {.name = "blkattack", .report_ns = REPORT_NS};

static void sleep_ns(u64 ns) {
  sys_ntfn_set_timer(tick, sys_time_ns() + ns, 1);
  sys_wait(tick);
}

/* A session on a donation of 2^bits made from `from` into `donation`. */
static long open_from(cptr_t from, u32 bits, cptr_t donation, cptr_t sess) {
  return session_open_in(env.cnode, buf, BLOCKD_EP, BLK_OPEN, bits, 0, from, donation, sess);
}

/* BLK_IO: nreq reads of FRAMES frames each, from sector 0 on, their frames
 * the ring's from `first`; room for no completion (nothing collected).
 * Refused frames come back where they left. */
static long submit_reads(cptr_t s, u64 nreq, cptr_t first) {
  for (u64 i = 0; i < nreq; i++) {
    buf->words[1 + 2 * i] = i * FRAMES * BLK_SECTORS_PER_FRAME;
    buf->words[2 + 2 * i] = blk_req_word(FRAMES * BLK_SECTORS_PER_FRAME, 0);
  }
  for (u64 i = 0; i < nreq * FRAMES; i++)
    buf->gifts[i] = (u32)(first + i);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = first;
  buf->recv_count = nreq * FRAMES;
  buf->recv_window = 0;
  struct msg_regs r = sys_call(s, k_msg_info(BLK_IO, 1 + 2 * nreq, 0, nreq * FRAMES), blk_io_word(nreq, 0, 0),
                               buf->words[1], buf->words[2], buf->words[3]);
  return r.err ? r.err : (long)r.w[0];
}

static void session_flood(void) {
  cptr_t donation = env_slot(&env);
  long err = K_ERR_OK;
  while (!err) {
    err = open_from(env.untyped, BLK_DONATION_BITS, donation, env_slot(&env));
    attack_count(&at, err);
    at.rounds += !err;
  }
  printf("blkattack:2 holds %llu sessions (%llu KiB of its memory); the next met %s\n", at.rounds,
         at.rounds << (BLK_DONATION_BITS - 10), err_name(err));
}

static void hoard(void) {
  cptr_t s = env_slot(&env);
  long err = open_from(env.untyped, BLK_DONATION_MAX_BITS, env_slot(&env), s);
  for (u64 f = 0; !err && f < RING_FRAMES; f += K_RETYPE_MAX_COUNT)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, RING_SLOT + f,
                     RING_FRAMES - f < K_RETYPE_MAX_COUNT ? RING_FRAMES - f : K_RETYPE_MAX_COUNT, 0);
  u64 sent = 0;
  for (u64 k = 0; !err && k < BLK_MAX_QUEUED; k += 16, sent += 16)
    err = submit_reads(s, 16, RING_SLOT + k * FRAMES);
  printf("blkattack:3 hoards %llu reads of 64 KiB, never collected: %s\n", sent, err_name(err));
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; sys_time_ns() < end; at.rounds++) {
    attack_count(&at, submit_reads(s, 1, RING_SLOT + RING_FRAMES - FRAMES)); /* the spare request's frames: refused, back again */
    sleep_ns(1000000);
    attack_report_due(&at);
  }
}

/* Each round's memory is a bank made from an arena of 8 MiB; when the
 * arena is spent (the device may still hold frames of earlier rounds,
 * whose memory waits for it) the arena is emptied, and the attacker waits
 * a little: it spends only its own memory. */
#define ARENA_BITS 23
#define BANK_BITS 19
static void die_mid_request(void) {
  cptr_t arena = env_slot(&env), bank = env_slot(&env), donation = env_slot(&env), sess = env_slot(&env);
  cptr_t first = RING_SLOT;
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, ARENA_BITS, env.cnode, arena, 1, 0);
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; !err && sys_time_ns() < end;) {
    long e = sys_retype(arena, K_OBJ_UNTYPED, BANK_BITS, env.cnode, bank, 1, 0);
    if (e == K_ERR_NO_MEMORY) {
      attack_count(&at, e);
      sys_cnode_revoke(env.cnode, arena);
      sleep_ns(10000000ull);
      continue;
    }
    if (!e)
      e = open_from(bank, BLK_DONATION_BITS, donation, sess);
    if (!e)
      e = sys_retype(bank, K_OBJ_FRAME_4K, 0, env.cnode, first, 4 * FRAMES, 0);
    if (!e)
      e = submit_reads(sess, 4, first);
    attack_count(&at, e);
    err = sys_cnode_revoke(env.cnode, bank); /* dies: its session, and its frames the device is reading into */
    sys_cnode_delete(env.cnode, bank);
    sys_cnode_delete(env.cnode, sess);
    at.rounds++;
    attack_report_due(&at);
  }
  printf("blkattack:4 stopped after %llu rounds: %s\n", at.rounds, err_name(err));
}

static void abuse(void) {
  cptr_t s = env_slot(&env), stale = env_slot(&env), first = RING_SLOT;
  long err = open_from(env.untyped, BLK_DONATION_BITS, env_slot(&env), s);
  if (!err)
    err = open_from(env.untyped, BLK_DONATION_BITS, env_slot(&env), stale);
  if (!err)
    err = blk_close(&env, buf, stale);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, first, 8, 0);
  if (err) {
    printf("blkattack:5 cannot start: %s\n", err_name(err));
    return;
  }
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; sys_time_ns() < end; at.rounds++) {
    u64 r = attack_rnd(&at), target = r & 3;
    cptr_t ep = target == 0 ? BLOCKD_EP : target == 1 ? stale : s;
    u32 op = (u32)(r >> 8) % 12;
    u64 words = (r >> 16) % 8, gifts = (r >> 24) % 5;
    if (op == BLK_OPEN || op == BLK_CLOSE)
      op = BLK_STATS; /* sessions of its own are not the point here */
    for (u64 i = 0; i < gifts; i++)
      buf->gifts[i] = (u32)(first + i);
    for (u64 i = 4; i < words; i++)
      buf->words[i] = attack_rnd(&at);
    buf->recv_cnode = env.cnode, buf->recv_slot = first, buf->recv_count = 8, buf->recv_window = 0;
    u64 w0 = attack_rnd(&at) % 4 == 0 ? 0 : attack_rnd(&at), w1 = attack_rnd(&at) % 2 ? attack_rnd(&at) % 64 : attack_rnd(&at);
    if (op == BLK_IO)
      w0 &= ~1ull; /* no waiting for a completion: it would only hold this thread */
    struct msg_regs m = sys_call(ep, k_msg_info(op, words, 0, gifts), w0, w1, attack_rnd(&at), attack_rnd(&at));
    attack_count(&at, m.err ? m.err : (long)m.w[0]);
    struct k_cap_info ci; /* a frame blockd kept (a request it took) is made again */
    for (u64 i = 0; i < 8; i++)
      if (sys_cap_identify(env.cnode, first + i, &ci) || ci.type != K_OBJ_FRAME_4K) {
        sys_cnode_delete(env.cnode, first + i);
        sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, first + i, 1, 0);
      }
    attack_report_due(&at);
  }
}

int main(u64 arg) {
  u64 mode = at.mode = arg;
  env = env_of_program(32);
  env.end_slot = RING_SLOT;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &tick);
  if (err) {
    printf("blkattack: cannot start: %s\n", err_name(err));
    return 1;
  }
  printf("blkattack:%llu waits for blkgood\n", mode);
  sys_wait(ATTACK_GO);
  printf("blkattack:%llu starts\n", mode);
  switch (mode) {
  case 2:
    session_flood();
    break;
  case 3:
    hoard();
    break;
  case 4:
    die_mid_request();
    break;
  case 5:
    abuse();
    break;
  case 6:
    attack_compute(&at, ATTACK_SECONDS);
    break;
  }
  attack_hold(&at, tick);
}
