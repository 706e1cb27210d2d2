/* A worker: seeded random system calls on its principal's CNode, blocking
 * IPC included. It touches no memory but its stack, its IPC buffer page and
 * the shared pages, so nothing the others do can make it fault; what the
 * kernel does with its calls is checked by the controller's invariant
 * checks and by every error code being one the ABI defines. */
#include "kfuzz.h"

struct worker {
  u64 rng;
  u32 g, p, k; /* global index, principal, index in the principal */
  u32 prio;
  struct k_ipc_buffer *buf;
  struct wstat *st;
  struct shared *sh;
  u8 frames[8]; /* slots where frames were seen lately: likely gifts */
  u8 replies[4]; /* slots where REPLY capabilities were saved */
  u32 nframes, nreplies;
  int gifts_down; /* the message being sent names its gifts one level down */
};

static u64 rnd(struct worker *w, u64 n) {
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  u64 r = w->rng * 0x2545f4914f6cdd1dull;
  return n ? r % n : r;
}

static int chance(struct worker *w, u64 n) { return rnd(w, n) == 0; }

static void unexpected(struct worker *w, u64 op, u64 nr, long err) {
  printf("kfuzz: FAIL seed %llu op %llu: worker %u: %s returned %ld, not an error code\n", w->sh->seed, op,
         w->g, nr < K_SYS_COUNT ? syscall_names[nr] : "bad syscall", err);
  w->sh->fail_op = op;
  w->sh->failed = 1;
}

/* One operation: the system call with the operation's index in r12 and a
 * marker in r13, so a kernel fault while serving it names it. */
static struct msg_regs sc(struct worker *w, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) {
  u64 op = __atomic_fetch_add(&w->sh->ops, 1, __ATOMIC_RELAXED);
  register u64 r10 __asm__("r10") = a3;
  register u64 r8 __asm__("r8") = a4;
  register u64 r9 __asm__("r9") = a5;
  register u64 r12 __asm__("r12") = op;
  register u64 r13 __asm__("r13") = OP_MAGIC | w->g;
  u64 rax = nr, rdi = a0, rsi = a1, rdx = a2;
  __asm__ volatile("syscall"
                   : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                   : "r"(r12), "r"(r13)
                   : "rcx", "r11", "memory");
  struct msg_regs r = {(long)rax, rdi, rsi, {rdx, r10, r8, r9}};
  u64 row = nr < SYS_SLOTS - 1 ? nr : SYS_SLOTS - 1;
  if (r.err < 0 || r.err >= K_ERR_COUNT)
    unexpected(w, op, nr, r.err);
  else if (r.err == K_ERR_OK)
    w->st->ok[row]++;
  else
    w->st->err[row]++;
  if ((nr == K_SYS_SEND || nr == K_SYS_NBSEND || nr == K_SYS_CALL || nr == K_SYS_REPLY_RECV) && r.err >= 0 && r.err < 64)
    w->st->send_err[r.err]++;
  if (w->gifts_down) {
    w->st->gifts_down++;
    w->st->gifts_down_ok += r.err == K_ERR_OK;
    w->gifts_down = 0;
  }
  if (a0 >> 32) { /* the capability it invokes named one level down */
    w->st->two_level++;
    w->st->two_level_ok += r.err == K_ERR_OK;
  }
  w->st->pin_outside_root += r.err == K_ERR_PIN_OUTSIDE_ROOT;
  w->st->ops++;
  return r;
}

#define SC(w, nr, a0, a1, a2, a3, a4, a5) sc(w, nr, (u64)(a0), (u64)(a1), (u64)(a2), (u64)(a3), (u64)(a4), (u64)(a5))

/* ---- choosing arguments ---- */

static u64 play_slot(struct worker *w) { return S_PLAY + rnd(w, S_RECV - S_PLAY); }

