/* udp_echo: the Linux side of the network echo comparison: a UDP echo
 * server (RFC 862) that answers every datagram, with recvmsg/sendmsg one at
 * a time or recvmmsg/sendmmsg in batches; and a client that measures echo
 * round trips against a server (ours, or this one) on 127.0.0.1. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH 64
#define STOP_WORD "STOP-ECHO-SERVER" /* a datagram of exactly this ends --server */
#define MAXLEN 1472

static const char *prog = "udp_echo";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s --server [--port N] [--batch] [--count N] [--any]\n"
          "       %s --client [--port N] [--size BYTES] [--count N]\n"
          "  --server  echo datagrams on 127.0.0.1:PORT (default 7007) until COUNT are echoed (default: forever)\n"
          "  --any     listen on every address, not only 127.0.0.1 (a guest serving its network card)\n"
          "            a datagram of exactly \"" STOP_WORD "\" stops the server\n"
          "  --batch   use recvmmsg/sendmmsg, up to %d datagrams per call\n"
          "  --client  send COUNT datagrams of SIZE bytes (default 10000 of 64), one at a time, check each\n"
          "            echo byte for byte, and print a BENCH line name=udp_echo\n",
          prog, prog, BATCH);
}

static int bind_to(uint16_t port, int any) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK)};
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
    fprintf(stderr, "%s: cannot bind %s:%u: %s\n", prog, any ? "0.0.0.0" : "127.0.0.1", port, strerror(errno));
    exit(1);
  }
  return s;
}

static int serve(uint16_t port, int batch, uint64_t count, int any) {
  int s = bind_to(port, any);
  static char bufs[BATCH][MAXLEN];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in peers[BATCH];
  for (uint64_t done = 0; !count || done < count;) {
    int n = batch ? BATCH : 1;
    for (int i = 0; i < n; i++) {
      iov[i] = (struct iovec){bufs[i], MAXLEN};
      msgs[i].msg_hdr = (struct msghdr){.msg_name = &peers[i], .msg_namelen = sizeof(peers[i]),
                                        .msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int got = batch ? recvmmsg(s, msgs, (unsigned)n, MSG_WAITFORONE, 0)
                    : (int)(msgs[0].msg_len = (unsigned)recvmsg(s, &msgs[0].msg_hdr, 0), 1);
    if (got <= 0 || (!batch && (int)msgs[0].msg_len < 0))
      continue;
    for (int i = 0; i < got; i++) {
      iov[i].iov_len = msgs[i].msg_len;
      if (msgs[i].msg_len == sizeof(STOP_WORD) - 1 && !memcmp(bufs[i], STOP_WORD, sizeof(STOP_WORD) - 1)) {
        if (i && batch)
          sendmmsg(s, msgs, (unsigned)i, 0);
        printf("udp_echo: stopped after %llu datagrams\n", (unsigned long long)(done + (uint64_t)i));
        return 0;
      }
    }
    if (batch)
      sendmmsg(s, msgs, (unsigned)got, 0);
    else
      sendmsg(s, &msgs[0].msg_hdr, 0);
    done += (uint64_t)got;
  }
  return 0;
}

static int client(uint16_t port, size_t size, uint64_t count) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
    fprintf(stderr, "%s: cannot reach 127.0.0.1:%u: %s\n", prog, port, strerror(errno));
    return 1;
  }
  char out[MAXLEN], in[MAXLEN];
  uint64_t t0 = now_ns();
  for (uint64_t i = 0; i < count; i++) {
    for (size_t k = 0; k < size; k++)
      out[k] = (char)(i * 31 + k);
    if (send(s, out, size, 0) != (ssize_t)size || recv(s, in, sizeof(in), 0) != (ssize_t)size ||
        memcmp(in, out, size)) {
      fprintf(stderr, "%s: echo %llu of %zu bytes lost or wrong\n", prog, (unsigned long long)i, size);
      return 1;
    }
  }
  bench_line("udp_echo", size, count, -1, now_ns() - t0, accel_name(), "variant=one_at_a_time");
  return 0;
}

int main(int argc, char **argv) {
  int server = 0, is_client = 0, batch = 0, any = 0;
  uint64_t port = 7007, size = 64, count = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--server")) {
      server = 1;
    } else if (!strcmp(argv[i], "--client")) {
      is_client = 1;
    } else if (!strcmp(argv[i], "--batch")) {
      batch = 1;
    } else if (!strcmp(argv[i], "--any")) {
      any = 1;
    } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      port = parse_u64(prog, "--port", argv[++i]);
    } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      size = parse_u64(prog, "--size", argv[++i]);
    } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
      count = parse_u64(prog, "--count", argv[++i]);
    } else {
      return bad_argument(prog, argv[i], usage);
    }
  }
  if (server == is_client || !port || port > 65535 || !size || size > MAXLEN) {
    fprintf(stderr, "%s: give one of --server or --client; --port 1-65535; --size 1-%d\n", prog, MAXLEN);
    return 2;
  }
  return server ? serve((uint16_t)port, batch, count, any) : client((uint16_t)port, size, count ? count : 10000);
}
