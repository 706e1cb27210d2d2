/* The kernel's armed timers: a balanced search tree (an AA tree) ordered by
 * deadline, linked through the notifications themselves, so arming one
 * allocates nothing and every operation is O(log n) whatever number of
 * timers other principals arm (n is bounded by memory: each node is a
 * 64-byte notification, so the height stays under 70).
 *
 * The node sits first in its 64-byte-aligned notification: the six low bits
 * of its left link hold the node's level. */
#ifndef IPC_TIMERS_H
#define IPC_TIMERS_H

#include <lib/types.h>

struct timer_node {
  u64 deadline; /* ns since boot; 0: not armed */
  u64 left;     /* left child | level */
  struct timer_node *right;
};

void timer_insert(struct timer_node **root, struct timer_node *n);
void timer_remove(struct timer_node **root, struct timer_node *n);
/* The earliest deadline's node, 0 when none is armed. */
struct timer_node *timer_first(struct timer_node *root);

/* For the invariant checker: is n in the tree (a search by its key), and
 * does the tree keep the AA rules and its order? timer_check counts the
 * nodes into *count and returns 0 at the first broken rule. */
int timer_contains(const struct timer_node *root, const struct timer_node *n);
int timer_check(const struct timer_node *root, u64 *count);

#endif
