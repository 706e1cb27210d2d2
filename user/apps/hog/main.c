/* hog:N, the kernel-object flood from user space (issue 16, attack 1): each
 * round it retypes page tables, TCBs and endpoints from an N MiB part of
 * its own memory (8 without N) until the kernel says NO_MEMORY, holds them
 * for a second, revokes them all and rests a second. In Mach such a flood
 * panicked the kernel's zone allocator; here it can only use up what it
 * was given. `make report` runs it beside the demos. */
#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>

#define HOG_FIRST_SLOT 64
#define HOG_ROUNDS 1000 /* bounded: a report run ends long before */

static void sleep_ns(cptr_t tick, u64 ns) {
  sys_ntfn_set_timer(tick, sys_time_ns() + ns, 1);
  sys_wait(tick);
}

/* Retypes `type` in batches until its memory is used up; returns the count. */
static u64 flood(cptr_t part, u32 type, u64 *slot, u64 end) {
  u64 made = 0;
  for (u64 batch = 256; batch && *slot < end;) {
    u64 n = batch < end - *slot ? batch : end - *slot;
    long err = sys_retype(part, type, 0, K_BI_SLOT_CNODE, *slot, n, 0);
    if (err == K_ERR_OK) {
      *slot += n;
      made += n;
    } else if (err == K_ERR_NO_MEMORY) {
      batch /= 2;
    } else {
      printf("hog: retype: %s\n", err_name(err));
      break;
    }
  }
  return made;
}

int main(u64 mib) {
  if (!mib)
    mib = 8;
  u32 bits = 20;
  while ((1ull << bits) < (mib << 20))
    bits++;
  struct env e = env_of_program(HOG_FIRST_SLOT);
  cptr_t tick, part = HOG_FIRST_SLOT - 1;
  long err = env_retype(&e, K_OBJ_NOTIFICATION, 0, &tick);
  if (!err)
    err = sys_retype(K_BI_SLOT_BOOT_UNTYPED, K_OBJ_UNTYPED, bits, K_BI_SLOT_CNODE, part, 1, 0);
  if (err) {
    printf("hog: cannot set up: %s\n", err_name(err));
    return 1;
  }
  u64 first = e.next_slot, end = 1ull << SPAWN_CNODE_BITS;
  printf("hog: flooding %llu MiB of its own memory with kernel objects, round after round\n", mib);
  for (u64 round = 1; round <= HOG_ROUNDS; round++) {
    u64 slot = first;
    u64 pts = flood(part, K_OBJ_PT, &slot, end);
    u64 tcbs = flood(part, K_OBJ_TCB, &slot, end);
    u64 eps = flood(part, K_OBJ_ENDPOINT, &slot, end);
    long last = sys_retype(part, K_OBJ_ENDPOINT, 0, K_BI_SLOT_CNODE, slot, 1, 0);
    printf("hog: round %llu: %llu page tables, %llu TCBs, %llu endpoints, then %s\n", round, pts, tcbs, eps,
           err_name(last));
    sleep_ns(tick, 1000000000ull);
    err = sys_cnode_revoke(K_BI_SLOT_CNODE, part);
    if (err)
      printf("hog: revoke: %s\n", err_name(err));
    sleep_ns(tick, 1000000000ull);
  }
  return 0;
}
