/* Debugging system calls: console output, and the invariant checker of a
 * kernel built for fuzzing. */
#include "kernel/sys.h"
#include "kernel/print.h"
#include "kernel/invariants.h"
#include "mm/uaccess.h"

int sys_DEBUG_PUTS(struct call *c) {
  char buf[256];
  u64 va = arg(c, 0), len = arg(c, 1);
  if (len > 4096)
    return K_ERR_RANGE;
  while (len) {
    u64 n = len < sizeof(buf) ? len : sizeof(buf);
    int err = copy_from_user(own_root(c), buf, va, n);
    if (err)
      return err;
    console_write(buf, n);
    va += n;
    len -= n;
  }
  return K_ERR_OK;
}

/* Only a kernel built for fuzzing (make fuzz: -DKERNEL_CHECKS) answers:
 * the walk takes time proportional to every capability in the system. */
int sys_DEBUG_CHECK_INVARIANTS(struct call *c) {
#ifdef KERNEL_CHECKS
  u64 n;
  int err = inv_check(&n);
  set_result(c, n);
  return err;
#else
  (void)c;
  return K_ERR_BAD_SYSCALL;
#endif
}
