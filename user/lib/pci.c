/* PCI configuration access (see pci.h). */
#include <pci.h>
#include <sys.h>

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static void select_reg(cptr_t ports, const struct pci_dev *d, u8 off) {
  u32 a = 0x80000000u | ((u32)d->bus << 16) | ((u32)d->dev << 11) | ((u32)d->fn << 8) | (off & 0xfcu);
  sys_ioport_out(ports, PCI_ADDR, 4, a);
}

u32 pci_read32(cptr_t ports, const struct pci_dev *d, u8 off) {
  select_reg(ports, d, off);
  return (u32)sys_ioport_in(ports, PCI_DATA, 4).val;
}

void pci_write32(cptr_t ports, const struct pci_dev *d, u8 off, u32 v) {
  select_reg(ports, d, off);
  sys_ioport_out(ports, PCI_DATA, 4, v);
}

u8 pci_read8(cptr_t ports, const struct pci_dev *d, u8 off) {
  return (u8)(pci_read32(ports, d, off) >> (8 * (off & 3)));
}

u16 pci_read16(cptr_t ports, const struct pci_dev *d, u8 off) {
  return (u16)(pci_read32(ports, d, off) >> (8 * (off & 2)));
}

u64 pci_bar_address(cptr_t ports, const struct pci_dev *d, unsigned i) {
  u32 lo = pci_read32(ports, d, (u8)(0x10 + 4 * i));
  if (lo & 1)
    return 0; /* an I/O BAR */
  u64 a = lo & ~0xfu;
  if ((lo & 6) == 4 && i < 5)
    a |= (u64)pci_read32(ports, d, (u8)(0x14 + 4 * i)) << 32;
  return a;
}

u64 pci_bar_size(cptr_t ports, const struct pci_dev *d, unsigned i) {
  u8 off = (u8)(0x10 + 4 * i);
  u32 lo = pci_read32(ports, d, off);
  if (lo & 1)
    return 0;
  int wide = (lo & 6) == 4 && i < 5;
  u32 hi = wide ? pci_read32(ports, d, (u8)(off + 4)) : 0;
  u32 cmd = pci_read32(ports, d, 0x04);
  pci_write32(ports, d, 0x04, cmd & ~0x3u); /* no decoding while the BAR holds all ones */
  pci_write32(ports, d, off, 0xffffffffu);
  u64 mask = pci_read32(ports, d, off) & ~0xfull;
  pci_write32(ports, d, off, lo);
  if (wide) {
    pci_write32(ports, d, (u8)(off + 4), 0xffffffffu);
    mask |= (u64)pci_read32(ports, d, (u8)(off + 4)) << 32;
    pci_write32(ports, d, (u8)(off + 4), hi);
  } else if (mask) {
    mask |= 0xffffffff00000000ull;
  }
  pci_write32(ports, d, 0x04, cmd);
  return mask ? ~mask + 1 : 0;
}

int pci_scan(cptr_t ports, int (*found)(const struct pci_dev *d, void *ctx), void *ctx) {
  for (u8 dev = 0; dev < 32; dev++)
    for (u8 fn = 0; fn < 8; fn++) {
      struct pci_dev d = {0, dev, fn, 0, 0, 0};
      u32 id = pci_read32(ports, &d, 0);
      if ((id & 0xffff) == 0xffff) {
        if (fn == 0)
          break;
        continue;
      }
      d.vendor = (u16)id;
      d.device = (u16)(id >> 16);
      d.irq_line = pci_read8(ports, &d, 0x3c);
      int r = found(&d, ctx);
      if (r)
        return r;
      if (fn == 0 && !(pci_read8(ports, &d, 0x0e) & 0x80))
        break; /* not multi-function */
    }
  return 0;
}
