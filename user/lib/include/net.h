/* The network session protocol between netd and its clients.
 *
 * netd is a driver and a demultiplexer only: each client runs its own
 * TCP/IP stack. Packets arrive in frames the receiving client donated.
 *
 * NET_OPEN on netd's public endpoint: capability 0 is an untyped of
 * NET_DONATION_BITS or more the client donates (its session's memory:
 * the more, the longer its queue, see NET_QUEUE_MAX), w0 is the
 * filter (below). The reply carries the session: a badged endpoint.
 *
 * On the session endpoint (every reply has an abi error in w0):
 *   NET_RECV  w0 = timeout in ms (0: answer at once; NET_WAIT_FOREVER),
 *             w1 = most frames the reply may gift (the client's window),
 *             gifts = empty 4 KiB frames for the session's receive pool.
 *             Reply: w1 = packets, w2 = packets still queued, then one
 *             descriptor word per packet (net_pkt_*), then the packets'
 *             head bytes; gifts = frames holding the packets' tails.
 *   NET_SEND  w0 = segments | keep << 16 | room << 32 (net_send_room),
 *             then the segments two to a word (net_seg), gifts = the
 *             frames they are in. netd posts the packets to the device
 *             and answers without waiting for it: w1 = packets accepted
 *             (all of them), w2 = frames returned with this answer (at
 *             most `room`, as gifts: frames of earlier sends the device is
 *             done with, oldest first), w3 = the session's sends after it
 *             (net_tx_*). Frames [0, keep) come back with a later answer
 *             (a NET_SEND's, a NET_COLLECT's or NET_CLOSE's) once the
 *             device has sent them; frames [keep, n) join the receive pool
 *             when the device is done (a received frame echoed back is not
 *             returned to be donated again). Until then the frames stay
 *             pinned in netd's own slots: a client that revokes their
 *             memory meanwhile leaves pinned remains, which go (back to
 *             that memory) when the device is done.
 *             A session has at most NET_TX_SHARE packets on the device,
 *             and while other sessions have packets there too, at most
 *             NET_TX_SHARE / (sessions with packets there) unless it has
 *             none there. A send past that (or past the ring's room, or
 *             behind another session's waiting send) is accepted, its
 *             frames taken, and its caller kept until the packets are on
 *             the device (tx_waited): the answer is the same then.
 *             Refused: more than NET_TX_SHARE packets, or frames [keep, n)
 *             the pool could not take (RANGE, bad_segments); more than
 *             NET_TX_FRAMES frames to come back held by netd, more than
 *             NET_TX_BATCHES sends held, or a second send while one waits
 *             (WOULD_BLOCK, tx_full: collect first). A refused send's
 *             frames come back with the refusal.
 *   NET_COLLECT w0 = wait (0: answer at once), w1 = room. Reply: w1 =
 *             frames returned (gifts, oldest first), w2 = as NET_SEND's w3.
 *             With wait, and nothing to return yet but frames on the
 *             device, the answer comes when some of them are done.
 *   NET_INFO  -> w1 = MAC address (byte 0 in bits 0-7), w2 = frames in the
 *             pool | frames on the device << 16 | packets queued << 32,
 *             w3 = the session's sends as NET_SEND's w3 says.
 *   NET_STATS -> w1.. = struct net_counters of the session, then the
 *             driver's totals; then bytes of netd's own memory and the
 *             nanoseconds netd's thread has run (the kernel's count).
 *   NET_CLOSE -> the donated untyped back (capability 0), the pool's
 *             frames that are not on the device back as gifts, then its
 *             sent frames the device is done with. Its frames on the
 *             device stay there until a packet lands in each (the packet's
 *             bytes are copied to their receiver), and frames of its sends
 *             still on the device until it is done with them: then each
 *             goes back to its memory (its capability is deleted).
 *   NET_HOLD  -> a notification capability (capability 0): the packets
 *             of this session's next NET_SEND stay on the device, netd
 *             telling it of no transmit at all, until the client signals
 *             it or a session with packets on the device goes (netd looks
 *             every 10 ms). A test hook, so that a revoke lands while the
 *             packets are on the device every time: honoured only by a
 *             netd started with NETD_TEST_HOOKS in its argument (nettest's
 *             image); elsewhere an unknown request.
 *
 * A packet of up to NET_HEAD bytes travels in the message alone and uses
 * no frame. A longer one has its first NET_HEAD bytes in the message and
 * the rest at offset 0 of a gifted frame, always one the receiving client
 * donated: the frame the device wrote, if it was the receiver's, else one
 * of the receiver's spares, into which the kernel copied the bytes
 * (FRAME_COPY). No client ever holds its data in memory another principal
 * can revoke. */
