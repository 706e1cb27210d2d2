/* Copying to and from user memory. User addresses are integers until these
 * functions translate them, page by page, through the thread's own tables
 * (with the user and write bits checked) into the physmap, so a bad user
 * pointer is an error code, never a kernel fault. */
#ifndef MM_UACCESS_H
#define MM_UACCESS_H

#include "mm/vspace.h"

int copy_to_user(const struct vs_table *root, uaddr_t dst, const void *src, u64 len);
int copy_from_user(const struct vs_table *root, void *dst, uaddr_t src, u64 len);
/* The error copy_to_user (write) or copy_from_user would give, copying nothing. */
int user_range_check(const struct vs_table *root, uaddr_t va, u64 len, int write);

#endif
