/* tcpwire: a TCP peer on the wire, for the corners a well-behaved stack on
 * the host never shows the guest. It speaks raw Ethernet through QEMU's
 * UDP socket netdev (frames to 127.0.0.1:--inject, the guest's frames
 * from 127.0.0.1:--sink), as 198.18.0.2 (it answers ARP for that), to
 * the echo service at 198.18.0.15:7, and checks every echo byte for byte:
 *
 *   reorder   segments sent out of order, one twice, one already acked again
 *   loss      a segment held back until the guest asked for it again
 *   window    the peer closes its window mid-echo and opens it later: the
 *             guest must not send past it, and must go on when it opens
 *   reset     a connection reset mid-transfer; a new one is then served
 *   halfclose the peer's FIN right after its data: all of the echo still
 *             comes, then the guest's FIN
 *   ackstorm  a peer that answers each of the guest's ACKs with an invalid
 *             one (out of window, acknowledging unsent data), as a peer
 *             that disagrees about the connection does: the guest answers
 *             at most a few a second (no ACK storm), and the connection
 *             still echoes afterwards
 *
 * Usage: tcpwire --inject P --sink Q [--timeout S]. Prints a line per case
 * and "tcpwire: N passed, M failed" last; exit status 0 when all passed.
 * Every wait is bounded; traffic goes to 127.0.0.1 only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t our_mac[6] = {0x52, 0x55, 0xc6, 0x12, 0x00, 0x02};
static const uint8_t our_ip[4] = {198, 18, 0, 2}, guest_ip[4] = {198, 18, 0, 15};
#define GUEST_PORT 7
#define MSS 1000 /* what we send per segment and announce */
enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

