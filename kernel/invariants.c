/* The invariant checker (see invariants.h). Four bounded passes over the
 * derivation trees: check and mark every capability; check the objects
 * (page tables, TCBs, queues) through their originals; check every CNode
 * and TCB slot is a marked capability and unmark it; report what is still
 * marked (a capability outside every slot). */
#include "kernel/invariants.h"
#include "kernel/object.h"
#include "kernel/tcb.h"
#include "kernel/cpu.h"
#include "kernel/print.h"
#include "mm/untyped.h"
#include "mm/vspace.h"
#include "ipc/endpoint.h"
#include <arch/mmu.h>
#include <lib/string.h>

#define INV_MAX_ROOTS 192
#define INV_MARK 0x4000u        /* set only while inv_check runs */
#define INV_GIFT_MARK 0x8000u   /* ipc/gift.c's, never left set between calls */
#define INV_MAX_STEPS (1u << 22) /* more capabilities than the machine holds: a cycle */
#define INV_MAX_QUEUE (1u << 16)
#define INV_MAX_REPORTS 12

#define INV_MAX_HOLDERS 8

static struct cte *roots[INV_MAX_ROOTS];
static u32 nroots, roots_lost;
static struct {
  struct cte *slots;
  u32 n;
} holders[INV_MAX_HOLDERS];
static u32 nholders;

void inv_roots_reset(void) { nroots = roots_lost = nholders = 0; }

void inv_add_holder(struct cte *slots, u32 n) {
  if (nholders < INV_MAX_HOLDERS)
    holders[nholders++] = (typeof(holders[0])){slots, n};
}

static void forget_root(const struct cte *s) {
  for (u32 i = 0; i < nroots; i++)
    if (roots[i] == s)
      roots[i--] = roots[--nroots];
}

void inv_root_add(struct cte *slot) {
  forget_root(slot);
  if (nroots < INV_MAX_ROOTS)
    roots[nroots++] = slot;
  else
    roots_lost++;
}

void inv_root_moved(struct cte *dst, struct cte *src) {
  forget_root(dst);
  for (u32 i = 0; i < nroots; i++)
    if (roots[i] == src)
      roots[i] = dst;
}

struct inv {
  u64 caps, steps, armed;
  u32 bad;
};

static void fail(struct inv *v, const struct cte *c, const char *what, u64 a, u64 b) {
  if (v->bad++ < INV_MAX_REPORTS)
    kprintf("invariant: %s: slot 0x%llx type %u obj 0x%llx (0x%llx 0x%llx)\n", what, (u64)c,
            c ? c->cap.type : 0, c ? c->cap.obj : 0, a, b);
}

static int is_frame(u8 t) { return t == K_OBJ_FRAME_4K || t == K_OBJ_FRAME_2M; }

static int is_root_type(u8 t) {
  return t == K_OBJ_UNTYPED || t == K_OBJ_IOPORTS || t == K_OBJ_IRQ_CONTROL || t == K_OBJ_DMA;
}

/* A registry entry is a root while it holds a parentless capability; a
 * deleted root leaves a stale entry that this skips. */
static struct cte *root_at(u32 i) {
  struct cte *r = roots[i];
  return !cte_empty(r) && !r->parent && r->cap.type != K_OBJ_REPLY ? r : 0;
}

/* Preorder successor inside root's subtree; 0 at the end or when a parent
 * link leads out of the subtree (reported by the node checks). */
static struct cte *tree_next(const struct cte *root, struct cte *c) {
  if (c->first_child)
    return c->first_child;
  while (c != root && !c->next) {
    c = c->parent;
    if (!c)
      return 0;
  }
  return c == root ? 0 : c->next;
}

typedef int (*visit_fn)(struct inv *v, struct cte *c);

/* Calls visit on every capability of every tree; a visit returning
 * nonzero ends that tree's walk (it is not a tree). */
static void walk(struct inv *v, visit_fn visit) {
  for (u32 i = 0; i < nroots; i++) {
    struct cte *root = root_at(i);
    for (struct cte *c = root; c; c = tree_next(root, c)) {
      if (++v->steps > INV_MAX_STEPS) {
        fail(v, c, "derivation tree walk does not end", v->steps, 0);
        return;
      }
      if (visit(v, c))
        break;
    }
  }
}

/* ---- pass 1: each capability on its own, and marking ---- */

/* Siblings: next links end in 0; prev links go back, and the first
 * child's prev names the last, so appending to the tail is O(1). */
