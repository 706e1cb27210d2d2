/* netd: device set-up and the service loop (see netd.h; sessions in
 * session.c, receiving in rx.c, sending in tx.c). */
#include "netd.h"
#include "classify.h"
#include <server.h>
#include <lib/string.h>

#define VIRTIO_NET_MODERN 0x1041
#define VIRTIO_NET_TRANSITIONAL 0x1000
#define VIRTIO_NET_F_MAC 5
#define SWEEP_NS 500000000ull
#define REGS_VA 0x0000300000000000ull
_Static_assert(VNET_HDR + NET_HEAD <= HDR_SLOT, "header buffer");
struct env env;
struct k_ipc_buffer *buf;
struct virtio_dev dev;
struct virtq rxq, txq;
u8 mac[6];
static u8 irq_line;
cptr_t irq_ntfn;
static cptr_t irq_handler;
struct net_counters total;
int test_hooks;
static u64 next_sweep, armed_deadline;

struct rx_entry rx[RX_ENTRIES];
u8 *rx_hdr;     /* RX_ENTRIES header buffers */
u64 rx_hdr_phys[RX_ENTRIES];
u64 vnet_zero_phys; /* a zeroed virtio_net_hdr for every packet sent */
struct virtq_desc *tx_tables[VIRTQ_SIZE];
u64 tx_tables_phys[VIRTQ_SIZE];
s8 echo_of_head[VIRTQ_SIZE]; /* transmit head -> receive entry it echoes, -1 */

/* ---- device ---- */

static struct virtio_env venv;

/* A message-signalled line of those init granted, for the card's MSI-X
 * entry 0 (both queues); the card keeps its legacy line when there is
 * none. */
static void use_msi(void) {
  cptr_t h = env_slot(&env);
  for (unsigned line = K_IRQ_MSI_FIRST; line < K_IRQ_LINES; line++) {
    struct sysret r = sys_irq_get_msi(K_BI_SLOT_IRQ_CONTROL, line, env.cnode, h);
    if (r.err)
      continue; /* not ours */
    if (!sys_irq_set_notification(h, irq_ntfn, 1ull << line) && !virtio_msix(&venv, &dev, r.val)) {
      irq_line = (u8)line;
      irq_handler = h;
      return;
    }
    sys_cnode_delete(env.cnode, h);
    return;
  }
}

static int found(const struct pci_dev *p, void *ctx) {
  int *done = ctx;
  if (p->vendor != VIRTIO_VENDOR || (p->device != VIRTIO_NET_MODERN && p->device != VIRTIO_NET_TRANSITIONAL))
    return 0;
  irq_line = p->irq_line;
  long err = virtio_attach(&venv, p, &dev);
  if (!err)
    err = virtio_negotiate(&dev, 1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_NET_F_MAC, 0);
  if (!err)
    use_msi();
  if (!err)
    err = virtio_queue(&venv, &dev, RXQ, &rxq);
  if (!err)
    err = virtio_queue(&venv, &dev, TXQ, &txq);
  if (err) {
    printf("netd: virtio-net at 00:%02x.%x not usable: %s\n", p->dev, p->fn, err_name(err));
    return 0;
  }
  for (int i = 0; i < 6; i++)
    mac[i] = dev.device_cfg[i];
  printf("netd: virtio-net %04x at 00:%02x.%x, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s %u\n", p->device, p->dev,
         p->fn, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], dev.msix ? "MSI-X line" : "irq", irq_line);
  *done = 1;
  return 1;
}

static long setup_buffers(void) {
  u64 va, phys;
  for (unsigned k = 0; k < RX_ENTRIES; k++) {
    if (k % (K_PAGE_SIZE / HDR_SLOT) == 0) {
      long err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &phys);
      if (err)
        return err;
      if (k == 0)
        rx_hdr = (u8 *)va;
    }
    rx_hdr_phys[k] = phys + (k % (K_PAGE_SIZE / HDR_SLOT)) * HDR_SLOT;
    rx[k] = RX_NONE;
  }
  /* The header pages are consecutive in netd's address space (env hands out addresses upward). */
  const unsigned per_page = K_PAGE_SIZE / (TX_TABLE_ENTRIES * sizeof(struct virtq_desc));
  for (unsigned i = 0; i < VIRTQ_SIZE; i++) {
    if (i % per_page == 0) {
      long err = env_pinned_page(&env, K_BI_SLOT_DMA, &va, &phys);
      if (err)
        return err;
    }
    u64 off = (i % per_page) * TX_TABLE_ENTRIES * sizeof(struct virtq_desc);
    tx_tables[i] = (struct virtq_desc *)(va + off);
    tx_tables_phys[i] = phys + off;
  }
  return env_pinned_page(&env, K_BI_SLOT_DMA, &va, &vnet_zero_phys); /* stays zero */
}

