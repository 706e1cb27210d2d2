/* Gifts and donations: frames that move between principals without a copy,
 * the exclusivity rules, and DMA pinning. */
#include "ktest.h"

#define WINDOW_PAGES 600

static volatile cptr_t ep_slot;
static struct k_ipc_buffer *rbuf;
static volatile long r_err;
static volatile u64 r_info, r_mapped, r_sum;
static volatile int r_done;

static void __attribute__((noreturn)) done(void) {
  for (;;)
    sys_thread_exit();
}

/* Receives one message; reads the first word of every page the gifts took. */
static void gift_receiver(void) {
  struct msg_regs r = sys_recv(ep_slot);
  r_err = r.err;
  r_info = r.info;
  r_mapped = rbuf->recv_mapped;
  u64 sum = 0;
  for (u64 off = 0; r.err == K_ERR_OK && off < rbuf->recv_mapped; off += K_PAGE_SIZE)
    sum += *(volatile u64 *)(rbuf->recv_window + off);
  r_sum = sum;
  r_done = 1;
  done();
}

struct rig {
  cptr_t ep, rtcb;
  u64 window;
  cptr_t recv_first;
};

/* A receiver thread blocked in recv, with `slots` receive slots and a
 * window of `pages` pages whose tables exist (when `tables`). */
static long rig_up(struct t *t, struct rig *g, u64 slots, u64 pages, int tables) {
  long err = env_retype(&t->e, K_OBJ_ENDPOINT, 0, &g->ep);
  if (err)
    return err;
  ep_slot = g->ep;
  r_done = 0;
  g->window = (t->e.next_vaddr + K_LARGE_PAGE_SIZE) & ~(K_LARGE_PAGE_SIZE - 1);
  t->e.next_vaddr = g->window + pages * K_PAGE_SIZE + K_LARGE_PAGE_SIZE;
  if (tables && (err = prepare_window(t, g->window, pages * K_PAGE_SIZE)))
    return err;
  g->recv_first = t->e.next_slot;
  t->e.next_slot += slots;
  if ((err = start_thread_ipc(t, gift_receiver, &g->rtcb, &rbuf)))
    return err;
  rbuf->recv_cnode = K_BI_SLOT_CNODE;
  rbuf->recv_slot = g->recv_first;
  rbuf->recv_count = slots;
  rbuf->recv_window = g->window;
  rbuf->recv_window_size = pages * K_PAGE_SIZE;
  for (int i = 0; i < 3; i++)
    sys_yield();
  return K_ERR_OK;
}

/* n fresh frames mapped at the next free addresses, word i written in each. */
static long make_gifts(struct t *t, u32 n, u64 *va) {
  *va = t->e.next_vaddr;
  for (u32 i = 0; i < n; i++) {
    cptr_t f;
    void *p = new_page(t, &f);
    if (!p)
      return K_ERR_NO_MEMORY;
    *(volatile u64 *)p = i + 1;
    main_buf->gifts[i] = (u32)f;
  }
  return K_ERR_OK;
}

static long gift(cptr_t ep, u32 n) { return sys_send(ep, k_msg_info(1, 0, 0, n), 0, 0, 0, 0); }

KTEST(gift_moves_frames_to_the_receiver) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 8, 8, 1));
  EXPECT_OK(make_gifts(t, 8, &va));
  u32 first = main_buf->gifts[0];
  struct k_cap_info before;
  EXPECT(type_of(first, &before) == K_OBJ_FRAME_4K && before.mapped);
  EXPECT_OK(gift(g.ep, 8));
  for (int i = 0; i < 100 && !r_done; i++)
    sys_yield();
  EXPECT(r_err == K_ERR_OK && k_msg_gifts(r_info) == 8 && r_mapped == 8 * K_PAGE_SIZE);
  EXPECT(r_sum == 36); /* 1 + 2 + ... + 8, read through the window */
  struct k_cap_info ci;
  EXPECT(type_of(first, &ci) == K_OBJ_NULL); /* the giver's capability is gone */
  EXPECT(type_of(g.recv_first, &ci) == K_OBJ_FRAME_4K && ci.mapped && ci.mapped_vaddr == g.window);
  EXPECT(ci.label == before.label); /* the owner never changes */
}

static volatile u64 touch_va;
static void touch(void) {
  (void)*(volatile u64 *)touch_va;
  done();
}

