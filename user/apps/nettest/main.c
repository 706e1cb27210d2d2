/* nettest: netd's sessions and every kind of bad request, from a client,
 * plus a real exchange with QEMU's user-mode network (an ARP request to
 * the gateway and its answer). Each case prints one line; the suite ends
 * with "nettest: N passed, M failed" and leaves QEMU through isa-debug-exit. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <net.h>
#include <abi/bootinfo.h>
#include <lib/string.h>

#define NETD_EP K_BI_SLOT_FIRST_FREE_FIXED
#define FRAME_SLOT 200
#define NFRAMES 300
#define POOL_TEST 140 /* frames from here on go to a session that closes with some on the device */
#define WINDOW 0x0000100000000000ull

static struct env env;
static struct k_ipc_buffer *buf;
static int passed, failed;
static u8 *frame_va[NFRAMES];
static u8 gateway_mac[6], our_mac[6];

static void check(int ok, const char *what) {
  printf("nettest: %s %s\n", ok ? "ok  " : "FAIL", what);
  ok ? passed++ : failed++;
}

struct reply {
  long err; /* the kernel's, then netd's */
  u64 w1, w2, w3, gifts;
};

static struct reply call(cptr_t ep, u32 op, u64 words, u64 w0, u64 w1, u64 w2, u64 w3, u64 ngifts) {
  struct msg_regs r = sys_call(ep, k_msg_info(op, words, 0, ngifts), w0, w1, w2, w3);
  return (struct reply){r.err ? r.err : (long)r.w[0], r.w[1], r.w[2], r.w[3], k_msg_gifts(r.info)};
}

/* Frames FRAME_SLOT.. go out as gifts and come back to the same places. */
static void gifts_out_at(u64 first, u64 n) {
  buf->recv_cnode = env.cnode;
  buf->recv_slot = FRAME_SLOT + first;
  buf->recv_count = n;
  buf->recv_window = WINDOW + first * K_PAGE_SIZE;
  buf->recv_window_size = n * K_PAGE_SIZE;
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(FRAME_SLOT + first + i);
}
static void gifts_out(u64 n) { gifts_out_at(0, n); }

static int frames_home(u64 n) {
  struct k_cap_info ci;
  for (u64 i = 0; i < n; i++)
    if (sys_cap_identify(env.cnode, FRAME_SLOT + i, &ci) || ci.type != K_OBJ_FRAME_4K || !ci.mapped)
      return 0;
  return 1;
}

static long open_session(u64 filter, cptr_t *s) { return net_open(&env, buf, NETD_EP, filter, s); }

static struct net_counters mine, all;
static u64 netd_bytes;
static long stats(cptr_t s) {
  struct net_stats st;
  long err = net_stats(buf, s, &st);
  if (!err)
    mine = st.mine, all = st.all, netd_bytes = st.netd_bytes;
  return err;
}

/* A NET_SEND of `nseg` segments over the first `ngifts` frames. */
static struct reply send_segs(cptr_t s, const u32 *seg, u32 nseg, u64 ngifts, u32 keep) {
  gifts_out(ngifts);
  u64 words = 1 + (nseg + 1) / 2;
  if (words > K_IPC_MAX_WORDS)
    words = K_IPC_MAX_WORDS;
  memset(&buf->words[1], 0, (K_IPC_MAX_WORDS - 1) * 8);
  for (u32 i = 0; i < nseg && 1 + i / 2 < K_IPC_MAX_WORDS; i++)
    buf->words[1 + i / 2] |= (u64)seg[i] << (32 * (i % 2));
  return call(s, NET_SEND, words, net_send_counts(nseg, keep), buf->words[1], buf->words[2], buf->words[3], ngifts);
}

/* netd answers a send at once and keeps the frames until the device is
 * done: frames [first, first + n) of ours that a send kept come back with
 * NET_COLLECT (waiting), to the same slots, in the order they were sent. */
static long collect_at(cptr_t s, u64 first, u64 n) {
  u64 got = 0;
  for (int tries = 0; got < n && tries < 100; tries++) {
    gifts_out_at(first + got, n - got);
    struct reply r = call(s, NET_COLLECT, 2, 1, n - got, 0, 0, 0);
    if (r.err)
      return r.err;
    got += r.w1;
  }
  return got == n ? K_ERR_OK : K_ERR_RANGE;
}

static void bad_segments(cptr_t s) {
  u32 seg[NET_MAX_SEGS + 2] = {0};
  stats(s);
  u64 before = mine.bad_segments;
  struct reply r = send_segs(s, seg, 0, 1, 1);
  check(r.err == K_ERR_RANGE && r.gifts == 1 && frames_home(1), "an empty segment list is refused, the frame comes back");
  for (u32 i = 0; i < NET_MAX_SEGS + 1; i++)
    seg[i] = net_seg(0, 0, 60, 1);
  r = send_segs(s, seg, NET_MAX_SEGS + 1, 1, 1);
  check(r.err == K_ERR_RANGE && frames_home(1), "a segment list longer than 124 is refused");
  seg[0] = net_seg(0, 4000, 200, 1);
  r = send_segs(s, seg, 1, 1, 1);
  check(r.err == K_ERR_RANGE && frames_home(1), "a segment past the end of its frame is refused");
  seg[0] = net_seg(1, 0, 60, 1);
  r = send_segs(s, seg, 1, 1, 1);
  check(r.err == K_ERR_RANGE && frames_home(1), "a segment in a frame that was not gifted is refused");
  seg[0] = net_seg(0, 0, 60, 0);
  r = send_segs(s, seg, 1, 1, 1);
  check(r.err == K_ERR_RANGE && frames_home(1), "a packet that is never closed is refused");
  seg[0] = net_seg(0, 0, 60, 1);
  r = send_segs(s, seg, 1, 2, 2);
  check(r.err == K_ERR_RANGE && r.gifts == 2 && frames_home(2), "a gifted frame no segment uses is refused");
  seg[0] = net_seg(0, 0, 1000, 0), seg[1] = net_seg(1, 0, 1000, 1);
  r = send_segs(s, seg, 2, 2, 2);
  check(r.err == K_ERR_RANGE && frames_home(2), "a packet longer than 1514 bytes is refused");
  seg[0] = net_seg(0, 0, 10, 1);
  r = send_segs(s, seg, 1, 1, 1);
  check(r.err == K_ERR_RANGE && frames_home(1), "a packet shorter than an Ethernet header is refused");
  for (u32 i = 0; i < 8; i++)
    seg[i] = net_seg(i, 0, 20, i == 7);
  r = send_segs(s, seg, 8, 8, 8);
  check(r.err == K_ERR_RANGE && frames_home(8), "a packet of more than 7 segments is refused");
  seg[0] = net_seg(0, 0, 60, 1);
  r = send_segs(s, seg, 1, 1, 2);
  check(r.err == K_ERR_RANGE && frames_home(1), "keeping back more frames than were gifted is refused");
  stats(s);
  check(mine.bad_segments == before + 10, "each refused segment list is counted");
}

static void closing_leaves_frames_on_the_device(cptr_t s, cptr_t t);

static void bad_requests(cptr_t s) {
  stats(s);
  u64 before = mine.bad_requests;
  struct reply r = call(s, 99, 0, 0, 0, 0, 0, 0);
  check(r.err == K_ERR_BAD_SYSCALL, "an unknown request is refused");
  gifts_out(2);
  r = call(s, NET_INFO, 0, 0, 0, 0, 0, 2);
  check(r.err == K_ERR_RANGE && r.gifts == 2 && frames_home(2), "frames sent with NET_INFO come back, refused");
  gifts_out(NET_POOL + 1);
  r = call(s, NET_RECV, 2, 0, 0, 0, 0, NET_POOL + 1);
  check(r.err == K_ERR_RECV_SLOTS_FULL && frames_home(NET_POOL + 1),
        "a message of 129 frames is refused by the kernel before netd sees it");
  cptr_t t;
  int ok = !open_session(NET_FILTER(NET_PROTO_UDP, 3000), &t);
  gifts_out_at(POOL_TEST, 120);
  ok = ok && !call(t, NET_RECV, 2, 0, 0, 0, 0, 120).err;
  gifts_out_at(POOL_TEST + 120, 9);
  r = call(t, NET_RECV, 2, 0, 0, 0, 0, 9);
  ok = ok && r.err == K_ERR_RANGE && r.gifts == 9;
  struct k_cap_info ci;
  for (u64 i = POOL_TEST + 120; i < POOL_TEST + 129; i++)
    ok = ok && !sys_cap_identify(env.cnode, FRAME_SLOT + i, &ci) && ci.type == K_OBJ_FRAME_4K && ci.mapped;
  check(ok, "donations beyond a pool's 128 frames come back, refused");
  stats(t);
  check(mine.bad_requests == 1, "the refused donation is counted");
  closing_leaves_frames_on_the_device(s, t);
  stats(s);
  check(mine.bad_requests == before + 2, "the other refused requests are counted");
  r = call(NETD_EP, NET_RECV, 2, 0, 0, 0, 0, 0);
  check(r.err == K_ERR_BAD_STATE, "a request on the public endpoint is refused");
  cptr_t x;
  check(open_session(NET_FILTER(NET_PROTO_UDP, 7), &x) == K_ERR_SLOT_OCCUPIED, "a second session for a taken port is refused");
  check(open_session(NET_F_DEFAULT | 1ull << 40, &x) == K_ERR_RANGE, "an unknown filter flag is refused");
  buf->caps[0] = K_BI_SLOT_TCB;
  buf->recv_window = 0;
  buf->recv_cnode = env.cnode;
  buf->recv_slot = env_slot(&env);
  buf->recv_count = 1;
  struct msg_regs m = sys_call(NETD_EP, k_msg_info(NET_OPEN, 1, 1, 0), 1234, 0, 0, 0);
  check(!m.err && m.w[0] == K_ERR_WRONG_TYPE, "a donation that is not memory is refused");
  cptr_t small = env_slot(&env);
  sys_retype(env.untyped, K_OBJ_UNTYPED, 12, env.cnode, small, 1, 0);
  buf->caps[0] = small;
  buf->recv_slot = env_slot(&env);
  m = sys_call(NETD_EP, k_msg_info(NET_OPEN, 1, 1, 0), 1234, 0, 0, 0);
  check(!m.err && m.w[0] == K_ERR_WRONG_TYPE, "a donation smaller than a session needs is refused");
}

