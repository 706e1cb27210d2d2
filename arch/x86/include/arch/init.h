/* Bringing the CPU up, for kernel_main. */
#ifndef ARCH_INIT_H
#define ARCH_INIT_H

#include <arch/timer.h>

void arch_cpu_init(void);

#endif
