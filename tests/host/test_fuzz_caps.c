/* Randomised sequences of capability, mapping, gift and pin operations on
 * the host build (ASan + UBSan), with the derivation tree and the mapping
 * back-pointers checked for consistency after every step. A fixed seed per
 * run keeps failures reproducible; FUZZ_SEED and FUZZ_STEPS override. */
#include "fake_kernel.h"
#include "ipc/gift.h"
#include "ipc/transfer.h"
#include "kernel/invariants.h"
#include "mm/dma.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 256
static struct cte root_ut, cn_slot;
static struct cte *cn;
static u64 rng;
static u64 cur_seed, cur_step; /* printed if a check fails: FUZZ_SEED replays it */

static u64 rnd(u64 n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return n ? rng % n : 0;
}

static struct cte *any_slot(void) { return &cn[1 + rnd(SLOTS - 1)]; }

static struct cte *some_cap(u8 type) {
  for (int tries = 0; tries < 64; tries++) {
    struct cte *c = any_slot();
    if (!cte_empty(c) && (type == K_OBJ_NULL || c->cap.type == type))
      return c;
  }
  return 0;
}

static struct cte *empty_slot(void) {
  for (int tries = 0; tries < 64; tries++) {
    struct cte *c = any_slot();
    if (cte_empty(c))
      return c;
  }
  return 0;
}

static int is_table(u8 t) { return t == K_OBJ_PDPT || t == K_OBJ_PD || t == K_OBJ_PT; }
static int is_frame(u8 t) { return t == K_OBJ_FRAME_4K || t == K_OBJ_FRAME_2M; }

/* Every invariant the operations must keep. */
static void check_slot(const struct cte *c) {
  if (cte_empty(c))
    return;
  fake_check_links(c);
  if (c->parent) {
    int found = 0;
    for (const struct cte *k = c->parent->first_child; k; k = k->next)
      found |= k == c;
    assert_true(found);
  }
  if ((is_frame(c->cap.type) || is_table(c->cap.type)) && c->cap.w1) {
    const struct vs_table *t = (const struct vs_table *)c->cap.w1;
    int level = c->cap.type == K_OBJ_FRAME_4K ? 1 : c->cap.type == K_OBJ_FRAME_2M ? 2 : vs_level(c->cap.type) + 1;
    unsigned i = pt_index(c->cap.w2, level);
    assert_ptr_equal(t->back[i], c);
    assert_true(t->e[i] & PTE_P);
  }
  if (c->cap.type == K_OBJ_UNTYPED)
    assert_true(c->cap.w2 <= c->cap.w1);
  assert_int_equal(c->cap.flags & 0x8000, 0); /* no gift mark left behind */
}

static void check_all(void) {
  for (int i = 1; i < SLOTS; i++)
    check_slot(&cn[i]);
  check_slot(&root_ut);
  assert_null(cpu0.zombies);
  u64 n;
  assert_int_equal(inv_check(&n), K_ERR_OK); /* the kernel's own checker agrees */
}

static const u32 types[] = {K_OBJ_UNTYPED, K_OBJ_CNODE, K_OBJ_TCB, K_OBJ_ENDPOINT, K_OBJ_NOTIFICATION, K_OBJ_VSPACE,
                            K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT, K_OBJ_FRAME_4K, K_OBJ_FRAME_4K, K_OBJ_FRAME_4K};

static void op_retype(void) {
  struct cte *ut = rnd(3) ? &root_ut : some_cap(K_OBJ_UNTYPED), *d = empty_slot();
  if (!ut || !d)
    return;
  struct retype_args a = {.type = types[rnd(sizeof(types) / sizeof(types[0]))], .count = 1};
  a.size_bits = a.type == K_OBJ_UNTYPED ? 12 + (u32)rnd(6) : a.type == K_OBJ_CNODE ? 1 + (u32)rnd(3) : 0;
  ut_retype(ut, &a, d);
}

static void op_copy(void) {
  struct cte *s = some_cap(K_OBJ_NULL), *d = empty_slot();
  if (!s || !d || cap_derivable(&s->cap) != K_ERR_OK) /* the kernel's rule for every copy */
    return;
  struct cap c = s->cap;
  if (vs_cap_is_mapped(&c))
    c.w1 = c.w2 = 0;
  cte_insert(d, &c, s);
}

