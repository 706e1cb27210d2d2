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

void print_user_ctx(const struct user_ctx *c) {
  kprintf("  rip %016llx cs %04llx rflags %016llx rsp %016llx ss %04llx\n", c->rip, c->cs,
          c->rflags, c->rsp, c->ss);
  kprintf("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", c->rax, c->rbx, c->rcx, c->rdx);
  kprintf("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", c->rsi, c->rdi, c->rbp, c->r8);
  kprintf("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", c->r9, c->r10, c->r11, c->r12);
  kprintf("  r13 %016llx r14 %016llx r15 %016llx\n", c->r13, c->r14, c->r15);
}
