#!/usr/bin/env bash
# plot.sh: PNG plots of throughput against size from bench/results/compare.csv
# (page_transfer and blk_echo: Linux host, Linux guest, ours).
set -euo pipefail
cd "$(dirname "$0")/results"
[ -f compare.csv ] || { echo "plot: no compare.csv; run make compare" >&2; exit 1; }
for s in page_transfer blk_echo copy_transfer; do
  awk -F, -v s="$s" '$1 == s { h = ($3 == "-") ? "NaN" : $3; g = ($4 == "-") ? "NaN" : $4;
                               o = ($5 == "-") ? "NaN" : $5; print $2 / 1024, h, g, o }' compare.csv > "$s.dat"
  gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$s.png"
set title "$s: throughput against size (MB/s; TCG figures are emulator figures)"
set logscale x 2
set xlabel "KiB per operation"
set ylabel "MB/s"
set key top left
set grid
plot "$s.dat" using 1:2 with linespoints title "Linux host (native)", \
     "$s.dat" using 1:3 with linespoints title "Linux guest (QEMU/TCG)", \
     "$s.dat" using 1:4 with linespoints title "ours (QEMU/TCG)"
GP
  echo "plot: bench/results/$s.png"
done