static void check_links(struct inv *v, struct cte *c) {
  const struct cte *prev = 0, *first = c->first_child;
  u32 n = 0;
  for (const struct cte *k = first; k && n < INV_MAX_QUEUE; prev = k, k = k->next, n++) {
    if (k->parent != c)
      fail(v, k, "child's parent link does not name its parent", (u64)k->parent, (u64)c);
    if (k != first && k->prev != prev)
      fail(v, k, "sibling's prev link is wrong", (u64)k->prev, (u64)prev);
  }
  if (first && first->prev != prev)
    fail(v, first, "first child's prev link does not name the last sibling", (u64)first->prev, (u64)prev);
}

/* An original under an untyped: its object inside [base, base + watermark). */
static void check_in_untyped(struct inv *v, const struct cte *c, const struct cap *ut) {
  u64 pa, size = cap_object_size(&c->cap);
  if (c->cap.type == K_OBJ_UNTYPED)
    pa = c->cap.obj;
  else if (c->cap.type == K_OBJ_NULL || is_root_type(c->cap.type) || c->cap.type == K_OBJ_IRQ_HANDLER ||
           c->cap.type == K_OBJ_REPLY) {
    fail(v, c, "capability of this type under an untyped", ut->obj, 0);
    return;
  } else
    pa = kva_to_pa((void *)c->cap.obj);
  if (pa < ut->obj || size > ut_watermark(ut) || pa - ut->obj > ut_watermark(ut) - size)
    fail(v, c, "object lies outside its untyped's watermark", pa, ut->obj + ut_watermark(ut));
}

static void check_parent(struct inv *v, struct cte *c) {
  const struct cte *p = c->parent;
  if (!p) {
    if (!is_root_type(c->cap.type))
      fail(v, c, "parentless capability of a type boot does not make", 0, 0);
    return;
  }
  if (cte_empty(p)) {
    fail(v, c, "parent slot is empty", (u64)p, 0);
    return;
  }
  if (p->cap.type == K_OBJ_UNTYPED) {
    check_in_untyped(v, c, &p->cap);
  } else if (p->cap.type == K_OBJ_IRQ_CONTROL && c->cap.type == K_OBJ_IRQ_HANDLER) {
    /* an IRQ handler's original */
  } else if (p->cap.type != c->cap.type || p->cap.obj != c->cap.obj) {
    fail(v, c, "copy names another object than its parent", (u64)p, p->cap.obj);
  } else if (c->cap.type == K_OBJ_IOPORTS && (io_first(&c->cap) < io_first(&p->cap) || io_last(&c->cap) > io_last(&p->cap))) {
    fail(v, c, "I/O port copy is wider than its parent", io_first(&c->cap), io_last(&c->cap));
  }
}

static int entry_level(u8 type) {
  return type == K_OBJ_FRAME_4K ? 1 : type == K_OBJ_FRAME_2M ? 2 : vs_level(type) + 1;
}

/* A mapped capability is what its table's back[] entry names. */
static void check_mapping(struct inv *v, struct cte *c) {
  const struct vs_table *t = map_table(&c->cap);
  unsigned i = pt_index(map_vaddr(&c->cap), entry_level(c->cap.type));
  if (t->back[i] != c)
    fail(v, c, "mapped capability is not its page table entry's", map_vaddr(&c->cap), (u64)t->back[i]);
  else if (!(t->e[i] & PTE_P))
    fail(v, c, "mapped capability's page table entry is not present", map_vaddr(&c->cap), t->e[i]);
  else if ((t->e[i] & PTE_ADDR) != kva_to_pa((void *)c->cap.obj))
    fail(v, c, "page table entry maps another address", map_vaddr(&c->cap), t->e[i]);
}

/* UNTYPED_USAGE must agree with the children found here, and they must fit. */
static void check_usage(struct inv *v, struct cte *c) {
  struct k_untyped_usage u, mine;
  u64 bytes = 0;
  u32 n = 0;
  memset(&mine, 0, sizeof(mine));
  for (const struct cte *k = c->first_child; k && n < INV_MAX_QUEUE; k = k->next, n++) {
    if (k->cap.type < K_OBJ_TYPE_COUNT) {
      mine.count[k->cap.type]++;
      mine.bytes[k->cap.type] += cap_object_size(&k->cap);
    }
    bytes += cap_object_size(&k->cap);
  }
  ut_usage(c, 0, 0, &u);
  for (int t = 0; t < K_OBJ_TYPE_COUNT; t++)
    if (u.count[t] != mine.count[t] || u.bytes[t] != mine.bytes[t])
      fail(v, c, "UNTYPED_USAGE disagrees with the objects under the untyped", (u64)t, u.count[t]);
  if (u.free != ut_size(&c->cap) - ut_watermark(&c->cap))
    fail(v, c, "UNTYPED_USAGE free bytes disagree with the watermark", u.free, ut_watermark(&c->cap));
  if (bytes > ut_watermark(&c->cap))
    fail(v, c, "objects under the untyped exceed its watermark", bytes, ut_watermark(&c->cap));
}

