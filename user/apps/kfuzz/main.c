/* kfuzz's controller (see kfuzz.h): builds the principals, supervises the
 * workers, checks the kernel's invariants at each clock tick once CHECK_EVERY
 * operations have passed since the last check,
 * destroys and rebuilds principals and shared objects while workers are
 * blocked on them, and prints the figures at the end. Its argument:
 * seed (bits 0-23), flags (24-31), operations (32-63). */
#include "kfuzz.h"
#include <env.h>
#include <abi/bootinfo.h>

#define CTRL_VA 0x10000000ull
#define UT_BITS 21       /* each principal's untyped */
#define PLAY_UT_BITS 19  /* the part its workers retype from */
#define CHECK_EVERY 1000
#define PROGRESS_EVERY 100000
#define CHAOS_ROUNDS 3   /* rounds (clock ticks) between destructions */
#define REPAIR_ROUNDS 1
#define UNBLOCKER_PRIORITY 1

const char *const syscall_names[] = {
#define SYS_NAME(name, args) #name,
    K_SYSCALLS(SYS_NAME)
#undef SYS_NAME
};

extern char _end[];

/* Controller slots: shared objects, then NP blocks of principal objects. */
enum { C_TIMER = 40, C_SHARED_EP = 41, C_SHARED_NTFN = 41 + N_SHARED_EP, C_SHARED_FRAME = 50,
       C_PRINCIPAL = 64, C_STRIDE = 24 };
enum { P_UT, P_CNODE, P_VSPACE, P_TCB, P_EP = P_TCB + TPP, P_NTFN = P_EP + 2, P_PDPT, P_BUF,
       P_SPARE = P_BUF + TPP, P_SLOTS };
_Static_assert((int)P_SLOTS <= (int)C_STRIDE, "principal block");

static struct env ce;
static struct shared *sh;
static u64 rng, seed, flags, budget;
static u32 built[NP], incarnation[NW];
static volatile u64 unblocks;
static u64 checks, checked_caps, rebuilds, shared_recreated, faults, rounds, rebuild_failures;

static cptr_t pslot(u32 p, u32 what) { return C_PRINCIPAL + p * C_STRIDE + what; }
static u32 prio_of(u32 g) { return 20 + 7 * g; }

static u64 rnd(u64 n) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  u64 r = rng * 0x2545f4914f6cdd1dull;
  return n ? r % n : r;
}

static void quit(int failed) {
  debug_exit(failed ? 1 : 0);
  exit(failed);
}

static void must(long err, const char *what) {
  if (err) {
    printf("kfuzz: FAIL seed %llu: setup: %s: %s\n", seed, what, err_name(err));
    printf("kfuzz: 0 passed, 1 failed\n");
    quit(1);
  }
}

/* ---- building a principal ---- */

/* A copy of this program's image at the same addresses in vspace. */
static long copy_image(cptr_t vspace) {
  static u64 scratch;
  if (!scratch) {
    scratch = ce.next_vaddr;
    ce.next_vaddr += K_PAGE_SIZE;
  }
  for (u64 va = IMAGE_VA; va < (u64)_end; va += K_PAGE_SIZE) {
    cptr_t f;
    long err = env_retype(&ce, K_OBJ_FRAME_4K, 0, &f);
    if (!err)
      err = env_map(&ce, K_BI_SLOT_VSPACE, f, scratch, K_MAP_WRITE);
    if (err)
      return err;
    memcpy((void *)scratch, (const void *)va, K_PAGE_SIZE);
    if ((err = sys_frame_unmap(f)) || (err = env_map(&ce, vspace, f, va, K_MAP_WRITE | K_MAP_EXEC)))
      return err;
  }
  return K_ERR_OK;
}

/* Pages the workers of p need, from the controller's memory: they survive
 * the principal's destruction, mapped under a PDPT that only needs to be
 * mapped into the next VSpace. */
