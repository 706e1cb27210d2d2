/* What netecho needs from our system, kept apart from lwIP's headers
 * (lwIP's ERR_OK and ours cannot share a translation unit). */
#ifndef NETECHO_GLUE_H
#define NETECHO_GLUE_H
#include <abi/types.h>
#include <netdev.h>
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Opens the session (the filter) with `frames` donated frames. */
long glue_open(struct netdev *d, u64 filter, unsigned frames);
const char *glue_err(long err);
u64 glue_time_ns(void);
u64 glue_idle_ns(void); /* time the CPU spent halted */
u64 glue_cpu_ns(void);  /* time this thread has run */
#endif
