/* acct:N asks init for the per-principal report every N ms (1000 without
 * N), tagging each with its number; the lines go to the console (see
 * user/lib/include/acct.h). */
#include <ulib.h>
#include <env.h>
#include <acct.h>

int main(u64 period_ms) {
  if (!period_ms)
    period_ms = 1000;
  struct env e = env_of_program(32);
  cptr_t tick;
  long err = env_retype(&e, K_OBJ_NOTIFICATION, 0, &tick);
  if (err) {
    printf("acct: no notification: %s\n", err_name(err));
    return 1;
  }
  printf("acct: the report every %llu ms\n", period_ms);
  u64 next = sys_time_ns();
  for (u64 tag = 0;; tag++) {
    long n = acct_request(ACCT_SLOT, tag);
    if (n < 0) {
      printf("acct: init does not answer: %s\n", err_name(-n));
      return 1;
    }
    next += period_ms * 1000000;
    sys_ntfn_set_timer(tick, next, 1);
    sys_wait(tick);
  }
}
