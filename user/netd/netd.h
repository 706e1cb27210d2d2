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
#define NETD_MAX_SESSIONS 16

/* Slots of netd's CNode. */
#define SESSION_SLOTS 512                /* session i at + i * SESSION_STRIDE: */
#define SESSION_STRIDE (8 + NET_POOL + QUEUE_FRAMES_MAX)
#define S_DONATION 0                     /*   the client's untyped */
#define S_TABLE 1                        /*   page table for the record */
#define S_RECORD 2                       /*   the record's frame */
#define S_REPLY 4                        /*   a waiting NET_RECV's saved reply */
#define S_COLLECT 6                      /*   a waiting NET_COLLECT's saved reply */
#define S_SEND 7                         /*   a waiting NET_SEND's saved reply */
#define S_POOL 8                         /*   pool frame j at + j */
#define S_HEADS (S_POOL + NET_POOL)      /*   its queue: up to QUEUE_FRAMES_MAX frames */
#define QUEUE_SLOT_BYTES 128
#define QUEUE_PER_FRAME (K_PAGE_SIZE / QUEUE_SLOT_BYTES)
#define QUEUE_FRAMES_MAX (NET_QUEUE_MAX / QUEUE_PER_FRAME)
#define SESSION_FIXED_BYTES (8192 + K_PAGE_SIZE) /* of a donation: the page table, the record; the rest is queue */
_Static_assert(SERVER_GIFT_SLOT + NET_MAX_GIFTS <= SESSION_SLOTS, "slot ranges overlap");
/* Session i's sent frames that come back (keep), from their send until
 * they are returned: a ring of TX_STRIDE slots at TX_SLOT + i * TX_STRIDE,
 * in netd's own CNode (pinned frames never sit in memory a client can
 * revoke). env hands out the slots between the sessions' and these. */
#define TX_SLOT 4096
#define TX_STRIDE NET_TX_FRAMES
_Static_assert(SESSION_SLOTS + SESSION_STRIDE * NETD_MAX_SESSIONS <= TX_SLOT - 256, "room for env's slots");
_Static_assert(TX_SLOT + TX_STRIDE * NETD_MAX_SESSIONS <= 1u << NETD_CNODE_BITS, "netd's CNode holds the sent frames");

#define RX_ENTRIES 64 /* two descriptors each in a ring of 128 */
#define VNET_HDR 12   /* struct virtio_net_hdr with num_buffers (virtio 1.x) */
#define HDR_SLOT 128  /* bytes of a header buffer: VNET_HDR + NET_HEAD, rounded */
#define TX_TABLE_ENTRIES (1 + NET_PKT_SEGS)
#define RXQ 0
#define TXQ 1

/* Receive entries: header buffer k (netd's) and a frame. The frame's
 * capability stays in its owner's pool slot while it is on the device (no
 * move there and back). When the owner closes or dies, a frame still on the
 * device stays pinned in that slot, and the session's index is not handed
 * out again, until the device gives the frame back and netd releases it. */
enum { RX_EMPTY, RX_HOLD, RX_POSTED, RX_ECHOING };
#define RX_OWNER_NETD (-2) /* the echo mode's own pages */
#define RX_NO_POOL (-1)    /* not in a session's pool (the echo mode's pages) */
struct rx_entry {
  u8 state;
  s8 session;       /* owner of the frame, -1 if none */
  u8 generation;
  s16 pool;         /* the owner's pool slot holding it, or RX_NO_POOL */
  u64 phys;
};
#define RX_NONE ((struct rx_entry){RX_EMPTY, -1, 0, RX_NO_POOL, 0})
cptr_t ring_frame_slot(unsigned k); /* where entry k's frame capability is */
extern struct rx_entry rx[RX_ENTRIES];
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
/* SLOT_SENDING: a frame of a send (one of [keep, n)) on the device, pinned
 * in the pool slot it joins once the device is done; netd marks it in its
 * own memory too (session.pool_sending), since the record may go first. */

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

