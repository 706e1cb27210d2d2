/* Host unit tests: retype arithmetic, CNode slots, derivation, delete,
 * revoke and accounting, under ASan and UBSan. */
#include "fake_kernel.h"
#include "kernel/preempt.h"
#include "mm/dma.h"
#include <string.h>

static struct cte root_ut, cn_slot;
static struct cte *cn; /* 256 slots */

static int setup(void **state) {
  (void)state;
  cn = fake_fixture(&root_ut, &cn_slot, 8);
  return 0;
}

static u64 watermark(void) { return root_ut.cap.w2; }

static void retype_aligns_objects_naturally(void **state) {
  (void)state;
  u64 w0 = watermark(); /* the CNode: 256 * 64 bytes */
  assert_int_equal(w0, 16384);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(watermark(), w0 + 64);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 1, &cn[2]), K_ERR_OK);
  assert_int_equal(kva_to_pa((void *)cn[2].cap.obj) % 4096, 0);
  assert_int_equal(watermark(), w0 + 8192);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_2M, 0, 1, &cn[3]), K_ERR_OK);
  assert_int_equal(kva_to_pa((void *)cn[3].cap.obj) % (2u << 20), 0);
  assert_int_equal(retype(&root_ut, K_OBJ_TCB, 0, 2, &cn[4]), K_ERR_OK);
  assert_int_equal(cn[5].cap.obj - cn[4].cap.obj, 1024);
  /* Retype zeroes what it hands out (the arena was filled with 0xa5). */
  const u8 *frame = (const u8 *)cn[2].cap.obj;
  for (int i = 0; i < 4096; i++)
    assert_int_equal(frame[i], 0);
}

static void retype_checks_before_it_changes_anything(void **state) {
  (void)state;
  u64 w0 = watermark();
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 25, 1, &cn[1]), K_ERR_NO_MEMORY);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_2M, 0, 8, &cn[16]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_2M, 0, 8, &cn[1]), K_ERR_NO_MEMORY);
  cap_revoke(&root_ut); /* and back: the CNode too, so make it again */
  cn = fake_cnode(&root_ut, &cn_slot, 8);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_2M, 0, 9, &cn[1]), K_ERR_RANGE); /* more than K_RETYPE_MAX_ZEROED */
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 0, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, K_RETYPE_MAX_COUNT + 1, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&root_ut, K_OBJ_CNODE, 0, 1, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&root_ut, K_OBJ_CNODE, 17, 1, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&root_ut, K_OBJ_TYPE_COUNT, 0, 1, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&root_ut, K_OBJ_IRQ_CONTROL, 0, 1, &cn[1]), K_ERR_RANGE);
  assert_int_equal(retype(&cn_slot, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_WRONG_TYPE);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[3]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 4, &cn[1]), K_ERR_SLOT_OCCUPIED);
  assert_int_equal(watermark(), w0 + 64);
  assert_true(cte_empty(&cn[1]) && cte_empty(&cn[2]) && cte_empty(&cn[4]));
}

static void retype_fills_an_untyped_exactly(void **state) {
  (void)state;
  struct cte ut;
  fake_untyped(&ut, 8ull << 20, 8192, 0);
  assert_int_equal(retype(&ut, K_OBJ_FRAME_4K, 0, 2, &cn[1]), K_ERR_OK);
  assert_int_equal(retype(&ut, K_OBJ_ENDPOINT, 0, 1, &cn[3]), K_ERR_NO_MEMORY);
  cap_delete(&cn[1]);
  assert_int_equal(ut.cap.w2, 8192); /* one object left: no reuse yet */
  cap_delete(&cn[2]);
  assert_int_equal(ut.cap.w2, 0);
  assert_int_equal(retype(&ut, K_OBJ_ENDPOINT, 0, 1, &cn[3]), K_ERR_OK);
}

