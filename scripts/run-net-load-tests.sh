#!/usr/bin/env bash
# run-net-load-tests.sh [NET8.iso]: eight echo applications (netecho on
# port 7, the default session, and netecho:N for N in 9 2001-2006), eight
# programs and principals behind one netd, on a QEMU hub that joins the
# card, user-mode networking (ports on 127.0.0.1 forwarded) and a UDP
# socket netdev on 127.0.0.1 through which the host injects raw Ethernet
# frames. Checks: interleaved traffic reaches exactly the right
# application; 100,000 random and malformed frames break nothing (echo is
# still byte for byte afterwards, drops are counted); the counters show
# tails copied from one application's frame into another's; netd's own memory with eight
# clients is what it was before the first one came; netd's run time is
# charged most to the application that got the most traffic. Prints
# "netload: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
iso=${1:-build/net8.iso}
guest_ports=(7 9 2001 2002 2003 2004 2005 2006)
flood=${NET_FLOOD:-100000}
log=build/net-load.log
make -s build/netload >/dev/null || exit 1
. "$here/net-guest.sh"
NET_SUITE=netload
net_free_ports 18 || exit 1
base=${NET_PORTS%% *}
t7=$base inject=$((base + 1)) sink=$((base + 2))
fwd="" host_ports=()
for i in "${!guest_ports[@]}"; do
  host_ports+=($((base + 10 + i)))
  fwd+=",hostfwd=udp:127.0.0.1:$((base + 10 + i))-198.18.0.15:${guest_ports[$i]}"
done
u7=${host_ports[0]}
# Ten programs of 16 MiB each: more than the usual 256 MiB guest holds.
QEMU_MEM=512M net_guest_start "$iso" "$log" 900 \
  "-net nic,model=virtio-net-pci -net user,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15$fwd,hostfwd=tcp:127.0.0.1:$t7-198.18.0.15:7 -net socket,udp=127.0.0.1:$sink,localaddr=127.0.0.1:$inject" \
  "port 2006 (UDP" || net_guest_failed "$log"
all_ports=$(IFS=,; echo "${host_ports[*]}")
build/netload interleave --ports "$all_ports" --count 800 --timeout 180
note $? "interleaved datagrams to eight applications each came back from the right one"
build/netload flood --port "$inject" --count "$flood" --rate 20000 --timeout 120
note $? "$flood random and malformed frames sent into the card"
build/netload udp-check --port "$u7" --timeout 120
note $? "UDP echo byte for byte after the flood"
build/netload tcp-check --port "$t7" --bytes 1048576 --timeout 120
note $? "TCP echo after the flood"
sleep 5.5 # the applications print netd's counters every 5 s
num() { echo "$1" | sed -nE "s/.* ([0-9]+) $2.*/\1/p"; }
ready_kib=$(grep -a '^netd: ready' "$log" | head -1 | sed -nE 's/.* ([0-9]+) KiB own memory.*/\1/p')
malformed=0 copied=0 mem_same=1 lines=0 busiest="" busiest_us=-1
for p in "${guest_ports[@]}"; do
  l=$(grep -a "^netecho:$p " "$log" | tail -1)
  [ -n "$l" ] || continue
  echo "$l"
  lines=$((lines + 1))
  m=$(num "$l" malformed) e=$(num "$l" "copied into a spare") k=$(num "$l" "KiB own memory")
  [ -n "$m" ] && [ "$m" -gt "$malformed" ] && malformed=$m
  copied=$((copied + ${e:-0}))
  [ -n "$k" ] && [ "$k" = "$ready_kib" ] || mem_same=0
  us=$(num "$l" "us of its time")
  if [ -n "$us" ] && [ "$us" -gt "$busiest_us" ]; then busiest=$p busiest_us=$us; fi
done
[ "$malformed" -gt 0 ]
note $? "netd counted $malformed malformed frames"
[ "$copied" -gt 0 ]
note $? "tails that landed in another application's frame were copied into the receiver's own ($copied in all)"
[ "$lines" -eq 8 ] && [ -n "$ready_kib" ] && [ "$mem_same" -eq 1 ]
note $? "netd's own memory with 8 clients is what it was with none (${ready_kib:-?} KiB; $lines of 8 applications reported)"
[ "$busiest" = 7 ]
note $? "netd's time went most to the application on port 7, which had the flood's leftovers, the UDP check and the TCP stream (busiest: ${busiest:-?}, $busiest_us us)"
grep -aqE 'fault|PANIC' "$log"
[ $? -ne 0 ]
note $? "no fault in the guest"
net_guest_stop
echo "netload: $passed passed, $failed failed (QEMU ${ACCEL:-tcg})"
[ "$failed" -eq 0 ]
