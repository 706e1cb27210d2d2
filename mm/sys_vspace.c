/* System calls on address spaces, frames and DMA: map, unmap, copy, pin, unpin. */
#include "kernel/sys.h"
#include "mm/vspace.h"
#include "mm/uaccess.h"
#include "mm/dma.h"
#include "mm/frame.h"

int sys_PAGE_TABLE_MAP(struct call *c) {
  struct cte *table, *vs;
  int err = lookup_cap(c, arg(c, 0), 0, &table);
  if (!err)
    err = lookup_typed(c, arg(c, 1), K_OBJ_VSPACE, K_RIGHT_WRITE, &vs);
  return err ? err : vs_map_table(table, vs, arg(c, 2));
}

int sys_FRAME_MAP(struct call *c) {
  struct cte *frame, *vs;
  int err = lookup_cap(c, arg(c, 0), 0, &frame);
  if (!err)
    err = lookup_typed(c, arg(c, 1), K_OBJ_VSPACE, K_RIGHT_WRITE, &vs);
  if (!err && arg(c, 3) >> 32)
    err = K_ERR_RANGE;
  return err ? err : vs_map_frame(frame, vs, arg(c, 2), (u32)arg(c, 3));
}

static int unmap_cap(struct call *c) {
  struct cte *s;
  int err = lookup_cap(c, arg(c, 0), 0, &s);
  return err ? err : vs_unmap(s);
}

int sys_PAGE_TABLE_UNMAP(struct call *c) { return unmap_cap(c); }

int sys_FRAME_UNMAP(struct call *c) { return unmap_cap(c); }

int sys_DMA_PIN(struct call *c) {
  struct cte *dma, *f;
  u64 pa;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_DMA, K_RIGHT_WRITE, &dma);
  if (!err)
    err = lookup_cap(c, arg(c, 1), 0, &f);
  if (!err && !in_root(c, f))
    err = K_ERR_PIN_OUTSIDE_ROOT;
  if (!err)
    err = dma_pin(f, &pa);
  if (!err)
    set_result(c, pa);
  return err;
}

/* DMA_PIN_RANGE and DMA_UNPIN_RANGE: the DMA capability and a run of
 * slots [first, first + n), every one of which passes `check` (else the
 * first that does not: its error, its offset as the result). */
static int dma_run(struct call *c, int (*check)(const struct cte *), u64 *first, u64 *n) {
  struct cte *dma, *f;
  *first = arg(c, 1), *n = arg(c, 2);
  set_result(c, 0);
  int err = lookup_typed(c, arg(c, 0), K_OBJ_DMA, K_RIGHT_WRITE, &dma);
  if (err)
    return err;
  if (*n == 0 || *n > K_DMA_PIN_RANGE_MAX || *first + *n < *first)
    return K_ERR_RANGE;
  for (u64 i = 0; i < *n; i++) {
    err = lookup_cap(c, cptr_next(*first, i), 0, &f);
    if (!err)
      err = check(f);
    if (err) {
      set_result(c, i);
      return err;
    }
  }
  return K_ERR_OK;
}

/* A slot of a run dma_run checked. */
static struct cte *run_slot(struct call *c, u64 slot) {
  struct cte *f = 0;
  lookup_cap(c, slot, 0, &f);
  return f;
}

static int pin_check_4k(const struct cte *f) {
  return f->cap.type == K_OBJ_FRAME_4K ? dma_pin_check(f) : K_ERR_WRONG_TYPE;
}

/* Where DMA_PIN_RANGE moves the frames it pins (dests not 0): root slots,
 * strictly increasing (so none twice), each empty now (so none in the run
 * itself). Copied in once, so what is checked is what is used. 0, or the
 * error with the offset of the first bad one in the result. */
