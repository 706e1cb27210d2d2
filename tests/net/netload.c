/* netload: the host side of the network echo demo, tests and benchmark.
 * It talks only to 127.0.0.1 (QEMU's forwarded ports and socket netdev).
 *
 *   netload udp-check --port P [--min A] [--max B]      UDP echo, each size once
 *   netload tcp-check --port P --bytes N [--sent F] [--received F]
 *   netload udp-bench --port P --size S --count N [--window W] [--pace R]
 *   netload interleave --ports P1,P2[,..P8] --count N    up to 8 echo servers, in turn
 *   netload flood --port P --count N [--rate R]          malformed Ethernet frames
 *   netload send --port P --text STRING                  one datagram (stops compare-linux's udp_echo)
 *   netload fair --port P [--streams N] [--bytes B] [--timeout T]
 *       N (up to 64) concurrent TCP echoes of B bytes: every one must come
 *       back identical, none later than twice the median
 *   netload tcp-bench --port P --streams N --bytes B
 *       N concurrent TCP echoes of B bytes each (all connected first, then
 *       all sending): a BENCH line name=tcp_echo with the MB/s echoed from
 *       when all were connected until the last came back whole
 *   netload churn --port P --count N
 *       N short TCP connections one after another: connect, a 64-byte
 *       echo, close; every one must echo (the guest's closed connections,
 *       TIME_WAIT included, must not pile up)
 *   netload limit --port P [--streams N] [--conns C]
 *       N connections held open (the most the guest serves), each echoing;
 *       C more must each be refused (closed or reset by the far end); once
 *       the N close, N new ones must each echo again (no wedge)
 *   netload stall --port P --udp-port U [--streams N] [--bytes B] [--conns C] [--stall-bytes S]
 *       N concurrent TCP echoes of B bytes, then a connection that sends S
 *       bytes and never reads its echo; beside it (still open) a fresh TCP
 *       echo of B bytes, C concurrent short ones and a UDP echo must all be
 *       answered; then the stalled one is reset and a last echo checked
 * Common: --seed N, --timeout SEC (default 60). Every loop is bounded in
 * count and in time. Exit status 0 when the check passed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct {
  long port, udp_port, min, max, size, count, window, rate, pace, timeout, streams, conns;
  long long stall_bytes;
  long ports[8];
  int nports;
  long long bytes;
  unsigned long long seed;
  const char *sent, *received, *text;
} o = {.min = 1, .max = 1472, .window = 64, .rate = 20000, .timeout = 60, .seed = 1, .streams = 12,
       .conns = 6, .stall_bytes = 4 << 20};

static uint64_t rng;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)next_rand();
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(FILE *f) {
  fprintf(f, "usage:\n"
             "  netload udp-check --port P [--min 1] [--max 1472]\n"
             "  netload tcp-check --port P --bytes N [--sent FILE] [--received FILE]\n"
             "  netload udp-bench --port P --size S --count N [--window 64] [--pace R datagrams/s, 0: unpaced]\n"
             "  netload interleave --ports P1,P2[,...,P8] --count N\n"
             "  netload flood --port P --count N [--rate 20000 frames/s, 0: unpaced]\n"
             "  netload send --port P --text STRING\n"
             "  netload fair --port P [--streams 64] [--bytes 65536] [--timeout S]\n"
             "  netload tcp-bench --port P --streams N --bytes B\n"
             "  netload churn --port P --count N\n"
             "  netload limit --port P [--streams 64] [--conns 4]\n"
             "  netload stall --port P --udp-port U [--streams 12] [--bytes 262144] [--conns 6]\n"
             "                [--stall-bytes 4194304]\n"
             "common options: --seed N, --timeout SEC (default 60)\n"
             "Traffic goes to 127.0.0.1 only.\n");
}

static long number(const char *opt, const char *v, long lo, long hi) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || *end || end == v || x < lo || x > hi) {
    fprintf(stderr, "netload: %s wants a number from %ld to %ld, not '%s'\n", opt, lo, hi, v);
    exit(2);
  }
  return (long)x;
}

static int udp_socket(long port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("netload: udp socket to 127.0.0.1");
    exit(1);
  }
  return s;
}

/* Sends `n` bytes and waits up to 500 ms for the same bytes back, 5 tries. */
static int echo_once(int s, const uint8_t *p, size_t n, int *retries) {
  static uint8_t got[65536];
  for (int attempt = 0; attempt < 5; attempt++) {
    if (attempt)
      (*retries)++;
    if (send(s, p, n, 0) < 0 && errno != ECONNREFUSED)
      return 0;
    double until = now() + 0.5;
    for (;;) {
      int left = (int)((until - now()) * 1000);
      struct pollfd pf = {s, POLLIN, 0};
      if (left <= 0 || poll(&pf, 1, left) <= 0)
        break;
      ssize_t r = recv(s, got, sizeof got, 0);
      if (r == (ssize_t)n && !memcmp(got, p, n))
        return 1; /* anything else is a late echo of an earlier try */
    }
  }
  return 0;
}

