/* blockd's runs of slots (user/blockd/runs.c) under ASan and UBSan: first
 * fit, runs that cross words, a size that is not a whole number of words,
 * a full map, and n of 0 or more than there is. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "user/blockd/runs.h"

static void first_fit_and_free(void **state) {
  (void)state;
  u64 map[4] = {0};
  assert_int_equal(runs_take(map, 256, 10), 0);
  assert_int_equal(runs_take(map, 256, 60), 10);  /* [10, 70): crosses into word 1 */
  assert_int_equal(runs_take(map, 256, 1), 70);
  runs_mark(map, 10, 60, 0);                       /* a hole of 60 */
  assert_int_equal(runs_take(map, 256, 61), 71);   /* does not fit the hole */
  assert_int_equal(runs_take(map, 256, 60), 10);   /* fits it exactly */
  assert_int_equal(runs_take(map, 256, 256), -1);
}

static void edges(void **state) {
  (void)state;
  u64 map[2] = {0};
  assert_int_equal(runs_take(map, 100, 0), -1);
  assert_int_equal(runs_take(map, 100, 101), -1);
  assert_int_equal(runs_take(map, 100, 100), 0);   /* all of a size that is not whole words */
  assert_int_equal(runs_take(map, 100, 1), -1);    /* full */
  assert_true(map[1] >> 36 == 0);                  /* nothing past the size was marked */
  runs_mark(map, 99, 1, 0);
  assert_int_equal(runs_take(map, 100, 1), 99);    /* the last slot */
  runs_mark(map, 0, 100, 0);
  assert_int_equal(map[0], 0);
  assert_int_equal(map[1], 0);
}

static void full_words_are_skipped_whole(void **state) {
  (void)state;
  u64 map[3] = {~0ull, ~0ull, 0};
  assert_int_equal(runs_take(map, 192, 64), 128);
  map[1] = ~1ull;                                  /* slot 64 free */
  assert_int_equal(runs_take(map, 192, 1), 64);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_fit_and_free),
      cmocka_unit_test(edges),
      cmocka_unit_test(full_words_are_skipped_whole),
  };
  return cmocka_run_group_tests_name("test_blk_runs", tests, NULL, NULL);
}
