/* System calls outside the object groups: numbers, console, time, I/O ports. */
#include "ktest.h"

KTEST(unknown_system_call_is_an_error) {
  EXPECT_ERR(syscall6(K_SYS_COUNT, 0, 0, 0, 0, 0, 0).err, K_ERR_BAD_SYSCALL);
  EXPECT_ERR(syscall6(~0ull, 0, 0, 0, 0, 0, 0).err, K_ERR_BAD_SYSCALL);
}

/* The invariant checker walks every capability: only the fuzzing kernel
 * (make fuzz, KERNEL_CHECKS) lets user space start it. */
KTEST(invariant_checker_is_not_in_the_normal_kernel) {
  EXPECT_ERR(syscall6(K_SYS_DEBUG_CHECK_INVARIANTS, 0, 0, 0, 0, 0, 0).err, K_ERR_BAD_SYSCALL);
}

KTEST(debug_puts_checks_the_buffer) {
  EXPECT_OK(sys_debug_puts("", 0));
  EXPECT_ERR(sys_debug_puts((const char *)0x10, 4), K_ERR_FAULT_ADDRESS);
  EXPECT_ERR(sys_debug_puts((const char *)0xffffffff80100000ull, 4), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_debug_puts("x", 5000), K_ERR_RANGE);
}

KTEST(time_advances) {
  u64 a = sys_time_ns();
  for (int i = 0; i < 10; i++)
    sys_yield();
  u64 b = sys_time_ns();
  EXPECT(b > a);
}

/* Halted time only grows, and never faster than time itself. */
KTEST(idle_time_is_part_of_time) {
  u64 t0 = sys_time_ns(), i0 = sys_idle_ns();
  cptr_t n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(n);
  EXPECT_OK(sys_ntfn_set_timer(n, t0 + 30000000, 1)); /* nothing else runs: the CPU halts */
  EXPECT(sys_wait(n).badge == 1);
  u64 t1 = sys_time_ns(), i1 = sys_idle_ns();
  EXPECT(i0 <= t0 && i1 <= t1 && i1 >= i0);
  EXPECT(i1 - i0 <= t1 - t0);
  EXPECT(i1 - i0 >= 10000000); /* most of the 30 ms wait */
}

KTEST(ioports_are_limited_to_the_capability) {
  /* init gave us 0xf4-0xf7 (the debug-exit device) and nothing else. */
  struct k_cap_info ci;
  EXPECT_OK(sys_cap_identify(K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, &ci));
  EXPECT(ci.type == K_OBJ_IOPORTS && ci.base == 0xf4 && ci.size == 4);
  EXPECT_ERR(sys_ioport_out(K_BI_SLOT_IOPORTS, 0x3f8, 1, 'x'), K_ERR_RANGE);
  EXPECT_ERR(sys_ioport_in(K_BI_SLOT_IOPORTS, 0x60, 1).err, K_ERR_RANGE);
  EXPECT_ERR(sys_ioport_out(K_BI_SLOT_IOPORTS, 0xf4, 3, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_ioport_out(K_BI_SLOT_IOPORTS, 0xf5, 2, 0), K_ERR_ALIGNMENT);
  EXPECT_ERR(sys_ioport_out(K_BI_SLOT_IOPORTS, 0xf4, 1, 0x100), K_ERR_RANGE);
  EXPECT_ERR(sys_ioport_out(K_BI_SLOT_TCB, 0xf4, 1, 0), K_ERR_WRONG_TYPE);
  cptr_t narrow = env_slot(&t->e);
  EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, narrow, K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, K_RIGHTS_ALL,
                            0xf0 | 0xf4ull << 16), K_ERR_RANGE);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, narrow, K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, K_RIGHT_READ,
                           0xf6 | 0xf7ull << 16));
  EXPECT_ERR(sys_ioport_out(narrow, 0xf6, 1, 0), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_ioport_in(narrow, 0xf4, 1).err, K_ERR_RANGE);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, narrow));
}

KTEST(identify_reports_owner_and_size) {
  struct k_cap_info ci;
  EXPECT_OK(sys_cap_identify(K_BI_SLOT_CNODE, t->ut, &ci));
  EXPECT(ci.type == K_OBJ_UNTYPED && ci.size == 1ull << TEST_UT_BITS && ci.label >= 10);
  u32 principal = ci.label;
  cptr_t f = new_obj(t, K_OBJ_FRAME_2M, 0);
  EXPECT(f);
  EXPECT_OK(sys_cap_identify(K_BI_SLOT_CNODE, f, &ci));
  EXPECT(ci.type == K_OBJ_FRAME_2M && ci.size == K_LARGE_PAGE_SIZE && ci.label == principal);
  EXPECT_ERR(sys_cap_identify(K_BI_SLOT_CNODE, 5000, &ci), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_cap_identify(K_BI_SLOT_TCB, 1, &ci), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_cap_identify(K_BI_SLOT_CNODE, f, (struct k_cap_info *)8), K_ERR_FAULT_ADDRESS);
}

/* CAP_TYPE answers identify's type in a register, and refuses what
 * identify refuses. */
KTEST(cap_type_is_identifys_type) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0), ep = new_obj(t, K_OBJ_ENDPOINT, 0), empty = env_slot(&t->e);
  EXPECT(f && ep);
  struct sysret r = sys_cap_type(K_BI_SLOT_CNODE, f);
  EXPECT(r.err == K_ERR_OK && r.val == K_OBJ_FRAME_4K);
  r = sys_cap_type(K_BI_SLOT_CNODE, ep);
  EXPECT(r.err == K_ERR_OK && r.val == K_OBJ_ENDPOINT);
  r = sys_cap_type(K_BI_SLOT_CNODE, t->ut);
  EXPECT(r.err == K_ERR_OK && r.val == K_OBJ_UNTYPED);
  r = sys_cap_type(K_BI_SLOT_CNODE, empty);
  EXPECT(r.err == K_ERR_OK && r.val == K_OBJ_NULL);
  EXPECT_ERR(sys_cap_type(K_BI_SLOT_CNODE, 5000).err, K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_cap_type(K_BI_SLOT_TCB, 1).err, K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f));
  r = sys_cap_type(K_BI_SLOT_CNODE, f);
  EXPECT(r.err == K_ERR_OK && r.val == K_OBJ_NULL);
}
