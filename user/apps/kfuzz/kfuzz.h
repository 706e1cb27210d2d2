/* kfuzz: a multi-principal, IPC-aware system-call fuzzer.
 *
 * The controller (the program's first thread) builds NP principals, each
 * with its own untyped, CNode, VSpace (page tables included) and TPP
 * worker threads. Every address space holds a copy of this program's
 * image, so workers run the same code; they share only the pages below
 * SHARED_VA (configuration, the global operation counter, statistics).
 * Workers issue seeded random system calls on their CNode's slots; the
 * controller runs the kernel's invariant checker, restarts what stopped,
 * and destroys and rebuilds principals and shared objects while others
 * are blocked on them. */
#ifndef KFUZZ_H
#define KFUZZ_H

#include <ulib.h>
#include <abi/ipc.h>

#define NP 3                 /* principals */
#define TPP 3                /* worker threads per principal */
#define NW (NP * TPP)
#define SYS_SLOTS 64         /* statistics rows: system-call numbers, the last for bad ones */

/* A principal's CNode (2^CN_BITS slots); the controller fills 1-24 and
 * refills them when they are emptied; workers make things from 32 on. */
#define CN_BITS 7
#define CN_SLOTS (1u << CN_BITS)
enum {
  S_CNODE = 1,       /* the CNode itself */
  S_VSPACE = 2,      /* the principal's VSpace */
  S_PLAY_UT = 3,     /* an untyped the workers retype from */
  S_SHARED_EP = 4,   /* 4-7: badged copies of the shared endpoints */
  S_SHARED_NTFN = 8, /* 8-9: badged copies of the shared notifications */
  S_OWN_EP = 10,     /* 10-11: the principal's own endpoints */
  S_OWN_NTFN = 12,
  S_OTHER_EP = 13,   /* 13-14: the next two principals' first endpoint */
  S_OTHER_NTFN = 15, /* the next principal's notification */
  S_TCB = 16,        /* 16-18: the principal's worker threads */
  S_OTHER_TCB = 19,  /* the next principal's first worker */
  S_BUF = 20,        /* 20-22: the workers' IPC buffer frames */
  S_SPARE_FRAME = 23,
  S_DMA = 24,
  S_PLAY = 32,       /* 32-95: what the workers make, copy and move */
  S_RECV = 96,       /* 96 + 10k ...: worker k's receive slots */
};
#define RECV_SLOTS 10
#define N_SHARED_EP 4
#define N_SHARED_NTFN 2

/* Every principal's address space (and the controller's, for the first
 * two) has the same layout, all under one PDPT. */
#define IMAGE_VA 0x400000ull
#define SHARED_VA 0x1000000ull
#define SHARED_PAGES 4
#define STACK_VA 0x1200000ull /* + g * STACK_STRIDE: worker g's stack, then its IPC buffer */
#define STACK_STRIDE 0x10000ull
#define STACK_PAGES 4
#define BUF_OFFSET 0x8000ull
#define WIN_VA 0x1400000ull   /* gift receive window: page tables provided */
#define WIN_SIZE 0x200000ull
#define PLAY_VA 0x1600000ull  /* workers map here, making their own page tables */
#define PLAY_SIZE 0x400000ull

/* Configuration flags (module argument bits 24-31). */
#define F_NO_CAP_AND_GIFT 1u  /* never name one frame as a capability and a gift */
#define F_NO_BUFFER_DROP 2u   /* never take a sibling's IPC buffer away */
#define F_NO_VSPACE_REVOKE 4u /* never revoke the VSpace slot */
#define F_NO_DMA 8u           /* never pin frames (a pinned frame once got copies) */

/* r13 of every worker system call: the kernel prints it with r12 (the
 * operation index) if it faults while serving the call. */
#define OP_MAGIC 0x6b66757a7a000000ull

struct wstat {
  u64 ok[SYS_SLOTS], err[SYS_SLOTS];
  u64 ops, starts;
  u64 msgs_rx, words_rx, caps_rx, gifts_rx, mapped_rx; /* what arrived: the paths really taken */
  u64 send_err[64];    /* sends, calls and reply-receives by error code */
  u64 two_level, two_level_ok; /* calls on a capability named one level down, and those that succeeded */
  u64 pin_outside_root;        /* pins one level down and moves of pinned frames out of the root, refused */
  u64 unpin_to, unpin_to_moved; /* unpins with a destination, and those that moved the frame there */
  u64 pin_to, pin_to_moved;     /* pins of a run that move each frame to a slot given, and those that did */
  u64 gifts_down, gifts_down_ok; /* messages whose gifts were slots one level down (gift_cnode), and those that went */
};

struct shared {
  u64 seed, flags, budget;
  volatile u64 ops;    /* operations issued so far, all workers */
  volatile u64 stop;   /* the budget is spent: workers exit */
  volatile u64 failed; /* a worker saw an error code out of range */
  volatile u64 fail_op;
  struct wstat w[NW];
};
_Static_assert(sizeof(struct shared) <= SHARED_PAGES * 4096, "shared pages");

static inline struct shared *shared(void) { return (struct shared *)SHARED_VA; }

static inline u64 stack_top(u32 g) { return STACK_VA + g * STACK_STRIDE + STACK_PAGES * K_PAGE_SIZE; }
static inline struct k_ipc_buffer *worker_buffer(u32 g) {
  return (struct k_ipc_buffer *)(STACK_VA + g * STACK_STRIDE + BUF_OFFSET);
}

/* xorshift64*, seeded per worker and incarnation. */
static inline u64 mix64(u64 x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

/* Worker entry: arg = global index | incarnation << 8. */
void worker_main(u64 arg);
extern const char *const syscall_names[];

#endif
