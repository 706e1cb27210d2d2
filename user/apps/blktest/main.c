/* blktest: blockd's sessions and every kind of bad request, from a client.
 * Each case prints one line; the suite ends with "blktest: N passed, M
 * failed" and leaves QEMU through isa-debug-exit. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <blk.h>
#include <abi/bootinfo.h>

#define BLOCKD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define FRAME_SLOT 200
#define NFRAMES 260
#define WINDOW 0x0000100000000000ull
#define RING_SLOT 3000 /* BLK_IO's frames: the ring [RING_SLOT, + RING) */
#define RING 512
#define RING_VA 0x0000120000000000ull

static struct env env;
static struct k_ipc_buffer *buf;
static int passed, failed;

static void check(int ok, const char *what) {
  printf("blktest: %s %s\n", ok ? "ok  " : "FAIL", what);
  ok ? passed++ : failed++;
}

struct reply {
  long err; /* the kernel's, then blockd's */
  u64 w1, w2, gifts;
};

static struct reply call(cptr_t ep, u32 op, u64 w0, u64 w1, u64 ncaps, u64 ngifts) {
  struct msg_regs r = sys_call(ep, k_msg_info(op, 2, ncaps, ngifts), w0, w1, 0, 0);
  struct reply out = {r.err ? r.err : (long)r.w[0], r.w[1], r.w[2], k_msg_gifts(r.info)};
  return out;
}

static void expect_back(u64 n) { /* where frames come back */
  buf->recv_cnode = env.cnode;
  buf->recv_slot = FRAME_SLOT;
  buf->recv_count = n;
  buf->recv_window = WINDOW;
  buf->recv_window_size = n * K_PAGE_SIZE;
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(FRAME_SLOT + i);
}

static long open_disk(u32 disk, cptr_t *session) { return blk_open(&env, buf, BLOCKD_EP, disk, session); }

static long close_session(cptr_t s) { return blk_close(&env, buf, s); }

static int frames_home(u64 n) {
  struct k_cap_info ci;
  for (u64 i = 0; i < n; i++)
    if (sys_cap_identify(env.cnode, FRAME_SLOT + i, &ci) || ci.type != K_OBJ_FRAME_4K)
      return 0;
  return 1;
}

static u64 blockd_memory(cptr_t s) { return call(s, BLK_STATS, 0, 0, 0, 0).w2; }

/* BLK_STATS in full: the reply's words 4-7 come in the IPC buffer. */
struct stats {
  long err;
  u64 refused, bad_range, bad_count, gone_waiting;
};

static struct stats stats_of(cptr_t s) {
  struct reply r = call(s, BLK_STATS, 0, 0, 0, 0);
  return (struct stats){r.err, r.w1, buf->words[4], buf->words[5], buf->words[7]};
}

static void bad_requests(cptr_t s, u64 capacity) {
  struct reply r;
  expect_back(8);
  r = call(s, BLK_READ, 0, 0, 0, 0);
  check(r.err == K_ERR_RANGE, "a read of zero frames is refused");
  expect_back(8);
  r = call(s, BLK_READ, capacity, 0, 0, 8);
  check(r.err == K_ERR_RANGE && r.gifts == 8 && frames_home(8), "a read past the end is refused, frames come back");
  expect_back(8);
  r = call(s, BLK_READ, ~0ull - 7, 0, 0, 8);
  check(r.err == K_ERR_RANGE && frames_home(8), "a read whose range overflows is refused");
  expect_back(8);
  r = call(s, BLK_READ, 0, 65, 0, 8);
  check(r.err == K_ERR_RANGE && frames_home(8), "more sectors than the frames hold is refused");
  expect_back(8);
  r = call(s, BLK_READ, 0, 56, 0, 8);
  check(r.err == K_ERR_RANGE && frames_home(8), "fewer sectors than the frames need is refused");
  expect_back(NFRAMES);
  r = call(s, BLK_READ, 0, 0, 0, BLK_MAX_FRAMES + 1);
  check(r.err == K_ERR_RANGE && r.gifts == BLK_MAX_FRAMES + 1 && frames_home(NFRAMES),
        "a read of more than 1 MiB is refused, its 257 frames come back");
  expect_back(BLK_MAX_FRAMES);
  r = call(s, BLK_READ, 0, 0, 0, BLK_MAX_FRAMES);
  check(r.err == K_ERR_OK && r.gifts == BLK_MAX_FRAMES && frames_home(BLK_MAX_FRAMES), "a 1 MiB read in one request");
  expect_back(8);
  r = call(s, BLK_WRITE, capacity - 8, 16, 0, 8);
  check(r.err == K_ERR_RANGE && frames_home(8), "a write past the end is refused");
  expect_back(1);
  buf->caps[0] = K_BI_SLOT_TCB; /* a capability where a frame belongs */
  r = call(s, BLK_READ, 0, 0, 1, 1);
  check(r.err == K_ERR_OK && frames_home(1), "a stray capability is dropped, the request still served");
  cptr_t big = env_slot(&env);
  long e = sys_retype(env.untyped, K_OBJ_FRAME_2M, 0, env.cnode, big, 1, 0);
  buf->gifts[0] = (u32)big;
  buf->recv_cnode = env.cnode;
  buf->recv_slot = big;
  buf->recv_count = 1;
  buf->recv_window = 0;
  r = e ? (struct reply){e, 0, 0, 0} : call(s, BLK_READ, 0, 0, 0, 1);
  struct k_cap_info ci;
  check(r.err == K_ERR_WRONG_TYPE && !sys_cap_identify(env.cnode, big, &ci) && ci.type == K_OBJ_FRAME_2M,
        "a frame that is not a 4 KiB frame is refused and comes back");
  cptr_t ro;
  e = open_disk(0, &ro); /* the read-only disk: the device fails writes */
  expect_back(4);
  r = e ? (struct reply){e, 0, 0, 0} : call(ro, BLK_WRITE, 0, 0, 0, 4);
  struct reply st = call(ro, BLK_STATS, 0, 0, 0, 0);
  check(r.err == K_ERR_IO && frames_home(4) && st.w1 == 1, "a device error is reported, counted, frames back");
  close_session(ro);
  r = call(s, 99, 0, 0, 0, 0);
  check(r.err == K_ERR_BAD_SYSCALL, "an unknown request is refused");
  r = call(s, BLK_STATS, 0, 0, 0, 0);
  check(r.err == K_ERR_OK && r.w1 == 9, "every refused request was counted");
}

