/* x86 set-up entry points called from kernel_main. */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <arch/context.h>

#include <arch/irq.h>
#include <arch/init.h>

__attribute__((noreturn)) void arch_return_to_user(struct user_ctx *ctx);

#endif
