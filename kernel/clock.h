#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H
#include <lib/types.h>
void clock_init(u64 boot_tsc);
u64 clock_ns(void); /* since kernel entry, from the TSC */
u64 clock_tsc_to_ns(u64 tsc_cycles);
#endif
