#!/usr/bin/env bash
# demo.sh KERNEL.iso: boot the system; the root task checks what the kernel
# gave it, prints its accounting and stops QEMU with its verdict.
# Prints, last, "demo: N passed, M failed" over the self-check's lines.
set -uo pipefail
iso=${1:-build/kernel.iso}
log=build/demo.log
here=$(dirname "$0")
start=$(date +%s.%N)
"$here/run-qemu.sh" --timeout "${DEMO_TIMEOUT:-120}" --log "$log" "$iso"
status=$?
end=$(date +%s.%N)
p=$(grep -ac '^init: ok ' "$log")
f=$(grep -ac '^init: FAIL' "$log")
grep -q 'init: self-check passed' "$log" || f=$((f + 1))
[ "$status" -eq 0 ] || { echo "demo: QEMU status $status"; f=$((f + 1)); }
printf 'demo: boot to verdict in %.1f s wall time (%s)\n' "$(awk "BEGIN{print $end - $start}")" "${ACCEL:-tcg}"
echo "demo: $p passed, $f failed"
[ "$f" -eq 0 ]
