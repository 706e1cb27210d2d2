/* System-call decoding: look up and check every capability and argument,
 * then call an operation that cannot fail halfway (decode, then invoke). */
#include "kernel/syscall.h"
#include "kernel/cpu.h"
#include "kernel/print.h"
#include "kernel/sched.h"
#include "kernel/clock.h"
#include "mm/untyped.h"
#include "mm/uaccess.h"
#include "mm/dma.h"
#include "ipc/endpoint.h"
#include "kernel/irq.h"
#include "kernel/invariants.h"
#include <arch/cpu.h>
#include "kernel/preempt.h"
#include <lib/string.h>

/* A system call's arguments are read straight from the saved registers:
 * arguments 0-5 are rdi, rsi, rdx, r10, r8, r9. */
struct call {
  struct tcb *self;
  struct user_ctx *ctx;
};

/* ---- capability lookup ---- */

static int slot_in(const struct cap *cnode, u64 index, struct cte **out) {
  if (index == 0 || index >= (1ull << cnode->w1))
    return ERR_INVALID_CAP;
  *out = (struct cte *)cnode->obj + index;
  return ERR_OK;
}

static int lookup_slot(struct call *c, cptr_t cptr, struct cte **out) {
  const struct cap *root = &c->self->slots[TCB_SLOT_CSPACE].cap;
  if (root->type != OBJ_CNODE)
    return ERR_NOT_CONFIGURED;
  return slot_in(root, cptr, out);
}

static int lookup_cap(struct call *c, cptr_t cptr, u8 rights, struct cte **out) {
  int err = lookup_slot(c, cptr, out);
  if (err)
    return err;
  if (cte_empty(*out))
    return ERR_EMPTY_SLOT;
  return ((*out)->cap.rights & rights) == rights ? ERR_OK : ERR_NO_RIGHTS;
}

static int lookup_typed(struct call *c, cptr_t cptr, u8 type, u8 rights, struct cte **out) {
  int err = lookup_slot(c, cptr, out);
  if (err)
    return err;
  if (cte_empty(*out))
    return ERR_EMPTY_SLOT;
  if ((*out)->cap.type != type)
    return ERR_WRONG_TYPE;
  return ((*out)->cap.rights & rights) == rights ? ERR_OK : ERR_NO_RIGHTS;
}

/* Slot `index` of the CNode that `cnode` designates. */
static int lookup_in_cnode(struct call *c, cptr_t cnode, u64 index, u8 rights, struct cte **out) {
  struct cte *cn;
  int err = lookup_typed(c, cnode, OBJ_CNODE, rights, &cn);
  return err ? err : slot_in(&cn->cap, index, out);
}

/* The caller's address space for copies in and out; 0 (every copy fails)
 * if its VSpace went during this very call. */
static const struct vs_table *own_root(struct call *c) {
  const struct cap *vs = &c->self->slots[TCB_SLOT_VSPACE].cap;
  return vs->type == OBJ_VSPACE ? (const struct vs_table *)vs->obj : 0;
}

/* ---- debugging and time ---- */

static int sys_debug_puts(struct call *c) {
  char buf[256];
  u64 va = c->ctx->rdi, len = c->ctx->rsi;
  if (len > 4096)
    return ERR_RANGE;
  while (len) {
    u64 n = len < sizeof(buf) ? len : sizeof(buf);
    int err = copy_from_user(own_root(c), buf, va, n);
    if (err)
      return err;
    console_write(buf, n);
    va += n;
    len -= n;
  }
  return ERR_OK;
}

static int sys_yield(struct call *c) {
  (void)c;
  sched_yield();
  return ERR_OK;
}

static int sys_thread_exit(struct call *c) {
  tcb_suspend(c->self);
  c->self->state = TCB_EXITED;
  return ERR_OK;
}

static int sys_time(struct call *c) {
  c->ctx->rdx = clock_ns();
  return ERR_OK;
}

