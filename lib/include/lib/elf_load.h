/* ELF64 executables: validation and the page-by-page view a loader needs.
 * Reads the image only; the caller maps and fills pages. Shared by the
 * kernel (the root task) and user space (spawn). */
#ifndef LIB_ELF_LOAD_H
#define LIB_ELF_LOAD_H

#include <lib/types.h>

#define ELF_MAX_SEGMENTS 8
#define ELF_SEG_X 1u
#define ELF_SEG_W 2u
#define ELF_SEG_R 4u
#define ELF_USER_MIN 0x1000ull
#define ELF_USER_END 0x00007ffffffff000ull

#define ELF_ERRORS(X)                                                          \
  X(OK, "valid")                                                               \
  X(TOO_SMALL, "image smaller than an ELF header")                            \
  X(BAD_MAGIC, "not an ELF file")                                              \
  X(NOT_64BIT, "not a 64-bit ELF file")                                        \
  X(NOT_LITTLE_ENDIAN, "not little-endian")                                    \
  X(WRONG_MACHINE, "not an x86-64 executable")                                 \
  X(NOT_EXECUTABLE, "not an ET_EXEC executable")                              \
  X(BAD_PHDRS, "program headers lie outside the image")                       \
  X(BAD_PHENTSIZE, "program header size is wrong")                            \
  X(TOO_MANY_SEGMENTS, "more loadable segments than the loader takes")        \
  X(SEGMENT_OUTSIDE_IMAGE, "a segment's file bytes lie outside the image")    \
  X(FILESZ_GT_MEMSZ, "a segment has more file bytes than memory bytes")       \
  X(SEGMENT_NOT_USER, "a segment lies outside user space")                    \
  X(SEGMENTS_OVERLAP, "two segments share a page")                            \
  X(BAD_ENTRY, "entry point is not in an executable segment")

enum elf_error {
#define ELF_ERR_ENUM(name, text) ELF_ERR_##name,
  ELF_ERRORS(ELF_ERR_ENUM)
#undef ELF_ERR_ENUM
};

/* The file's own layout (ELF64), for the parser and for tests that build
 * images. */
struct elf64_ehdr {
  u8 ident[16];
  u16 type, machine;
  u32 version;
  u64 entry, phoff, shoff;
  u32 flags;
  u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
  u32 type, flags;
  u64 offset, vaddr, paddr, filesz, memsz, align;
};

struct elf_segment {
  u64 vaddr, memsz, filesz, offset;
  u32 flags; /* ELF_SEG_R | W | X */
};

struct elf_image {
  u64 entry;
  u32 nsegments;
  struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* 0 or an enum elf_error; `out` is valid only on 0. */
int elf_parse(const void *image, u64 size, struct elf_image *out);
const char *elf_strerror(int err);
/* The page-aligned range a (validated) segment covers. */
void elf_segment_pages(const struct elf_segment *s, u64 *first_page, u64 *page_count);
/* Fill the 4 KiB page at page_va with the segment's file bytes that fall in
 * it; the rest of the page is left as it is (zero in a fresh frame). */
void elf_page_fill(const void *image, const struct elf_segment *s, u64 page_va, u8 *page);

#endif
