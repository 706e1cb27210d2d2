# Build, run and test the kernel. `make` builds build/kernel.iso.
# See README.md for the targets.

CC      ?= gcc
LD      := ld
OBJDUMP := objdump
NM      := nm
B       := build
ACCEL   ?= tcg

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
COMMON  := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-stack-protector -fno-pic -fno-pie \
           -mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer -fno-tree-loop-distribute-patterns \
           $(WARN) \
           -Iinclude -Ilib/include
KCFLAGS := $(COMMON) -mcmodel=kernel -Iarch/x86/include -I.
UCFLAGS := $(COMMON) -Iuser/lib/include
HOSTCFLAGS := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
           -DHOST_TEST -Iinclude -Ilib/include -Iarch/x86/include -I. -Iuser/lib/include

KERNEL_SRC := $(wildcard arch/x86/*.S arch/x86/*.c kernel/*.c mm/*.c ipc/*.c lib/*.c)
KERNEL_OBJ := $(patsubst %,$(B)/k/%.o,$(KERNEL_SRC))
ULIB_SRC   := $(wildcard user/lib/*.S user/lib/*.c lib/*.c)
ULIB_OBJ   := $(patsubst %,$(B)/u/%.o,$(ULIB_SRC))
LWIP_APPS  := lwiptest netecho
PROGRAMS   := init ktest bench blockd blkecho blktest blkgood blkattack netd nettest authtest kfuzz acct hog unpackd unpacktest netattack $(LWIP_APPS)
lwiptest_SRC := user/apps/lwiptest/main.c
netecho_SRC := user/apps/netecho/main.c
init_SRC   := $(wildcard user/init/*.c)
ktest_SRC  := $(wildcard user/apps/ktest/*.c)
kfuzz_SRC  := $(wildcard user/apps/kfuzz/*.c)
bench_SRC  := $(wildcard user/apps/bench/*.c)
blockd_SRC := $(wildcard user/blockd/*.c)
blkecho_SRC := $(wildcard user/apps/blkecho/*.c)
blktest_SRC := $(wildcard user/apps/blktest/*.c)
netd_SRC   := $(wildcard user/netd/*.c)
nettest_SRC := $(wildcard user/apps/nettest/*.c)
authtest_SRC := $(wildcard user/apps/authtest/*.c)
acct_SRC   := $(wildcard user/apps/acct/*.c)
hog_SRC    := $(wildcard user/apps/hog/*.c)
unpackd_SRC := $(wildcard user/apps/unpackd/*.c)
netattack_SRC := $(wildcard user/apps/netattack/*.c)
blkgood_SRC := $(wildcard user/apps/blkgood/*.c)
blkattack_SRC := $(wildcard user/apps/blkattack/*.c)
unpacktest_SRC := $(wildcard user/apps/unpacktest/*.c)

.PHONY: all help iso clean test soak report attacks fuzz host-test guest-test demo demo-blk demo-net qemu qemu-net qemu-gdb deps bench bench-net compare \
        compare-linux
all: $(B)/kernel.iso

help:
	@echo "Targets (from README.md):"
	@sed -n '/^| command |/,/^$$/p' README.md | sed '1,2d; s/^| //; s/ |$$//; s/ | /: /; s/`//g'

$(B)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -D__ASSEMBLER__ -c $< -o $@
$(B)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -MMD -c $< -o $@
$(B)/u/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -D__ASSEMBLER__ -c $< -o $@
$(B)/u/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) $(EXTRA_CFLAGS) -MMD -c $< -o $@

# The fuzzing kernel: the same objects, but system calls built with
# KERNEL_CHECKS (DEBUG_CHECK_INVARIANTS answers).
KFUZZ_OBJ := $(filter-out $(B)/k/kernel/sys_debug.c.o,$(KERNEL_OBJ)) $(B)/kf/kernel/sys_debug.c.o
$(B)/kf/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -DKERNEL_CHECKS -MMD -c $< -o $@
$(B)/kfuzz/kernel.elf: $(KFUZZ_OBJ) arch/x86/kernel.ld
	@mkdir -p $(dir $@)
	$(LD) -n -nostdlib -z max-page-size=0x1000 --no-warn-rwx-segments -T arch/x86/kernel.ld -o $@ $(KFUZZ_OBJ)

# Every link also writes a disassembly and a symbol list.
$(B)/kernel.elf: $(KERNEL_OBJ) arch/x86/kernel.ld
	$(LD) -n -nostdlib -z max-page-size=0x1000 --no-warn-rwx-segments -T arch/x86/kernel.ld -o $@ $(KERNEL_OBJ)
	$(OBJDUMP) -d $@ > $(B)/kernel.asm
	$(NM) -n $@ > $(B)/kernel.sym

$(B)/libuser.a: $(ULIB_OBJ)
	rm -f $@ && ar rcs $@ $^

define program
$(B)/$(1).elf: $$(patsubst %,$(B)/u/%.o,$$($(1)_SRC)) $$($(1)_LIBS) $(B)/libuser.a user/lib/user.ld
	$(LD) -n -nostdlib -static -z max-page-size=0x1000 --no-warn-rwx-segments -T user/lib/user.ld -o $$@ \
	  $(B)/u/user/lib/crt0.S.o $$(patsubst %,$(B)/u/%.o,$$($(1)_SRC)) $$($(1)_LIBS) $(B)/libuser.a
	$(OBJDUMP) -d $$@ > $(B)/$(1).asm
endef
$(foreach p,$(PROGRAMS),$(eval $(call program,$(p))))

# lwIP from Debian's source package (scripts/fetch-lwip.sh), freestanding,
# with our port layer in user/lib/lwip: the stack of netd's clients.
LWIP := $(B)/lwip/src/src
LWIP_CFLAGS := $(UCFLAGS) -Iuser/lib/lwip/include -I$(LWIP)/include -Wno-error
$(B)/liblwip.a: scripts/fetch-lwip.sh $(wildcard user/lib/lwip/*.c user/lib/lwip/include/*.h user/lib/lwip/include/arch/*.h) \
               user/lib/include/netdev.h user/lib/include/net.h
	scripts/fetch-lwip.sh
	@mkdir -p $(B)/lwip/obj
	@set -e; for f in $(LWIP)/core/*.c $(LWIP)/core/ipv4/*.c $(LWIP)/netif/ethernet.c user/lib/lwip/*.c; do \
	  $(CC) $(LWIP_CFLAGS) -c $$f -o $(B)/lwip/obj/$$(basename $$f .c).o; done
	rm -f $@ && ar rcs $@ $(B)/lwip/obj/*.o

# Applications on lwIP: ordinary programs that also see lwIP's headers and
# link its library.
$(foreach a,$(LWIP_APPS),$(eval $(a)_LIBS := $(B)/liblwip.a))
$(LWIP_APPS:%=$(B)/u/user/apps/%/main.c.o): EXTRA_CFLAGS := -Iuser/lib/lwip/include -I$(LWIP)/include
$(LWIP_APPS:%=$(B)/u/user/apps/%/main.c.o): $(B)/liblwip.a

$(B)/lwiptest.iso: $(B)/kernel.elf $(B)/init.elf $(B)/lwiptest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/lwiptest.elf

# kernel.iso boots the root task alone (it runs its self-check);
# test.iso adds the in-guest test suite as a second module.
$(B)/kernel.iso: $(B)/kernel.elf $(B)/init.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf
$(B)/test.iso: $(B)/kernel.elf $(B)/init.elf $(B)/ktest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/ktest.elf

# An ordinary application's authority, checked from inside it.
$(B)/authtest.iso: $(B)/kernel.elf $(B)/init.elf $(B)/authtest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/authtest.elf

$(B)/bench.iso: $(B)/kernel.elf $(B)/init.elf $(B)/bench.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/bench.elf

$(B)/blk.iso: $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkecho.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkecho.elf

# blockd:1 honours BLK_HOLD, the test hook that holds a request while the
# client revokes its session's memory.
$(B)/blktest.iso: $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blktest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf=blockd:1 $(B)/blktest.elf

# unpackd and its clients, a bomb among them (issue 16, attack 7).
$(B)/unpack.iso: $(B)/kernel.elf $(B)/init.elf $(B)/unpackd.elf $(B)/unpacktest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/unpackd.elf $(B)/unpacktest.elf

# The per-principal report's scenario: both demos, the object flood, acct.
$(B)/report.iso: $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkecho.elf $(B)/netd.elf $(B)/netecho.elf \
                 $(B)/hog.elf $(B)/acct.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkecho.elf $(B)/netd.elf \
	  $(B)/netecho.elf $(B)/hog.elf=hog:8 $(B)/acct.elf=acct:250

# The network echo demo: netd and netecho (port 7, the default session).
# The attacks on netd: netecho beside netattack:N (N: 0 none, 2-6), or hog:8 (N = 1).
ATTACKS := 0 1 2 3 4 5 6
# The attacks on blockd: blkgood beside blkattack:N (N: 0 none, 2-6).
BLK_ATTACKS := 0 2 3 4 5 6
$(B)/blkattack-%.iso: $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkgood.elf $(B)/blkattack.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/blockd.elf $(B)/blkgood.elf $(B)/blkattack.elf=blkattack:$*
$(B)/attack-1.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf $(B)/hog.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf $(B)/hog.elf=hog:8
$(B)/attack-%.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf $(B)/netattack.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf $(B)/netattack.elf=netattack:$*

$(B)/net.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf

# The ceiling: netd answers UDP echo on port 7 itself (no client).
$(B)/netceil.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf=netd:7

# Eight echo applications behind one netd: port 7 (the default session),
# 9 and 2001-2006.
NET8_PORTS := 9 2001 2002 2003 2004 2005 2006
$(B)/net8.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/netecho.elf \
	  $(foreach p,$(NET8_PORTS),$(B)/netecho.elf=netecho:$(p))

# netd:65536 (NETD_TEST_HOOKS) honours NET_HOLD, the test hook that holds
# a send while the client revokes its session's memory.
$(B)/nettest.iso: $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf $(B)/nettest.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(B)/kernel.elf $(B)/init.elf $(B)/netd.elf=netd:65536 $(B)/nettest.elf

iso: $(B)/kfuzz/kernel.elf $(B)/kfuzz.elf $(B)/kernel.iso $(B)/test.iso $(B)/authtest.iso $(B)/bench.iso $(B)/blk.iso $(B)/blktest.iso $(B)/lwiptest.iso $(B)/net.iso $(B)/net8.iso $(B)/nettest.iso $(B)/report.iso $(B)/unpack.iso $(foreach a,$(ATTACKS),$(B)/attack-$(a).iso) $(foreach a,$(BLK_ATTACKS),$(B)/blkattack-$(a).iso)

# The host side of the network demo and tests (talks to 127.0.0.1 only).
$(B)/netload: tests/net/netload.c
	@mkdir -p $(B)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
$(B)/tcpwire: tests/net/tcpwire.c
	@mkdir -p $(B)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# ---- host unit tests (AddressSanitizer + UndefinedBehaviorSanitizer) ----
HOST_TESTS := $(patsubst tests/host/%.c,$(B)/host/%,$(wildcard tests/host/test_*.c))
HOST_KERNEL := kernel/cap.c kernel/invariants.c kernel/object.c mm/untyped.c mm/vspace.c mm/uaccess.c mm/dma.c mm/frame.c ipc/gift.c ipc/timers.c \
               tests/host/fake_kernel.c
HOST_SRC_test_cap    := $(HOST_KERNEL)
HOST_SRC_test_vspace := $(HOST_KERNEL)
HOST_SRC_test_gift   := $(HOST_KERNEL)
HOST_SRC_test_fuzz_caps := $(HOST_KERNEL) ipc/transfer.c
HOST_SRC_test_invariants := $(HOST_KERNEL)
HOST_SRC_test_fmt   := lib/fmt.c
HOST_SRC_test_elf   := lib/elf_load.c
HOST_SRC_test_virtq := user/lib/virtq.c
HOST_SRC_test_classify := user/netd/classify.c
HOST_SRC_test_timers := ipc/timers.c
HOST_SRC_test_blk_request := user/blockd/request.c
HOST_SRC_test_blk_runs := user/blockd/runs.c

$(B)/host/%: tests/host/%.c $(wildcard tests/host/*.h) $(KERNEL_SRC) $(wildcard lib/*.c user/*/*.c user/*/*.h) \
             $(wildcard kernel/*.h mm/*.h ipc/*.h include/abi/*.h arch/x86/include/arch/*.h user/lib/include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HOSTCFLAGS) -o $@ $< $(HOST_SRC_$*) -lcmocka

deps:
	@scripts/deps.sh

# Memory and CPU per principal over time, drawn (build/report/).
report: deps
	$(MAKE) $(B)/report.iso $(B)/netload
	ACCEL=$(ACCEL) scripts/report.sh $(B)/report.iso

attacks: deps
	$(MAKE) $(foreach a,$(ATTACKS),$(B)/attack-$(a).iso) $(foreach a,$(BLK_ATTACKS),$(B)/blkattack-$(a).iso) $(B)/netload
	ACCEL=$(ACCEL) scripts/run-attacks.sh
	ACCEL=$(ACCEL) scripts/run-blk-attacks.sh

# The multi-principal fuzzer on the checking kernel: FUZZ_SEEDS boots from
# FUZZ_SEED on, FUZZ_OPS operations each; FUZZ_FLAGS leaves out op classes.
FUZZ_SEED ?= 1
FUZZ_SEEDS ?= 4
FUZZ_OPS ?= 1500000
FUZZ_FLAGS ?= 0
FUZZ_ICOUNT ?= 1
fuzz: deps
	$(MAKE) $(B)/kfuzz/kernel.elf $(B)/init.elf $(B)/kfuzz.elf
	FUZZ_ICOUNT=$(FUZZ_ICOUNT) scripts/fuzz.sh --seed $(FUZZ_SEED) --seeds $(FUZZ_SEEDS) --ops $(FUZZ_OPS) --flags $(FUZZ_FLAGS)

host-test: $(HOST_TESTS)
	scripts/run-host-tests.sh $(HOST_TESTS)

guest-test: $(B)/test.iso
	ACCEL=$(ACCEL) scripts/run-guest-tests.sh $(B)/test.iso

# One command: install what is missing, build, run every suite, one summary.
test: deps
	$(MAKE) iso $(HOST_TESTS) $(B)/netload $(B)/tcpwire
	ACCEL=$(ACCEL) scripts/test.sh

# Ten minutes of mixed traffic against the network echo demo (make test
# runs one); SOAK_SECONDS sets another length.
SOAK_SECONDS ?= 600
soak: deps
	$(MAKE) $(B)/net.iso $(B)/netload
	ACCEL=$(ACCEL) scripts/soak.sh --seconds $(SOAK_SECONDS) $(B)/net.iso

demo: deps
	$(MAKE) $(B)/kernel.iso $(B)/blk.iso $(B)/net.iso $(B)/netload
	ACCEL=$(ACCEL) scripts/demo.sh $(B)/kernel.iso
	ACCEL=$(ACCEL) scripts/demo-blk.sh $(B)/blk.iso
	ACCEL=$(ACCEL) scripts/demo-net.sh $(B)/net.iso

# The network echo demo, checked from the host through forwarded ports.
demo-net: deps
	$(MAKE) $(B)/net.iso $(B)/netload
	ACCEL=$(ACCEL) scripts/demo-net.sh $(B)/net.iso

# The same guest left running: UDP_PORT and TCP_PORT on 127.0.0.1 reach
# the guest's echo port 7; "ready" when it listens; Ctrl-C stops it.
UDP_PORT ?= 7007
TCP_PORT ?= 7007
qemu-net: $(B)/net.iso $(B)/netload
	ACCEL=$(ACCEL) scripts/demo-net.sh --serve --udp-port $(UDP_PORT) --tcp-port $(TCP_PORT) $(B)/net.iso

# The block echo demo; DISK=path uses that image, OUT=path keeps the copy there.
demo-blk: deps
	$(MAKE) $(B)/blk.iso
	ACCEL=$(ACCEL) scripts/demo-blk.sh $(if $(DISK),--disk $(DISK)) $(if $(OUT),--out $(OUT)) $(B)/blk.iso

# Guest benchmarks: one run under -icount (instructions), one without (wall time).
bench: deps
	$(MAKE) $(B)/bench.iso $(B)/blk.iso
	scripts/bench.sh $(B)/bench.iso

# UDP echo driven from the host: ours, netd's ceiling, instructions per datagram.
bench-net: deps
	$(MAKE) $(B)/net.iso $(B)/netceil.iso $(B)/netload
	scripts/bench-net.sh

# Linux vmsplice(SPLICE_F_GIFT) and friends, on the host and in a Linux
# guest on the same QEMU, side by side with ours (bench/compare.sh).
compare: deps
	$(MAKE) $(B)/bench.iso $(B)/blk.iso $(B)/net.iso $(B)/netceil.iso $(B)/netload
	bench/compare.sh

# The Linux harness alone, dynamic and static, in build/compare-linux/.
HARNESS := page_transfer ipc_roundtrip blk_echo udp_echo tcp_echo
compare-linux: $(foreach h,$(HARNESS),$(B)/compare-linux/$(h) $(B)/compare-linux/$(h)-static)
$(B)/compare-linux/%: compare-linux/%.c compare-linux/common.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
$(B)/compare-linux/%-static: compare-linux/%.c compare-linux/common.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -static -o $@ $<

qemu: $(B)/kernel.iso
	ACCEL=$(ACCEL) scripts/run-qemu.sh --interactive $(B)/kernel.iso

qemu-gdb: $(B)/kernel.iso
	@echo "QEMU waits for GDB on :1234: gdb -ex 'target remote :1234' $(B)/kernel.elf"
	ACCEL=$(ACCEL) scripts/run-qemu.sh --interactive --gdb $(B)/kernel.iso

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
