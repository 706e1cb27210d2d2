/* Attacks a hostile program with an untyped, an endpoint and two threads
 * could make on the kernel, each once a hole (issue 12): what a message
 * names twice, and what a blocked thread's message or receive relies on that
 * went away while it waited. Each must now get a precise error and leave the
 * derivation tree, and the suite's leak check after it, intact. */
#include "ktest.h"

static volatile cptr_t a_ep;
static volatile long a_err;
static volatile int a_done;
static struct k_ipc_buffer *a_buf;

static void __attribute__((noreturn)) finish(void) {
  a_done = 1;
  for (;;)
    sys_thread_exit();
}

static void wait_done(void) {
  for (int i = 0; i < 200 && !a_done; i++)
    sys_yield();
}

/* Receives once into two slots, no window. */
static void receiver(void) {
  a_err = sys_recv(a_ep).err;
  finish();
}

static cptr_t a_recv_first;

static long receiver_up(struct t *t, cptr_t ep, u64 slots, cptr_t *tcb) {
  a_ep = ep;
  a_done = 0;
  a_err = -1;
  a_recv_first = t->e.next_slot;
  t->e.next_slot += slots;
  long err = start_thread_ipc(t, receiver, tcb, &a_buf);
  if (err)
    return err;
  a_buf->recv_cnode = K_BI_SLOT_CNODE;
  a_buf->recv_slot = a_recv_first;
  a_buf->recv_count = slots;
  for (int i = 0; i < 3; i++)
    sys_yield(); /* it blocks in recv */
  return K_ERR_OK;
}

static int slot_empty(cptr_t s) {
  struct k_cap_info ci;
  return type_of(s, &ci) == K_OBJ_NULL;
}

/* Was: the copy went to the receiver as a child of the frame, then the gift
 * moved the frame as if it had no children, leaving the copy with a dead
 * parent that revoke could not reach: a capability to memory reused later. */
KTEST(frame_sent_and_gifted_in_one_message_is_refused) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), rtcb, f;
  EXPECT(ep && new_page(t, &f));
  EXPECT_OK(receiver_up(t, ep, 2, &rtcb));
  main_buf->caps[0] = f;
  main_buf->gifts[0] = (u32)f;
  EXPECT_ERR(sys_send(ep, k_msg_info(1, 0, 1, 1), 0, 0, 0, 0), K_ERR_NAMED_TWICE);
  struct k_cap_info ci;
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && ci.mapped); /* nothing moved */
  EXPECT(slot_empty(a_recv_first) && slot_empty(a_recv_first + 1));
  /* The receiver still waits; a correct message reaches it. */
  EXPECT_OK(sys_send(ep, k_msg_info(1, 0, 1, 0), 0, 0, 0, 0));
  wait_done();
  EXPECT(a_err == K_ERR_OK && type_of(a_recv_first, &ci) == K_OBJ_FRAME_4K);
}

/* Was: the first move emptied the slot, the second "copied" the empty slot
 * into the receiver, linked under a slot that no longer held anything. */
KTEST(untyped_sent_twice_in_one_message_is_refused) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), u = new_obj(t, K_OBJ_UNTYPED, 16), rtcb;
  EXPECT(ep && u);
  EXPECT_OK(receiver_up(t, ep, 2, &rtcb));
  main_buf->caps[0] = u;
  main_buf->caps[1] = u;
  EXPECT_ERR(sys_send(ep, k_msg_info(1, 0, 2, 0), 0, 0, 0, 0), K_ERR_NAMED_TWICE);
  struct k_cap_info ci;
  EXPECT(type_of(u, &ci) == K_OBJ_UNTYPED);
  EXPECT(slot_empty(a_recv_first) && slot_empty(a_recv_first + 1));
}

/* A sender that queues a long message, then loses its IPC buffer. */
static volatile long s_err;
static volatile int s_done;
static struct k_ipc_buffer *s_buf;
static void long_sender(void) {
  s_buf->words[5] = 55;
  s_buf->caps[0] = a_ep;
  s_err = sys_send(a_ep, k_msg_info(2, 6, 0, 0), 1, 2, 3, 4);
  s_done = 1;
  for (;;)
    sys_thread_exit();
}

static void cap_sender(void) {
  s_buf->caps[0] = a_ep;
  s_err = sys_send(a_ep, k_msg_info(2, 0, 1, 0), 1, 2, 3, 4);
  s_done = 1;
  for (;;)
    sys_thread_exit();
}

