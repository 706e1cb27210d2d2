/* Threads, scheduling and user faults: a fault ends only its thread. */
#include "ktest.h"

static volatile u64 counter;
static volatile u64 fault_page;

static void __attribute__((noreturn)) done(void) {
  for (;;)
    sys_thread_exit();
}

static void count_then_exit(void) {
  counter = 1234;
  done();
}

static void spin_forever(void) {
  for (;;)
    counter++;
}

static void null_deref(void) {
  *(volatile u64 *)0 = 1;
  done();
}

static void privileged_instruction(void) {
  __asm__ volatile("hlt");
  done();
}

static void divide_by_zero(void) {
  __asm__ volatile("xor %%ecx, %%ecx; div %%ecx" ::: "eax", "ecx", "edx");
  done();
}

static void invalid_opcode(void) {
  __asm__ volatile("ud2");
  done();
}

static void touch_kernel(void) {
  counter = *(volatile u64 *)0xffffffff80100000ull;
  done();
}

static void sse_instruction(void) {
  __asm__ volatile("xorps %%xmm0, %%xmm0" ::: "memory");
  done();
}

static void touch_fault_page(void) {
  counter = *(volatile u64 *)fault_page;
  done();
}

KTEST(thread_runs_and_exits) {
  cptr_t tcb;
  struct k_tcb_info info;
  counter = 0;
  EXPECT_OK(start_thread(t, count_then_exit, &tcb));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_EXITED);
  EXPECT(counter == 1234);
}

static void expect_fault(struct t *t, void (*fn)(void), u64 vector, int check_addr, u64 addr) {
  cptr_t tcb;
  struct k_tcb_info info;
  EXPECT_OK(start_thread(t, fn, &tcb));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_FAULTED);
  EXPECT(info.fault_vector == vector);
  EXPECT(!check_addr || info.fault_addr == addr);
  EXPECT(info.fault_rip >= (u64)fn && info.fault_rip < (u64)fn + 64);
}

KTEST(null_dereference_ends_only_the_thread) { expect_fault(t, null_deref, 14, 1, 0); }
KTEST(privileged_instruction_is_a_general_protection_fault) { expect_fault(t, privileged_instruction, 13, 0, 0); }
KTEST(divide_by_zero_ends_only_the_thread) { expect_fault(t, divide_by_zero, 0, 0, 0); }
KTEST(invalid_opcode_ends_only_the_thread) { expect_fault(t, invalid_opcode, 6, 0, 0); }
KTEST(user_cannot_read_kernel_memory) { expect_fault(t, touch_kernel, 14, 1, 0xffffffff80100000ull); }
KTEST(sse_is_off_for_user_code) { expect_fault(t, sse_instruction, 6, 0, 0); }

KTEST(unmapped_page_faults_after_unmap) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  u64 va = t->e.next_vaddr;
  t->e.next_vaddr += K_PAGE_SIZE; /* keep the thread's stack off this page */
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, va, K_MAP_WRITE));
  *(volatile u64 *)va = 99;
  EXPECT_OK(sys_frame_unmap(f));
  fault_page = va;
  expect_fault(t, touch_fault_page, 14, 1, va);
}

/* A thread at our priority that never yields: the timer must preempt it,
 * or this test never gets the CPU back. */
KTEST(deleting_a_running_threads_last_capability_stops_it) {
  cptr_t tcb;
  struct k_tcb_info info;
  counter = 0;
  EXPECT_OK(start_thread(t, spin_forever, &tcb));
  for (int i = 0; i < 1000 && counter < 1000; i++)
    sys_yield();
  EXPECT(counter >= 1000);
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_RUNNABLE);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, tcb));
  u64 seen = counter;
  for (int i = 0; i < 20; i++)
    sys_yield();
  EXPECT(counter == seen);
  EXPECT_ERR(sys_tcb_info(tcb, &info), K_ERR_EMPTY_SLOT);
}

KTEST(suspend_and_resume) {
  cptr_t tcb;
  struct k_tcb_info info;
  counter = 0;
  EXPECT_OK(start_thread(t, spin_forever, &tcb));
  EXPECT_OK(sys_tcb_suspend(tcb));
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_INACTIVE);
  u64 seen = counter;
  for (int i = 0; i < 20; i++)
    sys_yield();
  EXPECT(counter == seen);
  EXPECT_OK(sys_tcb_resume(tcb));
  for (int i = 0; i < 1000 && counter == seen; i++)
    sys_yield();
  EXPECT(counter != seen);
  EXPECT_OK(sys_tcb_suspend(tcb));
}

