/* Device frames at a physical address (see devmem.h). */
#include <devmem.h>

static long watermark(struct env *e, cptr_t ut, u64 *base, u64 *wm, u64 *size) {
  struct k_cap_info ci;
  struct k_untyped_usage u;
  long err = sys_cap_identify(e->cnode, ut, &ci);
  if (!err)
    err = sys_untyped_usage(ut, &u, 0);
  if (err)
    return err;
  *base = ci.base;
  *size = u.size;
  *wm = ci.base + (u.size - u.free);
  return K_ERR_OK;
}

/* Consume [wm, target) with naturally aligned child untypeds. */
static long skip_to(struct env *e, cptr_t ut, u64 wm, u64 target) {
  while (wm < target) {
    u32 bits = K_UNTYPED_MIN_BITS;
    while (bits < K_UNTYPED_MAX_BITS && !(wm & ((2ull << bits) - 1)) && wm + (2ull << bits) <= target)
      bits++;
    cptr_t s = env_slot(e);
    long err = s ? sys_retype(ut, K_OBJ_UNTYPED, bits, e->cnode, s, 1, 0) : K_ERR_RANGE;
    if (err)
      return err;
    wm += 1ull << bits;
  }
  return K_ERR_OK;
}

long devmem_map(struct env *e, cptr_t ut, u64 paddr, u64 size, u64 vaddr, void **out) {
  u64 base, wm, ut_size;
  u64 first = paddr & ~(K_PAGE_SIZE - 1), end = (paddr + size + K_PAGE_SIZE - 1) & ~(K_PAGE_SIZE - 1);
  long err = watermark(e, ut, &base, &wm, &ut_size);
  if (err)
    return err;
  if (first < wm || end > base + ut_size)
    return K_ERR_RANGE; /* already passed, or not in this untyped */
  if ((err = skip_to(e, ut, wm, first)))
    return err;
  for (u64 p = first; p < end; p += K_PAGE_SIZE) {
    cptr_t f;
    if ((err = env_retype_from(e, ut, K_OBJ_FRAME_4K, 0, &f)) ||
        (err = env_map(e, e->vspace, f, vaddr + (p - first), K_MAP_WRITE)))
      return err;
  }
  *out = (void *)(vaddr + (paddr - first));
  return K_ERR_OK;
}

long devmem_carve(struct env *e, cptr_t ut, u64 paddr, u32 bits, cptr_t *out) {
  u64 base, wm, ut_size;
  long err = watermark(e, ut, &base, &wm, &ut_size);
  if (err)
    return err;
  if (bits < K_UNTYPED_MIN_BITS || (paddr & ((1ull << bits) - 1)) || paddr < wm ||
      paddr + (1ull << bits) > base + ut_size)
    return K_ERR_RANGE;
  if ((err = skip_to(e, ut, wm, paddr)))
    return err;
  *out = env_slot(e);
  return *out ? sys_retype(ut, K_OBJ_UNTYPED, bits, e->cnode, *out, 1, 0) : K_ERR_RANGE;
}

long devmem_find(struct env *e, cptr_t first, unsigned count, u64 paddr, u64 size, cptr_t *out) {
  for (unsigned i = 0; i < count; i++) {
    struct k_cap_info ci;
    if (sys_cap_identify(e->cnode, first + i, &ci) || ci.type != K_OBJ_UNTYPED)
      continue;
    if (paddr >= ci.base && paddr + size <= ci.base + ci.size) {
      *out = first + i;
      return K_ERR_OK;
    }
  }
  return K_ERR_RANGE;
}
