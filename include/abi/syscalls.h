/* System-call numbers and argument conventions.
 *
 * `syscall` with the number in rax and up to six arguments in rdi, rsi, rdx,
 * r10, r8, r9. The error code (enum k_error) returns in rax; a second result,
 * where a call has one, returns in rdx. Capability arguments are slot indices
 * in the calling thread's root CNode; "cnode, slot" pairs name a slot in the
 * CNode that `cnode` designates. */
#ifndef ABI_SYSCALLS_H
#define ABI_SYSCALLS_H

#include "types.h"

/* X(name, argument list as documentation) */
#define K_SYSCALLS(X)                                                      \
  X(DEBUG_PUTS, "uaddr str, k_u64 len")                                          \
  X(YIELD, "")                                                                 \
  X(THREAD_EXIT, "")                                                           \
  X(UNTYPED_RETYPE, "ut, type | size_bits<<8, dest_cnode, dest_slot, count, label") \
  X(UNTYPED_USAGE, "ut, uaddr struct k_untyped_usage *out, flags")               \
  X(CAP_IDENTIFY, "cnode, slot, uaddr struct k_cap_info *out")                   \
  X(CNODE_COPY, "dest_cnode, dest_slot, src_cnode, src_slot, rights")          \
  X(CNODE_MINT, "dest_cnode, dest_slot, src_cnode, src_slot, rights, badge")   \
  X(CNODE_MOVE, "dest_cnode, dest_slot, src_cnode, src_slot")                  \
  X(CNODE_DELETE, "cnode, slot")                                               \
  X(CNODE_REVOKE, "cnode, slot")                                               \
  X(TCB_CONFIGURE, "tcb, cspace_cnode, vspace, priority")                      \
  X(TCB_WRITE_REGS, "tcb, rip, rsp, rdi")                                      \
  X(TCB_RESUME, "tcb")                                                         \
  X(TCB_SUSPEND, "tcb")                                                        \
  X(TCB_INFO, "tcb, uaddr struct k_tcb_info *out")                               \
  X(PAGE_TABLE_MAP, "table, vspace, vaddr")                                    \
  X(PAGE_TABLE_UNMAP, "table")                                                 \
  X(FRAME_MAP, "frame, vspace, vaddr, attr")                                   \
  X(FRAME_UNMAP, "frame")                                                      \
  X(IOPORT_IN, "ioports, port, width -> value in rdx")                        \
  X(IOPORT_OUT, "ioports, port, width, value")                                 \
  X(TIME, "-> nanoseconds since boot in rdx")                                 \
  X(SEND, "ep, info, w0, w1, w2, w3")                                          \
  X(NBSEND, "ep, info, w0, w1, w2, w3")                                        \
  X(CALL, "ep, info, w0, w1, w2, w3 -> badge in rdi, info in rsi, words")      \
  X(RECV, "ep -> badge in rdi, info in rsi, words in rdx, r10, r8, r9")        \
  X(NBRECV, "ep -> as RECV")                                                   \
  X(REPLY, "info, w0, w1, w2, w3")                                             \
  X(REPLY_RECV, "ep, info, w0, w1, w2, w3 -> as RECV")                         \
  X(SIGNAL, "ntfn")                                                            \
  X(WAIT, "ntfn -> bits in rdi")                                               \
  X(POLL, "ntfn -> bits in rdi (0: none pending)")                             \
  X(TCB_BIND_NOTIFICATION, "tcb, ntfn (0: unbind)")                            \
  X(TCB_SET_IPC_BUFFER, "tcb, frame (0: none)")                               \
  X(TCB_SET_FAULT_ENDPOINT, "tcb, ep (0: none)")                               \
  X(IRQ_GET, "irq_control, irq, dest_cnode, dest_slot -> for a message-signalled line, the data in rdx")   \
  X(IRQ_SET_NOTIFICATION, "irq_handler, ntfn, bits")                           \
  X(IRQ_ACK, "irq_handler")                                                    \
  X(DMA_PIN, "dma, frame -> physical address in rdx")                        \
  X(DMA_UNPIN, "dma, frame, cnode (0: none), slot -> 1 if the frame moved to slot of cnode") \
  X(REPLY_SAVE, "cnode, slot: the current caller's reply becomes a REPLY capability") \
  X(REPLY_TO, "reply, info, w0, w1, w2, w3: answer a saved caller")           \
  X(NTFN_SET_TIMER, "ntfn, deadline ns since boot (0: disarm), bits to signal then") \
  X(IDLE_TIME, "-> ns the CPU spent halted since boot in rdx (busy = TIME - IDLE_TIME)") \
  X(DMA_PIN_RANGE, "dma, first, count, uaddr k_u64 *phys, uaddr k_u64 *dests (0: none): pins the 4 KiB frames in " \
                   "slots [first, first + count), each moved to root slot dests[i] if given (increasing, empty, " \
                   "count <= K_DMA_PIN_TO_MAX), all or none (then the first bad one's offset in rdx)") \
  X(THREAD_TIME, "-> ns the calling thread has run in rdx (TCB_INFO's cpu_ns, without the copy)") \
  X(CAP_TYPE, "cnode, slot -> the capability's type in rdx (CAP_IDENTIFY's type, without the copy)") \
  X(DEBUG_CHECK_INVARIANTS, "-> capabilities checked in rdx; INVARIANT (and a console line) on a violation; " \
                            "BAD_SYSCALL unless the kernel was built with KERNEL_CHECKS") \
  X(DMA_UNPIN_RANGE, "dma, first, count: unpins the frames (or releases the remnants) in slots [first, first + count), " \
                     "all or none (then the first bad one's offset in rdx)") \
  X(UNTYPED_REPORT, "ut, uaddr struct k_principal_report *out, count -> records ut has in rdx: " \
                    "0 what ut made for itself, then each untyped made from ut (a principal) and all made from it") \
  X(FRAME_COPY, "dst_frame, dst_off, src_frame, src_off, len: copies len (at most 4096) bytes between two frames " \
                "the caller holds (src readable, dst writable), mapping neither")