static void device_untyped_makes_only_frames_and_keeps_contents(void **state) {
  (void)state;
  struct cte dev;
  fake_untyped(&dev, 16ull << 20, 1ull << 21, CAPF_DEVICE);
  assert_int_equal(retype(&dev, K_OBJ_TCB, 0, 1, &cn[1]), K_ERR_DEVICE_MEMORY);
  assert_int_equal(retype(&dev, K_OBJ_CNODE, 4, 1, &cn[1]), K_ERR_DEVICE_MEMORY);
  assert_int_equal(retype(&dev, K_OBJ_FRAME_4K, 0, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(*(u8 *)cn[1].cap.obj, 0xa5);
  assert_true(cn[1].cap.flags & CAPF_DEVICE);
  assert_int_equal(retype(&dev, K_OBJ_UNTYPED, 12, 1, &cn[2]), K_ERR_OK);
  assert_true(cn[2].cap.flags & CAPF_DEVICE);
}

static void preserved_contents_only_until_first_reset(void **state) {
  (void)state;
  struct cte mod;
  fake_untyped(&mod, 16ull << 20, 8192, CAPF_PRESERVE);
  *(u8 *)pa_to_kva(16ull << 20) = 0x42;
  assert_int_equal(retype(&mod, K_OBJ_FRAME_4K, 0, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(*(u8 *)cn[1].cap.obj, 0x42);
  cap_delete(&cn[1]);
  assert_int_equal(retype(&mod, K_OBJ_FRAME_4K, 0, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(*(u8 *)cn[1].cap.obj, 0);
}

static void copies_keep_the_object_alive(void **state) {
  (void)state;
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_OK);
  cte_insert(&cn[2], &cn[1].cap, &cn[1]);
  cte_insert(&cn[3], &cn[2].cap, &cn[2]);
  cte_insert(&cn[4], &cn[1].cap, &cn[1]);
  cap_delete(&cn[1]); /* original goes: first child takes its place */
  assert_int_equal(fake.ep_destroyed, 0);
  assert_true(cap_is_original(&cn[4]) || cap_is_original(&cn[2]));
  cap_delete(&cn[2]);
  cap_delete(&cn[4]);
  assert_int_equal(fake.ep_destroyed, 0);
  cap_delete(&cn[3]);
  assert_int_equal(fake.ep_destroyed, 1);
  assert_null(root_ut.first_child->next); /* only the CNode is left */
}

static void revoke_deletes_the_subtree_only(void **state) {
  (void)state;
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_OK);
  cte_insert(&cn[2], &cn[1].cap, &cn[1]);
  cte_insert(&cn[3], &cn[2].cap, &cn[2]);
  cap_revoke(&cn[2]);
  assert_true(cte_empty(&cn[3]));
  assert_false(cte_empty(&cn[2]));
  assert_false(cte_empty(&cn[1]));
  assert_int_equal(fake.ep_destroyed, 0);
  cap_revoke(&cn[1]);
  assert_true(cte_empty(&cn[2]));
  assert_null(cn[1].first_child);
  assert_int_equal(fake.ep_destroyed, 0);
}

static void move_keeps_the_tree(void **state) {
  (void)state;
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_OK);
  cte_insert(&cn[2], &cn[1].cap, &cn[1]);
  cte_insert(&cn[3], &cn[1].cap, &cn[1]);
  cte_move(&cn[10], &cn[1]);
  assert_true(cte_empty(&cn[1]));
  assert_ptr_equal(cn[2].parent, &cn[10]);
  assert_ptr_equal(cn[3].parent, &cn[10]);
  assert_ptr_equal(cn[10].parent, &root_ut);
  cap_revoke(&cn[10]);
  assert_true(cte_empty(&cn[2]) && cte_empty(&cn[3]));
}

static void deleting_an_untyped_destroys_everything_made_from_it(void **state) {
  (void)state;
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 20, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(retype(&cn[1], K_OBJ_UNTYPED, 16, 1, &cn[2]), K_ERR_OK);
  assert_int_equal(retype(&cn[2], K_OBJ_ENDPOINT, 0, 3, &cn[3]), K_ERR_OK);
  assert_int_equal(retype(&cn[1], K_OBJ_TCB, 0, 1, &cn[6]), K_ERR_OK);
  cte_insert(&cn[7], &cn[3].cap, &cn[3]);
  cap_delete(&cn[1]);
  for (int i = 1; i <= 7; i++)
    assert_true(cte_empty(&cn[i]));
  assert_int_equal(fake.ep_destroyed, 3);
  assert_int_equal(fake.tcb_destroyed, 1);
}

/* A CNode that holds the only capability to itself, and a chain of CNodes
 * each holding the next: destruction must break cycles and must not recurse. */
static void cnode_cycles_and_chains_are_destroyed(void **state) {
  (void)state;
  struct cte *a = fake_cnode(&root_ut, &cn[1], 2);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &a[1]), K_ERR_OK);
  cte_move(&a[2], &cn[1]); /* a's only capability now lives in a */
  struct cte *holder = &cn[2];
  for (int i = 0; i < 2000; i++) {
    struct cte *next = fake_cnode(&root_ut, holder, 1);
    holder = &next[1];
  }
  assert_int_equal(retype(&root_ut, K_OBJ_NOTIFICATION, 0, 1, holder), K_ERR_OK);
  cap_delete(&cn[2]); /* the head: every CNode in the chain dies in turn */
  assert_int_equal(fake.ntfn_destroyed, 1);
  assert_null(cpu0.zombies);
  cap_revoke(&root_ut);
  assert_int_equal(fake.ep_destroyed, 1);
  assert_null(root_ut.first_child);
  assert_int_equal(root_ut.cap.w2, 0);
  assert_null(cpu0.zombies);
}

/* An address names a root slot, or with its upper half a slot of the
 * CNode in the root slot its lower half names; anything else names none. */
static void addresses_name_root_slots_and_slots_one_level_down(void **state) {
  (void)state;
  struct cte *sub = fake_cnode(&root_ut, &cn[2], 4);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[3]), K_ERR_OK);
  struct cte *out = 0;
  assert_int_equal(cspace_lookup(&cn_slot.cap, 3, &out), K_ERR_OK);
  assert_ptr_equal(out, &cn[3]);
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(2, 5), &out), K_ERR_OK);
  assert_ptr_equal(out, &sub[5]);
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(2, 15), &out), K_ERR_OK);
  assert_ptr_equal(out, &sub[15]);
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(2, 16), &out), K_ERR_INVALID_CAP); /* past its end */
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(3, 1), &out), K_ERR_INVALID_CAP);  /* an endpoint */
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(4, 1), &out), K_ERR_INVALID_CAP);  /* empty */
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(0, 1), &out), K_ERR_INVALID_CAP);  /* root slot 0 */
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(256, 1), &out), K_ERR_INVALID_CAP); /* past the root */
  assert_int_equal(cspace_lookup(&cn_slot.cap, 0, &out), K_ERR_INVALID_CAP);
  assert_int_equal(cspace_lookup(&cn_slot.cap, ~0ull, &out), K_ERR_INVALID_CAP);
  cn[2].cap.rights = K_RIGHT_READ;
  assert_int_equal(cspace_lookup(&cn_slot.cap, k_cptr_in(2, 5), &out), K_ERR_NO_RIGHTS);
  struct cap not_cnode = cn[3].cap;
  assert_int_equal(cspace_lookup(&not_cnode, 3, &out), K_ERR_NOT_CONFIGURED);
  /* runs stay in their CNode, and end where the index space does */
  assert_int_equal(cptr_next(k_cptr_in(2, 5), 3), k_cptr_in(2, 8));
  assert_int_equal(cptr_next(7, 3), 10);
  assert_int_equal(cptr_next(0xfffffffeull, 2), 0);
  assert_int_equal(cptr_next(k_cptr_in(2, 0xfffffffeull), 2), 0);
}

