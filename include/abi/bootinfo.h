/* What the kernel tells the root task at boot. The kernel maps one page
 * holding this structure into the root task and passes its address in rdi. */
#ifndef ABI_BOOTINFO_H
#define ABI_BOOTINFO_H

#include "types.h"

#define BOOTINFO_MAGIC 0x43415053424f4f54ull /* "TOOBSPAC" */
#define BOOTINFO_MAX_UNTYPED 64
#define BOOTINFO_MAX_MODULES 16 /* init, drivers and a test's eight clients */
#define BOOTINFO_NAME_LEN 32

/* Fixed slots in the root task's CNode. */
enum bootinfo_slot {
  BI_SLOT_NULL = 0,
  BI_SLOT_CNODE = 1,       /* the root CNode itself */
  BI_SLOT_VSPACE = 2,      /* the root task's address space */
  BI_SLOT_TCB = 3,         /* the root task's thread */
  BI_SLOT_IOPORTS = 4,     /* every I/O port */
  BI_SLOT_IRQ_CONTROL = 5, /* every IRQ line */
  BI_SLOT_BOOT_UNTYPED = 6,/* the region the root task's own objects came from */
  BI_SLOT_DMA = 7,         /* the right to pin frames for DMA */
  BI_SLOT_FIRST_FREE_FIXED = 8,
};

struct bootinfo_untyped {
  u64 paddr;
  u64 size;
  u32 is_device;
  u32 label;
};

struct bootinfo_module {
  char name[BOOTINFO_NAME_LEN];
  u64 vaddr;       /* where the module's bytes are mapped, read-only */
  u64 size;        /* bytes of the module (the mapping is page-rounded) */
  u64 first_frame; /* slot of its first frame capability */
  u64 frame_count;
};

struct bootinfo {
  u64 magic;
  u64 cnode_bits;          /* root CNode has 1 << cnode_bits slots */
  u64 untyped_first;       /* slots [untyped_first, +untyped_count) */
  u64 untyped_count;
  u64 first_free_slot;     /* every slot from here on is empty */
  u64 free_vaddr;          /* first page-aligned address the root task may use */
  u64 boot_ns;             /* kernel-measured time from entry to root task */
  u64 tsc_per_us;
  u64 module_count;
  struct bootinfo_untyped untyped[BOOTINFO_MAX_UNTYPED];
  struct bootinfo_module module[BOOTINFO_MAX_MODULES];
};

/* The kernel hands it over in one page. */
_Static_assert(sizeof(struct bootinfo) <= 4096, "bootinfo fits its page");

#define PRINCIPAL_KERNEL_BOOT 1u /* label of every region the kernel hands out */

#endif
