/* System calls on untypeds and CNodes: retype, usage, identify, copy, mint,
 * move, delete and revoke. */
#include "kernel/sys.h"
#include "kernel/preempt.h"
#include "mm/untyped.h"
#include "mm/uaccess.h"
#include "mm/vspace.h"
#include "kernel/irq.h"
#include <lib/string.h>

int sys_UNTYPED_RETYPE(struct call *c) {
  struct cte *ut, *dest;
  u64 packed = arg(c, 1), slot = arg(c, 3), count = arg(c, 4);
  int err = lookup_typed(c, arg(c, 0), K_OBJ_UNTYPED, K_RIGHT_WRITE, &ut);
  if (err)
    return err;
  if (packed >> 16 || count == 0 || count > K_RETYPE_MAX_COUNT || arg(c, 5) >> 32)
    return K_ERR_RANGE;
  err = lookup_in_cnode(c, arg(c, 2), slot, K_RIGHT_WRITE, &dest);
  if (err)
    return err;
  struct cte *last;
  err = lookup_in_cnode(c, arg(c, 2), slot + count - 1, K_RIGHT_WRITE, &last);
  if (err)
    return err;
  struct retype_args a = {.type = packed & 0xff, .size_bits = (packed >> 8) & 0xff,
                          .count = (u32)count, .label = (u32)arg(c, 5)};
  return ut_retype(ut, &a, dest);
}

int sys_UNTYPED_USAGE(struct call *c) {
  struct cte *ut;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_UNTYPED, K_RIGHT_READ, &ut);
  if (err)
    return err;
  if (arg(c, 2) & ~(u64)K_USAGE_RECURSIVE)
    return K_ERR_RANGE;
  /* A walk that stopped for an interrupt left its sums in the caller's
   * buffer (a caller that changes them only misleads itself). */
  int recursive = arg(c, 2) & K_USAGE_RECURSIVE;
  struct k_untyped_usage u;
  if (ut_usage_resumes(ut, recursive, c->self) && copy_from_user(own_root(c), &u, arg(c, 1), sizeof(u)))
    ut_usage_abandon();
  int done = ut_usage(ut, recursive, c->self, &u);
  err = copy_to_user(own_root(c), arg(c, 1), &u, sizeof(u));
  if (err)
    ut_usage_abandon();
  return err ? err : done;
}

/* Records go straight to and from the caller's array, one at a time: the
 * kernel keeps no more than one record of its own. */
struct report_user {
  struct call *c;
  u64 out;
};

static int report_load(void *ctx, u32 i, struct k_principal_report *r) {
  struct report_user *u = ctx;
  return copy_from_user(own_root(u->c), r, u->out + (u64)i * sizeof(*r), sizeof(*r));
}

static int report_store(void *ctx, u32 i, const struct k_principal_report *r) {
  struct report_user *u = ctx;
  return copy_to_user(own_root(u->c), u->out + (u64)i * sizeof(*r), r, sizeof(*r));
}

int sys_UNTYPED_REPORT(struct call *c) {
  struct cte *ut;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_UNTYPED, K_RIGHT_READ, &ut);
  if (err)
    return err;
  if (arg(c, 2) > K_REPORT_MAX_RECORDS)
    return K_ERR_RANGE;
  struct report_user u = {.c = c, .out = arg(c, 1)};
  struct report_out o = {.max = (u32)arg(c, 2), .ctx = &u, .load = report_load, .store = report_store};
  u32 records;
  err = ut_report(ut, c->self, &o, &records);
  if (err == K_ERR_OK)
    set_result(c, records);
  return err;
}

int sys_CAP_IDENTIFY(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, arg(c, 0), arg(c, 1), K_RIGHT_READ, &s);
  if (err)
    return err;
  struct k_cap_info info;
  memset(&info, 0, sizeof(info));
  const struct cap *k = &s->cap;
  info.type = k->type;
  info.rights = k->rights;
  info.size = cap_object_size(k);
  info.label = k->label;
  if (k->type == K_OBJ_ENDPOINT || k->type == K_OBJ_NOTIFICATION || k->type == K_OBJ_IRQ_CONTROL)
    info.badge = k->type == K_OBJ_IRQ_CONTROL ? irq_lines(k) : cap_badge(k);
  if (vs_cap_is_mapped(k)) {
    info.mapped = 1;
    info.mapped_vaddr = map_vaddr(k);
  }
  if (k->type == K_OBJ_IOPORTS) {
    info.base = io_first(k);
    info.size = io_last(k) - io_first(k) + 1;
  }
  if (k->type == K_OBJ_UNTYPED)
    info.base = k->obj;
  return copy_to_user(own_root(c), arg(c, 2), &info, sizeof(info));
}