static int sock;
static struct sockaddr_in inject;
static int passed, failed;
static double timeout_s = 20;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  return s;
}
static uint16_t fold(uint32_t s) {
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16), put16(p + 2, v); }
static uint32_t get16(const uint8_t *p) { return (uint32_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return get16(p) << 16 | get16(p + 2); }

/* One connection from our port `port`, as we see it. */
struct conn {
  uint16_t port;
  uint32_t iss, snd_nxt; /* our sequence numbers */
  uint32_t rcv_nxt;      /* the guest's next byte */
  uint16_t window;       /* what we announce */
  uint32_t right_edge;   /* the furthest byte we ever said we would take, + 1 */
  int fin_seen, rst_seen;
  uint8_t *got;          /* the echo, in order */
  size_t ngot, cap;
  size_t beyond_window;  /* bytes the guest sent past the window we announced */
  int probes;            /* segments the guest sent into a zero window */
  unsigned segs;         /* segments of this connection from the guest */
};

static void send_frame(const uint8_t *f, size_t n) {
  if (sendto(sock, f, n, 0, (struct sockaddr *)&inject, sizeof inject) < 0)
    perror("tcpwire: sendto");
}

static void send_seg(struct conn *c, uint8_t flags, uint32_t seq, const uint8_t *data, size_t len) {
  uint8_t f[1600];
  size_t opt = (flags & F_SYN) ? 4 : 0, total = 20 + 20 + opt + len;
  memset(f, 0, 14 + total);
  memcpy(f, guest_mac, 6), memcpy(f + 6, our_mac, 6), f[12] = 8, f[13] = 0;
  uint8_t *ip = f + 14, *t = ip + 20;
  ip[0] = 0x45, put16(ip + 2, (uint32_t)total), ip[8] = 64, ip[9] = 6;
  memcpy(ip + 12, our_ip, 4), memcpy(ip + 16, guest_ip, 4);
  put16(ip + 10, fold(sum16(ip, 20, 0)));
  if ((flags & F_ACK) && (int32_t)(c->rcv_nxt + c->window - c->right_edge) > 0)
    c->right_edge = c->rcv_nxt + c->window;
  put16(t, c->port), put16(t + 2, GUEST_PORT), put32(t + 4, seq), put32(t + 8, (flags & F_ACK) ? c->rcv_nxt : 0);
  t[12] = (uint8_t)((20 + opt) / 4 << 4), t[13] = flags, put16(t + 14, c->window);
  if (opt)
    t[20] = 2, t[21] = 4, put16(t + 22, MSS);
  memcpy(t + 20 + opt, data, len);
  uint8_t pseudo[12];
  memcpy(pseudo, our_ip, 4), memcpy(pseudo + 4, guest_ip, 4), pseudo[8] = 0, pseudo[9] = 6;
  put16(pseudo + 10, (uint32_t)(20 + opt + len));
  put16(t + 16, fold(sum16(t, 20 + opt + len, sum16(pseudo, 12, 0))));
  send_frame(f, 14 + total);
}

static void ack(struct conn *c) { send_seg(c, F_ACK, c->snd_nxt, 0, 0); }

static void answer_arp(const uint8_t *f) {
  const uint8_t *a = f + 14;
  if (get16(a + 6) != 1 || memcmp(a + 24, our_ip, 4))
    return; /* not a request for us */
  uint8_t r[60] = {0};
  memcpy(r, a + 8, 6), memcpy(r + 6, our_mac, 6), r[12] = 8, r[13] = 6;
  uint8_t *p = r + 14;
  memcpy(p, a, 6), put16(p + 6, 2);
  memcpy(p + 8, our_mac, 6), memcpy(p + 14, our_ip, 4), memcpy(p + 18, a + 8, 10);
  send_frame(r, sizeof r);
}

/* Takes the guest's frames for up to `secs`: ARP is answered, segments of
 * connection c handled (in-order data kept and acknowledged, SYN-ACK taken,
 * FIN and RST noted). Returns when `until_fn` says so or the time is up. */
static int wait_for(struct conn *c, double secs, int (*until_fn)(const struct conn *)) {
  double end = now() + secs;
  uint8_t f[2048];
  while (!until_fn(c)) {
    int left = (int)((end - now()) * 1000);
    if (left <= 0)
      return 0;
    struct pollfd pf = {sock, POLLIN, 0};
    if (poll(&pf, 1, left < 50 ? left : 50) <= 0)
      continue;
    ssize_t n = recv(sock, f, sizeof f, 0);
    if (n < 14)
      continue;
    if (f[12] == 8 && f[13] == 6 && n >= 42) {
      answer_arp(f);
      continue;
    }
    if (!(f[12] == 8 && f[13] == 0) || n < 54 || f[14 + 9] != 6)
      continue;
    const uint8_t *ip = f + 14, *t = ip + (ip[0] & 15) * 4;
    size_t iplen = get16(ip + 2), thl = (size_t)(t[12] >> 4) * 4;
    if (get16(t + 2) != c->port || (size_t)(t - f) + thl > (size_t)n || 14 + iplen > (size_t)n)
      continue;
    uint32_t seq = get32(t + 4);
    uint8_t fl = t[13];
    c->segs++;
    size_t len = iplen - (size_t)(t - ip) - thl;
    const uint8_t *data = t + thl;
    if (fl & F_RST) {
      c->rst_seen = 1;
      continue;
    }
    if ((fl & F_SYN) && (fl & F_ACK)) { /* SYN-ACK */
      c->rcv_nxt = seq + 1;
      continue;
    }
    if (len && c->window == 0)
      c->probes++;
    if (len && seq == c->rcv_nxt) {
      /* Bytes past the furthest edge we announced break the rules (a 1-byte
       * probe into a closed window does not); we take what the window
       * we announce now holds and drop the rest. */
      int32_t allowed = (int32_t)(c->right_edge - seq);
      if ((int32_t)len > allowed && !(c->window == 0 && len == 1))
        c->beyond_window += len - (size_t)(allowed > 0 ? allowed : 0);
      size_t take = len < c->window ? len : c->window;
      if (c->ngot + take > c->cap)
        take = c->cap - c->ngot;
      memcpy(c->got + c->ngot, data, take);
      c->ngot += take, c->rcv_nxt += (uint32_t)take;
    }
    if ((fl & F_FIN) && seq + len == c->rcv_nxt && !c->fin_seen) {
      c->fin_seen = 1;
      c->rcv_nxt++;
    }
    if (len || (fl & F_FIN))
      ack(c); /* also answers probes and retransmissions with where we are */
  }
  return 1;
}

static unsigned segs_wanted;
static int seg_came(const struct conn *c) { return c->segs >= segs_wanted; }
static int synack(const struct conn *c) { return c->rcv_nxt != 0 || c->rst_seen; }
static int fin_or_rst(const struct conn *c) { return c->fin_seen || c->rst_seen; }
static size_t want_bytes;
static int got_enough(const struct conn *c) { return c->ngot >= want_bytes || c->rst_seen; }

static void check(int ok, const char *what) {
  printf("tcpwire: %s %s\n", ok ? "ok  " : "FAIL", what);
  fflush(stdout);
  ok ? passed++ : failed++;
}

static int connect_to(struct conn *c, uint16_t port, uint8_t *buf, size_t cap) {
  memset(c, 0, sizeof *c);
  c->port = port, c->iss = 0x10000000u * (port % 13) + 77, c->window = 65535, c->got = buf, c->cap = cap;
  for (int tries = 0; tries < 5 && !c->rcv_nxt; tries++) {
    send_seg(c, F_SYN, c->iss, 0, 0);
    wait_for(c, 1.0, synack);
  }
  if (!c->rcv_nxt || c->rst_seen)
    return 0;
  c->snd_nxt = c->iss + 1;
  ack(c);
  return 1;
}

/* Sends the data's segments in `order` (indices of MSS-byte segments; -1
 * waits a moment for the guest, taking its frames meanwhile). */
static void send_in_order(struct conn *c, const uint8_t *data, size_t len, const int *order, int n) {
  for (int i = 0; i < n; i++) {
    if (order[i] < 0) {
      want_bytes = (size_t)-1;
      wait_for(c, 0.3, got_enough);
      continue;
    }
    size_t off = (size_t)order[i] * MSS, l = len - off < MSS ? len - off : MSS;
    send_seg(c, F_ACK | F_PSH, c->iss + 1 + (uint32_t)off, data + off, l);
  }
  c->snd_nxt = c->iss + 1 + (uint32_t)len;
}

static uint8_t out[64 * 1024], in[64 * 1024];

static void fill(uint16_t seed) {
  for (size_t i = 0; i < sizeof out; i++)
    out[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

/* Sends `len` bytes in `order`, then FIN; the echo must come back whole
 * and identical, then the guest's FIN. */
static int resends; /* rounds in which we had to send everything again */
static int echo_case(uint16_t port, size_t len, const int *order, int n) {
  struct conn c;
  resends = 0;
  fill(port);
  if (!connect_to(&c, port, in, sizeof in))
    return 0;
  send_in_order(&c, out, len, order, n);
  send_seg(&c, F_ACK | F_FIN, c.snd_nxt, 0, 0);
  c.snd_nxt++;
  for (double end = now() + timeout_s; !c.fin_seen && !c.rst_seen && now() < end;) {
    wait_for(&c, 1.0, fin_or_rst);
    if (c.ngot < len && !c.fin_seen) { /* the guest may still want a segment again: resend what it lacks */
      int all[64], k = 0;
      resends++;
      for (size_t off = 0; off < len && k < 64; off += MSS)
        all[k++] = (int)(off / MSS);
      send_in_order(&c, out, len, all, k);
      send_seg(&c, F_ACK | F_FIN, c.snd_nxt, 0, 0);
      c.snd_nxt++;
    }
  }
  return c.fin_seen && c.ngot == len && !memcmp(in, out, len);
}

int main(int argc, char **argv) {
  long inj = 0, sink = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--inject") && i + 1 < argc)
      inj = atol(argv[++i]);
    else if (!strcmp(argv[i], "--sink") && i + 1 < argc)
      sink = atol(argv[++i]);
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
      timeout_s = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: tcpwire --inject PORT --sink PORT [--timeout S]\n");
      return 2;
    }
  }
  if (inj < 1 || inj > 65535 || sink < 1 || sink > 65535 || timeout_s <= 0) {
    fprintf(stderr, "tcpwire: --inject and --sink want ports, --timeout seconds\n");
    return 2;
  }
  sock = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sink)};
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  inject = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)inj)};
  inject.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sock < 0 || bind(sock, (struct sockaddr *)&me, sizeof me)) {
    perror("tcpwire: bind the sink port");
    return 1;
  }

  static const int in_order[] = {0, 1, 2, 3, 4, 5, 6, 7};
  int ok = echo_case(40001, 8 * MSS, in_order, 8);
  check(ok && !resends, "halfclose: 8 segments then our FIN: the whole echo, then the guest's FIN");
  static const int reorder[] = {1, 0, 3, 2, 2, 5, 4, 0, 7, 6};
  ok = echo_case(40002, 8 * MSS, reorder, 10);
  check(ok && !resends, "reorder: segments out of order, one twice, one already taken again: the echo in order, identical");
  static const int loss[] = {0, 1, 2, 4, 5, 6, 7, -1, 3};
  ok = echo_case(40003, 8 * MSS, loss, 9);
  check(ok && !resends, "loss: a segment held back until the rest were in: the echo whole, nothing sent twice");

  /* window: we take 2000 bytes, close our window, and open it again later */
  {
    struct conn c;
    fill(40004);
    ok = connect_to(&c, 40004, in, sizeof in);
    size_t len = 16 * MSS;
    int all[16];
    for (int i = 0; i < 16; i++)
      all[i] = i;
    if (ok) {
      c.window = 2000;
      ack(&c);
      send_in_order(&c, out, len, all, 16);
      want_bytes = 2000;
      wait_for(&c, 5, got_enough);
      c.window = 0;
      ack(&c);
      want_bytes = (size_t)-1;
      wait_for(&c, 3, got_enough); /* closed: nothing may come but probes */
      size_t held = c.ngot;
      c.window = 65535;
      ack(&c); /* open again */
      send_seg(&c, F_ACK | F_FIN, c.snd_nxt, 0, 0);
      c.snd_nxt++;
      wait_for(&c, timeout_s, fin_or_rst);
      printf("tcpwire:      window: %zu bytes before it closed, %d probes while closed, %zu bytes past the window\n", held,
             c.probes, c.beyond_window);
      ok = held == 2000 && c.beyond_window == 0 && c.fin_seen && c.ngot == len && !memcmp(in, out, len);
    }
    check(ok, "window: closed mid-echo the guest sends nothing past it (probes only), opened it goes on to the end");
  }

  /* reset: mid-transfer, then a new connection is served */
  {
    struct conn c;
    fill(40005);
    ok = connect_to(&c, 40005, in, sizeof in);
    if (ok) {
      static const int first[] = {0, 1, 2, 3};
      send_in_order(&c, out, 16 * MSS, first, 4);
      want_bytes = 2000;
      wait_for(&c, 5, got_enough);
      send_seg(&c, F_RST, c.iss + 1 + 4 * MSS, 0, 0);
      ok = c.ngot >= 2000;
    }
    check(ok && echo_case(40006, 4 * MSS, in_order, 4), "reset: a connection reset mid-transfer; the next one is served");
  }
  /* ackstorm: our ACKs acknowledge 56,341 bytes the guest never sent, from
   * a sequence number 26 MB behind its window (what the soak's storm
   * looked like), each sent again as soon as the guest answers */
  {
    struct conn c;
    fill(40007);
    ok = connect_to(&c, 40007, in, sizeof in);
    unsigned sent = 0, answers = 0;
    if (ok) {
      uint32_t rcv = c.rcv_nxt;
      for (double end = now() + 2; now() < end; sent++) {
        c.rcv_nxt = rcv + 56341;
        send_seg(&c, F_ACK, c.snd_nxt - 26000000u, 0, 0);
        c.rcv_nxt = rcv;
        segs_wanted = c.segs + 1;
        answers += (unsigned)wait_for(&c, 0.05, seg_came);
      }
      printf("tcpwire:      ackstorm: %u invalid ACKs sent in 2 s, %u answered\n", sent, answers);
      static const int four[] = {0, 1, 2, 3};
      send_in_order(&c, out, 4 * MSS, four, 4);
      send_seg(&c, F_ACK | F_FIN, c.snd_nxt, 0, 0);
      c.snd_nxt++;
      wait_for(&c, timeout_s, fin_or_rst);
      /* lwIP lets one through every 500 ms and answers it with two
       * segments: at most 10 in 2 s (90,000 without the guard here) */
      ok = answers <= 10 && sent >= 20 && c.fin_seen && c.ngot == 4 * MSS && !memcmp(in, out, 4 * MSS);
    }
    check(ok, "ackstorm: invalid ACKs answered a few times a second, not at once each; the connection then echoes as before");
  }
  printf("tcpwire: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
