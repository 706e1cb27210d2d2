#!/usr/bin/env bash
# linux-guest.sh [--icount] [--out FILE]
# Boots Debian's Linux kernel in QEMU (TCG, the same emulator and machine as
# our kernel) with an initramfs holding busybox and the compare-linux
# harness linked statically, runs the scenarios and collects their BENCH
# lines (accel=tcg, or tcg-icount with --icount, where the harness reports
# rdtsc ticks, which count instructions exactly there): ipc_roundtrip via
# pipe, eventfd, futex and futex-thread; page_transfer in every mode
# (touch sum devnull copy splice-nogift memfd-futex memfd-eventfd phases)
# for 4 KiB-2 MiB; without --icount also blk_echo on two virtio-blk disks
# for 4 KiB-1 MiB requests at depths 1, 8 and 32. FILE is removed first and
# written only by a finished guest; a harness run that fails in the guest
# is named on stderr and the exit status is 3 (its line is missing, the
# others are kept); a guest that does not finish: status 1, no FILE.
set -uo pipefail
icount=0 out=""
while [ $# -gt 0 ]; do
  case $1 in
    --icount) icount=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "linux-guest: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
[ -z "$out" ] || rm -f "$out"
kernel=$(ls build/linux/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$kernel" ] || { echo "linux-guest: no kernel in build/linux: run scripts/deps-compare.sh" >&2; exit 1; }
root=build/linux/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$root/bin/busybox"
for t in sh mount poweroff cat echo grep insmod sync; do ln -sf busybox "$root/bin/$t"; done
# The virtio drivers are modules in Debian's kernel.
mods=$(ls -d build/linux/lib/modules/*/kernel/drivers | head -1)
mkdir -p "$root/lib/modules"
for m in virtio/virtio virtio/virtio_ring virtio/virtio_pci_modern_dev virtio/virtio_pci_legacy_dev \
         virtio/virtio_pci block/virtio_blk; do
  cp "$mods/$m.ko" "$root/lib/modules/"
done
for p in page_transfer ipc_roundtrip blk_echo; do
  gcc -O2 -Wall -Wextra -Werror -static -o "$root/bin/$p" "compare-linux/$p.c" || exit 1
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
mode=tcg; tsc=""
grep -q bench_mode=tcg-icount /proc/cmdline && { mode=tcg-icount; tsc=--tsc; }
export BENCH_ACCEL=$mode
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do  # dependency order
  insmod /lib/modules/$m.ko
done
run() { "$@" || echo "LINUX-GUEST-FAILED $*"; }
for via in pipe eventfd futex futex-thread; do
  run ipc_roundtrip --iters 20000 --via $via $tsc
done
for mode_ in touch sum devnull copy splice-nogift memfd-futex memfd-eventfd phases; do
  for size in 4096 32768 262144 2097152; do
    iters=$((33554432 / size)); [ $iters -gt 4000 ] && iters=4000
    run page_transfer --size $size --iters $iters --mode $mode_ $tsc
  done
done
if [ $mode = tcg ]; then
  if [ -b /dev/vda ] && [ -b /dev/vdb ]; then
    for depth in 1 8 32; do
      for size in 4096 16384 65536 262144 1048576; do
        run blk_echo --in /dev/vda --out /dev/vdb --size $size --depth $depth
      done
    done
  else
    echo "LINUX-GUEST-FAILED blk_echo: no /dev/vda and /dev/vdb"
  fi
fi
echo LINUX-GUEST-DONE
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > build/linux/initramfs.cpio.gz
# The same two disks as our block echo benchmark: 16 MiB, modern virtio-blk.
head -c 16777216 /dev/urandom > build/linux/disk0.img
rm -f build/linux/disk1.img && truncate -s 16M build/linux/disk1.img
args=(-m 512M -no-reboot -display none -serial stdio -accel tcg -cpu qemu64
      -kernel "$kernel" -initrd build/linux/initramfs.cpio.gz
      -drive file=build/linux/disk0.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0,disable-legacy=on
      -drive file=build/linux/disk1.img,if=none,id=d1,format=raw -device virtio-blk-pci,drive=d1,disable-legacy=on)
append="console=ttyS0 quiet panic=-1"
if [ "$icount" = 1 ]; then
  args+=(-icount shift=0,sleep=off)
  append="$append bench_mode=tcg-icount"
fi
echo "linux-guest: booting $(basename "$kernel") under $( [ "$icount" = 1 ] && echo tcg-icount || echo tcg )..." >&2
log=build/linux/guest-$([ "$icount" = 1 ] && echo icount || echo wall).log
timeout -k 5 "${LINUX_TIMEOUT:-900}" qemu-system-x86_64 "${args[@]}" -append "$append" < /dev/null > "$log" 2>&1
grep -q LINUX-GUEST-DONE "$log" || { echo "linux-guest: the guest did not finish; see $log" >&2; exit 1; }
if [ -n "$out" ]; then tr -d '\r' < "$log" | grep '^BENCH' > "$out"; else tr -d '\r' < "$log" | grep '^BENCH'; fi
failed=$(tr -d '\r' < "$log" | grep '^LINUX-GUEST-FAILED' | sed 's/^LINUX-GUEST-FAILED /  /')
[ -z "$failed" ] || { printf 'linux-guest: these failed in the guest (see %s):\n%s\n' "$log" "$failed" >&2; exit 3; }