static u64 any_slot(struct worker *w) {
  if (chance(w, 32))
    return rnd(w, 2 * CN_SLOTS); /* 0 and out of range too */
  if (chance(w, 16)) /* a slot one level down, in a CNode the retypes made (or in whatever is there) */
    return k_cptr_in(chance(w, 2) ? play_slot(w) : rnd(w, CN_SLOTS), rnd(w, 40));
  return 1 + rnd(w, CN_SLOTS - 1);
}
static u64 recv_first(struct worker *w) { return S_RECV + w->k * RECV_SLOTS; }

static u64 ep_slot(struct worker *w) {
  static const u8 eps[] = {S_SHARED_EP, S_SHARED_EP + 1, S_SHARED_EP + 2, S_SHARED_EP + 3,
                           S_OWN_EP, S_OWN_EP + 1, S_OTHER_EP, S_OTHER_EP + 1};
  return chance(w, 8) ? any_slot(w) : eps[rnd(w, sizeof(eps))];
}

static u64 ntfn_slot(struct worker *w) {
  static const u8 ns[] = {S_SHARED_NTFN, S_SHARED_NTFN + 1, S_OWN_NTFN, S_OTHER_NTFN};
  return chance(w, 8) ? any_slot(w) : ns[rnd(w, sizeof(ns))];
}

static u64 tcb_slot(struct worker *w) { return chance(w, 8) ? any_slot(w) : S_TCB + rnd(w, 4); }

static void saw_frame(struct worker *w, u64 slot) { w->frames[w->nframes++ % 8] = (u8)slot; }

static u64 frame_slot(struct worker *w) {
  if (w->nframes && !chance(w, 4))
    return w->frames[rnd(w, w->nframes < 8 ? w->nframes : 8)];
  return chance(w, 2) ? play_slot(w) : any_slot(w);
}

static u64 window(struct worker *w) {
  switch (rnd(w, 8)) {
  case 0: return 0;
  case 1: return PLAY_VA + rnd(w, PLAY_SIZE / K_PAGE_SIZE) * K_PAGE_SIZE;
  case 2: return rnd(w, 1ull << 48);
  default: return WIN_VA + rnd(w, 16) * K_PAGE_SIZE;
  }
}

/* Where received capabilities and gifts land, set before every receive. */
static void set_receive(struct worker *w) {
  struct k_ipc_buffer *b = w->buf;
  u64 skip = chance(w, 4) ? rnd(w, 4) : 0;
  b->recv_cnode = chance(w, 16) ? any_slot(w) : S_CNODE;
  b->recv_slot = chance(w, 16) ? any_slot(w) : recv_first(w) + skip;
  b->recv_count = chance(w, 8) ? rnd(w, 16) : RECV_SLOTS - skip;
  b->recv_window = window(w);
  b->recv_window_size = chance(w, 8) ? rnd(w, 1ull << 40) : (chance(w, 8) ? rnd(w, 4) : 16) * K_PAGE_SIZE;
}

/* Received capabilities are deleted, moved on to the play area, or stay
 * (and make the next receive fail) at random. */
static void op_tidy(struct worker *w) {
  u64 first = recv_first(w);
  if (chance(w, 6)) {
    for (u64 i = 0; i < RECV_SLOTS; i++)
      SC(w, K_SYS_CNODE_DELETE, S_CNODE, first + i, 0, 0, 0, 0);
  } else if (chance(w, 2)) {
    SC(w, K_SYS_CNODE_MOVE, S_CNODE, play_slot(w), S_CNODE, first + rnd(w, RECV_SLOTS), 0, 0);
  } else {
    SC(w, K_SYS_CNODE_DELETE, S_CNODE, first + rnd(w, RECV_SLOTS), 0, 0, 0, 0);
  }
}

