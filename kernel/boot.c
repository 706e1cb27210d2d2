/* Boot: turn the memory map into untyped capabilities and build the root
 * task from module 0 with the same retype and map operations user space
 * uses, so even the root task's own objects are charged to an untyped it
 * holds (K_BI_SLOT_BOOT_UNTYPED). After this the kernel allocates nothing. */
#include "kernel/boot.h"
#include "kernel/cpu.h"
#include "kernel/print.h"
#include "kernel/sched.h"
#include "kernel/clock.h"
#include "kernel/irq.h"
#include "mm/untyped.h"
#include "mm/vspace.h"
#include <arch/mmu.h>
#include <arch/timer.h>
#include <lib/elf_load.h>
#include <lib/string.h>

#define ROOT_CNODE_BITS 13
#define ROOT_PRIORITY 200
#define ROOT_STACK_PAGES 16
#define ROOT_STACK_TOP 0x00007fff00000000ull
#define ROOT_BOOTINFO_VADDR 0x00007ffe00000000ull
#define ROOT_MODULE_VADDR 0x0000010000000000ull /* module i at + i GiB */
#define ROOT_FREE_VADDR 0x0000020000000000ull
#define LOW_MEMORY_END 0x100000ull
#define BOOT_UNTYPED_BASE_SIZE (4ull << 20)
#define DEVICE_WINDOW_END 0xfec00000ull /* IOAPIC, HPET, LAPIC lie above */

extern char _kernel_phys_start[], _kernel_phys_end[];

static struct boot_range free_ranges[BOOT_MAX_RANGES * 2];
static u32 nfree;

struct root {
  struct cte *slots;
  u64 next_slot;
  struct cte *ut; /* the boot untyped */
  struct k_bootinfo *bi;
};

static u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }
static u64 align_down(u64 v, u64 a) { return v & ~(a - 1); }

static void add_free(u64 s, u64 e) {
  s = align_up(s, K_PAGE_SIZE);
  e = align_down(e, K_PAGE_SIZE);
  if (e > s && nfree < BOOT_MAX_RANGES * 2)
    free_ranges[nfree++] = (struct boot_range){s, e};
}

/* Usable RAM in [1 MiB, 4 GiB) minus the kernel image and the modules. */
static void find_free_ranges(const struct boot_mem *bm) {
  struct boot_range res[K_BOOTINFO_MAX_MODULES + 1];
  u32 nres = 0;
  res[nres++] = (struct boot_range){(u64)_kernel_phys_start, (u64)_kernel_phys_end};
  for (u32 i = 0; i < bm->nmod; i++)
    res[nres++] = (struct boot_range){align_down(bm->mod[i].start, K_PAGE_SIZE),
                                      align_up(bm->mod[i].end, K_PAGE_SIZE)};
  for (u32 i = 1; i < nres; i++) /* insertion sort by start */
    for (u32 j = i; j > 0 && res[j].start < res[j - 1].start; j--) {
      struct boot_range t = res[j];
      res[j] = res[j - 1];
      res[j - 1] = t;
    }
  for (u32 i = 0; i < bm->nram; i++) {
    u64 s = bm->ram[i].start < LOW_MEMORY_END ? LOW_MEMORY_END : bm->ram[i].start;
    u64 e = bm->ram[i].end > PHYSMAP_SIZE ? PHYSMAP_SIZE : bm->ram[i].end;
    for (u32 r = 0; r < nres && s < e; r++) {
      if (res[r].end <= s || res[r].start >= e)
        continue;
      if (res[r].start > s)
        add_free(s, res[r].start);
      s = res[r].end;
    }
    if (s < e)
      add_free(s, e);
  }
}

static struct cte *take_slot(struct root *r) {
  if (r->next_slot >= (1ull << ROOT_CNODE_BITS))
    panic("boot: root CNode (%d slots) is full", 1 << ROOT_CNODE_BITS);
  return &r->slots[r->next_slot++];
}

static struct cte *retype_one(struct root *r, u32 type, u32 bits) {
  struct cte *dest = take_slot(r);
  struct retype_args a = {.type = type, .size_bits = bits, .count = 1};
  int err = ut_retype(r->ut, &a, dest);
  if (err)
    panic("boot: retype of type %u for the root task failed (error %d)", type, err);
  return dest;
}

/* Map a frame into the root task, retyping any missing page table. */
static void root_map(struct root *r, struct cte *frame, u64 va, u32 attr) {
  struct cte *vs = &r->slots[K_BI_SLOT_VSPACE];
  for (;;) {
    int err = vs_map_frame(frame, vs, va, attr);
    u32 table = err == K_ERR_MISSING_PDPT ? K_OBJ_PDPT
                : err == K_ERR_MISSING_PD ? K_OBJ_PD
                : err == K_ERR_MISSING_PT ? K_OBJ_PT
                                        : 0;
    if (!table) {
      if (err)
        panic("boot: mapping 0x%llx for the root task failed (error %d)", va, err);
      return;
    }
    if (vs_map_table(retype_one(r, table, 0), vs, va))
      panic("boot: page table for 0x%llx", va);
  }
}

