/* System calls of IPC: endpoints, replies, notifications and their timers. */
#include "kernel/sys.h"
#include "kernel/clock.h"
#include "ipc/endpoint.h"

static int sys_send_common(struct call *c, int call, int block) {
  struct cte *ep;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_ENDPOINT, K_RIGHT_WRITE, &ep);
  return err ? err : ipc_send(c->self, ep, arg(c, 1), call, block);
}

int sys_SEND(struct call *c) { return sys_send_common(c, 0, 1); }

int sys_NBSEND(struct call *c) { return sys_send_common(c, 0, 0); }

int sys_CALL(struct call *c) { return sys_send_common(c, 1, 1); }

static int sys_recv_common(struct call *c, int block) {
  struct cte *ep;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_ENDPOINT, K_RIGHT_READ, &ep);
  return err ? err : ipc_recv(c->self, ep, block);
}

int sys_RECV(struct call *c) { return sys_recv_common(c, 1); }

int sys_NBRECV(struct call *c) { return sys_recv_common(c, 0); }

int sys_REPLY(struct call *c) { return ipc_reply(c->self, arg(c, 1)); }

/* Reply to the last caller (if any), then wait for the next message. */
int sys_REPLY_RECV(struct call *c) {
  struct cte *ep;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_ENDPOINT, K_RIGHT_READ, &ep);
  if (err)
    return err;
  err = ipc_reply(c->self, arg(c, 1));
  if (err && err != K_ERR_NO_CALLER)
    return err;
  return ipc_recv(c->self, ep, 1);
}

int sys_SIGNAL(struct call *c) {
  struct cte *n;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_NOTIFICATION, K_RIGHT_WRITE, &n);
  if (!err)
    ntfn_signal((struct notification *)n->cap.obj, cap_badge(&n->cap) ? cap_badge(&n->cap) : 1);
  return err;
}

static int sys_wait_common(struct call *c, int block) {
  struct cte *n;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_NOTIFICATION, K_RIGHT_READ, &n);
  return err ? err : ntfn_wait(c->self, n, block);
}

/* The clock tick (10 ms) checks deadlines; a past deadline signals now. */
int sys_NTFN_SET_TIMER(struct call *c) {
  struct cte *n;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_NOTIFICATION, K_RIGHT_WRITE, &n);
  if (err)
    return err;
  if (arg(c, 1) && !arg(c, 2))
    return K_ERR_RANGE;
  struct notification *ntfn = (struct notification *)n->cap.obj;
  ntfn_set_timer(ntfn, arg(c, 1), arg(c, 2));
  if (arg(c, 1) && arg(c, 1) <= clock_ns())
    ntfn_timers_expire(clock_ns());
  return K_ERR_OK;
}

int sys_WAIT(struct call *c) { return sys_wait_common(c, 1); }

int sys_POLL(struct call *c) { return sys_wait_common(c, 0); }

int sys_REPLY_SAVE(struct call *c) {
  struct cte *dest;
  int err = lookup_in_cnode(c, arg(c, 0), arg(c, 1), K_RIGHT_WRITE, &dest);
  if (err)
    return err;
  return cte_empty(dest) ? ipc_save_reply(c->self, dest) : K_ERR_SLOT_OCCUPIED;
}

int sys_REPLY_TO(struct call *c) {
  struct cte *r;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_REPLY, K_RIGHT_WRITE, &r);
  return err ? err : ipc_reply_saved(c->self, r, arg(c, 1));
}
