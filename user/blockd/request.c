/* Request arithmetic (see request.h). */
#include "request.h"
#include <blk.h>

enum blk_verdict blk_check_request(u64 frames, u64 sector, u64 *sectors, u64 capacity) {
  if (frames == 0 || frames > BLK_MAX_FRAMES)
    return BLK_REQUEST_BAD_COUNT;
  if (*sectors == 0)
    *sectors = frames * BLK_SECTORS_PER_FRAME;
  if (*sectors > frames * BLK_SECTORS_PER_FRAME || *sectors <= (frames - 1) * BLK_SECTORS_PER_FRAME)
    return BLK_REQUEST_BAD_COUNT;
  if (sector >= capacity || capacity - sector < *sectors) /* its end too, without overflow */
    return BLK_REQUEST_BAD_RANGE;
  return BLK_REQUEST_OK;
}
