/* blk_echo: the Linux side of our block echo: copy one block device (or
 * file) to another in requests of a given size and print MB/s. --mode
 * direct: O_DIRECT read, then O_DIRECT write of the same buffer; one at a
 * time with pread/pwrite, or with --depth N > 1 up to N requests in flight
 * through Linux AIO (io_submit/io_getevents, called raw): each of N buffers
 * is read, then written to the same offset, then reused for the next
 * offset. --mode gift: O_DIRECT read, vmsplice(SPLICE_F_GIFT) of the buffer
 * into a pipe and splice() from the pipe to the output, one at a time.
 * Either way one fsync() of the output at the end, inside the timing. */
#include "common.h"
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/fs.h>

static const char *prog = "blk_echo";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s --in PATH --out PATH [--size BYTES] [--mode direct|gift] [--depth N] [--tsc]\n"
          "  --in, --out  block devices or files; the output must be at least as large\n"
          "  --size       bytes per request, a multiple of 4096 (default 65536)\n"
          "  --mode       direct: O_DIRECT read + O_DIRECT write (default)\n"
          "               gift:   O_DIRECT read + vmsplice(GIFT) + splice() to the output (depth 1 only)\n"
          "  --depth      requests in flight, 1-256 (default 1: pread + pwrite, one at a time;\n"
          "               more: Linux AIO, each buffer read then written back, N buffers at once)\n"
          "  --tsc        report rdtsc ticks per request as instr (exact under QEMU -icount)\n"
          "Prints one BENCH line name=blk_echo ... depth=N (accel=host, or $BENCH_ACCEL).\n",
          prog);
}

static uint64_t size_of(int fd) {
  struct stat st;
  uint64_t n = 0;
  if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode))
    ioctl(fd, BLKGETSIZE64, &n);
  else if (fstat(fd, &st) == 0)
    n = (uint64_t)st.st_size;
  return n;
}

static void fail(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
  exit(1);
}

/* The AIO copy: `depth` buffers, each going read -> write -> next read.
 * Returns the requests copied. */
static uint64_t copy_aio(int fi, int fo, uint64_t size, uint64_t total, unsigned depth) {
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, depth, &ctx))
    fail("io_setup");
  struct slot {
    struct iocb cb;
    char *buf;
  } *slots = calloc(depth, sizeof(*slots));
  struct iocb **batch = calloc(depth, sizeof(*batch));
  struct io_event *ev = calloc(depth, sizeof(*ev));
  if (!slots || !batch || !ev)
    fail("calloc");
  uint64_t next = 0, written = 0;
  unsigned nb = 0;
  for (unsigned i = 0; i < depth; i++) {
    void *b;
    if (posix_memalign(&b, 4096, size))
      fail("posix_memalign");
    slots[i].buf = b;
  }
  /* Aim slot s at the next offset (a read) or at its own offset's write. */
  for (unsigned i = 0; i < depth && next < total; i++, next += size) {
    struct iocb *cb = &slots[i].cb;
    *cb = (struct iocb){.aio_data = i, .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = (uint32_t)fi,
                        .aio_buf = (uint64_t)(uintptr_t)slots[i].buf, .aio_nbytes = size, .aio_offset = (int64_t)next};
    batch[nb++] = cb;
  }
  while (written < total / size) {
    for (unsigned done = 0; done < nb;) {
      long r = syscall(SYS_io_submit, ctx, (long)(nb - done), batch + done);
      if (r <= 0)
        fail("io_submit");
      done += (unsigned)r;
    }
    nb = 0;
    long got = syscall(SYS_io_getevents, ctx, 1L, (long)depth, ev, (void *)0);
    if (got <= 0)
      fail("io_getevents");
    for (long e = 0; e < got; e++) {
      struct slot *sl = &slots[ev[e].data];
      if (ev[e].res != (int64_t)size) {
        errno = ev[e].res < 0 ? (int)-ev[e].res : EIO;
        fail(sl->cb.aio_lio_opcode == IOCB_CMD_PREAD ? "aio read" : "aio write");
      }
      if (sl->cb.aio_lio_opcode == IOCB_CMD_PREAD) {
        sl->cb.aio_lio_opcode = IOCB_CMD_PWRITE;
        sl->cb.aio_fildes = (uint32_t)fo;
      } else {
        written++;
        if (next >= total)
          continue;
        sl->cb.aio_lio_opcode = IOCB_CMD_PREAD;
        sl->cb.aio_fildes = (uint32_t)fi;
        sl->cb.aio_offset = (int64_t)next;
        next += size;
      }
      batch[nb++] = &sl->cb;
    }
  }
  syscall(SYS_io_destroy, ctx);
  return written;
}

