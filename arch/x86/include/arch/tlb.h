/* TLB and address-space switching, as generic code needs them. */
#ifndef ARCH_TLB_H
#define ARCH_TLB_H

#include <lib/types.h>

#ifdef HOST_TEST
void arch_tlb_flush_page(u64 va);
void arch_tlb_flush_all(void);
u64 arch_current_root(void);
void arch_load_kernel_root(void);
#else
#include <arch/cpu.h>
static inline void arch_tlb_flush_page(u64 va) { invlpg(va); }
static inline void arch_tlb_flush_all(void) { write_cr3(read_cr3()); }
/* Physical address of the page-table root loaded on this CPU. */
static inline u64 arch_current_root(void) { return read_cr3() & ~0xfffull; }
/* Leave a dying address space: the kernel's own tables map only the kernel. */
void arch_load_kernel_root(void);
#endif

#endif