static int check_node(struct inv *v, struct cte *c) {
  if (c->cap.flags & INV_MARK) {
    fail(v, c, "capability reached twice: the derivation tree has a cycle", 0, 0);
    return 1;
  }
  c->cap.flags |= INV_MARK;
  v->caps++;
  if (cte_empty(c) || c->cap.type >= K_OBJ_TYPE_COUNT || c->cap.type == K_OBJ_REPLY)
    fail(v, c, "empty, unknown or REPLY capability in a derivation tree", (u64)c->parent, 0);
  check_links(v, c);
  check_parent(v, c);
  if (c->cap.flags & INV_GIFT_MARK)
    fail(v, c, "gift mark left set", 0, 0);
  if (c->cap.type == K_OBJ_UNTYPED) {
    if (ut_watermark(&c->cap) > ut_size(&c->cap))
      fail(v, c, "untyped watermark beyond its size", ut_watermark(&c->cap), ut_size(&c->cap));
    check_usage(v, c);
  }
  if ((c->cap.flags & CAPF_PINNED) && is_frame(c->cap.type) && /* a PINNED_FRAME keeps the flag */
      (c->first_child || !c->parent || c->parent->cap.type != K_OBJ_UNTYPED))
    fail(v, c, "pinned frame is not the sole capability to its frame", (u64)c->first_child, 0);
  if ((c->cap.type == K_OBJ_PDPT || c->cap.type == K_OBJ_PD || c->cap.type == K_OBJ_PT) &&
      (c->first_child || !c->parent || c->parent->cap.type != K_OBJ_UNTYPED))
    fail(v, c, "page table below the root has more than one capability", (u64)c->first_child, 0);
  if (vs_cap_is_mapped(&c->cap))
    check_mapping(v, c);
  return 0;
}

/* ---- pass 2: objects, through their originals ---- */

static int is_marked(const struct cte *c) { return c && !cte_empty(c) && (c->cap.flags & INV_MARK); }

/* Every entry of a table: present exactly where a live capability is
 * recorded, and that capability records this entry. */
static void check_table(struct inv *v, struct cte *c) {
  const struct vs_table *t = (const struct vs_table *)c->cap.obj;
  int level = vs_level(c->cap.type);
  unsigned n = c->cap.type == K_OBJ_VSPACE ? PML4_USER_ENTRIES : PT_ENTRIES;
  for (unsigned i = 0; i < n; i++) {
    const struct cte *b = t->back[i];
    if (!b) {
      if (t->e[i])
        fail(v, c, "page table entry without a capability", i, t->e[i]);
    } else if (!is_marked(b)) {
      fail(v, c, "page table entry names a capability in no derivation tree", i, (u64)b);
    } else if (map_table(&b->cap) != t || pt_index(map_vaddr(&b->cap), level) != i) {
      fail(v, c, "page table entry's capability records another place", i, (u64)b);
    } else if (!(t->e[i] & PTE_P) || (t->e[i] & PTE_ADDR) != kva_to_pa((void *)b->cap.obj)) {
      fail(v, c, "page table entry does not map its capability's object", i, t->e[i]);
    }
  }
}

static int in_queue(const struct tcb *head, const struct tcb *t) {
  for (u32 n = 0; head && n < INV_MAX_QUEUE; head = head->ep_next, n++)
    if (head == t)
      return 1;
  return 0;
}

static const u8 tcb_slot_type[TCB_SLOTS] = {K_OBJ_CNODE, K_OBJ_VSPACE, K_OBJ_FRAME_4K, K_OBJ_ENDPOINT};

static void check_tcb_waits(struct inv *v, const struct cte *c, const struct tcb *t) {
  if (t->state != K_TCB_BLOCKED) {
    if (t->ep || t->waiting_on || t->callee || t->reply_cap)
      fail(v, c, "thread that is not blocked is linked as waiting", t->state, (u64)t->ep);
    return;
  }
  if (t->queued)
    fail(v, c, "blocked thread is in a run queue", t->ipc_state, 0);
  switch (t->ipc_state) {
  case IPC_SEND:
  case IPC_RECV:
    if (!t->ep || !in_queue(t->ep->head, t))
      fail(v, c, "thread blocked on an endpoint is not in its queue", t->ipc_state, (u64)t->ep);
    break;
  case IPC_NOTIFICATION:
    if (!t->waiting_on || !in_queue(t->waiting_on->head, t))
      fail(v, c, "thread waiting on a notification is not in its queue", 0, (u64)t->waiting_on);
    break;
  case IPC_REPLY:
    if (!t->callee == !t->reply_cap)
      fail(v, c, "thread waiting for a reply has not exactly one of callee and REPLY cap",
           (u64)t->callee, (u64)t->reply_cap);
    break;
  default:
    fail(v, c, "blocked thread waits for nothing", t->ipc_state, 0);
  }
}