static void op_move(void) {
  struct cte *s = some_cap(K_OBJ_NULL), *d = empty_slot();
  if (s && d)
    cte_move(d, s);
}

static u64 random_va(void) { return (rnd(2) << 30) | (rnd(2) << 21) | (rnd(8) << 12); }

/* Like a user's env_map: a missing level is retyped and mapped, then retried. */
static void map_frame(struct cte *vs, struct cte *f, u64 va) {
  for (int level = 0; level < 4; level++) {
    int err = vs_map_frame(f, vs, va, K_MAP_WRITE);
    u32 t = err == K_ERR_MISSING_PDPT ? K_OBJ_PDPT : err == K_ERR_MISSING_PD ? K_OBJ_PD : err == K_ERR_MISSING_PT ? K_OBJ_PT : 0;
    struct cte *d = empty_slot();
    struct retype_args a = {.type = t, .count = 1};
    if (!t || !d || ut_retype(&root_ut, &a, d) || vs_map_table(d, vs, va))
      return;
  }
}

static void op_map(void) {
  struct cte *vs = some_cap(K_OBJ_VSPACE), *c = some_cap(K_OBJ_NULL);
  if (!vs || !c)
    return;
  if (is_table(c->cap.type))
    vs_map_table(c, vs, random_va());
  else if (is_frame(c->cap.type))
    map_frame(vs, c, random_va() & ~(cap_object_size(&c->cap) - 1));
}

static void op_gift(void) {
  static u32 list[8];
  struct cte *vs = some_cap(K_OBJ_VSPACE);
  u32 n = 1 + (u32)rnd(8);
  for (u32 i = 0; i < n; i++) { /* mostly frames, sometimes anything */
    struct cte *f = rnd(8) ? some_cap(K_OBJ_FRAME_4K) : any_slot();
    list[i] = f ? (u32)(f - cn) : (u32)rnd(SLOTS);
  }
  u32 first = (u32)(1 + rnd(SLOTS - 9));
  for (u32 tries = 0; tries < SLOTS && rnd(4); tries++) { /* usually look for n empty slots */
    u32 k = 0;
    while (k < n && cte_empty(&cn[first + k]))
      k++;
    if (k == n)
      break;
    first = first % (SLOTS - 9) + 1;
  }
  struct gift_src s = {&cn_slot.cap, list, n};
  struct gift_dst d = {&cn[first], vs, vs && rnd(2) ? random_va() : 0, 64 * 4096};
  u64 bad;
  if (gift_check_source_batch(&s, &bad))
    return;
  if (!vs || gift_check_window(&s, &d, &bad)) {
    gift_abandon(&s);
    return;
  }
  gift_move(&s, &d);
}

static void op_pin(void) {
  struct cte *c = some_cap(K_OBJ_NULL);
  u64 pa;
  if (c && rnd(2))
    dma_pin(c, &pa);
  else if (c)
    dma_unpin(c);
}

/* Two threads of the one CSpace, each with an IPC buffer, exchange random
 * messages through ipc_transfer: words, capabilities (an untyped moves)
 * and gifts into the receiver's slots and window, the same slot now and
 * then named as a capability and a gift, or twice. */
static struct cte tcb_cte[2], buf_cte[2];
static struct tcb *thr[2];

static void make_threads(void) {
  for (int i = 0; i < 2; i++) {
    memset(&tcb_cte[i], 0, sizeof(tcb_cte[i]));
    memset(&buf_cte[i], 0, sizeof(buf_cte[i]));
    assert_int_equal(retype(&root_ut, K_OBJ_TCB, 0, 1, &tcb_cte[i]), K_ERR_OK);
    assert_int_equal(retype(&root_ut, K_OBJ_FRAME_4K, 0, 1, &buf_cte[i]), K_ERR_OK);
    thr[i] = (struct tcb *)tcb_cte[i].cap.obj;
    cte_insert(&thr[i]->slots[TCB_SLOT_CSPACE], &cn_slot.cap, &cn_slot);
    cte_insert(&thr[i]->slots[TCB_SLOT_IPC_BUFFER], &buf_cte[i].cap, &buf_cte[i]);
  }
}

