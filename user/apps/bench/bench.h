/* Guest benchmarks: two principals in two address spaces, A (the client)
 * and B (the server), started by init with one endpoint between them. */
#ifndef BENCH_H
#define BENCH_H

#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>
#include <abi/ipc.h>

#define ROLE_CLIENT 1
#define ROLE_SERVER 2
#define BENCH_EP K_BI_SLOT_FIRST_FREE_FIXED

/* Requests from A to B (message labels). */
enum bench_cmd {
  CMD_PING = 1,     /* reply with w0 + 1 */
  CMD_SETUP,        /* w0 = pages per gift (0: one 2 MiB frame), w1 = mode */
  CMD_GIFT,         /* gifts arrive; read them per mode, gift them back */
  CMD_COPY,         /* w0 = bytes in the shared buffer to copy out */
  CMD_SHARE,        /* a capability to the shared copy buffer arrives */
  CMD_DONE,
};

enum bench_mode { MODE_TOUCH, MODE_SUM };

/* Where things live in each address space. */
#define BENCH_GIFT_VA 0x0000100000000000ull /* 512 pages or one 2 MiB frame */
#define BENCH_BIG_VA 0x0000100040000000ull
#define BENCH_SHARED_VA 0x0000100080000000ull
#define BENCH_PRIVATE_VA 0x00001000c0000000ull
#define BENCH_MAX_PAGES 512
#define BENCH_GIFT_SLOTS 64 /* first slot of the gift range */
#define BENCH_SHARED_SLOT 40

static inline u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((u64)hi << 32) | lo;
}

int bench_client(struct env *e, struct k_ipc_buffer *buf);
int bench_server(struct env *e, struct k_ipc_buffer *buf);
/* The receiver's work on each page: read one word, or sum every byte
 * (MODE_SUM), and the giver's: write one word per page. */
void bench_touch(u64 va, u64 pages, u32 mode);
void bench_write_words(u64 va, u64 pages);

#endif
