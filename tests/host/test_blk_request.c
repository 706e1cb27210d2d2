/* blockd's request arithmetic (user/blockd/request.c) at every edge, under
 * ASan and UBSan: frame counts, sector counts against frames, and the
 * request's whole extent against the disk, with 64-bit overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "user/blockd/request.h"
#include <blk.h>

#define DISK 1000ull /* sectors */

static enum blk_verdict check(u64 frames, u64 sector, u64 sectors, u64 *out) {
  u64 s = sectors;
  enum blk_verdict v = blk_check_request(frames, sector, &s, DISK);
  if (out)
    *out = s;
  return v;
}

static void frame_counts(void **state) {
  (void)state;
  assert_int_equal(check(0, 0, 0, 0), BLK_REQUEST_BAD_COUNT);
  assert_int_equal(check(BLK_MAX_FRAMES + 1, 0, 0, 0), BLK_REQUEST_BAD_COUNT);
  assert_int_equal(check(~0ull, 0, 0, 0), BLK_REQUEST_BAD_COUNT);
  assert_int_equal(check(1, 0, 0, 0), BLK_REQUEST_OK);
  assert_int_equal(check(BLK_MAX_FRAMES, 0, 0, 0), BLK_REQUEST_BAD_RANGE); /* 2048 sectors > DISK */
}

static void sectors_against_frames(void **state) {
  (void)state;
  u64 s;
  assert_int_equal(check(3, 0, 0, &s), BLK_REQUEST_OK);
  assert_int_equal(s, 3 * BLK_SECTORS_PER_FRAME); /* 0: as many as the frames hold */
  assert_int_equal(check(3, 0, 17, &s), BLK_REQUEST_OK); /* the last frame partly */
  assert_int_equal(check(3, 0, 16, 0), BLK_REQUEST_BAD_COUNT); /* a frame too many */
  assert_int_equal(check(3, 0, 25, 0), BLK_REQUEST_BAD_COUNT); /* more than they hold */
  assert_int_equal(check(1, 0, 1, 0), BLK_REQUEST_OK);
  assert_int_equal(check(1, 0, ~0ull, 0), BLK_REQUEST_BAD_COUNT);
}

/* The request's end counts, not only its first sector. */
static void extent_against_the_disk(void **state) {
  (void)state;
  assert_int_equal(check(1, DISK - 8, 8, 0), BLK_REQUEST_OK); /* ends exactly at the end */
  assert_int_equal(check(1, DISK - 7, 8, 0), BLK_REQUEST_BAD_RANGE); /* first on, last off */
  assert_int_equal(check(1, DISK - 1, 1, 0), BLK_REQUEST_OK);
  assert_int_equal(check(2, DISK - 9, 16, 0), BLK_REQUEST_BAD_RANGE);
  assert_int_equal(check(1, DISK, 1, 0), BLK_REQUEST_BAD_RANGE);
  assert_int_equal(check(1, ~0ull, 8, 0), BLK_REQUEST_BAD_RANGE);
  assert_int_equal(check(1, ~0ull - 3, 8, 0), BLK_REQUEST_BAD_RANGE); /* sector + count wraps */
  u64 s = 8;
  assert_int_equal(blk_check_request(1, 0, &s, 0), BLK_REQUEST_BAD_RANGE); /* an empty disk */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(frame_counts),
      cmocka_unit_test(sectors_against_frames),
      cmocka_unit_test(extent_against_the_disk),
  };
  return cmocka_run_group_tests_name("blk_request", tests, NULL, NULL);
}
