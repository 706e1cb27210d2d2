/* Endpoint send, receive, call and reply; cancellation (see endpoint.h). */
#include "ipc/endpoint.h"
#include "ipc/transfer.h"
#include "kernel/tcb.h"
#include "kernel/sched.h"
#include "kernel/preempt.h"
#include <abi/ipc.h>
#include <arch/syscall.h>

void tq_push(struct tcb **head, struct tcb **tail, struct tcb *t) {
  t->ep_next = 0;
  t->ep_prev = *tail;
  if (*tail)
    (*tail)->ep_next = t;
  else
    *head = t;
  *tail = t;
}

void tq_remove(struct tcb **head, struct tcb **tail, struct tcb *t) {
  if (t->ep_prev)
    t->ep_prev->ep_next = t->ep_next;
  else
    *head = t->ep_next;
  if (t->ep_next)
    t->ep_next->ep_prev = t->ep_prev;
  else
    *tail = t->ep_prev;
  t->ep_next = t->ep_prev = 0;
}

void ipc_wake(struct tcb *t, int err) {
  if (t->pending_fault && err) { /* its handler is gone: it stays stopped, its registers intact */
    t->pending_fault = 0;
    t->ipc_state = IPC_NONE;
    t->state = K_TCB_FAULTED;
    return;
  }
  arch_syscall_set_error(&t->ctx, (u64)err);
  t->ipc_state = IPC_NONE;
  t->state = K_TCB_RUNNABLE;
  sched_wake(t);
}

static void block(struct tcb *t, u8 ipc_state) {
  t->state = K_TCB_BLOCKED;
  t->ipc_state = ipc_state;
}

static void ep_enqueue(struct endpoint *ep, struct tcb *t, u8 state) {
  tq_push(&ep->head, &ep->tail, t);
  ep->state = state;
  t->ep = ep;
  block(t, state);
}

static void ep_dequeue(struct endpoint *ep, struct tcb *t) {
  tq_remove(&ep->head, &ep->tail, t);
  t->ep = 0;
  if (!ep->head)
    ep->state = IPC_NONE;
}

/* `caller` now waits for `server`'s reply. A call still unanswered by the
 * server is answered with PEER_DIED rather than left hanging. */
static void link_call(struct tcb *caller, struct tcb *server) {
  if (server->caller) {
    server->caller->callee = 0;
    ipc_wake(server->caller, K_ERR_PEER_DIED);
  }
  server->caller = caller;
  caller->callee = server;
  block(caller, IPC_REPLY);
}

int ipc_send(struct tcb *self, struct cte *epc, u64 info, int call, int can_block) {
  struct endpoint *ep = (struct endpoint *)epc->cap.obj;
  int err = msg_check(self, info);
  if (err)
    return err;
  struct msg m = {.info = info, .badge = cap_badge(&epc->cap), .grant = !!(epc->cap.rights & K_RIGHT_GRANT)};
  if (ep->state == IPC_RECV) {
    struct tcb *rcv = ep->head;
    err = ipc_transfer(self, rcv, &m);
    if (err)
      return err;
    ep_dequeue(ep, rcv);
    ipc_wake(rcv, K_ERR_OK);
    if (!call)
      return K_ERR_OK;
    link_call(self, rcv);
    return IPC_BLOCKED;
  }
  if (!can_block)
    return K_ERR_WOULD_BLOCK;
  if (k_msg_gifts(info)) { /* tell the sender about a bad batch now, not at delivery */
    err = gift_check_source(self, k_msg_gifts(info));
    if (err)
      return err;
  }
  self->pending_info = info;
  self->pending_badge = m.badge;
  self->pending_grant = m.grant;
  self->pending_call = (u8)call;
  self->pending_fault = 0;
  ep_enqueue(ep, self, IPC_SEND);
  return IPC_BLOCKED;
}

static int take_notification(struct tcb *self) {
  struct notification *n = self->bound;
  if (!n || !n->bits)
    return 0;
  arch_set_badge(&self->ctx, n->bits);
  arch_set_msg_info(&self->ctx, k_msg_info(K_MSG_LABEL_NOTIFY, 0, 0, 0));
  n->bits = 0;
  return 1;
}

int ipc_recv(struct tcb *self, struct cte *epc, int can_block) {
  struct endpoint *ep = (struct endpoint *)epc->cap.obj;
  if (take_notification(self))
    return K_ERR_OK;
  while (ep->state == IPC_SEND) {
    struct tcb *snd = ep->head;
    struct msg m = {.info = snd->pending_info, .badge = snd->pending_badge,
                    .grant = snd->pending_grant, .fault = snd->pending_fault};
    int err = ipc_transfer(snd, self, &m);
    ep_dequeue(ep, snd);
    if (err) { /* this sender's message cannot be delivered: it learns why */
      ipc_wake(snd, err);
      if (preempt_due()) /* many such senders are many steps: the call resumes */
        return PREEMPTED;
      continue;
    }
    if (snd->pending_call)
      link_call(snd, self);
    else
      ipc_wake(snd, K_ERR_OK);
    return K_ERR_OK;
  }
  if (!can_block)
    return K_ERR_WOULD_BLOCK;
  ep_enqueue(ep, self, IPC_RECV);
  return IPC_BLOCKED;
}

