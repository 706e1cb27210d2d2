/* What the scheduler needs from the CPU. */
#ifndef ARCH_SCHED_H
#define ARCH_SCHED_H

#include <arch/context.h>

/* Load the thread's address space and kernel entry point, then iretq. */
__attribute__((noreturn)) void arch_enter_user(struct user_ctx *ctx, u64 root_pa);
/* Nothing to run: wait with interrupts on until one has been handled. */
void arch_idle_until_interrupt(void);
/* An unmasked interrupt is waiting while the kernel runs with interrupts
 * off: a long operation's cue to stop at its next consistent point. */
int arch_irq_pending(void);
/* Make the thread execute its system call again when it next runs (a long
 * operation stopped for an interrupt and resumes from the state it left). */
void arch_syscall_restart(struct user_ctx *ctx);
/* Stop the machine; under QEMU leave through isa-debug-exit with `code`. */
__attribute__((noreturn)) void arch_halt_machine(u8 code);

#endif