static void check_tcb(struct inv *v, const struct cte *c) {
  const struct tcb *t = (const struct tcb *)c->cap.obj;
  check_tcb_waits(v, c, t);
  if (t->caller && (t->caller->callee != t || t->caller->state != K_TCB_BLOCKED ||
                    t->caller->ipc_state != IPC_REPLY))
    fail(v, c, "caller does not wait for this thread", (u64)t->caller, (u64)t->caller->callee);
  if (t->callee && t->callee->caller != t)
    fail(v, c, "callee does not name this thread as its caller", (u64)t->callee, (u64)t->callee->caller);
  if (t->reply_cap && (t->reply_cap->cap.type != K_OBJ_REPLY || reply_caller(&t->reply_cap->cap) != t))
    fail(v, c, "reply_cap does not hold a REPLY naming this thread", (u64)t->reply_cap, 0);
  if (t->bound && t->bound->bound != t)
    fail(v, c, "bound notification is bound to another thread", (u64)t->bound, (u64)t->bound->bound);
  for (int i = 0; i < TCB_SLOTS; i++)
    if (!cte_empty(&t->slots[i]) && t->slots[i].cap.type != tcb_slot_type[i])
      fail(v, &t->slots[i], "TCB slot holds the wrong type", (u64)i, 0);
}

static void check_ep(struct inv *v, const struct cte *c) {
  const struct endpoint *ep = (const struct endpoint *)c->cap.obj;
  const struct tcb *prev = 0, *m = ep->head;
  for (u32 n = 0; m && n < INV_MAX_QUEUE; prev = m, m = m->ep_next, n++)
    if (m->ep != ep || m->ep_prev != prev || m->state != K_TCB_BLOCKED || m->ipc_state != ep->state)
      fail(v, c, "endpoint queue member does not wait on it", (u64)m, (u64)m->ep);
  if (ep->tail != prev)
    fail(v, c, "endpoint queue tail is not its last member", (u64)ep->tail, (u64)prev);
  if (!ep->head != (ep->state == IPC_NONE) || ep->state > IPC_RECV)
    fail(v, c, "endpoint state disagrees with its queue", ep->state, (u64)ep->head);
}

static void check_ntfn(struct inv *v, const struct cte *c) {
  const struct notification *n = (const struct notification *)c->cap.obj;
  if (n->timer.deadline) {
    v->armed++;
    if (!timer_contains(ntfn_timers(), &n->timer))
      fail(v, c, "armed notification is not in the timer tree", n->timer.deadline, 0);
  }
  const struct tcb *prev = 0, *m = n->head;
  for (u32 k = 0; m && k < INV_MAX_QUEUE; prev = m, m = m->ep_next, k++)
    if (m->waiting_on != n || m->ep_prev != prev || m->state != K_TCB_BLOCKED ||
        m->ipc_state != IPC_NOTIFICATION)
      fail(v, c, "notification queue member does not wait on it", (u64)m, (u64)m->waiting_on);
  if (n->tail != prev)
    fail(v, c, "notification queue tail is not its last member", (u64)n->tail, (u64)prev);
  if (n->bound && n->bound->bound != n)
    fail(v, c, "bound thread is bound to another notification", (u64)n->bound, (u64)n->bound->bound);
}

static int is_original(const struct cte *c) {
  return c->parent && (c->parent->cap.type == K_OBJ_UNTYPED || c->parent->cap.type == K_OBJ_IRQ_CONTROL);
}

static int check_object(struct inv *v, struct cte *c) {
  if (!is_original(c))
    return 0;
  switch (c->cap.type) {
  case K_OBJ_VSPACE:
  case K_OBJ_PDPT:
  case K_OBJ_PD:
  case K_OBJ_PT:
    check_table(v, c);
    break;
  case K_OBJ_TCB:
    check_tcb(v, c);
    break;
  case K_OBJ_ENDPOINT:
    check_ep(v, c);
    break;
  case K_OBJ_NOTIFICATION:
    check_ntfn(v, c);
    break;
  default:
    break;
  }
  return 0;
}

