/* blkecho: copies disk 0 to disk 1 through blockd only, and prints MB/s.
 * Its frames go to blockd empty and come back full (read), then go back
 * full and come back when the device has written them (write). */
#include <ulib.h>
#include <env.h>
#include <blk.h>
#include <abi/bootinfo.h>

#define BLOCKD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define FRAMES 256 /* 1 MiB: the largest request */
#define COPY_FRAMES 32
#define FRAME_SLOT 64
#define WINDOW 0x0000100000000000ull

static struct env env;
static struct k_ipc_buffer *buf;

static long info(cptr_t session, u64 *sectors) {
  struct msg_regs r = sys_call(session, k_msg_info(BLK_INFO, 0, 0, 0), 0, 0, 0, 0);
  *sectors = r.w[1];
  return r.err ? r.err : (long)r.w[0];
}

/* n frames from FRAME_SLOT go and come back into the same slots and window. */
static long io(cptr_t session, u32 op, u64 sector, u64 count, u64 n) {
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(FRAME_SLOT + i);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = FRAME_SLOT;
  buf->recv_count = n;
  buf->recv_window = WINDOW;
  buf->recv_window_size = n * K_PAGE_SIZE;
  struct msg_regs r = sys_call(session, k_msg_info(op, 2, 0, n), sector, count, 0, 0);
  if (!r.err && k_msg_gifts(r.info) != n)
    return K_ERR_BAD_STATE; /* our frames did not all come back */
  return r.err ? r.err : (long)r.w[0];
}

static long setup(void) {
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, FRAME_SLOT, FRAMES, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW, FRAMES * K_PAGE_SIZE);
  return err;
}

/* Copies [0, sectors) from `in` to `out` in requests of `frames` frames. */
static long echo(cptr_t in, cptr_t out, u64 sectors, u64 frames, u64 *ns) {
  u64 t0 = sys_time_ns(), per = frames * BLK_SECTORS_PER_FRAME;
  for (u64 s = 0; s < sectors; s += per) {
    u64 count = sectors - s < per ? sectors - s : per;
    u64 n = (count + BLK_SECTORS_PER_FRAME - 1) / BLK_SECTORS_PER_FRAME;
    long err = io(in, BLK_READ, s, count, n);
    if (!err)
      err = io(out, BLK_WRITE, s, count, n);
    if (err)
      return err;
  }
  *ns = sys_time_ns() - t0;
  return K_ERR_OK;
}

/* Echo throughput by request size: a BENCH line per size. Rewriting disk 1
 * with disk 0's data leaves the verified copy as it was. */
static long benchmark(cptr_t in, cptr_t out, u64 sectors) {
  static const u64 sizes[] = {1, 4, 16, 64, 256}; /* frames: 4 KiB to 1 MiB */
  for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    u64 span = sectors & ~(sizes[i] * BLK_SECTORS_PER_FRAME - 1), ns;
    if (span == 0)
      continue;
    long err = echo(in, out, span, sizes[i], &ns);
    if (err)
      return err;
    u64 ops = span / (sizes[i] * BLK_SECTORS_PER_FRAME), kbps = ns ? span * BLK_SECTOR * 1000000ull / ns : 0;
    printf("BENCH name=blk_echo size=%llu ops=%llu instr=- ns=%llu mbps=%llu.%03llu accel=guest\n",
           sizes[i] * K_PAGE_SIZE, ops, ns / ops, kbps / 1000, kbps % 1000);
  }
  return K_ERR_OK;
}

static int fail(const char *what, long err) {
  printf("blkecho: %s failed: %s\n", what, err_name(err));
  debug_exit(1);
  return 1;
}

int main(void) {
  env = env_of_program(FRAME_SLOT + FRAMES);
  cptr_t in, out;
  u64 sectors, out_sectors;
  long err;
  if ((err = setup()))
    return fail("setup", err);
  if ((err = blk_open(&env, buf, BLOCKD_EP, 0, &in)) || (err = blk_open(&env, buf, BLOCKD_EP, 1, &out)))
    return fail("opening the disks", err);
  if ((err = info(in, &sectors)) || (err = info(out, &out_sectors)))
    return fail("asking the disk sizes", err);
  if (out_sectors < sectors)
    return fail("disk 1 is smaller than disk 0", K_ERR_RANGE);
  printf("blkecho: copying %llu sectors (%llu KiB) from disk 0 to disk 1\n", sectors, sectors / 2);
  u64 ns;
  if ((err = echo(in, out, sectors, COPY_FRAMES, &ns)))
    return fail("copying", err);
  u64 kbps = ns ? sectors * BLK_SECTOR * 1000000ull / ns : 0;
  printf("blkecho: copied %llu bytes in %llu ms: %llu.%03llu MB/s (read + write, wall clock of the guest)\n",
         sectors * BLK_SECTOR, ns / 1000000, kbps / 1000, kbps % 1000);
  if ((err = benchmark(in, out, sectors))) /* after the copy: it leaves it as it was */
    return fail("the benchmark", err);
  blk_close(&env, buf, in);
  blk_close(&env, buf, out);
  debug_exit(0);
  return 0;
}
