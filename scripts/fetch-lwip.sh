#!/usr/bin/env bash
# fetch-lwip.sh: Debian's lwip source package (lwIP 2.1.x), unpacked into
# build/lwip/src. It is fetched at build time and never committed. Uses a
# private sources list with a deb-src line instead of editing the system's.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/lwip
[ -f "$dest/src/src/core/init.c" ] && exit 0
mkdir -p "$dest/apt/lists/partial"
echo "deb-src http://deb.debian.org/debian bookworm main" > "$dest/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$PWD/$dest/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$PWD/$dest/apt/lists")
echo "fetch-lwip: fetching Debian's lwip source package"
apt-get "${apt_opts[@]}" update -q >/dev/null
(cd "$dest" && apt-get "${apt_opts[@]}" source --download-only -q lwip >/dev/null 2>&1)
tarball=$(ls "$dest"/lwip_*.orig.tar.* | head -1)
rm -rf "$dest/src" && mkdir -p "$dest/src"
tar -xf "$tarball" -C "$dest/src" --strip-components=1
echo "fetch-lwip: $(basename "$tarball") unpacked in $dest/src"
