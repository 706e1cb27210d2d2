/* lwIP's hooks in our port (LWIP_HOOK_FILENAME): see tcp_guard.c. */
#ifndef LWIP_PORT_HOOKS_H
#define LWIP_PORT_HOOKS_H

struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
/* Drops (returns non-ERR_OK) a bare invalid ACK on a connection that had
 * one answered in the last 500 ms. */
err_t lwip_port_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len, u8_t *opt2,
                             struct pbuf *p);
/* Invalid ACKs dropped unanswered so far. */
unsigned long lwip_port_invalid_acks_unanswered(void);

#endif
