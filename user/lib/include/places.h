/* How large init makes a session server's CNode: the server's own slots
 * below `first`, then `stride` slots a place, and a place for every
 * 2^donation_bits bytes of memory the machine has (the least a session
 * takes), more sessions than all clients together could donate for, so
 * that no client can fill the table with its own sessions. */
#ifndef USER_PLACES_H
#define USER_PLACES_H

#include <lib/types.h>

static inline unsigned server_cnode_bits(u64 memory, u64 first, u64 stride, unsigned donation_bits, unsigned least) {
  unsigned bits = least;
  while (((1ull << bits) - first) / stride < memory >> donation_bits)
    bits++;
  return bits;
}

#endif
