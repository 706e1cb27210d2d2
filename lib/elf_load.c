/* ELF64 validation (see elf_load.h). Every offset and size from the file is
 * checked against the image and against overflow before it is used. */
#include <lib/elf_load.h>
#include <lib/string.h>

#define PT_LOAD 1
#define ET_EXEC 2
#define EM_X86_64 62

static const char *const messages[] = {
#define ELF_ERR_TEXT(name, text) text,
    ELF_ERRORS(ELF_ERR_TEXT)
#undef ELF_ERR_TEXT
};

const char *elf_strerror(int err) {
  return err >= 0 && err < (int)(sizeof(messages) / sizeof(messages[0])) ? messages[err]
                                                                          : "unknown ELF error";
}

static int check_header(const struct elf64_ehdr *h, u64 size) {
  if (size < sizeof(*h))
    return ELF_ERR_TOO_SMALL;
  if (memcmp(h->ident, "\177ELF", 4))
    return ELF_ERR_BAD_MAGIC;
  if (h->ident[4] != 2)
    return ELF_ERR_NOT_64BIT;
  if (h->ident[5] != 1)
    return ELF_ERR_NOT_LITTLE_ENDIAN;
  if (h->machine != EM_X86_64)
    return ELF_ERR_WRONG_MACHINE;
  if (h->type != ET_EXEC)
    return ELF_ERR_NOT_EXECUTABLE;
  if (h->phentsize != sizeof(struct elf64_phdr))
    return ELF_ERR_BAD_PHENTSIZE;
  if (h->phoff > size || (size - h->phoff) / sizeof(struct elf64_phdr) < h->phnum)
    return ELF_ERR_BAD_PHDRS;
  return ELF_ERR_OK;
}

static int check_segment(const struct elf64_phdr *p, u64 size) {
  if (p->offset > size || size - p->offset < p->filesz)
    return ELF_ERR_SEGMENT_OUTSIDE_IMAGE;
  if (p->filesz > p->memsz)
    return ELF_ERR_FILESZ_GT_MEMSZ;
  if (p->vaddr < ELF_USER_MIN || p->vaddr >= ELF_USER_END || ELF_USER_END - p->vaddr < p->memsz)
    return ELF_ERR_SEGMENT_NOT_USER;
  return ELF_ERR_OK;
}

static struct elf_segment to_segment(const struct elf64_phdr *p) {
  struct elf_segment s = {p->vaddr, p->memsz, p->filesz, p->offset, 0};
  s.flags = (p->flags & 1 ? ELF_SEG_X : 0) | (p->flags & 2 ? ELF_SEG_W : 0) |
            (p->flags & 4 ? ELF_SEG_R : 0);
  return s;
}

/* Segments may not share a page: each page gets one set of permissions. */
static int overlaps(const struct elf_image *img, const struct elf_segment *s) {
  u64 first, count;
  elf_segment_pages(s, &first, &count);
  for (u32 i = 0; i < img->nsegments; i++) {
    u64 f2, c2;
    elf_segment_pages(&img->segments[i], &f2, &c2);
    if (first < f2 + c2 * 4096 && f2 < first + count * 4096)
      return 1;
  }
  return 0;
}

static int entry_ok(const struct elf_image *img) {
  for (u32 i = 0; i < img->nsegments; i++) {
    const struct elf_segment *s = &img->segments[i];
    if ((s->flags & ELF_SEG_X) && img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz)
      return 1;
  }
  return 0;
}

int elf_parse(const void *image, u64 size, struct elf_image *out) {
  const struct elf64_ehdr *h = image;
  int err = check_header(h, size);
  if (err)
    return err;
  out->entry = h->entry;
  out->nsegments = 0;
  const struct elf64_phdr *ph = (const void *)((const u8 *)image + h->phoff);
  for (u32 i = 0; i < h->phnum; i++) {
    if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
      continue;
    if (out->nsegments == ELF_MAX_SEGMENTS)
      return ELF_ERR_TOO_MANY_SEGMENTS;
    if ((err = check_segment(&ph[i], size)))
      return err;
    struct elf_segment s = to_segment(&ph[i]);
    if (overlaps(out, &s))
      return ELF_ERR_SEGMENTS_OVERLAP;
    out->segments[out->nsegments++] = s;
  }
  return entry_ok(out) ? ELF_ERR_OK : ELF_ERR_BAD_ENTRY;
}

void elf_segment_pages(const struct elf_segment *s, u64 *first_page, u64 *page_count) {
  *first_page = s->vaddr & ~0xfffull;
  *page_count = (((s->vaddr + s->memsz + 0xfff) & ~0xfffull) - *first_page) >> 12;
}

void elf_page_fill(const void *image, const struct elf_segment *s, u64 page_va, u8 *page) {
  u64 lo = page_va > s->vaddr ? page_va : s->vaddr;
  u64 file_end = s->vaddr + s->filesz;
  u64 hi = page_va + 4096 < file_end ? page_va + 4096 : file_end;
  if (hi > lo)
    memcpy(page + (lo - page_va), (const u8 *)image + s->offset + (lo - s->vaddr), hi - lo);
}