static void wait_for_guest(int s, double deadline) {
  uint8_t probe = 0x5a;
  int r = 0;
  while (now() < deadline)
    if (echo_once(s, &probe, 1, &r))
      return;
  fprintf(stderr, "netload: no echo from 127.0.0.1:%ld within --timeout\n", o.port);
  exit(1);
}

static int udp_check(void) {
  int s = udp_socket(o.port), retries = 0;
  double start = now(), deadline = start + (double)o.timeout;
  wait_for_guest(s, deadline);
  long ok = 0, failed = 0;
  static uint8_t p[65536];
  for (long n = o.min; n <= o.max; n++) {
    if (now() > deadline) {
      fprintf(stderr, "netload: --timeout reached at size %ld\n", n);
      failed += o.max - n + 1;
      break;
    }
    fill_random(p, (size_t)n);
    echo_once(s, p, (size_t)n, &retries) ? ok++ : failed++;
    if ((n - o.min + 1) % 200 == 0)
      fprintf(stderr, "netload: %ld sizes done\n", n - o.min + 1);
  }
  printf("udp-check: %ld sizes from %ld to %ld, %ld echoed byte for byte, %d retries, %ld failed, %.2f s\n",
         o.max - o.min + 1, o.min, o.max, ok, retries, failed, now() - start);
  return failed ? 1 : 0;
}

static int tcp_check(void) {
  double start = now(), deadline = start + (double)o.timeout;
  int s = -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (now() < deadline && now() < start + 10) {
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
      break;
    close(s);
    s = -1;
    usleep(200000);
  }
  if (s < 0) {
    fprintf(stderr, "netload: cannot connect to 127.0.0.1:%ld\n", o.port);
    return 1;
  }
  uint8_t *out = malloc((size_t)o.bytes), *in = malloc((size_t)o.bytes);
  if (!out || !in) {
    fprintf(stderr, "netload: out of memory for %lld bytes\n", o.bytes);
    return 1;
  }
  fill_random(out, (size_t)o.bytes);
  fcntl(s, F_SETFL, O_NONBLOCK);
  long long sent = 0, got = 0, mib = 0;
  int shut = 0;
  while (got < o.bytes && now() < deadline) {
    struct pollfd pf = {s, POLLIN | (sent < o.bytes ? POLLOUT : 0), 0};
    if (poll(&pf, 1, 200) < 0)
      break;
    if ((pf.revents & POLLOUT) && sent < o.bytes) {
      ssize_t w = send(s, out + sent, (size_t)(o.bytes - sent < 65536 ? o.bytes - sent : 65536), 0);
      if (w > 0)
        sent += w;
    }
    if (sent == o.bytes && !shut) {
      shutdown(s, SHUT_WR);
      shut = 1;
    }
    if (pf.revents & (POLLIN | POLLHUP)) {
      ssize_t r = recv(s, in + got, (size_t)(o.bytes - got), 0);
      if (r == 0)
        break;
      if (r > 0)
        got += r;
    }
    if (got >> 20 > mib) {
      mib = got >> 20;
      fprintf(stderr, "netload: %lld MiB echoed\n", mib);
    }
  }
  double t = now() - start;
  close(s);
  long long diff = -1;
  for (long long i = 0; i < got; i++)
    if (in[i] != out[i]) {
      diff = i;
      break;
    }
  FILE *f;
  if (o.sent && (f = fopen(o.sent, "wb"))) {
    fwrite(out, 1, (size_t)sent, f);
    fclose(f);
  }
  if (o.received && (f = fopen(o.received, "wb"))) {
    fwrite(in, 1, (size_t)got, f);
    fclose(f);
  }
  int same = diff < 0 && got == o.bytes;
  printf("tcp-check: sent %lld bytes, received %lld bytes, %s", sent, got, same ? "identical" : "DIFFERENT");
  if (diff >= 0)
    printf(" at offset %lld", diff);
  printf(", %.2f s, %.1f MB/s\n", t, (double)got / t / 1e6);
  free(out);
  free(in);
  return same ? 0 : 1;
}

