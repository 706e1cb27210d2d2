/* Page tables and frame mappings. */
#include "ktest.h"

KTEST(map_names_each_missing_level) {
  u64 va = t->region + 0x1000;
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  cptr_t pdpt = new_obj(t, K_OBJ_PDPT, 0), pd = new_obj(t, K_OBJ_PD, 0), pt = new_obj(t, K_OBJ_PT, 0);
  EXPECT(f && pdpt && pd && pt);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, va, K_MAP_WRITE), K_ERR_MISSING_PDPT);
  EXPECT_ERR(sys_page_table_map(pd, K_BI_SLOT_VSPACE, va), K_ERR_MISSING_PDPT);
  EXPECT_OK(sys_page_table_map(pdpt, K_BI_SLOT_VSPACE, va));
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, va, K_MAP_WRITE), K_ERR_MISSING_PD);
  EXPECT_OK(sys_page_table_map(pd, K_BI_SLOT_VSPACE, va));
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, va, K_MAP_WRITE), K_ERR_MISSING_PT);
  EXPECT_OK(sys_page_table_map(pt, K_BI_SLOT_VSPACE, va));
  EXPECT_OK(sys_frame_map(f, K_BI_SLOT_VSPACE, va, K_MAP_WRITE));
  volatile u64 *p = (volatile u64 *)va;
  EXPECT(*p == 0); /* retype zeroes */
  *p = 0x5a5a5a5a;
  EXPECT(*p == 0x5a5a5a5a);
  struct k_cap_info ci;
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && ci.mapped && ci.mapped_vaddr == va);
}

KTEST(map_rejects_bad_addresses) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, t->region + 8, 0), K_ERR_ALIGNMENT);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, 0x0000800000000000ull, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, 0xffffffff80100000ull, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, K_USER_VADDR_END, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, t->region, 4), K_ERR_RANGE);
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_TCB, t->region, 0), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_frame_map(K_BI_SLOT_TCB, K_BI_SLOT_VSPACE, t->region, 0), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_page_table_map(f, K_BI_SLOT_VSPACE, t->region), K_ERR_WRONG_TYPE);
  cptr_t pt = new_obj(t, K_OBJ_PT, 0);
  EXPECT_ERR(sys_page_table_map(pt, K_BI_SLOT_VSPACE, 0xffff800000000000ull), K_ERR_BAD_ADDRESS);
}

KTEST(map_over_an_existing_mapping_fails) {
  u64 va = t->region;
  cptr_t a = new_obj(t, K_OBJ_FRAME_4K, 0), b = new_obj(t, K_OBJ_FRAME_4K, 0), copy = env_slot(&t->e);
  EXPECT(a && b);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, a, va, K_MAP_WRITE));
  EXPECT_ERR(sys_frame_map(b, K_BI_SLOT_VSPACE, va, K_MAP_WRITE), K_ERR_MAPPING_EXISTS);
  EXPECT_ERR(sys_frame_map(a, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, K_MAP_WRITE), K_ERR_ALREADY_MAPPED);
  /* A copy maps the same frame a second time. */
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, a, K_RIGHTS_ALL));
  EXPECT_OK(sys_frame_map(copy, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, K_MAP_WRITE));
  *(volatile u32 *)va = 42;
  EXPECT(*(volatile u32 *)(va + K_PAGE_SIZE) == 42);
  /* A second table for the same range is refused too. */
  cptr_t pt = new_obj(t, K_OBJ_PT, 0);
  EXPECT_ERR(sys_page_table_map(pt, K_BI_SLOT_VSPACE, va), K_ERR_MAPPING_EXISTS);
}

KTEST(unmap_and_remap) {
  u64 va = t->region;
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_ERR(sys_frame_unmap(f), K_ERR_NOT_MAPPED);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, va, K_MAP_WRITE));
  *(volatile u32 *)va = 7;
  EXPECT_OK(sys_frame_unmap(f));
  EXPECT_ERR(sys_frame_unmap(f), K_ERR_NOT_MAPPED);
  EXPECT_OK(sys_frame_map(f, K_BI_SLOT_VSPACE, va + 5 * K_PAGE_SIZE, 0));
  EXPECT(*(volatile u32 *)(va + 5 * K_PAGE_SIZE) == 7);
  EXPECT_ERR(sys_frame_unmap(K_BI_SLOT_TCB), K_ERR_WRONG_TYPE);
}

