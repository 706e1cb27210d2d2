/* netattack:N, a hostile client of netd (issue 16), run beside netecho
 * by scripts/run-attacks.sh, which measures netecho's UDP echo from the
 * host with and without it. N chooses the attack:
 *   0  none: it only sleeps (the baseline, with the same programs);
 *   2  session flood: sessions of 64 KiB each, as many as netd takes,
 *      held for good;
 *   3  hoarding: a session on UDP port 9 (the host sends there too) with
 *      64 frames donated once, never collected;
 *   4  death mid-request: round after round a session from fresh memory,
 *      frames donated and one sent, and the memory revoked at once;
 *   5  protocol abuse: random requests, words and frames on its session,
 *      on a closed session's endpoint and on netd's public one;
 *   6  a busy neighbour, not an attack: it computes, asking nobody for
 *      anything (what any principal may do with its share of the CPU: the
 *      baseline for the attacks that make netd work).
 * It starts when a datagram reaches its UDP port 9999. Every 5 s it prints
 * a line "netattack:N ..." with what it did and what netd answered.
 * Bounded: it stops after ATTACK_SECONDS. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <net.h>
#include <abi/bootinfo.h>
#include <attack.h>

#define NETD_EP K_BI_SLOT_FIRST_FREE_FIXED /* from init */
#define ATTACK_SECONDS 600
#define REPORT_NS 5000000000ull
#define FRAME_VA 0x0000500000000000ull

static struct env env;
static struct k_ipc_buffer *buf;
static cptr_t tick;
static struct attack at = {.name = "netattack", .report_ns = REPORT_NS};

static void sleep_ns(u64 ns) {
  sys_ntfn_set_timer(tick, sys_time_ns() + ns, 1);
  sys_wait(tick);
}

static long call(cptr_t ep, u32 op, u64 words, u64 w0, u64 w1, u64 gifts) {
  struct msg_regs r = sys_call(ep, k_msg_info(op, words, 0, gifts), w0, w1, 0, 0);
  long err = r.err ? r.err : (long)r.w[0];
  attack_count(&at, err);
  return err;
}

/* n frames of `from` into slots [first, first + n), given to session s's pool. */
static long donate(cptr_t s, cptr_t from, cptr_t first, u64 n) {
  long err = sys_retype(from, K_OBJ_FRAME_4K, 0, env.cnode, first, n, 0);
  if (err)
    return err;
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(first + i);
  buf->recv_count = 0;
  return call(s, NET_RECV, 2, 0, 0, n);
}

static void session_flood(void) {
  u64 held = 0;
  long err = K_ERR_OK;
  while (!err) {
    cptr_t s;
    err = session_open(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 20000 + held), &s);
    attack_count(&at, err);
    held += !err;
  }
  at.rounds = held;
  printf("netattack:2 holds %llu sessions (%llu KiB of its memory); the next was refused: %s\n", held,
         held << (NET_DONATION_BITS - 10), err_name(err));
}

static void hoard(void) {
  cptr_t s, first = env.next_slot;
  env.next_slot += 64;
  long err = session_open(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 9), &s);
  if (!err)
    err = donate(s, env.untyped, first, 64);
  printf("netattack:3 hoards: 64 frames donated on port 9, never collected: %s\n", err_name(err));
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; sys_time_ns() < end;) {
    sleep_ns(REPORT_NS);
    struct net_stats st;
    if (!net_stats(buf, s, &st))
      printf("netattack:3 its session: %llu delivered, %llu dropped as its queue was full, %llu with no spare\n",
             st.mine.rx_packets, st.mine.drop_queue_full, st.mine.drop_no_spare);
  }
}

/* A 60-byte frame of a local experimental EtherType to an address nobody
 * has (QEMU's user network drops it). */
static void nobody_frame(u8 *f) {
  memset(f, 0, 60);
  f[0] = 0x02, f[5] = 0x01, f[12] = 0x88, f[13] = 0xb5;
}

/* Opens a session on a donation of `bits` from `from` into fixed slots
 * (rounds would use up its slots otherwise). */
static long open_in(cptr_t from, cptr_t donation, cptr_t sess, u64 filter) {
  long err = session_open_in(env.cnode, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, filter, from, donation, sess);
  buf->recv_count = 0;
  attack_count(&at, err);
  return err;
}

/* Each round's memory is made from `bank`, whose revoke ends the round:
 * the session, its frames wherever they are, and the memory is the bank's
 * to make again (a deleted untyped's memory is not, in its parent). */
