/* ipc_roundtrip: the Linux side of our call/reply benchmark: a one-word
 * message and its answer between two processes, over a pair of pipes, a
 * pair of eventfds, or two futex mailboxes on a page both map (the fastest
 * blocking hand-over Linux has: a system call only when the peer sleeps);
 * and, for reference, futex mailboxes between two threads of one process
 * (one address space: no page-table switch, which ours never has the
 * benefit of). */
#include "common.h"
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>

static const char *prog = "ipc_roundtrip";

enum via { PIPE, EVENTFD, FUTEX, FUTEX_THREAD };
static const char *const vias[] = {"pipe", "eventfd", "futex", "futex-thread", 0};

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--iters N] [--via pipe|eventfd|futex|futex-thread] [--tsc]\n"
          "  --iters  round trips to time (default 100000)\n"
          "  --via    pipe: 8 bytes written and read each way between two processes (default)\n"
          "           eventfd: a counter each way between two processes\n"
          "           futex: a word each way in a page two processes share, FUTEX_WAIT/FUTEX_WAKE\n"
          "                  only when the peer has to sleep or be woken (no spinning)\n"
          "           futex-thread: the same between two threads of one process (private futexes)\n"
          "  --tsc    report rdtsc ticks per round trip as instr (exact under QEMU -icount)\n"
          "Prints one BENCH line name=ipc_roundtrip variant=VIA (accel=host, or $BENCH_ACCEL).\n",
          prog);
}

static void xfer(int out, int in, uint64_t *v) {
  if (write(out, v, 8) != 8 || read(in, v, 8) != 8) {
    perror(prog);
    exit(1);
  }
}

/* The futex variants: box[0] carries A's word to B, box[1] the answer;
 * the word itself travels in word[0] and word[1]. */
struct fx {
  uint32_t box[2];
  uint64_t word[2];
  uint64_t n;
  int priv;
};

static void *fx_b(void *arg) {
  struct fx *f = arg;
  for (uint64_t i = 0; i < f->n; i++) {
    mbox_take(&f->box[0], f->priv);
    f->word[1] = f->word[0] + 1;
    mbox_post(&f->box[1], f->priv);
  }
  return 0;
}

static void fx_call(struct fx *f, uint64_t v) {
  f->word[0] = v;
  mbox_post(&f->box[0], f->priv);
  mbox_take(&f->box[1], f->priv);
  if (f->word[1] != v + 1) {
    fprintf(stderr, "%s: wrong answer %llu to %llu\n", prog, (unsigned long long)f->word[1], (unsigned long long)v);
    exit(1);
  }
}

int main(int argc, char **argv) {
  uint64_t iters = 100000;
  enum via via = PIPE;
  int use_tsc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
      iters = parse_u64(prog, "--iters", argv[++i]);
    } else if (!strcmp(argv[i], "--via") && i + 1 < argc) {
      via = (enum via)parse_choice(prog, "--via", argv[++i], vias);
    } else if (!strcmp(argv[i], "--tsc")) {
      use_tsc = 1;
    } else {
      return bad_argument(prog, argv[i], usage);
    }
  }
  if (!iters) {
    fprintf(stderr, "%s: --iters must be positive\n", prog);
    return 2;
  }
  const uint64_t warm = 1000;
  int to_b[2], to_a[2];
  struct fx *f = 0;
  pid_t b = -1;
  pthread_t tb;
  if (via == FUTEX || via == FUTEX_THREAD) {
    f = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (f == MAP_FAILED) {
      perror(prog);
      return 1;
    }
    f->n = iters + warm;
    f->priv = via == FUTEX_THREAD ? FUTEX_PRIVATE_FLAG : 0;
    if (via == FUTEX_THREAD) {
      if (pthread_create(&tb, 0, fx_b, f)) {
        fprintf(stderr, "%s: pthread_create failed\n", prog);
        return 1;
      }
    } else if ((b = fork()) == 0) {
      fx_b(f);
      exit(0);
    }
  } else {
    if (via == EVENTFD) {
      to_b[0] = to_b[1] = eventfd(0, 0);
      to_a[0] = to_a[1] = eventfd(0, 0);
      if (to_b[0] < 0 || to_a[0] < 0) {
        perror(prog);
        return 1;
      }
    } else if (pipe(to_b) || pipe(to_a)) {
      perror(prog);
      return 1;
    }
    if ((b = fork()) == 0) {
      for (uint64_t i = 0; i < iters + warm; i++) {
        uint64_t v;
        if (read(to_b[0], &v, 8) != 8)
          exit(1);
        v = 1; /* eventfd needs a nonzero value; a pipe carries any word */
        if (write(to_a[1], &v, 8) != 8)
          exit(1);
      }
      exit(0);
    }
  }
  if (via != FUTEX_THREAD && b < 0) {
    perror(prog);
    return 1;
  }
  struct meter mt;
  meter_open(&mt, use_tsc);
  for (uint64_t i = 0; i < iters + warm; i++) {
    if (i == warm)
      meter_start(&mt);
    uint64_t v = i + 1;
    if (f)
      fx_call(f, v);
    else
      xfer(to_b[1], to_a[0], &v);
  }
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr);
  if (via == FUTEX_THREAD) {
    pthread_join(tb, 0);
  } else {
    int st;
    if (waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st)) {
      fprintf(stderr, "%s: the other side failed\n", prog);
      return 1;
    }
  }
  char extra[32];
  snprintf(extra, sizeof(extra), "variant=%s", vias[via]);
  bench_line("ipc_roundtrip", 8, iters, instr, ns, accel_name(), extra);
  return 0;
}