/* Under -icount shift=0 a ns of busy time is one instruction: benchmarks
 * that wait for I/O leave the halted time out with this. */
static int sys_idle_time(struct call *c) {
  c->ctx->rdx = clock_tsc_to_ns(this_cpu()->idle_tsc);
  return ERR_OK;
}

static int sys_thread_time(struct call *c) {
  c->ctx->rdx = clock_tsc_to_ns(sched_cpu_tsc(c->self));
  return ERR_OK;
}

/* ---- untyped ---- */

static int sys_untyped_retype(struct call *c) {
  struct cte *ut, *dest;
  u64 packed = c->ctx->rsi, slot = c->ctx->r10, count = c->ctx->r8;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_UNTYPED, RIGHT_WRITE, &ut);
  if (err)
    return err;
  if (packed >> 16 || count == 0 || count > RETYPE_MAX_COUNT || c->ctx->r9 >> 32)
    return ERR_RANGE;
  err = lookup_in_cnode(c, c->ctx->rdx, slot, RIGHT_WRITE, &dest);
  if (err)
    return err;
  struct cte *last;
  err = lookup_in_cnode(c, c->ctx->rdx, slot + count - 1, RIGHT_WRITE, &last);
  if (err)
    return err;
  struct retype_args a = {.type = packed & 0xff, .size_bits = (packed >> 8) & 0xff,
                          .count = (u32)count, .label = (u32)c->ctx->r9};
  return ut_retype(ut, &a, dest);
}

static int sys_untyped_usage(struct call *c) {
  struct cte *ut;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_UNTYPED, RIGHT_READ, &ut);
  if (err)
    return err;
  if (c->ctx->rdx & ~(u64)USAGE_RECURSIVE)
    return ERR_RANGE;
  /* A walk that stopped for an interrupt left its sums in the caller's
   * buffer (a caller that changes them only misleads itself). */
  int recursive = c->ctx->rdx & USAGE_RECURSIVE;
  struct untyped_usage u;
  if (ut_usage_resumes(ut, recursive, c->self) && copy_from_user(own_root(c), &u, c->ctx->rsi, sizeof(u)))
    ut_usage_abandon();
  int done = ut_usage(ut, recursive, c->self, &u);
  err = copy_to_user(own_root(c), c->ctx->rsi, &u, sizeof(u));
  if (err)
    ut_usage_abandon();
  return err ? err : done;
}

/* ---- CNode operations ---- */

static int sys_cap_identify(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_READ, &s);
  if (err)
    return err;
  struct cap_info info;
  memset(&info, 0, sizeof(info));
  const struct cap *k = &s->cap;
  info.type = k->type;
  info.rights = k->rights;
  info.size = cap_object_size(k);
  info.label = k->label;
  if (k->type == OBJ_ENDPOINT || k->type == OBJ_NOTIFICATION || k->type == OBJ_IRQ_CONTROL)
    info.badge = k->w1; /* IRQ control: the lines it may claim */
  if (vs_cap_is_mapped(k)) {
    info.mapped = 1;
    info.mapped_vaddr = k->w2;
  }
  if (k->type == OBJ_IOPORTS) {
    info.base = k->w1;
    info.size = k->w2 - k->w1 + 1;
  }
  if (k->type == OBJ_UNTYPED)
    info.base = k->obj;
  return copy_to_user(own_root(c), c->ctx->rdx, &info, sizeof(info));
}

/* The question servers ask most (is the client's memory still there?),
 * answered in a register. */
static int sys_cap_type(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_READ, &s);
  c->ctx->rdx = err ? 0 : s->cap.type;
  return err;
}

