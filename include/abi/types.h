/* Fixed-width types shared by the kernel, user space and host tests.
 * Freestanding: no libc headers, so the ABI means the same everywhere. */
#ifndef ABI_TYPES_H
#define ABI_TYPES_H

typedef unsigned char k_u8;
typedef unsigned short k_u16;
typedef unsigned int k_u32;
typedef unsigned long long k_u64;
typedef signed char k_s8;
typedef short k_s16;
typedef int k_s32;
typedef long long k_s64;

/* A capability address: a slot index in the thread's CSpace root CNode,
 * or, with bits 32-63 set, slot (cptr >> 32) of the CNode whose capability
 * is in root slot (cptr & 0xffffffff): a server names what sits in CNodes
 * made from its clients' donations without a slot of its root for each.
 * Naming a slot through a CNode takes that CNode capability's write right.
 * Gift lists (32-bit) and receive slots name root slots only. */
typedef k_u64 k_cptr_t;
static inline k_cptr_t k_cptr_in(k_cptr_t cnode_slot, k_u64 index) { return cnode_slot | index << 32; }
typedef k_u64 k_uaddr_t;  /* a user virtual address, never dereferenced by the kernel */

#endif
