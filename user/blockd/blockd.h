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
#include <server.h>

#define BLOCKD_PUBLIC_EP K_BI_SLOT_FIRST_FREE_FIXED     /* from init */
#define BLOCKD_DEVICE_UT (K_BI_SLOT_FIRST_FREE_FIXED + 1) /* from init: the disks' memory */
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

/* blockd's CNode beyond the server's slots (server.h): each session keeps
 * its donation (+ 4i), its record's table (+ 1), frame (+ 2) and hold (+ 3). */
#define SESSION_SLOTS 400
#define SESSION_STRIDE 4
_Static_assert(SERVER_GIFT_SLOT + BLK_MAX_FRAMES <= SESSION_SLOTS, "slot ranges overlap");

extern struct env env;
extern struct k_ipc_buffer *buf;
extern struct blk_counters total; /* closed sessions' counters, and requests of nobody */
extern int test_hooks;

/* device.c */
extern struct disk disks[BLK_MAX_DISKS];
extern unsigned ndisks;
long devices_setup(void);
/* Posts the n frames of a request to disk d, BLK_IN_FLIGHT device requests
 * at a time, and waits for them; a held request (BLK_HOLD) first waits for
 * `hold` to be signalled. Returns how many device requests failed. */
unsigned run_io(struct disk *d, int write, u64 sector, u64 count, const u64 *phys, u64 n, cptr_t hold);

/* session.c */
extern struct session sessions[BLOCKD_MAX_SESSIONS];
long sessions_setup(void);
int session_alive(unsigned i);
struct session *session_of(u64 badge);
long open_session(u64 info, u64 disk, cptr_t *reply_cap);
long arm_hold(struct session *s, u64 *caps_back);
long close_session(struct session *s, cptr_t *reply_cap);
void add_counters(struct blk_counters *to, const struct blk_counters *c);
/* blockd's run time: from now on it is for s; settle_time gives what ran
 * since the last wake-up to whoever it was for; time_start begins. */
void time_for(const struct session *s);
void settle_time(void);
void time_start(void);

#endif
