#!/usr/bin/env bash
# demo-net.sh [--udp-port N] [--tcp-port N] [--bytes N] [--serve] [NET.iso]
# The network echo demo: boots netd and netecho with QEMU user networking
# (guest 198.18.0.15 on 198.18.0.0/24; host ports on 127.0.0.1 forwarded
# to the guest's echo port 7), then checks from the host: UDP echo byte for
# byte for every payload size from 1 to 1472, and a TCP echo of --bytes
# random bytes (default 8 MiB) compared by sha256. Prints the throughput
# and, last, "demo-net: N passed, M failed".
# --serve: no checks; print "ready" once the guest listens and keep it
# running until Ctrl-C (make qemu-net).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
udp="" tcp="" bytes=$((8 * 1024 * 1024)) serve=0 iso=build/net.iso
while [ $# -gt 0 ]; do
  case $1 in
    --udp-port) udp=$2; shift 2 ;;
    --tcp-port) tcp=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --serve) serve=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) iso=$1; shift ;;
  esac
done
# shellcheck source=scripts/net-guest.sh
. "$here/net-guest.sh"
NET_SUITE=demo-net
if [ -z "$udp$tcp" ]; then
  net_free_ports 2 || exit 1
  read -r udp tcp <<<"$NET_PORTS"
fi
for p in "$udp" "$tcp"; do
  [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || { echo "demo-net: bad port '$p'" >&2; exit 2; }
done
mkdir -p build
make -s build/netload >/dev/null || exit 1
log=build/demo-net.log
net_guest_start "$iso" "$log" "${DEMO_TIMEOUT:-600}" \
  "$(net_user_echo "$udp" "$tcp")" \
  "netecho: listening" || net_guest_failed "$log"
if [ "$serve" = 1 ]; then
  echo "UDP echo: 127.0.0.1:$udp, TCP echo: 127.0.0.1:$tcp (guest port 7); console in $log"
  echo "ready"
  wait "$NET_GUEST_PID"
  exit 0
fi
passed=0 failed=0
note() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }
build/netload udp-check --port "$udp" --timeout 120
note $?
build/netload tcp-check --port "$tcp" --bytes "$bytes" --sent build/demo-net.sent --received build/demo-net.received --timeout 300
st=$?
a=$(sha256sum build/demo-net.sent | cut -d' ' -f1) b=$(sha256sum build/demo-net.received | cut -d' ' -f1)
if [ "$st" -eq 0 ] && [ "$a" = "$b" ]; then echo "demo-net: TCP stream came back with the same sha256 $a"; else st=1; echo "demo-net: TCP stream differs (sha256 $a sent, $b received)"; fi
note $st
sleep 5.5 # netecho prints netd's counters every 5 s
grep -a '^netecho:7 ' "$log" | tail -1
net_guest_stop
echo "demo-net: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