static void tcb_slots_are_emptied_when_it_dies(void **state) {
  (void)state;
  assert_int_equal(retype(&root_ut, K_OBJ_TCB, 0, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[2]), K_ERR_OK);
  struct tcb *t = (struct tcb *)cn[1].cap.obj;
  cte_insert(&t->slots[0], &cn[2].cap, &cn[2]);
  cap_delete(&cn[2]); /* the TCB's copy keeps the endpoint */
  assert_int_equal(fake.ep_destroyed, 0);
  cap_delete(&cn[1]);
  assert_int_equal(fake.tcb_destroyed, 1);
  assert_int_equal(fake.ep_destroyed, 1);
}

static void usage_reads_the_tree(void **state) {
  (void)state;
  struct k_untyped_usage u;
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 16, 1, &cn[1]), K_ERR_OK);
  assert_int_equal(retype(&cn[1], K_OBJ_ENDPOINT, 0, 2, &cn[2]), K_ERR_OK);
  cte_insert(&cn[4], &cn[2].cap, &cn[2]);
  assert_int_equal(retype(&root_ut, K_OBJ_PT, 0, 1, &cn[5]), K_ERR_OK);
  assert_int_equal(ut_usage(&root_ut, 0, &u, &u), K_ERR_OK);
  assert_int_equal(u.count[K_OBJ_CNODE], 1);
  assert_int_equal(u.count[K_OBJ_UNTYPED], 1);
  assert_int_equal(u.bytes[K_OBJ_UNTYPED], 65536);
  assert_int_equal(u.count[K_OBJ_PT], 1);
  assert_int_equal(u.count[K_OBJ_ENDPOINT], 0);
  assert_int_equal(ut_usage(&root_ut, 1, 0, &u), K_ERR_OK);
  assert_int_equal(u.count[K_OBJ_ENDPOINT], 2);
  assert_int_equal(u.bytes[K_OBJ_ENDPOINT], 128);
  assert_int_equal(ut_usage(&cn[1], 0, 0, &u), K_ERR_OK);
  assert_int_equal(u.label, 5);
  assert_int_equal(u.size - u.free, 128);
}

