/* kprintf over the serial console; panic. */
#include "kernel/print.h"
#include <arch/serial.h>
#include <arch/sched.h>
#include <lib/fmt.h>
#include <stdarg.h>

static void out_serial(void *ctx, char c) {
  (void)ctx;
  if (c == '\n')
    serial_putc('\r');
  serial_putc(c);
}

void console_write(const char *s, u64 len) {
  for (u64 i = 0; i < len; i++)
    out_serial(0, s[i]);
}

int kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = fmt_format(out_serial, 0, fmt, ap);
  va_end(ap);
  return n;
}

void panic(const char *fmt, ...) {
  va_list ap;
  kprintf("\nPANIC: ");
  va_start(ap, fmt);
  fmt_format(out_serial, 0, fmt, ap);
  va_end(ap);
  kprintf("\n");
  arch_halt_machine(0x7f);
}
