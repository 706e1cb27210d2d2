#!/usr/bin/env bash
# run-suite.sh NAME IMAGE.iso PREFIX [TIMEOUT]
# Boots an in-guest suite (QEMU_EXTRA adds devices), shows its lines and
# checks both QEMU's exit status and the suite's own summary line
# "PREFIX: N passed, M failed". Prints, last, "NAME: N passed, M failed".
set -uo pipefail
name=$1 iso=$2 prefix=$3 timeout_s=${4:-300}
here=$(cd "$(dirname "$0")" && pwd)
log=build/$name.log
mkdir -p build
start=$(date +%s.%N)
"$here/run-qemu.sh" --timeout "$timeout_s" --log "$log" "$iso" > /dev/null
status=$?
end=$(date +%s.%N)
grep -aE "^(kernel|boot|init|$prefix|blockd|fault|PANIC)" "$log" | tr -d '\r'
summary=$(grep -aE "^$prefix: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1 | tr -d '\r')
if [ -z "$summary" ]; then
  echo "$name: no summary line (QEMU status $status); last lines of $log:"
  tail -15 "$log"
  echo "$name: 0 passed, 1 failed"
  exit 1
fi
p=$(echo "$summary" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
f=$(echo "$summary" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
  echo "$name: the suite passed but QEMU did not exit cleanly (status $status)"
  f=1
fi
printf '%s: wall time %.1f s (boot, GRUB included)\n' "$name" "$(awk "BEGIN{print $end - $start}")"
echo "$name: $p passed, $f failed"
[ "$f" -eq 0 ]
