/* Retype arithmetic and usage accounting (see untyped.h). */
#include "mm/untyped.h"
#include "kernel/object.h"
#include "kernel/preempt.h"
#include "kernel/tcb.h"
#include <arch/mmu.h>
#include <lib/string.h>

u64 ut_object_size(u32 type, u32 size_bits) {
  switch (type) {
  case K_OBJ_UNTYPED:
    if (size_bits < K_UNTYPED_MIN_BITS || size_bits > K_UNTYPED_MAX_BITS)
      return 0;
    return 1ull << size_bits;
  case K_OBJ_CNODE:
    if (size_bits < K_CNODE_MIN_BITS || size_bits > K_CNODE_MAX_BITS)
      return 0;
    return 1ull << (size_bits + K_CNODE_SLOT_BITS);
  case K_OBJ_NULL:
  case K_OBJ_IOPORTS:
  case K_OBJ_IRQ_CONTROL:
    return 0;
  default:
    return type < K_OBJ_TYPE_COUNT ? obj_fixed_size((u8)type) : 0;
  }
}

static int is_frame(u32 type) { return type == K_OBJ_FRAME_4K || type == K_OBJ_FRAME_2M; }

/* Untypeds are not zeroed, nor frames that keep a region's contents. */
static int zeroes(const struct cte *ut, u32 type) {
  return type != K_OBJ_UNTYPED && !((ut->cap.flags & (CAPF_DEVICE | CAPF_PRESERVE)) && is_frame(type));
}

static int retype_check(const struct cte *ut, const struct retype_args *a,
                        struct cte *dest, u64 *first_pa, u64 *size) {
  if (ut->cap.type != K_OBJ_UNTYPED)
    return K_ERR_WRONG_TYPE;
  *size = ut_object_size(a->type, a->size_bits);
  if (*size == 0 || a->count == 0 || a->count > K_RETYPE_MAX_COUNT)
    return K_ERR_RANGE;
  if ((ut->cap.flags & CAPF_DEVICE) && !is_frame(a->type) && a->type != K_OBJ_UNTYPED)
    return K_ERR_DEVICE_MEMORY;
  if (zeroes(ut, a->type) && *size * a->count > K_RETYPE_MAX_ZEROED)
    return K_ERR_RANGE;
  for (u32 i = 0; i < a->count; i++)
    if (!cte_empty(&dest[i]))
      return K_ERR_SLOT_OCCUPIED;
  u64 base = ut->cap.obj, end = ut->cap.obj + ut_size(&ut->cap);
  u64 pa = (base + ut_watermark(&ut->cap) + *size - 1) & ~(*size - 1);
  /* size <= 2^40 and count <= 4096, so size * count cannot overflow. */
  if (pa < base || pa > end || end - pa < *size * a->count)
    return K_ERR_NO_MEMORY;
  *first_pa = pa;
  return K_ERR_OK;
}

static struct cap object_cap(const struct cte *ut, const struct retype_args *a, u64 pa, u64 size) {
  struct cap c = {.type = (u8)a->type, .rights = K_RIGHTS_ALL, .label = ut->cap.label};
  c.rights &= cap_rights_mask(c.type);
  if (a->type == K_OBJ_UNTYPED) {
    c.obj = pa;
    c.w1 = size;
    c.label = a->label ? a->label : ut->cap.label; /* 0: the parent's principal (a donation) */
    c.flags = ut->cap.flags & CAPF_DEVICE;
  } else {
    c.obj = (u64)pa_to_kva(pa);
    c.flags = ut->cap.flags & CAPF_DEVICE;
    if (a->type == K_OBJ_CNODE)
      c.w1 = a->size_bits;
  }
  return c;
}

int ut_retype(struct cte *ut, const struct retype_args *a, struct cte *dest) {
  u64 pa, size;
  int err = retype_check(ut, a, dest, &pa, &size);
  if (err)
    return err;
  int zero = zeroes(ut, a->type);
  for (u32 i = 0; i < a->count; i++, pa += size) {
    struct cap c = object_cap(ut, a, pa, size);
    if (zero)
      memset(pa_to_kva(pa), 0, size);
    obj_init(&c);
    cte_insert(&dest[i], &c, ut);
  }
  ut_set_watermark(&ut->cap, pa - ut->cap.obj);
  return K_ERR_OK;
}

void ut_reset(struct cap *ut) {
  ut_set_watermark(ut, 0);
  ut->flags &= (u16)~CAPF_PRESERVE;
}

/* The object made last from ut went: nothing lies above it (retype only
 * climbs), so the watermark drops back to where it began and the memory
 * can be made again (zeroed then, as always). A region whose frames keep
 * its contents (boot modules) keeps its watermark. */
