#!/usr/bin/env bash
# compare.sh: the side-by-side table. Runs the compare-linux harness on the
# host, the same harness in a Linux guest under QEMU/TCG (with and without
# -icount), takes our figures from bench/results/ours.log (running
# `make bench` first if there are none) and prints, per scenario and size:
# MB/s on the Linux host, the Linux guest and ours, and instructions per
# 4 KiB (per round trip for ipc_roundtrip) in the Linux guest and ours.
# Writes bench/results/compare.csv and compare.md.
set -uo pipefail
case ${1:-} in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
res=bench/results
mkdir -p "$res" build
step() { echo "compare: $*" >&2; }

step "installing what the Linux side needs"
scripts/deps-compare.sh >&2 || exit 1
if [ ! -s "$res/ours.log" ]; then
  step "no figures of ours yet: running make bench"
  make -s bench >&2 || exit 1
fi

step "Linux on the host (native)"
for p in page_transfer ipc_roundtrip blk_echo; do gcc -O2 -Wall -Wextra -Werror -o build/$p compare-linux/$p.c || exit 1; done
{
  build/ipc_roundtrip --iters 20000
  build/ipc_roundtrip --iters 20000 --via eventfd
  for mode in touch sum devnull copy; do
    for size in 4096 32768 262144 2097152; do
      iters=$((268435456 / size)); [ $iters -gt 20000 ] && iters=20000
      build/page_transfer --size $size --iters $iters --mode $mode
    done
  done
} > "$res/linux-host.log" || exit 1
step "Linux in a guest on QEMU/TCG (wall clock)"
scripts/linux-guest.sh --out "$res/linux-guest-tcg.log" || exit 1
step "Linux in a guest on QEMU/TCG -icount (instructions)"
scripts/linux-guest.sh --icount --out "$res/linux-guest-icount.log" || exit 1

awk -v csv="$res/compare.csv" -v md="$res/compare.md" '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  function ratio(a, b) { return (a == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.1f", a / b) }
  /^BENCH/ {
    name = field($0, "name"); size = field($0, "size"); pages = size / 4096
    if (field($0, "frame") == "2m" || field($0, "variant") == "eventfd" || field($0, "variant") == "gift") next
    k = name " " size
    if (!(k in seen)) { seen[k] = 1; keys[++n] = k }
    per = (name == "ipc_roundtrip" || name == "blk_echo") ? 1 : pages
    instr = field($0, "instr"); i4k = (instr == "-") ? "-" : sprintf("%.0f", instr / per)
    if (FILENAME ~ /linux-host/) host[k] = field($0, "mbps") "|" field($0, "ns")
    else if (FILENAME ~ /linux-guest-tcg/) gw[k] = field($0, "mbps") "|" field($0, "ns")
    else if (FILENAME ~ /linux-guest-icount/) gi[k] = i4k
    else if (field($0, "accel") == "tcg-icount") oi[k] = i4k
    else ow[k] = field($0, "mbps") "|" field($0, "ns")
  }
  function mb(x,   q) { if (x == "") return "-"; split(x, q, "|"); return q[1] }
  function ns(x,   q) { if (x == "") return "-"; split(x, q, "|"); return q[2] }
  END {
    hdr = "scenario,bytes,linux_host_MBps,linux_guest_MBps,ours_MBps,ours_over_guest,linux_guest_instr,ours_instr,guest_over_ours"
    print hdr > csv
    printf "| scenario | bytes | Linux host MB/s | Linux guest MB/s (tcg) | ours MB/s (tcg) | ours / guest | Linux guest instr (icount) | ours instr (icount) | guest / ours |\n" > md
    printf "|---|---|---|---|---|---|---|---|---|\n" > md
    printf "%-22s %8s %10s %10s %10s %8s %12s %10s %8s\n", "scenario", "bytes", "host MB/s", "guest MB/s", "ours MB/s", "ours/gst", "guest instr", "ours instr", "gst/ours"
    for (i = 1; i <= n; i++) {
      k = keys[i]; split(k, p, " ")
      hm = mb(host[k]); gm = mb(gw[k]); om = mb(ow[k]); g = (k in gi) ? gi[k] : "-"; o = (k in oi) ? oi[k] : "-"
      if (p[1] == "ipc_roundtrip") { hm = ns(host[k]) "ns"; gm = ns(gw[k]) "ns"; om = ns(ow[k]) "ns" }
      r1 = (p[1] == "ipc_roundtrip") ? ratio(ns(gw[k]), ns(ow[k])) "x" : ratio(om, gm)
      r2 = ratio(g, o)
      printf "%-22s %8s %10s %10s %10s %8s %12s %10s %8s\n", p[1], p[2], hm, gm, om, r1, g, o, r2
      print p[1] "," p[2] "," hm "," gm "," om "," r1 "," g "," o "," r2 > csv
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], hm, gm, om, r1, g, o, r2 > md
    }
  }' "$res/linux-host.log" "$res/linux-guest-tcg.log" "$res/linux-guest-icount.log" "$res/ours.log"
