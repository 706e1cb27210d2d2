#include "kernel/clock.h"
#include <arch/cpu.h>
#include <arch/timer.h>

static u64 boot_tsc;

void clock_init(u64 tsc) { boot_tsc = tsc; }

u64 clock_tsc_to_ns(u64 d) {
  u64 per_us = arch_tsc_per_us();
  return d / per_us * 1000 + (d % per_us) * 1000 / per_us;
}

u64 clock_ns(void) { return clock_tsc_to_ns(rdtsc() - boot_tsc); }