/* The frame and sector counts agree and the first sector is on the disk,
 * but the request ends past the disk's end: refused before the device
 * sees it, counted as out of range, the frames back. */
static void ends_past_the_end(cptr_t s, u64 capacity) {
  struct stats st0 = stats_of(s);
  expect_back(1);
  struct reply r = call(s, BLK_READ, capacity - 1, 0, 0, 1);
  check(r.err == K_ERR_RANGE && r.gifts == 1 && frames_home(1),
        "a one-frame read from the last sector (8 sectors, 7 past the end) is refused");
  expect_back(1);
  r = call(s, BLK_WRITE, capacity - 4, 5, 0, 1);
  check(r.err == K_ERR_RANGE && r.gifts == 1 && frames_home(1),
        "a write of 5 sectors from 4 before the end is refused");
  expect_back(2);
  r = call(s, BLK_READ, capacity - 8, 9, 0, 2);
  check(r.err == K_ERR_RANGE && r.gifts == 2 && frames_home(2),
        "a two-frame read of 9 sectors from 8 before the end is refused");
  struct stats st1 = stats_of(s);
  check(!st0.err && !st1.err && st1.bad_range == st0.bad_range + 3 && st1.bad_count == st0.bad_count &&
            st1.refused == st0.refused + 3,
        "each is counted as out of range, none as a device error");
}

/* Writes a pattern through one session and reads it back through another. */
static void data_round_trip(cptr_t a, cptr_t b) {
  expect_back(8);
  for (u64 i = 0; i < 8; i++)
    *(volatile u64 *)(WINDOW + i * K_PAGE_SIZE) = 0xb10c0000 + i;
  struct reply r = call(a, BLK_WRITE, 64, 0, 0, 8);
  check(r.err == K_ERR_OK && r.gifts == 8, "a write of 8 frames");
  for (u64 i = 0; i < 8; i++)
    *(volatile u64 *)(WINDOW + i * K_PAGE_SIZE) = 0;
  expect_back(8);
  r = call(b, BLK_READ, 64, 0, 0, 8);
  int same = r.err == K_ERR_OK;
  for (u64 i = 0; same && i < 8; i++)
    same = *(volatile u64 *)(WINDOW + i * K_PAGE_SIZE) == 0xb10c0000 + i;
  check(same, "another session reads back what was written");
}

/* BLK_HOLD: blockd's next read or write of the session waits, its device
 * requests posted, for a signal on *n (or for the session's memory to go). */
static long hold_next(cptr_t sess, cptr_t *n) {
  *n = env_slot(&env);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = *n;
  buf->recv_count = 1;
  buf->recv_window = 0;
  return call(sess, BLK_HOLD, 0, 0, 0, 0).err;
}

/* Another thread of the client revokes the session's memory (or, when not
 * `revoke`, says go) while blockd, held by BLK_HOLD, waits with a 1 MiB
 * read into this thread's frames on the disk: the revoke lands in that
 * wait every time. blockd must not touch the record that went with it.
 * Returns whether the session's memory went during the read (1), not (0),
 * or -1 if anything went wrong. */
static int dies_mid_read(cptr_t first, u64 memory, int revoke) {
  cptr_t parent = env_slot(&env), sess = 0, tcb = 0, n = 0;
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, BLK_DONATION_BITS + 1, env.cnode, parent, 1, 0);
  if (!err)
    err = session_open_from(&env, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, parent, &sess);
  if (!err)
    err = hold_next(sess, &n);
  /* Below our priority: it runs only while we wait for our request, and
   * so while blockd holds it (at our priority, a tick could run it first). */
  if (!err)
    err = env_when_blocked(&env, revoke, revoke ? parent : n, &tcb);
  struct reply r = {err, 0, 0, 0};
  if (!err) {
    expect_back(BLK_MAX_FRAMES);
    r = call(sess, BLK_READ, 0, 0, 0, BLK_MAX_FRAMES);
  }
  int hit = r.err == K_ERR_BAD_STATE;
  int ok = !err && (r.err == K_ERR_OK || hit) && r.gifts == BLK_MAX_FRAMES && frames_home(BLK_MAX_FRAMES);
  if (!revoke) /* the client goes after the read */
    ok = ok && !sys_cnode_revoke(env.cnode, parent);
  ok = ok && call(sess, BLK_INFO, 0, 0, 0, 0).err == K_ERR_BAD_STATE && blockd_memory(first) == memory;
  sys_cnode_delete(env.cnode, tcb);
  sys_cnode_delete(env.cnode, parent);
  sys_cnode_delete(env.cnode, n);
  return ok ? hit : -1;
}

/* blockd's run time goes to the session it worked for: 8 MiB of reads
 * cost it far more than a question about the disk's size. */
