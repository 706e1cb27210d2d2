/* Test runner: registry walk, per-test untyped and leak check, summary. */
#include "ktest.h"

#define TEST_SLOTS_FIRST 64
#define TEST_REGION 0x0000100000000000ull

extern const struct ktest __start_ktests[], __stop_ktests[];

static cptr_t test_ut = K_BI_SLOT_FIRST_FREE_FIXED + 1; /* FIRST_FREE_FIXED: the clock's ports */
struct k_ipc_buffer *main_buf;
cptr_t main_buf_frame;

/* The main thread's IPC buffer comes from the suite's own untyped, not from
 * a test's, so it survives the revoke after each test. */
static long setup_main_buffer(void) {
  struct env suite = {.cnode = K_BI_SLOT_CNODE, .vspace = K_BI_SLOT_VSPACE, .untyped = K_BI_SLOT_BOOT_UNTYPED,
                      .next_slot = 20, .end_slot = 64, .next_vaddr = ENV_FREE_VA};
  cptr_t f;
  long err = env_retype(&suite, K_OBJ_FRAME_4K, 0, &f);
  if (!err)
    err = env_map(&suite, K_BI_SLOT_VSPACE, f, suite.next_vaddr, K_MAP_WRITE);
  if (!err)
    err = sys_tcb_set_ipc_buffer(K_BI_SLOT_TCB, f);
  main_buf_frame = f;
  main_buf = (struct k_ipc_buffer *)suite.next_vaddr;
  return err;
}

void ktest_fail(struct t *t, int line, const char *what, long got, long want) {
  if (want >= 0)
    printf("ktest:   line %d: %s returned %s, expected %s\n", line, what, err_name(got),
           err_name(want));
  else
    printf("ktest:   line %d: %s is false\n", line, what);
  t->failed = 1;
}

cptr_t new_obj(struct t *t, u32 type, u32 bits) {
  cptr_t s;
  long err = env_retype(&t->e, type, bits, &s);
  if (err) {
    printf("ktest:   retype of %s failed: %s\n", obj_type_name(type), err_name(err));
    t->failed = 1;
    return 0;
  }
  return s;
}

long type_of(cptr_t slot, struct k_cap_info *ci) {
  long err = sys_cap_identify(K_BI_SLOT_CNODE, slot, ci);
  return err ? -err : (long)ci->type;
}

/* Threads share this address space; the stack comes from the test's memory. */
long start_thread_with(struct t *t, void (*fn)(void), cptr_t cspace, cptr_t vspace, u32 priority,
                       cptr_t ipc_buffer, cptr_t *tcb) {
  void *stack;
  long err = env_alloc_pages(&t->e, 2, &stack);
  if (!err)
    err = env_retype(&t->e, K_OBJ_TCB, 0, tcb);
  if (!err)
    err = sys_tcb_configure(*tcb, cspace, vspace, priority);
  if (!err) /* as if called: rsp + 8 is 16-byte aligned at entry */
    err = sys_tcb_write_regs(*tcb, (u64)fn, (u64)stack + 2 * K_PAGE_SIZE - 8, 0);
  if (!err && ipc_buffer)
    err = sys_tcb_set_ipc_buffer(*tcb, ipc_buffer);
  if (!err)
    err = sys_tcb_resume(*tcb);
  return err;
}

long start_thread(struct t *t, void (*fn)(void), cptr_t *tcb) {
  return start_thread_with(t, fn, K_BI_SLOT_CNODE, K_BI_SLOT_VSPACE, TEST_PRIORITY, 0, tcb);
}

void *new_page(struct t *t, cptr_t *frame) {
  u64 va = t->e.next_vaddr;
  if (env_retype(&t->e, K_OBJ_FRAME_4K, 0, frame) || env_map(&t->e, K_BI_SLOT_VSPACE, *frame, va, K_MAP_WRITE)) {
    t->failed = 1;
    return 0;
  }
  t->e.next_vaddr += K_PAGE_SIZE;
  return (void *)va;
}

