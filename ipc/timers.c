/* Andersson's AA tree, intrusive (see timers.h). Keys are unique: equal
 * deadlines are ordered by node address. Recursion depth is the height. */
#include "ipc/timers.h"

#define LEVEL_MASK 63ull

static unsigned level(const struct timer_node *t) { return t ? (unsigned)(t->left & LEVEL_MASK) : 0; }
static struct timer_node *left(const struct timer_node *t) {
  return (struct timer_node *)(t->left & ~LEVEL_MASK);
}
static void set_left(struct timer_node *t, struct timer_node *l) { t->left = (u64)l | (t->left & LEVEL_MASK); }
static void set_level(struct timer_node *t, unsigned lv) { t->left = (t->left & ~LEVEL_MASK) | lv; }

static int before(const struct timer_node *a, const struct timer_node *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a < b);
}

/* A left child on the same level becomes the parent. */
static struct timer_node *skew(struct timer_node *t) {
  struct timer_node *l = t ? left(t) : 0;
  if (!l || level(l) != level(t))
    return t;
  set_left(t, l->right);
  l->right = t;
  return l;
}

/* Two right children on the same level: the middle one goes up a level. */
static struct timer_node *split(struct timer_node *t) {
  struct timer_node *r = t ? t->right : 0;
  if (!r || !r->right || level(r->right) != level(t))
    return t;
  t->right = left(r);
  set_left(r, t);
  set_level(r, level(r) + 1);
  return r;
}

static struct timer_node *insert(struct timer_node *t, struct timer_node *n) {
  if (!t) {
    n->left = 1;
    n->right = 0;
    return n;
  }
  if (before(n, t))
    set_left(t, insert(left(t), n));
  else
    t->right = insert(t->right, n);
  return split(skew(t));
}

static struct timer_node *rebalance(struct timer_node *t) {
  unsigned l = level(left(t)), r = level(t->right), should = (l < r ? l : r) + 1;
  if (should < level(t)) {
    set_level(t, should);
    if (t->right && should < level(t->right))
      set_level(t->right, should);
  }
  t = skew(t);
  t->right = skew(t->right);
  if (t->right)
    t->right->right = skew(t->right->right);
  t = split(t);
  t->right = split(t->right);
  return t;
}

/* Takes the leftmost node out of t into *min. */
static struct timer_node *remove_min(struct timer_node *t, struct timer_node **min) {
  if (!left(t)) { /* level 1: at most a level-1 right child */
    *min = t;
    return t->right;
  }
  set_left(t, remove_min(left(t), min));
  return rebalance(t);
}

static struct timer_node *remove(struct timer_node *t, struct timer_node *n) {
  if (!t)
    return 0;
  if (t == n) {
    if (!left(t))
      return t->right;
    struct timer_node *s, *rest = remove_min(t->right, &s); /* level > 1: both children exist */
    s->right = rest;
    s->left = (u64)left(t) | level(t); /* the successor takes t's place */
    t = s;
  } else if (before(n, t)) {
    set_left(t, remove(left(t), n));
  } else {
    t->right = remove(t->right, n);
  }
  return rebalance(t);
}

void timer_insert(struct timer_node **root, struct timer_node *n) { *root = insert(*root, n); }

void timer_remove(struct timer_node **root, struct timer_node *n) {
  *root = remove(*root, n);
  n->left = 0;
  n->right = 0;
}

struct timer_node *timer_first(struct timer_node *root) {
  if (root)
    while (left(root))
      root = left(root);
  return root;
}

int timer_contains(const struct timer_node *root, const struct timer_node *n) {
  while (root && root != n)
    root = before(n, root) ? left(root) : root->right;
  return root == n;
}

/* Recursion as deep as the tree; only the checker calls it. */
static int check(const struct timer_node *t, const struct timer_node *lo, const struct timer_node *hi, u64 *count) {
  if (!t)
    return 1;
  const struct timer_node *l = left(t), *r = t->right;
  if (!t->deadline || (lo && !before(lo, t)) || (hi && !before(t, hi)))
    return 0;
  if ((!l && !r && level(t) != 1) || level(l) + 1 != level(t) ||
      (level(r) != level(t) && level(r) + 1 != level(t)) || (r && level(r->right) >= level(t)))
    return 0;
  ++*count;
  return check(l, lo, t, count) && check(r, t, hi, count);
}

int timer_check(const struct timer_node *root, u64 *count) {
  *count = 0;
  return check(root, 0, 0, count);
}
