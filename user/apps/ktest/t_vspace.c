/* Page tables and frame mappings. */
#include "ktest.h"

KTEST(map_names_each_missing_level) {
  u64 va = t->region + 0x1000;
  cptr_t f = new_obj(t, OBJ_FRAME_4K, 0);
  cptr_t pdpt = new_obj(t, OBJ_PDPT, 0), pd = new_obj(t, OBJ_PD, 0), pt = new_obj(t, OBJ_PT, 0);
  EXPECT(f && pdpt && pd && pt);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, va, MAP_WRITE), ERR_MISSING_PDPT);
  EXPECT_ERR(sys_page_table_map(pd, BI_SLOT_VSPACE, va), ERR_MISSING_PDPT);
  EXPECT_OK(sys_page_table_map(pdpt, BI_SLOT_VSPACE, va));
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, va, MAP_WRITE), ERR_MISSING_PD);
  EXPECT_OK(sys_page_table_map(pd, BI_SLOT_VSPACE, va));
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, va, MAP_WRITE), ERR_MISSING_PT);
  EXPECT_OK(sys_page_table_map(pt, BI_SLOT_VSPACE, va));
  EXPECT_OK(sys_frame_map(f, BI_SLOT_VSPACE, va, MAP_WRITE));
  volatile u64 *p = (volatile u64 *)va;
  EXPECT(*p == 0); /* retype zeroes */
  *p = 0x5a5a5a5a;
  EXPECT(*p == 0x5a5a5a5a);
  struct cap_info ci;
  EXPECT(type_of(f, &ci) == OBJ_FRAME_4K && ci.mapped && ci.mapped_vaddr == va);
}

KTEST(map_rejects_bad_addresses) {
  cptr_t f = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, t->region + 8, 0), ERR_ALIGNMENT);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, 0x0000800000000000ull, 0), ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, 0xffffffff80100000ull, 0), ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, USER_VADDR_END, 0), ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_VSPACE, t->region, 4), ERR_RANGE);
  EXPECT_ERR(sys_frame_map(f, BI_SLOT_TCB, t->region, 0), ERR_WRONG_TYPE);
  EXPECT_ERR(sys_frame_map(BI_SLOT_TCB, BI_SLOT_VSPACE, t->region, 0), ERR_WRONG_TYPE);
  EXPECT_ERR(sys_page_table_map(f, BI_SLOT_VSPACE, t->region), ERR_WRONG_TYPE);
  cptr_t pt = new_obj(t, OBJ_PT, 0);
  EXPECT_ERR(sys_page_table_map(pt, BI_SLOT_VSPACE, 0xffff800000000000ull), ERR_BAD_ADDRESS);
}

KTEST(map_over_an_existing_mapping_fails) {
  u64 va = t->region;
  cptr_t a = new_obj(t, OBJ_FRAME_4K, 0), b = new_obj(t, OBJ_FRAME_4K, 0), copy = env_slot(&t->e);
  EXPECT(a && b);
  EXPECT_OK(env_map(&t->e, BI_SLOT_VSPACE, a, va, MAP_WRITE));
  EXPECT_ERR(sys_frame_map(b, BI_SLOT_VSPACE, va, MAP_WRITE), ERR_MAPPING_EXISTS);
  EXPECT_ERR(sys_frame_map(a, BI_SLOT_VSPACE, va + PAGE_SIZE, MAP_WRITE), ERR_ALREADY_MAPPED);
  /* A copy maps the same frame a second time. */
  EXPECT_OK(sys_cnode_copy(BI_SLOT_CNODE, copy, BI_SLOT_CNODE, a, RIGHTS_ALL));
  EXPECT_OK(sys_frame_map(copy, BI_SLOT_VSPACE, va + PAGE_SIZE, MAP_WRITE));
  *(volatile u32 *)va = 42;
  EXPECT(*(volatile u32 *)(va + PAGE_SIZE) == 42);
  /* A second table for the same range is refused too. */
  cptr_t pt = new_obj(t, OBJ_PT, 0);
  EXPECT_ERR(sys_page_table_map(pt, BI_SLOT_VSPACE, va), ERR_MAPPING_EXISTS);
}

