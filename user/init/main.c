/* The root task. It holds every capability the kernel handed out at boot.
 * It checks what it was given (the self-check), then starts the other boot
 * modules as principals of their own, each with an untyped split off for it.
 * With no other module it reports the self-check's verdict and stops QEMU. */
#include <ulib.h>
#include <env.h>
#include <spawn.h>
#include <pci.h>
#include <devmem.h>
#include <net.h>
#include <blk.h>
#include <abi/bootinfo.h>
#include <acct.h>
#include "acct.h"

#define PRINCIPAL_FIRST_CHILD 10u
#define CHILD_UNTYPED_BITS 24 /* 16 MiB for each started program */
#define BENCH_UNTYPED_BITS 25 /* 32 MiB for each side of the benchmark */
#define KERNEL_TESTS_UNTYPED_BITS 26 /* 64 MiB: one test revokes 100,000 objects */
#define BLKECHO_UNTYPED_BITS 26 /* 64 MiB: 16 MiB of requests in flight, twice */
#define BLKECHO_CNODE_BITS 14   /* and a slot for each of their frames */
#define CHILD_PRIORITY 100
/* Drivers run above their clients: while a driver runs, no client can
 * revoke the memory a session lives in between the driver's liveness check
 * and its use of that memory. */
#define DRIVER_PRIORITY 120

static int failures;

static void check(int ok, const char *what) {
  printf("init: %s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    failures++;
}

static void print_usage(const char *name, cptr_t ut) {
  struct k_untyped_usage u;
  long err = sys_untyped_usage(ut, &u, K_USAGE_RECURSIVE);
  if (err) {
    printf("init: usage of %s: %s\n", name, err_name(err));
    return;
  }
  printf("init: %s: %llu KiB, %llu KiB free, principal %u\n", name, u.size >> 10, u.free >> 10,
         u.label);
  for (u32 t = 0; t < K_OBJ_TYPE_COUNT; t++)
    if (u.count[t])
      printf("init:   %-12s %6llu objects %8llu bytes\n", obj_type_name(t), u.count[t], u.bytes[t]);
}

/* The root task's own objects were made from the boot untyped, so the
 * accounting call must find them there. */
static void self_check(const struct k_bootinfo *bi) {
  check(bi->magic == K_BOOTINFO_MAGIC, "bootinfo magic");
  check(bi->untyped_count > 0, "at least one untyped region");
  struct k_untyped_usage u;
  check(sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, &u, 0) == K_ERR_OK, "usage of the boot untyped");
  check(u.count[K_OBJ_CNODE] == 1 && u.count[K_OBJ_TCB] == 1 && u.count[K_OBJ_VSPACE] == 1,
        "boot untyped holds the root CNode, TCB and VSpace");
  check(u.count[K_OBJ_FRAME_4K] >= 1 + 16, "boot untyped holds the root task's pages");
  struct k_cap_info ci;
  check(sys_cap_identify(K_BI_SLOT_CNODE, K_BI_SLOT_TCB, &ci) == K_ERR_OK && ci.type == K_OBJ_TCB,
        "slot 3 is the root task's TCB");
  check(sys_cap_identify(K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, &ci) == K_ERR_OK && ci.type == K_OBJ_IOPORTS &&
            ci.size == 0x10000, "slot 4 holds every I/O port");
  u64 total = 0;
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (!bi->untyped[i].is_device)
      total += bi->untyped[i].size;
  printf("init: %llu untyped regions, %llu MiB of RAM; booted in %llu us of kernel time\n",
         bi->untyped_count, total >> 20, bi->boot_ns / 1000);
  print_usage("boot untyped", K_BI_SLOT_BOOT_UNTYPED);
}

static cptr_t largest_ram_untyped(const struct k_bootinfo *bi) {
  u64 best = 0, size = 0;
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (!bi->untyped[i].is_device && bi->untyped[i].size > size) {
      size = bi->untyped[i].size;
      best = i;
    }
  return bi->untyped_first + best;
}