long start_thread_ipc(struct t *t, void (*fn)(void), cptr_t *tcb, struct k_ipc_buffer **buf) {
  cptr_t f;
  *buf = new_page(t, &f);
  if (!*buf)
    return K_ERR_NO_MEMORY;
  long err = start_thread(t, fn, tcb);
  if (!err)
    err = sys_tcb_set_ipc_buffer(*tcb, f);
  return err;
}

long prepare_window(struct t *t, u64 va, u64 size) {
  return env_prepare_tables(&t->e, K_BI_SLOT_VSPACE, va, size);
}

/* Let the thread run (same priority: yield) until it stops being runnable. */
u32 wait_not_runnable(cptr_t tcb, struct k_tcb_info *info) {
  for (int i = 0; i < 1000; i++) {
    if (sys_tcb_info(tcb, info) == K_ERR_OK && info->state != K_TCB_RUNNABLE)
      return info->state;
    sys_yield();
  }
  return K_TCB_RUNNABLE;
}

static int slots_empty(u64 from, u64 to) {
  struct k_cap_info ci;
  for (u64 s = from; s < to; s++)
    if (sys_cap_identify(K_BI_SLOT_CNODE, s, &ci) != K_ERR_OK || ci.type != K_OBJ_NULL) {
      printf("ktest:   leak: slot %llu still holds %s after revoke\n", s, obj_type_name(ci.type));
      return 0;
    }
  return 1;
}

static int run_one(const struct ktest *k, int index) {
  struct t t = {.name = k->name, .ut = test_ut, .region = TEST_REGION};
  t.e = (struct env){.cnode = K_BI_SLOT_CNODE, .vspace = K_BI_SLOT_VSPACE, .untyped = test_ut,
                     .next_slot = TEST_SLOTS_FIRST, .end_slot = 1ull << SPAWN_CNODE_BITS, .next_vaddr = TEST_REGION};
  k->fn(&t);
  u64 used_to = t.e.next_slot;
  struct k_untyped_usage u;
  if (sys_cnode_revoke(K_BI_SLOT_CNODE, test_ut) != K_ERR_OK || !slots_empty(TEST_SLOTS_FIRST, used_to) ||
      sys_untyped_usage(test_ut, &u, 0) != K_ERR_OK || u.free != u.size) {
    printf("ktest:   leak check failed after %s\n", k->name);
    t.failed = 1;
  }
  printf("ktest: %s %d %s\n", t.failed ? "FAIL" : "ok  ", index, k->name);
  return !t.failed;
}

static void snapshot(struct k_untyped_usage *u) { sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, u, K_USAGE_RECURSIVE); }

static int same_usage(const struct k_untyped_usage *a, const struct k_untyped_usage *b) {
  for (int i = 0; i < K_OBJ_TYPE_COUNT; i++)
    if (a->count[i] != b->count[i] || a->bytes[i] != b->bytes[i])
      return 0;
  return a->free == b->free;
}

int main(u64 principal) {
  printf("ktest: kernel test suite, principal %llu\n", principal);
  /* The buffer first: the test untyped is aligned to its size, so it takes
   * the upper half of the suite's memory (the lower holds the suite itself). */
  long err = setup_main_buffer();
  if (err) {
    printf("ktest: cannot set up the IPC buffer: %s\n", err_name(err));
    debug_exit(2);
  }
  err = sys_retype(K_BI_SLOT_BOOT_UNTYPED, K_OBJ_UNTYPED, TEST_UT_BITS, K_BI_SLOT_CNODE, test_ut, 1,
                   (u32)principal);
  if (err) {
    printf("ktest: cannot make the test untyped: %s\n", err_name(err));
    debug_exit(2);
  }
  struct k_untyped_usage before, after;
  snapshot(&before);
  int passed = 0, failed = 0, i = 0;
  for (const struct ktest *k = __start_ktests; k < __stop_ktests; k++)
    run_one(k, ++i) ? passed++ : failed++;
  snapshot(&after);
  if (same_usage(&before, &after)) {
    printf("ktest: ok   %d memory use of the suite's untyped is back where it started\n", ++i);
    passed++;
  } else {
    printf("ktest: FAIL %d memory use of the suite's untyped changed\n", ++i);
    failed++;
  }
  printf("ktest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  return failed;
}
