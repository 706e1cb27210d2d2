/* Endpoint and notification destruction. No thread can wait on either yet,
 * so a dying one has nothing to wake; the IPC issue adds waking waiters
 * with an error here. */
#include "ipc/endpoint.h"

void ep_destroy(struct endpoint *ep) { ep->head = ep->tail = 0; }

void ntfn_destroy(struct notification *n) { n->waiter = n->bound = 0; }