/* ---- pass 3: every slot of every CNode and TCB ---- */

static void check_reply(struct inv *v, const struct cte *s) {
  const struct tcb *t = reply_caller(&s->cap);
  if (s->parent || s->first_child)
    fail(v, s, "REPLY capability in a derivation tree", (u64)s->parent, (u64)s->first_child);
  if (!t || t->reply_cap != s)
    fail(v, s, "REPLY capability's thread does not point back to it", (u64)t, t ? (u64)t->reply_cap : 0);
  else if (t->state != K_TCB_BLOCKED || t->ipc_state != IPC_REPLY)
    fail(v, s, "REPLY capability's thread does not wait for a reply", t->state, t->ipc_state);
}

static void check_slot(struct inv *v, struct cte *s) {
  if (cte_empty(s))
    return;
  if (s->cap.type == K_OBJ_REPLY) {
    check_reply(v, s);
  } else if (!(s->cap.flags & INV_MARK)) {
    fail(v, s, "capability in no derivation tree from a boot root", (u64)s->parent,
         s->parent ? s->parent->cap.type : 0);
  }
  s->cap.flags &= (u16)~INV_MARK;
}

/* An object being destroyed (a preempted delete) still holds capabilities
 * in the slots its zombie record has not emptied yet. */
static void check_zombie_slots(struct inv *v, struct cte *c) {
  const struct zombie *z = zombie_of(&c->cap);
  if (!z || z->self != c) {
    fail(v, c, "ZOMBIE capability's record does not name its slot", (u64)z, z ? (u64)z->self : 0);
    return;
  }
  for (u32 i = 0; i < z->nslots && i < (1u << K_CNODE_MAX_BITS); i++)
    check_slot(v, &z->slots[i]);
}

static int check_slots(struct inv *v, struct cte *c) {
  if (c->cap.type == K_OBJ_ZOMBIE) {
    check_zombie_slots(v, c);
    return 0;
  }
  if (!is_original(c))
    return 0;
  if (c->cap.type == K_OBJ_CNODE) {
    struct cte *slots = (struct cte *)c->cap.obj;
    if (!cte_empty(&slots[0]))
      fail(v, c, "slot 0 of a CNode is not empty", slots[0].cap.type, 0);
    for (u64 i = 1; i < cnode_slots(&c->cap); i++)
      check_slot(v, &slots[i]);
  } else if (c->cap.type == K_OBJ_TCB) {
    struct tcb *t = (struct tcb *)c->cap.obj;
    for (int i = 0; i < TCB_SLOTS; i++)
      check_slot(v, &t->slots[i]);
  }
  return 0;
}

/* ---- pass 4: what no slot holds ---- */

static int unmark(struct inv *v, struct cte *c) {
  if (c->cap.flags & INV_MARK) {
    fail(v, c, "capability outside every CNode and TCB", (u64)c->parent, 0);
    c->cap.flags &= (u16)~INV_MARK;
  }
  return 0;
}

/* The zombie stack is empty unless a delete or revoke was preempted; then
 * each record on it belongs to a ZOMBIE capability that names it back. */
static void check_zombie_stack(struct inv *v) {
  u32 n = 0;
  for (const struct zombie *z = this_cpu()->zombies; z; z = z->next)
    if (++n > INV_MAX_QUEUE || !z->self || z->self->cap.type != K_OBJ_ZOMBIE || zombie_of(&z->self->cap) != z) {
      fail(v, z ? z->self : 0, "zombie on the stack without its ZOMBIE capability", (u64)z, n);
      return;
    }
}

int inv_check(u64 *checked) {
  struct inv v = {0};
  if (roots_lost)
    fail(&v, 0, "boot roots did not fit the checker's registry", roots_lost, INV_MAX_ROOTS);
  check_zombie_stack(&v);
  walk(&v, check_node);
  walk(&v, check_object);
  walk(&v, check_slots);
  for (u32 i = 0; i < nholders; i++)
    for (u32 k = 0; k < holders[i].n; k++)
      check_slot(&v, &holders[i].slots[k]);
  walk(&v, unmark);
  u64 timers;
  if (!timer_check(ntfn_timers(), &timers))
    fail(&v, 0, "the timer tree breaks its order or balance", timers, 0);
  else if (timers != v.armed) /* every node is an armed notification found above */
    fail(&v, 0, "timer tree nodes are not the armed notifications", timers, v.armed);
  *checked = v.caps;
  if (v.bad)
    kprintf("invariant: %u violations among %llu capabilities\n", v.bad, v.caps);
  return v.bad ? K_ERR_INVARIANT : K_ERR_OK;
}
