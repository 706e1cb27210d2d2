/* The small user-space library: console output, exit, names for codes. */
#ifndef USER_ULIB_H
#define USER_ULIB_H

#include <sys.h>
#include <lib/string.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void exit(long code);
/* Tells QEMU's debug-exit device the verdict (0: passed), through the
 * debug-exit ports a test program holds in the fixed slot K_BI_SLOT_IOPORTS;
 * QEMU stops. Returns if the program holds no such ports. */
#define DEBUG_EXIT_PORT 0xf4 /* QEMU's isa-debug-exit, four ports */
void debug_exit(unsigned verdict);

#endif
