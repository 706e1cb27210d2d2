/* Endpoints, notifications, faults to a handler, peer death. */
#include "ktest.h"

static volatile cptr_t ep_slot, ntfn_slot;
static volatile long srv_err;
static volatile u64 srv_badge, srv_info, srv_words[8];
static struct k_ipc_buffer *srv_buf;
static volatile int srv_done;

static void __attribute__((noreturn)) done(void) {
  for (;;)
    sys_thread_exit();
}

/* Receives one message and records it. */
static void receive_once(void) {
  struct msg_regs r = sys_recv(ep_slot);
  srv_err = r.err;
  srv_badge = r.badge;
  srv_info = r.info;
  for (int i = 0; i < 4; i++)
    srv_words[i] = r.w[i];
  for (int i = 4; i < 8; i++)
    srv_words[i] = srv_buf->words[i];
  srv_done = 1;
  done();
}

/* Answers every call with w0 + 1 until it is deleted. */
static void echo_server(void) {
  struct msg_regs r = sys_recv(ep_slot);
  for (;;)
    r = sys_reply_recv(ep_slot, k_msg_info(0, 1, 0, 0), r.w[0] + 1, 0, 0, 0);
}

/* Receives a call and never answers: it waits on a notification forever. */
static void silent_server(void) {
  sys_recv(ep_slot);
  srv_done = 1;
  sys_wait(ntfn_slot);
  done();
}

static void wait_flag(volatile int *flag) {
  for (int i = 0; i < 1000 && !*flag; i++)
    sys_yield();
}

/* Starts receive_once on ep, taking one capability into dest (0: none),
 * and lets it block in its receive. */
static long start_receiver(struct t *t, cptr_t ep, cptr_t dest, cptr_t *tcb) {
  ep_slot = ep;
  srv_done = 0;
  long err = start_thread_ipc(t, receive_once, tcb, &srv_buf);
  if (err)
    return err;
  srv_buf->recv_cnode = K_BI_SLOT_CNODE;
  srv_buf->recv_slot = dest;
  srv_buf->recv_count = dest ? 1 : 0;
  struct k_tcb_info info;
  return wait_not_runnable(*tcb, &info) == K_TCB_BLOCKED ? K_ERR_OK : K_ERR_BAD_STATE;
}

KTEST(send_delivers_words_label_and_badge) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), badged = env_slot(&t->e), tcb;
  EXPECT(ep);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, badged, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL, 0xb0b));
  EXPECT_OK(start_receiver(t, ep, 0, &tcb));
  for (int i = 4; i < 8; i++)
    main_buf->words[i] = 100 + i;
  EXPECT_OK(sys_send(badged, k_msg_info(77, 8, 0, 0), 10, 11, 12, 13));
  wait_flag(&srv_done);
  EXPECT(srv_err == K_ERR_OK && srv_badge == 0xb0b);
  EXPECT(k_msg_label(srv_info) == 77 && k_msg_words(srv_info) == 8);
  EXPECT(srv_words[0] == 10 && srv_words[3] == 13 && srv_words[4] == 104 && srv_words[7] == 107);
}

KTEST(call_and_reply_round_trip) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), tcb;
  struct k_ipc_buffer *b;
  EXPECT(ep);
  ep_slot = ep;
  EXPECT_OK(start_thread_ipc(t, echo_server, &tcb, &b));
  for (u64 i = 0; i < 100; i++) {
    struct msg_regs r = sys_call(ep, k_msg_info(0, 1, 0, 0), i, 0, 0, 0);
    EXPECT_OK(r.err);
    EXPECT(r.w[0] == i + 1 && k_msg_words(r.info) == 1);
  }
}

KTEST(non_blocking_calls_do_not_wait) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0);
  EXPECT(ep);
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(0, 1, 0, 0), 1, 0, 0, 0), K_ERR_WOULD_BLOCK);
  EXPECT_ERR(sys_nbrecv(ep).err, K_ERR_WOULD_BLOCK);
}