/* The question servers ask most (is the client's memory still there?),
 * answered in a register. */
int sys_CAP_TYPE(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, arg(c, 0), arg(c, 1), K_RIGHT_READ, &s);
  set_result(c, err ? 0 : s->cap.type);
  return err;
}

/* Source and empty destination for copy, mint and move. */
static int lookup_pair(struct call *c, struct cte **dst, struct cte **src) {
  int err = lookup_in_cnode(c, arg(c, 0), arg(c, 1), K_RIGHT_WRITE, dst);
  if (!err)
    err = lookup_in_cnode(c, arg(c, 2), arg(c, 3), K_RIGHT_WRITE, src);
  if (err)
    return err;
  if (cte_empty(*src))
    return K_ERR_EMPTY_SLOT;
  if (*src == *dst)
    return K_ERR_SAME_SLOT;
  return cte_empty(*dst) ? K_ERR_OK : K_ERR_SLOT_OCCUPIED;
}

/* The capability a copy or mint makes: fewer rights, unmapped, and for
 * endpoints a badge, for I/O ports a narrower range. */
static int derive(const struct cap *src, u64 rights, int mint, u64 badge, struct cap *out) {
  if (rights & ~(u64)K_RIGHTS_ALL)
    return K_ERR_RANGE;
  int err = cap_derivable(src);
  if (err)
    return err;
  *out = *src;
  out->rights = src->rights & (u8)rights;
  if (vs_cap_is_mapped(src))
    map_clear(out); /* the copy is not the mapped one */
  if (!mint)
    return K_ERR_OK;
  switch (src->type) {
  case K_OBJ_ENDPOINT:
  case K_OBJ_NOTIFICATION:
    if (cap_badge(src))
      return K_ERR_BAD_STATE; /* already badged */
    out->w1 = badge;
    return K_ERR_OK;
  case K_OBJ_IRQ_CONTROL:
    if (badge & ~irq_lines(src))
      return K_ERR_RANGE; /* only lines it may claim itself */
    out->w1 = badge;
    return K_ERR_OK;
  case K_OBJ_IOPORTS: {
    u64 first = badge & 0xffff, last = (badge >> 16) & 0xffff;
    if (badge >> 32 || first > last || first < io_first(src) || last > io_last(src))
      return K_ERR_RANGE;
    out->w1 = first;
    out->w2 = last;
    return K_ERR_OK;
  }
  default:
    return badge ? K_ERR_RANGE : K_ERR_OK;
  }
}

static int copy_or_mint(struct call *c, int mint) {
  struct cte *dst, *src;
  int err = lookup_pair(c, &dst, &src);
  if (err)
    return err;
  struct cap cap;
  err = derive(&src->cap, arg(c, 4), mint, mint ? arg(c, 5) : 0, &cap);
  if (err)
    return err;
  cte_insert(dst, &cap, src);
  return K_ERR_OK;
}

int sys_CNODE_COPY(struct call *c) { return copy_or_mint(c, 0); }

int sys_CNODE_MINT(struct call *c) { return copy_or_mint(c, 1); }

int sys_CNODE_MOVE(struct call *c) {
  struct cte *dst, *src;
  int err = lookup_pair(c, &dst, &src);
  int pinned = !err && (src->cap.type == K_OBJ_PINNED_FRAME || (src->cap.flags & CAPF_PINNED));
  if (pinned && !in_root(c, dst))
    err = K_ERR_PIN_OUTSIDE_ROOT;
  if (!err)
    cte_move(dst, src);
  return err;
}

/* Delete and revoke: the named slot must hold something; both may stop for
 * an interrupt and resume (kernel/preempt.h). */
static int purge_named(struct call *c, int (*purge)(struct cte *)) {
  struct cte *s;
  int err = lookup_in_cnode(c, arg(c, 0), arg(c, 1), K_RIGHT_WRITE, &s);
  if (err)
    return err;
  return cte_empty(s) ? K_ERR_EMPTY_SLOT : purge(s);
}

int sys_CNODE_DELETE(struct call *c) { return purge_named(c, cap_delete); }

int sys_CNODE_REVOKE(struct call *c) { return purge_named(c, cap_revoke); }