#ifndef USER_NET_H
#define USER_NET_H

#include <abi/ipc.h>
#include <lib/types.h>
#include <places.h>

enum net_op { NET_OPEN = 1, NET_RECV, NET_SEND, NET_INFO, NET_STATS, NET_CLOSE, NET_HOLD, NET_COLLECT };

#define NET_DONATION_BITS 17   /* 128 KiB: CNode, record, page table, queue (the least a session takes) */
#define NET_HEAD 112           /* packet bytes in netd's header buffer */
#define NET_MTU_FRAME 1514     /* largest Ethernet frame (no FCS) */
#define NET_POOL 128           /* frames a session's pool holds */
/* Packets queued for a session until it collects them: 32 for each 4 KiB
 * of its donation beyond 44 KiB (the CNode that holds its frames, its
 * record and page table), at most NET_QUEUE_MAX: 672 with the least
 * donation. A queued packet longer than
 * NET_HEAD also holds one of the session's frames; a shorter one (an ACK)
 * only its entry. A client that serves many connections donates more
 * (net_open_sized): a peer sends up to a window on each, and each packet
 * past the queue is dropped (for TCP, a retransmission timeout). */
#define NET_QUEUE_MAX 2048
#define NET_DONATION_MAX_BITS 19 /* 512 KiB: the longest queue and then some */
#define NET_MAX_GIFTS 128      /* frames in one message */
#define NET_MAX_SEGS 124       /* segments in one NET_SEND */
#define NET_PKT_SEGS 7         /* segments in one packet */
#define NET_TX_SHARE 112      /* packets of one session on the device (of 128) */
#define NET_TX_FRAMES 128     /* frames of one session's sends netd holds */
#define NET_TX_BATCHES 64     /* sends of one session netd holds frames of */
#define NET_WAIT_FOREVER 0xffffffffull
/* netd's CNode: its own slots, then two a session (its donation and the
 * CNode made from it); a place for every 2^NET_DONATION_BITS bytes of
 * memory (places.h). */
#define NETD_PLACE_SLOT 2048
#define NETD_PLACE_STRIDE 2
static inline unsigned netd_cnode_bits(u64 memory) {
  return server_cnode_bits(memory, NETD_PLACE_SLOT, NETD_PLACE_STRIDE, NET_DONATION_BITS, 12);
}
#define NETD_TEST_HOOKS (1ull << 16) /* in netd's argument (its module name "netd:65536"): NET_HOLD */

/* Filters: a destination port, for one protocol or (0) both UDP and TCP,
 * plus flags. Two sessions cannot share a port and protocol. */
#define NET_PROTO_ANY 0
#define NET_PROTO_UDP 17
#define NET_PROTO_TCP 6
#define NET_FILTER(proto, port) ((u64)(proto) << 16 | (u64)(port))
#define NET_F_DEFAULT (1ull << 32) /* also everything no filter matches (ICMP...) */
#define NET_F_ARP (1ull << 33)     /* a copy of every ARP packet */

/* A received packet's descriptor word. */
static inline u64 net_pkt(u64 len, u64 head, u64 frame, u64 word) {
  return len | head << 16 | frame << 24 | word << 32;
}
#define NET_NO_FRAME 0xffull
/* NET_SEND's w0: segments, and how many of the frames come back. */
static inline u64 net_send_counts(u64 nseg, u64 keep) { return nseg | keep << 16; }
static inline u64 net_send_room(u64 room) { return room << 32; } /* or'ed into the counts */
static inline u32 net_send_room_of(u64 w) { return (u32)((w >> 32) & 0xffff); }
static inline u32 net_send_nseg(u64 w) { return (u32)(w & 0xffff); }
static inline u32 net_send_keep(u64 w) { return (u32)((w >> 16) & 0xffff); }

/* NET_INFO's words: the MAC address, and the session's frames. */
static inline u64 net_mac_word(const u8 mac[6]) {
  u64 w = 0;
  for (int b = 0; b < 6; b++)
    w |= (u64)mac[b] << (8 * b);
  return w;
}
static inline void net_mac_of(u64 w, u8 mac[6]) {
  for (int b = 0; b < 6; b++)
    mac[b] = (u8)(w >> (8 * b));
}
static inline u64 net_info_frames(u64 pool, u64 on_device, u64 queued) {
  return pool | on_device << 16 | queued << 32;
}
static inline u64 net_info_pool(u64 w) { return w & 0xffff; }
static inline u64 net_info_on_device(u64 w) { return (w >> 16) & 0xffff; }
static inline u64 net_info_queued(u64 w) { return w >> 32; }
/* A session's sends (NET_SEND's and NET_COLLECT's last word, NET_INFO's w3):
 * packets on the device, frames to come back that the device still has,
 * frames to come back that it is done with. */