enum k_syscall {
#define K_SYS_ENUM(name, args) K_SYS_##name,
  K_SYSCALLS(K_SYS_ENUM)
#undef K_SYS_ENUM
  K_SYS_COUNT
};

#define K_DMA_PIN_RANGE_MAX 512 /* frames in one DMA_PIN_RANGE */
#define K_DMA_PIN_TO_MAX 128    /* ... that also moves them (dests) */

/* Interrupt lines: 0-15 are the legacy lines (level, acknowledged with
 * IRQ_ACK); K_IRQ_MSI_FIRST on are message-signalled: a device that
 * writes the data IRQ_GET returned to K_MSI_ADDRESS raises the line; an
 * edge, which needs no IRQ_ACK (it is accepted and does nothing). */
#define K_IRQ_MSI_FIRST 16
#define K_IRQ_MSI_LINES 15
#define K_IRQ_LINES (K_IRQ_MSI_FIRST + K_IRQ_MSI_LINES)
#define K_MSI_ADDRESS 0xfee00000ull

/* UNTYPED_USAGE flags */
#define K_USAGE_RECURSIVE 1u  /* include everything made from child untypeds */

struct k_untyped_usage {
  k_u64 size;        /* bytes in the region */
  k_u64 free;        /* bytes not yet retyped (watermark to end) */
  k_u32 label;       /* principal the region was split off for */
  k_u32 is_device;
  k_u64 count[24];   /* objects by enum k_object_type */
  k_u64 bytes[24];   /* bytes by enum k_object_type */
};

/* UNTYPED_REPORT: one principal. A capability lies in the principal's
 * memory when its slot does (a CNode made from the principal's region).
 * Record 0 (the objects ut made for itself) has only the counts, free and
 * threads. */
#define K_REPORT_MAX_RECORDS 4096
struct k_principal_report {
  k_u32 label;       /* the principal's untyped's label */
  k_u32 is_device;
  k_u64 base, size;  /* its region */
  k_u64 free;        /* bytes not yet retyped, in its untyped and in every untyped made from it */
  k_u64 count[24];   /* objects made from its region by enum k_object_type (untypeds too: their */
  k_u64 bytes[24];   /* bytes are counted again by the objects made from them) */
  k_u64 threads;     /* its live TCBs */
  k_u64 cpu_ns;      /* the time they ran */
  k_u64 lent_frames, lent_bytes;     /* its frames whose capability lies in another's memory (gifted, sent) */
  k_u64 donated, donated_bytes;      /* its untypeds whose capability lies in another's memory (donations) */
  k_u64 pinned_frames, pinned_bytes; /* its frames pinned for DMA, with deleted ones a device may still write */
  k_u64 held_frames, held_bytes;     /* others' frames whose capability lies in its memory */
  k_u64 held_untypeds, held_untyped_bytes; /* others' untypeds in its memory (donations it serves) */
};

struct k_cap_info {
  k_u32 type;        /* enum k_object_type */
  k_u32 rights;
  k_u64 badge;       /* endpoints and notifications */
  k_u64 size;        /* object size in bytes */
  k_u32 label;       /* owner: principal label of the untyped it came from */
  k_u32 mapped;      /* frames and page tables: 1 if this capability is mapped */
  k_u64 mapped_vaddr;
  k_u64 base;        /* ioports: first port; untyped: physical base */
};

enum k_tcb_state {
  K_TCB_INACTIVE,    /* never started, or suspended */
  K_TCB_RUNNABLE,
  K_TCB_BLOCKED,     /* in IPC or waiting on a notification */
  K_TCB_FAULTED,     /* ended by a fault it took in user mode */
  K_TCB_EXITED,
};

struct k_tcb_info {
  k_u32 state;       /* enum k_tcb_state */
  k_u32 priority;
  k_u64 fault_vector;
  k_u64 fault_error;
  k_u64 fault_rip;
  k_u64 fault_addr;  /* CR2 for page faults */
  k_u64 cpu_ns;      /* time it has run: its code, its system calls, interrupts that came meanwhile */
};

#define K_PRIORITY_MAX 255

#endif