/* Round trips by microsecond bucket (the last holds longer ones). */
#define RTT_BUCKETS 200001
static uint32_t rtt_us[RTT_BUCKETS];
static long rtt_quantile(long n, double q) {
  long want = (long)((double)n * q), seen = 0;
  for (long b = 0; b < RTT_BUCKETS; b++)
    if ((seen += rtt_us[b]) > want)
      return b;
  return RTT_BUCKETS - 1;
}

/* Window of datagrams in flight, each tagged with a sequence number; with
 * --pace, no more sent than R a second since the start (a client that
 * needs that much, not all it can get). Round trips are measured. */
static int udp_bench(void) {
  int s = udp_socket(o.port);
  double start = now(), deadline = start + (double)o.timeout;
  wait_for_guest(s, deadline);
  enum { BATCH = 64 };
  static uint8_t out[BATCH][65536], in[BATCH][65536];
  static double sent_at[1 << 16];
  long sent = 0, echoed = 0, lost = 0, inflight = 0;
  uint64_t next_seq = 1, lowest = 1;
  start = now();
  while (echoed < o.count && now() < deadline) {
    /* Datagrams unanswered for 200 ms are lost: they leave the window. */
    while (lowest < next_seq && sent_at[lowest & 0xffff] && now() - sent_at[lowest & 0xffff] > 0.2) {
      sent_at[lowest & 0xffff] = 0;
      lowest++, lost++, inflight--;
    }
    while (lowest < next_seq && !sent_at[lowest & 0xffff])
      lowest++;
    struct mmsghdr mh[BATCH];
    struct iovec iov[BATCH];
    int k = 0;
    long allowed = o.pace ? (long)((now() - start) * (double)o.pace) + 1 : LONG_MAX;
    while (inflight + k < o.window && k < BATCH && next_seq - lowest < 60000 && (long)next_seq - 1 + k < allowed) {
      memset(out[k], 0, (size_t)o.size);
      memcpy(out[k], &next_seq, 8);
      sent_at[next_seq & 0xffff] = now();
      iov[k] = (struct iovec){out[k], (size_t)o.size};
      mh[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
      k++, next_seq++;
    }
    if (k) {
      int w = sendmmsg(s, mh, (unsigned)k, 0);
      if (w > 0)
        sent += w, inflight += w;
      for (int j = w < 0 ? 0 : w; j < k; j++)
        sent_at[(next_seq - (uint64_t)(k - j)) & 0xffff] = 0; /* not sent: not waited for */
    }
    struct pollfd pf = {s, POLLIN, 0};
    if (poll(&pf, 1, o.pace ? 1 : 20) <= 0)
      continue;
    for (int j = 0; j < BATCH; j++) {
      iov[j] = (struct iovec){in[j], sizeof in[j]};
      mh[j] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[j], .msg_iovlen = 1}};
    }
    int r = recvmmsg(s, mh, BATCH, MSG_DONTWAIT, 0);
    for (int j = 0; j < r; j++) {
      uint64_t seq;
      memcpy(&seq, in[j], 8);
      if (mh[j].msg_len != (unsigned)o.size || seq >= next_seq || !sent_at[seq & 0xffff])
        continue; /* already counted lost, or not ours */
      long us = (long)((now() - sent_at[seq & 0xffff]) * 1e6);
      rtt_us[us < 0 ? 0 : us < RTT_BUCKETS ? us : RTT_BUCKETS - 1]++;
      sent_at[seq & 0xffff] = 0;
      echoed++, inflight--;
    }
  }
  double t = now() - start;
  printf("BENCH name=udp_echo size=%ld window=%ld pace=%ld sent=%ld echoed=%ld lost=%ld seconds=%.3f pps=%.0f MBps=%.2f "
         "rtt_p50_us=%ld rtt_p99_us=%ld\n",
         o.size, o.window, o.pace, sent, echoed, lost, t, (double)echoed / t, (double)echoed * (double)o.size / t / 1e6,
         rtt_quantile(echoed, 0.5), rtt_quantile(echoed, 0.99));
  return echoed > 0 ? 0 : 1;
}

