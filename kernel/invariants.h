/* The kernel's invariant checker, for fuzzing.
 *
 * inv_check() walks every capability reachable from the boot roots (the
 * capabilities boot.c made with no parent: untypeds, I/O ports, IRQ
 * control, DMA) through the derivation tree, then every CNode and TCB slot
 * of the objects it found, and checks what the rest of the kernel relies
 * on: tree links, copies naming their parent's object, objects inside
 * their untyped's watermark, mappings recorded on both sides, usage
 * figures, TCB queue links, the zombie stack (empty unless a delete was
 * preempted; then every record on it has its ZOMBIE capability, and the
 * slots it has not emptied yet count as slots). Each violation prints one
 * "invariant:" line.
 * The walk is iterative (a mark bit in each capability, no stack) and
 * bounded, so a corrupt tree is reported rather than followed forever.
 *
 * It is compiled into every kernel (the host tests use it too); only a
 * kernel built with KERNEL_CHECKS lets user space call it. */
#ifndef KERNEL_INVARIANTS_H
#define KERNEL_INVARIANTS_H

#include "kernel/cap.h"

/* K_ERR_OK or K_ERR_INVARIANT; *checked = capabilities visited. */
int inv_check(u64 *checked);

/* The registry of boot roots: cap.c keeps it current as parentless
 * capabilities are made and moved. */
void inv_root_add(struct cte *slot);
void inv_root_moved(struct cte *dst, struct cte *src);
void inv_roots_reset(void);
/* Slots outside every CNode and TCB that hold capabilities: none in the
 * kernel; the host tests' fixtures (inv_roots_reset forgets them). */
void inv_add_holder(struct cte *slots, u32 n);

#endif
