/* System calls on interrupt lines. */
#include "kernel/sys.h"
#include "kernel/irq.h"

int sys_IRQ_GET(struct call *c) {
  struct cte *ctl, *dest;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_IRQ_CONTROL, K_RIGHT_WRITE, &ctl);
  if (!err)
    err = lookup_in_cnode(c, arg(c, 2), arg(c, 3), K_RIGHT_WRITE, &dest);
  if (err)
    return err;
  if (!cte_empty(dest))
    return K_ERR_SLOT_OCCUPIED;
  u64 data = 0;
  err = irq_get(ctl, arg(c, 1), dest, &data);
  set_result(c, data);
  return err;
}

int sys_IRQ_SET_NOTIFICATION(struct call *c) {
  struct cte *h, *n;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_IRQ_HANDLER, K_RIGHT_WRITE, &h);
  if (!err)
    err = lookup_typed(c, arg(c, 1), K_OBJ_NOTIFICATION, K_RIGHT_WRITE, &n);
  return err ? err : irq_set_notification(&h->cap, (struct notification *)n->cap.obj, arg(c, 2));
}

int sys_IRQ_ACK(struct call *c) {
  struct cte *h;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_IRQ_HANDLER, K_RIGHT_WRITE, &h);
  return err ? err : irq_ack(&h->cap);
}
