/* blockd: a user-space virtio-blk driver. It reads disk blocks straight
 * into frames its clients gift it (DMA, no copy, no bounce buffer) and
 * writes straight from them, then gifts them back. Per-session state is
 * built from memory the client donates (blk.h). */
#ifndef BLOCKD_H
#define BLOCKD_H

#include <ulib.h>
#include <env.h>
#include <blk.h>
#include <virtio_pci.h>
#include <abi/bootinfo.h>

#define BLOCKD_PUBLIC_EP BI_SLOT_FIRST_FREE_FIXED     /* from init */
#define BLOCKD_DEVICE_UT (BI_SLOT_FIRST_FREE_FIXED + 1) /* from init: the disks' memory */
#define BLOCKD_DEVICE_UTS 7                             /* in slots 9-15 */
#define BLOCKD_MAX_SESSIONS 16

struct disk {
  struct virtio_dev dev;
  struct virtq q;
  u64 capacity; /* sectors */
  u8 irq;
};

/* Counters of refused and failed requests, kept in the session (client
 * memory) and summed for the whole driver. */
struct blk_counters {
  u64 requests, sectors;
  u64 bad_range, bad_count, not_frames, closed_session, device_errors, bad_op;
  u64 blockd_ns; /* blockd's run time spent on it (in the totals: also on nobody) */
  u64 gone_waiting; /* totals only: requests whose session's memory went while blockd waited for the disk */
};

/* Lives in a frame made from the session's donated untyped. */
struct session_rec {
  struct blk_counters c;
  u32 disk;
};

struct session {
  u8 used;
  u8 generation;
  cptr_t donated;          /* the client's untyped, in blockd's CNode */
  cptr_t table, frame;     /* the record's page table and frame, from it */
  cptr_t hold;             /* BLK_HOLD's notification, from it (0: none) */
  u8 held;                 /* the next read or write waits on it */
  struct session_rec *rec; /* mapped in blockd at a per-session address */
};

#endif
