/* Where every entry lands: system calls, user faults, interrupts. */
#include <arch/cpu.h>
#include <arch/x86.h>
#include <arch/fault.h>
#include <arch/irq.h>
#include <arch/sched.h>
#include "kernel/cpu.h"
#include "kernel/print.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/irq.h"
#include "ipc/endpoint.h"

#define IRQ_BASE 32
#define IRQ_TIMER 0

static int spurious(unsigned irq) {
  u16 isr_port = irq < 8 ? 0x20 : 0xa0;
  outb(isr_port, 0x0b); /* read the in-service register */
  return !(inb(isr_port) & (1u << (irq & 7)));
}

static void handle_irq(unsigned irq) {
  if ((irq == 7 || irq == 15) && spurious(irq)) {
    if (irq == 15)
      arch_irq_eoi(2); /* the master saw a real cascade interrupt */
    return;
  }
  if (irq == IRQ_TIMER) {
    sched_tick();
    ntfn_timers_tick();
  }
  else
    irq_deliver(irq);
  arch_irq_eoi(irq);
}

/* A message-signalled interrupt: an edge, nothing to mask. */
static void handle_msi(unsigned vector) {
  irq_deliver(K_IRQ_MSI_FIRST + (vector - ARCH_MSI_VECTOR_BASE));
  lapic_eoi();
}

/* Interrupt vectors: the 8259s' lines, the message-signalled ones, the
 * local APIC's spurious vector (nothing to do, no EOI), and any other a
 * device was told to send: a driver programs its device's MSI-X table,
 * and without interrupt remapping it can name any vector (as it can DMA
 * anywhere without an IOMMU); above the kernel's own it is ignored. */
static int handle_interrupt(u64 vector) {
  if (vector >= IRQ_BASE && vector < IRQ_BASE + 16)
    handle_irq((unsigned)(vector - IRQ_BASE));
  else if (vector >= ARCH_MSI_VECTOR_BASE && vector < ARCH_SPURIOUS_VECTOR)
    handle_msi((unsigned)vector);
  else if (vector > ARCH_SPURIOUS_VECTOR && vector < 256)
    lapic_eoi();
  else if (vector != ARCH_SPURIOUS_VECTOR)
    return 0;
  return 1;
}

static const char *const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "device not available", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault", "general protection",
    "page fault", "reserved", "x87 error", "alignment check", "machine check",
    "SIMD error", "virtualization", "control protection"};

#define VECTOR_PAGE_FAULT 14

const char *arch_exception_name(u64 vector) {
  return vector < 32 && exception_names[vector] ? exception_names[vector] : "exception";
}

void arch_print_user_ctx(const struct user_ctx *c) {
  kprintf("  rip %016llx cs %04llx rflags %016llx rsp %016llx ss %04llx\n", c->rip, c->cs,
          c->rflags, c->rsp, c->ss);
  kprintf("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", c->rax, c->rbx, c->rcx, c->rdx);
  kprintf("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", c->rsi, c->rdi, c->rbp, c->r8);
  kprintf("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", c->r9, c->r10, c->r11, c->r12);
  kprintf("  r13 %016llx r14 %016llx r15 %016llx\n", c->r13, c->r14, c->r15);
}

/* A fault in user mode: what the generic code records and reports. */
static void user_fault(struct tcb *t, const struct user_ctx *ctx) {
  struct fault f = {.vector = ctx->vector, .error = ctx->err, .ip = ctx->rip,
                    .addr = ctx->vector == VECTOR_PAGE_FAULT ? read_cr2() : 0};
  tcb_fault(t, &f);
}

__attribute__((noreturn)) void trap_user(struct user_ctx *ctx) {
  struct tcb *cur = this_cpu()->cur;
  if (ctx->vector == SYSCALL_VECTOR)
    syscall_dispatch(cur, ctx);
  else if (ctx->vector < IRQ_BASE)
    user_fault(cur, ctx);
  else
    handle_interrupt(ctx->vector);
  sched_return_to_user();
}

/* Interrupts arrive here only while idle; an exception here is a kernel bug. */
void trap_kernel(struct user_ctx *frame) {
  if (frame->vector >= IRQ_BASE && handle_interrupt(frame->vector))
    return;
  kprintf("\nkernel %s (vector %llu) error 0x%llx cr2 0x%llx\n", arch_exception_name(frame->vector),
          frame->vector, frame->err, read_cr2());
  arch_print_user_ctx(frame);
  struct tcb *cur = this_cpu()->cur;
  if (cur) { /* whose system call it was: a fuzzer names its operation in r12 */
    kprintf("kernel: while serving thread %llu; its user registers:\n", cur->id);
    arch_print_user_ctx(&cur->ctx);
  }
  panic("exception in kernel mode");
}
