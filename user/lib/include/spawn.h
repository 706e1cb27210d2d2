/* Starting a program from an ELF image in a new address space, with a new
 * CNode laid out like the root task's (abi/bootinfo.h slots 1-4, 6). */
#ifndef USER_SPAWN_H
#define USER_SPAWN_H

#include <env.h>

#define SPAWN_STACK_TOP 0x00007fff00000000ull
#define SPAWN_STACK_PAGES 16
#define SPAWN_EXTRA 8 /* capabilities for slots 8-15 */

struct spawn_args {
  const void *image;
  u64 image_size;
  u32 cnode_bits;
  u32 priority;
  cptr_t untyped;   /* moved into the child's slot K_BI_SLOT_BOOT_UNTYPED (0: none) */
  cptr_t ioports;   /* minted into the child's slot K_BI_SLOT_IOPORTS (0: none) */
  u64 ioport_range; /* first | last << 16 */
  cptr_t irq_control; /* copied into K_BI_SLOT_IRQ_CONTROL (0: none) */
  cptr_t dma;       /* copied into K_BI_SLOT_DMA (0: none) */
  cptr_t extra[SPAWN_EXTRA]; /* into K_BI_SLOT_FIRST_FREE_FIXED + i (0: none); an
                     * untyped moves there, anything else is copied */
  u64 arg;          /* the child's rdi */
};

struct child {
  cptr_t cnode, vspace, tcb; /* in the creator's CNode */
};

/* Builds the child from a->untyped (e's memory when 0) and starts it. Returns an abi error, or
 * K_ERR_RANGE with *elf_err set when the image is not a loadable ELF. */
long spawn(struct env *e, const struct spawn_args *a, struct child *out, int *elf_err);

#endif
