#!/usr/bin/env bash
# What `make compare` needs beyond scripts/deps.sh: busybox for the Linux
# guest's initramfs, the static C library for the harness, and Debian's
# kernel image (downloaded, not installed, into build/linux).
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
"$(dirname "$0")/deps.sh" busybox-static libc6-dev gnuplot-nox
dir=build/linux
mkdir -p "$dir"
if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "deps-compare: cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
  echo "deps-compare: fetching $pkg (Debian's kernel, for the Linux guest)"
  (cd "$dir" && apt-get download -q "$pkg" && dpkg-deb -x ./*.deb . && rm -f ./*.deb)
fi
