/* netecho: UDP and TCP echo (RFC 862) on lwIP, over netd. It answers ARP
 * and ICMP echo too when it is the default session. Started by init as
 * "netecho" (port 7, the default session) or "netecho:N" (port N only).
 *
 * Received UDP datagrams go back without a copy of their tails: the pbuf
 * chain that came in is sent out, so the frame netd gifted is gifted back.
 * TCP data is copied into the connection's ring, then into lwIP's send
 * buffer (tcp_write with copy); see the TCP part below. */
#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>
#include <lib/string.h>
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/etharp.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip_port_hooks.h"
#include "netif/ethernet.h"
#include <netif_netd.h>
#include <lwip_port.h>

#define GUEST_IP "198.18.0.15"
#define GATEWAY "198.18.0.2"
#define RX_FRAMES 96
#define NETD_EP K_BI_SLOT_FIRST_FREE_FIXED /* from init */
#define STATS_EVERY_NS 5000000000ull

static struct netdev dev;
static struct netif netif;
static u16 port;
static u64 udp_echoed, udp_bytes, tcp_bytes, tcp_conns;
#define BURST_END_NS 1000000000ull /* a second without packets ends a burst */
#define BURST_MIN 1000

/* The guest's busy time over a burst of echoes: time minus the CPU's
 * halted time, so waiting for the host is left out. Under -icount
 * shift=0 a busy ns is one instruction of the whole guest (kernel, netd,
 * this stack) per echoed datagram. */
static struct {
  int active;
  u64 t0, idle0, echoed0, bytes0, t_last, idle_last, echoed_last, bytes_last;
  u64 tsc0, stack0, tsc_last, stack_last;
  u64 recvs0, sends0, recvs_last, sends_last;
  u64 app_cpu0, netd_cpu0; /* the threads' run times, from the kernel */
} burst;

static u64 netd_cpu_ns(void) {
  struct net_stats st;
  return netdev_stats(&dev, &st) ? 0 : st.netd_cpu_ns;
}

static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (u64)hi << 32 | lo;
}

static void account(long received, u64 t_before, u64 idle_before) {
  u64 now = sys_time_ns();
  if (received > 0) {
    if (!burst.active)
      burst = (typeof(burst)){1, t_before, idle_before, udp_echoed, udp_bytes, 0, 0, 0, 0,
                              rdtsc(), netif_netd_stack_tsc(), 0, 0, dev.recvs, dev.sends, 0, 0,
                              sys_thread_ns(), netd_cpu_ns()};
    burst.tsc_last = rdtsc();
    burst.stack_last = netif_netd_stack_tsc();
    burst.t_last = now;
    burst.idle_last = sys_idle_ns();
    burst.echoed_last = udp_echoed;
    burst.bytes_last = udp_bytes;
    burst.recvs_last = dev.recvs;
    burst.sends_last = dev.sends;
  } else if (burst.active && now - burst.t_last > BURST_END_NS) {
    u64 n = burst.echoed_last - burst.echoed0, busy = (burst.t_last - burst.t0) - (burst.idle_last - burst.idle0);
    /* the stack's TSC cycles in ns, at the rate the TSC ran over the burst */
    u64 cycles = burst.tsc_last - burst.tsc0, ns = burst.t_last - burst.t0;
    u64 stack = cycles ? (burst.stack_last - burst.stack0) * ns / cycles : 0;
    /* Run times are read now, a second after the last datagram: what the
     * two threads did meanwhile (a few receive timeouts) is in them. */
    u64 app = sys_thread_ns() - burst.app_cpu0, netd = netd_cpu_ns() - burst.netd_cpu0;
    if (n >= BURST_MIN)
      printf("COST name=udp_echo size=%llu port=%u datagrams=%llu busy_ns=%llu busy_ns_per_datagram=%llu "
             "app_ns_per_datagram=%llu lwip_ns_per_datagram=%llu netd_ns_per_datagram=%llu "
             "recvs_per_1000=%llu sends_per_1000=%llu\n",
             (burst.bytes_last - burst.bytes0 + n / 2) / n, port, n, busy, busy / n, app / n, stack / n, netd / n,
             (burst.recvs_last - burst.recvs0) * 1000 / n, (burst.sends_last - burst.sends0) * 1000 / n);
    burst.active = 0;
  }
}


static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t from) {
  (void)arg;
  udp_bytes += p->tot_len;
  udp_sendto(pcb, p, addr, from);
  udp_echoed++;
  pbuf_free(p);
}

