/* Derivation tree edits, delete and revoke (see cap.h for the rules). */
#include "kernel/cap.h"
#include "kernel/object.h"
#include "kernel/cpu.h"
#include "kernel/invariants.h"
#include "mm/untyped.h"
#include "kernel/preempt.h"
#include <lib/string.h>

static void link_child(struct cte *parent, struct cte *c) {
  c->parent = parent;
  c->next = c->prev = 0;
  if (!parent)
    return;
  struct cte *first = parent->first_child;
  c->next = first;
  c->prev = first ? first->prev : c;
  if (first)
    first->prev = c;
  parent->first_child = c;
}

static void unlink(struct cte *c) {
  if (c->cap.flags & CAPF_USAGE_MARK)
    ut_usage_abandon();
  if (c->parent) {
    struct cte *first = c->parent->first_child;
    if (first == c)
      c->parent->first_child = c->next;
    else
      c->prev->next = c->next;
    if (c->next)
      c->next->prev = c->prev;
    else if (first != c)
      first->prev = c->prev; /* c was the last */
  }
  c->parent = c->next = c->prev = 0;
}

void cte_insert(struct cte *slot, const struct cap *cap, struct cte *parent) {
  slot->cap = *cap;
  slot->first_child = 0;
  link_child(parent, slot);
  if (!parent && cap->type != K_OBJ_REPLY) /* a boot root: the checker starts there */
    inv_root_add(slot);
}

/* dst takes src's place in the tree; src is left empty. Costs one step per
 * child of src, whose parent pointers must follow. */
void cte_move(struct cte *dst, struct cte *src) {
  *dst = *src;
  cte_relink(dst, src);
  for (struct cte *c = dst->first_child; c; c = c->next)
    c->parent = dst;
  if (!dst->parent)
    inv_root_moved(dst, src);
  memset(src, 0, sizeof(*src));
  obj_cap_moved(dst);
}

/* What revoke works around: a pinned frame's remnant, and the capability
 * of an object whose slots are being emptied. Both keep their untyped from
 * being reused, sit at the tail of their siblings (a subtree whose first
 * child is one holds nothing else), and move up to the parent untyped when
 * theirs goes. */
static int is_remnant(const struct cte *c) {
  return c && (c->cap.type == K_OBJ_PINNED_FRAME || c->cap.type == K_OBJ_ZOMBIE);
}

static void move_to_tail(struct cte *c) {
  struct cte *parent = c->parent;
  if (!parent || !c->next)
    return;
  unlink(c);
  struct cte *first = parent->first_child, *last = first->prev;
  last->next = c;
  c->prev = last;
  c->next = 0;
  c->parent = parent;
  first->prev = c;
}

/* Work per step is bounded: the steps that move many children move at most
 * this many, and the caller comes back for the rest. */
#define STEP_CHILDREN 32

/* Deleting `c` (which has children) replaces it by its first child, which
 * adopts the others first, a few per step. Returns 1 when c is gone. */
static int promote_first_child(struct cte *c) {
  struct cte *heir = c->first_child;
  for (int i = 0; heir->next && i < STEP_CHILDREN; i++) {
    struct cte *n = heir->next;
    unlink(n);
    link_child(heir, n);
  }
  if (heir->next)
    return 0;
  struct cte *parent = c->parent;
  unlink(heir);
  unlink(c);
  link_child(parent, heir);
  return 1;
}

/* A pinned frame may still be written by a device: deleting its capability
 * leaves a PINNED_FRAME in the slot that keeps the memory from reuse (its
 * untyped cannot reset) until DMA_UNPIN releases it. */
static int defer_pinned(struct cte *c) {
  if ((c->cap.type != K_OBJ_FRAME_4K && c->cap.type != K_OBJ_FRAME_2M) || !(c->cap.flags & CAPF_PINNED) ||
      c->first_child)
    return 0;
  obj_cap_unbind(c);
  c->cap.w1 = cap_object_size(&c->cap); /* remnant_size */
  c->cap.w2 = 0;
  c->cap.type = K_OBJ_PINNED_FRAME;
  c->cap.rights = 0;
  move_to_tail(c);
  return 1;
}

/* The last capability to an object that holds capabilities (a CNode, a TCB)
 * stays in its slot as a ZOMBIE while the object's slots are emptied, so
 * the object's memory cannot be reused before, even when a preempted
 * delete leaves the work half done. */
static int begin_zombie(struct cte *c) {
  u64 size = cap_object_size(&c->cap);
  struct zombie *z = obj_begin_destroy(&c->cap);
  if (!z)
    return 0;
  z->self = c;
  c->cap.type = K_OBJ_ZOMBIE;
  c->cap.rights = 0;
  c->cap.w1 = size; /* remnant_size */
  c->cap.w2 = (u64)z; /* zombie_of */
  move_to_tail(c);
  return 1;
}


/* An untyped going away hands the remnants still under it to its parent, a
 * few per step. Returns 1 when none is left. */
static int hand_up_remnants(struct cte *ut) {
  for (int i = 0; ut->first_child && i < STEP_CHILDREN; i++) {
    struct cte *z = ut->first_child;
    unlink(z);
    link_child(ut->parent, z);
    move_to_tail(z);
  }
  return !ut->first_child;
}

/* One step of removing exactly one capability. Untypeds have no children
 * here but remnants. Returns 1 when the capability is gone (or became a
 * remnant), 0 when the caller must come back to finish it. */
