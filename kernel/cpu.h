/* Per-CPU state, reached only through this_cpu(). One CPU for now; SMP adds
 * an array and a GS-based accessor without touching the users. */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <arch/context.h>

struct tcb;
struct zombie;

struct cpu {
  struct arch_cpu arch; /* must stay first: the entry stubs use its offsets */
  struct tcb *cur;      /* thread whose context the entry stubs save into */
  struct zombie *zombies;
  u64 ticks;
  u64 slice_left;
  struct tcb *direct; /* woken by IPC, to run next without the run queue */
  int resched;   /* the running thread should give up the CPU on the way out */
  u64 idle_tsc; /* TSC cycles spent halted, to leave idle time out of figures */
  u64 charged_to; /* TSC up to which `cur` has been charged for its time */
  struct tcb *payer; /* whose vtime cur's time adds to, when not its own: the caller it serves */
};

extern struct cpu cpu0;
static inline struct cpu *this_cpu(void) { return &cpu0; }

#endif