struct start {
  const struct k_bootinfo_module *m;
  u32 principal;
  u32 untyped_bits;
  cptr_t extra[SPAWN_EXTRA]; /* for the program's slots K_BI_SLOT_FIRST_FREE_FIXED + i */
  u64 arg;
  u64 ioport_range; /* first | last << 16 (0: no I/O ports) */
  u32 priority;     /* 0: CHILD_PRIORITY */
  u32 cnode_bits;   /* 0: SPAWN_CNODE_BITS */
  cptr_t irq_control, dma; /* 0: none */
};

/* Least authority: a program gets its own memory, its CSpace and VSpace and
 * the endpoints of the servers it uses. Beyond that only what its job
 * needs: drivers their devices' memory, PCI configuration ports, the IRQ
 * lines of their devices and DMA (start_driver); a program that ends a test
 * or demo run the debug-exit port; the kernel test suite, which exercises
 * IRQ handlers and DMA pinning, those too. */
enum authority { AUTH_EXIT = 1, AUTH_KERNEL_TESTS = 2, AUTH_ACCT = 4 };
static const struct {
  const char *name;
  unsigned auth;
} authorities[] = {
    {"ktest", AUTH_EXIT | AUTH_KERNEL_TESTS}, {"bench", AUTH_EXIT},   {"blkecho", AUTH_EXIT},
    {"blktest", AUTH_EXIT},                   {"nettest", AUTH_EXIT}, {"lwiptest", AUTH_EXIT},
    {"authtest", AUTH_EXIT},                  {"kfuzz", AUTH_EXIT | AUTH_KERNEL_TESTS},
    {"acct", AUTH_ACCT},                      {"unpacktest", AUTH_EXIT},
    {"blkgood", AUTH_EXIT},
};

static unsigned authority_of(const char *name) {
  for (unsigned i = 0; i < sizeof(authorities) / sizeof(authorities[0]); i++) {
    u64 n = strlen(authorities[i].name);
    if (!strncmp(name, authorities[i].name, n) && (name[n] == 0 || name[n] == ':'))
      return authorities[i].auth;
  }
  return 0;
}

#define DEBUG_EXIT_PORTS (DEBUG_EXIT_PORT | (DEBUG_EXIT_PORT + 3ull) << 16)

static void start_module(struct env *e, const struct start *s) {
  cptr_t ut = env_slot(e);
  long err = sys_retype(e->untyped, K_OBJ_UNTYPED, s->untyped_bits, e->cnode, ut, 1, s->principal);
  if (err) {
    printf("init: no untyped for %s: %s\n", s->m->name, err_name(err));
    failures++;
    return;
  }
  struct spawn_args a = {.image = (const void *)s->m->vaddr, .image_size = s->m->size, .cnode_bits = s->cnode_bits ? s->cnode_bits : SPAWN_CNODE_BITS,
                         .priority = s->priority ? s->priority : CHILD_PRIORITY, .untyped = ut,
                         .ioports = s->ioport_range ? K_BI_SLOT_IOPORTS : 0, .ioport_range = s->ioport_range,
                         .irq_control = s->irq_control, .dma = s->dma, .arg = s->arg};
  for (int i = 0; i < SPAWN_EXTRA; i++)
    a.extra[i] = s->extra[i];
  struct child c;
  int elf_err;
  err = spawn(e, &a, &c, &elf_err);
  if (err) {
    printf("init: cannot start %s: %s (elf: %d)\n", s->m->name, err_name(err), elf_err);
    failures++;
    return;
  }
  acct_name(s->principal, s->m->name);
  printf("init: started %s as principal %u with %u MiB\n", s->m->name, s->principal,
         1u << (s->untyped_bits - 20));
}

/* "name:N" passes N to the program (0 without). */
static u64 name_argument(const char *name) {
  u64 v = 0;
  while (*name && *name != ':')
    name++;
  while (*name == ':' || (*name >= '0' && *name <= '9'))
    v = *name == ':' ? 0 : v * 10 + (u64)(*name - '0'), name++;
  return v;
}

