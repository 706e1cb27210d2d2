/* Program entry: the creator passes one argument in rdi (for the root task,
 * the bootinfo address); main's return value ends the thread. */
.text
.global _start
_start:
  xor %rbp, %rbp
  and $-16, %rsp
  call main
  mov %rax, %rdi
  call exit
1:
  jmp 1b

.section .note.GNU-stack, "", @progbits