KTEST(giver_faults_on_a_gifted_page) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 1, 1, 1));
  EXPECT_OK(make_gifts(t, 1, &va));
  EXPECT_OK(gift(g.ep, 1));
  touch_va = va;
  cptr_t tcb;
  struct k_tcb_info info;
  EXPECT_OK(start_thread(t, touch, &tcb));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_FAULTED);
  EXPECT(info.fault_vector == 14 && info.fault_addr == va);
}

/* A refused batch moves nothing: every frame stays mapped with the giver. */
static int nothing_moved(u32 n, u64 va) {
  struct k_cap_info ci;
  for (u32 i = 0; i < n; i++)
    if (type_of(main_buf->gifts[i], &ci) != K_OBJ_FRAME_4K || !ci.mapped ||
        *(volatile u64 *)(va + i * K_PAGE_SIZE) != i + 1)
      return 0;
  return 1;
}

KTEST(gift_refuses_bad_entries_and_names_the_first) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 8, 8, 1));
  EXPECT_OK(make_gifts(t, 4, &va));
  u32 keep = main_buf->gifts[2];
  cptr_t ep2 = new_obj(t, K_OBJ_ENDPOINT, 0), copy = env_slot(&t->e);
  main_buf->gifts[2] = (u32)ep2;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_GIFT_NOT_FRAME);
  EXPECT(main_buf->gift_error_index == 2);
  main_buf->gifts[2] = 900; /* an empty slot: a frame the sender does not hold */
  EXPECT_ERR(gift(g.ep, 4), K_ERR_EMPTY_SLOT);
  main_buf->gifts[2] = 5000;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_INVALID_CAP);
  main_buf->gifts[2] = main_buf->gifts[1];
  EXPECT_ERR(gift(g.ep, 4), K_ERR_GIFT_DUPLICATE);
  EXPECT(main_buf->gift_error_index == 2);
  main_buf->gifts[2] = keep;
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, keep, K_RIGHTS_ALL));
  EXPECT_ERR(gift(g.ep, 4), K_ERR_GIFT_HAS_COPIES);
  EXPECT_OK(sys_frame_map(copy, K_BI_SLOT_VSPACE, t->e.next_vaddr, 0));
  t->e.next_vaddr += K_PAGE_SIZE;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_GIFT_MAPPED_ELSEWHERE);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, copy));
  struct sysret pin = sys_dma_pin(K_BI_SLOT_DMA, keep);
  EXPECT_OK(pin.err);
  EXPECT_ERR(gift(g.ep, 4), K_ERR_GIFT_PINNED);
  EXPECT(main_buf->gift_error_index == 2);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, keep));
  EXPECT(nothing_moved(4, va));
  EXPECT(!r_done);
  EXPECT_OK(gift(g.ep, 4)); /* and now it goes */
}

/* Gifts may be slots of a CNode one level down (gift_cnode names its root
 * slot): a server hands a client's frames back from a CNode made of the
 * client's memory. The sender must be able to write that CNode; a slot
 * that holds no CNode, or one past the root, makes every entry invalid. */
KTEST(gifts_leave_a_cnode_one_level_down) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 3, 3, 1));
  EXPECT_OK(make_gifts(t, 3, &va));
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 4), ro = env_slot(&t->e);
  for (u32 i = 0; i < 3; i++)
    EXPECT_OK(sys_cnode_move(cn, 1 + i, K_BI_SLOT_CNODE, main_buf->gifts[i]));
  for (u32 i = 0; i < 3; i++)
    main_buf->gifts[i] = 1 + i;
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, cn, K_RIGHT_READ, 0));
  main_buf->gift_cnode = ro;
  EXPECT_ERR(gift(g.ep, 3), K_ERR_INVALID_CAP); /* read only: the gifts could not leave it */
  main_buf->gift_cnode = g.ep;
  EXPECT_ERR(gift(g.ep, 3), K_ERR_INVALID_CAP); /* not a CNode */
  main_buf->gift_cnode = 1ull << 40;
  EXPECT_ERR(gift(g.ep, 3), K_ERR_INVALID_CAP); /* past the root */
  EXPECT(!r_done);
  main_buf->gift_cnode = cn;
  long err = gift(g.ep, 3);
  main_buf->gift_cnode = 0;
  EXPECT_OK(err);
  for (int i = 0; i < 100 && !r_done; i++)
    sys_yield();
  EXPECT(r_err == K_ERR_OK && k_msg_gifts(r_info) == 3 && r_sum == 6); /* 1 + 2 + 3, through the window */
  EXPECT(sys_cap_type(cn, 1).val == K_OBJ_NULL && sys_cap_type(cn, 3).val == K_OBJ_NULL);
  struct k_cap_info ci;
  EXPECT(type_of(g.recv_first + 2, &ci) == K_OBJ_FRAME_4K && ci.mapped);
}

