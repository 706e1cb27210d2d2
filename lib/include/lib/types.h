/* Short names for the ABI's fixed-width types, for the kernel, our user
 * library and programs that want them. The ABI itself (include/abi/) spells
 * every name with its k_ or K_ prefix, so a program that includes only the
 * ABI gets nothing that can collide with another library's names. */
#ifndef LIB_TYPES_H
#define LIB_TYPES_H

#include <abi/types.h>

typedef k_u8 u8;
typedef k_u16 u16;
typedef k_u32 u32;
typedef k_u64 u64;
typedef k_s8 s8;
typedef k_s16 s16;
typedef k_s32 s32;
typedef k_s64 s64;
typedef k_cptr_t cptr_t;
typedef k_uaddr_t uaddr_t;

#endif