static void note_received(struct worker *w, const struct msg_regs *r) {
  u64 caps = k_msg_caps(r->info), gifts = k_msg_gifts(r->info);
  w->st->msgs_rx++;
  w->st->words_rx += k_msg_words(r->info) > K_IPC_REG_WORDS;
  w->st->caps_rx += caps;
  w->st->gifts_rx += gifts;
  w->st->mapped_rx += gifts ? w->buf->recv_mapped / K_PAGE_SIZE : 0;
  for (u64 i = 0; i < gifts && i < 4; i++)
    saw_frame(w, w->buf->recv_slot + caps + i);
}

/* A slot that holds a frame now, asked of the kernel (each question is an
 * operation too), or a likely one. */
static u64 find_frame(struct worker *w) {
  for (int i = 0; i < 3; i++) {
    u64 s = frame_slot(w);
    if (SC(w, K_SYS_CAP_TYPE, S_CNODE, s, 0, 0, 0, 0).w[0] == K_OBJ_FRAME_4K)
      return s;
  }
  return frame_slot(w);
}

/* A capability worth sending: mostly one the principal holds for sure. */
static u64 cap_slot(struct worker *w) {
  switch (rnd(w, 8)) {
  case 0: case 1: case 2: case 3: return S_SHARED_EP + rnd(w, S_DMA - S_SHARED_EP);
  case 4: case 5: return find_frame(w);
  case 6: return play_slot(w);
  default: return any_slot(w);
  }
}

/* A message: words, capabilities and gifts named in the IPC buffer. */
static u64 compose(struct worker *w) {
  struct k_ipc_buffer *b = w->buf;
  u64 words = chance(w, 2) ? rnd(w, 5) : rnd(w, 12), caps = 0, gifts = 0;
  if (chance(w, 32))
    words = rnd(w, 128);
  if (chance(w, 3))
    caps = rnd(w, 3);
  if (chance(w, 2))
    gifts = chance(w, 8) ? rnd(w, 8) : 1 + rnd(w, 3);
  for (u64 i = 4; i < words && i < K_IPC_MAX_WORDS; i++)
    b->words[i] = rnd(w, 0);
  for (u64 i = 0; i < caps; i++)
    b->caps[i] = cap_slot(w);
  b->gift_cnode = 0;
  if (gifts && chance(w, 8)) { /* slots of a CNode the retypes made, where moves put frames (or of whatever is there) */
    b->gift_cnode = chance(w, 8) ? any_slot(w) : play_slot(w);
    w->gifts_down = 1;
  }
  for (u64 i = 0; i < gifts; i++)
    b->gifts[i] = (u32)(w->gifts_down ? 1 + rnd(w, 31) : chance(w, 4) ? frame_slot(w) : find_frame(w));
  if (w->sh->flags & F_NO_CAP_AND_GIFT) {
    for (u64 i = 0; i < caps; i++)
      for (u64 j = 0; j < gifts; j++)
        if (b->caps[i] == b->gifts[j])
          b->caps[i] = S_SHARED_EP;
  } else if (caps && gifts && chance(w, 6)) {
    b->caps[0] = b->gifts[0]; /* one frame both copied and gifted */
  }
  return k_msg_info((u32)rnd(w, 4), words, caps, gifts);
}

/* ---- operations ---- */

static void op_send(struct worker *w) {
  static const u64 nrs[] = {K_SYS_SEND, K_SYS_NBSEND, K_SYS_NBSEND, K_SYS_CALL};
  u64 nr = nrs[rnd(w, 4)];
  if (nr == K_SYS_CALL)
    set_receive(w);
  u64 info = compose(w);
  struct msg_regs r = SC(w, nr, ep_slot(w), info, rnd(w, 0), rnd(w, 0), rnd(w, 0), rnd(w, 0));
  if (nr == K_SYS_CALL && r.err == K_ERR_OK)
    note_received(w, &r);
}

static void op_recv(struct worker *w) {
  static const u64 nrs[] = {K_SYS_RECV, K_SYS_NBRECV, K_SYS_NBRECV, K_SYS_REPLY_RECV};
  u64 nr = nrs[rnd(w, 4)], info = nr == K_SYS_REPLY_RECV ? compose(w) : 0;
  set_receive(w);
  struct msg_regs r = SC(w, nr, ep_slot(w), info, rnd(w, 0), 0, 0, 0);
  if (r.err == K_ERR_OK)
    note_received(w, &r);
}

