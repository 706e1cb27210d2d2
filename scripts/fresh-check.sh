#!/usr/bin/env bash
# fresh-check.sh [--root DIR] [--keep] [--reuse] [COMMAND...]
#
# The README's commands on a machine that has nothing installed: builds a
# minimal Debian 12 root (debootstrap --variant=minbase, plus git, make,
# ca-certificates and sudo, which is all the README asks a user to have),
# clones the current commit into it with ../shared beside it, and runs each
# COMMAND there (default: "make demo" "make test" "make compare"), printing
# one verdict per command and its log's path. Everything the commands need
# must come from scripts/deps.sh (and deps-compare.sh): nothing is installed
# by hand. Too slow for every CI run (a root takes minutes, `make compare`
# tens of minutes); run it before closing an issue that changes what is
# installed.
#
#   --root DIR  where the root is built (default /var/tmp/fresh-check)
#   --keep      leave the root in place afterwards (default: removed)
#   --reuse     start from a pristine root saved by an earlier run
#               (DIR.tar) instead of running debootstrap again
# Needs root (debootstrap, chroot, mounts).
set -uo pipefail
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

root=/var/tmp/fresh-check keep=0 reuse=0 cmds=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fresh-check: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) cmds+=("$1"); shift ;;
  esac
done
[ ${#cmds[@]} -gt 0 ] || cmds=("make demo" "make test" "make compare")
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse HEAD) || exit 2
[ -z "$(git -C "$repo" status --porcelain)" ] ||
  echo "fresh-check: note: uncommitted changes are not checked, only $commit"
logs=$repo/build/fresh-check
mkdir -p "$logs"
say() { echo "fresh-check: $*"; }

# Everything mounted inside the root, deepest first: ours (proc, sys, dev)
# and what the tests mount there (the namespace test's /run/netns).
unmount_all() {
  local m
  awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
}
cleanup() {
  unmount_all
  if [ "$keep" -eq 0 ]; then rm -rf "$root"; else say "root kept in $root"; fi
}
trap cleanup EXIT

"$repo/scripts/deps.sh" debootstrap || exit 1
unmount_all
rm -rf "$root"
if [ "$reuse" -eq 1 ] && [ -s "$root.tar" ]; then
  say "unpacking the pristine root saved in $root.tar"
  mkdir -p "$root" && tar -xf "$root.tar" -C "$root" || exit 1
else
  say "debootstrap --variant=minbase bookworm into $root (a few minutes)"
  debootstrap --variant=minbase --include=git,make,ca-certificates,sudo \
    bookworm "$root" http://deb.debian.org/debian > "$logs/debootstrap.log" 2>&1 ||
    { say "debootstrap failed; see $logs/debootstrap.log"; exit 1; }
  tar -cf "$root.tar" -C "$root" . || exit 1
fi

mount -t proc proc "$root/proc" && mount -t sysfs sys "$root/sys" &&
  mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts" || exit 1
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null

mkdir -p "$root/work"
git clone -q "$repo" "$root/work/main" && git -C "$root/work/main" checkout -q "$commit" || exit 1
[ -d "$repo/../shared" ] && cp -r "$repo/../shared" "$root/work/shared"
say "commit $commit cloned into $root/work/main"

fails=0
for c in "${cmds[@]}"; do
  log=$logs/$(echo "$c" | tr -c 'a-zA-Z0-9\n' '-').log
  say "running '$c' (log: $log)"
  start=$(date +%s)
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
    bash -c "cd /work/main && $c" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    say "PASS '$c' (${secs}s)${last:+: $last}"
  else
    fails=$((fails + 1))
    say "FAIL '$c' (exit $rc, ${secs}s); the log's last lines:"
    tail -15 "$log" | sed 's/^/    /'
  fi
done
say "$(( ${#cmds[@]} - fails )) of ${#cmds[@]} commands passed in a fresh minimal root"
[ "$fails" -eq 0 ]
