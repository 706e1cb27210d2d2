#!/usr/bin/env bash
# mkiso.sh OUT.iso KERNEL.elf ROOT.elf [MODULE.elf[=NAME] ...]
# Builds a GRUB multiboot2 ISO; the first module is the root task, each
# module is named by its file name without .elf, or NAME (which may carry
# an argument for init, as in netecho:9).
set -euo pipefail
out=$1 kernel=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/kernel.elf"
{
  echo 'set timeout=0'
  echo 'set default=0'
  echo 'menuentry "kernel" {'
  echo '  multiboot2 /boot/kernel.elf'
  for m in "$@"; do
    file=${m%%=*}
    name=$(basename "$file" .elf)
    [[ $m == *=* ]] && name=${m#*=}
    cp "$file" "$dir/boot/${name//:/-}.elf"
    echo "  module2 /boot/${name//:/-}.elf $name"
  done
  echo '  boot'
  echo '}'
} > "$dir/boot/grub/grub.cfg"
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1 || {
  echo "mkiso: grub-mkrescue failed (are grub-pc-bin, xorriso and mtools installed? run scripts/deps.sh)" >&2
  grub-mkrescue -o "$out" "$dir"
  exit 1
}
