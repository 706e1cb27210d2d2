/* The virtio 1.x PCI transport (virtio spec section 4.1): find the
 * configuration structures through the vendor capabilities, map them from
 * device memory, negotiate features and set up queues. */
#ifndef USER_VIRTIO_PCI_H
#define USER_VIRTIO_PCI_H

#include <env.h>
#include <pci.h>
#include <virtq.h>

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED 128
#define VIRTIO_F_VERSION_1 32

struct virtio_common_cfg {
  u32 device_feature_select;
  u32 device_feature;
  u32 driver_feature_select;
  u32 driver_feature;
  u16 msix_config;
  u16 num_queues;
  u8 device_status;
  u8 config_generation;
  u16 queue_select;
  u16 queue_size;
  u16 queue_msix_vector;
  u16 queue_enable;
  u16 queue_notify_off;
  u64 queue_desc;
  u64 queue_driver;
  u64 queue_device;
};

#define VIRTIO_MAX_QUEUES 2
struct virtio_dev {
  struct pci_dev pci;
  volatile struct virtio_common_cfg *common;
  volatile u8 *notify_base;
  u32 notify_mult;
  volatile u16 *notify[VIRTIO_MAX_QUEUES]; /* each queue's notify address, found once */
  volatile u8 *isr;
  volatile u8 *device_cfg;
  u8 msix; /* its queues interrupt through MSI-X entry 0 (then the ISR is not used) */
  u64 features; /* what was negotiated */
};

/* What the transport needs from the driver's environment. */
struct virtio_env {
  struct env *e;
  cptr_t ports;          /* PCI configuration ports */
  cptr_t device_first;   /* untypeds covering the device's BARs: */
  unsigned device_count; /* slots [device_first, + device_count) */
  cptr_t dma;            /* to pin the queue pages */
  u64 map_vaddr;         /* where the register blocks are mapped */
};

/* Maps the structures of a device whose PCI function was found. */
long virtio_attach(struct virtio_env *ve, const struct pci_dev *pci, struct virtio_dev *d);
/* Reset, acknowledge, and accept VIRTIO_F_VERSION_1 and `required` (RANGE
 * when the device lacks one), and of `optional` what the device offers;
 * d->features says what was accepted. */
long virtio_negotiate(struct virtio_dev *d, u64 required, u64 optional);
/* Message-signalled interrupts: MSI-X entry 0 writes `data` (IRQ_GET's
 * for a line of K_IRQ_MSI_FIRST on) to K_MSI_ADDRESS, and every queue set
 * up after this uses it. Between virtio_negotiate and virtio_queue; RANGE
 * when the device has no MSI-X. */
long virtio_msix(struct virtio_env *ve, struct virtio_dev *d, u64 data);
/* Queue `index` in a fresh page of the driver's memory, pinned for DMA. */
long virtio_queue(struct virtio_env *ve, struct virtio_dev *d, u16 index, struct virtq *q);
void virtio_ready(struct virtio_dev *d);
/* Tells the device queue `index` has new buffers: one register write. */
void virtio_kick(struct virtio_dev *d, u16 index);

#endif