static long sender_queued(struct t *t, void (*fn)(void), cptr_t ep, cptr_t *tcb) {
  a_ep = ep;
  s_done = 0;
  s_err = -1;
  long err = start_thread_ipc(t, fn, tcb, &s_buf);
  for (int i = 0; i < 3 && !err; i++)
    sys_yield(); /* it queues on the endpoint */
  return err;
}

/* Was: the receiver's recv read the words from a null buffer (a kernel
 * page fault, or a page the receiver mapped at address 0). */
KTEST(queued_sender_that_lost_its_ipc_buffer_learns_why) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), stcb;
  EXPECT(ep);
  EXPECT_OK(sender_queued(t, long_sender, ep, &stcb));
  EXPECT(!s_done);
  EXPECT_OK(sys_tcb_set_ipc_buffer(stcb, 0));
  EXPECT_ERR(sys_nbrecv(ep).err, K_ERR_WOULD_BLOCK); /* its message could not be delivered */
  for (int i = 0; i < 10 && !s_done; i++)
    sys_yield();
  EXPECT(s_done && s_err == K_ERR_NO_IPC_BUFFER);
}

/* The same through a revoke of the buffer's frame: the TCB's copy goes. */
KTEST(queued_sender_whose_buffer_frame_was_revoked_learns_why) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), stcb;
  EXPECT(ep);
  u64 frame_slot = t->e.next_slot; /* start_thread_ipc's frame comes first */
  EXPECT_OK(sender_queued(t, long_sender, ep, &stcb));
  struct k_cap_info ci;
  EXPECT(type_of(frame_slot, &ci) == K_OBJ_FRAME_4K);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, frame_slot));
  EXPECT_ERR(sys_nbrecv(ep).err, K_ERR_WOULD_BLOCK);
  for (int i = 0; i < 10 && !s_done; i++)
    sys_yield();
  EXPECT(s_done && s_err == K_ERR_NO_IPC_BUFFER);
}

/* A thread whose CSpace and VSpace are the suite's, reached through the
 * given copies: revoking a copy empties the thread's own slot. */
static long start_through(struct t *t, void (*fn)(void), cptr_t cspace, cptr_t vspace, cptr_t *tcb,
                          struct k_ipc_buffer **buf) {
  cptr_t f;
  *buf = new_page(t, &f);
  long err = *buf ? start_thread_with(t, fn, cspace, vspace, TEST_PRIORITY, f, tcb) : K_ERR_NO_MEMORY;
  for (int i = 0; i < 3 && !err; i++)
    sys_yield();
  return err;
}

static cptr_t copy_of(struct t *t, cptr_t src) {
  cptr_t s = env_slot(&t->e);
  return sys_cnode_copy(K_BI_SLOT_CNODE, s, K_BI_SLOT_CNODE, src, K_RIGHTS_ALL) ? 0 : s;
}

/* A queued sender of capabilities whose CSpace went: nothing is looked up
 * in a CNode that is no longer its own, and it leaves the queue. */
KTEST(queued_sender_that_lost_its_cspace_leaves_the_queue) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), stcb, cs = copy_of(t, K_BI_SLOT_CNODE);
  EXPECT(ep && cs);
  a_ep = ep;
  s_done = 0;
  EXPECT_OK(start_through(t, cap_sender, cs, K_BI_SLOT_VSPACE, &stcb, &s_buf));
  EXPECT(!s_done);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, cs)); /* the thread's CSpace slot was a copy of cs */
  main_buf->recv_cnode = K_BI_SLOT_CNODE;
  main_buf->recv_slot = env_slot(&t->e);
  main_buf->recv_count = 1;
  long err = sys_nbrecv(ep).err;
  main_buf->recv_count = 0;
  EXPECT_ERR(err, K_ERR_WOULD_BLOCK);
  EXPECT(slot_empty(main_buf->recv_slot));
  struct k_tcb_info info;
  EXPECT_OK(sys_tcb_info(stcb, &info));
  EXPECT(info.state != K_TCB_BLOCKED && !s_done);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, cs)); /* a copy of the suite's CNode: not the test's to revoke */
}

/* Receives once with a window, then reports. */
static volatile u64 w_window;
static void window_receiver(void) {
  a_buf->recv_window = w_window;
  a_buf->recv_window_size = K_PAGE_SIZE;
  a_err = sys_recv(a_ep).err;
  finish();
}

