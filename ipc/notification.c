/* Notifications: a word of bits, OR-ed by signals, taken by wait or poll,
 * or delivered to the bound thread while it waits on an endpoint. */
#include "ipc/endpoint.h"
#include "ipc/transfer.h"
#include "kernel/tcb.h"
#include "kernel/sched.h"
#include "kernel/clock.h"
#include <abi/ipc.h>
#include <arch/syscall.h>

void ntfn_signal(struct notification *n, u64 bits) {
  n->bits |= bits;
  struct tcb *t = n->head;
  if (t) {
    tq_remove(&n->head, &n->tail, t);
    t->waiting_on = 0;
    arch_set_badge(&t->ctx, n->bits);
    n->bits = 0;
    ipc_wake(t, K_ERR_OK);
    return;
  }
  t = n->bound;
  if (t && t->state == K_TCB_BLOCKED && t->ipc_state == IPC_RECV) {
    ipc_cancel(t); /* leave the endpoint queue */
    arch_set_badge(&t->ctx, n->bits);
    arch_set_msg_info(&t->ctx, k_msg_info(K_MSG_LABEL_NOTIFY, 0, 0, 0));
    n->bits = 0;
    ipc_wake(t, K_ERR_OK);
  }
}

int ntfn_wait(struct tcb *self, struct cte *nc, int can_block) {
  struct notification *n = (struct notification *)nc->cap.obj;
  if (n->bits || !can_block) {
    arch_set_badge(&self->ctx, n->bits);
    n->bits = 0;
    return K_ERR_OK;
  }
  tq_push(&n->head, &n->tail, self);
  self->waiting_on = n;
  self->state = K_TCB_BLOCKED;
  self->ipc_state = IPC_NOTIFICATION;
  return IPC_BLOCKED;
}

void ntfn_bind(struct tcb *t, struct notification *n) {
  if (t->bound)
    t->bound->bound = 0;
  t->bound = n;
  if (n) {
    if (n->bound)
      n->bound->bound = 0;
    n->bound = t;
  }
}

int ntfn_wake_waiters(struct notification *n, unsigned max) {
  for (; n->head && max; max--) {
    struct tcb *t = n->head;
    tq_remove(&n->head, &n->tail, t);
    t->waiting_on = 0;
    ipc_wake(t, K_ERR_PEER_DIED);
  }
  return !n->head;
}

void ntfn_destroy(struct notification *n) {
  ntfn_wake_waiters(n, ~0u);
  if (n->bound)
    n->bound->bound = 0;
  irq_forget_notification(n);
  ntfn_set_timer(n, 0, 0);
}

/* Armed notifications, earliest deadline first. */
static struct timer_node *timers;
int timers_overdue;

#define EXPIRE_STEP 32

void ntfn_set_timer(struct notification *n, u64 deadline, u64 bits) {
  if (n->timer.deadline)
    timer_remove(&timers, &n->timer);
  n->timer.deadline = deadline;
  n->timer_bits = bits;
  if (deadline)
    timer_insert(&timers, &n->timer);
}

void ntfn_timers_tick(void) {
  if (timers)
    ntfn_timers_expire(clock_ns());
}

void ntfn_timers_expire(u64 now) {
  struct timer_node *t;
  int n = 0;
  while ((t = timer_first(timers)) && t->deadline <= now && n++ < EXPIRE_STEP) {
    struct notification *ntfn = (struct notification *)t; /* the node comes first */
    timer_remove(&timers, t);
    t->deadline = 0;
    ntfn_signal(ntfn, ntfn->timer_bits);
  }
  timers_overdue = t && t->deadline <= now;
}

const struct timer_node *ntfn_timers(void) { return timers; }

void ntfn_timers_catch_up(void) { ntfn_timers_expire(clock_ns()); }
