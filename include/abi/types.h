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

typedef k_u64 k_cptr_t;   /* capability address: a slot index in a CNode */
typedef k_u64 k_uaddr_t;  /* a user virtual address, never dereferenced by the kernel */

#endif
