/* The saved user context: one layout shared by C and the entry stubs.
 *
 * The TSS's rsp0 points just past the current thread's context, so an
 * interrupt from user mode makes the CPU push rip..ss straight into the TCB;
 * the stub then pushes the vector, an error code (a dummy where the CPU gives
 * none) and the general registers below it. `syscall` builds the same frame
 * by hand. Every return to user mode is an iretq from this frame (sysretq
 * shut guests down under a nested KVM). */
#ifndef ARCH_CONTEXT_H
#define ARCH_CONTEXT_H

#define CTX_R15 0
#define CTX_RAX 112
#define CTX_VECTOR 120
#define CTX_ERR 128
#define CTX_RIP 136
#define CTX_CS 144
#define CTX_RFLAGS 152
#define CTX_RSP 160
#define CTX_SS 168
#define CTX_SIZE 176

#define SYSCALL_VECTOR 256
#define KSTACK_SIZE 16384

/* Offsets in struct arch_cpu that the entry stubs use. */
#define CPU_USER_RSP 0
#define CPU_CTX_TOP 8

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_UDATA 0x20
#define GDT_UCODE 0x28
#define GDT_TSS 0x30
#define USER_CS (GDT_UCODE | 3)
#define USER_SS (GDT_UDATA | 3)

#ifndef __ASSEMBLER__
#include <lib/types.h>

struct user_ctx {
  u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  u64 vector, err;
  u64 rip, cs, rflags, rsp, ss;
};

_Static_assert(__builtin_offsetof(struct user_ctx, rax) == CTX_RAX, "ctx rax");
_Static_assert(__builtin_offsetof(struct user_ctx, vector) == CTX_VECTOR, "ctx vector");
_Static_assert(__builtin_offsetof(struct user_ctx, err) == CTX_ERR, "ctx err");
_Static_assert(__builtin_offsetof(struct user_ctx, rip) == CTX_RIP, "ctx rip");
_Static_assert(__builtin_offsetof(struct user_ctx, cs) == CTX_CS, "ctx cs");
_Static_assert(__builtin_offsetof(struct user_ctx, ss) == CTX_SS, "ctx ss");
_Static_assert(sizeof(struct user_ctx) == CTX_SIZE, "ctx size");
_Static_assert(CTX_SIZE % 16 == 0, "the CPU aligns rsp0 to 16 bytes");

/* The part of the per-CPU structure the entry stubs touch. */
struct arch_cpu {
  u64 user_rsp; /* user rsp across the first instructions of syscall_entry */
  u64 ctx_top;  /* just past the current thread's user_ctx; also TSS rsp0 */
};
_Static_assert(__builtin_offsetof(struct arch_cpu, user_rsp) == CPU_USER_RSP, "cpu");
_Static_assert(__builtin_offsetof(struct arch_cpu, ctx_top) == CPU_CTX_TOP, "cpu");

#define RFLAGS_IF 0x200ull
#define RFLAGS_USER_DEFAULT (RFLAGS_IF | 0x2ull)

/* A fresh user context: user code and stack segments, interrupts on, the
 * given entry point, stack and first argument, every other register 0. */
static inline void arch_user_ctx_init(struct user_ctx *ctx, u64 ip, u64 sp, u64 arg) {
  *ctx = (struct user_ctx){.rip = ip, .rsp = sp, .rdi = arg, .cs = USER_CS, .ss = USER_SS,
                           .rflags = RFLAGS_USER_DEFAULT};
}

#endif

#endif