static int pin_dests(struct call *c, uaddr_t dests, u64 n, u64 *d) {
  int err = copy_from_user(own_root(c), d, dests, n * sizeof(u64)); /* n <= K_DMA_PIN_TO_MAX: checked */
  for (u64 i = 0; !err && i < n; i++) {
    struct cte *s;
    if (d[i] >> 32 || (i && d[i] <= d[i - 1]))
      err = K_ERR_RANGE;
    else if (!(err = lookup_slot(c, d[i], &s)) && !cte_empty(s))
      err = K_ERR_SLOT_OCCUPIED;
    if (err)
      set_result(c, i);
  }
  return err;
}

/* A driver's batch: one call for the frames a client gifted in one message,
 * pinned where they are or each moved to a slot of its own (dests): the
 * slots where they wait for the device, in the same call. Everything is
 * checked before anything is pinned. */
int sys_DMA_PIN_RANGE(struct call *c) {
  u64 first, n, out = arg(c, 3), dests = arg(c, 4);
  u64 d[K_DMA_PIN_TO_MAX];
  if (dests && arg(c, 2) > K_DMA_PIN_TO_MAX) {
    set_result(c, 0);
    return K_ERR_RANGE;
  }
  int err = dma_run(c, pin_check_4k, &first, &n);
  if (!err && arg(c, 1) >> 32) /* a run one level down: none of it is in the root */
    err = K_ERR_PIN_OUTSIDE_ROOT;
  if (!err)
    err = user_range_check(own_root(c), out, n * sizeof(u64), 1);
  if (!err && dests)
    err = pin_dests(c, dests, n, d);
  if (err)
    return err;
  u64 pa[64];
  for (u64 i = 0; i < n; i += 64) {
    u64 m = n - i < 64 ? n - i : 64;
    for (u64 j = 0; j < m; j++) {
      struct cte *f = run_slot(c, cptr_next(first, i + j)), *s;
      dma_pin(f, &pa[j]);
      if (dests && !lookup_slot(c, d[i + j], &s))
        cte_move(s, f);
    }
    copy_to_user(own_root(c), out + i * sizeof(u64), pa, m * sizeof(u64));
  }
  return K_ERR_OK;
}

/* With a destination (cnode not 0), the unpinned frame moves there in the
 * same call: a driver parks a frame the device is done with in one call
 * instead of two. Everything is checked before anything changes; a pinned
 * remain is released and moves nowhere (the result says which: 1 moved). */
int sys_DMA_UNPIN(struct call *c) {
  struct cte *dma, *f, *dst = 0;
  cptr_t cnode = arg(c, 2);
  u64 slot = arg(c, 3);
  set_result(c, 0); /* in the register of cnode: read first */
  int err = lookup_typed(c, arg(c, 0), K_OBJ_DMA, K_RIGHT_WRITE, &dma);
  if (!err)
    err = lookup_cap(c, arg(c, 1), 0, &f);
  if (!err && cnode) {
    err = lookup_in_cnode(c, cnode, slot, K_RIGHT_WRITE, &dst);
    if (!err && dst == f)
      err = K_ERR_SAME_SLOT;
    else if (!err && !cte_empty(dst))
      err = K_ERR_SLOT_OCCUPIED;
  }
  if (!err)
    err = dma_unpin_check(f);
  if (err)
    return err;
  int remain = f->cap.type == K_OBJ_PINNED_FRAME;
  dma_unpin(f);
  if (dst && !remain) {
    cte_move(dst, f);
    set_result(c, 1);
  }
  return K_ERR_OK;
}

/* The batch the other way. */
int sys_DMA_UNPIN_RANGE(struct call *c) {
  u64 first, n;
  int err = dma_run(c, dma_unpin_check, &first, &n);
  for (u64 i = 0; !err && i < n; i++)
    dma_unpin(run_slot(c, cptr_next(first, i)));
  return err;
}

int sys_FRAME_COPY(struct call *c) {
  struct cte *dst, *src;
  int err = lookup_cap(c, arg(c, 0), 0, &dst);
  if (!err)
    err = lookup_cap(c, arg(c, 2), 0, &src);
  return err ? err : frame_copy(dst, arg(c, 1), src, arg(c, 3), arg(c, 4));
}
