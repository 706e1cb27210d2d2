/* The formatter (see fmt.h). */
#include <lib/fmt.h>

struct spec {
  int left, zero, width, precision, length;
  char conv;
};

struct sink {
  fmt_out_fn out;
  void *ctx;
  int count;
};

static void emit(struct sink *s, char c) {
  s->out(s->ctx, c);
  s->count++;
}

static void pad(struct sink *s, int n, char c) {
  while (n-- > 0)
    emit(s, c);
}

/* Field: optional sign, then digits or text, padded to the width. */
static void field(struct sink *s, const struct spec *sp, const char *sign, const char *body, int len) {
  int slen = sign ? 1 : 0, fill = sp->width - len - slen;
  if (!sp->left && !sp->zero)
    pad(s, fill, ' ');
  if (sign)
    emit(s, *sign);
  if (!sp->left && sp->zero)
    pad(s, fill, '0');
  for (int i = 0; i < len; i++)
    emit(s, body[i]);
  if (sp->left)
    pad(s, fill, ' ');
}

static int to_digits(u64 v, unsigned base, int upper, char *buf) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[24];
  int n = 0, len = 0;
  do {
    tmp[n++] = digits[v % base];
    v /= base;
  } while (v);
  while (n)
    buf[len++] = tmp[--n];
  return len;
}

static u64 unsigned_arg(const struct spec *sp, va_list *ap) {
  return sp->length ? va_arg(*ap, u64) : va_arg(*ap, unsigned);
}

static void number(struct sink *s, const struct spec *sp, va_list *ap) {
  char buf[24];
  const char *sign = 0;
  u64 v;
  if (sp->conv == 'd' || sp->conv == 'i') {
    s64 x = sp->length ? va_arg(*ap, s64) : va_arg(*ap, int);
    v = x < 0 ? -(u64)x : (u64)x;
    sign = x < 0 ? "-" : 0;
  } else {
    v = unsigned_arg(sp, ap);
  }
  unsigned base = sp->conv == 'x' || sp->conv == 'X' ? 16 : 10;
  field(s, sp, sign, buf, to_digits(v, base, sp->conv == 'X', buf));
}

static void string(struct sink *s, const struct spec *sp, const char *str) {
  if (!str)
    str = "(null)";
  int len = 0;
  while (str[len] && (sp->precision < 0 || len < sp->precision))
    len++;
  struct spec plain = *sp;
  plain.zero = 0;
  field(s, &plain, 0, str, len);
}

static void pointer(struct sink *s, u64 v) {
  char buf[16];
  emit(s, '0');
  emit(s, 'x');
  for (int i = 15; i >= 0; i--, v >>= 4)
    buf[i] = "0123456789abcdef"[v & 15];
  for (int i = 0; i < 16; i++)
    emit(s, buf[i]);
}

static const char *parse_number(const char *f, int *out, va_list *ap) {
  if (*f == '*') {
    *out = va_arg(*ap, int);
    return f + 1;
  }
  *out = 0;
  while (*f >= '0' && *f <= '9')
    *out = *out * 10 + (*f++ - '0');
  return f;
}

/* Parses flags, width, precision and length after '%'; returns the conversion. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap) {
  *sp = (struct spec){.precision = -1};
  for (;; f++) {
    if (*f == '-')
      sp->left = 1;
    else if (*f == '0')
      sp->zero = 1;
    else
      break;
  }
  f = parse_number(f, &sp->width, ap);
  if (sp->width < 0) {
    sp->left = 1;
    sp->width = -sp->width;
  }
  if (*f == '.')
    f = parse_number(f + 1, &sp->precision, ap);
  while (*f == 'l' || *f == 'z')
    sp->length++, f++;
  sp->conv = *f;
  return f;
}

int fmt_format(fmt_out_fn out, void *ctx, const char *fmt, va_list ap0) {
  struct sink s = {out, ctx, 0};
  va_list ap;
  va_copy(ap, ap0);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      emit(&s, *f);
      continue;
    }
    const char *start = f;
    struct spec sp;
    f = parse_spec(f + 1, &sp, &ap);
    switch (sp.conv) {
    case 'd': case 'i': case 'u': case 'x': case 'X':
      number(&s, &sp, &ap);
      break;
    case 's':
      string(&s, &sp, va_arg(ap, const char *));
      break;
    case 'c': {
      char c = (char)va_arg(ap, int);
      field(&s, &sp, 0, &c, 1);
      break;
    }
    case 'p':
      pointer(&s, (u64)va_arg(ap, void *));
      break;
    case '%':
      emit(&s, '%');
      break;
    default: /* unknown: print it as written */
      for (; start <= f && *start; start++)
        emit(&s, *start);
      if (!*f)
        f--;
    }
  }
  va_end(ap);
  return s.count;
}

struct bufsink {
  char *buf;
  u64 size, used;
};

static void to_buf(void *ctx, char c) {
  struct bufsink *b = ctx;
  if (b->used + 1 < b->size)
    b->buf[b->used] = c;
  b->used++;
}

int fmt_vsnprintf(char *buf, u64 size, const char *fmt, va_list ap) {
  struct bufsink b = {buf, size, 0};
  int n = fmt_format(to_buf, &b, fmt, ap);
  if (size)
    buf[b.used < size ? b.used : size - 1] = 0;
  return n;
}

int fmt_snprintf(char *buf, u64 size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = fmt_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
