#!/usr/bin/env bash
# run-blk-tests.sh [BLKTEST.iso]: blockd's client-side test suite in QEMU
# with two small disks: a read-only modern virtio-blk one (writes to it
# fail in the device) and a writable transitional one. Prints, last,
# "blk: N passed, M failed".
set -uo pipefail
mkdir -p build
head -c 1048576 /dev/urandom > build/blktest0.img
rm -f build/blktest1.img && truncate -s 1M build/blktest1.img
export QEMU_EXTRA="-drive file=build/blktest0.img,if=none,id=d0,format=raw,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on
  -drive file=build/blktest1.img,if=none,id=d1,format=raw -device virtio-blk-pci,drive=d1"
exec "$(dirname "$0")/run-suite.sh" blk "${1:-build/blktest.iso}" blktest "${BLK_TIMEOUT:-120}"
