/* lwIP over netd (see netif_netd.h). */
#include "lwip/opt.h"
#include "lwip/pbuf.h"
#include "lwip/etharp.h"
#include "netif/ethernet.h"
#include <netif_netd.h>
#include <lib/string.h>

#define RX_PAGE_SIZE 4096u

static u64 stack_tsc; /* TSC cycles spent in lwIP's input (and the sends it makes) */

static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (u64)hi << 32 | lo;
}

u64 netif_netd_stack_tsc(void) { return stack_tsc; }

/* One custom pbuf per receive page: a page holds one packet's tail. */
struct rx_pbuf {
  struct pbuf_custom pc;
  struct netdev *d;
  int page;
};
static struct rx_pbuf rx_pbufs[NET_POOL];

static void rx_free(struct pbuf *p) {
  struct rx_pbuf *r = (struct rx_pbuf *)p;
  netdev_page_free(r->d, r->page);
}

static int rx_page_of(const struct pbuf *q) {
  if (!(q->flags & PBUF_FLAG_IS_CUSTOM) || ((const struct pbuf_custom *)q)->custom_free_function != rx_free)
    return -1;
  return ((const struct rx_pbuf *)q)->page;
}

static err_t linkoutput(struct netif *netif, struct pbuf *p) {
  struct netdev *d = netif->state;
  unsigned segs = 0;
  int prev_copy = 0;
  for (struct pbuf *q = p; q; q = q->next) {
    if (!q->len)
      continue;
    int page = rx_page_of(q);
    segs += page >= 0 || !prev_copy;
    prev_copy = page < 0;
  }
  int copy_all = segs > NET_PKT_SEGS;
  if (netdev_tx_reserve(d, copy_all ? 1 : segs))
    return ERR_IF;
  for (struct pbuf *q = p; q; q = q->next) {
    if (!q->len)
      continue;
    int page = copy_all ? -1 : rx_page_of(q);
    long err = page >= 0 ? netdev_tx_page(d, page, (u32)((u64)q->payload & (RX_PAGE_SIZE - 1)), q->len)
                         : netdev_tx_copy(d, q->payload, q->len);
    if (err)
      return ERR_IF;
  }
  return netdev_tx_end(d) ? ERR_IF : ERR_OK;
}

err_t netif_netd_init(struct netif *netif) {
  struct netdev *d = netif->state;
  netif->name[0] = 'n';
  netif->name[1] = 'd';
  netif->output = etharp_output;
  netif->linkoutput = linkoutput;
  netif->mtu = 1500;
  netif->hwaddr_len = 6;
  memcpy(netif->hwaddr, d->mac, 6);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

struct input_ctx {
  struct netif *netif;
  struct netdev *d;
};

static void input(void *ctx, const struct netdev_pkt *pkt) {
  struct input_ctx *c = ctx;
  struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)pkt->head_len, PBUF_RAM);
  if (!p) {
    netdev_page_free(c->d, pkt->page);
    return;
  }
  memcpy(p->payload, pkt->head, pkt->head_len);
  if (pkt->page >= 0) {
    struct rx_pbuf *r = &rx_pbufs[pkt->page];
    r->pc.custom_free_function = rx_free;
    r->d = c->d;
    r->page = pkt->page;
    struct pbuf *t = pbuf_alloced_custom(PBUF_RAW, (u16_t)(pkt->len - pkt->head_len), PBUF_REF, &r->pc,
                                         pkt->tail, RX_PAGE_SIZE);
    if (!t) {
      pbuf_free(p);
      netdev_page_free(c->d, pkt->page);
      return;
    }
    pbuf_cat(p, t);
  }
  u64 t0 = rdtsc();
  if (c->netif->input(p, c->netif) != ERR_OK)
    pbuf_free(p);
  stack_tsc += rdtsc() - t0;
}

#define RX_ROUNDS 8 /* receives gathered before what they caused is sent */

long netif_netd_poll(struct netif *netif, u32_t timeout_ms) {
  struct input_ctx c = {netif, netif->state};
  long n = netdev_poll(c.d, timeout_ms, input, &c), total = n;
  /* More already waiting: take it before sending, so that one transmit
   * request carries the answers to several receives. */
  for (int round = 1; n > 0 && c.d->queued && round < RX_ROUNDS; round++)
    total += (n = netdev_poll(c.d, 0, input, &c)) > 0 ? n : 0;
  netdev_tx_flush(c.d);
  return total;
}

long netif_netd_flush(struct netif *netif) { return netdev_tx_flush(netif->state); }
