#!/usr/bin/env bash
# compare.sh [--reuse-ours]: the side-by-side tables. Runs `make bench` for
# our figures (bench/results/ours.log, made anew each time), the
# compare-linux harness on the host, the same harness in a Linux guest
# under QEMU/TCG (with and without -icount), then the UDP echo on both
# sides, and prints: per scenario and size MB/s on the Linux host, the
# Linux guest and ours and instructions per 4 KiB (per round trip for
# ipc_roundtrip, whose rows are pipe, eventfd, futex and futex-thread, each
# beside our one round trip); what a page hand-over costs per 4 KiB: our
# gift against Linux's GIFT and the peers without exclusivity; Linux's
# GIFT taken apart (mmap, fault and zero, vmsplice, read, munmap); block
# echo per queue depth (1, 8, 32; `-` where ours has no figure); UDP echo.
# --reuse-ours takes ours.log and ours-net.log as they are, and refuses
# unless both are newer than the ISOs they were made from.
# Old results are removed first; a part that fails is shown as `failed`
# or left out, never as an earlier run's figures, and is named at the end
# (exit status 1). Writes bench/results/compare.md and compare*.csv.
set -uo pipefail
reuse=0
case ${1:-} in
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --reuse-ours) reuse=1 ;;
  "") ;;
  *) echo "compare: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
res=bench/results
mkdir -p "$res" build
step() { echo "compare: $*" >&2; }
failed=()
fail() { failed+=("$*"); step "FAILED: $*"; }

