/* printf-style formatting for the kernel console and user programs.
 * Conversions: d i u x X p s c %, with flags '-' and '0', a field width
 * (number or *), a precision for s (.N or .*), and length l, ll or z. */
#ifndef LIB_FMT_H
#define LIB_FMT_H

#include <lib/types.h>
#include <stdarg.h>

typedef void (*fmt_out_fn)(void *ctx, char c);

/* Sends each character to out(ctx, c); returns how many it sent. */
int fmt_format(fmt_out_fn out, void *ctx, const char *fmt, va_list ap);
int fmt_vsnprintf(char *buf, u64 size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, u64 size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
