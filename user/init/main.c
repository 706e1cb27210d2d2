/* The root task. It holds every capability the kernel handed out at boot.
 * It checks what it was given (the self-check), then starts the other boot
 * modules as principals of their own, each with an untyped split off for it.
 * With no other module it reports the self-check's verdict and stops QEMU. */
#include <ulib.h>
#include <env.h>
#include <spawn.h>
#include <abi/bootinfo.h>

#define PRINCIPAL_FIRST_CHILD 10u
#define CHILD_UNTYPED_BITS 24 /* 16 MiB for each started program */
#define BENCH_UNTYPED_BITS 25 /* 32 MiB for each side of the benchmark */
#define CHILD_PRIORITY 100
#define DEBUG_EXIT_PORT 0xf4

static int failures;

static void check(int ok, const char *what) {
  printf("init: %s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    failures++;
}

static void print_usage(const char *name, cptr_t ut) {
  struct untyped_usage u;
  long err = sys_untyped_usage(ut, &u, USAGE_RECURSIVE);
  if (err) {
    printf("init: usage of %s: %s\n", name, err_name(err));
    return;
  }
  printf("init: %s: %llu KiB, %llu KiB free, principal %u\n", name, u.size >> 10, u.free >> 10,
         u.label);
  for (u32 t = 0; t < OBJ_TYPE_COUNT; t++)
    if (u.count[t])
      printf("init:   %-12s %6llu objects %8llu bytes\n", obj_type_name(t), u.count[t], u.bytes[t]);
}

/* The root task's own objects were made from the boot untyped, so the
 * accounting call must find them there. */
static void self_check(const struct bootinfo *bi) {
  check(bi->magic == BOOTINFO_MAGIC, "bootinfo magic");
  check(bi->untyped_count > 0, "at least one untyped region");
  struct untyped_usage u;
  check(sys_untyped_usage(BI_SLOT_BOOT_UNTYPED, &u, 0) == ERR_OK, "usage of the boot untyped");
  check(u.count[OBJ_CNODE] == 1 && u.count[OBJ_TCB] == 1 && u.count[OBJ_VSPACE] == 1,
        "boot untyped holds the root CNode, TCB and VSpace");
  check(u.count[OBJ_FRAME_4K] >= 1 + 16, "boot untyped holds the root task's pages");
  struct cap_info ci;
  check(sys_cap_identify(BI_SLOT_CNODE, BI_SLOT_TCB, &ci) == ERR_OK && ci.type == OBJ_TCB,
        "slot 3 is the root task's TCB");
  check(sys_cap_identify(BI_SLOT_CNODE, BI_SLOT_IOPORTS, &ci) == ERR_OK && ci.type == OBJ_IOPORTS &&
            ci.size == 0x10000, "slot 4 holds every I/O port");
  u64 total = 0;
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (!bi->untyped[i].is_device)
      total += bi->untyped[i].size;
  printf("init: %llu untyped regions, %llu MiB of RAM; booted in %llu us of kernel time\n",
         bi->untyped_count, total >> 20, bi->boot_ns / 1000);
  print_usage("boot untyped", BI_SLOT_BOOT_UNTYPED);
}

static cptr_t largest_ram_untyped(const struct bootinfo *bi) {
  u64 best = 0, size = 0;
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (!bi->untyped[i].is_device && bi->untyped[i].size > size) {
      size = bi->untyped[i].size;
      best = i;
    }
  return bi->untyped_first + best;
}

struct start {
  const struct bootinfo_module *m;
  u32 principal;
  u32 untyped_bits;
  cptr_t extra[2]; /* for the program's slots BI_SLOT_FIRST_FREE_FIXED + i */
  u64 arg;
  u64 ioport_range; /* first | last << 16 (0: the debug-exit port) */
};

static void start_module(struct env *e, const struct start *s) {
  cptr_t ut = env_slot(e);
  long err = sys_retype(e->untyped, OBJ_UNTYPED, s->untyped_bits, e->cnode, ut, 1, s->principal);
  if (err) {
    printf("init: no untyped for %s: %s\n", s->m->name, err_name(err));
    failures++;
    return;
  }
  struct spawn_args a = {.image = (const void *)s->m->vaddr, .image_size = s->m->size, .cnode_bits = 12,
                         .priority = CHILD_PRIORITY, .untyped = ut, .ioports = BI_SLOT_IOPORTS,
                         .ioport_range = s->ioport_range ? s->ioport_range
                                                         : DEBUG_EXIT_PORT | (DEBUG_EXIT_PORT + 3ull) << 16,
                         .irq_control = BI_SLOT_IRQ_CONTROL, .dma = BI_SLOT_DMA,
                         .extra = {s->extra[0], s->extra[1]}, .arg = s->arg};
  struct child c;
  int elf_err;
  err = spawn(e, &a, &c, &elf_err);
  if (err) {
    printf("init: cannot start %s: %s (elf: %d)\n", s->m->name, err_name(err), elf_err);
    failures++;
    return;
  }
  printf("init: started %s as principal %u with %u MiB\n", s->m->name, s->principal,
         1u << (s->untyped_bits - 20));
}

/* blockd gets the PCI configuration ports, the device memory and a public
 * endpoint (init's copy is handed to block clients). */
static cptr_t start_blockd(struct env *e, const struct bootinfo *bi, const struct bootinfo_module *m,
                           u32 principal) {
  cptr_t ep, dev = 0;
  if (env_retype(e, OBJ_ENDPOINT, 0, &ep))
    return 0;
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (bi->untyped[i].is_device)
      dev = bi->untyped_first + i;
  struct start s = {m, principal, CHILD_UNTYPED_BITS, {ep, dev}, principal, 0xcf8 | 0xcffull << 16};
  start_module(e, &s);
  return ep;
}

/* The CMOS clock's ports: the in-guest tests make it interrupt (IRQ 8). */
static cptr_t rtc_ports(struct env *e) {
  cptr_t s = env_slot(e);
  return sys_cnode_mint(e->cnode, s, e->cnode, BI_SLOT_IOPORTS, RIGHTS_ALL, 0x70 | 0x71ull << 16) ? 0 : s;
}

/* The benchmark runs as two principals, client and server, joined by an
 * endpoint that init makes (from its own memory) and copies to both. */
static void start_bench(struct env *e, const struct bootinfo_module *m, u32 principal) {
  cptr_t ep;
  long err = env_retype(e, OBJ_ENDPOINT, 0, &ep);
  if (err) {
    printf("init: no endpoint for %s: %s\n", m->name, err_name(err));
    failures++;
    return;
  }
  struct start server = {m, principal, BENCH_UNTYPED_BITS, {ep, 0}, 2, 0};
  struct start client = {m, principal + 1, BENCH_UNTYPED_BITS, {ep, 0}, 1, 0};
  start_module(e, &server);
  start_module(e, &client);
}

int main(const struct bootinfo *bi) {
  printf("init: root task running\n");
  struct env e = {.cnode = BI_SLOT_CNODE, .vspace = BI_SLOT_VSPACE, .next_slot = bi->first_free_slot,
                  .end_slot = 1ull << bi->cnode_bits, .next_vaddr = bi->free_vaddr};
  self_check(bi);
  e.untyped = largest_ram_untyped(bi);
  cptr_t blockd_ep = 0;
  for (u64 i = 1; i < bi->module_count; i++) {
    const struct bootinfo_module *m = &bi->module[i];
    u32 principal = PRINCIPAL_FIRST_CHILD + 2 * (u32)i;
    if (!strcmp(m->name, "bench")) {
      start_bench(&e, m, principal);
    } else if (!strcmp(m->name, "blockd")) {
      blockd_ep = start_blockd(&e, bi, m, principal);
    } else if (!strncmp(m->name, "blk", 3)) {
      struct start s = {m, principal, CHILD_UNTYPED_BITS, {blockd_ep, 0}, principal, 0};
      start_module(&e, &s);
    } else {
      struct start s = {m, principal, CHILD_UNTYPED_BITS, {rtc_ports(&e), 0}, principal, 0};
      start_module(&e, &s);
    }
  }
  if (bi->module_count > 1 && failures == 0)
    return 0; /* the programs started carry on; they decide when QEMU stops */
  printf("init: self-check %s: %d failure%s\n", failures ? "FAILED" : "passed", failures,
         failures == 1 ? "" : "s");
  sys_ioport_out(BI_SLOT_IOPORTS, DEBUG_EXIT_PORT, 1, failures ? 1 : 0);
  return failures;
}
