/* printf over the kernel's debug console, exit, names for codes. */
#include <ulib.h>
#include <abi/bootinfo.h>
#include <lib/fmt.h>
#include <stdarg.h>

static const char *const err_names[] = {
#define ERR_NAME(name, text) [K_ERR_##name] = #name,
    K_ERRORS(ERR_NAME)
#undef ERR_NAME
};

static const char *const type_names[] = {
#define TYPE_NAME(name, size) [K_OBJ_##name] = #name,
    K_OBJECT_TYPES(TYPE_NAME)
#undef TYPE_NAME
};

const char *err_name(long err) {
  if (err < 0)
    err = -err; /* the libraries return errors negated beside counts */
  return err < K_ERR_COUNT ? err_names[err] : "UNKNOWN_ERROR";
}

void debug_exit(unsigned verdict) { sys_ioport_out(K_BI_SLOT_IOPORTS, DEBUG_EXIT_PORT, 1, verdict); }

const char *obj_type_name(u32 type) { return type < K_OBJ_TYPE_COUNT ? type_names[type] : "?"; }

struct outbuf {
  char buf[256];
  u64 n;
};

static void flush(struct outbuf *b) {
  if (b->n)
    sys_debug_puts(b->buf, b->n);
  b->n = 0;
}

static void put(void *ctx, char c) {
  struct outbuf *b = ctx;
  b->buf[b->n++] = c;
  if (b->n == sizeof(b->buf))
    flush(b);
}

int printf(const char *fmt, ...) {
  struct outbuf b = {.n = 0};
  va_list ap;
  va_start(ap, fmt);
  int n = fmt_format(put, &b, fmt, ap);
  va_end(ap);
  flush(&b);
  return n;
}

void exit(long code) {
  (void)code;
  for (;;)
    sys_thread_exit();
}
