/* The system side of netecho (see glue.h). */
#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>
#include "glue.h"

#define NETD_EP BI_SLOT_FIRST_FREE_FIXED /* from init */

static struct env env;
static struct ipc_buffer *buf;

long glue_open(struct netdev *d, u64 filter, unsigned frames) {
  env = env_of_program(16);
  long err = env_ipc_buffer(&env, BI_SLOT_TCB, &buf);
  return err ? err : netdev_open(d, &env, buf, NETD_EP, filter, frames);
}

const char *glue_err(long err) { return err_name(err < 0 ? -err : err); }
u64 glue_time_ns(void) { return sys_time_ns(); }
u64 glue_idle_ns(void) { return sys_idle_ns(); }
u64 glue_cpu_ns(void) { return sys_thread_ns(); }
