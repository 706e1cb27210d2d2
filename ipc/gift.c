/* Gift validation and the move itself (see gift.h). */
#include "ipc/gift.h"
#include <arch/mmu.h>

#define CAPF_GIFT_MARK 0x8000u /* set only during gift_check_source_batch */

static struct cte *source_slot(const struct gift_src *s, u32 i) {
  u64 c = s->cptrs[i];
  if (!s->cspace || c == 0 || c >= cnode_slots(s->cspace))
    return 0;
  return (struct cte *)s->cspace->obj + c;
}

/* Is any capability to this frame, other than c, mapped? c has copies here. */
static int mapped_elsewhere(const struct cte *c) {
  const struct cte *orig = c;
  while (!cap_is_original(orig))
    orig = orig->parent;
  for (const struct cte *n = orig; n;) {
    if (n != c && map_table(&n->cap)) /* all frames: a table means a mapping */
      return 1;
    if (n->first_child) {
      n = n->first_child;
      continue;
    }
    while (n != orig && !n->next)
      n = n->parent;
    n = n == orig ? 0 : n->next;
  }
  return 0;
}

/* The common case in one test: the sole, unpinned, unmarked capability. */
static int plain_frame(const struct cte *c) {
  return (c->cap.type == K_OBJ_FRAME_4K || c->cap.type == K_OBJ_FRAME_2M) &&
         !(c->cap.flags & (CAPF_GIFT_MARK | CAPF_PINNED)) && !c->first_child &&
         c->parent && c->parent->cap.type == K_OBJ_UNTYPED;
}

static int check_one(const struct cte *c) {
  if (c && plain_frame(c))
    return K_ERR_OK;
  if (!c)
    return K_ERR_INVALID_CAP;
  if (cte_empty(c))
    return K_ERR_EMPTY_SLOT;
  if (c->cap.type != K_OBJ_FRAME_4K && c->cap.type != K_OBJ_FRAME_2M)
    return K_ERR_GIFT_NOT_FRAME;
  if (c->cap.flags & CAPF_GIFT_MARK)
    return K_ERR_GIFT_DUPLICATE;
  if (c->cap.flags & CAPF_PINNED)
    return K_ERR_GIFT_PINNED;
  if (!cap_is_original(c) || c->first_child)
    return mapped_elsewhere(c) ? K_ERR_GIFT_MAPPED_ELSEWHERE : K_ERR_GIFT_HAS_COPIES;
  return K_ERR_OK;
}

static void clear_marks(const struct gift_src *s, u32 upto) {
  for (u32 i = 0; i < upto; i++) {
    struct cte *c = source_slot(s, i);
    if (c)
      c->cap.flags &= (u16)~CAPF_GIFT_MARK;
  }
}

int gift_check_source_batch(const struct gift_src *s, u64 *bad) {
  u32 i;
  int err = K_ERR_OK;
  for (i = 0; i < s->n; i++) {
    struct cte *c = source_slot(s, i);
    if ((err = check_one(c)))
      break;
    c->cap.flags |= CAPF_GIFT_MARK;
  }
  *bad = i;
  if (err)
    clear_marks(s, i);
  return err;
}

void gift_abandon(const struct gift_src *s) { clear_marks(s, s->n); }

int gift_marked(const struct cap *c) { return !!(c->flags & CAPF_GIFT_MARK); }

static u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }

/* Consecutive gifts land in the same leaf table: walk once per table. */
struct leaf_cache {
  u64 span;  /* the address range the cached table covers, by its base */
  u8 type;
  struct vs_table *t;
};

static int leaf(struct leaf_cache *lc, const struct cte *vspace, u64 va, u8 type, struct vs_table **t) {
  u64 span = va & ~(type == K_OBJ_FRAME_2M ? (1ull << 30) - 1 : K_LARGE_PAGE_SIZE - 1);
  if (lc->t && lc->span == span && lc->type == type) {
    *t = lc->t;
    return K_ERR_OK;
  }
  int err = vs_leaf_table(vspace, va, type, t);
  if (!err)
    *lc = (struct leaf_cache){span, type, *t};
  return err;
}

/* Checks that c can go at *va (aligned up) and moves *va past it. */
static int check_slot_in_window(struct leaf_cache *lc, const struct gift_dst *d, const struct cte *c,
                                u64 *va, u64 end) {
  u64 size = c->cap.type == K_OBJ_FRAME_2M ? K_LARGE_PAGE_SIZE : K_PAGE_SIZE;
  struct vs_table *t;
  u64 at = align_up(*va, size);
  if (at > end || end - at < size)
    return K_ERR_WINDOW_TOO_SMALL;
  int err = leaf(lc, d->vspace, at, c->cap.type, &t);
  if (err)
    return err == K_ERR_MAPPING_EXISTS ? K_ERR_WINDOW_OCCUPIED : K_ERR_WINDOW_NO_TABLES;
  if (!vs_entry_free(t, at, c->cap.type))
    return K_ERR_WINDOW_OCCUPIED;
  *va = at + size;
  return K_ERR_OK;
}

