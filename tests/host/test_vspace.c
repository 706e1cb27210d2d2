/* Host unit tests: page-table objects, map/unmap with back-pointers,
 * translation and user copies. */
#include "fake_kernel.h"
#include "mm/uaccess.h"
#include "mm/frame.h"
#include "mm/dma.h"
#include <arch/mmu.h>
#include <string.h>

static struct cte root_ut, cn_slot;
static struct cte *cn;
enum { VS = 1, PDPT, PD, PT, F1, F2, BIG, COPY };

static int setup(void **state) {
  (void)state;
  cn = fake_fixture(&root_ut, &cn_slot, 6);
  static const u32 types[] = {0, K_OBJ_VSPACE, K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT, K_OBJ_FRAME_4K, K_OBJ_FRAME_4K, K_OBJ_FRAME_2M};
  for (int i = VS; i <= BIG; i++)
    assert_int_equal(retype(&root_ut, types[i], 0, 1, &cn[i]), K_ERR_OK);
  return 0;
}

static const struct vs_table *root(void) { return (const struct vs_table *)cn[VS].cap.obj; }

static void map_all_levels(u64 va) {
  assert_int_equal(vs_map_table(&cn[PDPT], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[PD], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_OK);
}

static void new_vspace_shares_the_kernel_half(void **state) {
  (void)state;
  for (int i = 0; i < 256; i++)
    assert_int_equal(root()->e[i], 0);
  for (int i = 256; i < 512; i++)
    assert_int_equal(root()->e[i], arch_kernel_root()[i]);
}

static void missing_levels_are_named(void **state) {
  (void)state;
  u64 va = 0x40001000;
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_MISSING_PDPT);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_MISSING_PDPT);
  assert_int_equal(vs_map_table(&cn[PDPT], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_MISSING_PD);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_MISSING_PD);
  assert_int_equal(vs_map_table(&cn[PD], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_MISSING_PT);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_OK);
  assert_int_equal(vs_translate(root(), va + 5, 1), kva_to_pa((void *)cn[F1].cap.obj) + 5);
}

static void bad_mappings_are_refused(void **state) {
  (void)state;
  u64 va = 0x200000;
  map_all_levels(va);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va + 1, 0), K_ERR_ALIGNMENT);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], K_USER_VADDR_END, 0), K_ERR_BAD_ADDRESS);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], 0xffff800000000000ull, 0), K_ERR_BAD_ADDRESS);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[PD], va, 0), K_ERR_WRONG_TYPE);
  assert_int_equal(vs_map_frame(&cn[PD], &cn[VS], va, 0), K_ERR_WRONG_TYPE);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, 8), K_ERR_RANGE);
  assert_int_equal(vs_map_table(&cn[VS], &cn[VS], va), K_ERR_WRONG_TYPE);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, 0), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[F2], &cn[VS], va, 0), K_ERR_MAPPING_EXISTS);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va + 4096, 0), K_ERR_ALREADY_MAPPED);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_ALREADY_MAPPED);
  cn[F2].cap.rights = K_RIGHT_READ;
  assert_int_equal(vs_map_frame(&cn[F2], &cn[VS], va + 4096, K_MAP_WRITE), K_ERR_NO_RIGHTS);
  assert_int_equal(vs_map_frame(&cn[F2], &cn[VS], va + 4096, 0), K_ERR_OK);
  assert_int_equal(vs_translate(root(), va + 4096, 1), 0); /* read-only */
  assert_int_not_equal(vs_translate(root(), va + 4096, 0), 0);
}

static void large_frames_use_the_page_directory(void **state) {
  (void)state;
  u64 va = 0x400000;
  assert_int_equal(vs_map_table(&cn[PDPT], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[PD], &cn[VS], va), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[BIG], &cn[VS], va + 4096, 0), K_ERR_ALIGNMENT);
  assert_int_equal(vs_map_frame(&cn[BIG], &cn[VS], va, K_MAP_WRITE), K_ERR_OK);
  assert_int_equal(vs_translate(root(), va + 0x12345, 1),
                   kva_to_pa((void *)cn[BIG].cap.obj) + 0x12345);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va + 4096, 0), K_ERR_MAPPING_EXISTS);
  assert_int_equal(vs_map_table(&cn[PT], &cn[VS], va), K_ERR_MAPPING_EXISTS);
  assert_int_equal(vs_unmap(&cn[BIG]), K_ERR_OK);
  assert_int_equal(vs_translate(root(), va, 0), 0);
}