static void op_reply(struct worker *w) {
  switch (rnd(w, 3)) {
  case 0:
    SC(w, K_SYS_REPLY, 0, compose(w), rnd(w, 0), 0, 0, 0);
    break;
  case 1: {
    u64 s = play_slot(w);
    if (SC(w, K_SYS_REPLY_SAVE, S_CNODE, s, 0, 0, 0, 0).err == K_ERR_OK)
      w->replies[w->nreplies++ % 4] = (u8)s;
    break;
  }
  default: {
    u64 s = w->nreplies && !chance(w, 4) ? w->replies[rnd(w, w->nreplies < 4 ? w->nreplies : 4)] : any_slot(w);
    SC(w, K_SYS_REPLY_TO, s, compose(w), rnd(w, 0), 0, 0, 0);
  }
  }
}

static void op_notification(struct worker *w) {
  u64 now = syscall6(K_SYS_TIME, 0, 0, 0, 0, 0, 0).val;
  switch (rnd(w, 6)) {
  case 0:
  case 1:
    SC(w, K_SYS_SIGNAL, ntfn_slot(w), 0, 0, 0, 0, 0);
    break;
  case 2:
    SC(w, K_SYS_WAIT, ntfn_slot(w), 0, 0, 0, 0, 0);
    break;
  case 3:
    SC(w, K_SYS_POLL, ntfn_slot(w), 0, 0, 0, 0, 0);
    break;
  case 4: {
    u64 deadline = chance(w, 8) ? 0 : chance(w, 4) ? now - rnd(w, 1000) : now + rnd(w, 30000000);
    SC(w, K_SYS_NTFN_SET_TIMER, ntfn_slot(w), deadline, 1 + rnd(w, 255), 0, 0, 0);
    break;
  }
  default:
    SC(w, K_SYS_TCB_BIND_NOTIFICATION, tcb_slot(w), chance(w, 4) ? 0 : ntfn_slot(w), 0, 0, 0, 0);
  }
}

static void op_cnode(struct worker *w) {
  switch (rnd(w, 6)) {
  case 0:
    if (chance(w, 4)) /* into a CNode the retypes made: what addresses one level down then name */
      SC(w, K_SYS_CNODE_COPY, play_slot(w), 1 + rnd(w, 31), S_CNODE, any_slot(w), rnd(w, 8), 0);
    else
      SC(w, K_SYS_CNODE_COPY, S_CNODE, play_slot(w), S_CNODE, any_slot(w), rnd(w, 8), 0);
    break;
  case 1:
    SC(w, K_SYS_CNODE_MINT, S_CNODE, play_slot(w), S_CNODE, any_slot(w), rnd(w, 8), chance(w, 2) ? rnd(w, 0) : rnd(w, 16));
    break;
  case 2:
    if (chance(w, 4)) /* out of the root, into a CNode the retypes made: refused for a pinned frame */
      SC(w, K_SYS_CNODE_MOVE, play_slot(w), 1 + rnd(w, 31), S_CNODE, chance(w, 2) ? play_slot(w) : any_slot(w), 0, 0);
    else
      SC(w, K_SYS_CNODE_MOVE, S_CNODE, play_slot(w), S_CNODE, chance(w, 2) ? play_slot(w) : any_slot(w), 0, 0);
    break;
  case 3:
  case 4: {
    u64 s = chance(w, 2) ? play_slot(w) : any_slot(w);
    SC(w, K_SYS_CNODE_DELETE, S_CNODE, s, 0, 0, 0, 0);
    break;
  }
  default: {
    u64 s = chance(w, 2) ? play_slot(w) : any_slot(w);
    if (s == S_VSPACE && (w->sh->flags & F_NO_VSPACE_REVOKE))
      s = play_slot(w);
    SC(w, K_SYS_CNODE_REVOKE, S_CNODE, s, 0, 0, 0, 0);
  }
  }
}