/* The receiver's slots from `first` hold nothing: no entry of a refused
 * batch reached them. */
static int slots_empty_from(cptr_t first, u32 n) {
  struct k_cap_info ci;
  for (u32 i = 0; i < n; i++)
    if (type_of(first + i, &ci) != K_OBJ_NULL)
      return 0;
  return 1;
}

/* A batch refused at its middle or its last entry moves none of it, not
 * even the good entries before the bad one: the giver holds and maps every
 * frame, the receiver's slots stay empty and it is still waiting. */
KTEST(a_refused_gift_batch_moves_no_entry) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 5, 5, 1));
  EXPECT_OK(make_gifts(t, 5, &va));
  cptr_t ep2 = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(ep2);
  u32 mid = main_buf->gifts[2], last = main_buf->gifts[4];
  main_buf->gifts[2] = (u32)ep2;
  EXPECT_ERR(gift(g.ep, 5), K_ERR_GIFT_NOT_FRAME);
  EXPECT(main_buf->gift_error_index == 2);
  main_buf->gifts[2] = mid;
  EXPECT(nothing_moved(5, va) && slots_empty_from(g.recv_first, 5) && !r_done);
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, last).err);
  EXPECT_ERR(gift(g.ep, 5), K_ERR_GIFT_PINNED);
  EXPECT(main_buf->gift_error_index == 4);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, last));
  EXPECT(nothing_moved(5, va) && slots_empty_from(g.recv_first, 5) && !r_done);
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0); /* the receiver's last page is taken */
  EXPECT(f);
  EXPECT_OK(sys_frame_map(f, K_BI_SLOT_VSPACE, g.window + 4 * K_PAGE_SIZE, 0));
  EXPECT_ERR(gift(g.ep, 5), K_ERR_WINDOW_OCCUPIED);
  EXPECT(main_buf->gift_error_index == 4);
  EXPECT(nothing_moved(5, va) && slots_empty_from(g.recv_first, 5) && !r_done);
  EXPECT_OK(sys_frame_unmap(f));
  EXPECT_OK(gift(g.ep, 5));
  for (int i = 0; i < 100 && !r_done; i++)
    sys_yield();
  EXPECT(r_err == K_ERR_OK && k_msg_gifts(r_info) == 5 && r_sum == 15);
}

KTEST(gift_refuses_a_bad_receive_side) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 4, 4, 0)); /* no page tables under the window */
  EXPECT_OK(make_gifts(t, 4, &va));
  rbuf->recv_count = 2;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_RECV_SLOTS_FULL); /* 2 slots for 4 gifts */
  rbuf->recv_count = 4;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_WINDOW_NO_TABLES);
  EXPECT_OK(prepare_window(t, g.window, 4 * K_PAGE_SIZE));
  rbuf->recv_window_size = 3 * K_PAGE_SIZE;
  EXPECT_ERR(gift(g.ep, 4), K_ERR_WINDOW_TOO_SMALL);
  EXPECT(main_buf->gift_error_index == 3);
  rbuf->recv_window_size = 4 * K_PAGE_SIZE;
  cptr_t f;
  EXPECT(new_obj(t, K_OBJ_FRAME_4K, 0));
  f = t->e.next_slot - 1;
  EXPECT_OK(sys_frame_map(f, K_BI_SLOT_VSPACE, g.window + 2 * K_PAGE_SIZE, 0));
  EXPECT_ERR(gift(g.ep, 4), K_ERR_WINDOW_OCCUPIED);
  EXPECT_OK(sys_frame_unmap(f));
  cptr_t blocker = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, g.recv_first + 1, K_BI_SLOT_CNODE, blocker));
  EXPECT_ERR(gift(g.ep, 4), K_ERR_RECV_SLOTS_FULL);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, g.recv_first + 1));
  EXPECT(nothing_moved(4, va));
  EXPECT_OK(gift(g.ep, 4));
}

static volatile long sender_err;
static struct k_ipc_buffer *sender_buf;
static volatile u32 sender_gifts[2];
static void blocked_gifter(void) {
  sender_buf->gifts[0] = sender_gifts[0];
  sender_buf->gifts[1] = sender_gifts[1];
  sender_err = 1000;
  sender_err = sys_send(ep_slot, k_msg_info(0, 0, 0, 2), 0, 0, 0, 0);
  done();
}

