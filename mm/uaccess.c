/* copy_to_user / copy_from_user (see uaccess.h). */
#include "mm/uaccess.h"
#include <arch/mmu.h>
#include <lib/string.h>

/* Checks the whole range first so that a failed copy writes nothing. */
static int check_range(const struct vs_table *root, uaddr_t va, u64 len, int write) {
  if (!root)
    return K_ERR_FAULT_ADDRESS;
  if (va >= K_USER_VADDR_END || K_USER_VADDR_END - va < len)
    return K_ERR_BAD_ADDRESS;
  for (u64 p = va & ~(K_PAGE_SIZE - 1); p < va + len; p += K_PAGE_SIZE)
    if (!vs_translate(root, p, write))
      return K_ERR_FAULT_ADDRESS;
  return K_ERR_OK;
}

static void copy_pages(const struct vs_table *root, uaddr_t va, u8 *kbuf, u64 len, int to_user) {
  while (len) {
    u64 chunk = K_PAGE_SIZE - (va & (K_PAGE_SIZE - 1));
    if (chunk > len)
      chunk = len;
    u8 *user = pa_to_kva(vs_translate(root, va, to_user));
    if (to_user)
      memcpy(user, kbuf, chunk);
    else
      memcpy(kbuf, user, chunk);
    va += chunk;
    kbuf += chunk;
    len -= chunk;
  }
}

int user_range_check(const struct vs_table *root, uaddr_t va, u64 len, int write) {
  return check_range(root, va, len, write);
}

int copy_to_user(const struct vs_table *root, uaddr_t dst, const void *src, u64 len) {
  int err = check_range(root, dst, len, 1);
  if (!err)
    copy_pages(root, dst, (u8 *)src, len, 1);
  return err;
}

int copy_from_user(const struct vs_table *root, void *dst, uaddr_t src, u64 len) {
  int err = check_range(root, src, len, 0);
  if (!err)
    copy_pages(root, src, dst, len, 0);
  return err;
}