KTEST(ipc_rejects_bad_arguments) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), ro = env_slot(&t->e), wo = env_slot(&t->e);
  cptr_t n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(ep && n);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, ro, K_BI_SLOT_CNODE, ep, K_RIGHT_READ));
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, wo, K_BI_SLOT_CNODE, ep, K_RIGHT_WRITE));
  EXPECT_ERR(sys_send(n, 0, 0, 0, 0, 0), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_send(ro, 0, 0, 0, 0, 0), K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_recv(wo).err, K_ERR_NO_RIGHTS);
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(0, 65, 0, 0), 0, 0, 0, 0), K_ERR_MESSAGE_TOO_LONG);
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(0, 1, 5, 0), 0, 0, 0, 0), K_ERR_MESSAGE_TOO_LONG);
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(0, 1, 0, 513), 0, 0, 0, 0), K_ERR_MESSAGE_TOO_LONG);
  EXPECT_ERR(sys_reply(k_msg_info(0, 1, 0, 0), 1, 0, 0, 0), K_ERR_NO_CALLER);
  /* the labels of the kernel's own messages are the kernel's */
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(K_MSG_LABEL_NOTIFY, 0, 0, 0), 0, 0, 0, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_nbsend(ep, k_msg_info(K_MSG_LABEL_FAULT, 4, 0, 0), 14, 0, 0, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_signal(ep), K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_wait(ep).err, K_ERR_WRONG_TYPE);
  EXPECT_ERR(sys_tcb_set_ipc_buffer(K_BI_SLOT_TCB, ep), K_ERR_WRONG_TYPE);
  /* A thread without an IPC buffer can send only register words. */
  EXPECT_OK(sys_tcb_set_ipc_buffer(K_BI_SLOT_TCB, 0));
  long e1 = sys_nbsend(ep, k_msg_info(0, 5, 0, 0), 0, 0, 0, 0);
  long e2 = sys_nbsend(ep, k_msg_info(0, 4, 0, 0), 0, 0, 0, 0);
  EXPECT_OK(sys_tcb_set_ipc_buffer(K_BI_SLOT_TCB, main_buf_frame));
  EXPECT_ERR(e1, K_ERR_NO_IPC_BUFFER);
  EXPECT_ERR(e2, K_ERR_WOULD_BLOCK);
}

static volatile long caller_err;
static void caller(void) {
  caller_err = 1000;
  caller_err = sys_call(ep_slot, k_msg_info(0, 1, 0, 0), 1, 0, 0, 0).err;
  done();
}

KTEST(server_death_wakes_its_caller) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), n = new_obj(t, K_OBJ_NOTIFICATION, 0), srv, cl;
  struct k_ipc_buffer *b;
  EXPECT(ep && n);
  ep_slot = ep;
  ntfn_slot = n;
  srv_done = 0;
  EXPECT_OK(start_thread_ipc(t, silent_server, &srv, &b));
  EXPECT_OK(start_thread_ipc(t, caller, &cl, &b));
  wait_flag(&srv_done);
  EXPECT(srv_done);
  struct k_tcb_info info;
  EXPECT_OK(sys_tcb_info(cl, &info));
  EXPECT(info.state == K_TCB_BLOCKED && caller_err == 1000);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, srv));
  EXPECT(wait_not_runnable(cl, &info) == K_TCB_EXITED);
  EXPECT_ERR(caller_err, K_ERR_PEER_DIED);
}

KTEST(deleted_endpoint_wakes_its_waiters) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), cl;
  struct k_ipc_buffer *b;
  EXPECT(ep);
  ep_slot = ep;
  EXPECT_OK(start_thread_ipc(t, caller, &cl, &b));
  struct k_tcb_info info;
  for (int i = 0; i < 3; i++)
    sys_yield();
  EXPECT_OK(sys_tcb_info(cl, &info));
  EXPECT(info.state == K_TCB_BLOCKED);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, ep));
  EXPECT(wait_not_runnable(cl, &info) == K_TCB_EXITED);
  EXPECT_ERR(caller_err, K_ERR_PEER_DIED);
}

KTEST(capabilities_travel_with_the_grant_right) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), nogrant = env_slot(&t->e), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  cptr_t dest = env_slot(&t->e), tcb;
  EXPECT(ep && n);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, nogrant, K_BI_SLOT_CNODE, ep, K_RIGHT_READ | K_RIGHT_WRITE));
  EXPECT_OK(start_receiver(t, ep, dest, &tcb));
  main_buf->caps[0] = n;
  EXPECT_ERR(sys_send(nogrant, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0), K_ERR_NO_RIGHTS);
  main_buf->caps[0] = 999;
  EXPECT_ERR(sys_send(ep, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0), K_ERR_EMPTY_SLOT);
  main_buf->caps[0] = n;
  EXPECT_OK(sys_send(ep, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0));
  wait_flag(&srv_done);
  EXPECT(k_msg_caps(srv_info) == 1);
  struct k_cap_info ci;
  EXPECT(type_of(dest, &ci) == K_OBJ_NOTIFICATION);
  EXPECT(type_of(n, &ci) == K_OBJ_NOTIFICATION); /* a copy: the sender keeps its own */
}

