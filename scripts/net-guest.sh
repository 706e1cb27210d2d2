# shellcheck shell=bash
# net-guest.sh: sourced by the network scripts. Boots a guest in the
# background and waits until its console shows a line.
# net_guest_start ISO LOG TIMEOUT "QEMU network arguments" "line to wait for"
# NET_GUEST_WRAP, if set, is a command QEMU runs under (ip netns exec NS).
net_guest_start() {
  local iso=$1 log=$2 timeout=$3 netargs=$4 ready=$5
  rm -f "$log" "$log.err"
  # shellcheck disable=SC2086
  QEMU_EXTRA="$netargs" ${NET_GUEST_WRAP:-} "$(dirname "${BASH_SOURCE[0]}")/run-qemu.sh" --timeout "$timeout" --log "$log" "$iso" \
    >/dev/null 2>"$log.err" &
  NET_GUEST_PID=$!
  trap net_guest_stop EXIT INT TERM
  for _ in $(seq 1 600); do
    grep -aq "$ready" "$log" 2>/dev/null && return 0
    kill -0 "$NET_GUEST_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$log.err" ] && sed 's/^/net-guest: QEMU: /' "$log.err" >&2
  return 1
}

# A suite's verdicts: note STATUS TEXT prints "$NET_SUITE: ok   TEXT" (status
# 0) or "$NET_SUITE: FAIL TEXT" and counts it in passed or failed.
passed=0 failed=0
note() {
  if [ "$1" -eq 0 ]; then passed=$((passed + 1)); echo "$NET_SUITE: ok   $2"
  else failed=$((failed + 1)); echo "$NET_SUITE: FAIL $2"; fi
}

# After net_guest_start failed: says so, with the suite's failed summary.
net_guest_failed() { # LOG
  echo "$NET_SUITE: the guest did not come up; see $1"
  echo "$NET_SUITE: 0 passed, 1 failed"
  exit 1
}

# The echo demo's network: QEMU user networking, 127.0.0.1:UDP and :TCP
# forwarded to the guest's echo port 7.
net_user_echo() { # UDP TCP
  echo "-netdev user,id=n0,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15,hostfwd=udp:127.0.0.1:$1-198.18.0.15:7,hostfwd=tcp:127.0.0.1:$2-198.18.0.15:7 -device virtio-net-pci,netdev=n0,disable-legacy=on"
}

# net_free_ports N: sets NET_PORTS to N consecutive TCP and UDP ports on
# 127.0.0.1 that nothing uses, below Linux's ephemeral range (32768 on),
# so that no client socket of an earlier test can hold one.
net_free_ports() {
  local n=$1 base=$((10000 + ($$ * 7919) % 20000)) i used
  for _ in $(seq 1 200); do
    used=0
    for i in $(seq 0 $((n - 1))); do
      [ -z "$(ss -Htuan "sport = :$((base + i))" 2>/dev/null)" ] || { used=1; break; }
    done
    if [ $used = 0 ]; then
      NET_PORTS=$(seq "$base" $((base + n - 1)) | tr '\n' ' ')
      return 0
    fi
    base=$((10000 + (base + n + 13 - 10000) % 20000))
  done
  echo "net-guest: no $n free ports found" >&2
  return 1
}

net_guest_stop() {
  [ -n "${NET_GUEST_PID:-}" ] || return 0
  pkill -P "$NET_GUEST_PID" 2>/dev/null
  kill "$NET_GUEST_PID" 2>/dev/null
  wait "$NET_GUEST_PID" 2>/dev/null
  NET_GUEST_PID=
}
