/* unpacktest: unpackd's clients, well-behaved and hostile (issue 16,
 * attack 7). A small stream comes back byte for byte; a bomb (a few words
 * that ask for a terabyte) ends in NO_MEMORY from its own donation; a run
 * whose memory is revoked while unpackd's worker writes it ends in an
 * error; a well-behaved client's runs go on beside a thread that bombs
 * again and again; unpackd's own memory stays where it was; bad requests
 * get precise errors and are counted. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <unpack.h>
#include <abi/bootinfo.h>

#define UT_BITS 20 /* the bomber's memory: its donations come from here */
#define DONATION_BITS 18
#define WINDOW_VA 0x0000600000000000ull
#define GOOD_RUNS 200

static int passed, failed;
static struct env env;
static struct k_ipc_buffer *buf;

static void check(int ok, const char *what) {
  printf("unpacktest: %s %s\n", ok ? "ok  " : "FAIL", what);
  if (ok)
    passed++;
  else
    failed++;
}

static struct msg_regs call(struct k_ipc_buffer *b, cptr_t ep, u32 op, const u64 *words, u64 n) {
  for (u64 i = K_IPC_REG_WORDS; i < n; i++)
    b->words[i] = words[i];
  u64 w[K_IPC_REG_WORDS] = {0};
  for (u64 i = 0; i < n && i < K_IPC_REG_WORDS; i++)
    w[i] = words[i];
  return sys_call(ep, k_msg_info(op, n, 0, 0), w[0], w[1], w[2], w[3]);
}

static u64 unpackd_memory(void) {
  return call(buf, UNPACKD_PUBLIC_EP, UNPACK_STATS, 0, 0).w[1];
}

/* Collects into `first`.. and maps them from WINDOW_VA; returns how many. */
static u64 collect(cptr_t session, cptr_t first) {
  buf->recv_cnode = env.cnode;
  buf->recv_slot = first;
  buf->recv_count = UNPACK_COLLECT_MAX;
  buf->recv_window = 0;
  struct msg_regs r = call(buf, session, UNPACK_COLLECT, 0, 0);
  buf->recv_count = 0;
  if (r.err || r.w[0])
    return 0;
  for (u64 i = 0; i < r.w[1]; i++)
    if (env_map(&env, env.vspace, first + i, WINDOW_VA + i * K_PAGE_SIZE, 0))
      return 0;
  return r.w[1];
}

static volatile int bomber_stop, bomber_done;
static volatile u64 bomber_bombs, bomber_errors;
static struct k_ipc_buffer *bomber_buf;
static cptr_t bomber_ut;

/* Opens a session on a donation from its own memory, sends a bomb, and
 * revokes the donation (as a client that dies would); again. */
static cptr_t bomber_donation, bomber_session;
static void bomber(void) {
  static const u64 bomb[4] = {(1ull << 40) << 8 | 'A', (1ull << 40) << 8 | 'B', (1ull << 40) << 8 | 'C', 1ull << 48};
  while (!bomber_stop) {
    long err = sys_retype(bomber_ut, K_OBJ_UNTYPED, DONATION_BITS, env.cnode, bomber_donation, 1, 0);
    bomber_buf->caps[0] = bomber_donation;
    bomber_buf->recv_cnode = env.cnode;
    bomber_buf->recv_slot = bomber_session;
    bomber_buf->recv_count = 1;
    struct msg_regs r = sys_call(UNPACKD_PUBLIC_EP, k_msg_info(UNPACK_OPEN, 1, 1, 0), 0, 0, 0, 0);
    bomber_buf->recv_count = 0;
    if (!err && !r.err && !r.w[0])
      r = call(bomber_buf, bomber_session, UNPACK_RUN, bomb, 4);
    if (err || r.err || r.w[0] != K_ERR_NO_MEMORY)
      bomber_errors++;
    else
      bomber_bombs++;
    sys_cnode_delete(env.cnode, bomber_session);
    sys_cnode_revoke(env.cnode, bomber_ut); /* the donation, the session's CNode, all it made */
    sys_yield(); /* one bomb a turn: the CPU is shared; what is measured is unpackd's part */
  }
  bomber_done = 1;
  for (;;)
    sys_thread_exit();
}

/* A client's second thread: a long run (200 frames, which its 1 MiB
 * donation holds) for unpackd's worker; its answer is kept for the main
 * thread. */