static long map_infrastructure(u32 p) {
  cptr_t vs = pslot(p, P_VSPACE), pdpt = pslot(p, P_PDPT);
  long err = sys_retype(ce.untyped, K_OBJ_PDPT, 0, ce.cnode, pdpt, 1, 0);
  if (!err)
    err = sys_page_table_map(pdpt, vs, 0);
  if (!err)
    err = copy_image(vs);
  for (u32 i = 0; !err && i < SHARED_PAGES; i++) {
    cptr_t c = env_slot(&ce);
    err = sys_cnode_copy(ce.cnode, c, ce.cnode, C_SHARED_FRAME + i, K_RIGHTS_ALL);
    if (!err)
      err = env_map(&ce, vs, c, SHARED_VA + i * K_PAGE_SIZE, K_MAP_WRITE);
  }
  for (u32 k = 0; !err && k < TPP; k++) {
    u32 g = p * TPP + k;
    for (u64 i = 0; !err && i < STACK_PAGES; i++) {
      cptr_t f;
      err = env_retype(&ce, K_OBJ_FRAME_4K, 0, &f);
      if (!err)
        err = env_map(&ce, vs, f, STACK_VA + g * STACK_STRIDE + i * K_PAGE_SIZE, K_MAP_WRITE);
    }
    if (!err)
      err = sys_retype(ce.untyped, K_OBJ_FRAME_4K, 0, ce.cnode, pslot(p, P_BUF + k), 1, 0);
    if (!err)
      err = env_map(&ce, vs, pslot(p, P_BUF + k), (u64)worker_buffer(g), K_MAP_WRITE);
  }
  if (!err)
    err = sys_retype(ce.untyped, K_OBJ_FRAME_4K, 0, ce.cnode, pslot(p, P_SPARE), 1, 0);
  if (!err)
    err = env_prepare_tables(&ce, vs, WIN_VA, WIN_SIZE);
  return err;
}

/* The principal's kernel objects, all from its own untyped. */
static long make_objects(u32 p) {
  cptr_t ut = pslot(p, P_UT), cn = pslot(p, P_CNODE);
  long err = sys_retype(ut, K_OBJ_CNODE, CN_BITS, ce.cnode, cn, 1, 0);
  if (!err)
    err = sys_retype(ut, K_OBJ_VSPACE, 0, ce.cnode, pslot(p, P_VSPACE), 1, 0);
  if (!err)
    err = sys_retype(ut, K_OBJ_TCB, 0, ce.cnode, pslot(p, P_TCB), TPP, 0);
  if (!err)
    err = sys_retype(ut, K_OBJ_ENDPOINT, 0, ce.cnode, pslot(p, P_EP), 2, 0);
  if (!err)
    err = sys_retype(ut, K_OBJ_NOTIFICATION, 0, ce.cnode, pslot(p, P_NTFN), 1, 0);
  if (!err)
    err = sys_retype(ut, K_OBJ_UNTYPED, PLAY_UT_BITS, cn, S_PLAY_UT, 1, 100 + p);
  return err;
}

/* Fills the principal's fixed slots that are empty (the rest fail with
 * SLOT_OCCUPIED, or EMPTY_SLOT while a neighbour is being rebuilt). */
static void fill_cspace(u32 p) {
  cptr_t cn = pslot(p, P_CNODE);
  u32 q = (p + 1) % NP, r = (p + 2) % NP;
  sys_cnode_copy(cn, S_CNODE, ce.cnode, cn, K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_VSPACE, ce.cnode, pslot(p, P_VSPACE), K_RIGHTS_ALL);
  for (u32 i = 0; i < N_SHARED_EP; i++)
    sys_cnode_mint(cn, S_SHARED_EP + i, ce.cnode, C_SHARED_EP + i, K_RIGHTS_ALL, 1 + p * 16 + i);
  for (u32 i = 0; i < N_SHARED_NTFN; i++)
    sys_cnode_mint(cn, S_SHARED_NTFN + i, ce.cnode, C_SHARED_NTFN + i, K_RIGHTS_ALL, 1ull << (p + 8 * i));
  for (u32 i = 0; i < 2; i++)
    sys_cnode_copy(cn, S_OWN_EP + i, ce.cnode, pslot(p, P_EP + i), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_OWN_NTFN, ce.cnode, pslot(p, P_NTFN), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_OTHER_EP, ce.cnode, pslot(q, P_EP), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_OTHER_EP + 1, ce.cnode, pslot(r, P_EP), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_OTHER_NTFN, ce.cnode, pslot(q, P_NTFN), K_RIGHTS_ALL);
  for (u32 k = 0; k < TPP; k++) {
    sys_cnode_copy(cn, S_TCB + k, ce.cnode, pslot(p, P_TCB + k), K_RIGHTS_ALL);
    sys_cnode_copy(cn, S_BUF + k, ce.cnode, pslot(p, P_BUF + k), K_RIGHTS_ALL);
  }
  sys_cnode_copy(cn, S_OTHER_TCB, ce.cnode, pslot(q, P_TCB), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_SPARE_FRAME, ce.cnode, pslot(p, P_SPARE), K_RIGHTS_ALL);
  sys_cnode_copy(cn, S_DMA, ce.cnode, K_BI_SLOT_DMA, K_RIGHTS_ALL);
}

