/* The clock: the scheduler tick and the TSC's rate. */
#ifndef ARCH_TIMER_H
#define ARCH_TIMER_H

#include <lib/types.h>

void arch_timer_init(unsigned hz);
u64 arch_tsc_per_us(void);

#endif
