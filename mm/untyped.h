/* Untyped memory: retype into objects, reset, usage accounting.
 *
 * An untyped is a physical region handed out by a watermark: retype carves
 * naturally aligned objects from the first free byte on, and the region is
 * only reused once everything made from it is gone (then the watermark drops
 * back to zero). Objects stay charged to the untyped they came from: usage
 * is read off the derivation tree, so it is never out of date and costs no
 * counter anywhere. */
#ifndef MM_UNTYPED_H
#define MM_UNTYPED_H

#include "kernel/cap.h"
#include <abi/syscalls.h>

struct retype_args {
  u32 type;
  u32 size_bits; /* UNTYPED: log2 bytes; CNODE: log2 slots; ignored otherwise */
  u32 count;
  u32 label;     /* principal of a new untyped; others inherit the parent's */
};

/* Checks everything, then carves `a->count` objects into the empty slots
 * dest[0 .. count-1]. Nothing changes unless it returns K_ERR_OK. */
int ut_retype(struct cte *ut, const struct retype_args *a, struct cte *dest);

/* Object size for a retype request, 0 if the type/size_bits pair is invalid. */
u64 ut_object_size(u32 type, u32 size_bits);

void ut_reset(struct cap *ut);
/* `gone`, made from ut, was destroyed: if it was the last thing made, the
 * watermark drops back to its start. */
void ut_give_back_top(struct cap *ut, const struct cap *gone);

/* Counts what was made from ut (through child untypeds when `recursive`)
 * into *out. The walk stops for pending interrupts and returns PREEMPTED
 * with *out holding the sums so far and its place kept for `owner` (the
 * asking thread): called again by the same owner for the same untyped with
 * those sums (ut_usage_resumes says so), it goes on from there. Without an
 * owner (the kernel's own invariant checker) it counts everything at once. */
int ut_usage(const struct cte *ut, int recursive, const void *owner, struct k_untyped_usage *out);
int ut_usage_resumes(const struct cte *ut, int recursive, const void *owner);
/* The kept place is about to move or go: the walk starts over next time.
 * Called by the tree edits for a slot marked CAPF_USAGE_MARK. */
void ut_usage_abandon(void);

/* The principals of ut, for UNTYPED_REPORT: record 0 counts what was made
 * from ut itself (its untypeds as objects), record i >= 1 the i-th untyped
 * made from ut (newest first) and everything made from it, with what its
 * memory lends to others and holds of theirs (struct k_principal_report).
 * Records past o->max are counted, not walked. Sums of a walk that stopped
 * for an interrupt (PREEMPTED) wait in the caller's records, as for
 * ut_usage; K_ERR_OK sets *records to ut's principals + 1. */
struct report_out {
  u32 max;
  void *ctx;
  int (*load)(void *ctx, u32 i, struct k_principal_report *r);
  int (*store)(void *ctx, u32 i, const struct k_principal_report *r);
};
int ut_report(const struct cte *ut, const void *owner, const struct report_out *o, u32 *records);

/* A capability for a root region at boot. */
struct cap ut_make_cap(u64 paddr, u64 size, u32 label, u16 flags);

#endif
