/* blockd: a user-space virtio-blk driver. It reads disk blocks straight
 * into frames its clients gift it (DMA, no copy, no bounce buffer) and
 * writes straight from them, then gifts them back. Per-session state is
 * built from memory the client donates (blk.h).
 *
 * blockd never waits for the device: a request is accepted (its frames
 * parked in the session's own slots, made from its donation), posted when
 * the device has room (the frames move to blockd's pool of device slots
 * and are pinned), and answered when its last device request completes,
 * to the caller that waits for it (BLK_READ, BLK_WRITE, BLK_IO with wait)
 * or parked again until the client collects it (BLK_IO). */
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

struct disk {
  struct virtio_dev dev;
  struct virtq q;
  u64 capacity; /* sectors */
  u8 irq;       /* its line: a message-signalled one when dev.msix */
  u8 cache;     /* it has a write cache to flush (VIRTIO_BLK_F_FLUSH) */
};

/* Counters of refused and failed requests, kept in the session (client
 * memory) and summed for the whole driver. */
struct blk_counters {
  u64 requests, sectors;
  u64 bad_range, bad_count, not_frames, closed_session, device_errors, bad_op;
  u64 blockd_ns; /* blockd's run time spent on it (in the totals: also on nobody) */
  u64 gone_waiting; /* totals only: requests whose session's memory went while they were in flight */
  u64 full;         /* requests refused because the session's requests or slots were all in use */
  u64 flushes;      /* flushes the device completed */
};

/* A request as the session's record keeps it (client memory). */
enum { REQ_FREE, REQ_QUEUED, REQ_POSTED, REQ_DONE };
enum { REQ_READ, REQ_WRITE, REQ_FLUSH }; /* a flush has no frames */
struct request {
  u32 tag;
  u8 state;
  u8 kind;
  u8 err;      /* once done */
  u8 inflight; /* while posted: its entry in blockd's table */
  u8 disk;
  u8 held;     /* done: 0 its frames are parked, else they wait in the pool (blockd's hold h - 1) */
  u16 frames;
  u16 park;    /* its first slot in the session's CNode */
  u32 sectors;
  u64 sector;
};

/* Where the session's parked frames go: a bitmap over its CNode's slots. */
#define PARK_MAX_SLOTS (1u << (BLK_DONATION_MAX_BITS - 7))

/* Lives in a frame made from the session's donated untyped. */
struct session_rec {
  struct blk_counters c;
  u32 disk;
  u32 next_tag;
  u32 park_slots;                 /* slots of the session's CNode */
  u8 queue[BLK_MAX_QUEUED];       /* accepted, not posted: oldest first */
  u8 qhead, qlen;
  u8 done[BLK_MAX_QUEUED];        /* completed, parked: oldest first */
  u8 dhead, dlen;
  u8 nreq;                        /* entries not REQ_FREE */
  struct request req[BLK_MAX_QUEUED];
  u64 park_map[PARK_MAX_SLOTS / 64];
};
_Static_assert(sizeof(struct session_rec) <= K_PAGE_SIZE, "a session's record fits its frame");

/* Who waits for an answer: one caller per session. */
enum { WAIT_NONE, WAIT_TAG, WAIT_ANY };

/* blockd's own part of a session: what outlives its record (the frames
 * it has on the device, its waiting caller) and what finds it. With the
 * three slots of its place in blockd's CNode this is all a session costs
 * blockd; the table has a place for every 64 KiB of the machine's memory
 * (blk.h), allocated at start. */
struct session {
  u8 used;
  u8 held;                 /* BLK_HOLD: its next request waits on the device for a signal */
  u8 waiting;              /* WAIT_*: a caller's reply is saved in reply_of(s) */
  u8 busy;                 /* counted in busy_sessions: used, and requests queued or on the device */
  u32 generation;          /* of the index: in the badge, so a closed session's endpoint reaches nothing */
  u32 wait_tag;            /* WAIT_TAG: the request it waits for */
  u32 wait_first;          /* WAIT_ANY: the first tag its BLK_IO submitted (its answer's w1) */
  u16 wait_room;           /* WAIT_ANY: the most frames its answer may carry */
  u16 on_device;           /* its frames the device holds */
  u16 queued;              /* its requests accepted and not yet posted */
  u32 qnext, qprev;        /* while queued: its neighbours in the ring of sessions with requests queued */
  u64 seen_alive;          /* the wake-up in which its donation was last seen */
  struct session_rec *rec; /* mapped in blockd at a per-session address */
};

/* blockd's CNode beyond the server's slots (server.h): frames on the
 * device sit in the pool, a session's three slots follow it (blk.h), and
 * env hands out the slots between the receive slots and the stage. */
