#!/usr/bin/env bash
# demo-blk.sh [--disk PATH] [--out PATH] [--size MiB] [--null] [--icount] [BLK.iso]
# The block echo demo: the host makes a disk image of random data (or takes
# --disk, any multiple of 512 bytes), boots the guest with it as disk 0 and
# an empty disk 1 of the same size; blkecho copies disk 0 to disk 1 through
# blockd; the host then compares the two with cmp and sha256sum. The copy
# is left at --out (default build/disk1.img). Prints "demo-blk: 1 passed, 0
# failed" or the reverse, last. With --null both disks are QEMU's null-co
# backend of --size MiB (reads give zeros, writes go nowhere, no I/O
# behind them): blkecho's figures are then the driver path's own ceiling,
# and nothing is compared. The guest's console is in build/demo-blk.log
# (build/demo-blk-null.log with --null). --icount runs QEMU with -icount
# shift=0,sleep=off: blkecho's busy_ns_per_request is then instructions.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
disk="" out=build/disk1.img size=8 iso=build/blk.iso null=0 qargs=()
while [ $# -gt 0 ]; do
  case $1 in
    --null) null=1; shift ;;
    --icount) qargs+=(--icount); shift ;;
    --disk) disk=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) iso=$1; shift ;;
  esac
done
mkdir -p build
verdict() {
  echo "demo-blk: $1"
  if [ "$2" = ok ]; then echo "demo-blk: 1 passed, 0 failed"; exit 0; fi
  echo "demo-blk: 0 passed, 1 failed"; exit 1
}
if [ "$null" = 1 ]; then
  bytes=$((size * 1024 * 1024))
  export QEMU_EXTRA="-drive driver=null-co,size=$bytes,read-zeroes=on,if=none,id=d0 -device virtio-blk-pci,drive=d0,disable-legacy=on
  -drive driver=null-co,size=$bytes,if=none,id=d1 -device virtio-blk-pci,drive=d1,disable-legacy=on"
  "$here/run-qemu.sh" "${qargs[@]}" --timeout "${DEMO_TIMEOUT:-300}" --log build/demo-blk-null.log "$iso" | grep -aE '^(blockd|blkecho|fault|PANIC)'
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || verdict "the guest did not finish cleanly (status $status); see build/demo-blk-null.log" fail
  verdict "blkecho ran against two null-co disks of $size MiB (nothing to compare)" ok
fi
if [ -z "$disk" ]; then
  disk=build/disk0.img
  echo "demo-blk: making a ${size} MiB disk image of random data ($disk)"
  head -c $((size * 1024 * 1024)) /dev/urandom > "$disk"
fi
[ -f "$disk" ] || verdict "no such disk image: $disk" fail
bytes=$(stat -c %s "$disk")
[ $((bytes % 512)) -eq 0 ] && [ "$bytes" -gt 0 ] || verdict "$disk is $bytes bytes: not a positive multiple of 512" fail
rm -f "$out" && truncate -s "$bytes" "$out"
export QEMU_EXTRA="-drive file=$disk,if=none,id=d0,format=raw,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on
  -drive file=$out,if=none,id=d1,format=raw -device virtio-blk-pci,drive=d1,disable-legacy=on"
"$here/run-qemu.sh" "${qargs[@]}" --timeout "${DEMO_TIMEOUT:-300}" --log build/demo-blk.log "$iso" | grep -aE '^(blockd|blkecho|fault|PANIC)'
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || verdict "the guest did not finish cleanly (status $status); see build/demo-blk.log" fail
if cmp -s "$disk" "$out"; then
  sum=$(sha256sum "$out" | cut -d' ' -f1)
  verdict "disk 1 holds the same $bytes bytes as disk 0 (sha256 $sum)" ok
fi
verdict "disk 1 differs from disk 0: $(cmp "$disk" "$out" 2>&1 | head -1)" fail
