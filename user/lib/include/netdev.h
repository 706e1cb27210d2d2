/* A client's side of a netd session, for a protocol stack: receive
 * batches, frames to donate, and transmit batches. Only abi types here, so
 * that lwIP's glue can include it (lwIP's err.h and abi/errors.h clash).
 *
 * Receive area: NET_POOL page-sized places in the client's address space
 * and as many CNode slots; page p is at rx_va + p * 4096, slot rx_slot + p.
 * A received packet's tail frame lands in one of them and stays the
 * client's until the stack frees it; then it is donated back to netd with
 * the next request. Transmit: packets are copied into staging frames
 * (2 KiB each) except received tails, which are sent as they are: their
 * frames go to netd's pool (zero copy) and are not used again here.
 * netd answers a send before the device has sent it: staging frames come
 * back with later answers, into whichever staging places are empty (any
 * staging frame is as good as another); with none left, the client asks
 * netd for them (NET_COLLECT) and waits. */
#ifndef USER_NETDEV_H
#define USER_NETDEV_H

#include <lib/types.h>
#include <net.h>

#define NETDEV_TX_STAGE 64 /* staging frames, here or with netd */
#define NETDEV_TX_BATCH 32 /* staging frames in one send: 64 packets */

struct env;
struct k_ipc_buffer;

struct netdev {
  struct env *e;
  struct k_ipc_buffer *buf;
  cptr_t session;
  u8 mac[6];
  u64 rx_va, rx_slot, tx_va, tx_slot;
  u8 page[NET_POOL];       /* flags, see netdev.c */
  unsigned cursor;         /* where the next receive window search starts */
  int refused;             /* netd refused the last donation */
  unsigned frames;         /* the session's receive frames (here or with netd) */
  u64 queued;              /* packets netd still held for us at the last receive */
  /* The transmit batch. */
  u32 seg[NET_MAX_SEGS];
  unsigned nseg, nstage, ngift_pages, pkt_segs, pkt_len;
  u16 gift_page[NET_MAX_GIFTS]; /* received pages sent in this batch */
  u8 stage[NETDEV_TX_STAGE];    /* staging place: here, in the batch, or with netd */
  u8 bframe[NETDEV_TX_BATCH];   /* the batch's staging frames: their places */
  unsigned nout;                /* staging frames with netd */
  u64 sends, recvs;
};

struct netdev_pkt {
  u32 len;
  const u8 *head;  /* first head_len bytes (in the IPC buffer: copy them) */
  u32 head_len;
  int page;        /* -1, or the page holding bytes [head_len, len) at 0 */
  u8 *tail;
};

/* Opens a session with `filter` and donates `frames` fresh frames of e's. */
long netdev_open(struct netdev *d, struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter,
                 unsigned frames);
/* The same with a donation of 2^donation_bits bytes (NET_DONATION_BITS to
 * NET_DONATION_MAX_BITS): the larger, the more packets netd queues for it. */
long netdev_open_sized(struct netdev *d, struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter,
                       unsigned frames, u32 donation_bits);
long netdev_close(struct netdev *d);
/* One NET_RECV: donates freed pages, waits up to timeout_ms, and calls
 * input() for each packet. Returns packets received, or -error. */
long netdev_poll(struct netdev *d, u32 timeout_ms, void (*input)(void *ctx, const struct netdev_pkt *p),
                 void *ctx);
/* The stack is done with a received page. */
void netdev_page_free(struct netdev *d, int page);
/* Transmit: a packet is a run of copy and page segments closed by end. */
long netdev_tx_copy(struct netdev *d, const void *data, u32 len);
long netdev_tx_page(struct netdev *d, int page, u32 offset, u32 len);
long netdev_tx_end(struct netdev *d);
/* Room for a packet of up to `segs` segments, flushing first if needed. */
long netdev_tx_reserve(struct netdev *d, unsigned segs);
long netdev_tx_flush(struct netdev *d);
/* Frames of the session: held by the stack here, and (NET_INFO) netd's
 * spares, on the device, and packets queued. */
unsigned netdev_held(const struct netdev *d);
long netdev_info(struct netdev *d, u64 *spare, u64 *on_device, u64 *queued);
/* NET_STATS: the session's counters, the totals, netd's memory and time. */
long netdev_stats(struct netdev *d, struct net_stats *out);

#endif
