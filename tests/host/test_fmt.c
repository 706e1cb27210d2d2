/* Host unit tests of lib/fmt.c. Some cases are deliberately malformed formats. */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-overflow"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <string.h>
#include <lib/fmt.h>

static char buf[128];

#define CHECK(expected, ...)                                                   \
  do {                                                                         \
    int n_ = fmt_snprintf(buf, sizeof(buf), __VA_ARGS__);                      \
    assert_string_equal(buf, expected);                                        \
    assert_int_equal(n_, (int)strlen(expected));                               \
  } while (0)

static void integers(void **state) {
  (void)state;
  CHECK("0 -1 42", "%d %i %u", 0, -1, 42u);
  CHECK("-9223372036854775808", "%lld", LLONG_MIN);
  CHECK("18446744073709551615", "%llu", ULLONG_MAX);
  CHECK("4294967295", "%u", UINT_MAX);
  CHECK("-2147483648", "%d", INT_MIN);
  CHECK("ff FF 0", "%x %X %x", 255u, 255u, 0u);
  CHECK("ffffffffffffffff", "%lx", ~0ul);
  CHECK("123", "%zu", (size_t)123);
}

static void widths_and_flags(void **state) {
  (void)state;
  CHECK("   42|42   |00042", "%5d|%-5d|%05d", 42, 42, 42);
  CHECK("-0042", "%05d", -42);
  CHECK("  -42", "%5d", -42);
  CHECK("0000beef", "%08x", 0xbeefu);
  CHECK("   7", "%*d", 4, 7);
  CHECK("7   |", "%*d|", -4, 7);
  CHECK("123456", "%3d", 123456);
}

static void strings_and_chars(void **state) {
  (void)state;
  CHECK("hello", "%s", "hello");
  CHECK("(null)", "%s", (char *)NULL);
  CHECK("  ab|ab  ", "%4s|%-4s", "ab", "ab");
  CHECK("hel", "%.3s", "hello");
  CHECK("he", "%.*s", 2, "hello");
  CHECK("x|  y", "%c|%3c", 'x', 'y');
  CHECK("100%", "100%%");
}

static void pointers_and_unknown(void **state) {
  (void)state;
  CHECK("0x00000000deadbeef", "%p", (void *)0xdeadbeef);
  CHECK("%q", "%q");
  CHECK("end%", "end%");
}

static void truncation(void **state) {
  (void)state;
  char small[6];
  memset(small, 'z', sizeof(small));
  assert_int_equal(fmt_snprintf(small, sizeof(small), "%s", "abcdefgh"), 8);
  assert_string_equal(small, "abcde");
  small[0] = 'q';
  assert_int_equal(fmt_snprintf(small, 0, "%d", 12345), 5);
  assert_int_equal(small[0], 'q'); /* size 0 writes nothing */
  assert_int_equal(fmt_snprintf(small, 1, "%d", 12345), 5);
  assert_string_equal(small, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(integers),
      cmocka_unit_test(widths_and_flags),
      cmocka_unit_test(strings_and_chars),
      cmocka_unit_test(pointers_and_unknown),
      cmocka_unit_test(truncation),
  };
  return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
