/* Run queues and the way out of the kernel (see sched.h). */
#include "kernel/sched.h"
#include "kernel/cpu.h"
#include "mm/vspace.h"
#include "ipc/endpoint.h"
#include <arch/cpu.h>
#include <arch/mmu.h>
#include <arch/sched.h>
#include <arch/timer.h>

struct runq {
  struct tcb *head, *tail;
};

/* Two queues a priority, first come first served each: threads that have
 * had less CPU than the others of their priority (vtime below its floor)
 * run before those that have had as much or more. O(1) for
 * every operation, whatever the number of threads; the order within a
 * queue is arrival, so threads that use the same time take turns. */
enum { Q_FRESH, Q_USED };
static struct runq queues[K_PRIORITY_MAX + 1][2];
static u64 ready_bits[(K_PRIORITY_MAX + 1) / 64];
static u64 ready_words; /* bit w: ready_bits[w] != 0 */

/* One time slice, 20 ms (TIMER_HZ 100), in TSC cycles: how far behind its
 * priority's floor a thread that was away comes back (it goes first, but
 * the time it was away is not owed to it). */
static u64 vtime_lag(void) { return SCHED_SLICE_TICKS * 10000ull * arch_tsc_per_us(); }

/* Per priority, a floor under the vtimes of its threads that may run: it
 * only climbs, so a thread that was away (asleep, new, or from another
 * priority) is measured against where the others got to, not against
 * threads that happen to be asleep now. */
static u64 floor_vtime[K_PRIORITY_MAX + 1];

static void raise_floor(u8 priority, const struct tcb *except) {
  const struct tcb *f = queues[priority][Q_FRESH].head, *u = queues[priority][Q_USED].head, *cur = this_cpu()->cur;
  u64 least = ~0ull;
  if (f)
    least = f->vtime;
  if (u && u->vtime < least)
    least = u->vtime;
  if (cur && cur != except && cur->priority == priority && cur->state == K_TCB_RUNNABLE && cur->vtime < least)
    least = cur->vtime;
  if (least != ~0ull && least > floor_vtime[priority])
    floor_vtime[priority] = least;
}

void sched_enqueue(struct tcb *t) {
  raise_floor(t->priority, t);
  u64 floor = floor_vtime[t->priority], lag = vtime_lag();
  if (floor > lag && t->vtime < floor - lag)
    t->vtime = floor - lag;
  int which = t->vtime < floor ? Q_FRESH : Q_USED;
  struct runq *q = &queues[t->priority][which];
  t->q_next = 0;
  t->q_prev = q->tail;
  if (q->tail)
    q->tail->q_next = t;
  else
    q->head = t;
  q->tail = t;
  t->queued = (u8)(1 + which);
  ready_bits[t->priority / 64] |= 1ull << (t->priority % 64);
  ready_words |= 1ull << (t->priority / 64);
  struct tcb *cur = this_cpu()->cur;
  if (cur && t->priority > cur->priority)
    this_cpu()->resched = 1;
}

void sched_dequeue(struct tcb *t) {
  struct runq *q = &queues[t->priority][t->queued - 1];
  if (t->q_prev)
    t->q_prev->q_next = t->q_next;
  else
    q->head = t->q_next;
  if (t->q_next)
    t->q_next->q_prev = t->q_prev;
  else
    q->tail = t->q_prev;
  t->q_next = t->q_prev = 0;
  t->queued = 0;
  if (!queues[t->priority][Q_FRESH].head && !queues[t->priority][Q_USED].head) {
    ready_bits[t->priority / 64] &= ~(1ull << (t->priority % 64));
    if (!ready_bits[t->priority / 64])
      ready_words &= ~(1ull << (t->priority / 64));
  }
}

static int highest_priority(void) {
  if (!ready_words)
    return -1;
  int w = 63 - __builtin_clzll(ready_words);
  return w * 64 + 63 - __builtin_clzll(ready_bits[w]);
}

/* IPC woke t: keep it aside as the thread to run next if the current one
 * blocks, so a call or reply switches without touching the run queues. */
void sched_wake(struct tcb *t) {
  struct cpu *cpu = this_cpu();
  if (cpu->direct)
    sched_enqueue(cpu->direct);
  cpu->direct = t;
  if (cpu->cur && t->priority > cpu->cur->priority)
    cpu->resched = 1;
}

void sched_forget(struct tcb *t) {
  if (this_cpu()->direct == t)
    this_cpu()->direct = 0;
  if (this_cpu()->payer == t)
    this_cpu()->payer = 0;
  if (t->queued)
    sched_dequeue(t);
}

