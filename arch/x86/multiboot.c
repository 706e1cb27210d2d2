/* Multiboot2 information: the memory map and the boot modules. */
#include "kernel/boot.h"
#include "kernel/print.h"
#include <arch/mmu.h>
#include <lib/string.h>

#define MB2_MAGIC 0x36d76289u
#define TAG_END 0
#define TAG_MODULE 3
#define TAG_MMAP 6
#define MMAP_AVAILABLE 1

struct tag {
  u32 type, size;
};

struct mmap_tag {
  u32 type, size, entry_size, entry_version;
};

struct mmap_entry {
  u64 base, len;
  u32 type, reserved;
};

struct module_tag {
  u32 type, size, start, end;
  char name[];
};

static void add_mmap(const struct mmap_tag *t, struct boot_mem *out) {
  const u8 *p = (const u8 *)(t + 1), *end = (const u8 *)t + t->size;
  for (; p + sizeof(struct mmap_entry) <= end && out->nram < BOOT_MAX_RANGES; p += t->entry_size) {
    const struct mmap_entry *e = (const void *)p;
    if (e->type == MMAP_AVAILABLE)
      out->ram[out->nram++] = (struct boot_range){e->base, e->base + e->len};
  }
}

static void add_module(const struct module_tag *t, struct boot_mem *out) {
  if (out->nmod >= K_BOOTINFO_MAX_MODULES) {
    kprintf("boot: more than %d modules, ignoring %s\n", K_BOOTINFO_MAX_MODULES, t->name);
    return;
  }
  struct boot_module *m = &out->mod[out->nmod++];
  m->start = t->start;
  m->end = t->end;
  /* GRUB passes the module's command line; its first word names it. */
  const char *n = t->name, *slash = n;
  for (const char *p = n; *p && *p != ' '; p++)
    if (*p == '/')
      slash = p + 1;
  u64 i = 0;
  while (slash[i] && slash[i] != ' ' && i + 1 < sizeof(m->name)) {
    m->name[i] = slash[i];
    i++;
  }
  m->name[i] = 0;
}

int arch_boot_parse(u32 magic, u64 info_pa, struct boot_mem *out) {
  memset(out, 0, sizeof(*out));
  if (magic != MB2_MAGIC)
    return -1;
  const u8 *info = pa_to_kva(info_pa);
  u32 total = *(const u32 *)info;
  for (u32 off = 8; off + sizeof(struct tag) <= total;) {
    const struct tag *t = (const void *)(info + off);
    if (t->type == TAG_END)
      break;
    if (t->type == TAG_MMAP)
      add_mmap((const void *)t, out);
    else if (t->type == TAG_MODULE)
      add_module((const void *)t, out);
    off += (t->size + 7) & ~7u;
  }
  return 0;
}