/* Datagrams to each port in turn, each tagged with its port: every server
 * must echo exactly its own (a reply from another port never reaches a
 * socket connected to this one). */
static int interleave(void) {
  int s[8], retries = 0;
  double start = now(), deadline = start + (double)o.timeout;
  long got[8] = {0}, failed = 0;
  static uint8_t p[1500];
  for (int i = 0; i < o.nports; i++) {
    s[i] = udp_socket(o.ports[i]);
    o.port = o.ports[i];
    wait_for_guest(s[i], deadline);
  }
  long n = 0;
  for (; n < o.count && now() < deadline; n++) {
    int i = (int)(n % o.nports);
    size_t len = 16 + next_rand() % (1472 - 16 + 1);
    fill_random(p, len);
    snprintf((char *)p, 16, "to-port-%-7ld", o.ports[i]);
    echo_once(s[i], p, len, &retries) ? got[i]++ : failed++;
  }
  failed += o.count - n;
  printf("interleave: %ld datagrams to %d ports, echoed:", o.count, o.nports);
  for (int i = 0; i < o.nports; i++)
    printf(" %ld from %ld", got[i], o.ports[i]);
  printf("; %d retries, %ld failed\n", retries, failed);
  return failed ? 1 : 0;
}

/* ---- flood: Ethernet frames in UDP datagrams, for QEMU's socket netdev ---- */

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static size_t ipv4_frame(uint8_t *f, int proto, size_t payload) {
  memcpy(f, next_rand() & 7 ? guest_mac : (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 6);
  memcpy(f + 6, (const uint8_t[6]){0x52, 0x55, 0xc6, 0x12, 0x00, 0x02}, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  size_t l4 = proto == 17 ? 8 : 20, total = 20 + l4 + payload;
  memset(ip, 0, 20 + l4);
  ip[0] = 0x45, ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total, ip[8] = 64, ip[9] = (uint8_t)proto;
  memcpy(ip + 12, (const uint8_t[4]){198, 18, 0, 2}, 4);
  memcpy(ip + 16, (const uint8_t[4]){198, 18, 0, 15}, 4);
  uint8_t *l = ip + 20;
  l[0] = (uint8_t)(next_rand()), l[1] = (uint8_t)(next_rand()), l[2] = 0, l[3] = 7;
  fill_random(l + l4, payload);
  return 14 + total;
}

static int flood(void) {
  int s = udp_socket(o.port);
  static const char *names = "abcdefghi";
  long per[9] = {0};
  static uint8_t f[9100];
  double start = now(), deadline = start + (double)o.timeout;
  long n = 0;
  for (; n < o.count && now() < deadline; n++) {
    int cat = (int)(n % 9);
    size_t len;
    switch (cat) {
    case 0: /* random bytes */
      len = 1 + next_rand() % 1600;
      fill_random(f, len);
      break;
    case 1: /* runt */
      len = 1 + next_rand() % 13;
      fill_random(f, len);
      break;
    case 2: /* broken IPv4 header: version, IHL */
      len = ipv4_frame(f, 17, next_rand() % 64);
      f[14] = (uint8_t)((next_rand() & 1 ? 0x60 : 0x40) | (next_rand() % 16 < 5 ? next_rand() % 5 : 15));
      break;
    case 3: /* IPv4 total length past the frame, or below the header */
      len = ipv4_frame(f, 17, next_rand() % 64);
      f[16] = (uint8_t)(next_rand() & 1 ? 0xff : 0x00), f[17] = (uint8_t)(next_rand() % 20);
      break;
    case 4: /* UDP to port 7 with a wrong length or checksum */
      len = ipv4_frame(f, 17, next_rand() % 1400);
      f[14 + 20 + 4] = (uint8_t)next_rand(), f[14 + 20 + 6] = (uint8_t)next_rand() | 1;
      break;
    case 5: /* TCP to port 7 with random flags and data offset */
      len = ipv4_frame(f, 6, next_rand() % 200);
      f[14 + 20 + 12] = (uint8_t)(next_rand() & 1 ? 0x10 : 0xf0), f[14 + 20 + 13] = (uint8_t)next_rand();
      break;
    case 6: /* ARP with random opcodes and lengths */
      len = 14 + 8 + next_rand() % 40;
      fill_random(f, len);
      memset(f, 0xff, 6);
      f[12] = 0x08, f[13] = 0x06;
      break;
    case 7: /* oversized */
      len = 1515 + next_rand() % (9000 - 1515);
      ipv4_frame(f, 17, 100);
      fill_random(f + 200, len - 200);
      break;
    default: /* fragments */
      len = ipv4_frame(f, 17, next_rand() % 600);
      f[14 + 6] = (uint8_t)(0x20 | (next_rand() & 0x1f)), f[14 + 7] = (uint8_t)next_rand();
      break;
    }
    if (send(s, f, len, 0) < 0 && errno != ECONNREFUSED) {
      perror("netload: flood send");
      return 1;
    }
    per[cat]++;
    if (o.rate) {
      double due = start + (double)(n + 1) / (double)o.rate, t = now();
      if (due > t)
        usleep((useconds_t)((due - t) * 1e6));
    }
    if ((n + 1) % 10000 == 0)
      fprintf(stderr, "netload: %ld frames sent\n", n + 1);
  }
  printf("flood: %ld frames sent (", n);
  for (int c = 0; c < 9; c++)
    printf("%s%c=%ld", c ? " " : "", names[c], per[c]);
  printf("), %.1f s\n", now() - start);
  return n == o.count ? 0 : 1;
}


/* ---- stall: echoes beside a connection whose peer never reads ---- */

static int tcp_connect(long port, int rcvbuf, double deadline) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (now() < deadline) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
      return -1;
    if (rcvbuf)
      setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
      fcntl(s, F_SETFL, O_NONBLOCK);
      return s;
    }
    close(s);
    usleep(200000);
  }
  return -1;
}

