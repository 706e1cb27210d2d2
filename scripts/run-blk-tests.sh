#!/usr/bin/env bash
# run-blk-tests.sh [BLKTEST.iso]: blockd's client-side test suite in QEMU
# with two small disks: a read-only modern virtio-blk one (writes to it
# fail in the device) and a writable transitional one. Prints,
# last, "blk: N passed, M failed".
set -uo pipefail
iso=${1:-build/blktest.iso}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p build
head -c 1048576 /dev/urandom > build/blktest0.img
rm -f build/blktest1.img && truncate -s 1M build/blktest1.img
export QEMU_EXTRA="-drive file=build/blktest0.img,if=none,id=d0,format=raw,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on
  -drive file=build/blktest1.img,if=none,id=d1,format=raw -device virtio-blk-pci,drive=d1"
"$here/run-qemu.sh" --timeout "${BLK_TIMEOUT:-120}" --log build/blktest.log "$iso" | grep -aE '^(blockd|blktest|fault|PANIC)'
status=${PIPESTATUS[0]}
summary=$(grep -aE '^blktest: [0-9]+ passed, [0-9]+ failed' build/blktest.log | tail -1 | tr -d '\r')
if [ -z "$summary" ]; then
  echo "blk: no summary (QEMU status $status)"
  echo "blk: 0 passed, 1 failed"
  exit 1
fi
p=$(echo "$summary" | sed -E 's/blktest: ([0-9]+) passed, ([0-9]+) failed/\1/')
f=$(echo "$summary" | sed -E 's/blktest: ([0-9]+) passed, ([0-9]+) failed/\2/')
[ "$status" -eq 0 ] || [ "$f" -ne 0 ] || { echo "blk: the suite passed but QEMU status was $status"; f=1; }
echo "blk: $p passed, $f failed"
[ "$f" -eq 0 ]
