/* The block session protocol between blockd and its clients.
 *
 * BLK_OPEN on blockd's public endpoint carries, as capability 0, an untyped
 * the client donates (it moves to blockd; the client keeps its parent and
 * so can always revoke it) and w0 = the disk. blockd builds the session from
 * that memory and replies with a badged endpoint capability: the session.
 * On the session endpoint:
 *   BLK_INFO               -> w0 = capacity in 512-byte sectors
 *   BLK_READ  w0 = sector, w1 = sectors (0: 8 per frame), gifts = n empty
 *             4 KiB frames -> the frames back, holding 8 sectors each (the
 *             last may hold fewer when w1 says so)
 *   BLK_WRITE w0 = sector, w1 = sectors, gifts = n filled frames -> the
 *             frames back when the device has written them
 *   BLK_IO    w0 = blk_io_word(requests, wait, room), then two words per request
 *             (buf->words[1 + 2i], [2 + 2i]: sector, blk_req_word(sectors,
 *             write)), gifts = the requests' frames one request after the
 *             other -> submits them all or none (w1 = the first bad one,
 *             every frame back), then collects: w1 = the tag of the first
 *             submitted request (the others follow, one each), w2 = how
 *             many completions follow in buf->words[3..] (blk_done_*), and
 *             the gifts = their frames one request after the other, never
 *             more than `room` (the caller's receive slots and window). With
 *             `wait`, when nothing has completed and something is in
 *             flight, the answer waits for the next completion (a request
 *             larger than `room` completing then: WINDOW_TOO_SMALL, and
 *             it waits to be collected with more room). A session
 *             has at most BLK_MAX_QUEUED requests in flight, and as many
 *             frames as its donation's slots hold (blk_open_sized).
 *   BLK_FLUSH w0 = the disk + 1 (0: the session's) -> answered when every
 *             write to that disk that completed before it was sent is on
 *             stable storage: blockd asks the device to flush its write
 *             cache (VIRTIO_BLK_T_FLUSH), or answers at once when the
 *             device has none to flush (no VIRTIO_BLK_F_FLUSH: it then
 *             writes through). A write's completion alone says only that
 *             the device has it, perhaps in a volatile cache.
 *   BLK_CLOSE              -> the donated untyped back (capability 0)
 *   BLK_HOLD               -> a notification (capability 0), made from the
 *             session's memory: blockd's next read or write of this
 *             session, once its device requests are posted, waits until
 *             the client signals it or the session's memory goes. A test
 *             hook, so that a revoke lands while blockd waits for the
 *             disk every time: honoured only by a blockd started as
 *             "blockd:1" (blktest's image); elsewhere an unknown request.
 * Every reply carries an abi error in w0 (w1 for INFO's capacity, see
 * below); frames a request brought always go back, even on errors. */
#ifndef USER_BLK_H
#define USER_BLK_H

#include <lib/types.h>
#include <places.h>

enum blk_op { BLK_OPEN = 1, BLK_INFO, BLK_READ, BLK_WRITE, BLK_CLOSE, BLK_STATS, BLK_HOLD, BLK_IO, BLK_FLUSH };

#define BLK_SECTOR 512
#define BLK_SECTORS_PER_FRAME 8
#define BLK_MAX_FRAMES 256      /* per request: 1 MiB */
#define BLK_CHAIN_FRAMES 32     /* frames in one device request (scatter-gather): 128 KiB */
#define BLK_IN_FLIGHT 64        /* device requests blockd keeps in flight */
#define BLK_DONATION_BITS 16    /* a session needs 64 KiB: 4 KiB record, 8 KiB table, a CNode of 512 slots */
#define BLK_DONATION_MAX_BITS 20 /* 1 MiB: 8192 frame slots (depth 32 of 1 MiB requests) */
#define BLK_MAX_QUEUED 64       /* requests of one session in flight */
#define BLK_IO_MAX_REQUESTS 30  /* in one BLK_IO message (two words each) */
#define BLK_IO_MAX_DONE 60      /* completions in one answer */
#define BLK_MAX_DISKS 4

/* blockd's CNode: its own slots and the pool of frames on the device,
 * then BLOCKD_SESSION_STRIDE a session (its donation, its parking CNode, a
 * waiting caller's reply); a place for every 2^BLK_DONATION_BITS bytes of
 * memory (places.h). */
#define BLOCKD_SESSION_SLOTS 4096
#define BLOCKD_SESSION_STRIDE 3
static inline unsigned blockd_cnode_bits(u64 memory) {
  return server_cnode_bits(memory, BLOCKD_SESSION_SLOTS, BLOCKD_SESSION_STRIDE, BLK_DONATION_BITS, 13);
}

/* Reply words: w0 = error, w1 = result (capacity for INFO). BLK_STATS:
 * w1 = requests of this session refused or failed, w2 = bytes of blockd's
 * own memory in use (it must not depend on the number of sessions), w3 =
 * nanoseconds blockd has run for this session (up to its last request);
 * in the IPC buffer, words 4-7 = this session's refusals by kind (range
 * past the disk's end, frame and sector counts, not frames) and, driver-
 * wide, the requests whose session's memory went while they were in flight;
 * word 8 = this session's requests refused because its requests or slots
 * were all in use (NO_MEMORY); word 9 = its requests the device completed;
 * word 10 = its flushes the device completed (BLK_FLUSH). */
#define BLK_STATS_WORDS 11

