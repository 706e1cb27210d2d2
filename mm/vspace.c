/* Page-table walks, map and unmap (see vspace.h for the invariants). */
#include "mm/vspace.h"
#include <arch/mmu.h>
#include <arch/tlb.h>
#include <lib/string.h>

int vs_level(u8 type) {
  switch (type) {
  case K_OBJ_VSPACE: return 4;
  case K_OBJ_PDPT: return 3;
  case K_OBJ_PD: return 2;
  case K_OBJ_PT: return 1;
  default: return 0;
  }
}

/* Level of the table entry that maps a capability of this type. */
static int entry_level(u8 type) {
  switch (type) {
  case K_OBJ_FRAME_4K: return 1;
  case K_OBJ_FRAME_2M: return 2;
  default: return vs_level(type) + 1;
  }
}

static int missing_level_error(int level) {
  return level == 3 ? K_ERR_MISSING_PDPT : level == 2 ? K_ERR_MISSING_PD : K_ERR_MISSING_PT;
}

static struct vs_table *entry_table(u64 e) { return pa_to_kva(e & PTE_ADDR); }

/* The table at `level` that covers `va`, descending from the root. The
 * VSpace capability is checked here, where it is used: a receiver's or a
 * TCB's VSpace slot may have been emptied since the caller last looked. */
static int walk(const struct cte *vspace, u64 va, int level, struct vs_table **out) {
  if (vspace->cap.type != K_OBJ_VSPACE)
    return K_ERR_WRONG_TYPE;
  struct vs_table *t = (struct vs_table *)vspace->cap.obj;
  for (int l = 4; l > level; l--) {
    u64 e = t->e[pt_index(va, l)];
    if (!(e & PTE_P))
      return missing_level_error(l - 1);
    if (e & PTE_PS)
      return K_ERR_MAPPING_EXISTS;
    t = entry_table(e);
  }
  *out = t;
  return K_ERR_OK;
}

static int is_mappable(u8 type) {
  return type == K_OBJ_FRAME_4K || type == K_OBJ_FRAME_2M || type == K_OBJ_PDPT || type == K_OBJ_PD ||
         type == K_OBJ_PT;
}

int vs_cap_is_mapped(const struct cap *c) { return is_mappable(c->type) && map_table(c); }

static int check_target(const struct cte *vspace, u64 vaddr) {
  if (vspace->cap.type != K_OBJ_VSPACE)
    return K_ERR_WRONG_TYPE;
  if (vaddr >= K_USER_VADDR_END)
    return K_ERR_BAD_ADDRESS;
  return K_ERR_OK;
}

static void install(struct cte *c, struct vs_table *t, u64 vaddr, u64 pte) {
  vs_set_entry(t, pt_index(vaddr, entry_level(c->cap.type)), c, pte, vaddr);
}

static int prepare(struct cte *c, struct cte *vspace, u64 vaddr, struct vs_table **t) {
  int err = check_target(vspace, vaddr);
  if (err)
    return err;
  if (map_table(&c->cap))
    return K_ERR_ALREADY_MAPPED;
  err = walk(vspace, vaddr, entry_level(c->cap.type), t);
  if (err)
    return err;
  return ((*t)->e[pt_index(vaddr, entry_level(c->cap.type))] & PTE_P) ? K_ERR_MAPPING_EXISTS : K_ERR_OK;
}

int vs_check_free(const struct cte *vspace, u64 vaddr, u8 frame_type) {
  struct vs_table *t;
  int level = entry_level(frame_type);
  int err = walk(vspace, vaddr, level, &t);
  if (err)
    return err;
  return (t->e[pt_index(vaddr, level)] & PTE_P) ? K_ERR_MAPPING_EXISTS : K_ERR_OK;
}

int vs_map_table(struct cte *table, struct cte *vspace, u64 vaddr) {
  int level = vs_level(table->cap.type);
  if (level == 0 || level == 4)
    return K_ERR_WRONG_TYPE;
  vaddr &= ~((1ull << (12 + 9 * level)) - 1);
  struct vs_table *t;
  int err = prepare(table, vspace, vaddr, &t);
  if (err)
    return err;
  install(table, t, vaddr, kva_to_pa((void *)table->cap.obj) | PTE_P | PTE_W | PTE_U);
  return K_ERR_OK;
}

u64 vs_frame_pte(const struct cap *c, u32 attr) {
  u64 pte = kva_to_pa((void *)c->obj) | PTE_P | PTE_U;
  if (attr & K_MAP_WRITE)
    pte |= PTE_W;
  if (!(attr & K_MAP_EXEC))
    pte |= PTE_NX;
  if (c->flags & CAPF_DEVICE)
    pte |= PTE_PCD | PTE_PWT;
  if (c->type == K_OBJ_FRAME_2M)
    pte |= PTE_PS;
  return pte;
}

