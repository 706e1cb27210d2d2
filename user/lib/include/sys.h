/* System-call stubs: one typed inline wrapper per call in abi/syscalls.h. */
#ifndef USER_SYS_H
#define USER_SYS_H

#include <lib/types.h>
#include <abi/errors.h>
#include <abi/objects.h>
#include <abi/syscalls.h>
#include <abi/ipc.h>

struct sysret {
  long err;
  u64 val;
};

static inline struct sysret syscall6(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) {
  register u64 r10 __asm__("r10") = a3;
  register u64 r8 __asm__("r8") = a4;
  register u64 r9 __asm__("r9") = a5;
  __asm__ volatile("syscall"
                   : "+a"(nr), "+d"(a2)
                   : "D"(a0), "S"(a1), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return (struct sysret){(long)nr, a2};
}

#define SC(nr, a0, a1, a2, a3, a4, a5) syscall6(nr, a0, a1, a2, a3, a4, a5).err

static inline long sys_debug_puts(const char *s, u64 len) {
  return SC(K_SYS_DEBUG_PUTS, (u64)s, len, 0, 0, 0, 0);
}
static inline long sys_yield(void) { return SC(K_SYS_YIELD, 0, 0, 0, 0, 0, 0); }
static inline long sys_thread_exit(void) { return SC(K_SYS_THREAD_EXIT, 0, 0, 0, 0, 0, 0); }
static inline long sys_retype(cptr_t ut, u32 type, u32 size_bits, cptr_t dest_cnode, u64 slot,
                              u64 count, u32 label) {
  return SC(K_SYS_UNTYPED_RETYPE, ut, type | (size_bits << 8), dest_cnode, slot, count, label);
}
static inline long sys_untyped_usage(cptr_t ut, struct k_untyped_usage *out, u32 flags) {
  return SC(K_SYS_UNTYPED_USAGE, ut, (u64)out, flags, 0, 0, 0);
}
/* The principals of ut (see UNTYPED_REPORT); val: how many records ut has. */
static inline struct sysret sys_untyped_report(cptr_t ut, struct k_principal_report *out, u32 count) {
  return syscall6(K_SYS_UNTYPED_REPORT, ut, (u64)out, count, 0, 0, 0);
}
/* The type of the capability in a slot (K_OBJ_NULL if empty), in val. */
static inline struct sysret sys_cap_type(cptr_t cnode, u64 slot) { return syscall6(K_SYS_CAP_TYPE, cnode, slot, 0, 0, 0, 0); }
static inline long sys_cap_identify(cptr_t cnode, u64 slot, struct k_cap_info *out) {
  return SC(K_SYS_CAP_IDENTIFY, cnode, slot, (u64)out, 0, 0, 0);
}
static inline long sys_cnode_copy(cptr_t dcn, u64 ds, cptr_t scn, u64 ss, u32 rights) {
  return SC(K_SYS_CNODE_COPY, dcn, ds, scn, ss, rights, 0);
}
static inline long sys_cnode_mint(cptr_t dcn, u64 ds, cptr_t scn, u64 ss, u32 rights, u64 badge) {
  return SC(K_SYS_CNODE_MINT, dcn, ds, scn, ss, rights, badge);
}
static inline long sys_cnode_move(cptr_t dcn, u64 ds, cptr_t scn, u64 ss) {
  return SC(K_SYS_CNODE_MOVE, dcn, ds, scn, ss, 0, 0);
}
static inline long sys_cnode_delete(cptr_t cn, u64 slot) {
  return SC(K_SYS_CNODE_DELETE, cn, slot, 0, 0, 0, 0);
}
static inline long sys_cnode_revoke(cptr_t cn, u64 slot) {
  return SC(K_SYS_CNODE_REVOKE, cn, slot, 0, 0, 0, 0);
}
static inline long sys_tcb_configure(cptr_t tcb, cptr_t cspace, cptr_t vspace, u64 prio) {
  return SC(K_SYS_TCB_CONFIGURE, tcb, cspace, vspace, prio, 0, 0);
}
static inline long sys_tcb_write_regs(cptr_t tcb, u64 rip, u64 rsp, u64 rdi) {
  return SC(K_SYS_TCB_WRITE_REGS, tcb, rip, rsp, rdi, 0, 0);
}
static inline long sys_tcb_resume(cptr_t tcb) { return SC(K_SYS_TCB_RESUME, tcb, 0, 0, 0, 0, 0); }
static inline long sys_tcb_suspend(cptr_t tcb) { return SC(K_SYS_TCB_SUSPEND, tcb, 0, 0, 0, 0, 0); }
static inline long sys_tcb_info(cptr_t tcb, struct k_tcb_info *out) {
  return SC(K_SYS_TCB_INFO, tcb, (u64)out, 0, 0, 0, 0);
}
static inline long sys_page_table_map(cptr_t table, cptr_t vspace, u64 vaddr) {
  return SC(K_SYS_PAGE_TABLE_MAP, table, vspace, vaddr, 0, 0, 0);
}
static inline long sys_page_table_unmap(cptr_t table) {
  return SC(K_SYS_PAGE_TABLE_UNMAP, table, 0, 0, 0, 0, 0);
}
static inline long sys_frame_map(cptr_t frame, cptr_t vspace, u64 vaddr, u32 attr) {
  return SC(K_SYS_FRAME_MAP, frame, vspace, vaddr, attr, 0, 0);
}
static inline long sys_frame_unmap(cptr_t frame) { return SC(K_SYS_FRAME_UNMAP, frame, 0, 0, 0, 0, 0); }
/* len bytes (at most 4096) from src at src_off to dst at dst_off, by the kernel: neither is mapped. */
static inline long sys_frame_copy(cptr_t dst, u64 dst_off, cptr_t src, u64 src_off, u64 len) {
  return SC(K_SYS_FRAME_COPY, dst, dst_off, src, src_off, len, 0);
}
static inline struct sysret sys_ioport_in(cptr_t io, u64 port, u64 width) {
  return syscall6(K_SYS_IOPORT_IN, io, port, width, 0, 0, 0);
}
static inline long sys_ioport_out(cptr_t io, u64 port, u64 width, u64 value) {
  return SC(K_SYS_IOPORT_OUT, io, port, width, value, 0, 0);
}
static inline u64 sys_time_ns(void) { return syscall6(K_SYS_TIME, 0, 0, 0, 0, 0, 0).val; }
static inline u64 sys_idle_ns(void) { return syscall6(K_SYS_IDLE_TIME, 0, 0, 0, 0, 0, 0).val; }
/* Time the calling thread has run (a system call, but no copy-out). */
static inline u64 sys_thread_ns(void) { return syscall6(K_SYS_THREAD_TIME, 0, 0, 0, 0, 0, 0).val; }

/* ---- IPC: words travel in rdx, r10, r8, r9; info in rsi; badge in rdi ---- */

struct msg_regs {
  long err;
  u64 badge;
  u64 info;
  u64 w[K_IPC_REG_WORDS];
};

static inline struct msg_regs ipc_syscall(u64 nr, u64 a0, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  register u64 r10 __asm__("r10") = w1;
  register u64 r8 __asm__("r8") = w2;
  register u64 r9 __asm__("r9") = w3;
  u64 rdi = a0, rsi = info, rdx = w0;
  __asm__ volatile("syscall"
                   : "+a"(nr), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                   :
                   : "rcx", "r11", "memory");
  return (struct msg_regs){(long)nr, rdi, rsi, {rdx, r10, r8, r9}};
}

static inline long sys_send(cptr_t ep, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_SEND, ep, info, w0, w1, w2, w3).err;
}
static inline long sys_nbsend(cptr_t ep, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_NBSEND, ep, info, w0, w1, w2, w3).err;
}
static inline struct msg_regs sys_call(cptr_t ep, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_CALL, ep, info, w0, w1, w2, w3);
}
static inline struct msg_regs sys_recv(cptr_t ep) { return ipc_syscall(K_SYS_RECV, ep, 0, 0, 0, 0, 0); }
static inline struct msg_regs sys_nbrecv(cptr_t ep) { return ipc_syscall(K_SYS_NBRECV, ep, 0, 0, 0, 0, 0); }
static inline long sys_reply(u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_REPLY, 0, info, w0, w1, w2, w3).err;
}
static inline struct msg_regs sys_reply_recv(cptr_t ep, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_REPLY_RECV, ep, info, w0, w1, w2, w3);
}
static inline long sys_signal(cptr_t n) { return SC(K_SYS_SIGNAL, n, 0, 0, 0, 0, 0); }
static inline struct msg_regs sys_wait(cptr_t n) { return ipc_syscall(K_SYS_WAIT, n, 0, 0, 0, 0, 0); }
static inline struct msg_regs sys_poll(cptr_t n) { return ipc_syscall(K_SYS_POLL, n, 0, 0, 0, 0, 0); }
static inline long sys_tcb_bind_notification(cptr_t tcb, cptr_t n) {
  return SC(K_SYS_TCB_BIND_NOTIFICATION, tcb, n, 0, 0, 0, 0);
}
static inline long sys_tcb_set_ipc_buffer(cptr_t tcb, cptr_t frame) {
  return SC(K_SYS_TCB_SET_IPC_BUFFER, tcb, frame, 0, 0, 0, 0);
}
static inline long sys_tcb_set_fault_endpoint(cptr_t tcb, cptr_t ep) {
  return SC(K_SYS_TCB_SET_FAULT_ENDPOINT, tcb, ep, 0, 0, 0, 0);
}
static inline long sys_irq_get(cptr_t ctl, u64 irq, cptr_t cnode, u64 slot) {
  return SC(K_SYS_IRQ_GET, ctl, irq, cnode, slot, 0, 0);
}
/* The same, with a message-signalled line's data (IRQ_GET's second result). */
static inline struct sysret sys_irq_get_msi(cptr_t ctl, u64 irq, cptr_t cnode, u64 slot) {
  return syscall6(K_SYS_IRQ_GET, ctl, irq, cnode, slot, 0, 0);
}
static inline long sys_irq_set_notification(cptr_t h, cptr_t n, u64 bits) {
  return SC(K_SYS_IRQ_SET_NOTIFICATION, h, n, bits, 0, 0, 0);
}
static inline long sys_irq_ack(cptr_t h) { return SC(K_SYS_IRQ_ACK, h, 0, 0, 0, 0, 0); }
static inline struct sysret sys_dma_pin(cptr_t dma, cptr_t frame) {
  return syscall6(K_SYS_DMA_PIN, dma, frame, 0, 0, 0, 0);
}
/* Pins the 4 KiB frames in slots [first, first + count) and writes their
 * physical addresses to phys[]; on an error none is pinned and val is the
 * offset of the first bad slot. */
