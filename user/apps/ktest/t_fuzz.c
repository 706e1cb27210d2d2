/* Random system calls from a thread that holds only capabilities of its
 * own: the kernel must answer every one with an error or a result, never
 * crash, hang or corrupt anything (the suite goes on afterwards, and the
 * leak check revokes everything the fuzzer made). */
#include "ktest.h"

#define FUZZ_CALLS 20000
#define FUZZ_CNODE_BITS 6

static volatile u64 fuzz_done, fuzz_ok, fuzz_success;
static u8 scratch[8192] __attribute__((aligned(4096)));
static struct k_ipc_buffer *fuzz_buf;

static u64 rng = 0x243f6a8885a308d3ull;
static u64 next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Arguments worth trying: slots of its CNode (and beyond), object types and
 * sizes, addresses that are valid, unmapped, non-canonical or the kernel's. */
static u64 arg(void) {
  static const u64 special[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 4096, ~0ull, 0x7fffffffffffull,
                                0x800000000000ull, 0xffff800000000000ull, 0xffffffff80100000ull,
                                0x1000, 0x200000, 0x40000000};
  switch (next() % 4) {
  case 0:
    return special[next() % (sizeof(special) / sizeof(special[0]))];
  case 1:
    return (u64)scratch + (next() % sizeof(scratch)) - 512; /* partly outside */
  case 2:
    return next() % 64;
  default:
    return next();
  }
}

/* Calls that would block or end the fuzzer are left out: it must go on. */
static int allowed(u64 nr) {
  return nr != K_SYS_SEND && nr != K_SYS_CALL && nr != K_SYS_RECV && nr != K_SYS_REPLY_RECV && nr != K_SYS_WAIT &&
         nr != K_SYS_THREAD_EXIT && nr != K_SYS_DEBUG_PUTS;
}

static void fuzzer(void) {
  for (u64 i = 0; i < FUZZ_CALLS; i++) {
    u64 nr = next() % (K_SYS_COUNT + 4);
    if (!allowed(nr))
      continue;
    long err = syscall6(nr, arg(), arg(), arg(), arg(), arg(), arg()).err;
    if (err >= 0 && err < K_ERR_COUNT)
      fuzz_ok++;
    if (err == K_ERR_OK)
      fuzz_success++;
    fuzz_buf->recv_count = next() % 8; /* keep the IPC buffer's receive side moving too */
    fuzz_buf->recv_slot = next() % 64;
    fuzz_buf->recv_cnode = 1;
  }
  fuzz_done = 1;
  for (;;)
    sys_thread_exit();
}

/* The fuzzer's CSpace: its own CNode (slot 1), an untyped of its own and a
 * few objects, but nothing of the suite's: not its address space, not its
 * TCB, no I/O ports. */
KTEST(random_system_calls_break_nothing) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, FUZZ_CNODE_BITS), tcb = new_obj(t, K_OBJ_TCB, 0);
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  cptr_t vs = new_obj(t, K_OBJ_VSPACE, 0), pt = new_obj(t, K_OBJ_PT, 0), f = new_obj(t, K_OBJ_FRAME_4K, 0);
  cptr_t other = new_obj(t, K_OBJ_TCB, 0), buf_frame;
  EXPECT(cn && tcb && ep && n && vs && pt && f && other);
  EXPECT_OK(sys_cnode_copy(cn, 1, K_BI_SLOT_CNODE, cn, K_RIGHTS_ALL));
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 20, cn, 2, 1, 99));
  const cptr_t give[] = {ep, n, vs, pt, f, other};
  for (unsigned i = 0; i < sizeof(give) / sizeof(give[0]); i++) /* a page table has one capability: it moves */
    EXPECT_OK(give[i] == pt ? sys_cnode_move(cn, 3 + i, K_BI_SLOT_CNODE, pt)
                            : sys_cnode_copy(cn, 3 + i, K_BI_SLOT_CNODE, give[i], K_RIGHTS_ALL));
  fuzz_buf = new_page(t, &buf_frame);
  void *stack;
  EXPECT(fuzz_buf);
  EXPECT_OK(env_alloc_pages(&t->e, 4, &stack));
  EXPECT_OK(sys_tcb_configure(tcb, cn, K_BI_SLOT_VSPACE, TEST_PRIORITY));
  EXPECT_OK(sys_tcb_set_ipc_buffer(tcb, buf_frame));
  EXPECT_OK(sys_tcb_write_regs(tcb, (u64)fuzzer, (u64)stack + 4 * K_PAGE_SIZE - 8, 0));
  fuzz_done = fuzz_ok = fuzz_success = 0;
  EXPECT_OK(sys_tcb_resume(tcb));
  u64 deadline = sys_time_ns() + 60ull * 1000000000ull;
  while (!fuzz_done && sys_time_ns() < deadline)
    sys_yield();
  struct k_tcb_info info;
  EXPECT_OK(sys_tcb_info(tcb, &info));
  printf("ktest:   fuzzer: %llu calls answered with a known code, %llu of them succeeded%s\n", fuzz_ok,
         fuzz_success, fuzz_done ? "" : " (did not finish)");
  EXPECT(fuzz_done && fuzz_ok > FUZZ_CALLS / 2);
}
