/* System calls on x86 I/O ports. */
#include "kernel/sys.h"
#include <arch/cpu.h>

static int lookup_port(struct call *c, u8 right, u16 *port, unsigned *width) {
  struct cte *s;
  int err = lookup_typed(c, arg(c, 0), K_OBJ_IOPORTS, right, &s);
  if (err)
    return err;
  u64 p = arg(c, 1), w = arg(c, 2);
  if (w != 1 && w != 2 && w != 4)
    return K_ERR_RANGE;
  if (p & (w - 1))
    return K_ERR_ALIGNMENT;
  if (p < io_first(&s->cap) || p > 0xffff || p + w - 1 > io_last(&s->cap))
    return K_ERR_RANGE;
  *port = (u16)p;
  *width = (unsigned)w;
  return K_ERR_OK;
}

int sys_IOPORT_IN(struct call *c) {
  u16 port;
  unsigned w;
  int err = lookup_port(c, K_RIGHT_READ, &port, &w);
  if (!err)
    set_result(c, w == 1 ? inb(port) : w == 2 ? inw(port) : inl(port));
  return err;
}

int sys_IOPORT_OUT(struct call *c) {
  u16 port;
  unsigned w;
  int err = lookup_port(c, K_RIGHT_WRITE, &port, &w);
  if (err)
    return err;
  u64 v = arg(c, 3);
  if (v >> (8 * w))
    return K_ERR_RANGE;
  if (w == 1)
    outb(port, (u8)v);
  else if (w == 2)
    outw(port, (u16)v);
  else
    outl(port, (u32)v);
  return K_ERR_OK;
}
