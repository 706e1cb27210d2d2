/* Interrupt lines, for generic code: mask, unmask, end of interrupt. */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

#include <lib/types.h>
#include <abi/syscalls.h>

void arch_irq_eoi(unsigned irq);
void arch_irq_mask(unsigned irq);
void arch_irq_unmask(unsigned irq);

/* Message-signalled lines K_IRQ_MSI_FIRST on: the data a device writes to
 * K_MSI_ADDRESS to raise one (its vector). */
u64 arch_msi_data(unsigned line);

/* x86: the vectors behind the message-signalled lines, and the local
 * APIC's spurious vector just after them. */
#define ARCH_MSI_VECTOR_BASE 48
#define ARCH_SPURIOUS_VECTOR (ARCH_MSI_VECTOR_BASE + K_IRQ_MSI_LINES)
_Static_assert(ARCH_SPURIOUS_VECTOR == 63, "the spurious vector's low bits are ones");
void lapic_init(void);
void lapic_eoi(void);
int lapic_msi_pending(void);

#endif
