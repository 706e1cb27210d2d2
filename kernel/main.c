/* Kernel entry from the boot stub. */
#include "kernel/boot.h"
#include "kernel/clock.h"
#include "kernel/print.h"
#include <arch/cpu.h>
#include <arch/serial.h>
#include <arch/x86.h>

#define TIMER_HZ 100

extern char _text_start[], _text_end[], _data_start[], _data_end[], _bss_start[], _bss_end[];
extern char _kernel_phys_start[], _kernel_phys_end[];

static struct boot_mem boot_mem;

static void print_footprint(void) {
  u64 text = (u64)(_text_end - _text_start), data = (u64)(_data_end - _data_start);
  u64 bss = (u64)(_bss_end - _bss_start);
  kprintf("kernel: footprint %llu bytes fixed at link time: text+rodata %llu, data %llu, "
          "bss %llu (of which kernel stack %u); image 0x%llx-0x%llx; no heap\n",
          (u64)(_kernel_phys_end - _kernel_phys_start), text, data, bss, KSTACK_SIZE,
          (u64)_kernel_phys_start, (u64)_kernel_phys_end);
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
