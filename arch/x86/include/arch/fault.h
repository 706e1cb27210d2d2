/* User faults as the architecture reports them: a name for a vector, and
 * the saved registers printed for the console. */
#ifndef ARCH_FAULT_H
#define ARCH_FAULT_H

#include <arch/context.h>

const char *arch_exception_name(u64 vector);
void arch_print_user_ctx(const struct user_ctx *ctx);

#endif