/* n concurrent TCP echoes of `bytes` each, until `seconds` have passed:
 * how many came back whole and identical (each stream's bytes differ). */
static int tcp_streams(int n, long long bytes, double seconds, const char *what, double *finish) {
  double start = now(), deadline = start + seconds;
  int s[64], done[64] = {0}, shut[64] = {0}, ok = 0, finished = 0;
  long long sent[64] = {0}, got[64] = {0};
  uint8_t *out = malloc((size_t)bytes + 64), *in = malloc((size_t)bytes);
  if (!out || !in)
    return 0;
  fill_random(out, (size_t)bytes + 64);
  double connected[64];
  for (int i = 0; i < n; i++) {
    if ((s[i] = tcp_connect(o.port, 0, deadline)) < 0)
      done[i] = 1, finished++;
    connected[i] = now();
    /* QEMU's user network listens with a backlog of 1 (ss -ltn shows it):
     * a burst of connects overflows it and the host's TCP retries the SYN
     * a second later. A pause lets QEMU accept each one first. */
    usleep(5000);
  }
  if (finish && n > 1)
    printf("stall: %s: %d connections made in %.2f s\n", what, n, connected[n - 1] - start);
  double last_done = start;
  while (finished < n && now() < deadline) {
    struct pollfd pf[64];
    for (int i = 0; i < n; i++)
      pf[i] = (struct pollfd){done[i] ? -1 : s[i], (short)(POLLIN | (sent[i] < bytes ? POLLOUT : 0)), 0};
    if (poll(pf, (nfds_t)n, 200) < 0)
      break;
    for (int i = 0; i < n; i++) {
      if (done[i])
        continue;
      if ((pf[i].revents & POLLOUT) && sent[i] < bytes) {
        ssize_t w = send(s[i], out + i + sent[i], (size_t)(bytes - sent[i] < 65536 ? bytes - sent[i] : 65536), 0);
        if (w > 0)
          sent[i] += w;
      }
      if (sent[i] == bytes && !shut[i])
        shutdown(s[i], SHUT_WR), shut[i] = 1;
      if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = recv(s[i], in, (size_t)(bytes - got[i]), 0);
        if (r > 0 && memcmp(in, out + i + got[i], (size_t)r))
          r = 0; /* different bytes: this stream failed */
        if (r > 0)
          got[i] += r;
        if (r == 0 || (r < 0 && errno != EAGAIN) || got[i] == bytes) {
          ok += got[i] == bytes;
          if (got[i] != bytes)
            fprintf(stderr, "netload: %s: stream %d ended after %lld of %lld bytes back (%lld sent)%s%s\n", what, i,
                    got[i], bytes, sent[i], r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
          done[i] = 1, finished++;
          last_done = now();
          if (finish) /* from when all are connected and sending: what netecho's service took */
            finish[i] = got[i] == bytes ? last_done - connected[n - 1] : -1;
          close(s[i]);
        }
      }
    }
  }
  for (int i = 0; i < n; i++)
    if (!done[i]) {
      fprintf(stderr, "netload: %s: stream %d timed out with %lld of %lld bytes back (%lld sent)\n", what, i, got[i],
              bytes, sent[i]);
      close(s[i]);
    }
  printf("stall: %s: %d of %d TCP echoes of %lld bytes came back identical in %.2f s%s\n", what, ok, n, bytes,
         last_done - start, finished < n ? " (the rest timed out)" : "");
  fflush(stdout);
  free(out);
  free(in);
  return ok;
}