/* Answer caller c, already unlinked from whoever it called. */
static int reply_to(struct tcb *self, struct tcb *c, u64 info) {
  int err;
  if (c->pending_fault) { /* the handler dealt with the fault: run again */
    c->pending_fault = 0;
    c->ipc_state = IPC_NONE;
    c->state = K_TCB_RUNNABLE;
    sched_wake(c);
    return K_ERR_OK;
  }
  struct msg m = {.info = info, .grant = 1};
  err = ipc_transfer(self, c, &m);
  ipc_wake(c, err);
  return err;
}

int ipc_reply(struct tcb *self, u64 info) {
  struct tcb *c = self->caller;
  if (!c)
    return K_ERR_NO_CALLER;
  int err = msg_check(self, info);
  if (err)
    return err;
  self->caller = 0;
  c->callee = 0;
  return reply_to(self, c, info);
}

/* A REPLY capability has no parent and no copies: it leaves its slot alone. */
static void clear_reply_slot(struct cte *s) {
  *s = (struct cte){0};
}

int ipc_save_reply(struct tcb *self, struct cte *dest) {
  struct tcb *c = self->caller;
  if (!c)
    return K_ERR_NO_CALLER;
  self->caller = 0;
  c->callee = 0;
  struct cap cap = {.type = K_OBJ_REPLY, .rights = K_RIGHTS_ALL, .w1 = (u64)c}; /* reply_caller */
  cte_insert(dest, &cap, 0);
  c->reply_cap = dest;
  return K_ERR_OK;
}

int ipc_reply_saved(struct tcb *self, struct cte *reply, u64 info) {
  int err = msg_check(self, info);
  if (err)
    return err;
  struct tcb *c = reply_caller(&reply->cap);
  c->reply_cap = 0;
  clear_reply_slot(reply);
  return reply_to(self, c, info);
}

void reply_cap_destroy(const struct cap *cap) {
  struct tcb *c = reply_caller(cap);
  c->reply_cap = 0;
  if (c->state == K_TCB_BLOCKED && c->ipc_state == IPC_REPLY)
    ipc_wake(c, K_ERR_PEER_DIED);
}

void reply_cap_moved(struct cte *s) { reply_caller(&s->cap)->reply_cap = s; }

int ipc_send_fault(struct tcb *t) {
  struct cte *fep = &t->slots[TCB_SLOT_FAULT_EP];
  if (fep->cap.type != K_OBJ_ENDPOINT)
    return 0;
  struct endpoint *ep = (struct endpoint *)fep->cap.obj;
  t->pending_info = k_msg_info(K_MSG_LABEL_FAULT, 4, 0, 0);
  t->pending_badge = cap_badge(&fep->cap);
  t->pending_grant = 0;
  t->pending_call = 1;
  t->pending_fault = 1;
  if (ep->state == IPC_RECV) {
    struct tcb *rcv = ep->head;
    struct msg m = {.info = t->pending_info, .badge = t->pending_badge, .fault = 1};
    if (ipc_transfer(t, rcv, &m) == K_ERR_OK) {
      ep_dequeue(ep, rcv);
      ipc_wake(rcv, K_ERR_OK);
      link_call(t, rcv);
      return 1;
    }
  }
  ep_enqueue(ep, t, IPC_SEND);
  return 1;
}

void ipc_cancel(struct tcb *t) {
  if (t->ep)
    ep_dequeue(t->ep, t);
  if (t->waiting_on) {
    tq_remove(&t->waiting_on->head, &t->waiting_on->tail, t);
    t->waiting_on = 0;
  }
  if (t->caller) {
    t->caller->callee = 0;
    ipc_wake(t->caller, K_ERR_PEER_DIED);
    t->caller = 0;
  }
  if (t->callee) {
    t->callee->caller = 0;
    t->callee = 0;
  }
  if (t->reply_cap) { /* nobody waits for that answer any more */
    clear_reply_slot(t->reply_cap);
    t->reply_cap = 0;
  }
  if (t->state == K_TCB_BLOCKED)
    arch_syscall_set_error(&t->ctx, K_ERR_CANCELLED);
  t->ipc_state = IPC_NONE;
  t->pending_fault = 0;
}

int ep_wake_waiters(struct endpoint *ep, unsigned max) {
  for (; ep->head && max; max--) {
    struct tcb *t = ep->head;
    ep_dequeue(ep, t);
    ipc_wake(t, K_ERR_PEER_DIED);
  }
  return !ep->head;
}

void ep_destroy(struct endpoint *ep) { ep_wake_waiters(ep, ~0u); }
