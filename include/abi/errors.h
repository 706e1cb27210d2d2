/* Error codes returned by every system call, with their names and meanings.
 * One list yields the enum and the strings (X-macro), so user space and the
 * kernel print the same words for the same code. */
#ifndef ABI_ERRORS_H
#define ABI_ERRORS_H

#define K_ERRORS(X)                                                        \
  X(OK, "success")                                                             \
  X(BAD_SYSCALL, "no such system call")                                        \
  X(INVALID_CAP, "capability address is outside the CNode")                    \
  X(EMPTY_SLOT, "slot holds no capability")                                    \
  X(WRONG_TYPE, "capability names an object of the wrong type")                \
  X(NO_RIGHTS, "capability lacks a required right")                            \
  X(SLOT_OCCUPIED, "destination slot is not empty")                            \
  X(RANGE, "argument out of range")                                            \
  X(ALIGNMENT, "address or size is not aligned")                               \
  X(BAD_ADDRESS, "address is not canonical or not in user space")              \
  X(NO_MEMORY, "untyped has not enough free memory")                           \
  X(DEVICE_MEMORY, "object type cannot be made from device memory")           \
  X(ALREADY_MAPPED, "capability is already mapped; copy it to map again")     \
  X(NOT_MAPPED, "capability is not mapped")                                    \
  X(MAPPING_EXISTS, "a mapping already exists at that address")               \
  X(MISSING_PDPT, "no page-directory-pointer table (level 3) maps that address") \
  X(MISSING_PD, "no page directory (level 2) maps that address")              \
  X(MISSING_PT, "no page table (level 1) maps that address")                  \
  X(CANNOT_DERIVE, "capability of this type cannot be copied")                \
  X(NOT_CONFIGURED, "thread has no address space or capability space")       \
  X(SAME_SLOT, "source and destination are the same slot")                    \
  X(BAD_STATE, "object is not in a state that allows the operation")         \
  X(FAULT_ADDRESS, "user buffer is not mapped with the needed access")       \
  X(WOULD_BLOCK, "no partner is waiting and the call does not block")         \
  X(PEER_DIED, "the partner thread or endpoint went away")                    \
  X(NO_CALLER, "there is no call to reply to")                                \
  X(NO_IPC_BUFFER, "the message needs an IPC buffer and the thread has none") \
  X(MESSAGE_TOO_LONG, "more words, capabilities or gifts than a message holds") \
  X(GIFT_NOT_FRAME, "a gift is not a frame capability")                       \
  X(GIFT_HAS_COPIES, "a gifted frame has other capabilities")                 \
  X(GIFT_MAPPED_ELSEWHERE, "a gifted frame is mapped through another capability") \
  X(GIFT_PINNED, "a gifted frame is pinned for DMA")                          \
  X(GIFT_DUPLICATE, "the same frame appears twice in one gift")               \
  X(RECV_SLOTS_FULL, "the receiver's slots are too few or not empty")         \
  X(WINDOW_NO_TABLES, "the receive window lacks page tables")                 \
  X(WINDOW_OCCUPIED, "the receive window overlaps an existing mapping")       \
  X(WINDOW_TOO_SMALL, "the receive window is too small for the gifts")        \
  X(PINNED, "the frame is pinned for DMA")                                    \
  X(NOT_PINNED, "the frame is not pinned")                                    \
  X(IRQ_IN_USE, "the IRQ already has a handler")                             \
  X(CANCELLED, "the blocked call was cancelled by a suspend")                 \
  X(IO, "the device reported an error")                                      \
  X(NAMED_TWICE, "a message names a capability that moves (a gift or an untyped) a second time") \
  X(INVARIANT, "the kernel's invariant checker found a violation")          \
  X(PIN_OUTSIDE_ROOT, "a pinned frame may sit only in the root CNode of whoever pins it")

enum k_error {
#define K_ERR_ENUM(name, text) K_ERR_##name,
  K_ERRORS(K_ERR_ENUM)
#undef K_ERR_ENUM
  K_ERR_COUNT
};

#endif
