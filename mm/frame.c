/* Frame-to-frame copies (see frame.h). */
#include "mm/frame.h"
#include <lib/string.h>

static int frame_bytes(const struct cte *f, u8 rights, u64 *size) {
  int remnant = f->cap.type == K_OBJ_PINNED_FRAME && rights == K_RIGHT_READ; /* what a device wrote last */
  if (remnant)
    *size = cap_object_size(&f->cap);
  else if (f->cap.type == K_OBJ_FRAME_4K)
    *size = K_PAGE_SIZE;
  else if (f->cap.type == K_OBJ_FRAME_2M)
    *size = K_LARGE_PAGE_SIZE;
  else
    return K_ERR_WRONG_TYPE;
  if (f->cap.flags & CAPF_DEVICE) /* not in the kernel's map, and reads may act */
    return K_ERR_DEVICE_MEMORY;
  return remnant || (f->cap.rights & rights) == rights ? K_ERR_OK : K_ERR_NO_RIGHTS;
}

int frame_copy(struct cte *dst, u64 dst_off, const struct cte *src, u64 src_off, u64 len) {
  u64 dst_size, src_size;
  int err = frame_bytes(dst, K_RIGHT_WRITE, &dst_size);
  if (!err)
    err = frame_bytes(src, K_RIGHT_READ, &src_size);
  if (err)
    return err;
  if (len > FRAME_COPY_MAX || dst_off > dst_size || len > dst_size - dst_off || src_off > src_size ||
      len > src_size - src_off)
    return K_ERR_RANGE;
  memmove((u8 *)dst->cap.obj + dst_off, (const u8 *)src->cap.obj + src_off, len);
  return K_ERR_OK;
}