/* Runs op until it is done, restarting it after each preemption as the
 * system call would be; checks between restarts that no memory a pending
 * zombie lives in could be handed out again. Returns the restarts. */
static int run_preempted(int (*op)(struct cte *), struct cte *slot) {
  int restarts = 0, r;
  while ((r = op(slot)) == PREEMPTED) {
    restarts++;
    if (cpu0.zombies)
      assert_non_null(root_ut.first_child); /* a ZOMBIE under it: no reset */
    fake_check_links(&root_ut);
    fake_check_links(&cn_slot);
  }
  assert_int_equal(r, K_ERR_OK);
  return restarts;
}

/* Two CNodes holding each other's last capability, a chain, copies: a
 * revoke stopped every few steps ends exactly where an uninterrupted one
 * does, and the memory is reusable only at the end. */
static void preempted_revoke_ends_where_an_uninterrupted_one_does(void **state) {
  (void)state;
  struct cte *a = fake_cnode(&root_ut, &cn[1], 3), *b = fake_cnode(&root_ut, &cn[2], 3);
  cte_move(&a[1], &cn[2]); /* a holds b's only capability */
  cte_insert(&b[1], &cn[1].cap, &cn[1]);
  cap_delete(&cn[1]); /* the copy in b promoted: b holds a's only capability */
  assert_true(cte_empty(&cn[1]) && cte_empty(&cn[2]));
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 2, &a[2]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_TCB, 0, 1, &b[2]), K_ERR_OK);
  struct tcb *t = (struct tcb *)b[2].cap.obj;
  cte_insert(&t->slots[0], &a[2].cap, &a[2]);
  for (int i = 10; i < 200; i++) /* copies of an endpoint */
    cte_insert(&cn[i], &a[3].cap, &a[3]);
  struct cte *holder = &cn[3];
  for (int i = 0; i < 300; i++) {
    struct cte *next = fake_cnode(&root_ut, holder, 1);
    holder = &next[1];
  }
  assert_int_equal(retype(&root_ut, K_OBJ_NOTIFICATION, 0, 1, holder), K_ERR_OK);
  fake.irq_every = 2;
  assert_true(run_preempted(cap_revoke, &root_ut) > 10);
  assert_null(cpu0.zombies);
  assert_null(root_ut.first_child);
  assert_int_equal(root_ut.cap.w2, 0);
  assert_int_equal(fake.ep_destroyed, 2);
  assert_int_equal(fake.ntfn_destroyed, 1);
  assert_int_equal(fake.tcb_destroyed, 1);
}

/* Deleting an original with many copies promotes the first; the others
 * move under it a few per step, and a preemption in between loses none. */
