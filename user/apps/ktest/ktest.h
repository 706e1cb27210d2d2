/* The in-guest test suite: every system call with valid and invalid
 * arguments, and user faults that must end only the faulting thread.
 *
 * Tests register themselves in the `ktests` section with a stable name.
 * Each runs on a fresh 8 MiB untyped of its own (its objects, page tables
 * included, come from it) and with its own slot range; afterwards the suite
 * revokes that untyped and checks that the test's slots are empty again
 * and that the untyped is wholly free: a leak check after every test. */
#ifndef KTEST_H
#define KTEST_H

#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>
#include <abi/ipc.h>

struct t {
  const char *name;
  int failed;
  struct env e;    /* untyped = this test's untyped */
  cptr_t ut;       /* same as e.untyped */
  u64 region;      /* a free 1 GiB of virtual addresses for this test */
};

struct ktest {
  const char *name;
  void (*fn)(struct t *);
};

#define KTEST(id)                                                              \
  static void id(struct t *t);                                                 \
  static const struct ktest ktest_##id __attribute__((used, section("ktests"), aligned(8))) = { \
      #id, id};                                                                \
  static void id(struct t *t)

void ktest_fail(struct t *t, int line, const char *what, long got, long want);

#define EXPECT_ERR(expr, want)                                                 \
  do {                                                                         \
    long got_ = (expr);                                                        \
    if (got_ != (want)) {                                                      \
      ktest_fail(t, __LINE__, #expr, got_, want);                              \
      return;                                                                  \
    }                                                                          \
  } while (0)
#define EXPECT_OK(expr) EXPECT_ERR(expr, K_ERR_OK)
#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ktest_fail(t, __LINE__, #cond, -1, -1);                                  \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define TEST_PRIORITY 100
#define TEST_UT_BITS 25 /* 32 MiB per test: the revoke latency test fills 16 MiB */

/* The suite's main thread has an IPC buffer for the whole run. */
extern struct k_ipc_buffer *main_buf;
extern cptr_t main_buf_frame;

/* Helpers shared by the test files. */
void *new_page(struct t *t, cptr_t *frame);               /* mapped writable, 0 on failure */
long start_thread_ipc(struct t *t, void (*fn)(void), cptr_t *tcb, struct k_ipc_buffer **buf);
/* Page tables for [va, va + size) so gifts can be mapped there. */
long prepare_window(struct t *t, u64 va, u64 size);
cptr_t new_obj(struct t *t, u32 type, u32 bits);       /* 0 on failure (test marked failed) */
long start_thread(struct t *t, void (*fn)(void), cptr_t *tcb);
/* The same with a CSpace, VSpace, priority and IPC buffer (0: none) of the caller's choice. */
long start_thread_with(struct t *t, void (*fn)(void), cptr_t cspace, cptr_t vspace, u32 priority,
                       cptr_t ipc_buffer, cptr_t *tcb);
u32 wait_not_runnable(cptr_t tcb, struct k_tcb_info *info);
long type_of(cptr_t slot, struct k_cap_info *ci);

#endif
