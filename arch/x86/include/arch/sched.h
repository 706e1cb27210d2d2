/* What the scheduler needs from the CPU. */
#ifndef ARCH_SCHED_H
#define ARCH_SCHED_H

#include <arch/context.h>

/* Load the thread's address space and kernel entry point, then iretq. */
__attribute__((noreturn)) void arch_enter_user(struct user_ctx *ctx, u64 root_pa);
/* Nothing to run: wait with interrupts on until one has been handled. */
void arch_idle_until_interrupt(void);
/* Stop the machine; under QEMU leave through isa-debug-exit with `code`. */
__attribute__((noreturn)) void arch_halt_machine(u8 code);

#endif
