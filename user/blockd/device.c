/* blockd's devices: finding the disks, their queues and interrupts, and
 * posting and completing device requests (see blockd.h). */
#include "blockd.h"

#define VIRTIO_BLK_MODERN 0x1042
#define VIRTIO_BLK_TRANSITIONAL 0x1001
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define REGS_VA 0x0000300000000000ull

struct req_hdr {
  u32 type, reserved;
  u64 sector;
};

struct disk disks[BLK_MAX_DISKS];
unsigned ndisks;

static struct req_hdr *hdrs;    /* one per descriptor head, in blockd's page */
/* Each request's descriptors live in an indirect table of blockd's own,
 * one per ring entry: TABLES_PER_PAGE to a pinned page. */
#define TABLE_ENTRIES (BLK_CHAIN_FRAMES + 2)
#define TABLES_PER_PAGE (K_PAGE_SIZE / (TABLE_ENTRIES * sizeof(struct virtq_desc)))
static struct virtq_desc *tables[VIRTQ_SIZE];
static u64 tables_phys[VIRTQ_SIZE];
static volatile u8 *statuses;
static u64 hdrs_phys;
static cptr_t irq_ntfn;
static cptr_t irq_handler[16]; /* by line: 0 when not ours */

struct probe {
  struct virtio_env *ve;
};

static int found(const struct pci_dev *p, void *ctx) {
  struct probe *pr = ctx;
  if (p->vendor != VIRTIO_VENDOR || (p->device != VIRTIO_BLK_MODERN && p->device != VIRTIO_BLK_TRANSITIONAL))
    return 0;
  if (ndisks == BLK_MAX_DISKS)
    return 1;
  struct disk *d = &disks[ndisks];
  long err = virtio_attach(pr->ve, p, &d->dev);
  if (!err)
    err = virtio_negotiate(&d->dev, 1ull << VIRTIO_F_INDIRECT_DESC);
  if (!err)
    err = virtio_queue(pr->ve, &d->dev, 0, &d->q);
  if (err) {
    printf("blockd: virtio-blk at 00:%02x.%x not usable: %s\n", p->dev, p->fn, err_name(err));
    return 0;
  }
  virtio_ready(&d->dev);
  d->capacity = *(volatile u64 *)d->dev.device_cfg;
  d->irq = p->irq_line;
  printf("blockd: disk %u: virtio-blk %04x at 00:%02x.%x, %llu sectors, irq %u\n", ndisks, p->device,
         p->dev, p->fn, d->capacity, d->irq);
  ndisks++;
  return 0;
}

static long setup_irqs(void) {
  long err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &irq_ntfn);
  u32 claimed = 0;
  for (unsigned i = 0; !err && i < ndisks; i++) {
    u8 irq = disks[i].irq;
    if (claimed & (1u << irq))
      continue;
    cptr_t h = env_slot(&env);
    if ((err = sys_irq_get(K_BI_SLOT_IRQ_CONTROL, irq, env.cnode, h)) ||
        (err = sys_irq_set_notification(h, irq_ntfn, 1ull << irq)))
      break;
    claimed |= 1u << irq;
    irq_handler[irq & 15] = h;
  }
  return err;
}

static long setup_tables(void) {
  for (unsigned i = 0; i < VIRTQ_SIZE; i += TABLES_PER_PAGE) {
    u64 va, phys;
    long err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &phys);
    if (err)
      return err;
    for (unsigned k = 0; k < TABLES_PER_PAGE && i + k < VIRTQ_SIZE; k++) {
      u64 off = k * TABLE_ENTRIES * sizeof(struct virtq_desc);
      tables[i + k] = (struct virtq_desc *)(va + off);
      tables_phys[i + k] = phys + off;
    }
  }
  return K_ERR_OK;
}