/* ---- TCP: what does not fit the send buffer waits in the connection's
 * ring. The ring is as large as lwIP's receive window and the window is
 * opened (tcp_recved) only by what leaves the ring, so the window lwIP
 * advertises is the room the ring has: a connection whose peer never
 * reads its echo holds one ring, TCP_SND_BUF of lwIP's heap and its
 * out-of-order queue (TCP_OOSEQ_MAX_*), and stalls alone. Received pbufs
 * are freed as soon as their bytes are in the ring. ---- */

#define CONNS NETECHO_CONNS
struct conn {
  u32 head, len; /* bytes [head, head + len) of ring, modulo its size */
  int used, closing;
  struct tcp_pcb *pcb;
  u64 progress_at; /* ns: the peer's close, or the last byte it acknowledged since */
};
static struct conn conns[CONNS];
static u8 (*rings)[TCP_WND]; /* CONNS of them, mapped at start */
static u64 tcp_refused; /* connections refused: every slot taken */
/* A peer that closed its side but does not read the echo it still owes
 * (its window shut) would hold the connection, its ring and lwIP's send
 * buffer until lwIP gives up probing the window (12 probes, minutes). After
 * LINGER_NS without an acknowledged byte the connection is reset. */
#define LINGER_NS 10000000000ull
static u64 tcp_linger_reset;

static u8 *ring_of(const struct conn *c) { return rings[c - conns]; }