static void unmap_delete_and_move_keep_both_sides_in_step(void **state) {
  (void)state;
  u64 va = 0x600000;
  map_all_levels(va);
  assert_int_equal(vs_unmap(&cn[F1]), K_ERR_NOT_MAPPED);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_OK);
  cte_move(&cn[20], &cn[F1]);
  const struct vs_table *pt = (const struct vs_table *)cn[PT].cap.obj;
  assert_ptr_equal(pt->back[pt_index(va, 1)], &cn[20]);
  int flushes = fake.tlb_page_flushes;
  cap_delete(&cn[20]); /* deleting a mapped frame unmaps it, with a TLB flush */
  assert_int_equal(fake.tlb_page_flushes, flushes + 1);
  assert_int_equal(vs_translate(root(), va, 0), 0);
  assert_null(pt->back[pt_index(va, 1)]);
  /* A copy maps separately; the original's mapping is its own. */
  assert_int_equal(vs_map_frame(&cn[F2], &cn[VS], va, 0), K_ERR_OK);
  cte_insert(&cn[COPY], &cn[F2].cap, &cn[F2]);
  cn[COPY].cap.w1 = cn[COPY].cap.w2 = 0;
  assert_int_equal(vs_map_frame(&cn[COPY], &cn[VS], va + 4096, 0), K_ERR_OK);
  /* Destroying the page table forgets both mappings in the capabilities. */
  cap_delete(&cn[PT]);
  assert_int_equal(cn[F2].cap.w1, 0);
  assert_int_equal(cn[COPY].cap.w1, 0);
  assert_int_equal(vs_translate(root(), va, 0), 0);
}

static void destroying_a_vspace_detaches_its_tables(void **state) {
  (void)state;
  map_all_levels(0x800000);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], 0x800000, 0), K_ERR_OK);
  cap_delete(&cn[VS]);
  assert_int_equal(cn[PDPT].cap.w1, 0);
  assert_int_not_equal(cn[PD].cap.w1, 0); /* still in the PDPT */
  cap_revoke(&root_ut);
  assert_int_equal(root_ut.cap.w2, 0);
}

static void user_copies_check_every_page(void **state) {
  (void)state;
  u64 va = 0xa00000;
  map_all_levels(va);
  assert_int_equal(vs_map_frame(&cn[F1], &cn[VS], va, K_MAP_WRITE), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[F2], &cn[VS], va + 4096, 0), K_ERR_OK);
  char buf[64];
  memset(buf, 'x', sizeof(buf));
  assert_int_equal(copy_to_user(root(), va + 4090, buf, 4), K_ERR_OK);
  assert_int_equal(copy_to_user(root(), va + 4090, buf, 10), K_ERR_FAULT_ADDRESS); /* 2nd page read-only */
  assert_int_equal(*((u8 *)cn[F1].cap.obj + 4095), 0); /* nothing written on failure */
  memcpy((u8 *)cn[F2].cap.obj, "abc", 3);
  assert_int_equal(copy_from_user(root(), buf, va + 4094, 5), K_ERR_OK);
  assert_memory_equal(buf, "\0\0abc", 5);
  assert_int_equal(copy_from_user(root(), buf, va + 8190, 4), K_ERR_FAULT_ADDRESS);
  assert_int_equal(copy_from_user(root(), buf, K_USER_VADDR_END - 2, 4), K_ERR_BAD_ADDRESS);
  assert_int_equal(copy_from_user(root(), buf, ~0ull - 1, 4), K_ERR_BAD_ADDRESS);
}