/* BLK_IO's words. */
static inline u64 blk_io_word(u64 requests, int wait, u64 room) {
  return (wait ? 1 : 0) | (requests & 0xff) << 8 | room << 16;
}
static inline u64 blk_io_requests(u64 w) { return (w >> 8) & 0xff; }
static inline int blk_io_wait(u64 w) { return (int)(w & 1); }
static inline u64 blk_io_room(u64 w) { return w >> 16; }
/* A request's second word: sectors (bits 0-31), the disk + 1 (bits
 * 48-55; 0: the session's own disk) and the direction (bit 63). Any disk
 * blockd serves may be named: a copy from one to another is one session. */
#define BLK_REQ_WRITE (1ull << 63)
static inline u64 blk_req_word(u64 sectors, int write) { return (sectors & 0xffffffffull) | (write ? BLK_REQ_WRITE : 0); }
static inline u64 blk_req_on_disk(u64 w, u32 disk) { return w | (u64)((disk + 1) & 0xff) << 48; }
static inline u64 blk_req_sectors(u64 w) { return w & 0xffffffffull; }
static inline int blk_req_write(u64 w) { return (w & BLK_REQ_WRITE) != 0; }
static inline u32 blk_req_disk_field(u64 w) { return (u32)(w >> 48) & 0xff; } /* disk + 1, 0: the session's */
static inline int blk_req_reserved_bits(u64 w) { return (w & 0x7f00ffff00000000ull) != 0; }
/* A completion: the request's tag, its error, how many frames come back for it. */
static inline u64 blk_done_word(u32 tag, u32 err, u32 frames) { return tag | (u64)(err & 0xff) << 32 | (u64)frames << 40; }
static inline u32 blk_done_tag(u64 w) { return (u32)w; }
static inline u32 blk_done_err(u64 w) { return (u32)(w >> 32) & 0xff; }
static inline u32 blk_done_frames(u64 w) { return (u32)(w >> 40); }
static inline u64 blk_frames_for(u64 sectors) { return (sectors + BLK_SECTORS_PER_FRAME - 1) / BLK_SECTORS_PER_FRAME; }

/* Client side. */
#define BLK_QUEUE_MAX_FRAMES 8192
struct k_ipc_buffer;
struct env;
/* Donates an untyped of BLK_DONATION_BITS from e's memory and opens a
 * session on `disk` through blockd's public endpoint; the session's
 * endpoint lands in *session. */
long blk_open(struct env *e, struct k_ipc_buffer *buf, cptr_t blockd, u32 disk, cptr_t *session);
/* The same with a donation of 2^bits bytes (BLK_DONATION_BITS to
 * BLK_DONATION_MAX_BITS): half of it holds the frames of the session's
 * requests while they wait, 2^(bits - 7) of them. */
long blk_open_sized(struct env *e, struct k_ipc_buffer *buf, cptr_t blockd, u32 disk, u32 bits, cptr_t *session);
/* Many requests in flight on one session (BLK_IO). The queue's frames
 * live in a ring of `size` slots from `slot` and as many pages from `va`
 * (page tables ready); a request names the ring's frames it sends, and its
 * completion says where they came back. */
struct blk_queue {
  struct k_ipc_buffer *buf;
  cptr_t cnode, session, slot;
  u64 va;
  u32 size;
  u32 nreq, nframes;        /* the batch the next blk_queue_call sends */
  u32 in_flight, largest;   /* requests out, and the most frames a request has had */
  u32 first_tag;            /* the tag blockd gave the last batch's first request */
  u32 back_frame, back_frames; /* a refused batch's frames came back here */
  u64 present[BLK_QUEUE_MAX_FRAMES / 64]; /* bit i: the ring's frame i is here */
};
struct blk_done {
  u32 tag, err;
  u32 frame, frames; /* its frames are now the ring's [frame, frame + frames) */
};
/* Makes n frames from e's memory in slots [slot, + n), mapped from va. */
long blk_ring_make(struct env *e, cptr_t slot, u64 va, u32 n);
/* A queue on the session whose ring is the `size` frames (all here) in
 * cnode's slots [slot, + size), mapped from va. */
long blk_queue_init(struct blk_queue *q, struct k_ipc_buffer *buf, cptr_t cnode, cptr_t session, cptr_t slot,
                    u64 va, u32 size);
/* Adds a request on `disk` to the next batch: its frames are the ring's
 * [frame, frame + blk_frames_for(sectors)). K_ERR_RANGE when they are not
 * here, or the batch is full (send it first). */
long blk_queue_add(struct blk_queue *q, u32 disk, int write, u64 sector, u64 sectors, u32 frame);
/* Sends the batch and collects completions into done[BLK_IO_MAX_DONE] (*n
 * of them); with `wait`, waits for one when none is ready and something
 * is in flight. The batch's requests have tags q->first_tag on, in order.
 * A refused batch (blockd's error) comes back at the ring's [back_frame,
 * + back_frames). */
long blk_queue_call(struct blk_queue *q, int wait, struct blk_done *done, u32 *n);
/* The address of the ring's frame i. */
static inline u64 blk_queue_page(const struct blk_queue *q, u32 i) { return q->va + (u64)i * 4096; }

/* BLK_READ or BLK_WRITE (op) of `sectors` from `sector` with the n frames
 * in cnode's slots [first, + n); they come back into the same slots,
 * mapped from `window`. K_ERR_BAD_STATE if not all of them came back. */
long blk_rw(struct k_ipc_buffer *buf, cptr_t cnode, cptr_t session, u32 op, u64 sector, u64 sectors, cptr_t first,
            u64 n, u64 window);

/* BLK_FLUSH of disk_field - 1 (0: the session's own disk). */
long blk_flush(cptr_t session, u32 disk_field);

/* Closes a session; the donation comes back into a fresh slot. */
long blk_close(struct env *e, struct k_ipc_buffer *buf, cptr_t session);

#endif
