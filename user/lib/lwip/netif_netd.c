/* lwIP over netd (see netif_netd.h). */
#include "lwip/opt.h"
#include "lwip/pbuf.h"
#include "lwip/etharp.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
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

/* A received tail is a custom pbuf over its page while lwIP only looks at
 * it; a pbuf lwIP still holds once input() returns (queued out of order,
 * kept by the application) is detached: its bytes are copied into lwIP's
 * heap and the page goes back to netd at once. So frames are never held
 * longer than one packet's input, and what a connection holds is lwIP's
 * memory, bounded by its window. The records come from a pool of their own
 * (a detached one lives as long as lwIP holds it). */
struct rx_pbuf {
  struct pbuf_custom pc;
  struct netdev *d;
  int page;    /* -1 once detached */
  void *copy;  /* the detached bytes, in lwIP's heap */
};
#define RX_PBUFS 1024
LWIP_MEMPOOL_DECLARE(RX_PBUF, RX_PBUFS, sizeof(struct rx_pbuf), "rx_pbuf")
static int rx_pool_ready;
static unsigned pages_held; /* pages lwIP holds through an attached rx_pbuf */
static struct netif_netd_counters counters;

static void rx_free(struct pbuf *p) {
  struct rx_pbuf *r = (struct rx_pbuf *)p;
  if (r->page >= 0) {
    netdev_page_free(r->d, r->page);
    pages_held--;
  } else {
    mem_free(r->copy);
  }
  LWIP_MEMPOOL_FREE(RX_PBUF, r);
}

/* lwIP keeps r: its bytes move to the heap and its page is freed. */
static void detach(struct rx_pbuf *r) {
  struct pbuf *q = &r->pc.pbuf;
  void *copy = mem_malloc(q->len ? q->len : 1);
  if (!copy) {
    counters.detach_failed++; /* the page stays held until lwIP lets go */
    return;
  }
  memcpy(copy, q->payload, q->len);
  q->payload = copy;
  r->copy = copy;
  netdev_page_free(r->d, r->page);
  r->page = -1;
  pages_held--;
  counters.detached++;
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
  if (!rx_pool_ready) {
    LWIP_MEMPOOL_INIT(RX_PBUF);
    rx_pool_ready = 1;
  }
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
  u16_t tail_len = (u16_t)(pkt->len - pkt->head_len);
  struct rx_pbuf *r = 0;
  /* The tail stays in its page (zero copy) while records are left and the
   * stack holds fewer pages than all but the reserve; otherwise it is
   * copied now, so that netd always has frames to post. */
  if (pkt->page >= 0 && pages_held + NETIF_NETD_RX_RESERVE < c->d->frames)
    r = LWIP_MEMPOOL_ALLOC(RX_PBUF);
  struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(pkt->head_len + (pkt->page >= 0 && !r ? tail_len : 0)), PBUF_RAM);
  if (!p) {
    if (r)
      LWIP_MEMPOOL_FREE(RX_PBUF, r);
    netdev_page_free(c->d, pkt->page);
    counters.dropped++;
    return;
  }
  memcpy(p->payload, pkt->head, pkt->head_len);
  if (pkt->page >= 0 && !r) {
    memcpy((u8 *)p->payload + pkt->head_len, pkt->tail, tail_len);
    netdev_page_free(c->d, pkt->page);
    counters.copied++;
  } else if (r) {
    r->pc.custom_free_function = rx_free;
    r->d = c->d;
    r->page = pkt->page;
    r->copy = 0;
    pbuf_cat(p, pbuf_alloced_custom(PBUF_RAW, tail_len, PBUF_REF, &r->pc, pkt->tail, RX_PAGE_SIZE));
    pages_held++;
    pbuf_ref(&r->pc.pbuf); /* ours until input() is over: tells whether lwIP kept it */
  }
  u64 t0 = rdtsc();
  if (c->netif->input(p, c->netif) != ERR_OK)
    pbuf_free(p);
  stack_tsc += rdtsc() - t0;
  if (r) {
    if (r->pc.pbuf.ref > 1)
      detach(r);
    pbuf_free(&r->pc.pbuf); /* our reference: frees it if lwIP did not keep it */
  }
}

void netif_netd_counters(struct netif_netd_counters *out) {
  *out = counters;
  out->pages_held = pages_held;
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
