/* virtio 1.x over PCI (see virtio_pci.h). */
#include <virtio_pci.h>
#include <devmem.h>

#define PCI_CAP_PTR 0x34
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX 0x11
#define MSIX_ENABLE (1u << 31)        /* message control bit 15, in the capability's first dword */
#define MSIX_FUNCTION_MASK (1u << 30) /* bit 14 */
#define VIRTIO_MSI_NO_VECTOR 0xffff
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR 3
#define CFG_DEVICE 4

struct region {
  u8 bar;
  u32 offset, length;
};

/* The register blocks, sorted by address: device memory is mapped upward. */
struct found {
  struct region r[5];
  u32 notify_mult;
};

static void read_caps(cptr_t ports, const struct pci_dev *p, struct found *f) {
  u8 off = pci_read8(ports, p, PCI_CAP_PTR) & 0xfc;
  for (int guard = 0; off && guard < 48; guard++) {
    u8 id = pci_read8(ports, p, off), next = pci_read8(ports, p, (u8)(off + 1));
    if (id == PCI_CAP_VENDOR) {
      u8 type = pci_read8(ports, p, (u8)(off + 3));
      if (type >= CFG_COMMON && type <= CFG_DEVICE && f->r[type].length == 0) {
        f->r[type] = (struct region){pci_read8(ports, p, (u8)(off + 4)), pci_read32(ports, p, (u8)(off + 8)),
                                     pci_read32(ports, p, (u8)(off + 12))};
        if (type == CFG_NOTIFY)
          f->notify_mult = pci_read32(ports, p, (u8)(off + 16));
      }
    }
    off = next & 0xfc;
  }
}

static u8 find_cap(cptr_t ports, const struct pci_dev *p, u8 want) {
  u8 off = pci_read8(ports, p, PCI_CAP_PTR) & 0xfc;
  for (int guard = 0; off && guard < 48; guard++) {
    if (pci_read8(ports, p, off) == want)
      return off;
    off = pci_read8(ports, p, (u8)(off + 1)) & 0xfc;
  }
  return 0;
}

/* Maps `length` bytes of device memory at physical `addr` at the next
 * address ve hands out. */
static long map_device(struct virtio_env *ve, u64 addr, u32 length, void **va) {
  cptr_t ut;
  long err = devmem_find(ve->e, ve->device_first, ve->device_count, addr, length, &ut);
  if (!err)
    err = devmem_map(ve->e, ut, addr, length, ve->map_vaddr, va);
  if (!err)
    ve->map_vaddr += ((length + (addr & (K_PAGE_SIZE - 1)) + K_PAGE_SIZE - 1) & ~(K_PAGE_SIZE - 1)) + K_PAGE_SIZE;
  return err;
}

long virtio_attach(struct virtio_env *ve, const struct pci_dev *p, struct virtio_dev *d) {
  struct found f = {0};
  read_caps(ve->ports, p, &f);
  for (int t = CFG_COMMON; t <= CFG_DEVICE; t++)
    if (!f.r[t].length || f.r[t].bar > 5)
      return K_ERR_RANGE; /* not a virtio 1.x device */
  /* Enable memory decoding and bus mastering. */
  pci_write32(ve->ports, p, 0x04, pci_read32(ve->ports, p, 0x04) | 0x6);
  u64 addr[5];
  int order[4] = {CFG_COMMON, CFG_NOTIFY, CFG_ISR, CFG_DEVICE};
  for (int i = 0; i < 4; i++) {
    int t = order[i];
    addr[t] = pci_bar_address(ve->ports, p, f.r[t].bar) + f.r[t].offset;
  }
  for (int i = 1; i < 4; i++) /* insertion sort by address */
    for (int j = i; j > 0 && addr[order[j]] < addr[order[j - 1]]; j--) {
      int x = order[j];
      order[j] = order[j - 1];
      order[j - 1] = x;
    }
  void *va[5];
  for (int i = 0; i < 4; i++) {
    int t = order[i];
    u64 page = addr[t] & ~(K_PAGE_SIZE - 1);
    int shared = i > 0 && page < ((addr[order[i - 1]] + f.r[order[i - 1]].length + K_PAGE_SIZE - 1) & ~(K_PAGE_SIZE - 1));
    if (shared) { /* same page as the previous block: already mapped */
      va[t] = (u8 *)va[order[i - 1]] + (addr[t] - addr[order[i - 1]]);
      continue;
    }
    long err = map_device(ve, addr[t], f.r[t].length, &va[t]);
    if (err)
      return err;
  }
  *d = (struct virtio_dev){.pci = *p, .common = (volatile struct virtio_common_cfg *)va[CFG_COMMON],
                           .notify_base = (volatile u8 *)va[CFG_NOTIFY], .notify_mult = f.notify_mult,
                           .isr = (volatile u8 *)va[CFG_ISR], .device_cfg = (volatile u8 *)va[CFG_DEVICE]};
  return K_ERR_OK;
}

