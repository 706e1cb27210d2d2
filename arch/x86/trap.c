/* Where every entry lands: system calls, user faults, interrupts. */
#include <arch/cpu.h>
#include <arch/x86.h>
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

__attribute__((noreturn)) void trap_user(struct user_ctx *ctx) {
  struct tcb *cur = this_cpu()->cur;
  if (ctx->vector == SYSCALL_VECTOR)
    syscall_dispatch(cur, ctx);
  else if (ctx->vector < IRQ_BASE)
    tcb_fault(cur, ctx, read_cr2());
  else if (ctx->vector < IRQ_BASE + 16)
    handle_irq((unsigned)(ctx->vector - IRQ_BASE));
  sched_return_to_user();
}

/* Interrupts arrive here only while idle; an exception here is a kernel bug. */
void trap_kernel(struct user_ctx *frame) {
  if (frame->vector >= IRQ_BASE && frame->vector < IRQ_BASE + 16) {
    handle_irq((unsigned)(frame->vector - IRQ_BASE));
    return;
  }
  kprintf("\nkernel %s (vector %llu) error 0x%llx cr2 0x%llx\n", exception_name(frame->vector),
          frame->vector, frame->err, read_cr2());
  print_user_ctx(frame);
  struct tcb *cur = this_cpu()->cur;
  if (cur) { /* whose system call it was: a fuzzer names its operation in r12 */
    kprintf("kernel: while serving thread %llu; its user registers:\n", cur->id);
    print_user_ctx(&cur->ctx);
  }
  panic("exception in kernel mode");
}
