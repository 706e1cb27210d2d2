# net-guest.sh: sourced by the network scripts. Boots a guest in the
# background and waits until its console shows a line.
# net_guest_start ISO LOG TIMEOUT "QEMU network arguments" "line to wait for"
# NET_GUEST_WRAP, if set, is a command QEMU runs under (ip netns exec NS).
net_guest_start() {
  local iso=$1 log=$2 timeout=$3 netargs=$4 ready=$5
  rm -f "$log"
  # shellcheck disable=SC2086
  QEMU_EXTRA="$netargs" ${NET_GUEST_WRAP:-} "$(dirname "${BASH_SOURCE[0]}")/run-qemu.sh" --timeout "$timeout" --log "$log" "$iso" \
    >/dev/null 2>&1 &
  NET_GUEST_PID=$!
  trap net_guest_stop EXIT INT TERM
  for _ in $(seq 1 600); do
    grep -aq "$ready" "$log" 2>/dev/null && return 0
    kill -0 "$NET_GUEST_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

net_guest_stop() {
  [ -n "${NET_GUEST_PID:-}" ] || return 0
  pkill -P "$NET_GUEST_PID" 2>/dev/null
  kill "$NET_GUEST_PID" 2>/dev/null
  wait "$NET_GUEST_PID" 2>/dev/null
  NET_GUEST_PID=
}