/* ---- fair: many connections at once, each served in turn ---- */

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* n concurrent TCP echoes: all must come back, and none may take more than
 * twice the median time (netecho serves every connection in turn). */
static int fair(void) {
  int n = (int)o.streams;
  double finish[64], sorted[64];
  int ok = tcp_streams(n, o.bytes, (double)o.timeout, "at once", finish);
  memcpy(sorted, finish, sizeof(double) * (size_t)n);
  qsort(sorted, (size_t)n, sizeof(double), by_value);
  double median = sorted[n / 2], slowest = sorted[n - 1];
  int fair_ok = ok == n && sorted[0] >= 0 && slowest <= 2 * median;
  printf("fair: %d of %d echoes of %lld bytes; each took, once all were connected, %.2f s (fastest), %.2f (median), %.2f (slowest): %s\n", ok, n,
         o.bytes, sorted[0], median, slowest,
         fair_ok ? "every one within twice the median" : "NOT within twice the median");
  return fair_ok ? 0 : 1;
}

/* ---- limit: past what the guest serves, a refused connection ---- */

/* A short echo on connected socket s (non-blocking), by `deadline`. */
static int echo_on(int s, double deadline) {
  uint8_t out[64], in[64];
  size_t got = 0;
  fill_random(out, sizeof out);
  if (send(s, out, sizeof out, 0) != (ssize_t)sizeof out)
    return 0;
  while (got < sizeof in && now() < deadline) {
    struct pollfd pf = {s, POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0)
      continue;
    ssize_t r = recv(s, in + got, sizeof in - got, 0);
    if (r <= 0)
      return 0;
    got += (size_t)r;
  }
  return got == sizeof in && !memcmp(in, out, sizeof in);
}

/* Whether the far end closes or resets s by `deadline` (sending nothing). */
static int refused_by_peer(int s, double deadline) {
  uint8_t probe = 1, got;
  send(s, &probe, 1, MSG_NOSIGNAL); /* the guest's answer to a refused connection may wait for data */
  while (now() < deadline) {
    struct pollfd pf = {s, POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0)
      continue;
    ssize_t r = recv(s, &got, 1, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN))
      return 1;
    if (r > 0)
      return 0; /* an echo: it was served */
  }
  return 0;
}

static int tcp_bench(void) {
  int n = (int)o.streams;
  double finish[64], last = 0;
  int ok = tcp_streams(n, o.bytes, (double)o.timeout, "bench", finish);
  for (int i = 0; i < n; i++)
    last = finish[i] > last ? finish[i] : last;
  if (ok != n || last <= 0) {
    fprintf(stderr, "netload: tcp-bench: %d of %d streams came back whole\n", ok, n);
    return 1;
  }
  printf("BENCH name=tcp_echo streams=%d bytes=%lld total_bytes=%lld seconds=%.3f MBps=%.2f\n", n, o.bytes,
         (long long)n * o.bytes, last, (double)n * (double)o.bytes / last / 1e6);
  return 0;
}

static int churn(void) {
  double start = now(), deadline = start + (double)o.timeout;
  long ok = 0, n = 0;
  for (; n < o.count && now() < deadline; n++) {
    int s = tcp_connect(o.port, 0, deadline);
    if (s < 0)
      break;
    ok += echo_on(s, now() + 10);
    close(s);
    if ((n + 1) % 1000 == 0)
      fprintf(stderr, "netload: %ld connections\n", n + 1);
  }
  printf("churn: %ld of %ld short connections in a row echoed, %.1f s\n", ok, o.count, now() - start);
  return ok == o.count ? 0 : 1;
}

