/* The 8259 PICs, the PIT as the scheduler tick, and TSC calibration. */
#include <arch/cpu.h>
#include <arch/x86.h>
#include <arch/irq.h>

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_HZ 1193182u

static u64 tsc_per_us;

static void pic_init(void) {
  outb(PIC1, 0x11);
  outb(PIC2, 0x11);
  outb(PIC1 + 1, 32); /* IRQ 0-7 -> vectors 32-39 */
  outb(PIC2 + 1, 40); /* IRQ 8-15 -> vectors 40-47 */
  outb(PIC1 + 1, 4);
  outb(PIC2 + 1, 2);
  outb(PIC1 + 1, 1);
  outb(PIC2 + 1, 1);
  outb(PIC1 + 1, 0xfe); /* only the timer until drivers claim IRQs */
  outb(PIC2 + 1, 0xff);
}

static void pic_set_mask(unsigned irq, int masked) {
  u16 port = irq < 8 ? PIC1 + 1 : PIC2 + 1;
  u8 bit = (u8)(1u << (irq & 7)), m = inb(port);
  outb(port, masked ? (m | bit) : (m & ~bit));
  if (irq >= 8 && !masked) /* the cascade line must be open too */
    outb(PIC1 + 1, inb(PIC1 + 1) & ~0x04);
}

void arch_irq_mask(unsigned irq) { pic_set_mask(irq, 1); }
void arch_irq_unmask(unsigned irq) { pic_set_mask(irq, 0); }

/* Asking the PICs costs four port accesses (a VM exit each under KVM):
 * long operations ask every few steps, but the PICs are read at most once
 * per 10 us of TSC time, which bounds the added latency by as much. */
#define PENDING_CHECK_US 10

int arch_irq_pending(void) {
  static u64 checked_at;
  u64 now = rdtsc();
  if (now - checked_at < PENDING_CHECK_US * tsc_per_us)
    return 0;
  checked_at = now;
  outb(PIC1, 0x0a); /* OCW3: the next read gives the request register */
  outb(PIC2, 0x0a);
  u16 irr = (u16)(inb(PIC1) | inb(PIC2) << 8), imr = (u16)(inb(PIC1 + 1) | inb(PIC2 + 1) << 8);
  return (irr & ~imr & ~(1u << 2)) != 0 /* line 2 is the cascade: the slave's own lines tell */
         || lapic_msi_pending();
}

void arch_irq_eoi(unsigned irq) {
  if (irq >= 8)
    outb(PIC2, 0x20);
  outb(PIC1, 0x20);
}

/* Count TSC cycles across 10 ms of PIT channel 2 (gated, no interrupt). */
static void tsc_calibrate(void) {
  u16 count = PIT_HZ / 100;
  outb(0x61, (inb(0x61) & ~0x02) | 0x01);
  outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
  outb(0x42, (u8)count);
  outb(0x42, (u8)(count >> 8));
  u64 t0 = rdtsc();
  while (!(inb(0x61) & 0x20))
    ;
  tsc_per_us = (rdtsc() - t0) / 10000;
  if (tsc_per_us == 0)
    tsc_per_us = 1;
}

void arch_timer_init(unsigned hz) {
  pic_init();
  lapic_init();
  tsc_calibrate();
  u16 div = (u16)(PIT_HZ / hz);
  outb(0x43, 0x34); /* channel 0, rate generator */
  outb(0x40, (u8)div);
  outb(0x40, (u8)(div >> 8));
}

u64 arch_tsc_per_us(void) { return tsc_per_us; }
