/* Host unit tests of netd's packet classification (user/netd/classify.c):
 * what it reads of a frame it may not trust. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "user/netd/classify.h"

static u8 f[1600];

/* Ethernet + IPv4 (IHL 5) + a UDP or TCP header to `port`. */
static u32 ipv4(u8 proto, u16 port, u32 payload) {
  memset(f, 0, sizeof f);
  f[12] = 0x08, f[13] = 0x00;
  u32 l4 = proto == 17 ? 8 : 20, total = 20 + l4 + payload;
  u8 *ip = f + 14;
  ip[0] = 0x45, ip[2] = (u8)(total >> 8), ip[3] = (u8)total, ip[9] = proto;
  ip[22] = (u8)(port >> 8), ip[23] = (u8)port;
  return 14 + total;
}

static void ports_of_udp_and_tcp(void **state) {
  (void)state;
  u32 len = ipv4(17, 7, 100);
  struct pkt_info p = classify(f, 112, len);
  assert_int_equal(p.cls, PKT_PORT);
  assert_int_equal(p.proto, 17);
  assert_int_equal(p.port, 7);
  len = ipv4(6, 8080, 0);
  p = classify(f, len, len);
  assert_int_equal(p.cls, PKT_PORT);
  assert_int_equal(p.proto, 6);
  assert_int_equal(p.port, 8080);
}

static void arp_and_others(void **state) {
  (void)state;
  memset(f, 0, sizeof f);
  f[12] = 0x08, f[13] = 0x06;
  assert_int_equal(classify(f, 42, 42).cls, PKT_ARP);
  assert_int_equal(classify(f, 30, 30).cls, PKT_MALFORMED); /* too short for ARP */
  f[12] = 0x86, f[13] = 0xdd; /* IPv6: well-formed Ethernet, not ours to read */
  assert_int_equal(classify(f, 60, 60).cls, PKT_OTHER);
  u32 len = ipv4(1, 0, 56); /* ICMP */
  assert_int_equal(classify(f, len, len).cls, PKT_OTHER);
}

static void broken_headers_are_malformed(void **state) {
  (void)state;
  assert_int_equal(classify(f, 13, 13).cls, PKT_MALFORMED); /* runt */
  assert_int_equal(classify(f, 0, 0).cls, PKT_MALFORMED);
  u32 len = ipv4(17, 7, 10);
  assert_int_equal(classify(f, 60, 40).cls, PKT_MALFORMED); /* head longer than the frame */
  f[14] = 0x65; /* version 6 in an IPv4 frame */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
  f[14] = 0x44; /* IHL 4 */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
  len = ipv4(17, 7, 10);
  f[16] = 0x05, f[17] = 0xdc; /* total length 1500 in a short frame */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
  len = ipv4(17, 7, 10);
  f[16] = 0, f[17] = 10; /* total length below the header */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
  len = ipv4(6, 7, 0);
  f[16] = 0, f[17] = 30; /* room for IP but not for TCP */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
  len = ipv4(17, 7, 10);
  f[14] = 0x4f; /* IHL 15: 60 bytes of header, past the frame */
  assert_int_equal(classify(f, len, len).cls, PKT_MALFORMED);
}

static void fragments_and_far_ports_go_to_the_default(void **state) {
  (void)state;
  u32 len = ipv4(17, 7, 500);
  f[20] = 0x00, f[21] = 0x10; /* fragment offset 16: no UDP header here */
  assert_int_equal(classify(f, 112, len).cls, PKT_OTHER);
  len = ipv4(17, 7, 500);
  f[14] = 0x4f; /* 40 bytes of options: the ports are beyond a 70-byte head */
  assert_int_equal(classify(f, 70, len).cls, PKT_OTHER);
}

/* Random frames and random heads: never out of bounds (ASan watches). */
static void random_frames(void **state) {
  (void)state;
  srand(7);
  for (int i = 0; i < 200000; i++) {
    u32 len = (u32)rand() % 1600, head = len < 112 ? len : 112;
    u8 *h = malloc(head ? head : 1);
    for (u32 b = 0; b < head; b++)
      h[b] = (u8)rand();
    if (i % 3 == 0 && head >= 15)
      h[12] = 0x08, h[13] = 0x00, h[14] = (u8)(0x40 | (rand() % 16));
    struct pkt_info p = classify(h, head, len);
    assert_true(p.cls <= PKT_OTHER);
    free(h);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ports_of_udp_and_tcp),
      cmocka_unit_test(arp_and_others),
      cmocka_unit_test(broken_headers_are_malformed),
      cmocka_unit_test(fragments_and_far_ports_go_to_the_default),
      cmocka_unit_test(random_frames),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
