/* Derivation tree edits, delete and revoke (see cap.h for the rules). */
#include "kernel/cap.h"
#include "kernel/object.h"
#include "kernel/cpu.h"
#include "kernel/invariants.h"
#include "mm/untyped.h"
#include <lib/string.h>

static void link_child(struct cte *parent, struct cte *c) {
  c->parent = parent;
  c->prev = 0;
  c->next = parent ? parent->first_child : 0;
  if (parent) {
    if (parent->first_child)
      parent->first_child->prev = c;
    parent->first_child = c;
  }
}

static void unlink(struct cte *c) {
  if (c->prev)
    c->prev->next = c->next;
  else if (c->parent)
    c->parent->first_child = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->parent = c->next = c->prev = 0;
}

void cte_insert(struct cte *slot, const struct cap *cap, struct cte *parent) {
  slot->cap = *cap;
  slot->first_child = 0;
  link_child(parent, slot);
  if (!parent && cap->type != OBJ_REPLY) /* a boot root: the checker starts there */
    inv_root_add(slot);
}

/* dst takes src's place in the tree; src is left empty. Costs one step per
 * child of src, whose parent pointers must follow. */
void cte_move(struct cte *dst, struct cte *src) {
  *dst = *src;
  cte_relink(dst);
  for (struct cte *c = dst->first_child; c; c = c->next)
    c->parent = dst;
  if (!dst->parent)
    inv_root_moved(dst, src);
  memset(src, 0, sizeof(*src));
  obj_cap_moved(dst);
}

/* Replace `c` (which has children) by its first child; the other children
 * become that child's children. The object stays alive through it. */
static void promote_first_child(struct cte *c) {
  struct cte *heir = c->first_child;
  struct cte *rest = heir->next;
  struct cte *parent = c->parent;
  unlink(heir);
  while (rest) {
    struct cte *n = rest->next;
    unlink(rest);
    link_child(heir, rest);
    rest = n;
  }
  unlink(c);
  link_child(parent, heir);
}

static int is_pinned_zombie(const struct cte *c) {
  return c && c->cap.type == OBJ_PINNED_FRAME;
}

/* Pinned-frame zombies sit at the tail of their siblings, so a subtree
 * whose first child is one holds nothing else. */
static void move_to_tail(struct cte *c) {
  struct cte *parent = c->parent;
  if (!parent || !c->next)
    return;
  unlink(c);
  struct cte *last = parent->first_child;
  while (last->next)
    last = last->next;
  last->next = c;
  c->prev = last;
  c->parent = parent;
}

/* A pinned frame may still be written by a device: deleting its capability
 * leaves a PINNED_FRAME in the slot that keeps the memory from reuse (its
 * untyped cannot reset) until DMA_UNPIN releases it. */
static int defer_pinned(struct cte *c) {
  if ((c->cap.type != OBJ_FRAME_4K && c->cap.type != OBJ_FRAME_2M) || !(c->cap.flags & CAPF_PINNED) ||
      c->first_child)
    return 0;
  obj_cap_unbind(c);
  c->cap.w1 = cap_object_size(&c->cap);
  c->cap.w2 = 0;
  c->cap.type = OBJ_PINNED_FRAME;
  c->cap.rights = 0;
  move_to_tail(c);
  return 1;
}

/* An untyped going away hands the pinned frames still under it to its parent. */
static void hand_up_pinned(struct cte *ut) {
  while (ut->first_child) {
    struct cte *z = ut->first_child;
    unlink(z);
    link_child(ut->parent, z);
    move_to_tail(z);
  }
}

/* Remove exactly one capability. Untypeds have no children here but pinned
 * zombies. */
static void delete_one(struct cte *c) {
  struct cap cap = c->cap;
  int final = 0;
  if (defer_pinned(c))
    return;
  obj_cap_unbind(c);
  if (c->cap.type == OBJ_UNTYPED)
    hand_up_pinned(c);
  if (c->first_child) {
    promote_first_child(c);
  } else {
    struct cte *parent = c->parent;
    final = cap_is_original(c);
    unlink(c);
    if (parent && parent->cap.type == OBJ_UNTYPED && !parent->first_child)
      ut_reset(&parent->cap);
  }
  memset(c, 0, sizeof(*c));
  if (final)
    obj_destroy(&cap);
}

static struct cte *deepest_leaf(struct cte *c) {
  while (c->first_child && !is_pinned_zombie(c->first_child))
    c = c->first_child;
  return c;
}

/* One step of emptying: zombies first (they hold the capabilities of objects
 * already destroyed), then the subtree under `root`, then `root` itself
 * unless `keep`. Deleting a non-untyped capability promotes its copies; an
 * untyped is only deleted once everything made from it is gone. Returns 0
 * when there is nothing left to do. */
static int purge_step(struct cte *root, int keep) {
  struct cte *victim = zombie_next_slot();
  if (victim)
    ;
  else if (root->first_child && !is_pinned_zombie(root->first_child) &&
           (keep || root->cap.type == OBJ_UNTYPED))
    victim = deepest_leaf(root->first_child);
  else if (!keep && !cte_empty(root) && !is_pinned_zombie(root))
    victim = root;
  else
    return 0;
  if (victim->cap.type == OBJ_UNTYPED)
    victim = deepest_leaf(victim);
  delete_one(victim);
  return 1;
}

void cap_revoke(struct cte *slot) {
  while (purge_step(slot, 1))
    ;
}

void cap_delete(struct cte *slot) {
  while (purge_step(slot, 0))
    ;
}

void cap_release_pinned(struct cte *slot) { delete_one(slot); }

u64 cap_object_size(const struct cap *cap) {
  switch (cap->type) {
  case OBJ_UNTYPED:
    return cap->w1;
  case OBJ_CNODE:
    return 1ull << (cap->w1 + CNODE_SLOT_BITS);
  case OBJ_PINNED_FRAME:
    return cap->w1;
  default:
    return obj_fixed_size(cap->type);
  }
}

int cap_derivable(const struct cap *c) {
  switch (c->type) {
  case OBJ_NULL:
  case OBJ_UNTYPED:
  case OBJ_PINNED_FRAME:
  case OBJ_REPLY:
  case OBJ_PDPT:
  case OBJ_PD:
  case OBJ_PT:
    return ERR_CANNOT_DERIVE;
  default:
    return (c->flags & CAPF_PINNED) ? ERR_PINNED : ERR_OK;
  }
}

u8 cap_rights_mask(u8 type) {
  switch (type) {
  case OBJ_ENDPOINT:
  case OBJ_NOTIFICATION:
    return RIGHTS_ALL;
  case OBJ_FRAME_4K:
  case OBJ_FRAME_2M:
    return RIGHT_READ | RIGHT_WRITE;
  default:
    return RIGHTS_ALL;
  }
}