static void preempted_promotion_keeps_every_copy(void **state) {
  (void)state;
  struct cte *copies = fake_cnode(&root_ut, &cn[2], 12);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[1]), K_ERR_OK);
  for (int i = 1; i < 4000; i++)
    cte_insert(&copies[i], &cn[1].cap, &cn[1]);
  fake.irq_every = 1;
  assert_true(run_preempted(cap_delete, &cn[1]) > 3);
  assert_true(cte_empty(&cn[1]));
  assert_int_equal(fake.ep_destroyed, 0);
  struct cte *heir = 0;
  for (int i = 1; i < 4000; i++)
    if (copies[i].parent && copies[i].parent->cap.type == K_OBJ_UNTYPED)
      heir = &copies[i];
  assert_non_null(heir);
  int n = 0;
  for (const struct cte *k = heir->first_child; k; k = k->next)
    n++;
  assert_int_equal(n, 3998);
  fake_check_links(heir);
  fake.irq_every = 0;
  assert_int_equal(cap_delete(heir), K_ERR_OK); /* promotes again */
  assert_int_equal(fake.ep_destroyed, 0);
}

/* A usage walk stopped every time it asks ends with the uninterrupted sums;
 * deleting the capability it stopped at makes it start over, not read a
 * dead slot. */
static void preempted_usage_counts_the_same(void **state) {
  (void)state;
  static const int owner;
  struct k_untyped_usage whole, part;
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 20, 1, &cn[1]), K_ERR_OK);
  for (int i = 0; i < 10; i++)
    assert_int_equal(retype(&cn[1], K_OBJ_ENDPOINT, 0, 20, &cn[2 + 20 * i]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_NOTIFICATION, 0, 30, &cn[210]), K_ERR_OK);
  assert_int_equal(ut_usage(&root_ut, 1, &owner, &whole), K_ERR_OK);
  fake.irq_every = 1;
  int stops = 0, r;
  while ((r = ut_usage(&root_ut, 1, &owner, &part)) == PREEMPTED)
    stops++;
  assert_int_equal(r, K_ERR_OK);
  assert_true(stops >= 3);
  assert_memory_equal(&whole, &part, sizeof(whole));
  /* Stopped once, then its place is deleted: the next call starts over. */
  assert_int_equal(ut_usage(&root_ut, 1, &owner, &part), PREEMPTED);
  struct cte *at = 0;
  for (int i = 1; i < 256; i++)
    if (cn[i].cap.flags & CAPF_USAGE_MARK)
      at = &cn[i];
  assert_non_null(at);
  assert_int_equal(at->cap.type, K_OBJ_ENDPOINT);
  cap_delete(at);
  assert_false(ut_usage_resumes(&root_ut, 1, &owner));
  fake.irq_every = 0;
  assert_int_equal(ut_usage(&root_ut, 1, &owner, &part), K_ERR_OK);
  assert_int_equal(part.count[K_OBJ_ENDPOINT], whole.count[K_OBJ_ENDPOINT] - 1);
}

/* A walk stopped, then its untyped moved away and another took its slot:
 * the next call starts over on the newcomer (it used to climb from its old
 * place and never meet it). */
static void usage_of_a_moved_untyped_starts_over(void **state) {
  (void)state;
  static const int owner;
  struct k_untyped_usage u;
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 20, 2, &cn[1]), K_ERR_OK);
  assert_int_equal(retype(&cn[1], K_OBJ_ENDPOINT, 0, 100, &cn[10]), K_ERR_OK);
  fake.irq_every = 1;
  assert_int_equal(ut_usage(&cn[1], 0, &owner, &u), PREEMPTED);
  cte_move(&cn[3], &cn[1]);
  cte_move(&cn[1], &cn[2]); /* the other untyped, with nothing made from it */
  assert_false(ut_usage_resumes(&cn[1], 0, &owner));
  fake.irq_every = 0;
  assert_int_equal(ut_usage(&cn[1], 0, &owner, &u), K_ERR_OK);
  assert_int_equal(u.count[K_OBJ_ENDPOINT], 0);
  for (int i = 1; i < 256; i++)
    if (cn[i].cap.flags & CAPF_USAGE_MARK)
      fail_msg("slot %d keeps the mark", i);
}

/* Report records in a plain array, as the system call keeps them in the
 * caller's memory. */
#define REPORT_RECORDS 4
static struct k_principal_report records[REPORT_RECORDS];
static int report_load(void *ctx, u32 i, struct k_principal_report *r) {
  *r = ((struct k_principal_report *)ctx)[i];
  return K_ERR_OK;
}
static int report_store(void *ctx, u32 i, const struct k_principal_report *r) {
  ((struct k_principal_report *)ctx)[i] = *r;
  return K_ERR_OK;
}
static const struct report_out report_to_records = {REPORT_RECORDS, records, report_load, report_store};

