/* System-call decoding: look up and check every capability and argument,
 * then call an operation that cannot fail halfway (decode, then invoke).
 * The handlers live with their subsystems (kernel/sys_*.c, ipc/sys_ipc.c,
 * mm/sys_vspace.c, arch/x86/sys_ioport.c); this is their table. */
#include "kernel/syscall.h"
#include "kernel/sys.h"
#include "kernel/preempt.h"
#include "ipc/endpoint.h"

static int (*const handlers[K_SYS_COUNT])(struct call *) = {
#define SYS_HANDLER_ENTRY(name, args) [K_SYS_##name] = sys_##name,
    K_SYSCALLS(SYS_HANDLER_ENTRY)
#undef SYS_HANDLER_ENTRY
};

void syscall_dispatch(struct tcb *self, struct user_ctx *ctx) {
  struct call c = {self, ctx};
  u64 nr = arch_syscall_number(ctx);
  int r = nr < K_SYS_COUNT ? handlers[nr](&c) : K_ERR_BAD_SYSCALL;
  if (r == PREEMPTED) /* stopped for an interrupt: it runs again and goes on */
    arch_syscall_restart(ctx);
  else if (r != IPC_BLOCKED) /* a blocked call gets its result when it wakes */
    arch_syscall_set_error(ctx, (u64)r);
}