KTEST(tcb_operations_reject_bad_arguments) {
  cptr_t tcb = new_obj(t, K_OBJ_TCB, 0), ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(tcb && ep);
  struct k_tcb_info info;
  EXPECT_ERR(sys_tcb_resume(tcb), K_ERR_NOT_CONFIGURED);
  EXPECT_ERR(sys_tcb_resume(ep), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_tcb_configure(tcb, K_BI_SLOT_CNODE, K_BI_SLOT_VSPACE, TEST_PRIORITY + 1), K_ERR_RANGE);
  EXPECT_ERR(sys_tcb_configure(tcb, K_BI_SLOT_CNODE, K_BI_SLOT_VSPACE, 1000), K_ERR_RANGE);
  EXPECT_ERR(sys_tcb_configure(tcb, K_BI_SLOT_VSPACE, K_BI_SLOT_VSPACE, 1), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_tcb_configure(tcb, K_BI_SLOT_CNODE, K_BI_SLOT_CNODE, 1), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_tcb_write_regs(tcb, 0xffffffff80100000ull, 0x1000, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_tcb_write_regs(tcb, 0x400000, 0x0000900000000000ull, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_tcb_info(tcb, (struct k_tcb_info *)0xffff800000001000ull), K_ERR_BAD_ADDRESS);
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_INACTIVE);
}

/* Revoking the untyped under a running thread, its stack, its page tables
 * and an endpoint destroys all of them at once. */
KTEST(revoke_of_objects_in_use) {
  struct k_untyped_usage u;
  cptr_t sub = new_obj(t, K_OBJ_UNTYPED, 20);
  EXPECT(sub);
  struct env saved = t->e;
  t->e.untyped = sub;
  cptr_t tcb;
  counter = 0;
  EXPECT_OK(start_thread(t, spin_forever, &tcb));
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(ep);
  for (int i = 0; i < 100 && counter == 0; i++)
    sys_yield();
  EXPECT(counter != 0);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, sub));
  u64 seen = counter;
  for (int i = 0; i < 20; i++)
    sys_yield();
  EXPECT(counter == seen);
  EXPECT_OK(sys_untyped_usage(sub, &u, K_USAGE_RECURSIVE));
  EXPECT(u.free == u.size && u.count[K_OBJ_TCB] == 0 && u.count[K_OBJ_PT] == 0);
  struct k_cap_info ci;
  EXPECT(type_of(tcb, &ci) == K_OBJ_NULL && type_of(ep, &ci) == K_OBJ_NULL);
  t->e.untyped = saved.untyped;
}

/* Each thread is charged the time it ran, and nothing while it does not
 * run: a spinning thread's time grows while we yield to it, stops when it
 * is suspended, and its time and ours together fit in the time that went. */
KTEST(cpu_time_is_charged_to_the_thread_that_ran) {
  cptr_t tcb;
  struct k_tcb_info info, spin0, mine0, mine1;
  counter = 0;
  EXPECT_OK(start_thread(t, spin_forever, &tcb));
  /* every reading inside [t0, t1], so the two times must fit in it */
  u64 t0 = sys_time_ns();
  EXPECT_OK(sys_tcb_info(tcb, &spin0));
  EXPECT_OK(sys_tcb_info(K_BI_SLOT_TCB, &mine0));
  while (sys_time_ns() - t0 < 30000000ull)
    sys_yield();
  EXPECT_OK(sys_tcb_suspend(tcb));
  EXPECT_OK(sys_tcb_info(K_BI_SLOT_TCB, &mine1));
  EXPECT_OK(sys_tcb_info(tcb, &info));
  u64 elapsed = sys_time_ns() - t0;
  u64 spun = info.cpu_ns - spin0.cpu_ns, ours = mine1.cpu_ns - mine0.cpu_ns;
  EXPECT(counter > 0 && spun >= 10000000ull);
  EXPECT(ours > 0 && spun + ours <= elapsed);
  for (int i = 0; i < 20; i++)
    sys_yield();
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.cpu_ns - spin0.cpu_ns == spun);
  printf("ktest:   spinner %llu us, us %llu us, of %llu us\n", spun / 1000, ours / 1000, elapsed / 1000);
  /* THREAD_TIME is our own cpu_ns, read without the copy */
  u64 a = sys_thread_ns();
  EXPECT_OK(sys_tcb_info(K_BI_SLOT_TCB, &mine1));
  u64 b = sys_thread_ns();
  EXPECT(a <= mine1.cpu_ns && mine1.cpu_ns <= b && b - a < 1000000ull);
}
