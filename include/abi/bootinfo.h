/* What the kernel tells the root task at boot. The kernel maps one page
 * holding this structure into the root task and passes its address in rdi. */
#ifndef ABI_BOOTINFO_H
#define ABI_BOOTINFO_H

#include "types.h"

#define K_BOOTINFO_MAGIC 0x43415053424f4f54ull /* "TOOBSPAC" */
#define K_BOOTINFO_MAX_UNTYPED 64
#define K_BOOTINFO_MAX_MODULES 16 /* init, drivers and a test's eight clients */
#define K_BOOTINFO_NAME_LEN 32

/* Fixed slots in the root task's CNode. */
enum k_bootinfo_slot {
  K_BI_SLOT_NULL = 0,
  K_BI_SLOT_CNODE = 1,       /* the root CNode itself */
  K_BI_SLOT_VSPACE = 2,      /* the root task's address space */
  K_BI_SLOT_TCB = 3,         /* the root task's thread */
  K_BI_SLOT_IOPORTS = 4,     /* every I/O port */
  K_BI_SLOT_IRQ_CONTROL = 5, /* every IRQ line */
  K_BI_SLOT_BOOT_UNTYPED = 6,/* the region the root task's own objects came from */
  K_BI_SLOT_DMA = 7,         /* the right to pin frames for DMA */
  K_BI_SLOT_FIRST_FREE_FIXED = 8,
};

struct k_bootinfo_untyped {
  k_u64 paddr;
  k_u64 size;
  k_u32 is_device;
  k_u32 label;
};

struct k_bootinfo_module {
  char name[K_BOOTINFO_NAME_LEN];
  k_u64 vaddr;       /* where the module's bytes are mapped, read-only */
  k_u64 size;        /* bytes of the module (the mapping is page-rounded) */
  k_u64 first_frame; /* slot of its first frame capability */
  k_u64 frame_count;
};

struct k_bootinfo {
  k_u64 magic;
  k_u64 cnode_bits;          /* root CNode has 1 << cnode_bits slots */
  k_u64 untyped_first;       /* slots [untyped_first, +untyped_count) */
  k_u64 untyped_count;
  k_u64 first_free_slot;     /* every slot from here on is empty */
  k_u64 free_vaddr;          /* first page-aligned address the root task may use */
  k_u64 boot_ns;             /* kernel-measured time from entry to root task */
  k_u64 tsc_per_us;
  k_u64 module_count;
  struct k_bootinfo_untyped untyped[K_BOOTINFO_MAX_UNTYPED];
  struct k_bootinfo_module module[K_BOOTINFO_MAX_MODULES];
};

/* The kernel hands it over in one page. */
_Static_assert(sizeof(struct k_bootinfo) <= 4096, "bootinfo fits its page");

#define K_PRINCIPAL_KERNEL_BOOT 1u /* label of every region the kernel hands out */

#endif