static inline struct sysret sys_dma_pin_range(cptr_t dma, cptr_t first, u64 count, u64 *phys) {
  return syscall6(K_SYS_DMA_PIN_RANGE, dma, first, count, (u64)phys, 0, 0);
}
/* The same, and frame i moves to root slot dests[i] (increasing, empty;
 * count <= K_DMA_PIN_TO_MAX): all or none. */
static inline struct sysret sys_dma_pin_range_to(cptr_t dma, cptr_t first, u64 count, u64 *phys, const u64 *dests) {
  return syscall6(K_SYS_DMA_PIN_RANGE, dma, first, count, (u64)phys, (u64)dests, 0);
}
static inline long sys_dma_unpin(cptr_t dma, cptr_t frame) { return SC(K_SYS_DMA_UNPIN, dma, frame, 0, 0, 0, 0); }
/* Unpins frame and moves it to slot of cnode in one call; .val 0: it was a
 * pinned remain, released, and moved nowhere. */
static inline struct sysret sys_dma_unpin_to(cptr_t dma, cptr_t frame, cptr_t cnode, u64 slot) {
  return syscall6(K_SYS_DMA_UNPIN, dma, frame, cnode, slot, 0, 0);
}
static inline struct sysret sys_dma_unpin_range(cptr_t dma, cptr_t first, u64 count) {
  return syscall6(K_SYS_DMA_UNPIN_RANGE, dma, first, count, 0, 0, 0);
}

static inline long sys_ntfn_set_timer(cptr_t n, u64 deadline_ns, u64 bits) {
  return SC(K_SYS_NTFN_SET_TIMER, n, deadline_ns, bits, 0, 0, 0);
}
static inline long sys_reply_save(cptr_t cnode, u64 slot) { return SC(K_SYS_REPLY_SAVE, cnode, slot, 0, 0, 0, 0); }
static inline long sys_reply_to(cptr_t reply, u64 info, u64 w0, u64 w1, u64 w2, u64 w3) {
  return ipc_syscall(K_SYS_REPLY_TO, reply, info, w0, w1, w2, w3).err;
}

#undef SC

/* Name of an error code, for messages. */
const char *err_name(long err);
/* Name of an object type. */
const char *obj_type_name(u32 type);

#endif