static long setup(void) {
  venv = (struct virtio_env){&env, K_BI_SLOT_IOPORTS, NETD_DEVICE_UT, NETD_DEVICE_UTS, K_BI_SLOT_DMA, REGS_VA};
  int have = 0;
  long err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &irq_ntfn); /* before the card: its MSI line signals it */
  if (err)
    return err;
  pci_scan(K_BI_SLOT_IOPORTS, found, &have);
  if (!have) {
    printf("netd: no usable virtio-net device (1af4:1041 or 1af4:1000) on PCI bus 0\n");
    return K_ERR_RANGE;
  }
  if ((err = setup_buffers()) || (err = sessions_setup()))
    return err;
  if (!dev.msix && ((err = sys_irq_get(K_BI_SLOT_IRQ_CONTROL, irq_line, env.cnode, irq_handler = env_slot(&env))) ||
                    (err = sys_irq_set_notification(irq_handler, irq_ntfn, 1ull << irq_line))))
    return err;
  if ((err = sys_tcb_bind_notification(K_BI_SLOT_TCB, irq_ntfn)))
    return err;
  virtio_ready(&dev);
  return K_ERR_OK;
}

void device_event(void) {
  int was = charge_to(-1);
  if (!dev.msix)
    (void)*dev.isr; /* reading the ISR acknowledges the device (its line's level) */
  receive_all();
  if (echo_port && !tx_held)
    virtio_kick(&dev, TXQ);
  tx_harvest();
  if (refill())
    virtio_kick(&dev, RXQ);
  answer_waiting();
  if (!dev.msix) /* a message-signalled line is an edge: nothing to acknowledge */
    sys_irq_ack(irq_handler);
  charge_to(was);
}


/* ---- timers: waiting receivers' deadlines and the liveness sweep ---- */

static void timers(void) {
  u64 now = sys_time_ns();
  if (now >= next_sweep) {
    sweep_sessions();
    next_sweep = now + SWEEP_NS;
  }
  for (int i; (i = deadline_due(now)) >= 0;)
    if (session_alive((unsigned)i) && sessions[i].rec->waiting)
      answer((unsigned)i); /* nothing came: an empty answer */
  u64 earliest = next_sweep, hold = tx_hold_deadline(), first = deadline_first();
  if (hold < earliest)
    earliest = hold;
  if (first < earliest)
    earliest = first;
  if (earliest != armed_deadline) {
    sys_ntfn_set_timer(irq_ntfn, earliest, TIMER_BIT);
    armed_deadline = earliest;
  }
}


static u64 netd_memory(void) {
  struct k_untyped_usage u;
  return sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, &u, K_USAGE_RECURSIVE) ? 0 : u.size - u.free;
}

/* ---- the service loop ---- */

/* The frames a request brought go back with its answer (server.h). */
static void frames_back(const struct msg_regs *m, struct server_answer *o) {
  o->gifts = server_gift_slots(buf, SERVER_GIFT_SLOT, k_msg_gifts(m->info));
}