static void tcp_drain(struct tcp_pcb *pcb, struct conn *c) {
  while (c->len) {
    u32 run = TCP_WND - c->head < c->len ? TCP_WND - c->head : c->len;
    u16_t room = tcp_sndbuf(pcb), n = (u16_t)(run < room ? run : room);
    if (!n || tcp_write(pcb, ring_of(c) + c->head, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
      break;
    c->head = (c->head + n) % TCP_WND;
    c->len -= n;
    tcp_recved(pcb, n);
    tcp_bytes += n;
  }
  tcp_output(pcb);
}

static void tcp_finish(struct tcp_pcb *pcb, struct conn *c) {
  c->head = c->len = 0;
  c->used = c->closing = 0;
  tcp_arg(pcb, 0);
  tcp_recv(pcb, 0);
  tcp_sent(pcb, 0);
  tcp_err(pcb, 0);
  if (tcp_close(pcb) != ERR_OK)
    tcp_abort(pcb);
}

static err_t tcp_got(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  struct conn *c = arg;
  if (!p) {
    c->closing = 1;
    c->progress_at = sys_time_ns();
    if (!c->len)
      tcp_finish(pcb, c); /* the peer is done and so are we */
    return ERR_OK;
  }
  if (p->tot_len > TCP_WND - c->len)
    return ERR_MEM; /* more than the window said: lwIP keeps it and offers it again */
  u32 tail = (c->head + c->len) % TCP_WND, first = TCP_WND - tail < p->tot_len ? TCP_WND - tail : p->tot_len;
  pbuf_copy_partial(p, ring_of(c) + tail, (u16_t)first, 0);
  if (first < p->tot_len)
    pbuf_copy_partial(p, ring_of(c), (u16_t)(p->tot_len - first), (u16_t)first);
  c->len += p->tot_len;
  pbuf_free(p);
  tcp_drain(pcb, c);
  return ERR_OK;
}

static err_t tcp_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len) {
  struct conn *c = arg;
  (void)len;
  c->progress_at = sys_time_ns();
  tcp_drain(pcb, c);
  if (c->closing && !c->len)
    tcp_finish(pcb, c);
  return ERR_OK;
}

static void echo_error(void *arg, err_t err) {
  struct conn *c = arg;
  if (c)
    c->head = c->len = 0, c->used = c->closing = 0; /* lwIP freed the pcb */
}

/* Resets the connections whose peer closed and stopped reading (see LINGER_NS). */
static void reset_lingering(u64 now) {
  for (unsigned i = 0; i < CONNS; i++) {
    struct conn *c = &conns[i];
    if (c->used && c->closing && c->len && now - c->progress_at > LINGER_NS) {
      tcp_linger_reset++;
      tcp_abort(c->pcb); /* echo_error frees the slot */
    }
  }
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  struct conn *c = 0;
  for (unsigned i = 0; i < CONNS && !c; i++)
    if (!conns[i].used)
      c = &conns[i];
  if (err != ERR_OK || !pcb || !c) {
    tcp_refused++;
    return ERR_MEM;
  }
  c->used = 1;
  c->head = c->len = 0;
  c->pcb = pcb;
  tcp_conns++;
  tcp_arg(pcb, c);
  tcp_recv(pcb, tcp_got);
  tcp_sent(pcb, tcp_sent_cb);
  tcp_err(pcb, echo_error);
  return ERR_OK;
}

int main(u64 arg) {
  port = arg ? (u16)arg : 7;
  u64 filter = NET_FILTER(NET_PROTO_ANY, port) | NET_F_ARP | (arg ? 0 : NET_F_DEFAULT);
  struct env env = env_of_program(16);
  struct k_ipc_buffer *buf;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = netdev_open_sized(&dev, &env, buf, NETD_EP, filter, RX_FRAMES, NET_DONATION_MAX_BITS);
  void *ring_pages = 0;
  if (!err)
    err = lwip_port_heap_init(&env);
  if (!err && !(err = env_alloc_pages(&env, (CONNS * TCP_WND + K_PAGE_SIZE - 1) / K_PAGE_SIZE, &ring_pages)))
    rings = ring_pages;
  if (err) {
    printf("netecho: cannot open a netd session: %s\n", err_name(err));
    return 1;
  }
  lwip_init();
  ip4_addr_t ip, mask, gw;
  ip4addr_aton(GUEST_IP, &ip);
  ip4addr_aton("255.255.255.0", &mask);
  ip4addr_aton(GATEWAY, &gw);
  netif_add(&netif, &ip, &mask, &gw, &dev, netif_netd_init, ethernet_input);
  netif_set_default(&netif);
  netif_set_up(&netif);
  struct udp_pcb *u = udp_new();
  struct tcp_pcb *t = tcp_new();
  if (!u || !t || udp_bind(u, IP_ADDR_ANY, port) != ERR_OK || tcp_bind(t, IP_ADDR_ANY, port) != ERR_OK ||
      !(t = tcp_listen(t))) {
    printf("netecho: cannot listen on port %u\n", port);
    return 1;
  }
  udp_recv(u, udp_echo, 0);
  tcp_accept(t, echo_accept);
  printf("netecho: listening on %s port %u (UDP and TCP echo)%s\n", GUEST_IP, port,
         arg ? "" : ", answering ARP and ping");
  u64 next_stats = sys_time_ns() + STATS_EVERY_NS;
  for (;;) {
    u64 t_before = sys_time_ns(), idle_before = sys_idle_ns();
    long n = netif_netd_poll(&netif, 100);
    account(n, t_before, idle_before);
    if (n < 0)
      printf("netecho: receive failed: %s\n", err_name(n));
    sys_check_timeouts();
    netif_netd_flush(&netif);
    u64 now = sys_time_ns();
    reset_lingering(now);
    if (now >= next_stats) {
      next_stats = now + STATS_EVERY_NS;
      struct net_stats st;
      const struct net_counters *mine = &st.mine, *all = &st.all;
      u64 spare = 0, on_device = 0, queued = 0, in_rings = 0, open = 0;
      for (unsigned i = 0; i < CONNS; i++)
        if (conns[i].used)
          open++, in_rings += conns[i].len;
      struct netif_netd_counters nc;
      netif_netd_counters(&nc);
      netdev_info(&dev, &spare, &on_device, &queued);
      if (!netdev_stats(&dev, &st))
        printf("netecho:%u udp %llu echoed, tcp %llu bytes in %llu connections; session: %llu rx (%llu inline, "
               "%llu own frame, %llu copied into a spare), dropped %llu no spare, %llu queue full; netd: %llu frames, "
               "%llu malformed, %llu for nobody, %llu KiB own memory, %llu us of its time for this session; "
               "frames: %llu held by lwIP, %llu spare in netd, %llu on the device, %llu packets queued; "
               "tails kept by lwIP moved to its heap %llu (%llu could not be), copied at input %llu, dropped %llu; "
               "%llu connections open, %llu bytes in their rings, %llu refused, %lu invalid ACKs unanswered, "
               "%llu reset as their peer closed and stopped reading\n",
               port, udp_echoed, tcp_bytes, tcp_conns, mine->rx_packets, mine->rx_inline, mine->rx_own_frame,
               mine->rx_copied, mine->drop_no_spare, mine->drop_queue_full, all->rx_frames, all->malformed,
               all->no_session, st.netd_bytes >> 10, mine->netd_ns / 1000, nc.pages_held, spare, on_device, queued, nc.detached, nc.detach_failed, nc.copied, nc.dropped, open,
               in_rings, tcp_refused, lwip_port_invalid_acks_unanswered(), tcp_linger_reset);
    }
  }
}
