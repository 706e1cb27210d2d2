/* lwIP's port layer: types and diagnostics for our user space. */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H

#define LWIP_NO_UNISTD_H 1
#define LWIP_NO_CTYPE_H 1
#define BYTE_ORDER LITTLE_ENDIAN

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void lwip_port_abort(const char *what, const char *file, int line);
unsigned int lwip_port_rand(void);

typedef long ssize_t;
#define SSIZE_MAX 0x7fffffffffffffffl
#define LWIP_RAND() lwip_port_rand()
#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_abort(x, __FILE__, __LINE__)

#endif
