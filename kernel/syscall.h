#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include "kernel/tcb.h"

/* Decode and run the system call in ctx (number in rax); the error code goes
 * back in rax, a second result in rdx. */
void syscall_dispatch(struct tcb *cur, struct user_ctx *ctx);

#endif