static void blockd_time_goes_to_whom_it_worked_for(void) {
  cptr_t busy, quiet;
  long err = open_disk(1, &busy);
  if (!err)
    err = open_disk(1, &quiet);
  for (int i = 0; i < 8 && !err; i++) {
    expect_back(BLK_MAX_FRAMES);
    err = call(busy, BLK_READ, 0, 0, 0, BLK_MAX_FRAMES).err;
  }
  if (!err)
    err = call(quiet, BLK_INFO, 0, 0, 0, 0).err;
  /* a session's time is settled when blockd takes its next request */
  struct msg_regs a = sys_call(busy, k_msg_info(BLK_STATS, 0, 0, 0), 0, 0, 0, 0);
  struct msg_regs b = sys_call(quiet, k_msg_info(BLK_STATS, 0, 0, 0), 0, 0, 0, 0);
  u64 busy_ns = a.w[3], quiet_ns = b.w[3];
  printf("blktest:      blockd's time: %llu us for 8 MiB read, %llu us for a size and a count\n", busy_ns / 1000,
         quiet_ns / 1000);
  check(!err && !a.err && !b.err && quiet_ns > 0 && busy_ns > 20 * quiet_ns,
        "blockd's time goes to the session it worked for");
  close_session(busy);
  close_session(quiet);
}

static void sessions(cptr_t first) {
  u64 before = blockd_memory(first);
  int ok = 1;
  for (int i = 0; i < 50 && ok; i++) {
    cptr_t s;
    ok = !open_disk(1, &s) && !close_session(s);
  }
  check(ok && blockd_memory(first) == before, "50 sessions opened and closed: blockd's memory is unchanged");
  cptr_t many[8];
  ok = 1;
  for (int i = 0; i < 8 && ok; i++)
    ok = !open_disk(1, &many[i]);
  check(ok && blockd_memory(first) == before, "with 8 clients blockd's own memory is what it is with 1");
  for (int i = 0; i < 8; i++)
    close_session(many[i]);
  /* Clients that die: their donations are revoked under blockd. */
  ok = 1;
  for (int i = 0; i < 20 && ok; i++) {
    cptr_t parent = env_slot(&env), sess = 0;
    ok = !sys_retype(env.untyped, K_OBJ_UNTYPED, BLK_DONATION_BITS + 1, env.cnode, parent, 1, 0) &&
         !session_open_from(&env, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, parent, &sess) &&
         !sys_cnode_revoke(env.cnode, parent) && call(sess, BLK_INFO, 0, 0, 0, 0).err == K_ERR_BAD_STATE;
  }
  check(ok && blockd_memory(first) == before, "20 clients died: sessions went with them, memory unchanged");
  struct stats st0 = stats_of(first);
  int hits = 0;
  ok = 1;
  for (int i = 0; i < 5 && ok; i++) {
    int h = dies_mid_read(first, before, 1);
    ok = h >= 0;
    hits += h > 0;
  }
  struct stats st1 = stats_of(first);
  printf("blktest:      5 tries, the memory went while blockd waited for the disk in %d (blockd counted %llu)\n",
         hits, st1.gone_waiting - st0.gone_waiting);
  check(ok && hits == 5 && st1.gone_waiting == st0.gone_waiting + 5,
        "sessions whose memory goes during a read: the frames come back with an answer, the session is gone, "
        "blockd goes on with its memory as it was");
  check(dies_mid_read(first, before, 0) == 0 && stats_of(first).gone_waiting == st1.gone_waiting,
        "a held read goes on when the client says go");
  cptr_t s;
  open_disk(1, &s);
  close_session(s);
  struct reply r = call(s, BLK_INFO, 0, 0, 0, 0);
  check(r.err == K_ERR_BAD_STATE, "a closed session is refused");
  r = call(BLOCKD_EP, BLK_READ, 0, 0, 0, 0);
  check(r.err == K_ERR_BAD_STATE, "I/O on the public endpoint is refused");
  buf->caps[0] = K_BI_SLOT_TCB;
  buf->recv_count = 1;
  r = call(BLOCKD_EP, BLK_OPEN, 1, 0, 1, 0);
  check(r.err == K_ERR_WRONG_TYPE, "a donation that is not memory is refused");
}

/* Attack 2, session flood: a client opens sessions from a bank of its own
 * memory (8 MiB, room for 128 of 64 KiB) for as long as it can. blockd's
 * table has a place for every 64 KiB of the machine's memory, so the
 * client runs out of its own bank (NO_MEMORY, from its own untyped) and
 * not blockd of places: a newcomer still opens a session and is served,
 * blockd's memory is what it was, and revoking the bank ends them all. */
#define FLOOD_BANK_BITS 23
#define FLOOD_MAX (1u << (FLOOD_BANK_BITS - BLK_DONATION_BITS))
#define BLOCKD_MAX_PLACES_TRIED 4096 /* blockd's places under 256 MiB (its ready line) */
static void session_flood(cptr_t first) {
  static cptr_t flood[FLOOD_MAX];
  u64 before = blockd_memory(first);
  cptr_t bank = env_slot(&env), donation = env_slot(&env), newcomer = 0;
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, FLOOD_BANK_BITS, env.cnode, bank, 1, 0);
  unsigned opened = 0;
  while (!err && opened <= FLOOD_MAX) { /* one more than the bank holds */
    cptr_t sess = env_slot(&env);
    err = session_open_in(env.cnode, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, bank, donation, sess);
    if (!err)
      flood[opened++] = sess;
  }
  printf("blktest:      a client flooding blockd opened %u sessions from its %u KiB and then met %s\n", opened,
         1u << (FLOOD_BANK_BITS - 10), err_name(err));
  check(opened == FLOOD_MAX && err == K_ERR_NO_MEMORY,
        "a session flood ends when the client's own memory does (NO_MEMORY), not at a table of blockd's");
  u64 during = blockd_memory(first);
  int ok = !open_disk(1, &newcomer);
  if (ok) {
    expect_back(1);
    ok = call(newcomer, BLK_READ, 0, 0, 0, 1).err == K_ERR_OK && frames_home(1);
  }
  check(ok && during == before, "beside the flood a newcomer opens a session and reads, blockd's memory as it was");
  ok = !sys_cnode_revoke(env.cnode, bank);
  unsigned refused = 0;
  for (unsigned i = 0; i < opened; i++)
    refused += call(flood[i], BLK_INFO, 0, 0, 0, 0).err == K_ERR_BAD_STATE;
  ok = ok && refused == opened && call(newcomer, BLK_INFO, 0, 0, 0, 0).err == K_ERR_OK;
  ok = ok && !close_session(newcomer) && blockd_memory(first) == before;
  check(ok, "the flood's memory revoked: its sessions are gone, the newcomer's went on, blockd's memory as it was");
  /* Sessions whose memory goes and that nobody touches again: round after
   * round from the same bank, more opens than blockd has places. */
  unsigned rounds = 0, total = 0;
  sys_cnode_delete(env.cnode, bank);
  err = K_ERR_OK;
  for (; !err && total <= BLOCKD_MAX_PLACES_TRIED; rounds++) {
    err = sys_retype(env.untyped, K_OBJ_UNTYPED, FLOOD_BANK_BITS, env.cnode, bank, 1, 0);
    for (unsigned i = 0; !err && i < FLOOD_MAX; i++, total++) {
      sys_cnode_delete(env.cnode, flood[i]); /* the endpoint of a session gone before */
      err = session_open_in(env.cnode, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, bank, donation, flood[i]);
    }
    sys_cnode_revoke(env.cnode, bank);
    sys_cnode_delete(env.cnode, bank);
  }
  printf("blktest:      %u sessions in %u rounds, each round's memory revoked and its sessions never touched: %s\n",
         total, rounds, err_name(err));
  check(!err && total > BLOCKD_MAX_PLACES_TRIED && blockd_memory(first) == before,
        "more abandoned sessions than blockd has places: their places come back, every open succeeds");
}

