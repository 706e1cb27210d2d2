/* The small user-space library: console output, exit, names for codes. */
#ifndef USER_ULIB_H
#define USER_ULIB_H

#include <sys.h>
#include <lib/string.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void exit(long code);

#endif
