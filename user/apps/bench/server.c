/* B: receives gifts into its window, reads them, gifts them back. */
#include "bench.h"

static u64 pages;      /* per gift; 0 means one 2 MiB frame */
static u32 mode;

/* Where gifts land for the current scenario, and the list to gift back. */
static void set_receive(struct k_ipc_buffer *b) {
  u64 n = pages ? pages : 1;
  b->recv_cnode = K_BI_SLOT_CNODE;
  b->recv_slot = pages ? BENCH_GIFT_SLOTS : BENCH_GIFT_SLOTS - 4;
  b->recv_count = n;
  b->recv_window = pages ? BENCH_GIFT_VA : BENCH_BIG_VA;
  b->recv_window_size = pages ? pages * K_PAGE_SIZE : K_LARGE_PAGE_SIZE;
  for (u64 i = 0; i < n; i++)
    b->gifts[i] = (u32)(b->recv_slot + i);
}

static long map_shared(struct env *e, struct k_ipc_buffer *b, u64 slot) {
  (void)b;
  cptr_t pdpt, pd;
  long err = env_retype(e, K_OBJ_PDPT, 0, &pdpt);
  if (!err)
    err = env_retype(e, K_OBJ_PD, 0, &pd);
  if (!err)
    sys_page_table_map(pdpt, e->vspace, BENCH_SHARED_VA);
  if (!err)
    err = sys_page_table_map(pd, e->vspace, BENCH_SHARED_VA);
  if (!err)
    err = sys_frame_map(slot, e->vspace, BENCH_SHARED_VA, K_MAP_WRITE);
  return err;
}

int bench_server(struct env *e, struct k_ipc_buffer *b) {
  void *priv;
  long err = env_prepare_tables(e, e->vspace, BENCH_GIFT_VA, BENCH_MAX_PAGES * K_PAGE_SIZE);
  if (!err)
    err = env_alloc_pages(e, BENCH_MAX_PAGES, &priv); /* copy_transfer's destination */
  if (err) {
    printf("bench: server setup failed: %s\n", err_name(err));
    return 1;
  }
  /* A big-frame window needs a PDPT and a PD but no PT. */
  cptr_t pdpt, pd;
  if (!env_retype(e, K_OBJ_PDPT, 0, &pdpt) && !env_retype(e, K_OBJ_PD, 0, &pd)) {
    sys_page_table_map(pdpt, e->vspace, BENCH_BIG_VA);
    sys_page_table_map(pd, e->vspace, BENCH_BIG_VA);
  }
  b->recv_cnode = K_BI_SLOT_CNODE;
  b->recv_slot = BENCH_SHARED_SLOT;
  b->recv_count = 1;
  struct msg_regs r = sys_recv(BENCH_EP);
  u64 reply = k_msg_info(0, 0, 0, 0), w0 = 0;
  for (;;) {
    if (r.err) {
      printf("bench: server receive failed: %s\n", err_name(r.err));
      return 1;
    }
    reply = k_msg_info(0, 1, 0, 0);
    w0 = 0;
    switch (k_msg_label(r.info)) {
    case CMD_PING:
      w0 = r.w[0] + 1;
      break;
    case CMD_SETUP:
      pages = r.w[0];
      mode = (u32)r.w[1];
      set_receive(b);
      break;
    case CMD_GIFT: {
      u64 n = pages ? pages : K_LARGE_PAGE_SIZE / K_PAGE_SIZE;
      bench_touch(b->recv_window, n, mode);
      bench_write_words(b->recv_window, n);
      reply = k_msg_info(0, 0, 0, k_msg_gifts(r.info));
      break;
    }
    case CMD_SHARE:
      w0 = (u64)map_shared(e, b, BENCH_SHARED_SLOT);
      break;
    case CMD_COPY:
      memcpy(priv, (const void *)BENCH_SHARED_VA, r.w[0]);
      bench_touch((u64)priv, r.w[0] / K_PAGE_SIZE, mode);
      break;
    case CMD_DONE:
      sys_reply(reply, 0, 0, 0, 0);
      return 0;
    default:
      w0 = K_ERR_RANGE;
    }
    r = sys_reply_recv(BENCH_EP, reply, w0, 0, 0, 0);
  }
}