static int limit(void) {
  int n = (int)o.streams, extra = (int)o.conns, s[64], more[64], failed = 0;
  double start = now(), deadline = start + (double)o.timeout;
  int served = 0;
  for (int i = 0; i < n; i++) {
    s[i] = tcp_connect(o.port, 0, deadline);
    served += s[i] >= 0 && echo_on(s[i], now() + 10);
  }
  printf("limit: %d of %d connections held open, each echoing, in %.1f s\n", served, n, now() - start);
  failed += served != n;
  int refused = 0;
  for (int i = 0; i < extra; i++) {
    more[i] = tcp_connect(o.port, 0, deadline);
    refused += more[i] >= 0 && refused_by_peer(more[i], now() + 10);
  }
  printf("limit: %d of %d more refused (closed or reset by the guest)\n", refused, extra);
  failed += refused != extra;
  for (int i = 0; i < n; i++)
    if (s[i] >= 0)
      close(s[i]);
  for (int i = 0; i < extra; i++)
    if (more[i] >= 0)
      close(more[i]);
  usleep(500000); /* the guest hears of the closes */
  served = 0;
  for (int i = 0; i < n; i++) {
    s[i] = tcp_connect(o.port, 0, deadline);
    served += s[i] >= 0 && echo_on(s[i], now() + 10);
  }
  for (int i = 0; i < n; i++)
    if (s[i] >= 0)
      close(s[i]);
  printf("limit: after they closed, %d of %d new connections each echo; %.1f s\n", served, n, now() - start);
  failed += served != n;
  return failed ? 1 : 0;
}