/* An ARP request for the gateway, sent as two segments (header and body in
 * different frames), and the answer, which fits the message alone. */
static void arp_exchange(cptr_t s) {
  struct reply info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  u8 mac[6];
  for (int b = 0; b < 6; b++)
    mac[b] = (u8)(info.w1 >> (8 * b));
  u8 *eth = frame_va[0], *arp = frame_va[1] + 100;
  memset(eth, 0xff, 6);
  memcpy(eth + 6, mac, 6);
  eth[12] = 0x08, eth[13] = 0x06;
  const u8 body[28] = {0, 1, 8, 0, 6, 4, 0, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
                       198, 18, 0, 15, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2};
  memcpy(arp, body, 28);
  memset(arp + 28, 0, 18); /* pad to the 60-byte minimum */
  gifts_out_at(100, 16); /* receive buffers: even a packet that fits the message needs one posted */
  check(!call(s, NET_RECV, 2, 0, 0, 0, 0, 16).err, "16 frames donated to the session's pool");
  u32 seg[2] = {net_seg(0, 0, 14, 0), net_seg(1, 100, 46, 1)};
  struct reply r = send_segs(s, seg, 2, 2, 2);
  check(r.err == K_ERR_OK && r.w1 == 1 && r.gifts == 0 && !collect_at(s, 0, 2) && frames_home(2),
        "an ARP request in two segments goes out at once, the frames come back when the device is done");
  int answered = 0;
  u64 start = sys_time_ns();
  for (int tries = 0; tries < 20 && !answered; tries++) {
    gifts_out(0);
    buf->recv_count = 4;
    r = call(s, NET_RECV, 2, 200, 0, 0, 0, 0); /* packets in the message alone */
    for (u64 p = 0; p < r.w1 && !r.err; p++) {
      u64 d = p == 0 ? r.w3 : buf->words[3 + p];
      const u8 *h = (const u8 *)&buf->words[net_pkt_word(d)];
      if (net_pkt_frame(d) == NET_NO_FRAME && net_pkt_len(d) >= 42 && h[12] == 8 && h[13] == 6 && h[21] == 2 &&
          h[28] == 198 && h[31] == 2) {
        answered = 1;
        memcpy(gateway_mac, h + 22, 6);
        memcpy(our_mac, mac, 6);
      }
    }
  }
  check(answered, "the gateway's ARP answer arrives in the message alone (no frame)");
  u64 t0 = sys_time_ns();
  gifts_out(0);
  r = call(s, NET_RECV, 2, 50, 0, 0, 0, 0);
  u64 waited = sys_time_ns() - t0;
  check(r.err == K_ERR_OK && waited >= 40000000ull && waited < 2000000000ull,
        "a receive with nothing to get returns after its timeout");
  (void)start;
}

static void sessions(cptr_t first) {
  stats(first);
  u64 before = netd_bytes;
  cptr_t s[8];
  int ok = 1;
  for (int i = 0; i < 7; i++)
    ok = ok && !open_session(NET_FILTER(NET_PROTO_UDP, 1000 + i), &s[i]);
  /* each of them donates frames: netd's own memory must not move */
  for (int i = 0; i < 7 && ok; i++) {
    gifts_out_at(4 * (u64)i, 4);
    ok = !call(s[i], NET_RECV, 2, 0, 0, 0, 0, 4).err;
  }
  stats(first);
  check(ok && netd_bytes == before, "8 sessions with frames in their pools: netd's memory is what it was with 1");
  for (int i = 0; i < 7 && ok; i++)
    ok = !net_close(&env, buf, s[i]);
  stats(first);
  check(ok && netd_bytes == before, "closing them leaves netd's memory as it was");
  /* Clients that die: their donation (and the frames they lent) made from
   * an untyped they then revoke. */
  ok = 1;
  for (int i = 0; i < 20 && ok; i++) {
    cptr_t parent = env_slot(&env), sess = 0, f = env_slot(&env);
    ok = !sys_retype(env.untyped, K_OBJ_UNTYPED, NET_DONATION_BITS + 1, env.cnode, parent, 1, 0) &&
         !sys_retype(parent, K_OBJ_FRAME_4K, 0, env.cnode, f, 1, 0) &&
         !session_open_from(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_TCP, 2000),
                            parent, &sess);
    buf->gifts[0] = (u32)f;
    ok = ok && !call(sess, NET_RECV, 2, 0, 0, 0, 0, 1).err; /* the frame is in netd's pool, pinned */
    ok = ok && !sys_cnode_revoke(env.cnode, parent) && call(sess, NET_INFO, 0, 0, 0, 0, 0, 0).err == K_ERR_BAD_STATE;
    sys_cnode_delete(env.cnode, parent);
  }
  stats(first);
  check(ok && netd_bytes == before, "20 clients died with frames lent: sessions went with them, memory unchanged");
  cptr_t c;
  ok = !open_session(NET_FILTER(NET_PROTO_TCP, 2000), &c) && !net_close(&env, buf, c);
  struct reply r = call(c, NET_INFO, 0, 0, 0, 0, 0, 0);
  stats(first);
  check(ok && r.err == K_ERR_BAD_STATE && all.closed_session > 0, "a closed session is refused and counted");
}

/* An ARP request from us (mac, 198.18.0.15) for the gateway 198.18.0.2,
 * in frame f: 60 bytes. */
static void arp_request_in(u8 *f, const u8 mac[6]) {
  memset(f, 0, 60);
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  const u8 arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
                      198, 18, 0, 15, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2};
  f[12] = 8, f[13] = 6;
  memcpy(f + 14, arp, 28);
}

/* Packets that travel in the message alone hold no frame: a session with
 * such packets queued can still fill its pool to 128 frames. */
static void inline_packets_hold_no_frames(cptr_t s) {
  struct reply info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  u64 held = net_info_pool(info.w2) + net_info_on_device(info.w2);
  u8 mac[6];
  for (int b = 0; b < 6; b++)
    mac[b] = (u8)(info.w1 >> (8 * b));
  for (int i = 0; i < 8; i++) { /* eight ARP requests: eight small answers */
    arp_request_in(frame_va[NFRAMES - 1], mac);
    u32 seg = net_seg(0, 0, 60, 1);
    gifts_out_at(NFRAMES - 1, 1);
    memset(&buf->words[1], 0, 8);
    call(s, NET_SEND, 2, net_send_counts(1, 1), seg, 0, 0, 1);
    collect_at(s, NFRAMES - 1, 1);
  }
  u64 until = sys_time_ns() + 200000000ull;
  while (sys_time_ns() < until)
    sys_yield();
  info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  u64 queued = net_info_queued(info.w2);
  u64 room = NET_POOL - held;
  cptr_t fresh = env.next_slot;
  env.next_slot += room;
  long err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, fresh, room, 0);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = fresh;
  buf->recv_count = room;
  buf->recv_window = 0;
  for (u64 i = 0; i < room; i++)
    buf->gifts[i] = (u32)(fresh + i);
  if (!err)
    err = call(s, NET_RECV, 2, 0, 0, 0, 0, room).err;
  check(queued >= 8 && !err, "8 small packets queued, the pool still takes its 128 frames");
}

