/* IRQ handlers and delivery (see irq.h). */
#include "kernel/irq.h"
#include "ipc/endpoint.h"
#include "ipc/transfer.h"
#include <arch/irq.h>

#define IRQ_LINES K_IRQ_LINES
#define IRQ_TIMER 0
#define IRQ_CASCADE 2

static struct {
  struct notification *ntfn;
  u64 bits;
  u8 claimed;
} lines[IRQ_LINES];

static int is_msi(unsigned irq) { return irq >= K_IRQ_MSI_FIRST; }

int irq_get(struct cte *control, u64 irq, struct cte *dest, u64 *msi_data) {
  if (irq >= IRQ_LINES || irq == IRQ_TIMER || irq == IRQ_CASCADE)
    return K_ERR_RANGE;
  if (!(irq_lines(&control->cap) & (1ull << irq)))
    return K_ERR_NO_RIGHTS;
  if (lines[irq].claimed)
    return K_ERR_IRQ_IN_USE;
  struct cap c = {.type = K_OBJ_IRQ_HANDLER, .rights = K_RIGHTS_ALL, .w1 = irq};
  cte_insert(dest, &c, control);
  lines[irq].claimed = 1;
  *msi_data = is_msi((unsigned)irq) ? arch_msi_data((unsigned)irq) : 0;
  return K_ERR_OK;
}

int irq_set_notification(const struct cap *h, struct notification *n, u64 bits) {
  if (!bits)
    return K_ERR_RANGE;
  lines[irq_line(h)].ntfn = n;
  lines[irq_line(h)].bits = bits;
  if (!is_msi(irq_line(h)))
    arch_irq_unmask(irq_line(h));
  return K_ERR_OK;
}

int irq_ack(const struct cap *h) {
  if (!lines[irq_line(h)].ntfn)
    return K_ERR_BAD_STATE;
  if (!is_msi(irq_line(h)))
    arch_irq_unmask(irq_line(h));
  return K_ERR_OK;
}

void irq_handler_destroy(const struct cap *h) {
  if (!is_msi(irq_line(h)))
    arch_irq_mask(irq_line(h));
  lines[irq_line(h)].ntfn = 0;
  lines[irq_line(h)].claimed = 0;
}

void irq_forget_notification(struct notification *n) {
  for (unsigned i = 0; i < IRQ_LINES; i++)
    if (lines[i].ntfn == n) {
      if (!is_msi(i))
        arch_irq_mask(i);
      lines[i].ntfn = 0;
    }
}

void irq_deliver(unsigned irq) {
  if (irq >= IRQ_LINES)
    return;
  if (!is_msi(irq))
    arch_irq_mask(irq);
  if (lines[irq].ntfn)
    ntfn_signal(lines[irq].ntfn, lines[irq].bits);
}
