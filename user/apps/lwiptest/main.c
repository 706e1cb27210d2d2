/* lwiptest: lwIP, built from Debian's source package with our port layer,
 * running inside an application on this kernel: UDP and TCP echo over
 * lwIP's loopback interface, checked byte for byte. The network stack of
 * netd's clients will be this same library. */
#include <ulib.h>
#include <abi/bootinfo.h>
#include <lib/string.h>
#include <env.h>
#include <lwip_port.h>
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#define ECHO_PORT 7
#define STREAM_BYTES (256 * 1024)

static int passed, failed;

static void check(int ok, const char *what) {
  printf("lwiptest: %s %s\n", ok ? "ok  " : "FAIL", what);
  ok ? passed++ : failed++;
}

/* Runs lwIP until done() holds or the deadline passes. */
static int run_until(int (*done)(void), u64 ms) {
  u64 end = sys_time_ns() + ms * 1000000ull;
  while (!done() && sys_time_ns() < end) {
    netif_poll_all();
    sys_check_timeouts();
  }
  return done();
}

/* ---- UDP ---- */

static char udp_got[1500];
static int udp_len = -1;

static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port) {
  (void)arg;
  udp_sendto(pcb, p, addr, port);
  pbuf_free(p);
}

static void udp_answer(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port) {
  (void)arg, (void)pcb, (void)addr, (void)port;
  udp_len = (int)pbuf_copy_partial(p, udp_got, sizeof(udp_got), 0);
  pbuf_free(p);
}

static int udp_done(void) { return udp_len >= 0; }

static void test_udp(void) {
  ip_addr_t lo;
  IP4_ADDR(&lo, 127, 0, 0, 1);
  struct udp_pcb *server = udp_new(), *client = udp_new();
  int ok = server && client && udp_bind(server, IP_ADDR_ANY, ECHO_PORT) == ERR_OK &&
           udp_bind(client, IP_ADDR_ANY, 4000) == ERR_OK;
  udp_recv(server, udp_echo, 0);
  udp_recv(client, udp_answer, 0);
  static char want[1472];
  for (int size = 1; ok && size <= 1472; size = size * 3 + 1) {
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)size, PBUF_RAM);
    for (int i = 0; i < size; i++)
      want[i] = (char)(i * 7 + size);
    pbuf_take(p, want, (u16_t)size);
    udp_len = -1;
    err_t e = udp_sendto(client, p, &lo, ECHO_PORT);
    pbuf_free(p);
    ok = e == ERR_OK && run_until(udp_done, 2000) && udp_len == size && !memcmp(udp_got, want, (unsigned long)size);
    if (!ok)
      printf("lwiptest:   %d bytes: send %d, got %d\n", size, e, udp_len);
  }
  check(ok, "UDP echo over lwIP's loopback, 1 to 1472 bytes");
}

/* ---- TCP ---- */

static u64 sent, echoed, mismatches;

static u8 byte_at(u64 i) { return (u8)(i * 131 + (i >> 8)); }

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)arg, (void)err;
  if (!p)
    return tcp_close(pcb);
  for (struct pbuf *q = p; q; q = q->next)
    tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY);
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  tcp_output(pcb);
  return ERR_OK;
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)arg, (void)err;
  tcp_recv(pcb, server_recv);
  return ERR_OK;
}

static err_t client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  (void)arg, (void)err;
  if (!p)
    return ERR_OK;
  for (struct pbuf *q = p; q; q = q->next)
    for (u16_t i = 0; i < q->len; i++)
      mismatches += ((u8 *)q->payload)[i] != byte_at(echoed++);
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

static void push(struct tcp_pcb *pcb) {
  static u8 chunk[1024];
  while (sent < STREAM_BYTES && tcp_sndbuf(pcb) >= sizeof(chunk)) {
    for (unsigned i = 0; i < sizeof(chunk); i++)
      chunk[i] = byte_at(sent + i);
    if (tcp_write(pcb, chunk, sizeof(chunk), TCP_WRITE_FLAG_COPY) != ERR_OK)
      break;
    sent += sizeof(chunk);
  }
  tcp_output(pcb);
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)arg, (void)len;
  push(pcb);
  return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK)
    return err;
  tcp_recv(pcb, client_recv);
  tcp_sent(pcb, client_sent);
  push(pcb);
  return ERR_OK;
}

static int tcp_done(void) { return echoed >= STREAM_BYTES; }

static void test_tcp(void) {
  ip_addr_t lo;
  IP4_ADDR(&lo, 127, 0, 0, 1);
  struct tcp_pcb *l = tcp_new();
  int ok = l && tcp_bind(l, IP_ADDR_ANY, ECHO_PORT) == ERR_OK;
  if (ok) {
    l = tcp_listen(l);
    tcp_accept(l, server_accept);
  }
  struct tcp_pcb *c = tcp_new();
  ok = ok && c && tcp_connect(c, &lo, ECHO_PORT, client_connected) == ERR_OK;
  u64 t0 = sys_time_ns();
  ok = ok && run_until(tcp_done, 20000) && mismatches == 0;
  u64 ms = (sys_time_ns() - t0) / 1000000;
  printf("lwiptest:   %llu bytes echoed in %llu ms, %llu wrong\n", echoed, ms, mismatches);
  check(ok, "TCP echo of a 256 KiB stream over lwIP's loopback");
}

int main(void) {
  struct env env = env_of_program(16);
  check(lwip_port_heap_init(&env) == K_ERR_OK, "lwIP's heap mapped from the application's memory");
  lwip_init();
  check(netif_list != 0, "lwIP starts, with its loopback interface");
  test_udp();
  test_tcp();
  printf("lwiptest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  exit(failed);
}
