#!/usr/bin/env bash
# run-qemu.sh [options] IMAGE.iso
# Boots an ISO in QEMU with the serial console on stdout.
#   --timeout SEC   kill QEMU after SEC seconds (exit status 124)
#   --log FILE      also write the console to FILE
#   --interactive   console on the terminal, no timeout
#   --gdb           wait for GDB on localhost:1234
#   --icount        -icount shift=0,sleep=off: the guest TSC counts instructions
# Environment: ACCEL=tcg (default) or kvm; QEMU_MEM (default 256M);
# QEMU_EXTRA for more arguments.
# Exit status: 0 when the guest left through isa-debug-exit with code 0,
# 1 when it left with another code (printed), 124 on timeout, 2 on misuse.
set -uo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
timeout_s=0 log=/dev/null interactive=0 gdb=0 icount=0 iso=""
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --interactive) interactive=1; shift ;;
    --gdb) gdb=1; shift ;;
    --icount) icount=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run-qemu: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) iso=$1; shift ;;
  esac
done
[ -n "$iso" ] || { echo "run-qemu: no image given" >&2; usage >&2; exit 2; }
[ -f "$iso" ] || { echo "run-qemu: $iso does not exist (run make first)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run-qemu: qemu-system-x86_64 missing: run scripts/deps.sh" >&2; exit 2; }

accel=${ACCEL:-tcg}
case $accel in
  tcg) accel_args=(-accel tcg -cpu qemu64,+pdpe1gb) ;;
  kvm) accel_args=(-enable-kvm -cpu host,-arch-capabilities) ;;
  *) echo "run-qemu: ACCEL must be tcg or kvm, not $accel" >&2; exit 2 ;;
esac
mode=$accel
if [ "$icount" = 1 ]; then
  [ "$accel" = tcg ] || { echo "run-qemu: --icount needs ACCEL=tcg" >&2; exit 2; }
  accel_args+=(-icount shift=0,sleep=off)
  mode=tcg-icount
fi
echo "qemu: accelerator $mode" >&2

args=(-m "${QEMU_MEM:-256M}" -no-reboot -display none -cdrom "$iso" -boot d
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${accel_args[@]}")
[ "$gdb" = 1 ] && args+=(-s -S)
# shellcheck disable=SC2206
[ -n "${QEMU_EXTRA:-}" ] && args+=($QEMU_EXTRA)

if [ "$interactive" = 1 ]; then
  exec qemu-system-x86_64 "${args[@]}" -serial mon:stdio
fi

if [ "$timeout_s" != 0 ]; then
  timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${args[@]}" -serial stdio < /dev/null | tee "$log"
  status=${PIPESTATUS[0]}
else
  qemu-system-x86_64 "${args[@]}" -serial stdio < /dev/null | tee "$log"
  status=${PIPESTATUS[0]}
fi
case $status in
  124|137) echo "qemu: timed out after ${timeout_s}s" >&2; exit 124 ;;
  1) exit 0 ;;                      # isa-debug-exit with code 0
  *) if [ $((status % 2)) = 1 ]; then
       echo "qemu: guest exited with code $(( (status - 1) / 2 ))" >&2
     else
       echo "qemu: QEMU itself failed (status $status)" >&2
     fi
     exit 1 ;;
esac