KTEST(large_frame_maps_at_2mib) {
  u64 va = t->region + K_LARGE_PAGE_SIZE;
  cptr_t f = new_obj(t, K_OBJ_FRAME_2M, 0), f4 = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f && f4);
  EXPECT_ERR(env_map(&t->e, K_BI_SLOT_VSPACE, f, va + K_PAGE_SIZE, K_MAP_WRITE), K_ERR_ALIGNMENT);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, va, K_MAP_WRITE));
  volatile u8 *p = (volatile u8 *)va;
  p[0] = 1;
  p[K_LARGE_PAGE_SIZE - 1] = 2;
  EXPECT(p[0] == 1 && p[K_LARGE_PAGE_SIZE - 1] == 2 && p[4096] == 0);
  /* A 4 KiB mapping inside a large page has no page table to go in. */
  EXPECT_ERR(sys_frame_map(f4, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, 0), K_ERR_MAPPING_EXISTS);
}

KTEST(page_table_unmap_takes_its_mappings_along) {
  u64 va = t->region;
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, va, K_MAP_WRITE));
  /* The PT env_map made is the newest object before f's mapping. */
  cptr_t pt = t->e.next_slot - 1;
  struct k_cap_info ci;
  EXPECT(type_of(pt, &ci) == K_OBJ_PT && ci.mapped);
  EXPECT_OK(sys_page_table_unmap(pt));
  EXPECT_ERR(sys_page_table_unmap(pt), K_ERR_NOT_MAPPED);
  cptr_t f2 = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT_ERR(sys_frame_map(f2, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, 0), K_ERR_MISSING_PT);
  EXPECT_OK(sys_page_table_map(pt, K_BI_SLOT_VSPACE, va));
  EXPECT_OK(sys_frame_map(f2, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, 0));
  /* f is still mapped in the PT that moved away and back. */
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && ci.mapped);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, pt));
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && !ci.mapped);
}

KTEST(deleting_a_mapped_frame_unmaps_it) {
  struct k_untyped_usage u;
  u64 va = t->region;
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, va, K_MAP_WRITE));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_FRAME_4K] == 0);
  cptr_t g = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT_OK(sys_frame_map(g, K_BI_SLOT_VSPACE, va, 0));
}

KTEST(vspace_of_another_principal) {
  cptr_t vs = new_obj(t, K_OBJ_VSPACE, 0), f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(vs && f);
  EXPECT_OK(env_map(&t->e, vs, f, 0x400000, K_MAP_WRITE));
  struct k_cap_info ci;
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && ci.mapped && ci.mapped_vaddr == 0x400000);
  /* Destroying the address space forgets the mapping in the frame's capability. */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, vs));
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K);
}

/* FRAME_COPY: bytes move between frames neither of which is mapped at the
 * call; a read-only copy of a capability can be the source but not the
 * destination; every bad argument is refused without a byte written. */
KTEST(frame_copy_moves_bytes_between_unmapped_frames) {
  u64 va = t->region;
  cptr_t a = new_obj(t, K_OBJ_FRAME_4K, 0), b = new_obj(t, K_OBJ_FRAME_4K, 0), ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(a && b && ep);
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, a, va, K_MAP_WRITE));
  volatile u8 *pa = (volatile u8 *)va;
  for (int i = 0; i < 4096; i++)
    pa[i] = (u8)(i * 7);
  EXPECT_OK(sys_frame_unmap(a));
  EXPECT_OK(sys_frame_copy(b, 96, a, 3, 1500));
  cptr_t ro = env_slot(&t->e);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, b, K_RIGHT_READ));
  EXPECT_ERR(sys_frame_copy(ro, 0, a, 0, 1), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_frame_copy(b, 0, a, 0, 4097), K_ERR_RANGE);
  EXPECT_ERR(sys_frame_copy(b, 4000, a, 0, 97), K_ERR_RANGE);
  EXPECT_ERR(sys_frame_copy(b, 0, a, ~0ull, 2), K_ERR_RANGE);
  EXPECT_ERR(sys_frame_copy(b, 0, ep, 0, 1), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_frame_copy(b, 0, t->e.next_slot, 0, 1), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_frame_copy(b, 0, 1ull << 40, 0, 1), K_ERR_INVALID_CAP);
  EXPECT_OK(sys_frame_copy(a, 0, ro, 96, 1500)); /* back through the read-only copy: a's bytes shift by 3 */
  EXPECT_OK(sys_frame_map(b, K_BI_SLOT_VSPACE, va + K_PAGE_SIZE, 0));
  volatile u8 *pb = (volatile u8 *)(va + K_PAGE_SIZE);
  int same = 1;
  for (int i = 0; i < 4096; i++)
    same &= pb[i] == (i >= 96 && i < 96 + 1500 ? (u8)((i - 93) * 7) : 0);
  EXPECT(same);
  EXPECT_OK(sys_frame_map(a, K_BI_SLOT_VSPACE, va, 0));
  for (int i = 0; i < 1500; i++)
    same &= pa[i] == (u8)((i + 3) * 7);
  EXPECT(same);
}