/* Source and empty destination for copy, mint and move. */
static int lookup_pair(struct call *c, struct cte **dst, struct cte **src) {
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_WRITE, dst);
  if (!err)
    err = lookup_in_cnode(c, c->ctx->rdx, c->ctx->r10, RIGHT_WRITE, src);
  if (err)
    return err;
  if (cte_empty(*src))
    return ERR_EMPTY_SLOT;
  if (*src == *dst)
    return ERR_SAME_SLOT;
  return cte_empty(*dst) ? ERR_OK : ERR_SLOT_OCCUPIED;
}

/* The capability a copy or mint makes: fewer rights, unmapped, and for
 * endpoints a badge, for I/O ports a narrower range. */
static int derive(const struct cap *src, u64 rights, int mint, u64 badge, struct cap *out) {
  if (rights & ~(u64)RIGHTS_ALL)
    return ERR_RANGE;
  int err = cap_derivable(src);
  if (err)
    return err;
  *out = *src;
  out->rights = src->rights & (u8)rights;
  if (vs_cap_is_mapped(src))
    out->w1 = out->w2 = 0;
  if (!mint)
    return ERR_OK;
  switch (src->type) {
  case OBJ_ENDPOINT:
  case OBJ_NOTIFICATION:
    if (src->w1)
      return ERR_BAD_STATE; /* already badged */
    out->w1 = badge;
    return ERR_OK;
  case OBJ_IRQ_CONTROL:
    if (badge & ~src->w1)
      return ERR_RANGE; /* only lines it may claim itself */
    out->w1 = badge;
    return ERR_OK;
  case OBJ_IOPORTS: {
    u64 first = badge & 0xffff, last = (badge >> 16) & 0xffff;
    if (badge >> 32 || first > last || first < src->w1 || last > src->w2)
      return ERR_RANGE;
    out->w1 = first;
    out->w2 = last;
    return ERR_OK;
  }
  default:
    return badge ? ERR_RANGE : ERR_OK;
  }
}

static int copy_or_mint(struct call *c, int mint) {
  struct cte *dst, *src;
  int err = lookup_pair(c, &dst, &src);
  if (err)
    return err;
  struct cap cap;
  err = derive(&src->cap, c->ctx->r8, mint, mint ? c->ctx->r9 : 0, &cap);
  if (err)
    return err;
  cte_insert(dst, &cap, src);
  return ERR_OK;
}

static int sys_cnode_copy(struct call *c) { return copy_or_mint(c, 0); }
static int sys_cnode_mint(struct call *c) { return copy_or_mint(c, 1); }

static int sys_cnode_move(struct call *c) {
  struct cte *dst, *src;
  int err = lookup_pair(c, &dst, &src);
  if (!err)
    cte_move(dst, src);
  return err;
}

static int sys_cnode_delete(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_WRITE, &s);
  if (err)
    return err;
  if (cte_empty(s))
    return ERR_EMPTY_SLOT;
  return cap_delete(s);
}

static int sys_cnode_revoke(struct call *c) {
  struct cte *s;
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_WRITE, &s);
  if (err)
    return err;
  if (cte_empty(s))
    return ERR_EMPTY_SLOT;
  return cap_revoke(s);
}

/* ---- threads ---- */

static int lookup_tcb(struct call *c, struct tcb **t) {
  struct cte *s;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_TCB, RIGHT_WRITE, &s);
  if (!err)
    *t = (struct tcb *)s->cap.obj;
  return err;
}

static int sys_tcb_configure(struct call *c) {
  struct tcb *t;
  struct cte *cspace, *vspace;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_typed(c, c->ctx->rsi, OBJ_CNODE, 0, &cspace);
  if (!err)
    err = lookup_typed(c, c->ctx->rdx, OBJ_VSPACE, 0, &vspace);
  if (err)
    return err;
  if (c->ctx->r10 > PRIORITY_MAX)
    return ERR_RANGE;
  return tcb_configure(t, cspace, vspace, (u32)c->ctx->r10);
}

static int sys_tcb_write_regs(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  return err ? err : tcb_write_regs(t, c->ctx->rsi, c->ctx->rdx, c->ctx->r10);
}

