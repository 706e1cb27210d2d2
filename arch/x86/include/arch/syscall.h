/* The x86-64 system-call convention, for generic code: the number in rax,
 * arguments 0-5 in rdi, rsi, rdx, r10, r8, r9; the error back in rax and a
 * second result in rdx. `syscall` is two bytes: a restart steps back over it. */
#ifndef ARCH_SYSCALL_H
#define ARCH_SYSCALL_H

#include <arch/context.h>

static inline u64 arch_syscall_number(const struct user_ctx *ctx) { return ctx->rax; }

static inline u64 arch_syscall_arg(const struct user_ctx *ctx, unsigned i) {
  switch (i) {
  case 0: return ctx->rdi;
  case 1: return ctx->rsi;
  case 2: return ctx->rdx;
  case 3: return ctx->r10;
  case 4: return ctx->r8;
  default: return ctx->r9;
  }
}

static inline void arch_syscall_set_error(struct user_ctx *ctx, u64 err) { ctx->rax = err; }
static inline void arch_syscall_set_result(struct user_ctx *ctx, u64 v) { ctx->rdx = v; }

#endif