/* BLK_IO by hand: nreq requests (sector, word pairs in req), `words`
 * message words, the ring's frames [0, ngifts) sent, the answer's frames
 * into the ring from 0 (room of them). */
static struct reply io_raw(cptr_t s, u64 nreq, u64 words, int wait, u64 room, u64 ngifts, const u64 *req) {
  for (u64 i = 0; i < 2 * nreq && i + 1 < K_IPC_MAX_WORDS; i++)
    buf->words[1 + i] = req[i];
  for (u64 i = 0; i < ngifts; i++)
    buf->gifts[i] = (u32)(RING_SLOT + i);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = RING_SLOT;
  buf->recv_count = room;
  buf->recv_window = room ? RING_VA : 0;
  buf->recv_window_size = room * K_PAGE_SIZE;
  struct msg_regs r = sys_call(s, k_msg_info(BLK_IO, words, 0, ngifts), blk_io_word(nreq, wait, room),
                               buf->words[1], buf->words[2], buf->words[3]);
  struct reply out = {r.err ? r.err : (long)r.w[0], r.w[1], r.w[2], k_msg_gifts(r.info)};
  return out;
}

static int ring_home(u64 n) {
  struct k_cap_info ci;
  for (u64 i = 0; i < n; i++)
    if (sys_cap_identify(env.cnode, RING_SLOT + i, &ci) || ci.type != K_OBJ_FRAME_4K)
      return 0;
  return 1;
}

static u64 one_frame_read(u64 sector) { return blk_req_word(BLK_SECTORS_PER_FRAME, 0) | 0 * sector; }

/* Every kind of malformed BLK_IO: refused whole, counted, frames back. */
static void bad_batches(cptr_t s, u64 capacity) {
  static u64 req[2 * BLK_IO_MAX_REQUESTS + 2];
  struct stats st0 = stats_of(s);
  for (u64 i = 0; i < BLK_IO_MAX_REQUESTS + 1; i++)
    req[2 * i] = i * BLK_SECTORS_PER_FRAME, req[2 * i + 1] = one_frame_read(0);
  struct reply r = io_raw(s, BLK_IO_MAX_REQUESTS + 1, 63, 0, 31, 31, req);
  check(r.err == K_ERR_RANGE && r.gifts == 31 && ring_home(31), "a batch of 31 requests is refused, its frames come back");
  r = io_raw(s, 2, 3, 0, 2, 2, req);
  check(r.err == K_ERR_RANGE && r.gifts == 2 && ring_home(2), "a batch with fewer words than its requests need is refused");
  r = io_raw(s, 1, 3, 0, 2, 2, req);
  check(r.err == K_ERR_RANGE && r.w1 == 1 && r.gifts == 2 && ring_home(2),
        "a batch whose frames do not add up to its requests' is refused (w1 = the count)");
  req[1] = one_frame_read(0) | 1ull << 40;
  r = io_raw(s, 1, 3, 0, 1, 1, req);
  check(r.err == K_ERR_RANGE && r.w1 == 0 && ring_home(1), "a request word with reserved bits set is refused");
  req[1] = blk_req_on_disk(one_frame_read(0), 9);
  r = io_raw(s, 1, 3, 0, 1, 1, req);
  check(r.err == K_ERR_RANGE && ring_home(1), "a request on a disk blockd does not have is refused");
  req[1] = blk_req_word(0, 0);
  r = io_raw(s, 1, 3, 0, 1, 1, req);
  check(r.err == K_ERR_RANGE && ring_home(1), "a request of no sectors is refused");
  req[0] = 0, req[1] = one_frame_read(0), req[2] = capacity, req[3] = one_frame_read(0);
  r = io_raw(s, 2, 5, 0, 2, 2, req);
  check(r.err == K_ERR_RANGE && r.w1 == 1 && ring_home(2), "one bad request refuses the whole batch and names it");
  req[0] = 0, req[1] = blk_req_word(2048, 0), req[2] = 0, req[3] = blk_req_word(2048, 0);
  r = io_raw(s, 2, 5, 0, 512, 512, req);
  struct stats st1 = stats_of(s);
  check(r.err == K_ERR_NO_MEMORY && r.w1 == 1 && r.gifts == 512 && ring_home(512) && buf->words[8] >= 1,
        "2 MiB at once exceed a 64 KiB session's 509 parking slots: NO_MEMORY, counted, nothing taken");
  check(st1.refused >= st0.refused + 7, "each refused batch was counted");
  r = io_raw(s, 0, 1, 1, 8, 0, req);
  check(r.err == K_ERR_OK && r.w2 == 0, "a collect with nothing in flight answers at once, empty");
}

