/* Object life cycle: the zombie stack and per-type destroy/unbind hooks. */
#include "kernel/object.h"
#include "kernel/cpu.h"
#include "kernel/tcb.h"
#include "mm/vspace.h"
#include "ipc/endpoint.h"
#include "kernel/irq.h"

static const u64 fixed_size[K_OBJ_TYPE_COUNT] = {
#define OBJ_SIZE(name, size) [K_OBJ_##name] = size,
    K_OBJECT_TYPES(OBJ_SIZE)
#undef OBJ_SIZE
};

u64 obj_fixed_size(u8 type) { return type < K_OBJ_TYPE_COUNT ? fixed_size[type] : 0; }

void zombie_push(struct zombie *z, struct cte *slots, u32 nslots) {
  z->slots = slots;
  z->nslots = nslots;
  z->scan = 0;
  z->next = this_cpu()->zombies;
  this_cpu()->zombies = z;
}

/* Slot 0 of a CNode is reserved (capability address 0 is null); the kernel
 * keeps the CNode's zombie link there. */
static struct zombie *cnode_destroy(const struct cap *cap) {
  struct cte *slots = (struct cte *)cap->obj;
  struct zombie *z = (struct zombie *)&slots[0];
  _Static_assert(sizeof(struct zombie) <= sizeof(struct cte), "zombie fits slot 0");
  zombie_push(z, slots + 1, (u32)cnode_slots(cap) - 1);
  return z;
}

struct zombie *obj_begin_destroy(const struct cap *cap) {
  if (cap->type == K_OBJ_CNODE)
    return cnode_destroy(cap);
  if (cap->type != K_OBJ_TCB)
    return 0;
  struct tcb *t = (struct tcb *)cap->obj;
  tcb_destroy(t);
  return &t->zombie;
}

void obj_init(struct cap *cap) {
  if (cap->type == K_OBJ_TCB)
    tcb_init((struct tcb *)cap->obj);
  else if (cap->type == K_OBJ_VSPACE)
    vs_init_root((struct vs_table *)cap->obj);
}

#define QUIESCE_STEP 32

int obj_quiesce(const struct cap *cap) {
  if (cap->type == K_OBJ_ENDPOINT)
    return ep_wake_waiters((struct endpoint *)cap->obj, QUIESCE_STEP);
  if (cap->type == K_OBJ_NOTIFICATION)
    return ntfn_wake_waiters((struct notification *)cap->obj, QUIESCE_STEP);
  return 1;
}

void obj_destroy(const struct cap *cap) {
  switch (cap->type) {
  case K_OBJ_ENDPOINT:
    ep_destroy((struct endpoint *)cap->obj);
    break;
  case K_OBJ_NOTIFICATION:
    ntfn_destroy((struct notification *)cap->obj);
    break;
  case K_OBJ_IRQ_HANDLER:
    irq_handler_destroy(cap);
    break;
  case K_OBJ_REPLY:
    reply_cap_destroy(cap);
    break;
  case K_OBJ_VSPACE:
  case K_OBJ_PDPT:
  case K_OBJ_PD:
  case K_OBJ_PT:
    vs_table_destroy(cap);
    break;
  default:
    break;
  }
}

void obj_cap_unbind(struct cte *slot) {
  if (vs_cap_is_mapped(&slot->cap))
    vs_unmap_cap(slot);
}

void obj_cap_moved(struct cte *dst) {
  if (vs_cap_is_mapped(&dst->cap))
    vs_cap_moved(dst);
  else if (dst->cap.type == K_OBJ_REPLY)
    reply_cap_moved(dst);
  else if (dst->cap.type == K_OBJ_ZOMBIE)
    zombie_of(&dst->cap)->self = dst;
}