static u16 checksum(const u8 *p, u32 n) {
  u32 sum = 0;
  for (u32 i = 0; i + 1 < n; i += 2)
    sum += (u32)(p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += (u32)p[n - 1] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (u16)~sum;
}

/* An ICMP echo request of `payload` bytes to the gateway, from frame f. */
static long ping_gateway(cptr_t s, unsigned f, u16 seq, u32 payload) {
  u8 *e = frame_va[f], *ip = e + 14, *icmp = ip + 20;
  u32 total = 20 + 8 + payload;
  memcpy(e, gateway_mac, 6);
  memcpy(e + 6, our_mac, 6);
  e[12] = 8, e[13] = 0;
  memset(ip, 0, 20);
  ip[0] = 0x45, ip[2] = (u8)(total >> 8), ip[3] = (u8)total, ip[8] = 64, ip[9] = 1;
  const u8 src[4] = {198, 18, 0, 15}, dst[4] = {198, 18, 0, 2};
  memcpy(ip + 12, src, 4);
  memcpy(ip + 16, dst, 4);
  u16 c = checksum(ip, 20);
  ip[10] = (u8)(c >> 8), ip[11] = (u8)c;
  memset(icmp, 0, 8);
  icmp[0] = 8, icmp[6] = (u8)(seq >> 8), icmp[7] = (u8)seq;
  for (u32 i = 0; i < payload; i++)
    icmp[8 + i] = (u8)(i * 7 + seq);
  c = checksum(icmp, 8 + payload);
  icmp[2] = (u8)(c >> 8), icmp[3] = (u8)c;
  u32 seg = net_seg(0, 0, 14 + total, 1);
  gifts_out_at(f, 1);
  memset(&buf->words[1], 0, 8);
  long err = call(s, NET_SEND, 2, net_send_counts(1, 1), seg, 0, 0, 1).err;
  return err ? err : collect_at(s, f, 1);
}

/* A session on UDP port 3000 whose donation comes from `parent`, an
 * untyped of our own made here (revoking it ends the session), and a
 * frame in slot f to send. */
static long doomed_session(cptr_t parent, cptr_t *sess, cptr_t f) {
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, NET_DONATION_BITS + 1, env.cnode, parent, 1, 0);
  if (!err)
    err = session_open_from(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 3000),
                            parent, sess);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, f, 1, 0);
  return err;
}

/* NET_HOLD: netd's next send of the session waits, its packets on the
 * device, for a signal on *n (or for the session's memory to go). */
static long hold_next(cptr_t sess, cptr_t *n) {
  *n = env_slot(&env);
  buf->recv_cnode = env.cnode;
  buf->recv_slot = *n;
  buf->recv_count = 1;
  buf->recv_window = 0;
  return call(sess, NET_HOLD, 0, 0, 0, 0, 0, 0).err;
}

/* What is left of `parent`'s frames: pinned remains (a frame deleted, or
 * its memory revoked, while pinned for the device). */
static u64 pinned_remains(cptr_t parent) {
  struct k_untyped_usage u;
  return sys_untyped_usage(parent, &u, 0) ? ~0ull : u.count[K_OBJ_PINNED_FRAME];
}

/* netd answers a send at once; NET_HOLD keeps its 100 packets on the
 * device (netd does not tell the device of them). The client then revokes
 * the memory its session and its frame came from (`revoke`), or says go.
 * Revoked: the frame stays a pinned remain in netd's slot, its memory not
 * reusable, until the device is done with it (netd notices the dead
 * session within 10 ms and lets the device go); then the remain goes and
 * netd's memory is as it was. Go: the frame comes back with a collect.
 * Returns 1 if the frame's memory came back only after the device was
 * done, 0 after a go, -1 if anything went wrong. */
static int dies_mid_send(cptr_t first, int revoke) {
  stats(first);
  u64 before = netd_bytes, closed0 = all.closed_session, gone0 = all.gone_waiting;
  cptr_t parent = env_slot(&env), sess = 0, f = env_slot(&env), n = 0;
  long err = doomed_session(parent, &sess, f);
  if (!err) /* the frame from the same memory as the session */
    err = sys_cnode_delete(env.cnode, f) ? K_ERR_RANGE : sys_retype(parent, K_OBJ_FRAME_4K, 0, env.cnode, f, 1, 0);
  if (!err)
    err = hold_next(sess, &n);
  struct reply r = {err, 0, 0, 0, 0};
  if (!err) {
    memset(&buf->words[1], 0, 50 * 8);
    for (u32 i = 0; i < 100; i++)
      buf->words[1 + i / 2] |= (u64)net_seg(0, 0, 60, 1) << (32 * (i % 2));
    buf->gifts[0] = (u32)f;
    buf->recv_cnode = env.cnode;
    buf->recv_slot = f;
    buf->recv_count = 1;
    buf->recv_window = 0;
    r = call(sess, NET_SEND, 51, net_send_counts(100, 1) | net_send_room(1), buf->words[1], buf->words[2],
             buf->words[3], 1);
  }
  struct reply info = call(sess, NET_INFO, 0, 0, 0, 0, 0, 0);
  int ok = !err && r.err == K_ERR_OK && r.w1 == 100 && r.gifts == 0 && net_tx_on_device(info.w3) == 100 &&
           net_tx_sending(info.w3) == 1;
  buf->recv_count = 1;
  struct reply c = call(sess, NET_COLLECT, 2, 0, 1, 0, 0, 0);
  ok = ok && !c.err && c.w1 == 0 && net_tx_sending(c.w2) == 1; /* still on the device */
  int after = 0;
  if (revoke) {
    ok = ok && !sys_cnode_revoke(env.cnode, parent);
    /* the frame, until the device lets go (netd's 10 ms look at held
     * sessions may, rarely, come between the revoke and this) */
    int seen = ok && pinned_remains(parent) == 1;
    u64 until = sys_time_ns() + 1000000000ull;
    while (ok && pinned_remains(parent) && sys_time_ns() < until)
      sys_yield();
    ok = ok && pinned_remains(parent) == 0;
    after = ok && seen;
  } else {
    ok = ok && !sys_signal(n);
    buf->recv_cnode = env.cnode;
    buf->recv_slot = f;
    buf->recv_count = 1;
    buf->recv_window = 0;
    c = call(sess, NET_COLLECT, 2, 1, 1, 0, 0, 0);
    struct k_cap_info ci;
    ok = ok && !c.err && c.w1 == 1 && !sys_cap_identify(env.cnode, f, &ci) && ci.type == K_OBJ_FRAME_4K;
    ok = ok && !sys_cnode_revoke(env.cnode, parent);
  }
  ok = ok && call(sess, NET_INFO, 0, 0, 0, 0, 0, 0).err == K_ERR_BAD_STATE;
  ok = ok && !stats(first) && netd_bytes == before && all.closed_session > closed0 &&
       all.gone_waiting == gone0 + (u64)revoke;
  sys_cnode_delete(env.cnode, parent);
  sys_cnode_delete(env.cnode, f);
  sys_cnode_delete(env.cnode, n);
  return ok ? after : -1;
}

static void a_session_that_dies_mid_send(cptr_t first) {
  int ok = !stats(first), hits = 0;
  u64 gone0 = all.gone_waiting;
  for (int i = 0; i < 5 && ok; i++) {
    int h = dies_mid_send(first, 1);
    ok = h >= 0;
    hits += h > 0;
  }
  ok = ok && !stats(first);
  u64 gone1 = all.gone_waiting;
  printf("nettest:      5 tries, the frame's memory came back only after the device was done in %d (netd counted %llu)\n",
         hits, gone1 - gone0);
  check(ok && hits >= 3 && gone1 == gone0 + 5,
        "clients that go with a send on the device: the send was answered at once, the frame's memory comes back "
        "only when the device is done, the session is gone, netd's memory as it was");
  check(dies_mid_send(first, 0) == 0 && !stats(first) && all.gone_waiting == gone1,
        "a held send goes on when the client says go, and its frame comes back with a collect");
}

/* The bounds of sending: a send of more packets than a session may have
 * on the device is malformed; a session that holds NET_TX_BATCHES sends'
 * frames uncollected is refused with WOULD_BLOCK until it collects; a send
 * that finds the device full (another session's held packets on it) is
 * kept until there is room, and then answered. */
