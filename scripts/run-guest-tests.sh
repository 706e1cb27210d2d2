#!/usr/bin/env bash
# run-guest-tests.sh TEST.iso [LOG]
# Boots the in-guest test suite under QEMU (TCG unless ACCEL=kvm), with a
# timeout, and checks both QEMU's exit status and the suite's summary line.
# Prints, last, "guest: N passed, M failed".
set -uo pipefail
iso=$1
log=${2:-build/guest-test.log}
timeout_s=${GUEST_TIMEOUT:-300}
here=$(dirname "$0")
start=$(date +%s.%N)
"$here/run-qemu.sh" --timeout "$timeout_s" --log "$log" "$iso" > /dev/null
status=$?
end=$(date +%s.%N)
grep -aE '^(kernel|boot|init|ktest|fault|PANIC)' "$log" | tr -d '\r'
summary=$(grep -aE '^ktest: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | tr -d '\r')
if [ -z "$summary" ]; then
  echo "guest: no summary line (QEMU status $status); last lines of $log:"
  tail -15 "$log"
  echo "guest: 0 passed, 1 failed"
  exit 1
fi
p=$(echo "$summary" | sed -E 's/ktest: ([0-9]+) passed, ([0-9]+) failed/\1/')
f=$(echo "$summary" | sed -E 's/ktest: ([0-9]+) passed, ([0-9]+) failed/\2/')
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
  echo "guest: the suite passed but QEMU did not exit cleanly (status $status)"
  f=1
fi
printf 'guest: wall time %.1f s (boot, GRUB included)\n' "$(awk "BEGIN{print $end - $start}")"
echo "guest: $p passed, $f failed"
[ "$f" -eq 0 ]
