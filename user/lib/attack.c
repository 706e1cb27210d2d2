/* The hostile clients' common parts (attack.h). */
#include <attack.h>
#include <sys.h>

void attack_count(struct attack *a, long err) { a->errors[err >= 0 && err < K_ERR_COUNT ? err : K_ERR_COUNT]++; }

void attack_report(struct attack *a) {
  printf("%s:%llu %llu rounds; answers:", a->name, a->mode, a->rounds);
  for (long e = 0; e <= K_ERR_COUNT; e++)
    if (a->errors[e])
      printf(" %s %llu", e < K_ERR_COUNT ? err_name(e) : "other", a->errors[e]);
  printf("\n");
}

void attack_report_due(struct attack *a) {
  u64 now = sys_time_ns();
  if (!a->next_report)
    a->next_report = now + a->report_ns;
  if (now < a->next_report)
    return;
  a->next_report += a->report_ns;
  attack_report(a);
}

u64 attack_rnd(struct attack *a) {
  if (!a->seed)
    a->seed = 0x9e3779b97f4a7c15ull;
  a->seed ^= a->seed << 13, a->seed ^= a->seed >> 7, a->seed ^= a->seed << 17;
  return a->seed;
}

void attack_compute(struct attack *a, u64 seconds) {
  volatile u64 x = 1;
  for (u64 end = sys_time_ns() + seconds * 1000000000ull; sys_time_ns() < end; a->rounds++) {
    for (u32 i = 0; i < 1000000; i++)
      x = x * 6364136223846793005ull + 1442695040888963407ull;
    attack_report_due(a);
  }
}

void attack_hold(struct attack *a, cptr_t timer) {
  for (;;) {
    attack_report(a);
    sys_ntfn_set_timer(timer, sys_time_ns() + 60 * 1000000000ull, 1);
    sys_wait(timer);
  }
}
