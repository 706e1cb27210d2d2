#!/usr/bin/env bash
# bench-net.sh [--count N] [--apps-only]: the UDP echo benchmark. The host (netload
# udp-bench, 64 datagrams in flight, sendmmsg/recvmmsg) drives, through
# QEMU user networking on 127.0.0.1, for payloads of 64, 512 and 1472 bytes:
#   ours     netd + netecho (lwIP), wall clock under TCG;
#   ceiling  netd:7 answering echo itself (no client, no IPC, no stack);
#   TCP      ours (wall clock): TCP echo of 8 MiB in 1 stream and in 8
#            concurrent streams of 1 MiB (netload tcp-bench);
#   both under -icount: guest busy instructions per echoed datagram (the
#            halted time left out; netecho and netd:7 print COST lines;
#            netecho's split them by the kernel's count of each thread's
#            run time into netecho's and netd's, and say how many were lwIP's);
#   apps     under -icount: one, then eight netecho applications behind one
#            netd, 1472-byte datagrams to all at once (--apps-only: just this).
# Writes BENCH lines to bench/results/ours-net.log (emptied first) and
# prints them; a guest that does not come up or a load run that fails is
# left out, named at the end, and the exit status is 1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
count=20000
apps_only=0
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --count) count=$2; shift 2 ;;
    --apps-only) apps_only=1; shift ;;
    *) echo "bench-net: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