static int delete_one(struct cte *c) {
  struct cap cap = c->cap;
  if (defer_pinned(c))
    return 1;
  if (c->cap.type == K_OBJ_UNTYPED && !hand_up_remnants(c))
    return 0;
  if (c->first_child) {
    if (!promote_first_child(c))
      return 0;
    obj_cap_unbind(c);
    memset(c, 0, sizeof(*c));
    return 1;
  }
  /* A ZOMBIE's object was destroyed when it became one: what is left is its slot. */
  int final = cap_is_original(c) && c->cap.type != K_OBJ_ZOMBIE;
  if (final && !obj_quiesce(&c->cap))
    return 0;
  if (final && begin_zombie(c))
    return 1;
  obj_cap_unbind(c);
  struct cte *parent = c->parent;
  unlink(c);
  if (parent && parent->cap.type == K_OBJ_UNTYPED && !parent->first_child)
    ut_reset(&parent->cap);
  else if (final && parent && parent->cap.type == K_OBJ_UNTYPED && !is_remnant(parent->first_child->prev))
    ut_give_back_top(&parent->cap, &cap); /* not past remnants: a gone untyped hands its own up (tail) */
  memset(c, 0, sizeof(*c));
  if (final)
    obj_destroy(&cap);
  return 1;
}

/* Trades two slots' contents, places in the tree included. */
static void cte_swap(struct cte *a, struct cte *b) {
  if (cte_empty(b)) {
    cte_move(b, a);
    return;
  }
  struct cte tmp;
  cte_move(&tmp, a);
  cte_move(a, b);
  cte_move(b, &tmp);
}

/* The next capability to delete to empty the zombies, the top one first; 0
 * when there are none. A zombie that meets another's ZOMBIE capability in
 * its slots (a cycle: it held that object's last capability, or the other
 * way round) trades it for whatever the other is paused on: so every
 * zombie's own capability ends inside itself, where its own scan skips it,
 * and is the last thing deleted when it is done. */
static struct cte *zombie_victim(void) {
  struct zombie *z;
  while ((z = this_cpu()->zombies)) {
    while (z->scan < z->nslots) {
      struct cte *s = &z->slots[z->scan];
      if (cte_empty(s) || (s->cap.type == K_OBJ_ZOMBIE && zombie_of(&s->cap) == z))
        z->scan++;
      else if (s->cap.type == K_OBJ_ZOMBIE)
        cte_swap(s, &zombie_of(&s->cap)->slots[zombie_of(&s->cap)->scan]);
      else
        return s;
    }
    this_cpu()->zombies = z->next;
    return z->self;
  }
  return 0;
}

static struct cte *deepest_leaf(struct cte *c) {
  while (c->first_child && !is_remnant(c->first_child))
    c = c->first_child;
  return c;
}

/* One step of emptying: zombies first (they hold the capabilities of objects
 * already destroyed), then the subtree under `root`, then `root` itself
 * unless `keep`. Deleting a non-untyped capability promotes its copies; an
 * untyped is only deleted once everything made from it is gone. Returns 0
 * when there is nothing left to do. */
static int purge_step(struct cte *root, int keep) {
  struct cte *victim = zombie_victim();
  if (victim)
    ;
  else if (root->first_child && !is_remnant(root->first_child) && (keep || root->cap.type == K_OBJ_UNTYPED))
    victim = deepest_leaf(root->first_child);
  else if (!keep && !cte_empty(root) && !is_remnant(root))
    victim = root;
  else
    return 0;
  if (victim->cap.type == K_OBJ_UNTYPED)
    victim = deepest_leaf(victim);
  delete_one(victim);
  return 1;
}

/* Every step leaves a consistent tree and the zombies on their stack, so a
 * system call interrupted between two steps is restarted and picks up
 * where it stopped. Pending interrupts are looked for every few steps. */
#define PREEMPT_EVERY 16

static int purge(struct cte *root, int keep) {
  for (u64 n = 1; purge_step(root, keep); n++)
    if (n % PREEMPT_EVERY == 0 && preempt_due())
      return PREEMPTED;
  return K_ERR_OK;
}

int cap_revoke(struct cte *slot) { return purge(slot, 1); }

int cap_delete(struct cte *slot) { return purge(slot, 0); }

void cap_release_pinned(struct cte *slot) { delete_one(slot); }

u64 cap_object_size(const struct cap *cap) {
  switch (cap->type) {
  case K_OBJ_UNTYPED:
    return ut_size(cap);
  case K_OBJ_CNODE:
    return cnode_slots(cap) << K_CNODE_SLOT_BITS;
  case K_OBJ_PINNED_FRAME:
  case K_OBJ_ZOMBIE:
    return remnant_size(cap);
  default:
    return obj_fixed_size(cap->type);
  }
}

int cap_derivable(const struct cap *c) {
  switch (c->type) {
  case K_OBJ_NULL:
  case K_OBJ_UNTYPED:
  case K_OBJ_PINNED_FRAME:
  case K_OBJ_ZOMBIE:
  case K_OBJ_REPLY:
  case K_OBJ_PDPT:
  case K_OBJ_PD:
  case K_OBJ_PT:
    return K_ERR_CANNOT_DERIVE;
  default:
    return (c->flags & CAPF_PINNED) ? K_ERR_PINNED : K_ERR_OK;
  }
}

u8 cap_rights_mask(u8 type) {
  switch (type) {
  case K_OBJ_ENDPOINT:
  case K_OBJ_NOTIFICATION:
    return K_RIGHTS_ALL;
  case K_OBJ_FRAME_4K:
  case K_OBJ_FRAME_2M:
    return K_RIGHT_READ | K_RIGHT_WRITE;
  default:
    return K_RIGHTS_ALL;
  }
}
