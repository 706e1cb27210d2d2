/* Device memory: frames at a given physical address, carved from a device
 * untyped. Retype hands out memory from a watermark, so to reach a device
 * register block the watermark is first moved up to it with child untypeds
 * of the largest sizes that fit (at most about 2 per address bit). Blocks
 * must therefore be mapped in increasing address order. */
#ifndef USER_DEVMEM_H
#define USER_DEVMEM_H

#include <env.h>

/* Maps [paddr, paddr + size), page-aligned outward, at vaddr (uncached).
 * Returns the virtual address of paddr through *out. */
long devmem_map(struct env *e, cptr_t device_untyped, u64 paddr, u64 size, u64 vaddr, void **out);
/* An untyped of exactly [paddr, paddr + 2^bits) (paddr aligned to it) out
 * of a larger device untyped, into *out: how device memory is divided
 * among drivers. The same increasing-order rule applies. */
long devmem_carve(struct env *e, cptr_t device_untyped, u64 paddr, u32 bits, cptr_t *out);
/* Of the untypeds in slots [first, first + count), the one covering
 * [paddr, paddr + size); K_ERR_RANGE if none. */
long devmem_find(struct env *e, cptr_t first, unsigned count, u64 paddr, u64 size, cptr_t *out);

#endif
