/* String functions for freestanding x86-64 code. memcpy and memset use
 * `rep movsb` / `rep stosb`, which current CPUs run at full speed for large
 * sizes (retype zeroes whole frames); the rest are plain loops. */
#include <lib/string.h>

void *memcpy(void *dst, const void *src, unsigned long n) {
  void *d = dst;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

void *memset(void *dst, int c, unsigned long n) {
  void *d = dst;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
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
