/* What the hostile clients of issue 16 (netattack, blkattack) share: a
 * tally of the answers they met and its report line, a pseudo-random
 * source, and the busy neighbour's arithmetic. */
#ifndef USER_ATTACK_H
#define USER_ATTACK_H

#include <ulib.h>

struct attack {
  const char *name; /* "netattack" */
  u64 mode, rounds;
  u64 report_ns;    /* between two report lines */
  u64 next_report;  /* when the next is due (ns since boot) */
  u64 seed;
  u64 errors[K_ERR_COUNT + 1]; /* answers by error code; the last: codes out of range */
};

void attack_count(struct attack *a, long err);
/* "name:mode R rounds; answers: OK n ..." */
void attack_report(struct attack *a);
/* The report line, if one is due. */
void attack_report_due(struct attack *a);
u64 attack_rnd(struct attack *a);
/* The busy neighbour: `seconds` of arithmetic, a round a million steps. */
void attack_compute(struct attack *a, u64 seconds);
/* Done attacking: holds what it has, a report line a minute, for good. */
__attribute__((noreturn)) void attack_hold(struct attack *a, cptr_t timer);

#endif
