/* The rest of lwIP's port: time from the kernel, a random source. */
#include <ulib.h>
#include <env.h>
#include <lwip/opt.h>
#include <lwip_port.h>

unsigned char *lwip_port_heap;

long lwip_port_heap_init(struct env *e) {
  void *at;
  long err = env_alloc_pages(e, (MEM_SIZE + 2 * K_PAGE_SIZE - 1) / K_PAGE_SIZE, &at);
  if (!err)
    lwip_port_heap = at; /* fresh frames: zeroed; one page more than MEM_SIZE for lwIP's headers */
  return err;
}

void lwip_port_abort(const char *what, const char *file, int line) {
  printf("lwip: assertion \"%s\" failed at %s:%d\n", what, file, line);
  exit(1);
}

u32_t sys_now(void) { return (u32_t)(sys_time_ns() / 1000000ull); }

unsigned int lwip_port_rand(void) {
  static u64 x = 0x2545f4914f6cdd1dull;
  x ^= sys_time_ns();
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return (unsigned int)x;
}

/* netif_find() parses interface numbers with atoi(), which glibc's header
 * turns into strtol(): base-10 digits are all it needs. */
long strtol(const char *s, char **end, int base) {
  long v = 0;
  int neg = *s == '-';
  (void)base;
  if (*s == '-' || *s == '+')
    s++;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (*s++ - '0');
  if (end)
    *end = (char *)s;
  return neg ? -v : v;
}