static void sends_past_the_bounds(cptr_t first) {
  u32 seg[NET_TX_SHARE + 1];
  for (u32 i = 0; i <= NET_TX_SHARE; i++)
    seg[i] = net_seg(0, 0, 60, 1);
  /* Frames 28-99 are ours still (the others went to sessions that closed). */
  const u64 base = 93, at = 28;
  u8 *nobody = frame_va[base];
  memset(nobody, 0, 60);
  nobody[0] = 0x02, nobody[5] = 0x01, nobody[12] = 0x88, nobody[13] = 0xb5; /* to nobody */
  stats(first);
  u64 bad0 = mine.bad_segments, full0 = mine.tx_full, waited0 = mine.tx_waited;
  gifts_out_at(base, 1);
  memset(&buf->words[1], 0, (K_IPC_MAX_WORDS - 1) * 8);
  for (u32 i = 0; i <= NET_TX_SHARE; i++)
    buf->words[1 + i / 2] |= (u64)seg[i] << (32 * (i % 2));
  struct reply r = call(first, NET_SEND, 1 + (NET_TX_SHARE + 2) / 2, net_send_counts(NET_TX_SHARE + 1, 1),
                        buf->words[1], buf->words[2], buf->words[3], 1);
  struct k_cap_info ci;
  stats(first);
  check(r.err == K_ERR_RANGE && r.gifts == 1 && !sys_cap_identify(env.cnode, FRAME_SLOT + base, &ci) && ci.mapped &&
            mine.bad_segments == bad0 + 1,
        "a send of more packets than a session may have on the device is refused, counted, its frame back");
  /* 64 sends of one frame each, never collected, then a 65th. */
  int ok = 1;
  for (u64 k = 0; k < NET_TX_BATCHES && ok; k++) {
    memcpy(frame_va[at + k], nobody, 60);
    gifts_out_at(at + k, 1);
    ok = call(first, NET_SEND, 2, net_send_counts(1, 1), net_seg(0, 0, 60, 1), 0, 0, 1).err == K_ERR_OK;
  }
  memcpy(frame_va[at + NET_TX_BATCHES], nobody, 60);
  gifts_out_at(at + NET_TX_BATCHES, 1);
  r = call(first, NET_SEND, 2, net_send_counts(1, 1), net_seg(0, 0, 60, 1), 0, 0, 1);
  stats(first);
  check(ok && r.err == K_ERR_WOULD_BLOCK && r.gifts == 1 && mine.tx_full == full0 + 1 &&
            !sys_cap_identify(env.cnode, FRAME_SLOT + at + NET_TX_BATCHES, &ci) && ci.mapped,
        "a session holding 64 sends' frames uncollected is refused the 65th (WOULD_BLOCK, counted), its frame back");
  check(!collect_at(first, at, NET_TX_BATCHES), "and collecting brings the 64 frames back, in order, to their places");
  /* Another session's held send fills the device: ours waits for room. */
  cptr_t other, n = 0, tcb = 0;
  long err = open_session(NET_FILTER(NET_PROTO_UDP, 5000), &other);
  if (!err)
    err = hold_next(other, &n);
  if (!err) {
    u32 many[100];
    for (u32 i = 0; i < 100; i++)
      many[i] = net_seg(0, 0, 60, 1);
    gifts_out_at(base + 1, 1);
    memcpy(frame_va[base + 1], nobody, 60);
    u64 words = 1 + 50;
    memset(&buf->words[1], 0, 50 * 8);
    for (u32 i = 0; i < 100; i++)
      buf->words[1 + i / 2] |= (u64)many[i] << (32 * (i % 2));
    err = call(other, NET_SEND, words, net_send_counts(100, 1), buf->words[1], buf->words[2], buf->words[3], 1).err;
  }
  /* Below our priority: it says go only once our send waits in netd. */
  if (!err)
    err = env_when_blocked(&env, 0, n, &tcb);
  u32 many[100];
  for (u32 i = 0; i < 100; i++)
    many[i] = net_seg(0, 0, 60, 1);
  gifts_out_at(base, 1);
  memset(&buf->words[1], 0, 50 * 8);
  for (u32 i = 0; i < 100; i++)
    buf->words[1 + i / 2] |= (u64)many[i] << (32 * (i % 2));
  r = err ? (struct reply){err, 0, 0, 0, 0}
          : call(first, NET_SEND, 51, net_send_counts(100, 1), buf->words[1], buf->words[2], buf->words[3], 1);
  stats(first);
  check(!err && r.err == K_ERR_OK && r.w1 == 100 && mine.tx_waited == waited0 + 1 && !collect_at(first, base, 1) &&
            !collect_at(other, base + 1, 1),
        "a send that finds the device full waits for room, then is answered; both frames come back");
  net_close(&env, buf, other);
  sys_cnode_delete(env.cnode, tcb);
  sys_cnode_delete(env.cnode, n);
}

/* A receive that leaves no room for the frames its packets are in (no
 * receive slots) is refused; the frames stay the session's, as spares, and
 * the session goes on receiving. Packets in the message alone may come
 * first: those answers succeed until one carries a frame. */
static void a_receive_with_no_room(cptr_t s) {
  struct reply i0 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0), r = {0};
  stats(s);
  u64 bad0 = mine.bad_requests, queued0 = i0.w2 >> 32;
  for (int tries = 0; tries < 20; tries++) {
    buf->recv_count = 0;
    buf->recv_window = 0;
    r = call(s, NET_RECV, 2, 0, 4, 0, 0, 0);
    if (r.err)
      break;
  }
  struct reply i1 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  stats(s);
  check(queued0 > 0 && r.err == K_ERR_RECV_SLOTS_FULL && net_info_pool(i1.w2) > net_info_pool(i0.w2) &&
            mine.bad_requests == bad0 + 1,
        "a receive with no room for its frames is refused, counted, and the frames stay the session's spares");
  buf->recv_cnode = env.cnode;
  buf->recv_slot = env.next_slot; /* four empty slots, frames left unmapped */
  env.next_slot += 4;
  buf->recv_count = 4;
  buf->recv_window = 0;
  r = call(s, NET_RECV, 2, 0, 4, 0, 0, 0);
  check(r.err == K_ERR_OK, "the next receive with room works");
}

/* Session b (the default: ping answers are its) donates nothing; session a
 * (a port nobody sends to) has 64 spares, which go on the device as the
 * old default's frames there are used up. Answers too long for the
 * message land in others' frames: b loses them, a loses nothing. Once b
 * donates spares, an answer is copied into one of them, and the entry it
 * emptied takes one of b's spares next. */
/* Session a dies (its memory revoked: the session's and its frames') with
 * frames on the device. They stay pinned remains in netd's slots until the
 * device hands them back, and then go: the memory is whole again only then.
 * The answers that land in them still reach b (netd copies them out of the
 * remnants), as do the others, and netd's memory does not move. */
static void dies_with_frames_on_the_device(cptr_t memory, cptr_t frames, cptr_t a, cptr_t b) {
  cptr_t more = env.next_slot;
  env.next_slot += 32;
  long err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, more, 32, 0);
  for (u64 i = 0; i < 32; i++)
    buf->gifts[i] = (u32)(more + i);
  buf->recv_count = 0;
  if (!err)
    err = call(b, NET_RECV, 2, 0, 0, 0, 0, 32).err; /* spares to put on the device in their place */
  stats(b);
  u64 before = netd_bytes, rx0 = mine.rx_packets + mine.drop_queue_full, orphan0 = mine.drop_orphan;
  u64 copied0 = mine.rx_copied;
  u64 on_device = net_info_on_device(call(a, NET_INFO, 0, 0, 0, 0, 0, 0).w2);
  err = err ? err : sys_cnode_revoke(env.cnode, memory);
  err = err ? err : sys_cnode_revoke(env.cnode, frames);
  int gone = call(a, NET_INFO, 0, 0, 0, 0, 0, 0).err == K_ERR_BAD_STATE; 
/* netd sees it now */
  u64 remains0 = pinned_remains(frames);
  for (u16 q = 0; q < 100 && !err; q++)
    err = ping_gateway(b, NFRAMES - 2, (u16)(100 + q), 500);
  u64 until = sys_time_ns() + 500000000ull;
  while (sys_time_ns() < until)
    sys_yield();
  stats(b);
  struct k_untyped_usage u;
  int whole = !sys_untyped_usage(frames, &u, 0) && u.free == u.size;
  printf("nettest:      %llu of the dead session's frames were on the device, %llu pinned remains after its death, "
         "%llu after 100 answers; b: %llu received, %llu of them copied, %llu dropped for want of a frame\n",
         on_device, remains0, pinned_remains(frames), mine.rx_packets + mine.drop_queue_full - rx0,
         mine.rx_copied - copied0, mine.drop_orphan - orphan0);
  check(!err && gone && on_device > 0 && remains0 > 0 && remains0 <= on_device && whole && mine.drop_orphan == orphan0 &&
            mine.rx_copied - copied0 >= remains0 && netd_bytes == before,
        "a session that dies with frames on the device: their memory is whole only when the device gave them back, "
        "and what landed in them still reached its receiver");
  cptr_t c;
  check(!open_session(NET_FILTER(NET_PROTO_UDP, 6001), &c) && !net_close(&env, buf, c), "and sessions open and close");
}

static void a_client_that_takes_back_what_it_lent(cptr_t s);

/* 2^(bits - 12) frames made from a fresh untyped of ours, the untyped in
 * slot u, the frames after it. */
static long lent_frames(cptr_t u, unsigned bits) {
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, bits, env.cnode, u, 1, 0);
  return err ? err : sys_retype(u, K_OBJ_FRAME_4K, 0, env.cnode, u + 1, 1u << (bits - 12), 0);
}

