/* What lwiptest needs from our system, without our abi/errors.h: lwIP has
 * an ERR_OK of its own, so the two cannot share a translation unit. */
#ifndef LWIPTEST_GLUE_H
#define LWIPTEST_GLUE_H
#include <abi/types.h>
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
u64 glue_time_ns(void);
__attribute__((noreturn)) void glue_finish(int failed);
#endif