static struct cte *principal(u32 label, u32 bits, struct cte *slot) {
  struct retype_args a = {.type = K_OBJ_UNTYPED, .size_bits = bits, .count = 1, .label = label};
  assert_int_equal(ut_retype(&root_ut, &a, slot), K_ERR_OK);
  return slot;
}

/* Two principals trade frames and a donation: each record counts its own
 * objects, what lies in the other's memory (lent, donated) and what it
 * holds of the other's, and its thread's time. */
static void report_counts_each_principal(void **state) {
  (void)state;
  struct cte *a = principal(20, 20, &cn[1]), *b = principal(21, 20, &cn[2]);
  struct cte *a_cn = fake_cnode(a, &cn[3], 4), *b_cn = fake_cnode(b, &cn[4], 4);
  assert_int_equal(retype(&root_ut, K_OBJ_ENDPOINT, 0, 1, &cn[5]), K_ERR_OK);
  assert_int_equal(retype(a, K_OBJ_FRAME_4K, 0, 3, &a_cn[1]), K_ERR_OK);
  cte_move(&b_cn[1], &a_cn[1]); /* a frame of a's, gifted to b */
  a_cn[2].cap.flags |= CAPF_PINNED;
  struct retype_args donation = {.type = K_OBJ_UNTYPED, .size_bits = 14, .count = 1, .label = 0};
  assert_int_equal(ut_retype(a, &donation, &a_cn[4]), K_ERR_OK);
  assert_int_equal(a_cn[4].cap.label, 20); /* label 0: the parent's principal */
  cte_move(&b_cn[2], &a_cn[4]);
  assert_int_equal(retype(&b_cn[2], K_OBJ_ENDPOINT, 0, 1, &b_cn[3]), K_ERR_OK); /* b serves a from it */
  assert_int_equal(retype(b, K_OBJ_FRAME_4K, 0, 1, &a_cn[5]), K_ERR_OK);  /* made by b into a's CNode */
  assert_int_equal(retype(a, K_OBJ_TCB, 0, 1, &a_cn[6]), K_ERR_OK);
  ((struct tcb *)a_cn[6].cap.obj)->cpu_tsc = 1234;
  u32 n = 0;
  assert_int_equal(ut_report(&root_ut, 0, &report_to_records, &n), K_ERR_OK);
  assert_int_equal(n, 3);
  const struct k_principal_report *own = &records[0], *rb = &records[1], *ra = &records[2];
  assert_int_equal(own->count[K_OBJ_UNTYPED], 2);
  assert_int_equal(own->count[K_OBJ_ENDPOINT], 1);
  assert_int_equal(own->count[K_OBJ_CNODE], 1); /* the fixture's */
  assert_int_equal(ra->label, 20);
  assert_int_equal(rb->label, 21);
  assert_int_equal(ra->count[K_OBJ_FRAME_4K], 3);
  assert_int_equal(ra->count[K_OBJ_ENDPOINT], 1); /* made by b from a's donation: a's memory */
  assert_int_equal(ra->lent_frames, 1);
  assert_int_equal(ra->lent_bytes, 4096);
  assert_int_equal(ra->donated, 1);
  assert_int_equal(ra->donated_bytes, 16384);
  assert_int_equal(ra->pinned_frames, 1);
  assert_int_equal(ra->threads, 1);
  assert_int_equal(ra->cpu_ns, 1234);
  assert_int_equal(ra->held_frames, 1);
  /* CNode 1 KiB, frames from 4 KiB, the donation from 16 KiB, the TCB from
   * 32 KiB; the donation's unused part is free. */
  assert_int_equal(ra->size - ra->free, 33792 - (16384 - 64));
  assert_int_equal(rb->count[K_OBJ_FRAME_4K], 1);
  assert_int_equal(rb->held_frames, 1);
  assert_int_equal(rb->held_untypeds, 1);
  assert_int_equal(rb->lent_frames, 1);
  assert_int_equal(rb->count[K_OBJ_ENDPOINT], 0);
}

/* A gift and a donation counted on both sides, and no more once the gift
 * is back; a caller with room for fewer records than principals. */