KTEST(gift_to_a_receiver_that_died_keeps_the_frames) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  u64 va;
  EXPECT(ep);
  EXPECT_OK(make_gifts(t, 2, &va));
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(0, 0, 0, 2), 0, 0, 0, 0), K_ERR_WOULD_BLOCK);
  /* A call to a server that receives, then dies before it can reply. */
  struct rig g;
  EXPECT_OK(rig_up(t, &g, 2, 2, 1));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, g.rtcb));
  EXPECT_ERR(sys_nbsend(g.ep, k_msg_info(0, 0, 0, 2), 0, 0, 0, 0), K_ERR_WOULD_BLOCK);
  EXPECT(nothing_moved(2, va));
  /* A sender blocked with its gifts on an endpoint that then goes away. */
  ep_slot = ep;
  sender_gifts[0] = main_buf->gifts[0];
  sender_gifts[1] = main_buf->gifts[1];
  cptr_t tcb;
  struct k_tcb_info info;
  EXPECT_OK(start_thread_ipc(t, blocked_gifter, &tcb, &sender_buf));
  for (int i = 0; i < 3; i++)
    sys_yield();
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_BLOCKED && sender_err == 1000);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ep));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_EXITED);
  EXPECT_ERR(sender_err, K_ERR_PEER_DIED);
  EXPECT(nothing_moved(2, va));
}

KTEST(large_frames_and_big_batches) {
  struct rig g;
  u64 va;
  EXPECT_OK(rig_up(t, &g, 512, WINDOW_PAGES, 1));
  EXPECT_OK(make_gifts(t, 512, &va));
  EXPECT_OK(gift(g.ep, 512));
  for (int i = 0; i < 100 && !r_done; i++)
    sys_yield();
  EXPECT(r_err == K_ERR_OK && k_msg_gifts(r_info) == 512 && r_sum == 512 * 513 / 2);
}

/* Upper tables for 2 MiB mappings at va (those already there serve). */
static long large_tables(struct t *t, u64 va) {
  cptr_t pdpt = new_obj(t, K_OBJ_PDPT, 0), pd = new_obj(t, K_OBJ_PD, 0);
  if (!pdpt || !pd)
    return K_ERR_NO_MEMORY;
  long e = sys_page_table_map(pdpt, K_BI_SLOT_VSPACE, va);
  if (e && e != K_ERR_MAPPING_EXISTS)
    return e;
  e = sys_page_table_map(pd, K_BI_SLOT_VSPACE, va);
  return e == K_ERR_MAPPING_EXISTS ? K_ERR_OK : e;
}

/* A mapped 2 MiB frame leaves the giver as a 4 KiB one does: its slot is
 * empty and a read of its old address faults there. */
KTEST(large_frame_gift) {
  struct rig g;
  EXPECT_OK(rig_up(t, &g, 1, 1024, 0));
  cptr_t big = new_obj(t, K_OBJ_FRAME_2M, 0);
  EXPECT(big);
  EXPECT_OK(large_tables(t, g.window));
  u64 va = (t->e.next_vaddr + K_LARGE_PAGE_SIZE - 1) & ~(K_LARGE_PAGE_SIZE - 1);
  t->e.next_vaddr = va + K_LARGE_PAGE_SIZE;
  EXPECT_OK(large_tables(t, va));
  EXPECT_OK(sys_frame_map(big, K_BI_SLOT_VSPACE, va, K_MAP_WRITE));
  *(volatile u64 *)va = 0x2b16;
  main_buf->gifts[0] = (u32)big;
  EXPECT_OK(gift(g.ep, 1));
  for (int i = 0; i < 100 && !r_done; i++)
    sys_yield();
  EXPECT(r_err == K_ERR_OK && r_mapped == K_LARGE_PAGE_SIZE && r_sum == 0x2b16);
  struct k_cap_info ci;
  EXPECT(type_of(big, &ci) == K_OBJ_NULL);
  EXPECT(type_of(g.recv_first, &ci) == K_OBJ_FRAME_2M && ci.mapped && ci.mapped_vaddr == g.window);
  touch_va = va;
  cptr_t tcb;
  struct k_tcb_info info;
  EXPECT_OK(start_thread(t, touch, &tcb));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_FAULTED);
  EXPECT(info.fault_vector == 14 && info.fault_addr == va);
}

