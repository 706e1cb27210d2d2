/* System calls on threads, and the time. */
#include "kernel/sys.h"
#include "kernel/cpu.h"
#include "kernel/sched.h"
#include "kernel/clock.h"
#include "mm/uaccess.h"
#include "ipc/endpoint.h"

int sys_YIELD(struct call *c) {
  (void)c;
  sched_yield();
  return K_ERR_OK;
}

int sys_THREAD_EXIT(struct call *c) {
  tcb_suspend(c->self);
  c->self->state = K_TCB_EXITED;
  return K_ERR_OK;
}

int sys_TIME(struct call *c) {
  set_result(c, clock_ns());
  return K_ERR_OK;
}

/* Under -icount shift=0 a ns of busy time is one instruction: benchmarks
 * that wait for I/O leave the halted time out with this. */
int sys_IDLE_TIME(struct call *c) {
  set_result(c, clock_tsc_to_ns(this_cpu()->idle_tsc));
  return K_ERR_OK;
}

int sys_THREAD_TIME(struct call *c) {
  set_result(c, clock_tsc_to_ns(sched_cpu_tsc(c->self)));
  return K_ERR_OK;
}

static int lookup_tcb(struct call *c, struct tcb **t) {
  struct cte *s;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_TCB, K_RIGHT_WRITE, &s);
  if (!err)
    *t = (struct tcb *)s->cap.obj;
  return err;
}

int sys_TCB_CONFIGURE(struct call *c) {
  struct tcb *t;
  struct cte *cspace, *vspace;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_typed(c, arg(c, 1), K_OBJ_CNODE, 0, &cspace);
  if (!err)
    err = lookup_typed(c, arg(c, 2), K_OBJ_VSPACE, 0, &vspace);
  if (err)
    return err;
  if (arg(c, 3) > K_PRIORITY_MAX)
    return K_ERR_RANGE;
  return tcb_configure(t, cspace, vspace, (u32)arg(c, 3));
}

int sys_TCB_WRITE_REGS(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  return err ? err : tcb_write_regs(t, arg(c, 1), arg(c, 2), arg(c, 3));
}

int sys_TCB_RESUME(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  return err ? err : tcb_resume(t);
}

int sys_TCB_SUSPEND(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  if (!err)
    tcb_suspend(t);
  return err;
}

int sys_TCB_INFO(struct call *c) {
  struct cte *s;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_TCB, K_RIGHT_READ, &s);
  if (err)
    return err;
  struct k_tcb_info info;
  tcb_get_info((struct tcb *)s->cap.obj, &info);
  return copy_to_user(own_root(c), arg(c, 1), &info, sizeof(info));
}

/* An optional capability argument: 0 means none. */
static int lookup_optional(struct call *c, cptr_t cptr, u8 type, u8 rights, struct cte **out) {
  *out = 0;
  return cptr ? lookup_typed(c, cptr, type, rights, out) : K_ERR_OK;
}

int sys_TCB_BIND_NOTIFICATION(struct call *c) {
  struct tcb *t;
  struct cte *n;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, arg(c, 1), K_OBJ_NOTIFICATION, K_RIGHT_READ, &n);
  if (!err)
    ntfn_bind(t, n ? (struct notification *)n->cap.obj : 0);
  return err;
}

int sys_TCB_SET_IPC_BUFFER(struct call *c) {
  struct tcb *t;
  struct cte *f;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, arg(c, 1), K_OBJ_FRAME_4K, K_RIGHT_READ | K_RIGHT_WRITE, &f);
  if (err)
    return err;
  if (f && (f->cap.flags & CAPF_DEVICE)) /* the kernel reads and writes it: RAM only */
    return K_ERR_DEVICE_MEMORY;
  return tcb_set_slot(t, TCB_SLOT_IPC_BUFFER, f);
}

int sys_TCB_SET_FAULT_ENDPOINT(struct call *c) {
  struct tcb *t;
  struct cte *ep;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, arg(c, 1), K_OBJ_ENDPOINT, K_RIGHT_WRITE, &ep);
  return err ? err : tcb_set_slot(t, TCB_SLOT_FAULT_EP, ep);
}
