/* Retype arithmetic and usage accounting (see untyped.h). */
#include "mm/untyped.h"
#include "kernel/object.h"
#include "kernel/preempt.h"
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
    c.label = a->label;
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
 * walk, so `at` is never stale. One walk is kept (one per CPU): another
 * thread's walk takes its place and the first starts over. */
static struct {
  const void *owner;
  const struct cte *ut;
  struct cte *at;
  int recursive;
} walk;

#define USAGE_PREEMPT_EVERY 64

void ut_usage_abandon(void) {
  if (walk.at)
    walk.at->cap.flags &= (u16)~CAPF_USAGE_MARK;
  walk.owner = 0;
  walk.ut = 0;
  walk.at = 0;
}

int ut_usage_resumes(const struct cte *ut, int recursive, const void *owner) {
  return walk.at && walk.owner == owner && walk.ut == ut && walk.recursive == recursive;
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
      walk.owner = owner;
      walk.ut = ut;
      walk.at = (struct cte *)c;
      walk.recursive = recursive;
      walk.at->cap.flags |= CAPF_USAGE_MARK;
      return PREEMPTED;
    }
    account(&c->cap, out);
  }
  return K_ERR_OK;
}

struct cap ut_make_cap(u64 paddr, u64 size, u32 label, u16 flags) {
  struct cap c = {.type = K_OBJ_UNTYPED, .rights = K_RIGHTS_ALL, .flags = flags, .label = label,
                  .obj = paddr, .w1 = size};
  return c;
}
