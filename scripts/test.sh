#!/usr/bin/env bash
# test.sh: every suite (the list below: host unit tests, the kernel's own
# suites, the fuzzer's slice, the drivers' suites, the demos checked from
# the host) and one last line "N passed, M failed".
# Called by `make test` after the build.
set -uo pipefail
cd "$(dirname "$0")/.."
total_p=0 total_f=0 summaries= failures=
run() {
  local name=$1
  shift
  echo "== $name"
  local out log=build/test-suite.out
  "$@" >"$log" 2>&1 &
  local pid=$!
  tail -n +1 --pid=$pid -f "$log" >&2 # not tee /dev/stderr: that truncates a log file
  wait $pid
  out=$(tail -1 "$log")
  # Each failed check's own line, so the last screen of a long run names it.
  local failed_lines
  failed_lines=$(grep -aE '(FAIL|not ok|round [0-9]+ failed)' "$log" | head -20 | sed "s/^/  [$name] /")
  [ -n "$failed_lines" ] && failures+="$failed_lines"$'\n'
  local p f
  p=$(echo "$out" | sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/p')
  f=$(echo "$out" | sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/p')
  if [ -z "$p" ]; then p=0; f=1; echo "$name: no summary"; fi
  summaries+="$name: $p passed, $f failed"$'\n'
  total_p=$((total_p + p))
  total_f=$((total_f + f))
}
run "host unit tests" scripts/run-host-tests.sh build/host/test_*
run "root task self-check" scripts/demo.sh build/kernel.iso
run "in-guest kernel tests" scripts/run-guest-tests.sh build/test.iso
run "an ordinary application's authority" scripts/run-suite.sh authtest build/authtest.iso authtest 60
run "kfuzz: 60,000 random system calls of 9 threads in 3 principals" scripts/fuzz.sh --name fuzz-slice --seed "${FUZZ_SEED:-1}" --seeds 1 --ops 60000 --timeout 180
run "blockd sessions and bad requests" scripts/run-blk-tests.sh build/blktest.iso
run "block echo through blockd" scripts/demo-blk.sh --size 4 build/blk.iso
run "lwIP in an application" scripts/run-suite.sh lwip build/lwiptest.iso lwiptest 120
run "netd sessions and bad requests" scripts/run-net-tests.sh build/nettest.iso
run "network echo through netd" scripts/demo-net.sh --bytes 4194304 build/net.iso
run "a peer that never reads stalls only its connection" scripts/run-net-stall.sh --timeout 120 build/net.iso
run "eight applications, a flood of malformed frames" scripts/run-net-load-tests.sh build/net8.iso
run "TCP corners from a peer on the wire" scripts/run-net-wire.sh build/net.iso
run "a minute's soak of mixed network traffic (make soak: ten)" scripts/soak.sh --seconds 60 build/net.iso
run "unpackd: a decompression bomb spends only its own donation" scripts/run-suite.sh unpack build/unpack.iso unpacktest 120
run "the per-principal report beside both demos and an object flood" scripts/report.sh build/report.iso
run "hostile clients of netd beside a good one (make attacks)" scripts/run-attacks.sh
run "hostile clients of blockd beside a good one (make attacks)" scripts/run-blk-attacks.sh
run "ping -c 100 from a network namespace (root)" scripts/run-net-ping.sh build/net.iso
printf '\n%s' "$summaries"
[ -n "$failures" ] && printf 'what failed:\n%s' "$failures"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
