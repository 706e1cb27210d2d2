/* Pinning frames for DMA.
 *
 * A driver holding the DMA capability pins a frame to learn its physical
 * address and hand it to a device. Only a frame's sole capability can be
 * pinned, and a pinned capability cannot be copied, gifted or mapped
 * elsewhere, so the pin travels with the one capability (a move keeps it).
 *
 * The rule for revocation: deleting a pinned frame's capability (directly,
 * or by revoking any untyped above it) leaves a PINNED_FRAME in its slot.
 * It grants no access, but it stays in the derivation tree under its
 * untyped, so that untyped's watermark cannot drop back and the memory
 * cannot be handed out again while the device may still write it. Revoke
 * completes around it; deleting the untyped hands it to the parent untyped.
 * DMA_UNPIN on the slot releases it, and then the memory can be reused.
 * If the CNode holding it is itself destroyed, the driver is gone and the
 * PINNED_FRAME goes with it (nothing is left to quiesce the device: the one
 * case this rule does not cover without an IOMMU). */
#ifndef MM_DMA_H
#define MM_DMA_H

#include "kernel/cap.h"

int dma_pin(struct cte *frame, u64 *paddr);
/* The error dma_pin would give, pinning nothing. */
int dma_pin_check(const struct cte *frame);
int dma_unpin(struct cte *frame);
/* The error dma_unpin would give, unpinning nothing. */
int dma_unpin_check(const struct cte *frame);

#endif
