/* Host unit tests of gift batch validation and the move. */
#include "fake_kernel.h"
#include "ipc/gift.h"
#include "mm/dma.h"
#include <string.h>

static struct cte root_ut, cn_slot;
static struct cte *cn; /* 1024 slots */
enum { VS = 1, PDPT, PD, PT, RVS, RPDPT, RPD, RPT, EP, FRAMES = 16, DEST = 600 };
#define GIVER_VA 0x200000ull
#define WINDOW 0x400000ull

static void map_tables(int vs, int pdpt, int pd, int pt, u64 va) {
  assert_int_equal(vs_map_table(&cn[pdpt], &cn[vs], va), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[pd], &cn[vs], va), K_ERR_OK);
  assert_int_equal(vs_map_table(&cn[pt], &cn[vs], va), K_ERR_OK);
}

static int setup(void **state) {
  (void)state;
  cn = fake_fixture(&root_ut, &cn_slot, 10);
  static const u32 types[] = {0, K_OBJ_VSPACE, K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT, K_OBJ_VSPACE, K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT, K_OBJ_ENDPOINT};
  for (int i = VS; i <= EP; i++)
    assert_int_equal(retype(&root_ut, types[i], 0, 1, &cn[i]), K_ERR_OK);
  map_tables(VS, PDPT, PD, PT, GIVER_VA);
  map_tables(RVS, RPDPT, RPD, RPT, WINDOW);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 64, &cn[FRAMES]), K_ERR_OK);
  for (int i = 0; i < 64; i++) {
    assert_int_equal(vs_map_frame(&cn[FRAMES + i], &cn[VS], GIVER_VA + 4096ull * i, K_MAP_WRITE), K_ERR_OK);
    *(u64 *)cn[FRAMES + i].cap.obj = (u64)i;
  }
  return 0;
}

static u32 list[512];

static struct gift_src src(u32 n) {
  struct gift_src s = {&cn_slot.cap, list, n};
  return s;
}

static struct gift_dst dst(u64 window, u64 size) {
  struct gift_dst d = {&cn[DEST], &cn[RVS], window, size};
  return d;
}

static void fill(u32 n) {
  for (u32 i = 0; i < n; i++)
    list[i] = FRAMES + i;
}

/* Check a batch as a sender that then does not go on to move it. */
static int check(u32 n, u64 *bad) {
  struct gift_src s = src(n);
  int err = gift_check_source_batch(&s, bad);
  if (!err)
    gift_abandon(&s);
  return err;
}

/* A sender whose gift_cnode names no CNode it may write: every entry is
 * invalid, whatever it names, and nothing is marked. */
static void gifts_from_no_cnode_are_invalid(void **state) {
  (void)state;
  fill(4);
  u64 bad = 99;
  struct gift_src s = {0, list, 4};
  assert_int_equal(gift_check_source_batch(&s, &bad), K_ERR_INVALID_CAP);
  assert_int_equal(bad, 0);
  assert_int_equal(check(4, &bad), K_ERR_OK); /* the same entries from the CNode itself */
}

static void a_good_batch_moves_and_remaps(void **state) {
  (void)state;
  fill(64);
  u64 bad = 99;
  struct gift_src s = src(64);
  assert_int_equal(gift_check_source_batch(&s, &bad), K_ERR_OK);
  struct gift_dst d = dst(WINDOW, 64 * 4096);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_OK);
  int flushes = fake.tlb_page_flushes;
  assert_int_equal(gift_move(&s, &d), 64 * 4096);
  assert_int_equal(fake.tlb_page_flushes, flushes + 64); /* one invalidation per giver mapping */
  const struct vs_table *giver = (const struct vs_table *)cn[VS].cap.obj;
  const struct vs_table *recv = (const struct vs_table *)cn[RVS].cap.obj;
  for (int i = 0; i < 64; i++) {
    assert_true(cte_empty(&cn[FRAMES + i]));
    assert_int_equal(cn[DEST + i].cap.type, K_OBJ_FRAME_4K);
    assert_ptr_equal(cn[DEST + i].parent, &root_ut); /* the owner is the same untyped */
    assert_int_equal(vs_translate(giver, GIVER_VA + 4096ull * i, 0), 0);
    u64 pa = vs_translate(recv, WINDOW + 4096ull * i, 1);
    assert_int_equal(*(u64 *)pa_to_kva(pa), (u64)i);
  }
  for (u32 i = 0; i < 64; i++)
    assert_int_equal(check(1, &bad), K_ERR_EMPTY_SLOT); /* nothing left to give */
}

