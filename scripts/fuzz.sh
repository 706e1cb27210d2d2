#!/usr/bin/env bash
# fuzz.sh [--seed N] [--seeds K] [--ops M] [--flags F] [--timeout S] [--name NAME]
# Boots kfuzz on the checking kernel (build/kfuzz/kernel.elf) once per seed
# N, N+1, ... N+K-1, M operations each (flags: 1 no frame named as both a
# capability and a gift, 2 no IPC buffer taken from a sibling, 4 no revoke
# of the VSpace slot, 8 no DMA pins). A seed fails on a failed invariant check, an error
# code out of range, a user fault, a kernel panic or a hang (no console
# output for HANG_S seconds: then QEMU's monitor is asked for the registers,
# and r12 names the operation the kernel was serving). Prints the figures
# and, last, "NAME: P passed, F failed" counted over seeds.
# QEMU runs with -icount shift=0,sleep=off: the guest's clock and timer
# interrupts follow its instruction count, so a seed replays the same
# operations in the same order (FUZZ_ICOUNT=0: wall-clock timing instead).
set -uo pipefail
seed=1 seeds=4 ops=1500000 flags=0 timeout_s=600 name=fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --seed) seed=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --ops) ops=$2; shift 2 ;;
    --flags) flags=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
hang_s=${HANG_S:-30}
icount=--icount
[ "${FUZZ_ICOUNT:-1}" = 0 ] && icount=
port=${FUZZ_MONITOR_PORT:-47311}
kernel=build/kfuzz/kernel.elf
mkdir -p build/fuzz
logs=() passed=0 failed=0 total_ops=0 threads= principals= total_checks=0 total_faults=0
start=$(date +%s)

# One QEMU monitor command on fd 3; its answer on stdout.
monitor() {
  printf '%s\n' "$1" >&3
  timeout 1 cat <&3 | tr -d '\r'
}

# The operation a hung kernel is serving: where the kernel is, and r12 of
# the worker system call it serves, read from the current thread's saved
# user context (cpu0.cur, offset 16 of cpu0; r13 and r12 at 16 and 24).
hung_op() {
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return
  local rip cpu0 cur ctx r12 r13
  rip=$(monitor 'info registers' | grep -ao 'RIP=[0-9a-f]*' | head -1 | cut -d= -f2)
  echo "$name: kernel at $(addr2line -f -e "$kernel" "$rip" 2>/dev/null | head -1) (rip $rip)"
  cpu0=$(nm "$kernel" | awk '$3 == "cpu0" {print $1}')
  cur=$(monitor "x /1gx 0x$(printf '%x' $((16#$cpu0 + 16)))" | grep -aE '^[0-9a-f]+: ' | head -1 | sed 's/.*: 0x//')
  if [ -n "$cur" ]; then
    ctx=$(monitor "x /4gx 0x$cur" | grep -aE '^[0-9a-f]+: ' | sed 's/^[0-9a-f]*: //' | tr '\n' ' ')
    r13=$(echo "$ctx" | awk '{print $3}' | sed 's/^0x//')
    r12=$(echo "$ctx" | awk '{print $4}' | sed 's/^0x//')
    [[ $r13 == 6b66757a7a* ]] && echo "$name: hung in operation $((16#$r12)) of worker $((16#${r13:10}))"
  fi
  exec 3>&-
}

