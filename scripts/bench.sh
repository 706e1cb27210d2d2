#!/usr/bin/env bash
# bench.sh [BENCH.iso]: run the guest benchmarks twice under TCG, once with
# -icount shift=0,sleep=off (the guest TSC counts instructions: `instr` is
# exact and deterministic) and once without (wall-clock `ns` and `mbps`),
# and print one table. Every result is also kept as a BENCH line in
# bench/results/ours.log, one line per mode, with accel=tcg-icount or
# accel=tcg, and a field that mode does not measure set to `-`. Then the
# block echo (scripts/demo-blk.sh, wall clock only, at depths 1, 8 and 32,
# and a 4 KiB reader's latency beside a stream; once more under -icount for
# instructions per request, split into blockd's and the client's) and the
# same against null-co disks (demo-blk.sh --null: name=blk_ceiling). The logs of an earlier
# run are removed first: a part that fails is left out of ours.log (a line
# `FAILED name=... accel=...` says so), shown as "failed" in the table, named
# at the end, and the exit status is 1.
set -uo pipefail
case ${1:-} in -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
iso=${1:-build/bench.iso}
here=$(cd "$(dirname "$0")" && pwd)
out_dir=$here/../bench/results
mkdir -p "$out_dir" build
[ "${ACCEL:-tcg}" = tcg ] || echo "bench: figures are taken under TCG; ACCEL=${ACCEL} is ignored here" >&2

# Nothing of an earlier run may pass for this one's.
rm -f build/bench-icount.log build/bench-wall.log build/demo-blk.log build/demo-blk-null.log build/demo-blk-wall.log \
      build/demo-blk-icount.log "$out_dir/ours.log"
failed=() # "what|name|accel|why" of each part that failed

run() { # mode log
  local mode=$1 log=$2 args=()
  [ "$mode" = tcg-icount ] && args=(--icount)
  echo "bench: running the guest benchmarks ($mode)..." >&2
  if [ ! -f "$iso" ]; then
    failed+=("the guest benchmarks ($mode)|bench|$mode|no $iso")
    return 1
  fi
  ACCEL=tcg "$here/run-qemu.sh" "${args[@]}" --timeout "${BENCH_TIMEOUT:-900}" --log "$log" "$iso" \
    | grep --line-buffered -E '^BENCH' | sed -u 's/^/  /' >&2
  local status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "bench: the $mode run failed (status $status); see $log; its figures are left out" >&2
    failed+=("the guest benchmarks ($mode)|bench|$mode|status $status, see $log")
    return 1
  fi
}

icount_ok=0 wall_ok=0
run tcg-icount build/bench-icount.log && icount_ok=1
run tcg build/bench-wall.log && wall_ok=1
# Block echo through blockd: I/O bound, so wall-clock only (icount would
# count the guest's idle loop while QEMU's I/O thread works).
echo "bench: running the block echo benchmark (tcg)..." >&2
blk_iso=${BLK_ISO:-build/blk.iso} blk_ok=0
if [ ! -f "$blk_iso" ]; then
  failed+=("the block echo|blk_echo|tcg|no $blk_iso")
elif ! "$here/demo-blk.sh" --size 16 "$blk_iso" > /dev/null 2>&1; then
  failed+=("the block echo|blk_echo|tcg|demo-blk failed, see build/demo-blk.log")
elif ! tr -d '\r' < build/demo-blk.log | grep -q '^BENCH name=blk_echo'; then
  failed+=("the block echo|blk_echo|tcg|no BENCH lines in build/demo-blk.log")
else
  blk_ok=1
  cp build/demo-blk.log build/demo-blk-wall.log
fi
# The block echo again under -icount: where a request's instructions go
# (busy, blockd's, the client's; wall figures from this run mean nothing).
echo "bench: running the block echo under icount (instructions per request)..." >&2
blkic_ok=0
if [ -f "$blk_iso" ] && "$here/demo-blk.sh" --icount --size 16 "$blk_iso" > /dev/null 2>&1 &&
   cp build/demo-blk.log build/demo-blk-icount.log && tr -d '\r' < build/demo-blk-icount.log | grep -q '^BENCH name=blk_echo'; then
  blkic_ok=1
else
  failed+=("the block echo under icount|blk_echo|tcg-icount|see build/demo-blk.log")
fi

# The same driver against QEMU's null-co backend: what the driver path
# allows when the device does no I/O (the block ceiling).
echo "bench: running the block echo against null-co disks (the ceiling, tcg)..." >&2
ceil_ok=0
if [ ! -f "$blk_iso" ]; then
  failed+=("the block ceiling|blk_ceiling|tcg|no $blk_iso")
elif ! "$here/demo-blk.sh" --null --size 16 "$blk_iso" > /dev/null 2>&1; then
  failed+=("the block ceiling|blk_ceiling|tcg|demo-blk --null failed, see build/demo-blk-null.log")
