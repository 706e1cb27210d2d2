/* Threads (TCB objects).
 *
 * A TCB holds the thread's saved user context and, in slots of its own, copies
 * of the capabilities to its CSpace root and VSpace: the thread keeps those
 * objects alive, and revoking them (or the untyped they came from) reaches
 * these slots like any other. A thread whose VSpace slot is empty cannot run. */
#ifndef KERNEL_TCB_H
#define KERNEL_TCB_H

#include "kernel/cap.h"
#include "kernel/object.h"
#include <abi/syscalls.h>
#include <arch/context.h>

enum { TCB_SLOT_CSPACE, TCB_SLOT_VSPACE, TCB_SLOT_IPC_BUFFER, TCB_SLOT_FAULT_EP, TCB_SLOTS };

/* What a K_TCB_BLOCKED thread waits for. */
enum ipc_state { IPC_NONE, IPC_SEND, IPC_RECV, IPC_REPLY, IPC_NOTIFICATION };

struct endpoint;
struct notification;

/* A user fault as the architecture reported it (TCB_INFO, fault messages). */
struct fault {
  u64 vector, error, ip, addr; /* addr: the faulting address, where the fault has one */
};

struct tcb {
  struct user_ctx ctx; /* first: its end must be 16-byte aligned (rsp0) */
  struct cte slots[TCB_SLOTS];
  struct tcb *q_next, *q_prev; /* run queue */
  struct zombie zombie;
  u8 state;    /* enum k_tcb_state */
  u8 priority;
  u8 queued;   /* 0, or 1 + which of its priority's run queues holds it (kernel/sched.c) */
  u64 id;
  struct fault fault;
  /* TSC cycles it ran: its own code, the kernel's work in its system calls
   * and the interrupts that arrived while it ran. */
  u64 cpu_tsc;
  /* Its place among the threads of its priority (kernel/sched.c): TSC
   * cycles of its own and of the servers answering its calls. */
  u64 vtime;

  /* IPC. A blocked sender's message stays in its registers and IPC buffer
   * until a receiver takes it. */
  u8 ipc_state;           /* enum ipc_state, meaningful when K_TCB_BLOCKED */
  u8 pending_call;        /* the queued send is a call */
  u8 pending_grant;       /* ...through a capability with the grant right */
  u8 pending_fault;       /* ...is a fault message the kernel made */
  u64 pending_badge;
  u64 pending_info;
  struct endpoint *ep;    /* endpoint whose queue holds us */
  struct notification *waiting_on;
  struct tcb *ep_next, *ep_prev;  /* endpoint or notification queue */
  struct tcb *caller;     /* called us and waits for our reply */
  struct tcb *callee;     /* we wait for its reply */
  struct notification *bound;
  struct cte *reply_cap;  /* a saved REPLY capability naming us, if any */
};
_Static_assert(sizeof(struct tcb) <= 1024, "TCB object size");

void tcb_init(struct tcb *t);
void tcb_destroy(struct tcb *t);
int tcb_configure(struct tcb *t, struct cte *cspace, struct cte *vspace, u32 priority);
int tcb_write_regs(struct tcb *t, u64 ip, u64 sp, u64 arg);
int tcb_resume(struct tcb *t);
void tcb_suspend(struct tcb *t);
void tcb_fault(struct tcb *t, const struct fault *f);
void tcb_get_info(const struct tcb *t, struct k_tcb_info *out);
/* The time the thread has run, in nanoseconds. */
u64 tcb_cpu_ns(const struct tcb *t);
int tcb_can_run(const struct tcb *t);
/* Put a copy of src (0: nothing) in one of the TCB's own slots, if src may
 * be copied at all (cap_derivable); the slot is unchanged otherwise. */
int tcb_set_slot(struct tcb *t, int i, struct cte *src);

#endif