void ut_give_back_top(struct cap *ut, const struct cap *gone) {
  u64 start = gone->type == K_OBJ_UNTYPED ? gone->obj : kva_to_pa((void *)gone->obj);
  if (!(ut->flags & CAPF_PRESERVE) && start >= ut->obj && start + cap_object_size(gone) == ut->obj + ut_watermark(ut))
    ut_set_watermark(ut, start - ut->obj);
}

_Static_assert(sizeof(((struct k_untyped_usage *)0)->count) / sizeof(u64) >= K_OBJ_TYPE_COUNT,
               "UNTYPED_USAGE counts every object type");

static void account(const struct cap *c, struct k_untyped_usage *out) {
  out->count[c->type]++;
  out->bytes[c->type] += cap_object_size(c);
}

/* Preorder walk of ut's subtree that enters child untypeds only when
 * `recursive`: other children are originals whose own children are copies. */
static const struct cte *usage_next(const struct cte *ut, const struct cte *c, int recursive) {
  if (recursive && c->cap.type == K_OBJ_UNTYPED && c->first_child)
    return c->first_child;
  while (c != ut && !c->next)
    c = c->parent;
  return c == ut ? 0 : c->next;
}

/* A walk that stopped for an interrupt. Its place carries CAPF_USAGE_MARK,
 * and any tree edit that moves or removes that capability abandons the
 * walk, so `at` is never stale. One walk is kept (one per CPU), a usage's
 * or a report's: another thread's walk takes its place and the first
 * starts over. */
enum walk_kind { WALK_USAGE = 1, WALK_REPORT };
static struct {
  const void *owner;
  const struct cte *ut;
  struct cte *at;
  int recursive;
  enum walk_kind kind;
  u32 record; /* report: the record `at` is counted in */
  u64 slot;   /* report: 0, or 1 + the next slot to look at in the CNode `at` names */
} walk;

#define USAGE_PREEMPT_EVERY 64

void ut_usage_abandon(void) {
  if (walk.at)
    walk.at->cap.flags &= (u16)~CAPF_USAGE_MARK;
  if (walk.ut)
    ((struct cte *)walk.ut)->cap.flags &= (u16)~CAPF_USAGE_MARK;
  walk.owner = 0;
  walk.ut = 0;
  walk.at = 0;
  walk.kind = 0;
}

int ut_usage_resumes(const struct cte *ut, int recursive, const void *owner) {
  return walk.at && walk.kind == WALK_USAGE && walk.owner == owner && walk.ut == ut &&
         walk.recursive == recursive;
}

/* Both the place and the untyped walked are marked: if the untyped moved
 * and another took its slot, a walk resumed there would climb from its
 * place and never meet it. */
static void walk_stop(enum walk_kind kind, const void *owner, const struct cte *ut, const struct cte *at) {
  walk.kind = kind;
  walk.owner = owner;
  walk.ut = ut;
  walk.at = (struct cte *)at;
  walk.at->cap.flags |= CAPF_USAGE_MARK;
  ((struct cte *)ut)->cap.flags |= CAPF_USAGE_MARK;
}

int ut_usage(const struct cte *ut, int recursive, const void *owner, struct k_untyped_usage *out) {
  const struct cte *c = ut->first_child;
  if (ut_usage_resumes(ut, recursive, owner))
    c = walk.at;
  else
    memset(out, 0, sizeof(*out));
  ut_usage_abandon();
  out->size = ut_size(&ut->cap);
  out->free = ut_size(&ut->cap) - ut_watermark(&ut->cap);
  out->label = ut->cap.label;
  out->is_device = !!(ut->cap.flags & CAPF_DEVICE);
  for (u64 n = 1; c; c = usage_next(ut, c, recursive), n++) {
    if (owner && n % USAGE_PREEMPT_EVERY == 0 && preempt_due()) {
      walk_stop(WALK_USAGE, owner, ut, c);
      walk.recursive = recursive;
      return PREEMPTED;
    }
    account(&c->cap, out);
  }
  return K_ERR_OK;
}

/* ---- the principals' report ---- */

static int holds_pa(const struct cte *root, u64 pa) { return pa - root->cap.obj < ut_size(&root->cap); }
/* A capability lies in a principal's memory when its slot does: a CNode
 * (or TCB) made from the principal's untyped or an untyped made from it. */
static int holds_slot(const struct cte *root, const struct cte *slot) { return holds_pa(root, kva_to_pa(slot)); }

static void report_begin(const struct cte *root, struct k_principal_report *r) {
  memset(r, 0, sizeof(*r));
  r->label = root->cap.label;
  r->is_device = !!(root->cap.flags & CAPF_DEVICE);
  r->base = root->cap.obj;
  r->size = ut_size(&root->cap);
  r->free = ut_size(&root->cap) - ut_watermark(&root->cap);
}

