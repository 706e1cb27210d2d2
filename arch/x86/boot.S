/* Multiboot2 entry: 32-bit protected mode to 64-bit long mode, higher half.
 *
 * GRUB leaves us in 32-bit mode with paging off, eax = multiboot2 magic and
 * ebx = physical address of the boot information. We build page tables that
 * map the first 4 GiB three times (identity, just to survive the switch; the
 * kernel image at -2 GiB; the physmap at PHYSMAP_BASE), enter long mode, jump
 * to the higher half and drop the identity map before calling C. */
#include <arch/context.h>

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(x) ((x) - KERNEL_VMA)

.section .multiboot, "a"
.align 8
mb2_header:
  .long 0xe85250d6                /* magic */
  .long 0                         /* architecture: i386 */
  .long mb2_header_end - mb2_header
  .long -(0xe85250d6 + (mb2_header_end - mb2_header))
  .align 8
  .word 6, 0                      /* module alignment: page-align modules */
  .long 8
  .align 8
  .word 0, 0                      /* end tag */
  .long 8
mb2_header_end:

.section .boot.text, "ax"
.code32
.global _start
_start:
  cli
  mov %eax, %edi                  /* kept for kmain */
  mov %ebx, %esi
  mov $boot_stack_top_low, %esp

  /* Four page directories map 0..4 GiB with 2 MiB pages. */
  mov $boot_pd, %ebx
  xor %ecx, %ecx
1:
  mov %ecx, %eax
  shl $21, %eax
  or $0x83, %eax                  /* present, writable, 2 MiB page */
  mov %eax, (%ebx, %ecx, 8)
  mov %ecx, %eax
  shr $11, %eax                   /* bits 32+ of (ecx << 21) */
  mov %eax, 4(%ebx, %ecx, 8)
  inc %ecx
  cmp $2048, %ecx
  jne 1b

  /* PDPT for the physmap: four entries, one per page directory. */
  mov $boot_pd, %eax
  or $0x3, %eax
  mov $boot_pdpt_phys, %ebx
  mov %eax, 0(%ebx)
  add $4096, %eax
  mov %eax, 8(%ebx)
  add $4096, %eax
  mov %eax, 16(%ebx)
  add $4096, %eax
  mov %eax, 24(%ebx)

  /* Identity map and kernel image map both use the first page directory. */
  mov $boot_pd, %eax
  or $0x3, %eax
  mov %eax, boot_pdpt_low
  mov %eax, boot_pdpt_high + 510 * 8

  mov $boot_pdpt_low, %eax
  or $0x3, %eax
  mov %eax, boot_pml4
  mov $boot_pdpt_phys, %eax
  or $0x3, %eax
  mov %eax, boot_pml4 + 256 * 8
  mov $boot_pdpt_high, %eax
  or $0x3, %eax
  mov %eax, boot_pml4 + 511 * 8

  mov $boot_pml4, %eax
  mov %eax, %cr3
  mov %cr4, %eax
  or $(1 << 5), %eax              /* PAE */
  mov %eax, %cr4
  mov $0xc0000080, %ecx           /* EFER: long mode, no-execute */
  rdmsr
  or $((1 << 8) | (1 << 11)), %eax
  wrmsr
  mov %cr0, %eax
  or $((1 << 31) | (1 << 16) | 1), %eax /* paging, write-protect, protected mode */
  mov %eax, %cr0

  lgdt boot_gdt_ptr
  ljmp $GDT_KCODE, $long_mode_low

.code64
long_mode_low:
  movabs $long_mode_high, %rax
  jmp *%rax

.section .boot.data, "aw"
.align 8
boot_gdt:
  .quad 0
  .quad 0x00af9a000000ffff        /* 64-bit kernel code */
  .quad 0x00cf92000000ffff        /* kernel data */
boot_gdt_end:
boot_gdt_ptr:
  .word boot_gdt_end - boot_gdt - 1
  .long boot_gdt

.section .boot.bss, "aw", @nobits
.align 4096
.global boot_pml4
boot_pml4: .skip 4096
boot_pdpt_low: .skip 4096
boot_pdpt_high: .skip 4096
boot_pdpt_phys: .skip 4096
boot_pd: .skip 4096 * 4
boot_stack_low: .skip 1024
boot_stack_top_low:

.text
.code64
long_mode_high:
  mov $GDT_KDATA, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  xor %ax, %ax
  mov %ax, %fs
  mov %ax, %gs
  lea kstack_top(%rip), %rsp
  /* Drop the identity map: user space owns the lower half from here on. */
  movq $0, boot_pml4 + KERNEL_VMA
  mov %cr3, %rax
  mov %rax, %cr3
  call kmain                      /* edi = magic, esi = info (zero-extended) */
1:
  cli
  hlt
  jmp 1b

.section .note.GNU-stack, "", @progbits