/* BLK_IO with the ring's frames [first, + n) out and up to `room` back
 * into the ring's slots from `back` (not mapped). */
/* Waits (2 s at most) until BLK_STATS word `word` of session s reaches `at_least`. */
static int stat_reaches(cptr_t s, unsigned word, u64 at_least) {
  for (u64 end = sys_time_ns() + 2000000000ull; sys_time_ns() < end; sys_yield()) {
    struct reply r = call(s, BLK_STATS, 0, 0, 0, 0);
    if (!r.err && buf->words[word] >= at_least)
      return 1;
  }
  return 0;
}

static struct reply io_slots(cptr_t s, u64 nreq, int wait, u64 first, u64 n, u64 back, u64 room) {
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(RING_SLOT + first + i);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = RING_SLOT + back;
  buf->recv_count = room;
  buf->recv_window = 0;
  struct msg_regs m = sys_call(s, k_msg_info(BLK_IO, 1 + 2 * nreq, 0, n), blk_io_word(nreq, wait, room),
                               buf->words[1], buf->words[2], buf->words[3]);
  struct reply out = {m.err ? m.err : (long)m.w[0], m.w[1], m.w[2], k_msg_gifts(m.info)};
  return out;
}

/* A held session keeps its requests on the device until we say go: 64
 * requests in flight (the most a session has), a 65th refused, then all
 * collected, several to an answer. */
static void many_in_flight(void) {
  cptr_t s = 0, hold = 0;
  long err = open_disk(1, &s);
  if (!err)
    err = hold_next(s, &hold);
  struct reply r = {err, 0, 0, 0};
  static const u64 batch[] = {30, 30, 4};
  u64 sent = 0;
  for (unsigned b = 0; b < 3 && !r.err; b++) {
    for (u64 i = 0; i < batch[b]; i++)
      buf->words[1 + 2 * i] = (sent + i) * BLK_SECTORS_PER_FRAME, buf->words[2 + 2 * i] = one_frame_read(0);
    r = io_slots(s, batch[b], 0, sent, batch[b], 0, 0);
    sent += batch[b];
  }
  check(!r.err && sent == BLK_MAX_QUEUED, "64 requests in flight on one session, in three batches");
  buf->words[1] = 0, buf->words[2] = one_frame_read(0);
  r = io_slots(s, 1, 0, sent, 1, sent, 1);
  struct k_cap_info ci;
  check(r.err == K_ERR_NO_MEMORY && r.gifts == 1 && !sys_cap_identify(env.cnode, RING_SLOT + sent, &ci) &&
            ci.type == K_OBJ_FRAME_4K,
        "a 65th is refused (NO_MEMORY), its frame comes back");
  sys_signal(hold);
  u64 got = 0, calls = 0, most = 0;
  while (got < sent && calls < 100) {
    r = io_slots(s, 0, 1, 0, 0, got, sent - got);
    calls++;
    if (r.err)
      break;
    got += r.w2;
    most = r.w2 > most ? r.w2 : most;
  }
  printf("blktest:      64 completions collected in %llu answers (at most %llu in one)\n", calls, most);
  check(!r.err && got == sent && ring_home(sent + 1), "all 64 complete and are collected, several in one answer");
  close_session(s);
  sys_cnode_delete(env.cnode, hold);
}

/* A BLK_IO caller that waits with room for fewer frames than the request
 * that completes hears WINDOW_TOO_SMALL; the request waits for a caller
 * with room enough. */
static void room_too_small(void) {
  cptr_t s = 0, hold = 0, tcb = 0;
  long err = open_disk(1, &s);
  if (!err)
    err = hold_next(s, &hold);
  buf->words[1] = 0, buf->words[2] = blk_req_word(4 * BLK_SECTORS_PER_FRAME, 0);
  struct reply r = err ? (struct reply){err, 0, 0, 0} : io_slots(s, 1, 0, 0, 4, 0, 0);
  if (!r.err)
    r.err = env_when_blocked(&env, 0, hold, &tcb); /* go, once we wait */
  struct reply small = r.err ? r : io_slots(s, 0, 1, 0, 0, 0, 1);
  check(small.err == K_ERR_WINDOW_TOO_SMALL && small.gifts == 0,
        "a waiting collect with room for 1 frame hears that the 4-frame request that completed does not fit");
  r = io_slots(s, 0, 1, 0, 0, 0, 4);
  check(r.err == K_ERR_OK && r.w2 == 1 && r.gifts == 4 && ring_home(4), "collected with room for 4, its frames come back");
  sys_cnode_delete(env.cnode, tcb);
  sys_cnode_delete(env.cnode, hold);
  close_session(s);
}

/* A client that says it has room for 4 frames but offers 1 receive slot:
 * blockd's answer with the 4 completed requests' frames (waiting in its
 * pool, named there) cannot be delivered. The frames go back to the
 * client's memory, the pool's slots are emptied and free again: the next
 * requests are served, and blockd's memory is as it was. */
