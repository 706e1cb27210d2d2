/* The local APIC: enabled at boot with the 8259s still delivering through
 * LINT0 (virtual wire), it takes message-signalled interrupts: a device
 * writes the vector to K_MSI_ADDRESS. */
#include <arch/cpu.h>
#include <arch/irq.h>
#include <arch/mmu.h>
#include <arch/x86.h>

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_IRR 0x200
#define LAPIC_LINT0 0x350
#define LAPIC_LINT1 0x360
#define LVT_EXTINT 0x700
#define LVT_NMI 0x400
#define SVR_ENABLE 0x100

static volatile u32 *lapic;

static u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static void lapic_write(u32 reg, u32 v) { lapic[reg / 4] = v; }

void lapic_init(void) {
  u64 base = rdmsr(MSR_APIC_BASE);
  wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
  lapic = pa_to_kva(base & ~0xfffull);
  lapic_write(LAPIC_TPR, 0);
  lapic_write(LAPIC_LINT0, LVT_EXTINT); /* the 8259s, as before */
  lapic_write(LAPIC_LINT1, LVT_NMI);
  lapic_write(LAPIC_SVR, SVR_ENABLE | ARCH_SPURIOUS_VECTOR);
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/* Whether a message-signalled interrupt waits (its vector's bit in the
 * request register: vectors 32-63 are the register's second word). */
int lapic_msi_pending(void) {
  u32 irr = lapic_read(LAPIC_IRR + 0x10);
  return ((irr >> (ARCH_MSI_VECTOR_BASE - 32)) & ((1u << K_IRQ_MSI_LINES) - 1)) != 0;
}

u64 arch_msi_data(unsigned line) { return ARCH_MSI_VECTOR_BASE + (line - K_IRQ_MSI_FIRST); }
