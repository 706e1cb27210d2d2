/* blockd's devices: finding the disks, their queues and interrupts, the
 * pool of device slots, posting requests and harvesting completions (see
 * blockd.h). */
#include "blockd.h"
#include "runs.h"

#define VIRTIO_BLK_MODERN 0x1042
#define VIRTIO_BLK_TRANSITIONAL 0x1001
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define VIRTIO_BLK_F_FLUSH 9
#define REGS_VA 0x0000300000000000ull

struct req_hdr {
  u32 type, reserved;
  u64 sector;
};

/* Each device request's descriptors live in an indirect table of blockd's
 * own, one per ring entry: TABLES_PER_PAGE to a pinned page. */
#define TABLE_ENTRIES (BLK_CHAIN_FRAMES + 2)
#define TABLES_PER_PAGE (K_PAGE_SIZE / (TABLE_ENTRIES * sizeof(struct virtq_desc)))

/* A disk's per-ring-entry memory, blockd's own and pinned: the request
 * header and status byte, and the indirect table. */
struct ring_mem {
  struct req_hdr *hdrs;
  volatile u8 *statuses;
  u64 hdrs_phys, statuses_phys;
  struct virtq_desc *tables[VIRTQ_SIZE];
  u64 tables_phys[VIRTQ_SIZE];
  u16 inflight_of[VIRTQ_SIZE]; /* the posted request a ring entry belongs to */
};

/* A request on the device: blockd's own record of it, which outlives the
 * session's (a client may revoke its memory while the device writes). */
struct inflight {
  u8 used, req;
  u32 session, generation;
  u32 tag;
  u16 pool, frames;
  u16 chains_left;
  u16 errors;
};
#define MAX_INFLIGHT (VIRTQ_SIZE * BLK_MAX_DISKS)

struct disk disks[BLK_MAX_DISKS];
unsigned ndisks;
cptr_t blockd_ntfn;
static struct ring_mem rings[BLK_MAX_DISKS];
static struct inflight inflight[MAX_INFLIGHT];
static cptr_t irq_handler[K_IRQ_LINES]; /* by line: 0 when not ours */
static u64 pool_map[POOL_SLOTS / 64]; /* bit: the pool slot holds a frame */
static int held;                      /* a held request waits for its client's word: no kick */
static int kick_wanted[BLK_MAX_DISKS];

struct probe {
  struct virtio_env *ve;
};

/* A message-signalled line of those init granted, for the disk's MSI-X
 * entry 0; the disk keeps its legacy line when there is none (or the
 * device has no MSI-X). */
static void use_msi(struct virtio_env *ve, struct disk *d) {
  cptr_t h = env_slot(&env);
  for (unsigned line = K_IRQ_MSI_FIRST; line < K_IRQ_LINES; line++) {
    struct sysret r = sys_irq_get_msi(K_BI_SLOT_IRQ_CONTROL, line, env.cnode, h);
    if (r.err)
      continue; /* not ours, or taken */
    if (!sys_irq_set_notification(h, blockd_ntfn, 1ull << line) && !virtio_msix(ve, &d->dev, r.val)) {
      d->irq = (u8)line;
      irq_handler[line] = h;
      return;
    }
    sys_cnode_delete(env.cnode, h);
    return;
  }
}

static int found(const struct pci_dev *p, void *ctx) {
  struct probe *pr = ctx;
  if (p->vendor != VIRTIO_VENDOR || (p->device != VIRTIO_BLK_MODERN && p->device != VIRTIO_BLK_TRANSITIONAL))
    return 0;
  if (ndisks == BLK_MAX_DISKS)
    return 1;
  struct disk *d = &disks[ndisks];
  d->irq = p->irq_line;
  long err = virtio_attach(pr->ve, p, &d->dev);
  if (!err)
    err = virtio_negotiate(&d->dev, 1ull << VIRTIO_F_INDIRECT_DESC, 1ull << VIRTIO_BLK_F_FLUSH);
  /* Without VIRTIO_BLK_F_FLUSH the device must write through: QEMU then
   * syncs the image after every write. With it, writes may sit in the
   * host's cache until a BLK_FLUSH. */
  d->cache = !err && (d->dev.features >> VIRTIO_BLK_F_FLUSH & 1);
  if (!err)
    use_msi(pr->ve, d);
  if (!err)
    err = virtio_queue(pr->ve, &d->dev, 0, &d->q);
  if (err) {
    printf("blockd: virtio-blk at 00:%02x.%x not usable: %s\n", p->dev, p->fn, err_name(err));
    return 0;
  }
  virtio_ready(&d->dev);
  d->capacity = *(volatile u64 *)d->dev.device_cfg;
  printf("blockd: disk %u: virtio-blk %04x at 00:%02x.%x, %llu sectors, %s %u\n", ndisks, p->device,
         p->dev, p->fn, d->capacity, d->dev.msix ? "MSI-X line" : "irq", d->irq);
  ndisks++;
  return 0;
}