/* Device memory is divided among the drivers by address: every memory BAR
 * of a virtio device becomes an untyped of its own (BARs are naturally
 * aligned powers of two), given to the driver for that kind of device. */
enum driver { DRV_BLOCK, DRV_NET, DRV_COUNT };
#define DRIVER_GRANTS (SPAWN_EXTRA - 1) /* slot 8 is the driver's endpoint */
static cptr_t grants[DRV_COUNT][DRIVER_GRANTS];
static unsigned ngrants[DRV_COUNT];
static u64 irq_lines[DRV_COUNT]; /* mask of the lines of each driver's devices */

struct bar {
  u64 addr, size;
  enum driver drv;
};
struct bars {
  struct bar b[24];
  unsigned n;
};

static int driver_of(u16 device) {
  if (device == 0x1042 || device == 0x1001)
    return DRV_BLOCK;
  if (device == 0x1041 || device == 0x1000)
    return DRV_NET;
  return -1;
}

static int add_bars(const struct pci_dev *p, void *ctx) {
  struct bars *bs = ctx;
  int drv = p->vendor == 0x1af4 ? driver_of(p->device) : -1;
  if (drv < 0)
    return 0;
  static unsigned next_msi = K_IRQ_MSI_FIRST; /* each device a message-signalled line too */
  if (p->irq_line < 16)
    irq_lines[drv] |= 1ull << p->irq_line;
  if (next_msi < K_IRQ_LINES)
    irq_lines[drv] |= 1ull << next_msi++;
  for (unsigned i = 0; i < 6 && bs->n < 24; i++) {
    u32 lo = pci_read32(K_BI_SLOT_IOPORTS, p, (u8)(0x10 + 4 * i));
    u64 addr = pci_bar_address(K_BI_SLOT_IOPORTS, p, i), size = pci_bar_size(K_BI_SLOT_IOPORTS, p, i);
    if (addr && size)
      bs->b[bs->n++] = (struct bar){addr, size < K_PAGE_SIZE ? K_PAGE_SIZE : size, (enum driver)drv};
    if (!(lo & 1) && (lo & 6) == 4)
      i++; /* the upper half of a 64-bit BAR */
  }
  return 0;
}

static cptr_t device_untyped(const struct k_bootinfo *bi, u64 addr, u64 size) {
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (bi->untyped[i].is_device && addr >= bi->untyped[i].paddr &&
        addr + size <= bi->untyped[i].paddr + bi->untyped[i].size)
      return bi->untyped_first + i;
  return 0;
}

static void divide_device_memory(struct env *e, const struct k_bootinfo *bi) {
  static struct bars bs;
  pci_scan(K_BI_SLOT_IOPORTS, add_bars, &bs);
  for (unsigned i = 1; i < bs.n; i++) /* increasing address: carving moves a watermark up */
    for (unsigned j = i; j > 0 && bs.b[j].addr < bs.b[j - 1].addr; j--) {
      struct bar x = bs.b[j];
      bs.b[j] = bs.b[j - 1];
      bs.b[j - 1] = x;
    }
  for (unsigned i = 0; i < bs.n; i++) {
    struct bar *b = &bs.b[i];
    u32 bits = 0;
    while ((1ull << bits) < b->size)
      bits++;
    cptr_t dev = device_untyped(bi, b->addr, b->size), ut = 0;
    long err = dev ? devmem_carve(e, dev, b->addr, bits, &ut) : K_ERR_RANGE;
    if (!err && ngrants[b->drv] == DRIVER_GRANTS)
      err = K_ERR_RANGE;
    if (err) {
      printf("init: device memory at %#llx (%llu KiB) given to nobody: %s\n", b->addr, b->size >> 10,
             err_name(err));
      continue;
    }
    grants[b->drv][ngrants[b->drv]++] = ut;
  }
}