static int sys_tcb_resume(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  return err ? err : tcb_resume(t);
}

static int sys_tcb_suspend(struct call *c) {
  struct tcb *t;
  int err = lookup_tcb(c, &t);
  if (!err)
    tcb_suspend(t);
  return err;
}

static int sys_tcb_info(struct call *c) {
  struct cte *s;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_TCB, RIGHT_READ, &s);
  if (err)
    return err;
  struct tcb_info info;
  tcb_get_info((struct tcb *)s->cap.obj, &info);
  return copy_to_user(own_root(c), c->ctx->rsi, &info, sizeof(info));
}

/* ---- address spaces ---- */

static int sys_page_table_map(struct call *c) {
  struct cte *table, *vs;
  int err = lookup_cap(c, c->ctx->rdi, 0, &table);
  if (!err)
    err = lookup_typed(c, c->ctx->rsi, OBJ_VSPACE, RIGHT_WRITE, &vs);
  return err ? err : vs_map_table(table, vs, c->ctx->rdx);
}

static int sys_frame_map(struct call *c) {
  struct cte *frame, *vs;
  int err = lookup_cap(c, c->ctx->rdi, 0, &frame);
  if (!err)
    err = lookup_typed(c, c->ctx->rsi, OBJ_VSPACE, RIGHT_WRITE, &vs);
  if (!err && c->ctx->r10 >> 32)
    err = ERR_RANGE;
  return err ? err : vs_map_frame(frame, vs, c->ctx->rdx, (u32)c->ctx->r10);
}

static int sys_unmap(struct call *c) {
  struct cte *s;
  int err = lookup_cap(c, c->ctx->rdi, 0, &s);
  return err ? err : vs_unmap(s);
}

/* ---- I/O ports ---- */

static int lookup_port(struct call *c, u8 right, u16 *port, unsigned *width) {
  struct cte *s;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_IOPORTS, right, &s);
  if (err)
    return err;
  u64 p = c->ctx->rsi, w = c->ctx->rdx;
  if (w != 1 && w != 2 && w != 4)
    return ERR_RANGE;
  if (p & (w - 1))
    return ERR_ALIGNMENT;
  if (p < s->cap.w1 || p > 0xffff || p + w - 1 > s->cap.w2)
    return ERR_RANGE;
  *port = (u16)p;
  *width = (unsigned)w;
  return ERR_OK;
}

static int sys_ioport_in(struct call *c) {
  u16 port;
  unsigned w;
  int err = lookup_port(c, RIGHT_READ, &port, &w);
  if (!err)
    c->ctx->rdx = w == 1 ? inb(port) : w == 2 ? inw(port) : inl(port);
  return err;
}

static int sys_ioport_out(struct call *c) {
  u16 port;
  unsigned w;
  int err = lookup_port(c, RIGHT_WRITE, &port, &w);
  if (err)
    return err;
  u64 v = c->ctx->r10;
  if (v >> (8 * w))
    return ERR_RANGE;
  if (w == 1)
    outb(port, (u8)v);
  else if (w == 2)
    outw(port, (u16)v);
  else
    outl(port, (u32)v);
  return ERR_OK;
}

/* ---- IPC ---- */

static int sys_send_common(struct call *c, int call, int block) {
  struct cte *ep;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_ENDPOINT, RIGHT_WRITE, &ep);
  return err ? err : ipc_send(c->self, ep, c->ctx->rsi, call, block);
}

static int sys_send(struct call *c) { return sys_send_common(c, 0, 1); }
static int sys_nbsend(struct call *c) { return sys_send_common(c, 0, 0); }
static int sys_call(struct call *c) { return sys_send_common(c, 1, 1); }

static int sys_recv_common(struct call *c, int block) {
  struct cte *ep;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_ENDPOINT, RIGHT_READ, &ep);
  return err ? err : ipc_recv(c->self, ep, block);
}

