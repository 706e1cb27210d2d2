/* String functions for freestanding x86-64 code. memcpy and memset move
 * eight bytes per step with `rep movsq` / `rep stosq` and finish with bytes:
 * fast on hardware, and under QEMU's -icount (which counts every iteration
 * of a rep instruction) an eighth of the count of the byte forms. */
#include <lib/string.h>

void *memcpy(void *dst, const void *src, unsigned long n) {
  void *d = dst;
  unsigned long q = n / 8, r = n % 8;
  __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
  return dst;
}

void *memset(void *dst, int c, unsigned long n) {
  void *d = dst;
  unsigned long q = n / 8, r = n % 8;
  u64 v = 0x0101010101010101ull * (u8)c;
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
  return dst;
}

void *memmove(void *dst, const void *src, unsigned long n) {
  u8 *d = dst;
  const u8 *s = src;
  if (d <= s || d >= s + n)
    return memcpy(dst, src, n);
  while (n--)
    d[n] = s[n];
  return dst;
}

int memcmp(const void *a, const void *b, unsigned long n) {
  const u8 *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y)
      return *x - *y;
  return 0;
}

unsigned long strlen(const char *s) {
  unsigned long n = 0;
  while (s[n])
    n++;
  return n;
}

int strncmp(const char *a, const char *b, unsigned long n) {
  for (; n; n--, a++, b++)
    if (*a != *b || !*a)
      return (u8)*a - (u8)*b;
  return 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, ~0ul); }

u64 str_lcpy(char *dst, const char *src, u64 size) {
  u64 len = strlen(src);
  if (size) {
    u64 n = len < size - 1 ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
  }
  return len;
}