/* Was: the gift path walked the receiver's page tables from a null PML4 (a
 * page at address 0 the sender mapped would have served as one, and the
 * kernel would have written a user-writable entry into it). */
KTEST(gift_to_a_receiver_that_lost_its_vspace_is_refused) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), rtcb, vs = copy_of(t, K_BI_SLOT_VSPACE), f;
  EXPECT(ep && vs && new_page(t, &f));
  w_window = (t->e.next_vaddr + K_LARGE_PAGE_SIZE) & ~(K_LARGE_PAGE_SIZE - 1);
  t->e.next_vaddr = w_window + 2 * K_LARGE_PAGE_SIZE;
  EXPECT_OK(prepare_window(t, w_window, K_PAGE_SIZE));
  a_ep = ep;
  a_done = 0;
  cptr_t first;
  EXPECT_OK(start_through(t, window_receiver, K_BI_SLOT_CNODE, vs, &rtcb, &a_buf));
  a_buf->recv_cnode = K_BI_SLOT_CNODE;
  a_buf->recv_slot = first = env_slot(&t->e);
  a_buf->recv_count = 1;
  EXPECT(!a_done);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, vs)); /* the receiver's VSpace slot was a copy of vs */
  main_buf->gifts[0] = (u32)f;
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(1, 0, 0, 1), 0, 0, 0, 0), K_ERR_WINDOW_NO_TABLES);
  struct k_cap_info ci;
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K && ci.mapped && slot_empty(first));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, vs));
}

/* Was: TCB_SET_IPC_BUFFER copied a pinned frame, so the pin no longer
 * travelled with one capability; a revoke left the PINNED_FRAME in the TCB
 * where DMA_UNPIN could not reach it. */
KTEST(pinned_frame_cannot_become_a_thread_slot) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0), tcb = new_obj(t, K_OBJ_TCB, 0);
  EXPECT(f && tcb);
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f).err);
  EXPECT_ERR(sys_tcb_set_ipc_buffer(tcb, f), K_ERR_PINNED);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f));
  EXPECT_OK(sys_tcb_set_ipc_buffer(tcb, f));
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, f).err, K_ERR_GIFT_HAS_COPIES); /* and no pin once copied */
}

/* Was: a copy of a page table could be mapped in a second address space, so
 * frames gifted into one principal's window showed in another's. */
KTEST(page_tables_have_one_capability) {
  static const u32 types[] = {K_OBJ_PDPT, K_OBJ_PD, K_OBJ_PT};
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), rtcb;
  EXPECT(ep);
  for (unsigned i = 0; i < 3; i++) {
    cptr_t tab = new_obj(t, types[i], 0), d = env_slot(&t->e);
    EXPECT(tab);
    EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, tab, K_RIGHTS_ALL), K_ERR_CANNOT_DERIVE);
    EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, d, K_BI_SLOT_CNODE, tab, K_RIGHTS_ALL, 0), K_ERR_CANNOT_DERIVE);
    main_buf->caps[i] = tab;
  }
  EXPECT_OK(receiver_up(t, ep, 1, &rtcb));
  main_buf->caps[0] = main_buf->caps[2];
  EXPECT_ERR(sys_send(ep, k_msg_info(1, 0, 1, 0), 0, 0, 0, 0), K_ERR_CANNOT_DERIVE);
  EXPECT(slot_empty(a_recv_first));
}

/* A thread that faults on a page that is not there yet. */
static volatile u64 f_va;
static volatile int f_survived;
static void faulter(void) {
  (void)*(volatile u64 *)f_va;
  f_survived = 1;
  for (;;)
    sys_thread_exit();
}

/* Was: a faulted thread queued on its handler's endpoint, woken with
 * PEER_DIED when the endpoint went, ran again from the faulting instruction
 * with rax overwritten, as if its fault had been handled. */
