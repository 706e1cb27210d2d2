/* Preemptive priority scheduler (one CPU), fair within a priority.
 *
 * The running thread is not in the run queue. It keeps the CPU until it
 * blocks, yields, its time slice ends or a higher-priority thread becomes
 * runnable. Threads of one priority take turns by the CPU they have had,
 * the time of the servers that answered their calls included (vtime):
 * those that have had no more than the others go before those that have
 * had more, and take turns among themselves. */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "kernel/tcb.h"

#define SCHED_SLICE_TICKS 2

void sched_enqueue(struct tcb *t);
void sched_dequeue(struct tcb *t);
void sched_yield(void);
/* A thread IPC made runnable (see sched.c). */
void sched_wake(struct tcb *t);
/* Take t out of every scheduling structure (suspend, destroy). */
void sched_forget(struct tcb *t);
void sched_tick(void);
/* TSC cycles the thread has run, the running one up to now. */
u64 sched_cpu_tsc(const struct tcb *t);
/* Leave the kernel into the thread that should run now (never returns). */
__attribute__((noreturn)) void sched_return_to_user(void);

#endif
