/* Slot and memory allocation for a principal (see env.h). */
#include <env.h>
#include <abi/bootinfo.h>

cptr_t env_slot(struct env *e) { return e->next_slot < e->end_slot ? e->next_slot++ : 0; }

long env_retype(struct env *e, u32 type, u32 size_bits, cptr_t *out) {
  return env_retype_from(e, e->untyped, type, size_bits, out);
}

long env_retype_from(struct env *e, cptr_t ut, u32 type, u32 size_bits, cptr_t *out) {
  cptr_t s = env_slot(e);
  if (!s)
    return K_ERR_RANGE;
  long err = sys_retype(ut, type, size_bits, e->cnode, s, 1, 0);
  if (err) {
    e->next_slot--;
    return err;
  }
  *out = s;
  return K_ERR_OK;
}

static u32 missing_table(long err) {
  switch (err) {
  case K_ERR_MISSING_PDPT: return K_OBJ_PDPT;
  case K_ERR_MISSING_PD: return K_OBJ_PD;
  case K_ERR_MISSING_PT: return K_OBJ_PT;
  default: return 0;
  }
}

/* The kernel names the missing level; make that table and try again. */
long env_map(struct env *e, cptr_t vspace, cptr_t frame, u64 vaddr, u32 attr) {
  for (;;) {
    long err = sys_frame_map(frame, vspace, vaddr, attr);
    u32 table = missing_table(err);
    if (!table)
      return err;
    cptr_t t;
    err = env_retype(e, table, 0, &t);
    if (!err)
      err = sys_page_table_map(t, vspace, vaddr);
    if (err)
      return err;
  }
}

long env_alloc_pages(struct env *e, u64 pages, void **out) {
  u64 va = e->next_vaddr;
  for (u64 i = 0; i < pages; i++) {
    cptr_t f;
    long err = env_retype(e, K_OBJ_FRAME_4K, 0, &f);
    if (!err)
      err = env_map(e, e->vspace, f, va + i * K_PAGE_SIZE, K_MAP_WRITE);
    if (err)
      return err;
  }
  e->next_vaddr += pages * K_PAGE_SIZE;
  *out = (void *)va;
  return K_ERR_OK;
}

static long thread_at(struct env *e, void (*fn)(void), u32 below, cptr_t ipc_frame, cptr_t *tcb) {
  void *stack;
  struct k_tcb_info self;
  long err = env_alloc_pages(e, 2, &stack);
  if (!err)
    err = env_retype(e, K_OBJ_TCB, 0, tcb);
  if (!err)
    err = sys_tcb_info(K_BI_SLOT_TCB, &self);
  if (!err && self.priority < below)
    err = K_ERR_RANGE;
  if (!err)
    err = sys_tcb_configure(*tcb, e->cnode, e->vspace, self.priority - below);
  if (!err) /* as if called: rsp + 8 is 16-byte aligned at entry */
    err = sys_tcb_write_regs(*tcb, (u64)fn, (u64)stack + 2 * K_PAGE_SIZE - 8, 0);
  if (!err && ipc_frame)
    err = sys_tcb_set_ipc_buffer(*tcb, ipc_frame);
  if (!err)
    err = sys_tcb_resume(*tcb);
  return err;
}

long env_thread(struct env *e, void (*fn)(void), cptr_t *tcb) { return thread_at(e, fn, 0, 0, tcb); }

long env_thread_below(struct env *e, void (*fn)(void), cptr_t *tcb) { return thread_at(e, fn, 1, 0, tcb); }

long env_thread_ipc(struct env *e, void (*fn)(void), cptr_t *tcb, struct k_ipc_buffer **buf) {
  u64 va;
  cptr_t frame;
  long err = env_page(e, &va, &frame);
  *buf = (struct k_ipc_buffer *)va;
  return err ? err : thread_at(e, fn, 0, frame, tcb);
}

static volatile cptr_t when_blocked_slot;

static void revoke_when_blocked(void) {
  sys_cnode_revoke(K_BI_SLOT_CNODE, when_blocked_slot);
  for (;;)
    sys_thread_exit();
}

static void signal_when_blocked(void) {
  sys_signal(when_blocked_slot);
  for (;;)
    sys_thread_exit();
}

long env_when_blocked(struct env *e, int revoke, cptr_t slot, cptr_t *tcb) {
  when_blocked_slot = slot;
  return env_thread_below(e, revoke ? revoke_when_blocked : signal_when_blocked, tcb);
}

long env_prepare_tables(struct env *e, cptr_t vspace, u64 va, u64 size) {
  cptr_t f;
  long err = env_retype(e, K_OBJ_FRAME_4K, 0, &f);
  for (u64 p = va & ~(K_LARGE_PAGE_SIZE - 1); !err && p < va + size; p += K_LARGE_PAGE_SIZE) {
    err = env_map(e, vspace, f, p, 0);
    if (!err)
      err = sys_frame_unmap(f);
  }
  return err;
}

long env_page(struct env *e, u64 *va, cptr_t *frame) {
  *va = e->next_vaddr;
  long err = env_retype(e, K_OBJ_FRAME_4K, 0, frame);
  if (!err)
    err = env_map(e, e->vspace, *frame, *va, K_MAP_WRITE);
  if (!err)
    e->next_vaddr += K_PAGE_SIZE;
  return err;
}

long env_pinned_page(struct env *e, cptr_t dma, u64 *va, u64 *phys) {
  cptr_t f;
  long err = env_page(e, va, &f);
  if (err)
    return err;
  struct sysret pin = sys_dma_pin(dma, f);
  *phys = pin.val;
  return pin.err;
}

long env_ipc_buffer(struct env *e, cptr_t tcb, struct k_ipc_buffer **buf) {
  u64 va;
  cptr_t f;
  long err = env_page(e, &va, &f);
  if (!err)
    err = sys_tcb_set_ipc_buffer(tcb, f);
  *buf = (struct k_ipc_buffer *)va;
  return err;
}

struct env env_of_program(cptr_t first_free) {
  return (struct env){.cnode = K_BI_SLOT_CNODE, .vspace = K_BI_SLOT_VSPACE, .untyped = K_BI_SLOT_BOOT_UNTYPED,
                      .next_slot = first_free, .end_slot = 1ull << SPAWN_CNODE_BITS, .next_vaddr = ENV_FREE_VA};
}
