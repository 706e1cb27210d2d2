/* Interrupt lines, for generic code: mask, unmask, end of interrupt. */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H

void arch_irq_eoi(unsigned irq);
void arch_irq_mask(unsigned irq);
void arch_irq_unmask(unsigned irq);

#endif