static cptr_t long_session;
static struct k_ipc_buffer *long_buf;
static volatile u64 long_answer[3];
static volatile int long_done;
static void long_runner(void) {
  static const u64 stream[1] = {(200ull * 4096) << 8 | 'z'};
  struct msg_regs r = call(long_buf, long_session, UNPACK_RUN, stream, 1);
  long_answer[0] = r.err ? (u64)r.err : r.w[0], long_answer[1] = r.w[1], long_answer[2] = r.w[2];
  long_done = 1;
  for (;;)
    sys_thread_exit();
}

/* A run the worker has: the client's other requests on that session are
 * refused while it lasts; the client revokes the session's memory
 * mid-run: the run ends with an error after some frames (the revoke came
 * mid-run), unpackd neither faults nor keeps anything, and serves on. */
static void revoked_mid_run(cptr_t good, u64 unpackd_before) {
  cptr_t mem = env_slot(&env), tcb;
  long err = sys_retype(K_BI_SLOT_BOOT_UNTYPED, K_OBJ_UNTYPED, 21, env.cnode, mem, 1, 0);
  if (!err)
    err = session_open_from(&env, buf, UNPACKD_PUBLIC_EP, UNPACK_OPEN, 20, 0, mem, &long_session);
  if (!err)
    err = env_thread_ipc(&env, long_runner, &tcb, &long_buf);
  for (int i = 0; i < 4 && !err; i++)
    sys_yield(); /* the runner sends; the worker makes a few frames */
  static const u64 one[1] = {1 << 8 | 'q'};
  struct msg_regs r1 = call(buf, long_session, UNPACK_RUN, one, 1);
  struct msg_regs r2 = call(buf, long_session, UNPACK_COLLECT, 0, 0);
  struct msg_regs r3 = call(buf, long_session, UNPACK_CLOSE, 0, 0);
  int during = !long_done;
  check(!err && during && r1.w[0] == K_ERR_BAD_STATE && r2.w[0] == K_ERR_BAD_STATE && r3.w[0] == K_ERR_BAD_STATE,
        "while the worker has a run, the client's other requests on that session are refused (BAD_STATE)");
  err = err ? err : sys_cnode_revoke(env.cnode, mem);
  for (int i = 0; i < 10000 && !long_done; i++)
    sys_yield();
  struct k_untyped_usage u;
  int whole = !sys_untyped_usage(mem, &u, 0) && u.free == u.size;
  printf("unpacktest:      a run of 200 frames, its memory revoked mid-run: answered %s after %llu bytes, %llu frames "
         "kept\n", err_name((long)long_answer[0]), long_answer[1], long_answer[2]);
  check(!err && long_done && during && long_answer[0] != K_ERR_OK && long_answer[1] > 0 &&
            long_answer[1] < 200ull * 4096 && long_answer[2] == 0 && whole,
        "its memory revoked mid-run (a run it holds): the run ends with an error, nothing kept, the memory whole again");
  r1 = call(buf, long_session, UNPACK_RUN, one, 1);
  static const u64 hi[2] = {1 << 8 | 'h', 1 << 8 | 'i'};
  r2 = call(buf, good, UNPACK_RUN, hi, 2);
  cptr_t back = env_slot(&env);
  buf->recv_cnode = env.cnode, buf->recv_slot = back, buf->recv_count = 1, buf->recv_window = 0;
  r3 = call(buf, good, UNPACK_COLLECT, 0, 0);
  buf->recv_count = 0;
  sys_cnode_delete(env.cnode, back);
  check(r1.w[0] == K_ERR_BAD_STATE && r2.w[0] == K_ERR_OK && r2.w[1] == 2 && r3.w[1] == 1 &&
            unpackd_memory() == unpackd_before,
        "the session is gone, unpackd serves the others on, its own memory where it was");
  sys_cnode_delete(env.cnode, mem);
}

/* GOOD_RUNS small runs and collects: ns each, and of them the ns spent
 * waiting for unpackd's answers (*served). */