long virtio_negotiate(struct virtio_dev *d, u64 required, u64 optional) {
  d->common->device_status = 0; /* reset */
  while (d->common->device_status)
    ;
  d->common->device_status = VIRTIO_STATUS_ACK;
  d->common->device_status = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER;
  d->common->device_feature_select = 1;
  u64 offered = (u64)d->common->device_feature << 32;
  d->common->device_feature_select = 0;
  offered |= d->common->device_feature;
  u64 want = (1ull << VIRTIO_F_VERSION_1) | required;
  if ((offered & want) != want)
    return K_ERR_RANGE;
  want |= offered & optional;
  d->features = want;
  d->common->driver_feature_select = 0;
  d->common->driver_feature = (u32)want;
  d->common->driver_feature_select = 1;
  d->common->driver_feature = (u32)(want >> 32);
  d->common->device_status = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
  if (!(d->common->device_status & VIRTIO_STATUS_FEATURES_OK))
    return K_ERR_BAD_STATE;
  return K_ERR_OK;
}

long virtio_queue(struct virtio_env *ve, struct virtio_dev *d, u16 index, struct virtq *q) {
  u64 va, phys;
  long err = env_pinned_page(ve->e, ve->dma, &va, &phys);
  if (err)
    return err;
  d->common->queue_select = index;
  if (d->common->queue_size < VIRTQ_SIZE)
    return K_ERR_RANGE;
  d->common->queue_size = VIRTQ_SIZE;
  virtq_init(q, (void *)va, phys);
  d->common->queue_desc = phys + VIRTQ_DESC_OFF;
  d->common->queue_driver = phys + VIRTQ_AVAIL_OFF;
  d->common->queue_device = phys + VIRTQ_USED_OFF;
  d->common->queue_msix_vector = d->msix ? 0 : VIRTIO_MSI_NO_VECTOR;
  if (d->msix && d->common->queue_msix_vector != 0)
    return K_ERR_RANGE; /* the device would not take the vector */
  d->common->queue_enable = 1;
  if (index < VIRTIO_MAX_QUEUES)
    d->notify[index] = (volatile u16 *)(d->notify_base + (u64)d->common->queue_notify_off * d->notify_mult);
  return K_ERR_OK;
}

long virtio_msix(struct virtio_env *ve, struct virtio_dev *d, u64 data) {
  const struct pci_dev *p = &d->pci;
  u8 cap = find_cap(ve->ports, p, PCI_CAP_MSIX);
  if (!cap)
    return K_ERR_RANGE;
  u32 table = pci_read32(ve->ports, p, (u8)(cap + 4));
  u64 bar = (table & 7) <= 5 ? pci_bar_address(ve->ports, p, table & 7) : 0;
  void *va;
  long err = bar ? map_device(ve, bar + (table & ~7u), 16, &va) : K_ERR_RANGE;
  if (err)
    return err;
  volatile u32 *entry = va; /* table entry 0: address, data, control (0: not masked) */
  entry[0] = (u32)K_MSI_ADDRESS;
  entry[1] = (u32)(K_MSI_ADDRESS >> 32);
  entry[2] = (u32)data;
  entry[3] = 0;
  u32 ctl = pci_read32(ve->ports, p, cap);
  pci_write32(ve->ports, p, cap, (ctl & ~MSIX_FUNCTION_MASK) | MSIX_ENABLE);
  d->common->msix_config = VIRTIO_MSI_NO_VECTOR; /* no interrupt for configuration changes */
  d->msix = 1;
  return K_ERR_OK;
}

void virtio_ready(struct virtio_dev *d) {
  d->common->device_status = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                             VIRTIO_STATUS_DRIVER_OK;
}

void virtio_kick(struct virtio_dev *d, u16 index) {
  if (index < VIRTIO_MAX_QUEUES && d->notify[index]) {
    *d->notify[index] = index;
    return;
  }
  d->common->queue_select = index;
  u16 off = d->common->queue_notify_off;
  *(volatile u16 *)(d->notify_base + (u64)off * d->notify_mult) = index;
}