/* One notification, bound to blockd's thread, takes every disk's interrupt
 * (bit = line), so that blockd's receive wakes for them: made before the
 * disks are found, for their message-signalled lines; the legacy lines
 * after. */
static long setup_notification(void) {
  long err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &blockd_ntfn);
  return err ? err : sys_tcb_bind_notification(K_BI_SLOT_TCB, blockd_ntfn);
}

static long setup_irqs(void) {
  long err = K_ERR_OK;
  u32 claimed = 0;
  for (unsigned i = 0; !err && i < ndisks; i++) {
    u8 irq = disks[i].irq;
    if (disks[i].dev.msix || (claimed & (1u << irq)))
      continue;
    cptr_t h = env_slot(&env);
    if ((err = sys_irq_get(K_BI_SLOT_IRQ_CONTROL, irq, env.cnode, h)) ||
        (err = sys_irq_set_notification(h, blockd_ntfn, 1ull << irq)))
      break;
    claimed |= 1u << irq;
    irq_handler[irq] = h;
  }
  return err;
}

static long setup_ring_mem(struct ring_mem *m) {
  u64 va, phys;
  long err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &phys);
  if (err)
    return err;
  m->hdrs = (struct req_hdr *)va;
  m->hdrs_phys = phys;
  m->statuses = (volatile u8 *)(va + VIRTQ_SIZE * sizeof(struct req_hdr));
  m->statuses_phys = phys + VIRTQ_SIZE * sizeof(struct req_hdr);
  for (unsigned i = 0; i < VIRTQ_SIZE; i += TABLES_PER_PAGE) {
    if ((err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &phys)))
      return err;
    for (unsigned k = 0; k < TABLES_PER_PAGE && i + k < VIRTQ_SIZE; k++) {
      u64 off = k * TABLE_ENTRIES * sizeof(struct virtq_desc);
      m->tables[i + k] = (struct virtq_desc *)(va + off);
      m->tables_phys[i + k] = phys + off;
    }
  }
  return K_ERR_OK;
}

long devices_setup(void) {
  struct virtio_env ve = {&env, K_BI_SLOT_IOPORTS, BLOCKD_DEVICE_UT, BLOCKD_DEVICE_UTS, K_BI_SLOT_DMA, REGS_VA};
  struct probe pr = {&ve};
  long err = setup_notification();
  if (err)
    return err;
  pci_scan(K_BI_SLOT_IOPORTS, found, &pr);
  if (!ndisks)
    return K_ERR_RANGE;
  for (unsigned i = 0; i < ndisks; i++)
    if ((err = setup_ring_mem(&rings[i])))
      return err;
  return setup_irqs();
}

void pool_release(unsigned pool, unsigned frames) { runs_mark(pool_map, pool, frames, 0); }

static int inflight_take(void) {
  for (int i = 0; i < MAX_INFLIGHT; i++)
    if (!inflight[i].used)
      return i;
  return -1;
}

/* One device request for `n` frames: header, the frames (scatter-gather,
 * each straight from the client's page), status, in an indirect table so
 * that it takes one ring entry. Returns its head. */
static int post_chain(unsigned disk, u8 kind, u64 sector, u64 count, const u64 *phys, unsigned n) {
  struct disk *d = &disks[disk];
  struct ring_mem *m = &rings[disk];
  struct virtq_buf chain[BLK_CHAIN_FRAMES + 2];
  int head = d->q.free_head; /* the head descriptor indexes the header slot */
  int write = kind == REQ_WRITE;
  m->hdrs[head] = (struct req_hdr){kind == REQ_FLUSH ? BLK_T_FLUSH : write ? BLK_T_OUT : BLK_T_IN, 0, sector};
  m->statuses[head] = 0xff;
  chain[0] = (struct virtq_buf){m->hdrs_phys + (u64)head * sizeof(struct req_hdr), sizeof(struct req_hdr), 0};
  for (unsigned i = 0; i < n; i++) {
    u64 left = count - (u64)i * BLK_SECTORS_PER_FRAME;
    u32 bytes = (u32)((left < BLK_SECTORS_PER_FRAME ? left : BLK_SECTORS_PER_FRAME) * BLK_SECTOR);
    chain[1 + i] = (struct virtq_buf){phys[i], bytes, !write};
  }
  chain[1 + n] = (struct virtq_buf){m->statuses_phys + (u64)head, 1, 1};
  return virtq_add_indirect(&d->q, m->tables[head], m->tables_phys[head], chain, n + 2);
}

void move_frames(cptr_t to_cnode, cptr_t to, cptr_t from_cnode, cptr_t from, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    sys_cnode_move(to_cnode, to + i, from_cnode, from + i);
}

