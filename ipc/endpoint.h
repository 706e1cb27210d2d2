/* Endpoints and notifications as objects. Their IPC semantics (send, receive,
 * call, reply, signal, wait) arrive with the IPC issue; here they can be
 * created, copied, badged and destroyed. */
#ifndef IPC_ENDPOINT_H
#define IPC_ENDPOINT_H

#include <abi/types.h>

struct tcb;

struct endpoint {
  struct tcb *head, *tail; /* threads waiting to send or receive */
  u64 state;
};

struct notification {
  struct tcb *waiter;
  struct tcb *bound;
  u64 bits;
};

_Static_assert(sizeof(struct endpoint) <= 64, "endpoint object size");
_Static_assert(sizeof(struct notification) <= 64, "notification object size");

void ep_destroy(struct endpoint *ep);
void ntfn_destroy(struct notification *n);

#endif
