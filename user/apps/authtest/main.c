/* What an ordinary application holds: its own memory, CSpace and VSpace,
 * and the debug-exit port because it ends a test run (user/init/main.c,
 * least authority). Every driver's and the kernel tests' authority must be
 * refused to it: DMA pinning, claiming IRQ lines, any other I/O port. */
#include <ulib.h>
#include <env.h>
#include <abi/bootinfo.h>


static int passed, failed;

static void check(int ok, const char *what) {
  printf("authtest: %s %d %s\n", ok ? "ok  " : "FAIL", passed + failed + 1, what);
  ok ? passed++ : failed++;
}

static void expect_err(long got, long want, const char *what) {
  if (got != want)
    printf("authtest:   %s: %s, expected %s\n", what, err_name(got), err_name(want));
  check(got == want, what);
}

int main(u64 principal) {
  printf("authtest: an ordinary application's authority, principal %llu\n", principal);
  struct env e = env_of_program(32);
  cptr_t f, h = env_slot(&e), wide = env_slot(&e);
  long err = env_retype(&e, K_OBJ_FRAME_4K, 0, &f);
  check(err == K_ERR_OK, "it can make a frame from its own memory");
  expect_err(sys_dma_pin(K_BI_SLOT_DMA, f).err, K_ERR_EMPTY_SLOT, "no DMA capability: it cannot pin a frame");
  expect_err(sys_irq_get(K_BI_SLOT_IRQ_CONTROL, 11, K_BI_SLOT_CNODE, h), K_ERR_EMPTY_SLOT,
             "no IRQ control: it cannot claim a device's line");
  expect_err(sys_ioport_in(K_BI_SLOT_IOPORTS, 0xcf8, 4).err, K_ERR_RANGE, "no PCI configuration ports");
  expect_err(sys_ioport_in(K_BI_SLOT_IOPORTS, 0x70, 1).err, K_ERR_RANGE, "no CMOS clock ports");
  expect_err(sys_ioport_in(K_BI_SLOT_IOPORTS, 0x3f8, 1).err, K_ERR_RANGE, "no serial ports");
  expect_err(sys_cnode_mint(K_BI_SLOT_CNODE, wide, K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, K_RIGHTS_ALL, 0x0 | 0xffffull << 16),
             K_ERR_RANGE, "its ports cannot be minted wider");
  struct k_cap_info ci;
  check(sys_cap_identify(K_BI_SLOT_CNODE, K_BI_SLOT_IOPORTS, &ci) == K_ERR_OK && ci.base == DEBUG_EXIT_PORT && ci.size == 4,
        "its one port range is the debug-exit port");
  printf("authtest: %d passed, %d failed\n", passed, failed);
  debug_exit(failed ? 1 : 0);
  return failed;
}
