/* blkgood: the well-behaved client beside blockd's attackers (issue 16),
 * booted by scripts/run-blk-attacks.sh with blkattack:N. It reads disk 0,
 * 64 KiB a request, one request at a time, for GOOD_READS requests (a
 * phase); then it tells the attacker to start (a signal on the
 * notification init gave both), gives it a second to set up, reads again
 * and prints
 *   blkgood: before B MB/s, during D MB/s (S%); blockd's memory M0 and M1 bytes; E errors
 * and leaves QEMU: 0 when every read succeeded and blockd's own memory is
 * the same before and during, else 1. */
#include <ulib.h>
#include <env.h>
#include <blk.h>
#include <abi/bootinfo.h>

#define BLOCKD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define ATTACK_GO (K_BI_SLOT_FIRST_FREE_FIXED + 1) /* shared with the attacker: init's */
#define FRAMES 16
#define FRAME_SLOT 64
#define WINDOW 0x0000100000000000ull
#define GOOD_READS 8192 /* 512 MiB a phase */
#define SETUP_NS 1000000000ull

static struct env env;
static struct k_ipc_buffer *buf;

static long read_at(cptr_t s, u64 sector) {
  return blk_rw(buf, env.cnode, s, BLK_READ, sector, FRAMES * BLK_SECTORS_PER_FRAME, FRAME_SLOT, FRAMES, WINDOW);
}

/* One phase: the time GOOD_READS reads took, across the disk and round again. */
static u64 phase(cptr_t s, u64 sectors, u64 *errors) {
  u64 per = FRAMES * BLK_SECTORS_PER_FRAME, t0 = sys_time_ns();
  for (u64 i = 0; i < GOOD_READS; i++)
    *errors += read_at(s, i * per % (sectors / per * per)) != K_ERR_OK;
  return sys_time_ns() - t0;
}

static u64 blockd_memory(cptr_t s) { return sys_call(s, k_msg_info(BLK_STATS, 0, 0, 0), 0, 0, 0, 0).w[2]; }

/* MB/s, in thousandths. */
static u64 rate(u64 ns) { return ns ? (u64)GOOD_READS * FRAMES * K_PAGE_SIZE * 1000000ull / ns : 0; }

int main(void) {
  env = env_of_program(FRAME_SLOT + FRAMES);
  cptr_t s, tick;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, FRAME_SLOT, FRAMES, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW, FRAMES * K_PAGE_SIZE);
  if (!err)
    err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &tick);
  if (!err)
    err = blk_open(&env, buf, BLOCKD_EP, 0, &s);
  struct msg_regs info = err ? (struct msg_regs){0} : sys_call(s, k_msg_info(BLK_INFO, 0, 0, 0), 0, 0, 0, 0);
  u64 sectors = info.w[1];
  if (err || info.err || info.w[0] || sectors < FRAMES * BLK_SECTORS_PER_FRAME) {
    printf("blkgood: cannot start: %s\n", err_name(err ? err : info.err ? info.err : (long)info.w[0]));
    debug_exit(1);
    return 1;
  }
  u64 errors = 0, m0 = blockd_memory(s);
  u64 alone = phase(s, sectors, &errors);
  printf("blkgood: alone %llu reads of 64 KiB in %llu ms; the attacker starts\n", (u64)GOOD_READS, alone / 1000000);
  sys_signal(ATTACK_GO);
  sys_ntfn_set_timer(tick, sys_time_ns() + SETUP_NS, 1);
  sys_wait(tick);
  u64 beside = phase(s, sectors, &errors), m1 = blockd_memory(s);
  u64 before = rate(alone), during = rate(beside);
  printf("blkgood: before %llu.%03llu MB/s, during %llu.%03llu MB/s (%llu%%); blockd's memory %llu and %llu bytes; "
         "%llu errors\n",
         before / 1000, before % 1000, during / 1000, during % 1000, before ? 100 * during / before : 0, m0, m1, errors);
  int ok = errors == 0 && m0 == m1 && m0 != 0;
  debug_exit(ok ? 0 : 1);
  return ok ? 0 : 1;
}
