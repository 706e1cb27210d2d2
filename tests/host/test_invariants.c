/* The invariant checker (kernel/invariants.c) on the host: a sound state
 * passes, and each kind of damage a kernel bug could do is reported. */
#include "fake_kernel.h"
#include "kernel/invariants.h"
#include "ipc/endpoint.h"
#include <string.h>

static struct cte root_ut, cn_slot;
static struct cte *cn; /* 256 slots */

static int setup(void **state) {
  (void)state;
  cn = fake_fixture(&root_ut, &cn_slot, 8);
  inv_add_holder(&root_ut, 1); /* the fixture's slots outside any CNode */
  inv_add_holder(&cn_slot, 1);
  return 0;
}

static int check(void) {
  u64 n;
  return inv_check(&n);
}

static void copy(struct cte *dst, struct cte *src) {
  struct cap c = src->cap;
  c.w1 = c.w2 = 0;
  cte_insert(dst, &c, src);
}

/* Frames, copies, an endpoint, a mapping: all consistent. */
static void build(void) {
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 2, &cn[1]), K_ERR_OK);
  copy(&cn[3], &cn[1]);
  copy(&cn[4], &cn[3]);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[5]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_VSPACE, 0, 1, &cn[6]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_PDPT, 0, 1, &cn[7]), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[7], &cn[6], 0), K_ERR_OK);
}

static void a_sound_state_passes(void **state) {
  (void)state;
  build();
  assert_int_equal(check(), K_ERR_OK);
  cap_delete(&cn[3]); /* promotes cn[4] */
  cap_revoke(&cn[1]);
  assert_int_equal(check(), K_ERR_OK);
}

static void a_broken_parent_link_is_found(void **state) {
  (void)state;
  build();
  cn[4].parent = &cn[1]; /* listed under cn[3], claims cn[1] */
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_copy_of_an_emptied_slot_is_found(void **state) {
  (void)state;
  build();
  cn[3].cap.type = K_OBJ_NULL; /* what a gift of a frame that also had a copy made did */
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_copy_naming_another_object_is_found(void **state) {
  (void)state;
  build();
  cn[4].cap.obj = cn[2].cap.obj;
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void an_object_above_the_watermark_is_found(void **state) {
  (void)state;
  build();
  root_ut.cap.w2 -= 8192; /* the last table now lies in free memory */
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_stale_page_table_entry_is_found(void **state) {
  (void)state;
  build();
  struct vs_table *root = (struct vs_table *)cn[6].cap.obj;
  root->back[0] = &cn[1]; /* names a frame that records no mapping */
  assert_int_equal(check(), K_ERR_INVARIANT);
  root->back[0] = &cn[7];
  cn[7].cap.w1 = 0; /* the table forgets it is mapped */
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_capability_in_no_tree_is_found(void **state) {
  (void)state;
  build();
  cn[9] = cn[2]; /* a slot copied by value: in a CNode, in no tree */
  cn[9].parent = cn[9].next = cn[9].prev = cn[9].first_child = 0;
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_pinned_frame_with_a_copy_is_found(void **state) {
  (void)state;
  build();
  cn[2].cap.flags |= CAPF_PINNED;
  assert_int_equal(check(), K_ERR_OK);
  copy(&cn[10], &cn[2]);
  assert_int_equal(check(), K_ERR_INVARIANT);
}

/* A window's tables belong to one address space: no copies below the root. */
static void a_copied_page_table_is_found(void **state) {
  (void)state;
  build();
  copy(&cn[12], &cn[7]);
  assert_int_equal(check(), K_ERR_INVARIANT);
}

static void a_broken_endpoint_queue_is_found(void **state) {
  (void)state;
  build();
  assert_int_equal(retype(&root_ut, K_OBJ_TCB, 0, 1, &cn[11]), K_ERR_OK);
  struct endpoint *ep = (struct endpoint *)cn[5].cap.obj;
  struct tcb *t = (struct tcb *)cn[11].cap.obj;
  ep->head = ep->tail = t; /* queued, but the thread does not wait */
  ep->state = IPC_SEND;
  assert_int_equal(check(), K_ERR_INVARIANT);
  t->state = K_TCB_BLOCKED;
  t->ipc_state = IPC_SEND;
  t->ep = ep;
  assert_int_equal(check(), K_ERR_OK);
  ep->tail = 0;
  assert_int_equal(check(), K_ERR_INVARIANT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(a_sound_state_passes, setup),
      cmocka_unit_test_setup(a_broken_parent_link_is_found, setup),
      cmocka_unit_test_setup(a_copy_of_an_emptied_slot_is_found, setup),
      cmocka_unit_test_setup(a_copy_naming_another_object_is_found, setup),
      cmocka_unit_test_setup(an_object_above_the_watermark_is_found, setup),
      cmocka_unit_test_setup(a_stale_page_table_entry_is_found, setup),
      cmocka_unit_test_setup(a_capability_in_no_tree_is_found, setup),
      cmocka_unit_test_setup(a_pinned_frame_with_a_copy_is_found, setup),
      cmocka_unit_test_setup(a_copied_page_table_is_found, setup),
      cmocka_unit_test_setup(a_broken_endpoint_queue_is_found, setup),
  };
  return cmocka_run_group_tests_name("invariants", tests, NULL, NULL);
}
