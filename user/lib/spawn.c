/* spawn(): a new principal's address space, CNode and thread (see spawn.h). */
#include <spawn.h>
#include <abi/bootinfo.h>
#include <lib/elf_load.h>
#include <lib/string.h>

/* A page of the creator's address space where child pages are filled. */
static long scratch_page(struct env *e, u64 *va) {
  static u64 scratch;
  if (!scratch) {
    scratch = e->next_vaddr;
    e->next_vaddr += K_PAGE_SIZE;
  }
  *va = scratch;
  return K_ERR_OK;
}

static long child_page(struct env *e, cptr_t vs, u64 va, u32 attr, const void *image,
                       const struct elf_segment *seg) {
  cptr_t f;
  u64 scratch;
  long err = env_retype(e, K_OBJ_FRAME_4K, 0, &f);
  if (!err)
    err = scratch_page(e, &scratch);
  if (!err && seg) {
    err = env_map(e, e->vspace, f, scratch, K_MAP_WRITE);
    if (!err) {
      elf_page_fill(image, seg, va, (u8 *)scratch);
      err = sys_frame_unmap(f);
    }
  }
  return err ? err : env_map(e, vs, f, va, attr);
}

static long load(struct env *e, cptr_t vs, const struct spawn_args *a, u64 *entry, int *elf_err) {
  struct elf_image img;
  *elf_err = elf_parse(a->image, a->image_size, &img);
  if (*elf_err)
    return K_ERR_RANGE;
  for (u32 i = 0; i < img.nsegments; i++) {
    const struct elf_segment *s = &img.segments[i];
    u32 attr = (s->flags & ELF_SEG_W ? K_MAP_WRITE : 0) | (s->flags & ELF_SEG_X ? K_MAP_EXEC : 0);
    u64 first, count;
    elf_segment_pages(s, &first, &count);
    for (u64 p = 0; p < count; p++) {
      long err = child_page(e, vs, first + p * K_PAGE_SIZE, attr, a->image, s);
      if (err)
        return err;
    }
  }
  *entry = img.entry;
  return K_ERR_OK;
}

/* The child's CNode gets the same fixed slots as the root task's. */
static long fill_cnode(struct env *e, const struct spawn_args *a, const struct child *c) {
  long err = sys_cnode_copy(c->cnode, K_BI_SLOT_CNODE, e->cnode, c->cnode, K_RIGHTS_ALL);
  if (!err)
    err = sys_cnode_copy(c->cnode, K_BI_SLOT_VSPACE, e->cnode, c->vspace, K_RIGHTS_ALL);
  if (!err)
    err = sys_cnode_copy(c->cnode, K_BI_SLOT_TCB, e->cnode, c->tcb, K_RIGHTS_ALL);
  if (!err && a->ioports)
    err = sys_cnode_mint(c->cnode, K_BI_SLOT_IOPORTS, e->cnode, a->ioports, K_RIGHTS_ALL, a->ioport_range);
  if (!err && a->irq_control)
    err = sys_cnode_copy(c->cnode, K_BI_SLOT_IRQ_CONTROL, e->cnode, a->irq_control, K_RIGHTS_ALL);
  if (!err && a->dma)
    err = sys_cnode_copy(c->cnode, K_BI_SLOT_DMA, e->cnode, a->dma, K_RIGHTS_ALL);
  for (int i = 0; !err && i < SPAWN_EXTRA; i++) {
    struct k_cap_info ci;
    if (!a->extra[i])
      continue;
    err = sys_cap_identify(e->cnode, a->extra[i], &ci);
    if (!err && ci.type == K_OBJ_UNTYPED)
      err = sys_cnode_move(c->cnode, K_BI_SLOT_FIRST_FREE_FIXED + i, e->cnode, a->extra[i]);
    else if (!err)
      err = sys_cnode_copy(c->cnode, K_BI_SLOT_FIRST_FREE_FIXED + i, e->cnode, a->extra[i], K_RIGHTS_ALL);
  }
  if (!err && a->untyped)
    err = sys_cnode_move(c->cnode, K_BI_SLOT_BOOT_UNTYPED, e->cnode, a->untyped);
  return err;
}

long spawn(struct env *e, const struct spawn_args *a, struct child *c, int *elf_err) {
  u64 entry = 0;
  *elf_err = 0;
  /* The child is made of its own memory: its CNode, VSpace, tables, TCB
   * and pages are charged to it, and go with it. */
  cptr_t creator_memory = e->untyped;
  if (a->untyped)
    e->untyped = a->untyped;
  long err = env_retype(e, K_OBJ_CNODE, a->cnode_bits, &c->cnode);
  if (!err)
    err = env_retype(e, K_OBJ_VSPACE, 0, &c->vspace);
  if (!err)
    err = env_retype(e, K_OBJ_TCB, 0, &c->tcb);
  if (!err)
    err = load(e, c->vspace, a, &entry, elf_err);
  for (u64 p = 0; !err && p < SPAWN_STACK_PAGES; p++)
    err = child_page(e, c->vspace, SPAWN_STACK_TOP - (p + 1) * K_PAGE_SIZE, K_MAP_WRITE, 0, 0);
  e->untyped = creator_memory;
  if (!err)
    err = fill_cnode(e, a, c);
  if (!err)
    err = sys_tcb_configure(c->tcb, c->cnode, c->vspace, a->priority);
  if (!err)
    err = sys_tcb_write_regs(c->tcb, entry, SPAWN_STACK_TOP, a->arg);
  if (!err)
    err = sys_tcb_resume(c->tcb);
  return err;
}
