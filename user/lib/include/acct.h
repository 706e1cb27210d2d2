/* The per-principal report. init holds the untyped every principal was
 * split from; asked through its accounting endpoint, it prints one line per
 * principal on the console:
 *
 *   ACCT tag=T ms=M principal=L name=N size=B used=B free=B objects=B threads=K cpu_us=U
 *        lent=B donated=B pinned=B held=B held_untyped=B
 *        cnode=B tcb=B tables=B frames=B ipc=B untyped=B
 *
 * (bytes unless named otherwise; see struct k_principal_report; `used` is
 * size - free, alignment holes included, `objects` the bytes of its kernel
 * objects and frames, wherever made), then
 * "ACCT tag=T end principals=K". `init` is the root task's own memory,
 * `pool` the RAM not yet given to any principal. Programs that hold the
 * endpoint (in slot ACCT_SLOT) ask with acct_request; the `acct` program
 * asks every N ms (module name acct:N). */
#ifndef USER_ACCT_H
#define USER_ACCT_H

#include <sys.h>
#include <abi/bootinfo.h>

#define ACCT_SLOT (K_BI_SLOT_FIRST_FREE_FIXED + 7) /* the last extra slot */
#define ACCT_PRINT 0xacc7u                          /* label; w0 = tag */

/* Prints the report with this tag; returns the principals reported (< 0:
 * an error). */
static inline long acct_request(cptr_t ep, u64 tag) {
  struct msg_regs r = sys_call(ep, k_msg_info(ACCT_PRINT, 1, 0, 0), tag, 0, 0, 0);
  return r.err ? -r.err : r.w[0] ? -(long)r.w[0] : (long)r.w[1];
}

#endif