static long start_worker(u32 g) {
  u32 p = g / TPP, k = g % TPP;
  cptr_t t = pslot(p, P_TCB + k);
  u64 arg = g | (u64)(incarnation[g]++ & 0xff) << 8 | (u64)prio_of(g) << 16;
  long err = sys_tcb_configure(t, pslot(p, P_CNODE), pslot(p, P_VSPACE), prio_of(g));
  if (!err)
    err = sys_tcb_set_ipc_buffer(t, pslot(p, P_BUF + k));
  if (!err) /* as if called: rsp + 8 is 16-byte aligned at entry */
    err = sys_tcb_write_regs(t, (u64)worker_main, stack_top(g) - 8, arg);
  if (!err)
    err = sys_tcb_resume(t);
  return err;
}

static long build(u32 p) {
  long err = make_objects(p);
  if (!err)
    err = built[p] ? sys_page_table_map(pslot(p, P_PDPT), pslot(p, P_VSPACE), 0) : map_infrastructure(p);
  if (err)
    return err;
  built[p] = 1;
  fill_cspace(p);
  for (u32 k = 0; k < TPP && !err; k++)
    err = start_worker(p * TPP + k);
  return err;
}

/* Everything made from the principal's untyped goes, wherever its
 * capabilities went and whoever is blocked on its objects. */
static void rebuild(u32 p) {
  sys_cnode_revoke(ce.cnode, pslot(p, P_UT));
  long err = build(p);
  rebuilds++;
  if (err) {
    rebuild_failures++;
    printf("kfuzz: principal %u not rebuilt: %s\n", p, err_name(err));
  }
}

/* A shared endpoint or notification is destroyed under its users and
 * made again; the repair round hands out the new one. */
static void recreate_shared(void) {
  u32 i = (u32)rnd(N_SHARED_EP + N_SHARED_NTFN);
  cptr_t s = C_SHARED_EP + i;
  sys_cnode_revoke(ce.cnode, s);
  sys_cnode_delete(ce.cnode, s);
  must(sys_retype(ce.untyped, i < N_SHARED_EP ? K_OBJ_ENDPOINT : K_OBJ_NOTIFICATION, 0, ce.cnode, s, 1, 0),
       "shared object");
  shared_recreated++;
}

/* ---- supervision ---- */

static void check(void) {
  struct sysret r = syscall6(K_SYS_DEBUG_CHECK_INVARIANTS, 0, 0, 0, 0, 0, 0);
  checks++;
  checked_caps = r.val;
  if (r.err) {
    printf("kfuzz: FAIL seed %llu op %llu: invariant check %llu: %s\n", seed, sh->ops, checks, err_name(r.err));
    sh->failed = 1;
  }
}

/* Restart what stopped: suspended threads, threads that lost their
 * CSpace or VSpace (the scheduler makes them inactive), faulted ones. */
static void supervise(void) {
  for (u32 g = 0; g < NW; g++) {
    struct k_tcb_info ti;
    u32 p = g / TPP;
    cptr_t t = pslot(p, P_TCB + g % TPP);
    if (sys_tcb_info(t, &ti) != K_ERR_OK)
      continue;
    if (ti.state == K_TCB_FAULTED) {
      faults++;
      printf("kfuzz: worker %u faulted: vector %llu rip 0x%llx address 0x%llx\n", g, ti.fault_vector, ti.fault_rip,
             ti.fault_addr);
      start_worker(g);
    } else if (ti.state == K_TCB_INACTIVE) {
      sys_tcb_configure(t, pslot(p, P_CNODE), pslot(p, P_VSPACE), prio_of(g));
      sys_tcb_resume(t);
    }
  }
}

static void chaos(void) {
  switch (rnd(4)) {
  case 0:
  case 1:
    rebuild((u32)rnd(NP));
    break;
  case 2:
    recreate_shared();
    break;
  default: /* a worker stops for a round, maybe while others wait on it */
    sys_tcb_suspend(pslot((u32)rnd(NP), P_TCB + (u32)rnd(TPP)));
  }
}