static void a_client_that_stops_donating(cptr_t old_default) {
  cptr_t a, b, a_memory = env_slot(&env);
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, NET_DONATION_BITS + 1, env.cnode, a_memory, 1, 0);
  if (!err)
    err = session_open_from(&env, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 6000), a_memory,
                            &a);
  /* a's 64 frames come from memory of their own, which a's death revokes;
   * b's 16 spares (below) from ours. */
  cptr_t fresh = env.next_slot, a_frames = fresh + 80, revoked = fresh + 81;
  env.next_slot += 90;
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_UNTYPED, 18, env.cnode, a_frames, 1, 0);
  if (!err)
    err = sys_retype(a_frames, K_OBJ_FRAME_4K, 0, env.cnode, fresh, 64, 0);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, fresh + 64, 16, 0);
  for (u64 i = 0; i < 64; i++)
    buf->gifts[i] = (u32)(fresh + i);
  buf->recv_count = 0;
  if (!err)
    err = call(a, NET_RECV, 2, 0, 0, 0, 0, 64).err;
  /* The old default closes, its frames left on the device; the default is
   * b's now. */
  net_close(&env, buf, old_default);
  if (!err)
    err = open_session(NET_F_DEFAULT, &b);
  struct reply ia0 = call(a, NET_INFO, 0, 0, 0, 0, 0, 0);
  for (u16 q = 0; q < 10 && !err; q++)
    err = ping_gateway(b, NFRAMES - 2, q, 500);
  u64 until = sys_time_ns() + 300000000ull;
  while (sys_time_ns() < until)
    sys_yield();
  stats(b);
  u64 dropped = mine.drop_no_spare;
  struct reply ia1 = call(a, NET_INFO, 0, 0, 0, 0, 0, 0);
  u64 a_frames0 = net_info_pool(ia0.w2) + net_info_on_device(ia0.w2),
      a_frames1 = net_info_pool(ia1.w2) + net_info_on_device(ia1.w2);
  check(!err && dropped == 10 && mine.drop_orphan == 0 && a_frames1 == a_frames0,
        "a session without spares loses its own long packets; the one whose frames they landed in loses nothing");
  /* 16 spares, and on top of them (netd copies into the top one first) 8
   * frames of memory we take back before any answer comes: the ring is
   * a's, so they wait in b's pool, and each copy into one fails. */
  struct reply ib0 = call(b, NET_INFO, 0, 0, 0, 0, 0, 0);
  for (u64 i = 0; i < 16; i++)
    buf->gifts[i] = (u32)(fresh + 64 + i);
  buf->recv_count = 0;
  err = call(b, NET_RECV, 2, 0, 0, 0, 0, 16).err;
  if (!err)
    err = lent_frames(revoked, 15);
  for (u64 i = 0; i < 8; i++)
    buf->gifts[i] = (u32)(revoked + 1 + i);
  if (!err)
    err = call(b, NET_RECV, 2, 0, 0, 0, 0, 8).err;
  struct reply ib1 = call(b, NET_INFO, 0, 0, 0, 0, 0, 0);
  int waiting = net_info_pool(ib1.w2) == net_info_pool(ib0.w2) + 24 &&
                net_info_on_device(ib1.w2) == 0; /* so its first answer is a copy */
  u64 bad0 = mine.bad_requests;
  if (!err)
    err = sys_cnode_revoke(env.cnode, revoked);
  for (u16 q = 10; q < 20 && !err; q++)
    err = ping_gateway(b, NFRAMES - 2, q, 500);
  until = sys_time_ns() + 300000000ull;
  while (sys_time_ns() < until)
    sys_yield();
  stats(b);
  struct reply ia2 = call(a, NET_INFO, 0, 0, 0, 0, 0, 0);
  u64 a_frames2 = net_info_pool(ia2.w2) + net_info_on_device(ia2.w2);
  printf("nettest:      b: %llu dropped without spares, then %llu copied (%llu own, %llu rx, %llu dropped, %llu spares "
         "taken back passed over); a holds %llu, %llu, %llu frames\n",
         dropped, mine.rx_copied, mine.rx_own_frame, mine.rx_packets, mine.drop_no_spare, mine.bad_requests - bad0,
         a_frames0, a_frames1, a_frames2);
  check(!err && mine.rx_copied >= 1 && mine.rx_copied + mine.rx_own_frame + (mine.drop_no_spare - dropped) == 10 &&
            a_frames2 == a_frames0,
        "with spares, its answers reach it in frames of its own (copied into a spare, and its spares go on the device "
        "in the entries its answers emptied) until its spares run out: the other session keeps its count");
  check(!err && waiting && mine.bad_requests - bad0 == 8,
        "8 spares it took back while they waited are each passed over once by the copy, and counted");
  a_receive_with_no_room(b);
  dies_with_frames_on_the_device(a_memory, a_frames, a, b);
  a_client_that_takes_back_what_it_lent(b);
}

/* One NET_SEND of 100 packets, every one a segment of the same frame: netd
 * posts them all before it waits, so the device holds them at once. They
 * are frames of a local experimental EtherType (IEEE 802 0x88b5) to an
 * address nobody has, which QEMU's user network drops without a word. */
static struct reply send_100_to_nobody(cptr_t s) {
  struct reply info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  u8 *f = frame_va[0];
  memset(f, 0, 60);
  const u8 nobody[6] = {0x02, 0, 0, 0, 0, 0x01};
  memcpy(f, nobody, 6);
  for (int b = 0; b < 6; b++)
    f[6 + b] = (u8)(info.w1 >> (8 * b));
  f[12] = 0x88, f[13] = 0xb5;
  u32 seg[100];
  for (int i = 0; i < 100; i++)
    seg[i] = net_seg(0, 0, 60, 1);
  struct reply r = send_segs(s, seg, 100, 1, 1);
  if (!r.err && r.gifts == 0)
    r.err = collect_at(s, 0, 1);
  return r;
}

static void a_batch_of_100(cptr_t s) {
  stats(s);
  u64 tx0 = mine.tx_packets, bytes0 = mine.tx_bytes;
  struct reply r = send_100_to_nobody(s);
  stats(s);
  check(r.err == K_ERR_OK && r.w1 == 100 && frames_home(1) && mine.tx_packets == tx0 + 100 &&
            mine.tx_bytes == bytes0 + 6000,
        "100 packets in one request go out and are counted; the frame comes back");
  check(all.tx_most_in_flight >= 64, "the device held at least 64 of them at once");
  printf("nettest: at most %llu packets in flight to the device\n", all.tx_most_in_flight);
}

/* netd's run time is shared out among the sessions it worked for: one
 * that sends 2,000 packets is charged far more than one that only asks for
 * its counters, and all the shares (with nobody's) add up to the time the
 * kernel counted for netd, up to the request in hand. */
static void netd_time_goes_to_whom_it_worked_for(cptr_t busy) {
  cptr_t quiet;
  long err = open_session(NET_FILTER(NET_PROTO_UDP, 4000), &quiet);
  stats(quiet);
  u64 quiet0 = mine.netd_ns;
  stats(busy);
  u64 busy0 = mine.netd_ns;
  for (int i = 0; i < 20 && !err; i++)
    err = send_100_to_nobody(busy).err;
  stats(busy);
  u64 busy1 = mine.netd_ns;
  struct net_stats st;
  err = err ? err : net_stats(buf, quiet, &st);
  u64 quiet_ns = st.mine.netd_ns - quiet0, busy_ns = busy1 - busy0;
  printf("nettest:      netd's time: %llu us for 2,000 packets sent, %llu us for two requests for counters; "
         "%llu of netd's %llu us shared out\n",
         busy_ns / 1000, quiet_ns / 1000, st.all.netd_ns / 1000, st.netd_cpu_ns / 1000);
  check(!err && busy_ns > 20 * quiet_ns && quiet_ns > 0, "netd's time goes to the session it worked for");
  check(st.all.netd_ns <= st.netd_cpu_ns && st.netd_cpu_ns - st.all.netd_ns < 2000000ull,
        "the shares add up to netd's run time, but for the request in hand");
  net_close(&env, buf, quiet);
}

/* A request that reaches netd after its session's memory went (as when the
 * client's other thread is scheduled before the request is made) is
 * refused, and the frames it brought come back with the refusal: left in
 * netd's receive slots, they would make the kernel refuse every later
 * request that brings frames. */
static void gone_before_the_request(cptr_t first) {
  cptr_t parent = env_slot(&env), sess = 0, f = env_slot(&env);
  long err = doomed_session(parent, &sess, f);
  if (!err)
    err = sys_cnode_revoke(env.cnode, parent);
  struct reply r = {err, 0, 0, 0, 0};
  if (!err) {
    buf->gifts[0] = (u32)f;
    buf->recv_cnode = env.cnode;
    buf->recv_slot = f;
    buf->recv_count = 1;
    buf->recv_window = 0;
    r = call(sess, NET_SEND, 2, net_send_counts(1, 1), net_seg(0, 0, 60, 1), 0, 0, 1);
  }
  struct k_cap_info ci;
  check(r.err == K_ERR_BAD_STATE && r.gifts == 1 && !sys_cap_identify(env.cnode, f, &ci) && ci.type == K_OBJ_FRAME_4K,
        "a send on a session whose memory already went is refused, its frame comes back");
  u8 *p = frame_va[NFRAMES - 1]; /* a frame to nobody, as in send_100_to_nobody */
  memset(p, 0, 60);
  p[0] = 0x02, p[5] = 0x01, p[12] = 0x88, p[13] = 0xb5;
  gifts_out_at(NFRAMES - 1, 1);
  r = call(first, NET_SEND, 2, net_send_counts(1, 1), net_seg(0, 0, 60, 1), 0, 0, 1);
  if (!r.err)
    r.err = collect_at(first, NFRAMES - 1, 1);
  check(r.err == K_ERR_OK && r.w1 == 1 && !sys_cap_identify(env.cnode, FRAME_SLOT + NFRAMES - 1, &ci) && ci.mapped,
        "and the next request that brings frames is served");
  sys_cnode_delete(env.cnode, parent);
  sys_cnode_delete(env.cnode, f);
}

