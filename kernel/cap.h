/* Capabilities, CNode slots and the derivation tree.
 *
 * A slot (struct cte) holds one capability and its place in the derivation
 * tree: the capability it was derived from (parent) and the ones derived from
 * it (children). Retype makes an object's original capability a child of the
 * untyped it came from; copy and mint make children of the source. So:
 *   - an object's capabilities are its original and the original's subtree;
 *   - a capability is "original" when its parent is an untyped (or none);
 *   - revoke of any capability deletes its whole subtree, wherever held.
 * Deleting a capability that has children promotes its first child into its
 * place; deleting an original without children destroys the object. */
#ifndef KERNEL_CAP_H
#define KERNEL_CAP_H

#include <lib/types.h>
#include <abi/objects.h>
#include <abi/errors.h>

/* Capability flags. */
#define CAPF_DEVICE 1u   /* untyped/frame: device memory, never zeroed, uncached */
#define CAPF_PRESERVE 2u /* untyped: frames keep the region's contents (boot modules) */
#define CAPF_PINNED 4u   /* frame: pinned for DMA (see mm/dma.c) */
#define CAPF_USAGE_MARK 8u /* where a preempted usage or report walk stands, and the untyped it walks (mm/untyped.c) */

/* Field use by type (read and written through the accessors below):
 *   UNTYPED   obj = physical base, w1 = size in bytes, w2 = watermark
 *   CNODE     obj = slots,         w1 = size_bits
 *   ENDPOINT, NOTIFICATION  obj,   w1 = badge
 *   FRAME_*   obj = page (physmap address), w1 = the page table holding
 *             its mapping (0: none), w2 = mapped vaddr (mm/vspace.h)
 *   PDPT, PD, PT  like frames
 *   VSPACE, TCB   obj
 *   IOPORTS   w1 = first port, w2 = last port
 *   IRQ_CONTROL  w1 = mask of the lines it may claim; IRQ_HANDLER w1 = line
 *   REPLY     w1 = the caller waiting for the answer
 *   PINNED_FRAME, ZOMBIE  obj, w1 = object size; ZOMBIE w2 = its zombie
 * `label` is the principal of the untyped the object came from: it travels
 * with every copy so any holder can ask who owns the object. */
struct cap {
  u8 type;
  u8 rights;
  u16 flags;
  u32 label;
  u64 obj;
  u64 w1;
  u64 w2;
};

struct cte {
  struct cap cap;
  struct cte *parent;
  struct cte *first_child;
  struct cte *next; /* siblings under the same parent */
  struct cte *prev;
};

_Static_assert(sizeof(struct cap) == 32, "cap size");
_Static_assert(sizeof(struct cte) == 1u << K_CNODE_SLOT_BITS, "slot size");

static inline int cte_empty(const struct cte *c) { return c->cap.type == K_OBJ_NULL; }

/* The words of a capability, by meaning (see the table above). */
static inline u64 cap_badge(const struct cap *c) { return c->w1; }
static inline u64 ut_size(const struct cap *c) { return c->w1; }
static inline u64 ut_watermark(const struct cap *c) { return c->w2; }
static inline void ut_set_watermark(struct cap *c, u64 w) { c->w2 = w; }
static inline u64 cnode_bits(const struct cap *c) { return c->w1; }
static inline u64 cnode_slots(const struct cap *c) { return 1ull << c->w1; }
static inline u64 io_first(const struct cap *c) { return c->w1; }
static inline u64 io_last(const struct cap *c) { return c->w2; }
static inline u64 irq_lines(const struct cap *c) { return c->w1; }
static inline unsigned irq_line(const struct cap *c) { return (unsigned)c->w1; }
static inline u64 remnant_size(const struct cap *c) { return c->w1; }
struct tcb;
static inline struct tcb *reply_caller(const struct cap *c) { return (struct tcb *)c->w1; }

/* Copies have a parent of their own type; an original's parent is the
 * untyped it came from (or, for IRQ handlers, the IRQ control capability). */
static inline int cap_is_original(const struct cte *c) {
  return c->parent == 0 || c->parent->cap.type == K_OBJ_UNTYPED || c->parent->cap.type != c->cap.type;
}

/* Slot `index` of the CNode a capability names (slot 0 names nothing). */
static inline int cnode_slot(const struct cap *cnode, u64 index, struct cte **out) {
  if (index == 0 || index >= (1ull << cnode->w1))
    return K_ERR_INVALID_CAP;
  *out = (struct cte *)cnode->obj + index;
  return K_ERR_OK;
}

