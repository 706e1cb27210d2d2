/* netd: whose work its CPU time went to (see netd.h).
 *
 * The kernel counts netd's run time; netd shares it out among its
 * sessions. Within one wake-up nothing preempts netd but the timer, so the
 * TSC between two points is netd's own time: each stretch of work is
 * measured with it and put down to a session, or to nobody (refill,
 * timers, malformed frames); the time netd is blocked is left out. Every 64
 * wake-ups, and before netd reports its counters, the run time the kernel
 * counted since the last settlement (the work, and the blocking calls with
 * the replies and gifts they carried) is shared out in proportion to those
 * stretches: one system call per settlement. */
#include "netd.h"

#define NOBODY NETD_MAX_SESSIONS
#define SETTLE_EVERY 64

static u64 stretch[NETD_MAX_SESSIONS + 1]; /* TSC cycles since the last settlement */
static u8 stretch_generation[NETD_MAX_SESSIONS];
static unsigned current = NOBODY, wakes;
static u64 mark, settled_ns;

static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (u64)hi << 32 | lo;
}

/* Stretch slot of a session (-1: nobody). A slot whose session closed and
 * whose index was taken again hands what it held to nobody. */
static unsigned slot(int session) {
  if (session < 0)
    return NOBODY;
  unsigned i = (unsigned)session;
  if (stretch_generation[i] != sessions[i].generation) {
    stretch[NOBODY] += stretch[i];
    stretch[i] = 0;
    stretch_generation[i] = sessions[i].generation;
  }
  return i;
}

void charge_start(void) {
  settled_ns = sys_thread_ns();
  total.netd_ns = settled_ns; /* starting up was nobody's work */
  mark = rdtsc();
}

int charge_to(int session) {
  u64 now = rdtsc();
  int was = current == NOBODY ? -1 : (int)current;
  stretch[current] += now - mark;
  mark = now;
  current = slot(session);
  return was;
}

void charge_last_to(int session) {
  current = slot(session);
  charge_to(-1);
}

void charge_before_block(void) { charge_to(-1); }

void charge_after_wake(void) {
  if (++wakes == SETTLE_EVERY)
    charge_settle();
  current = NOBODY;
  mark = rdtsc();
}

void charge_settle(void) {
  int was = charge_to(-1);
  wakes = 0;
  u64 now_ns = sys_thread_ns(), ran = now_ns - settled_ns, sum = 0, given = 0;
  settled_ns = now_ns;
  for (unsigned i = 0; i <= NOBODY; i++)
    sum += stretch[i];
  unsigned shift = 0;
  while ((sum >> shift) > (1u << 24)) /* keeps ran * stretch within 64 bits */
    shift++;
  for (unsigned i = 0; i < NOBODY; i++) {
    if (stretch[i] && stretch_generation[i] == sessions[i].generation && session_alive(i)) {
      u64 share = ran * (stretch[i] >> shift) / ((sum >> shift) ? (sum >> shift) : 1);
      sessions[i].rec->c.netd_ns += share;
      given += share;
    }
    stretch[i] = 0;
  }
  total.netd_ns += ran - given; /* nobody's, and a gone session's */
  stretch[NOBODY] = 0;
  charge_to(was);
}
