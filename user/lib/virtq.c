/* Split virtqueue rings (see virtq.h). */
#include <virtq.h>

_Static_assert(sizeof(struct virtq_desc) * VIRTQ_SIZE <= VIRTQ_AVAIL_OFF, "desc fits");
_Static_assert(VIRTQ_AVAIL_OFF + sizeof(struct virtq_avail) <= VIRTQ_USED_OFF, "avail fits");
_Static_assert(VIRTQ_USED_OFF + sizeof(struct virtq_used) <= 4096, "used fits");
_Static_assert(VIRTQ_SIZE % 64 == 0, "posted is a set of 64-bit words");

static void barrier(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

void virtq_init(struct virtq *q, void *page, u64 phys) {
  u8 *p = page;
  q->desc = (struct virtq_desc *)(p + VIRTQ_DESC_OFF);
  q->avail = (struct virtq_avail *)(p + VIRTQ_AVAIL_OFF);
  q->used = (struct virtq_used *)(p + VIRTQ_USED_OFF);
  q->phys = phys;
  for (u16 i = 0; i < VIRTQ_SIZE; i++) {
    q->desc[i] = (struct virtq_desc){0, 0, 0, (u16)(i + 1)};
  }
  q->avail->flags = q->avail->idx = 0;
  q->used->flags = q->used->idx = 0;
  q->free_head = 0;
  q->num_free = VIRTQ_SIZE;
  q->last_used = 0;
  for (unsigned w = 0; w < VIRTQ_SIZE / 64; w++)
    q->posted[w] = 0;
}

static void fill(struct virtq_desc *d, const struct virtq_buf *b, int last, u16 next) {
  d->addr = b->addr;
  d->len = b->len;
  d->flags = (u16)((last ? 0 : VIRTQ_DESC_F_NEXT) | (b->device_writes ? VIRTQ_DESC_F_WRITE : 0));
  d->next = next;
}

static void publish(struct virtq *q, u16 head) {
  q->posted[head / 64] |= 1ull << (head % 64);
  q->avail->ring[q->avail->idx % VIRTQ_SIZE] = head;
  barrier(); /* the descriptors before the index the device reads */
  q->avail->idx++;
  barrier();
}

int virtq_add_indirect(struct virtq *q, struct virtq_desc *table, u64 table_phys, const struct virtq_buf *bufs,
                       unsigned n) {
  if (n == 0 || q->num_free == 0)
    return -1;
  for (unsigned i = 0; i < n; i++)
    fill(&table[i], &bufs[i], i + 1 == n, (u16)(i + 1));
  u16 head = q->free_head;
  struct virtq_desc *d = &q->desc[head];
  q->free_head = d->next;
  q->num_free--;
  d->addr = table_phys;
  d->len = n * (u32)sizeof(struct virtq_desc);
  d->flags = VIRTQ_DESC_F_INDIRECT;
  publish(q, head);
  return head;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n) {
  if (n == 0 || n > q->num_free)
    return -1;
  u16 head = q->free_head, d = head;
  for (unsigned i = 0; i < n; i++) {
    u16 next = q->desc[d].next;
    fill(&q->desc[d], &bufs[i], i + 1 == n, next);
    if (i + 1 < n)
      d = next;
  }
  q->free_head = q->desc[d].next;
  q->num_free = (u16)(q->num_free - n);
  publish(q, head);
  return head;
}

/* Returns a chain to the free list; -1 if it is not a well-formed chain. */
static int free_chain(struct virtq *q, u16 head) {
  u16 d = head, n = 1;
  while (q->desc[d].flags & VIRTQ_DESC_F_NEXT) {
    d = q->desc[d].next;
    if (d >= VIRTQ_SIZE || ++n > VIRTQ_SIZE - q->num_free)
      return -1;
  }
  q->desc[d].next = q->free_head;
  q->desc[d].flags = 0;
  q->free_head = head;
  q->num_free = (u16)(q->num_free + n);
  return 0;
}

int virtq_get(struct virtq *q, u32 *len) {
  barrier();
  if (q->last_used == *(volatile u16 *)&q->used->idx)
    return -1;
  struct virtq_used_elem e = q->used->ring[q->last_used % VIRTQ_SIZE];
  q->last_used++;
  if (e.id >= VIRTQ_SIZE || !(q->posted[e.id / 64] & (1ull << (e.id % 64))) || free_chain(q, (u16)e.id))
    return -2; /* a confused device: refuse, do not trust its index */
  q->posted[e.id / 64] &= ~(1ull << (e.id % 64));
  *len = e.len;
  return (int)e.id;
}

int virtq_kick_needed(const struct virtq *q) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the new avail index before the device's flags */
  return !(*(volatile u16 *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}
