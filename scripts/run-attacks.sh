#!/usr/bin/env bash
# run-attacks.sh [--count N] [--icount] [--only A,B]: hostile clients
# beside a good one (issue 16).
# Boots netd + netecho (the good client: UDP echo on port 7) beside one
# attacker per boot: netattack:0 (none), hog:8 (1: a kernel-object flood,
# from boot), netattack:2 (a session flood), :3 (hoarding: frames donated
# once, never collected, while the host sends it datagrams), :4 (death
# mid-request, round after round), :5 (protocol abuse). The host measures
# netecho's UDP echo (1472 bytes, 64 in flight, N datagrams) before it
# tells the attacker to start (a datagram to port 9999) and while it runs;
# then, still during the attack, paced at 40% of its rate alone (a client
# that needs that much, not all it can get: what it is served of that,
# and the 99th percentile of its round trips, against the same paced
# before the attack).
# A seventh boot, netattack:6, is no attack: a neighbour that only
# computes, what any principal may do with its share of the CPU.
# Checks per boot: the good client is served in both phases (at most a
# tenth of a phase's datagrams lost); netd's own memory
# is the same before and after; what the attacker should have met (the
# session table full, its own drops counted, its rounds, netd's refusals);
# no fault. Prints each attack's throughput during as a share of before
# (wall clock under TCG: figures, not checks) and writes them to
# build/attacks.md; the last line is "attacks: N passed, M failed".
# --icount runs the guests under -icount shift=0,sleep=off, where the CPU
# is the limit (the rates are then of instructions, not of TCG's speed);
# --only runs the named attacks (numbers as above, 0 first for a share).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
count=30000 icount="" only="0 1 2 3 4 5 6"
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --icount) icount=" -icount shift=0,sleep=off"; shift ;;
    --only) only=${2//,/ }; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-attacks: unknown argument '$1' (see --help)"; exit 2 ;;
  esac
done
case $count in ''|*[!0-9]*) echo "run-attacks: --count wants a number, not '$count'"; exit 2 ;; esac
for a in $only; do
  case $a in [0-6]) ;; *) echo "run-attacks: --only wants attack numbers 0-6, not '$a'"; exit 2 ;; esac
done
mode=${ACCEL:-tcg}
[ -n "$icount" ] && mode=tcg-icount
mkdir -p build
make -s build/netload >/dev/null || exit 1
# shellcheck source=scripts/net-guest.sh
. "$here/net-guest.sh"
NET_SUITE=attacks
net_free_ports 3 || exit 1
read -r u7 u9 ugo <<<"$NET_PORTS"
net="-netdev user,id=n0,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15"
net+=",hostfwd=udp:127.0.0.1:$u7-198.18.0.15:7,hostfwd=udp:127.0.0.1:$u9-198.18.0.15:9"
net+=",hostfwd=udp:127.0.0.1:$ugo-198.18.0.15:9999 -device virtio-net-pci,netdev=n0,disable-legacy=on$icount"
names=("none" "kernel-object flood (hog:8)" "session flood" "hoarding" "death mid-request" "protocol abuse"
       "busy neighbour (no attack)")
