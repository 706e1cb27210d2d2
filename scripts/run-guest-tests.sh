#!/usr/bin/env bash
# run-guest-tests.sh [TEST.iso]: the in-guest kernel test suite (ktest)
# under QEMU (TCG unless ACCEL=kvm), with a timeout. Prints, last,
# "guest: N passed, M failed".
exec "$(dirname "$0")/run-suite.sh" guest "${1:-build/test.iso}" ktest "${GUEST_TIMEOUT:-300}"