/* An untyped cannot be copied, so sending one moves it: a donation leaves
 * the donor, who can still revoke it through the parent it keeps. */
KTEST(an_untyped_sent_in_a_message_moves) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), u = new_obj(t, K_OBJ_UNTYPED, 14), dest = env_slot(&t->e), tcb;
  EXPECT(ep && u);
  EXPECT_OK(start_receiver(t, ep, dest, &tcb));
  main_buf->caps[0] = u;
  EXPECT_OK(sys_send(ep, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0));
  wait_flag(&srv_done);
  struct k_cap_info ci;
  EXPECT(type_of(u, &ci) == K_OBJ_NULL);
  EXPECT(type_of(dest, &ci) == K_OBJ_UNTYPED && ci.size == 1ull << 14);
  EXPECT_OK(sys_cnode_revoke(K_BI_SLOT_CNODE, t->ut)); /* the donor's parent still reaches it */
  EXPECT(type_of(dest, &ci) == K_OBJ_NULL);
}

static volatile u64 waited_bits;
static void waiter(void) {
  waited_bits = sys_wait(ntfn_slot).badge;
  done();
}

KTEST(notifications_signal_wait_poll) {
  cptr_t n = new_obj(t, K_OBJ_NOTIFICATION, 0), b1 = env_slot(&t->e), b2 = env_slot(&t->e), tcb;
  EXPECT(n);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, b1, K_BI_SLOT_CNODE, n, K_RIGHTS_ALL, 0x1));
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, b2, K_BI_SLOT_CNODE, n, K_RIGHTS_ALL, 0x4));
  struct msg_regs r = sys_poll(n);
  EXPECT(r.err == K_ERR_OK && r.badge == 0);
  EXPECT_OK(sys_signal(b1));
  EXPECT_OK(sys_signal(b2));
  r = sys_wait(n);
  EXPECT(r.err == K_ERR_OK && r.badge == 0x5);
  ntfn_slot = n;
  waited_bits = 0;
  EXPECT_OK(start_thread(t, waiter, &tcb));
  for (int i = 0; i < 3; i++)
    sys_yield();
  struct k_tcb_info info;
  EXPECT_OK(sys_tcb_info(tcb, &info));
  EXPECT(info.state == K_TCB_BLOCKED);
  EXPECT_OK(sys_signal(b2));
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_EXITED);
  EXPECT(waited_bits == 0x4);
}

/* A timer signals its notification at the deadline, not before; it can be
 * disarmed, re-armed, and deleting an armed notification leaves no trace
 * on the kernel's deadline list (the next ticks would find it). */
KTEST(notification_timers) {
  cptr_t n = new_obj(t, K_OBJ_NOTIFICATION, 0), n2 = new_obj(t, K_OBJ_NOTIFICATION, 0),
         dead = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(n && n2 && dead);
  EXPECT_ERR(sys_ntfn_set_timer(n, sys_time_ns() + 1000000, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_ntfn_set_timer(K_BI_SLOT_TCB, sys_time_ns() + 1000000, 1), K_ERR_WRONG_TYPE);
  u64 start = sys_time_ns();
  EXPECT_OK(sys_ntfn_set_timer(dead, start + 5000000, 0x1));
  EXPECT_OK(sys_ntfn_set_timer(n2, start + 10000000, 0x2));
  EXPECT_OK(sys_ntfn_set_timer(n, start + 30000000, 0x10));
  EXPECT_OK(sys_ntfn_set_timer(n2, 0, 0)); /* disarmed */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, dead));
  struct msg_regs r = sys_wait(n);
  u64 waited = sys_time_ns() - start;
  EXPECT(r.err == K_ERR_OK && r.badge == 0x10);
  EXPECT(waited >= 30000000 && waited < 2000000000ull);
  EXPECT(sys_poll(n2).badge == 0);
  EXPECT_OK(sys_ntfn_set_timer(n2, 1, 0x8)); /* already past: signalled at once */
  EXPECT(sys_poll(n2).badge == 0x8);
  EXPECT_OK(sys_ntfn_set_timer(n, sys_time_ns() + 1000000000ull, 0x1)); /* armed when the test's memory goes */
}