static u32 msg_slot(void) {
  struct cte *f = rnd(2) ? some_cap(K_OBJ_FRAME_4K) : some_cap(K_OBJ_NULL);
  return f && rnd(8) ? (u32)(f - cn) : (u32)rnd(SLOTS + 4);
}

static void op_transfer(void) {
  struct tcb *snd = thr[rnd(2)], *rcv = thr[rnd(2)];
  struct k_ipc_buffer *sb = ipc_buffer_of(snd), *rb = ipc_buffer_of(rcv);
  struct cte *vs = some_cap(K_OBJ_VSPACE);
  if (!sb || !rb)
    return;
  cap_delete(&rcv->slots[TCB_SLOT_VSPACE]);
  if (vs)
    cte_insert(&rcv->slots[TCB_SLOT_VSPACE], &vs->cap, vs);
  if (vs_cap_is_mapped(&rcv->slots[TCB_SLOT_VSPACE].cap))
    rcv->slots[TCB_SLOT_VSPACE].cap.w1 = 0;
  u64 words = rnd(10), caps = rnd(3), gifts = rnd(4);
  for (u64 i = 0; i < caps; i++)
    sb->caps[i] = msg_slot();
  for (u64 i = 0; i < gifts; i++)
    sb->gifts[i] = msg_slot();
  if (caps && gifts && !rnd(4))
    sb->caps[0] = sb->gifts[0];
  rb->recv_cnode = 1;
  rb->recv_slot = 1 + rnd(SLOTS - 1);
  rb->recv_count = rnd(8);
  rb->recv_window = rnd(2) ? random_va() : 0;
  rb->recv_window_size = rnd(32) * 4096;
  struct msg m = {.info = k_msg_info(1, words, caps, gifts), .grant = (u8)(rnd(8) != 0)};
  if (msg_check(snd, m.info) == K_ERR_OK)
    ipc_transfer(snd, rcv, &m);
}

static void run(u64 seed, u64 steps) {
  rng = cur_seed = seed;
  cn = fake_fixture(&root_ut, &cn_slot, 8);
  cte_insert(&cn[1], &cn_slot.cap, &cn_slot); /* slot 1 names the CNode: receivers' recv_cnode */
  make_threads();
  inv_add_holder(&root_ut, 1); /* the fixture's own slots, outside any CNode */
  inv_add_holder(&cn_slot, 1);
  inv_add_holder(tcb_cte, 2);
  inv_add_holder(buf_cte, 2);
  for (u64 i = 0; i < steps; i++) {
    cur_step = i;
    switch (rnd(12)) {
    case 10: case 11: op_transfer(); break;
    case 0: case 1: case 2: op_retype(); break;
    case 3: op_copy(); break;
    case 4: op_move(); break;
    case 5: { struct cte *c = some_cap(K_OBJ_NULL); if (c) cap_delete(c); break; }
    case 6: { struct cte *c = some_cap(K_OBJ_NULL); if (c) cap_revoke(c); break; }
    case 7: op_map(); break;
    case 8: op_gift(); break;
    case 9: op_pin(); break;
    }
    check_all();
  }
  /* Everything goes, pinned memory included once unpinned. */
  for (int i = 1; i < SLOTS; i++)
    if (cn[i].cap.type == K_OBJ_PINNED_FRAME || (cn[i].cap.flags & CAPF_PINNED))
      dma_unpin(&cn[i]);
  cap_revoke(&root_ut);
  check_all();
}

static void random_operation_sequences_keep_the_invariants(void **state) {
  (void)state;
  const char *s = getenv("FUZZ_SEED"), *n = getenv("FUZZ_STEPS");
  u64 steps = n ? strtoull(n, 0, 0) : 4000;
  if (s) {
    run(strtoull(s, 0, 0), steps);
    return;
  }
  for (u64 seed = 1; seed <= 25; seed++)
    run(seed * 0x9e3779b97f4a7c15ull, steps);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(random_operation_sequences_keep_the_invariants)};
  int failed = cmocka_run_group_tests_name("fuzz_caps", tests, NULL, NULL);
  if (failed)
    printf("fuzz_caps: failed at FUZZ_SEED=%llu, step %llu\n", cur_seed, cur_step);
  return failed;
}
