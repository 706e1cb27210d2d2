/* Kernel object types, capability rights and fixed object sizes. */
#ifndef ABI_OBJECTS_H
#define ABI_OBJECTS_H

/* X(name, size in bytes or 0 if the caller gives size_bits) */
#define K_OBJECT_TYPES(X)                                                  \
  X(NULL, 0)                                                                   \
  X(UNTYPED, 0)                                                                \
  X(CNODE, 0)                                                                  \
  X(TCB, 1024)                                                                 \
  X(ENDPOINT, 64)                                                              \
  X(NOTIFICATION, 64)                                                          \
  X(VSPACE, 8192)                                                              \
  X(PDPT, 8192)                                                                \
  X(PD, 8192)                                                                  \
  X(PT, 8192)                                                                  \
  X(FRAME_4K, 4096)                                                            \
  X(FRAME_2M, 2097152)                                                         \
  X(IOPORTS, 0)                                                                \
  X(IRQ_CONTROL, 0)                                                            \
  X(IRQ_HANDLER, 0)                                                            \
  X(DMA, 0)                                                                    \
  X(PINNED_FRAME, 0)                                                           \
  X(REPLY, 0)                                                                  \
  X(ZOMBIE, 0)

/* REPLY: a saved right to answer one caller (REPLY_SAVE, REPLY_TO).
 * ZOMBIE: the last capability to a CNode or TCB being destroyed, while the
 * capabilities it held are deleted; deleting or revoking it finishes that
 * work (a long delete may be interrupted and restarted).
 * PINNED_FRAME: what is left of a frame that was deleted while pinned for
 * DMA; it keeps its memory from reuse until unpinned (see mm/dma.c). */
enum k_object_type {
#define K_OBJ_ENUM(name, size) K_OBJ_##name,
  K_OBJECT_TYPES(K_OBJ_ENUM)
#undef K_OBJ_ENUM
  K_OBJ_TYPE_COUNT
};

/* A CNode slot is 64 bytes (capability + derivation links); slot 0 of every
 * CNode is reserved by the kernel, so capability address 0 is always null. */
#define K_CNODE_SLOT_BITS 6
#define K_CNODE_MIN_BITS 1
#define K_CNODE_MAX_BITS 16
#define K_UNTYPED_MIN_BITS 12
#define K_UNTYPED_MAX_BITS 40
#define K_RETYPE_MAX_COUNT 4096
/* The most memory one retype zeroes (the kernel does it with interrupts
 * off): 8 large frames, 4096 small ones, the largest CNode. */
#define K_RETYPE_MAX_ZEROED (16ull << 20)

/* Rights on a capability. Copy and mint can only remove rights. */
#define K_RIGHT_READ 1u
#define K_RIGHT_WRITE 2u
#define K_RIGHT_GRANT 4u
#define K_RIGHTS_ALL (K_RIGHT_READ | K_RIGHT_WRITE | K_RIGHT_GRANT)

/* Page table levels as they appear in error codes and in cap_info. */
#define K_VS_LEVEL_PDPT 3
#define K_VS_LEVEL_PD 2
#define K_VS_LEVEL_PT 1

/* Frame mapping attributes (frame_map's attr argument). */
#define K_MAP_WRITE 1u
#define K_MAP_EXEC 2u

/* User space is the lower canonical half minus the top page. */
#define K_USER_VADDR_END 0x00007ffffffff000ull

#define K_PAGE_SIZE 4096ull
#define K_LARGE_PAGE_SIZE 0x200000ull

#endif
