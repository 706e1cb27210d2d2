/* Retype, CNode operations, derivation, revoke and accounting. */
#include "ktest.h"

KTEST(retype_makes_every_object_type) {
  static const u32 types[] = {K_OBJ_CNODE, K_OBJ_TCB, K_OBJ_ENDPOINT, K_OBJ_NOTIFICATION, K_OBJ_VSPACE,
                              K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT, K_OBJ_FRAME_4K, K_OBJ_UNTYPED};
  struct k_cap_info ci;
  for (u32 i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    cptr_t s = new_obj(t, types[i], types[i] == K_OBJ_CNODE ? 4 : 12);
    EXPECT(s != 0);
    EXPECT(type_of(s, &ci) == (long)types[i]);
  }
}

KTEST(retype_rejects_bad_capability_addresses) {
  cptr_t dest = env_slot(&t->e);
  EXPECT_ERR(sys_retype(0, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(1 << 20, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(~0ull, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(1000, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, 0, 1, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, 4096, 1, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, 4092, 8, 0), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_TCB, dest, 1, 0), K_ERR_WRONG_TYPE);
}

KTEST(retype_rejects_wrong_type_and_bad_sizes) {
  cptr_t dest = env_slot(&t->e);
  EXPECT_ERR(sys_retype(K_BI_SLOT_VSPACE, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_TYPE_COUNT, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_NULL, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_IOPORTS, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_CNODE, 0, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_CNODE, 17, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_UNTYPED, 11, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 0, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, dest, 5000, 0), K_ERR_RANGE);
}

KTEST(retype_beyond_the_untyped_fails_and_changes_nothing) {
  cptr_t dest = env_slot(&t->e);
  struct k_untyped_usage u;
  u64 frames = 1ull << (TEST_UT_BITS - 21); /* 2 MiB frames that fill it */
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_UNTYPED, TEST_UT_BITS + 1, K_BI_SLOT_CNODE, dest, 1, 0), K_ERR_NO_MEMORY);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_UNTYPED, 21, K_BI_SLOT_CNODE, dest, frames + 1, 0), K_ERR_NO_MEMORY);
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.free == u.size && u.size == 1ull << TEST_UT_BITS);
  /* Fill it exactly, then one byte more is too much. */
  EXPECT_OK(sys_retype(t->ut, K_OBJ_FRAME_2M, 0, K_BI_SLOT_CNODE, dest, 1, 0));
  cptr_t d2 = env_slot(&t->e);
  t->e.next_slot += frames - 2;
  cptr_t d3 = env_slot(&t->e);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_FRAME_2M, 0, K_BI_SLOT_CNODE, d2, 9, 0), K_ERR_RANGE); /* > K_RETYPE_MAX_ZEROED */
  for (u64 i = 0; i < frames - 1; i += 8) /* at most 16 MiB zeroed per call */
    EXPECT_OK(sys_retype(t->ut, K_OBJ_FRAME_2M, 0, K_BI_SLOT_CNODE, d2 + i, frames - 1 - i < 8 ? frames - 1 - i : 8, 0));
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, d3, 1, 0), K_ERR_NO_MEMORY);
}

KTEST(retype_into_occupied_slot_fails_as_a_whole) {
  cptr_t a = env_slot(&t->e), b = env_slot(&t->e), c = env_slot(&t->e);
  (void)a;
  struct k_untyped_usage u;
  EXPECT_OK(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, c, 1, 0));
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, a, 3, 0), K_ERR_SLOT_OCCUPIED);
  struct k_cap_info ci;
  EXPECT(type_of(a, &ci) == K_OBJ_NULL && type_of(b, &ci) == K_OBJ_NULL);
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 1);
}

