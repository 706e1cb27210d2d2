/* blockd: device set-up and the service loop (see blockd.h). */
#include "blockd.h"
#include "request.h"
#include <server.h>
#include <lib/string.h>

#define VIRTIO_BLK_MODERN 0x1042
#define VIRTIO_BLK_TRANSITIONAL 0x1001
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define REGS_VA 0x0000300000000000ull
#define SESSION_VA 0x0000310000000000ull /* session i's record at + i * 2 MiB */
#define GIFT_SLOT 64
#define DONATION_SLOT 40
#define TEMP_SLOT 41
#define SESSION_SLOTS 400 /* session i keeps its donation at + 4i, table + 1, record + 2, hold + 3 */
#define SESSION_STRIDE 4
_Static_assert(GIFT_SLOT + BLK_MAX_FRAMES <= SESSION_SLOTS, "slot ranges overlap");

struct req_hdr {
  u32 type, reserved;
  u64 sector;
};

static struct disk disks[BLK_MAX_DISKS];
static unsigned ndisks;
static struct session sessions[BLOCKD_MAX_SESSIONS];
static struct blk_counters total;
static int test_hooks; /* BLK_HOLD is honoured: started as "blockd:1" */

static struct env env;
static struct ipc_buffer *buf;
static struct req_hdr *hdrs;    /* one per descriptor head, in blockd's page */
/* Each request's descriptors live in an indirect table of blockd's own,
 * one per ring entry: TABLES_PER_PAGE to a pinned page. */
#define TABLE_ENTRIES (BLK_CHAIN_FRAMES + 2)
#define TABLES_PER_PAGE (PAGE_SIZE / (TABLE_ENTRIES * sizeof(struct virtq_desc)))
static struct virtq_desc *tables[VIRTQ_SIZE];
static u64 tables_phys[VIRTQ_SIZE];
static volatile u8 *statuses;
static u64 hdrs_phys;
static cptr_t irq_ntfn;
static cptr_t irq_handler[16]; /* by line: 0 when not ours */

/* ---- devices ---- */

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
  long err = env_retype(&env, OBJ_NOTIFICATION, 0, &irq_ntfn);
  u32 claimed = 0;
  for (unsigned i = 0; !err && i < ndisks; i++) {
    u8 irq = disks[i].irq;
    if (claimed & (1u << irq))
      continue;
    cptr_t h = env_slot(&env);
    if ((err = sys_irq_get(BI_SLOT_IRQ_CONTROL, irq, env.cnode, h)) ||
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
    long err = env_pinned_page(&env, BI_SLOT_DMA, &va, &phys);
    if (err)
      return err;
    for (unsigned k = 0; k < TABLES_PER_PAGE && i + k < VIRTQ_SIZE; k++) {
      u64 off = k * TABLE_ENTRIES * sizeof(struct virtq_desc);
      tables[i + k] = (struct virtq_desc *)(va + off);
      tables_phys[i + k] = phys + off;
    }
  }
  return ERR_OK;
}

static long setup(void) {
  struct virtio_env ve = {&env, BI_SLOT_IOPORTS, BLOCKD_DEVICE_UT, BLOCKD_DEVICE_UTS, BI_SLOT_DMA, REGS_VA};
  struct probe pr = {&ve};
  pci_scan(BI_SLOT_IOPORTS, found, &pr);
  if (!ndisks)
    return ERR_RANGE;
  u64 va;
  long err = env_pinned_page(&env, BI_SLOT_DMA, &va, &hdrs_phys);
  if (err)
    return err;
  hdrs = (struct req_hdr *)va;
  if ((err = setup_tables()))
    return err;
  statuses = (volatile u8 *)(va + VIRTQ_SIZE * sizeof(struct req_hdr));
  /* The upper tables of the session area are blockd's own (a fixed cost);
   * each session brings its page table. */
  cptr_t pdpt, pd;
  if ((err = env_retype(&env, OBJ_PDPT, 0, &pdpt)) || (err = sys_page_table_map(pdpt, env.vspace, SESSION_VA)) ||
      (err = env_retype(&env, OBJ_PD, 0, &pd)) || (err = sys_page_table_map(pd, env.vspace, SESSION_VA)))
    return err;
  return setup_irqs();
}

