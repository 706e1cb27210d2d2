#!/usr/bin/env bash
# report.sh [--disk-mib N] [--out DIR] [REPORT.iso]
# The per-principal report, drawn. Boots both demos and an attacker side by
# side: blockd and blkecho (the block echo demo on a disk of random data),
# netd and netecho (UDP echo driven from the host through 127.0.0.1), and
# hog, which floods kernel objects from its own memory round after round;
# `acct` asks init for the report every 250 ms. From the ACCT lines it
# writes, in --out (default build/report):
#   acct.csv     every sample: ms, principal, name, objects, used, cpu_us, lent, held
#   memory.png   each principal's kernel objects and frames over time, stacked
#   cpu.png      each principal's share of the CPU over time, stacked
#   report.md    a table: per principal, memory at start / peak / end, CPU time
# The run ends when blkecho has copied the disk. It checks that the drivers'
# and init's memory did not move and that hog's flood filled and emptied;
# last line: "report: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/net-guest.sh"
NET_SUITE=report
iso=build/report.iso out=build/report mib=8
while [ $# -gt 0 ]; do
  case $1 in
    --disk-mib) mib=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) iso=$1; shift ;;
  esac
done
command -v gnuplot >/dev/null || { echo "report: gnuplot missing: run scripts/deps.sh" >&2; exit 2; }
mkdir -p "$out"
log=$out/console.log
head -c $((mib << 20)) /dev/urandom > "$out/disk0.img"
rm -f "$out/disk1.img" && truncate -s $((mib << 20)) "$out/disk1.img"
net_free_ports 2 || exit 1
read -r udp tcp <<< "$NET_PORTS"
disks="-drive file=$out/disk0.img,if=none,id=d0,format=raw,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on
 -drive file=$out/disk1.img,if=none,id=d1,format=raw -device virtio-blk-pci,drive=d1,disable-legacy=on"
echo "report: booting blockd+blkecho, netd+netecho, hog and acct (QEMU ${ACCEL:-tcg}); console in $log"
QEMU_MEM=512M net_guest_start "$iso" "$log" 600 "$disks $(net_user_echo "$udp" "$tcp")" "netecho: listening" ||
  net_guest_failed "$log"
# UDP echo from the host for as long as the guest runs (bounded: 2000 rounds).
(for _ in $(seq 1 2000); do
   kill -0 "$NET_GUEST_PID" 2>/dev/null || break
   "$here/../build/netload" udp-bench --port "$udp" --size 512 --count 200 --timeout 10 >/dev/null 2>&1
 done) &
load=$!
wait "$NET_GUEST_PID"
status=$?
NET_GUEST_PID=
kill "$load" 2>/dev/null; wait "$load" 2>/dev/null
give_up() { echo "report: $1"; echo "report: 0 passed, 1 failed"; exit 1; }
[ "$status" -eq 0 ] || give_up "the guest did not finish cleanly (status $status); see $log"
cmp -s "$out/disk0.img" "$out/disk1.img" || give_up "blkecho's copy differs from the disk"

awk '/^ACCT .* name=/ {
       for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
       print v["ms"] "," v["principal"] "," v["name"] "," v["objects"] "," v["used"] "," v["cpu_us"] "," v["lent"] "," v["held"]
     }' "$log" > "$out/acct.csv"
samples=$(awk -F, '$3 == "init"' "$out/acct.csv" | wc -l)
[ "$samples" -ge 3 ] || give_up "only $samples samples of the report in $log"
names=$(awk -F, '$3 != "pool" && !seen[$3]++ { print $3 }' "$out/acct.csv")

# One column per principal, one row per sample: memory in MiB, and the CPU
# share each had since the previous sample.
awk -F, -v names="$names" '
  BEGIN { n = split(names, order, "\n") }
  !($1 in ms) { ms[$1] = 1; t[++m] = $1 }
  { obj[$1, $3] = $4 / 1048576; cpu[$1, $3] = $6 }
  END {
    for (i = 1; i <= m; i++) {
      printf "%s", t[i]
      for (j = 1; j <= n; j++) printf " %.3f", obj[t[i], order[j]]
      print ""
      if (i > 1) {
        dt = (t[i] - t[i-1]) * 1000
        line = t[i]
        for (j = 1; j <= n; j++) line = line sprintf(" %.2f", 100 * (cpu[t[i], order[j]] - cpu[t[i-1], order[j]]) / dt)
        print line > cpufile
      }
    }
  }' cpufile="$out/cpu.dat" "$out/acct.csv" > "$out/memory.dat"