static int slots_free(const struct gift_src *s, const struct gift_dst *d, u64 *bad) {
  for (u32 i = 0; i < s->n; i++)
    if (!cte_empty(&d->slots[i])) {
      *bad = i;
      return K_ERR_RECV_SLOTS_FULL;
    }
  return K_ERR_OK;
}

int gift_check_window(const struct gift_src *s, const struct gift_dst *d, u64 *bad) {
  if (!d->window)
    return slots_free(s, d, bad);
  u64 va = d->window, end = d->window + d->window_size;
  if (end < va || end > K_USER_VADDR_END)
    return K_ERR_BAD_ADDRESS;
  if (va & (K_PAGE_SIZE - 1))
    return K_ERR_ALIGNMENT;
  struct leaf_cache lc = {0};
  const u64 *e = 0;
  for (u32 i = 0; i < s->n; i++) {
    const struct cte *c = source_slot(s, i);
    if (!cte_empty(&d->slots[i])) {
      *bad = i;
      return K_ERR_RECV_SLOTS_FULL;
    }
    /* Fast case: a 4 KiB frame in the page table already found. */
    if (e && c->cap.type == K_OBJ_FRAME_4K && (va & (K_LARGE_PAGE_SIZE - 1)) && va < end) {
      if (e[(va >> 12) & 511] & PTE_P) {
        *bad = i;
        return K_ERR_WINDOW_OCCUPIED;
      }
      va += K_PAGE_SIZE;
      continue;
    }
    *bad = i;
    int err = check_slot_in_window(&lc, d, c, &va, end);
    if (err)
      return err;
    e = c->cap.type == K_OBJ_FRAME_4K ? lc.t->e : 0;
  }
  return K_ERR_OK;
}

/* The receiver's entry for a frame: computed once per kind of frame. */
struct pte_cache {
  u8 type, rights;
  u16 flags;
  u64 bits;
};

static u64 pte_for(struct pte_cache *pc, const struct cap *c) {
  if (pc->bits == 0 || pc->type != c->type || pc->rights != c->rights || pc->flags != c->flags) {
    struct cap probe = *c;
    probe.obj = (u64)pa_to_kva(0);
    *pc = (struct pte_cache){c->type, c->rights, c->flags,
                             vs_frame_pte(&probe, (c->rights & K_RIGHT_WRITE) ? K_MAP_WRITE : 0)};
  }
  return pc->bits | kva_to_pa((void *)c->obj);
}

/* Maps gift dst at *va in the receiver's window and moves *va past it. */
static void map_in_window(struct leaf_cache *lc, struct pte_cache *pc, const struct gift_dst *d,
                          struct cte *dst, u64 *va) {
  u64 size = dst->cap.type == K_OBJ_FRAME_2M ? K_LARGE_PAGE_SIZE : K_PAGE_SIZE;
  struct vs_table *t;
  u64 at = align_up(*va, size);
  leaf(lc, d->vspace, at, dst->cap.type, &t);
  vs_install_frame(dst, t, at, pte_for(pc, &dst->cap));
  *va = at + size;
}

/* Validation marked each gift; the move clears the mark as it goes. A run
 * of 4 KiB frames of one kind into one receiver page table takes the short
 * path: the table and the entry bits are already known. */
u64 gift_move(const struct gift_src *s, const struct gift_dst *d) {
  u64 va = d->window;
  struct leaf_cache lc = {0};
  struct pte_cache pc = {0};
  struct vs_table *pt = 0;
  for (u32 i = 0; i < s->n; i++) {
    struct cte *c = source_slot(s, i), *dst = &d->slots[i];
    c->cap.flags &= (u16)~CAPF_GIFT_MARK;
    if (map_table(&c->cap)) /* giver loses access (TLB entry invalidated) first */
      vs_unmap_cap(c);
    cte_move_leaf(dst, c); /* checked: the only capability, so no children */
    if (!d->window)
      continue;
    if (pt && (va & (K_LARGE_PAGE_SIZE - 1)) && dst->cap.type == K_OBJ_FRAME_4K &&
        dst->cap.rights == pc.rights && dst->cap.flags == pc.flags) {
      vs_set_entry(pt, (unsigned)(va >> 12) & 511, dst, pc.bits | kva_to_pa((void *)dst->cap.obj), va);
      va += K_PAGE_SIZE;
      continue;
    }
    map_in_window(&lc, &pc, d, dst, &va);
    pt = dst->cap.type == K_OBJ_FRAME_4K ? lc.t : 0;
  }
  return d->window ? va - d->window : 0;
}
