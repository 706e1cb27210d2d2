/* Synchronous IPC on endpoints and asynchronous signals on notifications.
 *
 * An endpoint is a queue of threads all waiting to send or all waiting to
 * receive. A send meets a waiting receiver (or queues), the message moves
 * from the sender's registers and IPC buffer to the receiver's, and a call
 * leaves the caller waiting for the receiver's reply. Whenever a thread dies
 * or is suspended, or an endpoint is destroyed, every thread waiting on it
 * wakes with K_ERR_PEER_DIED: nobody hangs on a partner that went away. */
#ifndef IPC_ENDPOINT_H
#define IPC_ENDPOINT_H

#include <lib/types.h>
#include "ipc/timers.h"

struct tcb;
struct cte;
struct cap;

struct endpoint {
  struct tcb *head, *tail;
  u64 state; /* enum ipc_state of the queued threads: IPC_SEND or IPC_RECV */
};

struct notification {
  /* An armed timer: the notification is a node of the kernel's tree of
   * deadlines (ipc/timers.h), so arming one allocates nothing. First: the
   * node's alignment carries its level. */
  struct timer_node timer;
  u64 timer_bits;
  struct tcb *head, *tail; /* waiting threads */
  struct tcb *bound;
  u64 bits;
};

_Static_assert(sizeof(struct endpoint) <= 64, "endpoint object size");
_Static_assert(sizeof(struct notification) <= 64, "notification object size");
_Static_assert(__builtin_offsetof(struct notification, timer) == 0, "the timer node's level lives in its alignment");

/* A system call that blocked: its result is written when the thread wakes. */
#define IPC_BLOCKED (-1)

int ipc_send(struct tcb *self, struct cte *ep, u64 info, int call, int block);
int ipc_recv(struct tcb *self, struct cte *ep, int block);
int ipc_reply(struct tcb *self, u64 info);
/* A server that cannot answer now keeps its caller's reply as a REPLY
 * capability in an empty slot, and answers later through it, in any order.
 * If the caller dies first the capability goes; if the capability is
 * deleted first the caller wakes with PEER_DIED. */
int ipc_save_reply(struct tcb *self, struct cte *dest);
int ipc_reply_saved(struct tcb *self, struct cte *reply, u64 info);
void reply_cap_destroy(const struct cap *c);
void reply_cap_moved(struct cte *c);
/* A fault in user mode: a call on the thread's fault endpoint, if any.
 * Returns 0 when there is no fault endpoint (the thread just stops). */
int ipc_send_fault(struct tcb *t);
/* Take a thread out of every IPC relation (suspend, destroy). */
void ipc_cancel(struct tcb *t);

void ntfn_signal(struct notification *n, u64 bits);
int ntfn_wait(struct tcb *self, struct cte *ntfn, int block);
void ntfn_bind(struct tcb *t, struct notification *n);

/* Before the last capability to an endpoint or notification goes, its
 * waiters are woken with PEER_DIED, at most `max` per call (the queue can
 * be as long as other principals make it). Returns 1 once none is left. */
int ep_wake_waiters(struct endpoint *ep, unsigned max);
int ntfn_wake_waiters(struct notification *n, unsigned max);
void ep_destroy(struct endpoint *ep);
void ntfn_destroy(struct notification *n);
/* Signal `bits` on n at `deadline` (ns since boot); 0 disarms. */
void ntfn_set_timer(struct notification *n, u64 deadline, u64 bits);
/* From the clock interrupt, and on the way out of the kernel while some
 * are left: signal the timers whose deadline passed, at most a few per
 * call (as many may be due at once as others armed). */
void ntfn_timers_expire(u64 now);
void ntfn_timers_tick(void);
/* Set when the last expiry stopped with timers still due: every kernel
 * exit then signals a few more (ntfn_timers_catch_up). */
extern int timers_overdue;
void ntfn_timers_catch_up(void);
/* The armed timers' tree, for the invariant checker. */
const struct timer_node *ntfn_timers(void);

#endif