int vs_map_frame(struct cte *frame, struct cte *vspace, u64 vaddr, u32 attr) {
  if (frame->cap.type != K_OBJ_FRAME_4K && frame->cap.type != K_OBJ_FRAME_2M)
    return K_ERR_WRONG_TYPE;
  if (attr & ~(K_MAP_WRITE | K_MAP_EXEC))
    return K_ERR_RANGE;
  if (!(frame->cap.rights & K_RIGHT_READ) || ((attr & K_MAP_WRITE) && !(frame->cap.rights & K_RIGHT_WRITE)))
    return K_ERR_NO_RIGHTS;
  u64 size = cap_object_size(&frame->cap);
  if (vaddr & (size - 1))
    return K_ERR_ALIGNMENT;
  if (vaddr >= K_USER_VADDR_END || K_USER_VADDR_END - vaddr < size)
    return K_ERR_BAD_ADDRESS;
  struct vs_table *t;
  int err = prepare(frame, vspace, vaddr, &t);
  if (err)
    return err;
  install(frame, t, vaddr, vs_frame_pte(&frame->cap, attr));
  return K_ERR_OK;
}

int vs_leaf_table(const struct cte *vspace, u64 vaddr, u8 frame_type, struct vs_table **t) {
  return walk(vspace, vaddr, entry_level(frame_type), t);
}

int vs_entry_free(const struct vs_table *t, u64 vaddr, u8 frame_type) {
  return !(t->e[pt_index(vaddr, entry_level(frame_type))] & PTE_P);
}

void vs_install_frame(struct cte *frame, struct vs_table *t, u64 vaddr, u64 pte) {
  install(frame, t, vaddr, pte);
}

void vs_unmap_cap(struct cte *c) {
  struct vs_table *t = map_table(&c->cap);
  u64 va = map_vaddr(&c->cap);
  if (c->cap.type == K_OBJ_FRAME_4K) { /* the common case, first */
    unsigned i = (unsigned)(va >> 12) & 511;
    t->e[i] = 0;
    t->back[i] = 0;
    arch_tlb_flush_page(va);
    map_clear(&c->cap);
    return;
  }
  unsigned i = pt_index(va, entry_level(c->cap.type));
  t->e[i] = 0;
  t->back[i] = 0;
  arch_tlb_flush_all(); /* a large page or a whole table went */
  map_clear(&c->cap);
}

int vs_unmap(struct cte *c) {
  if (!is_mappable(c->cap.type))
    return K_ERR_WRONG_TYPE;
  if (!map_table(&c->cap))
    return K_ERR_NOT_MAPPED;
  vs_unmap_cap(c);
  return K_ERR_OK;
}

void vs_cap_moved(struct cte *c) {
  map_table(&c->cap)->back[pt_index(map_vaddr(&c->cap), entry_level(c->cap.type))] = c;
}

/* The table's entries die with it: forget them in the capabilities mapped
 * there. Its own mapping went with its last capability (obj_cap_unbind). */
void vs_table_destroy(const struct cap *c) {
  struct vs_table *t = (struct vs_table *)c->obj;
  unsigned n = c->type == K_OBJ_VSPACE ? PML4_USER_ENTRIES : PT_ENTRIES;
  for (unsigned i = 0; i < n; i++) {
    if (t->back[i])
      map_clear(&t->back[i]->cap);
    t->back[i] = 0;
    t->e[i] = 0;
  }
  if (c->type == K_OBJ_VSPACE && arch_current_root() == kva_to_pa(t))
    arch_load_kernel_root();
}

void vs_init_root(struct vs_table *root) {
  u64 *k = arch_kernel_root();
  for (unsigned i = PML4_USER_ENTRIES; i < PT_ENTRIES; i++)
    root->e[i] = k[i];
}

u64 vs_translate(const struct vs_table *root, u64 va, int write) {
  if (va >= K_USER_VADDR_END)
    return 0;
  const struct vs_table *t = root;
  for (int l = 4; l >= 1; l--) {
    u64 e = t->e[pt_index(va, l)];
    if (!(e & PTE_P) || !(e & PTE_U) || (write && !(e & PTE_W)))
      return 0;
    if (l == 1 || (l == 2 && (e & PTE_PS))) {
      u64 mask = l == 1 ? 0xfffull : 0x1fffffull;
      return (e & PTE_ADDR & ~mask) | (va & mask);
    }
    t = entry_table(e);
  }
  return 0;
}