KTEST(faulted_thread_whose_handler_went_stays_stopped) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), tcb, f;
  EXPECT(ep);
  f_va = t->e.next_vaddr;
  t->e.next_vaddr += K_PAGE_SIZE;
  f_survived = 0;
  EXPECT_OK(env_retype(&t->e, K_OBJ_FRAME_4K, 0, &f));
  EXPECT_OK(start_thread(t, faulter, &tcb));
  EXPECT_OK(sys_tcb_set_fault_endpoint(tcb, ep));
  struct k_tcb_info info;
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_BLOCKED); /* queued with its fault message */
  EXPECT_OK(env_map(&t->e, K_BI_SLOT_VSPACE, f, f_va, K_MAP_WRITE)); /* now the read would succeed */
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, ep)); /* the thread's copy, */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ep)); /* then the endpoint itself */
  for (int i = 0; i < 5; i++)
    sys_yield();
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_FAULTED && !f_survived && info.fault_addr == f_va);
}

/* Least authority for drivers: init mints each one an IRQ control that
 * claims only its devices' lines. */
KTEST(irq_control_minted_narrow_claims_only_its_lines) {
  cptr_t narrow = env_slot(&t->e), wider = env_slot(&t->e), h = env_slot(&t->e);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, narrow, K_BI_SLOT_CNODE, K_BI_SLOT_IRQ_CONTROL, K_RIGHTS_ALL, 1u << 5));
  struct k_cap_info ci;
  EXPECT(type_of(narrow, &ci) == K_OBJ_IRQ_CONTROL && ci.badge == 1u << 5);
  EXPECT_ERR(sys_irq_get(narrow, 8, K_BI_SLOT_CNODE, h), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_cnode_mint(K_BI_SLOT_CNODE, wider, K_BI_SLOT_CNODE, narrow, K_RIGHTS_ALL, 1u << 5 | 1u << 8), K_ERR_RANGE);
  EXPECT_OK(sys_irq_get(narrow, 5, K_BI_SLOT_CNODE, h));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, narrow));
}

/* Mach's zalloc panic, tried here: one principal retypes endpoints,
 * notifications, page tables, CNodes and threads from its own untyped
 * until nothing more fits. It gets NO_MEMORY, exactly; a second principal
 * beside it (its objects, its frame's bytes, its notification) sees no
 * change; revoking the first gives every byte back. */
KTEST(object_flood_hurts_only_the_flooder) {
  cptr_t a = env_slot(&t->e), b = env_slot(&t->e), flood = env_slot(&t->e);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 20, K_BI_SLOT_CNODE, a, 1, 91));
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 16, K_BI_SLOT_CNODE, b, 1, 92));
  cptr_t b_ntfn = env_slot(&t->e), b_frame = env_slot(&t->e);
  EXPECT_OK(sys_retype(b, K_OBJ_NOTIFICATION, 0, K_BI_SLOT_CNODE, b_ntfn, 1, 0));
  EXPECT_OK(sys_retype(b, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, b_frame, 1, 0));
  u64 va = t->region;
  EXPECT_OK(env_prepare_tables(&t->e, t->e.vspace, va, K_PAGE_SIZE));
  EXPECT_OK(sys_frame_map(b_frame, t->e.vspace, va, K_MAP_WRITE));
  u8 *bytes = (u8 *)va;
  for (unsigned i = 0; i < K_PAGE_SIZE; i++)
    bytes[i] = (u8)(i * 7 + 3);
  struct k_untyped_usage b0, b1, a1;
  EXPECT_OK(sys_untyped_usage(b, &b0, K_USAGE_RECURSIVE));
  /* The flooder's objects land in a CNode of its own: 4,096 slots. */
  EXPECT_OK(sys_retype(a, K_OBJ_CNODE, 12, K_BI_SLOT_CNODE, flood, 1, 0));
  static const struct { u32 type, bits, chunk; } kinds[] = {
      {K_OBJ_TCB, 0, 64}, {K_OBJ_PT, 0, 16}, {K_OBJ_CNODE, 4, 16}, {K_OBJ_NOTIFICATION, 0, 64}, {K_OBJ_ENDPOINT, 0, 64}};
  u64 slot = 1, made = 0; /* slot 0 of a CNode is the kernel's */
  unsigned n = sizeof kinds / sizeof kinds[0], full = 0; /* bit k: kind k no longer fits */
  while (full != (1u << n) - 1) /* a chunk of each kind in turn, until none fits */
    for (unsigned k = 0; k < n; k++) {
      if (full >> k & 1)
        continue;
      long err = sys_retype(a, kinds[k].type, kinds[k].bits, flood, slot, kinds[k].chunk, 0);
      if (err) {
        EXPECT_ERR(err, K_ERR_NO_MEMORY); /* nothing else, and only when it is full */
        full |= 1u << k;
        continue;
      }
      slot += kinds[k].chunk, made += kinds[k].chunk;
      EXPECT(slot + 64 < 4096);
    }
  for (long err = K_ERR_OK; !err; slot++, made++) /* the last bytes, one endpoint at a time */
    if ((err = sys_retype(a, K_OBJ_ENDPOINT, 0, flood, slot, 1, 0)))
      EXPECT_ERR(err, K_ERR_NO_MEMORY);
  made--;
  EXPECT_OK(sys_untyped_usage(a, &a1, K_USAGE_RECURSIVE));
  EXPECT(a1.free < 64 && a1.count[K_OBJ_TCB] > 0 && a1.count[K_OBJ_PT] > 0 && a1.count[K_OBJ_ENDPOINT] > 0);
  printf("ktest:      the flooder made %llu objects; %llu of its 1 MiB left\n", made, a1.free);
  EXPECT_OK(sys_untyped_usage(b, &b1, K_USAGE_RECURSIVE));
  EXPECT(!memcmp(&b0, &b1, sizeof b0));
  for (unsigned i = 0; i < K_PAGE_SIZE; i++)
    EXPECT(bytes[i] == (u8)(i * 7 + 3));
  EXPECT_OK(sys_signal(b_ntfn));
  struct msg_regs p = sys_poll(b_ntfn);
  EXPECT(!p.err && p.badge != 0); /* its notification works as before */
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, a));
  EXPECT_OK(sys_untyped_usage(a, &a1, K_USAGE_RECURSIVE));
  EXPECT(a1.free == a1.size && a1.size == 1u << 20);
  EXPECT_OK(sys_untyped_usage(b, &b1, K_USAGE_RECURSIVE));
  EXPECT(!memcmp(&b0, &b1, sizeof b0));
  EXPECT_OK(sys_frame_unmap(b_frame));
}