long device_post(struct session *s, struct request *r, cptr_t cnode, cptr_t first) {
  static u64 phys[BLK_MAX_FRAMES];
  unsigned disk = r->disk, chains = r->frames ? (r->frames + BLK_CHAIN_FRAMES - 1) / BLK_CHAIN_FRAMES : 1;
  if (disks[disk].q.num_free < chains)
    return K_ERR_WOULD_BLOCK;
  int f = inflight_take(), pool = f < 0 ? -1 : r->frames ? runs_take(pool_map, POOL_SLOTS, r->frames) : 0;
  if (pool < 0)
    return K_ERR_WOULD_BLOCK;
  cptr_t at = POOL_SLOT + (cptr_t)pool;
  move_frames(env.cnode, at, cnode, first, r->frames);
  long err = r->frames ? sys_dma_pin_range(K_BI_SLOT_DMA, at, r->frames, phys).err : K_ERR_OK; /* 4 KiB frames, all or none */
  if (err) {
    move_frames(cnode, first, env.cnode, at, r->frames);
    runs_mark(pool_map, (unsigned)pool, r->frames, 0);
    return err;
  }
  unsigned i = (unsigned)(s - sessions);
  inflight[f] = (struct inflight){1, (u8)(r - s->rec->req), i, s->generation, r->tag, (u16)pool, r->frames,
                                  (u16)chains, 0};
  for (unsigned c = 0; c < chains; c++) {
    unsigned k = c * BLK_CHAIN_FRAMES, n = r->frames - k < BLK_CHAIN_FRAMES ? r->frames - k : BLK_CHAIN_FRAMES;
    int head = post_chain(disk, r->kind, r->sector + (u64)k * BLK_SECTORS_PER_FRAME,
                          r->sectors - (u64)k * BLK_SECTORS_PER_FRAME, phys + k, n);
    rings[disk].inflight_of[head] = (u16)f; /* room was checked: head is valid */
  }
  s->on_device = (u16)(s->on_device + r->frames);
  busy_update(s);
  r->state = REQ_POSTED;
  r->inflight = (u8)f;
  kick_wanted[disk] = 1;
  if (s->held) { /* BLK_HOLD: the device hears of it when the client says go */
    s->held = 0;
    held = 1;
    sys_ntfn_set_timer(blockd_ntfn, sys_time_ns() + 10000000ull, TIMER_BIT);
  }
  return K_ERR_OK;
}

void device_kick(void) {
  if (held)
    return;
  for (unsigned i = 0; i < ndisks; i++)
    if (kick_wanted[i]) {
      kick_wanted[i] = 0;
      if (virtq_kick_needed(&disks[i].q))
        virtio_kick(&disks[i].dev, 0);
    }
}

/* The sessions whose requests completed in this wake-up: its time is theirs. */
static u32 done_who[MAX_INFLIGHT], done_generation[MAX_INFLIGHT];
static unsigned ndone;

/* A request's last device request completed. */
static void finish(struct inflight *f) {
  struct session *s = &sessions[f->session];
  done_who[ndone] = f->session;
  done_generation[ndone++] = f->generation;
  if (f->frames)
    sys_dma_unpin_range(K_BI_SLOT_DMA, POOL_SLOT + f->pool, f->frames);
  if (s->used && s->generation == f->generation) {
    s->on_device = (u16)(s->on_device - f->frames);
    busy_update(s);
  }
  f->used = 0;
  if (!request_done(f->session, f->generation, f->req, f->tag, f->pool, f->frames, f->errors))
    runs_mark(pool_map, f->pool, f->frames, 0); /* request_done took the frames out */
}

static void harvest(unsigned disk) {
  struct disk *d = &disks[disk];
  u32 len;
  int head;
  while ((head = virtq_get(&d->q, &len)) != -1) {
    if (head == -2) { /* the device named a chain we did not post */
      total.device_errors++;
      continue;
    }
    struct inflight *f = &inflight[rings[disk].inflight_of[head]];
    f->errors = (u16)(f->errors + (rings[disk].statuses[head] != 0));
    if (--f->chains_left == 0)
      finish(f);
  }
}

/* A held request's client said go, or its session went (the timer looks). */
static void unhold(u64 bits) {
  if (!held || !(bits & (HOLD_BIT | TIMER_BIT)))
    return;
  int go = (bits & HOLD_BIT) != 0;
  for (unsigned i = 0; !go && i < MAX_INFLIGHT; i++)
    if (inflight[i].used && !session_alive(inflight[i].session))
      go = 1;
  if (go)
    held = 0;
  else
    sys_ntfn_set_timer(blockd_ntfn, sys_time_ns() + 10000000ull, TIMER_BIT);
}

void device_event(u64 bits) {
  if (bits & 0xffff) { /* legacy lines: a level, until the device hears and the line is acknowledged */
    for (unsigned i = 0; i < ndisks; i++)
      if (!disks[i].dev.msix && (bits & (1ull << disks[i].irq)))
        (void)*disks[i].dev.isr; /* reading the ISR acknowledges the device */
    for (unsigned irq = 0; irq < 16; irq++)
      if ((bits & (1ull << irq)) && irq_handler[irq])
        sys_irq_ack(irq_handler[irq]);
  }
  unhold(bits);
  ndone = 0;
  for (unsigned i = 0; i < ndisks; i++)
    harvest(i);
  schedule();
  device_kick();
  settle_shared(done_who, done_generation, ndone);
}