KTEST(dma_pin_rules) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0), copy = env_slot(&t->e), g = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(f && g);
  struct sysret r = sys_dma_pin(K_BI_SLOT_DMA, f);
  EXPECT(r.err == K_ERR_OK && r.val != 0 && (r.val & 0xfff) == 0);
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, f).err, K_ERR_PINNED);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, f, K_RIGHTS_ALL), K_ERR_PINNED);
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_TCB, f).err, K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, K_BI_SLOT_TCB).err, K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f));
  EXPECT_ERR(sys_dma_unpin(K_BI_SLOT_DMA, f), K_ERR_NOT_PINNED);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, g, K_RIGHTS_ALL));
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, g).err, K_ERR_GIFT_HAS_COPIES);
}

/* DMA_PIN_RANGE pins a run of frames in one call, or none of them. */
static int none_pinned(cptr_t first, u64 n) {
  for (u64 i = 0; i < n; i++) {
    struct k_cap_info ci;
    if (type_of(first + i, &ci) == K_OBJ_FRAME_4K && sys_dma_unpin(K_BI_SLOT_DMA, first + i) != K_ERR_NOT_PINNED)
      return 0;
  }
  return 1;
}

/* n fresh 4 KiB frames in consecutive slots (the first returned, 0 if
 * they could not be made) and a page for their physical addresses. */
static cptr_t frame_run(struct t *t, u64 n, u64 **phys) {
  cptr_t pg;
  *phys = new_page(t, &pg);
  cptr_t f = env_slot(&t->e); /* the slot after the run stays free */
  t->e.next_slot += n - 1;
  return *phys && !sys_retype(t->ut, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, f, n, 0) ? f : 0;
}

KTEST(dma_pin_range_is_all_or_nothing) {
  enum { N = 8 };
  u64 *phys;
  cptr_t f = frame_run(t, N, &phys);
  EXPECT(f);
  struct sysret r = sys_dma_pin_range(K_BI_SLOT_DMA, f, N, phys);
  EXPECT_OK(r.err);
  for (u64 i = 0; i < N; i++) { /* the same addresses one at a time */
    EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f + i));
    struct sysret one = sys_dma_pin(K_BI_SLOT_DMA, f + i);
    EXPECT(one.err == K_ERR_OK && one.val == phys[i] && phys[i] && (phys[i] & 0xfff) == 0);
    EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f + i));
  }
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, f, 0, phys).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, f, K_DMA_PIN_RANGE_MAX + 1, phys).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, ~0ull - 2, N, phys).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_TCB, f, N, phys).err, K_ERR_WRONG_TYPE);
  /* where the addresses go must be ours and writable */
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, f, N, (u64 *)0xffffffff80100000ull).err, K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_dma_pin_range(K_BI_SLOT_DMA, f, N, (u64 *)(t->e.next_vaddr + 64 * K_PAGE_SIZE)).err,
             K_ERR_FAULT_ADDRESS);
  EXPECT(none_pinned(f, N));
  /* one bad slot in the run: nothing pinned, and its offset reported */
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f + 5).err);
  r = sys_dma_pin_range(K_BI_SLOT_DMA, f, N, phys);
  EXPECT(r.err == K_ERR_PINNED && r.val == 5);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f + 5));
  EXPECT(none_pinned(f, N));
  cptr_t copy = env_slot(&t->e);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, f + 2, K_RIGHTS_ALL));
  r = sys_dma_pin_range(K_BI_SLOT_DMA, f, N, phys);
  EXPECT(r.err == K_ERR_GIFT_HAS_COPIES && r.val == 2);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, copy));
  EXPECT(none_pinned(f, N));
  r = sys_dma_pin_range(K_BI_SLOT_DMA, f, N + 1, phys); /* the slot after the run is empty (copy's) */
  EXPECT(r.err == K_ERR_EMPTY_SLOT && r.val == N);
  EXPECT(none_pinned(f, N));
  cptr_t tcb = new_obj(t, K_OBJ_TCB, 0);
  r = sys_dma_pin_range(K_BI_SLOT_DMA, tcb, 1, phys);
  EXPECT(r.err == K_ERR_WRONG_TYPE && r.val == 0);
  cptr_t big = new_obj(t, K_OBJ_FRAME_2M, 0);
  r = sys_dma_pin_range(K_BI_SLOT_DMA, big, 1, phys);
  EXPECT(r.err == K_ERR_WRONG_TYPE && r.val == 0); /* 4 KiB frames only */
}