out=bench/results/ours-net.log
[ "$apps_only" = 1 ] && out=build/bench-net-apps.bench # the reference log stays whole
mkdir -p bench/results build
make -s build/net.iso build/netceil.iso build/netload >/dev/null || exit 1
. "$here/net-guest.sh"
net_free_ports 2 || exit 1
read -r port tport <<<"$NET_PORTS"
net="-netdev user,id=n0,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15,hostfwd=udp:127.0.0.1:$port-198.18.0.15:7,hostfwd=tcp:127.0.0.1:$tport-198.18.0.15:7 -device virtio-net-pci,netdev=n0,disable-legacy=on"
: > "$out"
failed=()
# TCP echo, 8 MiB in 1 stream and in 8 streams of 1 MiB (the Linux guest
# gets the same from scripts/linux-guest-net.sh).
tcp_bench() { # label accel
  local streams line
  for streams in 1 8; do
    if line=$(build/netload tcp-bench --port "$tport" --streams $streams --bytes $((8388608 / streams)) --timeout 120 |
      grep '^BENCH'); then
      echo "$line system=$1 accel=$2" | tee -a "$out"
    else
      failed+=("$1 ($2): netload tcp-bench --streams $streams failed")
    fi
  done
}
run() { # label iso ready-line extra-qemu-args count accel
  local label=$1 iso=$2 ready=$3 extra=$4 n=$5 accel=$6 log=build/bench-net-$1-$6.log
  echo "bench-net: $label ($accel)..." >&2
  rm -f "$log"
  net_guest_start "$iso" "$log" 600 "$net $extra" "$ready" || {
    echo "bench-net: the guest did not come up; see $log" >&2
    failed+=("$label ($accel): the guest did not come up, see $log")
    return 1
  }
  for size in 64 512 1472; do
    if ! line=$(build/netload udp-bench --port "$port" --size "$size" --count "$n" --window 64 --timeout 120); then
      failed+=("$label ($accel): netload udp-bench --size $size failed")
      line=""
    fi
    [ "$accel" = tcg ] && [ -n "$line" ] && echo "$line system=$label accel=$accel" | tee -a "$out"
    sleep 2 # a second without packets closes netecho's COST burst
  done
  tr -d '\r' < "$log" | grep -a '^COST' | sed "s/^COST/BENCH/; s/ (netd alone)//; s/\$/ system=$label accel=$accel/" |
    tee -a "$out"
  if [ "$label" = ours ] && [ "$accel" = tcg ]; then
    tcp_bench "$label" "$accel"
  fi
  net_guest_stop
}
# One application (net.iso) and eight (net8.iso: netecho on ports 7, 9 and
# 2001-2006) under -icount, each driven by its own udp-bench of 1472-byte
# datagrams, 64 in flight in all (8 each): with eight, most tails land in
# another application's frame, the case one never meets. A BENCH line each: guest busy
# instructions per echoed datagram over all eight, netd's share, and how
# many tails netd moved to their receiver's own frame.
run_apps() { # applications (1 or 8), datagrams in all
  local apps=$1 n=$(($2 / $1)) log=build/bench-net-$1apps.log fwd="" hp=() pids=() i iso=build/net8.iso ready="port 2006 (UDP"
  local ports=(7 9 2001 2002 2003 2004 2005 2006)
  [ "$apps" = 1 ] && ports=(7) iso=build/net.iso ready="netecho: listening"
  echo "bench-net: ours, $apps application(s) (tcg-icount)..." >&2
  net_free_ports "$apps" || { failed+=("$apps applications: no free ports"); return 1; }
  read -r -a hp <<<"$NET_PORTS"
  for i in "${!ports[@]}"; do fwd+=",hostfwd=udp:127.0.0.1:${hp[$i]}-198.18.0.15:${ports[$i]}"; done
  QEMU_MEM=512M net_guest_start "$iso" "$log" 900 \
    "-net nic,model=virtio-net-pci -net user,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15$fwd -icount shift=0,sleep=off" \
    "$ready" || { failed+=("$apps applications: the guest did not come up, see $log"); return 1; }
  for i in "${!ports[@]}"; do
    build/netload udp-bench --port "${hp[$i]}" --size 1472 --count "$n" --window $((64 / apps)) --timeout 300 \
      >"build/bench-net-$1apps.$i" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("$apps applications: udp-bench to port ${ports[$i]} failed"); done
  sleep 7 # the COST bursts close, and each netecho prints its counters (every 5 s)
  local line
  line=$(tr -d '\r' <"$log" | awk -v apps="$apps" '
    /^COST name=udp_echo/ {
      for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
      d += v["datagrams"]; lines++
      # busy time and netd'"'"'s run time are system-wide, over bursts that
      # overlap: the largest of the eight is the whole run
      if (v["busy_ns"] > busy) busy = v["busy_ns"]
      if (v["netd_ns_per_datagram"] * v["datagrams"] > netd) netd = v["netd_ns_per_datagram"] * v["datagrams"]
    }
    /^netecho:[0-9]+ / { if (match($0, /[0-9]+ (copied into a spare|exchanged)/)) { split(substr($0, RSTART, RLENGTH), w, " "); moved[$1] = w[1] } }
    END {
      for (p in moved) m += moved[p]
      if (lines == apps && d > 0)
        printf "BENCH name=udp_echo_apps size=1472 apps=%d datagrams=%d busy_ns_per_datagram=%d netd_ns_per_datagram=%d tails_moved=%d\n", apps, d, busy / d, netd / d, m
    }')
  if [ -n "$line" ]; then
    echo "$line system=ours accel=tcg-icount" | tee -a "$out"
  else
    failed+=("$apps applications: not every netecho printed a COST line, see $log")
  fi
  net_guest_stop
}
if [ "$apps_only" = 1 ]; then
  make -s build/net8.iso >/dev/null || exit 1
  run_apps 1 "$count"
  run_apps 8 "$count"
else
run ours build/net.iso "netecho: listening" "" "$count" tcg
run ceiling build/netceil.iso "netd: ready" "" "$count" tcg
run ours build/net.iso "netecho: listening" "-icount shift=0,sleep=off" "$count" tcg-icount
run ceiling build/netceil.iso "netd: ready" "-icount shift=0,sleep=off" "$count" tcg-icount
make -s build/net8.iso >/dev/null && run_apps 1 "$count" && run_apps 8 "$count"
fi
echo "bench-net: results in $out (wall-clock figures are TCG emulator figures)" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench-net: FAILED (left out of $out):" >&2
  for f in "${failed[@]}"; do echo "bench-net:   $f" >&2; done
  exit 1
fi
