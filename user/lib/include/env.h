/* A principal's view of its own resources: its CNode, its address space and
 * the untyped it allocates from. Every object these helpers make (page
 * tables included) comes from that untyped, so it is charged to its owner. */
#ifndef USER_ENV_H
#define USER_ENV_H

#include <sys.h>
#include <abi/ipc.h>

struct env {
  cptr_t cnode;     /* own root CNode */
  cptr_t vspace;    /* own address space */
  cptr_t untyped;   /* where new objects come from */
  u64 next_slot;    /* free slots [next_slot, end_slot) */
  u64 end_slot;
  u64 next_vaddr;   /* free virtual addresses from here on */
};

/* A program that spawn started (user/lib/spawn.c) owns a CNode of
 * 2^SPAWN_CNODE_BITS slots, laid out as abi/bootinfo.h says, and its free
 * virtual addresses begin at ENV_FREE_VA (below the stack, above the image). */
#define SPAWN_CNODE_BITS 12
#define ENV_FREE_VA 0x0000200000000000ull
/* Its own resources, with the slots from first_free on for new objects. */
struct env env_of_program(cptr_t first_free);

/* A free slot, or 0 when the CNode is full. */
cptr_t env_slot(struct env *e);
/* Retype one object into a fresh slot (from e->untyped, or from ut). */
long env_retype(struct env *e, u32 type, u32 size_bits, cptr_t *out);
long env_retype_from(struct env *e, cptr_t ut, u32 type, u32 size_bits, cptr_t *out);
/* Map a frame, making any missing page table from e->untyped. */
long env_map(struct env *e, cptr_t vspace, cptr_t frame, u64 vaddr, u32 attr);
/* Page tables (from e's untyped) for [va, va + size) in vspace, so that
 * frames can later be mapped there without a table missing: what a
 * receiver provides under a gift window. */
long env_prepare_tables(struct env *e, cptr_t vspace, u64 va, u64 size);
/* One fresh zeroed frame mapped writable at the next free address: its
 * address in *va and its slot in *frame. */
long env_page(struct env *e, u64 *va, cptr_t *frame);
/* The same, pinned for DMA through `dma`: its physical address in *phys. */
long env_pinned_page(struct env *e, cptr_t dma, u64 *va, u64 *phys);
/* A page of e's memory as the calling thread's IPC buffer. */
long env_ipc_buffer(struct env *e, cptr_t tcb, struct k_ipc_buffer **buf);
/* A fresh zeroed frame mapped writable at the next free address of e. */
long env_alloc_pages(struct env *e, u64 pages, void **out);
/* Another thread in e's address space and CSpace, at the caller's own
 * priority, running fn on a two-page stack of e's memory (no IPC buffer). */
long env_thread(struct env *e, void (*fn)(void), cptr_t *tcb);
/* The same with an IPC buffer of its own (a page of e's memory, at *buf),
 * in place before it first runs. */
long env_thread_ipc(struct env *e, void (*fn)(void), cptr_t *tcb, struct k_ipc_buffer **buf);
/* The same one step below the caller's priority: it runs only while the
 * caller is blocked (and nothing else is ready above it). */
long env_thread_below(struct env *e, void (*fn)(void), cptr_t *tcb);
/* A thread just below the caller's priority that revokes `slot` (when
 * `revoke`) or signals the notification `slot`, then exits: it acts only
 * once the caller blocks, in a request to a server for instance. One at a
 * time per program. */
long env_when_blocked(struct env *e, int revoke, cptr_t slot, cptr_t *tcb);

#endif
