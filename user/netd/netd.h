/* netd: a user-space virtio-net driver and demultiplexer (protocol in
 * net.h). Packets land in frames their receivers donated: each receive
 * buffer is a two-descriptor chain, a header buffer of netd's own followed
 * by a client's page, so netd decides whose a packet is from its own
 * memory and never maps a client's frame. */
#ifndef NETD_H
#define NETD_H

#include <ulib.h>
#include <env.h>
#include <net.h>
#include <virtio_pci.h>
#include <abi/bootinfo.h>
#include <server.h>

#define NETD_PUBLIC_EP K_BI_SLOT_FIRST_FREE_FIXED        /* from init */
#define NETD_DEVICE_UT (K_BI_SLOT_FIRST_FREE_FIXED + 1)  /* the card's memory, slots 9-15 */
#define NETD_DEVICE_UTS 7

#define RX_ENTRIES 64 /* two descriptors each in a ring of 128 */

/* Slots of netd's root CNode. A frame is pinned only while the device has
 * it, and only here: in the slot of the receive entry or of the send that
 * put it there (a pinned frame must stay where netd can name it and release
 * it once the device is done, never in a CNode a client can revoke). Every
 * other frame netd holds for a session waits, unpinned, in the session's
 * own CNode, made from its donation. So a session costs netd two root slots
 * and an entry of its own memory, whatever the session holds, and init
 * gives netd a place for every 2^NET_DONATION_BITS bytes of memory
 * (netd_cnode_bits): no client can fill the table with sessions before its
 * memory runs out. */
/* Pinned frames sit in PIN_SLOT + t, t from one free list: a receive
 * entry's frame holds one, each frame of a send on the device another
 * (at most TXF_MAX of those), so a sent frame that goes on to a receive
 * entry stays where it is. */
#define PIN_SLOT 256
#define TXF_MAX 1024
#define PIN_MAX (RX_ENTRIES + TXF_MAX)
#define ENV_SLOT (PIN_SLOT + PIN_MAX)       /* env's slots, up to NETD_PLACE_SLOT */
_Static_assert(SERVER_GIFT_SLOT + NET_MAX_GIFTS <= PIN_SLOT, "slot ranges overlap");
_Static_assert(ENV_SLOT + 256 <= NETD_PLACE_SLOT, "room for env's slots");
static inline cptr_t place_donation(unsigned i) { return NETD_PLACE_SLOT + NETD_PLACE_STRIDE * i; }
static inline cptr_t place_cnode(unsigned i) { return NETD_PLACE_SLOT + NETD_PLACE_STRIDE * i + 1; }

/* A session's CNode, the first object made from its donation (slot 0 of
 * every CNode is the kernel's). */
#define SESSION_CNODE_BITS 9
#define C_TABLE 1    /* page table for the record and queue */
#define C_RECORD 2   /* the record's frame */
#define C_REPLY 3    /* a waiting NET_RECV's saved reply */
#define C_COLLECT 4  /* a waiting NET_COLLECT's */
#define C_SEND 5     /* a waiting NET_SEND's */
#define C_POOL 8u    /* pool frame j at + j */
#define C_KEPT (C_POOL + NET_POOL) /* sent frames that come back: a ring of NET_TX_FRAMES */
#define C_QUEUE (C_KEPT + NET_TX_FRAMES) /* the queue's frames */
#define QUEUE_SLOT_BYTES 128
#define QUEUE_PER_FRAME (K_PAGE_SIZE / QUEUE_SLOT_BYTES)
#define QUEUE_FRAMES_MAX (NET_QUEUE_MAX / QUEUE_PER_FRAME)
_Static_assert(C_QUEUE + QUEUE_FRAMES_MAX <= 1u << SESSION_CNODE_BITS, "the session's CNode holds its frames");
/* Of a donation: the CNode, the page table and the record; the rest is queue. */
#define PT_BYTES 8192 /* a page table object: the table and the kernel's record of it */
#define SESSION_FIXED_BYTES ((1u << (SESSION_CNODE_BITS + K_CNODE_SLOT_BITS)) + PT_BYTES + K_PAGE_SIZE)
static inline cptr_t in_session(unsigned i, unsigned slot) { return k_cptr_in(place_cnode(i), slot); }

#define VNET_HDR 12   /* struct virtio_net_hdr with num_buffers (virtio 1.x) */
#define HDR_SLOT 128  /* bytes of a header buffer: VNET_HDR + NET_HEAD, rounded */
#define TX_TABLE_ENTRIES (1 + NET_PKT_SEGS)
#define RXQ 0
#define TXQ 1