static int sys_recv(struct call *c) { return sys_recv_common(c, 1); }
static int sys_nbrecv(struct call *c) { return sys_recv_common(c, 0); }
static int sys_reply(struct call *c) { return ipc_reply(c->self, c->ctx->rsi); }

/* Reply to the last caller (if any), then wait for the next message. */
static int sys_reply_recv(struct call *c) {
  struct cte *ep;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_ENDPOINT, RIGHT_READ, &ep);
  if (err)
    return err;
  err = ipc_reply(c->self, c->ctx->rsi);
  if (err && err != ERR_NO_CALLER)
    return err;
  return ipc_recv(c->self, ep, 1);
}

static int sys_signal(struct call *c) {
  struct cte *n;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_NOTIFICATION, RIGHT_WRITE, &n);
  if (!err)
    ntfn_signal((struct notification *)n->cap.obj, n->cap.w1 ? n->cap.w1 : 1);
  return err;
}

static int sys_wait_common(struct call *c, int block) {
  struct cte *n;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_NOTIFICATION, RIGHT_READ, &n);
  return err ? err : ntfn_wait(c->self, n, block);
}

/* The clock tick (10 ms) checks deadlines; a past deadline signals now. */
static int sys_ntfn_set_timer(struct call *c) {
  struct cte *n;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_NOTIFICATION, RIGHT_WRITE, &n);
  if (err)
    return err;
  if (c->ctx->rsi && !c->ctx->rdx)
    return ERR_RANGE;
  struct notification *ntfn = (struct notification *)n->cap.obj;
  ntfn_set_timer(ntfn, c->ctx->rsi, c->ctx->rdx);
  if (c->ctx->rsi && c->ctx->rsi <= clock_ns())
    ntfn_timers_expire(clock_ns());
  return ERR_OK;
}

static int sys_wait(struct call *c) { return sys_wait_common(c, 1); }
static int sys_poll(struct call *c) { return sys_wait_common(c, 0); }

/* An optional capability argument: 0 means none. */
static int lookup_optional(struct call *c, cptr_t cptr, u8 type, u8 rights, struct cte **out) {
  *out = 0;
  return cptr ? lookup_typed(c, cptr, type, rights, out) : ERR_OK;
}

static int sys_tcb_bind_notification(struct call *c) {
  struct tcb *t;
  struct cte *n;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, c->ctx->rsi, OBJ_NOTIFICATION, RIGHT_READ, &n);
  if (!err)
    ntfn_bind(t, n ? (struct notification *)n->cap.obj : 0);
  return err;
}

static int sys_tcb_set_ipc_buffer(struct call *c) {
  struct tcb *t;
  struct cte *f;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, c->ctx->rsi, OBJ_FRAME_4K, RIGHT_READ | RIGHT_WRITE, &f);
  if (err)
    return err;
  if (f && (f->cap.flags & CAPF_DEVICE)) /* the kernel reads and writes it: RAM only */
    return ERR_DEVICE_MEMORY;
  return tcb_set_slot(t, TCB_SLOT_IPC_BUFFER, f);
}

static int sys_tcb_set_fault_endpoint(struct call *c) {
  struct tcb *t;
  struct cte *ep;
  int err = lookup_tcb(c, &t);
  if (!err)
    err = lookup_optional(c, c->ctx->rsi, OBJ_ENDPOINT, RIGHT_WRITE, &ep);
  return err ? err : tcb_set_slot(t, TCB_SLOT_FAULT_EP, ep);
}

static int sys_reply_save(struct call *c) {
  struct cte *dest;
  int err = lookup_in_cnode(c, c->ctx->rdi, c->ctx->rsi, RIGHT_WRITE, &dest);
  if (err)
    return err;
  return cte_empty(dest) ? ipc_save_reply(c->self, dest) : ERR_SLOT_OCCUPIED;
}