static u64 good_runs(cptr_t session, int *ok, u64 *served) {
  static const u64 hello[5] = {1 << 8 | 'h', 1 << 8 | 'e', 2 << 8 | 'l', 1 << 8 | 'o', 1 << 8 | '!'};
  u64 t0 = sys_time_ns(), in_calls = 0;
  for (int i = 0; i < GOOD_RUNS; i++) {
    u64 c0 = sys_time_ns();
    struct msg_regs r = call(buf, session, UNPACK_RUN, hello, 5);
    if (r.err || r.w[0] || r.w[1] != 6)
      *ok = 0;
    buf->recv_cnode = env.cnode;
    buf->recv_slot = env.next_slot;
    buf->recv_count = 1;
    r = call(buf, session, UNPACK_COLLECT, 0, 0);
    in_calls += sys_time_ns() - c0;
    buf->recv_count = 0;
    if (r.err || r.w[0] || r.w[1] != 1)
      *ok = 0;
    sys_cnode_delete(env.cnode, env.next_slot); /* back to the session's donation (spent until close) */
    sys_yield(); /* the others' turn at this priority: the bomber's and unpackd's worker's */
  }
  *served = in_calls / GOOD_RUNS;
  return (sys_time_ns() - t0) / GOOD_RUNS;
}