/* A session's state, in a frame made from its donation. */
struct record {
  struct net_counters c;
  u64 filter;
  u64 deadline;       /* of a waiting NET_RECV: ns since boot */
  u32 waiting, max_frames;
  u16 nspare, nqueued, qhead, in_ring, queued_frames;
  u16 spare[NET_POOL];
  u8 state[NET_POOL];
  u64 phys[NET_POOL];
};
_Static_assert(sizeof(struct record) <= 4096, "record fits a frame");
_Static_assert(NET_QUEUE_MAX % QUEUE_PER_FRAME == 0, "the longest queue fills its frames");
_Static_assert(SESSION_FIXED_BYTES + QUEUE_FRAMES_MAX * K_PAGE_SIZE <= 1u << NET_DONATION_MAX_BITS, "the largest donation holds the longest queue");
_Static_assert((1 + QUEUE_FRAMES_MAX) * K_PAGE_SIZE <= K_LARGE_PAGE_SIZE, "a session's memory fits its 2 MiB of netd's space");

/* One NET_SEND whose frames netd holds: its `keep` frames that come back
 * take places [first, first + keep) of the session's TX_SLOT ring; its
 * other frames sit in the pool slots they join (SLOT_SENDING, marked in
 * pool_sending with the send in sending_batch). */
struct tx_batch {
  u8 generation, done;
  u16 first, frames, keep, returned, pkts_left;
};

struct session {
  u8 used, generation;
  u32 alive_at;         /* the wake-up at which its memory was last seen there */
  u8 ring_refs;         /* receive entries whose frames are in its pool slots:
                           while any is, its slots are not handed to a new session */
  u8 held;              /* NET_HOLD: its next send's packets wait for the client's word */
  u8 collecting;        /* a NET_COLLECT waits (its reply in S_COLLECT) */
  u16 collect_room;
  cptr_t base;          /* first of its slots */
  cptr_t newest;        /* the last object made from its donation (see session_alive) */
  struct record *rec;   /* mapped in netd */
  struct queue_slot *queue; /* queue_len entries, mapped in netd */
  u16 queue_len;        /* from its donation, in netd's memory */
  /* Its sends, in netd's memory: they outlive the record (a session that
   * goes with packets on the device keeps its index until they are done). */
  u16 on_ring;          /* its packets on the device */
  u16 to_pool;          /* frames that join its pool once the device is done */
  u16 tx_used, tx_next; /* places of its ring in use; where the next send starts */
  u8 bhead, blen;       /* its sends, oldest first */
  u64 pool_sending[NET_POOL / 64]; /* pool slots SLOT_SENDING */
  u8 sending_batch[NET_POOL]; /* the send a SLOT_SENDING pool slot's frame is in */
  /* A send that waits for room on the device (its caller in S_SEND). */
  u8 send_waiting, wait_batch;
  u16 wait_npkts, wait_room;
  u32 wait_seg[NET_MAX_SEGS];
  u64 wait_phys[NET_MAX_GIFTS];
  struct tx_batch b[NET_TX_BATCHES];
};
#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB, queue after it */

/* netd's state, shared by its files. */
extern struct env env;
extern struct k_ipc_buffer *buf;
extern cptr_t irq_ntfn;                /* device interrupts and netd's timer */
extern struct session sessions[NETD_MAX_SESSIONS];
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

static inline cptr_t slot_of(unsigned i, unsigned which) { return sessions[i].base + which; }

/* session.c */
int session_alive(unsigned i);
int session_of(u64 badge);
int free_pool_slot(struct record *r);
u32 frames_held(unsigned i); /* of its pool's NET_POOL, sending ones included */
long take_donations(unsigned i, u64 first, u64 n);
long open_session(u64 info, u64 filter, cptr_t *cap_back);
long close_session(unsigned i, u64 *ngifts);
long arm_hold(unsigned i);
void session_gone(unsigned i); /* its memory went: what netd held for it goes */
void add_counters(struct net_counters *to, const struct net_counters *c);

/* rx.c */
void rx_init(void);
int owner_current(unsigned k);
int refill(void);               /* 1 if the device got new buffers */
void receive_all(void);
/* An answer to a NET_RECV: `words` message words, `frames` gifts, w1-w3. */
struct answer {
  int active;
  unsigned session, packets;
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
void tx_session_gone(unsigned i);
u64 tx_close(unsigned i, u64 first_gift); /* done frames to the gift slots from first_gift: returns how many */

/* main.c */
void device_event(void);        /* interrupt work: receive, refill, answer */

#endif