elif ! tr -d '\r' < build/demo-blk-null.log | grep -q '^BENCH name=blk_echo'; then
  failed+=("the block ceiling|blk_ceiling|tcg|no BENCH lines in build/demo-blk-null.log")
else
  ceil_ok=1
fi
for f in "${failed[@]}"; do
  case $f in "the block"*) echo "bench: ${f%%|*} run failed (${f##*|}); its figures are left out" >&2 ;; esac
done

# Keep instr from the icount run and ns/mbps from the wall run; only the
# logs of this run's parts that succeeded are read.
{
  [ "$icount_ok" = 1 ] && tr -d '\r' < build/bench-icount.log | grep '^BENCH' |
    sed -E 's/ ns=[0-9]+/ ns=-/; s/ mbps=[0-9.]+/ mbps=-/; s/accel=guest/accel=tcg-icount/'
  [ "$wall_ok" = 1 ] && tr -d '\r' < build/bench-wall.log | grep '^BENCH' |
    sed -E 's/ instr=[0-9]+/ instr=-/; s/ instr_per_4k=[0-9]+/ instr_per_4k=-/; s/accel=guest/accel=tcg/'
  [ "$blk_ok" = 1 ] && tr -d '\r' < build/demo-blk-wall.log | grep '^BENCH' |
    sed -E 's/ busy_ns_per_request=[0-9]+ client_ns_per_request=[0-9]+ blockd_ns_per_request=[0-9]+//; s/accel=guest/accel=tcg/'
  [ "$blkic_ok" = 1 ] && tr -d '\r' < build/demo-blk-icount.log | grep '^BENCH name=blk_echo' |
    sed -E 's/ ns=[0-9]+/ ns=-/; s/ mbps=[0-9.]+/ mbps=-/; s/busy_ns_per_request/instr_per_request/; s/client_ns_per_request/client_instr_per_request/; s/blockd_ns_per_request/blockd_instr_per_request/; s/accel=guest/accel=tcg-icount/'
  [ "$ceil_ok" = 1 ] && tr -d '\r' < build/demo-blk-null.log | grep '^BENCH name=blk_echo' |
    sed -E 's/name=blk_echo/name=blk_ceiling/; s/accel=guest/accel=tcg backend=null-co/'
  for f in "${failed[@]}"; do
    IFS='|' read -r _ name accel _ <<< "$f"
    echo "FAILED name=$name accel=$accel"
  done
} > "$out_dir/ours.log"

awk '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  /^FAILED/ { bad[field($0, "name") " " field($0, "accel")] = 1; next }
  /^BENCH/ {
    f = field($0, "frame"); d = field($0, "depth")
    if (field($0, "name") == "blk_latency") { lat = $0; next }
    k = field($0, "name") (f == "2m" ? "(2MiB-frame)" : "") (d != "-" ? "/depth" d : "") " " field($0, "size")
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    if (field($0, "accel") == "tcg-icount") {
      instr[k] = field($0, "instr"); per4k[k] = field($0, "instr_per_4k")
      if (instr[k] == "-" && field($0, "instr_per_request") != "-") instr[k] = field($0, "instr_per_request") "/req"
    }
    else { ns[k] = field($0, "ns"); mbps[k] = field($0, "mbps") }
  }
  END {
    printf "%-32s %9s %14s %12s %12s %12s\n", "scenario", "bytes/op", "instr/op", "instr/4KiB", "wall ns/op", "MB/s"
    printf "%-32s %9s %14s %12s %12s %12s\n", "", "", "(tcg-icount)", "(tcg-icount)", "(tcg)", "(tcg)"
    for (i = 1; i <= n; i++) {
      split(order[i], p, " ")
      k = order[i]
      printf "%-32s %9s %14s %12s %12s %12s\n", p[1], p[2], (k in instr) ? instr[k] : "-",
             (k in per4k) ? per4k[k] : "-", (k in ns) ? ns[k] : "-", (k in mbps) ? mbps[k] : "-"
    }
    if (lat != "")
      printf "4 KiB read latency, median: %s us alone, %s us beside a 1 MiB x 32 stream (%sx; p90 %s / %s us)\n",
             field(lat, "alone_us"), field(lat, "loaded_us"), field(lat, "loaded_over_alone"),
             field(lat, "alone_p90_us"), field(lat, "loaded_p90_us")
    if ("blk_echo tcg" in bad)
      printf "%-32s %9s %14s %12s %12s %12s\n", "blk_echo", "all", "-", "-", "failed", "failed"
    if ("bench tcg-icount" in bad) print "(the tcg-icount run failed: no instruction counts)"
    if ("bench tcg" in bad) print "(the tcg run failed: no wall-clock figures)"
  }' "$out_dir/ours.log"
echo "bench: TCG figures are emulator figures, not hardware figures; BENCH lines in bench/results/ours.log"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: FAILED:" >&2
  for f in "${failed[@]}"; do
    IFS='|' read -r what _ _ why <<< "$f"
    echo "bench:   $what: $why" >&2
  done
  exit 1
fi