/* What an object made from the principal adds to its record; `whole` when
 * the walk covers the principal's whole region (not record 0's). */
static void report_object(const struct cte *root, const struct cte *c, int whole, struct k_principal_report *r) {
  const struct cap *k = &c->cap;
  u64 size = cap_object_size(k);
  r->count[k->type]++;
  r->bytes[k->type] += size;
  if (k->type == K_OBJ_UNTYPED) {
    if (whole)
      r->free += ut_size(k) - ut_watermark(k);
    if (whole && !holds_slot(root, c)) {
      r->donated++;
      r->donated_bytes += size;
    }
  } else if (is_frame(k->type)) {
    if (whole && !holds_slot(root, c)) {
      r->lent_frames++;
      r->lent_bytes += size;
    }
    if (k->flags & CAPF_PINNED) {
      r->pinned_frames++;
      r->pinned_bytes += size;
    }
  } else if (k->type == K_OBJ_PINNED_FRAME) {
    r->pinned_frames++;
    r->pinned_bytes += size;
  } else if (k->type == K_OBJ_TCB) {
    r->threads++;
    r->cpu_ns += tcb_cpu_ns((const struct tcb *)k->obj);
  }
}

/* A slot of one of the principal's CNodes: another principal's memory held
 * there (device memory is its driver's to hold). */
static void report_slot(const struct cte *root, const struct cap *k, struct k_principal_report *r) {
  if (k->flags & CAPF_DEVICE)
    return;
  if (is_frame(k->type) && !holds_pa(root, kva_to_pa((const void *)k->obj))) {
    r->held_frames++;
    r->held_bytes += cap_object_size(k);
  } else if (k->type == K_OBJ_UNTYPED && !holds_pa(root, k->obj)) {
    r->held_untypeds++;
    r->held_untyped_bytes += ut_size(k);
  }
}

static const struct cte *next_principal(const struct cte *ut, const struct cte *p) {
  p = p == ut ? ut->first_child : p->next;
  while (p && p->cap.type != K_OBJ_UNTYPED)
    p = p->next;
  return p;
}

/* The principal (a child untyped of ut) whose subtree holds c. */
static const struct cte *principal_of(const struct cte *ut, const struct cte *c) {
  while (c->parent != ut)
    c = c->parent;
  return c;
}

int ut_report(const struct cte *ut, const void *owner, const struct report_out *o, u32 *records) {
  struct k_principal_report r;
  const struct cte *root = ut, *c = ut->first_child;
  u32 rec = 0;
  u64 slot = 0, n = 0;
  if (walk.at && walk.kind == WALK_REPORT && walk.owner == owner && walk.ut == ut) {
    rec = walk.record;
    c = walk.at;
    slot = walk.slot;
    root = rec ? principal_of(ut, c) : ut;
    ut_usage_abandon();
    int err = o->load(o->ctx, rec, &r);
    if (err)
      return err;
  } else {
    ut_usage_abandon();
    report_begin(ut, &r);
  }
  for (;;) {
    int whole = root != ut;
    for (; rec < o->max && c; c = usage_next(root, c, whole), slot = 0) {
      if (slot == 0) {
        if (owner && ++n % USAGE_PREEMPT_EVERY == 0 && preempt_due())
          goto stop;
        report_object(root, c, whole, &r);
      }
      if (!whole || c->cap.type != K_OBJ_CNODE)
        continue;
      const struct cte *slots = (const struct cte *)c->cap.obj;
      for (u64 s = slot ? slot - 1 : 0; s < cnode_slots(&c->cap); s++) {
        if (owner && ++n % USAGE_PREEMPT_EVERY == 0 && preempt_due()) {
          slot = s + 1;
          goto stop;
        }
        report_slot(root, &slots[s].cap, &r);
      }
    }
    if (rec < o->max) {
      int err = o->store(o->ctx, rec, &r);
      if (err)
        return err;
    }
    root = next_principal(ut, root);
    if (!root)
      break;
    rec++;
    report_begin(root, &r);
    c = root->first_child;
  }
  *records = rec + 1;
  return K_ERR_OK;
stop:
  walk_stop(WALK_REPORT, owner, ut, c);
  walk.record = rec;
  walk.slot = slot;
  int err = o->store(o->ctx, rec, &r);
  if (err)
    ut_usage_abandon();
  return err ? err : PREEMPTED;
}

struct cap ut_make_cap(u64 paddr, u64 size, u32 label, u16 flags) {
  struct cap c = {.type = K_OBJ_UNTYPED, .rights = K_RIGHTS_ALL, .flags = flags, .label = label,
                  .obj = paddr, .w1 = size};
  return c;
}