/* DMA_PIN_RANGE with destinations pins a run and moves frame i to root
 * slot dests[i] in the same call, or does nothing: the destinations must
 * be increasing, empty, in the root, and at most K_DMA_PIN_TO_MAX. */
KTEST(dma_pin_range_to_moves_or_does_nothing) {
  enum { N = 4 };
  u64 *phys;
  cptr_t f = frame_run(t, N, &phys), to = env_slot(&t->e);
  t->e.next_slot += N; /* to .. to + N: free */
  EXPECT(f);
  cptr_t pg;
  u64 *dests = new_page(t, &pg);
  EXPECT(dests);
  for (u64 i = 0; i < N; i++)
    dests[i] = to + i;
  struct sysret r;
  dests[2] = to + 1; /* not increasing */
  r = sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests);
  EXPECT(r.err == K_ERR_RANGE && r.val == 2);
  dests[2] = pg; /* occupied (the page of dests, made after them) */
  r = sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests);
  EXPECT(r.err == K_ERR_SLOT_OCCUPIED && r.val == 2);
  dests[2] = to + 2;
  dests[0] = f + 3; /* a slot of the run itself: occupied until its frame moves */
  r = sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests);
  EXPECT(r.err == K_ERR_SLOT_OCCUPIED && r.val == 0);
  dests[0] = to;
  dests[3] = k_cptr_in(K_BI_SLOT_CNODE, to + 3); /* one level down: pinned frames stay in the root */
  r = sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests);
  EXPECT(r.err == K_ERR_RANGE && r.val == 3);
  dests[3] = ~0u; /* past the root's end */
  EXPECT_ERR(sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests).err, K_ERR_INVALID_CAP);
  dests[3] = to + 3;
  EXPECT_ERR(sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, (u64 *)0xffffffff80100000ull).err, K_ERR_BAD_ADDRESS);
  EXPECT_ERR(sys_dma_pin_range_to(K_BI_SLOT_DMA, f, K_DMA_PIN_TO_MAX + 1, phys, dests).err, K_ERR_RANGE);
  EXPECT(none_pinned(f, N));
  struct k_cap_info ci;
  for (u64 i = 0; i < N; i++)
    EXPECT(type_of(to + i, &ci) == K_OBJ_NULL);
  r = sys_dma_pin_range_to(K_BI_SLOT_DMA, f, N, phys, dests);
  EXPECT_OK(r.err);
  for (u64 i = 0; i < N; i++) { /* moved, pinned, at the addresses given */
    EXPECT(type_of(f + i, &ci) == K_OBJ_NULL && type_of(to + i, &ci) == K_OBJ_FRAME_4K);
    EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, to + i).err, K_ERR_PINNED);
    EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, to + i));
    struct sysret one = sys_dma_pin(K_BI_SLOT_DMA, to + i);
    EXPECT(one.err == K_ERR_OK && one.val == phys[i] && phys[i]);
    EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, to + i));
  }
}

/* DMA_UNPIN_RANGE unpins a run of frames in one call, or none of them; a
 * pinned frame's remnant in the run is released. */
KTEST(dma_unpin_range_is_all_or_nothing) {
  enum { N = 8 };
  u64 *phys;
  cptr_t f = frame_run(t, N, &phys);
  EXPECT(f);
  EXPECT_OK(sys_dma_pin_range(K_BI_SLOT_DMA, f, N, phys).err);
  EXPECT_ERR(sys_dma_unpin_range(K_BI_SLOT_DMA, f, 0).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_unpin_range(K_BI_SLOT_DMA, f, K_DMA_PIN_RANGE_MAX + 1).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_unpin_range(K_BI_SLOT_DMA, ~0ull - 2, N).err, K_ERR_RANGE);
  EXPECT_ERR(sys_dma_unpin_range(K_BI_SLOT_TCB, f, N).err, K_ERR_WRONG_TYPE);
  /* one frame in the run not pinned: nothing unpinned, its offset reported */
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f + 3));
  struct sysret r = sys_dma_unpin_range(K_BI_SLOT_DMA, f, N);
  EXPECT(r.err == K_ERR_NOT_PINNED && r.val == 3);
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, f + 2).err, K_ERR_PINNED); /* still pinned */
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f + 3).err);
  cptr_t tcb = new_obj(t, K_OBJ_TCB, 0);
  r = sys_dma_unpin_range(K_BI_SLOT_DMA, tcb, 1);
  EXPECT(r.err == K_ERR_WRONG_TYPE && r.val == 0);
  /* frame 7 deleted while pinned leaves a remnant: the run releases it too */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f + N - 1));
  struct k_cap_info ci;
  EXPECT(type_of(f + N - 1, &ci) == K_OBJ_PINNED_FRAME);
  EXPECT_OK(sys_dma_unpin_range(K_BI_SLOT_DMA, f, N).err);
  EXPECT(none_pinned(f, N - 1));
  EXPECT(type_of(f + N - 1, &ci) == K_OBJ_NULL);
}