KTEST(bound_notification_wakes_a_receiver) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), n = new_obj(t, K_OBJ_NOTIFICATION, 0), tcb;
  EXPECT(ep && n);
  ep_slot = ep;
  srv_done = 0;
  EXPECT_OK(start_thread_ipc(t, receive_once, &tcb, &srv_buf));
  EXPECT_OK(sys_tcb_bind_notification(tcb, n));
  for (int i = 0; i < 3; i++)
    sys_yield();
  EXPECT_OK(sys_signal(n));
  wait_flag(&srv_done);
  EXPECT(srv_err == K_ERR_OK && k_msg_label(srv_info) == K_MSG_LABEL_NOTIFY && srv_badge == 1);
}

static volatile u64 fault_va;
static volatile u64 resumed;
static void touch_then_exit(void) {
  resumed = *(volatile u64 *)fault_va;
  done();
}

KTEST(fault_goes_to_the_handler_which_can_resume_the_thread) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), tcb, f = new_obj(t, K_OBJ_FRAME_4K, 0);
  EXPECT(ep && f);
  fault_va = t->e.next_vaddr;
  t->e.next_vaddr += K_PAGE_SIZE;
  EXPECT_OK(prepare_window(t, fault_va, K_PAGE_SIZE));
  resumed = 0;
  cptr_t handler_ep = env_slot(&t->e);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, handler_ep, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL, 0xfa));
  EXPECT_OK(start_thread(t, touch_then_exit, &tcb));
  EXPECT_OK(sys_tcb_set_fault_endpoint(tcb, handler_ep));
  struct msg_regs r = sys_recv(ep);
  EXPECT_OK(r.err);
  EXPECT(k_msg_label(r.info) == K_MSG_LABEL_FAULT && r.badge == 0xfa);
  EXPECT(r.w[0] == 14 && r.w[3] == fault_va);
  /* Map the missing page with a value in it, and let the thread go on. */
  EXPECT_OK(sys_frame_map(f, K_BI_SLOT_VSPACE, fault_va, K_MAP_WRITE));
  *(volatile u64 *)fault_va = 4242;
  EXPECT_OK(sys_reply(k_msg_info(0, 0, 0, 0), 0, 0, 0, 0));
  struct k_tcb_info info;
  EXPECT(wait_not_runnable(tcb, &info) == K_TCB_EXITED);
  EXPECT(resumed == 4242);
}

KTEST(irq_handlers_are_handed_out_once) {
  cptr_t h = env_slot(&t->e), h2 = env_slot(&t->e), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(n);
  EXPECT_ERR(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 0, K_BI_SLOT_CNODE, h), K_ERR_RANGE); /* the timer */
  EXPECT_ERR(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, K_IRQ_LINES, K_BI_SLOT_CNODE, h), K_ERR_RANGE);
  EXPECT_ERR(sys_irq_get(n, 5, K_BI_SLOT_CNODE, h), K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 5, K_BI_SLOT_CNODE, h));
  EXPECT_ERR(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 5, K_BI_SLOT_CNODE, h2), K_ERR_IRQ_IN_USE);
  EXPECT_ERR(sys_irq_ack(h), K_ERR_BAD_STATE);
  EXPECT_ERR(sys_irq_set_notification(h, n, 0), K_ERR_RANGE);
  EXPECT_ERR(sys_irq_set_notification(n, n, 1), K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_irq_set_notification(h, n, 0x20));
  EXPECT_OK(sys_irq_ack(h));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h));
  EXPECT_OK(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 5, K_BI_SLOT_CNODE, h2));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h2));
}

/* Message-signalled lines: IRQ_GET says what a device writes to raise the
 * line; each line once; an IRQ control minted without a line cannot claim
 * it; IRQ_ACK is accepted and does nothing (an edge needs no unmasking). */
