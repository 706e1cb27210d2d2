/* Host unit tests of lib/elf_load.c: a valid image built here, then one
 * mutation per reason the parser must refuse an image. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <lib/elf_load.h>


static union {
  u8 bytes[8192];
  struct elf64_ehdr h;
} img;
static struct elf64_phdr *ph;
static const u64 size = sizeof(img);

static int setup(void **state) {
  (void)state;
  memset(&img, 0, sizeof(img));
  memcpy(img.h.ident, "\177ELF\2\1\1", 7);
  img.h.type = 2;
  img.h.machine = 62;
  img.h.entry = 0x400010;
  img.h.phoff = 64;
  img.h.phentsize = sizeof(struct elf64_phdr);
  img.h.phnum = 3;
  ph = (struct elf64_phdr *)(img.bytes + 64);
  ph[0] = (struct elf64_phdr){.type = 1, .flags = 5, .offset = 4096, .vaddr = 0x400000, .filesz = 0x100, .memsz = 0x100};
  ph[1] = (struct elf64_phdr){.type = 1, .flags = 6, .offset = 4096 + 0x100, .vaddr = 0x401100, .filesz = 0x10, .memsz = 0x2000};
  ph[2] = (struct elf64_phdr){.type = 4, .offset = 0, .filesz = 0}; /* a note: ignored */
  for (int i = 0; i < 0x110; i++)
    img.bytes[4096 + i] = (u8)(i + 1);
  return 0;
}

static int parse(void) {
  struct elf_image out;
  return elf_parse(&img, size, &out);
}

static void valid_image(void **state) {
  (void)state;
  struct elf_image out;
  assert_int_equal(elf_parse(&img, size, &out), ELF_ERR_OK);
  assert_int_equal(out.entry, 0x400010);
  assert_int_equal(out.nsegments, 2);
  assert_int_equal(out.segments[0].flags, ELF_SEG_R | ELF_SEG_X);
  assert_int_equal(out.segments[1].flags, ELF_SEG_R | ELF_SEG_W);
  u64 first, count;
  elf_segment_pages(&out.segments[1], &first, &count);
  assert_int_equal(first, 0x401000);
  assert_int_equal(count, 3); /* 0x401100 + 0x2000 ends in the third page */
}

static void page_fill_copies_only_file_bytes(void **state) {
  (void)state;
  struct elf_image out;
  assert_int_equal(elf_parse(&img, size, &out), ELF_ERR_OK);
  u8 page[4096];
  memset(page, 0, sizeof(page));
  elf_page_fill(&img, &out.segments[1], 0x401000, page);
  assert_int_equal(page[0xff], 0);
  assert_int_equal(page[0x100], (u8)0x101);
  assert_int_equal(page[0x10f], (u8)0x110);
  assert_int_equal(page[0x110], 0); /* bss stays zero */
  memset(page, 0, sizeof(page));
  elf_page_fill(&img, &out.segments[1], 0x402000, page);
  for (int i = 0; i < 4096; i++)
    assert_int_equal(page[i], 0);
}

static void header_errors(void **state) {
  (void)state;
  struct elf_image out;
  assert_int_equal(elf_parse(&img, 63, &out), ELF_ERR_TOO_SMALL);
  img.h.ident[1] = 'X';
  assert_int_equal(parse(), ELF_ERR_BAD_MAGIC);
  setup(NULL), img.h.ident[4] = 1;
  assert_int_equal(parse(), ELF_ERR_NOT_64BIT);
  setup(NULL), img.h.ident[5] = 2;
  assert_int_equal(parse(), ELF_ERR_NOT_LITTLE_ENDIAN);
  setup(NULL), img.h.machine = 3;
  assert_int_equal(parse(), ELF_ERR_WRONG_MACHINE);
  setup(NULL), img.h.type = 3;
  assert_int_equal(parse(), ELF_ERR_NOT_EXECUTABLE);
  setup(NULL), img.h.phentsize = 32;
  assert_int_equal(parse(), ELF_ERR_BAD_PHENTSIZE);
  setup(NULL), img.h.phoff = size - 10;
  assert_int_equal(parse(), ELF_ERR_BAD_PHDRS);
  setup(NULL), img.h.phoff = ~0ull - 8;
  assert_int_equal(parse(), ELF_ERR_BAD_PHDRS);
  setup(NULL), img.h.phnum = 0xffff;
  assert_int_equal(parse(), ELF_ERR_BAD_PHDRS);
}

static void segment_errors(void **state) {
  (void)state;
  ph[1].offset = size - 4;
  assert_int_equal(parse(), ELF_ERR_SEGMENT_OUTSIDE_IMAGE);
  setup(NULL), ph[1].offset = ~0ull - 4; /* offset + filesz overflows */
  assert_int_equal(parse(), ELF_ERR_SEGMENT_OUTSIDE_IMAGE);
  setup(NULL), ph[1].filesz = 0x1000, ph[1].memsz = 0x800, ph[1].offset = 0;
  assert_int_equal(parse(), ELF_ERR_FILESZ_GT_MEMSZ);
  setup(NULL), ph[1].vaddr = 0;
  assert_int_equal(parse(), ELF_ERR_SEGMENT_NOT_USER);
  setup(NULL), ph[1].vaddr = 0xffffffff80000000ull;
  assert_int_equal(parse(), ELF_ERR_SEGMENT_NOT_USER);
  setup(NULL), ph[1].vaddr = 0x00007fffffffe000ull; /* runs past the end of user space */
  assert_int_equal(parse(), ELF_ERR_SEGMENT_NOT_USER);
  setup(NULL), ph[1].memsz = ~0ull;
  assert_int_equal(parse(), ELF_ERR_SEGMENT_NOT_USER);
  setup(NULL), ph[1].vaddr = 0x400080; /* shares a page with the text */
  assert_int_equal(parse(), ELF_ERR_SEGMENTS_OVERLAP);
  setup(NULL), img.h.entry = 0x401100; /* in the data segment */
  assert_int_equal(parse(), ELF_ERR_BAD_ENTRY);
  setup(NULL), img.h.entry = 0x400100; /* one past the text */
  assert_int_equal(parse(), ELF_ERR_BAD_ENTRY);
}

static void too_many_segments(void **state) {
  (void)state;
  img.h.phnum = ELF_MAX_SEGMENTS + 1;
  for (int i = 0; i < ELF_MAX_SEGMENTS + 1; i++)
    ph[i] = (struct elf64_phdr){.type = 1, .flags = 5, .offset = 4096, .vaddr = 0x400000 + 0x1000 * (u64)i,
                          .filesz = 0x10, .memsz = 0x100};
  assert_int_equal(parse(), ELF_ERR_TOO_MANY_SEGMENTS);
  img.h.phnum = ELF_MAX_SEGMENTS;
  assert_int_equal(parse(), ELF_ERR_OK);
}

static void messages_are_distinct(void **state) {
  (void)state;
  assert_string_equal(elf_strerror(ELF_ERR_BAD_MAGIC), "not an ELF file");
  assert_string_equal(elf_strerror(-1), "unknown ELF error");
  assert_string_equal(elf_strerror(1000), "unknown ELF error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(valid_image, setup),
      cmocka_unit_test_setup(page_fill_copies_only_file_bytes, setup),
      cmocka_unit_test_setup(header_errors, setup),
      cmocka_unit_test_setup(segment_errors, setup),
      cmocka_unit_test_setup(too_many_segments, setup),
      cmocka_unit_test_setup(messages_are_distinct, setup),
  };
  return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
