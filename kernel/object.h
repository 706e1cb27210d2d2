/* Object life cycle hooks that the capability code calls.
 *
 * Destroying an object that holds capabilities (a CNode, a TCB) must delete
 * them too, which may destroy further such objects. To use a bounded kernel
 * stack, destruction never recurses: such an object becomes a "zombie" on a
 * per-CPU stack and its slots are emptied one by one by the delete loop in
 * cap.c, while its last capability stays in its slot as a ZOMBIE that keeps
 * its memory from reuse. The record lives in the dying object itself, so
 * this costs no memory; the stack outlives a preempted system call, and the
 * next delete or revoke on the CPU finishes it first. */
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H

#include "kernel/cap.h"

struct zombie {
  struct zombie *next;
  struct cte *slots;
  u32 nslots;
  u32 scan;         /* slots below this index are empty; the one at it is being emptied */
  struct cte *self; /* the slot of the object's ZOMBIE capability */
};

/* Size of objects whose size does not depend on a size_bits argument. */
u64 obj_fixed_size(u8 type);

void zombie_push(struct zombie *z, struct cte *slots, u32 nslots);
/* The zombie a ZOMBIE capability stands for. */
static inline struct zombie *zombie_of(const struct cap *c) { return (struct zombie *)c->w2; }

/* Called on a freshly zeroed object, before its first capability exists. */
void obj_init(struct cap *cap);

/* Called when the last capability to an object that holds capabilities is
 * deleted: the object stops (a TCB is suspended) and its zombie is pushed.
 * Returns the zombie, or 0 for other objects. */
struct zombie *obj_begin_destroy(const struct cap *cap);

/* Called before the last capability to an object goes, as often as it
 * takes: does a bounded part of what must happen first (waking an
 * endpoint's waiters) and returns 1 when the object may be destroyed. */
int obj_quiesce(const struct cap *cap);

/* Called once the last capability to any other object is gone (cap->obj
 * still valid). */
void obj_destroy(const struct cap *cap);

/* Called before a capability leaves its slot: undo what this capability
 * (not the object) holds, such as a frame's mapping. */
void obj_cap_unbind(struct cte *slot);

/* Called after a capability moved from one slot to another. */
void obj_cap_moved(struct cte *dst);

#endif