/* DMA_UNPIN with a destination unpins and moves in one call, or does
 * neither: every slot is checked first. A pinned remain is released and
 * moves nowhere (result 0). */
KTEST(dma_unpin_to_moves_or_does_nothing) {
  cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0), other = new_obj(t, K_OBJ_FRAME_4K, 0);
  cptr_t cn = new_obj(t, K_OBJ_CNODE, 4), ro = env_slot(&t->e);
  EXPECT(f && other && cn);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, cn, K_RIGHT_READ));
  EXPECT_OK(sys_cnode_copy(cn, 2, K_BI_SLOT_CNODE, other, K_RIGHTS_ALL));
  struct k_cap_info ci;
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f).err);
  struct sysret r = sys_dma_unpin_to(K_BI_SLOT_DMA, f, cn, 2); /* occupied */
  EXPECT(r.err == K_ERR_SLOT_OCCUPIED && r.val == 0);
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_DMA, f, cn, 1 << 4).err, K_ERR_INVALID_CAP); /* past its end */
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_DMA, f, ro, 1).err, K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_DMA, f, other, 1).err, K_ERR_WRONG_TYPE); /* not a CNode */
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_DMA, f, K_BI_SLOT_CNODE, f).err, K_ERR_SAME_SLOT);
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_TCB, f, cn, 1).err, K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_dma_pin(K_BI_SLOT_DMA, f).err, K_ERR_PINNED); /* none of those unpinned it */
  EXPECT(type_of(f, &ci) == K_OBJ_FRAME_4K);
  r = sys_dma_unpin_to(K_BI_SLOT_DMA, f, cn, 1);
  EXPECT(r.err == K_ERR_OK && r.val == 1);
  EXPECT(type_of(f, &ci) == K_OBJ_NULL);
  EXPECT_OK(sys_cap_identify(cn, 1, &ci));
  EXPECT(ci.type == K_OBJ_FRAME_4K);
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, f, cn, 1));
  EXPECT_ERR(sys_dma_unpin_to(K_BI_SLOT_DMA, f, cn, 1).err, K_ERR_NOT_PINNED); /* the frame moved back, unpinned */
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f).err); /* and can be pinned again */
  /* a frame deleted while pinned leaves a remain: released, moved nowhere */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f));
  EXPECT(type_of(f, &ci) == K_OBJ_PINNED_FRAME);
  r = sys_dma_unpin_to(K_BI_SLOT_DMA, f, cn, 1);
  EXPECT(r.err == K_ERR_OK && r.val == 0);
  EXPECT(type_of(f, &ci) == K_OBJ_NULL);
  EXPECT_OK(sys_cap_identify(cn, 1, &ci));
  EXPECT(ci.type == K_OBJ_NULL);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ro));
}

/* Revoking memory under a pinned frame must not let it be reused while a
 * device may still write it: the untyped stays reserved until the unpin. */
KTEST(revoke_defers_reuse_of_pinned_memory) {
  struct k_untyped_usage u;
  cptr_t sub = new_obj(t, K_OBJ_UNTYPED, 16);
  EXPECT(sub);
  cptr_t f = env_slot(&t->e);
  EXPECT_OK(sys_retype(sub, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, f, 1, 0));
  EXPECT_OK(sys_dma_pin(K_BI_SLOT_DMA, f).err);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, sub));
  struct k_cap_info ci;
  EXPECT(type_of(f, &ci) == K_OBJ_PINNED_FRAME && ci.size == K_PAGE_SIZE && ci.rights == 0);
  EXPECT_OK(sys_untyped_usage(sub, &u, 0));
  EXPECT(u.count[K_OBJ_PINNED_FRAME] == 1 && u.free == u.size - K_PAGE_SIZE);
  cptr_t again = env_slot(&t->e);
  EXPECT_OK(sys_retype(sub, K_OBJ_FRAME_4K, 0, K_BI_SLOT_CNODE, again, 1, 0));
  EXPECT(type_of(again, &ci) == K_OBJ_FRAME_4K);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, again));
  EXPECT_ERR(sys_frame_map(f, K_BI_SLOT_VSPACE, t->e.next_vaddr, 0), K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, f)); /* no effect: only unpin frees it */
  EXPECT(type_of(f, &ci) == K_OBJ_PINNED_FRAME);
  EXPECT_OK(sys_dma_unpin(K_BI_SLOT_DMA, f));
  EXPECT(type_of(f, &ci) == K_OBJ_NULL);
  EXPECT_OK(sys_untyped_usage(sub, &u, 0));
  EXPECT(u.free == u.size && u.count[K_OBJ_PINNED_FRAME] == 0);
}

