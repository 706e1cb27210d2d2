/* String and memory functions for freestanding code (kernel and user).
 * The compiler emits calls to memcpy, memset, memmove and memcmp by itself,
 * so those keep their standard names and signatures. Host tests link the C
 * library's versions instead of lib/string.c. */
#ifndef LIB_STRING_H
#define LIB_STRING_H

#include <lib/types.h>

void *memcpy(void *dst, const void *src, unsigned long n);
void *memset(void *dst, int c, unsigned long n);
void *memmove(void *dst, const void *src, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
unsigned long strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, unsigned long n);
/* Copies at most size-1 bytes and always terminates (size > 0); returns strlen(src). */
u64 str_lcpy(char *dst, const char *src, u64 size);

#endif