KTEST(untyped_usage_counts_objects_by_type_and_principal) {
  struct k_untyped_usage u;
  cptr_t child = env_slot(&t->e);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 16, K_BI_SLOT_CNODE, child, 1, 77));
  cptr_t eps = t->e.next_slot;
  t->e.next_slot += 3;
  EXPECT_OK(sys_retype(child, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, eps, 3, 0));
  cptr_t tcb = new_obj(t, K_OBJ_TCB, 0);
  EXPECT(tcb);
  EXPECT_OK(sys_untyped_usage(child, &u, 0));
  EXPECT(u.label == 77 && u.size == 65536 && u.count[K_OBJ_ENDPOINT] == 3 && u.bytes[K_OBJ_ENDPOINT] == 192);
  EXPECT(u.free == 65536 - 192);
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_UNTYPED] == 1 && u.bytes[K_OBJ_UNTYPED] == 65536 && u.count[K_OBJ_TCB] == 1);
  EXPECT(u.count[K_OBJ_ENDPOINT] == 0);
  EXPECT_OK(sys_untyped_usage(t->ut, &u, K_USAGE_RECURSIVE));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 3);
  struct k_cap_info ci;
  EXPECT(type_of(eps, &ci) == K_OBJ_ENDPOINT && ci.label == 77);
  /* Copies are not objects: they do not count. */
  cptr_t copy = env_slot(&t->e);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, eps, K_RIGHTS_ALL));
  EXPECT_OK(sys_untyped_usage(child, &u, 0));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 3);
  EXPECT_ERR(sys_untyped_usage(child, &u, 2), K_ERR_RANGE);
  EXPECT_ERR(sys_untyped_usage(child, (void *)0x10, 0), K_ERR_FAULT_ADDRESS);
  EXPECT_ERR(sys_untyped_usage(child, (void *)0xffff800000000000ull, 0), K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_untyped_usage(tcb, &u, 0), K_ERR_WRONG_TYPE);
}

KTEST(untyped_memory_is_reused_after_its_objects_go) {
  struct k_untyped_usage u;
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f);
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.free == u.size - 4096);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.free == u.size && u.count[K_OBJ_FRAME_4K] == 0);
}

KTEST(copy_reduces_rights_and_keeps_the_object) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0), ro = env_slot(&t->e);
  EXPECT(f);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, f, K_RIGHT_READ));
  struct k_cap_info ci;
  EXPECT(type_of(ro, &ci) == K_OBJ_FRAME_4K && ci.rights == K_RIGHT_READ);
  EXPECT_ERR(sys_frame_map(ro, K_BI_SLOT_VSPACE, t->region, K_MAP_WRITE), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, env_slot(&t->e), K_BI_SLOT_CNODE, f, 8), K_ERR_RANGE);
}

KTEST(copy_and_move_reject_bad_slots) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), d = env_slot(&t->e), empty = env_slot(&t->e);
  EXPECT(ep);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, empty, K_RIGHTS_ALL), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, ep, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL), K_ERR_SAME_SLOT);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, K_BI_SLOT_TCB, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL), K_ERR_SLOT_OCCUPIED);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, 5000, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL), K_ERR_INVALID_CAP);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_TCB, d, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_cnode_move(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, empty), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_cnode_move(K_BI_SLOT_CNODE, 0, K_BI_SLOT_CNODE, ep), K_ERR_INVALID_CAP);
}

KTEST(untyped_cannot_be_copied) {
  cptr_t u = new_obj(t, K_OBJ_UNTYPED, 12), d = env_slot(&t->e);
  EXPECT(u);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, u, K_RIGHTS_ALL), K_ERR_CANNOT_DERIVE);
  EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, u, K_RIGHTS_ALL, 0), K_ERR_CANNOT_DERIVE);
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, u));
}

KTEST(mint_badges_endpoints_once) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), b = env_slot(&t->e), bb = env_slot(&t->e);
  EXPECT(ep);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, b, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL, 0x1234));
  struct k_cap_info ci;
  EXPECT(type_of(b, &ci) == K_OBJ_ENDPOINT && ci.badge == 0x1234);
  EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, bb, K_BI_SLOT_CNODE, b, K_RIGHTS_ALL, 5), K_ERR_BAD_STATE);
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, bb, K_BI_SLOT_CNODE, f, K_RIGHTS_ALL, 5), K_ERR_RANGE);
}

KTEST(move_carries_the_capability_and_its_copies) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), copy = env_slot(&t->e), moved = env_slot(&t->e);
  EXPECT(ep);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL));
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, moved, K_BI_SLOT_CNODE, ep));
  struct k_cap_info ci;
  EXPECT(type_of(ep, &ci) == K_OBJ_NULL && type_of(moved, &ci) == K_OBJ_ENDPOINT);
  /* Revoking the moved capability still reaches the copy made before. */
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, moved));
  EXPECT(type_of(copy, &ci) == K_OBJ_NULL && type_of(moved, &ci) == K_OBJ_ENDPOINT);
}

KTEST(delete_original_keeps_object_alive_through_copies) {
  struct k_untyped_usage u;
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), c1 = env_slot(&t->e), c2 = env_slot(&t->e);
  EXPECT(ep);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, c1, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL));
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, c2, K_BI_SLOT_CNODE, c1, K_RIGHTS_ALL));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ep));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 1);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, c1));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 1);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, c2));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_ENDPOINT] == 0 && u.free == u.size);
  EXPECT_ERR(sys_cnode_delete(K_BI_SLOT_CNODE, c2), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_cnode_revoke(K_BI_SLOT_CNODE, c2), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_cnode_delete(K_BI_SLOT_CNODE, 0), K_ERR_INVALID_CAP);
}

