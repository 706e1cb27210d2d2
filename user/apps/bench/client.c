/* A: drives each scenario and prints one BENCH line per result.
 *
 * Figures are per operation. The guest prints `instr` as TSC ticks per
 * operation and `ns` from the kernel's clock; the host runner keeps `instr`
 * from the run under -icount shift=0,sleep=off (where the TSC counts
 * instructions exactly) and `ns`/`mbps` from the run without it. */
#include "bench.h"

#define WARMUP 4

static int failures;

/* Starts at the first measured iteration, after the warm-up. */
struct stopwatch {
  u64 tsc, ns;
};

static void stopwatch_start(struct stopwatch *w) {
  w->tsc = rdtsc();
  w->ns = sys_time_ns();
}

static void stopwatch_stop(struct stopwatch *w) {
  w->tsc = rdtsc() - w->tsc;
  w->ns = sys_time_ns() - w->ns;
}

/* About 16384 pages per scenario, at most 4096 operations, plus warm-up. */
static u64 iterations(u64 pages_per_op) {
  u64 n = 16384 / pages_per_op;
  return (n > 4096 ? 4096 : n) + WARMUP;
}

struct result {
  const char *name;
  u64 size, ops, tsc, ns;
  u64 pages;
  const char *frame; /* "4k" or "2m": the frames a gift moves */
};

static void report(const struct result *r) {
  u64 instr = r->tsc / r->ops, ns = r->ns / r->ops;
  u64 kbps = r->ns ? r->size * r->ops * 1000000ull / r->ns : 0; /* KB/s -> MB/s with 3 decimals */
  printf("BENCH name=%s size=%llu ops=%llu instr=%llu ns=%llu mbps=%llu.%03llu accel=guest",
         r->name, r->size, r->ops, instr, ns, kbps / 1000, kbps % 1000);
  if (r->pages)
    printf(" pages=%llu instr_per_4k=%llu", r->pages, instr / r->pages);
  if (r->frame)
    printf(" frame=%s", r->frame);
  printf("\n");
}

static struct msg_regs call(u32 label, u64 w0, u64 w1, u64 gifts, u64 caps) {
  struct msg_regs r = sys_call(BENCH_EP, k_msg_info(label, 2, caps, gifts), w0, w1, 0, 0);
  if (r.err || r.w[0]) {
    printf("bench: request %u failed: %s (server said %llu)\n", label, err_name(r.err), r.w[0]);
    failures++;
  }
  return r;
}

static void ipc_roundtrip(void) {
  const u64 n = 20000;
  for (int i = 0; i < 100; i++)
    sys_call(BENCH_EP, k_msg_info(CMD_PING, 1, 0, 0), i, 0, 0, 0);
  struct stopwatch w;
  stopwatch_start(&w);
  for (u64 i = 0; i < n; i++)
    sys_call(BENCH_EP, k_msg_info(CMD_PING, 1, 0, 0), i, 0, 0, 0);
  stopwatch_stop(&w);
  struct result r = {"ipc_roundtrip", 8, n, w.tsc, w.ns, 0, 0};
  report(&r);
}

/* Each iteration is two transfers: A writes a word per page and gifts the
 * batch to B, B reads, writes and gifts it back, A reads. */
static void page_transfer(struct k_ipc_buffer *b, u64 pages, u32 mode) {
  int big = pages == 0;
  u64 n = big ? 1 : pages, bytes = big ? K_LARGE_PAGE_SIZE : pages * K_PAGE_SIZE;
  u64 va = big ? BENCH_BIG_VA : BENCH_GIFT_VA, touched = bytes / K_PAGE_SIZE;
  call(CMD_SETUP, pages, mode, 0, 0);
  b->recv_cnode = K_BI_SLOT_CNODE;
  b->recv_slot = big ? BENCH_GIFT_SLOTS - 4 : BENCH_GIFT_SLOTS;
  b->recv_count = n;
  b->recv_window = va;
  b->recv_window_size = bytes;
  for (u64 g = 0; g < n; g++) /* the frames always leave from and return to these slots */
    b->gifts[g] = (u32)(b->recv_slot + g);
  u64 iters = big ? 64 + WARMUP : iterations(n);
  struct stopwatch w = {0, 0};
  for (u64 i = 0; i < iters; i++) {
    if (i == WARMUP)
      stopwatch_start(&w);
    bench_write_words(va, touched);
    struct msg_regs r = sys_call(BENCH_EP, k_msg_info(CMD_GIFT, 0, 0, n), 0, 0, 0, 0);
    if (r.err || k_msg_gifts(r.info) != n) {
      printf("bench: gift of %llu failed: %s (entry %llu)\n", n, err_name(r.err), b->gift_error_index);
      failures++;
      return;
    }
    bench_touch(va, touched, mode);
  }
  stopwatch_stop(&w);
  struct result r = {mode == MODE_SUM ? "page_transfer_sum" : "page_transfer", bytes,
                     2 * (iters - WARMUP), w.tsc, w.ns, touched, big ? "2m" : "4k"};
  report(&r);
}

