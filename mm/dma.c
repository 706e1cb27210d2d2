/* DMA pin and unpin (see dma.h for the rule on revocation). */
#include "mm/dma.h"
#include <arch/mmu.h>

static int is_frame(const struct cap *c) { return c->type == K_OBJ_FRAME_4K || c->type == K_OBJ_FRAME_2M; }

int dma_pin_check(const struct cte *f) {
  if (!is_frame(&f->cap))
    return K_ERR_WRONG_TYPE;
  if (f->cap.flags & CAPF_PINNED)
    return K_ERR_PINNED;
  if (!cap_is_original(f) || f->first_child)
    return K_ERR_GIFT_HAS_COPIES;
  return K_ERR_OK;
}

int dma_pin(struct cte *f, u64 *paddr) {
  int err = dma_pin_check(f);
  if (err)
    return err;
  f->cap.flags |= CAPF_PINNED;
  *paddr = kva_to_pa((void *)f->cap.obj);
  return K_ERR_OK;
}

int dma_unpin_check(const struct cte *f) {
  if (f->cap.type == K_OBJ_PINNED_FRAME)
    return K_ERR_OK;
  if (!is_frame(&f->cap))
    return K_ERR_WRONG_TYPE;
  return f->cap.flags & CAPF_PINNED ? K_ERR_OK : K_ERR_NOT_PINNED;
}

int dma_unpin(struct cte *f) {
  int err = dma_unpin_check(f);
  if (err)
    return err;
  if (f->cap.type == K_OBJ_PINNED_FRAME)
    cap_release_pinned(f);
  else
    f->cap.flags &= (u16)~CAPF_PINNED;
  return K_ERR_OK;
}
