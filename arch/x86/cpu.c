/* Descriptor tables, syscall MSRs, the kernel stack, entering user mode. */
#include <arch/cpu.h>
#include <arch/mmu.h>
#include <arch/sched.h>
#include <arch/tlb.h>
#include <arch/x86.h>
#include "kernel/cpu.h"

struct cpu cpu0;

struct tss {
  u32 reserved0;
  u64 rsp0, rsp1, rsp2;
  u64 reserved1;
  u64 ist[7];
  u64 reserved2;
  u16 reserved3;
  u16 iomap_base;
} __attribute__((packed));

/* NMI, double fault and machine check can arrive on any stack (even the
 * user's, in the first instructions of syscall_entry): they get their own. */
static u8 ist_stack[4096] __attribute__((aligned(16)));
static struct tss tss = {.iomap_base = sizeof(struct tss), .ist = {(u64)(ist_stack + sizeof(ist_stack))}};

static u64 gdt[8] = {
    0,
    0x00af9a000000ffffull, /* 0x08 kernel code */
    0x00cf92000000ffffull, /* 0x10 kernel data */
    0,                     /* 0x18 unused (32-bit user code) */
    0x00cff2000000ffffull, /* 0x20 user data */
    0x00affa000000ffffull, /* 0x28 user code */
    0, 0                   /* 0x30 TSS, two slots */
};

struct idt_entry {
  u16 off0, sel;
  u8 ist, attr;
  u16 off1;
  u32 off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256];
extern const u64 trap_vector_table[256];
extern void syscall_entry(void);
extern u64 boot_pml4[];

struct desc_ptr {
  u16 limit;
  u64 base;
} __attribute__((packed));

static void gdt_init(void) {
  u64 base = (u64)&tss, limit = sizeof(tss) - 1;
  gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
  gdt[7] = base >> 32;
  struct desc_ptr p = {sizeof(gdt) - 1, (u64)gdt};
  __asm__ volatile("lgdt %0" ::"m"(p));
  __asm__ volatile("pushq %0; lea 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::"i"(GDT_KCODE)
                   : "rax", "memory");
  __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss" ::"r"(GDT_KDATA));
  __asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
}

static void idt_init(void) {
  for (int v = 0; v < 256; v++) {
    u64 a = trap_vector_table[v];
    idt[v] = (struct idt_entry){.off0 = (u16)a, .sel = GDT_KCODE, .attr = 0x8e,
                                .off1 = (u16)(a >> 16), .off2 = (u32)(a >> 32)};
  }
  idt[3].attr = 0xee; /* int3 from user mode is a fault report, not a #GP */
  idt[2].ist = idt[8].ist = idt[18].ist = 1;
  struct desc_ptr p = {sizeof(idt) - 1, (u64)idt};
  __asm__ volatile("lidt %0" ::"m"(p));
}

static void syscall_init(void) {
  wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE | EFER_NXE);
  wrmsr(MSR_STAR, ((u64)GDT_KCODE << 32) | ((u64)(GDT_UDATA - 8) << 48));
  wrmsr(MSR_LSTAR, (u64)syscall_entry);
  wrmsr(MSR_FMASK, 0x47700); /* IF, DF, TF, AC, NT, IOPL cleared on entry */
}

/* User threads get no x87/SSE state to save: x87 instructions raise #NM
 * and SSE ones #UD, so no thread can see another's registers. */
static void fpu_off(void) {
  u64 cr0;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  cr0 |= (1u << 2) | (1u << 1); /* EM, MP */
  __asm__ volatile("mov %0, %%cr0" ::"r"(cr0));
  write_cr4(read_cr4() & ~((1ull << 9) | (1ull << 10))); /* OSFXSR, OSXMMEXCPT */
}

void arch_cpu_init(void) {
  fpu_off();
  gdt_init();
  idt_init();
  syscall_init();
}

u64 *arch_kernel_root(void) { return (u64 *)((u64)boot_pml4 + KERNEL_VMA); }

void arch_load_kernel_root(void) { write_cr3((u64)boot_pml4); }

void arch_enter_user(struct user_ctx *ctx, u64 root_pa) {
  u64 top = (u64)(ctx + 1);
  cpu0.arch.ctx_top = top;
  tss.rsp0 = top;
  if (arch_current_root() != root_pa)
    write_cr3(root_pa);
  arch_return_to_user(ctx);
}

void arch_idle_until_interrupt(void) {
  if (arch_current_root() != (u64)boot_pml4)
    arch_load_kernel_root();
  u64 t0 = rdtsc();
  sti_hlt();
  cpu0.idle_tsc += rdtsc() - t0;
}

void arch_halt_machine(u8 code) {
  outb(0xf4, code); /* isa-debug-exit: QEMU exits with (code << 1) | 1 */
  hlt_forever();
}

/* `syscall` is two bytes (0f 05), and the saved rip is the one after it. */
void arch_syscall_restart(struct user_ctx *ctx) { ctx->rip -= 2; }
