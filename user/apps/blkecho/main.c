/* blkecho: copies disk 0 to disk 1 through blockd only, and prints MB/s.
 * Its frames go to blockd empty and come back full (read), then go back
 * full and come back when the device has written them (write). The
 * benchmark does it one request at a time (BLK_READ, BLK_WRITE) and with
 * 8 and 32 in flight (BLK_IO through a blk_queue). Every timed copy ends
 * with a BLK_FLUSH of disk 1, inside the timing, as the Linux side's fsync. */
#include <ulib.h>
#include <env.h>
#include <blk.h>
#include <abi/bootinfo.h>

#define BLOCKD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define FRAMES 256 /* 1 MiB: the largest request */
#define COPY_FRAMES 32
#define FRAME_SLOT 64
#define WINDOW 0x0000100000000000ull
/* The queued echo's frames: beyond env's slots (init gives blkecho a CNode
 * of 2^14 slots), one for each frame of 16 MiB in flight. */
#define RING_SLOT 4096
#define RING_FRAMES 4096
#define RING_VA 0x0000110000000000ull
#define QUEUE_DONATION_BITS 20 /* parking for RING_FRAMES at blockd */

static struct env env;
static struct k_ipc_buffer *buf;

static long info(cptr_t session, u64 *sectors) {
  struct msg_regs r = sys_call(session, k_msg_info(BLK_INFO, 0, 0, 0), 0, 0, 0, 0);
  *sectors = r.w[1];
  return r.err ? r.err : (long)r.w[0];
}

/* n frames from FRAME_SLOT go and come back into the same slots and window. */
static long io(cptr_t session, u32 op, u64 sector, u64 count, u64 n) {
  return blk_rw(buf, env.cnode, session, op, sector, count, FRAME_SLOT, n, WINDOW);
}

static long setup(void) {
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, FRAME_SLOT, FRAMES, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW, FRAMES * K_PAGE_SIZE);
  if (!err)
    err = blk_ring_make(&env, RING_SLOT, RING_VA, RING_FRAMES);
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
  long err = blk_flush(out, 0); /* as the Linux side's fsync: the copy is on the disk */
  *ns = sys_time_ns() - t0;
  return err;
}

/* What a queued request was for, by tag. */
static struct {
  u8 write;
  u64 sector;
} what[256];

struct echo {
  struct blk_queue q;
  u64 per, next, span, written;
  u32 batch;                 /* requests in the batch being built */
  u8 batch_write[BLK_IO_MAX_REQUESTS];
  u64 batch_sector[BLK_IO_MAX_REQUESTS];
  struct blk_done done[4 * BLK_IO_MAX_DONE];
  u32 ndone;
};

/* Sends the batch; its completions join the ones to handle. */
static long send(struct echo *x, int wait) {
  u32 n;
  long err = blk_queue_call(&x->q, wait, x->done + x->ndone, &n);
  for (u32 i = 0; !err && i < x->batch; i++) {
    what[(x->q.first_tag + i) & 255].write = x->batch_write[i];
    what[(x->q.first_tag + i) & 255].sector = x->batch_sector[i];
  }
  x->batch = 0;
  x->ndone += err ? 0 : n;
  return err;
}

static long add(struct echo *x, int write, u64 sector, u32 frame) {
  long err = blk_queue_add(&x->q, write, write, sector, x->per, frame); /* reads disk 0, writes disk 1 */
  if (err == K_ERR_RANGE && x->batch) { /* the batch is full */
    if ((err = send(x, 0)))
      return err;
    err = blk_queue_add(&x->q, write, write, sector, x->per, frame);
  }
  if (!err) {
    x->batch_write[x->batch] = (u8)write;
    x->batch_sector[x->batch++] = sector;
  }
  return err;
}

/* A read came back: its span goes out to disk 1 from the same frames. A
 * write came back: the frames read the next span. */
static long handle(struct echo *x, const struct blk_done *d) {
  if (d->err)
    return d->err;
  if (!what[d->tag & 255].write)
    return add(x, 1, what[d->tag & 255].sector, d->frame);
  x->written++;
  if (x->next >= x->span)
    return K_ERR_OK;
  x->next += x->per;
  return add(x, 0, x->next - x->per, d->frame);
}

