/* Shared by the Linux harness programs: timing, an instruction counter
 * (perf_event_open, user and kernel, where the machine allows it), the
 * BENCH line every result is printed as, and argument parsing helpers. */
#ifndef COMPARE_COMMON_H
#define COMPARE_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Counts instructions of this process and its children from now on; -1 if
 * the machine has no such counter (then `instr` is printed as "-"). */
static inline int instr_open(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof(a));
  a.type = PERF_TYPE_HARDWARE;
  a.size = sizeof(a);
  a.config = PERF_COUNT_HW_INSTRUCTIONS;
  a.inherit = 1;
  a.disabled = 1;
  int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
  if (fd >= 0)
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  return fd;
}

static inline long long instr_read(int fd) {
  long long v;
  if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
    return -1;
  return v;
}

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* Time and instructions of a measured stretch: instructions from the
 * hardware counter, or with `tsc` from rdtsc (exact under QEMU -icount). */
struct meter {
  int tsc, fd;
  uint64_t t0, c0;
  long long i0;
};

static inline void meter_open(struct meter *m, int tsc) {
  *m = (struct meter){.tsc = tsc, .fd = tsc ? -1 : instr_open()};
}

static inline void meter_start(struct meter *m) {
  m->t0 = now_ns();
  m->c0 = m->tsc ? rdtsc() : 0;
  m->i0 = instr_read(m->fd);
}

/* Nanoseconds since meter_start; instructions in *instr (-1: unknown). */
static inline uint64_t meter_stop(struct meter *m, long long *instr) {
  uint64_t ns = now_ns() - m->t0;
  *instr = m->tsc ? (long long)(rdtsc() - m->c0) : (m->fd >= 0 ? instr_read(m->fd) - m->i0 : -1);
  return ns;
}

static inline void bench_line(const char *name, uint64_t size, uint64_t ops, long long instr, uint64_t ns,
                              const char *accel, const char *extra) {
  double mbps = ns ? (double)size * (double)ops * 1000.0 / (double)ns : 0;
  printf("BENCH name=%s size=%llu ops=%llu ", name, (unsigned long long)size, (unsigned long long)ops);
  if (instr >= 0)
    printf("instr=%lld ", instr / (long long)ops);
  else
    printf("instr=- ");
  printf("ns=%llu mbps=%.3f accel=%s%s%s\n", (unsigned long long)(ns / ops), mbps, accel, extra[0] ? " " : "",
         extra);
  fflush(stdout);
}

static inline uint64_t parse_u64(const char *prog, const char *opt, const char *v) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 0);
  if (errno || *end || end == v) {
    fprintf(stderr, "%s: %s wants a number, not '%s' (see --help)\n", prog, opt, v);
    exit(2);
  }
  return x;
}

/* Index of v in the NULL-ended `choices` of option `opt`; a clear message
 * and exit status 2 when it is none of them. */
static inline int parse_choice(const char *prog, const char *opt, const char *v, const char *const *choices) {
  for (int i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i]))
      return i;
  fprintf(stderr, "%s: %s takes", prog, opt);
  for (int i = 0; choices[i]; i++)
    fprintf(stderr, "%s%s", i ? "|" : " ", choices[i]);
  fprintf(stderr, ", not '%s'\n", v);
  exit(2);
}

/* An argument no option takes: say so, show the usage, exit status 2. */
static inline int bad_argument(const char *prog, const char *arg, void (*usage)(FILE *)) {
  fprintf(stderr, "%s: unknown argument '%s'\n", prog, arg);
  usage(stderr);
  return 2;
}

static inline long futex_op(uint32_t *w, int op, uint32_t val) {
  return syscall(SYS_futex, w, op, val, (void *)0, (void *)0, 0);
}

/* A one-word mailbox between one sender and one receiver on memory both
 * map: 0 empty, 1 posted, 2 empty with the receiver asleep in FUTEX_WAIT.
 * The sender makes a system call only when the receiver sleeps, and the
 * receiver only when nothing is posted yet: the fewest system calls a
 * blocking hand-over can make. `priv` is FUTEX_PRIVATE_FLAG between
 * threads of one process, 0 between processes. */
static inline void mbox_post(uint32_t *w, int priv) {
  if (__atomic_exchange_n(w, 1, __ATOMIC_SEQ_CST) == 2)
    futex_op(w, FUTEX_WAKE | priv, 1);
}

static inline void mbox_take(uint32_t *w, int priv) {
  for (;;) {
    uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
    if (v == 1) {
      if (__atomic_compare_exchange_n(w, &v, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;
      continue;
    }
    if (v == 0 && !__atomic_compare_exchange_n(w, &v, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      continue;
    futex_op(w, FUTEX_WAIT | priv, 2); /* EAGAIN (already posted) and EINTR: look again */
  }
}

/* "host" natively; the guest runner sets BENCH_ACCEL to tcg or tcg-icount. */
static inline const char *accel_name(void) {
  const char *a = getenv("BENCH_ACCEL");
  return a && *a ? a : "host";
}

#endif
