/* tcp_echo: the Linux side of the TCP echo comparison: a TCP echo server
 * (RFC 862) on one thread with poll(), as a Linux programmer would write
 * it for a few connections: each connection's bytes are read into its own
 * buffer and written back as the socket takes them; when the peer shuts
 * down its side and everything is echoed, the server shuts down its own.
 * It exits after --connections N connections have ended (the host's
 * benchmark knows how many it makes), so the guest can go on. */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#define MAX_CONNS 64
#define BUF (256 * 1024)

static const char *prog = "tcp_echo";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--port N] [--connections N] [--any]\n"
          "  echo TCP on 127.0.0.1:PORT (default 7007; --any: every address) until N connections\n"
          "  (default 1) have ended; up to %d at once\n",
          prog, MAX_CONNS);
}

struct conn {
  int fd, peer_done;
  size_t head, len; /* bytes [head, head + len) of buf wait to go back */
  char *buf;
};

int main(int argc, char **argv) {
  uint64_t port = 7007, connections = 1;
  int any = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = parse_u64(prog, "--port", argv[++i]);
    else if (!strcmp(argv[i], "--connections") && i + 1 < argc)
      connections = parse_u64(prog, "--connections", argv[++i]);
    else if (!strcmp(argv[i], "--any"))
      any = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!port || port > 65535 || !connections) {
    usage(stderr);
    return 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK)};
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, MAX_CONNS)) {
    fprintf(stderr, "%s: cannot listen on port %llu: %s\n", prog, (unsigned long long)port, strerror(errno));
    return 1;
  }
  static struct conn c[MAX_CONNS];
  for (int i = 0; i < MAX_CONNS; i++)
    c[i].fd = -1;
  uint64_t ended = 0;
  while (ended < connections) {
    struct pollfd pf[MAX_CONNS + 1];
    int at[MAX_CONNS + 1], n = 0;
    pf[n] = (struct pollfd){ls, POLLIN, 0}, at[n++] = -1;
    for (int i = 0; i < MAX_CONNS; i++)
      if (c[i].fd >= 0) {
        short ev = (short)((!c[i].peer_done && c[i].len < BUF ? POLLIN : 0) | (c[i].len ? POLLOUT : 0));
        pf[n] = (struct pollfd){c[i].fd, ev, 0}, at[n++] = i;
      }
    if (poll(pf, (nfds_t)n, -1) < 0)
      continue;
    for (int k = 0; k < n; k++) {
      if (!pf[k].revents)
        continue;
      if (at[k] < 0) {
        int fd = accept(ls, 0, 0), i = 0;
        while (i < MAX_CONNS && c[i].fd >= 0)
          i++;
        if (fd < 0)
          continue;
        if (i == MAX_CONNS) {
          close(fd);
          continue;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        if (!c[i].buf && !(c[i].buf = malloc(BUF))) {
          close(fd);
          continue;
        }
        c[i].fd = fd, c[i].peer_done = 0, c[i].head = c[i].len = 0;
        continue;
      }
      struct conn *x = &c[at[k]];
      if ((pf[k].revents & POLLOUT) && x->len) {
        size_t run = BUF - x->head < x->len ? BUF - x->head : x->len;
        ssize_t w = write(x->fd, x->buf + x->head, run);
        if (w > 0)
          x->head = (x->head + (size_t)w) % BUF, x->len -= (size_t)w;
        else if (w < 0 && errno != EAGAIN)
          x->peer_done = 2; /* the peer went: drop what is left */
      }
      if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && !x->peer_done && x->len < BUF) {
        size_t tail = (x->head + x->len) % BUF, room = tail >= x->head ? BUF - tail : x->head - tail;
        if (room > BUF - x->len)
          room = BUF - x->len;
        ssize_t r = read(x->fd, x->buf + tail, room);
        if (r > 0)
          x->len += (size_t)r;
        else if (r == 0 || errno != EAGAIN)
          x->peer_done = r == 0 ? 1 : 2;
      }
      if (x->peer_done == 2 || (x->peer_done && !x->len)) { /* all echoed after the peer's FIN, or the peer went */
        shutdown(x->fd, SHUT_WR);
        close(x->fd);
        x->fd = -1;
        ended++;
      }
    }
  }
  return 0;
}
