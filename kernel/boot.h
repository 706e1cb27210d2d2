/* What the boot loader told us, copied out before its memory is reused. */
#ifndef KERNEL_BOOT_H
#define KERNEL_BOOT_H

#include <lib/types.h>
#include <abi/bootinfo.h>

#define BOOT_MAX_RANGES 64

struct boot_range {
  u64 start, end;
};

struct boot_module {
  u64 start, end;
  char name[K_BOOTINFO_NAME_LEN];
};

struct boot_mem {
  struct boot_range ram[BOOT_MAX_RANGES]; /* usable RAM */
  u32 nram;
  struct boot_module mod[K_BOOTINFO_MAX_MODULES];
  u32 nmod;
};

/* Fills `out` from the multiboot2 information; 0 on success. */
int arch_boot_parse(u32 magic, u64 info_pa, struct boot_mem *out);

/* Builds the root task from module 0, hands it every capability and runs it. */
__attribute__((noreturn)) void boot_root_task(struct boot_mem *bm);

#endif