KTEST(msi_lines_are_handed_out_once_with_their_data) {
  cptr_t h = env_slot(&t->e), h2 = env_slot(&t->e), narrow = env_slot(&t->e), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(n);
  struct sysret a = sys_irq_get_msi(K_BI_SLOT_IRQ_CONTROL, K_IRQ_MSI_FIRST, K_BI_SLOT_CNODE, h);
  struct sysret b = sys_irq_get_msi(K_BI_SLOT_IRQ_CONTROL, K_IRQ_LINES - 1, K_BI_SLOT_CNODE, h2);
  EXPECT(a.err == K_ERR_OK && b.err == K_ERR_OK && a.val && b.val && a.val != b.val);
  EXPECT(b.val - a.val == K_IRQ_MSI_LINES - 1 && a.val < 256 && b.val < 256); /* one vector each */
  EXPECT_ERR(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, K_IRQ_MSI_FIRST, K_BI_SLOT_CNODE, env_slot(&t->e)), K_ERR_IRQ_IN_USE);
  EXPECT_ERR(sys_irq_ack(h), K_ERR_BAD_STATE); /* no notification yet */
  EXPECT_OK(sys_irq_set_notification(h, n, 0x4));
  EXPECT_OK(sys_irq_ack(h));
  EXPECT(sys_poll(n).badge == 0); /* nothing raised it */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h));
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h2));
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, narrow, K_BI_SLOT_CNODE, K_BI_SLOT_IRQ_CONTROL, K_RIGHTS_ALL, 1ull << 5));
  EXPECT_ERR(sys_irq_get(narrow, K_IRQ_MSI_FIRST, K_BI_SLOT_CNODE, h), K_ERR_NO_RIGHTS);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, narrow));
}

/* A real interrupt: the CMOS clock's periodic interrupt on IRQ 8 arrives as
 * a notification bit, and the line stays masked until acknowledged. */
#define RTC_PORTS K_BI_SLOT_FIRST_FREE_FIXED

static u8 rtc_read(u8 reg) {
  sys_ioport_out(RTC_PORTS, 0x70, 1, reg);
  return (u8)sys_ioport_in(RTC_PORTS, 0x71, 1).val;
}

static void rtc_write(u8 reg, u8 v) {
  sys_ioport_out(RTC_PORTS, 0x70, 1, reg);
  sys_ioport_out(RTC_PORTS, 0x71, 1, v);
}

/* Bits of n within `ms` milliseconds, polling: a lost interrupt fails the
 * test instead of hanging the suite. */
static u64 poll_for(cptr_t n, u64 ms) {
  u64 end = sys_time_ns() + ms * 1000000ull;
  while (sys_time_ns() < end) {
    struct msg_regs r = sys_poll(n);
    if (r.err == K_ERR_OK && r.badge)
      return r.badge;
    sys_yield();
  }
  return 0;
}

KTEST(irq_arrives_as_a_notification_bit) {
  cptr_t h = env_slot(&t->e), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  EXPECT(n);
  EXPECT_OK(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 8, K_BI_SLOT_CNODE, h));
  EXPECT_OK(sys_irq_set_notification(h, n, 0x100));
  rtc_write(0x0a, (rtc_read(0x0a) & 0xf0) | 0x0d); /* periodic rate: 8 Hz */
  rtc_write(0x0b, rtc_read(0x0b) | 0x40);           /* periodic interrupts on */
  rtc_read(0x0c);                                   /* clear anything pending */
  u64 bits = poll_for(n, 3000);
  EXPECT(bits == 0x100);
  rtc_read(0x0c); /* the RTC's own acknowledgement */
  EXPECT(poll_for(n, 300) == 0); /* masked: nothing until we acknowledge */
  EXPECT_OK(sys_irq_ack(h));
  bits = poll_for(n, 3000); /* and another one after the acknowledgement */
  rtc_write(0x0b, rtc_read(0x0b) & ~0x40);
  EXPECT(bits == 0x100);
  rtc_read(0x0c);
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, h));
}

/* Saved replies: a server answers several callers in any order. */
static volatile long res_err[2];
static volatile u64 res_val[2];

static void call_as(int i) {
  res_err[i] = 1000;
  struct msg_regs r = sys_call(ep_slot, k_msg_info(0, 1, 0, 0), (u64)i, 0, 0, 0);
  res_val[i] = r.w[0];
  res_err[i] = r.err;
  done();
}
static void caller0(void) { call_as(0); }
static void caller1(void) { call_as(1); }