static int sys_reply_to(struct call *c) {
  struct cte *r;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_REPLY, RIGHT_WRITE, &r);
  return err ? err : ipc_reply_saved(c->self, r, c->ctx->rsi);
}

/* ---- interrupts and DMA ---- */

static int sys_irq_get(struct call *c) {
  struct cte *ctl, *dest;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_IRQ_CONTROL, RIGHT_WRITE, &ctl);
  if (!err)
    err = lookup_in_cnode(c, c->ctx->rdx, c->ctx->r10, RIGHT_WRITE, &dest);
  if (err)
    return err;
  if (!cte_empty(dest))
    return ERR_SLOT_OCCUPIED;
  return irq_get(ctl, c->ctx->rsi, dest);
}

static int sys_irq_set_notification(struct call *c) {
  struct cte *h, *n;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_IRQ_HANDLER, RIGHT_WRITE, &h);
  if (!err)
    err = lookup_typed(c, c->ctx->rsi, OBJ_NOTIFICATION, RIGHT_WRITE, &n);
  return err ? err : irq_set_notification(&h->cap, (struct notification *)n->cap.obj, c->ctx->rdx);
}

static int sys_irq_ack(struct call *c) {
  struct cte *h;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_IRQ_HANDLER, RIGHT_WRITE, &h);
  return err ? err : irq_ack(&h->cap);
}

static int sys_dma_pin(struct call *c) {
  struct cte *dma, *f;
  u64 pa;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_DMA, RIGHT_WRITE, &dma);
  if (!err)
    err = lookup_cap(c, c->ctx->rsi, 0, &f);
  if (!err)
    err = dma_pin(f, &pa);
  if (!err)
    c->ctx->rdx = pa;
  return err;
}

/* A driver's batch: one call for the frames a client gifted in one message.
 * Everything is checked before anything is pinned. */
static int sys_dma_pin_range(struct call *c) {
  struct cte *dma, *f;
  u64 first = c->ctx->rsi, n = c->ctx->rdx, out = c->ctx->r10;
  c->ctx->rdx = 0;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_DMA, RIGHT_WRITE, &dma);
  if (err)
    return err;
  if (n == 0 || n > DMA_PIN_RANGE_MAX || first + n < first)
    return ERR_RANGE;
  if ((err = user_range_check(own_root(c), out, n * sizeof(u64), 1)))
    return err;
  for (u64 i = 0; i < n; i++) {
    err = lookup_cap(c, first + i, 0, &f);
    if (!err)
      err = f->cap.type == OBJ_FRAME_4K ? dma_pin_check(f) : ERR_WRONG_TYPE;
    if (err) {
      c->ctx->rdx = i;
      return err;
    }
  }
  u64 pa[64];
  for (u64 i = 0; i < n; i += 64) {
    u64 m = n - i < 64 ? n - i : 64;
    for (u64 j = 0; j < m; j++) {
      lookup_cap(c, first + i + j, 0, &f);
      dma_pin(f, &pa[j]);
    }
    copy_to_user(own_root(c), out + i * sizeof(u64), pa, m * sizeof(u64));
  }
  return ERR_OK;
}

static int sys_dma_unpin(struct call *c) {
  struct cte *dma, *f;
  int err = lookup_typed(c, c->ctx->rdi, OBJ_DMA, RIGHT_WRITE, &dma);
  if (!err)
    err = lookup_cap(c, c->ctx->rsi, 0, &f);
  return err ? err : dma_unpin(f);
}

/* ---- fuzzing ---- */

/* Only a kernel built for fuzzing (make fuzz: -DKERNEL_CHECKS) answers:
 * the walk takes time proportional to every capability in the system. */
static int sys_debug_check_invariants(struct call *c) {
#ifdef KERNEL_CHECKS
  u64 n;
  int err = inv_check(&n);
  c->ctx->rdx = n;
  return err;
#else
  (void)c;
  return ERR_BAD_SYSCALL;
#endif
}