long devices_setup(void) {
  struct virtio_env ve = {&env, K_BI_SLOT_IOPORTS, BLOCKD_DEVICE_UT, BLOCKD_DEVICE_UTS, K_BI_SLOT_DMA, REGS_VA};
  struct probe pr = {&ve};
  pci_scan(K_BI_SLOT_IOPORTS, found, &pr);
  if (!ndisks)
    return K_ERR_RANGE;
  u64 va;
  long err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &hdrs_phys);
  if (err)
    return err;
  hdrs = (struct req_hdr *)va;
  if ((err = setup_tables()))
    return err;
  statuses = (volatile u8 *)(va + VIRTQ_SIZE * sizeof(struct req_hdr));
  return setup_irqs();
}

/* Waits until the device has completed `n` chains on disk d; returns how
 * many of them reported an error (or were not ours to begin with). */
static unsigned complete(struct disk *d, unsigned n) {
  unsigned done = 0, errors = 0;
  for (;;) {
    u32 len;
    int head;
    while ((head = virtq_get(&d->q, &len)) != -1) {
      if (head == -2) { /* the device named a chain we did not post */
        errors++;
        continue;
      }
      errors += statuses[head] != 0;
      done++;
    }
    if (done >= n)
      return errors;
    u64 lines = sys_wait(irq_ntfn).badge;
    for (unsigned i = 0; i < ndisks; i++)
      (void)*disks[i].dev.isr; /* reading the ISR acknowledges the device */
    for (unsigned irq = 0; irq < 16; irq++)
      if ((lines & (1ull << irq)) && irq_handler[irq])
        sys_irq_ack(irq_handler[irq]);
  }
}

/* One device request for `n` frames: header, the frames (scatter-gather,
 * each straight from the client's page), status, in an indirect table so
 * that it takes one ring entry. */
static long post_chain(struct disk *d, int write, u64 sector, u64 count, const u64 *phys, unsigned n) {
  struct virtq_buf chain[BLK_CHAIN_FRAMES + 2];
  int head = d->q.free_head; /* the head descriptor indexes the header slot */
  hdrs[head] = (struct req_hdr){write ? BLK_T_OUT : BLK_T_IN, 0, sector};
  statuses[head] = 0xff;
  chain[0] = (struct virtq_buf){hdrs_phys + (u64)head * sizeof(struct req_hdr), sizeof(struct req_hdr), 0};
  for (unsigned i = 0; i < n; i++) {
    u64 left = count - (u64)i * BLK_SECTORS_PER_FRAME;
    u32 bytes = (u32)((left < BLK_SECTORS_PER_FRAME ? left : BLK_SECTORS_PER_FRAME) * BLK_SECTOR);
    chain[1 + i] = (struct virtq_buf){phys[i], bytes, !write};
  }
  chain[1 + n] = (struct virtq_buf){hdrs_phys + VIRTQ_SIZE * sizeof(struct req_hdr) + (u64)head, 1, 1};
  return virtq_add_indirect(&d->q, tables[head], tables_phys[head], chain, n + 2) == head ? K_ERR_OK : K_ERR_BAD_STATE;
}

/* The frames go out as device requests of up to BLK_CHAIN_FRAMES frames,
 * BLK_IN_FLIGHT of them at a time. A held request (BLK_HOLD) waits, its
 * first requests on the device, until the client signals `hold` or the
 * session's memory goes (the notification with it, which wakes blockd). */
unsigned run_io(struct disk *d, int write, u64 sector, u64 count, const u64 *phys, u64 n, cptr_t hold) {
  unsigned failed = 0;
  for (u64 i = 0; i < n;) {
    unsigned chains = 0;
    for (; i < n && chains < BLK_IN_FLIGHT; chains++) {
      u64 k = n - i < BLK_CHAIN_FRAMES ? n - i : BLK_CHAIN_FRAMES;
      if (post_chain(d, write, sector + i * BLK_SECTORS_PER_FRAME, count - i * BLK_SECTORS_PER_FRAME,
                     phys + i, (unsigned)k))
        return failed + (unsigned)(n - i);
      i += k;
    }
    virtio_kick(&d->dev, 0);
    if (hold)
      sys_wait(hold);
    hold = 0;
    failed += complete(d, chains);
  }
  return failed;
}