/* A pinned frame whose CNode died went with it, and its memory came back
 * for reuse while the device could still write it. So a pinned frame, and
 * the remnant it leaves, sit only in the root CNode of whoever pinned it:
 * pinning one level down, or moving either out of the root, is refused. */
KTEST(pinned_frames_stay_in_the_pinners_root_cnode) {
  cptr_t ut = env_slot(&t->e), cn = env_slot(&t->e), f = env_slot(&t->e), g = env_slot(&t->e);
  EXPECT_OK(sys_retype(t->ut, K_OBJ_UNTYPED, 16, K_BI_SLOT_CNODE, ut, 1, 0));
  EXPECT_OK(sys_retype(ut, K_OBJ_CNODE, 4, K_BI_SLOT_CNODE, cn, 1, 0));
  EXPECT_OK(sys_retype(ut, K_OBJ_FRAME_4K, 0, cn, 1, 2, 0));
  EXPECT_OK(sys_retype(ut, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, f, 1, 0));
  u64 phys[2];
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, k_cptr_in(cn, 1)).err, K_ERR_PIN_OUTSIDE_ROOT);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, k_cptr_in(cn, 1), 2, phys).err, K_ERR_PIN_OUTSIDE_ROOT);
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f).err);
  EXPECT_ERR(sys_cnode_move(cn, 5, K_BI_SLOT_CNODE, f), K_ERR_PIN_OUTSIDE_ROOT);
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, g, K_BI_SLOT_CNODE, f)); /* within the root */
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, ut)); /* the frame goes: a remnant stays in g */
  EXPECT(sys_cap_type(K_BI_SLOT_CNODE, g).val == K_OBJ_PINNED_FRAME);
  struct k_untyped_usage u;
  EXPECT_OK(sys_untyped_usage(ut, &u, 0));
  EXPECT(u.free < u.size); /* its memory is held back */
  cptr_t cn2 = new_obj(t, K_OBJ_CNODE, 2);
  EXPECT(cn2);
  EXPECT_ERR(sys_cnode_move(cn2, 1, K_BI_SLOT_CNODE, g), K_ERR_PIN_OUTSIDE_ROOT);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, g)); /* the device is done: the remnant goes */
  EXPECT(sys_cap_type(K_BI_SLOT_CNODE, g).val == K_OBJ_NULL);
  EXPECT_OK(sys_untyped_usage(ut, &u, 0));
  EXPECT(u.free == u.size);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ut));
}
