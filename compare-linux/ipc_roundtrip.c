/* ipc_roundtrip: the Linux side of our call/reply benchmark: a one-word
 * message and its answer between two processes, over a pair of pipes or a
 * pair of eventfds. */
#include "common.h"
#include <sys/eventfd.h>
#include <sys/wait.h>

static const char *prog = "ipc_roundtrip";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--iters N] [--via pipe|eventfd] [--tsc]\n"
          "  --iters  round trips to time (default 100000)\n"
          "  --via    pipe: 8 bytes written and read each way (default); eventfd: a counter each way\n"
          "  --tsc    report rdtsc ticks per round trip as instr (exact under QEMU -icount)\n"
          "Prints one BENCH line name=ipc_roundtrip (accel=host, or $BENCH_ACCEL).\n",
          prog);
}

static void xfer(int out, int in, uint64_t *v) {
  if (write(out, v, 8) != 8 || read(in, v, 8) != 8) {
    perror(prog);
    exit(1);
  }
}

int main(int argc, char **argv) {
  uint64_t iters = 100000;
  int use_eventfd = 0, use_tsc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
      iters = parse_u64(prog, "--iters", argv[++i]);
    } else if (!strcmp(argv[i], "--via") && i + 1 < argc) {
      static const char *const vias[] = {"pipe", "eventfd", 0};
      use_eventfd = parse_choice(prog, "--via", argv[++i], vias);
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
  int to_b[2], to_a[2];
  if (use_eventfd) {
    to_b[0] = to_b[1] = eventfd(0, 0);
    to_a[0] = to_a[1] = eventfd(0, 0);
  } else if (pipe(to_b) || pipe(to_a)) {
    perror(prog);
    return 1;
  }
  const uint64_t warm = 1000;
  pid_t b = fork();
  if (b == 0) {
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
  struct meter mt;
  meter_open(&mt, use_tsc);
  for (uint64_t i = 0; i < iters + warm; i++) {
    if (i == warm)
      meter_start(&mt);
    uint64_t v = i + 1;
    xfer(to_b[1], to_a[0], &v);
  }
  long long instr;
  uint64_t ns = meter_stop(&mt, &instr);
  waitpid(b, 0, 0);
  bench_line("ipc_roundtrip", 8, iters, instr, ns, accel_name(), use_eventfd ? "variant=eventfd" : "variant=pipe");
  return 0;
}