/* A driver gets the PCI configuration ports, its devices' memory, an IRQ
 * control that claims only its devices' lines, DMA and a public endpoint
 * (init's copy is handed to the driver's clients). */
static u64 memory_total; /* bytes of RAM the kernel handed out: all there is for anyone */

static cptr_t start_driver(struct env *e, const struct k_bootinfo_module *m, u32 principal, enum driver drv) {
  cptr_t ep, irq = env_slot(e);
  if (env_retype(e, K_OBJ_ENDPOINT, 0, &ep) ||
      sys_cnode_mint(e->cnode, irq, e->cnode, K_BI_SLOT_IRQ_CONTROL, K_RIGHTS_ALL, irq_lines[drv]))
    return 0;
  struct start s = {.m = m, .principal = principal, .untyped_bits = CHILD_UNTYPED_BITS, .extra = {ep},
                    .arg = name_argument(m->name), .ioport_range = 0xcf8 | 0xcffull << 16,
                    .priority = DRIVER_PRIORITY, .irq_control = irq, .dma = K_BI_SLOT_DMA,
                    .cnode_bits = drv == DRV_NET ? netd_cnode_bits(memory_total) /* a session's place for every 128 KiB */
                                  : blockd_cnode_bits(memory_total)}; /* for every 64 KiB */
  for (unsigned i = 0; i < ngrants[drv]; i++)
    s.extra[1 + i] = grants[drv][i];
  printf("init: %s may claim IRQ lines 0x%llx\n", m->name, irq_lines[drv]);
  start_module(e, &s);
  return ep;
}

/* A server without devices: its memory and a public endpoint (init's copy
 * is handed to its clients). */
static cptr_t start_server(struct env *e, const struct k_bootinfo_module *m, u32 principal) {
  cptr_t ep;
  if (env_retype(e, K_OBJ_ENDPOINT, 0, &ep))
    return 0;
  struct start s = {.m = m, .principal = principal, .untyped_bits = CHILD_UNTYPED_BITS, .extra = {ep},
                    .priority = DRIVER_PRIORITY};
  start_module(e, &s);
  return ep;
}

/* The CMOS clock's ports: the in-guest tests make it interrupt (IRQ 8). */
static cptr_t rtc_ports(struct env *e) {
  cptr_t s = env_slot(e);
  return sys_cnode_mint(e->cnode, s, e->cnode, K_BI_SLOT_IOPORTS, K_RIGHTS_ALL, 0x70 | 0x71ull << 16) ? 0 : s;
}

/* The benchmark runs as two principals, client and server, joined by an
 * endpoint that init makes (from its own memory) and copies to both. */
static void start_bench(struct env *e, const struct k_bootinfo_module *m, u32 principal) {
  cptr_t ep;
  long err = env_retype(e, K_OBJ_ENDPOINT, 0, &ep);
  if (err) {
    printf("init: no endpoint for %s: %s\n", m->name, err_name(err));
    failures++;
    return;
  }
  struct start server = {.m = m, .principal = principal, .untyped_bits = BENCH_UNTYPED_BITS, .extra = {ep},
                         .arg = 2, .ioport_range = DEBUG_EXIT_PORTS};
  struct start client = server;
  client.principal = principal + 1;
  client.arg = 1;
  start_module(e, &server);
  start_module(e, &client);
}