/* ---- requests ---- */

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
  return virtq_add_indirect(&d->q, tables[head], tables_phys[head], chain, n + 2) == head ? ERR_OK : ERR_BAD_STATE;
}

/* A session lives while its donation does: a client that dies (or revokes
 * the memory it lent) takes the session's record and table with it. */
static int session_alive(unsigned i) {
  if (!sessions[i].used)
    return 0;
  if (sys_cap_type(env.cnode, sessions[i].donated).val != OBJ_UNTYPED) {
    sessions[i].used = 0;
    return 0;
  }
  return 1;
}

/* blockd's run time goes to the session whose request it served: the
 * kernel counts it (THREAD_TIME, which stands still while blockd waits for
 * the disk), and each wake-up settles the time since the last one, the
 * reply that ended it included, with whoever it was for. */
static struct {
  int session; /* -1: nobody (opening, refused requests) */
  u8 generation;
  u64 at_ns;
} serving = {-1, 0, 0};

static void settle_time(void) {
  u64 now = sys_thread_ns(), ran = now - serving.at_ns;
  int i = serving.session;
  if (i >= 0 && sessions[i].generation == serving.generation && session_alive((unsigned)i))
    sessions[i].rec->c.blockd_ns += ran;
  else
    total.blockd_ns += ran;
  serving.session = -1;
  serving.at_ns = now;
}

static struct session *session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  if (i >= BLOCKD_MAX_SESSIONS || sessions[i].generation != server_badge_generation(badge) || !session_alive(i))
    return 0;
  return &sessions[i];
}

/* Checks a read or write; on success the frames are pinned, phys filled. */
static long check_io(struct session *s, u64 info, u64 sector, u64 *count, u64 *phys) {
  u64 n = msg_gifts(info);
  struct blk_counters *c = &s->rec->c;
  switch (blk_check_request(n, sector, count, disks[s->rec->disk].capacity)) {
  case BLK_REQUEST_BAD_COUNT:
    c->bad_count++;
    return ERR_RANGE;
  case BLK_REQUEST_BAD_RANGE:
    c->bad_range++;
    return ERR_RANGE;
  case BLK_REQUEST_OK:
    break;
  }
  long err = sys_dma_pin_range(BI_SLOT_DMA, GIFT_SLOT, n, phys).err; /* 4 KiB frames, all or none */
  if (err == ERR_WRONG_TYPE)
    c->not_frames++;
  return err;
}

/* The frames go out as device requests of up to BLK_CHAIN_FRAMES frames,
 * BLK_IN_FLIGHT of them at a time. A held request (BLK_HOLD) waits, its
 * first requests on the device, until the client signals `hold` or the
 * session's memory goes (the notification with it, which wakes blockd). */
