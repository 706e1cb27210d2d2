#!/usr/bin/env bash
# plot.sh: PNG plots of throughput against size: page_transfer and
# copy_transfer from bench/results/compare.csv (Linux host, Linux guest,
# ours), blk_echo from compare-blk.csv (Linux guest and ours at queue
# depths 1, 8 and 32; a series with no figures stays empty).
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/results"
[ -f compare.csv ] || { echo "plot: no compare.csv; run make compare" >&2; exit 1; }
nan() { awk -F, -v OFS=' ' '{ $1 = $1; for (i = 1; i <= NF; i++) if ($i == "-" || $i == "failed" || $i == "") $i = "NaN"; print }'; }
for s in page_transfer copy_transfer; do
  awk -F, -v s="$s" '$1 == s { print $2 / 1024 "," $3 "," $4 "," $5 }' compare.csv | nan > "$s.dat"
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
[ -f compare-blk.csv ] || { echo "plot: no compare-blk.csv; run make compare" >&2; exit 1; }
for d in 1 8 32; do
  awk -F, -v d="$d" 'NR > 1 && $1 == d { print $2 / 1024 "," $3 "," $4 }' compare-blk.csv | nan > "blk_echo-d$d.dat"
done
gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "blk_echo.png"
set title "blk_echo: throughput against request size and queue depth (MB/s, QEMU/TCG)"
set logscale x 2
set xlabel "KiB per request"
set ylabel "MB/s"
set key top left
set grid
plot "blk_echo-d1.dat" using 1:2 with linespoints title "Linux guest, depth 1", \
     "blk_echo-d8.dat" using 1:2 with linespoints title "Linux guest, depth 8", \
     "blk_echo-d32.dat" using 1:2 with linespoints title "Linux guest, depth 32", \
     "blk_echo-d1.dat" using 1:3 with linespoints title "ours, depth 1", \
     "blk_echo-d8.dat" using 1:3 with linespoints title "ours, depth 8", \
     "blk_echo-d32.dat" using 1:3 with linespoints title "ours, depth 32"
GP
echo "plot: bench/results/blk_echo.png"
