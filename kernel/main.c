/* Kernel entry from the boot stub. */
#include "kernel/boot.h"
#include "kernel/clock.h"
#include "kernel/print.h"
#include <arch/cpu.h>
#include <arch/serial.h>
#include <arch/init.h>

#define TIMER_HZ 100

extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[], _data_start[], _data_end[];
extern char _bss_start[], _bss_end[], _boot_bss_start[], _boot_bss_end[];
extern char _kernel_phys_start[], _kernel_phys_end[];

static struct boot_mem boot_mem;

static u64 span(const char *a, const char *b) { return (u64)(b - a); }

static void print_footprint(void) {
  kprintf("kernel: fixed footprint %llu bytes (0x%llx-0x%llx), set at link time, no heap:\n",
          span(_kernel_phys_start, _kernel_phys_end), (u64)_kernel_phys_start, (u64)_kernel_phys_end);
  kprintf("kernel:   text %llu, rodata %llu, data %llu, bss %llu (kernel stack %u), "
          "boot page tables and stack %llu\n",
          span(_text_start, _text_end), span(_rodata_start, _rodata_end), span(_data_start, _data_end),
          span(_bss_start, _bss_end), KSTACK_SIZE, span(_boot_bss_start, _boot_bss_end));
}

void kmain(u32 magic, u32 info_pa) {
  u64 tsc0 = rdtsc();
  serial_init();
  kprintf("\nkernel: x86-64 capability microkernel booting\n");
  arch_cpu_init();
  arch_timer_init(TIMER_HZ);
  clock_init(tsc0);
  print_footprint();
  if (arch_boot_parse(magic, info_pa, &boot_mem))
    panic("not started by a multiboot2 loader (magic 0x%x)", magic);
  boot_root_task(&boot_mem);
}
