/* Moving a message from one thread to another: words, capabilities, gifts.
 * Everything is checked first; then a transfer that cannot fail runs. */
#ifndef IPC_TRANSFER_H
#define IPC_TRANSFER_H

#include "kernel/tcb.h"
#include <abi/ipc.h>

struct msg {
  u64 info;
  u64 badge;
  u8 grant; /* capabilities may travel */
  u8 fault; /* a fault message the kernel composes from the thread's fault record */
};

struct k_ipc_buffer *ipc_buffer_of(const struct tcb *t);
/* Counts within limits and an IPC buffer where the message needs one. */
int msg_check(const struct tcb *self, u64 info);
/* Delivers m from snd to rcv (registers, IPC buffer, capabilities, gifts)
 * or changes nothing and returns why not. Sets rcv's result registers. */
int ipc_transfer(struct tcb *snd, struct tcb *rcv, const struct msg *m);
/* The sender's half of gift validation (see gift.h). */
int gift_check_source(struct tcb *snd, u32 n);

void ipc_wake(struct tcb *t, int err);
void tq_push(struct tcb **head, struct tcb **tail, struct tcb *t);
void tq_remove(struct tcb **head, struct tcb **tail, struct tcb *t);
/* The IRQ table must not keep a notification that is gone. */
void irq_forget_notification(struct notification *n);

#endif