static void handle(const struct msg_regs *m, struct server_answer *o) {
  u32 op = k_msg_label(m->info);
  buf->gift_cnode = 0; /* the answer's gifts are root slots unless it says otherwise */
  if (m->badge == 0) { /* the public endpoint: only OPEN */
    frames_back(m, o);
    cptr_t cap = 0;
    o->err = (u64)(op == NET_OPEN ? open_session(m->info, m->w[0], &cap) : K_ERR_BAD_STATE);
    struct k_cap_info ci;
    if (o->err && !sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) && ci.type != K_OBJ_NULL)
      cap = SERVER_DONATION_SLOT; /* a refused donation goes back */
    if (cap) {
      buf->caps[0] = cap;
      o->caps = 1;
    }
    return;
  }
  int i = session_of(m->badge);
  if (i < 0) { /* closed, or its memory went before netd saw the request */
    total.closed_session++;
    o->err = K_ERR_BAD_STATE;
    frames_back(m, o);
    return;
  }
  charge_to(i);
  struct record *r = sessions[i].rec;
  if (k_msg_gifts(m->info) && op != NET_RECV && op != NET_SEND) {
    r->c.bad_requests++; /* frames only come with these two: they go back */
    o->err = K_ERR_RANGE;
    frames_back(m, o);
    return;
  }
  switch (op) {
  case NET_RECV:
    o->err = (u64)recv_request((unsigned)i, m, &o->saved);
    if (o->err && !o->saved) { /* the donation goes back */
      frames_back(m, o);
    } else if (direct_answer.active) {
      o->words = direct_answer.words;
      o->gifts = direct_answer.frames;
      o->w1 = direct_answer.w1, o->w2 = direct_answer.w2, o->w3 = direct_answer.w3;
    }
    if (o->saved)
      timers(); /* its deadline may be the earliest */
    return;
  case NET_SEND: {
    int was_held = tx_held;
    o->err = (u64)send_request((unsigned)i, m, o);
    if (o->err)
      frames_back(m, o);
    if (tx_held && !was_held)
      timers(); /* look at the hold again in a while */
    return;
  }
  case NET_COLLECT:
    o->err = (u64)collect_request((unsigned)i, m, o);
    return;
  case NET_INFO:
    tx_harvest();
    o->w1 = net_mac_word(mac);
    o->w2 = net_info_frames(r->nspare, r->in_ring, r->nqueued);
    o->w3 = tx_word((unsigned)i);
    return;
  case NET_STATS: {
    charge_settle();
    struct net_counters t = total;
    sum_counters(&t);
    memcpy(&buf->words[1], &r->c, sizeof r->c);
    memcpy(&buf->words[1 + NET_COUNTERS_WORDS], &t, sizeof t);
    buf->words[1 + 2 * NET_COUNTERS_WORDS] = netd_memory();
    buf->words[2 + 2 * NET_COUNTERS_WORDS] = sys_thread_ns();
    o->words = NET_STATS_WORDS;
    o->w1 = buf->words[1], o->w2 = buf->words[2], o->w3 = buf->words[3];
    return;
  }
  case NET_HOLD:
    if (!test_hooks) { /* elsewhere it is an unknown request */
      r->c.bad_requests++;
      o->err = K_ERR_BAD_SYSCALL;
      return;
    }
    o->err = (u64)arm_hold((unsigned)i);
    o->caps = !o->err;
    return;
  case NET_CLOSE:
    o->err = (u64)close_session((unsigned)i, &o->gifts);
    if (!o->err) {
      buf->caps[0] = SERVER_DONATION_SLOT;
      o->caps = 1;
    }
    return;
  default:
    r->c.bad_requests++;
    o->err = K_ERR_BAD_SYSCALL;
  }
}

/* A device interrupt or netd's timer (TIMER_BIT). */
static void notified(u64 bits) {
  if (echo_port)
    echo_account(1);
  tx_unhold(bits);
  if (bits & ~(TIMER_BIT | HOLD_BIT))
    device_event();
  timers();
  if (echo_port)
    echo_account(0);
}

static void replied(long err) {
  answer_replied(err);
  tx_replied(err);
}

int main(u64 arg) {
  echo_port = (u16)arg;
  test_hooks = (arg & NETD_TEST_HOOKS) != 0;
  env = env_of_program(ENV_SLOT);
  env.end_slot = NETD_PLACE_SLOT; /* the sessions' slots are not env's */
  rx_init();
  tx_init();
  for (unsigned h = 0; h < VIRTQ_SIZE; h++)
    echo_of_head[h] = -1;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = setup();
  if (err) {
    printf("netd: cannot start: %s\n", err_name(err));
    return 1;
  }
  if (echo_port && (err = echo_setup(&env))) {
    printf("netd: no buffers for the echo mode: %s\n", err_name(err));
    return 1;
  }
  if (refill())
    virtio_kick(&dev, RXQ);
  printf("netd: ready, %llu KiB own memory, %u session places%s\n", netd_memory() >> 10, max_sessions,
         echo_port ? ", answering UDP echo itself (diagnostic ceiling mode)" : "");
  charge_start();
  timers();
  static const struct server netd = {.ep = NETD_PUBLIC_EP, .open_label = NET_OPEN, .close_label = NET_CLOSE,
                                     .recv_slots = NET_MAX_GIFTS, .handle = handle, .notified = notified,
                                     .before_block = charge_before_block, .woke = netd_woke,
                                     .replied = replied};
  server_run(&netd, &env, buf);
}
