/* The timer tree (ipc/timers.c) under ASan and UBSan: random arms and
 * disarms against a sorted reference, the AA tree's level rules after every
 * step, and its height for a large tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "ipc/timers.h"

#define NODES 4096

struct ntfn_like {
  struct timer_node t;
  u64 pad[5]; /* a notification is 64 bytes; nodes are 64-byte aligned */
} __attribute__((aligned(64)));

static struct ntfn_like *pool;
static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 rnd(u64 n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng % n;
}

static unsigned lvl(const struct timer_node *t) { return t ? (unsigned)(t->left & 63) : 0; }
static struct timer_node *lft(const struct timer_node *t) { return (struct timer_node *)(t->left & ~63ull); }

/* AA rules: a left child is one level down; a right child the same level
 * or one down, a right grandchild strictly lower; leaves are level 1. In
 * order, keys rise. Returns the number of nodes. */
static int check(const struct timer_node *t, const struct timer_node **prev, int *height, int depth) {
  if (!t)
    return 0;
  if (depth > *height)
    *height = depth;
  if (!lft(t) && !t->right)
    assert_int_equal(lvl(t), 1);
  assert_int_equal(lvl(lft(t)), lvl(t) - 1);
  assert_true(lvl(t->right) == lvl(t) || lvl(t->right) == lvl(t) - 1);
  if (t->right)
    assert_true(lvl(t->right->right) < lvl(t));
  int n = check(lft(t), prev, height, depth + 1);
  if (*prev)
    assert_true((*prev)->deadline < t->deadline || ((*prev)->deadline == t->deadline && *prev < t));
  *prev = t;
  return n + 1 + check(t->right, prev, height, depth + 1);
}

static void random_arms_and_disarms_keep_order_and_balance(void **state) {
  (void)state;
  struct timer_node *root = 0;
  int armed = 0;
  for (int step = 0; step < 200000; step++) {
    struct timer_node *n = &pool[rnd(NODES)].t;
    if (n->deadline) {
      timer_remove(&root, n);
      n->deadline = 0;
      armed--;
    } else {
      n->deadline = 1 + rnd(step % 3 ? 1000 : 20); /* many equal deadlines too */
      timer_insert(&root, n);
      armed++;
    }
    if (step % 97 == 0 || step < 2000) {
      const struct timer_node *prev = 0;
      int height = 0;
      u64 counted;
      assert_int_equal(check(root, &prev, &height, 1), armed);
      assert_true(timer_check(root, &counted)); /* the kernel's own checker agrees */
      assert_int_equal(counted, armed);
      assert_true(timer_contains(root, n) == !!n->deadline);
    }
    struct timer_node *first = timer_first(root);
    if (first && rnd(4) == 0) { /* expiry: the earliest goes */
      for (int i = 0; i < NODES; i++)
        if (pool[i].t.deadline)
          assert_true(pool[i].t.deadline >= first->deadline);
      timer_remove(&root, first);
      first->deadline = 0;
      armed--;
    }
  }
}

static void height_is_logarithmic(void **state) {
  (void)state;
  struct timer_node *root = 0;
  for (int i = 0; i < NODES; i++) { /* sorted arms: a list would be 4096 deep */
    pool[i].t.deadline = 1000 + (u64)i;
    timer_insert(&root, &pool[i].t);
  }
  const struct timer_node *prev = 0;
  int height = 0;
  assert_int_equal(check(root, &prev, &height, 1), NODES);
  assert_true(height <= 2 * 13); /* 2 log2(n + 1) */
  u64 counted;
  root->left += 1; /* a level off: the kernel's checker must see it */
  assert_false(timer_check(root, &counted));
  root->left -= 1;
  assert_true(timer_check(root, &counted));
  for (int i = 0; i < NODES; i++) {
    assert_ptr_equal(timer_first(root), &pool[i].t);
    timer_remove(&root, &pool[i].t);
  }
  assert_null(root);
}

static int setup(void **state) {
  (void)state;
  pool = aligned_alloc(64, NODES * sizeof(*pool));
  assert_non_null(pool);
  for (int i = 0; i < NODES; i++)
    pool[i].t = (struct timer_node){0};
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(pool);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(random_arms_and_disarms_keep_order_and_balance, setup, teardown),
      cmocka_unit_test_setup_teardown(height_is_logarithmic, setup, teardown),
  };
  return cmocka_run_group_tests_name("timers", tests, NULL, NULL);
}