/* The same bytes moved by copying through a buffer both map: A copies in,
 * B copies out (as write() and read() through a pipe do). One transfer per
 * call. */
static void copy_transfer(u64 bytes, u32 mode) {
  u64 pages = bytes / K_PAGE_SIZE;
  call(CMD_SETUP, pages, mode, 0, 0);
  u64 iters = iterations(pages);
  struct stopwatch w = {0, 0};
  for (u64 i = 0; i < iters; i++) {
    if (i == WARMUP)
      stopwatch_start(&w);
    bench_write_words(BENCH_GIFT_VA, pages);
    memcpy((void *)BENCH_SHARED_VA, (const void *)BENCH_GIFT_VA, bytes);
    sys_call(BENCH_EP, k_msg_info(CMD_COPY, 1, 0, 0), bytes, 0, 0, 0);
  }
  stopwatch_stop(&w);
  struct result r = {mode == MODE_SUM ? "copy_transfer_sum" : "copy_transfer", bytes, iters - WARMUP,
                     w.tsc, w.ns, pages, 0};
  report(&r);
}

/* 512 frames at BENCH_GIFT_VA, a 2 MiB frame at BENCH_BIG_VA, and a shared
 * 2 MiB copy buffer whose capability B gets a copy of. */
static long setup(struct env *e, struct k_ipc_buffer *b) {
  long err = K_ERR_OK;
  for (u64 i = 0; !err && i < BENCH_MAX_PAGES; i++) {
    err = sys_retype(e->untyped, K_OBJ_FRAME_4K, 0, e->cnode, BENCH_GIFT_SLOTS + i, 1, 0);
    if (!err)
      err = env_map(e, e->vspace, BENCH_GIFT_SLOTS + i, BENCH_GIFT_VA + i * K_PAGE_SIZE, K_MAP_WRITE);
  }
  cptr_t big = BENCH_GIFT_SLOTS - 4, shared = BENCH_SHARED_SLOT, copy = BENCH_SHARED_SLOT + 1;
  cptr_t t1, t2, t3;
  if (!err)
    err = sys_retype(e->untyped, K_OBJ_FRAME_2M, 0, e->cnode, big, 1, 0);
  if (!err)
    err = sys_retype(e->untyped, K_OBJ_FRAME_2M, 0, e->cnode, shared, 1, 0);
  if (!err && !(err = env_retype(e, K_OBJ_PDPT, 0, &t1)) && !(err = env_retype(e, K_OBJ_PD, 0, &t2)) &&
      !(err = env_retype(e, K_OBJ_PD, 0, &t3))) {
    sys_page_table_map(t1, e->vspace, BENCH_BIG_VA); /* the same PDPT as GIFT_VA's: may exist */
    err = sys_page_table_map(t2, e->vspace, BENCH_BIG_VA);
    if (!err)
      err = sys_page_table_map(t3, e->vspace, BENCH_SHARED_VA);
  }
  if (!err)
    err = sys_frame_map(big, e->vspace, BENCH_BIG_VA, K_MAP_WRITE);
  if (!err)
    err = sys_frame_map(shared, e->vspace, BENCH_SHARED_VA, K_MAP_WRITE);
  if (!err)
    err = sys_cnode_copy(e->cnode, copy, e->cnode, shared, K_RIGHTS_ALL);
  if (err)
    return err;
  b->caps[0] = copy;
  struct msg_regs r = sys_call(BENCH_EP, k_msg_info(CMD_SHARE, 0, 1, 0), 0, 0, 0, 0);
  return r.err ? r.err : (long)r.w[0];
}

int bench_client(struct env *e, struct k_ipc_buffer *b) {
  printf("bench: guest benchmarks (A and B in two address spaces)\n");
  long err = setup(e, b);
  if (err) {
    printf("bench: setup failed: %s\n", err_name(err));
    return 1;
  }
  ipc_roundtrip();
  static const u64 batches[] = {1, 8, 64, 512, 0};
  for (u32 mode = MODE_TOUCH; mode <= MODE_SUM; mode++) {
    for (u32 i = 0; i < sizeof(batches) / sizeof(batches[0]); i++)
      page_transfer(b, batches[i], mode);
    for (u32 i = 0; i < 4; i++) /* the last is 2 MiB, the large frame's size too */
      copy_transfer(batches[i] * K_PAGE_SIZE, mode);
  }
  sys_call(BENCH_EP, k_msg_info(CMD_DONE, 0, 0, 0), 0, 0, 0, 0);
  printf("bench: done, %d failure%s\n", failures, failures == 1 ? "" : "s");
  return failures;
}
