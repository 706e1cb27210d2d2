/* The per-principal report: UNTYPED_REPORT's records as ACCT lines. */
#include "acct.h"
#include <acct.h>
#include <ulib.h>

#define ACCT_PRINCIPALS 64

static struct k_principal_report records[ACCT_PRINCIPALS];
static struct {
  u32 label;
  char name[24];
} names[ACCT_PRINCIPALS];
static unsigned nnames;

void acct_name(u32 label, const char *name) {
  if (nnames == ACCT_PRINCIPALS)
    return;
  names[nnames].label = label;
  u64 n = 0;
  while (name[n] && name[n] != ':' && n + 1 < sizeof(names[0].name))
    n++;
  memcpy(names[nnames].name, name, n);
  names[nnames].name[n] = 0;
  nnames++;
}

static const char *name_of(u32 label) {
  for (unsigned i = 0; i < nnames; i++)
    if (names[i].label == label)
      return names[i].name;
  return "?";
}

static u64 sum(const struct k_principal_report *r, u32 first, u32 last) {
  u64 b = 0;
  for (u32 t = first; t <= last; t++)
    b += r->bytes[t];
  return b;
}

static void line(u64 tag, u64 ms, const char *name, const struct k_principal_report *r) {
  printf("ACCT tag=%llu ms=%llu principal=%u name=%s size=%llu used=%llu free=%llu objects=%llu threads=%llu "
         "cpu_us=%llu lent=%llu donated=%llu pinned=%llu held=%llu held_untyped=%llu "
         "cnode=%llu tcb=%llu tables=%llu frames=%llu ipc=%llu untyped=%llu\n",
         tag, ms, r->label, name, r->size, r->size - r->free, r->free,
         sum(r, K_OBJ_CNODE, K_OBJ_TYPE_COUNT - 1), r->threads, r->cpu_ns / 1000,
         r->lent_bytes, r->donated_bytes, r->pinned_bytes, r->held_bytes, r->held_untyped_bytes,
         r->bytes[K_OBJ_CNODE], r->bytes[K_OBJ_TCB], sum(r, K_OBJ_VSPACE, K_OBJ_PT),
         sum(r, K_OBJ_FRAME_4K, K_OBJ_FRAME_2M), sum(r, K_OBJ_ENDPOINT, K_OBJ_NOTIFICATION),
         r->bytes[K_OBJ_UNTYPED]);
}

u64 acct_print(cptr_t boot_ut, cptr_t ram_ut, u64 tag) {
  u64 ms = sys_time_ns() / 1000000;
  struct sysret s = sys_untyped_report(boot_ut, records, 1);
  if (!s.err)
    line(tag, ms, "init", &records[0]);
  s = sys_untyped_report(ram_ut, records, ACCT_PRINCIPALS);
  if (s.err) {
    printf("ACCT tag=%llu error=%s\n", tag, err_name(s.err));
    return 0;
  }
  u64 n = s.val < ACCT_PRINCIPALS ? s.val : ACCT_PRINCIPALS;
  line(tag, ms, "pool", &records[0]);
  for (u64 i = 1; i < n; i++)
    line(tag, ms, name_of(records[i].label), &records[i]);
  if (s.val > n)
    printf("ACCT tag=%llu left_out=%llu\n", tag, s.val - n);
  printf("ACCT tag=%llu end principals=%llu\n", tag, n - 1);
  return n - 1;
}

void acct_serve(cptr_t ep, cptr_t boot_ut, cptr_t ram_ut) {
  struct msg_regs m = sys_recv(ep);
  for (;;) {
    if (m.err) {
      m = sys_recv(ep);
      continue;
    }
    u64 err = K_ERR_OK, n = 0;
    if (k_msg_label(m.info) == ACCT_PRINT)
      n = acct_print(boot_ut, ram_ut, k_msg_words(m.info) ? m.w[0] : 0);
    else
      err = K_ERR_RANGE;
    m = sys_reply_recv(ep, k_msg_info(0, 2, 0, 0), err, n, 0, 0);
  }
}