/* The donation round trip: the client gifts empty frames to a server, which
 * pins them, writes into them (standing in for a device), unpins them and
 * gifts them back; the client reads the data; the owner never changed. */
static cptr_t srv_ep;
static struct k_ipc_buffer *sbuf;
static volatile cptr_t srv_first;
static volatile u64 srv_window;
static volatile u64 srv_paddr_ok;

static void donation_server(void) {
  struct msg_regs r = sys_recv(srv_ep);
  u64 n = k_msg_gifts(r.info);
  srv_paddr_ok = 1;
  for (u64 i = 0; i < n; i++) {
    cptr_t f = srv_first + i;
    struct sysret pin = sys_dma_pin(K_BI_SLOT_DMA, f);
    if (pin.err || !pin.val)
      srv_paddr_ok = 0;
    *(volatile u64 *)(srv_window + i * K_PAGE_SIZE) = 0xd0d0 + i; /* "the device" */
    sys_dma_unpin(K_BI_SLOT_DMA, f);
    sbuf->gifts[i] = (u32)f;
  }
  sys_reply(k_msg_info(0, 0, 0, n), 0, 0, 0, 0);
  done();
}

KTEST(donation_round_trip) {
  srv_ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(srv_ep);
  srv_window = (t->e.next_vaddr + K_LARGE_PAGE_SIZE) & ~(K_LARGE_PAGE_SIZE - 1);
  t->e.next_vaddr = srv_window + 2 * K_LARGE_PAGE_SIZE;
  u64 back = t->e.next_vaddr;
  t->e.next_vaddr += K_LARGE_PAGE_SIZE;
  EXPECT_OK(prepare_window(t, srv_window, 4 * K_PAGE_SIZE));
  EXPECT_OK(prepare_window(t, back, 4 * K_PAGE_SIZE));
  srv_first = t->e.next_slot;
  cptr_t back_first = srv_first + 4;
  t->e.next_slot += 8;
  cptr_t tcb;
  EXPECT_OK(start_thread_ipc(t, donation_server, &tcb, &sbuf));
  *sbuf = (struct k_ipc_buffer){.recv_cnode = K_BI_SLOT_CNODE, .recv_slot = srv_first, .recv_count = 4,
                              .recv_window = srv_window, .recv_window_size = 4 * K_PAGE_SIZE};
  for (int i = 0; i < 3; i++)
    sys_yield();
  u32 label = 0;
  for (int i = 0; i < 4; i++) {
    cptr_t f = new_obj(t, K_OBJ_FRAME_4K, 0);
    struct k_cap_info ci;
    EXPECT(f && type_of(f, &ci) == K_OBJ_FRAME_4K);
    label = ci.label;
    main_buf->gifts[i] = (u32)f;
  }
  main_buf->recv_cnode = K_BI_SLOT_CNODE;
  main_buf->recv_slot = back_first;
  main_buf->recv_count = 4;
  main_buf->recv_window = back;
  main_buf->recv_window_size = 4 * K_PAGE_SIZE;
  struct msg_regs r = sys_call(srv_ep, k_msg_info(0, 0, 0, 4), 0, 0, 0, 0);
  main_buf->recv_window = 0;
  main_buf->recv_count = 0;
  EXPECT_OK(r.err);
  EXPECT(k_msg_gifts(r.info) == 4 && srv_paddr_ok);
  for (u64 i = 0; i < 4; i++) {
    struct k_cap_info ci;
    EXPECT(type_of(back_first + i, &ci) == K_OBJ_FRAME_4K && ci.label == label);
    EXPECT(*(volatile u64 *)(back + i * K_PAGE_SIZE) == 0xd0d0 + i);
  }
}