static const u32 retype_types[] = {K_OBJ_FRAME_4K, K_OBJ_FRAME_4K, K_OBJ_FRAME_4K, K_OBJ_FRAME_4K, K_OBJ_ENDPOINT,
                                   K_OBJ_NOTIFICATION, K_OBJ_CNODE, K_OBJ_TCB, K_OBJ_VSPACE, K_OBJ_PDPT, K_OBJ_PD,
                                   K_OBJ_PT, K_OBJ_PT, K_OBJ_UNTYPED, K_OBJ_FRAME_2M, 99};

static void op_retype(struct worker *w) {
  u32 type = retype_types[rnd(w, sizeof(retype_types) / sizeof(retype_types[0]))];
  u32 bits = type == K_OBJ_CNODE ? 1 + (u32)rnd(w, 5) : type == K_OBJ_UNTYPED ? 12 + (u32)rnd(w, 6) : 0;
  u64 ut = chance(w, 4) ? any_slot(w) : S_PLAY_UT, dest = play_slot(w), count = 1 + (chance(w, 4) ? rnd(w, 4) : 0);
  if (dest + count > CN_SLOTS && !chance(w, 8))
    count = 1;
  if (SC(w, K_SYS_UNTYPED_RETYPE, ut, type | bits << 8, S_CNODE, dest, count, rnd(w, 100)).err == K_ERR_OK &&
      type == K_OBJ_FRAME_4K)
    saw_frame(w, dest);
}

static u64 play_va(struct worker *w) {
  return chance(w, 4) ? WIN_VA + rnd(w, WIN_SIZE / K_PAGE_SIZE) * K_PAGE_SIZE
                      : PLAY_VA + rnd(w, PLAY_SIZE / K_PAGE_SIZE) * K_PAGE_SIZE;
}

static void op_map(struct worker *w) {
  switch (rnd(w, 6)) {
  case 4: /* offsets and lengths mostly in range, sometimes past it */
    SC(w, K_SYS_FRAME_COPY, frame_slot(w), rnd(w, 4200), chance(w, 8) ? any_slot(w) : frame_slot(w), rnd(w, 4200),
       chance(w, 8) ? rnd(w, 1u << 22) : rnd(w, 4200), 0);
    break;
  case 0:
  case 1:
    SC(w, K_SYS_FRAME_MAP, frame_slot(w), chance(w, 8) ? any_slot(w) : S_VSPACE, play_va(w), rnd(w, 4), 0, 0);
    break;
  case 2:
    SC(w, K_SYS_PAGE_TABLE_MAP, chance(w, 2) ? play_slot(w) : any_slot(w), S_VSPACE, play_va(w), 0, 0, 0);
    break;
  case 3:
    SC(w, K_SYS_FRAME_UNMAP, frame_slot(w), 0, 0, 0, 0, 0);
    break;
  default:
    SC(w, K_SYS_PAGE_TABLE_UNMAP, play_slot(w), 0, 0, 0, 0, 0);
  }
}

/* Thread operations on the principal's workers (this one included) and
 * on the next principal's first. */
