/* page_transfer: the Linux side of our gift benchmark.
 *
 * Process A writes one word in each page of a freshly mapped buffer and
 * vmsplice()s it into a pipe with SPLICE_F_GIFT; process B takes the bytes
 * with read() and touches one word per page (page_transfer) or sums every
 * byte (page_transfer_sum). References: GIFT then splice() to /dev/null (B
 * never sees the data), plain write()/read() (copy_transfer), and a shared
 * ring both processes keep mapped (no gift at all).
 *
 * The peers a Linux programmer would pick instead of a gift: a memfd buffer
 * both processes keep mapped, handed over with a futex or an eventfd (no
 * copy, and no exclusivity: A can still write what B reads), and vmsplice
 * without GIFT of a reused buffer (no fault, no zeroing, no munmap; read()
 * still copies). And the gift's cost taken apart in one process (mode
 * phases): mmap, the zero-fill fault per page, vmsplice, the copy in read(),
 * munmap, each timed on its own.
 *
 * What GIFT does in current Linux: the pipe takes references to A's pages,
 * the pages stay mapped in A (nothing stops A from writing them), and read()
 * copies them into B's buffer. The gift is a promise, not a transfer. */
#include "common.h"
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096ul

static const char *prog = "page_transfer";

enum mode { TOUCH, SUM, DEVNULL, COPY, SHM, NOGIFT, MEMFD_FUTEX, MEMFD_EVENTFD, PHASES };
static const char *const mode_names[] = {"touch",       "sum",           "devnull", "copy", "shm", "splice-nogift",
                                         "memfd-futex", "memfd-eventfd", "phases",  0};
static const char *const bench_names[] = {"page_transfer",        "page_transfer_sum",
                                          "page_transfer_devnull", "copy_transfer",
                                          "shm_ring",              "page_transfer_splice_nogift",
                                          "page_transfer_memfd_futex", "page_transfer_memfd_eventfd",
                                          "page_transfer_phases"};

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--size BYTES] [--iters N] [--mode MODE] [--huge] [--tsc]\n"
          "  --size   bytes per transfer, a multiple of 4096 (default 262144)\n"
          "  --iters  transfers to time (default 2000), after a few to warm up\n"
          "  --mode   touch: fresh pages, vmsplice(GIFT) + read(), B reads one word per page (default)\n"
          "           sum:   the same, B sums every byte\n"
          "           devnull: vmsplice(GIFT) + splice() to /dev/null: B never sees the data\n"
          "           copy:  write() + read() of a reused buffer\n"
          "           shm:   a shared buffer both keep mapped; a pipe byte says 'ready'\n"
          "           splice-nogift: vmsplice without GIFT of a reused (already faulted) buffer, B read()s\n"
          "                  it and reads one word per page; A reuses the buffer after B's acknowledgement\n"
          "           memfd-futex: a memfd buffer both keep mapped; A writes one word per page and wakes B\n"
          "                  through a futex word, B reads one word per page and answers the same way\n"
          "           memfd-eventfd: the same, woken through a pair of eventfds\n"
          "           phases: one process, no B: mmap, write one word per page (the zero-fill faults),\n"
          "                  vmsplice(GIFT), read() into a reused buffer, munmap, each timed on its own\n"
          "                  and printed per transfer as mmap= fault_zero= vmsplice= read= munmap=\n"
          "                  (in phase_unit: rdtsc ticks with --tsc, else ns)\n"
          "  --huge   back A's fresh buffers with 2 MiB pages (MAP_HUGETLB), where the system has them\n"
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

/* vmsplice all of [p, p+size) into the pipe; `flags` SPLICE_F_GIFT or 0. */
static void splice_in(int fd, char *p, size_t size, unsigned flags) {
  struct iovec iov = {p, size};
  while (iov.iov_len) {
    ssize_t n = vmsplice(fd, &iov, 1, flags);
    if (n <= 0)
      die("vmsplice");
    iov.iov_base = (char *)iov.iov_base + n;
    iov.iov_len -= (size_t)n;
  }
}

static void write_words(char *p, size_t size) {
  for (size_t off = 0; off < size; off += PAGE)
    *(volatile uint64_t *)(p + off) = off;
}

/* How A tells B "go" and B tells A "done", per mode. */
struct chan {
  int data[2], ack[2]; /* pipes (gift, copy, shm, nogift modes) */
  int efd_b, efd_a;    /* eventfds (memfd-eventfd) */
  uint32_t *box;       /* two futex mailboxes on a shared page: [0] to B, [1] to A */
};

