/* Page-table entry bits and the kernel's view of physical memory.
 *
 * The kernel reaches all physical memory below 4 GiB through the physmap,
 * a linear mapping at PHYSMAP_BASE made at boot with 2 MiB pages. Objects are
 * named by their physmap (kernel virtual) address. */
#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <lib/types.h>

#define KERNEL_VMA 0xffffffff80000000ull
#define PHYSMAP_BASE 0xffff800000000000ull
#define PHYSMAP_SIZE 0x100000000ull /* 4 GiB */

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define PT_ENTRIES 512
#define PML4_USER_ENTRIES 256

#ifdef HOST_TEST
extern u8 *host_phys_base;
static inline void *pa_to_kva(u64 pa) { return host_phys_base + pa; }
static inline u64 kva_to_pa(const void *va) { return (u64)((const u8 *)va - host_phys_base); }
#else
static inline void *pa_to_kva(u64 pa) { return (void *)(pa + PHYSMAP_BASE); }
static inline u64 kva_to_pa(const void *va) { return (u64)va - PHYSMAP_BASE; }
#endif

/* The kernel's own PML4: every VSpace shares its upper half. */
u64 *arch_kernel_root(void);

/* Index of `va` in the table of the given level (4 = PML4 .. 1 = PT). */
static inline unsigned pt_index(u64 va, int level) {
  return (unsigned)(va >> (12 + 9 * (level - 1))) & 0x1ff;
}

#endif