/* n ARP requests to the gateway from session s, 100 to a NET_SEND (one
 * frame, sent 100 times): n small answers, each queued for every session
 * that asked for ARP. */
static long arp_requests(cptr_t s, unsigned n) {
  arp_request_in(frame_va[NFRAMES - 1], our_mac);
  long err = K_ERR_OK;
  for (unsigned sent = 0; !err && sent < n;) {
    unsigned k = n - sent < 100 ? n - sent : 100;
    memset(&buf->words[1], 0, 50 * 8);
    for (unsigned i = 0; i < k; i++)
      buf->words[1 + i / 2] |= (u64)net_seg(0, 0, 60, 1) << (32 * (i % 2));
    gifts_out_at(NFRAMES - 1, 1);
    struct reply r = call(s, NET_SEND, 1 + (k + 1) / 2, net_send_counts(k, 1), buf->words[1], buf->words[2],
                          buf->words[3], 1);
    err = r.err ? r.err : r.gifts ? K_ERR_OK : collect_at(s, NFRAMES - 1, 1);
    sent += k;
    for (u64 until = sys_time_ns() + 20000000ull; sys_time_ns() < until;)
      sys_yield(); /* the gateway answers in its time */
  }
  return err;
}

/* Takes everything queued for s (inline packets: no frames). */
static void drain(cptr_t s) {
  for (int i = 0; i < 200; i++) {
    buf->recv_cnode = env.cnode, buf->recv_slot = FRAME_SLOT, buf->recv_count = 0, buf->recv_window = 0;
    struct reply r = call(s, NET_RECV, 2, 0, 0, 0, 0, 0);
    if (r.err || r.w2 == 0)
      return;
  }
}

/* Frames of 4 KiB made from our own untyped (pinned remains included):
 * where a frame's memory is. */
static u64 our_frames(void) {
  struct k_untyped_usage u;
  return sys_untyped_usage(env.untyped, &u, 0) ? ~0ull : u.count[K_OBJ_FRAME_4K] + u.count[K_OBJ_PINNED_FRAME];
}

/* Closing session t (120 frames in its pool) gives back the frames that
 * are not on the device; those on the device stay there until a packet
 * lands in each and then go back to our memory, deleted. No other session
 * trades its spares for them: each would then hold memory the other can
 * revoke. */
static void closing_leaves_frames_on_the_device(cptr_t s, cptr_t t) {
  struct reply info = call(t, NET_INFO, 0, 0, 0, 0, 0, 0);
  u64 spare = net_info_pool(info.w2), on_device = net_info_on_device(info.w2);
  cptr_t fresh = env.next_slot; /* s's spares, to go on the device as t's frames leave it */
  env.next_slot += on_device;
  int ok = !sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, fresh, on_device, 0);
  for (u64 i = 0; i < on_device; i++)
    buf->gifts[i] = (u32)(fresh + i);
  buf->recv_count = 0;
  ok = ok && !call(s, NET_RECV, 2, 0, 0, 0, 0, on_device).err;
  struct reply before_close = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  stats(s);
  u64 left0 = all.close_left_on_device, frames0 = our_frames();
  cptr_t back = env.next_slot + 1;
  ok = ok && !net_close(&env, buf, t);
  u64 returned = 0;
  struct k_cap_info ci;
  for (u64 i = 0; i < NET_POOL; i++)
    returned += !sys_cap_identify(env.cnode, back + i, &ci) && ci.type == K_OBJ_FRAME_4K;
  struct reply after_close = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  stats(s);
  printf("nettest:      pool of 120: %llu spare, %llu on the device when the session closed; %llu frames back\n",
         spare, on_device, returned);
  check(ok && spare + on_device == 120 && on_device > 0 && returned == spare,
        "closing a session gives back the frames that are not on the device");
  check(before_close.w2 == after_close.w2 && all.close_left_on_device - left0 == on_device,
        "no other session's frames were traded for those on the device, and they are counted");
  u64 frames1 = our_frames();
  long err = arp_requests(s, 2 * 64); /* each answer takes a posted frame: the ring turns over twice */
  for (u64 until = sys_time_ns() + 200000000ull; sys_time_ns() < until;)
    sys_yield(); /* the last answers */
  drain(s);
  u64 frames2 = our_frames();
  printf("nettest:      our frames: %llu before the close, %llu after, %llu once the device turned its ring over\n",
         frames0, frames1, frames2);
  check(!err && frames1 == frames0 && frames2 == frames0 - on_device,
        "the frames left on the device go back to our memory once packets landed in them");
}

/* A client that takes back frames it lent netd (revokes the memory they
 * came from) hurts only itself, and netd counts it: spares in its pool
 * are passed over when netd would post or copy into them; a sent frame
 * waiting to be returned makes the answer that would carry it fail once,
 * and is passed over after; the frame of a send waiting for room fails
 * that send (WRONG_TYPE) when its turn comes. s is the default session
 * (it gets the gateway's answers to our pings). */
static volatile cptr_t revoke_then_go[2];
static void revoke_and_signal(void) {
  sys_cnode_revoke(K_BI_SLOT_CNODE, revoke_then_go[0]);
  sys_signal(revoke_then_go[1]);
  for (;;)
    sys_thread_exit();
}

/* Takes every packet queued for s with its frame (into slots at, at + 8),
 * and deletes the frames: s then holds no queued frame. */
static long drain_frames(cptr_t s, cptr_t at) {
  for (int i = 0; i < 100; i++) {
    struct reply info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
    if (info.err || net_info_queued(info.w2) == 0)
      return info.err;
    buf->recv_cnode = env.cnode, buf->recv_slot = at, buf->recv_count = 8, buf->recv_window = 0;
    struct reply got = call(s, NET_RECV, 2, 0, 8, 0, 0, 0);
    if (got.err)
      return got.err;
    for (cptr_t x = at; x < at + 8; x++)
      sys_cnode_delete(env.cnode, x);
  }
  return K_ERR_BAD_STATE;
}

/* Waits (up to 5 s) until no packet came to s for 200 ms: the answers to
 * the pings of the tests before have all come. */
static void quiet(cptr_t s) {
  stats(s);
  u64 seen = ~0ull, until = sys_time_ns() + 5000000000ull;
  while (seen != mine.rx_packets + mine.drop_queue_full + mine.drop_no_spare + mine.drop_orphan &&
         sys_time_ns() < until) {
    seen = mine.rx_packets + mine.drop_queue_full + mine.drop_no_spare + mine.drop_orphan;
    for (u64 t = sys_time_ns() + 200000000ull; sys_time_ns() < t;)
      sys_yield();
    stats(s);
  }
}

/* Four pings whose answers come to s; 20 ms later s lends back the *have
 * frames it took last time (slots at, at + *have) and takes up to 8
 * answers, frames and all, into slots from at on (*have: how many). */
static long ping_round(cptr_t s, u16 seq, cptr_t at, u64 *have) {
  long err = K_ERR_OK;
  for (u16 q = 0; q < 4 && !err; q++)
    err = ping_gateway(s, NFRAMES - 2, (u16)(seq + q), 500);
  for (u64 until = sys_time_ns() + 20000000ull; sys_time_ns() < until;)
    sys_yield();
  for (u64 i = 0; i < *have; i++)
    buf->gifts[i] = (u32)(at + i);
  buf->recv_cnode = env.cnode, buf->recv_slot = at, buf->recv_count = 8, buf->recv_window = 0;
  struct reply got = err ? (struct reply){0} : call(s, NET_RECV, 2, 0, 8, 0, 0, *have);
  err = err ? err : got.err;
  *have = got.gifts;
  stats(s);
  return err;
}

