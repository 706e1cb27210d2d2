/* Messages: the info word, the IPC buffer, gifts.
 *
 * A message is up to K_IPC_MAX_WORDS words; the first K_IPC_REG_WORDS travel in
 * registers (rdx, r10, r8, r9), the rest in the IPC buffers of sender and
 * receiver. It may carry capabilities (copied to the receiver; the endpoint
 * capability needs the grant right) and gifts: frames that leave the sender.
 *
 * Gifts name slots of the sender's root CNode, or (gift_cnode: the root
 * slot of a CNode it may write) of one CNode one level down: a server
 * keeps a client's frames in a CNode made from the client's memory and
 * hands them back from there.
 *
 * Gifts are validated as a batch before anything moves; a failed gift moves
 * nothing and puts the index of the first bad entry in the sender's
 * gift_error_index. A gifted frame must be the only capability to its frame
 * and not pinned. The kernel unmaps it from the sender (TLB entry
 * invalidated) and moves the capability into the receiver's slots
 * recv_slot + caps + i; if the receiver named a window, it maps the frames
 * there in order (each aligned to its size), with the page tables the
 * receiver already provided. The kernel allocates nothing for this. */
#ifndef ABI_IPC_H
#define ABI_IPC_H

#include "types.h"

#define K_IPC_REG_WORDS 4
#define K_IPC_MAX_WORDS 64
#define K_IPC_MAX_CAPS 4
#define K_IPC_MAX_GIFTS 512

/* info word: label in bits 32-63, counts below */
#define K_MSG_WORDS_SHIFT 0
#define K_MSG_CAPS_SHIFT 8
#define K_MSG_GIFTS_SHIFT 12
#define K_MSG_WORDS_MASK 0x7full
#define K_MSG_CAPS_MASK 0x7ull
#define K_MSG_GIFTS_MASK 0x3ffull

static inline k_u64 k_msg_info(k_u32 label, k_u64 words, k_u64 caps, k_u64 gifts) {
  return ((k_u64)label << 32) | (words << K_MSG_WORDS_SHIFT) | (caps << K_MSG_CAPS_SHIFT) |
         (gifts << K_MSG_GIFTS_SHIFT);
}
static inline k_u32 k_msg_label(k_u64 info) { return (k_u32)(info >> 32); }
static inline k_u64 k_msg_words(k_u64 info) { return (info >> K_MSG_WORDS_SHIFT) & K_MSG_WORDS_MASK; }
static inline k_u64 k_msg_caps(k_u64 info) { return (info >> K_MSG_CAPS_SHIFT) & K_MSG_CAPS_MASK; }
static inline k_u64 k_msg_gifts(k_u64 info) { return (info >> K_MSG_GIFTS_SHIFT) & K_MSG_GIFTS_MASK; }

/* Labels the kernel uses for messages it makes; a message a thread sends
 * or replies with cannot carry them (RANGE), so a receiver can trust them. */
#define K_MSG_LABEL_FAULT 0xfa017u   /* words: vector, error, rip, address */
#define K_MSG_LABEL_NOTIFY 0x0b17u   /* bound notification: badge = bits */

struct k_ipc_buffer {
  k_u64 words[K_IPC_MAX_WORDS]; /* words[0..3] are in registers; 4.. are copied */
  k_u64 caps[K_IPC_MAX_CAPS];   /* sender: capabilities to transfer */
  k_u32 gifts[K_IPC_MAX_GIFTS]; /* sender: frame capabilities to gift */
  k_u64 gift_cnode;             /* sender: 0, or the root slot of the CNode the gifts are slots of */
  /* Receiver, set before waiting: where capabilities and gifts land. */
  k_u64 recv_cnode;           /* a CNode capability (0: accept none) */
  k_u64 recv_slot;            /* first slot in it */
  k_u64 recv_count;           /* number of slots, all empty */
  k_u64 recv_window;          /* where gifted frames are mapped (0: not mapped) */
  k_u64 recv_window_size;     /* bytes */
  /* Results. */
  k_u64 gift_error_index;     /* sender: first bad gift of a refused batch */
  k_u64 recv_mapped;          /* receiver: bytes of the window the gifts took */
};

_Static_assert(sizeof(struct k_ipc_buffer) <= 4096, "IPC buffer fits a page");

#endif