static void wake_b(enum mode m, struct chan *c) {
  if (m == MEMFD_FUTEX) {
    mbox_post(&c->box[0], 0);
  } else if (m == MEMFD_EVENTFD) {
    uint64_t one = 1;
    if (write(c->efd_b, &one, 8) != 8)
      die("write eventfd");
  } else if (write(c->data[1], "r", 1) != 1) {
    die("write");
  }
}

static void wait_b(enum mode m, struct chan *c) {
  uint64_t v;
  if (m == MEMFD_FUTEX)
    mbox_take(&c->box[0], 0);
  else if (m == MEMFD_EVENTFD ? read(c->efd_b, &v, 8) != 8 : read(c->data[0], &v, 1) != 1)
    die("read");
}

static void ack_a(enum mode m, struct chan *c) {
  if (m == MEMFD_FUTEX) {
    mbox_post(&c->box[1], 0);
  } else if (m == MEMFD_EVENTFD) {
    uint64_t one = 1;
    if (write(c->efd_a, &one, 8) != 8)
      die("write eventfd");
  } else if (write(c->ack[1], "a", 1) != 1) {
    die("write ack");
  }
}

static void wait_ack(enum mode m, struct chan *c) {
  uint64_t v;
  if (m == MEMFD_FUTEX)
    mbox_take(&c->box[1], 0);
  else if (m == MEMFD_EVENTFD ? read(c->efd_a, &v, 8) != 8 : read(c->ack[0], &v, 1) != 1)
    die("read ack");
}

/* A: one transfer of `size` bytes. `reuse` is the buffer A keeps (copy,
 * nogift) or shares with B (shm, memfd modes). */
static void send_one(enum mode m, struct chan *c, size_t size, int huge, char *reuse) {
  if (m == COPY || m == SHM || m == NOGIFT || m == MEMFD_FUTEX || m == MEMFD_EVENTFD) {
    write_words(reuse, size);
    if (m == COPY) {
      for (size_t done = 0; done < size;) {
        ssize_t n = write(c->data[1], reuse + done, size - done);
        if (n <= 0)
          die("write");
        done += (size_t)n;
      }
    } else if (m == NOGIFT) {
      splice_in(c->data[1], reuse, size, 0); /* B's acknowledgement says the pipe let go of it */
    } else {
      wake_b(m, c);
    }
    return;
  }
  char *p = map(size, huge, 0); /* fresh pages each time, as a gift should be */
  write_words(p, size);
  splice_in(c->data[1], p, size, SPLICE_F_GIFT);
  munmap(p, size); /* the pipe holds its own references */
}

/* B: receives `total` transfers and acknowledges each (so A's timing covers
 * delivery, as our call/reply does). */
static void receiver(enum mode m, struct chan *c, size_t size, uint64_t total, char *shared) {
  char *buf = map(size, 0, 0);
  int null = m == DEVNULL ? open("/dev/null", O_WRONLY) : -1;
  for (uint64_t i = 0; i < total; i++) {
    if (m == DEVNULL) {
      for (size_t done = 0; done < size;) {
        ssize_t n = splice(c->data[0], 0, null, 0, size - done, SPLICE_F_MOVE);
        if (n <= 0)
          die("splice");
        done += (size_t)n;
      }
    } else if (m == SHM || m == MEMFD_FUTEX || m == MEMFD_EVENTFD) {
      wait_b(m, c);
      touch(shared, size, 0);
    } else {
      read_full(c->data[0], buf, size);
      touch(buf, size, m == SUM);
    }
    ack_a(m, c);
  }
  exit(0);
}

/* The gift taken apart, in one process so that no other thread runs inside
 * a timed stretch: each phase's ticks (or ns) summed over the timed
 * transfers. The pipe holds the whole chunk, so nothing blocks. */
enum { PH_MMAP, PH_FAULT, PH_VMSPLICE, PH_READ, PH_MUNMAP, NPH };
static const char *const phase_names[] = {"mmap", "fault_zero", "vmsplice", "read", "munmap"};

static uint64_t ph_now(int tsc) { return tsc ? rdtsc() : now_ns(); }

