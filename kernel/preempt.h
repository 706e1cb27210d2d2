/* Preemption points for long kernel operations.
 *
 * The kernel runs with interrupts off. An operation whose length others
 * can drive (a revoke of many objects, a receive that meets many senders
 * whose messages fail) stops at a point where every structure is
 * consistent when an interrupt is waiting, and returns PREEMPTED: the
 * system-call dispatcher makes the caller execute the same call again when
 * it next runs, and the call picks up from the state the kernel keeps. */
#ifndef KERNEL_PREEMPT_H
#define KERNEL_PREEMPT_H

#include <arch/sched.h>

#define PREEMPTED (-2)

static inline int preempt_due(void) { return arch_irq_pending(); }

#endif
