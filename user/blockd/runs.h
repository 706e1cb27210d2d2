/* Runs of slots in a bitmap (bit set: in use), first fit: blockd's pool of
 * device slots and each session's parking slots. Pure, so that the host
 * tests can try every edge (tests/host/test_blk_runs.c). */
#ifndef BLOCKD_RUNS_H
#define BLOCKD_RUNS_H

#include <lib/types.h>

/* Takes the first run of n free slots among [0, size) and returns its
 * first slot, or -1 when there is none (or n is 0). */
int runs_take(u64 *map, unsigned size, unsigned n);
/* Marks [first, first + n) used or free. */
void runs_mark(u64 *map, unsigned first, unsigned n, int used);

#endif
