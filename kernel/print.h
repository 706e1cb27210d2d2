/* Kernel console output and panics. */
#ifndef KERNEL_PRINT_H
#define KERNEL_PRINT_H

#include <arch/context.h>

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, u64 len);
/* A broken kernel invariant: print, then stop the machine (QEMU exits with
 * a failure status so tests see it). */
__attribute__((noreturn)) void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
