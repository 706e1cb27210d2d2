/* Thread configuration, state changes and user faults. */
#include "kernel/tcb.h"
#include "kernel/sched.h"
#include "kernel/cpu.h"
#include "kernel/clock.h"
#include "kernel/print.h"
#include "ipc/endpoint.h"
#include "mm/vspace.h"
#include <arch/fault.h>
#include <lib/string.h>

static u64 next_tcb_id = 1;

void tcb_init(struct tcb *t) {
  t->state = K_TCB_INACTIVE;
  t->id = next_tcb_id++;
  arch_user_ctx_init(&t->ctx, 0, 0, 0);
}

void tcb_destroy(struct tcb *t) {
  tcb_suspend(t);
  ntfn_bind(t, 0);
  if (this_cpu()->cur == t)
    this_cpu()->cur = 0;
  zombie_push(&t->zombie, t->slots, TCB_SLOTS);
}

int tcb_can_run(const struct tcb *t) {
  return t->slots[TCB_SLOT_VSPACE].cap.type == K_OBJ_VSPACE &&
         t->slots[TCB_SLOT_CSPACE].cap.type == K_OBJ_CNODE;
}

int tcb_set_slot(struct tcb *t, int i, struct cte *src) {
  int err = src ? cap_derivable(&src->cap) : K_ERR_OK;
  if (!err)
    err = cap_delete(&t->slots[i]);
  if (err || !src)
    return err;
  struct cap c = src->cap;
  if (vs_cap_is_mapped(&c)) /* the TCB's copy is not the mapped one */
    map_clear(&c);
  cte_insert(&t->slots[i], &c, src);
  return K_ERR_OK;
}

int tcb_configure(struct tcb *t, struct cte *cspace, struct cte *vspace, u32 priority) {
  if (cspace->cap.type != K_OBJ_CNODE || vspace->cap.type != K_OBJ_VSPACE)
    return K_ERR_WRONG_TYPE;
  struct tcb *self = this_cpu()->cur;
  if (priority > K_PRIORITY_MAX || (self && priority > self->priority))
    return K_ERR_RANGE;
  int err = cap_derivable(&cspace->cap);
  if (!err)
    err = cap_derivable(&vspace->cap);
  if (err)
    return err;
  if ((err = tcb_set_slot(t, TCB_SLOT_CSPACE, cspace)) || (err = tcb_set_slot(t, TCB_SLOT_VSPACE, vspace)))
    return err;
  int was_queued = t->queued;
  if (was_queued)
    sched_dequeue(t);
  if (t->priority != priority)
    t->vtime = 0; /* the CPU it had among other threads: it joins the new ones at their least (sched_enqueue) */
  t->priority = (u8)priority;
  if (was_queued)
    sched_enqueue(t);
  return K_ERR_OK;
}

int tcb_write_regs(struct tcb *t, u64 ip, u64 sp, u64 arg) {
  if (ip >= K_USER_VADDR_END || sp > K_USER_VADDR_END)
    return K_ERR_BAD_ADDRESS;
  arch_user_ctx_init(&t->ctx, ip, sp, arg);
  return K_ERR_OK;
}

int tcb_resume(struct tcb *t) {
  if (!tcb_can_run(t))
    return K_ERR_NOT_CONFIGURED;
  if (t->state == K_TCB_RUNNABLE || t->state == K_TCB_BLOCKED)
    return K_ERR_OK; /* already started */
  t->state = K_TCB_RUNNABLE;
  if (this_cpu()->cur != t)
    sched_enqueue(t);
  return K_ERR_OK;
}

void tcb_suspend(struct tcb *t) {
  sched_forget(t);
  ipc_cancel(t);
  t->state = K_TCB_INACTIVE;
}

/* A user fault stops only the faulting thread. It is recorded, printed,
 * and sent as a call to the thread's fault endpoint if it has one: a reply
 * from the handler runs the thread again. */
void tcb_fault(struct tcb *t, const struct fault *f) {
  t->fault = *f;
  kprintf("fault: thread %llu %s: %s (vector %llu) error 0x%llx at 0x%llx address 0x%llx\n", t->id,
          t->slots[TCB_SLOT_FAULT_EP].cap.type == K_OBJ_ENDPOINT ? "to its fault handler" : "ended",
          arch_exception_name(f->vector), f->vector, f->error, f->ip, f->addr);
  arch_print_user_ctx(&t->ctx);
  tcb_suspend(t);
  t->state = K_TCB_FAULTED;
  ipc_send_fault(t); /* if it has a handler: blocked until the reply */
}

void tcb_get_info(const struct tcb *t, struct k_tcb_info *out) {
  memset(out, 0, sizeof(*out));
  out->state = t->state;
  out->priority = t->priority;
  out->fault_vector = t->fault.vector;
  out->fault_error = t->fault.error;
  out->fault_rip = t->fault.ip;
  out->fault_addr = t->fault.addr;
  out->cpu_ns = tcb_cpu_ns(t);
}

u64 tcb_cpu_ns(const struct tcb *t) { return clock_tsc_to_ns(sched_cpu_tsc(t)); }
