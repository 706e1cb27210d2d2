#!/usr/bin/env bash
# run-net-ping.sh [NET.iso]: with root, makes a network namespace with a
# tap device (198.18.0.2/24, the range set aside for benchmark networks),
# boots netd and netecho on that tap (the guest is 198.18.0.15) and runs
# plain ping -c 100 from the namespace: every request must be answered (by
# lwIP in netecho, through netd). Without root or /dev/net/tun it says so
# and skips. Prints, last, "ping: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
iso=${1:-build/net.iso}
skip() { echo "ping: skipped: $1"; echo "ping: 0 passed, 0 failed"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace and tap device)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null && command -v ping >/dev/null || skip "needs ip and ping (scripts/deps.sh installs them)"
ns=kping$$
log=build/net-ping.log
cleanup() { net_guest_stop; ip netns del "$ns" 2>/dev/null; }
. "$here/net-guest.sh"
NET_SUITE=ping
ip netns add "$ns" || skip "cannot make a network namespace"
trap cleanup EXIT INT TERM
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev tap0 mode tap || { cleanup; skip "cannot make a tap device"; }
ip -n "$ns" addr add 198.18.0.2/24 dev tap0
ip -n "$ns" link set tap0 up
NET_GUEST_WRAP="ip netns exec $ns" net_guest_start "$iso" "$log" 300 \
  "-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,disable-legacy=on" \
  "netecho: listening" || net_guest_failed "$log"
trap cleanup EXIT INT TERM # net_guest_start set its own
# -i 0.2 rather than ping's 1 s default, to keep the suite short; root may.
out=$(ip netns exec "$ns" ping -c 100 -i 0.2 -W 2 198.18.0.15 2>&1)
echo "$out" | tail -3
received=$(echo "$out" | sed -nE 's/.* ([0-9]+) received.*/\1/p')
cleanup
trap - EXIT INT TERM
if [ "${received:-0}" -eq 100 ]; then
  echo "ping: ok   100 of 100 echo requests answered (QEMU ${ACCEL:-tcg}, tap in namespace $ns)"
  echo "ping: 1 passed, 0 failed"
  exit 0
fi
echo "ping: FAIL ${received:-0} of 100 echo requests answered; see $log"
echo "ping: 0 passed, 1 failed"
exit 1