/* Copies [0, span) from disk 0 to disk 1 with `depth` requests of `frames`
 * frames in flight through one session. */
static long echo_queued(cptr_t session, u64 span, u32 frames, u32 depth, u64 *ns) {
  static struct echo x;
  x = (struct echo){.per = frames * BLK_SECTORS_PER_FRAME, .span = span};
  long err = blk_queue_init(&x.q, buf, env.cnode, session, RING_SLOT, RING_VA, frames * depth);
  u64 t0 = sys_time_ns(), spans = span / x.per;
  for (u32 d = 0; !err && d < depth && x.next < span; d++, x.next += x.per)
    err = add(&x, 0, x.next, d * frames);
  while (!err && x.written < spans) {
    if (!x.ndone && (err = send(&x, 1)))
      break;
    struct blk_done d = x.done[--x.ndone];
    err = handle(&x, &d);
  }
  if (!err)
    err = blk_flush(session, 1 + 1); /* disk 1, as the Linux side's fsync */
  *ns = sys_time_ns() - t0;
  return err;
}

/* Where a run's time went: the guest's busy time (halted time left out)
 * and the parts of it blkecho's thread and blockd (for these sessions)
 * ran. Under -icount shift=0 a busy ns is one guest instruction. */
struct cost {
  u64 t, idle, self, blockd;
};

static u64 blockd_ns_of(cptr_t session) {
  struct msg_regs r = sys_call(session, k_msg_info(BLK_STATS, 0, 0, 0), 0, 0, 0, 0);
  return r.err || r.w[0] ? 0 : r.w[3];
}

static struct cost cost_now(const cptr_t *sessions, unsigned n) {
  struct cost c = {0, 0, 0, 0};
  for (unsigned i = 0; i < n; i++)
    c.blockd += blockd_ns_of(sessions[i]);
  c.t = sys_time_ns(), c.idle = sys_idle_ns(), c.self = sys_thread_ns();
  return c;
}

/* Echo throughput by request size and requests in flight: a BENCH line
 * each. Rewriting disk 1 with disk 0's data leaves the verified copy as it
 * was (the host compares them after). */
static long benchmark(cptr_t in, cptr_t out, cptr_t queued, u64 sectors) {
  static const u64 sizes[] = {1, 4, 16, 64, 256}; /* frames: 4 KiB to 1 MiB */
  static const u32 depths[] = {1, 8, 32};
  for (unsigned k = 0; k < sizeof(depths) / sizeof(depths[0]); k++)
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      u64 per = sizes[i] * BLK_SECTORS_PER_FRAME, span = sectors & ~(per - 1), ns;
      if (span == 0)
        continue;
      u32 depth = depths[k];
      if (depth * per > span) /* no more in flight than the disk holds */
        depth = (u32)(span / per);
      if (depth * sizes[i] > RING_FRAMES)
        depth = (u32)(RING_FRAMES / sizes[i]);
      cptr_t used[2] = {in, out};
      unsigned nused = depths[k] == 1 ? 2 : 1;
      if (depths[k] != 1)
        used[0] = queued;
      struct cost c0 = cost_now(used, nused);
      long err = depths[k] == 1 ? echo(in, out, span, sizes[i], &ns)
                                : echo_queued(queued, span, (u32)sizes[i], depth, &ns);
      struct cost c1 = cost_now(used, nused);
      if (err)
        return err;
      /* an op is one request: a read or a write */
      u64 ops = span / per, reqs = 2 * ops, kbps = ns ? span * BLK_SECTOR * 1000000ull / ns : 0;
      u64 busy = (c1.t - c0.t) - (c1.idle - c0.idle);
      printf("BENCH name=blk_echo size=%llu ops=%llu instr=- ns=%llu mbps=%llu.%03llu depth=%u in_flight=%u "
             "busy_ns_per_request=%llu client_ns_per_request=%llu blockd_ns_per_request=%llu accel=guest\n",
             sizes[i] * K_PAGE_SIZE, ops, ns / ops, kbps / 1000, kbps % 1000, depths[k], depth, busy / reqs,
             (c1.self - c0.self) / reqs, (c1.blockd - c0.blockd) / reqs);
    }
  return K_ERR_OK;
}

/* Latency of a 4 KiB read by another client while one streams 1 MiB
 * requests at depth 32: a thread of ours with its own session, frame and
 * IPC buffer, measured alone and then under the stream. */