static void *new_page(struct root *r, u64 va, u32 attr) {
  struct cte *f = retype_one(r, K_OBJ_FRAME_4K, 0);
  root_map(r, f, va, attr);
  return (void *)f->cap.obj;
}

static void load_segment(struct root *r, const u8 *image, const struct elf_segment *s) {
  u32 attr = (s->flags & ELF_SEG_W ? K_MAP_WRITE : 0) | (s->flags & ELF_SEG_X ? K_MAP_EXEC : 0);
  u64 first, count;
  elf_segment_pages(s, &first, &count);
  for (u64 p = 0; p < count; p++)
    elf_page_fill(image, s, first + p * K_PAGE_SIZE, new_page(r, first + p * K_PAGE_SIZE, attr));
}

static u64 load_root_elf(struct root *r, const struct boot_module *m) {
  struct elf_image img;
  const u8 *image = pa_to_kva(m->start);
  int err = elf_parse(image, m->end - m->start, &img);
  if (err)
    panic("boot: module 0 (%s) is not a loadable ELF: %s", m->name, elf_strerror(err));
  for (u32 i = 0; i < img.nsegments; i++)
    load_segment(r, image, &img.segments[i]);
  return img.entry;
}

/* Boot modules become frames of an untyped that keeps their contents,
 * mapped read-only into the root task. */
static void give_module(struct root *r, u32 i, const struct boot_module *m) {
  u64 start = align_down(m->start, K_PAGE_SIZE), end = align_up(m->end, K_PAGE_SIZE);
  struct cte *ut = take_slot(r);
  struct cap c = ut_make_cap(start, end - start, K_PRINCIPAL_KERNEL_BOOT, CAPF_PRESERVE);
  cte_insert(ut, &c, 0);
  struct k_bootinfo_module *bm = &r->bi->module[i];
  memcpy(bm->name, m->name, sizeof(bm->name));
  bm->vaddr = ROOT_MODULE_VADDR + ((u64)i << 30) + (m->start - start);
  bm->size = m->end - m->start;
  bm->first_frame = r->next_slot;
  bm->frame_count = (end - start) / K_PAGE_SIZE;
  struct retype_args a = {.type = K_OBJ_FRAME_4K, .count = (u32)bm->frame_count};
  if (r->next_slot + bm->frame_count > (1ull << ROOT_CNODE_BITS) || ut_retype(ut, &a, &r->slots[r->next_slot]))
    panic("boot: module %s does not fit the root CNode", m->name);
  r->next_slot += bm->frame_count; /* before mapping: page tables take slots too */
  for (u64 f = 0; f < bm->frame_count; f++)
    root_map(r, &r->slots[bm->first_frame + f], ROOT_MODULE_VADDR + ((u64)i << 30) + f * K_PAGE_SIZE, 0);
}

static void give_untyped(struct root *r, u64 base, u64 size, u16 flags) {
  struct k_bootinfo *bi = r->bi;
  if (bi->untyped_count >= K_BOOTINFO_MAX_UNTYPED) {
    kprintf("boot: more than %d regions; 0x%llx+0x%llx left out\n", K_BOOTINFO_MAX_UNTYPED, base, size);
    return;
  }
  struct cap c = ut_make_cap(base, size, K_PRINCIPAL_KERNEL_BOOT, flags);
  cte_insert(take_slot(r), &c, 0);
  bi->untyped[bi->untyped_count++] = (struct k_bootinfo_untyped){
      .paddr = base, .size = size, .is_device = !!(flags & CAPF_DEVICE), .label = K_PRINCIPAL_KERNEL_BOOT};
}

static u64 boot_untyped_size(const struct boot_mem *bm) {
  return BOOT_UNTYPED_BASE_SIZE + align_up(bm->mod[0].end - bm->mod[0].start, K_PAGE_SIZE) * 4;
}

/* The root CNode holds its own capability; it is made through a scratch
 * slot and moved into place, as is the untyped it came from. */
