/* Messages: the info word, the IPC buffer, gifts.
 *
 * A message is up to IPC_MAX_WORDS words; the first IPC_REG_WORDS travel in
 * registers (rdx, r10, r8, r9), the rest in the IPC buffers of sender and
 * receiver. It may carry capabilities (copied to the receiver; the endpoint
 * capability needs the grant right) and gifts: frames that leave the sender.
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

#define IPC_REG_WORDS 4
#define IPC_MAX_WORDS 64
#define IPC_MAX_CAPS 4
#define IPC_MAX_GIFTS 512

/* info word: label in bits 32-63, counts below */
#define MSG_WORDS_SHIFT 0
#define MSG_CAPS_SHIFT 8
#define MSG_GIFTS_SHIFT 12
#define MSG_WORDS_MASK 0x7full
#define MSG_CAPS_MASK 0x7ull
#define MSG_GIFTS_MASK 0x3ffull

static inline u64 msg_info(u32 label, u64 words, u64 caps, u64 gifts) {
  return ((u64)label << 32) | (words << MSG_WORDS_SHIFT) | (caps << MSG_CAPS_SHIFT) |
         (gifts << MSG_GIFTS_SHIFT);
}
static inline u32 msg_label(u64 info) { return (u32)(info >> 32); }
static inline u64 msg_words(u64 info) { return (info >> MSG_WORDS_SHIFT) & MSG_WORDS_MASK; }
static inline u64 msg_caps(u64 info) { return (info >> MSG_CAPS_SHIFT) & MSG_CAPS_MASK; }
static inline u64 msg_gifts(u64 info) { return (info >> MSG_GIFTS_SHIFT) & MSG_GIFTS_MASK; }

/* Labels the kernel uses for messages it makes. */
#define MSG_LABEL_FAULT 0xfa017u   /* words: vector, error, rip, address */
#define MSG_LABEL_NOTIFY 0x0b17u   /* bound notification: badge = bits */

struct ipc_buffer {
  u64 words[IPC_MAX_WORDS]; /* words[0..3] are in registers; 4.. are copied */
  u64 caps[IPC_MAX_CAPS];   /* sender: capabilities to transfer */
  u32 gifts[IPC_MAX_GIFTS]; /* sender: frame capabilities to gift */
  /* Receiver, set before waiting: where capabilities and gifts land. */
  u64 recv_cnode;           /* a CNode capability (0: accept none) */
  u64 recv_slot;            /* first slot in it */
  u64 recv_count;           /* number of slots, all empty */
  u64 recv_window;          /* where gifted frames are mapped (0: not mapped) */
  u64 recv_window_size;     /* bytes */
  /* Results. */
  u64 gift_error_index;     /* sender: first bad gift of a refused batch */
  u64 recv_mapped;          /* receiver: bytes of the window the gifts took */
};

_Static_assert(sizeof(struct ipc_buffer) <= 4096, "IPC buffer fits a page");

#endif
