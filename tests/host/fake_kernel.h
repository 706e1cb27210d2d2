/* Host stand-ins for what the generic kernel code needs from the rest of
 * the kernel: a "physical memory" arena, the per-CPU structure, and object
 * hooks that record what happened so tests can assert on it. */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "kernel/cap.h"
#include "kernel/cpu.h"
#include <arch/mmu.h>
#include "kernel/object.h"
#include "kernel/tcb.h"
#include "mm/untyped.h"
#include "mm/vspace.h"

#define FAKE_PHYS_SIZE (64ull << 20)
#define FAKE_RAM_BASE (2ull << 20)

struct fake_counts {
  int tcb_destroyed, ep_destroyed, ntfn_destroyed;
  int tlb_page_flushes, tlb_full_flushes;
  int irq_destroyed;
  int irq_every, irq_asked; /* arch_irq_pending: yes every irq_every-th time */
};
extern struct fake_counts fake;

/* Fresh arena and counters; returns an untyped covering [base, base+size). */
void fake_reset(void);
void fake_untyped(struct cte *slot, u64 base, u64 size, u16 flags);
/* The usual fixture, after fake_reset: a 32 MiB untyped in *root_ut and a
 * CNode of 2^bits slots made from it, its capability in *cn_slot. */
struct cte *fake_fixture(struct cte *root_ut, struct cte *cn_slot, u32 bits);
/* A CNode with 2^bits slots retyped from `ut` into `slot`. */
struct cte *fake_cnode(struct cte *ut, struct cte *slot, u32 bits);
int retype(struct cte *ut, u32 type, u32 bits, u32 count, struct cte *dest);
/* Asserts c's children point back to it and its sibling list is whole:
 * each next's prev is its predecessor, the first child's prev the last. */
void fake_check_links(const struct cte *c);

#endif