KTEST(saved_replies_answer_callers_in_any_order) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), c0, c1, r0 = env_slot(&t->e), r1 = env_slot(&t->e);
  EXPECT(ep);
  ep_slot = ep;
  EXPECT_ERR(sys_reply_save(K_BI_SLOT_CNODE, r0), K_ERR_NO_CALLER);
  EXPECT_OK(start_thread(t, caller0, &c0));
  EXPECT_OK(start_thread(t, caller1, &c1));
  struct msg_regs a = sys_recv(ep);
  EXPECT_OK(a.err);
  EXPECT_ERR(sys_reply_save(K_BI_SLOT_CNODE, K_BI_SLOT_TCB), K_ERR_SLOT_OCCUPIED);
  EXPECT_OK(sys_reply_save(K_BI_SLOT_CNODE, r0));
  struct msg_regs b = sys_recv(ep);
  EXPECT_OK(b.err);
  EXPECT_OK(sys_reply_save(K_BI_SLOT_CNODE, r1));
  struct k_cap_info ci;
  EXPECT(type_of(r0, &ci) == K_OBJ_REPLY);
  cptr_t copy = env_slot(&t->e), moved = env_slot(&t->e);
  EXPECT_ERR(sys_cnode_copy(K_BI_SLOT_CNODE, copy, K_BI_SLOT_CNODE, r0, K_RIGHTS_ALL), K_ERR_CANNOT_DERIVE);
  EXPECT_OK(sys_cnode_move(K_BI_SLOT_CNODE, moved, K_BI_SLOT_CNODE, r0)); /* it still answers from here */
  EXPECT_ERR(sys_reply_to(ep, k_msg_info(0, 1, 0, 0), 5, 0, 0, 0), K_ERR_WRONG_TYPE);
  EXPECT_OK(sys_reply_to(r1, k_msg_info(0, 1, 0, 0), b.w[0] + 100, 0, 0, 0)); /* the later call first */
  EXPECT_OK(sys_reply_to(moved, k_msg_info(0, 1, 0, 0), a.w[0] + 100, 0, 0, 0));
  EXPECT_ERR(sys_reply_to(r1, k_msg_info(0, 1, 0, 0), 0, 0, 0, 0), K_ERR_EMPTY_SLOT);
  struct k_tcb_info info;
  EXPECT(wait_not_runnable(c0, &info) == K_TCB_EXITED && wait_not_runnable(c1, &info) == K_TCB_EXITED);
  EXPECT(res_err[0] == K_ERR_OK && res_val[0] == 100 && res_err[1] == K_ERR_OK && res_val[1] == 101);
}

KTEST(a_saved_reply_never_leaves_a_caller_hanging) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), c0, c1, r0 = env_slot(&t->e), r1 = env_slot(&t->e);
  EXPECT(ep);
  ep_slot = ep;
  EXPECT_OK(start_thread(t, caller0, &c0));
  EXPECT_OK(start_thread(t, caller1, &c1));
  EXPECT_OK(sys_recv(ep).err);
  EXPECT_OK(sys_reply_save(K_BI_SLOT_CNODE, r0));
  EXPECT_OK(sys_recv(ep).err);
  EXPECT_OK(sys_reply_save(K_BI_SLOT_CNODE, r1));
  /* Deleting a saved reply answers its caller with PEER_DIED... */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, r0));
  struct k_tcb_info info;
  EXPECT(wait_not_runnable(c0, &info) == K_TCB_EXITED && res_err[0] == K_ERR_PEER_DIED);
  /* ...and a caller that dies takes its saved reply with it. */
  EXPECT_OK(sys_cnode_delete(K_BI_SLOT_CNODE, c1));
  struct k_cap_info ci;
  EXPECT(type_of(r1, &ci) == K_OBJ_NULL);
}

/* A sender that finds no receiver waits with its message; the badge of the
 * capability it sent through must wait with it, for a send and for a call. */
static volatile cptr_t send_cap, call_cap;
static volatile long sent_err, called_err;
static volatile u64 called_back;

static void queued_sender(void) {
  sent_err = 1000;
  sent_err = sys_send(send_cap, k_msg_info(5, 1, 0, 0), 55, 0, 0, 0);
  done();
}

static void queued_caller(void) {
  called_err = 1000;
  struct msg_regs r = sys_call(call_cap, k_msg_info(6, 1, 0, 0), 66, 0, 0, 0);
  called_back = r.w[0];
  called_err = r.err;
  done();
}