static int (*const handlers[SYS_COUNT])(struct call *) = {
    [SYS_DEBUG_PUTS] = sys_debug_puts,
    [SYS_YIELD] = sys_yield,
    [SYS_THREAD_EXIT] = sys_thread_exit,
    [SYS_UNTYPED_RETYPE] = sys_untyped_retype,
    [SYS_UNTYPED_USAGE] = sys_untyped_usage,
    [SYS_CAP_IDENTIFY] = sys_cap_identify,
    [SYS_CNODE_COPY] = sys_cnode_copy,
    [SYS_CNODE_MINT] = sys_cnode_mint,
    [SYS_CNODE_MOVE] = sys_cnode_move,
    [SYS_CNODE_DELETE] = sys_cnode_delete,
    [SYS_CNODE_REVOKE] = sys_cnode_revoke,
    [SYS_TCB_CONFIGURE] = sys_tcb_configure,
    [SYS_TCB_WRITE_REGS] = sys_tcb_write_regs,
    [SYS_TCB_RESUME] = sys_tcb_resume,
    [SYS_TCB_SUSPEND] = sys_tcb_suspend,
    [SYS_TCB_INFO] = sys_tcb_info,
    [SYS_PAGE_TABLE_MAP] = sys_page_table_map,
    [SYS_PAGE_TABLE_UNMAP] = sys_unmap,
    [SYS_FRAME_MAP] = sys_frame_map,
    [SYS_FRAME_UNMAP] = sys_unmap,
    [SYS_IOPORT_IN] = sys_ioport_in,
    [SYS_IOPORT_OUT] = sys_ioport_out,
    [SYS_TIME] = sys_time,
    [SYS_SEND] = sys_send,
    [SYS_NBSEND] = sys_nbsend,
    [SYS_CALL] = sys_call,
    [SYS_RECV] = sys_recv,
    [SYS_NBRECV] = sys_nbrecv,
    [SYS_REPLY] = sys_reply,
    [SYS_REPLY_RECV] = sys_reply_recv,
    [SYS_SIGNAL] = sys_signal,
    [SYS_WAIT] = sys_wait,
    [SYS_POLL] = sys_poll,
    [SYS_TCB_BIND_NOTIFICATION] = sys_tcb_bind_notification,
    [SYS_TCB_SET_IPC_BUFFER] = sys_tcb_set_ipc_buffer,
    [SYS_TCB_SET_FAULT_ENDPOINT] = sys_tcb_set_fault_endpoint,
    [SYS_IRQ_GET] = sys_irq_get,
    [SYS_IRQ_SET_NOTIFICATION] = sys_irq_set_notification,
    [SYS_IRQ_ACK] = sys_irq_ack,
    [SYS_DMA_PIN] = sys_dma_pin,
    [SYS_DMA_UNPIN] = sys_dma_unpin,
    [SYS_REPLY_SAVE] = sys_reply_save,
    [SYS_REPLY_TO] = sys_reply_to,
    [SYS_NTFN_SET_TIMER] = sys_ntfn_set_timer,
    [SYS_IDLE_TIME] = sys_idle_time,
    [SYS_DMA_PIN_RANGE] = sys_dma_pin_range,
    [SYS_THREAD_TIME] = sys_thread_time,
    [SYS_CAP_TYPE] = sys_cap_type,
    [SYS_DEBUG_CHECK_INVARIANTS] = sys_debug_check_invariants,
};

void syscall_dispatch(struct tcb *self, struct user_ctx *ctx) {
  struct call c = {self, ctx};
  u64 nr = ctx->rax;
  int r = nr < SYS_COUNT ? handlers[nr](&c) : ERR_BAD_SYSCALL;
  if (r == PREEMPTED) /* stopped for an interrupt: it runs again and goes on */
    arch_syscall_restart(ctx);
  else if (r != IPC_BLOCKED) /* a blocked call gets its result when it wakes */
    ctx->rax = (u64)r;
}
