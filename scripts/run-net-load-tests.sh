#!/usr/bin/env bash
# run-net-load-tests.sh [NET2.iso]: two echo applications (netecho on port
# 7, the default session, and netecho:9) behind one netd, on a QEMU hub
# that joins the card, user-mode networking (ports on 127.0.0.1 forwarded)
# and a UDP socket netdev on 127.0.0.1 through which the host injects raw
# Ethernet frames. Checks: interleaved traffic reaches exactly the right
# application; 100,000 random and malformed frames break nothing (echo is
# still byte for byte afterwards, drops are counted); the counters show
# frames exchanged between the two. Prints "netload: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
iso=${1:-build/net2.iso}
base=$((30000 + $$ % 10000))
u7=$base u9=$((base + 1)) t7=$((base + 2)) inject=$((base + 3)) sink=$((base + 4))
flood=${NET_FLOOD:-100000}
log=build/net-load.log
make -s build/netload >/dev/null || exit 1
. "$here/net-guest.sh"
net_guest_start "$iso" "$log" 900 \
  "-net nic,model=virtio-net-pci -net user,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15,hostfwd=udp:127.0.0.1:$u7-198.18.0.15:7,hostfwd=udp:127.0.0.1:$u9-198.18.0.15:9,hostfwd=tcp:127.0.0.1:$t7-198.18.0.15:7 -net socket,udp=127.0.0.1:$sink,localaddr=127.0.0.1:$inject" \
  "port 9 (UDP" || { echo "netload: the guest did not come up; see $log"; echo "netload: 0 passed, 1 failed"; exit 1; }
passed=0 failed=0
note() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); echo "netload: ok   $2"; else failed=$((failed + 1)); echo "netload: FAIL $2"; fi; }
build/netload interleave --ports "$u7,$u9" --count 400 --timeout 120
note $? "interleaved datagrams to two applications each came back from the right one"
build/netload flood --port "$inject" --count "$flood" --rate 20000 --timeout 120
note $? "$flood random and malformed frames sent into the card"
build/netload udp-check --port "$u7" --timeout 120
note $? "UDP echo byte for byte after the flood"
build/netload tcp-check --port "$t7" --bytes 1048576 --timeout 120
note $? "TCP echo after the flood"
sleep 5.5 # the applications print netd's counters every 5 s
l7=$(grep -a '^netecho:7 ' "$log" | tail -1) l9=$(grep -a '^netecho:9 ' "$log" | tail -1)
echo "$l7"
echo "$l9"
num() { echo "$1" | sed -nE "s/.* ([0-9]+) $2.*/\1/p"; }
malformed=$(num "$l7" malformed) ex7=$(num "$l7" exchanged) ex9=$(num "$l9" exchanged)
[ -n "$malformed" ] && [ "$malformed" -gt 0 ]
note $? "netd counted ${malformed:-no} malformed frames"
[ -n "$ex7" ] && [ -n "$ex9" ] && [ $((ex7 + ex9)) -gt 0 ]
note $? "frames were exchanged between the two applications (${ex7:-?} and ${ex9:-?})"
grep -aqE 'fault|PANIC' "$log"
[ $? -ne 0 ]
note $? "no fault in the guest"
net_guest_stop
echo "netload: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