KTEST(a_sender_queued_before_its_receiver_keeps_its_badge) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), b1 = env_slot(&t->e), b2 = env_slot(&t->e), s, c;
  EXPECT(ep);
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, b1, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL, 0x5e5));
  EXPECT_OK(sys_cnode_mint(K_BI_SLOT_CNODE, b2, K_BI_SLOT_CNODE, ep, K_RIGHTS_ALL, 0xca11));
  send_cap = b1;
  call_cap = b2;
  struct k_tcb_info info;
  EXPECT_OK(start_thread(t, queued_sender, &s));
  EXPECT(wait_not_runnable(s, &info) == K_TCB_BLOCKED);
  EXPECT_OK(start_thread(t, queued_caller, &c));
  EXPECT(wait_not_runnable(c, &info) == K_TCB_BLOCKED);
  struct msg_regs r = sys_recv(ep); /* both are queued: the sender came first */
  EXPECT_OK(r.err);
  EXPECT(r.badge == 0x5e5 && k_msg_label(r.info) == 5 && r.w[0] == 55);
  EXPECT(wait_not_runnable(s, &info) == K_TCB_EXITED && sent_err == K_ERR_OK);
  r = sys_recv(ep);
  EXPECT_OK(r.err);
  EXPECT(r.badge == 0xca11 && k_msg_label(r.info) == 6 && r.w[0] == 66);
  EXPECT_OK(sys_reply(k_msg_info(0, 1, 0, 0), 67, 0, 0, 0));
  EXPECT(wait_not_runnable(c, &info) == K_TCB_EXITED && called_err == K_ERR_OK && called_back == 67);
}

/* Capabilities need the grant right on the sender's endpoint capability,
 * whichever side came first: a waiting receiver gets nothing and waits on,
 * and a queued sender is woken with the refusal when a receiver comes. */
static struct k_ipc_buffer *cap_sender_buf;
static volatile cptr_t cap_sender_ep, cap_sender_cap;

static void queued_cap_sender(void) {
  cap_sender_buf->caps[0] = cap_sender_cap;
  sent_err = 1000;
  sent_err = sys_send(cap_sender_ep, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0);
  done();
}

KTEST(capabilities_without_the_grant_right_are_refused_either_way) {
  cptr_t ep = new_obj(t, K_OBJ_ENDPOINT, 0), nogrant = env_slot(&t->e), n = new_obj(t, K_OBJ_NOTIFICATION, 0);
  cptr_t dest = env_slot(&t->e), rcv, snd;
  EXPECT(ep && n);
  EXPECT_OK(sys_cnode_copy(K_BI_SLOT_CNODE, nogrant, K_BI_SLOT_CNODE, ep, K_RIGHT_READ | K_RIGHT_WRITE));
  struct k_cap_info ci;
  struct k_tcb_info info;
  /* The receiver waits first. */
  EXPECT_OK(start_receiver(t, ep, dest, &rcv));
  main_buf->caps[0] = n;
  EXPECT_ERR(sys_send(nogrant, k_msg_info(0, 0, 1, 0), 0, 0, 0, 0), K_ERR_NO_RIGHTS);
  EXPECT(sys_tcb_info(rcv, &info) == K_ERR_OK && info.state == K_TCB_BLOCKED && !srv_done);
  EXPECT(type_of(dest, &ci) == K_OBJ_NULL);
  EXPECT_OK(sys_send(ep, k_msg_info(0, 0, 0, 0), 0, 0, 0, 0)); /* let it go */
  EXPECT(wait_not_runnable(rcv, &info) == K_TCB_EXITED);
  /* The sender waits first. */
  cap_sender_ep = nogrant;
  cap_sender_cap = n;
  EXPECT_OK(start_thread_ipc(t, queued_cap_sender, &snd, &cap_sender_buf));
  EXPECT(wait_not_runnable(snd, &info) == K_TCB_BLOCKED);
  main_buf->recv_cnode = K_BI_SLOT_CNODE;
  main_buf->recv_slot = dest;
  main_buf->recv_count = 1;
  struct msg_regs r = sys_nbrecv(ep); /* the only message cannot be delivered: nothing to take */
  main_buf->recv_count = 0;
  EXPECT_ERR(r.err, K_ERR_WOULD_BLOCK);
  EXPECT(wait_not_runnable(snd, &info) == K_TCB_EXITED);
  EXPECT_ERR(sent_err, K_ERR_NO_RIGHTS);
  EXPECT(type_of(dest, &ci) == K_OBJ_NULL);
  EXPECT(type_of(n, &ci) == K_OBJ_NOTIFICATION);
}
