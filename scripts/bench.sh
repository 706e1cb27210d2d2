#!/usr/bin/env bash
# bench.sh [BENCH.iso]: run the guest benchmarks twice under TCG, once with
# -icount shift=0,sleep=off (the guest TSC counts instructions: `instr` is
# exact and deterministic) and once without (wall-clock `ns` and `mbps`),
# and print one table. Every result is also kept as a BENCH line in
# bench/results/ours.log, one line per mode, with accel=tcg-icount or
# accel=tcg, and a field that mode does not measure set to `-`.
set -uo pipefail
case ${1:-} in -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
iso=${1:-build/bench.iso}
here=$(cd "$(dirname "$0")" && pwd)
out_dir=$here/../bench/results
mkdir -p "$out_dir" build
[ "${ACCEL:-tcg}" = tcg ] || echo "bench: figures are taken under TCG; ACCEL=${ACCEL} is ignored here" >&2

run() { # mode log
  local mode=$1 log=$2 args=()
  [ "$mode" = tcg-icount ] && args=(--icount)
  echo "bench: running the guest benchmarks ($mode)..." >&2
  ACCEL=tcg "$here/run-qemu.sh" "${args[@]}" --timeout "${BENCH_TIMEOUT:-900}" --log "$log" "$iso" \
    | grep --line-buffered -E '^BENCH' | sed -u 's/^/  /' >&2
  local status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || { echo "bench: the $mode run failed (status $status); see $log" >&2; exit 1; }
}

run tcg-icount build/bench-icount.log
run tcg build/bench-wall.log
# Block echo through blockd: I/O bound, so wall-clock only (icount would
# count the guest's idle loop while QEMU's I/O thread works).
echo "bench: running the block echo benchmark (tcg)..." >&2
[ -f "${BLK_ISO:-build/blk.iso}" ] && "$here/demo-blk.sh" --size 16 "${BLK_ISO:-build/blk.iso}" > /dev/null 2>&1 ||
  echo "bench: the block echo run failed; see build/demo-blk.log" >&2

# Keep instr from the icount run and ns/mbps from the wall run.
{
  tr -d '\r' < build/bench-icount.log | grep '^BENCH' |
    sed -E 's/ ns=[0-9]+/ ns=-/; s/ mbps=[0-9.]+/ mbps=-/; s/accel=guest/accel=tcg-icount/'
  tr -d '\r' < build/bench-wall.log | grep '^BENCH' |
    sed -E 's/ instr=[0-9]+/ instr=-/; s/ instr_per_4k=[0-9]+/ instr_per_4k=-/; s/accel=guest/accel=tcg/'
  tr -d '\r' < build/demo-blk.log 2>/dev/null | grep '^BENCH' | sed -E 's/accel=guest/accel=tcg/'
} > "$out_dir/ours.log"

awk '
  function field(line, key,   i, n, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
    return "-"
  }
  /^BENCH/ {
    f = field($0, "frame")
    k = field($0, "name") (f == "2m" ? "(2MiB-frame)" : "") " " field($0, "size")
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    if (field($0, "accel") == "tcg-icount") { instr[k] = field($0, "instr"); per4k[k] = field($0, "instr_per_4k") }
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
  }' "$out_dir/ours.log"
echo "bench: TCG figures are emulator figures, not hardware figures; BENCH lines in bench/results/ours.log"