static void answer_that_cannot_go(cptr_t first) {
  u64 memory = blockd_memory(first);
  cptr_t s = 0;
  long err = open_disk(1, &s);
  for (u64 i = 0; i < 4; i++)
    buf->words[1 + 2 * i] = i * BLK_SECTORS_PER_FRAME, buf->words[2 + 2 * i] = one_frame_read(0);
  struct reply r = err ? (struct reply){err, 0, 0, 0} : io_slots(s, 4, 0, 0, 4, 0, 0);
  int ok = !r.err && stat_reaches(s, 9, 4);
  buf->recv_cnode = env.cnode, buf->recv_slot = RING_SLOT, buf->recv_count = 1, buf->recv_window = 0;
  struct msg_regs m = sys_call(s, k_msg_info(BLK_IO, 1, 0, 0), blk_io_word(0, 0, 4), 0, 0, 0);
  struct k_cap_info ci;
  for (u64 i = 0; i < 4; i++) /* gone back to our memory: make them again */
    ok = ok && !sys_cap_identify(env.cnode, RING_SLOT + i, &ci) && ci.type == K_OBJ_NULL &&
         !sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, RING_SLOT + i, 1, 0);
  check(ok && m.err != K_ERR_OK, "an answer whose frames the client has no room for fails, the frames back to its memory");
  for (int round = 0; ok && round < 3; round++) { /* the pool's slots are usable again */
    for (u64 i = 0; i < 4; i++)
      buf->words[1 + 2 * i] = i * BLK_SECTORS_PER_FRAME, buf->words[2 + 2 * i] = one_frame_read(0);
    ok = io_slots(s, 4, 0, 0, 4, 0, 0).err == K_ERR_OK;
    u64 got = 0;
    for (int calls = 0; ok && got < 4 && calls < 100; calls++) {
      r = io_slots(s, 0, 1, 0, 0, got, 4 - got);
      ok = r.err == K_ERR_OK && r.gifts == r.w2;
      got += r.w2;
    }
    ok = ok && got == 4 && ring_home(4);
  }
  close_session(s);
  check(ok && blockd_memory(first) == memory, "and blockd serves the next requests, its memory as it was");
}

/* One caller waits per session: while one thread of the client waits in
 * BLK_IO, another's BLK_IO or read on the same session is refused. */
static struct {
  cptr_t session;
  struct k_ipc_buffer *buf;
  volatile long err;
  volatile u64 got;
  volatile int done;
} waiter;

static void waiter_thread(void) {
  struct k_ipc_buffer *b = waiter.buf;
  b->recv_cnode = env.cnode, b->recv_slot = RING_SLOT + RING, b->recv_count = 4, b->recv_window = 0;
  struct msg_regs m = sys_call(waiter.session, k_msg_info(BLK_IO, 1, 0, 0), blk_io_word(0, 1, 4), 0, 0, 0);
  waiter.err = m.err ? m.err : (long)m.w[0];
  waiter.got = m.w[2];
  waiter.done = 1;
  for (;;)
    sys_thread_exit();
}

static void one_waiter_per_session(void) {
  cptr_t hold = 0, tcb = 0;
  waiter.done = 0;
  long err = open_disk(1, &waiter.session);
  if (!err)
    err = hold_next(waiter.session, &hold);
  buf->words[1] = 0, buf->words[2] = blk_req_word(4 * BLK_SECTORS_PER_FRAME, 0);
  if (!err)
    err = io_slots(waiter.session, 1, 0, 0, 4, 0, 0).err;
  if (!err)
    err = env_thread_ipc(&env, waiter_thread, &tcb, &waiter.buf);
  struct k_tcb_info ti = {0};
  for (int i = 0; !err && i < 100 && ti.state != K_TCB_BLOCKED; i++) {
    sys_yield();
    err = sys_tcb_info(tcb, &ti);
  }
  struct reply r = err ? (struct reply){err, 0, 0, 0} : io_slots(waiter.session, 0, 0, 0, 0, 50, 4);
  check(ti.state == K_TCB_BLOCKED && r.err == K_ERR_BAD_STATE,
        "while one thread waits in BLK_IO, another's BLK_IO on the session is refused");
  expect_back(4);
  r = call(waiter.session, BLK_READ, 0, 0, 0, 4);
  check(r.err == K_ERR_BAD_STATE && r.gifts == 4 && frames_home(4), "and so is its read, the frames back");
  sys_signal(hold);
  for (u64 end = sys_time_ns() + 2000000000ull; !waiter.done && sys_time_ns() < end;)
    sys_yield(); /* the device takes its time: up to 2 s */
  check(waiter.done && waiter.err == K_ERR_OK && waiter.got == 1,
        "the waiting thread gets its completion when the device is done");
  struct k_cap_info ci;
  int back = 1;
  for (u64 i = 0; i < 4; i++) /* its frames came to the slots it named: home again */
    back = back && !sys_cap_identify(env.cnode, RING_SLOT + RING + i, &ci) && ci.type == K_OBJ_FRAME_4K &&
           !sys_cnode_move(env.cnode, RING_SLOT + i, env.cnode, RING_SLOT + RING + i);
  check(back && ring_home(4), "with its 4 frames");
  sys_cnode_delete(env.cnode, tcb);
  sys_cnode_delete(env.cnode, hold);
  close_session(waiter.session);
}

/* A client that goes with requests out: on the device (held), or done and
 * waiting to be collected. blockd's memory is as it was, the frames went
 * back to the client's memory, and blockd serves the next client. */
