/* Kernel entry and exit: IDT stubs, the `syscall` entry, return to user.
 *
 * From user mode every entry leaves a struct user_ctx (arch/context.h) in the
 * current TCB, switches to the one kernel stack and calls trap_user(), which
 * never returns: it ends in arch_return_to_user(). Interrupts taken in kernel
 * mode (only the idle loop runs with interrupts on) and kernel exceptions stay
 * on the kernel stack and go to trap_kernel(), which returns. */
#include <arch/context.h>

.macro PUSH_GPRS
  push %rax
  push %rbx
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %rbp
  push %r8
  push %r9
  push %r10
  push %r11
  push %r12
  push %r13
  push %r14
  push %r15
.endm

.macro POP_GPRS
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rbp
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  pop %rbx
  pop %rax
.endm

.text
trap_common:
  PUSH_GPRS
  cld
  testb $3, CTX_CS(%rsp)
  jz 1f
  mov %rsp, %rdi
  lea kstack_top(%rip), %rsp
  call trap_user
  ud2
1:
  mov %rsp, %rdi
  call trap_kernel
  POP_GPRS
  add $16, %rsp
  iretq

/* Vectors with a CPU-pushed error code: 8, 10-14, 17, 21, 29, 30. */
.macro VECTOR n
  .align 16
  .if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
  .else
  push $0
  .endif
  push $\n
  jmp trap_common
.endm

.global trap_vectors
.align 16
trap_vectors_start:
.altmacro
.set i, 0
.rept 256
  VECTOR %i
  .set i, i + 1
.endr

/* Table of stub addresses for the IDT (cpu.c). */
.section .rodata
.global trap_vector_table
.align 8
trap_vector_table:
.set i, 0
.rept 256
  .quad trap_vectors_start + i * 16
  .set i, i + 1
.endr

.text
/* syscall: rcx = user rip, r11 = user rflags, rsp still the user's. FMASK
 * has cleared IF, so nothing can interrupt us before we own a stack. */
.global syscall_entry
.align 16
syscall_entry:
  mov %rsp, cpu0+CPU_USER_RSP(%rip)
  mov cpu0+CPU_CTX_TOP(%rip), %rsp
  push $USER_SS
  push cpu0+CPU_USER_RSP(%rip)
  push %r11
  push $USER_CS
  push %rcx
  push $0
  push $SYSCALL_VECTOR
  PUSH_GPRS
  mov %rsp, %rdi
  lea kstack_top(%rip), %rsp
  call trap_user
  ud2

/* void arch_return_to_user(struct user_ctx *ctx) */
.global arch_return_to_user
arch_return_to_user:
  mov %rdi, %rsp
  POP_GPRS
  add $16, %rsp
  iretq

/* The one kernel stack: the kernel never blocks on it, so one per CPU is enough. */
.bss
.align 16
.global kstack, kstack_top
kstack:
  .skip KSTACK_SIZE
kstack_top:

.section .note.GNU-stack, "", @progbits