int main(int argc, char **argv) {
  const char *in = 0, *out = 0;
  uint64_t size = 65536, depth = 1;
  int gift = 0, use_tsc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--in") && i + 1 < argc) {
      in = argv[++i];
    } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
      out = argv[++i];
    } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      size = parse_u64(prog, "--size", argv[++i]);
    } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
      static const char *const modes[] = {"direct", "gift", 0};
      gift = parse_choice(prog, "--mode", argv[++i], modes);
    } else if (!strcmp(argv[i], "--depth") && i + 1 < argc) {
      depth = parse_u64(prog, "--depth", argv[++i]);
    } else if (!strcmp(argv[i], "--tsc")) {
      use_tsc = 1;
    } else {
      return bad_argument(prog, argv[i], usage);
    }
  }
  if (!in || !out || !size || size % 4096) {
    fprintf(stderr, "%s: --in and --out are needed, --size a positive multiple of 4096\n", prog);
    return 2;
  }
  if (depth < 1 || depth > 256 || (gift && depth != 1)) {
    fprintf(stderr, "%s: --depth takes 1 to 256, and only 1 with --mode gift\n", prog);
    return 2;
  }
  int fi = open(in, O_RDONLY | O_DIRECT), fo = open(out, O_WRONLY | (gift ? 0 : O_DIRECT));
  if (fi < 0 || fo < 0)
    fail("open");
  uint64_t total = size_of(fi) / size * size;
  if (!total || size_of(fo) < total) {
    fprintf(stderr, "%s: the input is smaller than one request, or the output smaller than the input\n", prog);
    return 2;
  }
  void *buf;
  if (posix_memalign(&buf, 4096, size))
    fail("posix_memalign");
  int p[2];
  if (gift && (pipe(p) || fcntl(p[1], F_SETPIPE_SZ, size < 1048576 ? (int)(size < 65536 ? 65536 : size) : 1048576) < 0))
    fail("pipe");
  struct meter mt;
  meter_open(&mt, use_tsc);
  meter_start(&mt);
  if (depth > 1 && copy_aio(fi, fo, size, total, (unsigned)depth) != total / size) {
    fprintf(stderr, "%s: the AIO copy stopped short\n", prog);
    return 1;
  }
  for (uint64_t off = 0; depth == 1 && off < total; off += size) {
    if (pread(fi, buf, size, (off_t)off) != (ssize_t)size)
      fail("read");
    if (!gift) {
      if (pwrite(fo, buf, size, (off_t)off) != (ssize_t)size)
        fail("write");
      continue;
    }
    for (uint64_t done = 0; done < size;) {
      struct iovec iov = {(char *)buf + done, size - done};
      ssize_t n = vmsplice(p[1], &iov, 1, SPLICE_F_GIFT);
      if (n <= 0)
        fail("vmsplice");
      loff_t pos = (loff_t)(off + done);
      for (ssize_t left = n; left > 0;) {
        ssize_t m = splice(p[0], 0, fo, &pos, (size_t)left, SPLICE_F_MOVE);
        if (m <= 0)
          fail("splice");
        left -= m;
      }
      done += (uint64_t)n;
    }
  }
  if (fsync(fo))
    fail("fsync");
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr), ops = total / size;
  char extra[64];
  snprintf(extra, sizeof(extra), "variant=%s depth=%llu", gift ? "gift" : depth > 1 ? "o_direct_aio" : "o_direct",
           (unsigned long long)depth);
  bench_line("blk_echo", size, ops, instr, ns, accel_name(), extra);
  return 0;
}