static void gone_with_requests_out(cptr_t first) {
  u64 memory = blockd_memory(first);
  struct stats st0 = stats_of(first);
  int ok = 1;
  for (int held = 0; held < 2 && ok; held++) {
    cptr_t parent = env_slot(&env), s = 0, hold = 0;
    ok = !sys_retype(env.untyped, K_OBJ_UNTYPED, BLK_DONATION_BITS + 1, env.cnode, parent, 1, 0) &&
         !session_open_from(&env, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, parent, &s) &&
         (!held || !hold_next(s, &hold));
    buf->words[1] = 0, buf->words[2] = blk_req_word(4 * BLK_SECTORS_PER_FRAME, 0);
    buf->words[3] = 8, buf->words[4] = blk_req_word(4 * BLK_SECTORS_PER_FRAME, 1);
    ok = ok && io_slots(s, 2, 0, 0, 8, 0, 0).err == K_ERR_OK;
    if (!held) /* both complete and wait, parked, to be collected */
      ok = ok && stat_reaches(s, 9, 2);
    ok = ok && !sys_cnode_revoke(env.cnode, parent);
    if (held) /* blockd notices the session went (its timer) and lets the device go */
      ok = ok && stat_reaches(first, 7, st0.gone_waiting + 2);
    struct k_cap_info ci;
    for (u64 i = 0; i < 8; i++) /* the frames went with the session: make them again */
      ok = ok && sys_cap_identify(env.cnode, RING_SLOT + i, &ci) == K_ERR_OK && ci.type == K_OBJ_NULL &&
           !sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, RING_SLOT + i, 1, 0);
    sys_cnode_delete(env.cnode, parent);
    sys_cnode_delete(env.cnode, hold);
  }
  struct stats st1 = stats_of(first);
  check(ok && blockd_memory(first) == memory && st1.gone_waiting == st0.gone_waiting + 2,
        "clients gone with requests on the device or uncollected: frames back to their memory, blockd's as it was");
  cptr_t s;
  struct reply r = {open_disk(1, &s), 0, 0, 0};
  expect_back(8);
  if (!r.err)
    r = call(s, BLK_READ, 0, 0, 0, 8);
  check(r.err == K_ERR_OK && frames_home(8), "and blockd serves the next client");
  close_session(s);
}

/* Attack 5: the memory of a client whose reads are on the device (held
 * there by BLK_HOLD, so that the revoke lands while they are outstanding
 * every time) is revoked. Its frames stay pinned remains until blockd has
 * the device's answer, so their memory cannot become anything else
 * meanwhile: frames made at once from the same untyped lie elsewhere, and
 * neither they nor another principal's pages (checked byte for byte) change
 * while the device completes; then the untyped is whole again. */
#define DMA_VICTIM_FRAMES 32
#define DMA_OTHER_FRAMES 16
#define DMA_VA 0x0000140000000000ull
static void revoked_during_dma(cptr_t first) {
  u64 memory = blockd_memory(first);
  struct stats st0 = stats_of(first);
  cptr_t area = env_slot(&env), victim = env_slot(&env), other = env_slot(&env), s = 0, hold = 0, ours = env.untyped;
  cptr_t vf = env.next_slot, of = vf + DMA_VICTIM_FRAMES, nf = of + DMA_OTHER_FRAMES;
  env.next_slot = nf + DMA_VICTIM_FRAMES;
  /* Everything from one untyped of ours, given back whole at the end. The
   * victim: its session's 64 KiB, its 32 frames, then 32 more. */
  int ok = !sys_retype(ours, K_OBJ_UNTYPED, 20, env.cnode, area, 1, 0) &&
           !sys_retype(area, K_OBJ_UNTYPED, 19, env.cnode, victim, 1, 0) &&
           !sys_retype(area, K_OBJ_UNTYPED, 16, env.cnode, other, 1, 77); /* another principal */
  env.untyped = area;
  ok = ok && !env_prepare_tables(&env, env.vspace, DMA_VA, (DMA_OTHER_FRAMES + DMA_VICTIM_FRAMES) * K_PAGE_SIZE);
  env.untyped = ours;
  ok = ok &&
           !session_open_from(&env, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, victim, &s) && !hold_next(s, &hold) &&
           !sys_retype(victim, K_OBJ_FRAME_4K, 0, env.cnode, vf, DMA_VICTIM_FRAMES, 0) &&
           !sys_retype(other, K_OBJ_FRAME_4K, 0, env.cnode, of, DMA_OTHER_FRAMES, 0);
  u8 *others = (u8 *)DMA_VA, *fresh = others + DMA_OTHER_FRAMES * K_PAGE_SIZE;
  for (u64 i = 0; ok && i < DMA_OTHER_FRAMES; i++)
    ok = !env_map(&env, env.vspace, of + i, DMA_VA + i * K_PAGE_SIZE, K_MAP_WRITE);
  for (u64 i = 0; ok && i < DMA_OTHER_FRAMES * K_PAGE_SIZE; i++)
    others[i] = (u8)(i * 13 + 7);
  /* four reads of 8 frames each from disk 1, into the victim's frames */
  for (u64 r = 0; r < 4; r++)
    buf->words[1 + 2 * r] = 64 * r, buf->words[2 + 2 * r] = blk_req_word(8 * BLK_SECTORS_PER_FRAME, 0);
  for (u64 i = 0; i < DMA_VICTIM_FRAMES; i++)
    buf->gifts[i] = (u32)(vf + i);
  buf->recv_count = 0;
  struct msg_regs m = sys_call(s, k_msg_info(BLK_IO, 9, 0, DMA_VICTIM_FRAMES), blk_io_word(4, 0, 0), buf->words[1],
                               buf->words[2], buf->words[3]);
  ok = ok && !m.err && m.w[0] == K_ERR_OK;
  ok = ok && !sys_cnode_revoke(env.cnode, victim);
  u64 remains = 0;
  struct k_untyped_usage u;
  if (!sys_untyped_usage(victim, &u, 0))
    remains = u.count[K_OBJ_PINNED_FRAME];
  /* at once: new frames from the revoked memory, filled */
  ok = ok && !sys_retype(victim, K_OBJ_FRAME_4K, 0, env.cnode, nf, DMA_VICTIM_FRAMES, 0);
  for (u64 i = 0; ok && i < DMA_VICTIM_FRAMES; i++)
    ok = !env_map(&env, env.vspace, nf + i, (u64)fresh + i * K_PAGE_SIZE, K_MAP_WRITE);
  if (ok)
    memset(fresh, 0x5a, DMA_VICTIM_FRAMES * K_PAGE_SIZE);
  /* blockd notices the session went (its timer) and lets the device go */
  ok = ok && stat_reaches(first, 7, st0.gone_waiting + 4);
  int others_same = ok, fresh_same = ok;
  for (u64 i = 0; others_same && i < DMA_OTHER_FRAMES * K_PAGE_SIZE; i++)
    others_same = others[i] == (u8)(i * 13 + 7);
  for (u64 i = 0; fresh_same && i < DMA_VICTIM_FRAMES * K_PAGE_SIZE; i++)
    fresh_same = fresh[i] == 0x5a;
  u64 remains_after = sys_untyped_usage(victim, &u, 0) ? ~0ull : u.count[K_OBJ_PINNED_FRAME];
  ok = ok && !sys_cnode_revoke(env.cnode, victim) && !sys_untyped_usage(victim, &u, 0) && u.free == u.size;
  printf("blktest:      %llu of the victim's frames pinned remains right after the revoke, %llu once the device "
         "answered; another principal's %u pages %s, the %u frames made at once from the revoked memory %s\n",
         remains, remains_after, DMA_OTHER_FRAMES, others_same ? "unchanged" : "CHANGED", DMA_VICTIM_FRAMES,
         fresh_same ? "unchanged" : "CHANGED");
  check(ok && remains == DMA_VICTIM_FRAMES && remains_after == 0 && others_same && fresh_same &&
            blockd_memory(first) == memory,
        "memory revoked while the device reads into it: nobody else's bytes change, and it is whole once the device is done");
  sys_cnode_revoke(env.cnode, area);
  sys_cnode_delete(env.cnode, area);
  sys_cnode_delete(env.cnode, hold);
}

