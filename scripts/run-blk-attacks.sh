#!/usr/bin/env bash
# run-blk-attacks.sh [--only A,B]: hostile clients of blockd beside a good
# one (issue 16). One boot per attacker: blockd, blkgood (the good client:
# 64 KiB reads of disk 0, one at a time) and blkattack:N, N = 0 none,
# 2 a session flood (sessions of 64 KiB from all its memory), 3 hoarding
# (reads as many as blockd takes, never collected), 4 death mid-request
# (sessions and frames from fresh memory, reads submitted, the memory
# revoked at once, round after round), 5 protocol abuse, and 6 a
# neighbour that only computes (no attack: what any principal may do with
# its share of the CPU). blkgood reads 512 MiB alone, starts the attacker,
# waits a second and reads 512 MiB beside it.
# Checks per boot: every read of the good client succeeded and blockd's own
# memory is the same before and during (blkgood's verdict); the attacker
# met what it should (a flood ends in its own NO_MEMORY, the hoard is
# refused more, rounds happened, refusals were counted); no fault.
# The throughput shares (wall clock under TCG) are figures, not checks, in
# build/blk-attacks.md; the last line is "blk-attacks: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
only="0 2 3 4 5 6"
while [ $# -gt 0 ]; do
  case $1 in
    --only) only=${2//,/ }; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-blk-attacks: unknown argument '$1' (see --help)"; exit 2 ;;
  esac
done
for a in $only; do
  case $a in 0|2|3|4|5|6) ;; *) echo "run-blk-attacks: --only wants attack numbers 0 and 2-6, not '$a'"; exit 2 ;; esac
done
mkdir -p build
disk=build/blk-attacks.img
head -c 16777216 /dev/urandom > "$disk"
export QEMU_EXTRA="-drive file=$disk,if=none,id=d0,format=raw,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on"
names=([0]="none" [2]="session flood" [3]="hoarding" [4]="death mid-request" [5]="protocol abuse"
       [6]="busy neighbour (no attack)")
table=build/blk-attacks.md
{
  echo "# The attacks on blockd beside a good client (QEMU ${ACCEL:-tcg}, wall clock)"
  echo
  echo "blkgood's reads of disk 0, 64 KiB each, one at a time, 8192 a phase (512 MiB); blockd's own memory before and during."
  echo
  echo "| attack | MB/s before | during | share | blockd bytes before | during | the attacker |"
  echo "|---|---|---|---|---|---|---|"
} >"$table"
passed=0 failed=0
note() { # STATUS TEXT
  if [ "$1" -eq 0 ]; then passed=$((passed + 1)); echo "blk-attacks: ok   $2"
  else failed=$((failed + 1)); echo "blk-attacks: FAIL $2"; fi
}
for a in $only; do
  iso=build/blkattack-$a.iso log=build/blkattack-$a.log
  echo "blk-attacks: $a: ${names[$a]}..."
  "$here/run-qemu.sh" --timeout 300 --log "$log" "$iso" >/dev/null
  status=$?
  line=$(grep -a '^blkgood: before' "$log" | tail -1 | tr -d '\r')
  note "$status" "${names[$a]}: every read of the good client succeeded, blockd's memory the same (${line#blkgood: })"
  b=$(echo "$line" | sed -nE 's/.*before ([0-9.]+) MB.*/\1/p') d=$(echo "$line" | sed -nE 's/.*during ([0-9.]+) MB.*/\1/p')
  share=$(echo "$line" | sed -nE 's/.*MB\/s \(([0-9]+)%\).*/\1/p')
  m0=$(echo "$line" | sed -nE 's/.*memory ([0-9]+) and.*/\1/p') m1=$(echo "$line" | sed -nE 's/.*and ([0-9]+) bytes.*/\1/p')
  what=$(grep -a "^blkattack:$a " "$log" | grep -av 'waits\|starts' | tail -1 | tr -d '\r')
  case $a in
    0) what=idle; true ;;
    2) what=$(grep -a '^blkattack:2 holds' "$log" | tail -1 | tr -d '\r')
       echo "$what" | grep -qE 'holds [0-9]{2,} sessions .*met NO_MEMORY' ;;
    3) grep -aq '^blkattack:3 hoards 64 reads' "$log" && echo "$what" | grep -qE ' [1-9][0-9]* rounds.* (FULL|NO_MEMORY|RANGE|BAD_STATE) [0-9]+' ;;
    4) echo "$what" | grep -qE ' [1-9][0-9]{2,} rounds; answers: OK [1-9]' ;;
    5) echo "$what" | grep -qE 'BAD_SYSCALL [0-9]+' && echo "$what" | grep -qE 'BAD_STATE [0-9]+' ;;
    6) echo "$what" | grep -qE ' [1-9][0-9]* rounds' ;;
  esac
  note $? "${names[$a]}: ${what:-nothing printed}"
  grep -aqE 'fault|PANIC|assertion' "$log"
  [ $? -ne 0 ]
  note $? "${names[$a]}: no fault in the guest"
  echo "| ${names[$a]} | ${b:-?} | ${d:-?} | ${share:-?}% | ${m0:-?} | ${m1:-?} | ${what//|/-} |" >>"$table"
done
cat "$table"
echo "blk-attacks: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
