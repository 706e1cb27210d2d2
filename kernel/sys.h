/* What the system-call handlers share: the call being served, its
 * arguments and results (through the architecture's accessors), and the
 * capability lookups that check every argument before anything changes.
 *
 * Handlers are named after the ABI: SYS_<NAME> is served by sys_<NAME>. The
 * dispatcher's table is built from the ABI's list, so a call without a
 * handler fails the build. */
#ifndef KERNEL_SYS_H
#define KERNEL_SYS_H

#include "kernel/tcb.h"
#include "mm/vspace.h"
#include <abi/syscalls.h>
#include <arch/syscall.h>

struct call {
  struct tcb *self;
  struct user_ctx *ctx;
};

/* Argument i (0-5) of the call, and its second result. */
static inline u64 arg(const struct call *c, unsigned i) { return arch_syscall_arg(c->ctx, i); }
static inline void set_result(struct call *c, u64 v) { arch_syscall_set_result(c->ctx, v); }

#define SYS_HANDLER_DECL(name, args) int sys_##name(struct call *c);
K_SYSCALLS(SYS_HANDLER_DECL)
#undef SYS_HANDLER_DECL

static inline int lookup_slot(struct call *c, cptr_t cptr, struct cte **out) {
  return cspace_lookup(&c->self->slots[TCB_SLOT_CSPACE].cap, cptr, out);
}

/* Whether slot s is one of the caller's root CNode. A pinned frame (and
 * its remnant) stays there: a CNode's death deletes what it holds, and the
 * memory of a frame the device may still write must not come back with
 * it. The root CNode is the one a driver keeps for as long as it runs. */
static inline int in_root(struct call *c, const struct cte *s) {
  const struct cap *root = &c->self->slots[TCB_SLOT_CSPACE].cap;
  const struct cte *first = (const struct cte *)root->obj;
  return root->type == K_OBJ_CNODE && s >= first && s < first + cnode_slots(root);
}

static inline int lookup_cap(struct call *c, cptr_t cptr, u8 rights, struct cte **out) {
  int err = lookup_slot(c, cptr, out);
  if (err)
    return err;
  if (cte_empty(*out))
    return K_ERR_EMPTY_SLOT;
  return ((*out)->cap.rights & rights) == rights ? K_ERR_OK : K_ERR_NO_RIGHTS;
}

static inline int lookup_typed(struct call *c, cptr_t cptr, u8 type, u8 rights, struct cte **out) {
  int err = lookup_slot(c, cptr, out);
  if (err)
    return err;
  if (cte_empty(*out))
    return K_ERR_EMPTY_SLOT;
  if ((*out)->cap.type != type)
    return K_ERR_WRONG_TYPE;
  return ((*out)->cap.rights & rights) == rights ? K_ERR_OK : K_ERR_NO_RIGHTS;
}

/* Slot `index` of the CNode that `cnode` designates. */
static inline int lookup_in_cnode(struct call *c, cptr_t cnode, u64 index, u8 rights, struct cte **out) {
  struct cte *cn;
  int err = lookup_typed(c, cnode, K_OBJ_CNODE, rights, &cn);
  return err ? err : cnode_slot(&cn->cap, index, out);
}

/* The caller's address space for copies in and out; 0 (every copy fails)
 * if its VSpace went during this very call. */
static inline const struct vs_table *own_root(struct call *c) {
  const struct cap *vs = &c->self->slots[TCB_SLOT_VSPACE].cap;
  return vs->type == K_OBJ_VSPACE ? (const struct vs_table *)vs->obj : 0;
}

#endif
