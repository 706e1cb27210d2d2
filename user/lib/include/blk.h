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

enum blk_op { BLK_OPEN = 1, BLK_INFO, BLK_READ, BLK_WRITE, BLK_CLOSE, BLK_STATS, BLK_HOLD };

#define BLK_SECTOR 512
#define BLK_SECTORS_PER_FRAME 8
#define BLK_MAX_FRAMES 256      /* per request: 1 MiB */
#define BLK_CHAIN_FRAMES 8      /* frames in one device request (scatter-gather) */
#define BLK_IN_FLIGHT 64        /* device requests blockd keeps in flight */
#define BLK_DONATION_BITS 16    /* a session needs 64 KiB */
#define BLK_MAX_DISKS 4

/* Reply words: w0 = error, w1 = result (capacity for INFO). BLK_STATS:
 * w1 = requests of this session refused or failed, w2 = bytes of blockd's
 * own memory in use (it must not depend on the number of sessions), w3 =
 * nanoseconds blockd has run for this session (up to its last request);
 * in the IPC buffer, words 4-7 = this session's refusals by kind (range
 * past the disk's end, frame and sector counts, not frames) and, driver-
 * wide, the requests whose session's memory went while blockd waited for
 * the disk. */
#define BLK_STATS_WORDS 8

/* Client side. */
struct k_ipc_buffer;
struct env;
/* Donates an untyped of BLK_DONATION_BITS from e's memory and opens a
 * session on `disk` through blockd's public endpoint; the session's
 * endpoint lands in *session. */
long blk_open(struct env *e, struct k_ipc_buffer *buf, cptr_t blockd, u32 disk, cptr_t *session);
/* Closes a session; the donation comes back into a fresh slot. */
long blk_close(struct env *e, struct k_ipc_buffer *buf, cptr_t session);

#endif
