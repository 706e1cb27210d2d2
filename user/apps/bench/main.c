/* Entry: set up the common parts and run the role init chose. */
#include "bench.h"


volatile u64 bench_sink; /* keeps the reads from being optimised away */

void bench_touch(u64 va, u64 pages, u32 mode) {
  u64 s = 0;
  for (u64 p = 0; p < pages; p++) {
    volatile u64 *w = (volatile u64 *)(va + p * K_PAGE_SIZE);
    if (mode == MODE_SUM)
      for (u64 i = 0; i < K_PAGE_SIZE / 8; i++)
        s += w[i];
    else
      s += w[0];
  }
  bench_sink = s;
}

void bench_write_words(u64 va, u64 pages) {
  for (u64 p = 0; p < pages; p++)
    *(volatile u64 *)(va + p * K_PAGE_SIZE) = p + 1;
}

int main(u64 role) {
  struct env e = env_of_program(BENCH_GIFT_SLOTS + BENCH_MAX_PAGES);
  struct k_ipc_buffer *buf;
  long err = env_ipc_buffer(&e, K_BI_SLOT_TCB, &buf);
  if (err) {
    printf("bench: no IPC buffer: %s\n", err_name(err));
    return 1;
  }
  if (role == ROLE_SERVER)
    return bench_server(&e, buf);
  int failed = bench_client(&e, buf);
  debug_exit(failed ? 1 : 0);
  return failed;
}