static void frame_copies_check_types_rights_and_ranges(void **state) {
  (void)state;
  u8 *a = (u8 *)cn[F1].cap.obj, *b = (u8 *)cn[F2].cap.obj, *big = (u8 *)cn[BIG].cap.obj;
  for (int i = 0; i < 4096; i++)
    a[i] = (u8)i;
  assert_int_equal(frame_copy(&cn[F2], 100, &cn[F1], 10, 1000), K_ERR_OK);
  assert_memory_equal(b + 100, a + 10, 1000);
  assert_int_equal(b[99], 0);
  assert_int_equal(b[1100], 0);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[F1], 0, 4096), K_ERR_OK);
  assert_memory_equal(b, a, 4096);
  assert_int_equal(frame_copy(&cn[BIG], K_LARGE_PAGE_SIZE - 4096, &cn[F1], 0, 4096), K_ERR_OK);
  assert_memory_equal(big + K_LARGE_PAGE_SIZE - 4096, a, 4096);
  assert_int_equal(frame_copy(&cn[F1], 1, &cn[F1], 0, 100), K_ERR_OK); /* overlapping: as memmove */
  assert_int_equal(a[1], 0);
  assert_int_equal(a[100], 99);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[F1], 0, 0), K_ERR_OK);
  /* out of range, by one byte each way, and past the limit of one call */
  memset(b, 0xee, 4096);
  assert_int_equal(frame_copy(&cn[F2], 1, &cn[F1], 0, 4096), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[F1], 1, 4096), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[F2], 4097, &cn[F1], 0, 0), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[F2], ~0ull, &cn[F1], 0, 2), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[F1], ~0ull - 1, 4), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[BIG], 0, &cn[BIG], 8192, FRAME_COPY_MAX + 1), K_ERR_RANGE);
  /* not frames, rights, device memory */
  assert_int_equal(frame_copy(&cn[PT], 0, &cn[F1], 0, 1), K_ERR_WRONG_TYPE);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[VS], 0, 1), K_ERR_WRONG_TYPE);
  struct cte read_only = cn[F1], write_only = cn[F2], device = cn[F2];
  read_only.cap.rights = K_RIGHT_READ;
  write_only.cap.rights = K_RIGHT_WRITE;
  device.cap.flags |= CAPF_DEVICE;
  assert_int_equal(frame_copy(&read_only, 0, &cn[F2], 0, 1), K_ERR_NO_RIGHTS);
  assert_int_equal(frame_copy(&cn[F1], 0, &write_only, 0, 1), K_ERR_NO_RIGHTS);
  assert_int_equal(frame_copy(&write_only, 0, &read_only, 0, 1), K_ERR_OK);
  assert_int_equal(frame_copy(&device, 0, &cn[F1], 0, 1), K_ERR_DEVICE_MEMORY);
  assert_int_equal(frame_copy(&cn[F1], 0, &device, 0, 1), K_ERR_DEVICE_MEMORY);
  for (int i = 1; i < 4096; i++) /* no refused copy wrote a byte; the allowed one wrote one */
    assert_int_equal(b[i], 0xee);
  /* A pinned frame deleted leaves a remnant: readable by copy, never written. */
  u64 pa;
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 1, &cn[COPY]), K_ERR_OK);
  u8 *c = (u8 *)cn[COPY].cap.obj;
  memset(c, 0x77, 100);
  assert_int_equal(dma_pin(&cn[COPY], &pa), K_ERR_OK);
  assert_int_equal(cap_delete(&cn[COPY]), K_ERR_OK);
  assert_int_equal(cn[COPY].cap.type, K_OBJ_PINNED_FRAME);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[COPY], 0, 100), K_ERR_OK);
  assert_int_equal(b[0], 0x77);
  assert_int_equal(b[99], 0x77);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[COPY], 4000, 97), K_ERR_RANGE);
  assert_int_equal(frame_copy(&cn[COPY], 0, &cn[F2], 0, 1), K_ERR_WRONG_TYPE);
  struct cte device_remnant = cn[COPY];
  device_remnant.cap.flags |= CAPF_DEVICE;
  assert_int_equal(frame_copy(&cn[F2], 0, &device_remnant, 0, 1), K_ERR_DEVICE_MEMORY);
  assert_int_equal(dma_unpin(&cn[COPY]), K_ERR_OK);
  assert_int_equal(frame_copy(&cn[F2], 0, &cn[COPY], 0, 1), K_ERR_WRONG_TYPE); /* released: nothing left */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(new_vspace_shares_the_kernel_half, setup),
      cmocka_unit_test_setup(missing_levels_are_named, setup),
      cmocka_unit_test_setup(bad_mappings_are_refused, setup),
      cmocka_unit_test_setup(large_frames_use_the_page_directory, setup),
      cmocka_unit_test_setup(unmap_delete_and_move_keep_both_sides_in_step, setup),
      cmocka_unit_test_setup(destroying_a_vspace_detaches_its_tables, setup),
      cmocka_unit_test_setup(user_copies_check_every_page, setup),
      cmocka_unit_test_setup(frame_copies_check_types_rights_and_ranges, setup),
  };
  return cmocka_run_group_tests_name("vspace", tests, NULL, NULL);
}