/* The lowest priority: it runs only when every worker is blocked (or
 * stopped), and wakes one so the run goes on. */
static void unblocker(void) {
  for (u64 i = 0;; i++) {
    u32 g = (u32)(i % NW);
    cptr_t t = pslot(g / TPP, P_TCB + g % TPP);
    struct k_tcb_info ti;
    if (!sh->stop && sys_tcb_info(t, &ti) == K_ERR_OK && ti.state == K_TCB_BLOCKED) {
      if (i & 1) {
        sys_tcb_suspend(t);
        sys_tcb_resume(t);
      } else {
        for (u32 e = 0; e < N_SHARED_EP; e++)
          sys_nbsend(C_SHARED_EP + e, k_msg_info(7, 1, 0, 0), i, 0, 0, 0);
        for (u32 n = 0; n < N_SHARED_NTFN; n++)
          sys_signal(C_SHARED_NTFN + n);
      }
      unblocks++;
    }
    sys_yield();
  }
}

/* ---- setup and figures ---- */

static void setup(void) {
  must(sys_retype(ce.untyped, K_OBJ_NOTIFICATION, 0, ce.cnode, C_TIMER, 1, 0), "timer");
  must(sys_retype(ce.untyped, K_OBJ_ENDPOINT, 0, ce.cnode, C_SHARED_EP, N_SHARED_EP, 0), "shared endpoints");
  must(sys_retype(ce.untyped, K_OBJ_NOTIFICATION, 0, ce.cnode, C_SHARED_NTFN, N_SHARED_NTFN, 0), "shared notifications");
  must(sys_retype(ce.untyped, K_OBJ_FRAME_4K, 0, ce.cnode, C_SHARED_FRAME, SHARED_PAGES, 0), "shared pages");
  for (u32 i = 0; i < SHARED_PAGES; i++)
    must(env_map(&ce, K_BI_SLOT_VSPACE, C_SHARED_FRAME + i, SHARED_VA + i * K_PAGE_SIZE, K_MAP_WRITE), "map shared");
  sh = shared();
  sh->seed = seed;
  sh->flags = flags;
  sh->budget = budget;
  for (u32 p = 0; p < NP; p++)
    must(sys_retype(ce.untyped, K_OBJ_UNTYPED, UT_BITS, ce.cnode, pslot(p, P_UT), 1, 100 + p), "principal untyped");
  for (u32 p = 0; p < NP; p++)
    must(make_objects(p), "principal objects");
  for (u32 p = 0; p < NP; p++) {
    must(map_infrastructure(p), "principal address space");
    built[p] = 1;
  }
  for (u32 p = 0; p < NP; p++)
    fill_cspace(p);
  for (u32 g = 0; g < NW; g++)
    must(start_worker(g), "worker");
  cptr_t ub;
  must(env_thread(&ce, unblocker, &ub), "unblocker");
  must(sys_tcb_configure(ub, ce.cnode, ce.vspace, UNBLOCKER_PRIORITY), "unblocker priority");
}