static unsigned run_io(struct disk *d, int write, u64 sector, u64 count, const u64 *phys, u64 n, cptr_t hold) {
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

static long do_io(struct session *s, int write, u64 info, u64 sector, u64 count) {
  static u64 phys[BLK_MAX_FRAMES];
  u64 n = msg_gifts(info);
  long err = check_io(s, info, sector, &count, phys);
  if (err)
    return err;
  struct disk *d = &disks[s->rec->disk];
  cptr_t hold = s->held ? s->hold : 0;
  s->held = 0;
  unsigned failed = run_io(d, write, sector, count, phys, n, hold);
  for (u64 i = 0; i < n; i++)
    sys_dma_unpin(BI_SLOT_DMA, GIFT_SLOT + i);
  /* blockd waited for the device: meanwhile the session's memory may have
   * gone (another thread of the client, or its parent, revoked it), and
   * its record with it. The frames still go back with the answer. */
  if (!session_alive((unsigned)(s - sessions))) {
    total.closed_session++;
    total.gone_waiting++;
    return ERR_BAD_STATE;
  }
  s->rec->c.requests++;
  s->rec->c.sectors += count;
  if (failed) {
    s->rec->c.device_errors += failed;
    return ERR_IO;
  }
  return ERR_OK;
}

/* ---- sessions ---- */

static long open_session(u64 info, u64 disk, cptr_t *reply_cap) {
  unsigned i = 0;
  while (i < BLOCKD_MAX_SESSIONS && session_alive(i))
    i++;
  if (msg_caps(info) != 1 || disk >= ndisks || i == BLOCKD_MAX_SESSIONS)
    return ERR_RANGE;
  struct cap_info ci;
  if (sys_cap_identify(env.cnode, DONATION_SLOT, &ci) || ci.type != OBJ_UNTYPED)
    return ERR_WRONG_TYPE;
  struct session *s = &sessions[i];
  cptr_t donated = SESSION_SLOTS + SESSION_STRIDE * i, table = donated + 1, frame = donated + 2;
  u64 va = SESSION_VA + (u64)i * LARGE_PAGE_SIZE;
  long err = server_session_memory(env.cnode, env.vspace, DONATION_SLOT, donated, table, &frame, 1, va);
  if (err)
    return err;
  s->used = 1;
  s->generation++;
  s->donated = donated;
  s->table = table;
  s->frame = frame;
  s->hold = 0;
  s->held = 0;
  s->rec = (struct session_rec *)va;
  s->rec->disk = (u32)disk;
  err = sys_cnode_mint(env.cnode, TEMP_SLOT, env.cnode, BLOCKD_PUBLIC_EP, RIGHTS_ALL,
                       server_badge(i, s->generation));
  *reply_cap = TEMP_SLOT;
  return err;
}

/* BLK_HOLD: the notification is made once per session, from its memory. */
static long arm_hold(struct session *s, u64 *caps_back) {
  cptr_t n = s->donated + 3;
  if (!s->hold) {
    long err = sys_retype(s->donated, OBJ_NOTIFICATION, 0, env.cnode, n, 1, 0);
    if (err)
      return err;
    s->hold = n;
  }
  s->held = 1;
  buf->caps[0] = n;
  *caps_back = 1;
  return ERR_OK;
}

static long close_session(struct session *s, cptr_t *reply_cap) {
  long err = sys_cnode_revoke(env.cnode, s->donated); /* the record, its table */
  if (!err)
    err = sys_cnode_move(env.cnode, DONATION_SLOT, env.cnode, s->donated);
  s->used = 0;
  *reply_cap = DONATION_SLOT;
  return err;
}

static void add_counters(struct blk_counters *to, const struct blk_counters *c) {
  to->requests += c->requests;
  to->sectors += c->sectors;
  to->bad_range += c->bad_range;
  to->bad_count += c->bad_count;
  to->not_frames += c->not_frames;
  to->closed_session += c->closed_session;
  to->device_errors += c->device_errors;
  to->bad_op += c->bad_op;
  to->blockd_ns += c->blockd_ns;
}

/* ---- the service loop ---- */

static void set_receive(void) {
  buf->recv_cnode = env.cnode;
  buf->recv_slot = GIFT_SLOT;
  buf->recv_count = BLK_MAX_FRAMES;
  buf->recv_window = 0; /* blockd never maps its clients' frames */
}

static u64 handle(struct msg_regs *r, u64 *w1, u64 *w2, u64 *w3, u64 *words, u64 *caps_back) {
  u32 op = msg_label(r->info);
  *w1 = *w2 = *w3 = 0;
  *words = 4;
  *caps_back = 0;
  if (r->badge == 0) { /* the public endpoint: only OPEN */
    cptr_t cap;
    long err = op == BLK_OPEN ? open_session(r->info, r->w[0], &cap) : ERR_BAD_STATE;
    if (!err) {
      buf->caps[0] = cap;
      *caps_back = 1;
    }
    return (u64)err;
  }
  struct session *s = session_of(r->badge);
  if (!s) {
    total.closed_session++;
    return ERR_BAD_STATE;
  }
  serving.session = (int)(s - sessions);
  serving.generation = s->generation;
  switch (op) {
  case BLK_INFO:
    *w1 = disks[s->rec->disk].capacity;
    return ERR_OK;
  case BLK_READ:
  case BLK_WRITE:
    return (u64)do_io(s, op == BLK_WRITE, r->info, r->w[0], r->w[1]);
  case BLK_STATS: {
    struct blk_counters c = s->rec->c;
    struct untyped_usage u;
    *w1 = c.bad_range + c.bad_count + c.not_frames + c.device_errors + c.bad_op;
    *w2 = sys_untyped_usage(BI_SLOT_BOOT_UNTYPED, &u, USAGE_RECURSIVE) ? 0 : u.size - u.free;
    *w3 = c.blockd_ns;
    buf->words[4] = c.bad_range;
    buf->words[5] = c.bad_count;
    buf->words[6] = c.not_frames;
    buf->words[7] = total.gone_waiting;
    *words = BLK_STATS_WORDS;
    return ERR_OK;
  }
  case BLK_CLOSE: {
    cptr_t cap;
    add_counters(&total, &s->rec->c);
    long err = close_session(s, &cap);
    if (!err) {
      buf->caps[0] = cap;
      *caps_back = 1;
    }
    return (u64)err;
  }
  case BLK_HOLD:
    if (test_hooks)
      return (u64)arm_hold(s, caps_back);
    s->rec->c.bad_op++; /* elsewhere it is an unknown request */
    return ERR_BAD_SYSCALL;
  default:
    s->rec->c.bad_op++;
    return ERR_BAD_SYSCALL;
  }
}

/* Gifted frames always go back with the reply, whatever happened. */
int main(u64 arg) {
  test_hooks = arg == 1;
  env = env_of_program(SESSION_SLOTS + SESSION_STRIDE * BLOCKD_MAX_SESSIONS);
  long err = env_ipc_buffer(&env, BI_SLOT_TCB, &buf);
  if (!err)
    err = setup();
  if (err) {
    printf("blockd: cannot start: %s\n", err_name(err));
    return 1;
  }
  printf("blockd: ready, %u disk%s%s\n", ndisks, ndisks == 1 ? "" : "s", test_hooks ? ", test hooks on" : "");
  set_receive();
  total.blockd_ns = serving.at_ns = sys_thread_ns(); /* starting up was nobody's work */
  struct msg_regs r = sys_recv(BLOCKD_PUBLIC_EP);
  for (;;) {
    settle_time();
    if (r.err) {
      server_drop_leftovers(env.cnode, GIFT_SLOT, BLK_MAX_FRAMES);
      r = sys_recv(BLOCKD_PUBLIC_EP);
      continue;
    }
    u64 w1, w2, w3, words, ncaps;
    server_sort_received(env.cnode, GIFT_SLOT, msg_caps(r.info), msg_gifts(r.info),
                         r.badge == 0 && msg_label(r.info) == BLK_OPEN ? DONATION_SLOT : 0);
    u64 err_code = handle(&r, &w1, &w2, &w3, &words, &ncaps);
    u64 gifts = server_gift_slots(buf, GIFT_SLOT, msg_gifts(r.info));
    r = sys_reply_recv(BLOCKD_PUBLIC_EP, msg_info(0, words, ncaps, gifts), err_code, w1, w2, w3);
    sys_cnode_delete(env.cnode, TEMP_SLOT); /* the client's copy of a session stays */
    sys_cnode_delete(env.cnode, DONATION_SLOT); /* a donation the client would not take back */
  }
}