KTEST(revoke_reaches_copies_in_other_cnodes) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 4), ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(cn && ep);
  EXPECT_OK(sys_cnode_copy(cn, 3, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL));
  EXPECT_OK(sys_cnode_copy(cn, 4, cn, 3, K_RIGHT_READ));
  struct k_cap_info ci;
  EXPECT_OK(sys_cap_identify(cn, 4, &ci));
  EXPECT(ci.type == K_OBJ_ENDPOINT && ci.rights == K_RIGHT_READ);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, ep));
  EXPECT_OK(sys_cap_identify(cn, 3, &ci));
  EXPECT(ci.type == K_OBJ_NULL);
  EXPECT_OK(sys_cap_identify(cn, 4, &ci));
  EXPECT(ci.type == K_OBJ_NULL);
  EXPECT_ERR(sys_cap_identify(cn, 16, &ci), K_ERR_INVALID_CAP);
}

KTEST(cnode_without_write_right_cannot_be_changed) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 4), ro = env_slot(&t->e), ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(cn && ep);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, cn, K_RIGHT_READ));
  EXPECT_ERR(sys_cnode_copy(ro, 2, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, ro, 2, 1, 0), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_cnode_delete(ro, 2), K_ERR_NO_RIGHTS);
  struct k_cap_info ci;
  EXPECT_OK(sys_cap_identify(ro, 2, &ci));
}

KTEST(deleting_a_cnode_deletes_what_it_holds) {
  struct k_untyped_usage u;
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 3), inner = new_obj(t, K_OBJ_CNODE, 2);
  EXPECT(cn && inner);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_ENDPOINT, 0, inner, 1, 2, 0));
  /* inner holds its own capability, and cn holds inner: a cycle to break. */
  EXPECT_OK(sys_cnode_copy(inner, 3, K_BI_SLOT_CNODE, inner, K_RIGHTS_ALL));
  EXPECT_OK(sys_cnode_move(cn, 1, K_BI_SLOT_CNODE, inner));
  EXPECT_OK(sys_cnode_move(cn, 2, K_BI_SLOT_CNODE, cn));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_CNODE] == 2 && u.count[K_OBJ_ENDPOINT] == 2);
  /* cn's only capabilities now live inside cn; revoking the untyped must
   * still find and destroy everything. */
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, t->ut));
  EXPECT_OK(sys_untyped_usage(t->ut, &u, 0));
  EXPECT(u.count[K_OBJ_CNODE] == 0 && u.count[K_OBJ_ENDPOINT] == 0 && u.free == u.size);
}

/* An untyped (u) with objects made from it, held in other slots, and a
 * child untyped with an endpoint of its own: count = what came from u. */
static long untyped_with_objects(struct t *t, cptr_t *u, cptr_t *made, int *count) {
  *u = env_slot(&t->e);
  long err = sys_retype(t->ut, K_OBJ_UNTYPED, 16, K_BI_SLOT_CNODE, *u, 1, 0);
  *made = t->e.next_slot;
  t->e.next_slot += 4;
  if (!err)
    err = sys_retype(*u, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, *made, 2, 0);
  if (!err)
    err = sys_retype(*u, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, *made + 2, 1, 0);
  if (!err)
    err = sys_retype(*u, K_OBJ_UNTYPED, 12, K_BI_SLOT_CNODE, *made + 3, 1, 0);
  cptr_t grandchild = env_slot(&t->e);
  if (!err)
    err = sys_retype(*made + 3, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, grandchild, 1, 0);
  *count = 5;
  return err;
}

/* Everything made from it is gone, not handed up to the test's untyped. */
static int all_gone(struct t *t, cptr_t made, int count) {
  struct k_cap_info ci;
  struct k_untyped_usage u;
  for (int i = 0; i < count; i++)
    if (type_of(made + (cptr_t)i, &ci) != K_OBJ_NULL)
      return 0;
  return sys_untyped_usage(t->ut, &u, K_USAGE_RECURSIVE) == K_ERR_OK && u.free == u.size &&
         u.count[K_OBJ_UNTYPED] == 0 && u.count[K_OBJ_ENDPOINT] == 0 && u.count[K_OBJ_FRAME_4K] == 0 &&
         u.count[K_OBJ_CNODE] == 0 && u.count[K_OBJ_TCB] == 0;
}