static void op_tcb(struct worker *w) {
  u64 t = tcb_slot(w);
  switch (rnd(w, 7)) {
  case 0:
    SC(w, K_SYS_TCB_SUSPEND, t, 0, 0, 0, 0, 0);
    break;
  case 1:
    SC(w, K_SYS_TCB_RESUME, t, 0, 0, 0, 0, 0);
    break;
  case 2:
  case 3: {
    u64 f = chance(w, 2) ? S_BUF + rnd(w, 4) : frame_slot(w);
    if (chance(w, 4) && !(w->sh->flags & F_NO_BUFFER_DROP))
      f = 0; /* its IPC buffer goes, maybe while it waits to send */
    if (chance(w, 3)) {
      t = S_TCB + w->k; /* its own, back */
      f = S_BUF + w->k;
    }
    SC(w, K_SYS_TCB_SET_IPC_BUFFER, t, f, 0, 0, 0, 0);
    break;
  }
  case 4: {
    u64 prio = chance(w, 16) ? rnd(w, 300) : 10 + rnd(w, w->prio - 9);
    /* Only its own principal's threads: another principal's would run
     * in this VSpace, without its stack. */
    SC(w, K_SYS_TCB_CONFIGURE, S_TCB + rnd(w, TPP), S_CNODE, S_VSPACE, prio, 0, 0);
    break;
  }
  case 5:
    SC(w, K_SYS_TCB_SET_FAULT_ENDPOINT, t, chance(w, 2) ? 0 : ep_slot(w), 0, 0, 0, 0);
    break;
  default: {
    struct k_tcb_info ti;
    SC(w, K_SYS_TCB_INFO, t, &ti, 0, 0, 0, 0);
  }
  }
}

static void op_query(struct worker *w) {
  union {
    struct k_cap_info ci;
    struct k_untyped_usage u;
  } out;
  static struct k_principal_report records[4]; /* workers share it: only the kernel's side matters */
  switch (rnd(w, 4)) {
  case 3:
    SC(w, K_SYS_UNTYPED_REPORT, chance(w, 2) ? S_PLAY_UT : any_slot(w), chance(w, 8) ? (void *)0x1000 : records,
       rnd(w, 5), 0, 0, 0);
    break;
  case 0:
    SC(w, K_SYS_CAP_IDENTIFY, S_CNODE, any_slot(w), &out.ci, 0, 0, 0);
    break;
  case 1: {
    struct msg_regs r = SC(w, K_SYS_CAP_TYPE, S_CNODE, any_slot(w), 0, 0, 0, 0);
    (void)r;
    break;
  }
  default:
    SC(w, K_SYS_UNTYPED_USAGE, chance(w, 2) ? S_PLAY_UT : any_slot(w), &out.u, rnd(w, 2), 0, 0, 0);
  }
}

static void op_dma(struct worker *w) {
  u64 phys[4];
  if (w->sh->flags & F_NO_DMA)
    return;
  switch (rnd(w, 5)) {
  case 0:
    SC(w, K_SYS_DMA_PIN, S_DMA, chance(w, 4) ? k_cptr_in(play_slot(w), 1 + rnd(w, 31)) : frame_slot(w), 0, 0, 0, 0);
    break;
  case 4: { /* a pinned frame moved out of the root, into a CNode that may die: refused */
    u64 f = frame_slot(w);
    SC(w, K_SYS_DMA_PIN, S_DMA, f, 0, 0, 0, 0);
    SC(w, K_SYS_CNODE_MOVE, play_slot(w), 1 + rnd(w, 31), S_CNODE, f, 0, 0);
    break;
  }
  case 1: /* half the time unpinned into a play slot, or a slot of a CNode there (which may be dying; 0 and 32 are no slots) */
    if (chance(w, 2))
      SC(w, K_SYS_DMA_UNPIN, S_DMA, chance(w, 2) ? frame_slot(w) : any_slot(w), 0, 0, 0, 0);
    else {
      u64 f = chance(w, 4) ? any_slot(w) : frame_slot(w), fresh = play_slot(w);
      if (chance(w, 2) && !SC(w, K_SYS_UNTYPED_RETYPE, S_PLAY_UT, K_OBJ_FRAME_4K, S_CNODE, fresh, 1, 0).err) {
        saw_frame(w, fresh); /* most frames of the others are gone or shared by now: a fresh one */
        f = fresh;
      }
      if (!chance(w, 4))
        SC(w, K_SYS_DMA_PIN, S_DMA, f, 0, 0, 0, 0);
      int root = !chance(w, 4); /* into a play slot of the root, or a slot of whatever a play slot holds */
      struct msg_regs r = SC(w, K_SYS_DMA_UNPIN, S_DMA, f, root ? S_CNODE : play_slot(w), root ? play_slot(w) : rnd(w, 33), 0, 0);
      w->st->unpin_to++;
      w->st->unpin_to_moved += r.err == K_ERR_OK && r.w[0] == 1; /* the result is in rdx */
    }
    break;
  case 2:
    SC(w, K_SYS_DMA_UNPIN_RANGE, S_DMA, chance(w, 2) ? frame_slot(w) : any_slot(w), 1 + rnd(w, 4), 0, 0, 0);
    break;
  default: { /* half the time each frame moved to a play slot, in increasing order but one time in 8 */
    u64 dests[4], n = 1 + rnd(w, 4), base = S_PLAY + rnd(w, 56);
    for (u64 i = 0; i < 4; i++)
      dests[i] = chance(w, 8) ? play_slot(w) : base + 2 * i;
    int to = chance(w, 2);
    u64 run = frame_slot(w), fresh = play_slot(w);
    if (to && chance(w, 2) && !SC(w, K_SYS_UNTYPED_RETYPE, S_PLAY_UT, K_OBJ_FRAME_4K, S_CNODE, fresh, n, 0).err)
      run = fresh; /* a run of frames of its own, as a driver's gifts are */
    struct msg_regs r = SC(w, K_SYS_DMA_PIN_RANGE, S_DMA, run, n, phys, to ? dests : 0, 0);
    w->st->pin_to += to;
    w->st->pin_to_moved += to && r.err == K_ERR_OK;
  }
  }
}