# Only this run's figures may appear.
rm -f "$res"/linux-host.log "$res"/linux-guest-tcg.log "$res"/linux-guest-icount.log \
      "$res"/linux-guest-net-tcg.log "$res"/linux-guest-net-icount.log \
      "$res"/compare.md "$res"/compare*.csv "$res"/*.dat "$res"/*.png

step "installing what the Linux side needs"
scripts/deps-compare.sh >&2 || { fail "scripts/deps-compare.sh"; exit 1; }

if [ "$reuse" = 1 ]; then
  for pair in "ours.log build/bench.iso build/blk.iso" "ours-net.log build/net.iso build/netceil.iso"; do
    set -- $pair
    log=$res/$1; shift
    [ -s "$log" ] || { step "--reuse-ours: there is no $log: run without --reuse-ours"; exit 1; }
    for iso in "$@"; do
      [ -f "$iso" ] || { step "--reuse-ours: no $iso: run make compare"; exit 1; }
      [ "$log" -nt "$iso" ] || { step "--reuse-ours: $log is older than $iso (the build it should measure): run without --reuse-ours"; exit 1; }
    done
  done
  step "reusing $res/ours.log and ours-net.log (newer than the ISOs they measure)"
  while read -r _ n a; do fail "ours (in the reused ours.log): ${n#name=} (${a#accel=}) failed"; done < <(grep '^FAILED' "$res/ours.log")
else
  rm -f "$res/ours.log" "$res/ours-net.log"
  step "ours: make bench (guest benchmarks and block echo, under TCG)"
  make -s bench >&2 || fail "ours: make bench (see its FAILED lines above; what it measured is kept)"
  [ -s "$res/ours.log" ] || fail "ours: no bench/results/ours.log"
fi

step "Linux on the host (native)"
host_ok=1
for p in page_transfer ipc_roundtrip blk_echo; do
  gcc -O2 -Wall -Wextra -Werror -o build/$p compare-linux/$p.c || { fail "building compare-linux/$p.c"; host_ok=0; }
done
if [ "$host_ok" = 1 ]; then
  for via in pipe eventfd futex futex-thread; do
    timeout 300 build/ipc_roundtrip --iters 20000 --via $via >> "$res/linux-host.log" || fail "host: ipc_roundtrip --via $via"
  done
  for mode in touch sum devnull copy splice-nogift memfd-futex memfd-eventfd phases; do
    for size in 4096 32768 262144 2097152; do
      iters=$((268435456 / size)); [ $iters -gt 20000 ] && iters=20000
      timeout 300 build/page_transfer --size $size --iters $iters --mode $mode >> "$res/linux-host.log" ||
        fail "host: page_transfer --mode $mode --size $size"
    done
  done
fi
touch "$res/linux-host.log"
guest() { # label args...
  local label=$1; shift
  scripts/linux-guest.sh "$@"
  case $? in
    0) ;;
    3) fail "Linux guest ($label): some runs failed in the guest (named above); their rows show -" ;;
    *) fail "Linux guest ($label): the guest did not finish; no figures" ;;
  esac
}
step "Linux in a guest on QEMU/TCG (wall clock)"
guest tcg --out "$res/linux-guest-tcg.log"
step "Linux in a guest on QEMU/TCG -icount (instructions)"
guest tcg-icount --icount --out "$res/linux-guest-icount.log"
# A part that failed left no log (or a partial one): its cells show - or failed.
for f in ours.log linux-guest-tcg.log linux-guest-icount.log; do [ -f "$res/$f" ] || : > "$res/$f"; done

awk -v res="$res" '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  function ratio(a, b) { return (a == "-" || b == "-" || a == "" || b == "" || a == "failed" || b == "failed" || b + 0 == 0) ? "-" : sprintf("%.1f", a / b) }
  function src(f) {
    if (f ~ /linux-host/) return "host"
    if (f ~ /linux-guest-tcg/) return "gw"
    if (f ~ /linux-guest-icount/) return "gi"
    return "ours"
  }
  function get(a, k) { return (k in a) ? a[k] : "-" }
  function row(md_, csv_, cols,   c, n, i, line) {
    n = split(cols, c, "\t"); line = "|"
    for (i = 1; i <= n; i++) line = line " " c[i] " |"
    print line > md_
    line = c[1]; for (i = 2; i <= n; i++) line = line "," c[i]
    if (csv_ != "") print line > csv_
  }
  function sep(md_, n,   s, i) { s = "|"; for (i = 0; i < n; i++) s = s "---|"; print s > md_ }
  FNR == 1 { s = src(FILENAME) }
  /^FAILED/ { if (s == "ours") oursfail[field($0, "name") " " field($0, "accel")] = 1; next }
  !/^BENCH/ { next }
  {
    name = field($0, "name"); size = field($0, "size"); pages = size / 4096
    if (field($0, "frame") == "2m") next
    acc = field($0, "accel"); if (s == "ours") s2 = (acc == "tcg-icount") ? "oi" : "ow"; else s2 = s
    if (name == "blk_echo" || name == "blk_ceiling") {
      if (field($0, "variant") == "gift") next
      d = field($0, "depth"); if (d == "-") d = 1
      if (name == "blk_ceiling") { if (s2 == "ow") blk["oc", d, size] = field($0, "mbps"); next }
      if (s2 == "gw" || s2 == "ow") blk[s2, d, size] = field($0, "mbps")
      if (s2 == "oi") blk["oi", d, size] = field($0, "instr_per_request") " (" field($0, "blockd_instr_per_request") "; " field($0, "client_instr_per_request") ")"
      blksize[size] = 1; next
    }
    if (name == "blk_latency") { if (s2 == "ow") blklat = $0; next }
    label = name
    if (name == "ipc_roundtrip" && s != "ours") label = name "/" field($0, "variant")
    k = label " " size
    if (!(k in kseen) && !(s == "ours" && name == "ipc_roundtrip")) { kseen[k] = 1; keys[++nk] = k }
    per = (name == "ipc_roundtrip") ? 1 : pages
    instr = field($0, "instr")
    val[s2, k] = (s2 == "gi" || s2 == "oi") ? ((instr == "-") ? "-" : sprintf("%.0f", instr / per)) : \
                 ((name == "ipc_roundtrip") ? field($0, "ns") "ns" : field($0, "mbps"))
    if (name == "page_transfer_phases" && s2 == "gi")
      for (pi = 1; pi <= 5; pi++) ph[pi, size] = field($0, phn[pi])
  }
  BEGIN { split("mmap fault_zero vmsplice read munmap", phn, " ") }
  function ourskey(k,   p) {
    split(k, p, " ")
    if (p[1] ~ /^ipc_roundtrip/) return "ipc_roundtrip " p[2]
    if (p[1] ~ /^page_transfer_(splice_nogift|memfd_futex|memfd_eventfd|phases)$/) return "page_transfer " p[2]
    return k
  }
  END {
    md = res "/compare.md"; csv = res "/compare.csv"
    print "scenario,bytes,linux_host_MBps,linux_guest_MBps,ours_MBps,ours_over_guest,linux_guest_instr,ours_instr,guest_over_ours" > csv
    print "| scenario | bytes | Linux host MB/s | Linux guest MB/s (tcg) | ours MB/s (tcg) | ours / guest | Linux guest instr (icount) | ours instr (icount) | guest / ours |" > md
    sep(md, 9)
    fmt = "%-30s %8s %10s %10s %10s %8s %12s %10s %8s\n"
    printf fmt, "scenario", "bytes", "host MB/s", "guest MB/s", "ours MB/s", "ours/gst", "guest instr", "ours instr", "gst/ours"
    for (i = 1; i <= nk; i++) {
      k = keys[i]; split(k, p, " "); ok = ourskey(k)
      hm = get(val, "host" SUBSEP k); gm = get(val, "gw" SUBSEP k); g = get(val, "gi" SUBSEP k)
      om = get(val, "ow" SUBSEP ok); o = get(val, "oi" SUBSEP ok)
      if (("bench tcg" in oursfail) && om == "-") om = "failed"
      if (("bench tcg-icount" in oursfail) && o == "-") o = "failed"
      if (p[1] ~ /^ipc_roundtrip/) { a = gm; b = om; sub(/ns$/, "", a); sub(/ns$/, "", b); r1 = ratio(a, b); if (r1 != "-") r1 = r1 "x" }
      else r1 = ratio(om, gm)
      r2 = ratio(g, o)
      printf fmt, p[1], p[2], hm, gm, om, r1, g, o, r2
      row(md, csv, p[1] "\t" p[2] "\t" hm "\t" gm "\t" om "\t" r1 "\t" g "\t" o "\t" r2)
    }

    # What a page hand-over costs: instructions per 4 KiB page, icount.
    hcsv = res "/compare-handover.csv"
    print "bytes,ours_gift,linux_gift_read,linux_splice_nogift,linux_memfd_futex,linux_memfd_eventfd,linux_copy,ours_over_memfd_futex,linux_gift_over_ours" > hcsv
    print "\nPage hand-over, instructions per 4 KiB page (guest, -icount): what exclusivity costs\n" > md
    print "| bytes | ours: gift (exclusive) | Linux: GIFT + read() | Linux: vmsplice, no GIFT, reused buffer | Linux: memfd + futex (shared) | Linux: memfd + eventfd (shared) | Linux: write() + read() | ours / memfd+futex | GIFT / ours |" > md
    sep(md, 9)
    hfmt = "%-8s %9s %11s %12s %11s %13s %10s %10s %9s\n"
    printf "\npage hand-over, instructions per 4 KiB page (guest, -icount)\n"
    printf hfmt, "bytes", "ours gift", "Linux GIFT", "splice-nogift", "memfd-futex", "memfd-eventfd", "Linux copy", "ours/memfd", "GIFT/ours"
    split("4096 32768 262144 2097152", hs, " ")
    for (i = 1; i <= 4; i++) {
      z = hs[i]
      og = get(val, "oi" SUBSEP "page_transfer " z); if (("bench tcg-icount" in oursfail) && og == "-") og = "failed"
      lg = get(val, "gi" SUBSEP "page_transfer " z); ln = get(val, "gi" SUBSEP "page_transfer_splice_nogift " z)
      lf = get(val, "gi" SUBSEP "page_transfer_memfd_futex " z); le = get(val, "gi" SUBSEP "page_transfer_memfd_eventfd " z)
      lc = get(val, "gi" SUBSEP "copy_transfer " z)
      printf hfmt, z, og, lg, ln, lf, le, lc, ratio(og, lf), ratio(lg, og)
      row(md, hcsv, z "\t" og "\t" lg "\t" ln "\t" lf "\t" le "\t" lc "\t" ratio(og, lf) "\t" ratio(lg, og))
    }

    # Linux GIFT taken apart (page_transfer --mode phases, one process).
    bcsv = res "/compare-breakdown.csv"
    print "bytes,mmap,fault_zero,vmsplice,read,munmap,phases_total,gift_two_processes,rest" > bcsv
    print "\nLinux GIFT taken apart, instructions per 4 KiB page (guest, -icount; phases in one process, no receiver)\n" > md
    print "| bytes | mmap | fault + zero | vmsplice(GIFT) | read() copy | munmap | one process, all | GIFT + read() between two processes | rest: wake-ups, switches, ack |" > md
    sep(md, 9)
    bfmt = "%-8s %7s %11s %9s %7s %7s %11s %11s %7s\n"
    printf "\nLinux GIFT taken apart, instructions per 4 KiB page (guest, -icount)\n"
    printf bfmt, "bytes", "mmap", "fault+zero", "vmsplice", "read", "munmap", "1-proc all", "2-proc GIFT", "rest"
    for (i = 1; i <= 4; i++) {
      z = hs[i]; pg = z / 4096; c = z
      for (pi = 1; pi <= 5; pi++) q[pi] = ((pi SUBSEP z) in ph && ph[pi, z] != "-") ? sprintf("%.0f", ph[pi, z] / pg) : "-"
      t1 = get(val, "gi" SUBSEP "page_transfer_phases " z); t2 = get(val, "gi" SUBSEP "page_transfer " z)
      rest = (t1 == "-" || t2 == "-") ? "-" : t2 - t1
      printf bfmt, z, q[1], q[2], q[3], q[4], q[5], t1, t2, rest
      row(md, bcsv, z "\t" q[1] "\t" q[2] "\t" q[3] "\t" q[4] "\t" q[5] "\t" t1 "\t" t2 "\t" rest)
    }

    # Block echo per queue depth.
    kcsv = res "/compare-blk.csv"
    print "depth,bytes,linux_guest_MBps,ours_MBps,ours_over_guest,ours_ceiling_MBps,ours_over_ceiling,ours_instr_per_request" > kcsv
    print "\nBlock echo, MB/s (tcg, wall clock) per queue depth; the ceiling is ours against null-co disks; our guest instructions per request (icount: all; blockd; the client)\n" > md
    print "| depth | bytes | Linux guest MB/s | ours MB/s | ours / guest | ours, null-co MB/s | ours / null-co | ours instr/request (blockd; client) |" > md
    sep(md, 8)
    printf "\nblock echo, MB/s (tcg) per queue depth\n%-6s %8s %12s %10s %8s %12s %9s  %s\n", "depth", "bytes", "Linux guest", "ours", "ours/gst", "ours null-co", "ours/ceil", "ours instr/request (blockd; client)"
    split("1 8 32", ds, " "); split("4096 16384 65536 262144 1048576", bs, " ")
    for (i = 1; i <= 3; i++) for (j = 1; j <= 5; j++) {
      d = ds[i]; z = bs[j]
      l = get(blk, "gw" SUBSEP d SUBSEP z); o = get(blk, "ow" SUBSEP d SUBSEP z); c = get(blk, "oc" SUBSEP d SUBSEP z)
      if (("blk_echo tcg" in oursfail) && o == "-") o = "failed"
      if (("blk_ceiling tcg" in oursfail) && c == "-") c = "failed"
      ic = get(blk, "oi" SUBSEP d SUBSEP z)
      printf "%-6s %8s %12s %10s %8s %12s %9s  %s\n", d, z, l, o, ratio(o, l), c, ratio(o, c), ic
      row(md, kcsv, d "\t" z "\t" l "\t" o "\t" ratio(o, l) "\t" c "\t" ratio(o, c) "\t" ic)
    }
    if (blklat != "") {
      lt = sprintf("4 KiB read latency through blockd, median: %s us alone, %s us beside a 1 MiB x 32 stream of another session (%sx; p90 %s / %s us)", field(blklat, "alone_us"), field(blklat, "loaded_us"), field(blklat, "loaded_over_alone"), field(blklat, "alone_p90_us"), field(blklat, "loaded_p90_us"))
      print lt; print "\n" lt > md
    }
  }' "$res/linux-host.log" "$res/linux-guest-tcg.log" "$res/linux-guest-icount.log" "$res/ours.log"
cat >&2 <<'NOTE'
compare: MB/s are wall-clock; under TCG they are emulator figures, comparable only with each other.
compare: instructions are per 4 KiB page (per round trip for ipc_roundtrip), counted by the guest TSC
compare: under -icount shift=0,sleep=off; a rep-prefixed instruction counts once per iteration.
compare: our page_transfer op is one gift (the batch moves A->B or B->A); Linux's is one vmsplice(GIFT)
compare: of freshly mapped pages plus read() in B. page_transfer_devnull: B never sees the data.
compare: page_transfer_splice_nogift, _memfd_futex, _memfd_eventfd and _phases are set beside our gift
compare: (the ours column of their rows is our page_transfer); the memfd peers share the buffer: no copy,
compare: and nothing keeps A from writing what B reads. _phases is one process with no receiver.
compare: ipc_roundtrip/futex-thread is one address space (no page-table switch); ours is two.
compare: block echo: both sides keep 1, 8 or 32 requests in flight (Linux AIO, O_DIRECT; ours BLK_IO), fewer
compare: at 1 MiB where the 16 MiB disk holds 16; blockd splits a request into device requests of up to 128 KiB
compare: (32 frames each) posted together, Linux's virtio-blk sends one per I/O up to its segment limits.
compare: tables in bench/results/compare.md and compare*.csv, plots in bench/results/*.png
NOTE
if [ "$reuse" = 0 ]; then
  step "UDP echo: ours and netd's ceiling (scripts/bench-net.sh)"
  scripts/bench-net.sh >&2 || fail "ours: UDP echo (scripts/bench-net.sh; what it measured is kept)"
fi
step "UDP echo: the Linux guest, same QEMU, card and load (scripts/linux-guest-net.sh)"
scripts/linux-guest-net.sh --out "$res/linux-guest-net-tcg.log" || fail "Linux guest UDP echo (tcg)"
scripts/linux-guest-net.sh --icount --out "$res/linux-guest-net-icount.log" || fail "Linux guest UDP echo (tcg-icount)"
for f in ours-net.log linux-guest-net-tcg.log linux-guest-net-icount.log; do [ -f "$res/$f" ] || : > "$res/$f"; done
awk -v csv="$res/compare-net.csv" -v md="$res/compare.md" '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  function ratio(a, b) { return (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
  function d(x) { return x == "" ? "-" : x }
  /^BENCH/ && !/^BENCH name=udp_echo_apps / { # the applications benchmark has its own figures (bench-net.sh --apps-only)
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
      c = d(pps["ceiling " s " tcg"]); o = d(pps["ours " s " tcg"]); l = d(pps["linux-guest " s " tcg"])
      oi = d(cost["ours " s " tcg-icount"]); li = d(cost["linux-guest " s " tcg-icount"])
      ol = d(lwip["ours " s " tcg-icount"]); ci = d(cost["ceiling " s " tcg-icount"])
      oa = d(app["ours " s " tcg-icount"]); on = d(netd["ours " s " tcg-icount"])
      printf "%-8s %12s %10s %8s %12s %8s %11s %8s %8s %8s %9s %12s\n", s, c, o, ratio(o, c), l, ratio(l, c), oi, oa, ol, on, ci, li
      print s "," c "," o "," ratio(o, c) "," l "," ratio(l, c) "," oi "," oa "," ol "," on "," ci "," li > csv
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, c, o, ratio(o, c), l, ratio(l, c), oi, oa, ol, on, ci, li >> md
    }
  }' "$res/ours-net.log" "$res/linux-guest-net-tcg.log" "$res/linux-guest-net-icount.log"
awk -v csv="$res/compare-tcp.csv" -v md="$res/compare.md" '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  function d(x) { return x == "" ? "-" : x }
  function ratio(a, b) { return (a == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
  /^BENCH name=tcp_echo/ && / accel=tcg( |$)/ { mbps[field($0, "system") " " field($0, "streams")] = field($0, "MBps") }
  END {
    print "streams,bytes_each,ours_MBps,linux_guest_MBps,ours_over_linux" > csv
    printf "\n| TCP echo, 8 MiB in all | ours MB/s | Linux guest MB/s | ours / Linux |\n|---|---|---|---|\n" >> md
    printf "\n%-22s %10s %12s %10s\n", "TCP echo (8 MiB)", "ours MB/s", "Linux MB/s", "ours/Linux"
    split("1 8", n, " ")
    for (i = 1; i <= 2; i++) {
      o = d(mbps["ours " n[i]]); l = d(mbps["linux-guest " n[i]])
      what = n[i] == 1 ? "1 stream of 8 MiB" : n[i] " streams of " 8 / n[i] " MiB"
      printf "%-22s %10s %12s %10s\n", what, o, l, ratio(o, l)
      print n[i] "," 8388608 / n[i] "," o "," l "," ratio(o, l) > csv
      printf "| %s | %s | %s | %s |\n", what, o, l, ratio(o, l) >> md
    }
  }' "$res/ours-net.log" "$res/linux-guest-net-tcg.log"
cat >&2 <<'NOTE'
compare: TCP echo: the host (netload tcp-bench) connects all streams, then sends on all at once and
compare: reads the echoes back; MB/s from when all were connected until the last echo came back whole.
compare: Linux answers with one thread and poll() (compare-linux/tcp_echo.c), ours with lwIP in netecho.
NOTE
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
bench/plot.sh >&2 || fail "plots (bench/plot.sh; gnuplot missing?)"
if [ ${#failed[@]} -gt 0 ]; then
  step "FAILED parts (their figures are shown as failed or -, never an earlier run's):"
  for f in "${failed[@]}"; do step "  $f"; done
  exit 1
fi
step "every part ran"