static void figures(u64 ns) {
  struct wstat total = {0};
  u64 starts = 0;
  for (u32 g = 0; g < NW; g++) {
    for (int i = 0; i < SYS_SLOTS; i++) {
      total.ok[i] += sh->w[g].ok[i];
      total.err[i] += sh->w[g].err[i];
    }
    total.ops += sh->w[g].ops;
    starts += sh->w[g].starts;
    total.msgs_rx += sh->w[g].msgs_rx;
    total.words_rx += sh->w[g].words_rx;
    total.caps_rx += sh->w[g].caps_rx;
    total.gifts_rx += sh->w[g].gifts_rx;
    total.mapped_rx += sh->w[g].mapped_rx;
    total.two_level += sh->w[g].two_level;
    total.two_level_ok += sh->w[g].two_level_ok;
    total.pin_outside_root += sh->w[g].pin_outside_root;
    total.gifts_down += sh->w[g].gifts_down;
    total.gifts_down_ok += sh->w[g].gifts_down_ok;
    total.unpin_to += sh->w[g].unpin_to;
    total.unpin_to_moved += sh->w[g].unpin_to_moved;
    total.pin_to += sh->w[g].pin_to;
    total.pin_to_moved += sh->w[g].pin_to_moved;
  }
  printf("kfuzz: seed %llu: %llu operations in %llu ms, %u threads (%llu starts), %u principals "
         "(%llu rebuilds, %llu failed), %llu shared objects recreated\n",
         seed, total.ops, ns / 1000000, NW, starts, NP, rebuilds, rebuild_failures, shared_recreated);
  printf("kfuzz: seed %llu: invariant checks %llu (last saw %llu capabilities), faults: %llu, unblocks %llu, "
         "rounds %llu\n", seed, checks, checked_caps, faults, unblocks, rounds);
  printf("kfuzz: seed %llu: messages received %llu (%llu with words in the IPC buffer), capabilities received %llu, "
         "frames gifted %llu (%llu pages mapped in receive windows)\n", seed, total.msgs_rx, total.words_rx,
         total.caps_rx, total.gifts_rx, total.mapped_rx);
  printf("kfuzz: seed %llu: calls on a capability named one level down %llu, %llu of them succeeded; "
         "pinned frames kept in the root (PIN_OUTSIDE_ROOT) %llu; messages gifting frames of a CNode one level "
         "down %llu, %llu of them went; unpins into a CNode's slot %llu, %llu of them moved the frame; pins of a run "
         "into slots given %llu, %llu of them pinned and moved it\n", seed, total.two_level, total.two_level_ok,
         total.pin_outside_root, total.gifts_down, total.gifts_down_ok, total.unpin_to, total.unpin_to_moved,
         total.pin_to, total.pin_to_moved);
  printf("kfuzz: seed %llu: sends, calls and reply-receives by result:", seed);
  for (int e = 0; e < 64 && e < K_ERR_COUNT; e++) {
    u64 n = 0;
    for (u32 g = 0; g < NW; g++)
      n += sh->w[g].send_err[e];
    if (n)
      printf(" %s %llu", err_name(e), n);
  }
  printf("\n");
  printf("kfuzz: %-24s %10s %10s\n", "system call", "success", "error");
  for (int i = 0; i < SYS_SLOTS; i++)
    if (total.ok[i] || total.err[i])
      printf("kfuzz: %-24s %10llu %10llu\n", i < K_SYS_COUNT ? syscall_names[i] : "(no such call)", total.ok[i],
             total.err[i]);
}

static void stop_all(void) {
  sh->stop = 1;
  for (u32 g = 0; g < NW; g++)
    sys_tcb_suspend(pslot(g / TPP, P_TCB + g % TPP));
}

int main(u64 arg) {
  seed = arg & 0xffffff;
  flags = (arg >> 24) & 0xff;
  budget = arg >> 32 ? arg >> 32 : 100000;
  rng = mix64(seed + 0x51ed) | 1;
  ce = (struct env){.cnode = K_BI_SLOT_CNODE, .vspace = K_BI_SLOT_VSPACE, .untyped = K_BI_SLOT_BOOT_UNTYPED,
                    .next_slot = C_PRINCIPAL + NP * C_STRIDE, .end_slot = 1ull << SPAWN_CNODE_BITS, .next_vaddr = CTRL_VA};
  printf("kfuzz: seed %llu, %llu operations, flags 0x%llx: %u principals, %u worker threads\n", seed, budget,
         flags, NP, NW);
  u64 t0 = sys_time_ns(), next_check = CHECK_EVERY, next_progress = PROGRESS_EVERY;
  setup();
  while (!sh->failed && sh->ops < budget) {
    must(sys_ntfn_set_timer(C_TIMER, sys_time_ns() + 1000000, 1), "timer");
    sys_wait(C_TIMER);
    rounds++;
    if (sh->ops >= next_check) {
      check();
      next_check = sh->ops + CHECK_EVERY;
    }
    if (sh->ops >= next_progress) {
      printf("kfuzz: seed %llu: %llu operations, %llu checks, %llu rebuilds\n", seed, sh->ops, checks, rebuilds);
      next_progress += PROGRESS_EVERY;
    }
    if (rounds % CHAOS_ROUNDS == 0)
      chaos();
    if (rounds % REPAIR_ROUNDS == 0)
      for (u32 p = 0; p < NP; p++)
        fill_cspace(p);
    supervise();
  }
  stop_all();
  if (!sh->failed)
    check();
  figures(sys_time_ns() - t0);
  int failed = sh->failed || faults;
  if (failed)
    printf("kfuzz: FAIL seed %llu at op %llu (replay: make fuzz FUZZ_SEED=%llu)\n", seed,
           sh->fail_op ? sh->fail_op : sh->ops, seed);
  printf("kfuzz: %d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
  quit(failed);
  return failed;
}