int main(void) {
  env = env_of_program(32);
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW_VA, 64 * K_PAGE_SIZE);
  if (err) {
    printf("unpacktest: cannot start: %s\n", err_name(err));
    debug_exit(2);
  }
  u64 before = unpackd_memory();
  printf("unpacktest: unpackd's own memory: %llu bytes\n", before);

  cptr_t a;
  check(!session_open(&env, buf, UNPACKD_PUBLIC_EP, UNPACK_OPEN, 22, 0, &a), "a session on 4 MiB of the client's memory");
  static const u64 hello[6] = {1 << 8 | 'h', 1 << 8 | 'e', 2 << 8 | 'l', 1 << 8 | 'o', 5000 << 8 | 'x', 3000 << 8 | 'y'};
  struct msg_regs r = call(buf, a, UNPACK_RUN, hello, 6);
  check(!r.err && r.w[0] == K_ERR_OK && r.w[1] == 8005 && r.w[2] == 2, "a small stream: 8,005 bytes in 2 frames");
  cptr_t out = env.next_slot;
  env.next_slot += UNPACK_COLLECT_MAX;
  u64 n = collect(a, out);
  const u8 *p = (const u8 *)WINDOW_VA;
  int same = n == 2 && !memcmp(p, "hello", 5);
  for (u64 i = 5; same && i < 8192; i++)
    same = p[i] == (i < 5005 ? 'x' : i < 8005 ? 'y' : 0);
  check(same, "its output comes back byte for byte, in frames of the client's");
  struct k_cap_info ci, ut;
  sys_cap_identify(env.cnode, out, &ci);
  sys_cap_identify(env.cnode, K_BI_SLOT_BOOT_UNTYPED, &ut);
  check(ci.type == K_OBJ_FRAME_4K && ci.label == ut.label, "the output frames are the client's principal's");
  for (u64 i = 0; i < n; i++)
    sys_cnode_delete(env.cnode, out + i);

  /* The bomb: 3 runs of 2^40 bytes and one of 2^48, in 32 bytes. */
  cptr_t b;
  check(!session_open(&env, buf, UNPACKD_PUBLIC_EP, UNPACK_OPEN, DONATION_BITS, 0, &b), "a second session on 256 KiB");
  static const u64 bomb[4] = {(1ull << 40) << 8 | 'A', (1ull << 40) << 8 | 'B', (1ull << 40) << 8 | 'C', 1ull << 56};
  r = call(buf, b, UNPACK_RUN, bomb, 4);
  printf("unpacktest:      the bomb wrote %llu bytes before its donation ran out\n", r.w[1]);
  check(!r.err && r.w[0] == K_ERR_NO_MEMORY && r.w[1] > 0 && r.w[1] < (1ull << DONATION_BITS) && r.w[2] == 0,
        "a bomb gets NO_MEMORY from its own 256 KiB donation, and nothing is kept");
  r = call(buf, b, UNPACK_RUN, hello, 1);
  check(r.w[0] == K_ERR_NO_MEMORY, "its session is spent: the next run gets NO_MEMORY too");
  check(unpackd_memory() == before, "unpackd's own memory is where it was");
  r = call(buf, a, UNPACK_RUN, hello, 4);
  check(!r.err && r.w[0] == K_ERR_OK && r.w[1] == 5, "the first client's next run completes");
  n = collect(a, out);
  check(n == 1 && !memcmp((const u8 *)WINDOW_VA, "hello", 5), "and comes back right");
  for (u64 i = 0; i < n; i++)
    sys_cnode_delete(env.cnode, out + i);

  /* Bad requests: precise errors, counted. */
  u64 bad0 = call(buf, UNPACKD_PUBLIC_EP, UNPACK_STATS, 0, 0).w[2];
  r = call(buf, a, UNPACK_RUN, 0, 0);
  check(r.w[0] == K_ERR_RANGE, "a run of no words is refused (RANGE)");
  static u64 long_stream[64];
  r = call(buf, a, UNPACK_RUN, long_stream, 61);
  check(r.w[0] == K_ERR_RANGE, "a run of more than 60 words is refused (RANGE)");
  r = call(buf, a, 99, 0, 0);
  check(r.w[0] == K_ERR_BAD_SYSCALL, "an unknown request is refused (BAD_SYSCALL)");
  r = call(buf, UNPACKD_PUBLIC_EP, UNPACK_RUN, hello, 1);
  check(r.w[0] == K_ERR_BAD_SYSCALL, "a run on the public endpoint is refused");
  r = call(buf, a, UNPACK_RUN, hello, 1);
  struct msg_regs again = call(buf, a, UNPACK_RUN, hello, 1);
  check(r.w[0] == K_ERR_OK && again.w[0] == K_ERR_BAD_STATE, "a run before the last one's output is collected: BAD_STATE");
  n = collect(a, out);
  for (u64 i = 0; i < n; i++)
    sys_cnode_delete(env.cnode, out + i);
  r = call(buf, UNPACKD_PUBLIC_EP, UNPACK_OPEN, 0, 0);
  check(r.w[0] == K_ERR_WRONG_TYPE, "an open without a donation is refused (WRONG_TYPE)");
  u64 bad1 = call(buf, UNPACKD_PUBLIC_EP, UNPACK_STATS, 0, 0).w[2];
  check(bad1 - bad0 == 6, "each bad request is counted");
  /* A stale session: closed, its endpoint copy kept. */
  buf->recv_cnode = env.cnode;
  buf->recv_slot = env.next_slot;
  buf->recv_count = 1;
  cptr_t b_copy = env_slot(&env), back = env_slot(&env);
  sys_cnode_copy(env.cnode, b_copy, env.cnode, b, K_RIGHTS_ALL);
  buf->recv_slot = back;
  r = call(buf, b, UNPACK_CLOSE, 0, 0);
  buf->recv_count = 0;
  check(!r.err && r.w[0] == K_ERR_OK && sys_cap_type(env.cnode, back).val == K_OBJ_UNTYPED,
        "closing gives the donation back");
  r = call(buf, b_copy, UNPACK_RUN, hello, 1);
  check(r.w[0] == K_ERR_BAD_STATE, "a request on a closed session is refused (BAD_STATE)");

  revoked_mid_run(a, before);

  /* The well-behaved client beside a bomber that never stops. */
  int ok = 1;
  u64 alone_served, beside_served;
  u64 alone = good_runs(a, &ok, &alone_served);
  bomber_ut = env_slot(&env);
  cptr_t tcb;
  bomber_donation = env_slot(&env);
  bomber_session = env_slot(&env);
  err = sys_retype(K_BI_SLOT_BOOT_UNTYPED, K_OBJ_UNTYPED, UT_BITS, env.cnode, bomber_ut, 1, 0);
  if (!err)
    err = env_thread_ipc(&env, bomber, &tcb, &bomber_buf);
  check(!err, "a bomber thread with 1 MiB of its own");
  for (int i = 0; i < 5 && !bomber_bombs; i++)
    sys_yield();
  u64 bombs0 = bomber_bombs;
  u64 beside = good_runs(a, &ok, &beside_served);
  u64 bombs_beside = bomber_bombs - bombs0;
  bomber_stop = 1;
  for (int i = 0; i < 1000 && !bomber_done; i++)
    sys_yield();
  printf("unpacktest:      %d small runs and collects: %llu ns each alone, %llu ns beside the bomber (%llu bombs "
         "meanwhile): throughput %llu%% of alone, the CPU shared with the bomb's worker at one priority; "
         "unpackd answered in %llu ns alone, %llu ns beside (%llu%%)\n", GOOD_RUNS, alone, beside, bombs_beside,
         beside ? 100 * alone / beside : 0, alone_served, beside_served,
         beside_served ? 100 * alone_served / beside_served : 0);
  check(ok && bomber_bombs > 0 && bomber_errors == 0,
        "every small run beside the bombs completed right, and every bomb got NO_MEMORY");
  check(unpackd_memory() == before, "unpackd's own memory is still where it was");
  printf("unpacktest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  return failed;
}