static void report_counts_what_a_principal_holds(void **state) {
  (void)state;
  struct cte *a = principal(20, 20, &cn[1]), *b = principal(21, 20, &cn[2]);
  struct cte *a_cn = fake_cnode(a, &cn[3], 4), *b_cn = fake_cnode(b, &cn[4], 4);
  assert_int_equal(retype(a, K_OBJ_FRAME_4K, 0, 2, &a_cn[1]), K_ERR_OK);
  cte_move(&b_cn[1], &a_cn[1]);
  struct retype_args donation = {.type = K_OBJ_UNTYPED, .size_bits = 14, .count = 1, .label = 0};
  assert_int_equal(ut_retype(a, &donation, &b_cn[2]), K_ERR_OK);
  u32 n = 0;
  assert_int_equal(ut_report(&root_ut, 0, &report_to_records, &n), K_ERR_OK);
  const struct k_principal_report *rb = &records[1], *ra = &records[2];
  assert_int_equal(ra->lent_frames, 1);
  assert_int_equal(ra->donated, 1);
  assert_int_equal(rb->held_frames, 1);
  assert_int_equal(rb->held_bytes, 4096);
  assert_int_equal(rb->held_untypeds, 1);
  assert_int_equal(rb->held_untyped_bytes, 16384);
  assert_int_equal(ra->held_frames, 0);
  /* The gift goes back: nothing lent, nothing held. */
  cte_move(&a_cn[1], &b_cn[1]);
  assert_int_equal(ut_report(&root_ut, 0, &report_to_records, &n), K_ERR_OK);
  assert_int_equal(records[2].lent_frames, 0);
  assert_int_equal(records[1].held_frames, 0);
  /* Fewer records than principals: the rest are counted, not walked. */
  const struct report_out one = {1, records, report_load, report_store};
  memset(records, 0xee, sizeof(records));
  assert_int_equal(ut_report(&root_ut, 0, &one, &n), K_ERR_OK);
  assert_int_equal(n, 3);
  assert_int_equal(records[0].count[K_OBJ_UNTYPED], 2);
  assert_int_equal(records[1].label, 0xeeeeeeee);
}

/* A report stopped at every question ends with the uninterrupted figures,
 * in the middle of a CNode's slots too; deleting the capability it stopped
 * at makes it start over. */
static void preempted_report_counts_the_same(void **state) {
  (void)state;
  static const int owner;
  struct k_principal_report whole[REPORT_RECORDS];
  struct cte *a = principal(20, 20, &cn[1]), *b = principal(21, 20, &cn[2]);
  struct cte *a_cn = fake_cnode(a, &cn[3], 8), *b_cn = fake_cnode(b, &cn[4], 8);
  assert_int_equal(retype(a, K_OBJ_FRAME_4K, 0, 100, &a_cn[1]), K_ERR_OK);
  for (int i = 1; i < 60; i++)
    cte_move(&b_cn[i], &a_cn[i]);
  assert_int_equal(retype(b, K_OBJ_ENDPOINT, 0, 50, &b_cn[100]), K_ERR_OK);
  u32 n = 0, m = 0;
  assert_int_equal(ut_report(&root_ut, &owner, &report_to_records, &n), K_ERR_OK);
  memcpy(whole, records, sizeof(whole));
  assert_int_equal(whole[1].held_frames, 59);
  fake.irq_every = 1;
  int stops = 0, r;
  memset(records, 0, sizeof(records));
  while ((r = ut_report(&root_ut, &owner, &report_to_records, &m)) == PREEMPTED)
    stops++;
  assert_int_equal(r, K_ERR_OK);
  assert_true(stops >= 8); /* 256-slot CNodes: stops inside them */
  assert_int_equal(m, n);
  assert_memory_equal(whole, records, n * sizeof(whole[0]));
  assert_int_equal(ut_report(&root_ut, &owner, &report_to_records, &m), PREEMPTED);
  struct cte *at = 0;
  for (int i = 1; i < 256; i++)
    if (a_cn[i].cap.flags & CAPF_USAGE_MARK)
      at = &a_cn[i];
  for (int i = 1; i < 256 && !at; i++)
    if (cn[i].cap.flags & CAPF_USAGE_MARK)
      at = &cn[i];
  assert_non_null(at);
  cap_delete(at);
  fake.irq_every = 0;
  assert_int_equal(ut_report(&root_ut, &owner, &report_to_records, &m), K_ERR_OK);
  assert_true(memcmp(whole, records, n * sizeof(whole[0])) != 0);
}