#define BLOCKD_RECV_SLOTS K_IPC_MAX_GIFTS /* a BLK_IO batch brings up to 512 frames */
#define BLOCKD_ENV_SLOTS 1024
#define POOL_SLOT 2048
#define POOL_SLOTS 2048
#define PARK_RECORD_TABLE 1 /* the parking CNode's slots for the record's table and frame */
#define PARK_RECORD_FRAME 2
#define PARK_FIRST_FREE 3
_Static_assert(SERVER_GIFT_SLOT + BLOCKD_RECV_SLOTS <= BLOCKD_ENV_SLOTS, "slot ranges overlap");
_Static_assert(POOL_SLOT + POOL_SLOTS <= BLOCKD_SESSION_SLOTS, "slot ranges overlap");

/* Bits of blockd's notification besides the disks' interrupt lines. */
#define HOLD_BIT (1ull << 40)  /* the client of a held request says go */
#define TIMER_BIT (1ull << 41) /* look again at a held request's session */

extern struct env env;
extern struct k_ipc_buffer *buf;
extern struct blk_counters total; /* closed sessions' counters, and requests of nobody */
extern int test_hooks;

/* device.c */
extern struct disk disks[BLK_MAX_DISKS];
extern unsigned ndisks;
extern cptr_t blockd_ntfn; /* bound to blockd's thread: interrupts, HOLD_BIT, TIMER_BIT */
long devices_setup(void);
/* Moves a request's frames from (cnode, first) to the pool, pins them and
 * posts them to the device (it hears of them at device_kick). WOULD_BLOCK
 * when the ring or the pool has no room; another error when the frames
 * cannot be pinned (not 4 KiB frames): then they are back where they were. */
long device_post(struct session *s, struct request *r, cptr_t cnode, cptr_t first);
void device_kick(void);
/* The pool's slots [pool, + frames) are free again. */
void pool_release(unsigned pool, unsigned frames);
/* Moves n capabilities from (from_cnode, from + i) to (to_cnode, to + i). */
void move_frames(cptr_t to_cnode, cptr_t to, cptr_t from_cnode, cptr_t from, unsigned n);
/* The device's completions: each finished request goes to request_done. */
void device_event(u64 bits);

/* queue.c */
/* The arithmetic of a request on disk (request.h), counted when refused. */
long request_check(struct session *s, u32 disk, u64 sector, u64 *sectors, u64 frames);
/* A checked request takes a table entry and parking slots (0 when the
 * session has none left); request_unreserve gives them back. */
struct request *request_reserve(struct session *s, u32 disk, u8 kind, u64 sector, u64 sectors);
void request_unreserve(struct session *s, struct request *r);
/* The reserved request's frames are in blockd's slots [first, + frames):
 * it goes to the device at once if it can, else waits parked. */
void request_start(struct session *s, struct request *r, cptr_t first);
/* A posted request finished: the frames are in the pool at [pool, +frames),
 * unpinned. Session i (of `generation`) may be gone. Returns 1 when the
 * frames stay there (until collected), 0 when they left the pool. */
int request_done(unsigned i, u32 generation, u8 req, u32 tag, u16 pool, u16 frames, u32 errors);
/* Session i went: what it left waiting in the pool goes back to its owner. */
void held_release(unsigned i);
/* Posts what the sessions have queued, fairly, as long as the device has room. */
void schedule(void);
/* BLK_IO's collection: done requests' frames, at most `room`, as the
 * answer's gifts (parked ones moved to blockd's gift slots from `first`,
 * those waiting in the pool named where they are), their words to
 * buf->words[from..]; returns the count and sets *gifts. The answer must
 * go out (or fail) before collected_replied, with its error. */
u64 collect(struct session *s, u64 from, cptr_t first, u64 room, u64 *gifts);
void collected_replied(long err);
/* Answers the session's waiting caller with `err` and no frames. */
void answer_gone(struct session *s, long err);

/* session.c */
extern struct session *sessions;
extern unsigned max_sessions; /* places in the table */
/* Session i's place in blockd's CNode (blk.h): its donation; the parking
 * CNode made from it, where its frames wait and the record's frame and
 * table sit (slots 1 and 2); a waiting caller's saved reply. */
static inline cptr_t session_donated_slot(unsigned i) { return BLOCKD_SESSION_SLOTS + BLOCKD_SESSION_STRIDE * i; }
static inline cptr_t park_of(const struct session *s) { return session_donated_slot((unsigned)(s - sessions)) + 1; }
static inline cptr_t reply_of(const struct session *s) { return session_donated_slot((unsigned)(s - sessions)) + 2; }
long sessions_setup(void);
int session_alive(unsigned i);
void sessions_woke(void); /* blockd waited: a session may have gone meanwhile */
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
void settle_shared(const u32 *who, const u32 *generation, unsigned n);
/* The list of sessions with requests queued (queue.c schedules from it). */
void queued_add(struct session *s);
void queued_remove(struct session *s);
/* Index i may take a new session (its last one is closed or gone, and
 * nothing of it waits in the ring). */
void index_free(unsigned i);
/* busy_sessions counts s as its fields now say. */
void busy_update(struct session *s);

#endif
