/* Host unit tests of lib/string.c. Its functions carry the C library's
 * names, so the file is compiled here under other names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#define memcpy lib_memcpy
#define memset lib_memset
#define memmove lib_memmove
#define memcmp lib_memcmp
#define strlen lib_strlen
#define strcmp lib_strcmp
#define strncmp lib_strncmp
#include <lib/string.h> /* its declarations, under the names above */
#include "../../lib/string.c"
#undef memcpy
#undef memset
#undef memmove
#undef memcmp
#undef strlen
#undef strcmp
#undef strncmp

static void copy_and_fill(void **state) {
  (void)state;
  char a[64], b[64];
  for (int i = 0; i < 64; i++)
    a[i] = (char)i;
  assert_ptr_equal(lib_memcpy(b, a, 64), b);
  assert_memory_equal(a, b, 64);
  assert_ptr_equal(lib_memset(b + 3, 0x7f, 10), b + 3);
  assert_int_equal(b[2], 2);
  assert_int_equal(b[3], 0x7f);
  assert_int_equal(b[12], 0x7f);
  assert_int_equal(b[13], 13);
  lib_memcpy(b, a, 0);
  lib_memset(b, 0, 0);
}

static void move_handles_overlap_both_ways(void **state) {
  (void)state;
  char s[16] = "0123456789";
  lib_memmove(s + 2, s, 8);
  assert_memory_equal(s, "0101234567", 10);
  char t[16] = "0123456789";
  lib_memmove(t, t + 2, 8);
  assert_memory_equal(t, "2345678989", 10);
}

static void compare(void **state) {
  (void)state;
  assert_int_equal(lib_memcmp("abc", "abc", 3), 0);
  assert_true(lib_memcmp("abc", "abd", 3) < 0);
  assert_true(lib_memcmp("\xff", "\x01", 1) > 0); /* bytes compare unsigned */
  assert_int_equal(lib_strlen(""), 0);
  assert_int_equal(lib_strlen("hello"), 5);
  assert_int_equal(lib_strcmp("a", "a"), 0);
  assert_true(lib_strcmp("a", "b") < 0);
  assert_true(lib_strcmp("ab", "a") > 0);
  assert_int_equal(lib_strncmp("abcx", "abcy", 3), 0);
  assert_true(lib_strncmp("abcx", "abcy", 4) < 0);
}

static void lcpy_truncates_and_terminates(void **state) {
  (void)state;
  char d[4] = "zzz";
  assert_int_equal(str_lcpy(d, "hello", sizeof(d)), 5);
  assert_string_equal(d, "hel");
  assert_int_equal(str_lcpy(d, "hi", sizeof(d)), 2);
  assert_string_equal(d, "hi");
  assert_int_equal(str_lcpy(d, "x", 0), 1);
  assert_string_equal(d, "hi");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(copy_and_fill),
      cmocka_unit_test(move_handles_overlap_both_ways),
      cmocka_unit_test(compare),
      cmocka_unit_test(lcpy_truncates_and_terminates),
  };
  return cmocka_run_group_tests_name("string", tests, NULL, NULL);
}