static void die_mid_request(void) {
  cptr_t bank = env_slot(&env), mem = env_slot(&env), donation = env_slot(&env), sess = env_slot(&env);
  cptr_t frame = env_slot(&env), first = env.next_slot;
  env.next_slot += 16;
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, 19, env.cnode, bank, 1, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, FRAME_VA, K_PAGE_SIZE);
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; !err && sys_time_ns() < end;) {
    err = sys_retype(bank, K_OBJ_UNTYPED, 18, env.cnode, mem, 1, 0);
    if (err == K_ERR_NO_MEMORY) { /* frames of an earlier round still pinned on the device: their memory waits */
      attack_count(&at, err);
      err = K_ERR_OK;
      sys_cnode_revoke(env.cnode, bank);
      sleep_ns(10000000ull);
      continue;
    }
    if (err)
      break;
    long e = open_in(mem, donation, sess, NET_FILTER(NET_PROTO_UDP, 30000 + at.rounds % 30000));
    if (!e)
      e = donate(sess, mem, first, 16);
    if (!e && !(e = sys_retype(mem, K_OBJ_FRAME_4K, 0, env.cnode, frame, 1, 0)) &&
        !(e = sys_frame_map(frame, env.vspace, FRAME_VA, K_MAP_WRITE))) {
      nobody_frame((u8 *)FRAME_VA);
      buf->gifts[0] = (u32)frame;
      e = call(sess, NET_SEND, 2, net_send_counts(1, 0), net_seg(0, 0, 60, 1), 1);
    }
    err = sys_cnode_revoke(env.cnode, bank); /* dies: its session, its frames on the device or not */
    sys_cnode_delete(env.cnode, sess);
    at.rounds++;
    attack_report_due(&at);
  }
  printf("netattack:4 stopped after %llu rounds: %s\n", at.rounds, err_name(err));
}

static void abuse(void) {
  cptr_t s, stale, first = env.next_slot;
  env.next_slot += 8;
  long err = session_open(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 9), &s);
  if (!err)
    err = session_open(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 10), &stale);
  if (!err)
    err = net_close(&env, buf, stale);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, first, 8, 0);
  if (err) {
    printf("netattack:5 cannot start: %s\n", err_name(err));
    return;
  }
  for (u64 end = sys_time_ns() + ATTACK_SECONDS * 1000000000ull; sys_time_ns() < end; at.rounds++) {
    u64 r = attack_rnd(&at), target = r & 3;
    cptr_t ep = target == 0 ? NETD_EP : target == 1 ? stale : s;
    u32 op = (u32)(r >> 8) % 12;
    u64 words = (r >> 16) % 8, gifts = (r >> 24) % 4;
    for (u64 i = 0; i < gifts; i++)
      buf->gifts[i] = (u32)(first + i);
    for (u64 i = 4; i < words; i++)
      buf->words[i] = attack_rnd(&at);
    /* frames that come back land where they left; a receive's land after them */
    buf->recv_cnode = env.cnode, buf->recv_slot = first, buf->recv_count = gifts ? gifts : 0, buf->recv_window = 0;
    if (op == NET_OPEN || op == NET_CLOSE)
      op = NET_STATS; /* sessions of its own are not the point here */
    u64 w0 = attack_rnd(&at) % 4 == 0 ? 0 : attack_rnd(&at);
    if (op == NET_RECV || op == NET_COLLECT)
      w0 = 0; /* no waiting: it would only hold this thread */
    call(ep, op, words, w0, attack_rnd(&at), gifts);
    struct k_cap_info ci; /* a frame kept by netd (a send it took) is made again */
    for (u64 i = 0; i < 8; i++)
      if (sys_cap_identify(env.cnode, first + i, &ci) || ci.type != K_OBJ_FRAME_4K) {
        sys_cnode_delete(env.cnode, first + i);
        sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, first + i, 1, 0);
      }
    attack_report_due(&at);
  }
}

/* The host says when: any datagram to UDP port 9999 (after it measured
 * netecho alone). */
static void wait_for_go(void) {
  cptr_t s;
  long err = session_open(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 9999), &s);
  printf("netattack:%llu waits for a datagram to port 9999%s%s\n", at.mode, err ? ": " : "", err ? err_name(err) : "");
  for (u64 got = 0; !err && !got;) {
    buf->recv_count = 0;
    struct msg_regs r = sys_call(s, k_msg_info(NET_RECV, 2, 0, 0), NET_WAIT_FOREVER, 0, 0, 0);
    err = r.err ? r.err : (long)r.w[0];
    got = r.w[1];
  }
  if (!err)
    net_close(&env, buf, s);
}

int main(u64 arg) {
  u64 mode = at.mode = arg;
  env = env_of_program(32);
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &tick);
  if (err) {
    printf("netattack: cannot start: %s\n", err_name(err));
    return 1;
  }
  wait_for_go();
  printf("netattack:%llu starts\n", mode);
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