static struct tcb *highest_ready(void) {
  int p = highest_priority();
  return p < 0 ? 0 : queues[p][Q_FRESH].head ? queues[p][Q_FRESH].head : queues[p][Q_USED].head;
}

/* The caller gives its turn to the others of its priority: it goes behind
 * them (into the used queue), whatever CPU it has had. */
void sched_yield(void) {
  struct tcb *cur = this_cpu()->cur;
  if (cur) {
    if (cur->vtime < floor_vtime[cur->priority])
      cur->vtime = floor_vtime[cur->priority];
  }
  this_cpu()->resched = 1;
}

void sched_tick(void) {
  struct cpu *cpu = this_cpu();
  cpu->ticks++;
  if (cpu->slice_left && --cpu->slice_left == 0)
    this_cpu()->resched = 1;
}

static int keep_current(struct tcb *cur) {
  return cur && cur->state == K_TCB_RUNNABLE && !this_cpu()->resched && tcb_can_run(cur);
}

/* Next thread to run, with the current one requeued; 0 if none. */
static struct tcb *pick_next(void) {
  struct tcb *cur = this_cpu()->cur;
  if (this_cpu()->direct) { /* woken while idle, by an interrupt */
    sched_enqueue(this_cpu()->direct);
    this_cpu()->direct = 0;
  }
  if (cur && cur->state == K_TCB_RUNNABLE && !cur->queued)
    sched_enqueue(cur);
  this_cpu()->resched = 0;
  struct tcb *t;
  while ((t = highest_ready())) {
    sched_dequeue(t);
    if (tcb_can_run(t))
      return t;
    t->state = K_TCB_INACTIVE; /* lost its address space or CSpace */
  }
  return 0;
}

/* The thread IPC handed the CPU to, if it may run now: only ahead of
 * threads of lower priority. Threads of its own priority waiting in the
 * queue go first (it joins them at the tail): else a client that calls a
 * higher server in a loop would get the CPU straight back with every answer
 * and never let another thread of its priority run (issue 16: a client
 * sending netd cheap bad requests left netecho 7% of its echo). */
static struct tcb *take_direct(struct tcb *cur) {
  struct cpu *cpu = this_cpu();
  struct tcb *d = cpu->direct;
  cpu->direct = 0;
  if (!d)
    return 0;
  if (keep_current(cur) || (int)d->priority <= highest_priority() || !tcb_can_run(d)) {
    sched_enqueue(d);
    return 0;
  }
  if (cur && cur->state == K_TCB_RUNNABLE && !cur->queued)
    sched_enqueue(cur);
  cpu->resched = 0;
  return d;
}

/* Everything since the last charge goes to the thread that ran (a thread's
 * system call is its own time, IPC hand-off included, up to this point),
 * and to the vtime of whom it ran for: the caller it was answering when it
 * last left the kernel, else itself. So a client that keeps a server busy
 * waits for its turn as if it had run that long itself. */
static void charge_running(struct cpu *cpu) {
  u64 now = rdtsc(), ran = now - cpu->charged_to;
  if (cpu->cur) {
    cpu->cur->cpu_tsc += ran;
    (cpu->payer ? cpu->payer : cpu->cur)->vtime += ran;
  }
  cpu->charged_to = now;
}

u64 sched_cpu_tsc(const struct tcb *t) {
  struct cpu *cpu = this_cpu();
  return t->cpu_tsc + (cpu->cur == t ? rdtsc() - cpu->charged_to : 0);
}

void sched_return_to_user(void) {
  struct cpu *cpu = this_cpu();
  if (timers_overdue) /* timers the last expiry left due: a few more */
    ntfn_timers_catch_up();
  charge_running(cpu);
  struct tcb *next = cpu->cur, *d = take_direct(next);
  if (d) {
    cpu->cur = next = d;
  } else if (!keep_current(next)) {
    while (!(next = pick_next())) {
      cpu->cur = 0;
      arch_idle_until_interrupt();
      cpu->charged_to = rdtsc(); /* halted, and the interrupts that woke it: nobody's */
    }
    cpu->cur = next;
    cpu->slice_left = SCHED_SLICE_TICKS;
  }
  cpu->payer = next->caller; /* blocked on next's reply: alive while it is */
  const struct cap *vs = &next->slots[TCB_SLOT_VSPACE].cap;
  arch_enter_user(&next->ctx, kva_to_pa((void *)vs->obj));
}