/* Receive entries: header buffer k (netd's) and a frame, in a PIN_SLOT
 * and pinned while the device has it. The frame is one of a session's
 * spares, moved there from its pool slot, which waits for it: it goes back
 * there when the device is done, unless its owner went meanwhile (then it
 * is released, back to its memory). */
enum { RX_EMPTY, RX_HOLD, RX_POSTED, RX_ECHOING };
#define RX_OWNER_NETD (-2) /* the echo mode's own pages */
#define RX_NO_POOL (-1)    /* not in a session's pool (the echo mode's pages) */
struct rx_entry {
  u8 state;
  s16 pool;         /* the owner's pool slot it came from, or RX_NO_POOL */
  s32 session;      /* owner of the frame, -1 if none */
  u32 generation;
  u16 slot; /* its frame's PIN_SLOT index (a session's frame) */
  u64 phys;
};
#define RX_NONE ((struct rx_entry){.state = RX_EMPTY, .pool = RX_NO_POOL, .session = -1})
static inline cptr_t pin_slot(unsigned t) { return PIN_SLOT + t; }
unsigned pin_take(void); /* a free PIN_SLOT index (there always is one: see PIN_MAX) */
void pin_give(unsigned t);
extern struct rx_entry rx[RX_ENTRIES];
static inline cptr_t ring_frame_slot(unsigned k) { return pin_slot(rx[k].slot); }
extern u8 *rx_hdr;
extern u64 rx_hdr_phys[RX_ENTRIES];
extern struct virtio_dev dev;
extern struct virtq rxq, txq;
extern u8 mac[6];
extern u64 vnet_zero_phys;
extern struct virtq_desc *tx_tables[VIRTQ_SIZE];
extern u64 tx_tables_phys[VIRTQ_SIZE];
extern s8 echo_of_head[VIRTQ_SIZE];
/* The diagnostic ceiling (echo.c): netd itself answers UDP echo on
 * echo_port from its own pages, and ARP for NETD_ECHO_IP. */
#define NETD_ECHO_IP {198, 18, 0, 15}
extern u16 echo_port;
long echo_setup(struct env *e);
/* 1 if entry k (used_len bytes from the device) was echo traffic. */
int echo_receive(unsigned k, u32 used_len);
/* Around each event: start (1) and end (0); prints a COST line per burst. */
void echo_account(int start_of_event);

enum slot_state { SLOT_FREE, SLOT_SPARE, SLOT_QUEUED, SLOT_RING, SLOT_SENDING };
/* SLOT_RING: its frame is on a receive entry; SLOT_SENDING: a frame of a
 * send (one of [keep, n)) that joins the pool here once the device is done
 * (until the send is posted, it waits here). */

struct queued {
  u16 len;
  u8 head;
  u8 pool;  /* pool index of the frame holding the tail, 0xff if none */
};
/* An entry of a session's queue (in frames made from its donation): the
 * packet's first bytes and what it is. */
struct queue_slot {
  u8 head[NET_HEAD];
  struct queued q;
  u8 unused[QUEUE_SLOT_BYTES - NET_HEAD - sizeof(struct queued)];
};
_Static_assert(sizeof(struct queue_slot) == QUEUE_SLOT_BYTES, "queue slots tile their frames");

/* One NET_SEND whose frames netd holds: its `keep` frames that come back
 * take places [first, first + keep) of the session's C_KEPT ring; its
 * other frames join the pool slots reserved for them (SLOT_SENDING). */
struct tx_batch {
  u8 done;
  u16 first, frames, keep, returned;
};

/* A session's state, in a frame made from its donation: nothing in it is
 * needed once the session is gone (what the device still holds is
 * recorded in netd's own memory: rx, tx_sends). */
