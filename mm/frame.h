/* Copying bytes between two frames by the kernel.
 *
 * A server that must hand one principal bytes which arrived in another
 * principal's frame (netd: a packet's tail that the device wrote into the
 * next posted buffer, whoever's it was) copies them into the receiver's
 * own frame instead of handing over the frame: the receiver then holds
 * its data only in memory it owns, which nobody else can revoke. The
 * server maps neither frame. */
#ifndef MM_FRAME_H
#define MM_FRAME_H

#include "kernel/cap.h"

/* The most one FRAME_COPY moves: it runs with interrupts off. */
#define FRAME_COPY_MAX 4096u

/* Copies len bytes from src at src_off to dst at dst_off. Both must be RAM
 * frames (WRONG_TYPE, DEVICE_MEMORY), src readable and dst writable
 * (NO_RIGHTS), both ranges inside their frames and len at most
 * FRAME_COPY_MAX (RANGE). The two may be the same frame, overlapping.
 * The source may also be a PINNED_FRAME: the remnant of a pinned frame
 * whose memory was revoked, still in the slot of the driver that pinned
 * it. What a device wrote there after the revoke reaches its receiver so
 * (netd: a packet for another client that landed in a dead client's
 * frame); nothing can write a remnant, and it is never a destination. */
int frame_copy(struct cte *dst, u64 dst_off, const struct cte *src, u64 src_off, u64 len);

#endif
