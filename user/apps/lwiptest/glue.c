/* The system side of lwiptest (see glue.h). */
#include <ulib.h>
#include <abi/bootinfo.h>
#include "glue.h"

#define DEBUG_EXIT_PORT 0xf4

u64 glue_time_ns(void) { return sys_time_ns(); }

void glue_finish(int failed) {
  sys_ioport_out(BI_SLOT_IOPORTS, DEBUG_EXIT_PORT, 1, failed ? 1 : 0);
  exit(failed);
}