table=build/attacks.md
{
  echo "# The attacks on netd beside a good client (QEMU $mode, wall clock)"
  echo
  echo "netecho's UDP echo of 1472-byte datagrams, 64 in flight, $count a phase; netd's own memory before and after."
  echo
  echo "Paced: the same client sending at 40% of its rate before the attack, $((count / 3)) datagrams: its echo rate as a"
  echo "share of that pace, and the 99th percentile of its round trips before and during (it lost none: a phase that loses"
  echo "more than a tenth fails)."
  echo
  echo "| attack | echoes/s before | during | share | lost before | during | paced: served | p99 before | p99 during | netd KiB before | after | the attacker |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$table"

# netd's own memory (KiB) from netecho's newest counters line.
netd_kib() { grep -a '^netecho:7 ' "$1" | tail -1 | sed -nE 's/.* ([0-9]+) KiB own memory.*/\1/p'; }
pps() { echo "$1" | sed -nE 's/.* pps=([0-9]+).*/\1/p'; }
wait_line() { # LOG PATTERN SECONDS
  for _ in $(seq 1 $((10 * $3))); do grep -aq "$2" "$1" && return 0; sleep 0.1; done
  return 1
}
base_pps=""
for a in $only; do
  log=build/attack-$a.log
  echo "attacks: $a: ${names[$a]}..."
  if ! net_guest_start "build/attack-$a.iso" "$log" 600 "$net" "netecho: listening"; then
    note 1 "${names[$a]}: the guest came up (see $log)"
    continue
  fi
  [ "$a" = 1 ] || wait_line "$log" "netattack:$a waits" 30
  sleep 5.5 # netecho's first counters line
  kib0=$(netd_kib "$log")
  before=$(build/netload udp-bench --port "$u7" --size 1472 --count "$count" --window 64 --timeout 120 | grep '^BENCH')
  st_before=$?
  pace=$(( $(pps "$before" || true) * 2 / 5 ))
  [ "$pace" -gt 0 ] || pace=1000
  paced0=$(build/netload udp-bench --port "$u7" --size 1472 --count $((count / 3)) --window 64 --pace "$pace" --timeout 120 | grep '^BENCH')
  if [ "$a" != 1 ]; then
    build/netload send --port "$ugo" --text go >/dev/null
    wait_line "$log" "netattack:$a starts" 30
  fi
  sender=""
  if [ "$a" = 3 ]; then # datagrams for the hoarder, more than its 64 frames take
    (for _ in $(seq 1 300); do build/netload send --port "$u9" --text "$(printf '%0500d' 0)" >/dev/null 2>&1; done) &
    sender=$!
  fi
  sleep 3
  during=$(build/netload udp-bench --port "$u7" --size 1472 --count "$count" --window 64 --timeout 120 | grep '^BENCH')
  st_during=$?
  paced1=$(build/netload udp-bench --port "$u7" --size 1472 --count $((count / 3)) --window 64 --pace "$pace" --timeout 120 | grep '^BENCH')
  served=$(awk -v a="$(pps "$paced1")" -v b="$pace" 'BEGIN { printf "%d", (b > 0 ? 100 * a / b + 0.5 : 0) }')
  plost=$(echo "$paced1" | sed -nE 's/.* lost=([0-9]+).*/\1/p')
  rtt0=$(echo "$paced0" | sed -nE 's/.* rtt_p99_us=([0-9]+).*/\1/p') rtt1=$(echo "$paced1" | sed -nE 's/.* rtt_p99_us=([0-9]+).*/\1/p')
  echo "attacks:      ${names[$a]}: paced at $pace a second during the attack, served $served% of that rate, ${plost:-?} lost; 99% of round trips within ${rtt0:-?} us before, ${rtt1:-?} us during"
  [ -z "$sender" ] || wait "$sender" # not the guest, which runs in the background too
  sleep 6 # the attacker's and netecho's next lines
  # (under -icount its 5 s are instructions: a busy guest takes longer)
  case $a in 3) wait_line "$log" '^netattack:3 its session' 60 ;; 4|5|6) wait_line "$log" "^netattack:$a [0-9]* rounds" 60 ;; esac
  kib1=$(netd_kib "$log")
  p0=$(pps "$before") p1=$(pps "$during")
  [ "$a" = 0 ] && base_pps=$p0
  ref=$p0
  [ "$a" = 1 ] && ref=${base_pps:-$p0} # hog runs from boot: its "before" is under attack too
  share=$(awk -v a="${p1:-0}" -v b="${ref:-0}" 'BEGIN { printf "%d", (b > 0 ? 100 * a / b : 0) }')
  lost0=$(echo "$before" | sed -nE 's/.* lost=([0-9]+).*/\1/p') lost1=$(echo "$during" | sed -nE 's/.* lost=([0-9]+).*/\1/p')
  # each phase echoed, at most a tenth lost (how fast is a figure, not a check)
  [ "$st_before" -eq 0 ] && [ "$st_during" -eq 0 ] && [ "${p1:-0}" -gt 0 ] && [ $((10 * ${lost1:-$count})) -le "$count" ] &&
    [ $((30 * ${plost:-$count})) -le "$count" ]
  note $? "${names[$a]}: the good client was served before and during: ${p0:-?} and ${p1:-?} echoes a second ($share% of ${ref:-?}), ${lost0:-?} and ${lost1:-?} of $count lost (${plost:-?} of $((count / 3)) paced)"
  [ -n "$kib0" ] && [ "$kib0" = "$kib1" ]
  note $? "${names[$a]}: netd's own memory ${kib0:-?} KiB before and ${kib1:-?} KiB after"
  what=""
  case $a in
    0) what="idle"; true ;;
    1) what=$(grep -a '^hog: round' "$log" | tail -1 | tr -d '\r'); [ -n "$what" ] ;;
    2) what=$(grep -a '^netattack:2 holds' "$log" | tail -1 | tr -d '\r')
       echo "$what" | grep -qE 'holds [1-9][0-9]* sessions .*refused: NO_MEMORY' ;;
    3) what=$(grep -a '^netattack:3 its session' "$log" | tail -1 | tr -d '\r')
       drops=$(echo "$what" | sed -nE 's/.* ([0-9]+) with no spare.*/\1/p')
       [ "${drops:-0}" -gt 0 ] ;;
    4) what=$(grep -a '^netattack:4 ' "$log" | tail -1 | tr -d '\r')
       echo "$what" | grep -qE ' [1-9][0-9]* rounds' ;;
    6) what=$(grep -a '^netattack:6 ' "$log" | tail -1 | tr -d '\r')
       echo "$what" | grep -qE ' [1-9][0-9]* rounds' ;;
    5) what=$(grep -a '^netattack:5 ' "$log" | tail -1 | tr -d '\r')
       echo "$what" | grep -qE 'BAD_SYSCALL [0-9]+' && echo "$what" | grep -qE 'BAD_STATE [0-9]+' ;;
  esac
  note $? "${names[$a]}: ${what:-nothing printed}"
  grep -aqE 'fault|PANIC|assertion' "$log"
  [ $? -ne 0 ]
  note $? "${names[$a]}: no fault in the guest"
  echo "| ${names[$a]} | ${p0:-?} | ${p1:-?} | $share% | ${lost0:-?} | ${lost1:-?} | $served% | ${rtt0:-?} us | ${rtt1:-?} us | ${kib0:-?} | ${kib1:-?} | ${what//|/-} |" >>"$table"
  net_guest_stop
done
cat "$table"
echo "attacks: $passed passed, $failed failed (QEMU $mode)"
[ "$failed" -eq 0 ]
