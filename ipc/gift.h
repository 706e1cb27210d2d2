/* Gifts: frames that leave one principal's CSpace and address space for
 * another's, without a copy and without kernel memory.
 *
 * gift_check() validates a whole batch before anything moves: every entry
 * must name a frame capability in the giver's CNode that is the only
 * capability to its frame (so no other mapping can exist) and is not
 * pinned for DMA; no frame may appear twice. The receiver's slots must be
 * empty, and its window, if any, must have page tables and no mappings
 * where the frames go. gift_move() then cannot fail: for each frame it
 * removes the giver's mapping (invalidating the TLB entry) before the
 * capability moves and before the receiver's mapping exists. The frame's
 * owner (its parent untyped and label) never changes. */
#ifndef IPC_GIFT_H
#define IPC_GIFT_H

#include "kernel/cap.h"
#include "mm/vspace.h"

struct gift_src {
  const struct cap *cspace; /* the CNode the gifts are slots of (0: none, every entry is invalid) */
  const u32 *cptrs;
  u32 n;
};

struct gift_dst {
  struct cte *slots;        /* n empty slots */
  struct cte *vspace;       /* the receiver's VSpace capability */
  u64 window, window_size;  /* window == 0: do not map */
};

/* 0 or an error; *bad is the index of the first bad entry. On success the
 * entries stay marked (that is how duplicates show) until gift_move or
 * gift_abandon clears them. */
int gift_check_source_batch(const struct gift_src *s, u64 *bad);
void gift_abandon(const struct gift_src *s);
/* Between a successful gift_check_source_batch and gift_move or gift_abandon:
 * is this capability one of the batch? */
int gift_marked(const struct cap *c);
int gift_check_window(const struct gift_src *s, const struct gift_dst *d, u64 *bad);
/* Returns the bytes of the window the gifts took. */
u64 gift_move(const struct gift_src *s, const struct gift_dst *d);

#endif