#define LAT_SAMPLES 101
static struct {
  cptr_t session, frame;
  u64 va, span;
  struct k_ipc_buffer *buf;
  volatile int go, done; /* phase the main thread asks for, and the last one finished */
  long err;
  u64 us[2][LAT_SAMPLES];
} lat;

static void latency_thread(void) {
  struct k_ipc_buffer *b = lat.buf;
  for (int phase = 1; phase <= 2; phase++) {
    while (lat.go < phase)
      sys_yield();
    for (u64 i = 0; i < LAT_SAMPLES && !lat.err; i++) {
      b->gifts[0] = (u32)lat.frame;
      b->recv_cnode = env.cnode, b->recv_slot = lat.frame, b->recv_count = 1;
      b->recv_window = lat.va, b->recv_window_size = K_PAGE_SIZE;
      u64 sector = (i * 7919 * BLK_SECTORS_PER_FRAME) % lat.span, t0 = sys_time_ns();
      struct msg_regs r = sys_call(lat.session, k_msg_info(BLK_READ, 2, 0, 1), sector, BLK_SECTORS_PER_FRAME, 0, 0);
      lat.us[phase - 1][i] = (sys_time_ns() - t0) / 1000;
      lat.err = r.err ? r.err : (long)r.w[0];
    }
    lat.done = phase;
  }
  for (;;)
    sys_thread_exit();
}

static u64 median(u64 *v, u64 n) { /* sorts v */
  for (u64 i = 1; i < n; i++)
    for (u64 j = i; j > 0 && v[j - 1] > v[j]; j--) {
      u64 t = v[j];
      v[j] = v[j - 1], v[j - 1] = t;
    }
  return v[n / 2];
}

static long latency_under_load(cptr_t queued, u64 sectors) {
  cptr_t tcb;
  lat.span = sectors & ~(u64)(BLK_SECTORS_PER_FRAME - 1);
  long err = blk_open(&env, buf, BLOCKD_EP, 0, &lat.session);
  if (!err)
    err = env_page(&env, &lat.va, &lat.frame);
  if (!err)
    err = env_thread_ipc(&env, latency_thread, &tcb, &lat.buf);
  if (err)
    return err;
  lat.go = 1;
  while (lat.done < 1)
    sys_yield();
  lat.go = 2; /* it measures while we stream */
  u64 ns, rounds = 0;
  while (lat.done < 2 && !err && rounds++ < 100)
    err = echo_queued(queued, lat.span & ~(u64)(256 * BLK_SECTORS_PER_FRAME - 1), 256, 32, &ns);
  while (lat.done < 2)
    sys_yield();
  if (err || lat.err)
    return err ? err : lat.err;
  u64 alone = median(lat.us[0], LAT_SAMPLES), loaded = median(lat.us[1], LAT_SAMPLES);
  u64 x10 = alone ? loaded * 10 / alone : 0;
  printf("BENCH name=blk_latency size=4096 samples=%u alone_us=%llu loaded_us=%llu alone_p90_us=%llu "
         "loaded_p90_us=%llu loaded_over_alone=%llu.%llu load=1MiBx32 accel=guest\n",
         LAT_SAMPLES, alone, loaded, lat.us[0][LAT_SAMPLES * 9 / 10], lat.us[1][LAT_SAMPLES * 9 / 10], x10 / 10, x10 % 10);
  blk_close(&env, buf, lat.session);
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
  cptr_t queued;
  if ((err = setup()))
    return fail("setup", err);
  if ((err = blk_open(&env, buf, BLOCKD_EP, 0, &in)) || (err = blk_open(&env, buf, BLOCKD_EP, 1, &out)) ||
      (err = blk_open_sized(&env, buf, BLOCKD_EP, 0, QUEUE_DONATION_BITS, &queued)))
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
  if ((err = benchmark(in, out, queued, sectors))) /* after the copy: it leaves it as it was */
    return fail("the benchmark", err);
  if ((err = latency_under_load(queued, sectors)))
    return fail("the latency benchmark", err);
  blk_close(&env, buf, in);
  blk_close(&env, buf, out);
  blk_close(&env, buf, queued);
  debug_exit(0);
  return 0;
}