static int stall(void) {
  double start = now(), deadline = start + (double)o.timeout;
  long long bytes = o.bytes ? o.bytes : 256 * 1024;
  int failed = 0, us = udp_socket(o.udp_port), retries = 0;
  long port = o.port;
  o.port = o.udp_port;
  wait_for_guest(us, deadline);
  o.port = port;
  double phase = (double)o.timeout / 4;
  tcp_streams((int)o.streams, bytes, phase, "before", 0); /* the load; its result is only reported */
  /* The stalled connection: a small receive buffer here, so that the
   * echo backs up into the guest at once; it sends and never reads. */
  int st = tcp_connect(o.port, 4096, now() + 10);
  if (st < 0) {
    fprintf(stderr, "netload: cannot connect to 127.0.0.1:%ld\n", o.port);
    return 1;
  }
  uint8_t *junk = malloc(65536);
  fill_random(junk, 65536);
  long long put = 0;
  double stall_end = now() + 10, last_put = now();
  while (put < o.stall_bytes && now() < stall_end && now() - last_put < 3) {
    struct pollfd pf = {st, POLLOUT, 0};
    if (poll(&pf, 1, 200) > 0) {
      ssize_t w = send(st, junk, (size_t)(o.stall_bytes - put < 65536 ? o.stall_bytes - put : 65536), 0);
      if (w > 0)
        put += w, last_put = now();
    }
  }
  printf("stall: the stalled connection took %lld bytes and is left unread\n", put);
  fflush(stdout);
  failed += tcp_streams(1, bytes, phase, "beside the stalled one", 0) != 1;
  failed += tcp_streams((int)o.conns, 16384, phase, "many beside the stalled one", 0) != (int)o.conns;
  uint8_t d[512];
  fill_random(d, sizeof d);
  int udp_ok = echo_once(us, d, sizeof d, &retries);
  printf("stall: a UDP datagram beside the stalled one: %s\n", udp_ok ? "echoed" : "NOT ANSWERED");
  failed += !udp_ok;
  struct linger l = {1, 0}; /* the stalled one is reset */
  setsockopt(st, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(st);
  failed += tcp_streams((int)o.streams, bytes, phase, "after the reset", 0) != (int)o.streams;
  printf("stall: %s, %.2f s\n", failed ? "FAILED" : "all answered", now() - start);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "netload: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--port"))
      o.port = number(a, v, 1, 65535);
    else if (!strcmp(a, "--ports")) {
      o.nports = 0;
      for (const char *at = v;; at++) {
        const char *comma = strchr(at, ',');
        char one[16];
        if (o.nports == 8) {
          fprintf(stderr, "netload: --ports takes at most 8 ports\n");
          return 2;
        }
        snprintf(one, sizeof one, "%.*s", comma ? (int)(comma - at) : (int)strlen(at), at);
        o.ports[o.nports++] = number(a, one, 1, 65535);
        if (!comma)
          break;
        at = comma;
      }
    } else if (!strcmp(a, "--min"))
      o.min = number(a, v, 1, 65507);
    else if (!strcmp(a, "--max"))
      o.max = number(a, v, 1, 65507);
    else if (!strcmp(a, "--size"))
      o.size = number(a, v, 8, 65507);
    else if (!strcmp(a, "--count"))
      o.count = number(a, v, 1, 100000000);
    else if (!strcmp(a, "--window"))
      o.window = number(a, v, 1, 4096);
    else if (!strcmp(a, "--pace"))
      o.pace = number(a, v, 0, 10000000);
    else if (!strcmp(a, "--rate"))
      o.rate = number(a, v, 0, 10000000);
    else if (!strcmp(a, "--timeout"))
      o.timeout = number(a, v, 1, 3600);
    else if (!strcmp(a, "--bytes"))
      o.bytes = number(a, v, 1, 1L << 30);
    else if (!strcmp(a, "--seed"))
      o.seed = (unsigned long long)number(a, v, 1, 1L << 62);
    else if (!strcmp(a, "--sent"))
      o.sent = v;
    else if (!strcmp(a, "--received"))
      o.received = v;
    else if (!strcmp(a, "--udp-port"))
      o.udp_port = number(a, v, 1, 65535);
    else if (!strcmp(a, "--streams"))
      o.streams = number(a, v, 1, 64);
    else if (!strcmp(a, "--conns"))
      o.conns = number(a, v, 1, 64);
    else if (!strcmp(a, "--stall-bytes"))
      o.stall_bytes = number(a, v, 1, 1L << 30);
    else if (!strcmp(a, "--text"))
      o.text = v;
    else {
      fprintf(stderr, "netload: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
  }
  rng = 0x9e3779b97f4a7c15ull ^ (o.seed * 0xbf58476d1ce4e5b9ull);
  int need_port = strcmp(mode, "interleave") != 0;
  if ((need_port && !o.port) || (!need_port && o.nports < 2)) {
    fprintf(stderr, "netload: %s needs %s\n", mode, need_port ? "--port" : "--ports P1,P2[,...]");
    return 2;
  }
  if (o.min > o.max) {
    fprintf(stderr, "netload: --min %ld is above --max %ld\n", o.min, o.max);
    return 2;
  }
  if (!strcmp(mode, "udp-check"))
    return udp_check();
  if (!strcmp(mode, "tcp-check"))
    return o.bytes ? tcp_check() : (fprintf(stderr, "netload: tcp-check needs --bytes\n"), 2);
  if (!strcmp(mode, "udp-bench"))
    return o.size && o.count ? udp_bench() : (fprintf(stderr, "netload: udp-bench needs --size and --count\n"), 2);
  if (!strcmp(mode, "interleave"))
    return o.count ? interleave() : (fprintf(stderr, "netload: interleave needs --count\n"), 2);
  if (!strcmp(mode, "send")) {
    if (!o.text) {
      fprintf(stderr, "netload: send needs --text\n");
      return 2;
    }
    int sk = udp_socket(o.port);
    return send(sk, o.text, strlen(o.text), 0) < 0 ? (perror("netload: send"), 1) : 0;
  }
  if (!strcmp(mode, "fair"))
    return fair();
  if (!strcmp(mode, "limit"))
    return limit();
  if (!strcmp(mode, "tcp-bench"))
    return o.bytes ? tcp_bench() : (fprintf(stderr, "netload: tcp-bench needs --bytes\n"), 2);
  if (!strcmp(mode, "churn"))
    return o.count ? churn() : (fprintf(stderr, "netload: churn needs --count\n"), 2);
  if (!strcmp(mode, "stall"))
    return o.udp_port ? stall() : (fprintf(stderr, "netload: stall needs --udp-port\n"), 2);
  if (!strcmp(mode, "flood"))
    return o.count ? flood() : (fprintf(stderr, "netload: flood needs --count\n"), 2);
  fprintf(stderr, "netload: unknown mode %s\n", mode);
  usage(stderr);
  return 2;
}
