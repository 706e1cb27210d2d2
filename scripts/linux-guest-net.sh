#!/usr/bin/env bash
# linux-guest-net.sh [--icount] [--count N] [--out FILE]
# The Linux side of the UDP echo benchmark: Debian's kernel on the same
# QEMU/TCG machine, card (virtio-net-pci, modern) and user networking as
# ours, running compare-linux's udp_echo --server --batch (recvmmsg and
# sendmmsg, up to 64 datagrams a call) on 198.18.0.15:7. The host drives it
# with the same netload udp-bench (64 in flight) for 64, 512 and 1472-byte
# payloads. The guest prints its busy time per size from /proc/stat (in
# USER_HZ ticks of 10 ms; under --icount a busy ns is one instruction).
# Then compare-linux's tcp_echo (poll, one thread) for the same TCP echo
# as ours: 8 MiB in 1 stream and in 8 streams of 1 MiB (netload
# tcp-bench), without --icount.
# BENCH lines (system=linux-guest) go to FILE or stdout.
set -uo pipefail
icount=0 out="" count=20000
while [ $# -gt 0 ]; do
  case $1 in
    --icount) icount=1; shift ;;
    --count) count=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "linux-guest-net: unknown argument $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
[ -z "$out" ] || rm -f "$out" # a guest that fails leaves no earlier run's figures behind
kernel=$(ls build/linux/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$kernel" ] || { echo "linux-guest-net: no kernel in build/linux: run scripts/deps-compare.sh" >&2; exit 1; }
make -s build/netload >/dev/null || exit 1
root=build/linux/initramfs-net
rm -rf "$root" && mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for t in sh mount poweroff cat echo grep insmod ifconfig route sleep awk; do ln -sf busybox "$root/bin/$t"; done
mods=$(ls -d build/linux/lib/modules/*/kernel | head -1)
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/core/failover \
         drivers/net/net_failover drivers/net/virtio_net; do
  cp "$mods/$m.ko" "$root/lib/modules/"
done
gcc -O2 -static -o "$root/bin/udp_echo" compare-linux/udp_echo.c || exit 1
gcc -O2 -static -o "$root/bin/tcp_echo" compare-linux/tcp_echo.c || exit 1
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod /lib/modules/$m.ko
done
ifconfig lo up
ifconfig eth0 198.18.0.15 netmask 255.255.255.0 up
route add default gw 198.18.0.2
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
for size in 64 512 1472; do
  b0=$(busy)
  echo "LINUX-UDP-READY $size"
  udp_echo --server --any --port 7 --batch
  b1=$(busy)
  echo "COST name=udp_echo size=$size busy_ticks=$((b1 - b0)) user_hz=100"
done
if grep -q bench_tcp /proc/cmdline; then
  echo "LINUX-TCP-READY"
  tcp_echo --any --port 7 --connections 9
fi
echo LINUX-GUEST-DONE
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > build/linux/initramfs-net.cpio.gz
# shellcheck source=scripts/net-guest.sh
. "$here/net-guest.sh" # for net_free_ports
net_free_ports 2 || exit 1
port=${NET_PORTS%% *} # and port + 1 for TCP
args=(-m 512M -no-reboot -display none -serial stdio -accel tcg -cpu qemu64
      -kernel "$kernel" -initrd build/linux/initramfs-net.cpio.gz
      -netdev "user,id=n0,net=198.18.0.0/24,host=198.18.0.2,dhcpstart=198.18.0.15,hostfwd=udp:127.0.0.1:$port-198.18.0.15:7,hostfwd=tcp:127.0.0.1:$((port + 1))-198.18.0.15:7"
      -device virtio-net-pci,netdev=n0,disable-legacy=on)
accel=tcg
[ "$icount" = 1 ] && { args+=(-icount shift=0,sleep=off); accel=tcg-icount; }
log=build/linux/guest-net-$accel.log
echo "linux-guest-net: booting $(basename "$kernel") under $accel..." >&2
append="console=ttyS0 quiet panic=-1"
[ "$icount" = 1 ] || append="$append bench_tcp"
timeout -k 5 "${LINUX_TIMEOUT:-900}" qemu-system-x86_64 "${args[@]}" -append "$append" \
  < /dev/null > "$log" 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null' EXIT
results=()
for size in 64 512 1472; do
  for _ in $(seq 1 3000); do
    grep -aq "LINUX-UDP-READY $size" "$log" && break
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
  done
  grep -aq "LINUX-UDP-READY $size" "$log" || { echo "linux-guest-net: the guest did not get ready; see $log" >&2; exit 1; }
  line=$(build/netload udp-bench --port "$port" --size "$size" --count "$count" --window 64 --timeout 300)
  results+=("$line system=linux-guest accel=$accel")
  build/netload send --port "$port" --text STOP-ECHO-SERVER
done
if [ "$icount" = 0 ]; then
  for _ in $(seq 1 3000); do
    grep -aq "LINUX-TCP-READY" "$log" && break
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.5 # tcp_echo listens a moment after the line
  for streams in 1 8; do
    line=$(build/netload tcp-bench --port $((port + 1)) --streams $streams --bytes $((8388608 / streams)) --timeout 120 |
      grep '^BENCH') || { echo "linux-guest-net: TCP echo with $streams streams failed; see $log" >&2; exit 1; }
    results+=("$line system=linux-guest accel=$accel")
  done
fi
wait $qpid
trap - EXIT
grep -aq LINUX-GUEST-DONE "$log" || { echo "linux-guest-net: the guest did not finish; see $log" >&2; exit 1; }
{
  [ "$accel" = tcg ] && printf '%s\n' "${results[@]}"
  tr -d '\r' < "$log" | grep -a '^COST' | while read -r _ name size ticks hz; do
    t=${ticks#busy_ticks=}
    echo "BENCH $name $size busy_ns=$((t * 10000000)) busy_ns_per_datagram=$((t * 10000000 / count)) system=linux-guest accel=$accel"
  done
} > "${out:-/dev/stdout}"