/* Deleting what was made last gives its memory back to the untyped; not
 * so anything below the top, nor past a remnant that must keep its
 * memory from reuse while a device may write it. */
static void deleting_the_last_object_gives_its_memory_back(void **state) {
  (void)state;
  u64 w0 = watermark();
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 16, 1, &cn[1]), K_ERR_OK);
  u64 w1 = watermark();
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 16, 1, &cn[2]), K_ERR_OK);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 2, &cn[3]), K_ERR_OK);
  u64 w3 = watermark();
  assert_int_equal(cap_delete(&cn[3]), K_ERR_OK); /* below the top */
  assert_int_equal(watermark(), w3);
  assert_int_equal(cap_delete(&cn[4]), K_ERR_OK); /* the top: back to its start */
  assert_int_equal(watermark(), w3 - 4096);
  assert_int_equal(cap_delete(&cn[2]), K_ERR_OK); /* now the top untyped */
  assert_int_equal(watermark(), w3 - 4096); /* cn[3]'s frame was above it, deleted but not given back */
  /* a pinned frame's remnant, handed up from an untyped that goes */
  assert_int_equal(retype(&root_ut, K_OBJ_UNTYPED, 16, 1, &cn[5]), K_ERR_OK);
  u64 w5 = watermark();
  u64 pa;
  assert_int_equal(retype(&cn[5], K_OBJ_FRAME_4K, 0, 1, &cn[6]), K_ERR_OK);
  assert_int_equal(dma_pin(&cn[6], &pa), K_ERR_OK);
  assert_int_equal(cap_delete(&cn[6]), K_ERR_OK);
  assert_int_equal(cn[6].cap.type, K_OBJ_PINNED_FRAME);
  assert_int_equal(cap_delete(&cn[5]), K_ERR_OK);
  assert_int_equal(watermark(), w5); /* the remnant still lies in it */
  assert_int_equal(dma_unpin(&cn[6]), K_ERR_OK);
  assert_int_equal(cap_delete(&cn[1]), K_ERR_OK);
  assert_true(watermark() >= w1); /* cn[1] is below others: not given back */
  (void)w0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(retype_aligns_objects_naturally, setup),
      cmocka_unit_test_setup(addresses_name_root_slots_and_slots_one_level_down, setup),
      cmocka_unit_test_setup(retype_checks_before_it_changes_anything, setup),
      cmocka_unit_test_setup(retype_fills_an_untyped_exactly, setup),
      cmocka_unit_test_setup(device_untyped_makes_only_frames_and_keeps_contents, setup),
      cmocka_unit_test_setup(preserved_contents_only_until_first_reset, setup),
      cmocka_unit_test_setup(copies_keep_the_object_alive, setup),
      cmocka_unit_test_setup(revoke_deletes_the_subtree_only, setup),
      cmocka_unit_test_setup(move_keeps_the_tree, setup),
      cmocka_unit_test_setup(deleting_an_untyped_destroys_everything_made_from_it, setup),
      cmocka_unit_test_setup(cnode_cycles_and_chains_are_destroyed, setup),
      cmocka_unit_test_setup(tcb_slots_are_emptied_when_it_dies, setup),
      cmocka_unit_test_setup(usage_reads_the_tree, setup),
      cmocka_unit_test_setup(preempted_revoke_ends_where_an_uninterrupted_one_does, setup),
      cmocka_unit_test_setup(preempted_promotion_keeps_every_copy, setup),
      cmocka_unit_test_setup(preempted_usage_counts_the_same, setup),
      cmocka_unit_test_setup(usage_of_a_moved_untyped_starts_over, setup),
      cmocka_unit_test_setup(report_counts_each_principal, setup),
      cmocka_unit_test_setup(report_counts_what_a_principal_holds, setup),
      cmocka_unit_test_setup(preempted_report_counts_the_same, setup),
      cmocka_unit_test_setup(deleting_the_last_object_gives_its_memory_back, setup),
  };
  return cmocka_run_group_tests_name("cap", tests, NULL, NULL);
}
