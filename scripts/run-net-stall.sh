#!/usr/bin/env bash
# run-net-stall.sh [--streams N] [--bytes B] [--conns C] [--timeout S] [NET.iso]
# A peer that never reads must stall only its own connection (issue 15):
# boots netd and netecho with QEMU user networking (ports on 127.0.0.1
# forwarded to the guest's echo port 7), then `netload stall`: N
# concurrent TCP echoes of B bytes, a connection that sends and never
# reads its echo, and beside it (still open) a fresh TCP echo, C
# concurrent short ones and a UDP datagram, all to be answered; then the
# stalled one is reset and N echoes run again. Then 64 concurrent echoes
# of 64 KiB, each within twice the median time (netload fair), and the
# limit: 64 connections held open, 4 more refused and counted by
# netecho, 64 new ones served once those closed (netload limit); and
# 10,000 short connections in a row (netload churn). Prints
# netecho's last counters and, last, "net-stall: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
streams=12 bytes=262144 conns=6 timeout=240 iso=build/net.iso
while [ $# -gt 0 ]; do
  case $1 in
    --streams) streams=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) iso=$1; shift ;;
  esac
done
mkdir -p build
make -s build/netload >/dev/null || exit 1
log=build/net-stall.log
# shellcheck source=scripts/net-guest.sh
. "$here/net-guest.sh"
NET_SUITE=net-stall
net_free_ports 2 || exit 1
read -r udp tcp <<<"$NET_PORTS"
net_guest_start "$iso" "$log" $((timeout + 120)) \
  "$(net_user_echo "$udp" "$tcp")" \
  "netecho: listening" || net_guest_failed "$log"
build/netload stall --port "$tcp" --udp-port "$udp" --streams "$streams" --bytes "$bytes" --conns "$conns" --timeout "$timeout"
note $? "$streams TCP echoes, then beside a connection that never reads: a TCP echo, $conns more and a UDP datagram; $streams again after its reset"
build/netload fair --port "$tcp" --streams 64 --bytes 65536 --timeout 120
note $? "64 concurrent TCP echoes of 64 KiB, each finished within twice the median"
build/netload limit --port "$tcp" --streams 64 --conns 4 --timeout 120
note $? "64 connections held open, 4 more refused, 64 new ones served after they closed"
build/netload churn --port "$tcp" --count 10000 --timeout 120 2>/dev/null
note $? "10,000 short TCP connections in a row, each echoing"
sleep 5.5 # netecho prints its counters every 5 s
grep -a '^netecho' "$log" | tail -2
refused=$(grep -a '^netecho' "$log" | tail -1 | grep -o '[0-9]* refused' | cut -d' ' -f1)
[ "${refused:-0}" -ge 4 ]
note $? "netecho counted the refused connections (${refused:-none})"
grep -aqE 'fault|PANIC|assertion' "$log"
[ $? -ne 0 ]
note $? "no fault in the guest"
net_guest_stop
echo "net-stall: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
