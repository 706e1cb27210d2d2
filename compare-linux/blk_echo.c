/* blk_echo: the Linux side of our block echo: copy one block device (or
 * file) to another in requests of a given size, one at a time, and print
 * MB/s. --mode direct: O_DIRECT read, then O_DIRECT write of the same
 * buffer. --mode gift: O_DIRECT read, vmsplice(SPLICE_F_GIFT) of the buffer
 * into a pipe and splice() from the pipe to the output. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/fs.h>

static const char *prog = "blk_echo";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s --in PATH --out PATH [--size BYTES] [--mode direct|gift] [--tsc]\n"
          "  --in, --out  block devices or files; the output must be at least as large\n"
          "  --size       bytes per request, a multiple of 4096 (default 65536)\n"
          "  --mode       direct: O_DIRECT read + O_DIRECT write (default)\n"
          "               gift:   O_DIRECT read + vmsplice(GIFT) + splice() to the output\n"
          "  --tsc        report rdtsc ticks per request as instr (exact under QEMU -icount)\n"
          "Prints one BENCH line name=blk_echo (accel=host, or $BENCH_ACCEL).\n",
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

int main(int argc, char **argv) {
  const char *in = 0, *out = 0;
  uint64_t size = 65536;
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
  for (uint64_t off = 0; off < total; off += size) {
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
  fsync(fo);
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr), ops = total / size;
  bench_line("blk_echo", size, ops, instr, ns, accel_name(),
             gift ? "variant=gift" : "variant=o_direct");
  return 0;
}