KTEST(unmap_and_remap) {
  u64 va = t->region;
  cptr_t f = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_ERR(sys_frame_unmap(f), ERR_NOT_MAPPED);
  EXPECT_OK(env_map(&t->e, BI_SLOT_VSPACE, f, va, MAP_WRITE));
  *(volatile u32 *)va = 7;
  EXPECT_OK(sys_frame_unmap(f));
  EXPECT_ERR(sys_frame_unmap(f), ERR_NOT_MAPPED);
  EXPECT_OK(sys_frame_map(f, BI_SLOT_VSPACE, va + 5 * PAGE_SIZE, 0));
  EXPECT(*(volatile u32 *)(va + 5 * PAGE_SIZE) == 7);
  EXPECT_ERR(sys_frame_unmap(BI_SLOT_TCB), ERR_WRONG_TYPE);
}

KTEST(large_frame_maps_at_2mib) {
  u64 va = t->region + LARGE_PAGE_SIZE;
  cptr_t f = new_obj(t, OBJ_FRAME_2M, 0), f4 = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(f && f4);
  EXPECT_ERR(env_map(&t->e, BI_SLOT_VSPACE, f, va + PAGE_SIZE, MAP_WRITE), ERR_ALIGNMENT);
  EXPECT_OK(env_map(&t->e, BI_SLOT_VSPACE, f, va, MAP_WRITE));
  volatile u8 *p = (volatile u8 *)va;
  p[0] = 1;
  p[LARGE_PAGE_SIZE - 1] = 2;
  EXPECT(p[0] == 1 && p[LARGE_PAGE_SIZE - 1] == 2 && p[4096] == 0);
  /* A 4 KiB mapping inside a large page has no page table to go in. */
  EXPECT_ERR(sys_frame_map(f4, BI_SLOT_VSPACE, va + PAGE_SIZE, 0), ERR_MAPPING_EXISTS);
}

KTEST(page_table_unmap_takes_its_mappings_along) {
  u64 va = t->region;
  cptr_t f = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_OK(env_map(&t->e, BI_SLOT_VSPACE, f, va, MAP_WRITE));
  /* The PT env_map made is the newest object before f's mapping. */
  cptr_t pt = t->e.next_slot - 1;
  struct cap_info ci;
  EXPECT(type_of(pt, &ci) == OBJ_PT && ci.mapped);
  EXPECT_OK(sys_page_table_unmap(pt));
  EXPECT_ERR(sys_page_table_unmap(pt), ERR_NOT_MAPPED);
  cptr_t f2 = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT_ERR(sys_frame_map(f2, BI_SLOT_VSPACE, va + PAGE_SIZE, 0), ERR_MISSING_PT);
  EXPECT_OK(sys_page_table_map(pt, BI_SLOT_VSPACE, va));
  EXPECT_OK(sys_frame_map(f2, BI_SLOT_VSPACE, va + PAGE_SIZE, 0));
  /* f is still mapped in the PT that moved away and back. */
  EXPECT(type_of(f, &ci) == OBJ_FRAME_4K && ci.mapped);
  EXPECT_OK(sys_cnode_delete(BI_SLOT_CNODE, pt));
  EXPECT(type_of(f, &ci) == OBJ_FRAME_4K && !ci.mapped);
}

KTEST(deleting_a_mapped_frame_unmaps_it) {
  struct untyped_usage u;
  u64 va = t->region;
  cptr_t f = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_OK(env_map(&t->e, BI_SLOT_VSPACE, f, va, MAP_WRITE));
  EXPECT_OK(sys_cnode_delete(BI_SLOT_CNODE, f));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[OBJ_FRAME_4K] == 0);
  cptr_t g = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT_OK(sys_frame_map(g, BI_SLOT_VSPACE, va, 0));
}

KTEST(vspace_of_another_principal) {
  cptr_t vs = new_obj(t, OBJ_VSPACE, 0), f = new_obj(t, OBJ_FRAME_4K, 0);
  EXPECT(vs && f);
  EXPECT_OK(env_map(&t->e, vs, f, 0x400000, MAP_WRITE));
  struct cap_info ci;
  EXPECT(type_of(f, &ci) == OBJ_FRAME_4K && ci.mapped && ci.mapped_vaddr == 0x400000);
  /* Destroying the address space forgets the mapping in the frame's capability. */
  EXPECT_OK(sys_cnode_delete(BI_SLOT_CNODE, vs));
  EXPECT(type_of(f, &ci) == OBJ_FRAME_4K);
}
