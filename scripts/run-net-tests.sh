#!/usr/bin/env bash
# run-net-tests.sh [NETTEST.iso]: netd's client-side test suite in QEMU,
# on QEMU's user-mode network (198.18.0.0/24, nothing forwarded from the
# host). Prints, last, "net: N passed, M failed".
set -uo pipefail
export QEMU_EXTRA="-netdev user,id=n0,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15 -device virtio-net-pci,netdev=n0,disable-legacy=on"
exec "$(dirname "$0")/run-suite.sh" net "${1:-build/nettest.iso}" nettest "${NET_TIMEOUT:-120}"