run_seed() {
  local s=$1 arg iso log pidf status
  arg=$(( s | (flags << 24) | (ops << 32) ))
  iso=build/fuzz/kfuzz-$s.iso log=build/fuzz/kfuzz-$s.log pidf=build/fuzz/qemu.pid
  scripts/mkiso.sh "$iso" "$kernel" build/init.elf "build/kfuzz.elf=kfuzz:$arg" || return 1
  rm -f "$pidf" "$log"
  logs+=("$log")
  QEMU_EXTRA="-monitor tcp:127.0.0.1:$port,server,nowait -pidfile $pidf" \
    scripts/run-qemu.sh $icount --timeout "$timeout_s" --log "$log" "$iso" > /dev/null 2> "$log.err" &
  local runner=$! last=-1 still=0
  while kill -0 "$runner" 2>/dev/null; do
    sleep 2
    local size
    size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [ "$size" = "$last" ]; then still=$((still + 2)); else still=0; last=$size; fi
    if [ "$still" -ge "$hang_s" ]; then
      echo "$name: seed $s: no console output for ${hang_s}s: the kernel hangs"
      hung_op
      [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
      break
    fi
  done
  wait "$runner"
  status=$?
  tr -d '\r' < "$log" | grep -aE '^(kfuzz: (seed|FAIL|[0-9]+ passed)|invariant:|fault:|PANIC|kernel (page|general|.*fault))' |
    grep -av 'kfuzz: seed [0-9]*, ' | head -40
  if grep -aq 'its user registers' "$log"; then
    local regs r12 r13
    regs=$(tr -d '\r' < "$log" | sed -n '/its user registers/,/r13/p')
    r12=$(echo "$regs" | grep -o 'r12 [0-9a-f]*' | cut -d' ' -f2)
    r13=$(echo "$regs" | grep -o 'r13 [0-9a-f]*' | cut -d' ' -f2)
    local nr
    nr=$(echo "$regs" | grep -o 'rax [0-9a-f]*' | head -1 | cut -d' ' -f2)
    [[ $r13 == 6b66757a7a* ]] &&
      echo "$name: seed $s: the kernel faulted serving operation $((16#$r12)) (system call $((16#$nr))) of worker $((16#${r13:10}))"
  fi
  local n c f
  n=$(tr -d '\r' < "$log" | sed -nE 's/^kfuzz: seed [0-9]+: ([0-9]+) operations.*/\1/p' | tail -1)
  threads=$(tr -d '\r' < "$log" | sed -nE 's/^kfuzz: seed .* ([0-9]+) principals, ([0-9]+) worker threads$/\2/p' | tail -1)
  principals=$(tr -d '\r' < "$log" | sed -nE 's/^kfuzz: seed .* ([0-9]+) principals, ([0-9]+) worker threads$/\1/p' | tail -1)
  c=$(tr -d '\r' < "$log" | sed -nE 's/^kfuzz: seed [0-9]+: invariant checks ([0-9]+).*/\1/p' | tail -1)
  f=$(grep -ac '^fault:' "$log")
  total_ops=$((total_ops + ${n:-0})) total_checks=$((total_checks + ${c:-0})) total_faults=$((total_faults + f))
  if [ "$status" -eq 0 ] && grep -aq '^kfuzz: 1 passed, 0 failed' "$log" && [ "$f" -eq 0 ]; then
    echo "$name: seed $s passed: ${n:-0} operations, ${c:-0} invariant checks"
    return 0
  fi
  echo "$name: seed $s FAILED (QEMU status $status; replay: make fuzz FUZZ_SEED=$s FUZZ_SEEDS=1 FUZZ_OPS=$ops FUZZ_FLAGS=$flags)"
  return 1
}

for ((i = 0; i < seeds; i++)); do
  if run_seed $((seed + i)); then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
wall=$(( $(date +%s) - start ))
echo "$name: per system call over all seeds (success, error):"
cat "${logs[@]}" 2>/dev/null | tr -d '\r' | grep -aE '^kfuzz: [A-Z_()a-z ]+ +[0-9]+ +[0-9]+$' |
  awk '{n=$NF; o=$(NF-1); $1=""; $NF=""; $(NF-1)=""; gsub(/^ +| +$/, ""); ok[$0]+=o; err[$0]+=n}
       END {for (k in ok) printf "%s:   %-24s %10d %10d\n", "'"$name"'", k, ok[k], err[k]}' | sort
echo "$name: $total_ops operations, ${threads:-?} worker threads and ${principals:-?} principals per seed, $seeds seeds, $total_checks invariant checks, faults: $total_faults, wall time ${wall} s"
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
