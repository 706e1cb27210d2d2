#!/usr/bin/env bash
# run-net-wire.sh [NET.iso]: the TCP corners a host's own stack never shows
# the guest (issue 15), from a peer on the wire: boots netd and netecho
# with only a UDP socket netdev on 127.0.0.1 (no QEMU user network), and
# build/tcpwire speaks raw Ethernet to it as 198.18.0.2: segments out of
# order and twice, a segment lost and sent late, a window closed and
# opened mid-echo, a reset mid-transfer, a FIN right after the data. Every
# echo is checked byte for byte; afterwards netecho must hold no
# connection and no frame. Prints, last, "net-wire: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
iso=${1:-build/net.iso}
case $iso in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
make -s build/tcpwire >/dev/null || exit 1
log=build/net-wire.log
# shellcheck source=scripts/net-guest.sh
. "$here/net-guest.sh"
NET_SUITE=net-wire
net_free_ports 2 || exit 1
read -r inject sink <<<"$NET_PORTS"
net_guest_start "$iso" "$log" 300 \
  "-netdev socket,id=n0,udp=127.0.0.1:$sink,localaddr=127.0.0.1:$inject -device virtio-net-pci,netdev=n0,disable-legacy=on" \
  "netecho: listening" || net_guest_failed "$log"
out=$(build/tcpwire --inject "$inject" --sink "$sink" --timeout 20)
echo "$out"
p=$(echo "$out" | sed -nE 's/^tcpwire: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
f=$(echo "$out" | sed -nE 's/^tcpwire: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
passed=$((passed + ${p:-0})) failed=$((failed + ${f:-1}))
sleep 5.5 # netecho prints its counters every 5 s
line=$(grep -a '^netecho:7 ' "$log" | tail -1 | tr -d '\r')
echo "$line" | grep -q ' 0 connections open, 0 bytes in their rings' && echo "$line" | grep -q ' 0 held by lwIP'
note $? "afterwards netecho holds no connection, no ring bytes and no frame"
grep -aqE 'fault|PANIC|assertion' "$log"
[ $? -ne 0 ]
note $? "no fault in the guest"
net_guest_stop
echo "net-wire: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
