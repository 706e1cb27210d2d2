/* PCI configuration space through the legacy 0xCF8/0xCFC ports, for the
 * user-space drivers (they hold an I/O port capability for those ports). */
#ifndef USER_PCI_H
#define USER_PCI_H

#include <lib/types.h>

struct pci_dev {
  u8 bus, dev, fn;
  u16 vendor, device;
  u8 irq_line;
};

/* Calls found() for each function on bus 0; stops when it returns nonzero. */
int pci_scan(cptr_t ports, int (*found)(const struct pci_dev *d, void *ctx), void *ctx);
u32 pci_read32(cptr_t ports, const struct pci_dev *d, u8 off);
void pci_write32(cptr_t ports, const struct pci_dev *d, u8 off, u32 v);
u8 pci_read8(cptr_t ports, const struct pci_dev *d, u8 off);
u16 pci_read16(cptr_t ports, const struct pci_dev *d, u8 off);
/* Physical address of memory BAR i (64-bit BARs included), 0 if not memory. */
u64 pci_bar_address(cptr_t ports, const struct pci_dev *d, unsigned i);
/* Size in bytes of memory BAR i (a power of two), 0 if none or I/O. */
u64 pci_bar_size(cptr_t ports, const struct pci_dev *d, unsigned i);

#endif