struct record {
  struct net_counters c;
  u64 filter;
  u32 waiting, max_frames;
  u16 nspare, nqueued, qhead, in_ring, queued_frames;
  u16 spare[NET_POOL];
  u8 state[NET_POOL];
  /* Its sends. */
  u8 held;              /* NET_HOLD: its next send's packets wait for the client's word */
  u8 collecting;        /* a NET_COLLECT waits (its reply in C_COLLECT) */
  u16 collect_room;
  u16 to_pool;          /* frames that join its pool once the device is done */
  u16 tx_used, tx_next; /* places of its C_KEPT ring in use; where the next send starts */
  u8 bhead, blen;       /* its sends, oldest first */
  struct tx_batch b[NET_TX_BATCHES];
  u64 pool_sending[NET_POOL / 64]; /* pool slots SLOT_SENDING */
  u64 kept_missing[NET_TX_FRAMES / 64]; /* kept places whose frame the client took back (an answer failed on it) */
  u8 sending_batch[NET_POOL];      /* the send such a slot's frame is in */
  /* A send that waits for room on the device (its caller in C_SEND), its
   * frames in the slots they go to afterwards. */
  u8 send_waiting, wait_batch;
  u16 wait_npkts, wait_room, wait_nseg;
  u32 wait_seg[NET_MAX_SEGS];
  u8 wait_pool[NET_MAX_GIFTS]; /* frame f >= keep: its pool slot */
};
_Static_assert(sizeof(struct record) <= 4096, "record fits a frame");
_Static_assert(NET_QUEUE_MAX % QUEUE_PER_FRAME == 0, "the longest queue fills its frames");
_Static_assert(SESSION_FIXED_BYTES + QUEUE_FRAMES_MAX * K_PAGE_SIZE <= 1u << NET_DONATION_MAX_BITS, "the largest donation holds the longest queue");
_Static_assert(SESSION_FIXED_BYTES < 1u << NET_DONATION_BITS, "the least donation holds a queue");
_Static_assert((1 + QUEUE_FRAMES_MAX) * K_PAGE_SIZE <= K_LARGE_PAGE_SIZE, "a session's memory fits its 2 MiB of netd's space");

/* A place of netd's session table, in netd's own memory: what netd needs
 * to find a session and to look at it without touching the client's
 * memory first. Lists of places (ready, donors, senders...) are FIFO rings
 * of indexes, each place at most once in each (its flag says so). */
#define NO_PLACE 0xffffffffu
struct session {
  u32 generation;
  u8 used;
  u8 in_ready, in_donors, in_low, in_senders; /* on those lists */
  u8 timed;             /* on the deadline heap */
  u16 queue_len;        /* from its donation */
  u16 on_ring;          /* its packets on the device */
  u16 txf;              /* its frames pinned for sends on the device */
  u16 newest;           /* its CNode's slot of the last object made from the donation */
  u32 alive_at;         /* the wake-up at which its memory was last seen there */
  u32 heap_at;          /* its index in the deadline heap */
  u32 prev[2], next[2]; /* on the LIVE and ARP lists (session.c) */
  u64 deadline;         /* of a waiting NET_RECV: ns since boot */
  u64 filter;           /* netd's copy: the lists it is on go when its memory does */
  struct record *rec;   /* mapped in netd */
  struct queue_slot *queue;
};
#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB, queue after it */

/* A FIFO ring of places (session.c). */
struct place_ring {
  u32 *at;
  u32 head, count;
};
void ring_push(struct place_ring *r, unsigned i);
unsigned ring_pop(struct place_ring *r); /* NO_PLACE when empty */

/* An answer's gifts leave from the session's CNode (gift_cnode): its
 * frames go straight from where they wait. A kept caller's answer sets it
 * and puts back what the answer in hand needs. */
static inline u64 gifts_from(u64 cnode_slot) {
  extern struct k_ipc_buffer *buf;
  u64 was = buf->gift_cnode;
  buf->gift_cnode = cnode_slot;
  return was;
}

/* netd's state, shared by its files. */
extern struct env env;

/* The frame in PIN_SLOT t leaves the device's hands: unpinned and moved to
 * slot dest of cnode in one call (cnode 0: nowhere); one that cannot go
 * there, or a pinned remain, is released. 1 if it moved. t stays taken. */
static inline int pin_release(unsigned t, cptr_t cnode, u64 dest) {
  struct sysret m = sys_dma_unpin_to(K_BI_SLOT_DMA, pin_slot(t), cnode, dest);
  if (!m.err && m.val)
    return 1;
  if (m.err) /* nowhere to go: still pinned */
    sys_dma_unpin(K_BI_SLOT_DMA, pin_slot(t));
  sys_cnode_delete(env.cnode, pin_slot(t));
  return 0;
}
extern struct k_ipc_buffer *buf;
extern cptr_t irq_ntfn;                /* device interrupts and netd's timer */
extern struct session *sessions;       /* max_sessions places (session.c) */
extern unsigned max_sessions;
extern struct net_counters total;      /* what closed sessions counted, and driver-wide */
extern int test_hooks;                 /* NET_HOLD is honoured (NETD_TEST_HOOKS) */
/* Counts netd's returns from a blocking call. A client's memory can go
 * only while netd is blocked: there is one CPU and no client outranks
 * netd (drivers run at 120, their clients at 100), so a session seen alive
 * stays alive until netd blocks again (see session_alive). */