static void each_bad_entry_has_its_error_and_index(void **state) {
  (void)state;
  u64 bad;
  fill(8);
  list[3] = EP;
  assert_int_equal(check(8, &bad), K_ERR_GIFT_NOT_FRAME);
  assert_int_equal(bad, 3);
  list[3] = 900;
  assert_int_equal(check(8, &bad), K_ERR_EMPTY_SLOT);
  list[3] = 0;
  assert_int_equal(check(8, &bad), K_ERR_INVALID_CAP);
  list[3] = 5000;
  assert_int_equal(check(8, &bad), K_ERR_INVALID_CAP);
  list[3] = FRAMES + 1;
  assert_int_equal(check(8, &bad), K_ERR_GIFT_DUPLICATE);
  assert_int_equal(bad, 3);
  fill(8);
  cte_insert(&cn[700], &cn[FRAMES + 5].cap, &cn[FRAMES + 5]);
  cn[700].cap.w1 = cn[700].cap.w2 = 0;
  assert_int_equal(check(8, &bad), K_ERR_GIFT_HAS_COPIES);
  assert_int_equal(bad, 5);
  assert_int_equal(vs_map_frame(&cn[700], &cn[RVS], WINDOW, 0), K_ERR_OK);
  assert_int_equal(check(8, &bad), K_ERR_GIFT_MAPPED_ELSEWHERE);
  list[5] = 700; /* the copy itself: the original is mapped */
  assert_int_equal(check(8, &bad), K_ERR_GIFT_MAPPED_ELSEWHERE);
  cap_delete(&cn[700]);
  fill(8);
  u64 pa;
  assert_int_equal(dma_pin(&cn[FRAMES + 6], &pa), K_ERR_OK);
  assert_int_equal(check(8, &bad), K_ERR_GIFT_PINNED);
  assert_int_equal(bad, 6);
  /* No mark is left behind by a refused batch. */
  for (int i = 0; i < 8; i++)
    assert_int_equal(cn[FRAMES + i].cap.flags & 0x8000, 0);
}

/* dma_pin_check answers what dma_pin would, and changes nothing. */
static void pin_check_matches_pin(void **state) {
  (void)state;
  u64 pa;
  assert_int_equal(dma_pin_check(&cn[EP]), K_ERR_WRONG_TYPE);
  assert_int_equal(dma_pin_check(&cn[FRAMES]), K_ERR_OK);
  assert_int_equal(cn[FRAMES].cap.flags & CAPF_PINNED, 0);
  assert_int_equal(dma_pin(&cn[FRAMES], &pa), K_ERR_OK);
  assert_int_equal(dma_pin_check(&cn[FRAMES]), K_ERR_PINNED);
  assert_int_equal(dma_unpin(&cn[FRAMES]), K_ERR_OK);
  cte_insert(&cn[700], &cn[FRAMES + 1].cap, &cn[FRAMES + 1]);
  cn[700].cap.w1 = cn[700].cap.w2 = 0;
  assert_int_equal(dma_pin_check(&cn[FRAMES + 1]), K_ERR_GIFT_HAS_COPIES);
  assert_int_equal(dma_pin_check(&cn[700]), K_ERR_GIFT_HAS_COPIES);
  assert_int_equal(dma_pin(&cn[FRAMES + 1], &pa), K_ERR_GIFT_HAS_COPIES);
  cap_delete(&cn[700]);
  assert_int_equal(dma_pin_check(&cn[FRAMES + 1]), K_ERR_OK);
}

static void receive_side_errors(void **state) {
  (void)state;
  u64 bad;
  fill(4);
  struct gift_src s = src(4);
  struct gift_dst d = dst(WINDOW, 4 * 4096);
  cte_insert(&cn[DEST + 2], &cn[EP].cap, &cn[EP]);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_RECV_SLOTS_FULL);
  assert_int_equal(bad, 2);
  cap_delete(&cn[DEST + 2]);
  d.window_size = 3 * 4096;
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_WINDOW_TOO_SMALL);
  assert_int_equal(bad, 3);
  d = dst(0x40000000, 4 * 4096); /* no tables there */
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_WINDOW_NO_TABLES);
  d = dst(WINDOW, 4 * 4096);
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 1, &cn[800]), K_ERR_OK);
  assert_int_equal(vs_map_frame(&cn[800], &cn[RVS], WINDOW + 4096, 0), K_ERR_OK);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_WINDOW_OCCUPIED);
  assert_int_equal(bad, 1);
  d = dst(K_USER_VADDR_END - 4096, 8192);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_BAD_ADDRESS);
  d = dst(0, 0); /* no window: only the slots matter */
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_OK);
}

static void large_frames_align_in_the_window(void **state) {
  (void)state;
  u64 bad;
  assert_int_equal(retype(&root_ut, K_OBJ_FRAME_2M, 0, 1, &cn[900]), K_ERR_OK);
  list[0] = 900;
  struct gift_src s = src(1);
  /* At WINDOW the PD entry holds the receiver's page table: no room for 2 MiB. */
  struct gift_dst d = dst(WINDOW, 4u << 20);
  assert_int_equal(gift_check_source_batch(&s, &bad), K_ERR_OK);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_WINDOW_OCCUPIED);
  /* A 4 KiB frame in the PT's last entry, then the 2 MiB one at the next
   * 2 MiB boundary. */
  list[0] = FRAMES;
  list[1] = 900;
  s = src(2);
  gift_abandon(&s);
  assert_int_equal(gift_check_source_batch(&s, &bad), K_ERR_OK);
  d = dst(WINDOW + (2u << 20) - 4096, (2u << 20) + 4096);
  assert_int_equal(gift_check_window(&s, &d, &bad), K_ERR_OK);
  assert_int_equal(gift_move(&s, &d), (2u << 20) + 4096);
  assert_int_equal(cn[DEST + 1].cap.flags & 0x8000, 0); /* the move cleared the marks */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(a_good_batch_moves_and_remaps, setup),
      cmocka_unit_test_setup(gifts_from_no_cnode_are_invalid, setup),
      cmocka_unit_test_setup(each_bad_entry_has_its_error_and_index, setup),
      cmocka_unit_test_setup(receive_side_errors, setup),
      cmocka_unit_test_setup(pin_check_matches_pin, setup),
      cmocka_unit_test_setup(large_frames_align_in_the_window, setup),
  };
  return cmocka_run_group_tests_name("gift", tests, NULL, NULL);
}
