/* The arithmetic of a read or write request, apart from the driver so that
 * the host tests can try every edge (tests/host/test_blk_request.c). */
#ifndef BLOCKD_REQUEST_H
#define BLOCKD_REQUEST_H

#include <lib/types.h>

enum blk_verdict {
  BLK_REQUEST_OK,
  BLK_REQUEST_BAD_COUNT, /* no frames, too many, or sectors that do not fill the last frame's part */
  BLK_REQUEST_BAD_RANGE, /* the request does not lie wholly on the disk */
};

/* A request brings `frames` gifted frames and asks for `*sectors` sectors
 * from `sector` on a disk of `capacity` sectors; 0 sectors means as many
 * as the frames hold, and *sectors is set to that. Every frame but the
 * last must be full. Checked without overflow for any 64-bit values. */
enum blk_verdict blk_check_request(u64 frames, u64 sector, u64 *sectors, u64 capacity);

#endif
