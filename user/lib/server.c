/* Receive-slot housekeeping of session servers and opening a session
 * (see server.h). */
#include <server.h>

void server_sort_received(cptr_t cnode, cptr_t first, u64 ncaps, u64 ngifts, cptr_t donation_slot) {
  if (!ncaps)
    return;
  if (donation_slot)
    sys_cnode_move(cnode, donation_slot, cnode, first);
  for (u64 i = 0; i < ncaps; i++)
    sys_cnode_delete(cnode, first + i);
  for (u64 i = 0; i < ngifts; i++)
    sys_cnode_move(cnode, first + i, cnode, first + ncaps + i);
}

u64 server_gift_slots(struct k_ipc_buffer *buf, cptr_t first, u64 n) {
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(first + i);
  return n;
}

void server_drop_leftovers(cptr_t cnode, cptr_t first, u64 count) {
  for (u64 i = 0; i < count; i++)
    if (sys_cap_type(cnode, first + i).val != K_OBJ_NULL)
      sys_cnode_delete(cnode, first + i);
}

long server_session_memory(cptr_t cnode, cptr_t vspace, cptr_t incoming, cptr_t donated, cptr_t table,
                           const cptr_t *frames, unsigned n, u64 va) {
  long err = sys_cnode_move(cnode, donated, cnode, incoming);
  if (err)
    return err;
  if (!(err = sys_retype(donated, K_OBJ_PT, 0, cnode, table, 1, 0)))
    err = sys_page_table_map(table, vspace, va);
  for (unsigned i = 0; !err && i < n; i++)
    if (!(err = sys_retype(donated, K_OBJ_FRAME_4K, 0, cnode, frames[i], 1, 0)))
      err = sys_frame_map(frames[i], vspace, va + i * K_PAGE_SIZE, K_MAP_WRITE);
  if (err) {
    sys_cnode_revoke(cnode, donated);
    sys_cnode_move(cnode, incoming, cnode, donated); /* back to the client */
  }
  return err;
}

long server_places(struct env *e, u64 first, u64 stride, unsigned *n) {
  struct k_cap_info ci;
  long err = sys_cap_identify(e->cnode, e->cnode, &ci);
  if (err)
    return err;
  u64 slots = ci.size >> K_CNODE_SLOT_BITS;
  if (slots < first + stride)
    return K_ERR_RANGE;
  *n = (unsigned)((slots - first) / stride);
  return K_ERR_OK;
}

long server_session_tables(struct env *e, u64 va, unsigned n) {
  cptr_t pdpt, pd;
  long err = env_retype(e, K_OBJ_PDPT, 0, &pdpt);
  if (!err)
    err = sys_page_table_map(pdpt, e->vspace, va);
  for (u64 gib = 0; !err && gib * 512 < n; gib++)
    if (!(err = env_retype(e, K_OBJ_PD, 0, &pd)))
      err = sys_page_table_map(pd, e->vspace, va + (gib << 30));
  return err;
}

static inline void hook(void (*f)(void)) {
  if (f)
    f();
}

static struct msg_regs next_message(const struct server *s) {
  hook(s->before_block);
  struct msg_regs m = sys_recv(s->ep);
  hook(s->woke);
  return m;
}

static int is_notification(const struct msg_regs *m) {
  return k_msg_label(m->info) == K_MSG_LABEL_NOTIFY && k_msg_words(m->info) == 0 && !k_msg_gifts(m->info);
}

void server_run(const struct server *s, struct env *e, struct k_ipc_buffer *buf) {
  buf->recv_cnode = e->cnode;
  buf->recv_slot = SERVER_GIFT_SLOT;
  buf->recv_count = s->recv_slots;
  buf->recv_window = 0; /* a server never maps its clients' frames */
  struct msg_regs m = next_message(s);
  for (;;) {
    if (m.err) {
      server_drop_leftovers(e->cnode, SERVER_GIFT_SLOT, s->recv_slots);
      m = next_message(s);
      continue;
    }
    if (s->notified && is_notification(&m)) {
      s->notified(m.badge);
      m = next_message(s);
      continue;
    }
    u32 label = k_msg_label(m.info);
    int opening = m.badge == 0 && label == s->open_label;
    server_sort_received(e->cnode, SERVER_GIFT_SLOT, k_msg_caps(m.info), k_msg_gifts(m.info),
                         opening ? SERVER_DONATION_SLOT : 0);
    struct server_answer a = {.words = 4};
    s->handle(&m, &a);
    /* Only opening, closing and answers that carry a capability leave
     * anything in these two slots. */
    int cleanup = m.badge == 0 || label == s->close_label || a.caps;
    if (a.saved) {
      m = next_message(s);
      continue;
    }
    hook(s->before_block);
    m = sys_reply_recv(s->ep, k_msg_info(0, a.words, a.caps, a.gifts), a.err, a.w1, a.w2, a.w3);
    hook(s->woke);
    if (s->replied)
      s->replied(m.err); /* an error may be the receive's, not the reply's */
    if (cleanup) {
      sys_cnode_delete(e->cnode, SERVER_TEMP_SLOT);     /* the client's copy of a session stays */
      sys_cnode_delete(e->cnode, SERVER_DONATION_SLOT); /* a donation the client would not take back */
    }
  }
}

long session_open(struct env *e, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                  cptr_t *session) {
  return session_open_from(e, buf, server, label, bits, arg, e->untyped, session);
}

long session_open_from(struct env *e, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                       cptr_t from, cptr_t *session) {
  cptr_t donation = env_slot(e);
  *session = env_slot(e);
  return session_open_in(e->cnode, buf, server, label, bits, arg, from, donation, *session);
}

long session_open_in(cptr_t cnode, struct k_ipc_buffer *buf, cptr_t server, u32 label, u32 bits, u64 arg,
                     cptr_t from, cptr_t donation, cptr_t session) {
  long err = sys_retype(from, K_OBJ_UNTYPED, bits, cnode, donation, 1, 0);
  if (err)
    return err;
  buf->caps[0] = donation;
  buf->recv_cnode = cnode;
  buf->recv_slot = session;
  buf->recv_count = 1;
  buf->recv_window = 0;
  struct msg_regs r = sys_call(server, k_msg_info(label, 1, 1, 0), arg, 0, 0, 0);
  return r.err ? r.err : (long)r.w[0];
}
