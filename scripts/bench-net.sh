#!/usr/bin/env bash
# bench-net.sh [--count N]: the UDP echo benchmark. The host (netload
# udp-bench, 64 datagrams in flight, sendmmsg/recvmmsg) drives, through
# QEMU user networking on 127.0.0.1, for payloads of 64, 512 and 1472 bytes:
#   ours     netd + netecho (lwIP), wall clock under TCG;
#   ceiling  netd:7 answering echo itself (no client, no IPC, no stack);
#   TCP      ours (wall clock): TCP echo of 8 MiB in 1 stream and in 8
#            concurrent streams of 1 MiB (netload tcp-bench);
#   both under -icount: guest busy instructions per echoed datagram (the
#            halted time left out; netecho and netd:7 print COST lines;
#            netecho's split them by the kernel's count of each thread's
#            run time into netecho's and netd's, and say how many were lwIP's).
# Writes BENCH lines to bench/results/ours-net.log (emptied first) and
# prints them; a guest that does not come up or a load run that fails is
# left out, named at the end, and the exit status is 1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
count=20000
case ${1:-} in
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --count) count=$2 ;;
esac
out=bench/results/ours-net.log
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
run ours build/net.iso "netecho: listening" "" "$count" tcg
run ceiling build/netceil.iso "netd: ready" "" "$count" tcg
run ours build/net.iso "netecho: listening" "-icount shift=0,sleep=off" "$count" tcg-icount
run ceiling build/netceil.iso "netd: ready" "-icount shift=0,sleep=off" "$count" tcg-icount
echo "bench-net: results in $out (wall-clock figures are TCG emulator figures)" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench-net: FAILED (left out of $out):" >&2
  for f in "${failed[@]}"; do echo "bench-net:   $f" >&2; done
  exit 1
fi
