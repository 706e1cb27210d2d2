#!/usr/bin/env bash
# deps.sh [PACKAGE...]: install what the build, the demos and the tests need
# on a minimal Debian 12 (debootstrap --variant=minbase with git and make:
# scripts/fresh-check.sh checks exactly that), and any further Debian
# packages named. libc6-dev gives lwIP its <inttypes.h> (gcc without
# recommends does not bring it); xz-utils unpacks lwIP's source tarball;
# procps gives the runners pkill; iproute2 and iputils-ping are for the
# network namespace test; gnuplot-nox draws the per-principal report
# (make report, and its run in make test). Safe to run again: it calls apt-get only when
# something is missing.
set -euo pipefail

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

for p in gcc binutils make qemu-system-x86 grub-pc-bin grub-common xorriso mtools \
         libc6-dev libcmocka-dev pkg-config xz-utils procps iproute2 iputils-ping gnuplot-nox "$@"; do
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