static void a_client_that_takes_back_what_it_lent(cptr_t s) {
  /* On slots of frames no test needs any more (ours ran out). */
  cptr_t good = FRAME_SLOT + 100, u = good + 129, f = u + 1, v = u + 9, u2 = v + 9, f2 = u2 + 1, u3 = u2 + 17, f3 = u3 + 1;
  cptr_t n = u3 + 17, other = n + 1, tcb = 0;
  for (cptr_t x = good; x < FRAME_SLOT + 296; x++)
    sys_cnode_delete(env.cnode, x);
  env.next_slot = other + 2; /* for the thread below */
  env.end_slot = FRAME_SLOT + 296;
  /* 72 frames fill the ring's empty entries (netd posts a session's spares
   * while an entry is empty), the rest wait as spares; then 8 frames of
   * memory we revoke wait on top of them, where netd takes the next spare
   * from when an entry empties. */
  quiet(s);
  long err = drain_frames(s, good);
  if (!err)
    err = lent_frames(good, 19);
  /* Until spares wait beyond the few netd keeps back (SPARE_RESERVE, 2):
   * no empty entry would take them. Packets QEMU kept while the ring had no
   * room come as soon as it has: those are taken and their frames deleted. */
  struct reply lent0 = {0};
  for (u64 next = 0, k = 72; !err && next + k <= 128; next += k, k = 16) {
    for (u64 i = 0; i < k; i++)
      buf->gifts[i] = (u32)(good + 1 + next + i);
    buf->recv_count = 0;
    err = call(s, NET_RECV, 2, 0, 0, 0, 0, k).err;
    quiet(s);
    if (!err)
      err = drain_frames(s, u2); /* slots free until the part below */
    lent0 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
    if (net_info_pool(lent0.w2) > 2)
      break;
  }
  if (!err)
    err = lent_frames(u, 15);
  for (u64 i = 0; i < 8; i++)
    buf->gifts[i] = (u32)(f + i);
  if (!err)
    err = call(s, NET_RECV, 2, 0, 0, 0, 0, 8).err; /* the top of its spares */
  struct reply lent1 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  int waiting = net_info_pool(lent1.w2) == net_info_pool(lent0.w2) + 8 &&
                net_info_on_device(lent1.w2) == net_info_on_device(lent0.w2);
  stats(s);
  u64 bad0 = mine.bad_requests, rx0 = mine.rx_packets, orphan0 = mine.drop_orphan, nospare0 = mine.drop_no_spare;
  u64 own0 = mine.rx_own_frame, copied0 = mine.rx_copied;
  if (!err)
    err = sys_cnode_revoke(env.cnode, u);
  /* Pings whose answers come to s, which takes them (frames and all) and
   * lends those frames again: the first answer that empties an entry
   * makes netd take s's spares from the top. */
  u64 have = 0;
  for (int round = 0; round < 10 && !err && mine.bad_requests - bad0 < 8; round++)
    err = ping_round(s, (u16)(100 + 4 * round), good + 1, &have);
  struct reply pool = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  printf("nettest:      8 spares taken back (%llu spare, %llu on the device before; %llu, %llu after lending them): "
         "%llu packets delivered (%llu in own frames, %llu copied), %llu refusals (spares passed over), %llu of its "
         "packets lost (%s); %llu spare, %llu on the device\n",
         net_info_pool(lent0.w2), net_info_on_device(lent0.w2), net_info_pool(lent1.w2), net_info_on_device(lent1.w2),
         mine.rx_packets - rx0, mine.rx_own_frame - own0, mine.rx_copied - copied0, mine.bad_requests - bad0,
         mine.drop_no_spare + mine.drop_orphan - nospare0 - orphan0, err_name(err), net_info_pool(pool.w2),
         net_info_on_device(pool.w2));
  check(!err && waiting && mine.bad_requests - bad0 == 8 && mine.drop_orphan == orphan0 &&
            mine.drop_no_spare == nospare0 && mine.rx_packets > rx0,
        "8 spares the client took back while they waited in netd are each passed over once and counted when netd "
        "would post them; none of its packets is lost while it lends others");
  /* Frames taken back while the device has them: s takes the frames of 8
   * answers and keeps them, so 8 entries wait for its spares; 8 frames of
   * memory we revoke then go there, and the packets that land in them are
   * lost to s, counted (a pinned remain keeps no packet for anyone). */
  for (u64 i = 0; i < have; i++)
    sys_cnode_delete(env.cnode, good + 1 + i); /* what the rounds above took last */
  for (u16 q = 0; q < 8 && !err; q++)
    err = ping_gateway(s, NFRAMES - 2, (u16)(200 + q), 500);
  quiet(s);
  if (!err)
    err = drain_frames(s, u2);
  struct reply posted0 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  if (!err)
    err = lent_frames(v, 15);
  for (u64 i = 0; i < 8; i++)
    buf->gifts[i] = (u32)(v + 1 + i);
  buf->recv_count = 0;
  if (!err)
    err = call(s, NET_RECV, 2, 0, 0, 0, 0, 8).err;
  struct reply posted1 = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  int on_ring = net_info_on_device(posted1.w2) == net_info_on_device(posted0.w2) + 8;
  stats(s);
  orphan0 = mine.drop_orphan, nospare0 = mine.drop_no_spare, rx0 = mine.rx_packets;
  if (!err)
    err = sys_cnode_revoke(env.cnode, v);
  have = 0;
  for (int round = 0; round < 50 && !err && mine.drop_orphan - orphan0 < 8; round++)
    err = ping_round(s, (u16)(300 + 4 * round), good + 1, &have);
  printf("nettest:      8 frames taken back on the device (%llu there before, %llu after lending them): %llu packets "
         "delivered, %llu lost in them, %llu for want of a spare (%s)\n",
         net_info_on_device(posted0.w2), net_info_on_device(posted1.w2), mine.rx_packets - rx0,
         mine.drop_orphan - orphan0, mine.drop_no_spare - nospare0, err_name(err));
  check(!err && on_ring && mine.drop_orphan - orphan0 == 8 && mine.drop_no_spare == nospare0,
        "8 frames the client took back while the device had them each lose it the one packet that landed in them, "
        "counted; none is lost for want of a frame");
  drain(s);
  /* A sent frame that waits to be returned. */
  err = lent_frames(u2, 16);
  buf->gifts[0] = (u32)f2;
  buf->recv_count = 0;
  struct reply r = err ? (struct reply){err, 0, 0, 0, 0}
                       : call(s, NET_SEND, 2, net_send_counts(1, 1), net_seg(0, 0, 60, 1), 0, 0, 1);
  struct reply info = {0};
  for (int tries = 0; !r.err && tries < 100 && !net_tx_done(info.w3); tries++) {
    sys_yield();
    info = call(s, NET_INFO, 0, 0, 0, 0, 0, 0);
  }
  stats(s);
  bad0 = mine.bad_requests;
  err = r.err ? r.err : sys_cnode_revoke(env.cnode, u2);
  buf->recv_cnode = env.cnode, buf->recv_slot = f2, buf->recv_count = 1, buf->recv_window = 0;
  struct reply c1 = call(s, NET_COLLECT, 2, 0, 1, 0, 0, 0), c2 = call(s, NET_COLLECT, 2, 0, 1, 0, 0, 0);
  stats(s);
  printf("nettest:      a sent frame taken back while it waited to be returned: collect %s, then %s with %llu frames"
         " (send %s, done %llu, refusals %llu)\n",
         err_name(c1.err), err_name(c2.err), c2.w1, err_name(err), net_tx_done(info.w3), mine.bad_requests - bad0);
  check(!err && net_tx_done(info.w3) == 1 && c1.err != K_ERR_OK && c2.err == K_ERR_OK && c2.w1 == 0 &&
            net_tx_done(c2.w2) == 0 && mine.bad_requests == bad0 + 1,
        "a kept frame the client took back fails the answer that would carry it once, counted, then is passed over");
  /* The frame of a send that waits for room. */
  buf->recv_cnode = env.cnode, buf->recv_slot = other, buf->recv_count = 1, buf->recv_window = 0;
  err = session_open_in(env.cnode, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 5100),
                        env.untyped, other + 1, other);
  buf->recv_cnode = env.cnode, buf->recv_slot = n, buf->recv_count = 1, buf->recv_window = 0;
  if (!err)
    err = call(other, NET_HOLD, 0, 0, 0, 0, 0, 0).err;
  u32 many[100];
  for (u32 i = 0; i < 100; i++)
    many[i] = net_seg(0, 0, 60, 1);
  memset(&buf->words[1], 0, 50 * 8);
  for (u32 i = 0; i < 100; i++)
    buf->words[1 + i / 2] |= (u64)many[i] << (32 * (i % 2));
  u64 w1 = buf->words[1], w2 = buf->words[2], w3 = buf->words[3];
  if (!err) { /* it fills the device and holds it */
    memset(frame_va[NFRAMES - 3], 0, 60);
    frame_va[NFRAMES - 3][0] = 0x02, frame_va[NFRAMES - 3][5] = 0x01; /* to nobody */
    gifts_out_at(NFRAMES - 3, 1);
    err = call(other, NET_SEND, 51, net_send_counts(100, 1), w1, w2, w3, 1).err;
  }
  if (!err)
    err = lent_frames(u3, 16);
  stats(s);
  u64 badseg0 = mine.bad_segments, waited0 = mine.tx_waited;
  revoke_then_go[0] = u3, revoke_then_go[1] = n;
  if (!err) /* below our priority: it runs once our send waits in netd */
    err = env_thread_below(&env, revoke_and_signal, &tcb);
  memset(&buf->words[1], 0, 50 * 8); /* the segments again: the counters' answer wrote over them */
  for (u32 i = 0; i < 100; i++)
    buf->words[1 + i / 2] |= (u64)many[i] << (32 * (i % 2));
  buf->gifts[0] = (u32)f3;
  buf->recv_cnode = env.cnode, buf->recv_slot = f3, buf->recv_count = 1, buf->recv_window = 0; /* a refusal's frame */
  r = err ? (struct reply){err, 0, 0, 0, 0} : call(s, NET_SEND, 51, net_send_counts(100, 1), w1, w2, w3, 1);
  stats(s);
  printf("nettest:      a waiting send whose frame was taken back: %s\n", err_name(r.err));
  check(r.err == K_ERR_WRONG_TYPE && mine.tx_waited == waited0 + 1 && mine.bad_segments == badseg0 + 1 &&
            !collect_at(other, NFRAMES - 3, 1),
        "a send that waited for room and whose frame the client took back meanwhile is refused when its turn comes (WRONG_TYPE)");
  net_close(&env, buf, other);
  sys_cnode_delete(env.cnode, tcb);
  sys_cnode_delete(env.cnode, n);
}

