/* page_transfer: the Linux side of our gift benchmark.
 *
 * Process A writes one word in each page of a freshly mapped buffer and
 * vmsplice()s it into a pipe with SPLICE_F_GIFT; process B takes the bytes
 * with read() and touches one word per page (page_transfer) or sums every
 * byte (page_transfer_sum). References: GIFT then splice() to /dev/null (B
 * never sees the data), plain write()/read() (copy_transfer), and a shared
 * ring both processes keep mapped (no gift at all).
 *
 * What GIFT does in current Linux: the pipe takes references to A's pages,
 * the pages stay mapped in A (nothing stops A from writing them), and read()
 * copies them into B's buffer. The gift is a promise, not a transfer. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096ul

static const char *prog = "page_transfer";

enum mode { TOUCH, SUM, DEVNULL, COPY, SHM };
static const char *const mode_names[] = {"touch", "sum", "devnull", "copy", "shm", 0};
static const char *const bench_names[] = {"page_transfer", "page_transfer_sum", "page_transfer_devnull",
                                          "copy_transfer", "shm_ring"};

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--size BYTES] [--iters N] [--mode touch|sum|devnull|copy|shm] [--huge] [--tsc]\n"
          "  --size   bytes per transfer, a multiple of 4096 (default 262144)\n"
          "  --iters  transfers to time (default 2000), after a few to warm up\n"
          "  --mode   touch: vmsplice(GIFT) + read(), B reads one word per page (default)\n"
          "           sum:   the same, B sums every byte\n"
          "           devnull: vmsplice(GIFT) + splice() to /dev/null: B never sees the data\n"
          "           copy:  write() + read() of a reused buffer\n"
          "           shm:   a shared buffer both keep mapped; a pipe byte says 'ready'\n"
          "  --huge   back A's buffers with 2 MiB pages (MAP_HUGETLB), where the system has them\n"
          "  --tsc    report rdtsc ticks per transfer as instr (exact under QEMU -icount)\n"
          "Prints one BENCH line (accel=host, or $BENCH_ACCEL).\n",
          prog);
}

static void die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
  exit(1);
}

static volatile uint64_t sink;

static void touch(const char *p, size_t size, int sum) {
  uint64_t s = 0;
  for (size_t off = 0; off < size; off += PAGE)
    if (sum)
      for (size_t i = 0; i < PAGE / 8; i++)
        s += ((const volatile uint64_t *)(p + off))[i];
    else
      s += *(const volatile uint64_t *)(p + off);
  sink = s;
}

static void read_full(int fd, char *buf, size_t size) {
  for (size_t got = 0; got < size;) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n <= 0)
      die("read");
    got += (size_t)n;
  }
}

static void *map(size_t size, int huge, int shared) {
  int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0);
  void *p = mmap(0, size, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED)
    die(huge ? "mmap with MAP_HUGETLB (are huge pages reserved?)" : "mmap");
  return p;
}

static void gift(int fd, char *p, size_t size) {
  struct iovec iov = {p, size};
  while (iov.iov_len) {
    ssize_t n = vmsplice(fd, &iov, 1, SPLICE_F_GIFT);
    if (n <= 0)
      die("vmsplice");
    iov.iov_base = (char *)iov.iov_base + n;
    iov.iov_len -= (size_t)n;
  }
}

/* A: one transfer of `size` bytes. */
static void send_one(enum mode m, int fd, size_t size, int huge, char *reuse) {
  if (m == COPY || m == SHM) {
    for (size_t off = 0; off < size; off += PAGE)
      *(volatile uint64_t *)(reuse + off) = off;
    if (m == COPY) {
      for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, reuse + done, size - done);
        if (n <= 0)
          die("write");
        done += (size_t)n;
      }
    } else if (write(fd, "r", 1) != 1) {
      die("write");
    }
    return;
  }
  char *p = map(size, huge, 0); /* fresh pages each time, as a gift should be */
  for (size_t off = 0; off < size; off += PAGE)
    *(volatile uint64_t *)(p + off) = off;
  gift(fd, p, size);
  munmap(p, size); /* the pipe holds its own references */
}

/* B: receives `total` transfers and acknowledges each (so A's timing covers
 * delivery, as our call/reply does). */
static void receiver(enum mode m, int in, int ack, size_t size, uint64_t total, char *shared) {
  char *buf = map(size, 0, 0);
  int null = m == DEVNULL ? open("/dev/null", O_WRONLY) : -1;
  for (uint64_t i = 0; i < total; i++) {
    if (m == DEVNULL) {
      for (size_t done = 0; done < size;) {
        ssize_t n = splice(in, 0, null, 0, size - done, SPLICE_F_MOVE);
        if (n <= 0)
          die("splice");
        done += (size_t)n;
      }
    } else if (m == SHM) {
      char c;
      if (read(in, &c, 1) != 1)
        die("read");
      touch(shared, size, 0);
    } else {
      read_full(in, buf, size);
      touch(buf, size, m == SUM);
    }
    if (write(ack, "a", 1) != 1)
      die("write ack");
  }
  exit(0);
}

int main(int argc, char **argv) {
  size_t size = 262144;
  uint64_t iters = 2000;
  enum mode m = TOUCH;
  int huge = 0, use_tsc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      size = parse_u64(prog, "--size", argv[++i]);
    } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
      iters = parse_u64(prog, "--iters", argv[++i]);
    } else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
      m = (enum mode)parse_choice(prog, "--mode", argv[++i], mode_names);
    } else if (!strcmp(argv[i], "--huge")) {
      huge = 1;
    } else if (!strcmp(argv[i], "--tsc")) {
      use_tsc = 1;
    } else {
      return bad_argument(prog, argv[i], usage);
    }
  }
  if (size == 0 || size % PAGE || size > (64ul << 20) || iters == 0) {
    fprintf(stderr, "%s: --size must be a multiple of 4096 up to 64 MiB, --iters positive\n", prog);
    return 2;
  }
  int data[2], ack[2];
  if (pipe(data) || pipe(ack))
    die("pipe");
  long cap = size < 1048576 ? (long)size : 1048576; /* the default pipe-max-size */
  if (cap < 65536)
    cap = 65536;
  if (fcntl(data[1], F_SETPIPE_SZ, cap) < 0)
    die("F_SETPIPE_SZ");
  char *shared = m == SHM || m == COPY ? map(size, 0, 1) : 0;
  const uint64_t warm = 8;
  pid_t b = fork();
  if (b < 0)
    die("fork");
  if (b == 0)
    receiver(m, data[0], ack[1], size, iters + warm, shared);
  struct meter mt;
  meter_open(&mt, use_tsc);
  for (uint64_t i = 0; i < iters + warm; i++) {
    if (i == warm)
      meter_start(&mt);
    send_one(m, data[1], size, huge, shared);
    char c;
    if (read(ack[0], &c, 1) != 1)
      die("read ack");
  }
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr);
  waitpid(b, 0, 0);
  char extra[96];
  snprintf(extra, sizeof(extra), "pages=%zu%s%s", size / PAGE, huge ? " frame=2m" : "",
           m == DEVNULL ? " note=receiver_never_sees_data" : "");
  bench_line(bench_names[m], size, iters, instr, ns, accel_name(), extra);
  return 0;
}