extern u32 wake_count;
/* Whose work netd's time goes to (charge.c): the session now being worked
 * for (-1: nobody); the stretch since the last call is the named session's
 * (charge_last_to); around every blocking call. */
long charge_setup(void);
int charge_to(int session); /* returns whom the time went to before */
void charge_last_to(int session);
void charge_start(void);
void charge_before_block(void);
void charge_after_wake(void);
void charge_settle(void); /* share out netd's run time now (before reporting it) */
static inline void netd_woke(void) {
  wake_count++;
  charge_after_wake();
}

/* session.c */
long sessions_setup(void);
int session_alive(unsigned i);
int session_of(u64 badge);
int current_session(unsigned i, u32 generation); /* alive, and that generation */
int free_pool_slot(struct record *r);
u32 frames_held(unsigned i); /* of its pool's NET_POOL, sending ones included */
long take_donations(unsigned i, u64 first, u64 n);
long open_session(u64 info, u64 filter, cptr_t *cap_back);
long close_session(unsigned i, u64 *ngifts);
long arm_hold(unsigned i);
void add_counters(struct net_counters *to, const struct net_counters *c);
void sweep_sessions(void);            /* looks at every live session once */
void sum_counters(struct net_counters *t); /* every live session's, added */
/* Whose packets these are: the session of (proto, port), of (any, port),
 * or -1; the ARP list; the default session (-1: none). */
int session_for_port(u8 proto, u16 port);
extern u32 arp_head;
int default_session(void);
/* Lists the ring and the answers work from. */
extern struct place_ring ready;       /* a waiting NET_RECV that has packets now */
extern struct place_ring donors;      /* more spares than the reserve (rx.c) */
extern struct place_ring low_donors;  /* some spares */
extern struct place_ring senders;     /* a send waits for the device */
/* A session keeps a few spares back for copies into them unless the ring
 * runs low (rx.c). */
#define SPARE_RESERVE 2
#define RX_LOW 16
void spares_grew(unsigned i);         /* after nspare rose: it may give frames to the ring */
void mark_ready(unsigned i);
/* Waiting NET_RECVs' deadlines, earliest first. */
void deadline_set(unsigned i, u64 at);
void deadline_clear(unsigned i);
u64 deadline_first(void);             /* ~0: none */
int deadline_due(u64 now);            /* a place whose deadline passed (-1: none), off the heap */

/* rx.c */
void rx_init(void);
int owner_current(unsigned k);
int refill(void);               /* 1 if the device got new buffers */
int rx_take_pinned(unsigned i, unsigned j, unsigned t, u64 phys);
void receive_all(void);
/* An answer to a NET_RECV: `words` message words, `frames` gifts, w1-w3. */
struct answer {
  int active;
  unsigned session, packets;
  u32 generation;
  u64 words, frames, w1, w2, w3;
};
extern struct answer direct_answer; /* for the request in hand, if active */
void answer_replied(long err);      /* the reply that carried it went (or not) */
void answer(unsigned i);        /* a waiting NET_RECV gets what is queued */
void answer_waiting(void);
long recv_request(unsigned i, const struct msg_regs *m, int *saved);

/* tx.c */
#define TIMER_BIT (1ull << 40)  /* on irq_ntfn: netd's timer (beside the card's line, < 31) */
#define HOLD_BIT (1ull << 41)   /* on irq_ntfn: a held send's client says go */
extern int tx_held;             /* a held send: the device hears of no transmit */
void tx_init(void);
unsigned tx_harvest(void);      /* completions; returns a client's packets done */
long send_request(unsigned i, const struct msg_regs *m, struct server_answer *o);
long collect_request(unsigned i, const struct msg_regs *m, struct server_answer *o);
u64 tx_word(unsigned i);        /* NET_SEND's w3 */
void tx_replied(long err);      /* the reply that returned frames went (or not) */
void tx_unhold(u64 bits);       /* HOLD_BIT, or the timer: is the hold over? */
u64 tx_hold_deadline(void);     /* when the timer must look at a hold again (~0: none) */
void tx_session_gone(unsigned i); /* its memory went (or it closed) */
u64 tx_close(unsigned i, u64 first_gift); /* done frames to the gift slots from first_gift: returns how many */

/* main.c */
void device_event(void);        /* interrupt work: receive, refill, answer */

#endif
