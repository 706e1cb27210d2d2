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

/* IPC: the first message words travel in rdx, r10, r8, r9 (K_IPC_REG_WORDS of
 * them); a received message's badge arrives in rdi and its info word in rsi. */
static inline void arch_copy_msg_regs(struct user_ctx *to, const struct user_ctx *from) {
  to->rdx = from->rdx;
  to->r10 = from->r10;
  to->r8 = from->r8;
  to->r9 = from->r9;
}
static inline void arch_set_msg_regs(struct user_ctx *ctx, u64 w0, u64 w1, u64 w2, u64 w3) {
  ctx->rdx = w0;
  ctx->r10 = w1;
  ctx->r8 = w2;
  ctx->r9 = w3;
}
static inline void arch_set_badge(struct user_ctx *ctx, u64 badge) { ctx->rdi = badge; }
static inline void arch_set_msg_info(struct user_ctx *ctx, u64 info) { ctx->rsi = info; }

#endif
