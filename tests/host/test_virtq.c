/* Host unit tests of the virtqueue rings, with the test playing the device. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <virtq.h>

static u8 page[4096] __attribute__((aligned(4096)));
static struct virtq q;

static int setup(void **state) {
  (void)state;
  memset(page, 0xee, sizeof(page));
  virtq_init(&q, page, 0x123000);
  return 0;
}

/* The device completes the chain at avail position i, writing `len` bytes. */
static void device_complete(u16 avail_pos, u32 len) {
  u16 head = q.avail->ring[avail_pos % VIRTQ_SIZE];
  q.used->ring[q.used->idx % VIRTQ_SIZE] = (struct virtq_used_elem){head, len};
  q.used->idx++;
}

static void chains_are_posted_and_harvested(void **state) {
  (void)state;
  struct virtq_buf req[3] = {{0x1000, 16, 0}, {0x2000, 4096, 1}, {0x3000, 1, 1}};
  int h = virtq_add(&q, req, 3);
  assert_true(h >= 0);
  assert_int_equal(q.avail->idx, 1);
  assert_int_equal(q.num_free, VIRTQ_SIZE - 3);
  const struct virtq_desc *d = &q.desc[h];
  assert_int_equal(d->addr, 0x1000);
  assert_int_equal(d->flags, VIRTQ_DESC_F_NEXT);
  d = &q.desc[d->next];
  assert_int_equal(d->flags, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
  d = &q.desc[d->next];
  assert_int_equal(d->flags, VIRTQ_DESC_F_WRITE);
  u32 len;
  assert_int_equal(virtq_get(&q, &len), -1); /* nothing used yet */
  device_complete(0, 4097);
  assert_int_equal(virtq_get(&q, &len), h);
  assert_int_equal(len, 4097);
  assert_int_equal(q.num_free, VIRTQ_SIZE);
}

static void a_full_queue_refuses_and_recovers(void **state) {
  (void)state;
  struct virtq_buf two[2] = {{0x1000, 16, 0}, {0x2000, 1, 1}};
  int heads[VIRTQ_SIZE / 2];
  for (int i = 0; i < VIRTQ_SIZE / 2; i++)
    assert_true((heads[i] = virtq_add(&q, two, 2)) >= 0);
  assert_int_equal(virtq_add(&q, two, 1), -1);
  assert_int_equal(virtq_add(&q, two, 0), -1);
  for (int round = 0; round < 1000; round++) { /* wrap the 16-bit indices */
    u16 pos = (u16)(q.avail->idx - VIRTQ_SIZE / 2);
    device_complete(pos, 1);
    u32 len;
    int h = virtq_get(&q, &len);
    assert_true(h >= 0);
    assert_true(virtq_add(&q, two, 2) >= 0);
  }
}

static void a_confused_device_is_refused(void **state) {
  (void)state;
  struct virtq_buf one = {0x1000, 16, 0};
  int h = virtq_add(&q, &one, 1);
  u32 len;
  q.used->ring[0] = (struct virtq_used_elem){VIRTQ_SIZE + 5, 0}; /* out of range */
  q.used->idx++;
  assert_int_equal(virtq_get(&q, &len), -2);
  q.used->ring[1] = (struct virtq_used_elem){(u32)(h + 1), 0}; /* never posted */
  q.used->idx++;
  assert_int_equal(virtq_get(&q, &len), -2);
  q.used->ring[2] = (struct virtq_used_elem){(u32)h, 0};
  q.used->idx++;
  assert_int_equal(virtq_get(&q, &len), h);
  q.used->ring[3] = (struct virtq_used_elem){(u32)h, 0}; /* the same head twice */
  q.used->idx++;
  assert_int_equal(virtq_get(&q, &len), -2);
  assert_int_equal(q.num_free, VIRTQ_SIZE);
}

static void an_indirect_request_takes_one_entry(void **state) {
  (void)state;
  static struct virtq_desc table[10];
  struct virtq_buf bufs[10];
  for (int i = 0; i < 10; i++)
    bufs[i] = (struct virtq_buf){0x1000ull * (u64)(i + 1), 512, i > 0};
  int h = virtq_add_indirect(&q, table, 0x77000, bufs, 10);
  assert_true(h >= 0);
  assert_int_equal(q.num_free, VIRTQ_SIZE - 1);
  assert_int_equal(q.desc[h].flags, VIRTQ_DESC_F_INDIRECT);
  assert_int_equal(q.desc[h].addr, 0x77000);
  assert_int_equal(q.desc[h].len, 10 * sizeof(struct virtq_desc));
  assert_int_equal(table[0].flags, VIRTQ_DESC_F_NEXT);
  assert_int_equal(table[0].next, 1);
  assert_int_equal(table[9].flags, VIRTQ_DESC_F_WRITE);
  device_complete(0, 4608);
  u32 len;
  assert_int_equal(virtq_get(&q, &len), h);
  assert_int_equal(q.num_free, VIRTQ_SIZE);
  for (int i = 0; i < VIRTQ_SIZE; i++) /* a full ring of them, then no more */
    assert_true(virtq_add_indirect(&q, table, 0x77000, bufs, 3) >= 0);
  assert_int_equal(virtq_add_indirect(&q, table, 0x77000, bufs, 3), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(chains_are_posted_and_harvested, setup),
      cmocka_unit_test_setup(a_full_queue_refuses_and_recovers, setup),
      cmocka_unit_test_setup(a_confused_device_is_refused, setup),
      cmocka_unit_test_setup(an_indirect_request_takes_one_entry, setup),
  };
  return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