/* BLK_FLUSH: refused with frames or on a disk blockd lacks; reaches the
 * device (its count moves) on the session's disk or one it names; and a
 * client that revokes its memory while its flush is on the device (held
 * there by BLK_HOLD, so that the revoke lands in that wait) gets an error
 * and leaves blockd's memory as it was. */
static void flushes(cptr_t first) {
  cptr_t s;
  long err = open_disk(1, &s);
  if (err) {
    check(0, "a session for the flushes");
    return;
  }
  expect_back(1);
  struct reply r = call(s, BLK_FLUSH, 0, 0, 0, 1);
  check(r.err == K_ERR_RANGE && r.gifts == 1 && frames_home(1), "a flush that brings a frame is refused, the frame back");
  r = call(s, BLK_FLUSH, BLK_MAX_DISKS + 1, 0, 0, 0);
  struct stats st = stats_of(s);
  check(r.err == K_ERR_RANGE && st.bad_range == 1, "a flush of a disk blockd does not have is refused and counted");
  int ok = call(s, BLK_FLUSH, 0, 0, 0, 0).err == K_ERR_OK && stats_of(s).err == K_ERR_OK && buf->words[10] == 1;
  ok = ok && call(s, BLK_FLUSH, 1 + 1, 0, 0, 0).err == K_ERR_OK && stats_of(s).err == K_ERR_OK && buf->words[10] == 2;
  check(ok, "a flush of the session's disk, and of a disk named, each reach the device");
  close_session(s);
  u64 memory = blockd_memory(first), gone = stats_of(first).gone_waiting;
  for (int revoke = 0; revoke < 2; revoke++) {
    cptr_t parent = env_slot(&env), sess = 0, tcb = 0, n = 0;
    err = sys_retype(env.untyped, K_OBJ_UNTYPED, BLK_DONATION_BITS + 1, env.cnode, parent, 1, 0);
    if (!err)
      err = session_open_from(&env, buf, BLOCKD_EP, BLK_OPEN, BLK_DONATION_BITS, 1, parent, &sess);
    if (!err)
      err = hold_next(sess, &n);
    if (!err) /* below our priority: it acts while our flush waits on the device */
      err = env_when_blocked(&env, revoke, revoke ? parent : n, &tcb);
    r = err ? (struct reply){err, 0, 0, 0} : call(sess, BLK_FLUSH, 0, 0, 0, 0);
    if (revoke)
      check(r.err == K_ERR_BAD_STATE && stat_reaches(first, 7, gone + 1) && blockd_memory(first) == memory,
            "a client that revokes its memory while its flush is on the device: an error, blockd's memory as it was");
    else
      check(r.err == K_ERR_OK, "a flush held on the device is answered once the device lets it go");
    if (!revoke)
      sys_cnode_revoke(env.cnode, parent);
    sys_cnode_delete(env.cnode, tcb);
    sys_cnode_delete(env.cnode, parent);
    sys_cnode_delete(env.cnode, n);
  }
}

int main(void) {
  env = env_of_program(FRAME_SLOT + NFRAMES);
  env.end_slot = RING_SLOT;
  cptr_t a, b;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, FRAME_SLOT, NFRAMES, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW, NFRAMES * K_PAGE_SIZE);
  if (!err)
    err = blk_ring_make(&env, RING_SLOT, RING_VA, RING);
  if (!err)
    err = open_disk(1, &a);
  if (!err)
    err = open_disk(1, &b);
  struct reply info = err ? (struct reply){0} : call(a, BLK_INFO, 0, 0, 0, 0);
  if (err || info.err) {
    printf("blktest: cannot start: %s\n", err_name(err ? err : info.err));
    debug_exit(1);
    return 1;
  }
  /* map every frame once so that the window layout is the same each time */
  bad_requests(a, info.w1);
  ends_past_the_end(a, info.w1);
  data_round_trip(a, b);
  bad_batches(b, info.w1);
  many_in_flight();
  room_too_small();
  answer_that_cannot_go(a);
  one_waiter_per_session();
  gone_with_requests_out(a);
  revoked_during_dma(a);
  flushes(a);
  sessions(a);
  session_flood(a);
  blockd_time_goes_to_whom_it_worked_for();
  printf("blktest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  return failed;
}
