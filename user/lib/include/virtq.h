/* A virtio split virtqueue in driver memory (virtio 1.x, section 2.7).
 *
 * The queue lives in one 4 KiB page of the driver's own memory: descriptor
 * table, driver (avail) ring and device (used) ring. This code only manages
 * the rings; the caller supplies the page's virtual and physical addresses
 * and notifies the device. It runs on the host in unit tests. */
#ifndef USER_VIRTQ_H
#define USER_VIRTQ_H

#include <lib/types.h>

#define VIRTQ_SIZE 128
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTQ_USED_F_NO_NOTIFY 1 /* the device: no need to notify me now */

struct virtq_desc {
  u64 addr;
  u32 len;
  u16 flags;
  u16 next;
};

struct virtq_avail {
  u16 flags;
  u16 idx;
  u16 ring[VIRTQ_SIZE];
  u16 used_event;
};

struct virtq_used_elem {
  u32 id;
  u32 len;
};

struct virtq_used {
  u16 flags;
  u16 idx;
  struct virtq_used_elem ring[VIRTQ_SIZE];
  u16 avail_event;
};

/* Layout inside the page. */
#define VIRTQ_DESC_OFF 0
#define VIRTQ_AVAIL_OFF 2048
#define VIRTQ_USED_OFF 2560

struct virtq {
  struct virtq_desc *desc;
  struct virtq_avail *avail;
  struct virtq_used *used;
  u64 phys;          /* physical address of the page */
  u16 free_head;     /* chain of free descriptors */
  u16 num_free;
  u16 last_used;     /* next used entry to harvest */
  u64 posted[VIRTQ_SIZE / 64]; /* bit h: a chain with head h is with the device */
};

struct virtq_buf {
  u64 addr; /* physical */
  u32 len;
  int device_writes;
};

void virtq_init(struct virtq *q, void *page, u64 phys);
/* Posts a chain of n buffers; returns its head descriptor, or -1 when the
 * queue has fewer than n free descriptors (nothing is posted then). */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n);
/* Posts one descriptor that points at an indirect table of n descriptors
 * (in driver memory at `table`, physical address `table_phys`), filled from
 * bufs: a request of any number of segments takes one ring entry. Returns
 * the head, or -1 when the ring is full. */
int virtq_add_indirect(struct virtq *q, struct virtq_desc *table, u64 table_phys, const struct virtq_buf *bufs,
                       unsigned n);
/* The next completed chain: returns its head (and the bytes written in
 * *len) and frees its descriptors, or -1 when there is none. A head the
 * device reports that is out of range or not posted is refused (-2). */
int virtq_get(struct virtq *q, u32 *len);
/* After posting: whether the device wants to be told (it says it does not
 * while it is still taking buffers from the ring, virtio 1.x 2.7.7). */
int virtq_kick_needed(const struct virtq *q);

#endif