/* Any call but those that end the thread, print, check the kernel, or
 * send a thread elsewhere (new registers, another address space),
 * with arguments small enough to mean something now and then. */
static void op_random(struct worker *w) {
  u64 nr = rnd(w, K_SYS_COUNT + 3);
  if (nr == K_SYS_THREAD_EXIT || nr == K_SYS_DEBUG_PUTS || nr == K_SYS_DEBUG_CHECK_INVARIANTS ||
      nr == K_SYS_IOPORT_OUT || nr == K_SYS_IOPORT_IN || nr == K_SYS_TCB_WRITE_REGS || nr == K_SYS_TCB_CONFIGURE)
    nr = K_SYS_YIELD;
  u64 a[6];
  for (int i = 0; i < 6; i++)
    a[i] = chance(w, 2) ? rnd(w, CN_SLOTS) : rnd(w, 0);
  SC(w, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

struct op {
  void (*fn)(struct worker *);
  u32 weight;
};

static const struct op ops[] = {
    {op_send, 14}, {op_recv, 12}, {op_reply, 7}, {op_notification, 9}, {op_cnode, 12}, {op_retype, 10},
    {op_map, 9},   {op_tcb, 9},   {op_query, 4}, {op_dma, 3},          {op_random, 3},
    {op_tidy, 3},
};

static void one_op(struct worker *w) {
  u64 total = 0;
  for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    total += ops[i].weight;
  u64 r = rnd(w, total);
  for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    if (r < ops[i].weight) {
      ops[i].fn(w);
      return;
    }
    r -= ops[i].weight;
  }
}

void worker_main(u64 arg) {
  struct worker w = {.g = (u32)(arg & 0xff), .sh = shared()};
  w.p = w.g / TPP;
  w.k = w.g % TPP;
  w.prio = (u32)(arg >> 16) & 0xff;
  w.rng = mix64(w.sh->seed * 0x9e3779b97f4a7c15ull + arg) | 1;
  w.buf = worker_buffer(w.g);
  w.st = &w.sh->w[w.g];
  w.st->starts++;
  while (!w.sh->stop && !w.sh->failed && w.sh->ops < w.sh->budget)
    one_op(&w);
  for (;;)
    sys_thread_exit();
}
