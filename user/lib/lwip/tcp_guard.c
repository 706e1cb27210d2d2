/* Answers to invalid ACKs, at most one per connection every 500 ms (what
 * Linux does with tcp_invalid_ratelimit; RFC 5961 section 7 asks the same
 * of challenge ACKs). lwIP answers every segment outside its receive
 * window, and every one acknowledging data it never sent, with an ACK, as
 * RFC 793 says. When the peer does the same, two ends that disagree about
 * a connection trade ACKs as fast as they can: an ACK storm. The soak saw
 * one with QEMU's user network, which reused a host port for a new
 * connection while netecho still had the old one (a host reset it never
 * passed on): 118,000 packets a second, filling netecho's queue at netd so
 * that every other connection's packets were dropped. */
#include <lwip/opt.h>
#include <lwip/tcp.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/sys.h>
#include "lwip_port_hooks.h"

#define ANSWER_EVERY_MS 500

static u8_t guard_id;
static int guard_ready;
static unsigned long unanswered;

unsigned long lwip_port_invalid_acks_unanswered(void) { return unanswered; }

err_t lwip_port_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len, u8_t *opt2,
                             struct pbuf *p) {
  (void)optlen, (void)opt1len, (void)opt2;
  if (!guard_ready) /* the first segment for a connection: lwIP is up */
    guard_id = tcp_ext_arg_alloc_id(), guard_ready = 1;
  if (pcb->state == LISTEN || pcb->state == SYN_SENT || pcb->state == SYN_RCVD || pcb->state == CLOSED)
    return ERR_OK;
  u8_t flags = TCPH_FLAGS(hdr);
  if (!(flags & TCP_ACK) || (flags & ~(TCP_ACK | TCP_PSH)) || p->tot_len)
    return ERR_OK; /* only a bare ACK can start the loop; data, SYN, FIN and RST take lwIP's own path */
  u32_t seq = hdr->seqno, ack = hdr->ackno; /* tcp_input put them in host order */
  int in_window = pcb->rcv_wnd ? TCP_SEQ_BETWEEN(seq, pcb->rcv_nxt, pcb->rcv_nxt + pcb->rcv_wnd - 1) : seq == pcb->rcv_nxt;
  if (in_window && !TCP_SEQ_GT(ack, pcb->snd_nxt))
    return ERR_OK;
  u32_t now = sys_now() | 1; /* 0 means never */
  u32_t last = (u32_t)(uintptr_t)tcp_ext_arg_get(pcb, guard_id);
  if (last && now - last < ANSWER_EVERY_MS) {
    unanswered++;
    return ERR_ABRT; /* dropped: no answer this time */
  }
  tcp_ext_arg_set(pcb, guard_id, (void *)(uintptr_t)now);
  return ERR_OK;
}