int main(const struct k_bootinfo *bi) {
  printf("init: root task running\n");
  for (u64 i = 0; i < bi->untyped_count; i++)
    if (!bi->untyped[i].is_device)
      memory_total += bi->untyped[i].size;
  struct env e = {.cnode = K_BI_SLOT_CNODE, .vspace = K_BI_SLOT_VSPACE, .next_slot = bi->first_free_slot,
                  .end_slot = 1ull << bi->cnode_bits, .next_vaddr = bi->free_vaddr};
  self_check(bi);
  e.untyped = largest_ram_untyped(bi);
  cptr_t blockd_ep = 0, netd_ep = 0, acct_ep = 0, unpackd_ep = 0, attack_go = 0;
  int acct_given = 0;
  if (env_retype(&e, K_OBJ_ENDPOINT, 0, &acct_ep))
    acct_ep = 0;
  if (bi->module_count > 1)
    divide_device_memory(&e, bi);
  for (u64 i = 1; i < bi->module_count; i++) {
    const struct k_bootinfo_module *m = &bi->module[i];
    u32 principal = PRINCIPAL_FIRST_CHILD + 2 * (u32)i;
    if (!strcmp(m->name, "bench")) {
      start_bench(&e, m, principal);
    } else if (!strncmp(m->name, "blockd", 6) && (m->name[6] == 0 || m->name[6] == ':')) {
      blockd_ep = start_driver(&e, m, principal, DRV_BLOCK);
    } else if (!strncmp(m->name, "netd", 4) && (m->name[4] == 0 || m->name[4] == ':')) {
      netd_ep = start_driver(&e, m, principal, DRV_NET);
    } else if (!strcmp(m->name, "unpackd")) {
      unpackd_ep = start_server(&e, m, principal);
    } else {
      unsigned auth = authority_of(m->name);
      struct start s = {.m = m, .principal = principal, .untyped_bits = CHILD_UNTYPED_BITS, .arg = principal,
                        .ioport_range = (auth & AUTH_EXIT) ? DEBUG_EXIT_PORTS : 0};
      if (!strncmp(m->name, "blk", 3)) {
        s.extra[0] = blockd_ep;
        if (!strcmp(m->name, "blkecho")) {
          s.untyped_bits = BLKECHO_UNTYPED_BITS;
          s.cnode_bits = BLKECHO_CNODE_BITS;
        } else if (!strcmp(m->name, "blktest")) {
          s.untyped_bits = BLKECHO_UNTYPED_BITS; /* its sessions' donations are never reused: each test takes more */
        } else if (!strcmp(m->name, "blkgood") || !strncmp(m->name, "blkattack", 9)) {
          /* the good client says when the attacker starts, on a notification of init's they share */
          if (!attack_go && env_retype(&e, K_OBJ_NOTIFICATION, 0, &attack_go))
            attack_go = 0;
          s.extra[1] = attack_go;
          s.arg = name_argument(m->name);
        }
      } else if (!strncmp(m->name, "unpack", 6)) {
        s.extra[0] = unpackd_ep;
      } else if (!strncmp(m->name, "net", 3)) { /* "name:N" passes N */
        s.extra[0] = netd_ep;
        s.arg = name_argument(m->name);
      } else if (!strncmp(m->name, "kfuzz", 5) || !strncmp(m->name, "hog", 3)) {
        /* "kfuzz:N": N = seed | flags << 24 | operations << 32; "hog:N": N MiB */
        s.arg = name_argument(m->name);
      }
      if ((auth & AUTH_ACCT) && acct_ep) {
        s.extra[ACCT_SLOT - K_BI_SLOT_FIRST_FREE_FIXED] = acct_ep;
        s.arg = name_argument(m->name);
        acct_given = 1;
      }
      if (auth & AUTH_KERNEL_TESTS) {
        s.untyped_bits = KERNEL_TESTS_UNTYPED_BITS;
        s.extra[0] = rtc_ports(&e);
        s.irq_control = K_BI_SLOT_IRQ_CONTROL;
        s.dma = K_BI_SLOT_DMA;
      }
      start_module(&e, &s);
    }
  }
  if (bi->module_count > 1 && failures == 0 && acct_given)
    acct_serve(acct_ep, K_BI_SLOT_BOOT_UNTYPED, e.untyped); /* the report, on request */
  if (bi->module_count > 1 && failures == 0)
    return 0; /* the programs started carry on; they decide when QEMU stops */
  printf("init: self-check %s: %d failure%s\n", failures ? "FAILED" : "passed", failures,
         failures == 1 ? "" : "s");
  debug_exit(failures ? 1 : 0);
  return failures;
}