cat >&2 <<'NOTE'
compare: MB/s are wall-clock; under TCG they are emulator figures, comparable only with each other.
compare: instructions are per 4 KiB page (per round trip for ipc_roundtrip), counted by the guest TSC
compare: under -icount shift=0,sleep=off; a rep-prefixed instruction counts once per iteration.
compare: our page_transfer op is one gift (the batch moves A->B or B->A); Linux's is one vmsplice(GIFT)
compare: of freshly mapped pages plus read() in B. page_transfer_devnull: B never sees the data.
compare: tables in bench/results/compare.md and compare.csv, plots in bench/results/*.png
NOTE
step "UDP echo: ours and netd's ceiling (scripts/bench-net.sh)"
[ -s "$res/ours-net.log" ] || scripts/bench-net.sh >&2 || exit 1
step "UDP echo: the Linux guest, same QEMU, card and load (scripts/linux-guest-net.sh)"
scripts/linux-guest-net.sh --out "$res/linux-guest-net-tcg.log" || exit 1
scripts/linux-guest-net.sh --icount --out "$res/linux-guest-net-icount.log" || exit 1
awk -v csv="$res/compare-net.csv" -v md="$res/compare.md" '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  function ratio(a, b) { return (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
  /^BENCH/ {
    k = field($0, "system") " " field($0, "size") " " field($0, "accel")
    if (field($0, "pps") != "-") pps[k] = field($0, "pps")
    if (field($0, "busy_ns_per_datagram") != "-") cost[k] = field($0, "busy_ns_per_datagram")
    if (field($0, "lwip_ns_per_datagram") != "-") lwip[k] = field($0, "lwip_ns_per_datagram")
    if (field($0, "app_ns_per_datagram") != "-") app[k] = field($0, "app_ns_per_datagram")
    if (field($0, "netd_ns_per_datagram") != "-") netd[k] = field($0, "netd_ns_per_datagram")
  }
  END {
    print "size,ceiling_pps,ours_pps,ours_over_ceiling,linux_guest_pps,linux_over_ceiling,ours_instr_per_datagram,of_which_app,of_which_lwip,of_which_netd,ceiling_instr_per_datagram,linux_instr_per_datagram" > csv
    printf "\n| UDP echo payload | netd ceiling pps | ours pps | ours / ceiling | Linux guest pps | Linux / ceiling | ours instr/datagram (icount) | of which netecho | (of which lwIP) | of which netd | netd alone (ceiling) | Linux instr/datagram (icount) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n" >> md
    printf "\n%-8s %12s %10s %8s %12s %8s %11s %8s %8s %8s %9s %12s\n", "UDP echo", "ceiling pps", "ours pps", "ours/ceil", "Linux pps", "Lnx/ceil", "ours instr", "netecho", "(lwIP)", "netd", "ceiling", "Linux instr"
    split("64 512 1472", sizes, " ")
    for (i = 1; i <= 3; i++) {
      s = sizes[i]
      c = pps["ceiling " s " tcg"]; o = pps["ours " s " tcg"]; l = pps["linux-guest " s " tcg"]
      oi = cost["ours " s " tcg-icount"]; li = cost["linux-guest " s " tcg-icount"]
      ol = lwip["ours " s " tcg-icount"]; ci = cost["ceiling " s " tcg-icount"]
      oa = app["ours " s " tcg-icount"]; on = netd["ours " s " tcg-icount"]
      if (oa == "") oa = "-"
      if (on == "") on = "-"
      printf "%-8s %12s %10s %8s %12s %8s %11s %8s %8s %8s %9s %12s\n", s, c, o, ratio(o, c), l, ratio(l, c), oi, oa, ol, on, ci, li
      print s "," c "," o "," ratio(o, c) "," l "," ratio(l, c) "," oi "," oa "," ol "," on "," ci "," li > csv
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, c, o, ratio(o, c), l, ratio(l, c), oi, oa, ol, on, ci, li >> md
    }
  }' "$res/ours-net.log" "$res/linux-guest-net-tcg.log" "$res/linux-guest-net-icount.log"
cat >&2 <<'NOTE'
compare: UDP echo: 64 datagrams in flight from the host (netload udp-bench, sendmmsg/recvmmsg) through
compare: QEMU user networking; Linux answers with recvmmsg/sendmmsg batches of up to 64, ours with lwIP
compare: over netd (up to 4 packets a receive message, up to 8 receives gathered per send). Instructions
compare: per datagram: the whole guest's busy time under -icount (halted time left out); Linux's from
compare: /proc/stat in 10 ms ticks. Ours is split by the kernel's count of each thread's run time:
compare: netecho (its code, lwIP and its system calls) and netd (its code, its system calls, the gifts
compare: it makes and the interrupts that came while it ran).
NOTE
step "plots"
bench/plot.sh >&2 || echo "compare: no plots (gnuplot missing?)" >&2
