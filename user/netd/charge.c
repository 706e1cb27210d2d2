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

#define SETTLE_EVERY 64

/* Per place: TSC cycles since the last settlement, and for which of its
 * sessions; the places with any, so that a settlement looks at those only. */
static u64 *stretch;
static u32 *stretch_generation, *touched;
static unsigned ntouched, nobody, current, wakes;
static u64 mark, settled_ns;

/* A place is on the list once, unless its session changed meanwhile: an
 * open is a wake-up, and a settlement comes every SETTLE_EVERY of them. */
static unsigned touched_max(void) { return max_sessions + 1 + 2 * SETTLE_EVERY; }

long charge_setup(void) {
  u64 bytes = (max_sessions + 1) * (u64)(sizeof(u64) + sizeof(u32)) + touched_max() * sizeof(u32);
  void *mem;
  long err = env_alloc_pages(&env, (bytes + K_PAGE_SIZE - 1) / K_PAGE_SIZE, &mem);
  if (err)
    return err;
  stretch = mem;
  stretch_generation = (u32 *)(stretch + max_sessions + 1);
  touched = stretch_generation + max_sessions + 1;
  current = nobody = max_sessions;
  return K_ERR_OK;
}

static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (u64)hi << 32 | lo;
}

/* Stretch slot of a session (-1: nobody). A slot whose session closed and
 * whose index was taken again hands what it held to nobody. */
static unsigned slot(int session) {
  if (session < 0)
    return nobody;
  unsigned i = (unsigned)session;
  if (stretch_generation[i] != sessions[i].generation) {
    stretch[nobody] += stretch[i];
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
  int was = current == nobody ? -1 : (int)current;
  if (!stretch[current] && current != nobody) {
    if (ntouched < touched_max())
      touched[ntouched++] = current;
    else
      current = nobody; /* cannot be (see touched_max) */
  }
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
  current = nobody;
  mark = rdtsc();
}

void charge_settle(void) {
  int was = charge_to(-1);
  wakes = 0;
  u64 now_ns = sys_thread_ns(), ran = now_ns - settled_ns, sum = 0, given = 0;
  settled_ns = now_ns;
  sum = stretch[nobody];
  for (unsigned t = 0; t < ntouched; t++)
    sum += stretch[touched[t]];
  unsigned shift = 0;
  while ((sum >> shift) > (1u << 24)) /* keeps ran * stretch within 64 bits */
    shift++;
  for (unsigned t = 0; t < ntouched; t++) {
    unsigned i = touched[t];
    if (stretch[i] && stretch_generation[i] == sessions[i].generation && session_alive(i)) {
      u64 share = ran * (stretch[i] >> shift) / ((sum >> shift) ? (sum >> shift) : 1);
      sessions[i].rec->c.netd_ns += share;
      given += share;
    }
    stretch[i] = 0;
  }
  ntouched = 0;
  total.netd_ns += ran - given; /* nobody's, and a gone session's */
  stretch[nobody] = 0;
  charge_to(was);
}