static void phases_one(int fd[2], size_t size, size_t cap, int huge, int tsc, char *buf, uint64_t ph[NPH]) {
  uint64_t t0 = ph_now(tsc);
  char *p = map(size, huge, 0);
  uint64_t t1 = ph_now(tsc);
  write_words(p, size);
  uint64_t t2 = ph_now(tsc);
  ph[PH_MMAP] += t1 - t0;
  ph[PH_FAULT] += t2 - t1;
  for (size_t done = 0; done < size;) {
    size_t chunk = size - done < cap ? size - done : cap;
    struct iovec iov = {p + done, chunk};
    uint64_t a = ph_now(tsc);
    ssize_t n = vmsplice(fd[1], &iov, 1, SPLICE_F_GIFT | SPLICE_F_NONBLOCK);
    uint64_t b = ph_now(tsc);
    if (n <= 0)
      die("vmsplice (phases)");
    read_full(fd[0], buf + done, (size_t)n);
    uint64_t e = ph_now(tsc);
    ph[PH_VMSPLICE] += b - a;
    ph[PH_READ] += e - b;
    done += (size_t)n;
  }
  uint64_t t3 = ph_now(tsc);
  munmap(p, size);
  ph[PH_MUNMAP] += ph_now(tsc) - t3;
  touch(buf, size, 0);
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
  if (huge && m != TOUCH && m != SUM && m != DEVNULL && m != PHASES) {
    fprintf(stderr, "%s: --huge applies to the fresh buffers of touch, sum, devnull and phases only\n", prog);
    return 2;
  }
  struct chan c = {.efd_b = -1, .efd_a = -1};
  if (pipe(c.data) || pipe(c.ack))
    die("pipe");
  long cap = size < 1048576 ? (long)size : 1048576; /* the default pipe-max-size */
  if (cap < 65536)
    cap = 65536;
  cap = fcntl(c.data[1], F_SETPIPE_SZ, cap);
  if (cap < 0)
    die("F_SETPIPE_SZ");
  const uint64_t warm = 8;
  struct meter mt;
  char extra[256];
  int n = snprintf(extra, sizeof(extra), "pages=%zu%s%s", size / PAGE, huge ? " frame=2m" : "",
                   m == DEVNULL ? " note=receiver_never_sees_data" : "");
  if (m == PHASES) {
    char *buf = map(size, 0, 0);
    uint64_t ph[NPH] = {0};
    meter_open(&mt, use_tsc);
    for (uint64_t i = 0; i < iters + warm; i++) {
      if (i == warm) {
        memset(ph, 0, sizeof(ph));
        meter_start(&mt);
      }
      phases_one(c.data, size, (size_t)cap, huge, use_tsc, buf, ph);
    }
    long long instr;
    uint64_t ns = meter_stop(&mt, &instr);
    for (int k = 0; k < NPH && n < (int)sizeof(extra); k++)
      n += snprintf(extra + n, sizeof(extra) - (size_t)n, " %s=%llu", phase_names[k],
                    (unsigned long long)(ph[k] / iters));
    if (n < (int)sizeof(extra))
      snprintf(extra + n, sizeof(extra) - (size_t)n, " phase_unit=%s note=one_process_no_receiver",
               use_tsc ? "tsc" : "ns");
    bench_line(bench_names[m], size, iters, instr, ns, accel_name(), extra);
    return 0;
  }
  char *shared = 0;
  if (m == MEMFD_FUTEX || m == MEMFD_EVENTFD) {
    int mfd = memfd_create("page_transfer", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, (off_t)size))
      die("memfd_create");
    shared = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0); /* B inherits the mapping */
    if (shared == MAP_FAILED)
      die("mmap memfd");
    c.box = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c.box == MAP_FAILED)
      die("mmap");
    c.efd_b = eventfd(0, 0);
    c.efd_a = eventfd(0, 0);
    if (c.efd_b < 0 || c.efd_a < 0)
      die("eventfd");
  } else if (m == SHM || m == COPY) {
    shared = map(size, 0, 1);
  } else if (m == NOGIFT) {
    shared = map(size, 0, 0); /* A's own buffer, reused: faulted in by the warm-up */
  }
  pid_t b = fork();
  if (b < 0)
    die("fork");
  if (b == 0)
    receiver(m, &c, size, iters + warm, shared);
  meter_open(&mt, use_tsc);
  for (uint64_t i = 0; i < iters + warm; i++) {
    if (i == warm)
      meter_start(&mt);
    send_one(m, &c, size, huge, shared);
    wait_ack(m, &c);
  }
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr);
  int st;
  if (waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "%s: the receiver failed\n", prog);
    return 1;
  }
  if (m == MEMFD_FUTEX || m == MEMFD_EVENTFD)
    snprintf(extra + n, sizeof(extra) - (size_t)n, " note=shared_not_exclusive");
  bench_line(bench_names[m], size, iters, instr, ns, accel_name(), extra);
  return 0;
}
