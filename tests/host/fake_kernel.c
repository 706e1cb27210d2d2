/* Host stand-ins (see fake_kernel.h). */
#include "fake_kernel.h"
#include "kernel/cpu.h"
#include "ipc/endpoint.h"
#include "kernel/invariants.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

u8 *host_phys_base;
struct cpu cpu0;
struct fake_counts fake;
static u64 fake_kernel_root[512];
static u64 current_root;

void fake_reset(void) {
  if (!host_phys_base) {
    host_phys_base = aligned_alloc(2u << 20, FAKE_PHYS_SIZE);
    assert_non_null(host_phys_base);
  }
  memset(host_phys_base, 0xa5, FAKE_PHYS_SIZE); /* retype must zero what it hands out */
  memset(&fake, 0, sizeof(fake));
  memset(&cpu0, 0, sizeof(cpu0));
  for (int i = 256; i < 512; i++)
    fake_kernel_root[i] = 0x1000 * (u64)i | 1;
  current_root = 0;
  inv_roots_reset();
}

int kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

void fake_untyped(struct cte *slot, u64 base, u64 size, u16 flags) {
  memset(slot, 0, sizeof(*slot));
  struct cap c = ut_make_cap(base, size, 1, flags);
  cte_insert(slot, &c, 0);
}

int retype(struct cte *ut, u32 type, u32 bits, u32 count, struct cte *dest) {
  struct retype_args a = {.type = type, .size_bits = bits, .count = count, .label = 5};
  return ut_retype(ut, &a, dest);
}

struct cte *fake_cnode(struct cte *ut, struct cte *slot, u32 bits) {
  assert_int_equal(retype(ut, K_OBJ_CNODE, bits, 1, slot), K_ERR_OK);
  return (struct cte *)slot->cap.obj;
}

void fake_check_links(const struct cte *c) {
  const struct cte *last = 0;
  for (const struct cte *k = c->first_child; k; k = k->next) {
    assert_ptr_equal(k->parent, c);
    if (k->next)
      assert_ptr_equal(k->next->prev, k);
    last = k;
  }
  if (c->first_child)
    assert_ptr_equal(c->first_child->prev, last);
}

struct cte *fake_fixture(struct cte *root_ut, struct cte *cn_slot, u32 bits) {
  fake_reset();
  fake_untyped(root_ut, FAKE_RAM_BASE, 32ull << 20, 0);
  memset(cn_slot, 0, sizeof(*cn_slot));
  return fake_cnode(root_ut, cn_slot, bits);
}

void tcb_init(struct tcb *t) { t->state = K_TCB_INACTIVE; }
u64 tcb_cpu_ns(const struct tcb *t) { return t->cpu_tsc; }

void tcb_destroy(struct tcb *t) {
  fake.tcb_destroyed++;
  zombie_push(&t->zombie, t->slots, TCB_SLOTS);
}

void ep_destroy(struct endpoint *ep) { (void)ep; fake.ep_destroyed++; }
/* The host build arms no timers. */
const struct timer_node *ntfn_timers(void) { return 0; }
int ep_wake_waiters(struct endpoint *ep, unsigned max) { (void)ep; (void)max; return 1; }
int ntfn_wake_waiters(struct notification *n, unsigned max) { (void)n; (void)max; return 1; }
void ntfn_destroy(struct notification *n) { (void)n; fake.ntfn_destroyed++; }

void arch_tlb_flush_page(u64 va) { (void)va; fake.tlb_page_flushes++; }
void arch_tlb_flush_all(void) { fake.tlb_full_flushes++; }
u64 arch_current_root(void) { return current_root; }
void arch_load_kernel_root(void) { current_root = 0; }
u64 *arch_kernel_root(void) { return fake_kernel_root; }

void irq_handler_destroy(const struct cap *h) { (void)h; fake.irq_destroyed++; }

void reply_cap_destroy(const struct cap *c) { (void)c; }
void reply_cap_moved(struct cte *c) { (void)c; }

/* Host tests decide when an interrupt is "pending": every fake.irq_every-th
 * question answers yes (0: never). */
int arch_irq_pending(void) {
  if (!fake.irq_every)
    return 0;
  fake.irq_asked++;
  return fake.irq_asked % fake.irq_every == 0;
}
