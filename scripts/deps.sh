#!/usr/bin/env bash
# deps.sh [PACKAGE...]: install what the build and the tests need (iproute2
# and iputils-ping are for the network namespace test), and any further
# Debian packages named, from Debian's packages. Safe to run again:
# it only calls apt-get when something is missing.
set -euo pipefail

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

for p in gcc binutils make qemu-system-x86 grub-pc-bin grub-common xorriso mtools \
         libcmocka-dev pkg-config iproute2 iputils-ping "$@"; do
  have "$p" || need_pkgs+=("$p")
done

if [ ${#need_pkgs[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${need_pkgs[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
