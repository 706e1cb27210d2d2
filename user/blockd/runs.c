/* Runs of slots in a bitmap (see runs.h). */
#include "runs.h"

static int used(const u64 *map, unsigned i) { return (map[i / 64] >> (i % 64)) & 1; }

int runs_take(u64 *map, unsigned size, unsigned n) {
  if (n == 0)
    return -1;
  for (unsigned i = 0, run = 0; i < size;) {
    if (i % 64 == 0 && i + 64 <= size && map[i / 64] == ~0ull) { /* a full word: no run here */
      run = 0;
      i += 64;
      continue;
    }
    run = used(map, i) ? 0 : run + 1;
    i++;
    if (run == n) {
      runs_mark(map, i - n, n, 1);
      return (int)(i - n);
    }
  }
  return -1;
}

void runs_mark(u64 *map, unsigned first, unsigned n, int use) {
  for (unsigned i = first; i < first + n; i++)
    map[i / 64] = use ? map[i / 64] | 1ull << (i % 64) : map[i / 64] & ~(1ull << (i % 64));
}