/* An untyped whose only capability sits in a CNode that is destroyed goes
 * with everything made from it first (deepest first), wherever their
 * capabilities are; none of it is reattached to the untyped's parent. */
KTEST(a_dying_cnode_takes_the_objects_of_an_untyped_it_holds) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 2), u, made;
  int count;
  EXPECT(cn);
  EXPECT_OK(untyped_with_objects(t, &u, &made, &count));
  EXPECT_OK(sys_cnode_move(cn, 1, K_BI_SLOT_CNODE, u));
  struct k_untyped_usage us;
  EXPECT_OK(sys_untyped_usage(t->ut, &us, K_USAGE_RECURSIVE));
  EXPECT(us.count[K_OBJ_ENDPOINT] == 3 && us.count[K_OBJ_FRAME_4K] == 1 && us.count[K_OBJ_UNTYPED] == 2);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, cn)); /* its last capability */
  EXPECT(all_gone(t, made, count));
}

/* A TCB's slots hold copies (cspace, vspace, IPC buffer, fault endpoint),
 * and an untyped cannot be copied, so no untyped sits in a TCB slot; but
 * the last capability of a CNode holding one can: destroying the TCB then
 * destroys the CNode, the untyped and what came from it. */
KTEST(a_dying_tcb_takes_its_cnode_and_the_untyped_in_it) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 2), tcb = new_obj(t, K_OBJ_TCB, 0), u, made;
  int count;
  EXPECT(cn && tcb);
  EXPECT_OK(untyped_with_objects(t, &u, &made, &count));
  EXPECT_OK(sys_cnode_move(cn, 1, K_BI_SLOT_CNODE, u));
  struct k_cap_info ci;
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, env_slot(&t->e), cn, 1, K_RIGHTS_ALL), K_ERR_CANNOT_DERIVE);
  EXPECT_OK(sys_tcb_configure(tcb, cn, K_BI_SLOT_VSPACE, TEST_PRIORITY));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, cn)); /* the TCB's copy keeps it */
  EXPECT(type_of(made, &ci) == K_OBJ_ENDPOINT);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, tcb));
  EXPECT(all_gone(t, made, count));
}

/* UNTYPED_REPORT: one record for what the test untyped made for itself,
 * then one per untyped made from it (a principal), newest first. A frame
 * of a's made into a CNode of b's is lent by a and held by b; a thread's
 * time is its principal's. */
KTEST(untyped_report_counts_each_principal) {
  static struct k_principal_report r[4];
  cptr_t a = env_slot(&t->e), b = env_slot(&t->e), b_cnode = env_slot(&t->e);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 20, K_BI_SLOT_CNODE, a, 1, 31));
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 20, K_BI_SLOT_CNODE, b, 1, 32));
  EXPECT_OK(sys_retype(b, K_OBJ_CNODE, 4, K_BI_SLOT_CNODE, b_cnode, 1, 0));
  EXPECT_OK(sys_retype(a, K_OBJ_FRAME_4K, 0, b_cnode, 1, 2, 0));
  cptr_t own = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(own);
  struct sysret s = sys_untyped_report(t->ut, r, 4);
  EXPECT_OK(s.err);
  EXPECT(s.val == 3);
  EXPECT(r[0].count[K_OBJ_UNTYPED] == 2 && r[0].count[K_OBJ_ENDPOINT] == 1);
  EXPECT(r[1].label == 32 && r[2].label == 31);
  EXPECT(r[2].count[K_OBJ_FRAME_4K] == 2 && r[2].lent_frames == 2 && r[2].lent_bytes == 8192);
  EXPECT(r[1].count[K_OBJ_CNODE] == 1 && r[1].held_frames == 2 && r[1].held_bytes == 8192);
  EXPECT(r[1].lent_frames == 0 && r[2].held_frames == 0);
  /* A donation made with label 0 is its maker's principal. */
  cptr_t d = env_slot(&t->e);
  struct k_cap_info ci;
  EXPECT_OK(sys_retype(a, K_OBJ_UNTYPED, 12, K_BI_SLOT_CNODE, d, 1, 0));
  EXPECT(type_of(d, &ci) == K_OBJ_UNTYPED && ci.label == 31);
  /* A short array: the records that fit, and how many there are. */
  memset(r, 0, sizeof(r));
  s = sys_untyped_report(t->ut, r, 1);
  EXPECT(s.err == K_ERR_OK && s.val == 3 && r[0].count[K_OBJ_UNTYPED] == 2 && r[1].label == 0);
  s = sys_untyped_report(t->ut, r, 0);
  EXPECT(s.err == K_ERR_OK && s.val == 3);
  EXPECT_ERR(sys_untyped_report(t->ut, r, K_REPORT_MAX_RECORDS + 1).err, K_ERR_RANGE);
  EXPECT_ERR(sys_untyped_report(t->ut, (void *)0x10, 2).err, K_ERR_FAULT_ADDRESS);
  EXPECT_ERR(sys_untyped_report(t->ut, (void *)0xffff800000000000ull, 2).err, K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_untyped_report(own, r, 2).err, K_ERR_WRONG_TYPE);
  /* The report sees the test's own threads' time. */
  cptr_t tcb = new_obj(t, K_OBJ_TCB, 0);
  EXPECT(tcb);
  s = sys_untyped_report(t->ut, r, 1);
  EXPECT(s.err == K_ERR_OK && r[0].threads == 1);
}

