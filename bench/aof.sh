#!/usr/bin/env bash
# Write throughput with the AOF on, kvasir against redis-server side by side:
# redis-benchmark SET (50 clients, random keys, 3-byte values) at pipelines 1 and 16, with
# appendfsync everysec and always, alternating the two servers each round; medians.
#
#   bench/aof.sh [--rounds N] [--requests N] [--save] [--no-build]
#
# Both servers write their AOF into the same temporary directory's file system (under /tmp),
# so the fsync cost is the same disk's.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=3 REQUESTS=100000 SAVE=0 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
kvasir_binary "$BUILD"
bench_setup kvasir-aof-bench
REPORT="$WORK/report.txt"

# rps PORT PIPELINE REQUESTS: SET requests per second.
rps() {
  redis-benchmark -p "$1" -t set -n "$3" -c 50 -P "$2" -r 1000000 -q 2>/dev/null |
    tr '\r' '\n' | awk '/SET:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

{
  echo "# AOF write throughput, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $ROUNDS rounds"
  echo "# kvasir: $($KVASIR --version), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# redis:  $(redis-server --version)"
  printf "%-10s %-3s %12s %12s %7s\n" fsync P kvasir redis ratio
} | tee "$REPORT"
for fsync in everysec always; do
  kp=$(free_port); start_server "kvasir-$fsync" "$kp" "$(realpath "$KVASIR")" --port "$kp" --save "" \
    --appendonly yes --appendfsync "$fsync" --dir "$WORK/kvasir-$fsync"
  rp=$(free_port); start_server "redis-$fsync" "$rp" redis-server --port "$rp" --save "" \
    --appendonly yes --appendfsync "$fsync" --dir "$WORK/redis-$fsync"
  for p in 1 16; do
    n=$REQUESTS
    # always at pipeline 1 waits for a disk flush per batch: fewer requests keep it short.
    [ "$fsync" = always ] && [ "$p" = 1 ] && n=$((REQUESTS / 5))
    ks=() rs=()
    for _ in $(seq 1 "$ROUNDS"); do
      ks+=("$(rps "$kp" "$p" "$n")")
      rs+=("$(rps "$rp" "$p" "$n")")
    done
    k=$(printf '%s\n' "${ks[@]}" | median) r=$(printf '%s\n' "${rs[@]}" | median)
    printf "%-10s %-3s %12.0f %12.0f %6.2fx\n" "$fsync" "$p" "$k" "$r" "$(echo "$k / $r" | bc -l)" | tee -a "$REPORT"
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$REPORT"
[ "$SAVE" = 1 ] && save_report "$REPORT" aof
exit 0