/* A session's queue is as long as its donation makes it: the least
 * donation (128 KiB) queues 672 packets the client does not collect, a
 * 256 KiB one 1,696; the packets past that are dropped and counted, never
 * queued. */
static void the_queue_follows_the_donation(cptr_t s) {
  static const u32 bits[2] = {NET_DONATION_BITS, NET_DONATION_BITS + 1};
  static const u64 expect[2] = {672, 1696};
  for (int k = 0; k < 2; k++) {
    cptr_t parent = env_slot(&env), q = 0;
    long err = sys_retype(env.untyped, K_OBJ_UNTYPED, bits[k], env.cnode, parent, 1, 0);
    if (!err)
      err = session_open_from(&env, buf, NETD_EP, NET_OPEN, bits[k], NET_FILTER(NET_PROTO_UDP, 4000 + k) | NET_F_ARP,
                              parent, &q);
    if (!err)
      err = arp_requests(s, (unsigned)expect[k] + 40);
    drain(s);
    struct reply info = err ? (struct reply){0} : call(q, NET_INFO, 0, 0, 0, 0, 0, 0);
    err = err ? err : info.err ? info.err : stats(q);
    printf("nettest: a %u KiB donation: %llu packets queued, %llu dropped as the queue was full\n", 1u << (bits[k] - 10),
           net_info_queued(info.w2), mine.drop_queue_full);
    check(!err && net_info_queued(info.w2) == expect[k] && mine.rx_packets == expect[k] && mine.drop_queue_full > 0,
          k ? "a 256 KiB donation: 1,696 packets wait uncollected, the rest are dropped and counted"
            : "the least donation: 672 packets wait uncollected, the rest are dropped and counted");
    sys_cnode_revoke(env.cnode, parent);
    sys_cnode_delete(env.cnode, parent);
  }
}

/* A client that opens sessions until its memory runs out: the flood ends
 * at the client's own NO_MEMORY, not at a table of netd's (it had 16
 * places once); beside it a newcomer opens a session and talks; revoking
 * the flood's memory ends its sessions. Then sessions abandoned round
 * after round, more opens than netd has places: their places come back. */
#define FLOOD_BANK_BITS 22
#define FLOOD_MAX (1u << (FLOOD_BANK_BITS - NET_DONATION_BITS))
#define NETD_PLACES_TRIED 3072 /* netd's places under 256 MiB (its ready line) */
static void session_flood(cptr_t first) {
  static cptr_t flood[FLOOD_MAX];
  /* It runs last, on the slots of frames no test needs now (the others
   * used up the rest of our CNode). */
  for (unsigned f = 0; f < 48; f++)
    sys_cnode_delete(env.cnode, FRAME_SLOT + f);
  env.next_slot = FRAME_SLOT;
  env.end_slot = FRAME_SLOT + 48;
  stats(first);
  u64 before = netd_bytes;
  cptr_t bank = env_slot(&env), donation = env_slot(&env), newcomer = 0;
  long err = sys_retype(env.untyped, K_OBJ_UNTYPED, FLOOD_BANK_BITS, env.cnode, bank, 1, 0);
  unsigned opened = 0;
  while (!err && opened <= FLOOD_MAX) { /* one more than the bank holds */
    cptr_t sess = env_slot(&env);
    err = session_open_in(env.cnode, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 30000 + opened),
                          bank, donation, sess);
    if (!err)
      flood[opened++] = sess;
  }
  printf("nettest:      a client flooding netd opened %u sessions from its %u KiB and then met %s\n", opened,
         1u << (FLOOD_BANK_BITS - 10), err_name(err));
  check(opened == FLOOD_MAX && opened > 16 && err == K_ERR_NO_MEMORY,
        "a session flood ends when the client's own memory does (NO_MEMORY), not at a table of netd's");
  stats(first);
  u64 during = netd_bytes;
  int ok = !open_session(NET_FILTER(NET_PROTO_UDP, 29999) | NET_F_ARP, &newcomer);
  u64 got = 0;
  if (ok) { /* it lends frames, so that the device has some to receive into */
    gifts_out_at(48, 8);
    ok = !call(newcomer, NET_RECV, 2, 0, 0, 0, 0, 8).err && !arp_requests(newcomer, 2);
    buf->recv_cnode = env.cnode, buf->recv_slot = FRAME_SLOT, buf->recv_count = 0, buf->recv_window = 0;
    struct reply r = call(newcomer, NET_RECV, 2, 0, 0, 0, 0, 0);
    got = r.err ? 0 : r.w1;
  }
  printf("nettest:      the newcomer: %s, %llu packets; netd's memory %llu bytes before the flood, %llu during\n",
         ok ? "ARP asked" : "failed", got, before, during);
  check(ok && got > 0 && during == before,
        "beside the flood a newcomer opens a session and gets the gateway's ARP answers, netd's memory as it was");
  ok = !sys_cnode_revoke(env.cnode, bank);
  unsigned refused = 0;
  for (unsigned i = 0; i < opened; i++)
    refused += call(flood[i], NET_INFO, 0, 0, 0, 0, 0, 0).err == K_ERR_BAD_STATE;
  ok = ok && refused == opened && !call(newcomer, NET_INFO, 0, 0, 0, 0, 0, 0).err;
  ok = ok && !net_close(&env, buf, newcomer);
  stats(first);
  check(ok && netd_bytes == before,
        "the flood's memory revoked: its sessions are gone, the newcomer's went on, netd's memory as it was");
  unsigned rounds = 0, total = 0;
  err = K_ERR_OK;
  for (; !err && total <= NETD_PLACES_TRIED; rounds++) { /* a revoke gives the bank its memory back */
    for (unsigned i = 0; !err && i < FLOOD_MAX; i++, total++) {
      sys_cnode_delete(env.cnode, flood[i]); /* the endpoint of a session gone before */
      err = session_open_in(env.cnode, buf, NETD_EP, NET_OPEN, NET_DONATION_BITS, NET_FILTER(NET_PROTO_UDP, 30000 + i),
                            bank, donation, flood[i]);
    }
    sys_cnode_revoke(env.cnode, bank);
  }
  sys_cnode_delete(env.cnode, bank);
  stats(first);
  printf("nettest:      %u sessions in %u rounds, each round's memory revoked and its sessions never touched: %s\n",
         total, rounds, err_name(err));
  check(!err && total > NETD_PLACES_TRIED && netd_bytes == before,
        "more abandoned sessions than netd has places: their places come back, every open succeeds");
}

int main(void) {
  env = env_of_program(FRAME_SLOT + NFRAMES);
  cptr_t s = 0;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = sys_retype(env.untyped, K_OBJ_FRAME_4K, 0, env.cnode, FRAME_SLOT, NFRAMES, 0);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, WINDOW, NFRAMES * K_PAGE_SIZE);
  for (u64 i = 0; !err && i < NFRAMES; i++) {
    err = sys_frame_map(FRAME_SLOT + i, env.vspace, WINDOW + i * K_PAGE_SIZE, K_MAP_WRITE);
    frame_va[i] = (u8 *)(WINDOW + i * K_PAGE_SIZE);
  }
  if (!err)
    err = open_session(NET_FILTER(NET_PROTO_UDP, 7) | NET_F_ARP | NET_F_DEFAULT, &s);
  if (err) {
    printf("nettest: cannot start: %s\n", err_name(err));
    debug_exit(1);
    return 1;
  }
  bad_segments(s);
  bad_requests(s);
  arp_exchange(s);
  a_batch_of_100(s);
  netd_time_goes_to_whom_it_worked_for(s);
  sessions(s);
  gone_before_the_request(s);
  a_session_that_dies_mid_send(s);
  sends_past_the_bounds(s);
  inline_packets_hold_no_frames(s);
  the_queue_follows_the_donation(s);
  a_client_that_stops_donating(s);
  session_flood(s); /* last: the memory of its bank does not come back to ours */
  printf("nettest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  return failed;
}