/* The slot a capability address names in the CSpace whose root is `root`:
 * a root slot, or one of a CNode one level down (abi/types.h). */
static inline int cspace_lookup(const struct cap *root, k_cptr_t cptr, struct cte **out) {
  if (root->type != K_OBJ_CNODE)
    return K_ERR_NOT_CONFIGURED;
  u64 index = cptr >> 32;
  if (!index)
    return cnode_slot(root, cptr, out);
  struct cte *cn;
  int err = cnode_slot(root, cptr & 0xffffffffull, &cn);
  if (err)
    return err;
  if (cn->cap.type != K_OBJ_CNODE)
    return K_ERR_INVALID_CAP; /* the address names no slot */
  if (!(cn->cap.rights & K_RIGHT_WRITE))
    return K_ERR_NO_RIGHTS;
  return cnode_slot(&cn->cap, index, out);
}

/* The address of the slot i after `first` in the same CNode (0, which
 * names nothing, past the end of the index space). */
static inline k_cptr_t cptr_next(k_cptr_t first, u64 i) {
  u64 index = first >> 32;
  if (!index)
    return first + i < (1ull << 32) ? first + i : 0;
  return index + i < (1ull << 32) ? (first & 0xffffffffull) | (index + i) << 32 : 0;
}

/* Tree edits. None of them checks arguments: callers decode first. */
void cte_insert(struct cte *slot, const struct cap *cap, struct cte *parent);
void cte_move(struct cte *dst, struct cte *src);
/* A usage walk stopped at a capability that moves starts over (mm/untyped.c). */
void ut_usage_abandon(void);

/* The neighbours of a slot that just took src's place point to it.
 * Siblings: `next` ends in 0; the first child's `prev` points at the last
 * child (itself when alone). Inline: the gift path runs it once per page. */
static inline void cte_relink(struct cte *dst, const struct cte *src) {
  if (dst->cap.flags & CAPF_USAGE_MARK) { /* the mark came along with the capability */
    ut_usage_abandon();
    dst->cap.flags &= (u16)~CAPF_USAGE_MARK;
  }
  if (!dst->parent) {
    dst->prev = 0;
    return;
  }
  struct cte *first = dst->parent->first_child;
  if (first == src)
    dst->parent->first_child = first = dst;
  else
    dst->prev->next = dst;
  if (dst->next)
    dst->next->prev = dst;
  else
    first->prev = dst; /* dst is the last (and maybe the first) */
}

/* cte_move for a capability with no children and no mapping: the gift
 * path, inline because it runs once per gifted page. */
static inline void cte_move_leaf(struct cte *dst, struct cte *src) {
  dst->cap = src->cap;
  dst->parent = src->parent;
  dst->first_child = 0;
  dst->next = src->next;
  dst->prev = src->prev;
  cte_relink(dst, src);
  src->cap.type = K_OBJ_NULL; /* an empty slot's other fields are never read */
  src->cap.w1 = 0;
}

/* Empties `slot` and every slot derived from it (revoke, keep = 1) or also
 * `slot` itself (delete, keep = 0). Deleting an untyped first deletes
 * everything made from it. Destroys objects whose last capability goes. */
/* Both return K_ERR_OK, or PREEMPTED (kernel/preempt.h) when they stopped
 * for a pending interrupt: every step leaves the tree consistent, so the
 * caller's system call is restarted and continues where it stopped. */
int cap_revoke(struct cte *slot);
int cap_delete(struct cte *slot);
/* Frees what a deleted pinned frame left behind (a PINNED_FRAME). */
void cap_release_pinned(struct cte *slot);

/* Size in bytes of the object a capability names (0 for none). */
u64 cap_object_size(const struct cap *cap);

/* Whether a new capability may be derived from this one (a copy or mint, a
 * capability sent in a message, a TCB's own copy of its CSpace, VSpace, IPC
 * buffer or fault endpoint): K_ERR_OK, K_ERR_PINNED for a pinned frame (the pin
 * must stay with its one capability), or K_ERR_CANNOT_DERIVE for an untyped
 * (its watermark lives in the capability), a pinned-frame remnant, a REPLY
 * (it answers one call) or a page table below the root (a table mapped in
 * two address spaces would show one principal's gifts to another). The one
 * place this rule is decided. */
int cap_derivable(const struct cap *c);

/* Rights a capability of this type can carry at all. */
u8 cap_rights_mask(u8 type);

#endif
