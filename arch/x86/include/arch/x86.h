/* x86 set-up entry points called from kernel_main. */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <arch/context.h>

void arch_cpu_init(void);
void arch_timer_init(unsigned hz);
void arch_irq_eoi(unsigned irq);
void arch_irq_mask(unsigned irq);
void arch_irq_unmask(unsigned irq);
u64 arch_tsc_per_us(void);
__attribute__((noreturn)) void arch_return_to_user(struct user_ctx *ctx);

#endif
