/* Fixed-width types shared by the kernel, user space and host tests.
 * Freestanding: no libc headers, so the ABI means the same everywhere. */
#ifndef ABI_TYPES_H
#define ABI_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

typedef u64 cptr_t;   /* capability address: a slot index in a CNode */
typedef u64 uaddr_t;  /* a user virtual address, never dereferenced by the kernel */

#endif