/* A capability in a CNode one level down is named by k_cptr_in(the
 * CNode's root slot, its index): invoked, named in runs, copied between
 * frames, as if it were in the root (but not pinned there). The address must name a CNode whose
 * capability has the write right, and an index inside it. */
KTEST(capabilities_are_named_through_a_cnode_one_level_down) {
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 4), ro = env_slot(&t->e), ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  cptr_t n = new_obj(t, K_OBJ_NOTIFICATION, 0), f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(cn && ep && n && f);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_NOTIFICATION, 0, cn, 3, 1, 0));
  EXPECT_OK(sys_retype(t->ut, K_OBJ_FRAME_4K, 0, cn, 5, 3, 0));
  /* a signal through the CNode reaches the notification in its slot 3 */
  EXPECT_OK(sys_signal(k_cptr_in(cn, 3)));
  EXPECT(sys_poll(k_cptr_in(cn, 3)).err == K_ERR_OK);
  EXPECT(sys_cap_type(K_BI_SLOT_CNODE, cn).val == K_OBJ_CNODE);
  /* a run of frames in slots 5-7 is a run there (pinned only in the root: t_attack.c) */
  u64 phys[3];
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, k_cptr_in(cn, 5), 3, phys).err, K_ERR_PIN_OUTSIDE_ROOT);
  EXPECT_ERR(sys_dma_unpin_range(K_BI_SLOT_DMA, k_cptr_in(cn, 5), 3).err, K_ERR_NOT_PINNED);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, k_cptr_in(cn, 14), 3, phys).err, K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, k_cptr_in(cn, 16), 1, phys).err, K_ERR_INVALID_CAP); /* past its end */
  /* bytes copied from a root frame into a frame one level down, and back */
  u64 *page = new_page(t, &f);
  EXPECT(page);
  page[0] = 0x1234567890abcdefull;
  EXPECT_OK(sys_frame_copy(k_cptr_in(cn, 6), 0, f, 0, 8));
  page[0] = 0;
  EXPECT_OK(sys_frame_copy(f, 0, k_cptr_in(cn, 6), 0, 8));
  EXPECT(page[0] == 0x1234567890abcdefull);
  /* bad addresses */
  EXPECT_ERR(sys_signal(k_cptr_in(cn, 4)), K_ERR_EMPTY_SLOT);
  EXPECT_ERR(sys_signal(k_cptr_in(cn, 16)), K_ERR_INVALID_CAP);     /* outside the CNode */
  EXPECT_ERR(sys_signal(k_cptr_in(ep, 3)), K_ERR_INVALID_CAP);      /* not a CNode */
  EXPECT_ERR(sys_signal(k_cptr_in(0, 3)), K_ERR_INVALID_CAP);       /* root slot 0 */
  EXPECT_ERR(sys_signal(k_cptr_in(1u << 20, 3)), K_ERR_INVALID_CAP); /* outside the root */
  EXPECT_ERR(sys_signal(k_cptr_in(cn, 0xffffffffull)), K_ERR_INVALID_CAP);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, cn, K_RIGHT_READ));
  EXPECT_ERR(sys_signal(k_cptr_in(ro, 3)), K_ERR_NO_RIGHTS);        /* the CNode without write */
  /* a CNode one level down is itself named so, as the CNode of a (cnode, index) pair */
  EXPECT_OK(sys_retype(t->ut, K_OBJ_CNODE, 4, cn, 9, 1, 0));
  EXPECT_OK(sys_retype(t->ut, K_OBJ_NOTIFICATION, 0, k_cptr_in(cn, 9), 2, 1, 0));
  EXPECT(sys_cap_type(k_cptr_in(cn, 9), 2).val == K_OBJ_NOTIFICATION);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ro));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, cn)); /* with everything in it */
}