static void make_root_objects(struct root *r, u64 ut_base, u64 ut_size) {
  static struct cte ut_tmp, cnode_tmp;
  struct cap c = ut_make_cap(ut_base, ut_size, K_PRINCIPAL_KERNEL_BOOT, 0);
  cte_insert(&ut_tmp, &c, 0);
  struct retype_args a = {.type = K_OBJ_CNODE, .size_bits = ROOT_CNODE_BITS, .count = 1};
  if (ut_retype(&ut_tmp, &a, &cnode_tmp))
    panic("boot: no memory for the root CNode");
  r->slots = (struct cte *)cnode_tmp.cap.obj;
  cte_move(&r->slots[K_BI_SLOT_CNODE], &cnode_tmp);
  cte_move(&r->slots[K_BI_SLOT_BOOT_UNTYPED], &ut_tmp);
  r->ut = &r->slots[K_BI_SLOT_BOOT_UNTYPED];
  r->next_slot = K_BI_SLOT_VSPACE;
  retype_one(r, K_OBJ_VSPACE, 0);
  retype_one(r, K_OBJ_TCB, 0);
  struct cap io = {.type = K_OBJ_IOPORTS, .rights = K_RIGHTS_ALL, .w1 = 0, .w2 = 0xffff};
  cte_insert(take_slot(r), &io, 0);
  struct cap irq = {.type = K_OBJ_IRQ_CONTROL, .rights = K_RIGHTS_ALL, .w1 = IRQ_LINES_ALL};
  cte_insert(take_slot(r), &irq, 0);
  r->next_slot = K_BI_SLOT_DMA;
  struct cap dma = {.type = K_OBJ_DMA, .rights = K_RIGHTS_ALL};
  cte_insert(take_slot(r), &dma, 0);
  r->next_slot = K_BI_SLOT_FIRST_FREE_FIXED;
}

/* Largest free range gives the boot untyped from its start. */
static struct boot_range *largest_free(void) {
  struct boot_range *best = 0;
  for (u32 i = 0; i < nfree; i++)
    if (!best || free_ranges[i].end - free_ranges[i].start > best->end - best->start)
      best = &free_ranges[i];
  return best;
}

static u64 ram_top_below_4g(const struct boot_mem *bm) {
  u64 top = 0;
  for (u32 i = 0; i < bm->nram; i++)
    if (bm->ram[i].end <= PHYSMAP_SIZE && bm->ram[i].end > top)
      top = bm->ram[i].end;
  return align_up(top, K_LARGE_PAGE_SIZE);
}

static void give_memory(struct root *r, const struct boot_mem *bm) {
  u64 total = 0;
  r->bi->untyped_first = r->next_slot;
  for (u32 i = 0; i < nfree; i++) {
    give_untyped(r, free_ranges[i].start, free_ranges[i].end - free_ranges[i].start, 0);
    total += free_ranges[i].end - free_ranges[i].start;
  }
  u64 dev = ram_top_below_4g(bm);
  if (dev < DEVICE_WINDOW_END)
    give_untyped(r, dev, DEVICE_WINDOW_END - dev, CAPF_DEVICE);
  kprintf("boot: %u RAM regions, %llu KiB as untyped; device window 0x%llx-0x%llx\n", nfree,
          total >> 10, dev, DEVICE_WINDOW_END);
}

static void start_root(struct root *r, u64 entry) {
  for (u64 p = 0; p < ROOT_STACK_PAGES; p++)
    new_page(r, ROOT_STACK_TOP - (p + 1) * K_PAGE_SIZE, K_MAP_WRITE);
  struct tcb *t = (struct tcb *)r->slots[K_BI_SLOT_TCB].cap.obj;
  if (tcb_configure(t, &r->slots[K_BI_SLOT_CNODE], &r->slots[K_BI_SLOT_VSPACE], ROOT_PRIORITY) ||
      tcb_write_regs(t, entry, ROOT_STACK_TOP, ROOT_BOOTINFO_VADDR) || tcb_resume(t))
    panic("boot: cannot start the root task");
}

void boot_root_task(struct boot_mem *bm) {
  if (bm->nmod == 0)
    panic("boot: no modules; the first module must be the root task");
  find_free_ranges(bm);
  struct boot_range *big = largest_free();
  u64 ut_size = boot_untyped_size(bm);
  if (!big || big->end - big->start < ut_size)
    panic("boot: not enough memory for the root task");
  struct root r = {0};
  make_root_objects(&r, big->start, ut_size);
  big->start += ut_size;
  struct k_bootinfo *bi = new_page(&r, ROOT_BOOTINFO_VADDR, 0);
  r.bi = bi;
  u64 entry = load_root_elf(&r, &bm->mod[0]);
  for (u32 i = 0; i < bm->nmod; i++)
    give_module(&r, i, &bm->mod[i]);
  bi->module_count = bm->nmod;
  give_memory(&r, bm);
  start_root(&r, entry);
  bi->magic = K_BOOTINFO_MAGIC;
  bi->cnode_bits = ROOT_CNODE_BITS;
  bi->first_free_slot = r.next_slot;
  bi->free_vaddr = ROOT_FREE_VADDR;
  bi->tsc_per_us = arch_tsc_per_us();
  bi->boot_ns = clock_ns();
  kprintf("boot: root task %s starts after %llu us in the kernel\n", bm->mod[0].name,
          bi->boot_ns / 1000);
  sched_return_to_user();
}
