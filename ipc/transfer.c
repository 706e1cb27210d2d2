/* Message transfer (see transfer.h). */
#include "ipc/transfer.h"
#include "ipc/gift.h"
#include <arch/syscall.h>
#include <lib/string.h>

struct k_ipc_buffer *ipc_buffer_of(const struct tcb *t) {
  const struct cap *c = &t->slots[TCB_SLOT_IPC_BUFFER].cap;
  return c->type == K_OBJ_FRAME_4K ? (struct k_ipc_buffer *)c->obj : 0;
}

int msg_check(const struct tcb *self, u64 info) {
  if (info <= K_IPC_REG_WORDS) /* label 0, registers only: the common case */
    return K_ERR_OK;
  u32 label = k_msg_label(info);
  if (label == K_MSG_LABEL_FAULT || label == K_MSG_LABEL_NOTIFY)
    return K_ERR_RANGE; /* the kernel's own labels: a receiver can trust them */
  if ((info & 0xffffffffull) <= K_IPC_REG_WORDS) /* registers only */
    return K_ERR_OK;
  u64 words = k_msg_words(info), caps = k_msg_caps(info), gifts = k_msg_gifts(info);
  if (words > K_IPC_MAX_WORDS || caps > K_IPC_MAX_CAPS || gifts > K_IPC_MAX_GIFTS)
    return K_ERR_MESSAGE_TOO_LONG;
  if ((words > K_IPC_REG_WORDS || caps || gifts) && !ipc_buffer_of(self))
    return K_ERR_NO_IPC_BUFFER;
  return K_ERR_OK;
}

/* The sender's capability and gift lists, copied once out of its IPC buffer:
 * what is checked is what moves, whatever the buffer holds meanwhile (a
 * thread of the sender on another CPU may be writing it). */
struct msg_lists {
  u64 caps[K_IPC_MAX_CAPS];
  u32 gifts[K_IPC_MAX_GIFTS];
  u64 gift_cnode;
};

static void copy_lists(const struct tcb *snd, u64 ncaps, u64 ngifts, struct msg_lists *l) {
  const struct k_ipc_buffer *b = ipc_buffer_of(snd);
  memcpy(l->caps, b->caps, ncaps * sizeof(u64));
  memcpy(l->gifts, b->gifts, ngifts * sizeof(u32));
  l->gift_cnode = b->gift_cnode;
}

/* The CNode the gifts are slots of: the root, or the CNode in the root
 * slot gift_cnode names, if the sender may write it (the gifts leave it);
 * 0 (every gift is INVALID_CAP) if that slot holds no such CNode. */
static struct gift_src gifts_of(const struct tcb *snd, const struct msg_lists *l, u32 n) {
  const struct cap *root = &snd->slots[TCB_SLOT_CSPACE].cap, *cn = root;
  if (l->gift_cnode) {
    cn = 0;
    if (root->type == K_OBJ_CNODE && l->gift_cnode < cnode_slots(root)) {
      const struct cap *c = &((const struct cte *)root->obj)[l->gift_cnode].cap;
      if (c->type == K_OBJ_CNODE && (c->rights & K_RIGHT_WRITE))
        cn = c;
    }
  }
  struct gift_src s = {cn, l->gifts, n};
  return s;
}

int gift_check_source(struct tcb *snd, u32 n) {
  struct msg_lists l;
  copy_lists(snd, 0, n, &l);
  struct gift_src s = gifts_of(snd, &l, n);
  int err = gift_check_source_batch(&s, &ipc_buffer_of(snd)->gift_error_index);
  if (!err)
    gift_abandon(&s); /* checked again at delivery */
  return err;
}

/* A queued sender's IPC buffer or CSpace may have gone since it sent: what
 * its message needs of its own thread is checked again when it is delivered. */
static int sender_still_able(const struct tcb *snd, const struct msg *m) {
  if (m->fault)
    return K_ERR_OK;
  int err = msg_check(snd, m->info);
  if (!err && (k_msg_caps(m->info) || k_msg_gifts(m->info)) && snd->slots[TCB_SLOT_CSPACE].cap.type != K_OBJ_CNODE)
    err = K_ERR_NOT_CONFIGURED;
  return err;
}

/* The receiver's declared slots, checked for room: caps first, then gifts. */
static int recv_slots(const struct tcb *rcv, u64 need, struct cte **out) {
  const struct k_ipc_buffer *rb = ipc_buffer_of(rcv);
  const struct cap *root = &rcv->slots[TCB_SLOT_CSPACE].cap;
  if (!rb || rb->recv_count < need || root->type != K_OBJ_CNODE)
    return K_ERR_RECV_SLOTS_FULL;
  u64 cn = rb->recv_cnode, first = rb->recv_slot, size = cnode_slots(root);
  if (cn == 0 || cn >= size)
    return K_ERR_RECV_SLOTS_FULL;
  const struct cap *cnode = &((struct cte *)root->obj)[cn].cap;
  if (cnode->type != K_OBJ_CNODE || !(cnode->rights & K_RIGHT_WRITE))
    return K_ERR_RECV_SLOTS_FULL;
  u64 n = cnode_slots(cnode);
  if (first == 0 || first >= n || n - first < need)
    return K_ERR_RECV_SLOTS_FULL;
  *out = (struct cte *)cnode->obj + first;
  return K_ERR_OK;
}

/* Runs after the gifts are checked (and marked): a capability that is also
 * gifted, or an untyped named twice, would move twice, and the second move
 * would find its source changed under it. */
