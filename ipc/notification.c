/* Notifications: a word of bits, OR-ed by signals, taken by wait or poll,
 * or delivered to the bound thread while it waits on an endpoint. */
#include "ipc/endpoint.h"
#include "ipc/transfer.h"
#include "kernel/tcb.h"
#include "kernel/sched.h"
#include <abi/ipc.h>

void ntfn_signal(struct notification *n, u64 bits) {
  n->bits |= bits;
  struct tcb *t = n->head;
  if (t) {
    tq_remove(&n->head, &n->tail, t);
    t->waiting_on = 0;
    t->ctx.rdi = n->bits;
    n->bits = 0;
    ipc_wake(t, ERR_OK);
    return;
  }
  t = n->bound;
  if (t && t->state == TCB_BLOCKED && t->ipc_state == IPC_RECV) {
    ipc_cancel(t); /* leave the endpoint queue */
    t->ctx.rdi = n->bits;
    t->ctx.rsi = msg_info(MSG_LABEL_NOTIFY, 0, 0, 0);
    n->bits = 0;
    ipc_wake(t, ERR_OK);
  }
}

int ntfn_wait(struct tcb *self, struct cte *nc, int can_block) {
  struct notification *n = (struct notification *)nc->cap.obj;
  if (n->bits || !can_block) {
    self->ctx.rdi = n->bits;
    n->bits = 0;
    return ERR_OK;
  }
  tq_push(&n->head, &n->tail, self);
  self->waiting_on = n;
  self->state = TCB_BLOCKED;
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

void ntfn_destroy(struct notification *n) {
  while (n->head) {
    struct tcb *t = n->head;
    tq_remove(&n->head, &n->tail, t);
    t->waiting_on = 0;
    ipc_wake(t, ERR_PEER_DIED);
  }
  if (n->bound)
    n->bound->bound = 0;
  irq_forget_notification(n);
}