static inline u64 net_tx_word(u64 on_device, u64 sending, u64 done) { return on_device | sending << 16 | done << 32; }
static inline u64 net_tx_on_device(u64 w) { return w & 0xffff; }
static inline u64 net_tx_sending(u64 w) { return (w >> 16) & 0xffff; }
static inline u64 net_tx_done(u64 w) { return (w >> 32) & 0xffff; }

static inline u32 net_pkt_len(u64 d) { return (u32)(d & 0xffff); }
static inline u32 net_pkt_head(u64 d) { return (u32)((d >> 16) & 0xff); }
static inline u32 net_pkt_frame(u64 d) { return (u32)((d >> 24) & 0xff); }
static inline u32 net_pkt_word(u64 d) { return (u32)((d >> 32) & 0xff); }

/* A transmit segment: bytes [offset, offset + len) of gift `frame`; `end`
 * closes a packet. */
static inline u32 net_seg(u32 frame, u32 offset, u32 len, int end) {
  return offset | (len - 1) << 12 | frame << 24 | (u32)(end ? 1u : 0u) << 31;
}
static inline u32 net_seg_offset(u32 s) { return s & 0xfff; }
static inline u32 net_seg_len(u32 s) { return ((s >> 12) & 0xfff) + 1; }
static inline u32 net_seg_frame(u32 s) { return (s >> 24) & 0x7f; }
static inline int net_seg_end(u32 s) { return (int)(s >> 31); }

/* What happened to packets and requests, per session and in total. */
struct net_counters {
  u64 rx_packets;      /* delivered to the session */
  u64 rx_inline;       /* of which in the message alone */
  u64 rx_own_frame;    /* landed in the session's own frame */
  u64 rx_copied;       /* landed in another's frame, copied into one of its spares */
  u64 drop_no_spare;   /* for it, in another's frame, and it had no spare */
  u64 drop_queue_full; /* it did not collect its packets */
  u64 tx_packets;
  u64 tx_bytes;
  u64 bad_segments;    /* NET_SEND refused: empty, too many, out of frame... */
  u64 bad_requests;    /* unknown op, bad donation, pool overflow */
  u64 close_left_on_device; /* its frames on the device when it closed (they go back as packets land in them) */
  u64 drop_orphan;     /* for it, in a ring frame netd no longer holds (never, unless netd errs) */
  u64 tx_full;         /* NET_SEND refused with WOULD_BLOCK: its share of the device or of netd's slots is taken */
  u64 tx_returned;     /* frames of its sends given back once the device was done */
  u64 tx_waited;       /* sends that waited (their caller kept) for room on the device */
  u64 netd_ns;         /* netd's run time spent on it (in the totals: on all, and on nobody in particular) */
  /* Driver-wide only (0 in a session's counters). */
  u64 malformed;       /* runts, bad IPv4 headers, lengths the device made up */
  u64 no_session;      /* nobody wanted it */
  u64 closed_session;  /* requests on a session that is gone */
  u64 rx_frames;       /* everything the device handed in */
  u64 tx_most_in_flight; /* the most packets the device held for sending at once */
  u64 gone_waiting;    /* sends whose session went while their packets were on the device */
};
#define NET_COUNTERS_WORDS (sizeof(struct net_counters) / 8)
/* NET_STATS answers with the session's counters, the totals, netd's memory and time. */
#define NET_STATS_WORDS (3 + 2 * NET_COUNTERS_WORDS)
_Static_assert(NET_STATS_WORDS <= K_IPC_MAX_WORDS, "NET_STATS fits one message");
struct net_stats {
  struct net_counters mine, all;
  u64 netd_bytes;  /* netd's own memory */
  u64 netd_cpu_ns; /* time netd's thread has run */
};

/* Client side, without lwIP (user/lib/netdev.c). */
struct k_ipc_buffer;
struct env;
long net_open(struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter, cptr_t *session);
/* The same with a donation of 2^bits bytes (NET_DONATION_BITS to NET_DONATION_MAX_BITS; RANGE else). */
long net_open_sized(struct env *e, struct k_ipc_buffer *buf, cptr_t netd, u64 filter, u32 bits, cptr_t *session);
long net_close(struct env *e, struct k_ipc_buffer *buf, cptr_t session);
long net_stats(struct k_ipc_buffer *buf, cptr_t session, struct net_stats *out);

#endif