static int check_caps(const struct tcb *snd, const struct msg *m, const u64 *caps, struct cte *dest) {
  u64 n = k_msg_caps(m->info);
  if (!n)
    return K_ERR_OK;
  if (!m->grant)
    return K_ERR_NO_RIGHTS;
  const struct cap *root = &snd->slots[TCB_SLOT_CSPACE].cap;
  for (u64 i = 0; i < n; i++) {
    if (caps[i] == 0 || caps[i] >= cnode_slots(root))
      return K_ERR_INVALID_CAP;
    const struct cte *c = (const struct cte *)root->obj + caps[i];
    if (cte_empty(c))
      return K_ERR_EMPTY_SLOT;
    if (gift_marked(&c->cap))
      return K_ERR_NAMED_TWICE;
    for (u64 j = 0; j < i && c->cap.type == K_OBJ_UNTYPED; j++)
      if (caps[j] == caps[i])
        return K_ERR_NAMED_TWICE;
    int err = c->cap.type == K_OBJ_UNTYPED ? K_ERR_OK : cap_derivable(&c->cap);
    if (err)
      return err;
    if (!cte_empty(&dest[i]))
      return K_ERR_RECV_SLOTS_FULL;
  }
  return K_ERR_OK;
}

/* Capabilities are copied, but an untyped moves: it cannot be copied (its
 * watermark lives in the capability), and a donation should leave the donor
 * anyway; the donor keeps the parent untyped, so it can still revoke it. */
static void move_caps(const struct tcb *snd, u64 n, const u64 *caps, struct cte *dest) {
  const struct cap *root = &snd->slots[TCB_SLOT_CSPACE].cap;
  for (u64 i = 0; i < n; i++) {
    struct cte *src = (struct cte *)root->obj + caps[i];
    if (src->cap.type == K_OBJ_UNTYPED) {
      cte_move(&dest[i], src);
      continue;
    }
    struct cap c = src->cap;
    if (vs_cap_is_mapped(&c))
      map_clear(&c);
    cte_insert(&dest[i], &c, src);
  }
}

static u64 copy_words(const struct tcb *snd, struct tcb *rcv, const struct msg *m) {
  u64 words = k_msg_words(m->info);
  if (m->fault) {
    arch_set_msg_regs(&rcv->ctx, snd->fault.vector, snd->fault.error, snd->fault.ip, snd->fault.addr);
    return 4;
  }
  arch_copy_msg_regs(&rcv->ctx, &snd->ctx);
  if (words <= K_IPC_REG_WORDS)
    return words;
  struct k_ipc_buffer *rb = ipc_buffer_of(rcv);
  if (!rb)
    return K_IPC_REG_WORDS; /* the receiver takes what its registers hold */
  memcpy(&rb->words[K_IPC_REG_WORDS], &ipc_buffer_of(snd)->words[K_IPC_REG_WORDS],
         (words - K_IPC_REG_WORDS) * sizeof(u64));
  return words;
}

/* The common message: a few words, all in registers. */
static int transfer_registers(struct tcb *snd, struct tcb *rcv, const struct msg *m) {
  arch_copy_msg_regs(&rcv->ctx, &snd->ctx);
  arch_set_badge(&rcv->ctx, m->badge);
  arch_set_msg_info(&rcv->ctx, m->info);
  arch_syscall_set_error(&rcv->ctx, K_ERR_OK);
  return K_ERR_OK;
}

static __attribute__((noinline)) int transfer_full(struct tcb *snd, struct tcb *rcv, const struct msg *m) {
  u64 ncaps = m->fault ? 0 : k_msg_caps(m->info), ngifts = m->fault ? 0 : k_msg_gifts(m->info);
  struct cte *dest = 0;
  struct msg_lists l;
  struct gift_src gs = {0};
  struct gift_dst gd = {0};
  int err = sender_still_able(snd, m);
  if (err)
    return err;
  if (ncaps + ngifts) {
    if ((err = recv_slots(rcv, ncaps + ngifts, &dest)))
      return err;
    copy_lists(snd, ncaps, ngifts, &l);
  }
  if (ngifts) {
    struct k_ipc_buffer *sb = ipc_buffer_of(snd), *rb = ipc_buffer_of(rcv);
    gs = gifts_of(snd, &l, (u32)ngifts);
    gd = (struct gift_dst){dest + ncaps, &rcv->slots[TCB_SLOT_VSPACE], rb->recv_window,
                           rb->recv_window_size};
    if ((err = gift_check_source_batch(&gs, &sb->gift_error_index)))
      return err;
    if ((err = check_caps(snd, m, l.caps, dest)) || (err = gift_check_window(&gs, &gd, &sb->gift_error_index))) {
      gift_abandon(&gs);
      return err;
    }
  } else if ((err = check_caps(snd, m, l.caps, dest))) {
    return err;
  }
  u64 words = copy_words(snd, rcv, m);
  move_caps(snd, ncaps, l.caps, dest);
  if (ngifts)
    ipc_buffer_of(rcv)->recv_mapped = gift_move(&gs, &gd);
  arch_set_badge(&rcv->ctx, m->badge);
  arch_set_msg_info(&rcv->ctx, k_msg_info(k_msg_label(m->info), words, ncaps, ngifts));
  arch_syscall_set_error(&rcv->ctx, K_ERR_OK);
  return K_ERR_OK;
}

int ipc_transfer(struct tcb *snd, struct tcb *rcv, const struct msg *m) {
  if (!m->fault && (m->info & 0xffffffffull) <= K_IPC_REG_WORDS) /* no capabilities, no gifts */
    return transfer_registers(snd, rcv, m);
  return transfer_full(snd, rcv, m);
}
