/* Pieces every session server (blockd, netd) needs around its receive
 * slots, and the client's side of opening a session with a donation. */
#ifndef USER_SERVER_H
#define USER_SERVER_H

#include <env.h>

/* Slots every session server keeps in its CNode. */
#define SERVER_DONATION_SLOT 40 /* an OPEN's donation moves here */
#define SERVER_TEMP_SLOT 41     /* a capability an answer carries (a new session's endpoint) */
#define SERVER_GIFT_SLOT 64     /* a message's capabilities and gifts land from here */

/* A request's answer, as the server's handler decides it. The frames a
 * request brought must go back with it (server_gift_slots): left in the
 * receive slots, they would make the kernel refuse every later message
 * that brings frames (RECV_SLOTS_FULL). */
struct server_answer {
  u64 err, w1, w2, w3;
  u64 words, caps, gifts; /* words from w0 on (4: w0-w3); capabilities in buf->caps; gifts in buf->gifts */
  int saved;              /* the handler kept the caller (REPLY_SAVE) and answers later */
};

/* One session server: its public endpoint, the labels that open and close
 * a session, and what it does. Sessions are told apart by the endpoint's
 * badge (server_badge; 0 is the public endpoint). */
struct server {
  cptr_t ep;
  u32 open_label, close_label;
  u64 recv_slots; /* receive slots from SERVER_GIFT_SLOT: the most gifts a request brings */
  void (*handle)(const struct msg_regs *m, struct server_answer *a);
  void (*notified)(u64 bits); /* a bound notification's signal (0: none is bound) */
  void (*before_block)(void); /* before each wait (0: nothing to do) */
  void (*woke)(void);         /* after each wait (0: nothing to do) */
  void (*replied)(long err);  /* after a reply-and-receive, with its error (0: nothing to do) */
};

/* The service loop, for good: receive, sort the received capabilities
 * (an OPEN's donation to SERVER_DONATION_SLOT), handle, answer and receive
 * the next in one call, then empty the two slots opening and closing use. A
 * failed receive or reply drops what it left in the receive slots, so each
 * frame goes back to its owner's untyped. */
__attribute__((noreturn)) void server_run(const struct server *s, struct env *e, struct k_ipc_buffer *buf);

/* Capabilities land before gifts in the receive slots [first, ...). A
 * donation (when donation_slot is not 0) moves there; any other
 * capability is dropped, and the gifts move down to `first` so that they
 * stay in order. */
void server_sort_received(cptr_t cnode, cptr_t first, u64 ncaps, u64 ngifts, cptr_t donation_slot);
/* A session's badge: its index + 1 (0 is the public endpoint) and a
 * generation, so that a client's copy of a closed session's endpoint does
 * not reach the session that reuses its index. 32 bits each: a table of
 * any size, and a generation that does not come round again. */
static inline u64 server_badge(unsigned index, u32 generation) { return (u64)(index + 1) | (u64)generation << 32; }
/* The index a badge names (anything out of range for a bad one). */
static inline unsigned server_badge_index(u64 badge) { return (unsigned)(u32)badge - 1; }
static inline u32 server_badge_generation(u64 badge) { return (u32)(badge >> 32); }

/* The places of a session table whose slots start at `first`, `stride` a
 * place, in the CNode init gave the server (places.h); RANGE if none. */
long server_places(struct env *e, u64 first, u64 stride, unsigned *n);

/* The upper tables (a PDPT, and a PD for each 512) of n sessions' 2 MiB
 * regions from va on, from the server's own memory; each session brings
 * its page table. */
long server_session_tables(struct env *e, u64 va, unsigned n);

/* The reply gifts the n frames in the receive slots [first, first + n)
 * (the frames a request brought, back to their owner). Returns n. */
u64 server_gift_slots(struct k_ipc_buffer *buf, cptr_t first, u64 n);
/* After a reply that could not be delivered, what is left in the receive
 * slots goes back to its owner's untyped rather than block them. */
void server_drop_leftovers(cptr_t cnode, cptr_t first, u64 count);

/* A session's memory from its donation: the untyped moves from `incoming`
 * to `donated` (a slot that is the session's for good, so the server's
 * own use does not grow), a page table made from it is mapped at va, and
 * `n` frames made from it go to slots frames[i] mapped at va + i pages.
 * On failure everything made is revoked and the donation moved back. */
long server_session_memory(cptr_t cnode, cptr_t vspace, cptr_t incoming, cptr_t donated, cptr_t table,
                           const cptr_t *frames, unsigned n, u64 va);

/* Client: donates an untyped of 2^bits bytes from e's memory with request
 * `label` (w0 = arg) on a server's public endpoint; the session endpoint
 * of the reply lands in *session. */
long session_open(struct env *e, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                  cptr_t *session);
/* The same, the donation made from the untyped `from` (revoking it ends
 * the session, as a client's death does). */
long session_open_from(struct env *e, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                       cptr_t from, cptr_t *session);
/* The same into slots the caller names: the donation made in `donation`
 * (empty again once the server took it), the session endpoint in `session`
 * (a caller that opens round after round reuses both). */
long session_open_in(cptr_t cnode, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                     cptr_t from, cptr_t donation, cptr_t session);

#endif