plot_stacked() { # DATA PNG TITLE YLABEL
  local cols="" j=2 prev="" expr
  for n in $names; do
    expr="\$$j"; [ -n "$prev" ] && expr="$prev+\$$j"
    cols="$cols '$1' using 1:($expr) with filledcurves x1 title '$n',"
    prev=$expr; j=$((j + 1))
  done
  # Drawn from the top sum down, so each band shows above the one below.
  local plots
  plots=$(echo "${cols%,}" | tr ',' '\n' | tac | paste -sd, -)
  gnuplot <<GP
set terminal pngcairo size 1000,500
set output '$2'
set title '$3 (QEMU ${ACCEL:-tcg}; stacked)'
set xlabel 'ms since boot'
set ylabel '$4'
set key outside right
set style fill solid 0.8
plot $plots
GP
}
plot_stacked "$out/memory.dat" "$out/memory.png" "Kernel objects and frames of each principal" "MiB"
plot_stacked "$out/cpu.dat" "$out/cpu.png" "CPU time of each principal" "% of the CPU"

{
  echo "# Per-principal report (QEMU ${ACCEL:-tcg})"
  echo
  echo "From \`make report\`: blockd + blkecho copying a $mib MiB disk, netd + netecho echoing UDP from the host, hog flooding"
  echo "kernel objects from its own 8 MiB round after round; $samples samples of init's report, 250 ms apart."
  echo "Memory is the bytes of kernel objects and frames made from the principal's memory (KiB); lent is its frames"
  echo "whose capability lies in another principal's memory, held the reverse (KiB, peak)."
  echo
  echo "| principal | memory at start | lowest | peak | at end | CPU ms | lent (peak) | held (peak) |"
  echo "|---|---|---|---|---|---|---|---|"
  awk -F, -v names="$names" '
    BEGIN { n = split(names, order, "\n") }
    { k = $3; m = $4 + 0
      if (!(k in first)) { first[k] = m; low[k] = m }
      last[k] = m; if (m > peak[k]) peak[k] = m; if (m < low[k]) low[k] = m
      cpu[k] = $6; if ($7 + 0 > lent[k]) lent[k] = $7 + 0; if ($8 + 0 > held[k]) held[k] = $8 + 0 }
    END { for (j = 1; j <= n; j++) { k = order[j]
            printf "| %s | %d | %d | %d | %d | %.1f | %d | %d |\n", k, first[k] / 1024, low[k] / 1024, peak[k] / 1024,
                   last[k] / 1024, cpu[k] / 1000, lent[k] / 1024, held[k] / 1024 } }' "$out/acct.csv"
  echo
  grep -a '^hog: round' "$log" | tail -1 | sed 's/^/Last flood round: /'
} > "$out/report.md"
cat "$out/report.md"
echo "report: $samples samples; $out/memory.png, $out/cpu.png, $out/report.md"

# What the picture must show: the drivers' memory did not move while they
# served both demos beside the flood; the flood used all it was given and
# gave it all back, round after round; init's own memory did not move.
passed=0 failed=0
span() { # NAME: "lowest peak" of its object bytes
  awk -F, -v k="$1" '$3 == k { m = $4 + 0; if (!n++ || m < lo) lo = m; if (m > hi) hi = m } END { print lo + 0, hi + 0 }' "$out/acct.csv"
}
for p in blockd netd init; do
  read -r lo hi <<< "$(span $p)"
  [ "$lo" -gt 0 ] && [ "$lo" -eq "$hi" ]; note $? "$p's memory stayed at $lo bytes through the run (lowest $lo, peak $hi)"
done
read -r lo hi <<< "$(span hog)"
rounds=$(grep -ac '^hog: round .*then NO_MEMORY' "$log")
[ $((hi - lo)) -ge $((8 << 20)) ] && [ "$rounds" -ge 2 ]
note $? "hog filled its 8 MiB ($rounds rounds ended in NO_MEMORY) and gave it back each time (lowest $lo, peak $hi bytes)"
echo "report: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
