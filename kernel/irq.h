/* Interrupt lines as capabilities. IRQ_CONTROL hands out one IRQ_HANDLER
 * per line; a handler routes its line to a notification. When a legacy
 * line fires the kernel masks it and signals; the driver acknowledges
 * (IRQ_ACK) to unmask it once it has served the device. A message-
 * signalled line only signals: an edge needs no mask (the notification
 * keeps one bit however often it comes). The table is fixed-size. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include "kernel/cap.h"

struct notification;

/* An IRQ_CONTROL capability carries the mask of lines it may claim; a mint
 * narrows it (badge = the new mask, a subset), so init can hand a driver
 * the lines of its own devices and nothing else. */
#define IRQ_LINES_ALL ((1ull << K_IRQ_LINES) - 1)

/* *msi_data: what a device writes to raise a message-signalled line (0 for
 * a legacy one). */
int irq_get(struct cte *control, u64 irq, struct cte *dest, u64 *msi_data);
int irq_set_notification(const struct cap *handler, struct notification *n, u64 bits);
int irq_ack(const struct cap *handler);
void irq_handler_destroy(const struct cap *handler);
/* An interrupt on a line user space may own (not the timer). */
void irq_deliver(unsigned irq);

#endif
